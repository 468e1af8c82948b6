/* src/ops/view.c — copies and views: clone, contiguous, view/reshape,
 * flatten, squeeze/unsqueeze, permute/transpose/T, expand/broadcast_to and
 * its reverse sum_to (a sum and a reshape).  Views share storage with their input; their rules
 * apply the same re-indexing to tangents (shifted past the batch axis) and
 * the inverse re-indexing to adjoints. */
#include <string.h>

#include "../iter.h"
#include "op.h"

typedef struct {
    int ndim;
    int64_t dim[AD_MAX_DIMS];
} shape_attr;

typedef struct {
    int n;
    int perm[AD_MAX_DIMS];
} perm_attr;

static shape_attr to_attr(int ndim, const int64_t *dim)
{
    shape_attr a;
    memset(&a, 0, sizeof a);
    a.ndim = ndim;
    memcpy(a.dim, dim, (size_t)ndim * sizeof *dim);
    return a;
}

/* A view of x with the given layout (not recorded). */
static ad_tensor *make_view(ad_tensor *x, int ndim, const int64_t *shape, const int64_t *stride, int64_t offset)
{
    ad_tensor *v = ad_handle_new(x->ctx, x->st, ndim, shape, stride, offset);
    if (v) v->flags |= AD_T_VIEW;
    return v;
}

/* ---- clone / contiguous -------------------------------------------------------- */

/* y = copy of x;   ẏ = ẋ;   x̄ += ȳ */
ad_tensor *ad_clone(ad_tensor *x)
{
    AD_ARG(x);
    ad_tensor *y = ad_new_like(x);
    if (!y) return NULL;
    ad_copy_raw(y, x);
    return ad_op_finish(AD_OP_clone, y, 1, &x, NULL, 0);
}
ad_tensor *ad_op_clone_jvp(const ad_call *c, ad_tensor *const *t)
{
    (void)c;
    return ad_tensor_ref(t[0]);
}
int ad_op_clone_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    (void)c;
    gx[0] = ad_tensor_ref(g);
    return AD_OK;
}

ad_tensor *ad_contiguous(ad_tensor *x)
{
    AD_ARG(x);
    if (x->flags & AD_T_CONTIG) return ad_tensor_ref(x);
    return ad_clone(x);
}

/* ---- view / reshape ------------------------------------------------------------- */

/* Resolve one -1 and check the element count. */
static int infer_shape(ad_ctx *ctx, const char *what, const ad_tensor *x, ad_shape *s)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (s->ndim < 0 || s->ndim > AD_MAX_DIMS)
        return ad_error(ctx, AD_ESIZE, "%s: %d axes requested (at most %d)", what, s->ndim, AD_MAX_DIMS);
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->dim[i] == -1) {
            if (infer >= 0) return ad_error(ctx, AD_ESHAPE, "%s: only one axis can be -1", what);
            infer = i;
        } else if (s->dim[i] < 0) {
            return ad_error(ctx, AD_ESIZE, "%s: invalid size %lld in shape %s", what, (long long)s->dim[i],
                            ad_fmt_shape(b1, sizeof b1, s->ndim, s->dim));
        } else {
            if (s->dim[i] && known > INT64_MAX / s->dim[i])
                return ad_error(ctx, AD_ESIZE, "%s: shape %s is too large", what,
                                ad_fmt_shape(b1, sizeof b1, s->ndim, s->dim));
            known *= s->dim[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || x->numel % known != 0)
            return ad_error(ctx, AD_ESHAPE, "%s: shape %s is invalid for a tensor of %lld elements (shape %s)",
                            what, ad_fmt_shape(b1, sizeof b1, s->ndim, s->dim), (long long)x->numel,
                            ad_fmt_shape(b2, sizeof b2, x->ndim, x->shape));
        s->dim[infer] = x->numel / known;
        known *= s->dim[infer];
    }
    if (known != x->numel)
        return ad_error(ctx, AD_ESHAPE, "%s: shape %s is invalid for a tensor of %lld elements (shape %s)", what,
                        ad_fmt_shape(b1, sizeof b1, s->ndim, s->dim), (long long)x->numel,
                        ad_fmt_shape(b2, sizeof b2, x->ndim, x->shape));
    return AD_OK;
}

/* Strides that let x be viewed with shape s without copying, if any (the
 * algorithm of PyTorch's computeStride: axes are grouped into runs that are
 * contiguous among themselves, and each run must be split or merged
 * exactly). */
