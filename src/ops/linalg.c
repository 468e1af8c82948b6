/* src/ops/linalg.c — products on CBLAS: dot, mv, mm, batched matmul (bmm),
 * outer, cross, trace.  Value kernels, JVP and VJP rules side by side.
 *
 * BLAS reads a matrix through (pointer, leading dimension, transpose flag),
 * which covers every view whose elements are row-major with a gap between
 * rows (strides (ld, 1): NoTrans) or column-major likewise (strides (1, ld):
 * the transpose of a row-major matrix, so ad_T(A) is passed as Trans).  Only
 * other layouts (stride 0 along a matrix axis, negative or interleaved
 * strides) are copied first.  Vectors go through BLAS's increment, negative
 * ones included.  Batched products walk the broadcast batch axes with
 * stride-0 operands and call dgemm per batch, or once when the batches of
 * the left operand continue its rows and the right operand is shared. */
#include <gsl/gsl_cblas.h>
#include <limits.h>
#include <string.h>

#include "../threads.h"
#include "ew.h"
#include "ew_isa.h"
#include "mv_rows.h"
#include "op.h"

#ifndef ADSCOPE_BLAS_NAME
#define ADSCOPE_BLAS_NAME "unknown CBLAS"
#endif

const char *ad_blas_name(void) { return ADSCOPE_BLAS_NAME; }

#if ADSCOPE_BLAS_OPENBLAS
char *openblas_get_corename(void); /* declared by some OpenBLAS cblas.h only */
#endif

/* Why a result file records it: OpenBLAS picks its kernels by CPU model at
 * load time, and a model it does not know gets generic ones ("Prescott":
 * dgemm 3.7x slower than "SkylakeX" on this project's CI machine), which
 * no other figure of the run would reveal. */
const char *ad_blas_core(void)
{
#if ADSCOPE_BLAS_OPENBLAS
    const char *core = openblas_get_corename();
    return core && *core ? core : "unknown";
#else
    return "n/a";
#endif
}

/* ---- layouts BLAS can read ------------------------------------------------------- */

/* A [r,c] matrix with strides (s0, s1) as BLAS reads it (row-major order):
 * NoTrans with ld = s0 when s1 == 1, or Trans (the stored matrix is [c,r])
 * with ld = s1 when s0 == 1.  Strides of length-1 axes impose nothing.
 * False when neither holds (then the caller copies). */
static bool blas_mat(int64_t r, int64_t c, int64_t s0, int64_t s1, enum CBLAS_TRANSPOSE *tr, int *ld)
{
    int64_t mr = r > 1 ? r : 1, mc = c > 1 ? c : 1;
    if ((c <= 1 || s1 == 1) && (r <= 1 || (s0 >= mc && s0 <= INT_MAX))) {
        *tr = CblasNoTrans;
        *ld = (int)(r <= 1 ? mc : s0);
        return true;
    }
    if ((r <= 1 || s0 == 1) && (c <= 1 || (s1 >= mr && s1 <= INT_MAX))) {
        *tr = CblasTrans;
        *ld = (int)(c <= 1 ? mr : s1);
        return true;
    }
    return false;
}

static bool mat_ok(const ad_tensor *t)
{
    enum CBLAS_TRANSPOSE tr;
    int ld;
    int n = t->ndim;
    return blas_mat(t->shape[n - 2], t->shape[n - 1], t->stride[n - 2], t->stride[n - 1], &tr, &ld);
}

/* Pointer and increment for a 1-d view (BLAS starts a negative increment at
 * the lowest address).  False for stride 0 (BLAS forbids incx = 0). */
static bool blas_vec_at(int64_t n, const double *data, int64_t s, const double **p, int *inc)
{
    if (n <= 1) {
        *p = data;
        *inc = 1;
        return true;
    }
    if (s == 0 || s > INT_MAX || s < -INT_MAX) return false;
    *p = s > 0 ? data : data + (n - 1) * s;
    *inc = (int)s;
    return true;
}
static bool blas_vec(const ad_tensor *x, const double **p, int *inc)
{
    return blas_vec_at(x->shape[0], x->data, x->stride[0], p, inc);
}

