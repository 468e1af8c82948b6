/* src/ops/index.c — indexing with Python's rules: basic slicing (views),
 * the subscript parser, slice assignment (X[ix] = V), and the gathering
 * ops index_select / gather with their adjoints index_add / scatter_add.
 *
 * A subscript is first resolved against the input's shape into an
 * ad_slice_attr (index.h): per input axis a start, a step and a length,
 * which axes an integer removed, where None inserted axes.  That attribute
 * is the whole op: the view, its tangent (the same mapping with the batch
 * axis in front) and its adjoint (slice_scatter into zeros) all read it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../iter.h"
#include "ew.h"
#include "index.h"

/* ---- strided fill / accumulate kernels (copies use ad_iter_copy_run) ------------ */

static void k_addto(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    double *d = p[0];
    const double *a = p[1];
    if (s[0] == 1 && s[1] == 1) {
        for (int64_t i = 0; i < n; i++) d[i] += a[i];
        return;
    }
    for (int64_t i = 0; i < n; i++) d[i * s[0]] += a[i * s[1]];
}

static void k_fill(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    const double v = *(const double *)ud;
    double *d = p[0];
    if (s[0] == 1) {
        for (int64_t i = 0; i < n; i++) d[i] = v;
        return;
    }
    for (int64_t i = 0; i < n; i++) d[i * s[0]] = v;
}

/* Strides of v broadcast to (nd, shape), aligned at the right; extra
 * leading axes of v (all of length 1, checked by the caller) are ignored. */
static void bcast_strides(const ad_tensor *v, int nd, const int64_t *shape, int64_t *st)
{
    int off = nd - v->ndim;
    for (int d = 0; d < nd; d++) {
        int k = d - off;
        st[d] = (k < 0 || v->shape[k] == 1 || shape[d] == 1) ? 0 : v->stride[k];
    }
}

/* True when v broadcasts to (nd, shape); leading length-1 axes beyond nd
 * are allowed (X[0] = V with V of shape [1,4], as NumPy and PyTorch do). */
static bool broadcasts_to(const ad_tensor *v, int nd, const int64_t *shape)
{
    int lead = v->ndim - nd;
    for (int i = 0; i < v->ndim; i++) {
        int j = i - lead;
        if (j < 0) {
            if (v->shape[i] != 1) return false;
        } else if (v->shape[i] != 1 && v->shape[i] != shape[j]) {
            return false;
        }
    }
    return true;
}

/* ---- resolving a subscript --------------------------------------------------------- */

/* A slice bound as Python's slice.indices: negative counts from the end,
 * then clipped to [lo, hi]. */
static int64_t clip_bound(int64_t v, int64_t n, int64_t lo, int64_t hi)
{
    if (v < 0) v += n; /* v > INT64_MIN here (AD_END is handled by the caller) */
    return v < lo ? lo : v > hi ? hi : v;
}

static int resolve_entry(ad_ctx *ctx, const char *what, int e, int axis, int64_t n, const ad_index *x,
                         int64_t *start, int64_t *step, int64_t *len)
{
    if (x->kind == AD_IDX_INT) {
        int64_t k = x->start < 0 ? x->start + n : x->start;
        if (k < 0 || k >= n)
            return ad_error(ctx, AD_EINDEX, "%s: index %lld is out of range for axis %d of size %lld", what,
                            (long long)x->start, axis, (long long)n);
        *start = k;
        *step = 1;
        *len = 1;
        return AD_OK;
    }
    int64_t st = x->step == AD_END ? 1 : x->step; /* omitted step */
    if (st == 0)
        return ad_error(ctx, AD_EINVAL, "%s: slice step cannot be zero (subscript entry %d, axis %d)", what, e,
                        axis);
    int64_t lo, hi, m;
    if (st > 0) {
        lo = x->start == AD_END ? 0 : clip_bound(x->start, n, 0, n);
        hi = x->stop == AD_END ? n : clip_bound(x->stop, n, 0, n);
        m = hi > lo ? (hi - lo - 1) / st + 1 : 0;
    } else {
        lo = x->start == AD_END ? n - 1 : clip_bound(x->start, n, -1, n - 1);
        hi = x->stop == AD_END ? -1 : clip_bound(x->stop, n, -1, n - 1);
        m = lo > hi ? (lo - hi - 1) / -st + 1 : 0;
    }
    /* with fewer than two elements the step means nothing: normalise it
     * (keeps step·stride from overflowing); an empty slice starts at 0 */
    *start = m == 0 ? 0 : lo;
    *step = m <= 1 ? 1 : st;
    *len = m;
    return AD_OK;
}

