/* tests/test_expr.c — the expression language of the command line.
 *
 * Expressions are checked against the library called directly (the same
 * ops on the same inputs must give the same tensors), the D2L examples are
 * replayed as text, every malformed input in a table must fail with its
 * status at its position, and random strings over the grammar's alphabet
 * must never crash, leak or report an insane error. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "th_params.h" /* after helpers.h */

TestSuite(expr, .init = th_setup, .fini = th_teardown);

static const double PI_ = 3.14159265358979323846, E_ = 2.71828182845904523536;

/* ---- helpers -------------------------------------------------------------------- */

/* The named inputs every expression of the tables may use. */
static const char *const NAMES[] = {"x", "u", "A", "B", "c", "w", "M"};
enum { NNAMES = 7 };
static ad_tensor *g_in[NNAMES];

static void make_inputs(void)
{
    g_in[0] = th_vals(AD_SHAPE(2, 3), 1.5, 0.45); /* x: positive, for log and sqrt */
    g_in[1] = th_vals(AD_SHAPE(3), -0.2, 1.3);    /* u */
    g_in[2] = th_vals(AD_SHAPE(3, 3), 0.1, 1.1);  /* A */
    g_in[3] = th_vals(AD_SHAPE(3, 2), -0.4, 0.9); /* B */
    g_in[4] = th_vals(AD_SHAPE(3), 0.7, 0.6);     /* c */
    g_in[5] = th_vals(AD_SHAPE(4), 0.3, 2.0);     /* w */
    g_in[6] = th_vals(AD_SHAPE(2, 3, 4), 0.2, 1.0); /* M */
}

/* Parses src and evaluates it with the named inputs bound by name. */
static ad_tensor *run_named(const char *src, ad_expr_error *err)
{
    ad_expr *e = ad_expr_parse(src, err);
    cr_assert_not_null(e, "parse of \"%s\" failed: %s at %d", src, err->msg, err->pos);
    ad_tensor *vals[16] = {0};
    cr_assert_leq(ad_expr_nvars(e), 16);
    for (int i = 0; i < ad_expr_nvars(e); i++) {
        for (int k = 0; k < NNAMES; k++)
            if (strcmp(ad_expr_var(e, i), NAMES[k]) == 0) vals[i] = g_in[k];
        cr_assert_not_null(vals[i], "\"%s\": no input named %s", src, ad_expr_var(e, i));
    }
    ad_tensor *r = ad_expr_eval(ctx, e, vals, err);
    ad_expr_free(e);
    return r;
}

static ad_tensor *eval_ok(const char *src)
{
    ad_expr_error err;
    ad_tensor *r = run_named(src, &err);
    cr_assert_not_null(r, "\"%s\" failed: %s (status %d at %d)", src, err.msg, err.status, err.pos);
    cr_assert_eq(err.status, AD_OK);
    return r;
}

static ad_tensor *value_ok(const char *src)
{
    ad_expr_error err;
    ad_tensor *r = ad_expr_value(ctx, src, &err);
    cr_assert_not_null(r, "value \"%s\" failed: %s (status %d at %d)", src, err.msg, err.status, err.pos);
    return r;
}

/* Same shape, values equal to rounding. */
static void expect_same(const char *what, ad_tensor *got, ad_tensor *want)
{
    cr_assert_not_null(want, "%s: the direct computation failed: %s", what, ad_errmsg(ctx));
    cr_assert_not_null(got, "%s: NULL", what);
    cr_assert_str_eq(th_shape(got), th_shape(want), "%s: shape %s, expected %s", what, th_shape(got), th_shape(want));
    static double g[4096], w[4096];
    cr_assert_eq(ad_to_array(got, g, 4096), AD_OK);
    cr_assert_eq(ad_to_array(want, w, 4096), AD_OK);
    for (int64_t i = 0; i < ad_numel(got); i++)
        cr_assert(g[i] == w[i] || (isnan(g[i]) && isnan(w[i])) || fabs(g[i] - w[i]) <= 1e-13 * (1 + fabs(w[i])),
                  "%s: element %lld is %.17g, expected %.17g", what, (long long)i, g[i], w[i]);
}

static int64_t live_tensors(void)
{
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    return m.tensors;
}

/* ---- every operator and function against the library ------------------------- */

typedef struct {
    const char *src;
    ad_tensor *(*direct)(ad_tensor *const *in);
} case_t;

#define x in[0]
#define u in[1]
#define A in[2]
#define B in[3]
#define c in[4]
#define w in[5]
#define M in[6]
#define D(name, body) \
    static ad_tensor *name(ad_tensor *const *in) { return body; }

D(d_add, ad_add(x, u))
D(d_sub, ad_sub(x, u))
D(d_mul, ad_mul(x, u))
D(d_div, ad_div(x, u))
D(d_matmul, ad_matmul(x, A))
D(d_pow_tt, ad_pow(x, u))
D(d_pow_s, ad_pow_s(x, 2))
D(d_rpow, ad_rpow_s(2, x))
D(d_neg, ad_neg(x))
D(d_add_s, ad_add_s(x, 2.5))
D(d_radd_s, ad_add_s(x, 2.5))
D(d_rsub_s, ad_rsub_s(1, x))
D(d_rdiv_s, ad_rdiv_s(3, x))
D(d_sub_s, ad_sub_s(x, 0.25))
D(d_div_s, ad_div_s(x, 4))
D(d_lt, ad_lt(x, u))
D(d_le_s, ad_le_s(x, 1.5))
D(d_gt_s_rev, ad_gt_s(x, 1.5))
D(d_ge, ad_ge(x, u))
D(d_eq_s, ad_eq_s(x, 1.5))
D(d_ne, ad_ne(x, x))
D(d_sin, ad_sin(x))
D(d_cos, ad_cos(x))
D(d_tan, ad_tan(x))
D(d_exp, ad_exp(x))
D(d_log, ad_log(x))
D(d_log1p, ad_log1p(x))
D(d_expm1, ad_expm1(x))
D(d_cbrt, ad_cbrt(u))
D(d_atan, ad_atan(u))
D(d_asin, ad_asin(ad_div_s(x, 4)))
D(d_acos, ad_acos(ad_div_s(x, 4)))
D(d_sinh, ad_sinh(u))
D(d_cosh, ad_cosh(u))
D(d_asinh, ad_asinh(u))
D(d_softplus, ad_softplus(u))
D(d_erf, ad_erf(u))
D(d_atan2, ad_atan2(x, u))
D(d_hypot, ad_hypot(x, u))
D(d_atan2_s, ad_atan2(ad_scalar(ctx, -1), u))
D(d_tanh, ad_tanh(x))
D(d_sigmoid, ad_sigmoid(x))
D(d_relu, ad_relu(ad_sub_s(x, 1.6)))
D(d_sqrt, ad_sqrt(x))
D(d_abs, ad_abs(u))
D(d_square, ad_square(u))
D(d_sign, ad_sign(u))
D(d_detach, ad_detach(x))
D(d_clone, ad_clone(x))
D(d_maximum, ad_maximum(x, u))
D(d_minimum_s, ad_minimum_s(x, 1.6))
D(d_where, ad_where(ad_gt_s(x, 1.6), x, u))
D(d_sum, ad_sum(x, AD_ALL, false))
D(d_sum1, ad_sum(x, AD_AXES(1), false))
D(d_sum0k, ad_sum(x, AD_AXES(0), true))
D(d_sum02, ad_sum(M, AD_AXES(0, 2), false))
D(d_mean, ad_mean(M, AD_AXES(-1), false))
D(d_prod, ad_prod(x, AD_AXES(1), false))
D(d_max, ad_max(x, AD_ALL, false))
D(d_min, ad_min(x, AD_AXES(0), true))
D(d_lse, ad_logsumexp(x, AD_AXES(0, 1), false))
D(d_var, ad_var(x, AD_AXES(1), 0, false))
D(d_std, ad_std(M, AD_ALL, 1, false))
D(d_softmax, ad_softmax(x, -1))
D(d_softmax0, ad_softmax(x, 0))
D(d_logsoftmax, ad_log_softmax(x, -1))
D(d_cumsum, ad_cumsum(x, 1))
D(d_cumprod, ad_cumprod(x, 0))
D(d_argmax, ad_argmax_all(x))
D(d_argmax1, ad_argmax(x, 1, false))
D(d_argmin1k, ad_argmin(x, 1, true))
D(d_dot, ad_dot(u, c))
D(d_mv, ad_mv(A, u))
D(d_mm, ad_mm(A, B))
D(d_outer, ad_outer(u, c))
D(d_cross, ad_cross(u, c, -1))
D(d_trace, ad_trace(A))
D(d_norm, ad_norm(x, 2, AD_ALL, false))
D(d_norm1, ad_norm(x, 1, AD_AXES(1), true))
D(d_norminf, ad_norm(u, INFINITY, AD_ALL, false))
D(d_reshape, ad_reshape(x, AD_SHAPE(3, 2)))
D(d_reshape_l, ad_reshape(M, AD_SHAPE(4, -1)))
D(d_flatten, ad_flatten(M))
D(d_T, ad_T(x))
D(d_transpose, ad_transpose(M, 0, 2))
D(d_permute, ad_permute_v(M, 2, 0, 1))
D(d_squeeze, ad_squeeze(ad_unsqueeze(x, 1), 1))
D(d_squeeze_all, ad_squeeze_all(ad_unsqueeze(x, 0)))
D(d_unsqueeze, ad_unsqueeze(x, -1))
D(d_expand, ad_expand(u, AD_SHAPE(2, 3)))
D(d_expand_l, ad_expand(ad_unsqueeze(u, 1), AD_SHAPE(-1, 4)))
D(d_concat, ad_concat((ad_tensor *[]){x, x}, 2, 1))
D(d_stack, ad_stack((ad_tensor *[]){u, c, u}, 3, 0))
D(d_stack1, ad_stack((ad_tensor *[]){u, c}, 2, 1))
D(d_index_select, ad_index_select(x, 1, 2, (const int64_t[]){2, 0}))
D(d_gather, ad_gather(x, 1, ad_from_array(ctx, AD_SHAPE(2, 2), (const double[]){0, 2, 1, 1})))
D(d_idx0, ad_idx(x, AD_I(0)))
D(d_idxm1, ad_idx(x, AD_I(-1)))
D(d_idx13, ad_idx(w, AD_S(1, 3)))
D(d_idx_cols, ad_idx(x, AD_FULL, AD_S(0, 2)))
D(d_idx_step, ad_idx(w, AD_SS(AD_END, AD_END, 2)))
D(d_idx_rev, ad_idx(w, AD_SS(AD_END, AD_END, -1)))
D(d_idx_ell, ad_idx(M, AD_ELLIPSIS, AD_I(1)))
D(d_idx_new, ad_idx(x, AD_NEWAXIS, AD_I(1)))
D(d_idx_mix, ad_idx(M, AD_I(1), AD_SS(AD_END, AD_END, -2), AD_S(1, AD_END)))
D(d_rosen, ad_sum(ad_add(ad_mul_s(ad_square(ad_sub(ad_idx(w, AD_S(1, AD_END)),
                                                    ad_square(ad_idx(w, AD_S(AD_END, -1))))), 100),
                         ad_square(ad_rsub_s(1, ad_idx(w, AD_S(AD_END, -1))))), AD_ALL, false))
