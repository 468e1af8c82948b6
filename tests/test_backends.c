/* tests/test_backends.c — backend descriptors as types with parameters:
 * selection by capability (ad_backend_with), difference rules as params
 * (a rule registered by a user is one descriptor), the step a difference
 * backend reports (ad_eval.h) against ad_fd_step, and no silent default
 * rule for a descriptor without one. */
#include <float.h>
#include <string.h>

#include "helpers.h"

#include <criterion/parameterized.h>

TestSuite(backends, .init = th_setup, .fini = th_teardown);

/* f(x) = Σ exp(0.3 x)·cos(x);  ∂f/∂x_j = exp(0.3 x_j)·(0.3 cos x_j - sin x_j) */
static ad_tensor *expcos(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_mul(ad_exp(ad_mul_s(in[0], 0.3)), ad_cos(in[0])), AD_ALL, false);
}

static double expcos_d(double x) { return exp(0.3 * x) * (0.3 * cos(x) - sin(x)); }

static const double X0[] = {2.385, -0.731, 11.5};

static ad_problem problem_at(ad_tensor **x)
{
    *x = ad_from_array(ctx, AD_SHAPE(3), X0);
    return (ad_problem){.ctx = ctx, .f = expcos, .nin = 1, .in = x};
}

/* ---- selection by capability ------------------------------------------------ */

/* Criterion copies parameters into each test's process: plain data only,
 * no pointers (a string literal's address differs there). */
typedef struct {
    unsigned caps;
    char want[24]; /* "": no backend has them all */
} with_case;

