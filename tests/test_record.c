/* tests/test_record.c — tape records as src/tape.c makes and releases them.
 *
 * A record is filled in one pass: its shapes are copied whole into room
 * reserved for the largest rank and the room left over is given back, so
 * the tests hold every rank up to AD_MAX_DIMS - 1 to its shapes (read back
 * through ad_tape_visit and used by backward), records that do not fit in
 * what is left of a chunk (a concat of many inputs between small records),
 * and the tape's bytes to the accounting (AD_MEM_TAPE) after every record.
 * The output's handle releases its record at once (not through the release
 * queue): a long chain released from its end must not recurse, a record
 * still named by a later one must stay, and both must give every byte
 * back. */
#include "helpers.h"

TestSuite(record, .init = th_setup, .fini = th_teardown);

/* The tape's bytes as ad_tape_stats reports them equal AD_MEM_TAPE's live
 * count: records plus the storages they save, each once. */
static void expect_tape_accounted(void)
{
    ad_tape_stats ts;
    ad_mem_stats ms;
    ad_tape_stats_get(ctx, &ts);
    ad_ctx_mem_stats(ctx, &ms);
    cr_expect_eq(ts.bytes, ms.live[AD_MEM_TAPE], "tape stats %lld bytes, AD_MEM_TAPE %lld live", (long long)ts.bytes,
                 (long long)ms.live[AD_MEM_TAPE]);
}

typedef struct {
    int n;
    ad_shape last;
} last_entry;

static int keep_last(const ad_tape_entry *e, void *ud)
{
    last_entry *l = ud;
    l->n++;
    l->last = e->out_shape;
    return AD_OK;
}

Test(record, every_rank_keeps_its_shapes,
     .description = "a record of a rank-r op (r = 0..AD_MAX_DIMS-1) gives back its output shape and a right gradient")
{
    for (int r = 0; r < AD_MAX_DIMS; r++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_shape sh = {.ndim = r};
        int64_t n = 1;
        for (int i = 0; i < r; i++) n *= sh.dim[i] = 1 + (i % 3 == 1); /* 1,2,1,1,2,... */
        ad_tensor *x = ad_empty(ctx, sh);
        for (int64_t i = 0; i < n; i++) ad_data(x)[i] = 0.3 + 0.17 * (double)i;
        ad_requires_grad_(x, true);
        /* a permute records its axes as attributes, after the shapes */
        int perm[AD_MAX_DIMS];
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        ad_tensor *p = ad_permute(ad_mul(x, x), r, perm);
        cr_assert_not_null(p, "rank %d", r);
        last_entry l = {0};
        cr_assert_eq(ad_tape_visit(ctx, keep_last, &l), AD_OK);
        cr_expect_eq(l.n, 2, "rank %d: %d records", r, l.n);
        cr_expect_eq(l.last.ndim, r);
        for (int i = 0; i < r; i++) cr_expect_eq(l.last.dim[i], sh.dim[r - 1 - i], "rank %d axis %d", r, i);
        expect_tape_accounted();
        cr_assert_eq(ad_backward(ad_sum(p, AD_ALL, false), NULL, 0), AD_OK, "rank %d", r);
        const double *g = th_values(ad_grad(x));
        for (int64_t i = 0; i < n; i++) cr_expect_float_eq(g[i], 2 * (0.3 + 0.17 * (double)i), 1e-15);
        ad_scope_end(ctx, s, NULL);
        expect_tape_accounted();
    }
}

Test(record, records_larger_than_a_chunk_and_across_its_end,
     .description = "a concat of 3000 inputs between small records: shapes, gradient and bytes all right")
{
    enum { N = 3000 };
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(N));
    for (int i = 0; i < N; i++) ad_data(x)[i] = 1.0 + 0.001 * i;
    ad_requires_grad_(x, true);
    ad_scope s = ad_scope_begin(ctx);
    static ad_tensor *parts[N];
    for (int i = 0; i < N; i++) parts[i] = ad_mul_s(ad_idx(x, AD_S(i, i + 1)), 1.0 + i % 7);
    for (int k = 0; k < 3; k++) { /* big records on top of small ones, three times */
        ad_tensor *c = ad_concat(parts, N, 0);
        cr_assert_not_null(c);
        expect_tape_accounted();
        parts[k] = ad_idx(c, AD_S(k, k + 1));
    }
    ad_tensor *y = ad_sum(ad_concat(parts, N, 0), AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK);
    const double *g = th_values(ad_grad(x));
    for (int i = 0; i < N; i++) cr_expect_float_eq(g[i], 1.0 + i % 7, 1e-15, "element %d", i);
    ad_scope_end(ctx, s, NULL);
    ad_tape_stats ts;
    ad_tape_stats_get(ctx, &ts);
    cr_expect_eq(ts.live, 0);
    cr_expect_eq(ts.bytes, 0);
    ad_tensor_free(x);
}

