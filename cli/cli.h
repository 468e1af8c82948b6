/* cli/cli.h — what the subcommands of the adscope program share.
 *
 * Exit codes: 0 success / check passed, 1 check failed, 2 usage or input
 * error.  Every input error is printed on stderr with what was wrong (and,
 * for expressions, a caret under the offending part). */
#ifndef ADSCOPE_CLI_H
#define ADSCOPE_CLI_H

#include <stdio.h>

#include <adscope.h>

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* ---- options ---------------------------------------------------------------- */

typedef enum { CLI_FLAG, CLI_VALUE, CLI_MULTI } cli_kind;

typedef struct cli_opt {
    const char *name;    /* "var" for --var */
    cli_kind kind;
    const char *metavar; /* "NAME=VALUE" */
} cli_opt;

#define CLI_MAX_OPTS 32
#define CLI_MAX_MULTI 64
#define CLI_MAX_POS 8
#define CLI_MAX_VARS 64

typedef struct cli_args {
    const char *cmd;
    int npos;
    const char *pos[CLI_MAX_POS];
    const cli_opt *opts;
    int nopts;
    bool set[CLI_MAX_OPTS];
    const char *value[CLI_MAX_OPTS];
    int nmulti[CLI_MAX_OPTS];
    const char *multi[CLI_MAX_OPTS][CLI_MAX_MULTI];
} cli_args;

/* Parses argv[first..] ("--name value", "--name=value", flags, positionals,
 * "--" ends options).  On error prints it (naming the option) and returns
 * CLI_USAGE. */
int cli_parse(cli_args *a, const char *cmd, const cli_opt *opts, int nopts, int argc, char **argv, int first);
bool cli_has(const cli_args *a, const char *name);
const char *cli_get(const cli_args *a, const char *name); /* NULL if absent */
int cli_count(const cli_args *a, const char *name);
const char *cli_item(const cli_args *a, const char *name, int i);
/* Numeric option values with range checks; print an error and return
 * CLI_USAGE on a bad value. */
int cli_double(const cli_args *a, const char *name, double dflt, double lo, double hi, double *out);
int cli_int(const cli_args *a, const char *name, long long dflt, long long lo, long long hi, long long *out);

/* ---- the function being differentiated ------------------------------------------ */

/* An expression (EXPR) or a plugin (--plugin PATH.so:SYMBOL) with its
 * variables bound from --var NAME=VALUE, ready as an ad_problem. */
typedef struct cli_fn {
    ad_ctx *ctx;
    ad_expr *expr;           /* NULL for a plugin */
    void *dl;                /* dlopen handle of a plugin */
    char label[4608];        /* what to call it in output: the expression or PATH:SYMBOL */
    int nvars;
    const char *names[CLI_MAX_VARS];
    char *name_store[CLI_MAX_VARS];
    ad_tensor *values[CLI_MAX_VARS];
    bool wrt[CLI_MAX_VARS];
    ad_problem problem;
    ad_user_grad_fn user_grad; /* --grad-symbol */
} cli_fn;

/* The options every command that takes a function accepts. */
#define CLI_FN_OPTS                                                                                \
    {"var", CLI_MULTI, "NAME=VALUE"}, {"plugin", CLI_VALUE, "PATH.so:SYMBOL"},                  \
        {"grad-symbol", CLI_VALUE, "SYMBOL"}, {"wrt", CLI_VALUE, "NAMES"}, {"seed", CLI_VALUE, "S"}, \
        {"json", CLI_FLAG, NULL}, {"help", CLI_FLAG, NULL}

/* Builds f from the parsed arguments (EXPR = the first positional).
 * Returns CLI_OK or CLI_USAGE (the error printed). */
int cli_fn_open(cli_fn *fn, ad_ctx *ctx, const cli_args *a);
void cli_fn_close(cli_fn *fn);

/* Prints the context's last error for the function: with the expression
 * and a caret when it happened inside an expression. */
void cli_report_error(const cli_fn *fn, const char *what);

/* --width and --h into backend options (CLI_USAGE on a bad value). */
int cli_backend_opts(const cli_args *a, ad_options *o);
/* A backend by name, or NULL after printing the known names. */
const ad_backend *cli_backend(const char *cmd, const char *name);

/* A context for the command line: seeded, with a per-tensor size limit. */
ad_ctx *cli_ctx_new(const cli_args *a, int *status);

/* ---- output ----------------------------------------------------------------------- */

/* JSON: numbers with 17 significant digits; NaN and infinities as null. */
void cli_json_number(FILE *f, double v);
/* A tensor as a number (0-d) or nested lists in its shape. */
void cli_json_tensor(FILE *f, ad_tensor *t);
void cli_json_string(FILE *f, const char *s);

/* "prefix" then t as PyTorch prints it, continuation lines indented under
 * the tensor so that multi-line tensors stay aligned:
 *     x.grad = tensor([[1., 2.],
 *                      [3., 4.]])                                        */
void cli_print_tensor(FILE *f, const char *prefix, ad_tensor *t);

/* "x[2]", "x[1,0]" for an index into a named input. */
void cli_index_str(char *buf, size_t n, const char *name, int ndim, const int64_t *index);

/* ---- commands ------------------------------------------------------------------------ */

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *help; /* the man-page text */
} cli_command;

int cli_help_of(const char *cmd);

int cmd_grad(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_jacobian(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_bench(int argc, char **argv);    /* cmd_bench.c: the complexity harness */
int cmd_merge(int argc, char **argv);    /* cmd_bench.c: join result CSVs */
int cmd_plot(int argc, char **argv);     /* cmd_plot.c: charts of a result CSV */
int cmd_fd_error(int argc, char **argv); /* cmd_fd_error.c: difference error vs step size */
int cmd_tangent(int argc, char **argv);  /* cmd_tangent.c: f and its tangent line */
int cmd_graph(int argc, char **argv);    /* cmd_graph.c: the recorded graph as a picture */

extern const char CLI_HELP_GRAD[], CLI_HELP_CHECK[], CLI_HELP_JACOBIAN[], CLI_HELP_COMPARE[];
extern const char CLI_HELP_BENCH[], CLI_HELP_MERGE[], CLI_HELP_PLOT[], CLI_HELP_FD_ERROR[], CLI_HELP_TANGENT[],
    CLI_HELP_GRAPH[];

/* Draws every chart of a result CSV into outdir (created if needed) in
 * format "png", "svg" or "dumb" (dumb charts are printed to stdout).
 * Returns CLI_OK, or CLI_USAGE with the reason printed.  Used by 'adscope
 * plot' and at the end of 'adscope bench'. */
int cli_plot_results(const char *csv, const char *outdir, const char *format);

#endif
