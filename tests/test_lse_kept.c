/* tests/test_lse_kept.c — logsumexp's kept weights (src/ops/reduce.c): a
 * record made for reverse mode keeps w = exp(x - max) and s = Σ w, and its
 * VJP is (ȳ/s)·w with no second exponential.  Checked here: what the tape
 * then holds (x's size more, counted once), that the value is the same bits
 * recorded or not, that the gradient agrees with the exp(x - y) rule (the
 * nested path's ops) over layouts that take both ways of filling w, a
 * second backward on a retained graph, and the groups whose max is not
 * finite, where the rule falls back to exp(x - y). */
#include <math.h>
#include <string.h>

#include "helpers.h"

TestSuite(lse_kept, .init = th_setup, .fini = th_teardown);

/* x of shape s filled with spread values (never 0 or 1), requiring grad. */
static ad_tensor *spread(ad_shape s)
{
    ad_tensor *x = ad_empty(ctx, s);
    cr_assert_not_null(x);
    double *d = ad_data(x);
    for (int64_t i = 0; i < ad_numel(x); i++) d[i] = 3.1 * sin(0.731 * (double)i + 0.385) - 0.0127 * (double)(i % 17);
    ad_requires_grad_(x, true);
    return x;
}

static int64_t lse_saved_bytes;
static int find_lse(const ad_tape_entry *e, void *ud)
{
    (void)ud;
    if (strcmp(e->name, "LogsumexpBackward0") == 0) lse_saved_bytes = e->saved_bytes;
    return 0;
}

Test(lse_kept, tape_holds_the_weights, .description = "the record saves x and [y | s | w]: x's size more, once")
{
    ad_tensor *x = spread(AD_SHAPE(3, 1000));
    ad_tape_stats before, after;
    ad_tape_stats_get(ctx, &before);
    ad_tensor *y = ad_logsumexp(x, AD_AXES(1), false);
    cr_assert_not_null(y, "%s", ad_errmsg(ctx));
    ad_tape_stats_get(ctx, &after);
    lse_saved_bytes = -1;
    cr_assert_eq(ad_tape_visit(ctx, find_lse, NULL), AD_OK);
    int64_t want = (3000 + 2 * 3 + 3000) * (int64_t)sizeof(double); /* x, then y, s and w */
    cr_assert_eq(lse_saved_bytes, want, "saved %lld bytes, want %lld", (long long)lse_saved_bytes, (long long)want);
    cr_assert_geq(after.bytes - before.bytes, want, "AD_MEM_TAPE grew by %lld", (long long)(after.bytes - before.bytes));
    /* the backward releases them */
    ad_tensor *seed = ad_from_array(ctx, AD_SHAPE(3), TH_V(0.37, -1.25, 2.1));
    cr_assert_eq(ad_backward(y, seed, 0), AD_OK, "%s", ad_errmsg(ctx));
    ad_tape_stats_get(ctx, &after);
    cr_assert_lt(after.bytes, 3000 * (int64_t)sizeof(double), "after backward the tape holds %lld bytes",
                 (long long)after.bytes);
}

/* The layouts: a whole contiguous tensor, groups along the last axis
 * (one run each), along the first (several runs a group: w in a pass of
 * its own), two axes kept, a transposed view. */
typedef struct {
    ad_shape shape;
    ad_axes axes;
    bool keep, transpose;
} layout;

static const layout LAYOUTS[] = {
    {AD_SHAPE(1000), AD_ALL, false, false},       {AD_SHAPE(7, 301), AD_AXES(1), false, false},
    {AD_SHAPE(301, 7), AD_AXES(0), true, false},  {AD_SHAPE(5, 6, 40), AD_AXES(0, 2), false, false},
    {AD_SHAPE(40, 9), AD_AXES(1), true, true},    {AD_SHAPE(3, 4, 5), AD_ALL, true, false},
};

static ad_tensor *operand(const layout *l)
{
    ad_tensor *x = spread(l->shape);
    return l->transpose ? ad_transpose(x, 0, 1) : x;
}

