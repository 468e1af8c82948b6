/* src/ops/scan.c — running sums and products along one axis (cumsum,
 * cumprod).  Same shape in and out.
 *
 * The kernel walks every line along the axis (ad_iter over x's shape with
 * the axis collapsed to length 1).  When the axis is the inner one in
 * memory, lines are scanned one after the other; when it is an outer axis
 * (cumsum over the rows of a row-major matrix), the lines of a run advance
 * in lockstep, y[j, :] = y[j-1, :] ⊕ x[j, :], so memory is read in order.
 * Running sums are accumulated left to right, as NumPy and PyTorch do.
 *
 * cumsum also has a reverse form (y_i = Σ_{j≥i} x_j), internal only: it is
 * the transpose of cumsum, so the pair is closed under its own rules and
 * needs no flip or slicing op. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../iter.h"
#include "op.h"

typedef struct {
    int32_t axis;    /* normalised */
    int32_t reverse; /* cumsum only: y_i = Σ_{j≥i} x_j */
} scan_attr;

typedef struct {
    int64_t len;    /* length of the axis */
    int64_t xs, ys; /* strides of x and y along it */
    bool prod, reverse;
} scan_ud;

/* Operands: 0 y, 1 x; each element of the run starts one line. */
static void k_scan(int64_t m, double *const *p, const int64_t *s, void *ud)
{
    const scan_ud *u = ud;
    const int64_t n = u->len;
    int64_t xs = u->xs, ys = u->ys;
    double *y0 = p[0];
    const double *x0 = p[1];
    if (u->reverse) { /* walk the lines backwards */
        y0 += (n - 1) * ys;
        x0 += (n - 1) * xs;
        xs = -xs;
        ys = -ys;
    }
    if (m == 1 || llabs(xs) <= llabs(s[1])) {
        for (int64_t i = 0; i < m; i++) {
            double *y = y0 + i * s[0];
            const double *x = x0 + i * s[1];
            double acc = x[0];
            y[0] = acc;
            if (u->prod) {
                for (int64_t j = 1; j < n; j++) y[j * ys] = acc *= x[j * xs];
            } else {
                for (int64_t j = 1; j < n; j++) y[j * ys] = acc += x[j * xs];
            }
        }
        return;
    }
    for (int64_t i = 0; i < m; i++) y0[i * s[0]] = x0[i * s[1]];
    for (int64_t j = 1; j < n; j++) {
        double *y = y0 + j * ys;
        const double *yp = y - ys, *x = x0 + j * xs;
        if (u->prod) {
            for (int64_t i = 0; i < m; i++) y[i * s[0]] = yp[i * s[0]] * x[i * s[1]];
        } else {
            for (int64_t i = 0; i < m; i++) y[i * s[0]] = yp[i * s[0]] + x[i * s[1]];
        }
    }
}

/* The scan of x along axis a (normalised) into a fresh tensor. */
static ad_tensor *scan_value(ad_tensor *x, int a, bool prod, bool reverse)
{
    ad_tensor *y = ad_new_like(x);
    if (!y || x->numel == 0) return y;
    int64_t shape[AD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[a] = 1;
    scan_ud u = {x->shape[a], x->stride[a], y->stride[a], prod, reverse};
    ad_tensor *ops[2] = {y, x};
    double *base[2] = {y->data, x->data};
    const int64_t *st[2] = {ops[0]->stride, ops[1]->stride};
    ad_iter it;
    ad_iter_init_raw(&it, x->ndim, shape, 2, base, st);
    ad_iter_run(&it, k_scan, &u);
    return y;
}

static ad_tensor *scan_op(int opid, const char *what, ad_tensor *x, int axis, bool reverse)
{
    AD_ARG(x);
    int a = ad_axis_index(x->ctx, what, axis, x->ndim);
    if (a < 0) return NULL;
    scan_attr at = {a, reverse};
    ad_tensor *y = scan_value(x, a, opid == AD_OP_cumprod, reverse);
    return ad_op_finish(opid, y, 1, &x, &at, sizeof at);
}

/* ---- cumsum ------------------------------------------------------------------- */

static ad_tensor *cumsum_dir(ad_tensor *x, int axis, bool reverse)
{
    return scan_op(AD_OP_cumsum, "cumsum", x, axis, reverse);
}

/* y_i = Σ_{j≤i} x_j;   ẏ = cumsum(ẋ, axis+1);   x̄ += Σ_{k≥i} ȳ_k (reverse cumsum)
 * (reverse form: the same with the directions swapped) */
ad_tensor *ad_cumsum(ad_tensor *x, int axis) { return cumsum_dir(x, axis, false); }
ad_tensor *ad_op_cumsum_jvp(const ad_call *c, ad_tensor *const *t)
{
    const scan_attr *a = c->attr;
    return cumsum_dir(t[0], a->axis + 1, a->reverse);
}
int ad_op_cumsum_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    const scan_attr *a = c->attr;
    gx[0] = cumsum_dir(g, a->axis, !a->reverse);
    return gx[0] ? AD_OK : c->ctx->err;
}

