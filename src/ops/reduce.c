/* src/ops/reduce.c — reductions over a set of axes (sum, mean, prod,
 * max/min, var/std, logsumexp), the normalisations built on them (softmax,
 * log_softmax) and the constant argmax/argmin.
 *
 * Every kernel walks the input once with ad_iter, the output (and any
 * output-shaped scratch buffer) having stride 0 along the reduced axes
 * (`so` below), exactly as ad_sum_to does in view.c.
 *
 * Numerics of sums (sum, mean, var, logsumexp, softmax):
 *   - along a run of the iterator that is itself reduced (output stride 0)
 *     the run is summed pairwise: blocks of 128 summed by 8 interleaved
 *     accumulators, blocks combined by recursive halving, so the error is
 *     O(log n · eps) rather than the O(n · eps) of a running sum;
 *   - when one output value gathers several runs (a reduced axis outside
 *     the innermost run, e.g. summing the rows of a matrix), the run sums
 *     are added with Neumaier's compensated summation (a per-output
 *     compensation buffer), whose error does not grow with the number of
 *     runs.  So every layout gets an error of O(log n · eps).
 * var and std are computed in three passes (the mean, its correction, then
 * the sum of squared deviations: var_into),
 * logsumexp and softmax are shifted by the maximum (a long contiguous
 * group of logsumexp by each chunk's, in one pass over x: lse_online).
 *
 * Derivative rules: every reduction y = R(x) here has ẏ = Σ_R w·ẋ and
 * x̄ = w·expand(ȳ) for a weight w of x's shape (the partial derivatives):
 * w = 1 (sum), 1/N (mean), Π_{j≠i} x_j (prod), the tie-split indicator of
 * the extreme (max/min), 2(x - mean)/(N - correction) (var),
 * (x - mean)/((N - correction)·y) (std, 0 where y = 0), exp(x - y)
 * (logsumexp).  The weights are built with the library's own ops, so the
 * rules are differentiable again (second order).
 */
#include <math.h>
#include <string.h>

#include "../iter.h"
#include "../threads.h"
#include "fuse.h"
#include "lse_simd.h"
#include "op.h"
#include "simd.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* What the tape keeps of a reduction. */
typedef struct {
    uint32_t mask;     /* reduced axes of the input (bit i: axis i) */
    int16_t keepdims;  /* reduced axes kept with length 1 */
    int16_t weights;   /* logsumexp: the record keeps its weights (lse_keeps): 1 exp(x - max), 2 per chunk (lse_online) */
    double correction; /* var: the divisor is max(N - correction, 0) */
} red_attr;

/* The layout of one reduction of x. */
typedef struct {
    uint32_t mask;
    bool keepdims;
    int64_t count;                 /* input elements per output value (N) */
    int64_t nout;                  /* output values */
    int out_ndim;
    int64_t out_shape[AD_MAX_DIMS];
    int64_t so[AD_MAX_DIMS];       /* output-shaped buffer strides over x's axes (0 where reduced) */
} red;

static void red_layout(red *r, const ad_tensor *x, uint32_t mask, bool keepdims)
{
    r->mask = mask;
    r->keepdims = keepdims;
    r->count = 1;
    r->nout = 1;
    r->out_ndim = 0;
    int64_t st = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        bool red_d = (mask >> d) & 1u;
        r->so[d] = red_d ? 0 : st;
        if (!red_d) st *= x->shape[d];
    }
    for (int d = 0; d < x->ndim; d++) {
        if ((mask >> d) & 1u) {
            r->count *= x->shape[d];
            if (keepdims) r->out_shape[r->out_ndim++] = 1;
        } else {
            r->nout *= x->shape[d];
            r->out_shape[r->out_ndim++] = x->shape[d];
        }
    }
}

static int red_init(red *r, const char *what, const ad_tensor *x, ad_axes axes, bool keepdims)
{
    uint32_t mask;
    int rc = ad_axes_mask(x->ctx, what, axes, x->ndim, &mask);
    if (rc != AD_OK) return rc;
    red_layout(r, x, mask, keepdims);
    return AD_OK;
}

/* The first reduced axis of length 0, or -1. */
static int empty_axis(const red *r, const ad_tensor *x)
{
    for (int d = 0; d < x->ndim; d++)
        if (((r->mask >> d) & 1u) && x->shape[d] == 0) return d;
    return -1;
}

/* Output-shaped scratch, accounted in the current category. */
static double *scratch(ad_ctx *ctx, int64_t n)
{
    return ad_mem_alloc(ctx, (size_t)(n > 0 ? n : 1) * sizeof(double), ctx->cat);
}
static void scratch_free(ad_ctx *ctx, double *p, int64_t n)
{
    ad_mem_free(ctx, p, (size_t)(n > 0 ? n : 1) * sizeof(double), ctx->cat);
}

/* ---- accurate sums ---------------------------------------------------------- */

/* What is summed: v itself, v - a, (v - a)², or exp(v - a), with a taken
 * from an output-shaped auxiliary buffer (the mean or the max of v's group). */
typedef enum { XF_ID, XF_DEV, XF_SQDEV, XF_EXP } xform;

static inline double xf_id(double v, double a)
{
    (void)a;
    return v;
}
static inline double xf_dev(double v, double a) { return v - a; }
static inline double xf_sqdev(double v, double a)
{
    double d = v - a;
    return d * d;
}

#define PW_BLOCK 128

/* Pairwise sum of F(x[i·s], a) for i < n. */
#define DEFINE_PAIRWISE(name, F)                                                              \
    static double name(const double *x, int64_t n, int64_t s, double a)                       \
    {                                                                                         \
        if (n <= PW_BLOCK) {                                                                  \
            double r[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                           \
            int64_t i = 0;                                                                    \
            if (s == 1) {                                                                     \
                for (; i + 8 <= n; i += 8)                                                    \
                    for (int j = 0; j < 8; j++) r[j] += F(x[i + j], a);                       \
            } else {                                                                          \
                for (; i + 8 <= n; i += 8)                                                    \
                    for (int j = 0; j < 8; j++) r[j] += F(x[(i + j) * s], a);                 \
            }                                                                                 \
            double t = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));     \
            for (; i < n; i++) t += F(x[i * s], a);                                           \
            return t;                                                                         \
        }                                                                                     \
        int64_t h = ad_pw_half(n);                                                            \
        return name(x, h, s, a) + name(x + h * s, n - h, s, a);                               \
    }

DEFINE_PAIRWISE(pw_id, xf_id)
DEFINE_PAIRWISE(pw_dev, xf_dev)
DEFINE_PAIRWISE(pw_sqdev, xf_sqdev)

/* Pairwise sum of exp(x[i·s] - a): as DEFINE_PAIRWISE, with each block's
 * exponentials computed by the SIMD kernels (simd.h) into a buffer first. */
static double pw_exp(const double *x, int64_t n, int64_t s, double a)
{
    if (n > PW_BLOCK) {
        int64_t h = ad_pw_half(n);
        return pw_exp(x, h, s, a) + pw_exp(x + h * s, n - h, s, a);
    }
    double e[PW_BLOCK];
    if (s == 1 && ad_lse_avx512_ok()) return ad_lse_avx512_expsum(x, n, a, e); /* the same bits */
    if (s == 1) /* the common case, vectorised (same values as the loop below) */
        for (int64_t i = 0; i < n; i++) e[i] = x[i] - a;
    else
        for (int64_t i = 0; i < n; i++) e[i] = x[i * s] - a;
    ad_simd_run(AD_SIMD_EXP, n, e, 1, e, 1);
    return pw_id(e, n, 1, 0);
}

/* pw_exp(x, n, s, a) that also leaves each exponential in w[i] (w
 * contiguous): the same blocks, the same SIMD calls and the same pairwise
 * tree, so the same sum to the bit (logsumexp's kept weights, lse_keep). */
static double pw_expw(const double *x, int64_t n, int64_t s, double a, double *w)
{
    if (n > PW_BLOCK) {
        int64_t h = ad_pw_half(n);
        return pw_expw(x, h, s, a, w) + pw_expw(x + h * s, n - h, s, a, w + h);
    }
    if (s == 1 && ad_lse_avx512_ok()) return ad_lse_avx512_expsum(x, n, a, w); /* the same bits */
    if (s == 1)
        for (int64_t i = 0; i < n; i++) w[i] = x[i] - a;
    else
        for (int64_t i = 0; i < n; i++) w[i] = x[i * s] - a;
    ad_simd_run(AD_SIMD_EXP, n, w, 1, w, 1);
    return pw_id(w, n, 1, 0);
}

/* ---- one large sum on several threads, bit-identical to one thread's ---------- */

/* The pairwise recursion above splits [0, n) the same way whoever runs
 * it, so its top subtrees can be computed on different threads and added
 * back in the tree's order: the same additions of the same values, hence
 * the same bits as the serial sum, for any thread count (threads.h). */
typedef double (*pw_fn)(const double *x, int64_t n, int64_t s, double a);
#define PW_PAR_DEPTH_MAX 5 /* up to 32 subtrees */

typedef struct {
    pw_fn pw;
    const double *x;
    int64_t s;
    double a;
    int64_t off[1 << PW_PAR_DEPTH_MAX], len[1 << PW_PAR_DEPTH_MAX];
    double val[1 << PW_PAR_DEPTH_MAX];
} pw_job;

/* The subtrees at `depth` levels below [off, off+len), left to right;
 * recursion is bounded by PW_PAR_DEPTH_MAX. */
static void pw_split(pw_job *j, int *nl, int64_t off, int64_t len, int depth)
{
    if (depth == 0 || len <= PW_BLOCK) {
        j->off[*nl] = off;
        j->len[*nl] = len;
        (*nl)++;
        return;
    }
    int64_t h = ad_pw_half(len);
    pw_split(j, nl, off, h, depth - 1);
    pw_split(j, nl, off + h, len - h, depth - 1);
}

/* The subtrees' values added back as the recursion adds them. */
static double pw_combine(const pw_job *j, int *k, int64_t len, int depth)
{
    if (depth == 0 || len <= PW_BLOCK) return j->val[(*k)++];
    int64_t h = ad_pw_half(len);
    double l = pw_combine(j, k, h, depth - 1);
    return l + pw_combine(j, k, len - h, depth - 1);
}

static void pw_part(int64_t lo, int64_t hi, void *ud)
{
    pw_job *j = ud;
    for (int64_t k = lo; k < hi; k++) j->val[k] = j->pw(j->x + j->off[k] * j->s, j->len[k], j->s, j->a);
}

/* pw(x, n, s, a) with its top subtrees on `parts` threads (two subtrees
 * per thread, for balance). */
static double pw_parallel(pw_fn pw, const double *x, int64_t n, int64_t s, double a, int parts)
{
    pw_job j = {.pw = pw, .x = x, .s = s, .a = a};
    int depth = 1;
    while ((1 << depth) < 2 * parts && depth < PW_PAR_DEPTH_MAX) depth++;
    int nl = 0, k = 0;
    pw_split(&j, &nl, 0, n, depth);
    ad_par_chunks(nl, parts < nl ? parts : nl, pw_part, &j);
    return pw_combine(&j, &k, n, depth);
}

/* *o += v with Neumaier's compensation accumulated in *c. */
static inline void nadd(double *o, double *c, double v)
{
    double s = *o, t = s + v;
    *c += fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s;
    *o = t;
}

