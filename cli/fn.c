/* cli/fn.c — the function a command works on: an expression or a plugin
 * (plugin.c), with its variables bound by name, from --var NAME=VALUE or by
 * the command itself (cli_fn_bind). */
#include <ctype.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_fn_init(cli_fn *fn, ad_ctx *ctx, const char *cmd)
{
    memset(fn, 0, sizeof *fn);
    fn->ctx = ctx;
    fn->cmd = cmd;
}

static bool is_identifier(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return false;
    return true;
}

void cli_print_expr_error(const char *cmd, const char *prefix, const char *src, const ad_expr_error *e)
{
    char buf[4096];
    ad_expr_format_error(buf, sizeof buf, src, e);
    fprintf(stderr, "adscope %s: %s%s", cmd, prefix, buf);
    size_t n = strlen(buf);
    if (n == 0 || buf[n - 1] != '\n') fputc('\n', stderr);
}

static int var_index_n(const cli_fn *fn, const char *name, size_t len)
{
    for (int i = 0; i < fn->nvars; i++)
        if (strlen(fn->names[i]) == len && strncmp(fn->names[i], name, len) == 0) return i;
    return -1;
}

int cli_fn_var(const cli_fn *fn, const char *name)
{
    return var_index_n(fn, name, strlen(name));
}

/* CLI_OK when name[0..len) can be bound: not bound yet, room left. */
static int check_new(const cli_fn *fn, const char *name, size_t len)
{
    if (var_index_n(fn, name, len) >= 0) {
        fprintf(stderr, "adscope %s: variable '%.*s' given twice\n", fn->cmd, (int)len, name);
        return CLI_USAGE;
    }
    if (fn->nvars == CLI_MAX_VARS) {
        fprintf(stderr, "adscope %s: at most %d variables (at '%.*s')\n", fn->cmd, CLI_MAX_VARS, (int)len, name);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int bind_n(cli_fn *fn, const char *name, size_t len, ad_tensor *value)
{
    if (check_new(fn, name, len) != CLI_OK) return CLI_USAGE;
    if (!value) {
        fprintf(stderr, "adscope %s: no value for the variable '%.*s': %s\n", fn->cmd, (int)len, name,
                ad_errmsg(fn->ctx));
        return CLI_USAGE;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        fprintf(stderr, "adscope %s: out of memory\n", fn->cmd);
        return CLI_USAGE;
    }
    memcpy(copy, name, len);
    copy[len] = '\0';
    fn->name_store[fn->nvars] = copy;
    fn->names[fn->nvars] = copy;
    fn->values[fn->nvars] = value;
    fn->wrt[fn->nvars] = true;
    fn->nvars++;
    return CLI_OK;
}

int cli_fn_bind(cli_fn *fn, const char *name, ad_tensor *value)
{
    return bind_n(fn, name, strlen(name), value);
}

/* One --var NAME=VALUE, VALUE evaluated without recording. */
static int bind_item(cli_fn *fn, const char *item)
{
    const char *eq = strchr(item, '=');
    if (!eq || !is_identifier(item, (size_t)(eq - item))) {
        fprintf(stderr, "adscope %s: --var expects NAME=VALUE with NAME an identifier, not '%s'\n", fn->cmd, item);
        return CLI_USAGE;
    }
    size_t len = (size_t)(eq - item);
    if (check_new(fn, item, len) != CLI_OK) return CLI_USAGE;
    ad_expr_error err;
    ad_tensor *v = ad_expr_value(fn->ctx, eq + 1, &err);
    if (!v) {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "in --var %.*s=...: ", (int)len, item);
        cli_print_expr_error(fn->cmd, prefix, eq + 1, &err);
        return CLI_USAGE;
    }
    return bind_n(fn, item, len, v);
}

int cli_fn_bind_vars(cli_fn *fn, const cli_args *a)
{
    int n = cli_count(a, "var");
    if (n > CLI_MAX_VARS) {
        fprintf(stderr, "adscope %s: at most %d variables\n", fn->cmd, CLI_MAX_VARS);
        return CLI_USAGE;
    }
    for (int i = 0; i < n; i++)
        if (bind_item(fn, cli_item(a, "var", i)) != CLI_OK) return CLI_USAGE;
    return CLI_OK;
}

/* "x, y" for the names of order[] that are not bound; "--var x=VALUE
 * --var y=VALUE" in hint.  Returns how many. */
static int list_missing(const cli_fn *fn, int n, const char *const *order, char *missing, size_t mn, char *hint,
                        size_t hn)
{
    int k = 0;
    missing[0] = hint[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (cli_fn_var(fn, order[i]) >= 0) continue;
        size_t l = strlen(missing), h = strlen(hint);
        snprintf(missing + l, mn - l, "%s%s", k ? ", " : "", order[i]);
        snprintf(hint + h, hn - h, "%s--var %s=VALUE", k ? " " : "", order[i]);
        k++;
    }
    return k;
}

/* Reorders the bound variables into `order` (the function's inputs);
 * reports the missing and the unused ones. */
static int arrange(cli_fn *fn, int n, const char *const *order, const char *what)
{
    char missing[512], hint[512];
    /* each input once: the permutation below moves one bound value per
     * name, and a name listed twice would own its value twice */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(order[i], order[j]) == 0) {
                fprintf(stderr, "adscope %s: %s declares its input '%s' twice (each input name must appear once)\n",
                        fn->cmd, what, order[i]);
                return CLI_USAGE;
            }
    if (list_missing(fn, n, order, missing, sizeof missing, hint, sizeof hint)) {
        fprintf(stderr, "adscope %s: %s uses %s, which no --var gives (add %s)\n", fn->cmd, what, missing, hint);
        return CLI_USAGE;
    }
    for (int j = 0; j < fn->nvars; j++) {
        bool used = false;
        for (int i = 0; i < n; i++) used = used || strcmp(order[i], fn->names[j]) == 0;
        if (!used) {
            fprintf(stderr, "adscope %s: --var %s is given but %s has no variable %s\n", fn->cmd, fn->names[j], what,
                    fn->names[j]);
            return CLI_USAGE;
        }
    }
    /* permute names/values/ownership into the function's order */
    cli_fn old = *fn;
    for (int i = 0; i < n; i++) {
        int j = cli_fn_var(&old, order[i]);
        fn->names[i] = old.names[j];
        fn->name_store[i] = old.name_store[j];
        fn->values[i] = old.values[j];
        fn->wrt[i] = true;
    }
    return CLI_OK;
}

