/* cli/cmd_compare.c — adscope compare: every backend on the user's own
 * function, one row each: median time, peak bytes by category, passes,
 * sweeps, ops recorded, largest difference from the reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char CLI_HELP_COMPARE[] =
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
    const char *name;
    int status;          /* AD_OK, or why it failed */
    char error[256];
    bool skipped;
    int reps;
    double t_med, t_min, t_max;
    ad_stats st;
    double max_err;
} row;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One differentiation by b; outputs D[] (gradients or Jacobians). */
static int run(const cli_fn *fn, const ad_backend *b, const ad_options *o, bool scalar, ad_tensor **D, ad_stats *st)
{
    if (scalar) return ad_value_and_grad(b, &fn->problem, o, NULL, D, NULL, st);
    return ad_jacobian(b, &fn->problem, o, NULL, D, NULL, NULL, st);
}

static double max_diff(const cli_fn *fn, ad_tensor *const *D, ad_tensor *const *R)
{
    double m = 0;
    for (int i = 0; i < fn->nvars; i++) {
        if (!D[i] || !R[i]) continue;
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

int cmd_compare(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "compare", OPTS, (int)(sizeof OPTS / sizeof OPTS[0]), argc, argv, 2);
    if (rc != CLI_OK) return rc;
    if (cli_has(&a, "help")) return cli_help_of("compare");
    ad_options o;
    long long min_reps;
    double min_time, budget;
    if (cli_backend_opts(&a, &o) || cli_int(&a, "reps", 5, 1, 100000, &min_reps) ||
        cli_double(&a, "min-time", 0.2, 0, 3600, &min_time) || cli_double(&a, "budget", 10, 0.001, 86400, &budget))
        return CLI_USAGE;
    bool json = cli_has(&a, "json");
    ad_ctx *ctx = cli_ctx_new(&a, &rc);
    if (!ctx) return rc;
    ad_scope s = ad_scope_begin(ctx);
    cli_fn fn;
    rc = cli_fn_open(&fn, ctx, &a);
    int nb = ad_backend_count();
    row *rows = calloc((size_t)nb, sizeof *rows);
    ad_tensor *R[CLI_MAX_VARS] = {0}, *y = NULL;
    bool scalar = false;
    if (rc == CLI_OK && !rows) rc = CLI_USAGE;
    if (rc == CLI_OK) {
        /* the value decides between gradient and Jacobian */
        bool prev = ad_set_grad_enabled(ctx, false);
        y = fn.problem.f(ctx, fn.problem.in, fn.problem.user);
        ad_set_grad_enabled(ctx, prev);
        if (!y) {
            cli_report_error(&fn, "compare");
            rc = CLI_USAGE;
        } else {
            scalar = ad_numel(y) == 1;
        }
    }
    /* errors are measured against reverse mode (exact to rounding), which is
     * itself cross-checked against five-point differences */
    const ad_backend *ref = ad_backend_find("reverse"), *fd = ad_backend_find("five-point");
    ad_stats rst;
    ad_tensor *R5[CLI_MAX_VARS] = {0};
    double cross = 0;
    if (rc == CLI_OK && (run(&fn, ref, &o, scalar, R, &rst) != AD_OK || run(&fn, fd, &o, scalar, R5, &rst) != AD_OK)) {
        cli_report_error(&fn, "compare");
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK) cross = max_diff(&fn, R5, R);
    for (int bi = 0; rc == CLI_OK && bi < nb; bi++) {
        const ad_backend *b = ad_backend_at(bi);
        row *r = &rows[bi];
        r->name = b->name;
        double *times = malloc(sizeof(double) * 100000);
        if (!times) break;
        double total = 0;
        while (r->reps < min_reps || (total < min_time && r->reps < 100000)) {
            ad_scope sr = ad_scope_begin(ctx);
            ad_tensor *D[CLI_MAX_VARS] = {0};
            ad_clear_error(ctx);
            r->status = run(&fn, b, &o, scalar, D, &r->st);
            if (r->status != AD_OK) snprintf(r->error, sizeof r->error, "%s", ad_errmsg(ctx));
            else if (r->reps == 0) r->max_err = max_diff(&fn, D, R);
            ad_scope_end(ctx, sr, NULL);
            if (r->status != AD_OK) break;
            times[r->reps++] = r->st.seconds;
            total += r->st.seconds;
            if (r->st.seconds > budget) {
                r->skipped = r->reps < min_reps;
                break;
            }
        }
        if (r->reps > 0) {
            qsort(times, (size_t)r->reps, sizeof *times, cmp_double);
            r->t_min = times[0];
            r->t_max = times[r->reps - 1];
            r->t_med = r->reps % 2 ? times[r->reps / 2] : 0.5 * (times[r->reps / 2 - 1] + times[r->reps / 2]);
        }
        free(times);
    }
    if (rc == CLI_OK) {
        int64_t n = ad_problem_size(&fn.problem);
        if (json) {
            printf("{\"expr\": ");
            cli_json_string(stdout, fn.label);
            printf(", \"n\": %lld, \"m\": %lld, \"kind\": \"%s\", \"reference\": \"%s\", \"reference_vs_five_point\": ",
                   (long long)n, (long long)ad_numel(y), scalar ? "gradient" : "jacobian", ref->name);
            cli_json_number(stdout, cross);
            printf(", \"backends\": {");
            for (int bi = 0; bi < nb; bi++) {
                const row *r = &rows[bi];
                printf("%s", bi ? ", " : "");
                cli_json_string(stdout, r->name);
                if (r->status != AD_OK) {
                    printf(": {\"error\": ");
                    cli_json_string(stdout, r->error);
                    printf("}");
                    continue;
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
                       (long long)r->st.peak[AD_MEM_TAPE], (long long)r->st.peak[AD_MEM_META],
                       (long long)r->st.peak_total);
                cli_json_number(stdout, r->max_err);
                printf("%s}", r->skipped ? ", \"skipped\": true" : "");
            }
            printf("}}\n");
        } else {
            char b1[32], b2[32], b3[32], b4[32];
            printf("%s: %s of %lld input%s -> %lld output%s\n", fn.label, scalar ? "gradient" : "Jacobian",
                   (long long)n, n == 1 ? "" : "s", (long long)ad_numel(y), ad_numel(y) == 1 ? "" : "s");
            printf("errors against reverse mode (which differs from five-point differences by %.2g)\n\n", cross);
            printf("%-15s %11s %7s %7s %8s %11s %11s %11s %11s\n", "backend", "time/call", "passes", "sweeps", "ops",
                   "values", "tangents", "tape", "max |err|");
            for (int bi = 0; bi < nb; bi++) {
                const row *r = &rows[bi];
                if (r->status != AD_OK) {
                    printf("%-15s failed: %s\n", r->name, r->error);
                    continue;
                }
                printf("%-15s %11s %7lld %7lld %8lld %11s %11s %11s %11.2e%s\n", r->name,
                       duration(b1, sizeof b1, r->t_med), (long long)r->st.passes, (long long)r->st.sweeps,
                       (long long)r->st.ops_recorded, bytes(b2, sizeof b2, r->st.peak[AD_MEM_VALUES]),
                       bytes(b3, sizeof b3, r->st.peak[AD_MEM_TANGENTS]), bytes(b4, sizeof b4, r->st.peak[AD_MEM_TAPE]),
                       r->max_err, r->skipped ? "  (over budget: 1 rep)" : "");
            }
            printf("\ntime: median of >= %lld calls and >= %.2g s; bytes: peak above the start, per category\n",
                   min_reps, min_time);
        }
        for (int bi = 0; bi < nb; bi++)
            if (rows[bi].status != AD_OK) rc = CLI_FAILED;
    }
    free(rows);
    ad_scope_end(ctx, s, NULL);
    cli_fn_close(&fn);
    ad_ctx_free(ctx);
    return rc;
}