/* A contiguous copy of x's values (not recorded: a kernel's scratch). */
static ad_tensor *raw_copy(ad_tensor *x)
{
    ad_tensor *c = ad_new_like(x);
    if (c) ad_copy_raw(c, x);
    return c;
}

static int check_int(ad_ctx *ctx, const char *what, int64_t m, int64_t n, int64_t k)
{
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX)
        return ad_error(ctx, AD_ESIZE, "%s: dimensions %lld, %lld, %lld exceed what BLAS indexes (%d)", what,
                        (long long)m, (long long)n, (long long)k, INT_MAX);
    return AD_OK;
}

static void zero_fill(ad_tensor *y) { memset(y->data, 0, (size_t)y->numel * sizeof(double)); }

static ad_tensor *fail_shapes(ad_ctx *ctx, int status, const char *what, const char *msg, const ad_tensor *a,
                              const ad_tensor *b)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    return AD_FAIL(ctx, status, "%s: %s, got shapes %s and %s", what, msg,
                   ad_fmt_shape(b1, sizeof b1, a->ndim, a->shape), ad_fmt_shape(b2, sizeof b2, b->ndim, b->shape));
}

static ad_tensor *fail_inner(ad_ctx *ctx, const char *what, const ad_tensor *a, const ad_tensor *b, int64_t ka,
                             int64_t kb)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    return AD_FAIL(ctx, AD_ESHAPE, "%s: shapes %s and %s cannot be multiplied (%lld != %lld)", what,
                   ad_fmt_shape(b1, sizeof b1, a->ndim, a->shape), ad_fmt_shape(b2, sizeof b2, b->ndim, b->shape),
                   (long long)ka, (long long)kb);
}

/* ---- dot ------------------------------------------------------------------------------- */

static ad_tensor *dot_impl(const char *what, ad_tensor *x, ad_tensor *y)
{
    ad_ctx *ctx = x->ctx;
    if (x->ndim != 1 || y->ndim != 1) return fail_shapes(ctx, AD_ESHAPE, what, "expected two 1-d tensors", x, y);
    int64_t n = x->shape[0];
    if (y->shape[0] != n) return fail_inner(ctx, what, x, y, n, y->shape[0]);
    if (check_int(ctx, what, n, 1, 1) != AD_OK) return NULL;
    ad_tensor *out = ad_new(ctx, 0, NULL);
    if (!out) return NULL;
    ad_tensor *xc = NULL, *yc = NULL;
    const double *px = NULL, *py = NULL; /* set by blas_vec (always succeeds on a copy) */
    int ix = 1, iy = 1;
    if (!blas_vec(x, &px, &ix)) {
        if (!(xc = raw_copy(x))) goto fail;
        blas_vec(xc, &px, &ix);
    }
    if (!blas_vec(y, &py, &iy)) {
        if (!(yc = raw_copy(y))) goto fail;
        blas_vec(yc, &py, &iy);
    }
    ad_blas_threads_sync();
    out->data[0] = n ? cblas_ddot((int)n, px, ix, py, iy) : 0.0;
    ad_tensor_free(xc);
    ad_tensor_free(yc);
    ad_tensor *in[2] = {x, y};
    return ad_op_finish(AD_OP_dot, out, 2, in, NULL, 0);
fail:
    ad_tensor_free(xc);
    ad_tensor_free(yc);
    ad_tensor_free(out);
    return NULL;
}

