/* examples/micro_ops.c — what one op costs, measured as a user calls the
 * library (public API, one context reused, default malloc).  Not a test:
 * a small benchmark for docs/PERFORMANCE.md and the closing notes of
 * issue 10 (items 1 and 5).  Run it built with -O2 (Release):
 *
 *     example_micro_ops [rounds [only]]
 *
 * `only` runs one figure alone (plain, record, rosen10, f10, vag10,
 * rosen1e3, faults), for a profiler.
 * Each figure is the minimum over rounds of a round's mean; the spread
 * (max/min - 1 over rounds) is printed beside it as the noise level.
 *   plain op      ad_neg and ad_sin of a 1-element tensor, nothing
 *                 recorded (neg: the bookkeeping alone; sin adds SLEEF's
 *                 4-lane kernel, ~25 ns whatever the element count <= 4)
 *   record op     the same with x requiring grad (one tape record)
 *   rosen10 grad  the reverse gradient of rosenbrock at n = 10 (f recorded,
 *                 ad_backward, the input's .grad read and cleared)
 *   f10           rosenbrock at n = 10 alone, nothing recorded: the floor
 *                 under any gradient of it
 *   vag10         the same gradient as a user of the drivers gets it:
 *                 ad_value_and_grad with the reverse backend and ad_stats
 *   rosen1e3 grad the same at n = 1000 (the fixed per-op cost shrunk
 *                 to a fraction: shows that large n is not slowed)
 *   rosen1e5 grad and its minor page faults per gradient, with the
 *                 context's large-block cache and without (cache_limit < 0)
 */
#include <adscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long minflt(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

static ad_tensor *rosenbrock(ad_tensor *x)
{
    ad_tensor *a = ad_idx(x, AD_S(AD_END, -1)), *b = ad_idx(x, AD_S(1, AD_END));
    ad_tensor *t = ad_mul_s(ad_square(ad_sub(b, ad_square(a))), 100);
    return ad_sum(ad_add(t, ad_square(ad_rsub_s(1, a))), AD_ALL, false);
}

/* 1000 ops f(x) inside one scope (released at its end: the release is
 * part of an op's cost). */
static int ops_of(ad_tensor *(*f)(ad_tensor *), ad_ctx *ctx, ad_tensor *x, int64_t reps)
{
    for (int64_t r = 0; r < reps; r += 1000) {
        ad_scope s = ad_scope_begin(ctx);
        for (int i = 0; i < 1000; i++)
            if (!f(x)) return -1;
        ad_scope_end(ctx, s, NULL);
    }
    return 0;
}

static int sins(ad_ctx *ctx, ad_tensor *x, int64_t reps) { return ops_of(ad_sin, ctx, x, reps); }
static int negs(ad_ctx *ctx, ad_tensor *x, int64_t reps) { return ops_of(ad_neg, ctx, x, reps); }

static int gradient(ad_ctx *ctx, ad_tensor *x, int64_t reps)
{
    for (int64_t r = 0; r < reps; r++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *y = rosenbrock(x);
        if (!y || ad_backward(y, NULL, 0) != AD_OK || !ad_grad(x)) return -1;
        ad_clear_grad(x);
        ad_scope_end(ctx, s, NULL);
    }
    return 0;
}

/* rosenbrock at n = 10 evaluated alone (x does not require grad). */
static int values(ad_ctx *ctx, ad_tensor *x, int64_t reps)
{
    for (int64_t r = 0; r < reps; r++) {
        ad_scope s = ad_scope_begin(ctx);
        if (!rosenbrock(x)) return -1;
        ad_scope_end(ctx, s, NULL);
    }
    return 0;
}

static ad_tensor *rosen_fn(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    return rosenbrock(in[0]);
}

/* The gradient through the driver (value, gradient and statistics, as
 * the harness and a user call it). */
static int driver_grads(ad_ctx *ctx, ad_tensor *x, int64_t reps)
{
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = rosen_fn, .nin = 1, .in = in};
    const ad_backend *rev = ad_backend_find("reverse");
    for (int64_t r = 0; r < reps; r++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *value, *grad[1];
        ad_stats st;
        if (ad_value_and_grad(rev, &p, NULL, &value, grad, NULL, &st) != AD_OK) return -1;
        ad_scope_end(ctx, s, NULL);
    }
    return 0;
}

typedef int (*work_fn)(ad_ctx *, ad_tensor *, int64_t);

