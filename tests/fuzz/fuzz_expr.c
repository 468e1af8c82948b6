/* tests/fuzz/fuzz_expr.c — libFuzzer target: the expression language from
 * source text to derivatives.
 *
 * An input is lines of text:
 *
 *     EXPR                      the function, e.g.  sum(sin(x) * y)
 *     x=VALUE                   a VALUE expression per variable (optional)
 *     ...
 *
 * A variable without a line gets a value the first byte of the input picks
 * from EDGE below: the shapes that have broken the drivers before (no
 * element, a zero-size axis, 12 axes, a scalar, NaN).  The target parses,
 * evaluates, then differentiates: the gradient with several backends
 * (reverse, forward, forward-vector, central, five-point) when f returns
 * one element, the Jacobian (auto, by rows, by columns) otherwise, and the
 * HVP.  It checks what the library promises, beyond "no crash" (ASan and
 * UBSan see that):
 *   - a failing call leaves a status and a non-empty message;
 *   - a successful one returns its results (no NULL with AD_OK);
 *   - once every reference is freed, the context holds no byte.
 * A broken promise aborts, so libFuzzer keeps the input as a crash.
 * Sizes are capped (a context limit, few elements per input) so one input
 * runs in milliseconds. */
#include <adscope.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VARS 4
#define MAX_IN_ELEMENTS 64 /* beyond this, differences and Jacobians cost too much per input */

static const char *const EDGE[] = {
    "[0.385, -1.27, 2.031]",
    "1.618",
    "zeros(0)",
    "zeros(2, 0)",
    "reshape(arange(2), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2)",
    "reshape(arange(6) / 7, 2, 3)",
    "[nan, 1, inf]",
    "[]",
};
#define NEDGE (sizeof EDGE / sizeof EDGE[0])

static void broken(const char *what, ad_ctx *ctx)
{
    fprintf(stderr, "fuzz_expr: broken promise: %s (%s)\n", what, ctx ? ad_errmsg(ctx) : "");
    abort();
}

/* A failed call must say why. */
static void expect_reason(ad_ctx *ctx, int rc, const char *what)
{
    if (rc == AD_OK) return;
    if (ad_errno(ctx) == AD_OK || !ad_errmsg(ctx)[0]) broken(what, ctx);
    ad_clear_error(ctx);
}

/* The value line for variable name in text, or NULL. */
static const char *value_line(char *const *lines, int nlines, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < nlines; i++)
        if (strncmp(lines[i], name, n) == 0 && lines[i][n] == '=') return lines[i] + n + 1;
    return NULL;
}

static int bind_values(ad_ctx *ctx, const ad_expr *e, char *const *lines, int nlines, unsigned pick,
                       ad_tensor **in)
{
    int64_t total = 0;
    for (int i = 0; i < ad_expr_nvars(e); i++) {
        const char *src = value_line(lines, nlines, ad_expr_var(e, i));
        ad_expr_error err;
        in[i] = ad_expr_value(ctx, src ? src : EDGE[(pick + (unsigned)i) % NEDGE], &err);
        if (!in[i]) {
            if (err.status == AD_OK || !err.msg[0]) broken("a VALUE failed without a reason", ctx);
            ad_clear_error(ctx);
            return -1;
        }
        total += ad_numel(in[i]);
    }
    return total <= MAX_IN_ELEMENTS ? 0 : -1;
}

static void gradients(const ad_problem *p)
{
    static const char *const names[] = {"reverse", "forward", "forward-vector", "central", "five-point"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        ad_tensor *value = NULL, *g[MAX_VARS] = {NULL};
        int rc = ad_value_and_grad(ad_backend_find(names[k]), p, NULL, &value, g, NULL, NULL);
        if (rc == AD_OK && !value) broken("value_and_grad: AD_OK without a value", p->ctx);
        for (int i = 0; rc == AD_OK && i < p->nin; i++)
            if (!g[i]) broken("value_and_grad: AD_OK without a gradient", p->ctx);
        expect_reason(p->ctx, rc, names[k]);
        ad_tensor_free(value);
        for (int i = 0; i < p->nin; i++) ad_tensor_free(g[i]);
    }
}

