/* tests/test_nested.c — nested differentiation: a function that itself
 * calls a driver, differentiated by any exact backend. */
#include <math.h>

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
