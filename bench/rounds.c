/* bench/rounds.c — timing in interleaved rounds (bench.h): how many calls
 * a round times, the median of each round, and the robust statistics of a
 * cell: the best round median and the spread of the round medians.  The
 * harness (harness.c) runs the rounds; this file only decides and sums up,
 * so the rules can be tested without a clock. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int ad_bench_round_reps(const ad_bench_config *cfg, const ad_bench_timing *t, int round, int nrounds)
{
    int left = nrounds - round; /* this round and the later ones */
    int room = cfg->max_reps - t->n - (left - 1);
    if (room < 1 || left < 1) return 0;
    double per = (cfg->min_time - t->total) / left;
    double want = t->last > 0 ? ceil(per / t->last) : 1;
    int need = (cfg->min_reps - t->n + left - 1) / left; /* min_reps spread over the rounds left */
    int m = want > (double)room ? room : (int)fmax(want, 1);
    if (m < need) m = need;
    return m < room ? m : room;
}

void ad_bench_round_close(ad_bench_timing *t, int first)
{
    int k = t->n - first;
    if (k < 1 || t->rounds >= AD_BENCH_MAX_ROUNDS) return;
    double *v = malloc((size_t)k * sizeof *v);
    if (!v) return;
    memcpy(v, t->times + first, (size_t)k * sizeof *v);
    t->med[t->rounds++] = ad_bench_median(v, k);
    free(v);
}

void ad_bench_timing_stats(const ad_bench_timing *t, double out[3], double *best, double *spread)
{
    out[0] = out[1] = out[2] = *best = *spread = NAN;
    if (t->n < 1) return;
    double *v = malloc((size_t)t->n * sizeof *v);
    if (v) {
        memcpy(v, t->times, (size_t)t->n * sizeof *v);
        out[1] = ad_bench_median(v, t->n); /* sorts v */
        out[0] = v[0];
        out[2] = v[t->n - 1];
        free(v);
    }
    if (t->rounds < 1) return;
    /* the median round against the best: one round of a preempted process
     * (10x slower) moves it not at all, a machine slow in most rounds does */
    double m[AD_BENCH_MAX_ROUNDS];
    memcpy(m, t->med, (size_t)t->rounds * sizeof *m);
    double mid = ad_bench_median(m, t->rounds); /* sorts m */
    *best = m[0];
    if (t->rounds > 1 && m[0] > 0) *spread = mid / m[0] - 1;
}

bool ad_bench_too_noisy(double spread) { return spread > AD_BENCH_NOISE_LIMIT; }
