/* src/csv_read.c — reading a CSV file into an ad_frame (pandas' read_csv):
 * libcsv parses the RFC 4180 syntax (quotes, doubled quotes, newlines in
 * quoted fields) in strict mode; this file keeps the fields, checks every
 * record against the header, and decides each column's type.
 *
 * The text is handed to libcsv one line at a time, so that when a record
 * or a syntax error is reported we know the line it is on: errors name the
 * row (from 0, pandas' index), its line and the column. */
#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

typedef struct csv_state {
    ad_ctx *ctx;
    const char *name; /* the file, for messages */
    int rc;           /* the first error; callbacks do nothing after it */
    int64_t line;     /* the line being parsed (from 1) */
    int64_t row_line; /* the line the current record started on */
    char **field;     /* the current record's fields (NULL: empty) */
    size_t nfield, capfield;
    char **header;    /* the first record */
    int ncols;
    char **cell;      /* the other records' fields, row-major */
    size_t ncell, capcell;
    int64_t *lines;   /* per row: row_line */
    size_t nrows, caplines;
} csv_state;

/* Doubles the array at *p (of *cap elements of size sz) until it holds need. */
static int grow(csv_state *st, void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap) return AD_OK;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) nc *= 2;
    void *q = ad_mem_realloc(st->ctx, *p, *cap * sz, nc * sz, AD_MEM_META);
    if (!q) return st->ctx->err;
    *p = q;
    *cap = nc;
    return AD_OK;
}

static void drop_fields(csv_state *st)
{
    for (size_t i = 0; i < st->nfield; i++) ad_fstr_free(st->ctx, st->field[i]);
    st->nfield = 0;
}

static void on_field(void *s, size_t len, void *data)
{
    csv_state *st = data;
    if (st->rc != AD_OK) return;
    if (st->nfield == 0) st->row_line = st->line;
    if (s && memchr(s, '\0', len)) {
        st->rc = ad_error(st->ctx, AD_EINVAL, "%s: line %lld: field %zu holds a NUL byte (is this a text file?)",
                          st->name, (long long)st->line, st->nfield);
        return;
    }
    st->rc = grow(st, (void **)&st->field, &st->capfield, st->nfield + 1, sizeof(char *));
    char *copy = NULL;
    if (st->rc == AD_OK && s && !(copy = ad_fstr_dup(st->ctx, s, len))) st->rc = st->ctx->err;
    if (st->rc == AD_OK) st->field[st->nfield++] = copy;
}

/* A record after the header: as many fields as columns, appended to cell. */
static int add_row(csv_state *st)
{
    if (st->nfield != (size_t)st->ncols)
        return ad_error(st->ctx, AD_ESHAPE, "%s: row %zu (line %lld) has %zu field%s, but the header names %d column%s",
                        st->name, st->nrows, (long long)st->row_line, st->nfield, st->nfield == 1 ? "" : "s",
                        st->ncols, st->ncols == 1 ? "" : "s");
    int rc = grow(st, (void **)&st->cell, &st->capcell, st->ncell + st->nfield, sizeof(char *));
    if (rc == AD_OK) rc = grow(st, (void **)&st->lines, &st->caplines, st->nrows + 1, sizeof(int64_t));
    if (rc != AD_OK) return rc;
    memcpy(st->cell + st->ncell, st->field, st->nfield * sizeof(char *));
    st->ncell += st->nfield;
    st->lines[st->nrows++] = st->row_line;
    st->nfield = 0; /* the strings now belong to cell */
    return AD_OK;
}

/* The first record names the columns. */
static int take_header(csv_state *st)
{
    size_t n = st->nfield ? st->nfield : 1;
    if (!(st->header = ad_mem_alloc(st->ctx, n * sizeof(char *), AD_MEM_META))) return st->ctx->err;
    memcpy(st->header, st->field, st->nfield * sizeof(char *));
    st->ncols = (int)st->nfield;
    st->nfield = 0;
    return AD_OK;
}

