/* tests/th_cli.h — short names for the tests that run the adscope program
 * (test_cli.c, test_bench.c, test_plot.c): where the program and the
 * example plugin are, and the runner of helpers.h under the names those
 * tests read best with.  Include after helpers.h. */
#ifndef TH_CLI_H
#define TH_CLI_H

#include "helpers.h"

#define ADSCOPE ADSCOPE_BINARY_DIR "/adscope"
#define PLUGIN ADSCOPE_BINARY_DIR "/plugin_rosenbrock.so"

typedef th_result result;
#define run(...) th_run(__VA_ARGS__)
#define run_with(env, ...) th_run_env(env, __VA_ARGS__)
#define run_argv(args) th_run_adscope(NULL, (args))
#define expect_out th_expect_out
#define expect_err th_expect_err

#endif