static int arrange_expr(cli_fn *fn)
{
    int n = ad_expr_nvars(fn->expr);
    const char *order[CLI_MAX_VARS];
    if (n > CLI_MAX_VARS) {
        fprintf(stderr, "adscope %s: at most %d variables\n", fn->cmd, CLI_MAX_VARS);
        return CLI_USAGE;
    }
    for (int i = 0; i < n; i++) order[i] = ad_expr_var(fn->expr, i);
    return arrange(fn, n, order, "the expression");
}

/* A plugin's inputs: in the order it declares (SYMBOL_inputs), else in the
 * order of --var. */
static int arrange_plugin(cli_fn *fn)
{
    if (fn->declared) {
        const char *order[CLI_MAX_VARS];
        char names[1024];
        snprintf(names, sizeof names, "%s", fn->declared);
        int n = 0;
        for (char *tok = strtok(names, ", "); tok && n < CLI_MAX_VARS; tok = strtok(NULL, ", ")) order[n++] = tok;
        return arrange(fn, n, order, fn->label);
    }
    if (fn->nvars == 0) {
        fprintf(stderr, "adscope %s: the plugin needs its inputs: give them with --var NAME=VALUE\n", fn->cmd);
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
        int k = cli_fn_var(fn, tok);
        if (k < 0) {
            fprintf(stderr, "adscope %s: --wrt %s: there is no variable '%s'\n", fn->cmd, w, tok);
            return CLI_USAGE;
        }
        fn->wrt[k] = true;
    }
    return CLI_OK;
}

