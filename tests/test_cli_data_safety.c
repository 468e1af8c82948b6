/* tests/test_cli_data_safety.c — no lost data, no hangs (issue 12): the
 * guards of grad and check (refusals through the program, decisions
 * through the cost model, never by timing), bench checking --out before
 * its first cell and writing each row as it is measured, CSV round trips
 * through merge, and --json output that is always UTF-8. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cost.h"
#include "helpers.h"
#include "th_cli.h"
#include "th_params.h" /* after helpers.h */

TestSuite(data_safety, .fini = th_tmp_remove);

/* ---- guards: the refusals, table-driven --------------------------------------------------- */

typedef struct {
    const char *args[10];
    const char *want; /* in stderr */
    const char *hint; /* in stderr too */
} refusal;

static const refusal REFUSALS[] = {
    {{"grad", "sum(sin(x))", "--var", "x=zeros(1000000)", "--mode", "forward"}, "--mode forward over 1000000 inputs",
     "Reverse mode"},
    {{"grad", "sum(sin(x))", "--var", "x=zeros(1000000)", "--mode", "central"}, "--mode central over 1000000 inputs",
     "--force"},
    {{"grad", "sum(sin(x))", "--var", "x=zeros(1000000)", "--mode", "all"}, "--mode all over 1000000 inputs",
     "--force"},
    {{"check", "sum(sin(x))", "--var", "x=zeros(1000000)"}, "checking 1000000 inputs", "--fast"},
};

ParameterizedTestParameters(data_safety, hours_of_work_are_refused_before_they_start)
{
    TH_INDEX_PARAMS(TH_NELEMS(REFUSALS));
}

ParameterizedTest(int *i, data_safety, hours_of_work_are_refused_before_they_start,
                  .description = "forward/central/all gradients and a full check at n = 1e6: exit 2 with the estimate "
                                 "and the cheaper way, at once")
{
    const refusal *c = &REFUSALS[*i];
    result *r = run_argv(c->args);
    cr_expect_eq(r->status, 2, "%s: exit %d\n%s", c->args[0], r->status, r->err);
    expect_err(r, c->want);
    expect_err(r, c->hint);
    expect_err(r, "over the limit of 60 s");
}

Test(data_safety, reverse_mode_is_never_refused, .description = "the default mode at n = 2e5 runs (a few evaluations)")
{
    result *r = run("grad", "sum(sin(x))", "--var", "x=zeros(200000)");
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_out(r, "x.grad");
}

Test(data_safety, small_inputs_pass_the_guard, .description = "forward mode at n = 3 is not refused")
{
    result *r = run("grad", "sum(sin(x))", "--var", "x=[1,2,3]", "--mode", "forward");
    cr_expect_eq(r->status, 0, "%s", r->err);
}

/* ---- guards: the cost model and the decision ------------------------------------------------ */

Test(data_safety, cost_model_counts_evaluations_per_backend)
{
    const ad_backend *fwd = ad_backend_find("forward"), *rev = ad_backend_find("reverse"),
                     *cen = ad_backend_find("central"), *vec = ad_backend_find("forward-vector");
    cr_assert(fwd && rev && cen && vec);
    cr_expect_eq(ad_bench_cost_evals(rev, NULL, 1000000, 1), 3, "one pass, one sweep");
    cr_expect_eq(ad_bench_cost_evals(rev, NULL, 10, 4), 9, "m sweeps");
    cr_expect_eq(ad_bench_cost_evals(fwd, NULL, 1000, 1), 2000, "n passes of value + tangent");
    cr_expect_eq(ad_bench_cost_evals(vec, &(ad_options){.width = 10}, 1000, 1), 100 * 11);
    cr_expect_eq(ad_bench_cost_evals(cen, NULL, 1000, 1), 1000 * 2 * 2, "2 points, twice for the estimate");
    cr_expect_eq(ad_bench_cost_evals(cen, &(ad_options){.no_error_estimate = true}, 1000, 1), 2000);
    cr_expect(isnan(ad_bench_cost_evals(cen, NULL, -1, 1)));
    ad_gradcheck_options o = ad_gradcheck_defaults();
    double full = ad_bench_cost_check_evals(&o, 1000000, 1);
    o.fast = true;
    double fast = ad_bench_cost_check_evals(&o, 1000000, 1);
    cr_expect_gt(full, 1e7, "a full check costs many evaluations per coordinate: %g", full);
    cr_expect_lt(fast, 1000, "--fast costs a few per direction: %g", fast);
}

Test(data_safety, guard_decision_is_evaluations_times_one_evaluation)
{
    cr_expect(ad_bench_cost_over(2e6, 0.01, 60), "2e6 x 10 ms is hours");
    cr_expect_not(ad_bench_cost_over(3, 0.01, 60), "reverse mode");
    cr_expect_not(ad_bench_cost_over(5999, 0.01, 60));
    cr_expect(ad_bench_cost_over(6001, 0.01, 60));
    cr_expect(ad_bench_cost_over(NAN, 0.01, 60), "an unknown cost is not a small one");
    cr_expect_not(ad_bench_cost_over(1e12, 1, 0), "no limit");
}

/* ---- bench: --out checked first, rows written as measured ------------------------------------ */

