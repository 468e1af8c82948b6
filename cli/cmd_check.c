/* cli/cmd_check.c — adscope check: the gradient check of ad_gradcheck
 * from the shell.  Exit 0 when it passes, 1 when it fails, 2 when it cannot
 * run. */
#include <math.h>
#include <string.h>

#include "cli.h"
#include "guard.h"

static const char HELP[] =
    "NAME\n"
    "    adscope check - are the derivatives of a function right?\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope check EXPR [--var NAME=VALUE]... [--atol A] [--rtol R] [--fast] [--json]\n"
    "    adscope check --plugin PATH.so:SYMBOL [--grad-symbol SYMBOL] --var NAME=VALUE... [options]\n"
    "\n"
    "DESCRIPTION\n"
    "    Compares every automatic-differentiation backend (forward, reverse,\n"
    "    forward-vector and any registered one), and the hand-written gradient of a\n"
    "    plugin (--grad-symbol), with a five-point finite-difference reference,\n"
    "    element by element over the whole Jacobian: an entry passes when\n"
    "        |analytic - numeric| <= atol + rtol*|numeric| + estimate,\n"
    "    the estimate being the reference's own error estimate.  Coordinates where\n"
    "    the one-sided differences disagree (relu or abs at 0, max with ties) are\n"
    "    reported as non-differentiable, and the analytic value passes if it lies\n"
    "    between them.  NaN or Inf anywhere is a failure.\n"
    "\n"
    "    Two checks need no step size at all: the identity <v, J u> = <J^T v, u>\n"
    "    between forward and reverse mode for random u, v, and the Taylor test:\n"
    "    |f(x + h v) - f(x) - h <grad f(x), v>| must shrink like h^2; the observed\n"
    "    order is printed (about 2 when the gradient is right, about 1 when not).\n"
    "\n"
    "    On failure only the mismatching entries are printed, worst first.\n"
    "\n"
    "OPTIONS\n"
    "    --var NAME=VALUE     bind a variable (see 'adscope grad --help').\n"
    "    --atol A, --rtol R   tolerances (default 1e-6 and 1e-5).\n"
    "    --fast               check a few random directions instead of every\n"
    "                         coordinate (for large inputs).\n"
    "    --directions N       directions in --fast mode (default 4).\n"
    "    --second-order       also check Hessian-vector products (forward over reverse)\n"
    "                         against differences of gradients.\n"
    "    --reference NAME     the finite-difference backend used as reference\n"
    "                         (default five-point; central, forward-diff, gsl-deriv).\n"
    "    --max-rows N         mismatching entries printed (default 10).\n"
    "    --wrt NAMES          check only these variables (comma-separated).\n"
    "    --seed S             seed of random values and random directions.\n"
    "    --plugin PATH.so:SYMBOL, --grad-symbol SYMBOL\n"
    "                         check a C function, and its hand-written gradient\n"
    "                         (int SYMBOL(ad_ctx*, ad_tensor *const *in, ad_tensor **grad,\n"
    "                         void *user)), from a shared library.\n"
    "    --json               print JSON (schema in the README).\n"
    "    --force              run even when the estimated time exceeds 60 s (else\n"
    "                         exit 2, pointing at --fast).\n"
    "\n"
    "EXIT STATUS\n"
    "    0 the check passed; 1 it failed; 2 usage or input error.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope check 'sum(sin(x)*x^2 + exp(-x^2))' --var x='linspace(-1,1,5)'\n"
    "    adscope check 'sum(relu(x))' --var x='[-1, 0, 1]'          # a kink, accepted\n"
    "    adscope check --plugin ./plugin_rosenbrock.so:rosenbrock \\\n"
    "                  --grad-symbol rosenbrock_grad_wrong --var x='linspace(0,1,6)'\n";

static const cli_opt OPTS[] = {CLI_FN_OPTS,
                               {"atol", CLI_VALUE, "A"},
                               {"rtol", CLI_VALUE, "R"},
                               {"fast", CLI_FLAG, NULL},
                               {"directions", CLI_VALUE, "N"},
                               {"second-order", CLI_FLAG, NULL},
                               {"reference", CLI_VALUE, "NAME"},
                               {"max-rows", CLI_VALUE, "N"},
                               {"force", CLI_FLAG, NULL}};

static void json_entry(const cli_fn *fn, const ad_gradcheck_entry *e)
{
    printf("{\"backend\": ");
    cli_json_string(stdout, e->backend);
    printf(", \"variable\": ");
    cli_json_string(stdout, e->input >= 0 && e->input < fn->nvars ? fn->names[e->input] : "?");
    printf(", \"index\": [");
    for (int d = 0; d < e->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)e->index[d]);
    printf("], \"analytic\": ");
    cli_json_number(stdout, e->analytic);
    printf(", \"numeric\": ");
    cli_json_number(stdout, e->numeric);
    printf(", \"abs_err\": ");
    cli_json_number(stdout, e->abs_err);
    printf(", \"rel_err\": ");
    cli_json_number(stdout, e->rel_err);
    printf("}");
}

