/* adscope/threads.h — how many threads one operation may use (intra-op
 * threads) and the BLAS's thread count: one process-wide setting.
 *
 * By default every operation runs on the calling thread: results are then
 * the same on every machine, and a program that runs one context per thread
 * (docs/ARCHITECTURE.md, "Threads") is not oversubscribed.  A program that
 * wants one large computation to use several cores says so:
 *
 *     int before = ad_get_num_threads();     // 1 unless changed
 *     if (ad_set_num_threads(2) != AD_OK) fprintf(stderr, "no: bad count\n");
 *     // ... large ops here use up to 2 threads ...
 *     ad_set_num_threads(before);
 *
 * What uses the threads (only when the library was built with OpenMP,
 * ad_threads_openmp(); otherwise the setting reaches only the BLAS):
 *   - elementwise binary kernels (add, mul, pow, comparisons, ...) of at
 *     least AD_PARALLEL_MIN elements: split into contiguous chunks, each
 *     element computed exactly as on one thread, so results are
 *     bit-identical whatever the thread count;
 *   - full sums and means of at least AD_PARALLEL_MIN contiguous elements:
 *     the pairwise summation tree (src/ops/reduce.c) has its top subtrees
 *     computed on different threads and combined in the same order, so the
 *     result is bit-identical to one thread's as well;
 *   - the BLAS: when it is OpenBLAS, openblas_set_num_threads(n).
 * Below the threshold, starting threads costs more than the loop.
 *
 * The setting is process-wide (an atomic int), like the BLAS's: a thread
 * may change it while others compute; each operation reads it once. */
#ifndef ADSCOPE_THREADS_H
#define ADSCOPE_THREADS_H

#include <stdbool.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Elements below which an operation stays on one thread. */
#define AD_PARALLEL_MIN 32768

/* Sets the number of threads an operation may use (1 .. AD_MAX_THREADS)
 * and the BLAS's.  AD_OK, or AD_EINVAL (reported through the error
 * handler, with no context) for a count out of range; the setting is then
 * unchanged. */
#define AD_MAX_THREADS 1024
AD_API int ad_set_num_threads(int n);
/* The current setting (1 by default). */
AD_API int ad_get_num_threads(void);
/* True when the library was built with OpenMP (CMake option
 * ADSCOPE_OPENMP): only then do its own kernels use more than one thread. */
AD_API bool ad_threads_openmp(void);
/* The BLAS's own thread count when it can be asked (OpenBLAS), else -1. */
AD_API int ad_blas_num_threads(void);

#ifdef __cplusplus
}
#endif
#endif
