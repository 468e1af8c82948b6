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

/* The vectors of the test: a direction v like the inputs and a cotangent
 * u like f(x) (1 for a scalar f, random otherwise). */
static int taylor_vectors(gc_run *g, ad_tensor **v, ad_tensor **u)
{
    gc_rng rng = gc_rng_new(g->o.seed, 2);
    int rc = gc_random_inputs(g, &rng, v);
    if (rc != AD_OK) return rc;
    *u = g->m == 1 ? ad_ones(g->ctx, ad_shape_of(g->y)) : gc_random_like(g->ctx, &rng, g->y);
    return *u ? AD_OK : g->ctx->err;
}

/* r(h_k) = |<u, f(x + h_k v)> - <u, f(x)> - h_k·slope| for h_k = scale·2^-(k+1);
 * NaN where f is undefined or changes shape out there (the point is skipped).
 * Running out of memory is not "undefined": AD_ENOMEM, never a point
 * dropped from the fit. */
static int taylor_remainders(gc_run *g, ad_tensor *const *v, ad_tensor *u, double scale, double g0, double slope,
                              double *hs, double *rs)
{
    ad_ctx *ctx = g->ctx;
    for (int k = 0; k < TAYLOR_STEPS; k++) {
        ad_scope sk = ad_scope_begin(ctx);
        hs[k] = ldexp(scale, -(k + 1));
        ad_tensor *fy = gc_eval_along(g, v, hs[k]);
        double gh = 0, ghm = 0;
        int rc = fy && fy->numel == g->m ? gc_dot_acc(ctx, u, fy, &gh, &ghm) : AD_OK;
        if (rc == AD_OK && !fy && ad_errno(ctx) == AD_ENOMEM) rc = AD_ENOMEM;
        if (rc != AD_OK) {
            ad_scope_end(ctx, sk, NULL);
            return rc;
        }
        if (!fy || fy->numel != g->m) {
            gh = NAN;
            ad_clear_error(ctx);
        }
        rs[k] = fabs(gh - g0 - hs[k] * slope);
        ad_scope_end(ctx, sk, NULL);
    }
    return AD_OK;
}

/* The sweep goes down to h ~ 1e-12·scale, where r(h) is rounding noise
 * of f itself (often far above eps·|f| when f sums cancelling terms).
 * The noise level is read off the smallest steps, and only remainders
 * well above it count: then a correct gradient shows h², and an error
 * hiding behind a large curvature still shows its h¹ at small h.  The
 * asymptotic range is at small h: the order is fitted on the smallest
 * TAYLOR_FIT steps whose remainder counts. */
static void taylor_fit(ad_gradcheck_report *r, const double *hs, const double *rs, double floor_r)
{
    bool valid[TAYLOR_STEPS];
    double noise = floor_r;
    for (int k = TAYLOR_STEPS - 4; k < TAYLOR_STEPS; k++)
        if (isfinite(rs[k]) && rs[k] > noise) noise = rs[k];
    for (int k = 0; k < TAYLOR_STEPS; k++) valid[k] = isfinite(rs[k]) && rs[k] > floor_r && rs[k] > 100 * noise;
    int n = 0, first = TAYLOR_STEPS;
    for (int k = TAYLOR_STEPS - 1; k >= 0 && n < TAYLOR_FIT; k--)
        if (valid[k]) {
            first = k;
            n++;
        }
    double lh[TAYLOR_FIT], lr[TAYLOR_FIT];
    r->taylor_npoints = 0;
    for (int k = first; k < TAYLOR_STEPS; k++) {
        if (!valid[k]) continue;
        r->taylor_h[r->taylor_npoints] = hs[k];
        r->taylor_r[r->taylor_npoints] = rs[k];
        lh[r->taylor_npoints] = log(hs[k]);
        lr[r->taylor_npoints] = log(rs[k]);
        r->taylor_npoints++;
    }
    if (n < 3) { /* r(h) at rounding level: f is linear along v and the slope is right */
        r->taylor_order = NAN;
        r->taylor_passed = true;
        return;
    }
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(lh, 1, lr, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    r->taylor_order = c1;
    r->taylor_passed = c1 >= 1.8;
}

/* The test proper, once the slope <u, J v> is known. */
static int taylor_sweep(gc_run *g, ad_tensor *const *v, ad_tensor *u, double slope)
{
    ad_gradcheck_report *r = g->r;
    r->taylor_done = true;
    if (!isfinite(slope)) {
        gc_nonfinite(g, "%s: the derivative along a random direction is %s", g->taylor_backend->name,
                     isnan(slope) ? "NaN" : "Inf");
        r->taylor_order = NAN;
        return AD_OK;
    }
    double g0 = 0, g0mag = 0, vmax, xmax;
    if (gc_dot_acc(g->ctx, u, g->y, &g0, &g0mag) != AD_OK) return g->ctx->err;
    if (gc_direction_scale(g, v, &vmax, &xmax) != AD_OK) return g->ctx->err;
    double hs[TAYLOR_STEPS], rs[TAYLOR_STEPS];
    int rc = taylor_remainders(g, v, u, vmax > 0 ? xmax / vmax : 1, g0, slope, hs, rs);
    if (rc != AD_OK) return rc;
    /* below this r(h) is noise: the measured noise of <u, f> (twice: f at
     * x + hv and at x), and rounding of the sums */
    taylor_fit(r, hs, rs, 10 * gc_noise_dot(g, u) + 4 * DBL_EPSILON * g0mag);
    return AD_OK;
}

int gc_taylor(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    /* at a kink the remainder is O(h) for every subgradient: not applicable */
    if (g->r->nkinks > 0) return AD_OK;
    const ad_backend *b = g->taylor_backend;
    if (g->opaque && g->nuser == 0) {
        snprintf(g->r->taylor_note, sizeof g->r->taylor_note,
                 "skipped: f is a black box and no hand-written derivative is given");
        return AD_OK;
    }
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *v[AD_MAX_INPUTS], *u = NULL;
    int rc = taylor_vectors(g, v, &u);
    /* the slope along v: <u, J v> by the derivative being checked */
    double slope = 0, mag = 0;
    if (rc == AD_OK) rc = b->vjp ? gc_vjp_dot(g, b, v, u, &slope, &mag, NULL) : gc_jvp_dot(g, b, v, u, &slope, &mag, NULL);
    if (rc == AD_OK) {
        rc = taylor_sweep(g, v, u, slope);
    } else if (rc != AD_ENOMEM) {
        gc_failure(g, "the Taylor test could not run: %s", ad_errmsg(ctx));
        ad_clear_error(ctx);
        rc = AD_OK;
    }
    ad_scope_end(ctx, s, NULL);
    gc_progress(g, "Taylor test", 1);
    return rc;
}