ParameterizedTestParameters(backends, with_picks_the_first_backend_having_every_cap)
{
    static with_case cases[] = {
        {AD_CAP_FORWARD, "forward"},
        {AD_CAP_FORWARD | AD_CAP_VECTOR, "forward-vector"},
        {AD_CAP_REVERSE, "reverse"},
        {AD_CAP_EXACT | AD_CAP_REVERSE, "reverse"},
        {AD_CAP_DIFFERENCE, "central"},
        {AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE, "central"},
        {AD_CAP_REVERSE | AD_CAP_DIFFERENCE, ""},
        {AD_CAP_VECTOR | AD_CAP_REVERSE, ""},
    };
    return cr_make_param_array(with_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(with_case *c, backends, with_picks_the_first_backend_having_every_cap)
{
    const ad_backend *b = ad_backend_with(c->caps);
    if (!c->want[0]) {
        cr_expect_null(b, "caps 0x%x: got \"%s\", expected none", c->caps, b ? b->name : "");
        return;
    }
    cr_assert_not_null(b, "caps 0x%x: none found, expected \"%s\"", c->caps, c->want);
    cr_expect_str_eq(b->name, c->want, "caps 0x%x", c->caps);
}

Test(backends, with_no_caps_is_the_first_backend)
{
    cr_expect_eq(ad_backend_with(0), ad_backend_at(0));
}

/* What each built-in says about itself must match what it does: a rule
 * exactly for the three difference backends, caps that place it. */
typedef struct {
    char name[24];
    unsigned caps;
    int order; /* of its rule; 0: it has none */
} builtin_case;

ParameterizedTestParameters(backends, builtin_descriptors_state_their_caps_and_rule)
{
    static builtin_case cases[] = {
        {"forward", AD_CAP_EXACT | AD_CAP_RULES | AD_CAP_FORWARD, 0},
        {"forward-vector", AD_CAP_EXACT | AD_CAP_RULES | AD_CAP_FORWARD | AD_CAP_VECTOR, 0},
        {"reverse", AD_CAP_EXACT | AD_CAP_RULES | AD_CAP_REVERSE, 0},
        {"central", AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE | AD_CAP_UNIT, 2},
        {"forward-diff", AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE | AD_CAP_UNIT, 1},
        {"five-point", AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE | AD_CAP_UNIT, 4},
        {"gsl-deriv", AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE, 0},
    };
    return cr_make_param_array(builtin_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(builtin_case *c, backends, builtin_descriptors_state_their_caps_and_rule)
{
    const ad_backend *b = ad_backend_find(c->name);
    cr_assert_not_null(b, "%s is not registered", c->name);
    cr_expect_eq(b->caps, c->caps, "%s: caps 0x%x, expected 0x%x", c->name, b->caps, c->caps);
    const ad_fd_rule *R = ad_backend_fd_rule(b);
    if (c->order == 0) {
        cr_expect_null(R, "%s is not a difference rule", c->name);
        return;
    }
    cr_assert_not_null(R, "%s has no rule", c->name);
    cr_expect_str_eq(R->name, c->name);
    cr_expect_eq(R->order, c->order, "%s: order %d", c->name, R->order);
    double wsum = 0;
    for (int q = 0; q < R->npts; q++) wsum += R->w[q];
    cr_expect(fabs(wsum) < 1e-15, "%s: weights sum to %g (a constant must differentiate to 0)", c->name, wsum);
}

/* ---- a rule is one descriptor ------------------------------------------------ */

/* One-sided, second order: f'(x) ≈ (-3/2 f(x) + 2 f(x+h) - 1/2 f(x+2h)) / h */
static const ad_fd_rule one_sided2 = {
    .name = "one-sided-2", .npts = 3, .off = {0, 1, 2}, .w = {-1.5, 2, -0.5}, .order = 2};
static const ad_backend one_sided2_backend = {
    .name = "one-sided-2",
    .description = "second-order one-sided differences (a user's rule)",
    .caps = AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE,
    .jvp = ad_fd_jvp,
    .params = &one_sided2,
};

Test(backends, a_user_rule_differentiates_through_the_drivers_within_its_estimate)
{
    cr_assert_eq(ad_backend_register(&one_sided2_backend), AD_OK);
    cr_expect_eq(ad_backend_fd_rule(&one_sided2_backend), &one_sided2);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x, *g[1] = {NULL}, *e[1] = {NULL};
    ad_problem p = problem_at(&x);
    ad_stats st;
    cr_assert_eq(ad_value_and_grad(ad_backend_find("one-sided-2"), &p, NULL, NULL, g, e, &st), AD_OK, "%s",
                 ad_errmsg(ctx));
    const double *gv = ad_data(ad_contiguous(g[0])), *ev = ad_data(ad_contiguous(e[0]));
    for (int j = 0; j < 3; j++) {
        double want = expcos_d(X0[j]), err = fabs(gv[j] - want);
        /* second order at h ~ eps^(1/3)·|x|: ~1e-9 relative; a first-order
         * rule at that step would be off by ~h·f'' ~ 1e-4 */
        cr_expect(err <= 1e-8 * fmax(1, fabs(want)), "x[%d]: %.17g, want %.17g", j, gv[j], want);
        cr_expect(err <= 4 * ev[j] + 1e-14, "x[%d]: error %.3g not covered by the estimate %.3g", j, err, ev[j]);
    }
    /* f(x) once; per direction x+h and x+2h, and for the estimate only x+4h
     * (the doubled offsets 0 and 2h are already evaluated) */
    cr_expect_eq(st.passes, 1 + 3 * 2 + 3 * 1, "passes %lld", (long long)st.passes);
    /* registered after the built-ins: capability selection and the default
     * reference (highest order) are unchanged */
    cr_expect_str_eq(ad_backend_with(AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE)->name, "central");
    ad_scope_end(ctx, s, NULL);
    cr_expect_eq(ad_backend_unregister("one-sided-2"), AD_OK);
}

/* ---- the step a difference backend reports ---------------------------------- */

ParameterizedTestParameters(backends, a_rule_reports_the_step_it_took_per_direction)
{
    static char names[][24] = {"central", "forward-diff", "five-point"};
    return cr_make_param_array(char[24], names, sizeof names / sizeof names[0]);
}

ParameterizedTest(char (*name)[24], backends, a_rule_reports_the_step_it_took_per_direction)
{
    const ad_backend *b = ad_backend_find(*name);
    const ad_fd_rule *R = ad_backend_fd_rule(b);
    cr_assert_not_null(R);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x;
    ad_problem p = problem_at(&x);
    /* directions: e0, e2, 2.5·(e0 - e1), zero */
    static const double V[] = {1, 0, 0, 0, 0, 1, 2.5, -2.5, 0, 0, 0, 0};
    ad_tensor *Vt[1] = {ad_from_array(ctx, AD_SHAPE(4, 3), V)};
    double h[4] = {-1, -1, -1, -1};
    ad_eval e = {.h = h};
    cr_assert_eq(b->jvp(b, &p, 4, Vt, NULL, &e, NULL), AD_OK, "%s", ad_errmsg(ctx));
    /* along a coordinate: ad_fd_step made representable, so within an ulp of x */
    double h0 = ad_fd_step(R, fmax(1, fabs(X0[0])), 1), h1 = ad_fd_step(R, fmax(1, fabs(X0[2])), 1);
    cr_expect(fabs(h[0] - h0) <= 2 * DBL_EPSILON * fabs(X0[0]), "%s: e0 step %.17g, rule says %.17g", *name, h[0], h0);
    cr_expect(fabs(h[1] - h1) <= 2 * DBL_EPSILON * fabs(X0[2]), "%s: e2 step %.17g, rule says %.17g", *name, h[1], h1);
    volatile double moved = X0[0] + h[0];
    cr_expect_eq(moved - X0[0], h[0], "%s: x + h is exactly representable", *name);
    /* off a coordinate the step is the rule's own, exactly */
    cr_expect_eq(h[2], ad_fd_step(R, fmax(fabs(X0[0]), fabs(X0[1])), 2.5), "%s: %.17g", *name, h[2]);
    cr_expect_eq(h[3], 0, "%s: a zero direction takes no step (%g)", *name, h[3]);
    /* and the step follows the rule's order: eps^(1/(p+1)) */
    double want = pow(DBL_EPSILON, 1.0 / (R->order + 1));
    cr_expect(fabs(ad_fd_step(R, 1, 1) - want) <= 4 * DBL_EPSILON * want, "%s: %.17g", *name, ad_fd_step(R, 1, 1));
    ad_scope_end(ctx, s, NULL);
}

Test(backends, a_fixed_step_is_reported_and_exact_backends_report_none)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x;
    ad_problem p = problem_at(&x);
    ad_tensor *Vt[1] = {ad_from_array(ctx, AD_SHAPE(2, 3), TH_V(1, 0, 0, 0, 1, 0))};
    ad_options o = {.h = 1e-4};
    double h[2] = {-1, -1};
    ad_eval e = {.h = h};
    const ad_backend *cen = ad_backend_find("central");
    cr_assert_eq(cen->jvp(cen, &p, 2, Vt, &o, &e, NULL), AD_OK);
    cr_expect(h[0] == 1e-4 && h[1] == 1e-4, "fixed step: %g %g", h[0], h[1]);

    const ad_backend *fwd = ad_backend_with(AD_CAP_FORWARD);
    ad_eval ef = {.h = h};
    cr_assert_eq(fwd->jvp(fwd, &p, 2, Vt, NULL, &ef, NULL), AD_OK);
    cr_expect(h[0] == 0 && h[1] == 0, "forward takes no step: %g %g", h[0], h[1]);

    const ad_backend *gsl = ad_backend_find("gsl-deriv");
    ad_eval eg = {.h = h};
    cr_assert_eq(gsl->jvp(gsl, &p, 2, Vt, NULL, &eg, NULL), AD_OK);
    cr_expect(isnan(h[0]) && isnan(h[1]), "gsl-deriv picks its steps out of sight: %g %g", h[0], h[1]);
    ad_scope_end(ctx, s, NULL);
}

Test(backends, the_step_of_a_direction_is_computed_once_for_everyone)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x;
    ad_problem p = problem_at(&x);
    ad_tensor *v[1] = {ad_from_array(ctx, AD_SHAPE(3), TH_V(0, -0.5, 0))};
    ad_fd_scale sc;
    cr_assert_eq(ad_fd_scale_of(&p, v, &sc), AD_OK);
    cr_expect_eq(sc.vmax, 0.5);
    cr_expect_eq(sc.xscale, 1, "max(1, |x| on the support) = max(1, 0.731)");
    cr_expect_eq(sc.nnz, 1);
    cr_expect_eq(sc.x_at, X0[1]);
    const ad_fd_rule *R = ad_backend_fd_rule(ad_backend_find("central"));
    cr_expect_eq(ad_fd_step_along(R, &sc), ad_fd_step(R, 1, 0.5), "vmax != 1: no representability adjustment");
    cr_expect(isnan(ad_fd_step(R, 1, 0)), "a zero direction has no step");
    cr_expect(isnan(ad_fd_step(NULL, 1, 1)));
    ad_scope_end(ctx, s, NULL);
}

/* ---- no silent default --------------------------------------------------------- */

Test(backends, a_difference_backend_without_a_rule_fails_instead_of_defaulting)
{
    static const ad_backend bare = {.name = "bare", .caps = AD_CAP_DIFFERENCE, .jvp = ad_fd_jvp};
    static const ad_fd_rule empty = {.name = "empty", .npts = 0, .order = 2};
    static const ad_backend hollow = {.name = "hollow", .caps = AD_CAP_DIFFERENCE, .jvp = ad_fd_jvp, .params = &empty};
    cr_expect_null(ad_backend_fd_rule(&bare));
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x, *g[1] = {NULL};
    ad_problem p = problem_at(&x);
    cr_expect_eq(ad_value_and_grad(&bare, &p, NULL, NULL, g, NULL, NULL), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "bare: a difference backend needs its rule in params"), "%s", ad_errmsg(ctx));
    cr_expect_null(g[0]);
    ad_clear_error(ctx);
    cr_expect_eq(ad_value_and_grad(&hollow, &p, NULL, NULL, g, NULL, NULL), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "rule \"empty\" has 0 points"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    ad_scope_end(ctx, s, NULL);
}

Test(backends, gradcheck_defaults_to_the_highest_order_rule)
{
    ad_gradcheck_options o = ad_gradcheck_defaults();
    cr_expect_null(o.reference, "chosen by rule order, not by name");
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x;
    ad_problem p = problem_at(&x);
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed);
    /* issue 9: without a name, gradcheck's own extrapolated reference; the
     * highest-order rule still serves when named */
    cr_expect(strstr(r.summary, "extrapolated"), "%s", r.summary);
    ad_gradcheck_report_free(&r);
    o.reference = ad_backend_reference()->name;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed);
    cr_expect(strstr(r.summary, "five-point"), "%s", r.summary);
    ad_gradcheck_report_free(&r);
    ad_scope_end(ctx, s, NULL);
}

