/* tests/test_gradbench_protocol.c — 'adscope gradbench' as GradBench's eval
 * sees it: scripted sessions through the real program (messages on its
 * stdin, answers read back line by line), malformed messages, an unknown
 * module and function, input that is not JSON, and --mode. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "helpers.h"

#define ADSCOPE ADSCOPE_BINARY_DIR "/adscope"
#define MAX_LINES 64

typedef struct {
    int status, nlines;
    json_t *line[MAX_LINES]; /* the answers, parsed */
    char err[4096];
} session;

/* Runs 'adscope gradbench ARGS' on the messages (one per line), collects
 * its answers and its stderr. */
static session *converse(const char *args, const char *messages)
{
    static session S;
    for (int i = 0; i < S.nlines; i++) json_decref(S.line[i]);
    memset(&S, 0, sizeof S);
    const char *in = th_tmp_path("messages.jsonl"), *errf = th_tmp_path("stderr.txt");
    FILE *f = fopen(in, "w");
    cr_assert(f);
    fputs(messages, f);
    fclose(f);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' gradbench %s <'%s' 2>'%s'", ADSCOPE, args, in, errf);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    char *buf = NULL; /* answers of many runs are long lines: thousands of timings */
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&buf, &cap, p)) > 0 && S.nlines < MAX_LINES) {
        cr_assert_eq(buf[len - 1], '\n', "every answer ends its line: %.200s", buf);
        json_error_t jerr;
        S.line[S.nlines] = json_loads(buf, 0, &jerr);
        cr_assert(S.line[S.nlines], "answer %d is not JSON (%s): %.200s", S.nlines, jerr.text, buf);
        S.nlines++;
    }
    free(buf);
    int st = pclose(p);
    S.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    f = fopen(errf, "r");
    if (f) {
        size_t n = fread(S.err, 1, sizeof S.err - 1, f);
        S.err[n] = '\0';
        fclose(f);
    }
    return &S;
}

static json_t *get(const session *s, int i, const char *key)
{
    cr_assert_lt(i, s->nlines, "answer %d missing (%d answers)", i, s->nlines);
    return json_object_get(s->line[i], key);
}

static void expect_id(const session *s, int i, json_int_t id)
{
    cr_expect_eq(json_integer_value(get(s, i, "id")), id, "answer %d has id %lld", i,
                 (long long)json_integer_value(get(s, i, "id")));
}

/* answer i: success false with an error containing want */
static void expect_error(const session *s, int i, const char *want)
{
    cr_expect(json_is_false(get(s, i, "success")), "answer %d is not a failure", i);
    const char *e = json_string_value(get(s, i, "error"));
    cr_expect(e && strstr(e, want), "answer %d: error '%s' lacks '%s'", i, e ? e : "(none)", want);
}

static int count_timings(const session *s, int i, const char *name, double *total)
{
    json_t *t = get(s, i, "timings"), *x;
    size_t k;
    int n = 0;
    *total = 0;
    json_array_foreach (t, k, x) {
        if (strcmp(json_string_value(json_object_get(x, "name")), name) != 0) continue;
        n++;
        *total += 1e-9 * (double)json_integer_value(json_object_get(x, "nanoseconds"));
    }
    return n;
}

TestSuite(gradbench_protocol, .fini = th_tmp_remove, .timeout = 120);

