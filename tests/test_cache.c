/* tests/test_cache.c — the context's cache of large blocks (src/ctx.c)
 * and the tape's bytes (src/tape.c): reuse, the cap, ad_ctx_trim, exact
 * accounting beside the `cached` figure, and saved storages counted once
 * as AD_MEM_TAPE. */
#include <stdint.h>
#include <stdlib.h>

#include "helpers.h"

/* A hook that counts large allocations and the bytes it has out. */
typedef struct {
    int64_t large_allocs; /* allocations above 4 kB */
    int64_t out;          /* bytes allocated and not freed */
    int64_t budget;       /* > 0: refuse what would take `out` above it */
} counter;

static void *counting(void *ud, void *ptr, size_t osize, size_t nsize)
{
    counter *c = ud;
    if (nsize == 0) {
        c->out -= (int64_t)osize;
        free(ptr);
        return NULL;
    }
    if (c->budget > 0 && c->out + (int64_t)nsize - (int64_t)osize > c->budget) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) {
        c->out += (int64_t)nsize - (int64_t)osize;
        if (!ptr && nsize > 4096) c->large_allocs++;
    }
    return p;
}

static ad_ctx *new_ctx(counter *c, int64_t limit)
{
    ad_ctx_options o = {.alloc = counting, .alloc_ud = c, .seed = 3, .cache_limit = limit};
    ad_ctx *k = ad_ctx_new_with(&o);
    cr_assert_not_null(k);
    return k;
}

static ad_mem_stats stats(ad_ctx *k)
{
    ad_mem_stats m;
    ad_ctx_mem_stats(k, &m);
    return m;
}

/* One reverse gradient of sum(exp(x)·x) over n = 5000 (40 kB tensors). */
static void one_gradient(ad_ctx *k)
{
    ad_scope s = ad_scope_begin(k);
    ad_tensor *x = ad_rand(k, AD_SHAPE(5000));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_sum(ad_mul(ad_exp(x), x), AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(k));
    cr_assert_not_null(ad_grad(x));
    ad_scope_end(k, s, NULL);
}

Test(cache, a_repeated_gradient_allocates_no_large_block,
     .description = "the second gradient takes every large block from the cache")
{
    counter c = {0};
    ad_ctx *k = new_ctx(&c, 0);
    one_gradient(k);
    int64_t first = c.large_allocs;
    one_gradient(k);
    cr_expect_gt(first, 3, "the first gradient allocates its blocks");
    cr_expect_eq(c.large_allocs, first, "the second allocated %lld large blocks", (long long)(c.large_allocs - first));
    ad_ctx_free(k);
}

Test(cache, large_data_starts_on_a_cache_line,
     .description = "a large tensor's elements start on a 64-byte line, cached or not (vector loads and stores "
                    "that straddle two lines are slower); small ones keep their 16-byte alignment")
{
    for (int64_t limit = 0; limit >= -1; limit--) { /* with the cache, and without (cache_limit < 0) */
        counter c = {0};
        ad_ctx *k = new_ctx(&c, limit);
        int64_t sizes[] = {129, 1000, 5001, 100000, 1000003};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            ad_tensor *t = ad_zeros(k, AD_SHAPE(sizes[i]));
            cr_assert_not_null(t, "%s", ad_errmsg(k));
            cr_expect_eq((uintptr_t)ad_data(t) % 64, 0, "n = %lld: data at %p", (long long)sizes[i], (void *)ad_data(t));
            ad_tensor_free(t);
        }
        ad_tensor *small = ad_zeros(k, AD_SHAPE(3));
        cr_expect_eq((uintptr_t)ad_data(small) % 16, 0);
        ad_tensor_free(small);
        ad_ctx_free(k);
        cr_expect_eq(c.out, 0, "every byte given back (limit %lld)", (long long)limit);
    }
}

Test(cache, no_cache_when_disabled, .description = "cache_limit < 0: every large block goes back to the allocator")
{
    counter c = {0};
    ad_ctx *k = new_ctx(&c, -1);
    one_gradient(k);
    int64_t first = c.large_allocs;
    one_gradient(k);
    cr_expect_geq(c.large_allocs - first, 3, "the second gradient allocates its blocks again");
    cr_expect_eq(stats(k).cached, ad_ctx_trim(k), "only small pools and handles were parked");
    cr_expect_eq(ad_ctx_cache_limit(k), 0);
    ad_ctx_free(k);
}

