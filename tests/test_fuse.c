/* tests/test_fuse.c — the fused VJP and JVP rules of src/ops/fuse.h (one
 * pass, the adjoint's own buffer reused) give the op chains' results bit
 * for bit, and are not taken where they must not be:
 *   - every fused rule, with the seed (shared: a fresh result) and behind
 *     mul_s(·, 1) (an adjoint only the sweep holds: written in place);
 *   - an adjoint that retain_grad keeps, or that add hands to two inputs,
 *     is never overwritten;
 *   - create_graph (second derivatives through the rules), tangents
 *     (forward mode, forward over reverse), broadcasting (sum_to);
 *   - slice's gradient zeroes only outside a flat slice, all of it
 *     otherwise; logsumexp's backward on one contiguous group equals the
 *     strided path's. */
#include <string.h>

#include "helpers.h"

TestSuite(fuse, .init = th_setup, .fini = th_teardown);

static ad_tensor *vec(int64_t n, double a)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(n));
    for (int64_t i = 0; i < n; i++) ad_data(x)[i] = a + 0.83 * sin(1.7 * (double)i + 0.3);
    return x;
}

/* n = 1037: several SIMD blocks and a tail */
#define N 1037

static void expect_bits(ad_tensor *got, ad_tensor *want, const char *what)
{
    cr_assert(got && want, "%s: %s", what, ad_errmsg(ctx));
    cr_assert_eq(ad_numel(got), ad_numel(want), "%s: sizes differ", what);
    ad_tensor *gc = ad_contiguous(got), *wc = ad_contiguous(want);
    const double *g = ad_data(gc), *w = ad_data(wc);
    for (int64_t i = 0; i < ad_numel(want); i++)
        cr_assert(memcmp(&g[i], &w[i], sizeof(double)) == 0, "%s: element %lld is %.17g, the op chain gives %.17g",
                  what, (long long)i, g[i], w[i]);
}

typedef struct {
    const char *name;
    ad_tensor *(*f)(ad_tensor *x);
    ad_tensor *(*chain)(ad_tensor *u, ad_tensor *x); /* x̄ for the cotangent u, by ops */
} unary_case;

static ad_tensor *f_neg(ad_tensor *x) { return ad_neg(x); }
static ad_tensor *f_exp(ad_tensor *x) { return ad_exp(x); }
static ad_tensor *f_sin(ad_tensor *x) { return ad_sin(x); }
static ad_tensor *f_cos(ad_tensor *x) { return ad_cos(x); }
static ad_tensor *f_square(ad_tensor *x) { return ad_square(x); }
static ad_tensor *f_mul_s(ad_tensor *x) { return ad_mul_s(x, -2.71); }
static ad_tensor *f_rsub_s(ad_tensor *x) { return ad_rsub_s(1.5, x); }
static ad_tensor *c_neg(ad_tensor *u, ad_tensor *x) { (void)x; return ad_neg(u); }
static ad_tensor *c_exp(ad_tensor *u, ad_tensor *x) { return ad_mul(u, ad_exp(x)); }
static ad_tensor *c_sin(ad_tensor *u, ad_tensor *x) { return ad_mul(u, ad_cos(x)); }
static ad_tensor *c_cos(ad_tensor *u, ad_tensor *x) { return ad_neg(ad_mul(u, ad_sin(x))); }
static ad_tensor *c_square(ad_tensor *u, ad_tensor *x) { return ad_mul(u, ad_mul_s(x, 2)); }
static ad_tensor *c_mul_s(ad_tensor *u, ad_tensor *x) { (void)x; return ad_mul_s(u, -2.71); }

static const unary_case CASES[] = {
    {"neg", f_neg, c_neg},          {"exp", f_exp, c_exp},          {"sin", f_sin, c_sin},
    {"cos", f_cos, c_cos},          {"square", f_square, c_square}, {"mul_s", f_mul_s, c_mul_s},
    {"rsub_s", f_rsub_s, c_neg},
};

/* x̄ of Σ u·f(x) by backward; through mul_s(·, 1) the adjoint reaching f's
 * rule is the sweep's alone (the fused rule writes into it). */
static ad_tensor *grad_of(const unary_case *c, ad_tensor *x0, ad_tensor *u, bool exclusive)
{
    ad_tensor *x = ad_clone(x0);
    ad_requires_grad_(x, true);
    ad_tensor *y = c->f(x);
    if (exclusive) y = ad_mul_s(y, 1.0);
    cr_assert_eq(ad_backward(y, u, 0), AD_OK, "%s: %s", c->name, ad_errmsg(ctx));
    return ad_grad(x);
}

