/* src/tangent.c — forward mode's API: the stack of forward levels, their
 * widths, and the tangents attached to tensors (one slot per level).
 * Propagation happens in ops/record.c, through each op's JVP rule; the
 * backend that seeds passes is modes/forward.c.
 *
 * Levels (JAX's, for nested differentiation): ad_fwd_begin pushes a level
 * with a fresh id, ad_fwd_end pops it.  A tensor keeps the tangent of the
 * level at depth d in slot d, tagged with that level's id, so an outer
 * and an inner tangent never mix (perturbation confusion), and a tangent
 * left over by an ended level is never taken for the tangent of a later
 * level at the same depth. */
#include <string.h>

#include "iter.h"
#include "ops/op.h"

#define AD_MAX_WIDTH 65536

int ad_fwd_begin(ad_ctx *ctx, int k)
{
    if (!ctx) return AD_EINVAL;
    if (k < 1 || k > AD_MAX_WIDTH)
        return ad_error(ctx, AD_EINVAL, "fwd_begin: tangent width %d is out of range (1..%d)", k, AD_MAX_WIDTH);
    if (ctx->fwd_depth >= AD_FWD_DEPTH)
        return ad_error(ctx, AD_ELIMIT,
                        "fwd_begin: forward levels nest at most %d deep (%d are open; end one with ad_fwd_end, "
                        "or take an inner derivative in reverse mode)",
                        AD_FWD_DEPTH, ctx->fwd_depth);
    int d = ctx->fwd_depth++;
    if (++ctx->fwd_next_id == 0) ctx->fwd_next_id = 1; /* 0 is no level's id */
    ctx->fwd_lv[d].k = k;
    ctx->fwd_lv[d].id = ctx->fwd_next_id;
    ctx->fwd_lv[d].record = true;
    ctx->fwd_active |= (uint8_t)(1u << d);
    return AD_OK;
}

void ad_fwd_end(ad_ctx *ctx)
{
    if (!ctx || ctx->fwd_depth == 0) return;
    int d = --ctx->fwd_depth;
    ctx->fwd_active &= (uint8_t)~(1u << d);
}

int ad_fwd_width(const ad_ctx *ctx)
{
    if (!ctx || ctx->fwd_depth == 0) return 0;
    int d = ctx->fwd_depth - 1;
    return ((ctx->fwd_active >> d) & 1u) ? ctx->fwd_lv[d].k : 0;
}

/* ---- slots ------------------------------------------------------------------ */

void ad_tan_set(ad_tensor *t, int d, ad_tensor *tan)
{
    ad_tensor *old = ((t->tan_mask >> d) & 1u) ? t->tan[d] : NULL;
    if (tan) {
        t->tan[d] = tan;
        t->tan_id[d] = t->ctx->fwd_lv[d].id;
        t->tan_mask |= (uint8_t)(1u << d);
    } else {
        t->tan_mask &= (uint8_t)~(1u << d);
    }
    if (old) ad_decref(old);
}

void ad_tan_drop_all(ad_tensor *t)
{
    unsigned m = t->tan_mask;
    t->tan_mask = 0;
    for (int d = 0; m >> d; d++)
        if ((m >> d) & 1u) ad_decref(t->tan[d]);
}

void ad_tan_share(ad_tensor *dst, const ad_tensor *src)
{
    unsigned m = src->tan_mask;
    for (int d = 0; m >> d; d++) {
        if (!((m >> d) & 1u)) continue;
        ad_incref(src->tan[d]);
        dst->tan[d] = src->tan[d];
        dst->tan_id[d] = src->tan_id[d];
    }
    dst->tan_mask = (uint8_t)m;
}

void ad_tan_move(ad_tensor *dst, ad_tensor *src)
{
    if (dst->tan_mask) ad_tan_drop_all(dst);
    memcpy(dst->tan, src->tan, sizeof dst->tan);
    memcpy(dst->tan_id, src->tan_id, sizeof dst->tan_id);
    dst->tan_mask = src->tan_mask;
    src->tan_mask = 0;
}

/* Whether t or a tangent below it has a place on the tape. */
static bool tan_recorded(const ad_tensor *t)
{
    for (int d = 0; d < AD_FWD_DEPTH; d++)
        if (((t->tan_mask >> d) & 1u) && (t->tan[d]->grad_fn || tan_recorded(t->tan[d]))) return true;
    return false;
}

int ad_tan_share_plain(ad_tensor *dst, const ad_tensor *src)
{
    if (!tan_recorded(src)) {
        ad_tan_share(dst, src);
        return AD_OK;
    }
    for (int d = 0; d < AD_FWD_DEPTH; d++) {
        if (!((src->tan_mask >> d) & 1u)) continue;
        ad_tensor *a = ad_alias(src->tan[d], false);
        if (!a) return dst->ctx->err;
        ad_unscope(a);
        int rc = ad_tan_share_plain(a, src->tan[d]);
        dst->tan[d] = a;
        dst->tan_id[d] = src->tan_id[d];
        dst->tan_mask |= (uint8_t)(1u << d);
        if (rc != AD_OK) return rc;
    }
    return AD_OK;
}

