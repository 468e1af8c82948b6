/* src/trace.c — the recorder (ad_rec_*): watches one evaluation of f and
 * builds the program reverse-replay runs afterwards.  trace.h holds the
 * design: what is recorded, what poisons a trace, the whitelist. */
#include <stdio.h>
#include <string.h>

#include "ops/index.h"
#include "ops/op.h"
#include "ops/simd.h"
#include "trace.h"

typedef struct {
    ad_slot s;
    ad_tensor *t;         /* one reference held while recording */
    uint32_t ver;         /* its storage's version when the slot was made */
} rec_slot;

typedef struct {
    ad_pop p;
    const char *bad;      /* why it cannot be replayed, or NULL */
} rec_op;

struct ad_rec {
    ad_ctx *ctx;
    rec_slot *slot;
    int64_t nslot, slotcap;
    rec_op *op;
    int64_t nop, opcap;
    ad_tensor **hkey;     /* open addressing: tensor -> slot */
    int32_t *hval;
    int64_t hcap;
    double *pool;
    int64_t npool, poolcap;
    int nin;
    char why[AD_REC_WHY]; /* the first poison, or "" */
};

/* ---- growth and the tensor -> slot map ---------------------------------- */

/* Makes room for `need` entries of `each` bytes in *p (capacity *cap). */
static int grow(ad_ctx *ctx, void **p, int64_t need, int64_t *cap, size_t each)
{
    if (need <= *cap) return AD_OK;
    int64_t nc = *cap ? 2 * *cap : 64;
    while (nc < need) nc *= 2;
    void *q = ad_mem_realloc(ctx, *p, (size_t)*cap * each, (size_t)nc * each, AD_MEM_META);
    if (!q) return ctx->err;
    *p = q;
    *cap = nc;
    return AD_OK;
}

static uint64_t hash_ptr(const void *p) { return ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull; }

static int hash_put(ad_rec *r, ad_tensor *t, int32_t s);

static int hash_rehash(ad_rec *r)
{
    ad_ctx *ctx = r->ctx;
    int64_t oc = r->hcap, nc = oc ? 2 * oc : 256;
    ad_tensor **ok = r->hkey;
    int32_t *ov = r->hval;
    r->hkey = ad_mem_alloc(ctx, (size_t)nc * sizeof *r->hkey, AD_MEM_META);
    r->hval = r->hkey ? ad_mem_alloc(ctx, (size_t)nc * sizeof *r->hval, AD_MEM_META) : NULL;
    if (!r->hval) {
        ad_mem_free(ctx, r->hkey, (size_t)nc * sizeof *r->hkey, AD_MEM_META);
        r->hkey = ok;
        r->hval = ov;
        return ctx->err;
    }
    memset(r->hkey, 0, (size_t)nc * sizeof *r->hkey);
    r->hcap = nc;
    for (int64_t i = 0; i < oc; i++)
        if (ok[i]) hash_put(r, ok[i], ov[i]);
    ad_mem_free(ctx, ok, (size_t)oc * sizeof *ok, AD_MEM_META);
    ad_mem_free(ctx, ov, (size_t)oc * sizeof *ov, AD_MEM_META);
    return AD_OK;
}

static int hash_put(ad_rec *r, ad_tensor *t, int32_t s)
{
    if (2 * (int64_t)(r->nslot + 1) > r->hcap && hash_rehash(r) != AD_OK) return r->ctx->err;
    uint64_t m = (uint64_t)r->hcap - 1, h = hash_ptr(t) & m;
    while (r->hkey[h] && r->hkey[h] != t) h = (h + 1) & m;
    r->hkey[h] = t;
    r->hval[h] = s;
    return AD_OK;
}

static int32_t hash_get(const ad_rec *r, const ad_tensor *t)
{
    if (!r->hcap) return -1;
    uint64_t m = (uint64_t)r->hcap - 1, h = hash_ptr(t) & m;
    for (; r->hkey[h]; h = (h + 1) & m)
        if (r->hkey[h] == t) return r->hval[h];
    return -1;
}

/* ---- slots --------------------------------------------------------------- */