Test(fuse, unary_rules_equal_their_op_chains_bit_for_bit)
{
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *x = vec(N, 0.4), *u = vec(N, -1.3);
        ad_tensor *want = CASES[k].chain(u, x);
        char what[64];
        snprintf(what, sizeof what, "%s, shared seed", CASES[k].name);
        expect_bits(grad_of(&CASES[k], x, u, false), want, what);
        snprintf(what, sizeof what, "%s, exclusive adjoint", CASES[k].name);
        expect_bits(grad_of(&CASES[k], x, u, true), want, what);
        ad_scope_end(ctx, s, NULL);
    }
}

/* Under a full sum every rule gets the sum's seed, a broadcast scalar: the
 * rules that do not read x (neg, mul_s, rsub_s) see one value and write it
 * as a fill; the others read x.  Same bits as the op chains on ones. */
Test(fuse, rules_under_a_sum_equal_their_op_chains)
{
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *x = vec(N, 0.4), *xr = ad_clone(x);
        ad_requires_grad_(xr, true);
        cr_assert_eq(ad_backward(ad_sum(CASES[k].f(xr), AD_ALL, false), NULL, 0), AD_OK, "%s: %s", CASES[k].name,
                     ad_errmsg(ctx));
        expect_bits(ad_grad(xr), CASES[k].chain(ad_ones(ctx, AD_SHAPE(N)), x), CASES[k].name);
        ad_scope_end(ctx, s, NULL);
    }
}

/* The seed stays the caller's: a rule never writes into it. */
Test(fuse, the_seed_is_never_written)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(N, 0.2), *u = vec(N, 0.9), *u0 = ad_clone(u);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(ad_square(x), u, 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_bits(u, u0, "the seed after backward");
    ad_scope_end(ctx, s, NULL);
}

