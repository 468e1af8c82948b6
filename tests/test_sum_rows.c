/* tests/test_sum_rows.c — sums of the rows of a matrix (sum over axis 0,
 * sum_to undoing a broadcast over leading axes: a bias's gradient) run
 * contiguous rows through the two-lane compensated kernel (nadd_run in
 * src/ops/reduce.c).  It must give Neumaier's sum bit for bit, as the
 * strided loop does:
 *   - against a scalar Neumaier sum written here, on values of mixed
 *     magnitudes (both corrections taken), odd widths (the scalar tail),
 *     infinities and NaN;
 *   - against the strided loop on the same values (a column-strided view,
 *     where the kernel must not apply);
 *   - through backward: the gradient of a broadcast bias. */
#include <math.h>
#include <string.h>

#include "helpers.h"

TestSuite(sum_rows, .init = th_setup, .fini = th_teardown);

/* [b, h] values over 16 orders of magnitude, of both signs. */
static void fill(double *v, int64_t b, int64_t h)
{
    for (int64_t i = 0; i < b * h; i++) {
        double m = sin(2.385 * (double)i + 0.7);
        v[i] = m * pow(10.0, (double)((i * 7) % 17) - 8.0);
    }
}

/* Neumaier's sum of column j, as documented in reduce.c. */
static double neumaier_col(const double *v, int64_t b, int64_t h, int64_t j)
{
    double o = 0, c = 0;
    for (int64_t i = 0; i < b; i++) {
        double x = v[i * h + j], t = o + x;
        c += fabs(o) >= fabs(x) ? (o - t) + x : (x - t) + o;
        o = t;
    }
    return isfinite(o) ? o + c : o;
}

static void expect_same_bits(const double *got, const double *want, int64_t n, const char *what)
{
    for (int64_t j = 0; j < n; j++)
        cr_assert(memcmp(&got[j], &want[j], sizeof(double)) == 0 || (isnan(got[j]) && isnan(want[j])),
                  "%s: column %lld is %.17g, expected %.17g", what, (long long)j, got[j], want[j]);
}

static void check_rows(int64_t b, int64_t h)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(b, h));
    cr_assert(x, "%s", ad_errmsg(ctx));
    fill(ad_data(x), b, h);
    if (b * h > 5) { /* an infinity and a NaN in two columns */
        ad_data(x)[h + 1] = INFINITY;
        ad_data(x)[2 * h - 1] = NAN;
    }
    ad_tensor *y = ad_sum_to(x, AD_SHAPE(h));
    cr_assert(y, "%s", ad_errmsg(ctx));
    double want[64];
    for (int64_t j = 0; j < h; j++) want[j] = neumaier_col(ad_data(x), b, h, j);
    char what[64];
    snprintf(what, sizeof what, "sum_to [%lld,%lld]", (long long)b, (long long)h);
    expect_same_bits(ad_data(y), want, h, what);
}

Test(sum_rows, contiguous_rows_give_neumaier_bits, .description = "widths 1..9, 31, 64; mixed magnitudes")
{
    static const int64_t widths[] = {1, 2, 3, 4, 5, 7, 9, 31, 64};
    for (size_t k = 0; k < sizeof widths / sizeof *widths; k++) {
        check_rows(37, widths[k]);
        check_rows(2, widths[k]);
    }
}

Test(sum_rows, strided_rows_match_contiguous, .description = "a column-strided view takes the strided loop")
{
    int64_t b = 53, h = 13;
    ad_tensor *wide = ad_empty(ctx, AD_SHAPE(b, 2 * h));
    cr_assert(wide, "%s", ad_errmsg(ctx));
    double *w = ad_data(wide);
    double v[53 * 13];
    fill(v, b, h);
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < h; j++) {
            w[i * 2 * h + 2 * j] = v[i * h + j];
            w[i * 2 * h + 2 * j + 1] = 1e300; /* never summed */
        }
    ad_tensor *strided = ad_getitem(wide, ":, ::2");
    cr_assert(strided, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_stride(strided, 1), 2, "the view is column-strided");
    ad_tensor *dense = ad_contiguous(strided);
    ad_tensor *ys = ad_sum(strided, AD_AXES(0), false), *yd = ad_sum(dense, AD_AXES(0), false);
    cr_assert(ys && yd, "%s", ad_errmsg(ctx));
    expect_same_bits(ad_data(yd), ad_data(ys), h, "sum over axis 0, contiguous against strided");
}

Test(sum_rows, bias_gradient_through_backward, .description = "y = sum((X + b)·w): b's gradient is X's row sum of w")
{
    int64_t rows = 29, h = 11;
    ad_tensor *X = ad_empty(ctx, AD_SHAPE(rows, h)), *w = ad_empty(ctx, AD_SHAPE(rows, h));
    ad_tensor *bias = ad_zeros(ctx, AD_SHAPE(h));
    cr_assert(X && w && bias, "%s", ad_errmsg(ctx));
    fill(ad_data(X), rows, h);
    fill(ad_data(w), rows, h);
    ad_requires_grad_(bias, true);
    ad_tensor *y = ad_sum(ad_mul(ad_add(X, bias), w), AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[11];
    for (int64_t j = 0; j < h; j++) want[j] = neumaier_col(ad_data(w), rows, h, j);
    expect_same_bits(ad_data(ad_grad(bias)), want, h, "bias gradient");
}
