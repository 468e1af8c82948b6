/* modes/gradcheck_noise.c — how noisy is f?  The level ε_o of rounding
 * noise in each output element of f near x, measured rather than assumed.
 *
 * Assuming eps·|f| fails whenever f is small compared with its terms
 * (sum(sin(x)) over a symmetric grid is 0 up to rounding of terms of size
 * 1; (1 - cos x)/x² at 1e-3 carries 1e-10 of noise on a value of 0.5).
 * Moré & Wild ("Estimating computational noise", SIAM J. Sci. Comput. 33,
 * 2011; their ECnoise) read the noise off a difference table of f along a
 * direction: at a small enough step the j-th differences of a smooth f
 * vanish like t^j while those of noise keep the size
 *     σ_j = sqrt(γ_j · mean((Δ^j f)²)),   γ_j = (j!)²/(2j)!,
 * so the level is σ_j where three consecutive orders agree within a factor
 * 4 and the differences change sign (noise, not a trend).  The table is
 * built at steps t = 1e-6 .. 1e-18 (relative to the scales); the level is
 * the first one that the next step confirms (pick_level: a step too large
 * never settles; a kink in the stencil settles at a level that shrinks
 * with t); where no order ever settles the smallest σ_j is used: it bounds
 * the noise from above.
 *
 * The direction moves every coordinate by its own scale (gc_scale: |x_j|
 * with a typical-scale floor), so a coordinate near a domain edge is not
 * pushed across it; a stencil that meets NaN/Inf is retried smaller.  The
 * level never goes below half an ulp of f's values on the stencil. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "gradcheck_impl.h"

#define NOISE_PTS 9   /* f at x + (k - 4)·t·d, k = 0..8: differences of order 1..8 */
#define NOISE_TRIES 7 /* t = 1e-6, 1e-8, ..., 1e-18 */

double gc_scale(const gc_run *g, int i, int64_t j)
{
    double xj = fabs(g->xd[i][j]);
    return xj > g->typ[i] ? xj : g->typ[i];
}

/* The floor of input i's coordinate scales: 1e-3 of its root mean square
 * (1 when it is all zeros).  Coordinates far below the input's typical
 * size (0, 1e-12 beside values of 1) take the floor as their scale: a
 * step relative to |x_j| alone would make their differences all noise. */
static void typical_scales(gc_run *g)
{
    for (int i = 0; i < g->p->nin; i++) {
        g->typ[i] = 1;
        if (!ad_wrt(g->p, i)) continue;
        int64_t n = g->p->in[i]->numel;
        double s = 0, big = 0;
        for (int64_t j = 0; j < n; j++) big = fmax(big, fabs(g->xd[i][j]));
        if (!(big > 0) || !isfinite(big)) continue;
        for (int64_t j = 0; j < n; j++) s += (g->xd[i][j] / big) * (g->xd[i][j] / big);
        g->typ[i] = 1e-3 * big * sqrt(s / (double)(n > 0 ? n : 1));
    }
}

/* Moré & Wild's rule on one output's values fv[0..NOISE_PTS): 1 and the
 * level when an order settles; 2 when every difference is zero (f is
 * constant or exactly linear there at this step); 3 when no order settles
 * (*level is then the smallest σ_j). */
static int ecnoise(double *fv, double *level)
{
    double lev[NOISE_PTS], gamma = 1;
    bool sign_change[NOISE_PTS];
    int nf = NOISE_PTS;
    *level = INFINITY;
    for (int j = 1; j < nf; j++) {
        double s2 = 0, lo = INFINITY, hi = -INFINITY;
        for (int q = 0; q < nf - j; q++) {
            fv[q] = fv[q + 1] - fv[q];
            s2 += fv[q] * fv[q];
            lo = fmin(lo, fv[q]);
            hi = fmax(hi, fv[q]);
        }
        if (j == 1 && lo == 0 && hi == 0) return 2;
        gamma *= 0.5 * ((double)j / (2.0 * j - 1));
        lev[j] = sqrt(gamma * s2 / (double)(nf - j));
        sign_change[j] = lo * hi < 0;
        *level = fmin(*level, lev[j]);
    }
    for (int k = 1; k + 2 < nf; k++) {
        double lo = fmin(lev[k], fmin(lev[k + 1], lev[k + 2]));
        double hi = fmax(lev[k], fmax(lev[k + 1], lev[k + 2]));
        if (hi <= 4 * lo && sign_change[k]) {
            *level = lev[k];
            return 1;
        }
    }
    return 3;
}

/* f on the stencil x + (k - 4)·t·d into F[k·m + o]; false when f is not
 * finite (or changes shape) somewhere on it. */
