/* bench/sizes.c — size lists and ranges (ad_bench_parse_sizes):
 * "10,100,1000", "10:1e6:x10", "1:1000:+100", or a comma list mixing them. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_SIZE 1e9
#define MAX_COUNT 10000

typedef struct {
    int64_t *v;
    int n, cap;
} list;

static int push(list *l, int64_t x)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        int64_t *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A number in [lo, hi] spelled by s[0..len) ("1e6", "300"); integer
 * unless real is set.  false if it is not one. */
static bool number(const char *s, size_t len, bool real, double lo, double hi, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end || errno || !isfinite(v) || v < lo || v > hi) return false;
    if (!real && v != floor(v)) return false;
    *out = v;
    return true;
}

/* One item: a size or a range.  Appends its sizes to l. */
static int item(const char *spec, const char *s, size_t len, list *l, char *err, size_t errn)
{
    const char *c1 = memchr(s, ':', len);
    double a, b;
    if (!c1) {
        if (!number(s, len, false, 1, MAX_SIZE, &a)) {
            snprintf(err, errn, "'%.*s' in '%s' is not a size (an integer from 1 to 1e9)", (int)len, s, spec);
            return -1;
        }
        return push(l, (int64_t)a) ? (snprintf(err, errn, "out of memory"), -1) : 0;
    }
    const char *c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s));
    const char *end = s + len;
    const char *bend = c2 ? c2 : end;
    if (!number(s, (size_t)(c1 - s), false, 1, MAX_SIZE, &a)) {
        snprintf(err, errn, "the start '%.*s' of the range '%.*s' in '%s' is not a size (an integer from 1 to 1e9)",
                 (int)(c1 - s), s, (int)len, s, spec);
        return -1;
    }
    if (!number(c1 + 1, (size_t)(bend - c1 - 1), false, 1, MAX_SIZE, &b)) {
        snprintf(err, errn, "the stop '%.*s' of the range '%.*s' in '%s' is not a size (an integer from 1 to 1e9)",
                 (int)(bend - c1 - 1), c1 + 1, (int)len, s, spec);
        return -1;
    }
    if (b < a) {
        snprintf(err, errn, "the range '%.*s' in '%s' ends (%.0f) before it starts (%.0f)", (int)len, s, spec, b, a);
        return -1;
    }
    /* the step: xF (or *F) multiplies by F > 1, +S adds S >= 1; default x10 */
    char op = 'x';
    double step = 10;
    if (c2) {
        const char *st = c2 + 1;
        size_t sl = (size_t)(end - st);
        bool ok = sl > 1 && (st[0] == 'x' || st[0] == '*' || st[0] == '+');
        if (ok) {
            op = st[0] == '+' ? '+' : 'x';
            ok = op == '+' ? number(st + 1, sl - 1, false, 1, MAX_SIZE, &step)
                           : number(st + 1, sl - 1, true, 1.0001, 1e9, &step);
        }
        if (!ok) {
            snprintf(err, errn,
                     "the step '%.*s' of the range '%.*s' in '%s' must be xF (multiply by a factor F > 1, e.g. x10) "
                     "or +S (add an integer S >= 1, e.g. +100)",
                     (int)sl, st, (int)len, s, spec);
            return -1;
        }
    }
    for (int i = 0;; i++) {
        double v = op == '+' ? a + step * i : a * pow(step, i);
        if ((double)llround(v) > b) break; /* 10:1000:x3.1623 reaches 1000.03: rounded, 1000 */
        if (l->n >= MAX_COUNT) {
            snprintf(err, errn, "the range '%.*s' in '%s' gives more than %d sizes", (int)len, s, spec, MAX_COUNT);
            return -1;
        }
        if (push(l, llround(v))) {
            snprintf(err, errn, "out of memory");
            return -1;
        }
    }
    return 0;
}

int ad_bench_parse_sizes(const char *spec, int64_t **out, int *n, char *err, size_t errn)
{
    *out = NULL;
    *n = 0;
    if (!spec || !*spec) {
        snprintf(err, errn, "no sizes given (e.g. 10,100,1000 or 10:1e6:x10)");
        return -1;
    }
    list l = {0};
    const char *p = spec;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            snprintf(err, errn, "an empty item in '%s' (at character %d)", spec, (int)(p - spec) + 1);
            free(l.v);
            return -1;
        }
        if (item(spec, p, len, &l, err, errn)) {
            free(l.v);
            return -1;
        }
        if (!comma) break;
        p = comma + 1;
    }
    qsort(l.v, (size_t)l.n, sizeof *l.v, cmp_i64);
    int k = 0;
    for (int i = 0; i < l.n; i++)
        if (k == 0 || l.v[i] != l.v[k - 1]) l.v[k++] = l.v[i];
    *out = l.v;
    *n = k;
    return 0;
}
