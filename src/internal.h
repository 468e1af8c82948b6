/* src/internal.h — the layout of the context, storage and tensor handles.
 *
 * Not installed.  Everything here is shared by the core (src/) and the
 * backends and drivers (modes/); user code sees only opaque handles.
 *
 * Ownership model:
 *   ad_storage  refcounted by the tensor handles that view it; owns its
 *               element data unless `external` (ad_wrap).
 *   ad_tensor   refcounted handle.  References are held by the caller (or a
 *               scope), by tape records that saved the tensor, by a primal
 *               that holds it as its tangent or grad.  A handle owns one
 *               storage reference, its tangent and its grad, and one
 *               reference on its grad_fn record.
 */
#ifndef ADSCOPE_INTERNAL_H
#define ADSCOPE_INTERNAL_H

#include <gsl/gsl_rng.h>
#include <stdarg.h>

#include "adscope.h"

/* ---- storage ----------------------------------------------------------- */

typedef struct ad_storage {
    double *data;       /* element 0 of the allocation */
    int64_t nbytes;     /* bytes of element data accounted in `cat` */
    size_t block;       /* bytes of the whole allocation (0: external data) */
    int32_t refs;       /* tensor handles using this storage */
    uint32_t version;   /* in-place writes seen (saved tensors check it) */
    int32_t tape_refs;  /* tape edges saving a tensor over it (tape.c): while >0 its
                         * bytes count as AD_MEM_TAPE, whatever `cat` says */
    uint8_t cat;        /* ad_mem_cat of the element data */
    uint8_t external;   /* data belongs to the caller (ad_wrap) */
    uint8_t visit;      /* scratch mark of ad_tape_visit (each storage counted once) */
    uint8_t pool;       /* 1 + the small pool class its block returns to, 0: the large-block cache
                         * (kept, not recomputed from nbytes on every release) */
} ad_storage;

/* The category a storage's element bytes are counted in now. */
static inline int ad_storage_cat(const ad_storage *st) { return st->tape_refs > 0 ? AD_MEM_TAPE : st->cat; }

/* ---- tensor handle ----------------------------------------------------- */

enum {
    AD_T_CONTIG = 1u << 0,        /* row-major without gaps */
    AD_T_REQUIRES_GRAD = 1u << 1, /* leaf marked, or result of a recorded op */
    AD_T_RETAIN_GRAD = 1u << 2,   /* non-leaf keeps its .grad */
    AD_T_VIEW = 1u << 3,          /* shares storage with a base tensor */
    AD_T_RELEASED = 1u << 4,      /* its record was released by a backward */
    AD_T_LENT = 1u << 5,          /* a .grad that ad_grad lent out (tensor.c refuses to free it) */
    AD_T_TAN_GONE = 1u << 6       /* stands in for a tangent released early (fwd_release.c) */
};

struct ad_node;

/* Forward levels nest this deep (forward.h): one tangent slot per depth. */
#define AD_FWD_DEPTH 4

struct ad_tensor {
    /* Every handle the allocator gave this context, live or parked in the
     * handle pool (ctx.c): linked when allocated, unlinked when given back,
     * never per op; the links are never poisoned, so teardown can walk
     * them.  (A list of live handles cost a plain op 13 instructions.) */
    ad_tensor *all_prev, *all_next;
    ad_ctx *ctx;
    ad_storage *st;
    double *data;            /* st->data + offset */
    int64_t offset;          /* in elements */
    int64_t numel;
    int32_t refs;
    int32_t ndim;
    uint32_t flags;
    int32_t scope_slot;      /* latest slot on the scope stack holding it, or -1 */
    int32_t scope_refs;      /* references held by scope slots */
    uint8_t tan_mask;        /* forward mode: bit d set when tan[d] holds a tangent */
    ad_tensor *tan[AD_FWD_DEPTH];  /* the tangent at the level of depth d, [k, shape...] */
    uint32_t tan_id[AD_FWD_DEPTH]; /* the id of the level that attached tan[d]: a tangent
                                    * left by an ended level is never read by a later one */
    uint32_t fr_pass;        /* early tangent release (fwd_release.c): the pass that numbered it (0: none) */
    int32_t fr_num;          /* its number in that pass */
    struct ad_node *grad_fn; /* reverse mode: the record that produced it */
    ad_tensor *grad;         /* reverse mode: accumulated gradient */
    ad_tensor *next;         /* link of the handle pool and of the release queue */
    int64_t shape[AD_MAX_DIMS];
    int64_t stride[AD_MAX_DIMS];
};

