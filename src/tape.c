/* src/tape.c — the tape's arena and the lifetime of its records
 * (ad_tape_*, ad_node_*).  See tape.h for the model.
 *
 * Records are bump-allocated in chunks, so recording an op costs no malloc
 * once the first chunk exists.  A record's size depends on its arity and
 * on the ranks of its tensors; everything it needs is in one block:
 *   [ad_node][ad_edge x nin][attr][input shapes][output shape] */
#include <string.h>

#include "ops/op.h"
#include "tape.h"

#define CHUNK_BYTES ((size_t)64 * 1024)

static size_t align8(size_t n) { return (n + 7u) & ~(size_t)7u; }

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

/* A new chunk on top of the arena, for a record of `size` bytes. */
static AD_COLD void *arena_grow(ad_tape *tape, size_t size)
{
    ad_ctx *ctx = tape->ctx;
    size_t cap = size > CHUNK_BYTES ? size : CHUNK_BYTES;
    ad_tape_chunk *n = ctx->alloc(ctx->alloc_ud, NULL, 0, sizeof *n + cap);
    if (!n) {
        ad_error(ctx, AD_ENOMEM, "out of memory growing the tape by %zu bytes", cap);
        return NULL;
    }
    ctx->mem.nalloc++;
    n->prev = tape->chunk;
    n->cap = cap;
    n->used = size;
    tape->chunk = n;
    return n->data;
}

