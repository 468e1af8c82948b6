/* tests/test_cli_more.c — the commands of second derivatives and of the
 * data and probability chapters, as users run them: adscope hessian and
 * hvp against analytic derivatives and each other, the size limit pointing
 * to hvp; adscope data on D2L's house table and on broken files; adscope
 * dice reproducible under a seed, its chart rendered as text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "helpers.h"
#include "th_cli.h"

/* ---- hessian and hvp ---------------------------------------------------------------------- */

Test(cli_more, hessian_of_two_variables, .description = "f = x^3 + x y^2 at (1, 2): [[6x, 2y], [2y, 2x]] = [[6, 4], [4, 2]]")
{
    result *r = run("hessian", "x^3 + x*y^2", "--var", "x=1", "--var", "y=2");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "value = tensor(5.)\n");
    expect_out(r, "H[x,x] = tensor(6.)\nH[x,y] = tensor(4.)\nH[y,x] = tensor(4.)\nH[y,y] = tensor(2.)\n");
    r = run("hessian", "x^3 + x*y^2", "--var", "x=1", "--var", "y=2", "--wrt", "y", "--json");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "\"hessian\": {\"y\": {\"y\": 2}}");
}

Test(cli_more, hessian_of_a_vector, .description = "sum(x^4)/4 has the diagonal Hessian 3x^2, by any width")
{
    for (int w = 1; w <= 4; w++) {
        char width[8];
        snprintf(width, sizeof width, "%d", w);
        result *r = run("hessian", "sum(x^4)/4", "--var", "x=arange(3)", "--width", width, "--json");
        cr_assert_eq(r->status, 0, "%s", r->err);
        expect_out(r, "\"hessian\": {\"x\": {\"x\": [[0, 0, 0], [0, 3, 0], [0, 0, 12]]}}");
    }
}

Test(cli_more, hessian_limit_points_to_hvp, .description = "5000 inputs is refused, exit 2, naming adscope hvp")
{
    result *r = run("hessian", "sum(x^2)", "--var", "x=ones(5000)");
    cr_expect_eq(r->status, 2);
    expect_err(r, "5000 inputs would need a 5000 x 5000 matrix");
    expect_err(r, "use 'adscope hvp EXPR");
    r = run("hessian", "x*y", "--var", "x=arange(3)", "--var", "y=2");
    cr_expect_eq(r->status, 2, "a vector value has no Hessian");
    expect_err(r, "single value");
    r = run("hessian", "x^2", "--var", "x=1", "--width", "0");
    cr_expect_eq(r->status, 2);
}

Test(cli_more, hvp_matches_the_hessian, .description = "H v of sum(x^3) is 6 x v; of x^3 + x y^2 it is H @ v")
{
    result *r = run("hvp", "sum(x^3)", "--var", "x=arange(4)", "--v", "x=ones(4)");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "x.grad = tensor([ 0.,  3., 12., 27.])\n");
    expect_out(r, "x.hvp  = tensor([ 0.,  6., 12., 18.])\n");
    /* [[6, 4], [4, 2]] @ [0.5, -1] = [-1, 0] */
    r = run("hvp", "x^3 + x*y^2", "--var", "x=1", "--var", "y=2", "--v", "x=0.5", "--v", "y=-1", "--json");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "\"gradients\": {\"x\": 7, \"y\": 4}, \"hvp\": {\"x\": -1, \"y\": 0}");
}

Test(cli_more, hvp_input_errors, .description = "a missing, misshapen, unknown or repeated direction exits 2 saying so")
{
    result *r = run("hvp", "sum(x^3)", "--var", "x=arange(4)");
    cr_expect_eq(r->status, 2);
    expect_err(r, "missing the direction of 'x': give --v x=DIRECTION");
    r = run("hvp", "sum(x^3)", "--var", "x=arange(4)", "--v", "x=ones(3)");
    cr_expect_eq(r->status, 2);
    expect_err(r, "the direction of 'x' has shape [3], but 'x' has shape [4]");
    r = run("hvp", "sum(x^3)", "--var", "x=arange(4)", "--v", "z=ones(4)");
    cr_expect_eq(r->status, 2);
    expect_err(r, "'z' is not a variable being differentiated");
    r = run("hvp", "sum(x^3)", "--var", "x=arange(4)", "--v", "x=ones(4)", "--v", "x=ones(4)");
    cr_expect_eq(r->status, 2);
    expect_err(r, "given twice");
    r = run("hvp", "sum(x^3)", "--var", "x=arange(4)", "--v", "x=ones(");
    cr_expect_eq(r->status, 2);
    expect_err(r, "in --v:");
}

/* ---- data ---------------------------------------------------------------------------------------- */

#define HOUSE ADSCOPE_SOURCE_DIR "/examples/data/house_tiny.csv"

