/* modes/gradcheck_reference.c — a reference derivative that knows its own
 * accuracy: f's derivative along one coordinate (or one direction) for
 * every output element, each with an error bound.
 *
 * Ridders' extrapolation (Numerical Recipes' dfridr; Ceres' GradientChecker
 * reaches ~1e-13 the same way): central differences at h, h/1.4, h/1.4²,
 * ... are extrapolated to h = 0 in a Neville tableau; the error estimate
 * of an entry is its distance to its two parents, and the tableau stops
 * when the diagonal grows by more than 2× the best estimate (noise has
 * taken over).  To that estimate is added the noise the entry carries,
 * 8·ε_o/h (ε_o measured by gradcheck_noise.c; the extrapolation weights
 * amplify a central difference's ε/h by less than 8).
 *
 * Steps.  The first step is 0.1·scale_j (|x_j| with a typical-scale floor,
 * gc_scale), or options.h.  A stencil that meets NaN/Inf is shrunk 4× at a
 * time and then kept 2× away from the edge it met; when both sides cannot
 * be had, the one-sided tableau on the finite side is used (its error
 * series has every power of h) and the coordinate is noted.  A run whose
 * estimate is not good enough (above 1% of the tolerance) is repeated from
 * a step 100× smaller — a step larger than f's own scale of variation
 * (sin(x) at x = 1e8 varies over 1, not over 1e8) gives garbage that
 * extrapolation cannot fix, recognised by a tableau spread as large as its
 * quotients (resolved()) — until the estimate stops improving; each output
 * keeps its best resolved entry over the runs.  Coordinate steps are exact
 * (gc_eval_coord), so the quotient divides by the perturbation applied. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck_impl.h"

#define NTAB 10
#define CON 1.4
#define SAFE 2.0
#define RUNS 8
#define SHRINKS 24

/* f at x + t along the direction; *taken is the step applied (exact for a
 * coordinate). */
static ad_tensor *eval_at(gc_run *g, const gc_dir *d, double t, double *taken)
{
    g->ref_evals++;
    if (!d->V) return gc_eval_coord(g, d->i, d->j, t, taken);
    *taken = fabs(t);
    return gc_eval_along(g, d->V, t);
}

static bool usable(const gc_run *g, const ad_tensor *f)
{
    if (!f || f->numel != g->m) return false;
    for (int64_t o = 0; o < g->m; o++)
        if (!isfinite(f->data[o])) return false;
    return true;
}

/* One difference quotient of every output at step h on side (0 central,
 * +1/-1 one-sided) into q[]; *ok false when f is not usable there; *hq the
 * step it used.  The context's error from a failing f is cleared (a step
 * into f's undefined region is not an error of the check). */
static int quotient(gc_run *g, const gc_dir *d, int side, double h, double *q, double *qmag, bool *ok, double *hq)
{
    ad_ctx *ctx = g->ctx;
    ad_scope s = ad_scope_begin(ctx);
    double hp = 0, hm = 0;
    ad_tensor *fp = side >= 0 ? eval_at(g, d, h, &hp) : NULL;
    ad_tensor *fm = side <= 0 ? eval_at(g, d, -h, &hm) : NULL;
    if (ctx->err == AD_ENOMEM) {
        ad_scope_end(ctx, s, NULL);
        return AD_ENOMEM;
    }
    ad_clear_error(ctx);
    *ok = (side < 0 || usable(g, fp)) && (side > 0 || usable(g, fm)) && (side < 0 || hp > 0) && (side > 0 || hm > 0);
    const double *y = g->y->data;
    for (int64_t o = 0; *ok && o < g->m; o++) {
        double up = side >= 0 ? fabs(fp->data[o] - y[o]) : 0, dn = side <= 0 ? fabs(y[o] - fm->data[o]) : 0;
        if (side == 0) q[o] = (fp->data[o] - fm->data[o]) / (hp + hm);
        else if (side > 0) q[o] = (fp->data[o] - y[o]) / hp;
        else q[o] = (y[o] - fm->data[o]) / hm;
        if (qmag) qmag[o] = (up + dn) / ((side >= 0 ? hp : 0) + (side <= 0 ? hm : 0));
    }
    *hq = side == 0 ? 0.5 * (hp + hm) : side > 0 ? hp : hm;
    ad_scope_end(ctx, s, NULL);
    return AD_OK;
}

/* The tableau of one run, for all outputs at once: two columns each. */
typedef struct tableau {
    double *prev, *cur; /* [m·NTAB] */
    double *ans, *err, *hbest;
    double *qmag;       /* (|f(x+h0) - f(x)| + |f(x) - f(x-h0)|)/2h0: the size of the first quotients */
    bool *done;
} tableau;

