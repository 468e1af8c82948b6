/* src/tensor.c — storage and tensor handles: creation, refcounting, layout,
 * properties and element access (ad_tensor_*, ad_storage_*). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "tape.h"
#include "trace.h"

/* ---- storage ---------------------------------------------------------------- */

_Static_assert(sizeof(ad_storage) <= AD_STORAGE_HDR, "the storage header fits before the data");
_Static_assert(AD_STORAGE_HDR >= sizeof(void *) + sizeof(size_t), "a cached block's link and size fit in it");

/* The pool class of a storage of numel doubles (2^c >= numel), or
 * AD_POOL_CLASSES when it is too big for the pools. */
static inline int size_class(int64_t numel)
{
    if (numel > ((int64_t)1 << (AD_POOL_CLASSES - 1))) return AD_POOL_CLASSES;
    return numel <= 1 ? 0 : 64 - __builtin_clzll((unsigned long long)(numel - 1));
}

static AD_COLD bool storage_size_error(ad_ctx *ctx, int64_t numel)
{
    if (numel < 0 || numel > (int64_t)((SIZE_MAX - AD_STORAGE_HDR) / sizeof(double)))
        ad_error(ctx, AD_ESIZE, "storage of %lld elements is too large", (long long)numel);
    else
        ad_error(ctx, AD_ELIMIT, "a tensor of %lld elements (%.3g MB) exceeds the limit of %.3g MB per tensor",
                 (long long)numel, (double)numel * 8e-6, (double)ctx->max_tensor_bytes * 1e-6);
    return false;
}

/* Negative, beyond what a block can address, or beyond the limit per
 * tensor: one unsigned compare (ctx.c folds the bounds into max_numel). */
static inline bool storage_size_ok(ad_ctx *ctx, int64_t numel)
{
    if (AD_UNLIKELY((uint64_t)numel > ctx->max_numel)) return storage_size_error(ctx, numel);
    return true;
}

/* A large block's data starts on a 64-byte line: malloc gives 16-byte
 * alignment, and an AVX-512 loop whose every load and store straddles two
 * cache lines runs 18 % slower on data in L1/L2 (y = a + b·b at n = 1e4
 * here; 3 % at 1e5 and 1e6).  The pad is at most 48 bytes per block. */
#define AD_DATA_ALIGN_PAD 48

/* The header of a storage over `data` in a block of `block` bytes (pool:
 * 1 + its pool class, 0: the large-block cache), no reference yet. */
static inline void storage_fill(ad_ctx *ctx, ad_storage *st, double *data, int64_t numel, size_t block,
                                uint8_t pool)
{
    st->data = data;
    st->nbytes = numel * (int64_t)sizeof(double);
    st->block = block;
    st->refs = 0;
    st->version = 0;
    st->tape_refs = 0;
    st->cat = ctx->cat;
    st->external = 0;
    st->visit = 0;
    st->pool = pool;
}

/* A storage of numel doubles in a block of the pools or of the cache,
 * not yet accounted (the caller accounts it with its handle). */
static inline ad_storage *storage_make(ad_ctx *ctx, int64_t numel)
{
    if (!storage_size_ok(ctx, numel)) return NULL;
    int c = size_class(numel);
    size_t block;
    void *mem;
    char *data;
    uint8_t pool = 0;
    if (c < AD_POOL_CLASSES) {
        block = ad_pool_block_size(c);
        mem = ad_pool_get_fast(ctx, c);
        data = (char *)mem + AD_STORAGE_HDR;
        pool = (uint8_t)(c + 1);
    } else {
        mem = ad_cache_get(ctx, AD_STORAGE_HDR + AD_DATA_ALIGN_PAD + (size_t)numel * sizeof(double), &block);
        data = (char *)(((uintptr_t)mem + AD_STORAGE_HDR + AD_DATA_ALIGN_PAD) & ~(uintptr_t)63);
    }
    if (!mem) return NULL;
    storage_fill(ctx, mem, (double *)data, numel, block, pool);
    return mem;
}

