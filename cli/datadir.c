/* cli/datadir.c — the directory of the chart scripts, for a program that
 * may run from its build tree or from an install prefix anywhere.  See
 * datadir.h for the order of the lookup. */
#include "datadir.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* CMake defines all three (CMakeLists.txt, the program); the defaults keep
 * a hand-built program usable from the source tree. */
#ifndef ADSCOPE_SOURCE_DIR
#define ADSCOPE_SOURCE_DIR "."
#endif
#ifndef ADSCOPE_BUILD_DIR
#define ADSCOPE_BUILD_DIR "."
#endif
#ifndef ADSCOPE_PLOTS_RELATIVE
#define ADSCOPE_PLOTS_RELATIVE "../share/adscope/plots"
#endif

#define DATADIR_PATH_MAX 4096

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Same directory by device and inode, so that symbolic links and "/./"
 * in either path do not matter. */
static bool same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The directory of the running executable (Linux: /proc/self/exe, which
 * resolves symbolic links to the real file).  False where that is unknown. */
static bool exe_dir(char *out, size_t n)
{
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    if (k <= 0 || (size_t)k >= n - 1) return false;
    out[k] = '\0';
    char *slash = strrchr(out, '/');
    if (!slash) return false;
    *slash = '\0';
    return true;
}

static int copy(char *out, size_t n, const char *a, const char *b)
{
    int k = snprintf(out, n, "%s%s", a, b);
    return k >= 0 && (size_t)k < n ? 0 : -1;
}

int cli_plots_dir(char *out, size_t n)
{
    if (!out || n == 0) return -1;
    const char *env = getenv("ADSCOPE_PLOTS");
    if (env && *env) return copy(out, n, env, "");
    char exe[DATADIR_PATH_MAX];
    if (!exe_dir(exe, sizeof exe)) return copy(out, n, ADSCOPE_SOURCE_DIR, "/plots");
    char installed[DATADIR_PATH_MAX];
    int k = snprintf(installed, sizeof installed, "%s/%s", exe, ADSCOPE_PLOTS_RELATIVE);
    bool fits = k >= 0 && (size_t)k < sizeof installed;
    if (fits && is_dir(installed)) return copy(out, n, installed, "");
    /* the build tree's program: its scripts are the source tree's */
    if (same_dir(exe, ADSCOPE_BUILD_DIR) && copy(out, n, ADSCOPE_SOURCE_DIR, "/plots") == 0) return 0;
    copy(out, n, fits ? installed : exe, "");
    return -1;
}
