/* tests/test_csv.c — the harness's result tables: round trips with quoting,
 * comments, read errors, sorting, merging shards. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "helpers.h"

TestSuite(csv, .fini = th_tmp_remove);

#define path th_tmp_path

static void write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *const COLS[] = {"function", "backend", "size", "t_grad_median", "note"};

static void save(const char *p, const ad_bench_table *t)
{
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    cr_assert_eq(ad_bench_table_write(f, t), 0);
    fclose(f);
}

Test(csv, round_trip_with_quoting_and_comments)
{
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, 5, COLS), 0);
    ad_bench_table_comment(&t, "adscope", "0.1.0");
    ad_bench_table_comment(&t, "cpu", "Some CPU, 2 cores");
    ad_bench_table_add(&t, (const char *[]){"rosenbrock", "reverse", "1000", "0.000123", ""});
    ad_bench_table_add(&t, (const char *[]){"expsin", "forward", "10", "1.5e-06", "say \"hi\", then\nbye"});
    ad_bench_table_add(&t, (const char *[]){"expsin", "central", "10", NULL, "skipped"});
    save(path("a.csv"), &t);
    ad_bench_table_free(&t);

    ad_bench_table r;
    char err[256];
    cr_assert_eq(ad_bench_table_read(path("a.csv"), &r, err, sizeof err), 0, "%s", err);
    cr_expect_eq(r.ncols, 5);
    cr_expect_eq(r.nrows, 3);
    cr_expect_str_eq(ad_bench_table_meta(&r, "cpu"), "Some CPU, 2 cores");
    cr_expect_str_eq(ad_bench_table_get(&r, 1, "note"), "say \"hi\", then\nbye");
    cr_expect_eq(ad_bench_table_num(&r, 0, "size"), 1000);
    cr_expect(isnan(ad_bench_table_num(&r, 2, "t_grad_median")), "an empty field is not a number");
    cr_expect_null(ad_bench_table_get(&r, 0, "nonesuch"));
    ad_bench_table_sort(&r, 3, (const char *[]){"function", "backend", "size"});
    cr_expect_str_eq(ad_bench_table_get(&r, 0, "backend"), "central");
    cr_expect_str_eq(ad_bench_table_get(&r, 2, "function"), "rosenbrock");
    ad_bench_table_free(&r);
}

Test(csv, numeric_sort_is_by_value)
{
    ad_bench_table t;
    ad_bench_table_init(&t, 5, COLS);
    const char *sizes[] = {"100", "20", "1e6", "3"};
    for (int i = 0; i < 4; i++) ad_bench_table_add(&t, (const char *[]){"f", "b", sizes[i], "", ""});
    ad_bench_table_sort(&t, 1, (const char *[]){"size"});
    cr_expect_str_eq(ad_bench_table_get(&t, 0, "size"), "3");
    cr_expect_str_eq(ad_bench_table_get(&t, 3, "size"), "1e6");
    ad_bench_table_free(&t);
}

Test(csv, read_errors_name_file_and_line)
{
    ad_bench_table r;
    char err[256];
    cr_expect_eq(ad_bench_table_read(path("missing.csv"), &r, err, sizeof err), -1);
    cr_expect(strstr(err, "missing.csv: No such file"), "%s", err);
    write_file(path("short.csv"), "# x: 1\na,b,c\n1,2,3\n4,5\n");
    cr_expect_eq(ad_bench_table_read(path("short.csv"), &r, err, sizeof err), -1);
    cr_expect(strstr(err, "short.csv:4: 2 fields, the header has 3"), "%s", err);
    write_file(path("quote.csv"), "a,b\n1,\"open\n");
    cr_expect_eq(ad_bench_table_read(path("quote.csv"), &r, err, sizeof err), -1);
    cr_expect(strstr(err, "not closed"), "%s", err);
    write_file(path("empty.csv"), "# only: comments\n");
    cr_expect_eq(ad_bench_table_read(path("empty.csv"), &r, err, sizeof err), -1);
    cr_expect(strstr(err, "no header"), "%s", err);
}

Test(csv, merge_joins_shards_and_refuses_overlaps)
{
    ad_bench_table a, b;
    ad_bench_table_init(&a, 5, COLS);
    ad_bench_table_init(&b, 5, COLS);
    ad_bench_table_comment(&a, "machine", "alpha");
    ad_bench_table_comment(&b, "machine", "beta");
    ad_bench_table_add(&a, (const char *[]){"expsin", "reverse", "100", "1", ""});
    ad_bench_table_add(&b, (const char *[]){"expsin", "reverse", "10", "2", ""});
    ad_bench_table_add(&b, (const char *[]){"chain", "forward", "5", "3", ""});
    save(path("s0.csv"), &a);
    save(path("s1.csv"), &b);
    ad_bench_table m;
    char err[256];
    cr_assert_eq(ad_bench_merge(2, (const char *[]){path("s0.csv"), path("s1.csv")}, &m, err, sizeof err), 0, "%s",
                 err);
    cr_expect_eq(m.nrows, 3);
    cr_expect_str_eq(ad_bench_table_get(&m, 0, "function"), "chain");
    cr_expect_str_eq(ad_bench_table_get(&m, 1, "size"), "10");
    cr_expect_str_eq(ad_bench_table_meta(&m, "machine"), "alpha");
    cr_expect_str_eq(ad_bench_table_meta(&m, "machine[1]"), "beta");
    ad_bench_table_free(&m);
    /* the same cell in two shards */
    cr_expect_eq(ad_bench_merge(2, (const char *[]){path("s0.csv"), path("s0.csv")}, &m, err, sizeof err), -1);
    cr_expect(strstr(err, "expsin/reverse/size 100 appears twice"), "%s", err);
    /* other columns */
    write_file(path("other.csv"), "function,backend\nx,y\n");
    cr_expect_eq(ad_bench_merge(2, (const char *[]){path("s0.csv"), path("other.csv")}, &m, err, sizeof err), -1);
    cr_expect(strstr(err, "other columns"), "%s", err);
    ad_bench_table_free(&a);
    ad_bench_table_free(&b);
}

