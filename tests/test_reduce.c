/* tests/test_reduce.c — reductions and scans: sum, mean, prod, max/min,
 * var/std, logsumexp, argmax/argmin, cumsum/cumprod, softmax/log_softmax.
 * Values follow D2L's preliminaries (A = arange(24).reshape(2,3,4), ...);
 * derivative rules are checked with th_check_rules over many axis/keepdims
 * configurations; corner cases (zeros in prod, ties in max, empty axes,
 * NaN, -inf) against hand-derived values. */
#include <float.h>
#include <string.h>

#include "helpers.h"
#include "th_params.h" /* after helpers.h */

TestSuite(reduce, .init = th_setup, .fini = th_teardown);

static ad_tensor *arange_shaped(int64_t n, ad_shape s) { return ad_reshape(ad_arange_n(ctx, n), s); }

#define EXPECT_ERR(call, status, ...)                                                                   \
    do {                                                                                                \
        ad_clear_error(ctx);                                                                            \
        cr_assert_null((call), "%s should fail", #call);                                                \
        cr_assert_eq(ad_errno(ctx), (status), "%s: status %d (%s)", #call, ad_errno(ctx), ad_errmsg(ctx)); \
        const char *want_[] = {__VA_ARGS__};                                                            \
        for (size_t i_ = 0; i_ < sizeof want_ / sizeof *want_; i_++)                                    \
            cr_assert(strstr(ad_errmsg(ctx), want_[i_]), "%s: message \"%s\" lacks \"%s\"", #call,      \
                      ad_errmsg(ctx), want_[i_]);                                                       \
        ad_clear_error(ctx);                                                                            \
    } while (0)

/* ---- D2L: sums along axes ------------------------------------------------------ */

Test(reduce, d2l_sum_axis_shapes, .description = "A.sum(axis=1).shape == [2,4]; A.sum(axis=[0,2]).shape == [3]")
{
    ad_tensor *A = arange_shaped(24, AD_SHAPE(2, 3, 4));
    cr_assert_str_eq(th_shape(ad_sum(A, AD_AXES(1), false)), "[2,4]");
    cr_assert_str_eq(th_shape(ad_sum(A, AD_AXES(0, 2), false)), "[3]");
}

Test(reduce, sum_single_axes, .description = "A = arange(24).reshape(2,3,4) summed along each single axis")
{
    ad_tensor *A = arange_shaped(24, AD_SHAPE(2, 3, 4));
    /* A[i,j,k] = 12i + 4j + k */
    th_expect(ad_sum(A, AD_AXES(0), false), AD_SHAPE(3, 4),
              TH_V(12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34), 0, 0);
    th_expect(ad_sum(A, AD_AXES(1), false), AD_SHAPE(2, 4), TH_V(12, 15, 18, 21, 48, 51, 54, 57), 0, 0);
    th_expect(ad_sum(A, AD_AXES(2), false), AD_SHAPE(2, 3), TH_V(6, 22, 38, 54, 70, 86), 0, 0);
    /* negative axes count from the end */
    th_expect(ad_sum(A, AD_AXES(-1), false), AD_SHAPE(2, 3), TH_V(6, 22, 38, 54, 70, 86), 0, 0);
    th_expect(ad_sum(A, AD_AXES(-3), false), AD_SHAPE(3, 4),
              TH_V(12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34), 0, 0);
}

Test(reduce, sum_axis_pairs_and_all, .description = "A summed over each pair of axes and over all axes")
{
    ad_tensor *A = arange_shaped(24, AD_SHAPE(2, 3, 4));
    th_expect(ad_sum(A, AD_AXES(0, 1), false), AD_SHAPE(4), TH_V(60, 66, 72, 78), 0, 0);
    th_expect(ad_sum(A, AD_AXES(0, 2), false), AD_SHAPE(3), TH_V(60, 92, 124), 0, 0);
    th_expect(ad_sum(A, AD_AXES(1, 2), false), AD_SHAPE(2), TH_V(66, 210), 0, 0);
    th_expect(ad_sum(A, AD_AXES(2, 0), false), AD_SHAPE(3), TH_V(60, 92, 124), 0, 0); /* order does not matter */
    th_expect(ad_sum(A, AD_ALL, false), AD_SCALAR, TH_V(276), 0, 0);
    th_expect(ad_sum(A, AD_AXES(0, 1, 2), false), AD_SCALAR, TH_V(276), 0, 0);
    th_expect(ad_sum_all(A), AD_SCALAR, TH_V(276), 0, 0);
}

Test(reduce, sum_keepdims, .description = "keepdims keeps reduced axes with length 1, as NumPy/PyTorch")
{
    ad_tensor *A = arange_shaped(24, AD_SHAPE(2, 3, 4));
    th_expect(ad_sum(A, AD_AXES(1), true), AD_SHAPE(2, 1, 4), TH_V(12, 15, 18, 21, 48, 51, 54, 57), 0, 0);
    th_expect(ad_sum(A, AD_AXES(0, 2), true), AD_SHAPE(1, 3, 1), TH_V(60, 92, 124), 0, 0);
    th_expect(ad_sum(A, AD_ALL, true), AD_SHAPE(1, 1, 1), TH_V(276), 0, 0);
}

Test(reduce, sum_4d_over_axes_1_3,
     .description = "a [2,3,4,5] tensor summed over axes [1,3]: [2,4], keepdims [2,1,4,1]")
{
    ad_tensor *B = arange_shaped(120, AD_SHAPE(2, 3, 4, 5));
    const double *want = TH_V(330, 405, 480, 555, 1230, 1305, 1380, 1455);
    th_expect(ad_sum(B, AD_AXES(1, 3), false), AD_SHAPE(2, 4), want, 0, 0);
    th_expect(ad_sum(B, AD_AXES(1, 3), true), AD_SHAPE(2, 1, 4, 1), want, 0, 0);
    th_expect(ad_sum(B, AD_AXES(-1, -3), false), AD_SHAPE(2, 4), want, 0, 0);
}

Test(reduce, sum_of_noncontiguous_views, .description = "sums of transposed and broadcast views")
{
    ad_tensor *A = arange_shaped(24, AD_SHAPE(2, 3, 4));
    ad_tensor *T = ad_permute_v(A, 2, 0, 1); /* [4,2,3], T[k,i,j] = A[i,j,k] */
    th_expect(ad_sum(T, AD_AXES(0), false), AD_SHAPE(2, 3), TH_V(6, 22, 38, 54, 70, 86), 0, 0);
    th_expect(ad_sum(T, AD_AXES(1, 2), false), AD_SHAPE(4), TH_V(60, 66, 72, 78), 0, 0);
    ad_tensor *E = ad_expand(ad_arange_n(ctx, 3), AD_SHAPE(4, 3)); /* stride 0 rows */
    th_expect(ad_sum(E, AD_AXES(0), false), AD_SHAPE(3), TH_V(0, 4, 8), 0, 0);
    th_expect(ad_sum(E, AD_ALL, false), AD_SCALAR, TH_V(12), 0, 0);
}

Test(reduce, sum_over_no_axes, .description = "an empty axis list reduces nothing (NumPy's axis=())")
{
    ad_tensor *A = arange_shaped(6, AD_SHAPE(2, 3));
    ad_axes none = {.n = 0};
    th_expect(ad_sum(A, none, false), AD_SHAPE(2, 3), TH_V(0, 1, 2, 3, 4, 5), 0, 0);
    /* a 0-d tensor reduces over AD_ALL to itself */
    th_expect(ad_sum(ad_scalar(ctx, 2.5), AD_ALL, false), AD_SCALAR, TH_V(2.5), 0, 0);
    th_expect(ad_max(ad_scalar(ctx, -1.5), AD_ALL, true), AD_SCALAR, TH_V(-1.5), 0, 0);
}

Test(reduce, d2l_divide_by_row_sums, .description = "A / A.sum(axis=1, keepdims=True) broadcasts; rows sum to 1")
{
    ad_tensor *A = arange_shaped(20, AD_SHAPE(5, 4));
    ad_tensor *sum_A = ad_sum(A, AD_AXES(1), true);
    th_expect(sum_A, AD_SHAPE(5, 1), TH_V(6, 22, 38, 54, 70), 0, 0);
    ad_tensor *P = ad_div(A, sum_A);
    th_expect(P, AD_SHAPE(5, 4),
              TH_V(0.0, 1.0 / 6, 2.0 / 6, 3.0 / 6, 4.0 / 22, 5.0 / 22, 6.0 / 22, 7.0 / 22, 8.0 / 38, 9.0 / 38,
                   10.0 / 38, 11.0 / 38, 12.0 / 54, 13.0 / 54, 14.0 / 54, 15.0 / 54, 16.0 / 70, 17.0 / 70,
                   18.0 / 70, 19.0 / 70),
              0, 1e-15);
    th_expect(ad_sum(P, AD_AXES(1), false), AD_SHAPE(5), TH_V(1, 1, 1, 1, 1), 1e-15, 0);
}

Test(reduce, d2l_cumsum_axis0, .description = "A.cumsum(axis=0) for A = arange(12).reshape(3,4)")
{
    ad_tensor *A = arange_shaped(12, AD_SHAPE(3, 4));
    th_expect(ad_cumsum(A, 0), AD_SHAPE(3, 4), TH_V(0, 1, 2, 3, 4, 6, 8, 10, 12, 15, 18, 21), 0, 0);
    th_expect(ad_cumsum(A, 1), AD_SHAPE(3, 4), TH_V(0, 1, 3, 6, 4, 9, 15, 22, 8, 17, 27, 38), 0, 0);
    th_expect(ad_cumsum(A, -1), AD_SHAPE(3, 4), TH_V(0, 1, 3, 6, 4, 9, 15, 22, 8, 17, 27, 38), 0, 0);
    /* along a strided axis of a transposed view */
    th_expect(ad_cumsum(ad_T(A), 1), AD_SHAPE(4, 3), TH_V(0, 4, 12, 1, 6, 15, 2, 8, 18, 3, 10, 21), 0, 0);
}

Test(reduce, cumprod_values, .description = "running products along either axis, zeros included")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2, 4), TH_V(1, 2, 3, 4, 2, 0, 5, -1));
    th_expect(ad_cumprod(x, 1), AD_SHAPE(2, 4), TH_V(1, 2, 6, 24, 2, 0, 0, 0), 0, 0);
    th_expect(ad_cumprod(x, 0), AD_SHAPE(2, 4), TH_V(1, 2, 3, 4, 2, 0, 15, -4), 0, 0);
}

