/* bench/gradbench/protocol.c — the GradBench protocol loop (protocol.h):
 * parse a line, answer it, flush.  Each evaluate parses its input once
 * (timed as "prepare"), runs the eval's function as many times as the
 * message asks (each run timed as "evaluate"), and answers with the last
 * run's output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* {"id": id} (id copied; JSON null when the message had none) */
static json_t *answer(const json_t *msg)
{
    const json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
    return json_pack("{s:O}", "id", id ? (json_t *)id : json_null());
}

static json_t *failure(json_t *a, const char *fmt, const char *what)
{
    char buf[1200];
    snprintf(buf, sizeof buf, fmt, what);
    json_object_set_new(a, "success", json_false());
    json_object_set_new(a, "error", json_string(buf));
    return a;
}

/* "hello, llsq, ...": what this build implements, for messages */
static const char *known_evals(void)
{
    static char buf[512];
    buf[0] = '\0';
    for (int i = 0; gb_evals[i]; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s", i ? ", " : "", gb_evals[i]->name);
    }
    return buf;
}

static json_t *on_start(const gb_session *s, json_t *a)
{
    json_object_set_new(a, "tool", json_string("adscope"));
    json_object_set_new(a, "config", json_pack("{s:s, s:s, s:s}", "backend", s->backend->name, "version",
                                               ad_version_string(), "blas", ad_blas_name()));
    return a;
}

static json_t *on_define(const json_t *msg, json_t *a)
{
    const char *module = json_string_value(json_object_get(msg, "module"));
    if (!module) return failure(a, "define: the message has no \"module\" string%s", "");
    if (!gb_eval_find(module)) {
        char what[600];
        snprintf(what, sizeof what, "'%.200s' (it implements: %s)", module, known_evals());
        return failure(a, "adscope has no eval %s", what);
    }
    json_object_set_new(a, "success", json_true());
    return a;
}

/* The input's min_runs and min_seconds (both optional: hello has neither). */
static const char *runs_of(const json_t *input, long long *runs, double *seconds)
{
    *runs = 1;
    *seconds = 0;
    if (!json_is_object(input)) return NULL;
    const json_t *r = json_object_get(input, "min_runs"), *t = json_object_get(input, "min_seconds");
    if (r) {
        double v = json_number_value(r);
        if (!json_is_number(r) || v != floor(v) || v < 0 || v > GB_MAX_RUNS)
            return "\"min_runs\" must be an integer from 0 to 1000000";
        *runs = v < 1 ? 1 : (long long)v;
    }
    if (t) {
        *seconds = json_number_value(t);
        if (!json_is_number(t) || !(*seconds >= 0 && *seconds <= GB_MAX_SECONDS))
            return "\"min_seconds\" must be a number from 0 to 3600";
    }
    return NULL;
}

static void add_timing(json_t *timings, const char *name, double seconds)
{
    json_array_append_new(timings, json_pack("{s:s, s:I}", "name", name, "nanoseconds",
                                             (json_int_t)llround(seconds * 1e9)));
}

/* prepare, the runs, the output: into a (success, output, timings) or an error */
static json_t *evaluate(ad_ctx *ctx, const gb_session *s, const gb_function *fn, const json_t *input, json_t *a)
{
    long long runs;
    double seconds;
    const char *bad = runs_of(input, &runs, &seconds);
    if (bad) return failure(a, "evaluate: %s", bad);
    json_t *timings = json_array();
    void *state = NULL;
    double t0 = now();
    int rc = fn->prepare(ctx, input, &state);
    add_timing(timings, "prepare", now() - t0);
    double total = 0;
    for (long long i = 0; rc == AD_OK && (i < runs || total < seconds); i++) {
        t0 = now();
        rc = fn->run(ctx, s->backend, &s->opts, state);
        double dt = now() - t0;
        total += dt;
        add_timing(timings, "evaluate", dt);
    }
    json_t *out = rc == AD_OK ? fn->output(ctx, state) : NULL;
    if (state) fn->free_state(state);
    if (!out) {
        json_decref(timings);
        return failure(a, "%s", ad_errmsg(ctx)[0] ? ad_errmsg(ctx) : "the eval failed without a reason");
    }
    json_object_set_new(a, "success", json_true());
    json_object_set_new(a, "output", out);
    json_object_set_new(a, "timings", timings);
    return a;
}

