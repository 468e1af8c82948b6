/* tests/test_gradbench_sweep.c — the heavy GradBench evals as harness
 * functions (gb:gmm, gb:lstm, gb:ht in bench/gradbench/): the function
 * each sweep times is the eval's own (the same value as the eval's
 * objective on the same data, sent as the eval's JSON), ht's synthetic
 * hand rests where its bones say, and `adscope bench` sweeps all three.
 * Their derivatives against five-point differences are
 * test_gradbench.c's evals_sweep_in_the_harness (every gb: function). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "gradbench/gradbench.h"
#include "helpers.h"

#define ADSCOPE ADSCOPE_BINARY_DIR "/adscope"

TestSuite(gbsweep, .init = th_setup, .fini = th_teardown);

/* The inputs of harness function name at size (owned by the test's scope). */
static int bench_inputs(const char *name, int64_t size, ad_tensor **in)
{
    const ad_bench_fn *fn = ad_bench_gradbench_find(name);
    cr_assert(fn, "no harness function %s", name);
    bool wrt[AD_BENCH_MAX_INPUTS] = {0};
    int nin = fn->make_inputs(fn, ctx, size, in, wrt);
    cr_assert_geq(nin, 1, "%s inputs: %s", name, ad_errmsg(ctx));
    cr_expect(wrt[0], "%s differentiates its first input", name);
    return nin;
}

static double bench_value(const char *name, ad_tensor *const *in)
{
    const ad_bench_fn *fn = ad_bench_gradbench_find(name);
    ad_tensor *v = fn->f(ctx, in, fn->user);
    cr_assert(v && ad_numel(v) == 1, "%s: %s", name, ad_errmsg(ctx));
    return ad_item(v);
}

