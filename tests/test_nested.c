/* tests/test_nested.c — nested differentiation: a function that itself
 * calls a driver, differentiated by any exact backend. */
#include <math.h>
#include <string.h>

#include "helpers.h"
#include "th_params.h"

TestSuite(nested, .init = th_setup, .fini = th_teardown);

static const char *const BACKENDS[3] = {"forward", "forward-vector", "reverse"};

/* f(x, y) = sum(x ⊙ y ⊙ y): grad_y f = 2 x ⊙ y */
static ad_tensor *f_xyy(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_sum(ad_mul(in[0], ad_mul(in[1], in[1])), AD_ALL, false);
}

/* g(x) = sum(grad_y f(x, y0)) = sum(2 x ⊙ y0), with the inner gradient
 * taken by the backend in user; dg/dx = 2 y0 */
typedef struct {
    const ad_backend *inner;
    ad_tensor *y0;
} inner_of;

static ad_tensor *g_sum_grad_y(ad_ctx *c, ad_tensor *const *in, void *user)
{
    inner_of *u = user;
    ad_tensor *xin[2] = {in[0], u->y0};
    ad_problem p = {.ctx = c, .f = f_xyy, .nin = 2, .in = xin, .wrt = (bool[]){false, true}};
    ad_tensor *g[2] = {0};
    if (ad_value_and_grad(u->inner, &p, NULL, NULL, g, NULL, NULL) != AD_OK) return NULL;
    return ad_sum(g[1], AD_ALL, false);
}

ParameterizedTestParameters(nested, outer_grad_of_inner_grad) { TH_INDEX_PARAMS(9); }
ParameterizedTest(int *i, nested, outer_grad_of_inner_grad,
                  .description = "d/dx sum(grad_y x*y*y) = 2y for every outer x inner pair (the regression: it was 0)")
{
    const ad_backend *bo = ad_backend_find(BACKENDS[*i / 3]), *bi = ad_backend_find(BACKENDS[*i % 3]);
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), TH_V(2.385, -1.2, 0.4));
    inner_of u = {.inner = bi, .y0 = ad_from_array(ctx, AD_SHAPE(3), TH_V(0.7, 1.9, -3.1))};
    ad_problem p = {.ctx = ctx, .f = g_sum_grad_y, .nin = 1, .in = &x, .user = &u};
    ad_tensor *value = NULL, *g[1] = {0};
    cr_assert_eq(ad_value_and_grad(bo, &p, NULL, &value, g, NULL, NULL), AD_OK, "%s over %s: %s", bo->name,
                 bi->name, ad_errmsg(ctx));
    th_expect(value, AD_SHAPE(), TH_V(2 * (2.385 * 0.7 - 1.2 * 1.9 - 0.4 * 3.1)), 1e-12, 1e-12);
    th_expect(g[0], AD_SHAPE(3), TH_V(1.4, 3.8, -6.2), 1e-12, 1e-12);
    ad_tensor_free(value);
    ad_tensor_free(g[0]);
    ad_tensor_free(u.y0);
    ad_tensor_free(x);
}

/* ---- second derivatives of small functions ------------------------------------------ */

static const double X3[3] = {2.385, -1.2, 0.4};

/* f(x) = sum(sin(x) ⊙ x): grad = cos(x) ⊙ x + sin(x) */
static ad_tensor *f_xsinx(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_sum(ad_mul(ad_sin(in[0]), in[0]), AD_ALL, false);
}

/* h(x) = sum(grad f(x)); dh/dx = 2 cos(x) - x ⊙ sin(x) */
static ad_tensor *h_sum_grad(ad_ctx *c, ad_tensor *const *in, void *user)
{
    ad_problem p = {.ctx = c, .f = f_xsinx, .nin = 1, .in = (ad_tensor **)in};
    ad_tensor *g[1] = {0};
    if (ad_value_and_grad(user, &p, NULL, NULL, g, NULL, NULL) != AD_OK) return NULL;
    return ad_sum(g[0], AD_ALL, false);
}

static double dh(int j) { return 2 * cos(X3[j]) - X3[j] * sin(X3[j]); }

