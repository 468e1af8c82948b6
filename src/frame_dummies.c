/* src/frame_dummies.c — one-hot encoding of a table's categorical columns,
 * as pandas' get_dummies(df, dummy_na=True) does it: numeric columns first,
 * then one 0/1 column per value of each categorical column ("Alley_Pave"),
 * values in sorted order, and "Alley_nan" marking the missing ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The distinct present values of column c, sorted: borrowed pointers in
 * *vals (an array of f->nrows entries the caller frees), *n of them. */
static int distinct(const ad_frame *f, const ad_fcol *c, const char ***vals, int64_t *n)
{
    size_t bytes = (size_t)(f->nrows ? f->nrows : 1) * sizeof(char *);
    const char **v = ad_mem_alloc(f->ctx, bytes, AD_MEM_META);
    if (!v) return f->ctx->err;
    int64_t k = 0;
    for (int64_t r = 0; r < f->nrows; r++)
        if (c->str[r]) v[k++] = c->str[r];
    qsort(v, (size_t)k, sizeof *v, cmp_str);
    int64_t m = 0;
    for (int64_t i = 0; i < k; i++)
        if (m == 0 || strcmp(v[m - 1], v[i]) != 0) v[m++] = v[i];
    *vals = v;
    *n = m;
    return AD_OK;
}

static void distinct_free(const ad_frame *f, const char **vals)
{
    ad_mem_free(f->ctx, (void *)vals, (size_t)(f->nrows ? f->nrows : 1) * sizeof(char *), AD_MEM_META);
}

/* Column j of g: "NAME_VALUE" marking the rows of c equal to value (NULL:
 * "NAME_nan", the missing rows). */
static int indicator(ad_frame *g, int j, const ad_fcol *c, const char *value)
{
    const char *v = value ? value : "nan";
    size_t len = strlen(c->name) + 1 + strlen(v);
    ad_fcol *d = &g->col[j];
    if (!(d->name = ad_mem_alloc(g->ctx, len + 1, AD_MEM_META))) return g->ctx->err;
    snprintf(d->name, len + 1, "%s_%s", c->name, v);
    if (ad_fcol_alloc(g, j, true) != AD_OK) return g->ctx->err;
    d->integral = true;
    for (int64_t r = 0; r < g->nrows; r++)
        d->num[r] = value ? (c->str[r] && strcmp(c->str[r], value) == 0) : !c->str[r];
    return AD_OK;
}

/* The indicator columns of categorical column c from column *j of g on. */
static int encode(ad_frame *g, int *j, const ad_frame *f, const ad_fcol *c, bool dummy_na)
{
    const char **vals = NULL;
    int64_t n = 0;
    int rc = distinct(f, c, &vals, &n);
    for (int64_t i = 0; rc == AD_OK && i < n; i++) rc = indicator(g, (*j)++, c, vals[i]);
    if (rc == AD_OK && dummy_na) rc = indicator(g, (*j)++, c, NULL);
    if (vals) distinct_free(f, vals);
    return rc;
}

/* How many columns the encoded table has. */
static int count_columns(const ad_frame *f, bool dummy_na, int64_t *total)
{
    *total = 0;
    for (int j = 0; j < f->ncols; j++) {
        const ad_fcol *c = &f->col[j];
        const char **vals;
        int64_t n = 1;
        if (!c->numeric) {
            int rc = distinct(f, c, &vals, &n);
            if (rc != AD_OK) return rc;
            distinct_free(f, vals);
            n += dummy_na;
        }
        *total += n;
    }
    if (*total > 1000000)
        return ad_error(f->ctx, AD_ELIMIT, "get_dummies: %lld columns would be made (at most 1000000)",
                        (long long)*total);
    return AD_OK;
}

ad_frame *ad_frame_get_dummies(const ad_frame *f, bool dummy_na)
{
    if (!f) return NULL;
    int64_t total;
    if (count_columns(f, dummy_na, &total) != AD_OK) return NULL;
    ad_frame *g = ad_frame_like(f, (int)total);
    int rc = g ? AD_OK : f->ctx->err, j = 0;
    for (int k = 0; rc == AD_OK && k < f->ncols; k++)
        if (f->col[k].numeric) rc = ad_fcol_copy(g, j++, &f->col[k]);
    for (int k = 0; rc == AD_OK && k < f->ncols; k++)
        if (!f->col[k].numeric) rc = encode(g, &j, f, &f->col[k], dummy_na);
    if (rc == AD_OK) return g;
    ad_frame_free(g);
    return NULL;
}
