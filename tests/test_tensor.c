/* tests/test_tensor.c — the tensor type and its context: creation, exact
 * byte accounting, views and refcounting, scopes, element access, errors,
 * allocation failure. */
#include <math.h>
#include <string.h>

#include "helpers.h"

TestSuite(tensor, .init = th_setup, .fini = th_teardown);

static int64_t live(ad_mem_cat c)
{
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    return m.live[c];
}

static int64_t allocated(void)
{
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    return m.bytes_allocated;
}

/* ---- creation --------------------------------------------------------------- */

Test(tensor, arange_reshape_numel, .description = "x = arange(12); x.shape, x.numel(), x.reshape(3, 4)")
{
    ad_tensor *x = ad_arange_n(ctx, 12);
    cr_expect_eq(ad_ndim(x), 1);
    cr_expect_eq(ad_numel(x), 12);
    cr_expect_eq(ad_dim(x, 0), 12);
    ad_tensor *X = ad_reshape(x, AD_SHAPE(3, 4));
    th_expect(X, AD_SHAPE(3, 4), TH_V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0, 0);
    cr_expect_eq(ad_storage_id(X), ad_storage_id(x), "reshape of contiguous data is a view");
    ad_tensor *Y = ad_reshape(x, AD_SHAPE(-1, 4));
    th_expect(Y, AD_SHAPE(3, 4), TH_V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0, 0);
}

Test(tensor, arange_forms)
{
    th_expect(ad_arange(ctx, 0, 10, 2), AD_SHAPE(5), TH_V(0, 2, 4, 6, 8), 0, 0);
    th_expect(ad_arange(ctx, 1, 2, 0.25), AD_SHAPE(4), TH_V(1, 1.25, 1.5, 1.75), 0, 0);
    th_expect(ad_arange(ctx, 3, 0, -1), AD_SHAPE(3), TH_V(3, 2, 1), 0, 0);
    cr_expect_eq(ad_numel(ad_arange(ctx, 0, 0, 1)), 0);
    cr_expect_null(ad_arange(ctx, 0, 1, 0));
    cr_expect(strstr(ad_errmsg(ctx), "step must be nonzero"));
    cr_expect_null(ad_arange(ctx, 0, 5, -1));
    cr_expect(strstr(ad_errmsg(ctx), "inconsistent"));
    cr_expect_null(ad_arange(ctx, 0, NAN, 1));
    cr_expect_eq(ad_errno(ctx), AD_EINVAL);
}

Test(tensor, zeros_ones_full_eye_scalar)
{
    th_expect(ad_zeros(ctx, AD_SHAPE(2, 3)), AD_SHAPE(2, 3), TH_V(0, 0, 0, 0, 0, 0), 0, 0);
    th_expect(ad_ones(ctx, AD_SHAPE(2, 2)), AD_SHAPE(2, 2), TH_V(1, 1, 1, 1), 0, 0);
    th_expect(ad_full(ctx, AD_SHAPE(3), 2.5), AD_SHAPE(3), TH_V(2.5, 2.5, 2.5), 0, 0);
    th_expect(ad_eye(ctx, 3), AD_SHAPE(3, 3), TH_V(1, 0, 0, 0, 1, 0, 0, 0, 1), 0, 0);
    th_expect(ad_eye_nm(ctx, 2, 3), AD_SHAPE(2, 3), TH_V(1, 0, 0, 0, 1, 0), 0, 0);
    ad_tensor *s = ad_scalar(ctx, 3.5);
    cr_expect_eq(ad_ndim(s), 0);
    cr_expect_eq(ad_numel(s), 1);
    cr_expect_eq(ad_item(s), 3.5, "a.item() of tensor([3.5])");
}

