/* tests/test_data.c — data preprocessing (adscope/data.h) and sampling
 * (ad_multinomial): D2L's house table read, filled, one-hot encoded and
 * printed as pandas prints it; every malformed input an error naming its
 * row, line and column; every allocation through the context's hook, with
 * a failure at any of them an error and never a leak; multinomial counts
 * that sum to n, follow the probabilities, and repeat under a seed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "helpers.h"

TestSuite(data, .init = th_setup, .fini = th_teardown);

static const char HOUSE[] = "NumRooms,Alley,Price\nNA,Pave,127500\n2,NA,106000\n4,NA,178100\nNA,NA,140000\n";

static ad_frame *parse(const char *text) { return ad_frame_parse_csv(ctx, text, strlen(text), "t.csv"); }

/* The error of parsing text: NULL returned and the message holding want. */
static void expect_parse_error(const char *text, const char *want)
{
    ad_clear_error(ctx);
    ad_frame *f = parse(text);
    cr_expect_null(f, "'%s' was accepted", text);
    cr_expect(strstr(ad_errmsg(ctx), want), "'%s': the error\n  %s\nlacks '%s'", text, ad_errmsg(ctx), want);
    ad_frame_free(f);
}

Test(data, reads_the_house_table, .description = "types, names, missing values as NaN or NULL, 4 rows")
{
    ad_frame *f = parse(HOUSE);
    cr_assert_not_null(f, "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_frame_nrows(f), 4);
    cr_assert_eq(ad_frame_ncols(f), 3);
    cr_expect_str_eq(ad_frame_name(f, 0), "NumRooms");
    cr_expect_str_eq(ad_frame_name(f, 1), "Alley");
    cr_expect(ad_frame_is_numeric(f, 0) && !ad_frame_is_numeric(f, 1) && ad_frame_is_numeric(f, 2));
    ad_tensor *price = ad_frame_column_tensor(f, 2);
    th_expect(price, AD_SHAPE(4), TH_V(127500, 106000, 178100, 140000), 0, 0);
    ad_clear_error(ctx);
    cr_expect_null(ad_frame_column_tensor(f, 0), "NumRooms has missing values");
    cr_expect(strstr(ad_errmsg(ctx), "column 'NumRooms' has a missing value (row 0, line 2)"), "%s", ad_errmsg(ctx));
    ad_frame_free(f);
}

Test(data, prints_as_pandas, .description = "D2L's three tables: read, fillna(mean), get_dummies(dummy_na=True)")
{
    ad_frame *f = parse(HOUSE);
    char buf[512];
    cr_assert_gt(ad_frame_snprint(buf, sizeof buf, f), 0);
    cr_expect_str_eq(buf, "   NumRooms Alley   Price\n"
                          "0       NaN  Pave  127500\n"
                          "1       2.0   NaN  106000\n"
                          "2       4.0   NaN  178100\n"
                          "3       NaN   NaN  140000\n");
    ad_frame *in = ad_frame_columns(f, 0, -1);
    cr_assert_eq(ad_frame_fillna_mean(in), AD_OK);
    ad_frame *d = ad_frame_get_dummies(in, true);
    int64_t n = ad_frame_snprint(NULL, 0, d);
    cr_expect_eq(ad_frame_snprint(buf, sizeof buf, d), n, "the length asked for and the length written agree");
    cr_expect_str_eq(buf, "   NumRooms  Alley_Pave  Alley_nan\n"
                          "0       3.0           1          0\n"
                          "1       2.0           0          1\n"
                          "2       4.0           0          1\n"
                          "3       3.0           0          1\n");
    th_expect(ad_frame_tensor(d), AD_SHAPE(4, 3), TH_V(3, 1, 0, 2, 0, 1, 4, 0, 1, 3, 0, 1), 0, 0);
    char tiny[8];
    cr_expect_eq(ad_frame_snprint(tiny, sizeof tiny, d), n, "a short buffer still reports the whole length");
    cr_expect_eq(strlen(tiny), sizeof tiny - 1);
    ad_frame_free(d);
    ad_frame_free(in);
    ad_frame_free(f);
}

Test(data, fills_and_encodes, .description = "fillna by value and mean; categories sorted; dummy_na optional")
{
    ad_frame *f = parse("x,c,y\n1.5,b,\n,a,2\n2.5,b,4\n, ,6\n");
    cr_assert_not_null(f, "%s", ad_errmsg(ctx));
    ad_frame *g = ad_frame_columns(f, 0, 3);
    cr_assert_eq(ad_frame_fillna_mean(f), AD_OK);
    cr_assert_eq(ad_frame_fillna(g, -7), AD_OK);
    ad_frame *d = ad_frame_get_dummies(f, false);
    cr_assert_eq(ad_frame_ncols(d), 4); /* x, y, c_a, c_b: the blank field is missing */
    cr_expect_str_eq(ad_frame_name(d, 1), "y");
    cr_expect_str_eq(ad_frame_name(d, 2), "c_a");
    cr_expect_str_eq(ad_frame_name(d, 3), "c_b");
    th_expect(ad_frame_tensor(d), AD_SHAPE(4, 4), TH_V(1.5, 4, 0, 1, 2, 2, 1, 0, 2.5, 4, 0, 1, 2, 6, 0, 0), 0, 0);
    ad_frame *e = ad_frame_get_dummies(g, true);
    cr_assert_eq(ad_frame_ncols(e), 5);
    cr_expect_str_eq(ad_frame_name(e, 4), "c_nan");
    th_expect(ad_frame_tensor(e), AD_SHAPE(4, 5),
              TH_V(1.5, -7, 0, 1, 0, -7, 2, 1, 0, 0, 2.5, 4, 0, 1, 0, -7, 6, 0, 0, 1), 0, 0);
    ad_frame_free(e);
    ad_frame_free(d);
    ad_frame_free(g);
    ad_frame_free(f);
}

Test(data, rfc4180_quotes_and_lines, .description = "quoted commas, doubled quotes and newlines; lines still counted")
{
    ad_frame *f = parse("name,v\n\"a, b\",1\n\"say \"\"hi\"\"\nthere\",2\nc,x\n");
    cr_assert_not_null(f, "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_frame_nrows(f), 3);
    ad_frame *d = ad_frame_get_dummies(f, false);
    cr_expect_str_eq(ad_frame_name(d, 0), "name_a, b");
    cr_expect_str_eq(ad_frame_name(d, 1), "name_c");
    cr_expect_str_eq(ad_frame_name(d, 2), "name_say \"hi\"\nthere");
    ad_clear_error(ctx);
    cr_expect_null(ad_frame_tensor(f));
    cr_expect(strstr(ad_errmsg(ctx), "column 'name' is categorical (row 0, line 2, holds 'a, b')"), "%s",
              ad_errmsg(ctx));
    ad_frame_free(d);
    ad_frame_free(f);
    /* the record after a two-line field is on line 4 */
    expect_parse_error("a,b\n1,\"x\ny\"\n3\n", "row 1 (line 4) has 1 field, but the header names 2 columns");
}

Test(data, malformed_input_names_row_line_and_column, .description = "each bad file is an error saying where")
{
    expect_parse_error("a,b\n1,2\n3\n", "t.csv: row 1 (line 3) has 1 field, but the header names 2 columns");
    expect_parse_error("a,b\n1,2,3\n", "row 0 (line 2) has 3 fields");
    expect_parse_error("", "t.csv: no header line (the file is empty)");
    expect_parse_error("a,b\n1,\"2\n", "the file ends inside a quoted field");
    expect_parse_error("a,b\n1,2\"x\n", "t.csv: line 2:");
    expect_parse_error("a,b\n1,inf\n", "row 0 (line 2), column 'b': 'inf' is not a finite number");
    expect_parse_error("a,b\n1,1e999\n", "column 'b': '1e999' is not a finite number");
    expect_parse_error("a,a\n1,2\n", "columns 0 and 1 are both named 'a'");
    static const char nul[] = "a,b\n1,x\0y\n";
    ad_clear_error(ctx);
    cr_expect_null(ad_frame_parse_csv(ctx, nul, sizeof nul - 1, "t.csv"));
    cr_expect(strstr(ad_errmsg(ctx), "line 2: field 1 holds a NUL byte"), "%s", ad_errmsg(ctx));
    ad_frame *f = parse("a,,c\n1,2,3\n");
    cr_expect_str_eq(ad_frame_name(f, 1), "Unnamed: 1");
    ad_clear_error(ctx);
    cr_expect_null(ad_frame_columns(f, 1, 5));
    cr_expect(strstr(ad_errmsg(ctx), "[1, 5) does not fit the 3 columns"), "%s", ad_errmsg(ctx));
    cr_expect_neq(ad_frame_fillna(f, NAN), AD_OK, "NaN is no fill value");
    ad_frame_free(f);
    f = parse("a,b\nNA,1\n");
    cr_expect_eq(ad_frame_fillna_mean(f), AD_EINVAL, "a column without any value has no mean");
    cr_expect(strstr(ad_errmsg(ctx), "column 'a' has no value to take the mean of"), "%s", ad_errmsg(ctx));
    ad_frame_free(f);
}

Test(data, header_only_and_files, .description = "no rows is a [0, n] tensor; files are read, missing ones named")
{
    ad_frame *f = parse("a,b\n");
    ad_tensor *t = ad_frame_tensor(f);
    cr_assert_not_null(t, "%s", ad_errmsg(ctx));
    cr_expect(ad_ndim(t) == 2 && ad_shape_of(t).dim[0] == 0 && ad_shape_of(t).dim[1] == 2);
    ad_frame_free(f);
    const char *path = th_tmp_path("house.csv");
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs(HOUSE, fp);
    fclose(fp);
    f = ad_frame_read_csv(ctx, path);
    cr_assert_not_null(f, "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_frame_nrows(f), 4);
    ad_frame_free(f);
    ad_clear_error(ctx);
    cr_expect_null(ad_frame_read_csv(ctx, "/nonexistent/x.csv"));
    cr_expect(strstr(ad_errmsg(ctx), "cannot open '/nonexistent/x.csv'"), "%s", ad_errmsg(ctx));
}

/* ---- every allocation through the hook ----------------------------------------------------- */

/* The whole pipeline in k: parse, fill, encode, print, tensor.  Returns
 * the status; on success checks the tensor. */
static int pipeline(ad_ctx *k)
{
    ad_frame *f = ad_frame_parse_csv(k, HOUSE, strlen(HOUSE), "h.csv");
    ad_frame *in = f ? ad_frame_columns(f, 0, 2) : NULL;
    int rc = in ? ad_frame_fillna_mean(in) : ad_errno(k);
    ad_frame *d = rc == AD_OK ? ad_frame_get_dummies(in, true) : NULL;
    char buf[256];
    if (d && ad_frame_snprint(buf, sizeof buf, d) < 0) rc = ad_errno(k);
    ad_tensor *t = d && rc == AD_OK ? ad_frame_tensor(d) : NULL;
    if (t) cr_expect(ad_at(t, 0, 0) == 3 && ad_at(t, 3, 2) == 1, "a wrong value after a survived failure");
    else rc = ad_errno(k);
    ad_tensor_free(t);
    ad_frame_free(d);
    ad_frame_free(in);
    ad_frame_free(f);
    return rc;
}

Test(data, allocation_failures_are_errors_not_leaks,
     .description = "failing the N-th allocation, for every N, gives AD_ENOMEM or the right table, and no leak")
{
    th_alloc h = TH_ALLOC_INIT;
    ad_ctx_options o = {.alloc = th_alloc_hook, .alloc_ud = &h};
    ad_ctx *k = ad_ctx_new_with(&o);
    int64_t base = h.calls;
    cr_assert_eq(pipeline(k), AD_OK, "%s", ad_errmsg(k));
    int64_t total = h.calls - base;
    ad_ctx_free(k);
    cr_expect_eq(h.bytes, 0, "%lld bytes left after a clean run", (long long)h.bytes);
    cr_assert_gt(total, 20, "the pipeline allocates through the hook");
    for (int64_t n = 1; n <= total; n++) {
        h = TH_ALLOC_INIT;
        k = ad_ctx_new_with(&o);
        th_alloc_arm(&h, n);
        int rc = pipeline(k);
        cr_expect(rc == AD_OK || rc == AD_ENOMEM, "failing allocation %lld: status %d (%s)", (long long)n, rc,
                  ad_errmsg(k));
        ad_ctx_free(k);
        cr_expect_eq(h.bytes, 0, "failing allocation %lld: %lld bytes leaked", (long long)n, (long long)h.bytes);
    }
}

/* ---- multinomial sampling ----------------------------------------------------------------- */

Test(data, multinomial_counts, .description = "each row sums to n; frequencies follow uneven probabilities")
{
    ad_tensor *p = ad_from_array(ctx, AD_SHAPE(2, 3), TH_V(0.2, 0.3, 0.5, 5, 0, 5));
    ad_tensor *c = ad_multinomial(ctx, p, 60000);
    cr_assert_not_null(c, "%s", ad_errmsg(ctx));
    th_expect(ad_sum(c, AD_AXES(1), false), AD_SHAPE(2), TH_V(60000, 60000), 0, 0);
    cr_expect_eq(ad_at(c, 1, 1), 0, "a category of probability 0 is never drawn");
    /* binomial standard deviations are below 125 draws: 5 of them is 625 */
    double want[6] = {12000, 18000, 30000, 30000, 0, 30000};
    for (int i = 0; i < 6; i++)
        cr_expect(fabs(ad_data(c)[i] - want[i]) < 625, "count %d: %g, expected about %g", i, ad_data(c)[i], want[i]);
    cr_expect(!ad_requires_grad(c) && ad_grad_fn_name(c) == NULL, "a sample is a constant");
}

Test(data, multinomial_repeats_under_a_seed, .description = "the same seed gives the same draws, another differs")
{
    double a[12], b[12], d[12];
    for (int run = 0; run < 3; run++) {
        ad_ctx_seed(ctx, run == 2 ? 7 : 2024);
        ad_tensor *c = ad_multinomial(ctx, ad_ones(ctx, AD_SHAPE(2, 6)), 10);
        cr_assert_eq(ad_to_array(c, run == 0 ? a : run == 1 ? b : d, 12), AD_OK);
    }
    cr_expect(memcmp(a, b, sizeof a) == 0, "seed 2024 twice gave different draws");
    cr_expect(memcmp(a, d, sizeof a) != 0, "seeds 2024 and 7 gave the same draws");
}

Test(data, multinomial_errors, .description = "bad probabilities or counts are errors naming the row and category")
{
    struct {
        ad_tensor *p;
        int64_t n;
        const char *want;
    } cases[] = {
        {ad_from_array(ctx, AD_SHAPE(2, 2), TH_V(1, 1, 0.5, -0.5)), 3, "probability -0.5 of category 1 (row 1)"},
        {ad_from_array(ctx, AD_SHAPE(2), TH_V(INFINITY, 1)), 3, "probability inf of category 0 (row 0)"},
        {ad_zeros(ctx, AD_SHAPE(3)), 3, "row 0 sum to 0"},
        {ad_scalar(ctx, 1), 3, "probs is 0-d"},
        {ad_zeros(ctx, AD_SHAPE(2, 0)), 3, "no categories"},
        {ad_ones(ctx, AD_SHAPE(2)), -1, "-1 draws is out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ad_clear_error(ctx);
        cr_expect_null(ad_multinomial(ctx, cases[i].p, cases[i].n), "case %zu accepted", i);
        cr_expect(strstr(ad_errmsg(ctx), cases[i].want), "case %zu: '%s' lacks '%s'", i, ad_errmsg(ctx),
                  cases[i].want);
    }
}

Test(data, multinomial_in_expressions, .description = "multinomial(probs, n) in the language, rows summing to n")
{
    ad_expr_error err;
    ad_tensor *c = ad_expr_value(ctx, "sum(multinomial(ones(500, 6) / 6, 10), 1)", &err);
    cr_assert_not_null(c, "%s", err.msg);
    ad_tensor *want = ad_full(ctx, AD_SHAPE(500), 10);
    cr_expect_eq(ad_item(ad_sum(ad_eq(c, want), AD_ALL, false)), 500);
    cr_expect_null(ad_expr_value(ctx, "multinomial(ones(6), -2)", &err));
    cr_expect(strstr(err.msg, "n -2 must be a non-negative integer"), "%s", err.msg);
}
