/* cli/docgen.h — the program's documentation generated from its own
 * tables, so that nothing is kept in step by hand: the man pages are the
 * --help texts of the commands (cli_command.help), and the shell completion
 * lists the commands, their options (cli_command.opts), the backends of the
 * registry and the functions of the benchmark suite.
 *
 * Two hidden commands (not in 'adscope help'; the build runs them and
 * installs what they write):
 *     adscope man DIR                   DIR/adscope.1, DIR/adscope-COMMAND.1
 *     adscope completion bash [FILE]    the bash completion script */
#ifndef ADSCOPE_CLI_DOCGEN_H
#define ADSCOPE_CLI_DOCGEN_H

#include <stdio.h>

#include "cli.h"

/* main.c: the i-th command of the one table, NULL past its end. */
const cli_command *cli_command_at(int i);
/* main.c: a help text into f: topic NULL is the top page ('adscope help'),
 * else a command's man page or a help topic (expr, backends).  CLI_OK, or
 * CLI_USAGE (nothing written) for an unknown topic. */
int cli_help_write(FILE *f, const char *topic);
/* The names of the help topics that are not commands, NULL-terminated. */
extern const char *const cli_help_topics[];

/* man.c: 'adscope man DIR'. */
int cli_man_main(int argc, char **argv);
/* completion.c: 'adscope completion bash [FILE]'. */
int cli_completion_main(int argc, char **argv);

#endif
