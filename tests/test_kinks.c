/* tests/test_kinks.c — derivatives at the points where a function has no
 * derivative: the subgradient conventions of PyTorch, identical in every
 * exact mode.
 *
 * At a kink there is no "right" derivative, only a convention: relu'(0) = 0,
 * |x|'(0) = 0, ties of max/min split evenly, and the least-norm subgradient
 * 0 for norm, hypot and std at zero spread (torch.std masks its backward
 * where the result is 0).  A convention that one mode follows and another
 * does not is a bug that no difference quotient can see (the difference
 * backends straddle the kink), so each case below is differentiated by
 * forward, forward-vector and reverse mode, which must agree bit for bit
 * and give PyTorch's value.  The inputs sit exactly on the kinks. */
#include <string.h>

#include "helpers.h" /* before parameterized.h: criterion.h must come first */
#include <criterion/parameterized.h>

TestSuite(kinks, .init = th_setup, .fini = th_teardown);

typedef struct {
    const char *expr; /* a function of x */
    ad_shape shape;
    double x[6];
    double grad[6]; /* PyTorch's gradient at x */
} kink_case;

#define R5 2.23606797749978969641 /* √5 */

static const kink_case CASES[] = {
    /* std, var and norm at zero spread: 0, PyTorch's least-norm subgradient */
    {"std(1 + 0*x)", AD_SHAPE(3), {0.3, -1.2, 2.5}, {0, 0, 0}},
    {"std(x)", AD_SHAPE(3), {2.385, 2.385, 2.385}, {0, 0, 0}},
    {"std(x, correction=0)", AD_SHAPE(3), {0.1, 0.1, 0.1}, {0, 0, 0}},
    {"std(relu(x))", AD_SHAPE(3), {-0.5, -1.3, -2.2}, {0, 0, 0}}, /* forward mode gave NaN */
    {"sum(std(x, axis=1))", AD_SHAPE(2, 2), {0.7, 0.7, -1.5, 1.5}, {0, 0, -0.70710678118654752440,
                                                                    0.70710678118654752440}},
    {"var(x)", AD_SHAPE(3), {0.1, 0.1, 0.1}, {0, 0, 0}},
    {"var(relu(x))", AD_SHAPE(4), {-0.5, -1.3, -2.2, -0.1}, {0, 0, 0, 0}},
    {"norm(x)", AD_SHAPE(3), {0, 0, 0}, {0, 0, 0}},
    {"norm(relu(x))", AD_SHAPE(2), {-0.4, -2.7}, {0, 0}},
    {"norm(x, p=1) + norm(x, p=3) + norm(x, p=0.5)", AD_SHAPE(3), {0, 0, 0}, {0, 0, 0}},
    {"norm(x, p=inf)", AD_SHAPE(3), {1, -1, 0.5}, {0.5, -0.5, 0}}, /* ties of max |x| split evenly */
    {"std(x) + norm(x - 1.25)", AD_SHAPE(2), {1.25, 1.25}, {0, 0}},
    {"sum(hypot(x, 2*x))", AD_SHAPE(3), {0, 1.5, -0.5}, {0, R5, -R5}},
    /* relu and abs at 0, ties of max, min and maximum */
    {"sum(relu(x))", AD_SHAPE(3), {0, 1.5, -2}, {0, 1, 0}},
    {"sum(abs(x))", AD_SHAPE(3), {0, -1.5, 2}, {0, -1, 1}},
    {"max(x)", AD_SHAPE(3), {2, 2, 1}, {0.5, 0.5, 0}},
    {"min(x)", AD_SHAPE(3), {-1, 3, -1}, {0.5, 0, 0.5}},
    {"sum(max(x, axis=0))", AD_SHAPE(2, 2), {4, 1, 4, 3}, {0.5, 0, 0.5, 1}},
    {"sum(maximum(x, 2 - x))", AD_SHAPE(3), {1, 0.5, 1.5}, {0, -1, 1}},
    {"sum(maximum(x, 1))", AD_SHAPE(2), {1, 3}, {0.5, 1}},
    {"sum(minimum(x, 1))", AD_SHAPE(2), {1, 3}, {0.5, 0}},
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

static const char *const MODES[] = {"forward", "forward-vector", "reverse"};
#define NMODES 3

ParameterizedTestParameters(kinks, modes_agree_with_pytorch)
{
    static int idx[NCASES];
    for (int i = 0; i < NCASES; i++) idx[i] = i;
    return cr_make_param_array(int, idx, NCASES);
}

/* The gradient of c->expr at c->x by the named backend, into g. */
static void gradient(const kink_case *c, const char *mode, double *g)
{
    ad_expr_error err;
    ad_expr *e = ad_expr_parse(c->expr, &err);
    cr_assert_not_null(e, "\"%s\" does not parse: %s", c->expr, err.msg);
    ad_tensor *in[1] = {ad_from_array(ctx, c->shape, c->x)};
    ad_problem p = {.ctx = ctx, .f = ad_expr_fn, .user = e, .nin = 1, .in = in, .wrt = (bool[]){true}};
    ad_tensor *grad[1] = {NULL};
    const ad_backend *b = ad_backend_find(mode);
    cr_assert_not_null(b, "no backend %s", mode);
    cr_assert_eq(ad_value_and_grad(b, &p, NULL, NULL, grad, NULL, NULL), AD_OK, "%s by %s: %s", c->expr, mode,
                 ad_errmsg(ctx));
    cr_assert_eq(ad_to_array(grad[0], g, 6), AD_OK);
    ad_tensor_free(grad[0]);
    ad_tensor_free(in[0]);
    ad_expr_free(e);
}

ParameterizedTest(int *i, kinks, modes_agree_with_pytorch,
                  .description = "forward, forward-vector and reverse give PyTorch's subgradient, bit for bit")
{
    const kink_case *c = &CASES[*i];
    int64_t n = 1;
    for (int d = 0; d < c->shape.ndim; d++) n *= c->shape.dim[d];
    double g[NMODES][6];
    for (int m = 0; m < NMODES; m++) gradient(c, MODES[m], g[m]);
    for (int64_t k = 0; k < n; k++) {
        for (int m = 1; m < NMODES; m++)
            cr_expect(g[m][k] == g[0][k], "%s, element %lld: %s gives %.17g, %s %.17g", c->expr, (long long)k,
                      MODES[m], g[m][k], MODES[0], g[0][k]);
        cr_expect(fabs(g[0][k] - c->grad[k]) <= 1e-15 * (1 + fabs(c->grad[k])),
                  "%s, element %lld: %.17g, PyTorch gives %.17g", c->expr, (long long)k, g[0][k], c->grad[k]);
    }
}

Test(kinks, constant_groups_have_exactly_zero_spread,
     .description = "var/std of equal values is 0 exactly, though their computed mean is not their value")
{
    /* 0.1 + 0.1 + 0.1 = 0.30000000000000004, /3 = 0.10000000000000002:
     * a plain two-pass variance of these is 1e-34, not 0 */
    ad_tensor *x = ad_full(ctx, AD_SHAPE(3, 7), 0.1);
    th_expect(ad_var(x, AD_AXES(0), 1, false), AD_SHAPE(7), TH_V(0, 0, 0, 0, 0, 0, 0), 0, 0);
    th_expect(ad_std(x, AD_ALL, 0, false), AD_SCALAR, TH_V(0), 0, 0);
    th_expect(ad_std(ad_T(x), AD_AXES(1), 1, false), AD_SHAPE(7), TH_V(0, 0, 0, 0, 0, 0, 0), 0, 0);
}
