/* modes/gradcheck_second.c — second order (gradgradcheck): H·v by forward
 * over reverse (ad_hvp) against central differences of reverse gradients,
 * with a step-doubling error estimate. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck_impl.h"

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

/* Gradients of ps at x ± h·v and x ± 2h·v, for central differences with a
 * step-doubling error estimate. */
typedef struct grads_around {
    ad_tensor *p1[AD_MAX_INPUTS], *m1[AD_MAX_INPUTS], *p2[AD_MAX_INPUTS], *m2[AD_MAX_INPUTS];
} grads_around;

static int grads_at_steps(gc_run *g, const ad_problem *ps, ad_tensor *const *v, double h, grads_around *G)
{
    memset(G, 0, sizeof *G);
    int rc = grad_at(g, ps, v, h, G->p1);
    if (rc == AD_OK) rc = grad_at(g, ps, v, -h, G->m1);
    if (rc == AD_OK) rc = grad_at(g, ps, v, 2 * h, G->p2);
    if (rc == AD_OK) rc = grad_at(g, ps, v, -2 * h, G->m2);
    return rc;
}

/* Each entry of H·v against (∇f(x+hv) - ∇f(x-hv)) / 2h, with the
 * estimate |D(2h) - D(h)|/3 (Richardson: D(2h) has 4 times D(h)'s
 * truncation error) plus the rounding of the two gradients. */
static int compare_hvp(gc_run *g, ad_tensor *const *v, ad_tensor *const *HV, const grads_around *G, double h,
                       ad_gradcheck_backend *line)
{
    const ad_problem *p = g->p;
    for (int i = 0; i < p->nin; i++) {
        if (!v[i] || !HV[i]) continue;
        ad_tensor *hv = ad_contiguous(HV[i]);
        if (!hv) return g->ctx->err;
        const ad_tensor *in = p->in[i];
        for (int64_t q = 0; q < in->numel; q++) {
            double gp = G->p1[i]->data[q], gm = G->m1[i]->data[q];
            double d1 = (gp - gm) / (2 * h), d2 = (G->p2[i]->data[q] - G->m2[i]->data[q]) / (4 * h);
            double est = fabs(d2 - d1) / 3 + 4 * DBL_EPSILON * (fabs(gp) + fabs(gm)) / (2 * h);
            int64_t idx[AD_MAX_DIMS];
            gc_unravel(q, in->ndim, in->shape, idx);
            gc_cmp c = {.backend = "hvp", .line = line, .input = i, .ndim = in->ndim, .index = idx,
                        .a = hv->data[q], .n = d1, .e = est};
            gc_compare(g, &c, -1);
        }
    }
    return AD_OK;
}

/* H·v by ad_hvp and the gradients around x along v; a vector f is
 * checked through <u, f> for a random u (sc holds u while ps uses it). */
static int second_inputs(gc_run *g, gc_scal *sc, ad_problem *ps, ad_tensor **v, ad_tensor **HV, grads_around *G,
                         double *h)
{
    ad_ctx *ctx = g->ctx;
    gc_rng rng = gc_rng_new(g->o.seed, 3);
    *sc = (gc_scal){.p = g->p, .u = NULL};
    *ps = *g->p;
    if (g->m != 1) {
        sc->u = gc_random_like(ctx, &rng, g->y);
        if (!sc->u) return ctx->err;
        ps->f = scalarised;
        ps->user = sc;
    }
    int rc = gc_random_inputs(g, &rng, v);
    if (rc == AD_OK) rc = ad_hvp(ps, v, NULL, NULL, HV, NULL);
    double vmax = 0, xmax = 1;
    if (rc == AD_OK) rc = gc_direction_scale(g, v, &vmax, &xmax);
    /* central differences of gradients: truncation ~h², rounding ~eps/h */
    *h = cbrt(DBL_EPSILON) * xmax / (vmax > 0 ? vmax : 1);
    return rc == AD_OK ? grads_at_steps(g, ps, v, *h, G) : rc;
}

int gc_second_order(gc_run *g)
{
    ad_ctx *ctx = g->ctx;
    ad_gradcheck_report *r = g->r;
    if (r->nkinks > 0) return AD_OK; /* no Hessian at a kink */
    ad_scope s = ad_scope_begin(ctx);
    gc_scal sc;
    ad_problem ps;
    ad_tensor *v[AD_MAX_INPUTS] = {0}, *HV[AD_MAX_INPUTS] = {0};
    grads_around G;
    double h = 0;
    int rc = second_inputs(g, &sc, &ps, v, HV, &G, &h);
    if (rc == AD_OK) {
        r->hvp_done = true;
        ad_gradcheck_backend line = {.name = "hvp", .passed = true};
        rc = compare_hvp(g, v, HV, &G, h, &line);
        r->hvp_max_abs_err = line.max_abs_err;
        r->hvp_max_rel_err = line.max_rel_err;
        r->hvp_passed = line.passed && !line.nonfinite;
    } else if (rc != AD_ENOMEM) {
        gc_failure(g, "the second-order check could not run: %s", ad_errmsg(ctx));
        ad_clear_error(ctx);
        rc = AD_OK;
    }
    ad_scope_end(ctx, s, NULL);
    return rc;
}
