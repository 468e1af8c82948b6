/* src/ops/ew_isa.c — the baseline copy of the contiguous elementwise
 * loops (SSE2 on x86-64) and the run-time choice among the copies (see
 * ew_isa.h). */
#include <stdatomic.h>
#include <stddef.h>

#define EW_ISA_TABLE ad_ew_isa_base
#include "ew_isa_body.h"

static const ad_ew_isa_tab *table_of(ad_simd_isa isa)
{
    switch (isa) {
    case AD_SIMD_AVX512: return &ad_ew_isa_avx512;
    case AD_SIMD_AVX2: return &ad_ew_isa_avx2;
    default: return &ad_ew_isa_base;
    }
}

/* Whether `isa`'s loops exist in this build and run on this CPU (AVX2's
 * loops need AVX2 alone, but simd.c's choice, which asks FMA too, decides
 * the default: one ISA for the whole library). */
static bool isa_runs(ad_simd_isa isa)
{
    if ((int)isa < 0 || isa >= AD_SIMD_ISA_COUNT) return false;
    if (isa != AD_SIMD_AVX2 && isa != AD_SIMD_AVX512) return true;
    if (!(*table_of(isa))[AD_EWI_add][AD_EWL_VV]) return false; /* not built for it */
#if defined(__x86_64__)
    return isa == AD_SIMD_AVX512 ? __builtin_cpu_supports("avx512f") : __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

/* -1 until the first call; then the ISA in use.  The CPU does not change
 * under a process, so two threads racing on the first call store the same
 * value; ad_ew_isa_use (tests) stores another. */
static atomic_int current = -1;

ad_simd_isa ad_ew_isa_current(void)
{
    int c = atomic_load_explicit(&current, memory_order_relaxed);
    if (c < 0) {
        ad_simd_isa best = ad_simd_best();
        c = isa_runs(best) ? (int)best : (int)AD_SIMD_SSE2;
        atomic_store_explicit(&current, c, memory_order_relaxed);
    }
    return (ad_simd_isa)c;
}

_Atomic(const ad_ew_isa_tab *) ad_ew_isa_in_use = NULL;

const ad_ew_isa_tab *ad_ew_isa_table(void)
{
    const ad_ew_isa_tab *t = table_of(ad_ew_isa_current());
    atomic_store_explicit(&ad_ew_isa_in_use, t, memory_order_relaxed);
    return t;
}

int ad_ew_isa_use(ad_simd_isa isa)
{
    if (!isa_runs(isa)) return -1;
    atomic_store_explicit(&current, (int)isa, memory_order_relaxed);
    atomic_store_explicit(&ad_ew_isa_in_use, table_of(isa), memory_order_relaxed);
    return 0;
}
