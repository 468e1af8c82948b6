/* modes/checkpoint.c — the "reverse-checkpoint" backend and
 * ad_iterate_grad: reverse mode over an iterated map (iterate.h) that
 * stores at most `snaps` states and recomputes the others, following the
 * Revolve schedule (revolve.c).
 *
 * One cotangent is one run of the schedule: ADVANCE runs steps with
 * nothing recorded (grad mode off), TAKESHOT keeps a reference to the
 * current state (states are never written in place, so a reference is a
 * snapshot: no copy), RESTORE takes one back, and each turn records one
 * step from a fresh leaf x_t (the first turn also the loss), sweeps it
 * back seeded with the adjoint of x_{t+1}, and leaves x_t's adjoint.  The
 * parameters θ are the same leaves throughout, so their .grad accumulates
 * over the turns in the order plain reverse mode's sweep adds them
 * (newest step first): the results equal plain reverse mode's.  The tape
 * never holds more than one step; memory is the snapshots, one step's
 * tape, and two adjoints.
 *
 * On an ad_fn other than ad_iterate_fn the backend is plain reverse mode
 * (iterate.h says why). */
#include "checkpoint.h"
#include "iter.h"
#include "revolve.h"

/* One run of the schedule: what it holds.  Tensors marked owned are
 * internal references (ad_decref), never registered in a scope. */
typedef struct {
    ad_ctx *ctx;
    const ad_iterate *map;
    ad_tensor *const *theta; /* the fresh θ leaves */
    ad_tensor *x0;           /* borrowed: the fresh x_0 */
    ad_tensor *cur;          /* owned: the current state x_capo (NULL: none in hand) */
    ad_tensor **snap;        /* owned: the slots */
    int64_t *slotpos;        /* the schedule's bookkeeping */
    int snaps, held;
    ad_tensor *adj;          /* owned: the adjoint of the state after the next turn */
    ad_tensor *seed;         /* borrowed: the loss's cotangent (NULL: 1 for a one-element loss) */
    ad_tensor *y;            /* owned: the loss's value, detached (first turn) */
    ad_stats *st;
    ad_iterate_info *info;
} run;

static void set_owned(ad_tensor **slot, ad_tensor *t)
{
    if (*slot) ad_decref(*slot);
    *slot = t;
}

/* The rows of U (or the unit cotangents, or the seed 1), as reverse.c
 * counts them: k from U, or y's size for U == NULL, k == 0. */
static int count_rows(ad_ctx *ctx, ad_tensor *U, int *k, const ad_tensor *y)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (!U && *k == 0) {
        if (y->numel > INT32_MAX)
            return ad_error(ctx, AD_ELIMIT, "reverse-checkpoint: %lld output rows are too many", (long long)y->numel);
        *k = (int)y->numel;
        return AD_OK;
    }
    if (!U) {
        if (*k == 1 && y->numel == 1) return AD_OK;
        return ad_error(ctx, AD_ESHAPE, "reverse-checkpoint: the gradient needs a loss with one value (got shape %s); "
                                        "use a Jacobian or pass a cotangent",
                        ad_fmt_shape(b1, sizeof b1, y->ndim, y->shape));
    }
    bool ok = U->ndim == y->ndim + 1 && U->shape[0] == *k;
    for (int d = 0; ok && d < y->ndim; d++) ok = U->shape[d + 1] == y->shape[d];
    if (ok) return AD_OK;
    return ad_error(ctx, AD_ESHAPE, "reverse-checkpoint: cotangents of shape %s do not fit %d rows of the loss %s",
                    ad_fmt_shape(b1, sizeof b1, U->ndim, U->shape), *k, ad_fmt_shape(b2, sizeof b2, y->ndim, y->shape));
}

/* x_from (in hand) to x_to, nothing recorded. */
static int advance(run *R, int64_t from, int64_t to)
{
    bool prev = ad_set_grad_enabled(R->ctx, false);
    int rc = AD_OK;
    for (int64_t t = from; t < to && rc == AD_OK; t++) {
        ad_tensor *next = ad_iterate_step(R->ctx, R->map, R->theta, t, R->cur);
        if (!next) rc = R->ctx->err;
        else set_owned(&R->cur, next);
    }
    ad_set_grad_enabled(R->ctx, prev);
    if (R->info) R->info->advances += to - from;
    return rc;
}

/* The step (and on the first turn the loss) from the leaf xt, recorded;
 * returns what to sweep back from (registered in the open scope). */
