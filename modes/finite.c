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
 * five-point, 1 more for forward-diff).
 *
 * Replayed evaluations (a rule with .replay: central-replay).  The points
 * are evaluated through a program recorded from f once per (f, user,
 * input shapes) (fd_replay.c); a unit point reruns only the blocks of f
 * that read the coordinate it moves (src/replay_value.c).  The values are
 * f's bit for bit, so the derivative, the step and the estimate are those
 * of the same rule without .replay. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "iter.h"
#include "ops/op.h"
#include "replay.h"

#define FD_CAPS (AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE | AD_CAP_UNIT)
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

/* central through a recorded program: last among the built-ins
 * (registry.c), so the older backends keep their positions. */
const ad_backend ad_backend_central_replay =
    FD_ROW("central-replay",
           "central differences with f recorded once per function and input shapes and its points evaluated by "
           "the program, a moved coordinate's blocks only (falls back to central where it cannot)",
           .npts = 2, .off = {-1, 1}, .w = {-0.5, 0.5}, .order = 2, .replay = true);

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

/* Where the rule's points are evaluated.  Dense directions (V) build
 * x + t·v with the tensor ops.  Unit directions (V NULL, from the drivers)
 * move one coordinate of a private copy of its input in place and put it
 * back after the evaluation: O(1) set-up per point instead of O(n), and
 * x_j + t is the very sum x + t·e_j computes there (1·t = t exactly).  The
 * caller's tensors are never written: the copies are the primitive's. */
typedef struct {
    const ad_problem *p;
    ad_tensor *const *x;          /* the fresh inputs: f(x) */
    ad_tensor *const *V;          /* [k, in_i.shape] directions, or NULL: unit ones */
    int64_t unit_from;            /* unit: flat column of direction 0 */
    ad_tensor *xs[AD_MAX_INPUTS]; /* unit: x with private copies of the differentiated inputs */
    int in;                       /* unit: the input and element direction r moves */
    int64_t el;
    ad_fd_replay *rp;             /* the points through a program, or NULL: f itself */
    ad_stats *st;
} fd_points;

static int points_init(fd_points *pt, const ad_problem *p, ad_tensor *const *x, ad_tensor *const *V, int64_t from,
                       ad_fd_replay *rp, ad_stats *st)
{
    *pt = (fd_points){.p = p, .x = x, .V = V, .unit_from = from, .in = -1, .rp = rp, .st = st};
    for (int i = 0; i < p->nin; i++) {
        pt->xs[i] = x[i];
        if (!V && ad_wrt(p, i) && !(pt->xs[i] = ad_clone(x[i]))) return p->ctx->err;
    }
    return AD_OK;
}

/* Unit direction r: which input and element it moves, and its scale
 * (what ad_fd_scale_row gives for that unit vector). */
static void unit_locate(fd_points *pt, int64_t r, ad_fd_scale *sc)
{
    int64_t j = pt->unit_from + r;
    for (int i = 0; i < pt->p->nin; i++) {
        if (!ad_wrt(pt->p, i)) continue;
        if (j < pt->xs[i]->numel) {
            pt->in = i;
            pt->el = j;
            double xj = pt->xs[i]->data[j];
            *sc = (ad_fd_scale){.vmax = 1, .xscale = fmax(1, fabs(xj)), .nnz = 1, .x_at = xj};
            return;
        }
        j -= pt->xs[i]->numel;
    }
}

/* f at the private copies with x_j moved by t, x_j put back whatever f
 * did.  A result sharing a copy's storage (f returned a view of its input)
 * is copied before the next point moves it. */
