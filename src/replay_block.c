/* src/replay_block.c — blocked (strip-mined) replay: a program of
 * elementwise chains ending in a full sum or mean runs forward and
 * backward one block at a time (trace.h says what it accepts and why the
 * bits stay reverse's).
 *
 * Why: op by op over whole arrays, every intermediate and adjoint is an
 * array of its own, so rosenbrock's gradient at n = 1e6 moves ~35 arrays
 * through memory (bandwidth-bound, ~13.6 ms here).  Block by block the
 * intermediates and adjoints of a block stay in L1/L2; x is read and the
 * gradient written about once.
 *
 * The kernels are the library's own: ew_isa's loops (the vector width of
 * this CPU) for the arithmetic, SLEEF's through ad_simd_run for the
 * transcendental functions, and each share is computed as its rule's
 * expression (rounded once) before it is added, as the sweep does. */
#include <string.h>

#include "ops/ew_isa.h"
#include "ops/op.h"
#include "ops/simd.h"
#include "trace.h"

static bool is_root(const ad_slot *s) { return s->kind == AD_SLOT_IN || s->kind == AD_SLOT_CONST; }

/* ---- the plan ---------------------------------------------------------- */

/* Why op p (not the last) does not fit a domain of m elements, or NULL. */
static const char *op_misfit(const ad_prog *g, const ad_pop *p, int64_t m)
{
    if (p->op == AD_OP_sum || p->op == AD_OP_mean) return "a reduction before the last op";
    if (g->slot[p->out].numel != m) return "an intermediate of another length than the sum's input";
    if (p->op == AD_OP_mv) return NULL; /* the head: ad_prog_block_mv_plan */
    if (ad_rec_is_view_op(p->op))
        return is_root(&g->slot[p->in[0]]) ? NULL : "a view of an intermediate (or of a view)";
    for (int k = 0; k < p->nin; k++)
        if (g->slot[p->in[k]].numel != m) return "an op reads an array of another length than the sum's input";
    return NULL;
}

/* Whether the shares into input slot s arrive at every element in the
 * sweep's order (trace.h): from the third share on, an offset may not
 * exceed an earlier one. */
static bool order_fits(const ad_prog *g, int32_t s)
{
    int count = 0;
    int64_t lowest = 0;
    for (int k = g->nop - 1; k >= 0; k--) {
        const ad_pop *p = &g->op[k];
        for (int i = 0; i < p->nin; i++) {
            if (!p->rec || !((p->need >> i) & 1u) || p->in[i] != s) continue;
            int64_t off = ad_rec_is_view_op(p->op) ? g->slot[p->out].off : 0;
            if (count >= 2 && off > lowest) return false;
            lowest = count == 0 || off < lowest ? off : lowest;
            count++;
        }
    }
    return true;
}

/* Elements per block: the most (a power of two, AD_REPLAY_BLOCK_MIN to
 * AD_REPLAY_BLOCK_MAX) whose buffers fit AD_REPLAY_BLOCK_BYTES, so a
 * block's intermediates and adjoints stay in L1 between the forward and
 * the backward; at most m.  Measured here (rosenbrock and expsin at 1e5,
 * 15-17 buffers): blocks of 256 take 0.49 and 0.69 ms, of 1024 0.50 and
 * 0.86, of 4096 0.59 and 0.95; of 128 the per-block work shows (0.60). */
static int64_t block_size(const ad_prog *g, int64_t m)
{
    int64_t nbuf = 3;
    for (int s = 0; s < g->nslot; s++) {
        const ad_slot *sl = &g->slot[s];
        if (s == g->y) continue;
        nbuf += (sl->kind == AD_SLOT_BUF) + (sl->grad && sl->kind != AD_SLOT_IN);
    }
    int64_t b = AD_REPLAY_BLOCK_MAX;
    while (b > AD_REPLAY_BLOCK_MIN && nbuf * b * (int64_t)sizeof(double) > AD_REPLAY_BLOCK_BYTES) b /= 2;
    return m < b ? m : b;
}

/* Arena offsets for blocks of b elements: saved buffers (tape), other
 * buffers, the output and three scratch buffers (values), then adjoints. */
