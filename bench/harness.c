/* bench/harness.c — the sweep (ad_bench_plan, ad_bench_run): cells of
 * function × backend × size, each timed after a warm-up with an adaptive
 * number of repetitions, predicted from the series' previous size and
 * skipped when hopeless, its derivative checked against the analytic one
 * (or five-point differences), its bytes taken from the driver's exact
 * counters.  See bench/README.md for the rules. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

const char *const ad_bench_columns[AD_BENCH_NCOLS] = {
    "function",      "backend",       "size",       "size_name",    "kind",          "status",
    "reps",          "t_f_min",       "t_f_median", "t_f_max",      "t_grad_min",    "t_grad_median",
    "t_grad_max",    "ratio",         "passes",     "sweeps",       "ops_recorded",  "peak_values",
    "peak_tangents", "peak_tape",     "peak_meta",  "peak_total",   "peak_rss",      "max_abs_err",
    "max_rel_err",   "err_reference", "note",
    /* added by the interleaved rounds (bench/README.md, "Noise"); the columns above keep their meaning */
    "rounds",        "t_f_best",      "t_f_spread", "t_grad_best",  "t_grad_spread", "noisy",
};

const char *ad_bench_status_name(ad_bench_status s)
{
    return s == AD_BENCH_OK ? "ok" : s == AD_BENCH_SKIPPED ? "skipped" : "failed";
}

double ad_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ad_bench_sort(double *v, int n)
{
    if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_double);
}

