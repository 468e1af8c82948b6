/* cli/bench_custom.h — the user's own function (--expr or --plugin) as a
 * function of the benchmark suite, for 'adscope bench'. */
#ifndef ADSCOPE_CLI_BENCH_CUSTOM_H
#define ADSCOPE_CLI_BENCH_CUSTOM_H

#include "bench.h"
#include "cli.h"

typedef struct cli_bench_custom {
    ad_bench_fn base; /* first: the harness hands it back to make_inputs */
    cli_fn fn;
    int swept;        /* the input that gets each size's vector */
    char name[4608];
} cli_bench_custom;

/* Opens --expr or --plugin with --var and --size-var (the swept input: by
 * default the expression's only variable, a plugin's first declared input
 * or its first --var) and --label.  Returns CLI_OK or CLI_USAGE (printed);
 * cli_bench_custom_close is needed either way. */
int cli_bench_custom_open(cli_bench_custom *cu, ad_ctx *ctx, const cli_args *a);
void cli_bench_custom_close(cli_bench_custom *cu);

#endif
