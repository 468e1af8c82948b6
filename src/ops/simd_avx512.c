/* src/ops/simd_avx512.c — the AVX-512 kernels of simd.h: SLEEF's u10
 * functions eight doubles at a time.  This file alone is compiled with
 * -mavx512f (CMakeLists.txt), so nothing here runs unless simd.c found
 * AVX-512F at run time.  On the Xeon of docs/PERFORMANCE.md they take
 * 1.34 ns an element for exp (AVX2: 1.64), 1.23 for sin (2.26), 3.6 for
 * tanh (5.3): softmax_ce, expsin and chain spend most of their time there. */
#include "simd_isa.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#include <sleef.h>

/* y[0..n) = f(x[0..n)), n a multiple of 4 (simd_isa.h): blocks of 8, and a
 * last half block padded with zeros through the same function, so every
 * element takes the same lanes' code whatever n. */
#define AVX512_BULK(name, F)                                                              \
    static void avx512_##name(int64_t n, double *y, const double *x)                      \
    {                                                                                     \
        int64_t i = 0;                                                                    \
        for (; i + 8 <= n; i += 8) _mm512_storeu_pd(y + i, F(_mm512_loadu_pd(x + i)));    \
        if (i < n) {                                                                      \
            double b[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                       \
            for (int j = 0; j < n - i; j++) b[j] = x[i + j];                              \
            _mm512_storeu_pd(b, F(_mm512_loadu_pd(b)));                                   \
            for (int j = 0; j < n - i; j++) y[i + j] = b[j];                              \
        }                                                                                 \
    }

/* SLEEF 3.5's log1p overflows to inf above about 1.5e307, where log1p(x)
 * rounds to log(x): those lanes take log (as simd_avx2.c). */
static __m512d log1p8(__m512d v)
{
    __m512d r = Sleef_log1pd8_u10avx512f(v);
    __mmask8 huge = _mm512_cmp_pd_mask(v, _mm512_set1_pd(1e300), _CMP_GT_OQ);
    return huge ? _mm512_mask_blend_pd(huge, r, Sleef_logd8_u10avx512f(v)) : r;
}

AVX512_BULK(exp, Sleef_expd8_u10avx512f)
AVX512_BULK(log, Sleef_logd8_u10avx512f)
AVX512_BULK(sin, Sleef_sind8_u10avx512f)
AVX512_BULK(cos, Sleef_cosd8_u10avx512f)
AVX512_BULK(tanh, Sleef_tanhd8_u10avx512f)
AVX512_BULK(log1p, log1p8)
AVX512_BULK(expm1, Sleef_expm1d8_u10avx512f)

const ad_simd_bulk ad_simd_avx512_table[AD_SIMD_FN_COUNT] = {
    [AD_SIMD_EXP] = avx512_exp,     [AD_SIMD_LOG] = avx512_log,     [AD_SIMD_SIN] = avx512_sin,
    [AD_SIMD_COS] = avx512_cos,     [AD_SIMD_TANH] = avx512_tanh,   [AD_SIMD_LOG1P] = avx512_log1p,
    [AD_SIMD_EXPM1] = avx512_expm1, /* sigmoid: from exp, in simd.c */
};
#else
const ad_simd_bulk ad_simd_avx512_table[AD_SIMD_FN_COUNT] = {0};
#endif
