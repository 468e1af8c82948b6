/* modes/gradcheck_fast.c — fast mode: a few random directions d instead of
 * every coordinate; each backend's J·d (or <u, J d> for VJP-only ones) is
 * compared with the reference's, with kinks probed along d. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck_impl.h"

/* ---- fast mode: random directions ---------------------------------------------------------------- */

/* f along direction d at ±h and ±h/4, evaluated when a mismatch asks. */
typedef struct probe {
    double h;
    ad_tensor *fp, *fm, *fp4, *fm4;
} probe;

static double pick(ad_tensor *t, ad_tensor *u, int64_t o)
{
    if (!u) return t->data[o];
    double val = 0, mag = 0;
    gc_dot_acc(t->ctx, u, t, &val, &mag);
    return val;
}

/* The kink at element o of f (or at <u, f> when u) along direction k, or -1
 * when f is smooth there; < -1 on failure. */
static int fast_kink(gc_run *g, probe *pr, ad_tensor *const *d, ad_tensor *u, int64_t o, int k, int ndim,
                     const int64_t *idx)
{
    if (!pr->fp) {
        pr->fp = gc_eval_along(g, d, pr->h);
        pr->fm = gc_eval_along(g, d, -pr->h);
        if (!pr->fp || !pr->fm || pr->fp->numel != g->m || pr->fm->numel != g->m) {
            pr->fp = pr->fm = NULL;
            ad_clear_error(g->ctx); /* f undefined nearby: no kink analysis */
            return -1;
        }
    }
    gc_sides sd = {.f0 = pick(g->y, u, o), .fp = pick(pr->fp, u, o), .fm = pick(pr->fm, u, o)};
    sd.hp = sd.hm = pr->h;
    if (!gc_jump_candidate(&sd)) return -1;
    if (!pr->fp4) {
        pr->fp4 = gc_eval_along(g, d, pr->h / 4);
        pr->fm4 = gc_eval_along(g, d, -pr->h / 4);
        if (!pr->fp4 || !pr->fm4 || pr->fp4->numel != g->m || pr->fm4->numel != g->m) {
            pr->fp4 = pr->fm4 = NULL;
            ad_clear_error(g->ctx);
            return -1;
        }
    }
    sd.fp4 = pick(pr->fp4, u, o);
    sd.fm4 = pick(pr->fm4, u, o);
    sd.hp4 = sd.hm4 = pr->h / 4;
    double L, R, tol;
    if (!gc_is_kink(&sd, g->o.atol, g->o.rtol, &L, &R, &tol)) return -1;
    for (int q = 0; q < g->r->nkinks; q++) { /* seen by an earlier backend */
        const ad_gradcheck_kink *kk = &g->r->kinks[q];
        if (kk->input == -k - 1 && kk->ndim == ndim &&
            (ndim == 0 || memcmp(kk->index, idx, (size_t)ndim * sizeof(int64_t)) == 0))
            return q;
    }
    int id = gc_kink_add(g, -k - 1, ndim, idx, L, R, tol);
    if (id >= 0) return id;
    ad_error(g->ctx, AD_ENOMEM, "gradcheck: out of memory recording kinks");
    return -2;
}

static void add_stats(ad_stats *acc, const ad_stats *st)
{
    acc->passes += st->passes;
    acc->sweeps += st->sweeps;
    acc->ops_recorded += st->ops_recorded;
    acc->seconds += st->seconds;
    for (int c = 0; c < AD_MEM_NCAT; c++) acc->peak[c] = acc->peak[c] > st->peak[c] ? acc->peak[c] : st->peak[c];
    acc->peak_total = acc->peak_total > st->peak_total ? acc->peak_total : st->peak_total;
}

/* One random direction d, and what every backend is compared with along
 * it: the reference's J·d and its error estimate (contiguous), and for
 * VJP-only backends a cotangent u (1 for a scalar f: the entry is then
 * J·d itself, as for the JVP backends). */
typedef struct fast_dir {
    int k;
    ad_tensor *d[AD_MAX_INPUTS];
    ad_tensor *u;
    ad_tensor *jr, *er;
    probe pr;
} fast_dir;

