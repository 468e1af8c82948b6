/* modes/gradcheck.c — ad_gradcheck: are the derivatives right?
 *
 * The reference is the whole Jacobian by a finite-difference backend
 * (by default the highest-order difference rule with an error estimate:
 * five-point) with its per-entry error estimate e, both from
 * ad_jacobian.  Every backend checked (every registered one with
 * AD_CAP_EXACT, or options.backends, and the user's hand-written
 * derivatives wrapped as a temporary backend, gradcheck_user.c) gives its
 * own Jacobian through the same driver (forward-type by columns, reverse by
 * rows: the driver decides), and each entry is compared with
 *
 *     |a - n| <= atol + rtol·|n| + e            (torch.autograd.gradcheck's
 *                                                 test widened by e)
 *
 * Kinks.  Before the comparison every coordinate is probed with one-sided
 * differences at h = sqrt(eps)·max(1,|x_j|) (2 evaluations of f per
 * coordinate; 2 more at h/4 where the two sides disagree).  A jump between
 * the sides that stays when the step shrinks to h/4 is a kink (a smooth
 * point's jump is f''·h and shrinks 4-fold); the entry passes when the AD
 * value lies between the one-sided quotients (a subgradient).  The probe
 * covers every coordinate, not only mismatching ones, because at a
 * symmetric kink (|x| at 0, max with a tie) the central reference agrees
 * with the symmetric subgradient and the kink would go unreported.
 *
 * Errors recorded by a backend that could not run are moved into its note;
 * the caller's error state, grad mode, forward width and memory category are
 * restored.  Everything is computed inside one scope: nothing leaks, and the
 * caller's tensors are never touched (drivers and our own evaluations use
 * detached aliases). */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck_impl.h"

ad_gradcheck_options ad_gradcheck_defaults(void)
{
    ad_gradcheck_options o = {
        .atol = 1e-6, .rtol = 1e-5, .reference = NULL, .directions = 4, .max_rows = 10,
    };
    return o;
}

/* ---- small shared pieces ------------------------------------------------------------ */

void gc_unravel(int64_t q, int ndim, const int64_t *shape, int64_t *idx)
{
    for (int d = ndim - 1; d >= 0; d--) {
        int64_t n = shape[d] > 0 ? shape[d] : 1;
        idx[d] = q % n;
        q /= n;
    }
}

static void fmt_index(char *buf, size_t n, int ndim, const int64_t *idx)
{
    size_t k = 0;
    int w = snprintf(buf, n, "[");
    k = w > 0 ? (size_t)w : 0;
    for (int d = 0; d < ndim && k < n; d++) {
        w = snprintf(buf + k, n - k, d ? ",%lld" : "%lld", (long long)idx[d]);
        if (w > 0) k += (size_t)w;
    }
    if (k < n) snprintf(buf + k, n - k, "]");
}

const char *gc_where(const gc_run *g, const char *backend, int input, int ndim, const int64_t *index, char *buf,
                     size_t n)
{
    char a[96], b[96], nm[80];
    if (input >= 0) { /* the caller's name for the input, else in0, in1, ... */
        if (g->o.names && g->o.names[input]) snprintf(nm, sizeof nm, "%s", g->o.names[input]);
        else snprintf(nm, sizeof nm, "in%d", input);
    }
    if (backend && strcmp(backend, "hvp") == 0) { /* an element of H·v, indexed like its input */
        fmt_index(a, sizeof a, ndim, index);
        snprintf(buf, n, "%s%s of H.v", nm, a);
        return buf;
    }
    if (input < 0) { /* fast mode: output element along a random direction */
        if (ndim == 0) snprintf(buf, n, "%s along direction %d", g->m == 1 ? "f" : "u.f", -input - 1);
        else {
            fmt_index(a, sizeof a, ndim, index);
            snprintf(buf, n, "f%s along direction %d", a, -input - 1);
        }
        return buf;
    }
    int yd = g->y ? g->y->ndim : 0, xd = g->p->in[input]->ndim;
    if (ndim != yd + xd) { /* too many axes for one index: kept flat */
        fmt_index(a, sizeof a, ndim, index);
        snprintf(buf, n, "J%s of %s", a, nm);
    } else if (yd == 0) {
        fmt_index(a, sizeof a, xd, index);
        snprintf(buf, n, "%s%s", nm, a);
    } else {
        fmt_index(a, sizeof a, yd, index);
        fmt_index(b, sizeof b, xd, index + yd);
        snprintf(buf, n, "f%s wrt %s%s", a, nm, b);
    }
    return buf;
}

static const char *nonfinite_name(double v) { return isnan(v) ? "NaN" : "Inf"; }

void gc_nonfinite(gc_run *g, const char *fmt, ...)
{
    ad_gradcheck_report *r = g->r;
    if (!r->nonfinite) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->nonfinite_what, sizeof r->nonfinite_what, fmt, ap);
        va_end(ap);
    }
    r->nonfinite = true;
}

void gc_failure(gc_run *g, const char *fmt, ...)
{
    if (g->first_failure[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->first_failure, sizeof g->first_failure, fmt, ap);
    va_end(ap);
}

void gc_note(ad_gradcheck_backend *line, const char *fmt, ...)
{
    size_t k = strlen(line->note);
    if (k + 1 >= sizeof line->note) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line->note + k, sizeof line->note - k, fmt, ap);
    va_end(ap);
}

/* ---- comparing one entry ----------------------------------------------------------------- */

/* Rows are ranked by how far outside its tolerance an entry is,
 * |a - n| / (atol + rtol·|n| + e), not by the bare error: an error of 1e-3
 * on an entry of size 1e6 is fine, on an entry of size 1 it is not.
 * NaN/Inf entries rank first. */
static double rank_key(double abs_err, double tol, bool nonfinite)
{
    if (nonfinite) return INFINITY;
    if (tol > 0) return abs_err / tol;
    return abs_err > 0 ? INFINITY : 0;
}

static void keep_row(gc_run *g, const ad_gradcheck_entry *en, double key)
{
    ad_gradcheck_report *r = g->r;
    int cap = g->o.max_rows;
    if (cap <= 0 || !r->rows) return;
    if (r->nrows == cap && !(key > g->row_key[cap - 1])) return;
    int at = r->nrows < cap ? r->nrows : cap - 1;
    while (at > 0 && key > g->row_key[at - 1]) { /* stable: ties keep the first seen */
        r->rows[at] = r->rows[at - 1];
        g->row_key[at] = g->row_key[at - 1];
        at--;
    }
    r->rows[at] = *en;
    g->row_key[at] = key;
    if (r->nrows < cap) r->nrows++;
}

