/* tests/test_rules.c — every op of ops.def has a rule test.
 *
 * One case per op id (designated initializers, so the table reads like
 * ops.def): a small function that applies the op, in the expression
 * language when it reaches the op or in C otherwise, with the shapes of
 * its inputs.  A ParameterizedTest over all op ids checks, for each op:
 *   - the case really records that op (a case cannot test a neighbour);
 *   - th_check_rules (tests/helpers.h): JVP and VJP against central
 *     differences, the transpose identity <u, J v> = <J^T u, v>, and the
 *     HVP (forward over reverse) against differences of gradients.
 * An op added to ops.def without a case here fails, naming the op.
 *
 * Inputs are deterministic high-entropy values (th_vals), chosen away from
 * the kinks of relu, abs, maximum and where, and positive (P) where the op
 * needs it (log, sqrt, pow, cbrt away from its infinite slope at 0), inside
 * (-1, 1) (U) for asin and acos; input i is shifted and scaled a little so
 * that no two inputs are equal. */
#include <stdio.h>
#include <string.h>

#include "helpers.h" /* before parameterized.h: criterion.h must come first */
#include <criterion/parameterized.h>

#include "ops/index.h"
#include "th_graph.h"

TestSuite(rules, .init = th_setup, .fini = th_teardown);

typedef struct rule_case {
    const char *expr; /* variables x, y, z are inputs 0, 1, 2 */
    th_fn fn;         /* when the language does not reach the op */
    int nin;
    ad_shape shape[3];
    double offset, scale; /* of th_vals */
} rule_case;

/* Generic values, and positive ones (P) for log, sqrt, pow, 1/x. */
#define G 0.2, 1.1
#define P 1.5, 0.4
#define T 0.1, 0.6 /* tan: well inside (-pi/2, pi/2) */
#define U -0.1, 0.7 /* asin, acos: well inside (-1, 1) */
#define X1(e, s, v) {.expr = e, .nin = 1, .shape = {s}, v}
#define X2(e, s0, s1, v) {.expr = e, .nin = 2, .shape = {s0, s1}, v}
#define C(f, n, s0, s1, s2, v) {.fn = f, .nin = n, .shape = {s0, s1, s2}, v}
#define S23 AD_SHAPE(2, 3)
#define S234 AD_SHAPE(2, 3, 4)
#define NONE AD_SCALAR

/* ---- ops the language does not reach ------------------------------------------- */

static ad_tensor *f_tanh_bw(ad_tensor *const *in, void *ud) { (void)ud; return ad_tanh_bw(in[0], in[1]); }
static ad_tensor *f_sigmoid_bw(ad_tensor *const *in, void *ud) { (void)ud; return ad_sigmoid_bw(in[0], in[1]); }
static ad_tensor *f_mask(ad_tensor *const *in, void *ud) { (void)ud; return ad_mask(in[0], in[1]); }
/* the fused backward kernels, with y broadcast along the rows */
static ad_tensor *f_softmax_bw(ad_tensor *const *in, void *ud) { (void)ud; return ad_softmax_bw(in[0], in[1], 1); }
static ad_tensor *f_log_softmax_bw(ad_tensor *const *in, void *ud)
{
    (void)ud;
    return ad_log_softmax_bw(in[0], in[1], -1);
}
static ad_tensor *f_logsumexp_bw(ad_tensor *const *in, void *ud)
{
    (void)ud; /* g and y of logsumexp(x, axis=1): shape [2] */
    return ad_logsumexp_bw(in[0], in[1], in[2], AD_AXES(1), false);
}

static ad_tensor *f_slice_scatter(ad_tensor *const *in, void *ud)
{
    (void)ud; /* base[1:, ::-2] = src (a [1,2] source broadcast to [3,2]) */
    return ad_slice_scatter(in[0], in[1], 2, (const ad_index[]){AD_S(1, AD_END), AD_SS(AD_END, AD_END, -2)});
}

static ad_tensor *f_index_add(ad_tensor *const *in, void *ud)
{
    (void)ud; /* rows 1, 2 (= -1), 1 of x receive the rows of src */
    return ad_index_add(in[0], 0, 3, (const int64_t[]){1, -1, 1}, in[1]);
}

static ad_tensor *f_scatter_add(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *idx = ad_from_array(ctx, AD_SHAPE(3, 2), TH_V(1, 0, 1, 3, 0, 3)); /* repeated targets */
    return ad_scatter_add(in[0], 0, idx, in[1]);
}

/* ---- one case per op --------------------------------------------------------------- */

