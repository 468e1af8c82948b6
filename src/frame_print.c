/* src/frame_print.c — a table printed as pandas prints a DataFrame:
 *
 *        NumRooms Alley   Price
 *     0       NaN  Pave  127500
 *     1       2.0   NaN  106000
 *
 * the row index left-aligned, each column right-aligned after one space.
 * pandas gives numbers a leading space for a sign, so a numeric column is
 * one wider than its widest entry or name, a categorical column as wide as
 * its name or one more than its widest value.  Floats take the fewest
 * decimals (1 to 6) that show every value of their column to 1e-9. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

typedef struct out {
    char *buf;
    size_t n;
    int64_t len;
} out;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t at = (size_t)o->len < o->n ? (size_t)o->len : o->n;
    int k = vsnprintf(o->buf ? o->buf + at : NULL, o->buf ? o->n - at : 0, fmt, ap);
    va_end(ap);
    if (k > 0) o->len += k;
}

static int decimals(const ad_fcol *c, int64_t nrows)
{
    for (int d = 1; d < 6; d++) {
        bool ok = true;
        for (int64_t r = 0; r < nrows && ok; r++) {
            double v = c->num[r], s = pow(10, d);
            ok = !isfinite(v) || fabs(round(v * s) / s - v) <= 1e-9 * fmax(1, fabs(v));
        }
        if (ok) return d;
    }
    return 6;
}

/* Row r of column c as text. */
static void cell(const ad_fcol *c, int64_t r, int dec, char *buf, size_t n)
{
    if (!c->numeric) snprintf(buf, n, "%s", c->str[r] ? c->str[r] : "NaN");
    else if (isnan(c->num[r])) snprintf(buf, n, "NaN");
    else if (c->integral) snprintf(buf, n, "%.0f", c->num[r]);
    else snprintf(buf, n, "%.*f", dec, c->num[r]);
}

/* The width of column c (see the top of the file). */
static int width(const ad_fcol *c, int64_t nrows, int dec)
{
    int w = 0, name = (int)strlen(c->name);
    for (int64_t r = 0; r < nrows; r++) {
        char buf[400];
        cell(c, r, dec, buf, sizeof buf);
        int k = c->numeric ? (int)strlen(buf) : (int)strlen(c->str[r] ? c->str[r] : "NaN");
        if (k > w) w = k;
    }
    return c->numeric ? 1 + (w > name ? w : name) : (1 + w > name ? 1 + w : name);
}

static void row(out *o, const ad_frame *f, int64_t r, int iw, const int *w, const int *dec)
{
    put(o, "%-*lld", iw, (long long)r);
    for (int j = 0; j < f->ncols; j++) {
        const ad_fcol *c = &f->col[j];
        if (!c->numeric) {
            put(o, " %*s", w[j], c->str[r] ? c->str[r] : "NaN");
            continue;
        }
        char buf[400];
        cell(c, r, dec[j], buf, sizeof buf);
        put(o, " %*s", w[j], buf);
    }
    put(o, "\n");
}

int64_t ad_frame_snprint(char *buf, size_t n, const ad_frame *f)
{
    if (!f) return AD_EINVAL;
    if (buf && n) buf[0] = '\0';
    size_t bytes = (size_t)(f->ncols ? f->ncols : 1) * sizeof(int);
    int *w = ad_mem_alloc(f->ctx, 2 * bytes, AD_MEM_META);
    if (!w) return f->ctx->err;
    int *dec = w + (f->ncols ? f->ncols : 1);
    for (int j = 0; j < f->ncols; j++) {
        dec[j] = f->col[j].numeric ? decimals(&f->col[j], f->nrows) : 0;
        w[j] = width(&f->col[j], f->nrows, dec[j]);
    }
    char last[32];
    int iw = snprintf(last, sizeof last, "%lld", (long long)(f->nrows ? f->nrows - 1 : 0));
    out o = {.buf = buf, .n = n};
    put(&o, "%*s", iw, "");
    for (int j = 0; j < f->ncols; j++) put(&o, " %*s", w[j], f->col[j].name);
    put(&o, "\n");
    for (int64_t r = 0; r < f->nrows; r++) row(&o, f, r, iw, w, dec);
    ad_mem_free(f->ctx, w, 2 * bytes, AD_MEM_META);
    return o.len;
}
