/* tests/test_gradcheck.c — the gradient checker: right derivatives pass on
 * functions of very different scales, wrong hand-written ones fail at the
 * right entry with the right values, kinks are reported and subgradients
 * accepted, NaN/Inf in f(x) is an error (AD_ENONFINITE) and in a derivative
 * a failure, the Taylor order separates right from wrong, the
 * forward/reverse identity catches a subtly wrong backend, fast mode and
 * second order, the printed table, option errors, and the caller's state. */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

TestSuite(gradcheck, .init = th_setup, .fini = th_teardown);

/* ---- functions ------------------------------------------------------------------ */

/* rosenbrock, expsin, softmax_ce, mlp and tanh(A x)·x[0] are the shared
 * ones (tests/functions.c); the hand-written gradient of rosenbrock, as a
 * user would pass it, is built on the shared plain-C one. */
static int rosenbrock_grad(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    (void)u;
    double x[16], g[16];
    int n = (int)ad_numel(in[0]);
    ad_to_array(in[0], x, n);
    th_rosenbrock_grad(x, n, g);
    grad[0] = ad_from_array(c, AD_SHAPE(n), g);
    return grad[0] ? AD_OK : ad_errno(c);
}

/* Σ exp(10 x): values and derivatives in the thousands */
static ad_tensor *exp10x(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_exp(ad_mul_s(in[0], 10)), AD_ALL, false);
}

/* 1e-8 Σ x²: derivatives far below atol */
static ad_tensor *tiny_quadratic(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_mul_s(ad_sum(ad_square(in[0]), AD_ALL, false), 1e-8);
}

/* R^3 -> R^4: tanh(A x) */
static ad_tensor *tanh_Ax(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    return ad_tanh(ad_mv((ad_tensor *)u, in[0]));
}

static ad_tensor *sum_squares(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_square(in[0]), AD_ALL, false);
}

static bool has_backend(const ad_gradcheck_report *r, const char *name)
{
    for (int i = 0; i < r->nbackends; i++)
        if (strcmp(r->backends[i].name, name) == 0) return true;
    return false;
}

static const ad_gradcheck_backend *line_of(const ad_gradcheck_report *r, const char *name)
{
    for (int i = 0; i < r->nbackends; i++)
        if (strcmp(r->backends[i].name, name) == 0) return &r->backends[i];
    cr_assert_fail("no backend \"%s\" in the report", name);
    return NULL;
}

/* ---- correct derivatives pass ------------------------------------------------------- */

/* The smooth functions, by name (a Criterion parameter holds no pointer). */
typedef struct {
    const char *name;
    ad_fn f;
} named_fn;
static const named_fn SMOOTH[] = {
    {"rosenbrock", th_rosenbrock}, {"expsin", th_expsin}, {"softmax_ce", th_softmax_ce},
    {"mlp", th_mlp},               {"exp10x", exp10x},    {"tiny_quadratic", tiny_quadratic},
    {"tanh_Ax_times_x0", th_tanh_Ax_times_x0},
};
typedef struct {
    char name[24];
} fn_name;

static ad_fn smooth_fn(const char *name)
{
    for (size_t i = 0; i < sizeof SMOOTH / sizeof SMOOTH[0]; i++)
        if (strcmp(SMOOTH[i].name, name) == 0) return SMOOTH[i].f;
    cr_assert_fail("no smooth function \"%s\"", name);
    return NULL;
}

ParameterizedTestParameters(gradcheck, smooth_functions_of_every_scale_pass)
{
    static fn_name params[] = {{"rosenbrock"}, {"expsin"}, {"softmax_ce"}, {"mlp"}, {"exp10x"}, {"tiny_quadratic"}};
    return cr_make_param_array(fn_name, params, sizeof params / sizeof params[0]);
}

ParameterizedTest(fn_name *fn, gradcheck, smooth_functions_of_every_scale_pass,
                  .description = "rosenbrock, expsin, softmax_ce, mlp, exp(10x), 1e-8 x^2: every exact backend "
                                 "agrees with five-point differences; the identity holds; the Taylor order is 2")
{
    const int n = 7;
    const char *name = fn->name;
    ad_tensor *in[1] = {th_input_vec(n)};
    ad_problem p = {.ctx = ctx, .f = smooth_fn(name), .user = th_mlp_matrix(n, n), .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s: %s", name, ad_errmsg(ctx));
    cr_expect(r.passed, "%s: %s", name, r.summary);
    cr_expect(strncmp(r.summary, "passed: ", 8) == 0, "%s: %s", name, r.summary);
    cr_expect(has_backend(&r, "forward") && has_backend(&r, "forward-vector") && has_backend(&r, "reverse"));
    cr_expect(!has_backend(&r, "central"), "differences are not checked against differences");
    for (int b = 0; b < r.nbackends; b++) {
        cr_expect_eq(r.backends[b].checked, n, "%s/%s", name, r.backends[b].name);
        cr_expect_eq(r.backends[b].mismatches, 0);
        cr_expect_lt(r.backends[b].max_rel_err, 1e-6, "%s/%s: %g", name, r.backends[b].name,
                     r.backends[b].max_rel_err);
    }
    cr_expect_eq(r.nmismatches, 0);
    cr_expect_eq(r.nrows, 0);
    cr_expect_eq(r.nkinks, 0, "%s: no kink in a smooth function", name);
    cr_expect(!r.nonfinite);
    cr_expect(r.consistency_done && r.consistency_passed, "%s: rel err %g", name, r.consistency_rel_err);
    cr_expect(r.taylor_done && r.taylor_passed);
    cr_expect(fabs(r.taylor_order - 2) < 0.2, "%s: Taylor order %g", name, r.taylor_order);
    cr_expect_gt(r.reference_stats.passes, 4 * n, "five-point: at least 4 evaluations per coordinate");
    ad_gradcheck_report_free(&r);
}

Test(gradcheck, vector_function_jacobian_passes,
     .description = "R^3 -> R^4: every entry of the 4x3 Jacobian compared; forward by columns, reverse by rows")
{
    ad_tensor *A = th_mlp_matrix(4, 3);
    ad_tensor *in[1] = {th_input_vec(3)};
    ad_problem p = {.ctx = ctx, .f = th_tanh_Ax_times_x0, .user = A, .nin = 1, .in = in};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    const ad_gradcheck_backend *rev = line_of(&r, "reverse"), *fwd = line_of(&r, "forward");
    cr_expect_eq(rev->checked, 12);
    cr_expect_eq(fwd->checked, 12);
    /* one recorded evaluation, then a sweep per row */
    cr_expect(strstr(rev->note, "by rows: 1 pass, 4 sweeps"), "%s", rev->note);
    cr_expect(strstr(fwd->note, "by columns: 3 passes"), "%s", fwd->note);
    cr_expect(r.has_worst);
    cr_expect_eq(r.worst.ndim, 2, "a Jacobian index: value.shape + input.shape");
    cr_expect(r.taylor_passed && fabs(r.taylor_order - 2) < 0.2, "order %g", r.taylor_order);
    ad_gradcheck_report_free(&r);
}

/* f(x, W) = Σ tanh(W x), W held constant */
static ad_tensor *two_inputs(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_tanh(ad_mv(in[1], in[0])), AD_ALL, false);
}