/* y = Σ xᵢyᵢ;   ẏ = ẋ·y + x·ẏ;   x̄ += ȳ·y,  ȳ_y += ȳ·x */
ad_tensor *ad_dot(ad_tensor *x, ad_tensor *y)
{
    AD_ARG(x);
    AD_ARG(y);
    return dot_impl("dot", x, y);
}
ad_tensor *ad_op_dot_jvp(const ad_call *c, ad_tensor *const *t)
{
    /* tangents are [k,n]: [k,n]·[n] -> [k] */
    ad_tensor *r = t[0] ? ad_matmul(t[0], c->in[1]) : NULL;
    ad_tensor *q = t[1] ? ad_matmul(t[1], c->in[0]) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_dot_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_mul(g, c->in[1]);
    if (c->need[1]) gin[1] = ad_mul(g, c->in[0]);
    return AD_OK;
}

/* ---- mv ---------------------------------------------------------------------------------- */

/* Columns per tile of the row kernel: a tile of z (16 KiB) stays in L1
 * while every row adds into it. */
#define MV_TILE 2048

typedef struct {
    int64_t m, ld, iw;
    const double *a, *w0;
    double *z;
    bool four; /* AVX-512F's four-row kernel */
} rows_job;

/* Columns [lo, hi) of the row kernel, a tile at a time. */
static void rows_cols(int64_t lo, int64_t hi, void *ud)
{
    const rows_job *j = ud;
    for (int64_t j0 = lo; j0 < hi; j0 += MV_TILE) {
        int64_t c = hi - j0 < MV_TILE ? hi - j0 : MV_TILE, i = 0;
        double *z = j->z + j0;
        for (; j->four && i + 4 <= j->m; i += 4) {
            const double *w = j->w0 + i * j->iw;
            double wi[4] = {w[0], w[j->iw], w[2 * j->iw], w[3 * j->iw]};
            ad_mv_rows4_avx512(c, z, j->a + i * j->ld + j0, j->ld, wi);
        }
        for (; i < j->m; i++) ad_ew_isa_run(AD_EWI_axpy, AD_EWL_VV, c, z, z, j->a + i * j->ld + j0, j->w0[i * j->iw]);
    }
}

/* Threads split the columns: each element's sum is its own, so the bits do
 * not depend on them. */
void ad_mv_rows_axpy(int64_t m, int64_t n, const double *a, int64_t ld, const double *w, int64_t iw, double *z)
{
    rows_job j = {.m = m, .ld = ld, .iw = iw, .a = a, .z = z,
                  .w0 = iw >= 0 ? w : w + (m - 1) * -iw, /* BLAS: element 0 of a negative stride is last */
                  .four = ad_mv_rows4_avx512_built && ad_ew_isa_current() == AD_SIMD_AVX512};
    int parts = ad_par_threads(m * n);
    if (parts > 1 && n >= 64 * (int64_t)parts) ad_par_chunks(n, parts, rows_cols, &j);
    else rows_cols(0, n, &j);
}

bool ad_mv_strided(int64_t r, int64_t c, const double *a, int64_t s0, int64_t s1, const double *x, int64_t sx,
                   double *y)
{
    enum CBLAS_TRANSPOSE tr;
    int ld, ix;
    const double *px;
    if (!blas_mat(r, c, s0, s1, &tr, &ld) || !blas_vec_at(c, x, sx, &px, &ix)) return false;
    if (r == 0) return true;
    if (c == 0) {
        memset(y, 0, (size_t)r * sizeof *y);
        return true;
    }
    if (tr == CblasNoTrans) {
        ad_blas_threads_sync();
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)r, (int)c, 1.0, a, ld, px, ix, 0.0, y, 1);
    } else { /* the stored matrix is [c, r]: y = storedᵀ x, its rows in order (mv_rows.h) */
        memset(y, 0, (size_t)r * sizeof *y);
        ad_mv_rows_axpy(c, r, a, ld, px, ix, y);
    }
    return true;
}

