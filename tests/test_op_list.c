/* tests/test_op_list.c — ops.def is the single list of ops: the public
 * catalogue (adscope/ops.h) is generated from it, and the expression
 * language reaches every op it lists that is not internal.
 *
 * "Reaches" is checked by evaluation, not by reading names: each op's
 * expression below is evaluated with its inputs requiring grad, and the
 * recorded graph must hold a record of exactly that op.  An op added to
 * ops.def without a way to call it from the language fails here, naming
 * the op (or must be exempted below, with the reason). */
#include <stdio.h>
#include <string.h>

#include "helpers.h" /* before parameterized.h: criterion.h must come first */
#include <criterion/parameterized.h>

#include "th_graph.h"

TestSuite(op_list, .init = th_setup, .fini = th_teardown);

/* ---- the catalogue --------------------------------------------------------------- */

Test(op_list, catalogue_lists_every_op_of_ops_def_in_order,
     .description = "ad_op_count/ad_op_info_at mirror ops.def: names, grad_fn, arity, saved values")
{
    cr_assert_eq(ad_op_count(), AD_OP_COUNT);
    for (int i = 0; i < AD_OP_COUNT; i++) {
        const ad_op_info *info = ad_op_info_at(i);
        cr_assert_not_null(info, "op %d has no catalogue entry", i);
        cr_expect_str_eq(info->name, ad_ops[i].name, "op %d", i);
        cr_expect_str_eq(info->grad_fn, ad_ops[i].grad_fn_name, "op %s", info->name);
        cr_expect_eq(info->nin, ad_ops[i].nin, "op %s", info->name);
        cr_expect_eq(info->saved_inputs, ad_ops[i].save & AD_SAVE_ALL_IN, "op %s", info->name);
        cr_expect_eq(info->saves_output, (ad_ops[i].save & AD_SAVE_OUT) != 0, "op %s", info->name);
        cr_expect_eq(info->flags, ad_ops[i].flags, "op %s", info->name);
        cr_expect(info->family && info->family[0], "op %s has no family", info->name);
    }
    cr_expect_null(ad_op_info_at(-1));
    cr_expect_null(ad_op_info_at(AD_OP_COUNT));
}

Test(op_list, catalogue_describes_known_ops_as_pytorch_does,
     .description = "spot checks: sin saves x, exp saves its output, concat is variadic, mask is internal")
{
    const ad_op_info *sin = ad_op_info_at(AD_OP_sin), *exp = ad_op_info_at(AD_OP_exp);
    const ad_op_info *cat = ad_op_info_at(AD_OP_concat), *mask = ad_op_info_at(AD_OP_mask);
    cr_expect_str_eq(sin->grad_fn, "SinBackward0");
    cr_expect_eq(sin->saved_inputs, 1u);
    cr_expect_not(sin->saves_output);
    cr_expect_str_eq(sin->family, "unary");
    cr_expect(exp->saves_output);
    cr_expect_eq(exp->saved_inputs, 0u);
    cr_expect_eq(cat->nin, -1);
    cr_expect(cat->flags & AD_OPINFO_VARIADIC);
    cr_expect_str_eq(cat->family, "join");
    cr_expect(mask->flags & AD_OPINFO_INTERNAL);
    cr_expect(sin->flags & AD_OPINFO_ELEMENTWISE);
}

/* ---- the expression language reaches every op ----------------------------------- */

/* Ops the language does not call directly, and why.  Each still has a rule
 * test (tests/test_rules.c). */
static const char *const EXEMPT[AD_OP_COUNT] = {
    /* internal: fused kernels called only by VJP rules (AD_OPF_INTERNAL) */
    [AD_OP_tanh_bw] = "internal", [AD_OP_sigmoid_bw] = "internal", [AD_OP_mask] = "internal",
    [AD_OP_softmax_bw] = "internal", [AD_OP_log_softmax_bw] = "internal", [AD_OP_logsumexp_bw] = "internal",
    /* transposes: the VJPs of slice, index_select and gather; the language
     * has no scatter syntax */
    [AD_OP_slice_scatter] = "VJP of slice", [AD_OP_index_add] = "VJP of index_select",
    [AD_OP_scatter_add] = "VJP of gather",
};