Test(gradcheck, inputs_held_constant_are_not_checked)
{
    ad_tensor *in[2] = {th_input_vec(3), th_mlp_matrix(2, 3)};
    ad_problem p = {.ctx = ctx, .f = two_inputs, .nin = 2, .in = in, .wrt = (const bool[]){true, false}};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    cr_expect_eq(line_of(&r, "reverse")->checked, 3, "only x's 3 entries");
    ad_gradcheck_report_free(&r);
    p.wrt = NULL; /* both: 3 + 6 entries */
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK);
    cr_expect(r.passed, "%s", r.summary);
    cr_expect_eq(line_of(&r, "reverse")->checked, 9);
    ad_gradcheck_report_free(&r);
}

/* ---- hand-written derivatives -------------------------------------------------------- */

/* ∇Σx² = 2x, but 2x + 0.5 at coordinate 2 */
static int wrong_grad(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    (void)c;
    (void)u;
    grad[0] = ad_mul_s(in[0], 2);
    if (!grad[0]) return ad_errno(c);
    ad_data(grad[0])[2] += 0.5;
    return AD_OK;
}

Test(gradcheck, wrong_user_gradient_fails_at_that_coordinate,
     .description = "2x + 0.5 at x[2]: the worst entry names in0[2] with the analytic and numeric values")
{
    ad_tensor *in[1] = {th_input_vec(5)};
    double x2 = ad_data(in[0])[2];
    ad_problem p = {.ctx = ctx, .f = sum_squares, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_grad = wrong_grad;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed);
    cr_expect_eq(r.nmismatches, 1);
    cr_assert(r.has_worst);
    cr_expect_str_eq(r.worst.backend, "user");
    cr_expect_eq(r.worst.input, 0);
    cr_expect_eq(r.worst.ndim, 1);
    cr_expect_eq(r.worst.index[0], 2);
    cr_expect_float_eq(r.worst.analytic, 2 * x2 + 0.5, 1e-14);
    cr_expect_float_eq(r.worst.numeric, 2 * x2, 1e-8);
    cr_expect_float_eq(r.worst.abs_err, 0.5, 1e-8);
    cr_expect_float_eq(r.worst.rel_err, 0.5 / (2 * x2), 1e-7);
    cr_assert_eq(r.nrows, 1);
    cr_expect_eq(r.rows[0].index[0], 2);
    cr_expect_eq(line_of(&r, "user")->mismatches, 1);
    cr_expect(!line_of(&r, "user")->passed);
    cr_expect(line_of(&r, "reverse")->passed && line_of(&r, "forward")->passed, "the library's modes are right");
    cr_expect(strstr(r.summary, "FAILED: user gradient differs at in0[2]"), "%s", r.summary);
    cr_expect(r.consistency_done && !r.consistency_passed, "the user's VJP breaks <v,Ju> = <J^T v,u>");
    ad_gradcheck_report_free(&r);
}

