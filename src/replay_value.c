/* src/replay_value.c — a recorded program's value alone (ad_prog_value),
 * and its value at points that differ from a base point in one element
 * (ad_prog_moves_*): what central-replay needs of f (trace.h says why the
 * bits are the eager f's).
 *
 * Why: a difference rule evaluates f at x ± h·e_j for every j.  Eagerly
 * each evaluation of rosenbrock at n = 1e4 is 9 ops over 80 kB arrays
 * (~20 us), 2n of them 0.4 s.  For a blocked program a point x + t·e_j
 * differs from x in the blocks that read x_j only: those are run again
 * (128 elements each) and the sum's tree is added up along their paths,
 * the other nodes taken from the base point's tree. */
#include <string.h>

#include "ops/op.h"
#include "trace.h"

/* The leaves of the tree kept for moved points: the pairwise sum's own
 * leaves, the smallest blocks that give its bits, so that a moved point
 * reruns as little as possible. */
#define LEAF AD_REPLAY_BLOCK_MIN

/* f's value from the sum of its domain. */
static double finish(const ad_prog *g, double sum)
{
    return g->op[g->nop - 1].op == AD_OP_mean ? (0.0 + sum) / (double)g->dom : 0.0 + sum;
}

/* The sum over [lo, lo + n) by the pairwise tree (ad_replay_pw_sum's
 * splits) down to nodes of at most leaf elements; with node, each node's
 * value stored at its heap index k (children 2k + 1, 2k + 2). */
static double walk(ad_prog *g, ad_tensor *const *x, int64_t lo, int64_t n, int64_t leaf, double *node, int64_t k)
{
    double v;
    if (n <= leaf) {
        v = ad_prog_block_value(g, x, lo, n);
    } else {
        int64_t h = ad_pw_half(n);
        v = walk(g, x, lo, h, leaf, node, 2 * k + 1);
        v = v + walk(g, x, lo + h, n - h, leaf, node, 2 * k + 2);
    }
    if (node) node[k] = v;
    return v;
}

/* The largest heap index of the tree over n elements (root k). */
static int64_t last_index(int64_t n, int64_t k)
{
    if (n <= LEAF) return k;
    int64_t h = ad_pw_half(n);
    int64_t a = last_index(h, 2 * k + 1), b = last_index(n - h, 2 * k + 2);
    return a > b ? a : b;
}

/* The arena counted as values while a value run lasts (nothing is saved
 * for a reverse pass, nothing is an adjoint). */
static void count(ad_ctx *ctx, const ad_prog *g, int sign)
{
    ad_mem_account(ctx, AD_MEM_VALUES, sign * g->arena_n * (int64_t)sizeof(double));
}

/* Op by op over whole arrays: ad_prog_run without gradients. */
static int whole(ad_ctx *ctx, ad_prog *g, ad_tensor *const *x, double *y)
{
    double *const none[64] = {0};
    return ad_prog_run(ctx, g, x, NULL, y, none);
}

int ad_prog_value(ad_ctx *ctx, ad_prog *g, ad_tensor *const *x, double *y)
{
    if (!g->block) return whole(ctx, g, x, y);
    int rc = ad_prog_arena(ctx, g);
    if (rc != AD_OK) return rc;
    count(ctx, g, +1);
    y[0] = finish(g, walk(g, x, 0, g->dom, g->block, NULL, 0));
    count(ctx, g, -1);
    return AD_OK;
}

/* ---- points near a base point ------------------------------------------- */

int ad_prog_moves_begin(ad_prog_moves *mv, ad_ctx *ctx, ad_prog *g, ad_tensor *const *x)
{
    *mv = (ad_prog_moves){.ctx = ctx, .g = g, .x = x};
    if (!g->block) return AD_OK;
    int rc = ad_prog_arena(ctx, g);
    if (rc != AD_OK) return rc;
    count(ctx, g, +1);
    mv->counted = true;
    return AD_OK;
}