Test(tensor, linspace_endpoints_exact)
{
    th_expect(ad_linspace(ctx, 0, 1, 5), AD_SHAPE(5), TH_V(0, 0.25, 0.5, 0.75, 1), 0, 0);
    ad_tensor *t = ad_linspace(ctx, -2.385, 7.125, 97);
    cr_expect_eq(th_values(t)[0], -2.385);
    cr_expect_eq(th_values(t)[96], 7.125, "the last point is exactly stop");
    th_expect(ad_linspace(ctx, 4, 9, 1), AD_SHAPE(1), TH_V(4), 0, 0);
    cr_expect_null(ad_linspace(ctx, 0, 1, -1));
}

Test(tensor, rand_randn_seeded_and_reproducible)
{
    ad_ctx_seed(ctx, 42);
    double a[6], b[6];
    ad_to_array(ad_randn(ctx, AD_SHAPE(2, 3)), a, 6);
    ad_ctx_seed(ctx, 42);
    ad_to_array(ad_randn(ctx, AD_SHAPE(2, 3)), b, 6);
    cr_expect_arr_eq(a, b, sizeof a, "same seed, same tensor");
    ad_ctx_seed(ctx, 43);
    ad_to_array(ad_randn(ctx, AD_SHAPE(2, 3)), b, 6);
    cr_expect(memcmp(a, b, sizeof a) != 0, "another seed, another tensor");
    /* uniform in [0, 1), mean near 1/2 */
    const double *u = th_values(ad_rand(ctx, AD_SHAPE(4000)));
    double s = 0;
    for (int i = 0; i < 4000; i++) {
        cr_assert(u[i] >= 0 && u[i] < 1);
        s += u[i];
    }
    cr_expect(fabs(s / 4000 - 0.5) < 0.02);
}

Test(tensor, from_array_and_to_array)
{
    double src[6] = {2.385, -1.5, 0, 7, 1e-3, 42};
    ad_tensor *t = ad_from_array(ctx, AD_SHAPE(3, 2), src);
    th_expect(t, AD_SHAPE(3, 2), src, 0, 0);
    src[0] = 99;
    cr_expect_eq(th_values(t)[0], 2.385, "from_array copies");
    double dst[2];
    cr_expect_eq(ad_to_array(t, dst, 2), AD_ESIZE, "destination too small is an error");
}

Test(tensor, wrap_shares_memory_both_ways, .description = "numpy() / from_numpy share their buffer")
{
    double buf[4] = {1, 2, 3, 4};
    ad_tensor *t = ad_wrap(ctx, AD_SHAPE(2, 2), buf);
    int64_t before = live(AD_MEM_VALUES);
    buf[3] = 40;
    cr_expect_eq(ad_at(t, 1, 1), 40, "a write to the buffer is seen by the tensor");
    ad_data(t)[0] = -1;
    cr_expect_eq(buf[0], -1, "a write to the tensor is seen by the buffer");
    cr_expect_eq(live(AD_MEM_VALUES), before, "the caller's buffer is not counted as ours");
    ad_tensor_free(t);
}

/* ---- accounting ----------------------------------------------------------------- */

Test(tensor, byte_counts_are_exact, .description = "values live/peak bytes are exactly 8 per element")
{
    ad_scope s = ad_scope_begin(ctx);
    ad_ctx_reset_peak(ctx);
    int64_t v0 = live(AD_MEM_VALUES);
    ad_tensor *a = ad_zeros(ctx, AD_SHAPE(3, 4));
    cr_expect_eq(live(AD_MEM_VALUES) - v0, 96);
    ad_tensor *b = ad_ones(ctx, AD_SHAPE(1000));
    cr_expect_eq(live(AD_MEM_VALUES) - v0, 96 + 8000);
    ad_tensor *v = ad_reshape(b, AD_SHAPE(10, 100));
    cr_expect_eq(live(AD_MEM_VALUES) - v0, 96 + 8000, "a view allocates no element data");
    ad_tensor_free(b);
    cr_expect_eq(live(AD_MEM_VALUES) - v0, 96 + 8000, "the view keeps the storage alive");
    ad_tensor_free(v);
    cr_expect_eq(live(AD_MEM_VALUES) - v0, 96, "the last view frees it");
    ad_tensor_free(a);
    cr_expect_eq(live(AD_MEM_VALUES), v0);
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    cr_expect_eq(m.peak[AD_MEM_VALUES] - v0, 96 + 8000);
    ad_scope_end(ctx, s, NULL);
}