Test(gradcheck, correct_user_gradient_passes)
{
    ad_tensor *in[1] = {th_input_vec(6)};
    ad_problem p = {.ctx = ctx, .f = th_rosenbrock, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_grad = rosenbrock_grad;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    const ad_gradcheck_backend *u = line_of(&r, "user");
    cr_expect(u->passed);
    cr_expect_eq(u->checked, 6);
    cr_expect(strstr(u->note, "hand-written gradient"), "%s", u->note);
    cr_expect(r.taylor_passed && fabs(r.taylor_order - 2) < 0.2, "Taylor on the user's gradient: %g", r.taylor_order);
    ad_gradcheck_report_free(&r);
}

/* J·v of tanh(A x): (1 - tanh²(Ax)) ⊙ (A v); wrong by 0.5·v[2] at output 1 */
static int wrong_jvp(ad_ctx *c, ad_tensor *const *in, ad_tensor *const *v, ad_tensor **jv, void *u)
{
    ad_tensor *A = u, *t = ad_tanh(ad_mv(A, in[0]));
    *jv = ad_clone(ad_mul(ad_rsub_s(1, ad_square(t)), ad_mv(A, v[0])));
    if (!*jv) return ad_errno(c);
    ad_data(*jv)[1] += 0.5 * ad_getv(v[0], 1, (const int64_t[]){2});
    return AD_OK;
}

/* uᵀJ of tanh(A x): Aᵀ (u ⊙ (1 - tanh²)); wrong by 0.5·u[3] at x[0] */
static int wrong_vjp(ad_ctx *c, ad_tensor *const *in, ad_tensor *uu, ad_tensor **g, void *u)
{
    ad_tensor *A = u, *t = ad_tanh(ad_mv(A, in[0]));
    g[0] = ad_clone(ad_mv(ad_T(A), ad_mul(uu, ad_rsub_s(1, ad_square(t)))));
    if (!g[0]) return ad_errno(c);
    ad_data(g[0])[0] += 0.5 * ad_getv(uu, 1, (const int64_t[]){3});
    return AD_OK;
}

Test(gradcheck, wrong_user_jvp_fails_at_that_entry, .description = "J[1,2] off by 0.5: found by columns")
{
    ad_tensor *A = th_mlp_matrix(4, 3);
    ad_tensor *in[1] = {th_input_vec(3)};
    ad_problem p = {.ctx = ctx, .f = tanh_Ax, .user = A, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_jvp = wrong_jvp;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed);
    cr_expect_eq(r.nmismatches, 1);
    cr_expect_str_eq(r.worst.backend, "user");
    cr_expect_eq(r.worst.ndim, 2);
    cr_expect(r.worst.index[0] == 1 && r.worst.index[1] == 2, "J[%lld,%lld]", (long long)r.worst.index[0],
              (long long)r.worst.index[1]);
    cr_expect_float_eq(r.worst.analytic - r.worst.numeric, 0.5, 1e-7);
    cr_expect(strstr(line_of(&r, "user")->note, "hand-written JVP by columns: 3 calls"), "%s",
              line_of(&r, "user")->note);
    cr_expect(strstr(r.summary, "user JVP differs at f[1] wrt in0[2]"), "%s", r.summary);
    cr_expect(!r.consistency_passed);
    ad_gradcheck_report_free(&r);
}

Test(gradcheck, wrong_user_vjp_fails_at_that_entry, .description = "J[3,0] off by 0.5: found by rows")
{
    ad_tensor *A = th_mlp_matrix(4, 3);
    ad_tensor *in[1] = {th_input_vec(3)};
    ad_problem p = {.ctx = ctx, .f = tanh_Ax, .user = A, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_vjp = wrong_vjp;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed);
    cr_expect_eq(r.nmismatches, 1);
    cr_expect_str_eq(r.worst.backend, "user");
    cr_expect(r.worst.index[0] == 3 && r.worst.index[1] == 0, "J[%lld,%lld]", (long long)r.worst.index[0],
              (long long)r.worst.index[1]);
    cr_expect_float_eq(r.worst.analytic - r.worst.numeric, 0.5, 1e-7);
    cr_expect(strstr(line_of(&r, "user")->note, "hand-written VJP by rows: 4 calls"), "%s", line_of(&r, "user")->note);
    ad_gradcheck_report_free(&r);
}

/* a user gradient that fails the way library calls fail: NULL and a message */
static int failing_grad(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    (void)u;
    grad[0] = ad_add(in[0], ad_zeros(c, AD_SHAPE(2)));
    return grad[0] ? AD_OK : ad_errno(c);
}

Test(gradcheck, a_user_gradient_that_fails_is_reported_not_fatal,
     .description = "the user's error goes into its note; the check returns AD_OK and fails")
{
    ad_tensor *in[1] = {th_input_vec(5)};
    ad_problem p = {.ctx = ctx, .f = sum_squares, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_grad = failing_grad;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed);
    const ad_gradcheck_backend *u = line_of(&r, "user");
    cr_expect(!u->passed);
    cr_expect(strstr(u->note, "could not run: user_grad failed: add: shapes [5] and [2]"), "%s", u->note);
    cr_expect(strstr(r.summary, "user could not run"), "%s", r.summary);
    cr_expect(line_of(&r, "reverse")->passed);
    cr_expect_eq(ad_errno(ctx), AD_OK, "the caller's error state is restored: %s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);
}

/* ---- kinks ------------------------------------------------------------------------------ */

static ad_tensor *sum_relu(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_relu(in[0]), AD_ALL, false);
}

static ad_tensor *sum_abs(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_abs(in[0]), AD_ALL, false);
}

static ad_tensor *max_all(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_max(in[0], AD_ALL, false);
}

static void expect_kink(const ad_gradcheck_kink *k, int64_t index, double left, double right, double analytic)
{
    cr_expect_eq(k->input, 0);
    cr_expect_eq(k->ndim, 1);
    cr_expect_eq(k->index[0], index, "kink at [%lld]", (long long)k->index[0]);
    cr_expect(fabs(k->left - left) < 1e-6, "left %.17g, expected %g", k->left, left);
    cr_expect(fabs(k->right - right) < 1e-6, "right %.17g, expected %g", k->right, right);
    cr_expect_float_eq(k->analytic, analytic, 1e-15);
}