D(d_prec_mat, ad_matmul(ad_mul(u, A), u))
D(d_list_vars, ad_stack((ad_tensor *[]){ad_idx(u, AD_I(0)), ad_idx(c, AD_I(1))}, 2, 0))

#undef x
#undef u
#undef A
#undef B
#undef c
#undef w
#undef M

static const case_t CASES[] = {
    {"x + u", d_add},
    {"x - u", d_sub},
    {"x * u", d_mul},
    {"x / u", d_div},
    {"x @ A", d_matmul},
    {"x ^ u", d_pow_tt},
    {"pow(x, u)", d_pow_tt},
    {"x ** 2", d_pow_s},
    {"pow(x, 2)", d_pow_s},
    {"2 ^ x", d_rpow},
    {"-x", d_neg},
    {"neg(x)", d_neg},
    {"x + 2.5", d_add_s},
    {"2.5 + x", d_radd_s},
    {"1 - x", d_rsub_s},
    {"3 / x", d_rdiv_s},
    {"x - 0.25", d_sub_s},
    {"x / 4", d_div_s},
    {"x < u", d_lt},
    {"x <= 1.5", d_le_s},
    {"1.5 < x", d_gt_s_rev},
    {"x >= u", d_ge},
    {"x == 1.5", d_eq_s},
    {"x != x", d_ne},
    {"sin(x)", d_sin},
    {"cos(x)", d_cos},
    {"tan(x)", d_tan},
    {"exp(x)", d_exp},
    {"log(x)", d_log},
    {"log1p(x)", d_log1p},
    {"expm1(x)", d_expm1},
    {"cbrt(u)", d_cbrt},
    {"atan(u)", d_atan},
    {"asin(x / 4)", d_asin},
    {"acos(x / 4)", d_acos},
    {"sinh(u)", d_sinh},
    {"cosh(u)", d_cosh},
    {"asinh(u)", d_asinh},
    {"softplus(u)", d_softplus},
    {"erf(u)", d_erf},
    {"atan2(x, u)", d_atan2},
    {"hypot(x, u)", d_hypot},
    {"atan2(-1, u)", d_atan2_s},
    {"tanh(x)", d_tanh},
    {"sigmoid(x)", d_sigmoid},
    {"relu(x - 1.6)", d_relu},
    {"sqrt(x)", d_sqrt},
    {"abs(u)", d_abs},
    {"square(u)", d_square},
    {"sign(u)", d_sign},
    {"detach(x)", d_detach},
    {"clone(x)", d_clone},
    {"maximum(x, u)", d_maximum},
    {"minimum(x, 1.6)", d_minimum_s},
    {"where(x > 1.6, x, u)", d_where},
    {"sum(x)", d_sum},
    {"sum(x, 1)", d_sum1},
    {"sum(x, axis=0, keepdims=1)", d_sum0k},
    {"sum(M, axis=[0, 2])", d_sum02},
    {"mean(M, axis=-1)", d_mean},
    {"prod(x, axis=1)", d_prod},
    {"max(x)", d_max},
    {"min(x, 0, true)", d_min},
    {"logsumexp(x, axis=[0, 1])", d_lse},
    {"var(x, axis=1, correction=0)", d_var},
    {"std(M)", d_std},
    {"softmax(x)", d_softmax},
    {"softmax(x, axis=0)", d_softmax0},
    {"log_softmax(x)", d_logsoftmax},
    {"cumsum(x, axis=1)", d_cumsum},
    {"cumprod(x)", d_cumprod},
    {"argmax(x)", d_argmax},
    {"argmax(x, axis=1)", d_argmax1},
    {"argmin(x, 1, keepdims=1)", d_argmin1k},
    {"dot(u, c)", d_dot},
    {"mv(A, u)", d_mv},
    {"A @ u", d_mv},
    {"matmul(A, u)", d_mv},
    {"mm(A, B)", d_mm},
    {"outer(u, c)", d_outer},
    {"cross(u, c)", d_cross},
    {"trace(A)", d_trace},
    {"norm(x)", d_norm},
    {"norm(x, 1, axis=1, keepdims=1)", d_norm1},
    {"norm(u, p=inf)", d_norminf},
    {"reshape(x, 3, 2)", d_reshape},
    {"reshape(M, [4, -1])", d_reshape_l},
    {"flatten(M)", d_flatten},
    {"T(x)", d_T},
    {"transpose(x)", d_T},
    {"transpose(M, 0, 2)", d_transpose},
    {"permute(M, 2, 0, 1)", d_permute},
    {"permute(M, [2, 0, 1])", d_permute},
    {"squeeze(unsqueeze(x, 1), 1)", d_squeeze},
    {"squeeze(unsqueeze(x, 0))", d_squeeze_all},
    {"unsqueeze(x, -1)", d_unsqueeze},
    {"expand(u, 2, 3)", d_expand},
    {"expand(unsqueeze(u, 1), [-1, 4])", d_expand_l},
    {"concat(x, x, axis=1)", d_concat},
    {"concat([x, x], axis=1)", d_concat},
    {"stack(u, c, u)", d_stack},
    {"stack([u, c, u])", d_stack},
    {"stack([u, c], axis=1)", d_stack1},
    {"index_select(x, 1, [2, 0])", d_index_select},
    {"gather(x, 1, [[0, 2], [1, 1]])", d_gather},
    {"x[0]", d_idx0},
    {"x[-1]", d_idxm1},
    {"w[1:3]", d_idx13},
    {"x[:, 0:2]", d_idx_cols},
    {"w[::2]", d_idx_step},
    {"w[::-1]", d_idx_rev},
    {"M[..., 1]", d_idx_ell},
    {"x[None, 1]", d_idx_new},
    {"M[1, ::-2, 1:]", d_idx_mix},
    {"M[1, ::-2, 1:None]", d_idx_mix},
    {"sum(100*(w[1:] - w[:-1]^2)^2 + (1 - w[:-1])^2)", d_rosen},
    {"u*A@u", d_prec_mat},
    {"[u[0], c[1]]", d_list_vars},
};

ParameterizedTestParameters(expr, every_operator_and_function_matches_the_library)
{
    TH_INDEX_PARAMS(TH_NELEMS(CASES));
}

ParameterizedTest(int *i, expr, every_operator_and_function_matches_the_library,
                  .description = "each operator, function and subscript gives what the library called directly gives")
{
    make_inputs();
    expect_same(CASES[*i].src, eval_ok(CASES[*i].src), CASES[*i].direct(g_in));
}

Test(expr, every_function_of_the_table_is_exercised,
     .description = "every function ad_expr_function lists appears in the comparison table or the creation tests")
{
    static const char *const creation[] = {"arange", "zeros", "ones", "rand", "randn", "full", "eye", "linspace",
                                           "tensor", "multinomial"};
    int n = 0;
    const char *sig;
    for (const char *name; (name = ad_expr_function(n, &sig)); n++) {
        cr_assert_not_null(sig);
        char call[64];
        snprintf(call, sizeof call, "%s(", name);
        cr_assert(strncmp(sig, call, strlen(call)) == 0, "signature of %s is \"%s\"", name, sig);
        bool found = false;
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0] && !found; i++)
            found = strstr(CASES[i].src, call) != NULL;
        for (size_t i = 0; i < sizeof creation / sizeof creation[0] && !found; i++)
            found = strcmp(creation[i], name) == 0;
        cr_assert(found, "function %s is not tested", name);
    }
    cr_assert_geq(n, 60);
    cr_assert_null(ad_expr_function(n, &sig));
    cr_assert_null(sig);
    cr_assert_null(ad_expr_function(-1, NULL));
    ad_expr_function(0, NULL); /* the signature pointer is optional */
}

