/* cli/datadir.h — where the program's data files (the gnuplot scripts) are,
 * for a program that may be installed anywhere.
 *
 * Lookup, first match wins:
 *   1. $ADSCOPE_PLOTS, when set and not empty (used as given, even if the
 *      scripts are missing there: the error then names it);
 *   2. the installed scripts, found relative to the executable:
 *      <dir of /proc/self/exe>/ADSCOPE_PLOTS_RELATIVE, by default
 *      ../share/adscope/plots (CMake computes it from the install layout),
 *      so a prefix that is moved or copied keeps working;
 *   3. the source tree's plots/, only for the program of the build tree (the
 *      executable sits in ADSCOPE_BUILD_DIR, the directory CMake built it
 *      in), so an installed program never reaches into a source tree that
 *      may be gone or changed; and on systems without /proc/self/exe.
 * The lookup needs no shell and allocates nothing. */
#ifndef ADSCOPE_CLI_DATADIR_H
#define ADSCOPE_CLI_DATADIR_H

#include <stddef.h>

/* The directory of the chart scripts into out (n bytes).  Returns 0, or -1
 * when none of the above exists; out then holds the installed location
 * looked for (or $ADSCOPE_PLOTS), for the caller's message. */
int cli_plots_dir(char *out, size_t n);

#endif