static ad_tensor *record(run *R, int64_t t, ad_tensor *xt, bool first)
{
    ad_tensor *out = ad_iterate_step(R->ctx, R->map, R->theta, t, xt);
    if (!out || ad_scope_push(R->ctx, out) != AD_OK) return NULL;
    if (!first) return out;
    ad_tensor *y = ad_iterate_loss(R->ctx, R->map, R->theta, out);
    int one = 1;
    if (y && !R->seed && count_rows(R->ctx, NULL, &one, y) != AD_OK) return NULL;
    ad_tensor *yd = y ? ad_detach(y) : NULL;
    if (!yd) return NULL;
    ad_unscope(yd);
    set_owned(&R->y, yd);
    return y;
}

/* Step t recorded from the state in hand, swept back: x_t's adjoint
 * replaces R->adj.  The state in hand is used up. */
static int turn(run *R, int64_t t, bool first)
{
    ad_ctx *ctx = R->ctx;
    ad_scope sc = ad_scope_begin(ctx);
    bool prev = ad_set_grad_enabled(ctx, true);
    ad_tensor *xt = ad_detach(R->cur), *out = NULL;
    int rc = xt ? ad_requires_grad_(xt, true) : ctx->err;
    if (rc == AD_OK && !(out = record(R, t, xt, first))) rc = ctx->err;
    if (rc == AD_OK && ad_requires_grad(out)) rc = ad_backward(out, first ? R->seed : R->adj, 0);
    ad_tensor *g = NULL;
    if (rc == AD_OK) {
        g = ad_grad(xt) ? ad_grad(xt) : ad_deriv_zeros(ctx, ad_shape_of(xt)); /* out need not depend on x_t */
        if (g) ad_incref(g);
        else rc = ctx->err;
    }
    ad_set_grad_enabled(ctx, prev);
    ad_scope_end(ctx, sc, NULL);
    set_owned(&R->adj, g);
    set_owned(&R->cur, NULL);
    if (R->st) R->st->sweeps++;
    if (R->info) R->info->recorded++;
    return rc;
}

static int takeshot(run *R, int slot)
{
    ad_incref(R->cur);
    set_owned(&R->snap[slot], R->cur);
    if (slot + 1 > R->held) R->held = slot + 1;
    return AD_OK;
}

static int restore(run *R, int slot)
{
    ad_incref(R->snap[slot]);
    set_owned(&R->cur, R->snap[slot]);
    /* slots above are free now: drop what they held as soon as possible */
    for (int i = slot + 1; i < R->snaps; i++) set_owned(&R->snap[i], NULL);
    return AD_OK;
}

/* The whole schedule for k >= 1 steps. */
static int schedule(run *R, int64_t k)
{
    ad_revolve rv;
    if (ad_revolve_init(&rv, k, R->snaps, R->slotpos) != 0)
        return ad_error(R->ctx, AD_EINVAL, "reverse-checkpoint: %s", rv.why);
    int rc = AD_OK;
    while (rc == AD_OK) {
        switch (ad_revolve_next(&rv)) {
        case AD_REV_ADVANCE: rc = advance(R, rv.from, rv.capo); break;
        case AD_REV_TAKESHOT: rc = takeshot(R, rv.check); break;
        case AD_REV_RESTORE: rc = restore(R, rv.check); break;
        case AD_REV_FIRSTURN: rc = turn(R, rv.capo, true); break;
        case AD_REV_YOUTURN: rc = turn(R, rv.capo, false); break;
        case AD_REV_TERMINATE: return AD_OK;
        case AD_REV_ERROR: return ad_error(R->ctx, AD_ESTATE, "reverse-checkpoint: the schedule failed: %s", rv.why);
        }
    }
    return rc;
}

/* One cotangent: y and x_0's adjoint (R->adj) for k steps; θ's .grad
 * accumulate. */
static int one_sweep(run *R, int64_t k)
{
    ad_incref(R->x0);
    set_owned(&R->cur, R->x0);
    if (k > 0) return schedule(R, k);
    /* no step: the loss of x_0 itself, recorded like a first turn */
    ad_ctx *ctx = R->ctx;
    ad_scope sc = ad_scope_begin(ctx);
    bool prev = ad_set_grad_enabled(ctx, true);
    ad_tensor *x = ad_detach(R->cur), *y = NULL, *g = NULL;
    int rc = x ? ad_requires_grad_(x, true) : ctx->err;
    if (rc == AD_OK && !(y = ad_iterate_loss(ctx, R->map, R->theta, x))) rc = ctx->err;
    ad_tensor *yd = rc == AD_OK ? ad_detach(y) : NULL;
    if (yd) ad_unscope(yd);
    set_owned(&R->y, yd);
    if (rc == AD_OK && ad_requires_grad(y)) rc = ad_backward(y, R->seed, 0);
    if (rc == AD_OK && !(g = ad_grad(x) ? ad_grad(x) : ad_deriv_zeros(ctx, ad_shape_of(x)))) rc = ctx->err;
    if (g) ad_incref(g);
    ad_set_grad_enabled(ctx, prev);
    ad_scope_end(ctx, sc, NULL);
    set_owned(&R->adj, g);
    set_owned(&R->cur, NULL);
    return rc;
}

