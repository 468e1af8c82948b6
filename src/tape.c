/* src/tape.c — the tape's arena and the lifetime of its records
 * (ad_tape_*, ad_node_*).  See tape.h for the model.
 *
 * Records are bump-allocated in chunks, so recording an op costs no malloc
 * once the first chunk exists.  A record's size depends on its arity and
 * on the ranks of its tensors; everything it needs is in one block:
 *   [ad_node][ad_edge x nin][input shapes][output shape][attr] */
#include <string.h>

#include "ops/op.h"
#include "tape.h"

#define CHUNK_BYTES ((size_t)64 * 1024)

typedef struct ad_tape_chunk {
    struct ad_tape_chunk *prev;
    size_t cap;  /* bytes of data[] */
    size_t used;
    max_align_t data[];
} ad_tape_chunk;

static size_t align8(size_t n) { return (n + 7u) & ~(size_t)7u; }

/* A shape of n axes (a handful): a loop, not a call of memcpy, whose set-up
 * was a tenth of what recording a 1-element op cost. */
static inline void dims_copy(int64_t *d, const int64_t *s, int n)
{
    for (int i = 0; i < n; i++) d[i] = s[i];
}

ad_tape *ad_tape_new(ad_ctx *ctx)
{
    ad_tape *t = ctx->alloc(ctx->alloc_ud, NULL, 0, sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->ctx = ctx;
    return t;
}

static void chunk_free(ad_ctx *ctx, ad_tape_chunk *c)
{
    ctx->alloc(ctx->alloc_ud, c, sizeof *c + c->cap, 0);
    ctx->mem.nfree++;
}

void ad_tape_free(ad_tape *tape)
{
    if (!tape) return;
    ad_ctx *ctx = tape->ctx;
    ad_tape_chunk *c = tape->chunk;
    while (c) {
        ad_tape_chunk *p = c->prev;
        chunk_free(ctx, c);
        c = p;
    }
    ad_mem_account(ctx, AD_MEM_TAPE, -tape->bytes);
    ctx->alloc(ctx->alloc_ud, tape, sizeof *tape, 0);
}

static void *arena_alloc(ad_tape *tape, size_t size)
{
    ad_ctx *ctx = tape->ctx;
    ad_tape_chunk *c = tape->chunk;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > CHUNK_BYTES ? size : CHUNK_BYTES;
        ad_tape_chunk *n = ctx->alloc(ctx->alloc_ud, NULL, 0, sizeof *n + cap);
        if (!n) {
            ad_error(ctx, AD_ENOMEM, "out of memory growing the tape by %zu bytes", cap);
            return NULL;
        }
        ctx->mem.nalloc++;
        n->prev = c;
        n->cap = cap;
        n->used = 0;
        tape->chunk = c = n;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

/* ---- saved storages: the tape's share of memory ----------------------------
 *
 * What a tape costs is mostly what it keeps alive for backward, not its
 * headers (2.4 kB of records beside 48 MB of saved tensors for rosenbrock
 * at 1e6).  So a storage that a record saves counts as AD_MEM_TAPE while
 * any record saves it: its bytes move from its category on the first save
 * and back on the last release, so a storage shared by many records (x
 * saved by every op that reads it) counts once, and nothing counts twice. */

void ad_tape_save(ad_ctx *ctx, ad_tensor *t)
{
    ad_storage *st = t->st;
    if (st->external || st->tape_refs++ > 0) return;
    ad_mem_recategorize(ctx, st->nbytes, st->cat, AD_MEM_TAPE);
    ctx->tape->saved_bytes += st->nbytes;
}

void ad_tape_unsave(ad_ctx *ctx, ad_tensor *t)
{
    ad_storage *st = t->st;
    if (!st->external && --st->tape_refs == 0) {
        ad_mem_recategorize(ctx, st->nbytes, AD_MEM_TAPE, st->cat);
        ctx->tape->saved_bytes -= st->nbytes;
    }
    ad_decref(t);
}

/* Give back the space of dead records on top of the tape. */
static void pop_dead(ad_tape *tape)
{
    ad_ctx *ctx = tape->ctx;
    if (tape->hold > 0) return;
    while (tape->top && (tape->top->flags & AD_N_DEAD)) {
        ad_node *n = tape->top;
        ad_tape_chunk *c = tape->chunk;
        c->used -= n->size;
        tape->top = n->prev;
        if (c->used == 0 && c->prev) {
            tape->chunk = c->prev;
            chunk_free(ctx, c);
        }
    }
}

/* Bytes of a record for op with these inputs, output and attributes, or 0
 * (with the error set) when it cannot be recorded. */
static size_t record_size(ad_ctx *ctx, const ad_opdef *op, int nin, ad_tensor *const *edge_src,
                          const ad_tensor *out, size_t attr_size)
{
    if (nin > UINT16_MAX) {
        ad_error(ctx, AD_ELIMIT, "%s: %d inputs cannot be recorded (at most %d)", op->name, nin, UINT16_MAX);
        return 0;
    }
    size_t shapes = (size_t)out->ndim;
    for (int i = 0; i < nin; i++) shapes += (size_t)edge_src[i]->ndim;
    size_t size = align8(sizeof(ad_node)) + (size_t)nin * sizeof(ad_edge) + shapes * sizeof(int64_t) +
                  align8(attr_size);
    if (size > UINT32_MAX) {
        ad_error(ctx, AD_ELIMIT, "%s: tape record of %zu bytes is too large", op->name, size);
        return 0;
    }
    return size;
}

/* Input src's edge: the record that produced it or the leaf itself when it
 * requires grad, the value saved for the VJP, its shape copied to sh.
 * Returns where the next shape goes. */
static int64_t *fill_edge(ad_ctx *ctx, ad_edge *e, ad_tensor *src, ad_tensor *saved, int64_t *sh)
{
    e->node = NULL;
    e->leaf = NULL;
    if (src->flags & AD_T_REQUIRES_GRAD) {
        if (src->grad_fn) {
            e->node = src->grad_fn;
            ad_node_incref(e->node);
        } else {
            e->leaf = src;
            ad_incref(src);
        }
    }
    e->saved = saved;
    if (e->saved) {
        ad_incref(e->saved);
        ad_tape_save(ctx, e->saved);
    }
    e->version = e->saved ? e->saved->st->version : 0;
    e->ndim = src->ndim;
    dims_copy(sh, src->shape, src->ndim);
    e->shape = sh;
    return sh + src->ndim;
}

/* The record's header fields; edges and the trailing area come after. */
static void fill_header(ad_tape *tape, ad_node *n, const ad_opdef *op, int nin, ad_tensor *out,
                        ad_tensor *alias, size_t size)
{
    n->prev = tape->top;
    n->op = op;
    n->out = out;
    n->saved_out = alias;
    n->saved_out_version = alias ? alias->st->version : 0;
    n->size = (uint32_t)size;
    n->gout = NULL;
    n->reap_next = NULL;
    n->seq = tape->next_seq++;
    n->refs = 1; /* out->grad_fn */
    n->nin = (uint16_t)nin;
    n->flags = 0;
    n->out_ndim = (int8_t)out->ndim;
}

/* Puts n on top of the tape, counts its bytes, and makes it out's grad_fn. */
static void link_record(ad_ctx *ctx, ad_tape *tape, ad_node *n, ad_tensor *out)
{
    tape->top = n;
    tape->recorded++;
    tape->live++;
    tape->bytes += (int64_t)n->size;
    ad_mem_account(ctx, AD_MEM_TAPE, (int64_t)n->size);

    if (out->grad_fn) ad_node_decref(ctx, out->grad_fn);
    out->grad_fn = n;
    out->flags |= AD_T_REQUIRES_GRAD;
    out->flags &= ~(uint32_t)AD_T_RELEASED;
}

ad_node *ad_tape_push(ad_ctx *ctx, const ad_opdef *op, int nin, ad_tensor *const *in, ad_tensor *out,
                      const void *attr, size_t attr_size)
{
    ad_tape *tape = ctx->tape;
    size_t size = record_size(ctx, op, nin, in, out, attr_size);
    if (!size) return NULL;
    ad_tensor *alias = NULL;
    if (op->save & AD_SAVE_OUT) {
        alias = ad_alias(out, true);
        if (!alias) return NULL;
        ad_unscope(alias);
    }
    char *p = arena_alloc(tape, size);
    if (!p) {
        if (alias) ad_decref(alias);
        return NULL;
    }
    if (alias) ad_tape_save(ctx, alias); /* the alias's reference becomes the tape's */
    /* [ad_node][ad_edge x nin][input shapes][output shape][attr] */
    ad_node *n = (ad_node *)p;
    n->edges = (ad_edge *)(p + align8(sizeof(ad_node)));
    int64_t *sh = (int64_t *)(n->edges + nin);
    fill_header(tape, n, op, nin, out, alias, size);
    uint32_t save = op->save;
    for (int i = 0; i < nin; i++) {
        bool keep = i < 16 && (save & AD_SAVE_IN(i));
        sh = fill_edge(ctx, &n->edges[i], in[i], keep ? in[i] : NULL, sh);
    }
    dims_copy(sh, out->shape, out->ndim);
    n->out_shape = sh;
    sh += out->ndim;
    n->attr_size = (uint32_t)attr_size;
    n->attr = attr_size ? (void *)sh : NULL;
    if (attr_size) memcpy(sh, attr, attr_size);
    link_record(ctx, tape, n, out);
    return n;
}

void ad_node_release(ad_ctx *ctx, ad_node *n)
{
    if (n->flags & AD_N_RELEASED) return;
    n->flags |= AD_N_RELEASED;
    /* a released record keeps only its shell (for the "backward a second
     * time" error): it no longer counts as tape memory */
    ctx->tape->bytes -= n->size;
    ad_mem_account(ctx, AD_MEM_TAPE, -(int64_t)n->size);
    if (n->out) n->out->flags |= AD_T_RELEASED;
    for (int i = 0; i < n->nin; i++) {
        ad_edge *e = &n->edges[i];
        ad_tensor *saved = e->saved, *leaf = e->leaf;
        ad_node *node = e->node;
        e->saved = NULL;
        e->leaf = NULL;
        e->node = NULL;
        if (saved) ad_tape_unsave(ctx, saved);
        if (leaf) ad_decref(leaf);
        if (node) ad_node_decref(ctx, node);
    }
    ad_tensor *so = n->saved_out, *g = n->gout;
    n->saved_out = NULL;
    n->gout = NULL;
    if (so) ad_tape_unsave(ctx, so);
    if (g) ad_decref(g);
}

void ad_node_decref(ad_ctx *ctx, ad_node *n)
{
    if (--n->refs > 0) return;
    ad_tape *tape = ctx->tape;
    if (!tape) return; /* context teardown */
    if (ctx->reaping) { /* a release in progress: queued, never recursive */
        n->reap_next = tape->reap;
        tape->reap = n;
        return;
    }
    /* released at once, then whatever it let go of (as ad_decref does) */
    ctx->reaping = true;
    ad_node_reap(ctx, n);
    ctx->reaping = false;
    if (ctx->reap || tape->reap) ad_reap(ctx);
}

void ad_node_reap(ad_ctx *ctx, ad_node *n)
{
    ad_tape *tape = ctx->tape;
    n->out = NULL;
    ad_node_release(ctx, n);
    n->flags |= AD_N_DEAD;
    tape->live--;
    pop_dead(tape);
}

void ad_tape_hold(ad_ctx *ctx, int delta)
{
    ctx->tape->hold += delta;
    if (ctx->tape->hold == 0) pop_dead(ctx->tape);
}
