/* bench/suite.c — the standard suite (ad_bench_suite_*): the functions,
 * their deterministic inputs, analytic derivatives, default sweeps and the
 * exponents theory predicts (bench/README.md has the same table).
 *
 * Every function is written with the library's ops, so every backend can
 * differentiate it.  Constants (mlp's A, broadcast's c, chain's k) are
 * extra inputs that are not differentiated: they are built before a call,
 * so the peak bytes of a call are what the derivative needed. */
#include <math.h>
#include <string.h>

#include "bench.h"

ad_tensor *ad_bench_input(ad_ctx *ctx, int64_t n)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(n));
    if (!x) return NULL;
    double *v = ad_data(x);
    for (int64_t i = 0; i < n; i++) v[i] = 0.5 + 0.4 * sin((double)(i + 1));
    return x;
}

/* A contiguous copy's values (the inputs are built contiguous). */
static const double *vals(ad_tensor *t) { return ad_data(t); }

static int one_input(const ad_bench_fn *fn, ad_ctx *ctx, int64_t n, ad_tensor **in, bool *wrt)
{
    (void)fn;
    in[0] = ad_bench_input(ctx, n);
    wrt[0] = true;
    return in[0] ? 1 : ad_errno(ctx);
}

/* ---- rosenbrock(n) = Σ_{i<n-1} 100 (x_{i+1} - x_i²)² + (1 - x_i)² ------------------- */

static ad_tensor *rosenbrock_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    ad_tensor *x = in[0];
    ad_tensor *head = ad_idx(x, AD_S(AD_END, -1)), *tail = ad_idx(x, AD_S(1, AD_END));
    ad_tensor *a = ad_mul_s(ad_square(ad_sub(tail, ad_square(head))), 100);
    return ad_sum(ad_add(a, ad_square(ad_rsub_s(1, head))), AD_ALL, false);
}

/* ∂/∂x_i += -400 x_i (x_{i+1} - x_i²) - 2 (1 - x_i);  ∂/∂x_{i+1} += 200 (x_{i+1} - x_i²) */
static ad_tensor *rosenbrock_exact(const ad_bench_fn *fn, ad_ctx *ctx, ad_tensor *const *in, int64_t n)
{
    (void)fn;
    ad_tensor *g = ad_zeros(ctx, AD_SHAPE(n));
    if (!g) return NULL;
    const double *x = vals(in[0]);
    double *gv = ad_data(g);
    for (int64_t i = 0; i + 1 < n; i++) {
        double d = x[i + 1] - x[i] * x[i];
        gv[i] += -400 * x[i] * d - 2 * (1 - x[i]);
        gv[i + 1] += 200 * d;
    }
    return g;
}

/* ---- expsin(n) = Σ sin(x_i)·x_i² + exp(-x_i²) ----------------------------------------- */

static ad_tensor *expsin_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    ad_tensor *x = in[0], *x2 = ad_square(x);
    return ad_sum(ad_add(ad_mul(ad_sin(x), x2), ad_exp(ad_neg(x2))), AD_ALL, false);
}

/* ∂/∂x_i = cos(x_i) x_i² + 2 x_i sin(x_i) - 2 x_i exp(-x_i²) */
static ad_tensor *expsin_exact(const ad_bench_fn *fn, ad_ctx *ctx, ad_tensor *const *in, int64_t n)
{
    (void)fn;
    ad_tensor *g = ad_empty(ctx, AD_SHAPE(n));
    if (!g) return NULL;
    const double *x = vals(in[0]);
    double *gv = ad_data(g);
    for (int64_t i = 0; i < n; i++)
        gv[i] = cos(x[i]) * x[i] * x[i] + 2 * x[i] * sin(x[i]) - 2 * x[i] * exp(-x[i] * x[i]);
    return g;
}

/* ---- mlp(n) = Σ tanh((A x)_i), A_ij = sin(i·n + j + 1)/√n ------------------------------- */

