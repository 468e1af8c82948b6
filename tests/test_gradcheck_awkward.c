/* tests/test_gradcheck_awkward.c — gradient checking that can be trusted on
 * real code: a table of awkward but correct functions (huge and tiny
 * scales, domain edges, saturation, cancellation, many terms) that must
 * pass without invented kinks; the reference's error bound against
 * analytic derivatives; planted slips of 1e-2 .. 1e-7 in one element of a
 * hand-written gradient, caught and located (tensor functions and black
 * boxes); the progress text and its hint to fast mode (no clock). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

#include <criterion/parameterized.h>

TestSuite(gc_awkward, .init = th_setup, .fini = th_teardown);

/* ---- the functions ------------------------------------------------------------------------- */

#define FN(name, body)                                                   \
    static ad_tensor *name(ad_ctx *c, ad_tensor *const *in, void *u)    \
    {                                                                    \
        (void)c;                                                         \
        (void)u;                                                         \
        ad_tensor *x = in[0];                                            \
        return body;                                                     \
    }

FN(exp_large, ad_sum_all(ad_exp(x)))                          /* values ~1e30 */
FN(log1p_near_0, ad_sum_all(ad_log1p(x)))                     /* x ~ 1e-12 */
FN(xlogx_near_0, ad_sum_all(ad_mul(x, ad_log(x))))            /* log x -> -inf, x log x -> 0 */
FN(tiny_scale, ad_mul_s(ad_sum_all(ad_sin(x)), 1e-30))        /* f ~ 1e-30 */
FN(huge_scale, ad_sum_all(ad_square(x)))                      /* x ~ 1e100, f ~ 1e200 */
FN(many_terms, ad_sum_all(ad_mul(ad_sin(x), x)))              /* 400 terms that cancel */
FN(tanh_saturated, ad_sum_all(ad_tanh(x)))                    /* derivative 1e-17 in the tails */
FN(sigmoid_tails, ad_sum_all(ad_sigmoid(x)))                  /* x = ±40 */
FN(expm1_near_0, ad_sum_all(ad_expm1(x)))                     /* x ~ 1e-15 */
FN(near_a_pole, ad_sum_all(ad_rdiv_s(1, ad_sub_s(x, 1))))     /* 1/(x-1) at 1 ± 1e-3 */
FN(logsumexp_huge, ad_logsumexp(x, AD_ALL, false))            /* logits ~ 1000 */
FN(pow_fractional, ad_sum_all(ad_pow_s(x, 2.5)))              /* x^2.5 at 1e-4 */
FN(mixed_product, ad_sum_all(ad_mul(ad_exp(ad_mul_s(x, 1e-8)), ad_mul_s(x, 1e8)))) /* scales 1e-8 and 1e8 */

/* Parameters are copied into the test's process as bytes: functions are
 * named, and found in this table there. */
static const struct {
    const char *name;
    ad_fn f;
} FNS[] = {{"exp_large", exp_large},         {"log1p_near_0", log1p_near_0},     {"xlogx_near_0", xlogx_near_0},
           {"tiny_scale", tiny_scale},       {"huge_scale", huge_scale},         {"many_terms", many_terms},
           {"tanh_saturated", tanh_saturated}, {"sigmoid_tails", sigmoid_tails}, {"expm1_near_0", expm1_near_0},
           {"near_a_pole", near_a_pole},     {"logsumexp_huge", logsumexp_huge}, {"pow_fractional", pow_fractional},
           {"mixed_product", mixed_product}};

static ad_fn fn_named(const char *name)
{
    for (size_t i = 0; i < sizeof FNS / sizeof FNS[0]; i++)
        if (strcmp(FNS[i].name, name) == 0) return FNS[i].f;
    cr_assert_fail("no function \"%s\"", name);
    return NULL;
}

typedef struct awkward {
    char name[24];
    int n;
    double x[4]; /* n <= 4: the point; n > 4: linspace(x[0], x[1], n) */
} awkward;

static ad_tensor *point(const awkward *a)
{
    double v[512];
    for (int j = 0; j < a->n && j < 512; j++)
        v[j] = a->n <= 4 ? a->x[j] : a->x[0] + (a->x[1] - a->x[0]) * j / (a->n - 1);
    return ad_from_array(ctx, AD_SHAPE(a->n), v);
}

