/* tests/test_elementwise.c — unary, binary, scalar, comparison and where
 * ops: values, broadcasting, derivative rules in every mode, in-place forms
 * under autograd. */
#include <string.h>

#include "helpers.h"

TestSuite(elementwise, .init = th_setup, .fini = th_teardown);

/* ---- values ------------------------------------------------------------------ */

Test(elementwise, operators_on_same_shape, .description = "x + y, x - y, x * y, x / y, x ** y")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(4), TH_V(1, 2, 4, 8));
    ad_tensor *y = ad_full(ctx, AD_SHAPE(4), 2);
    th_expect(ad_add(x, y), AD_SHAPE(4), TH_V(3, 4, 6, 10), 0, 0);
    th_expect(ad_sub(x, y), AD_SHAPE(4), TH_V(-1, 0, 2, 6), 0, 0);
    th_expect(ad_mul(x, y), AD_SHAPE(4), TH_V(2, 4, 8, 16), 0, 0);
    th_expect(ad_div(x, y), AD_SHAPE(4), TH_V(0.5, 1, 2, 4), 0, 0);
    th_expect(ad_pow(x, y), AD_SHAPE(4), TH_V(1, 4, 16, 64), 0, 0);
    th_expect(ad_exp(x), AD_SHAPE(4), TH_V(exp(1), exp(2), exp(4), exp(8)), 0, 2.3e-16);
}

/* |a - b| within k units in the last place of b.  exp, log, sin, cos, tanh,
 * sigmoid, log1p and expm1 come from SLEEF's 1-ulp kernels (src/ops/simd.c),
 * not from libm: equal to libm's within 1 ulp (tanh: 2, glibc's own error),
 * not bit for bit; tests/test_simd.c checks them on a dense sample. */
static bool ulp_close(double a, double b, double k) { return fabs(a - b) <= k * (nextafter(fabs(b), INFINITY) - fabs(b)); }

Test(elementwise, unary_values_match_libm)
{
    double v[] = {-2.385, -0.5, 0.0, 0.3, 1.7};
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(5), v);
    const double *r;
    r = th_values(ad_sin(x));
    for (int i = 0; i < 5; i++) cr_expect(ulp_close(r[i], sin(v[i]), 1), "sin(%g)", v[i]);
    r = th_values(ad_cos(x));
    for (int i = 0; i < 5; i++) cr_expect(ulp_close(r[i], cos(v[i]), 1), "cos(%g)", v[i]);
    r = th_values(ad_tanh(x));
    for (int i = 0; i < 5; i++) cr_expect(ulp_close(r[i], tanh(v[i]), 2), "tanh(%g)", v[i]);
    r = th_values(ad_abs(x));
    for (int i = 0; i < 5; i++) cr_expect_eq(r[i], fabs(v[i]));
    r = th_values(ad_relu(x));
    for (int i = 0; i < 5; i++) cr_expect_eq(r[i], v[i] > 0 ? v[i] : 0);
    r = th_values(ad_square(x));
    for (int i = 0; i < 5; i++) cr_expect_eq(r[i], v[i] * v[i]);
    r = th_values(ad_neg(x));
    for (int i = 0; i < 5; i++) cr_expect_eq(r[i], -v[i]);
    r = th_values(ad_sigmoid(x));
    for (int i = 0; i < 5; i++) cr_expect(fabs(r[i] - 1 / (1 + exp(-v[i]))) < 1e-16);
    th_expect(ad_sign(x), AD_SHAPE(5), TH_V(-1, -1, 0, 1, 1), 0, 0);
    ad_tensor *pos = ad_from_array(ctx, AD_SHAPE(3), TH_V(0.25, 2.385, 9));
    th_expect(ad_sqrt(pos), AD_SHAPE(3), TH_V(0.5, sqrt(2.385), 3), 0, 0);
    th_expect(ad_log(pos), AD_SHAPE(3), TH_V(log(0.25), log(2.385), log(9)), 0, 2.3e-16);
    th_expect(ad_log1p(pos), AD_SHAPE(3), TH_V(log1p(0.25), log1p(2.385), log1p(9)), 0, 2.3e-16);
    th_expect(ad_expm1(pos), AD_SHAPE(3), TH_V(expm1(0.25), expm1(2.385), expm1(9)), 0, 2.3e-16);
    th_expect(ad_tan(pos), AD_SHAPE(3), TH_V(tan(0.25), tan(2.385), tan(9)), 0, 0);
}

