/* cli/cmd_hessian.c — adscope hessian: the dense Hessian of a scalar
 * function by forward over reverse (ad_hessian), block by block for the
 * variables differentiated. */
#include <string.h>

#include "cli.h"

#define CMD "hessian"

static const char HELP[] =
    "NAME\n"
    "    adscope hessian - the Hessian of a scalar function (forward over reverse)\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope hessian EXPR [--var NAME=VALUE]... [--wrt NAMES] [--width K] [--seed S] [--json]\n"
    "    adscope hessian --plugin PATH.so:SYMBOL --var NAME=VALUE... [options]\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the value of EXPR, which must give a single value, and its matrix of\n"
    "    second derivatives: for every pair of variables x, y the block\n"
    "    H[x,y] = d2 EXPR / dx dy of shape x.shape + y.shape (PyTorch's\n"
    "    torch.autograd.functional.hessian).  It is computed by forward mode over\n"
    "    reverse mode: each pass attaches K unit tangents, records EXPR, and one\n"
    "    reverse sweep gives the gradient with its K directional derivatives, that\n"
    "    is K columns of H; n inputs take ceil(n/K) passes.\n"
    "\n"
    "    A dense Hessian of n inputs holds n*n numbers: at most 4096 inputs are\n"
    "    accepted.  For more, use 'adscope hvp', which gives H v for one direction v\n"
    "    at the cost of about two gradients, without forming H.\n"
    "\n"
    "OPTIONS\n"
    "    --var NAME=VALUE   bind a variable (see 'adscope grad --help').\n"
    "    --wrt NAMES        only these variables (comma-separated).\n"
    "    --width K          tangents per pass (default 16).\n"
    "    --seed S           seed of randn()/rand() in values.\n"
    "    --plugin PATH.so:SYMBOL   a C function instead of EXPR.\n"
    "    --json             {\"expr\": E, \"value\": V, \"hessian\": {\"x\": {\"x\": H, \"y\": H}},\n"
    "                       \"passes\": P, \"sweeps\": S}.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 usage or input error (bad expression, a value that is not a\n"
    "    single number, more than 4096 inputs...).\n"
    "\n"
    "EXAMPLES\n"
    "    adscope hessian 'x^3 + x*y^2' --var x=1 --var y=2\n"
    "        H[x,x] = tensor(6.)   H[x,y] = tensor(4.)   H[y,y] = tensor(2.) ...\n"
    "    adscope hessian 'sum(x^4)/4' --var x='arange(3)'\n"
    "        H[x,x] = tensor([[ 0.,  0.,  0.], [ 0.,  3.,  0.], [ 0.,  0., 12.]])\n";

static const cli_opt OPTS[] = {CLI_FN_OPTS, {"width", CLI_VALUE, "K"}};

typedef struct {
    ad_options o;
} hessian_opts;

static int options(const cli_args *a, void *opts)
{
    hessian_opts *h = opts;
    long long k;
    if (cli_int(a, "width", 16, 1, 4096, &k) != CLI_OK) return CLI_USAGE;
    h->o.width = (int)k;
    return CLI_OK;
}

static void print_json(const cli_fn *fn, const ad_stats *st, ad_tensor *value, ad_tensor *const *H)
{
    int n = fn->nvars;
    printf("{\"expr\": ");
    cli_json_string(stdout, fn->label);
    printf(", \"value\": ");
    cli_json_tensor(stdout, value);
    printf(", \"hessian\": {");
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (!fn->wrt[i]) continue;
        printf("%s", first ? "" : ", ");
        first = false;
        cli_json_string(stdout, fn->names[i]);
        printf(": ");
        cli_json_named(stdout, fn, H + (size_t)i * (size_t)n);
    }
    printf("}, \"passes\": %lld, \"sweeps\": %lld}\n", (long long)st->passes, (long long)st->sweeps);
}

static void print_text(const cli_fn *fn, const ad_stats *st, ad_tensor *value, ad_tensor *const *H)
{
    int n = fn->nvars;
    printf("forward over reverse: %lld pass%s, %lld sweep%s\n", (long long)st->passes, cli_plural(st->passes, "es"),
           (long long)st->sweeps, cli_plural(st->sweeps, "s"));
    cli_print_tensor(stdout, "value = ", value);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (!H[i * n + j]) continue;
            char prefix[300];
            snprintf(prefix, sizeof prefix, "H[%s,%s] = ", fn->names[i], fn->names[j]);
            cli_print_tensor(stdout, prefix, H[i * n + j]);
        }
}

static int run(cli_call *c)
{
    const hessian_opts *h = c->opts;
    cli_fn *fn = c->fn;
    ad_tensor *value = NULL, *H[CLI_MAX_VARS * CLI_MAX_VARS] = {0};
    ad_stats st;
    int rc = ad_hessian(&fn->problem, &h->o, &value, H, &st);
    if (rc != AD_OK) {
        cli_report_error(fn);
        if (rc == AD_ELIMIT)
            fprintf(stderr, "adscope %s: for a Hessian-vector product without forming H, use "
                            "'adscope hvp EXPR --var ... --v NAME=DIRECTION'\n", CMD);
        return CLI_USAGE;
    }
    if (cli_has(c->args, "json")) print_json(fn, &st, value, H);
    else print_text(fn, &st, value, H);
    return CLI_OK;
}

const cli_command cli_cmd_hessian = {
    .name = CMD,
    .summary = "the Hessian of a scalar expression (forward over reverse)",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_FN,
    .opts_size = sizeof(hessian_opts),
    .options = options,
    .run = run,
};