/* A bump of the newest chunk: what recording costs once a chunk exists. */
static inline void *arena_alloc(ad_tape *tape, size_t size)
{
    ad_tape_chunk *c = tape->chunk;
    if (!c || c->cap - c->used < size) return arena_grow(tape, size);
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

static inline void save_storage(ad_ctx *ctx, ad_storage *st)
{
    if (st->external || st->tape_refs++ > 0) return;
    ad_mem_recategorize(ctx, st->nbytes, st->cat, AD_MEM_TAPE);
    ctx->tape->saved_bytes += st->nbytes;
}

/* Drops a saved reference to t; its storage leaves the tape's category
 * with the last one. */
static inline void unsave(ad_ctx *ctx, ad_tensor *t)
{
    ad_storage *st = t->st;
    if (!st->external && --st->tape_refs == 0) {
        ad_mem_recategorize(ctx, st->nbytes, AD_MEM_TAPE, st->cat);
        ctx->tape->saved_bytes -= st->nbytes;
    }
    ad_decref(t);
}

void ad_tape_save(ad_ctx *ctx, ad_tensor *t) { save_storage(ctx, t->st); }

void ad_tape_unsave(ad_ctx *ctx, ad_tensor *t) { unsave(ctx, t); }

/* Give back the space of dead records on top of the tape. */
static inline void pop_dead(ad_tape *tape)
{
    if (tape->hold > 0) return;
    while (tape->top && (tape->top->flags & AD_N_DEAD)) {
        ad_node *n = tape->top;
        ad_tape_chunk *c = tape->chunk;
        c->used -= n->size;
        tape->top = n->prev;
        if (c->used == 0 && c->prev) {
            tape->chunk = c->prev;
            chunk_free(tape->ctx, c);
        }
    }
}

#define NODE_BYTES ((sizeof(ad_node) + 7u) & ~(size_t)7u)
/* Room reserved per shape: every shape is copied whole (AD_MAX_DIMS axes,
 * a fixed-size copy, no loop) and the next one written over its unused
 * tail; the record then gives the room back. */
#define SHAPE_ROOM (AD_MAX_DIMS * sizeof(int64_t))

/* Why a record for op with nin inputs and attr_size bytes of attributes
 * cannot be made. */
static AD_COLD ad_node *record_too_big(ad_ctx *ctx, const ad_opdef *op, int nin, size_t attr_size)
{
    if (nin > UINT16_MAX)
        ad_error(ctx, AD_ELIMIT, "%s: %d inputs cannot be recorded (at most %d)", op->name, nin, UINT16_MAX);
    else
        ad_error(ctx, AD_ELIMIT, "%s: %zu bytes of attributes are too large for a tape record", op->name,
                 attr_size);
    return NULL;
}

/* t's shape into SHAPE_ROOM bytes at dst: the two leading axes always
 * (two loads and stores: most shapes have at most two), the rest only
 * when there are more (a whole copy of the room was 12 instructions). */
static inline void copy_shape(int64_t *dst, const ad_tensor *t)
{
    dst[0] = t->shape[0];
    dst[1] = t->shape[1];
    if (AD_UNLIKELY(t->ndim > 2)) memcpy(dst + 2, t->shape + 2, SHAPE_ROOM - 2 * sizeof(int64_t));
}

/* The record's header fields; edges and the trailing area come after. */
static inline void fill_header(ad_tape *tape, ad_node *n, const ad_opdef *op, int nin, ad_tensor *out,
                               ad_tensor *alias)
{
    n->prev = tape->top;
    n->op = op;
    n->out = out;
    n->saved_out = alias;
    n->saved_out_version = alias ? alias->st->version : 0;
    n->gout = NULL;
    n->reap_next = NULL;
    n->seq = tape->next_seq++;
    n->refs = 1; /* out->grad_fn */
    n->nin = (uint16_t)nin;
    n->flags = 0;
    n->out_ndim = (int8_t)out->ndim;
}

/* The attributes, edges, input shapes and output shape after n's header,
 * in one pass over the inputs: each edge's place on the graph (the record
 * that produced the input, or the leaf itself when it requires grad), the
 * value saved for the VJP (its storage counted as tape memory, its version
 * captured), its shape.  The attributes come first, so that attr is not
 * live across the loop (one register fewer: the loop then fits the
 * caller-saved ones).  Returns the record's size in bytes. */
static inline size_t fill_edges(ad_ctx *ctx, ad_node *n, uint32_t save, int nin, ad_tensor *const *in,
                                const ad_tensor *out, const void *attr, size_t attr_size, bool small_attr)
{
    ad_edge *e = (ad_edge *)((char *)n + NODE_BYTES);
    int64_t *sh = (int64_t *)(e + nin);
    n->edges = e;
    n->attr_size = (uint32_t)attr_size;
    n->attr = attr_size ? (void *)sh : NULL;
    if (small_attr) { /* constant-size copies: no call to memcpy */
        if (attr_size >= 8) memcpy(sh, attr, 8);
        if (attr_size == 16) memcpy(sh + 1, (const char *)attr + 8, 8);
    } else if (attr_size) {
        memcpy(sh, attr, attr_size);
    }
    sh += align8(attr_size) / sizeof *sh;
    save &= AD_SAVE_ALL_IN; /* bit i: input i's value is saved; shifted out one per input */
    for (int i = 0; i < nin; i++, e++, save >>= 1) {
        ad_tensor *src = in[i];
        e->node = NULL;
        e->leaf = NULL;
        if (src->flags & AD_T_REQUIRES_GRAD) {
            if (src->grad_fn) {
                e->node = src->grad_fn;
                e->node->refs++;
            } else {
                e->leaf = src;
                src->refs++;
            }
        }
        e->saved = NULL;
        e->version = 0;
        if (save & 1u) {
            e->saved = src;
            src->refs++;
            save_storage(ctx, src->st);
            e->version = src->st->version;
        }
        e->ndim = src->ndim;
        e->shape = sh;
        copy_shape(sh, src);
        sh += src->ndim;
    }
    copy_shape(sh, out);
    n->out_shape = sh;
    sh += out->ndim;
    return (size_t)((char *)sh - (char *)n);
}

/* Puts n (size bytes, the newest block of the newest chunk) on top of the
 * tape, its bytes counted, as out's grad_fn (out had none). */
static inline void push_top(ad_ctx *ctx, ad_tape *tape, ad_node *n, size_t size, ad_tensor *out)
{
    n->size = (uint32_t)size;
    tape->top = n;
    tape->recorded++;
    tape->live++;
    tape->bytes += (int64_t)size;
    ad_mem_grow(ctx, AD_MEM_TAPE, (int64_t)size);
    out->grad_fn = n;
    out->flags = (out->flags | AD_T_REQUIRES_GRAD) & ~(uint32_t)AD_T_RELEASED;
}

/* [ad_node][ad_edge x nin][attr][input shapes][output shape]: room for
 * the largest shapes is reserved, what they leave is given back (one
 * pass over the inputs instead of two).  With the bounds ad_tape_push
 * tests, a record stays far below 4 GB. */
static inline size_t record_room(int nin, size_t attr_size)
{
    return NODE_BYTES + (size_t)nin * sizeof(ad_edge) + (size_t)(nin + 1) * SHAPE_ROOM + align8(attr_size);
}

/* Every case: a saved output's alias, a new chunk, an output that had a
 * record already. */
static AD_NOINLINE ad_node *push_general(const ad_opdef *op, int nin, ad_tensor *const *in, ad_tensor *out,
                                        const void *attr, size_t attr_size)
{
    ad_ctx *ctx = out->ctx;
    ad_tape *tape = ctx->tape;
    if (nin > UINT16_MAX || attr_size > UINT32_MAX / 2) return record_too_big(ctx, op, nin, attr_size);
    size_t room = record_room(nin, attr_size);
    ad_tensor *alias = NULL;
    if (op->save & AD_SAVE_OUT) {
        alias = ad_alias(out, true);
        if (!alias) return NULL;
        ad_unscope(alias);
    }
    ad_node *n = arena_alloc(tape, room);
    if (!n) {
        if (alias) ad_decref(alias);
        return NULL;
    }
    if (alias) save_storage(ctx, alias->st); /* the alias's reference becomes the tape's */
    fill_header(tape, n, op, nin, out, alias);
    size_t size = fill_edges(ctx, n, op->save, nin, in, out, attr, attr_size, false);
    if (out->grad_fn) ad_node_decref(ctx, out->grad_fn);
    tape->chunk->used -= room - size; /* the room not used is given back */
    push_top(ctx, tape, n, size, out);
    return n;
}

/* The common record (no saved output, room in the chunk, a fresh output,
 * at most two words of attributes) makes no call, so it needs no stack frame: the general path's register
 * saves and spills were ~25 of the ~170 instructions of a record. */
ad_node *ad_tape_push(const ad_opdef *op, int nin, ad_tensor *const *in, ad_tensor *out, const void *attr,
                      size_t attr_size)
{
    ad_ctx *ctx = out->ctx;
    ad_tape *tape = ctx->tape;
    ad_tape_chunk *c = tape->chunk;
    size_t room = record_room(nin, attr_size); /* nin and attr_size tested before it is used */
    if (AD_UNLIKELY(nin > UINT16_MAX || (attr_size != 0 && attr_size != 8 && attr_size != 16) ||
                    (op->save & AD_SAVE_OUT) || !c ||
                    c->cap - c->used < room || out->grad_fn))
        return push_general(op, nin, in, out, attr, attr_size);
    ad_node *n = (ad_node *)((char *)c->data + c->used);
    fill_header(tape, n, op, nin, out, NULL);
    size_t size = fill_edges(ctx, n, op->save, nin, in, out, attr, attr_size, true);
    tape->chunk->used += size; /* the room tested above, only what is used taken */
    push_top(ctx, tape, n, size, out);
    return n;
}

/* The body of ad_node_release, inline in ad_node_reap too: a record's
 * death pays one frame, not three. */
static inline void release_record(ad_ctx *ctx, ad_node *n)
{
    if (n->flags & AD_N_RELEASED) return;
    n->flags |= AD_N_RELEASED;
    /* a released record keeps only its shell (for the "backward a second
     * time" error): it no longer counts as tape memory */
    ctx->tape->bytes -= n->size;
    ad_mem_shrink(ctx, AD_MEM_TAPE, (int64_t)n->size);
    if (n->out) n->out->flags |= AD_T_RELEASED;
    ad_edge *e = n->edges;
    for (int i = 0; i < n->nin; i++, e++) {
        ad_tensor *saved = e->saved, *leaf = e->leaf;
        ad_node *node = e->node;
        e->saved = NULL;
        e->leaf = NULL;
        e->node = NULL;
        if (saved) unsave(ctx, saved);
        if (leaf) ad_decref(leaf);
        if (node) ad_node_decref(ctx, node);
    }
    ad_tensor *so = n->saved_out, *g = n->gout;
    n->saved_out = NULL;
    n->gout = NULL;
    if (so) unsave(ctx, so);
    if (g) ad_decref(g);
}

void ad_node_release(ad_ctx *ctx, ad_node *n) { release_record(ctx, n); }

/* n has no reference left: released, marked dead, its space given back
 * when it is on top. */
static inline void reap_record(ad_ctx *ctx, ad_node *n)
{
    ad_tape *tape = ctx->tape;
    n->out = NULL;
    release_record(ctx, n);
    n->flags |= AD_N_DEAD;
    tape->live--;
    pop_dead(tape);
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
    reap_record(ctx, n);
    ctx->reaping = false;
    if (ctx->reap || tape->reap) ad_reap(ctx);
}

void ad_node_drop_out(ad_ctx *ctx, ad_node *n)
{
    if (--n->refs == 0) reap_record(ctx, n);
}

void ad_node_reap(ad_ctx *ctx, ad_node *n) { reap_record(ctx, n); }

void ad_tape_hold(ad_ctx *ctx, int delta)
{
    ctx->tape->hold += delta;
    if (ctx->tape->hold == 0) pop_dead(ctx->tape);
}
