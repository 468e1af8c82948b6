/* tests/test_blackbox.c — functions in plain C over arrays (blackbox.h,
 * blackbox_gsl.h): a correct hand-written gradient or Jacobian passes, a
 * slip of 1e-2 ... 1e-7 relative in any one element is caught and located
 * (worst.backend "user", its index), the AD backends refuse a black box
 * with the reason instead of a silent zero, difference backends see it,
 * bad descriptions are errors, and the GSL adapters check df and fdf. */
#include <gsl/gsl_errno.h>
#include <string.h>

#include <adscope/blackbox_gsl.h>

#include "helpers.h"

TestSuite(blackbox, .init = th_setup, .fini = th_teardown);

/* ---- a scalar objective in plain C -------------------------------------------------
 * f(x) = Σ_i exp(0.3 x_i)·(2 + cos x_i) + Σ_{i<n-1} x_i x_{i+1}
 * ∂f/∂x_i = exp(0.3 x_i)(0.3 (2 + cos x_i) - sin x_i) + x_{i-1} + x_{i+1} */

typedef struct slip {
    size_t at;  /* the element given a slip */
    double rel; /* its relative size (0: the right gradient) */
} slip;

static double obj(const double *x, size_t n, void *user)
{
    (void)user;
    double f = 0;
    for (size_t i = 0; i < n; i++) f += exp(0.3 * x[i]) * (2 + cos(x[i]));
    for (size_t i = 0; i + 1 < n; i++) f += x[i] * x[i + 1];
    return f;
}

static void obj_grad(const double *x, size_t n, double *g, void *user)
{
    const slip *s = user;
    for (size_t i = 0; i < n; i++) {
        g[i] = exp(0.3 * x[i]) * (0.3 * (2 + cos(x[i])) - sin(x[i]));
        if (i > 0) g[i] += x[i - 1];
        if (i + 1 < n) g[i] += x[i + 1];
    }
    if (s && s->rel != 0) g[s->at] *= 1 + s->rel;
}

/* well away from zero gradients: every element is O(1) */
static const double X6[6] = {1.3, -0.7, 2.1, 0.45, -1.6, 0.9};

/* Tight tolerances: a five-point reference of a smooth f in double is
 * good to ~1e-11 relative, so rtol 1e-9 is far above its error and far
 * below the slips. */
static ad_gradcheck_options tight(void)
{
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.atol = 0;
    o.rtol = 1e-9;
    return o;
}

/* The line of the hand-written derivative; every other backend of the
 * report must be an AD backend marked not applicable (never run). */
static const ad_gradcheck_backend *user_line(const ad_gradcheck_report *r)
{
    const ad_gradcheck_backend *user = NULL;
    for (int i = 0; i < r->nbackends; i++) {
        if (strcmp(r->backends[i].name, "user") == 0) user = &r->backends[i];
        else cr_expect(r->backends[i].not_applicable, "%s ran on a black box", r->backends[i].name);
    }
    cr_assert(user, "no line for the hand-written derivative");
    return user;
}

Test(blackbox, right_gradient_passes, .description = "a correct plain-C gradient passes, also at tight tolerances")
{
    slip none = {0};
    ad_blackbox bb = {.f = obj, .grad = obj_grad, .user = &none};
    ad_gradcheck_options o = tight();
    const ad_gradcheck_options *opts[] = {NULL, &o};
    for (int k = 0; k < 2; k++) {
        ad_gradcheck_report r;
        cr_assert_eq(ad_blackbox_check(ctx, &bb, X6, 6, opts[k], &r), AD_OK, "%s", ad_errmsg(ctx));
        cr_expect(r.passed, "%s", r.summary);
        cr_expect_eq(user_line(&r)->checked, 6, "only the hand-written gradient is checked");
        cr_expect(r.taylor_done && r.taylor_passed, "Taylor order %g", r.taylor_order);
        ad_gradcheck_report_free(&r);
    }
}

