/* tests/test_fast_paths.c — the shortcuts taken for large-n speed (issue
 * 10) give the results of the general code, and are not taken where they
 * must not be:
 *   - slice's VJP scatters into a zero fill (a broadcast +0 base), not a
 *     copy of dense zeros: the values, a base of -0 (copied, not filled),
 *     a base that requires grad (still recorded), create_graph (second
 *     derivatives through the slice);
 *   - max/min over a contiguous run on SSE2 lanes: against the scalar fold
 *     of a strided copy, with NaNs (the first NaN is the result) and ±0
 *     ties, at every length around the 8-lane blocks;
 *   - the reverse backend's one-sweep gradient is the leaf's .grad itself:
 *     inputs the output does not reach get zeros, forward over reverse
 *     (HVP) still gets its rows copied with their tangents dropped. */
#include <string.h>

#include "helpers.h"
#include "ops/index.h"

TestSuite(fast_paths, .init = th_setup, .fini = th_teardown);

static ad_tensor *vec(int64_t n, double a)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(n));
    for (int64_t i = 0; i < n; i++) ad_data(x)[i] = a + 0.37 * sin((double)i + 1.3);
    return x;
}

Test(fast_paths, slice_vjp_zero_fill_values)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(9, 0.4);
    ad_requires_grad_(x, true);
    /* y = Σ x[1:7]·w: x̄ = w on the slice, 0 elsewhere */
    ad_tensor *w = vec(6, 1.7);
    ad_tensor *y = ad_sum(ad_mul(ad_idx(x, AD_S(1, 7)), w), AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    const double *g = th_values(ad_grad(x)), *wv = ad_data(w);
    for (int i = 0; i < 9; i++) {
        double want = i >= 1 && i < 7 ? wv[i - 1] : 0;
        cr_expect(g[i] == want && !signbit(g[i]), "x̄[%d] = %.17g, want %.17g", i, g[i], want);
    }
    ad_scope_end(ctx, s, NULL);
}

Test(fast_paths, slice_scatter_negative_zero_base_is_copied)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *base = ad_expand(ad_scalar(ctx, -0.0), AD_SHAPE(5));
    ad_tensor *src = vec(2, 3.0);
    ad_tensor *y = ad_slice_scatter(base, src, 1, (const ad_index[]){AD_S(1, 3)});
    cr_assert(y, "%s", ad_errmsg(ctx));
    const double *v = th_values(y);
    for (int i = 0; i < 5; i++)
        if (i < 1 || i >= 3) cr_expect(v[i] == 0 && signbit(v[i]), "y[%d] = %g: the base's -0 is lost", i, v[i]);
    ad_scope_end(ctx, s, NULL);
}

Test(fast_paths, slice_scatter_zero_base_requiring_grad_is_recorded)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *z = ad_scalar(ctx, 0.0);
    ad_requires_grad_(z, true);
    ad_tensor *src = vec(3, 1.0);
    ad_tensor *y = ad_slice_scatter(ad_expand(z, AD_SHAPE(7)), src, 1, (const ad_index[]){AD_S(2, 5)});
    cr_assert(y && ad_requires_grad(y), "the zero-filled result must still be recorded");
    /* d/dz Σ y·c = Σ of c outside the slice */
    ad_tensor *c = vec(7, 2.0);
    cr_assert_eq(ad_backward(ad_sum(ad_mul(y, c), AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    const double *cv = ad_data(c);
    double want = cv[0] + cv[1] + cv[5] + cv[6];
    cr_expect(fabs(ad_item(ad_grad(z)) - want) <= 1e-15 * fabs(want), "z̄ = %.17g, want %.17g", ad_item(ad_grad(z)),
              want);
    ad_scope_end(ctx, s, NULL);
}

Test(fast_paths, slice_vjp_under_create_graph)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(6, 0.8);
    ad_requires_grad_(x, true);
    /* y = Σ x[2:]³; x̄ = 3 x² on the slice; Σ x̄ differentiated again: 6 x */
    ad_tensor *t = ad_idx(x, AD_S(2, AD_END));
    ad_tensor *y = ad_sum(ad_mul(ad_square(t), t), AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, AD_CREATE_GRAPH), AD_OK, "%s", ad_errmsg(ctx));
    ad_tensor *g1 = ad_sum(ad_grad(x), AD_ALL, false);
    cr_assert(ad_requires_grad(g1), "create_graph: the slice's VJP must be recorded");
    ad_clear_grad(x);
    cr_assert_eq(ad_backward(g1, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    const double *g2 = th_values(ad_grad(x)), *xv = ad_data(x);
    for (int i = 0; i < 6; i++) {
        double want = i >= 2 ? 6 * xv[i] : 0;
        cr_expect(fabs(g2[i] - want) <= 1e-14 * (1 + fabs(want)), "x̄̄[%d] = %.17g, want %.17g", i, g2[i], want);
    }
    ad_scope_end(ctx, s, NULL);
}

/* The scalar fold's answer: NaN wins (the first one), ties keep the first. */
static double fold_ref(const double *x, int64_t n, bool max)
{
    double a = max ? -INFINITY : INFINITY;
    for (int64_t i = 0; i < n; i++)
        if ((max ? x[i] > a : x[i] < a) || x[i] != x[i]) {
            if (a != a) break;
            a = x[i];
        }
    return a;
}

static void check_extreme(const double *v, int64_t n, const char *what)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(n));
    memcpy(ad_data(x), v, (size_t)n * sizeof *v);
    for (int m = 0; m < 2; m++) {
        double got = ad_item(m ? ad_max(x, AD_ALL, false) : ad_min(x, AD_ALL, false)), want = fold_ref(v, n, m);
        bool same = memcmp(&got, &want, sizeof got) == 0 || (got != got && want != want);
        cr_expect(same, "%s, n = %lld: %s = %.17g, the scalar fold %.17g", what, (long long)n, m ? "max" : "min", got,
                  want);
    }
    ad_scope_end(ctx, s, NULL);
}

