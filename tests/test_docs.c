/* tests/test_docs.c — what the program says about itself: the help text
 * states the constants the code uses, and the hidden generators of the man
 * pages and the completion (cli/docgen.h) reject bad usage with exit 2.
 * The generated pages and script themselves are checked against the
 * program by tests/docs/check_docs.sh (the test docs_pages). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "helpers.h"
#include "th_cli.h"

TestSuite(docs, .init = th_setup, .fini = th_teardown);

Test(docs, bench_help_states_the_timing_floor,
     .description = "'bench --help' gives the fit's floor of bench.h (it said 50 us while the code used 10 us)")
{
    result *r = run("bench", "--help");
    cr_assert_eq(r->status, 0);
    const char *p = strstr(r->out, "max(");
    cr_assert(p, "no 'max(' floor in: %s", r->out);
    char *end;
    double factor = strtod(p + 4, &end);
    cr_expect_eq(factor, AD_BENCH_FLOOR_FACTOR, "factor %g, bench.h says %g", factor, AD_BENCH_FLOOR_FACTOR);
    p = strstr(end, "the fastest, ");
    cr_assert(p, "%s", end);
    double floor_s = strtod(p + strlen("the fastest, "), &end);
    cr_expect(strncmp(end, " s)", 3) == 0, "the floor's unit: '%.8s'", end);
    cr_expect_eq(floor_s, AD_BENCH_FLOOR_SECONDS, "floor %g s, bench.h says %g s", floor_s, AD_BENCH_FLOOR_SECONDS);
}

Test(docs, generators_reject_bad_usage, .description = "'adscope man' and 'adscope completion' exit 2 with usage")
{
    result *r = run("man");
    cr_expect_eq(r->status, 2);
    expect_err(r, "usage: adscope man DIR");
    r = run("completion", "zsh");
    cr_expect_eq(r->status, 2);
    expect_err(r, "usage: adscope completion bash");
    r = run("man", "/nonexistent-dir/sub");
    cr_expect_eq(r->status, 2);
    expect_err(r, "cannot create /nonexistent-dir/sub");
}

Test(docs, hidden_generators_are_not_commands, .description = "'adscope help' does not list man and completion")
{
    result *r = run("help");
    cr_assert_eq(r->status, 0);
    cr_expect_null(strstr(r->out, "  man "), "%s", r->out);
    cr_expect_null(strstr(r->out, "  completion "), "%s", r->out);
}

Test(docs, completion_to_stdout, .description = "'adscope completion bash' prints a script binding _adscope")
{
    result *r = run("completion", "bash");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "complete -o filenames -F _adscope adscope");
}