/* Seconds per repetition: min over rounds of the round's mean; *spread
 * gets max/min - 1.  Each round lasts about 50 ms. */
static double measure(work_fn w, ad_ctx *ctx, ad_tensor *x, int64_t reps, int rounds, double *spread)
{
    double lo = 1e300, hi = 0;
    if (w(ctx, x, reps) != 0) return -1; /* warm-up: pools and caches filled */
    for (int k = 0; k < rounds; k++) {
        double t0 = now();
        if (w(ctx, x, reps) != 0) return -1;
        double t = (now() - t0) / (double)reps;
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    *spread = hi / lo - 1;
    return lo;
}

static ad_tensor *input(ad_ctx *ctx, int64_t n, bool grad)
{
    ad_tensor *x = ad_mul_s(ad_rand(ctx, AD_SHAPE(n)), 0.5);
    if (x && grad) ad_requires_grad_(x, true);
    return x;
}

static int report(const char *what, double t, double spread)
{
    if (t < 0) return 1;
    printf("%-28s %10.1f ns   (spread %.0f %%)\n", what, t * 1e9, spread * 100);
    return 0;
}

/* Page faults and time of one rosenbrock gradient at n = 1e5. */
static int faults(int64_t cache_limit, int rounds)
{
    ad_ctx_options o = {.seed = 1, .cache_limit = cache_limit};
    ad_ctx *ctx = ad_ctx_new_with(&o);
    ad_tensor *x = ctx ? input(ctx, 100000, true) : NULL;
    double spread = 0;
    long f0 = minflt();
    double t = x ? measure(gradient, ctx, x, 20, rounds, &spread) : -1;
    double per = (double)(minflt() - f0) / (double)(20 * (rounds + 1));
    int rc = t < 0;
    if (!rc)
        printf("rosenbrock 1e5 grad, %-7s %10.3f ms   (spread %.0f %%), %.0f page faults per gradient\n",
               cache_limit < 0 ? "no cache" : "cache", t * 1e3, spread * 100, per);
    ad_ctx_free(ctx);
    return rc;
}

static bool wanted(const char *only, const char *name) { return !only || strcmp(only, name) == 0; }

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    const char *only = argc > 2 ? argv[2] : NULL;
    if (rounds < 1) rounds = 1;
    ad_ctx *ctx = ad_ctx_new();
    if (!ctx) return 1;
    double s = 0, t;
    int rc = 0;
    ad_tensor *c = input(ctx, 1, false), *g = input(ctx, 1, true), *x10 = input(ctx, 10, true);
    ad_tensor *x1e3 = input(ctx, 1000, true), *c10 = input(ctx, 10, false);
    if (wanted(only, "plain")) {
        t = measure(negs, ctx, c, 200000, rounds, &s); /* before report: arguments are read in no set order */
        rc |= report("plain op (neg, 1 element)", t, s);
        t = measure(sins, ctx, c, 200000, rounds, &s);
        rc |= report("plain op (sin, 1 element)", t, s);
    }
    if (wanted(only, "record")) {
        t = measure(negs, ctx, g, 200000, rounds, &s);
        rc |= report("record op (neg, 1 element)", t, s);
        t = measure(sins, ctx, g, 200000, rounds, &s);
        rc |= report("record op (sin, 1 element)", t, s);
    }
    if (wanted(only, "rosen10")) {
        t = measure(gradient, ctx, x10, 20000, rounds, &s);
        rc |= report("rosenbrock n=10 reverse grad", t, s);
    }
    if (wanted(only, "f10")) {
        t = measure(values, ctx, c10, 20000, rounds, &s);
        rc |= report("rosenbrock n=10 f alone", t, s);
    }
    if (wanted(only, "vag10")) {
        t = measure(driver_grads, ctx, c10, 20000, rounds, &s);
        rc |= report("rosenbrock n=10 value_and_grad", t, s);
    }
    if (wanted(only, "rosen1e3")) {
        t = measure(gradient, ctx, x1e3, 2000, rounds, &s);
        rc |= report("rosenbrock n=1e3 reverse grad", t, s);
    }
    ad_ctx_free(ctx);
    if (wanted(only, "faults")) {
        rc |= faults(0, rounds);
        rc |= faults(-1, rounds);
    }
    if (rc) fprintf(stderr, "micro_ops: a measurement failed\n");
    return rc;
}
