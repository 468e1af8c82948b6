/* bench/gradbench/hello.c — GradBench's "hello" eval: square(x) = x·x and
 * double(x) = its derivative 2x, by the chosen backend.  The input is a bare
 * number (no min_runs/min_seconds: one run). */
#include <math.h>

#include "gb_impl.h"

static ad_tensor *square(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    return ad_mul(in[0], in[0]);
}

/* x as a 0-d input */
static int hello_read(ad_ctx *ctx, const json_t *input, gb_arrays *a)
{
    double *x = NULL;
    if (!json_is_number(input) || !isfinite(json_number_value(input)))
        return ad_raise(ctx, AD_EINVAL, "hello: the input must be a finite number");
    int rc = gb_arrays_add(ctx, a, AD_SCALAR, &x);
    if (rc == AD_OK) *x = json_number_value(input);
    return rc;
}

static const gb_plain HELLO = {.name = "hello", .read = hello_read, .primal = square};

static int prepare(ad_ctx *ctx, const json_t *input, void **state)
{
    return gb_plain_prepare(ctx, &HELLO, input, state);
}

/* both answer one number */
static const gb_function FUNCTIONS[] = {
    {.name = "square", .prepare = prepare, .run = gb_plain_value, .output = gb_plain_real, .free_state = gb_plain_free},
    {.name = "double", .prepare = prepare, .run = gb_plain_gradient, .output = gb_plain_real,
     .free_state = gb_plain_free},
};

const gb_eval gb_eval_hello = {.name = "hello", .functions = FUNCTIONS, .nfunctions = 2};
