/* bench/gradbench/lse.c — GradBench's "lse" eval: LogSumExp with the
 * max trick, from its primitive elements (a maximum, a sum), not a builtin:
 *
 *     a = max x,  LSE(x) = a + log Σ_i exp(x_i - a)
 *
 * The gradient (softmax(x)) comes from the backend; a's own derivative
 * cancels (1 - Σ softmax = 0), so the maximum's subgradient at ties does not
 * matter.  Functions: "primal" and "gradient". */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "gb_impl.h"

static ad_tensor *lse_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    ad_tensor *a = ad_max(in[0], AD_ALL, false);
    return ad_add(a, ad_log(ad_sum(ad_exp(ad_sub(in[0], a)), AD_ALL, false)));
}

static int lse_read(ad_ctx *ctx, const json_t *input, gb_arrays *a) { return gb_arrays_vector(ctx, a, input, "x"); }

static const gb_plain LSE = {.name = "lse", .read = lse_read, .primal = lse_f};

static int prepare(ad_ctx *ctx, const json_t *input, void **state) { return gb_plain_prepare(ctx, &LSE, input, state); }

static const gb_function FUNCTIONS[] = {
    {.name = "primal", .prepare = prepare, .run = gb_plain_value, .output = gb_plain_real, .free_state = gb_plain_free},
    {.name = "gradient", .prepare = prepare, .run = gb_plain_gradient, .output = gb_plain_list,
     .free_state = gb_plain_free},
};

const gb_eval gb_eval_lse = {.name = "lse", .functions = FUNCTIONS, .nfunctions = 2};

/* ---- the harness's sweep over n ---- */

static int bench_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t n, ad_tensor **in, bool *wrt)
{
    (void)fn;
    in[0] = ad_bench_input(ctx, n);
    wrt[0] = true;
    return in[0] ? 1 : ad_errno(ctx);
}

const ad_bench_fn ad_bench_gb_lse = {
    .name = "gb:lse", .size_name = "n", .definition = "GradBench lse: max x + log sum_i exp(x_i - max x) (gradient)",
    .f = lse_f, .make_inputs = bench_inputs, .theory_eval = 1,
    .theory_time = {1, 2, 2}, .theory_mem = {1, 1, 1},
    .sizes = "2500,5000,10000,20000,40000,80000,160000,320000,640000,1280000",
    .quick_sizes = "100,1000,2500,5000,10000,20000"};
