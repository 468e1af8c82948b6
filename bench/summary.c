/* bench/summary.c — per (function, backend): the fit range, log-log fits of
 * time and peak bytes against size, theory, disagreement flags, worst
 * error (ad_bench_summarize), and the table printed on stdout
 * (ad_bench_summary_print).  Works on any result table, so a merged CSV
 * is summarised exactly like a fresh run. */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

bool ad_bench_disagrees(const ad_bench_fit *fit, double theory)
{
    if (isnan(theory) || fit->n < AD_BENCH_MIN_FIT_POINTS || isnan(fit->slope)) return false;
    /* the half-width of the slope's two-sided confidence interval: Student's
     * t with n - 2 degrees of freedom (the fit estimated two parameters) */
    double t = gsl_cdf_tdist_Qinv((1 - AD_BENCH_CONFIDENCE) / 2, fit->n - 2);
    double half = isnan(fit->se) ? 0 : t * fit->se;
    return fabs(fit->slope - theory) > AD_BENCH_TOLERANCE + half;
}

/* The robust time of row r: the best round median when the table has it
 * (a run with interleaved rounds), else the median; NAN when the cell's
 * rounds are too far apart to judge. */
static double robust_time(const ad_bench_table *t, int64_t r, const char *best, const char *median,
                          const char *spread)
{
    double v = ad_bench_table_col(t, best) >= 0 ? ad_bench_table_num(t, r, best) : NAN;
    if (isnan(v)) return ad_bench_table_num(t, r, median);
    double sp = ad_bench_table_num(t, r, spread);
    return ad_bench_too_noisy(sp) ? NAN : v;
}

/* The series of (fn, b), or -1.  Names are compared in full, through the
 * series' first row: the series' own name fields may be cut. */
static int find_series(const ad_bench_table *t, const ad_bench_series *s, int n, const char *fn, const char *b)
{
    for (int i = n - 1; i >= 0; i--) /* a table is grouped: the newest series matches first */
        if (strcmp(ad_bench_table_get(t, s[i].first_row, "function"), fn) == 0 &&
            strcmp(ad_bench_table_get(t, s[i].first_row, "backend"), b) == 0)
            return i;
    return -1;
}

/* The overhead floor of a list of times: FLOOR_FACTOR x the smallest, and
 * at least min_abs. */
static double floor_of(const double *t, int n, double min_abs)
{
    double mn = INFINITY;
    for (int i = 0; i < n; i++)
        if (t[i] > 0 && t[i] < mn) mn = t[i];
    if (isinf(mn)) return min_abs;
    return fmax(min_abs, AD_BENCH_FLOOR_FACTOR * mn);
}

/* The fit of log T_f (one value per size, from any backend's row) against
 * log size over the sizes with T_f >= FLOOR_FACTOR x its smallest. */
static void eval_fit(const ad_bench_table *t, const char *function, ad_bench_fit *f)
{
    int64_t nr = t->nrows;
    double *x = malloc((size_t)(nr ? nr : 1) * sizeof *x), *y = malloc((size_t)(nr ? nr : 1) * sizeof *y);
    f->n = 0;
    f->slope = f->se = f->r2 = f->intercept = NAN;
    if (!x || !y) goto done;
    int n = 0;
    for (int64_t r = 0; r < nr; r++) {
        if (strcmp(ad_bench_table_get(t, r, "function"), function) != 0) continue;
        double sz = ad_bench_table_num(t, r, "size"), tf = robust_time(t, r, "t_f_best", "t_f_median", "t_f_spread");
        if (isnan(tf)) continue;
        bool seen = false;
        for (int i = 0; i < n; i++) seen = seen || x[i] == sz;
        if (seen) continue;
        x[n] = sz;
        y[n] = tf;
        n++;
    }
    double fl = floor_of(y, n, 0);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (y[i] >= fl) {
            x[k] = x[i];
            y[k] = y[i];
            k++;
        }
    f->n = k;
    if (k >= AD_BENCH_MIN_FIT_POINTS) ad_bench_fit_loglog(x, y, k, f);
done:
    free(x);
    free(y);
}

/* The ok cells of one series: size, T_grad, T_f, peak bytes, and room for
 * the points of a fit. */
typedef struct {
    double *sz, *tg, *tf, *pk, *xs, *ys, *spread;
    int n;
} series_cells;

static void cells_free(series_cells *c)
{
    free(c->sz);
    free(c->tg);
    free(c->tf);
    free(c->pk);
    free(c->xs);
    free(c->ys);
    free(c->spread);
}

