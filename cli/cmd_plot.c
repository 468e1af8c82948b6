/* cli/cmd_plot.c — adscope plot: the charts of a result CSV (see
 * bench/README.md for its columns).  For every function: time of one
 * derivative vs size, peak memory vs size (vs chain length k for chain)
 * and the cost ratio T_grad/T_f vs size, each log-log with one line per
 * backend.  The numbers go to DIR/data/KIND_FUNCTION.dat, gnuplot draws them
 * with plots/{time,memory,ratio}.gp, and DIR/index.md lists the charts with
 * a table of the fitted exponents.
 *
 * The slopes in the legends are the harness's own (ad_bench_summarize: a
 * log-log fit by ad_bench_fit_loglog over the cells above the timing floor,
 * README "The fit"), so the charts agree with summary.txt; a table without
 * the columns the summary needs falls back to a fit over every ok cell. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "csv.h"
#include "fit.h"
#include "gnuplot.h"

static const char HELP[] =
    "NAME\n"
    "    adscope plot - draw the charts of a result CSV\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope plot RESULTS.csv --out DIR [--format png|svg|dumb]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads a result table written by 'adscope bench' (or 'adscope merge'; columns\n"
    "    in bench/README.md) and draws, for every function in it:\n"
    "\n"
    "      time_FUNCTION      median time of one gradient (or Jacobian) against the\n"
    "                         size, log-log, one line per backend; each legend entry\n"
    "                         carries the fitted slope of log(time) on log(size) and\n"
    "                         theory's: \"reverse (slope 1.02, theory 1)\" is linear\n"
    "                         growth\n"
    "      memory_FUNCTION    peak bytes above the start of the call (values +\n"
    "                         tangents + tape + bookkeeping) against the size, log-log,\n"
    "                         slopes as above; for chain the size is the chain length k\n"
    "      ratio_FUNCTION     the cost ratio T_grad / T_f against the size, with its\n"
    "                         value at the largest size in the legend: the cheap-\n"
    "                         gradient picture (reverse stays flat, forward and\n"
    "                         differences grow like n)\n"
    "\n"
    "    The slopes are the ones 'adscope bench' prints in summary.txt: fitted over\n"
    "    the cells above the timing floor (bench/README.md, \"The fit\"); a series\n"
    "    with fewer than 3 such cells says how many it has: \"five-point (no fit: 2\n"
    "    of 5 above floor)\" (for memory, also above the memory floor).  A slope the\n"
    "    summary flags against theory says so: \"(slope 1.62, theory 1: DISAGREES)\".\n"
    "    A hand-made CSV without the harness's columns gets a fit over all its ok\n"
    "    cells.\n"
    "\n"
    "    Lines are drawn through the cells with status ok.  Where a line stops at a\n"
    "    cell skipped over the time budget, a dotted line leads to an open circle at\n"
    "    the value it was predicted to have (the harness's prediction of its time;\n"
    "    for memory, the last peak extended by theory's exponent), legend \"skipped:\n"
    "    over budget\".  Failed cells are not drawn.  Both axes are fitted to what\n"
    "    is drawn, labelled at 1, 2 and 5 times the decades when they span little,\n"
    "    and coinciding lines stay visible (dash patterns, markers of alternating\n"
    "    sizes).\n"
    "    The numbers of every chart are written to DIR/data/KIND_FUNCTION.dat (one\n"
    "    block per backend: its legend line, then size and values), the pictures to\n"
    "    DIR/KIND_FUNCTION.png (or .svg), and DIR/index.md lists the charts with the\n"
    "    fitted slopes per backend (ready to paste into a README).  With --format\n"
    "    dumb the charts are printed to stdout as text, as wide as the terminal\n"
    "    ($COLUMNS); --out is then optional.  'adscope bench' runs this at its end.\n"
    "\n"
    "    The charts are drawn by gnuplot (Debian package gnuplot-nox) with the\n"
    "    scripts in PREFIX/share/adscope/plots (the source tree's plots/ for the\n"
    "    program of a build tree); each can also be run by hand:\n"
    "        gnuplot -e \"datafile='DIR/data/time_rosenbrock.dat'; outfile='t.png'; fmt='png'\" plots/time.gp\n"
    "\n"
    "OPTIONS\n"
    "    --out DIR          directory of the charts, created if needed.\n"
    "    --format FMT       png (default; 900x600, cairo), svg, or dumb (text on stdout).\n"
    "\n"
    "ENVIRONMENT\n"
    "    ADSCOPE_GNUPLOT    the gnuplot program (default: gnuplot on PATH).\n"
    "    ADSCOPE_PLOTS      the directory of the chart scripts (default: the installed\n"
    "                       ones, ../share/adscope/plots beside the program's bin/).\n"
    "    COLUMNS            width of dumb charts.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 usage or input error (a malformed CSV names the file and line,\n"
    "    a missing gnuplot names the package to install).\n"
    "\n"
    "EXAMPLES\n"
    "    adscope bench --quick --out results.csv\n"
    "    adscope plot results.csv --out charts              # charts/time_rosenbrock.png, ...\n"
    "    adscope plot results.csv --format dumb             # in the terminal\n";

static const cli_opt OPTS[] = {{"out", CLI_VALUE, "DIR"}, {"format", CLI_VALUE, "FMT"}, {"help", CLI_FLAG, NULL}};

#define CMD "plot"

/* ---- reading the table ------------------------------------------------------------------ */

