/* src/ops/join.c — joining tensors: concat (torch.cat) along an existing
 * axis and stack along a new one.  Both are variadic ops whose only
 * parameter is the axis; their adjoints are slices of ȳ and their tangents
 * the same join of the input tangents (zeros where an input has none). */
#include <string.h>

#include "../iter.h"
#include "index.h"

typedef struct {
    int32_t axis;
} join_attr;

static void k_copy(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    double *d = p[0];
    const double *a = p[1];
    if (s[0] == 1 && s[1] == 1) {
        memcpy(d, a, (size_t)n * sizeof *d);
        return;
    }
    for (int64_t i = 0; i < n; i++) d[i * s[0]] = a[i * s[1]];
}

/* Copies src into the region of dst starting at dst_data with dst_stride
 * (src's shape; dst is fresh, so nothing overlaps). */
static void copy_region(double *dst_data, const int64_t *dst_stride, const ad_tensor *src)
{
    double *ptr[2] = {dst_data, src->data};
    const int64_t *st[2] = {dst_stride, src->stride};
    ad_iter it;
    ad_iter_init_raw(&it, src->ndim, src->shape, 2, ptr, st);
    ad_iter_run(&it, k_copy, NULL);
}

/* Common checks: a non-empty list, no NULL (errors chain), one context,
 * and a bound on inputs the tape can record. */
static ad_ctx *check_list(const char *what, ad_tensor *const *ts, int n)
{
    if (n <= 0 || !ts) {
        /* no tensor, hence no context to record the message in: only the
         * handler (ad_set_error_handler) sees it, and it gets the format
         * string as is, so the message is a plain literal */
        bool cat = strcmp(what, "concat") == 0;
        if (!ts)
            ad_error(NULL, AD_EINVAL, cat ? "concat: the list of tensors is NULL" : "stack: the list of tensors is NULL");
        else
            ad_error(NULL, AD_EINVAL,
                     cat ? "concat: expected at least one tensor to join" : "stack: expected at least one tensor to join");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!ts[i]) return NULL;
    ad_ctx *ctx = ts[0]->ctx;
    for (int i = 1; i < n; i++)
        if (ts[i]->ctx != ctx) {
            ad_error(ctx, AD_EINVAL, "%s: tensor %d belongs to another context than tensor 0", what, i);
            return NULL;
        }
    if (n > UINT16_MAX && ad_op_tracked(n, ts)) {
        ad_error(ctx, AD_ELIMIT, "%s: %d tensors cannot be joined in one recorded op (at most %d)", what, n,
                 UINT16_MAX);
        return NULL;
    }
    return ctx;
}

/* ---- concat ------------------------------------------------------------------------ */

/* y = [x0, x1, ...] along axis;   ẏ = concat(ẋ0, ẋ1, ..., axis + 1);
 * x̄i += ȳ[.., offset_i : offset_i + len_i, ..] */
ad_tensor *ad_concat(ad_tensor *const *ts, int n, int axis)
{
    ad_ctx *ctx = check_list("concat", ts, n);
    if (!ctx) return NULL;
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    const ad_tensor *t0 = ts[0];
    if (t0->ndim == 0)
        return AD_FAIL(ctx, AD_ESHAPE, "concat: tensor 0 is 0-d and cannot be concatenated (use ad_stack)");
    int a = ad_axis_index(ctx, "concat", axis, t0->ndim);
    if (a < 0) return NULL;
    int64_t shape[AD_MAX_DIMS];
    memcpy(shape, t0->shape, sizeof(int64_t) * (size_t)t0->ndim);
    shape[a] = 0;
    for (int i = 0; i < n; i++) {
        const ad_tensor *t = ts[i];
        bool ok = t->ndim == t0->ndim;
        for (int d = 0; ok && d < t0->ndim; d++) ok = d == a || t->shape[d] == t0->shape[d];
        if (!ok)
            return AD_FAIL(ctx, AD_ESHAPE,
                           "concat: tensor %d has shape %s but tensor 0 has shape %s (they must match except along "
                           "axis %d)",
                           i, ad_fmt_shape(b1, sizeof b1, t->ndim, t->shape),
                           ad_fmt_shape(b2, sizeof b2, t0->ndim, t0->shape), a);
        if (t->shape[a] > INT64_MAX - shape[a])
            return AD_FAIL(ctx, AD_ESIZE, "concat: the joined axis %d is too long", a);
        shape[a] += t->shape[a];
    }
    ad_tensor *y = ad_new(ctx, t0->ndim, shape);
    if (!y) return NULL;
    int64_t off = 0;
    for (int i = 0; i < n && y->numel > 0; i++) {
        if (ts[i]->numel > 0) copy_region(y->data + off * y->stride[a], y->stride, ts[i]);
        off += ts[i]->shape[a];
    }
    join_attr at = {a};
    return ad_op_finish(AD_OP_concat, y, n, ts, &at, sizeof at);
}