double ad_bench_median(double *v, int n)
{
    if (n <= 0) return NAN;
    ad_bench_sort(v, n);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

const char *ad_bench_fmt_seconds(char *buf, size_t n, double s)
{
    if (isnan(s)) snprintf(buf, n, "-");
    else if (s < 1e-3) snprintf(buf, n, "%.1f us", s * 1e6);
    else if (s < 1) snprintf(buf, n, "%.2f ms", s * 1e3);
    else snprintf(buf, n, "%.2f s", s);
    return buf;
}

void ad_bench_config_defaults(ad_bench_config *c, bool quick)
{
    memset(c, 0, sizeof *c);
    c->quick = quick;
    c->min_reps = 3;
    c->max_reps = 1000;
    c->min_time = quick ? 0.01 : 0.1;
    c->budget = quick ? 0.5 : 2;
    c->rounds = 5;
    c->shard = 0;
    c->nshards = 1;
}

int ad_bench_shard_of(int series, int nshards) { return nshards > 1 ? series % nshards : 0; }

/* The sweep of one function: cfg's sizes or its own. */
static int sizes_of(const ad_bench_config *cfg, const ad_bench_fn *fn, int64_t **v, int *n, bool *owned, char *err,
                    size_t errn)
{
    *owned = false;
    if (cfg->sizes && cfg->nsizes > 0) {
        *v = (int64_t *)cfg->sizes;
        *n = cfg->nsizes;
        return 0;
    }
    const char *spec = cfg->quick && fn->quick_sizes ? fn->quick_sizes : fn->sizes;
    char e[256];
    if (ad_bench_parse_sizes(spec ? spec : "10:1e5:x10", v, n, e, sizeof e)) {
        snprintf(err, errn, "%s: %s", fn->name, e);
        return -1;
    }
    *owned = true;
    return 0;
}

int64_t ad_bench_plan(const ad_bench_config *cfg, ad_bench_planned *cells, int64_t cap, char *err, size_t errn)
{
    int64_t k = 0;
    int nsh = cfg->nshards > 0 ? cfg->nshards : 1;
    for (int fi = 0; fi < cfg->nfns; fi++) {
        int64_t *sz;
        int ns;
        bool owned;
        if (sizes_of(cfg, cfg->fns[fi], &sz, &ns, &owned, err, errn)) return -1;
        for (int si = 0; si < ns; si++)
            for (int bi = 0; bi < cfg->nbackends; bi++) {
                int series = fi * cfg->nbackends + bi;
                if (ad_bench_shard_of(series, nsh) != cfg->shard) continue;
                if (k < cap) cells[k] = (ad_bench_planned){.fn = fi, .backend = bi, .size = sz[si], .series = series};
                k++;
            }
        if (owned) free(sz);
    }
    return k;
}

/* ---- one cell -------------------------------------------------------------------------------- */

/* What a series (function, backend) learnt from its smaller sizes. */
typedef struct {
    bool over;          /* a smaller size was over the budget: skip the rest */
    int64_t last_size;  /* largest size measured (0: none) */
    double last_t;      /* its time per call */
} series_state;

/* What a (function, size) group shares between its backends. */
typedef struct {
    const ad_bench_fn *fn;
    int64_t size;
    ad_problem p;
    ad_tensor *in[AD_BENCH_MAX_INPUTS];
    bool wrt[AD_BENCH_MAX_INPUTS];
    int wi;             /* the differentiated input */
    bool jacobian;
    bool have_tf;       /* f's warm-up ran (tf_status says how) */
    int tf_status;      /* AD_OK, or why f failed */
    char tf_error[256];
    bool f_timed;       /* f takes part in the rounds */
    ad_bench_timing ft; /* its calls */
    double tf[3], tf_best, tf_spread;
    bool have_ref;      /* reference computed (or given up) */
    ad_tensor *ref;     /* the reference derivative (NULL: none) */
    const char *ref_name;
    char ref_note[200];
    char input_error[256];
} group;

/* The reference five-point series of a custom function (its cost grows
 * like a forward backend's). */
typedef struct {
    int64_t last_size;
    double last_t;
    int kind; /* custom functions: 0 unknown, 1 gradient, 2 Jacobian (from an evaluation) */
} ref_state;

static double predict(const ad_bench_fn *fn, ad_bench_class c, int64_t last_size, double last_t, int64_t size)
{
    double th, mem;
    ad_bench_theory(fn, c, fn->jacobian, 1, &th, &mem);
    if (isnan(th)) th = c == AD_BENCH_REVERSE ? 1 : 2;
    return last_t * pow((double)size / (double)last_size, th);
}

/* One derivative by b at the group's point; D[] gets its results. */
static int derive(const ad_backend *b, const group *g, const ad_options *o, ad_tensor **D, ad_stats *st)
{
    ad_clear_error(g->p.ctx);
    if (g->jacobian) return ad_jacobian(b, &g->p, o, NULL, D, NULL, NULL, st);
    return ad_value_and_grad(b, &g->p, o, NULL, D, NULL, st);
}

/* One plain evaluation of f: grad mode off, no tangents, in its own
 * scope; its seconds in *sec.  AD_OK, or f's status with the message in
 * g->tf_error. */
static int f_call(group *g, double *sec)
{
    ad_ctx *ctx = g->p.ctx;
    bool prev = ad_set_grad_enabled(ctx, false);
    int fwd = ad_fwd_width(ctx);
    if (fwd > 0) ad_fwd_end(ctx);
    ad_clear_error(ctx);
    double t = ad_bench_now();
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *y = g->fn->f(ctx, g->in, g->p.user);
    int64_t numel = y ? ad_numel(y) : 0;
    ad_scope_end(ctx, s, NULL);
    *sec = ad_bench_now() - t;
    int rc = AD_OK;
    if (!y) {
        rc = ad_errno(ctx) ? ad_errno(ctx) : AD_EINVAL;
        snprintf(g->tf_error, sizeof g->tf_error, "f: %s", ad_errmsg(ctx));
    } else if (g->fn->auto_kind) {
        g->jacobian = numel != 1;
    }
    if (fwd > 0) ad_fwd_begin(ctx, fwd);
    ad_set_grad_enabled(ctx, prev);
    ad_clear_error(ctx);
    return rc;
}

/* f's warm-up (which also tells a custom function's kind); f then joins
 * the rounds. */
static void f_warm(const ad_bench_config *cfg, group *g)
{
    g->have_tf = true;
    double sec = 0;
    g->tf_status = f_call(g, &sec);
    g->ft = (ad_bench_timing){.times = malloc((size_t)cfg->max_reps * sizeof(double)), .cap = cfg->max_reps,
                              .used = sec, .last = sec};
    if (g->tf_status == AD_OK && !g->ft.times) {
        g->tf_status = AD_ENOMEM;
        snprintf(g->tf_error, sizeof g->tf_error, "out of memory");
    }
    g->f_timed = g->tf_status == AD_OK;
}

/* The reference derivative: analytic, or five-point differences with their
 * error estimate (skipped when predicted over the budget). */
static void reference(const ad_bench_config *cfg, group *g, ref_state *rs)
{
    ad_ctx *ctx = g->p.ctx;
    g->have_ref = true;
    g->ref = NULL;
    g->ref_name = "";
    g->ref_note[0] = '\0';
    if (g->fn->exact) {
        g->ref = g->fn->exact(g->fn, ctx, g->in, g->size);
        g->ref_name = g->ref ? "analytic" : "";
        if (!g->ref) snprintf(g->ref_note, sizeof g->ref_note, "no reference: %s", ad_errmsg(ctx));
        ad_clear_error(ctx);
        return;
    }
    const ad_backend *fp = ad_backend_reference();
    if (!fp) {
        snprintf(g->ref_note, sizeof g->ref_note, "no reference: no difference rule with an error estimate");
        return;
    }
    if (rs->last_size > 0) {
        double pred = predict(g->fn, AD_BENCH_DIFF, rs->last_size, rs->last_t, g->size);
        if (pred > cfg->budget) {
            char b1[32], b2[32];
            snprintf(g->ref_note, sizeof g->ref_note, "no reference: %s predicted %s > budget %s", fp->name,
                     ad_bench_fmt_seconds(b1, sizeof b1, pred), ad_bench_fmt_seconds(b2, sizeof b2, cfg->budget));
            return;
        }
    }
    ad_tensor *D[AD_BENCH_MAX_INPUTS] = {0}, *E[AD_BENCH_MAX_INPUTS] = {0};
    ad_stats st;
    ad_clear_error(ctx);
    int rc = g->jacobian ? ad_jacobian(fp, &g->p, &cfg->opts, NULL, D, E, NULL, &st)
                         : ad_value_and_grad(fp, &g->p, &cfg->opts, NULL, D, E, &st);
    if (rc != AD_OK) {
        snprintf(g->ref_note, sizeof g->ref_note, "no reference: %s failed: %s", fp->name, ad_errmsg(ctx));
        ad_clear_error(ctx);
        return;
    }
    rs->last_size = g->size;
    rs->last_t = st.seconds;
    g->ref = D[g->wi];
    g->ref_name = fp->name;
    double est = 0;
    if (E[g->wi]) {
        ad_tensor *m = ad_max(ad_abs(E[g->wi]), AD_ALL, false);
        est = m ? ad_item(m) : NAN;
    }
    snprintf(g->ref_note, sizeof g->ref_note, "%s reference, estimated error %.2g", fp->name, est);
}

/* Largest absolute and relative difference of D from R (relative to
 * |R_i|, floored at 1e-8·max|R| so that exact zeros do not divide). */
static int compare(ad_tensor *D, ad_tensor *R, double *abs_err, double *rel_err, char *note, size_t nn)
{
    if (ad_numel(D) != ad_numel(R)) {
        snprintf(note, nn, "the derivative has %lld entries, the reference %lld", (long long)ad_numel(D),
                 (long long)ad_numel(R));
        return -1;
    }
    ad_tensor *d = ad_contiguous(D), *r = ad_contiguous(R);
    if (!d || !r) return -1;
    const double *dv = ad_data(d), *rv = ad_data(r);
    int64_t n = ad_numel(d);
    double scale = 0, ma = 0, mr = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(rv[i]));
    double tiny = fmax(1e-8 * scale, DBL_MIN);
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(dv[i] - rv[i]);
        if (isnan(e)) {
            ma = mr = NAN;
            break;
        }
        ma = fmax(ma, e);
        mr = fmax(mr, e / fmax(fabs(rv[i]), tiny));
    }
    *abs_err = ma;
    *rel_err = mr;
    return 0;
}

