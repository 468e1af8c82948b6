/* modes/gradcheck_consistency.c — <v, J u> from a forward JVP equals
 * <Jᵀ v, u> from a reverse VJP, to rounding, for random u and v.  Every
 * exact backend (and the user's derivatives) is put against the built-in
 * one of the other kind (chosen by capability), so a wrong VJP shows up
 * against forward mode and a wrong JVP against reverse. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck_impl.h"

/* ---- consistency: <v, J u> = <Jᵀ v, u> --------------------------------------------------- */

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

/* The identity's two sides by the built-in pair, on random u (like the
 * inputs) and v (like f(x)); every other backend is put against them. */
typedef struct gc_pair {
    const ad_backend *fwd, *rev;
    ad_tensor *u[AD_MAX_INPUTS], *v;
    double l0, lm0, r0, rm0; /* <v, J u> by fwd and <Jᵀ v, u> by rev, with their magnitudes */
    bool first;              /* no pair recorded in the report yet */
} gc_pair;

static int pair_vectors(gc_run *g, gc_pair *pp)
{
    gc_rng rng = gc_rng_new(g->o.seed, 1);
    int rc = gc_random_inputs(g, &rng, pp->u);
    pp->v = rc == AD_OK ? gc_random_like(g->ctx, &rng, g->y) : NULL;
    if (rc == AD_OK && !pp->v) rc = g->ctx->err;
    return rc;
}

static int pair_sides(gc_run *g, gc_pair *pp)
{
    int rc = gc_jvp_dot(g, pp->fwd, pp->u, pp->v, &pp->l0, &pp->lm0, NULL);
    if (rc == AD_OK) rc = gc_vjp_dot(g, pp->rev, pp->u, pp->v, &pp->r0, &pp->rm0, NULL);
    return rc;
}

/* The built-in pair against each other: off, both fail. */
static void pair_itself(gc_run *g, gc_pair *pp)
{
    double rel;
    bool ok = identity_holds(pp->l0, pp->lm0, pp->r0, pp->rm0, &rel);
    if (!ok) {
        g->r->consistency_passed = false;
        gc_failure(g, "<v, J u> by forward = %.17g but <J^T v, u> by reverse = %.17g (rel err %.2g)", pp->l0, pp->r0,
                   rel);
        for (int bi = 0; bi < g->nb; bi++)
            if (g->bk[bi] == pp->fwd || g->bk[bi] == pp->rev) {
                g->r->backends[bi].passed = false;
                gc_note(&g->r->backends[bi], "; forward/reverse identity off by %.2g", rel);
            }
    }
    record_pair(g, &pp->first, pp->l0, pp->r0, rel);
}

/* Backend bi's JVP against the built-in reverse (side 0), its VJP against
 * the built-in forward (side 1).  A side that cannot run already failed in
 * the comparison, with the reason; only out of memory stops. */
static int against_pair(gc_run *g, gc_pair *pp, int bi, int side)
{
    const ad_backend *b = g->bk[bi];
    double l = pp->l0, rr = pp->r0, lm = pp->lm0, rm = pp->rm0, rel;
    int rc;
    if (side == 0 && b->jvp) rc = gc_jvp_dot(g, b, pp->u, pp->v, &l, &lm, NULL);
    else if (side == 1 && b->vjp) rc = gc_vjp_dot(g, b, pp->u, pp->v, &rr, &rm, NULL);
    else return AD_OK;
    if (rc != AD_OK) {
        if (rc != AD_ENOMEM) ad_clear_error(g->ctx);
        return rc == AD_ENOMEM ? rc : AD_OK;
    }
    bool ok = identity_holds(l, lm, rr, rm, &rel);
    record_pair(g, &pp->first, l, rr, rel);
    if (ok) return AD_OK;
    ad_gradcheck_backend *line = &g->r->backends[bi];
    g->r->consistency_passed = false;
    line->passed = false;
    gc_note(line, "; <v,Ju> != <J^T v,u>: rel err %.2g", rel);
    gc_failure(g, "<v, J u> by %s = %.17g but <J^T v, u> by %s = %.17g (rel err %.2g)",
               side == 0 ? b->name : pp->fwd->name, l, side == 0 ? pp->rev->name : b->name, rr, rel);
    return AD_OK;
}

int gc_consistency(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    /* the built-in pair every other exact backend is put against */
    gc_pair pp = {.fwd = ad_backend_with(AD_CAP_FORWARD), .rev = ad_backend_with(AD_CAP_REVERSE), .first = true};
    ad_scope s = ad_scope_begin(ctx);
    int rc = pair_vectors(g, &pp);
    if (rc == AD_OK && (rc = pair_sides(g, &pp)) != AD_OK) { /* e.g. an op without a rule: the Jacobian check says so */
        gc_failure(g, "consistency could not run: %s", ad_errmsg(ctx));
        if (rc != AD_ENOMEM) ad_clear_error(ctx); /* out of memory is the caller's error: keep its message */
        ad_scope_end(ctx, s, NULL);
        return rc == AD_ENOMEM ? rc : AD_OK;
    }
    if (rc == AD_OK) {
        g->r->consistency_done = true;
        g->r->consistency_passed = true;
        pair_itself(g, &pp);
    }
    for (int bi = 0; rc == AD_OK && bi < g->nb; bi++) {
        const ad_backend *b = g->bk[bi];
        if (b == pp.fwd || b == pp.rev || !(b->caps & AD_CAP_EXACT)) continue;
        for (int side = 0; rc == AD_OK && side < 2; side++) rc = against_pair(g, &pp, bi, side);
    }
    ad_scope_end(ctx, s, NULL);
    return rc;
}
