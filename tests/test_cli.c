/* tests/test_cli.c — the adscope program as users run it: the autograd
 * introduction's examples as one-liners, JSON schemas, every backend's
 * gradient against the analytic one, the check of a wrong plugin gradient,
 * what the command skeleton does for every command (unknown option, --help,
 * missing input), exit codes, and a table of malformed input that must each
 * exit 2 with a caret message. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#include <criterion/parameterized.h>

#include "th_cli.h"

/* ---- the autograd introduction's examples, as one-liners ------------------------------------ */

Test(cli, intro_2_dot_x_x, .description = "adscope grad '2*dot(x,x)' --var x='arange(4)' prints [0, 4, 8, 12]")
{
    result *r = run("grad", "2*dot(x,x)", "--var", "x=arange(4)");
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_out(r, "value  = tensor(28.)");
    expect_out(r, "x.grad = tensor([ 0.,  4.,  8., 12.])");
}

Test(cli, intro_examples_as_one_liners)
{
    result *r = run("grad", "sum(x)", "--var", "x=arange(4)");
    expect_out(r, "x.grad = tensor([1., 1., 1., 1.])");
    r = run("grad", "sum(x*x)", "--var", "x=arange(4)");
    expect_out(r, "x.grad = tensor([0., 2., 4., 6.])");
    r = run("grad", "sum(detach(x*x)*x)", "--var", "x=arange(4)");
    expect_out(r, "x.grad = tensor([0., 1., 4., 9.])");
    r = run("grad", "mean(2*x)", "--var", "x=arange(8)");
    expect_out(r, "x.grad = tensor([0.2500, 0.2500, 0.2500, 0.2500, 0.2500, 0.2500, 0.2500, 0.2500])");
    r = run("grad", "x1 + 2*x2", "--var", "x1=1", "--var", "x2=2");
    expect_out(r, "x1.grad = tensor(1.)");
    expect_out(r, "x2.grad = tensor(2.)");
    cr_expect_eq(r->status, 0);
}

Test(cli, grad_json_schema)
{
    result *r = run("grad", "2*dot(x,x)", "--var", "x=arange(4)", "--json");
    cr_expect_eq(r->status, 0);
    cr_expect_str_eq(r->out, "{\"expr\": \"2*dot(x,x)\", \"mode\": \"reverse\", \"value\": 28, \"gradients\": "
                             "{\"x\": [0, 4, 8, 12]}}\n");
    r = run("grad", "sum(A)", "--var", "A=[[1,2],[3,4]]", "--json", "--mode", "forward");
    cr_expect_str_eq(r->out, "{\"expr\": \"sum(A)\", \"mode\": \"forward\", \"value\": 10, \"gradients\": "
                             "{\"A\": [[1, 1], [1, 1]]}}\n");
}

/* ---- every backend's gradient, as printed, against the analytic one ------------------ */

/* f = sum(sin(x)*x^2) at high-entropy points; f' = cos(x) x^2 + 2 x sin(x). */
#define GRAD_EXPR "sum(sin(x)*x^2)"
#define GRAD_X "x=[0.5, -1.25, 2.385]"
static const double GRAD_AT[] = {0.5, -1.25, 2.385};
#define GRAD_N 3

static double analytic(double x)
{
    return cos(x) * x * x + 2 * x * sin(x);
}

/* How close a backend must come: exact backends to rounding, difference
 * rules to their truncation and round-off (the one-sided rule is the
 * coarsest: ~sqrt(eps) relative). */
static double tolerance(const ad_backend *b)
{
    return (b->caps & AD_CAP_EXACT) ? 1e-12 : 1e-6;
}

/* The numbers of the JSON list that follows key in s (n of them), or false. */
static bool json_list_after(const char *s, const char *key, double *v, int n)
{
    const char *p = s ? strstr(s, key) : NULL;
    if (!p) return false;
    p += strlen(key);
    for (int i = 0; i < n; i++) {
        char *end;
        v[i] = strtod(p, &end);
        if (end == p) return false;
        p = end;
        while (*p == ',' || *p == ' ') p++;
    }
    return *p == ']';
}