static void lay_out_blocked(ad_prog *g, int64_t b)
{
    g->tape_n = g->values_n = g->adj_n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int s = 0; s < g->nslot; s++) {
            ad_slot *sl = &g->slot[s];
            if (sl->kind != AD_SLOT_BUF || s == g->y || sl->saved != (pass == 0)) continue;
            sl->val = g->tape_n + g->values_n;
            *(pass == 0 ? &g->tape_n : &g->values_n) += b;
        }
    g->slot[g->y].val = g->tape_n + g->values_n;
    g->scratch = g->slot[g->y].val + 1;
    g->values_n += 1 + 3 * b;
    for (int s = 0; s < g->nslot; s++) {
        ad_slot *sl = &g->slot[s];
        sl->adj = -1;
        if (!sl->grad || sl->kind == AD_SLOT_IN || s == g->y) continue;
        sl->adj = g->tape_n + g->values_n + g->adj_n;
        g->adj_n += b;
    }
    g->arena_n = g->tape_n + g->values_n + g->adj_n;
    g->saved_in = 0; /* a block's backward reads the block of x its forward just read */
    g->block = b > 0 ? b : 1;
}

const char *ad_prog_block_plan(ad_prog *g)
{
    if (g->nop < 1) return "f's result is an input or a constant";
    const ad_pop *last = &g->op[g->nop - 1];
    if ((last->op != AD_OP_sum && last->op != AD_OP_mean) || last->out != g->y)
        return "f's result is not a full sum or mean";
    int64_t m = g->slot[last->in[0]].numel;
    for (int k = 0; k + 1 < g->nop; k++) {
        const char *why = op_misfit(g, &g->op[k], m);
        if (why) return why;
    }
    for (int s = 0; s < g->nslot; s++)
        if (g->slot[s].kind == AD_SLOT_IN && g->slot[s].grad && !order_fits(g, s))
            return "an input's shares would reach some elements out of the sweep's order";
    const char *why = ad_prog_block_mv_plan(g, m);
    if (why) return why;
    if (m < AD_REPLAY_SMALL) return "fewer elements than AD_REPLAY_SMALL (op by op is cheaper)";
    g->dom = m;
    lay_out_blocked(g, block_size(g, m));
    return NULL;
}

bool ad_prog_blocked(const ad_prog *p, const char **why)
{
    if (why) *why = p->why_not_blocked;
    return p->block > 0;
}

/* ---- one block ----------------------------------------------------------- */

typedef struct brun {
    ad_prog *g;
    ad_tensor *const *x;
    double *const *gr;
    double g0;                      /* the sum's adjoint (the seed) */
    bool back;                      /* whether there is a reverse pass */
    uint64_t mvin;                  /* inputs read by the mv head (their gradients are its own) */
    int64_t reach[64], wm[64];      /* per input: largest share offset; zeroed up to */
} brun;

/* Each slot's values and adjoint for the run of elements lo + [0, n) of
 * the block starting at lo - at (its buffers' values from element at). */
static void bind_block(const brun *r, int64_t lo, int64_t at)
{
    ad_prog *g = r->g;
    for (int s = 0; s < g->nslot; s++) {
        const ad_slot *sl = &g->slot[s], *rt = &g->slot[sl->root];
        if (sl->kind == AD_SLOT_BUF) {
            g->vp[s] = g->arena + sl->val + at;
        } else {
            double *base = rt->kind == AD_SLOT_IN ? r->x[rt->input]->data : g->pool + rt->off;
            g->vp[s] = base + (sl->kind == AD_SLOT_VIEW ? sl->off : 0) + lo;
        }
        if (sl->kind == AD_SLOT_IN) g->ap[s] = sl->grad && r->gr[sl->input] ? r->gr[sl->input] + lo : NULL;
        else g->ap[s] = sl->adj >= 0 ? g->arena + sl->adj : NULL;
    }
}

static void ew(ad_ew_isa_kind k, ad_ew_layout l, int64_t n, double *y, const double *a, const double *b)
{
    (*ad_ew_isa_table())[k][l](n, y, a, b, 0.0);
}

