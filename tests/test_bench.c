/* tests/test_bench.c — the complexity harness: size lists and ranges, the
 * theory table, fits with a known exponent, the prediction that skips a
 * hopeless cell without running it (a deliberately slow backend), a tiny
 * real sweep whose CSV has exactly the columns of bench/README.md and small
 * errors, memory that does not grow across cells, the summary's flags on
 * synthetic data, shards and their merge, the progress line, and the
 * adscope bench / adscope merge commands. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "helpers.h"
#include "th_cli.h"
#include "th_params.h" /* after helpers.h */

TestSuite(bench, .init = th_setup, .fini = th_teardown);

/* ---- helpers ------------------------------------------------------------------------------ */

static ad_bench_config small_config(int nfns, const ad_bench_fn *const *fns, int nb, const ad_backend *const *bs,
                                    int ns, const int64_t *sizes)
{
    ad_bench_config c;
    ad_bench_config_defaults(&c, true);
    c.nfns = nfns;
    c.fns = fns;
    c.nbackends = nb;
    c.backends = bs;
    c.nsizes = ns;
    c.sizes = sizes;
    c.min_reps = 2;
    c.min_time = 0.001;
    c.budget = 5;
    return c;
}

static int64_t find_row(const ad_bench_table *t, const char *fn, const char *b, double size)
{
    for (int64_t r = 0; r < t->nrows; r++)
        if (strcmp(ad_bench_table_get(t, r, "function"), fn) == 0 && strcmp(ad_bench_table_get(t, r, "backend"), b) == 0 &&
            ad_bench_table_num(t, r, "size") == size)
            return r;
    return -1;
}

static void write_csv(const char *path, const ad_bench_table *t)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(ad_bench_table_write(f, t), 0);
    fclose(f);
}

/* ---- sizes ----------------------------------------------------------------------------------- */

static void expect_sizes(const char *spec, int n, const int64_t *want)
{
    int64_t *v;
    int k;
    char err[512];
    cr_assert_eq(ad_bench_parse_sizes(spec, &v, &k, err, sizeof err), 0, "'%s': %s", spec, err);
    cr_expect_eq(k, n, "'%s' gives %d sizes, expected %d", spec, k, n);
    for (int i = 0; i < k && i < n; i++) cr_expect_eq(v[i], want[i], "'%s'[%d] = %lld, expected %lld", spec, i,
                                                      (long long)v[i], (long long)want[i]);
    free(v);
}
#define SZ(...) ((const int64_t[]){__VA_ARGS__})

Test(bench, sizes_lists_and_ranges, .description = "--sizes: 10,100,1000; 10:1e6:x10; 1:1000:+250; mixed, sorted, deduplicated")
{
    expect_sizes("10,100,1000", 3, SZ(10, 100, 1000));
    expect_sizes("10:1e6:x10", 6, SZ(10, 100, 1000, 10000, 100000, 1000000));
    expect_sizes("10:1e6", 6, SZ(10, 100, 1000, 10000, 100000, 1000000));
    expect_sizes("1:1000:+250", 4, SZ(1, 251, 501, 751));
    expect_sizes("10:1000:x3.1623", 5, SZ(10, 32, 100, 316, 1000));
    expect_sizes("1:4:*2", 3, SZ(1, 2, 4));
    expect_sizes("1000,10,100,10", 3, SZ(10, 100, 1000));
    expect_sizes("1:3:+1,2e3,50", 5, SZ(1, 2, 3, 50, 2000));
    expect_sizes("7", 1, SZ(7));
    expect_sizes("5:5:x10", 1, SZ(5));
}

static void expect_size_error(const char *spec, const char *part)
{
    int64_t *v = NULL;
    int k = -1;
    char err[512] = "";
    cr_expect_eq(ad_bench_parse_sizes(spec, &v, &k, err, sizeof err), -1, "'%s' was accepted", spec);
    cr_expect_null(v);
    cr_expect(strstr(err, part), "the message for '%s' does not name '%s': %s", spec, part, err);
}

Test(bench, sizes_errors_name_the_offending_part)
{
    expect_size_error("", "no sizes");
    expect_size_error("10,,20", "empty item");
    expect_size_error("abc", "'abc'");
    expect_size_error("0", "'0'");
    expect_size_error("2.5", "'2.5'");
    expect_size_error("2e9", "'2e9'");
    expect_size_error("10:1e6:y10", "'y10'");
    expect_size_error("10:1e6:x1", "'x1'");
    expect_size_error("10:1e6:+0", "'+0'");
    expect_size_error("10:1e6:x", "'x'");
    expect_size_error("100:10:x10", "ends (10) before it starts (100)");
    expect_size_error("ten:100", "start 'ten'");
    expect_size_error("10:lots", "stop 'lots'");
    expect_size_error("1:1e9:+1", "more than 10000 sizes");
    expect_size_error("10,20,-5", "'-5'");
}

/* ---- theory ------------------------------------------------------------------------------------ */

static void expect_theory(const char *fn, const char *backend, double time, double mem)
{
    const ad_bench_fn *f = ad_bench_suite_find(fn);
    const ad_backend *b = ad_backend_find(backend);
    cr_assert_not_null(f, "%s", fn);
    cr_assert_not_null(b, "%s", backend);
    double t, m;
    ad_bench_theory(f, ad_bench_class_of(b), f->jacobian, NAN, &t, &m);
    cr_expect_eq(t, time, "%s/%s: time exponent %g, expected %g", fn, backend, t, time);
    cr_expect_eq(m, mem, "%s/%s: memory exponent %g, expected %g", fn, backend, m, mem);
}

Test(bench, theory_table, .description = "the issue's exponents: reverse n^1, forward/differences n^2, chain memory k^1 vs k^0, broadcast m^1 vs m^2")
{
    cr_expect_eq(ad_bench_suite_count(), 6);
    for (int i = 0; i < ad_bench_suite_count(); i++) {
        const ad_bench_fn *f = ad_bench_suite_at(i);
        cr_expect_eq(ad_bench_suite_find(f->name), f);
        cr_expect_not_null(f->exact, "%s has no analytic derivative", f->name);
    }
    cr_expect_null(ad_bench_suite_find("nonesuch"));
    /* classes of the built-in backends */
    cr_expect_eq(ad_bench_class_of(ad_backend_find("reverse")), AD_BENCH_REVERSE);
    cr_expect_eq(ad_bench_class_of(ad_backend_find("forward")), AD_BENCH_FORWARD);
    cr_expect_eq(ad_bench_class_of(ad_backend_find("forward-vector")), AD_BENCH_FORWARD);
    const char *diffs[] = {"central", "forward-diff", "five-point", "gsl-deriv"};
    for (int i = 0; i < 4; i++) cr_expect_eq(ad_bench_class_of(ad_backend_find(diffs[i])), AD_BENCH_DIFF, "%s", diffs[i]);
    /* gradients of R^n -> R */
    const char *lin[] = {"rosenbrock", "expsin", "softmax_ce"};
    for (int i = 0; i < 3; i++) {
        expect_theory(lin[i], "reverse", 1, 1);
        expect_theory(lin[i], "forward", 2, 1);
        expect_theory(lin[i], "forward-vector", 2, 1);
        expect_theory(lin[i], "central", 2, 1);
        expect_theory(lin[i], "gsl-deriv", 2, 1);
    }
    /* mlp: O(n^2) evaluation, O(n) memory */
    expect_theory("mlp", "reverse", 2, 1);
    expect_theory("mlp", "forward", 3, 1);
    expect_theory("mlp", "five-point", 3, 1);
    /* chain(k): the tape keeps k states, forward mode none */
    expect_theory("chain", "reverse", 1, 1);
    expect_theory("chain", "forward", 1, 0);
    expect_theory("chain", "forward-diff", 1, 0);
    /* broadcast(m): the shape where forward mode wins */
    expect_theory("broadcast", "forward", 1, 1);
    expect_theory("broadcast", "reverse", 2, 1);
    expect_theory("broadcast", "central", 1, 1);
    cr_expect(ad_bench_suite_find("broadcast")->jacobian);
    /* custom functions: from the measured evaluation exponent */
    double t, m;
    ad_bench_theory(NULL, AD_BENCH_REVERSE, false, 2, &t, &m);
    cr_expect_eq(t, 2);
    cr_expect(isnan(m));
    ad_bench_theory(NULL, AD_BENCH_DIFF, false, 2, &t, &m);
    cr_expect_eq(t, 3);
    ad_bench_theory(NULL, AD_BENCH_FORWARD, true, 1, &t, &m);
    cr_expect(isnan(t), "no prediction for a custom Jacobian");
    ad_bench_theory(NULL, AD_BENCH_REVERSE, false, NAN, &t, &m);
    cr_expect(isnan(t));
}

