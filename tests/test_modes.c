/* tests/test_modes.c — the backends and drivers: every backend against
 * analytic gradients, Jacobians by columns and rows, pass counts, memory
 * behaviour of forward vs reverse on an iterated map, HVP/Hessian, the
 * registry, and errors. */
#include <float.h>
#include <string.h>

#include "helpers.h"

TestSuite(modes, .init = th_setup, .fini = th_teardown);

/* ---- every backend against analytic gradients ------------------------------------- */

/* The shared functions (functions.h) with their plain-C gradients, each at
 * th_input_vec(7), on every registered backend: one case per pair, so a
 * failing backend hides no other. */
typedef struct {
    char function[16];
    char backend[32];
} fn_backend;

ParameterizedTestParameters(modes, every_backend_agrees_with_analytic_gradients)
{
    static fn_backend params[64];
    th_backend_param b[16];
    int nb = th_backend_params(b, 16), n = 0;
    for (int f = 0; f < th_nfunctions; f++)
        for (int i = 0; i < nb && n < 64; i++, n++) {
            snprintf(params[n].function, sizeof params[n].function, "%s", th_functions[f].name);
            snprintf(params[n].backend, sizeof params[n].backend, "%s", b[i].name);
        }
    return cr_make_param_array(fn_backend, params, (size_t)n);
}

ParameterizedTest(fn_backend *fb, modes, every_backend_agrees_with_analytic_gradients,
                  .description = "AD within 1e-12 relative; differences within their own error estimate")
{
    const int n = 7;
    const th_function *fn = th_function_find(fb->function);
    const ad_backend *be = th_backend_of(fb->backend);
    cr_assert_not_null(fn);
    ad_tensor *x = th_input_vec(n);
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = fn->f, .user = th_mlp_matrix(n, n), .nin = 1, .in = in};
    double exact[16];
    fn->grad(ad_data(x), n, exact);
    double scale = 0;
    for (int i = 0; i < n; i++) scale = fmax(scale, fabs(exact[i]));
    ad_tensor *val, *g[1], *ge[1] = {NULL};
    ad_stats st;
    int rc = ad_value_and_grad(be, &p, NULL, &val, g, ge, &st);
    cr_assert_eq(rc, AD_OK, "%s/%s: %s", fn->name, be->name, ad_errmsg(ctx));
    double got[16], est[16];
    memcpy(got, th_values(g[0]), sizeof(double) * n);
    if (!(be->caps & AD_CAP_EXACT)) {
        cr_assert_not_null(ge[0], "%s/%s returns an error estimate", fn->name, be->name);
        memcpy(est, th_values(ge[0]), sizeof(double) * n);
    }
    for (int i = 0; i < n; i++) {
        double err = fabs(got[i] - exact[i]);
        if (be->caps & AD_CAP_EXACT) {
            cr_expect(err <= 1e-12 * scale, "%s/%s: g[%d] = %.17g, exact %.17g", fn->name, be->name, i, got[i],
                      exact[i]);
        } else {
            cr_expect(err <= est[i], "%s/%s: g[%d] error %.3g exceeds the estimate %.3g", fn->name, be->name, i, err,
                      est[i]);
            cr_expect(est[i] < 1e-4 * (1 + scale), "%s/%s: estimate %.3g is useless", fn->name, be->name, est[i]);
        }
    }
}

Test(modes, forward_and_reverse_agree_to_rounding_on_a_large_input)
{
    const int n = 300;
    ad_tensor *x = th_input_vec(n);
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = th_rosenbrock, .nin = 1, .in = in};
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

/* Passes of f and reverse sweeps for a gradient at n = 10 inputs, width 4. */
#define PASSES_N 10
typedef struct {
    char backend[32];
    int64_t passes, sweeps;
} passes_case;

ParameterizedTestParameters(modes, passes_follow_theory)
{
    static passes_case params[] = {
        {"reverse", 1, 1},
        {"forward", PASSES_N, 0},
        {"forward-vector", (PASSES_N + 3) / 4, 0},
        {"central", 2 * PASSES_N, 0},
        {"forward-diff", PASSES_N + 1, 0},
        {"five-point", 4 * PASSES_N, 0},
    };
    return cr_make_param_array(passes_case, params, sizeof params / sizeof params[0]);
}

