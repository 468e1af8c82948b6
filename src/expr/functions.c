/* src/expr/functions.c — the one table of the language's functions.
 *
 * Each entry says how a function is called (its parameters, which are
 * required, whether extra positional arguments are collected), how it is
 * described in help texts, and which implementation runs it.  The parser
 * checks calls against it (arity, argument names), the evaluator binds
 * arguments with it, and ad_expr_function lists it: nothing is kept in step
 * by hand. */
#include <string.h>

#include "expr_internal.h"

#define UNARY(n, f) {.name = n, .sig = n "(x)", .nreq = 1, .nfixed = 1, .params = {"x"}, .impl = ex_fn_unary, .op.unary = f}
#define BINARY(n, f)                                                                                   \
    {.name = n, .sig = n "(a, b)", .nreq = 2, .nfixed = 2, .params = {"a", "b"}, .impl = ex_fn_binary, \
     .op.binary = f}
#define BINOP(n, o)                                                                                   \
    {.name = n, .sig = n "(a, b)", .nreq = 2, .nfixed = 2, .params = {"a", "b"}, .impl = ex_fn_binop, \
     .op.binop = o}
#define REDUCE(n, f)                                                                                   \
    {.name = n, .sig = n "(x, axis=None, keepdims=0)", .nreq = 1, .nfixed = 3,                         \
     .params = {"x", "axis", "keepdims"},                                                          \
     .impl = ex_fn_reduce, .op.reduce = f}
#define STAT(n, f)                                                                                     \
    {.name = n, .sig = n "(x, axis=None, correction=1, keepdims=0)", .nreq = 1, .nfixed = 4,             \
     .params = {"x", "axis", "correction", "keepdims"}, .impl = ex_fn_stat, .op.stat = f}
#define ALONG(n, f, dflt)                                                                              \
    {.name = n, .sig = n "(x, axis=" #dflt ")", .nreq = 1, .nfixed = 2, .params = {"x", "axis"},        \
     .impl = ex_fn_along, .op.along = f, .axis_default = dflt}
#define ARGEXT(n, f)                                                                                   \
    {.name = n, .sig = n "(x, axis=None, keepdims=0)", .nreq = 1, .nfixed = 3,                         \
     .params = {"x", "axis", "keepdims"},                                                          \
     .impl = ex_fn_argext, .op.arg = f}
#define SHAPED(n, f)                                                                                   \
    {.name = n, .sig = n "(x, d0, d1, ...) or " n "(x, [d0, d1, ...])", .nreq = 1, .nfixed = 1,         \
     .variadic = true, .params = {"x"}, .impl = f}
#define JOIN(n, f)                                                                                     \
    {.name = n, .sig = n "(a, b, ..., axis=0) or " n "([a, b, ...], axis=0)", .variadic = true,          \
     .params = {"axis"}, .impl = ex_fn_join, .op.join = f, .flags = EX_F_SPREAD}
#define FILL(n, f)                                                                                     \
    {.name = n, .sig = n "(d0, d1, ...) or " n "([d0, d1, ...])", .variadic = true, .impl = ex_fn_fill,  \
     .op.fill = f}