Test(cache, accounting_stays_exact, .description = "a cached block is not live: values return to where they were, "
                                                   "the block shows as cached, and a reuse counts the same bytes")
{
    counter c = {0};
    ad_ctx *k = new_ctx(&c, 0);
    ad_mem_stats m0 = stats(k);
    int64_t out0 = c.out;
    ad_tensor *t = ad_zeros(k, AD_SHAPE(1000));
    ad_mem_stats m1 = stats(k);
    cr_expect_eq(m1.live[AD_MEM_VALUES] - m0.live[AD_MEM_VALUES], 8000);
    int64_t meta = m1.live[AD_MEM_META] - m0.live[AD_MEM_META];
    ad_tensor_free(t);
    ad_mem_stats m2 = stats(k);
    cr_expect_eq(m2.live[AD_MEM_VALUES], m0.live[AD_MEM_VALUES]);
    cr_expect_eq(m2.live_total, m0.live_total);
    cr_expect_geq(m2.cached - m0.cached, 8000, "the block is parked (%lld)", (long long)(m2.cached - m0.cached));
    cr_expect_eq(c.out - out0, m2.cached - m0.cached, "what the hook still has out is exactly the cached figure");
    t = ad_zeros(k, AD_SHAPE(1000));
    ad_mem_stats m3 = stats(k);
    cr_expect_eq(m3.live[AD_MEM_VALUES] - m0.live[AD_MEM_VALUES], 8000);
    cr_expect_eq(m3.live[AD_MEM_META] - m0.live[AD_MEM_META], meta);
    cr_expect_eq(m3.cached, m0.cached, "the block left the cache");
    ad_tensor_free(t);
    ad_ctx_free(k);
}

Test(cache, trim_gives_everything_back, .description = "ad_ctx_trim returns the cached bytes to the allocator")
{
    counter c = {0};
    ad_ctx *k = new_ctx(&c, 0);
    one_gradient(k);
    ad_mem_stats m = stats(k);
    cr_expect_gt(m.cached, 5000 * 8);
    int64_t out = c.out;
    int64_t freed = ad_ctx_trim(k);
    cr_expect_eq(freed, m.cached);
    cr_expect_eq(out - c.out, freed, "the hook got back exactly the cached bytes");
    cr_expect_eq(stats(k).cached, 0);
    one_gradient(k); /* still works after a trim */
    ad_ctx_free(k);
    cr_expect_eq(c.out, 0, "nothing leaked");
}

Test(cache, the_cap_bounds_what_is_kept, .description = "the cache never holds more than its cap")
{
    counter c = {0};
    ad_ctx *k = new_ctx(&c, 100000);
    ad_tensor *t[4];
    for (int i = 0; i < 4; i++) t[i] = ad_zeros(k, AD_SHAPE(5000)); /* 40 kB each */
    for (int i = 0; i < 4; i++) ad_tensor_free(t[i]);
    ad_mem_stats m = stats(k);
    cr_expect_leq(m.cached - ad_ctx_trim(k), 0);
    cr_expect_eq(stats(k).cached, 0);
    for (int i = 0; i < 4; i++) t[i] = ad_zeros(k, AD_SHAPE(5000));
    for (int i = 0; i < 4; i++) ad_tensor_free(t[i]);
    cr_expect_leq(stats(k).cached, 100000 + 4096 * 8, "large blocks at most the cap (%lld)",
                  (long long)stats(k).cached);
    ad_ctx_set_cache_limit(k, 50000);
    cr_expect_leq(stats(k).cached, 4096 * 8, "lowering the cap empties the large-block cache");
    ad_ctx_free(k);
    cr_expect_eq(c.out, 0);
}

Test(cache, out_of_memory_gives_the_cache_back_first,
     .description = "an allocation that fails while blocks are cached is retried after emptying the cache")
{
    counter c = {0};
    ad_ctx *k = new_ctx(&c, 0);
    ad_tensor *t = ad_zeros(k, AD_SHAPE(20000));
    ad_tensor_free(t);
    cr_expect_gt(stats(k).cached, 160000);
    /* 240 kB more than the budget allows unless the cached 160 kB go back:
     * the allocation must succeed by emptying the cache */
    c.budget = c.out + 100000;
    t = ad_zeros(k, AD_SHAPE(30000));
    cr_assert_not_null(t, "%s", ad_errmsg(k));
    cr_expect_lt(stats(k).cached, 160000, "the cache was given back");
    c.budget = c.out + 1000; /* and a real shortage is still AD_ENOMEM */
    cr_expect_null(ad_zeros(k, AD_SHAPE(30000)));
    cr_expect_eq(ad_errno(k), AD_ENOMEM);
    c.budget = 0;
    ad_tensor_free(t);
    ad_ctx_free(k);
    cr_expect_eq(c.out, 0);
}

/* ---- the tape's bytes ------------------------------------------------------- */

TestSuite(tape_bytes, .init = th_setup, .fini = th_teardown);