ParameterizedTestParameters(gc_awkward, correct_functions_pass_without_kinks)
{
    static awkward params[] = {
        {"exp_large", 3, {50, 60, 70}},
        {"log1p_near_0", 3, {1e-12, -3e-9, 2e-5}},
        {"xlogx_near_0", 3, {1e-12, 1e-6, 0.3}},
        {"tiny_scale", 5, {0.1, 2}},
        {"huge_scale", 2, {1e100, -2e100}},
        {"many_terms", 400, {-20, 20}},
        {"tanh_saturated", 3, {20, -25, 0.3}},
        {"sigmoid_tails", 3, {-40, 40, 0.25}},
        {"expm1_near_0", 3, {1e-10, -1e-15, 1e-3}},
        {"near_a_pole", 3, {1.001, 0.999, 3}},
        {"logsumexp_huge", 3, {1000, 1001, 999}},
        {"pow_fractional", 2, {1e-4, 2}},
        {"mixed_product", 3, {1e-3, 2, 3e4}},
    };
    return cr_make_param_array(awkward, params, sizeof params / sizeof params[0]);
}

ParameterizedTest(awkward *a, gc_awkward, correct_functions_pass_without_kinks,
                  .description = "awkward but correct: nothing differs, no kink is invented, the identity holds")
{
    ad_tensor *in[1] = {point(a)};
    ad_problem p = {.ctx = ctx, .f = fn_named(a->name), .nin = 1, .in = in};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK, "%s: %s", a->name, ad_errmsg(ctx));
    cr_expect(r.passed, "%s: %s", a->name, r.summary);
    cr_expect_eq(r.nmismatches, 0, "%s: %s", a->name, r.summary);
    cr_expect_eq(r.nkinks, 0, "%s: no kink in a smooth function", a->name);
    cr_expect(!r.nonfinite, "%s: %s", a->name, r.nonfinite_what);
    cr_expect(r.consistency_done && r.consistency_passed, "%s: identity rel err %g", a->name, r.consistency_rel_err);
    ad_gradcheck_report_free(&r);
}

/* ---- the reference's bound against analytic derivatives ---------------------------------------- */

/* f = Σ sin(3x)·exp(x/2) + x^3/7: f' = 3cos(3x)e^{x/2} + sin(3x)e^{x/2}/2 + 3x²/7 */
static ad_tensor *bound_f(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0];
    return ad_sum_all(ad_add(ad_mul(ad_sin(ad_mul_s(x, 3)), ad_exp(ad_mul_s(x, 0.5))), ad_div_s(ad_pow_s(x, 3), 7)));
}

static int bound_grad(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    (void)u;
    double x[64], g[64];
    int n = (int)ad_numel(in[0]);
    ad_to_array(in[0], x, n);
    for (int j = 0; j < n; j++)
        g[j] = 3 * cos(3 * x[j]) * exp(x[j] / 2) + sin(3 * x[j]) * exp(x[j] / 2) / 2 + 3 * x[j] * x[j] / 7;
    grad[0] = ad_from_array(c, AD_SHAPE(n), g);
    return grad[0] ? AD_OK : ad_errno(c);
}

Test(gc_awkward, the_reference_bound_covers_its_true_error,
     .description = "atol = rtol = 0 and the analytic gradient as the user's: an entry differs exactly when "
                    "|reference - truth| exceeds the reference's own bound; none does, and the bounds are tight")
{
    double v[40];
    for (int j = 0; j < 40; j++) v[j] = j % 3 ? -6 + 0.3137 * j : 1.7e-7 * (j + 1); /* mixed scales */
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(40), v)};
    ad_problem p = {.ctx = ctx, .f = bound_f, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.atol = o.rtol = 0;
    o.user_grad = bound_grad;
    o.backends = (const char *const[]){NULL}; /* the user's analytic gradient only */
    o.max_rows = 100;
    o.no_consistency = o.no_taylor = true;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(r.nmismatches, 0, "the bound failed to cover the true error: %s", r.summary);
    /* with a zero tolerance every covered entry is inconclusive, carrying
     * its bound: it must cover the error and stay within 1e-8 relative */
    cr_expect_eq(r.ninconclusive, 40);
    for (int i = 0; i < r.ninconclusive_rows; i++) {
        const ad_gradcheck_entry *e = &r.inconclusive[i];
        cr_expect_leq(e->abs_err, e->estimate, "x[%lld]: error %g above bound %g", (long long)e->index[0], e->abs_err,
                     e->estimate);
        cr_expect_lt(e->estimate, 1e-8 * fmax(1, fabs(e->analytic)), "x[%lld]: bound %g of %g is loose",
                     (long long)e->index[0], e->estimate, e->analytic);
    }
    ad_gradcheck_report_free(&r);
}