static int mlp_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t n, ad_tensor **in, bool *wrt)
{
    (void)fn;
    in[0] = ad_bench_input(ctx, n);
    in[1] = ad_empty(ctx, AD_SHAPE(n, n));
    wrt[0] = true;
    wrt[1] = false;
    if (!in[0] || !in[1]) return ad_errno(ctx);
    double *a = ad_data(in[1]), s = 1 / sqrt((double)n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) a[i * n + j] = sin((double)(i * n + j + 1)) * s;
    return 2;
}

static ad_tensor *mlp_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    return ad_sum(ad_tanh(ad_mv(in[1], in[0])), AD_ALL, false);
}

/* ∇ = Aᵀ (1 - tanh²(A x)) */
static ad_tensor *mlp_exact(const ad_bench_fn *fn, ad_ctx *ctx, ad_tensor *const *in, int64_t n)
{
    (void)fn;
    ad_tensor *g = ad_zeros(ctx, AD_SHAPE(n));
    if (!g) return NULL;
    const double *x = vals(in[0]), *a = vals(in[1]);
    double *gv = ad_data(g);
    for (int64_t i = 0; i < n; i++) {
        double z = 0;
        for (int64_t j = 0; j < n; j++) z += a[i * n + j] * x[j];
        double t = tanh(z), w = 1 - t * t;
        for (int64_t j = 0; j < n; j++) gv[j] += a[i * n + j] * w;
    }
    return g;
}

/* ---- softmax_ce(n) = log Σ exp(x_i) - x_0 ------------------------------------------------ */

static ad_tensor *softmax_ce_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    ad_tensor *x = in[0];
    return ad_sub(ad_logsumexp(x, AD_ALL, false), ad_idx(x, AD_I(0)));
}

/* ∇ = softmax(x) - e_0 */
static ad_tensor *softmax_ce_exact(const ad_bench_fn *fn, ad_ctx *ctx, ad_tensor *const *in, int64_t n)
{
    (void)fn;
    ad_tensor *g = ad_empty(ctx, AD_SHAPE(n));
    if (!g) return NULL;
    const double *x = vals(in[0]);
    double *gv = ad_data(g), mx = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (int64_t i = 0; i < n; i++) s += (gv[i] = exp(x[i] - mx));
    for (int64_t i = 0; i < n; i++) gv[i] /= s;
    gv[0] -= 1;
    return g;
}

/* ---- chain(k): n = 1000, x_{t+1} = 0.9 sin(x_t) + 0.1 x_t for t < k, f = Σ x_k ----------- */

#define CHAIN_N 1000

static int chain_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t k, ad_tensor **in, bool *wrt)
{
    (void)fn;
    in[0] = ad_bench_input(ctx, CHAIN_N);
    in[1] = ad_scalar(ctx, (double)k); /* the number of steps, as a constant input */
    wrt[0] = true;
    wrt[1] = false;
    return in[0] && in[1] ? 2 : ad_errno(ctx);
}

/* One step of the chain; the map (ad_iterate_fn) releases each state as
 * soon as the next exists, so evaluation and forward mode hold O(n) bytes
 * whatever k; plain reverse mode tapes every step, reverse-checkpoint
 * keeps ~sqrt(2k) states (iterate.h). */
static ad_tensor *chain_step(ad_ctx *ctx, ad_tensor *x, ad_tensor *const *theta, int64_t t, void *user)
{
    (void)ctx;
    (void)theta;
    (void)t;
    (void)user;
    return ad_add(ad_mul_s(ad_sin(x), 0.9), ad_mul_s(x, 0.1));
}

/* k is the input after x_0 (one description serves the whole sweep) */
static ad_iterate chain_map = {.step = chain_step, .nparams = 0, .steps = AD_ITERATE_STEPS_INPUT};

