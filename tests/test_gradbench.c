/* tests/test_gradbench.c — the GradBench evals (bench/gradbench/): each on a
 * small input against values computed here independently (hand-written
 * derivatives, plain-C loops, differences of a plain-C primal), for every
 * exact backend and, looser, for central differences; the outputs' JSON
 * shapes as the evals' READMEs give them; inputs that are wrong; and the
 * evals as harness functions (gb:NAME). */
#include <string.h>

#include "bench.h"
#include "gradbench/gradbench.h"
#include "helpers.h"

TestSuite(gradbench, .init = th_setup, .fini = th_teardown);

/* The function's output at input (JSON text) by backend b: prepare, one
 * run, output (a new reference). */
static json_t *eval_once(const char *module, const char *function, const char *input, const ad_backend *b)
{
    const gb_function *fn = gb_function_find(gb_eval_find(module), function);
    cr_assert(fn, "no %s.%s", module, function);
    json_error_t jerr;
    json_t *in = json_loads(input, JSON_DECODE_ANY, &jerr);
    cr_assert(in, "test input: %s", jerr.text);
    void *state = NULL;
    ad_options o = {0};
    cr_assert_eq(fn->prepare(ctx, in, &state), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(fn->run(ctx, b, &o, state), AD_OK, "%s.%s by %s: %s", module, function, b->name, ad_errmsg(ctx));
    json_t *out = fn->output(ctx, state);
    cr_assert(out, "%s", ad_errmsg(ctx));
    fn->free_state(state);
    json_decref(in);
    return out;
}

/* relative tolerance for backend b: exact to rounding, or differences */
static double tol_of(const ad_backend *b) { return b->caps & AD_CAP_EXACT ? 1e-11 : 1e-6; }

/* the exact backends and central differences */
static int backends(const ad_backend **bs)
{
    int n = 0;
    for (int i = 0; i < ad_backend_count(); i++)
        if (ad_backend_at(i)->caps & AD_CAP_EXACT) bs[n++] = ad_backend_at(i);
    bs[n++] = ad_backend_find("central");
    return n;
}

static void expect_number(const json_t *j, double want, double rtol, const char *what)
{
    cr_assert(json_is_real(j), "%s: not a JSON real", what);
    double got = json_real_value(j);
    cr_expect_leq(fabs(got - want), rtol * fmax(1, fabs(want)), "%s: %.17g, expected %.17g", what, got, want);
}

static void expect_list(const json_t *j, const double *want, size_t n, double rtol, const char *what)
{
    cr_assert(json_is_array(j) && json_array_size(j) == n, "%s: not a list of %zu", what, n);
    for (size_t i = 0; i < n; i++) {
        char w[96];
        snprintf(w, sizeof w, "%s[%zu]", what, i);
        expect_number(json_array_get(j, i), want[i], rtol, w);
    }
}

Test(gradbench, table_and_lookup, .description = "the table lists this build's evals, found by name; others are not")
{
    const char *names[] = {"hello", "llsq", "lse", "det", "ode", "kmeans", "gmm", "lstm", "ba", "ht", "particle", "saddle"};
    for (int i = 0; i < 12; i++) {
        cr_expect_eq(gb_eval_find(names[i]), gb_evals[i]);
        cr_expect_str_eq(gb_evals[i]->name, names[i]);
    }
    cr_expect_null(gb_evals[12]);
    cr_expect_null(gb_eval_find("nonesuch"));
    cr_expect_null(gb_function_find(&gb_eval_llsq, "hessian"));
    cr_expect_not_null(gb_function_find(&gb_eval_kmeans, "dir"));
}

Test(gradbench, hello, .description = "square(x) = x², double(x) = 2x by every backend")
{
    const ad_backend *bs[16];
    int nb = backends(bs);
    for (int i = 0; i < nb; i++) {
        json_t *sq = eval_once("hello", "square", "2.385", bs[i]), *db = eval_once("hello", "double", "2.385", bs[i]);
        expect_number(sq, 2.385 * 2.385, 1e-15, "square");
        expect_number(db, 2 * 2.385, tol_of(bs[i]), bs[i]->name);
        json_decref(sq);
        json_decref(db);
    }
}

/* llsq by hand: r_i = s_i - Σ_j x_j t_i^j, y = Σ r²/2, ∂y/∂x_j = -Σ_i r_i t_i^j */
Test(gradbench, llsq, .description = "primal and gradient against the sums written out")
{
    const double x[3] = {0.3, -0.7, 1.9};
    const int n = 7;
    double y = 0, g[3] = {0};
    for (int i = 0; i < n; i++) {
        double t = -1 + 2.0 * i / (n - 1), s = (t > 0) - (t < 0), r = s - x[0] - x[1] * t - x[2] * t * t;
        y += r * r / 2;
        for (int j = 0; j < 3; j++) g[j] -= r * pow(t, j);
    }
    const char *in = "{\"x\": [0.3, -0.7, 1.9], \"n\": 7, \"min_runs\": 1, \"min_seconds\": 0}";
    const ad_backend *bs[16];
    int nb = backends(bs);
    for (int i = 0; i < nb; i++) {
        json_t *p = eval_once("llsq", "primal", in, bs[i]), *gr = eval_once("llsq", "gradient", in, bs[i]);
        expect_number(p, y, 1e-14, "primal");
        expect_list(gr, g, 3, tol_of(bs[i]), bs[i]->name);
        json_decref(p);
        json_decref(gr);
    }
}

/* the gradient of LogSumExp is softmax */
Test(gradbench, lse, .description = "primal against log Σ exp, gradient against softmax")
{
    const double x[4] = {2.385, -1.2, 0.4, 3.1};
    double z = 0, g[4];
    for (int i = 0; i < 4; i++) z += exp(x[i]);
    for (int i = 0; i < 4; i++) g[i] = exp(x[i]) / z;
    const char *in = "{\"x\": [2.385, -1.2, 0.4, 3.1], \"min_runs\": 1, \"min_seconds\": 0}";
    const ad_backend *bs[16];
    int nb = backends(bs);
    for (int i = 0; i < nb; i++) {
        json_t *p = eval_once("lse", "primal", in, bs[i]), *gr = eval_once("lse", "gradient", in, bs[i]);
        expect_number(p, log(z), 1e-14, "primal");
        expect_list(gr, g, 4, tol_of(bs[i]), bs[i]->name);
        json_decref(p);
        json_decref(gr);
    }
}

static double det3(const double m[9])
{
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
}

/* Gaussian elimination with partial pivoting */
static double det_lu(double a[16])
{
    double d = 1;
    for (int c = 0; c < 4; c++) {
        int p = c;
        for (int r = c + 1; r < 4; r++)
            if (fabs(a[r * 4 + c]) > fabs(a[p * 4 + c])) p = r;
        if (p != c) {
            for (int k = 0; k < 4; k++) {
                double t = a[c * 4 + k];
                a[c * 4 + k] = a[p * 4 + k];
                a[p * 4 + k] = t;
            }
            d = -d;
        }
        d *= a[c * 4 + c];
        for (int r = c + 1; r < 4; r++) {
            double f = a[r * 4 + c] / a[c * 4 + c];
            for (int k = c; k < 4; k++) a[r * 4 + k] -= f * a[c * 4 + k];
        }
    }
    return d;
}

Test(gradbench, det, .description = "primal against elimination, gradient against the cofactors (3×3 minors by Sarrus)")
{
    const double A[16] = {2.385, -1.2, 0.4, 3.1, 0.7, 1.9, -0.3, 0.25, -2.2, 0.6, 1.45, -0.8, 0.9, 0.33, -1.7, 2.05};
    double lu[16], cof[16];
    memcpy(lu, A, sizeof lu);
    double d = det_lu(lu);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double m[9];
            int k = 0;
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++)
                    if (r != i && c != j) m[k++] = A[r * 4 + c];
            cof[i * 4 + j] = ((i + j) % 2 ? -1 : 1) * det3(m);
        }
    const char *in = "{\"A\": [2.385, -1.2, 0.4, 3.1, 0.7, 1.9, -0.3, 0.25, -2.2, 0.6, 1.45, -0.8, 0.9, 0.33, -1.7, "
                     "2.05], \"ell\": 4, \"min_runs\": 1, \"min_seconds\": 0}";
    const ad_backend *bs[16];
    int nb = backends(bs);
    for (int i = 0; i < nb; i++) {
        json_t *p = eval_once("det", "primal", in, bs[i]), *gr = eval_once("det", "gradient", in, bs[i]);
        expect_number(p, d, 1e-13, "primal");
        expect_list(gr, cof, 16, tol_of(bs[i]), bs[i]->name);
        json_decref(p);
        json_decref(gr);
    }
    json_t *one = eval_once("det", "gradient", "{\"A\": [2.385], \"ell\": 1}", ad_backend_find("reverse"));
    expect_list(one, (const double[]){1}, 1, 1e-15, "1×1"); /* d det [a] / da = 1 */
    json_decref(one);
}

