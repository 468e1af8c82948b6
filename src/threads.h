/* src/threads.h — internal: running a loop over [0, n) on the threads
 * ad_set_num_threads allows (ad_par_*).  Without OpenMP (ADSCOPE_OPENMP
 * off) everything runs on the calling thread. */
#ifndef ADSCOPE_THREADS_INTERNAL_H
#define ADSCOPE_THREADS_INTERNAL_H

#include <adscope/threads.h>
#include <stdint.h>

/* Gives the BLAS the setting before its first use when the program never
 * called ad_set_num_threads (the BLAS's own default is every core).  Called
 * by every BLAS call site (src/ops/linalg.c); one relaxed load after the
 * first. */
void ad_blas_threads_sync(void);

/* A part of the work: elements [lo, hi). */
typedef void (*ad_par_fn)(int64_t lo, int64_t hi, void *ud);

/* The threads a loop of n elements should use: 1 below AD_PARALLEL_MIN or
 * without OpenMP, else min(setting, n / (AD_PARALLEL_MIN / 2)) so that each
 * thread gets enough work to pay for waking it. */
int ad_par_threads(int64_t n);

/* Calls fn on `parts` contiguous chunks of [0, n) covering it in order,
 * chunk k on some thread; chunk boundaries depend only on n and parts, so
 * a kernel whose elements do not interact gives the same bits whatever
 * thread ran which chunk.  parts <= 1 calls fn(0, n) on this thread. */
void ad_par_chunks(int64_t n, int parts, ad_par_fn fn, void *ud);

#endif