static bool view_strides(const ad_tensor *x, const ad_shape *s, int64_t *stride)
{
    if (x->numel == 0 || x->ndim == 0) {
        int64_t st = 1;
        for (int i = s->ndim - 1; i >= 0; i--) {
            stride[i] = st;
            st *= s->dim[i] ? s->dim[i] : 1;
        }
        return true;
    }
    int view_d = s->ndim - 1;
    int64_t chunk_base = x->stride[x->ndim - 1];
    int64_t tensor_numel = 1, view_numel = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        tensor_numel *= x->shape[d];
        if (d == 0 || (x->shape[d - 1] != 1 && x->stride[d - 1] != tensor_numel * chunk_base)) {
            while (view_d >= 0 && (view_numel < tensor_numel || s->dim[view_d] == 1)) {
                stride[view_d] = view_numel * chunk_base;
                view_numel *= s->dim[view_d];
                view_d--;
            }
            if (view_numel != tensor_numel) return false;
            if (d > 0) {
                chunk_base = x->stride[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}

static ad_tensor *view_op(int opid, const char *what, ad_tensor *x, ad_shape s, bool may_copy)
{
    AD_ARG(x);
    ad_ctx *ctx = x->ctx;
    if (infer_shape(ctx, what, x, &s) != AD_OK) return NULL;
    int64_t stride[AD_MAX_DIMS];
    if (!view_strides(x, &s, stride)) {
        if (!may_copy) {
            char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
            return AD_FAIL(ctx, AD_ESHAPE,
                           "%s: a tensor of shape %s with these strides cannot be viewed as %s without "
                           "copying (use ad_reshape)",
                           what, ad_fmt_shape(b1, sizeof b1, x->ndim, x->shape),
                           ad_fmt_shape(b2, sizeof b2, s.ndim, s.dim));
        }
        ad_tensor *c = ad_clone(x);
        if (!c) return NULL;
        ad_tensor *r = view_op(opid, what, c, s, false);
        ad_tensor_free(c);
        return r;
    }
    shape_attr at = to_attr(s.ndim, s.dim);
    ad_tensor *v = make_view(x, s.ndim, s.dim, stride, x->offset);
    return ad_op_finish(opid, v, 1, &x, &at, sizeof at);
}

ad_tensor *ad_view(ad_tensor *x, ad_shape shape) { return view_op(AD_OP_view, "view", x, shape, false); }
ad_tensor *ad_reshape(ad_tensor *x, ad_shape shape) { return view_op(AD_OP_view, "reshape", x, shape, true); }
ad_tensor *ad_flatten(ad_tensor *x) { return ad_reshape(x, AD_SHAPE(-1)); }

/* Shared by every op that only re-reads the same elements under another
 * shape: ẏ = reshape(ẋ, [k, y.shape]);   x̄ += reshape(ȳ, x.shape) */
static ad_tensor *reshape_jvp(const ad_call *c, ad_tensor *const *t)
{
    return ad_reshape(t[0], ad_op_tan_shape(c->k, c->out_ndim, c->out_shape));
}
static int reshape_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_reshape(g, ad_op_in_shape(c, 0));
    return AD_OK;
}
ad_tensor *ad_op_view_jvp(const ad_call *c, ad_tensor *const *t) { return reshape_jvp(c, t); }
int ad_op_view_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx) { return reshape_vjp(c, g, gx); }

/* ---- squeeze / unsqueeze ------------------------------------------------------------- */

static ad_tensor *squeeze_mask(ad_tensor *x, uint32_t mask)
{
    int64_t shape[AD_MAX_DIMS], stride[AD_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (mask & (1u << i)) continue;
        shape[n] = x->shape[i];
        stride[n] = x->stride[i];
        n++;
    }
    ad_tensor *v = make_view(x, n, shape, stride, x->offset);
    return ad_op_finish(AD_OP_squeeze, v, 1, &x, NULL, 0);
}

ad_tensor *ad_squeeze(ad_tensor *x, int axis)
{
    AD_ARG(x);
    int a = ad_axis_index(x->ctx, "squeeze", axis, x->ndim);
    if (a < 0) return NULL;
    if (x->shape[a] != 1)
        return AD_FAIL(x->ctx, AD_ESHAPE, "squeeze: axis %d has length %lld, not 1", axis, (long long)x->shape[a]);
    return squeeze_mask(x, 1u << a);
}

ad_tensor *ad_squeeze_all(ad_tensor *x)
{
    AD_ARG(x);
    uint32_t mask = 0;
    for (int i = 0; i < x->ndim; i++)
        if (x->shape[i] == 1) mask |= 1u << i;
    return squeeze_mask(x, mask);
}
ad_tensor *ad_op_squeeze_jvp(const ad_call *c, ad_tensor *const *t) { return reshape_jvp(c, t); }
int ad_op_squeeze_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx) { return reshape_vjp(c, g, gx); }

