/* bench/micro/micro_jvp.c — one forward tangent pass against f alone, a
 * program of its own (issue 10: "one forward tangent pass on chain
 * <= 1.6 x T_f"), never a test.
 *
 *     micro_jvp [FUNCTION=chain] [SIZE=10000] [rounds=9]
 *
 * ad_jvp through the forward backend with v = 1 on the differentiated
 * inputs, and f alone (grad mode off), the same context reused, in
 * interleaved rounds (f, jvp, f, jvp, ...) so both see the same load.
 * Prints each one's minimum and median round median, their ratio (min
 * over min), and the load average before and after. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static void load(const char *when)
{
    double l[3] = {0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) == 3) printf("load average %s: %.2f\n", when, l[0]);
    if (f) fclose(f);
}

/* One call: f alone (v NULL) or one JVP. */
static double once(const ad_problem *p, ad_tensor *const *v)
{
    ad_scope s = ad_scope_begin(p->ctx);
    double t0 = ad_bench_now();
    int rc;
    if (v) {
        ad_tensor *val = NULL, *jv = NULL;
        rc = ad_jvp(ad_backend_find("forward"), p, v, NULL, &val, &jv, NULL, NULL);
    } else {
        bool was = ad_set_grad_enabled(p->ctx, false);
        rc = p->f(p->ctx, p->in, p->user) ? AD_OK : -1;
        ad_set_grad_enabled(p->ctx, was);
    }
    double t = ad_bench_now() - t0;
    ad_scope_end(p->ctx, s, NULL);
    if (rc != AD_OK) {
        fprintf(stderr, "micro_jvp: %s\n", ad_errmsg(p->ctx));
        exit(1);
    }
    return t;
}

/* The median of `calls` calls. */
static double round_median(const ad_problem *p, ad_tensor *const *v, int calls)
{
    double t[64];
    for (int i = 0; i < calls; i++) t[i] = once(p, v);
    ad_bench_sort(t, calls);
    return t[calls / 2];
}

int main(int argc, char **argv)
{
    const ad_bench_fn *fn = ad_bench_suite_find(argc > 1 ? argv[1] : "chain");
    int64_t n = argc > 2 ? atoll(argv[2]) : 10000;
    int rounds = argc > 3 ? atoi(argv[3]) : 9;
    if (!fn || n < 1 || rounds < 1 || rounds > 64) {
        fprintf(stderr, "usage: micro_jvp [FUNCTION] [SIZE] [rounds <= 64]\n");
        return 2;
    }
    ad_ctx *ctx = ad_ctx_new();
    ad_tensor *in[AD_BENCH_MAX_INPUTS], *v[AD_BENCH_MAX_INPUTS] = {NULL};
    bool wrt[AD_BENCH_MAX_INPUTS];
    int nin = ctx ? fn->make_inputs(fn, ctx, n, in, wrt) : -1;
    if (nin < 1) return 1;
    for (int i = 0; i < nin; i++) v[i] = wrt[i] ? ad_ones(ctx, ad_shape_of(in[i])) : NULL;
    ad_problem p = {.ctx = ctx, .f = fn->f, .user = fn->user, .nin = nin, .in = in, .wrt = wrt};
    double t1 = once(&p, NULL), calls_d = 0.2 / (t1 > 1e-6 ? t1 : 1e-6); /* ~0.2 s of f a round */
    int calls = calls_d < 3 ? 3 : calls_d > 63 ? 63 : (int)calls_d;
    once(&p, v); /* warm-up: the release plan of fwd_release.c is learnt on the first pass */
    load("before");
    double tf[64], tj[64];
    for (int r = 0; r < rounds; r++) {
        tf[r] = round_median(&p, NULL, calls);
        tj[r] = round_median(&p, v, calls);
    }
    ad_bench_sort(tf, rounds);
    ad_bench_sort(tj, rounds);
    printf("%s %s=%lld, %d rounds of %d calls: T_f min %.4g s median %.4g s; T_jvp min %.4g s median %.4g s; "
           "T_jvp/T_f %.2f (medians %.2f)\n",
           fn->name, fn->size_name, (long long)n, rounds, calls, tf[0], tf[rounds / 2], tj[0], tj[rounds / 2],
           tj[0] / tf[0], tj[rounds / 2] / tf[rounds / 2]);
    load("after");
    for (int i = 0; i < nin; i++) ad_tensor_free(v[i]);
    ad_ctx_free(ctx);
    return 0;
}