Test(expr, signatures_for_help, .description = "the help texts show defaults: sum(x, axis=None, keepdims=0)")
{
    const char *sig = NULL;
    for (int i = 0; ad_expr_function(i, &sig); i++) {
        const char *name = ad_expr_function(i, NULL);
        if (strcmp(name, "sum") == 0) cr_assert_str_eq(sig, "sum(x, axis=None, keepdims=0)");
        if (strcmp(name, "norm") == 0) cr_assert_str_eq(sig, "norm(x, p=2, axis=None, keepdims=0)");
        if (strcmp(name, "softmax") == 0) cr_assert_str_eq(sig, "softmax(x, axis=-1)");
        if (strcmp(name, "cumsum") == 0) cr_assert_str_eq(sig, "cumsum(x, axis=0)");
    }
}

/* ---- precedence and associativity ---------------------------------------------- */

static double scalar_value(const char *src)
{
    ad_tensor *t = value_ok(src);
    cr_assert_eq(ad_ndim(t), 0, "\"%s\" has shape %s", src, th_shape(t));
    return ad_item(t);
}

static const struct {
    const char *src;
    double want;
} PRECEDENCE[] = {
    {"2^3^2", 512},     {"2**3**2", 512},    {"(2^3)^2", 64},  {"-2^2", -4},       {"(-2)^2", 4},
    {"-2**2", -4},      {"2^-1", 0.5},       {"-2^-2", -0.25}, {"1+2*3", 7},       {"(1+2)*3", 9},
    {"10-4-3", 3},      {"2/4/2", 0.25},     {"2*3^2", 18},    {"2^3*2", 16},      {"-3+5", 2},
    {"2*-1", -2},       {"1 - -1", 2},       {"--2", 2},       {"+-+2", -2},       {"1 < 2 + 1", 1},
    {"1 + 1 == 2", 1},  {"3 > 2 > 1", 0},    {"-3 < -2", 1},   {"2 <= 2", 1},      {"2 != 2", 0},
    {"pi", PI_},       {"e", E_},          {"true + true", 2}, {"false", 0},     {"2*pi/4", PI_ / 2},
    {"1e-3 * 1e3", 1},  {".5 + 2.", 2.5},    {"1.5e+2", 150},  {"sqrt(16) + 1", 5}, {"-(1+2)^2", -9},
};

ParameterizedTestParameters(expr, precedence_and_associativity)
{
    TH_INDEX_PARAMS(TH_NELEMS(PRECEDENCE));
}

ParameterizedTest(int *i, expr, precedence_and_associativity,
                  .description = "2^3^2 == 512, -2^2 == -4, 1+2*3 == 7, 10-4-3 == 3, ...")
{
    const char *src = PRECEDENCE[*i].src;
    double got = scalar_value(src), want = PRECEDENCE[*i].want;
    cr_assert(fabs(got - want) <= 1e-15 * fabs(want), "\"%s\" = %.17g, expected %.17g", src, got, want);
}

Test(expr, unary_minus_binds_looser_than_power_on_tensors, .description = "-x^2 is -(x^2) for tensors too")
{
    make_inputs();
    expect_same("-u^2", eval_ok("-u^2"), ad_neg(ad_pow_s(g_in[1], 2)));
    expect_same("-u^-u", eval_ok("-u^-u"), ad_neg(ad_pow(g_in[1], ad_neg(g_in[1]))));
    expect_same("u*2@A", eval_ok("u*2@A"), ad_matmul(ad_mul_s(g_in[1], 2), g_in[2]));
    expect_same("A@u*2", eval_ok("A@u*2"), ad_mul_s(ad_matmul(g_in[2], g_in[1]), 2));
    expect_same("u - c + u", eval_ok("u - c + u"), ad_add(ad_sub(g_in[1], g_in[4]), g_in[1]));
}

/* ---- the D2L examples as expressions ---------------------------------------------- */

Test(expr, d2l_two_dot_x_x_and_its_gradient,
     .description = "x = arange(4): 2*dot(x,x) == 28; backward gives x.grad == [0, 4, 8, 12]")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_expr_error err;
    ad_expr *e = ad_expr_parse("2*dot(x, x)", &err);
    cr_assert_not_null(e, "%s", err.msg);
    cr_assert_eq(ad_expr_nvars(e), 1);
    cr_assert_str_eq(ad_expr_var(e, 0), "x");
    ad_tensor *y = ad_expr_eval(ctx, e, &x, &err);
    th_expect(y, AD_SCALAR, TH_V(28), 0, 0);
    cr_assert_str_eq(ad_grad_fn_name(y), "MulBackward0");
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(0, 4, 8, 12), 0, 0);
    ad_expr_free(e);
}

Test(expr, d2l_sum_x_x_and_mean, .description = "sum(x*x) == 14 with grad 2x; mean(2*x) over arange(8) == 7")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_expr *e = ad_expr_parse("sum(x*x)", NULL);
    ad_tensor *y = ad_expr_eval(ctx, e, &x, NULL);
    th_expect(y, AD_SCALAR, TH_V(14), 0, 0);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK);
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(0, 2, 4, 6), 0, 0);
    ad_expr_free(e);

    ad_tensor *x8 = ad_arange_n(ctx, 8);
    ad_requires_grad_(x8, true);
    e = ad_expr_parse("mean(2*x)", NULL);
    y = ad_expr_eval(ctx, e, &x8, NULL);
    th_expect(y, AD_SCALAR, TH_V(7), 0, 1e-15);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK);
    th_expect(ad_grad(x8), AD_SHAPE(8), TH_V(.25, .25, .25, .25, .25, .25, .25, .25), 0, 0);
    ad_expr_free(e);
}

Test(expr, d2l_sum_axis_shapes, .description = "A = arange(24).reshape(2,3,4): sum(A, axis=[0,2]) has shape [3]")
{
    ad_tensor *A = ad_reshape(ad_arange_n(ctx, 24), AD_SHAPE(2, 3, 4));
    ad_expr *e = ad_expr_parse("sum(A, axis=[0, 2])", NULL);
    th_expect(ad_expr_eval(ctx, e, &A, NULL), AD_SHAPE(3), TH_V(60, 92, 124), 0, 0);
    ad_expr_free(e);
    e = ad_expr_parse("sum(A, axis=1)", NULL);
    cr_assert_str_eq(th_shape(ad_expr_eval(ctx, e, &A, NULL)), "[2,4]");
    ad_expr_free(e);
    e = ad_expr_parse("sum(A, axis=1, keepdims=true)", NULL);
    cr_assert_str_eq(th_shape(ad_expr_eval(ctx, e, &A, NULL)), "[2,1,4]");
    ad_expr_free(e);
    e = ad_expr_parse("A / sum(A, axis=1, keepdims=1)", NULL);
    ad_tensor *r = ad_expr_eval(ctx, e, &A, NULL);
    expect_same("A / sum(A, axis=1, keepdims=1)", r, ad_div(A, ad_sum(A, AD_AXES(1), true)));
    ad_expr_free(e);
}

static const struct {
    const char *src;
    ad_shape shape;
    double v[8];
} SUBSCRIPTS[] = {
    {"X[0]", AD_SHAPE(4), {0, 1, 2, 3}},
    {"X[-1]", AD_SHAPE(4), {8, 9, 10, 11}},
    {"X[1:3]", AD_SHAPE(2, 4), {4, 5, 6, 7, 8, 9, 10, 11}},
    {"X[:, 0:2]", AD_SHAPE(3, 2), {0, 1, 4, 5, 8, 9}},
    {"X[::2]", AD_SHAPE(2, 4), {0, 1, 2, 3, 8, 9, 10, 11}},
    {"X[1, 2]", AD_SCALAR, {6}},
    {"X[-1][-1]", AD_SCALAR, {11}},
    {"X[:2, -2:]", AD_SHAPE(2, 2), {2, 3, 6, 7}},
    {"X[2-1, 1+1]", AD_SCALAR, {6}},
};

ParameterizedTestParameters(expr, d2l_subscripts)
{
    TH_INDEX_PARAMS(TH_NELEMS(SUBSCRIPTS));
}

ParameterizedTest(int *i, expr, d2l_subscripts,
                  .description = "X = arange(12).reshape(3,4): X[-1], X[1:3], X[:, 0:2], X[::2]")
{
    ad_tensor *X = ad_reshape(ad_arange_n(ctx, 12), AD_SHAPE(3, 4));
    ad_expr *e = ad_expr_parse(SUBSCRIPTS[*i].src, NULL);
    cr_assert_not_null(e, "%s", SUBSCRIPTS[*i].src);
    th_expect(ad_expr_eval(ctx, e, &X, NULL), SUBSCRIPTS[*i].shape, SUBSCRIPTS[*i].v, 0, 0);
    ad_expr_free(e);
}

Test(expr, subscripts_are_views, .description = "x[1:3] shares storage with x, as ad_slice does")
{
    ad_tensor *x = ad_arange_n(ctx, 5);
    ad_expr *e = ad_expr_parse("x[1:3]", NULL);
    ad_tensor *v = ad_expr_eval(ctx, e, &x, NULL);
    cr_assert_eq(ad_storage_id(v), ad_storage_id(x));
    ad_expr_free(e);
}

/* ---- derivatives through expressions ------------------------------------------------- */

static ad_tensor *expr_f(ad_tensor *const *in, void *ud) { return ad_expr_fn(ctx, in, ud); }

static const char *const RULE_SOURCES[] = {
    "sum(sin(x)*x^2 + exp(-x^2))",
    "sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)",
    "logsumexp(x) - x[0]",
    "sum(tanh(reshape(x, 2, 3) @ [1, -2, 0.5]))",
    "norm(x, 3) + mean(x / (2 + x^2))",
    "2^x / (1 + x^2)",
};

ParameterizedTestParameters(expr, rules_through_expressions)
{
    TH_INDEX_PARAMS(TH_NELEMS(RULE_SOURCES));
}

