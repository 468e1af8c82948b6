/* tests/test_print.c — tensors print exactly as PyTorch prints them.
 *
 * Every expected string follows torch/_tensor_str.py by hand (widths,
 * modes, wrapping); they were cross-checked against a line-by-line Python
 * transcription of that file.  The reasoning is in each test's comment. */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

#include <criterion/redirect.h>

TestSuite(print, .init = th_setup, .fini = th_teardown);

static void expect_print_impl(ad_tensor *t, const ad_print_options *o, const char *want, const char *file, int line)
{
    cr_assert_not_null(t, "%s:%d: tensor is NULL: %s", file, line, ad_errmsg(ctx));
    static char buf[1 << 14];
    int64_t n = ad_snprint(buf, sizeof buf, t, o);
    cr_assert_geq(n, 0, "%s:%d: ad_snprint failed (%lld): %s", file, line, (long long)n, ad_errmsg(ctx));
    cr_assert_str_eq(buf, want, "%s:%d: printed\n%s\nexpected\n%s", file, line, buf, want);
    cr_assert_eq(n, (int64_t)strlen(want), "%s:%d: returned %lld for %zu characters", file, line, (long long)n,
                 strlen(want));
}
#define expect_print(t, o, want) expect_print_impl((t), (o), (want), __FILE__, __LINE__)

static ad_tensor *vec(int64_t n, const double *v) { return ad_from_array(ctx, AD_SHAPE(n), v); }
#define VEC(...) vec((int64_t)(sizeof(TH_V(__VA_ARGS__)) / sizeof(double)), TH_V(__VA_ARGS__))

/* ---- layout ------------------------------------------------------------ */

Test(print, d2l_matrix, .description = "arange(12).reshape(3, 4) prints as in D2L: integral values as '3.', width 3")
{
    /* int mode, widest "11" + "." = 3: every element right-aligned to 3 */
    ad_tensor *x = ad_reshape(ad_arange_n(ctx, 12), AD_SHAPE(3, 4));
    expect_print(x, NULL,
                 "tensor([[ 0.,  1.,  2.,  3.],\n"
                 "        [ 4.,  5.,  6.,  7.],\n"
                 "        [ 8.,  9., 10., 11.]])");
}

Test(print, vector, .description = "arange(4) is tensor([0., 1., 2., 3.])")
{
    expect_print(ad_arange_n(ctx, 4), NULL, "tensor([0., 1., 2., 3.])");
}

Test(print, three_dims_blank_line, .description = "a 2x3x4 tensor separates its 2-D blocks with a blank line")
{
    /* slices of a 3-D tensor are joined by "," + 2 newlines + 8 spaces;
     * rows inside a block are indented by 9 */
    ad_tensor *x = ad_reshape(ad_arange_n(ctx, 24), AD_SHAPE(2, 3, 4));
    expect_print(x, NULL,
                 "tensor([[[ 0.,  1.,  2.,  3.],\n"
                 "         [ 4.,  5.,  6.,  7.],\n"
                 "         [ 8.,  9., 10., 11.]],\n"
                 "\n"
                 "        [[12., 13., 14., 15.],\n"
                 "         [16., 17., 18., 19.],\n"
                 "         [20., 21., 22., 23.]]])");
}

Test(print, four_dims, .description = "a 4-D tensor separates its 3-D blocks with two blank lines")
{
    ad_tensor *x = ad_reshape(ad_arange_n(ctx, 4), AD_SHAPE(2, 1, 1, 2));
    expect_print(x, NULL, "tensor([[[[0., 1.]]],\n\n\n        [[[2., 3.]]]])");
}

Test(print, fractional, .description = "non-integral values use %.4f, right-aligned to the widest (signs included)")
{
    /* widest "-0.3059" = 7: positive values get one more leading space */
    expect_print(VEC(-0.3059, 1.4878, 0.2026, -0.7363), NULL, "tensor([-0.3059,  1.4878,  0.2026, -0.7363])");
    /* the D2L randn matrix */
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3, 4),
                                 TH_V(-0.3059, 1.4878, 0.2026, -0.7363, -1.2357, 0.8356, 1.3819, -1.3026, 1.4943,
                                      -0.8299, 1.2947, 1.3532));
    expect_print(x, NULL,
                 "tensor([[-0.3059,  1.4878,  0.2026, -0.7363],\n"
                 "        [-1.2357,  0.8356,  1.3819, -1.3026],\n"
                 "        [ 1.4943, -0.8299,  1.2947,  1.3532]])");
    /* rounding to 4 digits: 2/3 -> 0.6667, 1/8 -> 0.1250 */
    expect_print(VEC(2.0 / 3.0, 0.125), NULL, "tensor([0.6667, 0.1250])");
}

