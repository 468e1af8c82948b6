/* src/ctx.c — the context: the allocator hook, exact byte accounting,
 * recycling pools, scopes and the random number generator.
 *
 * Accounting is by category (ctx.h).  "Live" counts what tensors and tape
 * records hold now; blocks parked in the recycling pools are not live (they
 * are the allocator's business, like malloc's free lists), so a benchmark's
 * peak is exactly what the computation needed; the parked bytes are the
 * separate `cached` figure.  Small storages go to per-size pools, large
 * ones to a size-class cache with a byte cap (ad_ctx_trim empties both).
 * ad_ctx_options.no_recycling bypasses pools and cache, so that an
 * allocator hook sees every block (the allocation-failure test). */
#include <gsl/gsl_errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tape.h"
#include "trace.h"

static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

void *ad_mem_alloc(ad_ctx *ctx, size_t n, int cat)
{
    void *p = ctx->alloc(ctx->alloc_ud, NULL, 0, n);
    if (!p) {
        ad_error(ctx, AD_ENOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    ctx->mem.nalloc++;
    ad_mem_account(ctx, cat, (int64_t)n);
    return p;
}

void ad_mem_free(ad_ctx *ctx, void *p, size_t n, int cat)
{
    if (!p) return;
    ctx->alloc(ctx->alloc_ud, p, n, 0);
    ctx->mem.nfree++;
    ad_mem_account(ctx, cat, -(int64_t)n);
}

void *ad_mem_realloc(ad_ctx *ctx, void *p, size_t on, size_t nn, int cat)
{
    void *q = ctx->alloc(ctx->alloc_ud, p, on, nn);
    if (!q) {
        ad_error(ctx, AD_ENOMEM, "out of memory allocating %zu bytes", nn);
        return NULL;
    }
    if (!p) ctx->mem.nalloc++;
    ad_mem_account(ctx, cat, (int64_t)nn - (int64_t)on);
    return q;
}

/* ---- recycling pools: small storage blocks and tensor handles ------------- */

/* A parked block's first word links it to the next one; the whole block
 * is poisoned while parked (internal.h: AD_POISON), so the link is read
 * and written only while unpoisoned. */

void *ad_pool_get(ad_ctx *ctx, int c)
{
    void *b = ctx->pool[c];
    if (b) {
        AD_UNPOISON(b, ad_pool_block_size(c));
        ctx->pool[c] = *(void **)b;
        ctx->pool_bytes -= (int64_t)ad_pool_block_size(c);
        return b;
    }
    b = ctx->alloc(ctx->alloc_ud, NULL, 0, ad_pool_block_size(c));
    if (!b) {
        ad_error(ctx, AD_ENOMEM, "out of memory allocating %zu bytes", ad_pool_block_size(c));
        return NULL;
    }
    ctx->mem.nalloc++;
    return b;
}

void ad_pool_put(ad_ctx *ctx, int c, void *b)
{
    if (ctx->no_recycling) {
        ctx->alloc(ctx->alloc_ud, b, ad_pool_block_size(c), 0);
        ctx->mem.nfree++;
        return;
    }
    *(void **)b = ctx->pool[c];
    ctx->pool[c] = b;
    ctx->pool_bytes += (int64_t)ad_pool_block_size(c);
    AD_POISON(b, ad_pool_block_size(c));
}

ad_tensor *ad_handle_get(ad_ctx *ctx)
{
    ad_tensor *t = ctx->free_handles;
    if (t) {
        AD_UNPOISON(t, sizeof *t);
        ctx->free_handles = t->next;
        ctx->nfree_handles--;
        return t;
    }
    t = ctx->alloc(ctx->alloc_ud, NULL, 0, sizeof *t);
    if (!t) {
        ad_error(ctx, AD_ENOMEM, "out of memory allocating a tensor handle");
        return NULL;
    }
    ctx->mem.nalloc++;
    t->all_next = ctx->handles.all_next;
    t->all_prev = &ctx->handles;
    ctx->handles.all_next->all_prev = t;
    ctx->handles.all_next = t;
    return t;
}

/* A handle back to the allocator, off the list of every handle. */
static void handle_free(ad_ctx *ctx, ad_tensor *t)
{
    t->all_prev->all_next = t->all_next;
    t->all_next->all_prev = t->all_prev;
    ctx->alloc(ctx->alloc_ud, t, sizeof *t, 0);
    ctx->mem.nfree++;
}

void ad_handle_put(ad_ctx *ctx, ad_tensor *t)
{
    if (ctx->nfree_handles >= ctx->handle_pool_cap) { /* 0 with no_recycling */
        handle_free(ctx, t);
        return;
    }
    t->next = ctx->free_handles;
    ctx->free_handles = t;
    ctx->nfree_handles++;
    AD_POISON_HANDLE(t);
}

/* ---- the cache of large blocks -------------------------------------------------
 *
 * Without it every large tensor is a malloc and a free, glibc gives big
 * blocks back to the kernel (mmap, or trimming the heap) and the next
 * gradient faults every page in again: at n = 1e4 central differences
 * spent 72 % of their time in the kernel.  So freed blocks are parked by
 * size class and handed out again.  A class holds blocks of exactly one
 * size (the request rounded up to 8 steps per power of two), so a get is
 * a pop.  Parked bytes are not live (like the small pools); they are the
 * `cached` figure of ad_mem_stats, bounded by cache_limit, and
 * ad_ctx_trim gives them back. */

/* The size class of a block of `bytes` (> 8), and the size of that class. */
static int cache_class(size_t bytes, size_t *size)
{
    int e = 63 - __builtin_clzll((unsigned long long)(bytes - 1)); /* 2^e < bytes <= 2^(e+1) */
    size_t step = (size_t)1 << (e - 3);
    size_t k = (bytes + step - 1) / step; /* 9..16 steps */
    *size = k * step;
    return e * AD_CACHE_SUB + (int)(k - 9);
}

/* Frees every block of the large-block cache; returns the bytes freed. */
static int64_t cache_free_all(ad_ctx *ctx)
{
    int64_t freed = 0;
    for (int c = 0; c < AD_CACHE_CLASSES; c++) {
        while (ctx->cache[c]) {
            void *b = ctx->cache[c];
            AD_UNPOISON(b, sizeof(void *) + sizeof(size_t));
            size_t n = ((size_t *)b)[1];
            AD_UNPOISON(b, n);
            ctx->cache[c] = *(void **)b;
            ctx->alloc(ctx->alloc_ud, b, n, 0);
            ctx->mem.nfree++;
            freed += (int64_t)n;
        }
    }
    ctx->cache_bytes = 0;
    return freed;
}

static void *cache_alloc(ad_ctx *ctx, size_t n)
{
    void *p = ctx->alloc(ctx->alloc_ud, NULL, 0, n);
    if (!p && ctx->cache_bytes > 0) { /* what the cache holds may be what is missing */
        cache_free_all(ctx);
        p = ctx->alloc(ctx->alloc_ud, NULL, 0, n);
    }
    if (!p) {
        ad_error(ctx, AD_ENOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    ctx->mem.nalloc++;
    return p;
}

void *ad_cache_get(ad_ctx *ctx, size_t bytes, size_t *block)
{
    size_t size;
    int c = cache_class(bytes, &size);
    if (ctx->cache_limit <= 0 || (int64_t)size > ctx->cache_limit) {
        *block = bytes; /* never cached: no rounding */
        return cache_alloc(ctx, bytes);
    }
    *block = size;
    void *b = ctx->cache[c];
    if (!b) return cache_alloc(ctx, size);
    AD_UNPOISON(b, size);
    ctx->cache[c] = *(void **)b;
    ctx->cache_bytes -= (int64_t)size;
    return b;
}

void ad_cache_put(ad_ctx *ctx, void *b, size_t n)
{
    size_t size;
    int c = cache_class(n, &size);
    if (size != n || ctx->cache_limit <= 0 || ctx->cache_bytes + (int64_t)n > ctx->cache_limit) {
        ctx->alloc(ctx->alloc_ud, b, n, 0);
        ctx->mem.nfree++;
        return;
    }
    ((void **)b)[0] = ctx->cache[c];
    ((size_t *)b)[1] = n;
    ctx->cache[c] = b;
    ctx->cache_bytes += (int64_t)n;
    AD_POISON(b, n);
}

/* Gives every parked block and handle back to the allocator; returns the
 * bytes given back. */
static int64_t handles_free(ad_ctx *ctx)
{
    int64_t freed = 0;
    while (ctx->free_handles) {
        ad_tensor *h = ctx->free_handles;
        AD_UNPOISON(h, sizeof *h);
        ctx->free_handles = h->next;
        handle_free(ctx, h);
        freed += (int64_t)sizeof *h;
    }
    ctx->nfree_handles = 0;
    return freed;
}

static int64_t pools_free(ad_ctx *ctx)
{
    int64_t freed = handles_free(ctx);
    for (int c = 0; c < AD_POOL_CLASSES; c++) {
        while (ctx->pool[c]) {
            void *b = ctx->pool[c];
            AD_UNPOISON(b, ad_pool_block_size(c));
            ctx->pool[c] = *(void **)b;
            ctx->alloc(ctx->alloc_ud, b, ad_pool_block_size(c), 0);
            ctx->mem.nfree++;
            freed += (int64_t)ad_pool_block_size(c);
        }
    }
    ctx->pool_bytes = 0;
    return freed + cache_free_all(ctx);
}

int64_t ad_ctx_trim(ad_ctx *ctx) { return ctx ? pools_free(ctx) + ad_fr_free(ctx) + ad_progs_free(ctx) : 0; }

void ad_ctx_set_cache_limit(ad_ctx *ctx, int64_t bytes)
{
    if (!ctx) return;
    ctx->cache_limit = ctx->no_recycling ? 0 : bytes > 0 ? bytes : 0;
    if (ctx->cache_bytes > ctx->cache_limit) cache_free_all(ctx);
}

int64_t ad_ctx_cache_limit(const ad_ctx *ctx) { return ctx ? ctx->cache_limit : 0; }

/* ---- GSL's error handler ----------------------------------------------------- */

/* GSL's default handler aborts; adscope checks every GSL status instead.
 * The handler is one process-wide variable inside GSL, set without a lock,
 * so it is set exactly once (pthread_once: two threads creating their
 * first contexts at the same time do not race), and a handler the program
 * installed before its first context is put back: the program chose it
 * (it may log, or abort on purpose).  A handler installed later is never
 * touched again. */
static pthread_once_t gsl_once = PTHREAD_ONCE_INIT;

static void gsl_handler_install(void)
{
    gsl_error_handler_t *prev = gsl_set_error_handler_off();
    if (prev) gsl_set_error_handler(prev);
}

/* ---- context ------------------------------------------------------------- */

ad_ctx *ad_ctx_new(void)
{
    ad_ctx_options o = {0};
    return ad_ctx_new_with(&o);
}

ad_ctx *ad_ctx_new_with(const ad_ctx_options *opts)
{
    ad_alloc_fn fn = (opts && opts->alloc) ? opts->alloc : default_alloc;
    void *ud = opts ? opts->alloc_ud : NULL;
    ad_ctx *ctx = fn(ud, NULL, 0, sizeof *ctx);
    if (!ctx) return NULL;
    memset(ctx, 0, sizeof *ctx);
    ctx->alloc = fn;
    ctx->alloc_ud = ud;
    ctx->cat = AD_MEM_VALUES;
    ctx->handles.all_prev = ctx->handles.all_next = &ctx->handles;
    ctx->grad_enabled = true;
    ctx->no_recycling = opts && opts->no_recycling;
    ctx->handle_pool_cap = ctx->no_recycling ? 0 : AD_HANDLE_POOL;
    ctx->cache_limit = ctx->no_recycling || (opts && opts->cache_limit < 0) ? 0
                       : opts && opts->cache_limit > 0                      ? opts->cache_limit
                                                                            : AD_CACHE_DEFAULT_LIMIT;
    pthread_once(&gsl_once, gsl_handler_install);
    ctx->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!ctx->rng) {
        fn(ud, ctx, sizeof *ctx, 0);
        return NULL;
    }
    gsl_rng_set(ctx->rng, (unsigned long)(opts ? opts->seed : 0));
    ad_ctx_set_max_tensor_bytes(ctx, opts ? opts->max_tensor_bytes : 0);
    ctx->tape = ad_tape_new(ctx);
    if (!ctx->tape) {
        gsl_rng_free(ctx->rng);
        fn(ud, ctx, sizeof *ctx, 0);
        return NULL;
    }
    return ctx;
}

void ad_ctx_free(ad_ctx *ctx)
{
    if (!ctx) return;
    /* Records hold tensors and tensors hold records: break the links
     * first, then free every handle still alive whatever its count. */
    ad_tape_free(ctx->tape);
    ctx->tape = NULL;
    handles_free(ctx); /* the list of every handle now holds the live ones alone */
    ad_tensor *end = &ctx->handles;
    for (ad_tensor *t = end->all_next; t != end; t = t->all_next) {
        t->grad_fn = NULL;
        t->tan_mask = 0;
        t->grad = NULL;
    }
    /* each goes to the pool (or back to the allocator, off the list): the
     * next one is read first, and nothing else is released (no links) */
    for (ad_tensor *t = end->all_next, *next; t != end; t = next) {
        next = t->all_next;
        t->refs = 1;
        t->scope_slot = -1;
        t->scope_refs = 0;
        ad_decref(t);
    }
    pools_free(ctx);
    ad_fr_free(ctx);
    ad_progs_free(ctx);
    if (ctx->scope_stack)
        ctx->alloc(ctx->alloc_ud, ctx->scope_stack, (size_t)ctx->scope_cap * sizeof(ad_tensor *), 0);
    gsl_rng_free(ctx->rng);
    ctx->alloc(ctx->alloc_ud, ctx, sizeof *ctx, 0);
}

void ad_ctx_mem_stats(const ad_ctx *ctx, ad_mem_stats *out)
{
    if (!ctx || !out) return;
    *out = ctx->mem;
    out->cached = ctx->cache_bytes + ctx->pool_bytes + ctx->nfree_handles * (int64_t)sizeof(ad_tensor) +
                  ad_fr_parked(ctx) + ad_progs_parked(ctx);
}

void ad_ctx_reset_peak(ad_ctx *ctx)
{
    if (!ctx) return;
    ad_mem_stats *m = &ctx->mem;
    for (int c = 0; c < AD_MEM_NCAT; c++) m->peak[c] = m->live[c];
    m->peak_total = m->live_total;
    m->nalloc = m->nfree = 0;
    m->bytes_allocated = 0;
}

const char *ad_mem_cat_name(ad_mem_cat cat)
{
    static const char *names[AD_MEM_NCAT] = {"values", "tangents", "tape", "meta"};
    return (cat >= 0 && cat < AD_MEM_NCAT) ? names[cat] : "?";
}

void ad_ctx_set_max_tensor_bytes(ad_ctx *ctx, int64_t bytes)
{
    if (!ctx) return;
    ctx->max_tensor_bytes = bytes > 0 ? bytes : 0;
    /* what a storage's block can address (its header included), and the
     * limit per tensor in elements: a storage of n elements is made when
     * (uint64_t)n <= max_numel, a negative n failing the same compare */
    uint64_t n = (uint64_t)((SIZE_MAX - AD_STORAGE_HDR) / sizeof(double));
    if (ctx->max_tensor_bytes > 0 && (uint64_t)(ctx->max_tensor_bytes / (int64_t)sizeof(double)) < n)
        n = (uint64_t)(ctx->max_tensor_bytes / (int64_t)sizeof(double));
    ctx->max_numel = n;
}

void ad_ctx_seed(ad_ctx *ctx, uint64_t seed)
{
    if (ctx) gsl_rng_set(ctx->rng, (unsigned long)seed);
}

gsl_rng *ad_ctx_rng(ad_ctx *ctx) { return ctx->rng; }

/* ---- scopes --------------------------------------------------------------- */

ad_scope ad_scope_begin(ad_ctx *ctx)
{
    ad_scope s = {0, 0};
    if (!ctx) return s;
    ctx->scope_depth++;
    s.mark = ctx->scope_len;
    s.depth = ctx->scope_depth;
    return s;
}

int ad_scope_push(ad_ctx *ctx, ad_tensor *t)
{
    if (ctx->scope_len == ctx->scope_cap) {
        int64_t ncap = ctx->scope_cap ? 2 * ctx->scope_cap : 256;
        ad_tensor **s = ad_mem_realloc(ctx, ctx->scope_stack, (size_t)ctx->scope_cap * sizeof *s,
                                       (size_t)ncap * sizeof *s, AD_MEM_META);
        if (!s) return AD_ENOMEM;
        ctx->scope_stack = s;
        ctx->scope_cap = ncap;
    }
    t->scope_slot = (int32_t)ctx->scope_len;
    t->scope_refs++;
    ctx->scope_stack[ctx->scope_len++] = t;
    return AD_OK;
}

void ad_scope_forget(ad_ctx *ctx, ad_tensor *t)
{
    ctx->scope_stack[t->scope_slot] = NULL;
    t->scope_slot = -1;
    if (--t->scope_refs > 0) {
        /* Rare: the same tensor kept out of nested scopes.  Find the next
         * slot down that still holds it. */
        for (int64_t i = ctx->scope_len - 1; i >= 0; i--)
            if (ctx->scope_stack[i] == t) {
                t->scope_slot = (int32_t)i;
                break;
            }
    }
}

void ad_scope_take(ad_ctx *ctx, ad_scope s, ad_tensor *t)
{
    if (t->scope_refs > 0 && t->scope_slot >= s.mark && ctx->scope_stack[t->scope_slot] == t)
        ad_scope_forget(ctx, t);
    else
        ad_incref(t); /* not registered in s: the caller gets its own reference */
}

int ad_scope_end_n(ad_ctx *ctx, ad_scope s, int n, ad_tensor **keep)
{
    if (!ctx) return AD_EINVAL;
    if (s.depth != ctx->scope_depth || s.depth <= 0 || s.mark > ctx->scope_len)
        return ad_error(ctx, AD_ESTATE, "scope_end: scopes must end in reverse order of beginning "
                                        "(ending depth %d while depth %d is open)", s.depth, ctx->scope_depth);
    for (int i = 0; i < n; i++)
        if (keep[i]) ad_incref(keep[i]);
    for (int64_t i = ctx->scope_len - 1; i >= s.mark; i--) {
        ad_tensor *t = ctx->scope_stack[i];
        if (!t) continue;
        if (t->scope_refs == 1) { /* its one slot is this one: ad_scope_forget inline */
            ctx->scope_stack[i] = NULL;
            t->scope_slot = -1;
            t->scope_refs = 0;
        } else {
            ad_scope_forget(ctx, t);
        }
        ad_decref(t);
    }
    ctx->scope_len = s.mark;
    ctx->scope_depth--;
    int rc = AD_OK;
    for (int i = 0; i < n; i++) {
        if (!keep[i] || ctx->scope_depth == 0) continue;
        if (ad_scope_push(ctx, keep[i]) != AD_OK) {
            ad_decref(keep[i]);
            keep[i] = NULL;
            rc = AD_ENOMEM;
        }
    }
    return rc;
}

ad_tensor *ad_scope_end(ad_ctx *ctx, ad_scope s, ad_tensor *keep)
{
    return ad_scope_end_n(ctx, s, 1, &keep) == AD_OK ? keep : NULL;
}

ad_tensor *ad_scope_end_owned(ad_ctx *ctx, ad_scope s, ad_tensor *keep)
{
    ad_tensor *r = ad_scope_end(ctx, s, keep);
    if (r && r->scope_refs > 0 && r->scope_slot >= 0 && ctx->scope_stack[r->scope_slot] == r &&
        r->scope_slot == ctx->scope_len - 1)
        ad_scope_forget(ctx, r); /* the slot just pushed by ad_scope_end */
    return r;
}
