/* cli/cmd_compare.c — adscope compare: every backend on the user's own
 * function, one row each: median time, peak bytes by category, passes,
 * sweeps, ops recorded, largest difference from the reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char HELP[] =
    "NAME\n"
    "    adscope compare - every backend on one function, side by side\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope compare EXPR [--var NAME=VALUE]... [--reps N] [--min-time S] [--budget S] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Differentiates EXPR with every registered backend (the gradient for a\n"
    "    scalar EXPR, the Jacobian otherwise) and prints one row per backend: the\n"
    "    median time of a call over repetitions, the peak bytes it held above what\n"
    "    was live before (element data of values, of tangents and adjoints, and tape\n"
    "    records), the passes over f and backward sweeps it made, the tape records\n"
    "    it appended, and its largest absolute difference from reverse mode (exact to\n"
    "    rounding; its own difference from five-point differences is printed too).\n"
    "    This is the comparison toolkit applied to your own function: which mode\n"
    "    should you use for it?\n"
    "\n"
    "OPTIONS\n"
    "    --var NAME=VALUE   bind a variable (see 'adscope grad --help').\n"
    "    --reps N           at least N repetitions per backend (default 5).\n"
    "    --min-time S       and at least S seconds of repetitions (default 0.2).\n"
    "    --budget S         give up on a backend whose single call takes longer than\n"
    "                       S seconds (default 10); its row says 'skipped'.\n"
    "    --width K, --h H   backend options (see 'adscope grad --help').\n"
    "    --wrt NAMES, --seed S, --plugin PATH.so:SYMBOL, --json\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 1 a backend failed; 2 usage or input error.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope compare 'sum(sin(x)*x^2 + exp(-x^2))' --var x='linspace(0,1,1000)'\n"
    "    adscope compare 'sin(s * linspace(1, 2, 500))' --var s=0.3     # forward wins\n";

static const cli_opt OPTS[] = {CLI_FN_OPTS,          {"reps", CLI_VALUE, "N"},  {"min-time", CLI_VALUE, "S"},
                               {"budget", CLI_VALUE, "S"}, {"width", CLI_VALUE, "K"}, {"h", CLI_VALUE, "H"}};

typedef struct {
    ad_options o;
    long long min_reps;
    double min_time, budget;
    bool json;
} compare_opts;

/* One backend's row. */
typedef struct {
    const char *name;
    int status;          /* AD_OK, or why it failed */
    char error[256];
    bool skipped;
    int reps;
    double t_med, t_min, t_max;
    ad_stats st;
    double max_err;
} row;

/* What the rows are measured against: reverse mode (exact to rounding),
 * itself cross-checked against five-point differences. */
typedef struct {
    const ad_backend *exact;
    ad_tensor *R[CLI_MAX_VARS];
    double cross; /* max |five-point - exact| */
    ad_tensor *y; /* the value: one element means a gradient, else a Jacobian */
    bool scalar;
} reference;

#define MAX_REPS 100000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One differentiation by b; outputs D[] (gradients or Jacobians). */
static int differentiate(const cli_fn *fn, const ad_backend *b, const ad_options *o, bool scalar, ad_tensor **D, ad_stats *st)
{
    if (scalar) return ad_value_and_grad(b, &fn->problem, o, NULL, D, NULL, st);
    return ad_jacobian(b, &fn->problem, o, NULL, D, NULL, NULL, st);
}

static double max_diff(const cli_fn *fn, ad_tensor *const *D, ad_tensor *const *R)
{
    double m = 0;
    for (int i = 0; i < fn->nvars; i++) {
        if (!D[i] || !R[i] || ad_numel(D[i]) == 0) continue; /* nothing to differ: no NaN from max([]) */
        ad_tensor *d = ad_max(ad_abs(ad_sub(D[i], R[i])), AD_ALL, false);
        double v = ad_item(d);
        ad_tensor_free(d);
        if (isnan(v) || v > m) m = v;
    }
    return m;
}

static const char *bytes(char *buf, size_t n, int64_t b)
{
    if (b < 1000) snprintf(buf, n, "%lld B", (long long)b);
    else if (b < 1000000) snprintf(buf, n, "%.1f kB", (double)b / 1e3);
    else if (b < 1000000000) snprintf(buf, n, "%.1f MB", (double)b / 1e6);
    else snprintf(buf, n, "%.2f GB", (double)b / 1e9);
    return buf;
}

