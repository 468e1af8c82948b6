/* tests/test_sweep_into.c — the sweep adds a slice's adjoint straight into
 * the accumulator of the slice's input (src/sweep.c: slice_slot,
 * slice_into) instead of running the rule (zeros + slice_scatter, then a
 * sum).  Each test checks the values against the analytic gradient, where
 * the shortcut applies (a leaf's .grad, empty or holding a gradient
 * already; an intermediate's adjoint; autograd_grad's accumulators;
 * retain_grad on the slice) and where it must not (create_graph, tangents
 * on the adjoint in forward over reverse, an accumulator shared with
 * another record's adjoint, which must never be written), and that a
 * refused allocation anywhere in such a sweep fails it with AD_ENOMEM. */
#include <string.h>

#include "helpers.h"

TestSuite(sweep_into, .init = th_setup, .fini = th_teardown);

static ad_tensor *vec(int64_t n, double a)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(n));
    for (int64_t i = 0; i < n; i++) ad_data(x)[i] = a + 0.37 * sin(1.7 * (double)i + 0.3);
    return x;
}

/* f = Σ x[0:3]·a + Σ x[2:6]·b + Σ x[::2]·c over 7 elements (three
 * overlapping slices of one input), and its gradient. */
static ad_tensor *three_slices(ad_tensor *x, ad_tensor *a, ad_tensor *b, ad_tensor *c)
{
    ad_tensor *t0 = ad_sum(ad_mul(ad_idx(x, AD_S(0, 3)), a), AD_ALL, false);
    ad_tensor *t1 = ad_sum(ad_mul(ad_idx(x, AD_S(2, 6)), b), AD_ALL, false);
    ad_tensor *t2 = ad_sum(ad_mul(ad_idx(x, AD_SS(AD_END, AD_END, 2)), c), AD_ALL, false);
    return ad_add(ad_add(t0, t1), t2);
}

static void three_slices_grad(const double *a, const double *b, const double *c, double *g)
{
    for (int i = 0; i < 7; i++) {
        g[i] = 0;
        if (i < 3) g[i] += a[i];
        if (i >= 2 && i < 6) g[i] += b[i - 2];
        if (i % 2 == 0) g[i] += c[i / 2];
    }
}

static void expect_near(const double *got, const double *want, int n, double tol, const char *what)
{
    for (int i = 0; i < n; i++)
        cr_expect(fabs(got[i] - want[i]) <= tol * (1 + fabs(want[i])), "%s[%d] = %.17g, want %.17g", what, i, got[i],
                  want[i]);
}