static bool cells_alloc(series_cells *c, int64_t nr)
{
    size_t cap = (size_t)(nr ? nr : 1) * sizeof(double);
    c->n = 0;
    c->sz = malloc(cap);
    c->tg = malloc(cap);
    c->tf = malloc(cap);
    c->pk = malloc(cap);
    c->xs = malloc(cap);
    c->ys = malloc(cap);
    c->spread = malloc(cap);
    return c->sz && c->tg && c->tf && c->pk && c->xs && c->ys && c->spread;
}

/* Counts row r of the series s and, when it is ok, its worst errors, the
 * largest size's ratio and its point in c. */
static void take_row(const ad_bench_table *t, int64_t r, ad_bench_series *s, series_cells *c)
{
    s->ncells++;
    const char *st = ad_bench_table_get(t, r, "status");
    snprintf(s->size_name, sizeof s->size_name, "%s", ad_bench_table_get(t, r, "size_name"));
    s->jacobian = strcmp(ad_bench_table_get(t, r, "kind"), "jacobian") == 0;
    if (strcmp(st, "skipped") == 0) s->nskipped++;
    if (strcmp(st, "failed") == 0) s->nfailed++;
    if (strcmp(st, "ok") != 0) return;
    s->nok++;
    double size = ad_bench_table_num(t, r, "size");
    if (size >= (double)s->largest) {
        s->largest = (int64_t)size;
        s->ratio = ad_bench_table_num(t, r, "ratio");
    }
    double ea = ad_bench_table_num(t, r, "max_abs_err"), er = ad_bench_table_num(t, r, "max_rel_err");
    if (!isnan(er) && (isnan(s->worst_rel) || er > s->worst_rel)) s->worst_rel = er;
    if (!isnan(ea) && (isnan(s->worst_abs) || ea > s->worst_abs)) s->worst_abs = ea;
    const char *ref = ad_bench_table_get(t, r, "err_reference");
    if (ref[0]) snprintf(s->err_reference, sizeof s->err_reference, "%s", ref);
    /* a cell too noisy to judge keeps its place in the counts, not in the fits */
    c->spread[c->n] = ad_bench_table_col(t, "t_grad_spread") >= 0 ? ad_bench_table_num(t, r, "t_grad_spread") : NAN;
    double tg = robust_time(t, r, "t_grad_best", "t_grad_median", "t_grad_spread");
    if (isnan(tg) && !isnan(ad_bench_table_num(t, r, "t_grad_median"))) s->nnoisy++;
    c->sz[c->n] = size;
    c->tg[c->n] = tg;
    /* T_f here decides the floor only: a noisy T_f still says whether f is
     * out of its fixed-cost regime (a NAN would pass every floor) */
    double tf = robust_time(t, r, "t_f_best", "t_f_median", "t_f_spread");
    c->tf[c->n] = isnan(tf) ? ad_bench_table_num(t, r, "t_f_median") : tf;
    c->pk[c->n] = ad_bench_table_num(t, r, "peak_total");
    c->n++;
}

/* Cell i is out of the fixed-overhead regimes of the derivative and of the
 * evaluation. */
static bool above_floors(const ad_bench_series *s, const series_cells *c, int i)
{
    return c->tg[i] >= s->floor && !(c->tf[i] < s->floor_f);
}

/* The time fit: the derivative AND the evaluation out of their
 * fixed-overhead regimes (a pass of a forward or difference backend is an
 * evaluation: while f's own overhead dominates it, n passes cost ~n).
 * Returns the number of cells fitted. */
static int fit_time(ad_bench_series *s, series_cells *c)
{
    s->floor = floor_of(c->tg, c->n, AD_BENCH_FLOOR_SECONDS);
    s->floor_f = floor_of(c->tf, c->n, 0);
    int k = 0;
    for (int i = 0; i < c->n; i++)
        if (above_floors(s, c, i)) {
            c->xs[k] = c->sz[i];
            c->ys[k] = c->tg[i];
            k++;
        }
    s->time.n = s->mem.n = k;
    if (k >= AD_BENCH_MIN_FIT_POINTS) ad_bench_fit_loglog(c->xs, c->ys, k, &s->time);
    return k;
}

/* The memory fit: when peak bytes grow past MEM_FLOOR_FACTOR x the series'
 * smallest peak, the cells of the time fit minus those below that (fixed
 * bookkeeping dominates them), and no fit if fewer than MIN_FIT_POINTS
 * remain; when they never do, memory hardly grows and every cell of the
 * time fit counts (an exponent near 0). */