Test(gradcheck, relu_at_zero_is_a_kink_and_its_subgradient_is_accepted,
     .description = "relu'(0) = 0 lies between the one-sided slopes 0 and 1")
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(3), TH_V(0.7, 0, -0.4))};
    ad_problem p = {.ctx = ctx, .f = sum_relu, .nin = 1, .in = in};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    cr_assert_eq(r.nkinks, 1);
    expect_kink(&r.kinks[0], 1, 0, 1, 0);
    cr_expect(r.kinks[0].accepted);
    cr_expect_eq(r.nmismatches, 0, "five-point says 0.5 there, but a kink is not a mismatch");
    cr_expect(!r.taylor_done, "no Taylor expansion at a kink");
    cr_expect(strstr(r.summary, "1 kink accepted"), "%s", r.summary);
    ad_gradcheck_report_free(&r);
}

Test(gradcheck, abs_at_zero_is_a_kink_even_where_differences_agree,
     .description = "central differences give 0 = sign(0) there, but the one-sided slopes are -1 and 1")
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(3), TH_V(0.3, 0, -1.2))};
    ad_problem p = {.ctx = ctx, .f = sum_abs, .nin = 1, .in = in};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    cr_assert_eq(r.nkinks, 1);
    expect_kink(&r.kinks[0], 1, -1, 1, 0);
    cr_expect(r.kinks[0].accepted);
    ad_gradcheck_report_free(&r);
}

Test(gradcheck, max_with_a_tie_is_a_kink_and_the_split_is_accepted,
     .description = "max(x) with x[0] = x[2]: each gets 1/2, between the one-sided slopes 0 and 1")
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(3), TH_V(0.5, -0.2, 0.5))};
    ad_problem p = {.ctx = ctx, .f = max_all, .nin = 1, .in = in};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    cr_assert_eq(r.nkinks, 2);
    expect_kink(&r.kinks[0], 0, 0, 1, 0.5);
    expect_kink(&r.kinks[1], 2, 0, 1, 0.5);
    cr_expect(r.kinks[0].accepted && r.kinks[1].accepted);
    ad_gradcheck_report_free(&r);
}

/* relu's derivative, but 2 at the kink */
static int relu_grad_outside(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    (void)u;
    double x[16], g[16];
    int n = (int)ad_numel(in[0]);
    ad_to_array(in[0], x, n);
    for (int i = 0; i < n; i++) g[i] = x[i] > 0 ? 1 : x[i] < 0 ? 0 : 2;
    grad[0] = ad_from_array(c, AD_SHAPE(n), g);
    return grad[0] ? AD_OK : ad_errno(c);
}

Test(gradcheck, a_subgradient_outside_the_one_sided_interval_fails)
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(3), TH_V(0.7, 0, -0.4))};
    ad_problem p = {.ctx = ctx, .f = sum_relu, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_grad = relu_grad_outside;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed);
    cr_expect_eq(r.nmismatches, 1);
    cr_expect_str_eq(r.worst.backend, "user");
    cr_expect_eq(r.worst.index[0], 1);
    cr_expect_float_eq(r.worst.analytic, 2, 1e-15);
    cr_assert_eq(r.nkinks, 1);
    cr_expect(!r.kinks[0].accepted, "2 is not between 0 and 1");
    cr_expect_float_eq(r.kinks[0].analytic, 2, 1e-15, "the kink shows the rejected value");
    cr_expect(line_of(&r, "reverse")->passed, "the library's subgradient 0 is fine");
    ad_gradcheck_report_free(&r);
}

/* ---- NaN and Inf -------------------------------------------------------------------------- */

static ad_tensor *sum_log(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_log(in[0]), AD_ALL, false);
}

static ad_tensor *sum_sqrt(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_sqrt(in[0]), AD_ALL, false);
}

static ad_tensor *log_each(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_log(in[0]);
}

/* NaN or Inf in f(x) itself: a bad point, not a wrong derivative. */
typedef struct {
    char name[16];
    double x1;     /* the middle input; the others are 0.5 and 2 */
    bool vector;   /* f = log(x) element-wise instead of sum(log(x)) */
    bool fast;
    char message[96];
} bad_point;

ParameterizedTestParameters(gradcheck, a_nonfinite_value_at_the_point_is_an_error_not_a_verdict)
{
    static bad_point params[] = {
        {"nan", -0.5, false, false, "gradcheck: f(x) is NaN at the given point: there is nothing to check"},
        {"inf", 0, false, false, "gradcheck: f(x) is Inf at the given point: there is nothing to check"},
        {"vector-nan", -0.5, true, false, "gradcheck: f(x)[1] is NaN at the given point: there is nothing to check"},
        {"fast-nan", -0.5, false, true, "gradcheck: f(x) is NaN at the given point: there is nothing to check"},
    };
    return cr_make_param_array(bad_point, params, sizeof params / sizeof params[0]);
}

ParameterizedTest(bad_point *bp, gradcheck, a_nonfinite_value_at_the_point_is_an_error_not_a_verdict,
                  .description = "log of a negative or zero input: AD_ENONFINITE naming f(x), no verdict")
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(3), TH_V(0.5, bp->x1, 2))};
    ad_problem p = {.ctx = ctx, .f = bp->vector ? log_each : sum_log, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.fast = bp->fast;
    ad_gradcheck_report r;
    cr_expect_eq(ad_gradcheck(&p, &o, &r), AD_ENONFINITE, "%s: %s", bp->name, ad_errmsg(ctx));
    cr_expect_eq(ad_errno(ctx), AD_ENONFINITE, "%s", bp->name);
    cr_expect_str_eq(ad_errmsg(ctx), bp->message, "%s", bp->name);
    cr_expect(!r.passed, "%s", bp->name);
    cr_expect(strstr(r.summary, "could not run") && strstr(r.summary, bp->message), "%s: %s", bp->name, r.summary);
    cr_expect_eq(r.nmismatches, 0, "%s: nothing was compared", bp->name);
    ad_gradcheck_report_free(&r);
}

