/* tests/test_cli_check.c — adscope check as a user runs it on the cases of
 * issue 9: smooth functions that used to raise false alarms (invented
 * kinks, steps across a domain edge or over many periods, a fixed identity
 * limit) pass with no kinks; real kinks are still reported; the verdict
 * flags (--strict, --no-consistency, --no-taylor, --h) and their exit
 * codes; inconclusive entries in the JSON. */
#include <string.h>

#include "helpers.h"

#include <criterion/parameterized.h>

#include "th_cli.h"

typedef struct smooth_case {
    char expr[40];
    char var[48];
} smooth_case;

ParameterizedTestParameters(cli_check, smooth_functions_pass_without_kinks)
{
    static smooth_case params[] = {
        {"sum(sin(x))", "x=linspace(-1,1,7)"},
        {"sum(x^3)", "x=linspace(-1,1,7)"},
        {"sum(tanh(x))", "x=linspace(-1,1,7)"},
        {"sum(1e8*sin(x))", "x=linspace(-1,1,7)"},
        {"sum(sqrt(x))", "x=[1e-10, 1e-5, 1]"},
        {"sum(log(x))", "x=[1e-6, 0.5, 2]"},
        {"sum(x^(1/3))", "x=[1e-3, 0.5]"},
        {"norm(x)", "x=[3e-9, -4e-9]"},
        {"sum(sin(1e8*x))", "x=[1e-8, 1.3e-8]"},
        {"sum(sin(x))", "x=[1e8, 1.3e8]"},
        {"sum((1-cos(x))/x^2)", "x=[1e-3]"},
        {"sum((1-cos(x))/x^2)", "x=linspace(0.9e-3,1.1e-3,5)"},
    };
    return cr_make_param_array(smooth_case, params, sizeof params / sizeof params[0]);
}

ParameterizedTest(smooth_case *c, cli_check, smooth_functions_pass_without_kinks,
                  .description = "issue 9's false alarms: exit 0, no kinks, nothing differs")
{
    result *r = run("check", c->expr, "--var", c->var, "--json");
    cr_expect_eq(r->status, 0, "%s at %s: %s\n%s", c->expr, c->var, r->out, r->err);
    expect_out(r, "\"kinks\": []");
    expect_out(r, "\"mismatch_count\": 0");
    expect_out(r, "\"inconclusive_count\": ");
}

typedef struct kink_case {
    char expr[24];
    char var[24];
    char at[24];
} kink_case;

ParameterizedTestParameters(cli_check, real_kinks_are_still_reported)
{
    static kink_case params[] = {
        {"sum(abs(x))", "x=[-1, 0, 1]", "\"index\": [1]"},
        {"sum(relu(x))", "x=[-1, 0, 1]", "\"index\": [1]"},
        {"max(x)", "x=[1, 2, 2]", "\"index\": [2]"},
    };
    return cr_make_param_array(kink_case, params, sizeof params / sizeof params[0]);
}

ParameterizedTest(kink_case *c, cli_check, real_kinks_are_still_reported)
{
    result *r = run("check", c->expr, "--var", c->var, "--json");
    cr_expect_eq(r->status, 0, "%s: a subgradient is accepted\n%s", c->expr, r->out);
    cr_expect(!strstr(r->out, "\"kinks\": []"), "%s: the kink is gone\n%s", c->expr, r->out);
    expect_out(r, c->at);
    expect_out(r, "\"accepted\": true");
}

Test(cli_check, strict_fails_inconclusive_entries)
{
    result *r = run("check", "sum((1-cos(x))/x^2)", "--var", "x=[1e-3]");
    cr_expect_eq(r->status, 0, "%s", r->out);
    expect_out(r, "inconclusive");
    r = run("check", "sum((1-cos(x))/x^2)", "--var", "x=[1e-3]", "--strict");
    cr_expect_eq(r->status, 1, "%s", r->out);
    expect_out(r, "FAILED (strict)");
}

Test(cli_check, no_consistency_and_no_taylor_skip_their_checks)
{
    result *r = run("check", "sum(sin(x)*x)", "--var", "x=[0.3, 1.7]", "--json");
    cr_expect_eq(r->status, 0);
    expect_out(r, "\"consistency\": {");
    expect_out(r, "\"taylor\": {");
    r = run("check", "sum(sin(x)*x)", "--var", "x=[0.3, 1.7]", "--json", "--no-consistency", "--no-taylor");
    cr_expect_eq(r->status, 0, "%s", r->err);
    cr_expect(!strstr(r->out, "\"consistency\": {") && !strstr(r->out, "\"taylor\": {"), "%s", r->out);
}

Test(cli_check, the_step_can_be_set_and_a_bad_one_is_refused)
{
    result *r = run("check", "sum(sin(x)*x)", "--var", "x=[0.3, 1.7]", "--h", "1e-3");
    cr_expect_eq(r->status, 0, "%s%s", r->out, r->err);
    r = run("check", "sum(sin(x)*x)", "--var", "x=[0.3, 1.7]", "--h", "-1");
    cr_expect_eq(r->status, 2);
    expect_err(r, "--h");
    r = run("check", "sum(sin(x)*x)", "--var", "x=[0.3, 1.7]", "--h", "abc");
    cr_expect_eq(r->status, 2);
}

Test(cli_check, a_wrong_plugin_gradient_still_fails_and_is_located)
{
    result *r = run("check", "--plugin", PLUGIN ":rosenbrock", "--grad-symbol", "rosenbrock_grad_wrong", "--var",
                    "x=linspace(0,1,6)", "--json");
    cr_expect_eq(r->status, 1, "%s", r->out);
    expect_out(r, "\"worst\": {\"backend\": \"user\"");
}