Test(print, scientific, .description = "scientific notation below 1e-4, above 1e8, or when magnitudes span > 1e3")
{
    /* not integral and min 1e-5 < 1e-4: "%.4e", width 10 */
    expect_print(VEC(1e-5, 1.0), NULL, "tensor([1.0000e-05, 1.0000e+00])");
    /* integral but above 1e8 */
    expect_print(VEC(1e9), NULL, "tensor([1.0000e+09])");
    expect_print(VEC(-2.5e12, 3.25), NULL, "tensor([-2.5000e+12,  3.2500e+00])");
    /* three-digit exponents, as Python writes them */
    expect_print(VEC(1e100, 1.0), NULL, "tensor([1.0000e+100,  1.0000e+00])");
    /* zeros stay out of the decision but are printed in the same mode */
    expect_print(VEC(0.0, 1e-7), NULL, "tensor([0.0000e+00, 1.0000e-07])");
}

Test(print, integers_spanning_1000, .description = "integral values switch to scientific when max/min > 1000, not at 1000")
{
    expect_print(VEC(1.0, 2000.0), NULL, "tensor([1.0000e+00, 2.0000e+03])");
    /* max/min == 1000 exactly: still int mode, width "1000." = 5 */
    expect_print(VEC(1.0, 1000.0), NULL, "tensor([   1., 1000.])");
    /* 1e8 itself is not "above 1e8" */
    expect_print(VEC(1e8), NULL, "tensor([100000000.])");
}

Test(print, nan_and_inf, .description = "nan, inf and -inf are spelled as Python spells them and padded like numbers")
{
    /* fixed mode from 1.5 (width 6); non-finite values do not set the width */
    expect_print(VEC(1.5, NAN, INFINITY, -INFINITY, 0.0), NULL, "tensor([1.5000,    nan,    inf,   -inf, 0.0000])");
    /* int mode: no "." after nan/inf; negative zero is "-0."; a NaN with its
     * sign bit set is still "nan" (C alone would write "-nan") */
    expect_print(VEC(copysign(NAN, -1.0), 2.0, -INFINITY, -0.0), NULL, "tensor([nan, 2., -inf, -0.])");
    /* nothing finite and nonzero: int mode with width 1 */
    expect_print(VEC(NAN, NAN), NULL, "tensor([nan, nan])");
    expect_print(ad_zeros(ctx, AD_SHAPE(3)), NULL, "tensor([0., 0., 0.])");
    /* scientific mode pads the non-finite values to the common width */
    expect_print(VEC(1e-6, NAN), NULL, "tensor([1.0000e-06,        nan])");
}

Test(print, zero_dim, .description = "0-d tensors: tensor(3.5000) and tensor(28.)")
{
    expect_print(ad_scalar(ctx, 3.5), NULL, "tensor(3.5000)");
    expect_print(ad_scalar(ctx, 28.0), NULL, "tensor(28.)");
    expect_print(ad_scalar(ctx, -0.0), NULL, "tensor(-0.)");
    expect_print(ad_scalar(ctx, 1.5e-9), NULL, "tensor(1.5000e-09)");
}

Test(print, empty, .description = "empty tensors print [] and, unless 1-D, their size")
{
    expect_print(ad_zeros(ctx, AD_SHAPE(0)), NULL, "tensor([])");
    expect_print(ad_zeros(ctx, AD_SHAPE(0, 3)), NULL, "tensor([], size=(0, 3))");
    expect_print(ad_zeros(ctx, AD_SHAPE(2, 0, 4)), NULL, "tensor([], size=(2, 0, 4))");
    ad_tensor *e = ad_zeros(ctx, AD_SHAPE(0, 3));
    cr_assert_eq(ad_requires_grad_(e, true), AD_OK);
    expect_print(e, NULL, "tensor([], size=(0, 3), requires_grad=True)");
}

/* ---- summarising and wrapping ------------------------------------------- */

