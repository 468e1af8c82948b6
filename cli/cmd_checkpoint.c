/* cli/cmd_checkpoint.c — adscope checkpoint: memory and time of
 * checkpointed reverse mode against its snapshot budget, on the suite's
 * chain (an iterated map), beside plain reverse mode; the chart
 * plots/checkpoint.gp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "gnuplot.h"

static const char HELP[] =
    "NAME\n"
    "    adscope checkpoint - checkpointed reverse mode: memory and time against the snapshot budget\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope checkpoint [--steps K] [--snaps LIST] [--reps N] [--out FILE] [--format png|svg|dumb]\n"
    "\n"
    "DESCRIPTION\n"
    "    Differentiates the suite's chain (n = 1000, x_{t+1} = 0.9 sin(x_t) + 0.1 x_t\n"
    "    for t < K, f = sum x_K) by plain reverse mode, which tapes all K steps, and by\n"
    "    reverse-checkpoint at each snapshot budget of LIST: binomial checkpointing\n"
    "    (Griewank & Walther's Revolve) stores at most that many states and\n"
    "    recomputes the others.  Prints one row per budget: the steps run forward\n"
    "    (recorded and recomputed; Revolve's count is the fewest possible), the median\n"
    "    time of a gradient, the peak bytes of tape and values above what was live\n"
    "    before the call (the context's exact counters), both as multiples of plain\n"
    "    reverse mode's, and the largest difference from its gradient.\n"
    "\n"
    "    With --out FILE the chart (memory and time against the budget, log x axis,\n"
    "    plain reverse as dashed lines) is drawn into FILE and its numbers are written\n"
    "    next to it with the extension .dat; --format dumb draws it as text on stdout.\n"
    "    Charts need gnuplot (Debian package gnuplot-nox).\n"
    "\n"
    "OPTIONS\n"
    "    --steps K          steps of the chain (default 10000; 1..1000000).\n"
    "    --snaps LIST       budgets, comma-separated integers >= 1 and 'auto' (the\n"
    "                       default budget, ~sqrt(2K)); default 5,10,20,50,auto,500,1000.\n"
    "    --reps N           timed gradients per row (default 3; the median is shown).\n"
    "    --out FILE         the chart (.png or .svg; with --format dumb, a text file).\n"
    "    --format FMT       png, svg or dumb (text on stdout).\n"
    "\n"
    "ENVIRONMENT\n"
    "    ADSCOPE_GNUPLOT, ADSCOPE_PLOTS, COLUMNS: see 'adscope plot --help'.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 1 a gradient differs from plain reverse mode's; 2 usage error.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope checkpoint --out checkpoint.png\n"
    "    adscope checkpoint --steps 1000 --snaps 2,4,8,16,32 --format dumb\n";

static const cli_opt OPTS[] = {{"steps", CLI_VALUE, "K"}, {"snaps", CLI_VALUE, "LIST"},  {"reps", CLI_VALUE, "N"},
                               {"out", CLI_VALUE, "FILE"}, {"format", CLI_VALUE, "FMT"}, {"help", CLI_FLAG, NULL}};

#define CMD "checkpoint"
#define MAX_BUDGETS 32

typedef struct {
    long long steps, reps;
    int snaps[MAX_BUDGETS]; /* 0: auto */
    int nsnaps;
    cli_chart chart;
} ck_opts;

/* One row: plain reverse (snaps < 0) or a budget. */
typedef struct {
    int snaps;
    bool is_auto;
    int64_t forward;  /* steps run forward, recorded or not */
    double seconds;   /* median */
    int64_t mem;      /* peak values + tape bytes */
    double max_diff;  /* from plain reverse's gradient */
} ck_row;

