/* bench/gradbench/llsq.c — GradBench's "llsq" eval (cmpad's llsq_obj):
 *
 *     y(x) = 1/2 Σ_i (s_i - Σ_j x_j t_i^j)²,  t_i = -1 + 2i/(n-1),  s_i = sign(t_i)
 *
 * vectorised as y = 1/2 |s - T x|² with the Vandermonde matrix T[i,j] =
 * t_i^j, a constant of the problem built outside the timed runs (as the
 * reference builds t inside its loop, T holds no derivative work).
 * Functions: "primal" (y) and "gradient" (∇y = -Tᵀ(s - T x) by the backend). */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "gb_impl.h"

#define LLSQ_MAX_N 100000000LL

/* in: x [m] (differentiated), T [n, m], s [n] */
static ad_tensor *llsq_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    ad_tensor *r = ad_sub(in[2], ad_mv(in[1], in[0]));
    return ad_mul_s(ad_sum(ad_square(r), AD_ALL, false), 0.5);
}

/* t_i^j by repeated products, as the reference computes them */
static void llsq_data(size_t n, size_t m, double *T, double *s)
{
    for (size_t i = 0; i < n; i++) {
        double t = -1 + (double)i * 2 / (double)(n - 1), mul = 1;
        s[i] = (t > 0) - (t < 0);
        for (size_t j = 0; j < m; j++, mul *= t) T[i * m + j] = mul;
    }
}

/* x from the input; T and s built from n, outside the timed runs */
static int llsq_read(ad_ctx *ctx, const json_t *input, gb_arrays *a)
{
    int64_t n = 0;
    double *T = NULL, *s = NULL;
    int rc = gb_arrays_vector(ctx, a, input, "x");
    size_t m = rc == AD_OK ? gb_arrays_numel(a, 0) : 0;
    if (rc == AD_OK) rc = gb_json_int(ctx, "llsq", input, "n", 2, LLSQ_MAX_N, &n);
    if (rc == AD_OK && (double)n * (double)m > 1e9)
        rc = ad_raise(ctx, AD_ELIMIT, "llsq: n·m = %lld·%zu is too large (at most 1e9)", (long long)n, m);
    if (rc == AD_OK) rc = gb_arrays_add(ctx, a, AD_SHAPE(n, (int64_t)m), &T);
    if (rc == AD_OK) rc = gb_arrays_add(ctx, a, AD_SHAPE(n), &s);
    if (rc == AD_OK) llsq_data((size_t)n, m, T, s);
    return rc;
}

static const gb_plain LLSQ = {.name = "llsq", .read = llsq_read, .primal = llsq_f};

static int prepare(ad_ctx *ctx, const json_t *input, void **state) { return gb_plain_prepare(ctx, &LLSQ, input, state); }

static const gb_function FUNCTIONS[] = {
    {.name = "primal", .prepare = prepare, .run = gb_plain_value, .output = gb_plain_real, .free_state = gb_plain_free},
    {.name = "gradient", .prepare = prepare, .run = gb_plain_gradient, .output = gb_plain_list,
     .free_state = gb_plain_free},
};

const gb_eval gb_eval_llsq = {.name = "llsq", .functions = FUNCTIONS, .nfunctions = 2};

/* ---- the harness's sweep: n points, m = 128 coefficients (GradBench's default m) ---- */

#define LLSQ_BENCH_M 128

static int bench_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t n, ad_tensor **in, bool *wrt)
{
    (void)fn;
    if (n < 2) return ad_raise(ctx, AD_EINVAL, "gb:llsq: n = %lld points (at least 2)", (long long)n);
    in[0] = ad_bench_input(ctx, LLSQ_BENCH_M);
    in[1] = ad_empty(ctx, AD_SHAPE(n, LLSQ_BENCH_M));
    in[2] = ad_empty(ctx, AD_SHAPE(n));
    if (!in[0] || !in[1] || !in[2]) return ad_errno(ctx);
    llsq_data((size_t)n, LLSQ_BENCH_M, ad_data(in[1]), ad_data(in[2]));
    wrt[0] = true;
    wrt[1] = wrt[2] = false;
    return 3;
}

const ad_bench_fn ad_bench_gb_llsq = {
    .name = "gb:llsq", .size_name = "n",
    .definition = "GradBench llsq: 1/2 |s - T x|^2, T[i,j] = t_i^j, m = 128 (gradient)",
    .f = llsq_f, .make_inputs = bench_inputs, .theory_eval = 1,
    .theory_time = {1, 1, 1}, .theory_mem = {1, 1, 1},
    .sizes = "16,32,64,128,256,512,1024,2048,4096,8196,16392", .quick_sizes = "16,64,256,1024,4096"};