/* The line each row starts on, counted the way ad_bench_table_read reads the
 * file (comment and blank lines skipped, quoted fields may span lines), so
 * that errors found in the values can name the line too. */
static int64_t *row_lines(const char *path, int64_t nrows)
{
    int64_t *lines = calloc((size_t)(nrows > 0 ? nrows : 1), sizeof *lines);
    FILE *f = fopen(path, "rb");
    if (!lines || !f) {
        if (f) fclose(f);
        return lines;
    }
    int64_t line = 1, row = -1; /* row -1: the header */
    bool at_start = true, quoted = false, in_comment = false;
    int c;
    while ((c = fgetc(f)) != EOF && row < nrows) {
        if (at_start) {
            at_start = false;
            if (c == '#') in_comment = true;
            else if (c == '\n') {
                line++;
                at_start = true;
                continue;
            } else {
                if (row >= 0) lines[row] = line;
                row++;
            }
        }
        if (c == '"' && !in_comment) quoted = !quoted;
        if (c == '\n') {
            line++;
            if (!quoted) {
                at_start = true;
                in_comment = false;
            }
        }
    }
    fclose(f);
    return lines;
}

/* A cell as a number: 1 with *v, 0 when empty, -1 when not a number. */
static int cell_num(const char *s, double *v)
{
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (*end == ' ') end++;
    if (end == s || *end || errno == ERANGE) return -1;
    return 1;
}

typedef struct {
    const char *path;
    ad_bench_table t;
    int64_t *lines;
} results;

static const char *const REQUIRED[] = {"function", "backend", "size", "status", "t_f_median", "t_grad_median",
                                       "peak_total"};
static const char *const NUMERIC[] = {"size",          "t_f_median", "t_grad_median", "t_grad_min",
                                      "t_grad_max",    "ratio",      "peak_total"};

static int results_check(const results *r)
{
    const ad_bench_table *t = &r->t;
    for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++)
        if (ad_bench_table_col(t, REQUIRED[i]) < 0) {
            fprintf(stderr, "adscope %s: %s: no column '%s' in the header (is it a result CSV of 'adscope bench'?)\n",
                    CMD, r->path, REQUIRED[i]);
            return CLI_USAGE;
        }
    if (t->nrows == 0) {
        fprintf(stderr, "adscope %s: %s: no rows: nothing to draw\n", CMD, r->path);
        return CLI_USAGE;
    }
    for (int64_t i = 0; i < t->nrows; i++) {
        long long line = (long long)r->lines[i];
        const char *fn = ad_bench_table_get(t, i, "function"), *b = ad_bench_table_get(t, i, "backend");
        const char *st = ad_bench_table_get(t, i, "status");
        if (!*fn || !*b) {
            fprintf(stderr, "adscope %s: %s:%lld: empty %s\n", CMD, r->path, line, *fn ? "backend" : "function");
            return CLI_USAGE;
        }
        if (strcmp(st, "ok") != 0 && strcmp(st, "skipped") != 0 && strcmp(st, "failed") != 0) {
            fprintf(stderr, "adscope %s: %s:%lld: status '%s' is not ok, skipped or failed\n", CMD, r->path, line, st);
            return CLI_USAGE;
        }
        if (strcmp(st, "ok") != 0) continue;
        for (size_t k = 0; k < sizeof NUMERIC / sizeof NUMERIC[0]; k++) {
            const char *s = ad_bench_table_get(t, i, NUMERIC[k]);
            double v;
            int c = cell_num(s, &v);
            if (c < 0 || (c > 0 && (!isfinite(v) || v < 0))) {
                fprintf(stderr, "adscope %s: %s:%lld: %s '%s' is not a non-negative number\n", CMD, r->path, line,
                        NUMERIC[k], s);
                return CLI_USAGE;
            }
            if (k == 0 && ad_bench_size_parse(s, &v) <= 0) { /* also bounds it: sizes become int64_t */
                fprintf(stderr, "adscope %s: %s:%lld: size '%s' must be a positive number (at most 2^53)\n", CMD,
                        r->path, line, s);
                return CLI_USAGE;
            }
        }
    }
    return CLI_OK;
}

/* ---- series ------------------------------------------------------------------------------ */

typedef enum { CHART_TIME, CHART_MEMORY, CHART_RATIO, NCHARTS } chart_kind;
static const char *const CHART_NAME[NCHARTS] = {"time", "memory", "ratio"};

typedef struct {
    double x, y, lo, hi;
} point;

static int cmp_point(const void *a, const void *b)
{
    double x = ((const point *)a)->x, y = ((const point *)b)->x;
    return (x > y) - (x < y);
}

