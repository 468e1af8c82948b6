/* modes/reverse.c — the "reverse" backend: one evaluation of f records the
 * tape, then one backward sweep per cotangent gives Uᵀ·J row by row.  The
 * tape is retained between the k sweeps of a call and released after the
 * last, so memory holds the records of one evaluation at most.
 *
 * Nested (the inputs carry an enclosing computation's derivatives): the
 * fresh inputs stay connected to the outer tape and keep their outer
 * tangents, and each sweep is ad_autograd_grad to them, which leaves every
 * .grad alone and walks only this call's records. */
#include "iter.h"
#include "modes.h"
#include "tape.h"

/* Copy t (shape S) into row r of dst ([k, S], contiguous). */
static int put_row(ad_tensor *dst, int64_t r, ad_tensor *t)
{
    ad_tensor *row = ad_row(dst, r);
    if (!row) return dst->ctx->err;
    ad_copy_raw(row, t);
    ad_tensor_free(row);
    return AD_OK;
}

/* How many sweeps, and with which seeds: U's k rows; with U == NULL and
 * k == 0 every unit cotangent (the Jacobian by rows, without materialising
 * an identity); with U == NULL and k == 1 the seed 1 of a one-element y. */
static int sweep_count(ad_ctx *ctx, ad_tensor *U, int *k, const ad_tensor *y)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (!U && *k == 0) {
        if (y->numel > INT32_MAX)
            return ad_error(ctx, AD_ELIMIT, "reverse: %lld output rows are too many", (long long)y->numel);
        *k = (int)y->numel;
        return AD_OK;
    }
    if (!U) {
        if (*k == 1 && y->numel == 1) return AD_OK;
        return ad_error(ctx, AD_ESHAPE,
                        "reverse: the gradient needs a function with one output value (got shape %s); "
                        "use a Jacobian or pass a cotangent",
                        ad_fmt_shape(b1, sizeof b1, y->ndim, y->shape));
    }
    bool ok = U->ndim == y->ndim + 1 && U->shape[0] == *k;
    for (int d = 0; ok && d < y->ndim; d++) ok = U->shape[d + 1] == y->shape[d];
    if (ok) return AD_OK;
    return ad_error(ctx, AD_ESHAPE, "reverse: cotangents of shape %s do not fit %d rows of the output %s",
                    ad_fmt_shape(b1, sizeof b1, U->ndim, U->shape), *k, ad_fmt_shape(b2, sizeof b2, y->ndim, y->shape));
}

/* A single sweep's gradient g as the row [1, S] itself, not a copy into
 * rows of zeros (two passes over the input's size less): only a plain
 * gradient, no tangent or graph of its own (forward over reverse keeps
 * copying into rows). */
static ad_tensor *grad_as_row(ad_tensor *g)
{
    if (g->tan_mask || g->grad_fn || g->ctx->fwd_depth > 0) {
        ad_tensor *G = ad_tangent_zeros(g->ctx, 1, ad_shape_of(g));
        return G && put_row(G, 0, g) == AD_OK ? G : NULL;
    }
    /* [1, S] over g's storage: a raw view (g carries no derivatives, and
     * the rows' rank was checked), not the view op's bookkeeping */
    int64_t shape[AD_MAX_DIMS], stride[AD_MAX_DIMS];
    shape[0] = 1;
    stride[0] = g->numel > 0 ? g->numel : 1;
    for (int d = 0; d < g->ndim; d++) {
        shape[d + 1] = g->shape[d];
        stride[d + 1] = g->stride[d];
    }
    ad_tensor *row = ad_handle_new(g->ctx, g->st, g->ndim + 1, shape, stride, g->offset);
    if (row) row->flags |= AD_T_VIEW;
    return row;
}

/* Seed r of a sweep: row r of U, the unit cotangent r, or NULL (seed 1).
 * A nested sweep takes the row by ops (its cotangent may carry derivatives
 * of its own); a plain one as a raw view. */
static int seed_of(ad_ctx *ctx, ad_tensor *U, bool unit_rows, const ad_tensor *y, int r, bool by_ops, ad_tensor **seed)
{
    *seed = NULL;
    if (U) *seed = by_ops ? ad_idx(U, AD_I(r)) : ad_row(U, r);
    if (unit_rows && (*seed = ad_zeros(ctx, ad_shape_of(y)))) (*seed)->data[r] = 1.0;
    return (U || unit_rows) && !*seed ? ctx->err : AD_OK;
}

/* Sweep r: seeds y with row r of U (or the unit cotangent r, or 1), runs
 * the backward pass (keeping the tape for the next sweep) and moves each
 * input's gradient into row r of G[i]. */
static int sweep(const ad_problem *p, ad_tensor *const *x, ad_tensor *y, ad_tensor *U, bool unit_rows, int k, int r,
                 ad_tensor **G, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    ad_scope sr = ad_scope_begin(ctx);
    ad_tensor *seed;
    int rc = seed_of(ctx, U, unit_rows, y, r, false, &seed);
    if (rc == AD_OK) rc = ad_backward(y, seed, r + 1 < k ? AD_RETAIN_GRAPH : 0);
    if (st) st->sweeps++;
    ad_tensor *taken[AD_MAX_INPUTS]; /* rows made here, kept past this scope */
    for (int i = 0; i < p->nin; i++) taken[i] = NULL;
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        if (x[i]->grad && !G[i]) rc = (taken[i] = grad_as_row(x[i]->grad)) ? AD_OK : ctx->err;
        else if (x[i]->grad) rc = put_row(G[i], r, x[i]->grad);
        ad_clear_grad(x[i]);
    }
    int rc2 = ad_scope_end_n(ctx, sr, p->nin, taken);
    for (int i = 0; i < p->nin; i++)
        if (taken[i]) G[i] = taken[i];
    return rc != AD_OK ? rc : rc2;
}