Test(fuse, binary_rules_equal_their_op_chains)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *a = vec(N, 0.7), *b = vec(N, -0.2), *u = vec(N, 1.1);
    ad_requires_grad_(a, true);
    ad_requires_grad_(b, true);
    /* behind mul_s(·, 1): mul's and sub's adjoint is the sweep's alone */
    cr_assert_eq(ad_backward(ad_mul_s(ad_mul(a, b), 1.0), u, 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_bits(ad_grad(a), ad_mul(u, b), "mul: ā");
    expect_bits(ad_grad(b), ad_mul(u, a), "mul: b̄");
    ad_clear_grad(a);
    ad_clear_grad(b);
    cr_assert_eq(ad_backward(ad_mul_s(ad_sub(a, b), 1.0), u, 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_bits(ad_grad(a), u, "sub: ā");
    expect_bits(ad_grad(b), ad_neg(u), "sub: b̄ (ā holds ȳ: -ȳ must not be written into it)");
    ad_scope_end(ctx, s, NULL);
}

/* mul(a, a) and sub(a, a): both shares go to one leaf. */
Test(fuse, one_input_twice)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *a = vec(N, 0.3), *u = vec(N, 0.6);
    ad_requires_grad_(a, true);
    cr_assert_eq(ad_backward(ad_mul_s(ad_mul(a, a), 1.0), u, 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_bits(ad_grad(a), ad_add(ad_mul(u, a), ad_mul(u, a)), "mul(a, a)");
    ad_clear_grad(a);
    cr_assert_eq(ad_backward(ad_mul_s(ad_sub(a, a), 1.0), u, 0), AD_OK, "%s", ad_errmsg(ctx));
    const double *g = th_values(ad_grad(a));
    for (int i = 0; i < N; i++) cr_assert(g[i] == 0, "sub(a, a): ā[%d] = %g, want 0", i, g[i]);
    ad_scope_end(ctx, s, NULL);
}

/* retain_grad keeps the adjoint of y = square(x): square's rule must not
 * write x̄ into that buffer (the sweep takes its reference first). */
Test(fuse, retained_adjoint_is_not_overwritten)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(N, 0.5);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_square(x);
    cr_assert_eq(ad_retain_grad(y), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(ad_sum(ad_mul_s(y, 1.5), AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    const double *gy = th_values(ad_grad(y));
    for (int i = 0; i < N; i++) cr_assert(gy[i] == 1.5, "ȳ[%d] = %.17g, want 1.5 (overwritten by x̄?)", i, gy[i]);
    expect_bits(ad_grad(x), ad_mul_s(ad_mul_s(x, 2), 1.5), "x̄");
    ad_scope_end(ctx, s, NULL);
}

/* add hands one adjoint to both inputs: the first rule to run gets it
 * shared and must leave it for the second. */
Test(fuse, adjoint_shared_by_add)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(N, -0.4), *u = vec(N, 0.8);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul_s(ad_add(ad_square(x), ad_sin(x)), 1.0);
    cr_assert_eq(ad_backward(y, u, 0), AD_OK, "%s", ad_errmsg(ctx));
    ad_tensor *want = ad_add(ad_mul(u, ad_mul_s(x, 2)), ad_mul(u, ad_cos(x)));
    ad_tensor *want2 = ad_add(ad_mul(u, ad_cos(x)), ad_mul(u, ad_mul_s(x, 2)));
    ad_tensor *g = ad_grad(x);
    /* the two shares may arrive in either order: the sum of the same two
     * values, in one order or the other */
    const double *gv = th_values(g);
    ad_tensor *wc = ad_contiguous(want), *wc2 = ad_contiguous(want2);
    for (int i = 0; i < N; i++)
        cr_assert(gv[i] == ad_data(wc)[i] || gv[i] == ad_data(wc2)[i], "x̄[%d] = %.17g, want %.17g", i, gv[i],
                  ad_data(wc)[i]);
    ad_scope_end(ctx, s, NULL);
}

/* create_graph: the rules run as ops (recorded), so the gradient has a
 * graph and its own gradient is right: f = Σ c·sin(x²), ∇ = 2xc·cos(x²),
 * Σ_i ∂∇_i/∂x_j = 2c·cos(x²) - 4x²c·sin(x²). */
Test(fuse, create_graph_then_second_derivative)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(N, 0.3), *c = vec(N, 1.2);
    ad_requires_grad_(x, true);
    ad_tensor *f = ad_sum(ad_mul(c, ad_sin(ad_square(x))), AD_ALL, false);
    ad_tensor *g[1] = {NULL};
    cr_assert_eq(ad_autograd_grad(f, NULL, 1, &x, AD_CREATE_GRAPH, g), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert(ad_requires_grad(g[0]), "the gradient of a create_graph sweep must carry a graph");
    ad_tensor *h[1] = {NULL};
    cr_assert_eq(ad_autograd_grad(ad_sum(g[0], AD_ALL, false), NULL, 1, &x, 0, h), AD_OK, "%s", ad_errmsg(ctx));
    const double *xv = ad_data(x), *cv = ad_data(c), *gv = ad_data(ad_contiguous(g[0])),
                 *hv = ad_data(ad_contiguous(h[0]));
    for (int i = 0; i < N; i++) {
        double x2 = xv[i] * xv[i], w1 = 2 * xv[i] * cv[i] * cos(x2);
        double w2 = 2 * cv[i] * cos(x2) - 4 * x2 * cv[i] * sin(x2);
        cr_assert(fabs(gv[i] - w1) <= 1e-14 * (1 + fabs(w1)), "∇[%d] = %.17g, want %.17g", i, gv[i], w1);
        cr_assert(fabs(hv[i] - w2) <= 1e-13 * (1 + fabs(w2)), "∇²[%d] = %.17g, want %.17g", i, hv[i], w2);
    }
    ad_scope_end(ctx, s, NULL);
}

/* Forward mode: the fused JVP equals the op chain bit for bit (k = 3
 * tangents of [k, N]), and a tangent is never written in place. */
Test(fuse, jvp_rules_equal_their_op_chains)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(N, 0.9), *t = ad_empty(ctx, AD_SHAPE(3, N));
    for (int64_t i = 0; i < 3 * N; i++) ad_data(t)[i] = 0.5 + 0.3 * cos(0.7 * (double)i);
    ad_tensor *t0 = ad_clone(t);
    cr_assert_eq(ad_fwd_begin(ctx, 3), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_set_tangent(x, t), AD_OK, "%s", ad_errmsg(ctx));
    ad_tensor *ys = ad_sin(x), *yc = ad_cos(x), *yq = ad_square(x), *ye = ad_exp(x);
    ad_tensor *ts = ad_get_tangent(ys), *tc = ad_get_tangent(yc), *tq = ad_get_tangent(yq),
              *te = ad_get_tangent(ye);
    ad_fwd_end(ctx);
    expect_bits(ts, ad_mul(t0, ad_cos(x)), "sin's JVP");
    expect_bits(tc, ad_neg(ad_mul(t0, ad_sin(x))), "cos's JVP");
    expect_bits(tq, ad_mul(t0, ad_mul_s(x, 2)), "square's JVP");
    expect_bits(te, ad_mul(t0, ad_exp(x)), "exp's JVP");
    expect_bits(t, t0, "x's tangent after the JVPs");
    ad_scope_end(ctx, s, NULL);
}

/* Forward over reverse (tangents on the adjoints and saved values): the
 * rules go through the ops, and the HVP is right. */
Test(fuse, hvp_through_fused_rules)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(N, 0.1), *v = vec(N, 0.7);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_set_tangent(x, ad_reshape(v, AD_SHAPE(1, N))), AD_OK, "%s", ad_errmsg(ctx));
    /* f = Σ sin(x)·x²: ∇ = cos(x)x² + 2x sin(x) */
    ad_tensor *f = ad_sum(ad_mul(ad_sin(x), ad_square(x)), AD_ALL, false);
    ad_tensor *g[1] = {NULL};
    cr_assert_eq(ad_autograd_grad(f, NULL, 1, &x, 0, g), AD_OK, "%s", ad_errmsg(ctx));
    ad_tensor *hv = ad_get_tangent(g[0]);
    ad_fwd_end(ctx);
    cr_assert(hv, "the gradient lost its tangent: %s", ad_errmsg(ctx));
    const double *xv = ad_data(x), *vv = ad_data(v), *h = th_values(hv);
    for (int i = 0; i < N; i++) { /* ∇² = diag(-sin(x)x² + 4x cos(x) + 2 sin(x)) */
        double xi = xv[i], want = vv[i] * (-sin(xi) * xi * xi + 4 * xi * cos(xi) + 2 * sin(xi));
        cr_assert(fabs(h[i] - want) <= 1e-13 * (1 + fabs(want)), "Hv[%d] = %.17g, want %.17g", i, h[i], want);
    }
    ad_scope_end(ctx, s, NULL);
}

/* Broadcast operands: the rules sum back to each input's shape. */
Test(fuse, broadcasting_takes_the_general_path)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *a = ad_reshape(vec(12, 0.5), AD_SHAPE(3, 4)), *b = vec(4, -0.6);
    ad_tensor *u = ad_reshape(vec(12, 1.4), AD_SHAPE(3, 4));
    ad_requires_grad_(a, true);
    ad_requires_grad_(b, true);
    cr_assert_eq(ad_backward(ad_mul_s(ad_mul(a, b), 1.0), u, 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_bits(ad_grad(a), ad_mul(u, b), "mul: ā");
    expect_bits(ad_grad(b), ad_sum(ad_mul(u, a), AD_AXES(0), false), "mul: b̄ summed over rows");
    ad_clear_grad(b);
    cr_assert_eq(ad_backward(ad_mul_s(ad_sub(a, b), 1.0), u, 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_bits(ad_grad(b), ad_neg(ad_sum(u, AD_AXES(0), false)), "sub: b̄ summed over rows");
    ad_scope_end(ctx, s, NULL);
}

/* slice's gradient: a flat slice (rows 1:3) zeroes only its ends; columns
 * 1:3 are not flat (everything zeroed first); an empty slice is zeros. */
Test(fuse, slice_gradient_zeroes_outside_the_slice)
{
    static const ad_index ROWS[] = {AD_S(1, 3)}, COLS[] = {AD_FULL, AD_S(1, 3)}, NONE[] = {AD_S(2, 2)};
    const ad_index *ix[] = {ROWS, COLS, NONE};
    int nix[] = {1, 2, 1};
    for (int k = 0; k < 3; k++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *x = ad_reshape(vec(20, 0.1), AD_SHAPE(5, 4));
        ad_requires_grad_(x, true);
        ad_tensor *sl = ad_slice(x, nix[k], ix[k]);
        ad_tensor *w = ad_full(ctx, ad_shape_of(sl), 2.5);
        cr_assert_eq(ad_backward(ad_sum(ad_mul(sl, w), AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
        const double *g = th_values(ad_grad(x));
        for (int i = 0; i < 20; i++) {
            int r = i / 4, c = i % 4;
            bool in = k == 0 ? r >= 1 && r < 3 : k == 1 ? c >= 1 && c < 3 : false;
            cr_assert(g[i] == (in ? 2.5 : 0.0), "slice %d: x̄[%d,%d] = %g", k, r, c, g[i]);
        }
        ad_scope_end(ctx, s, NULL);
    }
}

/* logsumexp's backward over one contiguous group (the vectorised run) and
 * over a strided view of the same values (the general loop): one result. */
Test(fuse, logsumexp_backward_flat_equals_strided)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(2 * N, 0.2);
    ad_tensor *a = ad_contiguous(ad_idx(x, AD_SS(AD_END, AD_END, 2)));
    ad_requires_grad_(a, true);
    ad_requires_grad_(x, true);
    ad_tensor *b = ad_idx(x, AD_SS(AD_END, AD_END, 2)); /* stride 2 */
    cr_assert_eq(ad_backward(ad_mul_s(ad_logsumexp(a, AD_ALL, false), 0.75), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(ad_mul_s(ad_logsumexp(b, AD_ALL, false), 0.75), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_bits(ad_grad(a), ad_idx(ad_grad(x), AD_SS(AD_END, AD_END, 2)), "logsumexp's gradient");
    ad_scope_end(ctx, s, NULL);
}
