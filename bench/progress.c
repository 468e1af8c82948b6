/* bench/progress.c — the progress display on stderr: a one-line bar
 * redrawn in place on a terminal, one plain line per finished cell
 * otherwise (CI logs, pipes). */
#include <math.h>
#include <string.h>

#include "bench.h"

static const char *fmt_eta(char *buf, size_t n, double s)
{
    if (isnan(s)) snprintf(buf, n, "--:--");
    else if (s < 3600) snprintf(buf, n, "%02d:%02d", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02d", (int)s / 3600, ((int)s % 3600) / 60);
    return buf;
}

static void cell_result(char *buf, size_t n, const ad_bench_cell *c)
{
    char b1[32];
    if (c->status == AD_BENCH_OK)
        snprintf(buf, n, "%s, ratio %.3g", ad_bench_fmt_seconds(b1, sizeof b1, c->t_grad[1]), c->t_grad[1] / c->t_f[1]);
    else
        snprintf(buf, n, "%s (%s)", ad_bench_status_name(c->status), c->note);
}

void ad_bench_progress_print(void *printer, const ad_bench_progress *p)
{
    ad_bench_progress_printer *pp = printer;
    FILE *f = pp->f ? pp->f : stderr;
    char res[600], eta[32];
    if (!pp->tty) {
        if (!p->cell) return; /* plain lines: one per finished cell */
        cell_result(res, sizeof res, p->cell);
        fprintf(f, "[%lld/%lld] %s %s %s=%lld: %s\n", (long long)p->done, (long long)p->total, p->function,
                p->backend, p->size_name, (long long)p->size, res);
        fflush(f);
        return;
    }
    /* the bar: [#####.....] 12/84  expsin reverse n=1000  ETA 01:23 */
    enum { W = 24 };
    char bar[W + 1];
    int full = p->total > 0 ? (int)((double)p->done / (double)p->total * W) : 0;
    for (int i = 0; i < W; i++) bar[i] = i < full ? '#' : '.';
    bar[W] = '\0';
    char line[400];
    int len = snprintf(line, sizeof line, "\r[%s] %lld/%lld  %s %s %s=%lld  ETA %s", bar, (long long)p->done,
                       (long long)p->total, p->function, p->backend, p->size_name, (long long)p->size,
                       fmt_eta(eta, sizeof eta, p->eta));
    if (len >= (int)sizeof line) len = (int)sizeof line - 1;
    /* pad over what the previous bar left */
    fprintf(f, "%s%*s", line, pp->last_len > len ? pp->last_len - len : 0, "");
    pp->last_len = len;
    fflush(f);
}

void ad_bench_progress_done(ad_bench_progress_printer *pp)
{
    if (!pp->tty || pp->last_len == 0) return;
    FILE *f = pp->f ? pp->f : stderr;
    fprintf(f, "\r%*s\r", pp->last_len, "");
    fflush(f);
    pp->last_len = 0;
}