Test(print, summarised_vector, .description = "2000 elements: 3 at each edge around '...', widths from those 6 only")
{
    /* shown values 0,1,2,1997,1998,1999: 1999/1 > 1000 -> scientific, width
     * 10, 12 per element -> floor(73 / 12) = 6 per line, " ..." counts as one */
    expect_print(ad_arange_n(ctx, 2000), NULL,
                 "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
                 "        1.9990e+03])");
    /* 1000..2999: 2999/1000 < 1000 -> int mode, width 5 */
    expect_print(ad_arange(ctx, 1000, 3000, 1), NULL, "tensor([1000., 1001., 1002.,  ..., 2997., 2998., 2999.])");
    /* a hidden 0.5 does not make the shown ones print as 1.0000 */
    ad_tensor *x = ad_ones(ctx, AD_SHAPE(2000));
    ad_data(x)[1000] = 0.5;
    expect_print(x, NULL, "tensor([1., 1., 1.,  ..., 1., 1., 1.])");
}

Test(print, summarised_matrix, .description = "a 50x50 matrix keeps 3 rows and 3 columns at each edge")
{
    /* 100 + arange(2500): shown values up to 2599 -> width 5; the hidden
     * middle (e.g. 1399) does not matter; rows joined by ",\n" + 8 spaces */
    ad_tensor *x = ad_reshape(ad_add_s(ad_arange_n(ctx, 2500), 100), AD_SHAPE(50, 50));
    expect_print(x, NULL,
                 "tensor([[ 100.,  101.,  102.,  ...,  147.,  148.,  149.],\n"
                 "        [ 150.,  151.,  152.,  ...,  197.,  198.,  199.],\n"
                 "        [ 200.,  201.,  202.,  ...,  247.,  248.,  249.],\n"
                 "        ...,\n"
                 "        [2450., 2451., 2452.,  ..., 2497., 2498., 2499.],\n"
                 "        [2500., 2501., 2502.,  ..., 2547., 2548., 2549.],\n"
                 "        [2550., 2551., 2552.,  ..., 2597., 2598., 2599.]])");
    /* a hidden 1e9 in the middle does not switch to scientific notation */
    ad_tensor *z = ad_ones(ctx, AD_SHAPE(50, 50));
    ad_data(z)[25 * 50 + 25] = 1e9;
    expect_print(z, NULL,
                 "tensor([[1., 1., 1.,  ..., 1., 1., 1.],\n"
                 "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
                 "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
                 "        ...,\n"
                 "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
                 "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
                 "        [1., 1., 1.,  ..., 1., 1., 1.]])");
    /* 400x3: only the long axis is cut */
    ad_tensor *y = ad_expand(ad_arange_n(ctx, 3), AD_SHAPE(400, 3));
    expect_print(y, NULL,
                 "tensor([[0., 1., 2.],\n"
                 "        [0., 1., 2.],\n"
                 "        [0., 1., 2.],\n"
                 "        ...,\n"
                 "        [0., 1., 2.],\n"
                 "        [0., 1., 2.],\n"
                 "        [0., 1., 2.]])");
}

Test(print, wraps_at_80_columns, .description = "long vectors wrap after floor((80 - 7) / (width + 2)) elements")
{
    /* width 3 -> 14 per line */
    expect_print(ad_arange_n(ctx, 30), NULL,
                 "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
                 "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
                 "        28., 29.])");
    /* all zeros: the width stays 1 although "0." has 2 characters, so torch
     * puts floor(73 / 3) = 24 on a line (103 columns); kept as torch does */
    expect_print(ad_zeros(ctx, AD_SHAPE(30)), NULL,
                 "tensor([0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., "
                 "0., 0.,\n"
                 "        0., 0., 0., 0., 0., 0.])");
    /* width 6 -> 9 per line */
    expect_print(ad_linspace(ctx, 0, 1, 20), NULL,
                 "tensor([0.0000, 0.0526, 0.1053, 0.1579, 0.2105, 0.2632, 0.3158, 0.3684, 0.4211,\n"
                 "        0.4737, 0.5263, 0.5789, 0.6316, 0.6842, 0.7368, 0.7895, 0.8421, 0.8947,\n"
                 "        0.9474, 1.0000])");
}

/* ---- views -------------------------------------------------------------- */

