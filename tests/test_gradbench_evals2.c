/* tests/test_gradbench_evals2.c — GradBench's gmm, lstm, ba, particle and
 * saddle evals (bench/gradbench/): each on a small input, its value against
 * a plain-C implementation written here from the eval's README, its
 * derivative against central differences of that implementation for every
 * exact backend, and its output's JSON shape as the README (or GradBench's
 * golden tool, where the two differ) says. */
#include "gradbench/gradbench.h"
#include <string.h>

#include "helpers.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

TestSuite(gbevals2, .init = th_setup, .fini = th_teardown);

/* prepare, run once with b, output; the state is freed.  NULL on error
 * (the test fails with ctx's message). */
static json_t *run_eval(const gb_eval *e, const char *fname, json_t *input, const ad_backend *b)
{
    const gb_function *fn = NULL;
    for (int i = 0; i < e->nfunctions; i++)
        if (strcmp(e->functions[i].name, fname) == 0) fn = &e->functions[i];
    cr_assert(fn, "%s has no function %s", e->name, fname);
    void *state = NULL;
    int rc = fn->prepare(ctx, input, &state);
    cr_assert_eq(rc, AD_OK, "%s.%s prepare: %s", e->name, fname, ad_errmsg(ctx));
    ad_options o = {0};
    rc = fn->run(ctx, b, &o, state);
    json_t *out = rc == AD_OK ? fn->output(ctx, state) : NULL;
    fn->free_state(state);
    cr_assert(out, "%s.%s with %s: %s", e->name, fname, b ? b->name : "-", ad_errmsg(ctx));
    return out;
}

/* The exact backends (forward, forward-vector, reverse among the built-ins). */
#define FOR_EXACT(b)                                            \
    for (int bi_ = 0; bi_ < ad_backend_count(); bi_++)           \
        for (const ad_backend *b = ad_backend_at(bi_); b && (b->caps & AD_CAP_EXACT); b = NULL)

static double num(const json_t *a, size_t i) { return json_number_value(json_array_get(a, i)); }

/* |a - b| within tol relative to max(1, |b|) */
#define expect_close(a, b, tol, ...) cr_expect(fabs((a) - (b)) <= (tol) * fmax(1.0, fabs(b)), __VA_ARGS__)

/* ---- gmm ------------------------------------------------------------------------------------------------ */

enum { GD = 3, GK = 2, GN = 4, GL = GD * (GD - 1) / 2 };
typedef struct gmm_params { double alpha[GK], mu[GK][GD], q[GK][GD], l[GK][GL]; } gmm_params;
static const double gmm_x[GN][GD] = {{0.31, -1.2, 0.77}, {1.9, 0.45, -0.6}, {-0.85, 0.2, 1.35}, {0.05, 1.1, -1.7}};
static const int gmm_m = 1;
static const double gmm_gamma = 1.3;

/* The README's definition, term by term, with plain loops. */
static double gmm_ref(const gmm_params *p)
{
    double lse_a = 0, amax = -INFINITY;
    for (int k = 0; k < GK; k++) amax = fmax(amax, p->alpha[k]);
    for (int k = 0; k < GK; k++) lse_a += exp(p->alpha[k] - amax);
    lse_a = amax + log(lse_a);
    double total = 0;
    for (int i = 0; i < GN; i++) {
        double beta[GK], bmax = -INFINITY, s = 0;
        for (int k = 0; k < GK; k++) {
            double Qx[GD] = {0}, sumq = 0;
            for (int r = 0; r < GD; r++) {
                sumq += p->q[k][r];
                Qx[r] = exp(p->q[k][r]) * (gmm_x[i][r] - p->mu[k][r]);
            }
            for (int c = 0, idx = 0; c < GD; c++)
                for (int r = c + 1; r < GD; r++) Qx[r] += p->l[k][idx++] * (gmm_x[i][c] - p->mu[k][c]);
            double sq = 0;
            for (int r = 0; r < GD; r++) sq += Qx[r] * Qx[r];
            beta[k] = p->alpha[k] + sumq - 0.5 * sq;
            bmax = fmax(bmax, beta[k]);
        }
        for (int k = 0; k < GK; k++) s += exp(beta[k] - bmax);
        total += bmax + log(s);
    }
    double lik = -GN * (0.5 * GD * log(2 * M_PI) + lse_a) + total;
    int n = GD + gmm_m + 1;
    double lmg = 0.25 * GD * (GD - 1) * log(M_PI);
    for (int j = 1; j <= GD; j++) lmg += lgamma(0.5 * n + 0.5 * (1 - j));
    double prior = GK * (n * GD * log(gmm_gamma / sqrt(2.0)) - lmg);
    for (int k = 0; k < GK; k++)
        for (int r = 0; r < GD; r++) {
            prior += -0.5 * gmm_gamma * gmm_gamma * exp(2 * p->q[k][r]) + gmm_m * p->q[k][r];
            if (r < GL) prior -= 0.5 * gmm_gamma * gmm_gamma * p->l[k][r] * p->l[k][r];
        }
    return lik + prior;
}