/* ---- mean ---------------------------------------------------------------------- */

Test(reduce, mean_values, .description = "mean of arange(8.) is 3.5; mean along axes = sum / count")
{
    th_expect(ad_mean_all(ad_arange_n(ctx, 8)), AD_SCALAR, TH_V(3.5), 0, 0);
    ad_tensor *A = arange_shaped(24, AD_SHAPE(2, 3, 4));
    th_expect(ad_mean(A, AD_ALL, false), AD_SCALAR, TH_V(11.5), 0, 0);
    th_expect(ad_mean(A, AD_AXES(0), false), AD_SHAPE(3, 4), TH_V(6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17), 0, 0);
    th_expect(ad_mean(A, AD_AXES(0, 2), true), AD_SHAPE(1, 3, 1), TH_V(7.5, 11.5, 15.5), 0, 0);
    /* D2L: A.mean(axis=0) == A.sum(axis=0) / A.shape[0] */
    ad_tensor *d = ad_sub(ad_mean(A, AD_AXES(0), false), ad_div_s(ad_sum(A, AD_AXES(0), false), 2));
    th_expect(ad_abs(d), AD_SHAPE(3, 4), TH_V(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0, 0);
}

Test(reduce, d2l_mean_backward, .description = "x = arange(8.), z = (2x).mean(): dz/dx = 1/4 everywhere")
{
    ad_tensor *x = ad_arange_n(ctx, 8);
    ad_requires_grad_(x, true);
    ad_tensor *z = ad_mean_all(ad_mul_s(x, 2));
    cr_assert_str_eq(ad_grad_fn_name(z), "MeanBackward0");
    cr_assert_eq(ad_backward(z, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(8), TH_V(0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25), 0, 0);
}

/* ---- empty reductions ------------------------------------------------------------ */

Test(reduce, empty_reductions, .description = "over an empty axis: sum 0, prod 1, mean/var NaN, logsumexp -inf")
{
    ad_tensor *E = ad_zeros(ctx, AD_SHAPE(2, 0));
    th_expect(ad_sum(E, AD_AXES(1), false), AD_SHAPE(2), TH_V(0, 0), 0, 0);
    th_expect(ad_prod(E, AD_AXES(1), false), AD_SHAPE(2), TH_V(1, 1), 0, 0);
    th_expect(ad_mean(E, AD_AXES(1), false), AD_SHAPE(2), TH_V(NAN, NAN), 0, 0);
    th_expect(ad_var(E, AD_AXES(1), 1, false), AD_SHAPE(2), TH_V(NAN, NAN), 0, 0);
    th_expect(ad_logsumexp(E, AD_AXES(1), false), AD_SHAPE(2), TH_V(-INFINITY, -INFINITY), 0, 0);
    th_expect(ad_sum(E, AD_ALL, false), AD_SCALAR, TH_V(0), 0, 0);
    /* reducing the non-empty axis gives an empty result, max included */
    cr_assert_str_eq(th_shape(ad_sum(E, AD_AXES(0), false)), "[0]");
    cr_assert_str_eq(th_shape(ad_max(E, AD_AXES(0), false)), "[0]");
    cr_assert_str_eq(th_shape(ad_cumsum(E, 1)), "[2,0]");
    cr_assert_str_eq(th_shape(ad_softmax(E, 1)), "[2,0]");
    cr_assert_str_eq(th_shape(ad_argmax(E, 0, false)), "[0]");
}

/* ---- prod ------------------------------------------------------------------------ */

Test(reduce, prod_values, .description = "products along axes")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2, 3), TH_V(1.5, -2, 4, 0.5, 3, -1));
    th_expect(ad_prod(x, AD_AXES(1), false), AD_SHAPE(2), TH_V(-12, -1.5), 0, 0);
    th_expect(ad_prod(x, AD_AXES(0), true), AD_SHAPE(1, 3), TH_V(0.75, -6, -4), 0, 0);
    th_expect(ad_prod(x, AD_ALL, false), AD_SCALAR, TH_V(18), 0, 0);
    /* a long run: 1.25^20 = 5^20 / 4^20 */
    th_expect(ad_prod(ad_full(ctx, AD_SHAPE(20), 1.25), AD_ALL, false), AD_SCALAR,
              TH_V(95367431640625.0 / 1099511627776.0), 0, 1e-15);
}

