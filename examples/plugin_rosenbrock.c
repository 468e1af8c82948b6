/* examples/plugin_rosenbrock.c — a function for the adscope command line,
 * compiled as a shared library against the installed library:
 *
 *     cc -shared -fPIC -o plugin_rosenbrock.so plugin_rosenbrock.c -ladscope
 *     adscope grad  --plugin ./plugin_rosenbrock.so:rosenbrock --var x='linspace(0,1,6)'
 *     adscope check --plugin ./plugin_rosenbrock.so:rosenbrock \
 *                   --grad-symbol rosenbrock_grad_wrong --var x='linspace(0,1,6)'
 *
 * The contract:
 *   SYMBOL          ad_tensor *SYMBOL(ad_ctx *, ad_tensor *const *in, void *user)
 *                   builds its result with the library's ops (any backend
 *                   can then differentiate it);
 *   SYMBOL_inputs   (optional) the names of its inputs, comma-separated, so
 *                   that --var can bind them by name;
 *   a gradient      int G(ad_ctx *, ad_tensor *const *in, ad_tensor **grad, void *user)
 *                   (optional) a hand-written gradient for --grad-symbol G.
 *
 * rosenbrock(x) = Σ_{i<n-1} 100 (x[i+1] - x[i]²)² + (1 - x[i])²
 * Its gradient, by hand:
 *   ∂/∂x[i]   += -400 x[i] (x[i+1] - x[i]²) - 2 (1 - x[i])      (i < n-1)
 *   ∂/∂x[i+1] += 200 (x[i+1] - x[i]²)
 * rosenbrock_grad_wrong forgets the factor 2 of the second term: the kind
 * of slip gradient checking exists for. */
#include <adscope.h>

const char *rosenbrock_inputs = "x";

ad_tensor *rosenbrock(ad_ctx *ctx, ad_tensor *const *in, void *user);
int rosenbrock_grad(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user);
int rosenbrock_grad_wrong(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user);

ad_tensor *rosenbrock(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    ad_tensor *x = in[0];
    ad_tensor *head = ad_idx(x, AD_S(AD_END, -1)), *tail = ad_idx(x, AD_S(1, AD_END));
    ad_tensor *a = ad_mul_s(ad_square(ad_sub(tail, ad_square(head))), 100);
    return ad_sum(ad_add(a, ad_square(ad_rsub_s(1, head))), AD_ALL, false);
}

/* The hand-written gradient, with plain loops over the values. */
static int gradient(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, double factor)
{
    ad_tensor *x = ad_contiguous(in[0]);
    if (!x) return ad_errno(ctx);
    int64_t n = ad_numel(x);
    ad_tensor *g = ad_zeros(ctx, ad_shape_of(x));
    if (!g) {
        ad_tensor_free(x);
        return ad_errno(ctx);
    }
    const double *xv = ad_data(x);
    double *gv = ad_data(g);
    for (int64_t i = 0; i + 1 < n; i++) {
        double d = xv[i + 1] - xv[i] * xv[i];
        gv[i] += -400 * xv[i] * d - factor * (1 - xv[i]);
        gv[i + 1] += 200 * d;
    }
    ad_tensor_free(x);
    grad[0] = g;
    return AD_OK;
}

int rosenbrock_grad(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user)
{
    (void)user;
    return gradient(ctx, in, grad, 2.0);
}

int rosenbrock_grad_wrong(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user)
{
    (void)user;
    return gradient(ctx, in, grad, 1.0); /* the deliberate slip: 1 instead of 2 */
}