static ad_tensor *eval_unit(fd_points *pt, double t)
{
    if (pt->rp) return ad_fd_replay_moved(pt->rp, pt->p->ctx, pt->xs, pt->in, pt->el, pt->xs[pt->in]->data[pt->el] + t,
                                          pt->st);
    double *xj = &pt->xs[pt->in]->data[pt->el], x0 = *xj;
    *xj = x0 + t;
    ad_tensor *y = ad_call_f(pt->p, pt->xs, pt->st);
    for (int i = 0; y && i < pt->p->nin; i++)
        if (pt->xs[i] != pt->x[i] && y->st == pt->xs[i]->st) y = ad_clone(y); /* before x_j goes back */
    *xj = x0;
    return y;
}

static ad_tensor *eval_dense(fd_points *pt, int64_t r, double t)
{
    const ad_problem *p = pt->p;
    ad_tensor *xs[AD_MAX_INPUTS];
    for (int i = 0; i < p->nin; i++) {
        xs[i] = pt->x[i];
        if (!ad_wrt(p, i) || !pt->V[i]) continue;
        xs[i] = ad_add(pt->x[i], ad_mul_s(ad_row(pt->V[i], r), t));
        if (!xs[i]) return NULL;
    }
    return pt->rp ? ad_fd_replay_at(pt->rp, p->ctx, xs, pt->st) : ad_call_f(p, xs, pt->st);
}

static ad_tensor *eval_at(fd_points *pt, int64_t r, double t, fd_cache *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->off[i] == t) return c->y[i];
    ad_tensor *y = t != 0 ? (pt->V ? eval_dense(pt, r, t) : eval_unit(pt, t))
                   : pt->rp ? ad_fd_replay_at(pt->rp, pt->p->ctx, pt->x, pt->st)
                            : ad_call_f(pt->p, pt->x, pt->st);
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
static int stencil(fd_points *pt, const ad_fd_rule *R, int64_t r, double scaled_h, fd_cache *cache, ad_tensor **acc,
                   ad_tensor **mag)
{
    ad_ctx *ctx = pt->p->ctx;
    *acc = NULL;
    if (mag) *mag = NULL;
    for (int q = 0; q < R->npts; q++) {
        ad_tensor *fq = eval_at(pt, r, R->off[q] * scaled_h, cache);
        if (!fq || !(*acc = add_term(*acc, fq, R->w[q]))) return ctx->err;
        if (mag && !(*mag = add_term(*mag, ad_abs(fq), fabs(R->w[q])))) return ctx->err;
    }
    return AD_OK;
}

/* The scale of direction r: O(1) for a unit one, a scan of V's row else. */
static int direction_scale(fd_points *pt, int64_t r, ad_fd_scale *sc)
{
    if (pt->V) return ad_fd_scale_row(pt->p, pt->V, r, sc);
    unit_locate(pt, r, sc);
    return AD_OK;
}

/* D(h) for one direction (and its error estimate E when wanted). */
static int one_direction(fd_points *pt, const ad_fd_rule *R, int64_t r, double fixed_h, bool estimate,
                         fd_cache *cache, ad_tensor **D, ad_tensor **E, double *h_taken)
{
    ad_ctx *ctx = pt->p->ctx;
    ad_fd_scale sc;
    int rc = direction_scale(pt, r, &sc);
    if (rc != AD_OK) return rc;
    *h_taken = 0;
    if (sc.nnz == 0) { /* a zero direction: zero derivative, exactly */
        ad_tensor *f0 = eval_at(pt, r, 0, cache);
        if (!f0) return ctx->err;
        *D = ad_zeros(ctx, ad_shape_of(f0));
        *E = estimate ? ad_zeros(ctx, ad_shape_of(f0)) : NULL;
        return *D && (*E || !estimate) ? AD_OK : ctx->err;
    }
    double h = fixed_h > 0 ? fixed_h : ad_fd_step_along(R, &sc);
    *h_taken = h;
    ad_tensor *acc = NULL, *mag = NULL, *acc2 = NULL;
    rc = stencil(pt, R, r, h, cache, &acc, estimate ? &mag : NULL);
    if (rc != AD_OK) return rc;
    *D = ad_div_s(acc, h);
    if (!*D) return ctx->err;
    *E = NULL;
    if (!estimate) return AD_OK;
    rc = stencil(pt, R, r, 2 * h, cache, &acc2, NULL);
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
 * e->y_in when the caller has it; the recording's evaluation when the
 * program was recorded now, in *y0 already); NULL without an error
 * otherwise. */