/* Op p's values over n elements (the same expressions as replay.c's). */
static void value_op(const ad_prog *g, const ad_pop *p, int64_t n)
{
    double *y = g->vp[p->out];
    const double *a = g->vp[p->in[0]], *b = p->nin > 1 ? g->vp[p->in[1]] : a, *s = &p->s;
    switch (p->op) {
    case AD_OP_neg: ew(AD_EWI_neg, AD_EWL_VV, n, y, a, a); break;
    case AD_OP_square: ew(AD_EWI_square, AD_EWL_VV, n, y, a, a); break;
    case AD_OP_sqrt: ew(AD_EWI_sqrt, AD_EWL_VV, n, y, a, a); break;
    case AD_OP_clone: memcpy(y, a, (size_t)n * sizeof *y); break;
    case AD_OP_add_s: ew(AD_EWI_add, AD_EWL_VS, n, y, a, s); break;   /* a + s */
    case AD_OP_mul_s: ew(AD_EWI_mul, AD_EWL_VS, n, y, a, s); break;   /* a * s */
    case AD_OP_div_s: ew(AD_EWI_div, AD_EWL_VS, n, y, a, s); break;   /* a / s */
    case AD_OP_rsub_s: ew(AD_EWI_rsub, AD_EWL_VS, n, y, a, s); break; /* s - a */
    case AD_OP_add: ew(AD_EWI_add, AD_EWL_VV, n, y, a, b); break;
    case AD_OP_sub: ew(AD_EWI_sub, AD_EWL_VV, n, y, a, b); break;
    case AD_OP_mul: ew(AD_EWI_mul, AD_EWL_VV, n, y, a, b); break;
    case AD_OP_div: ew(AD_EWI_div, AD_EWL_VV, n, y, a, b); break;
    default: ad_simd_run(ad_rec_simd_of(p->op), n, y, 1, a, 1); break;
    }
}

/* d = share (first) or d + share, share = kind(a, b) rounded on its own
 * (into tmp) as the sweep rounds it before adding. */
static void put(double *d, bool first, ad_ew_isa_kind k, ad_ew_layout l, int64_t n, const double *a,
                const double *b, double *tmp)
{
    if (first) {
        ew(k, l, n, d, a, b);
        return;
    }
    ew(k, l, n, tmp, a, b);
    ew(AD_EWI_add, AD_EWL_VV, n, d, d, tmp);
}

/* d = c (first) or d + c: a sum's share. */
static void put_const(double *d, bool first, int64_t n, double c)
{
    if (first)
        for (int64_t i = 0; i < n; i++) d[i] = c;
    else
        ew(AD_EWI_add, AD_EWL_VS, n, d, d, &c);
}

/* d = ȳ (first) or d + ȳ. */
static void put_copy(double *d, bool first, int64_t n, const double *gy)
{
    if (first) memcpy(d, gy, (size_t)n * sizeof *d);
    else ew(AD_EWI_add, AD_EWL_VV, n, d, d, gy);
}

/* Input k's share of op p (adjoint gy) over n elements, into d (the
 * expressions of replay.c's share, in the same rounding steps). */