static void expect_gradient(const ad_backend *b, const char *out, const char *key)
{
    double g[GRAD_N];
    cr_assert(json_list_after(out, key, g, GRAD_N), "[%s] no gradient after '%s' in:\n%s", b->name, key, out);
    for (int i = 0; i < GRAD_N; i++) {
        double want = analytic(GRAD_AT[i]);
        cr_expect(fabs(g[i] - want) <= tolerance(b) * fmax(1, fabs(want)), "[%s] x[%d]: %.17g, analytic %.17g",
                  b->name, i, g[i], want);
    }
}

ParameterizedTestParameters(cli, grad_of_every_backend)
{
    int n = ad_backend_count();
    int *idx = cr_malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) idx[i] = i;
    return cr_make_param_array(int, idx, (size_t)n, NULL);
}

ParameterizedTest(int *bi, cli, grad_of_every_backend,
                  .description = "--mode NAME: the printed gradient is the analytic one within the backend's accuracy")
{
    const ad_backend *b = ad_backend_at(*bi);
    result *r = run("grad", GRAD_EXPR, "--var", GRAD_X, "--mode", b->name, "--json");
    cr_assert_eq(r->status, 0, "[%s] %s", b->name, r->err);
    expect_gradient(b, r->out, "\"gradients\": {\"x\": [");
}

ParameterizedTestParameters(cli, grad_mode_all_agrees)
{
    int n = ad_backend_count();
    int *idx = cr_malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) idx[i] = i;
    return cr_make_param_array(int, idx, (size_t)n, NULL);
}

ParameterizedTest(int *bi, cli, grad_mode_all_agrees,
                  .description = "--mode all: each backend's row holds the analytic gradient, and its printed "
                                 "difference from the reference is that small")
{
    const ad_backend *b = ad_backend_at(*bi);
    result *r = run("grad", GRAD_EXPR, "--var", GRAD_X, "--mode", "all", "--json");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "\"reference\": \"five-point\"");
    char key[128];
    snprintf(key, sizeof key, "\"%s\": {\"gradients\": {\"x\": [", b->name);
    expect_gradient(b, r->out, key);
    r = run("grad", GRAD_EXPR, "--var", GRAD_X, "--mode", "all");
    cr_assert_eq(r->status, 0, "%s", r->err);
    snprintf(key, sizeof key, "[%s] max |grad - ref| = ", b->name);
    const char *p = strstr(r->out, key);
    cr_assert(p, "no row for %s:\n%s", b->name, r->out);
    double d = strtod(p + strlen(key), NULL);
    cr_expect(d < 1e-6, "[%s] max |grad - ref| = %g", b->name, d);
}

Test(cli, wrt_holds_other_variables_constant)
{
    result *r = run("grad", "sum(tanh(A @ x))", "--var", "A=[[1,2],[3,4]]", "--var", "x=[0.1, -0.2]", "--wrt", "x",
                    "--json");
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_out(r, "\"gradients\": {\"x\": [");
    cr_expect_null(strstr(r->out, "\"A\":"), "%s", r->out);
}

/* ---- check ----------------------------------------------------------------------------- */

Test(cli, check_passes_on_a_smooth_function)
{
    result *r = run("check", "sum(sin(x)*x^2 + exp(-x^2))", "--var", "x=linspace(-1,1,5)");
    cr_expect_eq(r->status, 0, "%s%s", r->out, r->err);
    expect_out(r, "gradcheck: passed");
    expect_out(r, "Taylor");
    r = run("check", "sum(relu(x))", "--var", "x=[-1, 0, 1]");
    cr_expect_eq(r->status, 0, "%s", r->out);
    expect_out(r, "accepted");
}