/* A new slot for t (a reference held until recording ends); -1 on failure. */
static int32_t add_slot(ad_rec *r, ad_tensor *t, int kind)
{
    if (r->nslot >= INT32_MAX || grow(r->ctx, (void **)&r->slot, r->nslot + 1, &r->slotcap, sizeof *r->slot))
        return -1;
    int32_t s = (int32_t)r->nslot;
    if (hash_put(r, t, s) != AD_OK) return -1;
    rec_slot *rs = &r->slot[s];
    memset(rs, 0, sizeof *rs);
    rs->s.numel = t->numel;
    rs->s.kind = (int8_t)kind;
    rs->s.root = s;
    rs->s.adj = -1;
    ad_incref(t);
    rs->t = t;
    rs->ver = t->st->version;
    r->nslot++;
    return s;
}

void ad_rec_poison(ad_ctx *ctx, const char *what)
{
    ad_rec *r = ctx->rec;
    if (r && !r->why[0]) snprintf(r->why, sizeof r->why, "%s", what);
}

void ad_rec_literal(ad_tensor *t)
{
    ad_rec *r = t ? t->ctx->rec : NULL;
    if (!r || !(t->flags & AD_T_CONTIG)) return; /* unknown: a read poisons */
    if (grow(r->ctx, (void **)&r->pool, r->npool + t->numel, &r->poolcap, sizeof(double)) != AD_OK) return;
    int32_t s = add_slot(r, t, AD_SLOT_CONST);
    if (s < 0) return;
    memcpy(r->pool + r->npool, t->data, (size_t)t->numel * sizeof(double));
    r->slot[s].s.off = r->npool;
    r->npool += t->numel;
}

/* ---- begin ---------------------------------------------------------------- */

int ad_rec_begin(ad_ctx *ctx, int nin, ad_tensor *const *x, const bool *wrt)
{
    ad_rec *r = ad_mem_alloc(ctx, sizeof *r, AD_MEM_META);
    if (!r) return ctx->err;
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    r->nin = nin;
    ctx->rec = r;
    for (int i = 0; i < nin; i++) {
        int32_t s = add_slot(r, x[i], AD_SLOT_IN);
        if (s < 0) return ctx->err; /* ad_rec_end frees what was made */
        r->slot[s].s.input = i;
        r->slot[s].s.grad = (int8_t)(wrt[i] ? 1 : 0);
    }
    return AD_OK;
}

/* ---- the op hook ------------------------------------------------------------ */

static bool in_set(int op, const int *set, int n)
{
    for (int i = 0; i < n; i++)
        if (set[i] == op) return true;
    return false;
}

