/* cli/guard.c — the guards of `grad` and `check` (see guard.h): one
 * evaluation of f timed, the cost model's count of evaluations, the
 * refusal with its hint.  The decision itself is ad_bench_cost_over, which
 * the tests call with made-up times: a guard is never tested by timing. */
#include "guard.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "cost.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Inputs differentiated (n), outputs of f (*m) and the time of one
 * evaluation (*t: the fastest of up to 5 when they are quick, so that a
 * first call's set-up does not count).  -1 when f fails (reported). */
static int64_t measure(cli_fn *fn, int64_t *m, double *t)
{
    int64_t n = 0;
    for (int i = 0; i < fn->nvars; i++)
        if (fn->wrt[i]) n += ad_numel(fn->values[i]);
    *t = INFINITY;
    for (int rep = 0; rep < 5 && *t > 0.01; rep++) {
        ad_scope s = ad_scope_begin(fn->ctx);
        double t0 = now();
        ad_tensor *y = cli_fn_value(fn);
        double dt = now() - t0;
        *m = y ? ad_numel(y) : 0;
        ad_scope_end(fn->ctx, s, NULL);
        if (!y) return -1;
        if (dt < *t) *t = dt;
    }
    return n;
}

/* measure, with f's failure reported: CLI_OK, or CLI_USAGE when f fails */
static int measured(cli_fn *fn, int64_t *n, int64_t *m, double *t)
{
    *n = measure(fn, m, t);
    if (*n >= 0) return CLI_OK;
    cli_report_error(fn);
    return CLI_USAGE;
}

/* Refuses (printing why) when evals x t is over the limit and --force is
 * not given. */
static int decide(const cli_fn *fn, const cli_args *a, const char *what, double evals, double t, const char *hint)
{
    if (cli_has(a, "force") || !ad_bench_cost_over(evals, t, CLI_GUARD_SECONDS)) return CLI_OK;
    char each[32], total[32];
    ad_bench_fmt_seconds(each, sizeof each, t);
    ad_bench_fmt_seconds(total, sizeof total, evals * t);
    fprintf(stderr,
            "adscope %s: %s needs about %.3g evaluations of f at %s each: about %s, over the limit of %g s.  %s, "
            "or add --force to run it anyway\n",
            fn->cmd, what, evals, each, total, CLI_GUARD_SECONDS, hint);
    return CLI_USAGE;
}

int cli_guard_grad(cli_fn *fn, const ad_backend *b, const ad_options *o, const cli_args *a)
{
    if (b && b->vjp) return CLI_OK; /* reverse mode: a few evaluations whatever n is */
    int64_t n, m;
    double t;
    if (measured(fn, &n, &m, &t) != CLI_OK) return CLI_USAGE;
    double evals = 0;
    if (b) evals = ad_bench_cost_evals(b, o, n, m);
    else
        for (int i = 0; i < ad_backend_count(); i++) evals += ad_bench_cost_evals(ad_backend_at(i), o, n, m);
    char what[128];
    snprintf(what, sizeof what, "--mode %s over %lld inputs", b ? b->name : "all", (long long)n);
    return decide(fn, a, what, evals, t, "Reverse mode costs a few evaluations whatever the size (the default mode)");
}

int cli_guard_check(cli_fn *fn, const ad_gradcheck_options *o, const cli_args *a)
{
    int64_t n, m;
    double t;
    if (measured(fn, &n, &m, &t) != CLI_OK) return CLI_USAGE;
    char what[128];
    snprintf(what, sizeof what, "checking %lld inputs%s", (long long)n, o->fast ? " (--fast)" : "");
    return decide(fn, a, what, ad_bench_cost_check_evals(o, n, m), t,
                  o->fast ? "Fewer --directions cost less" : "--fast checks a few random directions instead of every "
                                                             "coordinate");
}
