/* cli/cmd_check.c — adscope check: the gradient check of ad_gradcheck
 * from the shell.  Exit 0 when nothing differs (inconclusive entries are
 * counted, and fail only with --strict), 1 when something differs, 2 when
 * it cannot run.  Progress goes to stderr for checks longer than 2 s. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "guard.h"

static const char HELP[] =
    "NAME\n"
    "    adscope check - are the derivatives of a function right?\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope check EXPR [--var NAME=VALUE]... [--atol A] [--rtol R] [--strict] [--fast] [--json]\n"
    "    adscope check --plugin PATH.so:SYMBOL [--grad-symbol SYMBOL] --var NAME=VALUE... [options]\n"
    "\n"
    "DESCRIPTION\n"
    "    Compares every automatic-differentiation backend (forward, reverse,\n"
    "    forward-vector, any registered one) and a hand-written derivative with a\n"
    "    reference that knows its own accuracy: f's noise is measured (More & Wild's\n"
    "    ECnoise), each coordinate's step follows its own scale and never crosses\n"
    "    into NaN territory (it shrinks or turns one-sided, and says so), and\n"
    "    Ridders' extrapolation refines the differences until their error bound\n"
    "    stops improving.  Each Jacobian entry gets a verdict (tol = atol +\n"
    "    rtol*|numeric|):\n"
    "        agrees        |analytic - numeric| <= tol + bound, bound <= tol\n"
    "        differs       |analytic - numeric| >  tol + bound\n"
    "        inconclusive  the reference cannot be made accurate enough (why: shown).\n"
    "    Where one-sided slopes differ beyond their noise and keep differing as the\n"
    "    step shrinks (relu or abs at 0, max with ties), a kink is reported and an\n"
    "    analytic value between them passes.  NaN or Inf in a derivative fails.\n"
    "\n"
    "    Two checks need no step: the identity <v, J u> = <J^T v, u> between the\n"
    "    modes (and a hand-written derivative) to f's measured noise, a backend\n"
    "    breaking it bisected until the wrong entry is named; and the Taylor test,\n"
    "    |f(x + h v) - f(x) - h <grad f(x), v>| ~ h^2 above f's noise.\n"
    "\n"
    "OPTIONS\n"
    "    --var NAME=VALUE     bind a variable (see 'adscope grad --help').\n"
    "    --atol A, --rtol R   tolerances (default 1e-6 and 1e-5).\n"
    "    --strict             inconclusive entries fail the check (exit 1).\n"
    "    --h H                the reference's first step (default: 0.1 of each\n"
    "                         coordinate's scale, with a search over smaller ones).\n"
    "    --no-consistency     skip the identity <v, J u> = <J^T v, u>.\n"
    "    --no-taylor          skip the Taylor test.\n"
    "    --fast               check a few random directions instead of every\n"
    "                         coordinate (for large inputs).\n"
    "    --directions N       directions in --fast mode (default 4).\n"
    "    --second-order       also check Hessian-vector products (forward over reverse)\n"
    "                         against differences of gradients.\n"
    "    --reference NAME     the finite-difference backend used as reference\n"
    "                         (default: gradcheck's own extrapolated differences;\n"
    "                         five-point, central, forward-diff, gsl-deriv).\n"
    "    --max-rows N         mismatching entries printed (default 10).\n"
    "    --wrt NAMES          check only these variables (comma-separated).\n"
    "    --seed S             seed of random values and random directions.\n"
    "    --plugin PATH.so:SYMBOL, --grad-symbol SYMBOL\n"
    "                         check a C function and its hand-written gradient from a\n"
    "                         shared library (tensor ABI: see the README).\n"
    "    --abi c [--jacobian-symbol J] [--outputs M]\n"
    "                         a plain-C function over a double array (a black box:\n"
    "                         AD does not apply; see 'adscope grad --help').\n"
    "    --json               print JSON (schema in the README).\n"
    "    --force              run even when the estimated time exceeds 60 s (else\n"
    "                         exit 2, pointing at --fast).\n"
    "\n"
    "EXIT STATUS\n"
    "    0 nothing differs (inconclusive entries are counted); 1 something differs\n"
    "    (or, with --strict, is inconclusive); 2 usage or input error.\n"
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
                               {"strict", CLI_FLAG, NULL},
                               {"h", CLI_VALUE, "H"},
                               {"no-consistency", CLI_FLAG, NULL},
                               {"no-taylor", CLI_FLAG, NULL},
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
    printf(", \"estimate\": ");
    cli_json_number(stdout, e->estimate);
    if (e->why) {
        printf(", \"why\": ");
        cli_json_string(stdout, e->why);
    }
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
        printf(", \"checked\": %lld, \"mismatches\": %lld, \"inconclusive\": %lld, \"applicable\": %s}",
               (long long)b->checked, (long long)b->mismatches, (long long)b->inconclusive,
               b->not_applicable ? "false" : "true");
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

/* The three-outcome counts, the reference's notes and f's noise. */
static void json_inconclusive(const cli_fn *fn, const ad_gradcheck_report *r)
{
    printf(", \"inconclusive_count\": %lld, \"inconclusive\": [", (long long)r->ninconclusive);
    for (int i = 0; i < r->ninconclusive_rows; i++) {
        printf("%s", i ? ", " : "");
        json_entry(fn, &r->inconclusive[i]);
    }
    printf("], \"noise\": ");
    cli_json_number(stdout, r->noise_max);
    printf(", \"reference_note\": ");
    cli_json_string(stdout, r->reference_note);
    printf(", \"consistency_located\": %s", r->consistency_located ? "true" : "false");
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
    json_inconclusive(fn, r);
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
    o->strict = cli_has(a, "strict");
    o->no_consistency = cli_has(a, "no-consistency");
    o->no_taylor = cli_has(a, "no-taylor");
    if (cli_double(a, "h", 0, 1e-300, 1e300, &o->h)) return CLI_USAGE;
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

/* What the progress callback needs to know beside what the library says. */
typedef struct progress_state {
    int64_t n;
    bool fast;
    bool hinted;
} progress_state;

static void progress(void *data, const char *stage, double fraction, double seconds)
{
    progress_state *ps = data;
    char line[320];
    if (!ad_gradcheck_progress_text(line, sizeof line, stage, fraction, seconds, ps->n, ps->fast || ps->hinted))
        return;
    ps->hinted = ps->hinted || (!ps->fast && strstr(line, "--fast") != NULL); /* the hint once */
    fprintf(stderr, "adscope check: %s\n", line);
}

static int run(cli_call *c)
{
    ad_gradcheck_options o = *(const ad_gradcheck_options *)c->opts;
    cli_fn *fn = c->fn;
    cli_fn_gradcheck_options(fn, &o); /* the names and the user's derivative (--abi c: the plain-C one) */
    progress_state ps = {.n = 0, .fast = o.fast};
    for (int i = 0; i < fn->problem.nin; i++)
        if (!fn->problem.wrt || fn->problem.wrt[i]) ps.n += ad_numel(fn->problem.in[i]);
    o.progress = progress;
    o.progress_data = &ps;
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
