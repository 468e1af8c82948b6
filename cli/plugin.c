/* cli/plugin.c — a function from a shared library: --plugin PATH.so:SYMBOL,
 * its optional hand-written gradient (--grad-symbol) and its optional list
 * of input names (SYMBOL_inputs, "x, y"). */
#include <dlfcn.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* PATH.so:SYMBOL into path (a bare file name means the file here, not a
 * search of the library path) and sym. */
static int split_spec(const cli_fn *fn, const char *spec, char *path, size_t pn, char *sym, size_t sn)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        fprintf(stderr, "adscope %s: --plugin expects PATH.so:SYMBOL, not '%s'\n", fn->cmd, spec);
        return CLI_USAGE;
    }
    size_t plen = (size_t)(colon - spec);
    if (plen + 3 >= pn || strlen(colon + 1) >= sn) {
        fprintf(stderr, "adscope %s: --plugin argument too long\n", fn->cmd);
        return CLI_USAGE;
    }
    snprintf(path, pn, "%s%.*s", memchr(spec, '/', plen) ? "" : "./", (int)plen, spec);
    snprintf(sym, sn, "%s", colon + 1);
    return CLI_OK;
}

static int load_library(cli_fn *fn, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "adscope %s: --plugin: no such file '%s'\n", fn->cmd, path);
        return CLI_USAGE;
    }
    fn->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!fn->dl) {
        fprintf(stderr, "adscope %s: --plugin: cannot load '%s': %s\n", fn->cmd, path, dlerror());
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* A symbol of the library, or NULL after printing what is missing. */
static void *symbol(const cli_fn *fn, const char *option, const char *path, const char *sym)
{
    void *p = dlsym(fn->dl, sym);
    if (!p) fprintf(stderr, "adscope %s: %s: '%s' has no symbol '%s'\n", fn->cmd, option, path, sym);
    return p;
}

int cli_plugin_open(cli_fn *fn, const cli_args *a, const char *spec)
{
    char path[4096], sym[256];
    if (split_spec(fn, spec, path, sizeof path, sym, sizeof sym) != CLI_OK) return CLI_USAGE;
    if (load_library(fn, path) != CLI_OK) return CLI_USAGE;
    void *f = symbol(fn, "--plugin", path, sym);
    if (!f) return CLI_USAGE;
    memcpy(&fn->problem.f, &f, sizeof fn->problem.f); /* POSIX guarantees this conversion for dlsym results */
    snprintf(fn->label, sizeof fn->label, "%s:%s", path, sym);
    const char *gs = cli_get(a, "grad-symbol");
    if (gs) {
        void *g = symbol(fn, "--grad-symbol", path, gs);
        if (!g) return CLI_USAGE;
        memcpy(&fn->user_grad, &g, sizeof fn->user_grad);
    }
    char isym[300];
    snprintf(isym, sizeof isym, "%s_inputs", sym);
    const char *const *decl = dlsym(fn->dl, isym);
    fn->declared = decl && *decl ? *decl : NULL;
    return CLI_OK;
}