/* Column i (step h) of the tableau from quotients q; fac0 = CON² for
 * central differences, CON for one-sided ones (error series in h², resp. h). */
static void column(gc_run *g, tableau *T, int i, const double *q, double h, double fac0)
{
    for (int64_t o = 0; o < g->m; o++) {
        if (T->done[o]) continue;
        double *a = T->cur + o * NTAB, *b = T->prev + o * NTAB;
        a[0] = q[o];
        double fac = fac0;
        for (int j = 1; j <= i; j++) {
            a[j] = (a[j - 1] * fac - b[j - 1]) / (fac - 1);
            fac *= fac0;
            double errt = fmax(fabs(a[j] - a[j - 1]), fabs(a[j] - b[j - 1]));
            if (errt <= T->err[o]) {
                T->err[o] = errt;
                T->ans[o] = a[j];
                T->hbest[o] = h;
            }
        }
        if (i > 0 && fabs(a[i] - b[i - 1]) >= SAFE * T->err[o]) T->done[o] = true;
    }
    double *t = T->prev;
    T->prev = T->cur;
    T->cur = t;
}

/* One run from step h0: per output the best entry and its bound (with the
 * noise it carries).  *steps_ok false when not even the first quotient
 * could be had. */
static int run_tableau(gc_run *g, const gc_dir *d, int side, double h0, tableau *T, double *q, bool *steps_ok)
{
    double fac0 = side == 0 ? CON * CON : CON, h = h0, hq;
    bool ok = true;
    for (int64_t o = 0; o < g->m; o++) {
        T->err[o] = INFINITY;
        T->ans[o] = NAN;
        T->hbest[o] = h0;
        T->done[o] = false;
    }
    int rc = AD_OK;
    for (int i = 0; rc == AD_OK && i < NTAB; i++, h /= CON) {
        rc = quotient(g, d, side, h, q, i == 0 ? T->qmag : NULL, &ok, &hq);
        if (rc != AD_OK || !ok) break;
        if (i == 0)
            for (int64_t o = 0; o < g->m; o++) T->ans[o] = q[o]; /* until an extrapolation beats it */
        column(g, T, i, q, hq, fac0);
        bool all = true;
        for (int64_t o = 0; o < g->m; o++) all = all && T->done[o];
        if (all) break;
    }
    *steps_ok = isfinite(T->ans[0]) || g->m == 0;
    return rc;
}

/* The largest step from h (shrinking 4× at a time) at which the quotient
 * on side can be had; 0 when none.  A step that had to shrink is kept 2×
 * further from the edge it met. */
static int safe_step(gc_run *g, const gc_dir *d, int side, double h, double *q, double *out)
{
    double hq;
    bool ok = false;
    *out = 0;
    for (int k = 0; k <= SHRINKS; k++, h /= 4) {
        int rc = quotient(g, d, side, h, q, NULL, &ok, &hq);
        if (rc != AD_OK) return rc;
        if (ok) {
            *out = k > 0 ? h / 2 : h;
            return AD_OK;
        }
    }
    return AD_OK;
}

/* How many tolerances the worst output's bound is (0.01 or less: accurate
 * enough to judge any difference). */
static double badness(const gc_run *g, const double *D, const double *E)
{
    double w = 0;
    for (int64_t o = 0; o < g->m; o++) {
        double tol = g->o.atol + g->o.rtol * fabs(D[o]);
        double b = tol > 0 ? E[o] / tol : (E[o] > 0 ? INFINITY : 0);
        if (!(b <= w)) w = b;
    }
    return w;
}

/* Whether the run resolved output o.  A first step far beyond f's own
 * scale of variation (sin at 1e8 from a step of 1e7) gives quotients of
 * size |Δf|/h, tiny and scattered, whose tableau spread is as small as
 * they are and would pass for accuracy in absolute terms; a resolved
 * tableau's spread is well below the size of its first quotients (or at
 * the level of f's noise, f flat along d). */
static bool resolved(const gc_run *g, const tableau *T, int64_t o)
{
    double e = T->err[o], noise = 8 * g->noise[o] / T->hbest[o];
    return isfinite(T->ans[o]) && (e <= 0.1 * T->qmag[o] || e <= noise);
}

/* What the runs so far say about one output. */
typedef struct verdict {
    double pd, pe; /* the previous run's entry and bound */
    bool pres;     /* ... and whether it was resolved */
    bool conf;     /* D, E are confirmed: two consecutive resolved runs agreed */
} verdict;

/* Merges this run into D, E.  An entry is confirmed when it and the
 * previous run's (a 100× larger first step) are both resolved and agree
 * within their bounds: a tableau of garbage can look resolved by chance
 * (the smallest of 55 spreads), two in a row at different steps cannot
 * agree.  Until then D, E hold the latest entry with a bound covering the
 * disagreement.  Returns whether every output is confirmed. */
