/* adscope/ctx.h — the context: allocation, byte accounting, scopes, RNG.
 *
 * Every tensor belongs to one context.  All memory a context hands out goes
 * through one allocator hook (Lua's lua_Alloc convention), and the context
 * counts the bytes it holds, split by what they are for.  The categories
 * partition the bytes (live_total is their sum; nothing counts twice):
 *
 *   category         holds                                    compares with
 *   AD_MEM_VALUES    element data of primal tensors that the  PyTorch's activations
 *                    tape does not save                       not saved for backward
 *   AD_MEM_TANGENTS  element data of derivatives: forward     PyTorch's .grad and
 *                    tangents, reverse adjoints, .grad        autograd buffers
 *   AD_MEM_TAPE      the tape: its records, and the element   ADOL-C's tape (+ Taylor
 *                    data of every storage a record saves     buffer); PyTorch's
 *                    for backward, each storage once however  saved-tensor bytes
 *                    many records share it                    (+ graph nodes)
 *   AD_MEM_META      tensor handles and storage headers,      allocator overhead
 *                    size-class slack of cached blocks
 *
 *   cached           (ad_mem_stats.cached, not live) blocks   malloc's free lists
 *                    parked for reuse: small pools, the
 *                    large-block cache, parked handles
 *
 * A storage moves into AD_MEM_TAPE when the first record saves a tensor
 * over it and back to its category when the last such record is released.
 * The counts are exact (a tensor of 12 doubles adds exactly 96 bytes to
 * AD_MEM_VALUES), and they are what the benchmark harness reports as memory.
 *
 * Freed storage is recycled: small blocks by size, large blocks through a
 * cache of size classes (8 per power of two) capped at
 * ad_ctx_options.cache_limit bytes, so a repeated computation reuses its
 * blocks and does not make the kernel fault fresh pages in.
 * ad_ctx_trim() gives everything parked back to the allocator.
 *
 * Scopes make tensor ownership painless in functions that build many
 * temporaries:
 *
 *     ad_scope s = ad_scope_begin(ctx);
 *     ad_tensor *y = ad_sum(ad_mul(ad_sin(x), x), AD_ALL, false);
 *     y = ad_scope_end(ctx, s, y);   // temporaries released, y kept
 *
 * While a scope is open, every tensor created is registered in it and
 * released when the scope ends, unless it is the one kept.  Freeing such a
 * tensor earlier with ad_tensor_free() is allowed (it is then not released
 * twice).  With no scope open, the caller owns what it creates.
 */
#ifndef ADSCOPE_CTX_H
#define ADSCOPE_CTX_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ad_mem_cat {
    AD_MEM_VALUES = 0,
    AD_MEM_TANGENTS = 1,
    AD_MEM_TAPE = 2,
    AD_MEM_META = 3,
    AD_MEM_NCAT = 4
} ad_mem_cat;

typedef struct ad_mem_stats {
    int64_t live[AD_MEM_NCAT]; /* bytes held now, per category */
    int64_t peak[AD_MEM_NCAT]; /* highest value of live[c] since the last reset */
    int64_t live_total;        /* sum of live[] */
    int64_t peak_total;        /* highest live_total since the last reset */
    int64_t nalloc;            /* allocator calls that allocated */
    int64_t nfree;             /* allocator calls that freed */
    int64_t tensors;           /* tensor handles alive */
    int64_t bytes_allocated;   /* cumulative bytes requested since the last reset */
    int64_t cached;            /* bytes parked for reuse (pools, large-block cache, handles,
                                * forward mode's release trace):
                                * held from the allocator but not live */
} ad_mem_stats;

/* The allocator hook: ptr == NULL allocates nsize bytes; nsize == 0 frees
 * ptr (osize bytes); returns NULL on failure.  Same contract as lua_Alloc. */
typedef void *(*ad_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

typedef struct ad_ctx_options {
    ad_alloc_fn alloc;   /* NULL: the C library's malloc/free */
    void *alloc_ud;      /* passed to alloc */
    uint64_t seed;       /* seed of the context's random number generator */
    int64_t max_tensor_bytes; /* refuse (AD_ELIMIT) any tensor larger than this; 0: no limit */
    bool no_recycling;   /* every tensor handle and small storage block comes from alloc and goes
                          * back to it (no recycling pools): slower, but alloc sees every one, so
                          * a test that fails the N-th allocation reaches them all; no cache */
    int64_t cache_limit; /* bytes of freed large blocks the context keeps for reuse;
                          * 0: the default (256 MiB); negative: no cache */
} ad_ctx_options;

/* A new context with default options (seed 0).  NULL if out of memory.
 * Free with ad_ctx_free(), which also frees every tensor still alive in it. */
AD_API ad_ctx *ad_ctx_new(void);
AD_API ad_ctx *ad_ctx_new_with(const ad_ctx_options *opts);
AD_API void ad_ctx_free(ad_ctx *ctx); /* accepts NULL */

/* Memory statistics.  ad_ctx_reset_peak() sets every peak to the current
 * live value and zeroes the cumulative counters. */
AD_API void ad_ctx_mem_stats(const ad_ctx *ctx, ad_mem_stats *out);
AD_API void ad_ctx_reset_peak(ad_ctx *ctx);
AD_API const char *ad_mem_cat_name(ad_mem_cat cat); /* "values", ... */

/* Gives every block parked for reuse (ad_mem_stats.cached) back to the
 * allocator; returns the bytes given back.  Live tensors are untouched. */
AD_API int64_t ad_ctx_trim(ad_ctx *ctx);
/* The cap of the large-block cache in bytes (0: no cache; what it holds
 * above a lower cap is given back now), and its current value. */
AD_API void ad_ctx_set_cache_limit(ad_ctx *ctx, int64_t bytes);
AD_API int64_t ad_ctx_cache_limit(const ad_ctx *ctx);

/* Refuse any single tensor above this many bytes (AD_ELIMIT); 0 removes
 * the limit.  Programs fed by untrusted input (the command line) use it so
 * that "ones(1e6, 1e6)" is an error, not an attempt. */
AD_API void ad_ctx_set_max_tensor_bytes(ad_ctx *ctx, int64_t bytes);

/* Random numbers (GSL's MT19937): the same seed gives the same tensors on
 * every machine. */
AD_API void ad_ctx_seed(ad_ctx *ctx, uint64_t seed);

/* Scopes, see above.  A scope is a mark on the context's scope stack; scopes
 * nest and must be ended in reverse order of beginning. */
typedef struct ad_scope {
    int64_t mark;
    int depth;
} ad_scope;
AD_API ad_scope ad_scope_begin(ad_ctx *ctx);
/* Ends scope s: releases the tensors created in it, except keep.  Returns a
 * new reference to keep (NULL if keep is NULL), owned like a tensor just
 * created: by the enclosing scope if one is open, else by the caller. */
AD_API ad_tensor *ad_scope_end(ad_ctx *ctx, ad_scope s, ad_tensor *keep);
/* Same, keeping n tensors: keep[i] is replaced by its new reference (NULL
 * entries stay NULL).  Returns AD_OK or a negative status. */
AD_API int ad_scope_end_n(ad_ctx *ctx, ad_scope s, int n, ad_tensor **keep);

#ifdef __cplusplus
}
#endif
#endif
