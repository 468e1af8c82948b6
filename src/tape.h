/* src/tape.h — the reverse-mode tape: records appended by recorded ops.
 *
 * Records live in an arena owned by the context's tape, in the order they
 * were made (a Wengert list).  Each record holds what its op's VJP needs
 * (saved inputs with their versions, an alias of the output), the shapes of
 * its inputs and output, the op's parameters, and one edge per input to the
 * record that produced that input (or to the leaf that accumulates grad).
 *
 * Lifetime: a record is referenced by its output handle (grad_fn) and by
 * the edges of later records.  When no reference is left it dies: its saved
 * tensors are dropped at once and its bytes (and those of storages no other
 * record saves) leave AD_MEM_TAPE; the arena
 * space is reused when the records above it are gone too.  Backward
 * (src/sweep.c) sweeps the arena from newest to oldest.
 */
#ifndef ADSCOPE_TAPE_H
#define ADSCOPE_TAPE_H

#include "internal.h"

struct ad_opdef;

typedef struct ad_edge {
    struct ad_node *node; /* record that produced the input (strong ref), or NULL */
    ad_tensor *leaf;      /* the input when it is a leaf requiring grad (strong ref) */
    ad_tensor *saved;     /* the input, when the VJP needs its value (strong ref) */
    uint32_t version;     /* storage version of `saved` when it was saved */
    int32_t ndim;         /* shape of the input */
    const int64_t *shape; /* in the record's trailing area */
} ad_edge;

enum {
    AD_N_RELEASED = 1u << 0, /* saved tensors dropped (by backward or death) */
    AD_N_DEAD = 1u << 1,     /* no references left; space awaits reuse */
    AD_N_VISITED = 1u << 2,  /* scratch flag of autograd_grad: depends on an input */
    AD_N_INPUT = 1u << 3     /* scratch flag of autograd_grad: an input's record */
};

typedef struct ad_node {
    struct ad_node *prev;        /* the record made before this one */
    const struct ad_opdef *op;
    ad_tensor *out;              /* weak: the output handle while it lives */
    ad_tensor *saved_out;        /* alias of the output, if the VJP needs it */
    uint32_t saved_out_version;
    uint32_t size;               /* bytes of this record in AD_MEM_TAPE */
    ad_tensor *gout;             /* adjoint being accumulated by backward */
    struct ad_node *reap_next;   /* deferred-release list */
    uint64_t seq;                /* position on the tape, increasing */
    int32_t refs;
    uint16_t nin;
    uint8_t flags;
    int8_t out_ndim;
    const int64_t *out_shape;
    ad_edge *edges;              /* [nin] */
    const void *attr;            /* op parameters (attr_size bytes) */
    uint32_t attr_size;
} ad_node;

/* A block of the arena (tape.c): records are bumped from data[]. */
typedef struct ad_tape_chunk {
    struct ad_tape_chunk *prev;
    size_t cap;  /* bytes of data[] */
    size_t used;
    max_align_t data[];
} ad_tape_chunk;

struct ad_tape {
    ad_ctx *ctx;
    struct ad_tape_chunk *chunk; /* chunk holding the newest record */
    ad_node *top;                /* newest record, NULL when empty */
    uint64_t next_seq;
    int64_t recorded;            /* records appended since the counter reset */
    int64_t live;                /* records not dead */
    int64_t bytes;               /* sum of sizes of records not released */
    int64_t saved_bytes;         /* element bytes of the storages records save (each once) */
    ad_node *reap;               /* records waiting to be released */
    int hold;                    /* >0: a sweep walks the list; keep dead space */
};

ad_tape *ad_tape_new(ad_ctx *ctx);
void ad_tape_free(ad_tape *tape);

/* Appends a record for op with inputs in[0..nin) and output `out`: an
 * edge per input to its place on the graph, the inputs op->save names
 * (AD_SAVE_IN(i), i < 16) saved as the values the VJP will see, an alias
 * of out when it names AD_SAVE_OUT.  Sets out->grad_fn and marks out as
 * requiring grad.  Returns NULL on failure. */
ad_node *ad_tape_push(const struct ad_opdef *op, int nin, ad_tensor *const *in, ad_tensor *out, const void *attr,
                      size_t attr_size);

/* Hands one reference to t, which the caller holds, to a record (an
 * edge's saved value or the output's alias), and counts t's storage as tape memory while any record
 * saves it (tape.c says why); ad_tape_unsave drops that reference.  Code
 * that replaces a saved tensor goes through both. */
void ad_tape_save(ad_ctx *ctx, ad_tensor *t);
void ad_tape_unsave(ad_ctx *ctx, ad_tensor *t);