/* ---- planted slips ----------------------------------------------------------------------------- */

#define SLIP_AT 3

typedef struct slip {
    double rel;
    bool opaque;
} slip;

static double plain_f(const double *x, int n)
{
    double s = 0;
    for (int j = 0; j < n; j++) s += sin(x[j]) * x[j] * x[j] + exp(-x[j] * x[j]);
    return s;
}

/* The same function as a tensor program and as a black box (plain C over
 * the input's data, AD sees a constant). */
static ad_tensor *slip_f(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0];
    return ad_sum_all(ad_add(ad_mul(ad_sin(x), ad_square(x)), ad_exp(ad_neg(ad_square(x)))));
}

static ad_tensor *slip_f_opaque(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)u;
    double x[16];
    int n = (int)ad_numel(in[0]);
    ad_to_array(in[0], x, n);
    return ad_scalar(c, plain_f(x, n));
}

static int slipped_grad(ad_ctx *c, ad_tensor *const *in, ad_tensor **grad, void *u)
{
    const slip *s = u;
    double x[16], g[16];
    int n = (int)ad_numel(in[0]);
    ad_to_array(in[0], x, n);
    for (int j = 0; j < n; j++)
        g[j] = cos(x[j]) * x[j] * x[j] + 2 * x[j] * sin(x[j]) - 2 * x[j] * exp(-x[j] * x[j]);
    g[SLIP_AT] *= 1 + s->rel;
    grad[0] = ad_from_array(c, AD_SHAPE(n), g);
    return grad[0] ? AD_OK : ad_errno(c);
}

ParameterizedTestParameters(gc_awkward, a_planted_slip_is_caught_and_located)
{
    static slip params[] = {{1e-2, false}, {1e-3, false}, {1e-4, false}, {1e-5, false}, {1e-6, false},
                            {1e-7, false}, {1e-2, true},  {1e-3, true},  {1e-4, true},  {1e-5, true},
                            {1e-6, true},  {1e-7, true}};
    return cr_make_param_array(slip, params, sizeof params / sizeof params[0]);
}

ParameterizedTest(slip *s, gc_awkward, a_planted_slip_is_caught_and_located,
                  .description = "one element of a hand-written gradient off by 1e-2 .. 1e-7 relative: FAILED, "
                                 "worst.backend user, the index named (tensor function and black box)")
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(7), TH_V(-1.3, -0.71, -0.2, 0.385, 0.9, 1.47, 2.2))};
    ad_problem p = {.ctx = ctx, .f = s->opaque ? slip_f_opaque : slip_f, .nin = 1, .in = in,
                    .flags = s->opaque ? AD_PROBLEM_OPAQUE : 0};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_grad = slipped_grad;
    o.user_data = s;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(!r.passed, "slip %g%s: %s", s->rel, s->opaque ? " (black box)" : "", r.summary);
    cr_assert(r.has_worst);
    cr_expect_str_eq(r.worst.backend, "user", "slip %g: %s", s->rel, r.summary);
    cr_expect_eq(r.worst.index[0], SLIP_AT, "slip %g: %s", s->rel, r.summary);
    ad_gradcheck_report_free(&r);

    /* and without the slip it passes: no false alarm from the same set-up */
    slip none = {0, s->opaque};
    o.user_data = &none;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "no slip%s: %s", s->opaque ? " (black box)" : "", r.summary);
    ad_gradcheck_report_free(&r);
}