/* The gradient of Σx² with a NaN at entry 1: f is finite there. */
static int nan_grad(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    (void)u;
    grad[0] = ad_mul_s(in[0], 2);
    if (!grad[0]) return ad_errno(c);
    ad_data(grad[0])[1] = NAN;
    return AD_OK;
}

Test(gradcheck, a_nan_derivative_of_a_finite_value_fails_as_a_verdict,
     .description = "f(x) finite, the user's gradient NaN at in0[1]: AD_OK, FAILED, the entry named")
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(3), TH_V(0.5, -0.5, 2))};
    ad_problem p = {.ctx = ctx, .f = sum_squares, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_grad = nan_grad;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_neq(ad_errno(ctx), AD_ENONFINITE, "a wrong derivative is a verdict, not an error");
    cr_expect(!r.passed);
    cr_expect(r.nonfinite);
    cr_expect_str_eq(r.nonfinite_what, "user: the derivative at in0[1] is NaN");
    cr_expect(strstr(r.summary, "FAILED: user: the derivative at in0[1] is NaN"), "%s", r.summary);
    cr_expect(line_of(&r, "user")->nonfinite && !line_of(&r, "user")->passed);
    cr_expect(line_of(&r, "reverse")->passed, "the library's own gradient is fine");
    ad_gradcheck_report_free(&r);
}

Test(gradcheck, a_nonfinite_derivative_fails_and_names_the_entry,
     .description = "sqrt at 0: f is finite, the derivative is Inf and the differences are NaN at in0[1]")
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(3), TH_V(0.5, 0, 2))};
    ad_problem p = {.ctx = ctx, .f = sum_sqrt, .nin = 1, .in = in};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed);
    cr_expect(r.nonfinite);
    /* the first NaN/Inf met: forward's NaN at in0[0] (Inf·0), or reverse's Inf at in0[1] */
    cr_expect(strstr(r.nonfinite_what, "in0[") && (strstr(r.nonfinite_what, "NaN") || strstr(r.nonfinite_what, "Inf")),
              "%s", r.nonfinite_what);
    cr_expect(line_of(&r, "reverse")->nonfinite);
    /* reverse: Inf at [1] only; forward modes also get NaN = Inf·0 in the
     * other columns (the unit tangent is 0 where sqrt' is Inf) */
    const ad_gradcheck_backend *rev = line_of(&r, "reverse");
    cr_expect_eq(rev->mismatches, 1);
    bool found = false;
    for (int i = 0; i < r.nrows; i++)
        if (strcmp(r.rows[i].backend, "reverse") == 0) {
            found = true;
            cr_expect_eq(r.rows[i].index[0], 1);
            cr_expect(isinf(r.rows[i].analytic) && r.rows[i].nonfinite);
        }
    cr_expect(found, "reverse's Inf is in the table");
    cr_expect(r.worst.nonfinite);
    ad_gradcheck_report_free(&r);
}

/* ---- Taylor ---------------------------------------------------------------------------------- */

/* 1e-8 Σx² has gradient 2e-8 x; this one is 3e-8 x: wrong by 50%, but by
 * less than atol */
static int tiny_grad_wrong(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    (void)u;
    grad[0] = ad_mul_s(in[0], 3e-8);
    return grad[0] ? AD_OK : ad_errno(c);
}

Test(gradcheck, taylor_order_is_two_when_right_and_one_when_wrong,
     .description = "the remainder's slope on a log-log plot, independent of tolerances")
{
    ad_tensor *in[1] = {th_input_vec(5)};
    ad_problem p = {.ctx = ctx, .f = th_expsin, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK);
    cr_expect(r.taylor_done && r.taylor_passed);
    cr_expect(fabs(r.taylor_order - 2) < 0.15, "right: order %g", r.taylor_order);
    cr_expect_geq(r.taylor_npoints, 3);
    for (int i = 1; i < r.taylor_npoints; i++) {
        cr_expect_lt(r.taylor_h[i], r.taylor_h[i - 1], "steps shrink");
        cr_expect_lt(r.taylor_r[i], r.taylor_r[i - 1], "and so does the remainder");
    }
    ad_gradcheck_report_free(&r);

    o.user_grad = wrong_grad;
    p.f = sum_squares;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK);
    cr_expect(r.taylor_done && !r.taylor_passed);
    cr_expect(fabs(r.taylor_order - 1) < 0.15, "wrong: order %g", r.taylor_order);
    ad_gradcheck_report_free(&r);

    /* a 50% error below atol: the Jacobian comparison cannot see it, the
     * Taylor test can */
    o.user_grad = tiny_grad_wrong;
    o.no_consistency = true;
    p.f = tiny_quadratic;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK);
    cr_expect_eq(r.nmismatches, 0, "|error| < atol = 1e-6");
    cr_expect(!r.taylor_passed && fabs(r.taylor_order - 1) < 0.15, "order %g", r.taylor_order);
    cr_expect(!r.passed);
    cr_expect(strstr(r.summary, "Taylor"), "%s", r.summary);
    cr_expect(!r.consistency_done, "skipped on request");
    ad_gradcheck_report_free(&r);
}

static ad_tensor *linear_fn(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_mul_s(in[0], 3), AD_ALL, false);
}

