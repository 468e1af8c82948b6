/* tests/test_op_cost.c — the cheap paths every op takes (issue 10 item 5):
 * a new tensor's storage and handle accounted in one step, the release of
 * a handle with the last reference to its storage in one step (and the
 * slow path when a view still holds it), the shape check without a
 * division, the same-shape path of binary ops.  Each test says what the
 * path must keep: exact bytes per category and peaks, values, versions. */
#include <string.h>

#include "helpers.h"
#include "internal.h" /* ad_tensor's layout: the block a storage sits in */

TestSuite(op_cost, .init = th_setup, .fini = th_teardown);

/* The fixture's scope grows its stack on the first tensor (meta bytes
 * that stay): make that happen before anything is measured. */
static void warm(void) { ad_tensor_free(ad_zeros(ctx, AD_SHAPE(1))); }

static ad_mem_stats stats(void)
{
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    return m;
}

/* A tensor's own bytes: its element data (values) and, as meta, its
 * handle and the rest of its storage's block. */
static int64_t meta_of(const ad_tensor *t) { return (int64_t)sizeof(ad_tensor) + (int64_t)t->st->block - t->st->nbytes; }

static void expect_one_tensor(int64_t n)
{
    ad_ctx_reset_peak(ctx);
    ad_mem_stats m0 = stats();
    ad_tensor *t = ad_zeros(ctx, AD_SHAPE(n));
    cr_assert_not_null(t, "%s", ad_errmsg(ctx));
    ad_mem_stats m1 = stats();
    int64_t meta = meta_of(t);
    cr_expect_eq(m1.live[AD_MEM_VALUES] - m0.live[AD_MEM_VALUES], 8 * n, "n = %lld: values", (long long)n);
    cr_expect_eq(m1.live[AD_MEM_META] - m0.live[AD_MEM_META], meta, "n = %lld: handle and header", (long long)n);
    cr_expect_eq(m1.live_total - m0.live_total, 8 * n + meta);
    cr_expect_eq(m1.peak[AD_MEM_VALUES], m1.live[AD_MEM_VALUES], "the peak follows the one step");
    cr_expect_eq(m1.peak[AD_MEM_META], m1.live[AD_MEM_META]);
    cr_expect_eq(m1.peak_total, m1.live_total);
    cr_expect_eq(m1.tensors - m0.tensors, 1);
    ad_tensor_free(t);
    ad_mem_stats m2 = stats();
    for (int c = 0; c < AD_MEM_NCAT; c++) cr_expect_eq(m2.live[c], m0.live[c], "category %d back", c);
    cr_expect_eq(m2.live_total, m0.live_total);
    cr_expect_eq(m2.peak_total, m1.peak_total, "a release leaves the peak");
    cr_expect_eq(m2.tensors, m0.tensors);
}

Test(op_cost, one_step_accounting_is_exact, .description = "a pooled (1, 12, 128 elements) or cached (1000) tensor: "
                                                            "values, meta, total and their peaks exactly")
{
    warm();
    expect_one_tensor(1);
    expect_one_tensor(12);
    expect_one_tensor(128);
    expect_one_tensor(1000);
}

Test(op_cost, a_view_outlives_its_base, .description = "the base's handle goes first: the storage stays, with its "
                                                       "bytes, until the view goes")
{
    warm();
    ad_mem_stats m0 = stats();
    double v[3] = {2.385, -0.75, 4.125};
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), v);
    cr_assert_not_null(x, "%s", ad_errmsg(ctx));
    ad_tensor *w = ad_reshape(x, AD_SHAPE(3, 1));
    cr_assert_not_null(w, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_storage_id(w), ad_storage_id(x), "a view");
    int64_t handle = (int64_t)sizeof(ad_tensor);
    ad_tensor_free(x);
    ad_mem_stats m1 = stats();
    cr_expect_eq(m1.live[AD_MEM_VALUES] - m0.live[AD_MEM_VALUES], 24, "the data is still live");
    cr_expect_eq(m1.live[AD_MEM_META] - m0.live[AD_MEM_META], handle + (int64_t)w->st->block - 24,
                 "one handle and the block's header");
    th_expect(w, AD_SHAPE(3, 1), ((double[]){2.385, -0.75, 4.125}), 0, 0);
    ad_tensor_free(w);
    ad_mem_stats m2 = stats();
    for (int c = 0; c < AD_MEM_NCAT; c++) cr_expect_eq(m2.live[c], m0.live[c], "category %d back", c);
}