Test(gradbench_protocol, scripted_session, .description = "start, define, evaluate (min_runs runs), analysis, an unknown module, end")
{
    session *s = converse("", "{\"id\": 0, \"kind\": \"start\", \"eval\": \"llsq\"}\n"
                              "{\"id\": 1, \"kind\": \"define\", \"module\": \"llsq\"}\n"
                              "{\"id\": 2, \"kind\": \"evaluate\", \"module\": \"llsq\", \"function\": \"primal\", "
                              "\"input\": {\"x\": [0.5, 0.25], \"n\": 3, \"min_runs\": 3, \"min_seconds\": 0}}\n"
                              "{\"id\": 3, \"kind\": \"analysis\", \"of\": 2, \"valid\": true}\n"
                              "\n"
                              "{\"id\": 4, \"kind\": \"evaluate\", \"module\": \"llsq\", \"function\": \"gradient\", "
                              "\"input\": {\"x\": [0.5, 0.25], \"n\": 3, \"min_runs\": 1, \"min_seconds\": 0.05}}\n"
                              "{\"id\": 5, \"kind\": \"define\", \"module\": \"gmm-nonesuch\"}\n"
                              "{\"id\": 6, \"kind\": \"end\"}\n"
                              "{\"id\": 7, \"kind\": \"start\"}\n");
    cr_assert_eq(s->status, 0, "exit %d: %s", s->status, s->err);
    cr_assert_eq(s->nlines, 6, "one answer per message up to end, none for end or after it: %d", s->nlines);
    for (int i = 0; i < 6; i++) expect_id(s, i, i);
    cr_expect_str_eq(json_string_value(get(s, 0, "tool")), "adscope");
    cr_expect_str_eq(json_string_value(json_object_get(get(s, 0, "config"), "backend")), "reverse");
    cr_expect(json_is_true(get(s, 1, "success")));
    /* t = -1, 0, 1; s = -1, 0, 1; r = s - 0.5 - 0.25 t = -1.25, -0.5, 0.25 */
    cr_expect(json_is_true(get(s, 2, "success")));
    cr_expect_float_eq(json_real_value(get(s, 2, "output")), (1.5625 + 0.25 + 0.0625) / 2, 1e-15);
    double total;
    cr_expect_eq(count_timings(s, 2, "evaluate", &total), 3, "min_runs 3: three evaluate timings");
    cr_expect_eq(count_timings(s, 2, "prepare", &total), 1);
    cr_expect_eq(json_object_size(s->line[3]), 1, "analysis is acknowledged with its id only");
    /* gradient -Σ r_i t_i^j: j = 0: 1.5; j = 1: -1.25 - 0.25 = ... -(1.25·1 + 0.25·1) = -1.5 */
    json_t *g = get(s, 4, "output");
    cr_assert(json_is_array(g) && json_array_size(g) == 2);
    cr_expect_float_eq(json_real_value(json_array_get(g, 0)), 1.5, 1e-15);
    cr_expect_float_eq(json_real_value(json_array_get(g, 1)), -1.5, 1e-15);
    int runs = count_timings(s, 4, "evaluate", &total);
    cr_expect(runs >= 1 && total >= 0.05, "min_seconds 0.05: %d runs took %g s", runs, total);
    expect_error(s, 5, "adscope has no eval 'gmm-nonesuch' (it implements: hello, llsq, lse, det, ode, kmeans, gmm, lstm, ba, ht, particle, saddle)");
}

Test(gradbench_protocol, malformed_messages_are_answered, .description = "each malformed message gets success false and an error naming what was wrong; the session goes on")
{
    session *s = converse("", "[1, 2]\n"
                              "{\"kind\": \"define\", \"module\": \"llsq\"}\n"
                              "{\"id\": 2}\n"
                              "{\"id\": 3, \"kind\": \"define\"}\n"
                              "{\"id\": 4, \"kind\": \"evaluate\", \"function\": \"primal\", \"input\": {}}\n"
                              "{\"id\": 5, \"kind\": \"evaluate\", \"module\": \"llsq\", \"input\": {}}\n"
                              "{\"id\": 6, \"kind\": \"evaluate\", \"module\": \"llsq\", \"function\": \"primal\"}\n"
                              "{\"id\": 7, \"kind\": \"evaluate\", \"module\": \"llsq\", \"function\": \"hessian\", \"input\": {}}\n"
                              "{\"id\": 8, \"kind\": \"evaluate\", \"module\": \"nope\", \"function\": \"primal\", \"input\": {}}\n"
                              "{\"id\": 9, \"kind\": \"evaluate\", \"module\": \"llsq\", \"function\": \"primal\", "
                              "\"input\": {\"x\": \"abc\", \"n\": 3}}\n"
                              "{\"id\": 10, \"kind\": \"evaluate\", \"module\": \"lse\", \"function\": \"primal\", "
                              "\"input\": {\"x\": [1], \"min_runs\": 1e12}}\n"
                              "{\"id\": 11, \"kind\": \"evaluate\", \"module\": \"lse\", \"function\": \"primal\", "
                              "\"input\": {\"x\": [1], \"min_seconds\": -1}}\n"
                              "{\"id\": 12, \"kind\": \"frobnicate\"}\n"
                              "{\"id\": 13, \"kind\": \"evaluate\", \"module\": \"lse\", \"function\": \"primal\", "
                              "\"input\": {\"x\": [1, 2]}}\n");
    cr_assert_eq(s->status, 0, "exit %d: %s", s->status, s->err);
    cr_assert_eq(s->nlines, 14, "%d answers", s->nlines);
    cr_expect(json_is_null(get(s, 0, "id")));
    expect_error(s, 0, "a message must be a JSON object");
    expect_error(s, 1, "the message has no \"id\"");
    expect_error(s, 2, "the message has no \"kind\" string");
    expect_error(s, 3, "define: the message has no \"module\" string");
    expect_error(s, 4, "evaluate: the message has no \"module\" string");
    expect_error(s, 5, "evaluate: the message has no \"function\" string");
    expect_error(s, 6, "evaluate: the message has no \"input\"");
    expect_error(s, 7, "llsq has no function 'hessian' (its functions: primal gradient)");
    expect_error(s, 8, "adscope has no eval 'nope'");
    expect_error(s, 9, "llsq: \"x\" must be a non-empty array of numbers");
    expect_error(s, 10, "\"min_runs\" must be an integer from 0 to 1000000");
    expect_error(s, 11, "\"min_seconds\" must be a number from 0 to 3600");
    expect_id(s, 12, 12);
    cr_expect_eq(json_object_size(s->line[12]), 1, "an unknown kind is acknowledged");
    cr_expect(json_is_true(get(s, 13, "success")), "the session goes on after the errors");
    cr_expect_float_eq(json_real_value(get(s, 13, "output")), 2 + log1p(exp(-1)), 1e-15);
}