/* ---- difference backends at the cost of their evaluations -------------------- */

/* f(a, b, c) = Σ exp(0.3 a)·cos(a) + b·Σ sin(c)·c, with b held constant:
 * the unit columns cross an input that is not differentiated. */
static ad_tensor *three_inputs(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *t = ad_sum(ad_mul(ad_sin(in[2]), in[2]), AD_ALL, false);
    return ad_add(expcos(c, in, u), ad_mul(in[1], t));
}

static const double A0[] = {2.385, -0.731, 11.5}, B0[] = {0.913}, C0[] = {-1.25, 0.0625, 3.75, 7.125};

/* The same JVP of the n unit columns through dense directions (x + t·v,
 * the path before unit directions existed) and through V NULL: steps,
 * values and estimates bit for bit. */
Test(backends, unit_directions_are_bit_identical_to_dense_unit_vectors,
     .description = "ad_fd_jvp with V NULL (the private copy moved in place) equals dense e_j directions bit for bit")
{
    ad_tensor *in[3] = {ad_from_array(ctx, AD_SHAPE(3), A0), ad_from_array(ctx, AD_SHAPE(1), B0),
                        ad_from_array(ctx, AD_SHAPE(4), C0)};
    const bool wrt[3] = {true, false, true};
    ad_problem p = {.ctx = ctx, .f = three_inputs, .nin = 3, .in = in, .wrt = wrt};
    const int n = 7;
    ad_tensor *V[3] = {ad_zeros(ctx, AD_SHAPE(n, 3)), NULL, ad_zeros(ctx, AD_SHAPE(n, 4))};
    for (int j = 0; j < 3; j++) ((double *)ad_data(V[0]))[j * 3 + j] = 1;
    for (int j = 0; j < 4; j++) ((double *)ad_data(V[2]))[(3 + j) * 4 + j] = 1;
    const char *rules[] = {"central", "forward-diff", "five-point"};
    for (int b = 0; b < 3; b++) {
        const ad_backend *be = ad_backend_find(rules[b]);
        double hd[7], hu[7];
        ad_eval ed = {.h = hd}, eu = {.h = hu, .unit_from = 0};
        cr_assert_eq(ad_fd_jvp(be, &p, n, V, NULL, &ed, NULL), AD_OK, "%s", ad_errmsg(ctx));
        cr_assert_eq(ad_fd_jvp(be, &p, n, NULL, NULL, &eu, NULL), AD_OK, "%s", ad_errmsg(ctx));
        cr_expect_eq(memcmp(hd, hu, sizeof hd), 0, "%s: steps differ", be->name);
        cr_expect_eq(memcmp(ad_data(ed.y), ad_data(eu.y), sizeof(double)), 0, "%s: f(x) differs", be->name);
        cr_expect_eq(memcmp(ad_data(ed.jv), ad_data(eu.jv), n * sizeof(double)), 0, "%s: J·e_j differs", be->name);
        cr_expect_eq(memcmp(ad_data(ed.jv_err), ad_data(eu.jv_err), n * sizeof(double)), 0, "%s: estimate differs",
                     be->name);
    }
}

