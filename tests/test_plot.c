/* tests/test_plot.c — the picture commands as users run them: 'adscope plot'
 * on a result CSV written here (columns exactly as bench/README.md), the
 * V-shaped error of finite differences (fd-error), the tangent line of the
 * D2L example, the recorded graph as DOT text, and the clear errors for
 * malformed CSV lines and a missing gnuplot or dot.  The program runs
 * through fork/exec, as in test_cli.c. */
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "csv.h"
#include "fit.h"
#include "helpers.h"
#include "th_cli.h"

TestSuite(plot, .init = th_setup, .fini = th_teardown);

#define path th_tmp_path

/* ---- running the program ---------------------------------------------------------- */

#define NEED(prog)                                                                           \
    do {                                                                                     \
        if (!th_have_program(prog)) cr_skip_test("%s is not installed (Debian: %s)", prog,            \
                                      strcmp(prog, "dot") ? "gnuplot-nox" : "graphviz"); \
    } while (0)

#define read_all th_read_file

static void expect_png(const char *p)
{
    size_t n = 0;
    char *b = read_all(p, &n);
    cr_assert_not_null(b, "%s was not written", p);
    cr_expect_gt(n, 1000, "%s has only %zu bytes", p, n);
    cr_expect(n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0, "%s is not a PNG", p);
    free(b);
}

static void expect_svg(const char *p)
{
    size_t n = 0;
    char *b = read_all(p, &n);
    cr_assert_not_null(b, "%s was not written", p);
    cr_expect(strncmp(b, "<?xml", 5) == 0 && strstr(b, "<svg") && strstr(b, "</svg>"), "%s is not an SVG", p);
    free(b);
}

/* ---- a result CSV like adscope bench writes ------------------------------------------- */

static const char *const COLS[] = {"function",      "backend",       "size",          "size_name",     "kind",
                                   "status",        "reps",          "t_f_min",       "t_f_median",    "t_f_max",
                                   "t_grad_min",    "t_grad_median", "t_grad_max",    "ratio",         "passes",
                                   "sweeps",        "ops_recorded",  "peak_values",   "peak_tangents", "peak_tape",
                                   "peak_meta",     "peak_total",    "peak_rss",      "max_abs_err",   "max_rel_err",
                                   "err_reference", "note"};
#define NCOLS ((int)(sizeof COLS / sizeof COLS[0]))

/* The numbers of one cell: time grows like c·n^p with a little noise. */
typedef struct {
    const char *fn, *backend, *size_name;
    double n;
    const char *status;
    double t_f, t_grad;
    long long peak;
} cell;

static void add_cell(ad_bench_table *t, const cell *c)
{
    char s[NCOLS][64];
    const char *v[NCOLS];
    for (int i = 0; i < NCOLS; i++) s[i][0] = '\0', v[i] = s[i];
    bool ok = strcmp(c->status, "ok") == 0;
    v[0] = c->fn;
    v[1] = c->backend;
    snprintf(s[2], 64, "%.0f", c->n);
    v[3] = c->size_name;
    v[4] = "gradient";
    v[5] = c->status;
    snprintf(s[6], 64, "%d", ok ? 5 : 0);
    if (ok) {
        snprintf(s[7], 64, "%.17g", 0.97 * c->t_f);
        snprintf(s[8], 64, "%.17g", c->t_f);
        snprintf(s[9], 64, "%.17g", 1.1 * c->t_f);
        snprintf(s[10], 64, "%.17g", 0.95 * c->t_grad);
        snprintf(s[11], 64, "%.17g", c->t_grad);
        snprintf(s[12], 64, "%.17g", 1.2 * c->t_grad);
        snprintf(s[13], 64, "%.17g", c->t_grad / c->t_f);
        snprintf(s[14], 64, "%d", strcmp(c->backend, "reverse") ? (int)c->n : 1);
        snprintf(s[15], 64, "%d", strcmp(c->backend, "reverse") ? 0 : 1);
        snprintf(s[16], 64, "%d", strcmp(c->backend, "reverse") ? 0 : 3 * (int)c->n);
        snprintf(s[17], 64, "%lld", c->peak / 2);
        snprintf(s[18], 64, "%lld", c->peak / 4);
        snprintf(s[19], 64, "%lld", c->peak / 4);
        snprintf(s[20], 64, "%d", 0);
        snprintf(s[21], 64, "%lld", c->peak);
        snprintf(s[22], 64, "%d", 52428800);
        snprintf(s[23], 64, "%.17g", 2.385e-12);
        snprintf(s[24], 64, "%.17g", 1.1e-13);
        v[25] = "analytic";
    } else {
        v[26] = strcmp(c->status, "skipped") == 0 ? "predicted 12.5 s > budget 2 s" : "out of memory, with a comma";
    }
    cr_assert_eq(ad_bench_table_add(t, v), 0);
}

#define NSIZES 5
static const double SIZES[NSIZES] = {10, 100, 1000, 10000, 100000};
/* T_grad of rosenbrock per backend: reverse ~ n, forward and central ~ n^2 */
static double t_grad(const char *b, int i)
{
    double n = SIZES[i], wobble = 1 + 0.07 * sin(2.385 * i + 0.3);
    if (!strcmp(b, "reverse")) return 3.1e-7 * n * wobble;
    if (!strcmp(b, "forward")) return 2.2e-8 * n * n * wobble;
    return 4.4e-8 * n * n * wobble;
}
static double t_f(int i) { return 8.5e-8 * SIZES[i] + 2e-7; }

/* Writes the CSV: rosenbrock (central skipped from n = 10000 on, forward
 * failed at 100000) and chain over k.  Returns its path. */