Test(gradbench_protocol, not_json_exits_2, .description = "a line that is not JSON: the answers so far are out, a message names the line, exit 2")
{
    session *s = converse("", "{\"id\": 0, \"kind\": \"start\"}\n{\"id\": 1, \"kind\": \"define\", \"module\": \"ll\n"
                              "{\"id\": 2, \"kind\": \"start\"}\n");
    cr_expect_eq(s->status, 2);
    cr_expect_eq(s->nlines, 1, "the answer before the bad line was flushed");
    cr_expect(strstr(s->err, "adscope gradbench: line 2 is not JSON"), "%s", s->err);
    s = converse("", "");
    cr_expect_eq(s->status, 0, "end of input at once is a clean end");
    cr_expect_eq(s->nlines, 0);
}

Test(gradbench_protocol, mode_selects_the_backend, .description = "--mode forward answers start with its backend and the same gradient as reverse")
{
    const char *msgs = "{\"id\": 0, \"kind\": \"start\"}\n"
                       "{\"id\": 1, \"kind\": \"evaluate\", \"module\": \"ode\", \"function\": \"gradient\", "
                       "\"input\": {\"x\": [0.5, 1.3, -0.7], \"s\": 3, \"min_runs\": 1, \"min_seconds\": 0}}\n";
    session *s = converse("--mode reverse", msgs);
    cr_assert_eq(s->nlines, 2, "%s", s->err);
    double rev[3];
    for (int i = 0; i < 3; i++) rev[i] = json_real_value(json_array_get(get(s, 1, "output"), (size_t)i));
    s = converse("--mode forward", msgs);
    cr_assert_eq(s->nlines, 2, "%s", s->err);
    cr_expect_str_eq(json_string_value(json_object_get(get(s, 0, "config"), "backend")), "forward");
    for (int i = 0; i < 3; i++) {
        double f = json_real_value(json_array_get(get(s, 1, "output"), (size_t)i));
        cr_expect_leq(fabs(f - rev[i]), 1e-13 * fmax(1, fabs(rev[i])), "[%d]: forward %.17g, reverse %.17g", i, f, rev[i]);
    }
    s = converse("--mode nonesuch", msgs);
    cr_expect_eq(s->status, 2);
    cr_expect(strstr(s->err, "adscope gradbench: unknown mode 'nonesuch'"), "%s", s->err);
    cr_expect_eq(s->nlines, 0);
}

Test(gradbench_protocol, bench_sweeps_an_eval, .description = "adscope bench --functions gb:lse runs a tiny sweep and fits it; an unknown gb: name is refused")
{
    char out[600];
    snprintf(out, sizeof out, "%s", th_tmp_path("bench"));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' bench --functions gb:lse --backends reverse --sizes 10,20,40,80 --reps 1 "
             "--min-time 0.0001 --no-plot --out '%s' >'%s/stdout.txt' 2>/dev/null", ADSCOPE, out, th_tmp_dir());
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    char path[700];
    snprintf(path, sizeof path, "%s/results.csv", out);
    int rows = th_count_ok_rows(path, "gb:lse,reverse,");
    cr_assert_geq(rows, 0, "no %s", path);
    cr_expect_eq(rows, 4, "four ok rows of gb:lse by reverse");
    snprintf(cmd, sizeof cmd, "'%s' bench --functions gb:nonesuch --no-plot --out '%s' 2>/dev/null >/dev/null", ADSCOPE, out);
    int st = system(cmd);
    cr_expect_eq(WEXITSTATUS(st), 2);
}