/* One expression per op that must record it.  Variables: x, y [4]
 * (positive), A [3,4], B [4,3], C [2,3,4], D [2,4,3], u, v [3]. */
static const char *const EXPR[AD_OP_COUNT] = {
    [AD_OP_neg] = "neg(x)", [AD_OP_exp] = "exp(x)", [AD_OP_log] = "log(x)", [AD_OP_sin] = "sin(x)",
    [AD_OP_cos] = "cos(x)", [AD_OP_tan] = "tan(x)", [AD_OP_tanh] = "tanh(x)", [AD_OP_sigmoid] = "sigmoid(x)",
    [AD_OP_relu] = "relu(x)", [AD_OP_abs] = "abs(x)", [AD_OP_sqrt] = "sqrt(x)", [AD_OP_square] = "square(x)",
    [AD_OP_log1p] = "log1p(x)", [AD_OP_expm1] = "expm1(x)",
    [AD_OP_cbrt] = "cbrt(x)", [AD_OP_atan] = "atan(x)", [AD_OP_asin] = "asin(x / 4)", [AD_OP_acos] = "acos(x / 4)",
    [AD_OP_sinh] = "sinh(x)", [AD_OP_cosh] = "cosh(x)", [AD_OP_asinh] = "asinh(x)", [AD_OP_softplus] = "softplus(x)",
    [AD_OP_erf] = "erf(x)", [AD_OP_atan2] = "atan2(x, y)", [AD_OP_hypot] = "hypot(x, y)",
    [AD_OP_add_s] = "x + 2", [AD_OP_mul_s] = "x * 2", [AD_OP_div_s] = "x / 2", [AD_OP_rsub_s] = "2 - x",
    [AD_OP_rdiv_s] = "2 / x", [AD_OP_pow_s] = "x ^ 3", [AD_OP_rpow_s] = "2 ^ x",
    [AD_OP_maximum_s] = "maximum(x, 0.5)", [AD_OP_minimum_s] = "minimum(x, 0.5)",
    [AD_OP_add] = "x + y", [AD_OP_sub] = "x - y", [AD_OP_mul] = "x * y", [AD_OP_div] = "x / y",
    [AD_OP_pow] = "pow(x, y)", [AD_OP_maximum] = "maximum(x, y)", [AD_OP_minimum] = "minimum(x, y)",
    [AD_OP_where] = "where(x > y, x, y)",
    [AD_OP_clone] = "clone(x)", [AD_OP_view] = "reshape(A, 12)", [AD_OP_squeeze] = "squeeze(reshape(x, 1, 4))",
    [AD_OP_unsqueeze] = "unsqueeze(x, 0)", [AD_OP_permute] = "permute(C, 2, 0, 1)",
    [AD_OP_transpose] = "transpose(C, 0, 2)", [AD_OP_expand] = "expand(x, 3, 4)",
    [AD_OP_slice] = "x[1:3]", [AD_OP_index_select] = "index_select(x, 0, [0, 2])",
    [AD_OP_gather] = "gather(A, 1, [[0], [2], [1]])", [AD_OP_concat] = "concat(x, y)",
    [AD_OP_stack] = "stack(x, y)",
    [AD_OP_sum] = "sum(x)", [AD_OP_mean] = "mean(x)", [AD_OP_prod] = "prod(x)", [AD_OP_amax] = "max(x)",
    [AD_OP_amin] = "min(x)", [AD_OP_var] = "var(x)", [AD_OP_std] = "std(x)", [AD_OP_logsumexp] = "logsumexp(x)",
    [AD_OP_cumsum] = "cumsum(x)", [AD_OP_cumprod] = "cumprod(x)", [AD_OP_softmax] = "softmax(x)",
    [AD_OP_log_softmax] = "log_softmax(x)",
    [AD_OP_dot] = "dot(x, y)", [AD_OP_mv] = "mv(A, x)", [AD_OP_mm] = "mm(A, B)", [AD_OP_bmm] = "matmul(C, D)",
    [AD_OP_cross] = "cross(u, v)", [AD_OP_trace] = "trace(A)", [AD_OP_norm] = "norm(x)",
};

static const char *const VARS[] = {"x", "y", "A", "B", "C", "D", "u", "v"};
enum { NVARS = 8 };

