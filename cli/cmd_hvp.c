/* cli/cmd_hvp.c — adscope hvp: a Hessian-vector product H·v of a scalar
 * function by forward over reverse (ad_hvp): one pass with the tangent v
 * attached, one sweep, never forming H. */
#include <string.h>

#include "cli.h"

#define CMD "hvp"

static const char HELP[] =
    "NAME\n"
    "    adscope hvp - a Hessian-vector product of a scalar function (forward over reverse)\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope hvp EXPR [--var NAME=VALUE]... --v NAME=DIRECTION... [--wrt NAMES] [--seed S] [--json]\n"
    "    adscope hvp --plugin PATH.so:SYMBOL --var NAME=VALUE... --v NAME=DIRECTION... [options]\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the value of EXPR (a single value), its gradient and the product of\n"
    "    its Hessian with the direction v given, per variable, by --v: for each\n"
    "    variable x, hvp[x] = sum over y of H[x,y] v[y], of x's shape.  One pass of\n"
    "    EXPR in forward mode with v as tangent is recorded for reverse mode, and one\n"
    "    sweep gives the gradient and its derivative along v: the cost of about two\n"
    "    gradients whatever the size, where 'adscope hessian' needs n*n numbers.\n"
    "\n"
    "OPTIONS\n"
    "    --var NAME=VALUE      bind a variable (see 'adscope grad --help').\n"
    "    --v NAME=DIRECTION    the direction for variable NAME, a VALUE of the same\n"
    "                          shape; one for every variable differentiated.\n"
    "    --wrt NAMES           only these variables (comma-separated).\n"
    "    --seed S              seed of randn()/rand() in values and directions.\n"
    "    --plugin PATH.so:SYMBOL   a C function instead of EXPR.\n"
    "    --json                {\"expr\": E, \"value\": V, \"gradients\": {\"x\": G},\n"
    "                          \"hvp\": {\"x\": HV}}.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 usage or input error (bad expression, a missing or misshapen\n"
    "    direction, a value that is not a single number...).\n"
    "\n"
    "EXAMPLES\n"
    "    adscope hvp 'sum(x^3)' --var x='arange(4)' --v x='ones(4)'\n"
    "        x.hvp  = tensor([ 0.,  6., 12., 18.])\n"
    "    adscope hvp 'sum(sin(x))' --var x='randn(100000)' --v x='ones(100000)'\n";

static const cli_opt OPTS[] = {CLI_FN_OPTS, {"v", CLI_MULTI, "NAME=DIRECTION"}};

/* Each --v NAME=DIRECTION into v[] by the variable's index. */
static int directions(cli_fn *fn, const cli_args *a, ad_tensor **v)
{
    for (int k = 0; k < cli_count(a, "v"); k++) {
        const char *item = cli_item(a, "v", k), *eq = strchr(item, '=');
        char name[128];
        if (!eq || eq == item || (size_t)(eq - item) >= sizeof name) {
            fprintf(stderr, "adscope %s: --v expects NAME=DIRECTION, not '%s'\n", CMD, item);
            return CLI_USAGE;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - item), item);
        int i = cli_fn_var(fn, name);
        if (i < 0 || !fn->wrt[i]) {
            fprintf(stderr, "adscope %s: --v %s: '%s' is not a variable being differentiated\n", CMD, item, name);
            return CLI_USAGE;
        }
        ad_expr_error err;
        if (v[i] || !(v[i] = ad_expr_value(fn->ctx, eq + 1, &err))) {
            if (v[i]) fprintf(stderr, "adscope %s: --v %s given twice\n", CMD, name);
            else cli_print_expr_error(CMD, "in --v: ", eq + 1, &err);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

/* Every variable differentiated has a direction of its shape. */
static int check_directions(const cli_fn *fn, ad_tensor *const *v)
{
    for (int i = 0; i < fn->nvars; i++) {
        if (!fn->wrt[i]) continue;
        if (!v[i]) {
            fprintf(stderr, "adscope %s: missing the direction of '%s': give --v %s=DIRECTION (one per variable "
                            "differentiated)\n", CMD, fn->names[i], fn->names[i]);
            return CLI_USAGE;
        }
        ad_shape a = ad_shape_of(fn->values[i]), b = ad_shape_of(v[i]);
        if (a.ndim != b.ndim || memcmp(a.dim, b.dim, (size_t)a.ndim * sizeof a.dim[0]) != 0) {
            char sa[128], sb[128];
            ad_shape_str(&a, sa, sizeof sa);
            ad_shape_str(&b, sb, sizeof sb);
            fprintf(stderr, "adscope %s: the direction of '%s' has shape %s, but '%s' has shape %s\n", CMD,
                    fn->names[i], sb, fn->names[i], sa);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

static void print_json(const cli_fn *fn, ad_tensor *value, ad_tensor *const *g, ad_tensor *const *hv)
{
    printf("{\"expr\": ");
    cli_json_string(stdout, fn->label);
    printf(", \"value\": ");
    cli_json_tensor(stdout, value);
    printf(", \"gradients\": ");
    cli_json_named(stdout, fn, g);
    printf(", \"hvp\": ");
    cli_json_named(stdout, fn, hv);
    printf("}\n");
}

static void print_text(const cli_fn *fn, ad_tensor *value, ad_tensor *const *g, ad_tensor *const *hv)
{
    size_t w = 5; /* "value", then the longest "NAME.grad" */
    for (int i = 0; i < fn->nvars; i++)
        if (fn->wrt[i] && strlen(fn->names[i]) + 5 > w) w = strlen(fn->names[i]) + 5;
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%-*s = ", (int)w, "value");
    cli_print_tensor(stdout, prefix, value);
    for (int i = 0; i < fn->nvars; i++) {
        if (!g[i]) continue;
        char label[160];
        snprintf(label, sizeof label, "%s.grad", fn->names[i]);
        snprintf(prefix, sizeof prefix, "%-*s = ", (int)w, label);
        cli_print_tensor(stdout, prefix, g[i]);
        snprintf(label, sizeof label, "%s.hvp", fn->names[i]);
        snprintf(prefix, sizeof prefix, "%-*s = ", (int)w, label);
        cli_print_tensor(stdout, prefix, hv[i]);
    }
}

static int run(cli_call *c)
{
    cli_fn *fn = c->fn;
    ad_tensor *v[CLI_MAX_VARS] = {0}, *value = NULL, *g[CLI_MAX_VARS] = {0}, *hv[CLI_MAX_VARS] = {0};
    int rc = directions(fn, c->args, v);
    if (rc == CLI_OK) rc = check_directions(fn, v);
    if (rc != CLI_OK) return rc;
    if (ad_hvp(&fn->problem, v, &value, g, hv, NULL) != AD_OK) {
        cli_report_error(fn);
        return CLI_USAGE;
    }
    if (cli_has(c->args, "json")) print_json(fn, value, g, hv);
    else print_text(fn, value, g, hv);
    return CLI_OK;
}

const cli_command cli_cmd_hvp = {
    .name = CMD,
    .summary = "a Hessian-vector product of a scalar expression (forward over reverse)",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_FN,
    .run = run,
};