/* ---- fits ----------------------------------------------------------------------------------------- */

Test(bench, fit_recovers_a_known_exponent, .description = "y = 3 x^1.7 with 1% noise: slope 1.7 within its standard error, R^2 ~ 1")
{
    double x[12], y[12];
    for (int i = 0; i < 12; i++) {
        x[i] = 10 * pow(2, i);
        y[i] = 3 * pow(x[i], 1.7) * (1 + 0.01 * sin(3.0 * i));
    }
    ad_bench_fit f;
    cr_assert(ad_bench_fit_loglog(x, y, 12, &f));
    cr_expect_eq(f.n, 12);
    cr_expect(fabs(f.slope - 1.7) < 0.01, "slope %g", f.slope);
    cr_expect(f.se > 0 && f.se < 0.01, "se %g", f.se);
    cr_expect(fabs(f.slope - 1.7) < 4 * f.se + 1e-3, "slope %g ± %g", f.slope, f.se);
    cr_expect(f.r2 > 0.999, "R² %g", f.r2);
    cr_expect(fabs(exp(f.intercept) - 3) < 0.1, "prefactor %g", exp(f.intercept));
    /* the flagging rule */
    ad_bench_fit g = {.n = 5, .slope = 1.2, .se = 0.01, .r2 = 1};
    cr_expect_not(ad_bench_disagrees(&g, 1), "0.2 from theory is within 0.3");
    g.slope = 1.4;
    cr_expect(ad_bench_disagrees(&g, 1), "0.4 from theory is not");
    g.se = 0.2;
    cr_expect_not(ad_bench_disagrees(&g, 1), "within 3 standard errors");
    g.se = 0.01;
    cr_expect_not(ad_bench_disagrees(&g, NAN), "no theory, no flag");
    g.n = 2;
    cr_expect_not(ad_bench_disagrees(&g, 1), "two points are no fit");
    g.n = 5;
    cr_expect(ad_bench_disagrees(&g, 2), "1.4 against 2");
}

/* ---- the plan and shards ------------------------------------------------------------------------------- */

Test(bench, shards_partition_the_cells, .description = "the union of shards i/N is every cell, they are disjoint, and a series stays whole")
{
    const ad_bench_fn *fns[6];
    for (int i = 0; i < 6; i++) fns[i] = ad_bench_suite_at(i);
    const ad_backend *bs[16];
    int nb = ad_backend_count();
    cr_assert_leq(nb, 16);
    for (int i = 0; i < nb; i++) bs[i] = ad_backend_at(i);
    ad_bench_config c;
    ad_bench_config_defaults(&c, false);
    c.nfns = 6;
    c.fns = fns;
    c.nbackends = nb;
    c.backends = bs;
    char err[256];
    int64_t total = ad_bench_plan(&c, NULL, 0, err, sizeof err);
    cr_assert_gt(total, 100, "%s", err);
    ad_bench_planned *all = malloc((size_t)total * sizeof *all);
    cr_assert_eq(ad_bench_plan(&c, all, total, err, sizeof err), total);
    /* sizes increase within a series */
    for (int64_t i = 0; i < total; i++)
        for (int64_t j = i + 1; j < total; j++)
            if (all[j].series == all[i].series) cr_expect_gt(all[j].size, all[i].size);
    int *seen = calloc((size_t)total, sizeof *seen);
    for (int N = 2; N <= 5; N++) {
        memset(seen, 0, (size_t)total * sizeof *seen);
        int *series_shard = malloc((size_t)(6 * nb) * sizeof *series_shard);
        for (int s = 0; s < 6 * nb; s++) series_shard[s] = -1;
        int64_t sum = 0;
        for (int i = 0; i < N; i++) {
            c.shard = i;
            c.nshards = N;
            int64_t k = ad_bench_plan(&c, NULL, 0, err, sizeof err);
            ad_bench_planned *p = malloc((size_t)(k ? k : 1) * sizeof *p);
            cr_assert_eq(ad_bench_plan(&c, p, k, err, sizeof err), k);
            for (int64_t j = 0; j < k; j++) {
                int64_t where = -1;
                for (int64_t a = 0; a < total && where < 0; a++)
                    if (all[a].fn == p[j].fn && all[a].backend == p[j].backend && all[a].size == p[j].size) where = a;
                cr_assert_geq(where, 0, "shard %d/%d has a cell that is not in the plan", i, N);
                seen[where]++;
                cr_expect(series_shard[p[j].series] < 0 || series_shard[p[j].series] == i,
                          "series %d split between shards", p[j].series);
                series_shard[p[j].series] = i;
                cr_expect_eq(ad_bench_shard_of(p[j].series, N), i);
            }
            sum += k;
            free(p);
        }
        cr_expect_eq(sum, total, "N = %d: %lld cells in the shards, %lld in all", N, (long long)sum, (long long)total);
        for (int64_t a = 0; a < total; a++) cr_expect_eq(seen[a], 1, "N = %d: cell %lld in %d shards", N, (long long)a, seen[a]);
        free(series_shard);
    }
    free(seen);
    free(all);
    /* a configuration that names no shard */
    c.shard = 3;
    c.nshards = 3;
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    cr_expect_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), -1);
    cr_expect(strstr(err, "shard 3 of 3"), "%s", err);
    ad_bench_table_free(&t);
}

/* ---- prediction and skipping: a deliberately slow backend ------------------------------------------ */

static int64_t slow_max_n;
static int64_t slow_calls;

/* forward mode, plus 1 ms per direction: a gradient costs n ms */
static int slow_jvp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
                    ad_eval *e, ad_stats *st)
{
    (void)b;
    int64_t n = ad_problem_size(p);
    if (n > slow_max_n) slow_max_n = n;
    slow_calls++;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    const ad_backend *fwd = ad_backend_find("forward");
    return fwd->jvp(fwd, p, k, V, o, e, st);
}

static const ad_backend SLOW = {.name = "slow", .description = "forward mode, 1 ms per direction", .jvp = slow_jvp};

Test(bench, hopeless_cell_is_skipped_not_run, .description = "a cell predicted over the budget (and the larger ones) is marked skipped and never called")
{
    cr_assert_eq(ad_backend_register(&SLOW), AD_OK);
    const ad_bench_fn *fns[] = {ad_bench_suite_find("expsin")};
    const ad_backend *bs[] = {ad_backend_find("slow"), ad_backend_find("reverse")};
    const int64_t sizes[] = {10, 20, 1000, 2000};
    ad_bench_config c = small_config(1, fns, 2, bs, 4, sizes);
    c.budget = 0.5;
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    char err[256];
    slow_max_n = slow_calls = 0;
    cr_assert_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(slow_max_n, 20, "the slow backend was called with n = %lld", (long long)slow_max_n);
    for (int i = 0; i < 4; i++) {
        int64_t r = find_row(&t, "expsin", "slow", (double)sizes[i]);
        cr_assert_geq(r, 0);
        const char *st = ad_bench_table_get(&t, r, "status"), *note = ad_bench_table_get(&t, r, "note");
        if (sizes[i] <= 20) {
            cr_expect_str_eq(st, "ok", "n = %lld: %s", (long long)sizes[i], note);
            cr_expect_geq(ad_bench_table_num(&t, r, "t_grad_median"), 0.001 * (double)sizes[i]);
        } else {
            /* predicted from n = 20 by the differences' exponent 2: >= 20 ms * 50^2 */
            cr_expect_str_eq(st, "skipped", "n = %lld", (long long)sizes[i]);
            cr_expect(strstr(note, "predicted ") && strstr(note, " s > budget 500.00 ms"), "note: %s", note);
            double pred = atof(strstr(note, "predicted ") + 10);
            cr_expect_geq(pred, 0.02 * 2500 * (sizes[i] == 2000 ? 4 : 1), "note: %s", note);
            cr_expect(isnan(ad_bench_table_num(&t, r, "t_grad_median")), "a skipped cell has no time");
        }
        /* the other backend is a series of its own: all ok */
        r = find_row(&t, "expsin", "reverse", (double)sizes[i]);
        cr_expect_str_eq(ad_bench_table_get(&t, r, "status"), "ok");
    }
    ad_bench_table_free(&t);
    ad_backend_unregister("slow");
}