/* ---- context ----------------------------------------------------------- */

#define AD_ERRMSG_MAX 1024
#define AD_POOL_CLASSES 8 /* small storage blocks: 1,2,4,...,128 doubles */
/* Large storage blocks are cached by size class: 8 classes per power of
 * two (a block is at most 12.5 % larger than asked), ctx.c. */
#define AD_CACHE_SUB 8
#define AD_CACHE_CLASSES (64 * AD_CACHE_SUB)
#define AD_CACHE_DEFAULT_LIMIT ((int64_t)256 << 20)

typedef struct ad_tape ad_tape; /* src/tape.h */

struct ad_ctx {
    ad_alloc_fn alloc;
    void *alloc_ud;
    ad_mem_stats mem;
    uint8_t cat;              /* category for newly allocated element data */
    int64_t max_tensor_bytes; /* 0: no limit */
    uint64_t max_numel;       /* elements a storage may hold: that limit and the
                               * allocation's size_t bound in one compare (tensor.c) */

    int err;
    char errmsg[AD_ERRMSG_MAX];

    gsl_rng *rng;

    bool no_recycling;        /* ad_ctx_options.no_recycling: pools bypassed */
    ad_tensor *free_handles;  /* recycled tensor headers */
    int64_t nfree_handles;
    int64_t handle_pool_cap;  /* handles the pool may park: AD_HANDLE_POOL, 0 with no_recycling */
    void *pool[AD_POOL_CLASSES]; /* recycled small storage blocks */
    void *cache[AD_CACHE_CLASSES]; /* cached large storage blocks, by size class */
    int64_t cache_limit;      /* bytes the large-block cache may hold (0: no cache) */
    int64_t cache_bytes;      /* bytes it holds now */
    int64_t pool_bytes;       /* bytes parked in the small pools */
    ad_tensor handles;        /* sentinel of the list of every handle (all_prev, all_next) */

    ad_tensor **scope_stack;
    int64_t scope_len, scope_cap;
    int scope_depth;

    /* deferred releases: dropping one reference can free a long chain of
     * tensors and records; they are released in a loop, never by recursion */
    ad_tensor *reap;
    bool reaping;

    /* reverse mode */
    bool grad_enabled;
    ad_tape *tape;

    /* forward mode: a stack of levels (tangent.c).  Level d's tangents live
     * in slot d of each handle, tagged with the level's id. */
    int fwd_depth;            /* levels open */
    uint8_t fwd_active;       /* bit d: level d propagates (cleared while its own JVP
                               * rules run, and by backends that evaluate f only) */
    uint32_t fwd_next_id;     /* ids handed out so far */
    struct {
        int k;                /* tangent width */
        uint32_t id;          /* unique over the context's life */
        bool record;          /* JVP rules run with grad mode as it is (an enclosing
                               * reverse computation may differentiate the tangents) */
    } fwd_lv[AD_FWD_DEPTH];
    struct ad_fr *fr;         /* early tangent release (fwd_release.c): its trace, or NULL */
    bool fr_on;               /* a forward driver's pass numbers its ops */

    /* reverse-replay (trace.h): the recorder while f is being traced (the
     * ops' one extra test), and the programs kept for later calls */
    struct ad_rec *rec;
    struct ad_progs *progs;
};

/* Error paths of hot functions: kept out of line, so that formatting a
 * message does not put its stack frame and register saves on the path
 * every op takes. */
#if defined(__GNUC__)
#define AD_COLD __attribute__((noinline, cold))
#else
#define AD_COLD
#endif
/* A slow path kept out of a fast one that should need no stack frame. */
#if defined(__GNUC__)
#define AD_NOINLINE __attribute__((noinline))
#else
#define AD_NOINLINE
#endif
/* A small helper of a frameless fast path, which gcc would otherwise
 * call out of line (a call puts the frame back on the path). */