ad_tensor *ad_unsqueeze(ad_tensor *x, int axis)
{
    AD_ARG(x);
    if (x->ndim + 1 > AD_MAX_DIMS)
        return AD_FAIL(x->ctx, AD_ESIZE, "unsqueeze: a tensor with %d axes cannot get another (at most %d)",
                       x->ndim, AD_MAX_DIMS);
    int a = ad_axis_index(x->ctx, "unsqueeze", axis, x->ndim + 1);
    if (a < 0) return NULL;
    int64_t shape[AD_MAX_DIMS], stride[AD_MAX_DIMS];
    for (int i = 0, j = 0; i <= x->ndim; i++) {
        if (i == a) {
            shape[i] = 1;
            stride[i] = (j < x->ndim) ? x->stride[j] * x->shape[j] : 1;
        } else {
            shape[i] = x->shape[j];
            stride[i] = x->stride[j];
            j++;
        }
    }
    ad_tensor *v = make_view(x, x->ndim + 1, shape, stride, x->offset);
    return ad_op_finish(AD_OP_unsqueeze, v, 1, &x, NULL, 0);
}
ad_tensor *ad_op_unsqueeze_jvp(const ad_call *c, ad_tensor *const *t) { return reshape_jvp(c, t); }
int ad_op_unsqueeze_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx) { return reshape_vjp(c, g, gx); }

/* ---- permute / transpose ---------------------------------------------------------------- */

/* y = x with axes reordered (y axis i = x axis perm[i]);
 * ẏ = permute(ẋ, [0, 1+perm]);   x̄ += permute(ȳ, perm⁻¹) */
ad_tensor *ad_permute(ad_tensor *x, int n, const int *perm)
{
    AD_ARG(x);
    ad_ctx *ctx = x->ctx;
    if (!perm && n) return AD_FAIL(ctx, AD_EINVAL, "permute: NULL permutation");
    if (n != x->ndim)
        return AD_FAIL(ctx, AD_EAXIS, "permute: %d axes given for a tensor with %d axes", n, x->ndim);
    perm_attr at;
    memset(&at, 0, sizeof at);
    at.n = n;
    uint32_t seen = 0;
    int64_t shape[AD_MAX_DIMS], stride[AD_MAX_DIMS];
    for (int i = 0; i < n; i++) {
        int a = ad_axis_index(ctx, "permute", perm[i], n);
        if (a < 0) return NULL;
        if (seen & (1u << a)) return AD_FAIL(ctx, AD_EAXIS, "permute: axis %d appears twice", perm[i]);
        seen |= 1u << a;
        at.perm[i] = a;
        shape[i] = x->shape[a];
        stride[i] = x->stride[a];
    }
    ad_tensor *v = make_view(x, n, shape, stride, x->offset);
    return ad_op_finish(AD_OP_permute, v, 1, &x, &at, sizeof at);
}
ad_tensor *ad_op_permute_jvp(const ad_call *c, ad_tensor *const *t)
{
    const perm_attr *a = c->attr;
    int p[AD_MAX_DIMS];
    p[0] = 0;
    for (int i = 0; i < a->n; i++) p[i + 1] = a->perm[i] + 1;
    return ad_permute(t[0], a->n + 1, p);
}
int ad_op_permute_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    const perm_attr *a = c->attr;
    int inv[AD_MAX_DIMS];
    for (int i = 0; i < a->n; i++) inv[a->perm[i]] = i;
    gx[0] = ad_permute(g, a->n, inv);
    return AD_OK;
}

ad_tensor *ad_T(ad_tensor *x)
{
    AD_ARG(x);
    int p[AD_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) p[i] = x->ndim - 1 - i;
    return ad_permute(x, x->ndim, p);
}

/* y = x with axes a0, a1 swapped;   ẏ = swap(ẋ, a0+1, a1+1);   x̄ += swap(ȳ, a0, a1) */
ad_tensor *ad_transpose(ad_tensor *x, int axis0, int axis1)
{
    AD_ARG(x);
    int a = ad_axis_index(x->ctx, "transpose", axis0, x->ndim);
    int b = a < 0 ? -1 : ad_axis_index(x->ctx, "transpose", axis1, x->ndim);
    if (b < 0) return NULL;
    int64_t shape[AD_MAX_DIMS], stride[AD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    memcpy(stride, x->stride, sizeof stride);
    shape[a] = x->shape[b];
    shape[b] = x->shape[a];
    stride[a] = x->stride[b];
    stride[b] = x->stride[a];
    int at[2] = {a, b};
    ad_tensor *v = make_view(x, x->ndim, shape, stride, x->offset);
    return ad_op_finish(AD_OP_transpose, v, 1, &x, at, sizeof at);
}
ad_tensor *ad_op_transpose_jvp(const ad_call *c, ad_tensor *const *t)
{
    const int *a = c->attr;
    return ad_transpose(t[0], a[0] + 1, a[1] + 1);
}
int ad_op_transpose_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    const int *a = c->attr;
    gx[0] = ad_transpose(g, a[0], a[1]);
    return AD_OK;
}