static const char *duration(char *buf, size_t n, double s)
{
    if (s < 1e-3) snprintf(buf, n, "%.1f us", s * 1e6);
    else if (s < 1) snprintf(buf, n, "%.2f ms", s * 1e3);
    else snprintf(buf, n, "%.2f s", s);
    return buf;
}

static int options(const cli_args *a, void *opts)
{
    compare_opts *c = opts;
    if (cli_backend_opts(a, &c->o) || cli_int(a, "reps", 5, 1, 100000, &c->min_reps) ||
        cli_double(a, "min-time", 0.2, 0, 3600, &c->min_time) || cli_double(a, "budget", 10, 0.001, 86400, &c->budget))
        return CLI_USAGE;
    c->json = cli_has(a, "json");
    return CLI_OK;
}

static int make_reference(cli_fn *fn, const compare_opts *c, reference *ref)
{
    ref->y = cli_fn_value(fn);
    if (!ref->y) return CLI_USAGE;
    ref->scalar = ad_numel(ref->y) == 1;
    ref->exact = ad_backend_with(AD_CAP_EXACT | AD_CAP_REVERSE);
    ad_stats st;
    ad_tensor *R5[CLI_MAX_VARS] = {0};
    if (differentiate(fn, ref->exact, &c->o, ref->scalar, ref->R, &st) != AD_OK ||
        differentiate(fn, ad_backend_reference(), &c->o, ref->scalar, R5, &st) != AD_OK) {
        cli_report_error(fn);
        return CLI_USAGE;
    }
    ref->cross = max_diff(fn, R5, ref->R);
    return CLI_OK;
}

/* One call of the repetitions: its status and time in r; the first one's
 * error against the reference. */
static void one_call(const cli_fn *fn, const ad_backend *b, const compare_opts *c, const reference *ref, row *r)
{
    ad_scope sr = ad_scope_begin(fn->ctx);
    ad_tensor *D[CLI_MAX_VARS] = {0};
    ad_clear_error(fn->ctx);
    r->status = differentiate(fn, b, &c->o, ref->scalar, D, &r->st);
    if (r->status != AD_OK) snprintf(r->error, sizeof r->error, "%s", ad_errmsg(fn->ctx));
    else if (r->reps == 0) r->max_err = max_diff(fn, D, ref->R);
    ad_scope_end(fn->ctx, sr, NULL);
}

/* Repeats b until min_reps calls and min_time seconds (or a failure, or a
 * call over budget); the median, min and max time. */
static void measure(const cli_fn *fn, const ad_backend *b, const compare_opts *c, const reference *ref, row *r,
                    double *times)
{
    r->name = b->name;
    double total = 0;
    while (r->reps < c->min_reps || (total < c->min_time && r->reps < MAX_REPS)) {
        one_call(fn, b, c, ref, r);
        if (r->status != AD_OK) break;
        times[r->reps++] = r->st.seconds;
        total += r->st.seconds;
        if (r->st.seconds > c->budget) {
            r->skipped = r->reps < c->min_reps;
            break;
        }
    }
    if (r->reps == 0) return;
    qsort(times, (size_t)r->reps, sizeof *times, cmp_double);
    r->t_min = times[0];
    r->t_max = times[r->reps - 1];
    r->t_med = r->reps % 2 ? times[r->reps / 2] : 0.5 * (times[r->reps / 2 - 1] + times[r->reps / 2]);
}

static void json_row(const row *r)
{
    cli_json_string(stdout, r->name);
    if (r->status != AD_OK) {
        printf(": {\"error\": ");
        cli_json_string(stdout, r->error);
        printf("}");
        return;
    }
    printf(": {\"reps\": %d, \"seconds_median\": ", r->reps);
    cli_json_number(stdout, r->t_med);
    printf(", \"seconds_min\": ");
    cli_json_number(stdout, r->t_min);
    printf(", \"seconds_max\": ");
    cli_json_number(stdout, r->t_max);
    printf(", \"passes\": %lld, \"sweeps\": %lld, \"ops_recorded\": %lld, \"peak_bytes\": {\"values\": %lld, "
           "\"tangents\": %lld, \"tape\": %lld, \"meta\": %lld, \"total\": %lld}, \"max_abs_err\": ",
           (long long)r->st.passes, (long long)r->st.sweeps, (long long)r->st.ops_recorded,
           (long long)r->st.peak[AD_MEM_VALUES], (long long)r->st.peak[AD_MEM_TANGENTS],
           (long long)r->st.peak[AD_MEM_TAPE], (long long)r->st.peak[AD_MEM_META], (long long)r->st.peak_total);
    cli_json_number(stdout, r->max_err);
    printf("%s}", r->skipped ? ", \"skipped\": true" : "");
}

