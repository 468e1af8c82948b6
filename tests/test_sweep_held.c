/* tests/test_sweep_held.c — an indexing share that finds its accumulator
 * empty is held back until the accumulator is complete (src/sweep.c:
 * hold, release_held), so f = lse(x) - x[0] costs the same whichever of
 * the two terms was recorded first: the same bits, and the same bytes
 * allocated by the sweep (no x-sized zeros for the slice when a dense
 * share comes to take its place).  Also: an accumulator that a dense share
 * made but that may not be written (a broadcast view), more shares held
 * than the list takes, gather's index outliving its released record, an
 * intermediate's adjoint (the record counted pending), ad_backward's
 * .grad and a refused allocation. */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(sweep_held, .init = th_setup, .fini = th_teardown);

enum { N = 4000 };

static ad_tensor *input(void)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(N));
    for (int64_t i = 0; i < N; i++) ad_data(x)[i] = 1.3 * sin(0.91 * (double)i + 0.385);
    ad_requires_grad_(x, true);
    return x;
}

/* lse(h) - h[0] with the slice recorded first (slice_first) or last;
 * h = x, or h = 2.5·x (then the accumulator is a record's adjoint). */
static ad_tensor *softmax_ce(ad_tensor *x, bool slice_first, bool through)
{
    ad_tensor *h = through ? ad_mul_s(x, 2.5) : x, *a, *b;
    if (slice_first) {
        b = ad_idx(h, AD_I(0));
        a = ad_logsumexp(h, AD_ALL, false);
    } else {
        a = ad_logsumexp(h, AD_ALL, false);
        b = ad_idx(h, AD_I(0));
    }
    return ad_sub(a, b);
}

