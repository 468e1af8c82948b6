/* bench/gradbench/derive.c — an eval's function and its gradient by a
 * backend, each in a scope of its own, with the results copied out of the
 * context into the eval's state (so nothing stays allocated between runs). */
#include "gb_impl.h"

int gb_copy_out(ad_ctx *ctx, const char *what, ad_tensor *t, double *out, size_t n)
{
    if (!t) return ad_errno(ctx) ? ad_errno(ctx) : ad_raise(ctx, AD_EINVAL, "%s: no result", what);
    if (ad_numel(t) != (int64_t)n)
        return ad_raise(ctx, AD_ESHAPE, "%s: %lld values where %zu were expected", what, (long long)ad_numel(t), n);
    return ad_to_array(t, out, (int64_t)n);
}

int gb_value(ad_ctx *ctx, ad_fn f, void *user, int nin, ad_tensor *const *in, double *out, size_t n)
{
    ad_scope s = ad_scope_begin(ctx);
    /* a plain evaluation: nothing recorded, as a primal run of any tool */
    bool prev = ad_set_grad_enabled(ctx, false);
    (void)nin;
    ad_tensor *y = f(ctx, in, user);
    ad_set_grad_enabled(ctx, prev);
    int rc = gb_copy_out(ctx, "primal", y, out, n);
    ad_scope_end(ctx, s, NULL);
    return rc;
}

int gb_gradient(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ad_fn f, void *user, int nin,
                ad_tensor *const *in, double *value, double *grad, size_t n)
{
    ad_scope s = ad_scope_begin(ctx);
    bool wrt[8] = {true}; /* in[0] only: the evals differentiate one input */
    if (nin < 1 || nin > (int)(sizeof wrt / sizeof wrt[0])) {
        ad_scope_end(ctx, s, NULL);
        return ad_raise(ctx, AD_EINVAL, "gradient: %d inputs (1 to %zu)", nin, sizeof wrt / sizeof wrt[0]);
    }
    ad_problem p = {.ctx = ctx, .f = f, .user = user, .nin = nin, .in = in, .wrt = wrt};
    ad_tensor *y = NULL, *g[sizeof wrt / sizeof wrt[0]] = {0};
    int rc = ad_value_and_grad(b, &p, o, &y, g, NULL, NULL);
    if (rc == AD_OK) rc = gb_copy_out(ctx, "gradient", g[0], grad, n);
    if (rc == AD_OK && value) rc = gb_copy_out(ctx, "value", y, value, 1);
    ad_scope_end(ctx, s, NULL);
    return rc;
}