static const char *write_results(void)
{
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, NCOLS, COLS), 0);
    ad_bench_table_comment(&t, "adscope", "0.1.0");
    ad_bench_table_comment(&t, "date", "2026-11-22T10:00:00Z");
    ad_bench_table_comment(&t, "machine", "testbox");
    ad_bench_table_comment(&t, "command", "adscope bench --quick");
    static const char *const B[] = {"forward", "reverse", "central"};
    for (int b = 0; b < 3; b++)
        for (int i = 0; i < NSIZES; i++) {
            const char *status = "ok";
            if (i >= 3 && !strcmp(B[b], "central")) status = "skipped";
            if (i == 4 && !strcmp(B[b], "forward")) status = "failed";
            cell c = {"rosenbrock", B[b], "n", SIZES[i], status, t_f(i), t_grad(B[b], i), (long long)(96 * SIZES[i])};
            add_cell(&t, &c);
        }
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 4; i++) {
            double k = SIZES[i];
            cell c = {"chain", B[b], "k", k, "ok", 4e-6 * k, (b ? 3.5e-6 : 9e-6) * k,
                      b ? (long long)(8000 * k + 4096) : 16000};
            add_cell(&t, &c);
        }
    const char *p = path("results.csv");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    cr_assert_eq(ad_bench_table_write(f, &t), 0);
    fclose(f);
    ad_bench_table_free(&t);
    return p;
}

/* The blocks of a chart's data file: legend lines and rows (x, y). */
typedef struct {
    int nblocks;
    char legend[8][160];
    int nrows[8];
    double x[8][256], y[8][256];
} chart_data;

static void read_chart(const char *p, chart_data *d)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s was not written", p);
    char line[1024];
    int b = -1;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        if (line[0] == '"') {
            cr_assert_lt(b + 1, 8);
            b++;
            char *end = strchr(line + 1, '"');
            cr_assert_not_null(end, "unterminated legend: %s", line);
            snprintf(d->legend[b], sizeof d->legend[b], "%.*s", (int)(end - line - 1), line + 1);
            continue;
        }
        cr_assert_geq(b, 0, "a row before any legend in %s: %s", p, line);
        cr_assert_lt(d->nrows[b], 256);
        int k = d->nrows[b]++;
        cr_assert_eq(sscanf(line, "%lf %lf", &d->x[b][k], &d->y[b][k]), 2, "bad row in %s: %s", p, line);
    }
    d->nblocks = b + 1;
    fclose(f);
}

static int block_of(const chart_data *d, const char *backend)
{
    for (int b = 0; b < d->nblocks; b++)
        if (strncmp(d->legend[b], backend, strlen(backend)) == 0 && d->legend[b][strlen(backend)] == ' ') return b;
    return -1;
}

/* ---- adscope plot ----------------------------------------------------------------------------- */

