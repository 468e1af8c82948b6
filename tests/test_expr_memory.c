/* tests/test_expr_memory.c — the expression evaluator allocates only
 * through the context's allocator hook.
 *
 * Its scratch arrays (the value stack of deep expressions, the operand
 * arrays of long lists and joins, index lists) are seen by the hook, and
 * making the N-th allocation fail, for every N of an evaluation, gives
 * either the right value or AD_ENOMEM, never a crash, a wrong value or a
 * leaked byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(expr_memory, .init = th_setup, .fini = th_teardown);

/* "concat(x, x, ..., x)" with n operands: more than the evaluator's 16
 * on-stack slots, so it needs a scratch array of n pointers. */
static const char *long_concat(int n)
{
    static char buf[512];
    int len = snprintf(buf, sizeof buf, "concat(x");
    for (int i = 1; i < n; i++) len += snprintf(buf + len, sizeof buf - (size_t)len, ", x");
    snprintf(buf + len, sizeof buf - (size_t)len, ")");
    return buf;
}

/* Evaluates src in k with x = [0.3, -1.2, 2.5, 0.7] and y = x + 0.4;
 * status and, on success, the value of element 0. */
static int eval_in(ad_ctx *k, const char *src, double *value)
{
    ad_expr_error err = {0};
    ad_expr *e = ad_expr_parse(src, &err);
    cr_assert_not_null(e, "\"%s\": %s", src, err.msg);
    ad_scope s = ad_scope_begin(k);
    ad_tensor *x = ad_from_array(k, AD_SHAPE(4), TH_V(0.3, -1.2, 2.5, 0.7));
    ad_tensor *y = ad_add_s(x, 0.4);
    int rc = ad_errno(k);
    if (x && y) {
        ad_tensor *vals[2] = {0};
        for (int i = 0; i < ad_expr_nvars(e); i++) vals[i] = strcmp(ad_expr_var(e, i), "x") == 0 ? x : y;
        ad_tensor *r = ad_expr_eval(k, e, vals, &err);
        rc = r ? AD_OK : err.status;
        if (r) *value = ad_item(r);
    }
    ad_scope_end(k, s, NULL);
    ad_expr_free(e);
    return rc;
}

Test(expr_memory, scratch_arrays_go_through_the_hook,
     .description = "a 23-operand concat asks the hook for 23 pointers; refusing them fails the evaluation")
{
    th_alloc h = {.fail_at = -1, .fail_size = 23 * sizeof(ad_tensor *)};
    ad_ctx_options o = {.alloc = th_alloc_hook, .alloc_ud = &h};
    ad_ctx *k = ad_ctx_new_with(&o);
    cr_assert_not_null(k);
    char src[600];
    snprintf(src, sizeof src, "sum(%s)", long_concat(23));
    double v = 0;
    cr_expect_eq(eval_in(k, src, &v), AD_ENOMEM, "the refused scratch array must fail the evaluation");
    cr_expect_gt(h.seen_size, 0, "the evaluator's scratch array never reached the hook");

    h.fail_size = 0; /* now the same evaluation succeeds */
    cr_expect_eq(eval_in(k, src, &v), AD_OK, "%s", ad_errmsg(k));
    cr_expect(fabs(v - 23 * (0.3 - 1.2 + 2.5 + 0.7)) < 1e-12, "got %g", v);
    ad_ctx_free(k);
    cr_expect_eq(h.bytes, 0, "%lld bytes left", (long long)h.bytes);
}

/* Uses every scratch path: a value stack deeper than 32 (the nested sum),
 * a 20-operand concat, a 17-element list literal of tensors, an index list. */
static const char *complex_expr(void)
{
    static char buf[2048];
    int len = snprintf(buf, sizeof buf, "sum(%s ^ 2) + dot(index_select(x, 0, [3, 0, 2, 1]), y) + sum([x", long_concat(20));
    for (int i = 1; i < 17; i++) len += snprintf(buf + len, sizeof buf - (size_t)len, ", %s", i % 2 ? "y" : "x");
    len += snprintf(buf + len, sizeof buf - (size_t)len, "] * 0.5) + ");
    for (int i = 0; i < 36; i++) len += snprintf(buf + len, sizeof buf - (size_t)len, "x[0] + (");
    len += snprintf(buf + len, sizeof buf - (size_t)len, "y[1]");
    for (int i = 0; i < 36; i++) len += snprintf(buf + len, sizeof buf - (size_t)len, ")");
    return buf;
}

Test(expr_memory, every_failed_allocation_is_reported_and_nothing_leaks,
     .description = "fail the N-th allocation for every N of an evaluation: right value or AD_ENOMEM, no leak")
{
    const char *src = complex_expr();
    double expected = 0, v = 0;
    th_alloc h = TH_ALLOC_INIT;
    ad_ctx_options o = {.alloc = th_alloc_hook, .alloc_ud = &h};
    ad_ctx *k = ad_ctx_new_with(&o);
    cr_assert_not_null(k);
    cr_assert_eq(eval_in(k, src, &expected), AD_OK, "%s", ad_errmsg(k));
    ad_ctx_free(k);
    int64_t total = h.calls;
    cr_assert_gt(total, 10);

    int failures = 0;
    for (int64_t n = 1; n <= total + 1; n++) {
        th_alloc hn = {.fail_at = n};
        ad_ctx_options on = {.alloc = th_alloc_hook, .alloc_ud = &hn};
        ad_ctx *kn = ad_ctx_new_with(&on);
        if (!kn) continue; /* the context itself could not be made: fine */
        /* the context keeps its scope stack once made: make it first, so
         * that what is live afterwards is the evaluation's alone */
        ad_scope ws = ad_scope_begin(kn);
        bool warm = ad_zeros(kn, AD_SHAPE(1)) != NULL;
        ad_scope_end(kn, ws, NULL);
        if (!warm) {
            ad_ctx_free(kn);
            cr_expect_eq(hn.bytes, 0, "n=%lld: %lld bytes leaked", (long long)n, (long long)hn.bytes);
            continue;
        }
        ad_mem_stats before, after;
        ad_ctx_mem_stats(kn, &before);
        int rc = eval_in(kn, src, &v);
        ad_ctx_mem_stats(kn, &after);
        if (rc == AD_OK)
            cr_expect_eq(v, expected, "n=%lld: a success with a wrong value (%.17g, not %.17g)", (long long)n, v,
                         expected);
        else {
            failures++;
            cr_expect_eq(rc, AD_ENOMEM, "n=%lld: status %d (%s), not AD_ENOMEM", (long long)n, rc, ad_errmsg(kn));
        }
        cr_expect_eq(after.live_total, before.live_total, "n=%lld: %lld bytes still live after the evaluation",
                     (long long)n, (long long)(after.live_total - before.live_total));
        ad_ctx_free(kn);
        cr_expect_eq(hn.bytes, 0, "n=%lld: %lld bytes leaked", (long long)n, (long long)hn.bytes);
    }
    cr_expect_gt(failures, 0, "no allocation failure was provoked");
}
