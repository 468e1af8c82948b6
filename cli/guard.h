/* cli/guard.h — guards instead of hangs: before `grad` and `check` start a
 * computation whose cost grows with the number of inputs, they measure one
 * evaluation of f and ask the cost model (bench/cost.h) how many they
 * need.  Beyond CLI_GUARD_SECONDS the command refuses (exit 2), saying the
 * estimate and the cheaper way (reverse mode, --fast), unless --force. */
#ifndef ADSCOPE_CLI_GUARD_H
#define ADSCOPE_CLI_GUARD_H

#include "cli.h"

/* The estimated run time above which a command refuses to start without
 * --force (seconds; the help texts of grad and check say "60 s"). */
#define CLI_GUARD_SECONDS 60.0

/* `grad` with backend b (NULL: --mode all) and options o: CLI_OK, or
 * CLI_USAGE with the refusal printed. */
int cli_guard_grad(cli_fn *fn, const ad_backend *b, const ad_options *o, const cli_args *a);
/* `check` with options o: CLI_OK, or CLI_USAGE with the refusal printed. */
int cli_guard_check(cli_fn *fn, const ad_gradcheck_options *o, const cli_args *a);

#endif