Test(gradcheck, taylor_passes_with_a_note_when_f_is_linear)
{
    ad_tensor *in[1] = {th_input_vec(4)};
    ad_problem p = {.ctx = ctx, .f = linear_fn, .nin = 1, .in = in};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK);
    cr_expect(r.passed, "%s", r.summary);
    cr_expect(r.taylor_done && r.taylor_passed);
    cr_expect(isnan(r.taylor_order), "no slope to fit");
    cr_expect(strstr(r.summary, "linear along v"), "%s", r.summary);
    ad_gradcheck_report_free(&r);
}

/* ---- consistency ---------------------------------------------------------------------------------- */

/* reverse mode, with every VJP scaled by 1 + 1e-7: within rtol of the
 * differences, but not an exact derivative */
static int subtle_vjp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o, ad_eval *e,
                      ad_stats *st)
{
    (void)b;
    const ad_backend *rev = ad_backend_find("reverse");
    int rc = rev->vjp(rev, p, k, U, o, e, st);
    for (int i = 0; rc == AD_OK && i < p->nin; i++)
        if (e->g[i]) e->g[i] = ad_mul_s(e->g[i], 1 + 1e-7);
    return rc;
}

static const ad_backend subtle = {
    .name = "subtle",
    .description = "reverse mode, 1e-7 off",
    .caps = AD_CAP_EXACT,
    .vjp = subtle_vjp,
};

Test(gradcheck, consistency_catches_a_subtly_wrong_registered_backend,
     .description = "1e-7 relative: inside the tolerance of differences, far outside <v, J u> = <J^T v, u>")
{
    cr_assert_eq(ad_backend_register(&subtle), AD_OK);
    ad_tensor *A = th_mlp_matrix(4, 3);
    ad_tensor *in[1] = {th_input_vec(3)};
    ad_problem p = {.ctx = ctx, .f = th_tanh_Ax_times_x0, .user = A, .nin = 1, .in = in};
    ad_gradcheck_report r;
    int rc = ad_gradcheck(&p, NULL, &r);
    ad_backend_unregister("subtle");
    cr_assert_eq(rc, AD_OK, "%s", ad_errmsg(ctx));
    cr_assert(has_backend(&r, "subtle"), "registered exact backends are checked");
    /* the differences cannot tell; the identity can, and bisection names the entry */
    cr_expect_eq(r.nmismatches, 1, "only the located entry");
    cr_expect(r.consistency_located);
    cr_expect_str_eq(r.worst.backend, "subtle");
    cr_expect_eq(r.worst.ndim, 2, "f[o] wrt x[j]");
    cr_expect(r.worst.index[0] >= 0 && r.worst.index[0] < 4 && r.worst.index[1] >= 0 && r.worst.index[1] < 3);
    cr_expect(r.consistency_done && !r.consistency_passed);
    cr_expect(r.consistency_rel_err > 1e-9 && r.consistency_rel_err < 1e-6, "rel err %g", r.consistency_rel_err);
    cr_expect(!line_of(&r, "subtle")->passed);
    cr_expect(strstr(line_of(&r, "subtle")->note, "<v,Ju> != <J^T v,u>"), "%s", line_of(&r, "subtle")->note);
    cr_expect(line_of(&r, "reverse")->passed && line_of(&r, "forward")->passed);
    cr_expect(!r.passed);
    cr_expect(strstr(r.summary, "subtle"), "%s", r.summary);
    ad_gradcheck_report_free(&r);

    /* the backend list can also be given by name */
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.backends = (const char *const[]){"reverse", "forward", NULL};
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK);
    cr_expect(r.passed, "%s", r.summary);
    cr_expect_eq(r.nbackends, 2);
    cr_expect(r.consistency_passed);
    cr_expect_lt(r.consistency_rel_err, 1e-13, "forward and reverse agree to rounding: %g", r.consistency_rel_err);
    ad_gradcheck_report_free(&r);
}

/* ---- fast mode ----------------------------------------------------------------------------------- */

Test(gradcheck, fast_mode_passes_right_and_catches_a_wrong_user_jvp,
     .description = "4 random directions: J.d against directional differences")
{
    ad_tensor *A = th_mlp_matrix(4, 3);
    ad_tensor *in[1] = {th_input_vec(3)};
    ad_problem p = {.ctx = ctx, .f = tanh_Ax, .user = A, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.fast = true;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    cr_expect_eq(line_of(&r, "forward")->checked, 4 * 4, "4 outputs along 4 directions");
    cr_expect_eq(line_of(&r, "reverse")->checked, 4, "one <u, J d> per direction");
    cr_expect(strstr(line_of(&r, "reverse")->note, "fast"), "%s", line_of(&r, "reverse")->note);
    cr_expect_lt(r.reference_stats.passes, 4 * 80, "one extrapolation tableau per direction, whatever n");
    ad_gradcheck_report_free(&r);

    o.user_jvp = wrong_jvp;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed);
    cr_expect_str_eq(r.worst.backend, "user");
    cr_expect_lt(r.worst.input, 0, "fast-mode entries are along a direction");
    cr_expect_eq(r.worst.ndim, 1);
    cr_expect_eq(r.worst.index[0], 1, "output 1 is the wrong one");
    cr_expect_eq(line_of(&r, "user")->mismatches, 4, "output 1 along each of the 4 directions");
    cr_expect(line_of(&r, "forward")->passed && line_of(&r, "reverse")->passed);
    ad_gradcheck_report_free(&r);
}