/* ---- cumprod ------------------------------------------------------------------ */

static void k_any_zero(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    bool *any = ud;
    for (int64_t i = 0; i < n && !*any; i++) *any = p[0][i * s[0]] == 0;
}
static bool has_zero(ad_tensor *x)
{
    bool any = false;
    ad_iter it;
    ad_iter_init(&it, x->ndim, x->shape, 1, &x);
    ad_iter_run(&it, k_any_zero, &any);
    return any;
}

/* Zeros along a line split it at its first zero z (cnt_i = zeros in x_0..x_i):
 *   ∂y_k/∂x_i = Π_{j≤k, j≠i} x_j
 *            = y_k / x_i                      for cnt_k = 0 (no zero yet)
 *            = [i = z] · Π_{j≤k, j≠z} x_j     for cnt_k = 1 (only the zero's own term survives)
 *            = 0                              for cnt_k ≥ 2
 * With xs = x where zeros are replaced by 1, Π_{j≤k, j≠z} x_j = cumprod(xs)_k
 * while cnt_k = 1, so
 *   ẏ = where(cnt = 0, y·cumsum(ẋ/xs),  where(cnt = 1, cumprod(xs)·cumsum(ẋ·[i = z]), 0))
 *   x̄ = where(cnt = 0, rcumsum(ȳ·y)/xs, where(i = z, rcumsum(ȳ·cumprod(xs)·[cnt = 1]), 0))
 * (rcumsum: reverse cumsum).  Without zeros both reduce to the usual
 * ẏ = y·cumsum(ẋ/x), x̄ = rcumsum(ȳ·y)/x, exact to second order; with zeros
 * the first order is exact.  xs never divides by zero, so no NaN is
 * produced in the branches where() discards. */
typedef struct {
    ad_tensor *cnt0, *cnt1, *first, *xs;
} zsplit;

static zsplit zero_split(const ad_call *c)
{
    const scan_attr *a = c->attr;
    ad_tensor *x = c->in[0];
    ad_tensor *isz = ad_eq_s(x, 0);
    ad_tensor *cnt = cumsum_dir(isz, a->axis, false);
    zsplit z;
    z.cnt0 = ad_eq_s(cnt, 0);
    z.cnt1 = ad_eq_s(cnt, 1);
    z.first = ad_mul(isz, z.cnt1);
    z.xs = ad_where(isz, ad_scalar(c->ctx, 1), x);
    return z;
}

/* y_i = Π_{j≤i} x_j;   ẏ = y·cumsum(ẋ/x);   x̄ += rcumsum(ȳ·y)/x   (zeros: see above) */
ad_tensor *ad_cumprod(ad_tensor *x, int axis) { return scan_op(AD_OP_cumprod, "cumprod", x, axis, false); }
ad_tensor *ad_op_cumprod_jvp(const ad_call *c, ad_tensor *const *t)
{
    const scan_attr *a = c->attr;
    ad_tensor *x = c->in[0], *y = c->out;
    if (!t[0]) return NULL;
    if (!has_zero(x)) return ad_mul(y, cumsum_dir(ad_div(t[0], x), a->axis + 1, false));
    zsplit z = zero_split(c);
    ad_tensor *before = ad_mul(y, cumsum_dir(ad_div(t[0], z.xs), a->axis + 1, false));
    ad_tensor *at = ad_mul(ad_cumprod(z.xs, a->axis), cumsum_dir(ad_mul(t[0], z.first), a->axis + 1, false));
    return ad_where(z.cnt0, before, ad_where(z.cnt1, at, ad_scalar(c->ctx, 0)));
}
int ad_op_cumprod_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    const scan_attr *a = c->attr;
    ad_tensor *x = c->in[0], *y = c->out;
    if (!has_zero(x)) {
        gx[0] = ad_div(cumsum_dir(ad_mul(g, y), a->axis, true), x);
        return gx[0] ? AD_OK : c->ctx->err;
    }
    zsplit z = zero_split(c);
    ad_tensor *before = ad_div(cumsum_dir(ad_mul(g, y), a->axis, true), z.xs);
    ad_tensor *at = cumsum_dir(ad_mul(g, ad_mul(ad_cumprod(z.xs, a->axis), z.cnt1)), a->axis, true);
    gx[0] = ad_where(z.cnt0, before, ad_where(z.first, at, ad_scalar(c->ctx, 0)));
    return gx[0] ? AD_OK : c->ctx->err;
}