Test(elementwise, sigmoid_is_stable_at_extremes)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), TH_V(-800, 0, 800));
    th_expect(ad_sigmoid(x), AD_SHAPE(3), TH_V(0, 0.5, 1), 0, 0);
}

/* ---- inverse trigonometric, hyperbolic and special functions ------------------- */

typedef ad_tensor *(*ad_unary)(ad_tensor *);
static const struct {
    const char *name;
    ad_unary op;
    double (*libm)(double);
} LIBM[] = {{"cbrt", ad_cbrt, cbrt}, {"atan", ad_atan, atan},   {"asin", ad_asin, asin},
            {"acos", ad_acos, acos}, {"sinh", ad_sinh, sinh},   {"cosh", ad_cosh, cosh},
            {"asinh", ad_asinh, asinh}, {"erf", ad_erf, erf}};

Test(elementwise, new_unary_values_match_libm, .description = "cbrt, atan, asin, acos, sinh, cosh, asinh, erf are libm's")
{
    double v[] = {-0.93, -0.5, -0.0, 0.0, 0.3, 0.77, 1.0, -1.0};
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(8), v);
    for (size_t k = 0; k < sizeof LIBM / sizeof LIBM[0]; k++) {
        const double *r = th_values(LIBM[k].op(x));
        for (int i = 0; i < 8; i++) {
            double want = LIBM[k].libm(v[i]);
            cr_expect(r[i] == want && signbit(r[i]) == signbit(want), "%s(%.17g) = %.17g, libm %.17g", LIBM[k].name,
                      v[i], r[i], want);
        }
    }
}

Test(elementwise, new_functions_at_known_values, .description = "values PyTorch and the tables give")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(4), TH_V(-8, 27, -1e-300, 1e300));
    th_expect(ad_cbrt(x), AD_SHAPE(4), TH_V(-2, 3, -1e-100, 1e100), 0, 1e-15);
    th_expect(ad_atan(ad_from_array(ctx, AD_SHAPE(2), TH_V(1, -INFINITY))), AD_SHAPE(2),
              TH_V(0.78539816339744830962, -1.5707963267948966192), 0, 1e-16);
    th_expect(ad_erf(ad_from_array(ctx, AD_SHAPE(3), TH_V(0.5, -2, 6))), AD_SHAPE(3),
              TH_V(0.52049987781304653768, -0.99532226501895273416, 1), 0, 1e-15);
    /* asinh(1e300) = log(2e300): no overflow of x² */
    th_expect(ad_asinh(ad_scalar(ctx, 1e300)), AD_SCALAR, TH_V(691.46867507877356), 0, 1e-15);
    th_expect(ad_cosh(ad_from_array(ctx, AD_SHAPE(2), TH_V(0, 1))), AD_SHAPE(2),
              TH_V(1, 1.5430806348152437785), 0, 1e-15);
    ad_tensor *a = ad_from_array(ctx, AD_SHAPE(4), TH_V(1, -0.0, 3, 1e200));
    ad_tensor *b = ad_from_array(ctx, AD_SHAPE(4), TH_V(-1, -1, 4, 1e200));
    th_expect(ad_atan2(a, b), AD_SHAPE(4),
              TH_V(2.3561944901923449288, -3.1415926535897932385, 0.64350110879328438680, 0.78539816339744830962),
              0, 1e-15);
    /* hypot: no overflow at 1e200 (sqrt(a² + b²) would be inf) */
    th_expect(ad_hypot(a, b), AD_SHAPE(4), TH_V(1.4142135623730950488, 1, 5, 1.4142135623730950488e200), 0, 1e-15);
}

Test(elementwise, softplus_is_stable_at_extremes,
     .description = "softplus = log1p(exp(-|x|)) + max(x, 0): no overflow, the tail e^x kept")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(6), TH_V(-800, -40, 0, 1, 40, 800));
    /* log(1 + e^-40) = e^-40 (1 - e^-40/2 ...): naive log(1 + exp(x)) gives 0 */
    th_expect(ad_softplus(x), AD_SHAPE(6),
              TH_V(0, 4.2483542552915889953e-18, 0.69314718055994530942, 1.3132616875182228340, 40, 800), 0,
              1e-15);
    th_expect(ad_softplus(ad_from_array(ctx, AD_SHAPE(3), TH_V(-INFINITY, INFINITY, NAN))), AD_SHAPE(3),
              TH_V(0, INFINITY, NAN), 0, 0);
}