Test(op_cost, recorded_small_ops_then_backward, .description = "1-element ops recorded and swept: x and sin x "
                                                               "count as tape until backward, the gradient is exact")
{
    warm();
    ad_mem_stats m0 = stats();
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_full(ctx, AD_SHAPE(1), 0.7315);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul(ad_sin(x), ad_neg(x)); /* y = -x sin x */
    cr_assert_not_null(y, "%s", ad_errmsg(ctx));
    ad_mem_stats m1 = stats();
    cr_expect_eq(m1.live[AD_MEM_TAPE] - m0.live[AD_MEM_TAPE] > 8, true, "x and sin x are saved on the tape");
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double g = ad_item(ad_grad(x)), e = -sin(0.7315) - 0.7315 * cos(0.7315);
    cr_expect(fabs(g - e) <= 2e-16 * fabs(e), "dy/dx = %.17g, expected %.17g", g, e);
    ad_mem_stats m2 = stats();
    cr_expect_eq(m2.live[AD_MEM_TAPE], m0.live[AD_MEM_TAPE], "backward gave the tape's bytes back");
    ad_scope_end(ctx, s, NULL);
    ad_mem_stats m3 = stats();
    for (int c = 0; c < AD_MEM_NCAT; c++) cr_expect_eq(m3.live[c], m0.live[c], "category %d back", c);
}

Test(op_cost, in_place_on_a_small_tensor, .description = "an in-place write on a 1-element tensor bumps its "
                                                         "version; a record that saved it refuses backward")
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_full(ctx, AD_SHAPE(1), 1.25);
    ad_requires_grad_(x, true);
    ad_tensor *t = ad_mul_s(x, 3);
    ad_tensor *y = ad_mul(t, t); /* saves t */
    uint32_t v0 = ad_version(t);
    cr_assert_eq(ad_add_s_(t, 0.5), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_version(t), v0 + 1);
    cr_expect_eq(ad_item(t), 4.25);
    cr_expect_neq(ad_backward(y, NULL, 0), AD_OK, "t was modified after mul saved it");
    ad_clear_error(ctx);
    ad_scope_end(ctx, s, NULL);
}

Test(op_cost, same_shape_binary_ops, .description = "the same-shape path of binary ops: contiguous and transposed "
                                                    "operands, against element-by-element sums")
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *a = ad_rand(ctx, AD_SHAPE(3, 4));
    ad_tensor *b = ad_T(ad_rand(ctx, AD_SHAPE(4, 3))); /* [3,4], not contiguous */
    cr_assert_not_null(b, "%s", ad_errmsg(ctx));
    cr_assert(!ad_is_contiguous(b));
    ad_tensor *c = ad_sub(a, b), *d = ad_mul(b, a);
    cr_assert_not_null(c, "%s", ad_errmsg(ctx));
    cr_assert_not_null(d, "%s", ad_errmsg(ctx));
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 4; j++) {
            double ai = ad_getv(a, 2, (int64_t[]){i, j}), bi = ad_getv(b, 2, (int64_t[]){i, j});
            cr_expect_eq(ad_getv(c, 2, (int64_t[]){i, j}), ai - bi, "(%lld,%lld)", (long long)i, (long long)j);
            cr_expect_eq(ad_getv(d, 2, (int64_t[]){i, j}), bi * ai, "(%lld,%lld)", (long long)i, (long long)j);
        }
    ad_tensor *e = ad_add(ad_zeros(ctx, AD_SHAPE(3)), ad_zeros(ctx, AD_SHAPE(3, 1)));
    cr_expect_str_eq(th_shape(e), "[3,3]", "different shapes still broadcast");
    cr_expect_null(ad_add(a, ad_zeros(ctx, AD_SHAPE(4, 3))), "[3,4] and [4,3] do not broadcast");
    cr_expect_eq(ad_errno(ctx), AD_ESHAPE);
    ad_clear_error(ctx);
    ad_scope_end(ctx, s, NULL);
}

Test(op_cost, element_count_limits, .description = "a shape of 2^60 elements is too many; one below passes the "
                                                   "count and meets the per-tensor limit; empty shapes are empty")
{
    int64_t k = (int64_t)1 << 30;
    ad_ctx_set_max_tensor_bytes(ctx, 1 << 20);
    cr_expect_null(ad_zeros(ctx, AD_SHAPE(k, k)));
    cr_expect_eq(ad_errno(ctx), AD_ESIZE, "%s", ad_errmsg(ctx));
    cr_expect(strstr(ad_errmsg(ctx), "too many elements") != NULL, "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    cr_expect_null(ad_zeros(ctx, AD_SHAPE(k, k - 1)));
    cr_expect_eq(ad_errno(ctx), AD_ELIMIT, "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    cr_expect_null(ad_zeros(ctx, AD_SHAPE(4, -2)));
    cr_expect_eq(ad_errno(ctx), AD_ESIZE);
    cr_expect(strstr(ad_errmsg(ctx), "negative size -2 in shape [4,-2]") != NULL, "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    ad_tensor *z = ad_zeros(ctx, AD_SHAPE(0, (int64_t)1 << 40, (int64_t)1 << 40));
    cr_assert_not_null(z, "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_numel(z), 0);
    cr_expect(ad_is_contiguous(z));
    ad_tensor_free(z);
    ad_ctx_set_max_tensor_bytes(ctx, 0);
}