static bool same_shape(const ad_tensor *a, const ad_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

bool ad_rec_is_view_op(int op)
{
    return op == AD_OP_slice || op == AD_OP_view || op == AD_OP_squeeze || op == AD_OP_unsqueeze;
}

ad_simd_fn ad_rec_simd_of(int op)
{
    switch (op) {
    case AD_OP_exp: return AD_SIMD_EXP;
    case AD_OP_log: return AD_SIMD_LOG;
    case AD_OP_sin: return AD_SIMD_SIN;
    case AD_OP_cos: return AD_SIMD_COS;
    case AD_OP_tanh: return AD_SIMD_TANH;
    default: return AD_SIMD_SIGMOID;
    }
}

/* Why the replay cannot run this op, or NULL (the whitelist of trace.h). */
static const char *op_bad(int op, int nin, ad_tensor *const *in, const ad_tensor *out)
{
    static const int unary[] = {AD_OP_neg, AD_OP_exp, AD_OP_log, AD_OP_sin, AD_OP_cos, AD_OP_tanh,
                                AD_OP_sigmoid, AD_OP_square, AD_OP_sqrt, AD_OP_clone,
                                AD_OP_add_s, AD_OP_mul_s, AD_OP_div_s, AD_OP_rsub_s};
    static const int binary[] = {AD_OP_add, AD_OP_sub, AD_OP_mul, AD_OP_div};
    if (!(out->flags & AD_T_CONTIG)) return "its result is not contiguous";
    if (ad_rec_is_view_op(op)) return out->st == in[0]->st ? NULL : "a copying view is not replayed";
    for (int i = 0; i < nin; i++)
        if (in[i]->st == out->st) return "its result shares memory with an input";
    if (in_set(op, unary, (int)(sizeof unary / sizeof *unary)))
        return out->numel == in[0]->numel ? NULL : "its result has another size";
    if (in_set(op, binary, (int)(sizeof binary / sizeof *binary)))
        return same_shape(in[0], in[1]) && same_shape(in[0], out) ? NULL : "broadcasting is not replayed";
    if (op == AD_OP_sum || op == AD_OP_mean) return out->numel == 1 ? NULL : "only full reductions are replayed";
    if (op == AD_OP_mv) return ad_rec_mv_bad(in[0], in[1]);
    return "the op is not replayed (not in the whitelist of src/trace.h)";
}

static int32_t out_slot(ad_rec *r, int op, ad_tensor *out, ad_tensor *in0, int32_t in0_slot)
{
    if (!ad_rec_is_view_op(op) || out->st != in0->st || in0_slot < 0) return add_slot(r, out, AD_SLOT_BUF);
    const ad_slot *b = &r->slot[in0_slot].s;
    int64_t off = (b->kind == AD_SLOT_VIEW ? b->off : 0) + (int64_t)(out->data - in0->data);
    int32_t root = b->root;
    int32_t s = add_slot(r, out, AD_SLOT_VIEW);
    if (s < 0) return -1;
    r->slot[s].s.root = root;
    r->slot[s].s.off = off;
    return s;
}

/* Appends the op; per-op problems (an unknown input, not whitelisted) mark
 * the op alone: they matter only if the op reaches y. */
static void record_op(ad_rec *r, int opid, ad_tensor *out, int nin, ad_tensor *const *in, const void *attr,
                      size_t attr_size)
{
    if (grow(r->ctx, (void **)&r->op, r->nop + 1, &r->opcap, sizeof *r->op) != AD_OK) return;
    rec_op *o = &r->op[r->nop];
    memset(o, 0, sizeof *o);
    o->p.op = (int16_t)opid;
    o->p.nin = (int8_t)(nin < 2 ? nin : 2);
    o->p.rec = out->grad_fn != NULL;
    o->p.in[0] = o->p.in[1] = -1;
    if (nin > 2) o->bad = "an op of more than two inputs is not replayed";
    for (int i = 0; i < o->p.nin; i++) {
        int32_t s = hash_get(r, in[i]);
        if (s < 0) o->bad = "it reads a tensor the trace does not know (made outside f, from caller memory, by the "
                            "RNG, or by a function that is not an op)";
        else if (r->slot[s].ver != in[i]->st->version) o->bad = "it reads a tensor written in place after it was made";
        o->p.in[i] = s;
        if (o->p.rec && (in[i]->flags & AD_T_REQUIRES_GRAD)) o->p.need |= (uint8_t)(1u << i);
    }
    if (!o->bad) o->bad = op_bad(opid, nin, in, out);
    if (attr && attr_size == sizeof(double)) memcpy(&o->p.s, attr, sizeof(double));
    int32_t s = out_slot(r, opid, out, in[0], o->p.in[0]);
    if (s < 0) return;
    o->p.out = s;
    r->slot[s].s.grad = o->p.rec;
    r->nop++;
}

ad_tensor *ad_rec_op(int opid, ad_tensor *out, int nin, ad_tensor *const *in, const void *attr, size_t attr_size)
{
    ad_ctx *ctx = nin > 0 ? in[0]->ctx : out ? out->ctx : NULL;
    ad_rec *r = ctx ? ctx->rec : NULL;
    if (!r || r->why[0]) return out;
    char msg[AD_REC_WHY];
    const char *name = ad_ops[opid].name;
    if (!out || nin < 1) {
        snprintf(msg, sizeof msg, "%s failed or has no input", name);
    } else if (hash_get(r, out) >= 0) {
        snprintf(msg, sizeof msg, "%s returned a tensor the trace already knows", name);
    } else {
        unsigned tan = 0;
        for (int i = 0; i < nin; i++) tan |= in[i]->tan_mask;
        if (!(tan & ctx->fwd_active)) {
            record_op(r, opid, out, nin, in, attr, attr_size);
            return out;
        }
        snprintf(msg, sizeof msg, "%s propagated forward-mode tangents inside f", name);
    }
    ad_rec_poison(ctx, msg);
    return out;
}

/* ---- the program ----------------------------------------------------------- */

/* Marks live[] the slots and ops y depends on (ops in reverse order: an
 * op is live when its output is).  Returns the first live op that cannot
 * be replayed, or -1. */
static int64_t mark_live(const ad_rec *r, int32_t y, uint8_t *live_slot, uint8_t *live_op)
{
    int64_t bad = -1;
    live_slot[y] = 1;
    for (int64_t k = r->nop - 1; k >= 0; k--) {
        const rec_op *o = &r->op[k];
        if (!live_slot[o->p.out]) continue;
        live_op[k] = 1;
        if (o->bad) bad = k;
        for (int i = 0; i < o->p.nin; i++)
            if (o->p.in[i] >= 0) live_slot[o->p.in[i]] = 1;
    }
    return bad;
}

/* Which buffers the reverse pass reads (the op's saved values, ops.def):
 * they count as tape while a replay runs. */
static void mark_saved(ad_rec *r, const uint8_t *live_op)
{
    for (int64_t k = 0; k < r->nop; k++) {
        const ad_pop *p = &r->op[k].p;
        if (!live_op[k] || !p->rec) continue;
        uint32_t save = ad_ops[p->op].save;
        for (int i = 0; i < p->nin; i++)
            if (save & (1u << i)) r->slot[r->slot[p->in[i]].s.root].s.saved = 1;
        if (save & AD_SAVE_OUT) r->slot[r->slot[p->out].s.root].s.saved = 1;
    }
}

/* Arena offsets: saved buffers, other buffers, then adjoints. */
static void lay_out(ad_prog *g)
{
    g->tape_n = g->values_n = g->adj_n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int s = 0; s < g->nslot; s++) {
            ad_slot *sl = &g->slot[s];
            if (sl->kind != AD_SLOT_BUF || sl->saved != (pass == 0)) continue;
            sl->val = g->tape_n + g->values_n;
            *(pass == 0 ? &g->tape_n : &g->values_n) += sl->numel;
        }
    g->saved_in = 0;
    for (int s = 0; s < g->nslot; s++) {
        ad_slot *sl = &g->slot[s];
        if (sl->kind == AD_SLOT_IN && sl->saved) g->saved_in |= 1ull << sl->input;
        sl->adj = -1;
        if (!sl->grad || sl->kind == AD_SLOT_IN) continue;
        sl->adj = g->tape_n + g->values_n + g->adj_n;
        g->adj_n += sl->numel;
    }
    g->mv_tmp = g->tape_n + g->values_n + g->adj_n;
    g->values_n += ad_replay_mv_scratch(g); /* after the adjoints: their offsets stay */
    g->arena_n = g->tape_n + g->values_n + g->adj_n;
}