int ad_slice_resolve(ad_ctx *ctx, const char *what, int ndim, const int64_t *shape, int n, const ad_index *ix,
                     ad_slice_attr *a)
{
    char buf[AD_SHAPEBUF];
    memset(a, 0, sizeof *a);
    if (n < 0) return ad_error(ctx, AD_EINVAL, "%s: negative subscript length %d", what, n);
    if (n > 0 && !ix) return ad_error(ctx, AD_EINVAL, "%s: NULL subscript with %d entries", what, n);
    int consumed = 0, nnew = 0, ellipsis = -1;
    for (int e = 0; e < n; e++) {
        ad_index_kind k = ix[e].kind;
        if (k == AD_IDX_INT || k == AD_IDX_SLICE) {
            consumed++;
        } else if (k == AD_IDX_NEWAXIS) {
            nnew++;
        } else if (k == AD_IDX_ELLIPSIS) {
            if (ellipsis >= 0)
                return ad_error(ctx, AD_EINDEX, "%s: a subscript can have only one ellipsis ('...'): entries %d and %d",
                                what, ellipsis, e);
            ellipsis = e;
        } else {
            return ad_error(ctx, AD_EINVAL, "%s: subscript entry %d has an invalid kind (%d)", what, e, (int)k);
        }
    }
    if (consumed > ndim)
        return ad_error(ctx, AD_EINDEX, "%s: too many indices for a tensor of shape %s: %d given for %d axes", what,
                        ad_fmt_shape(buf, sizeof buf, ndim, shape), consumed, ndim);
    int nint = 0;
    for (int e = 0; e < n; e++) nint += ix[e].kind == AD_IDX_INT;
    int out_ndim = ndim - nint + nnew;
    if (out_ndim > AD_MAX_DIMS)
        return ad_error(ctx, AD_ESIZE, "%s: the result would have %d axes (at most %d)", what, out_ndim,
                        AD_MAX_DIMS);

    int axis = 0, oj = 0;
    for (int e = 0; e <= n; e++) {
        /* entry n stands for the implicit "..." at the end */
        bool fill = e == n ? ellipsis < 0 : ix[e].kind == AD_IDX_ELLIPSIS;
        if (fill) {
            for (int f = ndim - consumed; f > 0; f--, axis++, oj++) {
                a->start[axis] = 0;
                a->step[axis] = 1;
                a->len[axis] = shape[axis];
            }
            continue;
        }
        if (e == n) break;
        if (ix[e].kind == AD_IDX_NEWAXIS) {
            a->newaxes |= 1u << oj++;
            continue;
        }
        int rc = resolve_entry(ctx, what, e, axis, shape[axis], &ix[e], &a->start[axis], &a->step[axis],
                               &a->len[axis]);
        if (rc != AD_OK) return rc;
        if (ix[e].kind == AD_IDX_INT) a->dropped |= 1u << axis;
        else oj++;
        axis++;
    }
    a->in_ndim = ndim;
    a->out_ndim = oj;
    return AD_OK;
}

ad_slice_attr ad_slice_attr_batched(const ad_slice_attr *a, int64_t k)
{
    ad_slice_attr b;
    memset(&b, 0, sizeof b);
    if (a->in_ndim >= AD_MAX_DIMS || a->out_ndim >= AD_MAX_DIMS) return *a; /* cannot carry tangents */
    b.in_ndim = a->in_ndim + 1;
    b.out_ndim = a->out_ndim + 1;
    b.dropped = a->dropped << 1;
    b.newaxes = a->newaxes << 1;
    b.start[0] = 0;
    b.step[0] = 1;
    b.len[0] = k;
    for (int i = 0; i < a->in_ndim; i++) {
        b.start[i + 1] = a->start[i];
        b.step[i + 1] = a->step[i];
        b.len[i + 1] = a->len[i];
    }
    return b;
}

void ad_slice_out_shape(const ad_slice_attr *a, int64_t *shape)
{
    int i = 0;
    for (int j = 0; j < a->out_ndim; j++) {
        if (a->newaxes >> j & 1u) {
            shape[j] = 1;
            continue;
        }
        while (a->dropped >> i & 1u) i++;
        shape[j] = a->len[i++];
    }
}

/* The layout of x[a] (x's shape must fit a: see fits()). */
static void slice_layout(const ad_tensor *x, const ad_slice_attr *a, int64_t *shape, int64_t *stride,
                         int64_t *offset)
{
    int64_t off = x->offset, numel = 1;
    for (int i = 0; i < a->in_ndim; i++) off += a->start[i] * x->stride[i];
    int i = 0;
    for (int j = 0; j < a->out_ndim; j++) {
        if (a->newaxes >> j & 1u) {
            shape[j] = 1;
            continue;
        }
        while (a->dropped >> i & 1u) i++;
        shape[j] = a->len[i];
        stride[j] = a->step[i] * x->stride[i];
        numel *= shape[j];
        i++;
    }
    /* a new axis gets the stride unsqueeze would give it */
    for (int j = a->out_ndim - 1; j >= 0; j--)
        if (a->newaxes >> j & 1u) stride[j] = j + 1 < a->out_ndim ? stride[j + 1] * shape[j + 1] : 1;
    /* an empty view never points past its storage */
    *offset = numel == 0 ? x->offset : off;
}

/* Does the attribute describe positions inside x's shape? (Rules apply
 * attributes to tensors of the recorded shapes; this guards the rest.) */
static int fits(const char *what, const ad_tensor *x, const ad_slice_attr *a)
{
    bool ok = a->in_ndim == x->ndim;
    for (int i = 0; ok && i < x->ndim; i++) {
        if (a->len[i] < 0) ok = false;
        else if (a->len[i] > 0) {
            int64_t last = a->start[i] + (a->len[i] - 1) * a->step[i];
            ok = a->start[i] >= 0 && a->start[i] < x->shape[i] && last >= 0 && last < x->shape[i];
        }
    }
    if (ok) return AD_OK;
    char buf[AD_SHAPEBUF];
    return ad_error(x->ctx, AD_ESTATE, "%s: the recorded subscript does not fit a tensor of shape %s", what,
                    ad_fmt_shape(buf, sizeof buf, x->ndim, x->shape));
}

/* ---- slice --------------------------------------------------------------------------- */

/* y = x[ix] (a view);   ẏ = ẋ[:, ix];   x̄ += slice_scatter(zeros(x.shape), ȳ, ix) */
ad_tensor *ad_slice_apply(ad_tensor *x, const ad_slice_attr *a)
{
    AD_ARG(x);
    if (fits("slice", x, a) != AD_OK) return NULL;
    int64_t shape[AD_MAX_DIMS], stride[AD_MAX_DIMS], off;
    slice_layout(x, a, shape, stride, &off);
    ad_tensor *v = ad_handle_new(x->ctx, x->st, a->out_ndim, shape, stride, off);
    if (!v) return NULL;
    v->flags |= AD_T_VIEW;
    return ad_op_finish(AD_OP_slice, v, 1, &x, a, sizeof *a);
}

