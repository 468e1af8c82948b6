/* bench/micro/micro_fwdrel.c — forward mode's early tangent release
 * (src/fwd_release.c) measured, a program of its own (not a test: times
 * are never asserted).
 *
 * For each suite function, size and width, the forward-vector gradient
 * with release and without (ad_options.no_tangent_release), in
 * interleaved rounds (on, off, on, off, ...) so that both see the same
 * load: the median and the spread (min, max) of each, the peak tangent
 * bytes (ad_stats.peak[AD_MEM_TANGENTS], exact, the same in every round),
 * tangents released and passes run again per call.
 *
 *     micro_fwdrel [rounds=7] [max_n=10000]
 *
 * Width "n" is one pass carrying every direction; it is measured at
 * n <= 1000 only ([n, n] tangents: 800 MB each at n = 1e4).  mlp stops at
 * n = 1000 (its matrix is n x n).  One thread, default malloc; the load
 * average is printed before and after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void loadavg(const char *when)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char buf[64] = "?";
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
        fclose(f);
    }
    printf("# load average %s: %s", when, buf);
}

/* One gradient; its time, its stats. */
static double grad_once(const ad_problem *p, const ad_options *o, ad_stats *st)
{
    ad_tensor *g[1] = {NULL};
    ad_scope s = ad_scope_begin(p->ctx);
    double t0 = ad_bench_now();
    int rc = ad_value_and_grad(ad_backend_with(AD_CAP_FORWARD | AD_CAP_VECTOR), p, o, NULL, g, NULL, st);
    double t = ad_bench_now() - t0;
    ad_scope_end(p->ctx, s, NULL);
    if (rc != AD_OK) {
        fprintf(stderr, "micro_fwdrel: %s\n", ad_errmsg(p->ctx));
        exit(1);
    }
    return t;
}

static void cell(ad_ctx *ctx, const ad_bench_fn *fn, int64_t n, int width, int rounds)
{
    ad_tensor *x[AD_BENCH_MAX_INPUTS];
    bool wrt[AD_BENCH_MAX_INPUTS];
    int nin = fn->make_inputs(fn, ctx, n, x, wrt);
    if (nin < 1) {
        fprintf(stderr, "micro_fwdrel: %s: %s\n", fn->name, ad_errmsg(ctx));
        exit(1);
    }
    ad_problem p = {.ctx = ctx, .f = fn->f, .user = fn->user, .nin = nin, .in = x, .wrt = wrt};
    ad_options o[2] = {{.width = width}, {.width = width, .no_tangent_release = true}};
    ad_stats st[2];
    double *t[2] = {malloc((size_t)rounds * sizeof(double)), malloc((size_t)rounds * sizeof(double))};
    for (int m = 0; m < 2; m++) grad_once(&p, &o[m], &st[m]); /* warm-up; the trace is learned */
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < 2; m++) t[m][r] = grad_once(&p, &o[m], &st[m]);
    for (int m = 0; m < 2; m++) ad_bench_sort(t[m], rounds);
    int med = rounds / 2;
    printf("%-10s %6lld %6d %9lld %11.3f %7.3f %7.3f %11lld %11.3f %7.3f %7.3f %6.3f %6.3f %7lld %4lld\n", fn->name,
           (long long)n, st[0].width, (long long)st[0].passes, 1e3 * t[0][med], 1e3 * t[0][0], 1e3 * t[0][rounds - 1],
           (long long)st[0].peak[AD_MEM_TANGENTS], 1e3 * t[1][med], 1e3 * t[1][0], 1e3 * t[1][rounds - 1],
           (double)st[0].peak[AD_MEM_TANGENTS] / (double)st[1].peak[AD_MEM_TANGENTS], t[0][med] / t[1][med],
           (long long)(st[0].released / (st[0].passes ? st[0].passes : 1)), (long long)st[0].reruns);
    printf("%-10s %6s %6s %9s %11s %7s %7s %11lld\n", "", "", "", "", "", "", "",
           (long long)st[1].peak[AD_MEM_TANGENTS]);
    fflush(stdout);
    for (int i = 0; i < nin; i++) ad_tensor_free(x[i]);
    free(t[0]);
    free(t[1]);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    int64_t max_n = argc > 2 ? atoll(argv[2]) : 10000;
    if (rounds < 1 || max_n < 1) {
        fprintf(stderr, "usage: micro_fwdrel [rounds=7] [max_n=10000]\n");
        return 2;
    }
    ad_ctx *ctx = ad_ctx_new();
    if (!ctx) return 1;
    loadavg("before");
    printf("# forward-vector gradient, release on (first line: ms median, min, max; peak tangent bytes) and off\n"
           "# (second line: peak tangent bytes); ratios on/off; tangents released per pass; passes run again\n");
    printf("%-10s %6s %6s %9s %11s %7s %7s %11s %11s %7s %7s %6s %6s %7s %4s\n", "function", "n", "width", "passes",
           "on_ms", "min", "max", "peak_tan", "off_ms", "min", "max", "mem", "time", "rel/ps", "rrun");
    const char *names[] = {"rosenbrock", "expsin", "softmax_ce", "mlp"};
    for (int64_t n = 1000; n <= max_n; n *= 10)
        for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
            const ad_bench_fn *fn = ad_bench_suite_find(names[f]);
            if (!strcmp(fn->name, "mlp") && n > 1000) continue;
            cell(ctx, fn, n, 0, rounds);
            if (n <= 1000) cell(ctx, fn, n, (int)n, rounds);
        }
    loadavg("after");
    ad_ctx_free(ctx);
    return 0;
}