Test(plot, charts_of_a_result_csv_png, .description = "adscope plot results.csv --out DIR: one chart per function and "
                                                        "kind, data files, index.md")
{
    NEED("gnuplot");
    const char *csv = write_results();
    result *r = run("plot", csv, "--out", path("charts"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    static const char *const FILES[] = {"time_rosenbrock.png", "memory_rosenbrock.png", "ratio_rosenbrock.png",
                                        "time_chain.png",      "memory_chain.png",      "ratio_chain.png"};
    for (int i = 0; i < 6; i++) {
        char p[128];
        snprintf(p, sizeof p, "charts/%s", FILES[i]);
        expect_png(path(p));
    }
    char *index = read_all(path("charts/index.md"), NULL);
    cr_assert_not_null(index);
    for (int i = 0; i < 6; i++) cr_expect(strstr(index, FILES[i]), "index.md does not list %s:\n%s", FILES[i], index);
    cr_expect(strstr(index, "rosenbrock: time of one gradient vs size n"), "%s", index);
    cr_expect(strstr(index, "machine: testbox"), "%s", index);
    free(index);
}

Test(plot, svg_format, .description = "--format svg writes SVG files")
{
    NEED("gnuplot");
    const char *csv = write_results();
    result *r = run("plot", csv, "--out", path("svg"), "--format", "svg");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_svg(path("svg/time_rosenbrock.svg"));
    expect_svg(path("svg/memory_chain.svg"));
}

/* The fit range of bench/README.md ("The fit"): ok cells with T_grad >=
 * max(4 x the smallest, 10 us) and T_f >= 4 x the smallest T_f. */
static int fit_range(const double *x, const double *tg, const double *tf, int n, double *fx, double *fy)
{
    double gmin = INFINITY, fmin_ = INFINITY;
    for (int i = 0; i < n; i++) gmin = fmin(gmin, tg[i]), fmin_ = fmin(fmin_, tf[i]);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (tg[i] >= fmax(4 * gmin, 10e-6) && tf[i] >= 4 * fmin_) fx[k] = x[i], fy[k] = tg[i], k++;
    return k;
}

Test(plot, data_rows_and_fitted_slopes, .description = "the data files hold exactly the ok cells, and each legend "
                                                       "carries the slope ad_bench_fit_loglog fits over the fit range")
{
    NEED("gnuplot");
    const char *csv = write_results();
    result *r = run("plot", csv, "--out", path("c"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    ad_bench_table t;
    char err[256];
    cr_assert_eq(ad_bench_table_read(csv, &t, err, sizeof err), 0, "%s", err);
    ad_bench_series *ser = NULL;
    int nser = 0;
    cr_assert_eq(ad_bench_summarize(&t, &ser, &nser), 0);
    chart_data d;
    read_chart(path("c/data/time_rosenbrock.dat"), &d);
    cr_assert_eq(d.nblocks, 4, "one block per backend, then the skipped cells");
    static const char *const B[] = {"forward", "reverse", "central"};
    for (int b = 0; b < 3; b++) {
        int k = block_of(&d, B[b]);
        cr_assert_geq(k, 0, "no block for %s", B[b]);
        /* skipped (central) and failed (forward) cells are absent */
        int n = !strcmp(B[b], "reverse") ? 5 : !strcmp(B[b], "forward") ? 4 : 3;
        cr_expect_eq(d.nrows[k], n, "%s: %d rows", B[b], d.nrows[k]);
        double x[NSIZES], y[NSIZES], tf[NSIZES], fx[NSIZES], fy[NSIZES];
        for (int i = 0; i < n; i++) {
            x[i] = SIZES[i];
            y[i] = t_grad(B[b], i);
            tf[i] = t_f(i);
            cr_expect_eq(d.x[k][i], x[i]);
            cr_expect(fabs(d.y[k][i] - y[i]) <= 1e-15 * y[i], "%s n=%g: %g vs %g", B[b], x[i], d.y[k][i], y[i]);
        }
        const ad_bench_series *s = NULL;
        for (int i = 0; i < nser; i++)
            if (!strcmp(ser[i].function, "rosenbrock") && !strcmp(ser[i].backend, B[b])) s = &ser[i];
        cr_assert_not_null(s);
        int m = fit_range(x, y, tf, n, fx, fy);
        char legend[96];
        if (m < 3) {
            /* the legend says why a drawn line has no slope (it said "too few points to fit" under 3 points) */
            cr_expect_str_eq(B[b], "central", "central keeps 2 cells above the floor");
            snprintf(legend, sizeof legend, "%s (no fit: %d of %d above floor)", B[b], m, n);
        } else {
            ad_bench_fit fit;
            cr_assert(ad_bench_fit_loglog(fx, fy, m, &fit));
            cr_expect(fabs(fit.slope - s->time.slope) < 1e-12, "%s: %g vs the summary's %g", B[b], fit.slope,
                      s->time.slope);
            snprintf(legend, sizeof legend, "%s (slope %.2f, theory %g)", B[b], fit.slope, s->theory_time);
        }
        cr_expect_str_eq(d.legend[k], legend);
    }
    /* the slopes tell the story: reverse ~ n, forward ~ n^2 */
    int rev = block_of(&d, "reverse"), fwd = block_of(&d, "forward");
    cr_expect(strstr(d.legend[rev], "slope 1.0") || strstr(d.legend[rev], "slope 0.9"), "%s", d.legend[rev]);
    cr_expect(strstr(d.legend[fwd], "slope 2.0") || strstr(d.legend[fwd], "slope 1.9"), "%s", d.legend[fwd]);
    /* memory: peak_total bytes; ratio: t_grad/t_f, the legend giving it at the largest size */
    read_chart(path("c/data/memory_rosenbrock.dat"), &d);
    int k = block_of(&d, "reverse");
    cr_assert_geq(k, 0);
    cr_expect_eq(d.y[k][2], 96 * 1000);
    read_chart(path("c/data/ratio_rosenbrock.dat"), &d);
    k = block_of(&d, "reverse");
    cr_expect(fabs(d.y[k][1] - t_grad("reverse", 1) / t_f(1)) < 1e-12 * d.y[k][1]);
    char legend[96];
    double last = t_grad("reverse", 4) / t_f(4);
    snprintf(legend, sizeof legend, last >= 100 ? "reverse (%.0f at n = 100000)" : "reverse (%.3g at n = 100000)",
             last);
    cr_expect_str_eq(d.legend[k], legend);
    free(ser);
    ad_bench_table_free(&t);
}

/* The row after the legend line `legend` in a data file: n numbers. */
static void row_after(const char *file, const char *legend, double *v, int n)
{
    char *text = read_all(file, NULL);
    cr_assert_not_null(text, "%s was not written", file);
    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\"\n", legend);
    const char *p = strstr(text, quoted);
    cr_assert_not_null(p, "no block %s in %s:\n%s", quoted, file, text);
    p += strlen(quoted);
    int k = 0, used = 0;
    while (k < n && sscanf(p, "%lf%n", &v[k], &used) == 1) p += used, k++;
    cr_expect_eq(k, n, "%d numbers after %s in %s", k, legend, file);
    cr_expect(*p == '\n' && (p[1] == '\0' || p[1] == '\n'), "one row only after %s in %s", legend, file);
    free(text);
}

static int linetype_of(const char *backend)
{
    for (int i = 0; i < ad_backend_count(); i++)
        if (!strcmp(ad_backend_at(i)->name, backend)) return i < 7 ? i + 1 : 8;
    return 8;
}

Test(plot, skipped_cells_are_marked, .description = "where a series stops at a skipped cell, the data file holds a "
                                                    "mark at the predicted value, linked to the last point")
{
    NEED("gnuplot");
    const char *csv = write_results();
    result *r = run("plot", csv, "--out", path("c"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    /* central: ok up to n = 1000, then skipped with the note "predicted 12.5 s > budget 2 s";
     * forward failed at 100000 and reverse never stopped: one mark only */
    double v[5];
    row_after(path("c/data/time_rosenbrock.dat"), "skipped: over budget (predicted)", v, 5);
    cr_expect(v[0] == 1000 && fabs(v[1] - t_grad("central", 2)) <= 1e-15 * v[1], "from the last point");
    cr_expect(v[2] == 10000 && v[3] == 12.5, "to the prediction: (%g, %g)", v[2], v[3]);
    cr_expect_eq(v[4], linetype_of("central"), "in central's colour");
    row_after(path("c/data/ratio_rosenbrock.dat"), "skipped: over budget (predicted)", v, 5);
    cr_expect(fabs(v[3] - 12.5 / t_f(3)) <= 1e-12 * v[3], "the ratio over T_f at n = 10000: %g", v[3]);
    /* memory: the harness predicts none; theory's exponent for differences is 1 */
    row_after(path("c/data/memory_rosenbrock.dat"), "skipped: over budget (theory's slope)", v, 5);
    cr_expect(v[2] == 10000 && fabs(v[3] - 96 * 1000 * 10.0) < 1e-6, "%g", v[3]);
}

/* A sweep with the old traps: sizes from 50 (the axis began at 10),
 * forward's ratio reaching 10^6 (labelled 1e+06 among plain numbers) and
 * skipped after 1000, reverse growing like n^2 against theory's n (flagged),
 * central with 2 of 5 cells above the floor (said "too few points" while 5
 * were drawn). */
static const char *write_traps(void)
{
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, NCOLS, COLS), 0);
    static const double N[6] = {50, 100, 200, 500, 1000, 2000};
    static const double CENTRAL[5] = {2e-4, 2.2e-4, 2.6e-4, 9e-4, 4e-3};
    for (int i = 0; i < 6; i++) {
        double n = N[i], tf = 1e-9 * n, wobble = 1 + 0.03 * sin(2.385 * i);
        cell c[3] = {{"rosenbrock", "forward", "n", n, i < 5 ? "ok" : "skipped", tf, 2e-6 * n * n * wobble, 9000},
                     {"rosenbrock", "reverse", "n", n, "ok", tf, 3e-7 * n * n * wobble, (long long)(64 * n)},
                     {"rosenbrock", "central", "n", n, i < 5 ? "ok" : "failed", tf, i < 5 ? CENTRAL[i] : 0,
                      (long long)(24 * n)}};
        for (int b = 0; b < 3; b++) add_cell(&t, &c[b]);
    }
    const char *p = path("traps.csv");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    cr_assert_eq(ad_bench_table_write(f, &t), 0);
    fclose(f);
    ad_bench_table_free(&t);
    return p;
}

/* The text of one dumb chart in the output: from its title to the next. */
static char *dumb_chart(const char *out, const char *title)
{
    const char *a = strstr(out, title);
    cr_assert_not_null(a, "no chart '%s' in:\n%s", title, out);
    const char *b = strstr(a + 1, "rosenbrock: ");
    size_t n = b ? (size_t)(b - a) : strlen(a);
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memcpy(s, a, n);
    s[n] = '\0';
    return s;
}

/* The first x tic label: the first word of the line under the frame's bottom. */
static void first_x_label(const char *chart, char *word, size_t n)
{
    const char *frame = NULL;
    for (const char *p = chart; (p = strstr(p, "+-----")); p++) frame = p;
    cr_assert_not_null(frame, "no frame in:\n%s", chart);
    const char *line = strchr(frame, '\n');
    cr_assert_not_null(line);
    line++;
    while (*line == ' ') line++;
    size_t k = strcspn(line, " \n");
    snprintf(word, n, "%.*s", (int)k, line);
}

Test(plot, dumb_charts_without_traps, .description = "every series chart in characters: the x axis starts at the "
                                                     "data, labels read alike, the legend says no fit, flagged "
                                                     "and skipped")
{
    NEED("gnuplot");
    const char *csv = write_traps();
    result *r = run_with("COLUMNS=120", "plot", csv, "--format", "dumb");
    cr_assert_eq(r->status, 0, "%s", r->err);
    static const char *const TITLES[] = {"rosenbrock: time of one gradient vs size n",
                                         "rosenbrock: peak memory of one gradient vs size n",
                                         "rosenbrock: cost ratio T_grad / T_f vs size n"};
    for (int k = 0; k < 3; k++) {
        char *c = dumb_chart(r->out, TITLES[k]), first[32];
        first_x_label(c, first, sizeof first);
        cr_expect_str_eq(first, "50", "%s: the x axis starts at %s, the data at 50:\n%s", TITLES[k], first, c);
        cr_expect(strstr(c, " 100 ") && strstr(c, " 200 ") && strstr(c, " 500 ") && strstr(c, " 1k "),
                  "1-2-5 labels:\n%s", c);
        cr_expect_null(strstr(c, "e+"), "a label in e+ notation:\n%s", c);
        cr_expect(strstr(c, "size n (inputs)"), "%s", c);
        if (k < 2) cr_expect(strstr(c, "central (no fit: 2 of 5 above floor)"), "%s", c);
        free(c);
    }
    char *c = dumb_chart(r->out, TITLES[0]);
    cr_expect(strstr(c, "reverse (slope 2.0") && strstr(c, "theory 1: DISAGREES)"), "flagged:\n%s", c);
    cr_expect(strstr(c, "forward (slope 2.0") && strstr(c, "theory 2)"), "%s", c);
    cr_expect(strstr(c, "skipped: over budget (predicted)"), "%s", c);
    free(c);
    c = dumb_chart(r->out, TITLES[2]);
    /* forward's ratio reaches 2e-6 n^2 / 1e-9 n = 2000 n = 2e6 at n = 1000: labelled as the x axis is */
    cr_expect(strstr(c, " 1M |") || strstr(c, " 1M +"), "a 1M label:\n%s", c);
    cr_expect(strstr(c, "forward (19") && strstr(c, "at n = 1000)"), "%s", c);
    free(c);
}

Test(plot, dumb_fd_error_and_tangent_legends, .description = "fd-error and tangent in characters: every legend "
                                                             "entry and the axis labels are shown")
{
    NEED("gnuplot");
    result *r = run_with("COLUMNS=100", "fd-error", "sin(x)*exp(x)", "--var", "x=1.3", "--format", "dumb");
    cr_assert_eq(r->status, 0, "%s", r->err);
    /* the floor's line ran through a key in the lower left and hid this entry */
    static const char *const FD[] = {"forward-diff: O(h)", "central: O(h^2)", "five-point: O(h^4)",
                                     "automatic step of each rule", "AD error floor", "step h (absolute)", "1e-16",
                                     "1e-2"};
    for (int i = 0; i < 8; i++) cr_expect(strstr(r->out, FD[i]), "fd-error lacks '%s':\n%s", FD[i], r->out);
    r = run_with("COLUMNS=100", "tangent", "0.01*x^2 + 0.1*x", "--at", "10", "--range", "0:20", "--format", "dumb");
    cr_assert_eq(r->status, 0, "%s", r->err);
    static const char *const TAN[] = {"f(x) = 0.01*x^2 + 0.1*x", "tangent at x = 10: y = 0.3 x - 1", " 20 "};
    for (int i = 0; i < 3; i++) cr_expect(strstr(r->out, TAN[i]), "tangent lacks '%s':\n%s", TAN[i], r->out);
}

Test(plot, hand_made_csv_without_harness_columns, .description = "a CSV with only the needed columns: slopes fitted "
                                                                 "over every ok cell")
{
    NEED("gnuplot");
    const char *p = path("small.csv");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f, "function,backend,size,status,t_f_median,t_grad_median,peak_total\n");
    double x[3] = {100, 1000, 10000}, y[3] = {2.1e-5, 2.3e-4, 2.2e-3};
    for (int i = 0; i < 3; i++) fprintf(f, "expsin,reverse,%g,ok,%g,%.17g,%d\n", x[i], y[i] / 3, y[i], 800 * (i + 1));
    fprintf(f, "expsin,forward,100,skipped,,,\n");
    fclose(f);
    result *r = run("plot", p, "--out", path("c"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    chart_data d;
    read_chart(path("c/data/time_expsin.dat"), &d);
    cr_assert_eq(d.nblocks, 1, "the skipped-only backend has no line");
    ad_bench_fit fit;
    cr_assert(ad_bench_fit_loglog(x, y, 3, &fit));
    char legend[64];
    snprintf(legend, sizeof legend, "reverse (slope %.2f)", fit.slope);
    cr_expect_str_eq(d.legend[0], legend);
    expect_png(path("c/time_expsin.png"));
}

Test(plot, chain_memory_is_against_k, .description = "memory_chain's title says vs chain length k")
{
    NEED("gnuplot");
    const char *csv = write_results();
    result *r = run("plot", csv, "--out", path("c"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    char *text = read_all(path("c/data/memory_chain.dat"), NULL);
    cr_assert_not_null(text);
    cr_expect(strstr(text, "chain: peak memory of one gradient vs chain length k"), "%s", text);
    free(text);
    chart_data d;
    read_chart(path("c/data/memory_chain.dat"), &d);
    int fwd = block_of(&d, "forward"), rev = block_of(&d, "reverse");
    cr_assert(fwd >= 0 && rev >= 0);
    /* forward mode's memory does not grow with k (slope 0), reverse's does (slope ~1) */
    cr_expect(strstr(d.legend[fwd], "slope 0.00") || strstr(d.legend[fwd], "slope -0.00"), "%s", d.legend[fwd]);
    cr_expect(strstr(d.legend[rev], "slope 0.9") || strstr(d.legend[rev], "slope 1.0"), "%s", d.legend[rev]);
}

Test(plot, dumb_prints_the_charts, .description = "--format dumb prints the charts (with their titles) on stdout")
{
    NEED("gnuplot");
    const char *csv = write_results();
    result *r = run("plot", csv, "--format", "dumb");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "rosenbrock: time of one gradient vs size n");
    expect_out(r, "chain: peak memory of one gradient vs chain length k");
    expect_out(r, "reverse (slope");
    expect_out(r, "+-----"); /* a frame drawn in characters */
}

Test(plot, bad_line_is_exit_2_naming_the_line, .description = "a malformed CSV: exit 2, the message names file:line")
{
    const char *p = path("bad.csv");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f, "# adscope: 0.1.0\nfunction,backend,size,size_name,kind,status,t_f_median,t_grad_median,peak_total\n"
               "rosenbrock,reverse,10,n,gradient,ok,1e-6,3e-6,960\n"
               "rosenbrock,reverse,100,n,gradient,ok,1e-5\n");
    fclose(f);
    result *r = run("plot", p, "--out", path("c"));
    cr_expect_eq(r->status, 2);
    char where[600];
    snprintf(where, sizeof where, "%s:4:", p);
    expect_err(r, where);
    /* a value error is found after reading, and still names the line */
    f = fopen(p, "w");
    fprintf(f, "function,backend,size,size_name,kind,status,t_f_median,t_grad_median,peak_total\n"
               "rosenbrock,reverse,10,n,gradient,ok,1e-6,3e-6,960\n"
               "\n"
               "rosenbrock,reverse,100,n,gradient,ok,1e-5,fast,9600\n");
    fclose(f);
    r = run("plot", p, "--out", path("c"));
    cr_expect_eq(r->status, 2);
    expect_err(r, where);
    expect_err(r, "t_grad_median 'fast'");
    f = fopen(p, "w");
    fprintf(f, "function,backend,size,size_name,kind,status,t_f_median,t_grad_median,peak_total\n"
               "rosenbrock,reverse,10,n,gradient,done,1e-6,3e-6,960\n");
    fclose(f);
    r = run("plot", p, "--out", path("c"));
    cr_expect_eq(r->status, 2);
    snprintf(where, sizeof where, "%s:2: status 'done'", p);
    expect_err(r, where);
    f = fopen(p, "w");
    fprintf(f, "function,backend,size\nrosenbrock,reverse,10\n");
    fclose(f);
    r = run("plot", p, "--out", path("c"));
    cr_expect_eq(r->status, 2);
    expect_err(r, "no column 'status'");
}

Test(plot, usage_errors, .description = "missing file, unknown format, no --out: exit 2 with the reason")
{
    result *r = run("plot", path("nothere.csv"), "--out", path("c"));
    cr_expect_eq(r->status, 2);
    expect_err(r, "nothere.csv");
    r = run("plot", write_results(), "--out", path("c"), "--format", "jpeg");
    cr_expect_eq(r->status, 2);
    expect_err(r, "--format must be png, svg or dumb, not 'jpeg'");
    r = run("plot", write_results());
    cr_expect_eq(r->status, 2);
    expect_err(r, "--out DIR");
    r = run("plot");
    cr_expect_eq(r->status, 2);
    expect_err(r, "missing RESULTS.csv");
}

Test(plot, missing_gnuplot_is_reported, .description = "ADSCOPE_GNUPLOT pointing nowhere: exit 2 naming gnuplot-nox")
{
    const char *csv = write_results();
    result *r = run_with("ADSCOPE_GNUPLOT=/nonexistent/gnuplot", "plot", csv, "--out", path("c"));
    cr_expect_eq(r->status, 2);
    expect_err(r, "gnuplot not found");
    expect_err(r, "/nonexistent/gnuplot");
    expect_err(r, "gnuplot-nox");
    r = run_with("ADSCOPE_GNUPLOT=/nonexistent/gnuplot", "tangent", "x^2", "--at", "1", "--format", "dumb");
    cr_expect_eq(r->status, 2);
    expect_err(r, "gnuplot-nox");
    r = run_with("ADSCOPE_GNUPLOT=/nonexistent/gnuplot", "fd-error", "sin(x)", "--var", "x=1", "--out", path("f.png"));
    cr_expect_eq(r->status, 2);
    expect_err(r, "gnuplot-nox");
}

Test(plot, scripts_found_through_ADSCOPE_PLOTS, .description = "ADSCOPE_PLOTS overrides where the scripts are")
{
    NEED("gnuplot");
    const char *csv = write_results();
    char env[600];
    snprintf(env, sizeof env, "ADSCOPE_PLOTS=%s", th_tmp_dir()); /* no scripts there */
    result *r = run_with(env, "plot", csv, "--out", path("c"));
    cr_expect_eq(r->status, 2);
    expect_err(r, "ADSCOPE_PLOTS");
    snprintf(env, sizeof env, "ADSCOPE_PLOTS=%s/plots", ADSCOPE_SOURCE_DIR);
    r = run_with(env, "plot", csv, "--out", path("c"));
    cr_expect_eq(r->status, 0, "%s", r->err);
}

/* ---- adscope fd-error ------------------------------------------------------------------------- */

typedef struct {
    int n;
    double h[64], err[3][64];
} fd_data;

static void read_fd(const char *p, fd_data *d)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s was not written", p);
    char line[1024];
    bool in_block = false;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        if (!in_block) {
            if (line[0] == 'h' && line[1] == ' ') in_block = true;
            continue;
        }
        if (line[0] == '\n') break;
        cr_assert_lt(d->n, 64);
        char e[3][32];
        cr_assert_eq(sscanf(line, "%lf %31s %31s %31s", &d->h[d->n], e[0], e[1], e[2]), 4, "%s", line);
        for (int r = 0; r < 3; r++) d->err[r][d->n] = strtod(e[r], NULL); /* "NaN" -> nan */
        d->n++;
    }
    fclose(f);
}

static int nearest(const fd_data *d, double h)
{
    int best = 0;
    for (int i = 1; i < d->n; i++)
        if (fabs(log10(d->h[i] / h)) < fabs(log10(d->h[best] / h))) best = i;
    return best;
}

Test(plot, fd_error_has_the_V_shape, .description = "fd-error: each rule's error is far smaller at its best h "
                                                     "than at h = 1e-1 and h = 1e-15")
{
    NEED("gnuplot");
    const double x = 1.3, exact = (sin(x) + cos(x)) * exp(x);
    result *r = run("fd-error", "sin(x)*exp(x)", "--var", "x=1.3", "--out", path("fd.png"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_png(path("fd.png"));
    /* the AD derivative printed is the analytic one */
    const char *dl = strstr(r->out, "derivative (reverse mode)");
    cr_assert_not_null(dl, "%s", r->out);
    double printed = strtod(dl + strlen("derivative (reverse mode)"), NULL);
    cr_expect(fabs(printed - exact) < 1e-14 * fabs(exact), "%.17g vs %.17g", printed, exact);
    expect_out(r, "forward-diff");
    expect_out(r, "five-point");
    fd_data d;
    read_fd(path("fd.dat"), &d);
    cr_assert_eq(d.n, 60, "60 steps, got %d", d.n);
    cr_expect(fabs(d.h[0] / 1e-16 - 1) < 1e-5 && fabs(d.h[59] / 1e-1 - 1) < 1e-5);
    static const char *const RULE[] = {"forward-diff", "central", "five-point"};
    int i_big = nearest(&d, 1e-1), i_small = nearest(&d, 1e-15);
    for (int q = 0; q < 3; q++) {
        int best = 0;
        for (int i = 0; i < d.n; i++)
            if (d.err[q][i] < d.err[q][best] || isnan(d.err[q][best])) best = i;
        double eb = d.err[q][best];
        cr_expect(eb < 1e-4 * d.err[q][i_big], "%s: best %g vs %g at h = 1e-1", RULE[q], eb, d.err[q][i_big]);
        cr_expect(eb < 1e-4 * d.err[q][i_small], "%s: best %g vs %g at h = 1e-15", RULE[q], eb, d.err[q][i_small]);
        if (q == 1) { /* central: best h near eps^(1/3) ~ 6e-6, within a few decades */
            double h3 = cbrt(DBL_EPSILON);
            cr_expect(d.h[best] > h3 / 300 && d.h[best] < h3 * 300, "central's best h %g, eps^(1/3) = %g", d.h[best],
                      h3);
        }
        /* truncation on the right: error ~ h^p, the slope between 1e-2 and 1e-1 */
        int i2 = nearest(&d, 1e-2);
        double slope = log10(d.err[q][i_big] / d.err[q][i2]) / log10(d.h[i_big] / d.h[i2]);
        double p = q == 0 ? 1 : q == 1 ? 2 : 4;
        cr_expect(fabs(slope - p) < 0.3, "%s: truncation slope %g, expected %g", RULE[q], slope, p);
    }
}

Test(plot, fd_error_input_errors, .description = "fd-error: a non-scalar EXPR and a bad --direction are exit 2")
{
    result *r = run("fd-error", "x*2", "--var", "x=[1,2]");
    cr_expect_eq(r->status, 2);
    expect_err(r, "must be a scalar");
    expect_err(r, "[2]");
    r = run("fd-error", "sum(x)", "--var", "x=[1,2]", "--direction", "e7");
    cr_expect_eq(r->status, 2);
    expect_err(r, "--direction must be e0 or random");
    r = run("fd-error", "sum(x)", "--var", "x=[1,2]", "--out", path("f.jpg"));
    cr_expect_eq(r->status, 2);
    expect_err(r, "--format");
}

Test(plot, fd_error_random_direction_table, .description = "fd-error --direction random prints the table only")
{
    result *r = run("fd-error", "sum(tanh(A @ x))", "--var", "A=[[1,2],[3,4]]", "--var", "x=[0.1,-0.2]", "--wrt",
                    "x", "--direction", "random");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "d/dv of sum(tanh(A @ x))");
    expect_out(r, "automatic h");
    expect_out(r, "central");
}

/* ---- adscope tangent -------------------------------------------------------------------------- */

static double number_after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    cr_assert_not_null(p, "no '%s' in:\n%s", key, text);
    return strtod(p + strlen(key), NULL);
}

Test(plot, tangent_of_the_d2l_example, .description = "tangent '0.01*x^2 + 0.1*x' --at 10 --range 0:20: slope 0.3, "
                                                       "intercept -1")
{
    result *r = run("tangent", "0.01*x^2 + 0.1*x", "--at", "10", "--range", "0:20");
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_expect(fabs(number_after(r->out, "slope     =") - 0.3) < 1e-14, "%s", r->out);
    cr_expect(fabs(number_after(r->out, "intercept =") + 1) < 1e-13, "%s", r->out);
    expect_out(r, "tangent: y = 0.3 x - 1");
    expect_out(r, "f(x) = 0.01*x^2 + 0.1*x");
}

Test(plot, tangent_chart, .description = "tangent --out FILE.png draws f, the line and the point")
{
    NEED("gnuplot");
    result *r = run("tangent", "0.01*x^2 + 0.1*x", "--at", "10", "--range", "0:20", "--out", path("t.png"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_png(path("t.png"));
    chart_data d;
    read_chart(path("t.dat"), &d);
    cr_assert_eq(d.nblocks, 3);
    cr_expect_str_eq(d.legend[0], "f(x) = 0.01*x^2 + 0.1*x");
    cr_expect_str_eq(d.legend[1], "tangent at x = 10: y = 0.3 x - 1");
    cr_expect_eq(d.nrows[0], 200, "200 points of f");
    cr_expect_eq(d.x[0][0], 0);
    cr_expect(fabs(d.y[0][1] - (0.01 * d.x[0][1] * d.x[0][1] + 0.1 * d.x[0][1])) < 1e-14);
    cr_expect(fabs(d.y[1][0] + 1) < 1e-13 && fabs(d.y[1][1] - 5) < 1e-13, "line from (0,-1) to (20,5)");
    cr_expect(d.x[2][0] == 10 && fabs(d.y[2][0] - 2) < 1e-14, "the point (10, 2)");
    r = run("tangent", "sin(a*t)", "--var", "a=2", "--at", "pi/4", "--range", "0:pi", "--format", "dumb");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "f and its tangent line at t = 0.785398");
    cr_expect(fabs(number_after(r->out, "slope     =")) < 1e-15, "cos(pi/2) = 0: %s", r->out);
}

Test(plot, tangent_input_errors, .description = "tangent: two free variables, a vector point, a bad range: exit 2")
{
    result *r = run("tangent", "x*y", "--at", "1");
    cr_expect_eq(r->status, 2);
    expect_err(r, "function of x, y");
    r = run("tangent", "x*y", "--at", "[1,2]", "--var", "y=3");
    cr_expect_eq(r->status, 2);
    expect_err(r, "--at must be one finite number");
    r = run("tangent", "x*y", "--at", "1", "--var", "y=3", "--range", "2:1");
    cr_expect_eq(r->status, 2);
    expect_err(r, "must be less than");
    r = run("tangent", "x*y", "--at", "1", "--var", "y=3", "--range", "5");
    cr_expect_eq(r->status, 2);
    expect_err(r, "--range expects A:B");
    r = run("tangent", "x*y", "--var", "y=3");
    cr_expect_eq(r->status, 2);
    expect_err(r, "missing --at");
    r = run("tangent", "x*[1,2]", "--at", "1");
    cr_expect_eq(r->status, 2);
    expect_err(r, "must be one number, but its value has shape [2]");
}

/* ---- adscope graph ---------------------------------------------------------------------------- */

/* The node id of the record named `name` in DOT text ("n3"), and where its
 * definition is. */
static const char *node_of(const char *dot, const char *name, char *id, size_t n)
{
    const char *p = strstr(dot, name);
    cr_assert_not_null(p, "no %s in:\n%s", name, dot);
    const char *line = p;
    while (line > dot && line[-1] != '\n') line--;
    while (*line == ' ') line++;
    size_t k = strcspn(line, " ");
    snprintf(id, n, "%.*s", (int)k, line);
    return line;
}

Test(plot, graph_of_2_dot_x_x, .description = "graph '2*dot(x,x)': the leaf x with requires_grad, DotBackward0 then "
                                              "MulBackward0, edges in tape order")
{
    result *r = run("graph", "2*dot(x,x)", "--var", "x=arange(4)");
    cr_assert_eq(r->status, 0, "%s", r->err);
    const char *dot = r->out;
    cr_expect(strstr(dot, "digraph"));
    expect_out(r, "x  [4]\\nrequires_grad");
    char dotn[32], muln[32], edge[96];
    const char *d_at = node_of(dot, "DotBackward0", dotn, sizeof dotn);
    const char *m_at = node_of(dot, "MulBackward0", muln, sizeof muln);
    cr_expect(d_at < m_at, "tape order: DotBackward0 is recorded before MulBackward0");
    /* the leaf feeds dot twice, dot feeds mul */
    const char *leaf = strstr(dot, "leaf0 [shape=box");
    cr_assert_not_null(leaf, "%s", dot);
    snprintf(edge, sizeof edge, "leaf0 -> %s;", dotn);
    const char *e1 = strstr(dot, edge);
    cr_assert_not_null(e1, "no edge %s in:\n%s", edge, dot);
    cr_expect(strstr(e1 + 1, edge), "dot(x, x) uses x twice:\n%s", dot);
    snprintf(edge, sizeof edge, "%s -> %s;", dotn, muln);
    const char *e2 = strstr(dot, edge);
    cr_assert_not_null(e2, "no edge %s in:\n%s", edge, dot);
    cr_expect(e1 < e2, "edges in tape order");
    /* saved bytes: dot saves both inputs, one storage (4 doubles, counted
     * once); the output is highlighted */
    cr_expect(strstr(d_at, "saved 32 B"), "%s", dot);
    const char *m_end = strchr(m_at, '\n');
    cr_expect(strstr(m_at, "output") && strstr(m_at, "output") < m_end && strstr(m_at, "penwidth") < m_end, "%s",
              dot);
}

Test(plot, graph_marks_constants, .description = "graph --wrt x: A is a constant without requires_grad")
{
    result *r = run("graph", "sum(tanh(A @ x))", "--var", "A=[[1,2],[3,4]]", "--var", "x=[0.1,-0.2]", "--wrt", "x");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "x  [2]\\nrequires_grad");
    expect_out(r, "label=\"constant\"");
    cr_expect_null(strstr(r->out, "A  [2,2]"), "%s", r->out);
    expect_out(r, "TanhBackward0");
    expect_out(r, "SumBackward0");
}

Test(plot, graph_picture_and_text_files, .description = "graph --out FILE.png draws with dot; FILE.dot is the text")
{
    result *r = run("graph", "2*dot(x,x)", "--var", "x=arange(4)", "--out", path("g.dot"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    char *text = read_all(path("g.dot"), NULL);
    cr_assert_not_null(text);
    cr_expect(strstr(text, "digraph") && strstr(text, "MulBackward0"));
    free(text);
    r = run("graph", "2*dot(x,x)", "--var", "x=arange(4)", "--out", path("g.jpeg"));
    cr_expect_eq(r->status, 2);
    expect_err(r, ".png, .svg or .pdf");
    NEED("dot");
    r = run("graph", "2*dot(x,x)", "--var", "x=arange(4)", "--out", path("g.png"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_png(path("g.png"));
    r = run("graph", "2*dot(x,x)", "--var", "x=arange(4)", "--out", path("g.svg"));
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_svg(path("g.svg"));
}

Test(plot, graph_without_dot_writes_the_text, .description = "dot missing: FILE.dot written, a note, exit 0")
{
    result *r = run_with("ADSCOPE_DOT=/nonexistent/dot", "graph", "2*dot(x,x)", "--var", "x=arange(4)", "--out",
                         path("g.png"));
    cr_expect_eq(r->status, 0, "%s", r->err);
    expect_out(r, "graphviz");
    expect_out(r, "g.png.dot");
    char *text = read_all(path("g.png.dot"), NULL);
    cr_assert_not_null(text);
    cr_expect(strstr(text, "DotBackward0"));
    free(text);
    cr_expect_neq(access(path("g.png"), F_OK), 0, "no picture without dot");
}

/* ---- help ---------------------------------------------------------------------------------------- */

Test(plot, help_texts_are_man_pages, .description = "help of plot, fd-error, tangent, graph: every man-page section")
{
    static const char *const CMDS[] = {"plot", "fd-error", "tangent", "graph"};
    static const char *const SECTIONS[] = {"NAME\n", "SYNOPSIS\n", "DESCRIPTION\n", "OPTIONS\n", "EXIT STATUS\n",
                                           "EXAMPLES\n"};
    for (int i = 0; i < 4; i++) {
        result *r = run(CMDS[i], "--help");
        cr_expect_eq(r->status, 0);
        for (int s = 0; s < 6; s++)
            cr_expect(strstr(r->out, SECTIONS[s]), "adscope %s --help lacks %s", CMDS[i], SECTIONS[s]);
        char name[64];
        snprintf(name, sizeof name, "adscope %s - ", CMDS[i]);
        expect_out(r, name);
    }
    result *r = run("plot", "--help");
    expect_out(r, "ADSCOPE_PLOTS");
    expect_out(r, "ADSCOPE_GNUPLOT");
}