ad_storage *ad_storage_new(ad_ctx *ctx, int64_t numel)
{
    ad_storage *st = storage_make(ctx, numel);
    if (st) ad_mem_grow2(ctx, st->cat, st->nbytes, AD_MEM_META, (int64_t)st->block - st->nbytes);
    return st;
}

/* The last reference to st is gone: its block goes back to its pool or
 * to the cache.  The bytes were unaccounted by the caller. */
static inline void storage_recycle(ad_ctx *ctx, ad_storage *st)
{
    if (st->pool) ad_pool_put_fast(ctx, st->pool - 1, st);
    else ad_cache_put(ctx, st, st->block);
}

void ad_storage_decref(ad_ctx *ctx, ad_storage *st)
{
    if (--st->refs > 0) return;
    if (st->external) {
        ad_mem_free(ctx, st, sizeof *st, AD_MEM_META);
        return;
    }
    /* tape_refs > 0 only at context teardown (the tape is freed first) */
    ad_mem_shrink2(ctx, ad_storage_cat(st), -st->nbytes, AD_MEM_META, -((int64_t)st->block - st->nbytes));
    storage_recycle(ctx, st);
}

/* ---- handles ------------------------------------------------------------------ */

void ad_layout_update(ad_tensor *t)
{
    int64_t n = 1, expect = 1;
    bool contig = true;
    /* An empty tensor is contiguous and has no elements; its other axes may
     * multiply past INT64_MAX (zeros(0, 1e10, 1e10)), so stop here. */
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0) n = 0;
    for (int i = t->ndim - 1; n != 0 && i >= 0; i--) {
        n *= t->shape[i];
        if (t->shape[i] != 1 && t->stride[i] != expect) contig = false;
        expect *= t->shape[i];
    }
    t->numel = n;
    if (contig || n == 0) t->flags |= AD_T_CONTIG;
    else t->flags &= ~(uint32_t)AD_T_CONTIG;
    t->data = t->st->data + t->offset;
}

/* A handle's fields but its scope slot and layout: one new reference to
 * st, no links. */
static inline void handle_fill(ad_ctx *ctx, ad_tensor *t, ad_storage *st, int ndim, int64_t offset)
{
    t->st = st;
    st->refs++;
    t->offset = offset;
    t->refs = 1;
    t->ndim = ndim;
    t->flags = 0;
    t->tan_mask = 0;
    t->fr_pass = 0;
    t->grad_fn = NULL;
    t->grad = NULL;
    ctx->mem.tensors++;
}

/* A handle over st (one new storage reference), registered in the open
 * scope and on the live list, its own bytes with `meta` more bytes of
 * AD_MEM_META and `extra` bytes of st_cat accounted in one step; the layout is the caller's to fill.  The scope
 * slot is the only step that can fail, so it comes first. */
static inline ad_tensor *handle_make(ad_ctx *ctx, ad_storage *st, int ndim, int64_t offset, int64_t meta,
                                     int st_cat, int64_t extra)
{
    ad_tensor *t = ad_handle_get_fast(ctx);
    if (!t) return NULL;
    t->ctx = ctx;
    t->scope_slot = -1;
    t->scope_refs = 0;
    if (ctx->scope_depth > 0 && ad_scope_push_fast(ctx, t) != AD_OK) {
        ad_handle_put(ctx, t);
        return NULL;
    }
    ad_mem_grow2(ctx, AD_MEM_META, (int64_t)sizeof *t + meta, st_cat, extra);
    handle_fill(ctx, t, st, ndim, offset);
    return t;
}

ad_tensor *ad_handle_new(ad_ctx *ctx, ad_storage *st, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset)
{
    ad_tensor *t = handle_make(ctx, st, ndim, offset, 0, AD_MEM_META, 0);
    if (!t) return NULL;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->stride[i] = stride[i];
    }
    ad_layout_update(t);
    return t;
}

/* Row-major strides.  Empty axes count as 1 (PyTorch's rule).  A tensor
 * with elements has a product below INT64_MAX (ad_shape_numel), but an
 * empty one need not (zeros(1e5, 1e7, 1e5, 0, ...)): there the stride
 * stops growing, as no element is ever addressed through it. */
