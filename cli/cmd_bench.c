/* cli/cmd_bench.c — adscope bench: the complexity harness on the
 * standard suite (and the user's own function), the result CSV, the
 * summary with fitted exponents beside theory, the charts; and adscope
 * merge, which joins result CSVs from shards or machines.  The work is
 * done by bench/ (bench.h); this file is options and output. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "bench_custom.h"
#include "cli.h"

/* The fit's overhead floor in the text below comes from bench.h's
 * constants, so the help cannot state another floor than the code uses. */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char HELP[] =
    "NAME\n"
    "    adscope bench - time, memory and accuracy of every backend as the size grows\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope bench [--quick] [--functions LIST] [--backends LIST] [--sizes SIZES]\n"
    "                  [--reps N] [--min-time S] [--max-reps N] [--budget S] [--out DIR]\n"
    "                  [--seed S] [--shard I/N] [--no-plot] [--plot-format FMT]\n"
    "                  [--rounds N] [--threads N]\n"
    "                  [--expr EXPR [--size-var NAME] [--var NAME=VALUE]... | --plugin PATH.so:SYMBOL]\n"
    "\n"
    "DESCRIPTION\n"
    "    Every cell of functions x backends x sizes: T_f and T_grad (timed after\n"
    "    a warm-up, in interleaved rounds: min, median, max; the best round median\n"
    "    and the rounds' spread), passes, sweeps, tape records, peak bytes, peak\n"
    "    RSS, errors against the analytic derivative (or five-point differences).\n"
    "    Calls predicted over --budget are skipped with the larger sizes.  Per\n"
    "    function and backend, log T_grad and log peak bytes are fitted against\n"
    "    log size over the ok cells not too noisy with T_grad >=\n"
    "    max(" STR(AD_BENCH_FLOOR_FACTOR) " x the fastest, " STR(AD_BENCH_FLOOR_SECONDS) " s);\n"
    "    DISAGREES when the slope's confidence interval lies outside theory +- "STR(AD_BENCH_TOLERANCE)"\n"
    "    (bench/README.md).\n"
    "    Writes DIR/results.csv, DIR/summary.txt and the charts; the summary goes to\n"
    "    stdout, progress to stderr (a bar on a terminal, else one line per cell).\n"
    "\n"
    "OPTIONS\n"
    "    --functions LIST   suite functions (rosenbrock, expsin, mlp, softmax_ce,\n"
    "                       chain, broadcast), 'all' (default) or 'none'; and\n"
    "                       GradBench's evals, each over its size parameter:\n"
    "                       gb:llsq, gb:lse, gb:det, gb:ode, gb:kmeans, gb:gmm,\n"
    "                       gb:lstm, gb:ht.\n"
    "    --backends LIST    backends (default: all; 'adscope help backends').\n"
    "    --sizes SIZES      sizes for every function: 10,100,1000 or 10:1e6:x10\n"
    "                       (factor) or 1:1000:+100 (step), or a list mixing them.\n"
    "    --quick            small sweeps, --min-time 0.01, --budget 0.5.\n"
    "    --reps N           at least N timed repetitions (default 3) ...\n"
    "    --min-time S       ... and at least S seconds of them (default 0.1) ...\n"
    "    --max-reps N       ... but at most N (default 1000).\n"
    "    --budget S         seconds per cell (default 2): calls predicted over S are\n"
    "                       skipped; repetitions stop once S is used.\n"
    "    --rounds N         interleaved rounds the repetitions are spread over\n"
    "                       (default 5; 1 times the backends one after another).\n"
    "    --threads N        threads per operation and for the BLAS (default 1:\n"
    "                       the exponents then measure the algorithm, not the\n"
    "                       speed-up; recorded in the CSV's comments).\n"
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