Test(gradcheck, fast_mode_accepts_kinks_along_a_direction,
     .description = "relu with two zeros: the directional differences straddle the kinks, the AD value lies "
                    "between the one-sided directional slopes")
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(4), TH_V(0.3, 0, -0.7, 0))};
    ad_problem p = {.ctx = ctx, .f = sum_relu, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.fast = true;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    cr_expect_eq(r.nkinks, o.directions, "one kink per direction (each crosses both zeros)");
    for (int i = 0; i < r.nkinks; i++) {
        cr_expect_eq(r.kinks[i].input, -i - 1, "kink %d is along direction %d", i, i);
        cr_expect(r.kinks[i].accepted);
        cr_expect(fmin(r.kinks[i].left, r.kinks[i].right) <= r.kinks[i].analytic + 1e-9 &&
                  r.kinks[i].analytic <= fmax(r.kinks[i].left, r.kinks[i].right) + 1e-9);
    }
    ad_gradcheck_report_free(&r);

    /* the same subgradient outside the interval fails in fast mode too */
    o.user_grad = relu_grad_outside;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed);
    cr_expect_gt(line_of(&r, "user")->mismatches, 0);
    cr_expect(line_of(&r, "reverse")->passed);
    ad_gradcheck_report_free(&r);
}

/* ---- second order -------------------------------------------------------------------------------- */

ParameterizedTestParameters(gradcheck, second_order_passes_on_smooth_functions)
{
    static fn_name params[] = {{"rosenbrock"}, {"expsin"}, {"tanh_Ax_times_x0"}};
    return cr_make_param_array(fn_name, params, sizeof params / sizeof params[0]);
}

ParameterizedTest(fn_name *fn, gradcheck, second_order_passes_on_smooth_functions,
                  .description = "H v by forward over reverse against differences of reverse gradients")
{
    ad_tensor *in[1] = {th_input_vec(3)};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.second_order = true;
    ad_problem p = {.ctx = ctx, .f = smooth_fn(fn->name), .user = th_mlp_matrix(4, 3), .nin = 1, .in = in};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s: %s", fn->name, ad_errmsg(ctx));
    cr_expect(r.passed, "%s: %s", fn->name, r.summary);
    cr_expect(r.hvp_done && r.hvp_passed, "%s", fn->name);
    cr_expect_lt(r.hvp_max_rel_err, 1e-5, "%s: %g", fn->name, r.hvp_max_rel_err);
    cr_expect(strstr(r.summary, "HVP agrees"), "%s: %s", fn->name, r.summary);
    ad_gradcheck_report_free(&r);
}

/* ---- the printed report -------------------------------------------------------------------------- */

/* ∇Σx² = 2x, plus 0.1·i at coordinates i >= 3: 12 wrong entries, at x = 0.5
 * everywhere (equal tolerances) the last is the worst */
static int many_wrong(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    (void)u;
    grad[0] = ad_mul_s(in[0], 2);
    if (!grad[0]) return ad_errno(c);
    for (int i = 3; i < 15; i++) ad_data(grad[0])[i] += 0.1 * i;
    return AD_OK;
}

