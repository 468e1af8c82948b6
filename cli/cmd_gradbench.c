/* cli/cmd_gradbench.c — adscope gradbench: the program as a GradBench tool
 * process, speaking the protocol on stdin/stdout with one backend for every
 * derivative (bench/gradbench/protocol.h). */
#include <string.h>

#include "cli.h"
#include "gradbench/protocol.h"

static const char HELP[] =
    "NAME\n"
    "    adscope gradbench - a GradBench tool process: evals answered by one backend\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope gradbench [--mode MODE] [--width K] [--h H]\n"
    "\n"
    "DESCRIPTION\n"
    "    Speaks GradBench's protocol (github.com/gradbench/gradbench): reads one JSON\n"
    "    message per line on stdin and writes one answer per line on stdout, flushed.\n"
    "    start is answered with the tool's name and its backend; define with success\n"
    "    for the evals adscope implements (hello, llsq, lse, det, ode, kmeans, gmm,\n"
    "    lstm, ba, ht, particle, saddle) and an error naming them otherwise;\n"
    "    evaluate by running the function min_runs times\n"
    "    and for at least min_seconds, with one \"evaluate\" timing per run after one\n"
    "    \"prepare\" timing (parsing the input).  Every derivative is computed by the\n"
    "    backend --mode names, so each backend is a column of its own in GradBench's\n"
    "    tables; particle's and saddle's functions ff, fr, rf, rr name their own\n"
    "    backends (outer, inner: f forward, r reverse), whatever --mode says.\n"
    "    A malformed message is answered with success: false and an error;\n"
    "    a line that is not JSON ends the program with status 2; end of input or an\n"
    "    \"end\" message ends it with status 0.  README.md says how to connect\n"
    "    GradBench's eval process without Docker.\n"
    "\n"
    "OPTIONS\n"
    "    --mode MODE   the backend (default reverse; 'adscope help backends').\n"
    "    --width K     directions per pass for forward-vector.\n"
    "    --h H         finite differences: a fixed absolute step.\n"
    "    --seed S      seed of the context (no eval draws random numbers).\n"
    "\n"
    "EXIT STATUS\n"
    "    0 end of the session; 2 usage error, or a line that is not JSON.\n"
    "\n"
    "EXAMPLES\n"
    "    echo '{\"id\": 0, \"kind\": \"start\"}' | adscope gradbench --mode forward\n"
    "    python3 python/gradbench/gradbench/evals/llsq/run.py <to_eval | adscope gradbench >from_tool\n";

static const cli_opt OPTS[] = {{"mode", CLI_VALUE, "MODE"}, {"width", CLI_VALUE, "K"}, {"h", CLI_VALUE, "H"},
                               {"seed", CLI_VALUE, "S"}, {"help", CLI_FLAG, NULL}};

static int options(const cli_args *a, void *opts)
{
    gb_session *s = opts;
    if (a->npos > 0) {
        fprintf(stderr, "adscope gradbench: unexpected argument '%s' (messages come on stdin)\n", a->pos[0]);
        return CLI_USAGE;
    }
    if (cli_backend_opts(a, &s->opts) != CLI_OK) return CLI_USAGE;
    const char *mode = cli_get(a, "mode") ? cli_get(a, "mode") : "reverse";
    s->backend = cli_backend("gradbench", mode);
    return s->backend ? CLI_OK : CLI_USAGE;
}

static int run(cli_call *c)
{
    return gb_serve(c->ctx, c->opts, stdin, stdout, stderr) == 0 ? CLI_OK : CLI_USAGE;
}

const cli_command cli_cmd_gradbench = {
    .name = "gradbench",
    .summary = "a GradBench tool process: the protocol on stdin/stdout, one backend",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_CTX,
    .opts_size = sizeof(gb_session),
    .options = options,
    .run = run,
};
