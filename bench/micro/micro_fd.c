/* bench/micro/micro_fd.c — two measurements for issue 10, a program of its
 * own (not a test: times are never asserted).
 *
 * 1. Central differences through the driver against a plain C loop doing
 *    the same 2n evaluations of the same tensor-op f (x_j moved in place
 *    by the same step, put back): the driver's overhead per direction.
 * 2. forward-vector's gradient at width n against its default width
 *    (ad_fwd_default_width) on rosenbrock, expsin, softmax_ce.
 *
 *     micro_fd [n_central=10000] [n_vector=1000] [repeats=3]
 *
 * Each figure is the minimum over the repeats, one thread, default malloc. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

/* The plain loop: the step central takes (eps^(1/3)·max(1, |x_j|), made
 * exact), two evaluations, the quotient. */
static double plain_central(ad_ctx *ctx, const ad_bench_fn *fn, ad_tensor *x, double *g)
{
    double t0 = ad_bench_now(), *xd = ad_data(x);
    for (int64_t j = 0; j < ad_numel(x); j++) {
        double x0 = xd[j], h = cbrt(DBL_EPSILON) * fmax(1, fabs(x0));
        volatile double moved = x0 + h;
        h = moved - x0;
        ad_scope s = ad_scope_begin(ctx);
        xd[j] = x0 + h;
        double fp = ad_item(fn->f(ctx, &x, fn->user));
        xd[j] = x0 - h;
        double fm = ad_item(fn->f(ctx, &x, fn->user));
        xd[j] = x0;
        ad_scope_end(ctx, s, NULL);
        g[j] = (fp - fm) / (2 * h);
    }
    return ad_bench_now() - t0;
}

static double driver_grad(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_stats *st)
{
    ad_tensor *g[1] = {NULL};
    ad_scope s = ad_scope_begin(p->ctx);
    double t0 = ad_bench_now();
    int rc = ad_value_and_grad(b, p, o, NULL, g, NULL, st);
    double t = ad_bench_now() - t0;
    ad_scope_end(p->ctx, s, NULL);
    if (rc != AD_OK) {
        fprintf(stderr, "micro_fd: %s: %s\n", b->name, ad_errmsg(p->ctx));
        exit(1);
    }
    return t;
}

static int inputs(ad_ctx *ctx, const ad_bench_fn *fn, int64_t n, ad_tensor **x)
{
    bool wrt[AD_BENCH_MAX_INPUTS];
    int nin = fn->make_inputs(fn, ctx, n, x, wrt);
    if (nin != 1) fprintf(stderr, "micro_fd: %s: %d inputs (%s)\n", fn->name, nin, ad_errmsg(ctx));
    return nin;
}

static void central_vs_plain(ad_ctx *ctx, int64_t n, int reps)
{
    const ad_bench_fn *fn = ad_bench_suite_find("rosenbrock");
    ad_tensor *x[1];
    if (inputs(ctx, fn, n, x) != 1) exit(1);
    ad_problem p = {.ctx = ctx, .f = fn->f, .user = fn->user, .nin = 1, .in = x};
    double *g = malloc((size_t)n * sizeof *g), tp = INFINITY, td = INFINITY;
    ad_stats st = {0};
    for (int r = 0; r < reps; r++) {
        tp = fmin(tp, plain_central(ctx, fn, x[0], g));
        td = fmin(td, driver_grad(ad_backend_find("central"), &p, NULL, &st));
    }
    printf("central rosenbrock n=%lld: driver %.3f s (%lld evaluations), plain C loop %.3f s (%lld), ratio %.2f\n",
           (long long)n, td, (long long)st.passes, tp, 2 * (long long)n, td / tp);
    free(g);
    ad_tensor_free(x[0]);
}

static void vector_widths(ad_ctx *ctx, int64_t n, int reps)
{
    const char *names[] = {"rosenbrock", "expsin", "softmax_ce"};
    const ad_backend *fv = ad_backend_find("forward-vector"), *fw = ad_backend_find("forward");
    for (int i = 0; i < 3; i++) {
        const ad_bench_fn *fn = ad_bench_suite_find(names[i]);
        ad_tensor *x[1];
        if (inputs(ctx, fn, n, x) != 1) exit(1);
        ad_problem p = {.ctx = ctx, .f = fn->f, .user = fn->user, .nin = 1, .in = x};
        ad_options wide = {.width = (int)n}, eight = {.width = 8};
        double tn = INFINITY, t8 = INFINITY, td = INFINITY, t1 = INFINITY;
        ad_stats st = {0};
        for (int r = 0; r < reps; r++) {
            tn = fmin(tn, driver_grad(fv, &p, &wide, NULL));
            t8 = fmin(t8, driver_grad(fv, &p, &eight, NULL));
            td = fmin(td, driver_grad(fv, &p, NULL, &st));
            t1 = fmin(t1, driver_grad(fw, &p, NULL, NULL));
        }
        printf("forward-vector %s n=%lld: width n %.2f ms, width 8 %.2f ms, default width %d %.2f ms; "
               "forward %.2f ms\n",
               names[i], (long long)n, 1e3 * tn, 1e3 * t8, st.width, 1e3 * td, 1e3 * t1);
        ad_tensor_free(x[0]);
    }
}

int main(int argc, char **argv)
{
    int64_t nc = argc > 1 ? atoll(argv[1]) : 10000, nv = argc > 2 ? atoll(argv[2]) : 1000;
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (nc < 2 || nv < 2 || reps < 1) {
        fprintf(stderr, "usage: micro_fd [n_central >= 2] [n_vector >= 2] [repeats >= 1]\n");
        return 2;
    }
    ad_ctx *ctx = ad_ctx_new();
    if (!ctx) return 1;
    central_vs_plain(ctx, nc, reps);
    vector_widths(ctx, nv, reps);
    ad_ctx_free(ctx);
    return 0;
}