Test(cli, check_catches_the_wrong_plugin_gradient_and_names_the_worst_element)
{
    result *r = run("check", "--plugin", PLUGIN ":rosenbrock", "--grad-symbol", "rosenbrock_grad_wrong", "--var",
                    "x=linspace(0,1,6)");
    cr_expect_eq(r->status, 1, "a failed check exits 1: %s %s", r->out, r->err);
    expect_out(r, "FAILED: user gradient differs at x[2] (analytic 1, numeric 0.4");
    expect_out(r, "mismatching entries, worst first");
    r = run("check", "--plugin", PLUGIN ":rosenbrock", "--grad-symbol", "rosenbrock_grad_wrong", "--var",
            "x=linspace(0,1,6)", "--json");
    cr_expect_eq(r->status, 1);
    expect_out(r, "\"passed\": false");
    expect_out(r, "\"worst\": {\"backend\": \"user\", \"variable\": \"x\", \"index\": [2], \"analytic\": 1.0000000000000");
    expect_out(r, "\"numeric\": 0.40000000000");
    expect_out(r, "\"backends\": {\"forward\": {\"passed\": true, \"max_abs_err\": ");
    r = run("check", "--plugin", PLUGIN ":rosenbrock", "--grad-symbol", "rosenbrock_grad", "--var",
            "x=linspace(0,1,6)");
    cr_expect_eq(r->status, 0, "the right gradient passes: %s", r->out);
}

Test(cli, plugin_functions_differentiate_like_expressions)
{
    result *a = run("grad", "--plugin", PLUGIN ":rosenbrock", "--var", "x=linspace(0,1,6)", "--json");
    static char plugin_out[sizeof ((th_result *)0)->out];
    memcpy(plugin_out, a->out, sizeof plugin_out);
    result *b = run("grad", "sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)", "--var", "x=linspace(0,1,6)", "--json");
    const char *ga = strstr(plugin_out, "\"gradients\""), *gb = strstr(b->out, "\"gradients\"");
    cr_assert(ga && gb, "%s | %s", plugin_out, b->out);
    cr_expect_str_eq(ga, gb, "same gradient from the plugin and the expression");
}

/* ---- jacobian and compare ------------------------------------------------------------------ */

Test(cli, jacobian_auto_picks_by_shape)
{
    result *r = run("jacobian", "sin(s * linspace(1, 2, 5))", "--var", "s=0.3");
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_out(r, "mode: forward, n = 1 input <= m = 5 outputs");
    r = run("jacobian", "x * x[0]", "--var", "x=arange(3)", "--json", "--mode", "reverse");
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_out(r, "\"value\": [0, 0, 0]");
    expect_out(r, "\"jacobians\": {\"x\": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]}");
    r = run("jacobian", "sum(x*x)", "--var", "x=arange(40)");
    expect_out(r, "mode: reverse, m = 1 output < n = 40 inputs");
}

Test(cli, compare_has_a_row_per_backend)
{
    result *r = run("compare", "sum(sin(x)*x^2)", "--var", "x=linspace(0,1,50)", "--reps", "2", "--min-time", "0");
    cr_expect_eq(r->status, 0, "%s", r->err);
    for (int i = 0; i < ad_backend_count(); i++) {
        char row[64];
        snprintf(row, sizeof row, "\n%-15s ", ad_backend_at(i)->name);
        expect_out(r, row);
    }
    expect_out(r, "time/call");
    r = run("compare", "sum(sin(x)*x^2)", "--var", "x=linspace(0,1,50)", "--reps", "2", "--min-time", "0", "--json");
    expect_out(r, "\"reverse\": {\"reps\": ");
    expect_out(r, "\"peak_bytes\": {\"values\": ");
    expect_out(r, "\"ops_recorded\": ");
}

/* ---- help and exit codes ---------------------------------------------------------------------- */

Test(cli, help_texts)
{
    const char *cmds[] = {"grad", "check", "jacobian", "compare"};
    for (int i = 0; i < 4; i++) {
        result *r = run(cmds[i], "--help");
        cr_expect_eq(r->status, 0);
        expect_out(r, "SYNOPSIS");
        expect_out(r, "EXIT STATUS");
        r = run("help", cmds[i]);
        expect_out(r, "DESCRIPTION");
    }
    result *r = run("help", "expr");
    expect_out(r, "logsumexp(");
    r = run("help", "backends");
    expect_out(r, "five-point");
    r = run("help");
    cr_expect_eq(r->status, 0);
    expect_out(r, "commands:");
    r = run("help", "nope");
    cr_expect_eq(r->status, 2);
    r = run("--version");
    expect_out(r, "adscope 0.");
}