/* RK4 of y_0' = x_0, y_i' = x_i y_{i-1}, plain C */
static void ode_plain(const double *x, int n, int s, double *y)
{
    double h = 2.0 / s, k[4][8], t[8];
    for (int i = 0; i < n; i++) y[i] = 0;
    for (int step = 0; step < s; step++) {
        const double *src = y;
        static const double c[4] = {0, 0.5, 0.5, 1};
        for (int q = 0; q < 4; q++) {
            for (int i = 0; i < n; i++) t[i] = y[i] + (q ? c[q] * h * k[q - 1][i] : 0);
            src = t;
            for (int i = 0; i < n; i++) k[q][i] = x[i] * (i ? src[i - 1] : 1);
        }
        for (int i = 0; i < n; i++) y[i] += h * (k[0][i] + 2 * k[1][i] + 2 * k[2][i] + k[3][i]) / 6;
    }
}

Test(gradbench, ode, .description = "primal against a plain-C RK4, the last element's gradient against its central differences")
{
    const double x[4] = {0.5, 1.3, -0.7, 0.9};
    double y[4], g[4];
    ode_plain(x, 4, 4, y);
    for (int j = 0; j < 4; j++) {
        double xp[4], xm[4], yp[4], ym[4], h = 1e-5;
        memcpy(xp, x, sizeof xp);
        memcpy(xm, x, sizeof xm);
        xp[j] += h;
        xm[j] -= h;
        ode_plain(xp, 4, 4, yp);
        ode_plain(xm, 4, 4, ym);
        g[j] = (yp[3] - ym[3]) / (2 * h);
    }
    const char *in = "{\"x\": [0.5, 1.3, -0.7, 0.9], \"s\": 4, \"min_runs\": 1, \"min_seconds\": 0}";
    const ad_backend *bs[16];
    int nb = backends(bs);
    for (int i = 0; i < nb; i++) {
        json_t *p = eval_once("ode", "primal", in, bs[i]), *gr = eval_once("ode", "gradient", in, bs[i]);
        expect_list(p, y, 4, 1e-14, "primal");
        expect_list(gr, g, 4, 1e-8, bs[i]->name); /* the differences' own error ~1e-10 */
        json_decref(p);
        json_decref(gr);
    }
}

