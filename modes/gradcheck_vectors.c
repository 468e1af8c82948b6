/* modes/gradcheck_vectors.c — the vectors the gradient checker's extra
 * checks are made of: random numbers of our own (splitmix64, seeded by
 * options.seed, one stream per check, so the context's generator is left
 * alone and turning one check off does not change the vectors of another),
 * random inputs and cotangents, the scale of a direction, and the dot
 * products <v, J u> and <Jᵀ v, u> by one backend. */
#include <float.h>
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
int gc_dot_acc(ad_ctx *ctx, ad_tensor *a, ad_tensor *b, double *val, double *mag)
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
int gc_random_inputs(gc_run *g, gc_rng *rng, ad_tensor **v)
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
int gc_direction_scale(gc_run *g, ad_tensor *const *v, double *vmax, double *xmax)
{
    ad_fd_scale sc;
    int rc = ad_fd_scale_of(g->p, v, &sc);
    *vmax = sc.vmax;
    *xmax = sc.xscale;
    return rc;
}

/* ---- <v, J u> and <Jᵀ v, u> by one backend ---------------------------------------------- */

int gc_jvp_dot(gc_run *g, const ad_backend *b, ad_tensor *const *u, ad_tensor *v, double *val, double *mag,
                   ad_stats *st)
{
    ad_tensor *jv = NULL;
    ad_options dopt = {0};
    *val = *mag = 0;
    int rc = ad_jvp(b, g->p, u, &dopt, NULL, &jv, NULL, st);
    return rc == AD_OK ? gc_dot_acc(g->ctx, v, jv, val, mag) : rc;
}

int gc_vjp_dot(gc_run *g, const ad_backend *b, ad_tensor *const *u, ad_tensor *v, double *val, double *mag,
                   ad_stats *st)
{
    ad_tensor *G[AD_MAX_INPUTS] = {0};
    ad_options dopt = {0};
    *val = *mag = 0;
    int rc = ad_vjp(b, g->p, v, &dopt, NULL, G, NULL, st);
    for (int i = 0; rc == AD_OK && i < g->p->nin; i++)
        if (G[i] && u[i]) rc = gc_dot_acc(g->ctx, G[i], u[i], val, mag);
    return rc;
}
