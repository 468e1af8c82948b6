/* src/progs.c — the context's programs for reverse-replay (ad_progs_*):
 * a few entries keyed by (f, user, input shapes, which inputs are
 * differentiated), each a program or the reason there is none, the least
 * recently used replaced first; parked between calls (ad_mem_stats.cached)
 * and given back by ad_ctx_trim and ad_ctx_free.  Also the report of the
 * last call (ad_replay_last). */
#include <stdio.h>
#include <string.h>

#include "trace.h"

#define AD_PROGS_MAX 8

struct ad_prog_entry {
    ad_prog_key key;
    int64_t *shapes;   /* per input: ndim, then the dims (nin * (1 + AD_MAX_DIMS)) */
    ad_prog *prog;     /* NULL: f cannot be replayed, for `why` */
    char why[AD_REC_WHY];
    uint64_t used;     /* stamp of the last use */
};

typedef struct ad_progs {
    ad_prog_entry e[AD_PROGS_MAX];
    int n;
    uint64_t clock;
    ad_replay_report last;
} ad_progs;

static size_t shapes_bytes(int nin) { return (size_t)nin * (1 + AD_MAX_DIMS) * sizeof(int64_t); }

static bool shapes_match(const int64_t *sh, int nin, ad_tensor *const *in)
{
    for (int i = 0; i < nin; i++, sh += 1 + AD_MAX_DIMS) {
        if (sh[0] != in[i]->ndim) return false;
        for (int d = 0; d < in[i]->ndim; d++)
            if (sh[1 + d] != in[i]->shape[d]) return false;
    }
    return true;
}

static size_t prog_bytes(const ad_prog *p) { return p->bytes + (p->arena ? (size_t)p->arena_n * sizeof(double) : 0); }

int64_t ad_progs_parked(const ad_ctx *ctx)
{
    const ad_progs *ps = ctx->progs;
    if (!ps) return 0;
    int64_t b = (int64_t)sizeof *ps;
    for (int i = 0; i < ps->n; i++) {
        b += (int64_t)shapes_bytes(ps->e[i].key.nin);
        if (ps->e[i].prog) b += (int64_t)prog_bytes(ps->e[i].prog);
    }
    return b;
}

/* Parked memory is not live: freed by the allocator directly. */
static void raw_free(ad_ctx *ctx, void *p, size_t n)
{
    if (!p) return;
    ctx->alloc(ctx->alloc_ud, p, n, 0);
    ctx->mem.nfree++;
}

static void entry_free(ad_ctx *ctx, ad_prog_entry *e)
{
    raw_free(ctx, e->shapes, shapes_bytes(e->key.nin));
    if (e->prog) {
        raw_free(ctx, e->prog->arena, (size_t)e->prog->arena_n * sizeof(double));
        raw_free(ctx, e->prog, e->prog->bytes);
    }
    e->shapes = NULL;
    e->prog = NULL;
}

int64_t ad_progs_free(ad_ctx *ctx)
{
    ad_progs *ps = ctx->progs;
    if (!ps) return 0;
    int64_t freed = ad_progs_parked(ctx);
    for (int i = 0; i < ps->n; i++) entry_free(ctx, &ps->e[i]);
    raw_free(ctx, ps, sizeof *ps);
    ctx->progs = NULL;
    return freed;
}

void ad_prog_free(ad_ctx *ctx, ad_prog *p)
{
    if (!p) return; /* a program not stored yet: its block is live, its arena (if any) parked */
    raw_free(ctx, p->arena, (size_t)p->arena_n * sizeof(double));
    ad_mem_free(ctx, p, p->bytes, AD_MEM_META);
}

ad_prog_entry *ad_progs_find(ad_ctx *ctx, const ad_prog_key *key, ad_tensor *const *in)
{
    ad_progs *ps = ctx->progs;
    for (int i = 0; ps && i < ps->n; i++) {
        ad_prog_entry *e = &ps->e[i];
        if (e->key.f == key->f && e->key.user == key->user && e->key.nin == key->nin && e->key.wrt == key->wrt &&
            e->key.value_only == key->value_only &&
            e->key.shape_hash == key->shape_hash && shapes_match(e->shapes, key->nin, in)) {
            e->used = ++ps->clock;
            return e;
        }
    }
    return NULL;
}