static int stencil(gc_run *g, ad_tensor *const *d, double t, double *F, bool *finite)
{
    *finite = true;
    for (int k = 0; k < NOISE_PTS; k++) {
        const double *y = g->y->data;
        if (k != NOISE_PTS / 2) {
            ad_scope s = ad_scope_begin(g->ctx);
            ad_tensor *fy = gc_eval_along(g, d, (k - NOISE_PTS / 2) * t);
            if (!fy) {
                int rc = g->ctx->err;
                ad_scope_end(g->ctx, s, NULL);
                return rc;
            }
            for (int64_t o = 0; o < g->m; o++) {
                double v = fy->numel == g->m ? fy->data[o] : NAN;
                F[k * g->m + o] = v;
                if (!isfinite(v)) *finite = false;
            }
            ad_scope_end(g->ctx, s, NULL);
            continue;
        }
        for (int64_t o = 0; o < g->m; o++) F[k * g->m + o] = y[o];
    }
    return AD_OK;
}

/* The random direction: d_j = scale_j · r_j, r_j uniform in [-1, 1). */
static int noise_direction(gc_run *g, ad_tensor **d)
{
    gc_rng rng = gc_rng_new(g->o.seed, 3);
    int rc = gc_random_inputs(g, &rng, d);
    for (int i = 0; rc == AD_OK && i < g->p->nin; i++) {
        if (!d[i]) continue;
        ad_tensor *c = ad_contiguous(d[i]);
        if (!c) return g->ctx->err;
        for (int64_t j = 0; j < c->numel; j++) c->data[j] *= gc_scale(g, i, j);
        d[i] = c;
    }
    return rc;
}

/* The levels at try k into L[k·m + o] (INFINITY where no order settles),
 * and the smallest unsettled one into upper[o]. */
static void levels(gc_run *g, int k, const double *F, double *fv, double *L, double *upper)
{
    for (int64_t o = 0; o < g->m; o++) {
        double lev, big = 0;
        for (int q = 0; q < NOISE_PTS; q++) {
            fv[q] = F[q * g->m + o];
            big = fmax(big, fabs(fv[q]));
        }
        int inform = ecnoise(fv, &lev);
        /* a "noise" of more than 10% of f's size is f sampled at a step far
         * beyond its scale of variation (sin at 1e8 from steps of 100):
         * the step is too large, as ECnoise's own range test says */
        if (inform == 1 && lev > 0.1 * big) inform = 3;
        L[k * g->m + o] = inform == 1 ? lev : INFINITY;
        if (inform == 3) upper[o] = fmin(upper[o], lev);
    }
}

/* Output o's level: real noise keeps its level when the step shrinks
 * 100×, so the first pair of tries that agree within 4× gives it.  A kink
 * inside the stencil (relu at 0) also settles, at a level proportional to
 * the step, and never agrees with the next try: then the smallest level
 * seen (the floor takes over).  The largest agreeing steps are preferred:
 * at tiny steps the samples round alike and understate the noise. */
static double pick_level(const gc_run *g, const double *L, int tries, int64_t o, double upper)
{
    double lo = INFINITY;
    for (int k = 0; k < tries; k++) {
        double a = L[k * g->m + o], b = k + 1 < tries ? L[(k + 1) * g->m + o] : INFINITY;
        lo = fmin(lo, a);
        if (isfinite(a) && isfinite(b) && fmax(a, b) <= 4 * fmin(a, b)) return fmax(a, b);
    }
    return isfinite(lo) ? lo : isfinite(upper) ? upper : 0;
}

/* The floor: half an ulp of the largest |f_o| on the stencil. */
static void noise_floor(gc_run *g)
{
    for (int64_t o = 0; o < g->m; o++) {
        double f = fabs(g->y->data[o]);
        g->noise[o] = fmax(g->noise[o], 0.5 * DBL_EPSILON * f);
    }
}

int gc_noise(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    int64_t m = g->m;
    g->noise = calloc((size_t)m, sizeof *g->noise);
    double *F = malloc((size_t)(NOISE_PTS * m) * sizeof *F), *upper = malloc((size_t)m * sizeof *upper);
    double *L = malloc((size_t)(NOISE_TRIES * m) * sizeof *L);
    int rc = (!g->noise || !F || !upper || !L) ? ad_error(ctx, AD_ENOMEM, "gradcheck: out of memory") : AD_OK;
    typical_scales(g);
    for (int64_t q = 0; rc == AD_OK && q < NOISE_TRIES * m; q++) L[q] = INFINITY;
    for (int64_t o = 0; rc == AD_OK && o < m; o++) upper[o] = INFINITY;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *d[AD_MAX_INPUTS];
    if (rc == AD_OK) rc = noise_direction(g, d);
    double t = 1e-6, fv[NOISE_PTS];
    for (int k = 0; rc == AD_OK && k < NOISE_TRIES; k++, t *= 1e-2) {
        bool finite;
        rc = stencil(g, d, t, F, &finite);
        if (rc == AD_OK && finite) levels(g, k, F, fv, L, upper);
    }
    ad_scope_end(ctx, s, NULL);
    for (int64_t o = 0; rc == AD_OK && o < m; o++) g->noise[o] = pick_level(g, L, NOISE_TRIES, o, upper[o]);
    if (rc == AD_OK) noise_floor(g);
    free(F);
    free(upper);
    free(L);
    return rc;
}

double gc_noise_dot(const gc_run *g, const ad_tensor *u)
{
    double s = 0;
    for (int64_t o = 0; o < g->m; o++) s += fabs(u ? u->data[o] : 1.0) * g->noise[o];
    return s;
}
