/* modes/gradcheck_extra.c — the checks beside the Jacobian comparison:
 *
 *   consistency   <v, J u> from a forward JVP equals <Jᵀ v, u> from a
 *                 reverse VJP, to rounding, for random u and v.  Every
 *                 exact backend (and the user's derivatives) is put against
 *                 the built-in one of the other kind, so a wrong VJP shows
 *                 up against forward mode and a wrong JVP against reverse.
 *   Taylor        r(h) = |<u,f(x+hv)> - <u,f(x)> - h<u, J v>| shrinks like
 *                 h² when J·v is right and like h when it is not; the order
 *                 is the least-squares slope of log r against log h (GSL).
 *   second order  H·v by forward over reverse (ad_hvp) against central
 *                 differences of reverse gradients, with a step-doubling
 *                 error estimate.
 *   fast mode     a few random directions d instead of every coordinate.
 *
 * Random vectors come from our own seeded generator (options.seed, one
 * stream per check), so the context's generator is left alone and turning
 * one check off does not change the vectors of another. */
#include <float.h>
#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck_impl.h"

/* ---- random numbers: splitmix64 ------------------------------------------------------ */

gc_rng gc_rng_new(uint64_t seed, uint64_t purpose)
{
    gc_rng g = {seed * 0x9E3779B97F4A7C15ull ^ (purpose * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull)};
    return g;
}