/* The slot the public API reads: the innermost open level's.  With no
 * level open, slot 0 whatever level left it: tangents stay readable after
 * ad_fwd_end until their tensors go (forward.h). */
static ad_tensor *innermost(const ad_tensor *t)
{
    int depth = t->ctx->fwd_depth;
    if (depth == 0) return (t->tan_mask & 1u) ? t->tan[0] : NULL;
    return ad_tan_live(t, depth - 1) ? t->tan[depth - 1] : NULL;
}

bool ad_has_tangent(const ad_tensor *t) { return t && innermost(t); }

/* Whether t carries derivatives of an enclosing computation: a live
 * tangent, or a place on the tape that grad mode would extend. */
static bool carries_derivatives(const ad_tensor *t)
{
    return ad_tan_active(t) || ((t->flags & AD_T_REQUIRES_GRAD) && t->ctx->grad_enabled);
}

/* tan (x's shape with width 1, or [k, x.shape]) copied into a new [k,
 * x.shape] tensor of the tangents category: an internal reference.  A
 * seed that carries derivatives of its own (a direction that depends on
 * an enclosing computation's variables) is copied by a differentiable op,
 * so that they follow it into the tangents. */
static ad_tensor *seed_copy(ad_ctx *ctx, ad_tensor *x, ad_tensor *tan, int k, bool plain)
{
    if (carries_derivatives(tan)) {
        uint8_t prev = ctx->cat;
        ctx->cat = AD_MEM_TANGENTS;
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *t = ad_clone(ad_reshape(tan, ad_op_tan_shape(k, x->ndim, x->shape)));
        t = ad_scope_end_owned(ctx, s, t);
        ctx->cat = prev;
        return t;
    }
    ad_tensor *t = ad_tangent_zeros(ctx, k, ad_shape_of(x));
    if (!t) return NULL;
    const int64_t *shape = t->shape;
    ad_unscope(t);
    /* copy row-major: a plain tangent is the single batch row */
    ad_tensor *src = tan;
    ad_tensor *view = NULL;
    if (plain) {
        view = ad_handle_new(ctx, tan->st, x->ndim + 1, shape, (int64_t[AD_MAX_DIMS]){0}, tan->offset);
        if (!view) {
            ad_decref(t);
            return NULL;
        }
        ad_unscope(view);
        memcpy(view->stride + 1, tan->stride, (size_t)tan->ndim * sizeof(int64_t));
        ad_layout_update(view);
        src = view;
    }
    ad_copy_raw(t, src);
    if (view) ad_decref(view);
    return t;
}

int ad_set_tangent(ad_tensor *x, ad_tensor *tan)
{
    if (!x) return AD_EINVAL;
    ad_ctx *ctx = x->ctx;
    int depth = ctx->fwd_depth;
    if (!tan) {
        /* with no level open, every slot (the tangents stay after ad_fwd_end) */
        if (depth == 0 && x->tan_mask) ad_tan_drop_all(x);
        else if (depth > 0) ad_tan_set(x, depth - 1, NULL);
        return AD_OK;
    }
    if (depth == 0) return ad_error(ctx, AD_ESTATE, "set_tangent: forward mode is off (call ad_fwd_begin first)");
    int k = ctx->fwd_lv[depth - 1].k;
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
    ad_tensor *t = seed_copy(ctx, x, tan, k, plain && !batched);
    if (!t) return ctx->err ? ctx->err : AD_ENOMEM;
    ad_tan_set(x, depth - 1, t);
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

/* A view op (not an alias): the tangent keeps its own derivatives (its
 * tangents at outer levels, its place on the tape) for nested use. */
ad_tensor *ad_get_tangent(ad_tensor *t)
{
    if (!t) return NULL;
    ad_ctx *ctx = t->ctx;
    ad_tensor *tan = innermost(t);
    if (tan && (tan->flags & AD_T_TAN_GONE)) return (ad_fr_violation(ctx, "get_tangent", 0), NULL);
    int k = tan ? (int)tan->shape[0] : (ad_fwd_width(ctx) ? ad_fwd_width(ctx) : 1);
    if (!tan) {
        ad_shape s;
        if (k == 1) return ad_zeros(ctx, ad_shape_of(t));
        return ad_tangent_shape(ctx, k, ad_shape_of(t), &s) == AD_OK ? ad_zeros(ctx, s) : NULL;
    }
    if (k == 1) return ad_reshape(tan, ad_shape_of(t));
    return ad_view(tan, ad_shape_of(tan));
}