static void contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        int64_t d = shape[i] > 0 ? shape[i] : 1;
        if (s <= INT64_MAX / d) s *= d;
    }
}

/* t's layout: shape (ndim axes, n elements) row-major over its storage. */
static inline void contig_layout(ad_tensor *t, int ndim, const int64_t *shape, int64_t n)
{
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    if (n > 0) { /* every axis >= 1 and their product < INT64_MAX / 8: no guard */
        int64_t k = 1;
        for (int i = ndim - 1; i >= 0; i--) {
            t->stride[i] = k;
            k *= shape[i];
        }
    } else {
        contiguous_strides(ndim, shape, t->stride);
    }
    t->numel = n;
    t->flags = AD_T_CONTIG;
    t->data = t->st->data;
}

/* Every op's result comes here: storage and handle in one pass, the
 * layout known to be contiguous (no ad_layout_update), one accounting
 * step for the handle and the storage's element and header bytes.  n is
 * the shape's element count, already checked. */
static inline ad_tensor *new_contiguous(ad_ctx *ctx, int ndim, const int64_t *shape, int64_t n)
{
    ad_storage *st = storage_make(ctx, n);
    if (!st) return NULL;
    ad_tensor *t = handle_make(ctx, st, ndim, 0, (int64_t)st->block - st->nbytes, st->cat, st->nbytes);
    if (!t) {
        storage_recycle(ctx, st);
        return NULL;
    }
    contig_layout(t, ndim, shape, n);
    return t;
}

ad_tensor *ad_new(ad_ctx *ctx, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > AD_MAX_DIMS) {
        ad_error(ctx, AD_ESIZE, "tensors have at most %d axes (asked for %d)", AD_MAX_DIMS, ndim);
        return NULL;
    }
    int64_t n = ad_shape_numel(ctx, "new tensor", ndim, shape);
    return n < 0 ? NULL : new_contiguous(ctx, ndim, shape, n);
}

/* The result of most ops on small tensors: a pool block, a parked handle
 * and a free scope slot, all tested before anything is written, so the
 * path makes no call and needs no stack frame (the general path's frame
 * and register saves were ~20 of a plain 1-element op's ~280
 * instructions).  NULL when one of them is missing: new_contiguous then
 * does the same with the allocator behind it. */
static inline ad_tensor *new_small(ad_ctx *ctx, const ad_tensor *like, int64_t n)
{
    if (AD_UNLIKELY(n < 1 || n > ((int64_t)1 << (AD_POOL_CLASSES - 1)) || (uint64_t)n > ctx->max_numel))
        return NULL;
    int c = size_class(n);
    void *mem = ctx->pool[c];
    ad_tensor *t = ctx->free_handles;
    if (AD_UNLIKELY(!mem || !t || (ctx->scope_depth > 0 && ctx->scope_len == ctx->scope_cap))) return NULL;
    size_t block = ad_pool_block_size(c);
    AD_UNPOISON(mem, block);
    ctx->pool[c] = *(void **)mem;
    ctx->pool_bytes -= (int64_t)block;
    ad_storage *st = mem;
    storage_fill(ctx, st, (double *)((char *)mem + AD_STORAGE_HDR), n, block, (uint8_t)(c + 1));
    AD_UNPOISON(t, sizeof *t);
    ctx->free_handles = t->next;
    ctx->nfree_handles--;
    t->ctx = ctx;
    if (ctx->scope_depth > 0) { /* ad_scope_push_fast without its fallback: room was tested */
        t->scope_slot = (int32_t)ctx->scope_len;
        t->scope_refs = 1;
        ctx->scope_stack[ctx->scope_len++] = t;
    } else {
        t->scope_slot = -1;
        t->scope_refs = 0;
    }
    ad_mem_grow2(ctx, AD_MEM_META, (int64_t)sizeof *t + (int64_t)block - st->nbytes, st->cat, st->nbytes);
    handle_fill(ctx, t, st, like->ndim, 0);
    contig_layout(t, like->ndim, like->shape, n);
    return t;
}