Test(bench, warmup_over_budget_is_skipped, .description = "with nothing to predict from, a warm-up over the budget skips the cell after one call")
{
    cr_assert_eq(ad_backend_register(&SLOW), AD_OK);
    const ad_bench_fn *fns[] = {ad_bench_suite_find("expsin")};
    const ad_backend *bs[] = {ad_backend_find("slow")};
    const int64_t sizes[] = {60, 70};
    ad_bench_config c = small_config(1, fns, 1, bs, 2, sizes);
    c.budget = 0.03;
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    char err[256];
    slow_max_n = slow_calls = 0;
    cr_assert_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(slow_calls, 60, "one gradient (60 directions) at n = 60, nothing at n = 70: %lld calls",
                 (long long)slow_calls);
    cr_expect_str_eq(ad_bench_table_get(&t, 0, "status"), "skipped");
    cr_expect(strstr(ad_bench_table_get(&t, 0, "note"), "the warm-up call took"), "%s", ad_bench_table_get(&t, 0, "note"));
    cr_expect_str_eq(ad_bench_table_get(&t, 1, "status"), "skipped");
    cr_expect(strstr(ad_bench_table_get(&t, 1, "note"), "predicted"), "%s", ad_bench_table_get(&t, 1, "note"));
    ad_bench_table_free(&t);
    ad_backend_unregister("slow");
}

Test(bench, first_size_over_budget_is_probed_and_skipped,
     .description = "--sizes 1e6 alone: probed at 1000 (over the budget there), so n = 1e6 is skipped, never run")
{
    cr_assert_eq(ad_backend_register(&SLOW), AD_OK);
    const ad_bench_fn *fns[] = {ad_bench_suite_find("expsin")};
    const ad_backend *bs[] = {ad_backend_find("slow"), ad_backend_find("reverse")};
    const int64_t sizes[] = {1000000};
    ad_bench_config c = small_config(1, fns, 2, bs, 1, sizes);
    c.budget = 0.2;
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    char err[256];
    slow_max_n = slow_calls = 0;
    cr_assert_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(slow_max_n, AD_BENCH_PROBE_SIZE, "the slow backend was called with n = %lld", (long long)slow_max_n);
    cr_assert_eq(t.nrows, 2, "the probes leave no rows");
    int64_t r = find_row(&t, "expsin", "slow", 1e6);
    cr_expect_str_eq(ad_bench_table_get(&t, r, "status"), "skipped");
    cr_expect(strstr(ad_bench_table_get(&t, r, "note"), "> budget 200.00 ms"), "%s", ad_bench_table_get(&t, r, "note"));
    ad_bench_table_free(&t);
    ad_backend_unregister("slow");
}

/* Row callback: counts the calls, checks that row r is the newest, and
 * fails on the call given. */
typedef struct {
    int64_t calls, fail_at;
    bool in_order;
} row_seen;

static int on_row(void *ud, const ad_bench_table *t, int64_t r)
{
    row_seen *s = ud;
    s->in_order = s->in_order && r == s->calls && r == t->nrows - 1;
    return ++s->calls == s->fail_at ? -1 : 0;
}

Test(bench, each_row_is_handed_over_as_soon_as_measured, .description = "cfg.row sees every row as it is appended; its failure stops the run")
{
    const ad_bench_fn *fns[] = {ad_bench_suite_find("expsin")};
    const ad_backend *bs[] = {ad_backend_find("reverse"), ad_backend_find("forward")};
    const int64_t sizes[] = {10, 20};
    ad_bench_config c = small_config(1, fns, 2, bs, 2, sizes);
    row_seen seen = {.in_order = true};
    c.row = on_row;
    c.row_ud = &seen;
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    char err[256];
    cr_assert_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(seen.calls, 4);
    cr_expect(seen.in_order);
    ad_bench_table_free(&t);
    seen = (row_seen){.in_order = true, .fail_at = 2};
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    cr_expect_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), -1);
    cr_expect_eq(seen.calls, 2, "the run stops at the row that could not be written");
    cr_expect(strstr(err, "could not be written"), "%s", err);
    ad_bench_table_free(&t);
}

/* ---- failures ------------------------------------------------------------------------------------------ */

static int plain_input(const ad_bench_fn *fn, ad_ctx *c, int64_t n, ad_tensor **in, bool *wrt)
{
    (void)fn;
    in[0] = ad_bench_input(c, n);
    wrt[0] = true;
    return in[0] ? 1 : ad_errno(c);
}

/* sum(x) + x[15]: an index error below n = 16 */
static ad_tensor *needs_16(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_add(ad_sum(in[0], AD_ALL, false), ad_idx(in[0], AD_I(15)));
}

Test(bench, failing_cell_is_marked, .description = "a cell whose function fails is 'failed' with the library's message; the sweep goes on")
{
    ad_bench_fn f = {.name = "needs16", .size_name = "n", .auto_kind = true, .f = needs_16, .make_inputs = plain_input};
    for (int i = 0; i < AD_BENCH_NCLASS; i++) f.theory_time[i] = f.theory_mem[i] = NAN;
    const ad_bench_fn *fns[] = {&f};
    const ad_backend *bs[] = {ad_backend_find("reverse"), ad_backend_find("central")};
    const int64_t sizes[] = {10, 20};
    ad_bench_config c = small_config(1, fns, 2, bs, 2, sizes);
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    char err[256];
    cr_expect_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 2, "two failed cells");
    cr_assert_eq(t.nrows, 4);
    for (int r = 0; r < 2; r++) {
        cr_expect_str_eq(ad_bench_table_get(&t, r, "status"), "failed");
        cr_expect(strstr(ad_bench_table_get(&t, r, "note"), "15"), "the message names the index: %s",
                  ad_bench_table_get(&t, r, "note"));
    }
    for (int r = 2; r < 4; r++) {
        cr_expect_str_eq(ad_bench_table_get(&t, r, "status"), "ok", "%s", ad_bench_table_get(&t, r, "note"));
        cr_expect_str_eq(ad_bench_table_get(&t, r, "err_reference"), "five-point");
        cr_expect_lt(ad_bench_table_num(&t, r, "max_rel_err"), 1e-5);
        cr_expect(strstr(ad_bench_table_get(&t, r, "note"), "five-point reference"), "%s",
                  ad_bench_table_get(&t, r, "note"));
    }
    cr_expect_eq(ad_errno(ctx), AD_OK, "the error does not stick to the context");
    ad_bench_table_free(&t);
}

/* ---- a tiny real sweep ---------------------------------------------------------------------------------- */

/* The column names of bench/README.md's CSV table, in order. */
static int readme_columns(char names[64][32])
{
    FILE *f = fopen(ADSCOPE_SOURCE_DIR "/bench/README.md", "r");
    cr_assert_not_null(f);
    char line[1024];
    bool in = false;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "| column | meaning |", 20) == 0) {
            in = true;
            continue;
        }
        if (!in) continue;
        if (line[0] != '|') break;
        if (strncmp(line, "|---", 4) == 0) continue;
        char *end = strchr(line + 1, '|');
        cr_assert_not_null(end);
        *end = '\0';
        for (char *p = strchr(line, '`'); p; p = strchr(p, '`')) {
            char *q = strchr(p + 1, '`');
            cr_assert_not_null(q);
            snprintf(names[n++], 32, "%.*s", (int)(q - p - 1), p + 1);
            p = q + 1;
        }
    }
    fclose(f);
    return n;
}