ParameterizedTest(passes_case *want, modes, passes_follow_theory,
                  .description = "reverse 1 pass + 1 sweep; forward n; forward-vector ceil(n/k); central 2n (f(x) is "
                                 "not wanted); forward-diff n+1; five-point 4n; only reverse records a tape")
{
    ad_tensor *in[1] = {th_input_vec(PASSES_N)};
    ad_problem p = {.ctx = ctx, .f = th_expsin, .nin = 1, .in = in};
    ad_options o = {.width = 4, .no_error_estimate = true};
    ad_stats st;
    ad_tensor *g[1];
    cr_assert_eq(ad_value_and_grad(th_backend_of(want->backend), &p, &o, NULL, g, NULL, &st), AD_OK, "%s: %s",
                 want->backend, ad_errmsg(ctx));
    cr_expect_eq(st.passes, want->passes, "%s: %lld passes", want->backend, (long long)st.passes);
    cr_expect_eq(st.sweeps, want->sweeps, "%s: %lld sweeps", want->backend, (long long)st.sweeps);
    if (want->sweeps > 0) {
        cr_expect_gt(st.ops_recorded, 0, "%s records the evaluation", want->backend);
        cr_expect_gt(st.peak[AD_MEM_TAPE], 0, "%s holds a tape", want->backend);
    } else {
        cr_expect_eq(st.ops_recorded, 0, "%s records nothing", want->backend);
        cr_expect_eq(st.peak[AD_MEM_TAPE], 0, "%s holds no tape", want->backend);
    }
    cr_expect_geq(st.seconds, 0);
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

static void chain_peaks(const char *backend, int k, int64_t *peak_total, int64_t *peak_tape, int64_t *peak_meta)
{
    ad_tensor *in[1] = {th_input_vec(1000)};
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
    *peak_meta = st.peak[AD_MEM_META];
}

Test(modes, forward_memory_is_flat_and_reverse_memory_grows_with_the_chain,
     .description = "the O(1) vs O(k) memory story on exact byte counts")
{
    int64_t f10, f100, ft, fm10, fm100, r10, r100, rt10, rt100, rm;
    chain_peaks("forward", 10, &f10, &ft, &fm10);
    chain_peaks("forward", 100, &f100, &ft, &fm100);
    /* the one thing that grows is the early-release trace of the ops
     * (src/fwd_release.c: 24 bytes an op, in doubling steps), in meta */
    cr_expect_eq(f100 - fm100, f10 - fm10, "forward mode keeps no history: %lld vs %lld bytes",
                 (long long)(f100 - fm100), (long long)(f10 - fm10));
    cr_expect_leq(fm100 - fm10, 2 * 24 * 4 * 100, "meta grows by the trace alone: %lld bytes",
                  (long long)(fm100 - fm10));
    cr_expect_eq(ft, 0);
    chain_peaks("reverse", 10, &r10, &rt10, &rm);
    chain_peaks("reverse", 100, &r100, &rt100, &rm);
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

/* The Jacobian by `backend` against forward mode's (by columns, exact to
 * rounding): within the backend's own error estimate, or 1e-12 relative. */
static void jacobian_agrees_with_forward(const char *backend, ad_problem *p, int64_t m, int64_t n)
{
    ad_tensor *Jref[1], *val, *J[1], *E[1] = {NULL};
    ad_jacobian_info info;
    ad_stats st;
    cr_assert_eq(ad_jacobian(th_backend_of("forward"), p, NULL, NULL, Jref, NULL, &info, &st), AD_OK, "forward: %s",
                 ad_errmsg(ctx));
    cr_expect_eq(st.passes, n, "forward: one pass per input column (%lld)", (long long)st.passes);
    double ref[4096], got[4096], est[4096];
    cr_assert_leq(m * n, 4096);
    memcpy(ref, th_values(Jref[0]), sizeof(double) * (size_t)(m * n));

    cr_assert_eq(ad_jacobian(th_backend_of(backend), p, NULL, &val, J, E, &info, &st), AD_OK, "%s: %s", backend,
                 ad_errmsg(ctx));
    cr_expect_eq(ad_ndim(J[0]), ad_ndim(val) + ad_ndim(p->in[0]), "%s: J has value.shape + input.shape", backend);
    cr_assert_eq(ad_numel(J[0]), m * n, "%s: %lld entries", backend, (long long)ad_numel(J[0]));
    memcpy(got, th_values(J[0]), sizeof(double) * (size_t)(m * n));
    if (E[0]) memcpy(est, th_values(E[0]), sizeof(double) * (size_t)(m * n));
    for (int64_t q = 0; q < m * n; q++) {
        double tol = E[0] ? est[q] : 1e-12 * (1 + fabs(ref[q]));
        cr_expect(fabs(got[q] - ref[q]) <= tol, "%s: J[%lld] = %.17g vs forward %.17g (tol %.3g)", backend,
                  (long long)q, got[q], ref[q], tol);
    }
    bool reverse = strcmp(backend, "reverse") == 0;
    cr_expect_eq(info.by_rows, reverse, "%s: by %s", backend, info.by_rows ? "rows" : "columns");
    if (reverse) {
        cr_expect_eq(st.passes, 1, "reverse: one recorded pass (%lld)", (long long)st.passes);
        cr_expect_eq(st.sweeps, m, "reverse: one sweep per output row (%lld)", (long long)st.sweeps);
    }
}

ParameterizedTestParameters(modes, jacobians_by_columns_and_rows_agree)
{
    static th_backend_param params[] = {{"forward"}, {"forward-vector"}, {"reverse"}, {"central"}, {"five-point"}};
    return cr_make_param_array(th_backend_param, params, sizeof params / sizeof params[0]);
}

ParameterizedTest(th_backend_param *b, modes, jacobians_by_columns_and_rows_agree,
                  .description = "R -> R^6 and R^5 -> R^4: each backend's Jacobian agrees with forward mode's")
{
    const int m = 6;
    ad_tensor *c = ad_empty(ctx, AD_SHAPE(m));
    for (int j = 0; j < m; j++) ad_data(c)[j] = 1 + (double)j / m;
    ad_tensor *s[1] = {ad_scalar(ctx, 0.7)};
    ad_problem p1 = {.ctx = ctx, .f = broadcast_fn, .user = c, .nin = 1, .in = s};
    jacobian_agrees_with_forward(b->name, &p1, m, 1);

    const int n = 5;
    ad_tensor *A = ad_empty(ctx, AD_SHAPE(4, n));
    for (int i = 0; i < 4 * n; i++) ad_data(A)[i] = sin(1.3 * i + 0.2);
    ad_tensor *x[1] = {th_input_vec(n)};
    ad_problem p2 = {.ctx = ctx, .f = th_tanh_Ax_times_x0, .user = A, .nin = 1, .in = x};
    jacobian_agrees_with_forward(b->name, &p2, 4, n);
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
    ad_tensor *x[1] = {th_input_vec(40)};
    ad_problem p2 = {.ctx = ctx, .f = th_expsin, .nin = 1, .in = x};
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

ParameterizedTestParameters(modes, jvp_and_vjp_drivers_are_transposes)
{
    static th_backend_param params[16];
    return cr_make_param_array(th_backend_param, params, (size_t)th_backend_params(params, 16));
}

ParameterizedTest(th_backend_param *b, modes, jvp_and_vjp_drivers_are_transposes,
                  .description = "<u, J v> by ad_jvp equals <J^T u, v> by ad_vjp: 1e-12 exact, 1e-6 differences")
{
    const ad_backend *be = th_backend_of(b->name);
    ad_tensor *in[2] = {th_vals(AD_SHAPE(3), 0.2, 0.5), th_vals(AD_SHAPE(2, 3), -0.1, 0.8)};
    ad_problem p = {.ctx = ctx, .f = two_inputs, .nin = 2, .in = in};
    ad_tensor *v[2] = {th_vals(AD_SHAPE(3), 0.3, 1), th_vals(AD_SHAPE(2, 3), 0.5, 1)};
    ad_tensor *u = th_vals(AD_SHAPE(2, 3), -0.4, 1);
    ad_tensor *y, *jv, *g[2];
    cr_assert_eq(ad_jvp(be, &p, v, NULL, &y, &jv, NULL, NULL), AD_OK, "%s: %s", be->name, ad_errmsg(ctx));
    cr_assert_eq(ad_vjp(be, &p, u, NULL, NULL, g, NULL, NULL), AD_OK, "%s: %s", be->name, ad_errmsg(ctx));
    double ujv = ad_item(ad_sum(ad_mul(u, jv), AD_ALL, false));
    double gv = ad_item(ad_add(ad_sum(ad_mul(g[0], v[0]), AD_ALL, false), ad_sum(ad_mul(g[1], v[1]), AD_ALL, false)));
    double tol = (be->caps & AD_CAP_EXACT) ? 1e-12 : 1e-6;
    cr_expect(fabs(ujv - gv) <= tol * (1 + fabs(ujv)), "%s: <u, Jv> = %.15g, <J^T u, v> = %.15g", be->name, ujv, gv);
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

ParameterizedTestParameters(modes, nothing_differentiated_still_gives_the_value)
{
    static th_backend_param params[16];
    return cr_make_param_array(th_backend_param, params, (size_t)th_backend_params(params, 16));
}

ParameterizedTest(th_backend_param *b, modes, nothing_differentiated_still_gives_the_value,
                  .description = "every input held constant: the value, no gradient, no Jacobian block")
{
    const ad_backend *be = th_backend_of(b->name);
    ad_tensor *x[1] = {th_input_vec(5)};
    bool wrt[1] = {false};
    ad_problem p = {.ctx = ctx, .f = th_expsin, .nin = 1, .in = x, .wrt = wrt};
    double want = ad_item(th_expsin(ctx, x, NULL));
    ad_tensor *y = NULL, *g[1] = {NULL}, *J[1] = {NULL};
    cr_assert_eq(ad_value_and_grad(be, &p, NULL, &y, g, NULL, NULL), AD_OK, "%s: %s", be->name, ad_errmsg(ctx));
    cr_expect_eq(ad_item(y), want, "%s: value_and_grad's value", be->name);
    cr_expect_null(g[0], "%s: no gradient for a constant", be->name);
    y = NULL;
    cr_assert_eq(ad_jacobian(be, &p, NULL, &y, J, NULL, NULL, NULL), AD_OK, "%s: %s", be->name, ad_errmsg(ctx));
    cr_expect_eq(ad_item(y), want, "%s: jacobian's value", be->name);
    cr_expect_null(J[0], "%s: no Jacobian block for a constant", be->name);
}

/* ---- second order ----------------------------------------------------------------------- */

Test(modes, hvp_and_hessian_of_rosenbrock)
{
    const int n = 4;
    ad_tensor *x[1] = {th_input_vec(n)};
    ad_problem p = {.ctx = ctx, .f = th_rosenbrock, .nin = 1, .in = x};
    ad_tensor *H[1];
    ad_stats st;
    cr_assert_eq(ad_hessian(&p, NULL, NULL, H, &st), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_str_eq(th_shape(H[0]), "[4,4]");
    cr_expect_eq(st.passes, 1, "forward-vector over reverse: one pass for n = 4");
    double h[16];
    ad_to_array(H[0], h, 16);
    double e[16];
    th_rosenbrock_hessian(ad_data(x[0]), n, e);
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
    ad_tensor *x[1] = {th_input_vec(5)};
    ad_problem p = {.ctx = ctx, .f = th_expsin, .nin = 1, .in = x};
    ad_tensor *g[1];
    counting_calls = 0;
    cr_assert_eq(ad_value_and_grad(&mine, &p, NULL, NULL, g, NULL, NULL), AD_OK);
    cr_expect_eq(counting_calls, 1);
    double exact[5];
    th_expsin_grad(ad_data(x[0]), 5, exact);
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

ParameterizedTestParameters(modes, a_failing_function_reports_its_own_error)
{
    static th_backend_param params[16];
    return cr_make_param_array(th_backend_param, params, (size_t)th_backend_params(params, 16));
}

ParameterizedTest(th_backend_param *b, modes, a_failing_function_reports_its_own_error,
                  .description = "a shape error inside f comes back from every backend with f's message")
{
    const ad_backend *be = th_backend_of(b->name);
    ad_tensor *x[1] = {th_input_vec(5)};
    ad_problem p = {.ctx = ctx, .f = failing, .nin = 1, .in = x};
    ad_tensor *g[1];
    cr_expect_eq(ad_value_and_grad(be, &p, NULL, NULL, g, NULL, NULL), AD_ESHAPE, "%s", be->name);
    cr_expect_str_eq(ad_errmsg(ctx), "add: shapes [5] and [7] cannot broadcast", "%s: %s", be->name, ad_errmsg(ctx));
}

Test(modes, errors_are_reported_with_their_cause)
{
    ad_tensor *x[1] = {th_input_vec(5)};
    ad_problem p = {.ctx = ctx, .f = failing, .nin = 1, .in = x};
    ad_tensor *g[1];
    ad_problem q = {.ctx = ctx, .f = two_inputs, .nin = 2,
                    .in = (ad_tensor *[]){th_vals(AD_SHAPE(3), 0, 1), th_vals(AD_SHAPE(2, 3), 0, 1)}};
    ad_tensor *g2[2];
    cr_expect_eq(ad_value_and_grad(ad_backend_find("forward"), &q, NULL, NULL, g2, NULL, NULL), AD_ESHAPE);
    cr_expect(strstr(ad_errmsg(ctx), "f must return a single value, not a tensor of shape [2,3]"), "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_value_and_grad(ad_backend_find("reverse"), &q, NULL, NULL, g2, NULL, NULL), AD_ESHAPE);
    cr_expect(strstr(ad_errmsg(ctx), "one output value (got shape [2,3])"), "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_value_and_grad(NULL, &q, NULL, NULL, g2, NULL, NULL), AD_EINVAL);
    ad_tensor *J[1];
    cr_expect_eq(ad_jacobian(NULL, &p, NULL, NULL, J, NULL, NULL, NULL), AD_ESHAPE, "auto: f fails before the choice");
    cr_expect_str_eq(ad_errmsg(ctx), "add: shapes [5] and [7] cannot broadcast");
    ad_tensor *bad[2] = {ad_ones(ctx, AD_SHAPE(4)), ad_ones(ctx, AD_SHAPE(2, 3))}, *y, *jv;
    cr_expect_eq(ad_jvp(ad_backend_find("forward"), &q, bad, NULL, &y, &jv, NULL, NULL), AD_ESHAPE);
    cr_expect(strstr(ad_errmsg(ctx), "tangent 0 has shape [4] but input 0 has shape [3]"), "%s", ad_errmsg(ctx));
    ad_options neg = {.h = -1};
    cr_expect_eq(ad_value_and_grad(ad_backend_find("central"), &p, &neg, NULL, g, NULL, NULL), AD_EINVAL);
    ad_problem big = {.ctx = ctx, .f = th_expsin, .nin = 1, .in = (ad_tensor *[]){ad_zeros(ctx, AD_SHAPE(5000))}};
    ad_tensor *H[1];
    cr_expect_eq(ad_hessian(&big, NULL, NULL, H, NULL), AD_ELIMIT);
    cr_expect(strstr(ad_errmsg(ctx), "use ad_hvp"), "%s", ad_errmsg(ctx));
}

/* ---- forward-vector's default width ---------------------------------------------- */

Test(modes, forward_vector_chooses_its_width_from_n_and_reports_it,
     .description = "width 0: ad_fwd_default_width(n) (k·n doubles in 256 KiB, 1..min(n, 64)), in ad_stats.width")
{
    const int64_t ns[] = {1, 7, 64, 100, 1000, 4096, 100000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        int k = ad_fwd_default_width(ns[i]);
        cr_expect(k >= 1 && k <= 64 && k <= ns[i], "n = %lld: width %d", (long long)ns[i], k);
        cr_expect(k == 1 || 8 * (int64_t)k * ns[i] <= 256 * 1024, "n = %lld: width %d over budget", (long long)ns[i], k);
    }
    cr_expect_eq(ad_fwd_default_width(7), 7, "small n: one pass");
    cr_expect_eq(ad_fwd_default_width(1000), 32, "n = 1000: 32 directions of 8 kB");
    const int n = 100;
    ad_tensor *in[1] = {th_input_vec(n)}, *g[1];
    ad_problem p = {.ctx = ctx, .f = th_expsin, .nin = 1, .in = in};
    ad_stats st;
    const ad_backend *fv = ad_backend_find("forward-vector");
    cr_assert_eq(ad_value_and_grad(fv, &p, NULL, NULL, g, NULL, &st), AD_OK, "%s", ad_errmsg(ctx));
    int k = ad_fwd_default_width(n);
    cr_expect_eq(st.width, k, "reported width %d, chosen %d", st.width, k);
    cr_expect_eq(st.passes, (n + k - 1) / k);
    cr_assert_eq(ad_value_and_grad(fv, &p, &(ad_options){.width = 3}, NULL, g, NULL, &st), AD_OK);
    cr_expect_eq(st.width, 3, "the caller's width wins");
    cr_expect_eq(st.passes, (n + 2) / 3);
}