Test(elementwise, domain_errors_are_nan_not_errors, .description = "asin(2), acos(-1.5), cbrt(nan): NaN as libm, no error")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(2, -1.5));
    th_expect(ad_asin(x), AD_SHAPE(2), TH_V(NAN, NAN), 0, 0);
    th_expect(ad_acos(x), AD_SHAPE(2), TH_V(NAN, NAN), 0, 0);
    th_expect(ad_cbrt(ad_scalar(ctx, NAN)), AD_SCALAR, TH_V(NAN), 0, 0);
    cr_expect_eq(ad_errno(ctx), AD_OK, "%s", ad_errmsg(ctx));
}

/* The gradient of sum(op(x)) at x, by reverse mode. */
static ad_tensor *grad1(ad_unary op, ad_shape s, const double *v)
{
    ad_tensor *x = ad_from_array(ctx, s, v);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(ad_sum_all(op(x)), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    return ad_grad(x);
}

Test(elementwise, new_unary_derivatives_at_known_points,
     .description = "cbrt'(0) = inf, asin'(1) = inf, and accurate slopes where naive formulas lose digits")
{
    const double e = 0x1p-30; /* asin'(1 - e) = 1/sqrt(e(2 - e)); 1 - x² loses 31 bits there */
    th_expect(grad1(ad_cbrt, AD_SHAPE(3), TH_V(0, -8, 27)), AD_SHAPE(3), TH_V(INFINITY, 1.0 / 12, 1.0 / 27), 0, 1e-15);
    th_expect(grad1(ad_asin, AD_SHAPE(4), TH_V(1, 0.5, 1 - e, 2)), AD_SHAPE(4),
              TH_V(INFINITY, 1.1547005383792515290, 1 / sqrt(e * (2 - e)), NAN), 0, 2e-16);
    th_expect(grad1(ad_acos, AD_SHAPE(3), TH_V(-1, 0.5, -1 + e)), AD_SHAPE(3),
              TH_V(-INFINITY, -1.1547005383792515290, -1 / sqrt(e * (2 - e))), 0, 2e-16);
    th_expect(grad1(ad_atan, AD_SHAPE(2), TH_V(1, -3)), AD_SHAPE(2), TH_V(0.5, 0.1), 0, 1e-16);
    th_expect(grad1(ad_sinh, AD_SHAPE(2), TH_V(0, 1)), AD_SHAPE(2), TH_V(1, cosh(1)), 0, 1e-16);
    th_expect(grad1(ad_cosh, AD_SHAPE(2), TH_V(0, 1)), AD_SHAPE(2), TH_V(0, sinh(1)), 0, 1e-16);
    /* asinh'(x) = 1/sqrt(1 + x²): 1e-200 at 1e200, where x² overflows */
    th_expect(grad1(ad_asinh, AD_SHAPE(3), TH_V(0, 1e200, -0.75)), AD_SHAPE(3), TH_V(1, 1e-200, 0.8), 0, 1e-15);
    th_expect(grad1(ad_softplus, AD_SHAPE(4), TH_V(0, -800, 800, 2)), AD_SHAPE(4),
              TH_V(0.5, 0, 1, 1 / (1 + exp(-2))), 0, 1e-16);
    th_expect(grad1(ad_erf, AD_SHAPE(3), TH_V(0, 1, -30)), AD_SHAPE(3),
              TH_V(1.1283791670955125739, 1.1283791670955125739 * exp(-1), 0), 0, 1e-15);
}

/* The gradients of sum(op(a, b)) at (a, b), by reverse mode, into ga, gb. */
static void grad2(ad_tensor *(*op)(ad_tensor *, ad_tensor *), const double *av, const double *bv, int n,
                  ad_tensor **ga, ad_tensor **gb)
{
    ad_tensor *a = ad_from_array(ctx, AD_SHAPE(n), av), *b = ad_from_array(ctx, AD_SHAPE(n), bv);
    ad_requires_grad_(a, true);
    ad_requires_grad_(b, true);
    cr_assert_eq(ad_backward(ad_sum_all(op(a, b)), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    *ga = ad_grad(a);
    *gb = ad_grad(b);
}

Test(elementwise, atan2_and_hypot_derivatives,
     .description = "atan2: (b, -a)/h², NaN at the origin as PyTorch; hypot: (a, b)/h, 0 at the origin; no "
                    "overflow or underflow of a² + b²")
{
    ad_tensor *ga, *gb;
    grad2(ad_atan2, TH_V(1, 0, 3e-200, 3e200), TH_V(-1, 0, 4e-200, 4e200), 4, &ga, &gb);
    th_expect(ga, AD_SHAPE(4), TH_V(-0.5, NAN, 1.6e199, 1.6e-201), 0, 1e-15);
    th_expect(gb, AD_SHAPE(4), TH_V(-0.5, NAN, -1.2e199, -1.2e-201), 0, 1e-15);
    grad2(ad_hypot, TH_V(3, 0, 3e-200, 3e200), TH_V(-4, 0, 4e-200, 4e200), 4, &ga, &gb);
    th_expect(ga, AD_SHAPE(4), TH_V(0.6, 0, 0.6, 0.6), 0, 1e-15);
    th_expect(gb, AD_SHAPE(4), TH_V(-0.8, 0, 0.8, 0.8), 0, 1e-15);
}

Test(elementwise, new_functions_record_pytorch_grad_fn_names,
     .description = "AtanBackward0, ..., and PowBackward0 for cbrt (torch.pow(x, 1/3))")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(0.3, 0.6));
    ad_requires_grad_(x, true);
    cr_expect_str_eq(ad_grad_fn_name(ad_cbrt(x)), "PowBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_atan(x)), "AtanBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_asin(x)), "AsinBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_acos(x)), "AcosBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_sinh(x)), "SinhBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_cosh(x)), "CoshBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_asinh(x)), "AsinhBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_softplus(x)), "SoftplusBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_erf(x)), "ErfBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_atan2(x, x)), "Atan2Backward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_hypot(x, x)), "HypotBackward0");
}

