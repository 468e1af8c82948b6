/* bench/micro/micro_grad.c — one suite function's reverse gradient, called
 * as the harness calls it (ad_value_and_grad through the reverse backend,
 * one context reused, default malloc), repeated for a profiler: a program
 * of its own (issue 10), never a test.
 *
 *     micro_grad FUNCTION SIZE [seconds=2] [backend=reverse]
 *     perf stat -e task-clock,page-faults,cache-misses micro_grad rosenbrock 1000000
 *     perf record -g micro_grad softmax_ce 1000000 5
 *
 * Prints T_f and T_grad (the minimum of ten 1/10-long rounds' medians) and
 * the ratio, and the evaluation's check against the analytic gradient.
 *
 * Passes over memory, counted rather than timed (a shared machine's
 * times move by 2x; a simulated cache's misses do not): with
 * MICRO_GRAD_CALLS=N the program makes one warm-up call and N calls of the
 * gradient (MICRO_GRAD_WHAT=f: of f alone) and nothing else, so
 *
 *     MICRO_GRAD_CALLS=4 valgrind --tool=cachegrind --cache-sim=yes \
 *         --LL=2097152,16,64 micro_grad rosenbrock 200000
 *
 * gives last-level misses; misses x 64 / (8 n) / N are the arrays of n
 * doubles read or written per call, beyond a 2 MiB cache (the L2 here). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

/* One call: a gradient (backend) or a plain evaluation (backend NULL). */
static double once(const ad_backend *b, const ad_problem *p, ad_tensor **g)
{
    ad_scope s = ad_scope_begin(p->ctx);
    double t0 = ad_bench_now();
    int rc;
    if (b) {
        rc = ad_value_and_grad(b, p, NULL, NULL, g, NULL, NULL);
    } else {
        bool was = ad_set_grad_enabled(p->ctx, false);
        rc = p->f(p->ctx, p->in, p->user) ? AD_OK : -1;
        ad_set_grad_enabled(p->ctx, was);
    }
    double t = ad_bench_now() - t0;
    ad_scope_end(p->ctx, s, NULL); /* the gradient too: released as a user's loop would */
    if (rc != AD_OK) {
        fprintf(stderr, "micro_grad: %s\n", ad_errmsg(p->ctx));
        exit(1);
    }
    return t;
}

/* Minimum over 10 rounds of the round's median; *spread = median/min - 1. */
static double timed(const ad_backend *b, const ad_problem *p, double seconds, double *spread)
{
    double rounds[10], v[4096];
    ad_tensor *g[AD_BENCH_MAX_INPUTS] = {NULL};
    for (int r = 0; r < 10; r++) {
        int m = 0;
        double t0 = ad_bench_now();
        while (m < 4096 && (m < 3 || ad_bench_now() - t0 < seconds / 10)) {
            v[m++] = once(b, p, g);
        }
        ad_bench_sort(v, m);
        rounds[r] = v[m / 2];
    }
    ad_bench_sort(rounds, 10);
    *spread = rounds[5] / rounds[0] - 1;
    return rounds[0];
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: micro_grad FUNCTION SIZE [seconds] [backend]\n");
        return 2;
    }
    const ad_bench_fn *fn = ad_bench_suite_find(argv[1]);
    int64_t n = atoll(argv[2]);
    double seconds = argc > 3 ? atof(argv[3]) : 2;
    const ad_backend *b = ad_backend_find(argc > 4 ? argv[4] : "reverse");
    if (!fn || n < 1 || !(seconds > 0) || !b) {
        fprintf(stderr, "micro_grad: unknown function or backend, or a bad size or time\n");
        return 2;
    }
    const char *calls = getenv("MICRO_GRAD_CALLS"), *what = getenv("MICRO_GRAD_WHAT");
    ad_ctx *ctx = ad_ctx_new();
    ad_tensor *in[AD_BENCH_MAX_INPUTS];
    bool wrt[AD_BENCH_MAX_INPUTS];
    int nin = ctx ? fn->make_inputs(fn, ctx, n, in, wrt) : -1;
    if (nin < 1) return 1;
    ad_problem p = {.ctx = ctx, .f = fn->f, .user = fn->user, .nin = nin, .in = in, .wrt = wrt};
    ad_tensor *g[AD_BENCH_MAX_INPUTS] = {NULL};
    if (calls) { /* counted calls only (see the opening comment) */
        const ad_backend *by = what && what[0] == 'f' ? NULL : b;
        for (long i = 0, m = atol(calls); i <= m; i++) once(by, &p, g);
        ad_ctx_free(ctx);
        return 0;
    }
    ad_scope s = ad_scope_begin(ctx);
    double err = NAN;
    if (ad_value_and_grad(b, &p, NULL, NULL, g, NULL, NULL) == AD_OK && fn->exact)
        err = ad_item(ad_max(ad_abs(ad_sub(g[0], fn->exact(fn, ctx, in, n))), AD_ALL, false));
    ad_scope_end(ctx, s, NULL);
    double sf, sg, tf = timed(NULL, &p, seconds / 4, &sf), tg = timed(b, &p, seconds, &sg);
    printf("%s %s=%lld %s: T_f %.4g s (spread %.1f %%), T_grad %.4g s (spread %.1f %%), ratio %.2f, "
           "max |g - exact| %.3g\n",
           fn->name, fn->size_name, (long long)n, b->name, tf, 100 * sf, tg, 100 * sg, tg / tf, err);
    ad_ctx_free(ctx);
    return 0;
}
