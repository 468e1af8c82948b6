/* tests/test_index.c — indexing, slicing, slice assignment, gathering and
 * joining: D2L's X = arange(12).reshape(3, 4) examples, views sharing
 * storage, Python's clipping rules, the derivative rules of every op of
 * the family, in-place protection, and every error path. */
#include <string.h>

#include "helpers.h"
#include "th_params.h" /* after helpers.h */
#include "ops/index.h"

TestSuite(index, .init = th_setup, .fini = th_teardown);

/* X = torch.arange(12, dtype=torch.float32).reshape((3, 4)) */
static ad_tensor *make_X(void)
{
    ad_tensor *X = ad_reshape(ad_arange_n(ctx, 12), AD_SHAPE(3, 4));
    cr_assert_not_null(X, "%s", ad_errmsg(ctx));
    return X;
}

static void expect_error(int status, const char *fragment)
{
    cr_assert_eq(ad_errno(ctx), status, "expected status %d (%s), got %d: %s", status, ad_strerror(status),
                 ad_errno(ctx), ad_errmsg(ctx));
    cr_assert(strstr(ad_errmsg(ctx), fragment), "message \"%s\" should mention \"%s\"", ad_errmsg(ctx), fragment);
    ad_clear_error(ctx);
}

/* ---- reading: D2L section 2.1.4 ------------------------------------------------------ */

Test(index, last_row, .description = "X[-1] selects the last row")
{
    ad_tensor *X = make_X();
    th_expect(ad_idx(X, AD_I(-1)), AD_SHAPE(4), TH_V(8, 9, 10, 11), 0, 0);
    th_expect(ad_getitem(X, "-1"), AD_SHAPE(4), TH_V(8, 9, 10, 11), 0, 0);
}

Test(index, rows_1_to_3, .description = "X[1:3] selects the second and third rows")
{
    ad_tensor *X = make_X();
    ad_tensor *s = ad_idx(X, AD_S(1, 3));
    th_expect(s, AD_SHAPE(2, 4), TH_V(4, 5, 6, 7, 8, 9, 10, 11), 0, 0);
    cr_expect_eq(ad_offset(s), 4);
    cr_expect_eq(ad_stride(s, 0), 4);
    cr_expect_eq(ad_stride(s, 1), 1);
    th_expect(ad_getitem(X, "1:3"), AD_SHAPE(2, 4), TH_V(4, 5, 6, 7, 8, 9, 10, 11), 0, 0);
}

Test(index, first_two_columns, .description = "X[:, 0:2] keeps every row, columns 0 and 1")
{
    ad_tensor *X = make_X();
    ad_tensor *s = ad_idx(X, AD_FULL, AD_S(0, 2));
    th_expect(s, AD_SHAPE(3, 2), TH_V(0, 1, 4, 5, 8, 9), 0, 0);
    cr_expect_eq(ad_offset(s), 0);
    cr_expect_eq(ad_stride(s, 0), 4);
    cr_expect_eq(ad_stride(s, 1), 1);
    cr_expect_not(ad_is_contiguous(s));
    th_expect(ad_getitem(X, " : , 0:2 "), AD_SHAPE(3, 2), TH_V(0, 1, 4, 5, 8, 9), 0, 0);
}

Test(index, every_other_row, .description = "X[::2] takes rows 0 and 2 with a doubled stride")
{
    ad_tensor *X = make_X();
    ad_tensor *s = ad_idx(X, AD_SS(AD_END, AD_END, 2));
    th_expect(s, AD_SHAPE(2, 4), TH_V(0, 1, 2, 3, 8, 9, 10, 11), 0, 0);
    cr_expect_eq(ad_stride(s, 0), 8);
    th_expect(ad_getitem(X, "::2"), AD_SHAPE(2, 4), TH_V(0, 1, 2, 3, 8, 9, 10, 11), 0, 0);
    th_expect(ad_getitem(X, "1:3, ::2"), AD_SHAPE(2, 2), TH_V(4, 6, 8, 10), 0, 0);
}

Test(index, reversed, .description = "X[::-1] reverses the rows through a negative stride")
{
    ad_tensor *X = make_X();
    ad_tensor *s = ad_idx(X, AD_SS(AD_END, AD_END, -1));
    th_expect(s, AD_SHAPE(3, 4), TH_V(8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3), 0, 0);
    cr_expect_eq(ad_stride(s, 0), -4);
    cr_expect_eq(ad_offset(s), 8);
    th_expect(ad_getitem(X, ":, ::-1"), AD_SHAPE(3, 4), TH_V(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8), 0, 0);
    /* X[2:0:-1] stops before row 0; X[::-2] takes rows 2 and 0 */
    th_expect(ad_getitem(X, "2:0:-1, 0"), AD_SHAPE(2), TH_V(8, 4), 0, 0);
    th_expect(ad_getitem(X, "::-2, 3"), AD_SHAPE(2), TH_V(11, 3), 0, 0);
    th_expect(ad_getitem(X, "-1, -1:0:-2"), AD_SHAPE(2), TH_V(11, 9), 0, 0);
}

Test(index, negative_indices, .description = "negative indices and bounds count from the end")
{
    ad_tensor *X = make_X();
    th_expect(ad_idx(X, AD_I(-2), AD_I(-3)), AD_SCALAR, TH_V(5), 0, 0);
    th_expect(ad_idx(X, AD_S(-2, AD_END)), AD_SHAPE(2, 4), TH_V(4, 5, 6, 7, 8, 9, 10, 11), 0, 0);
    th_expect(ad_idx(X, AD_FULL, AD_S(-3, -1)), AD_SHAPE(3, 2), TH_V(1, 2, 5, 6, 9, 10), 0, 0);
    th_expect(ad_getitem(X, "-3, -4:"), AD_SHAPE(4), TH_V(0, 1, 2, 3), 0, 0);
}

Test(index, full_integer_index_is_0d, .description = "X[1, 2] is a 0-d view of one element")
{
    ad_tensor *X = make_X();
    ad_tensor *e = ad_idx(X, AD_I(1), AD_I(2));
    cr_assert_eq(ad_ndim(e), 0);
    cr_expect_eq(ad_item(e), 6);
    cr_expect_eq(ad_offset(e), 6);
    cr_expect_eq(ad_storage_id(e), ad_storage_id(X));
    /* writing through the 0-d view (an empty subscript) changes X */
    cr_assert_eq(ad_setitem_scalar(e, 0, NULL, -7.5), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_getv(X, 2, (int64_t[]){1, 2}), -7.5);
}