Test(elementwise, broadcasting_3x1_plus_1x2, .description = "a (3x1) + b (1x2) gives 3x2, as in D2L")
{
    ad_tensor *a = ad_reshape(ad_arange_n(ctx, 3), AD_SHAPE(3, 1));
    ad_tensor *b = ad_reshape(ad_arange_n(ctx, 2), AD_SHAPE(1, 2));
    th_expect(ad_add(a, b), AD_SHAPE(3, 2), TH_V(0, 1, 1, 2, 2, 3), 0, 0);
    /* p = arange(1,3).view(1,2); q = arange(1,4).view(3,1); p + q */
    ad_tensor *p = ad_reshape(ad_arange(ctx, 1, 3, 1), AD_SHAPE(1, 2));
    ad_tensor *q = ad_reshape(ad_arange(ctx, 1, 4, 1), AD_SHAPE(3, 1));
    th_expect(ad_add(p, q), AD_SHAPE(3, 2), TH_V(2, 3, 3, 4, 4, 5), 0, 0);
}

Test(elementwise, broadcasting_rules_and_errors)
{
    ad_tensor *A = ad_ones(ctx, AD_SHAPE(2, 3, 4));
    ad_tensor *P = ad_mul(A, ad_arange_n(ctx, 4));
    cr_expect_str_eq(th_shape(P), "[2,3,4]");
    th_expect(ad_sum_to(P, AD_SHAPE(4)), AD_SHAPE(4), TH_V(0, 6, 12, 18), 0, 0);
    cr_expect_null(ad_add(A, ad_ones(ctx, AD_SHAPE(3, 1, 2))));
    cr_expect_str_eq(ad_errmsg(ctx), "add: shapes [2,3,4] and [3,1,2] cannot broadcast");
    cr_expect_null(ad_mul(ad_ones(ctx, AD_SHAPE(2, 3)), ad_ones(ctx, AD_SHAPE(4))));
    cr_expect_str_eq(ad_errmsg(ctx), "mul: shapes [2,3] and [4] cannot broadcast");
    cr_expect_null(ad_where(ad_ones(ctx, AD_SHAPE(5)), A, A));
    cr_expect(strstr(ad_errmsg(ctx), "where: shapes [5] and [2,3,4] cannot broadcast"), "%s", ad_errmsg(ctx));
    /* a 0-d tensor broadcasts to anything */
    th_expect(ad_add(ad_scalar(ctx, 2), ad_ones(ctx, AD_SHAPE(2))), AD_SHAPE(2), TH_V(3, 3), 0, 0);
    /* empty axes broadcast too */
    cr_expect_eq(ad_numel(ad_add(ad_ones(ctx, AD_SHAPE(0, 3)), ad_ones(ctx, AD_SHAPE(3)))), 0);
}