void ad_prog_moves_end(ad_prog_moves *mv)
{
    if (mv->node) ad_mem_free(mv->ctx, mv->node, (size_t)mv->nnode * sizeof(double), AD_MEM_META);
    if (mv->counted) count(mv->ctx, mv->g, -1);
    mv->node = NULL;
    mv->counted = false;
}

/* The base point's tree (made at the first value asked for). */
static int base_tree(ad_prog_moves *mv)
{
    if (mv->node) return AD_OK;
    ad_prog *g = mv->g;
    int64_t nn = last_index(g->dom, 0) + 1;
    double *node = ad_mem_alloc(mv->ctx, (size_t)nn * sizeof(double), AD_MEM_META);
    if (!node) return mv->ctx->err;
    walk(g, mv->x, 0, g->dom, LEAF, node, 0);
    mv->node = node;
    mv->nnode = nn;
    return AD_OK;
}

/* Whether the program's mv head reads input in (as its matrix or its
 * vector): every domain position then depends on every element of its
 * vector, so a moved element's blocks are not the ones at its index. */
static bool mv_reads(const ad_prog *g, int in)
{
    if (g->mv < 0) return false;
    const ad_pop *p = &g->op[g->mv];
    for (int k = 0; k < p->nin; k++) {
        const ad_slot *rt = &g->slot[g->slot[p->in[k]].root];
        if (rt->kind == AD_SLOT_IN && rt->input == in) return true;
    }
    return false;
}

/* The domain positions reading x[in][el]: through the input itself and
 * through each view of it at its offset.  false when there are more than
 * AD_PROG_DIRTY_MAX or an mv reads the input (the point is then evaluated
 * whole). */
static bool find_dirty(ad_prog_moves *mv, int in, int64_t el)
{
    const ad_prog *g = mv->g;
    mv->ndirty = 0;
    if (mv_reads(g, in)) return false;
    for (int s = 0; s < g->nslot; s++) {
        const ad_slot *sl = &g->slot[s], *rt = &g->slot[sl->root];
        if (rt->kind != AD_SLOT_IN || rt->input != in) continue;
        int64_t d = el - (sl->kind == AD_SLOT_VIEW ? sl->off : 0);
        if (d < 0 || d >= g->dom) continue;
        if (mv->ndirty == AD_PROG_DIRTY_MAX) return false;
        mv->dirty[mv->ndirty++] = d;
    }
    return true;
}

static bool dirty_in(const ad_prog_moves *mv, int64_t lo, int64_t n)
{
    for (int i = 0; i < mv->ndirty; i++)
        if (mv->dirty[i] >= lo && mv->dirty[i] < lo + n) return true;
    return false;
}

/* walk's sum where only the dirty leaves changed: the others' nodes come
 * from the base tree, the additions are walk's. */
static double walk_dirty(const ad_prog_moves *mv, int64_t lo, int64_t n, int64_t k)
{
    if (!dirty_in(mv, lo, n)) return mv->node[k];
    if (n <= LEAF) return ad_prog_block_value(mv->g, mv->x, lo, n);
    int64_t h = ad_pw_half(n);
    double v = walk_dirty(mv, lo, h, 2 * k + 1);
    return v + walk_dirty(mv, lo + h, n - h, 2 * k + 2);
}

int ad_prog_moved_value(ad_prog_moves *mv, int in, int64_t el, double v, double *y)
{
    ad_prog *g = mv->g;
    double *xj = in >= 0 ? &mv->x[in]->data[el] : NULL, x0 = xj ? *xj : 0;
    int rc = AD_OK;
    if (!g->block) { /* op by op: the whole program at the moved point */
        if (xj) *xj = v;
        rc = whole(mv->ctx, g, mv->x, y);
    } else if ((rc = base_tree(mv)) == AD_OK) {
        if (xj) *xj = v;
        if (!xj) y[0] = finish(g, mv->node[0]);
        else if (find_dirty(mv, in, el)) y[0] = finish(g, walk_dirty(mv, 0, g->dom, 0));
        else y[0] = finish(g, walk(g, mv->x, 0, g->dom, g->block, NULL, 0));
    }
    if (xj) *xj = x0;
    return rc;
}
