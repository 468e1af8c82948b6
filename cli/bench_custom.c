/* cli/bench_custom.c — the user's own function as a suite function of
 * 'adscope bench': every size binds a fresh vector to the swept input, the
 * other inputs keep their --var values. */
#include <math.h>
#include <string.h>

#include "bench_custom.h"

static int custom_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t size, ad_tensor **in, bool *wrt)
{
    const cli_bench_custom *cu = (const cli_bench_custom *)fn;
    for (int i = 0; i < cu->fn.nvars; i++) {
        in[i] = i == cu->swept ? ad_bench_input(ctx, size) : ad_tensor_ref(cu->fn.values[i]);
        wrt[i] = i == cu->swept;
        if (!in[i]) return ad_errno(ctx);
    }
    return cu->fn.nvars;
}

/* True when a --var binds name. */
static bool given(const cli_args *a, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < cli_count(a, "var"); i++) {
        const char *item = cli_item(a, "var", i);
        if (strncmp(item, name, len) == 0 && item[len] == '=') return true;
    }
    return false;
}

/* The swept input when --size-var does not say: the expression's only
 * variable, a plugin's first declared input, or its first --var. */
static int default_swept(const cli_fn *fn, const cli_args *a, char *swept, size_t n)
{
    if (fn->expr) {
        int nv = ad_expr_nvars(fn->expr);
        if (nv == 1) {
            snprintf(swept, n, "%s", ad_expr_var(fn->expr, 0));
            return CLI_OK;
        }
        fprintf(stderr, "adscope bench: --expr has %d variables: say which one is swept with --size-var NAME\n", nv);
        return CLI_USAGE;
    }
    if (fn->declared) snprintf(swept, n, "%.*s", (int)strcspn(fn->declared, ", "), fn->declared);
    else if (fn->nvars > 0) snprintf(swept, n, "%s", fn->names[0]);
    if (*swept) return CLI_OK;
    fprintf(stderr, "adscope bench: --plugin %s declares no inputs: name the swept one with --size-var NAME\n",
            cli_get(a, "plugin"));
    return CLI_USAGE;
}

/* The function with the swept input bound to a placeholder (each size
 * replaces it).  A --size-var that no --var gives is bound first, so that a
 * plugin without declared inputs takes it as its first input. */
static int open_fn(cli_fn *fn, const cli_args *a, char *swept, size_t n)
{
    const char *sv = cli_get(a, "size-var");
    int rc = CLI_OK;
    if (sv) snprintf(swept, n, "%s", sv);
    if (sv && !given(a, sv)) rc = cli_fn_bind(fn, sv, ad_scalar(fn->ctx, 0));
    if (rc == CLI_OK) rc = cli_fn_bind_vars(fn, a);
    if (rc == CLI_OK) rc = cli_fn_load(fn, a, cli_get(a, "expr"), cli_get(a, "plugin"));
    if (rc == CLI_OK && !sv) rc = default_swept(fn, a, swept, n);
    if (rc == CLI_OK && !sv && cli_fn_var(fn, swept) < 0) rc = cli_fn_bind(fn, swept, ad_scalar(fn->ctx, 0));
    if (rc == CLI_OK) rc = cli_fn_ready(fn, a);
    return rc;
}

int cli_bench_custom_open(cli_bench_custom *cu, ad_ctx *ctx, const cli_args *a)
{
    cli_fn *fn = &cu->fn;
    cli_fn_init(fn, ctx, "bench");
    if (cli_get(a, "expr") && cli_get(a, "plugin")) {
        fprintf(stderr, "adscope bench: give either --expr or --plugin, not both\n");
        return CLI_USAGE;
    }
    char swept[256] = "";
    int rc = open_fn(fn, a, swept, sizeof swept);
    if (rc != CLI_OK) return rc;
    cu->swept = cli_fn_var(fn, swept);
    if (cu->swept < 0) {
        fprintf(stderr, "adscope bench: --size-var %s: %s has no variable '%s'\n", swept, fn->label, swept);
        return CLI_USAGE;
    }
    const char *label = cli_get(a, "label");
    snprintf(cu->name, sizeof cu->name, "%s", label ? label : fn->label);
    cu->base = (ad_bench_fn){.name = cu->name,
                             .size_name = "n",
                             .definition = fn->label,
                             .auto_kind = true,
                             .f = fn->problem.f,
                             .user = fn->problem.user,
                             .make_inputs = custom_inputs,
                             .sizes = "10,30,100,300,1000,3000,10000,30000,100000",
                             .quick_sizes = "10,100,1000,10000"};
    for (int c = 0; c < AD_BENCH_NCLASS; c++) cu->base.theory_time[c] = cu->base.theory_mem[c] = NAN;
    return CLI_OK;
}

void cli_bench_custom_close(cli_bench_custom *cu)
{
    cli_fn_close(&cu->fn);
}
