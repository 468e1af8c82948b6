/* tests/test_handles.c — the context's list of every tensor handle
 * (src/internal.h: all_prev, all_next).
 *
 * Handles are linked when the allocator gives them and unlinked when they
 * go back to it, not per op: a handle parked in the pool stays on the
 * list with stale fields.  What walks the list must tell live handles
 * from parked ones: ad_ctx_free (it frees what the user still holds) and
 * ad_tensor_free's search for the owner of a lent .grad. */
#include <stdlib.h>

#include "helpers.h"

/* Blocks the hook holds now (allocations minus frees). */
static int64_t g_held;

static void *holding_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        if (ptr) g_held--;
        free(ptr);
        return NULL;
    }
    if (!ptr) g_held++;
    return realloc(ptr, nsize);
}

static ad_tensor *input(ad_ctx *k)
{
    ad_tensor *x = ad_from_array(k, AD_SHAPE(3), ((double[]){2.385, -0.75, 4.125}));
    cr_assert_not_null(x, "%s", ad_errmsg(k));
    ad_requires_grad_(x, true);
    return x;
}

Test(handles, a_parked_handle_owns_no_grad,
     .description = "x's handle parked with its stale .grad still naming g: freeing g, which the user now holds "
                    "alone, is not refused as a borrowed .grad")
{
    ad_ctx *k = ad_ctx_new();
    cr_assert_not_null(k);
    ad_tensor *x = input(k);
    ad_tensor *xx = ad_mul(x, x);
    ad_tensor *y = ad_sum(xx, AD_ALL, false);
    cr_assert_not_null(y, "%s", ad_errmsg(k));
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(k));
    ad_tensor *g = ad_tensor_ref(ad_grad(x)); /* the user's own reference to x's .grad */
    cr_assert_not_null(g);
    ad_tensor_free(y);
    ad_tensor_free(xx);
    ad_tensor_free(x); /* x's handle goes to the pool; its .grad field is not cleared */
    ad_tensor_free(g);
    cr_expect_eq(ad_errno(k), AD_OK, "%s", ad_errmsg(k));
    ad_mem_stats m;
    ad_ctx_mem_stats(k, &m);
    cr_expect_eq(m.tensors, 0, "g was freed (%lld tensors left)", (long long)m.tensors);
    ad_ctx_free(k);
}

Test(handles, a_borrowed_grad_is_still_refused,
     .description = "x alive and holding its .grad alone: freeing what ad_grad lent is refused")
{
    ad_ctx *k = ad_ctx_new();
    cr_assert_not_null(k);
    ad_tensor *x = input(k);
    ad_tensor *y = ad_sum(ad_mul(x, x), AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(k));
    ad_tensor_free(y); /* parked handles on the list besides x */
    ad_tensor_free(ad_grad(x));
    cr_expect_eq(ad_errno(k), AD_ESTATE, "freeing the borrowed .grad was not refused");
    ad_ctx_free(k);
}

/* Live handles of every kind left to ad_ctx_free beside parked ones. */
static int64_t blocks_left(bool no_recycling)
{
    g_held = 0;
    ad_ctx_options o = {.alloc = holding_alloc, .seed = 3, .no_recycling = no_recycling};
    ad_ctx *k = ad_ctx_new_with(&o);
    cr_assert_not_null(k);
    ad_tensor *x = input(k);
    ad_tensor *y = ad_sum(ad_sin(ad_mul(x, x)), AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, AD_RETAIN_GRAPH), AD_OK, "%s", ad_errmsg(k));
    ad_scope s = ad_scope_begin(k);
    for (int i = 0; i < 50; i++) cr_assert_not_null(ad_exp(x)); /* parked at the scope's end */
    ad_scope_end(k, s, NULL);
    ad_tensor *z = ad_mul_s(y, 2.5); /* recorded, left alive: a record and its output */
    cr_assert_not_null(z, "%s", ad_errmsg(k));
    cr_assert_eq(ad_fwd_begin(k, 1), AD_OK, "%s", ad_errmsg(k));
    ad_tensor *v = ad_ones(k, AD_SHAPE(3));
    cr_assert_eq(ad_set_tangent(x, v), AD_OK, "%s", ad_errmsg(k)); /* a tangent left attached */
    ad_ctx_free(k); /* the level, x with its .grad and tangent, y, z, v: all still held */
    return g_held;
}

Test(handles, teardown_frees_live_and_parked_handles,
     .description = "ad_ctx_free with live tensors (a .grad, a tangent, a record) and parked handles gives every "
                    "block back, with recycling and without")
{
    cr_expect_eq(blocks_left(false), 0, "blocks left with recycling");
    cr_expect_eq(blocks_left(true), 0, "blocks left without recycling");
}
