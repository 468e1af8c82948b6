/* TEMPORARY: weak placeholders for the commands being written (bench,
 * merge, plot, fd-error, tangent, graph).  Each real definition overrides
 * its placeholder.  Delete this file before the issue is called done. */
#include "cli.h"

#define W __attribute__((weak))
#define STUB(fn, name)                                                                       \
    W int fn(int argc, char **argv)                                                          \
    {                                                                                        \
        (void)argc;                                                                          \
        (void)argv;                                                                          \
        fprintf(stderr, "adscope %s: not available yet\n", name);                           \
        return CLI_USAGE;                                                                    \
    }
STUB(cmd_bench, "bench")
STUB(cmd_merge, "merge")
STUB(cmd_plot, "plot")
STUB(cmd_fd_error, "fd-error")
STUB(cmd_tangent, "tangent")
STUB(cmd_graph, "graph")
W const char CLI_HELP_BENCH[] = "adscope bench: not available yet\n";
W const char CLI_HELP_MERGE[] = "adscope merge: not available yet\n";
W const char CLI_HELP_PLOT[] = "adscope plot: not available yet\n";
W const char CLI_HELP_FD_ERROR[] = "adscope fd-error: not available yet\n";
W const char CLI_HELP_TANGENT[] = "adscope tangent: not available yet\n";
W const char CLI_HELP_GRAPH[] = "adscope graph: not available yet\n";
W int cli_plot_results(const char *csv, const char *outdir, const char *format)
{
    (void)csv;
    (void)outdir;
    (void)format;
    fprintf(stderr, "adscope: charts not available yet\n");
    return CLI_USAGE;
}
