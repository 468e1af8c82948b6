/* cli/cmd_bench.c — adscope bench: the complexity harness on the
 * standard suite (and the user's own function), the result CSV, the
 * summary with fitted exponents beside theory, the charts; and adscope
 * merge, which joins result CSVs from shards or machines.  The work is
 * done by bench/ (bench.h); this file is options and output. */
#include <dlfcn.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"

const char CLI_HELP_BENCH[] =
    "NAME\n"
    "    adscope bench - time, memory and accuracy of every backend as the size grows\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope bench [--quick] [--functions LIST] [--backends LIST] [--sizes SIZES]\n"
    "                  [--reps N] [--min-time S] [--max-reps N] [--budget S] [--out DIR]\n"
    "                  [--seed S] [--shard I/N] [--no-plot] [--plot-format FMT]\n"
    "                  [--expr EXPR [--size-var NAME] [--var NAME=VALUE]... | --plugin PATH.so:SYMBOL]\n"
    "\n"
    "DESCRIPTION\n"
    "    Every cell of functions x backends x sizes: T_f (plain evaluation) and\n"
    "    T_grad (gradient or Jacobian), timed after a warm-up (min, median, max);\n"
    "    passes, sweeps, tape records and peak bytes (values, tangents, tape,\n"
    "    headers) of one call; peak RSS; errors against the analytic derivative\n"
    "    (or five-point differences).  A call predicted from the previous size (or\n"
    "    measured by its warm-up) to exceed --budget is skipped with the larger\n"
    "    sizes of its series.  Per function and backend, log T_grad and log peak\n"
    "    bytes are fitted against log size over the ok cells with T_grad >=\n"
    "    max(4 x the fastest, 50 us), shown beside theory, flagged when\n"
    "    |slope - theory| > max(0.3, 3 se).  Details: bench/README.md.\n"
    "    Writes DIR/results.csv, DIR/summary.txt and the charts; the summary goes to\n"
    "    stdout, progress to stderr (a bar on a terminal, else one line per cell).\n"
    "\n"
    "OPTIONS\n"
    "    --functions LIST   suite functions (rosenbrock, expsin, mlp, softmax_ce,\n"
    "                       chain, broadcast), 'all' (default) or 'none'.\n"
    "    --backends LIST    backends (default: all; 'adscope help backends').\n"
    "    --sizes SIZES      sizes for every function: 10,100,1000 or 10:1e6:x10\n"
    "                       (factor) or 1:1000:+100 (step), or a list mixing them.\n"
    "    --quick            small sweeps, --min-time 0.01, --budget 0.5.\n"
    "    --reps N           at least N timed repetitions (default 3) ...\n"
    "    --min-time S       ... and at least S seconds of them (default 0.1) ...\n"
    "    --max-reps N       ... but at most N (default 1000).\n"
    "    --budget S         seconds per cell (default 2): calls predicted over S are\n"
    "                       skipped; repetitions stop once S is used.\n"
    "    --out DIR          output directory (default bench-results).\n"
    "    --seed S           the context's seed (recorded in the CSV).\n"
    "    --shard I/N        run shard I (0 <= I < N): series (function, backend) j\n"
    "                       goes to shard j mod N; writes results.shard-I-of-N.csv.\n"
    "    --no-plot          no charts.   --plot-format FMT   png (default), svg, dumb.\n"
    "    --width K, --h H   backend options (see 'adscope grad --help').\n"
    "    --expr EXPR        a custom function, added to the suite functions selected.\n"
    "    --size-var NAME    its swept variable: gets x_i = 0.5 + 0.4 sin(i+1) of each\n"
    "                       size, and is the one differentiated (default: the only\n"
    "                       variable; a plugin's first input).\n"
    "    --var NAME=VALUE   its other variables (constants).\n"
    "    --plugin PATH.so:SYMBOL   a compiled custom function instead of EXPR.\n"
    "    --label NAME       its name in the CSV (default: EXPR or PATH:SYMBOL).\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success (disagreements with theory are reported, not errors); 1 a cell\n"
    "    failed; 2 usage or input error.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope bench --quick\n"
    "    adscope bench --functions chain --backends reverse,forward\n"
    "    adscope bench --functions none --expr 'sum(exp(x) * x)' --sizes 1e2:1e5:x10\n"
    "    adscope bench --shard 1/4 --out r1     # then: adscope merge r*/*.csv -o all.csv\n";