Test(cli_more, data_house_table, .description = "--fillna mean --one-hot gives D2L's table with Price kept")
{
    result *r = run("data", HOUSE, "--fillna", "mean", "--one-hot", "--json");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "\"columns\": [\"NumRooms\", \"Price\", \"Alley_Pave\", \"Alley_nan\"], \"shape\": [4, 4]");
    expect_out(r, "\"tensor\": [[3, 127500, 1, 0], [2, 106000, 0, 1], [4, 178100, 0, 1], [3, 140000, 0, 1]]");
    r = run("data", HOUSE, "--fillna", "-1.5", "--one-hot");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "columns = ['NumRooms', 'Price', 'Alley_Pave', 'Alley_nan']\nX = tensor([[-1.5000e+00,");
}

Test(cli_more, data_errors, .description = "what is left to fix, malformed files and bad options: exit 2 saying where")
{
    result *r = run("data", HOUSE);
    cr_expect_eq(r->status, 2);
    expect_err(r, "column 'NumRooms' has a missing value (row 0, line 2)");
    expect_err(r, "--fillna mean|VALUE");
    r = run("data", HOUSE, "--fillna", "mean");
    cr_expect_eq(r->status, 2);
    expect_err(r, "column 'Alley' is categorical (row 0, line 2, holds 'Pave')");
    r = run("data", HOUSE, "--fillna", "most");
    cr_expect_eq(r->status, 2);
    expect_err(r, "--fillna 'most' is neither 'mean' nor a finite number");
    r = run("data", "/nonexistent.csv");
    cr_expect_eq(r->status, 2);
    expect_err(r, "cannot open '/nonexistent.csv'");
    const char *bad = th_tmp_path("ragged.csv");
    FILE *f = fopen(bad, "w");
    cr_assert_not_null(f);
    fputs("a,b\n1,2\n3,4,5\n", f);
    fclose(f);
    r = run("data", bad);
    cr_expect_eq(r->status, 2);
    expect_err(r, "row 1 (line 3) has 3 fields, but the header names 2 columns");
    r = run("data", HOUSE, HOUSE);
    cr_expect_eq(r->status, 2);
    expect_err(r, "one file at a time");
}

/* ---- dice --------------------------------------------------------------------------------------- */

Test(cli_more, dice_is_reproducible, .description = "the same seed prints the same table, another seed another")
{
    result *a = run("dice", "--groups", "50", "--seed", "3");
    cr_assert_eq(a->status, 0, "%s", a->err);
    char *first = strdup(a->out); /* the runner's buffer is reused */
    cr_assert_not_null(first);
    expect_out(a, "a fair die with 6 faces, 50 groups of 10 draws (seed 3)");
    expect_out(a, "largest difference after 500 draws:");
    result *b = run("dice", "--groups", "50", "--seed", "3");
    cr_expect_str_eq(b->out, first);
    result *c = run("dice", "--groups", "50", "--seed", "4");
    cr_expect_str_neq(c->out, first);
    free(first);
}

Test(cli_more, dice_converges, .description = "after 200000 draws every estimate is within 0.01 of 1/6")
{
    result *r = run("dice", "--groups", "2000", "--draws", "100", "--json");
    cr_assert_eq(r->status, 0, "%s", r->err);
    const char *last = strrchr(r->out, '[');
    cr_assert_not_null(last);
    double p[6];
    cr_assert_eq(sscanf(last, "[%lf, %lf, %lf, %lf, %lf, %lf]", &p[0], &p[1], &p[2], &p[3], &p[4], &p[5]), 6);
    double sum = 0;
    for (int i = 0; i < 6; i++) {
        cr_expect(fabs(p[i] - 1.0 / 6) < 0.01, "P(%d) = %g", i + 1, p[i]);
        sum += p[i];
    }
    cr_expect(fabs(sum - 1) < 1e-12, "the estimates sum to %g", sum);
}

Test(cli_more, dice_chart_as_text, .description = "--format dumb draws every face, 1/6 and the axis labels")
{
    if (!th_have_program("gnuplot")) cr_skip_test("gnuplot is not installed");
    result *r = run("dice", "--groups", "40", "--format", "dumb");
    cr_assert_eq(r->status, 0, "%s", r->err);
    for (int i = 1; i <= 6; i++) {
        char face[8];
        snprintf(face, sizeof face, "P(%d)", i);
        expect_out(r, face);
    }
    expect_out(r, "1/6");
    expect_out(r, "groups of experiments");
    expect_out(r, "Estimated probabilities of a fair die (10 draws per group)");
    expect_out(r, "40");
    r = run("dice", "--faces", "1");
    cr_expect_eq(r->status, 2);
    r = run("dice", "--format", "jpeg");
    cr_expect_eq(r->status, 2);
    r = run("dice", "extra");
    cr_expect_eq(r->status, 2);
    expect_err(r, "no positional argument expected");
}
