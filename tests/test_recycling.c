/* tests/test_recycling.c — the context's recycling pools (src/ctx.c) and
 * what they hide.
 *
 * A context parks freed tensor handles and small storage blocks for the
 * next tensor.  ad_ctx_options.no_recycling sends them back to the
 * allocator instead (so a hook that fails the N-th allocation reaches
 * every one: tests/test_alloc_failure.c).  In sanitizer builds parked
 * memory is poisoned, so a use after free of a recycled tensor is
 * reported by AddressSanitizer as it would be for malloc's memory; the
 * death tests below only run there. */
#include <signal.h>
#include <stdlib.h>

#include "helpers.h"
#include "internal.h" /* AD_ASAN: this build has AddressSanitizer */

#ifdef AD_ASAN
/* the death tests expect an abort, whatever ASAN_OPTIONS the runner set */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "abort_on_error=1"; }
#endif

/* Counts the hook's allocations. */
static int64_t g_allocs;

static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (!ptr) g_allocs++;
    return realloc(ptr, nsize);
}

/* Allocations made by the second of two rounds of small tensors (the
 * first round fills the pools). */
static int64_t second_round_allocs(bool no_recycling)
{
    ad_ctx_options o = {.alloc = counting_alloc, .no_recycling = no_recycling};
    ad_ctx *k = ad_ctx_new_with(&o);
    cr_assert_not_null(k);
    int64_t before = 0;
    for (int round = 0; round < 2; round++) {
        if (round == 1) before = g_allocs;
        ad_scope s = ad_scope_begin(k);
        ad_tensor *x = ad_arange(k, 0, 12, 1);
        cr_assert_not_null(ad_sum(ad_mul(ad_sin(x), x), AD_ALL, false), "%s", ad_errmsg(k));
        ad_scope_end(k, s, NULL);
    }
    int64_t n = g_allocs - before;
    ad_ctx_free(k);
    return n;
}

Test(recycling, pools_serve_the_second_round, .description = "with recycling, a repeated computation of small "
                                                              "tensors allocates nothing new")
{
    cr_expect_eq(second_round_allocs(false), 0, "the pools did not serve the second round");
}

Test(recycling, no_recycling_reaches_the_allocator,
     .description = "ad_ctx_options.no_recycling: every handle and block of the second round comes from alloc")
{
    /* arange, sin, mul, sum: 4 tensors, each a handle and a block */
    cr_expect_geq(second_round_allocs(true), 8, "the hook did not see the second round's tensors");
}

/* Outside sanitizer builds nothing would report: the death tests are
 * registered disabled (Criterion lists them as skipped). */
#ifdef AD_ASAN
#define NO_ASAN false
#else
#define NO_ASAN true
#endif

Test(recycling, use_of_a_recycled_handle_is_reported, .signal = SIGABRT, .disabled = NO_ASAN,
     .description = "reading a freed tensor whose handle is parked for reuse: AddressSanitizer aborts "
                    "(ADSCOPE_SANITIZE builds only)")
{
    ad_ctx *k = ad_ctx_new();
    cr_assert_not_null(k);
    ad_tensor *t = ad_zeros(k, AD_SHAPE(4));
    cr_assert_not_null(t);
    ad_tensor_free(t);
    volatile int64_t n = ad_numel(t); /* use after free: the handle is parked, poisoned */
    (void)n;
    ad_ctx_free(k);
}

Test(recycling, use_of_a_pooled_block_is_reported, .signal = SIGABRT, .disabled = NO_ASAN,
     .description = "reading the data of a freed small tensor, its block parked in a pool: AddressSanitizer aborts "
                    "(ADSCOPE_SANITIZE builds only)")
{
    ad_ctx *k = ad_ctx_new();
    cr_assert_not_null(k);
    ad_tensor *t = ad_ones(k, AD_SHAPE(4));
    cr_assert_not_null(t);
    volatile double *d = ad_data(t);
    ad_tensor_free(t);
    volatile double v = d[0]; /* use after free: the block is parked, poisoned */
    (void)v;
    ad_ctx_free(k);
}