/* ---- what the command skeleton does for every command -------------------------------- */

/* Criterion hands parameters to the test in another process: the strings
 * live in the struct, not behind pointers. */
typedef struct {
    char name[16];
    char missing[32]; /* the message without any input; "" for bench, which then runs the suite */
} command_case;

/* Every command of 'adscope help' (cli_every_command_is_listed keeps it so). */
static const command_case COMMANDS[] = {
    {"grad", "missing EXPR"},      {"check", "missing EXPR"},    {"jacobian", "missing EXPR"},
    {"compare", "missing EXPR"},   {"bench", ""},              {"merge", "no files to merge"},
    {"plot", "missing RESULTS.csv"}, {"fd-error", "missing EXPR"}, {"tangent", "missing EXPR"},
    {"graph", "missing EXPR"},     {"ops", ""},
    {"hessian", "missing EXPR"},   {"hvp", "missing EXPR"},      {"data", "missing FILE.csv"},
    {"dice", ""},                  {"gradbench", ""},            {"checkpoint", ""},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

Test(cli, every_command_is_listed, .description = "the test table holds exactly the commands 'adscope help' lists")
{
    result *r = run("help");
    cr_assert_eq(r->status, 0);
    const char *p = strstr(r->out, "commands:\n");
    cr_assert(p, "%s", r->out);
    size_t listed = 0;
    for (p = strchr(p, '\n') + 1; strncmp(p, "  ", 2) == 0; p = strchr(p, '\n') + 1) {
        char name[32];
        cr_assert_eq(sscanf(p, "%31s", name), 1);
        bool known = false;
        for (size_t i = 0; i < NCOMMANDS; i++) known = known || strcmp(COMMANDS[i].name, name) == 0;
        cr_expect(known, "'adscope help' lists '%s', which the test table lacks", name);
        listed++;
    }
    cr_expect_eq(listed, NCOMMANDS, "'adscope help' lists %zu commands, the table %zu", listed, NCOMMANDS);
}

ParameterizedTestParameters(cli, skeleton)
{
    return cr_make_param_array(command_case, (command_case *)COMMANDS, NCOMMANDS);
}

ParameterizedTest(command_case *c, cli, skeleton,
                  .description = "every command: an unknown option exits 2 naming it, --help exits 0 with the man "
                                 "page, no input exits 2 saying what is missing")
{
    result *r = run(c->name, "--frobnicate");
    cr_expect_eq(r->status, 2, "%s --frobnicate: exit %d", c->name, r->status);
    cr_expect(strstr(r->err, "unknown option '--frobnicate'"), "%s: %s", c->name, r->err);
    cr_expect_eq(r->out[0], '\0', "%s: errors go to stderr: %s", c->name, r->out);
    r = run(c->name, "--help");
    cr_expect_eq(r->status, 0, "%s --help: exit %d", c->name, r->status);
    char title[64];
    snprintf(title, sizeof title, "NAME\n    adscope %s - ", c->name);
    cr_expect(strncmp(r->out, title, strlen(title)) == 0, "%s --help:\n%s", c->name, r->out);
    expect_out(r, "EXIT STATUS");
    if (!*c->missing) return;
    r = run(c->name);
    cr_expect_eq(r->status, 2, "%s without input: exit %d", c->name, r->status);
    cr_expect(strstr(r->err, c->missing), "%s: stderr lacks '%s':\n%s", c->name, c->missing, r->err);
}

/* ---- tangent binds its x axis by name ------------------------------------------------------- */

Test(cli, tangent_binds_the_free_variable,
     .description = "the one variable no --var gives becomes x, bound exactly to --at; the output is unchanged")
{
    result *r = run("tangent", "sin(a*t)", "--var", "a=2", "--at", "pi/4", "--range", "0:pi");
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_expect_str_eq(r->out, "f(t) = sin(a*t)\n"
                             "at t = 0.785398163397448: f = 1, f' = 1.22464679914735e-16 (reverse mode)\n"
                             "tangent: y = 1.22465e-16 t + 1\n"
                             "slope     = 1.22464679914735e-16\n"
                             "intercept = 1\n");
    r = run("tangent", "x^3", "--at", "0.1");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "at x = 0.1: f = 0.001, f' = 0.03 (reverse mode)\n");
    r = run("tangent", "a*x", "--var", "x=1", "--var", "a=2", "--at", "1");
    cr_expect_eq(r->status, 2, "every variable given: %s", r->out);
    expect_err(r, "has no variable left for the x axis");
    r = run("tangent", "a*x + y", "--var", "a=2", "--at", "1");
    cr_expect_eq(r->status, 2);
    expect_err(r, "is a function of x, y");
}