/* t's rank and element count were checked when t was made (numel is its
 * shape's product, 0 for an empty one; views never grow it, expand checks
 * its own): not again for every result, but for the bound itself. */
static AD_NOINLINE ad_tensor *new_like_general(const ad_tensor *t)
{
    if (t->numel < 0 || t->numel > INT64_MAX / 8) return ad_new(t->ctx, t->ndim, t->shape);
    return new_contiguous(t->ctx, t->ndim, t->shape, t->numel);
}

ad_tensor *ad_new_like(const ad_tensor *t)
{
    ad_tensor *r = new_small(t->ctx, t, t->numel);
    return r ? r : new_like_general(t);
}

ad_tensor *ad_alias(ad_tensor *t, bool with_tangent)
{
    /* t's layout copied as it is, element count and contiguity included
     * (not recomputed: every fresh input and saved output is one) */
    ad_tensor *a = handle_make(t->ctx, t->st, t->ndim, t->offset, 0, AD_MEM_META, 0);
    if (!a) return NULL;
    for (int i = 0; i < t->ndim; i++) {
        a->shape[i] = t->shape[i];
        a->stride[i] = t->stride[i];
    }
    a->numel = t->numel;
    a->data = t->data;
    a->flags = t->flags & (AD_T_CONTIG | AD_T_VIEW);
    if (with_tangent && t->tan_mask) ad_tan_share(a, t);
    return a;
}

/* What a handle holds besides its storage: its record, its tangents,
 * its .grad.  Anything this drops to zero is queued, not released
 * recursively (ctx->reaping is set). */
static void drop_links(ad_ctx *ctx, ad_tensor *t)
{
    if (t->grad_fn) {
        if (t->grad_fn->out == t) t->grad_fn->out = NULL;
        ad_node_drop_out(ctx, t->grad_fn);
        t->grad_fn = NULL;
    }
    if (t->tan_mask) ad_tan_drop_all(t);
    if (t->grad) ad_decref(t->grad);
}

static inline bool has_links(const ad_tensor *t) { return t->grad_fn || t->tan_mask || t->grad; }

/* The handle's own memory and its storage reference. */
static inline void free_handle(ad_ctx *ctx, ad_tensor *t)
{
    ad_storage *st = t->st;
    if (st->refs == 1 && !st->external) { /* the common case: handle and storage go in one step */
        st->refs = 0;
        ad_mem_shrink2(ctx, ad_storage_cat(st), -st->nbytes, AD_MEM_META,
                       -((int64_t)st->block - st->nbytes) - (int64_t)sizeof *t);
        storage_recycle(ctx, st);
    } else {
        ad_storage_decref(ctx, st);
        ad_mem_shrink2(ctx, AD_MEM_META, -(int64_t)sizeof *t, AD_MEM_META, 0);
    }
    ctx->mem.tensors--;
    ad_handle_put_fast(ctx, t);
}

/* Actually release one handle: its links, then its own memory. */
static void destroy(ad_ctx *ctx, ad_tensor *t)
{
    if (has_links(t)) drop_links(ctx, t);
    free_handle(ctx, t);
}

void ad_reap(ad_ctx *ctx)
{
    if (ctx->reaping) return;
    ctx->reaping = true;
    for (;;) {
        if (ctx->reap) {
            ad_tensor *t = ctx->reap;
            ctx->reap = t->next;
            destroy(ctx, t);
        } else if (ctx->tape && ctx->tape->reap) {
            ad_node *n = ctx->tape->reap;
            ctx->tape->reap = n->reap_next;
            ad_node_reap(ctx, n);
        } else {
            break;
        }
    }
    ctx->reaping = false;
}

/* The last reference to a handle without links is gone, and it is a
 * small result of an op: a storage of its own from the pools, room for
 * the handle in its pool.  Everything is tested before anything is
 * written and nothing is called, so the path needs no stack frame (the
 * general one's was ~8 of a plain op's ~265 instructions).  false: not
 * this case, nothing done. */
