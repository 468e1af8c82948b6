/* examples/plugin_loops.c — what not to do with the tensor ABI: a function
 * that takes adscope tensors but computes with plain loops over their data.
 * AD sees only the constant it returns, so its gradient is exactly zero,
 * and adscope says so:
 *
 *     adscope grad --plugin ./plugin_loops.so:sumsq --var x='[1, 2, 3]'
 *       ...
 *       adscope grad: note: f depends on x but not through adscope ops: a
 *       black-box function? use --abi c
 *
 * Written with the ops (ad_sum(ad_square(x), AD_ALL, false)) it would be
 * differentiable; written over plain arrays it belongs to the C ABI
 * (examples/plugin_cabi.c). */
#include <adscope.h>

const char *sumsq_inputs = "x";

ad_tensor *sumsq(ad_ctx *ctx, ad_tensor *const *in, void *user);

ad_tensor *sumsq(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)user;
    ad_tensor *x = ad_contiguous(in[0]);
    if (!x) return NULL;
    const double *v = ad_data(x);
    double s = 0;
    for (int64_t i = 0; i < ad_numel(x); i++) s += v[i] * v[i];
    ad_tensor_free(x);
    return ad_scalar(ctx, s);
}