Test(elementwise, scalar_forms)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), TH_V(1, 2, 4));
    th_expect(ad_add_s(x, 0.5), AD_SHAPE(3), TH_V(1.5, 2.5, 4.5), 0, 0);
    th_expect(ad_sub_s(x, 1), AD_SHAPE(3), TH_V(0, 1, 3), 0, 0);
    th_expect(ad_rsub_s(1, x), AD_SHAPE(3), TH_V(0, -1, -3), 0, 0);
    th_expect(ad_mul_s(x, 3), AD_SHAPE(3), TH_V(3, 6, 12), 0, 0);
    th_expect(ad_div_s(x, 3), AD_SHAPE(3), TH_V(1.0 / 3, 2.0 / 3, 4.0 / 3), 0, 0);
    th_expect(ad_rdiv_s(1, x), AD_SHAPE(3), TH_V(1, 0.5, 0.25), 0, 0);
    th_expect(ad_pow_s(x, 3), AD_SHAPE(3), TH_V(1, 8, 64), 0, 0);
    th_expect(ad_rpow_s(2, x), AD_SHAPE(3), TH_V(2, 4, 16), 0, 0);
    th_expect(ad_maximum_s(x, 2), AD_SHAPE(3), TH_V(2, 2, 4), 0, 0);
    th_expect(ad_minimum_s(x, 2), AD_SHAPE(3), TH_V(1, 2, 2), 0, 0);
}

Test(elementwise, comparisons_and_where_give_constants)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(4), TH_V(1, 2, 3, 4));
    ad_tensor *y = ad_from_array(ctx, AD_SHAPE(4), TH_V(4, 2, 1, 4));
    th_expect(ad_eq(x, y), AD_SHAPE(4), TH_V(0, 1, 0, 1), 0, 0);
    th_expect(ad_ne(x, y), AD_SHAPE(4), TH_V(1, 0, 1, 0), 0, 0);
    th_expect(ad_lt(x, y), AD_SHAPE(4), TH_V(1, 0, 0, 0), 0, 0);
    th_expect(ad_le(x, y), AD_SHAPE(4), TH_V(1, 1, 0, 1), 0, 0);
    th_expect(ad_gt(x, y), AD_SHAPE(4), TH_V(0, 0, 1, 0), 0, 0);
    th_expect(ad_ge(x, y), AD_SHAPE(4), TH_V(0, 1, 1, 1), 0, 0);
    th_expect(ad_gt_s(x, 2), AD_SHAPE(4), TH_V(0, 0, 1, 1), 0, 0);
    th_expect(ad_where(ad_gt(x, y), x, y), AD_SHAPE(4), TH_V(4, 2, 3, 4), 0, 0);
    th_expect(ad_maximum(x, y), AD_SHAPE(4), TH_V(4, 2, 3, 4), 0, 0);
    th_expect(ad_minimum(x, y), AD_SHAPE(4), TH_V(1, 2, 1, 4), 0, 0);
    ad_requires_grad_(x, true);
    cr_expect_not(ad_requires_grad(ad_gt(x, y)), "comparisons are constants");
    cr_expect_null(ad_grad_fn_name(ad_eq_s(x, 2)));
}

Test(elementwise, nan_propagates)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), TH_V(NAN, 1, 2));
    ad_tensor *y = ad_from_array(ctx, AD_SHAPE(3), TH_V(0, NAN, 1));
    th_expect(ad_maximum(x, y), AD_SHAPE(3), TH_V(NAN, NAN, 2), 0, 0);
    th_expect(ad_minimum(x, y), AD_SHAPE(3), TH_V(NAN, NAN, 1), 0, 0);
    th_expect(ad_relu(x), AD_SHAPE(3), TH_V(NAN, 1, 2), 0, 0);
}

/* ---- derivative rules ------------------------------------------------------------ */

#define UNARY_FN(name) \
    static ad_tensor *f_##name(ad_tensor *const *in, void *ud) { (void)ud; return ad_##name(in[0]); }
UNARY_FN(neg)
UNARY_FN(exp)
UNARY_FN(log)
UNARY_FN(sin)
UNARY_FN(cos)
UNARY_FN(tan)
UNARY_FN(tanh)
UNARY_FN(sigmoid)
UNARY_FN(relu)
UNARY_FN(abs)
UNARY_FN(sqrt)
UNARY_FN(square)
UNARY_FN(log1p)
UNARY_FN(expm1)
UNARY_FN(cbrt)
UNARY_FN(atan)
UNARY_FN(asin)
UNARY_FN(acos)
UNARY_FN(sinh)
UNARY_FN(cosh)
UNARY_FN(asinh)
UNARY_FN(softplus)
UNARY_FN(erf)

