/* src/expr/value.c — VALUE expressions: tensors written as text.
 *
 *     [[1, 2], [3, 4]]     arange(4)     ones(3, 4)     randn(3, 4)
 *     linspace(0, 1, 5)    eye(3)        2*pi*arange(8)/8
 *
 * A value refers to no variable and is evaluated with grad mode off:
 * nothing is recorded, the result is a plain leaf. */
#include "expr_internal.h"

ad_tensor *ad_expr_value(ad_ctx *ctx, const char *src, ad_expr_error *err)
{
    ad_expr_error local;
    if (!err) err = &local;
    ad_expr *e = ad_expr_parse(src, err);
    if (!e) {
        if (ctx) ad_error(ctx, err->status, "%s", err->msg);
        return NULL;
    }
    if (!ctx) {
        ex_set_error(err, AD_EINVAL, -1, 0, "expr_value: no context");
        ad_expr_free(e);
        return NULL;
    }
    if (e->nvars > 0) {
        ex_set_error(err, AD_ENOTFOUND, e->var_pos[0], e->var_len[0],
                     "unknown name '%s' (values cannot refer to variables)", e->vars[0]);
        ad_error(ctx, err->status, "%s", err->msg);
        ad_expr_free(e);
        return NULL;
    }
    bool prev = ad_set_grad_enabled(ctx, false);
    ad_tensor *r = ad_expr_eval(ctx, e, NULL, err);
    ad_set_grad_enabled(ctx, prev);
    ad_expr_free(e);
    return r;
}