ad_tensor *ad_slice(ad_tensor *x, int n, const ad_index *ix)
{
    AD_ARG(x);
    ad_slice_attr a;
    if (ad_slice_resolve(x->ctx, "slice", x->ndim, x->shape, n, ix, &a) != AD_OK) return NULL;
    return ad_slice_apply(x, &a);
}

ad_tensor *ad_op_slice_jvp(const ad_call *c, ad_tensor *const *t)
{
    ad_slice_attr b = ad_slice_attr_batched(c->attr, c->k);
    return ad_slice_apply(t[0], &b);
}
int ad_op_slice_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    /* the zero base as a broadcast scalar: slice_scatter then zero-fills
     * its result once instead of copying a dense zero tensor (one pass
     * over x's size, not three) */
    gx[0] = ad_slice_scatter_apply(ad_expand(ad_scalar(c->ctx, 0), ad_op_in_shape(c, 0)), g, c->attr);
    return AD_OK;
}

ad_tensor *ad_slice_axis(ad_tensor *x, int axis, int64_t start, int64_t len)
{
    AD_ARG(x);
    int a = ad_axis_index(x->ctx, "slice", axis, x->ndim);
    if (a < 0) return NULL;
    ad_index ix[AD_MAX_DIMS];
    for (int i = 0; i < a; i++) ix[i] = AD_FULL;
    ix[a] = AD_S(start, start + len);
    return ad_slice(x, a + 1, ix);
}

ad_tensor *ad_select(ad_tensor *x, int axis, int64_t i)
{
    AD_ARG(x);
    int a = ad_axis_index(x->ctx, "select", axis, x->ndim);
    if (a < 0) return NULL;
    ad_index ix[AD_MAX_DIMS];
    for (int k = 0; k < a; k++) ix[k] = AD_FULL;
    ix[a] = AD_I(i);
    return ad_slice(x, a + 1, ix);
}

/* ---- Python subscript syntax ------------------------------------------------------------ */

typedef struct {
    ad_ctx *ctx;
    const char *s, *p;
} parser;

static void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') ps->p++;
}

static int unexpected(parser *ps)
{
    long pos = (long)(ps->p - ps->s) + 1;
    unsigned char ch = (unsigned char)*ps->p;
    if (ch == '\0')
        return ad_error(ps->ctx, AD_ESYNTAX, "subscript: unexpected end at position %ld in \"%s\"", pos, ps->s);
    if (ch < 0x20 || ch >= 0x7f)
        return ad_error(ps->ctx, AD_ESYNTAX, "subscript: unexpected byte 0x%02x at position %ld in \"%s\"", ch, pos,
                        ps->s);
    return ad_error(ps->ctx, AD_ESYNTAX, "subscript: unexpected '%c' at position %ld in \"%s\"", (char)ch, pos, ps->s);
}

/* An optional integer: 1 and *v when one is there, 0 when none starts
 * here, a negative status on a malformed one. */