/* Every unary op, by name: a Criterion parameter holds values, not the
 * function pointer.  The domain: ANY, POS (x > 0, or away from cbrt's
 * infinite slope at 0), UNIT (|x| < 1: asin, acos). */
enum { ANY, POS, UNIT };
typedef struct {
    const char *name;
    th_fn f;
    int domain;
} unary_op;
static const unary_op UNARY[] = {
    {"neg", f_neg, ANY},         {"exp", f_exp, ANY},   {"log", f_log, POS},       {"sin", f_sin, ANY},
    {"cos", f_cos, ANY},         {"tan", f_tan, ANY},   {"tanh", f_tanh, ANY},     {"sigmoid", f_sigmoid, ANY},
    {"relu", f_relu, ANY},       {"abs", f_abs, ANY},   {"sqrt", f_sqrt, POS},     {"square", f_square, ANY},
    {"log1p", f_log1p, POS},     {"expm1", f_expm1, ANY}, {"cbrt", f_cbrt, POS},   {"atan", f_atan, ANY},
    {"asin", f_asin, UNIT},      {"acos", f_acos, UNIT}, {"sinh", f_sinh, ANY},    {"cosh", f_cosh, ANY},
    {"asinh", f_asinh, ANY},     {"softplus", f_softplus, ANY}, {"erf", f_erf, ANY},
};
#define NUNARY (sizeof UNARY / sizeof UNARY[0])

typedef struct {
    char op[16];
} op_name;

ParameterizedTestParameters(elementwise, rules_of_unary_ops)
{
    static op_name params[NUNARY];
    for (size_t i = 0; i < NUNARY; i++) snprintf(params[i].op, sizeof params[i].op, "%s", UNARY[i].name);
    return cr_make_param_array(op_name, params, NUNARY);
}

ParameterizedTest(op_name *p, elementwise, rules_of_unary_ops,
                  .description = "JVP, VJP and HVP of every unary op vs differences")
{
    const unary_op *op = NULL;
    for (size_t i = 0; i < NUNARY; i++)
        if (strcmp(UNARY[i].name, p->op) == 0) op = &UNARY[i];
    cr_assert_not_null(op, "no unary op %s", p->op);
    /* values in the op's domain, away from the kinks of relu/abs at 0 */
    ad_tensor *x[1] = {op->domain == POS    ? th_vals(AD_SHAPE(2, 3), 1.2, 0.7)
                       : op->domain == UNIT ? th_vals(AD_SHAPE(2, 3), 0.05, 0.8)
                                            : th_vals(AD_SHAPE(2, 3), 0.1, 1.1)};
    th_check_rules_impl(op->f, NULL, 1, x, 1e-6, true, op->name, __FILE__, __LINE__);
}

#define BINARY_FN(name) \
    static ad_tensor *f_##name(ad_tensor *const *in, void *ud) { (void)ud; return ad_##name(in[0], in[1]); }
BINARY_FN(add)
BINARY_FN(sub)
BINARY_FN(mul)
BINARY_FN(div)
BINARY_FN(pow)
BINARY_FN(maximum)
BINARY_FN(minimum)
BINARY_FN(atan2)
BINARY_FN(hypot)

static const struct {
    const char *name;
    th_fn f;
} BINARY[] = {{"add", f_add}, {"sub", f_sub}, {"mul", f_mul}, {"div", f_div},
              {"pow", f_pow}, {"maximum", f_maximum}, {"minimum", f_minimum}, {"atan2", f_atan2},
              {"hypot", f_hypot}};
#define NBINARY (sizeof BINARY / sizeof BINARY[0])

/* op × broadcasting pattern: 0 [2,3] op [3], 1 [3,1] op [1,2], 2 [] op [2] */
typedef struct {
    char op[16];
    int pattern;
} binary_case;

ParameterizedTestParameters(elementwise, rules_of_binary_ops_with_broadcasting)
{
    static binary_case params[NBINARY * 3];
    for (size_t i = 0; i < NBINARY * 3; i++) {
        snprintf(params[i].op, sizeof params[i].op, "%s", BINARY[i / 3].name);
        params[i].pattern = (int)(i % 3);
    }
    return cr_make_param_array(binary_case, params, NBINARY * 3);
}