static ad_tensor *mv_impl(const char *what, ad_tensor *A, ad_tensor *x)
{
    ad_ctx *ctx = A->ctx;
    if (A->ndim != 2 || x->ndim != 1)
        return fail_shapes(ctx, AD_ESHAPE, what, "expected a 2-d matrix and a 1-d vector", A, x);
    int64_t m = A->shape[0], n = A->shape[1];
    if (x->shape[0] != n) return fail_inner(ctx, what, A, x, n, x->shape[0]);
    if (check_int(ctx, what, m, n, 1) != AD_OK) return NULL;
    ad_tensor *y = ad_new(ctx, 1, &m);
    if (!y) return NULL;
    ad_tensor *Ac = NULL, *xc = NULL, *Au = A, *xu = x;
    const double *px;
    int ix;
    if (!blas_vec(x, &px, &ix)) { /* a stride the BLAS cannot take: ad_mv_strided would refuse it */
        if (!(xc = raw_copy(x))) goto fail;
        xu = xc;
    }
    if (!ad_mv_strided(m, n, A->data, A->stride[0], A->stride[1], xu->data, xu->stride[0], y->data)) {
        if (!(Ac = raw_copy(A))) goto fail;
        Au = Ac;
        ad_mv_strided(m, n, Au->data, Au->stride[0], Au->stride[1], xu->data, xu->stride[0], y->data);
    }
    ad_tensor_free(Ac);
    ad_tensor_free(xc);
    ad_tensor *in[2] = {A, x};
    return ad_op_finish(AD_OP_mv, y, 2, in, NULL, 0);
fail:
    ad_tensor_free(Ac);
    ad_tensor_free(xc);
    ad_tensor_free(y);
    return NULL;
}

/* y = A x;   ẏ = Ȧ x + A ẋ;   Ā += ȳ xᵀ,  x̄ += Aᵀ ȳ */
ad_tensor *ad_mv(ad_tensor *A, ad_tensor *x)
{
    AD_ARG(A);
    AD_ARG(x);
    return mv_impl("mv", A, x);
}
ad_tensor *ad_op_mv_jvp(const ad_call *c, ad_tensor *const *t)
{
    /* [k,m,n]·[n] -> [k,m];   A ẋ for ẋ [k,n] is ẋ Aᵀ -> [k,m] */
    ad_tensor *r = t[0] ? ad_matmul(t[0], c->in[1]) : NULL;
    ad_tensor *q = t[1] ? ad_matmul(t[1], ad_T(c->in[0])) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_mv_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_outer(g, c->in[1]);
    if (c->need[1]) gin[1] = ad_mv(ad_T(c->in[0]), g);
    return AD_OK;
}

/* ---- mm and bmm ------------------------------------------------------------------------- */

/* One operand of a (batched) product as BLAS sees it. */
typedef struct {
    ad_tensor *copy;   /* contiguous copy when the view's layout is unusable */
    const double *base;
    enum CBLAS_TRANSPOSE tr;
    int ld;
    int64_t bstride[AD_MAX_DIMS]; /* per broadcast batch axis, 0 where broadcast */
} bop;

/* Prepares operand t ([batch..., r, c]) for nb broadcast batch axes. */
static int bop_init(bop *o, ad_tensor *t, int nb)
{
    o->copy = NULL;
    ad_tensor *u = t;
    if (!mat_ok(t)) {
        if (!(o->copy = raw_copy(t))) return t->ctx->err ? t->ctx->err : AD_ENOMEM;
        u = o->copy;
    }
    int n = u->ndim;
    blas_mat(u->shape[n - 2], u->shape[n - 1], u->stride[n - 2], u->stride[n - 1], &o->tr, &o->ld);
    o->base = u->data;
    int tb = n - 2, off = nb - tb;
    for (int d = 0; d < nb; d++) {
        int j = d - off;
        o->bstride[d] = (j < 0 || u->shape[j] == 1) ? 0 : u->stride[j];
    }
    return AD_OK;
}

/* The left operand's batches continue its rows (row i of flat batch q at
 * (q·m + i)·ld): then all batches are one [B·m, k] matrix. */
static bool rows_fold(const bop *a, int nb, const int64_t *B, int64_t m)
{
    if (a->tr != CblasNoTrans) return false;
    int64_t expect = m * a->ld;
    for (int d = nb - 1; d >= 0; d--) {
        if (B[d] == 1) continue;
        if (a->bstride[d] != expect) return false;
        expect *= B[d];
    }
    return true;
}

