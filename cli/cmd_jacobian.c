/* cli/cmd_jacobian.c — adscope jacobian: the full Jacobian of a
 * vector-valued function, by columns (forward), rows (reverse), or the
 * automatic choice by shape. */
#include <string.h>

#include "cli.h"

static const char HELP[] =
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

typedef struct {
    ad_options o;
    const ad_backend *b; /* NULL: auto */
} jacobian_opts;

static int options(const cli_args *a, void *opts)
{
    jacobian_opts *j = opts;
    if (cli_backend_opts(a, &j->o) != CLI_OK) return CLI_USAGE;
    const char *mode = cli_get(a, "mode") ? cli_get(a, "mode") : "auto";
    if (strcmp(mode, "auto") != 0 && !(j->b = cli_backend("jacobian", mode))) return CLI_USAGE;
    return CLI_OK;
}

static void print_json(const cli_fn *fn, const ad_jacobian_info *info, ad_tensor *value, ad_tensor *const *J)
{
    printf("{\"expr\": ");
    cli_json_string(stdout, fn->label);
    printf(", \"mode\": ");
    cli_json_string(stdout, info->backend->name);
    printf(", \"reason\": ");
    cli_json_string(stdout, info->reason);
    printf(", \"value\": ");
    cli_json_tensor(stdout, value);
    printf(", \"jacobians\": ");
    cli_json_named(stdout, fn, J);
    printf("}\n");
}

static void print_text(const cli_fn *fn, const ad_jacobian_info *info, const ad_stats *st, ad_tensor *value,
                       ad_tensor *const *J)
{
    printf("mode: %s, %s (%lld pass%s, %lld sweep%s)\n", info->backend->name, info->reason, (long long)st->passes,
           cli_plural(st->passes, "es"), (long long)st->sweeps, cli_plural(st->sweeps, "s"));
    cli_print_tensor(stdout, "value = ", value);
    for (int i = 0; i < fn->nvars; i++) {
        if (!J[i]) continue;
        char prefix[160];
        snprintf(prefix, sizeof prefix, "d/d%s = ", fn->names[i]);
        cli_print_tensor(stdout, prefix, J[i]);
    }
}

static int run(cli_call *c)
{
    const jacobian_opts *j = c->opts;
    ad_tensor *value = NULL, *J[CLI_MAX_VARS] = {0};
    ad_jacobian_info info;
    ad_stats st;
    if (ad_jacobian(j->b, &c->fn->problem, &j->o, &value, J, NULL, &info, &st) != AD_OK) {
        cli_report_error(c->fn);
        return CLI_USAGE;
    }
    if (cli_has(c->args, "json")) print_json(c->fn, &info, value, J);
    else print_text(c->fn, &info, &st, value, J);
    return CLI_OK;
}

const cli_command cli_cmd_jacobian = {
    .name = "jacobian",
    .summary = "the Jacobian of a vector-valued expression (forward, reverse or auto)",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_FN,
    .opts_size = sizeof(jacobian_opts),
    .options = options,
    .run = run,
};