static gmm_params gmm_point(void)
{
    gmm_params p = {.alpha = {0.35, -0.8},
                    .mu = {{0.2, -0.3, 0.55}, {-0.45, 0.9, 0.1}},
                    .q = {{0.15, -0.25, 0.4}, {-0.1, 0.3, 0.05}},
                    .l = {{0.6, -0.35, 0.25}, {-0.5, 0.45, 0.3}}};
    return p;
}

static json_t *rows_json(const double *v, int rows, int cols)
{
    json_t *a = json_array();
    for (int i = 0; i < rows; i++) {
        json_t *r = json_array();
        for (int j = 0; j < cols; j++) json_array_append_new(r, json_real(v[i * cols + j]));
        json_array_append_new(a, r);
    }
    return a;
}

static json_t *gmm_input(const gmm_params *p)
{
    json_t *alpha = json_array();
    for (int k = 0; k < GK; k++) json_array_append_new(alpha, json_real(p->alpha[k]));
    return json_pack("{s:i, s:i, s:i, s:i, s:f, s:o, s:o, s:o, s:o, s:o}", "d", GD, "k", GK, "n", GN, "m", gmm_m,
                     "gamma", gmm_gamma, "alpha", alpha, "mu", rows_json(&p->mu[0][0], GK, GD), "q",
                     rows_json(&p->q[0][0], GK, GD), "l", rows_json(&p->l[0][0], GK, GL), "x",
                     rows_json(&gmm_x[0][0], GN, GD));
}

Test(gbevals2, gmm_objective_matches_the_definition)
{
    gmm_params p = gmm_point();
    json_t *in = gmm_input(&p);
    json_t *out = run_eval(&gb_eval_gmm, "objective", in, NULL);
    cr_assert(json_is_real(out), "objective is a number");
    expect_close(json_real_value(out), gmm_ref(&p), 1e-12, "gmm objective %.17g vs %.17g", json_real_value(out),
                 gmm_ref(&p));
    json_decref(out);
    json_decref(in);
}

/* d F / d (the j-th parameter of the flat alpha, mu, q, l) by central differences of gmm_ref */
static double gmm_fd(gmm_params p, int j)
{
    double *v = (double *)&p, h = 1e-6 * fmax(1, fabs(v[j])), x = v[j];
    v[j] = x + h;
    double fp = gmm_ref(&p);
    v[j] = x - h;
    return (fp - gmm_ref(&p)) / (2 * h);
}