/* y[q] = a[q]·b[q] over the nb broadcast batch axes B (y contiguous). */
static int bmm_raw(const char *what, ad_tensor *y, ad_tensor *a, ad_tensor *b, int nb, const int64_t *B)
{
    ad_ctx *ctx = y->ctx;
    int64_t m = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1], n = b->shape[b->ndim - 1];
    int64_t nbatch = 1;
    for (int d = 0; d < nb; d++) nbatch *= B[d];
    if (y->numel == 0) return AD_OK;
    if (k == 0) {
        zero_fill(y);
        return AD_OK;
    }
    if (check_int(ctx, what, m, n, k) != AD_OK) return ctx->err;
    bop oa, ob;
    if (bop_init(&oa, a, nb) != AD_OK) return ctx->err;
    if (bop_init(&ob, b, nb) != AD_OK) {
        ad_tensor_free(oa.copy);
        return ctx->err;
    }
    ad_blas_threads_sync();
    bool b_shared = true;
    for (int d = 0; d < nb; d++)
        if (B[d] != 1 && ob.bstride[d] != 0) b_shared = false;
    if (b_shared && nbatch * m <= INT_MAX && rows_fold(&oa, nb, B, m)) {
        cblas_dgemm(CblasRowMajor, oa.tr, ob.tr, (int)(nbatch * m), (int)n, (int)k, 1.0, oa.base, oa.ld, ob.base,
                    ob.ld, 0.0, y->data, (int)n);
    } else {
        int64_t idx[AD_MAX_DIMS] = {0};
        const double *pa = oa.base, *pb = ob.base;
        double *py = y->data;
        for (int64_t q = 0; q < nbatch; q++) {
            cblas_dgemm(CblasRowMajor, oa.tr, ob.tr, (int)m, (int)n, (int)k, 1.0, pa, oa.ld, pb, ob.ld, 0.0, py,
                        (int)n);
            py += m * n;
            for (int d = nb - 1; d >= 0; d--) { /* odometer over the batch axes */
                if (++idx[d] < B[d]) {
                    pa += oa.bstride[d];
                    pb += ob.bstride[d];
                    break;
                }
                pa -= oa.bstride[d] * (B[d] - 1);
                pb -= ob.bstride[d] * (B[d] - 1);
                idx[d] = 0;
            }
        }
    }
    ad_tensor_free(oa.copy);
    ad_tensor_free(ob.copy);
    return AD_OK;
}

static ad_tensor *mm_impl(const char *what, ad_tensor *A, ad_tensor *B)
{
    ad_ctx *ctx = A->ctx;
    if (A->ndim != 2 || B->ndim != 2) return fail_shapes(ctx, AD_ESHAPE, what, "expected two 2-d matrices", A, B);
    if (A->shape[1] != B->shape[0]) return fail_inner(ctx, what, A, B, A->shape[1], B->shape[0]);
    int64_t shape[2] = {A->shape[0], B->shape[1]};
    ad_tensor *y = ad_new(ctx, 2, shape);
    if (!y) return NULL;
    if (bmm_raw(what, y, A, B, 0, NULL) != AD_OK) {
        ad_tensor_free(y);
        return NULL;
    }
    ad_tensor *in[2] = {A, B};
    return ad_op_finish(AD_OP_mm, y, 2, in, NULL, 0);
}

/* Y = A B;   Ẏ = Ȧ B + A Ḃ;   Ā += Ȳ Bᵀ,  B̄ += Aᵀ Ȳ */
ad_tensor *ad_mm(ad_tensor *A, ad_tensor *B)
{
    AD_ARG(A);
    AD_ARG(B);
    return mm_impl("mm", A, B);
}
ad_tensor *ad_op_mm_jvp(const ad_call *c, ad_tensor *const *t)
{
    /* [k,m,p]·[p,n] and [m,p]·[k,p,n] broadcast to [k,m,n] */
    ad_tensor *r = t[0] ? ad_matmul(t[0], c->in[1]) : NULL;
    ad_tensor *q = t[1] ? ad_matmul(c->in[0], t[1]) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_mm_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_mm(g, ad_T(c->in[1]));
    if (c->need[1]) gin[1] = ad_mm(ad_T(c->in[0]), g);
    return AD_OK;
}

