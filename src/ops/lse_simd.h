/* src/ops/lse_simd.h — internal: logsumexp's passes over one contiguous
 * run, eight lanes at a time with AVX-512F (src/ops/lse_avx512.c, the one
 * file compiled with -mavx512f), for reduce.c.  Each gives the same bits
 * as reduce.c's portable loop it stands for: the same lanes (lane j takes
 * the elements i with i mod 8 = j), the same operations in each lane, the
 * same SLEEF exponential as ad_simd_run on a CPU with AVX-512F; only the
 * instructions are wider (the SSE2 loops take two lanes per instruction,
 * and at n = 1e5, in L2, they were most of the time beside exp). */
#ifndef ADSCOPE_OPS_LSE_SIMD_H
#define ADSCOPE_OPS_LSE_SIMD_H

#include <stdbool.h>
#include <stdint.h>

/* Whether this build and CPU run the kernels below (AVX-512F, chosen as
 * ad_simd_run chooses: ad_simd_best). */
bool ad_lse_avx512_ok(void);

/* The eight lanes' maxima of x[0..n8), n8 a multiple of 8, as
 * _mm_max_pd(v, lane) folds them (a NaN lost, an equal value kept), into
 * lanes[8]; returns whether x[0..n8) holds a NaN. */
bool ad_lse_avx512_max8(const double *x, int64_t n8, double *lanes);

/* w[i] = exp(x[i] - a) for i < n (n <= 128) and their sum as reduce.c's
 * pw_id block adds them: eight lane sums, combined
 * ((0+1)+(2+3))+((4+5)+(6+7)), then the tail added in order. */
double ad_lse_avx512_expsum(const double *x, int64_t n, double a, double *w);

/* z[i] = f·w[i], i < n. */
void ad_lse_avx512_scale(int64_t n, double *z, const double *w, double f);

#endif