Test(print, transposed_view, .description = "a transposed view prints through its strides, without a copy")
{
    ad_tensor *x = ad_T(ad_reshape(ad_arange_n(ctx, 12), AD_SHAPE(3, 4)));
    cr_assert_not_null(x, "%s", ad_errmsg(ctx));
    cr_assert(!ad_is_contiguous(x));
    ad_mem_stats before, after;
    ad_ctx_mem_stats(ctx, &before);
    expect_print(x, NULL,
                 "tensor([[ 0.,  4.,  8.],\n"
                 "        [ 1.,  5.,  9.],\n"
                 "        [ 2.,  6., 10.],\n"
                 "        [ 3.,  7., 11.]])");
    ad_ctx_mem_stats(ctx, &after);
    cr_assert_eq(after.nalloc, before.nalloc, "printing allocated %lld times",
                 (long long)(after.nalloc - before.nalloc));
    cr_assert_eq(after.tensors, before.tensors);
}

Test(print, broadcast_view, .description = "an expanded view (stride 0) repeats its rows")
{
    ad_tensor *x = ad_expand(ad_arange_n(ctx, 3), AD_SHAPE(2, 3));
    cr_assert_not_null(x, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_stride(x, 0), 0);
    expect_print(x, NULL, "tensor([[0., 1., 2.],\n        [0., 1., 2.]])");
}

/* ---- autograd suffixes -------------------------------------------------- */

Test(print, requires_grad_leaf, .description = "a leaf that requires grad ends with ', requires_grad=True'")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    cr_assert_eq(ad_requires_grad_(x, true), AD_OK);
    expect_print(x, NULL, "tensor([0., 1., 2., 3.], requires_grad=True)");
    ad_tensor *s = ad_scalar(ctx, 3.5);
    cr_assert_eq(ad_requires_grad_(s, true), AD_OK);
    expect_print(s, NULL, "tensor(3.5000, requires_grad=True)");
}

Test(print, grad_fn, .description = "a result of a recorded op ends with ', grad_fn=<MulBackward0>'")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    expect_print(ad_mul_s(x, 2), NULL, "tensor([0., 2., 4., 6.], grad_fn=<MulBackward0>)");
    ad_tensor *s = ad_scalar(ctx, 14);
    ad_requires_grad_(s, true);
    expect_print(ad_mul_s(s, 2), NULL, "tensor(28., grad_fn=<MulBackward0>)");
    /* with grad mode off nothing is recorded: no suffix */
    bool prev = ad_set_grad_enabled(ctx, false);
    expect_print(ad_mul_s(x, 2), NULL, "tensor([0., 2., 4., 6.])");
    ad_set_grad_enabled(ctx, prev);
    /* a detached tensor is a plain constant */
    expect_print(ad_detach(ad_mul_s(x, 2)), NULL, "tensor([0., 2., 4., 6.])");
}