Test(reduce, prod_gradient_with_zeros, .description = "prod: one zero -> product of the others there; two zeros -> 0")
{
    /* rows: one zero, two zeros, none */
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3, 3), TH_V(2, 0, 3, 0, 5, 0, 4, 1, 2));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_prod(x, AD_AXES(1), false);
    th_expect(y, AD_SHAPE(3), TH_V(0, 0, 8), 0, 0);
    cr_assert_str_eq(ad_grad_fn_name(y), "ProdBackward0");
    cr_assert_eq(ad_backward(y, ad_from_array(ctx, AD_SHAPE(3), TH_V(1, 1, 0.5)), 0), AD_OK, "%s", ad_errmsg(ctx));
    /* d(x0 x1 x2)/dx_i = product of the other two */
    th_expect(ad_grad(x), AD_SHAPE(3, 3), TH_V(0, 6, 0, 0, 0, 0, 1, 4, 2), 0, 0);

    /* forward mode: ẏ = Σ_i w_i ẋ_i with the same weights */
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    ad_tensor *xf = ad_clone(ad_detach(x));
    ad_set_tangent(xf, ad_from_array(ctx, AD_SHAPE(3, 3), TH_V(1, 2, 3, 4, 5, 6, 7, 8, 9)));
    ad_tensor *yf = ad_prod(xf, AD_AXES(1), false);
    ad_fwd_end(ctx);
    th_expect(ad_get_tangent(yf), AD_SHAPE(3), TH_V(12, 0, 2 * 7 + 8 * 8 + 4 * 9), 0, 0);

    /* over all axes: three zeros in total, so every partial derivative is 0 */
    ad_clear_grad(x);
    cr_assert_eq(ad_backward(ad_prod(x, AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(3, 3), TH_V(0, 0, 0, 0, 0, 0, 0, 0, 0), 0, 0);
}

/* ---- max, min -------------------------------------------------------------------- */

Test(reduce, max_min_values, .description = "max/min along axes and over all")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2, 3), TH_V(1.5, -2, 4, 0.5, 3, -1));
    th_expect(ad_max(x, AD_AXES(1), false), AD_SHAPE(2), TH_V(4, 3), 0, 0);
    th_expect(ad_min(x, AD_AXES(1), false), AD_SHAPE(2), TH_V(-2, -1), 0, 0);
    th_expect(ad_max(x, AD_AXES(0), true), AD_SHAPE(1, 3), TH_V(1.5, 3, 4), 0, 0);
    th_expect(ad_min(x, AD_ALL, false), AD_SCALAR, TH_V(-2), 0, 0);
    ad_tensor *ninf = ad_full(ctx, AD_SHAPE(3), -INFINITY);
    th_expect(ad_max(ninf, AD_ALL, false), AD_SCALAR, TH_V(-INFINITY), 0, 0);
}

Test(reduce, max_min_propagate_nan, .description = "NaN counts as the extreme: max and min of a group with NaN are NaN")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2, 3), TH_V(1, NAN, 3, 4, 5, 6));
    th_expect(ad_max(x, AD_AXES(1), false), AD_SHAPE(2), TH_V(NAN, 6), 0, 0);
    th_expect(ad_min(x, AD_AXES(1), false), AD_SHAPE(2), TH_V(NAN, 4), 0, 0);
    th_expect(ad_max(x, AD_AXES(0), false), AD_SHAPE(3), TH_V(4, NAN, 6), 0, 0);
    /* NaN last in a reduced run, and first */
    th_expect(ad_max(ad_from_array(ctx, AD_SHAPE(3), TH_V(1, 2, NAN)), AD_ALL, false), AD_SCALAR, TH_V(NAN), 0, 0);
    th_expect(ad_min(ad_from_array(ctx, AD_SHAPE(3), TH_V(NAN, 2, 1)), AD_ALL, false), AD_SCALAR, TH_V(NAN), 0, 0);
    /* a long run (folded in several lanes): NaN anywhere wins, else the true extreme */
    ad_tensor *r = th_vals(AD_SHAPE(2, 21), 0, 1);
    ad_set_at(r, 7.5, 0, 17);
    ad_set_at(r, -7.5, 0, 4);
    ad_set_at(r, NAN, 1, 13);
    th_expect(ad_max(r, AD_AXES(1), false), AD_SHAPE(2), TH_V(7.5, NAN), 0, 0);
    th_expect(ad_min(r, AD_AXES(1), false), AD_SHAPE(2), TH_V(-7.5, NAN), 0, 0);
    th_expect(ad_argmax(r, 1, false), AD_SHAPE(2), TH_V(17, 13), 0, 0);
}

