/* modes/finite.c — the finite-difference backends "central",
 * "forward-diff" and "five-point".  Evaluation only: f is called at points
 * x + o·h·v and no derivative rule is used.
 *
 * Step size.  A rule of truncation order p has error ~ C·h^p + eps·|f|/h;
 * the sum is smallest near h ~ eps^(1/(p+1)), so the step along direction
 * v is h = eps^(1/(p+1)) · max(1, |x| on v's support) / max|v|: eps^(1/2)
 * for one-sided, eps^(1/3) for central, eps^(1/5) for five-point.  Along a
 * coordinate the step is adjusted so that x + h is exactly representable
 * (the perturbation actually applied is then exactly h).  ad_options.h
 * fixes an absolute step instead.
 *
 * Error estimate (unless ad_options.no_error_estimate).  The same rule with
 * step 2h has 2^p times the truncation error, so
 *     truncation ≈ |D(2h) - D(h)| / (2^p - 1)      (Richardson)
 * and the rounding error of the combination is bounded by
 *     rounding ≈ 4·eps·Σ|w_k f_k| / h.
 * The estimate is their sum, per output element and direction.  It costs
 * the evaluations at the doubled offsets (2 more for central and
 * five-point, 1 more for forward-diff). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "modes.h"
#include "iter.h"
#include "ops/op.h"

typedef struct fd_rule {
    int npts;
    double off[4]; /* offsets in units of h */
    double w[4];   /* D = Σ w_k f(x + off_k·h) / h */
    int order;     /* truncation error ~ h^order */
} fd_rule;

static const fd_rule CENTRAL = {2, {-1, 1}, {-0.5, 0.5}, 2};
static const fd_rule FORWARD = {2, {0, 1}, {-1, 1}, 1};
static const fd_rule FIVE = {4, {-2, -1, 1, 2}, {1.0 / 12, -8.0 / 12, 8.0 / 12, -1.0 / 12}, 4};

static const fd_rule *rule_of(const ad_backend *b)
{
    if (b == &ad_backend_central) return &CENTRAL;
    if (b == &ad_backend_forward_diff) return &FORWARD;
    return &FIVE;
}

/* Evaluations already made in this direction, by offset. */
typedef struct {
    int n;
    double off[12];
    ad_tensor *y[12];
} fd_cache;

static ad_tensor *eval_at(const ad_problem *p, ad_tensor *const *x, ad_tensor *const *V, int64_t r, double t,
                          fd_cache *c, ad_stats *st)
{
    for (int i = 0; i < c->n; i++)
        if (c->off[i] == t) return c->y[i];
    ad_tensor *xs[AD_MAX_INPUTS];
    for (int i = 0; i < p->nin; i++) {
        if (t == 0 || !ad_wrt(p, i) || !V[i]) {
            xs[i] = x[i];
            continue;
        }
        ad_tensor *row = ad_row(V[i], r);
        xs[i] = ad_add(x[i], ad_mul_s(row, t));
        if (!xs[i]) return NULL;
    }
    ad_tensor *y = ad_call_f(p, xs, st);
    if (y && c->n < 12) {
        c->off[c->n] = t;
        c->y[c->n] = y;
        c->n++;
    }
    return y;
}

/* max |v| and the largest |x| where v != 0, over every differentiated input */
static void direction_scale(const ad_problem *p, ad_tensor *const *x, ad_tensor *const *V, int64_t r, double *vmax,
                            double *xmax, int64_t *nnz, int64_t *where_i, int64_t *where_j)
{
    *vmax = 0;
    *xmax = 1;
    *nnz = 0;
    for (int i = 0; i < p->nin; i++) {
        if (!ad_wrt(p, i) || !V[i]) continue;
        ad_tensor *row = ad_row(V[i], r);
        ad_tensor *rc = ad_contiguous(row), *xc = ad_contiguous(x[i]);
        if (!rc || !xc) continue;
        const double *v = rc->data, *xv = xc->data;
        for (int64_t j = 0; j < rc->numel; j++) {
            if (v[j] == 0) continue;
            (*nnz)++;
            *where_i = i;
            *where_j = j;
            if (fabs(v[j]) > *vmax) *vmax = fabs(v[j]);
            if (fabs(xv[j]) > *xmax) *xmax = fabs(xv[j]);
        }
    }
}

