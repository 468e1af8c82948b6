/* tests/test_view.c — reshape, view, flatten, squeeze/unsqueeze, permute,
 * transpose, T, expand/broadcast_to, sum_to, clone/contiguous: sharing,
 * values, errors and derivative rules. */
#include <string.h>

#include "helpers.h"

TestSuite(view, .init = th_setup, .fini = th_teardown);

Test(view, reshape_with_inferred_axis_and_errors)
{
    ad_tensor *x = ad_arange_n(ctx, 24);
    cr_expect_str_eq(th_shape(ad_reshape(x, AD_SHAPE(2, -1, 4))), "[2,3,4]");
    cr_expect_str_eq(th_shape(ad_reshape(x, AD_SHAPE(-1))), "[24]");
    cr_expect_null(ad_reshape(x, AD_SHAPE(5, -1)));
    cr_expect(strstr(ad_errmsg(ctx), "shape [5,-1] is invalid for a tensor of 24 elements"), "%s", ad_errmsg(ctx));
    cr_expect_null(ad_reshape(x, AD_SHAPE(-1, -1)));
    cr_expect(strstr(ad_errmsg(ctx), "only one axis can be -1"));
    cr_expect_null(ad_reshape(x, AD_SHAPE(5, 5)));
    cr_expect_eq(ad_errno(ctx), AD_ESHAPE);
    cr_expect_str_eq(th_shape(ad_reshape(ad_scalar(ctx, 1), AD_SHAPE(1, 1))), "[1,1]");
    cr_expect_str_eq(th_shape(ad_flatten(ad_scalar(ctx, 1))), "[1]");
}

Test(view, views_share_storage_and_writes)
{
    ad_tensor *x = ad_arange_n(ctx, 6);
    ad_tensor *m = ad_reshape(x, AD_SHAPE(2, 3));
    ad_tensor *t = ad_T(m);
    cr_expect_eq(ad_storage_id(t), ad_storage_id(x));
    cr_expect_not(ad_is_contiguous(t));
    th_expect(t, AD_SHAPE(3, 2), TH_V(0, 3, 1, 4, 2, 5), 0, 0);
    ad_data(x)[4] = 40;
    cr_expect_eq(ad_at(t, 1, 1), 40, "a write to the base is seen through the transposed view");
    /* reshape of a non-contiguous view copies; view refuses */
    ad_tensor *f = ad_reshape(t, AD_SHAPE(6));
    th_expect(f, AD_SHAPE(6), TH_V(0, 3, 1, 40, 2, 5), 0, 0);
    cr_expect_neq(ad_storage_id(f), ad_storage_id(x));
    cr_expect_null(ad_view(t, AD_SHAPE(6)));
    cr_expect(strstr(ad_errmsg(ctx), "cannot be viewed as [6] without copying"), "%s", ad_errmsg(ctx));
    /* but a view that keeps the transposed runs works */
    ad_tensor *big = ad_reshape(ad_arange_n(ctx, 24), AD_SHAPE(2, 3, 4));
    ad_tensor *p = ad_permute_v(big, 1, 0, 2);          /* [3,2,4], stride (4,12,1) */
    ad_tensor *v = ad_view(p, AD_SHAPE(3, 2, 2, 2));    /* splitting the last axis is fine */
    cr_assert_not_null(v, "%s", ad_errmsg(ctx));
    cr_expect_eq(ad_storage_id(v), ad_storage_id(big));
    cr_expect_eq(ad_at(v, 2, 1, 1, 0), ad_at(p, 2, 1, 2));
}

Test(view, squeeze_unsqueeze_permute_transpose)
{
    ad_tensor *x = ad_reshape(ad_arange_n(ctx, 6), AD_SHAPE(1, 2, 1, 3));
    cr_expect_str_eq(th_shape(ad_squeeze(x, 0)), "[2,1,3]");
    cr_expect_str_eq(th_shape(ad_squeeze(x, -2)), "[1,2,3]");
    cr_expect_str_eq(th_shape(ad_squeeze_all(x)), "[2,3]");
    cr_expect_null(ad_squeeze(x, 1));
    cr_expect_str_eq(ad_errmsg(ctx), "squeeze: axis 1 has length 2, not 1");
    cr_expect_str_eq(th_shape(ad_unsqueeze(ad_arange_n(ctx, 3), 0)), "[1,3]");
    cr_expect_str_eq(th_shape(ad_unsqueeze(ad_arange_n(ctx, 3), -1)), "[3,1]");
    cr_expect_null(ad_unsqueeze(ad_arange_n(ctx, 3), 3));
    cr_expect_eq(ad_errno(ctx), AD_EAXIS);
    ad_tensor *A = ad_reshape(ad_arange_n(ctx, 24), AD_SHAPE(2, 3, 4));
    ad_tensor *P = ad_permute_v(A, 2, 0, 1);
    cr_expect_str_eq(th_shape(P), "[4,2,3]");
    cr_expect_eq(ad_at(P, 3, 1, 2), ad_at(A, 1, 2, 3));
    cr_expect_null(ad_permute_v(A, 0, 0, 1));
    cr_expect_str_eq(ad_errmsg(ctx), "permute: axis 0 appears twice");
    cr_expect_null(ad_permute_v(A, 0, 1));
    cr_expect(strstr(ad_errmsg(ctx), "2 axes given for a tensor with 3 axes"));
    ad_tensor *T = ad_transpose(A, 0, -1);
    cr_expect_str_eq(th_shape(T), "[4,3,2]");
    cr_expect_eq(ad_at(T, 3, 2, 1), ad_at(A, 1, 2, 3));
    cr_expect_null(ad_transpose(A, 0, 3));
    cr_expect(strstr(ad_errmsg(ctx), "axis 3 is out of range for a tensor with 3 axes"), "%s", ad_errmsg(ctx));
    /* A.T of a 4x4, as in the seeds */
    ad_tensor *B = ad_reshape(ad_arange_n(ctx, 16), AD_SHAPE(4, 4));
    th_expect(ad_T(B), AD_SHAPE(4, 4), TH_V(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), 0, 0);
}