/* Skips c when the series' previous size predicts it over the budget (or a
 * smaller size already was).  True when skipped. */
static bool skip_predicted(const ad_bench_config *cfg, const group *g, ad_bench_class cls, series_state *ss,
                           ad_bench_cell *c)
{
    if (!(ss->last_size > 0 && (ss->over || ss->last_size < g->size))) return false;
    double pred = predict(g->fn, cls, ss->last_size, ss->last_t, g->size);
    if (!(ss->over || pred > cfg->budget)) return false;
    char b1[32], b2[32];
    c->status = AD_BENCH_SKIPPED;
    snprintf(c->note, sizeof c->note, "predicted %s > budget %s", ad_bench_fmt_seconds(b1, sizeof b1, pred),
             ad_bench_fmt_seconds(b2, sizeof b2, cfg->budget));
    ss->over = true;
    return true;
}

/* f warmed up (by the group's first cell that gets this far).  False,
 * with c failed, when f itself fails. */
static bool with_tf(const ad_bench_config *cfg, group *g, ref_state *rs, ad_bench_cell *c)
{
    if (!g->have_tf) {
        f_warm(cfg, g);
        if (g->fn->auto_kind && g->tf_status == AD_OK) rs->kind = g->jacobian ? 2 : 1;
    }
    c->jacobian = g->jacobian;
    if (g->tf_status == AD_OK) return true;
    c->status = AD_BENCH_FAILED;
    snprintf(c->note, sizeof c->note, "%s", g->tf_error);
    return false;
}