/* ∂f/∂x_{0,i} = Π_t (0.9 cos(x_{t,i}) + 0.1) */
static ad_tensor *chain_exact(const ad_bench_fn *fn, ad_ctx *ctx, ad_tensor *const *in, int64_t k)
{
    (void)fn;
    ad_tensor *g = ad_empty(ctx, AD_SHAPE(CHAIN_N));
    if (!g) return NULL;
    const double *x0 = vals(in[0]);
    double *gv = ad_data(g);
    for (int64_t i = 0; i < CHAIN_N; i++) {
        double x = x0[i], d = 1;
        for (int64_t t = 0; t < k; t++) {
            d *= 0.9 * cos(x) + 0.1;
            x = 0.9 * sin(x) + 0.1 * x;
        }
        gv[i] = d;
    }
    return g;
}

/* ---- broadcast(m): f(s) = sin(s·c), c_j = 1 + j/m, s = 0.7; Jacobian R -> R^m ------------ */

static int broadcast_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t m, ad_tensor **in, bool *wrt)
{
    (void)fn;
    in[0] = ad_scalar(ctx, 0.7);
    in[1] = ad_empty(ctx, AD_SHAPE(m));
    wrt[0] = true;
    wrt[1] = false;
    if (!in[0] || !in[1]) return ad_errno(ctx);
    double *c = ad_data(in[1]);
    for (int64_t j = 0; j < m; j++) c[j] = 1 + (double)j / (double)m;
    return 2;
}

static ad_tensor *broadcast_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    return ad_sin(ad_mul(in[0], in[1]));
}

/* ∂f_j/∂s = c_j cos(s c_j) */
static ad_tensor *broadcast_exact(const ad_bench_fn *fn, ad_ctx *ctx, ad_tensor *const *in, int64_t m)
{
    (void)fn;
    ad_tensor *J = ad_empty(ctx, AD_SHAPE(m));
    if (!J) return NULL;
    double s = ad_item(in[0]);
    const double *c = vals(in[1]);
    double *jv = ad_data(J);
    for (int64_t j = 0; j < m; j++) jv[j] = c[j] * cos(s * c[j]);
    return J;
}

/* ---- the table ------------------------------------------------------------------------------ */

/* Exponents per class, in the order reverse, forward, differences (and
 * checkpointed reverse for iterated maps: ad_bench_theory). */
#define TH(r, f, d) {r, f, d}

