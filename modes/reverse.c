/* modes/reverse.c — the "reverse" backend: one evaluation of f records the
 * tape, then one backward sweep per cotangent gives Uᵀ·J row by row.  The
 * tape is retained between the k sweeps of a call and released after the
 * last, so memory holds the records of one evaluation at most. */
#include <string.h>

#include "iter.h"
#include "modes.h"

/* Copy t (shape S) into row r of dst ([k, S], contiguous). */
static void put_row(ad_tensor *dst, int64_t r, ad_tensor *t)
{
    ad_tensor *row = ad_row(dst, r);
    if (row) {
        ad_copy_raw(row, t);
        ad_tensor_free(row);
    }
}

static int rev_vjp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o,
                   ad_eval *e, ad_stats *st)
{
    (void)b;
    (void)o;
    ad_ctx *ctx = p->ctx;
    int rc = ad_problem_check(p, "reverse");
    if (rc != AD_OK) return rc;
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS], *keep[1 + AD_MAX_INPUTS];
    memset(keep, 0, sizeof keep);
    rc = ad_prim_begin(&pr, p, true, -1, x);
    for (int i = 0; rc == AD_OK && i < p->nin; i++)
        if (ad_wrt(p, i)) rc = ad_requires_grad_(x[i], true);
    ad_tensor *y = rc == AD_OK ? ad_call_f(p, x, st) : NULL;
    if (!y && rc == AD_OK) rc = ctx->err;

    /* U == NULL and k == 0: every unit cotangent, one sweep per output
     * element (the Jacobian by rows without materialising an identity) */
    bool unit_rows = !U && k == 0;
    if (rc == AD_OK && unit_rows) {
        if (y->numel > INT32_MAX)
            rc = ad_error(ctx, AD_ELIMIT, "reverse: %lld output rows are too many", (long long)y->numel);
        k = (int)y->numel;
    } else if (rc == AD_OK && !U) {
        if (k != 1 || y->numel != 1)
            rc = ad_error(ctx, AD_ESHAPE,
                          "reverse: the gradient needs a function with one output value (got shape %s); "
                          "use a Jacobian or pass a cotangent",
                          ad_fmt_shape(b1, sizeof b1, y->ndim, y->shape));
    } else if (rc == AD_OK) {
        bool ok = U->ndim == y->ndim + 1 && U->shape[0] == k;
        for (int d = 0; ok && d < y->ndim; d++) ok = U->shape[d + 1] == y->shape[d];
        if (!ok)
            rc = ad_error(ctx, AD_ESHAPE, "reverse: cotangents of shape %s do not fit %d rows of the output %s",
                          ad_fmt_shape(b1, sizeof b1, U->ndim, U->shape), k,
                          ad_fmt_shape(b2, sizeof b2, y->ndim, y->shape));
    }
    /* the gradient rows, [k, in_i.shape] each */
    ad_tensor *G[AD_MAX_INPUTS] = {0};
    uint8_t prev_cat = ctx->cat;
    ctx->cat = AD_MEM_TANGENTS;
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        ad_shape gs = {.ndim = x[i]->ndim + 1};
        gs.dim[0] = k;
        memcpy(gs.dim + 1, x[i]->shape, (size_t)x[i]->ndim * sizeof(int64_t));
        G[i] = ad_zeros(ctx, gs);
        if (!G[i]) rc = ctx->err;
    }
    ctx->cat = prev_cat;

    /* y may not depend on any differentiated input: its gradient is zero */
    bool depends = rc == AD_OK && ad_requires_grad(y);
    for (int r = 0; depends && rc == AD_OK && r < k; r++) {
        ad_scope sr = ad_scope_begin(ctx);
        ad_tensor *seed = U ? ad_row(U, r) : NULL;
        if (unit_rows) {
            seed = ad_zeros(ctx, ad_shape_of(y));
            if (seed) seed->data[r] = 1.0;
        }
        if ((U || unit_rows) && !seed) rc = ctx->err;
        if (rc == AD_OK) rc = ad_backward(y, seed, r + 1 < k ? AD_RETAIN_GRAPH : 0);
        if (st) st->sweeps++;
        for (int i = 0; rc == AD_OK && i < p->nin; i++) {
            if (!G[i]) continue;
            if (x[i]->grad) put_row(G[i], r, x[i]->grad);
            ad_clear_grad(x[i]);
        }
        ad_scope_end(ctx, sr, NULL);
    }
    if (rc == AD_OK) {
        keep[0] = ad_detach(y);
        for (int i = 0; i < p->nin; i++) keep[1 + i] = G[i];
    }
    ad_prim_restore(&pr);
    int rc2 = ad_scope_end_n(ctx, pr.scope, 1 + p->nin, keep);
    if (rc == AD_OK) rc = rc2;
    e->y = keep[0];
    for (int i = 0; i < p->nin; i++) {
        e->g[i] = keep[1 + i];
        if (e->g_err) e->g_err[i] = NULL;
    }
    return rc;
}

const ad_backend ad_backend_reverse = {
    .name = "reverse",
    .description = "tape-based reverse accumulation: one recorded pass, one backward sweep per output row",
    .caps = AD_CAP_EXACT | AD_CAP_RULES,
    .jvp = NULL,
    .vjp = rev_vjp,
    .preferred_width = NULL,
};