static uint64_t next_u64(gc_rng *g)
{
    uint64_t z = (g->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double gc_uniform(gc_rng *g)
{
    double u;
    do u = (double)(next_u64(g) >> 11) * 0x1p-52 - 1.0;
    while (u == 0);
    return u;
}

ad_tensor *gc_random_like(ad_ctx *ctx, gc_rng *g, const ad_tensor *t)
{
    ad_tensor *r = ad_empty(ctx, ad_shape_of(t));
    if (!r) return NULL;
    for (int64_t q = 0; q < r->numel; q++) r->data[q] = gc_uniform(g);
    return r;
}

/* Σ a·b and Σ |a·b| (the scale of its rounding error). */
static int dot_acc(ad_ctx *ctx, ad_tensor *a, ad_tensor *b, double *val, double *mag)
{
    ad_tensor *ac = ad_contiguous(a), *bc = ad_contiguous(b);
    if (!ac || !bc) return ctx->err;
    for (int64_t q = 0; q < ac->numel && q < bc->numel; q++) {
        double t = ac->data[q] * bc->data[q];
        *val += t;
        *mag += fabs(t);
    }
    return AD_OK;
}

/* Random tensors like the differentiated inputs (NULL for the others). */
static int random_inputs(gc_run *g, gc_rng *rng, ad_tensor **v)
{
    for (int i = 0; i < g->p->nin; i++) {
        v[i] = NULL;
        if (!ad_wrt(g->p, i)) continue;
        v[i] = gc_random_like(g->ctx, rng, g->p->in[i]);
        if (!v[i]) return g->ctx->err;
    }
    return AD_OK;
}

/* max |v| over the directions, and max(1, |x|) where they move x (the
 * scale the difference rules use, fd_step.c) */
static int direction_scale(gc_run *g, ad_tensor *const *v, double *vmax, double *xmax)
{
    ad_fd_scale sc;
    int rc = ad_fd_scale_of(g->p, v, &sc);
    *vmax = sc.vmax;
    *xmax = sc.xscale;
    return rc;
}

static bool finite_y(const gc_run *g)
{
    for (int64_t q = 0; q < g->m; q++)
        if (!isfinite(g->y->data[q])) return false;
    return true;
}

/* ---- consistency: <v, J u> = <Jᵀ v, u> --------------------------------------------------- */

static int jvp_dot(gc_run *g, const ad_backend *b, ad_tensor *const *u, ad_tensor *v, double *val, double *mag,
                   ad_stats *st)
{
    ad_tensor *jv = NULL;
    ad_options dopt = {0};
    *val = *mag = 0;
    int rc = ad_jvp(b, g->p, u, &dopt, NULL, &jv, NULL, st);
    return rc == AD_OK ? dot_acc(g->ctx, v, jv, val, mag) : rc;
}

static int vjp_dot(gc_run *g, const ad_backend *b, ad_tensor *const *u, ad_tensor *v, double *val, double *mag,
                   ad_stats *st)
{
    ad_tensor *G[AD_MAX_INPUTS] = {0};
    ad_options dopt = {0};
    *val = *mag = 0;
    int rc = ad_vjp(b, g->p, v, &dopt, NULL, G, NULL, st);
    for (int i = 0; rc == AD_OK && i < g->p->nin; i++)
        if (G[i] && u[i]) rc = dot_acc(g->ctx, G[i], u[i], val, mag);
    return rc;
}

/* Rounding of the two sums is bounded by eps·Σ|terms| each (times a few),
 * so the identity must hold to 1e-10 of Σ|terms|: far above rounding, far
 * below any real error of a rule. */
static bool identity_holds(double l, double lm, double r, double rm, double *rel)
{
    double diff = fabs(l - r), scale = lm + rm;
    if (!isfinite(diff) || !isfinite(scale)) {
        *rel = INFINITY;
        return false;
    }
    *rel = scale > 0 ? diff / scale : 0;
    return diff <= 1e-10 * scale + 1e-300;
}

static void record_pair(gc_run *g, bool *first, double l, double r, double rel)
{
    ad_gradcheck_report *rep = g->r;
    if (*first || rel > rep->consistency_rel_err || isnan(rel)) {
        rep->consistency_lhs = l;
        rep->consistency_rhs = r;
        rep->consistency_rel_err = rel;
        *first = false;
    }
}

int gc_consistency(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    ad_gradcheck_report *r = g->r;
    /* the built-in pair every other exact backend is put against */
    const ad_backend *fwd = ad_backend_with(AD_CAP_FORWARD), *rev = ad_backend_with(AD_CAP_REVERSE);
    ad_scope s = ad_scope_begin(ctx);
    gc_rng rng = gc_rng_new(g->o.seed, 1);
    ad_tensor *u[AD_MAX_INPUTS];
    int rc = random_inputs(g, &rng, u);
    ad_tensor *v = rc == AD_OK ? gc_random_like(ctx, &rng, g->y) : NULL;
    if (rc == AD_OK && !v) rc = ctx->err;
    if (rc != AD_OK) {
        ad_scope_end(ctx, s, NULL);
        return rc;
    }
    double l0, lm0, r0, rm0, rel;
    rc = jvp_dot(g, fwd, u, v, &l0, &lm0, NULL);
    if (rc == AD_OK) rc = vjp_dot(g, rev, u, v, &r0, &rm0, NULL);
    if (rc != AD_OK) { /* e.g. an op without a rule: the Jacobian check says so */
        gc_failure(g, "consistency could not run: %s", ad_errmsg(ctx));
        ad_clear_error(ctx);
        ad_scope_end(ctx, s, NULL);
        return rc == AD_ENOMEM ? rc : AD_OK;
    }
    r->consistency_done = true;
    r->consistency_passed = true;
    bool first = true;
    if (!identity_holds(l0, lm0, r0, rm0, &rel)) {
        r->consistency_passed = false;
        gc_failure(g, "<v, J u> by forward = %.17g but <J^T v, u> by reverse = %.17g (rel err %.2g)", l0, r0, rel);
        for (int bi = 0; bi < g->nb; bi++)
            if (g->bk[bi] == fwd || g->bk[bi] == rev) {
                g->r->backends[bi].passed = false;
                gc_note(&g->r->backends[bi], "; forward/reverse identity off by %.2g", rel);
            }
    }
    record_pair(g, &first, l0, r0, rel);
    for (int bi = 0; bi < g->nb; bi++) {
        const ad_backend *b = g->bk[bi];
        if (b == fwd || b == rev || !(b->caps & AD_CAP_EXACT)) continue;
        ad_gradcheck_backend *line = &r->backends[bi];
        for (int side = 0; side < 2; side++) {
            double l = l0, rr = r0, lm = lm0, rm = rm0;
            int rc2;
            if (side == 0 && b->jvp) rc2 = jvp_dot(g, b, u, v, &l, &lm, NULL); /* its JVP against reverse */
            else if (side == 1 && b->vjp) rc2 = vjp_dot(g, b, u, v, &rr, &rm, NULL); /* its VJP against forward */
            else continue;
            if (rc2 != AD_OK) { /* already failed in the comparison, with the reason */
                if (rc2 == AD_ENOMEM) {
                    ad_scope_end(ctx, s, NULL);
                    return rc2;
                }
                ad_clear_error(ctx);
                continue;
            }
            bool ok = identity_holds(l, lm, rr, rm, &rel);
            record_pair(g, &first, l, rr, rel);
            if (ok) continue;
            r->consistency_passed = false;
            line->passed = false;
            gc_note(line, "; <v,Ju> != <J^T v,u>: rel err %.2g", rel);
            gc_failure(g, "<v, J u> by %s = %.17g but <J^T v, u> by %s = %.17g (rel err %.2g)",
                       side == 0 ? b->name : fwd->name, l, side == 0 ? rev->name : b->name, rr, rel);
        }
    }
    ad_scope_end(ctx, s, NULL);
    return AD_OK;
}

/* ---- Taylor remainder ----------------------------------------------------------------------- */

#define TAYLOR_STEPS 40
#define TAYLOR_FIT 8

int gc_taylor(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    ad_gradcheck_report *r = g->r;
    /* at a kink the remainder is O(h) for every subgradient, and with NaN
     * in f(x) there is nothing to expand: not applicable */
    if (r->nkinks > 0 || !finite_y(g)) return AD_OK;
    const ad_backend *b = g->taylor_backend;
    ad_scope s = ad_scope_begin(ctx);
    gc_rng rng = gc_rng_new(g->o.seed, 2);
    ad_tensor *v[AD_MAX_INPUTS];
    int rc = random_inputs(g, &rng, v);
    ad_tensor *u = rc == AD_OK ? (g->m == 1 ? ad_ones(ctx, ad_shape_of(g->y)) : gc_random_like(ctx, &rng, g->y)) : NULL;
    if (rc == AD_OK && !u) rc = ctx->err;
    /* the slope along v: <u, J v> by the derivative being checked */
    double slope = 0, mag = 0;
    if (rc == AD_OK) rc = b->vjp ? vjp_dot(g, b, v, u, &slope, &mag, NULL) : jvp_dot(g, b, v, u, &slope, &mag, NULL);
    if (rc != AD_OK) {
        if (rc != AD_ENOMEM) {
            gc_failure(g, "the Taylor test could not run: %s", ad_errmsg(ctx));
            ad_clear_error(ctx);
            rc = AD_OK;
        }
        ad_scope_end(ctx, s, NULL);
        return rc;
    }
    r->taylor_done = true;
    if (!isfinite(slope)) {
        gc_nonfinite(g, "%s: the derivative along a random direction is %s", b->name, isnan(slope) ? "NaN" : "Inf");
        r->taylor_order = NAN;
        ad_scope_end(ctx, s, NULL);
        return AD_OK;
    }
    double g0 = 0, g0mag = 0;
    dot_acc(ctx, u, g->y, &g0, &g0mag);
    double vmax, xmax;
    if (direction_scale(g, v, &vmax, &xmax) != AD_OK) {
        ad_scope_end(ctx, s, NULL);
        return ctx->err;
    }
    double scale = vmax > 0 ? xmax / vmax : 1;
    /* below this r(h) is rounding: f's values carry about eps·Σ|u f| */
    double floor_r = 100 * DBL_EPSILON * g0mag;
    double hs[TAYLOR_STEPS], rs[TAYLOR_STEPS];
    bool valid[TAYLOR_STEPS];
    for (int k = 0; k < TAYLOR_STEPS; k++) {
        ad_scope sk = ad_scope_begin(ctx);
        hs[k] = ldexp(scale, -(k + 1));
        ad_tensor *fy = gc_eval_along(g, v, hs[k]);
        double gh = 0, ghm = 0;
        if (fy && fy->numel == g->m) {
            dot_acc(ctx, u, fy, &gh, &ghm);
        } else { /* f undefined out there: skip the point */
            gh = NAN;
            ad_clear_error(ctx);
        }
        rs[k] = fabs(gh - g0 - hs[k] * slope);
        ad_scope_end(ctx, sk, NULL);
    }
    /* The sweep goes down to h ~ 1e-12·scale, where r(h) is rounding noise
     * of f itself (often far above eps·|f| when f sums cancelling terms).
     * The noise level is read off the smallest steps, and only remainders
     * well above it count: then a correct gradient shows h², and an error
     * hiding behind a large curvature still shows its h¹ at small h. */
    double noise = floor_r;
    for (int k = TAYLOR_STEPS - 4; k < TAYLOR_STEPS; k++)
        if (isfinite(rs[k]) && rs[k] > noise) noise = rs[k];
    for (int k = 0; k < TAYLOR_STEPS; k++) valid[k] = isfinite(rs[k]) && rs[k] > floor_r && rs[k] > 100 * noise;
    /* the asymptotic range is at small h: fit the smallest steps whose
     * remainder is above the rounding floor */
    double lh[TAYLOR_FIT], lr[TAYLOR_FIT];
    int n = 0, first = TAYLOR_STEPS;
    for (int k = TAYLOR_STEPS - 1; k >= 0 && n < TAYLOR_FIT; k--)
        if (valid[k]) {
            first = k;
            n++;
        }
    r->taylor_npoints = 0;
    for (int k = first; k < TAYLOR_STEPS; k++) {
        if (!valid[k]) continue;
        r->taylor_h[r->taylor_npoints] = hs[k];
        r->taylor_r[r->taylor_npoints] = rs[k];
        lh[r->taylor_npoints] = log(hs[k]);
        lr[r->taylor_npoints] = log(rs[k]);
        r->taylor_npoints++;
    }
    if (n < 3) {
        /* r(h) at rounding level: f is linear along v and the slope is right */
        r->taylor_order = NAN;
        r->taylor_passed = true;
    } else {
        double c0, c1, cov00, cov01, cov11, sumsq;
        gsl_fit_linear(lh, 1, lr, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
        r->taylor_order = c1;
        r->taylor_passed = c1 >= 1.8;
    }
    ad_scope_end(ctx, s, NULL);
    return AD_OK;
}

/* ---- second order: H·v against differences of gradients --------------------------------------- */

typedef struct gc_scal {
    const ad_problem *p;
    ad_tensor *u;
} gc_scal;

/* <u, f(x)>: a scalar function whose Hessian is Σ u_k ∇²f_k */
static ad_tensor *scalarised(ad_ctx *ctx, ad_tensor *const *in, void *ud)
{
    const gc_scal *s = ud;
    ad_tensor *y = s->p->f(ctx, in, s->p->user);
    return ad_sum(ad_mul(y, s->u), AD_ALL, false);
}

static int grad_at(gc_run *g, const ad_problem *ps, ad_tensor *const *v, double t, ad_tensor **G)
{
    ad_tensor *xs[AD_MAX_INPUTS];
    for (int i = 0; i < ps->nin; i++) {
        xs[i] = g->x[i];
        if (v[i]) xs[i] = ad_add(g->x[i], ad_mul_s(v[i], t));
        if (!xs[i]) return g->ctx->err;
    }
    ad_problem q = *ps;
    q.in = xs;
    int rc = ad_value_and_grad(ad_backend_with(AD_CAP_REVERSE), &q, NULL, NULL, G, NULL, NULL);
    for (int i = 0; rc == AD_OK && i < ps->nin; i++) {
        if (!G[i]) continue;
        G[i] = ad_contiguous(G[i]);
        if (!G[i]) rc = g->ctx->err;
    }
    return rc;
}

int gc_second_order(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    ad_gradcheck_report *r = g->r;
    const ad_problem *p = g->p;
    if (r->nkinks > 0 || !finite_y(g)) return AD_OK; /* no Hessian at a kink */
    ad_scope s = ad_scope_begin(ctx);
    gc_rng rng = gc_rng_new(g->o.seed, 3);
    gc_scal sc = {.p = p, .u = NULL};
    ad_problem ps = *p;
    int rc = AD_OK;
    if (g->m != 1) { /* a vector f: <u, f> for a random u */
        sc.u = gc_random_like(ctx, &rng, g->y);
        if (!sc.u) rc = ctx->err;
        ps.f = scalarised;
        ps.user = &sc;
    }
    ad_tensor *v[AD_MAX_INPUTS], *HV[AD_MAX_INPUTS] = {0};
    if (rc == AD_OK) rc = random_inputs(g, &rng, v);
    if (rc == AD_OK) rc = ad_hvp(&ps, v, NULL, NULL, HV, NULL);
    double vmax = 0, xmax = 1;
    if (rc == AD_OK) rc = direction_scale(g, v, &vmax, &xmax);
    /* central differences of gradients: truncation ~h², rounding ~eps/h */
    double h = cbrt(DBL_EPSILON) * xmax / (vmax > 0 ? vmax : 1);
    ad_tensor *Gp[AD_MAX_INPUTS] = {0}, *Gm[AD_MAX_INPUTS] = {0}, *G2p[AD_MAX_INPUTS] = {0},
              *G2m[AD_MAX_INPUTS] = {0};
    if (rc == AD_OK) rc = grad_at(g, &ps, v, h, Gp);
    if (rc == AD_OK) rc = grad_at(g, &ps, v, -h, Gm);
    if (rc == AD_OK) rc = grad_at(g, &ps, v, 2 * h, G2p);
    if (rc == AD_OK) rc = grad_at(g, &ps, v, -2 * h, G2m);
    if (rc != AD_OK) {
        if (rc != AD_ENOMEM) {
            gc_failure(g, "the second-order check could not run: %s", ad_errmsg(ctx));
            ad_clear_error(ctx);
            rc = AD_OK;
        }
        ad_scope_end(ctx, s, NULL);
        return rc;
    }
    r->hvp_done = true;
    ad_gradcheck_backend line = {.name = "hvp", .passed = true};
    for (int i = 0; i < p->nin; i++) {
        if (!v[i] || !HV[i]) continue;
        ad_tensor *hv = ad_contiguous(HV[i]);
        if (!hv) {
            rc = ctx->err;
            break;
        }
        const ad_tensor *in = p->in[i];
        for (int64_t q = 0; q < in->numel; q++) {
            double gp = Gp[i]->data[q], gm = Gm[i]->data[q];
            double d1 = (gp - gm) / (2 * h), d2 = (G2p[i]->data[q] - G2m[i]->data[q]) / (4 * h);
            /* Richardson: D(2h) has 4 times D(h)'s truncation error */
            double est = fabs(d2 - d1) / 3 + 4 * DBL_EPSILON * (fabs(gp) + fabs(gm)) / (2 * h);
            int64_t idx[AD_MAX_DIMS];
            gc_unravel(q, in->ndim, in->shape, idx);
            gc_cmp c = {.backend = "hvp", .line = &line, .input = i, .ndim = in->ndim, .index = idx,
                        .a = hv->data[q], .n = d1, .e = est};
            gc_compare(g, &c, -1);
        }
    }
    r->hvp_max_abs_err = line.max_abs_err;
    r->hvp_max_rel_err = line.max_rel_err;
    r->hvp_passed = line.passed && !line.nonfinite;
    ad_scope_end(ctx, s, NULL);
    return rc;
}

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
    dot_acc(t->ctx, u, t, &val, &mag);
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

/* One direction: every backend's J·d (or <Jᵀu, d> for VJP-only backends)
 * against the reference's directional difference. */
static int fast_direction(gc_run *g, int k, ad_stats *cost)
{
    const ad_problem *p = g->p;
    ad_ctx *ctx = g->ctx;
    ad_gradcheck_report *r = g->r;
    gc_rng rng = gc_rng_new(g->o.seed, 16 + (uint64_t)k);
    ad_tensor *d[AD_MAX_INPUTS], *jr = NULL, *er = NULL;
    int rc = random_inputs(g, &rng, d);
    /* VJP-only backends are checked through <u, J d>; for a scalar f, u = 1
     * (the entry is then J·d itself, as for the JVP backends) */
    ad_tensor *u = NULL;
    if (rc == AD_OK) u = g->m == 1 ? ad_ones(ctx, ad_shape_of(g->y)) : gc_random_like(ctx, &rng, g->y);
    if (rc == AD_OK && !u) rc = ctx->err;
    ad_options dopt = {0};
    ad_stats st;
    if (rc == AD_OK) rc = ad_jvp(g->ref, p, d, &dopt, NULL, &jr, &er, &st);
    if (rc != AD_OK) return rc;
    add_stats(&r->reference_stats, &st);
    jr = ad_contiguous(jr);
    er = er ? ad_contiguous(er) : NULL;
    if (!jr) return ctx->err;
    double vmax, xmax;
    if ((rc = direction_scale(g, d, &vmax, &xmax)) != AD_OK) return rc;
    probe pr = {.h = sqrt(DBL_EPSILON) * xmax / (vmax > 0 ? vmax : 1)};
    int yd = g->y->ndim;
    for (int bi = 0; rc == AD_OK && bi < g->nb; bi++) {
        const ad_backend *b = g->bk[bi];
        ad_gradcheck_backend *line = &r->backends[bi];
        if (!line->passed && strncmp(line->note, "could not run", 13) == 0) continue;
        /* no scope per backend: the probe's evaluations serve every backend
         * of this direction (the caller's scope ends with the direction) */
        if (b->jvp) { /* J·d element by element */
            ad_tensor *jb = NULL;
            rc = ad_jvp(b, p, d, &dopt, NULL, &jb, NULL, &st);
            ad_tensor *jc = rc == AD_OK ? ad_contiguous(jb) : NULL;
            if (rc == AD_OK && !jc) rc = ctx->err;
            for (int64_t o = 0; rc == AD_OK && o < g->m; o++) {
                int64_t idx[AD_MAX_DIMS];
                gc_unravel(o, yd, g->y->shape, idx);
                gc_cmp c = {.backend = line->name, .line = line, .input = -k - 1, .ndim = yd, .index = idx,
                            .a = jc->data[o], .n = jr->data[o], .e = er ? er->data[o] : 0};
                double tol = g->o.atol + g->o.rtol * fabs(c.n) + c.e;
                int kink = -1;
                if (!(fabs(c.a - c.n) <= tol) && isfinite(c.a) && isfinite(c.n))
                    kink = fast_kink(g, &pr, d, NULL, o, k, yd, idx);
                if (kink < -1) rc = ctx->err;
                else gc_compare(g, &c, kink);
            }
        } else { /* <Jᵀu, d> by one VJP against <u, J d> */
            double a = 0, am = 0, n = 0, nm = 0, e = 0, em = 0;
            rc = vjp_dot(g, b, d, u, &a, &am, &st);
            if (rc == AD_OK) rc = dot_acc(ctx, u, jr, &n, &nm);
            if (rc == AD_OK && er) {
                ad_tensor *ua = ad_abs(u);
                rc = ua ? dot_acc(ctx, ua, er, &e, &em) : ctx->err;
            }
            gc_cmp c = {.backend = line->name, .line = line, .input = -k - 1, .ndim = 0, .index = NULL,
                        .a = a, .n = n, .e = e};
            double tol = g->o.atol + g->o.rtol * fabs(n) + e;
            int kink = -1;
            if (rc == AD_OK && !(fabs(a - n) <= tol) && isfinite(a) && isfinite(n))
                kink = fast_kink(g, &pr, d, u, 0, k, 0, NULL);
            if (kink < -1) rc = ctx->err;
            else if (rc == AD_OK) gc_compare(g, &c, kink);
        }
        if (rc != AD_OK && rc != AD_ENOMEM) {
            rc = AD_OK;
            line->passed = false;
            snprintf(line->note, sizeof line->note, "could not run: %s", ad_errmsg(ctx));
            gc_failure(g, "%s could not run: %s", line->name, ad_errmsg(ctx));
            ad_clear_error(ctx);
        } else if (rc == AD_OK) {
            add_stats(&cost[bi], &st);
        }
    }
    return rc;
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
    for (int bi = 0; rc == AD_OK && bi < g->nb; bi++) {
        ad_gradcheck_backend *line = &g->r->backends[bi];
        if (strncmp(line->note, "could not run", 13) == 0) continue;
        bool user = gc_is_user(g, g->bk[bi], NULL);
        /* entries: f's output elements along direction k (J.d), or the
         * single number <u, J d> per direction (VJP-only backends) */
        const char *how = g->bk[bi]->jvp ? "J.d per output element"
                          : g->m == 1 ? "grad.d by a VJP" : "<J^T u, d> vs <u, J d>";
        int nd = g->o.directions;
        const char *dirs = nd == 1 ? "" : "s";
        long long np = (long long)cost[bi].passes, ns = (long long)cost[bi].sweeps;
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
    return rc;
}
