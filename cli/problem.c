/* cli/problem.c — the function a command works on: an expression or a
 * plugin (dlopen), with its variables bound from --var NAME=VALUE. */
#include <ctype.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define CLI_MAX_TENSOR_BYTES ((int64_t)1 << 32) /* 4 GiB per tensor */

ad_ctx *cli_ctx_new(const cli_args *a, int *status)
{
    long long seed;
    *status = cli_int(a, "seed", 0, 0, INT64_MAX, &seed);
    if (*status != CLI_OK) return NULL;
    ad_ctx_options o = {.seed = (uint64_t)seed, .max_tensor_bytes = CLI_MAX_TENSOR_BYTES};
    ad_ctx *ctx = ad_ctx_new_with(&o);
    if (!ctx) {
        fprintf(stderr, "adscope %s: out of memory\n", a->cmd);
        *status = CLI_USAGE;
    }
    return ctx;
}

static bool is_identifier(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return false;
    return true;
}

static void print_expr_error(const char *cmd, const char *prefix, const char *src, const ad_expr_error *e)
{
    char buf[4096];
    ad_expr_format_error(buf, sizeof buf, src, e);
    fprintf(stderr, "adscope %s: %s%s", cmd, prefix, buf);
    size_t n = strlen(buf);
    if (n == 0 || buf[n - 1] != '\n') fputc('\n', stderr);
}

/* --var NAME=VALUE, each VALUE an expression evaluated without recording. */
static int bind_vars(cli_fn *fn, const cli_args *a)
{
    int n = cli_count(a, "var");
    if (n > CLI_MAX_VARS) {
        fprintf(stderr, "adscope %s: at most %d variables\n", a->cmd, CLI_MAX_VARS);
        return CLI_USAGE;
    }
    for (int i = 0; i < n; i++) {
        const char *item = cli_item(a, "var", i), *eq = strchr(item, '=');
        if (!eq || !is_identifier(item, (size_t)(eq - item))) {
            fprintf(stderr, "adscope %s: --var expects NAME=VALUE with NAME an identifier, not '%s'\n", a->cmd, item);
            return CLI_USAGE;
        }
        size_t len = (size_t)(eq - item);
        for (int j = 0; j < fn->nvars; j++)
            if (strlen(fn->names[j]) == len && strncmp(fn->names[j], item, len) == 0) {
                fprintf(stderr, "adscope %s: variable '%.*s' given twice\n", a->cmd, (int)len, item);
                return CLI_USAGE;
            }
        char *name = malloc(len + 1);
        if (!name) return CLI_USAGE;
        memcpy(name, item, len);
        name[len] = '\0';
        fn->name_store[fn->nvars] = name;
        fn->names[fn->nvars] = name;
        ad_expr_error err;
        ad_tensor *v = ad_expr_value(fn->ctx, eq + 1, &err);
        if (!v) {
            char prefix[128];
            snprintf(prefix, sizeof prefix, "in --var %s=...: ", name);
            print_expr_error(a->cmd, prefix, eq + 1, &err);
            fn->nvars++;
            return CLI_USAGE;
        }
        fn->values[fn->nvars] = v;
        fn->wrt[fn->nvars] = true;
        fn->nvars++;
    }
    return CLI_OK;
}

static int var_index(const cli_fn *fn, const char *name)
{
    for (int i = 0; i < fn->nvars; i++)
        if (strcmp(fn->names[i], name) == 0) return i;
    return -1;
}

/* Reorders the bound variables into `order` (the function's inputs);
 * reports the missing and the unused ones. */