/* J·d and its estimate by the named difference backend. */
static int named_reference(gc_run *g, fast_dir *fd)
{
    ad_options dopt = {.h = g->o.h};
    ad_stats st;
    int rc = ad_jvp(g->ref, g->p, fd->d, &dopt, NULL, &fd->jr, &fd->er, &st);
    if (rc == AD_OK) add_stats(&g->r->reference_stats, &st);
    return rc;
}

/* J·d and its bound by gradcheck's own reference along d, from a first
 * step of 0.1 of the smallest scale_j/|d_j|. */
static int own_reference(gc_run *g, fast_dir *fd)
{
    ad_ctx *ctx = g->ctx;
    double reach = 0;
    for (int i = 0; i < g->p->nin; i++) {
        if (!fd->d[i]) continue;
        for (int64_t j = 0; j < fd->d[i]->numel; j++) reach = fmax(reach, fabs(fd->d[i]->data[j]) / gc_scale(g, i, j));
    }
    fd->jr = ad_empty(ctx, ad_shape_of(g->y));
    fd->er = ad_empty(ctx, ad_shape_of(g->y));
    if (!fd->jr || !fd->er) return ctx->err;
    gc_dir dir = {.V = fd->d};
    unsigned flags;
    int64_t e0 = g->ref_evals;
    double t0 = ad_now();
    int rc = gc_ref_deriv(g, &dir, g->o.h > 0 ? g->o.h : 0.1 / (reach > 0 ? reach : 1), fd->jr->data, fd->er->data,
                          &flags);
    g->r->reference_stats.passes += g->ref_evals - e0;
    g->r->reference_stats.seconds += ad_now() - t0;
    return rc;
}

static int fast_reference(gc_run *g, fast_dir *fd)
{
    ad_ctx *ctx = g->ctx;
    gc_rng rng = gc_rng_new(g->o.seed, 16 + (uint64_t)fd->k);
    int rc = gc_random_inputs(g, &rng, fd->d);
    if (rc == AD_OK) fd->u = g->m == 1 ? ad_ones(ctx, ad_shape_of(g->y)) : gc_random_like(ctx, &rng, g->y);
    if (rc == AD_OK && !fd->u) rc = ctx->err;
    if (rc == AD_OK) rc = g->o.reference ? named_reference(g, fd) : own_reference(g, fd);
    if (rc != AD_OK) return rc;
    fd->jr = ad_contiguous(fd->jr);
    fd->er = fd->er ? ad_contiguous(fd->er) : NULL;
    if (!fd->jr) return ctx->err;
    double vmax, xmax;
    if ((rc = gc_direction_scale(g, fd->d, &vmax, &xmax)) != AD_OK) return rc;
    fd->pr = (probe){.h = sqrt(DBL_EPSILON) * xmax / (vmax > 0 ? vmax : 1)};
    return AD_OK;
}

/* A JVP backend: J·d element by element; a mismatch with finite values
 * asks the probe whether f has a kink there along d. */
static int fast_by_jvp(gc_run *g, int bi, fast_dir *fd, ad_stats *st)
{
    ad_gradcheck_backend *line = &g->r->backends[bi];
    ad_options dopt = {0};
    ad_tensor *jb = NULL;
    int rc = ad_jvp(g->bk[bi], g->p, fd->d, &dopt, NULL, &jb, NULL, st);
    ad_tensor *jc = rc == AD_OK ? ad_contiguous(jb) : NULL;
    if (rc == AD_OK && !jc) rc = g->ctx->err;
    int yd = g->y->ndim;
    for (int64_t o = 0; rc == AD_OK && o < g->m; o++) {
        int64_t idx[AD_MAX_DIMS];
        gc_unravel(o, yd, g->y->shape, idx);
        gc_cmp c = {.backend = line->name, .line = line, .input = -fd->k - 1, .ndim = yd, .index = idx,
                    .a = jc->data[o], .n = fd->jr->data[o], .e = fd->er ? fd->er->data[o] : 0};
        double tol = g->o.atol + g->o.rtol * fabs(c.n) + c.e;
        int kink = -1;
        if (!(fabs(c.a - c.n) <= tol) && isfinite(c.a) && isfinite(c.n))
            kink = fast_kink(g, &fd->pr, fd->d, NULL, o, fd->k, yd, idx);
        if (kink < -1) rc = g->ctx->err;
        else gc_compare(g, &c, kink);
    }
    return rc;
}

/* A VJP-only backend: <Jᵀu, d> by one VJP against <u, J d>, with
 * <|u|, e> as the reference's estimate. */
