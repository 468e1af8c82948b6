/* adscope/expr.h — the expression language of the command line.
 *
 *     2*dot(x, x)                      sum(sin(x)*x^2 + exp(-x^2))
 *     sum(tanh(A @ x))                 logsumexp(x) - x[0]
 *     sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)
 *     sum(x, axis=1, keepdims=1)       norm(x, 1)        x[:, 0:2]
 *
 * An expression is parsed once (ad_expr_parse) and evaluated any number of
 * times with tensors bound to its variables (ad_expr_eval, or ad_expr_fn as
 * the ad_fn of a differentiation problem).  Evaluation goes through the
 * library's ops, so every backend differentiates it.
 *
 * Grammar, loosest binding first:
 *     comparison   a < b, <=, >, >=, ==, !=        (0/1 tensors)
 *     additive     a + b, a - b
 *     product      a * b, a / b, a @ b             (@ is matmul)
 *     unary        -a, +a
 *     power        a ^ b, a ** b                   (right-associative; -x^2 = -(x^2))
 *     postfix      f(args...), a[subscript]        (Python subscripts: x[-1], x[1:3], x[:, 0:2], x[::2])
 *     atoms        numbers (2, 2.5, 1e-3), names, (expr), list literals [[1,2],[3,4]]
 * Function arguments are positional or named (sum(x, axis=1, keepdims=1));
 * axis accepts a list (axis=[0,2]).  Names pi, e and inf are constants;
 * true and false are 1 and 0; None omits a subscript bound or an argument
 * (x[1:None], axis=None).  Calling a function's name without parentheses
 * is an error.  Every other name is a variable.
 *
 * VALUE expressions (ad_expr_value) have no variables and are evaluated
 * without recording: literals, arange(4), ones(3,4), randn(3,4) (from the
 * context's seeded generator), linspace(0,1,5), eye(3), and expressions of
 * these.
 *
 * Errors carry the position and length of the offending part of the
 * source, so that a caller can print the expression with a caret under it
 * (ad_expr_format_error).  Nothing the user types can crash, hang or
 * allocate without bound: nesting depth, source length and tensor sizes are
 * limited, with clear errors (AD_ELIMIT).
 */
#ifndef ADSCOPE_EXPR_H
#define ADSCOPE_EXPR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AD_EXPR_MAX_SOURCE 65536       /* bytes of source */
#define AD_EXPR_MAX_DEPTH 256          /* nesting of parentheses, calls, subscripts */
#define AD_EXPR_MAX_ELEMENTS 100000000 /* elements of any tensor made by a VALUE */

typedef struct ad_expr ad_expr;

typedef struct ad_expr_error {
    int status;    /* AD_ESYNTAX, AD_ENOTFOUND (unknown function), AD_ELIMIT, or the
                    * library's status for an evaluation error (AD_ESHAPE, ...) */
    int pos;       /* byte offset of the offending part of the source (-1: none) */
    int len;       /* its length in bytes (at least 1 when pos >= 0) */
    char msg[512]; /* one-line reason, e.g. "unexpected ')'" or
                    * "add: shapes [2,3] and [4] cannot broadcast" */
} ad_expr_error;

/* Parses src.  NULL on error (err says where and why).  Free with
 * ad_expr_free (accepts NULL). */
AD_API ad_expr *ad_expr_parse(const char *src, ad_expr_error *err);
AD_API void ad_expr_free(ad_expr *e);
/* The source text (borrowed). */
AD_API const char *ad_expr_source(const ad_expr *e);

/* Its variables: names that are neither functions nor constants, in order
 * of first appearance.  The i-th value passed to ad_expr_eval binds the
 * i-th variable. */
AD_API int ad_expr_nvars(const ad_expr *e);
AD_API const char *ad_expr_var(const ad_expr *e, int i);
/* Index of a variable by name, or -1. */
AD_API int ad_expr_var_index(const ad_expr *e, const char *name);

/* Evaluates e with values[i] bound to variable i.  A new tensor, or NULL
 * with err filled (an evaluation error points at the operator or call that
 * failed).  err may be NULL. */
AD_API ad_tensor *ad_expr_eval(ad_ctx *ctx, const ad_expr *e, ad_tensor *const *values, ad_expr_error *err);

/* ad_expr_eval as an ad_fn (backend.h): user is the ad_expr.  On failure
 * the position is kept for ad_expr_last_error. */
AD_API ad_tensor *ad_expr_fn(ad_ctx *ctx, ad_tensor *const *in, void *user);
/* The error of the last failed ad_expr_fn evaluation of e (status AD_OK if none). */
AD_API ad_expr_error ad_expr_last_error(const ad_expr *e);

/* Evaluates a VALUE expression (no variables; nothing recorded).  NULL with
 * err filled on error. */
AD_API ad_tensor *ad_expr_value(ad_ctx *ctx, const char *src, ad_expr_error *err);

/* "reason\n  <source>\n  <spaces>^^^\n" into buf (snprintf contract).
 * Returns the length needed. */
AD_API int ad_expr_format_error(char *buf, size_t n, const char *src, const ad_expr_error *err);

/* The functions the language knows, for help texts: name and a one-line
 * signature such as "sum(x, axis=None, keepdims=0)".  NULL past the end. */
AD_API const char *ad_expr_function(int i, const char **signature);

#ifdef __cplusplus
}
#endif
#endif
