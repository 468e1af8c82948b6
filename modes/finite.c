/* modes/finite.c — the finite-difference backends: one primitive,
 * ad_fd_jvp, and one table with a row per rule (central, forward-diff,
 * five-point).  A row's params is its ad_fd_rule (backend.h); a new rule
 * (Richardson, a one-sided second-order one, ...) is one more row, or a
 * descriptor a user registers.  Evaluation only: f is called at points
 * x + o·h·v and no derivative rule is used.
 *
 * Step size (fd_step.c).  A rule of truncation order p has error
 * ~ C·h^p + eps·|f|/h; the sum is smallest near h ~ eps^(1/(p+1)), so the
 * step along direction v is h = eps^(1/(p+1)) · max(1, |x| on v's support)
 * / max|v|: eps^(1/2) for one-sided, eps^(1/3) for central, eps^(1/5) for
 * five-point.  Along a coordinate the step is adjusted so that x + h is
 * exactly representable (the perturbation actually applied is then exactly
 * h).  ad_options.h fixes an absolute step instead.  The step taken is
 * reported in ad_eval.h.
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

#define FD_CAPS (AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE)
#define FD_ROW(nm, desc, ...)                                                                                   \
    {                                                                                                           \
        .name = nm, .description = desc, .caps = FD_CAPS, .jvp = ad_fd_jvp, .preferred_width = ad_width_one,    \
        .params = &(const ad_fd_rule){.name = nm, __VA_ARGS__},                                                 \
    }

/* The rules, in the registry's order. */
const ad_backend ad_fd_backends[] = {
    FD_ROW("central", "central differences (f(x+h) - f(x-h))/2h, h ~ eps^(1/3): 2 evaluations per direction",
           .npts = 2, .off = {-1, 1}, .w = {-0.5, 0.5}, .order = 2),
    FD_ROW("forward-diff", "one-sided differences (f(x+h) - f(x))/h, h ~ eps^(1/2): 1 evaluation per direction",
           .npts = 2, .off = {0, 1}, .w = {-1, 1}, .order = 1),
    FD_ROW("five-point",
           "fourth-order central differences on 5 points, h ~ eps^(1/5): 4 evaluations per direction",
           .npts = 4, .off = {-2, -1, 1, 2}, .w = {1.0 / 12, -8.0 / 12, 8.0 / 12, -1.0 / 12}, .order = 4),
};
const int ad_fd_nbackends = (int)(sizeof ad_fd_backends / sizeof ad_fd_backends[0]);

/* The params of ad_fd_jvp are a rule: the primitive decides how its own
 * params are read (no descriptor is singled out by its address or name). */
const ad_fd_rule *ad_backend_fd_rule(const ad_backend *b) { return b && b->jvp == ad_fd_jvp ? b->params : NULL; }

/* A rule ad_fd_jvp can apply: a stencil of 1..4 points (the cache below
 * holds f(x), the points and their doubles) and an order with a finite
 * Richardson factor. */
