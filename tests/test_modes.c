/* tests/test_modes.c — the backends and drivers: every backend against
 * analytic gradients, Jacobians by columns and rows, pass counts, memory
 * behaviour of forward vs reverse on an iterated map, HVP/Hessian, the
 * registry, and errors. */
#include <float.h>
#include <string.h>

#include "helpers.h"

TestSuite(modes, .init = th_setup, .fini = th_teardown);

/* ---- the functions ------------------------------------------------------------ */

/* rosenbrock: Σ 100 (x[i+1] - x[i]²)² + (1 - x[i])² */
static ad_tensor *rosenbrock(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0];
    ad_tensor *a = ad_idx(x, AD_S(AD_END, -1)), *b = ad_idx(x, AD_S(1, AD_END));
    ad_tensor *t = ad_mul_s(ad_square(ad_sub(b, ad_square(a))), 100);
    return ad_sum(ad_add(t, ad_square(ad_rsub_s(1, a))), AD_ALL, false);
}

static void rosenbrock_grad(const double *x, int n, double *g)
{
    for (int i = 0; i < n; i++) g[i] = 0;
    for (int i = 0; i < n - 1; i++) {
        double d = x[i + 1] - x[i] * x[i];
        g[i] += -400 * x[i] * d - 2 * (1 - x[i]);
        g[i + 1] += 200 * d;
    }
}

/* expsin: Σ sin(x)·x² + exp(-x²) */
static ad_tensor *expsin(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0];
    return ad_sum(ad_add(ad_mul(ad_sin(x), ad_square(x)), ad_exp(ad_neg(ad_square(x)))), AD_ALL, false);
}

static void expsin_grad(const double *x, int n, double *g)
{
    for (int i = 0; i < n; i++)
        g[i] = cos(x[i]) * x[i] * x[i] + 2 * x[i] * sin(x[i]) - 2 * x[i] * exp(-x[i] * x[i]);
}

/* softmax cross-entropy: logsumexp(x) - x[0] */
static ad_tensor *softmax_ce(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sub(ad_logsumexp(in[0], AD_ALL, false), ad_idx(in[0], AD_I(0)));
}

static void softmax_ce_grad(const double *x, int n, double *g)
{
    double m = x[0], s = 0;
    for (int i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int i = 0; i < n; i++) s += exp(x[i] - m);
    for (int i = 0; i < n; i++) g[i] = exp(x[i] - m) / s - (i == 0);
}

/* mlp: Σ tanh(A x), A given as user data */
static ad_tensor *mlp(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    return ad_sum(ad_tanh(ad_mv((ad_tensor *)u, in[0])), AD_ALL, false);
}

static double A_entry(int i, int j, int n) { return sin((double)(i * n + j + 1)) / sqrt((double)n); }

static void mlp_grad(const double *x, int n, double *g)
{
    for (int j = 0; j < n; j++) g[j] = 0;
    for (int i = 0; i < n; i++) {
        double z = 0;
        for (int j = 0; j < n; j++) z += A_entry(i, j, n) * x[j];
        double d = 1 - tanh(z) * tanh(z);
        for (int j = 0; j < n; j++) g[j] += d * A_entry(i, j, n);
    }
}

typedef struct {
    const char *name;
    ad_fn f;
    void (*grad)(const double *, int, double *);
} suite_fn;

static const suite_fn FUNCS[] = {
    {"rosenbrock", rosenbrock, rosenbrock_grad},
    {"expsin", expsin, expsin_grad},
    {"softmax_ce", softmax_ce, softmax_ce_grad},
    {"mlp", mlp, mlp_grad},
};

static ad_tensor *suite_input(int n)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(n));
    for (int i = 0; i < n; i++) ad_data(x)[i] = 0.5 + 0.4 * sin(i + 1.0);
    return x;
}

static ad_tensor *suite_matrix(int n)
{
    ad_tensor *A = ad_empty(ctx, AD_SHAPE(n, n));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) ad_data(A)[i * n + j] = A_entry(i, j, n);
    return A;
}