#if defined(__GNUC__)
#define AD_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define AD_ALWAYS_INLINE inline
#endif
/* Branch layout of the per-op paths: the rare side out of the straight line. */
#if defined(__GNUC__)
#define AD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define AD_UNLIKELY(x) (x)
#endif

/* ---- forward levels (src/tangent.c) ------------------------------------- */

/* Whether t's tangent at depth d belongs to the level open at d now. */
static inline bool ad_tan_live(const ad_tensor *t, int d)
{
    const ad_ctx *c = t->ctx;
    return ((t->tan_mask >> d) & 1u) && d < c->fwd_depth && t->tan_id[d] == c->fwd_lv[d].id;
}
/* The levels whose tangents t carries and that propagate now (bit d). */
static inline unsigned ad_tan_active(const ad_tensor *t)
{
    unsigned m = t->tan_mask & t->ctx->fwd_active, r = 0;
    for (int d = 0; m >> d; d++)
        if (((m >> d) & 1u) && t->tan_id[d] == t->ctx->fwd_lv[d].id) r |= 1u << d;
    return r;
}
/* Sets t's tangent at depth d (tagged with that level's id), taking over
 * the caller's reference to tan; NULL clears the slot. */
void ad_tan_set(ad_tensor *t, int d, ad_tensor *tan);
/* Drops every tangent of t. */
void ad_tan_drop_all(ad_tensor *t);
/* dst shares src's tangents (one reference each); dst had none. */
void ad_tan_share(ad_tensor *dst, const ad_tensor *src);
/* The same where a tangent has a place on the tape: dst gets aliases
 * without it (recursively), so that a record saving dst (a saved output)
 * never reaches, through a recorded tangent, back to itself.  AD_OK or
 * AD_ENOMEM (dst then holds what was made). */
int ad_tan_share_plain(ad_tensor *dst, const ad_tensor *src);
/* dst's tangents are replaced by src's, which src gives up. */
void ad_tan_move(ad_tensor *dst, ad_tensor *src);

/* ---- early release of forward tangents (src/fwd_release.c) ------------- */

typedef struct ad_fr ad_fr;
/* Starts a driver's pass of f at level depth d: numbers its ops, and
 * releases by the trace of an earlier pass of the same f when release.
 * *mine says whether this call started it (not inside another's pass). */
int ad_fr_begin(ad_ctx *ctx, ad_fn f, void *user, int d, bool release, bool *mine);
/* After an op ran (finish_tracked, while ctx->fr_on): numbers it, drops
 * the tangents it read last.  AD_OK or AD_ENOMEM. */
int ad_fr_after_op(ad_ctx *ctx, int opid, ad_tensor *out, int nin, ad_tensor *const *in);
/* AD_ESTATE if an input holds a released tangent at one of `levels`. */
int ad_fr_check_inputs(const char *what, int nin, ad_tensor *const *in, unsigned levels);
/* Records the violation: a released tangent was read by `what`. */
int ad_fr_violation(ad_ctx *ctx, const char *what, int input);
/* Ends the pass (y its result, ok whether it succeeded): whether a released
 * tangent was read (run the pass again without release); *released gets
 * how many were released.  A clean pass becomes the trace. */
bool ad_fr_end(ad_ctx *ctx, ad_tensor *y, bool ok, int64_t *released);
/* The trace's bytes parked between passes (ad_mem_stats.cached), and
 * giving them back (ad_ctx_trim, ad_ctx_free): the bytes freed. */
int64_t ad_fr_parked(const ad_ctx *ctx);
int64_t ad_fr_free(ad_ctx *ctx);

/* ---- errors (src/error.c) ---------------------------------------------- */

/* Records status and a printf-style message in ctx (if ctx) and calls the
 * handler.  Returns status, so `return ad_error(...)` reads naturally. */
