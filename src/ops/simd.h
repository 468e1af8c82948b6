/* src/ops/simd.h — internal: SIMD transcendental kernels over arrays of
 * doubles, from SLEEF's 1-ulp functions (the u10 family).
 *
 * Why SLEEF and not libm: glibc's exp, log, sin, ... are scalar calls of
 * 5-20 ns each, which make exp-heavy ops (softmax, logsumexp, expsin's
 * exp(-x²)) compute-bound at 5-10× the memory bandwidth cost.  SLEEF's u10
 * functions keep the error within 1.0 ulp of the exact result (as glibc's
 * do), so rules and values keep the 1e-14 agreement between modes; the
 * accuracy is checked against libm and long double on a dense sample by
 * tests/test_simd.c.
 *
 * Every element goes through the same vector function whatever its
 * position or layout: the tail of an array and strided data are packed into
 * one vector's worth of lanes, never handed to libm.  So y = f(x) depends
 * on x alone, not on the tensor's layout or length (a transposed view and
 * its contiguous copy give bit-identical results).
 *
 * The instruction set is chosen at run time: AVX-512F, else AVX2 + FMA,
 * when the CPU (and the OS) supports it; else SSE2 on x86-64 for exp and sigmoid, where it
 * beats glibc (simd.c), and libm for the rest and elsewhere. */
#ifndef ADSCOPE_OPS_SIMD_H
#define ADSCOPE_OPS_SIMD_H

#include <stdint.h>

/* The functions.  sigmoid is computed from SLEEF's exp as the scalar
 * kernel does (1/(1 + e^-x) for x >= 0, e^x/(1 + e^x) below). */
typedef enum {
    AD_SIMD_EXP,
    AD_SIMD_LOG,
    AD_SIMD_SIN,
    AD_SIMD_COS,
    AD_SIMD_TANH,
    AD_SIMD_SIGMOID,
    AD_SIMD_LOG1P,
    AD_SIMD_EXPM1,
    AD_SIMD_FN_COUNT
} ad_simd_fn;

/* The instruction sets, best last. */
typedef enum { AD_SIMD_LIBM, AD_SIMD_SSE2, AD_SIMD_AVX2, AD_SIMD_AVX512, AD_SIMD_ISA_COUNT } ad_simd_isa;

/* y[i·sy] = f(x[i·sx]) for 0 <= i < n, with the best instruction set of
 * this CPU.  y and x may be the same array (in place) with equal strides. */
void ad_simd_run(ad_simd_fn f, int64_t n, double *y, int64_t sy, const double *x, int64_t sx);

/* The same with a given instruction set (tests compare them).  Returns 0,
 * or -1 without touching y when this CPU cannot run `isa`. */
int ad_simd_run_isa(ad_simd_isa isa, ad_simd_fn f, int64_t n, double *y, int64_t sy, const double *x, int64_t sx);

/* The best instruction set of this CPU (ad_simd_run uses it, but libm
 * instead of SSE2 for all but exp and sigmoid), and names. */
ad_simd_isa ad_simd_best(void);
const char *ad_simd_isa_name(ad_simd_isa isa);
const char *ad_simd_fn_name(ad_simd_fn f);

#endif