/* Batched product of a [Ba..., m, k] and b [Bb..., k, n] (both >= 2-d) with
 * the batch axes broadcast: y [B..., m, n]. */
static ad_tensor *bmm_impl(const char *what, ad_tensor *a, ad_tensor *b)
{
    ad_ctx *ctx = a->ctx;
    int na = a->ndim - 2, nbb = b->ndim - 2;
    int nb = na > nbb ? na : nbb;
    int64_t shape[AD_MAX_DIMS];
    for (int d = 0; d < nb; d++) {
        int ia = d - (nb - na), ib = d - (nb - nbb);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF], b3[AD_SHAPEBUF], b4[AD_SHAPEBUF];
            return AD_FAIL(ctx, AD_ESHAPE, "%s: batch shapes %s and %s of shapes %s and %s cannot broadcast", what,
                           ad_fmt_shape(b1, sizeof b1, na, a->shape), ad_fmt_shape(b2, sizeof b2, nbb, b->shape),
                           ad_fmt_shape(b3, sizeof b3, a->ndim, a->shape),
                           ad_fmt_shape(b4, sizeof b4, b->ndim, b->shape));
        }
        shape[d] = da == 1 ? db : da;
    }
    if (a->shape[na + 1] != b->shape[nbb]) return fail_inner(ctx, what, a, b, a->shape[na + 1], b->shape[nbb]);
    shape[nb] = a->shape[na];
    shape[nb + 1] = b->shape[nbb + 1];
    ad_tensor *y = ad_new(ctx, nb + 2, shape);
    if (!y) return NULL;
    if (bmm_raw(what, y, a, b, nb, shape) != AD_OK) {
        ad_tensor_free(y);
        return NULL;
    }
    ad_tensor *in[2] = {a, b};
    return ad_op_finish(AD_OP_bmm, y, 2, in, NULL, 0);
}

/* Y = A B batched over broadcast leading axes;   Ẏ = Ȧ B + A Ḃ;
 * Ā += sum_to(Ȳ Bᵀ, A.shape),  B̄ += sum_to(Aᵀ Ȳ, B.shape)   (ᵀ: last two axes) */
ad_tensor *ad_op_bmm_jvp(const ad_call *c, ad_tensor *const *t)
{
    /* lift [k, a.shape] to the output's rank so k never meets a batch axis */
    ad_tensor *r = t[0] ? ad_matmul(ad_op_lift(t[0], c->out_ndim), c->in[1]) : NULL;
    ad_tensor *q = t[1] ? ad_matmul(c->in[0], ad_op_lift(t[1], c->out_ndim)) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_bmm_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_matmul(g, ad_transpose(c->in[1], -1, -2)));
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_matmul(ad_transpose(c->in[0], -1, -2), g));
    return AD_OK;
}

/* torch.matmul: 1-d·1-d dot, 2-d·1-d mv, 1-d·2-d and 2-d·2-d mm; with more
 * axes a 1-d left operand becomes a row [1,k] and a 1-d right operand a
 * column [k,1] (removed again from the result) and the batch axes
 * broadcast. */