ParameterizedTest(binary_case *p, elementwise, rules_of_binary_ops_with_broadcasting,
                  .description = "JVP, VJP and HVP of every binary op: [2,3] op [3], [3,1] op [1,2], [] op [2]")
{
    th_fn f = NULL;
    for (size_t i = 0; i < NBINARY; i++)
        if (strcmp(BINARY[i].name, p->op) == 0) f = BINARY[i].f;
    cr_assert_not_null(f, "no binary op %s", p->op);
    ad_tensor *in[2];
    if (p->pattern == 0) {
        in[0] = th_vals(AD_SHAPE(2, 3), 1.5, 0.6);
        in[1] = th_vals(AD_SHAPE(3), 0.8, 0.5);
    } else if (p->pattern == 1) {
        in[0] = th_vals(AD_SHAPE(3, 1), 1.1, 0.4);
        in[1] = th_vals(AD_SHAPE(1, 2), 2.0, 0.3);
    } else {
        in[0] = ad_scalar(ctx, 1.3);
        in[1] = th_vals(AD_SHAPE(2), 0.7, 0.2);
    }
    char what[64];
    snprintf(what, sizeof what, "%s %s", p->op, (const char *[]){"[2,3] op [3]", "[3,1] op [1,2]", "[] op [2]"}[p->pattern]);
    th_check_rules_impl(f, NULL, 2, in, 1e-6, true, what, __FILE__, __LINE__);
}

static ad_tensor *f_scalars(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *x = in[0];
    /* every scalar form in one expression */
    ad_tensor *t = ad_add(ad_mul_s(ad_add_s(x, 0.5), 1.5), ad_div_s(ad_rsub_s(2, x), 3));
    t = ad_add(t, ad_mul(ad_rdiv_s(1.5, x), ad_pow_s(x, 2.5)));
    t = ad_add(t, ad_add(ad_rpow_s(1.7, x), ad_pow_s(x, 0)));
    return ad_add(t, ad_add(ad_maximum_s(x, 1.0), ad_minimum_s(x, 1.2)));
}

Test(elementwise, rules_of_scalar_forms)
{
    ad_tensor *x[1] = {th_vals(AD_SHAPE(5), 1.5, 0.8)};
    th_check_rules(f_scalars, NULL, 1, x, 1e-6, true);
}

static ad_tensor *f_where(ad_tensor *const *in, void *ud)
{
    ad_tensor *cond = ud;
    return ad_where(cond, ad_sin(in[0]), ad_mul(in[0], in[1]));
}

Test(elementwise, rules_of_where)
{
    ad_tensor *cond = ad_from_array(ctx, AD_SHAPE(3), TH_V(1, 0, 1));
    ad_tensor *in[2] = {th_vals(AD_SHAPE(2, 3), 0.4, 0.9), th_vals(AD_SHAPE(2, 1), 1.1, 0.3)};
    th_check_rules(f_where, cond, 2, in, 1e-6, true);
}

Test(elementwise, subgradients_at_kinks, .description = "relu'(0) = 0, |x|'(0) = 0, max ties split evenly")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), TH_V(-1, 0, 2));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_sum_to(ad_add(ad_relu(x), ad_abs(x)), AD_SCALAR);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(3), TH_V(-1, 0, 2), 0, 0);

    ad_tensor *a = ad_from_array(ctx, AD_SHAPE(2), TH_V(1, 3));
    ad_tensor *b = ad_from_array(ctx, AD_SHAPE(2), TH_V(1, 2));
    ad_requires_grad_(a, true);
    ad_requires_grad_(b, true);
    cr_assert_eq(ad_backward(ad_sum_to(ad_maximum(a, b), AD_SCALAR), NULL, 0), AD_OK);
    th_expect(ad_grad(a), AD_SHAPE(2), TH_V(0.5, 1), 0, 0);
    th_expect(ad_grad(b), AD_SHAPE(2), TH_V(0.5, 0), 0, 0);
}

