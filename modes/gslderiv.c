/* modes/gslderiv.c — the "gsl-deriv" backend: GSL's gsl_deriv_central as a
 * reference variant.  GSL differentiates a function of one variable, so
 * each direction v becomes t -> f(x + t·v) and each output element one
 * call of gsl_deriv_central, which picks its own step (a trial step, then
 * the one balancing its truncation and rounding estimates) and returns an
 * absolute error estimate.  Evaluations along a direction are cached, so a
 * vector output costs little more than a scalar one when GSL revisits the
 * same points. */
#include <float.h>
#include <gsl/gsl_deriv.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

#include "modes.h"

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
    for (int i = 0; i < p->nin; i++)
        xs[i] = (t != 0 && d->row[i]) ? ad_add(d->x[i], ad_mul_s(d->row[i], t)) : d->x[i];
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

static int gsl_jvp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
                   ad_eval *e, ad_stats *st)
{
    (void)b;
    ad_ctx *ctx = p->ctx;
    int rc = ad_problem_check(p, "gsl-deriv");
    if (rc != AD_OK) return rc;
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS];
    rc = ad_prim_begin(&pr, p, false, 0, x);
    ad_tensor *y0 = rc == AD_OK ? ad_call_f(p, x, st) : NULL;
    if (!y0 && rc == AD_OK) rc = ctx->err;
    ad_tensor *JV = NULL, *ERR = NULL;
    if (rc == AD_OK) {
        ad_shape js = {.ndim = y0->ndim + 1};
        js.dim[0] = k;
        memcpy(js.dim + 1, y0->shape, (size_t)y0->ndim * sizeof(int64_t));
        JV = ad_empty(ctx, js);
        ERR = ad_empty(ctx, js);
        if (!JV || !ERR) rc = ctx->err;
    }
    double xmax = 1;
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        ad_tensor *c = ad_contiguous(x[i]);
        for (int64_t j = 0; c && j < c->numel; j++)
            if (ad_wrt(p, i) && fabs(c->data[j]) > xmax) xmax = fabs(c->data[j]);
    }
    for (int64_t r = 0; rc == AD_OK && r < k; r++) {
        ad_scope sr = ad_scope_begin(ctx);
        gsl_dir d;
        memset(&d, 0, sizeof d);
        d.p = p;
        d.x = x;
        d.st = st;
        double vmax = 0;
        for (int i = 0; i < p->nin; i++) {
            if (!ad_wrt(p, i) || !V[i]) continue;
            d.row[i] = ad_contiguous(ad_row(V[i], r));
            for (int64_t j = 0; d.row[i] && j < d.row[i]->numel; j++)
                if (fabs(d.row[i]->data[j]) > vmax) vmax = fabs(d.row[i]->data[j]);
        }
        /* GSL's starting step; it refines it itself */
        double h = (o && o->h > 0) ? o->h : pow(DBL_EPSILON, 1.0 / 3) * xmax / (vmax > 0 ? vmax : 1);
        gsl_function F = {component, &d};
        for (int64_t el = 0; el < y0->numel && rc == AD_OK; el++) {
            double res = 0, abserr = 0;
            d.elem = el;
            if (vmax == 0) {
                res = 0;
                abserr = 0;
            } else {
                int g = gsl_deriv_central(&F, 0.0, h, &res, &abserr);
                if (d.err) rc = d.err;
                else if (g != GSL_SUCCESS) rc = ad_error(ctx, AD_ENONFINITE, "gsl-deriv: %s", gsl_strerror(g));
            }
            JV->data[r * y0->numel + el] = res;
            ERR->data[r * y0->numel + el] = abserr;
        }
        for (int i = 0; i < d.n; i++) ad_decref(d.y[i]);
        ad_scope_end(ctx, sr, NULL);
    }
    ad_prim_restore(&pr);
    return ad_jvp_finish(ctx, pr.scope, rc, y0, JV, ERR, e);
}

const ad_backend ad_backend_gsl_deriv = {
    .name = "gsl-deriv",
    .description = "GSL's gsl_deriv_central per direction and output element (adaptive step, reference variant)",
    .caps = AD_CAP_ESTIMATE,
    .jvp = gsl_jvp,
    .vjp = NULL,
    .preferred_width = ad_width_one,
};