static int usable_rule(ad_ctx *ctx, const ad_backend *b, const ad_fd_rule *R)
{
    if (!R) return ad_error(ctx, AD_EINVAL, "%s: a difference backend needs its rule in params (none given)", b->name);
    if (R->npts < 1 || R->npts > 4 || R->order < 1 || R->order > 30)
        return ad_error(ctx, AD_EINVAL, "%s: rule \"%s\" has %d points and order %d (1..4 points, order 1..30)",
                        b->name, R->name ? R->name : "?", R->npts, R->order);
    return AD_OK;
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

/* acc + w·f (acc NULL: the first term).  NULL with the error recorded
 * when a term cannot be made: a stencil term is never dropped. */
static ad_tensor *add_term(ad_tensor *acc, ad_tensor *f, double w)
{
    ad_tensor *t = ad_mul_s(f, w);
    if (!t) return NULL;
    return acc ? ad_add(acc, t) : t;
}

/* Σ_q w_q·f(x + s·o_q·h·v) over the rule's points: s = 1 gives D(h)·h,
 * s = 2 the same rule at 2h (times h); with mag, also Σ|w_q f_q|. */
static int stencil(const ad_problem *p, const ad_fd_rule *R, ad_tensor *const *x, ad_tensor *const *V, int64_t r,
                   double scaled_h, fd_cache *cache, ad_tensor **acc, ad_tensor **mag, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    *acc = NULL;
    if (mag) *mag = NULL;
    for (int q = 0; q < R->npts; q++) {
        ad_tensor *fq = eval_at(p, x, V, r, R->off[q] * scaled_h, cache, st);
        if (!fq || !(*acc = add_term(*acc, fq, R->w[q]))) return ctx->err;
        if (mag && !(*mag = add_term(*mag, ad_abs(fq), fabs(R->w[q])))) return ctx->err;
    }
    return AD_OK;
}

/* D(h) for one direction (and its error estimate E when wanted). */
static int one_direction(const ad_problem *p, const ad_fd_rule *R, ad_tensor *const *x, ad_tensor *const *V, int64_t r,
                         double fixed_h, bool estimate, fd_cache *cache, ad_tensor **D, ad_tensor **E, double *h_taken,
                         ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    ad_fd_scale sc;
    int rc = ad_fd_scale_row(p, V, r, &sc);
    if (rc != AD_OK) return rc;
    *h_taken = 0;
    if (sc.nnz == 0) { /* a zero direction: zero derivative, exactly */
        ad_tensor *f0 = eval_at(p, x, V, r, 0, cache, st);
        if (!f0) return ctx->err;
        *D = ad_zeros(ctx, ad_shape_of(f0));
        *E = estimate ? ad_zeros(ctx, ad_shape_of(f0)) : NULL;
        return *D && (*E || !estimate) ? AD_OK : ctx->err;
    }
    double h = fixed_h > 0 ? fixed_h : ad_fd_step_along(R, &sc);
    *h_taken = h;
    ad_tensor *acc = NULL, *mag = NULL, *acc2 = NULL;
    rc = stencil(p, R, x, V, r, h, cache, &acc, estimate ? &mag : NULL, st);
    if (rc != AD_OK) return rc;
    *D = ad_div_s(acc, h);
    if (!*D) return ctx->err;
    *E = NULL;
    if (!estimate) return AD_OK;
    rc = stencil(p, R, x, V, r, 2 * h, cache, &acc2, NULL, st);
    if (rc != AD_OK) return rc;
    ad_tensor *trunc = ad_div_s(ad_abs(ad_sub(ad_div_s(acc2, 2 * h), *D)), (double)((1 << R->order) - 1));
    *E = ad_add(trunc, ad_mul_s(mag, 4 * DBL_EPSILON / h));
    return *E ? AD_OK : ctx->err;
}

/* The results [k, y.shape], ours (unscoped) until ad_jvp_finish hands
 * them over; made once the first direction tells the value's shape. */
typedef struct {
    ad_tensor *JV, *ERR;
} fd_out;

static int fd_store(ad_ctx *ctx, int k, int64_t r, ad_tensor *D, ad_tensor *E, bool estimate, fd_out *out)
{
    if (!out->JV) {
        ad_shape js;
        if (ad_tangent_shape(ctx, k, ad_shape_of(D), &js) != AD_OK) return ctx->err;
        out->JV = ad_empty(ctx, js);
        ad_unscope(out->JV);
        if (estimate) {
            out->ERR = ad_empty(ctx, js);
            ad_unscope(out->ERR);
        }
        if (!out->JV || (estimate && !out->ERR)) return ctx->err;
    }
    ad_tensor *row = ad_row(out->JV, r), *erow = out->ERR ? ad_row(out->ERR, r) : NULL;
    if (!row || (out->ERR && !erow)) return ctx->err;
    ad_copy_raw(row, D);
    if (erow) ad_copy_raw(erow, E);
    return AD_OK;
}

/* f(x) when a one-sided rule or the caller needs it (borrowed from
 * e->y_in when the caller has it); NULL without an error otherwise. */
static int fd_value(const ad_problem *p, const ad_fd_rule *R, ad_tensor *const *x, const ad_eval *e, ad_tensor **y0,
                    ad_stats *st)
{
    bool needed = !e->no_value;
    for (int q = 0; q < R->npts; q++) needed = needed || R->off[q] == 0;
    if (e->y_in) *y0 = ad_tensor_ref(e->y_in);
    else if (needed) *y0 = ad_call_f(p, x, st);
    return (e->y_in || needed) && !*y0 ? p->ctx->err : AD_OK;
}

int ad_fd_jvp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
              ad_eval *e, ad_stats *st)
{
    int rc = ad_problem_check(p, b ? b->name : "fd_jvp");
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    if (!b) return ad_error(ctx, AD_EINVAL, "fd_jvp: no backend given");
    const ad_fd_rule *R = ad_backend_fd_rule(b);
    if ((rc = usable_rule(ctx, b, R)) != AD_OK) return rc;
    bool estimate = !(o && o->no_error_estimate);
    double fixed_h = o ? o->h : 0;
    if (fixed_h < 0 || isnan(fixed_h))
        return ad_error(ctx, AD_EINVAL, "%s: step h = %g must be positive", b->name, fixed_h);
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS], *y0 = NULL;
    fd_out out = {NULL, NULL};
    rc = ad_prim_begin(&pr, p, false, 0, x);
    if (rc == AD_OK) rc = fd_value(p, R, x, e, &y0, st);
    for (int64_t r = 0; rc == AD_OK && r < k; r++) {
        ad_scope sr = ad_scope_begin(ctx);
        fd_cache cache = {.n = y0 ? 1 : 0, .off = {0}, .y = {y0}};
        ad_tensor *D = NULL, *E = NULL;
        double h = 0;
        rc = one_direction(p, R, x, V, r, fixed_h, estimate, &cache, &D, &E, &h, st);
        if (rc == AD_OK) rc = fd_store(ctx, k, r, D, E, estimate, &out);
        if (e->h) e->h[r] = h;
        ad_scope_end(ctx, sr, NULL);
    }
    ad_prim_restore(&pr);
    rc = ad_jvp_finish(ctx, pr.scope, rc, y0, out.JV, out.ERR, e);
    if (out.JV) ad_decref(out.JV); /* ours: the caller got its own reference */
    if (out.ERR) ad_decref(out.ERR);
    return rc;
}