/* ---- the round trip keeps every table (issue 12) ------------------------------------------- */

/* Every cell, column and comment of a and b are equal. */
static void expect_same(const ad_bench_table *a, const ad_bench_table *b)
{
    cr_assert_eq(a->ncols, b->ncols);
    cr_assert_eq(a->nrows, b->nrows, "rows %lld then %lld", (long long)a->nrows, (long long)b->nrows);
    cr_assert_eq(a->ncomments, b->ncomments);
    for (int i = 0; i < a->ncomments; i++) cr_expect_str_eq(a->comments[i], b->comments[i], "comment %d", i);
    for (int c = 0; c < a->ncols; c++) cr_expect_str_eq(a->cols[c], b->cols[c]);
    for (int64_t i = 0; i < a->nrows * a->ncols; i++)
        cr_expect(strcmp(a->cells[i], b->cells[i]) == 0, "cell %lld: '%.40s' became '%.40s'", (long long)i,
                  a->cells[i], b->cells[i]);
}

/* t written, read back, written and read again (two merges): the same table. */
static void round_trip_twice(const ad_bench_table *t)
{
    char err[512];
    ad_bench_table r1, r2;
    save(path("rt1.csv"), t);
    cr_assert_eq(ad_bench_table_read(path("rt1.csv"), &r1, err, sizeof err), 0, "%s", err);
    expect_same(t, &r1);
    save(path("rt2.csv"), &r1);
    cr_assert_eq(ad_bench_table_read(path("rt2.csv"), &r2, err, sizeof err), 0, "%s", err);
    expect_same(t, &r2);
    ad_bench_table_free(&r1);
    ad_bench_table_free(&r2);
}

Test(csv, round_trip_keeps_hash_cells_and_odd_fields,
     .description = "a first cell starting with '#' is not a comment; spaces, quotes, CR, LF survive")
{
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, 3, (const char *[]){"#function", "b", "note"}), 0);
    ad_bench_table_comment(&t, "k", "v");
    ad_bench_table_add(&t, (const char *[]){"#hash first", "x", ""});
    ad_bench_table_add(&t, (const char *[]){"# spaced", "  lead and trail  ", "a\rb"});
    ad_bench_table_add(&t, (const char *[]){"", "\"", "line\n#not a comment\n\nend"});
    ad_bench_table_add(&t, (const char *[]){"\t", ",", "\r\n"});
    round_trip_twice(&t);
    ad_bench_table_free(&t);
}

Test(csv, round_trip_one_column_with_empty_cells, .description = "an empty lone cell is not a blank line")
{
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, 1, (const char *[]){"only"}), 0);
    ad_bench_table_add(&t, (const char *[]){"a"});
    ad_bench_table_add(&t, (const char *[]){""});
    ad_bench_table_add(&t, (const char *[]){""});
    ad_bench_table_add(&t, (const char *[]){"#b"});
    round_trip_twice(&t);
    ad_bench_table_free(&t);
}