Test(reduce, max_ties_split_gradient, .description = "max/min pass the gradient to the tied extremes in equal parts")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2, 4), TH_V(3, 1, 3, 2, 5, 5, 5, -1));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_max(x, AD_AXES(1), false);
    cr_assert_str_eq(ad_grad_fn_name(y), "MaxBackward0");
    cr_assert_eq(ad_backward(y, ad_from_array(ctx, AD_SHAPE(2), TH_V(1, 6)), 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(2, 4), TH_V(0.5, 0, 0.5, 0, 2, 2, 2, 0), 0, 1e-15);

    ad_tensor *z = ad_from_array(ctx, AD_SHAPE(5), TH_V(-1, 4, -1, -1, 0));
    ad_requires_grad_(z, true);
    ad_tensor *m = ad_min(z, AD_ALL, false);
    cr_assert_str_eq(ad_grad_fn_name(m), "MinBackward0");
    cr_assert_eq(ad_backward(m, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(z), AD_SHAPE(5), TH_V(1.0 / 3, 0, 1.0 / 3, 1.0 / 3, 0), 0, 1e-15);

    /* forward mode: ẏ is the mean of the tangents of the tied elements */
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    ad_tensor *xf = ad_clone(ad_detach(x));
    ad_set_tangent(xf, ad_from_array(ctx, AD_SHAPE(2, 4), TH_V(1, 10, 3, 10, 1, 2, 6, 10)));
    ad_tensor *yf = ad_max(xf, AD_AXES(1), false);
    ad_fwd_end(ctx);
    th_expect(ad_get_tangent(yf), AD_SHAPE(2), TH_V(2, 3), 0, 1e-15);
}

/* ---- argmax, argmin ------------------------------------------------------------------ */

Test(reduce, argmax_argmin, .description = "indices of extremes: first on ties, keepdims, flat index for _all")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2, 4), TH_V(3, 7, 7, -2, 0, -5, 1, -5));
    th_expect(ad_argmax(x, 1, false), AD_SHAPE(2), TH_V(1, 2), 0, 0);
    th_expect(ad_argmin(x, 1, false), AD_SHAPE(2), TH_V(3, 1), 0, 0);
    th_expect(ad_argmax(x, -2, true), AD_SHAPE(1, 4), TH_V(0, 0, 0, 0), 0, 0);
    th_expect(ad_argmin(x, 0, false), AD_SHAPE(4), TH_V(1, 1, 1, 1), 0, 0);
    th_expect(ad_argmax_all(x), AD_SCALAR, TH_V(1), 0, 0);
    th_expect(ad_argmin_all(x), AD_SCALAR, TH_V(5), 0, 0);
    /* flat index in the row-major order of a transposed view ([4,2]) */
    ad_tensor *T = ad_T(x); /* rows: [3,0] [7,-5] [7,1] [-2,-5] */
    th_expect(ad_argmax_all(T), AD_SCALAR, TH_V(2), 0, 0);
    th_expect(ad_argmin_all(T), AD_SCALAR, TH_V(3), 0, 0);
    th_expect(ad_argmax(T, 0, false), AD_SHAPE(2), TH_V(1, 2), 0, 0);
}

Test(reduce, argmax_nan_and_constness, .description = "argmax treats NaN as the max; results are constants")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(5), TH_V(1, 9, NAN, 4, NAN));
    th_expect(ad_argmax_all(x), AD_SCALAR, TH_V(2), 0, 0);
    th_expect(ad_argmin(x, 0, false), AD_SCALAR, TH_V(2), 0, 0);
    ad_tensor *w = ad_from_array(ctx, AD_SHAPE(2, 2), TH_V(1, 2, 4, 3));
    ad_requires_grad_(w, true);
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    ad_set_tangent(w, ad_ones(ctx, AD_SHAPE(2, 2)));
    ad_tensor *i = ad_argmax(w, 1, false);
    ad_tensor *j = ad_argmax_all(w);
    ad_fwd_end(ctx);
    th_expect(i, AD_SHAPE(2), TH_V(1, 0), 0, 0);
    th_expect(j, AD_SCALAR, TH_V(2), 0, 0);
    cr_assert_not(ad_requires_grad(i));
    cr_assert_not(ad_requires_grad(j));
    cr_assert_not(ad_has_tangent(i));
    cr_assert_null(ad_grad_fn_name(i));
}

/* ---- var, std, logsumexp, softmax ------------------------------------------------------ */

Test(reduce, var_std_values, .description = "variance with correction 1 (unbiased) and 0 (population); std")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(4), TH_V(1.5, -0.25, 2.0, 4.75));
    th_expect(ad_var(x, AD_ALL, 1, false), AD_SCALAR, TH_V(4.291666666666667), 0, 1e-15);
    th_expect(ad_var(x, AD_ALL, 0, false), AD_SCALAR, TH_V(3.21875), 0, 1e-15);
    th_expect(ad_std(x, AD_ALL, 1, false), AD_SCALAR, TH_V(2.071633815776009), 0, 1e-15);
    ad_tensor *A = arange_shaped(24, AD_SHAPE(2, 3, 4));
    /* each row k = 0..3 of consecutive integers: var = 5/3; along axis 1: 4,8 -> 16 */
    const double v = 5.0 / 3;
    th_expect(ad_var(A, AD_AXES(2), 1, false), AD_SHAPE(2, 3), TH_V(v, v, v, v, v, v), 0, 1e-15);
    th_expect(ad_var(A, AD_AXES(1), 1, true), AD_SHAPE(2, 1, 4), TH_V(16, 16, 16, 16, 16, 16, 16, 16), 0, 1e-15);
    /* one element with correction 1: 0/0 */
    th_expect(ad_var(ad_scalar(ctx, 3), AD_ALL, 1, false), AD_SCALAR, TH_V(NAN), 0, 0);
    /* no cancellation for a large offset (one-pass formulas lose everything here) */
    ad_tensor *big = ad_add_s(ad_from_array(ctx, AD_SHAPE(4), TH_V(1.5, -0.25, 2.0, 4.75)), 1e9);
    th_expect(ad_var(big, AD_ALL, 1, false), AD_SCALAR, TH_V(4.291666666666667), 0, 1e-9);
}