/* At a kink, a value between the one-sided quotients is a subgradient and
 * passes; the kink's record shows the first value seen there, or the first
 * rejected one.  Returns whether the entry passes. */
static bool kink_verdict(gc_run *g, int kink_id, double a, bool ok, bool *at_kink)
{
    ad_gradcheck_kink *k = &g->r->kinks[kink_id];
    double kt = g->kink_tol[kink_id];
    bool inside = a >= fmin(k->left, k->right) - kt && a <= fmax(k->left, k->right) + kt;
    if (isnan(k->analytic) || (k->accepted && !(inside || ok))) {
        k->analytic = a;
        k->accepted = inside || ok;
    }
    *at_kink = inside && !ok;
    return ok || inside;
}

/* Names the first NaN/Inf of an entry: the reference's, its estimate's,
 * or the backend's. */
static void name_nonfinite(gc_run *g, const gc_cmp *c)
{
    char w[320];
    gc_where(g, c->backend, c->input, c->ndim, c->index, w, sizeof w);
    if (!isfinite(c->n)) gc_nonfinite(g, "the reference is %s at %s", nonfinite_name(c->n), w);
    else if (!isfinite(c->e)) gc_nonfinite(g, "the reference's error estimate is %s at %s", nonfinite_name(c->e), w);
    else gc_nonfinite(g, "%s: the derivative at %s is %s", c->backend, w, nonfinite_name(c->a));
}

/* Counts the entry in its backend's line (kinks' accepted values stay out
 * of the maxima: they are not errors). */
static void count_in_line(ad_gradcheck_backend *line, double abs_err, double rel_err, bool nonfinite, bool at_kink,
                          bool ok)
{
    if (!line) return;
    line->checked++;
    if (!nonfinite && !at_kink) {
        if (abs_err > line->max_abs_err) line->max_abs_err = abs_err;
        if (rel_err > line->max_rel_err) line->max_rel_err = rel_err;
    }
    if (nonfinite) line->nonfinite = true;
    if (!ok) {
        line->mismatches++;
        line->passed = false;
    }
}

/* The entry as the report shows it; it may become the worst one, and a
 * mismatch goes into the rows. */
static void record_entry(gc_run *g, const gc_cmp *c, double abs_err, double rel_err, double tol, bool nonfinite,
                         bool ok)
{
    ad_gradcheck_report *r = g->r;
    ad_gradcheck_entry en = {.backend = c->backend, .input = c->input, .ndim = c->ndim};
    if (c->ndim > 0) memcpy(en.index, c->index, (size_t)c->ndim * sizeof(int64_t));
    en.analytic = c->a;
    en.numeric = c->n;
    en.estimate = c->e;
    en.abs_err = abs_err;
    en.rel_err = nonfinite ? NAN : rel_err;
    en.nonfinite = nonfinite;
    double key = rank_key(abs_err, tol, nonfinite);
    if (!r->has_worst || key > g->worst_key) {
        r->worst = en;
        r->has_worst = true;
        g->worst_key = key;
    }
    if (ok) return;
    r->nmismatches++;
    keep_row(g, &en, key);
}

/* An entry the reference cannot judge: counted, and the first max_rows
 * kept with why. */
static void record_inconclusive(gc_run *g, const gc_cmp *c, const char *why)
{
    ad_gradcheck_report *r = g->r;
    r->ninconclusive++;
    if (c->line) c->line->inconclusive++;
    if (!r->inconclusive || r->ninconclusive_rows >= g->o.max_rows) return;
    ad_gradcheck_entry *en = &r->inconclusive[r->ninconclusive_rows++];
    memset(en, 0, sizeof *en);
    en->backend = c->backend;
    en->input = c->input;
    en->ndim = c->ndim;
    if (c->ndim > 0) memcpy(en->index, c->index, (size_t)c->ndim * sizeof(int64_t));
    en->analytic = c->a;
    en->numeric = c->n;
    en->estimate = c->e;
    en->abs_err = fabs(c->a - c->n);
    en->rel_err = en->abs_err / fmax(fabs(c->n), g->o.atol > 0 ? g->o.atol : DBL_MIN);
    en->why = why;
}

/* Why the reference cannot judge an entry whose own value a is finite, or
 * NULL when it can: it is undefined, or its bound e exceeds the tolerance
 * while a is within tol + e of it (beyond that a differs whatever the
 * reference's error). */
static const char *undecided(double a, double n, double e, double tol)
{
    if (!isfinite(n) || !isfinite(e)) return "f is not finite on either side of x at any step tried";
    if (e > tol && fabs(a - n) <= tol + e)
        return "the reference's error bound exceeds the tolerance (f is too noisy or too curved here)";
    return NULL;
}

int gc_compare(gc_run *g, const gc_cmp *c, int kink_id)
{
    double a = c->a, n = c->n, e = c->e;
    double tol = g->o.atol + g->o.rtol * fabs(n);
    const char *why = isfinite(a) ? undecided(a, n, e, tol) : NULL;
    if (why && kink_id < 0) {
        record_inconclusive(g, c, why);
        return 0;
    }
    bool nonfinite = !isfinite(a) || !isfinite(n) || !isfinite(e);
    double abs_err = fabs(a - n);
    tol += e;
    bool ok = !nonfinite && abs_err <= tol;
    bool at_kink = false;
    if (kink_id >= 0 && !nonfinite) ok = kink_verdict(g, kink_id, a, ok, &at_kink);
    /* relative to |n|, or to atol when |n| is below it: there a relative
     * error says nothing (an entry 1e-14 that should be 0 is not "100%") */
    double tiny = g->o.atol > 0 ? g->o.atol : DBL_MIN;
    double rel_err = abs_err > 0 ? abs_err / fmax(fabs(n), tiny) : 0;
    if (nonfinite) name_nonfinite(g, c);
    count_in_line(c->line, abs_err, rel_err, nonfinite, at_kink, ok);
    if (at_kink) return 0;
    record_entry(g, c, abs_err, rel_err, tol, nonfinite, ok);
    return ok ? 0 : 1;
}

