/* cli/cli.h — what the subcommands of the adscope program share: the
 * command skeleton, the option parser, the function being differentiated,
 * the backends as the command line names them, and output.
 *
 * The program sits on top of the library (and bench/): it calls only the
 * public API of <adscope.h>.
 *
 * Exit codes: 0 success / check passed, 1 check failed, 2 usage or input
 * error.  Every input error is printed on stderr with what was wrong (and,
 * for expressions, a caret under the offending part). */
#ifndef ADSCOPE_CLI_H
#define ADSCOPE_CLI_H

#include <stdio.h>

#include <adscope.h>

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* ---- options (args.c) ---------------------------------------------------------- */

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

/* ---- the function being differentiated (fn.c, plugin.c) ------------------------------ */

/* An expression (EXPR) or a plugin (--plugin PATH.so:SYMBOL) with its
 * variables bound by name, ready as an ad_problem.  The bound values are
 * borrowed: they must live until cli_fn_close (the skeleton's scope keeps
 * the ones it creates).
 *
 * A plugin has one of two ABIs (--abi): "tensor" (the default), a function
 * built with adscope's ops; or "c", plain C over one array (blackbox.h):
 * double SYMBOL(const double *x, size_t n, void *user), or, when the plugin
 * exports size_t SYMBOL_outputs(size_t n) or --outputs M is given, a vector
 * function int SYMBOL(const double *x, size_t n, double *out, size_t m,
 * void *user).  A C-ABI function is opaque (AD_PROBLEM_OPAQUE): only
 * difference backends differentiate it. */
typedef size_t (*cli_outputs_fn)(size_t n);

typedef struct cli_fn {
    ad_ctx *ctx;
    const char *cmd;         /* the command, for messages: "adscope CMD: ..." */
    ad_expr *expr;           /* NULL for a plugin */
    void *dl;                /* dlopen handle of a plugin */
    const char *declared;    /* a plugin's SYMBOL_inputs ("x, y"), or NULL */
    char label[4608];        /* what to call it in output: the expression or PATH:SYMBOL */
    int nvars;
    const char *names[CLI_MAX_VARS];
    char *name_store[CLI_MAX_VARS];
    ad_tensor *values[CLI_MAX_VARS];
    bool wrt[CLI_MAX_VARS];
    ad_problem problem;
    ad_user_grad_fn user_grad; /* --grad-symbol */
    bool opaque;               /* --abi c: problem.user is &bb */
    ad_blackbox bb;            /* --abi c: the function, --grad-symbol / --jacobian-symbol */
    cli_outputs_fn outputs;    /* --abi c: the plugin's SYMBOL_outputs, or NULL */
} cli_fn;

/* The options every command that takes a function accepts. */
#define CLI_FN_OPTS                                                                                \
    {"var", CLI_MULTI, "NAME=VALUE"}, {"plugin", CLI_VALUE, "PATH.so:SYMBOL"},                  \
        {"grad-symbol", CLI_VALUE, "SYMBOL"}, {"wrt", CLI_VALUE, "NAMES"}, {"seed", CLI_VALUE, "S"}, \
        {"json", CLI_FLAG, NULL}, {"help", CLI_FLAG, NULL}, {"abi", CLI_VALUE, "tensor|c"},               \
        {"jacobian-symbol", CLI_VALUE, "SYMBOL"}, {"outputs", CLI_VALUE, "M"}

/* Opening a function goes in stages, so that a command can bind variables
 * of its own between loading and matching (tangent binds its x axis, bench
 * its swept input).  Each stage returns CLI_OK or CLI_USAGE with the error
 * printed; cli_fn_close is safe after any of them (and after cli_fn_init). */
void cli_fn_init(cli_fn *fn, ad_ctx *ctx, const char *cmd);
/* Binds NAME to value (borrowed): CLI_USAGE, naming the variable, when it is
 * bound already or there are too many. */
