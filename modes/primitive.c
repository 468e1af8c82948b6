/* modes/primitive.c — the kit a backend primitive is built from: how it
 * starts (ad_prim_begin: grad mode, forward width, its scope, fresh inputs),
 * how it ends (ad_prim_restore, then ad_jvp_finish or ad_vjp_finish), and
 * the small pieces every primitive needs (ad_row, ad_width_one). */
#include "modes.h"

int ad_prim_begin(ad_prim *pr, const ad_problem *p, bool grad, int fwd_k, ad_tensor **x)
{
    ad_ctx *ctx = p->ctx;
    pr->ctx = ctx;
    pr->nest = ad_problem_nesting(p);
    pr->pushed = false;
    pr->prev_active = ctx->fwd_active;
    pr->prev_grad = ctx->grad_enabled;
    pr->scope = ad_scope_begin(ctx);
    if (fwd_k == 0 && pr->nest)
        return ad_error(ctx, AD_ENOTSUP,
                        "a backend that evaluates f only cannot differentiate inside another derivative (the "
                        "inputs carry tangents or require grad); use forward, forward-vector or reverse");
    /* the fresh inputs first, in the caller's modes: they say whether an
     * input is nested, not the modes this primitive sets */
    int rc = ad_fresh_inputs(p, x);
    /* an enclosing reverse computation must see f's ops recorded */
    ad_set_grad_enabled(ctx, grad || (pr->nest & AD_NEST_REV));
    if (fwd_k == 0) ctx->fwd_active = 0;
    if (rc == AD_OK && fwd_k > 0) {
        rc = ad_fwd_begin(ctx, fwd_k);
        pr->pushed = rc == AD_OK;
    }
    return rc;
}

void ad_prim_restore(const ad_prim *pr)
{
    if (pr->pushed) ad_fwd_end(pr->ctx);
    pr->ctx->fwd_active = pr->prev_active;
    ad_set_grad_enabled(pr->ctx, pr->prev_grad);
}

int ad_width_one(const ad_backend *b, const ad_options *o)
{
    (void)b;
    (void)o;
    return 1;
}

int ad_jvp_finish(ad_ctx *ctx, ad_scope s, int rc, ad_tensor *y, ad_tensor *jv, ad_tensor *err, ad_eval *e)
{
    ad_tensor *keep[3] = {NULL, NULL, NULL};
    if (rc == AD_OK) {
        keep[0] = e->no_value ? NULL : y;
        keep[1] = jv;
        keep[2] = err;
    }
    int rc2 = ad_scope_end_n(ctx, s, 3, keep);
    e->y = keep[0];
    e->jv = keep[1];
    e->jv_err = keep[2];
    return rc == AD_OK ? rc2 : rc;
}

int ad_vjp_finish(ad_ctx *ctx, ad_scope s, int rc, int nin, ad_tensor *y, ad_tensor *const *g, ad_eval *e)
{
    ad_tensor *keep[1 + AD_MAX_INPUTS]; /* the first 1 + nin are used */
    for (int i = 0; i <= nin; i++) keep[i] = NULL;
    if (rc == AD_OK) {
        keep[0] = e->no_value ? NULL : y;
        for (int i = 0; i < nin; i++) keep[1 + i] = g[i];
    }
    int rc2 = ad_scope_end_n(ctx, s, 1 + nin, keep);
    e->y = keep[0];
    for (int i = 0; i < nin; i++) {
        e->g[i] = keep[1 + i];
        if (e->g_err) e->g_err[i] = NULL;
    }
    return rc == AD_OK ? rc2 : rc;
}

void ad_eval_steps(ad_eval *e, int k, double h)
{
    for (int r = 0; e->h && r < k; r++) e->h[r] = h;
}

ad_tensor *ad_row(ad_tensor *t, int64_t r)
{
    ad_tensor *v = ad_handle_new(t->ctx, t->st, t->ndim - 1, t->shape + 1, t->stride + 1, t->offset + r * t->stride[0]);
    if (v) v->flags |= AD_T_VIEW;
    return v;
}