Test(csv, round_trip_long_fields_and_comments, .description = "no silent cut at 64 KiB fields or 4 KiB comments")
{
    size_t n = 200000;
    char *big = malloc(n + 1), *note = malloc(10001);
    cr_assert(big && note);
    for (size_t i = 0; i < n; i++) big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    memset(note, 'c', 10000);
    note[10000] = '\0';
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, 2, (const char *[]){"a", "b"}), 0);
    ad_bench_table_comment(&t, "long", note);
    ad_bench_table_add(&t, (const char *[]){big, "x"});
    big[100] = ',';
    ad_bench_table_add(&t, (const char *[]){"y", big});
    round_trip_twice(&t);
    ad_bench_table_free(&t);
    free(big);
    free(note);
}

Test(csv, nul_bytes_are_refused_naming_the_line)
{
    FILE *f = fopen(path("nul.csv"), "wb");
    cr_assert_not_null(f);
    fwrite("a,b\n1,2\nx\0y,3\n", 1, 14, f);
    fclose(f);
    ad_bench_table r;
    char err[256];
    cr_expect_eq(ad_bench_table_read(path("nul.csv"), &r, err, sizeof err), -1);
    cr_expect(strstr(err, "nul.csv:3: field 1 holds a NUL byte"), "%s", err);
}

Test(csv, nul_bytes_in_comments_are_refused_naming_the_line,
     .description = "a comment cut at a NUL would not survive a round trip (found by fuzz_bench_csv)")
{
    FILE *f = fopen(path("nulc.csv"), "wb");
    cr_assert_not_null(f);
    fwrite("# ok\n#\x01\r\0n: 1\na,b\n1,2\n", 1, 22, f);
    fclose(f);
    ad_bench_table r;
    char err[256];
    cr_expect_eq(ad_bench_table_read(path("nulc.csv"), &r, err, sizeof err), -1);
    cr_expect(strstr(err, "nulc.csv:2: a comment line holds a NUL byte"), "%s", err);
}

/* A file of n commas after prefix. */
static void commas(const char *p, const char *prefix, size_t n)
{
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(prefix, f);
    char chunk[4096];
    memset(chunk, ',', sizeof chunk);
    for (size_t k = 0; k < n; k += sizeof chunk) fwrite(chunk, 1, n - k < sizeof chunk ? n - k : sizeof chunk, f);
    fputc('\n', f);
    fclose(f);
}

Test(csv, a_file_of_commas_is_refused_not_stored,
     .description = "a header of 2 M empty fields is refused; a row of them is counted, not kept")
{
    ad_bench_table r;
    char err[256];
    commas(path("commas.csv"), "", 2000000);
    cr_expect_eq(ad_bench_table_read(path("commas.csv"), &r, err, sizeof err), -1);
    cr_expect(strstr(err, "commas.csv:1: the header has more than 4096 columns"), "%s", err);
    commas(path("rowcommas.csv"), "a,b,c\n", 2000000);
    cr_expect_eq(ad_bench_table_read(path("rowcommas.csv"), &r, err, sizeof err), -1);
    cr_expect(strstr(err, "rowcommas.csv:2: 2000001 fields, the header has 3"), "%s", err);
}

Test(csv, comments_anywhere_are_kept_and_quoted_hash_is_data)
{
    write_file(path("mixed.csv"), "# a: 1\n\nx,y\n\"#1\",2\n# b: 2\n3,\"4\n# still 4\"\n\n5,6\n");
    ad_bench_table r;
    char err[256];
    cr_assert_eq(ad_bench_table_read(path("mixed.csv"), &r, err, sizeof err), 0, "%s", err);
    cr_expect_eq(r.nrows, 3);
    cr_expect_str_eq(ad_bench_table_get(&r, 0, "x"), "#1");
    cr_expect_str_eq(ad_bench_table_get(&r, 1, "y"), "4\n# still 4");
    cr_expect_str_eq(ad_bench_table_meta(&r, "b"), "2");
    ad_bench_table_free(&r);
}

/* ---- sorting is reentrant ---------------------------------------------------------------- */
#include <pthread.h>

/* Sorts a table of its own many times, by a key of its own, and counts
 * the sorts that came out wrong. */