int cli_fn_load(cli_fn *fn, const cli_args *a, const char *expr, const char *plugin)
{
    if (plugin) return cli_plugin_open(fn, a, plugin);
    ad_expr_error err;
    fn->expr = ad_expr_parse(expr, &err);
    if (!fn->expr) {
        cli_print_expr_error(fn->cmd, "", expr, &err);
        return CLI_USAGE;
    }
    snprintf(fn->label, sizeof fn->label, "%s", expr);
    fn->problem.f = ad_expr_fn;
    fn->problem.user = fn->expr;
    return CLI_OK;
}

int cli_fn_ready(cli_fn *fn, const cli_args *a)
{
    int rc = fn->expr ? arrange_expr(fn) : arrange_plugin(fn);
    if (rc == CLI_OK) rc = cli_plugin_ready(fn);
    if (rc == CLI_OK) rc = apply_wrt(fn, a);
    if (rc != CLI_OK) return rc;
    fn->problem.ctx = fn->ctx;
    fn->problem.nin = fn->nvars;
    fn->problem.in = fn->values;
    fn->problem.wrt = fn->wrt;
    if (fn->nvars == 0) {
        fprintf(stderr, "adscope %s: '%s' has no variables: nothing to differentiate\n", fn->cmd, fn->label);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* --abi only for a plugin; --jacobian-symbol and --outputs only for --abi
 * c; one hand-written derivative at a time. */
static int check_abi(const cli_args *a, const char *plugin)
{
    const char *abi = cli_get(a, "abi");
    bool c_abi = abi && strcmp(abi, "c") == 0;
    const char *need_c = cli_get(a, "jacobian-symbol") ? "--jacobian-symbol" : cli_get(a, "outputs") ? "--outputs" : NULL;
    if (abi && !plugin) {
        fprintf(stderr, "adscope %s: --abi needs --plugin (an expression is always adscope's ops)\n", a->cmd);
        return CLI_USAGE;
    }
    if (need_c && !c_abi) {
        fprintf(stderr, "adscope %s: %s is for a plain-C plugin: add --abi c\n", a->cmd, need_c);
        return CLI_USAGE;
    }
    if (cli_get(a, "grad-symbol") && cli_get(a, "jacobian-symbol")) {
        fprintf(stderr, "adscope %s: give --grad-symbol (scalar f) or --jacobian-symbol (vector f), not both\n",
                a->cmd);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* EXPR xor --plugin, and --grad-symbol only with --plugin. */
static int check_source(const cli_args *a)
{
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
    return check_abi(a, plugin);
}

int cli_fn_from_args(cli_fn *fn, ad_ctx *ctx, const cli_args *a)
{
    cli_fn_init(fn, ctx, a->cmd);
    int rc = check_source(a);
    if (rc == CLI_OK) rc = cli_fn_bind_vars(fn, a);
    if (rc == CLI_OK) rc = cli_fn_load(fn, a, a->npos ? a->pos[0] : NULL, cli_get(a, "plugin"));
    return rc;
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
    fn->declared = NULL;
}

/* A plugin's result that breaks the contract (NULL with no error recorded,
 * a tensor of another context): the message, and NULL. */
static ad_tensor *contract_broken(const cli_fn *fn, ad_tensor *y)
{
    if (y && ad_tensor_ctx(y) != fn->ctx) {
        ad_tensor_free(y); /* its new reference, in its own context */
        fprintf(stderr, "adscope %s: %s returned a tensor of another context (build the result with the ad_ctx it "
                        "is given)\n", fn->cmd, fn->label);
        return NULL;
    }
    if (!y && ad_errno(fn->ctx) == AD_OK)
        fprintf(stderr, "adscope %s: %s returned NULL without recording an error\n", fn->cmd, fn->label);
    else if (!y) cli_report_error(fn);
    return y;
}

ad_tensor *cli_fn_eval(cli_fn *fn, bool grad)
{
    bool prev = ad_set_grad_enabled(fn->ctx, grad);
    ad_clear_error(fn->ctx); /* so that a NULL without a message can be told apart */
    ad_tensor *y = fn->problem.f(fn->ctx, fn->problem.in, fn->problem.user);
    ad_set_grad_enabled(fn->ctx, prev);
    if (!y || ad_tensor_ctx(y) != fn->ctx) return contract_broken(fn, y);
    return y;
}

ad_tensor *cli_fn_value(cli_fn *fn) { return cli_fn_eval(fn, false); }

void cli_report_error(const cli_fn *fn)
{
    if (fn->expr) {
        ad_expr_error e = ad_expr_last_error(fn->expr);
        if (e.status != AD_OK && e.pos >= 0) {
            cli_print_expr_error(fn->cmd, "", ad_expr_source(fn->expr), &e);
            return;
        }
    }
    fprintf(stderr, "adscope %s: %s\n", fn->cmd, ad_errmsg(fn->ctx));
}

void cli_fn_gradcheck_options(const cli_fn *fn, ad_gradcheck_options *o)
{
    o->names = fn->names;
    if (!fn->opaque) {
        o->user_grad = fn->user_grad;
        return;
    }
    ad_blackbox_check_options(&fn->bb, o);
}

/* Whether any entry of J (an AD Jacobian block) is non-zero. */
static bool any_nonzero(ad_tensor *J)
{
    ad_tensor *c = J ? ad_contiguous(J) : NULL;
    bool nz = false;
    for (int64_t q = 0; c && q < ad_numel(c) && !nz; q++) nz = ad_data(c)[q] != 0;
    ad_tensor_free(c);
    return nz;
}

static double max_abs(ad_tensor *y)
{
    ad_tensor *c = ad_contiguous(y);
    double m = 0;
    for (int64_t q = 0; c && q < ad_numel(c); q++) m = fmax(m, fabs(ad_data(c)[q]));
    ad_tensor_free(c);
    return m;
}

/* Whether differences see f move with input i: some entry beyond ten times
 * its own error estimate (and beyond rounding of f's scale). */
static bool moves(ad_tensor *D, ad_tensor *E, double fscale)
{
    ad_tensor *d = D ? ad_contiguous(D) : NULL, *e = E ? ad_contiguous(E) : NULL;
    bool yes = false;
    for (int64_t q = 0; d && q < ad_numel(d) && !yes; q++) {
        double err = e ? ad_data(e)[q] : 0;
        yes = fabs(ad_data(d)[q]) > 10 * err + 1e-8 * fscale;
    }
    ad_tensor_free(d);
    ad_tensor_free(e);
    return yes;
}

/* "x, y": the differentiated inputs whose AD block is zero but whose
 * difference block is not.  Returns how many. */
static int hidden_inputs(cli_fn *fn, ad_tensor **J, ad_tensor **D, ad_tensor **E, double fscale, char *buf,
                         size_t n)
{
    int k = 0;
    buf[0] = '\0';
    for (int i = 0; i < fn->nvars; i++) {
        if (!fn->wrt[i] || any_nonzero(J[i]) || !moves(D[i], E[i], fscale)) continue;
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", k++ ? ", " : "", fn->names[i]);
    }
    return k;
}

bool cli_fn_note_black_box(cli_fn *fn)
{
    if (fn->opaque || fn->nvars == 0) return false;
    ad_ctx *ctx = fn->ctx;
    int err0 = ad_errno(ctx);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *y = NULL, *J[CLI_MAX_VARS] = {0}, *D[CLI_MAX_VARS] = {0}, *E[CLI_MAX_VARS] = {0};
    const ad_backend *ad = ad_backend_with(AD_CAP_EXACT | AD_CAP_REVERSE), *ref = ad_backend_reference();
    bool ok = ad && ref && ad_jacobian(ad, &fn->problem, NULL, &y, J, NULL, NULL, NULL) == AD_OK &&
              ad_jacobian(ref, &fn->problem, NULL, NULL, D, E, NULL, NULL) == AD_OK;
    char names[512] = "";
    double fscale = ok ? max_abs(y) : 0;
    bool note = ok && hidden_inputs(fn, J, D, E, fmax(fscale, 1e-300), names, sizeof names) > 0;
    ad_scope_end(ctx, s, NULL);
    if (!ok && err0 == AD_OK) ad_clear_error(ctx); /* a hint that cannot be computed is no hint */
    if (note)
        fprintf(stderr,
                "adscope %s: note: f depends on %s but not through adscope ops: a black-box function? use --abi c\n",
                fn->cmd, names);
    return note;
}