Test(index, bounds_are_clipped, .description = "out-of-range slice bounds are clipped as in Python")
{
    ad_tensor *X = make_X();
    th_expect(ad_idx(X, AD_S(1, 100)), AD_SHAPE(2, 4), TH_V(4, 5, 6, 7, 8, 9, 10, 11), 0, 0);
    th_expect(ad_idx(X, AD_S(-100, 1)), AD_SHAPE(1, 4), TH_V(0, 1, 2, 3), 0, 0);
    th_expect(ad_idx(X, AD_SS(100, -100, -1), AD_I(0)), AD_SHAPE(3), TH_V(8, 4, 0), 0, 0);
    /* empty slices: a start past the end, or bounds the wrong way round */
    ad_tensor *e1 = ad_idx(X, AD_S(5, AD_END));
    th_expect(e1, AD_SHAPE(0, 4), TH_V(0), 0, 0);
    cr_expect_eq(ad_offset(e1), 0);
    th_expect(ad_idx(X, AD_S(2, 1)), AD_SHAPE(0, 4), TH_V(0), 0, 0);
    th_expect(ad_idx(X, AD_FULL, AD_SS(0, 3, -1)), AD_SHAPE(3, 0), TH_V(0), 0, 0);
    /* a huge step keeps one element */
    th_expect(ad_idx(X, AD_I(0), AD_SS(1, AD_END, INT64_MAX)), AD_SHAPE(1), TH_V(1), 0, 0);
    th_expect(ad_idx(X, AD_I(0), AD_SS(AD_END, AD_END, INT64_MIN + 1)), AD_SHAPE(1), TH_V(3), 0, 0);
}

Test(index, new_axes_and_ellipsis, .description = "None inserts an axis, ... stands for the axes not named")
{
    ad_tensor *X = make_X();
    th_expect(ad_idx(X, AD_NEWAXIS, AD_I(1)), AD_SHAPE(1, 4), TH_V(4, 5, 6, 7), 0, 0);
    ad_tensor *c = ad_idx(X, AD_FULL, AD_NEWAXIS);
    th_expect(c, AD_SHAPE(3, 1, 4), TH_V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0, 0);
    cr_expect(ad_is_contiguous(c));
    th_expect(ad_getitem(X, "..., 1"), AD_SHAPE(3), TH_V(1, 5, 9), 0, 0);
    th_expect(ad_getitem(X, "None, ..., None"), AD_SHAPE(1, 3, 4, 1), TH_V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0,
              0);
    th_expect(ad_getitem(X, "2, ..."), AD_SHAPE(4), TH_V(8, 9, 10, 11), 0, 0);
    th_expect(ad_getitem(X, "1, ..., 3"), AD_SCALAR, TH_V(7), 0, 0);
    th_expect(ad_getitem(X, ""), AD_SHAPE(3, 4), TH_V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0, 0);
    th_expect(ad_getitem(X, "1,"), AD_SHAPE(4), TH_V(4, 5, 6, 7), 0, 0);
    th_expect(ad_getitem(X, "+1, - 1"), AD_SCALAR, TH_V(7), 0, 0);
}

Test(index, three_axes, .description = "steps, negatives and dropped axes together on a [2,3,4] tensor")
{
    ad_tensor *A = ad_reshape(ad_arange_n(ctx, 24), AD_SHAPE(2, 3, 4));
    /* A[-1, ::-2, 1::2]: block 1 (12 + 4i + j), rows 2 and 0, columns 1 and 3 */
    th_expect(ad_getitem(A, "-1, ::-2, 1::2"), AD_SHAPE(2, 2), TH_V(21, 23, 13, 15), 0, 0);
    /* A[:, 1] drops the middle axis */
    th_expect(ad_idx(A, AD_FULL, AD_I(1)), AD_SHAPE(2, 4), TH_V(4, 5, 6, 7, 16, 17, 18, 19), 0, 0);
}

Test(index, parse_subscript, .description = "ad_parse_subscript turns Python syntax into entries")
{
    ad_index ix[8];
    int n = ad_parse_subscript(ctx, " 1:3 , ::-1, None, ..., -2, 4:", ix, 8);
    cr_assert_eq(n, 6, "%s", ad_errmsg(ctx));
    cr_expect(ix[0].kind == AD_IDX_SLICE && ix[0].start == 1 && ix[0].stop == 3 && ix[0].step == 1);
    cr_expect(ix[1].kind == AD_IDX_SLICE && ix[1].start == AD_END && ix[1].stop == AD_END && ix[1].step == -1);
    cr_expect(ix[2].kind == AD_IDX_NEWAXIS);
    cr_expect(ix[3].kind == AD_IDX_ELLIPSIS);
    cr_expect(ix[4].kind == AD_IDX_INT && ix[4].start == -2);
    cr_expect(ix[5].kind == AD_IDX_SLICE && ix[5].start == 4 && ix[5].stop == AD_END);
    cr_expect_eq(ad_parse_subscript(ctx, "   ", ix, 8), 0);
}

/* ---- views ---------------------------------------------------------------------------- */

Test(index, slices_are_views, .description = "a slice shares X's storage both ways")
{
    ad_tensor *X = make_X();
    ad_tensor *s = ad_idx(X, AD_S(1, 3), AD_SS(AD_END, AD_END, 2));
    cr_assert_eq(ad_storage_id(s), ad_storage_id(X));
    cr_expect_eq(ad_offset(s), 4);
    cr_expect_eq(ad_stride(s, 1), 2);
    /* a write through the slice is seen in X ... */
    cr_assert_eq(ad_setitem_s(s, 100, AD_I(1), AD_I(1)), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_getv(X, 2, (int64_t[]){2, 2}), 100);
    /* ... and a write into X is seen through the slice */
    cr_assert_eq(ad_setitem_s(X, -3, AD_I(1), AD_I(0)), AD_OK);
    cr_expect_eq(ad_getv(s, 2, (int64_t[]){0, 0}), -3);
    th_expect(s, AD_SHAPE(2, 2), TH_V(-3, 6, 8, 100), 0, 0);
}