/* Operands: 0 out, 1 compensation, 2 x, 3 aux (1 and 3 laid out like out). */
#define DEFINE_SUM_RUN(name, PW, F)                                                           \
    static void name(int64_t n, double *const *p, const int64_t *s, void *ud)                 \
    {                                                                                         \
        const bool comp = *(const bool *)ud;                                                  \
        double *o = p[0], *c = p[1];                                                          \
        const double *x = p[2], *a = p[3];                                                    \
        if (s[0] == 0) {                                                                      \
            double v = PW(x, n, s[2], *a);                                                    \
            if (comp) nadd(o, c, v);                                                          \
            else *o += v;                                                                     \
        } else if (comp) {                                                                    \
            for (int64_t i = 0; i < n; i++)                                                   \
                nadd(o + i * s[0], c + i * s[1], F(x[i * s[2]], a[i * s[3]]));                \
        } else {                                                                              \
            for (int64_t i = 0; i < n; i++) o[i * s[0]] += F(x[i * s[2]], a[i * s[3]]);       \
        }                                                                                     \
    }

DEFINE_SUM_RUN(k_sum_id_any, pw_id, xf_id)
DEFINE_SUM_RUN(k_sum_dev, pw_dev, xf_dev)

/* nadd over a contiguous run, o[i] += x[i] (i < n), two lanes at a time:
 * both of nadd's corrections are computed and one is selected by a mask,
 * so its branch (taken at random on data of mixed magnitudes: a
 * misprediction every other element, 1.4-1.7 ns an element) is gone.
 * The compiler does not if-convert nadd itself (an ordered comparison may
 * trap), hence the intrinsics.  Each element sees nadd's operations, so
 * the bits are the same.  This is the row sum of sum_to undoing a
 * broadcast over leading axes (a bias's gradient: [B, H] -> [H]). */
static void nadd_run(int64_t n, double *o, double *c, const double *x)
{
    int64_t i = 0;
#if defined(__SSE2__)
    const __m128d abs = _mm_castsi128_pd(_mm_set1_epi64x(INT64_MAX));
    for (; i + 2 <= n; i += 2) {
        __m128d s = _mm_loadu_pd(o + i), v = _mm_loadu_pd(x + i), t = _mm_add_pd(s, v);
        __m128d big = _mm_add_pd(_mm_sub_pd(s, t), v), small = _mm_add_pd(_mm_sub_pd(v, t), s);
        __m128d m = _mm_cmpge_pd(_mm_and_pd(s, abs), _mm_and_pd(v, abs)); /* NaN: false, as >= */
        __m128d corr = _mm_or_pd(_mm_and_pd(m, big), _mm_andnot_pd(m, small));
        _mm_storeu_pd(c + i, _mm_add_pd(_mm_loadu_pd(c + i), corr));
        _mm_storeu_pd(o + i, t);
    }
#endif
    for (; i < n; i++) nadd(o + i, c + i, x[i]);
}

/* k_sum for v itself: contiguous compensated runs by nadd_run. */
static void k_sum_id(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    if (*(const bool *)ud && s[0] == 1 && s[1] == 1 && s[2] == 1) nadd_run(n, p[0], p[1], p[2]);
    else k_sum_id_any(n, p, s, ud);
}
DEFINE_SUM_RUN(k_sum_sqdev, pw_sqdev, xf_sqdev)

/* DEFINE_SUM_RUN's k_sum for exp(x - a), the exponentials of a run that is
 * not reduced computed by the SIMD kernels in blocks. */
static void k_sum_exp(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    const bool comp = *(const bool *)ud;
    double *o = p[0], *c = p[1];
    const double *x = p[2], *a = p[3];
    if (s[0] == 0) {
        double v = pw_exp(x, n, s[2], *a);
        if (comp) nadd(o, c, v);
        else *o += v;
        return;
    }
    double e[PW_BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += PW_BLOCK) {
        int64_t m = n - i0 < PW_BLOCK ? n - i0 : PW_BLOCK;
        for (int64_t i = 0; i < m; i++) e[i] = x[(i0 + i) * s[2]] - a[(i0 + i) * s[3]];
        ad_simd_run(AD_SIMD_EXP, m, e, 1, e, 1);
        for (int64_t i = 0; i < m; i++) {
            if (comp) nadd(o + (i0 + i) * s[0], c + (i0 + i) * s[1], e[i]);
            else o[(i0 + i) * s[0]] += e[i];
        }
    }
}

/* out[j] = Σ over group j of F(x, aux[j]), for data xd with strides xst
 * over x's shape.  out is output-shaped (r->nout values). */
static int sum_into(const red *r, const ad_tensor *x, const double *xd, const int64_t *xst, double *out,
                    const double *aux, xform f)
{
    ad_ctx *ctx = x->ctx;
    memset(out, 0, (size_t)r->nout * sizeof *out);
    double *base[4] = {out, out, (double *)xd, aux ? (double *)aux : out};
    const int64_t *st[4] = {r->so, r->so, xst, r->so};
    ad_iter it;
    ad_iter_init_raw(&it, x->ndim, x->shape, 4, base, st);
    /* one output value gathers several runs: compensate across them */
    bool comp = false;
    for (int d = 0; d + 1 < it.ndim; d++)
        if (it.stride[0][d] == 0) comp = true;
    double *c = NULL;
    if (comp) {
        c = scratch(ctx, r->nout);
        if (!c) return AD_ENOMEM;
        memset(c, 0, (size_t)r->nout * sizeof *c);
        it.base[1] = c;
    }
    static const ad_iter_fn kernel[] = {[XF_ID] = k_sum_id, [XF_DEV] = k_sum_dev, [XF_SQDEV] = k_sum_sqdev,
                                        [XF_EXP] = k_sum_exp};
    static const pw_fn pairwise[] = {[XF_ID] = pw_id, [XF_DEV] = pw_dev, [XF_SQDEV] = pw_sqdev, [XF_EXP] = pw_exp};
    int parts = it.ndim == 1 && it.stride[0][0] == 0 ? ad_par_threads(it.numel) : 1;
    if (parts > 1) /* one output from one long run: what k_sum_* does, on threads */
        out[0] += pw_parallel(pairwise[f], it.base[2], it.numel, it.stride[2][0], *it.base[3], parts);
    else
        ad_iter_run(&it, kernel[f], &comp);
    if (c) {
        /* an infinite sum makes the compensation NaN: keep the infinity */
        for (int64_t j = 0; j < r->nout; j++)
            if (isfinite(out[j])) out[j] += c[j];
        scratch_free(ctx, c, r->nout);
    }
    return AD_OK;
}

/* ---- folds: product, max, min ------------------------------------------------- */

typedef enum { FOLD_PROD, FOLD_MAX, FOLD_MIN } fold_kind;

/* a = a ⊕ v.  NaN propagates through max and min: it counts as the extreme
 * (PyTorch), and once a is NaN no comparison replaces it. */
#define FOLD_PROD_STEP(a, v) ((a) *= (v))
#define FOLD_MAX_STEP(a, v) ((v) > (a) || (v) != (v) ? (void)((a) = (v)) : (void)0)
#define FOLD_MIN_STEP(a, v) ((v) < (a) || (v) != (v) ? (void)((a) = (v)) : (void)0)

/* Operands: 0 out, 1 x.  A reduced run is folded in 8 independent lanes
 * (no loop-carried dependency, so it pipelines and vectorises), which are
 * then folded into the output; max/min do not depend on the order. */
#define DEFINE_FOLD_RUN(name, STEP, IDENTITY)                                                 \
    static void name(int64_t n, double *const *p, const int64_t *s, void *ud)                 \
    {                                                                                         \
        (void)ud;                                                                             \
        double *o = p[0];                                                                     \
        const double *x = p[1];                                                               \
        if (s[0] == 0) {                                                                      \
            double l[8], a = *o;                                                              \
            for (int j = 0; j < 8; j++) l[j] = (IDENTITY);                                    \
            int64_t i = 0;                                                                    \
            for (; i + 8 <= n; i += 8)                                                        \
                for (int j = 0; j < 8; j++) STEP(l[j], x[(i + j) * s[1]]);                    \
            for (; i < n; i++) STEP(l[0], x[i * s[1]]);                                       \
            for (int j = 0; j < 8; j++) STEP(a, l[j]);                                        \
            *o = a;                                                                           \
        } else {                                                                              \
            for (int64_t i = 0; i < n; i++) STEP(o[i * s[0]], x[i * s[1]]);                   \
        }                                                                                     \
    }

DEFINE_FOLD_RUN(k_fold_prod, FOLD_PROD_STEP, 1.0)
DEFINE_FOLD_RUN(k_fold_max_any, FOLD_MAX_STEP, -INFINITY)
DEFINE_FOLD_RUN(k_fold_min_any, FOLD_MIN_STEP, INFINITY)

#if defined(__SSE2__)
/* The extreme of a contiguous run in the same 8 lanes as DEFINE_FOLD_RUN
 * (lane j takes x[i] with i mod 8 = j, lanes folded 0..7), so ties of ±0
 * resolve alike; maxpd/minpd compute `v > l ? v : l` (`v < l ? v : l`)
 * lane by lane, and NaNs are tracked on the side: the compiler does not
 * vectorise the scalar step's `|| v != v`, and this runs at ~0.3 ns an
 * element instead of ~1.4 (logsumexp and softmax start with this pass). */
/* The eight lanes' extremes of x[0..n8), n8 a multiple of 8, into lanes[8]
 * (one chain per pair of lanes, as _mm_max_pd/_mm_min_pd fold them);
 * returns whether x[0..n8) holds a NaN. */
static bool sse2_lanes(const double *x, int64_t n8, bool max, double *lanes)
{
    __m128d l[4], u = _mm_setzero_pd();
    for (int j = 0; j < 4; j++) l[j] = _mm_set1_pd(max ? -INFINITY : INFINITY);
    for (int64_t i = 0; i < n8; i += 8)
        for (int j = 0; j < 4; j++) {
            __m128d v = _mm_loadu_pd(x + i + 2 * j);
            l[j] = max ? _mm_max_pd(v, l[j]) : _mm_min_pd(v, l[j]);
            u = _mm_or_pd(u, _mm_cmpunord_pd(v, v));
        }
    for (int j = 0; j < 4; j++) _mm_storeu_pd(lanes + 2 * j, l[j]);
    return _mm_movemask_pd(u) != 0;
}

static double extreme_run(const double *x, int64_t n, bool max)
{
    int64_t i = n - n % 8;
    double a = max ? -INFINITY : INFINITY, lanes[8];
    /* the max with AVX-512F where there is: the same lanes (lse_simd.h) */
    bool nan = max && ad_lse_avx512_ok() ? ad_lse_avx512_max8(x, i, lanes) : sse2_lanes(x, i, max, lanes);
    if (nan) { /* the first NaN, as the scalar fold keeps it */
        for (int64_t k = 0; k < i; k++)
            if (x[k] != x[k]) return x[k];
    }
    for (int j = 0; j < 8; j++) {
        if (max) FOLD_MAX_STEP(a, lanes[j]);
        else FOLD_MIN_STEP(a, lanes[j]);
    }
    for (; i < n; i++) {
        if (max) FOLD_MAX_STEP(a, x[i]);
        else FOLD_MIN_STEP(a, x[i]);
    }
    return a;
}

