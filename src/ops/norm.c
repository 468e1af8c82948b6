/* src/ops/norm.c — vector p-norms over a set of axes (ad_norm, ad_norm_fro):
 * value kernels, JVP and VJP side by side.
 *
 *   y = ‖x‖_p = (Σ|xᵢ|^p)^(1/p) over the reduced axes, p = 1, 2, any p > 0,
 *       +inf (max |xᵢ|) or -inf (min |xᵢ|).
 *
 * Numerics.  p = 2 first sums squares in one pass; an output whose sum is
 * not safely inside the normal range (a square overflowed, or squares may
 * have underflowed) is recomputed the way BLAS dnrm2 guarantees:
 * ‖x‖ = s·sqrt(Σ(xᵢ/s)²) with s = max|xᵢ|, so no intermediate overflows and
 * no element is lost to underflow.  Other p > 0 always scale by max|xᵢ|
 * (|xᵢ|/s ≤ 1, so |xᵢ/s|^p neither overflows nor, for the largest, vanishes).
 *
 * Derivatives.  Every norm has ∂y/∂xᵢ = wᵢ with
 *   p = 2     wᵢ = xᵢ / y                         (0 when y = 0)
 *   p = 1     wᵢ = sign(xᵢ)                       (0 at xᵢ = 0)
 *   p > 0     wᵢ = sign(xᵢ)·(|xᵢ|/y)^(p-1)         (0 at xᵢ = 0, and when y = 0)
 *   p = ±inf  wᵢ = sign(xᵢ)·[|xᵢ| = y] / #{j: |xⱼ| = y}   (split among ties)
 * so ẏ = Σ w·ẋ and x̄ = ȳ·w.  The conventions at kinks pick a member of
 * the subdifferential (the minimal-norm one for p = 2 at 0 and for ties),
 * as PyTorch does.  For p < 1 the derivative at xᵢ = 0 is unbounded; 0 is
 * used there, like sign(0).  Rules are written with differentiable ops, so
 * second derivatives follow wherever the norm is smooth. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "../iter.h"
#include "op.h"

typedef struct {
    double p;
    uint32_t mask; /* reduced axes of the input */
    int keepdims;
} norm_attr;

/* ---- value kernels: one accumulator per output, stride 0 along reduced axes ---- */

/* Blocks of 128 keep a long sum's rounding error near O(√n·eps) without
 * a full pairwise recursion. */
#define BLOCK 128

static void k_sumsq(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    double *o = p[0];
    const double *x = p[1];
    if (s[0] == 0) {
        double acc = 0;
        for (int64_t i = 0; i < n;) {
            double blk = 0;
            int64_t e = i + BLOCK < n ? i + BLOCK : n;
            for (; i < e; i++) blk += x[i * s[1]] * x[i * s[1]];
            acc += blk;
        }
        *o += acc;
    } else {
        for (int64_t i = 0; i < n; i++) o[i * s[0]] += x[i * s[1]] * x[i * s[1]];
    }
}

static void k_sumabs(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    double *o = p[0];
    const double *x = p[1];
    if (s[0] == 0) {
        double acc = 0;
        for (int64_t i = 0; i < n;) {
            double blk = 0;
            int64_t e = i + BLOCK < n ? i + BLOCK : n;
            for (; i < e; i++) blk += fabs(x[i * s[1]]);
            acc += blk;
        }
        *o += acc;
    } else {
        for (int64_t i = 0; i < n; i++) o[i * s[0]] += fabs(x[i * s[1]]);
    }
}

/* max / min of |x|; a NaN sticks (once m is NaN no comparison replaces it) */
static void k_maxabs(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    double *o = p[0];
    const double *x = p[1];
    for (int64_t i = 0; i < n; i++) {
        double a = fabs(x[i * s[1]]), *m = o + i * s[0];
        if (a > *m || a != a) *m = a;
    }
}

static void k_minabs(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    double *o = p[0];
    const double *x = p[1];
    for (int64_t i = 0; i < n; i++) {
        double a = fabs(x[i * s[1]]), *m = o + i * s[0];
        if (a < *m || a != a) *m = a;
    }
}

/* acc += (|x|/scale)^p; operands (acc, scale, x), acc and scale share a layout */
static void k_sumpow(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    double e = *(const double *)ud;
    double *o = p[0];
    const double *sc = p[1], *x = p[2];
    for (int64_t i = 0; i < n; i++) {
        double v = fabs(x[i * s[2]]) / sc[i * s[1]];
        o[i * s[0]] += e == 2 ? v * v : pow(v, e);
    }
}