Test(sweep_into, leaf_grad_from_overlapping_slices)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(7, 0.4), *a = vec(3, 1.3), *b = vec(4, -0.7), *c = vec(4, 2.1);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(three_slices(x, a, b, c), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[7];
    three_slices_grad(ad_data(a), ad_data(b), ad_data(c), want);
    expect_near(th_values(ad_grad(x)), want, 7, 1e-15, "x̄");
    /* a second backward accumulates into .grad in place (PyTorch) */
    cr_assert_eq(ad_backward(three_slices(x, a, b, c), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    for (int i = 0; i < 7; i++) want[i] *= 2;
    expect_near(th_values(ad_grad(x)), want, 7, 1e-15, "x̄ after two backwards");
    ad_scope_end(ctx, s, NULL);
}

/* Two small slices of a large x: the shortcut holds one x-sized
 * accumulator; the rule made an x-sized scatter per slice and held two at
 * once.  (Fails if the shortcut is not taken.) */
Test(sweep_into, two_slices_hold_one_accumulator)
{
    ad_scope s = ad_scope_begin(ctx);
    const int64_t n = 100000;
    ad_tensor *x = vec(n, 0.2);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_add(ad_sum(ad_square(ad_idx(x, AD_S(0, 4))), AD_ALL, false),
                          ad_sum(ad_sin(ad_idx(x, AD_S(n - 4, n))), AD_ALL, false));
    cr_assert(y, "%s", ad_errmsg(ctx));
    ad_ctx_reset_peak(ctx);
    ad_mem_stats m0, m1;
    ad_ctx_mem_stats(ctx, &m0);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    ad_ctx_mem_stats(ctx, &m1);
    int64_t peak = m1.peak[AD_MEM_TANGENTS] - m0.live[AD_MEM_TANGENTS], one = n * (int64_t)sizeof(double);
    cr_expect(peak < one + 4096, "backward's peak of derivative bytes %lld, want one accumulator (%lld + a little)",
              (long long)peak, (long long)one);
    const double *g = th_values(ad_idx(ad_grad(x), AD_S(0, 8))), *xv = ad_data(x);
    for (int i = 0; i < 8; i++)
        cr_expect(g[i] == (i < 4 ? 2 * xv[i] : 0), "x̄[%d] = %.17g", i, g[i]);
    ad_tensor *tail = ad_idx(ad_grad(x), AD_S(n - 4, n));
    for (int i = 0; i < 4; i++)
        cr_expect(fabs(th_values(tail)[i] - cos(xv[n - 4 + i])) <= 1e-15, "x̄[n-4+%d] = %.17g", i, th_values(tail)[i]);
    ad_scope_end(ctx, s, NULL);
}

Test(sweep_into, slices_of_an_intermediate)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(7, 0.9), *a = vec(3, 1.1), *b = vec(4, 0.6), *c = vec(4, -1.4);
    ad_requires_grad_(x, true);
    /* the slices' input is sin(x): their shares meet in its adjoint */
    ad_tensor *y = three_slices(ad_sin(x), a, b, c);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[7];
    three_slices_grad(ad_data(a), ad_data(b), ad_data(c), want);
    for (int i = 0; i < 7; i++) want[i] *= cos(ad_data(x)[i]);
    expect_near(th_values(ad_grad(x)), want, 7, 1e-15, "x̄");
    ad_scope_end(ctx, s, NULL);
}

/* The add's rule hands its incoming adjoint (an expanded view of the
 * seed) on as sin(x)'s adjoint: shared, stride 0.  The slice's share must
 * go through the rule; written in place it would corrupt every element. */
Test(sweep_into, shared_accumulator_is_not_written)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(5, 0.3), *k = vec(2, 1.9);
    ad_requires_grad_(x, true);
    ad_tensor *u = ad_sin(x);
    ad_tensor *first = ad_mul(ad_idx(u, AD_S(0, 2)), k); /* recorded before the add: swept after it */
    ad_tensor *y = ad_add(ad_sum(ad_add_s(u, 1.0), AD_ALL, false), ad_sum(first, AD_ALL, false));
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[5];
    for (int i = 0; i < 5; i++) want[i] = cos(ad_data(x)[i]) * (1 + (i < 2 ? ad_data(k)[i] : 0));
    expect_near(th_values(ad_grad(x)), want, 5, 1e-15, "x̄");
    ad_scope_end(ctx, s, NULL);
}