ad_tensor *ad_matmul(ad_tensor *a, ad_tensor *b)
{
    AD_ARG(a);
    AD_ARG(b);
    ad_ctx *ctx = a->ctx;
    const char *what = "matmul";
    if (a->ndim == 0 || b->ndim == 0)
        return fail_shapes(ctx, AD_ESHAPE, what, "both arguments need at least 1 dimension", a, b);
    if (a->ndim == 1 && b->ndim == 1) return dot_impl(what, a, b);
    if (a->ndim == 2 && b->ndim == 1) return mv_impl(what, a, b);
    if (a->ndim == 2 && b->ndim == 2) return mm_impl(what, a, b);
    /* check the contracted axis here so the error names the caller's shapes */
    int64_t ka = a->shape[a->ndim - 1], kb = b->shape[b->ndim == 1 ? 0 : b->ndim - 2];
    if (ka != kb) return fail_inner(ctx, what, a, b, ka, kb);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *a2 = a->ndim == 1 ? ad_unsqueeze(a, 0) : a;
    ad_tensor *b2 = b->ndim == 1 ? ad_unsqueeze(b, 1) : b;
    ad_tensor *y = (a2 && b2) ? (a2->ndim == 2 && b2->ndim == 2 ? mm_impl(what, a2, b2) : bmm_impl(what, a2, b2))
                              : NULL;
    if (b->ndim == 1) y = ad_squeeze(y, -1);
    if (a->ndim == 1) y = ad_squeeze(y, -2);
    return ad_scope_end(ctx, s, y);
}

/* ---- outer ------------------------------------------------------------------------------- */

/* Y = x yᵀ = x[:,None]·y[None,:]  (a broadcast product: grad_fn MulBackward0,
 * as in PyTorch) */
ad_tensor *ad_outer(ad_tensor *x, ad_tensor *y)
{
    AD_ARG(x);
    AD_ARG(y);
    ad_ctx *ctx = x->ctx;
    if (x->ndim != 1 || y->ndim != 1) return fail_shapes(ctx, AD_ESHAPE, "outer", "expected two 1-d tensors", x, y);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *r = ad_mul(ad_unsqueeze(x, 1), ad_unsqueeze(y, 0));
    return ad_scope_end(ctx, s, r);
}

/* ---- cross ------------------------------------------------------------------------------- */

typedef struct {
    int axis; /* counted from the end of the output (negative): survives a leading tangent axis */
} cross_attr;

typedef struct {
    int64_t so, sa, sb; /* strides along the length-3 axis */
} cross_ud;

static void k_cross(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    const cross_ud *u = ud;
    for (int64_t i = 0; i < n; i++) {
        double *o = p[0] + i * s[0];
        const double *x = p[1] + i * s[1], *w = p[2] + i * s[2];
        double a0 = x[0], a1 = x[u->sa], a2 = x[2 * u->sa];
        double b0 = w[0], b1 = w[u->sb], b2 = w[2 * u->sb];
        o[0] = a1 * b2 - a2 * b1;
        o[u->so] = a2 * b0 - a0 * b2;
        o[2 * u->so] = a0 * b1 - a1 * b0;
    }
}

/* y = a×b along one axis (a, b broadcast);   ẏ = ȧ×b + a×ḃ;
 * ā += sum_to(b×ȳ),  b̄ += sum_to(ȳ×a)   (from ȳ·(a×b) = a·(b×ȳ) = b·(ȳ×a)) */