const char CLI_HELP_MERGE[] =
    "NAME\n"
    "    adscope merge - join result CSVs from shards or machines\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope merge A.csv B.csv ... [-o OUT.csv]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads result files written by 'adscope bench' and writes one table: the\n"
    "    first file's comment lines (a later file's differing value of a key is\n"
    "    kept as 'key[i]: value'), the rows of every file sorted by function,\n"
    "    backend and size.  The headers must be identical, and a cell (function,\n"
    "    backend, size) may appear only once.  With -o, the summary of the merged\n"
    "    results (fitted exponents beside theory, as 'adscope bench' prints it)\n"
    "    goes to stdout.\n"
    "\n"
    "OPTIONS\n"
    "    -o FILE, --out FILE   write to FILE instead of stdout.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 a file cannot be read, the headers differ, a duplicate cell,\n"
    "    or a usage error.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope bench --shard 0/2 --out a & adscope bench --shard 1/2 --out b; wait\n"
    "    adscope merge a/results.shard-0-of-2.csv b/results.shard-1-of-2.csv -o results.csv\n";

static const cli_opt OPTS[] = {
    {"functions", CLI_VALUE, "LIST"}, {"backends", CLI_VALUE, "LIST"},  {"sizes", CLI_VALUE, "SIZES"},
    {"reps", CLI_VALUE, "N"},         {"min-time", CLI_VALUE, "S"},     {"max-reps", CLI_VALUE, "N"},
    {"budget", CLI_VALUE, "S"},       {"out", CLI_VALUE, "DIR"},        {"quick", CLI_FLAG, NULL},
    {"seed", CLI_VALUE, "S"},         {"shard", CLI_VALUE, "I/N"},      {"no-plot", CLI_FLAG, NULL},
    {"plot-format", CLI_VALUE, "FMT"}, {"width", CLI_VALUE, "K"},       {"h", CLI_VALUE, "H"},
    {"expr", CLI_VALUE, "EXPR"},      {"size-var", CLI_VALUE, "NAME"},  {"var", CLI_MULTI, "NAME=VALUE"},
    {"plugin", CLI_VALUE, "PATH.so:SYMBOL"}, {"label", CLI_VALUE, "NAME"}, {"help", CLI_FLAG, NULL},
};
#define NOPTS ((int)(sizeof OPTS / sizeof OPTS[0]))

/* ---- the custom function -------------------------------------------------------------- */

typedef struct {
    ad_bench_fn base; /* first: the harness hands it back to custom_inputs */
    cli_fn *cf;
    int swept;        /* index of the swept input */
    char name[4608];
} custom;

static int custom_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t size, ad_tensor **in, bool *wrt)
{
    const custom *cu = (const custom *)fn;
    for (int i = 0; i < cu->cf->nvars; i++) {
        in[i] = i == cu->swept ? ad_bench_input(ctx, size) : ad_tensor_ref(cu->cf->values[i]);
        wrt[i] = i == cu->swept;
        if (!in[i]) return ad_errno(ctx);
    }
    return cu->cf->nvars;
}

/* The first input a plugin declares (SYMBOL_inputs), or "" if none. */
static void plugin_first_input(const char *spec, char *out, size_t n)
{
    out[0] = '\0';
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec) return;
    char path[4096], sym[300];
    size_t plen = (size_t)(colon - spec);
    if (plen + 3 >= sizeof path || strlen(colon + 1) + 8 >= sizeof sym) return;
    snprintf(path, sizeof path, "%s%.*s", memchr(spec, '/', plen) ? "" : "./", (int)plen, spec);
    snprintf(sym, sizeof sym, "%s_inputs", colon + 1);
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) return; /* cli_fn_open reports it */
    const char *const *decl = dlsym(dl, sym);
    if (decl && *decl) {
        size_t k = strcspn(*decl, ", ");
        snprintf(out, n, "%.*s", (int)k, *decl);
    }
    dlclose(dl);
}

/* Opens --expr/--plugin as a custom bench function.  Returns CLI_OK or
 * CLI_USAGE (printed). */