static const rule_case CASES[AD_OP_COUNT] = {
    [AD_OP_neg] = X1("neg(x)", S23, G),
    [AD_OP_exp] = X1("exp(x)", S23, G),
    [AD_OP_log] = X1("log(x)", S23, P),
    [AD_OP_sin] = X1("sin(x)", S23, G),
    [AD_OP_cos] = X1("cos(x)", S23, G),
    [AD_OP_tan] = X1("tan(x)", S23, T),
    [AD_OP_tanh] = X1("tanh(x)", S23, G),
    [AD_OP_sigmoid] = X1("sigmoid(x)", S23, G),
    [AD_OP_relu] = X1("relu(x)", S23, G),
    [AD_OP_abs] = X1("abs(x)", S23, G),
    [AD_OP_sqrt] = X1("sqrt(x)", S23, P),
    [AD_OP_square] = X1("square(x)", S23, G),
    [AD_OP_log1p] = X1("log1p(x)", S23, P),
    [AD_OP_expm1] = X1("expm1(x)", S23, G),
    [AD_OP_cbrt] = X1("cbrt(x)", S23, P),
    [AD_OP_atan] = X1("atan(x)", S23, G),
    [AD_OP_asin] = X1("asin(x)", S23, U),
    [AD_OP_acos] = X1("acos(x)", S23, U),
    [AD_OP_sinh] = X1("sinh(x)", S23, G),
    [AD_OP_cosh] = X1("cosh(x)", S23, G),
    [AD_OP_asinh] = X1("asinh(x)", S23, G),
    [AD_OP_softplus] = X1("softplus(x)", S23, G),
    [AD_OP_erf] = X1("erf(x)", S23, G),
    [AD_OP_tanh_bw] = C(f_tanh_bw, 2, S23, S23, NONE, G),
    [AD_OP_sigmoid_bw] = C(f_sigmoid_bw, 2, S23, AD_SHAPE(3), NONE, G),
    [AD_OP_mask] = C(f_mask, 2, S23, S23, NONE, G),

    [AD_OP_add_s] = X1("x + 2.3", S23, G),
    [AD_OP_mul_s] = X1("x * 2.3", S23, G),
    [AD_OP_div_s] = X1("x / 2.3", S23, G),
    [AD_OP_rsub_s] = X1("2.3 - x", S23, G),
    [AD_OP_rdiv_s] = X1("2.3 / x", S23, P),
    [AD_OP_pow_s] = X1("x ^ 3.2", S23, P),
    [AD_OP_rpow_s] = X1("2.3 ^ x", S23, G),
    [AD_OP_maximum_s] = X1("maximum(x, 0.35)", S23, G),
    [AD_OP_minimum_s] = X1("minimum(x, 0.35)", S23, G),

    [AD_OP_add] = X2("x + y", S23, AD_SHAPE(3), G),
    [AD_OP_sub] = X2("x - y", S23, AD_SHAPE(2, 1), G),
    [AD_OP_mul] = X2("x * y", S23, AD_SHAPE(3), G),
    [AD_OP_div] = X2("x / y", S23, AD_SHAPE(3), P),
    [AD_OP_pow] = X2("pow(x, y)", S23, AD_SHAPE(3), P),
    [AD_OP_maximum] = X2("maximum(x, y)", S23, S23, G),
    [AD_OP_minimum] = X2("minimum(x, y)", S23, AD_SHAPE(3), G),
    [AD_OP_atan2] = X2("atan2(x, y)", S23, AD_SHAPE(3), G),
    [AD_OP_hypot] = X2("hypot(x, y)", S23, AD_SHAPE(2, 1), G),
    [AD_OP_where] = X2("where(x > 0.5, x * y, y)", S23, AD_SHAPE(3), G),

    [AD_OP_clone] = X1("clone(x)", S23, G),
    [AD_OP_view] = X1("reshape(x, 3, 2)", S23, G),
    [AD_OP_squeeze] = X1("squeeze(reshape(x, 2, 1, 3), 1)", S23, G),
    [AD_OP_unsqueeze] = X1("unsqueeze(x, 1)", S23, G),
    [AD_OP_permute] = X1("permute(x, 2, 0, 1)", S234, G),
    [AD_OP_transpose] = X1("transpose(x, 0, 2)", S234, G),
    [AD_OP_expand] = X1("expand(x, 4, 2, 3)", S23, G),

    [AD_OP_slice] = X1("x[1:, ::2]", S234, G),
    [AD_OP_slice_scatter] = C(f_slice_scatter, 2, AD_SHAPE(4, 3), AD_SHAPE(1, 2), NONE, G),
    [AD_OP_index_select] = X1("index_select(x, 1, [2, 0, 2])", S23, G),
    [AD_OP_index_add] = C(f_index_add, 2, AD_SHAPE(3, 2), AD_SHAPE(3, 2), NONE, G),
    [AD_OP_gather] = X1("gather(x, 1, [[0, 2], [1, 1]])", S23, G),
    [AD_OP_scatter_add] = C(f_scatter_add, 2, AD_SHAPE(4, 3), AD_SHAPE(3, 2), NONE, G),
    [AD_OP_concat] = X2("concat(x, y, axis=0)", S23, AD_SHAPE(1, 3), G),
    [AD_OP_stack] = X2("stack(x, y, axis=1)", S23, S23, G),

    [AD_OP_sum] = X1("sum(x, axis=1)", S23, G),
    [AD_OP_mean] = X1("mean(x, axis=0)", S23, G),
    [AD_OP_prod] = X1("prod(x, axis=1)", S23, G),
    [AD_OP_amax] = X1("max(x, axis=1)", S23, G),
    [AD_OP_amin] = X1("min(x, axis=0)", S23, G),
    [AD_OP_var] = X1("var(x, axis=1)", S23, G),
    [AD_OP_std] = X1("std(x, axis=0)", S23, G),
    [AD_OP_logsumexp] = X1("logsumexp(x, axis=1)", S23, G),
    [AD_OP_cumsum] = X1("cumsum(x, axis=1)", S23, G),
    [AD_OP_cumprod] = X1("cumprod(x, axis=1)", S23, G),
    [AD_OP_softmax] = X1("softmax(x)", S23, G),
    [AD_OP_log_softmax] = X1("log_softmax(x)", S23, G),
    [AD_OP_softmax_bw] = C(f_softmax_bw, 2, S23, AD_SHAPE(3), NONE, G),
    [AD_OP_log_softmax_bw] = C(f_log_softmax_bw, 2, S23, AD_SHAPE(3), NONE, G),
    [AD_OP_logsumexp_bw] = C(f_logsumexp_bw, 3, AD_SHAPE(2), S23, AD_SHAPE(2), G),

    [AD_OP_dot] = X2("dot(x, y)", AD_SHAPE(4), AD_SHAPE(4), G),
    [AD_OP_mv] = X2("mv(x, y)", AD_SHAPE(3, 4), AD_SHAPE(4), G),
    [AD_OP_mm] = X2("mm(x, y)", AD_SHAPE(3, 4), AD_SHAPE(4, 2), G),
    [AD_OP_bmm] = X2("matmul(x, y)", S234, AD_SHAPE(2, 4, 2), G),
    [AD_OP_cross] = X2("cross(x, y)", AD_SHAPE(3), AD_SHAPE(3), G),
    [AD_OP_trace] = X1("trace(x)", AD_SHAPE(3, 3), G),
    [AD_OP_norm] = X1("norm(x)", S23, G),
};

