/* tests/snippets/prelude.c — linked with every fragment of the
 * documentation (prelude.h): the names the prose takes as given, and a
 * main, so that each fragment is linked against the library and a call to
 * a function that does not exist fails. */
#include "prelude.h"

#ifndef SNIPPET_DEFINES_F
ad_tensor *f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx, (void)user;
    return ad_sum(ad_sin(in[0]), AD_ALL, false);
}
#endif

#ifndef SNIPPET_DEFINES_MY_GRADIENT
int my_gradient(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user)
{
    (void)ctx, (void)user;
    grad[0] = ad_cos(in[0]);
    return grad[0] ? AD_OK : ad_errno(ctx);
}
#endif

int main(void)
{
    return 0;
}
