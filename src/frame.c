/* src/frame.c — tables of named columns (include/adscope/data.h): their
 * memory, copying columns, filling missing values, conversion to tensors.
 * Reading CSV is in src/csv_read.c, one-hot encoding in src/frame_dummies.c,
 * printing in src/frame_print.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* ---- memory -------------------------------------------------------------------------- */

char *ad_fstr_dup(ad_ctx *ctx, const char *s, size_t len)
{
    char *d = ad_mem_alloc(ctx, len + 1, AD_MEM_META);
    if (!d) return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void ad_fstr_free(ad_ctx *ctx, char *s)
{
    if (s) ad_mem_free(ctx, s, strlen(s) + 1, AD_MEM_META);
}

bool ad_fstr_missing(const char *s)
{
    static const char *const NA[] = {"", "NA", "N/A", "NaN", "nan"};
    if (!s) return true;
    for (size_t i = 0; i < sizeof NA / sizeof NA[0]; i++)
        if (strcmp(s, NA[i]) == 0) return true;
    return false;
}

/* Byte counts of a frame's arrays (zero-length arrays take one element, so
 * that every allocation is real). */
static size_t rows_bytes(const ad_frame *f, size_t elem) { return (size_t)(f->nrows ? f->nrows : 1) * elem; }

ad_frame *ad_frame_alloc(ad_ctx *ctx, int ncols, int64_t nrows)
{
    ad_frame *f = ad_mem_alloc(ctx, sizeof *f, AD_MEM_META);
    if (!f) return NULL;
    *f = (ad_frame){.ctx = ctx, .ncols = ncols, .nrows = nrows};
    /* each array zeroed as soon as it exists: ad_frame_free reads them */
    if ((f->col = ad_mem_alloc(ctx, (size_t)(ncols ? ncols : 1) * sizeof(ad_fcol), AD_MEM_META)))
        memset(f->col, 0, (size_t)(ncols ? ncols : 1) * sizeof(ad_fcol));
    if (f->col && (f->line = ad_mem_alloc(ctx, rows_bytes(f, sizeof(int64_t)), AD_MEM_META)))
        memset(f->line, 0, rows_bytes(f, sizeof(int64_t)));
    if (f->col && f->line) return f;
    ad_frame_free(f);
    return NULL;
}

int ad_fcol_alloc(ad_frame *f, int j, bool numeric)
{
    ad_fcol *c = &f->col[j];
    c->numeric = numeric;
    size_t n = rows_bytes(f, numeric ? sizeof(double) : sizeof(char *));
    void *p = ad_mem_alloc(f->ctx, n, AD_MEM_META);
    if (!p) return f->ctx->err;
    memset(p, 0, n);
    if (numeric) c->num = p;
    else c->str = p;
    return AD_OK;
}

static void col_free(ad_frame *f, ad_fcol *c)
{
    ad_fstr_free(f->ctx, c->name);
    if (c->num) ad_mem_free(f->ctx, c->num, rows_bytes(f, sizeof(double)), AD_MEM_META);
    if (c->str) {
        for (int64_t r = 0; r < f->nrows; r++) ad_fstr_free(f->ctx, c->str[r]);
        ad_mem_free(f->ctx, c->str, rows_bytes(f, sizeof(char *)), AD_MEM_META);
    }
}

void ad_frame_free(ad_frame *f)
{
    if (!f) return;
    ad_ctx *ctx = f->ctx;
    for (int j = 0; f->col && j < f->ncols; j++) col_free(f, &f->col[j]);
    ad_mem_free(ctx, f->col, (size_t)(f->ncols ? f->ncols : 1) * sizeof(ad_fcol), AD_MEM_META);
    ad_mem_free(ctx, f->line, rows_bytes(f, sizeof(int64_t)), AD_MEM_META);
    ad_mem_free(ctx, f, sizeof *f, AD_MEM_META);
}

/* ---- queries --------------------------------------------------------------------------- */

int64_t ad_frame_nrows(const ad_frame *f) { return f ? f->nrows : 0; }
int ad_frame_ncols(const ad_frame *f) { return f ? f->ncols : 0; }
const char *ad_frame_name(const ad_frame *f, int j) { return f && j >= 0 && j < f->ncols ? f->col[j].name : NULL; }
bool ad_frame_is_numeric(const ad_frame *f, int j) { return f && j >= 0 && j < f->ncols && f->col[j].numeric; }

/* "row 2, line 4" when the row came from a file, else "row 2". */
static const char *row_str(const ad_frame *f, int64_t r, char *buf, size_t n)
{
    if (f->line[r] > 0) snprintf(buf, n, "row %lld, line %lld", (long long)r, (long long)f->line[r]);
    else snprintf(buf, n, "row %lld", (long long)r);
    return buf;
}

/* ---- copying columns ------------------------------------------------------------------- */

/* Column src into column j of f (same number of rows). */
int ad_fcol_copy(ad_frame *f, int j, const ad_fcol *src)
{
    ad_fcol *c = &f->col[j];
    if (!(c->name = ad_fstr_dup(f->ctx, src->name, strlen(src->name))) || ad_fcol_alloc(f, j, src->numeric) != AD_OK)
        return f->ctx->err;
    c->integral = src->integral;
    for (int64_t r = 0; r < f->nrows; r++) {
        if (src->numeric) c->num[r] = src->num[r];
        else if (src->str[r] && !(c->str[r] = ad_fstr_dup(f->ctx, src->str[r], strlen(src->str[r]))))
            return f->ctx->err;
    }
    return AD_OK;
}

ad_frame *ad_frame_like(const ad_frame *f, int ncols)
{
    ad_frame *g = ad_frame_alloc(f->ctx, ncols, f->nrows);
    if (g && f->nrows) memcpy(g->line, f->line, (size_t)f->nrows * sizeof(int64_t));
    return g;
}

ad_frame *ad_frame_columns(const ad_frame *f, int first, int last)
{
    if (!f) return NULL;
    int a = first < 0 ? first + f->ncols : first, b = last < 0 ? last + f->ncols : last;
    if (a < 0 || b > f->ncols || a > b)
        return AD_FAIL(f->ctx, AD_EINDEX, "columns: [%d, %d) does not fit the %d columns of the table", first, last,
                       f->ncols),
               NULL;
    ad_frame *g = ad_frame_like(f, b - a);
    int rc = g ? AD_OK : f->ctx->err;
    for (int j = a; rc == AD_OK && j < b; j++) rc = ad_fcol_copy(g, j - a, &f->col[j]);
    if (rc == AD_OK) return g;
    ad_frame_free(g);
    return NULL;
}

/* ---- missing values ------------------------------------------------------------------ */

static void fill_col(ad_fcol *c, int64_t nrows, double v)
{
    for (int64_t r = 0; r < nrows; r++)
        if (isnan(c->num[r])) c->num[r] = v;
}

int ad_frame_fillna(ad_frame *f, double value)
{
    if (!f) return AD_EINVAL;
    if (!isfinite(value)) return ad_error(f->ctx, AD_ENONFINITE, "fillna: the value %g is not finite", value);
    for (int j = 0; j < f->ncols; j++)
        if (f->col[j].numeric) fill_col(&f->col[j], f->nrows, value);
    return AD_OK;
}

/* The mean of the present values of a numeric column; false when none is. */
static bool col_mean(const ad_fcol *c, int64_t nrows, double *mean)
{
    double sum = 0;
    int64_t n = 0;
    for (int64_t r = 0; r < nrows; r++)
        if (!isnan(c->num[r])) sum += c->num[r], n++;
    *mean = n ? sum / (double)n : NAN;
    return n > 0 || nrows == 0;
}

int ad_frame_fillna_mean(ad_frame *f)
{
    if (!f) return AD_EINVAL;
    double mean;
    /* every column checked first: a failure leaves the frame as it was */
    for (int j = 0; j < f->ncols; j++)
        if (f->col[j].numeric && !col_mean(&f->col[j], f->nrows, &mean))
            return ad_error(f->ctx, AD_EINVAL, "fillna: column '%s' has no value to take the mean of",
                            f->col[j].name);
    for (int j = 0; j < f->ncols; j++)
        if (f->col[j].numeric && col_mean(&f->col[j], f->nrows, &mean)) fill_col(&f->col[j], f->nrows, mean);
    return AD_OK;
}

/* ---- to tensors --------------------------------------------------------------------------- */

/* Column j must be numeric and complete. */
static int check_column(const ad_frame *f, int j, const char *what)
{
    const ad_fcol *c = &f->col[j];
    char where[64];
    for (int64_t r = 0; r < f->nrows; r++) {
        if (!c->numeric && c->str[r])
            return ad_error(f->ctx, AD_EINVAL,
                            "%s: column '%s' is categorical (%s, holds '%s'): one-hot encode it first",
                            what, c->name, row_str(f, r, where, sizeof where), c->str[r]);
        if (!c->numeric || isnan(c->num[r]))
            return ad_error(f->ctx, AD_EINVAL,
                            "%s: column '%s' has a missing value (%s): fill it first",
                            what, c->name, row_str(f, r, where, sizeof where));
    }
    return AD_OK;
}

ad_tensor *ad_frame_tensor(const ad_frame *f)
{
    if (!f) return NULL;
    for (int j = 0; j < f->ncols; j++)
        if (check_column(f, j, "tensor") != AD_OK) return NULL;
    ad_tensor *t = ad_empty(f->ctx, AD_SHAPE(f->nrows, f->ncols));
    for (int64_t r = 0; t && r < f->nrows; r++)
        for (int j = 0; j < f->ncols; j++) t->data[r * f->ncols + j] = f->col[j].num[r];
    return t;
}

ad_tensor *ad_frame_column_tensor(const ad_frame *f, int j)
{
    if (!f) return NULL;
    if (j < 0 || j >= f->ncols)
        return AD_FAIL(f->ctx, AD_EINDEX, "column_tensor: column %d of a table of %d columns", j, f->ncols), NULL;
    if (check_column(f, j, "column_tensor") != AD_OK) return NULL;
    ad_tensor *t = ad_empty(f->ctx, AD_SHAPE(f->nrows));
    if (t && f->nrows) memcpy(t->data, f->col[j].num, (size_t)f->nrows * sizeof(double));
    return t;
}