/* Runs fn over x's shape with the accumulators (acc, and aux if given) laid
 * out with strides sacc (0 along reduced axes). */
static void run(ad_iter_fn fn, void *ud, double *acc, double *aux, const int64_t *sacc, ad_tensor *x)
{
    double *base[3] = {acc, aux ? aux : x->data, x->data};
    const int64_t *st[3] = {sacc, aux ? sacc : x->stride, x->stride};
    ad_iter it;
    ad_iter_init_raw(&it, x->ndim, x->shape, aux ? 3 : 2, base, st);
    ad_iter_run(&it, fn, ud);
}

static void fill(double *d, int64_t n, double v)
{
    for (int64_t i = 0; i < n; i++) d[i] = v;
}

/* y[i] = scale·(Σ(|x|/scale)^p)^(1/p) with scale = max|x| (the dnrm2 way). */
static int scaled_norm(ad_tensor *y, ad_tensor *x, const int64_t *sacc, double p, bool only_flagged,
                       const bool *flag)
{
    ad_ctx *ctx = x->ctx;
    int64_t n = y->numel;
    ad_tensor *tmp = ad_new(ctx, 1, (int64_t[]){2 * n});
    if (!tmp) return ctx->err;
    double *scale = tmp->data, *acc = tmp->data + n;
    fill(scale, n, 0);
    fill(acc, n, 0);
    run(k_maxabs, NULL, scale, NULL, sacc, x);
    run(k_sumpow, &p, acc, scale, sacc, x);
    for (int64_t i = 0; i < n; i++) {
        if (only_flagged && !flag[i]) continue;
        double s = scale[i];
        y->data[i] = (s == 0 || isinf(s) || isnan(s)) ? s : s * (p == 2 ? sqrt(acc[i]) : pow(acc[i], 1 / p));
    }
    ad_tensor_free(tmp);
    return AD_OK;
}

static int norm_values(ad_tensor *y, ad_tensor *x, const int64_t *sacc, double p)
{
    ad_ctx *ctx = x->ctx;
    int64_t n = y->numel;
    double *d = y->data;
    if (p == 1) {
        fill(d, n, 0);
        run(k_sumabs, NULL, d, NULL, sacc, x);
    } else if (p == INFINITY) {
        fill(d, n, 0);
        run(k_maxabs, NULL, d, NULL, sacc, x);
    } else if (p == -INFINITY) {
        fill(d, n, INFINITY);
        run(k_minabs, NULL, d, NULL, sacc, x);
    } else if (p == 2) {
        fill(d, n, 0);
        run(k_sumsq, NULL, d, NULL, sacc, x);
        /* a sum of squares at least 2^-900 lost nothing to underflow (each
         * lost square is below 2^-1022); a finite one had no overflow */
        const double tiny = 0x1p-900;
        int64_t bad = 0;
        for (int64_t i = 0; i < n; i++)
            if (!(d[i] >= tiny && d[i] <= DBL_MAX) && !isnan(d[i])) bad++;
        if (bad) {
            bool *flag = ad_mem_alloc(ctx, (size_t)n * sizeof *flag, AD_MEM_META);
            if (!flag) return ctx->err;
            for (int64_t i = 0; i < n; i++) flag[i] = !(d[i] >= tiny && d[i] <= DBL_MAX) && !isnan(d[i]);
            for (int64_t i = 0; i < n; i++)
                if (!flag[i]) d[i] = sqrt(d[i]);
            int rc = scaled_norm(y, x, sacc, p, true, flag);
            ad_mem_free(ctx, flag, (size_t)n * sizeof *flag, AD_MEM_META);
            return rc;
        }
        for (int64_t i = 0; i < n; i++) d[i] = sqrt(d[i]);
    } else {
        return scaled_norm(y, x, sacc, p, false, NULL);
    }
    return AD_OK;
}

