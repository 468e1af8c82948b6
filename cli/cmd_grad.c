/* cli/cmd_grad.c — adscope grad: the value and gradient of a scalar
 * function, by one backend or by all of them side by side. */
#include <math.h>
#include <string.h>

#include "cli.h"

const char CLI_HELP_GRAD[] =
    "NAME\n"
    "    adscope grad - value and gradient of a scalar function\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope grad EXPR [--var NAME=VALUE]... [--mode MODE] [--wrt NAMES] [--seed S] [--json]\n"
    "    adscope grad --plugin PATH.so:SYMBOL --var NAME=VALUE... [options]\n"
    "\n"
    "DESCRIPTION\n"
    "    Evaluates EXPR (see 'adscope help expr') at the values given with --var and\n"
    "    prints its value and its gradient with respect to every variable, computed\n"
    "    by the backend MODE.  EXPR must give a single value; for vector-valued\n"
    "    functions use 'adscope jacobian'.\n"
    "\n"
    "OPTIONS\n"
    "    --var NAME=VALUE   bind a variable; VALUE is an expression without variables:\n"
    "                       3.5, [[1,2],[3,4]], arange(4), ones(3,4), randn(3,4),\n"
    "                       linspace(0,1,5), 2*eye(3)...  Repeat for each variable.\n"
    "    --mode MODE        a backend name (see 'adscope help backends'), or 'all' to run\n"
    "                       every backend side by side with its largest difference from\n"
    "                       the five-point reference.  Default: reverse.\n"
    "    --wrt NAMES        differentiate with respect to these variables only\n"
    "                       (comma-separated); the others are held constant.\n"
    "    --width K          directions per pass for forward-vector (default 8).\n"
    "    --h H              finite differences: a fixed absolute step instead of the\n"
    "                       automatic one.\n"
    "    --seed S           seed of randn()/rand() in values (default 0).\n"
    "    --plugin PATH.so:SYMBOL\n"
    "                       differentiate a C function from a shared library instead\n"
    "                       of EXPR (see examples/plugin_rosenbrock.c).\n"
    "    --json             print JSON (schema in the README) instead of text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 1 a backend failed while others succeeded (--mode all);\n"
    "    2 usage or input error (bad expression, missing variable, shape error...).\n"
    "\n"
    "EXAMPLES\n"
    "    adscope grad '2*dot(x,x)' --var x='arange(4)'\n"
    "        value = tensor(28.)\n"
    "        x.grad = tensor([ 0.,  4.,  8., 12.])\n"
    "    adscope grad 'mean(2*x)' --var x='arange(8)' --mode all\n"
    "    adscope grad 'sum(tanh(A @ x))' --var A='randn(3,4)' --var x='ones(4)' --wrt x --json\n";

static const cli_opt OPTS[] = {CLI_FN_OPTS, {"mode", CLI_VALUE, "MODE"}, {"width", CLI_VALUE, "K"},
                               {"h", CLI_VALUE, "H"}};

int cli_backend_opts(const cli_args *a, ad_options *o)
{
    long long w;
    double h;
    memset(o, 0, sizeof *o);
    if (cli_int(a, "width", 0, 1, 65536, &w) != CLI_OK) return CLI_USAGE;
    if (cli_double(a, "h", 0, 1e-300, 1e300, &h) != CLI_OK) return CLI_USAGE;
    o->width = (int)w;
    o->h = h;
    return CLI_OK;
}

const ad_backend *cli_backend(const char *cmd, const char *name)
{
    const ad_backend *b = ad_backend_find(name);
    if (!b) {
        fprintf(stderr, "adscope %s: unknown mode '%s'; the backends are:", cmd, name);
        for (int i = 0; i < ad_backend_count(); i++) fprintf(stderr, " %s", ad_backend_at(i)->name);
        fprintf(stderr, " (or 'all')\n");
    }
    return b;
}