static int arrange(cli_fn *fn, const char *cmd, int n, const char *const *order, const char *what)
{
    char missing[512] = "";
    int nmissing = 0;
    for (int i = 0; i < n; i++)
        if (var_index(fn, order[i]) < 0) {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", nmissing ? ", " : "", order[i]);
            nmissing++;
        }
    if (nmissing) {
        char hint[512] = "";
        for (int i = 0, k = 0; i < n; i++)
            if (var_index(fn, order[i]) < 0) {
                size_t l = strlen(hint);
                snprintf(hint + l, sizeof hint - l, "%s--var %s=VALUE", k++ ? " " : "", order[i]);
            }
        fprintf(stderr, "adscope %s: %s uses %s, which no --var gives (add %s)\n", cmd, what, missing, hint);
        return CLI_USAGE;
    }
    for (int j = 0; j < fn->nvars; j++) {
        bool used = false;
        for (int i = 0; i < n; i++) used = used || strcmp(order[i], fn->names[j]) == 0;
        if (!used) {
            fprintf(stderr, "adscope %s: --var %s is given but %s has no variable %s\n", cmd, fn->names[j], what,
                    fn->names[j]);
            return CLI_USAGE;
        }
    }
    /* permute names/values/ownership into the function's order */
    const char *names[CLI_MAX_VARS];
    char *store[CLI_MAX_VARS];
    ad_tensor *values[CLI_MAX_VARS];
    for (int i = 0; i < n; i++) {
        int j = var_index(fn, order[i]);
        names[i] = fn->names[j];
        store[i] = fn->name_store[j];
        values[i] = fn->values[j];
    }
    for (int i = 0; i < n; i++) {
        fn->names[i] = names[i];
        fn->name_store[i] = store[i];
        fn->values[i] = values[i];
        fn->wrt[i] = true;
    }
    return CLI_OK;
}

static int open_plugin(cli_fn *fn, const cli_args *a, const char *spec)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        fprintf(stderr, "adscope %s: --plugin expects PATH.so:SYMBOL, not '%s'\n", a->cmd, spec);
        return CLI_USAGE;
    }
    char path[4096], sym[256];
    size_t plen = (size_t)(colon - spec);
    if (plen + 3 >= sizeof path || strlen(colon + 1) >= sizeof sym) {
        fprintf(stderr, "adscope %s: --plugin argument too long\n", a->cmd);
        return CLI_USAGE;
    }
    /* a bare file name means the file here, not a search of the library path */
    snprintf(path, sizeof path, "%s%.*s", memchr(spec, '/', plen) ? "" : "./", (int)plen, spec);
    snprintf(sym, sizeof sym, "%s", colon + 1);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "adscope %s: --plugin: no such file '%s'\n", a->cmd, path);
        return CLI_USAGE;
    }
    fn->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!fn->dl) {
        fprintf(stderr, "adscope %s: --plugin: cannot load '%s': %s\n", a->cmd, path, dlerror());
        return CLI_USAGE;
    }
    void *f = dlsym(fn->dl, sym);
    if (!f) {
        fprintf(stderr, "adscope %s: --plugin: '%s' has no symbol '%s'\n", a->cmd, path, sym);
        return CLI_USAGE;
    }
    /* POSIX guarantees this conversion for dlsym results */
    ad_fn fp;
    memcpy(&fp, &f, sizeof fp);
    fn->problem.f = fp;
    snprintf(fn->label, sizeof fn->label, "%s:%s", path, sym);
    const char *gs = cli_get(a, "grad-symbol");
    if (gs) {
        void *g = dlsym(fn->dl, gs);
        if (!g) {
            fprintf(stderr, "adscope %s: --grad-symbol: '%s' has no symbol '%s'\n", a->cmd, path, gs);
            return CLI_USAGE;
        }
        memcpy(&fn->user_grad, &g, sizeof fn->user_grad);
    }
    /* optional "SYMBOL_inputs": the input names, comma-separated */
    char isym[300];
    snprintf(isym, sizeof isym, "%s_inputs", sym);
    const char *const *decl = dlsym(fn->dl, isym);
    if (decl && *decl) {
        const char *order[CLI_MAX_VARS];
        char names[1024];
        snprintf(names, sizeof names, "%s", *decl);
        int n = 0;
        for (char *tok = strtok(names, ", "); tok && n < CLI_MAX_VARS; tok = strtok(NULL, ", ")) order[n++] = tok;
        return arrange(fn, a->cmd, n, order, fn->label);
    }
    if (fn->nvars == 0) {
        fprintf(stderr, "adscope %s: the plugin needs its inputs: give them with --var NAME=VALUE\n", a->cmd);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int apply_wrt(cli_fn *fn, const cli_args *a)
{
    const char *w = cli_get(a, "wrt");
    if (!w) return CLI_OK;
    for (int i = 0; i < fn->nvars; i++) fn->wrt[i] = false;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", w);
    for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
        int k = var_index(fn, tok);
        if (k < 0) {
            fprintf(stderr, "adscope %s: --wrt %s: there is no variable '%s'\n", a->cmd, w, tok);
            return CLI_USAGE;
        }
        fn->wrt[k] = true;
    }
    return CLI_OK;
}

