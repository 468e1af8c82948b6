/* src/replay.c — running a recorded program (ad_prog_run): its ops' value
 * kernels in order over the arena, then its recorded ops in reverse order,
 * each adding its inputs' shares into their adjoints, as the sweep would.
 *
 * Why the bits are reverse's: every value kernel is the op's own
 * expression (the SIMD functions through ad_simd_run, whose result
 * depends on the value alone; the full sum reduce.c's pairwise tree), and
 * every share is its VJP rule's expression in the rule's order, accumulated
 * in the sweep's order: records newest first, inputs in order, the first
 * share copied and later ones added (acc + share), a slice's share added
 * into its place in an accumulator that starts at zero.  A share is added
 * as it is computed: storing it first would round it the same way. */
#include <math.h>
#include <string.h>

#include "ops/op.h"
#include "ops/simd.h"
#include "trace.h"

/* reduce.c's pairwise sum of x[0..n) (its pw_id with unit stride): eight
 * lanes over blocks of 128, halves split at a multiple of 8. */
double ad_replay_pw_sum(const double *x, int64_t n)
{
    if (n <= 128) {
        double r[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) r[j] += x[i + j];
        double t = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) t += x[i];
        return t;
    }
    int64_t h = ad_pw_half(n);
    return ad_replay_pw_sum(x, h) + ad_replay_pw_sum(x + h, n - h);
}

typedef struct run {
    const ad_prog *g;
    double *const *vp, *const *ap; /* per slot: values, adjoint (NULL: none) */
} run;

/* Each slot's values and adjoint for this run (g->vp, g->ap): the inputs'
 * data and gradients are the caller's, the rest the arena's. */
static void bind(ad_prog *g, ad_tensor *const *x, double *const *gr)
{
    for (int s = 0; s < g->nslot; s++) {
        const ad_slot *sl = &g->slot[s], *rt = &g->slot[sl->root];
        double *base = rt->kind == AD_SLOT_IN      ? x[rt->input]->data
                       : rt->kind == AD_SLOT_CONST ? g->pool + rt->off
                                                   : g->arena + rt->val;
        g->vp[s] = sl->kind == AD_SLOT_VIEW ? base + sl->off : base;
        if (sl->kind == AD_SLOT_IN) g->ap[s] = sl->grad ? gr[sl->input] : NULL;
        else g->ap[s] = sl->adj >= 0 ? g->arena + sl->adj : NULL;
    }
}

static double *val(const run *r, int s) { return r->vp[s]; }
static double *adj(const run *r, int s) { return r->ap[s]; }

#define EACH(n, STMT)                            \
    do {                                         \
        for (int64_t i = 0; i < (n); i++) STMT;  \
    } while (0)

static void forward_op(const run *r, const ad_pop *p)
{
    const ad_slot *so = &r->g->slot[p->out];
    if (so->kind == AD_SLOT_VIEW) return; /* a view computes nothing */
    double *y = val(r, p->out);
    const double *a = val(r, p->in[0]), *b = p->nin > 1 ? val(r, p->in[1]) : NULL;
    int64_t n = so->numel, na = r->g->slot[p->in[0]].numel;
    double s = p->s;
    switch (p->op) {
    case AD_OP_neg: EACH(n, y[i] = -a[i]); break;
    case AD_OP_square: EACH(n, y[i] = a[i] * a[i]); break;
    case AD_OP_sqrt: EACH(n, y[i] = sqrt(a[i])); break;
    case AD_OP_clone: memcpy(y, a, (size_t)n * sizeof *y); break;
    case AD_OP_add_s: EACH(n, y[i] = a[i] + s); break;
    case AD_OP_mul_s: EACH(n, y[i] = a[i] * s); break;
    case AD_OP_div_s: EACH(n, y[i] = a[i] / s); break;
    case AD_OP_rsub_s: EACH(n, y[i] = s - a[i]); break;
    case AD_OP_add: EACH(n, y[i] = a[i] + b[i]); break;
    case AD_OP_sub: EACH(n, y[i] = a[i] - b[i]); break;
    case AD_OP_mul: EACH(n, y[i] = a[i] * b[i]); break;
    case AD_OP_div: EACH(n, y[i] = a[i] / b[i]); break;
    case AD_OP_sum: y[0] = 0.0 + ad_replay_pw_sum(a, na); break;
    case AD_OP_mean: y[0] = (0.0 + ad_replay_pw_sum(a, na)) / (double)na; break;
    case AD_OP_mv: ad_replay_mv_value(r->g, p, y, a, b); break;
    default: ad_simd_run(ad_rec_simd_of(p->op), n, y, 1, a, 1); break;
    }
}