int ad_error(const ad_ctx *ctx, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Same, returning NULL for functions that return a tensor. */
#define AD_FAIL(ctx, status, ...) (ad_error((ctx), (status), __VA_ARGS__), (ad_tensor *)NULL)
/* An error region: did *this* call fail, whatever was recorded before it?
 * ad_err_mark clears the recorded status and returns it; ad_err_since says
 * whether an error was recorded after the mark, and when none was, puts the
 * earlier status back (errors stay sticky for the caller). */
int ad_err_mark(ad_ctx *ctx);
bool ad_err_since(ad_ctx *ctx, int mark);

/* ---- allocation (src/ctx.c) ------------------------------------------- */

/* Raw accounted allocation of n bytes in category cat. */
void *ad_mem_alloc(ad_ctx *ctx, size_t n, int cat);
void ad_mem_free(ad_ctx *ctx, void *p, size_t n, int cat);
void *ad_mem_realloc(ad_ctx *ctx, void *p, size_t on, size_t nn, int cat);
/* Live and peak bytes per category, inline: every tensor and record goes
 * through them, several times per op.  A creation (n, a, b >= 0) raises
 * live counts, peaks and bytes_allocated; a release (n >= 0 given back;
 * a, b <= 0) only lowers live counts, since a release never raises a
 * peak.  The two-category forms take a storage's element bytes and its
 * header, or a handle and its storage, in one pass. */
static inline void ad_mem_grow(ad_ctx *cx, int cat, int64_t n)
{
    ad_mem_stats *m = &cx->mem;
    m->live[cat] += n;
    m->live_total += n;
    if (m->live[cat] > m->peak[cat]) m->peak[cat] = m->live[cat];
    if (m->live_total > m->peak_total) m->peak_total = m->live_total;
    m->bytes_allocated += n;
}
static inline void ad_mem_shrink(ad_ctx *cx, int cat, int64_t n)
{
    cx->mem.live[cat] -= n;
    cx->mem.live_total -= n;
}
static inline void ad_mem_grow2(ad_ctx *cx, int ca, int64_t a, int cb, int64_t b)
{
    ad_mem_stats *m = &cx->mem;
    m->live[ca] += a;
    m->live[cb] += b;
    m->live_total += a + b;
    if (m->live[ca] > m->peak[ca]) m->peak[ca] = m->live[ca];
    if (m->live[cb] > m->peak[cb]) m->peak[cb] = m->live[cb];
    if (m->live_total > m->peak_total) m->peak_total = m->live_total;
    m->bytes_allocated += a + b;
}
static inline void ad_mem_shrink2(ad_ctx *cx, int ca, int64_t a, int cb, int64_t b)
{
    ad_mem_stats *m = &cx->mem;
    m->live[ca] += a;
    m->live[cb] += b;
    m->live_total += a + b;
}
/* Either, by the sign of delta (of a + b: the two deltas have one sign). */
static inline void ad_mem_account(ad_ctx *cx, int cat, int64_t delta)
{
    if (delta >= 0) ad_mem_grow(cx, cat, delta);
    else ad_mem_shrink(cx, cat, -delta);
}
static inline void ad_mem_account2(ad_ctx *cx, int ca, int64_t a, int cb, int64_t b)
{
    if (a + b >= 0) ad_mem_grow2(cx, ca, a, cb, b);
    else ad_mem_shrink2(cx, ca, a, cb, b);
}

/* Moves n accounted bytes from one category to another (inline: the tape
 * moves every saved storage, twice per record). */
static inline void ad_mem_recategorize(ad_ctx *cx, int64_t n, int from, int to)
{
    if (from == to || n == 0) return;
    cx->mem.bytes_allocated -= n > 0 ? n : 0; /* a move, not an allocation */
    ad_mem_account(cx, from, -n);
    ad_mem_account(cx, to, n);
}

/* Recycled memory is invisible to AddressSanitizer: a handle or block
 * parked in a pool is still malloc's "allocated", so a use after free of
 * a recycled tensor would read stale data silently.  In sanitizer builds
 * parked memory is poisoned (ASan's manual interface) and unpoisoned when
 * it is handed out again, so such a use is reported as use-after-poison. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AD_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(AD_ASAN)
#define AD_ASAN 1
#endif
#ifdef AD_ASAN
#include <sanitizer/asan_interface.h>
#define AD_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define AD_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define AD_POISON(p, n) ((void)(p), (void)(n))
#define AD_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Small storage blocks are recycled by size class: class c holds 2^c
 * doubles after a header of AD_STORAGE_HDR bytes (64: keeps data aligned
 * for vector loads). */
#define AD_STORAGE_HDR 64
static inline size_t ad_pool_block_size(int c) { return AD_STORAGE_HDR + ((size_t)8 << c); }
void *ad_pool_get(ad_ctx *ctx, int c); /* NULL + AD_ENOMEM on failure */
void ad_pool_put(ad_ctx *ctx, int c, void *block);
/* Their fast paths, inline: a pop or a push of a parked block (ctx.c
 * holds the rest: the allocator, no_recycling). */
static inline void *ad_pool_get_fast(ad_ctx *cx, int c)
{
    void *b = cx->pool[c];
    if (!b) return ad_pool_get(cx, c);
    AD_UNPOISON(b, ad_pool_block_size(c));
    cx->pool[c] = *(void **)b;
    cx->pool_bytes -= (int64_t)ad_pool_block_size(c);
    return b;
}
static inline void ad_pool_put_fast(ad_ctx *cx, int c, void *b)
{
    if (cx->no_recycling) {
        ad_pool_put(cx, c, b);
        return;
    }
    *(void **)b = cx->pool[c];
    cx->pool[c] = b;
    cx->pool_bytes += (int64_t)ad_pool_block_size(c);
    AD_POISON(b, ad_pool_block_size(c));
}
/* Large blocks (above the pools' classes): a cached block of the request's
 * size class, or a new one.  *block is set to the bytes of the block
 * returned (the class size when the cache may keep it, else `bytes`).
 * NULL + AD_ENOMEM on failure (after the cache was given back and the
 * allocation retried).  ad_cache_put parks a block or frees it when it is
 * not of a class size or would pass the cap. */
void *ad_cache_get(ad_ctx *ctx, size_t bytes, size_t *block);
void ad_cache_put(ad_ctx *ctx, void *block, size_t size);
/* The same for tensor handles (at most AD_HANDLE_POOL parked).  With
 * ctx->no_recycling, both go straight to the allocator and back. */
#define AD_HANDLE_POOL 4096
ad_tensor *ad_handle_get(ad_ctx *ctx); /* NULL + AD_ENOMEM on failure */
/* What a parked handle poisons: all of it but the list of every handle. */
#define AD_HANDLE_LINKS (2 * sizeof(ad_tensor *))
#define AD_POISON_HANDLE(t) AD_POISON((char *)(t) + AD_HANDLE_LINKS, sizeof(ad_tensor) - AD_HANDLE_LINKS)
void ad_handle_put(ad_ctx *ctx, ad_tensor *t);
static inline ad_tensor *ad_handle_get_fast(ad_ctx *cx)
{
    ad_tensor *t = cx->free_handles;
    if (!t) return ad_handle_get(cx);
    AD_UNPOISON(t, sizeof *t);
    cx->free_handles = t->next;
    cx->nfree_handles--;
    return t;
}
static inline void ad_handle_put_fast(ad_ctx *cx, ad_tensor *t)
{
    if (cx->nfree_handles >= cx->handle_pool_cap) {
        ad_handle_put(cx, t);
        return;
    }
    t->next = cx->free_handles;
    cx->free_handles = t;
    cx->nfree_handles++;
    AD_POISON_HANDLE(t);
}

/* ---- storage and handles (src/tensor.c) -------------------------------- */

/* A storage of numel doubles in ctx->cat (uninitialised). */
ad_storage *ad_storage_new(ad_ctx *ctx, int64_t numel);
void ad_storage_decref(ad_ctx *ctx, ad_storage *st);

/* A handle over st (takes a new storage reference) with the given layout.
 * Registers it in the open scope.  NULL on allocation failure. */
ad_tensor *ad_handle_new(ad_ctx *ctx, ad_storage *st, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset);
/* A new contiguous tensor of shape (ndim, shape) with fresh storage. */
ad_tensor *ad_new(ad_ctx *ctx, int ndim, const int64_t *shape);
/* Same shape as t, contiguous, fresh storage, uninitialised. */
ad_tensor *ad_new_like(const ad_tensor *t);
/* Internal references (tape, tangent, grad): never touch scope ownership. */
static inline void ad_incref(ad_tensor *t) { t->refs++; }
void ad_decref(ad_tensor *t);
/* Runs the deferred-release loop (tensor.c); tape.c calls it after queueing
 * records. */
void ad_reap(ad_ctx *ctx);
/* A handle sharing t's storage and layout, without grad_fn, grad or
 * tangent unless with_tangent (then it shares t's tangent). */
ad_tensor *ad_alias(ad_tensor *t, bool with_tangent);
/* Recompute AD_T_CONTIG and numel after changing a layout. */
void ad_layout_update(ad_tensor *t);
/* Bump the version of t's storage (an in-place write happened). */
static inline void ad_bump_version(ad_tensor *t) { t->st->version++; }

/* Element count of a shape with overflow and negativity checks (records
 * AD_ESIZE and returns -1 on failure).  `what` names the caller. */
int64_t ad_shape_numel(ad_ctx *ctx, const char *what, int ndim, const int64_t *shape);
/* The index in [0, ndim) of a possibly negative axis (-1: the last);
 * records AD_EAXIS and returns -1 when out of range. */
int ad_axis_index(ad_ctx *ctx, const char *what, int axis, int ndim);
/* Turns an ad_axes into a bitmask over ndim axes (AD_ALL: every axis). */
int ad_axes_mask(ad_ctx *ctx, const char *what, ad_axes axes, int ndim, uint32_t *mask);
/* "[2,3]" of a tensor or a raw shape, into a caller buffer of size >= 160. */
const char *ad_fmt_shape(char *buf, size_t n, int ndim, const int64_t *shape);
#define AD_SHAPEBUF 256

/* Reference to an NULL check: every public op starts with it. */
#define AD_CHECK_T(t, what)                                                          \
    do {                                                                             \
        if (!(t)) return NULL;                                                       \
    } while (0)

/* ---- scopes (src/ctx.c) --------------------------------------------------- */
/* Registers one reference of t in the innermost open scope. */
int ad_scope_push(ad_ctx *ctx, ad_tensor *t);
/* The same, inline while the stack has room (every new handle comes
 * here: the call and its growth check were a tenth of a plain op). */
static inline int ad_scope_push_fast(ad_ctx *cx, ad_tensor *t)
{
    if (cx->scope_len == cx->scope_cap) return ad_scope_push(cx, t);
    t->scope_slot = (int32_t)cx->scope_len;
    t->scope_refs++;
    cx->scope_stack[cx->scope_len++] = t;
    return AD_OK;
}
/* ad_scope_end for internal callers: the kept reference is returned to
 * the caller directly, never registered in an enclosing scope. */
ad_tensor *ad_scope_end_owned(ad_ctx *ctx, ad_scope s, ad_tensor *keep);
void ad_scope_forget(ad_ctx *ctx, ad_tensor *t);
/* Takes t out of scope ownership: the reference the scope held becomes
 * the caller's (used for references kept internally, e.g. by the tape). */
static inline void ad_unscope(ad_tensor *t)
{
    if (t && t->scope_refs > 0) ad_scope_forget(t->ctx, t);
}
/* Gives the caller one reference to t, out of scope s: the slot of s (or
 * of a scope opened inside it) holding t's latest registration is cleared
 * and its reference becomes the caller's; when s does not hold t, the
 * caller gets a new reference.  Lets a caller keep results made inside s
 * past ad_scope_end(s) without knowing who registered them. */
void ad_scope_take(ad_ctx *ctx, ad_scope s, ad_tensor *t);
/* Clears the latest scope slot holding t (its reference now belongs to
 * whoever called; the caller drops it). */
void ad_scope_forget(ad_ctx *ctx, ad_tensor *t);

/* ---- tangent-category data (src/tangent.c) ------------------------------- */
/* Zeros of shape s, or [k, s...] (k tangents or rows), whose element data
 * counts as AD_MEM_TANGENTS: tangents, adjoints, gradients and Jacobian
 * blocks built by backends and drivers.  Registered in the open scope. */
ad_tensor *ad_deriv_zeros(ad_ctx *ctx, ad_shape s);
ad_tensor *ad_tangent_zeros(ad_ctx *ctx, int k, ad_shape s);
/* [k, s...] into *out, or AD_ESHAPE recorded when s has AD_MAX_DIMS axes
 * (the batch axis would make one too many: such tensors cannot carry
 * derivatives, and the message says to reshape them). */
int ad_tangent_shape(ad_ctx *ctx, int k, ad_shape s, ad_shape *out);

/* ---- RNG ---------------------------------------------------------------- */
gsl_rng *ad_ctx_rng(ad_ctx *ctx);

#endif