/* y = ‖x‖_p over axes;   ẏ = Σ w·ẋ;   x̄ += ȳ·w   (w: see the top of the file) */
ad_tensor *ad_norm(ad_tensor *x, double p, ad_axes axes, bool keepdims)
{
    AD_ARG(x);
    ad_ctx *ctx = x->ctx;
    if (isnan(p) || (p <= 0 && p != -INFINITY))
        return AD_FAIL(ctx, AD_EINVAL, "norm: p = %g is not supported (p must be > 0, inf or -inf)", p);
    uint32_t mask;
    if (ad_axes_mask(ctx, "norm", axes, x->ndim, &mask) != AD_OK) return NULL;
    int on = 0;
    int64_t oshape[AD_MAX_DIMS], sacc[AD_MAX_DIMS], count = 1, onumel = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (mask & (1u << d)) {
            count *= x->shape[d];
            if (keepdims) oshape[on++] = 1;
        } else {
            oshape[on++] = x->shape[d];
            onumel *= x->shape[d];
        }
    }
    /* accumulator strides over x's axes: y's contiguous layout, 0 where reduced */
    int64_t st = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        if (mask & (1u << d)) {
            sacc[d] = 0;
        } else {
            sacc[d] = st;
            st *= x->shape[d];
        }
    }
    if (isinf(p) && count == 0 && onumel > 0) {
        char b1[AD_SHAPEBUF];
        return AD_FAIL(ctx, AD_ESHAPE,
                       "norm: the %s norm of an empty reduction (shape %s) is undefined: max/min have no identity",
                       p > 0 ? "inf" : "-inf", ad_fmt_shape(b1, sizeof b1, x->ndim, x->shape));
    }
    ad_tensor *y = ad_new(ctx, on, oshape);
    if (!y) return NULL;
    if (norm_values(y, x, sacc, p) != AD_OK) {
        ad_tensor_free(y);
        return NULL;
    }
    norm_attr at;
    memset(&at, 0, sizeof at);
    at.p = p;
    at.mask = mask;
    at.keepdims = keepdims;
    return ad_op_finish(AD_OP_norm, y, 1, &x, &at, sizeof at);
}

/* ‖A‖_F = sqrt(Σ Aᵢⱼ²): the 2-norm over every element */
ad_tensor *ad_norm_fro(ad_tensor *A) { return ad_norm(A, 2, AD_ALL, false); }

/* ---- rules ---------------------------------------------------------------------------- */

/* The reduced axes (shifted by `shift`: 1 for tangents) as an ad_axes. */
static ad_axes mask_axes(uint32_t mask, int ndim, int shift)
{
    ad_axes a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < ndim; d++)
        if (mask & (1u << d)) a.axis[a.n++] = d + shift;
    return a;
}

/* An output-shaped tensor viewed with the reduced axes kept (length 1), so
 * that it broadcasts against the input. */
static ad_tensor *keep(const ad_call *c, ad_tensor *t)
{
    const norm_attr *a = c->attr;
    ad_shape s = ad_op_in_shape(c, 0);
    for (int d = 0; d < s.ndim; d++)
        if (a->mask & (1u << d)) s.dim[d] = 1;
    return ad_reshape(t, s);
}

/* ∂y/∂x, elementwise, with the input's shape. */
static ad_tensor *norm_weight(const ad_call *c)
{
    const norm_attr *a = c->attr;
    ad_tensor *x = c->in[0], *y = keep(c, c->out);
    double p = a->p;
    if (p == 1) return ad_sign(x);
    if (isinf(p)) {
        ad_tensor *hit = ad_eq(ad_abs(x), y);
        ad_tensor *w = ad_mul(ad_sign(x), hit);
        if (a->mask == 0) return w;
        return ad_div(w, ad_sum(hit, mask_axes(a->mask, x->ndim, 0), true));
    }
    /* y = 0 only for an all-zero slice: divide by 1 there (x/1 = 0) */
    ad_tensor *ysafe = ad_add(y, ad_eq_s(y, 0));
    if (p == 2) return ad_div(x, ysafe);
    /* |x| + [x = 0] keeps pow finite at 0 for p < 1; sign(0) = 0 zeroes it */
    ad_tensor *ax = ad_add(ad_abs(x), ad_eq_s(x, 0));
    return ad_mul(ad_sign(x), ad_pow_s(ad_div(ax, ysafe), p - 1));
}

ad_tensor *ad_op_norm_jvp(const ad_call *c, ad_tensor *const *t)
{
    const norm_attr *a = c->attr;
    if (!t[0]) return NULL;
    ad_tensor *wt = ad_mul(t[0], norm_weight(c)); /* [k, x.shape] */
    if (a->mask == 0) return wt;
    return ad_sum(wt, mask_axes(a->mask, c->in[0]->ndim, 1), a->keepdims);
}
int ad_op_norm_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(keep(c, g), norm_weight(c));
    return AD_OK;
}