/* The points of one (function, backend) for a chart kind, sorted by size. */
static int series(const ad_bench_table *t, const char *fn, const char *backend, chart_kind kind, point *pts)
{
    int n = 0;
    for (int64_t i = 0; i < t->nrows; i++) {
        if (strcmp(ad_bench_table_get(t, i, "function"), fn) != 0 ||
            strcmp(ad_bench_table_get(t, i, "backend"), backend) != 0 ||
            strcmp(ad_bench_table_get(t, i, "status"), "ok") != 0)
            continue;
        point p = {.x = ad_bench_table_num(t, i, "size"), .lo = NAN, .hi = NAN};
        if (kind == CHART_TIME) {
            p.y = ad_bench_table_num(t, i, "t_grad_median");
            p.lo = ad_bench_table_num(t, i, "t_grad_min");
            p.hi = ad_bench_table_num(t, i, "t_grad_max");
            if (isnan(p.lo)) p.lo = p.y;
            if (isnan(p.hi)) p.hi = p.y;
        } else if (kind == CHART_MEMORY) {
            p.y = ad_bench_table_num(t, i, "peak_total");
        } else {
            p.y = ad_bench_table_num(t, i, "ratio");
            if (isnan(p.y)) p.y = ad_bench_table_num(t, i, "t_grad_median") / ad_bench_table_num(t, i, "t_f_median");
        }
        /* a log axis cannot show zero or an unmeasured value */
        if (!(p.y > 0) || !isfinite(p.y)) continue;
        pts[n++] = p;
    }
    qsort(pts, (size_t)n, sizeof *pts, cmp_point);
    return n;
}

/* ---- names, titles ------------------------------------------------------------------------ */

/* Distinct values of a column in order of first appearance (borrowed strings). */
static int distinct(const ad_bench_table *t, const char *col, const char *fn, const char **out)
{
    int n = 0;
    for (int64_t i = 0; i < t->nrows; i++) {
        if (fn && strcmp(ad_bench_table_get(t, i, "function"), fn) != 0) continue;
        const char *v = ad_bench_table_get(t, i, col);
        bool seen = false;
        for (int j = 0; j < n && !seen; j++) seen = strcmp(out[j], v) == 0;
        if (!seen) out[n++] = v;
    }
    return n;
}

/* Registry position of a backend (colours stay the same in every chart). */
static int backend_rank(const char *name)
{
    for (int i = 0; i < ad_backend_count(); i++)
        if (strcmp(ad_backend_at(i)->name, name) == 0) return i;
    return ad_backend_count();
}

static void sort_backends(const char **b, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort, stable: unknown ones keep their order */
        for (int j = i; j > 0 && backend_rank(b[j - 1]) > backend_rank(b[j]); j--) {
            const char *s = b[j];
            b[j] = b[j - 1];
            b[j - 1] = s;
        }
}

/* A file-name-safe form of a function's name; `taken` (n names) resolves
 * collisions by a numeric suffix. */
static void file_stem(char *out, size_t n, const char *fn, char taken[][64], int ntaken)
{
    char base[48];
    size_t k = 0;
    for (const char *p = fn; *p && k + 1 < sizeof base; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok && k > 0 && base[k - 1] == '_') continue;
        base[k++] = ok ? c : '_';
    }
    if (k == 0) base[k++] = 'f';
    base[k] = '\0';
    snprintf(out, n, "%s", base);
    for (int suffix = 2;; suffix++) {
        bool clash = false;
        for (int i = 0; i < ntaken && !clash; i++) clash = strcmp(taken[i], out) == 0;
        if (!clash) return;
        snprintf(out, n, "%s_%d", base, suffix);
    }
}

typedef struct {
    const char *fn;
    char stem[64];
    char label[96];      /* the function's name for titles (shortened) */
    char xlabel[64];     /* "size n (inputs)" */
    char versus[48];     /* "size n" */
    const char *what;    /* "gradient" or "Jacobian" */
} fn_info;

static void describe(fn_info *fi, const ad_bench_table *t)
{
    const char *sn = "", *kind = "";
    for (int64_t i = 0; i < t->nrows; i++)
        if (strcmp(ad_bench_table_get(t, i, "function"), fi->fn) == 0) {
            const char *s = ad_bench_table_get(t, i, "size_name"), *k = ad_bench_table_get(t, i, "kind");
            if (s && *s && !*sn) sn = s;
            if (k && *k && !*kind) kind = k;
        }
    if (strcmp(fi->fn, "chain") == 0) sn = "k";
    fi->what = strcmp(kind, "jacobian") == 0 ? "Jacobian" : "gradient";
    if (strcmp(sn, "k") == 0) {
        snprintf(fi->versus, sizeof fi->versus, "chain length k");
        snprintf(fi->xlabel, sizeof fi->xlabel, "chain length k (steps)");
    } else if (strcmp(sn, "m") == 0) {
        snprintf(fi->versus, sizeof fi->versus, "output size m");
        snprintf(fi->xlabel, sizeof fi->xlabel, "output size m (outputs)");
    } else {
        const char *name = *sn ? sn : "n";
        snprintf(fi->versus, sizeof fi->versus, "size %.8s", name);
        snprintf(fi->xlabel, sizeof fi->xlabel, "size %.8s (inputs)", name);
    }
    if (strlen(fi->fn) > 60) snprintf(fi->label, sizeof fi->label, "%.57s...", fi->fn);
    else snprintf(fi->label, sizeof fi->label, "%s", fi->fn);
}