Test(modes, every_backend_agrees_with_analytic_gradients,
     .description = "AD within 1e-12 relative; differences within their own error estimate")
{
    const int n = 7;
    ad_tensor *A = suite_matrix(n);
    for (size_t fi = 0; fi < sizeof FUNCS / sizeof FUNCS[0]; fi++) {
        ad_tensor *x = suite_input(n);
        ad_tensor *in[1] = {x};
        ad_problem p = {.ctx = ctx, .f = FUNCS[fi].f, .user = A, .nin = 1, .in = in};
        double exact[16];
        FUNCS[fi].grad(ad_data(x), n, exact);
        double scale = 0;
        for (int i = 0; i < n; i++) scale = fmax(scale, fabs(exact[i]));
        for (int b = 0; b < ad_backend_count(); b++) {
            const ad_backend *be = ad_backend_at(b);
            ad_tensor *val, *g[1], *ge[1] = {NULL};
            ad_stats st;
            int rc = ad_value_and_grad(be, &p, NULL, &val, g, ge, &st);
            cr_assert_eq(rc, AD_OK, "%s/%s: %s", FUNCS[fi].name, be->name, ad_errmsg(ctx));
            const double *gv = th_values(g[0]);
            double got[16], est[16];
            memcpy(got, gv, sizeof(double) * n);
            if (ge[0]) memcpy(est, th_values(ge[0]), sizeof(double) * n);
            for (int i = 0; i < n; i++) {
                double err = fabs(got[i] - exact[i]);
                if (be->caps & AD_CAP_EXACT)
                    cr_expect(err <= 1e-12 * scale, "%s/%s: g[%d] = %.17g, exact %.17g", FUNCS[fi].name, be->name, i,
                              got[i], exact[i]);
                else {
                    cr_assert_not_null(ge[0], "%s returns an error estimate", be->name);
                    cr_expect(err <= est[i], "%s/%s: g[%d] error %.3g exceeds the estimate %.3g", FUNCS[fi].name,
                              be->name, i, err, est[i]);
                    cr_expect(est[i] < 1e-4 * (1 + scale), "%s/%s: estimate %.3g is useless", FUNCS[fi].name,
                              be->name, est[i]);
                }
            }
        }
    }
}

Test(modes, forward_and_reverse_agree_to_rounding_on_a_large_input)
{
    const int n = 300;
    ad_tensor *x = suite_input(n);
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = rosenbrock, .nin = 1, .in = in};
    ad_tensor *gf[1], *gr[1];
    ad_options o = {.width = 32};
    cr_assert_eq(ad_value_and_grad(ad_backend_find("forward-vector"), &p, &o, NULL, gf, NULL, NULL), AD_OK);
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, NULL, gr, NULL, NULL), AD_OK);
    double a[300], b[300];
    ad_to_array(gf[0], a, n);
    ad_to_array(gr[0], b, n);
    for (int i = 0; i < n; i++) cr_expect(fabs(a[i] - b[i]) <= 1e-12 * (1 + fabs(b[i])), "g[%d]", i);
}

/* ---- pass counts ------------------------------------------------------------------- */