/* d = share (first) or d + share (later), share = EXPR of element i. */
#define SHARE(d, first, n, EXPR)                  \
    do {                                          \
        if (first)                                \
            EACH(n, (d)[i] = (EXPR));             \
        else                                      \
            EACH(n, (d)[i] = (d)[i] + (EXPR));    \
    } while (0)

/* sin's and cos's shares, u·cos(v) and -(u·sin(v)), the factor by the
 * SIMD kernel a block at a time (fuse.c's order). */
static void share_trig(double *d, bool first, int64_t n, const double *g, const double *x, bool is_sin)
{
    double f[512];
    for (int64_t i0 = 0; i0 < n; i0 += 512) {
        int64_t m = n - i0 < 512 ? n - i0 : 512;
        ad_simd_run(is_sin ? AD_SIMD_COS : AD_SIMD_SIN, m, f, 1, x + i0, 1);
        double *di = d + i0;
        const double *gi = g + i0;
        if (is_sin) SHARE(di, first, m, gi[i] * f[i]);
        else SHARE(di, first, m, -(gi[i] * f[i]));
    }
}

/* Input k's share of op p (adjoint gy), into d. */
static void share(const run *r, const ad_pop *p, int k, double *d, bool first, const double *gy)
{
    const double *a = val(r, p->in[0]), *b = p->nin > 1 ? val(r, p->in[1]) : NULL;
    const double *y = val(r, p->out);
    int64_t n = r->g->slot[p->in[k]].numel;
    double s = p->s, g0 = gy[0];
    switch (p->op) {
    case AD_OP_neg: case AD_OP_rsub_s: SHARE(d, first, n, -gy[i]); break;
    case AD_OP_exp: SHARE(d, first, n, gy[i] * y[i]); break;
    case AD_OP_log: SHARE(d, first, n, gy[i] / a[i]); break;
    case AD_OP_sin: share_trig(d, first, n, gy, a, true); break;
    case AD_OP_cos: share_trig(d, first, n, gy, a, false); break;
    case AD_OP_tanh: SHARE(d, first, n, gy[i] * (1.0 - y[i] * y[i])); break;
    case AD_OP_sigmoid: SHARE(d, first, n, gy[i] * y[i] * (1.0 - y[i])); break;
    case AD_OP_square: SHARE(d, first, n, gy[i] * (2.0 * a[i])); break;
    case AD_OP_sqrt: SHARE(d, first, n, gy[i] / (y[i] * 2.0)); break;
    case AD_OP_mul_s: SHARE(d, first, n, gy[i] * s); break;
    case AD_OP_div_s: SHARE(d, first, n, gy[i] / s); break;
    case AD_OP_sub: if (k == 1) { SHARE(d, first, n, -gy[i]); break; } SHARE(d, first, n, gy[i]); break;
    case AD_OP_mul: SHARE(d, first, n, gy[i] * (k == 0 ? b : a)[i]); break;
    case AD_OP_div:
        if (k == 0) SHARE(d, first, n, gy[i] / b[i]);
        else SHARE(d, first, n, -((gy[i] * a[i]) / (b[i] * b[i])));
        break;
    case AD_OP_sum: SHARE(d, first, n, g0); break;
    case AD_OP_mean: SHARE(d, first, n, g0 / (double)n); break;
    case AD_OP_mv: ad_replay_mv_share(r->g, p, k, d, first, gy, a, b); break;
    case AD_OP_slice: {
        /* added where the slice came from, in an accumulator of zeros */
        const ad_slot *so = &r->g->slot[p->out], *si = &r->g->slot[p->in[0]];
        int64_t at = so->off - (si->kind == AD_SLOT_VIEW ? si->off : 0);
        if (first) memset(d, 0, (size_t)n * sizeof *d);
        double *dd = d + at;
        EACH(so->numel, dd[i] = dd[i] + gy[i]);
        break;
    }
    default: SHARE(d, first, n, gy[i]); break; /* add, add_s, clone, views: ȳ itself */
    }
}