/* The live slots and ops, renumbered, in one block (counted as meta). */
static ad_prog *compact(ad_rec *r, int32_t y, const uint8_t *live_slot, const uint8_t *live_op, int32_t *map)
{
    int ns = 0, no = 0;
    for (int64_t s = 0; s < r->nslot; s++) map[s] = live_slot[s] ? ns++ : -1;
    for (int64_t k = 0; k < r->nop; k++) no += live_op[k];
    size_t bytes = sizeof(ad_prog) + (size_t)ns * sizeof(ad_slot) + (size_t)no * sizeof(ad_pop) +
                   (size_t)r->npool * sizeof(double) + 2 * (size_t)ns * sizeof(double *) + (size_t)ns;
    ad_prog *g = ad_mem_alloc(r->ctx, bytes, AD_MEM_META);
    if (!g) return NULL;
    memset(g, 0, sizeof *g);
    g->mv = -1;
    g->bytes = bytes;
    g->nslot = ns;
    g->nop = no;
    g->nin = r->nin;
    g->slot = (ad_slot *)(g + 1);
    g->op = (ad_pop *)(g->slot + ns);
    g->pool = (double *)(g->op + no);
    g->npool = r->npool;
    g->vp = (double **)(g->pool + r->npool);
    g->ap = g->vp + ns;
    g->present = (uint8_t *)(g->ap + ns);
    if (r->npool) memcpy(g->pool, r->pool, (size_t)r->npool * sizeof(double));
    for (int64_t s = 0; s < r->nslot; s++) {
        if (map[s] < 0) continue;
        g->slot[map[s]] = r->slot[s].s;
        g->slot[map[s]].root = map[r->slot[s].s.root];
    }
    for (int64_t k = 0, j = 0; k < r->nop; k++) {
        if (!live_op[k]) continue;
        ad_pop p = r->op[k].p;
        for (int i = 0; i < p.nin; i++) p.in[i] = map[p.in[i]];
        p.out = map[p.out];
        g->op[j++] = p;
    }
    g->y = map[y];
    const ad_tensor *yt = r->slot[y].t;
    g->y_ndim = yt->ndim;
    memcpy(g->y_shape, yt->shape, (size_t)yt->ndim * sizeof(int64_t));
    lay_out(g);
    g->why_not_blocked = ad_prog_block_plan(g);
    return g;
}