/* DEFINE_FOLD_RUN's max/min with contiguous reduced runs on extreme_run. */
#define DEFINE_EXTREME_RUN(name, any, STEP, max)                                              \
    static void name(int64_t n, double *const *p, const int64_t *s, void *ud)                 \
    {                                                                                         \
        if (s[0] != 0 || s[1] != 1) {                                                         \
            any(n, p, s, ud);                                                                 \
            return;                                                                           \
        }                                                                                     \
        double v = extreme_run(p[1], n, max); /* once: STEP reads v three times */            \
        STEP(p[0][0], v);                                                                     \
    }
DEFINE_EXTREME_RUN(k_fold_max, k_fold_max_any, FOLD_MAX_STEP, true)
DEFINE_EXTREME_RUN(k_fold_min, k_fold_min_any, FOLD_MIN_STEP, false)
#else
#define k_fold_max k_fold_max_any
#define k_fold_min k_fold_min_any
#endif

static void fold_into(const red *r, const ad_tensor *x, double *out, fold_kind k)
{
    double init = k == FOLD_PROD ? 1.0 : k == FOLD_MAX ? -INFINITY : INFINITY;
    for (int64_t j = 0; j < r->nout; j++) out[j] = init;
    double *base[2] = {out, x->data};
    const int64_t *st[2] = {r->so, x->stride};
    ad_iter it;
    ad_iter_init_raw(&it, x->ndim, x->shape, 2, base, st);
    ad_iter_run(&it, k == FOLD_PROD ? k_fold_prod : k == FOLD_MAX ? k_fold_max : k_fold_min, NULL);
}

/* Σ(x - m)²/max(N - correction, 0) per group into o, in three passes:
 * the mean m0, the refined mean m = m0 + Σ(x - m0)/N (the corrected two-pass
 * algorithm: m0 carries the rounding of Σx, the correction removes it), then
 * the squared deviations — no cancellation, and a constant group has m equal
 * to its value, so its variance is exactly 0 (0.1 three times: Σx/3 is
 * 0.1 + 1.4e-17, which alone would give a variance of 1e-34).  aux: an
 * output-shaped scratch for m. */
static int var_into(const red *r, const ad_tensor *x, double *o, double *aux, double correction)
{
    int rc = sum_into(r, x, x->data, x->stride, aux, NULL, XF_ID);
    for (int64_t j = 0; j < r->nout; j++) aux[j] /= (double)r->count;
    if (rc == AD_OK) rc = sum_into(r, x, x->data, x->stride, o, aux, XF_DEV);
    for (int64_t j = 0; j < r->nout; j++)
        if (isfinite(o[j])) aux[j] += o[j] / (double)r->count;
    if (rc == AD_OK) rc = sum_into(r, x, x->data, x->stride, o, aux, XF_SQDEV);
    double div = (double)r->count - correction;
    if (div < 0) div = 0; /* as PyTorch: N <= correction gives inf or NaN */
    for (int64_t j = 0; j < r->nout; j++) o[j] /= div;
    return rc;
}

/* ---- logsumexp in one pass over x ----------------------------------------------------
 * A long group is cut into chunks of LSE_CHUNK elements (16 KB).  Each
 * chunk's max a_c is taken, then Σ exp(x - a_c) over the same chunk, now in
 * L1, while the next chunk is fetched (lse_leaves): x streams from memory
 * once, under the exponentials, instead of once for a max pass of its own
 * and again under the exponentials (at n = 1e6, 8 MB, that max pass was
 * ≈ 0.25 ms of a 1.6 ms forward).  The chunks' pairs (a_c, S_c) are joined by
 * a pairwise tree over the chunk index, (a, S) ⊕ (b, T) = (a, S + T·e^(b-a))
 * for a >= b: one scalar exponential per chunk, and the root is (M, Σ
 * exp(x - M)) with M the group's max.  Each chunk's part is computed the
 * same way whoever computes it and the tree is walked on one thread, so the
 * bits do not depend on the thread count (threads.h); the kernels are
 * extreme_run and pw_exp, whose AVX-512 and portable forms agree to the
 * bit.  The value differs from the two-pass form's in the last bits only:
 * each join rounds a product and an exponential (~1.5 eps of the smaller
 * side's sum), and a path from a chunk to the root crosses at most
 * log2(chunks) joins, against the sum's own O(log n · eps).
 *
 * Taken when every group is one contiguous run longer than a chunk (x
 * contiguous, the reduced axes after the kept ones): a group of at most
 * LSE_CHUNK elements is one chunk, where the two forms are the same
 * operations, so short groups keep their bits.  Kept weights (reverse mode)
 * are then w = exp(x - a_c) with each chunk's shift a_c kept beside them;
 * the VJP's one pass scales chunk c by (ȳ/S)·exp(a_c - M) (lse_vjp_kept). */
#define LSE_CHUNK 2048

/* Whether logsumexp of x over r's groups takes the one-pass form. */
static bool lse_online(const red *r, const ad_tensor *x)
{
    if (!(x->flags & AD_T_CONTIG) || r->count <= LSE_CHUNK) return false;
    bool seen_reduced = false; /* no kept axis (of length > 1) after a reduced one */
    for (int d = 0; d < x->ndim; d++) {
        if (x->shape[d] == 1) continue;
        if ((r->mask >> d) & 1u) seen_reduced = true;
        else if (seen_reduced) return false;
    }
    return true;
}

/* Chunks of a group of `count` elements. */
static int64_t lse_nchunks(int64_t count) { return (count + LSE_CHUNK - 1) / LSE_CHUNK; }

/* The max of a contiguous run (a NaN if it holds one): extreme_run where
 * there is SSE2. */
static double lse_run_max(const double *x, int64_t n)
{
#if defined(__SSE2__)
    return extreme_run(x, n, true);
#else
    double m = -INFINITY;
    for (int64_t i = 0; i < n; i++) FOLD_MAX_STEP(m, x[i]);
    return m;
#endif
}

/* Chunk k = group·nch + c of groups of `count` elements: its length, and
 * its offset from the first group's start in *off. */
static int64_t lse_chunk_at(int64_t count, int64_t nch, int64_t k, int64_t *off)
{
    int64_t c = k % nch;
    *off = (k / nch) * count + c * LSE_CHUNK;
    return count - c * LSE_CHUNK < LSE_CHUNK ? count - c * LSE_CHUNK : LSE_CHUNK;
}

typedef struct {
    const double *x;
    double *w;       /* exp(x - a_c), row-major like x; NULL when not kept */
    double *a, *s;   /* per chunk k = group·nch + c: its max a_c and Σ exp(x - a_c) */
    int64_t count, nch, total; /* elements a group, chunks a group, elements in all */
} lse_job;

/* Lines to fetch while a chunk's exponentials are computed: n elements at p
 * (p NULL, n <= 0: none). */
typedef struct {
    const double *p;
    int64_t n;
} lse_ahead;

/* pw_exp(x, n, 1, a) (pw_expw's with w), its leaves the same and added in
 * the same tree, fetching the elements of `ahead` a leaf's worth at a time:
 * the next chunk's max then reads L1, and the memory it comes from streams
 * while the exponentials (the pass's bound, ~1.1 ns an element) compute,
 * instead of stalling the max pass (without this, one pass was as slow as
 * two: the second read of the two-pass form was hidden under exp). */
static double lse_leaves(const double *x, int64_t n, double a, double *w, lse_ahead ahead)
{
    if (n > PW_BLOCK) {
        int64_t h = ad_pw_half(n);
        lse_ahead right = {ahead.n > h ? ahead.p + h : NULL, ahead.n - h};
        ahead.n = ahead.n < h ? ahead.n : h;
        double l = lse_leaves(x, h, a, w, ahead);
        return l + lse_leaves(x + h, n - h, a, w ? w + h : NULL, right);
    }
    for (int64_t i = 0; i < ahead.n && i < n; i += 8) __builtin_prefetch(ahead.p + i); /* a line of 8 */
    return w ? pw_expw(x, n, 1, a, w) : pw_exp(x, n, 1, a);
}

/* Chunks [lo, hi) of the job: a_c and S_c (and w).  A chunk whose max is
 * not finite has S_c = 0 and w = 0: at -inf it adds nothing (its e^(a_c - M)
 * is 0), at +inf or NaN the group's value is that max (lse_group_value). */
static void lse_chunk_parts(int64_t lo, int64_t hi, void *ud)
{
    const lse_job *j = ud;
    for (int64_t k = lo; k < hi; k++) {
        int64_t off, len = lse_chunk_at(j->count, j->nch, k, &off);
        const double *x = j->x + off;
        double m = lse_run_max(x, len);
        j->a[k] = m;
        if (!isfinite(m)) {
            j->s[k] = 0;
            if (j->w) memset(j->w + off, 0, (size_t)len * sizeof(double));
        } else {
            int64_t next = k + 1 < hi ? j->total - off - len : 0; /* x after this chunk */
            lse_ahead ahead = {next > 0 ? x + len : NULL, next < LSE_CHUNK ? next : LSE_CHUNK};
            j->s[k] = lse_leaves(x, len, m, j->w ? j->w + off : NULL, ahead);
        }
    }
}

typedef struct {
    double a, s; /* Σ exp(x - a) over a set of chunks, a their max */
} lse_part;

/* (a, S) ⊕ (b, T): the smaller shift's sum rescaled (e^(-inf) = 0 takes an
 * empty side; equal shifts, -inf included, add as they are). */
static lse_part lse_join(lse_part l, lse_part r)
{
    if (l.a == r.a) return (lse_part){l.a, l.s + r.s};
    if (l.a > r.a) return (lse_part){l.a, l.s + r.s * exp(r.a - l.a)};
    return (lse_part){r.a, l.s * exp(l.a - r.a) + r.s};
}

/* The chunks [lo, hi) joined pairwise (halves of the index range). */
static lse_part lse_tree(const double *a, const double *s, int64_t lo, int64_t hi)
{
    if (hi - lo == 1) return (lse_part){a[lo], s[lo]};
    int64_t mid = lo + (hi - lo) / 2;
    return lse_join(lse_tree(a, s, lo, mid), lse_tree(a, s, mid, hi));
}

/* One group's value from its chunks (x: the group's data), as the two-pass
 * form decides the special cases: a NaN anywhere gives a NaN (the first),
 * else +inf gives +inf and a group of -inf gives -inf.  *sum: Σ exp(x - M). */
static double lse_group_value(const double *x, int64_t count, const double *a, const double *s, int64_t nch,
                              double *sum)
{
    double top = -INFINITY;
    for (int64_t c = 0; c < nch; c++) FOLD_MAX_STEP(top, a[c]);
    *sum = 0;
    if (top != top)
        for (int64_t i = 0; i < count; i++)
            if (x[i] != x[i]) return x[i];
    if (!isfinite(top)) return top;
    lse_part p = lse_tree(a, s, 0, nch);
    *sum = p.s;
    return p.a + log(p.s);
}

/* y[j] for every group in one pass over x (lse_online's layout); kept
 * weights: w and the chunk shifts a (r->nout·nch values) given, and each
 * group's Σ exp(x - M) into s; else all three NULL. */