/* The sweeps of a nested call: ad_autograd_grad to the fresh inputs (no
 * .grad touched, only the records since `since`), recorded when an
 * enclosing reverse computation differentiates the result, with the
 * forward levels on (the gradients carry the outer tangents).  The rows
 * are stacked by ops, so G[i] keeps all of it. */
static int nested_sweeps(const ad_problem *p, ad_tensor *const *x, ad_tensor *y, ad_tensor *U, bool unit_rows, int k,
                         const ad_prim *pr, uint64_t since, ad_tensor **G, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    ad_tensor *xw[AD_MAX_INPUTS], *gr[AD_MAX_INPUTS];
    int nw = 0, rc = AD_OK;
    for (int i = 0; i < p->nin; i++)
        if (ad_wrt(p, i)) xw[nw++] = x[i];
    size_t bytes = (size_t)k * (size_t)(nw ? nw : 1) * sizeof(ad_tensor *);
    ad_tensor **rows = ad_mem_alloc(ctx, bytes, AD_MEM_META);
    if (!rows) return ctx->err;
    bool create = (pr->nest & AD_NEST_REV) != 0;
    for (int r = 0; rc == AD_OK && r < k; r++) {
        ad_tensor *seed;
        rc = seed_of(ctx, U, unit_rows, y, r, true, &seed);
        unsigned flags = create ? AD_CREATE_GRAPH : r + 1 < k ? AD_RETAIN_GRAPH : 0;
        if (rc == AD_OK) rc = ad_autograd_grad_since(y, seed, nw, xw, flags, gr, since);
        if (st) st->sweeps++;
        for (int j = 0; rc == AD_OK && j < nw; j++) rows[(size_t)j * (size_t)k + (size_t)r] = gr[j];
    }
    for (int i = 0, j = 0; rc == AD_OK && i < p->nin; i++)
        if (ad_wrt(p, i) && !(G[i] = ad_stack(rows + (size_t)(j++) * (size_t)k, k, 0))) rc = ctx->err;
    ad_mem_free(ctx, rows, bytes, AD_MEM_META);
    return rc;
}

static int rev_vjp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o,
                   ad_eval *e, ad_stats *st)
{
    (void)o;
    ad_ctx *ctx = p->ctx;
    int rc = ad_problem_check(p, b->name);
    if (rc != AD_OK) return rc;
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS], *G[AD_MAX_INPUTS], *y = NULL; /* the first nin are used */
    for (int i = 0; i < p->nin; i++) G[i] = NULL;
    uint64_t since = ad_tape_next_seq(ctx); /* the fresh inputs and f's records come after */
    rc = ad_prim_begin(&pr, p, true, -1, x);
    for (int i = 0; rc == AD_OK && i < p->nin; i++)
        if (ad_wrt(p, i) && !x[i]->grad_fn) rc = ad_requires_grad_(x[i], true);
    if (rc == AD_OK && !(y = ad_call_f(p, x, st))) rc = ctx->err;
    bool unit_rows = !U && k == 0;
    if (rc == AD_OK) rc = sweep_count(ctx, U, &k, y);
    bool depends = rc == AD_OK && ad_requires_grad(y);
    if (rc == AD_OK && depends && pr.nest) rc = nested_sweeps(p, x, y, U, unit_rows, k, &pr, since, G, st);
    /* the gradient rows, [k, in_i.shape] each */
    /* (one sweep takes its rows from the inputs' .grad: sweep; the rows'
     * shapes are checked first all the same) */
    ad_shape ts;
    for (int i = 0; rc == AD_OK && k == 1 && i < p->nin; i++)
        if (ad_wrt(p, i)) rc = ad_tangent_shape(ctx, k, ad_shape_of(x[i]), &ts);
    for (int i = 0; rc == AD_OK && k > 1 && i < p->nin; i++)
        if (ad_wrt(p, i) && !G[i] && !(G[i] = ad_tangent_zeros(ctx, k, ad_shape_of(x[i])))) rc = ctx->err;
    /* y may not depend on any differentiated input: its gradient is zero */
    for (int r = 0; depends && !pr.nest && rc == AD_OK && r < k; r++) rc = sweep(p, x, y, U, unit_rows, k, r, G, st);
    for (int i = 0; rc == AD_OK && i < p->nin; i++)
        if (ad_wrt(p, i) && !G[i] && !(G[i] = ad_tangent_zeros(ctx, k, ad_shape_of(x[i])))) rc = ctx->err;
    /* nested: y keeps its place on the outer tape and its outer tangents */
    if (rc == AD_OK && !pr.nest && !(y = ad_detach(y))) rc = ctx->err;
    ad_prim_restore(&pr);
    return ad_vjp_finish(ctx, pr.scope, rc, p->nin, y, G, e);
}

const ad_backend ad_backend_reverse = {
    .name = "reverse",
    .description = "tape-based reverse accumulation: one recorded pass, one backward sweep per output row",
    .caps = AD_CAP_EXACT | AD_CAP_RULES | AD_CAP_REVERSE,
    .jvp = NULL,
    .vjp = rev_vjp,
    .preferred_width = NULL,
};