/* Every line: arguments, then a piece of the message that must appear. */
typedef struct {
    const char *args[10];
    const char *message;
    bool caret;
} bad_input;

static const bad_input BAD[] = {
    {{"grad", "x +", "--var", "x=1"}, "", true},
    {{"grad", "(x", "--var", "x=1"}, "never closed", true},
    {{"grad", "x)", "--var", "x=1"}, "')'", true},
    {{"grad", "2 3"}, "", true},
    {{"grad", "x +* y", "--var", "x=1", "--var", "y=2"}, "unexpected '*'", true},
    {{"grad", "sum(x,)", "--var", "x=arange(3)"}, "", true},
    {{"grad", "x[", "--var", "x=arange(3)"}, "never closed", true},
    {{"grad", "x[1:2:3:4]", "--var", "x=arange(3)"}, "", true},
    {{"grad", "sine(x)", "--var", "x=1"}, "did you mean 'sin'", true},
    {{"grad", "", "--var", "x=1"}, "", false},
    {{"grad", "@x", "--var", "x=1"}, "", true},
    {{"grad", "sum(x[::0])", "--var", "x=arange(3)"}, "step", true},
    {{"grad", "x + y", "--var", "x=ones(2,3)", "--var", "y=ones(4)"}, "shapes [2,3] and [4] cannot broadcast", true},
    {{"grad", "sum(reshape(x, 5))", "--var", "x=arange(6)"}, "invalid for a tensor of 6 elements", true},
    {{"grad", "x + y", "--var", "x=1"}, "uses y, which no --var gives", false},
    {{"grad", "x", "--var", "x=1", "--var", "z=2"}, "no variable z", false},
    {{"grad", "x", "--var", "x=ones(3"}, "never closed", true},
    {{"grad", "x", "--var", "x=ones(1e6,1e6)"}, "more than the limit", true},
    {{"grad", "x", "--var", "x=[[1,2],[3]]"}, "", true},
    {{"grad", "x", "--var", "1x=2"}, "NAME an identifier", false},
    {{"grad", "x", "--var", "x=1", "--mode", "bogus"}, "unknown mode 'bogus'", false},
    {{"grad", "x", "--var", "x=1", "--frob"}, "unknown option '--frob'", false},
    {{"grad", "x*2", "--var", "x=arange(3)"}, "not a single value", false},
    {{"grad"}, "missing EXPR", false},
    {{"grad", "x", "y", "--var", "x=1"}, "one expression at a time", false},
    {{"check", "x", "--var", "x=1", "--atol", "-1"}, "--atol expects", false},
    {{"check", "x", "--var", "x=1", "--reference", "reverse"}, "must be a finite-difference backend", false},
    {{"check", "--plugin", "./nope.so:f", "--var", "x=1"}, "no such file", false},
    {{"check", "--plugin", PLUGIN ":nosuch", "--var", "x=1"}, "has no symbol 'nosuch'", false},
    {{"check", "--plugin", PLUGIN}, "PATH.so:SYMBOL", false},
    {{"jacobian", "x", "--var", "x=1", "--mode", "sideways"}, "unknown mode", false},
    {{"compare", "x", "--var", "x=1", "--reps", "zero"}, "--reps expects", false},
    {{"frobnicate"}, "unknown command", false},
    {{"grad", "x^", "--var", "x=1"}, "", true},
    {{"grad", "1e400 * x", "--var", "x=1"}, "", true},
};