static int lse_online_value(const red *r, const ad_tensor *x, double *y, double *s, double *w, double *a)
{
    ad_ctx *ctx = x->ctx;
    int64_t nch = lse_nchunks(r->count), items = r->nout * nch;
    double *ca = a ? NULL : scratch(ctx, items), *cs = scratch(ctx, items);
    lse_job j = {.x = x->data, .w = w, .a = a ? a : ca, .s = cs, .count = r->count, .nch = nch,
               .total = x->numel};
    if (!cs || !j.a) {
        if (ca) scratch_free(ctx, ca, items);
        if (cs) scratch_free(ctx, cs, items);
        return AD_ENOMEM;
    }
    int parts = ad_par_threads(x->numel);
    ad_par_chunks(items, parts < items ? parts : (int)items, lse_chunk_parts, &j);
    for (int64_t g = 0; g < r->nout; g++) {
        double sum;
        y[g] = lse_group_value(x->data + g * r->count, r->count, j.a + g * nch, cs + g * nch, nch, &sum);
        if (s) s[g] = sum;
    }
    if (ca) scratch_free(ctx, ca, items);
    scratch_free(ctx, cs, items);
    return AD_OK;
}

/* ---- the value of every reduction ----------------------------------------------- */

static ad_tensor *reduce_value(int opid, const char *what, ad_tensor *x, const red *r, double correction)
{
    ad_ctx *ctx = x->ctx;
    if (opid == AD_OP_amax || opid == AD_OP_amin) {
        int e = empty_axis(r, x);
        if (e >= 0) {
            char b[AD_SHAPEBUF];
            return AD_FAIL(ctx, AD_ESHAPE,
                           "%s: cannot reduce over the empty axis %d of a tensor of shape %s (%s has no "
                           "identity)",
                           what, e, ad_fmt_shape(b, sizeof b, x->ndim, x->shape), what);
        }
    }
    ad_tensor *y = ad_new(ctx, r->out_ndim, r->out_shape);
    if (!y) return NULL;
    double *o = y->data, *aux = NULL;
    int rc = AD_OK;
    switch (opid) {
    case AD_OP_sum:
        rc = sum_into(r, x, x->data, x->stride, o, NULL, XF_ID);
        break;
    case AD_OP_mean:
        rc = sum_into(r, x, x->data, x->stride, o, NULL, XF_ID);
        for (int64_t j = 0; j < r->nout; j++) o[j] /= (double)r->count; /* N = 0: NaN */
        break;
    case AD_OP_prod:
        fold_into(r, x, o, FOLD_PROD);
        break;
    case AD_OP_amax:
    case AD_OP_amin:
        fold_into(r, x, o, opid == AD_OP_amax ? FOLD_MAX : FOLD_MIN);
        break;
    case AD_OP_var:
    case AD_OP_std:
        if (!(aux = scratch(ctx, r->nout))) {
            rc = AD_ENOMEM;
            break;
        }
        rc = var_into(r, x, o, aux, correction);
        if (opid == AD_OP_std)
            for (int64_t j = 0; j < r->nout; j++) o[j] = sqrt(o[j]);
        break;
    case AD_OP_logsumexp: {
        /* m + log Σ exp(x - m) with m the max; m = ±inf or NaN is the answer */
        if (lse_online(r, x)) { /* one pass: the same value in the last bits */
            rc = lse_online_value(r, x, o, NULL, NULL, NULL);
            break;
        }
        if (!(aux = scratch(ctx, r->nout))) {
            rc = AD_ENOMEM;
            break;
        }
        fold_into(r, x, aux, FOLD_MAX);
        rc = sum_into(r, x, x->data, x->stride, o, aux, XF_EXP);
        for (int64_t j = 0; j < r->nout; j++) o[j] = isfinite(aux[j]) ? aux[j] + log(o[j]) : aux[j];
        break;
    }
    default:
        break;
    }
    if (aux) scratch_free(ctx, aux, r->nout);
    if (rc != AD_OK) {
        ad_tensor_free(y);
        return NULL;
    }
    return y;
}

static ad_tensor *reduce_op(int opid, const char *what, ad_tensor *x, ad_axes axes, bool keepdims, double correction)
{
    AD_ARG(x);
    red r;
    if (red_init(&r, what, x, axes, keepdims) != AD_OK) return NULL;
    ad_tensor *y = reduce_value(opid, what, x, &r, correction);
    red_attr at;
    memset(&at, 0, sizeof at);
    at.mask = r.mask;
    at.keepdims = keepdims;
    at.correction = correction;
    return ad_op_finish(opid, y, 1, &x, &at, sizeof at);
}

/* ---- helpers for the rules ------------------------------------------------------ */

/* The axes of a mask, shifted by `shift` (1: the same axes of a tangent). */
static ad_axes mask_axes(uint32_t mask, int shift)
{
    ad_axes a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < AD_MAX_DIMS; d++)
        if ((mask >> d) & 1u) a.axis[a.n++] = d + shift;
    return a;
}

/* x's shape with the reduced axes set to 1. */
static ad_shape keep_shape(const ad_call *c)
{
    const red_attr *a = c->attr;
    ad_shape s = ad_op_in_shape(c, 0);
    for (int d = 0; d < s.ndim; d++)
        if ((a->mask >> d) & 1u) s.dim[d] = 1;
    return s;
}

/* N: input elements per output value. */
static int64_t group_count(const ad_call *c)
{
    const red_attr *a = c->attr;
    ad_shape s = ad_op_in_shape(c, 0);
    int64_t n = 1;
    for (int d = 0; d < s.ndim; d++)
        if ((a->mask >> d) & 1u) n *= s.dim[d];
    return n;
}

/* An output-shaped tensor (the output or the adjoint) with the reduced axes
 * back as length 1, so that it broadcasts against x. */
static ad_tensor *kept(const ad_call *c, ad_tensor *t) { return ad_reshape(t, keep_shape(c)); }

/* expand(ȳ reshaped with keepdims, x.shape) */
static ad_tensor *unreduce(const ad_call *c, ad_tensor *g)
{
    return ad_expand(kept(c, g), ad_op_in_shape(c, 0));
}

/* Σ_R w·ẋ over the reduced axes of the tangent (shifted past the batch axis). */
static ad_tensor *weighted_jvp(const ad_call *c, ad_tensor *t, ad_tensor *w)
{
    const red_attr *a = c->attr;
    if (!t) return NULL;
    return ad_sum(ad_mul(t, w), mask_axes(a->mask, 1), a->keepdims);
}
static int weighted_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx, ad_tensor *w)
{
    gx[0] = ad_mul(unreduce(c, g), w);
    return gx[0] ? AD_OK : c->ctx->err;
}

/* ---- sum, mean ---------------------------------------------------------------------- */

/* y = Σ_R x;   ẏ = Σ_R ẋ;   x̄ += expand(ȳ) */
ad_tensor *ad_sum(ad_tensor *x, ad_axes axes, bool keepdims)
{
    return reduce_op(AD_OP_sum, "sum", x, axes, keepdims, 0);
}
ad_tensor *ad_sum_all(ad_tensor *x) { return ad_sum(x, AD_ALL, false); }
ad_tensor *ad_op_sum_jvp(const ad_call *c, ad_tensor *const *t)
{
    const red_attr *a = c->attr;
    return ad_sum(t[0], mask_axes(a->mask, 1), a->keepdims);
}
int ad_op_sum_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = unreduce(c, g);
    return gx[0] ? AD_OK : c->ctx->err;
}

/* y = Σ_R x / N;   ẏ = Σ_R ẋ / N;   x̄ += expand(ȳ) / N   (N = 0: y is NaN) */
ad_tensor *ad_mean(ad_tensor *x, ad_axes axes, bool keepdims)
{
    return reduce_op(AD_OP_mean, "mean", x, axes, keepdims, 0);
}
ad_tensor *ad_mean_all(ad_tensor *x) { return ad_mean(x, AD_ALL, false); }
ad_tensor *ad_op_mean_jvp(const ad_call *c, ad_tensor *const *t)
{
    const red_attr *a = c->attr;
    return ad_mean(t[0], mask_axes(a->mask, 1), a->keepdims);
}
int ad_op_mean_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_div_s(unreduce(c, g), (double)group_count(c));
    return gx[0] ? AD_OK : c->ctx->err;
}

/* ---- prod ----------------------------------------------------------------------------- */

static void k_count_zeros(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    int64_t *cnt = ud;
    for (int64_t i = 0; i < n; i++) *cnt += p[0][i * s[0]] == 0;
}
static int64_t count_zeros(ad_tensor *x)
{
    int64_t cnt = 0;
    ad_iter it;
    ad_iter_init(&it, x->ndim, x->shape, 1, &x);
    ad_iter_run(&it, k_count_zeros, &cnt);
    return cnt;
}

/* w_i = ∂y/∂x_i = Π_{j≠i} x_j over x_i's group, from zero counts:
 *   no zero in the group:      w_i = P / x_i   with P the product
 *   exactly one zero, at x_i:  w_i = P'        with P' the product of the others
 *   otherwise:                 w_i = 0
 * P' = prod(x with zeros replaced by 1) covers both first cases (P' = P
 * without zeros), and dividing by that same safe x never divides by 0, so
 * no NaN leaks through the branch where() discards.  Second derivatives
 * are exact for groups without zeros. */
static ad_tensor *prod_weight(const ad_call *c)
{
    const red_attr *a = c->attr;
    ad_tensor *x = c->in[0];
    if (count_zeros(x) == 0) return ad_div(kept(c, c->out), x);
    ad_tensor *zero = ad_scalar(c->ctx, 0), *one = ad_scalar(c->ctx, 1);
    ad_tensor *isz = ad_eq_s(x, 0);
    ad_tensor *nz = ad_sum(isz, mask_axes(a->mask, 0), true);
    ad_tensor *xs = ad_where(isz, one, x);
    ad_tensor *p = ad_prod(xs, mask_axes(a->mask, 0), true);
    ad_tensor *sole = ad_mul(isz, ad_eq_s(nz, 1));
    return ad_where(ad_eq_s(nz, 0), ad_div(p, xs), ad_where(sole, p, zero));
}

/* y = Π_R x;   ẏ = Σ_R w·ẋ;   x̄ += w·expand(ȳ)   with w_i = Π_{j≠i} x_j (prod_weight) */
ad_tensor *ad_prod(ad_tensor *x, ad_axes axes, bool keepdims)
{
    return reduce_op(AD_OP_prod, "prod", x, axes, keepdims, 0);
}
ad_tensor *ad_op_prod_jvp(const ad_call *c, ad_tensor *const *t) { return weighted_jvp(c, t[0], prod_weight(c)); }
int ad_op_prod_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx) { return weighted_vjp(c, g, gx, prod_weight(c)); }

/* ---- max, min ------------------------------------------------------------------------- */

/* w = [x = y] / #{x = y}: the derivative is split evenly among the elements
 * that attain the extreme (a symmetric subgradient; one element: the
 * ordinary derivative).  A NaN result counts the NaN elements as the ties. */
static ad_tensor *extreme_weight(const ad_call *c)
{
    const red_attr *a = c->attr;
    ad_tensor *x = c->in[0], *y = kept(c, c->out);
    ad_tensor *hit = ad_add(ad_eq(x, y), ad_mul(ad_ne(x, x), ad_ne(y, y)));
    return ad_div(hit, ad_sum(hit, mask_axes(a->mask, 0), true));
}