static inline bool free_small(ad_ctx *ctx, ad_tensor *t)
{
    ad_storage *st = t->st;
    if (st->refs != 1 || !st->pool || ctx->no_recycling || ctx->nfree_handles >= ctx->handle_pool_cap)
        return false;
    /* free_handle's common case with the pools' fast paths, no fallbacks;
     * a pool block is never external and tape_refs is 0 outside teardown */
    st->refs = 0;
    ad_mem_shrink2(ctx, ad_storage_cat(st), -st->nbytes, AD_MEM_META,
                   -((int64_t)st->block - st->nbytes) - (int64_t)sizeof *t);
    int c = st->pool - 1;
    *(void **)st = ctx->pool[c];
    ctx->pool[c] = st;
    ctx->pool_bytes += (int64_t)st->block;
    AD_POISON(st, st->block);
    ctx->mem.tensors--;
    t->next = ctx->free_handles;
    ctx->free_handles = t;
    ctx->nfree_handles++;
    AD_POISON_HANDLE(t);
    return true;
}

static AD_NOINLINE void free_general(ad_ctx *ctx, ad_tensor *t) { free_handle(ctx, t); }

/* Released at once with what it links to; what that lets go of is queued
 * and released by the loop after (ctx->reaping is set meanwhile). */
static AD_NOINLINE void release_linked(ad_ctx *ctx, ad_tensor *t)
{
    ctx->reaping = true;
    drop_links(ctx, t);
    free_handle(ctx, t);
    ctx->reaping = false;
    if (ctx->reap || (ctx->tape && ctx->tape->reap)) ad_reap(ctx);
}

/* A handle with links, most often a recorded op's output: its record
 * either lives on (later records read it) or dies with it, and when that
 * death lets go of nothing else it is inline (tape.h:
 * ad_node_drop_out_fast); so is the handle's, with no call, no queue and
 * no stack frame.  Anything else goes to release_linked.
 * Out of ad_decref, whose plain path would otherwise pay this one's
 * register saves. */
static AD_NOINLINE void release_recorded(ad_ctx *ctx, ad_tensor *t)
{
    ad_node *n = t->grad_fn;
    if (t->tan_mask || t->grad) {
        release_linked(ctx, t);
        return;
    }
    if (n->refs > 1) { /* later records still read it (drop_links' first case) */
        n->refs--;
        if (n->out == t) n->out = NULL;
    } else if (!ad_node_drop_out_fast(ctx, n)) {
        release_linked(ctx, t);
        return;
    }
    t->grad_fn = NULL;
    if (!free_small(ctx, t)) free_general(ctx, t);
}

void ad_decref(ad_tensor *t)
{
    if (--t->refs > 0) return;
    ad_ctx *ctx = t->ctx;
    if (ctx->reaping) { /* a release in progress: queued, never recursive */
        t->next = ctx->reap;
        ctx->reap = t;
        return;
    }
    /* the common case: released at once.  A handle without links lets go
     * of nothing that could be queued: no release loop around it. */
    if (has_links(t)) release_recorded(ctx, t);
    else if (!free_small(ctx, t)) free_general(ctx, t);
}

/* Whether o is parked in the handle pool (not live): its fields are
 * stale then, and poisoned in sanitizer builds (only the list links may
 * be read).  A live handle holds a reference; a parked one none. */
static bool handle_parked(const ad_tensor *o)
{
#ifdef AD_ASAN
    return __asan_address_is_poisoned(&o->refs);
#else
    return o->refs <= 0;
#endif
}

/* ad_grad lends x's .grad (AD_T_LENT): freeing it while x still holds
 * it as its last reference would leave x with a dangling .grad (the
 * tensor count goes negative, ad_ctx_free then crashes).  Only handles
 * that ad_grad handed out pay for the search of their owner. */
static bool only_lent(const ad_tensor *t)
{
    if (!(t->flags & AD_T_LENT) || t->refs > 1 || t->scope_refs > 0) return false;
    const ad_tensor *end = &t->ctx->handles;
    for (const ad_tensor *o = end->all_next; o != end; o = o->all_next)
        if (!handle_parked(o) && o->grad == t) return true;
    return false;
}