void gc_record_mismatch(gc_run *g, const gc_cmp *c, double tol)
{
    double abs_err = fabs(c->a - c->n);
    double rel_err = abs_err > 0 ? abs_err / fmax(fabs(c->n), DBL_MIN) : 0;
    count_in_line(c->line, abs_err, rel_err, false, false, false);
    record_entry(g, c, abs_err, rel_err, tol, false, false);
}

/* ---- kinks --------------------------------------------------------------------------------- */

int gc_kink_add(gc_run *g, int input, int ndim, const int64_t *index, double left, double right, double tol)
{
    ad_gradcheck_report *r = g->r;
    if (r->nkinks == g->kink_cap) {
        int cap = g->kink_cap ? 2 * g->kink_cap : 8;
        ad_gradcheck_kink *k = realloc(r->kinks, (size_t)cap * sizeof *k);
        if (!k) return -1;
        r->kinks = k;
        double *t = realloc(g->kink_tol, (size_t)cap * sizeof *t);
        if (!t) return -1;
        g->kink_tol = t;
        g->kink_cap = cap;
    }
    ad_gradcheck_kink *k = &r->kinks[r->nkinks];
    memset(k, 0, sizeof *k);
    k->input = input;
    k->ndim = ndim;
    if (ndim > 0) memcpy(k->index, index, (size_t)ndim * sizeof(int64_t));
    k->left = left;
    k->right = right;
    k->analytic = NAN; /* filled by the first backend compared there */
    k->accepted = true;
    g->kink_tol[r->nkinks] = tol;
    return r->nkinks++;
}

/* Noise of a one-sided quotient pair: f's measured noise level on each of
 * the three values, divided by the smaller step. */
static double sides_noise(const gc_sides *s, double hp, double hm)
{
    return 4 * s->noise / fmin(hp, hm);
}

bool gc_jump_candidate(const gc_sides *s)
{
    double L = (s->f0 - s->fm) / s->hm, R = (s->fp - s->f0) / s->hp;
    if (!isfinite(L) || !isfinite(R)) return false;
    return fabs(R - L) > 10 * sides_noise(s, s->hp, s->hm);
}

/* A kink: the jump between the sides is clearly above their noise at both
 * steps and keeps its size when the step shrinks to a quarter.  At a smooth
 * point the jump is about f''·h and shrinks 4-fold; a jump made of noise
 * grows 4-fold (noise/h); a kink's stays.  The interval's tolerance covers
 * the noise and the change of each side between the two steps (their
 * truncation error). */
bool gc_is_kink(const gc_sides *s, double atol, double rtol, double *left, double *right, double *tol)
{
    double L = (s->f0 - s->fm) / s->hm, R = (s->fp - s->f0) / s->hp;
    double L4 = (s->f0 - s->fm4) / s->hm4, R4 = (s->fp4 - s->f0) / s->hp4;
    if (!isfinite(L) || !isfinite(R) || !isfinite(L4) || !isfinite(R4)) return false;
    double J = fabs(R - L), J4 = fabs(R4 - L4);
    double N = sides_noise(s, s->hp, s->hm), N4 = sides_noise(s, s->hp4, s->hm4);
    if (!(J > 10 * N && J4 > 10 * N4 && J4 > 0.5 * J && J4 < 2 * J)) return false;
    *left = L;
    *right = R;
    *tol = atol + rtol * fmax(fabs(L), fabs(R)) + N + fabs(L - L4) + fabs(R - R4);
    return true;
}

ad_tensor *gc_eval_along(gc_run *g, ad_tensor *const *V, double t)
{
    const ad_problem *p = g->p;
    ad_tensor *xs[AD_MAX_INPUTS];
    for (int i = 0; i < p->nin; i++) {
        xs[i] = g->x[i];
        if (V[i] && ad_wrt(p, i)) {
            xs[i] = ad_add(g->x[i], ad_mul_s(V[i], t));
            if (!xs[i]) return NULL;
        }
    }
    return ad_contiguous(ad_call_f(p, xs, NULL));
}

ad_tensor *gc_eval_coord(gc_run *g, int i, int64_t j, double t, double *taken)
{
    const ad_problem *p = g->p;
    ad_tensor *xs[AD_MAX_INPUTS];
    for (int q = 0; q < p->nin; q++) xs[q] = g->x[q];
    ad_tensor *c = ad_clone(g->x[i]);
    if (!c) return NULL;
    double xj = c->data[j];
    volatile double moved = xj + t; /* the step actually taken is exact */
    *taken = fabs(moved - xj);
    c->data[j] = moved;
    xs[i] = c;
    return ad_contiguous(ad_call_f(p, xs, NULL));
}

/* The Jacobian index of (output element o, input element j of input i). */
int gc_jac_index(const gc_run *g, int i, int64_t o, int64_t j, int64_t *idx)
{
    const ad_tensor *in = g->p->in[i];
    int yd = g->y->ndim;
    if (yd + in->ndim > AD_MAX_DIMS) { /* as the driver does: kept flat */
        idx[0] = o;
        idx[1] = j;
        return 2;
    }
    gc_unravel(o, yd, g->y->shape, idx);
    gc_unravel(j, in->ndim, in->shape, idx + yd);
    return yd + in->ndim;
}

/* Records the kink at (output o, element j of input i). */
static int mark_kink(gc_run *g, int i, int64_t o, int64_t j, double L, double R, double tol)
{
    int64_t ni = g->p->in[i]->numel, idx[AD_MAX_DIMS];
    int nd = gc_jac_index(g, i, o, j, idx);
    int id = gc_kink_add(g, i, nd, idx, L, R, tol);
    if (!g->kink_at[i]) g->kink_at[i] = calloc((size_t)(g->m * ni), sizeof(int32_t));
    if (id < 0 || !g->kink_at[i]) return ad_error(g->ctx, AD_ENOMEM, "gradcheck: out of memory recording kinks");
    g->kink_at[i][o * ni + j] = id + 1;
    return AD_OK;
}

/* f at x_j ± h (element j of input i): *fp, *fm and the steps taken. */
static int probe_pair(gc_run *g, int i, int64_t j, double h, ad_tensor **fp, ad_tensor **fm, double *hp, double *hm)
{
    *fp = gc_eval_coord(g, i, j, h, hp);
    *fm = gc_eval_coord(g, i, j, -h, hm);
    if (!*fp || !*fm) return g->ctx->err;
    if ((*fp)->numel == g->m && (*fm)->numel == g->m) return AD_OK;
    return ad_error(g->ctx, AD_ESHAPE, "gradcheck: f returned %lld elements at a nearby point, %lld at x",
                    (long long)((*fp)->numel != g->m ? (*fp)->numel : (*fm)->numel), (long long)g->m);
}