static void chart_title(char *out, size_t n, const fn_info *fi, chart_kind k)
{
    if (k == CHART_TIME) snprintf(out, n, "%s: time of one %s vs %s", fi->label, fi->what, fi->versus);
    else if (k == CHART_MEMORY) snprintf(out, n, "%s: peak memory of one %s vs %s", fi->label, fi->what, fi->versus);
    else snprintf(out, n, "%s: cost ratio T_grad / T_f vs %s", fi->label, fi->versus);
}

/* ---- drawing -------------------------------------------------------------------------------- */

#define MAX_BACKENDS 64

typedef struct {
    const char *csv, *outdir, *fmt;
    char gnuplot[CLI_PATH_MAX];
    char script[NCHARTS][CLI_PATH_MAX];
    int cols, rows;
    const ad_bench_table *t;
    const ad_bench_series *ser; /* the summary's fits, or NULL */
    int nser;
    FILE *index; /* DIR/index.md, or NULL */
} plot_run;

static const ad_bench_series *series_of(const plot_run *pr, const char *fn, const char *backend)
{
    for (int i = 0; pr->ser && i < pr->nser; i++)
        if (strcmp(ad_bench_table_get(pr->t, pr->ser[i].first_row, "function"), fn) == 0 && /* full names */
            strcmp(ad_bench_table_get(pr->t, pr->ser[i].first_row, "backend"), backend) == 0)
            return &pr->ser[i];
    return NULL;
}

static bool fitted(const ad_bench_fit *f)
{
    return f->n >= AD_BENCH_MIN_FIT_POINTS && isfinite(f->slope);
}

/* Why a series has no fitted slope although its cells are drawn: the fit
 * uses only the cells above the overhead floors (bench/README.md, "The
 * fit"), so the legend says how many of them were left. */
static void no_fit_legend(const ad_bench_series *s, chart_kind kind, char *buf, size_t len)
{
    if (s->time.n < AD_BENCH_MIN_FIT_POINTS || kind != CHART_MEMORY)
        snprintf(buf, len, "%s (no fit: %d of %d above floor)", s->backend, s->time.n, s->nok);
    else
        snprintf(buf, len, "%s (no fit: %d of %d above memory floor)", s->backend, s->mem.n, s->nok);
}

/* The legend of a backend's line: its fitted exponent (and theory's, with
 * the summary's flag when they disagree), or for the ratio chart the ratio
 * at the largest size. */
static void legend_of(const plot_run *pr, const fn_info *fi, const char *backend, chart_kind kind, const point *pts,
                      int n, char *buf, size_t len)
{
    const ad_bench_series *s = series_of(pr, fi->fn, backend);
    if (kind == CHART_RATIO) {
        double r = pts[n - 1].y;
        char rs[32];
        snprintf(rs, sizeof rs, r >= 100 ? "%.0f" : "%.3g", r);
        snprintf(buf, len, "%s (%s at %s = %.0f)", backend, rs, strrchr(fi->versus, ' ') + 1, pts[n - 1].x);
        return;
    }
    if (s) {
        const ad_bench_fit *f = kind == CHART_TIME ? &s->time : &s->mem;
        double theory = kind == CHART_TIME ? s->theory_time : s->theory_mem;
        bool flag = kind == CHART_TIME ? s->flag_time : s->flag_mem;
        if (!fitted(f)) no_fit_legend(s, kind, buf, len);
        else if (isnan(theory)) snprintf(buf, len, "%s (slope %.2f)", backend, f->slope);
        else snprintf(buf, len, "%s (slope %.2f, theory %g%s)", backend, f->slope, theory, flag ? ": DISAGREES" : "");
        return;
    }
    double *xs = malloc(sizeof(double) * (size_t)n), *ys = malloc(sizeof(double) * (size_t)n);
    ad_bench_fit fit;
    bool ok = xs && ys;
    for (int i = 0; ok && i < n; i++) xs[i] = pts[i].x, ys[i] = pts[i].y;
    if (ok && ad_bench_fit_loglog(xs, ys, n, &fit)) snprintf(buf, len, "%s (slope %.2f)", backend, fit.slope);
    else snprintf(buf, len, "%s (%d point%s)", backend, n, n == 1 ? "" : "s");
    free(xs);
    free(ys);
}

/* ---- skipped cells ---------------------------------------------------------------------------- */