void ad_tensor_free(ad_tensor *t)
{
    if (!t) return;
    if (t->refs <= 0) {
        ad_error(t->ctx, AD_ESTATE, "tensor_free: the tensor was freed already (a second ad_tensor_free of the "
                                    "same reference)");
        return;
    }
    if (only_lent(t)) {
        ad_error(t->ctx, AD_ESTATE, "tensor_free: this tensor is borrowed: ad_grad(x) returns x's own .grad, which "
                                    "x releases (take a reference with ad_tensor_ref to keep it)");
        return;
    }
    if (t->scope_refs > 0) ad_scope_forget(t->ctx, t);
    ad_decref(t);
}

ad_tensor *ad_tensor_ref(ad_tensor *t)
{
    if (!t) return NULL;
    ad_incref(t);
    /* like any reference handed out, it belongs to the open scope if any */
    if (t->ctx->scope_depth > 0 && ad_scope_push(t->ctx, t) != AD_OK) {
        ad_decref(t);
        return NULL;
    }
    return t;
}

/* ---- shapes and axes ----------------------------------------------------------- */

const char *ad_fmt_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

int ad_shape_str(const ad_shape *s, char *buf, size_t n)
{
    char tmp[AD_SHAPEBUF];
    if (!s || s->ndim < 0 || s->ndim > AD_MAX_DIMS) return snprintf(buf, n, "[?]");
    ad_fmt_shape(tmp, sizeof tmp, s->ndim, s->dim);
    return snprintf(buf, n, "%s", tmp);
}

/* shape's bad axis i (negative, or one too many elements) as an error. */
static AD_COLD int64_t numel_error(ad_ctx *ctx, const char *what, int ndim, const int64_t *shape, int i)
{
    char buf[AD_SHAPEBUF];
    if (shape[i] < 0)
        ad_error(ctx, AD_ESIZE, "%s: negative size %lld in shape %s", what, (long long)shape[i],
                 ad_fmt_shape(buf, sizeof buf, ndim, shape));
    else
        ad_error(ctx, AD_ESIZE, "%s: shape %s has too many elements", what,
                 ad_fmt_shape(buf, sizeof buf, ndim, shape));
    return -1;
}

int64_t ad_shape_numel(ad_ctx *ctx, const char *what, int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return numel_error(ctx, what, ndim, shape, i);
        /* n·d > INT64_MAX / 8 exactly when the old n > (INT64_MAX / 8) / d
         * was; a multiply, not a 64-bit division (40-90 cycles: a fifth of
         * a plain op's time went to this one instruction) */
        if (__builtin_mul_overflow(n, shape[i], &n) || n > INT64_MAX / 8)
            return numel_error(ctx, what, ndim, shape, i);
    }
    return n;
}

int ad_axis_index(ad_ctx *ctx, const char *what, int axis, int ndim)
{
    int a = axis < 0 ? axis + ndim : axis;
    if (a < 0 || a >= ndim) {
        if (ndim == 0)
            ad_error(ctx, AD_EAXIS, "%s: axis %d is out of range for a 0-d tensor", what, axis);
        else
            ad_error(ctx, AD_EAXIS, "%s: axis %d is out of range for a tensor with %d axes (valid: %d..%d)",
                     what, axis, ndim, -ndim, ndim - 1);
        return -1;
    }
    return a;
}

int ad_axes_mask(ad_ctx *ctx, const char *what, ad_axes axes, int ndim, uint32_t *mask)
{
    uint32_t m = 0;
    if (axes.n < 0) {
        *mask = ndim ? (uint32_t)((1u << ndim) - 1) : 0;
        return AD_OK;
    }
    if (axes.n > AD_MAX_DIMS) return ad_error(ctx, AD_EAXIS, "%s: %d axes given", what, axes.n);
    for (int i = 0; i < axes.n; i++) {
        int a = ad_axis_index(ctx, what, axes.axis[i], ndim);
        if (a < 0) return AD_EAXIS;
        if (m & (1u << a)) return ad_error(ctx, AD_EAXIS, "%s: axis %d appears twice", what, axes.axis[i]);
        m |= 1u << a;
    }
    *mask = m;
    return AD_OK;
}

