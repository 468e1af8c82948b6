/* tests/test_cli_blackbox.c — plain C plugins on the command line (--abi
 * c, examples/plugin_cabi.c): grad by differences, AD modes refused with
 * the reason, check of a hand-written gradient or Jacobian (right passes,
 * wrong is located), the hint for a tensor plugin that computes with plain
 * loops (examples/plugin_loops.c) and its absence for expressions, and
 * every bad combination of options exiting 2 with a message.
 *
 * The check tests need cmd_check.c to take the function's derivatives from
 * cli_fn_gradcheck_options (the line "cli_fn_gradcheck_options(fn, &o)" in
 * its run step). */
#include <stdlib.h>
#include <string.h>

#include "th_cli.h"

#define CABI ADSCOPE_BINARY_DIR "/plugin_cabi.so"
#define LOOPS ADSCOPE_BINARY_DIR "/plugin_loops.so"

TestSuite(cli_blackbox);

/* objective's gradient, by hand (examples/plugin_cabi.c) */
static void objective_grad(const double *x, int n, double *g)
{
    for (int i = 0; i < n; i++) {
        g[i] = x[i];
        if (i + 1 < n) g[i] += cos(x[i]) * x[i + 1];
        if (i > 0) g[i] += sin(x[i - 1]);
    }
}

/* The n numbers of the JSON list after key. */
static int json_list(const char *s, const char *key, double *v, int max)
{
    const char *p = strstr(s, key);
    if (!p || !(p = strchr(p, '['))) return 0;
    int n = 0;
    for (p++; n < max && *p && *p != ']'; n++) {
        char *end;
        v[n] = strtod(p, &end);
        if (end == p) return n;
        p = end + strspn(end, ", ");
    }
    return n;
}

Test(cli_blackbox, grad_by_differences_matches_the_analytic_gradient)
{
    const double x[5] = {-1, -0.5, 0, 0.5, 1};
    double want[5], got[5];
    objective_grad(x, 5, want);
    const char *modes[] = {"central", "five-point"};
    for (int k = 0; k < 2; k++) {
        result *r = run("grad", "--plugin", CABI ":objective", "--abi", "c", "--mode", modes[k], "--var",
                        "x=linspace(-1,1,5)", "--json");
        cr_assert_eq(r->status, 0, "%s", r->err);
        cr_assert_eq(json_list(r->out, "\"x\"", got, 5), 5, "%s", r->out);
        for (int i = 0; i < 5; i++) cr_expect(fabs(got[i] - want[i]) < 1e-8, "%s: [%d] %g vs %g", modes[k], i, got[i], want[i]);
    }
}

Test(cli_blackbox, grad_defaults_to_central_and_says_so)
{
    result *r = run("grad", "--plugin", CABI ":objective", "--abi", "c", "--var", "x=linspace(-1,1,5)");
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_err(r, "f is a black box, so the mode is central differences");
    expect_out(r, "x.grad");
}

Test(cli_blackbox, ad_modes_refuse_a_black_box_with_the_reason)
{
    const char *ad[] = {"reverse", "forward", "forward-vector"};
    for (int k = 0; k < 3; k++) {
        result *r = run("grad", "--plugin", CABI ":objective", "--abi", "c", "--mode", ad[k], "--var", "x=[1,2]");
        cr_expect_eq(r->status, 2, "%s: %s", ad[k], r->out);
        expect_err(r, "f is a black box (plain C over arrays, --abi c): AD backends cannot see inside it");
        cr_expect(strstr(r->out, "grad") == NULL, "no gradient printed: %s", r->out);
    }
}

Test(cli_blackbox, mode_all_shows_the_refusals_without_failing)
{
    result *r = run("grad", "--plugin", CABI ":objective", "--abi", "c", "--mode", "all", "--var", "x=[0.3, 1.2]");
    cr_expect_eq(r->status, 0, "%s\n%s", r->out, r->err);
    expect_out(r, "[reverse] failed: reverse: f is a black box");
    expect_out(r, "[central] max |grad - ref|");
}

/* ---- check (needs cmd_check.c to call cli_fn_gradcheck_options) ---------------------------- */

Test(cli_blackbox, check_passes_a_right_plain_c_gradient)
{
    result *r = run("check", "--plugin", CABI ":objective", "--abi", "c", "--grad-symbol", "objective_grad", "--var",
                    "x=linspace(-1,1,5)");
    cr_expect_eq(r->status, 0, "%s\n%s", r->out, r->err);
    expect_out(r, "passed");
}

Test(cli_blackbox, check_locates_a_wrong_plain_c_gradient)
{
    result *r = run("check", "--plugin", CABI ":objective", "--abi", "c", "--grad-symbol", "objective_grad_wrong",
                    "--var", "x=linspace(-1,1,5)", "--json");
    cr_expect_eq(r->status, 1, "%s\n%s", r->out, r->err);
    expect_out(r, "\"worst\": {\"backend\": \"user\", \"variable\": \"x\", \"index\": [4]");
}