Test(blackbox, every_slip_is_caught_and_located,
     .description = "slips of 1e-2..1e-7 relative in any one element: worst.backend user, that index")
{
    for (int e = 2; e <= 7; e++)
        for (size_t at = 0; at < 6; at++) {
            slip s = {.at = at, .rel = pow(10, -e) * (at % 2 ? -1 : 1)};
            ad_blackbox bb = {.f = obj, .grad = obj_grad, .user = &s};
            ad_gradcheck_options o = tight();
            ad_gradcheck_report r;
            cr_assert_eq(ad_blackbox_check(ctx, &bb, X6, 6, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
            cr_expect(!r.passed, "slip 1e-%d at [%zu] passed: %s", e, at, r.summary);
            cr_expect(r.has_worst && strcmp(r.worst.backend, "user") == 0, "slip 1e-%d at [%zu]", e, at);
            cr_expect(r.worst.ndim == 1 && r.worst.index[0] == (int64_t)at, "slip 1e-%d at [%zu] located at [%lld]",
                      e, at, (long long)r.worst.index[0]);
            cr_expect_eq(r.nmismatches, 1, "only the slipped element differs (1e-%d at [%zu])", e, at);
            ad_gradcheck_report_free(&r);
        }
}

Test(blackbox, default_tolerances_catch_the_larger_slips)
{
    for (int e = 2; e <= 4; e++) {
        slip s = {.at = 3, .rel = pow(10, -e)};
        ad_blackbox bb = {.f = obj, .grad = obj_grad, .user = &s};
        ad_gradcheck_report r;
        cr_assert_eq(ad_blackbox_check(ctx, &bb, X6, 6, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
        cr_expect(!r.passed && r.worst.index[0] == 3, "slip 1e-%d: %s", e, r.summary);
        ad_gradcheck_report_free(&r);
    }
}

/* ---- residuals with a Jacobian ----------------------------------------------------------
 * out_j = x_0 exp(-x_1 t_j) + x_2 t_j² - d_j, t_j = 0.3 j, m = 7, n = 3 */

#define RM 7

static int resid(const double *x, size_t n, double *out, size_t m, void *user)
{
    (void)user;
    if (n != 3 || m != RM) return 3;
    for (size_t j = 0; j < m; j++) {
        double t = 0.3 * (double)j;
        out[j] = x[0] * exp(-x[1] * t) + x[2] * t * t - sin(1.0 + (double)j);
    }
    return 0;
}

static int resid_jac(const double *x, size_t n, double *J, void *user)
{
    const slip *s = user;
    for (size_t j = 0; j < RM; j++) {
        double t = 0.3 * (double)j, e = exp(-x[1] * t);
        J[j * n + 0] = e;
        J[j * n + 1] = -x[0] * t * e;
        J[j * n + 2] = t * t;
    }
    if (s && s->rel != 0) J[s->at] *= 1 + s->rel;
    return 0;
}

static const double X3[3] = {1.7, 0.45, -0.35};

Test(blackbox, right_jacobian_passes)
{
    slip none = {0};
    ad_blackbox bb = {.r = resid, .m = RM, .jac = resid_jac, .user = &none};
    ad_gradcheck_options o = tight();
    ad_gradcheck_report r;
    cr_assert_eq(ad_blackbox_check(ctx, &bb, X3, 3, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    /* every entry judged; at atol 0 the exact zeros of J (t = 0 in row 0)
     * may be inconclusive against a reference that is only near zero */
    const ad_gradcheck_backend *u = user_line(&r);
    cr_expect_eq(u->checked + u->inconclusive, RM * 3, "checked %lld, inconclusive %lld: %s", (long long)u->checked,
                 (long long)u->inconclusive, r.summary);
    cr_expect_leq(u->inconclusive, 2);
    ad_gradcheck_report_free(&r);
}

Test(blackbox, a_wrong_jacobian_entry_is_located)
{
    /* J[4][1] (flat 13), skipping row 0 where t = 0 makes columns 1 and 2 zero */
    for (int e = 2; e <= 7; e++) {
        slip s = {.at = 13, .rel = pow(10, -e)};
        ad_blackbox bb = {.r = resid, .m = RM, .jac = resid_jac, .user = &s};
        ad_gradcheck_options o = tight();
        ad_gradcheck_report r;
        cr_assert_eq(ad_blackbox_check(ctx, &bb, X3, 3, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
        cr_expect(!r.passed, "slip 1e-%d: %s", e, r.summary);
        cr_expect_str_eq(r.worst.backend, "user");
        cr_expect(r.worst.ndim == 2 && r.worst.index[0] == 4 && r.worst.index[1] == 1, "slip 1e-%d at [%lld,%lld]",
                  e, (long long)r.worst.index[0], (long long)r.worst.index[1]);
        ad_gradcheck_report_free(&r);
    }
}

/* ---- the AD backends refuse, the difference backends see ------------------------------------ */

Test(blackbox, ad_backends_refuse_an_opaque_problem,
     .description = "reverse/forward on a black box: AD_EINVAL naming why (before: an all-zero gradient)")
{
    ad_blackbox bb = {.f = obj};
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(6), X6);
    ad_problem p;
    cr_assert_eq(ad_blackbox_problem(&p, ctx, &bb, &x), AD_OK);
    cr_expect(p.flags & AD_PROBLEM_OPAQUE);
    const char *ad[] = {"reverse", "forward", "forward-vector"};
    for (int k = 0; k < 3; k++) {
        ad_tensor *g[1] = {0};
        ad_clear_error(ctx);
        int rc = ad_value_and_grad(ad_backend_find(ad[k]), &p, NULL, NULL, g, NULL, NULL);
        cr_expect_eq(rc, AD_EINVAL, "%s: %d", ad[k], rc);
        cr_expect(g[0] == NULL, "%s returned a gradient", ad[k]);
        cr_expect(strstr(ad_errmsg(ctx), ad[k]) && strstr(ad_errmsg(ctx), "black box") &&
                      strstr(ad_errmsg(ctx), "difference backend"),
                  "%s", ad_errmsg(ctx));
    }
    ad_clear_error(ctx);
    cr_expect_eq(ad_hvp(&p, &x, NULL, NULL, NULL, NULL), AD_EINVAL, "second order is reverse mode too");
    ad_clear_error(ctx);
    ad_tensor_free(x);
}

Test(blackbox, difference_backends_see_inside)
{
    ad_blackbox bb = {.f = obj};
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(6), X6);
    ad_problem p;
    cr_assert_eq(ad_blackbox_problem(&p, ctx, &bb, &x), AD_OK);
    double want[6];
    obj_grad(X6, 6, want, NULL);
    const char *fd[] = {"central", "five-point", "gsl-deriv"};
    for (int k = 0; k < 3; k++) {
        ad_tensor *v = NULL, *g[1] = {0};
        cr_assert_eq(ad_value_and_grad(ad_backend_find(fd[k]), &p, NULL, &v, g, NULL, NULL), AD_OK, "%s: %s", fd[k],
                     ad_errmsg(ctx));
        cr_expect(fabs(ad_item(v) - obj(X6, 6, NULL)) == 0, "%s: the value is f's own", fd[k]);
        th_expect(g[0], AD_SHAPE(6), want, 1e-6, 1e-6);
        ad_tensor_free(v);
        ad_tensor_free(g[0]);
    }
    ad_tensor_free(x);
}

Test(blackbox, the_adapter_refuses_tangents_even_without_the_flag)
{
    ad_blackbox bb = {.f = obj};
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(6), X6);
    ad_problem p = {.ctx = ctx, .f = ad_blackbox_fn, .user = &bb, .nin = 1, .in = &x}; /* flags forgotten */
    ad_tensor *g[1] = {0};
    cr_expect_eq(ad_value_and_grad(ad_backend_find("forward"), &p, NULL, NULL, g, NULL, NULL), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "black box"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    cr_expect_neq(ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, NULL, g, NULL, NULL), AD_OK);
    ad_clear_error(ctx);
    ad_tensor_free(g[0]);
    ad_tensor_free(x);
}

/* ---- bad descriptions ----------------------------------------------------------------------- */

static int failing_r(const double *x, size_t n, double *out, size_t m, void *user)
{
    (void)x, (void)n, (void)out, (void)m, (void)user;
    return 42;
}

Test(blackbox, bad_descriptions_are_errors_naming_what)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), X3);
    ad_problem p;
    ad_blackbox both = {.f = obj, .r = resid, .m = RM}, none = {0}, m0 = {.r = resid};
    cr_expect_eq(ad_blackbox_problem(&p, ctx, &both, &x), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "both"), "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_blackbox_problem(&p, ctx, &none, &x), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "neither"), "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_blackbox_problem(&p, ctx, &m0, &x), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "m = 0"), "%s", ad_errmsg(ctx));
    ad_gradcheck_report r;
    ad_blackbox no_grad = {.f = obj};
    cr_expect_eq(ad_blackbox_check(ctx, &no_grad, X3, 3, NULL, &r), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "nothing to check"), "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);
    ad_blackbox fails = {.r = failing_r, .m = 2};
    cr_assert_eq(ad_blackbox_problem(&p, ctx, &fails, &x), AD_OK);
    ad_tensor *J[1] = {0};
    cr_expect_eq(ad_jacobian(ad_backend_find("central"), &p, NULL, NULL, J, NULL, NULL, NULL), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "returned 42"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    ad_tensor_free(x);
}

/* ---- GSL's function types ------------------------------------------------------------------ */

static const slip *gsl_slip; /* the slip of the df (or fdf) under test */
static bool slip_in_fdf;

static double g_f(const gsl_vector *v, void *params)
{
    return obj(v->data, v->size, params);
}

static void g_df(const gsl_vector *v, void *params, gsl_vector *df)
{
    (void)params;
    obj_grad(v->data, v->size, df->data, slip_in_fdf ? NULL : (void *)gsl_slip);
}

static void g_fdf(const gsl_vector *v, void *params, double *f, gsl_vector *df)
{
    *f = g_f(v, params);
    obj_grad(v->data, v->size, df->data, slip_in_fdf ? (void *)gsl_slip : NULL);
}

static gsl_vector *x6(void)
{
    gsl_vector *v = gsl_vector_alloc(6);
    for (size_t i = 0; i < 6; i++) gsl_vector_set(v, i, X6[i]);
    return v;
}

Test(blackbox, gsl_multimin_df_and_fdf)
{
    gsl_multimin_function_fdf F = {.f = g_f, .df = g_df, .fdf = g_fdf, .n = 6};
    gsl_vector *x = x6();
    slip s = {.at = 4, .rel = 1e-3};
    for (int c = 0; c < 3; c++) { /* right; df wrong; fdf wrong */
        gsl_slip = c ? &s : NULL;
        slip_in_fdf = c == 2;
        ad_gradcheck_report r, rf;
        cr_assert_eq(ad_gsl_multimin_check(ctx, &F, x, NULL, &r, &rf), AD_OK, "%s", ad_errmsg(ctx));
        cr_expect_eq(r.passed, c != 1, "case %d df: %s", c, r.summary);
        cr_expect_eq(rf.passed, c != 2, "case %d fdf: %s", c, rf.summary);
        const ad_gradcheck_report *bad = c == 1 ? &r : c == 2 ? &rf : NULL;
        if (bad) cr_expect(bad->worst.index[0] == 4 && strcmp(bad->worst.backend, "user") == 0, "%s", bad->summary);
        ad_gradcheck_report_free(&r);
        ad_gradcheck_report_free(&rf);
    }
    gsl_slip = NULL;
    F.n = 5;
    ad_gradcheck_report r;
    cr_expect_eq(ad_gsl_multimin_check(ctx, &F, x, NULL, &r, NULL), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "F->n = 5"), "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);
    gsl_vector_free(x);
}

static int n_f(const gsl_vector *x, void *params, gsl_vector *f)
{
    return resid(x->data, x->size, f->data, f->size, params);
}

static int n_df(const gsl_vector *x, void *params, gsl_matrix *J)
{
    cr_assert_eq(J->tda, 3, "a dense m x n matrix");
    return resid_jac(x->data, x->size, J->data, params);
}

Test(blackbox, gsl_nlinear_df)
{
    slip none = {0}, s = {.at = 3 * 5 + 2, .rel = -1e-4}; /* J[5][2] */
    gsl_multifit_nlinear_fdf F = {.f = n_f, .df = n_df, .n = RM, .p = 3, .params = &none};
    gsl_vector *x = gsl_vector_alloc(3);
    for (size_t i = 0; i < 3; i++) gsl_vector_set(x, i, X3[i]);
    ad_gradcheck_report r;
    cr_assert_eq(ad_gsl_nlinear_check(ctx, &F, x, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    ad_gradcheck_report_free(&r);
    F.params = &s;
    cr_assert_eq(ad_gsl_nlinear_check(ctx, &F, x, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed && r.worst.index[0] == 5 && r.worst.index[1] == 2, "%s", r.summary);
    ad_gradcheck_report_free(&r);
    F.df = NULL;
    cr_expect_eq(ad_gsl_nlinear_check(ctx, &F, x, NULL, &r), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "df is NULL"), "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);
    ad_clear_error(ctx);
    gsl_vector_free(x);
}
