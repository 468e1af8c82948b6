/* src/tangent.c — forward mode's API: the tangent width and the tangents
 * attached to tensors.  Propagation happens in ops/record.c, through each
 * op's JVP rule; the backend that seeds passes is modes/forward.c. */
#include <string.h>

#include "iter.h"
#include "ops/op.h"

#define AD_MAX_WIDTH 65536

int ad_fwd_begin(ad_ctx *ctx, int k)
{
    if (!ctx) return AD_EINVAL;
    if (k < 1 || k > AD_MAX_WIDTH)
        return ad_error(ctx, AD_EINVAL, "fwd_begin: tangent width %d is out of range (1..%d)", k, AD_MAX_WIDTH);
    ctx->fwd_k = k;
    return AD_OK;
}

void ad_fwd_end(ad_ctx *ctx)
{
    if (ctx) ctx->fwd_k = 0;
}

int ad_fwd_width(const ad_ctx *ctx) { return ctx ? ctx->fwd_k : 0; }

bool ad_has_tangent(const ad_tensor *t) { return t && t->tangent; }

int ad_set_tangent(ad_tensor *x, ad_tensor *tan)
{
    if (!x) return AD_EINVAL;
    ad_ctx *ctx = x->ctx;
    if (!tan) {
        if (x->tangent) ad_decref(x->tangent);
        x->tangent = NULL;
        return AD_OK;
    }
    int k = ctx->fwd_k;
    if (k == 0) return ad_error(ctx, AD_ESTATE, "set_tangent: forward mode is off (call ad_fwd_begin first)");
    if (x->ndim + 1 > AD_MAX_DIMS)
        return ad_error(ctx, AD_ESHAPE, "set_tangent: a tensor with %d axes cannot carry a tangent (at most %d)",
                        x->ndim, AD_MAX_DIMS - 1);
    bool plain = tan->ndim == x->ndim, batched = tan->ndim == x->ndim + 1 && tan->shape[0] == k;
    for (int i = 0; i < x->ndim; i++) {
        if (plain && tan->shape[i] != x->shape[i]) plain = false;
        if (batched && tan->shape[i + 1] != x->shape[i]) batched = false;
    }
    if (!(plain && k == 1) && !batched) {
        char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
        return ad_error(ctx, AD_ESHAPE,
                        "set_tangent: a tangent of shape %s does not fit a tensor of shape %s with width %d "
                        "(expected the tensor's shape, or [%d, ...shape])",
                        ad_fmt_shape(b1, sizeof b1, tan->ndim, tan->shape),
                        ad_fmt_shape(b2, sizeof b2, x->ndim, x->shape), k, k);
    }
    ad_tensor *t = ad_tangent_zeros(ctx, k, ad_shape_of(x));
    if (!t) return ctx->err;
    const int64_t *shape = t->shape;
    ad_unscope(t);
    /* copy row-major: a plain tangent is the single batch row */
    ad_tensor *src = tan;
    ad_tensor *view = NULL;
    if (plain) {
        view = ad_handle_new(ctx, tan->st, x->ndim + 1, shape, (int64_t[AD_MAX_DIMS]){0}, tan->offset);
        if (!view) {
            ad_decref(t);
            return ctx->err;
        }
        ad_unscope(view);
        memcpy(view->stride + 1, tan->stride, (size_t)tan->ndim * sizeof(int64_t));
        ad_layout_update(view);
        src = view;
    }
    ad_copy_raw(t, src);
    if (view) ad_decref(view);
    if (x->tangent) ad_decref(x->tangent);
    x->tangent = t;
    return AD_OK;
}

ad_tensor *ad_deriv_zeros(ad_ctx *ctx, ad_shape s)
{
    uint8_t prev = ctx->cat;
    ctx->cat = AD_MEM_TANGENTS;
    ad_tensor *t = ad_zeros(ctx, s);
    ctx->cat = prev;
    return t;
}

/* Derivatives of a tensor of shape S are kept k at a time as one tensor
 * [k, S] (tangents, gradient rows, Jacobian columns): S may have at most
 * AD_MAX_DIMS - 1 axes.  Refusing here, with the way out, beats growing
 * every shape array by one for a rank nobody differentiates. */
int ad_tangent_shape(ad_ctx *ctx, int k, ad_shape s, ad_shape *out)
{
    if (s.ndim < 0 || s.ndim + 1 > AD_MAX_DIMS)
        return ad_error(ctx, AD_ESHAPE,
                        "a tensor with %d axes cannot be differentiated: its derivatives are kept as [k, shape...], "
                        "at most %d axes (reshape or flatten it to at most %d axes)",
                        s.ndim, AD_MAX_DIMS, AD_MAX_DIMS - 1);
    *out = ad_op_tan_shape(k, s.ndim, s.dim);
    return AD_OK;
}

ad_tensor *ad_tangent_zeros(ad_ctx *ctx, int k, ad_shape s)
{
    ad_shape ts;
    if (ad_tangent_shape(ctx, k, s, &ts) != AD_OK) return NULL;
    return ad_deriv_zeros(ctx, ts);
}

ad_tensor *ad_get_tangent(ad_tensor *t)
{
    if (!t) return NULL;
    ad_ctx *ctx = t->ctx;
    int k = t->tangent ? (int)t->tangent->shape[0] : (ctx->fwd_k ? ctx->fwd_k : 1);
    if (!t->tangent) {
        ad_shape s;
        if (k == 1) return ad_zeros(ctx, ad_shape_of(t));
        return ad_tangent_shape(ctx, k, ad_shape_of(t), &s) == AD_OK ? ad_zeros(ctx, s) : NULL;
    }
    ad_tensor *tan = t->tangent;
    if (k == 1) return ad_reshape(tan, ad_shape_of(t));
    return ad_alias(tan, false);
}