/* The warm-up, also the call whose derivative is checked against the
 * reference.  Its time in *warm; false, with c failed, when it fails. */
static bool warm_up(const ad_bench_config *cfg, const group *g, const ad_backend *b, ad_bench_cell *c, double *warm)
{
    ad_ctx *ctx = g->p.ctx;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *D[AD_BENCH_MAX_INPUTS] = {0};
    ad_stats st;
    if (derive(b, g, &cfg->opts, D, &st) != AD_OK) {
        c->status = AD_BENCH_FAILED;
        snprintf(c->note, sizeof c->note, "%s", ad_errmsg(ctx));
        ad_scope_end(ctx, s, NULL);
        ad_clear_error(ctx);
        return false;
    }
    c->err_reference = "";
    if (g->ref && D[g->wi]) {
        char why[200] = "";
        if (compare(D[g->wi], g->ref, &c->max_abs_err, &c->max_rel_err, why, sizeof why) == 0)
            c->err_reference = g->ref_name;
        else
            snprintf(c->note, sizeof c->note, "not compared: %s", why[0] ? why : ad_errmsg(ctx));
    }
    ad_scope_end(ctx, s, NULL);
    ad_clear_error(ctx);
    *warm = st.seconds;
    return true;
}

/* Skips c when its warm-up alone took more than the budget, and the rest
 * of the series with it.  True when skipped. */
static bool skip_slow(const ad_bench_config *cfg, const group *g, double warm, series_state *ss, ad_bench_cell *c)
{
    if (!(warm > cfg->budget)) return false;
    char b1[32], b2[32];
    c->status = AD_BENCH_SKIPPED;
    snprintf(c->note, sizeof c->note, "the warm-up call took %s > budget %s",
             ad_bench_fmt_seconds(b1, sizeof b1, warm), ad_bench_fmt_seconds(b2, sizeof b2, cfg->budget));
    ss->over = true;
    ss->last_size = g->size;
    ss->last_t = warm;
    c->max_abs_err = c->max_rel_err = NAN;
    c->err_reference = "";
    return true;
}

/* Appends to c's note why the repetitions were cut and the reference's note. */
static void finish_note(const ad_bench_config *cfg, const group *g, bool cut, ad_bench_cell *c)
{
    char b2[32];
    size_t l = strlen(c->note);
    if (cut)
        l += (size_t)snprintf(c->note + l, sizeof c->note - l, "%s%d repetition%s (budget %s)", l ? "; " : "",
                              c->reps, c->reps == 1 ? "" : "s", ad_bench_fmt_seconds(b2, sizeof b2, cfg->budget));
    if (g->ref_note[0] && l < sizeof c->note)
        snprintf(c->note + l, sizeof c->note - l, "%s%s", l ? "; " : "", g->ref_note);
}

/* A cell in its group: the cell, its backend and series, its calls. */
typedef struct {
    ad_bench_cell c;
    const ad_backend *b;
    series_state *ss;
    ref_state *rs;
    ad_bench_timing tm;
    bool timed; /* warmed up: takes part in the rounds */
} slot;

/* Readies sl's cell (not predicted over the budget) for the rounds: T_f's
 * warm-up, the reference, its own warm-up (checked against the reference). */
static void ready_cell(const ad_bench_config *cfg, group *g, slot *sl)
{
    ad_bench_cell *c = &sl->c;
    if (!with_tf(cfg, g, sl->rs, c)) return;
    if (!g->have_ref) reference(cfg, g, sl->rs);
    double warm;
    if (!warm_up(cfg, g, sl->b, c, &warm) || skip_slow(cfg, g, warm, sl->ss, c)) return;
    sl->tm = (ad_bench_timing){.times = malloc((size_t)cfg->max_reps * sizeof(double)), .cap = cfg->max_reps,
                               .used = warm, .last = warm};
    if (!sl->tm.times) {
        c->status = AD_BENCH_FAILED;
        snprintf(c->note, sizeof c->note, "out of memory");
        return;
    }
    sl->timed = true;
}

