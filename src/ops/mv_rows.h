/* src/ops/mv_rows.h — internal: mv's two kernels (linalg.c), shared with
 * reverse-replay (src/replay_mv.c) so that a replayed product has the
 * bits of ad_mv's.
 *
 * y = A x runs on the BLAS (dgemv, A read row by row).  z = Aᵀ w, the
 * gradient of x, is adscope's own: z_j = (...((0 + w_0·a_0j) + w_1·a_1j)
 * ...) + w_{m-1}·a_{m-1,j}, rows added in order, each product rounded
 * before it is added.  Why not the BLAS: its order of accumulation is its
 * own (OpenBLAS 0.3.21 sums Aᵀw over the whole matrix at once, and rows
 * taken a chunk at a time give other bits, measured), while this order
 * is a property of each element alone, so any partition of the rows
 * taken in order, any column tiles and any instruction set give the same
 * bits.  That is what lets the blocked replay read a row of A once:
 * forward, then its share of the gradient while the row is in cache.
 * The forward is partition-free too, as far as measured: OpenBLAS's y = A x
 * over row chunks starting at multiples of 4 equals the whole product bit
 * for bit (tests/test_replay_mv.c holds it; the replay's self-check would
 * catch a BLAS where it does not). */
#ifndef ADSCOPE_OPS_MV_ROWS_H
#define ADSCOPE_OPS_MV_ROWS_H

#include <stdbool.h>
#include <stdint.h>

/* y[0..r) = M x for the [r, c] matrix M at a with strides (s0, s1), x
 * with stride sx (BLAS's rules: a negative stride starts at the lowest
 * address), as ad_mv computes it: the BLAS when M is row-major, the row
 * kernel below when M is the transpose of a row-major matrix.  False (and
 * nothing written) when neither holds, or when x's stride is one the BLAS
 * cannot take (0, or beyond an int): ad_mv copies such an x first, and
 * such a matrix when this refuses it. */
bool ad_mv_strided(int64_t r, int64_t c, const double *a, int64_t s0, int64_t s1, const double *x, int64_t sx,
                   double *y);

/* z[0..n) += Σ_{i<m} w_i·A_i for row-major A [m, n] (rows ld apart) and
 * w with increment iw (negative: BLAS's rule), rows in order. */
void ad_mv_rows_axpy(int64_t m, int64_t n, const double *a, int64_t ld, const double *w, int64_t iw, double *z);

/* z[0..n) = (((z + w[0]·A_0) + w[1]·A_1) + w[2]·A_2) + w[3]·A_3 for four
 * rows ld apart, with AVX-512F (mv_rows_avx512.c); only when
 * ad_mv_rows4_avx512_built and ew_isa.c runs AVX-512F. */
void ad_mv_rows4_avx512(int64_t n, double *restrict z, const double *restrict a, int64_t ld, const double *w);
extern const bool ad_mv_rows4_avx512_built;

#endif