/* y = max_R x;   ẏ = Σ_R w·ẋ;   x̄ += w·expand(ȳ)   (w: ties split evenly) */
ad_tensor *ad_max(ad_tensor *x, ad_axes axes, bool keepdims)
{
    return reduce_op(AD_OP_amax, "max", x, axes, keepdims, 0);
}
ad_tensor *ad_op_amax_jvp(const ad_call *c, ad_tensor *const *t) { return weighted_jvp(c, t[0], extreme_weight(c)); }
int ad_op_amax_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx) { return weighted_vjp(c, g, gx, extreme_weight(c)); }

/* y = min_R x;   ẏ = Σ_R w·ẋ;   x̄ += w·expand(ȳ)   (w: ties split evenly) */
ad_tensor *ad_min(ad_tensor *x, ad_axes axes, bool keepdims)
{
    return reduce_op(AD_OP_amin, "min", x, axes, keepdims, 0);
}
ad_tensor *ad_op_amin_jvp(const ad_call *c, ad_tensor *const *t) { return weighted_jvp(c, t[0], extreme_weight(c)); }
int ad_op_amin_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx) { return weighted_vjp(c, g, gx, extreme_weight(c)); }

/* ---- var, std ------------------------------------------------------------------------- */

static ad_tensor *var_op(int opid, const char *what, ad_tensor *x, ad_axes axes, double correction, bool keepdims)
{
    AD_ARG(x);
    if (!isfinite(correction) || correction < 0)
        return AD_FAIL(x->ctx, AD_EINVAL, "%s: correction must be finite and >= 0 (got %g)", what, correction);
    return reduce_op(opid, what, x, axes, keepdims, correction);
}

/* x - mean over each group, with the mean refined as the value's (var_into):
 * m = m0 + mean(x - m0), so a constant group gives exactly 0.  Written with
 * ad_mean, the HVP still sees the mean's own derivative. */
static ad_tensor *centred(const ad_call *c)
{
    const red_attr *a = c->attr;
    ad_tensor *x = c->in[0];
    ad_axes ax = mask_axes(a->mask, 0);
    ad_tensor *m0 = ad_detach(ad_mean(x, ax, true)); /* any constant works: it cancels in m */
    ad_tensor *m = ad_add(m0, ad_mean(ad_sub(x, m0), ax, true));
    return ad_sub(x, m);
}

/* max(N - correction, 0), the divisor of var and std */
static double var_divisor(const ad_call *c)
{
    const red_attr *a = c->attr;
    double div = (double)group_count(c) - a->correction;
    return div < 0 ? 0 : div;
}

/* w = 2(x - mean)/(N - correction): Σ(x - mean) = 0 removes the mean's own
 * derivative from the first derivative. */
static ad_tensor *var_weight(const ad_call *c) { return ad_mul_s(centred(c), 2.0 / var_divisor(c)); }

/* y = Σ_R (x - x̄)² / (N - c);   ẏ = Σ_R w·ẋ;   x̄ += w·expand(ȳ),   w = 2(x - mean)/(N - c) */
ad_tensor *ad_var(ad_tensor *x, ad_axes axes, double correction, bool keepdims)
{
    return var_op(AD_OP_var, "var", x, axes, correction, keepdims);
}
ad_tensor *ad_op_var_jvp(const ad_call *c, ad_tensor *const *t) { return weighted_jvp(c, t[0], var_weight(c)); }
int ad_op_var_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx) { return weighted_vjp(c, g, gx, var_weight(c)); }

/* w = (x - mean)/((N - correction)·y), and 0 where y = 0: a group of equal
 * values has the subgradient of least norm, 0, as torch.std's backward
 * (masked_fill(result == 0, 0)).  Composing sqrt(var) instead would give
 * ȳ/(2·0)·0 = NaN in reverse mode, and in forward mode NaN even where the
 * tangent is 0 (std(relu(x)) with x < 0): one op makes both modes agree. */
static ad_tensor *std_weight(const ad_call *c)
{
    ad_tensor *y = kept(c, c->out);
    ad_tensor *nz = ad_ne_s(y, 0);
    ad_tensor *ysafe = ad_add(y, ad_eq_s(y, 0));
    return ad_div(ad_mul(centred(c), nz), ad_mul_s(ysafe, var_divisor(c)));
}

/* y = √(Σ_R (x - x̄)² / (N - c));   ẏ = Σ_R w·ẋ;   x̄ += w·expand(ȳ),   w = (x - mean)/((N - c)·y) */
ad_tensor *ad_std(ad_tensor *x, ad_axes axes, double correction, bool keepdims)
{
    return var_op(AD_OP_std, "std", x, axes, correction, keepdims);
}
ad_tensor *ad_op_std_jvp(const ad_call *c, ad_tensor *const *t) { return weighted_jvp(c, t[0], std_weight(c)); }
int ad_op_std_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx) { return weighted_vjp(c, g, gx, std_weight(c)); }

/* ---- logsumexp ------------------------------------------------------------------------ */

/* Each group's max, a constant of the keepdims shape, 0 where it is not
 * finite (the shift of lse_weight). */
static ad_tensor *lse_shift(const ad_call *c)
{
    const red_attr *a = c->attr;
    ad_tensor *x = c->in[0];
    red r;
    red_layout(&r, x, a->mask, true);
    ad_tensor *m = ad_new(c->ctx, r.out_ndim, r.out_shape);
    if (!m) return NULL;
    fold_into(&r, x, m->data, FOLD_MAX);
    for (int64_t j = 0; j < r.nout; j++)
        if (!isfinite(m->data[j])) m->data[j] = 0;
    return m;
}

/* w = exp(x - y), the softmax of each group, as exp(x - m)/Σ exp(x - m)
 * with m the group's max: from y, w would carry y's rounding, |y|·eps/2
 * relative (5e-14 at logits of 1000), which the reverse rule's kept
 * weights do not have, and the two modes would disagree.  m is a
 * constant (w does not depend on it, nor do w's derivatives).  A group of
 * -inf only has Σ = 0 and gets w = 0; one holding +inf gets 0 at finite x
 * and NaN at +inf, as exp(x - y). */
static ad_tensor *lse_weight(const ad_call *c)
{
    const red_attr *a = c->attr;
    ad_tensor *e = ad_exp(ad_sub(c->in[0], lse_shift(c)));
    ad_tensor *s = ad_sum(e, mask_axes(a->mask, 0), true);
    return ad_div(e, ad_where(ad_eq_s(s, 0), ad_scalar(c->ctx, 1), s));
}

/* Defined with the kernels below (softmax, the fused backward passes). */
static void k_exp_sub(int64_t n, double *const *p, const int64_t *s, void *ud);
static ad_tensor *raw_contiguous(ad_tensor *t);

/* Kept weights.  The VJP's weight exp(x - y) is the softmax of each group,
 * which the forward pass has in hand as w = exp(x - m) (m the group's max)
 * and s = Σ w: exp(x - y) = w/s.  When the op is recorded for reverse mode
 * its record keeps them, and the VJP is one pass z = (ȳ/s)·w instead of a
 * second exponential per element (1.1-1.9 ns each, most of the backward).
 * They live in one storage, [y (nout) | s (nout) | w (x's shape,
 * row-major)], which replaces the record's saved output (an alias of y):
 * a handle of y's layout at its start, so the rules that read y see y.  It
 * counts as tape memory while the record lives and goes with it: the
 * tape's saved bytes grow by x's size.  Not kept when a tangent is
 * carried (forward over reverse shares tangents through the saved
 * output): there the rule recomputes exp(x - y), as the nested
 * (create_graph) path does, whose ops must see x. */
static bool lse_keeps(const ad_tensor *x)
{
    const ad_ctx *ctx = x->ctx;
    return ctx->grad_enabled && (x->flags & AD_T_REQUIRES_GRAD) && !(x->tan_mask & ctx->fwd_active) &&
           x->numel > 0 && x->numel <= INT64_MAX / 32;
}

/* Operands over x's shape: 0 s (output-shaped), 1 x, 2 the max m (output-
 * shaped), 3 w (row-major): s += exp(x - m), each exponential left in w;
 * k_sum_exp's sums (no compensation) to the bit. */
static void k_sum_expw(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    if (s[0] == 0 && s[3] == 1) {
        p[0][0] += pw_expw(p[1], n, s[1], p[2][0], p[3]);
        return;
    }
    for (int64_t i0 = 0; i0 < n; i0 += PW_BLOCK) {
        int64_t m = n - i0 < PW_BLOCK ? n - i0 : PW_BLOCK;
        double *w = p[3] + i0 * s[3];
        for (int64_t i = 0; i < m; i++) w[i * s[3]] = p[1][(i0 + i) * s[1]] - p[2][(i0 + i) * s[2]];
        ad_simd_run(AD_SIMD_EXP, m, w, s[3], w, s[3]);
        for (int64_t i = 0; i < m; i++) p[0][(i0 + i) * s[0]] += w[i * s[3]];
    }
}

/* s = Σ exp(x - m) per group with w = exp(x - m) kept, the same sums as
 * sum_into(XF_EXP) gives (reduce_value): in one pass when every group is
 * one run on one thread (w, row-major, never splits a run the others
 * allow); else sum_into's own sum, then w in a pass of its own. */
static int lse_sums_kept(const red *r, const ad_tensor *x, const double *m, double *s, double *w)
{
    int64_t sw[AD_MAX_DIMS], st = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        sw[d] = st;
        st *= x->shape[d];
    }
    double *b[4] = {s, x->data, (double *)m, w};
    const int64_t *strides[4] = {r->so, x->stride, r->so, sw};
    ad_iter it;
    ad_iter_init_raw(&it, x->ndim, x->shape, 4, b, strides);
    bool runs = false; /* a group made of several runs: sum_into compensates */
    for (int d = 0; d + 1 < it.ndim; d++)
        if (it.stride[0][d] == 0) runs = true;
    if (!runs && ad_par_threads(x->numel) <= 1) {
        memset(s, 0, (size_t)r->nout * sizeof *s);
        ad_iter_run(&it, k_sum_expw, NULL);
        return AD_OK;
    }
    int rc = sum_into(r, x, x->data, x->stride, s, m, XF_EXP);
    double *b3[3] = {w, x->data, (double *)m};
    const int64_t *s3[3] = {sw, x->stride, r->so};
    ad_iter_init_raw(&it, x->ndim, x->shape, 3, b3, s3);
    ad_iter_run_par(&it, k_exp_sub, NULL); /* elementwise: bits as on one thread */
    return rc;
}

/* logsumexp's value (reduce_value's, to the bit) with s and w in k: the
 * kept storage's data, [y | s | w], and in the one-pass form (online) the
 * chunks' shifts after w: [y | s | w | a]. */