Test(reduce, logsumexp_stable, .description = "logsumexp shifts by the max: no overflow, -inf groups give -inf")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(4), TH_V(1.5, -0.25, 2.0, 4.75));
    th_expect(ad_logsumexp(x, AD_ALL, false), AD_SCALAR, TH_V(4.853855397970026), 0, 1e-15);
    ad_tensor *big = ad_from_array(ctx, AD_SHAPE(2, 2), TH_V(1000, 1000, -1000, -INFINITY));
    th_expect(ad_logsumexp(big, AD_AXES(1), false), AD_SHAPE(2), TH_V(1000 + log(2.0), -1000), 0, 1e-15);
    ad_tensor *ninf = ad_full(ctx, AD_SHAPE(2, 3), -INFINITY);
    th_expect(ad_logsumexp(ninf, AD_AXES(1), true), AD_SHAPE(2, 1), TH_V(-INFINITY, -INFINITY), 0, 0);
    /* +inf wins, NaN propagates */
    th_expect(ad_logsumexp(ad_from_array(ctx, AD_SHAPE(2), TH_V(1, INFINITY)), AD_ALL, false), AD_SCALAR,
              TH_V(INFINITY), 0, 0);
    th_expect(ad_logsumexp(ad_from_array(ctx, AD_SHAPE(2), TH_V(1, NAN)), AD_ALL, false), AD_SCALAR, TH_V(NAN), 0,
              0);
    /* the gradient of an all -inf group is 0, not NaN */
    ad_tensor *z = ad_full(ctx, AD_SHAPE(3), -INFINITY);
    ad_requires_grad_(z, true);
    cr_assert_eq(ad_backward(ad_logsumexp(z, AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(z), AD_SHAPE(3), TH_V(0, 0, 0), 0, 0);
}

Test(reduce, softmax_values, .description = "softmax and log_softmax: values, rows sum to 1, large inputs")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(4), TH_V(1.5, -0.25, 2.0, 4.75));
    th_expect(ad_softmax(x, 0), AD_SHAPE(4),
              TH_V(0.034949350367051185, 0.006073286434313747, 0.057621737347308626, 0.9013556258513263), 0, 1e-14);
    th_expect(ad_log_softmax(x, -1), AD_SHAPE(4),
              TH_V(-3.353855397970026, -5.103855397970026, -2.853855397970026, -0.10385539797002608), 0, 1e-14);
    /* shifting by a constant changes nothing, even by 1000 (exp would overflow) */
    th_expect(ad_softmax(ad_add_s(x, 1000), 0), AD_SHAPE(4),
              TH_V(0.034949350367051185, 0.006073286434313747, 0.057621737347308626, 0.9013556258513263), 0, 1e-12);
    th_expect(ad_log_softmax(ad_sub_s(x, 1000), 0), AD_SHAPE(4),
              TH_V(-3.353855397970026, -5.103855397970026, -2.853855397970026, -0.10385539797002608), 0, 1e-12);
    ad_tensor *A = th_vals(AD_SHAPE(3, 5), 0.2, 3);
    th_expect(ad_sum(ad_softmax(A, 1), AD_AXES(1), false), AD_SHAPE(3), TH_V(1, 1, 1), 1e-15, 0);
    th_expect(ad_sum(ad_softmax(A, 0), AD_AXES(0), false), AD_SHAPE(5), TH_V(1, 1, 1, 1, 1), 1e-15, 0);
    /* log_softmax = log(softmax) */
    ad_tensor *d = ad_sub(ad_log_softmax(A, 0), ad_log(ad_softmax(A, 0)));
    th_expect(ad_max(ad_abs(d), AD_ALL, false), AD_SCALAR, TH_V(0), 1e-14, 0);
}

/* ---- accuracy of sums --------------------------------------------------------------- */

/* The exact sum of n copies of fl(0.1) = 0.1000000000000000055511151231257827
 * is 100000.0000000000055511..., which rounds to 100000 exactly. */
Test(reduce, pairwise_sum_accuracy, .description = "1e6 copies of 0.1 sum to 1e5 within a few ulp (naive: ~1e-6)")
{
    const int64_t n = 1000000;
    double naive = 0;
    for (int64_t i = 0; i < n; i++) naive += 0.1;
    const double ulp = 1e5 * DBL_EPSILON; /* > one ulp of 1e5 */
    cr_assert_gt(fabs(naive - 1e5), 1e4 * ulp, "the naive sum should be visibly off (%.17g)", naive);

    ad_tensor *v = ad_full(ctx, AD_SHAPE(n), 0.1);
    double s = ad_item(ad_sum_all(v));
    cr_assert_leq(fabs(s - 1e5), 4 * ulp, "pairwise sum %.17g, error %g", s, s - 1e5);
    cr_assert_leq(fabs(ad_item(ad_mean_all(v)) - 0.1), 4 * DBL_EPSILON * 0.1);

    /* the reduced axis outside the run (rows of a [n/2, 2] matrix): compensated across runs */
    ad_tensor *M = ad_full(ctx, AD_SHAPE(n / 2, 2), 0.1);
    ad_tensor *cols = ad_sum(M, AD_AXES(0), false);
    cr_assert_leq(fabs(ad_at(cols, 0) - 5e4), 4 * ulp, "column sum %.17g", ad_at(cols, 0));
    cr_assert_leq(fabs(ad_at(cols, 1) - 5e4), 4 * ulp, "column sum %.17g", ad_at(cols, 1));

    /* all axes of a transposed view: two-level iteration */
    ad_tensor *T = ad_T(ad_full(ctx, AD_SHAPE(1000, 1000), 0.1));
    double st = ad_item(ad_sum_all(T));
    cr_assert_leq(fabs(st - 1e5), 4 * ulp, "sum of a transposed view %.17g", st);
}

Test(reduce, sum_keeps_infinities, .description = "an infinite sum stays infinite (the compensation is not added)")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3, 2), TH_V(1, 2, INFINITY, 3, 4, -INFINITY));
    th_expect(ad_sum(x, AD_AXES(0), false), AD_SHAPE(2), TH_V(INFINITY, -INFINITY), 0, 0);
    ad_tensor *y = ad_from_array(ctx, AD_SHAPE(2, 2), TH_V(INFINITY, 1, -INFINITY, 1));
    th_expect(ad_sum(y, AD_AXES(0), false), AD_SHAPE(2), TH_V(NAN, 2), 0, 0);
}

/* ---- derivative rules --------------------------------------------------------------- */

typedef enum { OP_SUM, OP_MEAN, OP_PROD, OP_MAX, OP_MIN, OP_VAR, OP_STD, OP_LSE, OP_CUMSUM, OP_CUMPROD, OP_SOFTMAX,
               OP_LOGSOFTMAX } opk;

typedef struct {
    opk op;
    ad_axes axes;
    bool keep;
    double corr;
    int axis;
    bool wrap;      /* sin(op(x)): the adjoint then depends on x (second order through the rule) */
    bool transpose; /* op applied to a transposed view */
} cfg;

static ad_tensor *f_reduction(ad_tensor *const *in, void *ud)
{
    const cfg *c = ud;
    ad_tensor *x = c->transpose ? ad_transpose(in[0], 0, -1) : in[0];
    ad_tensor *y = NULL;
    switch (c->op) {
    case OP_SUM: y = ad_sum(x, c->axes, c->keep); break;
    case OP_MEAN: y = ad_mean(x, c->axes, c->keep); break;
    case OP_PROD: y = ad_prod(x, c->axes, c->keep); break;
    case OP_MAX: y = ad_max(x, c->axes, c->keep); break;
    case OP_MIN: y = ad_min(x, c->axes, c->keep); break;
    case OP_VAR: y = ad_var(x, c->axes, c->corr, c->keep); break;
    case OP_STD: y = ad_std(x, c->axes, c->corr, c->keep); break;
    case OP_LSE: y = ad_logsumexp(x, c->axes, c->keep); break;
    case OP_CUMSUM: y = ad_cumsum(x, c->axis); break;
    case OP_CUMPROD: y = ad_cumprod(x, c->axis); break;
    case OP_SOFTMAX: y = ad_softmax(x, c->axis); break;
    case OP_LOGSOFTMAX: y = ad_log_softmax(x, c->axis); break;
    }
    return c->wrap ? ad_sin(y) : y;
}

static const char *const OP_NAMES[] = {"sum",     "mean",   "prod",   "max",     "min",     "var",
                                       "std",     "logsumexp", "cumsum", "cumprod", "softmax", "log_softmax"};

/* "sin(var(x.T, axes (0,2), correction 1, keepdims))": the configuration,
 * for failure messages. */
