/* modes/gradcheck_taylor.c — the Taylor test: r(h) = |<u,f(x+hv)> -
 * <u,f(x)> - h<u, J v>| shrinks like h² when J·v is right and like h when
 * it is not; the order is the least-squares slope of log r against log h
 * (GSL's gsl_fit_linear). */
#include <float.h>
#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck_impl.h"

/* ---- Taylor remainder ----------------------------------------------------------------------- */

#define TAYLOR_STEPS 40
#define TAYLOR_FIT 8

int gc_taylor(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    ad_gradcheck_report *r = g->r;
    /* at a kink the remainder is O(h) for every subgradient, and with NaN
     * in f(x) there is nothing to expand: not applicable */
    if (r->nkinks > 0 || !gc_finite_y(g)) return AD_OK;
    const ad_backend *b = g->taylor_backend;
    ad_scope s = ad_scope_begin(ctx);
    gc_rng rng = gc_rng_new(g->o.seed, 2);
    ad_tensor *v[AD_MAX_INPUTS];
    int rc = gc_random_inputs(g, &rng, v);
    ad_tensor *u = rc == AD_OK ? (g->m == 1 ? ad_ones(ctx, ad_shape_of(g->y)) : gc_random_like(ctx, &rng, g->y)) : NULL;
    if (rc == AD_OK && !u) rc = ctx->err;
    /* the slope along v: <u, J v> by the derivative being checked */
    double slope = 0, mag = 0;
    if (rc == AD_OK) rc = b->vjp ? gc_vjp_dot(g, b, v, u, &slope, &mag, NULL) : gc_jvp_dot(g, b, v, u, &slope, &mag, NULL);
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
    gc_dot_acc(ctx, u, g->y, &g0, &g0mag);
    double vmax, xmax;
    if (gc_direction_scale(g, v, &vmax, &xmax) != AD_OK) {
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
            gc_dot_acc(ctx, u, fy, &gh, &ghm);
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