Test(lse_kept, value_same_bits, .description = "logsumexp's value is the same bits recorded or not")
{
    for (size_t i = 0; i < sizeof LAYOUTS / sizeof *LAYOUTS; i++) {
        const layout *l = &LAYOUTS[i];
        ad_tensor *x = operand(l);
        ad_tensor *rec = ad_logsumexp(x, l->axes, l->keep);
        bool was = ad_set_grad_enabled(ctx, false);
        ad_tensor *plain = ad_logsumexp(x, l->axes, l->keep);
        ad_set_grad_enabled(ctx, was);
        cr_assert(rec && plain && ad_grad_fn_name(rec) && !ad_grad_fn_name(plain), "layout %zu: %s", i, ad_errmsg(ctx));
        ad_tensor *r = ad_contiguous(rec), *p = ad_contiguous(plain);
        cr_assert_eq(memcmp(ad_data(r), ad_data(p), (size_t)ad_numel(r) * sizeof(double)), 0,
                     "layout %zu: the recorded value differs from the plain one", i);
    }
}

/* ȳ: spread values of y's shape. */
static ad_tensor *seed_like(ad_tensor *y)
{
    ad_tensor *g = ad_empty(ctx, ad_shape_of(y));
    double *d = ad_data(g);
    for (int64_t i = 0; i < ad_numel(g); i++) d[i] = 0.37 - 0.91 * (double)i;
    return g;
}

/* max |a - b| / max(|b|, tiny) elementwise, in units of DBL_EPSILON. */
static double rel_eps(ad_tensor *a, ad_tensor *b)
{
    ad_tensor *ac = ad_contiguous(a), *bc = ad_contiguous(b);
    const double *p = ad_data(ac), *q = ad_data(bc);
    double worst = 0;
    for (int64_t i = 0; i < ad_numel(ac); i++) {
        double d = fabs(p[i] - q[i]) / fmax(fabs(q[i]), 1e-300) / 2.220446049250313e-16;
        worst = d > worst ? d : worst;
    }
    return worst;
}

Test(lse_kept, gradient_matches_exp_rule, .description = "(ȳ/s)·w agrees with ȳ·exp(x - y) over layouts")
{
    for (size_t i = 0; i < sizeof LAYOUTS / sizeof *LAYOUTS; i++) {
        const layout *l = &LAYOUTS[i];
        ad_tensor *x = operand(l);
        ad_tensor *y = ad_logsumexp(x, l->axes, l->keep), *g = seed_like(y), *kept = NULL, *rule = NULL;
        cr_assert_not_null(y, "%s", ad_errmsg(ctx));
        /* the plain sweep takes the kept weights; create_graph the rule's ops */
        cr_assert_eq(ad_autograd_grad(y, g, 1, &x, AD_RETAIN_GRAPH, &kept), AD_OK, "%s", ad_errmsg(ctx));
        cr_assert_eq(ad_autograd_grad(y, g, 1, &x, AD_CREATE_GRAPH, &rule), AD_OK, "%s", ad_errmsg(ctx));
        cr_assert_not_null(ad_grad_fn_name(rule), "layout %zu: the nested gradient has no graph", i);
        double e = rel_eps(kept, rule);
        /* both are a weight of relative error ~|x - max|·eps/2 + a few roundings; |x - max| < 7 here */
        cr_assert_leq(e, 16, "layout %zu: kept weights %g eps from the exp(x - y) rule", i, e);
    }
}