int cli_fn_bind(cli_fn *fn, const char *name, ad_tensor *value);
/* --var NAME=VALUE..., each VALUE a constant expression. */
int cli_fn_bind_vars(cli_fn *fn, const cli_args *a);
/* Parses expr, or loads plugin (PATH.so:SYMBOL, with a's --grad-symbol);
 * exactly one of them is non-NULL. */
int cli_fn_load(cli_fn *fn, const cli_args *a, const char *expr, const char *plugin);
/* Matches the bound variables to the function's inputs (reporting the
 * missing and the unused ones), applies a's --wrt, fills fn->problem. */
int cli_fn_ready(cli_fn *fn, const cli_args *a);
/* EXPR (the one positional) or --plugin, and --var, from the command line:
 * init, bind_vars and load.  cli_fn_ready finishes. */
int cli_fn_from_args(cli_fn *fn, ad_ctx *ctx, const cli_args *a);
void cli_fn_close(cli_fn *fn);
/* The bound variable called name, or -1. */
int cli_fn_var(const cli_fn *fn, const char *name);

/* The plugin's half of cli_fn_load (plugin.c). */
int cli_plugin_open(cli_fn *fn, const cli_args *a, const char *spec);
/* --abi c: one input x, and a vector function's m from SYMBOL_outputs(n)
 * once x is bound (called by cli_fn_ready). */
int cli_plugin_ready(cli_fn *fn);

/* The derivatives gradcheck is to check, from the function: a tensor
 * plugin's --grad-symbol, or a C-ABI function's --grad-symbol /
 * --jacobian-symbol with no AD backend (ad_blackbox_check_options); and the
 * inputs' names.  cmd_check calls it on its options before ad_gradcheck. */
void cli_fn_gradcheck_options(const cli_fn *fn, ad_gradcheck_options *o);
/* When an AD backend finds f's derivative exactly zero but differences do
 * not (a tensor plugin that reads the data with plain loops), prints on
 * stderr "adscope CMD: note: f depends on x but not through adscope ops: a
 * black-box function? use --abi c" and returns true.  Costs one reverse
 * Jacobian and one difference Jacobian; false for C-ABI functions. */
bool cli_fn_note_black_box(cli_fn *fn);

/* f at the bound values with grad mode off (a new scope-owned reference),
 * or NULL with the error reported. */
ad_tensor *cli_fn_value(cli_fn *fn);
/* The same with grad mode on or off as asked (the caller records). */
ad_tensor *cli_fn_eval(cli_fn *fn, bool grad);

/* Prints the context's last error for the function: with the expression
 * and a caret when it happened inside an expression. */
void cli_report_error(const cli_fn *fn);
/* An expression error with a caret: "adscope CMD: PREFIX<message>". */
void cli_print_expr_error(const char *cmd, const char *prefix, const char *src, const ad_expr_error *e);

/* ---- backends as the command line names them (backends.c) --------------------------- */

/* --width and --h into backend options (CLI_USAGE on a bad value). */
int cli_backend_opts(const cli_args *a, ad_options *o);
/* A backend by the name given to --mode, or NULL after printing the known
 * names. */
const ad_backend *cli_backend(const char *cmd, const char *name);
/* The backend's line type in the charts (plots/style.gp): its position in
 * the registry, so a backend has the same colour in every chart. */
int cli_backend_linetype(const char *name);

/* The registry's difference rules (those with ad_backend_fd_rule, but
 * not those replaying a program: the same rule), lowest order first, at
 * most max of them.  Returns how many. */
int cli_fd_rules(const ad_backend **rules, int max);

/* ---- output (json.c: JSON; text.c: text) ---------------------------------------------- */

/* JSON: numbers with 17 significant digits; NaN and infinities as null. */
void cli_json_number(FILE *f, double v);
/* A tensor as a number (0-d) or nested lists in its shape. */
void cli_json_tensor(FILE *f, ad_tensor *t);
void cli_json_string(FILE *f, const char *s);
/* {"x": T, "y": T} over the non-NULL tensors, keyed by the variables' names. */
void cli_json_named(FILE *f, const cli_fn *fn, ad_tensor *const *t);

