/* cli/cmd_grad.c — adscope grad: the value and gradient of a scalar
 * function, by one backend or by all of them side by side. */
#include <math.h>
#include <string.h>

#include "cli.h"
#include "guard.h"

static const char HELP[] =
    "NAME\n"
    "    adscope grad - value and gradient of a scalar function\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope grad EXPR [--var NAME=VALUE]... [--mode MODE] [--wrt NAMES] [--seed S] [--json]\n"
    "    adscope grad --plugin PATH.so:SYMBOL --var NAME=VALUE... [options]\n"
    "    adscope grad --plugin PATH.so:SYMBOL --abi c --var x=VALUE [--mode central]\n"
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
    "                       the five-point reference.  Default: reverse (central\n"
    "                       for --abi c).\n"
    "    --wrt NAMES        differentiate with respect to these variables only\n"
    "                       (comma-separated); the others are held constant.\n"
    "    --width K          directions per pass for forward-vector (default: from n).\n"
    "    --h H              finite differences: a fixed absolute step instead of the\n"
    "                       automatic one.\n"
    "    --seed S           seed of randn()/rand() in values (default 0).\n"
    "    --plugin PATH.so:SYMBOL\n"
    "                       differentiate a C function from a shared library instead\n"
    "                       of EXPR (see examples/plugin_rosenbrock.c).\n"
    "    --abi c            the plugin is plain C over one array (a black box):\n"
    "                       double SYMBOL(const double *x, size_t n, void *user)\n"
    "                       (see examples/plugin_cabi.c).  Only difference modes see\n"
    "                       inside it: the default mode is then central, and the AD\n"
    "                       modes refuse it.  --abi tensor (the default): adscope's ops.\n"
    "    --json             print JSON (schema in the README) instead of text.\n"
    "    --force            run even when the estimated time (evaluations of f x one\n"
    "                       evaluation, measured) exceeds 60 s; without it a mode\n"
    "                       whose cost grows with the inputs refuses (exit 2).\n"
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
                               {"h", CLI_VALUE, "H"}, {"force", CLI_FLAG, NULL}};

typedef struct {
    ad_options o;
    const ad_backend *b; /* NULL: --mode all */
    bool json;
} grad_opts;

static int options(const cli_args *a, void *opts)
{
    grad_opts *g = opts;
    if (cli_backend_opts(a, &g->o) != CLI_OK) return CLI_USAGE;
    const char *mode = cli_get(a, "mode");
    const char *abi = cli_get(a, "abi");
    if (!mode && abi && strcmp(abi, "c") == 0) {
        /* a black box: reverse mode would refuse it, differences see it */
        g->b = cli_backend("grad", "central");
        if (!g->b) return CLI_USAGE;
        fprintf(stderr, "adscope grad: --abi c: f is a black box, so the mode is central differences (--mode to "
                        "choose another difference rule)\n");
    } else if (!mode) g->b = ad_backend_with(AD_CAP_EXACT | AD_CAP_REVERSE); /* the default: one sweep */
    else if (strcmp(mode, "all") != 0 && !(g->b = cli_backend("grad", mode))) return CLI_USAGE;
    g->json = cli_has(a, "json");
    return CLI_OK;
}

static double max_abs_diff(const cli_fn *fn, ad_tensor *const *g, ad_tensor *const *ref)
{
    double m = 0;
    for (int i = 0; i < fn->nvars; i++) {
        if (!g[i] || !ref[i] || ad_numel(g[i]) == 0) continue; /* nothing to differ: no NaN from max([]) */
        ad_tensor *d = ad_max(ad_abs(ad_sub(g[i], ref[i])), AD_ALL, false);
        double v = ad_item(d);
        ad_tensor_free(d);
        if (isnan(v) || v > m) m = v;
    }
    return m;
}

/* The width of "value" and of the longest "NAME.grad", so that the '='
 * signs line up. */
static size_t label_width(const cli_fn *fn)
{
    size_t w = 5; /* "value" */
    for (int i = 0; i < fn->nvars; i++)
        if (fn->wrt[i] && strlen(fn->names[i]) + 5 > w) w = strlen(fn->names[i]) + 5;
    return w;
}