Test(lse_kept, retained_graph_twice, .description = "a second backward on a retained graph gives the same bits")
{
    ad_tensor *x = spread(AD_SHAPE(4, 250));
    ad_tensor *y = ad_logsumexp(x, AD_AXES(1), false), *g = seed_like(y), *a = NULL, *b = NULL;
    cr_assert_eq(ad_autograd_grad(y, g, 1, &x, AD_RETAIN_GRAPH, &a), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_autograd_grad(y, g, 1, &x, 0, &b), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(memcmp(ad_data(a), ad_data(b), 1000 * sizeof(double)), 0);
}

Test(lse_kept, non_finite_groups, .description = "groups of -inf, with +inf or NaN: exp(x - y)'s gradient")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(4, 3),
                                 TH_V(-INFINITY, -INFINITY, -INFINITY, 0.25, INFINITY, -1.5, 0.5, NAN, 2.0,
                                      1.25, -0.75, 0.5));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_logsumexp(x, AD_AXES(1), false);
    cr_assert_eq(ad_backward(y, ad_full(ctx, AD_SHAPE(4), 2.0), 0), AD_OK, "%s", ad_errmsg(ctx));
    double e0 = exp(1.25), e1 = exp(-0.75), e2 = exp(0.5), s = e0 + e1 + e2;
    th_expect(ad_grad(x), AD_SHAPE(4, 3),
              TH_V(0, 0, 0, 0, NAN, 0, NAN, NAN, NAN, 2 * e0 / s, 2 * e1 / s, 2 * e2 / s), 0, 1e-15);
}

Test(lse_kept, accurate_at_large_logits, .description = "logits near 1000: within a few eps of a long double softmax")
{
    enum { N = 500 };
    ad_tensor *x = ad_add_s(ad_detach(spread(AD_SHAPE(N))), 1000.0);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(ad_logsumexp(x, AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    const double *xv = ad_data(x), *g = ad_data(ad_grad(x));
    long double m = xv[0], s = 0;
    for (int i = 1; i < N; i++) m = xv[i] > m ? xv[i] : m;
    for (int i = 0; i < N; i++) s += expl((long double)xv[i] - m);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        long double want = expl((long double)xv[i] - m) / s;
        double e = (double)(fabsl((long double)g[i] - want) / want) / 2.220446049250313e-16;
        worst = e > worst ? e : worst;
    }
    /* exp(x - y) from the rounded y would be off by up to |y|·eps/2, ~500 eps */
    cr_assert_leq(worst, 8, "worst relative error %g eps", worst);
}

/* Bytes the context allocated while running `backward` (1) or
 * autograd_grad (0) from lse(x) - x[0], x of n elements; the gradient's
 * first and last elements against the analytic ones. */
static int64_t sweep_bytes(int64_t n, bool backward, unsigned flags)
{
    ad_tensor *x = spread(AD_SHAPE(n));
    ad_tensor *f = ad_sub(ad_logsumexp(x, AD_ALL, false), ad_idx(x, AD_I(0))), *g = NULL;
    ad_ctx_reset_peak(ctx);
    if (backward) {
        cr_assert_eq(ad_backward(f, NULL, flags), AD_OK, "%s", ad_errmsg(ctx));
        g = ad_grad(x);
    } else {
        cr_assert_eq(ad_autograd_grad(f, NULL, 1, &x, flags, &g), AD_OK, "%s", ad_errmsg(ctx));
    }
    ad_mem_stats st;
    ad_ctx_mem_stats(ctx, &st);
    const double *xv = ad_data(x);
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; i++) m = xv[i] > m ? xv[i] : m;
    for (int64_t i = 0; i < n; i++) s += exp(xv[i] - m);
    cr_assert(fabs(ad_data(g)[0] - (exp(xv[0] - m) / s - 1)) < 1e-12);
    cr_assert(fabs(ad_data(g)[n - 1] - exp(xv[n - 1] - m) / s) < 1e-12 * exp(xv[n - 1] - m) / s);
    return st.bytes_allocated;
}

Test(lse_kept, gradient_in_the_weights_place, .description = "no retain: x̄ is scaled where w was, no x-sized buffer")
{
    const int64_t n = 20000, xbytes = n * (int64_t)sizeof(double);
    for (int backward = 0; backward < 2; backward++) {
        int64_t once = sweep_bytes(n, backward, 0), kept = sweep_bytes(n, backward, AD_RETAIN_GRAPH);
        cr_assert_lt(once, xbytes / 2, "%s: the sweep allocated %lld bytes", backward ? "backward" : "grad",
                     (long long)once);
        cr_assert_geq(kept, xbytes, "%s with retain_graph: %lld bytes (w must stay for the next backward)",
                      backward ? "backward" : "grad", (long long)kept);
    }
}