Test(bench, tiny_sweep_writes_the_documented_csv, .description = "2 functions x 2 backends x 3 sizes: the README's columns, ok cells, exact counts, small errors")
{
    const ad_bench_fn *fns[] = {ad_bench_suite_find("expsin"), ad_bench_suite_find("broadcast")};
    const ad_backend *bs[] = {ad_backend_find("reverse"), ad_backend_find("forward")};
    const int64_t sizes[] = {10, 20, 40};
    ad_bench_config c = small_config(2, fns, 2, bs, 3, sizes);
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns), 0);
    cr_assert_eq(ad_bench_describe(&t, 42, "adscope bench --test"), 0);
    char err[256];
    cr_assert_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 0, "%s", err);
    write_csv(th_tmp_path("tiny.csv"), &t);
    ad_bench_table_free(&t);

    ad_bench_table r;
    cr_assert_eq(ad_bench_table_read(th_tmp_path("tiny.csv"), &r, err, sizeof err), 0, "%s", err);
    char names[64][32];
    int nn = readme_columns(names);
    cr_assert_eq(nn, 33, "bench/README.md documents %d columns", nn);
    cr_assert_eq(r.ncols, nn);
    for (int i = 0; i < nn; i++) cr_expect_str_eq(r.cols[i], names[i], "column %d", i);
    const char *keys[] = {"adscope", "date", "machine", "cpu", "cores", "compiler", "build", "blas", "blas_core", "seed", "command"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) cr_expect_not_null(ad_bench_table_meta(&r, keys[i]), "no '# %s:' line", keys[i]);
    cr_expect_str_eq(ad_bench_table_meta(&r, "seed"), "42");
    cr_expect_eq(r.nrows, 12);
    for (int64_t i = 0; i < r.nrows; i++) {
        const char *fn = ad_bench_table_get(&r, i, "function"), *b = ad_bench_table_get(&r, i, "backend");
        bool rev = strcmp(b, "reverse") == 0, bc = strcmp(fn, "broadcast") == 0;
        double n = ad_bench_table_num(&r, i, "size");
        cr_expect_str_eq(ad_bench_table_get(&r, i, "status"), "ok", "%s %s %g: %s", fn, b, n,
                         ad_bench_table_get(&r, i, "note"));
        cr_expect_str_eq(ad_bench_table_get(&r, i, "kind"), bc ? "jacobian" : "gradient");
        cr_expect_str_eq(ad_bench_table_get(&r, i, "size_name"), bc ? "m" : "n");
        cr_expect_str_eq(ad_bench_table_get(&r, i, "err_reference"), "analytic");
        cr_expect_lt(ad_bench_table_num(&r, i, "max_rel_err"), 1e-12, "%s %s %g", fn, b, n);
        cr_expect_lt(ad_bench_table_num(&r, i, "max_abs_err"), 1e-12, "%s %s %g", fn, b, n);
        cr_expect_geq(ad_bench_table_num(&r, i, "reps"), 5, "at least one call per round");
        cr_expect_eq(ad_bench_table_num(&r, i, "rounds"), 5);
        double best = ad_bench_table_num(&r, i, "t_grad_best"), spread = ad_bench_table_num(&r, i, "t_grad_spread");
        cr_expect(best >= ad_bench_table_num(&r, i, "t_grad_min") && best <= ad_bench_table_num(&r, i, "t_grad_max"),
                  "the best round median %g lies within min and max", best);
        cr_expect(spread >= 0, "spread %g", spread);
        cr_expect_str_eq(ad_bench_table_get(&r, i, "noisy"), ad_bench_too_noisy(spread) ? "yes" : "no");
        double fbest = ad_bench_table_num(&r, i, "t_f_best");
        cr_expect(fbest >= ad_bench_table_num(&r, i, "t_f_min") && fbest <= ad_bench_table_num(&r, i, "t_f_max"));
        double tmin = ad_bench_table_num(&r, i, "t_grad_min"), tmed = ad_bench_table_num(&r, i, "t_grad_median"),
               tmax = ad_bench_table_num(&r, i, "t_grad_max");
        cr_expect(tmin > 0 && tmin <= tmed && tmed <= tmax, "%g %g %g", tmin, tmed, tmax);
        double fmed = ad_bench_table_num(&r, i, "t_f_median");
        cr_expect(fmed > 0 && fabs(ad_bench_table_num(&r, i, "ratio") - tmed / fmed) < 1e-9 * tmed / fmed);
        /* what the backends cost, exactly */
        double passes = ad_bench_table_num(&r, i, "passes"), sweeps = ad_bench_table_num(&r, i, "sweeps");
        if (rev) {
            cr_expect_eq(passes, 1);
            cr_expect_eq(sweeps, bc ? n : 1, "%s reverse %g: %g sweeps", fn, n, sweeps);
            cr_expect_gt(ad_bench_table_num(&r, i, "ops_recorded"), 0);
            cr_expect_gt(ad_bench_table_num(&r, i, "peak_tape"), 0);
        } else {
            cr_expect_eq(passes, bc ? 1 : n, "%s forward %g: %g passes", fn, n, passes);
            cr_expect_eq(sweeps, 0);
            cr_expect_eq(ad_bench_table_num(&r, i, "ops_recorded"), 0);
            cr_expect_eq(ad_bench_table_num(&r, i, "peak_tape"), 0);
            cr_expect_gt(ad_bench_table_num(&r, i, "peak_tangents"), 0);
        }
        double sum = 0;
        const char *cats[] = {"peak_values", "peak_tangents", "peak_tape", "peak_meta"};
        for (int k = 0; k < 4; k++) sum += ad_bench_table_num(&r, i, cats[k]);
        cr_expect_geq(sum, ad_bench_table_num(&r, i, "peak_total"), "the total peak is at most the sum of the peaks");
        cr_expect_gt(ad_bench_table_num(&r, i, "peak_rss"), 0);
    }
    /* broadcast's reverse rows hold the m x 1 Jacobian: at least 8 m bytes of tangents */
    int64_t row = find_row(&r, "broadcast", "reverse", 40);
    cr_expect_geq(ad_bench_table_num(&r, row, "peak_tangents"), 8 * 40);
    ad_bench_table_free(&r);
}

/* ---- memory across cells ----------------------------------------------------------------------------------------- */

typedef struct {
    int n;
    int64_t live[256], tensors[256], size[256];
    const char *fn[256];
} mem_trace;

static void trace_mem(void *ud, const ad_bench_progress *p)
{
    mem_trace *m = ud;
    if (!p->cell || m->n == 256) return;
    ad_mem_stats s;
    ad_ctx_mem_stats(ctx, &s);
    m->live[m->n] = s.live[AD_MEM_VALUES] + s.live[AD_MEM_TANGENTS] + s.live[AD_MEM_TAPE];
    m->tensors[m->n] = s.tensors;
    m->size[m->n] = p->size;
    m->fn[m->n] = p->function;
    m->n++;
}

Test(bench, memory_does_not_grow_across_cells, .description = "live bytes and tensors: equal after every cell of a (function, size), back to the start after a run, the same in a second run")
{
    const ad_bench_fn *fns[] = {ad_bench_suite_find("chain"), ad_bench_suite_find("mlp")};
    const ad_backend *bs[] = {ad_backend_find("reverse"), ad_backend_find("forward-vector"), ad_backend_find("central")};
    const int64_t sizes[] = {2, 5};
    ad_bench_config c = small_config(2, fns, 3, bs, 2, sizes);
    mem_trace m1 = {0}, m2 = {0};
    ad_mem_stats before, after;
    ad_ctx_mem_stats(ctx, &before);
    char err[256];
    for (int run = 0; run < 2; run++) {
        c.progress = trace_mem;
        c.progress_ud = run ? &m2 : &m1;
        ad_bench_table t;
        ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
        cr_assert_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 0, "%s", err);
        ad_bench_table_free(&t);
        ad_ctx_mem_stats(ctx, &after);
        cr_expect_eq(after.live[AD_MEM_VALUES] + after.live[AD_MEM_TANGENTS] + after.live[AD_MEM_TAPE],
                     before.live[AD_MEM_VALUES] + before.live[AD_MEM_TANGENTS] + before.live[AD_MEM_TAPE],
                     "run %d left bytes behind", run);
        cr_expect_eq(after.tensors, before.tensors, "run %d left tensors behind", run);
    }
    cr_assert_eq(m1.n, 12);
    cr_assert_eq(m2.n, m1.n);
    for (int i = 0; i < m1.n; i++) {
        cr_expect_eq(m2.live[i], m1.live[i], "cell %d: %lld live bytes in the second run, %lld in the first", i,
                     (long long)m2.live[i], (long long)m1.live[i]);
        cr_expect_eq(m2.tensors[i], m1.tensors[i], "cell %d", i);
        /* within a (function, size), a cell leaves nothing for the next */
        if (i > 0 && m1.size[i] == m1.size[i - 1] && strcmp(m1.fn[i], m1.fn[i - 1]) == 0) {
            cr_expect_eq(m1.live[i], m1.live[i - 1], "%s size %lld: cell %d grew the live bytes", m1.fn[i],
                         (long long)m1.size[i], i);
            cr_expect_eq(m1.tensors[i], m1.tensors[i - 1], "%s size %lld: cell %d", m1.fn[i], (long long)m1.size[i], i);
        }
    }
}