/* One timed derivative of sl's cell; the stats of the first are kept. */
static int backend_call(const ad_bench_config *cfg, group *g, slot *sl, double *sec)
{
    ad_ctx *ctx = g->p.ctx;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *D[AD_BENCH_MAX_INPUTS] = {0};
    ad_stats st;
    int rc = derive(sl->b, g, &cfg->opts, D, &st);
    ad_scope_end(ctx, s, NULL);
    if (rc != AD_OK) {
        sl->c.status = AD_BENCH_FAILED;
        snprintf(sl->c.note, sizeof sl->c.note, "%s", ad_errmsg(ctx));
        ad_clear_error(ctx);
        return rc;
    }
    if (sl->tm.n == 0) {
        sl->c.st = st;
        sl->c.have_stats = true;
    }
    *sec = st.seconds;
    return AD_OK;
}

/* Round r of nrounds for one timed thing (sl, or f when sl is NULL): the
 * calls ad_bench_round_reps decides, none once the budget is used. */
static int time_round(const ad_bench_config *cfg, group *g, slot *sl, int r, int nrounds)
{
    ad_bench_timing *tm = sl ? &sl->tm : &g->ft;
    int m = ad_bench_round_reps(cfg, tm, r, nrounds), first = tm->n;
    for (int i = 0; i < m && tm->n < tm->cap; i++) {
        if (tm->n >= 1 && tm->used + tm->last > cfg->budget) {
            tm->cut = true;
            break;
        }
        double sec = 0;
        int rc = sl ? backend_call(cfg, g, sl, &sec) : f_call(g, &sec);
        if (rc != AD_OK) return rc;
        tm->times[tm->n++] = sec;
        tm->total += sec;
        tm->used += sec;
        tm->last = sec;
    }
    ad_bench_round_close(tm, first);
    return AD_OK;
}

/* The rounds: each round times f, then every ready cell in order. */
static void run_rounds(const ad_bench_config *cfg, group *g, slot *sl, int ns)
{
    int nrounds = cfg->rounds < 1 ? 1 : cfg->rounds;
    if (nrounds > cfg->max_reps) nrounds = cfg->max_reps;
    if (nrounds > AD_BENCH_MAX_ROUNDS) nrounds = AD_BENCH_MAX_ROUNDS;
    for (int r = 0; r < nrounds; r++) {
        if (g->f_timed && !g->ft.cut && time_round(cfg, g, NULL, r, nrounds) != AD_OK) g->f_timed = false;
        for (int k = 0; k < ns; k++)
            if (sl[k].timed && !sl[k].tm.cut && time_round(cfg, g, &sl[k], r, nrounds) != AD_OK) sl[k].timed = false;
    }
    ad_bench_timing_stats(&g->ft, g->tf, &g->tf_best, &g->tf_spread);
}

/* What the rounds measured into sl's cell, and its series learns its time. */
static void finish_cell(const ad_bench_config *cfg, const group *g, slot *sl)
{
    ad_bench_cell *c = &sl->c;
    if (g->have_tf) {
        memcpy(c->t_f, g->tf, sizeof c->t_f);
        c->t_f_best = g->tf_best;
        c->t_f_spread = g->tf_spread;
    }
    if (sl->timed) {
        ad_bench_timing_stats(&sl->tm, c->t_grad, &c->t_grad_best, &c->t_grad_spread);
        c->reps = sl->tm.n;
        c->rounds = sl->tm.rounds;
        c->status = AD_BENCH_OK;
        finish_note(cfg, g, sl->tm.cut, c);
        sl->ss->last_size = g->size;
        sl->ss->last_t = c->t_grad[1];
    }
    free(sl->tm.times);
    sl->tm.times = NULL;
}

/* ---- the sweep --------------------------------------------------------------------------------- */

static void fmt_num(char *buf, size_t n, double v)
{
    if (isnan(v)) buf[0] = '\0';
    else snprintf(buf, n, "%.17g", v);
}