static int parse_int(parser *ps, int64_t *v)
{
    const char *start = ps->p;
    bool neg = false;
    if (*ps->p == '+' || *ps->p == '-') {
        neg = *ps->p == '-';
        ps->p++;
        skip_ws(ps);
        if (*ps->p < '0' || *ps->p > '9') return unexpected(ps);
    }
    if (*ps->p < '0' || *ps->p > '9') return 0;
    uint64_t m = 0;
    while (*ps->p >= '0' && *ps->p <= '9') {
        unsigned dgt = (unsigned)(*ps->p - '0');
        if (m > ((uint64_t)INT64_MAX - dgt) / 10)
            return ad_error(ps->ctx, AD_ESYNTAX, "subscript: integer too large at position %ld in \"%s\"",
                            (long)(start - ps->s) + 1, ps->s);
        m = m * 10 + dgt;
        ps->p++;
    }
    *v = neg ? -(int64_t)m : (int64_t)m;
    return 1;
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* One entry: "...", "None", an integer, or [int] ':' [int] [':' [int]]. */
static int parse_entry(parser *ps, ad_index *out)
{
    if (strncmp(ps->p, "...", 3) == 0) {
        ps->p += 3;
        *out = (ad_index){.kind = AD_IDX_ELLIPSIS, .start = 0, .stop = 0, .step = 0};
        return AD_OK;
    }
    if (strncmp(ps->p, "None", 4) == 0 && !is_word_char(ps->p[4])) {
        ps->p += 4;
        *out = AD_NEWAXIS;
        return AD_OK;
    }
    int64_t v[3] = {AD_END, AD_END, AD_END};
    int have = parse_int(ps, &v[0]);
    if (have < 0) return have;
    skip_ws(ps);
    if (*ps->p != ':') {
        if (!have) return unexpected(ps);
        *out = AD_I(v[0]);
        return AD_OK;
    }
    for (int part = 1; part < 3 && *ps->p == ':'; part++) {
        ps->p++;
        skip_ws(ps);
        int rc = parse_int(ps, &v[part]);
        if (rc < 0) return rc;
        skip_ws(ps);
    }
    *out = AD_SS(v[0], v[1], v[2] == AD_END ? 1 : v[2]);
    return AD_OK;
}

int ad_parse_subscript(ad_ctx *ctx, const char *s, ad_index *ix, int cap)
{
    if (!s) return ad_error(ctx, AD_EINVAL, "subscript: the string is NULL");
    if (cap < 0 || (cap > 0 && !ix))
        return ad_error(ctx, AD_EINVAL, "subscript: no room for the entries (capacity %d)", cap);
    parser ps = {ctx, s, s};
    int n = 0;
    skip_ws(&ps);
    if (*ps.p == '\0') return 0; /* X[()]: the whole tensor */
    for (;;) {
        skip_ws(&ps);
        ad_index e;
        int rc = parse_entry(&ps, &e);
        if (rc != AD_OK) return rc;
        if (n >= cap)
            return ad_error(ctx, AD_ELIMIT, "subscript: more than %d entries in \"%s\"", cap, s);
        ix[n++] = e;
        skip_ws(&ps);
        if (*ps.p == '\0') break;
        if (*ps.p != ',') return unexpected(&ps);
        ps.p++;
        skip_ws(&ps);
        if (*ps.p == '\0') break; /* a trailing comma, as in X[1,] */
    }
    return n;
}

ad_tensor *ad_getitem(ad_tensor *x, const char *subscript)
{
    AD_ARG(x);
    ad_index ix[4 * AD_MAX_DIMS];
    int n = ad_parse_subscript(x->ctx, subscript, ix, 4 * AD_MAX_DIMS);
    if (n < 0) return NULL;
    return ad_slice(x, n, ix);
}

/* ---- slice_scatter ------------------------------------------------------------------------ */

/* base is one +0 broadcast to its shape (every stride 0): the result can
 * start from a zero fill (memset) rather than an element-by-element copy. */
static bool zero_broadcast(const ad_tensor *base)
{
    for (int d = 0; d < base->ndim; d++)
        if (base->stride[d] != 0 && base->shape[d] > 1) return false;
    double v = base->numel > 0 ? base->data[0] : 1;
    return v == 0 && !signbit(v);
}

/* Zeros y (contiguous) where the slice (shape, stride, off against y)
 * will not write.  A slice that is one flat run of y (x[:-1], x[1:], rows
 * a:b) leaves only its two ends to zero: the gradient of a slice is then
 * one pass over x's size (the copy), not two (a fill, then the copy). */
static void zero_outside(ad_tensor *y, int ndim, const int64_t *shape, const int64_t *stride, int64_t off)
{
    if (y->numel == 0) return;
    int64_t run = 1;
    bool flat = true;
    for (int d = ndim - 1; d >= 0 && flat; d--) {
        if (shape[d] == 1) continue;
        flat = stride[d] == run;
        run *= shape[d];
    }
    if (!flat || run == 0) {
        memset(y->data, 0, sizeof(double) * (size_t)y->numel);
        return;
    }
    memset(y->data, 0, sizeof(double) * (size_t)off);
    memset(y->data + off + run, 0, sizeof(double) * (size_t)(y->numel - off - run));
}

static ad_tensor *slice_scatter_impl(const char *what, ad_tensor *base, ad_tensor *src, const ad_slice_attr *a)
{
    AD_ARG(base);
    AD_ARG(src);
    ad_ctx *ctx = base->ctx;
    if (fits(what, base, a) != AD_OK) return NULL;
    int64_t shape[AD_MAX_DIMS], stride[AD_MAX_DIMS], off;
    slice_layout(base, a, shape, stride, &off);
    if (!broadcasts_to(src, a->out_ndim, shape) || src->ndim > a->out_ndim) {
        char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
        return AD_FAIL(ctx, AD_ESHAPE, "%s: a value of shape %s cannot be broadcast to the slice of shape %s", what,
                       ad_fmt_shape(b1, sizeof b1, src->ndim, src->shape),
                       ad_fmt_shape(b2, sizeof b2, a->out_ndim, shape));
    }
    bool zero = zero_broadcast(base);
    ad_tensor *y = ad_new_like(base);
    if (!y) return NULL;
    /* y's layout is contiguous: redo the slice layout against it */
    slice_layout(y, a, shape, stride, &off);
    if (zero)
        zero_outside(y, a->out_ndim, shape, stride, off);
    else
        ad_copy_raw(y, base);
    int64_t sst[AD_MAX_DIMS];
    bcast_strides(src, a->out_ndim, shape, sst);
    double *ptr[2] = {y->st->data + off, src->data};
    const int64_t *st[2] = {stride, sst};
    ad_iter it;
    ad_iter_init_raw(&it, a->out_ndim, shape, 2, ptr, st);
    ad_iter_run(&it, ad_iter_copy_run, NULL);
    ad_tensor *in[2] = {base, src};
    return ad_op_finish(AD_OP_slice_scatter, y, 2, in, a, sizeof *a);
}

/* y = base with y[ix] = src;   ẏ = slice_scatter(ḃase, ṡrc);
 * basē += slice_scatter(ȳ, 0),   src̄ += sum_to(ȳ[ix], src.shape) */
ad_tensor *ad_slice_scatter_apply(ad_tensor *base, ad_tensor *src, const ad_slice_attr *a)
{
    return slice_scatter_impl("slice_scatter", base, src, a);
}

ad_tensor *ad_slice_scatter(ad_tensor *base, ad_tensor *src, int n, const ad_index *ix)
{
    AD_ARG(base);
    ad_slice_attr a;
    if (ad_slice_resolve(base->ctx, "slice_scatter", base->ndim, base->shape, n, ix, &a) != AD_OK) return NULL;
    return slice_scatter_impl("slice_scatter", base, src, &a);
}

ad_tensor *ad_op_slice_scatter_jvp(const ad_call *c, ad_tensor *const *t)
{
    const ad_slice_attr *a = c->attr;
    if (!t[0] && !t[1]) return NULL;
    ad_slice_attr b = ad_slice_attr_batched(a, c->k);
    ad_tensor *tb = t[0] ? t[0] : ad_zeros(c->ctx, ad_op_tan_shape(c->k, c->out_ndim, c->out_shape));
    ad_tensor *ts = t[1] ? ad_op_lift(t[1], a->out_ndim) : ad_zeros(c->ctx, AD_SCALAR);
    return ad_slice_scatter_apply(tb, ts, &b);
}
int ad_op_slice_scatter_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_slice_scatter_apply(g, ad_zeros(c->ctx, AD_SCALAR), c->attr);
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_slice_apply(g, c->attr));
    return AD_OK;
}