static int sum_saved(const ad_tape_entry *e, void *ud)
{
    *(int64_t *)ud += e->saved_bytes;
    return AD_OK;
}

Test(tape_bytes, a_shared_storage_counts_once, .description = "dot(x, x) saves x twice: the tape holds 8000 bytes "
                                                              "of it, not 16000; values keep none of it")
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_ones(ctx, AD_SHAPE(1000));
    ad_requires_grad_(x, true);
    ad_mem_stats m0 = stats(ctx);
    ad_tensor *y = ad_dot(x, x);
    ad_mem_stats m1 = stats(ctx);
    ad_tape_stats ts;
    ad_tape_stats_get(ctx, &ts);
    int64_t tape = m1.live[AD_MEM_TAPE] - m0.live[AD_MEM_TAPE];
    cr_expect(tape >= 8000 && tape < 9000, "tape bytes %lld: x's 8000 once plus one record", (long long)tape);
    cr_expect_eq(m1.live[AD_MEM_VALUES] - m0.live[AD_MEM_VALUES], 8 - 8000, "x moved to the tape, y is new");
    cr_expect_eq(ts.bytes, m1.live[AD_MEM_TAPE], "ad_tape_stats says the same");
    int64_t visited = 0;
    cr_assert_eq(ad_tape_visit(ctx, sum_saved, &visited), AD_OK);
    cr_expect_eq(visited, 8000, "the visit counts x once (%lld)", (long long)visited);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    ad_mem_stats m2 = stats(ctx);
    cr_expect_eq(m2.live[AD_MEM_TAPE], m0.live[AD_MEM_TAPE], "backward released the tape and what it saved");
    cr_expect_eq(m2.live[AD_MEM_VALUES] - m0.live[AD_MEM_VALUES], 8, "x is values again, beside y");
    ad_scope_end(ctx, s, NULL);
}

Test(tape_bytes, views_and_several_records, .description = "records saving views of one storage count it once; "
                                                           "the visit's entries sum to the saved part")
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_rand(ctx, AD_SHAPE(2000));
    ad_requires_grad_(x, true);
    ad_mem_stats m0 = stats(ctx);
    ad_tensor *a = ad_sin(x);      /* saves x */
    ad_tensor *b = ad_mul(x, x);   /* saves x twice */
    ad_tensor *e = ad_exp(a);      /* saves its output */
    ad_tensor *y = ad_sum(ad_add(ad_add(a, b), e), AD_ALL, false);
    cr_assert_not_null(y, "%s", ad_errmsg(ctx));
    int64_t visited = 0;
    cr_assert_eq(ad_tape_visit(ctx, sum_saved, &visited), AD_OK);
    cr_expect_eq(visited, 2 * 16000, "x and exp's output, once each (%lld)", (long long)visited);
    ad_mem_stats m1 = stats(ctx);
    int64_t tape = m1.live[AD_MEM_TAPE] - m0.live[AD_MEM_TAPE];
    cr_expect(tape >= 32000 && tape < 32000 + 4096, "tape %lld", (long long)tape);
    cr_expect_eq(m1.live_total - m0.live_total,
                 (m1.live[AD_MEM_VALUES] - m0.live[AD_MEM_VALUES]) + tape +
                     (m1.live[AD_MEM_TANGENTS] - m0.live[AD_MEM_TANGENTS]) +
                     (m1.live[AD_MEM_META] - m0.live[AD_MEM_META]),
                 "categories partition the bytes");
    ad_scope_end(ctx, s, NULL);
}

Test(tape_bytes, an_inplace_snapshot_stays_tape, .description = "x.mul_(y) snapshots the saved x: the copy counts "
                                                                "as tape, and everything is released after")
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *w = ad_rand(ctx, AD_SHAPE(1000));
    ad_requires_grad_(w, true);
    ad_mem_stats m0 = stats(ctx);
    ad_tensor *x = ad_mul_s(w, 2.0);
    cr_assert_eq(ad_mul_(x, w), AD_OK, "%s", ad_errmsg(ctx)); /* saves the old x (a copy) and w */
    ad_tensor *z = ad_sum(x, AD_ALL, false);
    int64_t visited = 0;
    cr_assert_eq(ad_tape_visit(ctx, sum_saved, &visited), AD_OK);
    ad_tape_stats ts;
    ad_tape_stats_get(ctx, &ts);
    cr_expect_eq(ts.bytes, stats(ctx).live[AD_MEM_TAPE]);
    cr_expect_eq(visited, 2 * 8000, "w and the snapshot of the old x (%lld)", (long long)visited);
    cr_assert_eq(ad_backward(z, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(stats(ctx).live[AD_MEM_TAPE], m0.live[AD_MEM_TAPE]);
    ad_scope_end(ctx, s, NULL);
}