static ad_tensor *lse_value_kept(const red *r, ad_tensor *x, double *k, bool online)
{
    ad_ctx *ctx = x->ctx;
    ad_tensor *y = ad_new(ctx, r->out_ndim, r->out_shape);
    double *m = online ? NULL : scratch(ctx, r->nout);
    if (!y || (!online && !m)) {
        ad_tensor_free(y);
        if (m) scratch_free(ctx, m, r->nout);
        return AD_FAIL(ctx, AD_ENOMEM, "logsumexp: out of memory for a result of %lld values",
                       (long long)r->nout);
    }
    double *s = k + r->nout, *w = s + r->nout;
    int rc;
    if (online) {
        rc = lse_online_value(r, x, y->data, s, w, w + x->numel);
    } else {
        fold_into(r, x, m, FOLD_MAX);
        rc = lse_sums_kept(r, x, m, s, w);
        for (int64_t j = 0; j < r->nout; j++) y->data[j] = isfinite(m[j]) ? m[j] + log(s[j]) : m[j];
        scratch_free(ctx, m, r->nout);
    }
    memcpy(k, y->data, (size_t)r->nout * sizeof *k);
    if (rc != AD_OK) {
        ad_tensor_free(y);
        return AD_FAIL(ctx, rc, "logsumexp: out of memory for %s",
                       online ? "the sums of its chunks" : "the compensation of the sums");
    }
    return y;
}

/* Hands the kept storage to y's record in place of its saved output,
 * through the tape's protocol for a replaced saved tensor (its bytes move
 * to the tape, the alias's leave). */
static int lse_keep_weights(ad_tensor *y, ad_tensor *k)
{
    ad_ctx *ctx = y->ctx;
    ad_node *n = y->grad_fn;
    if (!n || n->op != &ad_ops[AD_OP_logsumexp] || !n->saved_out)
        return ad_error(ctx, AD_ESTATE, "logsumexp: no record of its own to keep the weights in");
    ad_tensor *h = ad_handle_new(ctx, k->st, y->ndim, y->shape, y->stride, 0);
    if (!h) return ad_error(ctx, AD_ENOMEM, "logsumexp: out of memory for the kept weights' handle");
    ad_unscope(h);
    ad_tape_save(ctx, h); /* h's reference becomes the record's */
    ad_tensor *old = n->saved_out;
    n->saved_out = h;
    n->saved_out_version = h->st->version;
    ad_tape_unsave(ctx, old);
    return AD_OK;
}

/* y = m + log Σ_R exp(x - m), m = max_R x;   ẏ = Σ_R w·ẋ;   x̄ += w·expand(ȳ),   w = exp(x - y)
 * (reverse: ȳ/s·w from the kept weights; nested: logsumexp_bw, from the saved y) */
ad_tensor *ad_logsumexp(ad_tensor *x, ad_axes axes, bool keepdims)
{
    AD_ARG(x);
    if (!lse_keeps(x)) return reduce_op(AD_OP_logsumexp, "logsumexp", x, axes, keepdims, 0);
    red r;
    if (red_init(&r, "logsumexp", x, axes, keepdims) != AD_OK) return NULL;
    bool online = lse_online(&r, x);
    int64_t size[1] = {2 * r.nout + x->numel + (online ? r.nout * lse_nchunks(r.count) : 0)};
    ad_tensor *k = ad_new(x->ctx, 1, size);
    ad_tensor *y = k ? lse_value_kept(&r, x, k->data, online) : NULL;
    red_attr at;
    memset(&at, 0, sizeof at);
    at.mask = r.mask;
    at.keepdims = keepdims;
    at.weights = online ? 2 : 1; /* 2: w per chunk, the shifts after it */
    y = ad_op_finish(AD_OP_logsumexp, y, 1, &x, &at, sizeof at);
    if (y && lse_keep_weights(y, k) != AD_OK) {
        ad_tensor_free(y);
        y = NULL;
    }
    ad_tensor_free(k);
    return y;
}
ad_tensor *ad_op_logsumexp_jvp(const ad_call *c, ad_tensor *const *t) { return weighted_jvp(c, t[0], lse_weight(c)); }

/* z[i] = f·w[i], i < n. */
static void lse_scale_run(int64_t n, double *z, const double *w, double f)
{
    if (ad_lse_avx512_ok()) ad_lse_avx512_scale(n, z, w, f);
    else
        for (int64_t i = 0; i < n; i++) z[i] = f * w[i];
}

/* Operands over x's shape: 0 z, 1 w (row-major), 2 ȳ/s (output-shaped). */
static void k_lse_scale(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    if (s[0] == 1 && s[1] == 1 && s[2] == 0) { /* a whole group: vectorised */
        lse_scale_run(n, p[0], p[1], p[2][0]);
        return;
    }
    for (int64_t i = 0; i < n; i++) p[0][i * s[0]] = p[2][i * s[2]] * p[1][i * s[1]];
}

/* The one-pass form's scaling: chunk k = group·nch + c by f[k]. */
typedef struct {
    double *z;
    const double *w, *f;
    int64_t count, nch;
} lse_scale_job;

static void lse_scale_chunks(int64_t lo, int64_t hi, void *ud)
{
    const lse_scale_job *j = ud;
    for (int64_t k = lo; k < hi; k++) {
        int64_t off, len = lse_chunk_at(j->count, j->nch, k, &off);
        lse_scale_run(len, j->z + off, j->w + off, j->f[k]);
    }
}

/* x̄ = (ȳ/S)·e^(a_c - M)·w over each chunk c (w = exp(x - a_c), a the
 * chunks' shifts after w, M the largest of a group's, S = Σ exp(x - M));
 * a chunk of -inf has e^(a_c - M) = 0 and w = 0.  f: r->nout·nch scratch. */
static void lse_scale_online(const red *r, double *z, const double *w, const double *s, const double *g, double *f)
{
    int64_t nch = lse_nchunks(r->count), items = r->nout * nch;
    const double *a = w + r->nout * r->count;
    for (int64_t j = 0; j < r->nout; j++) {
        const double *aj = a + j * nch;
        double m = -INFINITY, base = g[j] / s[j];
        for (int64_t c = 0; c < nch; c++) m = aj[c] > m ? aj[c] : m;
        for (int64_t c = 0; c < nch; c++) f[j * nch + c] = aj[c] == m ? base : base * exp(aj[c] - m);
    }
    lse_scale_job job = {.z = z, .w = w, .f = f, .count = r->count, .nch = nch};
    int parts = ad_par_threads(r->nout * r->count);
    ad_par_chunks(items, parts < items ? parts : (int)items, lse_scale_chunks, &job);
}

/* Where x̄ goes: w's own place in the kept storage when the record lets go
 * of it after this rule (c->consume) and nothing else holds it, so the
 * gradient is scaled in place (no x-sized buffer written beside w: one
 * array less at n = 1e6), its bytes moved to the sweep's category when the
 * record unsaves the storage; else a fresh tensor. */
static ad_tensor *lse_grad_buffer(const ad_call *c, const ad_tensor *x, int64_t nout, const int64_t *sw)
{
    ad_tensor *k = c->out;
    if (!(c->consume && k->refs == 1 && k->st->refs == 1 && !k->st->external && k->scope_refs == 0))
        return ad_new_like(x);
    ad_tensor *z = ad_handle_new(c->ctx, k->st, x->ndim, x->shape, sw, 2 * nout);
    if (z) {
        k->st->cat = c->ctx->cat; /* its category once the tape lets go of it (tape.c: unsave) */
        ad_bump_version(z);
    }
    return z;
}

/* x̄ = (ȳ/s)·w from the kept weights; NULL without an error when they
 * cannot serve: a group whose max is not finite (w = exp(x - m) is NaN
 * there; exp(x - y) gives 0, NaN or inf as it should). */
static ad_tensor *lse_vjp_kept(const ad_call *c, ad_tensor *g)
{
    const red_attr *a = c->attr;
    ad_tensor *x = c->in[0];
    ad_ctx *ctx = c->ctx;
    red r;
    red_layout(&r, x, a->mask, a->keepdims);
    const double *y = c->out->st->data, *s = y + r.nout;
    int64_t nf = a->weights == 2 ? r.nout * lse_nchunks(r.count) : r.nout; /* one factor a chunk, or a group */
    if (c->out->st->nbytes < (2 * r.nout + x->numel + (a->weights == 2 ? nf : 0)) * (int64_t)sizeof(double))
        return NULL;
    for (int64_t j = 0; j < r.nout; j++)
        if (!isfinite(y[j])) return NULL;
    int64_t sw[AD_MAX_DIMS], st = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        sw[d] = st;
        st *= x->shape[d];
    }
    ad_tensor *gc = raw_contiguous(g), *z = lse_grad_buffer(c, x, r.nout, sw);
    double *f = scratch(ctx, nf);
    if (gc && z && f && a->weights == 2) {
        lse_scale_online(&r, z->data, s + r.nout, s, gc->data, f);
    } else if (gc && z && f) {
        for (int64_t j = 0; j < r.nout; j++) f[j] = gc->data[j] / s[j];
        double *b[3] = {z->data, (double *)(s + r.nout), f};
        const int64_t *strides[3] = {z->stride, sw, r.so};
        ad_iter it;
        ad_iter_init_raw(&it, x->ndim, x->shape, 3, b, strides);
        ad_iter_run_par(&it, k_lse_scale, NULL);
    } else {
        ad_tensor_free(z);
        z = AD_FAIL(ctx, AD_ENOMEM, "logsumexp: out of memory for its gradient");
    }
    if (f) scratch_free(ctx, f, nf);
    if (gc && gc != g) ad_tensor_free(gc);
    return z;
}

int ad_op_logsumexp_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    const red_attr *a = c->attr;
    gx[0] = NULL;
    if (a->weights && ad_fuse_plain(g, c->in[0])) {
        int mark = ad_err_mark(c->ctx);
        gx[0] = lse_vjp_kept(c, g);
        if (ad_err_since(c->ctx, mark)) return c->ctx->err;
    }
    if (!gx[0]) gx[0] = ad_logsumexp_bw(g, c->in[0], c->out, mask_axes(a->mask, 0), a->keepdims);
    return gx[0] ? AD_OK : c->ctx->err;
}

/* ---- softmax, log_softmax ----------------------------------------------------------- */

/* Elementwise passes over x's shape with an output-shaped operand (so). */
static void k_exp_sub(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    for (int64_t i = 0; i < n; i++) p[0][i * s[0]] = p[1][i * s[1]] - p[2][i * s[2]];
    ad_simd_run(AD_SIMD_EXP, n, p[0], s[0], p[0], s[0]);
}
static void k_div_by(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    for (int64_t i = 0; i < n; i++) p[0][i * s[0]] /= p[1][i * s[1]];
}
static void k_sub(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    for (int64_t i = 0; i < n; i++) p[0][i * s[0]] = p[1][i * s[1]] - p[2][i * s[2]];
}

/* softmax (log = false) or log_softmax of x along axis, not recorded:
 * m = max, then exp(x - m) / Σ exp(x - m) or x - (m + log Σ exp(x - m)). */