/* Copies t (or zeros when t is NULL) into row r of G ([k, S]). */
static int put_row(ad_tensor *G, int64_t r, ad_tensor *t)
{
    if (!t) return AD_OK; /* G starts as zeros */
    ad_tensor *row = ad_row(G, r);
    if (!row) return G->ctx->err;
    ad_copy_raw(row, t);
    ad_tensor_free(row);
    return AD_OK;
}

/* Row r's seed: U's row, the unit cotangent r of y's shape, or NULL (1). */
static ad_tensor *seed_of(ad_ctx *ctx, ad_tensor *U, bool unit, const ad_tensor *y, int r)
{
    if (U) return ad_row(U, r);
    if (!unit) return NULL;
    ad_tensor *s = ad_zeros(ctx, ad_shape_of((ad_tensor *)y));
    if (s) ad_data(s)[r] = 1.0;
    return s;
}

/* Runs one sweep per row and fills G (x_0's and θ's gradient rows). */
static int sweep_rows(run *R, int64_t steps, ad_tensor *U, bool unit, int k, ad_tensor **G)
{
    ad_ctx *ctx = R->ctx;
    int rc = AD_OK;
    for (int r = 0; rc == AD_OK && r < k; r++) {
        ad_scope sr = ad_scope_begin(ctx);
        R->seed = seed_of(ctx, U, unit, R->y, r);
        if ((U || unit) && !R->seed) rc = ctx->err;
        if (rc == AD_OK) rc = one_sweep(R, steps);
        if (rc == AD_OK && G[0]) rc = put_row(G[0], r, R->adj);
        for (int i = 1; rc == AD_OK && i < 1 + R->map->nparams; i++) {
            if (G[i]) rc = put_row(G[i], r, ad_grad(R->theta[i - 1]));
            ad_clear_grad(R->theta[i - 1]);
        }
        R->seed = NULL;
        ad_scope_end(ctx, sr, NULL);
    }
    return rc;
}

/* Releases what a run holds. */
static void run_free(run *R)
{
    set_owned(&R->cur, NULL);
    set_owned(&R->adj, NULL);
    set_owned(&R->y, NULL);
    for (int i = 0; R->snap && i < R->snaps; i++) set_owned(&R->snap[i], NULL);
    if (R->snap) ad_mem_free(R->ctx, R->snap, sizeof *R->snap * (size_t)R->snaps, AD_MEM_META);
    if (R->slotpos) ad_mem_free(R->ctx, R->slotpos, sizeof *R->slotpos * (size_t)R->snaps, AD_MEM_META);
}

/* The slots for k steps. */
static int run_init(run *R, const ad_problem *p, int64_t steps, ad_tensor **x, ad_stats *st, ad_iterate_info *info)
{
    *R = (run){.ctx = p->ctx, .map = p->user, .theta = x + 1, .x0 = x[0], .st = st, .info = info};
    R->snaps = ad_iterate_budget(R->map, steps);
    R->snap = ad_mem_alloc(R->ctx, sizeof *R->snap * (size_t)R->snaps, AD_MEM_META);
    R->slotpos = ad_mem_alloc(R->ctx, sizeof *R->slotpos * (size_t)R->snaps, AD_MEM_META);
    if (!R->snap || !R->slotpos) return R->ctx->err;
    for (int i = 0; i < R->snaps; i++) R->snap[i] = NULL;
    if (info) *info = (ad_iterate_info){.steps = steps, .snaps = R->snaps};
    return AD_OK;
}

/* y (for U's shape or the unit rows), the rows, and one zero block per
 * differentiated input (k, never differentiable, gets zeros as in plain
 * reverse mode, where it is read as a number). */