static int custom_open(custom *cu, cli_fn *cf, ad_ctx *ctx, const cli_args *a)
{
    const char *expr = cli_get(a, "expr"), *plugin = cli_get(a, "plugin");
    if (expr && plugin) {
        fprintf(stderr, "adscope bench: give either --expr or --plugin, not both\n");
        return CLI_USAGE;
    }
    char swept[256] = "";
    const char *sv = cli_get(a, "size-var");
    if (sv) {
        snprintf(swept, sizeof swept, "%s", sv);
    } else if (expr) {
        ad_expr_error e;
        ad_expr *x = ad_expr_parse(expr, &e);
        if (!x) {
            /* cli_fn_open prints the error with a caret under it */
            cli_args b = *a;
            b.npos = 1;
            b.pos[0] = expr;
            int rc = cli_fn_open(cf, ctx, &b);
            return rc == CLI_OK ? CLI_USAGE : rc;
        }
        if (ad_expr_nvars(x) == 1) snprintf(swept, sizeof swept, "%s", ad_expr_var(x, 0));
        int nv = ad_expr_nvars(x);
        ad_expr_free(x);
        if (nv != 1) {
            fprintf(stderr, "adscope bench: --expr has %d variables: say which one is swept with --size-var NAME\n",
                    nv);
            return CLI_USAGE;
        }
    } else {
        plugin_first_input(plugin, swept, sizeof swept);
        if (!swept[0] && cli_count(a, "var") > 0) {
            const char *v = cli_item(a, "var", 0), *eq = strchr(v, '=');
            if (eq) snprintf(swept, sizeof swept, "%.*s", (int)(eq - v), v);
        }
        if (!swept[0]) {
            fprintf(stderr, "adscope bench: --plugin %s declares no inputs: name the swept one with --size-var NAME\n",
                    plugin);
            return CLI_USAGE;
        }
    }
    /* the swept variable gets a placeholder binding; each size replaces it */
    cli_args b = *a;
    b.npos = 0;
    if (expr) b.pos[b.npos++] = expr;
    int kv = -1;
    for (int i = 0; i < b.nopts; i++)
        if (strcmp(b.opts[i].name, "var") == 0) kv = i;
    bool bound = false;
    size_t sl = strlen(swept);
    for (int i = 0; i < b.nmulti[kv]; i++)
        bound = bound || (strncmp(b.multi[kv][i], swept, sl) == 0 && b.multi[kv][i][sl] == '=');
    char placeholder[300];
    if (!bound) {
        if (b.nmulti[kv] == CLI_MAX_MULTI) {
            fprintf(stderr, "adscope bench: too many --var\n");
            return CLI_USAGE;
        }
        snprintf(placeholder, sizeof placeholder, "%s=0", swept);
        memmove(&b.multi[kv][1], &b.multi[kv][0], (size_t)b.nmulti[kv] * sizeof b.multi[kv][0]);
        b.multi[kv][0] = placeholder;
        b.nmulti[kv]++;
        b.set[kv] = true;
    }
    int rc = cli_fn_open(cf, ctx, &b);
    if (rc != CLI_OK) return rc;
    cu->cf = cf;
    cu->swept = -1;
    for (int i = 0; i < cf->nvars; i++)
        if (strcmp(cf->names[i], swept) == 0) cu->swept = i;
    if (cu->swept < 0) {
        fprintf(stderr, "adscope bench: --size-var %s: %s has no variable '%s'\n", swept, cf->label, swept);
        return CLI_USAGE;
    }
    const char *label = cli_get(a, "label");
    snprintf(cu->name, sizeof cu->name, "%s", label ? label : cf->label);
    cu->base = (ad_bench_fn){.name = cu->name,
                             .size_name = "n",
                             .definition = cf->label,
                             .auto_kind = true,
                             .f = cf->problem.f,
                             .user = cf->problem.user,
                             .make_inputs = custom_inputs,
                             .sizes = "10,30,100,300,1000,3000,10000,30000,100000",
                             .quick_sizes = "10,100,1000,10000"};
    for (int c = 0; c < AD_BENCH_NCLASS; c++) cu->base.theory_time[c] = cu->base.theory_mem[c] = NAN;
    return CLI_OK;
}

/* ---- options ------------------------------------------------------------------------------- */

/* Splits a comma list into items (into buf); returns the count. */
static int split(const char *s, char *buf, size_t n, const char **items, int max)
{
    snprintf(buf, n, "%s", s);
    int k = 0;
    for (char *tok = strtok(buf, ","); tok && k < max; tok = strtok(NULL, ",")) {
        while (*tok == ' ') tok++;
        items[k++] = tok;
    }
    return k;
}

