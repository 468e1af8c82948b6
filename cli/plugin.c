/* cli/plugin.c — a function from a shared library: --plugin PATH.so:SYMBOL,
 * its optional hand-written gradient (--grad-symbol) and its optional list
 * of input names (SYMBOL_inputs, "x, y"); with --abi c, a plain C function
 * over one array (cli.h), scalar or vector (SYMBOL_outputs, --outputs), and
 * its optional gradient or Jacobian (--jacobian-symbol). */
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

/* Loads the symbol named by option (NULL when not given) into *dst, a
 * function pointer of size sz. */
static int optional_symbol(const cli_fn *fn, const cli_args *a, const char *option, const char *path, void *dst,
                           size_t sz)
{
    const char *name = cli_get(a, option);
    if (!name) return CLI_OK;
    char label[64];
    snprintf(label, sizeof label, "--%s", option);
    void *p = symbol(fn, label, path, name);
    if (!p) return CLI_USAGE;
    memcpy(dst, &p, sz); /* POSIX guarantees this conversion for dlsym results */
    return CLI_OK;
}

/* The tensor ABI: ad_tensor *SYMBOL(ad_ctx *, ad_tensor *const *, void *). */
static int open_tensor_abi(cli_fn *fn, const cli_args *a, const char *path, void *f)
{
    memcpy(&fn->problem.f, &f, sizeof fn->problem.f);
    return optional_symbol(fn, a, "grad-symbol", path, &fn->user_grad, sizeof fn->user_grad);
}

/* Scalar or vector: --outputs M, or the plugin's SYMBOL_outputs(n) (read
 * once x is bound). */
static int c_abi_shape(cli_fn *fn, const cli_args *a, const char *sym, bool *vector)
{
    long long m;
    if (cli_int(a, "outputs", 0, 1, 1000000000, &m) != CLI_OK) return CLI_USAGE;
    fn->bb.m = (size_t)m;
    char osym[300];
    snprintf(osym, sizeof osym, "%s_outputs", sym);
    void *outs = m ? NULL : dlsym(fn->dl, osym);
    if (outs) memcpy(&fn->outputs, &outs, sizeof fn->outputs);
    *vector = m > 0 || outs;
    return CLI_OK;
}

/* The C ABI (blackbox.h): the function and its hand-written derivative. */
static int open_c_abi(cli_fn *fn, const cli_args *a, const char *path, const char *sym, void *f)
{
    bool vector;
    if (c_abi_shape(fn, a, sym, &vector) != CLI_OK) return CLI_USAGE;
    if (vector && cli_get(a, "grad-symbol")) {
        fprintf(stderr,
                "adscope %s: --grad-symbol is for a scalar function, but %s is a vector function (--outputs or "
                "%s_outputs): give its Jacobian with --jacobian-symbol\n",
                fn->cmd, sym, sym);
        return CLI_USAGE;
    }
    if (!vector && cli_get(a, "jacobian-symbol")) {
        fprintf(stderr,
                "adscope %s: --jacobian-symbol needs a vector function: export size_t %s_outputs(size_t n) from "
                "the plugin or give --outputs M\n",
                fn->cmd, sym);
        return CLI_USAGE;
    }
    if (vector) memcpy(&fn->bb.r, &f, sizeof fn->bb.r);
    else memcpy(&fn->bb.f, &f, sizeof fn->bb.f);
    int rc = optional_symbol(fn, a, "grad-symbol", path, &fn->bb.grad, sizeof fn->bb.grad);
    if (rc == CLI_OK) rc = optional_symbol(fn, a, "jacobian-symbol", path, &fn->bb.jac, sizeof fn->bb.jac);
    fn->opaque = true;
    fn->problem.f = ad_blackbox_fn;
    fn->problem.user = &fn->bb;
    fn->problem.flags = AD_PROBLEM_OPAQUE;
    return rc;
}

/* --abi: "tensor" (the default) or "c". */
static int abi_of(const cli_fn *fn, const cli_args *a, bool *c_abi)
{
    const char *abi = cli_get(a, "abi");
    *c_abi = abi && strcmp(abi, "c") == 0;
    if (!abi || *c_abi || strcmp(abi, "tensor") == 0) return CLI_OK;
    fprintf(stderr, "adscope %s: --abi expects 'tensor' (adscope's ops) or 'c' (plain C over arrays), not '%s'\n",
            fn->cmd, abi);
    return CLI_USAGE;
}

int cli_plugin_open(cli_fn *fn, const cli_args *a, const char *spec)
{
    char path[4096], sym[256];
    bool c_abi;
    if (abi_of(fn, a, &c_abi) != CLI_OK) return CLI_USAGE;
    if (split_spec(fn, spec, path, sizeof path, sym, sizeof sym) != CLI_OK) return CLI_USAGE;
    if (load_library(fn, path) != CLI_OK) return CLI_USAGE;
    void *f = symbol(fn, "--plugin", path, sym);
    if (!f) return CLI_USAGE;
    snprintf(fn->label, sizeof fn->label, "%s:%s", path, sym);
    int rc = c_abi ? open_c_abi(fn, a, path, sym, f) : open_tensor_abi(fn, a, path, f);
    if (rc != CLI_OK) return rc;
    char isym[300];
    snprintf(isym, sizeof isym, "%s_inputs", sym);
    const char *const *decl = dlsym(fn->dl, isym);
    fn->declared = decl && *decl ? *decl : NULL;
    return CLI_OK;
}

int cli_plugin_ready(cli_fn *fn)
{
    if (!fn->opaque) return CLI_OK;
    if (fn->nvars != 1) {
        fprintf(stderr, "adscope %s: a C-ABI function (--abi c) takes one array x: give exactly one --var, not %d\n",
                fn->cmd, fn->nvars);
        return CLI_USAGE;
    }
    if (!fn->outputs) return CLI_OK;
    fn->bb.m = fn->outputs((size_t)ad_numel(fn->values[0]));
    if (fn->bb.m == 0) {
        fprintf(stderr, "adscope %s: %s_outputs(%lld) says the function has no outputs\n", fn->cmd, fn->label,
                (long long)ad_numel(fn->values[0]));
        return CLI_USAGE;
    }
    return CLI_OK;
}