/* One coordinate: one-sided differences at h = 1e-6·scale (small enough
 * to stay clear of other kinks and domain edges, large enough for f''·h to
 * stand above the noise), and at most 1e-3 of the step at which the
 * reference resolved f there (sin at x = 1e8 varies over 1, not over
 * 1e8·1e-6); where some output jumps, again at h/4, and a
 * jump that keeps its size is a kink (gc_is_kink).  Where f is not finite
 * at x ± h there is no kink analysis (the reference says so). */
static int probe_coordinate(gc_run *g, int i, int64_t j)
{
    const double *y = g->y->data;
    double h = 1e-6 * gc_scale(g, i, j);
    if (g->kstep[i] && g->kstep[i][j] > 0) h = fmin(h, 1e-3 * g->kstep[i][j]); /* well inside f's resolved scale */
    gc_sides sd = {0};
    ad_tensor *fp, *fm, *fp4 = NULL, *fm4 = NULL;
    int rc = probe_pair(g, i, j, h, &fp, &fm, &sd.hp, &sd.hm);
    if (rc != AD_OK && rc != AD_ENOMEM && rc != AD_ESHAPE) {
        ad_clear_error(g->ctx); /* f undefined nearby */
        return AD_OK;
    }
    bool cand = false;
    for (int64_t o = 0; rc == AD_OK && o < g->m && !cand; o++) {
        sd.f0 = y[o];
        sd.fp = fp->data[o];
        sd.fm = fm->data[o];
        sd.noise = g->noise[o];
        cand = gc_jump_candidate(&sd);
    }
    if (rc != AD_OK || !cand) return rc;
    fp4 = gc_eval_coord(g, i, j, h / 4, &sd.hp4);
    fm4 = gc_eval_coord(g, i, j, -h / 4, &sd.hm4);
    if (!fp4 || !fm4 || fp4->numel != g->m || fm4->numel != g->m) {
        if (g->ctx->err == AD_ENOMEM) return AD_ENOMEM;
        ad_clear_error(g->ctx);
        return AD_OK;
    }
    for (int64_t o = 0; rc == AD_OK && o < g->m; o++) {
        sd = (gc_sides){.f0 = y[o], .fp = fp->data[o], .fm = fm->data[o], .fp4 = fp4->data[o], .fm4 = fm4->data[o],
                        .hp = sd.hp, .hm = sd.hm, .hp4 = sd.hp4, .hm4 = sd.hm4, .noise = g->noise[o]};
        double L, R, tol;
        if (gc_is_kink(&sd, g->o.atol, g->o.rtol, &L, &R, &tol)) rc = mark_kink(g, i, o, j, L, R, tol);
    }
    return rc;
}

static int scan_kinks(gc_run *g)
{
    const ad_problem *p = g->p;
    ad_ctx *ctx = g->ctx;
    for (int i = 0; i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        for (int64_t j = 0; j < p->in[i]->numel; j++) {
            ad_scope s = ad_scope_begin(ctx);
            int rc = probe_coordinate(g, i, j);
            ad_scope_end(ctx, s, NULL);
            if (rc != AD_OK) return rc;
        }
    }
    return AD_OK;
}

/* ---- which backends ----------------------------------------------------------------------- */

static bool listed(const gc_run *g, const ad_backend *b)
{
    for (int i = 0; i < g->nb; i++)
        if (g->bk[i] == b) return true;
    return false;
}

static int add_backend(gc_run *g, const ad_backend *b)
{
    if (listed(g, b)) return AD_OK;
    if (g->nb == GC_MAX_BACKENDS)
        return ad_error(g->ctx, AD_ELIMIT, "gradcheck: more than %d backends to check", GC_MAX_BACKENDS);
    g->bk[g->nb++] = b;
    return AD_OK;
}

static void list_names(char *buf, size_t n, unsigned caps)
{
    const ad_backend *all[AD_BACKEND_MAX]; /* a copy: another thread may (un)register meanwhile */
    int nb = ad_backend_list(all, AD_BACKEND_MAX);
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < nb && k < n; i++) {
        const ad_backend *b = all[i];
        if (caps && !(b->caps & caps)) continue;
        int w = snprintf(buf + k, n - k, "%s%s", k ? ", " : "", b->name);
        if (w > 0) k += (size_t)w;
    }
}

/* The numbers among the options; 0 asks for the default. */
static int check_numbers(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    ad_gradcheck_options *o = &g->o;
    if (!(o->atol >= 0) || isinf(o->atol))
        return ad_error(ctx, AD_EINVAL, "gradcheck: atol = %g must be a finite number >= 0", o->atol);
    if (!(o->rtol >= 0) || isinf(o->rtol))
        return ad_error(ctx, AD_EINVAL, "gradcheck: rtol = %g must be a finite number >= 0", o->rtol);
    if (o->directions < 0)
        return ad_error(ctx, AD_EINVAL, "gradcheck: directions = %d must be positive (0: the default 4)",
                        o->directions);
    if (o->max_rows < 0)
        return ad_error(ctx, AD_EINVAL, "gradcheck: max_rows = %d must be positive (0: the default 10)",
                        o->max_rows);
    if (o->directions == 0) o->directions = 4;
    if (o->max_rows == 0) o->max_rows = 10;
    return AD_OK;
}

/* options.reference by name, or the best difference rule. */
static int choose_reference(gc_run *g)
{
    const char *name = g->o.reference;
    char names[512];
    g->ref = name ? ad_backend_find(name) : ad_backend_reference();
    g->ref_name = name ? name : "extrapolated";
    if (g->ref || !name) return AD_OK; /* without a name gradcheck's own reference serves */
    list_names(names, sizeof names, AD_CAP_ESTIMATE);
    return ad_error(g->ctx, AD_ENOTFOUND, "gradcheck: unknown reference backend \"%s\" (finite differences: %s)", name,
                    names);
}