static void fit_mem(ad_bench_series *s, series_cells *c)
{
    double pmin = INFINITY, pmax = 0;
    for (int i = 0; i < c->n; i++)
        if (c->pk[i] > 0) {
            pmin = fmin(pmin, c->pk[i]);
            pmax = fmax(pmax, c->pk[i]);
        }
    s->mem_floor = pmax >= AD_BENCH_MEM_FLOOR_FACTOR * pmin ? AD_BENCH_MEM_FLOOR_FACTOR * pmin : 0;
    int m = 0;
    for (int i = 0; i < c->n; i++)
        if (above_floors(s, c, i) && c->pk[i] >= s->mem_floor) {
            c->xs[m] = c->sz[i];
            c->ys[m] = c->pk[i];
            m++;
        }
    s->mem.n = m;
    if (m >= AD_BENCH_MIN_FIT_POINTS) ad_bench_fit_loglog(c->xs, c->ys, m, &s->mem);
}

/* Whether a vector-mode series carried different widths at different
 * sizes (k = ceil(n / passes) per gradient cell; only for the suite's
 * functions whose size n is the number of inputs differentiated: chain's
 * k is a step count, a GradBench eval's size its own parameter).  The default width is
 * chosen from n (ad_fwd_default_width: k = min(64, n, 256 KiB / 8n)), so the
 * tangent block k·n grows as n² below n = 64, as n up to 512 and stays
 * near 32768 doubles above: the peak memory of such a series follows no
 * single power of n, and judging it against one flagged a correct run. */
static bool width_varies(const ad_bench_table *t, const char *function, const char *backend)
{
    double kmin = INFINITY, kmax = -INFINITY;
    for (int64_t r = 0; r < t->nrows; r++) {
        if (strcmp(ad_bench_table_get(t, r, "function"), function) != 0 ||
            strcmp(ad_bench_table_get(t, r, "backend"), backend) != 0)
            continue;
        double n = ad_bench_table_num(t, r, "size"), passes = ad_bench_table_num(t, r, "passes");
        if (!(n >= 1) || !(passes >= 1)) continue;
        double k = ceil(n / passes);
        kmin = fmin(kmin, k);
        kmax = fmax(kmax, k);
    }
    return kmax > kmin;
}

/* The series' theory exponents, and whether its fits disagree with them. */
static void judge(const ad_bench_table *t, const char *function, ad_bench_series *s)
{
    const ad_bench_fn *fn = ad_bench_suite_find(function);
    const ad_backend *b = ad_backend_find(s->backend);
    s->custom = fn == NULL;
    s->theory_time = s->theory_mem = NAN;
    eval_fit(t, function, &s->eval);
    s->theory_eval = fn ? fn->theory_eval : NAN;
    if (b) {
        /* a custom function: its measured evaluation exponent, rounded */
        double e = fn || s->eval.n < AD_BENCH_MIN_FIT_POINTS ? NAN : round(s->eval.slope);
        ad_bench_theory(fn, ad_bench_class_of(b), s->jacobian, e, &s->theory_time, &s->theory_mem);
        bool size_is_inputs = fn && !fn->jacobian && strncmp(function, "gb:", 3) != 0 && strcmp(fn->size_name, "n") == 0;
        if ((b->caps & AD_CAP_VECTOR) && size_is_inputs && width_varies(t, function, s->backend)) s->theory_mem = NAN;
        /* a rule through a program (central-replay): a point costs a block when f runs blocked, f
         * otherwise, which the function decides (bench/README.md) */
        const ad_fd_rule *R = ad_backend_fd_rule(b);
        if (R && R->replay) s->theory_time = NAN;
    }
    /* A backend's time is a constant (reverse) or n (forward, differences)
     * times an evaluation's, so it is judged against f as measured: when f
     * itself does not scale as its theory over these sizes (mlp's product
     * gets faster per flop while A fits in cache), the prediction follows
     * f's fitted exponent, with both standard errors. */
    s->expect_time = s->theory_time;
    double extra_se = 0;
    if (!isnan(s->theory_time) && !isnan(s->theory_eval) && ad_bench_disagrees(&s->eval, s->theory_eval)) {
        s->expect_time = s->theory_time - s->theory_eval + s->eval.slope;
        extra_se = isnan(s->eval.se) ? 0 : s->eval.se;
    }
    ad_bench_fit judged = s->time;
    if (!isnan(judged.se)) judged.se = sqrt(judged.se * judged.se + extra_se * extra_se);
    s->flag_time = ad_bench_disagrees(&judged, s->expect_time);
    s->flag_mem = ad_bench_disagrees(&s->mem, s->theory_mem);
}