/* The tangents of a variadic op's inputs with NULL replaced by zeros of
 * [k, input shape]; an array of c->nin entries (freed with free_tangents). */
static ad_tensor **fill_tangents(const ad_call *c, ad_tensor *const *t)
{
    ad_tensor **list = ad_mem_alloc(c->ctx, (size_t)c->nin * sizeof *list, AD_MEM_META);
    if (!list) return NULL;
    for (int i = 0; i < c->nin; i++) {
        if (t[i]) {
            list[i] = t[i];
        } else {
            ad_shape s = ad_op_in_shape(c, i);
            list[i] = ad_zeros(c->ctx, ad_op_tan_shape(c->k, s.ndim, s.dim));
        }
    }
    return list;
}

static void free_tangents(const ad_call *c, ad_tensor **list)
{
    ad_mem_free(c->ctx, list, (size_t)c->nin * sizeof *list, AD_MEM_META);
}

ad_tensor *ad_op_concat_jvp(const ad_call *c, ad_tensor *const *t)
{
    const join_attr *a = c->attr;
    ad_tensor **list = fill_tangents(c, t);
    if (!list) return NULL;
    ad_tensor *r = ad_concat(list, c->nin, a->axis + 1);
    free_tangents(c, list);
    return r;
}
int ad_op_concat_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    const join_attr *a = c->attr;
    int64_t off = 0;
    for (int i = 0; i < c->nin; i++) {
        int64_t len = ad_op_in_shape(c, i).dim[a->axis];
        if (c->need[i]) gin[i] = ad_slice_axis(g, a->axis, off, len);
        off += len;
    }
    return AD_OK;
}

/* ---- stack ------------------------------------------------------------------------- */

/* y[.., i, ..] = xi along a new axis;   ẏ = stack(ẋ0, ẋ1, ..., axis + 1);
 * x̄i += ȳ[.., i, ..] */
ad_tensor *ad_stack(ad_tensor *const *ts, int n, int axis)
{
    ad_ctx *ctx = check_list("stack", ts, n);
    if (!ctx) return NULL;
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    const ad_tensor *t0 = ts[0];
    if (t0->ndim + 1 > AD_MAX_DIMS)
        return AD_FAIL(ctx, AD_ESIZE, "stack: tensors with %d axes cannot be stacked (at most %d axes)", t0->ndim,
                       AD_MAX_DIMS);
    int a = ad_axis_index(ctx, "stack", axis, t0->ndim + 1);
    if (a < 0) return NULL;
    for (int i = 1; i < n; i++) {
        const ad_tensor *t = ts[i];
        bool ok = t->ndim == t0->ndim;
        for (int d = 0; ok && d < t0->ndim; d++) ok = t->shape[d] == t0->shape[d];
        if (!ok)
            return AD_FAIL(ctx, AD_ESHAPE, "stack: tensor %d has shape %s but tensor 0 has shape %s (they must be equal)",
                           i, ad_fmt_shape(b1, sizeof b1, t->ndim, t->shape),
                           ad_fmt_shape(b2, sizeof b2, t0->ndim, t0->shape));
    }
    int64_t shape[AD_MAX_DIMS];
    for (int d = 0, j = 0; d <= t0->ndim; d++) shape[d] = d == a ? n : t0->shape[j++];
    ad_tensor *y = ad_new(ctx, t0->ndim + 1, shape);
    if (!y) return NULL;
    int64_t st[AD_MAX_DIMS];
    for (int d = 0, j = 0; d <= t0->ndim; d++)
        if (d != a) st[j++] = y->stride[d];
    for (int i = 0; i < n && y->numel > 0; i++) copy_region(y->data + i * y->stride[a], st, ts[i]);
    join_attr at = {a};
    return ad_op_finish(AD_OP_stack, y, n, ts, &at, sizeof at);
}

ad_tensor *ad_op_stack_jvp(const ad_call *c, ad_tensor *const *t)
{
    const join_attr *a = c->attr;
    ad_tensor **list = fill_tangents(c, t);
    if (!list) return NULL;
    ad_tensor *r = ad_stack(list, c->nin, a->axis + 1);
    free_tangents(c, list);
    return r;
}
int ad_op_stack_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    const join_attr *a = c->attr;
    for (int i = 0; i < c->nin; i++)
        if (c->need[i]) gin[i] = ad_select(g, a->axis, i);
    return AD_OK;
}