Test(tensor, test_kit_alloc_hook_counts_and_fails,
     .description = "th_alloc_hook: calls and live bytes counted, the armed call and fail_size blocks refused")
{
    th_alloc h = TH_ALLOC_INIT;
    void *a = th_alloc_hook(&h, NULL, 0, 24);
    cr_assert_not_null(a);
    cr_expect(h.calls == 1 && h.bytes == 24, "calls %lld, bytes %lld", (long long)h.calls, (long long)h.bytes);
    th_alloc_arm(&h, 2);
    void *b = th_alloc_hook(&h, NULL, 0, 8);
    cr_expect_not_null(b, "the first call after arming succeeds");
    cr_expect_null(th_alloc_hook(&h, NULL, 0, 8), "the second is refused");
    h.fail_size = 40;
    cr_expect_null(th_alloc_hook(&h, NULL, 0, 40), "a fresh block of fail_size is refused");
    cr_expect(h.failed == 2 && h.seen_size == 1 && h.calls == 3, "failed %lld, seen %lld, calls %lld",
              (long long)h.failed, (long long)h.seen_size, (long long)h.calls);
    a = th_alloc_hook(&h, a, 24, 40); /* a reallocation of fail_size's size is not refused */
    cr_assert_not_null(a);
    cr_expect_eq(h.bytes, 48);
    th_alloc_hook(&h, a, 40, 0);
    th_alloc_hook(&h, b, 8, 0);
    cr_expect_eq(h.bytes, 0);
}

/* The allocator hook sees every byte: a counting allocator agrees with
 * the statistics. */
Test(tensor, allocator_hook_sees_everything)
{
    th_alloc c = TH_ALLOC_INIT;
    ad_ctx_options o = {.alloc = th_alloc_hook, .alloc_ud = &c};
    ad_ctx *k = ad_ctx_new_with(&o);
    cr_assert_not_null(k);
    ad_tensor *x = ad_arange_n(k, 5000);
    ad_tensor *y = ad_mul(x, x);
    cr_expect_gt(c.bytes, 2 * 5000 * 8);
    ad_tensor_free(y);
    ad_tensor_free(x);
    ad_ctx_free(k);
    cr_expect_eq(c.bytes, 0, "every byte the context took was given back (%lld left)", (long long)c.bytes);
}

Test(tensor, allocation_failure_is_reported_and_nothing_leaks,
     .description = "make the N-th allocation fail, for every N of a small computation and its backward: "
                    "AD_ENOMEM comes back, nothing leaks; past the last allocation the gradient is right")
{
    bool swept_all = false;
    for (int n = 1; n < 200 && !swept_all; n++) {
        th_alloc c = {.fail_at = n};
        ad_ctx_options o = {.alloc = th_alloc_hook, .alloc_ud = &c};
        ad_ctx *k = ad_ctx_new_with(&o);
        if (!k) {
            cr_expect_eq(c.calls, n, "n=%d: only a failed allocation may stop the context being made", n);
            continue;
        }
        ad_scope s = ad_scope_begin(k);
        ad_tensor *x = ad_arange_n(k, 300);
        ad_requires_grad_(x, true);
        ad_tensor *y = ad_sum_to(ad_mul(ad_sin(x), x), AD_SCALAR);
        int rc = y ? ad_backward(y, NULL, 0) : ad_errno(k);
        double g[300];
        if (rc == AD_OK) rc = ad_to_array(ad_grad(x), g, 300); /* reading it may allocate too */
        if (c.calls >= n) {
            /* the N-th allocation was refused: the computation must say so */
            cr_expect_eq(rc, AD_ENOMEM, "n=%d: status %d (%s)", n, rc, ad_errmsg(k));
            cr_expect(strstr(ad_errmsg(k), "out of memory"), "n=%d: %s", n, ad_errmsg(k));
        } else {
            /* every allocation succeeded: the sweep has passed the last one */
            swept_all = true;
            cr_assert_eq(rc, AD_OK, "n=%d: %s", n, ad_errmsg(k));
            double want = sin(7.0) + 7 * cos(7.0);
            cr_expect(fabs(g[7] - want) <= 1e-14 * fabs(want), "d/dx x sin x at 7: %.17g, not %.17g", g[7], want);
        }
        ad_scope_end(k, s, NULL);
        ad_ctx_free(k);
        cr_expect_eq(c.bytes, 0, "n=%d: %lld bytes leaked", n, (long long)c.bytes);
    }
    cr_expect(swept_all, "the sweep reached an N past the computation's last allocation");
}