/* cost Σ_i min_j |C_j - P_i|²; dir = J ⊘ H with J_j = Σ_{i→j} 2(C_j - P_i), H_j = 2·#{i→j} */
Test(gradbench, kmeans, .description = "cost and Newton's direction against the assignment written out")
{
    const double P[6][2] = {{0, 0}, {0.2, 0.1}, {1, 1}, {0.9, 1.2}, {0.1, -0.3}, {1.1, 0.8}};
    const double C[2][2] = {{0.1, 0.05}, {1, 0.95}};
    double cost = 0, J[4] = {0}, cnt[2] = {0}, dir[4];
    for (int i = 0; i < 6; i++) {
        double d[2];
        for (int j = 0; j < 2; j++) d[j] = pow(C[j][0] - P[i][0], 2) + pow(C[j][1] - P[i][1], 2);
        int j = d[1] < d[0];
        cost += d[j];
        cnt[j]++;
        for (int l = 0; l < 2; l++) J[j * 2 + l] += 2 * (C[j][l] - P[i][l]);
    }
    for (int q = 0; q < 4; q++) dir[q] = J[q] / (2 * cnt[q / 2]);
    const char *in = "{\"points\": [[0, 0], [0.2, 0.1], [1, 1], [0.9, 1.2], [0.1, -0.3], [1.1, 0.8]], "
                     "\"centroids\": [[0.1, 0.05], [1, 0.95]], \"min_runs\": 1, \"min_seconds\": 0}";
    const ad_backend *bs[16];
    int nb = backends(bs);
    for (int i = 0; i < nb; i++) {
        json_t *c = eval_once("kmeans", "cost", in, bs[i]), *d = eval_once("kmeans", "dir", in, bs[i]);
        expect_number(c, cost, 1e-13, "cost");
        /* the README's DirOutput: k rows of d numbers */
        cr_assert(json_is_array(d) && json_array_size(d) == 2, "dir is not 2 rows");
        for (int j = 0; j < 2; j++) expect_list(json_array_get(d, (size_t)j), dir + 2 * j, 2, tol_of(bs[i]), bs[i]->name);
        json_decref(c);
        json_decref(d);
    }
}

