/* cli/cmd_ops.c — adscope ops: the catalogue of differentiable ops, as
 * src/ops/ops.def lists them (read through ad_op_info_at, so it cannot
 * drift from the library): each op's grad_fn name as PyTorch prints it,
 * its arity, and what its VJP keeps alive on the tape. */
#include <string.h>

#include "cli.h"

static const char HELP[] =
    "NAME\n"
    "    adscope ops - every differentiable op with its grad_fn, arity and saved tensors\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope ops [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Lists the library's ops in the order of its one op list (src/ops/ops.def):\n"
    "\n"
    "      op        the op's name (its C function is ad_<op>)\n"
    "      grad_fn   the node reverse mode records, named as PyTorch names it\n"
    "                (y.grad_fn in PyTorch, 'adscope graph' here)\n"
    "      inputs    how many tensors it takes (\"any\": concat, stack)\n"
    "      saves     what its VJP keeps on the tape until backward: in0, in1, ...\n"
    "                (inputs), out (the output), or nothing\n"
    "      family    the source file holding its value, JVP and VJP: src/ops/<family>.c\n"
    "      kind      elementwise (broadcasting), internal (used inside VJP rules\n"
    "                only), or blank\n"
    "\n"
    "OPTIONS\n"
    "    --json     one JSON object: {\"count\": N, \"ops\": [{\"name\", \"grad_fn\",\n"
    "               \"inputs\" (-1: any), \"saves\": [...], \"family\", \"elementwise\",\n"
    "               \"internal\"}, ...]}.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 usage error.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope ops\n"
    "    adscope ops --json\n";

static const cli_opt OPTS[] = {{"json", CLI_FLAG, NULL}, {"help", CLI_FLAG, NULL}};

/* "in0,out" or "-" */
static void saves_str(const ad_op_info *op, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < 32 && k < n; i++)
        if (op->saved_inputs & (1u << i)) k += (size_t)snprintf(buf + k, n - k, "%sin%d", k ? "," : "", i);
    if (op->saves_output && k < n) k += (size_t)snprintf(buf + k, n - k, "%sout", k ? "," : "");
    if (k == 0) snprintf(buf, n, "-");
}

static const char *kind_str(const ad_op_info *op)
{
    if (op->flags & AD_OPINFO_INTERNAL) return "internal";
    if (op->flags & AD_OPINFO_ELEMENTWISE) return "elementwise";
    return "";
}

static void print_text(void)
{
    printf("%-14s %-28s %-6s %-12s %-8s %s\n", "op", "grad_fn", "inputs", "saves", "family", "kind");
    for (int i = 0; i < ad_op_count(); i++) {
        const ad_op_info *op = ad_op_info_at(i);
        char saves[64], nin[16];
        saves_str(op, saves, sizeof saves);
        if (op->nin < 0) snprintf(nin, sizeof nin, "any");
        else snprintf(nin, sizeof nin, "%d", op->nin);
        printf("%-14s %-28s %-6s %-12s %-8s %s\n", op->name, op->grad_fn, nin, saves, op->family, kind_str(op));
    }
    printf("(%d ops)\n", ad_op_count());
}

static void print_json_op(const ad_op_info *op)
{
    printf("{\"name\": ");
    cli_json_string(stdout, op->name);
    printf(", \"grad_fn\": ");
    cli_json_string(stdout, op->grad_fn);
    printf(", \"inputs\": %d, \"saves\": [", op->nin);
    int k = 0;
    for (int i = 0; i < 32; i++)
        if (op->saved_inputs & (1u << i)) printf("%s\"in%d\"", k++ ? ", " : "", i);
    if (op->saves_output) printf("%s\"out\"", k ? ", " : "");
    printf("], \"family\": ");
    cli_json_string(stdout, op->family);
    printf(", \"elementwise\": %s, \"internal\": %s}", (op->flags & AD_OPINFO_ELEMENTWISE) ? "true" : "false",
           (op->flags & AD_OPINFO_INTERNAL) ? "true" : "false");
}

static void print_json(void)
{
    printf("{\"count\": %d, \"ops\": [", ad_op_count());
    for (int i = 0; i < ad_op_count(); i++) {
        printf(i ? ",\n  " : "\n  ");
        print_json_op(ad_op_info_at(i));
    }
    printf("\n]}\n");
}

static int run(cli_call *c)
{
    if (c->args->npos > 0) {
        fprintf(stderr, "adscope ops: unexpected argument '%s' (usage: adscope ops [--json])\n", c->args->pos[0]);
        return CLI_USAGE;
    }
    if (cli_has(c->args, "json")) print_json();
    else print_text();
    return CLI_OK;
}

const cli_command cli_cmd_ops = {
    .name = "ops",
    .summary = "every differentiable op: its grad_fn, arity and what it saves",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .run = run,
};