int cli_fn_open(cli_fn *fn, ad_ctx *ctx, const cli_args *a)
{
    memset(fn, 0, sizeof *fn);
    fn->ctx = ctx;
    const char *plugin = cli_get(a, "plugin");
    if (plugin && a->npos > 0) {
        fprintf(stderr, "adscope %s: give either an expression or --plugin, not both\n", a->cmd);
        return CLI_USAGE;
    }
    if (!plugin && a->npos == 0) {
        fprintf(stderr, "adscope %s: missing EXPR (or --plugin PATH.so:SYMBOL); see 'adscope %s --help'\n", a->cmd,
                a->cmd);
        return CLI_USAGE;
    }
    if (a->npos > 1) {
        fprintf(stderr, "adscope %s: one expression at a time (quote it: adscope %s 'x + y'); got '%s' and '%s'\n",
                a->cmd, a->cmd, a->pos[0], a->pos[1]);
        return CLI_USAGE;
    }
    if (cli_get(a, "grad-symbol") && !plugin) {
        fprintf(stderr, "adscope %s: --grad-symbol needs --plugin\n", a->cmd);
        return CLI_USAGE;
    }
    int rc = bind_vars(fn, a);
    if (rc != CLI_OK) return rc;
    if (plugin) {
        rc = open_plugin(fn, a, plugin);
    } else {
        ad_expr_error err;
        fn->expr = ad_expr_parse(a->pos[0], &err);
        if (!fn->expr) {
            print_expr_error(a->cmd, "", a->pos[0], &err);
            return CLI_USAGE;
        }
        snprintf(fn->label, sizeof fn->label, "%s", a->pos[0]);
        int n = ad_expr_nvars(fn->expr);
        const char *order[CLI_MAX_VARS];
        if (n > CLI_MAX_VARS) {
            fprintf(stderr, "adscope %s: at most %d variables\n", a->cmd, CLI_MAX_VARS);
            return CLI_USAGE;
        }
        for (int i = 0; i < n; i++) order[i] = ad_expr_var(fn->expr, i);
        rc = arrange(fn, a->cmd, n, order, "the expression");
        fn->problem.f = ad_expr_fn;
        fn->problem.user = fn->expr;
    }
    if (rc == CLI_OK) rc = apply_wrt(fn, a);
    if (rc != CLI_OK) return rc;
    fn->problem.ctx = ctx;
    fn->problem.nin = fn->nvars;
    fn->problem.in = fn->values;
    fn->problem.wrt = fn->wrt;
    if (fn->nvars == 0) {
        fprintf(stderr, "adscope %s: '%s' has no variables: nothing to differentiate\n", a->cmd, fn->label);
        return CLI_USAGE;
    }
    return CLI_OK;
}

void cli_fn_close(cli_fn *fn)
{
    for (int i = 0; i < CLI_MAX_VARS; i++) {
        free(fn->name_store[i]);
        fn->name_store[i] = NULL;
    }
    ad_expr_free(fn->expr);
    fn->expr = NULL;
    if (fn->dl) dlclose(fn->dl);
    fn->dl = NULL;
}

void cli_report_error(const cli_fn *fn, const char *what)
{
    if (fn->expr) {
        ad_expr_error e = ad_expr_last_error(fn->expr);
        if (e.status != AD_OK && e.pos >= 0) {
            print_expr_error(what, "", ad_expr_source(fn->expr), &e);
            return;
        }
    }
    fprintf(stderr, "adscope %s: %s\n", what, ad_errmsg(fn->ctx));
}