static int build(ad_rec *r, int32_t y, ad_prog **prog, char *why)
{
    ad_ctx *ctx = r->ctx;
    size_t ls = (size_t)r->nslot, lo = (size_t)(r->nop ? r->nop : 1);
    uint8_t *live_slot = ad_mem_alloc(ctx, ls + lo, AD_MEM_META);
    int32_t *map = live_slot ? ad_mem_alloc(ctx, ls * sizeof *map, AD_MEM_META) : NULL;
    int rc = map ? AD_OK : ctx->err;
    if (rc == AD_OK) {
        uint8_t *live_op = live_slot + ls;
        memset(live_slot, 0, ls + lo);
        int64_t bad = mark_live(r, y, live_slot, live_op);
        if (bad >= 0) {
            snprintf(why, AD_REC_WHY, "op %lld (%s) cannot be replayed: %s", (long long)bad,
                     ad_ops[r->op[bad].p.op].name, r->op[bad].bad);
        } else {
            mark_saved(r, live_op);
            if (!(*prog = compact(r, y, live_slot, live_op, map))) rc = ctx->err;
        }
    }
    if (map) ad_mem_free(ctx, map, ls * sizeof *map, AD_MEM_META);
    if (live_slot) ad_mem_free(ctx, live_slot, ls + lo, AD_MEM_META);
    return rc;
}

static void rec_free(ad_rec *r)
{
    ad_ctx *ctx = r->ctx;
    for (int64_t s = 0; s < r->nslot; s++) ad_decref(r->slot[s].t);
    ad_mem_free(ctx, r->slot, (size_t)r->slotcap * sizeof *r->slot, AD_MEM_META);
    ad_mem_free(ctx, r->op, (size_t)r->opcap * sizeof *r->op, AD_MEM_META);
    ad_mem_free(ctx, r->hkey, (size_t)r->hcap * sizeof *r->hkey, AD_MEM_META);
    ad_mem_free(ctx, r->hval, (size_t)r->hcap * sizeof *r->hval, AD_MEM_META);
    ad_mem_free(ctx, r->pool, (size_t)r->poolcap * sizeof(double), AD_MEM_META);
    ad_mem_free(ctx, r, sizeof *r, AD_MEM_META);
}

int ad_rec_end(ad_ctx *ctx, ad_tensor *y, ad_prog **prog, char *why)
{
    ad_rec *r = ctx->rec;
    *prog = NULL;
    why[0] = 0;
    if (!r) return AD_OK;
    ctx->rec = NULL;
    int32_t ys = y ? hash_get(r, y) : -1;
    int rc = AD_OK;
    if (r->why[0])
        snprintf(why, AD_REC_WHY, "%s", r->why);
    else if (!y)
        snprintf(why, AD_REC_WHY, "f failed while it was traced");
    else if (ys < 0 || r->slot[ys].ver != y->st->version)
        snprintf(why, AD_REC_WHY, "f's result is not a tensor the trace made (or it was written in place)");
    else
        rc = build(r, ys, prog, why);
    rec_free(r);
    return rc;
}