static void hvp(const ad_problem *p)
{
    ad_tensor *v[MAX_VARS] = {NULL}, *hv[MAX_VARS] = {NULL};
    for (int i = 0; i < p->nin; i++) v[i] = ad_full(p->ctx, ad_shape_of(p->in[i]), 0.75);
    int rc = ad_hvp(p, v, NULL, NULL, hv, NULL);
    for (int i = 0; rc == AD_OK && i < p->nin; i++)
        if (!hv[i]) broken("hvp: AD_OK without a result", p->ctx);
    expect_reason(p->ctx, rc, "hvp");
    for (int i = 0; i < p->nin; i++) ad_tensor_free(v[i]), ad_tensor_free(hv[i]);
}

static void jacobians(const ad_problem *p)
{
    const ad_backend *modes[] = {NULL, ad_backend_find("reverse"), ad_backend_find("forward"),
                                 ad_backend_find("central")};
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        ad_tensor *value = NULL, *J[MAX_VARS] = {NULL};
        int rc = ad_jacobian(modes[k], p, NULL, &value, J, NULL, NULL, NULL);
        if (rc == AD_OK && !value) broken("jacobian: AD_OK without a value", p->ctx);
        expect_reason(p->ctx, rc, "jacobian");
        ad_tensor_free(value);
        for (int i = 0; i < p->nin; i++) ad_tensor_free(J[i]);
    }
}

static void differentiate(ad_ctx *ctx, ad_expr *e, ad_tensor **in)
{
    ad_problem p = {.ctx = ctx, .f = ad_expr_fn, .user = e, .nin = ad_expr_nvars(e), .in = in};
    ad_expr_error err;
    ad_tensor *y = ad_expr_eval(ctx, e, in, &err);
    if (!y) {
        char buf[1024];
        if (err.status == AD_OK || !err.msg[0]) broken("evaluation failed without a reason", ctx);
        ad_expr_format_error(buf, sizeof buf, ad_expr_source(e), &err);
        ad_clear_error(ctx);
        return;
    }
    int64_t m = ad_numel(y);
    ad_tensor_free(y);
    if (p.nin == 0) return;
    if (m == 1) {
        gradients(&p);
        hvp(&p);
    }
    if (m <= MAX_IN_ELEMENTS) jacobians(&p);
}

/* Splits a copy of the input into lines (at most 1 + MAX_VARS). */
static int split_lines(char *text, char **lines)
{
    int n = 0;
    for (char *s = text; s && n < 1 + MAX_VARS; n++) {
        lines[n] = s;
        s = strchr(s, '\n');
        if (s) *s++ = '\0';
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4096) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0'; /* an embedded NUL ends the text early, as it would from argv */
    char *lines[1 + MAX_VARS];
    int nlines = split_lines(text, lines);
    ad_expr_error err;
    ad_expr *e = ad_expr_parse(lines[0], &err);
    if (!e && (err.status == AD_OK || !err.msg[0])) broken("parse failed without a reason", NULL);
    if (e && ad_expr_nvars(e) <= MAX_VARS) {
        ad_ctx_options o = {.seed = 7, .max_tensor_bytes = 1 << 16};
        ad_ctx *ctx = ad_ctx_new_with(&o);
        ad_tensor *in[MAX_VARS] = {NULL};
        if (bind_values(ctx, e, lines, nlines, data[0], in) == 0) differentiate(ctx, e, in);
        for (int i = 0; i < MAX_VARS; i++) ad_tensor_free(in[i]);
        ad_mem_stats m;
        ad_ctx_mem_stats(ctx, &m);
        /* meta is left out: the tape keeps its arena for the next recording */
        if (m.tensors || m.live[AD_MEM_VALUES] || m.live[AD_MEM_TANGENTS] || m.live[AD_MEM_TAPE])
            broken("tensors or bytes left in the context after every reference was freed", ctx);
        ad_ctx_free(ctx);
    }
    ad_expr_free(e);
    free(text);
    return 0;
}
