/* src/ops/ew_isa.h — internal: the contiguous elementwise loops, compiled
 * once per instruction set and chosen at run time.
 *
 * The kernels of ew.c, fuse.c and unary.c's arithmetic spend their time in
 * loops over unit-stride runs.  Compiled for the x86-64 baseline those use
 * SSE2 (two doubles an instruction); ew_isa_avx2.c and ew_isa_avx512.c
 * compile the same loops (ew_isa_body.h) with -mavx2 and -mavx512f, and
 * ad_ew_isa_table() hands out the table of the instruction set simd.c
 * chose (ad_simd_best), resolved once.  At n <= 1e5 the arrays sit in L2
 * and these loops are compute-bound, which is where wider vectors pay.
 *
 * Every ISA gives the same bits: each element is computed alone (no
 * reduction here), by the same IEEE operations (+, -, ×, ÷, sqrt are
 * correctly rounded at any width; comparisons and selects are exact; pow,
 * atan2, hypot stay libm calls), and the files are compiled with
 * -ffp-contract=off so no compiler fuses a×b+c into an FMA (gcc's -std=c11
 * already implies it; clang >= 14 contracts by default).  The one freedom
 * left is a NaN's sign and payload when two NaNs meet (x86 propagates the
 * first operand, and a commutative operation's order is the compiler's):
 * both are NaN, as IEEE 754 and C allow.
 * tests/test_ew_isa.c forces each ISA and compares bit for bit; the files
 * are compiled -O3 in every build type so that test, run on Debug builds,
 * sees the vector code (CMakeLists.txt). */
#ifndef ADSCOPE_OPS_EW_ISA_H
#define ADSCOPE_OPS_EW_ISA_H

#include <stdatomic.h>
#include <stdint.h>

#include "ew.h"
#include "simd.h"

/* The loops beyond ew.def's binary kernels: AD_EWX(name, EXPR) with
 * u = a's element, v = b's, c the constant.  f* are fuse.c's rules, axpy
 * mv's row kernel (mv_rows.h), the rest unary.c's arithmetic and its fused
 * derivative kernels. */
#define AD_EW_ISA_EXTRA(AD_EWX)                     \
    AD_EWX(fneg, -u)                                \
    AD_EWX(fscale, u * c)                           \
    AD_EWX(fmul2, u * (2.0 * v))                    \
    AD_EWX(fnegmul, -(u * v))                       \
    AD_EWX(neg, -u)                                 \
    AD_EWX(relu, u > 0 ? u : (u == u ? 0.0 : u))    \
    AD_EWX(abs, fabs(u))                            \
    AD_EWX(sqrt, sqrt(u))                           \
    AD_EWX(square, u * u)                           \
    AD_EWX(sign, u > 0 ? 1.0 : u < 0 ? -1.0 : u)    \
    AD_EWX(tanh_bw, u * (1.0 - v * v))              \
    AD_EWX(sigmoid_bw, u * v * (1.0 - v))           \
    AD_EWX(mask, v > 0 ? u : 0.0)                   \
    AD_EWX(axpy, u + c * v)

/* AD_EWI_add, ... (ew.def's, same order as ad_ew_kind), then
 * AD_EWI_fneg, ...  */
#define AD_EW(name, EXPR) AD_EWI_##name,
#define AD_EWX(name, EXPR) AD_EWI_##name,
typedef enum {
#include "ew.def"
    AD_EW_ISA_EXTRA(AD_EWX) AD_EWI_COUNT
} ad_ew_isa_kind;
#undef AD_EW
#undef AD_EWX

/* The layouts of a run: both operands unit stride (VV), b a broadcast
 * scalar *b (VS), a a broadcast scalar *a (SV); y always unit stride.
 * Unary loops ignore b: their callers pass a again (VV). */
typedef enum { AD_EWL_VV, AD_EWL_VS, AD_EWL_SV, AD_EWL_COUNT } ad_ew_layout;

/* y[0..n) = EXPR; y may be a or b itself (each element is read before it
 * is written), never a partial overlap. */
typedef void (*ad_ew_isa_fn)(int64_t n, double *y, const double *a, const double *b, double c);
typedef ad_ew_isa_fn ad_ew_isa_tab[AD_EWI_COUNT][AD_EWL_COUNT];

/* Per ISA (ew_isa.c, ew_isa_avx2.c, ew_isa_avx512.c); the AVX tables are
 * all NULL where the build has no such code (another architecture). */
extern const ad_ew_isa_tab ad_ew_isa_base, ad_ew_isa_avx2, ad_ew_isa_avx512;

/* The table in use: chosen by ad_simd_best() on the first call (AVX-512F,
 * AVX2, else the baseline), unless ad_ew_isa_use() set one. */
const ad_ew_isa_tab *ad_ew_isa_table(void);

/* Use `isa`'s loops from now on (AD_SIMD_LIBM and AD_SIMD_SSE2 both mean
 * the baseline); for tests and measurements.  Returns 0, or -1 when this
 * CPU or build cannot run it (nothing changed). */
int ad_ew_isa_use(ad_simd_isa isa);
/* The ISA whose loops are in use. */
ad_simd_isa ad_ew_isa_current(void);

/* The table in use once resolved (NULL before the first ad_ew_isa_table):
 * read inline so that a 1-element op pays one load, not a call and the
 * resolution's tests (~10 of a plain op's ~340 instructions). */
extern _Atomic(const ad_ew_isa_tab *) ad_ew_isa_in_use;

/* y = kind(a, b, c) over one run with the loops in use. */
static inline void ad_ew_isa_run(ad_ew_isa_kind kind, ad_ew_layout l, int64_t n, double *y, const double *a,
                                 const double *b, double c)
{
    const ad_ew_isa_tab *t = atomic_load_explicit(&ad_ew_isa_in_use, memory_order_relaxed);
    (*(t ? t : ad_ew_isa_table()))[kind][l](n, y, a, b, c);
}

#endif