/* ---- the summary on synthetic results -------------------------------------------------------------------------- */

/* A cell with the passes its gradient took (0: not given). */
static void add_cell_passes(ad_bench_table *t, const char *fn, const char *b, double size, const char *status,
                            double tf, double tg, double peak, int64_t passes)
{
    char s[32], f[32], g[32], r[32], p[32], ps[32];
    snprintf(s, sizeof s, "%.0f", size);
    snprintf(f, sizeof f, "%.17g", tf);
    snprintf(g, sizeof g, "%.17g", tg);
    snprintf(r, sizeof r, "%.17g", tg / tf);
    snprintf(p, sizeof p, "%.0f", peak);
    bool ok = strcmp(status, "ok") == 0;
    const char *row[AD_BENCH_NCOLS] = {fn, b, s, "n", "gradient", status};
    row[8] = f;
    row[11] = ok ? g : "";
    row[13] = ok ? r : "";
    row[21] = ok ? p : "";
    snprintf(ps, sizeof ps, "%lld", (long long)passes);
    row[14] = ok && passes > 0 ? ps : "";
    row[23] = ok ? "1e-15" : "";
    row[24] = ok ? "2e-14" : "";
    row[25] = ok ? "analytic" : "";
    cr_assert_eq(ad_bench_table_add(t, row), 0);
}

static void add_cell(ad_bench_table *t, const char *fn, const char *b, double size, const char *status, double tf,
                     double tg, double peak)
{
    add_cell_passes(t, fn, b, size, status, tf, tg, peak, 0);
}

static const ad_bench_series *series(const ad_bench_series *s, int n, const char *fn, const char *b)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s[i].function, fn) == 0 && strcmp(s[i].backend, b) == 0) return &s[i];
    cr_assert_fail("no series %s/%s", fn, b);
    return NULL;
}

/* forward-vector at its default width keeps k·n near a constant above
 * n = 512, so its flat memory is right and has no single exponent to be
 * judged against (a default run flagged it "DISAGREES"); at a fixed width
 * the memory exponent is 1 and a flat series is still flagged. */
Test(bench, summary_vector_width_from_n, .description = "forward-vector: a width chosen from n is not judged on one memory exponent")
{
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    const double sizes[] = {1000, 2000, 5000, 10000, 20000};
    for (int i = 0; i < 5; i++) {
        double n = sizes[i], tf = 1e-8 * n;
        int64_t k = ad_fwd_default_width((int64_t)n), passes = ((int64_t)n + k - 1) / k;
        add_cell_passes(&t, "expsin", "forward-vector", n, "ok", tf, 1e-9 * n * n, 300000 + n, passes);
        add_cell_passes(&t, "rosenbrock", "forward-vector", n, "ok", tf, 1e-9 * n * n, 300000 + n, ((int64_t)n + 7) / 8);
    }
    ad_bench_series *s;
    int ns;
    cr_assert_eq(ad_bench_summarize(&t, &s, &ns), 0);
    const ad_bench_series *chosen = series(s, ns, "expsin", "forward-vector");
    cr_expect(isnan(chosen->theory_mem) && !chosen->flag_mem, "width from n: memory %g judged against %g",
              chosen->mem.slope, chosen->theory_mem);
    cr_expect_eq(chosen->theory_time, 2, "its time is still judged");
    const ad_bench_series *fixed = series(s, ns, "rosenbrock", "forward-vector");
    cr_expect(fixed->theory_mem == 1 && fixed->flag_mem, "width 8 throughout: flat memory %g is flagged",
              fixed->mem.slope);
    free(s);
    ad_bench_table_free(&t);
}

Test(bench, summary_flags_disagreements, .description = "synthetic fits: a known exponent that agrees (behind an overhead floor) and one that does not")
{
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    const double sizes[] = {10, 100, 1e3, 1e4, 1e5, 1e6};
    for (int i = 0; i < 6; i++) {
        double n = sizes[i], tf = 1e-6 + 1e-8 * n;
        /* reverse: exponent 1 behind a fixed 2 us overhead */
        add_cell(&t, "expsin", "reverse", n, "ok", tf, 2e-6 + 1e-8 * n, 4000 + 16 * n);
        /* forward: n^1.5 where theory says n^2 */
        add_cell(&t, "expsin", "forward", n, i < 5 ? "ok" : "skipped", tf, 1e-7 * pow(n, 1.5), 100 * n);
    }
    for (int k = 1; k <= 1000; k *= 10) {
        /* chain: forward memory constant, reverse memory ~k */
        add_cell(&t, "chain", "forward", k, "ok", 1e-5 * k, 1e-2 * k, 50000 + (k % 7));
        add_cell(&t, "chain", "reverse", k, "ok", 1e-5 * k, 2e-5 * k, 8000 + 32000.0 * k);
    }
    /* a custom function whose evaluation is ~n^2 */
    for (int i = 1; i <= 5; i++) {
        double n = 100 * pow(2, i);
        add_cell(&t, "my_fn", "reverse", n, "ok", 1e-9 * n * n, 3e-9 * n * n, 64 * n);
        add_cell(&t, "my_fn", "central", n, "ok", 1e-9 * n * n, 2e-9 * n * n * n, 64 * n);
    }
    add_cell(&t, "expsin", "central", 10, "failed", 1e-6, NAN, NAN);
    ad_bench_series *s;
    int ns;
    cr_assert_eq(ad_bench_summarize(&t, &s, &ns), 0);
    cr_expect_eq(ns, 7);

    const ad_bench_series *rev = series(s, ns, "expsin", "reverse");
    cr_expect_eq(rev->time.n, 4, "the floor keeps n >= 1000: %d points", rev->time.n);
    cr_expect(fabs(rev->time.slope - 1) < 0.1, "reverse: %g", rev->time.slope);
    cr_expect_eq(rev->theory_time, 1);
    cr_expect_not(rev->flag_time);
    cr_expect(fabs(rev->mem.slope - 1) < 0.1, "reverse memory: %g", rev->mem.slope);
    cr_expect_not(rev->flag_mem);
    cr_expect_eq(rev->largest, 1000000);
    cr_expect(fabs(rev->ratio - (2e-6 + 1e-2) / (1e-6 + 1e-2)) < 1e-9);
    cr_expect(fabs(rev->worst_rel - 2e-14) < 1e-20);
    /* without the floor the overhead would have bent the slope */
    double x[6], y[6];
    for (int i = 0; i < 6; i++) {
        x[i] = sizes[i];
        y[i] = 2e-6 + 1e-8 * sizes[i];
    }
    ad_bench_fit all;
    ad_bench_fit_loglog(x, y, 6, &all);
    cr_expect_lt(all.slope, 0.85, "the overhead region alone gives %g", all.slope);

    const ad_bench_series *fwd = series(s, ns, "expsin", "forward");
    cr_expect(fabs(fwd->time.slope - 1.5) < 1e-6, "forward: %g", fwd->time.slope);
    cr_expect_eq(fwd->theory_time, 2);
    cr_expect(fwd->flag_time, "1.5 against 2 is flagged");
    cr_expect_not(fwd->flag_mem);
    cr_expect_eq(fwd->nskipped, 1);
    cr_expect_eq(fwd->largest, 100000);

    const ad_bench_series *cf = series(s, ns, "chain", "forward"), *cr = series(s, ns, "chain", "reverse");
    cr_expect(fabs(cf->mem.slope) < 0.01 && cf->theory_mem == 0 && !cf->flag_mem, "chain forward memory %g",
              cf->mem.slope);
    cr_expect_eq(cf->mem_floor, 0, "constant memory: every cell of the time fit");
    cr_expect(fabs(cr->mem.slope - 1) < 0.1 && cr->theory_mem == 1 && !cr->flag_mem, "chain reverse memory %g",
              cr->mem.slope);

    const ad_bench_series *mr = series(s, ns, "my_fn", "reverse"), *mc = series(s, ns, "my_fn", "central");
    cr_expect(mr->custom);
    cr_expect(fabs(mr->eval.slope - 2) < 1e-6, "evaluation exponent %g", mr->eval.slope);
    cr_expect_eq(mr->theory_time, 2, "custom reverse: the evaluation's exponent");
    cr_expect_eq(mc->theory_time, 3, "custom central: one more");
    cr_expect(isnan(mc->theory_mem));
    cr_expect_not(mr->flag_time || mc->flag_time);

    const ad_bench_series *ce = series(s, ns, "expsin", "central");
    cr_expect_eq(ce->nfailed, 1);
    cr_expect_eq(ce->time.n, 0);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int flagged = ad_bench_summary_print(f, s, ns);
    fclose(f);
    cr_expect_eq(flagged, 1, "one flagged exponent:\n%s", buf);
    const char *line = strstr(buf, "\n  forward ");
    cr_assert_not_null(line, "%s", buf);
    const char *eol = strchr(line + 1, '\n');
    cr_expect(strstr(line, "DISAGREES") && strstr(line, "DISAGREES") < eol, "the forward line is flagged:\n%s", buf);
    cr_expect(strstr(line, " 1.50 ") && strstr(line, "(2)"), "slope and theory side by side:\n%s", buf);
    const char *rl = strstr(buf, "\n  reverse ");
    cr_expect(rl && (!strstr(rl, "DISAGREES") || strstr(rl, "DISAGREES") > strchr(rl + 1, '\n')), "%s", buf);
    cr_expect(strstr(buf, "my_fn (custom)"), "%s", buf);
    cr_expect(strstr(buf, "FAILED"), "%s", buf);
    free(buf);
    free(s);
    ad_bench_table_free(&t);
}