static void backward_op(const run *r, const ad_pop *p, uint8_t *present)
{
    const double *gy = adj(r, p->out);
    for (int k = 0; k < p->nin; k++) {
        if (!((p->need >> k) & 1u)) continue;
        double *d = adj(r, p->in[k]);
        if (!d) continue; /* requires grad but collected by nobody (e.g. a constant marked in f) */
        share(r, p, k, d, !present[p->in[k]], gy);
        present[p->in[k]] = 1;
    }
}

/* The arena, allocated at the first run and parked with the program. */
int ad_prog_arena(ad_ctx *ctx, ad_prog *g)
{
    if (g->arena || g->arena_n == 0) return AD_OK;
    size_t bytes = (size_t)g->arena_n * sizeof(double);
    if (!(g->arena = ad_mem_alloc(ctx, bytes, AD_MEM_VALUES))) return ctx->err;
    ad_mem_account(ctx, AD_MEM_VALUES, -(int64_t)bytes); /* parked; counted per run below */
    return AD_OK;
}

/* While a run lasts its arena counts as reverse's memory would: saved
 * values as tape (the caller's inputs too, as a record saving them would
 * move them), other values, adjoints as tangents.  sign +1 then -1. */
static void account(ad_ctx *ctx, const ad_prog *g, ad_tensor *const *x, int sign)
{
    ad_mem_account2(ctx, AD_MEM_TAPE, sign * g->tape_n * 8, AD_MEM_VALUES, sign * g->values_n * 8);
    ad_mem_account(ctx, AD_MEM_TANGENTS, sign * g->adj_n * 8);
    for (int i = 0; g->saved_in >> i; i++) {
        if (!((g->saved_in >> i) & 1u)) continue;
        ad_storage *st = x[i]->st;
        if (st->external || st->tape_refs > 0) continue;
        if (sign > 0) ad_mem_recategorize(ctx, st->nbytes, st->cat, AD_MEM_TAPE);
        else ad_mem_recategorize(ctx, st->nbytes, AD_MEM_TAPE, st->cat);
    }
}

int ad_prog_run(ad_ctx *ctx, ad_prog *g, ad_tensor *const *x, const double *seed, double *y, double *const *gr)
{
    int rc = ad_prog_arena(ctx, g);
    if (rc != AD_OK) return rc;
    account(ctx, g, x, +1);
    if (g->block) {
        ad_prog_run_blocked(g, x, seed, y, gr);
        account(ctx, g, x, -1);
        return AD_OK;
    }
    bind(g, x, gr);
    run r = {.g = g, .vp = g->vp, .ap = g->ap};
    for (int k = 0; k < g->nop; k++) forward_op(&r, &g->op[k]);
    const ad_slot *ys = &g->slot[g->y];
    memcpy(y, val(&r, g->y), (size_t)ys->numel * sizeof *y);
    memset(g->present, 0, (size_t)g->nslot);
    double *gyd = ys->grad ? adj(&r, g->y) : NULL;
    if (gyd) {
        EACH(ys->numel, gyd[i] = seed ? seed[i] : 1.0);
        g->present[g->y] = 1;
    }
    for (int k = g->nop - 1; k >= 0; k--) {
        const ad_pop *p = &g->op[k];
        if (p->rec && g->present[p->out]) backward_op(&r, p, g->present);
    }
    uint64_t got = 0; /* inputs whose gradient was written */
    for (int s = 0; s < g->nslot; s++)
        if (g->slot[s].kind == AD_SLOT_IN && g->present[s]) got |= 1ull << g->slot[s].input;
    for (int i = 0; i < g->nin; i++)
        if (gr[i] && !((got >> i) & 1u)) memset(gr[i], 0, (size_t)x[i]->numel * sizeof(double));
    account(ctx, g, x, -1);
    return AD_OK;
}

void ad_prog_out_shape(const ad_prog *p, int *ndim, int64_t *shape)
{
    *ndim = p->y_ndim;
    memcpy(shape, p->y_shape, (size_t)p->y_ndim * sizeof(int64_t));
}

int64_t ad_prog_max_numel(const ad_prog *p)
{
    int64_t m = 0;
    for (int s = 0; s < p->nslot; s++)
        if (!ad_replay_mv_matrix(p, s)) m = p->slot[s].numel > m ? p->slot[s].numel : m;
    return m;
}