static json_t *on_evaluate(ad_ctx *ctx, const gb_session *s, const json_t *msg, json_t *a)
{
    const char *module = json_string_value(json_object_get(msg, "module"));
    const char *function = json_string_value(json_object_get(msg, "function"));
    const json_t *input = json_object_get(msg, "input");
    if (!module) return failure(a, "evaluate: the message has no \"module\" string%s", "");
    if (!function) return failure(a, "evaluate: the message has no \"function\" string%s", "");
    if (!input) return failure(a, "evaluate: the message has no \"input\"%s", "");
    const gb_eval *e = gb_eval_find(module);
    char what[600];
    if (!e) {
        snprintf(what, sizeof what, "'%.200s' (it implements: %s)", module, known_evals());
        return failure(a, "adscope has no eval %s", what);
    }
    const gb_function *fn = gb_function_find(e, function);
    if (!fn) {
        int len = snprintf(what, sizeof what, "'%.200s' (its functions:", function);
        for (int i = 0; i < e->nfunctions && len < (int)sizeof what - 64; i++)
            len += snprintf(what + len, sizeof what - (size_t)len, " %s", e->functions[i].name);
        snprintf(what + len, sizeof what - (size_t)len, ")");
        char full[800];
        snprintf(full, sizeof full, "%s has no function %s", e->name, what);
        return failure(a, "%s", full);
    }
    return evaluate(ctx, s, fn, input, a);
}

json_t *gb_respond(ad_ctx *ctx, const gb_session *s, const json_t *msg, bool *end)
{
    *end = false;
    json_t *a = answer(msg);
    if (!a) return NULL;
    ad_clear_error(ctx);
    if (!json_is_object(msg)) return failure(a, "a message must be a JSON object%s", "");
    const char *kind = json_string_value(json_object_get(msg, "kind"));
    if (kind && strcmp(kind, "end") == 0) {
        json_decref(a);
        *end = true;
        return NULL;
    }
    if (!json_object_get(msg, "id")) return failure(a, "the message has no \"id\"%s", "");
    if (!kind) return failure(a, "the message has no \"kind\" string%s", "");
    if (strcmp(kind, "start") == 0) return on_start(s, a);
    if (strcmp(kind, "define") == 0) return on_define(msg, a);
    if (strcmp(kind, "evaluate") == 0) return on_evaluate(ctx, s, msg, a);
    return a; /* analysis and any other kind: acknowledged */
}

/* One line: parse, answer, write.  0 to go on, 1 at "end", 2 on a fatal error. */
static int serve_line(ad_ctx *ctx, const gb_session *s, const char *line, size_t len, long lineno, FILE *out,
                      FILE *err)
{
    json_error_t jerr;
    json_t *msg = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
    if (!msg) {
        fprintf(err, "adscope gradbench: line %ld is not JSON: %s (column %d)\n", lineno, jerr.text, jerr.column);
        return 2;
    }
    bool end;
    json_t *a = gb_respond(ctx, s, msg, &end);
    json_decref(msg);
    if (end) return 1;
    int ok = a && json_dumpf(a, out, JSON_COMPACT | JSON_REAL_PRECISION(17)) == 0 && fputc('\n', out) != EOF &&
             fflush(out) == 0;
    json_decref(a);
    if (!ok) fprintf(err, "adscope gradbench: cannot write the answer to line %ld\n", lineno);
    return ok ? 0 : 2;
}

int gb_serve(ad_ctx *ctx, const gb_session *s, FILE *in, FILE *out, FILE *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    for (long lineno = 1; rc == 0 && (len = getline(&line, &cap, in)) >= 0; lineno++) {
        size_t n = (size_t)len;
        while (n > 0 && strchr(" \t\r\n", line[n - 1])) n--;
        if (n == 0) continue; /* a blank line is no message */
        rc = serve_line(ctx, s, line, n, lineno, out, err);
    }
    free(line);
    return rc == 2 ? 2 : 0;
}