/* "5,10,auto" into o->snaps. */
static int parse_snaps(const char *spec, ck_opts *o)
{
    const char *p = spec ? spec : "5,10,20,50,auto,500,1000";
    for (o->nsnaps = 0; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[32] = "";
        char *rest = NULL;
        long v = len < sizeof item ? (memcpy(item, p, len), strtol(item, &rest, 10)) : 0;
        bool is_auto = strcmp(item, "auto") == 0;
        if (o->nsnaps == MAX_BUDGETS || (!is_auto && (!rest || rest == item || *rest || v < 1 || v > 65536))) {
            fprintf(stderr, "adscope %s: --snaps: '%.*s' is not a budget (integers 1..65536 or auto, at most %d)\n", CMD,
                    (int)len, p, MAX_BUDGETS);
            return CLI_USAGE;
        }
        o->snaps[o->nsnaps++] = is_auto ? 0 : (int)v;
        p += len + (end != NULL);
    }
    if (o->nsnaps == 0) {
        fprintf(stderr, "adscope %s: --snaps names no budget\n", CMD);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int options(const cli_args *a, void *opts)
{
    ck_opts *o = opts;
    if (cli_int(a, "steps", 10000, 1, 1000000, &o->steps) || cli_int(a, "reps", 3, 1, 1000, &o->reps) ||
        parse_snaps(cli_get(a, "snaps"), o))
        return CLI_USAGE;
    if (!cli_get(a, "out") && !cli_get(a, "format")) return CLI_OK;
    return cli_chart_setup(&o->chart, CMD, "checkpoint", cli_get(a, "out"), cli_get(a, "format"));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* max |a - b| over the elements. */
static double max_diff(ad_tensor *a, ad_tensor *b)
{
    ad_tensor *d = ad_max(ad_abs(ad_sub(a, b)), AD_ALL, false);
    double m = d ? ad_item(d) : NAN;
    ad_tensor_free(d);
    return m;
}

/* The chain at k, as the harness builds it: its inputs and its map. */
typedef struct {
    ad_ctx *ctx;
    int nin;
    ad_tensor *in[AD_BENCH_MAX_INPUTS];
    bool wrt[AD_BENCH_MAX_INPUTS];
    ad_iterate map;
    ad_tensor *g_ref; /* plain reverse mode's gradient of x_0 */
} chain;

/* One gradient by reverse (snaps < 0) or reverse-checkpoint: its time,
 * peak values + tape bytes and the steps it ran forward; g gets x_0's
 * gradient (the caller's reference). */
static int one_gradient(chain *ch, int snaps, double *t, int64_t *mem, int64_t *forward, ad_tensor **g)
{
    ad_tensor *grad[AD_BENCH_MAX_INPUTS] = {0};
    ad_stats st;
    int rc;
    ch->map.snaps = snaps < 0 ? 0 : snaps;
    if (snaps < 0) {
        ad_problem p = {.ctx = ch->ctx, .f = ad_iterate_fn, .user = &ch->map, .nin = ch->nin, .in = ch->in, .wrt = ch->wrt};
        rc = ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, NULL, grad, NULL, &st);
        *forward = ch->map.steps == AD_ITERATE_STEPS_INPUT ? (int64_t)ad_item(ch->in[ch->nin - 1]) : ch->map.steps;
    } else {
        ad_iterate_info info;
        rc = ad_iterate_grad(ch->ctx, &ch->map, ch->in, ch->wrt, NULL, grad, &st, &info);
        *forward = info.advances + info.recorded;
    }
    *t = st.seconds;
    *mem = st.peak[AD_MEM_VALUES] + st.peak[AD_MEM_TAPE];
    *g = grad[0];
    for (int i = 1; i < ch->nin; i++) ad_tensor_free(grad[i]);
    if (rc != AD_OK) fprintf(stderr, "adscope %s: %s\n", CMD, ad_errmsg(ch->ctx));
    return rc == AD_OK ? CLI_OK : CLI_USAGE;
}

/* A row: reps gradients, the median time, the first one's memory. */
static int measure(chain *ch, const ck_opts *o, int snaps, ck_row *row)
{
    double t[1000];
    row->snaps = snaps;
    for (int r = 0; r < o->reps; r++) {
        ad_tensor *g = NULL;
        int64_t mem;
        if (one_gradient(ch, snaps, &t[r], &mem, &row->forward, &g) != CLI_OK) return CLI_USAGE;
        if (r == 0) row->mem = mem;
        if (r == 0 && snaps < 0) ch->g_ref = g;
        else {
            if (r == 0) row->max_diff = max_diff(g, ch->g_ref);
            ad_tensor_free(g);
        }
    }
    qsort(t, (size_t)o->reps, sizeof *t, cmp_double);
    row->seconds = o->reps % 2 ? t[o->reps / 2] : 0.5 * (t[o->reps / 2 - 1] + t[o->reps / 2]);
    return CLI_OK;
}

static int open_chain(chain *ch, ad_ctx *ctx, int64_t k)
{
    const ad_bench_fn *fn = ad_bench_suite_find("chain");
    memset(ch, 0, sizeof *ch);
    ch->ctx = ctx;
    if (!fn || fn->f != ad_iterate_fn) {
        fprintf(stderr, "adscope %s: the suite's chain is not an iterated map\n", CMD);
        return CLI_USAGE;
    }
    ch->map = *(const ad_iterate *)fn->user;
    ch->nin = fn->make_inputs(fn, ctx, k, ch->in, ch->wrt);
    if (ch->nin < 1) {
        fprintf(stderr, "adscope %s: %s\n", CMD, ad_errmsg(ctx));
        return CLI_USAGE;
    }
    return CLI_OK;
}

static void close_chain(chain *ch)
{
    for (int i = 0; i < ch->nin; i++) ad_tensor_free(ch->in[i]);
    ad_tensor_free(ch->g_ref);
}

static const char *mbytes(char *buf, size_t n, int64_t b)
{
    snprintf(buf, n, b < 1000000 ? "%.1f kB" : "%.1f MB", (double)b / (b < 1000000 ? 1e3 : 1e6));
    return buf;
}

static void print_rows(const ck_opts *o, const ck_row *rows, int nrows)
{
    printf("%s: chain, n = 1000, k = %lld: x_{t+1} = 0.9 sin(x_t) + 0.1 x_t, f = sum x_k (median of %lld)\n", CMD,
           o->steps, o->reps);
    printf("  %-20s %6s %14s %11s %9s %13s %9s %12s\n", "backend", "snaps", "forward steps", "time", "x reverse",
           "tape+values", "x reverse", "max |g - g_rev|");
    for (int r = 0; r < nrows; r++) {
        const ck_row *w = &rows[r];
        char snaps[16], t[32], m[32];
        if (w->snaps < 0) snprintf(snaps, sizeof snaps, "-");
        else snprintf(snaps, sizeof snaps, "%d%s", w->snaps, w->is_auto ? "*" : "");
        printf("  %-20s %6s %14lld %11s %9.2f %13s %9.3f %12.3g\n", w->snaps < 0 ? "reverse" : "reverse-checkpoint",
               snaps, (long long)w->forward, ad_bench_fmt_seconds(t, sizeof t, w->seconds), w->seconds / rows[0].seconds,
               mbytes(m, sizeof m, w->mem), (double)w->mem / (double)rows[0].mem, w->max_diff);
    }
    printf("  * the automatic budget (ad_iterate_default_snaps: C(snaps + 2, 2) >= k)\n");
    if (!o->chart.draw) printf("  (the chart: add --out checkpoint.png, or --format dumb to draw it here)\n");
}

static void write_data(FILE *f, const ck_opts *o, const ck_row *rows, int nrows, const char *title)
{
    fprintf(f, "# adscope checkpoint: %s\n", title);
    fprintf(f, "# block 0: snaps, peak tape+values (MB), median time (ms), steps run forward (reverse-checkpoint)\n"
               "# block 1: plain reverse mode's memory and time, at the smallest and largest budget\n");
    cli_gp_title_line(f, "reverse-checkpoint");
    for (int r = 1; r < nrows; r++)
        fprintf(f, "%d %.6g %.6g %lld\n", rows[r].snaps, (double)rows[r].mem / 1e6, rows[r].seconds * 1e3,
                (long long)rows[r].forward);
    fprintf(f, "\n\n");
    cli_gp_title_line(f, "reverse (tapes every step)");
    for (int r = 1; r < nrows; r += nrows - 2 > 0 ? nrows - 2 : 1)
        fprintf(f, "%d %.6g %.6g %lld\n", rows[r].snaps, (double)rows[0].mem / 1e6, rows[0].seconds * 1e3, o->steps);
}

static int draw(ck_opts *o, const ck_row *rows, int nrows)
{
    cli_chart *ch = &o->chart;
    char title[256];
    snprintf(title, sizeof title, "checkpointed reverse mode on chain (n = 1000, k = %lld): memory and time vs snapshots",
             o->steps);
    FILE *f = cli_chart_data(ch, "checkpoint");
    if (!f) return CLI_USAGE;
    write_data(f, o, rows, nrows, title);
    int rc = cli_chart_data_done(ch, f, CLI_OK);
    if (rc != CLI_OK) return rc;
    int cols, nr;
    cli_term_size(&cols, &nr);
    cli_gp_var vars[] = {{"datafile", ch->data, 0}, {"fmt", ch->fmt, 0}, {"title", title, 0},
                         {"cols", NULL, cols},      {"rows", NULL, nr},  {"outfile", ch->out ? ch->out : "", 0}};
    rc = cli_gnuplot_run(CMD, ch->gnuplot, ch->script, (int)(sizeof vars / sizeof vars[0]), vars);
    if (rc == CLI_OK && ch->out) printf("  chart: %s (data: %s)\n", ch->out, ch->data);
    return rc;
}

static int cmp_row(const void *a, const void *b)
{
    const ck_row *x = a, *y = b;
    return (x->snaps > y->snaps) - (x->snaps < y->snaps);
}

/* The budgets resolved (auto, capped at k), ascending, without repeats,
 * after plain reverse's row 0. */
static int plan_rows(const ck_opts *o, ck_row *rows)
{
    int n = 1;
    rows[0] = (ck_row){.snaps = -1};
    for (int i = 0; i < o->nsnaps; i++) {
        ad_iterate m = {.snaps = o->snaps[i]};
        rows[n] = (ck_row){.snaps = ad_iterate_budget(&m, o->steps), .is_auto = o->snaps[i] == 0};
        bool dup = false;
        for (int j = 1; j < n; j++)
            if (rows[j].snaps == rows[n].snaps) {
                dup = true;
                rows[j].is_auto |= rows[n].is_auto;
            }
        n += !dup;
    }
    qsort(rows + 1, (size_t)(n - 1), sizeof *rows, cmp_row);
    return n;
}

static int run(cli_call *c)
{
    ck_opts *o = c->opts;
    ck_row rows[1 + MAX_BUDGETS];
    int nrows = plan_rows(o, rows);
    chain ch;
    int rc = open_chain(&ch, c->ctx, o->steps);
    for (int r = 0; rc == CLI_OK && r < nrows; r++) rc = measure(&ch, o, rows[r].snaps, &rows[r]);
    bool differs = false;
    for (int r = 1; rc == CLI_OK && r < nrows; r++) differs |= !(rows[r].max_diff == 0); /* the same operations in the same order */
    if (rc == CLI_OK) print_rows(o, rows, nrows);
    if (rc == CLI_OK && o->chart.draw) rc = draw(o, rows, nrows);
    close_chain(&ch);
    cli_chart_cleanup(&o->chart);
    if (rc == CLI_OK && differs) {
        fprintf(stderr, "adscope %s: a checkpointed gradient differs from plain reverse mode's\n", CMD);
        rc = CLI_FAILED;
    }
    return rc;
}

const cli_command cli_cmd_checkpoint = {
    .name = CMD,
    .summary = "checkpointed reverse mode (Revolve): memory and time against the snapshot budget",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_CTX,
    .opts_size = sizeof(ck_opts),
    .options = options,
    .run = run,
};