/* ---- properties ------------------------------------------------------------------ */

ad_ctx *ad_tensor_ctx(const ad_tensor *t) { return t ? t->ctx : NULL; }
int ad_ndim(const ad_tensor *t) { return t ? t->ndim : -1; }
int64_t ad_numel(const ad_tensor *t) { return t ? t->numel : -1; }
int64_t ad_offset(const ad_tensor *t) { return t ? t->offset : -1; }
bool ad_is_contiguous(const ad_tensor *t) { return t && (t->flags & AD_T_CONTIG); }
double *ad_data(ad_tensor *t)
{
    ad_rec_host_read(t, "ad_data handed out a tensor's memory inside f");
    return t ? t->data : NULL;
}
const void *ad_storage_id(const ad_tensor *t) { return t ? (const void *)t->st : NULL; }
uint32_t ad_version(const ad_tensor *t) { return t ? t->st->version : 0; }

int64_t ad_dim(const ad_tensor *t, int axis)
{
    if (!t) return -1;
    int a = axis < 0 ? axis + t->ndim : axis;
    return (a < 0 || a >= t->ndim) ? -1 : t->shape[a];
}

int64_t ad_stride(const ad_tensor *t, int axis)
{
    if (!t) return 0;
    int a = axis < 0 ? axis + t->ndim : axis;
    return (a < 0 || a >= t->ndim) ? 0 : t->stride[a];
}

ad_shape ad_shape_of(const ad_tensor *t)
{
    ad_shape s;
    memset(&s, 0, sizeof s);
    if (!t) return s;
    s.ndim = t->ndim;
    memcpy(s.dim, t->shape, (size_t)t->ndim * sizeof t->shape[0]);
    return s;
}

/* ---- element access -------------------------------------------------------------- */

static int elem_offset(const ad_tensor *t, const char *what, int n, const int64_t *idx, int64_t *off)
{
    char buf[AD_SHAPEBUF];
    if (n != t->ndim)
        return ad_error(t->ctx, AD_EINDEX, "%s: %d indices given for a tensor of shape %s", what, n,
                        ad_fmt_shape(buf, sizeof buf, t->ndim, t->shape));
    int64_t o = 0;
    for (int i = 0; i < n; i++) {
        int64_t k = idx[i] < 0 ? idx[i] + t->shape[i] : idx[i];
        if (k < 0 || k >= t->shape[i])
            return ad_error(t->ctx, AD_EINDEX, "%s: index %lld is out of range for axis %d of size %lld",
                            what, (long long)idx[i], i, (long long)t->shape[i]);
        o += k * t->stride[i];
    }
    *off = o;
    return AD_OK;
}

double ad_getv(const ad_tensor *t, int n, const int64_t *idx)
{
    ad_rec_host_read(t, "ad_getv read a value of a tensor inside f");
    int64_t o;
    if (!t || elem_offset(t, "get", n, idx, &o) != AD_OK) return NAN;
    return t->data[o];
}

int ad_setv(ad_tensor *t, int n, const int64_t *idx, double value)
{
    int64_t o;
    if (!t) return AD_EINVAL;
    int rc = elem_offset(t, "set", n, idx, &o);
    if (rc != AD_OK) return rc;
    /* A scalar write is a slice assignment of one element. */
    ad_index ix[AD_MAX_DIMS];
    for (int i = 0; i < n; i++) ix[i] = AD_I(idx[i]);
    return ad_setitem_scalar(t, n, ix, value);
}

double ad_item(const ad_tensor *t)
{
    if (!t) return NAN;
    ad_rec_host_read(t, "ad_item read a value of a tensor inside f");
    if (t->numel != 1) {
        char buf[AD_SHAPEBUF];
        ad_error(t->ctx, AD_ESHAPE, "item: a tensor with %lld elements (shape %s) cannot be converted to a number",
                 (long long)t->numel, ad_fmt_shape(buf, sizeof buf, t->ndim, t->shape));
        return NAN;
    }
    return t->data[0];
}