/* The gradient of one order, and the bytes its sweep allocated. */
static ad_tensor *grad_of(ad_tensor *x, bool slice_first, bool through, bool backward, int64_t *bytes)
{
    ad_tensor *f = softmax_ce(x, slice_first, through), *g = NULL;
    cr_assert_not_null(f, "%s", ad_errmsg(ctx));
    ad_ctx_reset_peak(ctx);
    if (backward) {
        ad_zero_grad(x);
        cr_assert_eq(ad_backward(f, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
        g = ad_clone(ad_grad(x));
    } else {
        cr_assert_eq(ad_autograd_grad(f, NULL, 1, &x, 0, &g), AD_OK, "%s", ad_errmsg(ctx));
    }
    ad_mem_stats st;
    ad_ctx_mem_stats(ctx, &st);
    *bytes = st.bytes_allocated;
    return g;
}

static void both_orders(bool through, bool backward)
{
    ad_tensor *x = input();
    int64_t b0 = 0, b1 = 0;
    ad_tensor *g0 = grad_of(x, false, through, backward, &b0), *g1 = grad_of(x, true, through, backward, &b1);
    cr_assert(g0 && g1);
    cr_assert_eq(memcmp(ad_data(g0), ad_data(g1), N * sizeof(double)), 0, "the two orders differ");
    /* an x-sized buffer more (zeros for the slice) is N·8 bytes; a held
     * scalar adjoint may cost a small block's bytes */
    cr_assert_lt(llabs(b0 - b1), N * (int64_t)sizeof(double) / 4, "slice last: %lld bytes allocated, slice first: %lld",
                 (long long)b0, (long long)b1);
    /* the analytic gradient: c·(softmax(c·x) - e_0), c = 2.5 or 1 */
    double c = through ? 2.5 : 1, m = -INFINITY, s = 0;
    const double *xv = ad_data(x);
    for (int i = 0; i < N; i++) m = c * xv[i] > m ? c * xv[i] : m;
    for (int i = 0; i < N; i++) s += exp(c * xv[i] - m);
    for (int i = 0; i < N; i++) {
        double want = c * (exp(c * xv[i] - m) / s - (i == 0));
        cr_assert(fabs(ad_data(g0)[i] - want) <= 1e-14 * (fabs(want) + 1e-3), "g[%d] = %.17g, want %.17g", i,
                  ad_data(g0)[i], want);
    }
}

Test(sweep_held, input_both_orders, .description = "autograd_grad of lse(x) - x[0]: same bits and bytes either order")
{
    both_orders(false, false);
}
Test(sweep_held, leaf_grad_both_orders, .description = "backward into .grad: same bits and bytes either order")
{
    both_orders(false, true);
}
Test(sweep_held, adjoint_both_orders, .description = "h = 2.5x, lse(h) - h[0]: a record's adjoint, either order")
{
    both_orders(true, false);
    both_orders(true, true);
}

Test(sweep_held, unwritable_accumulator, .description = "x[0] + sum(x): the dense share is a broadcast view")
{
    ad_tensor *x = input(), *g = NULL;
    ad_tensor *f = ad_add(ad_idx(x, AD_I(0)), ad_sum(x, AD_ALL, false)); /* sum's share: expand(1) */
    cr_assert_eq(ad_autograd_grad(f, NULL, 1, &x, 0, &g), AD_OK, "%s", ad_errmsg(ctx));
    for (int i = 0; i < N; i++) cr_assert_eq(ad_data(g)[i], i == 0 ? 2.0 : 1.0, "g[%d] = %g", i, ad_data(g)[i]);
    ad_tensor *f2 = ad_add(ad_idx(x, AD_I(0)), ad_sum(x, AD_ALL, false));
    cr_assert_eq(ad_backward(f2, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    for (int i = 0; i < N; i++) cr_assert_eq(ad_data(ad_grad(x))[i], i == 0 ? 2.0 : 1.0);
}

Test(sweep_held, more_than_the_list, .description = "twelve slices before the dense share: all added")
{
    ad_tensor *x = input(), *g = NULL;
    ad_tensor *f = ad_mul_s(ad_sum(ad_mul(x, x), AD_ALL, false), 0.5); /* share: x, dense */
    for (int k = 0; k < 12; k++) f = ad_add(ad_mul_s(ad_idx(x, AD_I(k)), 1.0 + k), f); /* made after: swept first */
    cr_assert_eq(ad_autograd_grad(f, NULL, 1, &x, 0, &g), AD_OK, "%s", ad_errmsg(ctx));
    for (int i = 0; i < N; i++) {
        double want = ad_data(x)[i] + (i < 12 ? 1.0 + i : 0);
        cr_assert(fabs(ad_data(g)[i] - want) <= 1e-15 * fabs(want) + 1e-300, "g[%d] = %.17g, want %.17g", i,
                  ad_data(g)[i], want);
    }
}

Test(sweep_held, gather_index_outlives_record, .description = "a held gather keeps its index past its record's release")
{
    ad_tensor *X = ad_reshape(ad_detach(input()), AD_SHAPE(4, N / 4));
    X = ad_contiguous(X);
    ad_requires_grad_(X, true);
    ad_tensor *idx = ad_from_array(ctx, AD_SHAPE(4, 1), TH_V(3, 0, 7, 2));
    ad_tensor *lse = ad_sum(ad_logsumexp(X, AD_AXES(1), false), AD_ALL, false);
    ad_tensor *picked = ad_sum(ad_gather(X, 1, idx), AD_ALL, false); /* made after: swept first, held */
    cr_assert_eq(ad_backward(ad_sub(lse, picked), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    const double *xv = ad_data(X), *g = ad_data(ad_grad(X));
    const int cls[4] = {3, 0, 7, 2}, m = N / 4;
    for (int r = 0; r < 4; r++) {
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < m; j++) mx = xv[r * m + j] > mx ? xv[r * m + j] : mx;
        for (int j = 0; j < m; j++) s += exp(xv[r * m + j] - mx);
        for (int j = 0; j < m; j++) {
            double want = exp(xv[r * m + j] - mx) / s - (j == cls[r]);
            cr_assert(fabs(g[r * m + j] - want) <= 1e-14, "g[%d,%d] = %.17g, want %.17g", r, j, g[r * m + j], want);
        }
    }
}