static void *sorter(void *arg)
{
    intptr_t id = (intptr_t)arg, wrong = 0;
    ad_bench_table t;
    ad_bench_table_init(&t, 5, COLS);
    for (int i = 0; i < 300; i++) {
        char a[32], b[32];
        snprintf(a, sizeof a, "%d", (i * 7919) % 300);
        snprintf(b, sizeof b, "f%03d", (i * 104729) % 300);
        ad_bench_table_add(&t, (const char *[]){b, "r", a, "", ""});
    }
    const char *key = id ? "size" : "function";
    for (int rep = 0; rep < 200; rep++) {
        ad_bench_table_sort(&t, 1, (const char *[]){key});
        for (int64_t r = 1; r < t.nrows; r++) {
            const char *x = ad_bench_table_get(&t, r - 1, key), *y = ad_bench_table_get(&t, r, key);
            if (id ? atof(x) > atof(y) : strcmp(x, y) > 0) wrong++;
        }
        ad_bench_table_sort(&t, 1, (const char *[]){id ? "function" : "size"}); /* shuffle for the next */
    }
    ad_bench_table_free(&t);
    return (void *)wrong;
}

Test(csv, two_threads_sort_without_sharing_state, .description = "no process-wide comparator state")
{
    pthread_t th[2];
    for (intptr_t i = 0; i < 2; i++) cr_assert_eq(pthread_create(&th[i], NULL, sorter, (void *)i), 0);
    for (int i = 0; i < 2; i++) {
        void *wrong;
        pthread_join(th[i], &wrong);
        cr_expect_eq((intptr_t)wrong, 0, "thread %d: %ld rows out of order", i, (long)(intptr_t)wrong);
    }
}

/* ---- long function names: series found by their full names ---------------------------------- */
#include "bench.h"

Test(csv, long_function_names_make_one_series_each,
     .description = "names of 300 bytes are not cut and compared: 2 series over 400 rows, not 400")
{
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns), 0);
    char name[2][301];
    for (int k = 0; k < 2; k++) {
        memset(name[k], 'f', 300);
        name[k][300] = '\0';
        name[k][299] = (char)('0' + k); /* differ after byte 256 */
    }
    for (int i = 0; i < 400; i++) {
        const char *row[AD_BENCH_NCOLS] = {0};
        char size[16];
        snprintf(size, sizeof size, "%d", 10 + i / 2);
        row[0] = name[i % 2];
        row[1] = "reverse";
        row[2] = size;
        row[3] = "n";
        row[4] = "gradient";
        row[5] = "ok";
        ad_bench_table_add(&t, row);
    }
    ad_bench_series *s = NULL;
    int ns = 0;
    cr_assert_eq(ad_bench_summarize(&t, &s, &ns), 0);
    cr_expect_eq(ns, 2, "%d series", ns);
    for (int i = 0; i < ns; i++) cr_expect_eq(s[i].ncells, 200, "series %d: %d cells", i, s[i].ncells);
    free(s);
    ad_bench_table_free(&t);
}

/* ---- fits ------------------------------------------------------------------------------- */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "fit.h"

Test(csv, fit_recovers_a_known_exponent, .description = "y = 3 x^1.7 with 2% noise: slope 1.7 within 3 se")
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    double x[12], y[12];
    for (int i = 0; i < 12; i++) {
        x[i] = pow(10, 1 + 0.4 * i);
        y[i] = 3 * pow(x[i], 1.7) * (1 + 0.02 * gsl_ran_gaussian(r, 1));
    }
    gsl_rng_free(r);
    ad_bench_fit f;
    cr_assert(ad_bench_fit_loglog(x, y, 12, &f));
    cr_expect_eq(f.n, 12);
    cr_expect(fabs(f.slope - 1.7) < 3 * f.se, "slope %g +- %g", f.slope, f.se);
    cr_expect(f.se < 0.01, "se %g", f.se);
    cr_expect(f.r2 > 0.999, "R^2 %g", f.r2);
    cr_expect(fabs(exp(f.intercept) - 3) < 0.2);
}

Test(csv, fit_exact_line_and_degenerate_input)
{
    double x[3] = {10, 100, 1000}, y[3] = {5, 500, 50000}; /* slope 2 exactly */
    ad_bench_fit f;
    cr_assert(ad_bench_fit_loglog(x, y, 3, &f));
    cr_expect(fabs(f.slope - 2) < 1e-12);
    cr_expect(fabs(f.r2 - 1) < 1e-12);
    double bad[3] = {-1, 0, NAN};
    cr_expect_not(ad_bench_fit_loglog(bad, y, 3, &f), "non-positive and NaN points are dropped");
    cr_expect_eq(f.n, 0);
}