/* "2.97 s", "850.00 ms", "12.5 us" (ad_bench_fmt_seconds) as seconds. */
static bool parse_seconds(const char *s, double *v)
{
    char *end;
    double x = strtod(s, &end);
    if (end == s || !isfinite(x) || x <= 0) return false;
    while (*end == ' ') end++;
    double unit = strncmp(end, "us", 2) == 0 ? 1e-6 : strncmp(end, "ms", 2) == 0 ? 1e-3 : *end == 's' ? 1 : NAN;
    *v = x * unit;
    return !isnan(unit);
}

/* The seconds the harness gave a skipped cell: its prediction ("predicted
 * 2.97 s > budget 2.00 s"), or the warm-up it measured ("the warm-up call
 * took 5.00 s > budget ..."). */
static bool skipped_seconds(const char *note, double *v)
{
    static const char *const KEYS[] = {"predicted ", "took "};
    for (int k = 0; k < 2; k++) {
        const char *p = strstr(note, KEYS[k]);
        if (p && parse_seconds(p + strlen(KEYS[k]), v)) return true;
    }
    return false;
}

/* The first skipped cell after a series' last drawn point (where its line
 * stops), or -1. */
static int64_t first_skipped(const ad_bench_table *t, const char *fn, const char *backend, double after)
{
    int64_t best = -1;
    for (int64_t i = 0; i < t->nrows; i++) {
        double x = ad_bench_table_num(t, i, "size");
        if (strcmp(ad_bench_table_get(t, i, "function"), fn) == 0 &&
            strcmp(ad_bench_table_get(t, i, "backend"), backend) == 0 &&
            strcmp(ad_bench_table_get(t, i, "status"), "skipped") == 0 && x > after &&
            (best < 0 || x < ad_bench_table_num(t, best, "size")))
            best = i;
    }
    return best;
}

/* T_f of a function at a size: measured once per size and written in the
 * rows of the backends that ran there (a skipped row may lack it). */
static double t_f_at(const ad_bench_table *t, const char *fn, double size)
{
    for (int64_t i = 0; i < t->nrows; i++) {
        double tf = ad_bench_table_num(t, i, "t_f_median");
        if (tf > 0 && ad_bench_table_num(t, i, "size") == size && strcmp(ad_bench_table_get(t, i, "function"), fn) == 0)
            return tf;
    }
    return NAN;
}

/* Where the skipped cell after `last` is drawn (an open marker at the value
 * it was predicted to have): time, the harness's own prediction; ratio, that
 * over T_f at that size (measured for another backend); memory,
 * the last peak extended by theory's exponent (the harness predicts no
 * memory).  False when there is no such cell or nothing to place it by. */
static bool skipped_mark(const plot_run *pr, const fn_info *fi, const char *backend, chart_kind kind,
                         const point *last, point *mark)
{
    int64_t r = first_skipped(pr->t, fi->fn, backend, last->x);
    if (r < 0) return false;
    double x = ad_bench_table_num(pr->t, r, "size"), y = NAN, sec;
    bool predicted = skipped_seconds(ad_bench_table_get(pr->t, r, "note"), &sec);
    if (kind == CHART_TIME && predicted) y = sec;
    else if (kind == CHART_RATIO && predicted) y = sec / t_f_at(pr->t, fi->fn, x);
    else if (kind == CHART_MEMORY) {
        const ad_bench_series *s = series_of(pr, fi->fn, backend);
        if (s && isfinite(s->theory_mem)) y = last->y * pow(x / last->x, s->theory_mem);
    }
    if (!(y > 0) || !isfinite(y)) return false;
    *mark = (point){.x = x, .y = y, .lo = last->x, .hi = last->y};
    return true;
}

/* The block of skipped marks after the backends' blocks: a legend, then
 * rows  x_last y_last x_skipped y_predicted linetype. */
static const char *skipped_legend(chart_kind kind)
{
    return kind == CHART_MEMORY ? "skipped: over budget (theory's slope)" : "skipped: over budget (predicted)";
}

static void write_skipped(FILE *f, chart_kind kind, const point *marks, const int *lts, int n)
{
    fprintf(f, "\n\n");
    cli_gp_title_line(f, skipped_legend(kind));
    for (int i = 0; i < n; i++)
        fprintf(f, "%.17g %.17g %.17g %.17g %d\n", marks[i].lo, marks[i].hi, marks[i].x, marks[i].y, lts[i]);
}

/* The extent of everything drawn, so the axes fit the data (gnuplot's
 * autoscale would round a log axis out to whole decades). */
typedef struct {
    double xmin, xmax, ymin, ymax;
} extent;

static void extent_add(extent *e, double x, double y)
{
    e->xmin = fmin(e->xmin, x), e->xmax = fmax(e->xmax, x);
    e->ymin = fmin(e->ymin, y), e->ymax = fmax(e->ymax, y);
}

/* What a chart's data file holds: the backends' blocks (their line types
 * in lts), the skipped marks after them, and the extent of both. */
typedef struct {
    char lts[3 * MAX_BACKENDS + 1];
    int nseries, nskipped;
    int keylen; /* the longest legend entry (characters): how many columns the key can have */
    extent e;
} chart_blocks;