static char *print_to_string(const ad_gradcheck_report *r, const ad_problem *p)
{
    static char buf[16384];
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    cr_assert_eq(ad_gradcheck_print(f, r, p, NULL), AD_OK);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

Test(gradcheck, printed_table_shows_only_mismatches_worst_first_and_capped,
     .description = "max_rows = 4 of 12 mismatching entries, then '... and 8 more'")
{
    ad_tensor *in[1] = {ad_full(ctx, AD_SHAPE(15), 0.5)};
    ad_problem p = {.ctx = ctx, .f = sum_squares, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_grad = many_wrong;
    o.max_rows = 4;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(r.nmismatches, 12);
    cr_assert_eq(r.nrows, 4);
    for (int i = 0; i < 4; i++) cr_expect_eq(r.rows[i].index[0], 14 - i, "row %d", i);
    const char *s = print_to_string(&r, &p);
    cr_expect(strstr(s, "gradcheck: FAILED: user gradient differs at in0[14]"), "%s", s);
    cr_expect(strstr(s, "AD value") && strstr(s, "numeric") && strstr(s, "rel err"), "%s", s);
    const char *p14 = strstr(s, "[14]"), *p13 = strstr(s, "[13]"), *p12 = strstr(s, "[12]"),
               *p11 = strstr(s, "[11]");
    cr_expect(p14 && p13 && p12 && p11 && p14 < p13 && p13 < p12 && p12 < p11, "sorted worst first:\n%s", s);
    cr_expect_null(strstr(s, "[10]"), "capped at 4 rows:\n%s", s);
    cr_expect_null(strstr(s, "[2]"), "only mismatching rows:\n%s", s);
    cr_expect(strstr(s, "... and 8 more mismatching entries"), "%s", s);
    cr_expect(strstr(s, "user ") && strstr(s, "FAILED"), "%s", s);
    ad_gradcheck_report_free(&r);

    /* a passing check prints no table */
    o.user_grad = NULL;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK);
    s = print_to_string(&r, &p);
    cr_expect(strstr(s, "gradcheck: passed"), "%s", s);
    cr_expect_null(strstr(s, "mismatching entries"), "%s", s);
    cr_expect(strstr(s, "Taylor") && strstr(s, "consistency"), "%s", s);
    ad_gradcheck_report_free(&r);
}

/* ---- options, errors and the caller's state --------------------------------------------------------- */

Test(gradcheck, bad_options_are_errors_that_say_which)
{
    ad_tensor *in[1] = {th_input_vec(3)};
    ad_problem p = {.ctx = ctx, .f = sum_squares, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    ad_gradcheck_report r;

    o.atol = -1;
    cr_expect_eq(ad_gradcheck(&p, &o, &r), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "atol = -1"), "%s", ad_errmsg(ctx));
    cr_expect(strstr(r.summary, "could not run") && !r.passed, "%s", r.summary);
    ad_gradcheck_report_free(&r);
    ad_clear_error(ctx);

    o = ad_gradcheck_defaults();
    o.rtol = NAN;
    cr_expect_eq(ad_gradcheck(&p, &o, &r), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "rtol"), "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);

    o = ad_gradcheck_defaults();
    o.reference = "six-point";
    cr_expect_eq(ad_gradcheck(&p, &o, &r), AD_ENOTFOUND);
    cr_expect(strstr(ad_errmsg(ctx), "unknown reference backend \"six-point\""), "%s", ad_errmsg(ctx));
    cr_expect(strstr(ad_errmsg(ctx), "five-point"), "the message lists the choices: %s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);

    o = ad_gradcheck_defaults();
    o.backends = (const char *const[]){"reverse", "backward", NULL};
    cr_expect_eq(ad_gradcheck(&p, &o, &r), AD_ENOTFOUND);
    cr_expect(strstr(ad_errmsg(ctx), "\"backward\""), "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);

    o = ad_gradcheck_defaults();
    o.backends = (const char *const[]){NULL};
    cr_expect_eq(ad_gradcheck(&p, &o, &r), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "nothing to check"), "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);

    o = ad_gradcheck_defaults();
    o.directions = -2;
    cr_expect_eq(ad_gradcheck(&p, &o, &r), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "directions = -2"), "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);

    /* a gradient of a vector function */
    ad_tensor *A = th_mlp_matrix(4, 3);
    ad_problem pv = {.ctx = ctx, .f = tanh_Ax, .user = A, .nin = 1, .in = in};
    o = ad_gradcheck_defaults();
    o.user_grad = wrong_grad;
    cr_expect_eq(ad_gradcheck(&pv, &o, &r), AD_ESHAPE);
    cr_expect(strstr(ad_errmsg(ctx), "user_grad") && strstr(ad_errmsg(ctx), "[4]"), "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);

    /* no function, no report */
    ad_problem bad = {.ctx = ctx, .f = NULL, .nin = 1, .in = in};
    cr_expect_eq(ad_gradcheck(&bad, NULL, &r), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "no function"), "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);
    cr_expect_eq(ad_gradcheck(&p, NULL, NULL), AD_EINVAL);

    ad_gradcheck_report zero;
    memset(&zero, 0, sizeof zero);
    ad_gradcheck_report_free(&zero); /* accepts a zeroed report */
    ad_gradcheck_report_free(NULL);
    cr_expect_eq(ad_gradcheck_print(NULL, &zero, NULL, NULL), AD_EINVAL);
}

Test(gradcheck, the_callers_tensors_and_modes_are_left_alone,
     .description = "inputs, requires_grad, .grad, grad mode, forward width and the error state are restored")
{
    ad_tensor *x = th_input_vec(4);
    double before[4], after[4];
    ad_to_array(x, before, 4);
    cr_assert_eq(ad_requires_grad_(x, true), AD_OK);
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = th_expsin, .nin = 1, .in = in};
    ad_set_grad_enabled(ctx, true);
    cr_assert_eq(ad_fwd_begin(ctx, 3), AD_OK);
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.second_order = true;
    o.user_grad = wrong_grad; /* a failing user backend records errors inside */
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    ad_gradcheck_report_free(&r);
    ad_to_array(x, after, 4);
    for (int i = 0; i < 4; i++) cr_expect_eq(after[i], before[i]);
    cr_expect(ad_requires_grad(x));
    cr_expect_null(ad_grad(x), "no gradient accumulated into the caller's tensor");
    cr_expect(!ad_has_tangent(x));
    cr_expect(ad_is_grad_enabled(ctx));
    cr_expect_eq(ad_fwd_width(ctx), 3);
    cr_expect_eq(ad_errno(ctx), AD_OK);
    ad_fwd_end(ctx);
    ad_tape_stats ts;
    ad_tape_stats_get(ctx, &ts);
    cr_expect_eq(ts.live, 0, "no tape record left behind");
}

/* f = Σ 100 x⁴: large curvature, so a small gradient error hides behind the
 * h² term until h is tiny; the test must follow r(h) far enough down. */
static ad_tensor *quartic(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_mul_s(ad_pow_s(in[0], 4), 100), AD_ALL, false);
}

static int quartic_grad_slightly_wrong(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    (void)u;
    double x[16], g[16];
    int n = (int)ad_numel(in[0]);
    ad_to_array(in[0], x, n);
    for (int i = 0; i < n; i++) g[i] = 400 * x[i] * x[i] * x[i] + (i == 2 ? 0.01 : 0);
    grad[0] = ad_from_array(c, AD_SHAPE(n), g);
    return grad[0] ? AD_OK : ad_errno(c);
}

Test(gradcheck, taylor_order_one_for_a_small_error_behind_large_curvature,
     .description = "a gradient off by 0.01 in one entry of a steep function still shows order 1")
{
    ad_tensor *in[1] = {ad_linspace(ctx, 0.5, 1, 6)};
    ad_problem p = {.ctx = ctx, .f = quartic, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_grad = quartic_grad_slightly_wrong;
    o.names = (const char *[]){"x"};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed);
    cr_expect(r.taylor_done);
    cr_expect(fabs(r.taylor_order - 1) < 0.2, "observed order %g", r.taylor_order);
    cr_expect(!r.taylor_passed);
    cr_expect(strstr(r.summary, "x[2]"), "the summary names the input: %s", r.summary);
    ad_gradcheck_report_free(&r);
}
