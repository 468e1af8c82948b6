/* modes/forward.c — the "forward" and "forward-vector" backends: dual
 * numbers.  One evaluation of f with k tangents attached to the inputs
 * gives f(x) and J·V for k directions; each op applies its JVP rule
 * (src/ops/record.c).  Nothing is recorded, so memory does not grow with
 * the length of the computation: only the tangents of live tensors exist.
 *
 * "forward" always uses one direction per pass (n passes for a gradient);
 * "forward-vector" carries k directions per pass (ceil(n/k) passes), k from
 * ad_options.width, or chosen from n by ad_fwd_default_width (the drivers
 * ask it; preferred_width, which does not know n, still says 8).
 *
 * Nested (the inputs carry an enclosing computation's derivatives): the
 * pass opens its own forward level inside the open ones, its fresh inputs
 * keep the outer tangents and their place on the outer tape, and its
 * results keep everything but this level's tangent.
 *
 * Tangents are released early: an intermediate's tangent goes as soon as
 * the last op reading it has run, by the trace of an earlier pass of the
 * same f (src/fwd_release.c), so a pass holds the tangents of the live set
 * of f, not of every intermediate its scope keeps until f returns.  Only
 * this pass's level is released; inside another forward driver's pass (f
 * calling a driver) the outer pass alone releases, and sees every op. */
#include "modes.h"

#define DEFAULT_WIDTH 8

/* The results of a nested pass, made once its own level is closed: views
 * of y and of its tangent at that level, which keep what the enclosing
 * computation needs (their outer tangents, their place on the tape) and
 * drop the closed level's tangent. */
static int nested_results(ad_ctx *ctx, int k, ad_tensor *y, ad_tensor *tan, ad_tensor **keep)
{
    keep[0] = ad_view(y, ad_shape_of(y));
    keep[1] = tan ? ad_view(tan, ad_shape_of(tan)) : ad_tangent_zeros(ctx, k, ad_shape_of(y));
    return keep[0] && keep[1] ? AD_OK : ctx->err;
}

/* One pass: f once with the directions V attached.  With `release`, the
 * pass drops intermediates' tangents after their last reader, by what an
 * earlier pass of f taught (src/fwd_release.c); *violated says that f read
 * one of them all the same (it took another path this time): the pass
 * failed and must run again without release. */
static int fwd_pass(const ad_problem *p, int k, ad_tensor *const *V, bool release, bool *violated, ad_eval *e,
                    ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS], *keep[2] = {NULL, NULL}, *tan = NULL;
    int rc = ad_prim_begin(&pr, p, false, k, x); /* dual numbers need no tape */
    int d = ctx->fwd_depth - 1;                  /* this pass's level */
    for (int i = 0; rc == AD_OK && i < p->nin; i++)
        if (ad_wrt(p, i) && V[i]) rc = ad_set_tangent(x[i], V[i]);
    bool mine = false;
    if (rc == AD_OK) rc = ad_fr_begin(ctx, p->f, p->user, d, release, &mine);
    ad_tensor *y = rc == AD_OK ? ad_call_f(p, x, st) : NULL;
    if (mine) {
        int64_t released = 0;
        *violated = ad_fr_end(ctx, y, y != NULL, &released);
        if (st) st->released += released;
        if (*violated) y = NULL; /* its tangent may be one released */
    }
    if (y && pr.nest) {
        tan = ad_tan_live(y, d) ? ad_tensor_ref(y->tan[d]) : NULL;
    } else if (y) {
        /* the value without its tangent, and the tangent as [k, y.shape] */
        keep[0] = ad_detach(y);
        /* y may not depend on the directions: its tangent is zero */
        keep[1] = ad_tan_live(y, d) ? ad_alias(y->tan[d], false) : ad_tangent_zeros(ctx, k, ad_shape_of(y));
        if (!keep[0] || !keep[1]) rc = ctx->err;
    } else if (rc == AD_OK) {
        rc = ctx->err;
    }
    ad_prim_restore(&pr);
    if (rc == AD_OK && pr.nest) rc = nested_results(ctx, k, y, tan, keep);
    ad_eval_steps(e, k, 0); /* exact: no step */
    return ad_jvp_finish(ctx, pr.scope, rc, keep[0], keep[1], NULL, e);
}

/* Release is on unless the caller turned it off or an error is pending
 * (a rerun clears the error state, which must then hold nothing of the
 * caller's).  A pass that read a released tangent runs again without
 * release: right, one pass slower, counted in st->reruns. */
static int fwd_jvp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
                   ad_eval *e, ad_stats *st)
{
    (void)b;
    ad_ctx *ctx = p->ctx;
    int rc = ad_problem_check(p, "forward");
    if (rc != AD_OK) return rc;
    bool release = !(o && o->no_tangent_release) && ctx->err == AD_OK, violated = false;
    rc = fwd_pass(p, k, V, release, &violated, e, st);
    if (!violated) return rc;
    ad_clear_error(ctx);
    if (st) st->reruns++;
    return fwd_pass(p, k, V, false, &violated, e, st);
}

/* The width when the caller gives none.  Every intermediate of n
 * elements carries a [k, n] tangent until f returns, so k·n·8 bytes per
 * live tensor must stay in cache or the passes saved are paid back in
 * memory traffic: k = WIDTH_BUDGET / (8n), at least 1, at most
 * WIDTH_MAX (beyond which the per-op overhead saved is already
 * negligible) and at most n (one pass).  Width n at n = 1000 (8 MB per
 * intermediate) was slower than width 8 (bench/micro_fd.c measures it). */
#define WIDTH_BUDGET (256 * 1024)
#define WIDTH_MAX 64

int ad_fwd_default_width(int64_t n)
{
    if (n < 1) return 1;
    int64_t k = WIDTH_BUDGET / (8 * n);
    if (k > WIDTH_MAX) k = WIDTH_MAX;
    if (k > n) k = n;
    return k < 1 ? 1 : (int)k;
}

static int width_k(const ad_backend *b, const ad_options *o)
{
    (void)b;
    return (o && o->width > 0) ? o->width : DEFAULT_WIDTH;
}

const ad_backend ad_backend_forward = {
    .name = "forward",
    .description = "dual-number forward accumulation, one tangent per pass (n passes for a gradient)",
    .caps = AD_CAP_EXACT | AD_CAP_RULES | AD_CAP_FORWARD,
    .jvp = fwd_jvp,
    .vjp = NULL,
    .preferred_width = ad_width_one,
};

const ad_backend ad_backend_forward_vector = {
    .name = "forward-vector",
    .description = "forward accumulation carrying k tangents per pass (ceil(n/k) passes; k = --width, default chosen from n)",
    .caps = AD_CAP_EXACT | AD_CAP_RULES | AD_CAP_FORWARD | AD_CAP_VECTOR,
    .jvp = fwd_jvp,
    .vjp = NULL,
    .preferred_width = width_k,
};