static void describe(const cfg *c, char *buf, size_t n)
{
    char where[64] = "", *w = where;
    if (c->op >= OP_CUMSUM) {
        snprintf(where, sizeof where, "axis %d", c->axis);
    } else if (c->axes.n < 0) {
        snprintf(where, sizeof where, "all axes");
    } else {
        w += sprintf(w, "axes (");
        for (int i = 0; i < c->axes.n; i++) w += sprintf(w, "%s%d", i ? "," : "", c->axes.axis[i]);
        sprintf(w, ")");
    }
    char corr[32] = "";
    if (c->op == OP_VAR || c->op == OP_STD) snprintf(corr, sizeof corr, ", correction %g", c->corr);
    snprintf(buf, n, "%s%s(x%s, %s%s%s)%s", c->wrap ? "sin(" : "", OP_NAMES[c->op], c->transpose ? ".T" : "", where,
             corr, c->keep ? ", keepdims" : "", c->wrap ? ")" : "");
}

/* One configuration per test (Criterion copies the cfg, plain data, into
 * the test's process), so a failing one names itself and hides no other. */
static void check_cfg(const cfg *c, ad_tensor *x, bool second)
{
    char what[128];
    describe(c, what, sizeof what);
    ad_tensor *in[1] = {x};
    th_check_rules_impl(f_reduction, (void *)c, 1, in, 1e-6, second, what, __FILE__, __LINE__);
}

/* Values in [0.3, 1.5], all distinct (no ties, no zeros). */
static ad_tensor *x234(void) { return th_vals(AD_SHAPE(2, 3, 4), 0.9, 0.6); }

static cfg RULES_SUM_MEAN[] = {
    {.op = OP_SUM, .axes = AD_AXES(1)},
    {.op = OP_SUM, .axes = AD_AXES(1), .keep = true, .wrap = true},
    {.op = OP_SUM, .axes = AD_AXES(0, 2), .wrap = true},
    {.op = OP_SUM, .axes = AD_AXES(-1), .keep = true},
    {.op = OP_SUM, .axes = AD_AXES(-3, -2), .wrap = true, .transpose = true},
    {.op = OP_SUM, .axes = AD_ALL, .wrap = true},
    {.op = OP_SUM, .axes = AD_ALL, .keep = true},
    {.op = OP_MEAN, .axes = AD_AXES(2)},
    {.op = OP_MEAN, .axes = AD_AXES(0, 1), .keep = true, .wrap = true},
    {.op = OP_MEAN, .axes = AD_AXES(-2), .wrap = true, .transpose = true},
    {.op = OP_MEAN, .axes = AD_ALL, .wrap = true},
};

ParameterizedTestParameters(reduce, rules_sum_mean)
{
    return cr_make_param_array(cfg, RULES_SUM_MEAN, TH_NELEMS(RULES_SUM_MEAN));
}

ParameterizedTest(cfg *c, reduce, rules_sum_mean,
                  .description = "sum and mean: JVP, VJP, transpose identity, HVP over axis configurations")
{
    ad_tensor *x = x234();
    check_cfg(c, x, true);
}

static cfg RULES_PROD[] = {
    {.op = OP_PROD, .axes = AD_AXES(1)},
    {.op = OP_PROD, .axes = AD_AXES(0, 2), .keep = true, .wrap = true},
    {.op = OP_PROD, .axes = AD_AXES(-1), .wrap = true, .transpose = true},
    {.op = OP_PROD, .axes = AD_ALL, .wrap = true},
};

ParameterizedTestParameters(reduce, rules_prod)
{
    return cr_make_param_array(cfg, RULES_PROD, TH_NELEMS(RULES_PROD));
}

ParameterizedTest(cfg *c, reduce, rules_prod,
                  .description = "prod: rules over axis configurations (no zeros: second order too)")
{
    ad_tensor *x = x234();
    check_cfg(c, x, true);
}

static cfg RULES_PROD_WITH_ZEROS[] = {
    {.op = OP_PROD, .axes = AD_AXES(1)},
    {.op = OP_PROD, .axes = AD_AXES(0), .keep = true, .wrap = true},
    {.op = OP_PROD, .axes = AD_ALL},
};

ParameterizedTestParameters(reduce, rules_prod_with_zeros)
{
    return cr_make_param_array(cfg, RULES_PROD_WITH_ZEROS, TH_NELEMS(RULES_PROD_WITH_ZEROS));
}

ParameterizedTest(cfg *c, reduce, rules_prod_with_zeros,
                  .description = "prod with one zero per group: first-order rules exact")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3, 3), TH_V(1.3, 0, -0.7, 0.9, 1.1, 2.1, 0, 1.7, 0));
    check_cfg(c, x, false);
}

static cfg RULES_MAX_MIN[] = {
    {.op = OP_MAX, .axes = AD_AXES(2)},
    {.op = OP_MAX, .axes = AD_AXES(0, 1), .keep = true, .wrap = true},
    {.op = OP_MAX, .axes = AD_AXES(-2), .wrap = true, .transpose = true},
    {.op = OP_MAX, .axes = AD_ALL, .wrap = true},
    {.op = OP_MIN, .axes = AD_AXES(0)},
    {.op = OP_MIN, .axes = AD_AXES(1, 2), .keep = true, .wrap = true},
    {.op = OP_MIN, .axes = AD_ALL, .wrap = true, .transpose = true},
};

ParameterizedTestParameters(reduce, rules_max_min)
{
    return cr_make_param_array(cfg, RULES_MAX_MIN, TH_NELEMS(RULES_MAX_MIN));
}

ParameterizedTest(cfg *c, reduce, rules_max_min,
                  .description = "max/min away from ties: rules over axis configurations")
{
    ad_tensor *x = x234();
    check_cfg(c, x, true);
}

static cfg RULES_VAR_STD[] = {
    {.op = OP_VAR, .axes = AD_AXES(1), .corr = 1},
    {.op = OP_VAR, .axes = AD_AXES(0, 2), .corr = 0, .keep = true, .wrap = true},
    {.op = OP_VAR, .axes = AD_AXES(-1), .corr = 1.5, .wrap = true, .transpose = true},
    {.op = OP_VAR, .axes = AD_ALL, .corr = 1, .wrap = true},
    {.op = OP_STD, .axes = AD_AXES(2), .corr = 1},
    {.op = OP_STD, .axes = AD_ALL, .corr = 0, .keep = true, .wrap = true},
};

ParameterizedTestParameters(reduce, rules_var_std)
{
    return cr_make_param_array(cfg, RULES_VAR_STD, TH_NELEMS(RULES_VAR_STD));
}

ParameterizedTest(cfg *c, reduce, rules_var_std,
                  .description = "var (corrections 0, 1, 1.5) and std: rules incl. second order")
{
    ad_tensor *x = x234();
    check_cfg(c, x, true);
}