Test(print, after_backward, .description = "after backward the result keeps its grad_fn and the leaf's grad is a plain tensor")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul_s(x, 2);
    cr_assert_eq(ad_backward(y, ad_ones(ctx, AD_SHAPE(4)), 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_print(y, NULL, "tensor([0., 2., 4., 6.], grad_fn=<MulBackward0>)");
    expect_print(ad_grad(x), NULL, "tensor([2., 2., 2., 2.])");
}

Test(print, suffix_wraps, .description = "a suffix that would pass 80 columns goes on its own line, indented 7")
{
    /* the last line is 77 characters; torch counts it as 79, and
     * 79 + 18 + 2 > 80 */
    ad_tensor *x = ad_arange_n(ctx, 14);
    ad_requires_grad_(x, true);
    expect_print(x, NULL,
                 "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.],\n"
                 "       requires_grad=True)");
    /* torch's margin of 2: the line "tensor([1., ..., 4.]" has 59 characters,
     * 59 + 2 + 18 + 2 = 81 > 80 wraps although the text would end at col 79;
     * with one element fewer (55 characters) the suffix stays on the line */
    ad_tensor *d = VEC(1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4);
    ad_requires_grad_(d, true);
    expect_print(d, NULL,
                 "tensor([1., 2., 3., 4., 5., 6., 7., 8., 9., 1., 2., 3., 4.],\n"
                 "       requires_grad=True)");
    ad_tensor *e = VEC(1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3);
    ad_requires_grad_(e, true);
    expect_print(e, NULL, "tensor([1., 2., 3., 4., 5., 6., 7., 8., 9., 1., 2., 3.], requires_grad=True)");
    /* only the last line counts: 30 elements wrap, the suffix fits after "28., 29.]" */
    ad_tensor *y = ad_arange_n(ctx, 30);
    ad_requires_grad_(y, true);
    expect_print(ad_mul_s(y, 1), NULL,
                 "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
                 "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
                 "        28., 29.], grad_fn=<MulBackward0>)");
}

/* ---- options ------------------------------------------------------------- */

Test(print, defaults, .description = "the defaults are torch's: precision 4, threshold 1000, 3 edge items, 80 columns")
{
    ad_print_options o = ad_print_defaults();
    cr_assert_eq(o.precision, 4);
    cr_assert_eq(o.threshold, 1000);
    cr_assert_eq(o.edgeitems, 3);
    cr_assert_eq(o.linewidth, 80);
    cr_assert_eq(o.sci_mode, -1);
    /* 1000 elements are not summarised, 1001 are */
    char buf[16];
    cr_assert_gt(ad_snprint(buf, sizeof buf, ad_arange_n(ctx, 1000), NULL), 1000 * 5);
    cr_assert_lt(ad_snprint(buf, sizeof buf, ad_arange_n(ctx, 1001), NULL), 80);
}

Test(print, sci_mode_option, .description = "sci_mode 1 forces and 0 forbids scientific notation; widths stay automatic")
{
    ad_print_options o = ad_print_defaults();
    o.sci_mode = 1;
    expect_print(ad_arange_n(ctx, 4), &o, "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00, 3.0000e+00])");
    /* torch keeps the width measured in scientific notation (10) */
    o.sci_mode = 0;
    expect_print(VEC(1e-5, 1.0), &o, "tensor([    0.0000,     1.0000])");
}

Test(print, precision_threshold_edgeitems_linewidth, .description = "the other options change digits, summary and wrapping")
{
    ad_print_options o = ad_print_defaults();
    o.precision = 2;
    expect_print(VEC(1.12345, -2.5), &o, "tensor([ 1.12, -2.50])");
    o = ad_print_defaults();
    o.threshold = 5;
    o.edgeitems = 2;
    expect_print(ad_arange_n(ctx, 10), &o, "tensor([0., 1.,  ..., 8., 9.])");
    o = ad_print_defaults();
    o.linewidth = 20; /* floor((20 - 7) / 4) = 3 per line */
    ad_tensor *x = ad_arange_n(ctx, 10);
    ad_requires_grad_(x, true);
    expect_print(x, &o,
                 "tensor([0., 1., 2.,\n"
                 "        3., 4., 5.,\n"
                 "        6., 7., 8.,\n"
                 "        9.],\n"
                 "       requires_grad=True)");
}

/* ---- the snprintf contract and streams ------------------------------------ */

Test(print, snprint_contract, .description = "ad_snprint measures with (NULL, 0), truncates, always NUL-terminates")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    const char *full = "tensor([0., 1., 2., 3.])";
    const int64_t len = (int64_t)strlen(full);
    cr_assert_eq(ad_snprint(NULL, 0, x, NULL), len);

    char buf[64];
    memset(buf, '#', sizeof buf);
    cr_assert_eq(ad_snprint(buf, 0, x, NULL), len);
    cr_assert_eq(buf[0], '#', "n = 0 must not write");

    cr_assert_eq(ad_snprint(buf, 1, x, NULL), len);
    cr_assert_eq(buf[0], '\0');
    cr_assert_eq(buf[1], '#');

    memset(buf, '#', sizeof buf);
    cr_assert_eq(ad_snprint(buf, 10, x, NULL), len);
    cr_assert_str_eq(buf, "tensor([0");
    cr_assert_eq(buf[10], '#', "wrote past n");

    memset(buf, '#', sizeof buf);
    cr_assert_eq(ad_snprint(buf, (size_t)len, x, NULL), len); /* one short */
    cr_assert_eq(strlen(buf), (size_t)len - 1);
    cr_assert_eq(strncmp(buf, full, (size_t)len - 1), 0);

    memset(buf, '#', sizeof buf);
    cr_assert_eq(ad_snprint(buf, (size_t)len + 1, x, NULL), len); /* exactly enough */
    cr_assert_str_eq(buf, full);
    cr_assert_eq(buf[len + 1], '#');
}