/* options.backends by name, or every registered exact backend. */
static int choose_backends(gc_run *g)
{
    const char *const *want = g->o.backends;
    char names[512];
    int rc = AD_OK;
    if (!want) {
        const ad_backend *all[AD_BACKEND_MAX]; /* a copy: another thread may (un)register meanwhile */
        int nb = ad_backend_list(all, AD_BACKEND_MAX);
        for (int i = 0; rc == AD_OK && i < nb; i++)
            if (all[i]->caps & AD_CAP_EXACT) rc = add_backend(g, all[i]);
        return rc;
    }
    for (int i = 0; rc == AD_OK && want[i]; i++) {
        const ad_backend *b = ad_backend_find(want[i]);
        if (!b) {
            list_names(names, sizeof names, 0);
            return ad_error(g->ctx, AD_ENOTFOUND,
                            "gradcheck: unknown backend \"%s\" in options.backends (known: %s)", want[i], names);
        }
        rc = add_backend(g, b);
    }
    return rc;
}

/* The hand-written derivatives, as temporary backends ("user" when there
 * is one, "user-grad", "user-vjp", "user-jvp" when several); the first one
 * is what the Taylor test expands. */
static int add_user_backends(gc_run *g)
{
    const ad_gradcheck_options *o = &g->o;
    int nuser = (o->user_grad != NULL) + (o->user_jvp != NULL) + (o->user_vjp != NULL);
    void *ud = o->user_data ? o->user_data : g->p->user;
    static const struct {
        int kind;
        const char *named;
    } kinds[] = {{GC_USER_GRAD, "user-grad"}, {GC_USER_VJP, "user-vjp"}, {GC_USER_JVP, "user-jvp"}};
    for (int k = 0; k < 3; k++) {
        int kind = kinds[k].kind;
        bool given = kind == GC_USER_GRAD  ? o->user_grad != NULL
                     : kind == GC_USER_VJP ? o->user_vjp != NULL
                                           : o->user_jvp != NULL;
        if (!given) continue;
        gc_user_backend *u = &g->user[g->nuser++];
        gc_user_backend_init(u, kind, nuser == 1 ? "user" : kinds[k].named, o, ud);
        if (!g->taylor_backend) g->taylor_backend = &u->b;
        int rc = add_backend(g, &u->b);
        if (rc != AD_OK) return rc;
    }
    return AD_OK;
}

static int check_options(gc_run *g)
{
    int rc = check_numbers(g);
    if (rc == AD_OK) rc = choose_reference(g);
    if (rc == AD_OK) rc = choose_backends(g);
    if (rc == AD_OK) rc = add_user_backends(g);
    if (rc != AD_OK) return rc;
    if (!g->taylor_backend) g->taylor_backend = ad_backend_with(AD_CAP_REVERSE);
    if (g->nb == 0)
        return ad_error(g->ctx, AD_EINVAL,
                        "gradcheck: nothing to check (options.backends is empty and no hand-written derivative "
                        "is given)");
    return AD_OK;
}

/* The report's arrays: the backend lines with their names copied behind
 * them (one block, so a report outlives an unregistered backend), and the
 * rows. */
static int alloc_report(gc_run *g)
{
    ad_gradcheck_report *r = g->r;
    size_t names = 0;
    for (int i = 0; i < g->nb; i++) names += strlen(g->bk[i]->name) + 1;
    char *block = calloc(1, (size_t)g->nb * sizeof(ad_gradcheck_backend) + names);
    r->rows = calloc((size_t)g->o.max_rows, sizeof *r->rows);
    r->inconclusive = calloc((size_t)g->o.max_rows, sizeof *r->inconclusive);
    g->row_key = calloc((size_t)g->o.max_rows, sizeof *g->row_key);
    if (!block || !r->rows || !r->inconclusive || !g->row_key) {
        free(block);
        return ad_error(g->ctx, AD_ENOMEM, "gradcheck: out of memory for the report");
    }
    r->backends = (ad_gradcheck_backend *)(void *)block;
    r->nbackends = g->nb;
    char *nm = block + (size_t)g->nb * sizeof(ad_gradcheck_backend);
    for (int i = 0; i < g->nb; i++) {
        size_t len = strlen(g->bk[i]->name) + 1;
        memcpy(nm, g->bk[i]->name, len);
        r->backends[i].name = nm;
        r->backends[i].passed = true;
        nm += len;
        if (g->opaque && !gc_is_user(g, g->bk[i], NULL) && !(g->bk[i]->caps & AD_CAP_DIFFERENCE)) {
            r->backends[i].not_applicable = true;
            snprintf(r->backends[i].note, sizeof r->backends[i].note,
                     "not applicable: f is a black box (plain C over its inputs' data), AD cannot see inside");
        }
    }
    return AD_OK;
}

int gc_could_not_run(gc_run *g, int bi, int rc)
{
    ad_gradcheck_backend *line = &g->r->backends[bi];
    line->passed = false;
    snprintf(line->note, sizeof line->note, "could not run: %s", ad_errmsg(g->ctx));
    gc_failure(g, "%s could not run: %s", line->name, ad_errmsg(g->ctx));
    if (rc == AD_ENOMEM) return rc;
    ad_clear_error(g->ctx);
    return AD_OK;
}

bool gc_did_not_run(const gc_run *g, int bi)
{
    const ad_gradcheck_backend *line = &g->r->backends[bi];
    return !line->passed && strncmp(line->note, "could not run", 13) == 0;
}

bool gc_is_user(const gc_run *g, const ad_backend *b, int *kind)
{
    for (int i = 0; i < g->nuser; i++)
        if (&g->user[i].b == b) {
            if (kind) *kind = g->user[i].kind;
            return true;
        }
    return false;
}

static void cost_note(gc_run *g, int bi, bool by_rows, const ad_stats *st)
{
    ad_gradcheck_backend *line = &g->r->backends[bi];
    int kind;
    if (gc_is_user(g, g->bk[bi], &kind)) {
        const char *what = kind == GC_USER_GRAD ? "hand-written gradient" : kind == GC_USER_JVP ? "hand-written JVP" : "hand-written VJP";
        snprintf(line->note, sizeof line->note, "%s by %s: %lld call%s", what, by_rows ? "rows" : "columns",
                 (long long)st->sweeps, st->sweeps == 1 ? "" : "s");
    } else if (by_rows) {
        snprintf(line->note, sizeof line->note, "by rows: %lld pass%s, %lld sweep%s", (long long)st->passes,
                 st->passes == 1 ? "" : "es", (long long)st->sweeps, st->sweeps == 1 ? "" : "s");
    } else {
        snprintf(line->note, sizeof line->note, "by columns: %lld pass%s", (long long)st->passes,
                 st->passes == 1 ? "" : "es");
    }
}