static const ad_bench_fn SUITE[] = {
    {.name = "rosenbrock", .theory_eval = 1, .size_name = "n",
     .definition = "sum_{i<n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2",
     .f = rosenbrock_f, .make_inputs = one_input, .exact = rosenbrock_exact,
     .theory_time = TH(1, 2, 2), .theory_mem = TH(1, 1, 1),
     .sizes = "10,20,50,100,200,500,1000,2000,5000,10000,20000,50000,100000,200000,500000,1000000",
     .quick_sizes = "10,100,1000,2000,5000,10000,20000,50000,100000"},
    {.name = "expsin", .theory_eval = 1, .size_name = "n", .definition = "sum_i sin(x_i) x_i^2 + exp(-x_i^2)",
     .f = expsin_f, .make_inputs = one_input, .exact = expsin_exact,
     .theory_time = TH(1, 2, 2), .theory_mem = TH(1, 1, 1),
     .sizes = "10,20,50,100,200,500,1000,2000,5000,10000,20000,50000,100000,200000,500000,1000000",
     .quick_sizes = "10,100,1000,2000,5000,10000,20000,50000,100000"},
    {.name = "mlp", .theory_eval = 2, .size_name = "n", .definition = "sum_i tanh((A x)_i), A_ij = sin(i n + j + 1)/sqrt(n)",
     .f = mlp_f, .make_inputs = mlp_inputs, .exact = mlp_exact,
     .theory_time = TH(2, 3, 3), .theory_mem = TH(1, 1, 1),
     .sizes = "50,100,150,200,300,400,500,700,1000", .quick_sizes = "50,100,200,300,500,700"},
    {.name = "softmax_ce", .theory_eval = 1, .size_name = "n", .definition = "log sum_i exp(x_i) - x_0",
     .f = softmax_ce_f, .make_inputs = one_input, .exact = softmax_ce_exact,
     .theory_time = TH(1, 2, 2), .theory_mem = TH(1, 1, 1),
     .sizes = "10,20,50,100,200,500,1000,2000,5000,10000,20000,50000,100000,200000,500000,1000000",
     .quick_sizes = "10,100,1000,2000,5000,10000,20000,50000,100000"},
    {.name = "chain", .theory_eval = 1, .size_name = "k",
     .definition = "n = 1000, x_{t+1} = 0.9 sin(x_t) + 0.1 x_t for t < k, f = sum x_k",
     .f = ad_iterate_fn, .user = &chain_map, .make_inputs = chain_inputs, .exact = chain_exact,
     /* checkpointing: ~2k steps recomputed, sqrt(2k) states stored (iterate.h) */
     .theory_time = {1, 1, 1, 1}, .theory_mem = {1, 0, 0, 0.5},
     .sizes = "1,2,5,10,20,50,100,200,500,1000", .quick_sizes = "1,2,5,10,20,50,100,200,500"},
    {.name = "broadcast", .theory_eval = 1, .size_name = "m", .definition = "f(s) = sin(s c), c_j = 1 + j/m, s = 0.7 (Jacobian)",
     .jacobian = true, .f = broadcast_f, .make_inputs = broadcast_inputs, .exact = broadcast_exact,
     .theory_time = TH(2, 1, 1), .theory_mem = TH(1, 1, 1),
     .sizes = "10,20,50,100,200,500,1000,2000,5000,10000,20000,50000,100000,200000,500000,1000000",
     .quick_sizes = "10,100,1000,2000,5000,10000,20000,50000,100000"},
};
#define NSUITE ((int)(sizeof SUITE / sizeof SUITE[0]))

int ad_bench_suite_count(void) { return NSUITE; }

const ad_bench_fn *ad_bench_suite_at(int i) { return i >= 0 && i < NSUITE ? &SUITE[i] : NULL; }

const ad_bench_fn *ad_bench_suite_find(const char *name)
{
    if (name && strncmp(name, "gb:", 3) == 0) return ad_bench_gradbench_find(name);
    for (int i = 0; name && i < NSUITE; i++)
        if (strcmp(SUITE[i].name, name) == 0) return &SUITE[i];
    return NULL;
}

/* ---- backend classes and theory ------------------------------------------------------------------ */

ad_bench_class ad_bench_class_of(const ad_backend *b)
{
    if (b->vjp) return b->caps & AD_CAP_CHECKPOINT ? AD_BENCH_CHECKPOINT : AD_BENCH_REVERSE;
    if (b->caps & AD_CAP_RULES) return AD_BENCH_FORWARD;
    return AD_BENCH_DIFF;
}

const char *ad_bench_class_name(ad_bench_class c)
{
    static const char *const names[] = {"reverse", "forward", "differences", "checkpoint"};
    return c >= 0 && c < AD_BENCH_NCLASS ? names[c] : "?";
}

void ad_bench_theory(const ad_bench_fn *fn, ad_bench_class c, bool jacobian, double eval_exponent, double *time,
                     double *mem)
{
    *time = *mem = NAN;
    if (c < 0 || c >= AD_BENCH_NCLASS) return;
    /* checkpointing applies to iterated maps only; on any other f the backend is plain reverse */
    if (c == AD_BENCH_CHECKPOINT && !(fn && fn->f == ad_iterate_fn)) c = AD_BENCH_REVERSE;
    if (fn && !fn->auto_kind) {
        *time = fn->theory_time[c];
        *mem = fn->theory_mem[c];
        return;
    }
    /* a custom gradient: one recorded pass, or n evaluations */
    if (jacobian || isnan(eval_exponent)) return;
    *time = c == AD_BENCH_REVERSE || c == AD_BENCH_CHECKPOINT ? eval_exponent : eval_exponent + 1;
}
