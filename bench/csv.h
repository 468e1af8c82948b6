/* bench/csv.h — the harness's result files (ad_bench_table_*): a CSV with
 * "# key: value" comment lines on top (the run's description), a header
 * line and rows.  RFC 4180 quoting (fields with commas, quotes or newlines
 * are quoted, quotes doubled).  Columns are documented in bench/README.md.
 *
 * Ownership: a table owns all its strings; ad_bench_table_free releases
 * them (and accepts a zeroed table). */
#ifndef ADSCOPE_BENCH_CSV_H
#define ADSCOPE_BENCH_CSV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct ad_bench_table {
    int ncomments;
    char **comments; /* "key: value", without the leading "# " */
    int ncols;
    char **cols;     /* header names */
    int64_t nrows;
    char **cells;    /* nrows * ncols strings, row-major ("" when empty) */
    int64_t cap;     /* rows allocated */
} ad_bench_table;

/* An empty table with these columns.  Returns 0, or -1 when out of memory. */
int ad_bench_table_init(ad_bench_table *t, int ncols, const char *const *cols);
void ad_bench_table_free(ad_bench_table *t);
/* Adds a comment line ("key: value").  0 or -1. */
int ad_bench_table_comment(ad_bench_table *t, const char *key, const char *value);
/* Value of a comment key, or NULL. */
const char *ad_bench_table_meta(const ad_bench_table *t, const char *key);
/* Appends a row of ncols strings (NULL entries become ""). 0 or -1. */
int ad_bench_table_add(ad_bench_table *t, const char *const *cells);

/* Column index by name, or -1. */
int ad_bench_table_col(const ad_bench_table *t, const char *name);
/* Cell text ("" when empty; NULL if the column does not exist). */
const char *ad_bench_table_get(const ad_bench_table *t, int64_t row, const char *col);
/* Cell as a number: NAN when empty, missing or not a number. */
double ad_bench_table_num(const ad_bench_table *t, int64_t row, const char *col);

/* Writes the table: comments, header, rows.  0, or -1 on a write error. */
int ad_bench_table_write(FILE *f, const ad_bench_table *t);
/* Reads a file written by ad_bench_table_write (or by hand).  0, or -1 with
 * a message in err naming the file and line ("results.csv:12: 24 fields,
 * the header has 25"). */
int ad_bench_table_read(const char *path, ad_bench_table *t, char *err, size_t errn);

/* A "size" cell as a number: finite, above 0 and at most AD_BENCH_SIZE_MAX
 * (2^53: every integer up to it is a double, and converting it to int64_t
 * is defined).  1 with *v, 0 when empty, -1 when not such a number (NaN,
 * inf, 1e300, negative, text). */
#define AD_BENCH_SIZE_MAX 9007199254740992.0
int ad_bench_size_parse(const char *s, double *v);

/* Sorts rows by the given columns (numeric columns compare as numbers). */
void ad_bench_table_sort(ad_bench_table *t, int nkeys, const char *const *keys);

/* Joins tables read from paths into out: the first file's comments (later
 * files' differing values are added as "key[i]: value"), rows concatenated,
 * duplicate cells (same function, backend, size) reported as an error,
 * sorted by function, backend, size.  Headers must be identical.  0, or -1
 * with a message in err. */
int ad_bench_merge(int n, const char *const *paths, ad_bench_table *out, char *err, size_t errn);

#endif
