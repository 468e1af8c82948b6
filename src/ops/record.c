/* src/ops/record.c — the engine every differentiable op goes through once
 * it has computed its value: forward-mode tangent propagation (JVP rules)
 * and reverse-mode recording (tape records), plus the in-place protocol.
 *
 * The fast path (no tangent on any input, nothing requiring grad) costs a
 * loop over the inputs and two flag tests. */
#include <string.h>

#include "../iter.h"
#include "../trace.h"
#include "op.h"

#define AD_OP(id, gname, nin, save, flags, family) \
    [AD_OP_##id] = {#id, gname, nin, save, flags, ad_op_##id##_jvp, ad_op_##id##_vjp},
const ad_opdef ad_ops[AD_OP_COUNT] = {
#include "ops.def"
};
#undef AD_OP

bool ad_op_tracked(int nin, ad_tensor *const *in)
{
    for (int i = 0; i < nin; i++) {
        const ad_tensor *t = in[i];
        if (t->tan_mask & t->ctx->fwd_active) return true;
        if ((t->flags & AD_T_REQUIRES_GRAD) && t->ctx->grad_enabled) return true;
    }
    return false;
}

ad_shape ad_op_tan_shape(int k, int ndim, const int64_t *shape)
{
    ad_shape s;
    s.ndim = ndim + 1;
    s.dim[0] = k;
    /* ndim == AD_MAX_DIMS has no room for the batch axis: the shape keeps
     * ndim + 1 axes (creation refuses it) and nothing is written past the
     * array; callers check with ad_tangent_shape first */
    for (int i = 0; i < ndim && i + 1 < AD_MAX_DIMS; i++) s.dim[i + 1] = shape[i];
    return s;
}

/* A view of tangent t ([k, S]) with ones inserted after the batch axis so
 * that it has rank ndim + 1 (broadcasting then aligns it with the output). */
ad_tensor *ad_op_lift(ad_tensor *t, int ndim)
{
    int pad = ndim + 1 - t->ndim;
    if (pad <= 0) return ad_tensor_ref(t);
    int64_t shape[AD_MAX_DIMS], stride[AD_MAX_DIMS];
    if (ad_tan_active(t) || ((t->flags & AD_T_REQUIRES_GRAD) && t->ctx->grad_enabled)) {
        /* a tangent with derivatives of its own (outer levels, the tape):
         * a view op keeps them, a raw handle would drop them */
        ad_shape s = {.ndim = ndim + 1};
        s.dim[0] = t->shape[0];
        for (int i = 0; i < pad; i++) s.dim[1 + i] = 1;
        for (int i = 1; i < t->ndim; i++) s.dim[pad + i] = t->shape[i];
        return ad_view(t, s);
    }
    shape[0] = t->shape[0];
    stride[0] = t->stride[0];
    for (int i = 0; i < pad; i++) {
        shape[1 + i] = 1;
        stride[1 + i] = 0;
    }
    for (int i = 1; i < t->ndim; i++) {
        shape[pad + i] = t->shape[i];
        stride[pad + i] = t->stride[i];
    }
    ad_tensor *v = ad_handle_new(t->ctx, t->st, ndim + 1, shape, stride, t->offset);
    if (v) v->flags |= AD_T_VIEW;
    return v;
}

static bool shape_eq(int na, const int64_t *a, int nb, const int64_t *b)
{
    if (na != nb) return false;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* What a recording JVP rule sees as the op's output: out's value and place
 * on the tape, with out's tangents at the outer levels only.  out itself
 * would make a cycle (out holds the new tangent, whose record would save
 * out) and never be freed.  Registered in the open scope. */
static ad_tensor *out_standin(ad_tensor *out, int d)
{
    ad_tensor *o = ad_alias(out, false);
    if (!o) return NULL;
    ad_node_incref(out->grad_fn);
    o->grad_fn = out->grad_fn;
    o->flags |= AD_T_REQUIRES_GRAD;
    for (int e = 0; e < d; e++)
        if (ad_tan_live(out, e)) {
            ad_incref(out->tan[e]);
            ad_tan_set(o, e, out->tan[e]);
        }
    return o;
}

/* Computes out's tangent at level d with the op's JVP rule.  Levels d and
 * deeper are suspended while the rule runs and the outer ones stay on, so
 * the rule's own ops give the new tangent its tangents at the outer levels
 * (tangent of tangent).  Grad mode stays as it is when the level records
 * (an enclosing reverse computation may differentiate the tangent: the rule
 * is recorded like any op), and is off otherwise. */
static int attach_level(const ad_opdef *op, ad_tensor *out, int nin, ad_tensor *const *in, const void *attr, int d)
{
    ad_ctx *ctx = out->ctx;
    int k = ctx->fwd_lv[d].k;
    ad_scope s = ad_scope_begin(ctx);
    bool prev_grad = ctx->grad_enabled;
    uint8_t prev_cat = ctx->cat, prev_active = ctx->fwd_active;
    ctx->grad_enabled = prev_grad && ctx->fwd_lv[d].record;
    ctx->fwd_active &= (uint8_t)((1u << d) - 1u);
    ctx->cat = AD_MEM_TANGENTS;

    ad_tensor *tin_buf[8], **tin = tin_buf;
    ad_tensor *r = NULL;
    bool zero = false;
    if (nin > 8) {
        tin = ad_mem_alloc(ctx, (size_t)nin * sizeof *tin, AD_MEM_META);
        if (!tin) goto done;
    }
    /* Everything from here to the rule's return is one error region: a
     * lifted tangent that could not be made, or any error inside the rule,
     * fails the op even if the rule still returns a tensor (a term lost to
     * a failed allocation would otherwise count as zero). */
    int mark = ad_err_mark(ctx);
    ad_tensor *o = ctx->grad_enabled && out->grad_fn ? out_standin(out, d) : out;
    for (int i = 0; i < nin; i++) {
        ad_tensor *t = ad_tan_live(in[i], d) ? in[i]->tan[d] : NULL;
        tin[i] = (t && (op->flags & AD_OPF_BROADCAST)) ? ad_op_lift(t, out->ndim) : t;
    }
    ad_call c = {.ctx = ctx, .op = op, .nin = nin, .in = in, .out = o, .attr = attr,
                 .edges = NULL, .out_ndim = out->ndim, .out_shape = out->shape, .need = NULL, .k = k};
    /* A rule returning NULL without an error means "the tangent is zero"
     * (e.g. only a non-differentiable input carries one). */
    r = ctx->err == AD_OK && o ? op->jvp(&c, tin) : NULL;
    if (ad_err_since(ctx, mark)) r = NULL;
    else if (!r) zero = true;
    if (r && !(r->ndim == out->ndim + 1 && r->shape[0] == k &&
               shape_eq(r->ndim - 1, r->shape + 1, out->ndim, out->shape))) {
        /* e.g. add with a tangent on one broadcast operand only */
        r = ad_expand(r, ad_op_tan_shape(k, out->ndim, out->shape));
    }
    if (tin != tin_buf) ad_mem_free(ctx, tin, (size_t)nin * sizeof *tin, AD_MEM_META);
done:
    ctx->grad_enabled = prev_grad;
    ctx->fwd_active = prev_active;
    ctx->cat = prev_cat;
    r = ad_scope_end_owned(ctx, s, r);
    if (!r && !zero) {
        if (ctx->err == AD_OK) ad_error(ctx, AD_ESTATE, "%s: JVP rule failed", op->name);
        return ctx->err;
    }
    ad_tan_set(out, d, r); /* NULL (zero) clears the slot */
    return AD_OK;
}

/* out's tangents at the levels in `levels` (bit d), outermost first: an
 * inner level's rule may read out's tangents at the outer ones (exp's
 * ẏ = y·ẋ), which must be there already. */
static int attach_tangent(const ad_opdef *op, ad_tensor *out, int nin, ad_tensor *const *in, const void *attr,
                          unsigned levels)
{
    if (out->ndim + 1 > AD_MAX_DIMS)
        return ad_error(out->ctx, AD_ESHAPE, "%s: a result with %d axes cannot carry a tangent (at most %d)",
                        op->name, out->ndim, AD_MAX_DIMS - 1);
    /* a tangent released early read again: the driver reruns the pass */
    if (out->ctx->fr_on && ad_fr_check_inputs(op->name, nin, in, levels) != AD_OK) return out->ctx->err;
    for (int d = 0; levels >> d; d++) {
        if (!((levels >> d) & 1u)) continue;
        int rc = attach_level(op, out, nin, in, attr, d);
        if (rc != AD_OK) return rc;
    }
    return AD_OK;
}

/* The tracked parts of ad_op_finish, out of line: their frames (the JVP's
 * buffers) and register saves cost a plain op nothing.  Six arguments, all
 * in registers, so that ad_op_finish's call is a plain jump with no frame
 * of its own. */
static AD_NOINLINE ad_tensor *finish_tracked(int opid, ad_tensor *out, int nin, ad_tensor *const *in,
                                             const void *attr, size_t attr_size);

/* Tangents and the tape, once an input carries a tangent or requires
 * grad (a tangent of an ended level, or grad mode off, ends here too).
 * The common reverse-mode case, nothing to propagate forward, is the
 * record alone, pushed from here (one frame, not two).  Called from
 * ad_op_finish, inline in op.h. */
AD_NOINLINE ad_tensor *ad_op_finish_some(int opid, ad_tensor *out, int nin, ad_tensor *const *in,
                                         const void *attr, size_t attr_size)
{
    ad_ctx *ctx = out->ctx;
    unsigned tanm = 0, flags = 0;
    for (int i = 0; i < nin; i++) {
        tanm |= in[i]->tan_mask;
        flags |= in[i]->flags;
    }
    if (tanm & ctx->fwd_active) return finish_tracked(opid, out, nin, in, attr, attr_size);
    if (!(flags & AD_T_REQUIRES_GRAD) || !ctx->grad_enabled) return out;
    if (ad_tape_push(&ad_ops[opid], nin, in, out, attr, attr_size)) return out;
    ad_tensor_free(out);
    return NULL;
}

/* A failed op, or one while reverse-replay traces f: out of line, so that
 * its frame stays off the path every other op takes. */
AD_NOINLINE ad_tensor *ad_op_finish_traced(int opid, ad_tensor *out, int nin, ad_tensor *const *in,
                                           const void *attr, size_t attr_size)
{
    if (!out) {
        /* a failed op while reverse-replay traces f: the trace is void */
        if (nin > 0 && in[0] && in[0]->ctx->rec) ad_rec_op(opid, NULL, nin, in, attr, attr_size);
        return NULL;
    }
    return ad_rec_op(opid, ad_op_finish_plain(opid, out, nin, in, attr, attr_size), nin, in, attr, attr_size);
}

static ad_tensor *finish_tracked(int opid, ad_tensor *out, int nin, ad_tensor *const *in, const void *attr,
                                 size_t attr_size)
{
    ad_ctx *ctx = out->ctx;
    bool tan = false, grad = false;
    for (int i = 0; i < nin; i++) {
        tan = tan || (in[i]->tan_mask & ctx->fwd_active);
        grad = grad || (in[i]->flags & AD_T_REQUIRES_GRAD);
    }
    grad = grad && ctx->grad_enabled;
    const ad_opdef *op = &ad_ops[opid];
    ad_node *n = NULL;
    /* recorded first: a JVP rule that records (under an enclosing reverse
     * computation) must see out in its place on the tape */
    if (grad && !(n = ad_tape_push(op, nin, in, out, attr, attr_size))) goto fail;
    if (tan) {
        unsigned levels = 0;
        for (int i = 0; i < nin; i++) levels |= ad_tan_active(in[i]);
        if (levels && attach_tangent(op, out, nin, in, attr, levels) != AD_OK) goto fail;
        /* the output's alias saved for the VJP carries its tangents
         * (forward over reverse reads them in the sweep) */
        if (n && n->saved_out && out->tan_mask && ad_tan_share_plain(n->saved_out, out) != AD_OK) goto fail;
    }
    if (ctx->fr_on && ad_fr_after_op(ctx, opid, out, nin, in) != AD_OK) goto fail;
    return out;
fail:
    ad_tensor_free(out);
    return NULL;
}

/* ---- in place ------------------------------------------------------------ */

int ad_op_check_inplace(ad_tensor *target, const char *what)
{
    ad_ctx *ctx = target->ctx;
    if (!ctx->grad_enabled || !(target->flags & AD_T_REQUIRES_GRAD)) return AD_OK;
    if (!target->grad_fn)
        return ad_error(ctx, AD_EGRAD,
                        "%s: a leaf tensor that requires grad cannot be modified in place "
                        "(modify ad_detach(x), or turn grad mode off with ad_set_grad_enabled)", what);
    if (target->flags & AD_T_VIEW)
        return ad_error(ctx, AD_ENOTSUP,
                        "%s: in-place write to a view of a tensor that requires grad; "
                        "assign through ad_setitem on the base tensor instead", what);
    return AD_OK;
}

/* The record of `result` may have saved `target` itself (x.mul_(y) saves x
 * for y's gradient): that value is about to be overwritten, so the record
 * gets a private copy of the old value instead (PyTorch's original_self). */
static int snapshot_saved(ad_node *n, ad_tensor *target)
{
    for (int i = 0; i < n->nin; i++) {
        ad_tensor *s = n->edges[i].saved;
        if (!s || s->st != target->st) continue;
        ad_ctx *ctx = target->ctx;
        ad_tensor *copy = ad_new_like(s);
        if (!copy) return ctx->err;
        ad_copy_raw(copy, s);
        ad_unscope(copy);
        ad_tape_save(ctx, copy); /* copy's reference becomes the tape's */
        /* the copy stands in for s: same graph position, same tangent */
        if (s->tan_mask) ad_tan_share(copy, s);
        if (s->grad_fn) {
            ad_node_incref(s->grad_fn);
            copy->grad_fn = s->grad_fn;
        }
        copy->flags |= s->flags & AD_T_REQUIRES_GRAD;
        n->edges[i].saved = copy;
        n->edges[i].version = copy->st->version;
        ad_tape_unsave(ctx, s);
    }
    return AD_OK;
}

int ad_op_commit_inplace(ad_tensor *target, ad_tensor *result, const char *what)
{
    if (!result) return target->ctx->err ? target->ctx->err : AD_ESTATE;
    ad_ctx *ctx = target->ctx;
    int rc = ad_op_check_inplace(target, what);
    if (rc == AD_OK && result->grad_fn) rc = snapshot_saved(result->grad_fn, target);
    if (rc != AD_OK) {
        ad_tensor_free(result);
        return rc;
    }
    ad_copy_raw(target, result);
    ad_bump_version(target);

    ad_tan_move(target, result);

    if (target->grad_fn) {
        if (target->grad_fn->out == target) target->grad_fn->out = NULL;
        ad_node_decref(ctx, target->grad_fn);
    }
    target->grad_fn = result->grad_fn;
    result->grad_fn = NULL;
    target->flags &= ~(uint32_t)(AD_T_REQUIRES_GRAD | AD_T_RELEASED);
    if (target->grad_fn) {
        target->grad_fn->out = target;
        target->flags |= AD_T_REQUIRES_GRAD;
    }
    ad_tensor_free(result);
    return AD_OK;
}

/* ---- helpers for rules ------------------------------------------------------ */

ad_tensor *ad_op_add_opt(ad_tensor *a, ad_tensor *b)
{
    /* Rules run in an error region (ad_err_mark in attach_tangent and in
     * the sweep), so a recorded error means a missing term was lost, not
     * zero: the sum fails instead of dropping it. */
    ad_tensor *t = a ? a : b;
    if (t && (!a || !b) && t->ctx->err != AD_OK) return NULL;
    if (!a) return ad_tensor_ref(b);
    if (!b) return ad_tensor_ref(a);
    return ad_add(a, b);
}

ad_shape ad_op_in_shape(const ad_call *c, int i)
{
    ad_shape s;
    memset(&s, 0, sizeof s);
    if (c->edges) {
        s.ndim = c->edges[i].ndim;
        memcpy(s.dim, c->edges[i].shape, (size_t)s.ndim * sizeof(int64_t));
    } else {
        s = ad_shape_of(c->in[i]);
    }
    return s;
}

ad_tensor *ad_op_sum_to_input(const ad_call *c, int i, ad_tensor *g)
{
    ad_shape s = ad_op_in_shape(c, i);
    if (g && shape_eq(g->ndim, g->shape, s.ndim, s.dim)) return ad_tensor_ref(g);
    return ad_sum_to(g, s);
}