/* ---- handles, views, scopes ---------------------------------------------------- */

Test(tensor, refcounting_keeps_tensors_alive)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_ones(ctx, AD_SHAPE(4));
    ad_tensor *r = ad_tensor_ref(x);
    cr_expect_eq(r, x);
    ad_tensor_free(x);
    th_expect(r, AD_SHAPE(4), TH_V(1, 1, 1, 1), 0, 0);
    ad_tensor_free(r);
    ad_tensor_free(NULL); /* accepted */
    ad_scope_end(ctx, s, NULL);
}

Test(tensor, scope_releases_temporaries_and_keeps_result)
{
    ad_mem_stats m0, m1;
    ad_ctx_mem_stats(ctx, &m0);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_arange_n(ctx, 100);
    ad_tensor *y = ad_sum_to(ad_mul(ad_sin(x), ad_cos(x)), AD_SCALAR);
    ad_tensor_free(x); /* an early free is allowed inside a scope */
    y = ad_scope_end(ctx, s, y);
    ad_ctx_mem_stats(ctx, &m1);
    cr_expect_eq(m1.tensors - m0.tensors, 1, "only the kept result survives");
    cr_expect_eq(m1.live[AD_MEM_VALUES] - m0.live[AD_MEM_VALUES], 8);
    ad_tensor_free(y);
}

Test(tensor, scopes_must_nest)
{
    ad_scope a = ad_scope_begin(ctx);
    ad_scope b = ad_scope_begin(ctx);
    cr_expect_null(ad_scope_end(ctx, a, NULL));
    cr_expect_eq(ad_errno(ctx), AD_ESTATE);
    ad_scope_end(ctx, b, NULL);
    ad_scope_end(ctx, a, NULL);
}

Test(tensor, long_chain_releases_without_recursion,
     .description = "dropping a 200000-op chain with its tape must not overflow the C stack")
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_scalar(ctx, 0.5);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_tensor_ref(x);
    for (int i = 0; i < 200000; i++) {
        ad_tensor *z = ad_mul_s(ad_sin(y), 0.999);
        ad_tensor_free(y);
        y = z;
    }
    ad_tape_stats ts;
    ad_tape_stats_get(ctx, &ts);
    cr_expect_geq(ts.live, 400000);
    ad_scope_end(ctx, s, NULL); /* frees y: the whole tape goes */
    ad_tape_stats_get(ctx, &ts);
    cr_expect_eq(ts.live, 0);
    cr_expect_eq(live(AD_MEM_TAPE), 0);
}

/* ---- element access --------------------------------------------------------------- */

Test(tensor, get_with_negative_indices_and_errors)
{
    ad_tensor *X = ad_reshape(ad_arange_n(ctx, 12), AD_SHAPE(3, 4));
    cr_expect_eq(ad_at(X, 1, 2), 6);
    cr_expect_eq(ad_at(X, -1, -1), 11);
    cr_expect(isnan(ad_at(X, 3, 0)));
    cr_expect_eq(ad_errno(ctx), AD_EINDEX);
    cr_expect(strstr(ad_errmsg(ctx), "index 3 is out of range for axis 0 of size 3"), "%s", ad_errmsg(ctx));
    cr_expect(isnan(ad_at(X, 1)));
    cr_expect(strstr(ad_errmsg(ctx), "1 indices given for a tensor of shape [3,4]"), "%s", ad_errmsg(ctx));
    cr_expect(isnan(ad_item(X)));
    cr_expect(strstr(ad_errmsg(ctx), "12 elements"));
}