/* ---- merge of shards ------------------------------------------------------------------------------------------ */

Test(bench, merge_of_two_shards, .description = "two shards run separately and merged give every cell once, sorted")
{
    const ad_bench_fn *fns[] = {ad_bench_suite_find("softmax_ce"), ad_bench_suite_find("chain")};
    const ad_backend *bs[] = {ad_backend_find("reverse"), ad_backend_find("forward")};
    const int64_t sizes[] = {3, 6};
    char err[512];
    const char *paths[2] = {th_tmp_path("s0.csv"), th_tmp_path("s1.csv")};
    int64_t counts[2];
    for (int i = 0; i < 2; i++) {
        ad_bench_config c = small_config(2, fns, 2, bs, 2, sizes);
        c.shard = i;
        c.nshards = 2;
        ad_bench_table t;
        ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
        ad_bench_describe(&t, 0, i ? "adscope bench --shard 1/2" : "adscope bench --shard 0/2");
        cr_assert_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 0, "%s", err);
        counts[i] = t.nrows;
        write_csv(paths[i], &t);
        ad_bench_table_free(&t);
    }
    cr_expect_eq(counts[0], 4, "series 0 and 2 (softmax_ce reverse, chain reverse), 2 sizes each");
    cr_expect_eq(counts[1], 4);
    ad_bench_table m;
    cr_assert_eq(ad_bench_merge(2, paths, &m, err, sizeof err), 0, "%s", err);
    cr_expect_eq(m.nrows, 8);
    for (int f = 0; f < 2; f++)
        for (int b = 0; b < 2; b++)
            for (int s = 0; s < 2; s++)
                cr_expect_geq(find_row(&m, fns[f]->name, bs[b]->name, (double)sizes[s]), 0, "%s %s %lld missing",
                              fns[f]->name, bs[b]->name, (long long)sizes[s]);
    cr_expect_str_eq(ad_bench_table_get(&m, 0, "function"), "chain", "sorted by function");
    cr_expect_str_eq(ad_bench_table_meta(&m, "command"), "adscope bench --shard 0/2");
    cr_expect_not_null(ad_bench_table_meta(&m, "command[1]"), "the second shard's command is kept");
    ad_bench_table_free(&m);
    /* a shard merged with itself: duplicate cells */
    const char *twice[2] = {paths[0], paths[0]};
    cr_expect_eq(ad_bench_merge(2, twice, &m, err, sizeof err), -1);
}

/* ---- progress ----------------------------------------------------------------------------------------------- */

Test(bench, progress_lines_and_bar)
{
    ad_bench_cell c = {.function = "expsin", .backend = "reverse", .size_name = "n", .size = 1000,
                       .status = AD_BENCH_OK, .t_f = {1e-4, 2e-4, 3e-4}, .t_grad = {5e-4, 6.2e-4, 7e-4}};
    ad_bench_progress p = {.done = 12, .total = 84, .function = "expsin", .backend = "reverse", .size_name = "n",
                           .size = 1000, .cell = &c, .elapsed = 10, .eta = 60};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ad_bench_progress_printer pp = {.f = f, .tty = false};
    ad_bench_progress_print(&pp, &p);
    p.cell = NULL;
    ad_bench_progress_print(&pp, &p); /* a cell starting: nothing in plain mode */
    c.status = AD_BENCH_SKIPPED;
    snprintf(c.note, sizeof c.note, "predicted 14.00 s > budget 2.00 s");
    p.cell = &c;
    p.done = 13;
    ad_bench_progress_print(&pp, &p);
    fclose(f);
    cr_expect_str_eq(buf, "[12/84] expsin reverse n=1000: 620.0 us, ratio 3.1\n"
                          "[13/84] expsin reverse n=1000: skipped (predicted 14.00 s > budget 2.00 s)\n");
    free(buf);

    f = open_memstream(&buf, &len);
    pp = (ad_bench_progress_printer){.f = f, .tty = true};
    p.cell = NULL;
    ad_bench_progress_print(&pp, &p);
    ad_bench_progress_done(&pp);
    fclose(f);
    cr_expect(buf[0] == '\r' && strstr(buf, "13/84") && strstr(buf, "expsin reverse n=1000") && strstr(buf, "ETA 01:00"),
              "%s", buf);
    cr_expect_eq(pp.last_len, 0);
    free(buf);
}

/* ---- the commands --------------------------------------------------------------------------------------------- */


static const struct {
    const char *args[8];
    const char *msg;
} USAGE_ERRORS[] = {
    {{"bench", "--sizes", "10:1e6:y10"}, "'y10'"},
    {{"bench", "--sizes", "10,abc"}, "'abc'"},
    {{"bench", "--functions", "nope"}, "no suite function 'nope'"},
    {{"bench", "--backends", "reverse,nope"}, "nope"},
    {{"bench", "--shard", "3/2"}, "--shard expects I/N"},
    {{"bench", "--shard", "1"}, "--shard expects I/N"},
    {{"bench", "--budget", "-1"}, "--budget"},
    {{"bench", "--threads", "0"}, "--threads"},
    {{"bench", "--rounds", "0"}, "--rounds"},
    {{"bench", "--plot-format", "jpg"}, "jpg"},
    {{"bench", "--functions", "none"}, "nothing to run"},
    {{"bench", "--size-var", "x"}, "--expr"},
    {{"bench", "--functions", "none", "--expr", "sum(x*y)"}, "--size-var"},
    {{"bench", "--functions", "none", "--expr", "sum(x*"}, "sum(x*"},
    {{"bench", "sum(x)"}, "--expr"},
    {{"merge"}, "no files"},
    {{"merge", "/nonexistent/a.csv"}, "/nonexistent/a.csv"},
    {{"merge", "a.csv", "-o"}, "needs a value"},
};

ParameterizedTestParameters(bench, cli_usage_errors_exit_2)
{
    TH_INDEX_PARAMS(TH_NELEMS(USAGE_ERRORS));
}