static const cli_opt OPTS[] = {
    {"functions", CLI_VALUE, "LIST"}, {"backends", CLI_VALUE, "LIST"},  {"sizes", CLI_VALUE, "SIZES"},
    {"reps", CLI_VALUE, "N"},         {"min-time", CLI_VALUE, "S"},     {"max-reps", CLI_VALUE, "N"},
    {"budget", CLI_VALUE, "S"},       {"out", CLI_VALUE, "DIR"},        {"quick", CLI_FLAG, NULL},
    {"seed", CLI_VALUE, "S"},         {"shard", CLI_VALUE, "I/N"},      {"no-plot", CLI_FLAG, NULL},
    {"plot-format", CLI_VALUE, "FMT"}, {"width", CLI_VALUE, "K"},       {"h", CLI_VALUE, "H"},
    {"expr", CLI_VALUE, "EXPR"},      {"size-var", CLI_VALUE, "NAME"},  {"var", CLI_MULTI, "NAME=VALUE"},
    {"plugin", CLI_VALUE, "PATH.so:SYMBOL"}, {"label", CLI_VALUE, "NAME"}, {"rounds", CLI_VALUE, "N"},
    {"threads", CLI_VALUE, "N"},      {"help", CLI_FLAG, NULL},
};
#define NOPTS ((int)(sizeof OPTS / sizeof OPTS[0]))

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
            fprintf(stderr, "; or all, none; or GradBench's");
            for (int j = 0; j < ad_bench_gradbench_count(); j++)
                fprintf(stderr, " %s", ad_bench_gradbench_at(j)->name);
            fprintf(stderr, ")\n");
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

/* The result file, written while the cells are measured. */
typedef struct {
    FILE *f;
    const char *path;
} csv_out;

/* cfg.row: each row goes to the file (flushed) as soon as it is measured,
 * so a crash or Ctrl-C keeps every finished cell. */
static int write_row(void *ud, const ad_bench_table *t, int64_t r)
{
    csv_out *o = ud;
    if (ad_bench_table_write_row(o->f, t, r) == 0) return 0;
    fprintf(stderr, "adscope bench: error writing %s: %s\n", o->path, strerror(errno));
    return -1;
}

/* Opens path for writing before any cell runs: an unwritable --out fails
 * at once, not after the whole sweep. */
static FILE *open_output(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "adscope bench: cannot write %s: %s (is --out writable?)\n", path, strerror(errno));
    return f;
}

/* ---- adscope bench ------------------------------------------------------------------------------ */

/* The threads of the run: --threads N (default 1) for adscope's own
 * kernels and the BLAS alike (ad_set_num_threads).  One by default because
 * OpenBLAS and OpenMP start threads above size thresholds of their own,
 * which would bend the measured exponents by a speed-up that changes with
 * n.  Fills the CSV's "threads" and "blas_threads" comments. */
static int set_threads(int n, char *threads, size_t tn, char *blas, size_t bn)
{
    if (ad_set_num_threads(n) != AD_OK) return -1;
    snprintf(threads, tn, "%d (--threads; intra-op kernels %s)", n,
             ad_threads_openmp() ? "with OpenMP" : "serial: built without OpenMP");
    int b = ad_blas_num_threads();
    if (b >= 0) snprintf(blas, bn, "%d (set by adscope bench)", b);
    else snprintf(blas, bn, "the BLAS's default (%s cannot be asked)", ad_blas_name());
    return 0;
}

/* The harness measures what a user gets: the C library's malloc with its
 * defaults (no mallopt), and the context's own recycling (small pools, the
 * cache of large blocks, src/ctx.c), which is what keeps a repeated
 * gradient from faulting its pages in again.  Returns what goes in the
 * CSV's "allocator" comment. */
static const char *allocator_policy(const ad_ctx *ctx, char *buf, size_t n)
{
    int64_t cap = ad_ctx_cache_limit(ctx);
    if (cap > 0)
        snprintf(buf, n, "system malloc (defaults); context recycling: small pools, large-block cache of %lld MiB",
                 (long long)(cap >> 20));
    else
        snprintf(buf, n, "system malloc (defaults); context recycling: small pools, no large-block cache");
    return buf;
}

#define MAX_SELECTED 64