Test(cli, malformed_input_exits_2_with_a_clear_message,
     .description = "every line of the table: exit 2, the reason, and a caret under expressions")
{
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        result *r = run_argv(BAD[i].args);
        cr_expect_eq(r->status, 2, "case %zu (%s %s): exit %d\n%s", i, BAD[i].args[0], BAD[i].args[1] ? BAD[i].args[1] : "",
                     r->status, r->err);
        cr_expect(strstr(r->err, BAD[i].message), "case %zu: stderr lacks '%s':\n%s", i, BAD[i].message, r->err);
        if (BAD[i].caret) cr_expect(strstr(r->err, "^"), "case %zu: no caret:\n%s", i, r->err);
        cr_expect_eq(r->out[0], '\0', "case %zu: errors go to stderr, stdout stays empty: %s", i, r->out);
    }
}

Test(cli, deep_nesting_and_long_input_are_refused_quickly)
{
    static char deep[4002], longsrc[70002];
    memset(deep, '(', 2000);
    deep[2000] = 'x';
    memset(deep + 2001, ')', 2000);
    deep[4001] = '\0';
    result *r = run("grad", deep, "--var", "x=1");
    cr_expect_eq(r->status, 2, "%s", r->err);
    expect_err(r, "nest");
    for (int i = 0; i < 70000; i += 2) {
        longsrc[i] = 'x';
        longsrc[i + 1] = '+';
    }
    longsrc[69999] = 'x';
    longsrc[70000] = '\0';
    r = run("grad", longsrc, "--var", "x=1");
    cr_expect_eq(r->status, 2, "%s", r->err);
    expect_err(r, "long");
}

/* ---- adscope ops: the op list as the library holds it ------------------------------------ */

Test(cli, ops_json_lists_every_op_of_ops_def,
     .description = "adscope ops --json names every AD_OP of src/ops/ops.def, read from the source file itself")
{
    char *def = th_read_file(ADSCOPE_SOURCE_DIR "/src/ops/ops.def", NULL);
    cr_assert(def, "cannot read ops.def");
    result *r = run("ops", "--json");
    cr_assert_eq(r->status, 0, "%s", r->err);
    int listed = 0;
    for (const char *p = strstr(def, "\nAD_OP("); p; p = strstr(p + 1, "\nAD_OP(")) {
        char name[40], key[64];
        cr_assert_eq(sscanf(p + 7, "%39[a-z_0-9]", name), 1);
        snprintf(key, sizeof key, "{\"name\": \"%s\", ", name);
        cr_expect(strstr(r->out, key), "adscope ops --json lacks %s", name);
        listed++;
    }
    char count[32];
    snprintf(count, sizeof count, "{\"count\": %d, ", listed);
    cr_expect(strncmp(r->out, count, strlen(count)) == 0, "ops.def has %d ops; output starts %.40s", listed, r->out);
    expect_out(r, "{\"name\": \"sin\", \"grad_fn\": \"SinBackward0\", \"inputs\": 1, \"saves\": [\"in0\"], "
                  "\"family\": \"unary\", \"elementwise\": true, \"internal\": false}");
    free(def);
}

Test(cli, ops_text_table, .description = "adscope ops prints one row per op with grad_fn, arity and saved tensors")
{
    result *r = run("ops");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "op             grad_fn                      inputs saves        family   kind\n");
    expect_out(r, "\nexp            ExpBackward0                 1      out          unary    elementwise\n");
    expect_out(r, "\nmul            MulBackward0                 2      in0,in1      binary   elementwise\n");
    r = run("ops", "extra");
    cr_expect_eq(r->status, 2);
    expect_err(r, "unexpected argument 'extra'");
}

Test(cli, check_of_a_non_finite_value_is_an_input_error,
     .description = "check at a point where f(x) is NaN exits 2 naming it: there is nothing to compare")
{
    result *r = run("check", "sum(log(x))", "--var", "x=[-1, 2]");
    cr_expect_eq(r->status, 2, "exit %d\n%s", r->status, r->out);
    expect_err(r, "adscope check: gradcheck: f(x) is NaN at the given point: there is nothing to check");
    r = run("check", "sum(log(x))", "--var", "x=[0.5, 2]");
    cr_expect_eq(r->status, 0, "%s%s", r->out, r->err);
}