Test(sweep_into, retain_grad_on_the_slice)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(6, -0.2), *k = vec(3, 0.8);
    ad_requires_grad_(x, true);
    ad_tensor *u = ad_idx(x, AD_S(1, 4));
    cr_assert_eq(ad_retain_grad(u), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(ad_sum(ad_mul(u, k), AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_near(th_values(ad_grad(u)), ad_data(k), 3, 0, "ū");
    double want[6] = {0};
    for (int i = 1; i < 4; i++) want[i] = ad_data(k)[i - 1];
    expect_near(th_values(ad_grad(x)), want, 6, 0, "x̄");
    ad_scope_end(ctx, s, NULL);
}

Test(sweep_into, autograd_grad_leaves_grad_alone)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(7, 0.4), *a = vec(3, 1.3), *b = vec(4, -0.7), *c = vec(4, 2.1);
    ad_requires_grad_(x, true);
    ad_tensor *g[1] = {NULL};
    cr_assert_eq(ad_autograd_grad(three_slices(x, a, b, c), NULL, 1, &x, 0, g), AD_OK, "%s", ad_errmsg(ctx));
    double want[7];
    three_slices_grad(ad_data(a), ad_data(b), ad_data(c), want);
    expect_near(th_values(g[0]), want, 7, 1e-15, "dy/dx");
    cr_expect(ad_grad(x) == NULL, "autograd_grad must not touch .grad");
    ad_scope_end(ctx, s, NULL);
}

/* Under create_graph the rule runs (recorded): Σ x[1:]·x[:-1] has the
 * gradient x[i-1] + x[i+1], whose sum differentiated again is 2 inside
 * and 1 at the ends. */
Test(sweep_into, create_graph_records_the_rule)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(6, 0.5);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_sum(ad_mul(ad_idx(x, AD_S(1, AD_END)), ad_idx(x, AD_S(AD_END, -1))), AD_ALL, false);
    ad_tensor *g[1] = {NULL};
    cr_assert_eq(ad_autograd_grad(y, NULL, 1, &x, AD_CREATE_GRAPH, g), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert(ad_requires_grad(g[0]), "create_graph: the gradient carries a graph");
    cr_assert_eq(ad_backward(ad_sum(g[0], AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[6] = {1, 2, 2, 2, 2, 1};
    expect_near(th_values(ad_grad(x)), want, 6, 0, "d(Σ x̄)/dx");
    ad_scope_end(ctx, s, NULL);
}

static ad_tensor *neighbours(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)c;
    (void)ud;
    ad_tensor *x = in[0];
    return ad_sum(ad_mul(ad_idx(x, AD_S(1, AD_END)), ad_idx(x, AD_S(AD_END, -1))), AD_ALL, false);
}

/* Forward over reverse: the adjoints carry tangents, so the rule runs;
 * (Hv)_i = v[i-1] + v[i+1]. */
Test(sweep_into, hvp_keeps_the_tangents)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *in[1] = {vec(6, 0.5)}, *v[1] = {vec(6, -1.2)}, *hv[1] = {NULL};
    ad_problem p = {.ctx = ctx, .f = neighbours, .nin = 1, .in = in};
    cr_assert_eq(ad_hvp(&p, v, NULL, NULL, hv, NULL), AD_OK, "%s", ad_errmsg(ctx));
    const double *vv = ad_data(v[0]);
    double want[6];
    for (int i = 0; i < 6; i++) want[i] = (i > 0 ? vv[i - 1] : 0) + (i < 5 ? vv[i + 1] : 0);
    expect_near(th_values(hv[0]), want, 6, 1e-15, "Hv");
    ad_scope_end(ctx, s, NULL);
}

/* Every allocation of such a sweep refused in turn: AD_ENOMEM (never a
 * success with a lost share), nothing leaked; the first run that succeeds
 * has the right gradient. */
Test(sweep_into, refused_allocations_fail_the_sweep)
{
    double want[7], xs[7], as[3], bs[4], cs[4];
    bool done = false;
    for (int64_t k = 1; !done && k < 2000; k++) {
        th_alloc h = TH_ALLOC_INIT;
        ad_ctx_options o = {.seed = 1, .alloc = th_alloc_hook, .alloc_ud = &h, .no_recycling = true};
        ad_ctx *c = ad_ctx_new_with(&o);
        cr_assert(c);
        ad_ctx *saved = ctx;
        ctx = c;
        ad_tensor *x = vec(7, 0.4), *a = vec(3, 1.3), *b = vec(4, -0.7), *cc = vec(4, 2.1);
        memcpy(xs, ad_data(x), sizeof xs);
        memcpy(as, ad_data(a), sizeof as);
        memcpy(bs, ad_data(b), sizeof bs);
        memcpy(cs, ad_data(cc), sizeof cs);
        ad_requires_grad_(x, true);
        ad_tensor *z = three_slices(ad_sin(x), a, b, cc), *y = ad_sin(z);
        cr_assert(y, "%s", ad_errmsg(c));
        th_alloc_arm(&h, k);
        int rc = ad_backward(y, NULL, 0);
        th_alloc_arm(&h, 0);
        if (rc == AD_OK) {
            cr_expect_eq(h.failed, 0, "k = %lld: an allocation was refused, yet backward succeeded", (long long)k);
            three_slices_grad(as, bs, cs, want);
            double outer = cos(ad_item(z));
            for (int i = 0; i < 7; i++) want[i] *= cos(xs[i]) * outer;
            expect_near(th_values(ad_grad(x)), want, 7, 1e-14, "x̄");
            done = true;
        } else {
            cr_expect_eq(rc, AD_ENOMEM, "k = %lld: status %d (%s)", (long long)k, rc, ad_errmsg(c));
        }
        ctx = saved;
        ad_ctx_free(c);
        cr_expect_eq(h.bytes, 0, "k = %lld: %lld bytes leaked", (long long)k, (long long)h.bytes);
    }
    cr_expect(done, "backward never succeeded");
}
