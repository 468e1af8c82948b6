/* src/ops/mv_rows_avx512.c — mv's row kernel (mv_rows.h) four rows a pass,
 * compiled with -O3 -mavx512f -ffp-contract=off (CMakeLists.txt): eight
 * doubles an instruction, and z loaded and stored once per four rows
 * instead of once per row (the blocked replay's second read of A's rows
 * comes from L2, where those loads and stores were a quarter of mlp's
 * gradient).  z_j = (((z_j + w0·a0j) + w1·a1j) + w2·a2j) + w3·a3j is the
 * one-row kernel's order, so the bits are the same.  Called only when
 * ew_isa.c runs AVX-512F; without the flag (another architecture) it is
 * absent and ad_mv_rows4_avx512_built is false. */
#include "mv_rows.h"

#if defined(__AVX512F__)
void ad_mv_rows4_avx512(int64_t n, double *restrict z, const double *restrict a, int64_t ld, const double *w)
{
    const double *restrict a0 = a, *restrict a1 = a + ld, *restrict a2 = a1 + ld, *restrict a3 = a2 + ld;
    double w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    for (int64_t j = 0; j < n; j++) z[j] = (((z[j] + w0 * a0[j]) + w1 * a1[j]) + w2 * a2[j]) + w3 * a3[j];
}
const bool ad_mv_rows4_avx512_built = true;
#else
void ad_mv_rows4_avx512(int64_t n, double *restrict z, const double *restrict a, int64_t ld, const double *w)
{
    (void)n, (void)z, (void)a, (void)ld, (void)w;
}
const bool ad_mv_rows4_avx512_built = false;
#endif