static int parse_functions(const cli_args *a, const ad_bench_fn **fns, int *n)
{
    const char *spec = cli_get(a, "functions");
    *n = 0;
    if (!spec || strcmp(spec, "all") == 0) {
        for (int i = 0; i < ad_bench_suite_count(); i++) fns[(*n)++] = ad_bench_suite_at(i);
        return CLI_OK;
    }
    if (strcmp(spec, "none") == 0) return CLI_OK;
    char buf[1024];
    const char *items[64];
    int k = split(spec, buf, sizeof buf, items, 64);
    for (int i = 0; i < k; i++) {
        const ad_bench_fn *f = ad_bench_suite_find(items[i]);
        if (!f) {
            fprintf(stderr, "adscope bench: --functions: no suite function '%s' (the suite:", items[i]);
            for (int j = 0; j < ad_bench_suite_count(); j++)
                fprintf(stderr, "%s %s", j ? "," : "", ad_bench_suite_at(j)->name);
            fprintf(stderr, "; or all, none)\n");
            return CLI_USAGE;
        }
        bool dup = false;
        for (int j = 0; j < *n; j++) dup = dup || fns[j] == f;
        if (!dup) fns[(*n)++] = f;
    }
    if (*n == 0) {
        fprintf(stderr, "adscope bench: --functions '%s' names no function\n", spec);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int parse_backends(const cli_args *a, const ad_backend **bs, int *n)
{
    const char *spec = cli_get(a, "backends");
    *n = 0;
    if (!spec || strcmp(spec, "all") == 0) {
        for (int i = 0; i < ad_backend_count() && *n < 64; i++) bs[(*n)++] = ad_backend_at(i);
        return CLI_OK;
    }
    char buf[1024];
    const char *items[64];
    int k = split(spec, buf, sizeof buf, items, 64);
    for (int i = 0; i < k; i++) {
        const ad_backend *b = cli_backend("bench", items[i]);
        if (!b) return CLI_USAGE;
        bool dup = false;
        for (int j = 0; j < *n; j++) dup = dup || bs[j] == b;
        if (!dup) bs[(*n)++] = b;
    }
    if (*n == 0) {
        fprintf(stderr, "adscope bench: --backends '%s' names no backend\n", spec);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int parse_shard(const char *s, int *i, int *n)
{
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    bool ok = end != s && *end == '/' && !errno;
    long b = 0;
    if (ok) {
        const char *p = end + 1;
        b = strtol(p, &end, 10);
        ok = end != p && !*end && !errno;
    }
    if (!ok || b < 1 || b > 100000 || a < 0 || a >= b) {
        fprintf(stderr, "adscope bench: --shard expects I/N with 0 <= I < N (e.g. 0/4 ... 3/4), not '%s'\n", s);
        return CLI_USAGE;
    }
    *i = (int)a;
    *n = (int)b;
    return CLI_OK;
}

/* mkdir -p */
static int make_dir(const char *path)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
        p[i] = c;
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* The command line, shell-quoted where needed. */
static void command_line(char *buf, size_t n, int argc, char **argv)
{
    size_t l = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && l + 1 < n; i++) {
        const char *s = i == 0 ? "adscope" : argv[i];
        bool plain = *s != '\0';
        for (const char *p = s; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,+", *p)) plain = false;
        if (plain) {
            l += (size_t)snprintf(buf + l, n - l, "%s%s", i ? " " : "", s);
        } else {
            l += (size_t)snprintf(buf + l, n - l, "%s'", i ? " " : "");
            for (const char *p = s; *p && l + 5 < n; p++) {
                if (*p == '\'') l += (size_t)snprintf(buf + l, n - l, "'\\''");
                else buf[l++] = *p;
            }
            if (l + 1 < n) buf[l++] = '\'';
            buf[l < n ? l : n - 1] = '\0';
        }
        if (l >= n) break;
    }
}

static int write_table(const char *path, const ad_bench_table *t)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "adscope bench: cannot write %s: %s\n", path, strerror(errno));
        return CLI_USAGE;
    }
    int w = ad_bench_table_write(f, t);
    if (fclose(f) != 0 || w != 0) {
        fprintf(stderr, "adscope bench: error writing %s\n", path);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* ---- adscope bench ------------------------------------------------------------------------------ */

/* One BLAS thread unless the environment says otherwise: OpenBLAS starts
 * threads above size thresholds of its own, which would bend the measured
 * exponents (mlp's matrix-vector products) by a speed-up that changes with
 * n.  Looked up at run time, so any CBLAS works.  Returns what goes in the
 * CSV's "blas_threads" comment. */
static const char *blas_threads(char *buf, size_t n)
{
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    if (!env) env = getenv("OMP_NUM_THREADS");
    void *self = dlopen(NULL, RTLD_NOW);
    void *set = self ? dlsym(self, "openblas_set_num_threads") : NULL;
    void *get = self ? dlsym(self, "openblas_get_num_threads") : NULL;
    if (set && !env) {
        void (*setf)(int);
        memcpy(&setf, &set, sizeof setf);
        setf(1);
    }
    if (get) {
        int (*getf)(void);
        memcpy(&getf, &get, sizeof getf);
        snprintf(buf, n, "%d (%s)", getf(), env ? "from the environment" : "set by adscope bench");
    } else {
        snprintf(buf, n, "%s", env ? env : "the BLAS's default");
    }
    if (self) dlclose(self);
    return buf;
}

/* glibc returns freed memory at the top of the heap to the system (above
 * 128 kB) and serves large blocks by mmap, so a repetition would pay again
 * the page faults its warm-up paid, depending on where its blocks landed.
 * The harness keeps freed memory in the process instead: repetitions then
 * time the computation (and malloc), not the kernel zeroing pages.
 * Returns what goes in the CSV's "allocator" comment. */
static const char *keep_freed_memory(void)
{
#ifdef __GLIBC__
    if (mallopt(M_MMAP_THRESHOLD, 32 << 20) && mallopt(M_TRIM_THRESHOLD, 1 << 30))
        return "glibc malloc, freed memory kept in the process (M_TRIM_THRESHOLD 1 GiB, M_MMAP_THRESHOLD 32 MiB)";
    return "glibc malloc (mallopt refused: default trimming)";
#else
    return "system malloc (defaults)";
#endif
}

int cmd_bench(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "bench", OPTS, NOPTS, argc, argv, 2);
    if (rc != CLI_OK) return rc;
    if (cli_has(&a, "help")) return cli_help_of("bench");
    if (a.npos > 0) {
        fprintf(stderr, "adscope bench: unexpected argument '%s' (a custom function goes in --expr 'EXPR')\n",
                a.pos[0]);
        return CLI_USAGE;
    }
    bool quick = cli_has(&a, "quick");
    ad_bench_config cfg;
    ad_bench_config_defaults(&cfg, quick);
    long long reps, max_reps;
    double min_time, budget;
    if (cli_int(&a, "reps", cfg.min_reps, 1, 100000, &reps) || cli_int(&a, "max-reps", cfg.max_reps, 1, 1000000, &max_reps) ||
        cli_double(&a, "min-time", cfg.min_time, 0, 3600, &min_time) ||
        cli_double(&a, "budget", cfg.budget, 1e-4, 86400, &budget) || cli_backend_opts(&a, &cfg.opts))
        return CLI_USAGE;
    if (max_reps < reps) {
        fprintf(stderr, "adscope bench: --max-reps %lld is below --reps %lld\n", max_reps, reps);
        return CLI_USAGE;
    }
    cfg.min_reps = (int)reps;
    cfg.max_reps = (int)max_reps;
    cfg.min_time = min_time;
    cfg.budget = budget;
    if (cli_get(&a, "shard") && parse_shard(cli_get(&a, "shard"), &cfg.shard, &cfg.nshards)) return CLI_USAGE;
    const char *fmt = cli_get(&a, "plot-format") ? cli_get(&a, "plot-format") : "png";
    if (strcmp(fmt, "png") && strcmp(fmt, "svg") && strcmp(fmt, "dumb")) {
        fprintf(stderr, "adscope bench: --plot-format expects png, svg or dumb, not '%s'\n", fmt);
        return CLI_USAGE;
    }
    bool want_custom = cli_get(&a, "expr") || cli_get(&a, "plugin");
    if (!want_custom && (cli_get(&a, "size-var") || cli_count(&a, "var") || cli_get(&a, "label"))) {
        fprintf(stderr, "adscope bench: --size-var, --var and --label describe a custom function: add --expr EXPR or "
                        "--plugin PATH.so:SYMBOL\n");
        return CLI_USAGE;
    }
    const ad_bench_fn *fns[64];
    const ad_backend *bs[64];
    int nfns, nbs;
    if (parse_functions(&a, fns, &nfns) || parse_backends(&a, bs, &nbs)) return CLI_USAGE;
    if (nfns == 0 && !want_custom) {
        fprintf(stderr, "adscope bench: --functions none and no --expr or --plugin: nothing to run\n");
        return CLI_USAGE;
    }
    int64_t *sizes = NULL;
    int nsizes = 0;
    if (cli_get(&a, "sizes")) {
        char err[512];
        if (ad_bench_parse_sizes(cli_get(&a, "sizes"), &sizes, &nsizes, err, sizeof err)) {
            fprintf(stderr, "adscope bench: --sizes: %s\n", err);
            return CLI_USAGE;
        }
        cfg.sizes = sizes;
        cfg.nsizes = nsizes;
    }
    const char *out = cli_get(&a, "out") ? cli_get(&a, "out") : "bench-results";

    ad_ctx *ctx = cli_ctx_new(&a, &rc);
    if (!ctx) {
        free(sizes);
        return rc;
    }
    long long seed = 0;
    cli_int(&a, "seed", 0, 0, INT64_MAX, &seed);
    cli_fn cf;
    memset(&cf, 0, sizeof cf);
    custom *cu = NULL;
    ad_scope s = ad_scope_begin(ctx);
    if (want_custom) {
        cu = calloc(1, sizeof *cu);
        rc = cu ? custom_open(cu, &cf, ctx, &a) : CLI_USAGE;
        if (rc == CLI_OK && nfns < 64) fns[nfns++] = &cu->base;
    }
    ad_bench_table t;
    memset(&t, 0, sizeof t);
    char path[4200], spath[4200];
    if (rc == CLI_OK && make_dir(out) != 0) {
        fprintf(stderr, "adscope bench: cannot create the directory %s: %s\n", out, strerror(errno));
        rc = CLI_USAGE;
    }
    if (cfg.nshards > 1) snprintf(path, sizeof path, "%s/results.shard-%d-of-%d.csv", out, cfg.shard, cfg.nshards);
    else snprintf(path, sizeof path, "%s/results.csv", out);
    if (cfg.nshards > 1) snprintf(spath, sizeof spath, "%s/summary.shard-%d-of-%d.txt", out, cfg.shard, cfg.nshards);
    else snprintf(spath, sizeof spath, "%s/summary.txt", out);
    int failed = 0;
    if (rc == CLI_OK) {
        char cmd[8192], err[512];
        command_line(cmd, sizeof cmd, argc, argv);
        const char *alloc = keep_freed_memory();
        char threads[128];
        if (ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns) || ad_bench_describe(&t, (uint64_t)seed, cmd) ||
            ad_bench_table_comment(&t, "blas_threads", blas_threads(threads, sizeof threads)) ||
            ad_bench_table_comment(&t, "allocator", alloc)) {
            fprintf(stderr, "adscope bench: out of memory\n");
            rc = CLI_USAGE;
        }
        ad_bench_progress_printer pp = {.f = stderr, .tty = isatty(2) != 0};
        cfg.nfns = nfns;
        cfg.fns = fns;
        cfg.nbackends = nbs;
        cfg.backends = bs;
        cfg.progress = ad_bench_progress_print;
        cfg.progress_ud = &pp;
        if (rc == CLI_OK) {
            int64_t total = ad_bench_plan(&cfg, NULL, 0, err, sizeof err);
            if (total < 0) {
                fprintf(stderr, "adscope bench: %s\n", err);
                rc = CLI_USAGE;
            } else if (total == 0) {
                fprintf(stderr, "adscope bench: shard %d/%d has no cells (%d series)\n", cfg.shard, cfg.nshards,
                        nfns * nbs);
            } else {
                fprintf(stderr, "adscope bench: %lld cells (%d function%s x %d backend%s x sizes%s), budget %g s per cell\n",
                        (long long)total, nfns, nfns == 1 ? "" : "s", nbs, nbs == 1 ? "" : "s",
                        cfg.nshards > 1 ? ", this shard" : "", cfg.budget);
            }
        }
        if (rc == CLI_OK) {
            failed = ad_bench_run(ctx, &cfg, &t, err, sizeof err);
            ad_bench_progress_done(&pp);
            if (failed < 0) {
                fprintf(stderr, "adscope bench: %s\n", err);
                rc = CLI_USAGE;
            }
        }
    }
    if (rc == CLI_OK) rc = write_table(path, &t);
    if (rc == CLI_OK) {
        ad_bench_series *ser = NULL;
        int nser = 0;
        if (ad_bench_summarize(&t, &ser, &nser) == 0) {
            ad_bench_summary_print(stdout, ser, nser);
            FILE *sf = fopen(spath, "w");
            if (sf) {
                ad_bench_summary_print(sf, ser, nser);
                fclose(sf);
            }
        }
        free(ser);
        printf("\nresults: %s\nsummary: %s\n", path, spath);
        fflush(stdout);
        if (cfg.nshards > 1) {
            printf("charts:  not drawn for a shard: merge the shards (adscope merge ... -o all.csv), then adscope "
                   "plot all.csv\n");
        } else if (!cli_has(&a, "no-plot")) {
            if (cli_plot_results(path, out, fmt) == CLI_OK)
                printf("charts:  %s/\n", out);
            else
                fprintf(stderr, "adscope bench: warning: the charts were not drawn (see above); the results are in %s\n",
                        path);
        }
        if (failed > 0) {
            fprintf(stderr, "adscope bench: %d cell%s failed (status 'failed', the reason in 'note')\n", failed,
                    failed == 1 ? "" : "s");
            rc = CLI_FAILED;
        }
    }
    ad_bench_table_free(&t);
    ad_scope_end(ctx, s, NULL);
    if (cu) cli_fn_close(&cf);
    free(cu);
    free(sizes);
    ad_ctx_free(ctx);
    return rc;
}

/* ---- adscope merge --------------------------------------------------------------------------------- */

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    const char **files = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *files);
    if (!files) return CLI_USAGE;
    int n = 0;
    bool only_files = false;
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (!only_files && (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)) {
            free(files);
            return cli_help_of("merge");
        }
        if (!only_files && strcmp(s, "--") == 0) {
            only_files = true;
        } else if (!only_files && (strcmp(s, "-o") == 0 || strcmp(s, "--out") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "adscope merge: option '%s' needs a value (FILE)\n", s);
                free(files);
                return CLI_USAGE;
            }
            if (out) {
                fprintf(stderr, "adscope merge: option '-o' given twice\n");
                free(files);
                return CLI_USAGE;
            }
            out = argv[++i];
        } else if (!only_files && strncmp(s, "--out=", 6) == 0) {
            out = s + 6;
        } else if (!only_files && s[0] == '-' && s[1]) {
            fprintf(stderr, "adscope merge: unknown option '%s' (see 'adscope merge --help')\n", s);
            free(files);
            return CLI_USAGE;
        } else {
            files[n++] = s;
        }
    }
    if (n == 0) {
        fprintf(stderr, "adscope merge: no files to merge (adscope merge A.csv B.csv ... [-o OUT])\n");
        free(files);
        return CLI_USAGE;
    }
    ad_bench_table t;
    char err[1024];
    if (ad_bench_merge(n, files, &t, err, sizeof err) != 0) {
        fprintf(stderr, "adscope merge: %s\n", err);
        free(files);
        return CLI_USAGE;
    }
    int rc = CLI_OK;
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "adscope merge: cannot write %s: %s\n", out, strerror(errno));
        rc = CLI_USAGE;
    } else {
        int w = ad_bench_table_write(f, &t);
        if ((out ? fclose(f) : fflush(f)) != 0 || w != 0) {
            fprintf(stderr, "adscope merge: error writing %s\n", out ? out : "stdout");
            rc = CLI_USAGE;
        } else if (out) {
            /* the CSV went to a file: the summary of the whole goes to stdout */
            ad_bench_series *ser = NULL;
            int nser = 0;
            if (ad_bench_summarize(&t, &ser, &nser) == 0) ad_bench_summary_print(stdout, ser, nser);
            free(ser);
            fprintf(stderr, "adscope merge: %lld rows from %d file%s into %s\n", (long long)t.nrows, n,
                    n == 1 ? "" : "s", out);
        }
    }
    ad_bench_table_free(&t);
    free(files);
    return rc;
}