Test(record, a_long_chain_is_released_from_its_end,
     .description = "50000 records freed by dropping the last output: no recursion, every byte back")
{
    ad_tensor *x = ad_full(ctx, AD_SHAPE(1), 1.25);
    ad_requires_grad_(x, true);
    ad_mem_stats before;
    ad_ctx_mem_stats(ctx, &before);
    ad_tensor *y = ad_tensor_ref(x);
    for (int i = 0; i < 50000; i++) {
        ad_tensor *z = ad_sin(y); /* saves its input: every record holds the one before */
        ad_tensor_free(y);
        y = z;
    }
    ad_tape_stats ts;
    ad_tape_stats_get(ctx, &ts);
    cr_expect_eq(ts.live, 50000);
    expect_tape_accounted();
    ad_tensor_free(y);
    ad_tape_stats_get(ctx, &ts);
    ad_mem_stats after;
    ad_ctx_mem_stats(ctx, &after);
    cr_expect_eq(ts.live, 0);
    /* AD_MEM_META also holds the open scope's stack, which grew by a slot
     * per result and keeps its size */
    for (int c = 0; c < AD_MEM_NCAT; c++)
        if (c != AD_MEM_META)
            cr_expect_eq(after.live[c], before.live[c], "category %d: %lld bytes live, %lld before", c,
                         (long long)after.live[c], (long long)before.live[c]);
    cr_expect_eq(after.tensors, before.tensors);
    ad_tensor_free(x);
}

Test(record, a_record_named_by_a_later_one_outlives_its_output,
     .description = "freeing an intermediate output keeps its record for the later op's backward")
{
    ad_tensor *x = ad_full(ctx, AD_SHAPE(3), 0.7);
    ad_requires_grad_(x, true);
    ad_tensor *a = ad_exp(x);
    ad_tensor *b = ad_mul(a, a);
    ad_tensor_free(a); /* b's record still holds a's */
    ad_tape_stats ts;
    ad_tape_stats_get(ctx, &ts);
    cr_expect_eq(ts.live, 2);
    expect_tape_accounted();
    ad_tensor *y = ad_sum(b, AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK);
    const double *g = th_values(ad_grad(x));
    for (int i = 0; i < 3; i++) cr_expect_float_eq(g[i], 2 * exp(1.4), 1e-13);
    ad_tensor_free(y);
    ad_tensor_free(b);
    ad_tape_stats_get(ctx, &ts);
    cr_expect_eq(ts.live, 0);
    expect_tape_accounted();
    ad_tensor_free(x);
}

/* A record's death with its output's release is inline when it frees
 * nothing else (tape.h: ad_node_drop_out_fast).  A tensor or record held
 * twice by the dying record (x * x saves and links x twice) must be judged
 * by its last count: each count alone would say "held elsewhere". */
Test(record, a_record_holding_a_tensor_twice_frees_it_when_it_dies,
     .description = "x * x and sin(x), x then freed: the record's death frees x (linked and saved by one record) and a's record")
{
    ad_tensor *x = ad_full(ctx, AD_SHAPE(3), 0.7);
    ad_requires_grad_(x, true);
    ad_mem_stats before, after;
    ad_ctx_mem_stats(ctx, &before);
    ad_tensor *y = ad_mul(x, x);
    ad_tensor_free(x); /* now held by y's record alone: two leaf and two saved references */
    ad_tensor_free(y);
    ad_tape_stats ts;
    ad_tape_stats_get(ctx, &ts);
    ad_ctx_mem_stats(ctx, &after);
    cr_expect_eq(ts.live, 0);
    cr_expect_eq(after.tensors, before.tensors - 1, "%lld handles live, %lld before x was freed",
                 (long long)after.tensors, (long long)before.tensors);
    cr_expect_eq(after.live[AD_MEM_TAPE], 0, "AD_MEM_TAPE %lld", (long long)after.live[AD_MEM_TAPE]);
    expect_tape_accounted();

    /* one edge linking and saving the same x: the inline death's case */
    x = ad_full(ctx, AD_SHAPE(3), 0.7);
    ad_requires_grad_(x, true);
    ad_ctx_mem_stats(ctx, &before);
    y = ad_sin(x);
    ad_tensor_free(x);
    ad_tensor_free(y);
    ad_ctx_mem_stats(ctx, &after);
    cr_expect_eq(after.tensors, before.tensors - 1, "sin: %lld handles live, %lld before x was freed",
                 (long long)after.tensors, (long long)before.tensors);
    cr_expect_eq(after.live[AD_MEM_TAPE], 0, "sin: AD_MEM_TAPE %lld", (long long)after.live[AD_MEM_TAPE]);

    ad_tensor *z = ad_full(ctx, AD_SHAPE(3), 0.7);
    ad_requires_grad_(z, true);
    ad_tensor *a = ad_exp(z);
    ad_tensor *b = ad_mul(a, a); /* two edges to a's record */
    ad_tensor_free(a);
    ad_tensor_free(b);
    ad_tape_stats_get(ctx, &ts);
    cr_expect_eq(ts.live, 0, "%lld records live after b's death", (long long)ts.live);
    expect_tape_accounted();
    ad_tensor_free(z);
}