/* ---- errors ------------------------------------------------------------------------- */

static int handler_calls;
static void count_handler(const ad_ctx *c, int status, const char *msg)
{
    (void)c;
    (void)status;
    (void)msg;
    handler_calls++;
}

/* AD_ENONFINITE itself is provoked in tests/test_gradcheck.c (f(x) not
 * finite at the point to check); here: it is a distinct code with its own
 * description. */
Test(tensor, nonfinite_status_is_distinct_and_described,
     .description = "ad_strerror(AD_ENONFINITE) is \"non-finite value\", unlike every other status")
{
    cr_expect_str_eq(ad_strerror(AD_ENONFINITE), "non-finite value");
    for (int st = AD_OK; st >= AD_ELIMIT; st--)
        if (st != AD_ENONFINITE)
            cr_expect_str_neq(ad_strerror(st), ad_strerror(AD_ENONFINITE), "status %d", st);
}

Test(tensor, error_handler_and_sticky_errors)
{
    ad_error_handler prev = ad_set_error_handler(count_handler);
    cr_expect_null(prev);
    handler_calls = 0;
    ad_tensor *z = ad_add(ad_ones(ctx, AD_SHAPE(2, 3)), ad_ones(ctx, AD_SHAPE(4)));
    cr_expect_null(z);
    cr_expect_str_eq(ad_errmsg(ctx), "add: shapes [2,3] and [4] cannot broadcast");
    cr_expect_eq(ad_errno(ctx), AD_ESHAPE);
    cr_expect_eq(handler_calls, 1);
    cr_expect_null(ad_exp(z), "NULL in, NULL out: errors chain");
    cr_expect_eq(ad_errno(ctx), AD_ESHAPE, "the first error stays recorded");
    ad_clear_error(ctx);
    cr_expect_eq(ad_errno(ctx), AD_OK);
    cr_expect_str_eq(ad_errmsg(ctx), "");
    cr_expect_eq(ad_set_error_handler(prev), count_handler);
    cr_expect_str_eq(ad_strerror(AD_ESHAPE), "shape mismatch");
}

Test(tensor, absurd_sizes_are_errors_not_crashes)
{
    cr_expect_null(ad_zeros(ctx, AD_SHAPE(-1)));
    cr_expect_eq(ad_errno(ctx), AD_ESIZE);
    cr_expect(strstr(ad_errmsg(ctx), "negative size -1"), "%s", ad_errmsg(ctx));
    cr_expect_null(ad_zeros(ctx, AD_SHAPE(INT64_C(1) << 40, INT64_C(1) << 40)));
    cr_expect_eq(ad_errno(ctx), AD_ESIZE);
    cr_expect(strstr(ad_errmsg(ctx), "too many elements"), "%s", ad_errmsg(ctx));
    cr_expect_null(ad_zeros(ctx, AD_SHAPE(INT64_C(1) << 45)));
    cr_expect_eq(ad_errno(ctx), AD_ENOMEM, "%s", ad_errmsg(ctx));
    ad_shape big = {.ndim = AD_MAX_DIMS + 1};
    cr_expect_null(ad_zeros(ctx, big));
    cr_expect(strstr(ad_errmsg(ctx), "13 axes requested (at most 12)"), "%s", ad_errmsg(ctx));
}

