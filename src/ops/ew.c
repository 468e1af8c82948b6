/* src/ops/ew.c — raw elementwise binary kernels (see ew.h).
 *
 * One kernel per operation; its common layouts (all unit stride; one
 * operand a broadcast scalar) run the vectorised loops of ew_isa.h, compiled
 * per instruction set; everything else takes the strided loop. */
#include <math.h>
#include <string.h>

#include "../threads.h"
#include "ew.h"
#include "ew_isa.h"

/* The unit-stride layouts go to the loops of the ISA in use (ew_isa.h:
 * AVX-512, AVX2 or the baseline, the same bits); everything else takes the
 * strided loop here. */
#define EW_KERNEL(name, EXPR)                                                              \
    static void k_##name(int64_t n, double *const *p, const int64_t *s, void *ud)          \
    {                                                                                      \
        (void)ud;                                                                          \
        double *y = p[0];                                                                  \
        const double *a = p[1], *b = p[2];                                                 \
        if (n == 1) { /* a 1-element op: EXPR alone, the bits of the loops */              \
            double u = a[0], v = b[0];                                                     \
            y[0] = (EXPR);                                                                 \
        } else if (s[0] == 1 && s[1] == 1 && (s[2] == 1 || s[2] == 0)) {                   \
            ad_ew_isa_run(AD_EWI_##name, s[2] ? AD_EWL_VV : AD_EWL_VS, n, y, a, b, 0);     \
        } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {                                  \
            ad_ew_isa_run(AD_EWI_##name, AD_EWL_SV, n, y, a, b, 0);                        \
        } else {                                                                           \
            for (int64_t i = 0; i < n; i++) {                                              \
                double u = a[i * s[1]], v = b[i * s[2]];                                   \
                y[i * s[0]] = (EXPR);                                                      \
            }                                                                              \
        }                                                                                  \
    }

static double ew_max(double u, double v) { return (u > v || u != u) ? u : v; } /* NaN wins */
static double ew_min(double u, double v) { return (u < v || u != u) ? u : v; }

#define AD_EW(name, EXPR) EW_KERNEL(name, EXPR)
#include "ew.def"
#undef AD_EW

#define AD_EW(name, EXPR) [AD_EW_##name] = k_##name,
static const ad_iter_fn kernels[AD_EW_COUNT] = {
#include "ew.def"
};
#undef AD_EW

int ad_ew_broadcast(ad_ctx *ctx, const char *what, int na, const int64_t *sa, int nb, const int64_t *sb,
                    int *nout, int64_t *out)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int ia = na - n + i, ib = nb - n + i;
        int64_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
            return ad_error(ctx, AD_ESHAPE, "%s: shapes %s and %s cannot broadcast", what,
                            ad_fmt_shape(b1, sizeof b1, na, sa), ad_fmt_shape(b2, sizeof b2, nb, sb));
        }
        out[i] = da == 1 ? db : da;
    }
    *nout = n;
    return AD_OK;
}

int ad_broadcast_shapes(ad_ctx *ctx, const ad_shape *a, const ad_shape *b, ad_shape *out)
{
    if (!a || !b || !out) return ad_error(ctx, AD_EINVAL, "broadcast_shapes: NULL argument");
    return ad_ew_broadcast(ctx, "broadcast", a->ndim, a->dim, b->ndim, b->dim, &out->ndim, out->dim);
}

/* A contiguous kernel call split into chunks for ad_par_chunks: each chunk
 * is the same kernel over a sub-range, so every element gets the same bits
 * as on one thread. */
typedef struct {
    ad_iter_fn k;
    double *base[3];
    int64_t st[3];
} flat_job;

static void flat_part(int64_t lo, int64_t hi, void *ud)
{
    const flat_job *j = ud;
    double *p[3];
    for (int i = 0; i < 3; i++) p[i] = j->base[i] + lo * j->st[i];
    j->k(hi - lo, p, j->st, NULL);
}

/* Strides of t aligned at the right of an ndim-axis iteration. */
static void aligned_strides(const ad_tensor *t, int ndim, int64_t *st)
{
    int off = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) st[d] = (d < off || t->shape[d - off] == 1) ? 0 : t->stride[d - off];
}

