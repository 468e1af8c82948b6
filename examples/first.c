/* examples/first.c — the first program of include/adscope.h, compiled and
 * run by the test suite so that the header's example cannot drift. */
#include <adscope.h>

int main(void)
{
    ad_ctx *ctx = ad_ctx_new();
    ad_scope s = ad_scope_begin(ctx);      /* temporaries die with the scope */
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul_s(ad_dot(x, x), 2);
    ad_print(y);                            /* tensor(28., grad_fn=<MulBackward0>) */
    ad_backward(y, NULL, 0);
    ad_print(ad_grad(x));                   /* tensor([ 0.,  4.,  8., 12.]) */
    int status = ad_errno(ctx) == AD_OK ? 0 : 1;
    ad_scope_end(ctx, s, NULL);
    ad_ctx_free(ctx);
    return status;
}