/* The median of the spreads that were measured (NAN: none); v is reordered. */
static double median_spread(double *v, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) v[k++] = v[i];
    return k ? ad_bench_median(v, k) : NAN;
}

static void summarize_one(const ad_bench_table *t, ad_bench_series *s)
{
    s->ratio = s->floor = s->floor_f = s->mem_floor = s->worst_abs = s->worst_rel = s->noise = NAN;
    s->nnoisy = 0;
    s->time.n = s->mem.n = 0;
    s->time.slope = s->time.se = s->time.r2 = s->mem.slope = s->mem.se = s->mem.r2 = NAN;
    s->err_reference[0] = '\0';
    series_cells c;
    const char *fn = ad_bench_table_get(t, s->first_row, "function"), /* in full */
        *b = ad_bench_table_get(t, s->first_row, "backend");
    if (cells_alloc(&c, t->nrows)) {
        for (int64_t r = s->first_row; r < t->nrows; r++)
            if (strcmp(ad_bench_table_get(t, r, "function"), fn) == 0 &&
                strcmp(ad_bench_table_get(t, r, "backend"), b) == 0)
                take_row(t, r, s, &c);
        if (fit_time(s, &c) >= AD_BENCH_MIN_FIT_POINTS) fit_mem(s, &c);
        judge(t, fn, s);
        s->noise = median_spread(c.spread, c.n);
    }
    cells_free(&c);
}