void ad_bench_cell_row(const ad_bench_cell *c, char bufs[AD_BENCH_NCOLS][128], const char *row[AD_BENCH_NCOLS])
{
    for (int i = 0; i < AD_BENCH_NCOLS; i++) {
        bufs[i][0] = '\0';
        row[i] = bufs[i];
    }
    row[0] = c->function;
    row[1] = c->backend;
    snprintf(bufs[2], 128, "%lld", (long long)c->size);
    row[3] = c->size_name;
    row[4] = c->jacobian ? "jacobian" : "gradient";
    row[5] = ad_bench_status_name(c->status);
    bool ok = c->status == AD_BENCH_OK;
    if (ok) snprintf(bufs[6], 128, "%d", c->reps);
    for (int i = 0; i < 3; i++) {
        fmt_num(bufs[7 + i], 128, c->t_f[i]);
        fmt_num(bufs[10 + i], 128, ok ? c->t_grad[i] : NAN);
    }
    fmt_num(bufs[13], 128, ok ? c->t_grad[1] / c->t_f[1] : NAN);
    if (ok && c->have_stats) {
        const ad_stats *st = &c->st;
        long long v[] = {st->passes,           st->sweeps,         st->ops_recorded, st->peak[AD_MEM_VALUES],
                         st->peak[AD_MEM_TANGENTS], st->peak[AD_MEM_TAPE], st->peak[AD_MEM_META], st->peak_total};
        for (int i = 0; i < 8; i++) snprintf(bufs[14 + i], 128, "%lld", v[i]);
    }
    if (c->peak_rss >= 0 && c->status != AD_BENCH_SKIPPED) snprintf(bufs[22], 128, "%lld", (long long)c->peak_rss);
    fmt_num(bufs[23], 128, c->max_abs_err);
    fmt_num(bufs[24], 128, c->max_rel_err);
    row[25] = c->err_reference ? c->err_reference : "";
    row[26] = c->note;
    if (ok) snprintf(bufs[27], 128, "%d", c->rounds);
    fmt_num(bufs[28], 128, c->t_f_best);
    fmt_num(bufs[29], 128, c->t_f_spread);
    fmt_num(bufs[30], 128, ok ? c->t_grad_best : NAN);
    fmt_num(bufs[31], 128, ok ? c->t_grad_spread : NAN);
    if (ok) row[32] = ad_bench_too_noisy(c->t_grad_spread) ? "yes" : "no";
}

static void progress(const ad_bench_config *cfg, int64_t done, int64_t total, const ad_bench_cell *c,
                     const ad_bench_cell *finished, double t0)
{
    if (!cfg->progress) return;
    double el = ad_bench_now() - t0;
    ad_bench_progress p = {.done = done,
                           .total = total,
                           .function = c->function,
                           .backend = c->backend,
                           .size_name = c->size_name,
                           .size = c->size,
                           .cell = finished,
                           .elapsed = el,
                           .eta = done > 0 ? el / (double)done * (double)(total - done) : NAN};
    cfg->progress(cfg->progress_ud, &p);
}

/* Why cfg cannot run into out, in err; 0 when it can. */
static int check_run(const ad_bench_config *cfg, const ad_bench_table *out, char *err, size_t errn)
{
    if (cfg->nfns < 1 || cfg->nbackends < 1) {
        snprintf(err, errn, "nothing to run: %d functions, %d backends", cfg->nfns, cfg->nbackends);
        return -1;
    }
    if (cfg->min_reps < 1 || cfg->max_reps < cfg->min_reps || !(cfg->budget > 0) || !(cfg->min_time >= 0)) {
        snprintf(err, errn, "bad repetition settings: min_reps %d, max_reps %d, min_time %g, budget %g", cfg->min_reps,
                 cfg->max_reps, cfg->min_time, cfg->budget);
        return -1;
    }
    if (cfg->nshards < 1 || cfg->shard < 0 || cfg->shard >= cfg->nshards) {
        snprintf(err, errn, "shard %d of %d does not exist (shards are 0..%d)", cfg->shard, cfg->nshards,
                 cfg->nshards - 1);
        return -1;
    }
    if (out->ncols != AD_BENCH_NCOLS) {
        snprintf(err, errn, "the result table has %d columns, not the harness's %d", out->ncols, AD_BENCH_NCOLS);
        return -1;
    }
    for (int i = 0; i < AD_BENCH_NCOLS; i++)
        if (strcmp(out->cols[i], ad_bench_columns[i]) != 0) {
            snprintf(err, errn, "the result table's column %d is '%s', not '%s'", i, out->cols[i],
                     ad_bench_columns[i]);
            return -1;
        }
    return 0;
}

/* One run: the plan, what each series and each function's reference learnt,
 * where the rows go. */
typedef struct {
    ad_ctx *ctx;
    const ad_bench_config *cfg;
    ad_bench_table *out;
    ad_bench_planned *plan;
    int64_t total;
    series_state *ss;
    ref_state *rs;
    double t0;
} run_state;

