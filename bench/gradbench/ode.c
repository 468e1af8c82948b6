/* bench/gradbench/ode.c — GradBench's "ode" eval (cmpad's an_ode): s
 * Runge-Kutta 4 steps to t = 2 of
 *
 *     y_0' = x_0,   y_i' = x_i · y_{i-1} (i > 0),   y(0) = 0,
 *
 * vectorised: the right-hand side is x ⊙ [1, y_0, ..., y_{n-2}].
 * Functions: "primal" (y(2), n values) and "gradient" (the gradient of its
 * last element with respect to x, by the backend).  Each step runs in a
 * scope of its own that keeps only the new state, so a plain evaluation and
 * forward mode hold O(n) bytes whatever s; only the tape keeps the steps. */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "gb_impl.h"

#define ODE_MAX_STEPS 100000000LL

/* x ⊙ [1, y_0, ..., y_{n-2}] */
static ad_tensor *ode_rhs(ad_tensor *x, ad_tensor *y, ad_tensor *one)
{
    int64_t n = ad_numel(x);
    if (n == 1) return ad_mul(x, one);
    ad_tensor *parts[2] = {one, ad_idx(y, AD_S(AD_END, n - 1))};
    return ad_mul(x, ad_concat(parts, 2, 0));
}

static ad_tensor *ode_step(ad_tensor *x, ad_tensor *y, ad_tensor *one, double h)
{
    ad_tensor *k1 = ode_rhs(x, y, one);
    ad_tensor *k2 = ode_rhs(x, ad_add(y, ad_div_s(ad_mul_s(k1, h), 2)), one);
    ad_tensor *k3 = ode_rhs(x, ad_add(y, ad_div_s(ad_mul_s(k2, h), 2)), one);
    ad_tensor *k4 = ode_rhs(x, ad_add(y, ad_mul_s(k3, h)), one);
    ad_tensor *sum = ad_add(ad_add(k1, ad_mul_s(ad_add(k2, k3), 2)), k4);
    return ad_add(y, ad_div_s(ad_mul_s(sum, h), 6));
}

/* in: x [n] (differentiated), s (a 0-d constant: the number of steps) */
static ad_tensor *ode_solve(ad_ctx *ctx, ad_tensor *const *in)
{
    double s = ad_item(in[1]);
    if (!(s >= 1 && s <= (double)ODE_MAX_STEPS && s == floor(s))) {
        ad_raise(ctx, AD_EINVAL, "ode: s = %g steps (an integer, 1 to %lld)", s, ODE_MAX_STEPS);
        return NULL;
    }
    double h = 2 / s;
    ad_tensor *one = ad_ones(ctx, AD_SHAPE(1)), *y = ad_zeros(ctx, ad_shape_of(in[0]));
    bool own = false; /* y is a step's result: released as soon as the next exists */
    for (int64_t i = 0; i < (int64_t)s && y && one; i++) {
        ad_scope sc = ad_scope_begin(ctx);
        ad_tensor *next = ad_scope_end(ctx, sc, ode_step(in[0], y, one, h));
        if (own) ad_tensor_free(y);
        y = next;
        own = true;
    }
    return y; /* owned by the caller's scope, like any result */
}

static ad_tensor *ode_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)user;
    return ode_solve(ctx, in);
}

static ad_tensor *ode_last(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)user;
    ad_tensor *y = ode_solve(ctx, in);
    return y ? ad_idx(y, AD_I(-1)) : NULL;
}

/* x, and s as a 0-d constant; the primal answers n values */
static int ode_read(ad_ctx *ctx, const json_t *input, gb_arrays *a)
{
    int64_t steps = 0;
    double *s = NULL;
    int rc = gb_arrays_vector(ctx, a, input, "x");
    if (rc == AD_OK) rc = gb_json_int(ctx, "ode", input, "s", 1, ODE_MAX_STEPS, &steps);
    if (rc == AD_OK) rc = gb_arrays_add(ctx, a, AD_SCALAR, &s);
    if (rc == AD_OK) {
        *s = (double)steps;
        a->nvalues = gb_arrays_numel(a, 0);
    }
    return rc;
}

static const gb_plain ODE = {.name = "ode", .read = ode_read, .primal = ode_f, .scalar = ode_last};

static int prepare(ad_ctx *ctx, const json_t *input, void **state) { return gb_plain_prepare(ctx, &ODE, input, state); }

/* both functions answer n values */
static const gb_function FUNCTIONS[] = {
    {.name = "primal", .prepare = prepare, .run = gb_plain_value, .output = gb_plain_list, .free_state = gb_plain_free},
    {.name = "gradient", .prepare = prepare, .run = gb_plain_gradient, .output = gb_plain_list,
     .free_state = gb_plain_free},
};

const gb_eval gb_eval_ode = {.name = "ode", .functions = FUNCTIONS, .nfunctions = 2};

/* ---- the harness's sweep over n, s = 10 steps ---- */

#define ODE_BENCH_STEPS 10

static int bench_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t n, ad_tensor **in, bool *wrt)
{
    (void)fn;
    in[0] = ad_bench_input(ctx, n);
    in[1] = ad_scalar(ctx, ODE_BENCH_STEPS);
    wrt[0] = true;
    wrt[1] = false;
    return in[0] && in[1] ? 2 : ad_errno(ctx);
}

const ad_bench_fn ad_bench_gb_ode = {
    .name = "gb:ode", .size_name = "n",
    .definition = "GradBench ode: y_{n-1}(2) by RK4, s = 10 steps, y_i' = x_i y_{i-1} (gradient)",
    .f = ode_last, .make_inputs = bench_inputs, .theory_eval = 1,
    .theory_time = {1, 2, 2}, .theory_mem = {1, 1, 1},
    .sizes = "10,100,1000,10000,100000", .quick_sizes = "10,30,100,300,1000"};