Test(index, slice_records_op, .description = "a slice of a tensor requiring grad is recorded as SliceBackward0")
{
    ad_tensor *x = make_X();
    ad_requires_grad_(x, true);
    ad_tensor *s = ad_getitem(x, "1:, ::-2");
    cr_assert_str_eq(ad_grad_fn_name(s), "SliceBackward0");
    cr_assert_eq(ad_backward(s, ad_ones(ctx, ad_shape_of(s)), 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(3, 4), TH_V(0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1), 0, 0);
}

/* ---- writing: X[1, 2] = 9, X[0:2, :] = 12 -------------------------------------------------- */

Test(index, set_one_element, .description = "X[1, 2] = 9 then reading it back")
{
    ad_tensor *X = make_X();
    uint32_t v0 = ad_version(X);
    cr_assert_eq(ad_setitem_s(X, 9, AD_I(1), AD_I(2)), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_getv(X, 2, (int64_t[]){1, 2}), 9);
    cr_assert_eq(ad_setv(X, 2, (int64_t[]){-1, -1}, 42), AD_OK, "%s", ad_errmsg(ctx)); /* X[-1, -1] = 42 */
    cr_expect_eq(ad_item(ad_idx(X, AD_I(1), AD_I(2))), 9);
    cr_expect_gt(ad_version(X), v0);
    th_expect(X, AD_SHAPE(3, 4), TH_V(0, 1, 2, 3, 4, 5, 9, 7, 8, 9, 10, 42), 0, 0);
}

Test(index, set_first_two_rows, .description = "X[0:2, :] = 12 fills the first two rows")
{
    ad_tensor *X = make_X();
    cr_assert_eq(ad_setitem_s(X, 12, AD_S(0, 2), AD_FULL), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(X, AD_SHAPE(3, 4), TH_V(12, 12, 12, 12, 12, 12, 12, 12, 8, 9, 10, 11), 0, 0);
}

Test(index, set_allocates_nothing, .description = "plain slice assignment writes in place without allocating")
{
    ad_tensor *X = make_X();
    ad_tensor *V = ad_from_array(ctx, AD_SHAPE(4), TH_V(-1, -2, -3, -4));
    ad_mem_stats a, b;
    ad_ctx_mem_stats(ctx, &a);
    cr_assert_eq(ad_setitem_t(X, V, AD_SS(AD_END, AD_END, 2)), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_setitem_s(X, 0.5, AD_FULL, AD_I(1)), AD_OK, "%s", ad_errmsg(ctx));
    ad_ctx_mem_stats(ctx, &b);
    cr_expect_eq(b.nalloc, a.nalloc);
    cr_expect_eq(b.tensors, a.tensors);
    cr_expect_eq(b.live_total, a.live_total);
    th_expect(X, AD_SHAPE(3, 4), TH_V(-1, 0.5, -3, -4, 4, 0.5, 6, 7, -1, 0.5, -3, -4), 0, 0);
}

Test(index, set_with_broadcast_value, .description = "X[:, 1] = column, X[0] = V of shape [1,4], X[...] = V")
{
    ad_tensor *X = make_X();
    ad_tensor *col = ad_from_array(ctx, AD_SHAPE(3), TH_V(100, 200, 300));
    cr_assert_eq(ad_setitem_t(X, col, AD_FULL, AD_I(1)), AD_OK, "%s", ad_errmsg(ctx));
    ad_tensor *row = ad_from_array(ctx, AD_SHAPE(1, 4), TH_V(-1, -2, -3, -4));
    cr_assert_eq(ad_setitem_t(X, row, AD_I(0)), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(X, AD_SHAPE(3, 4), TH_V(-1, -2, -3, -4, 4, 200, 6, 7, 8, 300, 10, 11), 0, 0);
    ad_tensor *one = ad_from_array(ctx, AD_SHAPE(3, 1), TH_V(7, 8, 9));
    cr_assert_eq(ad_copy_(X, one), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(X, AD_SHAPE(3, 4), TH_V(7, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9), 0, 0);
    cr_assert_eq(ad_fill_(ad_idx(X, AD_I(1)), 0), AD_OK);
    th_expect(X, AD_SHAPE(3, 4), TH_V(7, 7, 7, 7, 0, 0, 0, 0, 9, 9, 9, 9), 0, 0);
}

Test(index, set_from_overlapping_view, .description = "X[1:3] = X[0:2] and X[...] = X[::-1] read the old values")
{
    ad_tensor *X = make_X();
    cr_assert_eq(ad_setitem_t(X, ad_idx(X, AD_S(0, 2)), AD_S(1, 3)), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(X, AD_SHAPE(3, 4), TH_V(0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7), 0, 0);
    ad_tensor *Y = make_X();
    cr_assert_eq(ad_copy_(Y, ad_getitem(Y, "::-1, ::-1")), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(Y, AD_SHAPE(3, 4), TH_V(11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 0, 0);
    /* the exact same elements: nothing to protect */
    ad_tensor *Z = make_X();
    cr_assert_eq(ad_setitem_t(Z, ad_idx(Z, AD_I(2)), AD_I(2)), AD_OK);
    th_expect(ad_idx(Z, AD_I(2)), AD_SHAPE(4), TH_V(8, 9, 10, 11), 0, 0);
}

Test(index, setitem_through_autograd,
     .description = "x = clone(x0); x[1:3] = v*2; loss = sum(x*x): gradients reach v and the untouched rows")
{
    ad_tensor *x0 = th_vals(AD_SHAPE(3, 4), 0.3, 1.5);
    ad_tensor *v = th_vals(AD_SHAPE(4), -0.7, 2.0);
    ad_requires_grad_(x0, true);
    ad_requires_grad_(v, true);
    ad_tensor *x = ad_clone(x0);
    cr_assert_eq(ad_setitem_t(x, ad_mul_s(v, 2), AD_S(1, 3)), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_str_eq(ad_grad_fn_name(x), "SliceScatterBackward0");
    ad_tensor *loss = ad_sum_all(ad_mul(x, x));
    cr_assert_eq(ad_backward(loss, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    /* d/dx0 = 2·x0 on row 0, 0 on the overwritten rows 1, 2 */
    const double *x0v = th_values(x0);
    double want0[12] = {0};
    for (int j = 0; j < 4; j++) want0[j] = 2 * x0v[j];
    th_expect(ad_grad(x0), AD_SHAPE(3, 4), want0, 1e-12, 1e-12);
    /* d/dv: two rows of (2v)², each 8v */
    const double *vv = th_values(v);
    double wantv[4];
    for (int j = 0; j < 4; j++) wantv[j] = 16 * vv[j];
    th_expect(ad_grad(v), AD_SHAPE(4), wantv, 1e-12, 1e-12);
}

Test(index, setitem_bumps_version_seen_by_backward,
     .description = "y = a*b saves a; assigning into a makes backward fail with AD_EVERSION")
{
    ad_tensor *a0 = th_vals(AD_SHAPE(2, 3), 0.4, 1);
    ad_tensor *b = th_vals(AD_SHAPE(2, 3), -0.2, 2);
    ad_requires_grad_(a0, true);
    ad_requires_grad_(b, true);
    ad_tensor *a = ad_clone(a0);
    ad_tensor *y = ad_mul(a, b);
    cr_assert_eq(ad_setitem_s(a, 5, AD_I(0), AD_I(1)), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(y, ad_ones(ctx, AD_SHAPE(2, 3)), 0), AD_EVERSION);
    expect_error(AD_EVERSION, "modified in place");
}

Test(index, setitem_on_leaf_requiring_grad, .description = "a leaf requiring grad is assigned only with grad mode off")
{
    ad_tensor *w = make_X();
    ad_requires_grad_(w, true);
    cr_assert_eq(ad_setitem_s(w, 1, AD_I(0)), AD_EGRAD);
    expect_error(AD_EGRAD, "leaf");
    cr_expect_eq(ad_getv(w, 2, (int64_t[]){0, 0}), 0); /* untouched */
    bool prev = ad_set_grad_enabled(ctx, false);
    cr_assert_eq(ad_setitem_s(w, 1, AD_I(0)), AD_OK, "%s", ad_errmsg(ctx));
    ad_set_grad_enabled(ctx, prev);
    th_expect(ad_idx(w, AD_I(0)), AD_SHAPE(4), TH_V(1, 1, 1, 1), 0, 0);
    cr_expect(ad_requires_grad(w) && ad_is_leaf(w));
}

Test(index, setitem_forward_mode, .description = "assignment carries tangents: the slice takes v's tangent")
{
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    ad_tensor *x = make_X();
    ad_tensor *v = ad_from_array(ctx, AD_SHAPE(2), TH_V(1, 2));
    cr_assert_eq(ad_set_tangent(x, ad_full(ctx, AD_SHAPE(1, 3, 4), 1)), AD_OK);
    cr_assert_eq(ad_set_tangent(v, ad_from_array(ctx, AD_SHAPE(1, 2), TH_V(10, 20))), AD_OK);
    cr_assert_eq(ad_setitem_t(x, v, AD_I(1), AD_S(1, 3)), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_get_tangent(x), AD_SHAPE(3, 4), TH_V(1, 1, 1, 1, 1, 10, 20, 1, 1, 1, 1, 1), 0, 0);
    ad_fwd_end(ctx);
}

/* ---- index_select / gather -------------------------------------------------------------- */

Test(index, index_select_rows_and_columns, .description = "index_select picks rows/columns, repeats allowed")
{
    ad_tensor *X = make_X();
    th_expect(ad_index_select(X, 0, 2, (int64_t[]){2, 0}), AD_SHAPE(2, 4), TH_V(8, 9, 10, 11, 0, 1, 2, 3), 0, 0);
    th_expect(ad_index_select(X, -1, 3, (int64_t[]){-1, 0, 0}), AD_SHAPE(3, 3), TH_V(3, 0, 0, 7, 4, 4, 11, 8, 8), 0,
              0);
    th_expect(ad_index_select(X, 1, 0, NULL), AD_SHAPE(3, 0), TH_V(0), 0, 0);
    ad_tensor *v = ad_arange_n(ctx, 5);
    th_expect(ad_index_select(v, 0, 4, (int64_t[]){4, 4, 1, -5}), AD_SHAPE(4), TH_V(4, 4, 1, 0), 0, 0);
}

Test(index, index_select_repeated_gradient, .description = "repeated indices accumulate in the gradient")
{
    ad_tensor *x = make_X();
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_index_select(x, 1, 4, (int64_t[]){1, 3, 1, 1});
    cr_assert_str_eq(ad_grad_fn_name(y), "IndexSelectBackward0");
    cr_assert_eq(ad_backward(y, ad_ones(ctx, AD_SHAPE(3, 4)), 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(3, 4), TH_V(0, 3, 0, 1, 0, 3, 0, 1, 0, 3, 0, 1), 0, 0);
}

Test(index, gather_like_torch, .description = "torch.gather(t, 1, [[0,0],[1,0]]) = [[1,1],[4,3]]")
{
    ad_tensor *t = ad_from_array(ctx, AD_SHAPE(2, 2), TH_V(1, 2, 3, 4));
    ad_tensor *i1 = ad_from_array(ctx, AD_SHAPE(2, 2), TH_V(0, 0, 1, 0));
    th_expect(ad_gather(t, 1, i1), AD_SHAPE(2, 2), TH_V(1, 1, 4, 3), 0, 0);
    /* along axis 0, with an index smaller than t on the other axis */
    ad_tensor *i0 = ad_from_array(ctx, AD_SHAPE(3, 1), TH_V(1, 0, 1));
    th_expect(ad_gather(t, 0, i0), AD_SHAPE(3, 1), TH_V(3, 1, 3), 0, 0);
    /* D2L-style: pick one entry per row (y_hat[range(n), y]) */
    ad_tensor *y_hat = ad_from_array(ctx, AD_SHAPE(2, 3), TH_V(0.1, 0.3, 0.6, 0.3, 0.2, 0.5));
    ad_tensor *y = ad_from_array(ctx, AD_SHAPE(2, 1), TH_V(0, 2));
    th_expect(ad_gather(y_hat, -1, y), AD_SHAPE(2, 1), TH_V(0.1, 0.5), 0, 0);
    /* a transposed (strided) index and x */
    ad_tensor *X = make_X();
    ad_tensor *idx = ad_T(ad_from_array(ctx, AD_SHAPE(2, 3), TH_V(3, 0, 1, 2, 2, 0)));
    th_expect(ad_gather(X, 1, idx), AD_SHAPE(3, 2), TH_V(3, 2, 4, 6, 9, 8), 0, 0);
}

Test(index, gather_index_gets_no_gradient, .description = "the index input of gather never gets a gradient")
{
    ad_tensor *x = make_X();
    ad_tensor *idx = ad_from_array(ctx, AD_SHAPE(3, 2), TH_V(0, 0, 3, 1, 2, 2));
    ad_requires_grad_(x, true);
    ad_requires_grad_(idx, true);
    ad_tensor *y = ad_gather(x, 1, idx);
    cr_assert_str_eq(ad_grad_fn_name(y), "GatherBackward0");
    cr_assert_eq(ad_backward(y, ad_ones(ctx, AD_SHAPE(3, 2)), 0), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_null(ad_grad(idx));
    th_expect(ad_grad(x), AD_SHAPE(3, 4), TH_V(2, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 0), 0, 0);
}

Test(index, scatter_and_index_add_values, .description = "scatter_add and index_add accumulate repeated targets")
{
    ad_tensor *base = ad_zeros(ctx, AD_SHAPE(2, 3));
    ad_tensor *idx = ad_from_array(ctx, AD_SHAPE(2, 2), TH_V(2, 2, 0, 1));
    ad_tensor *src = ad_from_array(ctx, AD_SHAPE(2, 2), TH_V(1, 10, 100, 1000));
    th_expect(ad_scatter_add(base, 1, idx, src), AD_SHAPE(2, 3), TH_V(0, 0, 11, 100, 1000, 0), 0, 0);
    ad_tensor *s2 = ad_from_array(ctx, AD_SHAPE(3, 2), TH_V(1, 2, 3, 4, 5, 6));
    th_expect(ad_index_add(ad_ones(ctx, AD_SHAPE(2, 2)), 0, 3, (int64_t[]){1, -1, 0}, s2), AD_SHAPE(2, 2),
              TH_V(6, 7, 5, 7), 0, 0);
}

/* ---- joining: D2L's torch.cat ------------------------------------------------------------- */

Test(index, concat_d2l, .description = "cat((X, Y), dim=0) is [6,4] and dim=1 is [3,8]")
{
    ad_tensor *X = make_X();
    ad_tensor *Y = ad_from_array(ctx, AD_SHAPE(3, 4), TH_V(2, 1, 4, 3, 1, 2, 3, 4, 4, 3, 2, 1));
    ad_tensor *XY[2] = {X, Y};
    th_expect(ad_concat(XY, 2, 0), AD_SHAPE(6, 4),
              TH_V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 2, 1, 4, 3, 1, 2, 3, 4, 4, 3, 2, 1), 0, 0);
    th_expect(ad_concat(XY, 2, 1), AD_SHAPE(3, 8),
              TH_V(0, 1, 2, 3, 2, 1, 4, 3, 4, 5, 6, 7, 1, 2, 3, 4, 8, 9, 10, 11, 4, 3, 2, 1), 0, 0);
    th_expect(ad_concat(XY, 2, -1), AD_SHAPE(3, 8),
              TH_V(0, 1, 2, 3, 2, 1, 4, 3, 4, 5, 6, 7, 1, 2, 3, 4, 8, 9, 10, 11, 4, 3, 2, 1), 0, 0);
    /* different lengths along the axis, a strided input, an empty one */
    ad_tensor *parts[3] = {ad_idx(X, AD_FULL, AD_SS(AD_END, AD_END, -3)), ad_zeros(ctx, AD_SHAPE(3, 0)),
                           ad_idx(Y, AD_FULL, AD_I(0), AD_NEWAXIS)};
    th_expect(ad_concat(parts, 3, 1), AD_SHAPE(3, 3), TH_V(3, 0, 2, 7, 4, 1, 11, 8, 4), 0, 0);
    cr_expect_null(ad_grad_fn_name(ad_concat(XY, 2, 0)));
}

Test(index, stack_along_each_axis, .description = "stack((X, Y)) adds an axis of length 2 at 0, 1 or -1")
{
    ad_tensor *X = make_X();
    ad_tensor *Y = ad_mul_s(make_X(), -1);
    ad_tensor *XY[2] = {X, Y};
    th_expect(ad_stack(XY, 2, 0), AD_SHAPE(2, 3, 4),
              TH_V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11), 0, 0);
    th_expect(ad_stack(XY, 2, 1), AD_SHAPE(3, 2, 4),
              TH_V(0, 1, 2, 3, 0, -1, -2, -3, 4, 5, 6, 7, -4, -5, -6, -7, 8, 9, 10, 11, -8, -9, -10, -11), 0, 0);
    th_expect(ad_stack(XY, 2, -1), AD_SHAPE(3, 4, 2),
              TH_V(0, 0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8, -8, 9, -9, 10, -10, 11, -11), 0, 0);
    /* scalars stack into a vector */
    ad_tensor *s[3] = {ad_scalar(ctx, 1.5), ad_scalar(ctx, -2), ad_idx(X, AD_I(2), AD_I(3))};
    th_expect(ad_stack(s, 3, 0), AD_SHAPE(3), TH_V(1.5, -2, 11), 0, 0);
}

Test(index, join_gradients, .description = "concat and stack send slices of the adjoint back to each input")
{
    ad_tensor *a = th_vals(AD_SHAPE(2, 1), 0, 1), *b = th_vals(AD_SHAPE(2, 3), 1, 1);
    ad_requires_grad_(a, true);
    ad_requires_grad_(b, true);
    ad_tensor *ab[2] = {a, b};
    ad_tensor *y = ad_concat(ab, 2, 1);
    cr_assert_str_eq(ad_grad_fn_name(y), "CatBackward0");
    cr_assert_eq(ad_backward(y, ad_from_array(ctx, AD_SHAPE(2, 4), TH_V(1, 2, 3, 4, 5, 6, 7, 8)), 0), AD_OK, "%s",
                 ad_errmsg(ctx));
    th_expect(ad_grad(a), AD_SHAPE(2, 1), TH_V(1, 5), 0, 0);
    th_expect(ad_grad(b), AD_SHAPE(2, 3), TH_V(2, 3, 4, 6, 7, 8), 0, 0);
    ad_tensor *bb[2] = {b, b};
    ad_tensor *z = ad_stack(bb, 2, 0);
    cr_assert_str_eq(ad_grad_fn_name(z), "StackBackward0");
    ad_zero_grad(b);
    cr_assert_eq(ad_backward(z, ad_ones(ctx, AD_SHAPE(2, 2, 3)), 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(b), AD_SHAPE(2, 3), TH_V(2, 2, 2, 2, 2, 2), 0, 0);
}

Test(index, join_forward_mode, .description = "concat's tangent uses zeros for inputs without one")
{
    cr_assert_eq(ad_fwd_begin(ctx, 2), AD_OK);
    ad_tensor *a = ad_ones(ctx, AD_SHAPE(2)), *b = ad_ones(ctx, AD_SHAPE(1));
    cr_assert_eq(ad_set_tangent(b, ad_from_array(ctx, AD_SHAPE(2, 1), TH_V(3, 4))), AD_OK);
    ad_tensor *ab[2] = {a, b};
    th_expect(ad_get_tangent(ad_concat(ab, 2, 0)), AD_SHAPE(2, 3), TH_V(0, 0, 3, 0, 0, 4), 0, 0);
    th_expect(ad_get_tangent(ad_stack((ad_tensor *[]){b, b}, 2, 0)), AD_SHAPE(2, 2, 1), TH_V(3, 3, 4, 4), 0, 0);
    ad_fwd_end(ctx);
}

Test(index, many_inputs, .description = "joining more than 8 tensors: records, adjoints and tangents of each")
{
    enum { N = 10 };
    ad_tensor *ts[N];
    for (int i = 0; i < N; i++) {
        ts[i] = ad_full(ctx, AD_SHAPE(1, 2), i);
        ad_requires_grad_(ts[i], true);
    }
    ad_tensor *y = ad_concat(ts, N, 0);
    cr_assert_not_null(y, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_grad_fn_ninputs(y), N);
    cr_assert_eq(ad_backward(y, ad_reshape(ad_arange_n(ctx, 2 * N), AD_SHAPE(N, 2)), 0), AD_OK, "%s", ad_errmsg(ctx));
    for (int i = 0; i < N; i++) th_expect(ad_grad(ts[i]), AD_SHAPE(1, 2), TH_V(2 * i, 2 * i + 1), 0, 0);
    /* forward mode with a tangent on input 9 only */
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    ad_tensor *u[N];
    for (int i = 0; i < N; i++) u[i] = ad_full(ctx, AD_SHAPE(2), i);
    cr_assert_eq(ad_set_tangent(u[N - 1], ad_from_array(ctx, AD_SHAPE(2), TH_V(5, 6))), AD_OK);
    ad_tensor *z = ad_stack(u, N, 1);
    double want[2 * N] = {0};
    want[N - 1] = 5;
    want[2 * N - 1] = 6;
    th_expect(ad_get_tangent(z), AD_SHAPE(2, N), want, 0, 0);
    ad_fwd_end(ctx);
}

Test(index, forward_mode_width_2, .description = "slice, index_select and gather tangents with two directions")
{
    cr_assert_eq(ad_fwd_begin(ctx, 2), AD_OK);
    ad_tensor *X = make_X();
    cr_assert_eq(ad_set_tangent(X, ad_reshape(ad_arange_n(ctx, 24), AD_SHAPE(2, 3, 4))), AD_OK);
    th_expect(ad_get_tangent(ad_getitem(X, "::-1, 1")), AD_SHAPE(2, 3), TH_V(9, 5, 1, 21, 17, 13), 0, 0);
    th_expect(ad_get_tangent(ad_index_select(X, 0, 2, (int64_t[]){2, 2})), AD_SHAPE(2, 2, 4),
              TH_V(8, 9, 10, 11, 8, 9, 10, 11, 20, 21, 22, 23, 20, 21, 22, 23), 0, 0);
    ad_tensor *idx = ad_from_array(ctx, AD_SHAPE(3, 1), TH_V(3, 0, 2));
    th_expect(ad_get_tangent(ad_gather(X, 1, idx)), AD_SHAPE(2, 3, 1), TH_V(3, 4, 10, 15, 16, 22), 0, 0);
    ad_fwd_end(ctx);
}

/* ---- derivative rules: JVP, VJP, transpose identity, HVP ---------------------------------- */

/* slice with steps, negatives, a new axis and a dropped axis; squared so
 * that the second-order check sees a non-zero Hessian */
static ad_tensor *f_slice(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *s = ad_idx(in[0], AD_SS(AD_END, AD_END, -2), AD_S(1, AD_END), AD_NEWAXIS, AD_I(-1));
    return ad_mul(s, ad_sin(s));
}
Test(index, rules_slice, .description = "slice: JVP, VJP, transpose identity, HVP")
{
    ad_tensor *in[1] = {th_vals(AD_SHAPE(5, 4, 3), 0.2, 1.3)};
    th_check_rules(f_slice, NULL, 1, in, 1e-6, true);
}

static ad_tensor *f_getitem(ad_tensor *const *in, void *ud)
{
    return ad_getitem(in[0], (const char *)ud);
}
Test(index, rules_getitem_reversed, .description = "X[::-1, ..., None] through ad_getitem")
{
    ad_tensor *in[1] = {th_vals(AD_SHAPE(3, 4), -0.1, 1)};
    th_check_rules(f_getitem, (void *)"::-1, ..., None", 1, in, 1e-6, true);
}

static ad_tensor *f_slice_scatter(ad_tensor *const *in, void *ud)
{
    (void)ud;
    /* src [1,2] broadcast to the slice base[1:, ::-2] of shape [3,2] */
    ad_tensor *y = ad_slice_scatter(in[0], in[1], 2, (const ad_index[]){AD_S(1, AD_END), AD_SS(AD_END, AD_END, -2)});
    return ad_mul(y, ad_exp(ad_mul_s(y, 0.3)));
}
Test(index, rules_slice_scatter, .description = "slice_scatter with a broadcast source")
{
    ad_tensor *in[2] = {th_vals(AD_SHAPE(4, 3), 0.5, 1), th_vals(AD_SHAPE(1, 2), -0.4, 1.2)};
    th_check_rules(f_slice_scatter, NULL, 2, in, 1e-6, true);
}

static ad_tensor *f_setitem(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *x = ad_clone(in[1]);
    if (ad_setitem_t(x, ad_mul_s(in[0], 2), AD_S(1, 3)) != AD_OK) return NULL;
    return ad_mul(x, x);
}
Test(index, rules_setitem, .description = "x = clone(x0); x[1:3] = 2v; x*x: rules through the in-place write")
{
    ad_tensor *in[2] = {th_vals(AD_SHAPE(4), -0.3, 1), th_vals(AD_SHAPE(4, 4), 0.6, 1.1)};
    th_check_rules(f_setitem, NULL, 2, in, 1e-6, true);
}

static ad_tensor *f_index_select(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *y = ad_index_select(in[0], 1, 5, (const int64_t[]){2, 0, 2, -1, 2});
    return ad_mul(y, ad_cos(y));
}
Test(index, rules_index_select, .description = "index_select with repeated and negative indices")
{
    ad_tensor *in[1] = {th_vals(AD_SHAPE(2, 4, 2), 0.1, 1)};
    th_check_rules(f_index_select, NULL, 1, in, 1e-6, true);
}

static ad_tensor *f_index_add(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *y = ad_index_add(in[0], 0, 3, (const int64_t[]){1, -1, 1}, in[1]);
    return ad_mul(y, y);
}
Test(index, rules_index_add, .description = "index_add (the adjoint of index_select)")
{
    ad_tensor *in[2] = {th_vals(AD_SHAPE(3, 2), 0.3, 1), th_vals(AD_SHAPE(3, 2), -0.5, 1)};
    th_check_rules(f_index_add, NULL, 2, in, 1e-6, true);
}

static ad_tensor *f_gather(ad_tensor *const *in, void *ud)
{
    ad_tensor *y = ad_gather(in[0], 1, (ad_tensor *)ud);
    return ad_mul(y, ad_sin(y));
}
Test(index, rules_gather, .description = "gather along axis 1 with repeated indices")
{
    ad_tensor *idx = ad_from_array(ctx, AD_SHAPE(2, 4), TH_V(2, 0, 2, 1, 0, 0, 1, 2));
    ad_tensor *in[1] = {th_vals(AD_SHAPE(3, 3), 0.2, 1)};
    th_check_rules(f_gather, idx, 1, in, 1e-6, true);
}

static ad_tensor *f_scatter_add(ad_tensor *const *in, void *ud)
{
    ad_tensor *y = ad_scatter_add(in[0], 0, (ad_tensor *)ud, in[1]);
    return ad_mul(y, y);
}
Test(index, rules_scatter_add, .description = "scatter_add along axis 0 with repeated targets")
{
    ad_tensor *idx = ad_from_array(ctx, AD_SHAPE(3, 2), TH_V(1, 0, 1, 3, 0, 3));
    ad_tensor *in[2] = {th_vals(AD_SHAPE(4, 3), 0.7, 1), th_vals(AD_SHAPE(3, 2), -0.2, 1)};
    th_check_rules(f_scatter_add, idx, 2, in, 1e-6, true);
}

static ad_tensor *f_concat(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *y = ad_concat(in, 3, 1);
    return ad_mul(y, ad_tanh(y));
}
Test(index, rules_concat, .description = "concat of three tensors of different widths")
{
    ad_tensor *in[3] = {th_vals(AD_SHAPE(2, 1), 0.1, 1), th_vals(AD_SHAPE(2, 3), -0.3, 1),
                        th_vals(AD_SHAPE(2, 2), 0.4, 1)};
    th_check_rules(f_concat, NULL, 3, in, 1e-6, true);
}

static ad_tensor *f_stack(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *y = ad_stack(in, 2, -2);
    return ad_mul(y, ad_sin(y));
}
Test(index, rules_stack, .description = "stack of two tensors along a middle axis")
{
    ad_tensor *in[2] = {th_vals(AD_SHAPE(3, 2), 0.2, 1), th_vals(AD_SHAPE(3, 2), -0.6, 1)};
    th_check_rules(f_stack, NULL, 2, in, 1e-6, true);
}

/* ---- error paths ------------------------------------------------------------------------- */

Test(index, error_index_out_of_range, .description = "an integer index outside the axis is AD_EINDEX")
{
    ad_tensor *X = make_X();
    cr_expect_null(ad_idx(X, AD_I(3)));
    expect_error(AD_EINDEX, "index 3 is out of range for axis 0 of size 3");
    cr_expect_null(ad_idx(X, AD_FULL, AD_I(-5)));
    expect_error(AD_EINDEX, "index -5 is out of range for axis 1 of size 4");
    cr_expect_null(ad_getitem(X, "0, 4"));
    expect_error(AD_EINDEX, "axis 1 of size 4");
    cr_expect_eq(ad_setitem_s(X, 1, AD_I(-4)), AD_EINDEX);
    expect_error(AD_EINDEX, "setitem: index -4 is out of range for axis 0 of size 3");
}

Test(index, error_bad_subscripts, .description = "step 0, too many indices, two ellipses, bad kinds")
{
    ad_tensor *X = make_X();
    cr_expect_null(ad_idx(X, AD_FULL, AD_SS(0, 2, 0)));
    expect_error(AD_EINVAL, "slice step cannot be zero (subscript entry 1, axis 1)");
    cr_expect_null(ad_getitem(X, "::0"));
    expect_error(AD_EINVAL, "step cannot be zero");
    cr_expect_null(ad_idx(X, AD_I(0), AD_I(0), AD_I(0)));
    expect_error(AD_EINDEX, "too many indices for a tensor of shape [3,4]: 3 given for 2 axes");
    cr_expect_null(ad_getitem(X, "..., 0, ..."));
    expect_error(AD_EINDEX, "only one ellipsis");
    ad_index bad = {.kind = (ad_index_kind)7, .start = 0, .stop = 0, .step = 0};
    cr_expect_null(ad_slice(X, 1, &bad));
    expect_error(AD_EINVAL, "subscript entry 0 has an invalid kind (7)");
    cr_expect_null(ad_slice(X, -1, NULL));
    expect_error(AD_EINVAL, "negative subscript length -1");
    cr_expect_null(ad_slice(X, 2, NULL));
    expect_error(AD_EINVAL, "NULL subscript with 2 entries");
    ad_tensor *v = ad_arange_n(ctx, 2);
    cr_expect_null(ad_getitem(v, "None,None,None,None,None,None,None,None,None,None,None,None"));
    expect_error(AD_ESIZE, "the result would have 13 axes (at most 12)");
}

static const struct {
    const char *src;
    int status;
    const char *fragment;
} SYNTAX_ERRORS[] = {
    {"1:x", AD_ESYNTAX, "subscript: unexpected 'x' at position 3 in \"1:x\""},
    {"-", AD_ESYNTAX, "unexpected end at position 2 in \"-\""},
    {"1,,2", AD_ESYNTAX, "unexpected ',' at position 3"},
    {"1 2", AD_ESYNTAX, "unexpected '2' at position 3"},
    {"Nonesuch", AD_ESYNTAX, "unexpected 'N' at position 1"},
    {"1:2:3:4", AD_ESYNTAX, "unexpected ':' at position 6"},
    {"99999999999999999999", AD_ESYNTAX, "integer too large at position 1"},
    {"0,\x01", AD_ESYNTAX, "unexpected byte 0x01 at position 3"},
    {NULL, AD_EINVAL, "subscript: the string is NULL"},
};

ParameterizedTestParameters(index, error_syntax)
{
    TH_INDEX_PARAMS(TH_NELEMS(SYNTAX_ERRORS));
}

ParameterizedTest(int *i, index, error_syntax, .description = "subscript syntax errors give the position")
{
    ad_tensor *X = make_X();
    const char *src = SYNTAX_ERRORS[*i].src;
    cr_expect_null(ad_getitem(X, src), "\"%s\" was accepted", src ? src : "(NULL)");
    expect_error(SYNTAX_ERRORS[*i].status, SYNTAX_ERRORS[*i].fragment);
}

Test(index, error_parse_subscript_capacity, .description = "ad_parse_subscript: too many entries, no array, no context")
{
    ad_index ix[2];
    cr_expect_eq(ad_parse_subscript(ctx, "1, 2, 3", ix, 2), AD_ELIMIT);
    expect_error(AD_ELIMIT, "more than 2 entries");
    cr_expect_eq(ad_parse_subscript(ctx, "1", NULL, 3), AD_EINVAL);
    expect_error(AD_EINVAL, "capacity 3");
    cr_expect_eq(ad_parse_subscript(NULL, "1:x", ix, 2), AD_ESYNTAX); /* no context: status only */
}

Test(index, error_setitem, .description = "setitem: bad value shapes, NULL values, expanded targets")
{
    ad_tensor *X = make_X();
    ad_tensor *v = ad_zeros(ctx, AD_SHAPE(2, 5));
    cr_expect_eq(ad_setitem_t(X, v, AD_S(0, 2)), AD_ESHAPE);
    expect_error(AD_ESHAPE, "setitem: a value of shape [2,5] cannot be broadcast to the slice of shape [2,4]");
    cr_expect_eq(ad_setitem_t(X, ad_zeros(ctx, AD_SHAPE(2, 4)), AD_I(0)), AD_ESHAPE);
    expect_error(AD_ESHAPE, "[2,4] cannot be broadcast to the slice of shape [4]");
    cr_expect_eq(ad_setitem(X, 1, (const ad_index[]){AD_I(0)}, NULL), AD_EINVAL);
    expect_error(AD_EINVAL, "setitem: the value tensor is NULL");
    cr_expect_eq(ad_setitem(NULL, 1, (const ad_index[]){AD_I(0)}, v), AD_EINVAL);
    cr_expect_eq(ad_setitem_scalar(NULL, 0, NULL, 1.0), AD_EINVAL);
    ad_tensor *E = ad_expand(ad_arange_n(ctx, 4), AD_SHAPE(3, 4));
    cr_expect_eq(ad_setitem_s(E, 1, AD_I(0), AD_I(0)), AD_ENOTSUP);
    expect_error(AD_ENOTSUP, "axis 0 of the target (shape [3,4]) has stride 0");
    cr_expect_null(ad_slice(NULL, 0, NULL));
    cr_expect_null(ad_getitem(NULL, "1"));
    cr_expect_null(ad_slice_scatter(X, ad_zeros(ctx, AD_SHAPE(3)), 1, (const ad_index[]){AD_I(1)}));
    expect_error(AD_ESHAPE, "slice_scatter: a value of shape [3] cannot be broadcast to the slice of shape [4]");
    /* a recorded attribute applied to a tensor it does not fit */
    ad_slice_attr a;
    cr_assert_eq(ad_slice_resolve(ctx, "slice", 2, (const int64_t[]){3, 4}, 1, (const ad_index[]){AD_I(2)}, &a), AD_OK);
    cr_expect_null(ad_slice_apply(ad_zeros(ctx, AD_SHAPE(2, 4)), &a));
    expect_error(AD_ESTATE, "does not fit a tensor of shape [2,4]");
}

Test(index, error_index_select, .description = "index_select / index_add argument errors")
{
    ad_tensor *X = make_X();
    cr_expect_null(ad_index_select(X, 2, 1, (int64_t[]){0}));
    expect_error(AD_EAXIS, "index_select: axis 2 is out of range");
    cr_expect_null(ad_index_select(X, 0, 2, (int64_t[]){0, 3}));
    expect_error(AD_EINDEX, "index_select: index 3 (entry 1) is out of range for axis 0 of size 3");
    cr_expect_null(ad_index_select(X, 1, 1, (int64_t[]){-5}));
    expect_error(AD_EINDEX, "index -5 (entry 0) is out of range for axis 1 of size 4");
    cr_expect_null(ad_index_select(X, 0, -1, NULL));
    expect_error(AD_ESIZE, "negative number of indices (-1)");
    cr_expect_null(ad_index_select(X, 0, 2, NULL));
    expect_error(AD_EINVAL, "NULL index array with 2 entries");
    cr_expect_null(ad_index_add(X, 0, 2, (int64_t[]){0, 1}, ad_zeros(ctx, AD_SHAPE(3, 4))));
    expect_error(AD_ESHAPE, "index_add: src of shape [3,4] does not fit base of shape [3,4] with 2 indices along axis 0");
    cr_expect_null(ad_index_add(X, 0, 1, (int64_t[]){7}, ad_zeros(ctx, AD_SHAPE(1, 4))));
    expect_error(AD_EINDEX, "index_add: index 7 (entry 0) is out of range for axis 0 of size 3");
    cr_expect_null(ad_index_select(NULL, 0, 1, (int64_t[]){0}));
}

Test(index, error_gather, .description = "gather / scatter_add: ranks, shapes, non-integer and out-of-range values")
{
    ad_tensor *X = make_X();
    cr_expect_null(ad_gather(X, 1, ad_zeros(ctx, AD_SHAPE(3))));
    expect_error(AD_ESHAPE, "gather: index of shape [3] must have as many axes as x of shape [3,4]");
    cr_expect_null(ad_gather(X, 1, ad_zeros(ctx, AD_SHAPE(4, 1))));
    expect_error(AD_ESHAPE, "gather: index of shape [4,1] is larger than x of shape [3,4] along axis 0");
    cr_expect_null(ad_gather(X, 1, ad_from_array(ctx, AD_SHAPE(1, 2), TH_V(0, 1.5))));
    expect_error(AD_EINVAL, "gather: index value 1.5 at position [0,1] is not an integer");
    cr_expect_null(ad_gather(X, 0, ad_from_array(ctx, AD_SHAPE(2, 2), TH_V(0, 1, 2, 3))));
    expect_error(AD_EINDEX, "gather: index value 3 at position [1,1] is out of range for axis 0 of size 3");
    cr_expect_null(ad_gather(X, 1, ad_from_array(ctx, AD_SHAPE(1, 1), TH_V(-1))));
    expect_error(AD_EINDEX, "index value -1 at position [0,0] is out of range for axis 1 of size 4");
    cr_expect_null(ad_gather(X, 1, ad_full(ctx, AD_SHAPE(1, 1), NAN)));
    expect_error(AD_EINVAL, "is not an integer");
    cr_expect_null(ad_gather(X, -3, ad_zeros(ctx, AD_SHAPE(1, 1))));
    expect_error(AD_EAXIS, "gather: axis -3 is out of range");
    cr_expect_null(ad_gather(X, 0, NULL));
    ad_tensor *idx = ad_zeros(ctx, AD_SHAPE(2, 2));
    cr_expect_null(ad_scatter_add(X, 0, idx, ad_zeros(ctx, AD_SHAPE(2, 3))));
    expect_error(AD_ESHAPE, "scatter_add: src of shape [2,3] must have the index's shape [2,2]");
    cr_expect_null(ad_scatter_add(X, 0, ad_full(ctx, AD_SHAPE(1, 1), 3), ad_zeros(ctx, AD_SHAPE(1, 1))));
    expect_error(AD_EINDEX, "scatter_add: index value 3 at position [0,0] is out of range for axis 0 of size 3");
}

static char g_handler_msg[512];
static void capture(const ad_ctx *c, int status, const char *msg)
{
    (void)c;
    (void)status;
    snprintf(g_handler_msg, sizeof g_handler_msg, "%s", msg);
}

Test(index, error_join, .description = "concat / stack: empty lists, mismatched shapes, 0-d, bad axes")
{
    ad_tensor *X = make_X();
    ad_tensor *W = ad_zeros(ctx, AD_SHAPE(3, 5));
    ad_tensor *XW[2] = {X, W};
    cr_expect_null(ad_concat(XW, 2, 0));
    expect_error(AD_ESHAPE, "concat: tensor 1 has shape [3,5] but tensor 0 has shape [3,4] (they must match except "
                            "along axis 0)");
    th_expect(ad_concat(XW, 2, 1), AD_SHAPE(3, 9), TH_V(0, 1, 2, 3, 0, 0, 0, 0, 0, 4, 5, 6, 7, 0, 0, 0, 0, 0, 8, 9,
                                                        10, 11, 0, 0, 0, 0, 0), 0, 0);
    cr_expect_null(ad_concat((ad_tensor *[]){X, ad_zeros(ctx, AD_SHAPE(12))}, 2, 0));
    expect_error(AD_ESHAPE, "tensor 1 has shape [12] but tensor 0 has shape [3,4]");
    cr_expect_null(ad_concat((ad_tensor *[]){ad_scalar(ctx, 1)}, 1, 0));
    expect_error(AD_ESHAPE, "concat: tensor 0 is 0-d");
    cr_expect_null(ad_concat(XW, 2, 2));
    expect_error(AD_EAXIS, "concat: axis 2 is out of range");
    cr_expect_null(ad_stack(XW, 2, 0));
    expect_error(AD_ESHAPE, "stack: tensor 1 has shape [3,5] but tensor 0 has shape [3,4]");
    cr_expect_null(ad_stack((ad_tensor *[]){X, X}, 2, 3));
    expect_error(AD_EAXIS, "stack: axis 3 is out of range for a tensor with 3 axes");
    cr_expect_null(ad_concat((ad_tensor *[]){X, NULL}, 2, 0)); /* errors chain */
    ad_ctx *other = ad_ctx_new();
    ad_tensor *o = ad_zeros(other, AD_SHAPE(3, 4));
    cr_expect_null(ad_stack((ad_tensor *[]){X, o}, 2, 0));
    expect_error(AD_EINVAL, "stack: tensor 1 belongs to another context");
    ad_tensor_free(o);
    ad_ctx_free(other);
    ad_tensor *big = ad_zeros(ctx, AD_SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
    cr_expect_null(ad_stack(&big, 1, 0));
    expect_error(AD_ESIZE, "stack: tensors with 12 axes cannot be stacked");

    /* no tensor at all: no context to record in; the handler sees it */
    ad_error_handler prev = ad_set_error_handler(capture);
    g_handler_msg[0] = '\0';
    cr_expect_null(ad_concat(XW, 0, 0));
    cr_expect_str_eq(g_handler_msg, "concat: expected at least one tensor to join");
    g_handler_msg[0] = '\0';
    cr_expect_null(ad_stack(NULL, 3, 0));
    cr_expect_str_eq(g_handler_msg, "stack: the list of tensors is NULL");
    ad_set_error_handler(prev);
}