static void share_op(const brun *r, const ad_pop *p, int k, double *d, bool first, const double *gy, int64_t n)
{
    const ad_prog *g = r->g;
    const double *a = g->vp[p->in[0]], *b = p->nin > 1 ? g->vp[p->in[1]] : a, *y = g->vp[p->out], *s = &p->s;
    double *t0 = g->arena + g->scratch, *t1 = t0 + g->block, *t2 = t1 + g->block;
    static const double two = 2.0;
    switch (p->op) {
    case AD_OP_neg: case AD_OP_rsub_s: put(d, first, AD_EWI_fneg, AD_EWL_VV, n, gy, gy, t0); break;
    case AD_OP_exp: put(d, first, AD_EWI_mul, AD_EWL_VV, n, gy, y, t0); break;
    case AD_OP_log: put(d, first, AD_EWI_div, AD_EWL_VV, n, gy, a, t0); break;
    case AD_OP_sin: /* g·cos x */
        ad_simd_run(AD_SIMD_COS, n, t1, 1, a, 1);
        put(d, first, AD_EWI_mul, AD_EWL_VV, n, gy, t1, t0);
        break;
    case AD_OP_cos: /* -(g·sin x) */
        ad_simd_run(AD_SIMD_SIN, n, t1, 1, a, 1);
        put(d, first, AD_EWI_fnegmul, AD_EWL_VV, n, gy, t1, t0);
        break;
    case AD_OP_tanh: put(d, first, AD_EWI_tanh_bw, AD_EWL_VV, n, gy, y, t0); break;
    case AD_OP_sigmoid: put(d, first, AD_EWI_sigmoid_bw, AD_EWL_VV, n, gy, y, t0); break;
    case AD_OP_square: put(d, first, AD_EWI_fmul2, AD_EWL_VV, n, gy, a, t0); break;
    case AD_OP_sqrt: /* g / (y·2) */
        ew(AD_EWI_mul, AD_EWL_VS, n, t1, y, &two);
        put(d, first, AD_EWI_div, AD_EWL_VV, n, gy, t1, t0);
        break;
    case AD_OP_mul_s: put(d, first, AD_EWI_mul, AD_EWL_VS, n, gy, s, t0); break;
    case AD_OP_div_s: put(d, first, AD_EWI_div, AD_EWL_VS, n, gy, s, t0); break;
    case AD_OP_sub:
        if (k == 1) put(d, first, AD_EWI_fneg, AD_EWL_VV, n, gy, gy, t0);
        else put_copy(d, first, n, gy);
        break;
    case AD_OP_mul: put(d, first, AD_EWI_mul, AD_EWL_VV, n, gy, k == 0 ? b : a, t0); break;
    case AD_OP_div:
        if (k == 0) {
            put(d, first, AD_EWI_div, AD_EWL_VV, n, gy, b, t0);
            break;
        }
        ew(AD_EWI_mul, AD_EWL_VV, n, t1, gy, a); /* -((g·a) / (b·b)) */
        ew(AD_EWI_mul, AD_EWL_VV, n, t2, b, b);
        ew(AD_EWI_div, AD_EWL_VV, n, t1, t1, t2);
        put(d, first, AD_EWI_fneg, AD_EWL_VV, n, t1, t1, t0);
        break;
    case AD_OP_sum: put_const(d, first, n, r->g0); break;
    case AD_OP_mean: put_const(d, first, n, r->g0 / (double)g->dom); break;
    default: put_copy(d, first, n, gy); break; /* add, add_s, clone: ȳ itself */
    }
}

/* The block's reverse pass: records newest first, as the sweep.  An
 * input's gradient was zeroed ahead (zero_ahead) and is only added to; a
 * view's share goes to its place in the input's gradient. */
static void backward_block(const brun *r, int64_t lo, int64_t n)
{
    ad_prog *g = r->g;
    uint8_t *present = g->present;
    for (int s = 0; s < g->nslot; s++) present[s] = g->slot[s].kind == AD_SLOT_IN;
    present[g->y] = 1;
    for (int k = g->nop - 1; k >= 0; k--) {
        const ad_pop *p = &g->op[k];
        if (!p->rec || !present[p->out]) continue;
        const double *gy = g->ap[p->out];
        if (p->op == AD_OP_mv) { /* both shares, straight into the gradients */
            ad_block_mv_share(g, r->x, r->gr, lo, n);
            continue;
        }
        for (int i = 0; i < p->nin; i++) {
            double *d = g->ap[p->in[i]];
            if (!((p->need >> i) & 1u) || !d) continue;
            if (!ad_rec_is_view_op(p->op)) {
                share_op(r, p, i, d, !present[p->in[i]], gy, n);
            } else if (g->slot[p->in[i]].kind == AD_SLOT_IN) {
                d += g->slot[p->out].off; /* x[lo + off ..] */
                put_copy(d, false, n, gy);
            } /* a constant's adjoint: read by nobody */
            present[p->in[i]] = 1;
        }
    }
}

/* Zeroes each gradient up to what the block at [lo, lo + n) may touch. */
static void zero_ahead(brun *r, int64_t lo, int64_t n)
{
    for (int i = 0; i < r->g->nin; i++) {
        if (!r->gr[i] || ((r->mvin >> i) & 1u)) continue;
        int64_t to = lo + n + r->reach[i], len = r->x[i]->numel;
        to = to < len ? to : len;
        if (to > r->wm[i]) memset(r->gr[i] + r->wm[i], 0, (size_t)(to - r->wm[i]) * sizeof(double));
        r->wm[i] = to > r->wm[i] ? to : r->wm[i];
    }
}