static double max_abs_diff(const cli_fn *fn, ad_tensor *const *g, ad_tensor *const *ref)
{
    double m = 0;
    for (int i = 0; i < fn->nvars; i++) {
        if (!g[i] || !ref[i]) continue;
        ad_tensor *d = ad_max(ad_abs(ad_sub(g[i], ref[i])), AD_ALL, false);
        double v = ad_item(d);
        ad_tensor_free(d);
        if (isnan(v) || v > m) m = v;
    }
    return m;
}

static void print_grads(const cli_fn *fn, ad_tensor *const *g, ad_tensor *const *err)
{
    size_t w = 5; /* "value" */
    for (int i = 0; i < fn->nvars; i++)
        if (fn->wrt[i] && strlen(fn->names[i]) + 5 > w) w = strlen(fn->names[i]) + 5;
    for (int i = 0; i < fn->nvars; i++) {
        if (!g[i]) continue;
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s.grad%*s = ", fn->names[i], (int)(w - strlen(fn->names[i]) - 5), "");
        cli_print_tensor(stdout, prefix, g[i]);
        if (err && err[i]) {
            snprintf(prefix, sizeof prefix, "%s.err%*s = ", fn->names[i], (int)(w - strlen(fn->names[i]) - 4), "");
            cli_print_tensor(stdout, prefix, err[i]);
        }
    }
}

static void json_grads(const cli_fn *fn, ad_tensor *const *g)
{
    printf("{");
    bool first = true;
    for (int i = 0; i < fn->nvars; i++) {
        if (!g[i]) continue;
        printf(first ? "" : ", ");
        first = false;
        cli_json_string(stdout, fn->names[i]);
        printf(": ");
        cli_json_tensor(stdout, g[i]);
    }
    printf("}");
}

static int one_mode(cli_fn *fn, const ad_backend *b, const ad_options *o, bool json)
{
    ad_tensor *value = NULL, *g[CLI_MAX_VARS] = {0}, *err[CLI_MAX_VARS] = {0};
    ad_stats st;
    if (ad_value_and_grad(b, &fn->problem, o, &value, g, err, &st) != AD_OK) {
        cli_report_error(fn, "grad");
        return CLI_USAGE;
    }
    if (json) {
        printf("{\"expr\": ");
        cli_json_string(stdout, fn->label);
        printf(", \"mode\": ");
        cli_json_string(stdout, b->name);
        printf(", \"value\": ");
        cli_json_tensor(stdout, value);
        printf(", \"gradients\": ");
        json_grads(fn, g);
        printf("}\n");
    } else {
        char pad[64];
        size_t w = 5;
        for (int i = 0; i < fn->nvars; i++)
            if (fn->wrt[i] && strlen(fn->names[i]) + 5 > w) w = strlen(fn->names[i]) + 5;
        snprintf(pad, sizeof pad, "value%*s = ", (int)(w - 5), "");
        cli_print_tensor(stdout, pad, value);
        print_grads(fn, g, err);
    }
    return CLI_OK;
}