int ad_bench_summarize(const ad_bench_table *t, ad_bench_series **out, int *n)
{
    *out = NULL;
    *n = 0;
    static const char *const need[] = {"function", "backend",   "size",       "size_name",     "kind",
                                       "status",   "t_f_median", "t_grad_median", "ratio",     "peak_total",
                                       "max_abs_err", "max_rel_err", "err_reference"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (ad_bench_table_col(t, need[i]) < 0) return -1;
    ad_bench_series *s = NULL;
    int ns = 0;
    for (int64_t r = 0; r < t->nrows; r++) {
        const char *fn = ad_bench_table_get(t, r, "function"), *b = ad_bench_table_get(t, r, "backend");
        if (find_series(t, s, ns, fn, b) >= 0) continue;
        ad_bench_series *g = realloc(s, (size_t)(ns + 1) * sizeof *s);
        if (!g) {
            free(s);
            return -1;
        }
        s = g;
        memset(&s[ns], 0, sizeof s[ns]);
        s[ns].first_row = r;
        snprintf(s[ns].function, sizeof s[ns].function, "%s", fn);
        snprintf(s[ns].backend, sizeof s[ns].backend, "%s", b);
        ns++;
    }
    for (int i = 0; i < ns; i++) summarize_one(t, &s[i]);
    *out = s;
    *n = ns;
    return 0;
}

/* "1.02 ± 0.03 (1)" */
static void exponent(char *buf, size_t n, const ad_bench_fit *f, double theory)
{
    char th[16];
    if (isnan(theory)) snprintf(th, sizeof th, "(?)");
    else snprintf(th, sizeof th, "(%g)", theory);
    if (f->n < AD_BENCH_MIN_FIT_POINTS || isnan(f->slope))
        snprintf(buf, n, "%-14s %-5s", f->n > 0 ? "few points" : "-", th);
    else if (isnan(f->se))
        snprintf(buf, n, "%5.2f         %-5s", f->slope, th);
    else
        snprintf(buf, n, "%5.2f ± %-5.2f %-5s", f->slope, f->se, th);
}

static void r2(char *buf, size_t n, const ad_bench_fit *f)
{
    if (f->n < AD_BENCH_MIN_FIT_POINTS || isnan(f->r2)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.3f", f->r2);
}

/* The run's noise: the median over series of their median spread, the
 * noisiest series, and the cells left out. */
static void print_noise(FILE *f, const ad_bench_series *s, int n)
{
    double *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) return;
    int k = 0, noisy = 0, worst = -1;
    for (int i = 0; i < n; i++) {
        noisy += s[i].nnoisy;
        if (isnan(s[i].noise)) continue;
        v[k++] = s[i].noise;
        if (worst < 0 || s[i].noise > s[worst].noise) worst = i;
    }
    if (k == 0)
        fprintf(f, "noise: not measured (no cell has two rounds)\n");
    else
        fprintf(f,
                "noise: a cell's median round is %.1f%% slower than its best (median over series; noisiest: %s %s, %.1f%%); "
                "%d cell%s too noisy to judge\n",
                100 * ad_bench_median(v, k), s[worst].function, s[worst].backend, 100 * s[worst].noise, noisy,
                noisy == 1 ? "" : "s");
    free(v);
}

int ad_bench_summary_print(FILE *f, const ad_bench_series *s, int n)
{
    int flagged = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && strcmp(s[i].function, s[i - 1].function) == 0) continue;
        const ad_bench_fn *fn = ad_bench_suite_find(s[i].function);
        fprintf(f, "%s%s%s: %s", i ? "\n" : "", s[i].function, s[i].custom ? " (custom)" : "",
                s[i].jacobian ? "Jacobian" : "gradient");
        if (fn) fprintf(f, " of %s", fn->definition);
        char ee[48], er[16];
        exponent(ee, sizeof ee, &s[i].eval, s[i].theory_eval);
        r2(er, sizeof er, &s[i].eval);
        bool ef = ad_bench_disagrees(&s[i].eval, s[i].theory_eval);
        fprintf(f, "\n  plain evaluation T_f: exponent %s R² %s%s", ee, er,
                ef ? "  <- f itself does not scale as theory says here: the backends are judged against its fit"
                   : "");
        if (s[i].custom && s[i].eval.n >= AD_BENCH_MIN_FIT_POINTS)
            fprintf(f, " (the backends' theory uses it rounded: %g)", round(s[i].eval.slope));
        fprintf(f, "\n  %-15s %9s %8s  %-20s %5s  %-20s %5s  %9s\n", "backend", "T_grad/T_f", "at", "time exponent",
                "R²", "memory exponent", "R²", "worst rel");
        for (int j = i; j < n; j++) {
            const ad_bench_series *x = &s[j];
            if (strcmp(x->function, s[i].function) != 0) continue;
            char ratio[32], at[32], te[48], me[48], tr[16], mr[16], err[32], flags[160] = "";
            if (isnan(x->ratio)) snprintf(ratio, sizeof ratio, "-");
            else snprintf(ratio, sizeof ratio, "%.3g", x->ratio);
            if (x->largest > 0) snprintf(at, sizeof at, "%s=%lld", x->size_name, (long long)x->largest);
            else snprintf(at, sizeof at, "-");
            exponent(te, sizeof te, &x->time, x->theory_time);
            exponent(me, sizeof me, &x->mem, x->theory_mem);
            r2(tr, sizeof tr, &x->time);
            r2(mr, sizeof mr, &x->mem);
            if (isnan(x->worst_rel)) snprintf(err, sizeof err, "-");
            else snprintf(err, sizeof err, "%.1e", x->worst_rel);
            size_t l = 0;
            if (x->flag_time || x->flag_mem) {
                l += (size_t)snprintf(flags + l, sizeof flags - l, "  <- DISAGREES with theory (%s%s%s)",
                                      x->flag_time ? "time" : "", x->flag_time && x->flag_mem ? ", " : "",
                                      x->flag_mem ? "memory" : "");
                flagged += x->flag_time + x->flag_mem;
            }
            if (x->nskipped || x->nfailed)
                l += (size_t)snprintf(flags + l, sizeof flags - l, "  [%d ok, %d skipped%s%.0d%s]", x->nok,
                                      x->nskipped, x->nfailed ? ", " : "", x->nfailed, x->nfailed ? " FAILED" : "");
            if (x->nnoisy && l < sizeof flags)
                snprintf(flags + l, sizeof flags - l, "  [%d too noisy to judge]", x->nnoisy);
            fprintf(f, "  %-15s %9s %8s  %-20s %5s  %-20s %5s  %9s%s\n", x->backend, ratio, at, te, tr, me, mr, err,
                    flags);
        }
    }
    if (n > 0)
        fprintf(f,
                "\nexponents: slope ± standard error of log(T_grad) and log(peak bytes) against log(size) (theory in\n"
                "parentheses) over the ok cells with T_grad >= max(%g x the series' fastest, %g us) and T_f >= %g x\n"
                "its smallest; memory also drops peaks under %g x the smallest when the peak grows past that.  T_grad\n"
                "is a cell's best round median; cells whose median round is %g%% slower than that are left out.\n"
                "Flagged when the %g%% confidence interval (slope ± t·se) lies outside theory ± %g.  worst rel:\n"
                "largest relative error against the reference.\n",
                AD_BENCH_FLOOR_FACTOR, AD_BENCH_FLOOR_SECONDS * 1e6, AD_BENCH_FLOOR_FACTOR, AD_BENCH_MEM_FLOOR_FACTOR,
                100 * AD_BENCH_NOISE_LIMIT, 100 * AD_BENCH_CONFIDENCE, AD_BENCH_TOLERANCE);
    print_noise(f, s, n);
    return flagged;
}
