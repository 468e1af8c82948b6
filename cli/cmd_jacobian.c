/* cli/cmd_jacobian.c — adscope jacobian: the full Jacobian of a
 * vector-valued function, by columns (forward), rows (reverse), or the
 * automatic choice by shape. */
#include <string.h>

#include "cli.h"

const char CLI_HELP_JACOBIAN[] =
    "NAME\n"
    "    adscope jacobian - the Jacobian of a vector-valued function\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope jacobian EXPR [--var NAME=VALUE]... [--mode MODE|auto] [--wrt NAMES] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the value of EXPR and, for every variable x, the Jacobian dEXPR/dx with\n"
    "    shape value.shape + x.shape (PyTorch's torch.autograd.functional.jacobian).\n"
    "    Forward-mode backends fill it by columns (one pass per input element, or per\n"
    "    k with forward-vector); reverse mode by rows (one recorded pass and one sweep\n"
    "    per output element); finite differences by columns.  --mode auto (the\n"
    "    default) picks forward when there are no more inputs than outputs and\n"
    "    reverse otherwise, and says why.\n"
    "\n"
    "OPTIONS\n"
    "    --var NAME=VALUE   bind a variable (see 'adscope grad --help').\n"
    "    --mode MODE        a backend name, or auto (default).\n"
    "    --width K          directions per pass for forward-vector.\n"
    "    --h H              finite differences: a fixed absolute step.\n"
    "    --wrt NAMES        only these variables (comma-separated).\n"
    "    --seed S           seed of randn()/rand() in values.\n"
    "    --plugin PATH.so:SYMBOL   a C function instead of EXPR.\n"
    "    --json             {\"value\": V, \"mode\": M, \"jacobians\": {\"x\": J}}.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 usage or input error.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope jacobian 'sin(s * linspace(1, 2, 5))' --var s=0.3          # forward: 1 pass\n"
    "    adscope jacobian 'x * x[0]' --var x='arange(3)' --mode reverse\n";

static const cli_opt OPTS[] = {CLI_FN_OPTS, {"mode", CLI_VALUE, "MODE"}, {"width", CLI_VALUE, "K"},
                               {"h", CLI_VALUE, "H"}};

int cmd_jacobian(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "jacobian", OPTS, (int)(sizeof OPTS / sizeof OPTS[0]), argc, argv, 2);
    if (rc != CLI_OK) return rc;
    if (cli_has(&a, "help")) return cli_help_of("jacobian");
    ad_options o;
    if (cli_backend_opts(&a, &o) != CLI_OK) return CLI_USAGE;
    const char *mode = cli_get(&a, "mode") ? cli_get(&a, "mode") : "auto";
    const ad_backend *b = NULL;
    if (strcmp(mode, "auto") != 0 && !(b = cli_backend("jacobian", mode))) return CLI_USAGE;
    ad_ctx *ctx = cli_ctx_new(&a, &rc);
    if (!ctx) return rc;
    ad_scope s = ad_scope_begin(ctx);
    cli_fn fn;
    rc = cli_fn_open(&fn, ctx, &a);
    if (rc == CLI_OK) {
        ad_tensor *value = NULL, *J[CLI_MAX_VARS] = {0};
        ad_jacobian_info info;
        ad_stats st;
        if (ad_jacobian(b, &fn.problem, &o, &value, J, NULL, &info, &st) != AD_OK) {
            cli_report_error(&fn, "jacobian");
            rc = CLI_USAGE;
        } else if (cli_has(&a, "json")) {
            printf("{\"expr\": ");
            cli_json_string(stdout, fn.label);
            printf(", \"mode\": ");
            cli_json_string(stdout, info.backend->name);
            printf(", \"reason\": ");
            cli_json_string(stdout, info.reason);
            printf(", \"value\": ");
            cli_json_tensor(stdout, value);
            printf(", \"jacobians\": {");
            bool first = true;
            for (int i = 0; i < fn.nvars; i++) {
                if (!J[i]) continue;
                printf("%s", first ? "" : ", ");
                first = false;
                cli_json_string(stdout, fn.names[i]);
                printf(": ");
                cli_json_tensor(stdout, J[i]);
            }
            printf("}}\n");
        } else {
            printf("mode: %s, %s (%lld pass%s, %lld sweep%s)\n", info.backend->name, info.reason,
                   (long long)st.passes, st.passes == 1 ? "" : "es", (long long)st.sweeps, st.sweeps == 1 ? "" : "s");
            cli_print_tensor(stdout, "value = ", value);
            for (int i = 0; i < fn.nvars; i++) {
                if (!J[i]) continue;
                char prefix[160];
                snprintf(prefix, sizeof prefix, "d/d%s = ", fn.names[i]);
                cli_print_tensor(stdout, prefix, J[i]);
            }
        }
    }
    ad_scope_end(ctx, s, NULL);
    cli_fn_close(&fn);
    ad_ctx_free(ctx);
    return rc;
}
