/* modes/fd_step.c — the step a difference rule takes along a direction
 * (ad_fd_scale_of, ad_fd_step, ad_fd_step_along).  One copy, shared by
 * the difference backends, gsl-deriv's trial step, the gradient checker
 * and the command line's fd-error chart, so that what they report is what
 * the backends do.
 *
 * Why h = eps^(1/(p+1))·max(1, |x|)/max|v|: a rule of truncation order p
 * has error ~ C·h^p + eps·|f|/h, smallest near h ~ eps^(1/(p+1)) (for a
 * unit direction at |x| <= 1).  The perturbation of x is h·v, so the step
 * scales with |x| where v moves it and shrinks with the largest |v|. */
#include <float.h>
#include <math.h>

#include "modes.h"

int ad_fd_scale_of(const ad_problem *p, ad_tensor *const *v, ad_fd_scale *s)
{
    *s = (ad_fd_scale){.vmax = 0, .xscale = 1, .nnz = 0, .x_at = 0};
    for (int i = 0; i < p->nin; i++) {
        if (!ad_wrt(p, i) || !v[i]) continue;
        ad_tensor *vc = ad_contiguous(v[i]), *xc = ad_contiguous(p->in[i]);
        if (!vc || !xc) return p->ctx->err;
        for (int64_t j = 0; j < vc->numel && j < xc->numel; j++) {
            if (vc->data[j] == 0) continue;
            s->nnz++;
            s->x_at = xc->data[j];
            s->vmax = fmax(s->vmax, fabs(vc->data[j]));
            s->xscale = fmax(s->xscale, fabs(xc->data[j]));
        }
    }
    return AD_OK;
}

int ad_fd_scale_row(const ad_problem *p, ad_tensor *const *V, int64_t r, ad_fd_scale *s)
{
    ad_tensor *rows[AD_MAX_INPUTS] = {0};
    for (int i = 0; i < p->nin; i++)
        if (ad_wrt(p, i) && V[i] && !(rows[i] = ad_row(V[i], r))) return p->ctx->err;
    return ad_fd_scale_of(p, rows, s);
}

double ad_fd_step_order(int order, double xscale, double vmax)
{
    if (!(vmax > 0)) return NAN;
    return pow(DBL_EPSILON, 1.0 / (order + 1)) * xscale / vmax;
}

double ad_fd_step(const ad_fd_rule *r, double xscale, double vmax)
{
    return r ? ad_fd_step_order(r->order, xscale, vmax) : NAN;
}

double ad_fd_step_along(const ad_fd_rule *r, const ad_fd_scale *s)
{
    double h = ad_fd_step(r, s->xscale, s->vmax);
    if (s->nnz == 1 && s->vmax == 1 && isfinite(h)) {
        /* along one coordinate: make x + h exactly representable, so the
         * step actually taken is the h we divide by */
        volatile double moved = s->x_at + h;
        if (moved - s->x_at > 0) h = moved - s->x_at;
    }
    return h;
}
