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

/* Both sides are exact up to rounding and to f's own noise carried into
 * the derivative (gc_identity_tol: no fixed constant; (1 - cos x)/x² at
 * 1e-3 breaks the identity at 1e-9 through its own cancellation, a slip of
 * 1e-7 in one element of a gradient of sin stands 1e7 above its tolerance).
 * extra: the reference's bound when one side is the reference. */
static bool identity_holds(gc_run *g, ad_tensor *const *u, ad_tensor *v, double l, double lm, double r, double rm,
                           double extra, double *rel)
{
    double diff = fabs(l - r), scale = lm + rm;
    if (!isfinite(diff) || !isfinite(scale)) {
        *rel = INFINITY;
        return false;
    }
    *rel = scale > 0 ? diff / scale : 0;
    double tol = gc_identity_tol(g, u, v, lm, rm) + extra;
    if (tol > g->r->consistency_tol) g->r->consistency_tol = tol;
    return diff <= tol;
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
    bool ok = identity_holds(g, pp->u, pp->v, pp->l0, pp->lm0, pp->r0, pp->rm0, 0, &rel);
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

/* Backend bi failed the identity against `trusted`: it fails, and when
 * its element-wise comparison found nothing the entry is located. */
static int identity_failed(gc_run *g, int bi, const ad_backend *trusted, gc_pair *pp, double l, double rr,
                           double rel)
{
    ad_gradcheck_backend *line = &g->r->backends[bi];
    bool explained = line->mismatches > 0;
    g->r->consistency_passed = false;
    line->passed = false;
    gc_note(line, "; <v,Ju> != <J^T v,u>: rel err %.2g", rel);
    gc_failure(g, "<v, J u> = %.17g but <J^T v, u> = %.17g (rel err %.2g), %s against %s", l, rr, rel, line->name,
               trusted ? trusted->name : "the reference along u");
    return explained ? AD_OK : gc_locate(g, bi, trusted, pp->u, pp->v);
}

/* Backend bi's JVP against the built-in reverse (side 0), its VJP against
 * the built-in forward (side 1); for a black box, its derivative against
 * the reference along u (side 2).  A side that cannot run already failed
 * in the comparison, with the reason; only out of memory stops. */
static int against_pair(gc_run *g, gc_pair *pp, int bi, int side)
{
    const ad_backend *b = g->bk[bi];
    double l = pp->l0, rr = pp->r0, lm = pp->lm0, rm = pp->rm0, extra = 0, rel;
    int rc;
    if (side == 0 && b->jvp) rc = gc_jvp_dot(g, b, pp->u, pp->v, &l, &lm, NULL);
    else if (side == 1 && b->vjp) rc = gc_vjp_dot(g, b, pp->u, pp->v, &rr, &rm, NULL);
    else if (side == 2) rc = b->vjp ? gc_vjp_dot(g, b, pp->u, pp->v, &rr, &rm, NULL) : gc_jvp_dot(g, b, pp->u, pp->v, &rr, &rm, NULL);
    else return AD_OK;
    if (rc == AD_OK && side == 2) rc = gc_ref_dot(g, pp->u, pp->v, &l, &lm, &extra);
    if (rc != AD_OK) {
        if (rc != AD_ENOMEM) ad_clear_error(g->ctx);
        return rc == AD_ENOMEM ? rc : AD_OK;
    }
    bool ok = identity_holds(g, pp->u, pp->v, l, lm, rr, rm, extra, &rel);
    record_pair(g, &pp->first, l, rr, rel);
    if (ok) return AD_OK;
    const ad_backend *trusted = side == 0 ? pp->rev : side == 1 ? pp->fwd : NULL;
    return identity_failed(g, bi, trusted, pp, l, rr, rel);
}

/* A black box: the user's derivatives against the reference along u. */
static int opaque_consistency(gc_run *g, gc_pair *pp)
{
    int rc = AD_OK;
    if (g->nuser == 0) {
        snprintf(g->r->consistency_note, sizeof g->r->consistency_note,
                 "skipped: f is a black box and no hand-written derivative is given");
        return AD_OK;
    }
    snprintf(g->r->consistency_note, sizeof g->r->consistency_note,
             "the hand-written derivative against the reference along u (f is a black box)");
    g->r->consistency_done = true;
    g->r->consistency_passed = true;
    for (int bi = 0; rc == AD_OK && bi < g->nb; bi++)
        if (gc_is_user(g, g->bk[bi], NULL) && !gc_did_not_run(g, bi)) rc = against_pair(g, pp, bi, 2);
    return rc;
}

static int ad_consistency(gc_run *g, gc_pair *pp)
{
    ad_ctx *ctx = g->ctx;
    int rc = pair_sides(g, pp);
    if (rc != AD_OK) { /* e.g. an op without a rule: the Jacobian check says so */
        gc_failure(g, "consistency could not run: %s", ad_errmsg(ctx));
        if (rc != AD_ENOMEM) ad_clear_error(ctx); /* out of memory is the caller's error: keep its message */
        return rc == AD_ENOMEM ? rc : AD_OK;
    }
    g->r->consistency_done = true;
    g->r->consistency_passed = true;
    pair_itself(g, pp);
    for (int bi = 0; rc == AD_OK && bi < g->nb; bi++) {
        const ad_backend *b = g->bk[bi];
        if (b == pp->fwd || b == pp->rev || !(b->caps & AD_CAP_EXACT)) continue;
        for (int side = 0; rc == AD_OK && side < 2; side++) rc = against_pair(g, pp, bi, side);
    }
    return rc;
}

int gc_consistency(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    /* the built-in pair every other exact backend is put against */
    gc_pair pp = {.fwd = ad_backend_with(AD_CAP_FORWARD), .rev = ad_backend_with(AD_CAP_REVERSE), .first = true};
    ad_scope s = ad_scope_begin(ctx);
    int rc = pair_vectors(g, &pp);
    if (rc == AD_OK) rc = g->opaque ? opaque_consistency(g, &pp) : ad_consistency(g, &pp);
    ad_scope_end(ctx, s, NULL);
    gc_progress(g, "identity", 1);
    return rc;
}
