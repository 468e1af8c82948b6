/* cli/main.c — the adscope program: one table of subcommands, help
 * topics, and the exit-code convention (0 success, 1 a check failed, 2
 * usage or input error). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "docgen.h"

static const char HELP_EXPR[] =
    "NAME\n"
    "    adscope help expr - the expression language of EXPR and VALUE\n"
    "\n"
    "DESCRIPTION\n"
    "    Numbers, variable names, + - * / ^ (or **) with the usual precedence, unary\n"
    "    minus, @ for matrix products, comparisons (< <= > >= == !=, giving 0/1),\n"
    "    parentheses, function calls with positional or named arguments\n"
    "    (sum(x, axis=1, keepdims=1)), Python subscripts (x[0], x[-1], x[1:3],\n"
    "    x[:, 0:2], x[::2]), list literals ([[1, 2], [3, 4]]) and the constants pi\n"
    "    and e.  -x^2 is -(x^2); 2^3^2 is 2^9.\n"
    "\n"
    "    A VALUE (--var NAME=VALUE) is an expression without variables, evaluated\n"
    "    once without recording: 3.5, [[1,2],[3,4]], arange(4), ones(3,4),\n"
    "    randn(3,4) (seeded by --seed), linspace(0,1,5), 2*eye(3) + 1, ...\n"
    "\n"
    "    Errors show the expression with a caret under the offending part and\n"
    "    exit with status 2.\n"
    "\n"
    "FUNCTIONS\n";

static const char HELP_TOP[] =
    "usage: adscope COMMAND [ARGS...]      adscope help COMMAND      adscope COMMAND --help\n"
    "\n"
    "adscope puts forward-mode (dual numbers), reverse-mode (tape) and finite-\n"
    "difference derivatives side by side on one tensor type.\n"
    "\n"
    "commands:\n";

/* The one list of commands: 'adscope help', dispatch and 'help COMMAND'
 * all read it.  Each descriptor (name, summary, man page, options, steps)
 * lives in its cmd_*.c. */
static const cli_command *const COMMANDS[] = {
    &cli_cmd_grad,  &cli_cmd_check, &cli_cmd_jacobian, &cli_cmd_compare, &cli_cmd_bench,
    &cli_cmd_merge, &cli_cmd_plot,  &cli_cmd_fd_error, &cli_cmd_tangent, &cli_cmd_graph, &cli_cmd_ops,
    &cli_cmd_hessian, &cli_cmd_hvp, &cli_cmd_data, &cli_cmd_dice, &cli_cmd_gradbench, &cli_cmd_checkpoint,
};
#define NCOMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static void help_top(FILE *f)
{
    fputs(HELP_TOP, f);
    for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", COMMANDS[i]->name, COMMANDS[i]->summary);
    fprintf(f, "\nhelp topics:\n  %-10s %s\n  %-10s %s\n", "expr", "the expression language (adscope help expr)",
            "backends", "the differentiation backends (adscope help backends)");
    fprintf(f, "\noptions:\n  --version  print the version and the BLAS in use\n  --help     this text\n"
               "\nexit status: 0 success, 1 a check failed, 2 usage or input error\n");
}

static void help_backends(FILE *f)
{
    fprintf(f, "NAME\n    adscope help backends - the registered differentiation backends\n\nBACKENDS\n");
    for (int i = 0; i < ad_backend_count(); i++) {
        const ad_backend *b = ad_backend_at(i);
        fprintf(f, "    %-15s %s\n", b->name, b->description);
    }
    fprintf(f, "\n    Use one with --mode NAME (grad, jacobian) or see them all with 'adscope compare'.\n");
}

static void help_expr(FILE *f)
{
    fputs(HELP_EXPR, f);
    const char *sig;
    for (int i = 0; ad_expr_function(i, &sig); i++) fprintf(f, "    %s\n", sig);
}

const char *const cli_help_topics[] = {"expr", "backends", NULL};

const cli_command *cli_command_at(int i)
{
    return i >= 0 && i < NCOMMANDS ? COMMANDS[i] : NULL;
}

/* One writer for 'adscope help ...' and the man pages (man.c), so both
 * print the same text. */
int cli_help_write(FILE *f, const char *topic)
{
    if (!topic) {
        help_top(f);
        return CLI_OK;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(COMMANDS[i]->name, topic) == 0) {
            fputs(COMMANDS[i]->help, f);
            return CLI_OK;
        }
    if (strcmp(topic, "expr") == 0) {
        help_expr(f);
        return CLI_OK;
    }
    if (strcmp(topic, "backends") == 0) {
        help_backends(f);
        return CLI_OK;
    }
    return CLI_USAGE;
}

int cli_help_of(const char *cmd)
{
    if (cli_help_write(stdout, cmd) == CLI_OK) return CLI_OK;
    fprintf(stderr, "adscope help: no command or topic '%s'\n", cmd);
    help_top(stderr);
    return CLI_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help_top(stdout);
        return CLI_OK;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0) {
        printf("adscope %s (BLAS: %s)\n", ad_version_string(), ad_blas_name());
        return CLI_OK;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        help_top(stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc == 2) {
            help_top(stdout);
            return CLI_OK;
        }
        if (argc > 3) {
            fprintf(stderr, "adscope help: one topic at a time\n");
            return CLI_USAGE;
        }
        return cli_help_of(argv[2]);
    }
    /* hidden: the build generates the man pages and the completion */
    if (strcmp(cmd, "man") == 0) return cli_man_main(argc, argv);
    if (strcmp(cmd, "completion") == 0) return cli_completion_main(argc, argv);
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(COMMANDS[i]->name, cmd) == 0) return cli_command_main(COMMANDS[i], argc, argv);
    fprintf(stderr, "adscope: unknown command '%s'\n\n", cmd);
    help_top(stderr);
    return CLI_USAGE;
}