Test(modes, passes_follow_theory, .description = "reverse 1 pass + 1 sweep; forward n; forward-vector ceil(n/k); "
                                                 "central 2n+1; forward-diff n+1; five-point 4n+1")
{
    const int n = 10;
    ad_tensor *in[1] = {suite_input(n)};
    ad_problem p = {.ctx = ctx, .f = expsin, .nin = 1, .in = in};
    ad_options o = {.width = 4, .no_error_estimate = true};
    struct {
        const char *name;
        int64_t passes, sweeps;
    } want[] = {{"reverse", 1, 1}, {"forward", n, 0}, {"forward-vector", 3, 0},
                {"central", 2 * n + 1, 0}, {"forward-diff", n + 1, 0}, {"five-point", 4 * n + 1, 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ad_stats st;
        ad_tensor *g[1];
        cr_assert_eq(ad_value_and_grad(ad_backend_find(want[i].name), &p, &o, NULL, g, NULL, &st), AD_OK);
        cr_expect_eq(st.passes, want[i].passes, "%s: %lld passes", want[i].name, (long long)st.passes);
        cr_expect_eq(st.sweeps, want[i].sweeps, "%s: %lld sweeps", want[i].name, (long long)st.sweeps);
        if (strcmp(want[i].name, "reverse") == 0) {
            cr_expect_gt(st.ops_recorded, 0);
            cr_expect_gt(st.peak[AD_MEM_TAPE], 0);
        } else {
            cr_expect_eq(st.ops_recorded, 0, "%s records nothing", want[i].name);
            cr_expect_eq(st.peak[AD_MEM_TAPE], 0);
        }
        cr_expect_geq(st.seconds, 0);
    }
}

/* ---- memory: the iterated map x_{t+1} = 0.9 sin(x_t) + 0.1 x_t --------------------------- */

static ad_tensor *chain(ad_ctx *c, ad_tensor *const *in, void *u)
{
    int k = *(int *)u;
    ad_tensor *x = ad_tensor_ref(in[0]);
    for (int t = 0; t < k; t++) {
        ad_scope s = ad_scope_begin(c);
        ad_tensor *nx = ad_add(ad_mul_s(ad_sin(x), 0.9), ad_mul_s(x, 0.1));
        nx = ad_scope_end(c, s, nx);
        ad_tensor_free(x); /* the previous state goes as soon as nothing holds it */
        x = nx;
    }
    ad_tensor *y = ad_sum(x, AD_ALL, false);
    ad_tensor_free(x);
    return y;
}

static void chain_peaks(const char *backend, int k, int64_t *peak_total, int64_t *peak_tape)
{
    ad_tensor *in[1] = {suite_input(1000)};
    ad_problem p = {.ctx = ctx, .f = chain, .user = &k, .nin = 1, .in = in};
    ad_tensor *v, *d;
    ad_stats st;
    if (strcmp(backend, "forward") == 0) {
        /* one JVP pass: the memory of one forward-mode evaluation */
        ad_tensor *dir[1] = {ad_ones(ctx, AD_SHAPE(1000))};
        cr_assert_eq(ad_jvp(ad_backend_find("forward"), &p, dir, NULL, &v, &d, NULL, &st), AD_OK, "%s",
                     ad_errmsg(ctx));
    } else {
        ad_tensor *g[1];
        cr_assert_eq(ad_value_and_grad(ad_backend_find(backend), &p, NULL, &v, g, NULL, &st), AD_OK, "%s",
                     ad_errmsg(ctx));
    }
    *peak_total = st.peak_total;
    *peak_tape = st.peak[AD_MEM_TAPE];
}

Test(modes, forward_memory_is_flat_and_reverse_memory_grows_with_the_chain,
     .description = "the O(1) vs O(k) memory story on exact byte counts")
{
    int64_t f10, f100, ft, r10, r100, rt10, rt100;
    chain_peaks("forward", 10, &f10, &ft);
    chain_peaks("forward", 100, &f100, &ft);
    cr_expect_eq(f100, f10, "forward mode keeps no history: %lld vs %lld bytes", (long long)f100, (long long)f10);
    cr_expect_eq(ft, 0);
    chain_peaks("reverse", 10, &r10, &rt10);
    chain_peaks("reverse", 100, &r100, &rt100);
    /* each step saves sin's input (8000 bytes) and makes 4 records */
    int64_t per_step = (r100 - r10) / 90;
    cr_expect_eq((r100 - r10) % 90, 0, "growth is exactly linear in k");
    cr_expect_geq(per_step, 8000, "a step holds at least the saved 1000-element input (%lld)", (long long)per_step);
    cr_expect_eq((rt100 - rt10) % 90, 0);
    cr_expect_gt(rt100, rt10);
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    cr_expect_eq(m.live[AD_MEM_TAPE], 0, "everything released after backward");
}

/* ---- Jacobians ---------------------------------------------------------------------- */

/* f: R -> R^m, f(s) = sin(s·c), c_j = 1 + j/m */
static ad_tensor *broadcast_fn(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    return ad_sin(ad_mul(in[0], (ad_tensor *)u));
}

/* f: R^n -> R^m, f(x) = tanh(A x) * x[0] */
static ad_tensor *vec_fn(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    return ad_mul(ad_tanh(ad_mv((ad_tensor *)u, in[0])), ad_idx(in[0], AD_I(0)));
}

static void jacobians_agree(ad_problem *p, int64_t m, int64_t n)
{
    const char *names[] = {"forward", "forward-vector", "reverse", "central", "five-point"};
    ad_tensor *Jref = NULL;
    for (size_t i = 0; i < 5; i++) {
        ad_tensor *val, *J[1], *E[1] = {NULL};
        ad_jacobian_info info;
        ad_stats st;
        cr_assert_eq(ad_jacobian(ad_backend_find(names[i]), p, NULL, &val, J, E, &info, &st), AD_OK, "%s: %s",
                     names[i], ad_errmsg(ctx));
        cr_expect_eq(ad_ndim(J[0]), ad_ndim(val) + ad_ndim(p->in[0]));
        cr_expect_eq(ad_numel(J[0]), m * n);
        if (strcmp(names[i], "forward") == 0) cr_expect_eq(st.passes, n, "forward: one pass per input column");
        if (!Jref) {
            Jref = J[0];
            continue;
        }
        const double *a = th_values(Jref);
        double ref[4096];
        memcpy(ref, a, sizeof(double) * (size_t)(m * n));
        const double *b = th_values(J[0]);
        const double *e = E[0] ? th_values(E[0]) : NULL;
        double eb[4096];
        if (e) memcpy(eb, e, sizeof(double) * (size_t)(m * n));
        b = th_values(J[0]);
        for (int64_t q = 0; q < m * n; q++) {
            double tol = E[0] ? eb[q] : 1e-12 * (1 + fabs(ref[q]));
            cr_expect(fabs(b[q] - ref[q]) <= tol, "%s: J[%lld] = %.17g vs forward %.17g", names[i], (long long)q, b[q],
                      ref[q]);
        }
        cr_expect_eq(info.by_rows, strcmp(names[i], "reverse") == 0);
        if (strcmp(names[i], "reverse") == 0) {
            cr_expect_eq(st.passes, 1, "reverse: one recorded pass (%lld)", (long long)st.passes);
            cr_expect_eq(st.sweeps, m, "reverse: one sweep per output row (%lld)", (long long)st.sweeps);
        }

    }
}

Test(modes, jacobians_by_columns_and_rows_agree)
{
    const int m = 6;
    ad_tensor *c = ad_empty(ctx, AD_SHAPE(m));
    for (int j = 0; j < m; j++) ad_data(c)[j] = 1 + (double)j / m;
    ad_tensor *s[1] = {ad_scalar(ctx, 0.7)};
    ad_problem p1 = {.ctx = ctx, .f = broadcast_fn, .user = c, .nin = 1, .in = s};
    jacobians_agree(&p1, m, 1);

    const int n = 5;
    ad_tensor *A = ad_empty(ctx, AD_SHAPE(4, n));
    for (int i = 0; i < 4 * n; i++) ad_data(A)[i] = sin(1.3 * i + 0.2);
    ad_tensor *x[1] = {suite_input(n)};
    ad_problem p2 = {.ctx = ctx, .f = vec_fn, .user = A, .nin = 1, .in = x};
    jacobians_agree(&p2, 4, n);
}

Test(modes, auto_jacobian_picks_by_shape_and_says_why)
{
    ad_tensor *c = ad_linspace(ctx, 1, 2, 50);
    ad_tensor *s[1] = {ad_scalar(ctx, 0.3)};
    ad_problem p1 = {.ctx = ctx, .f = broadcast_fn, .user = c, .nin = 1, .in = s};
    ad_jacobian_info info;
    ad_stats st;
    ad_tensor *J[1];
    cr_assert_eq(ad_jacobian(NULL, &p1, NULL, NULL, J, NULL, &info, &st), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_str_eq(info.backend->name, "forward");
    cr_expect(strstr(info.reason, "n = 1 input <= m = 50 outputs"), "%s", info.reason);
    cr_expect_eq(info.n, 1);
    cr_expect_eq(info.m, 50);
    ad_tensor *x[1] = {suite_input(40)};
    ad_problem p2 = {.ctx = ctx, .f = expsin, .nin = 1, .in = x};
    cr_assert_eq(ad_jacobian(NULL, &p2, NULL, NULL, J, NULL, &info, &st), AD_OK);
    cr_expect_str_eq(info.backend->name, "reverse");
    cr_expect(info.by_rows);
    cr_expect(strstr(info.reason, "m = 1 output < n = 40 inputs"), "%s", info.reason);
    cr_expect_str_eq(th_shape(J[0]), "[40]", "J of a scalar function has the input's shape");
}

/* ---- JVP / VJP drivers on every backend --------------------------------------------------- */

static ad_tensor *two_inputs(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    /* [3] x [2,3] -> [2,3] */
    return ad_add(ad_mul(ad_exp(in[0]), in[1]), ad_sin(in[1]));
}

Test(modes, jvp_and_vjp_drivers_are_transposes_for_every_backend)
{
    ad_tensor *in[2] = {th_vals(AD_SHAPE(3), 0.2, 0.5), th_vals(AD_SHAPE(2, 3), -0.1, 0.8)};
    ad_problem p = {.ctx = ctx, .f = two_inputs, .nin = 2, .in = in};
    ad_tensor *v[2] = {th_vals(AD_SHAPE(3), 0.3, 1), th_vals(AD_SHAPE(2, 3), 0.5, 1)};
    ad_tensor *u = th_vals(AD_SHAPE(2, 3), -0.4, 1);
    for (int b = 0; b < ad_backend_count(); b++) {
        const ad_backend *be = ad_backend_at(b);
        ad_tensor *y, *jv, *g[2];
        cr_assert_eq(ad_jvp(be, &p, v, NULL, &y, &jv, NULL, NULL), AD_OK, "%s: %s", be->name, ad_errmsg(ctx));
        cr_assert_eq(ad_vjp(be, &p, u, NULL, NULL, g, NULL, NULL), AD_OK, "%s: %s", be->name, ad_errmsg(ctx));
        double ujv = ad_item(ad_sum(ad_mul(u, jv), AD_ALL, false));
        double gv = ad_item(ad_add(ad_sum(ad_mul(g[0], v[0]), AD_ALL, false), ad_sum(ad_mul(g[1], v[1]), AD_ALL, false)));
        double tol = (be->caps & AD_CAP_EXACT) ? 1e-12 : 1e-6;
        cr_expect(fabs(ujv - gv) <= tol * (1 + fabs(ujv)), "%s: <u, Jv> = %.15g, <J^T u, v> = %.15g", be->name, ujv,
                  gv);
    }
}

Test(modes, inputs_held_constant_get_no_gradient)
{
    ad_tensor *in[2] = {th_vals(AD_SHAPE(3), 0.2, 0.5), th_vals(AD_SHAPE(2, 3), -0.1, 0.8)};
    bool wrt[2] = {false, true};
    ad_problem p = {.ctx = ctx, .f = two_inputs, .nin = 2, .in = in, .wrt = wrt};
    ad_tensor *J[2];
    ad_jacobian_info info;
    ad_stats st;
    cr_assert_eq(ad_jacobian(ad_backend_find("forward"), &p, NULL, NULL, J, NULL, &info, &st), AD_OK);
    cr_expect_null(J[0]);
    cr_expect_str_eq(th_shape(J[1]), "[2,3,2,3]");
    cr_expect_eq(info.n, 6);
    cr_expect_eq(st.passes, 6);
    cr_expect_not(ad_requires_grad(in[1]), "the caller's tensors are untouched");
}

/* ---- second order ----------------------------------------------------------------------- */

Test(modes, hvp_and_hessian_of_rosenbrock)
{
    const int n = 4;
    ad_tensor *x[1] = {suite_input(n)};
    ad_problem p = {.ctx = ctx, .f = rosenbrock, .nin = 1, .in = x};
    ad_tensor *H[1];
    ad_stats st;
    cr_assert_eq(ad_hessian(&p, NULL, NULL, H, &st), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_str_eq(th_shape(H[0]), "[4,4]");
    cr_expect_eq(st.passes, 1, "forward-vector over reverse: one pass for n = 4");
    double h[16];
    ad_to_array(H[0], h, 16);
    const double *xv = ad_data(x[0]);
    /* analytic Hessian of the Rosenbrock function */
    double e[16] = {0};
    for (int i = 0; i < n - 1; i++) {
        e[i * n + i] += 1200 * xv[i] * xv[i] - 400 * xv[i + 1] + 2;
        e[i * n + i + 1] += -400 * xv[i];
        e[(i + 1) * n + i] += -400 * xv[i];
        e[(i + 1) * n + i + 1] += 200;
    }
    for (int q = 0; q < 16; q++) cr_expect(fabs(h[q] - e[q]) <= 1e-11 * (1 + fabs(e[q])), "H[%d] %g vs %g", q, h[q], e[q]);
    ad_tensor *v[1] = {th_vals(AD_SHAPE(n), 0.1, 1)}, *hv[1], *g[1];
    cr_assert_eq(ad_hvp(&p, v, NULL, g, hv, &st), AD_OK);
    cr_expect_eq(st.passes, 1);
    cr_expect_eq(st.sweeps, 1);
    const double *vv = th_values(v[0]);
    double vb[4];
    memcpy(vb, vv, sizeof vb);
    const double *r = th_values(hv[0]);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) s += e[i * n + j] * vb[j];
        cr_expect(fabs(r[i] - s) <= 1e-11 * (1 + fabs(s)), "Hv[%d] %g vs %g", i, r[i], s);
    }
}

/* ---- the registry ---------------------------------------------------------------------------- */

static int counting_calls;
static int wrapped_vjp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o, ad_eval *e,
                       ad_stats *st)
{
    (void)b;
    counting_calls++;
    const ad_backend *rev = ad_backend_find("reverse");
    return rev->vjp(rev, p, k, U, o, e, st);
}