static void print_grads(const cli_fn *fn, ad_tensor *const *g, ad_tensor *const *err)
{
    size_t w = label_width(fn);
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

/* width: directions per pass of a VECTOR backend (ad_stats.width), else 0 */
static void print_one(const cli_fn *fn, const ad_backend *b, bool json, ad_tensor *value, ad_tensor *const *g,
                      ad_tensor *const *err, int width)
{
    if (json) {
        printf("{\"expr\": ");
        cli_json_string(stdout, fn->label);
        printf(", \"mode\": ");
        cli_json_string(stdout, b->name);
        if (width > 0) printf(", \"width\": %d", width);
        printf(", \"value\": ");
        cli_json_tensor(stdout, value);
        printf(", \"gradients\": ");
        cli_json_named(stdout, fn, g);
        printf("}\n");
        return;
    }
    char pad[64];
    snprintf(pad, sizeof pad, "value%*s = ", (int)(label_width(fn) - 5), "");
    cli_print_tensor(stdout, pad, value);
    print_grads(fn, g, err);
    if (width > 0) printf("(%s: %d direction%s per pass)\n", b->name, width, width == 1 ? "" : "s");
}

/* An AD gradient that is exactly zero everywhere: f may be a black box
 * that AD cannot see into (cli_fn_note_black_box decides). */
static bool all_zero(const cli_fn *fn, ad_tensor *const *g)
{
    for (int i = 0; i < fn->nvars; i++) {
        if (!g[i]) continue;
        ad_tensor *m = ad_max(ad_abs(g[i]), AD_ALL, false);
        double v = ad_item(m);
        ad_tensor_free(m);
        if (v != 0) return false;
    }
    return true;
}

static int one_backend(cli_fn *fn, const grad_opts *g)
{
    ad_tensor *value = NULL, *grad[CLI_MAX_VARS] = {0}, *err[CLI_MAX_VARS] = {0};
    ad_stats st;
    if (ad_value_and_grad(g->b, &fn->problem, &g->o, &value, grad, err, &st) != AD_OK) {
        cli_report_error(fn);
        return CLI_USAGE;
    }
    print_one(fn, g->b, g->json, value, grad, err, (g->b->caps & AD_CAP_VECTOR) ? st.width : 0);
    if ((g->b->caps & AD_CAP_RULES) && all_zero(fn, grad)) cli_fn_note_black_box(fn);
    return CLI_OK;
}

/* One backend's row of --mode all: its gradients and their largest
 * difference from the reference, or its error. */
static void print_row(const cli_fn *fn, const ad_backend *b, bool json, bool first, int rc, ad_tensor *const *g,
                      ad_tensor *const *ref, const ad_stats *st)
{
    if (json) {
        printf("%s", first ? "" : ", ");
        cli_json_string(stdout, b->name);
        if (rc != AD_OK) {
            printf(": {\"error\": ");
            cli_json_string(stdout, ad_errmsg(fn->ctx));
            printf("}");
            return;
        }
        printf(": {\"gradients\": ");
        cli_json_named(stdout, fn, g);
        printf(", \"max_abs_err\": ");
        cli_json_number(stdout, max_abs_diff(fn, g, ref));
        printf(", \"passes\": %lld, \"seconds\": ", (long long)st->passes);
        cli_json_number(stdout, st->seconds);
        printf("}");
    } else if (rc != AD_OK) {
        printf("\n[%s] failed: %s\n", b->name, ad_errmsg(fn->ctx));
    } else {
        printf("\n[%s] max |grad - ref| = %.3g   (%lld pass%s, %.3g ms)\n", b->name, max_abs_diff(fn, g, ref),
               (long long)st->passes, cli_plural(st->passes, "es"), st->seconds * 1e3);
        print_grads(fn, g, NULL);
    }
}

static void print_all_header(const cli_fn *fn, const ad_backend *ref, bool json, ad_tensor *value)
{
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
}

/* Every backend side by side, against the difference reference. */
static int all_backends(cli_fn *fn, const grad_opts *g)
{
    const ad_backend *ref = ad_backend_reference();
    ad_tensor *value = NULL, *gref[CLI_MAX_VARS] = {0};
    if (ad_value_and_grad(ref, &fn->problem, &g->o, &value, gref, NULL, NULL) != AD_OK) {
        cli_report_error(fn);
        return CLI_USAGE;
    }
    print_all_header(fn, ref, g->json, value);
    int status = CLI_OK;
    for (int bi = 0; bi < ad_backend_count(); bi++) {
        const ad_backend *b = ad_backend_at(bi);
        ad_scope s = ad_scope_begin(fn->ctx);
        ad_tensor *grad[CLI_MAX_VARS] = {0};
        ad_stats st;
        ad_clear_error(fn->ctx);
        int rc = ad_value_and_grad(b, &fn->problem, &g->o, NULL, grad, NULL, &st);
        print_row(fn, b, g->json, bi == 0, rc, grad, gref, &st);
        /* an AD mode refusing a black box (its row says why) is expected, not a failure */
        bool refused = fn->opaque && (b->caps & AD_CAP_RULES);
        if (rc != AD_OK && !refused) status = CLI_FAILED;
        ad_scope_end(fn->ctx, s, NULL);
    }
    if (g->json) printf("}}\n");
    return status;
}

/* grad needs a single value: say so plainly before any backend does. */
static int check_scalar(cli_fn *fn)
{
    ad_tensor *y = cli_fn_value(fn);
    if (!y) return CLI_USAGE;
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

static int run(cli_call *c)
{
    const grad_opts *g = c->opts;
    int rc = check_scalar(c->fn);
    if (rc == CLI_OK) rc = cli_guard_grad(c->fn, g->b, &g->o, c->args); /* forward at n = 1e6: hours */
    if (rc != CLI_OK) return rc;
    return g->b ? one_backend(c->fn, g) : all_backends(c->fn, g);
}

const cli_command cli_cmd_grad = {
    .name = "grad",
    .summary = "value and gradient of a scalar expression, by any backend or all",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_FN,
    .opts_size = sizeof(grad_opts),
    .options = options,
    .run = run,
};