/* ---- expand / sum_to ---------------------------------------------------------------------- */

/* y = x stretched to shape (stride 0 on stretched axes);
 * ẏ = expand(lift(ẋ), [k, shape]);   x̄ += sum_to(ȳ, x.shape) */
static ad_tensor *expand_impl(ad_tensor *x, ad_shape s, bool allow_keep, const char *what)
{
    AD_ARG(x);
    ad_ctx *ctx = x->ctx;
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (s.ndim < x->ndim || s.ndim > AD_MAX_DIMS)
        return AD_FAIL(ctx, AD_ESHAPE, "%s: cannot expand shape %s to %s", what,
                       ad_fmt_shape(b1, sizeof b1, x->ndim, x->shape), ad_fmt_shape(b2, sizeof b2, s.ndim, s.dim));
    int off = s.ndim - x->ndim;
    int64_t stride[AD_MAX_DIMS];
    for (int i = 0; i < s.ndim; i++) {
        int j = i - off;
        if (allow_keep && s.dim[i] == -1) {
            if (j < 0)
                return AD_FAIL(ctx, AD_ESHAPE, "%s: -1 is not allowed for the new leading axis %d", what, i);
            s.dim[i] = x->shape[j];
        }
        if (s.dim[i] < 0)
            return AD_FAIL(ctx, AD_ESIZE, "%s: invalid size %lld in %s", what, (long long)s.dim[i],
                           ad_fmt_shape(b2, sizeof b2, s.ndim, s.dim));
        if (j < 0) {
            stride[i] = 0;
        } else if (x->shape[j] == s.dim[i]) {
            stride[i] = x->stride[j];
        } else if (x->shape[j] == 1) {
            stride[i] = 0;
        } else {
            return AD_FAIL(ctx, AD_ESHAPE, "%s: cannot expand shape %s to %s (axis %d: %lld vs %lld)", what,
                           ad_fmt_shape(b1, sizeof b1, x->ndim, x->shape), ad_fmt_shape(b2, sizeof b2, s.ndim, s.dim),
                           i, (long long)x->shape[j], (long long)s.dim[i]);
        }
    }
    if (ad_shape_numel(ctx, what, s.ndim, s.dim) < 0) return NULL;
    shape_attr at = to_attr(s.ndim, s.dim);
    ad_tensor *v = make_view(x, s.ndim, s.dim, stride, x->offset);
    return ad_op_finish(AD_OP_expand, v, 1, &x, &at, sizeof at);
}
ad_tensor *ad_expand(ad_tensor *x, ad_shape shape) { return expand_impl(x, shape, true, "expand"); }
ad_tensor *ad_broadcast_to(ad_tensor *x, ad_shape shape) { return expand_impl(x, shape, false, "broadcast_to"); }
ad_tensor *ad_op_expand_jvp(const ad_call *c, ad_tensor *const *t)
{
    return ad_expand(ad_op_lift(t[0], c->out_ndim), ad_op_tan_shape(c->k, c->out_ndim, c->out_shape));
}
int ad_op_expand_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_sum_to(g, ad_op_in_shape(c, 0));
    return AD_OK;
}

/* y = x summed down to shape (shape must broadcast to x's shape): the
 * reverse of expand, used by every rule that undoes broadcasting.  It is a
 * sum over the stretched axes (with ad_sum's accurate pairwise kernels)
 * followed by a reshape, so it needs no rules of its own. */
ad_tensor *ad_sum_to(ad_tensor *x, ad_shape s)
{
    AD_ARG(x);
    ad_ctx *ctx = x->ctx;
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    bool ok = s.ndim >= 0 && s.ndim <= x->ndim;
    int off = x->ndim - s.ndim;
    for (int i = 0; ok && i < s.ndim; i++)
        if (s.dim[i] != 1 && s.dim[i] != x->shape[i + off]) ok = false;
    if (!ok)
        return AD_FAIL(ctx, AD_ESHAPE, "sum_to: shape %s cannot be summed to %s",
                       ad_fmt_shape(b1, sizeof b1, x->ndim, x->shape), ad_fmt_shape(b2, sizeof b2, s.ndim, s.dim));
    ad_axes axes = {.n = 0};
    for (int d = 0; d < x->ndim; d++)
        if (d < off || (s.dim[d - off] == 1 && x->shape[d] != 1)) axes.axis[axes.n++] = d;
    if (axes.n == 0 && off == 0) return ad_tensor_ref(x); /* already that shape */
    ad_scope sc = ad_scope_begin(ctx);
    ad_tensor *r = ad_reshape(ad_sum(x, axes, true), s);
    return ad_scope_end(ctx, sc, r);
}