Test(gc_awkward, a_black_box_is_not_run_through_ad,
     .description = "AD_PROBLEM_OPAQUE: AD backends are n/a (not failures); without a hand-written derivative the "
                    "identity and Taylor test are skipped with a note")
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(7), TH_V(-1.3, -0.71, -0.2, 0.385, 0.9, 1.47, 2.2))};
    ad_problem p = {.ctx = ctx, .f = slip_f_opaque, .nin = 1, .in = in, .flags = AD_PROBLEM_OPAQUE};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, NULL, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "%s", r.summary);
    for (int b = 0; b < r.nbackends; b++) {
        cr_expect(r.backends[b].not_applicable, "%s", r.backends[b].name);
        cr_expect_eq(r.backends[b].checked, 0);
    }
    cr_expect(!r.consistency_done && strstr(r.consistency_note, "skipped"), "%s", r.consistency_note);
    cr_expect(!r.taylor_done && strstr(r.taylor_note, "skipped"), "%s", r.taylor_note);
    ad_gradcheck_report_free(&r);
}

/* ---- three outcomes ---------------------------------------------------------------------------- */

static ad_tensor *cancelling(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0]; /* (1 - cos x)/x²: noise 1e-10 at x = 1e-3 */
    return ad_sum_all(ad_div(ad_rsub_s(1, ad_cos(x)), ad_square(x)));
}

Test(gc_awkward, a_reference_too_noisy_to_judge_is_inconclusive_and_strict_fails_it)
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(2), TH_V(0.9e-3, 1.1e-3))};
    ad_problem p = {.ctx = ctx, .f = cancelling, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.atol = 1e-9;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(r.passed, "inconclusive is not a failure: %s", r.summary);
    cr_expect_gt(r.ninconclusive, 0, "%s", r.summary);
    cr_expect_eq(r.nmismatches, 0);
    cr_expect(strstr(r.summary, "inconclusive"), "%s", r.summary);
    cr_assert_gt(r.ninconclusive_rows, 0);
    cr_expect(r.inconclusive[0].why && r.inconclusive[0].estimate > o.atol);
    cr_expect_gt(r.noise_max, 1e-12, "f's noise is measured, not eps·|f|: %g", r.noise_max);
    ad_gradcheck_report_free(&r);
    o.strict = true;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK);
    cr_expect(!r.passed);
    cr_expect(strstr(r.summary, "strict"), "%s", r.summary);
    ad_gradcheck_report_free(&r);
}

/* ---- progress ---------------------------------------------------------------------------------- */

Test(gc_awkward, progress_text_is_quiet_early_and_hints_fast_mode_for_large_n)
{
    char b[320];
    cr_expect(!ad_gradcheck_progress_text(b, sizeof b, "reference", 0.5, 1.9, 100000, false), "quiet before 2 s");
    cr_assert(ad_gradcheck_progress_text(b, sizeof b, "reference", 0.5, 2.5, 10, false));
    cr_expect(strstr(b, "reference 50%") && !strstr(b, "--fast"), "%s", b);
    cr_assert(ad_gradcheck_progress_text(b, sizeof b, "reference", 0.25, 14, 10000, false));
    cr_expect(strstr(b, "--fast") && strstr(b, "n = 10000"), "%s", b);
    cr_assert(ad_gradcheck_progress_text(b, sizeof b, "directions", 0.25, 14, 10000, true));
    cr_expect(!strstr(b, "--fast"), "already fast: %s", b);
    cr_expect_gt(ad_gradcheck_cost(10000, false, 0), 100 * ad_gradcheck_cost(10000, true, 4),
                 "fast is far cheaper at n = 1e4");
}

typedef struct seen {
    int calls;
    double last;
    char stages[128];
} seen;

static void record_progress(void *data, const char *stage, double fraction, double seconds)
{
    seen *s = data;
    (void)seconds;
    s->calls++;
    s->last = fraction;
    if (!strstr(s->stages, stage) && strlen(s->stages) + strlen(stage) + 2 < sizeof s->stages) {
        strcat(s->stages, stage);
        strcat(s->stages, ",");
    }
}

Test(gc_awkward, progress_is_reported_through_the_callback)
{
    ad_tensor *in[1] = {ad_from_array(ctx, AD_SHAPE(3), TH_V(0.3, -1.2, 2.5))};
    ad_problem p = {.ctx = ctx, .f = slip_f, .nin = 1, .in = in};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    seen s = {0};
    o.progress = record_progress;
    o.progress_data = &s;
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(&p, &o, &r), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_gt(s.calls, 0);
    cr_expect(strstr(s.stages, "reference") && strstr(s.stages, "identity"), "%s", s.stages);
    cr_expect_eq(s.last, 1.0);
    ad_gradcheck_report_free(&r);
}