Test(modes, registry_lists_finds_and_extends)
{
    const char *builtin[] = {"forward", "forward-vector", "reverse", "central", "forward-diff", "five-point",
                             "gsl-deriv"};
    cr_assert_geq(ad_backend_count(), 7);
    for (int i = 0; i < 7; i++) {
        cr_expect_str_eq(ad_backend_at(i)->name, builtin[i]);
        cr_expect_eq(ad_backend_find(builtin[i]), ad_backend_at(i));
        cr_expect(ad_backend_at(i)->description && ad_backend_at(i)->description[0]);
    }
    cr_expect_null(ad_backend_find("nonesuch"));
    cr_expect_null(ad_backend_at(-1));

    static const ad_backend mine = {.name = "counting-reverse", .description = "reverse, counted", .caps = AD_CAP_EXACT,
                                    .vjp = wrapped_vjp};
    cr_assert_eq(ad_backend_register(&mine), AD_OK);
    cr_expect_eq(ad_backend_register(&mine), AD_ESTATE, "names are unique");
    static const ad_backend empty = {.name = "empty"};
    cr_expect_eq(ad_backend_register(&empty), AD_EINVAL, "a backend needs a primitive");
    cr_expect_eq(ad_backend_find("counting-reverse"), &mine);
    ad_tensor *x[1] = {suite_input(5)};
    ad_problem p = {.ctx = ctx, .f = expsin, .nin = 1, .in = x};
    ad_tensor *g[1];
    counting_calls = 0;
    cr_assert_eq(ad_value_and_grad(&mine, &p, NULL, NULL, g, NULL, NULL), AD_OK);
    cr_expect_eq(counting_calls, 1);
    double exact[5];
    expsin_grad(ad_data(x[0]), 5, exact);
    th_expect(g[0], AD_SHAPE(5), exact, 0, 1e-12);
    cr_expect_eq(ad_backend_unregister("counting-reverse"), AD_OK);
    cr_expect_null(ad_backend_find("counting-reverse"));
    cr_expect_eq(ad_backend_unregister("reverse"), AD_ENOTFOUND, "built-ins stay");
}

