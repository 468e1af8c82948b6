/* modes/blackbox_check.c — checking a black box's hand-written derivative
 * (adscope/blackbox.h): the opaque problem, the checker's options, and the
 * whole check for callers holding plain arrays. */
#include <string.h>

#include "modes.h"

int ad_blackbox_problem(ad_problem *p, ad_ctx *ctx, const ad_blackbox *bb, ad_tensor *const *x)
{
    if (!ctx) return AD_EINVAL;
    if (!p) return ad_error(ctx, AD_EINVAL, "black box: no problem to fill");
    if (!bb) return ad_error(ctx, AD_EINVAL, "black box: no function given");
    if (!bb->f == !bb->r)
        return ad_error(ctx, AD_EINVAL, "black box: give exactly one of f (scalar) and r (vector), not %s",
                        bb->f ? "both" : "neither");
    if (bb->r && bb->m == 0) return ad_error(ctx, AD_EINVAL, "black box: r has m = 0 outputs (m must be >= 1)");
    if (!x || !x[0]) return ad_error(ctx, AD_EINVAL, "black box: no input x given");
    *p = (ad_problem){.ctx = ctx, .f = ad_blackbox_fn, .user = (void *)bb, .nin = 1, .in = x,
                      .flags = AD_PROBLEM_OPAQUE};
    return AD_OK;
}

void ad_blackbox_check_options(const ad_blackbox *bb, ad_gradcheck_options *o)
{
    if (!bb || !o) return;
    o->user_grad = NULL;
    o->user_jvp = NULL;
    o->user_vjp = NULL;
    o->user_data = (void *)bb;
    if (bb->f && bb->grad) o->user_grad = ad_blackbox_grad;
    /* J as a VJP: the checker compares it row by row (one call of jac per
     * residual), and in fast mode through <u, J d> */
    if (bb->r && bb->jac) o->user_vjp = ad_blackbox_vjp;
    /* the AD backends are reported as not applicable by ad_gradcheck itself
     * (AD_PROBLEM_OPAQUE), and its identity and Taylor checks use this
     * hand-written derivative */
}

static bool has_derivative(const ad_blackbox *bb)
{
    return (bb->f && bb->grad) || (bb->r && bb->jac);
}

int ad_blackbox_check(ad_ctx *ctx, const ad_blackbox *bb, const double *x, size_t n,
                      const ad_gradcheck_options *o, ad_gradcheck_report *r)
{
    if (!ctx) return AD_EINVAL;
    if (r) memset(r, 0, sizeof *r);
    if (!r) return ad_error(ctx, AD_EINVAL, "black-box check: no report given");
    if (!x || n == 0) return ad_error(ctx, AD_EINVAL, "black-box check: no point x given (n = %zu)", n);
    if (bb && !has_derivative(bb))
        return ad_error(ctx, AD_EINVAL,
                        "black-box check: nothing to check: give the hand-written derivative (grad for f, jac for r)");
    ad_gradcheck_options opt = o ? *o : ad_gradcheck_defaults();
    ad_blackbox_check_options(bb, &opt);
    static const char *const x_name[] = {"x"};
    if (!opt.names) opt.names = x_name;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *xt = ad_from_array(ctx, AD_SHAPE((int64_t)n), x);
    ad_problem p;
    int rc = xt ? ad_blackbox_problem(&p, ctx, bb, &xt) : ctx->err;
    if (rc == AD_OK) rc = ad_gradcheck(&p, &opt, r);
    ad_scope_end(ctx, s, NULL);
    return rc;
}
