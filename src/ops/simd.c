/* src/ops/simd.c — SIMD transcendental kernels (simd.h): the choice of
 * instruction set, the SSE2 and libm kernels, and the packing that sends
 * tails and strided data through the same vector function as the bulk. */
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "simd_isa.h"

#if defined(__x86_64__) && defined(__SSE2__)
#define AD_SIMD_X86 1
#include <emmintrin.h>
#include <sleef.h>

/* Two SSE2 vectors per block of 4: the same lanes the AVX2 kernels use. */
#define SSE2_BULK(name)                                                                  \
    static void sse2_##name(int64_t n, double *y, const double *x)                       \
    {                                                                                    \
        for (int64_t i = 0; i < n; i += 2)                                               \
            _mm_storeu_pd(y + i, Sleef_##name##d2_u10sse2(_mm_loadu_pd(x + i)));         \
    }
SSE2_BULK(exp)
SSE2_BULK(log)
SSE2_BULK(sin)
SSE2_BULK(cos)
SSE2_BULK(tanh)

/* log1p above 1e300 is log: see simd_avx2.c (SLEEF 3.5 overflows there). */
static void sse2_log1p(int64_t n, double *y, const double *x)
{
    const __m128d big = _mm_set1_pd(1e300);
    for (int64_t i = 0; i < n; i += 2) {
        __m128d v = _mm_loadu_pd(x + i), r = Sleef_log1pd2_u10sse2(v);
        __m128d huge = _mm_cmpgt_pd(v, big);
        if (_mm_movemask_pd(huge))
            r = _mm_or_pd(_mm_andnot_pd(huge, r), _mm_and_pd(huge, Sleef_logd2_u10sse2(v)));
        _mm_storeu_pd(y + i, r);
    }
}
SSE2_BULK(expm1)
static const ad_simd_bulk sse2_table[AD_SIMD_FN_COUNT] = {
    [AD_SIMD_EXP] = sse2_exp,     [AD_SIMD_LOG] = sse2_log,     [AD_SIMD_SIN] = sse2_sin,
    [AD_SIMD_COS] = sse2_cos,     [AD_SIMD_TANH] = sse2_tanh,   [AD_SIMD_LOG1P] = sse2_log1p,
    [AD_SIMD_EXPM1] = sse2_expm1,
};
#else
#define AD_SIMD_X86 0
static const ad_simd_bulk sse2_table[AD_SIMD_FN_COUNT] = {0};
#endif

#define LIBM_BULK(name)                                                                  \
    static void libm_##name(int64_t n, double *y, const double *x)                       \
    {                                                                                    \
        for (int64_t i = 0; i < n; i++) y[i] = name(x[i]);                               \
    }
LIBM_BULK(exp)
LIBM_BULK(log)
LIBM_BULK(sin)
LIBM_BULK(cos)
LIBM_BULK(tanh)
LIBM_BULK(log1p)
LIBM_BULK(expm1)
static const ad_simd_bulk libm_table[AD_SIMD_FN_COUNT] = {
    [AD_SIMD_EXP] = libm_exp,     [AD_SIMD_LOG] = libm_log,     [AD_SIMD_SIN] = libm_sin,
    [AD_SIMD_COS] = libm_cos,     [AD_SIMD_TANH] = libm_tanh,   [AD_SIMD_LOG1P] = libm_log1p,
    [AD_SIMD_EXPM1] = libm_expm1,
};

static const ad_simd_bulk *table_of(ad_simd_isa isa)
{
    switch (isa) {
    case AD_SIMD_AVX512: return ad_simd_avx512_table;
    case AD_SIMD_AVX2: return ad_simd_avx2_table;
    case AD_SIMD_SSE2: return sse2_table;
    default: return libm_table;
    }
}

static bool isa_runs(ad_simd_isa isa)
{
    if (isa == AD_SIMD_LIBM) return true;
    if (!table_of(isa)[AD_SIMD_EXP]) return false; /* not built for this machine */
#if AD_SIMD_X86
    /* __builtin_cpu_supports checks the OS's saving of AVX state (XCR0) too */
    if (isa == AD_SIMD_AVX512) return __builtin_cpu_supports("avx512f");
    if (isa == AD_SIMD_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return isa == AD_SIMD_SSE2;
#else
    return false;
#endif
}

ad_simd_isa ad_simd_best(void)
{
    for (int isa = AD_SIMD_ISA_COUNT - 1; isa > AD_SIMD_LIBM; isa--)
        if (isa_runs((ad_simd_isa)isa)) return (ad_simd_isa)isa;
    return AD_SIMD_LIBM;
}

/* Elements packed per call for tails, strided data and sigmoid: a multiple
 * of 4, small enough for the stack. */
#define PACK 64

/* σ from e = exp(-|x|) computed by `e_k`: 1/(1 + e) for x >= 0 and
 * e/(1 + e) below, as unary.c's scalar sigmoid1 (never exp of a large
 * positive number).  m <= PACK, buf padded to a multiple of 4. */
static void sigmoid_pack(ad_simd_bulk e_k, int64_t m4, double *buf)
{
    double e[PACK];
    for (int64_t j = 0; j < m4; j++) e[j] = -fabs(buf[j]);
    e_k(m4, e, e);
    for (int64_t j = 0; j < m4; j++) buf[j] = (buf[j] >= 0 ? 1.0 : e[j]) / (1.0 + e[j]);
}

/* Gather up to PACK elements, pad with zeros to a multiple of 4, compute,
 * scatter: the tail and strided runs take the bulk kernel's lanes. */
static void run_packed(const ad_simd_bulk *tab, ad_simd_fn f, int64_t n, double *y, int64_t sy, const double *x,
                       int64_t sx)
{
    double buf[PACK];
    for (int64_t i = 0; i < n; i += PACK) {
        int64_t m = n - i < PACK ? n - i : PACK, m4 = (m + 3) & ~(int64_t)3;
        for (int64_t j = 0; j < m; j++) buf[j] = x[(i + j) * sx];
        for (int64_t j = m; j < m4; j++) buf[j] = 0;
        if (f == AD_SIMD_SIGMOID) sigmoid_pack(tab[AD_SIMD_EXP], m4, buf);
        else tab[f](m4, buf, buf);
        for (int64_t j = 0; j < m; j++) y[(i + j) * sy] = buf[j];
    }
}

static void run(const ad_simd_bulk *tab, ad_simd_fn f, int64_t n, double *y, int64_t sy, const double *x, int64_t sx)
{
    if (f == AD_SIMD_SIGMOID || sx != 1 || sy != 1) {
        run_packed(tab, f, n, y, sy, x, sx);
        return;
    }
    int64_t n4 = n & ~(int64_t)3;
    if (n4 > 0) tab[f](n4, y, x);
    if (n > n4) run_packed(tab, f, n - n4, y + n4, 1, x + n4, 1);
}

int ad_simd_run_isa(ad_simd_isa isa, ad_simd_fn f, int64_t n, double *y, int64_t sy, const double *x, int64_t sx)
{
    if ((int)isa < 0 || isa >= AD_SIMD_ISA_COUNT || (int)f < 0 || f >= AD_SIMD_FN_COUNT || !isa_runs(isa)) return -1;
    run(table_of(isa), f, n, y, sy, x, sx);
    return 0;
}

/* Without AVX2, SLEEF's SSE2 code beats glibc for exp alone (4.5 against
 * 5.6 ns an element on an AVX-512 Xeon; its log, sin, cos, tanh, log1p and
 * expm1 were 1.2-2× slower than glibc's scalar code): those stay with libm. */
static ad_simd_isa isa_for(ad_simd_isa best, ad_simd_fn f)
{
    if (best == AD_SIMD_SSE2 && f != AD_SIMD_EXP && f != AD_SIMD_SIGMOID) return AD_SIMD_LIBM;
    return best;
}

void ad_simd_run(ad_simd_fn f, int64_t n, double *y, int64_t sy, const double *x, int64_t sx)
{
    /* the CPU does not change under a process: the choice is made once
     * (two threads racing on the first call store the same value) */
    static atomic_int best = -1;
    int b = atomic_load_explicit(&best, memory_order_relaxed);
    if (b < 0) atomic_store_explicit(&best, b = (int)ad_simd_best(), memory_order_relaxed);
    run(table_of(isa_for((ad_simd_isa)b, f)), f, n, y, sy, x, sx);
}

const char *ad_simd_isa_name(ad_simd_isa isa)
{
    static const char *const names[AD_SIMD_ISA_COUNT] = {"libm", "sse2", "avx2", "avx512"};
    return (int)isa >= 0 && isa < AD_SIMD_ISA_COUNT ? names[isa] : "?";
}

const char *ad_simd_fn_name(ad_simd_fn f)
{
    static const char *const names[AD_SIMD_FN_COUNT] = {"exp",     "log",   "sin",  "cos",
                                                        "tanh",    "sigmoid", "log1p", "expm1"};
    return (int)f >= 0 && f < AD_SIMD_FN_COUNT ? names[f] : "?";
}