static cfg RULES_LOGSUMEXP[] = {
    {.op = OP_LSE, .axes = AD_AXES(1)},
    {.op = OP_LSE, .axes = AD_AXES(0, 2), .keep = true, .wrap = true},
    {.op = OP_LSE, .axes = AD_AXES(-1), .keep = true, .wrap = true, .transpose = true},
    {.op = OP_LSE, .axes = AD_ALL, .wrap = true},
};

ParameterizedTestParameters(reduce, rules_logsumexp)
{
    return cr_make_param_array(cfg, RULES_LOGSUMEXP, TH_NELEMS(RULES_LOGSUMEXP));
}

ParameterizedTest(cfg *c, reduce, rules_logsumexp,
                  .description = "logsumexp: rules over axis configurations")
{
    ad_tensor *x = th_vals(AD_SHAPE(2, 3, 4), 0.1, 2.5);
    check_cfg(c, x, true);
}

static cfg RULES_CUMSUM_CUMPROD[] = {
    {.op = OP_CUMSUM, .axis = 0},
    {.op = OP_CUMSUM, .axis = 1, .wrap = true},
    {.op = OP_CUMSUM, .axis = -1, .wrap = true, .transpose = true},
    {.op = OP_CUMPROD, .axis = 0, .wrap = true},
    {.op = OP_CUMPROD, .axis = 2},
    {.op = OP_CUMPROD, .axis = -2, .wrap = true, .transpose = true},
};

ParameterizedTestParameters(reduce, rules_cumsum_cumprod)
{
    return cr_make_param_array(cfg, RULES_CUMSUM_CUMPROD, TH_NELEMS(RULES_CUMSUM_CUMPROD));
}

ParameterizedTest(cfg *c, reduce, rules_cumsum_cumprod,
                  .description = "cumsum and cumprod (no zeros): rules along every axis")
{
    ad_tensor *x = x234();
    check_cfg(c, x, true);
}

static cfg RULES_CUMPROD_WITH_ZEROS[] = {
    {.op = OP_CUMPROD, .axis = 1},
    {.op = OP_CUMPROD, .axis = 0, .wrap = true},
    {.op = OP_CUMPROD, .axis = 1, .wrap = true, .transpose = true},
};

ParameterizedTestParameters(reduce, rules_cumprod_with_zeros)
{
    return cr_make_param_array(cfg, RULES_CUMPROD_WITH_ZEROS, TH_NELEMS(RULES_CUMPROD_WITH_ZEROS));
}

ParameterizedTest(cfg *c, reduce, rules_cumprod_with_zeros,
                  .description = "cumprod with zeros (one or two per line): first-order rules exact")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3, 5),
                                 TH_V(1.3, 0, -0.7, 0.9, 1.1, 2.1, 0.8, 1.7, 0, 1.2, 0.6, 0, 1.4, 0, -1.9));
    check_cfg(c, x, false);
}