Test(gbevals2, gmm_jacobian_every_exact_backend)
{
    gmm_params p = gmm_point();
    json_t *in = gmm_input(&p);
    FOR_EXACT(b)
    {
        json_t *out = run_eval(&gb_eval_gmm, "jacobian", in, b);
        const char *keys[4] = {"alpha", "mu", "q", "l"};
        int sizes[4] = {GK, GK * GD, GK * GD, GK * GL}, cols[4] = {0, GD, GD, GL}, j = 0;
        for (int f = 0; f < 4; f++) {
            json_t *a = json_object_get(out, keys[f]);
            cr_assert(json_is_array(a), "%s: %s is an array", b->name, keys[f]);
            for (int e = 0; e < sizes[f]; e++, j++) {
                double got = cols[f] ? num(json_array_get(a, (size_t)(e / cols[f])), (size_t)(e % cols[f]))
                                     : num(a, (size_t)e);
                if (cols[f]) cr_assert_eq(json_array_size(a), GK, "%s: %s has k rows", b->name, keys[f]);
                expect_close(got, gmm_fd(p, j), 1e-6, "%s: d/d%s[%d] = %g, differences %g", b->name, keys[f], e, got,
                             gmm_fd(p, j));
            }
        }
        cr_expect_eq(json_object_size(out), 4, "exactly alpha, mu, q, l");
        json_decref(out);
    }
    json_decref(in);
}

Test(gbevals2, gmm_rejects_bad_input_naming_the_field)
{
    gmm_params p = gmm_point();
    json_t *in = gmm_input(&p);
    json_object_set_new(in, "k", json_integer(3)); /* alpha has 2 */
    void *state = NULL;
    cr_expect_lt(gb_eval_gmm.functions[0].prepare(ctx, in, &state), 0);
    cr_expect(strstr(ad_errmsg(ctx), "alpha"), "message names alpha: %s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    json_object_del(in, "x");
    json_object_set_new(in, "k", json_integer(GK));
    cr_expect_lt(gb_eval_gmm.functions[1].prepare(ctx, in, &state), 0);
    cr_expect(strstr(ad_errmsg(ctx), "\"x\""), "message names x: %s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    json_decref(in);
}

/* ---- lstm ------------------------------------------------------------------------------------------------ */

enum { LL = 2, LB = 3, LC = 4 };
typedef struct lstm_params { double main[2 * LL][4 * LB], extra[3][LB]; } lstm_params;
static const double lstm_state0[2 * LL][LB] = {{0.1, -0.4, 0.35}, {0.7, 0.2, -0.15}, {-0.3, 0.5, 0.05}, {0.25, -0.6, 0.4}};
static const double lstm_seq[LC][LB] = {{1, 0, 1}, {0, 1, 1}, {1, 1, 0}, {0, 0, 1}};

static double sigm(double x) { return 1 / (1 + exp(-x)); }

/* ADBench's LSTM objective as the README and GradBench's C++ header define it, element by element. */
static double lstm_ref(const lstm_params *p)
{
    double st[2 * LL][LB], total = 0;
    memcpy(st, lstm_state0, sizeof st);
    for (int t = 0; t < LC - 1; t++) {
        double x[LB], y[LB], lse = 2;
        for (int j = 0; j < LB; j++) x[j] = lstm_seq[t][j] * p->extra[0][j];
        for (int i = 0; i < LL; i++) {
            const double *w = p->main[2 * i], *bb = p->main[2 * i + 1];
            double *h = st[2 * i], *c = st[2 * i + 1];
            for (int j = 0; j < LB; j++) {
                double f = sigm(x[j] * w[j] + bb[j]), ig = sigm(h[j] * w[LB + j] + bb[LB + j]);
                double o = sigm(x[j] * w[2 * LB + j] + bb[2 * LB + j]), g = tanh(h[j] * w[3 * LB + j] + bb[3 * LB + j]);
                c[j] = c[j] * f + ig * g;
                h[j] = o * tanh(c[j]);
                x[j] = h[j];
            }
        }
        for (int j = 0; j < LB; j++) lse += exp(y[j] = x[j] * p->extra[1][j] + p->extra[2][j]);
        for (int j = 0; j < LB; j++) total += lstm_seq[t + 1][j] * (y[j] - log(lse));
    }
    return -total / ((LC - 1) * LB);
}

static lstm_params lstm_point(void)
{
    lstm_params p;
    double *v = &p.main[0][0];
    for (size_t i = 0; i < sizeof p / sizeof(double); i++) v[i] = 0.9 * sin(1.7 * (double)i + 0.3);
    return p;
}

static json_t *lstm_input(const lstm_params *p)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "main_params", rows_json(&p->main[0][0], 2 * LL, 4 * LB), "extra_params",
                     rows_json(&p->extra[0][0], 3, LB), "state", rows_json(&lstm_state0[0][0], 2 * LL, LB), "sequence",
                     rows_json(&lstm_seq[0][0], LC, LB));
}