static void print_json(const cli_fn *fn, const reference *ref, const row *rows, int nb)
{
    printf("{\"expr\": ");
    cli_json_string(stdout, fn->label);
    printf(", \"n\": %lld, \"m\": %lld, \"kind\": \"%s\", \"reference\": \"%s\", \"reference_vs_five_point\": ",
           (long long)ad_problem_size(&fn->problem), (long long)ad_numel(ref->y), ref->scalar ? "gradient" : "jacobian",
           ref->exact->name);
    cli_json_number(stdout, ref->cross);
    printf(", \"backends\": {");
    for (int bi = 0; bi < nb; bi++) {
        printf("%s", bi ? ", " : "");
        json_row(&rows[bi]);
    }
    printf("}}\n");
}

static void text_row(const row *r)
{
    char b1[32], b2[32], b3[32], b4[32];
    if (r->status != AD_OK) {
        printf("%-15s failed: %s\n", r->name, r->error);
        return;
    }
    printf("%-15s %11s %7lld %7lld %8lld %11s %11s %11s %11.2e%s\n", r->name, duration(b1, sizeof b1, r->t_med),
           (long long)r->st.passes, (long long)r->st.sweeps, (long long)r->st.ops_recorded,
           bytes(b2, sizeof b2, r->st.peak[AD_MEM_VALUES]), bytes(b3, sizeof b3, r->st.peak[AD_MEM_TANGENTS]),
           bytes(b4, sizeof b4, r->st.peak[AD_MEM_TAPE]), r->max_err, r->skipped ? "  (over budget: 1 rep)" : "");
}

static void print_text(const cli_fn *fn, const compare_opts *c, const reference *ref, const row *rows, int nb)
{
    int64_t n = ad_problem_size(&fn->problem), m = ad_numel(ref->y);
    printf("%s: %s of %lld input%s -> %lld output%s\n", fn->label, ref->scalar ? "gradient" : "Jacobian",
           (long long)n, cli_plural(n, "s"), (long long)m, cli_plural(m, "s"));
    printf("errors against reverse mode (which differs from five-point differences by %.2g)\n\n", ref->cross);
    printf("%-15s %11s %7s %7s %8s %11s %11s %11s %11s\n", "backend", "time/call", "passes", "sweeps", "ops", "values",
           "tangents", "tape", "max |err|");
    for (int bi = 0; bi < nb; bi++) text_row(&rows[bi]);
    printf("\ntime: median of >= %lld calls and >= %.2g s; bytes: peak above the start, per category\n", c->min_reps,
           c->min_time);
}

static int run(cli_call *c)
{
    const compare_opts *o = c->opts;
    int nb = ad_backend_count();
    row *rows = calloc((size_t)nb, sizeof *rows);
    double *times = malloc(sizeof(double) * MAX_REPS);
    reference ref = {0};
    int rc = rows && times ? make_reference(c->fn, o, &ref) : CLI_USAGE;
    for (int bi = 0; rc == CLI_OK && bi < nb; bi++) measure(c->fn, ad_backend_at(bi), o, &ref, &rows[bi], times);
    if (rc == CLI_OK) {
        if (o->json) print_json(c->fn, &ref, rows, nb);
        else print_text(c->fn, o, &ref, rows, nb);
        for (int bi = 0; bi < nb; bi++)
            if (rows[bi].status != AD_OK) rc = CLI_FAILED;
    }
    free(times);
    free(rows);
    return rc;
}

const cli_command cli_cmd_compare = {
    .name = "compare",
    .summary = "every backend on one function: time, memory, passes, error",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_FN,
    .opts_size = sizeof(compare_opts),
    .options = options,
    .run = run,
};
