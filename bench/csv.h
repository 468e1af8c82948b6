/* bench/csv.h — the harness's result files (ad_bench_table_*): a CSV with
 * "# key: value" comment lines on top (the run's description), a header
 * line and rows.  RFC 4180 through libcsv: fields with commas, quotes or
 * line ends are quoted (quotes doubled), and so are a first field starting
 * with '#' (else its line reads as a comment) and the lone field of a
 * one-column row when it is empty (else its line is blank).  Whatever the
 * reader accepts, the writer writes back so that it reads the same: a
 * round trip keeps every table (fields of any length, spaces kept).  A NUL
 * byte cannot be in a cell (cells are C strings): the reader refuses a
 * file holding one, naming the line.  Columns are documented in
 * bench/README.md.
 *
 * Ownership: a table owns all its strings; ad_bench_table_free releases
 * them (and accepts a zeroed table). */
#ifndef ADSCOPE_BENCH_CSV_H
#define ADSCOPE_BENCH_CSV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* At most this many columns: a header of more is refused (a file of commas
 * is not a result table, and each column costs memory per row). */
#define AD_BENCH_CSV_MAX_COLS 4096

typedef struct ad_bench_table {
    int ncomments;
    char **comments; /* "key: value", without the leading "# " */
    int ncols;
    char **cols;     /* header names */
    int64_t nrows;
    char **cells;    /* nrows * ncols strings, row-major ("" when empty) */
    int64_t cap;     /* rows allocated */
    struct ad_bench_chunk *arena; /* where the cells' text lives (bench/csv.c) */
} ad_bench_table;

/* An empty table with these columns (1 to AD_BENCH_CSV_MAX_COLS).  Returns
 * 0, or -1 when out of memory or ncols is out of range. */
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
/* The same in pieces, for a file written while the rows are measured: the
 * comments and header, then row r; each is flushed, so what was written
 * survives a crash.  0, or -1 on a write error (or no row r). */
int ad_bench_table_write_head(FILE *f, const ad_bench_table *t);
int ad_bench_table_write_row(FILE *f, const ad_bench_table *t, int64_t r);
/* Reads a file written by ad_bench_table_write (or by hand; bench/csv_read.c):
 * "#" lines (outside quoted fields) are comments wherever they are, blank
 * lines are skipped.  0, or -1 with a message in err naming the file and
 * line ("results.csv:12: 24 fields, the header has 25"). */
int ad_bench_table_read(const char *path, ad_bench_table *t, char *err, size_t errn);

/* A "size" cell as a number: finite, above 0 and at most AD_BENCH_SIZE_MAX
 * (2^53: every integer up to it is a double, and converting it to int64_t
 * is defined).  1 with *v, 0 when empty, -1 when not such a number (NaN,
 * inf, 1e300, negative, text). */
#define AD_BENCH_SIZE_MAX 9007199254740992.0
int ad_bench_size_parse(const char *s, double *v);

/* Sorts rows by the given columns (numeric columns compare as numbers);
 * stable, reentrant.  0, or -1 when out of memory (the table unchanged). */
int ad_bench_table_sort(ad_bench_table *t, int nkeys, const char *const *keys);

/* Joins tables read from paths into out: the first file's comments (later
 * files' differing values are added as "key[i]: value"), rows concatenated,
 * duplicate cells (same function, backend, size) reported as an error,
 * sorted by function, backend, size.  Headers must be identical.  0, or -1
 * with a message in err. */
int ad_bench_merge(int n, const char *const *paths, ad_bench_table *out, char *err, size_t errn);

#endif