Test(gbevals2, lstm_objective_matches_the_definition)
{
    lstm_params p = lstm_point();
    json_t *in = lstm_input(&p);
    json_t *out = run_eval(&gb_eval_lstm, "objective", in, NULL);
    expect_close(json_real_value(out), lstm_ref(&p), 1e-12, "lstm objective %.17g vs %.17g", json_real_value(out),
                 lstm_ref(&p));
    json_decref(out);
    json_decref(in);
}

Test(gbevals2, lstm_jacobian_every_exact_backend)
{
    lstm_params p = lstm_point();
    json_t *in = lstm_input(&p);
    size_t n = sizeof p / sizeof(double);
    FOR_EXACT(b)
    {
        json_t *out = run_eval(&gb_eval_lstm, "jacobian", in, b);
        cr_assert_eq(json_array_size(out), n, "%s: one flat array of 8lb + 3b entries", b->name);
        for (size_t j = 0; j < n; j++) {
            lstm_params q = p;
            double *v = &q.main[0][0], h = 1e-6, x = v[j];
            v[j] = x + h;
            double fp = lstm_ref(&q);
            v[j] = x - h;
            double fd = (fp - lstm_ref(&q)) / (2 * h);
            expect_close(num(out, j), fd, 1e-7, "%s: gradient[%zu] = %g, differences %g", b->name, j, num(out, j), fd);
        }
        json_decref(out);
    }
    json_decref(in);
}

/* ---- ba -------------------------------------------------------------------------------------------------- */

static const double ba_cam[11] = {-0.758, -1.11, -0.846, 3.46, 3.97, 5.39, 41.9, 0.586, -0.852, 0.0878, 0.00274};
static const double ba_x[3] = {0.72, 0.0011, 3.02};
static const double ba_w = 0.417, ba_feat[2] = {27.2, 83.4};

/* One observation's reprojection error, as ADBench's C++ writes it. v: cam[11], X[3], w. */
static void ba_ref(const double *v, double err[2])
{
    const double *cam = v, *X = v + 11, w = v[14];
    double Xo[3] = {X[0] - cam[3], X[1] - cam[4], X[2] - cam[5]}, R[3];
    double th = sqrt(cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2]);
    double k[3] = {cam[0] / th, cam[1] / th, cam[2] / th};
    double kx[3] = {k[1] * Xo[2] - k[2] * Xo[1], k[2] * Xo[0] - k[0] * Xo[2], k[0] * Xo[1] - k[1] * Xo[0]};
    double kd = (k[0] * Xo[0] + k[1] * Xo[1] + k[2] * Xo[2]) * (1 - cos(th));
    for (int i = 0; i < 3; i++) R[i] = Xo[i] * cos(th) + kx[i] * sin(th) + k[i] * kd;
    double p0 = R[0] / R[2], p1 = R[1] / R[2], rsq = p0 * p0 + p1 * p1, L = 1 + cam[9] * rsq + cam[10] * rsq * rsq;
    err[0] = w * (p0 * L * cam[6] + cam[7] - ba_feat[0]);
    err[1] = w * (p1 * L * cam[6] + cam[8] - ba_feat[1]);
}

