/* src/threads.c — the process-wide thread setting (ad_set_num_threads),
 * handed to the BLAS, and the one place that starts OpenMP threads
 * (ad_par_chunks).  See include/adscope/threads.h for what runs in
 * parallel and why the results do not depend on the thread count. */
#include <stdatomic.h>

#include "internal.h"
#include "threads.h"

#if ADSCOPE_BLAS_OPENBLAS
/* OpenBLAS's own setter (cblas.h of some OpenBLAS builds declares it; the
 * declaration is repeated so any of its headers will do). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif

/* One thread unless the program asks: see threads.h for why. */
static atomic_int g_threads = 1;
/* Whether the BLAS has been given the setting.  OpenBLAS starts with one
 * thread per core of its own accord, so a program that never called the
 * setter ran its products on every core while ad_get_num_threads() said
 * 1 (mlp's dgemv: 0.7 ms on two threads, 1.4 ms on one, here). */
static atomic_bool g_blas_told = false;

int ad_set_num_threads(int n)
{
    if (n < 1 || n > AD_MAX_THREADS)
        return ad_error(NULL, AD_EINVAL, "set_num_threads: %d threads is out of range (1 .. %d)", n,
                        AD_MAX_THREADS);
    atomic_store(&g_threads, n);
    atomic_store(&g_blas_told, true);
#if ADSCOPE_BLAS_OPENBLAS
    openblas_set_num_threads(n);
#endif
    return AD_OK;
}

void ad_blas_threads_sync(void)
{
    if (atomic_load_explicit(&g_blas_told, memory_order_relaxed) || atomic_exchange(&g_blas_told, true)) return;
#if ADSCOPE_BLAS_OPENBLAS
    openblas_set_num_threads(atomic_load(&g_threads));
#endif
}

int ad_get_num_threads(void) { return atomic_load(&g_threads); }

bool ad_threads_openmp(void)
{
#ifdef ADSCOPE_OPENMP
    return true;
#else
    return false;
#endif
}

int ad_blas_num_threads(void)
{
#if ADSCOPE_BLAS_OPENBLAS
    ad_blas_threads_sync(); /* what the next product will use */
    return openblas_get_num_threads();
#else
    return -1;
#endif
}

int ad_par_threads(int64_t n)
{
#ifdef ADSCOPE_OPENMP
    int t = atomic_load(&g_threads);
    if (t <= 1 || n < AD_PARALLEL_MIN) return 1;
    int64_t most = n / (AD_PARALLEL_MIN / 2); /* >= 2 here */
    return most < t ? (int)most : t;
#else
    (void)n;
    return 1;
#endif
}

void ad_par_chunks(int64_t n, int parts, ad_par_fn fn, void *ud)
{
    if (parts <= 1 || n <= 1) {
        fn(0, n, ud);
        return;
    }
#ifdef ADSCOPE_OPENMP
    /* static schedule: chunk k is [k·n/parts, (k+1)·n/parts), fixed by n
     * and parts alone */
#pragma omp parallel for num_threads(parts) schedule(static, 1)
    for (int k = 0; k < parts; k++) fn(n * k / parts, n * (k + 1) / parts, ud);
#else
    for (int k = 0; k < parts; k++) fn(n * k / parts, n * (k + 1) / parts, ud);
#endif
}
