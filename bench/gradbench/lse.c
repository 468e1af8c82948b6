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

typedef struct {
    double *x, *out;
    size_t n;
} lse_state;

static ad_tensor *lse_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    ad_tensor *a = ad_max(in[0], AD_ALL, false);
    return ad_add(a, ad_log(ad_sum(ad_exp(ad_sub(in[0], a)), AD_ALL, false)));
}

static void lse_free(void *state)
{
    lse_state *s = state;
    if (!s) return;
    free(s->x);
    free(s->out);
    free(s);
}

static int prepare(ad_ctx *ctx, const json_t *input, void **state)
{
    lse_state *s = calloc(1, sizeof *s);
    if (!s) return ad_raise(ctx, AD_ENOMEM, "lse: out of memory");
    int rc = gb_json_vector(ctx, "lse", input, "x", &s->x, &s->n);
    if (rc == AD_OK && !(s->out = malloc(s->n * sizeof *s->out))) rc = ad_raise(ctx, AD_ENOMEM, "lse: out of memory");
    if (rc != AD_OK) {
        lse_free(s);
        return rc;
    }
    *state = s;
    return AD_OK;
}

static int run(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state, bool gradient)
{
    lse_state *s = state;
    ad_scope sc = ad_scope_begin(ctx);
    ad_tensor *x = ad_wrap(ctx, AD_SHAPE((int64_t)s->n), s->x);
    int rc = !x       ? ad_errno(ctx)
             : gradient ? gb_gradient(ctx, b, o, lse_f, NULL, 1, &x, NULL, s->out, s->n)
                        : gb_value(ctx, lse_f, NULL, 1, &x, s->out, 1);
    ad_scope_end(ctx, sc, NULL);
    return rc;
}

static int run_primal(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    return run(ctx, b, o, state, false);
}

static int run_gradient(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    return run(ctx, b, o, state, true);
}

static json_t *out_primal(ad_ctx *ctx, void *state) { return gb_json_real(ctx, ((lse_state *)state)->out[0]); }

static json_t *out_gradient(ad_ctx *ctx, void *state)
{
    lse_state *s = state;
    return gb_json_list(ctx, s->out, s->n);
}

static const gb_function FUNCTIONS[] = {
    {.name = "primal", .prepare = prepare, .run = run_primal, .output = out_primal, .free_state = lse_free},
    {.name = "gradient", .prepare = prepare, .run = run_gradient, .output = out_gradient, .free_state = lse_free},
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
