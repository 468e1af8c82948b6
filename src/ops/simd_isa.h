/* src/ops/simd_isa.h — internal to simd.c and its per-instruction-set
 * files: the one kernel type they share.  A bulk kernel computes
 * y[0..n) = f(x[0..n)) for n a multiple of 4 (y == x allowed). */
#ifndef ADSCOPE_OPS_SIMD_ISA_H
#define ADSCOPE_OPS_SIMD_ISA_H

#include "simd.h"

typedef void (*ad_simd_bulk)(int64_t n, double *y, const double *x);

/* simd_avx2.c: NULL entries where the build has no AVX2 code. */
extern const ad_simd_bulk ad_simd_avx2_table[AD_SIMD_FN_COUNT];
/* simd_avx512.c: likewise for AVX-512F. */
extern const ad_simd_bulk ad_simd_avx512_table[AD_SIMD_FN_COUNT];

#endif