static int fast_by_vjp(gc_run *g, int bi, fast_dir *fd, ad_stats *st)
{
    ad_ctx *ctx = g->ctx;
    ad_gradcheck_backend *line = &g->r->backends[bi];
    double a = 0, am = 0, n = 0, nm = 0, e = 0, em = 0;
    int rc = gc_vjp_dot(g, g->bk[bi], fd->d, fd->u, &a, &am, st);
    if (rc == AD_OK) rc = gc_dot_acc(ctx, fd->u, fd->jr, &n, &nm);
    if (rc == AD_OK && fd->er) {
        ad_tensor *ua = ad_abs(fd->u);
        rc = ua ? gc_dot_acc(ctx, ua, fd->er, &e, &em) : ctx->err;
    }
    gc_cmp c = {.backend = line->name, .line = line, .input = -fd->k - 1, .ndim = 0, .index = NULL,
                .a = a, .n = n, .e = e};
    double tol = g->o.atol + g->o.rtol * fabs(n) + e;
    int kink = -1;
    if (rc == AD_OK && !(fabs(a - n) <= tol) && isfinite(a) && isfinite(n))
        kink = fast_kink(g, &fd->pr, fd->d, fd->u, 0, fd->k, 0, NULL);
    if (kink < -1) rc = ctx->err;
    else if (rc == AD_OK) gc_compare(g, &c, kink);
    return rc;
}

/* One direction: every backend that could run so far against the
 * reference's directional difference.  No scope per backend: the probe's
 * evaluations serve every backend of this direction (the caller's scope
 * ends with the direction). */
static int fast_direction(gc_run *g, int k, ad_stats *cost)
{
    fast_dir fd = {.k = k};
    int rc = fast_reference(g, &fd);
    for (int bi = 0; rc == AD_OK && bi < g->nb; bi++) {
        if (gc_did_not_run(g, bi)) continue;
        ad_stats st;
        rc = g->bk[bi]->jvp ? fast_by_jvp(g, bi, &fd, &st) : fast_by_vjp(g, bi, &fd, &st);
        if (rc == AD_OK) add_stats(&cost[bi], &st);
        else if (rc != AD_ENOMEM) rc = gc_could_not_run(g, bi, rc);
    }
    return rc;
}

/* "fast: J.d per output element, 4 directions, 4 passes" and the like. */
static void fast_note(gc_run *g, int bi, const ad_stats *cost)
{
    ad_gradcheck_backend *line = &g->r->backends[bi];
    bool user = gc_is_user(g, g->bk[bi], NULL);
    /* entries: f's output elements along direction k (J.d), or the
     * single number <u, J d> per direction (VJP-only backends) */
    const char *how = g->bk[bi]->jvp ? "J.d per output element"
                      : g->m == 1    ? "grad.d by a VJP"
                                     : "<J^T u, d> vs <u, J d>";
    int nd = g->o.directions;
    const char *dirs = nd == 1 ? "" : "s";
    long long np = (long long)cost->passes, ns = (long long)cost->sweeps;
    if (user)
        snprintf(line->note, sizeof line->note, "fast: %s, %d direction%s, %lld call%s", how, nd, dirs, ns,
                 ns == 1 ? "" : "s");
    else if (ns == 0)
        snprintf(line->note, sizeof line->note, "fast: %s, %d direction%s, %lld pass%s", how, nd, dirs, np,
                 np == 1 ? "" : "es");
    else
        snprintf(line->note, sizeof line->note, "fast: %s, %d direction%s, %lld pass%s, %lld sweep%s", how, nd,
                 dirs, np, np == 1 ? "" : "es", ns, ns == 1 ? "" : "s");
}

int gc_fast(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    ad_stats cost[GC_MAX_BACKENDS];
    memset(cost, 0, sizeof cost);
    int rc = AD_OK;
    for (int k = 0; rc == AD_OK && k < g->o.directions; k++) {
        ad_scope s = ad_scope_begin(ctx);
        rc = fast_direction(g, k, cost);
        ad_scope_end(ctx, s, NULL);
    }
    for (int bi = 0; rc == AD_OK && bi < g->nb; bi++)
        if (!gc_did_not_run(g, bi)) fast_note(g, bi, &cost[bi]);
    return rc;
}