Test(elementwise, pow_at_zero_base)
{
    /* d/db 0^b = 0 for b > 0 (the limit of y·log a), not NaN */
    ad_tensor *a = ad_from_array(ctx, AD_SHAPE(2), TH_V(0, 2));
    ad_tensor *b = ad_from_array(ctx, AD_SHAPE(2), TH_V(2, 3));
    ad_requires_grad_(a, true);
    ad_requires_grad_(b, true);
    cr_assert_eq(ad_backward(ad_sum_to(ad_pow(a, b), AD_SCALAR), NULL, 0), AD_OK);
    th_expect(ad_grad(a), AD_SHAPE(2), TH_V(0, 12), 0, 1e-15);
    th_expect(ad_grad(b), AD_SHAPE(2), TH_V(0, 8 * log(2)), 0, 1e-15);
}

/* ---- in place under autograd and forward mode ------------------------------------------ */

Test(elementwise, inplace_on_leaf_requiring_grad_is_refused)
{
    ad_tensor *x = ad_ones(ctx, AD_SHAPE(3));
    ad_requires_grad_(x, true);
    cr_expect_eq(ad_add_s_(x, 1), AD_EGRAD);
    cr_expect(strstr(ad_errmsg(ctx), "leaf tensor that requires grad"), "%s", ad_errmsg(ctx));
    th_expect(x, AD_SHAPE(3), TH_V(1, 1, 1), 0, 0);
    bool prev = ad_set_grad_enabled(ctx, false);
    cr_expect_eq(ad_add_s_(x, 1), AD_OK, "allowed with grad mode off (an optimiser step)");
    ad_set_grad_enabled(ctx, prev);
    th_expect(x, AD_SHAPE(3), TH_V(2, 2, 2), 0, 0);
}

Test(elementwise, inplace_on_a_recorded_result_is_differentiated,
     .description = "y = x * 2; y *= x; y.sum().backward() gives 4x")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), TH_V(1, 2, 3));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul_s(x, 2);
    cr_assert_eq(ad_mul_(y, x), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(y, AD_SHAPE(3), TH_V(2, 8, 18), 0, 0);
    cr_expect_str_eq(ad_grad_fn_name(y), "MulBackward0");
    cr_assert_eq(ad_backward(ad_sum_to(y, AD_SCALAR), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(3), TH_V(4, 8, 12), 0, 0);
}

Test(elementwise, modifying_a_saved_tensor_is_caught_at_backward)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), TH_V(1, 2, 3));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul_s(x, 1);  /* a non-leaf */
    ad_tensor *z = ad_mul(y, y);    /* saves y */
    cr_assert_eq(ad_add_s_(y, 1), AD_OK);
    cr_expect_eq(ad_backward(ad_sum_to(z, AD_SCALAR), NULL, 0), AD_EVERSION);
    cr_expect(strstr(ad_errmsg(ctx), "MulBackward0"), "%s", ad_errmsg(ctx));
    cr_expect(strstr(ad_errmsg(ctx), "modified in place"), "%s", ad_errmsg(ctx));
    cr_expect(strstr(ad_errmsg(ctx), "version 0 when saved, now 1"), "%s", ad_errmsg(ctx));
}

Test(elementwise, exp_output_modified_in_place_is_caught)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(0.5, 1.5));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_exp(x); /* saves its output */
    cr_assert_eq(ad_mul_s_(y, 2), AD_OK);
    cr_expect_eq(ad_backward(ad_sum_to(y, AD_SCALAR), NULL, 0), AD_EVERSION);
    cr_expect(strstr(ad_errmsg(ctx), "the output of ExpBackward0"), "%s", ad_errmsg(ctx));
}

Test(elementwise, inplace_carries_tangents)
{
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(1, 2));
    ad_set_tangent(x, ad_ones(ctx, AD_SHAPE(2)));
    ad_tensor *y = ad_mul_s(x, 3);
    cr_assert_eq(ad_mul_(y, x), AD_OK); /* y = 3x² */
    th_expect(ad_get_tangent(y), AD_SHAPE(2), TH_V(6, 12), 0, 0);
    ad_fwd_end(ctx);
}

Test(elementwise, into_writes_the_result_and_its_graph)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(1, 2));
    ad_requires_grad_(x, true);
    ad_tensor *out = ad_zeros(ctx, AD_SHAPE(2, 2));
    cr_assert_eq(ad_mul_into(out, x, x), AD_OK, "%s", ad_errmsg(ctx)); /* broadcast into out */
    th_expect(out, AD_SHAPE(2, 2), TH_V(1, 4, 1, 4), 0, 0);
    cr_assert_eq(ad_backward(ad_sum_to(out, AD_SCALAR), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(2), TH_V(4, 8), 0, 0);
}