/* ---- errors -------------------------------------------------------------------------------------- */

static ad_tensor *failing(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_add(in[0], ad_ones(c, AD_SHAPE(7))); /* shape error inside f */
}

Test(modes, errors_are_reported_with_their_cause)
{
    ad_tensor *x[1] = {suite_input(5)};
    ad_problem p = {.ctx = ctx, .f = failing, .nin = 1, .in = x};
    ad_tensor *g[1];
    for (int b = 0; b < ad_backend_count(); b++) {
        ad_clear_error(ctx);
        cr_expect_neq(ad_value_and_grad(ad_backend_at(b), &p, NULL, NULL, g, NULL, NULL), AD_OK);
        cr_expect_str_eq(ad_errmsg(ctx), "add: shapes [5] and [7] cannot broadcast", "%s: %s", ad_backend_at(b)->name,
                         ad_errmsg(ctx));
    }
    ad_problem q = {.ctx = ctx, .f = two_inputs, .nin = 2,
                    .in = (ad_tensor *[]){th_vals(AD_SHAPE(3), 0, 1), th_vals(AD_SHAPE(2, 3), 0, 1)}};
    ad_tensor *g2[2];
    cr_expect_eq(ad_value_and_grad(ad_backend_find("forward"), &q, NULL, NULL, g2, NULL, NULL), AD_ESHAPE);
    cr_expect(strstr(ad_errmsg(ctx), "f must return a single value, not a tensor of shape [2,3]"), "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_value_and_grad(ad_backend_find("reverse"), &q, NULL, NULL, g2, NULL, NULL), AD_ESHAPE);
    cr_expect(strstr(ad_errmsg(ctx), "one output value (got shape [2,3])"), "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_value_and_grad(NULL, &q, NULL, NULL, g2, NULL, NULL), AD_EINVAL);
    ad_tensor *bad[2] = {ad_ones(ctx, AD_SHAPE(4)), ad_ones(ctx, AD_SHAPE(2, 3))}, *y, *jv;
    cr_expect_eq(ad_jvp(ad_backend_find("forward"), &q, bad, NULL, &y, &jv, NULL, NULL), AD_ESHAPE);
    cr_expect(strstr(ad_errmsg(ctx), "tangent 0 has shape [4] but input 0 has shape [3]"), "%s", ad_errmsg(ctx));
    ad_options neg = {.h = -1};
    cr_expect_eq(ad_value_and_grad(ad_backend_find("central"), &p, &neg, NULL, g, NULL, NULL), AD_EINVAL);
    ad_problem big = {.ctx = ctx, .f = expsin, .nin = 1, .in = (ad_tensor *[]){ad_zeros(ctx, AD_SHAPE(5000))}};
    ad_tensor *H[1];
    cr_expect_eq(ad_hessian(&big, NULL, NULL, H, NULL), AD_ELIMIT);
    cr_expect(strstr(ad_errmsg(ctx), "use ad_hvp"), "%s", ad_errmsg(ctx));
}