/* The group of function fi at size, with no inputs yet: they are made by
 * group_inputs when a cell needs them, so a size whose every cell is
 * predicted over the budget never allocates its inputs. */
static void group_init(run_state *r, int fi, int64_t size, group *g)
{
    const ad_bench_fn *fn = r->cfg->fns[fi];
    const ref_state *rs = &r->rs[fi];
    memset(g, 0, sizeof *g);
    g->fn = fn;
    g->size = size;
    g->jacobian = fn->auto_kind && rs->kind ? rs->kind == 2 : fn->jacobian;
}

/* Makes g's inputs (in the caller's scope) and problem.  Returns the number
 * of inputs; below 1, the reason is in input_error. */
static int group_inputs(ad_ctx *ctx, group *g, char *input_error, size_t n)
{
    const ad_bench_fn *fn = g->fn;
    ad_clear_error(ctx);
    int nin = fn->make_inputs(fn, ctx, g->size, g->in, g->wrt);
    input_error[0] = '\0';
    if (nin < 1) snprintf(input_error, n, "inputs: %s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    g->wi = 0;
    for (int k = 0; k < nin; k++)
        if (g->wrt[k]) {
            g->wi = k;
            break;
        }
    g->p = (ad_problem){.ctx = ctx, .f = fn->f, .user = fn->user, .nin = nin, .in = g->in, .wrt = g->wrt};
    return nin;
}

/* A cell of g for b with nothing measured yet. */
static void cell_init(ad_bench_cell *c, const group *g, const ad_backend *b)
{
    memset(c, 0, sizeof *c);
    c->function = g->fn->name;
    c->backend = b->name;
    c->size_name = g->fn->size_name;
    c->size = g->size;
    c->jacobian = g->jacobian;
    c->t_f[0] = c->t_f[1] = c->t_f[2] = NAN;
    c->t_grad[0] = c->t_grad[1] = c->t_grad[2] = NAN;
    c->max_abs_err = c->max_rel_err = NAN;
    c->err_reference = "";
    c->peak_rss = -1;
    c->t_f_best = c->t_f_spread = c->t_grad_best = c->t_grad_spread = NAN;
}

/* Slot k of the plan in group g, made ready for the rounds unless
 * predicted over the budget (making g's inputs first if no cell has). */
static void ready_slot(run_state *r, const ad_bench_config *cfg, group *g, int64_t k, slot *sl)
{
    const ad_backend *b = cfg->backends[r->plan[k].backend];
    *sl = (slot){.b = b, .ss = &r->ss[r->plan[k].series], .rs = &r->rs[r->plan[k].fn]};
    cell_init(&sl->c, g, b);
    if (skip_predicted(cfg, g, ad_bench_class_of(b), sl->ss, &sl->c)) return;
    if (!g->p.ctx) group_inputs(r->ctx, g, g->input_error, sizeof g->input_error); /* sets p */
    if (g->p.nin < 1) {
        sl->c.status = AD_BENCH_FAILED;
        snprintf(sl->c.note, sizeof sl->c.note, "%s", g->input_error);
        return;
    }
    ready_cell(cfg, g, sl);
}

/* A series whose first size is above AD_BENCH_PROBE_SIZE has no smaller
 * size to be predicted from: it first runs, unrecorded and with one
 * repetition, the sizes AD_BENCH_PROBE_SIZE, x10, ... below it, each
 * predicted from the one before, so that a lone --sizes 1e9 is predicted
 * (and skipped) like any other size instead of running whatever it
 * costs. */
static void probe(run_state *r, int64_t k)
{
    const ad_bench_planned *pl = &r->plan[k];
    series_state *ss = &r->ss[pl->series];
    ad_bench_config quick = *r->cfg;
    quick.min_reps = quick.max_reps = 1;
    quick.min_time = 0;
    for (int64_t n = AD_BENCH_PROBE_SIZE; n < pl->size && !ss->over; n *= 10) {
        group g;
        slot sl;
        ad_scope s = ad_scope_begin(r->ctx);
        group_init(r, pl->fn, n, &g);
        ready_slot(r, &quick, &g, k, &sl);
        run_rounds(&quick, &g, &sl, 1);
        finish_cell(&quick, &g, &sl);
        free(g.ft.times);
        ad_scope_end(r->ctx, s, NULL);
        ad_clear_error(r->ctx);
    }
}

/* Appends c's row to the table and hands it to cfg->row.  0, or -1 with
 * the reason in err. */
static int store_row(run_state *r, const ad_bench_cell *c, char *err, size_t errn)
{
    char bufs[AD_BENCH_NCOLS][128];
    const char *row[AD_BENCH_NCOLS];
    ad_bench_cell_row(c, bufs, row);
    if (ad_bench_table_add(r->out, row)) {
        snprintf(err, errn, "out of memory");
        return -1;
    }
    if (r->cfg->row && r->cfg->row(r->cfg->row_ud, r->out, r->out->nrows - 1) != 0) {
        snprintf(err, errn, "the row of %s/%s/size %lld could not be written", c->function, c->backend,
                 (long long)c->size);
        return -1;
    }
    return 0;
}

/* Runs the cells plan[i..j) (one group: every backend of a function at
 * a size) in interleaved rounds and appends their rows in plan order.
 * Returns how many failed, or -1 when out of memory or a row could not be
 * stored. */
static int run_group(run_state *r, int64_t i, int64_t j, char *err, size_t errn)
{
    const ad_bench_config *cfg = r->cfg;
    slot *sl = calloc((size_t)(j - i), sizeof *sl);
    if (!sl) {
        snprintf(err, errn, "out of memory");
        return -1;
    }
    for (int64_t k = i; k < j; k++) /* probes first: they teach the series and the references */
        if (r->ss[r->plan[k].series].last_size == 0 && r->plan[k].size > AD_BENCH_PROBE_SIZE) probe(r, k);
    group g;
    group_init(r, r->plan[i].fn, r->plan[i].size, &g);
    ad_scope s = ad_scope_begin(r->ctx);
    for (int64_t k = i; k < j; k++) {
        ad_bench_cell start;
        cell_init(&start, &g, cfg->backends[r->plan[k].backend]);
        progress(cfg, k, r->total, &start, NULL, r->t0);
        ready_slot(r, cfg, &g, k, &sl[k - i]);
    }
    run_rounds(cfg, &g, sl, (int)(j - i));
    int failed = 0;
    for (int64_t k = i; k < j; k++) {
        ad_bench_cell *c = &sl[k - i].c;
        finish_cell(cfg, &g, &sl[k - i]);
        if (failed < 0) continue; /* a row could not be stored: free the rest */
        if (c->status == AD_BENCH_FAILED) failed++;
        c->peak_rss = ad_bench_peak_rss();
        if (store_row(r, c, err, errn) != 0) failed = -1;
        else progress(cfg, k + 1, r->total, c, c, r->t0);
    }
    free(g.ft.times);
    free(sl);
    ad_scope_end(r->ctx, s, NULL);
    ad_clear_error(r->ctx);
    return failed;
}

/* Runs the plan group by group (the cells of one function at one size). */
static int run_plan(run_state *r, char *err, size_t errn)
{
    int failed = 0;
    bool prev_grad = ad_set_grad_enabled(r->ctx, true);
    for (int64_t i = 0, j; i < r->total; i = j) {
        j = i;
        while (j < r->total && r->plan[j].fn == r->plan[i].fn && r->plan[j].size == r->plan[i].size) j++;
        int f = run_group(r, i, j, err, errn);
        if (f < 0) {
            failed = -1;
            break;
        }
        failed += f;
    }
    ad_set_grad_enabled(r->ctx, prev_grad);
    return failed;
}

int ad_bench_run(ad_ctx *ctx, const ad_bench_config *cfg, ad_bench_table *out, char *err, size_t errn)
{
    if (!ctx || !cfg || !out) {
        snprintf(err, errn, "ad_bench_run: no context, configuration or table");
        return -1;
    }
    if (check_run(cfg, out, err, errn)) return -1;
    int64_t total = ad_bench_plan(cfg, NULL, 0, err, errn);
    if (total < 0) return -1;
    run_state r = {.ctx = ctx, .cfg = cfg, .out = out, .total = total};
    r.plan = malloc((size_t)(total > 0 ? total : 1) * sizeof *r.plan);
    r.ss = calloc((size_t)(cfg->nfns * cfg->nbackends), sizeof *r.ss);
    r.rs = calloc((size_t)cfg->nfns, sizeof *r.rs);
    int failed = -1;
    if (!r.plan || !r.ss || !r.rs) {
        snprintf(err, errn, "out of memory");
    } else {
        ad_bench_plan(cfg, r.plan, total, err, errn);
        r.t0 = ad_bench_now();
        failed = run_plan(&r, err, errn);
    }
    free(r.plan);
    free(r.ss);
    free(r.rs);
    return failed;
}
