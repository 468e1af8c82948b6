/* tests/plugins/plugin_faulty.c — plugins that break the contract of
 * examples/plugin_rosenbrock.c on purpose, for tests/test_cli_bad_input.c:
 * the program must refuse each with a message and exit 2, never crash or
 * report a derivative.
 *
 *   twice     declares its input twice (twice_inputs = "x,x");
 *   foreign   returns a tensor built in a context of its own;
 *   silent    returns NULL without recording an error. */
#include <adscope.h>

ad_tensor *twice(ad_ctx *ctx, ad_tensor *const *in, void *user);
ad_tensor *foreign(ad_ctx *ctx, ad_tensor *const *in, void *user);
ad_tensor *silent(ad_ctx *ctx, ad_tensor *const *in, void *user);

const char *twice_inputs = "x,x";

ad_tensor *twice(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    return ad_sum(ad_mul(in[0], in[1]), AD_ALL, false);
}

/* A context of the plugin's own, made on first use and freed with the
 * plugin, so that whatever the program does with the result leaks nothing. */
static ad_ctx *own;

static void drop_own(void) __attribute__((destructor));
static void drop_own(void)
{
    ad_ctx_free(own);
    own = NULL;
}

ad_tensor *foreign(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    if (!own) own = ad_ctx_new();
    return own ? ad_full(own, ad_shape_of(ad_sum(in[0], AD_ALL, false)), 2.5) : NULL;
}

ad_tensor *silent(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)in;
    (void)user;
    return NULL;
}