/* central: exactly 2 evaluations per direction when nobody reads the
 * estimate or the value; the estimate doubles them, the value adds one. */
Test(backends, central_costs_two_evaluations_per_direction_without_the_estimate)
{
    const int n = 9;
    ad_tensor *in[1] = {th_input_vec(n)}, *g[1], *e[1], *y;
    ad_problem p = {.ctx = ctx, .f = th_expsin, .nin = 1, .in = in};
    const ad_backend *c = ad_backend_find("central");
    ad_stats st;
    cr_assert_eq(ad_value_and_grad(c, &p, NULL, NULL, g, NULL, &st), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(st.passes, 2 * n, "no estimate asked: %lld passes", (long long)st.passes);
    ad_tensor *g_plain = g[0];
    cr_assert_eq(ad_value_and_grad(c, &p, NULL, NULL, g, e, &st), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(st.passes, 4 * n, "estimate asked: %lld passes", (long long)st.passes);
    cr_expect_eq(memcmp(ad_data(g_plain), ad_data(g[0]), n * sizeof(double)), 0, "the estimate changes no bit of g");
    cr_assert_eq(ad_value_and_grad(c, &p, NULL, &y, g, NULL, &st), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(st.passes, 2 * n + 1, "value asked: %lld passes", (long long)st.passes);
    cr_assert_eq(ad_value_and_grad(c, &p, &(ad_options){.no_error_estimate = true}, NULL, g, e, &st), AD_OK);
    cr_expect_eq(st.passes, 2 * n, "no_error_estimate honoured: %lld passes", (long long)st.passes);
    cr_expect_null(e[0], "no estimate made, none returned");
}

/* f fails on its fail_at-th call (counting from 1). */
typedef struct {
    int calls, fail_at;
} failing;

static ad_tensor *fails_midway(ad_ctx *c, ad_tensor *const *in, void *u)
{
    failing *fl = u;
    if (++fl->calls == fl->fail_at) {
        ad_raise(c, AD_EINVAL, "fails_midway: call %d fails on purpose", fl->calls);
        return NULL;
    }
    return th_expsin(c, in, NULL);
}

Test(backends, the_input_is_unchanged_after_differences_also_when_f_fails_midway)
{
    const int n = 6;
    ad_tensor *x = th_input_vec(n), *in[1] = {x}, *g[1] = {NULL};
    double before[6];
    memcpy(before, ad_data(x), sizeof before);
    const char *rules[] = {"central", "forward-diff", "five-point"};
    for (int b = 0; b < 3; b++)
        for (int at = 1; at <= n + 1; at++) { /* forward-diff makes n + 1 calls */
            failing fl = {0, at};
            ad_problem p = {.ctx = ctx, .f = fails_midway, .user = &fl, .nin = 1, .in = in};
            int rc = ad_value_and_grad(ad_backend_find(rules[b]), &p, NULL, NULL, g, NULL, NULL);
            cr_expect_eq(rc, AD_EINVAL, "%s, failing call %d: status %d", rules[b], at, rc);
            cr_expect_eq(memcmp(before, ad_data(x), sizeof before), 0, "%s, failing call %d: x moved", rules[b], at);
            ad_clear_error(ctx);
        }
}

/* f returns a view of its input: its result at x + h·e_j must not follow
 * the coordinate when it is put back (the Jacobian would come out 0). */
static ad_tensor *view_of_input(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_reshape(in[0], AD_SHAPE(2, 2));
}

Test(backends, a_result_that_views_the_moved_input_is_kept_as_it_was)
{
    static const double x0[] = {0.75, -1.5, 2.25, 3.125};
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(4), x0)}, *J[1] = {NULL};
    ad_problem p = {.ctx = ctx, .f = view_of_input, .nin = 1, .in = in};
    cr_assert_eq(ad_jacobian(ad_backend_find("central"), &p, NULL, NULL, J, NULL, NULL, NULL), AD_OK, "%s",
                 ad_errmsg(ctx));
    const double *j = ad_data(ad_contiguous(J[0]));
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            cr_expect(fabs(j[r * 4 + c] - (r == c)) < 1e-9, "J[%d, %d] = %g", r, c, j[r * 4 + c]);
}