Test(data_safety, bench_unwritable_out_fails_before_the_first_cell,
     .description = "an existing directory where no file can be created: exit 2 before any cell runs")
{
    /* /proc/self exists and is a directory, and no one (not even root) can create a file there */
    result *r = run("bench", "--functions", "expsin", "--backends", "reverse", "--sizes", "10,100", "--out",
                    "/proc/self", "--no-plot");
    cr_expect_eq(r->status, 2, "%s", r->err);
    expect_err(r, "cannot write /proc/self/results.csv");
    cr_expect_null(strstr(r->err, " cells ("), "a cell ran first:\n%s", r->err);
    cr_expect_null(strstr(r->err, "[1/"), "a cell ran first:\n%s", r->err);
}

/* Data rows of the CSV at path (lines not starting with '#' after the
 * header), or -1 when it cannot be read. */
static int64_t data_rows(const char *path)
{
    ad_bench_table t;
    char err[512];
    if (ad_bench_table_read(path, &t, err, sizeof err) != 0) return -1;
    int64_t n = t.nrows;
    ad_bench_table_free(&t);
    return n;
}

/* Starts adscope with args (stdout and stderr to /dev/null). */
static pid_t spawn(const char *const *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
        execv(ADSCOPE, (char *const *)args);
        _exit(127);
    }
    return pid;
}

Test(data_safety, bench_killed_mid_run_keeps_the_measured_rows,
     .description = "SIGKILL after the first row: results.csv holds it, readable, fewer rows than cells")
{
    char out[4096], csv[4200];
    snprintf(out, sizeof out, "%s", th_tmp_path("killed"));
    snprintf(csv, sizeof csv, "%s/results.csv", out);
    /* six cells of at least 0.3 s each */
    const char *args[] = {ADSCOPE,    "bench", "--functions", "chain", "--backends", "reverse", "--sizes",
                          "10:1e6:x10", "--reps", "1",  "--min-time", "0.3", "--no-plot", "--out", out, NULL};
    pid_t pid = spawn(args);
    cr_assert_gt(pid, 0);
    int64_t rows = -1;
    for (int i = 0; i < 600 && rows < 1; i++) { /* up to 60 s */
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        rows = data_rows(csv);
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    cr_expect(WIFSIGNALED(st), "the run ended before it was killed");
    rows = data_rows(csv);
    cr_expect_geq(rows, 1, "the measured rows were lost");
    cr_expect_lt(rows, 6, "%lld rows: the file appeared only at the end", (long long)rows);
}

/* ---- CSV round trips through the program ---------------------------------------------------- */

Test(data_safety, merge_twice_keeps_hash_cells_and_empty_cells,
     .description = "a function named '#f' and an empty note survive two merges (a row used to vanish)")
{
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, 4, (const char *[]){"function", "backend", "size", "note"}), 0);
    ad_bench_table_add(&t, (const char *[]){"#f", "reverse", "10", ""});
    ad_bench_table_add(&t, (const char *[]){"g", "reverse", "10", "a, \"b\""});
    FILE *f = fopen(th_tmp_path("m0.csv"), "w");
    cr_assert_not_null(f);
    cr_assert_eq(ad_bench_table_write(f, &t), 0);
    fclose(f);
    ad_bench_table_free(&t);
    char m0[4096], m1[4096], m2[4096];
    snprintf(m0, sizeof m0, "%s", th_tmp_path("m0.csv"));
    snprintf(m1, sizeof m1, "%s", th_tmp_path("m1.csv"));
    snprintf(m2, sizeof m2, "%s", th_tmp_path("m2.csv"));
    cr_assert_eq(run("merge", m0, "-o", m1)->status, 0);
    cr_assert_eq(run("merge", m1, "-o", m2)->status, 0);
    char err[512];
    cr_assert_eq(ad_bench_table_read(m2, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(t.nrows, 2);
    cr_expect_str_eq(ad_bench_table_get(&t, 0, "function"), "#f");
    cr_expect_str_eq(ad_bench_table_get(&t, 1, "note"), "a, \"b\"");
    ad_bench_table_free(&t);
}

/* ---- --json is UTF-8 --------------------------------------------------------------------------- */

/* Whether s[0..n) is well-formed UTF-8 (RFC 3629), checked by decoding. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || i + (size_t)len > n) return false;
        uint32_t cp = len == 1 ? c : c & (0x7Fu >> len);
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += (size_t)len;
    }
    return true;
}

Test(data_safety, json_is_valid_utf8_whatever_the_input,
     .description = "Latin-1 bytes, a stray continuation byte, an overlong '/' and a surrogate become U+FFFD")
{
    FILE *f = fopen(th_tmp_path("latin1.csv"), "wb");
    cr_assert_not_null(f);
    fputs("name,caf\xe9\nna\xefve,1\n\x80x,2\n\xc0\xaf,3\n\xed\xa0\x80,4\n\xc3\xa9t\xc3\xa9,5\n", f);
    fclose(f);
    result *r = run("data", th_tmp_path("latin1.csv"), "--one-hot", "--json");
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_expect(valid_utf8((const unsigned char *)r->out, strlen(r->out)), "not UTF-8:\n%s", r->out);
    expect_out(r, "caf\\ufffd");
    expect_out(r, "\xc3\xa9t\xc3\xa9"); /* valid UTF-8 passes unchanged */
}