/* The context's table, made on first use; NULL when the allocator
 * refuses (no error recorded: the report of a call that succeeded must
 * not turn it into a failure).  Parked: never live, counted as cached. */
static ad_progs *table(ad_ctx *ctx)
{
    if (!ctx->progs) {
        ad_progs *ps = ctx->alloc(ctx->alloc_ud, NULL, 0, sizeof *ps);
        if (!ps) return NULL;
        ctx->mem.nalloc++;
        memset(ps, 0, sizeof *ps);
        ctx->progs = ps;
    }
    return ctx->progs;
}

/* Space for one more entry: a free one, or the least recently used. */
static ad_prog_entry *entry_slot(ad_ctx *ctx)
{
    ad_progs *ps = table(ctx);
    if (!ps) return NULL;
    if (ps->n < AD_PROGS_MAX) return &ps->e[ps->n++];
    ad_prog_entry *old = &ps->e[0];
    for (int i = 1; i < ps->n; i++)
        if (ps->e[i].used < old->used) old = &ps->e[i];
    entry_free(ctx, old);
    return old;
}

int ad_progs_add(ad_ctx *ctx, const ad_prog_key *key, ad_tensor *const *in, ad_prog *prog, const char *why)
{
    int64_t *sh = ad_mem_alloc(ctx, shapes_bytes(key->nin), AD_MEM_META);
    ad_prog_entry *e = sh ? entry_slot(ctx) : NULL;
    if (sh && !e) ad_error(ctx, AD_ENOMEM, "reverse-replay: out of memory storing a program");
    if (!e) {
        if (sh) ad_mem_free(ctx, sh, shapes_bytes(key->nin), AD_MEM_META);
        ad_prog_free(ctx, prog);
        return ctx->err;
    }
    memset(sh, 0, shapes_bytes(key->nin));
    for (int i = 0; i < key->nin; i++) {
        int64_t *s = sh + (size_t)i * (1 + AD_MAX_DIMS);
        s[0] = in[i]->ndim;
        memcpy(s + 1, in[i]->shape, (size_t)in[i]->ndim * sizeof(int64_t));
    }
    /* parked from now on: not live, counted as cached */
    ad_mem_account(ctx, AD_MEM_META, -(int64_t)(shapes_bytes(key->nin) + (prog ? prog->bytes : 0)));
    e->key = *key;
    e->shapes = sh;
    e->prog = prog;
    snprintf(e->why, sizeof e->why, "%s", why ? why : "");
    e->used = ++ctx->progs->clock;
    return AD_OK;
}

ad_prog *ad_prog_entry_prog(const ad_prog_entry *e) { return e->prog; }
const char *ad_prog_entry_why(const ad_prog_entry *e) { return e->why; }

void ad_progs_report(ad_ctx *ctx, int kind, const char *why, const ad_prog *prog)
{
    ad_progs *ps = table(ctx);
    if (!ps) return; /* out of memory: the report is the one thing lost */
    ad_replay_report *r = &ps->last;
    r->kind = kind;
    r->ops = prog ? prog->nop : 0;
    r->block = prog ? prog->block : 0;
    size_t n = why ? strlen(why) : 0; /* no snprintf: a replay's whole budget is a few thousand instructions */
    if (n >= sizeof r->reason) n = sizeof r->reason - 1;
    memcpy(r->reason, why ? why : "", n);
    r->reason[n] = 0;
}

int ad_replay_last(const ad_ctx *ctx, ad_replay_report *r)
{
    if (!ctx || !r) return AD_EINVAL;
    memset(r, 0, sizeof *r);
    if (!ctx->progs) return AD_OK;
    *r = ctx->progs->last;
    r->programs = ctx->progs->n;
    return AD_OK;
}