/* ---- X[ix] = V ---------------------------------------------------------------------------- */

/* Elements of x that share one memory location (an expanded view) cannot
 * be written independently. */
static int check_overlap(const ad_tensor *x)
{
    for (int i = 0; i < x->ndim; i++)
        if (x->shape[i] > 1 && x->stride[i] == 0) {
            char buf[AD_SHAPEBUF];
            return ad_error(x->ctx, AD_ENOTSUP,
                            "setitem: axis %d of the target (shape %s) has stride 0 (a view made by expand): "
                            "several of its elements share one memory location; clone it before writing",
                            i, ad_fmt_shape(buf, sizeof buf, x->ndim, x->shape));
        }
    return AD_OK;
}

/* v with its extra leading length-1 axes dropped (a recorded reshape), so
 * that it has at most nd axes. */
static ad_tensor *strip_leading(ad_tensor *v, int nd)
{
    if (v->ndim <= nd) return ad_tensor_ref(v);
    ad_shape s;
    s.ndim = nd;
    for (int i = 0; i < nd; i++) s.dim[i] = v->shape[v->ndim - nd + i];
    return ad_reshape(v, s);
}

static int setitem_impl(ad_tensor *x, int n, const ad_index *ix, ad_tensor *v, double value)
{
    ad_ctx *ctx = x->ctx;
    ad_slice_attr a;
    int rc = ad_slice_resolve(ctx, "setitem", x->ndim, x->shape, n, ix, &a);
    if (rc != AD_OK) return rc;
    int64_t shape[AD_MAX_DIMS], stride[AD_MAX_DIMS], off;
    slice_layout(x, &a, shape, stride, &off);
    if (v && !broadcasts_to(v, a.out_ndim, shape)) {
        char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
        return ad_error(ctx, AD_ESHAPE, "setitem: a value of shape %s cannot be broadcast to the slice of shape %s",
                        ad_fmt_shape(b1, sizeof b1, v->ndim, v->shape),
                        ad_fmt_shape(b2, sizeof b2, a.out_ndim, shape));
    }
    if ((rc = check_overlap(x)) != AD_OK) return rc;

    ad_tensor *ins[2] = {x, v};
    if (ad_op_tracked(v ? 2 : 1, ins)) {
        /* out of place through slice_scatter, then committed into x */
        if ((rc = ad_op_check_inplace(x, "setitem")) != AD_OK) return rc;
        ad_scope sc = ad_scope_begin(ctx);
        ad_tensor *src = v ? strip_leading(v, a.out_ndim) : ad_scalar(ctx, value);
        ad_tensor *r = slice_scatter_impl("setitem", x, src, &a);
        r = ad_scope_end_owned(ctx, sc, r);
        return ad_op_commit_inplace(x, r, "setitem");
    }

    /* plain case: write straight into x's storage */
    double *dst = x->st->data + off;
    ad_iter it;
    if (!v) {
        const int64_t *st[1] = {stride};
        ad_iter_init_raw(&it, a.out_ndim, shape, 1, &dst, st);
        ad_iter_run(&it, k_fill, &value);
    } else {
        int64_t vst[AD_MAX_DIMS];
        bcast_strides(v, a.out_ndim, shape, vst);
        /* v may share x's storage: reading it while writing is only safe
         * when it is exactly the destination, element for element */
        ad_tensor *tmp = NULL;
        bool same = v->data == dst;
        for (int j = 0; same && j < a.out_ndim; j++)
            if (shape[j] > 1 && vst[j] != stride[j]) same = false;
        if (v->st == x->st && !same && v->numel > 0) {
            if (!(tmp = ad_new_like(v))) return ctx->err;
            ad_copy_raw(tmp, v);
            bcast_strides(tmp, a.out_ndim, shape, vst);
        }
        double *ptr[2] = {dst, tmp ? tmp->data : v->data};
        const int64_t *st[2] = {stride, vst};
        ad_iter_init_raw(&it, a.out_ndim, shape, 2, ptr, st);
        ad_iter_run(&it, ad_iter_copy_run, NULL);
        ad_tensor_free(tmp);
    }
    ad_bump_version(x);
    return AD_OK;
}

int ad_setitem(ad_tensor *x, int n, const ad_index *ix, ad_tensor *v)
{
    if (!x) return AD_EINVAL;
    if (!v) return x->ctx->err ? x->ctx->err : ad_error(x->ctx, AD_EINVAL, "setitem: the value tensor is NULL");
    return setitem_impl(x, n, ix, v, 0.0);
}

int ad_setitem_scalar(ad_tensor *x, int n, const ad_index *ix, double value)
{
    if (!x) return AD_EINVAL;
    return setitem_impl(x, n, ix, NULL, value);
}

/* ---- index_select / index_add -------------------------------------------------------------- */

/* The attribute: the axis and the (normalised) indices, variable size. */
typedef struct {
    int32_t axis, pad;
    int64_t n;
    int64_t idx[];
} isel_attr;