static int all_modes(cli_fn *fn, const ad_options *o, bool json)
{
    const ad_backend *ref = ad_backend_find("five-point");
    ad_tensor *value = NULL, *gref[CLI_MAX_VARS] = {0};
    if (ad_value_and_grad(ref, &fn->problem, o, &value, gref, NULL, NULL) != AD_OK) {
        cli_report_error(fn, "grad");
        return CLI_USAGE;
    }
    int status = CLI_OK;
    if (json) {
        printf("{\"expr\": ");
        cli_json_string(stdout, fn->label);
        printf(", \"value\": ");
        cli_json_tensor(stdout, value);
        printf(", \"reference\": \"%s\", \"modes\": {", ref->name);
    } else {
        cli_print_tensor(stdout, "value = ", value);
        printf("(differences from the %s reference)\n", ref->name);
    }
    for (int bi = 0; bi < ad_backend_count(); bi++) {
        const ad_backend *b = ad_backend_at(bi);
        ad_scope s = ad_scope_begin(fn->ctx);
        ad_tensor *g[CLI_MAX_VARS] = {0};
        ad_stats st;
        ad_clear_error(fn->ctx);
        int rc = ad_value_and_grad(b, &fn->problem, o, NULL, g, NULL, &st);
        if (json) {
            printf("%s", bi ? ", " : "");
            cli_json_string(stdout, b->name);
            if (rc != AD_OK) {
                printf(": {\"error\": ");
                cli_json_string(stdout, ad_errmsg(fn->ctx));
                printf("}");
            } else {
                printf(": {\"gradients\": ");
                json_grads(fn, g);
                printf(", \"max_abs_err\": ");
                cli_json_number(stdout, max_abs_diff(fn, g, gref));
                printf(", \"passes\": %lld, \"seconds\": ", (long long)st.passes);
                cli_json_number(stdout, st.seconds);
                printf("}");
            }
        } else if (rc != AD_OK) {
            printf("\n[%s] failed: %s\n", b->name, ad_errmsg(fn->ctx));
        } else {
            printf("\n[%s] max |grad - ref| = %.3g   (%lld pass%s, %.3g ms)\n", b->name, max_abs_diff(fn, g, gref),
                   (long long)st.passes, st.passes == 1 ? "" : "es", st.seconds * 1e3);
            print_grads(fn, g, NULL);
        }
        if (rc != AD_OK) status = CLI_FAILED;
        ad_scope_end(fn->ctx, s, NULL);
    }
    if (json) printf("}}\n");
    return status;
}

/* grad needs a single value: say so plainly before any backend does. */
static int check_scalar(cli_fn *fn)
{
    bool prev = ad_set_grad_enabled(fn->ctx, false);
    ad_tensor *y = fn->problem.f(fn->ctx, fn->problem.in, fn->problem.user);
    ad_set_grad_enabled(fn->ctx, prev);
    if (!y) {
        cli_report_error(fn, "grad");
        return CLI_USAGE;
    }
    int rc = CLI_OK;
    if (ad_numel(y) != 1) {
        char shape[128];
        ad_shape sh = ad_shape_of(y);
        ad_shape_str(&sh, shape, sizeof shape);
        fprintf(stderr,
                "adscope grad: '%s' has shape %s, not a single value: use 'adscope jacobian' for a vector-valued "
                "function, or reduce it (e.g. sum(...))\n",
                fn->label, shape);
        rc = CLI_USAGE;
    }
    ad_tensor_free(y);
    return rc;
}

int cmd_grad(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "grad", OPTS, (int)(sizeof OPTS / sizeof OPTS[0]), argc, argv, 2);
    if (rc != CLI_OK) return rc;
    if (cli_has(&a, "help")) return cli_help_of("grad");
    ad_options o;
    if (cli_backend_opts(&a, &o) != CLI_OK) return CLI_USAGE;
    const char *mode = cli_get(&a, "mode") ? cli_get(&a, "mode") : "reverse";
    const ad_backend *b = NULL;
    if (strcmp(mode, "all") != 0 && !(b = cli_backend("grad", mode))) return CLI_USAGE;
    ad_ctx *ctx = cli_ctx_new(&a, &rc);
    if (!ctx) return rc;
    ad_scope s = ad_scope_begin(ctx);
    cli_fn fn;
    rc = cli_fn_open(&fn, ctx, &a);
    if (rc == CLI_OK) rc = check_scalar(&fn);
    if (rc == CLI_OK) rc = b ? one_mode(&fn, b, &o, cli_has(&a, "json")) : all_modes(&fn, &o, cli_has(&a, "json"));
    ad_scope_end(ctx, s, NULL);
    cli_fn_close(&fn);
    ad_ctx_free(ctx);
    return rc;
}