static void run(ad_ew_kind kind, ad_tensor *out, ad_tensor *a, ad_tensor *b, const double *s)
{
    /* the common case without the iterator: contiguous operands of the
     * output's size (same layout, since they broadcast to it), or a
     * one-element / scalar second operand */
    int64_t n = out->numel;
    bool b_flat = b && (b->flags & AD_T_CONTIG) && b->numel == n, b_one = !b || b->numel == 1;
    if ((out->flags & AD_T_CONTIG) && (a->flags & AD_T_CONTIG) && a->numel == n && (b_flat || b_one)) {
        flat_job j = {kernels[kind], {out->data, a->data, b ? b->data : (double *)s}, {1, 1, b_flat ? 1 : 0}};
        int parts = ad_par_threads(n);
        if (parts <= 1) j.k(n, j.base, j.st, NULL); /* small n: no trip through the chunker */
        else ad_par_chunks(n, parts, flat_part, &j);
        return;
    }
    int nd = out->ndim;
    int64_t so[AD_MAX_DIMS], sa[AD_MAX_DIMS], sb[AD_MAX_DIMS];
    aligned_strides(out, nd, so);
    aligned_strides(a, nd, sa);
    if (b) aligned_strides(b, nd, sb);
    else memset(sb, 0, sizeof sb);
    double *base[3] = {out->data, a->data, b ? b->data : (double *)s};
    const int64_t *st[3] = {so, sa, sb};
    ad_iter it;
    ad_iter_init_raw(&it, nd, out->shape, 3, base, st);
    ad_iter_run_par(&it, kernels[kind], NULL);
}

static bool same_shape(const ad_tensor *a, const ad_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

ad_tensor *ad_ew_apply(const char *what, ad_ew_kind kind, ad_tensor *a, ad_tensor *b)
{
    if (same_shape(a, b)) { /* the common case: nothing to broadcast */
        ad_tensor *y = ad_new_like(a);
        if (y) run(kind, y, a, b, NULL);
        return y;
    }
    int nd;
    int64_t shape[AD_MAX_DIMS];
    if (ad_ew_broadcast(a->ctx, what, a->ndim, a->shape, b->ndim, b->shape, &nd, shape) != AD_OK) return NULL;
    ad_tensor *y = ad_new(a->ctx, nd, shape);
    if (y) run(kind, y, a, b, NULL);
    return y;
}

ad_tensor *ad_ew_apply_s(ad_ew_kind kind, ad_tensor *a, double s)
{
    ad_tensor *y = ad_new_like(a);
    if (y) run(kind, y, a, NULL, &s);
    return y;
}

/* Same storage but not exactly the same elements in the same order: the
 * kernel could read an element it has already overwritten. */
static bool hazard(const ad_tensor *out, const ad_tensor *x)
{
    if (!x || x->st != out->st) return false;
    if (x->offset != out->offset || x->ndim != out->ndim) return true;
    for (int i = 0; i < x->ndim; i++)
        if (x->shape[i] != out->shape[i] || (x->shape[i] > 1 && x->stride[i] != out->stride[i])) return true;
    return false;
}

int ad_ew_into(const char *what, ad_ew_kind kind, ad_tensor *out, ad_tensor *a, ad_tensor *b, double s)
{
    ad_ctx *ctx = out->ctx;
    int nd = a->ndim;
    int64_t shape[AD_MAX_DIMS];
    memcpy(shape, a->shape, sizeof(int64_t) * (size_t)a->ndim);
    if (b && ad_ew_broadcast(ctx, what, a->ndim, a->shape, b->ndim, b->shape, &nd, shape) != AD_OK)
        return AD_ESHAPE;
    /* the result must fit out exactly (out never changes shape) */
    bool fits = nd <= out->ndim;
    for (int i = 0; fits && i < nd; i++)
        if (shape[nd - 1 - i] != out->shape[out->ndim - 1 - i] && shape[nd - 1 - i] != 1) fits = false;
    if (!fits) {
        char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
        return ad_error(ctx, AD_ESHAPE, "%s: result of shape %s cannot be written into a tensor of shape %s",
                        what, ad_fmt_shape(b1, sizeof b1, nd, shape),
                        ad_fmt_shape(b2, sizeof b2, out->ndim, out->shape));
    }
    ad_tensor *ta = NULL, *tb = NULL;
    if (hazard(out, a)) {
        if (!(ta = ad_new_like(a))) return ctx->err;
        ad_copy_raw(ta, a);
        a = ta;
    }
    if (hazard(out, b)) {
        if (!(tb = ad_new_like(b))) {
            ad_tensor_free(ta);
            return ctx->err;
        }
        ad_copy_raw(tb, b);
        b = tb;
    }
    run(kind, out, a, b, &s);
    ad_tensor_free(ta);
    ad_tensor_free(tb);
    ad_bump_version(out);
    return AD_OK;
}
