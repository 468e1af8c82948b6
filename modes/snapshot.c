/* modes/snapshot.c — what a driver call cost: the context's counters at
 * the start (ad_snapshot_begin) and the peaks, records and time above them
 * at the end (ad_snapshot_end), without disturbing the caller's counters. */
#include <time.h>

#include "modes.h"
#include "tape.h"

double ad_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ad_snapshot_begin(ad_ctx *ctx, ad_snapshot *s)
{
    s->mem = ctx->mem;
    s->recorded = ctx->tape->recorded;
    ad_ctx_reset_peak(ctx);
    s->t0 = ad_now();
}

void ad_snapshot_end(ad_ctx *ctx, const ad_snapshot *s, ad_stats *st)
{
    ad_mem_stats *m = &ctx->mem;
    if (st) {
        st->seconds = ad_now() - s->t0;
        st->ops_recorded = ctx->tape->recorded - s->recorded;
        for (int c = 0; c < AD_MEM_NCAT; c++) st->peak[c] = m->peak[c] - s->mem.live[c];
        st->peak_total = m->peak_total - s->mem.live_total;
    }
    /* keep the caller's view of the context: peaks never go down */
    for (int c = 0; c < AD_MEM_NCAT; c++)
        if (s->mem.peak[c] > m->peak[c]) m->peak[c] = s->mem.peak[c];
    if (s->mem.peak_total > m->peak_total) m->peak_total = s->mem.peak_total;
    m->nalloc += s->mem.nalloc;
    m->nfree += s->mem.nfree;
    m->bytes_allocated += s->mem.bytes_allocated;
}