/* ---- the full comparison -------------------------------------------------------------------- */

typedef struct full_ref {
    const double *J[AD_MAX_INPUTS], *E[AD_MAX_INPUTS];
} full_ref;

static int check_backend(gc_run *g, int bi, const full_ref *fr)
{
    const ad_problem *p = g->p;
    ad_ctx *ctx = g->ctx;
    const ad_backend *b = g->bk[bi];
    ad_gradcheck_backend *line = &g->r->backends[bi];
    if (line->not_applicable) return AD_OK;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *J[AD_MAX_INPUTS] = {0};
    ad_jacobian_info info;
    ad_stats st;
    ad_options dopt = {0};
    int rc = ad_jacobian(b, p, &dopt, NULL, J, NULL, &info, &st);
    if (rc != AD_OK) {
        rc = gc_could_not_run(g, bi, rc);
        ad_scope_end(ctx, s, NULL);
        return rc;
    }
    cost_note(g, bi, info.by_rows, &st);
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        ad_tensor *Jc = ad_contiguous(J[i]);
        if (!Jc) {
            rc = ctx->err;
            break;
        }
        int64_t ni = p->in[i]->numel;
        for (int64_t q = 0; q < g->m * ni; q++) {
            int64_t o = q / ni, j = q % ni, idx[AD_MAX_DIMS];
            gc_cmp c = {.backend = line->name, .line = line, .input = i, .index = idx};
            c.ndim = gc_jac_index(g, i, o, j, idx);
            c.a = Jc->data[q];
            c.n = fr->J[i][q];
            c.e = fr->E[i] ? fr->E[i][q] : 0;
            int kink = g->kink_at[i] ? g->kink_at[i][q] - 1 : -1;
            if (gc_compare(g, &c, kink) < 0) {
                rc = ad_error(ctx, AD_ENOMEM, "gradcheck: out of memory");
                break;
            }
        }
    }
    ad_scope_end(ctx, s, NULL);
    return rc;
}

/* The reference's own NaN/Inf, named before any backend's (a named
 * difference backend's; gradcheck's own marks such entries inconclusive). */
static void name_reference_nonfinite(gc_run *g, int i, const full_ref *fr)
{
    int64_t ni = g->p->in[i]->numel;
    for (int64_t q = 0; q < g->m * ni && !g->r->nonfinite; q++) {
        double v = fr->J[i][q], e = fr->E[i] ? fr->E[i][q] : 0;
        if (isfinite(v) && isfinite(e)) continue;
        int64_t idx[AD_MAX_DIMS];
        char w[320];
        int nd = gc_jac_index(g, i, q / ni, q % ni, idx);
        gc_where(g, NULL, i, nd, idx, w, sizeof w);
        if (!isfinite(v)) gc_nonfinite(g, "the reference (%s) is %s at %s", g->ref->name, nonfinite_name(v), w);
        else gc_nonfinite(g, "the reference's error estimate is %s at %s", nonfinite_name(e), w);
    }
}

/* A named difference backend as the reference: its Jacobian and estimate
 * through the driver (as before gradcheck had its own). */
static int named_reference(gc_run *g, full_ref *fr)
{
    const ad_problem *p = g->p;
    ad_tensor *J[AD_MAX_INPUTS] = {0}, *E[AD_MAX_INPUTS] = {0};
    ad_options dopt = {.h = g->o.h}; /* with the error estimate */
    int rc = ad_jacobian(g->ref, p, &dopt, NULL, J, E, NULL, &g->r->reference_stats);
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        ad_tensor *Jc = ad_contiguous(J[i]), *Ec = E[i] ? ad_contiguous(E[i]) : NULL;
        if (!Jc || (E[i] && !Ec)) return g->ctx->err;
        fr->J[i] = Jc->data;
        fr->E[i] = Ec ? Ec->data : NULL;
        name_reference_nonfinite(g, i, fr);
    }
    return rc;
}

/* Column j of input i's Jacobian [m, ni] and its bound, by gradcheck's
 * own reference; counts the coordinates that needed care. */
static int own_column(gc_run *g, int i, int64_t j, double *J, double *E, double *D, double *B)
{
    int64_t ni = g->p->in[i]->numel;
    gc_dir d = {.i = i, .j = j};
    unsigned flags;
    int rc = gc_ref_deriv(g, &d, gc_ref_first_step(g, i, j), D, B, &flags);
    for (int64_t o = 0; o < g->m; o++) {
        J[o * ni + j] = D[o];
        E[o * ni + j] = B[o];
    }
    g->ref_shrunk += (flags & GC_REF_SHRUNK) != 0;
    g->ref_one_sided += (flags & GC_REF_ONE_SIDED) != 0;
    g->ref_undefined += (flags & GC_REF_UNDEFINED) != 0;
    if (!g->kstep[i]) g->kstep[i] = malloc((size_t)ni * sizeof(double));
    if (!g->kstep[i]) return ad_error(g->ctx, AD_ENOMEM, "gradcheck: out of memory for the reference");
    g->kstep[i][j] = g->ref_step;
    return rc;
}

static void reference_note(gc_run *g)
{
    ad_gradcheck_report *r = g->r;
    if (!g->ref_shrunk && !g->ref_one_sided && !g->ref_undefined) return;
    snprintf(r->reference_note, sizeof r->reference_note,
             "near an edge of f's domain: %lld coordinate%s with a shrunk stencil, %lld one-sided, %lld undefined",
             (long long)g->ref_shrunk, g->ref_shrunk == 1 ? "" : "s", (long long)g->ref_one_sided,
             (long long)g->ref_undefined);
}