static ad_tensor *softmax_value(ad_tensor *x, int axis, bool log_form)
{
    ad_ctx *ctx = x->ctx;
    red r;
    red_layout(&r, x, 1u << axis, true);
    ad_tensor *y = ad_new_like(x);
    if (!y || x->numel == 0) return y;
    double *m = scratch(ctx, r.nout), *sum = scratch(ctx, r.nout);
    int rc = (m && sum) ? AD_OK : AD_ENOMEM;
    ad_iter it;
    if (rc == AD_OK) {
        fold_into(&r, x, m, FOLD_MAX);
        if (!log_form) {
            double *b3[3] = {y->data, x->data, m};
            const int64_t *s3[3] = {y->stride, x->stride, r.so};
            ad_iter_init_raw(&it, x->ndim, x->shape, 3, b3, s3);
            ad_iter_run(&it, k_exp_sub, NULL);
            rc = sum_into(&r, x, y->data, y->stride, sum, NULL, XF_ID);
            double *b2[2] = {y->data, sum};
            const int64_t *s2[2] = {y->stride, r.so};
            ad_iter_init_raw(&it, x->ndim, x->shape, 2, b2, s2);
            ad_iter_run(&it, k_div_by, NULL);
        } else {
            rc = sum_into(&r, x, x->data, x->stride, sum, m, XF_EXP);
            for (int64_t j = 0; j < r.nout; j++) sum[j] = m[j] + log(sum[j]);
            double *b3[3] = {y->data, x->data, sum};
            const int64_t *s3[3] = {y->stride, x->stride, r.so};
            ad_iter_init_raw(&it, x->ndim, x->shape, 3, b3, s3);
            ad_iter_run(&it, k_sub, NULL);
        }
    }
    if (m) scratch_free(ctx, m, r.nout);
    if (sum) scratch_free(ctx, sum, r.nout);
    if (rc != AD_OK) {
        ad_tensor_free(y);
        return NULL;
    }
    return y;
}

static ad_tensor *softmax_op(int opid, const char *what, ad_tensor *x, int axis)
{
    AD_ARG(x);
    int a = ad_axis_index(x->ctx, what, axis, x->ndim);
    if (a < 0) return NULL;
    ad_tensor *y = softmax_value(x, a, opid == AD_OP_log_softmax);
    return ad_op_finish(opid, y, 1, &x, &a, sizeof a);
}

/* y = exp(x - lse(x));   ẏ = y·(ẋ - Σ y·ẋ);   x̄ += y·(ȳ - Σ ȳ·y)   (sums along axis; fused: softmax_bw) */
ad_tensor *ad_softmax(ad_tensor *x, int axis) { return softmax_op(AD_OP_softmax, "softmax", x, axis); }
ad_tensor *ad_op_softmax_jvp(const ad_call *c, ad_tensor *const *t)
{
    const int *a = c->attr;
    return ad_softmax_bw(t[0], c->out, *a + 1); /* the same map: y·(v - Σ y·v) */
}
int ad_op_softmax_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    const int *a = c->attr;
    gx[0] = ad_softmax_bw(g, c->out, *a);
    return gx[0] ? AD_OK : c->ctx->err;
}

/* y = x - lse(x);   ẏ = ẋ - Σ e^y·ẋ;   x̄ += ȳ - e^y·Σ ȳ   (sums along axis; fused: log_softmax_bw) */
ad_tensor *ad_log_softmax(ad_tensor *x, int axis) { return softmax_op(AD_OP_log_softmax, "log_softmax", x, axis); }
ad_tensor *ad_op_log_softmax_jvp(const ad_call *c, ad_tensor *const *t)
{
    const int *a = c->attr;
    return ad_sub(t[0], ad_sum(ad_mul(t[0], ad_exp(c->out)), AD_AXES(*a + 1), true));
}
int ad_op_log_softmax_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    const int *a = c->attr;
    gx[0] = ad_log_softmax_bw(g, c->out, *a);
    return gx[0] ? AD_OK : c->ctx->err;
}

/* ---- fused backward kernels: softmax_bw, log_softmax_bw, logsumexp_bw ------------
 * The three backward passes as one op each instead of four to seven tensor
 * ops: one allocation, two or three sweeps over memory, and no exponential
 * the saved output already holds (softmax: none; log_softmax: e^y of the
 * saved y; logsumexp: exp(x - y), the softmax, once, in the sweep that
 * scales ȳ; the exponentials by the SIMD kernels).  They are ops with rules
 * of their own, so second derivatives (forward over reverse) flow through
 * them. */

/* Strides of t broadcast to a shape of rank ndim (axes aligned at the
 * right; 0 where t has length 1 or no axis). */
static void bstrides(const ad_tensor *t, int ndim, int64_t *st)
{
    for (int d = 0; d < ndim; d++) {
        int e = d - (ndim - t->ndim);
        st[d] = (e < 0 || t->shape[e] == 1) ? 0 : t->stride[e];
    }
}

/* Operands: 0 z, 1 g, 2 y (3: the group's sum, output-shaped). */
static void k_mul_gy(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    for (int64_t i = 0; i < n; i++) p[0][i * s[0]] = p[1][i * s[1]] * p[2][i * s[2]];
}
static void k_softmax_bw(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud; /* z = y·(g - Σ g·y) */
    for (int64_t i = 0; i < n; i++) p[0][i * s[0]] = p[2][i * s[2]] * (p[1][i * s[1]] - p[3][i * s[3]]);
}
static void k_log_softmax_bw(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud; /* z = g - e^y·Σ g */
    double e[PW_BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += PW_BLOCK) {
        int64_t m = n - i0 < PW_BLOCK ? n - i0 : PW_BLOCK;
        ad_simd_run(AD_SIMD_EXP, m, e, 1, p[2] + i0 * s[2], s[2]);
        for (int64_t i = 0; i < m; i++) {
            int64_t k = i0 + i;
            p[0][k * s[0]] = p[1][k * s[1]] - e[i] * p[3][k * s[3]];
        }
    }
}

/* Σ along axis a of g·y (softmax) or of g (log_softmax) into sum, z
 * holding g·y as scratch; then z from the sums (a second sweep). */
static int softmax_bw_into(int opid, ad_tensor *z, ad_tensor *g, ad_tensor *y, int a)
{
    ad_ctx *ctx = z->ctx;
    red r;
    red_layout(&r, z, 1u << a, true);
    double *sum = scratch(ctx, r.nout);
    if (!sum) return AD_ENOMEM;
    int64_t sg[AD_MAX_DIMS], sy[AD_MAX_DIMS];
    bstrides(g, z->ndim, sg);
    bstrides(y, z->ndim, sy);
    ad_iter it;
    double *b[4] = {z->data, g->data, y->data, sum};
    const int64_t *st[4] = {z->stride, sg, sy, r.so};
    int rc;
    if (opid == AD_OP_log_softmax_bw && g->ndim == z->ndim && g->numel == z->numel) {
        rc = sum_into(&r, z, g->data, g->stride, sum, NULL, XF_ID); /* g has z's shape: sum it in place */
    } else {
        ad_iter_init_raw(&it, z->ndim, z->shape, 3, b, st);
        ad_iter_run(&it, opid == AD_OP_softmax_bw ? k_mul_gy : ad_iter_copy_run, NULL);
        rc = sum_into(&r, z, z->data, z->stride, sum, NULL, XF_ID);
    }
    ad_iter_init_raw(&it, z->ndim, z->shape, 4, b, st);
    ad_iter_run(&it, opid == AD_OP_softmax_bw ? k_softmax_bw : k_log_softmax_bw, NULL);
    scratch_free(ctx, sum, r.nout);
    return rc;
}

static ad_tensor *softmax_bw_op(int opid, const char *what, ad_tensor *g, ad_tensor *y, int axis)
{
    AD_ARG(g);
    AD_ARG(y);
    ad_shape sg = ad_shape_of(g), sy = ad_shape_of(y), s;
    if (ad_broadcast_shapes(g->ctx, &sg, &sy, &s) != AD_OK) return NULL;
    int a = ad_axis_index(g->ctx, what, axis, s.ndim);
    if (a < 0) return NULL;
    ad_tensor *z = ad_new(g->ctx, s.ndim, s.dim);
    if (z && z->numel > 0 && softmax_bw_into(opid, z, g, y, a) != AD_OK) {
        ad_tensor_free(z);
        return AD_FAIL(g->ctx, AD_ENOMEM, "%s: out of memory for the sums along axis %d", what, a);
    }
    ad_tensor *in[2] = {g, y};
    return ad_op_finish(opid, z, 2, in, &a, sizeof a);
}

/* c->in[i] expanded to the output's shape: the sums below are those of the
 * broadcast operands, as the value's. */
static ad_tensor *in_full(const ad_call *c, int i)
{
    ad_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = c->out_ndim;
    memcpy(s.dim, c->out_shape, (size_t)s.ndim * sizeof s.dim[0]);
    return ad_expand(c->in[i], s);
}

/* z = y·(g - Σ_a g·y);   ż = softmax_bw(ġ, y) + ẏ·(g - Σ g·y) - y·Σ g·ẏ;
 * ḡ += softmax_bw(z̄, y),   ȳ += z̄·(g - Σ g·y) - g·Σ z̄·y */
ad_tensor *ad_softmax_bw(ad_tensor *g, ad_tensor *y, int axis)
{
    return softmax_bw_op(AD_OP_softmax_bw, "softmax_bw", g, y, axis);
}
ad_tensor *ad_op_softmax_bw_jvp(const ad_call *c, ad_tensor *const *t)
{
    const int *a = c->attr;
    ad_tensor *g = in_full(c, 0), *y = in_full(c, 1), *q = NULL;
    ad_tensor *r = t[0] ? ad_softmax_bw(t[0], y, *a + 1) : NULL;
    if (t[1]) {
        ad_tensor *gs = ad_sub(g, ad_sum(ad_mul(g, y), AD_AXES(*a), true));
        q = ad_sub(ad_mul(t[1], gs), ad_mul(y, ad_sum(ad_mul(g, t[1]), AD_AXES(*a + 1), true)));
    }
    return ad_op_add_opt(r, q);
}
int ad_op_softmax_bw_vjp(const ad_call *c, ad_tensor *z, ad_tensor **gin)
{
    const int *a = c->attr;
    ad_tensor *g = in_full(c, 0), *y = in_full(c, 1);
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_softmax_bw(z, y, *a));
    if (c->need[1]) {
        ad_tensor *gs = ad_sub(g, ad_sum(ad_mul(g, y), AD_AXES(*a), true));
        gin[1] = ad_op_sum_to_input(c, 1, ad_sub(ad_mul(z, gs), ad_mul(g, ad_sum(ad_mul(z, y), AD_AXES(*a), true))));
    }
    return AD_OK;
}

/* z = g - e^y·Σ_a g;   ż = log_softmax_bw(ġ, y) - ẏ·e^y·Σ g;
 * ḡ += z̄ - Σ z̄·e^y,   ȳ += -z̄·e^y·Σ g */
ad_tensor *ad_log_softmax_bw(ad_tensor *g, ad_tensor *y, int axis)
{
    return softmax_bw_op(AD_OP_log_softmax_bw, "log_softmax_bw", g, y, axis);
}
ad_tensor *ad_op_log_softmax_bw_jvp(const ad_call *c, ad_tensor *const *t)
{
    const int *a = c->attr;
    ad_tensor *g = in_full(c, 0), *y = in_full(c, 1);
    ad_tensor *r = t[0] ? ad_log_softmax_bw(t[0], y, *a + 1) : NULL;
    ad_tensor *q = t[1] ? ad_neg(ad_mul(t[1], ad_mul(ad_exp(y), ad_sum(g, AD_AXES(*a), true)))) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_log_softmax_bw_vjp(const ad_call *c, ad_tensor *z, ad_tensor **gin)
{
    const int *a = c->attr;
    ad_tensor *g = in_full(c, 0), *e = ad_exp(in_full(c, 1));
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_sub(z, ad_sum(ad_mul(z, e), AD_AXES(*a), true)));
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_neg(ad_mul(z, ad_mul(e, ad_sum(g, AD_AXES(*a), true)))));
    return AD_OK;
}