Test(fast_paths, extreme_of_contiguous_runs)
{
    double v[40];
    for (int64_t n = 1; n <= 40; n++) {
        for (int i = 0; i < n; i++) v[i] = sin(2.7 * i + 0.3);
        check_extreme(v, n, "plain");
        for (int at = 0; at < n; at++) { /* one NaN anywhere, lanes or tail */
            double keep = v[at];
            v[at] = NAN;
            check_extreme(v, n, "one NaN");
            v[at] = keep;
        }
        for (int i = 0; i < n; i++) v[i] = i % 3 ? 0.0 : -0.0; /* ties of ±0: the first kept */
        check_extreme(v, n, "signed zeros");
        for (int i = 0; i < n; i++) v[i] = i % 2 ? INFINITY : -INFINITY;
        check_extreme(v, n, "infinities");
    }
}

Test(fast_paths, extreme_contiguous_equals_strided)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *a = ad_empty(ctx, AD_SHAPE(37, 23));
    for (int64_t i = 0; i < 37 * 23; i++) ad_data(a)[i] = cos(0.91 * (double)i) + (i % 17 == 0 ? -0.0 : 0.0);
    ad_data(a)[5 * 23 + 9] = NAN;
    ad_tensor *at = ad_contiguous(ad_transpose(a, 0, 1));
    for (int m = 0; m < 2; m++) {
        /* rows of a are contiguous runs; the same groups as strided columns of at's transpose */
        ad_tensor *r1 = m ? ad_max(a, AD_AXES(1), false) : ad_min(a, AD_AXES(1), false);
        ad_tensor *r2 = m ? ad_max(ad_transpose(at, 0, 1), AD_AXES(1), false)
                          : ad_min(ad_transpose(at, 0, 1), AD_AXES(1), false);
        const double *v1 = ad_data(ad_contiguous(r1)), *v2 = ad_data(ad_contiguous(r2));
        for (int i = 0; i < 37; i++)
            cr_expect(memcmp(&v1[i], &v2[i], sizeof *v1) == 0 || (v1[i] != v1[i] && v2[i] != v2[i]),
                      "%s of row %d: %.17g contiguous, %.17g strided", m ? "max" : "min", i, v1[i], v2[i]);
    }
    ad_scope_end(ctx, s, NULL);
}

/* f(x, u) = Σ x², u unused */
static ad_tensor *sq_first(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)c;
    (void)ud;
    return ad_sum(ad_square(in[0]), AD_ALL, false);
}

Test(fast_paths, reverse_one_sweep_rows)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *in[2] = {vec(5, 0.3), vec(4, 1.1)};
    ad_problem p = {.ctx = ctx, .f = sq_first, .nin = 2, .in = in};
    ad_tensor *g[2] = {NULL, NULL};
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, NULL, g, NULL, NULL), AD_OK, "%s",
                 ad_errmsg(ctx));
    const double *g0 = th_values(g[0]), *xv = ad_data(in[0]);
    for (int i = 0; i < 5; i++) cr_expect(g0[i] == 2 * xv[i], "g0[%d] = %.17g", i, g0[i]);
    const double *g1 = th_values(g[1]);
    for (int i = 0; i < 4; i++) cr_expect(g1[i] == 0 && !signbit(g1[i]), "g1[%d] = %g: unreached, want 0", i, g1[i]);
    cr_expect(!ad_requires_grad(g[0]) && !ad_has_tangent(g[0]), "a plain gradient");
    /* forward over reverse: the gradient keeps its rows-by-copy path */
    ad_tensor *v[2] = {vec(5, 2.0), vec(4, -1.0)}, *hv[2] = {NULL, NULL}, *gg[2] = {NULL, NULL};
    cr_assert_eq(ad_hvp(&p, v, NULL, gg, hv, NULL), AD_OK, "%s", ad_errmsg(ctx));
    const double *h0 = th_values(hv[0]), *vv = ad_data(v[0]);
    for (int i = 0; i < 5; i++) cr_expect(fabs(h0[i] - 2 * vv[i]) <= 1e-15, "hv[%d] = %.17g", i, h0[i]);
    const double *gg0 = th_values(gg[0]);
    for (int i = 0; i < 5; i++) cr_expect(gg0[i] == 2 * xv[i], "hvp's g[%d] = %.17g", i, gg0[i]);
    ad_scope_end(ctx, s, NULL);
}