/* prepare's error for input (JSON text) must contain want */
static void expect_refused(const char *module, const char *function, const char *input, const char *want)
{
    const gb_function *fn = gb_function_find(gb_eval_find(module), function);
    json_t *in = json_loads(input, JSON_DECODE_ANY, NULL);
    cr_assert(in);
    void *state = NULL;
    ad_clear_error(ctx);
    int rc = fn->prepare(ctx, in, &state);
    cr_expect_lt(rc, 0, "%s %s accepted", module, input);
    cr_expect_null(state);
    cr_expect(strstr(ad_errmsg(ctx), want), "%s %s: '%s' lacks '%s'", module, input, ad_errmsg(ctx), want);
    json_decref(in);
    ad_clear_error(ctx);
}

Test(gradbench, bad_inputs_are_refused_by_name, .description = "each wrong input fails in prepare with the eval and the field named")
{
    expect_refused("hello", "square", "\"2\"", "hello: the input must be a finite number");
    expect_refused("llsq", "primal", "{\"x\": [1, 2]}", "llsq: the input has no \"n\"");
    expect_refused("llsq", "primal", "{\"x\": [1, \"a\"], \"n\": 4}", "llsq: \"x\"[1] is not a number");
    expect_refused("llsq", "gradient", "{\"x\": [1], \"n\": 1}", "llsq: \"n\" must be an integer in [2,");
    expect_refused("llsq", "gradient", "{\"x\": [1], \"n\": 2.5}", "\"n\" must be an integer");
    expect_refused("lse", "primal", "{\"x\": []}", "lse: \"x\" must be a non-empty array of numbers");
    expect_refused("lse", "primal", "[1, 2]", "lse: the input must be an object with \"x\"");
    expect_refused("det", "primal", "{\"A\": [1, 2, 3], \"ell\": 2}", "det: \"A\" has 3 entries, not ell² = 4");
    expect_refused("det", "primal", "{\"A\": [1], \"ell\": 40}", "det: \"ell\" must be an integer in [1, 18]");
    expect_refused("ode", "primal", "{\"x\": [1, 2], \"s\": 0}", "ode: \"s\" must be an integer in [1,");
    expect_refused("kmeans", "cost", "{\"points\": [[1, 2], [3]], \"centroids\": [[1, 2]]}",
                   "kmeans: \"points\"[1] is not a row of 2 numbers");
    expect_refused("kmeans", "dir", "{\"points\": [[1, 2]], \"centroids\": [[1, 2, 3]]}",
                   "kmeans: centroids have 3 coordinates, points 2");
}