/* "prefix" then t as PyTorch prints it, continuation lines indented under
 * the tensor so that multi-line tensors stay aligned:
 *     x.grad = tensor([[1., 2.],
 *                      [3., 4.]])                                        */
void cli_print_tensor(FILE *f, const char *prefix, ad_tensor *t);
/* "x[2]", "x[1,0]" for an index into a named input. */
void cli_index_str(char *buf, size_t n, const char *name, int ndim, const int64_t *index);
/* "1 pass", "3 passes": the plural ending of a count. */
const char *cli_plural(long long n, const char *many);

/* ---- the command skeleton (command.c) --------------------------------------------------- */

enum {
    CLI_NEEDS_CTX = 1u << 0, /* the skeleton creates a context (--seed) and a scope around run */
    CLI_NEEDS_FN = 1u << 1 | CLI_NEEDS_CTX /* ... and opens EXPR or --plugin with --var */
};

typedef struct cli_command cli_command;

/* What a command's steps receive. */
typedef struct cli_call {
    const cli_command *cmd;
    const cli_args *args;
    int argc;     /* the whole command line (bench records it) */
    char **argv;
    ad_ctx *ctx;  /* CLI_NEEDS_CTX, else NULL */
    cli_fn *fn;   /* CLI_NEEDS_FN, else NULL */
    void *opts;   /* the command's own options: opts_size bytes, zeroed, filled by `options` */
} cli_call;

/* One command: parse (the skeleton) -> options -> [context, function] ->
 * run, which computes and prints.  The skeleton handles parse errors,
 * --help, the context and the function, and the exit code. */
struct cli_command {
    const char *name;
    const char *summary;  /* one line in 'adscope help' */
    const char *help;     /* the man page */
    const cli_opt *opts;
    int nopts;
    unsigned needs;       /* CLI_NEEDS_* */
    size_t opts_size;
    /* (optional) checks and converts the options before any work */
    int (*options)(const cli_args *a, void *opts);
    /* (optional, CLI_NEEDS_FN) binds variables of the command's own between
     * loading the function and matching its variables */
    int (*prepare)(cli_call *c);
    int (*run)(cli_call *c);
    /* (optional) frees what `options` allocated */
    void (*release)(void *opts);
    /* (optional) a command with a syntax of its own (merge's -o, any number
     * of files): replaces all of the above */
    int (*main)(int argc, char **argv);
};

#define CLI_NOPTS(opts) ((int)(sizeof(opts) / sizeof((opts)[0])))

/* Runs a command on argv (argv[1] is its name).  Returns the exit code. */
int cli_command_main(const cli_command *c, int argc, char **argv);
/* The man page of a command or help topic on stdout (CLI_OK), or CLI_USAGE. */
int cli_help_of(const char *cmd);

/* The commands, one descriptor in each cmd_*.c; main.c lists them. */
extern const cli_command cli_cmd_grad, cli_cmd_check, cli_cmd_jacobian, cli_cmd_compare, cli_cmd_bench,
    cli_cmd_merge, cli_cmd_plot, cli_cmd_fd_error, cli_cmd_tangent, cli_cmd_graph, cli_cmd_ops;
extern const cli_command cli_cmd_hessian, cli_cmd_hvp, cli_cmd_data, cli_cmd_dice;
extern const cli_command cli_cmd_gradbench, cli_cmd_checkpoint;

/* Draws every chart of a result CSV into outdir (created if needed) in
 * format "png", "svg" or "dumb" (dumb charts are printed to stdout).
 * Returns CLI_OK, or CLI_USAGE with the reason printed.  Used by 'adscope
 * plot' and at the end of 'adscope bench'. */
int cli_plot_results(const char *csv, const char *outdir, const char *format);

#endif