Test(reduce, cumprod_gradient_with_zeros, .description = "cumprod gradient at zeros, hand-derived")
{
    /* x = [2, 3, 0, 4, 5]: y = [2, 6, 0, 0, 0]; with ȳ = 1:
     * x̄_0 = 1 + x1 = 4, x̄_1 = x0 = 2, x̄_2 = x0x1(1 + x3 + x3x4) = 150, x̄_3 = x̄_4 = 0 */
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(5), TH_V(2, 3, 0, 4, 5));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_cumprod(x, 0);
    cr_assert_str_eq(ad_grad_fn_name(y), "CumprodBackward0");
    cr_assert_eq(ad_backward(y, ad_ones(ctx, AD_SHAPE(5)), 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(5), TH_V(4, 2, 150, 0, 0), 0, 0);
    /* two zeros: x = [2, 0, 3, 0, 5]: x̄ = [1, x0(1 + x2), 0, 0, 0] = [1, 8, 0, 0, 0] */
    ad_tensor *z = ad_from_array(ctx, AD_SHAPE(5), TH_V(2, 0, 3, 0, 5));
    ad_requires_grad_(z, true);
    cr_assert_eq(ad_backward(ad_cumprod(z, 0), ad_ones(ctx, AD_SHAPE(5)), 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(z), AD_SHAPE(5), TH_V(1, 8, 0, 0, 0), 0, 0);
}

static cfg RULES_SOFTMAX[] = {
    {.op = OP_SOFTMAX, .axis = 0},
    {.op = OP_SOFTMAX, .axis = 1, .wrap = true},
    {.op = OP_SOFTMAX, .axis = -1, .wrap = true, .transpose = true},
    {.op = OP_LOGSOFTMAX, .axis = 2},
    {.op = OP_LOGSOFTMAX, .axis = -3, .wrap = true},
    {.op = OP_LOGSOFTMAX, .axis = 1, .wrap = true, .transpose = true},
};

ParameterizedTestParameters(reduce, rules_softmax)
{
    return cr_make_param_array(cfg, RULES_SOFTMAX, TH_NELEMS(RULES_SOFTMAX));
}

ParameterizedTest(cfg *c, reduce, rules_softmax,
                  .description = "softmax and log_softmax: rules along every axis")
{
    ad_tensor *x = th_vals(AD_SHAPE(2, 3, 4), 0.1, 2.5);
    check_cfg(c, x, true);
}

Test(reduce, cumsum_backward_is_reverse_cumsum, .description = "the gradient of cumsum is the reverse running sum")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_cumsum(x, 0);
    cr_assert_str_eq(ad_grad_fn_name(y), "CumsumBackward0");
    cr_assert_eq(ad_backward(y, ad_from_array(ctx, AD_SHAPE(4), TH_V(1, 2, 3, 4)), 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(10, 9, 7, 4), 0, 0);
    /* along the outer axis of a matrix */
    ad_tensor *A = arange_shaped(6, AD_SHAPE(3, 2));
    ad_requires_grad_(A, true);
    ad_tensor *seed = ad_from_array(ctx, AD_SHAPE(3, 2), TH_V(1, 10, 2, 20, 3, 30));
    cr_assert_eq(ad_backward(ad_cumsum(A, 0), seed, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(A), AD_SHAPE(3, 2), TH_V(6, 60, 5, 50, 3, 30), 0, 0);
}

Test(reduce, grad_fn_names, .description = "reductions record the grad_fn names PyTorch users know")
{
    ad_tensor *x = x234();
    ad_requires_grad_(x, true);
    cr_assert_str_eq(ad_grad_fn_name(ad_sum(x, AD_AXES(1), false)), "SumBackward0");
    cr_assert_str_eq(ad_grad_fn_name(ad_sum_all(x)), "SumBackward0");
    cr_assert_str_eq(ad_grad_fn_name(ad_mean(x, AD_ALL, false)), "MeanBackward0");
    cr_assert_str_eq(ad_grad_fn_name(ad_var(x, AD_ALL, 1, false)), "VarBackward0");
    cr_assert_str_eq(ad_grad_fn_name(ad_std(x, AD_ALL, 1, false)), "StdBackward0");
    cr_assert_str_eq(ad_grad_fn_name(ad_logsumexp(x, AD_AXES(0), false)), "LogsumexpBackward0");
    cr_assert_str_eq(ad_grad_fn_name(ad_softmax(x, 0)), "SoftmaxBackward0");
    cr_assert_str_eq(ad_grad_fn_name(ad_log_softmax(x, 0)), "LogSoftmaxBackward0");
}

Test(reduce, forward_mode_width_3, .description = "vector forward mode: three tangents reduced at once")
{
    ad_tensor *x = th_vals(AD_SHAPE(2, 3), 0.5, 1);
    ad_tensor *V = th_vals(AD_SHAPE(3, 2, 3), -0.2, 2);
    cr_assert_eq(ad_fwd_begin(ctx, 3), AD_OK);
    cr_assert_eq(ad_set_tangent(x, V), AD_OK, "%s", ad_errmsg(ctx));
    ad_tensor *y = ad_sum(x, AD_AXES(0), false);
    ad_tensor *z = ad_cumsum(x, 1);
    ad_fwd_end(ctx);
    /* ẏ[r] = sum of V[r] over axis 0, for each direction r */
    double want[18];
    cr_assert_eq(ad_to_array(ad_sum(V, AD_AXES(1), false), want, 9), AD_OK);
    th_expect(ad_get_tangent(y), AD_SHAPE(3, 3), want, 1e-15, 0);
    cr_assert_eq(ad_to_array(ad_cumsum(V, 2), want, 18), AD_OK);
    th_expect(ad_get_tangent(z), AD_SHAPE(3, 2, 3), want, 1e-15, 0);
}

/* ---- errors ------------------------------------------------------------------------- */

Test(reduce, errors_axes, .description = "bad and repeated axes are AD_EAXIS errors naming the op and the axis")
{
    ad_tensor *A = arange_shaped(24, AD_SHAPE(2, 3, 4));
    EXPECT_ERR(ad_sum(A, AD_AXES(3), false), AD_EAXIS, "sum", "axis 3");
    EXPECT_ERR(ad_mean(A, AD_AXES(-4), true), AD_EAXIS, "mean", "axis -4");
    EXPECT_ERR(ad_prod(A, AD_AXES(1, -2), false), AD_EAXIS, "prod", "appears twice");
    EXPECT_ERR(ad_max(A, AD_AXES(0, 7), false), AD_EAXIS, "max", "axis 7");
    EXPECT_ERR(ad_min(A, AD_AXES(5), false), AD_EAXIS, "min", "axis 5");
    EXPECT_ERR(ad_var(A, AD_AXES(3), 1, false), AD_EAXIS, "var", "axis 3");
    EXPECT_ERR(ad_std(A, AD_AXES(2, 2), 1, false), AD_EAXIS, "std", "appears twice");
    EXPECT_ERR(ad_logsumexp(A, AD_AXES(-5), false), AD_EAXIS, "logsumexp", "axis -5");
    ad_axes many = {.n = 13};
    EXPECT_ERR(ad_sum(A, many, false), AD_EAXIS, "sum", "13 axes");
    EXPECT_ERR(ad_sum(ad_scalar(ctx, 1), AD_AXES(0), false), AD_EAXIS, "sum", "0-d");
    EXPECT_ERR(ad_argmax(A, 3, false), AD_EAXIS, "argmax", "axis 3");
    EXPECT_ERR(ad_argmin(A, -4, true), AD_EAXIS, "argmin", "axis -4");
    EXPECT_ERR(ad_cumsum(A, 3), AD_EAXIS, "cumsum", "axis 3");
    EXPECT_ERR(ad_cumprod(A, -4), AD_EAXIS, "cumprod", "axis -4");
    EXPECT_ERR(ad_softmax(A, 5), AD_EAXIS, "softmax", "axis 5");
    EXPECT_ERR(ad_log_softmax(A, -9), AD_EAXIS, "log_softmax", "axis -9");
}

Test(reduce, errors_empty, .description = "max/min/argmax over an empty axis are AD_ESHAPE errors naming the shape")
{
    ad_tensor *E = ad_zeros(ctx, AD_SHAPE(2, 0, 3));
    EXPECT_ERR(ad_max(E, AD_AXES(1), false), AD_ESHAPE, "max", "[2,0,3]", "axis 1");
    EXPECT_ERR(ad_min(E, AD_ALL, false), AD_ESHAPE, "min", "[2,0,3]");
    EXPECT_ERR(ad_argmax(E, 1, false), AD_ESHAPE, "argmax", "[2,0,3]", "axis 1");
    EXPECT_ERR(ad_argmin(E, -2, true), AD_ESHAPE, "argmin", "[2,0,3]");
    EXPECT_ERR(ad_argmax_all(E), AD_ESHAPE, "argmax_all", "[2,0,3]");
    EXPECT_ERR(ad_argmin_all(E), AD_ESHAPE, "argmin_all", "[2,0,3]");
}

Test(reduce, errors_correction, .description = "var/std reject a negative or non-finite correction")
{
    ad_tensor *x = x234();
    EXPECT_ERR(ad_var(x, AD_ALL, -1, false), AD_EINVAL, "var", "correction", "-1");
    EXPECT_ERR(ad_var(x, AD_ALL, NAN, false), AD_EINVAL, "var", "correction");
    EXPECT_ERR(ad_std(x, AD_AXES(1), INFINITY, true), AD_EINVAL, "std", "correction");
}

Test(reduce, null_arguments, .description = "NULL inputs give NULL (errors chain)")
{
    cr_assert_null(ad_sum(NULL, AD_ALL, false));
    cr_assert_null(ad_mean(NULL, AD_ALL, false));
    cr_assert_null(ad_prod(NULL, AD_ALL, false));
    cr_assert_null(ad_max(NULL, AD_ALL, false));
    cr_assert_null(ad_min(NULL, AD_ALL, false));
    cr_assert_null(ad_var(NULL, AD_ALL, 1, false));
    cr_assert_null(ad_std(NULL, AD_ALL, 1, false));
    cr_assert_null(ad_logsumexp(NULL, AD_ALL, false));
    cr_assert_null(ad_sum_all(NULL));
    cr_assert_null(ad_mean_all(NULL));
    cr_assert_null(ad_argmax(NULL, 0, false));
    cr_assert_null(ad_argmin(NULL, 0, false));
    cr_assert_null(ad_argmax_all(NULL));
    cr_assert_null(ad_argmin_all(NULL));
    cr_assert_null(ad_cumsum(NULL, 0));
    cr_assert_null(ad_cumprod(NULL, 0));
    cr_assert_null(ad_softmax(NULL, 0));
    cr_assert_null(ad_log_softmax(NULL, 0));
}