ParameterizedTest(int *i, expr, rules_through_expressions,
                  .description = "JVP, VJP and HVP of expressions agree with differences (the ops are the library's)")
{
    ad_expr *e = ad_expr_parse(RULE_SOURCES[*i], NULL);
    cr_assert_not_null(e, "%s", RULE_SOURCES[*i]);
    ad_tensor *in[1] = {th_vals(AD_SHAPE(6), 0.3, 0.8)};
    th_check_rules_impl(expr_f, e, 1, in, 1e-6, true, RULE_SOURCES[*i], __FILE__, __LINE__);
    ad_expr_free(e);
}

Test(expr, every_backend_differentiates_an_expression,
     .description = "ad_expr_fn as an ad_fn: forward, reverse and central differences agree on the gradient")
{
    ad_expr *e = ad_expr_parse("sum(tanh(A @ x)) + 0.5*dot(x, x)", NULL);
    cr_assert_eq(ad_expr_nvars(e), 2);
    cr_assert_eq(ad_expr_var_index(e, "A"), 0);
    cr_assert_eq(ad_expr_var_index(e, "x"), 1);
    ad_tensor *in[2] = {th_vals(AD_SHAPE(3, 3), 0.1, 0.7), th_vals(AD_SHAPE(3), -0.3, 1.1)};
    bool wrt[2] = {false, true};
    ad_problem p = {.ctx = ctx, .f = ad_expr_fn, .user = e, .nin = 2, .in = in, .wrt = wrt};
    ad_tensor *gr[2] = {0}, *gf[2] = {0}, *gc[2] = {0};
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, NULL, gr, NULL, NULL), AD_OK, "%s",
                 ad_errmsg(ctx));
    cr_assert_eq(ad_value_and_grad(ad_backend_find("forward"), &p, NULL, NULL, gf, NULL, NULL), AD_OK);
    cr_assert_eq(ad_value_and_grad(ad_backend_find("central"), &p, NULL, NULL, gc, NULL, NULL), AD_OK);
    /* the analytic gradient: Aᵀ(1 - tanh²(Ax)) + x */
    ad_tensor *t = ad_tanh(ad_mv(in[0], in[1]));
    ad_tensor *want = ad_add(ad_mv(ad_T(in[0]), ad_rsub_s(1, ad_square(t))), in[1]);
    th_expect(gr[1], AD_SHAPE(3), th_values(want), 1e-14, 1e-14);
    th_expect(gf[1], AD_SHAPE(3), th_values(want), 1e-14, 1e-14);
    th_expect(gc[1], AD_SHAPE(3), th_values(want), 1e-7, 1e-7);
    cr_assert_eq(ad_expr_last_error(e).status, AD_OK);
    ad_expr_free(e);
}

Test(expr, forward_tangents_flow_through_expressions, .description = "a tangent on x reaches the result of x^3")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), (const double[]){1.5, -2});
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    cr_assert_eq(ad_set_tangent(x, ad_ones(ctx, AD_SHAPE(1, 2))), AD_OK);
    ad_expr *e = ad_expr_parse("x^3", NULL);
    ad_tensor *y = ad_expr_eval(ctx, e, &x, NULL);
    th_expect(ad_get_tangent(y), AD_SHAPE(2), TH_V(3 * 1.5 * 1.5, 12), 1e-14, 1e-14);
    ad_fwd_end(ctx);
    ad_expr_free(e);
}

Test(expr, last_error_of_ad_expr_fn, .description = "a failing ad_expr_fn keeps its error and position")
{
    ad_expr *e = ad_expr_parse("sum(x + y)", NULL);
    cr_assert_eq(ad_expr_last_error(e).status, AD_OK);
    ad_tensor *in[2] = {ad_ones(ctx, AD_SHAPE(2, 3)), ad_ones(ctx, AD_SHAPE(4))};
    int64_t before = live_tensors();
    cr_assert_null(ad_expr_fn(ctx, in, e));
    cr_assert_eq(live_tensors(), before);
    ad_expr_error le = ad_expr_last_error(e);
    cr_assert_eq(le.status, AD_ESHAPE);
    cr_assert_eq(le.pos, 6);
    cr_assert_eq(le.len, 1);
    cr_assert(strstr(le.msg, "[2,3]") && strstr(le.msg, "[4]"), "%s", le.msg);
    cr_assert_str_eq(ad_errmsg(ctx), le.msg);
    /* a success afterwards leaves the last failure readable */
    in[1] = ad_ones(ctx, AD_SHAPE(3));
    cr_assert_not_null(ad_expr_fn(ctx, in, e));
    cr_assert_eq(ad_expr_last_error(e).status, AD_ESHAPE);
    cr_assert_eq(ad_expr_last_error(NULL).status, AD_OK);
    ad_expr_free(e);
}

/* ---- VALUE expressions -------------------------------------------------------------- */