/* The eval's function at input by reverse mode: its JSON output. */
static json_t *eval_output(const char *module, const char *function, json_t *input)
{
    const gb_function *fn = gb_function_find(gb_eval_find(module), function);
    cr_assert(fn, "no %s.%s", module, function);
    void *state = NULL;
    ad_options o = {0};
    cr_assert_eq(fn->prepare(ctx, input, &state), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(fn->run(ctx, ad_backend_find("reverse"), &o, state), AD_OK, "%s", ad_errmsg(ctx));
    json_t *out = fn->output(ctx, state);
    cr_assert(out, "%s", ad_errmsg(ctx));
    fn->free_state(state);
    return out;
}

/* rows x cols values (row stride rs, column stride cs) as a JSON list of rows */
static json_t *rows_json(const double *v, int64_t rows, int64_t cols, int64_t rs, int64_t cs)
{
    json_t *a = json_array();
    for (int64_t i = 0; i < rows; i++) {
        json_t *r = json_array();
        for (int64_t j = 0; j < cols; j++) json_array_append_new(r, json_real(v[i * rs + j * cs]));
        json_array_append_new(a, r);
    }
    return a;
}

/* The gmm eval's input holding gb:gmm's data (packed alpha, mu, q, l; xT) */
static json_t *gmm_json(ad_tensor *const *in, int64_t K)
{
    int64_t D = ad_dim(in[1], 0), N = ad_dim(in[1], 1), L = D * (D - 1) / 2;
    cr_assert_eq(ad_numel(in[0]), K * (1 + 2 * D + L), "alpha, mu, q, l packed");
    const double *p = ad_data(in[0]), *xT = ad_data(in[1]);
    json_t *alpha = json_array();
    for (int64_t k = 0; k < K; k++) json_array_append_new(alpha, json_real(p[k]));
    json_t *input = json_pack("{s:I, s:I, s:I, s:i, s:f, s:o, s:o, s:o, s:o, s:o}", "d", (json_int_t)D, "k",
                              (json_int_t)K, "n", (json_int_t)N, "m", 0, "gamma", 1.0, "alpha", alpha, "mu",
                              rows_json(p + K, K, D, D, 1), "q", rows_json(p + K + K * D, K, D, D, 1), "l",
                              rows_json(p + K + 2 * K * D, K, L, L, 1), "x", rows_json(xT, N, D, 1, N));
    cr_assert(input);
    return input;
}

Test(gbsweep, gmm_times_the_eval_objective, .description = "gb:gmm at k = 3 has the gmm eval's value on its data (d 10, n 1000, m 0, gamma 1)")
{
    ad_tensor *in[AD_BENCH_MAX_INPUTS] = {0};
    bench_inputs("gb:gmm", 3, in);
    json_t *input = gmm_json(in, 3);
    json_t *out = eval_output("gmm", "objective", input);
    double want = json_real_value(out), got = bench_value("gb:gmm", in);
    cr_expect_leq(fabs(got - want), 1e-12 * fabs(want), "gb:gmm %.17g, gmm eval %.17g", got, want);
    json_decref(out);
    json_decref(input);
}

/* The eval's gradient (test_gradbench_evals2 holds it to plain C): five-point
 * differences cannot check entries of 1e4 (1000 points) to better than 1e-5. */
Test(gbsweep, gmm_gradient_is_the_eval_jacobian, .description = "gb:gmm's gradient at k = 2 by every exact backend is the gmm eval's jacobian, packed")
{
    ad_tensor *in[AD_BENCH_MAX_INPUTS] = {0};
    int nin = bench_inputs("gb:gmm", 2, in);
    json_t *input = gmm_json(in, 2);
    json_t *out = eval_output("gmm", "jacobian", input);
    double want[2 * 66];
    size_t n = 0;
    const char *keys[4] = {"alpha", "mu", "q", "l"};
    for (int i = 0; i < 4; i++) {
        json_t *part = json_object_get(out, keys[i]);
        for (size_t r = 0; r < json_array_size(part); r++) {
            json_t *row = json_array_get(part, r);
            if (json_is_number(row)) want[n++] = json_number_value(row);
            for (size_t c = 0; json_is_array(row) && c < json_array_size(row); c++)
                want[n++] = json_number_value(json_array_get(row, c));
        }
    }
    cr_assert_eq(n, 2 * 66, "%zu: the eval's jacobian has k (1 + 2d + d(d-1)/2) entries", n);
    const ad_bench_fn *fn = ad_bench_gradbench_find("gb:gmm");
    bool wrt[AD_BENCH_MAX_INPUTS] = {true};
    for (int bi = 0; bi < ad_backend_count(); bi++) {
        const ad_backend *b = ad_backend_at(bi);
        if (!(b->caps & AD_CAP_EXACT)) continue;
        ad_problem p = {.ctx = ctx, .f = fn->f, .nin = nin, .in = in, .wrt = wrt};
        ad_tensor *g[AD_BENCH_MAX_INPUTS] = {0};
        ad_options o = {0};
        cr_assert_eq(ad_value_and_grad(b, &p, &o, NULL, g, NULL, NULL), AD_OK, "%s: %s", b->name, ad_errmsg(ctx));
        const double *gv = ad_data(ad_contiguous(g[0]));
        for (size_t i = 0; i < n; i++)
            cr_expect_leq(fabs(gv[i] - want[i]), 1e-10 * fmax(1, fabs(want[i])), "%s [%zu]: %.17g, eval %.17g",
                          b->name, i, gv[i], want[i]);
    }
    json_decref(out);
    json_decref(input);
}

Test(gbsweep, lstm_times_the_eval_objective, .description = "gb:lstm at 20 characters has the lstm eval's value on its data (l 2, b 7)")
{
    ad_tensor *in[AD_BENCH_MAX_INPUTS] = {0};
    bench_inputs("gb:lstm", 20, in);
    int64_t b = ad_dim(in[1], 1), l2 = ad_dim(in[1], 0);
    cr_assert_eq(ad_dim(in[2], 0), 20);
    const double *p = ad_data(in[0]), *bits = ad_data(in[2]);
    for (int64_t i = 0; i < 20 * b; i++) cr_assert(bits[i] == 0 || bits[i] == 1, "the text as bits");
    for (int64_t t = 0; t < 20; t++) {
        int ch = 0;
        for (int64_t j = 0; j < b; j++) ch = 2 * ch + (int)bits[t * b + j];
        cr_expect(ch >= 32 && ch <= 126, "character %lld is %d, not printable ASCII", (long long)t, ch);
    }
    json_t *input = json_pack("{s:o, s:o, s:o, s:o}", "main_params", rows_json(p, l2, 4 * b, 4 * b, 1), "extra_params",
                              rows_json(p + l2 * 4 * b, 3, b, b, 1), "state", rows_json(ad_data(in[1]), l2, b, b, 1),
                              "sequence", rows_json(bits, 20, b, b, 1));
    json_t *out = eval_output("lstm", "objective", input);
    double want = json_real_value(out), got = bench_value("gb:lstm", in);
    cr_expect_leq(fabs(got - want), 1e-13 * fabs(want), "gb:lstm %.17g, lstm eval %.17g", got, want);
    json_decref(out);
    json_decref(input);
}

Test(gbsweep, ht_hand_at_rest, .description = "gb:ht at theta = 0: every bone at its base, the errors are points minus base positions")
{
    ad_tensor *in[AD_BENCH_MAX_INPUTS] = {0};
    int nin = bench_inputs("gb:ht", 7, in);
    cr_assert_eq(ad_numel(in[0]), 26);
    in[0] = ad_zeros(ctx, AD_SHAPE(26));
    const ad_bench_fn *fn = ad_bench_gradbench_find("gb:ht");
    cr_expect(fn->jacobian, "ht's derivative is a Jacobian");
    ad_tensor *e = fn->f(ctx, in, fn->user);
    cr_assert(e, "%s", ad_errmsg(ctx));
    cr_assert(ad_ndim(e) == 2 && ad_dim(e, 0) == 7 && ad_dim(e, 1) == 3, "errors [n, 3]");
    /* weights sum to one, so vertex v at rest is Σ_b cv1[v, 4b + k] (cv1 = weight · base position) */
    int64_t cols = ad_dim(in[3], 1), B = (cols - 1) / 4;
    const double *cv1 = ad_data(in[3]), *pts = ad_data(in[4]), *vert = ad_data(in[nin - 1]), *ev = ad_data(e);
    for (int64_t i = 0; i < 7; i++)
        for (int k = 0; k < 3; k++) {
            double rest = 0;
            for (int64_t bo = 0; bo < B; bo++) rest += cv1[(int64_t)vert[i] * cols + 4 * bo + k];
            cr_expect_leq(fabs(ev[i * 3 + k] - (pts[i * 3 + k] - rest)), 1e-12, "point %lld, coordinate %d",
                          (long long)i, k);
        }
}

Test(gbsweep, cli_sweeps_the_heavy_evals, .description = "adscope bench --functions gb:gmm,gb:lstm,gb:ht: ok rows for reverse and forward", .timeout = 300)
{
    char out[600], cmd[1024], path[700];
    snprintf(out, sizeof out, "%s", th_tmp_path("bench"));
    snprintf(cmd, sizeof cmd, "'%s' bench --functions gb:gmm,gb:lstm,gb:ht --backends reverse,forward --sizes 2,3 "
             "--reps 1 --min-time 0.0001 --budget 60 --no-plot --out '%s' >/dev/null 2>&1", ADSCOPE, out);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(path, sizeof path, "%s/results.csv", out);
    int rows = th_count_ok_rows(path, "gb:");
    cr_assert_geq(rows, 0, "no %s", path);
    cr_expect_eq(rows, 12, "3 functions x 2 backends x 2 sizes, all ok");
}