/* Checks and normalises idx into out (may be NULL: check only). */
static int norm_indices(ad_ctx *ctx, const char *what, int axis, int64_t size, int64_t n, const int64_t *idx,
                        int64_t *out)
{
    if (n < 0) return ad_error(ctx, AD_ESIZE, "%s: negative number of indices (%lld)", what, (long long)n);
    if (n > 0 && !idx) return ad_error(ctx, AD_EINVAL, "%s: NULL index array with %lld entries", what, (long long)n);
    for (int64_t j = 0; j < n; j++) {
        int64_t k = idx[j] < 0 ? idx[j] + size : idx[j];
        if (k < 0 || k >= size)
            return ad_error(ctx, AD_EINDEX, "%s: index %lld (entry %lld) is out of range for axis %d of size %lld",
                            what, (long long)idx[j], (long long)j, axis, (long long)size);
        if (out) out[j] = k;
    }
    return AD_OK;
}

/* dst[.., j, ..] (op)= src[.., i, ..] along axis: one slab of equal shapes. */
static void slab(ad_tensor *dst, int64_t j, ad_tensor *src, int64_t i, int axis, ad_iter_fn fn)
{
    int64_t shape[AD_MAX_DIMS], sd[AD_MAX_DIMS], ss[AD_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < dst->ndim; d++) {
        if (d == axis) continue;
        shape[nd] = dst->shape[d];
        sd[nd] = dst->stride[d];
        ss[nd] = src->stride[d];
        nd++;
    }
    double *ptr[2] = {dst->data + j * dst->stride[axis], src->data + i * src->stride[axis]};
    const int64_t *st[2] = {sd, ss};
    ad_iter it;
    ad_iter_init_raw(&it, nd, shape, 2, ptr, st);
    ad_iter_run(&it, fn, NULL);
}

/* An attribute for the tape, built only when the engine will use it. */
static isel_attr *isel_attr_new(ad_ctx *ctx, int axis, int64_t n, const int64_t *norm, size_t *size)
{
    *size = sizeof(isel_attr) + (size_t)n * sizeof(int64_t);
    isel_attr *at = ad_mem_alloc(ctx, *size, AD_MEM_META);
    if (!at) return NULL;
    at->axis = axis;
    at->pad = 0;
    at->n = n;
    if (n) memcpy(at->idx, norm, (size_t)n * sizeof(int64_t));
    return at;
}

/* y = x[.., idx, ..] along axis;   ẏ = index_select(ẋ, axis + 1, idx);
 * x̄ += index_add(zeros(x.shape), axis, idx, ȳ) */
ad_tensor *ad_index_select(ad_tensor *x, int axis, int64_t n, const int64_t *idx)
{
    AD_ARG(x);
    ad_ctx *ctx = x->ctx;
    int a = ad_axis_index(ctx, "index_select", axis, x->ndim);
    if (a < 0) return NULL;
    if (norm_indices(ctx, "index_select", axis, x->shape[a], n, idx, NULL) != AD_OK) return NULL;
    int64_t shape[AD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
    shape[a] = n;
    ad_tensor *y = ad_new(ctx, x->ndim, shape);
    if (!y) return NULL;
    for (int64_t j = 0; j < n && y->numel > 0; j++) {
        int64_t k = idx[j] < 0 ? idx[j] + x->shape[a] : idx[j];
        if (x->ndim == 1) y->data[j] = x->data[k * x->stride[0]];
        else slab(y, j, x, k, a, ad_iter_copy_run);
    }
    if (!ad_op_tracked(1, &x)) return y;
    size_t size;
    isel_attr *at = isel_attr_new(ctx, a, n, idx, &size);
    if (!at) {
        ad_tensor_free(y);
        return NULL;
    }
    for (int64_t j = 0; j < n; j++)
        if (at->idx[j] < 0) at->idx[j] += x->shape[a];
    y = ad_op_finish(AD_OP_index_select, y, 1, &x, at, size);
    ad_mem_free(ctx, at, size, AD_MEM_META);
    return y;
}
ad_tensor *ad_op_index_select_jvp(const ad_call *c, ad_tensor *const *t)
{
    const isel_attr *a = c->attr;
    return ad_index_select(t[0], a->axis + 1, a->n, a->idx);
}
int ad_op_index_select_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    const isel_attr *a = c->attr;
    gx[0] = ad_index_add(ad_zeros(c->ctx, ad_op_in_shape(c, 0)), a->axis, a->n, a->idx, g);
    return AD_OK;
}

/* y = base;  y[.., idx[j], ..] += src[.., j, ..];   ẏ = index_add(ḃase, idx, ṡrc);
 * basē += ȳ,   src̄ += index_select(ȳ, axis, idx) */
ad_tensor *ad_index_add(ad_tensor *base, int axis, int64_t n, const int64_t *idx, ad_tensor *src)
{
    AD_ARG(base);
    AD_ARG(src);
    ad_ctx *ctx = base->ctx;
    int a = ad_axis_index(ctx, "index_add", axis, base->ndim);
    if (a < 0) return NULL;
    bool ok = src->ndim == base->ndim;
    for (int d = 0; ok && d < base->ndim; d++) ok = src->shape[d] == (d == a ? n : base->shape[d]);
    if (!ok) {
        char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
        return AD_FAIL(ctx, AD_ESHAPE,
                       "index_add: src of shape %s does not fit base of shape %s with %lld indices along axis %d",
                       ad_fmt_shape(b1, sizeof b1, src->ndim, src->shape),
                       ad_fmt_shape(b2, sizeof b2, base->ndim, base->shape), (long long)n, axis);
    }
    if (norm_indices(ctx, "index_add", axis, base->shape[a], n, idx, NULL) != AD_OK) return NULL;
    ad_tensor *y = ad_new_like(base);
    if (!y) return NULL;
    ad_copy_raw(y, base);
    for (int64_t j = 0; j < n && y->numel > 0; j++) {
        int64_t k = idx[j] < 0 ? idx[j] + base->shape[a] : idx[j];
        slab(y, k, src, j, a, k_addto); /* in order: repeated indices accumulate */
    }
    ad_tensor *in[2] = {base, src};
    if (!ad_op_tracked(2, in)) return y;
    size_t size;
    isel_attr *at = isel_attr_new(ctx, a, n, idx, &size);
    if (!at) {
        ad_tensor_free(y);
        return NULL;
    }
    for (int64_t j = 0; j < n; j++)
        if (at->idx[j] < 0) at->idx[j] += base->shape[a];
    y = ad_op_finish(AD_OP_index_add, y, 2, in, at, size);
    ad_mem_free(ctx, at, size, AD_MEM_META);
    return y;
}
ad_tensor *ad_op_index_add_jvp(const ad_call *c, ad_tensor *const *t)
{
    const isel_attr *a = c->attr;
    if (!t[1]) return ad_tensor_ref(t[0]);
    ad_tensor *tb = t[0] ? t[0] : ad_zeros(c->ctx, ad_op_tan_shape(c->k, c->out_ndim, c->out_shape));
    return ad_index_add(tb, a->axis + 1, a->n, a->idx, t[1]);
}
int ad_op_index_add_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    const isel_attr *a = c->attr;
    if (c->need[0]) gin[0] = ad_tensor_ref(g);
    if (c->need[1]) gin[1] = ad_index_select(g, a->axis, a->n, a->idx);
    return AD_OK;
}

