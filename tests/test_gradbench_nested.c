/* tests/test_gradbench_nested.c — GradBench's nested evals (particle,
 * saddle; bench/gradbench/) and the gradient descent they share
 * (descent.c): the descent against closed-form minima for every exact
 * backend, saddle's four functions against its exact saddle point and
 * GradBench's golden value, particle's against GradBench's golden value. */
#include "gradbench/gb_impl.h"
#include <string.h>

#include "helpers.h"

TestSuite(gbnested, .init = th_setup, .fini = th_teardown);

#define FOR_EXACT_BACKENDS(b)                                  \
    for (int bi_ = 0; bi_ < ad_backend_count(); bi_++)         \
        for (const ad_backend *b = ad_backend_at(bi_); b && (b->caps & AD_CAP_EXACT); b = NULL)

/* (x0 - 1.7)² + 3 (x1 + 0.4)² + c, c = in[1][0]: minimum at (1.7, -0.4). */
static ad_tensor *bowl(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)user;
    static const double centre[2] = {1.7, -0.4}, weight[2] = {1.0, 3.0};
    ad_tensor *d = ad_sub(in[0], ad_from_array(c, AD_SHAPE(2), centre));
    return ad_add(ad_sum(ad_mul(ad_square(d), ad_from_array(c, AD_SHAPE(2), weight)), AD_ALL, false),
                  ad_sum(in[1], AD_ALL, false));
}

static ad_tensor *neg_bowl(ad_ctx *c, ad_tensor *const *in, void *user) { return ad_neg(bowl(c, in, user)); }

Test(gbnested, descent_finds_closed_form_extrema, .description = "argmin of a bowl and argmax of its negative")
{
    static const double x0[2] = {-0.35, 0.9};
    FOR_EXACT_BACKENDS(b)
    {
        for (int k = 0; k < 2; k++) {
            ad_tensor *extra[1] = {ad_full(ctx, AD_SHAPE(1), 2.385)};
            gb_objective o = {.f = k ? neg_bowl : bowl, .nextra = 1, .extra = extra, .b = b, .sign = k ? -1.0 : 1.0};
            ad_tensor *x = gb_descend(ctx, &o, ad_from_array(ctx, AD_SHAPE(2), x0));
            cr_assert(x, "%s: %s", b->name, ad_errmsg(ctx));
            double v[2];
            cr_assert_eq(ad_to_array(x, v, 2), AD_OK);
            cr_expect(fabs(v[0] - 1.7) < 1e-4 && fabs(v[1] + 0.4) < 1e-4, "%s %s: (%g, %g), not (1.7, -0.4)", b->name,
                      k ? "argmax" : "argmin", v[0], v[1]);
        }
    }
}

static ad_tensor *log_of_first(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_sum(ad_log(ad_idx(in[0], AD_S(0, 1))), AD_ALL, false);
}

Test(gbnested, descent_refuses_a_nonfinite_objective, .description = "log at a negative point: an error, no answer")
{
    gb_objective o = {.f = log_of_first, .b = ad_backend_find("reverse"), .sign = 1.0};
    ad_tensor *x = gb_descend(ctx, &o, ad_full(ctx, AD_SHAPE(2), -0.5));
    cr_expect_null(x);
    cr_expect(strstr(ad_errmsg(ctx), "descent: the "), "named: %s", ad_errmsg(ctx));
}

/* prepare, run once, output; NULL (the state freed) when prepare refuses. */
static json_t *run_fn(const gb_eval *e, const char *fname, json_t *input)
{
    const gb_function *fn = gb_function_find(e, fname);
    cr_assert(fn, "%s has %s", e->name, fname);
    void *state = NULL;
    if (fn->prepare(ctx, input, &state) != AD_OK) return NULL;
    ad_options o = {0};
    int rc = fn->run(ctx, ad_backend_find("reverse"), &o, state);
    json_t *out = rc == AD_OK ? fn->output(ctx, state) : NULL;
    fn->free_state(state);
    cr_assert(out, "%s.%s: %s", e->name, fname, ad_errmsg(ctx));
    return out;
}

static const char *const LETTERS[4] = {"ff", "fr", "rf", "rr"};

/* The argmax over p2 does not depend on p1, so the answer is exact whether
 * or not the outer derivative sees through the inner one. */
Test(gbnested, saddle_four_functions_at_the_saddle_point, .description = "GradBench's golden 8.246e-6 each, the origin")
{
    json_t *in = json_pack("{s:[f,f]}", "start", 1.0, 1.0);
    for (int f = 0; f < 4; f++) {
        json_t *out = run_fn(&gb_eval_saddle, LETTERS[f], in);
        cr_assert(out, "saddle.%s: %s", LETTERS[f], ad_errmsg(ctx));
        cr_assert(json_is_array(out) && json_array_size(out) == 4, "saddle.%s: four numbers", LETTERS[f]);
        for (size_t i = 0; i < 4; i++) {
            double v = json_number_value(json_array_get(out, i));
            cr_expect(fabs(v) < 1e-4, "saddle.%s[%zu] = %g: not at the saddle point 0", LETTERS[f], i, v);
            cr_expect(fabs(v - 8.246324826140356e-06) <= 1e-9 * 8.246324826140356e-06,
                      "saddle.%s[%zu] = %.17g, GradBench's golden 8.246324826140356e-06", LETTERS[f], i, v);
        }
        json_decref(out);
    }
    json_decref(in);
}

Test(gbnested, saddle_rejects_a_bad_start, .description = "start must hold two numbers")
{
    json_t *in = json_pack("{s:[f,f,f]}", "start", 1.0, 1.0, 2.0);
    void *state = NULL;
    cr_expect_neq(gb_eval_saddle.functions[0].prepare(ctx, in, &state), AD_OK);
    cr_expect(strstr(ad_errmsg(ctx), "\"start\" has 3 numbers, not 2"), "named: %s", ad_errmsg(ctx));
    json_decref(in);
}

/* Needs nested differentiation: w's derivative flows through every Euler
 * step's inner gradient (with the inner result detached it is 0 and the
 * descent stops at the start, w = 0).  The tolerance is GradBench's
 * validator's: the descent stops on steps of 1e-5, so the four functions'
 * answers differ from one another in the sixth digit. */
Test(gbnested, particle_four_functions_golden, .description = "w* = 0.2071918746486116 (GradBench's golden) from w = 0")
{
    json_t *in = json_pack("{s:f}", "w", 0.0);
    for (int f = 0; f < 4; f++) {
        json_t *out = run_fn(&gb_eval_particle, LETTERS[f], in);
        cr_assert(out, "particle.%s refused: %s", LETTERS[f], ad_errmsg(ctx));
        double w = json_number_value(out);
        cr_expect(fabs(w - 0.2071918746486116) <= 1e-4, "particle.%s: w = %.17g, GradBench's golden 0.2071918746486116",
                  LETTERS[f], w);
        json_decref(out);
    }
    json_decref(in);
}