static void on_row(int c, void *data)
{
    (void)c;
    csv_state *st = data;
    if (st->rc == AD_OK) st->rc = st->header ? add_row(st) : take_header(st);
    drop_fields(st);
}

static int syntax_error(csv_state *st, struct csv_parser *p)
{
    return ad_error(st->ctx, AD_ESYNTAX, "%s: line %lld: %s (a stray or unclosed double quote?)", st->name,
                    (long long)st->line, csv_strerror(csv_error(p)));
}

/* Feeds text to libcsv line by line, counting lines. */
static int parse_lines(csv_state *st, const char *text, size_t len)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL) != 0)
        return ad_error(st->ctx, AD_ENOMEM, "%s: cannot start the CSV parser", st->name);
    size_t i = (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0; /* a UTF-8 byte-order mark */
    st->line = 1;
    while (i < len && st->rc == AD_OK) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) + 1 : len;
        if (csv_parse(&p, text + i, end - i, on_field, on_row, st) != end - i && st->rc == AD_OK)
            st->rc = syntax_error(st, &p);
        i = end;
        if (nl && st->rc == AD_OK) st->line++;
    }
    if (st->rc == AD_OK && csv_fini(&p, on_field, on_row, st) != 0 && st->rc == AD_OK)
        st->rc = ad_error(st->ctx, AD_ESYNTAX, "%s: the file ends inside a quoted field (an unclosed double quote)",
                          st->name);
    csv_free(&p);
    return st->rc;
}

/* ---- the frame ------------------------------------------------------------------- */

/* Whether text reads whole as a number (strtod). */
static bool read_number(const char *text, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    while (*end == ' ' || *end == '\t') end++;
    return end != text && *end == '\0';
}

/* Numeric when every present value is a number; a number that is not
 * finite ("inf", "1e999") in such a column is an error naming it. */
static int column_type(const csv_state *st, int j, bool *numeric)
{
    *numeric = true;
    for (size_t r = 0; r < st->nrows && *numeric; r++) {
        const char *s = st->cell[r * (size_t)st->ncols + (size_t)j];
        double v;
        if (!ad_fstr_missing(s) && !read_number(s, &v)) *numeric = false;
    }
    for (size_t r = 0; r < st->nrows && *numeric; r++) {
        const char *s = st->cell[r * (size_t)st->ncols + (size_t)j];
        double v;
        if (!ad_fstr_missing(s) && read_number(s, &v) && !isfinite(v))
            return ad_error(st->ctx, AD_ENONFINITE, "%s: row %zu (line %lld), column '%s': '%s' is not a finite number",
                            st->name, r, (long long)st->lines[r], st->header[j], s);
    }
    return AD_OK;
}

/* Column j's values into f, the strings moving out of st->cell. */
static int fill_column(csv_state *st, ad_frame *f, int j)
{
    ad_fcol *c = &f->col[j];
    int rc = column_type(st, j, &c->numeric);
    if (rc == AD_OK) rc = ad_fcol_alloc(f, j, c->numeric);
    if (rc != AD_OK) return rc;
    c->integral = c->numeric;
    for (size_t r = 0; r < st->nrows; r++) {
        char **s = &st->cell[r * (size_t)st->ncols + (size_t)j];
        bool missing = ad_fstr_missing(*s);
        if (c->numeric) {
            double v = NAN;
            if (!missing) read_number(*s, &v);
            c->num[r] = v;
            if (missing || v != floor(v) || fabs(v) > 9007199254740992.0) c->integral = false;
        } else if (!missing) {
            c->str[r] = *s;
            *s = NULL;
        }
    }
    return AD_OK;
}

/* Column names: an empty one becomes "Unnamed: J"; a repeated one is an error. */
static int name_columns(csv_state *st, ad_frame *f)
{
    for (int j = 0; j < st->ncols; j++) {
        char unnamed[32];
        const char *h = st->header[j];
        if (!h || !*h) h = (snprintf(unnamed, sizeof unnamed, "Unnamed: %d", j), unnamed);
        for (int k = 0; k < j; k++)
            if (strcmp(f->col[k].name, h) == 0)
                return ad_error(st->ctx, AD_EINVAL, "%s: columns %d and %d are both named '%s'", st->name, k, j, h);
        if (!(f->col[j].name = ad_fstr_dup(st->ctx, h, strlen(h)))) return st->ctx->err;
    }
    return AD_OK;
}