Test(expr, values_literals_and_creation, .description = "[[1,2],[3,4]], arange(4), ones(3,4), linspace(0,1,5), eye")
{
    th_expect(value_ok("[[1, 2], [3, 4]]"), AD_SHAPE(2, 2), TH_V(1, 2, 3, 4), 0, 0);
    th_expect(value_ok("[[-1.5, 2e-1]]"), AD_SHAPE(1, 2), TH_V(-1.5, 0.2), 0, 0);
    th_expect(value_ok("[[[1], [2]], [[3], [4]]]"), AD_SHAPE(2, 2, 1), TH_V(1, 2, 3, 4), 0, 0);
    th_expect(value_ok("[1, 2*3, -pi]"), AD_SHAPE(3), TH_V(1, 6, -PI_), 0, 0);
    th_expect(value_ok("[]"), AD_SHAPE(0), TH_V(0), 0, 0);
    th_expect(value_ok("[[], []]"), AD_SHAPE(2, 0), TH_V(0), 0, 0);
    th_expect(value_ok("3.5"), AD_SCALAR, TH_V(3.5), 0, 0);
    th_expect(value_ok("arange(4)"), AD_SHAPE(4), TH_V(0, 1, 2, 3), 0, 0);
    th_expect(value_ok("arange(1, 3)"), AD_SHAPE(2), TH_V(1, 2), 0, 0);
    th_expect(value_ok("arange(0, 1, 0.25)"), AD_SHAPE(4), TH_V(0, 0.25, 0.5, 0.75), 0, 0);
    th_expect(value_ok("arange(5, 0, -2)"), AD_SHAPE(3), TH_V(5, 3, 1), 0, 0);
    th_expect(value_ok("ones(3, 4)"), AD_SHAPE(3, 4), TH_V(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 0, 0);
    th_expect(value_ok("zeros([2, 1])"), AD_SHAPE(2, 1), TH_V(0, 0), 0, 0);
    th_expect(value_ok("zeros([])"), AD_SCALAR, TH_V(0), 0, 0);
    th_expect(value_ok("full(2, 2, value=7)"), AD_SHAPE(2, 2), TH_V(7, 7, 7, 7), 0, 0);
    th_expect(value_ok("full([3], -1.5)"), AD_SHAPE(3), TH_V(-1.5, -1.5, -1.5), 0, 0);
    th_expect(value_ok("linspace(0, 1, 5)"), AD_SHAPE(5), TH_V(0, 0.25, 0.5, 0.75, 1), 0, 0);
    th_expect(value_ok("eye(3)"), AD_SHAPE(3, 3), TH_V(1, 0, 0, 0, 1, 0, 0, 0, 1), 0, 0);
    th_expect(value_ok("eye(2, 3)"), AD_SHAPE(2, 3), TH_V(1, 0, 0, 0, 1, 0), 0, 0);
    th_expect(value_ok("tensor([[1, 2], [3, 4]])"), AD_SHAPE(2, 2), TH_V(1, 2, 3, 4), 0, 0);
    th_expect(value_ok("tensor(2)"), AD_SCALAR, TH_V(2), 0, 0);
    th_expect(value_ok("reshape(arange(6), 2, 3)[:, 1:]"), AD_SHAPE(2, 2), TH_V(1, 2, 4, 5), 0, 0);
    th_expect(value_ok("2*pi*arange(4)/4"), AD_SHAPE(4), TH_V(0, PI_ / 2, PI_, 3 * PI_ / 2), 1e-15, 1e-15);
    th_expect(value_ok("ones(1+1, 3-1)"), AD_SHAPE(2, 2), TH_V(1, 1, 1, 1), 0, 0);
    th_expect(value_ok("ones(sum([1, 1]))"), AD_SHAPE(2), TH_V(1, 1), 0, 0);
}

Test(expr, values_random_are_seeded, .description = "randn(3,4) and rand(5) repeat under the same seed")
{
    ad_ctx_seed(ctx, 1234);
    ad_tensor *a = value_ok("randn(3, 4)");
    ad_tensor *r1 = value_ok("rand(5)");
    ad_ctx_seed(ctx, 1234);
    ad_tensor *b = value_ok("randn([3, 4])");
    ad_tensor *r2 = value_ok("rand(5)");
    expect_same("randn(3,4) twice", a, b);
    expect_same("rand(5) twice", r1, r2);
    ad_ctx_seed(ctx, 1234);
    expect_same("randn vs ad_randn", a, ad_randn(ctx, AD_SHAPE(3, 4)));
    for (int i = 0; i < 5; i++) cr_assert(th_values(r1)[i] >= 0 && th_values(r1)[i] < 1);
    ad_ctx_seed(ctx, 99);
    ad_tensor *c = value_ok("randn(3, 4)");
    cr_assert(th_values(c)[0] != th_values(a)[0]);
}

Test(expr, values_multinomial_is_seeded, .description = "multinomial(probs, n) is ad_multinomial under the same seed")
{
    ad_ctx_seed(ctx, 1234);
    ad_tensor *a = value_ok("multinomial(ones(3, 6) / 6, 10)");
    ad_ctx_seed(ctx, 1234);
    expect_same("multinomial vs ad_multinomial", a,
                ad_multinomial(ctx, ad_div_s(ad_ones(ctx, AD_SHAPE(3, 6)), 6), 10));
}

Test(expr, values_record_nothing, .description = "a VALUE is evaluated with grad mode off and leaves grad mode as it was")
{
    ad_tape_stats before, after;
    ad_tape_reset_counter(ctx);
    ad_tape_stats_get(ctx, &before);
    ad_tensor *t = value_ok("sum(ones(3) * 2)");
    ad_tape_stats_get(ctx, &after);
    cr_assert_eq(after.recorded, before.recorded);
    cr_assert_null(ad_grad_fn_name(t));
    cr_assert(!ad_requires_grad(t));
    cr_assert(ad_is_grad_enabled(ctx));
    ad_set_grad_enabled(ctx, false);
    value_ok("1");
    cr_assert(!ad_is_grad_enabled(ctx));
    ad_set_grad_enabled(ctx, true);
}

Test(expr, values_cannot_refer_to_variables, .description = "ad_expr_value names the first variable at its position")
{
    ad_expr_error err;
    cr_assert_null(ad_expr_value(ctx, "ones(3) + 2*y + x", &err));
    cr_assert_eq(err.status, AD_ENOTFOUND);
    cr_assert_str_eq(err.msg, "unknown name 'y' (values cannot refer to variables)");
    cr_assert_eq(err.pos, 12);
    cr_assert_eq(err.len, 1);
    cr_assert_eq(ad_errno(ctx), AD_ENOTFOUND);
    /* parse errors of values are recorded in the context too */
    cr_assert_null(ad_expr_value(ctx, "ones(3", &err));
    cr_assert_eq(ad_errno(ctx), AD_ESYNTAX);
    cr_assert_null(ad_expr_value(NULL, "1", &err));
    cr_assert_eq(err.status, AD_EINVAL);
}

/* ---- variables -------------------------------------------------------------------- */

Test(expr, variables_in_order_of_first_appearance,
     .description = "names that are neither functions nor constants, first appearance first")
{
    ad_expr *e = ad_expr_parse("b*a + sum(c*b, axis=0) + pi*e - true + inf_x", NULL);
    cr_assert_eq(ad_expr_nvars(e), 4);
    cr_assert_str_eq(ad_expr_var(e, 0), "b");
    cr_assert_str_eq(ad_expr_var(e, 1), "a");
    cr_assert_str_eq(ad_expr_var(e, 2), "c");
    cr_assert_str_eq(ad_expr_var(e, 3), "inf_x");
    cr_assert_null(ad_expr_var(e, 4));
    cr_assert_null(ad_expr_var(e, -1));
    cr_assert_eq(ad_expr_var_index(e, "c"), 2);
    cr_assert_eq(ad_expr_var_index(e, "pi"), -1);
    cr_assert_eq(ad_expr_var_index(e, "sum"), -1);
    cr_assert_eq(ad_expr_var_index(e, NULL), -1);
    cr_assert_str_eq(ad_expr_source(e), "b*a + sum(c*b, axis=0) + pi*e - true + inf_x");
    ad_expr_free(e);
    ad_expr_free(NULL);
    cr_assert_eq(ad_expr_nvars(NULL), 0);
    cr_assert_null(ad_expr_source(NULL));
}

Test(expr, missing_values_are_errors, .description = "evaluating without a value for a variable names it")
{
    ad_expr *e = ad_expr_parse("x + y", NULL);
    ad_tensor *vals[2] = {ad_ones(ctx, AD_SHAPE(2)), NULL};
    ad_expr_error err;
    cr_assert_null(ad_expr_eval(ctx, e, vals, &err));
    cr_assert_eq(err.status, AD_EINVAL);
    cr_assert_eq(err.pos, 4);
    cr_assert(strstr(err.msg, "'y'"), "%s", err.msg);
    cr_assert_null(ad_expr_eval(ctx, e, NULL, &err));
    cr_assert_eq(err.pos, 0);
    cr_assert_null(ad_expr_eval(ctx, NULL, vals, &err));
    cr_assert_eq(err.status, AD_EINVAL);
    cr_assert_null(ad_expr_eval(NULL, e, vals, NULL));
    ad_ctx *other = ad_ctx_new();
    ad_tensor *foreign[2] = {vals[0], ad_ones(other, AD_SHAPE(2))};
    cr_assert_null(ad_expr_eval(ctx, e, foreign, &err));
    cr_assert(strstr(err.msg, "another context"), "%s", err.msg);
    ad_tensor_free(foreign[1]);
    ad_ctx_free(other);
    ad_expr_free(e);
}

/* ---- malformed expressions ---------------------------------------------------------- */

typedef struct {
    const char *src;
    int status, pos, len;
} bad_t;

static const bad_t BAD[] = {
    {"", AD_ESYNTAX, 0, 1},
    {"   ", AD_ESYNTAX, 3, 1},
    {"1 +", AD_ESYNTAX, 3, 1},
    {"x )", AD_ESYNTAX, 2, 1},
    {"(x", AD_ESYNTAX, 0, 1},
    {"x)", AD_ESYNTAX, 1, 1},
    {"(x))", AD_ESYNTAX, 3, 1},
    {"*", AD_ESYNTAX, 0, 1},
    {"+", AD_ESYNTAX, 1, 1},
    {"x ^", AD_ESYNTAX, 3, 1},
    {"x ** * 2", AD_ESYNTAX, 5, 1},
    {"x[", AD_ESYNTAX, 1, 1},
    {"x[1:2", AD_ESYNTAX, 1, 1},
    {"[", AD_ESYNTAX, 0, 1},
    {"[1, 2", AD_ESYNTAX, 0, 1},
    {"[1 2]", AD_ESYNTAX, 3, 1},
    {"sin(x", AD_ESYNTAX, 3, 1},
    {"sin(,)", AD_ESYNTAX, 4, 1},
    {"sum(x,)", AD_ESYNTAX, 6, 1},
    {"sum(x axis=1)", AD_ESYNTAX, 6, 4},
    {"x[1:2:3:4]", AD_ESYNTAX, 7, 1},
    {"x[::0:]", AD_ESYNTAX, 5, 1},
    {"x[]", AD_ESYNTAX, 2, 1},
    {"x[1,]", AD_ESYNTAX, 4, 1},
    {"x[None None]", AD_ESYNTAX, 7, 4},
    {"x[...:1]", AD_ESYNTAX, 5, 1},
    {"...", AD_ESYNTAX, 0, 3},
    {"2 3", AD_ESYNTAX, 2, 1},
    {"x y", AD_ESYNTAX, 2, 1},
    {"2 (3)", AD_ESYNTAX, 2, 1},
    {"sin(x)(y)", AD_ESYNTAX, 6, 1},
    {"1e400", AD_ESYNTAX, 0, 5},
    {"-1e999 + x", AD_ESYNTAX, 1, 5},
    {"2x", AD_ESYNTAX, 0, 2},
    {"1e", AD_ESYNTAX, 0, 2},
    {"1..2", AD_ESYNTAX, 0, 4},
    {"x = 1", AD_ESYNTAX, 2, 1},
    {"= 1", AD_ESYNTAX, 0, 1},
    {"x == = 1", AD_ESYNTAX, 5, 1},
    {"x ! y", AD_ESYNTAX, 2, 1},
    {"x # 1", AD_ESYNTAX, 2, 1},
    {"x . y", AD_ESYNTAX, 2, 1},
    {"x\x01", AD_ESYNTAX, 1, 1},
    {"x + \xc3\xa9", AD_ESYNTAX, 4, 2},
    {"sum(x, axis=1, 2)", AD_ESYNTAX, 15, 1},
    {"transpose(x, axis0=1, 2)", AD_ESYNTAX, 22, 1},
    {"sum(x, axis=1, axis=2)", AD_ESYNTAX, 15, 4},
    {"sum(x, 1, axis=1)", AD_ESYNTAX, 10, 4},
    {"sum(x, 1, 0, 0)", AD_ESYNTAX, 0, 15},
    {"sum()", AD_ESYNTAX, 0, 5},
    {"where(x, y)", AD_ESYNTAX, 0, 11},
    {"sum(x, axes=1)", AD_ESYNTAX, 7, 4},
    {"sine(x)", AD_ENOTFOUND, 0, 4},
    {"pi(2)", AD_ENOTFOUND, 0, 2},
    {"x + f(1)", AD_ENOTFOUND, 4, 1},
    {"sum", AD_ESYNTAX, 0, 3},
    {"1 + exp", AD_ESYNTAX, 4, 3},
    {"None + 1", AD_ESYNTAX, 0, 4},
    {"-None", AD_ESYNTAX, 1, 4},
    {"[None]", AD_ESYNTAX, 1, 4},
    {"x[None][None + 1]", AD_ESYNTAX, 8, 4},
    {"[[1, 2], [3]]", AD_ESHAPE, 9, 3},
    {"[[1, 2], 3]", AD_ESHAPE, 9, 1},
    {"[1, [2]]", AD_ESHAPE, 4, 3},
    {"[[[1, 2]], [[1]]]", AD_ESHAPE, 11, 5},
    {"sum([[1], [2, 3]])", AD_ESHAPE, 10, 6},
    {"[[[[[[[[[[[[[1]]]]]]]]]]]]]", AD_ESHAPE, 0, 1},
};

ParameterizedTestParameters(expr, malformed_expressions_fail_at_their_position)
{
    TH_INDEX_PARAMS(TH_NELEMS(BAD));
}

ParameterizedTest(int *i, expr, malformed_expressions_fail_at_their_position,
                  .description = "a table of malformed inputs: each fails with its status, position and length")
{
    const bad_t *b = &BAD[*i];
    ad_expr_error err;
    ad_expr *e = ad_expr_parse(b->src, &err);
    cr_assert_null(e, "\"%s\" parsed", b->src);
    cr_assert_eq(err.status, b->status, "\"%s\": status %d (%s), expected %d", b->src, err.status, err.msg, b->status);
    cr_assert(err.pos == b->pos && err.len == b->len, "\"%s\": at %d+%d (%s), expected %d+%d", b->src, err.pos,
              err.len, err.msg, b->pos, b->len);
    cr_assert(err.msg[0], "\"%s\": no message", b->src);
}

Test(expr, malformed_table_and_null_source,
     .description = "the table covers 40 inputs; NULL is AD_EINVAL; err is optional")
{
    cr_assert_geq(TH_NELEMS(BAD), 40);
    ad_expr_error err;
    cr_assert_null(ad_expr_parse(NULL, &err));
    cr_assert_eq(err.status, AD_EINVAL);
    cr_assert_eq(err.pos, -1);
    cr_assert_null(ad_expr_parse("(", NULL)); /* err is optional */
}

static void expect_format(const char *src, const char *want)
{
    ad_expr_error err;
    cr_assert_null(ad_expr_parse(src, &err), "\"%s\" parsed", src);
    char buf[1024];
    int n = ad_expr_format_error(buf, sizeof buf, src, &err);
    cr_assert_eq(n, (int)strlen(want), "\"%s\": length %d, expected %zu:\n%s", src, n, strlen(want), buf);
    cr_assert_str_eq(buf, want);
}

Test(expr, formatted_messages_with_carets, .description = "the reason, the source indented by two, carets under it")
{
    expect_format("sum(x,)", "unexpected ')'\n  sum(x,)\n        ^\n");
    expect_format("2 3", "unexpected number '3' (missing operator?)\n  2 3\n    ^\n");
    expect_format("sine(x) + 1", "unknown function 'sine' (did you mean 'sin'?)\n  sine(x) + 1\n  ^^^^\n");
    expect_format("(x + 1", "'(' was never closed\n  (x + 1\n  ^\n");
    expect_format("1 +", "unexpected end of expression\n  1 +\n     ^\n");
    expect_format("[[1, 2], [3]]",
                  "ragged list: a list of shape [1] where a list of shape [2] was expected\n  [[1, 2], [3]]\n"
                  "           ^^^\n");
    expect_format("sum(x, keepdim=1)",
                  "sum: unknown argument 'keepdim' (did you mean 'keepdims'?)\n  sum(x, keepdim=1)\n"
                  "         ^^^^^^^\n");
    expect_format("x\t+\x01", "unexpected control character 0x01\n  x +?\n     ^\n");
}

static const struct {
    const char *src;
    int status, pos, len;
    const char *needle;
} EVAL_ERRORS[] = {
    {"x + w", AD_ESHAPE, 2, 1, "[2,3]"},
    {"sum(x) * (x @ w)", AD_ESHAPE, 12, 1, "[4]"},
    {"1 + dot(u, w)", AD_ESHAPE, 4, 9, "dot"},
    {"sum(x, axis=5)", AD_EAXIS, 0, 14, "5"},
    {"sum(x, axis=1.5)", AD_EINVAL, 12, 3, "axis must be an integer"},
    {"sum(x, axis=[0, 7])", AD_EAXIS, 0, 19, "7"},
    {"sum(x, axis=[[0]])", AD_EINVAL, 12, 5, "[1,1]"},
    {"softmax(x, axis=None)", AD_EINVAL, 16, 4, "None"},
    {"x[7]", AD_EINDEX, 1, 3, "7"},
    {"x[0.5]", AD_EINVAL, 2, 3, "index must be an integer"},
    {"x[u]", AD_EINDEX, 2, 1, "[3]"},
    {"w[1:2.5]", AD_EINVAL, 4, 3, "stop"},
    {"reshape(x, 4, 2)", AD_ESHAPE, 0, 16, "[2,3]"},
    {"reshape(x, 2, 1.5)", AD_EINVAL, 14, 3, "size"},
    {"reshape(x)", AD_EINVAL, 0, 10, "missing the new shape"},
    {"transpose(x, 0)", AD_EINVAL, 0, 15, "both axes"},
    {"ones(2.5)", AD_EINVAL, 5, 3, "size must be an integer"},
    {"ones(-1)", AD_ESIZE, 5, 2, "non-negative"},
    {"ones(u)", AD_EINVAL, 5, 1, "size must be an integer"},
    {"ones(A)", AD_EINVAL, 5, 1, "[3,3]"},
    {"full(2, 3)", AD_EINVAL, 0, 10, "missing the value"},
    {"concat(x, w)", AD_ESHAPE, 0, 12, "concat"},
    {"[x, w]", AD_ESHAPE, 0, 6, "stack"},
    {"index_select(x, 1, [0, 1.5])", AD_EINVAL, 19, 8, "index must be an integer"},
    {"index_select(x, 1, [0, 9])", AD_EINDEX, 0, 26, "9"},
    {"cross(u, w)", AD_ESHAPE, 0, 11, "cross"},
    {"sum(x, keepdims=None) + log(None)", AD_EINVAL, 28, 4, "None is not a tensor"},
    {"arange(0, 1, 0)", AD_EINVAL, 0, 15, "step"},
    {"linspace(0, 1, -3)", AD_ESIZE, 15, 2, "non-negative"},
    {"arange(inf)", AD_EINVAL, 7, 3, "finite"},
    {"x[2^52]", AD_EINDEX, 1, 6, "index"},
    {"x[2^60 * 1e9]", AD_ELIMIT, 2, 10, "too large"},
    {"norm(x, axis=[0, 0])", AD_EAXIS, 0, 20, "axis"},
    {"A @ B @ A", AD_ESHAPE, 6, 1, "[3,2]"},
    {"u @ 2", AD_ESHAPE, 2, 1, "matmul"},
};

ParameterizedTestParameters(expr, evaluation_errors_point_at_the_failing_part)
{
    TH_INDEX_PARAMS(TH_NELEMS(EVAL_ERRORS));
}

ParameterizedTest(int *i, expr, evaluation_errors_point_at_the_failing_part,
                  .description = "a failing op points at its operator or call, a bad argument at the argument")
{
    make_inputs();
    const char *src = EVAL_ERRORS[*i].src;
    int64_t before = live_tensors();
    ad_expr_error err;
    ad_clear_error(ctx);
    cr_assert_null(run_named(src, &err), "\"%s\" succeeded", src);
    cr_assert_eq(live_tensors(), before, "\"%s\" leaked %lld tensors", src, (long long)(live_tensors() - before));
    cr_assert_eq(err.status, EVAL_ERRORS[*i].status, "\"%s\": status %d (%s), expected %d", src, err.status, err.msg,
                 EVAL_ERRORS[*i].status);
    cr_assert(err.pos == EVAL_ERRORS[*i].pos && err.len == EVAL_ERRORS[*i].len, "\"%s\": at %d+%d (%s), expected %d+%d",
              src, err.pos, err.len, err.msg, EVAL_ERRORS[*i].pos, EVAL_ERRORS[*i].len);
    cr_assert(strstr(err.msg, EVAL_ERRORS[*i].needle), "\"%s\": message \"%s\" lacks \"%s\"", src, err.msg,
              EVAL_ERRORS[*i].needle);
    cr_assert_eq(ad_errno(ctx), err.status, "\"%s\": the context has status %d", src, ad_errno(ctx));
}

static const struct {
    const char *src;
    const char *needle;
} MESSAGES[] = {
        {"sum(x, 1, 0, 0)", "sum: too many arguments (4 given, at most 3); usage: sum(x, axis=None, keepdims=0)"},
        {"sum()", "sum: missing argument 'x'; usage: sum(x, axis=None, keepdims=0)"},
        {"sum(x, 1, axis=1)", "sum: argument 'axis' given twice"},
        {"sum(x, axis=1, 2)", "sum: positional argument after a named argument"},
        {"sum(x, foo=1)", "sum: unknown argument 'foo'; usage: sum(x, axis=None, keepdims=0)"},
        {"1 + exp", "'exp' is a function: call it as exp(x)"},
        {"sofmax(x)", "unknown function 'sofmax' (did you mean 'softmax'?)"},
        {"lgo(x)", "unknown function 'lgo' (did you mean 'log'?)"},
        {"cumsun(x)", "unknown function 'cumsun' (did you mean 'cumsum'?)"},
        {"Sin(x)", "unknown function 'Sin' (did you mean 'sin'?)"},
        {"xyzzy(x)", "unknown function 'xyzzy'"},
        {"f(x)", "unknown function 'f'"},
        {"x[1:2:3:4]", "a slice has at most two ':'"},
        {"x[", "'[' was never closed"},
        {"2x", "malformed number '2x' (use * to multiply)"},
        {"1e400", "number '1e400' is out of range"},
        {"x ! y", "use != to compare"},
};

ParameterizedTestParameters(expr, error_messages_name_the_problem)
{
    TH_INDEX_PARAMS(TH_NELEMS(MESSAGES));
}

ParameterizedTest(int *i, expr, error_messages_name_the_problem,
                  .description = "arity, argument names and function-as-value messages")
{
    ad_expr_error err;
    cr_assert_null(ad_expr_parse(MESSAGES[*i].src, &err), "\"%s\" parsed", MESSAGES[*i].src);
    cr_assert(strstr(err.msg, MESSAGES[*i].needle), "\"%s\": \"%s\" lacks \"%s\"", MESSAGES[*i].src, err.msg,
              MESSAGES[*i].needle);
}

Test(expr, no_suggestion_replaces_the_whole_name, .description = "f(x): unknown function 'f', no 'did you mean'")
{
    ad_expr_error err;
    ad_expr_parse("f(x)", &err);
    cr_assert_null(strstr(err.msg, "did you mean"), "%s", err.msg);
}

/* ---- limits ----------------------------------------------------------------------- */

static char *repeat(const char *head, const char *unit, int n, const char *mid, const char *tail, int m)
{
    size_t lu = strlen(unit), lt = strlen(tail);
    char *s = malloc(strlen(head) + lu * (size_t)n + strlen(mid) + lt * (size_t)m + 1);
    cr_assert_not_null(s);
    char *p = s;
    p += sprintf(p, "%s", head);
    for (int i = 0; i < n; i++, p += lu) memcpy(p, unit, lu);
    p += sprintf(p, "%s", mid);
    for (int i = 0; i < m; i++, p += lt) memcpy(p, tail, lt);
    *p = '\0';
    return s;
}

/* the error is at the bracket (or sign, or exponent) 257 levels in */
static const struct {
    const char *unit, *mid, *tail;
    int offset;
} NESTING[] = {
    {"(", "x", ")", 0}, {"[", "1", "]", 0}, {"sin(", "x", ")", 3},
    {"-", "x", "", 0},  {"x[", "0", "]", 1}, {"2^", "x", "", 2},
};

ParameterizedTestParameters(expr, deep_nesting_fails_cleanly)
{
    TH_INDEX_PARAMS(TH_NELEMS(NESTING));
}

ParameterizedTest(int *i, expr, deep_nesting_fails_cleanly,
                  .description = "100000 '(' give AD_ELIMIT at the 257th, without recursion")
{
    const char *unit = NESTING[*i].unit;
    int n = 100000 / (int)strlen(unit) / 2;
    char *src = repeat("", unit, n, NESTING[*i].mid, NESTING[*i].tail, n);
    if (strlen(src) > AD_EXPR_MAX_SOURCE) src[AD_EXPR_MAX_SOURCE] = '\0';
    ad_expr_error err;
    cr_assert_null(ad_expr_parse(src, &err));
    cr_assert_eq(err.status, AD_ELIMIT, "%s...: %s", unit, err.msg);
    cr_assert(strstr(err.msg, "nested deeper than 256"), "%s", err.msg);
    cr_assert_eq(err.pos, AD_EXPR_MAX_DEPTH * (int)strlen(unit) + NESTING[*i].offset, "%s...: at %d", unit, err.pos);
    free(src);
}

Test(expr, nesting_at_the_limit_is_fine, .description = "256 nested brackets parse and evaluate")
{
    char *ok = repeat("", "(", AD_EXPR_MAX_DEPTH, "x", ")", AD_EXPR_MAX_DEPTH);
    ad_expr *e = ad_expr_parse(ok, NULL);
    cr_assert_not_null(e);
    ad_tensor *x = ad_scalar(ctx, 2);
    th_expect(ad_expr_eval(ctx, e, &x, NULL), AD_SCALAR, TH_V(2), 0, 0);
    ad_expr_free(e);
    free(ok);
}

Test(expr, long_chains_evaluate_without_recursion,
     .description = "x+x+...+x with 20000 terms: left-deep, parsed by the loop and evaluated by the stack machine")
{
    char *src = repeat("x", "+x", 19999, "", "", 0);
    ad_expr *e = ad_expr_parse(src, NULL);
    cr_assert_not_null(e);
    ad_tensor *x = ad_arange_n(ctx, 3);
    ad_requires_grad_(x, true);
    int64_t before = live_tensors();
    ad_tensor *y = ad_expr_eval(ctx, e, &x, NULL);
    cr_assert_eq(live_tensors(), before + 1, "only the result survives");
    th_expect(y, AD_SHAPE(3), TH_V(0, 20000, 40000), 0, 0);
    cr_assert_eq(ad_backward(ad_sum_all(y), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(3), TH_V(20000, 20000, 20000), 0, 0);
    ad_expr_free(e);
    free(src);
    /* and a wide list literal */
    src = repeat("[1", ",1", 20000, "]", "", 0);
    th_expect(ad_sum_all(value_ok(src)), AD_SCALAR, TH_V(20001), 0, 0);
    free(src);
}

Test(expr, long_source_is_refused, .description = "more than AD_EXPR_MAX_SOURCE bytes: AD_ELIMIT at the limit")
{
    char *src = repeat("10", "+1", AD_EXPR_MAX_SOURCE / 2, "", "", 0); /* 2 bytes too long */
    ad_expr_error err;
    cr_assert_null(ad_expr_parse(src, &err));
    cr_assert_eq(err.status, AD_ELIMIT);
    cr_assert_eq(err.pos, AD_EXPR_MAX_SOURCE);
    cr_assert(strstr(err.msg, "65536"), "%s", err.msg);
    char buf[512];
    ad_expr_format_error(buf, sizeof buf, src, &err);
    cr_assert(strstr(buf, "\n  ...+1+1"), "%s", buf);
    src[AD_EXPR_MAX_SOURCE] = '\0'; /* exactly at the limit */
    ad_expr *e = ad_expr_parse(src, &err);
    cr_assert_not_null(e, "%s", err.msg);
    th_expect(ad_expr_eval(ctx, e, NULL, NULL), AD_SCALAR, TH_V(10 + AD_EXPR_MAX_SOURCE / 2 - 1), 0, 0);
    ad_expr_free(e);
    free(src);
}

static const struct {
    const char *src, *needle;
} HUGE_SIZES[] = {
        {"ones(1e6, 1e6)", "[1000000,1000000]"},
        {"zeros([100000, 100000, 10])", "[100000,100000,10]"},
        {"randn(1e5, 1e5)", "[100000,100000]"},
        {"rand(1e9)", "[1000000000]"},
        {"full(1e5, 1e4, value=1)", "[100000,10000]"},
        {"eye(1e5)", "[100000,100000]"},
        {"eye(10, 1e8)", "[10,100000000]"},
        {"linspace(0, 1, 1e12)", "[1000000000000]"},
        {"arange(1e12)", "[1000000000000]"},
        {"arange(0, 1, 1e-9)", "[100000000"},
        {"expand(ones(1), 1e5, 1e5)", "[100000,100000]"},
        {"ones(2^52, 2^52)", "elements"},
};

ParameterizedTestParameters(expr, huge_sizes_are_refused_before_allocating)
{
    TH_INDEX_PARAMS(TH_NELEMS(HUGE_SIZES));
}

ParameterizedTest(int *i, expr, huge_sizes_are_refused_before_allocating,
                  .description = "creation functions over AD_EXPR_MAX_ELEMENTS elements: AD_ELIMIT naming the shape")
{
    const char *src = HUGE_SIZES[*i].src;
    ad_mem_stats m0, m1;
    ad_ctx_mem_stats(ctx, &m0);
    ad_expr_error err;
    cr_assert_null(ad_expr_value(ctx, src, &err), "%s", src);
    ad_ctx_mem_stats(ctx, &m1);
    cr_assert_eq(err.status, AD_ELIMIT, "%s: %s", src, err.msg);
    cr_assert(strstr(err.msg, HUGE_SIZES[*i].needle), "%s: %s", src, err.msg);
    cr_assert_eq(err.pos, 0);
    cr_assert_lt(m1.peak[AD_MEM_VALUES] - m0.peak[AD_MEM_VALUES], 1024, "%s allocated", src);
}

Test(expr, huge_size_points_at_the_size, .description = "ones(3, 2^62) fails at the size itself; zero sizes are fine")
{
    ad_expr_error err;
    cr_assert_null(ad_expr_value(ctx, "ones(3, 2^62)", &err));
    cr_assert_eq(err.status, AD_ELIMIT);
    cr_assert_eq(err.pos, 8, "at the size itself");
    cr_assert(strstr(err.msg, "too large"), "%s", err.msg);
    /* at the limit's edge, sizes of zero are fine */
    th_expect(value_ok("ones(0, 1e9)"), AD_SHAPE(0, 1000000000), TH_V(0), 0, 0);
}

/* ---- the caret display ---------------------------------------------------------------- */

/* The column of the first '^' on the caret line, and the character above it. */
static void caret_check(const char *src, int pos, int len, char above)
{
    ad_expr_error err = {.status = AD_ESYNTAX, .pos = pos, .len = len};
    snprintf(err.msg, sizeof err.msg, "test");
    char buf[1024];
    int n = ad_expr_format_error(buf, sizeof buf, src, &err);
    cr_assert_eq(n, (int)strlen(buf));
    char *l1 = strchr(buf, '\n') + 1, *l2 = strchr(l1, '\n') + 1;
    cr_assert_eq(strchr(l2, '\n')[1], '\0', "three lines: %s", buf);
    int w1 = (int)(strchr(l1, '\n') - l1);
    cr_assert_leq(w1, 2 + 70, "source line of %d columns:\n%s", w1, buf);
    int col = (int)(strchr(l2, '^') - l2);
    cr_assert_eq(l1[col], above, "caret under '%c', expected '%c':\n%s", l1[col], above, buf);
    int carets = (int)strspn(l2 + col, "^");
    cr_assert_geq(carets, 1);
    cr_assert_leq(carets, len < 1 ? 1 : len);
}

Test(expr, long_sources_show_a_window, .description = "a window of about 70 characters with '...', caret aligned")
{
    char src[400];
    for (int i = 0; i < 399; i++) src[i] = (char)('a' + i % 26);
    src[399] = '\0';
    caret_check(src, 0, 1, 'a');
    caret_check(src, 5, 3, 'f');
    caret_check(src, 200, 1, src[200]);
    caret_check(src, 397, 2, src[397]);
    caret_check(src, 398, 1, src[398]);
    caret_check(src, 150, 200, src[150]); /* a long span is cut at the window */
    char buf[1024];
    ad_expr_error err = {.status = AD_ESYNTAX, .pos = 200, .len = 1};
    ad_expr_format_error(buf, sizeof buf, src, &err);
    cr_assert(strstr(buf, "  ...") && strstr(buf, "...\n"), "%s", buf);
    /* the end of the source (an unexpected end) is right after the last character */
    err.pos = 399;
    ad_expr_format_error(buf, sizeof buf, src, &err);
    char *l2 = strchr(strchr(buf, '\n') + 1, '\n') + 1;
    char *l1 = strchr(buf, '\n') + 1;
    cr_assert_eq(strchr(l2, '^') - l2, strchr(l1, '\n') - l1, "%s", buf);
    /* short sources are shown whole */
    caret_check("sum(x) + y", 9, 1, 'y');
}

Test(expr, format_error_is_safe, .description = "snprintf contract, non-printables as '?', no position, no source")
{
    ad_expr_error err = {.status = AD_ESYNTAX, .pos = 2, .len = 1};
    snprintf(err.msg, sizeof err.msg, "bad \x7f thing");
    char buf[64];
    int n = ad_expr_format_error(buf, sizeof buf, "a\x1b\xff\n", &err);
    cr_assert_str_eq(buf, "bad ? thing\n  a?? \n    ^\n");
    cr_assert_eq(n, (int)strlen(buf));
    char small[8];
    int need = ad_expr_format_error(small, sizeof small, "a\x1b\xff\n", &err);
    cr_assert_eq(need, n);
    cr_assert_str_eq(small, "bad ? t");
    cr_assert_eq(ad_expr_format_error(NULL, 0, "x", &err), 21, "with source \"x\"");
    err.pos = -1;
    cr_assert_eq(ad_expr_format_error(buf, sizeof buf, "abc", &err), 12);
    cr_assert_str_eq(buf, "bad ? thing\n");
    err.pos = 1;
    ad_expr_format_error(buf, sizeof buf, NULL, &err);
    cr_assert_str_eq(buf, "bad ? thing\n");
    err.pos = 1000; /* beyond the source: caret after it */
    ad_expr_format_error(buf, sizeof buf, "ab", &err);
    cr_assert_str_eq(buf, "bad ? thing\n  ab\n    ^\n");
    ad_expr_format_error(buf, sizeof buf, "ab", NULL);
    cr_assert_str_eq(buf, "(no error)\n");
}

/* ---- robustness ----------------------------------------------------------------------- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static void ap(char *buf, size_t cap, const char *str)
{
    size_t n = strlen(buf);
    if (n + strlen(str) < cap) strcat(buf, str);
}

/* A random expression over the grammar, mostly well formed. */
static void gen(char *buf, size_t cap, int depth)
{
    static const char *const LEAF[] = {"x", "y", "2", "0.5", "-1", "3", "1e2", "pi", "[1, 2, 3]", "[[1, 2], [3, 4]]",
                                       "y[0]", "true"};
    static const char *const OP[] = {" + ", " - ", " * ", " / ", " @ ", "^", " ** ", " < ", " == ", " >= "};
    static const char *const F1[] = {"sin(", "exp(", "log(", "sqrt(", "abs(", "tanh(", "relu(", "sum(", "mean(",
                                     "flatten(", "T(", "softmax(", "cumsum(", "argmax(", "detach(", "norm(",
                                     "transpose(", "squeeze(", "logsumexp(", "max(", "var(", "tensor("};
    static const char *const TAIL[] = {")", ", axis=0)", ", axis=-1, keepdims=1)", ", 1)", ", axis=[0, 1])",
                                       ", inf)", ", None)"};
    static const char *const SUB[] = {"[0]", "[-1]", "[1:]", "[::2]", "[:, 0]", "[None]", "[..., 1]", "[::-1, 1:3]",
                                      "[5]", "[0, 0, 0]"};
    unsigned k = depth <= 0 ? 0 : rnd() % 8;
    switch (k) {
    case 0: ap(buf, cap, LEAF[rnd() % 12]); break;
    case 1:
        ap(buf, cap, rnd() % 2 ? "-" : "(");
        gen(buf, cap, depth - 1);
        if (buf[0] && strchr(buf, '(')) ap(buf, cap, rnd() % 4 ? "" : ")");
        break;
    case 2:
    case 3:
        gen(buf, cap, depth - 1);
        ap(buf, cap, OP[rnd() % 10]);
        gen(buf, cap, depth - 1);
        break;
    case 4:
    case 5:
        ap(buf, cap, F1[rnd() % 22]);
        gen(buf, cap, depth - 1);
        ap(buf, cap, TAIL[rnd() % 7]);
        break;
    case 6:
        gen(buf, cap, depth - 1);
        ap(buf, cap, SUB[rnd() % 10]);
        break;
    default: {
        static const char *const F2[] = {"dot(", "maximum(", "concat([", "stack(", "where(", "pow(", "outer(",
                                         "reshape(", "expand(", "ones(", "arange(", "cross(", "index_select("};
        unsigned f = rnd() % 13;
        ap(buf, cap, F2[f]);
        gen(buf, cap, depth - 1);
        ap(buf, cap, f == 2 ? ", " : ", ");
        gen(buf, cap, depth - 1);
        ap(buf, cap, f == 2 ? "], axis=0)" : f == 4 ? ", 0)" : f == 12 ? ", [0, 1])" : ")");
    }
    }
}

static bool sane_error(const ad_expr_error *err, int srclen)
{
    if (err->status >= 0 || err->status < AD_ELIMIT || !err->msg[0]) return false;
    if (err->pos < -1 || err->pos > srclen) return false;
    return err->pos < 0 || (err->len >= 1 && err->pos + err->len <= srclen + 1);
}

Test(expr, random_strings_never_crash,
     .description = "thousands of random strings over the grammar's alphabet: parse, evaluate, no crash, sane errors")
{
    static const char *const TOK[] = {
        "x",   "y",     "1",     "2",    "0.5", "-",     "+",      "*",       "/",     "@",    "^",    "**",
        "(",   ")",     "[",     "]",    ",",   ":",     "=",      "==",      "<",     ">=",   "!=",   " ",
        "sum(", "sin(", "reshape(", "ones(", "arange(", "None", "...", "axis=", "pi", "e", "1e3", "[1,2]",
        "3",   "x[",    "-1",    "mean(", "concat(", "dot(", "norm(", "keepdims=1", "inf", "T(", "y[0]", "@x",
    };
    const int NT = (int)(sizeof TOK / sizeof TOK[0]);
    ad_ctx_set_max_tensor_bytes(ctx, 1 << 16);
    rng_state = 20261122;
    ad_tensor *vals[2] = {ad_reshape(ad_arange_n(ctx, 6), AD_SHAPE(2, 3)), ad_from_array(ctx, AD_SHAPE(3), TH_V(1, -1, 2))};
    ad_requires_grad_(vals[0], true);
    int parsed = 0, evaluated = 0;
    char src[512], fmt[2048];
    for (int it = 0; it < 4000; it++) {
        src[0] = '\0';
        int ntok = 1 + (int)(rnd() % 14);
        for (int k = 0; k < ntok; k++) strcat(src, TOK[rnd() % (unsigned)NT]);
        if (it % 2 == 0) { /* a generated expression, sometimes with one byte changed */
            src[0] = '\0';
            gen(src, sizeof src, 1 + (int)(rnd() % 4));
            size_t n = strlen(src);
            if (n > 0 && rnd() % 3 == 0) src[rnd() % n] = ")(,[]:=+*^-1x. "[rnd() % 15];
        }
        if (it % 10 == 9) { /* raw bytes, some of them unprintable */
            int n = 1 + (int)(rnd() % 20);
            for (int k = 0; k < n; k++) src[k] = (char)(1 + rnd() % 255);
            src[n] = '\0';
        }
        int len = (int)strlen(src);
        ad_expr_error err;
        ad_expr *e = ad_expr_parse(src, &err);
        if (!e) {
            cr_assert(sane_error(&err, len), "\"%s\": status %d at %d+%d: %s", src, err.status, err.pos, err.len,
                      err.msg);
            cr_assert(err.status == AD_ESYNTAX || err.status == AD_ENOTFOUND || err.status == AD_ESHAPE ||
                          err.status == AD_ELIMIT,
                      "\"%s\": parse status %d", src, err.status);
            ad_expr_format_error(fmt, sizeof fmt, src, &err);
            continue;
        }
        parsed++;
        int nv = ad_expr_nvars(e);
        ad_tensor *in[16];
        for (int i = 0; i < nv && i < 16; i++) in[i] = strcmp(ad_expr_var(e, i), "y") == 0 ? vals[1] : vals[0];
        int64_t before = live_tensors();
        ad_tensor *r = nv <= 16 ? ad_expr_eval(ctx, e, in, &err) : NULL;
        if (r) {
            evaluated++;
            cr_assert_eq(err.status, AD_OK);
            ad_tensor_free(r);
        } else if (nv <= 16) {
            cr_assert(sane_error(&err, len), "\"%s\": eval status %d at %d+%d: %s", src, err.status, err.pos,
                      err.len, err.msg);
            ad_expr_format_error(fmt, sizeof fmt, src, &err);
        }
        cr_assert_eq(live_tensors(), before, "\"%s\" leaked", src);
        ad_expr_free(e);
    }
    cr_assert_gt(parsed, 600, "only %d parsed", parsed);
    cr_assert_gt(evaluated, 300, "only %d evaluated", evaluated);
    cr_log_info("%d of 4000 parsed, %d evaluated", parsed, evaluated);
}
