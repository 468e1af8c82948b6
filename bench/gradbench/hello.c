/* bench/gradbench/hello.c — GradBench's "hello" eval: square(x) = x·x and
 * double(x) = its derivative 2x, by the chosen backend.  The input is a bare
 * number (no min_runs/min_seconds: one run). */
#include <math.h>
#include <stdlib.h>

#include "gb_impl.h"

typedef struct {
    double x, out;
} hello_state;

static ad_tensor *square(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    return ad_mul(in[0], in[0]);
}

static int prepare(ad_ctx *ctx, const json_t *input, void **state)
{
    if (!json_is_number(input) || !isfinite(json_number_value(input)))
        return ad_raise(ctx, AD_EINVAL, "hello: the input must be a finite number");
    hello_state *s = malloc(sizeof *s);
    if (!s) return ad_raise(ctx, AD_ENOMEM, "hello: out of memory");
    s->x = json_number_value(input);
    s->out = NAN;
    *state = s;
    return AD_OK;
}

static int run_square(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    (void)b;
    (void)o;
    hello_state *s = state;
    ad_scope sc = ad_scope_begin(ctx);
    ad_tensor *x = ad_scalar(ctx, s->x);
    int rc = gb_value(ctx, square, NULL, 1, &x, &s->out, 1);
    ad_scope_end(ctx, sc, NULL);
    return rc;
}

static int run_double(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    hello_state *s = state;
    ad_scope sc = ad_scope_begin(ctx);
    ad_tensor *x = ad_scalar(ctx, s->x);
    int rc = gb_gradient(ctx, b, o, square, NULL, 1, &x, NULL, &s->out, 1);
    ad_scope_end(ctx, sc, NULL);
    return rc;
}

static json_t *output(ad_ctx *ctx, void *state) { return gb_json_real(ctx, ((hello_state *)state)->out); }

static const gb_function FUNCTIONS[] = {
    {.name = "square", .prepare = prepare, .run = run_square, .output = output, .free_state = free},
    {.name = "double", .prepare = prepare, .run = run_double, .output = output, .free_state = free},
};

const gb_eval gb_eval_hello = {.name = "hello", .functions = FUNCTIONS, .nfunctions = 2};
