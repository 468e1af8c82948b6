/* src/ops/lse_avx512.c — logsumexp's passes with AVX-512F (lse_simd.h
 * says what each matches to the bit).  This file alone is compiled with
 * -mavx512f (CMakeLists.txt); nothing here runs unless ad_simd_best()
 * found AVX-512F at run time. */
#include "lse_simd.h"

#include <math.h>
#include <stdatomic.h>

#include "simd.h"

bool ad_lse_avx512_ok(void)
{
#if defined(__AVX512F__)
    /* the CPU does not change under a process: asked once (two threads
     * racing on the first call store the same value, as simd.c's) */
    static atomic_int ok = -1;
    int v = atomic_load_explicit(&ok, memory_order_relaxed);
    if (v < 0) atomic_store_explicit(&ok, v = ad_simd_best() == AD_SIMD_AVX512, memory_order_relaxed);
    return v == 1;
#else
    return false;
#endif
}

#if defined(__AVX512F__)
#include <immintrin.h>
#include <sleef.h>

/* One chain: lane j's maximum as the elements come (ties keep the first). */
static __m512d max_chain(const double *x, int64_t n8, __m512d l, __mmask8 *nan)
{
    for (int64_t i = 0; i < n8; i += 8) {
        __m512d v = _mm512_loadu_pd(x + i);
        l = _mm512_max_pd(v, l); /* maxpd: v > l ? v : l, lane by lane */
        *nan |= _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
    }
    return l;
}

/* Four chains over alternate blocks of eight (one chain waits on maxpd's
 * latency, four keep the unit busy), merged lane by lane.  Distinct values
 * give one maximum whatever the order; only a tie of +0 and -0 depends on
 * it, so a lane whose maximum is zero is done again as one chain. */
bool ad_lse_avx512_max8(const double *x, int64_t n8, double *lanes)
{
    __m512d l[4];
    __mmask8 nan = 0;
    for (int c = 0; c < 4; c++) l[c] = _mm512_set1_pd(-INFINITY);
    int64_t i = 0;
    for (; i + 32 <= n8; i += 32)
        for (int c = 0; c < 4; c++) {
            __m512d v = _mm512_loadu_pd(x + i + 8 * c);
            l[c] = _mm512_max_pd(v, l[c]);
            nan |= _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
        }
    __m512d m = max_chain(x + i, n8 - i, _mm512_max_pd(_mm512_max_pd(l[3], l[2]), _mm512_max_pd(l[1], l[0])), &nan);
    if (_mm512_cmp_pd_mask(m, _mm512_setzero_pd(), _CMP_EQ_OQ))
        m = max_chain(x, n8, _mm512_set1_pd(-INFINITY), &nan);
    _mm512_storeu_pd(lanes, m);
    return nan != 0;
}

double ad_lse_avx512_expsum(const double *x, int64_t n, double a, double *w)
{
    __m512d r = _mm512_setzero_pd(), va = _mm512_set1_pd(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d e = Sleef_expd8_u10avx512f(_mm512_sub_pd(_mm512_loadu_pd(x + i), va));
        _mm512_storeu_pd(w + i, e);
        r = _mm512_add_pd(r, e);
    }
    double s[8];
    _mm512_storeu_pd(s, r);
    double t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    if (i < n) { /* the tail through the same lanes' function, padded */
        double b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t j = 0; j < n - i; j++) b[j] = x[i + j] - a;
        _mm512_storeu_pd(b, Sleef_expd8_u10avx512f(_mm512_loadu_pd(b)));
        for (int64_t j = 0; j < n - i; j++) {
            w[i + j] = b[j];
            t += b[j];
        }
    }
    return t;
}

void ad_lse_avx512_scale(int64_t n, double *z, const double *w, double f)
{
    __m512d vf = _mm512_set1_pd(f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm512_storeu_pd(z + i, _mm512_mul_pd(vf, _mm512_loadu_pd(w + i)));
    for (; i < n; i++) z[i] = f * w[i];
}
#else
/* never called: ad_lse_avx512_ok() is false */
bool ad_lse_avx512_max8(const double *x, int64_t n8, double *lanes)
{
    (void)x;
    (void)n8;
    (void)lanes;
    return false;
}
double ad_lse_avx512_expsum(const double *x, int64_t n, double a, double *w)
{
    (void)x;
    (void)n;
    (void)a;
    (void)w;
    return 0;
}
void ad_lse_avx512_scale(int64_t n, double *z, const double *w, double f)
{
    (void)n;
    (void)z;
    (void)w;
    (void)f;
}
#endif