static json_t *ba_input(int n, int m, int p)
{
    json_t *cam = json_array(), *x = json_array();
    for (int i = 0; i < 11; i++) json_array_append_new(cam, json_real(ba_cam[i]));
    for (int i = 0; i < 3; i++) json_array_append_new(x, json_real(ba_x[i]));
    return json_pack("{s:i, s:i, s:i, s:o, s:o, s:f, s:[f,f]}", "n", n, "m", m, "p", p, "cam", cam, "x", x, "w", ba_w,
                     "feat", ba_feat[0], ba_feat[1]);
}

Test(gbevals2, ba_objective_matches_the_definition)
{
    json_t *in = ba_input(2, 3, 12);
    json_t *out = run_eval(&gb_eval_ba, "objective", in, NULL);
    double v[15], err[2];
    memcpy(v, ba_cam, sizeof ba_cam);
    memcpy(v + 11, ba_x, sizeof ba_x);
    v[14] = ba_w;
    ba_ref(v, err);
    json_t *re = json_object_get(out, "reproj_error"), *we = json_object_get(out, "w_err");
    cr_assert(re && we, "reproj_error and w_err present");
    expect_close(num(json_object_get(re, "elements"), 0), err[0], 1e-12, "reproj x");
    expect_close(num(json_object_get(re, "elements"), 1), err[1], 1e-12, "reproj y");
    cr_expect_eq(json_integer_value(json_object_get(re, "repeated")), 12);
    expect_close(json_number_value(json_object_get(we, "element")), 1 - ba_w * ba_w, 1e-15, "w_err");
    cr_expect_eq(json_integer_value(json_object_get(we, "repeated")), 12);
    json_decref(out);
    json_decref(in);
}

Test(gbevals2, ba_jacobian_every_exact_backend)
{
    enum { N = 2, M = 3, P = 12 };
    json_t *in = ba_input(N, M, P);
    double v[15], J[2][15];
    memcpy(v, ba_cam, sizeof ba_cam);
    memcpy(v + 11, ba_x, sizeof ba_x);
    v[14] = ba_w;
    for (int j = 0; j < 15; j++) { /* observation 0's block by central differences */
        double e1[2], e2[2], x = v[j], h = 1e-6 * fmax(1, fabs(x));
        v[j] = x + h, ba_ref(v, e1), v[j] = x - h, ba_ref(v, e2), v[j] = x;
        for (int r = 0; r < 2; r++) J[r][j] = (e1[r] - e2[r]) / (2 * h);
    }
    FOR_EXACT(b)
    {
        json_t *out = run_eval(&gb_eval_ba, "jacobian", in, b);
        json_t *rows = json_object_get(out, "rows"), *cols = json_object_get(out, "cols"), *vals = json_object_get(out, "vals");
        cr_assert(json_array_size(rows) == 31 && json_array_size(cols) == 31 && json_array_size(vals) == 31,
                  "%s: 30 entries and the last of each list", b->name);
        for (int i = 0; i < 30; i++) {
            int r = i / 15, j = i % 15;
            long long col = j < 11 ? j : j < 14 ? 11 * N + (j - 11) : 11 * N + 3 * M;
            cr_expect_eq(json_integer_value(json_array_get(cols, (size_t)i)), col, "%s: column of entry %d", b->name, i);
            cr_expect_eq(json_integer_value(json_array_get(rows, (size_t)i)), 15 * (i < 2 * P ? i : 2 * P) + (i > 2 * P ? i - 2 * P : 0),
                         "%s: row pointer %d", b->name, i);
            expect_close(num(vals, (size_t)i), J[r][j], 1e-6, "%s: d err%d / d v%d = %g, differences %g", b->name, r, j,
                         num(vals, (size_t)i), J[r][j]);
        }
        cr_expect_eq(json_integer_value(json_array_get(rows, 30)), 31 * P, "%s: nnz", b->name);
        cr_expect_eq(json_integer_value(json_array_get(cols, 30)), 11 * N + 3 * M + P - 1, "%s: last column", b->name);
        expect_close(num(vals, 30), -2 * ba_w, 1e-12, "%s: d w_err / d w", b->name);
        json_decref(out);
    }
    json_decref(in);
}