const ex_fn ex_functions[] = {
    /* elementwise, one argument */
    UNARY("sin", ad_sin),
    UNARY("cos", ad_cos),
    UNARY("tan", ad_tan),
    UNARY("exp", ad_exp),
    UNARY("log", ad_log),
    UNARY("log1p", ad_log1p),
    UNARY("expm1", ad_expm1),
    UNARY("tanh", ad_tanh),
    UNARY("sigmoid", ad_sigmoid),
    UNARY("relu", ad_relu),
    UNARY("sqrt", ad_sqrt),
    UNARY("abs", ad_abs),
    UNARY("square", ad_square),
    UNARY("sign", ad_sign),
    UNARY("neg", ad_neg),
    /* inverse trigonometric, hyperbolic and special functions (issue 9) */
    UNARY("cbrt", ad_cbrt),
    UNARY("atan", ad_atan),
    UNARY("asin", ad_asin),
    UNARY("acos", ad_acos),
    UNARY("sinh", ad_sinh),
    UNARY("cosh", ad_cosh),
    UNARY("asinh", ad_asinh),
    UNARY("softplus", ad_softplus),
    UNARY("erf", ad_erf),
    BINARY("atan2", ad_atan2),
    BINARY("hypot", ad_hypot),
    UNARY("detach", ad_detach),
    UNARY("clone", ad_clone),
    /* elementwise, broadcasting (numbers fold, as with the operators) */
    BINOP("pow", T_POW),
    BINOP("maximum", -1),
    BINOP("minimum", -2),
    {.name = "where", .sig = "where(cond, a, b)", .nreq = 3, .nfixed = 3, .params = {"cond", "a", "b"},
     .impl = ex_fn_where},
    /* reductions and scans */
    REDUCE("sum", ad_sum),
    REDUCE("mean", ad_mean),
    REDUCE("prod", ad_prod),
    REDUCE("max", ad_max),
    REDUCE("min", ad_min),
    REDUCE("logsumexp", ad_logsumexp),
    STAT("var", ad_var),
    STAT("std", ad_std),
    ALONG("softmax", ad_softmax, -1),
    ALONG("log_softmax", ad_log_softmax, -1),
    ALONG("cumsum", ad_cumsum, 0),
    ALONG("cumprod", ad_cumprod, 0),
    ARGEXT("argmax", ad_argmax),
    ARGEXT("argmin", ad_argmin),
    /* linear algebra */
    BINARY("dot", ad_dot),
    BINARY("mv", ad_mv),
    BINARY("mm", ad_mm),
    BINARY("matmul", ad_matmul),
    BINARY("outer", ad_outer),
    {.name = "cross", .sig = "cross(a, b, axis=-1)", .nreq = 2, .nfixed = 3, .params = {"a", "b", "axis"},
     .impl = ex_fn_cross},
    UNARY("trace", ad_trace),
    {.name = "norm", .sig = "norm(x, p=2, axis=None, keepdims=0)", .nreq = 1, .nfixed = 4,
     .params = {"x", "p", "axis", "keepdims"}, .impl = ex_fn_norm},
    /* shapes */
    SHAPED("reshape", ex_fn_reshape),
    UNARY("flatten", ad_flatten),
    {.name = "transpose", .sig = "transpose(x) or transpose(x, axis0, axis1)", .nreq = 1, .nfixed = 3,
     .params = {"x", "axis0", "axis1"}, .impl = ex_fn_transpose},
    UNARY("T", ad_T),
    {.name = "permute", .sig = "permute(x, p0, p1, ...) or permute(x, [p0, p1, ...])", .nreq = 1, .nfixed = 1,
     .variadic = true, .params = {"x"}, .impl = ex_fn_permute},
    {.name = "squeeze", .sig = "squeeze(x, axis=None)", .nreq = 1, .nfixed = 2, .params = {"x", "axis"},
     .impl = ex_fn_squeeze},
    {.name = "unsqueeze", .sig = "unsqueeze(x, axis)", .nreq = 2, .nfixed = 2, .params = {"x", "axis"},
     .impl = ex_fn_unsqueeze},
    SHAPED("expand", ex_fn_expand),
    JOIN("concat", ad_concat),
    JOIN("stack", ad_stack),
    /* indexing */
    {.name = "index_select", .sig = "index_select(x, axis, [i0, i1, ...])", .nreq = 3, .nfixed = 3,
     .params = {"x", "axis", "index"}, .impl = ex_fn_index_select},
    {.name = "gather", .sig = "gather(x, axis, index)", .nreq = 3, .nfixed = 3, .params = {"x", "axis", "index"},
     .impl = ex_fn_gather},
    /* creation */
    {.name = "arange", .sig = "arange(n) or arange(start, stop) or arange(start, stop, step)", .nreq = 1,
     .nfixed = 3, .params = {"start", "stop", "step"}, .impl = ex_fn_arange},
    FILL("zeros", ad_zeros),
    FILL("ones", ad_ones),
    FILL("rand", ad_rand),
    FILL("randn", ad_randn),
    {.name = "full", .sig = "full(d0, d1, ..., value=v) or full([d0, d1, ...], v)", .variadic = true,
     .params = {"value"}, .impl = ex_fn_full},
    {.name = "eye", .sig = "eye(n) or eye(n, m)", .nreq = 1, .nfixed = 2, .params = {"n", "m"}, .impl = ex_fn_eye},
    {.name = "linspace", .sig = "linspace(start, stop, n)", .nreq = 3, .nfixed = 3,
     .params = {"start", "stop", "n"}, .impl = ex_fn_linspace},
    {.name = "multinomial", .sig = "multinomial(probs, n)", .nreq = 2, .nfixed = 2, .params = {"probs", "n"},
     .impl = ex_fn_multinomial},
    {.name = "tensor", .sig = "tensor(data)", .nreq = 1, .nfixed = 1, .params = {"data"}, .impl = ex_fn_tensor},
};

const int ex_nfunctions = (int)(sizeof ex_functions / sizeof ex_functions[0]);

int ex_fn_find(const char *name, int len)
{
    for (int i = 0; i < ex_nfunctions; i++)
        if ((int)strlen(ex_functions[i].name) == len && memcmp(ex_functions[i].name, name, (size_t)len) == 0)
            return i;
    return -1;
}

int ex_fn_nparams(const ex_fn *fn)
{
    int n = 0;
    while (n < EX_MAXP && fn->params[n]) n++;
    return n;
}

int ex_fn_param(const ex_fn *fn, const char *name, int len)
{
    for (int i = 0; i < ex_fn_nparams(fn); i++)
        if ((int)strlen(fn->params[i]) == len && memcmp(fn->params[i], name, (size_t)len) == 0) return i;
    return -1;
}

const char *ad_expr_function(int i, const char **signature)
{
    if (i < 0 || i >= ex_nfunctions) {
        if (signature) *signature = NULL;
        return NULL;
    }
    if (signature) *signature = ex_functions[i].sig;
    return ex_functions[i].name;
}

/* ---- "did you mean" -------------------------------------------------------- */

/* Optimal string alignment distance (Levenshtein plus adjacent swaps), for
 * short names only; longer ones get no suggestion. */
#define EX_SUGGEST_MAX 32

static int osa_distance(const char *a, int la, const char *b, int lb)
{
    int d[EX_SUGGEST_MAX + 1][EX_SUGGEST_MAX + 1];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

const char *ex_suggest(const char *name, int len, const char *const *cand, int n)
{
    if (len > EX_SUGGEST_MAX) return NULL;
    const char *best = NULL;
    int bestd = 3;
    for (int i = 0; i < n; i++) {
        int lc = (int)strlen(cand[i]);
        if (lc > EX_SUGGEST_MAX) continue;
        int d = osa_distance(name, len, cand[i], lc);
        if (d < bestd && d < len) {
            best = cand[i];
            bestd = d;
        }
    }
    return best;
}