/* gradcheck's own reference (gradcheck_reference.c), column by column. */
static int own_reference(gc_run *g, full_ref *fr)
{
    const ad_problem *p = g->p;
    ad_ctx *ctx = g->ctx;
    int64_t n = ad_problem_size(p), done = 0;
    double t0 = ad_now();
    double *D = malloc((size_t)g->m * 2 * sizeof *D);
    if (!D) return ad_error(ctx, AD_ENOMEM, "gradcheck: out of memory for the reference");
    int rc = AD_OK;
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        int64_t ni = p->in[i]->numel;
        ad_tensor *J = ad_empty(ctx, AD_SHAPE(g->m, ni));
        ad_tensor *E = ad_empty(ctx, AD_SHAPE(g->m, ni));
        if (!J || !E) rc = ctx->err;
        for (int64_t j = 0; rc == AD_OK && j < ni; j++, done++) {
            ad_scope s = ad_scope_begin(ctx);
            rc = own_column(g, i, j, J->data, E->data, D, D + g->m);
            ad_scope_end(ctx, s, NULL);
            gc_progress(g, "reference", (double)(done + 1) / (double)n);
        }
        if (rc == AD_OK) {
            fr->J[i] = J->data;
            fr->E[i] = E->data;
        }
    }
    free(D);
    g->r->reference_stats.seconds = ad_now() - t0;
    g->r->reference_stats.passes = g->ref_evals;
    reference_note(g);
    return rc;
}

static int full_check(gc_run *g)
{
    full_ref fr;
    memset(&fr, 0, sizeof fr);
    int rc = g->o.reference ? named_reference(g, &fr) : own_reference(g, &fr);
    if (rc == AD_OK) rc = scan_kinks(g);
    for (int bi = 0; rc == AD_OK && bi < g->nb; bi++) {
        rc = check_backend(g, bi, &fr);
        gc_progress(g, "backends", (double)(bi + 1) / g->nb);
    }
    return rc;
}

/* ---- the verdict ---------------------------------------------------------------------------- */

static const char *display_name(const gc_run *g, const char *name, char *buf, size_t n)
{
    for (int i = 0; i < g->nuser; i++) {
        if (strcmp(g->user[i].b.name, name) != 0) continue;
        int kind = g->user[i].kind;
        snprintf(buf, n, "%s %s", name, kind == GC_USER_GRAD ? "gradient" : kind == GC_USER_JVP ? "JVP" : "VJP");
        return buf;
    }
    if (strcmp(name, "hvp") == 0) return "the HVP (forward over reverse)";
    return name;
}

/* "passed: forward, reverse agree with extrapolated differences (...)" and
 * what else the reader must know: kinks, inconclusive entries, Taylor. */
static void summarize_pass(gc_run *g, char *s, size_t n)
{
    ad_gradcheck_report *r = g->r;
    size_t k = (size_t)snprintf(s, n, "passed: ");
    double rel = 0;
    int shown = 0;
    for (int i = 0; i < r->nbackends && k < n; i++) {
        if (r->backends[i].not_applicable) continue;
        int wr = snprintf(s + k, n - k, "%s%s", shown++ ? ", " : "", r->backends[i].name);
        if (wr > 0) k += (size_t)wr;
        rel = fmax(rel, r->backends[i].max_rel_err);
    }
    if (k < n && shown == 0) k += (size_t)snprintf(s + k, n - k, "nothing to compare (f is a black box and no "
                                                             "hand-written derivative is given)");
    else if (k < n)
        k += (size_t)snprintf(s + k, n - k, " agree%s with %s differences%s (max rel err %.2g)",
                              shown == 1 ? "s" : "", g->ref_name, g->o.fast ? " along random directions" : "", rel);
    if (k < n && r->ninconclusive > 0)
        k += (size_t)snprintf(s + k, n - k, "; %lld inconclusive entr%s (the reference is not accurate enough there)",
                              (long long)r->ninconclusive, r->ninconclusive == 1 ? "y" : "ies");
    if (k < n && r->nkinks > 0)
        k += (size_t)snprintf(s + k, n - k, "; %d kink%s accepted", r->nkinks, r->nkinks == 1 ? "" : "s");
    if (k < n && r->taylor_done && r->taylor_npoints >= 3)
        k += (size_t)snprintf(s + k, n - k, "; Taylor order %.2f", r->taylor_order);
    else if (k < n && r->taylor_done)
        k += (size_t)snprintf(s + k, n - k, "; Taylor remainder at rounding level (f linear along v)");
    if (k < n && r->hvp_done) snprintf(s + k, n - k, "; HVP agrees");
}

static void summarize(gc_run *g)
{
    ad_gradcheck_report *r = g->r;
    char *s = r->summary;
    size_t n = sizeof r->summary;
    bool lines_ok = true;
    for (int i = 0; i < r->nbackends; i++) lines_ok = lines_ok && r->backends[i].passed;
    r->passed = !r->nonfinite && r->nmismatches == 0 && lines_ok && (!r->consistency_done || r->consistency_passed) &&
                (!r->taylor_done || r->taylor_passed) && (!r->hvp_done || r->hvp_passed) &&
                !(g->o.strict && r->ninconclusive > 0);
    char w[320], nb[64];
    if (r->passed) {
        summarize_pass(g, s, n);
        return;
    }
    if (r->nonfinite) {
        snprintf(s, n, "FAILED: %s", r->nonfinite_what);
    } else if (r->nmismatches > 0 && r->nrows > 0) {
        const ad_gradcheck_entry *e = &r->rows[0];
        gc_where(g, e->backend, e->input, e->ndim, e->index, w, sizeof w);
        int k = snprintf(s, n, "FAILED: %s differs at %s (analytic %.6g, numeric %.6g, rel err %.2g)",
                         display_name(g, e->backend, nb, sizeof nb), w, e->analytic, e->numeric, e->rel_err);
        if (r->nmismatches > 1 && k > 0 && (size_t)k < n)
            snprintf(s + k, n - (size_t)k, "; %lld mismatching entries", (long long)r->nmismatches);
    } else if (g->first_failure[0]) {
        snprintf(s, n, "FAILED: %s", g->first_failure);
    } else if (g->o.strict && r->ninconclusive > 0) {
        const ad_gradcheck_entry *e = &r->inconclusive[0];
        gc_where(g, e->backend, e->input, e->ndim, e->index, w, sizeof w);
        snprintf(s, n, "FAILED (strict): %lld inconclusive entr%s, first at %.80s: %.80s (bound %.2g)",
                 (long long)r->ninconclusive, r->ninconclusive == 1 ? "y" : "ies", w, e->why, e->estimate);
    } else if (r->taylor_done && !r->taylor_passed) {
        snprintf(s, n,
                 "FAILED: the Taylor remainder of %s shrinks like h^%.2f, not h^2: its derivative is wrong along a "
                 "random direction",
                 display_name(g, g->taylor_backend->name, nb, sizeof nb), r->taylor_order);
    } else if (r->hvp_done && !r->hvp_passed) {
        snprintf(s, n, "FAILED: the HVP differs from differences of gradients (max rel err %.2g)", r->hvp_max_rel_err);
    } else {
        snprintf(s, n, "FAILED");
    }
}