Test(gradbench, outputs_are_the_readme_shapes, .description = "primal a number, gradient a list as long as the input")
{
    const ad_backend *rev = ad_backend_with(AD_CAP_EXACT | AD_CAP_REVERSE);
    json_t *p = eval_once("ode", "primal", "{\"x\": [0.1, 0.2, 0.3], \"s\": 2}", rev);
    cr_expect(json_is_array(p) && json_array_size(p) == 3, "ode's primal is n values");
    json_decref(p);
    p = eval_once("det", "primal", "{\"A\": [1, 2, 3, 4], \"ell\": 2}", rev);
    expect_number(p, -2, 1e-15, "det primal");
    json_decref(p);
    p = eval_once("det", "gradient", "{\"A\": [1, 2, 3, 4], \"ell\": 2}", rev);
    expect_list(p, (const double[]){4, -3, -2, 1}, 4, 1e-15, "row-major cofactors");
    json_decref(p);
}

Test(gradbench, evals_sweep_in_the_harness, .description = "gb:NAME are harness functions: a tiny sweep runs ok and agrees with five-point differences")
{
    cr_expect_eq(ad_bench_suite_count(), 6, "the suite stays the synthetic six");
    cr_expect_null(ad_bench_suite_find("gb:hello"));
    const ad_backend *bs[] = {ad_backend_find("reverse"), ad_backend_find("forward")};
    for (int f = 0; f < ad_bench_gradbench_count(); f++) {
        const ad_bench_fn *fns[] = {ad_bench_gradbench_at(f)};
        cr_assert_eq(ad_bench_suite_find(fns[0]->name), fns[0]);
        const int64_t sizes[] = {2, 3, 4};
        ad_bench_config c;
        ad_bench_config_defaults(&c, true);
        c.nfns = 1, c.fns = fns, c.nbackends = 2, c.backends = bs, c.nsizes = 3, c.sizes = sizes;
        c.min_reps = 1, c.min_time = 0.0001, c.budget = 5;
        ad_bench_table t;
        ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
        char err[256];
        cr_assert_eq(ad_bench_run(ctx, &c, &t, err, sizeof err), 0, "%s: %s", fns[0]->name, err);
        cr_assert_eq(t.nrows, 6);
        int checked = 0;
        for (int64_t r = 0; r < t.nrows; r++) {
            cr_expect_str_eq(ad_bench_table_get(&t, r, "status"), "ok", "%s: %s", fns[0]->name,
                             ad_bench_table_get(&t, r, "note"));
            /* absolute: exact zeros (a centroid on its point) have no relative error to speak of;
             * relative: gmm's entries reach 1e4 (1000 points), where five-point differences err by 0.1
             * (test_gradbench_sweep.c holds gb:gmm's gradient to the eval's to 1e-10) */
            double abs_err = ad_bench_table_num(&t, r, "max_abs_err"), rel_err = ad_bench_table_num(&t, r, "max_rel_err");
            if (isnan(abs_err) && isnan(rel_err)) continue; /* gmm: the reference over the budget beyond k = 2 */
            checked++;
            cr_expect(abs_err <= 1e-6 || rel_err <= 1e-4, "%s: abs %g, rel %g", fns[0]->name, abs_err, rel_err);
        }
        cr_expect_geq(checked, 2, "%s: both backends checked at the smallest size at least", fns[0]->name);
        ad_bench_table_free(&t);
    }
}