/* ---- gather / scatter_add ----------------------------------------------------------------- */

typedef struct {
    int64_t size;   /* length of the indexed axis */
    int64_t seen;   /* elements checked so far (row-major position) */
    int64_t bad;    /* position of the first bad value, or -1 */
    double value;
} idx_check;

static void k_check(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    idx_check *c = ud;
    const double *ix = p[0];
    if (c->bad >= 0) return;
    for (int64_t i = 0; i < n; i++) {
        double v = ix[i * s[0]];
        if (!(v >= 0 && v < (double)c->size && v == floor(v))) {
            c->bad = c->seen + i;
            c->value = v;
            return;
        }
    }
    c->seen += n;
}

/* Every value of index must be an integer in [0, size) (torch.gather's
 * rule: no negative indices).  The iterator keeps row-major order, so the
 * count of elements seen locates the first bad one. */
static int check_index_values(const char *what, const ad_tensor *index, int axis, int64_t size)
{
    idx_check c = {size, 0, -1, 0};
    double *ptr[1] = {index->data};
    const int64_t *st[1] = {index->stride};
    ad_iter it;
    ad_iter_init_raw(&it, index->ndim, index->shape, 1, ptr, st);
    ad_iter_run(&it, k_check, &c);
    if (c.bad < 0) return AD_OK;
    int64_t pos[AD_MAX_DIMS];
    for (int d = index->ndim - 1; d >= 0; d--) {
        pos[d] = c.bad % index->shape[d];
        c.bad /= index->shape[d];
    }
    char buf[AD_SHAPEBUF];
    ad_fmt_shape(buf, sizeof buf, index->ndim, pos);
    if (c.value != floor(c.value) || !isfinite(c.value))
        return ad_error(index->ctx, AD_EINVAL, "%s: index value %g at position %s is not an integer", what, c.value,
                        buf);
    return ad_error(index->ctx, AD_EINDEX, "%s: index value %g at position %s is out of range for axis %d of size %lld",
                    what, c.value, buf, axis, (long long)size);
}

/* index must have x's rank and fit inside x on every axis but `axis`. */
static int check_index_shape(const char *what, const char *xname, const ad_tensor *x, const ad_tensor *index,
                             int axis)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (index->ndim != x->ndim)
        return ad_error(x->ctx, AD_ESHAPE, "%s: index of shape %s must have as many axes as %s of shape %s", what,
                        ad_fmt_shape(b1, sizeof b1, index->ndim, index->shape), xname,
                        ad_fmt_shape(b2, sizeof b2, x->ndim, x->shape));
    for (int d = 0; d < x->ndim; d++)
        if (d != axis && index->shape[d] > x->shape[d])
            return ad_error(x->ctx, AD_ESHAPE, "%s: index of shape %s is larger than %s of shape %s along axis %d",
                            what, ad_fmt_shape(b1, sizeof b1, index->ndim, index->shape), xname,
                            ad_fmt_shape(b2, sizeof b2, x->ndim, x->shape), d);
    return AD_OK;
}

/* operands (x, index, y): y = x at index along the axis */
static void k_gather(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    const int64_t xs = *(const int64_t *)ud;
    const double *x = p[0], *ix = p[1];
    double *y = p[2];
    for (int64_t i = 0; i < n; i++) y[i * s[2]] = x[i * s[0] + (int64_t)ix[i * s[1]] * xs];
}

/* operands (y, index, src): y at index along the axis += src */
static void k_scatter_add(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    const int64_t ys = *(const int64_t *)ud;
    double *y = p[0];
    const double *ix = p[1], *src = p[2];
    for (int64_t i = 0; i < n; i++) y[i * s[0] + (int64_t)ix[i * s[1]] * ys] += src[i * s[2]];
}

/* Runs k over index's shape with operands (a, index, b), a's stride along
 * axis replaced by 0 (the kernel adds index·stride itself). */
static void run_indexed(ad_tensor *a, ad_tensor *index, ad_tensor *b, int axis, int64_t axis_stride, ad_iter_fn k)
{
    int64_t sa[AD_MAX_DIMS];
    memcpy(sa, a->stride, sizeof(int64_t) * (size_t)a->ndim);
    sa[axis] = 0;
    double *ptr[3] = {a->data, index->data, b->data};
    const int64_t *st[3] = {sa, index->stride, b->stride};
    ad_iter it;
    ad_iter_init_raw(&it, index->ndim, index->shape, 3, ptr, st);
    ad_iter_run(&it, k, &axis_stride);
}