ad_tensor *ad_cross(ad_tensor *a, ad_tensor *b, int axis)
{
    AD_ARG(a);
    AD_ARG(b);
    ad_ctx *ctx = a->ctx;
    int nd;
    int64_t shape[AD_MAX_DIMS];
    if (ad_ew_broadcast(ctx, "cross", a->ndim, a->shape, b->ndim, b->shape, &nd, shape) != AD_OK) return NULL;
    if (nd == 0) return fail_shapes(ctx, AD_ESHAPE, "cross", "expected tensors with an axis of length 3", a, b);
    int ax = ad_axis_index(ctx, "cross", axis, nd);
    if (ax < 0) return NULL;
    int ia = ax - (nd - a->ndim), ib = ax - (nd - b->ndim);
    int64_t la = ia >= 0 ? a->shape[ia] : 1, lb = ib >= 0 ? b->shape[ib] : 1;
    if (la != 3 || lb != 3) {
        char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
        return AD_FAIL(ctx, AD_ESHAPE, "cross: axis %d of shapes %s and %s has lengths %lld and %lld (both must be 3)",
                       axis, ad_fmt_shape(b1, sizeof b1, a->ndim, a->shape),
                       ad_fmt_shape(b2, sizeof b2, b->ndim, b->shape), (long long)la, (long long)lb);
    }
    ad_tensor *y = ad_new(ctx, nd, shape);
    if (!y) return NULL;
    /* iterate over everything but the length-3 axis; the kernel walks it */
    int64_t it_shape[AD_MAX_DIMS], st[3][AD_MAX_DIMS];
    ad_tensor *ops[3] = {y, a, b};
    for (int i = 0; i < 3; i++) {
        int off = nd - ops[i]->ndim;
        for (int d = 0; d < nd; d++) {
            int j = d - off;
            st[i][d] = (j < 0 || ops[i]->shape[j] == 1) ? 0 : ops[i]->stride[j];
        }
    }
    memcpy(it_shape, shape, (size_t)nd * sizeof *shape);
    it_shape[ax] = 1;
    cross_ud u = {st[0][ax], st[1][ax], st[2][ax]};
    double *base[3] = {y->data, a->data, b->data};
    const int64_t *sp[3] = {st[0], st[1], st[2]};
    ad_iter it;
    ad_iter_init_raw(&it, nd, it_shape, 3, base, sp);
    ad_iter_run(&it, k_cross, &u);
    cross_attr at = {ax - nd};
    ad_tensor *in[2] = {a, b};
    return ad_op_finish(AD_OP_cross, y, 2, in, &at, sizeof at);
}
ad_tensor *ad_op_cross_jvp(const ad_call *c, ad_tensor *const *t)
{
    int ax = ((const cross_attr *)c->attr)->axis;
    ad_tensor *r = t[0] ? ad_cross(ad_op_lift(t[0], c->out_ndim), c->in[1], ax) : NULL;
    ad_tensor *q = t[1] ? ad_cross(c->in[0], ad_op_lift(t[1], c->out_ndim), ax) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_cross_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    int ax = ((const cross_attr *)c->attr)->axis;
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_cross(c->in[1], g, ax));
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_cross(g, c->in[0], ax));
    return AD_OK;
}

/* ---- trace ------------------------------------------------------------------------------- */

/* y = Σᵢ Aᵢᵢ (i < min(m,n));   ẏ = tr Ȧ;   Ā += ȳ·I (m×n) */
ad_tensor *ad_trace(ad_tensor *A)
{
    AD_ARG(A);
    ad_ctx *ctx = A->ctx;
    if (A->ndim != 2) {
        char b1[AD_SHAPEBUF];
        return AD_FAIL(ctx, AD_ESHAPE, "trace: expected a 2-d matrix, got shape %s",
                       ad_fmt_shape(b1, sizeof b1, A->ndim, A->shape));
    }
    ad_tensor *y = ad_new(ctx, 0, NULL);
    if (!y) return NULL;
    int64_t n = A->shape[0] < A->shape[1] ? A->shape[0] : A->shape[1], step = A->stride[0] + A->stride[1];
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += A->data[i * step];
    y->data[0] = s;
    return ad_op_finish(AD_OP_trace, y, 1, &A, NULL, 0);
}
ad_tensor *ad_op_trace_jvp(const ad_call *c, ad_tensor *const *t)
{
    /* tr of each of the k tangents: [k, m·n] · vec(I) -> [k] */
    ad_shape s = ad_op_in_shape(c, 0);
    ad_tensor *flat = ad_reshape(t[0], AD_SHAPE(c->k, s.dim[0] * s.dim[1]));
    return ad_mv(flat, ad_reshape(ad_eye_nm(c->ctx, s.dim[0], s.dim[1]), AD_SHAPE(-1)));
}
int ad_op_trace_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    ad_shape s = ad_op_in_shape(c, 0);
    gin[0] = ad_mul(g, ad_eye_nm(c->ctx, s.dim[0], s.dim[1]));
    return AD_OK;
}