ParameterizedTest(int *i, bench, cli_usage_errors_exit_2)
{
    const char *const *args = USAGE_ERRORS[*i].args;
    result *r = run_argv(args);
    cr_expect_eq(r->status, 2, "%s %s: exit %d\n%s", args[0], args[1] ? args[1] : "", r->status, r->err);
    expect_err(r, USAGE_ERRORS[*i].msg);
}

Test(bench, cli_help_texts)
{
    result *r = run("bench", "--help");
    cr_expect_eq(r->status, 0);
    expect_out(r, "--shard I/N");
    r = run("help", "merge");
    cr_expect_eq(r->status, 0);
    expect_out(r, "adscope merge A.csv");
}

Test(bench, cli_run_custom_functions_and_merge, .description = "adscope bench writes the CSV and the summary; --expr and --plugin join; merge joins shards")
{
    char out[600], csv[700];
    snprintf(out, sizeof out, "%s", th_tmp_path("run"));
    result *r = run("bench", "--functions", "expsin", "--backends", "reverse,forward", "--sizes", "10,20,40",
                    "--min-time", "0.001", "--out", out, "--no-plot", "--seed", "7");
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_out(r, "expsin: gradient");
    expect_out(r, "results: ");
    expect_err(r, "[6/6] expsin forward n=40: "); /* plain progress lines: stderr is a file */
    snprintf(csv, sizeof csv, "%s/results.csv", out);
    ad_bench_table t;
    char err[512];
    cr_assert_eq(ad_bench_table_read(csv, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(t.nrows, 6);
    cr_expect_str_eq(ad_bench_table_meta(&t, "seed"), "7");
    const char *th = ad_bench_table_meta(&t, "threads");
    cr_expect(th && strncmp(th, "1 (--threads", 12) == 0, "one thread by default: %s", th ? th : "(none)");
    cr_expect(strstr(ad_bench_table_meta(&t, "command"), "--sizes 10,20,40"), "%s", ad_bench_table_meta(&t, "command"));
    ad_bench_table_free(&t);
    struct stat sb;
    snprintf(csv, sizeof csv, "%s/summary.txt", out);
    cr_expect_eq(stat(csv, &sb), 0, "no summary.txt");

    /* a custom expression, alone, against five-point differences */
    r = run("bench", "--functions", "none", "--expr", "sum(exp(x) * x)", "--backends", "reverse,central", "--sizes",
            "10,20", "--min-time", "0.001", "--out", out, "--no-plot");
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_out(r, "sum(exp(x) * x) (custom): gradient");
    snprintf(csv, sizeof csv, "%s/results.csv", out);
    cr_assert_eq(ad_bench_table_read(csv, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(t.nrows, 4);
    for (int64_t i = 0; i < t.nrows; i++) {
        cr_expect_str_eq(ad_bench_table_get(&t, i, "function"), "sum(exp(x) * x)");
        cr_expect_str_eq(ad_bench_table_get(&t, i, "err_reference"), "five-point");
        cr_expect_lt(ad_bench_table_num(&t, i, "max_rel_err"), 1e-6);
    }
    ad_bench_table_free(&t);

    /* a vector expression with a constant: a Jacobian */
    r = run("bench", "--functions", "none", "--expr", "sin(x) * a", "--size-var", "x", "--var", "a=2", "--label",
            "sin2", "--backends", "forward", "--sizes", "5", "--min-time", "0.001", "--out", out, "--no-plot");
    cr_expect_eq(r->status, 0, "%s", r->err);
    cr_assert_eq(ad_bench_table_read(csv, &t, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(ad_bench_table_get(&t, 0, "function"), "sin2");
    cr_expect_str_eq(ad_bench_table_get(&t, 0, "kind"), "jacobian");
    ad_bench_table_free(&t);

    /* a plugin: its first declared input is swept */
    r = run("bench", "--functions", "none", "--plugin", PLUGIN ":rosenbrock", "--backends", "reverse", "--sizes", "10,20",
            "--min-time", "0.001", "--out", out, "--no-plot");
    cr_expect_eq(r->status, 0, "%s", r->err);
    cr_assert_eq(ad_bench_table_read(csv, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(t.nrows, 2);
    cr_expect(strstr(ad_bench_table_get(&t, 0, "function"), "rosenbrock"));
    cr_expect_str_eq(ad_bench_table_get(&t, 1, "status"), "ok", "%s", ad_bench_table_get(&t, 1, "note"));
    ad_bench_table_free(&t);

    /* a failing cell: exit 1, the rest measured */
    r = run("bench", "--functions", "none", "--expr", "sum(x) + x[15]", "--backends", "reverse", "--sizes", "10,20",
            "--min-time", "0.001", "--out", out, "--no-plot");
    cr_expect_eq(r->status, 1, "%s", r->err);
    expect_err(r, "1 cell failed");

    /* shards, then merge */
    char s0[600], s1[600], merged[700];
    snprintf(s0, sizeof s0, "%s", th_tmp_path("sh0"));
    snprintf(s1, sizeof s1, "%s", th_tmp_path("sh1"));
    for (int i = 0; i < 2; i++) {
        r = run("bench", "--functions", "expsin,chain", "--backends", "reverse,forward", "--sizes", "3,6", "--min-time",
                "0.001", "--shard", i ? "1/2" : "0/2", "--out", i ? s1 : s0);
        cr_expect_eq(r->status, 0, "%s", r->err);
        expect_out(r, "not drawn for a shard");
    }
    char f0[700], f1[700];
    snprintf(f0, sizeof f0, "%s/results.shard-0-of-2.csv", s0);
    snprintf(f1, sizeof f1, "%s/results.shard-1-of-2.csv", s1);
    snprintf(merged, sizeof merged, "%s/all.csv", s0);
    r = run("merge", f0, f1, "-o", merged);
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_err(r, "8 rows from 2 files");
    expect_out(r, "chain: gradient");
    cr_assert_eq(ad_bench_table_read(merged, &t, err, sizeof err), 0, "%s", err);
    cr_expect_eq(t.nrows, 8);
    ad_bench_table_free(&t);
    r = run("merge", f0, f1);
    cr_expect_eq(r->status, 0);
    expect_out(r, "function,backend,size,size_name");
    r = run("merge", f0, f0);
    cr_expect_eq(r->status, 2);
    expect_err(r, "adscope merge: ");
}

Test(bench, backends_are_judged_against_the_measured_evaluation,
     .description = "mlp's f grows like n^1.6 here (theory 2): forward at n^2.6 agrees, forward at n^3.5 does not")
{
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    for (int i = 0; i < 6; i++) {
        double n = 100 * pow(2, i), tf = 1e-6 * pow(n, 1.6);
        add_cell(&t, "mlp", "forward", n, "ok", tf, tf * n, 64 * n);          /* n times f: right */
        add_cell(&t, "mlp", "reverse", n, "ok", tf, 3 * tf, 64 * n);          /* a constant times f: right */
        add_cell(&t, "mlp", "central", n, "ok", tf, 1e-9 * pow(n, 3.5), 64 * n); /* wrong growth */
    }
    ad_bench_series *s;
    int ns;
    cr_assert_eq(ad_bench_summarize(&t, &s, &ns), 0);
    const ad_bench_series *f = series(s, ns, "mlp", "forward"), *r = series(s, ns, "mlp", "reverse"),
                          *c = series(s, ns, "mlp", "central");
    cr_expect(fabs(f->eval.slope - 1.6) < 1e-6);
    cr_expect_eq(f->theory_time, 3, "the theory stays as stated");
    cr_expect(fabs(f->expect_time - 2.6) < 1e-6, "judged against f's measured exponent: %g", f->expect_time);
    cr_expect_not(f->flag_time, "n^2.6 is n times f");
    cr_expect_not(r->flag_time, "n^1.6 is a constant times f");
    cr_expect(c->flag_time, "n^3.5 is not n times f");
    free(s);
    ad_bench_table_free(&t);
}

/* ---- interleaved rounds and the robust statistic --------------------------------------------- */

static char tick_log[4096];
static int tick_len;

static int tick(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o, ad_eval *e,
                ad_stats *st)
{
    if (tick_len + 1 < (int)sizeof tick_log) tick_log[tick_len++] = b->name[5]; /* "tick_a" -> 'a' */
    const ad_backend *fwd = ad_backend_find("forward");
    return fwd->jvp(fwd, p, k, V, o, e, st);
}

static const ad_backend TICK_A = {.name = "tick_a", .description = "forward mode, logged", .jvp = tick};
static const ad_backend TICK_B = {.name = "tick_b", .description = "forward mode, logged", .jvp = tick};

Test(bench, backends_of_a_size_are_timed_in_interleaved_rounds, .description = "a, b, a, b, ... not a... then b...: every round times each backend before the next round starts")
{
    cr_assert_eq(ad_backend_register(&TICK_A), AD_OK);
    cr_assert_eq(ad_backend_register(&TICK_B), AD_OK);
    const ad_bench_fn *fns[] = {ad_bench_suite_find("expsin")};
    const ad_backend *bs[] = {ad_backend_find("tick_a"), ad_backend_find("tick_b")};
    const int64_t sizes[] = {1}; /* one direction: one jvp call per derivative */
    ad_bench_config c = small_config(1, fns, 2, bs, 1, sizes);
    c.min_reps = c.max_reps = 4;
    c.rounds = 4;
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    char err[256];
    tick_len = 0;
    cr_assert_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 0, "%s", err);
    tick_log[tick_len] = '\0';
    /* warm-ups a then b, then 4 rounds of one call each */
    cr_expect_str_eq(tick_log, "ababababab");
    for (int64_t r = 0; r < t.nrows; r++) {
        cr_expect_eq(ad_bench_table_num(&t, r, "rounds"), 4);
        cr_expect_eq(ad_bench_table_num(&t, r, "reps"), 4);
    }
    ad_bench_table_free(&t);
    ad_backend_unregister("tick_a");
    ad_backend_unregister("tick_b");
}

Test(bench, round_rules, .description = "calls per round: min_time and min_reps spread over the rounds left, max_reps never exceeded; best = smallest round median, spread = median round / best - 1")
{
    ad_bench_config c;
    ad_bench_config_defaults(&c, false); /* min_reps 3, min_time 0.1, max_reps 1000 */
    double buf[1000];
    ad_bench_timing t = {.times = buf, .cap = 1000, .last = 1e-3};
    cr_expect_eq(ad_bench_round_reps(&c, &t, 0, 5), 20, "0.1 s over 5 rounds of 1 ms calls");
    t.total = 0.08;
    t.n = 80;
    int m = ad_bench_round_reps(&c, &t, 4, 5);
    cr_expect(m == 20 || m == 21, "the 20 ms left in the last round: %d calls", m); /* 0.1 - 0.08 rounds up */
    t.last = 1; /* slow calls: min_reps decides */
    t.total = t.n = 0;
    cr_expect_eq(ad_bench_round_reps(&c, &t, 0, 5), 1);
    cr_expect_eq(ad_bench_round_reps(&c, &t, 0, 2), 2, "3 calls over 2 rounds: 2 now");
    c.max_reps = 6;
    t.last = 1e-6;
    cr_expect_eq(ad_bench_round_reps(&c, &t, 0, 5), 2, "6 calls, 5 rounds: room for one in each later round");
    t.n = 6;
    cr_expect_eq(ad_bench_round_reps(&c, &t, 4, 5), 0, "max_reps reached");

    double v[] = {5, 4, 6, 10, 11, 9, 3, 100};
    ad_bench_timing u = {.times = v, .cap = 8, .n = 3};
    ad_bench_round_close(&u, 0);
    u.n = 6;
    ad_bench_round_close(&u, 3);
    u.n = 8;
    ad_bench_round_close(&u, 6);
    cr_assert_eq(u.rounds, 3);
    double o[3], best, spread;
    ad_bench_timing_stats(&u, o, &best, &spread);
    cr_expect_eq(best, 5, "round medians 5, 10, 51.5: the best is 5");
    cr_expect(fabs(spread - 1) < 1e-12, "spread %g: the median round (10) over the best", spread);
    u.med[2] = 5.5; /* one slow round among quiet ones does not make the cell noisy */
    u.med[1] = 500;
    ad_bench_timing_stats(&u, o, &best, &spread);
    cr_expect(fabs(spread - 0.1) < 1e-12, "spread %g", spread);
    cr_expect_not(ad_bench_too_noisy(spread));
    u.med[1] = 10;
    u.med[2] = 51.5;
    ad_bench_timing_stats(&u, o, &best, &spread);
    cr_expect(o[0] == 3 && o[2] == 100 && o[1] == 7.5, "min %g median %g max %g of all calls", o[0], o[1], o[2]);
    cr_expect(ad_bench_too_noisy(spread));
    cr_expect_not(ad_bench_too_noisy(0.1));
    cr_expect_not(ad_bench_too_noisy(NAN), "one round: not judged noisy");
}

Test(bench, flags_need_the_confidence_interval_outside_the_tolerance, .description = "0.35 off with a tight fit is flagged; with 3 points and the same se, t(1 dof) = 64 keeps it unflagged")
{
    ad_bench_fit g = {.n = 10, .slope = 1.35, .se = 0.005, .r2 = 1};
    cr_expect(ad_bench_disagrees(&g, 1), "0.35 > 0.3 + t(8)·0.005");
    g.se = 0.02; /* 0.3 + 3.36·0.02 = 0.367 */
    cr_expect_not(ad_bench_disagrees(&g, 1), "the interval reaches into theory ± 0.3");
    g.se = 0.005;
    g.n = 3; /* 0.3 + 63.7·0.005 */
    cr_expect_not(ad_bench_disagrees(&g, 1), "three points prove little");
    g.slope = 0.6;
    g.n = 10;
    cr_expect(ad_bench_disagrees(&g, 1), "below theory too");
}

Test(bench, noisy_cells_are_marked_not_fitted, .description = "a cell whose median round is slower than its best by more than the limit is counted, left out of the fit, and the summary prints the run's noise")
{
    ad_bench_table t;
    ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
    for (int i = 0; i < 8; i++) { /* the floor (4 x the fastest) keeps i >= 2 */
        double n = 1000 * pow(2, i), tg = 1e-8 * n;
        bool noisy = i == 4;
        char sz[32], tf[32], med[32], best[32], sp[32], pk[32];
        snprintf(sz, sizeof sz, "%.0f", n);
        snprintf(tf, sizeof tf, "%.17g", 1e-8 * n);
        snprintf(med, sizeof med, "%.17g", noisy ? 50 * tg : tg);
        snprintf(best, sizeof best, "%.17g", noisy ? 20 * tg : tg); /* the robust column, still off */
        snprintf(sp, sizeof sp, "%g", noisy ? 3.0 : 0.02);
        snprintf(pk, sizeof pk, "%.0f", 64 * n);
        const char *row[AD_BENCH_NCOLS] = {"expsin", "reverse", sz, "n", "gradient", "ok"};
        row[8] = tf;
        row[11] = med;
        row[21] = pk;
        row[30] = best;
        row[31] = sp;
        if (i == 1) { /* a slow T_grad, but f still in its fixed-cost regime with a noisy T_f: out of the fit */
            snprintf(best, sizeof best, "%.17g", 100 * tg);
            row[28] = tf;
            row[29] = "9";
        }
        cr_assert_eq(ad_bench_table_col(&t, "t_grad_best"), 30);
        cr_assert_eq(ad_bench_table_col(&t, "t_grad_spread"), 31);
        cr_assert_eq(ad_bench_table_add(&t, row), 0);
    }
    ad_bench_series *s;
    int ns;
    cr_assert_eq(ad_bench_summarize(&t, &s, &ns), 0);
    cr_expect_eq(s[0].nnoisy, 1);
    cr_expect_eq(s[0].time.n, 5, "the noisy cell is not fitted");
    cr_expect(fabs(s[0].time.slope - 1) < 1e-9, "slope %g: the noisy cell would have bent it", s[0].time.slope);
    cr_expect_not(s[0].flag_time);
    cr_expect(fabs(s[0].noise - 0.02) < 1e-12, "median spread %g", s[0].noise);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ad_bench_summary_print(f, s, ns);
    fclose(f);
    cr_expect(strstr(buf, "[1 too noisy to judge]"), "%s", buf);
    cr_expect(strstr(buf, "noise: a cell's median round is 2.0% slower than its best"), "%s", buf);
    free(buf);
    free(s);
    ad_bench_table_free(&t);
}