Test(print, fprint_tmpfile, .description = "ad_fprint writes the same text and a newline to a stream")
{
    ad_tensor *x = ad_reshape(ad_arange_n(ctx, 12), AD_SHAPE(3, 4));
    char want[256];
    int64_t n = ad_snprint(want, sizeof want, x, NULL);
    cr_assert_gt(n, 0);
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    cr_assert_eq(ad_fprint(f, x, NULL), AD_OK);
    cr_assert_eq(ad_fprint(f, ad_scalar(ctx, 28), NULL), AD_OK);
    rewind(f);
    char got[512];
    size_t k = fread(got, 1, sizeof got - 1, f);
    got[k] = '\0';
    fclose(f);
    char expect[512];
    snprintf(expect, sizeof expect, "%s\ntensor(28.)\n", want);
    cr_assert_str_eq(got, expect);
}

/* (Criterion runs the suite's init and fini around the test's own.) */
Test(print, print_to_stdout, .init = cr_redirect_stdout,
     .description = "ad_print writes to stdout, the header's first example")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_print(ad_mul_s(x, 2)), AD_OK);
    cr_assert_eq(ad_print(x), AD_OK);
    fflush(stdout);
    cr_assert_stdout_eq_str("tensor([0., 2., 4., 6.], grad_fn=<MulBackward0>)\n"
                            "tensor([0., 1., 2., 3.], requires_grad=True)\n");
}

/* ---- errors -------------------------------------------------------------- */

Test(print, errors, .description = "bad arguments return a negative status and name the offending option")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    char buf[32];
    memset(buf, '#', sizeof buf);
    cr_assert_eq(ad_snprint(buf, sizeof buf, NULL, NULL), AD_EINVAL);
    cr_assert_eq(buf[0], '\0', "buffer left unterminated on error");
    cr_assert_eq(ad_fprint(stderr, NULL, NULL), AD_EINVAL);

    ad_print_options o = ad_print_defaults();
    o.precision = -1;
    memset(buf, '#', sizeof buf);
    cr_assert_eq(ad_snprint(buf, sizeof buf, x, &o), AD_EINVAL);
    cr_assert_eq(buf[0], '\0');
    cr_assert(strstr(ad_errmsg(ctx), "precision -1"), "%s", ad_errmsg(ctx));
    o.precision = 101;
    cr_assert_eq(ad_snprint(NULL, 0, x, &o), AD_EINVAL);
    cr_assert(strstr(ad_errmsg(ctx), "precision 101"), "%s", ad_errmsg(ctx));

    o = ad_print_defaults();
    o.edgeitems = 0;
    cr_assert_eq(ad_snprint(NULL, 0, x, &o), AD_EINVAL);
    cr_assert(strstr(ad_errmsg(ctx), "edgeitems") && strstr(ad_errmsg(ctx), "got 0"), "%s", ad_errmsg(ctx));

    o = ad_print_defaults();
    o.sci_mode = 2;
    cr_assert_eq(ad_snprint(NULL, 0, x, &o), AD_EINVAL);
    cr_assert(strstr(ad_errmsg(ctx), "sci_mode") && strstr(ad_errmsg(ctx), "got 2"), "%s", ad_errmsg(ctx));

    cr_assert_eq(ad_snprint(NULL, 8, x, NULL), AD_EINVAL);
    cr_assert(strstr(ad_errmsg(ctx), "buffer is NULL") && strstr(ad_errmsg(ctx), "8"), "%s", ad_errmsg(ctx));

    cr_assert_eq(ad_fprint(NULL, x, NULL), AD_EINVAL);
    cr_assert(strstr(ad_errmsg(ctx), "stream is NULL"), "%s", ad_errmsg(ctx));

    /* an invalid option writes nothing to the stream */
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    o.sci_mode = -2;
    cr_assert_eq(ad_fprint(f, x, &o), AD_EINVAL);
    cr_assert_eq(ftell(f), 0L);
    fclose(f);
}

Test(print, write_error, .description = "a stream that cannot be written reports AD_EIO")
{
    FILE *f = fopen("/dev/null", "r"); /* read-only: every write fails */
    cr_assert_not_null(f);
    ad_clear_error(ctx);
    cr_assert_eq(ad_fprint(f, ad_arange_n(ctx, 4), NULL), AD_EIO);
    fclose(f);
    cr_assert_eq(ad_errno(ctx), AD_EIO);
    cr_assert(strstr(ad_errmsg(ctx), "stream"), "%s", ad_errmsg(ctx));
}