static int prepare(run *R, const ad_problem *p, ad_tensor **x, ad_tensor *U, int *k, ad_tensor **G, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int rc = AD_OK;
    if (U || *k == 0) { /* the loss's shape is needed before the first sweep */
        ad_tensor *y = ad_call_f(p, x, st);
        if (!y) return ctx->err;
        ad_unscope(y);
        set_owned(&R->y, y);
        rc = count_rows(ctx, U, k, y);
    }
    for (int i = 0; rc == AD_OK && i < p->nin; i++)
        if (ad_wrt(p, i) && !(G[i] = ad_tangent_zeros(ctx, *k, ad_shape_of(x[i])))) rc = ctx->err;
    for (int i = 1; rc == AD_OK && i < 1 + R->map->nparams; i++)
        if (ad_wrt(p, i)) rc = ad_requires_grad_(x[i], true);
    return rc;
}

/* The checkpointed VJP of an iterated map; info (optional) says what the
 * schedule did. */
static int checkpointed(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, ad_eval *e, ad_stats *st,
                        ad_iterate_info *info)
{
    ad_ctx *ctx = p->ctx;
    int64_t steps = 0;
    int rc = ad_problem_check(p, b->name);
    if (rc == AD_OK) rc = ad_iterate_check(ctx, p->user, p->nin, p->in, &steps);
    if (rc == AD_OK && ad_fwd_width(ctx) > 0)
        rc = ad_error(ctx, AD_ESTATE, "%s: tangents are on (forward over reverse): snapshots would drop them; "
                                      "use the reverse backend for second derivatives", b->name);
    if (rc != AD_OK) return rc;
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS], *G[AD_MAX_INPUTS] = {0};
    run R = {0};
    rc = ad_prim_begin(&pr, p, true, -1, x);
    if (rc == AD_OK) rc = run_init(&R, p, steps, x, st, info);
    bool unit = !U && k == 0;
    if (rc == AD_OK) rc = prepare(&R, p, x, U, &k, G, st);
    if (rc == AD_OK) rc = sweep_rows(&R, steps, U, unit, k, G);
    if (rc == AD_OK && !U && !unit && st) st->passes++; /* the schedule's runs count as one pass */
    if (info) info->max_held = R.held;
    ad_tensor *y = rc == AD_OK && R.y ? ad_tensor_ref(R.y) : NULL;
    if (rc == AD_OK && !y) rc = ctx->err ? ctx->err : AD_ESTATE;
    run_free(&R);
    ad_prim_restore(&pr);
    return ad_vjp_finish(ctx, pr.scope, rc, p->nin, y, G, e);
}

static int ckpt_vjp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o, ad_eval *e,
                    ad_stats *st)
{
    if (p && p->f != ad_iterate_fn) return ad_backend_reverse.vjp(b, p, k, U, o, e, st);
    return checkpointed(b, p, k, U, e, st, NULL);
}

const ad_backend ad_backend_reverse_checkpoint = {
    .name = "reverse-checkpoint",
    .description = "reverse accumulation with binomial checkpointing (Revolve) over an iterated map (ad_iterate_fn): "
                   "at most snaps stored states, the others recomputed; plain reverse on any other f",
    .caps = AD_CAP_EXACT | AD_CAP_RULES | AD_CAP_REVERSE | AD_CAP_CHECKPOINT,
    .vjp = ckpt_vjp,
};

int ad_iterate_grad(ad_ctx *ctx, const ad_iterate *map, ad_tensor *const *in, const bool *wrt, ad_tensor **value,
                    ad_tensor **grad, ad_stats *st, ad_iterate_info *info)
{
    if (!ctx) return AD_EINVAL;
    int nin = ad_iterate_ninputs(map);
    if (nin < 0 || !in) return ad_error(ctx, AD_EINVAL, "iterate_grad: %s", !in ? "no inputs given" : "a malformed map");
    ad_problem p = {.ctx = ctx, .f = ad_iterate_fn, .user = (void *)map, .nin = nin, .in = in, .wrt = wrt};
    ad_snapshot snap;
    ad_stats local = {0};
    ad_snapshot_begin(ctx, &snap);
    ad_tensor *g[AD_MAX_INPUTS] = {0};
    ad_eval e = {.no_value = !value, .g = g};
    int rc = checkpointed(&ad_backend_reverse_checkpoint, &p, 1, NULL, &e, &local, info);
    ad_snapshot_end(ctx, &snap, &local);
    if (st) *st = local;
    if (value) *value = rc == AD_OK ? e.y : NULL;
    for (int i = 0; grad && i < nin; i++) grad[i] = NULL;
    /* [1, in_i.shape] rows into in_i's shape */
    for (int i = 0; rc == AD_OK && grad && i < nin; i++)
        if (g[i] && !(grad[i] = ad_reshape(g[i], ad_shape_of(in[i])))) rc = ctx->err;
    for (int i = 0; i < nin; i++) ad_tensor_free(g[i]);
    return rc;
}