static int fd_value(const ad_problem *p, const ad_fd_rule *R, ad_tensor *const *x, const ad_eval *e, ad_tensor **y0,
                    ad_fd_replay *rp, ad_stats *st)
{
    bool needed = !e->no_value;
    for (int q = 0; q < R->npts; q++) needed = needed || R->off[q] == 0;
    if (e->y_in) *y0 = ad_tensor_ref(e->y_in);
    else if (needed && !*y0) *y0 = rp ? ad_fd_replay_at(rp, p->ctx, x, st) : ad_call_f(p, x, st);
    return (e->y_in || needed) && !*y0 ? p->ctx->err : AD_OK;
}

/* Unit directions (V NULL) must name columns that exist. */
static int unit_range(const ad_backend *b, const ad_problem *p, int k, const ad_eval *e)
{
    int64_t n = ad_problem_size(p);
    if (e->unit_from < 0 || k < 0 || e->unit_from > n - k)
        return ad_error(p->ctx, AD_EINVAL, "%s: unit directions [%lld, %lld) outside the %lld columns", b->name,
                        (long long)e->unit_from, (long long)e->unit_from + k, (long long)n);
    return AD_OK;
}

/* The directions, one scope each: the points' results die with it. */
static int directions(fd_points *pt, const ad_fd_rule *R, int k, double fixed_h, bool estimate, ad_tensor *y0,
                      fd_out *out, ad_eval *e)
{
    ad_ctx *ctx = pt->p->ctx;
    int rc = AD_OK;
    for (int64_t r = 0; rc == AD_OK && r < k; r++) {
        ad_scope sr = ad_scope_begin(ctx);
        fd_cache cache = {.n = y0 ? 1 : 0, .off = {0}, .y = {y0}};
        ad_tensor *D = NULL, *E = NULL;
        double h = 0;
        rc = one_direction(pt, R, r, fixed_h, estimate, &cache, &D, &E, &h);
        if (rc == AD_OK) rc = fd_store(ctx, k, r, D, E, estimate, out);
        if (e->h) e->h[r] = h;
        ad_scope_end(ctx, sr, NULL);
    }
    return rc;
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
    if (!V && (rc = unit_range(b, p, k, e)) != AD_OK) return rc;
    /* the estimate's evaluations only when somebody reads it */
    bool estimate = !(o && o->no_error_estimate) && !e->no_error;
    double fixed_h = o ? o->h : 0;
    if (fixed_h < 0 || isnan(fixed_h))
        return ad_error(ctx, AD_EINVAL, "%s: step h = %g must be positive", b->name, fixed_h);
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS], *y0 = NULL;
    fd_out out = {NULL, NULL};
    fd_points pt;
    ad_fd_replay rp = {.prog = NULL, .moving = false};
    rc = ad_prim_begin(&pr, p, false, 0, x);
    if (rc == AD_OK && R->replay) rc = ad_fd_replay_begin(&rp, p, x, &y0, st);
    ad_fd_replay *through = rp.prog ? &rp : NULL;
    if (rc == AD_OK) rc = fd_value(p, R, x, e, &y0, through, st);
    if (rc == AD_OK) rc = points_init(&pt, p, x, V, e->unit_from, through, st);
    if (rc == AD_OK) rc = directions(&pt, R, k, fixed_h, estimate, y0, &out, e);
    ad_fd_replay_end(&rp);
    ad_prim_restore(&pr);
    rc = ad_jvp_finish(ctx, pr.scope, rc, y0, out.JV, out.ERR, e);
    if (out.JV) ad_decref(out.JV); /* ours: the caller got its own reference */
    if (out.ERR) ad_decref(out.ERR);
    return rc;
}