/* One block per backend with cells to draw: its legend, then the points;
 * then the block of skipped marks. */
static void write_series(FILE *f, const plot_run *pr, const fn_info *fi, chart_kind kind, const char **backends,
                         int nb, point *pts, chart_blocks *cb)
{
    int mlt[MAX_BACKENDS];
    point marks[MAX_BACKENDS];
    for (int b = 0; b < nb; b++) {
        int n = series(pr->t, fi->fn, backends[b], kind, pts);
        if (n == 0) continue;
        char legend[160];
        legend_of(pr, fi, backends[b], kind, pts, n, legend, sizeof legend);
        if ((int)strlen(legend) > cb->keylen) cb->keylen = (int)strlen(legend);
        fprintf(f, "%s", cb->nseries ? "\n\n" : "\n");
        cli_gp_title_line(f, legend);
        for (int i = 0; i < n; i++) {
            if (kind == CHART_TIME)
                fprintf(f, "%.17g %.17g %.17g %.17g\n", pts[i].x, pts[i].y, pts[i].lo, pts[i].hi);
            else
                fprintf(f, "%.17g %.17g\n", pts[i].x, pts[i].y);
            extent_add(&cb->e, pts[i].x, pts[i].y);
        }
        int lt = cli_backend_linetype(backends[b]);
        size_t l = strlen(cb->lts);
        snprintf(cb->lts + l, sizeof cb->lts - l, "%s%d", l ? " " : "", lt);
        if (skipped_mark(pr, fi, backends[b], kind, &pts[n - 1], &marks[cb->nskipped])) {
            extent_add(&cb->e, marks[cb->nskipped].x, marks[cb->nskipped].y);
            mlt[cb->nskipped++] = lt;
        }
        cb->nseries++;
    }
    if (cb->nskipped) {
        write_skipped(f, kind, marks, mlt, cb->nskipped);
        if ((int)strlen(skipped_legend(kind)) > cb->keylen) cb->keylen = (int)strlen(skipped_legend(kind));
    }
}