/* One block: its values and its shares, a run of elements at a time (the
 * whole block, or g->mv_rows rows of an mv head: the results of each
 * element do not depend on the runs), then its part of the sum. */
static double run_block(brun *r, int64_t lo, int64_t n)
{
    ad_prog *g = r->g;
    int64_t run = g->mv >= 0 ? g->mv_rows : n;
    for (int64_t at = 0; at < n; at += run) {
        int64_t c = n - at < run ? n - at : run;
        bind_block(r, lo + at, at);
        for (int k = 0; k + 1 < g->nop; k++) {
            if (k == g->mv) ad_block_mv_value(g, r->x, lo + at, c);
            else if (g->slot[g->op[k].out].kind != AD_SLOT_VIEW) value_op(g, &g->op[k], c);
        }
        if (r->back) {
            zero_ahead(r, lo + at, c);
            backward_block(r, lo + at, c);
        }
    }
    const ad_slot *sum_in = &g->slot[g->op[g->nop - 1].in[0]];
    if (sum_in->kind == AD_SLOT_BUF) return ad_replay_pw_sum(g->arena + sum_in->val, n);
    bind_block(r, lo, 0);
    return ad_replay_pw_sum(g->vp[g->op[g->nop - 1].in[0]], n);
}

double ad_prog_block_value(ad_prog *g, ad_tensor *const *x, int64_t lo, int64_t n)
{
    double *const none[64] = {0}; /* no gradients: bind_block reads them */
    brun r = {.g = g, .x = x, .gr = none, .back = false};
    return run_block(&r, lo, n);
}

/* The sum's pairwise tree (ad_replay_pw_sum's splits) down to nodes of at
 * most g->block elements, which are the blocks: left to right.  A node of
 * 128 or fewer is a leaf of the tree, so g->block >= 128 or >= m. */
static double run_tree(brun *r, int64_t lo, int64_t n)
{
    if (n <= r->g->block) return run_block(r, lo, n);
    int64_t h = ad_pw_half(n);
    double a = run_tree(r, lo, h);
    double b = run_tree(r, lo + h, n - h);
    return a + b;
}

void ad_prog_run_blocked(ad_prog *g, ad_tensor *const *x, const double *seed, double *y, double *const *gr)
{
    brun r = {.g = g, .x = x, .gr = gr, .g0 = seed ? seed[0] : 1.0, .back = g->slot[g->y].grad};
    for (int i = 0; i < g->nin; i++) r.reach[i] = r.wm[i] = 0;
    r.mvin = 0;
    for (int k = 0; g->mv >= 0 && k < 2; k++) { /* x̄ is only added to; Ā's rows are written */
        const ad_slot *sl = &g->slot[g->op[g->mv].in[k]];
        if (sl->kind != AD_SLOT_IN) continue;
        r.mvin |= 1ull << sl->input;
        bool written = k == 0 && r.back && (g->op[g->mv].need & 1u);
        if (gr[sl->input] && !written) memset(gr[sl->input], 0, (size_t)x[sl->input]->numel * sizeof(double));
    }
    for (int s = 0; s < g->nslot; s++) { /* how far past a block its shares reach */
        const ad_slot *sl = &g->slot[s], *rt = &g->slot[sl->root];
        if (sl->kind == AD_SLOT_VIEW && rt->kind == AD_SLOT_IN && sl->off > r.reach[rt->input])
            r.reach[rt->input] = sl->off;
    }
    double sum = run_tree(&r, 0, g->dom);
    const ad_pop *last = &g->op[g->nop - 1];
    y[0] = last->op == AD_OP_mean ? (0.0 + sum) / (double)g->dom : 0.0 + sum;
    for (int i = 0; i < g->nin; i++) /* past the last share, and all when nothing was swept */
        if (gr[i] && !((r.mvin >> i) & 1u) && r.wm[i] < x[i]->numel)
            memset(gr[i] + r.wm[i], 0, (size_t)(x[i]->numel - r.wm[i]) * sizeof(double));
}
