/* cli/command.c — the one skeleton every command runs in: parse the
 * options, answer --help, check the command's own options, create the
 * context and open the function when the command needs them, run, and
 * release everything in the reverse order.  A command only supplies the
 * steps that are its own (cli.h, struct cli_command). */
#include <stdlib.h>

#include "cli.h"

#define CLI_MAX_TENSOR_BYTES ((int64_t)1 << 32) /* 4 GiB per tensor */

/* A context for the command line: seeded by --seed, with a per-tensor size
 * limit so that ones(1e6,1e6) is an error, not an attempt. */
static ad_ctx *context(const cli_args *a, int *status)
{
    long long seed;
    *status = cli_int(a, "seed", 0, 0, INT64_MAX, &seed);
    if (*status != CLI_OK) return NULL;
    ad_ctx_options o = {.seed = (uint64_t)seed, .max_tensor_bytes = CLI_MAX_TENSOR_BYTES};
    ad_ctx *ctx = ad_ctx_new_with(&o);
    if (!ctx) {
        fprintf(stderr, "adscope %s: out of memory\n", a->cmd);
        *status = CLI_USAGE;
    }
    return ctx;
}

static int open_fn(cli_call *c)
{
    int rc = cli_fn_from_args(c->fn, c->ctx, c->args);
    if (rc == CLI_OK && c->cmd->prepare) rc = c->cmd->prepare(c);
    if (rc == CLI_OK) rc = cli_fn_ready(c->fn, c->args);
    return rc;
}

/* run inside a context (and with the function open) */
static int run_in_context(cli_call *c)
{
    int rc;
    c->ctx = context(c->args, &rc);
    if (!c->ctx) return rc;
    ad_scope s = ad_scope_begin(c->ctx);
    cli_fn fn;
    cli_fn_init(&fn, c->ctx, c->cmd->name);
    if ((c->cmd->needs & CLI_NEEDS_FN) == CLI_NEEDS_FN) {
        c->fn = &fn;
        rc = open_fn(c);
    }
    if (rc == CLI_OK) rc = c->cmd->run(c);
    ad_scope_end(c->ctx, s, NULL);
    cli_fn_close(&fn);
    ad_ctx_free(c->ctx);
    c->ctx = NULL;
    c->fn = NULL;
    return rc;
}

int cli_command_main(const cli_command *cmd, int argc, char **argv)
{
    if (cmd->main) return cmd->main(argc, argv);
    cli_args a;
    int rc = cli_parse(&a, cmd->name, cmd->opts, cmd->nopts, argc, argv, 2);
    if (rc != CLI_OK) return rc;
    if (cli_has(&a, "help")) return cli_help_of(cmd->name);
    cli_call c = {.cmd = cmd, .args = &a, .argc = argc, .argv = argv};
    c.opts = calloc(1, cmd->opts_size ? cmd->opts_size : 1);
    if (!c.opts) {
        fprintf(stderr, "adscope %s: out of memory\n", cmd->name);
        return CLI_USAGE;
    }
    if (cmd->options) rc = cmd->options(&a, c.opts);
    if (rc == CLI_OK) rc = cmd->needs ? run_in_context(&c) : cmd->run(&c);
    if (cmd->release) cmd->release(c.opts);
    free(c.opts);
    return rc;
}