/* D(h) for one direction (and its error estimate E when wanted). */
static int one_direction(const ad_problem *p, const fd_rule *R, ad_tensor *const *x, ad_tensor *const *V, int64_t r,
                         double fixed_h, bool estimate, fd_cache *cache, ad_tensor **D, ad_tensor **E, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    double vmax, xmax;
    int64_t nnz, wi = 0, wj = 0;
    direction_scale(p, x, V, r, &vmax, &xmax, &nnz, &wi, &wj);
    if (nnz == 0) { /* a zero direction: zero derivative, exactly */
        ad_tensor *f0 = eval_at(p, x, V, r, 0, cache, st);
        if (!f0) return ctx->err;
        *D = ad_zeros(ctx, ad_shape_of(f0));
        *E = estimate ? ad_zeros(ctx, ad_shape_of(f0)) : NULL;
        return AD_OK;
    }
    double h = fixed_h > 0 ? fixed_h : pow(DBL_EPSILON, 1.0 / (R->order + 1)) * xmax / vmax;
    if (fixed_h == 0 && nnz == 1 && vmax == 1) {
        /* along one coordinate: make x + h exactly representable, so the
         * step actually taken is the h we divide by */
        ad_tensor *xc = ad_contiguous(x[wi]);
        if (!xc) return ctx->err;
        double xj = xc->data[wj];
        volatile double moved = xj + h;
        if (moved - xj > 0) h = moved - xj;
    }
    ad_tensor *acc = NULL, *mag = NULL;
    for (int q = 0; q < R->npts; q++) {
        ad_tensor *fq = eval_at(p, x, V, r, R->off[q] * h, cache, st);
        if (!fq) return ctx->err;
        acc = ad_op_add_opt(acc, ad_mul_s(fq, R->w[q]));
        if (estimate) mag = ad_op_add_opt(mag, ad_mul_s(ad_abs(fq), fabs(R->w[q])));
    }
    *D = ad_div_s(acc, h);
    if (!*D) return ctx->err;
    *E = NULL;
    if (!estimate) return AD_OK;
    ad_tensor *acc2 = NULL;
    for (int q = 0; q < R->npts; q++) {
        ad_tensor *fq = eval_at(p, x, V, r, 2 * R->off[q] * h, cache, st);
        if (!fq) return ctx->err;
        acc2 = ad_op_add_opt(acc2, ad_mul_s(fq, R->w[q]));
    }
    ad_tensor *trunc = ad_div_s(ad_abs(ad_sub(ad_div_s(acc2, 2 * h), *D)), (double)((1 << R->order) - 1));
    *E = ad_add(trunc, ad_mul_s(mag, 4 * DBL_EPSILON / h));
    return *E ? AD_OK : ctx->err;
}

static int fd_jvp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
                  ad_eval *e, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int rc = ad_problem_check(p, b->name);
    if (rc != AD_OK) return rc;
    const fd_rule *R = rule_of(b);
    bool estimate = !(o && o->no_error_estimate);
    double fixed_h = o ? o->h : 0;
    if (fixed_h < 0 || isnan(fixed_h))
        return ad_error(ctx, AD_EINVAL, "%s: step h = %g must be positive", b->name, fixed_h);
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS];
    ad_tensor *JV = NULL, *ERR = NULL, *y0 = NULL; /* JV, ERR: our own references */
    rc = ad_prim_begin(&pr, p, false, 0, x);
    if (rc == AD_OK && e->y_in) {
        y0 = ad_tensor_ref(e->y_in);
    } else if (rc == AD_OK && (!e->no_value || R->off[0] == 0)) {
        y0 = ad_call_f(p, x, st);
        if (!y0) rc = ctx->err;
    }
    for (int64_t r = 0; rc == AD_OK && r < k; r++) {
        ad_scope sr = ad_scope_begin(ctx);
        fd_cache cache = {0};
        if (y0) {
            cache.off[0] = 0;
            cache.y[0] = y0;
            cache.n = 1;
        }
        ad_tensor *D = NULL, *E = NULL;
        rc = one_direction(p, R, x, V, r, fixed_h, estimate, &cache, &D, &E, st);
        if (rc == AD_OK && !JV) { /* the value's shape is known now */
            ad_shape js = {.ndim = D->ndim + 1};
            js.dim[0] = k;
            memcpy(js.dim + 1, D->shape, (size_t)D->ndim * sizeof(int64_t));
            JV = ad_empty(ctx, js);
            ad_unscope(JV);
            if (estimate) {
                ERR = ad_empty(ctx, js);
                ad_unscope(ERR);
            }
            if (!JV || (estimate && !ERR)) rc = ctx->err;
        }
        if (rc == AD_OK) {
            ad_tensor *row = ad_row(JV, r);
            if (row) ad_copy_raw(row, D);
            if (ERR) {
                ad_tensor *erow = ad_row(ERR, r);
                if (erow) ad_copy_raw(erow, E);
            }
        }
        ad_scope_end(ctx, sr, NULL);
    }
    ad_prim_restore(&pr);
    rc = ad_jvp_finish(ctx, pr.scope, rc, y0, JV, ERR, e);
    if (JV) ad_decref(JV); /* ours: the caller got its own reference */
    if (ERR) ad_decref(ERR);
    return rc;
}

const ad_backend ad_backend_central = {
    .name = "central",
    .description = "central differences (f(x+h) - f(x-h))/2h, h ~ eps^(1/3): 2 evaluations per direction",
    .caps = AD_CAP_ESTIMATE,
    .jvp = fd_jvp,
    .vjp = NULL,
    .preferred_width = ad_width_one,
};

const ad_backend ad_backend_forward_diff = {
    .name = "forward-diff",
    .description = "one-sided differences (f(x+h) - f(x))/h, h ~ eps^(1/2): 1 evaluation per direction",
    .caps = AD_CAP_ESTIMATE,
    .jvp = fd_jvp,
    .vjp = NULL,
    .preferred_width = ad_width_one,
};

const ad_backend ad_backend_five_point = {
    .name = "five-point",
    .description = "fourth-order central differences on 5 points, h ~ eps^(1/5): 4 evaluations per direction",
    .caps = AD_CAP_ESTIMATE,
    .jvp = fd_jvp,
    .vjp = NULL,
    .preferred_width = ad_width_one,
};