/* index repeated along a new leading batch axis of length k (a view). */
static ad_tensor *batched_index(ad_tensor *index, int k)
{
    return ad_expand(ad_unsqueeze(index, 0), ad_op_tan_shape(k, index->ndim, index->shape));
}

/* y[i,j,k] = x[i, index[i,j,k], k] (axis 1);   ẏ = gather(ẋ, axis + 1, index);
 * x̄ += scatter_add(zeros(x.shape), axis, index, ȳ) */
ad_tensor *ad_gather(ad_tensor *x, int axis, ad_tensor *index)
{
    AD_ARG(x);
    AD_ARG(index);
    ad_ctx *ctx = x->ctx;
    int a = ad_axis_index(ctx, "gather", axis, x->ndim);
    if (a < 0) return NULL;
    if (check_index_shape("gather", "x", x, index, a) != AD_OK) return NULL;
    if (check_index_values("gather", index, a, x->shape[a]) != AD_OK) return NULL;
    ad_tensor *y = ad_new_like(index);
    if (!y) return NULL;
    run_indexed(x, index, y, a, x->stride[a], k_gather);
    int32_t at = a;
    ad_tensor *in[2] = {x, index};
    return ad_op_finish(AD_OP_gather, y, 2, in, &at, sizeof at);
}
ad_tensor *ad_op_gather_jvp(const ad_call *c, ad_tensor *const *t)
{
    if (!t[0]) return NULL; /* the index has no derivative */
    const int32_t *a = c->attr;
    return ad_gather(t[0], *a + 1, batched_index(c->in[1], c->k));
}
int ad_op_gather_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    const int32_t *a = c->attr;
    if (c->need[0]) gin[0] = ad_scatter_add(ad_zeros(c->ctx, ad_op_in_shape(c, 0)), *a, c->in[1], g);
    return AD_OK; /* gin[1]: the index gets no gradient */
}

/* y = base;  y[i, index[i,j,k], k] += src[i,j,k] (axis 1);
 * ẏ = scatter_add(ḃase, axis + 1, index, ṡrc);   basē += ȳ,  src̄ += gather(ȳ, axis, index) */
ad_tensor *ad_scatter_add(ad_tensor *base, int axis, ad_tensor *index, ad_tensor *src)
{
    AD_ARG(base);
    AD_ARG(index);
    AD_ARG(src);
    ad_ctx *ctx = base->ctx;
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    int a = ad_axis_index(ctx, "scatter_add", axis, base->ndim);
    if (a < 0) return NULL;
    if (check_index_shape("scatter_add", "base", base, index, a) != AD_OK) return NULL;
    bool same = src->ndim == index->ndim;
    for (int d = 0; same && d < src->ndim; d++) same = src->shape[d] == index->shape[d];
    if (!same)
        return AD_FAIL(ctx, AD_ESHAPE, "scatter_add: src of shape %s must have the index's shape %s",
                       ad_fmt_shape(b1, sizeof b1, src->ndim, src->shape),
                       ad_fmt_shape(b2, sizeof b2, index->ndim, index->shape));
    if (check_index_values("scatter_add", index, a, base->shape[a]) != AD_OK) return NULL;
    ad_tensor *y = ad_new_like(base);
    if (!y) return NULL;
    ad_copy_raw(y, base);
    run_indexed(y, index, src, a, y->stride[a], k_scatter_add);
    int32_t at = a;
    ad_tensor *in[3] = {base, index, src};
    return ad_op_finish(AD_OP_scatter_add, y, 3, in, &at, sizeof at);
}
ad_tensor *ad_op_scatter_add_jvp(const ad_call *c, ad_tensor *const *t)
{
    const int32_t *a = c->attr;
    if (!t[2]) return ad_tensor_ref(t[0]);
    ad_tensor *tb = t[0] ? t[0] : ad_zeros(c->ctx, ad_op_tan_shape(c->k, c->out_ndim, c->out_shape));
    return ad_scatter_add(tb, *a + 1, batched_index(c->in[1], c->k), t[2]);
}
int ad_op_scatter_add_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    const int32_t *a = c->attr;
    if (c->need[0]) gin[0] = ad_tensor_ref(g);
    if (c->need[2]) gin[2] = ad_gather(g, *a, c->in[1]);
    return AD_OK;
}

/* ---- an indexing record's share added where it lands (src/sweep.c) ------------------- */

/* The three rules above without their zeros and copy: acc is the
 * accumulator itself, so a pass over the whole of x becomes a pass over
 * ȳ's elements.  slab and run_indexed go in index order, so repeated
 * indices accumulate as in index_add and scatter_add. */
int ad_index_share_into(ad_tensor *acc, ad_opid op, const void *attr, ad_tensor *index, ad_tensor *g)
{
    switch (op) {
    case AD_OP_slice: {
        ad_tensor *v = ad_slice_apply(acc, attr);
        int rc = v ? ad_ew_into("backward", AD_EW_add, v, v, g, 0) : acc->ctx->err;
        ad_tensor_free(v);
        return rc;
    }
    case AD_OP_index_select: {
        const isel_attr *a = attr;
        for (int64_t j = 0; j < a->n && acc->numel > 0; j++) slab(acc, a->idx[j], g, j, a->axis, k_addto);
        return AD_OK;
    }
    case AD_OP_gather: {
        int axis = *(const int32_t *)attr;
        run_indexed(acc, index, g, axis, acc->stride[axis], k_scatter_add);
        return AD_OK;
    }
    default:
        return ad_error(acc->ctx, AD_ESTATE, "backward: %s has no share to add in place", ad_ops[op].name);
    }
}