static bool keep_best(gc_run *g, const tableau *T, double *D, double *E, verdict *V)
{
    bool all = true;
    for (int64_t o = 0; o < g->m; o++) {
        verdict *v = &V[o];
        bool r = resolved(g, T, o);
        double a = T->ans[o], e = T->err[o];
        if (!isfinite(e) && isfinite(a)) e = fabs(a); /* a single quotient: no estimate */
        e += 8 * g->noise[o] / T->hbest[o];
        if (!r) e = fmax(e, T->qmag[o] + fabs(a));
        bool agree = r && v->pres && fabs(a - v->pd) <= e + v->pe;
        if (agree) {
            double cd = e <= v->pe ? a : v->pd, ce = fmin(e, v->pe);
            if (!v->conf || ce < E[o]) {
                D[o] = cd;
                E[o] = ce;
            }
            v->conf = true;
        } else if (!v->conf && isfinite(a)) {
            D[o] = a;
            E[o] = isfinite(v->pd) ? fmax(e, fabs(a - v->pd)) : e;
        }
        v->pd = a;
        v->pe = e;
        v->pres = r;
        all = all && v->conf;
    }
    return all;
}

/* Finds a side and a first step: central if both sides can be had, else
 * the finite side.  *side 2: no step at all. */
static int first_step(gc_run *g, const gc_dir *d, double h0, double *q, int *side, double *h, unsigned *flags)
{
    int rc = safe_step(g, d, 0, h0, q, h);
    *side = 0;
    if (rc == AD_OK && *h > 0 && *h < h0) *flags |= GC_REF_SHRUNK;
    for (int s = 1; rc == AD_OK && *h == 0 && s >= -1; s -= 2) {
        rc = safe_step(g, d, s, h0, q, h);
        *side = s;
        if (*h > 0) *flags |= GC_REF_ONE_SIDED;
    }
    if (rc == AD_OK && *h == 0) *side = 2;
    return rc;
}

/* Runs from step h, 100× smaller each time, until every output is
 * resolved and its bound is within 1% of the tolerance, or the bound stops
 * improving (a fixed options.h: one run). */
static int runs(gc_run *g, const gc_dir *d, int side, double h, tableau *T, double *q, double *D, double *E,
                verdict *V)
{
    double best = INFINITY;
    int stale = 0, rc = AD_OK;
    for (int run = 0; rc == AD_OK && run < RUNS && h > 0; run++, h /= 100) {
        bool ok;
        rc = run_tableau(g, d, side, h, T, q, &ok);
        if (rc != AD_OK || !ok) break;
        bool all = keep_best(g, T, D, E, V);
        if (g->o.h > 0) break;
        if (!all) continue;
        if (!(g->ref_step > 0)) g->ref_step = 100 * h; /* the larger step of the confirming pair */
        double b = badness(g, D, E);
        if (b <= 0.01) break;
        stale = b < 0.5 * best ? 0 : stale + 1;
        best = fmin(best, b);
        if (stale >= 2) break; /* resolved, and no longer improving */
    }
    return rc;
}

int gc_ref_deriv(gc_run *g, const gc_dir *d, double h0, double *D, double *E, unsigned *flags)
{
    int64_t m = g->m;
    double *blk = malloc((size_t)m * (2 * NTAB + 5) * sizeof(double));
    bool *done = malloc((size_t)m * sizeof(bool));
    verdict *V = malloc((size_t)m * sizeof *V);
    *flags = 0;
    if (!blk || !done || !V) {
        free(blk);
        free(done);
        free(V);
        return ad_error(g->ctx, AD_ENOMEM, "gradcheck: out of memory for the reference");
    }
    double *col = blk + 2 * m * NTAB;
    tableau T = {blk, blk + m * NTAB, col, col + m, col + 2 * m, col + 3 * m, done};
    double *q = col + 4 * m;
    for (int64_t o = 0; o < m; o++) {
        D[o] = NAN;
        E[o] = INFINITY;
        V[o] = (verdict){.pd = NAN, .pe = INFINITY};
    }
    int side;
    double h;
    g->ref_step = NAN;
    int rc = first_step(g, d, h0, q, &side, &h, flags);
    if (rc == AD_OK && side != 2) rc = runs(g, d, side, h, &T, q, D, E, V);
    if (side == 2) *flags |= GC_REF_UNDEFINED;
    free(blk);
    free(done);
    free(V);
    return rc;
}

double gc_ref_first_step(const gc_run *g, int i, int64_t j)
{
    return g->o.h > 0 ? g->o.h : 0.1 * gc_scale(g, i, j);
}
