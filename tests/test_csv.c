/* tests/test_csv.c — the harness's result tables: round trips with quoting,
 * comments, read errors, sorting, merging shards. */
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
