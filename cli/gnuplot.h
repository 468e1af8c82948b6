/* cli/gnuplot.h — what the picture commands (plot, fd-error, tangent,
 * graph) share: finding gnuplot, Graphviz's dot and the chart scripts,
 * running a program with fork/exec (never a shell), output formats, data
 * files and directories.
 *
 * Environment:
 *   ADSCOPE_GNUPLOT  the gnuplot program (a path, or a name looked up on PATH;
 *                    default "gnuplot")
 *   ADSCOPE_DOT      Graphviz's dot (default "dot" on PATH)
 *   ADSCOPE_PLOTS    the directory of the chart scripts (default: the
 *                    installed ones next to the program, see datadir.h)
 *
 * Every function that can fail prints the reason ("adscope CMD: ...") on
 * stderr and returns CLI_USAGE; CLI_OK otherwise. */
#ifndef ADSCOPE_CLI_GNUPLOT_H
#define ADSCOPE_CLI_GNUPLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_PATH_MAX 4096

/* A program by name: a name containing '/' must be an executable file; any
 * other name is searched on PATH.  True with its path in out. */
bool cli_find_program(const char *name, char *out, size_t n);

/* gnuplot, from $ADSCOPE_GNUPLOT or PATH; when missing, the error names the
 * Debian package (gnuplot-nox). */
int cli_gnuplot_locate(const char *cmd, char *out, size_t n);

/* The chart script plots/<chart>.gp (see ADSCOPE_PLOTS above). */
int cli_plot_script(const char *cmd, const char *chart, char *out, size_t n);

/* One gnuplot variable set with -e before the script: a string (text
 * non-NULL) or a number. */
typedef struct cli_gp_var {
    const char *name;
    const char *text;
    double num;
} cli_gp_var;

/* Runs `gnuplot -e "name='text'; name=num; ..." script` (strings quoted for
 * gnuplot, so any path or title is safe), stdout and stderr inherited. */
int cli_gnuplot_run(const char *cmd, const char *gnuplot, const char *script, int nvars, const cli_gp_var *vars);

/* Runs path with argv (argv[0] included, NULL-terminated); input (if not
 * NULL) is written to its stdin, else stdin is /dev/null.  Returns its exit
 * status, or -1 when it could not be started (errno-based message printed),
 * or 128 + signal. */
int cli_run_program(const char *cmd, const char *path, char *const argv[], const char *input, size_t inlen);

/* The chart format: "png", "svg" or "dumb", from --format, else from the
 * extension of out (.png, .svg), else dflt (NULL: an error asking for one).
 * *fmt points to a static string. */
int cli_chart_format(const char *cmd, const char *format, const char *out, const char *dflt, const char **fmt);

/* One optional chart of a command (fd-error, tangent): its format, the
 * tools located before any work, and its data file. */
typedef struct cli_chart {
    const char *cmd;
    const char *out; /* --out, or NULL (a dumb chart on stdout) */
    const char *fmt; /* "png", "svg", "dumb"; NULL when not drawn */
    bool draw;       /* --out or --format asked for it */
    char gnuplot[CLI_PATH_MAX], script[CLI_PATH_MAX];
    char data[CLI_PATH_MAX]; /* the data file, once opened */
    char tmp[CLI_PATH_MAX];  /* a temporary directory for it, or "" */
} cli_chart;

/* When --out or --format asks for a chart, checks the format and the output
 * name and locates gnuplot and the chart's script plots/<chart>.gp. */
int cli_chart_setup(cli_chart *c, const char *cmd, const char *chart, const char *out, const char *format);
/* Opens the data file for writing: next to out with the extension .dat, or
 * <tmp>/<name>.dat for a dumb chart.  NULL with the error printed. */
FILE *cli_chart_data(cli_chart *c, const char *name);
/* Closes it: rc, or CLI_USAGE (printed) when rc was CLI_OK and the write
 * failed. */
int cli_chart_data_done(cli_chart *c, FILE *f, int rc);
/* Removes the temporary directory, if any. */
void cli_chart_cleanup(cli_chart *c);

/* Columns and rows for a dumb chart: $COLUMNS or the terminal's width
 * (default 100), clamped to [60, 200]; rows about a third of that. */
void cli_term_size(int *cols, int *rows);

/* mkdir -p. */
int cli_mkdirs(const char *cmd, const char *dir);
/* A fresh private directory under $TMPDIR (or /tmp). */
int cli_tmpdir(const char *cmd, char *out, size_t n);
/* Removes a directory made by cli_tmpdir and the files in it (two levels). */
void cli_rmdir_tree(const char *dir);

/* A block title line of a data file: the text in double quotes (double
 * quotes inside become single ones), so gnuplot's columnheader(1) reads it
 * back as one legend entry. */
void cli_gp_title_line(FILE *f, const char *text);

/* path with its extension (after the last '.' of the last component)
 * replaced by ext (".dat"); appended when there is none. */
void cli_replace_ext(char *out, size_t n, const char *path, const char *ext);
/* True when path ends with suffix (ASCII case-insensitive). */
bool cli_ends_with(const char *path, const char *suffix);

#endif