ParameterizedTestParameters(nested, gradient_of_gradient) { TH_INDEX_PARAMS(9); }
ParameterizedTest(int *i, nested, gradient_of_gradient,
                  .description = "grad, jvp and vjp of sum(grad sum(sin(x) x)) for every outer x inner pair")
{
    const ad_backend *bo = ad_backend_find(BACKENDS[*i / 3]), *bi = ad_backend_find(BACKENDS[*i % 3]);
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), X3);
    ad_problem p = {.ctx = ctx, .f = h_sum_grad, .nin = 1, .in = &x, .user = (void *)bi};
    ad_tensor *g[1] = {0};
    cr_assert_eq(ad_value_and_grad(bo, &p, NULL, NULL, g, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(g[0], AD_SHAPE(3), TH_V(dh(0), dh(1), dh(2)), 1e-12, 1e-12);
    /* the tangent of the gradient along v, and the cotangent 1.7 back */
    ad_tensor *v = ad_from_array(ctx, AD_SHAPE(3), TH_V(0.3, -2.1, 1.25)), *jv = NULL, *vjp[1] = {0};
    cr_assert_eq(ad_jvp(bo, &p, &v, NULL, NULL, &jv, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(jv, AD_SHAPE(), TH_V(0.3 * dh(0) - 2.1 * dh(1) + 1.25 * dh(2)), 1e-12, 1e-12);
    ad_tensor *u = ad_scalar(ctx, 1.7);
    cr_assert_eq(ad_vjp(bo, &p, u, NULL, NULL, vjp, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(vjp[0], AD_SHAPE(3), TH_V(1.7 * dh(0), 1.7 * dh(1), 1.7 * dh(2)), 1e-12, 1e-12);
    ad_tensor *all[] = {g[0], v, jv, u, vjp[0], x};
    for (size_t k = 0; k < TH_NELEMS(all); k++) ad_tensor_free(all[k]);
}

/* ---- Siskind and Pearlmutter's perturbation confusion ------------------------------- */

static ad_tensor *f_x_plus_y(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_add(in[0], in[1]);
}

/* x · d/dy (x + y) at y = 1: the inner derivative is 1 whatever x is */
static ad_tensor *g_confusion(ad_ctx *c, ad_tensor *const *in, void *user)
{
    ad_tensor *y = ad_scalar(c, 1.0);
    ad_tensor *xin[2] = {in[0], y};
    ad_problem p = {.ctx = c, .f = f_x_plus_y, .nin = 2, .in = xin, .wrt = (bool[]){false, true}};
    ad_tensor *g[2] = {0};
    if (ad_value_and_grad(user, &p, NULL, NULL, g, NULL, NULL) != AD_OK) return NULL;
    return ad_mul(in[0], g[1]);
}

ParameterizedTestParameters(nested, perturbation_confusion) { TH_INDEX_PARAMS(9); }
ParameterizedTest(int *i, nested, perturbation_confusion,
                  .description = "d/dx [x d/dy (x + y)] = 1, not 2 (the tangents of the two levels never mix)")
{
    const ad_backend *bo = ad_backend_find(BACKENDS[*i / 3]), *bi = ad_backend_find(BACKENDS[*i % 3]);
    ad_tensor *x = ad_scalar(ctx, 2.385), *value = NULL, *g[1] = {0};
    ad_problem p = {.ctx = ctx, .f = g_confusion, .nin = 1, .in = &x, .user = (void *)bi};
    cr_assert_eq(ad_value_and_grad(bo, &p, NULL, &value, g, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(value, AD_SHAPE(), TH_V(2.385), 0, 1e-15);
    th_expect(g[0], AD_SHAPE(), TH_V(1.0), 0, 1e-15);
    ad_tensor_free(value);
    ad_tensor_free(g[0]);
    ad_tensor_free(x);
}

/* ---- three deep ----------------------------------------------------------------------- */

/* q0(x) = sum(x⁴); q1 = sum(grad q0) = sum(4x³); q2 = sum(grad q1) =
 * sum(12x²); grad q2 = 24x.  user: the backends of the two inner levels. */
static ad_tensor *q0(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_sum(ad_square(ad_square(in[0])), AD_ALL, false);
}

static ad_tensor *sum_grad_of(ad_ctx *c, ad_tensor *x, ad_fn f, const ad_backend *b, void *user)
{
    ad_problem p = {.ctx = c, .f = f, .nin = 1, .in = &x, .user = user};
    ad_tensor *g[1] = {0};
    if (ad_value_and_grad(b, &p, NULL, NULL, g, NULL, NULL) != AD_OK) return NULL;
    return ad_sum(g[0], AD_ALL, false);
}

static ad_tensor *q1(ad_ctx *c, ad_tensor *const *in, void *user)
{
    const ad_backend *const *bs = user;
    return sum_grad_of(c, in[0], q0, bs[1], NULL);
}

static ad_tensor *q2(ad_ctx *c, ad_tensor *const *in, void *user)
{
    const ad_backend *const *bs = user;
    return sum_grad_of(c, in[0], q1, bs[0], user);
}

Test(nested, three_deep, .description = "grad of grad of grad of sum(x^4) = 24x for all 27 backend triples")
{
    for (int t = 0; t < 27; t++) {
        ad_scope s = ad_scope_begin(ctx);
        const ad_backend *bo = ad_backend_find(BACKENDS[t / 9]);
        const ad_backend *bs[2] = {ad_backend_find(BACKENDS[(t / 3) % 3]), ad_backend_find(BACKENDS[t % 3])};
        ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(1.3, -0.7)), *g[1] = {0};
        ad_problem p = {.ctx = ctx, .f = q2, .nin = 1, .in = &x, .user = bs};
        cr_assert_eq(ad_value_and_grad(bo, &p, NULL, NULL, g, NULL, NULL), AD_OK, "%s/%s/%s: %s", bo->name,
                     bs[0]->name, bs[1]->name, ad_errmsg(ctx));
        const double *gv = th_values(g[0]);
        cr_expect(fabs(gv[0] - 24 * 1.3) < 1e-12 && fabs(gv[1] + 24 * 0.7) < 1e-12, "%s/%s/%s: %g %g", bo->name,
                  bs[0]->name, bs[1]->name, gv[0], gv[1]);
        ad_scope_end(ctx, s, NULL);
    }
}

/* ---- inner JVPs and VJPs ------------------------------------------------------------- */

/* f(x) = x³ elementwise: J = diag(3x²) */
static ad_tensor *f_cube(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_mul(in[0], ad_square(in[0]));
}

static const double V3[3] = {0.3, -2.1, 1.25};

/* sum(J v) and sum(uᵀ J) with v = u = V3: both have gradient 6 x ⊙ V3 */
static ad_tensor *g_inner_jvp(ad_ctx *c, ad_tensor *const *in, void *user)
{
    ad_problem p = {.ctx = c, .f = f_cube, .nin = 1, .in = (ad_tensor **)in};
    ad_tensor *v = ad_from_array(c, AD_SHAPE(3), V3), *jv = NULL;
    if (ad_jvp(user, &p, &v, NULL, NULL, &jv, NULL, NULL) != AD_OK) return NULL;
    return ad_sum(jv, AD_ALL, false);
}

static ad_tensor *g_inner_vjp(ad_ctx *c, ad_tensor *const *in, void *user)
{
    ad_problem p = {.ctx = c, .f = f_cube, .nin = 1, .in = (ad_tensor **)in};
    ad_tensor *u = ad_from_array(c, AD_SHAPE(3), V3), *g[1] = {0};
    if (ad_vjp(user, &p, u, NULL, NULL, g, NULL, NULL) != AD_OK) return NULL;
    return ad_sum(g[0], AD_ALL, false);
}

ParameterizedTestParameters(nested, inner_jvp_and_vjp) { TH_INDEX_PARAMS(9); }
ParameterizedTest(int *i, nested, inner_jvp_and_vjp,
                  .description = "gradients of sum(J v) and sum(u^T J) of x^3: inner jvp and vjp nest for every pair")
{
    const ad_backend *bo = ad_backend_find(BACKENDS[*i / 3]), *bi = ad_backend_find(BACKENDS[*i % 3]);
    ad_fn fs[2] = {g_inner_jvp, g_inner_vjp};
    for (int f = 0; f < 2; f++) {
        ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), X3), *g[1] = {0};
        ad_problem p = {.ctx = ctx, .f = fs[f], .nin = 1, .in = &x, .user = (void *)bi};
        cr_assert_eq(ad_value_and_grad(bo, &p, NULL, NULL, g, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
        th_expect(g[0], AD_SHAPE(3), TH_V(6 * X3[0] * V3[0], 6 * X3[1] * V3[1], 6 * X3[2] * V3[2]), 1e-12, 1e-12);
        ad_tensor_free(g[0]);
        ad_tensor_free(x);
    }
}

/* ---- a difference backend outside -------------------------------------------------------- */

ParameterizedTestParameters(nested, difference_outside) { TH_INDEX_PARAMS(3); }
ParameterizedTest(int *i, nested, difference_outside,
                  .description = "central differences of a function that calls an exact driver")
{
    const ad_backend *bo = ad_backend_find("central"), *bi = ad_backend_find(BACKENDS[*i]);
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), X3);
    ad_problem p = {.ctx = ctx, .f = h_sum_grad, .nin = 1, .in = &x, .user = (void *)bi};
    ad_tensor *g[1] = {0};
    cr_assert_eq(ad_value_and_grad(bo, &p, NULL, NULL, g, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(g[0], AD_SHAPE(3), TH_V(dh(0), dh(1), dh(2)), 1e-7, 1e-7);
    ad_tensor_free(g[0]);
    ad_tensor_free(x);
}

/* ---- ad_autograd_grad alone: PyTorch's torch.autograd.grad ---------------------------------- */

Test(nested, autograd_grad_semantics, .description = "gradients of exactly the inputs; no .grad touched; zeros when unused")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), X3), *w = ad_from_array(ctx, AD_SHAPE(3), V3);
    ad_tensor *unused = ad_from_array(ctx, AD_SHAPE(2), TH_V(1, 2));
    ad_requires_grad_(x, true);
    ad_requires_grad_(w, true);
    ad_requires_grad_(unused, true);
    ad_tensor *z = ad_exp(x); /* a non-leaf input */
    ad_retain_grad(z);
    ad_tensor *y = ad_sum(ad_mul(ad_mul(z, z), w), AD_ALL, false);
    ad_tensor *in[3] = {z, unused, x}, *g[3] = {0};
    cr_assert_eq(ad_autograd_grad(y, NULL, 3, in, 0, g), AD_OK, "%s", ad_errmsg(ctx));
    double e[3], ex[3];
    for (int j = 0; j < 3; j++) {
        e[j] = 2 * exp(X3[j]) * V3[j];          /* dy/dz */
        ex[j] = 2 * exp(2 * X3[j]) * V3[j];     /* dy/dx */
    }
    th_expect(g[0], AD_SHAPE(3), e, 1e-12, 1e-12);
    th_expect(g[1], AD_SHAPE(2), TH_V(0, 0), 0, 0);
    th_expect(g[2], AD_SHAPE(3), ex, 1e-12, 1e-12);
    cr_expect_null(ad_grad(x));
    cr_expect_null(ad_grad(w), "w is not an input: its .grad stays empty");
    cr_expect_null(ad_grad(z), "retain_grad is not a .grad written by autograd_grad");
    cr_expect_null(ad_grad_fn_name(g[0]), "no graph without AD_CREATE_GRAPH");
    /* the records were released: a second sweep is refused, with the reason */
    cr_expect_eq(ad_autograd_grad(y, NULL, 1, &x, 0, g), AD_EGRAD);
    cr_expect(strstr(ad_errmsg(ctx), "second time"), "%s", ad_errmsg(ctx));
    cr_expect_null(g[0]);
    ad_clear_error(ctx);
}

Test(nested, autograd_grad_create_graph, .description = "a gradient with a graph, differentiated again")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), X3), *g[1] = {0}, *h[1] = {0};
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_sum(ad_mul(x, ad_square(x)), AD_ALL, false); /* sum(x³) */
    cr_assert_eq(ad_autograd_grad(y, NULL, 1, &x, AD_CREATE_GRAPH, g), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_not_null(ad_grad_fn_name(g[0]));
    th_expect(g[0], AD_SHAPE(3), TH_V(3 * X3[0] * X3[0], 3 * X3[1] * X3[1], 3 * X3[2] * X3[2]), 1e-12, 1e-12);
    ad_tensor *seed = ad_from_array(ctx, AD_SHAPE(3), V3);
    cr_assert_eq(ad_autograd_grad(g[0], seed, 1, &x, 0, h), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(h[0], AD_SHAPE(3), TH_V(6 * X3[0] * V3[0], 6 * X3[1] * V3[1], 6 * X3[2] * V3[2]), 1e-12, 1e-12);
    cr_expect_null(ad_grad(x));
    /* a seed of the wrong shape is refused, naming both shapes */
    cr_expect_eq(ad_autograd_grad(y, seed, 1, &x, AD_RETAIN_GRAPH, h), AD_ESHAPE);
    cr_expect(strstr(ad_errmsg(ctx), "autograd_grad: seed of shape [3]"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    cr_expect_eq(ad_autograd_grad(y, NULL, 1, &x, 0, NULL), AD_EINVAL);
    ad_clear_error(ctx);
}

Test(nested, autograd_grad_leaves_the_outer_tape, .description = "the sweep stops at a non-leaf input: records before it are neither swept nor released")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), X3), *g[1] = {0};
    ad_requires_grad_(x, true);
    ad_tensor *a = ad_exp(x);            /* the outer computation */
    ad_tensor *b = ad_mul_s(a, 2.0);     /* the inner one starts here */
    ad_tensor *y = ad_sum(ad_square(b), AD_ALL, false);
    ad_tape_stats before, after;
    ad_tape_stats_get(ctx, &before);
    cr_assert_eq(ad_autograd_grad(y, NULL, 1, &b, 0, g), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(g[0], AD_SHAPE(3), TH_V(4 * exp(X3[0]), 4 * exp(X3[1]), 4 * exp(X3[2])), 1e-12, 1e-12);
    ad_tape_stats_get(ctx, &after);
    cr_expect_eq(after.live, before.live, "no record died");
    /* a's record was left alone: the outer backward still runs */
    cr_assert_eq(ad_backward(ad_sum(a, AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(3), TH_V(exp(X3[0]), exp(X3[1]), exp(X3[2])), 1e-12, 1e-12);
}

/* ---- forward levels ----------------------------------------------------------------------- */

Test(nested, levels_never_mix, .description = "a tangent left by a closed level is not read by the next one at its depth")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(1.5, -2));
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    cr_assert_eq(ad_set_tangent(x, ad_ones(ctx, AD_SHAPE(2))), AD_OK);
    ad_fwd_end(ctx);
    cr_expect(!ad_has_tangent(x), "the outer level sees no inner tangent");
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK); /* a sibling at the same depth */
    cr_expect(!ad_has_tangent(x));
    cr_expect(!ad_has_tangent(ad_mul(x, x)), "nothing propagated from the closed level");
    ad_fwd_end(ctx);
    ad_fwd_end(ctx);
    /* with no level open, a tangent stays readable (single-level forward mode) */
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    cr_assert_eq(ad_set_tangent(x, ad_ones(ctx, AD_SHAPE(2))), AD_OK);
    ad_tensor *y = ad_mul(x, x);
    ad_fwd_end(ctx);
    th_expect(ad_get_tangent(y), AD_SHAPE(2), TH_V(3, -4), 0, 0);
    cr_expect_eq(ad_fwd_width(ctx), 0);
}

Test(nested, reverse_over_forward_by_hand, .description = "JVP rules are recorded: backward of a tangent gives the second derivative")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), X3), *v = ad_from_array(ctx, AD_SHAPE(3), V3);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    cr_assert_eq(ad_set_tangent(x, v), AD_OK);
    ad_tensor *jv = ad_get_tangent(ad_sum(ad_exp(ad_sin(x)), AD_ALL, false)); /* Σ e^sin x cos x v */
    ad_fwd_end(ctx);
    cr_assert_eq(ad_backward(jv, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[3];
    for (int j = 0; j < 3; j++) {
        double s = sin(X3[j]), c = cos(X3[j]);
        want[j] = exp(s) * (c * c - s) * V3[j];
    }
    th_expect(ad_grad(x), AD_SHAPE(3), want, 1e-12, 1e-12);
}

/* ---- refusals ------------------------------------------------------------------------------ */

Test(nested, too_deep, .description = "a fifth forward level is refused with the limit in the message")
{
    for (int d = 0; d < 4; d++) cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    cr_expect_eq(ad_fwd_begin(ctx, 1), AD_ELIMIT);
    cr_expect(strstr(ad_errmsg(ctx), "at most 4 deep"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    cr_expect_eq(ad_fwd_width(ctx), 1);
    for (int d = 0; d < 4; d++) ad_fwd_end(ctx);
    cr_expect_eq(ad_fwd_width(ctx), 0);
    /* and through the drivers: forward inside three forward levels is the fifth */
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(1.3, -0.7)), *g[1] = {0};
    const ad_backend *fwd = ad_backend_find("forward");
    const ad_backend *bs[2] = {fwd, fwd};
    for (int d = 0; d < 2; d++) {
        cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
        cr_assert_eq(ad_set_tangent(x, ad_ones(ctx, AD_SHAPE(2))), AD_OK);
    }
    ad_problem p = {.ctx = ctx, .f = q2, .nin = 1, .in = &x, .user = bs};
    cr_expect_eq(ad_value_and_grad(fwd, &p, NULL, NULL, g, NULL, NULL), AD_ELIMIT);
    cr_expect(strstr(ad_errmsg(ctx), "at most 4 deep"), "%s", ad_errmsg(ctx));
    cr_expect_null(g[0]);
    ad_fwd_end(ctx);
    ad_fwd_end(ctx);
    ad_clear_error(ctx);
}

static ad_tensor *g_inner_named(ad_ctx *c, ad_tensor *const *in, void *user)
{
    inner_of u = {.inner = ad_backend_find(user), .y0 = ad_from_array(c, AD_SHAPE(3), V3)};
    return g_sum_grad_y(c, in, &u);
}

static ad_tensor *g_inner_hvp(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)user;
    ad_problem p = {.ctx = c, .f = f_xsinx, .nin = 1, .in = (ad_tensor **)in};
    ad_tensor *v = ad_ones(c, AD_SHAPE(3)), *hv[1] = {0};
    if (ad_hvp(&p, &v, NULL, NULL, hv, NULL) != AD_OK) return NULL;
    return ad_sum(hv[0], AD_ALL, false);
}

Test(nested, refusals_name_what_to_use, .description = "differences, checkpoints, hvp and hessian inside AD refuse with AD_ENOTSUP, never a zero")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), X3), *g[1] = {0};
    const char *inner[] = {"central", "five-point", "gsl-deriv"};
    for (int o = 0; o < 3; o++)
        for (size_t i = 0; i < TH_NELEMS(inner); i++) {
            ad_problem p = {.ctx = ctx, .f = g_inner_named, .nin = 1, .in = &x, .user = (void *)inner[i]};
            cr_expect_eq(ad_value_and_grad(ad_backend_find(BACKENDS[o]), &p, NULL, NULL, g, NULL, NULL), AD_ENOTSUP,
                         "%s inside %s", inner[i], BACKENDS[o]);
            cr_expect(strstr(ad_errmsg(ctx), inner[i]) && strstr(ad_errmsg(ctx), "inside another derivative"), "%s",
                      ad_errmsg(ctx));
            cr_expect_null(g[0]);
            ad_clear_error(ctx);
        }
    ad_problem p = {.ctx = ctx, .f = g_inner_hvp, .nin = 1, .in = &x};
    cr_expect_eq(ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, NULL, g, NULL, NULL), AD_ENOTSUP);
    cr_expect(strstr(ad_errmsg(ctx), "hvp cannot be nested: use ad_jvp"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
}

/* ---- allocation failures -------------------------------------------------------------------- */

Test(nested, allocation_failures, .description = "every failing allocation of a nested call gives AD_ENOMEM, never a wrong value")
{
    th_alloc h = TH_ALLOC_INIT;
    ad_ctx_options co = {.alloc = th_alloc_hook, .alloc_ud = &h, .seed = 3, .no_recycling = true};
    int checked = 0;
    for (int64_t n = 1;; n++) {
        ad_ctx *c = ad_ctx_new_with(&co);
        cr_assert_not_null(c);
        ad_tensor *x = ad_from_array(c, AD_SHAPE(3), X3), *g[1] = {0};
        cr_assert_not_null(x);
        ad_problem p = {.ctx = c, .f = h_sum_grad, .nin = 1, .in = &x, .user = (void *)ad_backend_find(BACKENDS[n % 3])};
        const ad_backend *bo = ad_backend_find(BACKENDS[(n / 3) % 3]);
        int64_t calls = h.calls;
        th_alloc_arm(&h, n);
        int rc = ad_value_and_grad(bo, &p, NULL, NULL, g, NULL, NULL);
        bool hit = h.calls - calls >= n;
        th_alloc_arm(&h, 0);
        if (rc == AD_OK) {
            const double *gv = th_values(g[0]);
            for (int j = 0; j < 3; j++) cr_expect(fabs(gv[j] - dh(j)) < 1e-12, "n = %lld: wrong value", (long long)n);
        } else {
            cr_expect_eq(rc, AD_ENOMEM, "n = %lld: %s", (long long)n, ad_errmsg(c));
            cr_expect_null(g[0]);
            checked++;
        }
        ad_ctx_free(c);
        cr_assert_eq(h.bytes, 0, "n = %lld: bytes left", (long long)n);
        if (!hit) break;
    }
    cr_expect_gt(checked, 10);
}