static void json_backends(const ad_gradcheck_report *r)
{
    printf(", \"backends\": {");
    for (int i = 0; i < r->nbackends; i++) {
        const ad_gradcheck_backend *b = &r->backends[i];
        printf("%s", i ? ", " : "");
        cli_json_string(stdout, b->name);
        printf(": {\"passed\": %s, \"max_abs_err\": ", b->passed ? "true" : "false");
        cli_json_number(stdout, b->max_abs_err);
        printf(", \"max_rel_err\": ");
        cli_json_number(stdout, b->max_rel_err);
        printf(", \"checked\": %lld, \"mismatches\": %lld}", (long long)b->checked, (long long)b->mismatches);
    }
    printf("}");
}

static void json_kink(const cli_fn *fn, const ad_gradcheck_kink *k)
{
    printf("{\"variable\": ");
    cli_json_string(stdout, k->input >= 0 && k->input < fn->nvars ? fn->names[k->input] : "?");
    printf(", \"index\": [");
    for (int d = 0; d < k->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)k->index[d]);
    printf("], \"left\": ");
    cli_json_number(stdout, k->left);
    printf(", \"right\": ");
    cli_json_number(stdout, k->right);
    printf(", \"analytic\": ");
    cli_json_number(stdout, k->analytic);
    printf(", \"accepted\": %s}", k->accepted ? "true" : "false");
}

/* "name": {"passed": P, "key": V} for the checks that ran. */
static void json_check(const char *name, bool passed, const char *key, double v)
{
    printf(", \"%s\": {\"passed\": %s, \"%s\": ", name, passed ? "true" : "false", key);
    cli_json_number(stdout, v);
    printf("}");
}

static void print_json(const cli_fn *fn, const ad_gradcheck_report *r)
{
    printf("{\"passed\": %s, \"summary\": ", r->passed ? "true" : "false");
    cli_json_string(stdout, r->summary);
    json_backends(r);
    printf(", \"worst\": ");
    if (r->has_worst) json_entry(fn, &r->worst);
    else printf("null");
    printf(", \"mismatches\": [");
    for (int i = 0; i < r->nrows; i++) {
        printf("%s", i ? ", " : "");
        json_entry(fn, &r->rows[i]);
    }
    printf("], \"mismatch_count\": %lld, \"kinks\": [", (long long)r->nmismatches);
    for (int i = 0; i < r->nkinks; i++) {
        printf("%s", i ? ", " : "");
        json_kink(fn, &r->kinks[i]);
    }
    printf("], \"nonfinite\": %s", r->nonfinite ? "true" : "false");
    if (r->consistency_done) json_check("consistency", r->consistency_passed, "rel_err", r->consistency_rel_err);
    if (r->taylor_done) json_check("taylor", r->taylor_passed, "order", r->taylor_order);
    if (r->hvp_done) json_check("second_order", r->hvp_passed, "max_abs_err", r->hvp_max_abs_err);
    printf("}\n");
}

static int options(const cli_args *a, void *opts)
{
    ad_gradcheck_options *o = opts;
    *o = ad_gradcheck_defaults();
    long long dirs, rows, seed;
    if (cli_double(a, "atol", o->atol, 0, 1e300, &o->atol) || cli_double(a, "rtol", o->rtol, 0, 1e300, &o->rtol) ||
        cli_int(a, "directions", o->directions, 1, 1000, &dirs) ||
        cli_int(a, "max-rows", o->max_rows, 0, 100000, &rows) || cli_int(a, "seed", 0, 0, INT64_MAX, &seed))
        return CLI_USAGE;
    o->directions = (int)dirs;
    o->max_rows = (int)rows;
    o->seed = (uint64_t)seed;
    o->fast = cli_has(a, "fast");
    o->second_order = cli_has(a, "second-order");
    if (cli_get(a, "reference")) {
        const ad_backend *b = cli_backend("check", cli_get(a, "reference"));
        if (!b) return CLI_USAGE;
        if (b->caps & AD_CAP_EXACT) {
            fprintf(stderr, "adscope check: --reference must be a finite-difference backend, not '%s'\n", b->name);
            return CLI_USAGE;
        }
        o->reference = b->name;
    }
    return CLI_OK;
}

static int run(cli_call *c)
{
    ad_gradcheck_options o = *(const ad_gradcheck_options *)c->opts;
    cli_fn *fn = c->fn;
    cli_fn_gradcheck_options(fn, &o); /* the user's derivative; none of AD for --abi c */
    ad_gradcheck_report r;
    memset(&r, 0, sizeof r);
    int rc = cli_guard_check(fn, &o, c->args); /* a full check at n = 1e6: hours */
    if (rc != CLI_OK) return rc;
    if (ad_gradcheck(&fn->problem, &o, &r) != AD_OK) {
        cli_report_error(fn);
        rc = CLI_USAGE;
    } else {
        if (cli_has(c->args, "json")) print_json(fn, &r);
        else ad_gradcheck_print(stdout, &r, &fn->problem, fn->names);
        rc = r.passed ? CLI_OK : CLI_FAILED;
        if (!r.passed) cli_fn_note_black_box(fn); /* AD saw zero where differences did not? */
    }
    ad_gradcheck_report_free(&r);
    return rc;
}

const cli_command cli_cmd_check = {
    .name = "check",
    .summary = "check derivatives against finite differences (and a hand-written gradient)",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_FN,
    .opts_size = sizeof(ad_gradcheck_options),
    .options = options,
    .run = run,
};