/* Operands over x's shape: 0 z, 1 x, 2 g, 3 y (2, 3 output-shaped). */
/* One group's run (x and z contiguous, g and y one value each: a full
 * logsumexp), in loops the compiler vectorises; the same values as the
 * general loop of k_logsumexp_bw. */
static void lse_bw_flat(int64_t n, double *z, const double *x, double g, double y)
{
    double e[PW_BLOCK], ys = y == -INFINITY ? 0 : y;
    for (int64_t i0 = 0; i0 < n; i0 += PW_BLOCK) {
        int64_t m = n - i0 < PW_BLOCK ? n - i0 : PW_BLOCK;
        for (int64_t i = 0; i < m; i++) e[i] = x[i0 + i] - ys;
        ad_simd_run(AD_SIMD_EXP, m, e, 1, e, 1);
        for (int64_t i = 0; i < m; i++) z[i0 + i] = g * e[i];
    }
}

static void k_logsumexp_bw(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud; /* z = g·exp(x - y), y = -inf taken as 0 (a group of -inf only: w = 0) */
    if (s[0] == 1 && s[1] == 1 && s[2] == 0 && s[3] == 0) {
        lse_bw_flat(n, p[0], p[1], p[2][0], p[3][0]);
        return;
    }
    double e[PW_BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += PW_BLOCK) {
        int64_t m = n - i0 < PW_BLOCK ? n - i0 : PW_BLOCK;
        for (int64_t i = 0; i < m; i++) {
            double y = p[3][(i0 + i) * s[3]];
            e[i] = p[1][(i0 + i) * s[1]] - (y == -INFINITY ? 0 : y);
        }
        ad_simd_run(AD_SIMD_EXP, m, e, 1, e, 1);
        for (int64_t i = 0; i < m; i++) p[0][(i0 + i) * s[0]] = p[2][(i0 + i) * s[2]] * e[i];
    }
}

/* t's values, contiguous: t itself, or a raw copy (not recorded) that the
 * caller frees when it differs from t. */
static ad_tensor *raw_contiguous(ad_tensor *t)
{
    if (t->flags & AD_T_CONTIG) return t;
    ad_tensor *c = ad_new_like(t);
    if (c) ad_copy_raw(c, t);
    return c;
}

static int logsumexp_bw_into(ad_tensor *z, ad_tensor *g, ad_tensor *x, ad_tensor *y, const red *r)
{
    ad_tensor *gc = raw_contiguous(g), *yc = raw_contiguous(y);
    int rc = gc && yc ? AD_OK : AD_ENOMEM;
    if (rc == AD_OK) {
        double *b[4] = {z->data, x->data, gc->data, yc->data};
        const int64_t *st[4] = {z->stride, x->stride, r->so, r->so};
        ad_iter it;
        ad_iter_init_raw(&it, x->ndim, x->shape, 4, b, st);
        ad_iter_run(&it, k_logsumexp_bw, NULL);
    }
    if (gc != g) ad_tensor_free(gc);
    if (yc != y) ad_tensor_free(yc);
    return rc;
}

/* g and y must have the reduction's output shape. */
static int lse_bw_check(const red *r, ad_tensor *g, ad_tensor *y)
{
    ad_tensor *t[2] = {g, y};
    for (int i = 0; i < 2; i++) {
        bool same = t[i]->ndim == r->out_ndim;
        for (int d = 0; same && d < r->out_ndim; d++) same = t[i]->shape[d] == r->out_shape[d];
        if (!same) {
            char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
            ad_error(g->ctx, AD_ESHAPE, "logsumexp_bw: %s has shape %s, not the reduction's %s", i ? "y" : "g",
                     ad_fmt_shape(b1, sizeof b1, t[i]->ndim, t[i]->shape),
                     ad_fmt_shape(b2, sizeof b2, r->out_ndim, r->out_shape));
            return AD_ESHAPE;
        }
    }
    return AD_OK;
}

/* z = g·w, w = exp(x - y) (broadcast over the reduced axes);
 * ż = ġ·w + z·(ẋ - ẏ);   ḡ += Σ_R z̄·w,   x̄ += z̄·z,   ȳ += -Σ_R z̄·z */
ad_tensor *ad_logsumexp_bw(ad_tensor *g, ad_tensor *x, ad_tensor *y, ad_axes axes, bool keepdims)
{
    AD_ARG(g);
    AD_ARG(x);
    AD_ARG(y);
    red r;
    if (red_init(&r, "logsumexp_bw", x, axes, keepdims) != AD_OK || lse_bw_check(&r, g, y) != AD_OK) return NULL;
    ad_tensor *z = ad_new_like(x);
    if (z && z->numel > 0 && logsumexp_bw_into(z, g, x, y, &r) != AD_OK) {
        ad_tensor_free(z);
        return AD_FAIL(x->ctx, AD_ENOMEM, "logsumexp_bw: out of memory for contiguous copies of g and y");
    }
    red_attr at;
    memset(&at, 0, sizeof at);
    at.mask = r.mask;
    at.keepdims = keepdims;
    ad_tensor *in[3] = {g, x, y};
    return ad_op_finish(AD_OP_logsumexp_bw, z, 3, in, &at, sizeof at);
}

/* x's shape with the reduced axes 1, and with a leading k for tangents. */
static ad_shape lse_keep(const ad_call *c, int k)
{
    const red_attr *a = c->attr;
    ad_shape s = ad_op_in_shape(c, 1);
    for (int d = 0; d < s.ndim; d++)
        if ((a->mask >> d) & 1u) s.dim[d] = 1;
    return k ? ad_op_tan_shape(k, s.ndim, s.dim) : s;
}

/* w = exp(x - y), y = -inf taken as 0 (as the kernel). */
static ad_tensor *lse_bw_weight(const ad_call *c)
{
    ad_tensor *y = ad_reshape(c->in[2], lse_keep(c, 0));
    ad_tensor *ys = ad_where(ad_eq_s(y, -INFINITY), ad_scalar(c->ctx, 0), y);
    return ad_exp(ad_sub(c->in[1], ys));
}

ad_tensor *ad_op_logsumexp_bw_jvp(const ad_call *c, ad_tensor *const *t)
{
    ad_tensor *w = lse_bw_weight(c), *r = NULL, *q = NULL;
    if (t[0]) r = ad_mul(ad_reshape(t[0], lse_keep(c, c->k)), w);
    if (t[1] || t[2]) {
        ad_tensor *d = t[2] ? ad_reshape(t[2], lse_keep(c, c->k)) : NULL;
        d = t[1] ? (d ? ad_sub(t[1], d) : t[1]) : ad_neg(d);
        q = ad_mul(ad_mul(ad_reshape(c->in[0], lse_keep(c, 0)), w), d);
    }
    return ad_op_add_opt(r, q);
}
int ad_op_logsumexp_bw_vjp(const ad_call *c, ad_tensor *zb, ad_tensor **gin)
{
    const red_attr *a = c->attr;
    ad_tensor *w = lse_bw_weight(c);
    ad_tensor *zz = ad_mul(zb, ad_mul(ad_reshape(c->in[0], lse_keep(c, 0)), w)); /* z̄·z */
    if (c->need[0]) gin[0] = ad_sum(ad_mul(zb, w), mask_axes(a->mask, 0), a->keepdims);
    if (c->need[1]) gin[1] = zz;
    if (c->need[2]) gin[2] = ad_neg(ad_sum(zz, mask_axes(a->mask, 0), a->keepdims));
    return AD_OK;
}

/* ---- argmax, argmin (constants) ------------------------------------------------------ */

/* Index of the extreme of n values at stride s: the first on ties; a NaN
 * counts as the extreme (the first NaN wins), matching max/min. */
static int64_t arg_line(const double *x, int64_t n, int64_t s, bool max)
{
    double b = x[0];
    int64_t bi = 0;
    if (b != b) return 0;
    for (int64_t j = 1; j < n; j++) {
        double v = x[j * s];
        if (v != v) return j;
        if (max ? v > b : v < b) {
            b = v;
            bi = j;
        }
    }
    return bi;
}

typedef struct {
    int64_t len, stride;
    bool max;
} arg_ud;

static void k_arg(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    const arg_ud *u = ud;
    for (int64_t i = 0; i < n; i++) p[0][i * s[0]] = (double)arg_line(p[1] + i * s[1], u->len, u->stride, u->max);
}

static ad_tensor *arg_op(const char *what, ad_tensor *x, int axis, bool keepdims, bool max)
{
    AD_ARG(x);
    ad_ctx *ctx = x->ctx;
    int a = ad_axis_index(ctx, what, axis, x->ndim);
    if (a < 0) return NULL;
    if (x->shape[a] == 0) {
        char b[AD_SHAPEBUF];
        return AD_FAIL(ctx, AD_ESHAPE, "%s: axis %d of a tensor of shape %s is empty", what, axis,
                       ad_fmt_shape(b, sizeof b, x->ndim, x->shape));
    }
    red r;
    red_layout(&r, x, 1u << a, keepdims);
    ad_tensor *y = ad_new(ctx, r.out_ndim, r.out_shape);
    if (!y || y->numel == 0) return y;
    /* one call per line: iterate over x's shape with the axis collapsed */
    int64_t shape[AD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[a] = 1;
    arg_ud u = {x->shape[a], x->stride[a], max};
    double *base[2] = {y->data, x->data};
    const int64_t *st[2] = {r.so, x->stride};
    ad_iter it;
    ad_iter_init_raw(&it, x->ndim, shape, 2, base, st);
    ad_iter_run(&it, k_arg, &u);
    return y; /* a constant: not recorded, no tangent */
}

typedef struct {
    int64_t pos, best;
    double b;
    bool max, done;
} argall_ud;

/* Runs come in row-major order (ad_iter never reorders axes), so a running
 * position is the flat index. */
static void k_argall(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    argall_ud *u = ud;
    for (int64_t i = 0; i < n && !u->done; i++, u->pos++) {
        double v = p[0][i * s[0]];
        if (v != v) {
            u->best = u->pos;
            u->done = true;
        } else if (u->pos == 0 || (u->max ? v > u->b : v < u->b)) {
            u->b = v;
            u->best = u->pos;
        }
    }
}

static ad_tensor *arg_all(const char *what, ad_tensor *x, bool max)
{
    AD_ARG(x);
    if (x->numel == 0) {
        char b[AD_SHAPEBUF];
        return AD_FAIL(x->ctx, AD_ESHAPE, "%s: the tensor of shape %s is empty", what,
                       ad_fmt_shape(b, sizeof b, x->ndim, x->shape));
    }
    argall_ud u = {0, 0, 0, max, false};
    ad_iter it;
    ad_iter_init(&it, x->ndim, x->shape, 1, &x);
    ad_iter_run(&it, k_argall, &u);
    return ad_scalar(x->ctx, (double)u.best);
}

ad_tensor *ad_argmax(ad_tensor *x, int axis, bool keepdims) { return arg_op("argmax", x, axis, keepdims, true); }
ad_tensor *ad_argmin(ad_tensor *x, int axis, bool keepdims) { return arg_op("argmin", x, axis, keepdims, false); }
ad_tensor *ad_argmax_all(ad_tensor *x) { return arg_all("argmax_all", x, true); }
ad_tensor *ad_argmin_all(ad_tensor *x) { return arg_all("argmin_all", x, false); }