typedef struct {
    ad_bench_config cfg;
    int64_t *sizes; /* --sizes, owned */
    const ad_bench_fn *fns[MAX_SELECTED + 1]; /* + the custom function */
    const ad_backend *bs[MAX_SELECTED];
    int nfns, nbs;
    const char *fmt, *out;
    bool want_custom;
    int threads; /* --threads */
} bench_opts;

/* --quick, --reps, --max-reps, --min-time, --budget, backend options,
 * --shard, --plot-format. */
static int config_options(const cli_args *a, bench_opts *o)
{
    ad_bench_config *cfg = &o->cfg;
    ad_bench_config_defaults(cfg, cli_has(a, "quick"));
    long long reps, max_reps, rounds, threads;
    if (cli_int(a, "rounds", cfg->rounds, 1, AD_BENCH_MAX_ROUNDS, &rounds) ||
        cli_int(a, "threads", 1, 1, AD_MAX_THREADS, &threads) || cli_int(a, "reps", cfg->min_reps, 1, 100000, &reps) ||
        cli_int(a, "max-reps", cfg->max_reps, 1, 1000000, &max_reps) ||
        cli_double(a, "min-time", cfg->min_time, 0, 3600, &cfg->min_time) ||
        cli_double(a, "budget", cfg->budget, 1e-4, 86400, &cfg->budget) || cli_backend_opts(a, &cfg->opts))
        return CLI_USAGE;
    if (max_reps < reps) {
        fprintf(stderr, "adscope bench: --max-reps %lld is below --reps %lld\n", max_reps, reps);
        return CLI_USAGE;
    }
    cfg->min_reps = (int)reps;
    cfg->max_reps = (int)max_reps;
    cfg->rounds = (int)rounds;
    o->threads = (int)threads;
    if (cli_get(a, "shard") && parse_shard(cli_get(a, "shard"), &cfg->shard, &cfg->nshards)) return CLI_USAGE;
    o->fmt = cli_get(a, "plot-format") ? cli_get(a, "plot-format") : "png";
    if (strcmp(o->fmt, "png") && strcmp(o->fmt, "svg") && strcmp(o->fmt, "dumb")) {
        fprintf(stderr, "adscope bench: --plot-format expects png, svg or dumb, not '%s'\n", o->fmt);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* What runs: --functions (and the custom function), --backends, --sizes. */
static int selection_options(const cli_args *a, bench_opts *o)
{
    o->want_custom = cli_get(a, "expr") || cli_get(a, "plugin");
    if (!o->want_custom && (cli_get(a, "size-var") || cli_count(a, "var") || cli_get(a, "label"))) {
        fprintf(stderr, "adscope bench: --size-var, --var and --label describe a custom function: add --expr EXPR or "
                        "--plugin PATH.so:SYMBOL\n");
        return CLI_USAGE;
    }
    if (parse_functions(a, o->fns, &o->nfns) || parse_backends(a, o->bs, &o->nbs)) return CLI_USAGE;
    if (o->nfns == 0 && !o->want_custom) {
        fprintf(stderr, "adscope bench: --functions none and no --expr or --plugin: nothing to run\n");
        return CLI_USAGE;
    }
    if (cli_get(a, "sizes")) {
        char err[512];
        int nsizes = 0;
        if (ad_bench_parse_sizes(cli_get(a, "sizes"), &o->sizes, &nsizes, err, sizeof err)) {
            fprintf(stderr, "adscope bench: --sizes: %s\n", err);
            return CLI_USAGE;
        }
        o->cfg.sizes = o->sizes;
        o->cfg.nsizes = nsizes;
    }
    o->out = cli_get(a, "out") ? cli_get(a, "out") : "bench-results";
    return CLI_OK;
}

static int options(const cli_args *a, void *opts)
{
    if (a->npos > 0) {
        fprintf(stderr, "adscope bench: unexpected argument '%s' (a custom function goes in --expr 'EXPR')\n",
                a->pos[0]);
        return CLI_USAGE;
    }
    int rc = config_options(a, opts);
    return rc == CLI_OK ? selection_options(a, opts) : rc;
}

static void release(void *opts)
{
    free(((bench_opts *)opts)->sizes);
}

/* The CSV's comments: the machine, the seed, the command line, threads,
 * BLAS threads, the allocator. */
static int describe(cli_call *c, ad_bench_table *t)
{
    long long seed = 0;
    cli_int(c->args, "seed", 0, 0, INT64_MAX, &seed);
    char cmd[8192], threads[128], blas[128], policy[160];
    command_line(cmd, sizeof cmd, c->argc, c->argv);
    if (set_threads(((const bench_opts *)c->opts)->threads, threads, sizeof threads, blas, sizeof blas) != 0) {
        fprintf(stderr, "adscope bench: --threads: %d threads could not be set\n",
                ((const bench_opts *)c->opts)->threads);
        return CLI_USAGE;
    }
    const char *alloc = allocator_policy(c->ctx, policy, sizeof policy);
    if (ad_bench_table_init(t, AD_BENCH_NCOLS, ad_bench_columns) || ad_bench_describe(t, (uint64_t)seed, cmd) ||
        ad_bench_table_comment(t, "threads", threads) || ad_bench_table_comment(t, "blas_threads", blas) ||
        ad_bench_table_comment(t, "allocator", alloc)) {
        fprintf(stderr, "adscope bench: out of memory\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* How many cells, on stderr, before the run. */
static int plan(const ad_bench_config *cfg)
{
    char err[512];
    int64_t total = ad_bench_plan(cfg, NULL, 0, err, sizeof err);
    if (total < 0) {
        fprintf(stderr, "adscope bench: %s\n", err);
        return CLI_USAGE;
    }
    if (total == 0) {
        fprintf(stderr, "adscope bench: shard %d/%d has no cells (%d series)\n", cfg->shard, cfg->nshards,
                cfg->nfns * cfg->nbackends);
        return CLI_OK;
    }
    fprintf(stderr, "adscope bench: %lld cells (%d function%s x %d backend%s x sizes%s), budget %g s per cell\n",
            (long long)total, cfg->nfns, cli_plural(cfg->nfns, "s"), cfg->nbackends, cli_plural(cfg->nbackends, "s"),
            cfg->nshards > 1 ? ", this shard" : "", cfg->budget);
    return CLI_OK;
}

/* Every cell into t and, row by row, into out; *failed counts the failed
 * cells. */
static int run_cells(cli_call *c, bench_opts *o, ad_bench_table *t, csv_out *out, int *failed)
{
    if (describe(c, t) != CLI_OK) return CLI_USAGE;
    if (ad_bench_table_write_head(out->f, t) != 0) {
        fprintf(stderr, "adscope bench: error writing %s: %s\n", out->path, strerror(errno));
        return CLI_USAGE;
    }
    ad_bench_progress_printer pp = {.f = stderr, .tty = isatty(2) != 0};
    ad_bench_config *cfg = &o->cfg;
    cfg->nfns = o->nfns;
    cfg->fns = o->fns;
    cfg->nbackends = o->nbs;
    cfg->backends = o->bs;
    cfg->progress = ad_bench_progress_print;
    cfg->progress_ud = &pp;
    cfg->row = write_row;
    cfg->row_ud = out;
    if (plan(cfg) != CLI_OK) return CLI_USAGE;
    char err[512];
    *failed = ad_bench_run(c->ctx, cfg, t, err, sizeof err);
    ad_bench_progress_done(&pp);
    if (*failed < 0) {
        fprintf(stderr, "adscope bench: %s\n", err);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* The summary (stdout and sf, opened before the run), where the results
 * are, the charts. */
static void report(const cli_call *c, const bench_opts *o, const ad_bench_table *t, const char *path, FILE *sf,
                   const char *spath)
{
    ad_bench_series *ser = NULL;
    int nser = 0;
    if (ad_bench_summarize(t, &ser, &nser) == 0) {
        ad_bench_summary_print(stdout, ser, nser);
        ad_bench_summary_print(sf, ser, nser);
    }
    if (fflush(sf) != 0 || ferror(sf))
        fprintf(stderr, "adscope bench: error writing %s: %s\n", spath, strerror(errno));
    free(ser);
    printf("\nresults: %s\nsummary: %s\n", path, spath);
    fflush(stdout);
    if (o->cfg.nshards > 1) {
        printf("charts:  not drawn for a shard: merge the shards (adscope merge ... -o all.csv), then adscope "
               "plot all.csv\n");
    } else if (!cli_has(c->args, "no-plot")) {
        if (cli_plot_results(path, o->out, o->fmt) == CLI_OK)
            printf("charts:  %s/\n", o->out);
        else
            fprintf(stderr, "adscope bench: warning: the charts were not drawn (see above); the results are in %s\n",
                    path);
    }
}

/* DIR/results.csv and DIR/summary.txt, or per shard. */
static void result_paths(const bench_opts *o, char *path, size_t pn, char *spath, size_t sn)
{
    const ad_bench_config *cfg = &o->cfg;
    if (cfg->nshards > 1) {
        snprintf(path, pn, "%s/results.shard-%d-of-%d.csv", o->out, cfg->shard, cfg->nshards);
        snprintf(spath, sn, "%s/summary.shard-%d-of-%d.txt", o->out, cfg->shard, cfg->nshards);
    } else {
        snprintf(path, pn, "%s/results.csv", o->out);
        snprintf(spath, sn, "%s/summary.txt", o->out);
    }
}

/* The directory and both result files, opened before the first cell. */
static int open_outputs(const bench_opts *o, csv_out *csv, const char *path, FILE **sf, const char *spath)
{
    if (make_dir(o->out) != 0) {
        fprintf(stderr, "adscope bench: cannot create the directory %s: %s\n", o->out, strerror(errno));
        return CLI_USAGE;
    }
    *csv = (csv_out){.f = open_output(path), .path = path};
    *sf = csv->f ? open_output(spath) : NULL;
    return *sf ? CLI_OK : CLI_USAGE;
}

/* Closes the result file; an error there loses data: exit 2. */
static int close_csv(csv_out *csv)
{
    if (!csv->f) return CLI_OK;
    int bad = fclose(csv->f) != 0;
    csv->f = NULL;
    if (!bad) return CLI_OK;
    fprintf(stderr, "adscope bench: error writing %s: %s\n", csv->path, strerror(errno));
    return CLI_USAGE;
}

static int run(cli_call *c)
{
    bench_opts *o = c->opts;
    cli_bench_custom *cu = NULL;
    int rc = CLI_OK, failed = 0;
    if (o->want_custom) {
        cu = calloc(1, sizeof *cu);
        rc = cu ? cli_bench_custom_open(cu, c->ctx, c->args) : CLI_USAGE;
        if (rc == CLI_OK) o->fns[o->nfns++] = &cu->base;
    }
    ad_bench_table t;
    memset(&t, 0, sizeof t);
    char path[4200], spath[4200];
    result_paths(o, path, sizeof path, spath, sizeof spath);
    csv_out csv = {0};
    FILE *sf = NULL;
    if (rc == CLI_OK) rc = open_outputs(o, &csv, path, &sf, spath);
    if (rc == CLI_OK) rc = run_cells(c, o, &t, &csv, &failed);
    int crc = close_csv(&csv);
    if (rc == CLI_OK) rc = crc;
    if (rc == CLI_OK) report(c, o, &t, path, sf, spath);
    if (sf) fclose(sf);
    if (rc == CLI_OK && failed > 0) {
        fprintf(stderr, "adscope bench: %d cell%s failed (status 'failed', the reason in 'note')\n", failed,
                cli_plural(failed, "s"));
        rc = CLI_FAILED;
    }
    ad_bench_table_free(&t);
    if (cu) cli_bench_custom_close(cu);
    free(cu);
    return rc;
}

const cli_command cli_cmd_bench = {
    .name = "bench",
    .summary = "the complexity harness: time, memory and accuracy of every backend as n grows",
    .help = HELP,
    .opts = OPTS,
    .nopts = NOPTS,
    .needs = CLI_NEEDS_CTX,
    .opts_size = sizeof(bench_opts),
    .options = options,
    .run = run,
    .release = release,
};