Test(tensor, per_tensor_limit)
{
    ad_ctx_set_max_tensor_bytes(ctx, 8000);
    cr_expect_not_null(ad_zeros(ctx, AD_SHAPE(1000)));
    cr_expect_null(ad_zeros(ctx, AD_SHAPE(1001)));
    cr_expect_eq(ad_errno(ctx), AD_ELIMIT);
    cr_expect(strstr(ad_errmsg(ctx), "a tensor of 1001 elements"), "%s", ad_errmsg(ctx));
    ad_ctx_set_max_tensor_bytes(ctx, 0);
    cr_expect_not_null(ad_zeros(ctx, AD_SHAPE(1001)));
}

Test(tensor, max_dims_tensor_works)
{
    ad_tensor *t = ad_ones(ctx, AD_SHAPE(1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2));
    cr_expect_eq(ad_ndim(t), 12);
    cr_expect_eq(ad_numel(t), 64);
    th_expect(ad_sum_to(ad_mul(t, t), AD_SHAPE(2)), AD_SHAPE(2), TH_V(32, 32), 0, 0);
}

/* ---- in place: X += Y keeps its storage, X = X + Y does not ----------------------------- */

Test(tensor, inplace_keeps_storage_and_allocates_nothing,
     .description = "before = id(Y); Y += X; id(Y) == before; and no byte allocated")
{
    ad_tensor *X = ad_reshape(ad_arange_n(ctx, 12), AD_SHAPE(3, 4));
    ad_tensor *Y = ad_ones(ctx, AD_SHAPE(3, 4));
    const void *before = ad_storage_id(Y);
    double *data = ad_data(Y);
    ad_ctx_reset_peak(ctx);
    int64_t a0 = allocated();
    cr_assert_eq(ad_add_(Y, X), AD_OK);
    cr_expect_eq(ad_storage_id(Y), before);
    cr_expect_eq(ad_data(Y), data);
    cr_expect_eq(allocated(), a0, "X += Y allocated %lld bytes", (long long)(allocated() - a0));
    cr_assert_eq(ad_add_into(Y, Y, X), AD_OK, "Y[:] = Y + X");
    cr_expect_eq(allocated(), a0);
    cr_assert_eq(ad_mul_s_(Y, 0.5), AD_OK);
    cr_expect_eq(allocated(), a0);
    th_expect(Y, AD_SHAPE(3, 4), TH_V(0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5), 0, 0);
    cr_expect_eq(ad_version(Y), 3, "three in-place writes");

    int64_t v0 = live(AD_MEM_VALUES);
    ad_tensor *Z = ad_add(Y, X); /* Y = Y + X: a new tensor */
    cr_expect_neq(ad_storage_id(Z), before);
    cr_expect_eq(live(AD_MEM_VALUES) - v0, 96);
}

Test(tensor, inplace_broadcast_and_shape_errors)
{
    ad_tensor *X = ad_zeros(ctx, AD_SHAPE(2, 3));
    cr_expect_eq(ad_add_(X, ad_arange_n(ctx, 3)), AD_OK, "a row broadcasts into X");
    th_expect(X, AD_SHAPE(2, 3), TH_V(0, 1, 2, 0, 1, 2), 0, 0);
    cr_expect_eq(ad_add_(ad_zeros(ctx, AD_SHAPE(3)), ad_zeros(ctx, AD_SHAPE(2, 3))), AD_ESHAPE,
                 "X never changes shape");
    cr_expect(strstr(ad_errmsg(ctx), "cannot be written into a tensor of shape [3]"), "%s", ad_errmsg(ctx));
}

Test(tensor, inplace_with_overlapping_operands,
     .description = "out and an operand share storage in different layouts: old values are read")
{
    ad_tensor *y = ad_arange_n(ctx, 6);
    ad_tensor *yt = ad_T(ad_reshape(y, AD_SHAPE(2, 3))); /* [[0,3],[1,4],[2,5]], same storage */
    ad_tensor *out = ad_reshape(y, AD_SHAPE(3, 2));       /* [[0,1],[2,3],[4,5]], same storage */
    cr_assert_eq(ad_add_into(out, yt, yt), AD_OK);
    th_expect(y, AD_SHAPE(6), TH_V(0, 6, 2, 8, 4, 10), 0, 0);
}
