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

int gc_consistency(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    ad_gradcheck_report *r = g->r;
    /* the built-in pair every other exact backend is put against */
    const ad_backend *fwd = ad_backend_with(AD_CAP_FORWARD), *rev = ad_backend_with(AD_CAP_REVERSE);
    ad_scope s = ad_scope_begin(ctx);
    gc_rng rng = gc_rng_new(g->o.seed, 1);
    ad_tensor *u[AD_MAX_INPUTS];
    int rc = gc_random_inputs(g, &rng, u);
    ad_tensor *v = rc == AD_OK ? gc_random_like(ctx, &rng, g->y) : NULL;
    if (rc == AD_OK && !v) rc = ctx->err;
    if (rc != AD_OK) {
        ad_scope_end(ctx, s, NULL);
        return rc;
    }
    double l0, lm0, r0, rm0, rel;
    rc = gc_jvp_dot(g, fwd, u, v, &l0, &lm0, NULL);
    if (rc == AD_OK) rc = gc_vjp_dot(g, rev, u, v, &r0, &rm0, NULL);
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
            if (side == 0 && b->jvp) rc2 = gc_jvp_dot(g, b, u, v, &l, &lm, NULL); /* its JVP against reverse */
            else if (side == 1 && b->vjp) rc2 = gc_vjp_dot(g, b, u, v, &rr, &rm, NULL); /* its VJP against forward */
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
