/* tests/snippets/prelude.h — what the documentation's snippets take as
 * given from their prose: the user's function f (an ad_fn) and a
 * hand-written gradient my_gradient (an ad_user_grad_fn), unless the
 * snippet defines them itself.  prelude.c defines them and main(). */
#ifndef SNIPPET_PRELUDE_H
#define SNIPPET_PRELUDE_H

#include <adscope.h>

#ifndef SNIPPET_DEFINES_F
ad_tensor *f(ad_ctx *ctx, ad_tensor *const *in, void *user);
#endif
#ifndef SNIPPET_DEFINES_MY_GRADIENT
int my_gradient(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user);
#endif

#endif