static ad_frame *build(csv_state *st)
{
    if (!st->header) return AD_FAIL(st->ctx, AD_EINVAL, "%s: no header line (the file is empty)", st->name), NULL;
    ad_frame *f = ad_frame_alloc(st->ctx, st->ncols, (int64_t)st->nrows);
    int rc = f ? name_columns(st, f) : st->ctx->err;
    for (int j = 0; rc == AD_OK && j < st->ncols; j++) rc = fill_column(st, f, j);
    if (rc == AD_OK && st->nrows) memcpy(f->line, st->lines, st->nrows * sizeof(int64_t));
    if (rc == AD_OK) return f;
    ad_frame_free(f);
    return NULL;
}

static void release(csv_state *st)
{
    drop_fields(st);
    ad_ctx *ctx = st->ctx;
    for (int j = 0; st->header && j < st->ncols; j++) ad_fstr_free(ctx, st->header[j]);
    for (size_t i = 0; i < st->ncell; i++) ad_fstr_free(ctx, st->cell[i]);
    ad_mem_free(ctx, st->field, st->capfield * sizeof(char *), AD_MEM_META);
    ad_mem_free(ctx, st->header, (size_t)(st->ncols ? st->ncols : 1) * sizeof(char *), AD_MEM_META); /* take_header */
    ad_mem_free(ctx, st->cell, st->capcell * sizeof(char *), AD_MEM_META);
    ad_mem_free(ctx, st->lines, st->caplines * sizeof(int64_t), AD_MEM_META);
}

ad_frame *ad_frame_parse_csv(ad_ctx *ctx, const char *text, size_t len, const char *name)
{
    if (!ctx) return NULL;
    if (!text && len) return AD_FAIL(ctx, AD_EINVAL, "parse_csv: NULL text"), NULL;
    csv_state st = {.ctx = ctx, .name = name ? name : "csv"};
    ad_frame *f = parse_lines(&st, text, len) == AD_OK ? build(&st) : NULL;
    release(&st);
    return f;
}

/* The whole file into an accounted buffer of *cap bytes, *n of them read. */
static char *slurp(ad_ctx *ctx, const char *path, size_t *n, size_t *cap)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return AD_FAIL(ctx, AD_EIO, "read_csv: cannot open '%s': %s", path, strerror(errno)), NULL;
    char *buf = NULL;
    int rc = AD_OK;
    *n = *cap = 0;
    for (size_t got = 1; rc == AD_OK && got > 0;) {
        if (*n == *cap) {
            char *q = ad_mem_realloc(ctx, buf, *cap, *cap ? 2 * *cap : 65536, AD_MEM_META);
            if (!q) {
                rc = ctx->err;
                break;
            }
            buf = q;
            *cap = *cap ? 2 * *cap : 65536;
        }
        got = fread(buf + *n, 1, *cap - *n, fp);
        *n += got;
    }
    if (rc == AD_OK && ferror(fp)) rc = ad_error(ctx, AD_EIO, "read_csv: cannot read '%s': %s", path, strerror(errno));
    fclose(fp);
    if (rc == AD_OK) return buf;
    ad_mem_free(ctx, buf, *cap, AD_MEM_META);
    return NULL;
}

ad_frame *ad_frame_read_csv(ad_ctx *ctx, const char *path)
{
    if (!ctx) return NULL;
    if (!path) return AD_FAIL(ctx, AD_EINVAL, "read_csv: NULL path"), NULL;
    size_t n, cap;
    char *text = slurp(ctx, path, &n, &cap);
    if (!text) return NULL;
    ad_frame *f = ad_frame_parse_csv(ctx, text, n, path);
    ad_mem_free(ctx, text, cap, AD_MEM_META);
    return f;
}