static const char *const VARS[3] = {"x", "y", "z"};

/* The case's expression with input i bound to the variable named VARS[i]. */
static ad_tensor *f_expr(ad_tensor *const *in, void *ud)
{
    const rule_case *c = ud;
    ad_expr_error err;
    ad_expr *e = ad_expr_parse(c->expr, &err);
    cr_assert_not_null(e, "\"%s\" does not parse: %s", c->expr, err.msg);
    ad_tensor *vals[3] = {0};
    for (int v = 0; v < ad_expr_nvars(e); v++) {
        int i = 0;
        while (i < c->nin && strcmp(VARS[i], ad_expr_var(e, v)) != 0) i++;
        cr_assert_lt(i, c->nin, "\"%s\": variable %s is not an input", c->expr, ad_expr_var(e, v));
        vals[v] = in[i];
    }
    ad_tensor *y = ad_expr_eval(ctx, e, vals, &err);
    ad_expr_free(e);
    cr_assert_not_null(y, "\"%s\" fails: %s", c->expr, err.msg);
    return y;
}

ParameterizedTestParameters(rules, op)
{
    static int ids[AD_OP_COUNT];
    for (int i = 0; i < AD_OP_COUNT; i++) ids[i] = i;
    return cr_make_param_array(int, ids, AD_OP_COUNT);
}

ParameterizedTest(int *op, rules, op, .description = "each op of ops.def: JVP, VJP, transpose identity, HVP")
{
    const char *name = ad_ops[*op].name;
    const rule_case *c = &CASES[*op];
    cr_assert(c->expr || c->fn, "op %s (ops.def) has no rule test: add a case to CASES in tests/test_rules.c",
              name);
    th_fn f = c->expr ? f_expr : c->fn;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *in[3];
    for (int i = 0; i < c->nin; i++)
        in[i] = th_vals(c->shape[i], c->offset + 0.13 * i, c->scale * (1 - 0.15 * i));

    /* the case must apply this very op */
    ad_tensor *xr[3];
    for (int i = 0; i < c->nin; i++) {
        xr[i] = ad_clone(in[i]);
        ad_requires_grad_(xr[i], true);
    }
    ad_tensor *y = f(xr, (void *)c);
    cr_assert(th_graph_has(y, *op), "op %s: its rule case does not record %s", name, name);

    th_check_rules_impl(f, (void *)c, c->nin, in, 1e-6, true, name, __FILE__, __LINE__);
    ad_scope_end(ctx, s, NULL);
}
