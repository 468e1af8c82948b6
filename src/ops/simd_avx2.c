/* src/ops/simd_avx2.c — the AVX2 + FMA kernels of simd.h: SLEEF's u10
 * functions four doubles at a time.  This file alone is compiled with
 * -mavx2 -mfma (CMakeLists.txt), so nothing here runs unless simd.c found
 * AVX2 and FMA at run time; without those flags (another architecture) the
 * table is empty and simd.c falls back. */
#include "simd_isa.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#include <sleef.h>

/* y[0..n) = f(x[0..n)), n a multiple of 4; y == x allowed. */
#define AVX2_BULK(name)                                                                   \
    static void avx2_##name(int64_t n, double *y, const double *x)                        \
    {                                                                                     \
        for (int64_t i = 0; i < n; i += 4)                                                \
            _mm256_storeu_pd(y + i, Sleef_##name##d4_u10avx2(_mm256_loadu_pd(x + i)));    \
    }

AVX2_BULK(exp)
AVX2_BULK(log)
AVX2_BULK(sin)
AVX2_BULK(cos)
AVX2_BULK(tanh)

/* SLEEF 3.5's log1p overflows to inf above about 1.5e307; there
 * log1p(x) = log(x) + log1p(1/x) rounds to log(x) (1/x < 1e-300 against an
 * ulp of 1e-13), so those lanes take log. */
static void avx2_log1p(int64_t n, double *y, const double *x)
{
    const __m256d big = _mm256_set1_pd(1e300);
    for (int64_t i = 0; i < n; i += 4) {
        __m256d v = _mm256_loadu_pd(x + i), r = Sleef_log1pd4_u10avx2(v);
        __m256d huge = _mm256_cmp_pd(v, big, _CMP_GT_OQ);
        if (_mm256_movemask_pd(huge)) r = _mm256_blendv_pd(r, Sleef_logd4_u10avx2(v), huge);
        _mm256_storeu_pd(y + i, r);
    }
}
AVX2_BULK(expm1)

const ad_simd_bulk ad_simd_avx2_table[AD_SIMD_FN_COUNT] = {
    [AD_SIMD_EXP] = avx2_exp,     [AD_SIMD_LOG] = avx2_log,     [AD_SIMD_SIN] = avx2_sin,
    [AD_SIMD_COS] = avx2_cos,     [AD_SIMD_TANH] = avx2_tanh,   [AD_SIMD_LOG1P] = avx2_log1p,
    [AD_SIMD_EXPM1] = avx2_expm1, /* sigmoid: from exp, in simd.c */
};
#else
const ad_simd_bulk ad_simd_avx2_table[AD_SIMD_FN_COUNT] = {0};
#endif