/* The data file of one chart. */
static int write_chart_data(const plot_run *pr, const fn_info *fi, chart_kind kind, const char **backends, int nb,
                            const char *data, const char *title, chart_blocks *cb)
{
    point *pts = malloc(sizeof(point) * (size_t)(pr->t->nrows > 0 ? pr->t->nrows : 1));
    FILE *f = pts ? fopen(data, "w") : NULL;
    if (!f) {
        fprintf(stderr, "adscope %s: cannot write %s: %s\n", CMD, data, pts ? strerror(errno) : "out of memory");
        free(pts);
        return CLI_USAGE;
    }
    static const char *const COLS[NCHARTS] = {"size  t_grad_median  t_grad_min  t_grad_max   (seconds)",
                                              "size  peak_total   (bytes)", "size  t_grad_median / t_f_median"};
    fprintf(f, "# adscope plot: %s\n# from %s; one block per backend: its legend, then %s\n", title, pr->csv,
            COLS[kind]);
    fprintf(f, "# then, if any, a block of skipped cells: x_last y_last x_skipped y_predicted linetype\n");
    *cb = (chart_blocks){.e = {INFINITY, -INFINITY, INFINITY, -INFINITY}};
    write_series(f, pr, fi, kind, backends, nb, pts, cb);
    bool werr = ferror(f) != 0;
    free(pts);
    if (fclose(f) != 0 || werr) {
        fprintf(stderr, "adscope %s: cannot write %s\n", CMD, data);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Writes the data file of one chart, runs gnuplot on it, adds it to the
 * index. */
static int one_chart(plot_run *pr, const fn_info *fi, chart_kind kind, const char **backends, int nb)
{
    char data[CLI_PATH_MAX], out[CLI_PATH_MAX], title[256];
    snprintf(data, sizeof data, "%s/data/%s_%s.dat", pr->outdir, CHART_NAME[kind], fi->stem);
    snprintf(out, sizeof out, "%s/%s_%s.%s", pr->outdir, CHART_NAME[kind], fi->stem, pr->fmt);
    chart_title(title, sizeof title, fi, kind);
    chart_blocks cb;
    if (write_chart_data(pr, fi, kind, backends, nb, data, title, &cb) != CLI_OK) return CLI_USAGE;
    if (cb.nseries == 0) {
        remove(data);
        if (pr->index) fprintf(pr->index, "- %s: nothing to draw (no cell with status ok)\n", title);
        return CLI_OK;
    }
    bool dumb = strcmp(pr->fmt, "dumb") == 0;
    cli_gp_var vars[] = {{"datafile", data, 0},      {"fmt", pr->fmt, 0},         {"title", title, 0},
                         {"xlabel", fi->xlabel, 0},   {"lts", cb.lts, 0},          {"nseries", NULL, cb.nseries},
                         {"skipped", NULL, cb.nskipped > 0}, {"xmin", NULL, cb.e.xmin}, {"xmax", NULL, cb.e.xmax},
                         {"ymin", NULL, cb.e.ymin},   {"ymax", NULL, cb.e.ymax},   {"keylen", NULL, cb.keylen}, {"cols", NULL, pr->cols},
                         {"rows", NULL, pr->rows},    {"outfile", out, 0}};
    int nvars = (int)(sizeof vars / sizeof vars[0]) - (dumb ? 1 : 0); /* dumb: to stdout */
    int rc = cli_gnuplot_run(CMD, pr->gnuplot, pr->script[kind], nvars, vars);
    if (rc != CLI_OK || !pr->index) return rc;
    if (dumb) fprintf(pr->index, "- %s: data in `data/%s_%s.dat`\n", title, CHART_NAME[kind], fi->stem);
    else fprintf(pr->index, "![%s](%s_%s.%s)\n\n", title, CHART_NAME[kind], fi->stem, pr->fmt);
    return CLI_OK;
}

/* The table of one function for index.md: the fitted exponents (theory in
 * parentheses), the largest size measured, the cost ratio there and the
 * largest error. */
static void index_slopes(FILE *ix, const plot_run *pr, const fn_info *fi, const char **backends, int nb)
{
    fprintf(ix, "| backend | time slope (theory) | memory slope (theory) | largest %s | T_grad / T_f there | "
                "largest abs. error |\n|---|---|---|---|---|---|\n",
            strrchr(fi->versus, ' ') + 1);
    for (int b = 0; b < nb; b++) {
        const ad_bench_series *s = series_of(pr, fi->fn, backends[b]);
        fprintf(ix, "| %s |", backends[b]);
        if (!s) {
            fprintf(ix, " – | – | – | – | – |\n");
            continue;
        }
        const ad_bench_fit *f[2] = {&s->time, &s->mem};
        double th[2] = {s->theory_time, s->theory_mem};
        for (int k = 0; k < 2; k++) {
            if (!fitted(f[k])) fprintf(ix, " – |");
            else if (isnan(th[k])) fprintf(ix, " %.2f |", f[k]->slope);
            else fprintf(ix, " %.2f (%g) |", f[k]->slope, th[k]);
        }
        if (s->largest > 0) fprintf(ix, " %lld | %.3g |", (long long)s->largest, s->ratio);
        else fprintf(ix, " – | – |");
        if (isnan(s->worst_abs)) fprintf(ix, " – |\n");
        else fprintf(ix, " %.1e |\n", s->worst_abs);
    }
    fprintf(ix, "\n");
}

/* index.md's title, the machine the results come from, and how to read the
 * slopes. */
static void index_header(FILE *ix, const plot_run *pr)
{
    const ad_bench_table *t = pr->t;
    fprintf(ix, "# Charts of %s\n\n", pr->csv);
    static const char *const META[] = {"adscope", "date", "machine", "cpu", "cores", "compiler", "build", "blas", "blas_core"};
    bool any = false;
    for (size_t i = 0; i < sizeof META / sizeof META[0]; i++) {
        const char *v = ad_bench_table_meta(t, META[i]);
        if (!v) continue;
        fprintf(ix, "%s%s: %s", any ? "; " : "", META[i], v);
        any = true;
    }
    fprintf(ix, "%s", any ? ".\n\n" : "");
    fprintf(ix,
            "Time and peak memory of one derivative against the problem size, log-log, one\n"
            "line per backend.  A slope is the fitted exponent of log(cost) on log(size)\n"
            "(1: linear growth, 2: quadratic) over the cells above the timing floor, as in\n"
            "summary.txt (bench/README.md, \"The fit\"); theory's exponent in parentheses.\n"
            "Drawn by `adscope plot` from the CSV above.\n\n");
}

static int draw_all(plot_run *pr)
{
    const ad_bench_table *t = pr->t;
    const char **fns = malloc(sizeof(char *) * (size_t)t->nrows);
    char(*stems)[64] = malloc(sizeof *stems * (size_t)t->nrows);
    int rc = CLI_OK;
    if (!fns || !stems) {
        fprintf(stderr, "adscope %s: out of memory\n", CMD);
        rc = CLI_USAGE;
    }
    int nf = rc == CLI_OK ? distinct(t, "function", NULL, fns) : 0;
    if (pr->index) index_header(pr->index, pr);
    for (int i = 0; rc == CLI_OK && i < nf; i++) {
        fn_info fi = {.fn = fns[i]};
        file_stem(fi.stem, sizeof fi.stem, fi.fn, stems, i);
        snprintf(stems[i], sizeof stems[i], "%s", fi.stem);
        describe(&fi, t);
        const char *backends[MAX_BACKENDS];
        const char **all = malloc(sizeof(char *) * (size_t)t->nrows);
        if (!all) {
            rc = CLI_USAGE;
            break;
        }
        int nb = distinct(t, "backend", fi.fn, all);
        if (nb > MAX_BACKENDS) nb = MAX_BACKENDS;
        memcpy(backends, all, sizeof(char *) * (size_t)nb);
        free(all);
        sort_backends(backends, nb);
        if (pr->index) {
            fprintf(pr->index, "## %s\n\n", fi.label);
            if (pr->ser) index_slopes(pr->index, pr, &fi, backends, nb);
        }
        for (int k = 0; rc == CLI_OK && k < NCHARTS; k++) rc = one_chart(pr, &fi, (chart_kind)k, backends, nb);
    }
    free(fns);
    free(stems);
    return rc;
}

/* The table, where each row starts, and the checks of its values. */
static int read_results(results *r)
{
    char err[1024];
    if (ad_bench_table_read(r->path, &r->t, err, sizeof err) != 0) {
        fprintf(stderr, "adscope %s: %s\n", CMD, err);
        return CLI_USAGE;
    }
    r->lines = row_lines(r->path, r->t.nrows);
    if (!r->lines) {
        fprintf(stderr, "adscope %s: out of memory\n", CMD);
        return CLI_USAGE;
    }
    return results_check(r);
}

/* gnuplot and the scripts; the output directory (a temporary one for dumb
 * charts without --out) with its data/ and, when kept, index.md. */
static int prepare_output(plot_run *pr, const char *outdir, char *tmp, char *index)
{
    int rc = cli_gnuplot_locate(CMD, pr->gnuplot, sizeof pr->gnuplot);
    for (int k = 0; rc == CLI_OK && k < NCHARTS; k++)
        rc = cli_plot_script(CMD, CHART_NAME[k], pr->script[k], sizeof pr->script[k]);
    if (rc == CLI_OK && !outdir) {
        rc = cli_tmpdir(CMD, tmp, CLI_PATH_MAX);
        outdir = tmp;
    }
    if (rc != CLI_OK) return rc;
    if (strlen(outdir) > CLI_PATH_MAX / 2) {
        fprintf(stderr, "adscope %s: --out: directory name too long\n", CMD);
        return CLI_USAGE;
    }
    pr->outdir = outdir;
    char datadir[CLI_PATH_MAX];
    if (snprintf(datadir, sizeof datadir, "%s/data", outdir) >= (int)sizeof datadir) datadir[0] = '\0';
    rc = cli_mkdirs(CMD, datadir);
    if (rc != CLI_OK || *tmp) return rc;
    if (snprintf(index, CLI_PATH_MAX, "%s/index.md", outdir) >= CLI_PATH_MAX) index[0] = '\0';
    pr->index = fopen(index, "w");
    if (!pr->index) {
        fprintf(stderr, "adscope %s: cannot write %s: %s\n", CMD, index, strerror(errno));
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_plot_results(const char *csv, const char *outdir, const char *format)
{
    plot_run pr = {.csv = csv};
    if (cli_chart_format(CMD, format, NULL, "png", &pr.fmt) != CLI_OK) return CLI_USAGE;
    if (!outdir && strcmp(pr.fmt, "dumb") != 0) {
        fprintf(stderr, "adscope %s: where should the charts go? add --out DIR\n", CMD);
        return CLI_USAGE;
    }
    results r = {.path = csv};
    char tmp[CLI_PATH_MAX] = "", index[CLI_PATH_MAX] = "";
    int rc = read_results(&r);
    if (rc == CLI_OK) rc = prepare_output(&pr, outdir, tmp, index);
    ad_bench_series *ser = NULL;
    if (rc == CLI_OK) {
        pr.t = &r.t;
        /* the harness's fits; a hand-made table without its columns has none */
        if (ad_bench_summarize(&r.t, &ser, &pr.nser) == 0) pr.ser = ser;
        cli_term_size(&pr.cols, &pr.rows);
        rc = draw_all(&pr);
    }
    free(ser);
    if (pr.index && fclose(pr.index) != 0 && rc == CLI_OK) {
        fprintf(stderr, "adscope %s: cannot write %s\n", CMD, index);
        rc = CLI_USAGE;
    }
    if (*tmp) cli_rmdir_tree(tmp);
    free(r.lines);
    ad_bench_table_free(&r.t);
    return rc;
}

static int options(const cli_args *a, void *opts)
{
    (void)opts;
    if (a->npos != 1) {
        fprintf(stderr, "adscope %s: %s (usage: adscope plot RESULTS.csv --out DIR [--format png|svg|dumb])\n", CMD,
                a->npos == 0 ? "missing RESULTS.csv" : "one result file at a time (join several with 'adscope merge')");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int run(cli_call *c)
{
    const cli_args *a = c->args;
    const char *out = cli_get(a, "out"), *fmt = cli_get(a, "format");
    int rc = cli_plot_results(a->pos[0], out, fmt);
    if (rc == CLI_OK && out && !(fmt && strcmp(fmt, "dumb") == 0))
        printf("adscope plot: charts of %s in %s/ (listed in %s/index.md)\n", a->pos[0], out, out);
    return rc;
}

const cli_command cli_cmd_plot = {
    .name = CMD,
    .summary = "draw the charts of a result CSV (gnuplot: png, svg or dumb)",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .options = options,
    .run = run,
};