static ad_tensor *make_var(int i)
{
    switch (i) {
    case 0: return th_vals(AD_SHAPE(4), 1.3, 0.4);
    case 1: return th_vals(AD_SHAPE(4), 1.1, 0.7);
    case 2: return th_vals(AD_SHAPE(3, 4), 0.2, 1.1);
    case 3: return th_vals(AD_SHAPE(4, 3), -0.3, 0.9);
    case 4: return th_vals(AD_SHAPE(2, 3, 4), 0.4, 1.2);
    case 5: return th_vals(AD_SHAPE(2, 4, 3), -0.1, 0.8);
    case 6: return th_vals(AD_SHAPE(3), 0.5, 1.4);
    default: return th_vals(AD_SHAPE(3), -0.6, 1.0);
    }
}

/* Evaluates src with the variables it names bound and requiring grad;
 * true when the graph of the result holds a record of op. */
static bool records(const char *src, int op)
{
    ad_expr_error err;
    ad_expr *e = ad_expr_parse(src, &err);
    cr_assert_not_null(e, "%s: \"%s\" does not parse: %s", ad_ops[op].name, src, err.msg);
    ad_tensor *vals[NVARS] = {0};
    for (int v = 0; v < ad_expr_nvars(e); v++) {
        int i = 0;
        while (i < NVARS && strcmp(VARS[i], ad_expr_var(e, v)) != 0) i++;
        cr_assert_lt(i, NVARS, "%s: unknown variable %s", ad_ops[op].name, ad_expr_var(e, v));
        vals[v] = make_var(i);
        ad_requires_grad_(vals[v], true);
    }
    ad_tensor *y = ad_expr_eval(ctx, e, vals, &err);
    cr_assert_not_null(y, "%s: \"%s\" fails: %s", ad_ops[op].name, src, err.msg);
    bool found = th_graph_has(y, op);
    ad_tensor_free(y);
    for (int v = 0; v < NVARS; v++) ad_tensor_free(vals[v]);
    ad_expr_free(e);
    return found;
}

ParameterizedTestParameters(op_list, language_reaches_op)
{
    static int ids[AD_OP_COUNT];
    for (int i = 0; i < AD_OP_COUNT; i++) ids[i] = i;
    return cr_make_param_array(int, ids, AD_OP_COUNT);
}

ParameterizedTest(int *op, op_list, language_reaches_op,
                  .description = "every op of ops.def, unless exempted, is recorded by its expression")
{
    const char *name = ad_ops[*op].name;
    if (EXEMPT[*op]) {
        cr_expect_null(EXPR[*op], "%s is exempted (%s) but has an expression: drop one", name, EXEMPT[*op]);
        return;
    }
    cr_assert_not_null(EXPR[*op], "op %s (ops.def) has no expression here: add one, or a function to "
                                  "src/expr/functions.c, or an exemption with its reason", name);
    cr_expect(records(EXPR[*op], *op), "op %s: \"%s\" does not record %s", name, EXPR[*op], name);
}

Test(op_list, exemptions_are_internal_or_transposes,
     .description = "the internal flag and the exemption list agree")
{
    for (int i = 0; i < AD_OP_COUNT; i++)
        if (ad_ops[i].flags & AD_OPF_INTERNAL)
            cr_expect(EXEMPT[i] && strcmp(EXEMPT[i], "internal") == 0, "%s is internal", ad_ops[i].name);
}

/* Every function of the language named after an op records that op: a
 * function cannot share an op's name and compute something else.  (Other
 * functions, such as max, matmul or std, compose ops under their own
 * names; their ops are reached through the table above.) */
Test(op_list, functions_named_after_an_op_record_it,
     .description = "sin() records sin, cumsum() records cumsum, ...")
{
    const char *sig;
    for (int f = 0; ad_expr_function(f, &sig); f++) {
        const char *fname = ad_expr_function(f, &sig);
        for (int op = 0; op < AD_OP_COUNT; op++) {
            if (strcmp(fname, ad_ops[op].name) != 0) continue;
            cr_assert_not_null(EXPR[op], "function %s names op %s, which has no expression", fname, fname);
            char call[64];
            snprintf(call, sizeof call, "%s(", fname);
            cr_expect(strstr(EXPR[op], call), "function %s: the expression of op %s (\"%s\") must call it",
                      fname, fname, EXPR[op]);
        }
    }
}