static inline void ad_node_incref(ad_node *n) { n->refs++; }
/* Drops a reference; a record left without references dies (deferred
 * through the context's release loop, never recursively). */
void ad_node_decref(ad_ctx *ctx, ad_node *n);
/* The same for the reference of n's output handle, called by the handle's
 * release (tensor.c: ctx->reaping is set).  The last reference releases n
 * at once, not through the release queue: what n lets go of is queued
 * there, so the depth stays one record whatever the graph. */
void ad_node_drop_out(ad_ctx *ctx, ad_node *n);
/* Whether what e holds keeps other references when e lets go of it, e
 * holding kn records and kt tensors: an edge links and saves the same x
 * (sin(x)), so a count is only known to survive when it exceeds all the
 * slots that might hold it. */
static AD_ALWAYS_INLINE bool ad_edge_kept(const ad_edge *e, int kn, int kt)
{
    return (!e->node || e->node->refs > kn) && (!e->leaf || e->leaf->refs > kt) &&
           (!e->saved || (e->saved->refs > kt && (e->saved->st->external || e->saved->st->tape_refs > kt)));
}

/* e's references dropped, when ad_edge_kept said so: only counts go down. */
static AD_ALWAYS_INLINE void ad_edge_let_go(const ad_edge *e)
{
    if (e->node) e->node->refs--;
    if (e->leaf) e->leaf->refs--;
    if (e->saved) {
        e->saved->refs--;
        if (!e->saved->st->external) e->saved->st->tape_refs--;
    }
}

/* ad_node_drop_out's common case, inline in the handle's release
 * (tensor.c): n dies with the last reference of its output and lets go of
 * nothing that dies with it (every edge's record, leaf and saved value
 * keeps another reference; no saved output, no adjoint; or backward
 * released it already), so its death is a few subtractions, and the
 * arena's pop when it is the newest record, with no call and no stack
 * frame (the general path's frames and queue tests were ~1/4 of a
 * recorded 1-element op).  Everything is tested before anything is
 * written: false means not this case, nothing done.  Same effects as
 * ad_node_drop_out: the bytes leave AD_MEM_TAPE, live goes down, and the
 * record is either given back to its chunk or left dead and released
 * (edges cleared) for pop_dead, as release_record leaves it. */
static AD_ALWAYS_INLINE bool ad_node_drop_out_fast(ad_ctx *cx, ad_node *n)
{
    ad_tape *tape = cx->tape;
    ad_tape_chunk *c = tape->chunk;
    if (n->refs != 1 || (n->flags & (uint8_t)~AD_N_RELEASED)) return false;
    bool top = tape->top == n && tape->hold == 0; /* popped at once: nothing reads it again */
    if (top && ((n->prev && (n->prev->flags & AD_N_DEAD)) || (c->used == n->size && c->prev))) return false;
    if (!(n->flags & AD_N_RELEASED)) {
        const ad_edge *e = n->edges; /* one input (a loop's registers would cost the path a frame) */
        if (!top || n->nin != 1 || n->saved_out || n->gout || !ad_edge_kept(e, 1, (e->leaf != NULL) + (e->saved != NULL)))
            return false; /* (not on top: release_record clears its edges for pop_dead to step over) */
        ad_edge_let_go(e);
        tape->bytes -= n->size;
        ad_mem_shrink(cx, AD_MEM_TAPE, (int64_t)n->size);
    }
    tape->live--;
    if (top) {
        c->used -= n->size;
        tape->top = n->prev;
    } else {
        n->refs = 0;
        n->out = NULL;
        n->flags = AD_N_RELEASED | AD_N_DEAD;
    }
    return true;
}

/* Drops the saved tensors and edges of a record (backward without retain). */
void ad_node_release(ad_ctx *ctx, ad_node *n);
/* While a backward sweep walks the records, dead records must keep their
 * place in the list: hold(+1) before, hold(-1) after (which reclaims). */
void ad_tape_hold(ad_ctx *ctx, int delta);
/* Called by the release loop in tensor.c. */
void ad_node_reap(ad_ctx *ctx, ad_node *n);

/* The sequence number the next record will get: every record on a path
 * from a tensor made after this call is at least this (sweep.c prunes). */
static inline uint64_t ad_tape_next_seq(const ad_ctx *cx) { return cx->tape->next_seq; }
/* ad_autograd_grad, walking only the records numbered since or later
 * (the caller knows the inputs were made after ad_tape_next_seq gave it):
 * an inner gradient never walks the outer tape, even from leaf inputs. */
int ad_autograd_grad_since(ad_tensor *out, ad_tensor *seed, int ninputs, ad_tensor *const *inputs, unsigned flags,
                           ad_tensor **grads, uint64_t since);

#endif
