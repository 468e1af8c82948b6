/* bench/gradbench/sweep.c — the GradBench evals as functions of the
 * benchmark harness: "gb:<eval>" in --functions, swept over the eval's size
 * parameter like a suite function (each eval's file defines its
 * ad_bench_fn: inputs at a size, the function whose gradient is timed,
 * theory exponents).  Not in "all": the suite stays the synthetic six. */
#include <string.h>

#include "bench.h"
#include "gb_impl.h"

static const ad_bench_fn *const GB_FNS[] = {&ad_bench_gb_llsq, &ad_bench_gb_lse,    &ad_bench_gb_det,
                                            &ad_bench_gb_ode,  &ad_bench_gb_kmeans, &ad_bench_gb_gmm,
                                            &ad_bench_gb_lstm, &ad_bench_gb_ht};
#define NGB ((int)(sizeof GB_FNS / sizeof GB_FNS[0]))

int ad_bench_gradbench_count(void) { return NGB; }

const ad_bench_fn *ad_bench_gradbench_at(int i) { return i >= 0 && i < NGB ? GB_FNS[i] : NULL; }

const ad_bench_fn *ad_bench_gradbench_find(const char *name)
{
    for (int i = 0; name && i < NGB; i++)
        if (strcmp(GB_FNS[i]->name, name) == 0) return GB_FNS[i];
    return NULL;
}