Test(cli_blackbox, check_locates_a_1e_7_slip_at_tight_tolerances)
{
    result *r = run("check", "--plugin", CABI ":objective", "--abi", "c", "--grad-symbol", "objective_grad_slip",
                    "--var", "x=linspace(-1,1,5)", "--atol", "0", "--rtol", "1e-9", "--json");
    cr_expect_eq(r->status, 1, "%s\n%s", r->out, r->err);
    expect_out(r, "\"worst\": {\"backend\": \"user\", \"variable\": \"x\", \"index\": [2]");
    r = run("check", "--plugin", CABI ":objective", "--abi", "c", "--grad-symbol", "objective_grad", "--var",
            "x=linspace(-1,1,5)", "--atol", "0", "--rtol", "1e-9");
    cr_expect_eq(r->status, 0, "the right gradient at the same tolerances: %s", r->out);
}

Test(cli_blackbox, check_a_jacobian_of_residuals)
{
    result *r = run("check", "--plugin", CABI ":expfit", "--abi", "c", "--jacobian-symbol", "expfit_jacobian",
                    "--var", "x=[2.5, 0.7, 0.3]");
    cr_expect_eq(r->status, 0, "%s\n%s", r->out, r->err);
    r = run("check", "--plugin", CABI ":expfit", "--abi", "c", "--jacobian-symbol", "expfit_jacobian_wrong", "--var",
            "x=[2.5, 0.7, 0.3]", "--json");
    cr_expect_eq(r->status, 1, "%s\n%s", r->out, r->err);
    expect_out(r, "\"worst\": {\"backend\": \"user\", \"variable\": \"x\", \"index\": [5, 1]");
    /* --outputs M instead of the plugin's expfit_outputs */
    r = run("jacobian", "--plugin", CABI ":expfit", "--abi", "c", "--outputs", "8", "--mode", "central", "--var",
            "x=[2.5, 0.7, 0.3]");
    cr_expect_eq(r->status, 0, "%s", r->err);
}

/* ---- the hint for tensor plugins that AD cannot see into ------------------------------------ */

Test(cli_blackbox, plain_loops_in_a_tensor_plugin_get_the_hint)
{
    result *r = run("grad", "--plugin", LOOPS ":sumsq", "--var", "x=[1, 2, 3]");
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_err(r, "note: f depends on x but not through adscope ops: a black-box function? use --abi c");
    r = run("check", "--plugin", LOOPS ":sumsq", "--var", "x=[1, 2, 3]");
    cr_expect_eq(r->status, 1, "%s", r->out);
    expect_err(r, "f depends on x but not through adscope ops");
}

Test(cli_blackbox, no_hint_for_expressions)
{
    /* zero gradients that are true zeros, and ordinary ones */
    const char *cases[][2] = {{"sum(x^2)", "x=[0, 0]"}, {"sum(0*x) + 3", "x=[1, 2]"}, {"sum(cos(x))", "x=[0]"},
                              {"sum(sin(x))", "x=linspace(-1,1,7)"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        result *r = run("grad", cases[k][0], "--var", cases[k][1]);
        cr_expect_eq(r->status, 0, "%s: %s", cases[k][0], r->err);
        cr_expect(strstr(r->err, "note:") == NULL, "%s: %s", cases[k][0], r->err);
    }
}

/* ---- bad combinations exit 2 with a message ------------------------------------------------- */

typedef struct bad_case {
    const char *args[13];
    const char *msg;
} bad_case;

static const bad_case BAD[] = {
    {{"grad", "--plugin", CABI ":objective", "--abi", "fortran", "--var", "x=1"}, "--abi expects 'tensor'"},
    {{"grad", "sum(x)", "--abi", "c", "--var", "x=1"}, "--abi needs --plugin"},
    {{"check", "--plugin", CABI ":objective", "--jacobian-symbol", "expfit_jacobian", "--var", "x=1"}, "add --abi c"},
    {{"check", "--plugin", CABI ":expfit", "--abi", "c", "--grad-symbol", "objective_grad", "--var", "x=[1,2,3]"},
     "--grad-symbol is for a scalar function"},
    {{"check", "--plugin", CABI ":objective", "--abi", "c", "--jacobian-symbol", "expfit_jacobian", "--var", "x=1"},
     "--jacobian-symbol needs a vector function"},
    {{"grad", "--plugin", CABI ":objective", "--abi", "c", "--var", "x=1", "--var", "y=2"}, "has no variable y"},
    {{"jacobian", "--plugin", CABI ":expfit", "--abi", "c", "--var", "a=1", "--var", "b=2"}, "takes one array x"},
    {{"check", "--plugin", CABI ":objective", "--abi", "c", "--grad-symbol", "nosuch", "--var", "x=1"},
     "has no symbol 'nosuch'"},
    {{"jacobian", "--plugin", CABI ":expfit", "--abi", "c", "--outputs", "0", "--var", "x=[1,2,3]"}, "--outputs"},
    {{"jacobian", "--plugin", CABI ":expfit", "--abi", "c", "--mode", "central", "--var", "x=[1,2]"},
     "says the function has no outputs"},
    {{"check", "--plugin", CABI ":objective", "--abi", "c", "--grad-symbol", "objective_grad", "--jacobian-symbol",
      "expfit_jacobian", "--var", "x=1"},
     "not both"},
};

Test(cli_blackbox, bad_combinations_exit_2)
{
    for (size_t k = 0; k < sizeof BAD / sizeof BAD[0]; k++) {
        result *r = run_argv(BAD[k].args);
        cr_expect_eq(r->status, 2, "case %zu: status %d\n%s", k, r->status, r->err);
        cr_expect(strstr(r->err, BAD[k].msg), "case %zu: stderr lacks '%s':\n%s", k, BAD[k].msg, r->err);
    }
}