Test(view, expand_and_sum_to_are_adjoint)
{
    ad_tensor *r = ad_from_array(ctx, AD_SHAPE(3, 1), TH_V(1, 2, 3));
    ad_tensor *e = ad_expand(r, AD_SHAPE(2, 3, 4));
    cr_expect_str_eq(th_shape(e), "[2,3,4]");
    cr_expect_eq(ad_stride(e, 0), 0);
    cr_expect_eq(ad_stride(e, 2), 0);
    cr_expect_eq(ad_at(e, 1, 2, 3), 3);
    th_expect(ad_expand(r, AD_SHAPE(-1, 2)), AD_SHAPE(3, 2), TH_V(1, 1, 2, 2, 3, 3), 0, 0);
    cr_expect_null(ad_expand(r, AD_SHAPE(2, 4)));
    cr_expect(strstr(ad_errmsg(ctx), "cannot expand shape [3,1] to [2,4]"), "%s", ad_errmsg(ctx));
    cr_expect_null(ad_broadcast_to(r, AD_SHAPE(-1, 2)));
    th_expect(ad_sum_to(e, AD_SHAPE(3, 1)), AD_SHAPE(3, 1), TH_V(8, 16, 24), 0, 0);
    th_expect(ad_sum_to(e, AD_SHAPE(1, 4)), AD_SHAPE(1, 4), TH_V(12, 12, 12, 12), 0, 0);
    th_expect(ad_sum_to(e, AD_SCALAR), AD_SCALAR, TH_V(48), 0, 0);
    cr_expect_null(ad_sum_to(e, AD_SHAPE(2, 4)));
    cr_expect(strstr(ad_errmsg(ctx), "shape [2,3,4] cannot be summed to [2,4]"), "%s", ad_errmsg(ctx));
}

Test(view, clone_and_contiguous)
{
    ad_tensor *x = ad_reshape(ad_arange_n(ctx, 6), AD_SHAPE(2, 3));
    ad_tensor *c = ad_clone(x);
    cr_expect_neq(ad_storage_id(c), ad_storage_id(x));
    ad_tensor *same = ad_contiguous(x);
    cr_expect_eq(same, x, "contiguous() of a contiguous tensor is the tensor itself");
    ad_tensor *t = ad_contiguous(ad_T(x));
    cr_expect(ad_is_contiguous(t));
    th_expect(t, AD_SHAPE(3, 2), TH_V(0, 3, 1, 4, 2, 5), 0, 0);
}

/* ---- rules -------------------------------------------------------------------- */

static ad_tensor *f_views(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *x = in[0]; /* [2,3,4] */
    ad_tensor *a = ad_permute_v(ad_mul(x, x), 2, 0, 1);            /* [4,2,3] */
    ad_tensor *b = ad_reshape(ad_transpose(a, 1, 2), AD_SHAPE(4, 6)); /* non-contiguous: copies */
    ad_tensor *c = ad_unsqueeze(ad_squeeze(ad_unsqueeze(b, 1), 1), 0); /* [1,4,6] */
    ad_tensor *d = ad_expand(ad_sum_to(ad_sin(c), AD_SHAPE(4, 1)), AD_SHAPE(3, 4, 5));
    return ad_mul(ad_flatten(ad_T(d)), ad_flatten(ad_clone(ad_contiguous(ad_T(d)))));
}

Test(view, rules_of_views_in_every_mode)
{
    ad_tensor *x[1] = {th_vals(AD_SHAPE(2, 3, 4), 0.3, 0.9)};
    th_check_rules(f_views, NULL, 1, x, 1e-6, true);
}

static ad_tensor *f_sum_to(ad_tensor *const *in, void *ud)
{
    (void)ud;
    return ad_mul(ad_sum_to(ad_mul(in[0], in[1]), AD_SHAPE(3, 1)), ad_sum_to(in[0], AD_SHAPE(1, 4)));
}

Test(view, rules_of_sum_to_with_broadcast_inputs)
{
    ad_tensor *x[2] = {th_vals(AD_SHAPE(2, 3, 4), 0.3, 0.9), th_vals(AD_SHAPE(3, 1), 1.2, 0.5)};
    th_check_rules(f_sum_to, NULL, 2, x, 1e-6, true);
}

Test(view, grad_fn_names_of_views)
{
    ad_tensor *x = ad_ones(ctx, AD_SHAPE(2, 3));
    ad_requires_grad_(x, true);
    cr_expect_str_eq(ad_grad_fn_name(ad_reshape(x, AD_SHAPE(3, 2))), "ViewBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_T(x)), "PermuteBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_transpose(x, 0, 1)), "TransposeBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_expand(x, AD_SHAPE(4, 2, 3))), "ExpandBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_unsqueeze(x, 0)), "UnsqueezeBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_clone(x)), "CloneBackward0");
    cr_expect(ad_is_leaf(x));
    cr_expect_not(ad_is_leaf(ad_clone(x)));
}
