/* modes/gslderiv.c — the "gsl-deriv" backend: GSL's gsl_deriv_central as a
 * reference variant.  GSL differentiates a function of one variable, so
 * each direction v becomes t -> f(x + t·v) and each output element one
 * call of gsl_deriv_central, which picks its own step (a trial step, then
 * the one balancing its truncation and rounding estimates) and returns an
 * absolute error estimate.  Evaluations along a direction are cached, so a
 * vector output costs little more than a scalar one when GSL revisits the
 * same points. */
#include <gsl/gsl_deriv.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

#include "modes.h"
#include "ops/op.h"

#define CACHE 16

typedef struct {
    const ad_problem *p;
    ad_tensor *const *x;
    ad_tensor *row[AD_MAX_INPUTS]; /* the direction, per input */
    int64_t elem;                  /* output element being differentiated */
    int n;
    double t[CACHE];
    ad_tensor *y[CACHE];
    int next;
    ad_stats *st;
    int err;
} gsl_dir;

static ad_tensor *at(gsl_dir *d, double t)
{
    for (int i = 0; i < d->n; i++)
        if (d->t[i] == t) return d->y[i];
    const ad_problem *p = d->p;
    ad_tensor *xs[AD_MAX_INPUTS];
    for (int i = 0; i < p->nin; i++) {
        xs[i] = (t != 0 && d->row[i]) ? ad_add(d->x[i], ad_mul_s(d->row[i], t)) : d->x[i];
        if (!xs[i]) return NULL; /* the point could not be made: never call f without it */
    }
    ad_tensor *y = ad_call_f(p, xs, d->st);
    if (!y) return NULL;
    ad_tensor *c = ad_contiguous(y);
    if (!c) return NULL;
    ad_unscope(c); /* the cache owns it */
    int slot;
    if (d->n < CACHE) {
        slot = d->n++;
    } else { /* full: replace the oldest */
        slot = d->next++ % CACHE;
        ad_decref(d->y[slot]);
    }
    d->t[slot] = t;
    d->y[slot] = c;
    return c;
}

static double component(double t, void *params)
{
    gsl_dir *d = params;
    ad_tensor *y = at(d, t);
    if (!y) {
        d->err = d->p->ctx->err;
        return NAN;
    }
    return y->data[d->elem];
}

/* What gsl-deriv's descriptor carries: GSL's rule is its own, so only
 * the trial step is ours, the one balancing a rule of this order (GSL's
 * estimate of its own truncation error is that of a central rule). */
typedef struct gsl_deriv_params {
    int trial_order;
} gsl_deriv_params;

/* J·V and its error for direction r, one gsl_deriv_central per output
 * element of y0, into row r of JV and ERR. */
static int gsl_direction(const ad_problem *p, ad_tensor *const *x, ad_tensor *const *V, int64_t r, double h0,
                         const ad_tensor *y0, ad_tensor *JV, ad_tensor *ERR, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    const gsl_deriv_params *gp = ad_backend_gsl_deriv.params;
    gsl_dir d;
    memset(&d, 0, sizeof d);
    d.p = p;
    d.x = x;
    d.st = st;
    ad_fd_scale sc;
    int rc = ad_fd_scale_row(p, V, r, &sc);
    for (int i = 0; rc == AD_OK && i < p->nin; i++)
        if (ad_wrt(p, i) && V[i] && !(d.row[i] = ad_contiguous(ad_row(V[i], r)))) rc = ctx->err;
    /* GSL's starting step; it refines it itself */
    double h = h0 > 0 ? h0 : ad_fd_step_order(gp->trial_order, sc.xscale, sc.vmax);
    gsl_function F = {component, &d};
    for (int64_t el = 0; rc == AD_OK && el < y0->numel; el++) {
        double res = 0, abserr = 0;
        d.elem = el;
        if (sc.vmax > 0) { /* a zero direction has a zero derivative, exactly */
            int g = gsl_deriv_central(&F, 0.0, h, &res, &abserr);
            if (d.err) rc = d.err;
            else if (g != GSL_SUCCESS) rc = ad_error(ctx, AD_ENONFINITE, "gsl-deriv: %s", gsl_strerror(g));
        }
        JV->data[r * y0->numel + el] = res;
        ERR->data[r * y0->numel + el] = abserr;
    }
    for (int i = 0; i < d.n; i++) ad_decref(d.y[i]);
    return rc;
}

static int gsl_jvp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
                   ad_eval *e, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int rc = ad_problem_check(p, b->name);
    if (rc != AD_OK) return rc;
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS], *JV = NULL, *ERR = NULL;
    rc = ad_prim_begin(&pr, p, false, 0, x);
    ad_tensor *y0 = rc == AD_OK ? ad_call_f(p, x, st) : NULL;
    if (!y0 && rc == AD_OK) rc = ctx->err;
    ad_shape js;
    if (rc == AD_OK) rc = ad_tangent_shape(ctx, k, ad_shape_of(y0), &js);
    if (rc == AD_OK) {
        JV = ad_empty(ctx, js);
        ERR = ad_empty(ctx, js);
        if (!JV || !ERR) rc = ctx->err;
    }
    for (int64_t r = 0; rc == AD_OK && r < k; r++) {
        ad_scope sr = ad_scope_begin(ctx);
        rc = gsl_direction(p, x, V, r, o ? o->h : 0, y0, JV, ERR, st);
        ad_scope_end(ctx, sr, NULL);
    }
    ad_prim_restore(&pr);
    ad_eval_steps(e, k, NAN); /* GSL picks its steps out of sight */
    return ad_jvp_finish(ctx, pr.scope, rc, y0, JV, ERR, e);
}

const ad_backend ad_backend_gsl_deriv = {
    .name = "gsl-deriv",
    .description = "GSL's gsl_deriv_central per direction and output element (adaptive step, reference variant)",
    .caps = AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE,
    .jvp = gsl_jvp,
    .vjp = NULL,
    .preferred_width = ad_width_one,
    .params = &(const gsl_deriv_params){.trial_order = 2},
};