/* ---- the entry point ------------------------------------------------------------------------ */

/* NaN or Inf in f(x) itself is a bad point, not a wrong derivative:
 * every difference around it is NaN too, so there is nothing to compare.
 * The check does not run (AD_ENONFINITE, the element named); NaN/Inf in a
 * derivative of a finite f stays a FAILED verdict.  From here on f(x) is
 * finite. */
static int refuse_nonfinite_value(gc_run *g)
{
    const ad_tensor *y = g->y;
    int64_t q = 0;
    while (q < g->m && isfinite(y->data[q])) q++;
    if (q == g->m) return AD_OK;
    char at[96] = "";
    if (y->ndim > 0) {
        int64_t idx[AD_MAX_DIMS];
        gc_unravel(q, y->ndim, y->shape, idx);
        fmt_index(at, sizeof at, y->ndim, idx);
    }
    gc_nonfinite(g, "f(x)%s is %s", at, nonfinite_name(y->data[q]));
    return ad_error(g->ctx, AD_ENONFINITE, "gradcheck: f(x)%s is %s at the given point: there is nothing to check",
                    at, nonfinite_name(y->data[q]));
}

/* The inputs' values, contiguous, for scales and steps. */
static int input_values(gc_run *g)
{
    for (int i = 0; i < g->p->nin; i++) {
        ad_tensor *c = ad_contiguous(g->x[i]);
        if (!c) return g->ctx->err;
        g->xd[i] = c->data;
    }
    return AD_OK;
}

static int run(gc_run *g)
{
    const ad_problem *p = g->p;
    ad_ctx *ctx = g->ctx;
    int rc = ad_problem_check(p, "gradcheck");
    if (rc == AD_OK) rc = check_options(g);
    if (rc == AD_OK) rc = alloc_report(g);
    if (rc == AD_OK) rc = ad_fresh_inputs(p, g->x);
    if (rc != AD_OK) return rc;
    /* f(x): its shape sizes everything */
    ad_tensor *y = ad_contiguous(ad_call_f(p, g->x, NULL));
    if (!y) return ctx->err;
    g->y = y;
    g->m = y->numel;
    if (g->o.user_grad && g->m != 1) {
        char b[AD_SHAPEBUF];
        return ad_error(ctx, AD_ESHAPE,
                        "gradcheck: user_grad needs a function with one output value, but f returns shape %s "
                        "(give user_vjp or user_jvp instead)",
                        ad_fmt_shape(b, sizeof b, y->ndim, y->shape));
    }
    rc = refuse_nonfinite_value(g);
    if (rc == AD_OK) rc = input_values(g);
    if (rc == AD_OK) rc = gc_noise(g);
    if (rc != AD_OK) return rc;
    for (int64_t o = 0; o < g->m; o++) g->r->noise_max = fmax(g->r->noise_max, g->noise[o]);
    rc = g->o.fast ? gc_fast(g) : full_check(g);
    if (rc == AD_OK && !g->o.no_consistency) rc = gc_consistency(g);
    if (rc == AD_OK && !g->o.no_taylor) rc = gc_taylor(g);
    if (rc == AD_OK && g->o.second_order) rc = gc_second_order(g);
    return rc;
}

int ad_gradcheck(const ad_problem *p, const ad_gradcheck_options *o, ad_gradcheck_report *r)
{
    if (!r) return (p && p->ctx) ? ad_error(p->ctx, AD_EINVAL, "gradcheck: no report given") : AD_EINVAL;
    memset(r, 0, sizeof *r);
    if (!p || !p->ctx) {
        snprintf(r->summary, sizeof r->summary, "gradcheck could not run: no problem or no context given");
        return AD_EINVAL;
    }
    ad_ctx *ctx = p->ctx;
    gc_run *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(r->summary, sizeof r->summary, "gradcheck could not run: out of memory");
        return ad_error(ctx, AD_ENOMEM, "gradcheck: out of memory");
    }
    g->p = p;
    g->ctx = ctx;
    g->o = o ? *o : ad_gradcheck_defaults();
    g->r = r;
    g->worst_key = -1;
    g->opaque = (p->flags & AD_PROBLEM_OPAQUE) != 0;
    g->t_start = g->t_last = ad_now();
    /* the caller's state, restored at the end */
    int err0 = ctx->err;
    char *msg0 = malloc(AD_ERRMSG_MAX);
    if (msg0) memcpy(msg0, ctx->errmsg, AD_ERRMSG_MAX);
    bool grad0 = ad_set_grad_enabled(ctx, false);
    uint8_t fwd0 = ctx->fwd_active; /* the caller's forward levels: suspended */
    uint8_t cat0 = ctx->cat;
    ctx->fwd_active = 0;
    ctx->err = AD_OK;

    ad_scope s = ad_scope_begin(ctx);
    int rc = run(g);
    /* the summary reads g->y, which the scope owns: summarize before it ends */
    if (rc == AD_OK) summarize(g);
    ad_scope_end(ctx, s, NULL);

    if (rc == AD_OK) {
        ctx->err = err0; /* errors of backends that could not run are in their notes */
        if (msg0) memcpy(ctx->errmsg, msg0, AD_ERRMSG_MAX);
    } else {
        r->passed = false;
        snprintf(r->summary, sizeof r->summary, "gradcheck could not run: %s", ad_errmsg(ctx));
    }
    ad_set_grad_enabled(ctx, grad0);
    ctx->fwd_active = fwd0;
    ctx->cat = cat0;
    for (int i = 0; i < AD_MAX_INPUTS; i++) {
        free(g->kink_at[i]);
        free(g->kstep[i]);
    }
    free(g->kink_tol);
    free(g->row_key);
    free(g->noise);
    free(msg0);
    free(g);
    return rc;
}

void ad_gradcheck_report_free(ad_gradcheck_report *r)
{
    if (!r) return;
    free(r->backends); /* the names live in the same block */
    free(r->rows);
    free(r->kinks);
    free(r->inconclusive);
    r->backends = NULL;
    r->rows = NULL;
    r->kinks = NULL;
    r->inconclusive = NULL;
    r->nbackends = r->nrows = r->nkinks = r->ninconclusive_rows = 0;
}
