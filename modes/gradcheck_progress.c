/* modes/gradcheck_progress.c — telling a waiting user what is going on.
 * The library never prints: it calls options.progress, and the text to
 * print comes from a pure function (ad_gradcheck_progress_text), so that
 * when to speak and when to suggest fast mode are tested without a clock. */
#include <stdio.h>

#include "gradcheck_impl.h"

#define QUIET_SECONDS 2.0 /* a check shorter than this says nothing */
#define HINT_N 1000       /* from this many coordinates on, suggest fast mode */

int64_t ad_gradcheck_cost(int64_t n, bool fast, int directions)
{
    /* full: the reference's tableau (~2 × 10 evaluations, a second run
     * for some coordinates) and the kink probe (2-4) per coordinate;
     * fast: one tableau per direction */
    if (fast) return (int64_t)(directions > 0 ? directions : 4) * 30 + 60;
    return 30 * n + 60;
}

bool ad_gradcheck_progress_text(char *buf, size_t size, const char *stage, double fraction, double seconds,
                                int64_t n, bool fast)
{
    if (!buf || size == 0 || !(seconds >= QUIET_SECONDS)) return false;
    int pct = fraction < 0 ? 0 : fraction > 1 ? 100 : (int)(100 * fraction);
    int k = snprintf(buf, size, "%s %d%% (%.0f s)", stage ? stage : "checking", pct, seconds);
    if (!fast && n >= HINT_N && k > 0 && (size_t)k < size)
        snprintf(buf + k, size - (size_t)k,
                 "; the full check evaluates f about %lld times for n = %lld: --fast (options.fast) checks a few "
                 "random directions instead",
                 (long long)ad_gradcheck_cost(n, false, 0), (long long)n);
    return true;
}

void gc_progress(gc_run *g, const char *stage, double fraction)
{
    if (!g->o.progress) return;
    double now = ad_now();
    if (now - g->t_last < 2.0 && fraction < 1) return; /* at most every 2 s */
    g->t_last = now;
    g->o.progress(g->o.progress_data, stage, fraction, now - g->t_start);
}
