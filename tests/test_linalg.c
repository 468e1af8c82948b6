/* tests/test_linalg.c — products and norms: dot, mv, mm, matmul (batched,
 * broadcast), outer, cross, trace, norm, norm_fro.  Values against the
 * D2L examples and hand-computed products, views passed to BLAS without
 * copies, derivative rules of every op, subgradient conventions, errors. */
#include <string.h>

#include "helpers.h" /* before parameterized.h: criterion.h must come first */
#include <criterion/parameterized.h>

TestSuite(linalg, .init = th_setup, .fini = th_teardown);

static ad_tensor *arr(ad_shape s, const double *v) { return ad_from_array(ctx, s, v); }

static ad_tensor *arange_shape(int64_t n, ad_shape s) { return ad_reshape(ad_arange_n(ctx, n), s); }

static int64_t live_values(void)
{
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    return m.live[AD_MEM_VALUES];
}

static int64_t peak_values(void)
{
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    return m.peak[AD_MEM_VALUES];
}

/* the call failed with `status` and a message containing each of the words */
static void expect_error(ad_tensor *r, int status, const char *w1, const char *w2, const char *w3)
{
    cr_expect_null(r, "expected an error");
    cr_expect_eq(ad_errno(ctx), status, "status %d, expected %d (%s)", ad_errno(ctx), status, ad_errmsg(ctx));
    const char *w[3] = {w1, w2, w3};
    for (int i = 0; i < 3; i++)
        if (w[i]) cr_expect(strstr(ad_errmsg(ctx), w[i]), "message \"%s\" does not mention \"%s\"", ad_errmsg(ctx), w[i]);
    ad_clear_error(ctx);
}

/* ---- BLAS --------------------------------------------------------------------------- */

Test(linalg, blas_name, .description = "ad_blas_name() names the CBLAS the build linked")
{
    const char *n = ad_blas_name();
    cr_assert_not_null(n);
    cr_expect(strstr(n, "OpenBLAS") || strstr(n, "GSL CBLAS"), "unexpected BLAS name \"%s\"", n);
}

/* ---- dot ------------------------------------------------------------------------------ */

Test(linalg, dot_values, .description = "torch.dot(x, y) = sum(x * y)")
{
    ad_tensor *x = arr(AD_SHAPE(3), TH_V(1, 2, 3)), *y = arr(AD_SHAPE(3), TH_V(4, 5, 6));
    th_expect(ad_dot(x, y), AD_SCALAR, TH_V(32), 0, 0);
    ad_tensor *e = ad_zeros(ctx, AD_SHAPE(0));
    th_expect(ad_dot(e, e), AD_SCALAR, TH_V(0), 0, 0);
    /* a broadcast (stride-0) operand is copied for BLAS */
    ad_tensor *twos = ad_expand(ad_full(ctx, AD_SHAPE(1), 2), AD_SHAPE(3));
    th_expect(ad_dot(x, twos), AD_SCALAR, TH_V(12), 0, 0);
}

Test(linalg, d2l_dot_gradient, .description = "x = arange(4); y = 2 * dot(x, x); y.backward(); x.grad == 4 * x")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul_s(ad_dot(x, x), 2);
    th_expect(y, AD_SCALAR, TH_V(28), 0, 0);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(0, 4, 8, 12), 0, 0);
}

/* ---- mv / mm / matmul ---------------------------------------------------------------- */

Test(linalg, mv_values, .description = "A = arange(20).reshape(5, 4); x = arange(4); torch.mv(A, x)")
{
    ad_tensor *A = arange_shape(20, AD_SHAPE(5, 4)), *x = ad_arange_n(ctx, 4);
    th_expect(ad_mv(A, x), AD_SHAPE(5), TH_V(14, 38, 62, 86, 110), 0, 0);
    th_expect(ad_matmul(A, x), AD_SHAPE(5), TH_V(14, 38, 62, 86, 110), 0, 0);
}

Test(linalg, mm_values, .description = "A = arange(20).reshape(5, 4); B = ones(4, 3); torch.mm(A, B)")
{
    ad_tensor *A = arange_shape(20, AD_SHAPE(5, 4)), *B = ad_ones(ctx, AD_SHAPE(4, 3));
    th_expect(ad_mm(A, B), AD_SHAPE(5, 3), TH_V(6, 6, 6, 22, 22, 22, 38, 38, 38, 54, 54, 54, 70, 70, 70), 0, 0);
    /* [2,3]·[3,2] by hand: rows (1,2,3), (4,5,6) and columns (7,9,11), (8,10,12) */
    ad_tensor *P = arr(AD_SHAPE(2, 3), TH_V(1, 2, 3, 4, 5, 6)), *Q = arr(AD_SHAPE(3, 2), TH_V(7, 8, 9, 10, 11, 12));
    th_expect(ad_mm(P, Q), AD_SHAPE(2, 2), TH_V(58, 64, 139, 154), 0, 0);
}

Test(linalg, d2l_matmul, .description = "A = arange(16).reshape(4, 4); C = 3 * A; torch.matmul(A, C)")
{
    ad_tensor *A = arange_shape(16, AD_SHAPE(4, 4));
    ad_tensor *E = ad_matmul(A, ad_mul_s(A, 3));
    /* row i of A·3A is 3·Σ_k A[i,k]·A[k,:]; e.g. row 3: 3·(12·(0..3) + 13·(4..7) + 14·(8..11) + 15·(12..15)) */
    th_expect(E, AD_SHAPE(4, 4),
              TH_V(168, 186, 204, 222, 456, 522, 588, 654, 744, 858, 972, 1086, 1032, 1194, 1356, 1518), 0, 0);
    cr_expect_null(ad_grad_fn_name(E), "no grad_fn without requires_grad");
}

Test(linalg, matmul_vector_cases, .description = "matmul of 1-d and 2-d operands follows torch.matmul")
{
    ad_tensor *v = arr(AD_SHAPE(3), TH_V(1, -2, 0.5)), *w = arr(AD_SHAPE(3), TH_V(2, 1, 4));
    ad_tensor *M = arr(AD_SHAPE(3, 2), TH_V(1, 2, 3, 4, 5, 6));
    th_expect(ad_matmul(v, w), AD_SCALAR, TH_V(2), 0, 0);                         /* dot */
    th_expect(ad_matmul(v, M), AD_SHAPE(2), TH_V(-2.5, -3), 0, 0);                /* [1,3]·[3,2], squeezed */
    th_expect(ad_matmul(ad_T(M), v), AD_SHAPE(2), TH_V(-2.5, -3), 0, 0);          /* mv with Mᵀ */
    ad_tensor *B = arange_shape(12, AD_SHAPE(2, 3, 2));
    /* 1-d · 3-d: v (as a row) times each [3,2] batch: [2,2] */
    th_expect(ad_matmul(v, B), AD_SHAPE(2, 2), TH_V(-2, -2.5, -5, -5.5), 0, 0);
    /* 3-d · 1-d: each [2,3] batch of arange(12).reshape(2,2,3) times w: [2,2] */
    ad_tensor *C = arange_shape(12, AD_SHAPE(2, 2, 3));
    th_expect(ad_matmul(C, w), AD_SHAPE(2, 2), TH_V(9, 30, 51, 72), 0, 0);
}

/* the product of batch (i, j) computed on its own with ad_mm */
static void expect_batch_equals_mm(ad_tensor *Y, int64_t q, ad_tensor *Ai, ad_tensor *Bj)
{
    ad_tensor *ref = ad_mm(Ai, Bj);
    cr_assert_not_null(ref, "%s", ad_errmsg(ctx));
    int64_t n = ad_numel(ref);
    const double *y = ad_data(Y) + q * n, *r = ad_data(ref);
    for (int64_t e = 0; e < n; e++)
        cr_expect(fabs(y[e] - r[e]) <= 1e-14 * (1 + fabs(r[e])), "batch %lld element %lld: %.17g vs mm %.17g",
                  (long long)q, (long long)e, y[e], r[e]);
}

Test(linalg, matmul_batched_broadcast, .description = "[2,1,3,4] @ [5,4,2] -> [2,5,3,2], each batch equal to mm")
{
    ad_tensor *a = th_vals(AD_SHAPE(2, 1, 3, 4), 0.3, 1), *b = th_vals(AD_SHAPE(5, 4, 2), -0.2, 2);
    ad_tensor *Y = ad_matmul(a, b);
    cr_assert_not_null(Y, "%s", ad_errmsg(ctx));
    cr_assert_str_eq(th_shape(Y), "[2,5,3,2]");
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 5; j++)
            expect_batch_equals_mm(Y, i * 5 + j, arr(AD_SHAPE(3, 4), ad_data(a) + i * 12),
                                   arr(AD_SHAPE(4, 2), ad_data(b) + j * 8));
}

Test(linalg, matmul_batched_shared_right, .description = "[4,3,5] @ [5,2]: every batch times the same matrix")
{
    ad_tensor *a = th_vals(AD_SHAPE(4, 3, 5), 0.1, 1.5), *b = th_vals(AD_SHAPE(5, 2), 0.4, 1);
    ad_tensor *Y = ad_matmul(a, b);
    cr_assert_not_null(Y, "%s", ad_errmsg(ctx));
    cr_assert_str_eq(th_shape(Y), "[4,3,2]");
    for (int64_t i = 0; i < 4; i++) expect_batch_equals_mm(Y, i, arr(AD_SHAPE(3, 5), ad_data(a) + i * 15), b);
    /* and the other way round: [3,5] @ [4,5,2] */
    ad_tensor *c = th_vals(AD_SHAPE(4, 5, 2), -0.3, 1);
    ad_tensor *Z = ad_matmul(ad_T(b), c);
    cr_assert_not_null(Z, "%s", ad_errmsg(ctx));
    cr_assert_str_eq(th_shape(Z), "[4,2,2]");
    for (int64_t i = 0; i < 4; i++)
        expect_batch_equals_mm(Z, i, ad_contiguous(ad_T(b)), arr(AD_SHAPE(5, 2), ad_data(c) + i * 10));
}

Test(linalg, matmul_grad_fn_names, .description = "grad_fn of dot, mv, mm and batched matmul as in PyTorch")
{
    ad_tensor *v = th_vals(AD_SHAPE(3), 0.1, 1), *M = th_vals(AD_SHAPE(3, 3), 0.2, 1);
    ad_tensor *B = th_vals(AD_SHAPE(2, 3, 3), 0.3, 1);
    ad_requires_grad_(v, true);
    ad_requires_grad_(M, true);
    cr_expect_str_eq(ad_grad_fn_name(ad_dot(v, v)), "DotBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_mv(M, v)), "MvBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_mm(M, M)), "MmBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_matmul(B, M)), "BmmBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_outer(v, v)), "MulBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_cross(v, v, 0)), "LinalgCrossBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_trace(M)), "TraceBackward0");
    cr_expect_str_eq(ad_grad_fn_name(ad_norm(v, 2, AD_ALL, false)), "NormBackward1");
}

Test(linalg, zero_size_products, .description = "empty inner axis gives zeros; empty outer axes give empty results")
{
    th_expect(ad_mm(ad_ones(ctx, AD_SHAPE(3, 0)), ad_ones(ctx, AD_SHAPE(0, 2))), AD_SHAPE(3, 2), TH_V(0, 0, 0, 0, 0, 0),
              0, 0);
    cr_expect_str_eq(th_shape(ad_mm(ad_ones(ctx, AD_SHAPE(0, 3)), ad_ones(ctx, AD_SHAPE(3, 2)))), "[0,2]");
    th_expect(ad_mv(ad_ones(ctx, AD_SHAPE(2, 0)), ad_ones(ctx, AD_SHAPE(0))), AD_SHAPE(2), TH_V(0, 0), 0, 0);
    cr_expect_str_eq(th_shape(ad_matmul(ad_ones(ctx, AD_SHAPE(0, 2, 3)), ad_ones(ctx, AD_SHAPE(3, 4)))), "[0,2,4]");
    th_expect(ad_matmul(ad_ones(ctx, AD_SHAPE(2, 1, 0)), ad_ones(ctx, AD_SHAPE(0, 1))), AD_SHAPE(2, 1, 1), TH_V(0, 0),
              0, 0);
}

/* ---- views go to BLAS without copies ---------------------------------------------------- */

Test(linalg, transposed_operands_no_copy, .description = "mm(A.T, B) equals mm(contiguous(A.T), B) and copies nothing")
{
    /* integer values: every summation order gives the same exact result */
    ad_tensor *A = ad_sub_s(arange_shape(20 * 30, AD_SHAPE(20, 30)), 300);
    ad_tensor *B = ad_sub_s(arange_shape(20 * 25, AD_SHAPE(20, 25)), 111);
    ad_tensor *At = ad_T(A);
    cr_expect(!ad_is_contiguous(At));
    ad_tensor *ref = ad_mm(ad_contiguous(At), B);
    int64_t before = live_values();
    ad_ctx_reset_peak(ctx);
    ad_tensor *Y = ad_mm(At, B);
    cr_assert_not_null(Y, "%s", ad_errmsg(ctx));
    cr_expect_eq(peak_values() - before, 30 * 25 * (int64_t)sizeof(double),
                 "mm(A.T, B) allocated %lld value bytes; only the [30,25] result (%lld) was expected",
                 (long long)(peak_values() - before), (long long)(30 * 25 * sizeof(double)));
    th_expect(Y, AD_SHAPE(30, 25), th_values(ref), 0, 0);

    /* both operands transposed, through ad_transpose: Aᵀ·(Bᵀ)ᵀ with Bᵀ stored contiguous */
    ad_tensor *Bt = ad_contiguous(ad_T(B));
    before = live_values();
    ad_ctx_reset_peak(ctx);
    ad_tensor *Y2 = ad_mm(ad_transpose(A, 0, 1), ad_transpose(Bt, 1, 0));
    cr_expect_eq(peak_values() - before, 30 * 25 * (int64_t)sizeof(double));
    th_expect(Y2, AD_SHAPE(30, 25), th_values(ref), 0, 0);
}

Test(linalg, transposed_mv_and_batched_no_copy, .description = "mv(A.T, x) and batched matmul of transposed batches copy nothing")
{
    ad_tensor *A = ad_sub_s(arange_shape(20 * 30, AD_SHAPE(20, 30)), 250);
    ad_tensor *x = ad_sub_s(ad_arange_n(ctx, 20), 7);
    ad_tensor *ref = ad_mv(ad_contiguous(ad_T(A)), x);
    int64_t before = live_values();
    ad_ctx_reset_peak(ctx);
    ad_tensor *y = ad_mv(ad_T(A), x);
    cr_expect_eq(peak_values() - before, 30 * (int64_t)sizeof(double));
    th_expect(y, AD_SHAPE(30), th_values(ref), 0, 0);

    ad_tensor *X = ad_sub_s(arange_shape(4 * 10 * 12, AD_SHAPE(4, 10, 12)), 200);
    ad_tensor *W = ad_sub_s(arange_shape(4 * 10 * 6, AD_SHAPE(4, 10, 6)), 100);
    ad_tensor *ref2 = ad_matmul(ad_contiguous(ad_transpose(X, -1, -2)), W);
    before = live_values();
    ad_ctx_reset_peak(ctx);
    ad_tensor *Y = ad_matmul(ad_transpose(X, -1, -2), W);
    cr_expect_eq(peak_values() - before, 4 * 12 * 6 * (int64_t)sizeof(double));
    th_expect(Y, AD_SHAPE(4, 12, 6), th_values(ref2), 0, 0);
}

Test(linalg, strided_and_odd_layouts, .description = "sliced, reversed, permuted and broadcast operands give the contiguous results")
{
    ad_tensor *A = ad_sub_s(arange_shape(6 * 8, AD_SHAPE(6, 8)), 20);
    ad_tensor *x = ad_sub_s(ad_arange_n(ctx, 8), 3);
    /* every other row: row stride 16 > 8 (BLAS's lda) */
    ad_tensor *R = ad_idx(A, AD_SS(AD_END, AD_END, 2));
    cr_assert_not_null(R, "%s", ad_errmsg(ctx));
    th_expect(ad_mv(R, x), AD_SHAPE(3), th_values(ad_mv(ad_contiguous(R), x)), 0, 0);
    /* every other column: column stride 2, BLAS cannot read it (copied) */
    ad_tensor *Cc = ad_idx(A, AD_FULL, AD_SS(AD_END, AD_END, 2));
    ad_tensor *x4 = ad_idx(x, AD_S(0, 4));
    th_expect(ad_mv(Cc, x4), AD_SHAPE(6), th_values(ad_mv(ad_contiguous(Cc), x4)), 0, 0);
    th_expect(ad_mm(Cc, ad_T(Cc)), AD_SHAPE(6, 6), th_values(ad_mm(ad_contiguous(Cc), ad_contiguous(ad_T(Cc)))), 0, 0);
    /* a reversed vector: a negative increment */
    ad_tensor *xr = ad_idx(x, AD_SS(AD_END, AD_END, -1));
    cr_assert_not_null(xr, "%s", ad_errmsg(ctx));
    th_expect(ad_mv(A, xr), AD_SHAPE(6), th_values(ad_mv(A, ad_contiguous(xr))), 0, 0);
    th_expect(ad_dot(xr, x), AD_SCALAR, th_values(ad_dot(ad_contiguous(xr), x)), 0, 0);
    th_expect(ad_dot(ad_idx(x, AD_SS(AD_END, AD_END, -2)), ad_idx(x, AD_SS(AD_END, AD_END, 2))), AD_SCALAR,
              TH_V(4 * -3 + 2 * -1 + 0 * 1 + -2 * 3), 0, 0);
    /* a permuted 3-d tensor whose matrices have strides (12, 4) */
    ad_tensor *T = ad_permute_v(ad_sub_s(arange_shape(24, AD_SHAPE(2, 3, 4)), 11), 2, 0, 1);
    ad_tensor *V = arange_shape(12, AD_SHAPE(4, 3, 1));
    th_expect(ad_matmul(T, V), AD_SHAPE(4, 2, 1), th_values(ad_matmul(ad_contiguous(T), V)), 0, 0);
    /* a broadcast matrix (row stride 0) */
    ad_tensor *rows = ad_expand(arr(AD_SHAPE(1, 3), TH_V(1, 2, 3)), AD_SHAPE(4, 3));
    th_expect(ad_mm(rows, ad_ones(ctx, AD_SHAPE(3, 2))), AD_SHAPE(4, 2), TH_V(6, 6, 6, 6, 6, 6, 6, 6), 0, 0);
}

/* ---- outer, cross, trace ------------------------------------------------------------------- */

Test(linalg, outer_values, .description = "outer([1,2,3], [4,5]) = x[:, None] * y[None, :]")
{
    ad_tensor *x = arr(AD_SHAPE(3), TH_V(1, 2, 3)), *y = arr(AD_SHAPE(2), TH_V(4, 5));
    th_expect(ad_outer(x, y), AD_SHAPE(3, 2), TH_V(4, 5, 8, 10, 12, 15), 0, 0);
}

Test(linalg, d2l_cross, .description = "torch.cross([1,2,3], [4,5,6]) = [-3, 6, -3]")
{
    ad_tensor *a = arr(AD_SHAPE(3), TH_V(1, 2, 3)), *b = arr(AD_SHAPE(3), TH_V(4, 5, 6));
    th_expect(ad_cross(a, b, 0), AD_SHAPE(3), TH_V(-3, 6, -3), 0, 0);
    th_expect(ad_cross(a, b, -1), AD_SHAPE(3), TH_V(-3, 6, -3), 0, 0);
    th_expect(ad_cross(b, a, 0), AD_SHAPE(3), TH_V(3, -6, 3), 0, 0);
}

Test(linalg, cross_axis_and_broadcast, .description = "cross along axis 0 of [3,2] columns, and [3] against [2,3] rows")
{
    /* columns (1,0,0) and (0,1,0) crossed with (0,1,0) and (0,0,1): e_z and e_x */
    ad_tensor *a = arr(AD_SHAPE(3, 2), TH_V(1, 0, 0, 1, 0, 0)), *b = arr(AD_SHAPE(3, 2), TH_V(0, 0, 1, 0, 0, 1));
    th_expect(ad_cross(a, b, 0), AD_SHAPE(3, 2), TH_V(0, 1, 0, 0, 1, 0), 0, 0);
    ad_tensor *u = arr(AD_SHAPE(3), TH_V(1, 2, 3));
    ad_tensor *V = arr(AD_SHAPE(2, 3), TH_V(4, 5, 6, 0, 0, 1));
    th_expect(ad_cross(u, V, -1), AD_SHAPE(2, 3), TH_V(-3, 6, -3, 2, -1, 0), 0, 0);
    th_expect(ad_cross(V, u, 1), AD_SHAPE(2, 3), TH_V(3, -6, 3, -2, 1, 0), 0, 0);
}

Test(linalg, trace_values, .description = "trace of square and non-square matrices (and of a transpose)")
{
    ad_tensor *A = arange_shape(9, AD_SHAPE(3, 3));
    th_expect(ad_trace(A), AD_SCALAR, TH_V(12), 0, 0);
    th_expect(ad_trace(ad_T(A)), AD_SCALAR, TH_V(12), 0, 0);
    th_expect(ad_trace(arange_shape(6, AD_SHAPE(2, 3))), AD_SCALAR, TH_V(0 + 4), 0, 0);
    th_expect(ad_trace(arange_shape(6, AD_SHAPE(3, 2))), AD_SCALAR, TH_V(0 + 3), 0, 0);
}

/* ---- norms --------------------------------------------------------------------------------- */

Test(linalg, d2l_norms, .description = "u = [3,-4]: torch.norm(u) = 5, abs(u).sum() = 7; norm(ones(4, 9)) = 6")
{
    ad_tensor *u = arr(AD_SHAPE(2), TH_V(3, -4));
    th_expect(ad_norm(u, 2, AD_ALL, false), AD_SCALAR, TH_V(5), 0, 0);
    th_expect(ad_norm(u, 1, AD_ALL, false), AD_SCALAR, TH_V(7), 0, 0);
    th_expect(ad_norm(u, INFINITY, AD_ALL, false), AD_SCALAR, TH_V(4), 0, 0);
    th_expect(ad_norm(u, -INFINITY, AD_ALL, false), AD_SCALAR, TH_V(3), 0, 0);
    th_expect(ad_norm(u, 3, AD_ALL, false), AD_SCALAR, TH_V(cbrt(91)), 0, 1e-15);
    th_expect(ad_norm(u, 0.5, AD_ALL, false), AD_SCALAR, TH_V(pow(sqrt(3) + 2, 2)), 0, 1e-15);
    th_expect(ad_norm_fro(ad_ones(ctx, AD_SHAPE(4, 9))), AD_SCALAR, TH_V(6), 0, 0);
}

Test(linalg, norm_axes_keepdims, .description = "norms along axes with and without keepdims")
{
    ad_tensor *X = arr(AD_SHAPE(2, 3), TH_V(3, 0, -4, 1, -2, 2));
    th_expect(ad_norm(X, 2, AD_AXES(1), false), AD_SHAPE(2), TH_V(5, 3), 0, 0);
    th_expect(ad_norm(X, 2, AD_AXES(-1), true), AD_SHAPE(2, 1), TH_V(5, 3), 0, 0);
    th_expect(ad_norm(X, 1, AD_AXES(0), false), AD_SHAPE(3), TH_V(4, 2, 6), 0, 0);
    th_expect(ad_norm(X, INFINITY, AD_AXES(0), true), AD_SHAPE(1, 3), TH_V(3, 2, 4), 0, 0);
    th_expect(ad_norm(X, -INFINITY, AD_AXES(1), false), AD_SHAPE(2), TH_V(0, 1), 0, 0);
    th_expect(ad_norm(X, 2, AD_AXES(0, 1), true), AD_SHAPE(1, 1), TH_V(sqrt(34)), 0, 1e-15);
    th_expect(ad_norm(ad_T(X), 1, AD_AXES(0), false), AD_SHAPE(2), TH_V(7, 5), 0, 0);
    th_expect(ad_norm(ad_scalar(ctx, -2.5), 2, AD_ALL, false), AD_SCALAR, TH_V(2.5), 0, 0);
    th_expect(ad_norm(ad_zeros(ctx, AD_SHAPE(0)), 2, AD_ALL, false), AD_SCALAR, TH_V(0), 0, 0);
    th_expect(ad_norm(ad_zeros(ctx, AD_SHAPE(2, 0)), 1, AD_AXES(1), false), AD_SHAPE(2), TH_V(0, 0), 0, 0);
}

Test(linalg, norm_no_overflow_or_underflow, .description = "the 2-norm and p-norms scale like BLAS dnrm2")
{
    th_expect(ad_norm(arr(AD_SHAPE(2), TH_V(3e200, -4e200)), 2, AD_ALL, false), AD_SCALAR, TH_V(5e200), 0, 1e-15);
    th_expect(ad_norm(arr(AD_SHAPE(2), TH_V(3e-200, 4e-200)), 2, AD_ALL, false), AD_SCALAR, TH_V(5e-200), 0, 1e-15);
    th_expect(ad_norm(arr(AD_SHAPE(2), TH_V(3e-310, 4e-310)), 2, AD_ALL, false), AD_SCALAR, TH_V(5e-310), 0, 1e-11);
    /* one huge row, one ordinary row: each gets its own exact result */
    th_expect(ad_norm(arr(AD_SHAPE(2, 2), TH_V(3e200, 4e200, 3, 4)), 2, AD_AXES(1), false), AD_SHAPE(2),
              TH_V(5e200, 5), 0, 1e-15);
    th_expect(ad_norm(arr(AD_SHAPE(2), TH_V(1e300, -1e300)), 3, AD_ALL, false), AD_SCALAR, TH_V(cbrt(2) * 1e300), 0,
              1e-15);
    th_expect(ad_norm(arr(AD_SHAPE(2), TH_V(1e300, 1e300)), 1, AD_ALL, false), AD_SCALAR, TH_V(2e300), 0, 0);
    /* non-finite inputs */
    th_expect(ad_norm(arr(AD_SHAPE(3), TH_V(1, -INFINITY, 2)), 2, AD_ALL, false), AD_SCALAR, TH_V(INFINITY), 0, 0);
    th_expect(ad_norm(arr(AD_SHAPE(3), TH_V(1, INFINITY, 2)), 3, AD_ALL, false), AD_SCALAR, TH_V(INFINITY), 0, 0);
    th_expect(ad_norm(arr(AD_SHAPE(3), TH_V(1, NAN, 2)), 2, AD_ALL, false), AD_SCALAR, TH_V(NAN), 0, 0);
    th_expect(ad_norm(arr(AD_SHAPE(3), TH_V(INFINITY, NAN, 2)), INFINITY, AD_ALL, false), AD_SCALAR, TH_V(NAN), 0, 0);
}

/* ---- subgradient conventions ------------------------------------------------------------------ */

/* gradient of norm(x, p) at x (reverse mode) */
static ad_tensor *norm_grad(ad_tensor *x0, double p, ad_axes axes)
{
    ad_tensor *x = ad_clone(x0);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_norm(x, p, axes, false);
    cr_assert_not_null(y, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(y, ad_ones(ctx, ad_shape_of(y)), 0), AD_OK, "%s", ad_errmsg(ctx));
    return ad_grad(x);
}

Test(linalg, norm2_subgradient_at_zero, .description = "the 2-norm's gradient at a zero vector is 0 (not NaN)")
{
    th_expect(norm_grad(ad_zeros(ctx, AD_SHAPE(3)), 2, AD_ALL), AD_SHAPE(3), TH_V(0, 0, 0), 0, 0);
    th_expect(norm_grad(arr(AD_SHAPE(2, 2), TH_V(0, 0, 3, -4)), 2, AD_AXES(1)), AD_SHAPE(2, 2), TH_V(0, 0, 0.6, -0.8),
              0, 1e-15);
    /* forward mode agrees */
    ad_tensor *x = ad_zeros(ctx, AD_SHAPE(3));
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    ad_set_tangent(x, arr(AD_SHAPE(3), TH_V(1, 2, 3)));
    ad_tensor *y = ad_norm(x, 2, AD_ALL, false);
    th_expect(ad_get_tangent(y), AD_SCALAR, TH_V(0), 0, 0);
    ad_fwd_end(ctx);
}

Test(linalg, norm1_subgradient_sign, .description = "the 1-norm's gradient is sign(x), 0 at 0")
{
    th_expect(norm_grad(arr(AD_SHAPE(3), TH_V(0, 2, -3)), 1, AD_ALL), AD_SHAPE(3), TH_V(0, 1, -1), 0, 0);
}

Test(linalg, norm_inf_ties_split, .description = "inf / -inf norms split the gradient evenly among tied extremes")
{
    th_expect(norm_grad(arr(AD_SHAPE(3), TH_V(3, -3, 1)), INFINITY, AD_ALL), AD_SHAPE(3), TH_V(0.5, -0.5, 0), 0, 0);
    th_expect(norm_grad(arr(AD_SHAPE(4), TH_V(1, -1, 3, 1)), -INFINITY, AD_ALL), AD_SHAPE(4),
              TH_V(1.0 / 3, -1.0 / 3, 0, 1.0 / 3), 0, 1e-15);
    th_expect(norm_grad(arr(AD_SHAPE(2, 3), TH_V(2, -2, 2, 1, 5, 0)), INFINITY, AD_AXES(1)), AD_SHAPE(2, 3),
              TH_V(1.0 / 3, -1.0 / 3, 1.0 / 3, 0, 1, 0), 0, 1e-15);
}

Test(linalg, normp_zero_elements, .description = "p-norms give 0 gradient at zero elements (p > 1 exact, p < 1 by convention)")
{
    double y3 = cbrt(91);
    th_expect(norm_grad(arr(AD_SHAPE(3), TH_V(0, 3, -4)), 3, AD_ALL), AD_SHAPE(3),
              TH_V(0, (3 / y3) * (3 / y3), -(4 / y3) * (4 / y3)), 0, 1e-14);
    /* p = 1/2: y = (√4 + √1)² = 9, ∂y/∂x = (y/|x|)^(1/2) */
    th_expect(norm_grad(arr(AD_SHAPE(3), TH_V(0, 4, -1)), 0.5, AD_ALL), AD_SHAPE(3), TH_V(0, 1.5, -3), 0, 1e-14);
    th_expect(norm_grad(ad_zeros(ctx, AD_SHAPE(2)), 3, AD_ALL), AD_SHAPE(2), TH_V(0, 0), 0, 0);
}

/* ---- derivative rules ----------------------------------------------------------------------- */

static ad_tensor *f_dot(ad_tensor *const *in, void *ud) { (void)ud; return ad_dot(in[0], in[1]); }
static ad_tensor *f_mv(ad_tensor *const *in, void *ud) { (void)ud; return ad_mv(in[0], in[1]); }
static ad_tensor *f_mm(ad_tensor *const *in, void *ud) { (void)ud; return ad_mm(in[0], in[1]); }
static ad_tensor *f_matmul(ad_tensor *const *in, void *ud) { (void)ud; return ad_matmul(in[0], in[1]); }
static ad_tensor *f_outer(ad_tensor *const *in, void *ud) { (void)ud; return ad_outer(in[0], in[1]); }
static ad_tensor *f_trace(ad_tensor *const *in, void *ud) { (void)ud; return ad_trace(in[0]); }
static ad_tensor *f_fro(ad_tensor *const *in, void *ud) { (void)ud; return ad_norm_fro(in[0]); }
/* products of transposed views: the rules see non-contiguous inputs */
static ad_tensor *f_mm_tt(ad_tensor *const *in, void *ud) { (void)ud; return ad_mm(ad_T(in[0]), ad_T(in[1])); }
/* a second-order composite: (A x)·(A sin x) through the matrix products */
static ad_tensor *f_quad(ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_tensor *y = ad_mv(in[0], in[1]);
    return ad_dot(y, ad_mv(in[0], ad_sin(in[1])));
}

/* One rule check of a product, as a Criterion parameter: plain data (it is
 * copied into the test's process), naming its function in PRODUCTS.  Input
 * i is th_vals(in[i].shape, in[i].offset, in[i].scale). */
typedef struct {
    ad_shape shape;
    double offset, scale;
} input_spec;
typedef struct {
    char fn[8];
    int axis; /* cross's axis */
    int nin;
    input_spec in[2];
    char what[40]; /* the case, in failure messages */
} product_case;

/* constant initializers (AD_SHAPE and AD_AXES are compound literals) */
#define SH(...) {.ndim = AD_NARGS_I64_(__VA_ARGS__), .dim = {__VA_ARGS__}}
#define IN(offset, scale, ...) {SH(__VA_ARGS__), offset, scale}
#define AX(...) {.n = AD_NARGS_INT_(__VA_ARGS__), .axis = {__VA_ARGS__}}
#define AX_ALL {.n = -1}

static ad_tensor *f_cross(ad_tensor *const *in, void *ud)
{
    return ad_cross(in[0], in[1], ((const product_case *)ud)->axis);
}

static const struct {
    const char *name;
    th_fn f;
} PRODUCTS[] = {{"dot", f_dot},       {"mv", f_mv},       {"mm", f_mm},       {"mm_tt", f_mm_tt}, {"quad", f_quad},
                {"matmul", f_matmul}, {"outer", f_outer}, {"cross", f_cross}, {"trace", f_trace}};

static void check_product(const product_case *c)
{
    th_fn f = NULL;
    for (size_t i = 0; i < sizeof PRODUCTS / sizeof PRODUCTS[0]; i++)
        if (strcmp(PRODUCTS[i].name, c->fn) == 0) f = PRODUCTS[i].f;
    cr_assert_not_null(f, "no product %s", c->fn);
    ad_tensor *in[2];
    for (int i = 0; i < c->nin; i++) in[i] = th_vals(c->in[i].shape, c->in[i].offset, c->in[i].scale);
    th_check_rules_impl(f, (void *)c, c->nin, in, 1e-6, true, c->what, __FILE__, __LINE__);
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

ParameterizedTestParameters(linalg, rules_dot_mv_mm)
{
#define X IN(0.3, 1, 4)
#define A IN(0.2, 1, 3, 4)
#define B IN(-0.4, 1.5, 4, 2)
    static product_case cases[] = {
        {"dot", 0, 2, {X, IN(-0.1, 2, 4)}, "dot"}, {"mv", 0, 2, {A, X}, "mv"},
        {"mm", 0, 2, {A, B}, "mm"},                {"mm_tt", 0, 2, {B, A}, "mm of transposed views"},
        {"quad", 0, 2, {A, X}, "(A x)·(A sin x)"},
    };
#undef X
#undef A
#undef B
    return cr_make_param_array(product_case, cases, NCASES(cases));
}

ParameterizedTest(product_case *c, linalg, rules_dot_mv_mm,
                  .description = "JVP, VJP and HVP of dot, mv, mm against differences")
{
    check_product(c);
}

ParameterizedTestParameters(linalg, rules_matmul_all_ranks)
{
#define V3 IN(0.1, 1, 3)
#define V4 IN(-0.2, 1, 4)
#define M IN(0.3, 1, 3, 4)
#define B3 IN(0.5, 1, 2, 4, 3)
    static product_case cases[] = {
        {"matmul", 0, 2, {V3, M}, "matmul 1-d · 2-d"},
        {"matmul", 0, 2, {M, V4}, "matmul 2-d · 1-d"},
        {"matmul", 0, 2, {V4, V4}, "matmul 1-d · 1-d"},
        {"matmul", 0, 2, {V4, B3}, "matmul 1-d · 3-d"},
        {"matmul", 0, 2, {B3, V3}, "matmul 3-d · 1-d"},
        {"matmul", 0, 2, {B3, M}, "matmul 3-d · 2-d (shared right)"},
        {"matmul", 0, 2, {M, B3}, "matmul 2-d · 3-d (shared left)"},
    };
#undef V3
#undef V4
#undef M
#undef B3
    return cr_make_param_array(product_case, cases, NCASES(cases));
}

ParameterizedTest(product_case *c, linalg, rules_matmul_all_ranks,
                  .description = "JVP, VJP and HVP of matmul for 1-d, 2-d and batched operands")
{
    check_product(c);
}

ParameterizedTestParameters(linalg, rules_matmul_broadcast_batches)
{
    static product_case cases[] = {
        {"matmul", 0, 2, {IN(0.3, 1, 2, 1, 3, 4), IN(-0.2, 1, 5, 4, 2)}, "matmul [2,1,3,4] @ [5,4,2]"},
        {"matmul", 0, 2, {IN(0.1, 1, 1, 2, 4), IN(0.2, 1, 3, 1, 4, 2)}, "matmul [1,2,4] @ [3,1,4,2]"},
    };
    return cr_make_param_array(product_case, cases, NCASES(cases));
}

ParameterizedTest(product_case *c, linalg, rules_matmul_broadcast_batches,
                  .description = "rules of [2,1,3,4] @ [5,4,2]: gradients summed over broadcast batches")
{
    check_product(c);
}

Test(linalg, forward_mode_width3_bmm, .description = "three tangents at once through a batched matmul")
{
    ad_tensor *a = th_vals(AD_SHAPE(2, 3, 4), 0.3, 1), *b = th_vals(AD_SHAPE(4, 2), -0.2, 1);
    ad_tensor *ta = th_vals(AD_SHAPE(3, 2, 3, 4), 0.1, 1), *tb = th_vals(AD_SHAPE(3, 4, 2), 0.7, 1);
    cr_assert_eq(ad_fwd_begin(ctx, 3), AD_OK);
    ad_tensor *x = ad_clone(a), *y = ad_clone(b);
    cr_assert_eq(ad_set_tangent(x, ta), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_set_tangent(y, tb), AD_OK, "%s", ad_errmsg(ctx));
    ad_tensor *t = ad_get_tangent(ad_matmul(x, y));
    ad_fwd_end(ctx);
    cr_assert_str_eq(th_shape(t), "[3,2,3,2]");
    /* direction j: ȧ_j b + a ḃ_j, computed without forward mode */
    for (int64_t j = 0; j < 3; j++) {
        ad_tensor *taj = arr(AD_SHAPE(2, 3, 4), ad_data(ta) + j * 24), *tbj = arr(AD_SHAPE(4, 2), ad_data(tb) + j * 8);
        ad_tensor *want = ad_add(ad_matmul(taj, b), ad_matmul(a, tbj));
        const double *w = th_values(want);
        for (int64_t e = 0; e < 12; e++)
            cr_expect(fabs(ad_data(t)[j * 12 + e] - w[e]) <= 1e-14 * (1 + fabs(w[e])), "direction %lld element %lld",
                      (long long)j, (long long)e);
    }
}

ParameterizedTestParameters(linalg, rules_outer_cross_trace)
{
#define U IN(0.2, 1, 3)
#define U23 IN(0.1, 1, 2, 3)
#define C IN(-0.3, 1, 2, 3, 2)
    static product_case cases[] = {
        {"outer", 0, 2, {IN(0.3, 1, 3), IN(-0.1, 2, 4)}, "outer"},
        {"cross", 0, 2, {U, IN(-0.5, 1.3, 3)}, "cross [3] × [3]"},
        {"cross", -1, 2, {U, U23}, "cross [3] × [2,3]"},
        {"cross", -1, 2, {U23, IN(0.4, 1, 4, 1, 3)}, "cross [2,3] × [4,1,3]"},
        {"cross", 1, 2, {C, C}, "cross a × a (= 0, derivatives are not)"},
        {"trace", 0, 1, {IN(0.2, 1, 3, 3)}, "trace [3,3]"},
        {"trace", 0, 1, {IN(0.2, 1, 2, 4)}, "trace [2,4]"},
    };
#undef U
#undef U23
#undef C
    return cr_make_param_array(product_case, cases, NCASES(cases));
}

ParameterizedTest(product_case *c, linalg, rules_outer_cross_trace,
                  .description = "JVP, VJP and HVP of outer, cross (with broadcasting) and trace")
{
    check_product(c);
}

/* A norm's parameters: plain data, so a Criterion parameter as it is. */
typedef struct {
    double p;
    ad_axes axes;
    bool keepdims;
} norm_case;
static ad_tensor *f_norm(ad_tensor *const *in, void *ud)
{
    const norm_case *c = ud;
    return ad_norm(in[0], c->p, c->axes, c->keepdims);
}

/* distinct magnitudes, mixed signs, none near 0 */
static ad_tensor *norm_point(void) { return arr(AD_SHAPE(2, 3), TH_V(1.3, -2.1, 0.7, 2.9, -1.6, 0.45)); }

ParameterizedTestParameters(linalg, rules_norms)
{
    static norm_case cases[] = {
        {2, AX_ALL, false},         {1, AX_ALL, false},         {3, AX_ALL, false},
        {0.5, AX_ALL, false},       {1.5, AX(1), true},         {INFINITY, AX_ALL, false},
        {-INFINITY, AX_ALL, false}, {2, AX(0), false},          {2, AX(1), true},
        {1, AX(0), true},           {INFINITY, AX(1), false},   {-INFINITY, AX(0), true},
        {4, AX(0, 1), false},
    };
    return cr_make_param_array(norm_case, cases, NCASES(cases));
}

ParameterizedTest(norm_case *c, linalg, rules_norms,
                  .description = "JVP, VJP and HVP of every kind of norm away from zeros and ties")
{
    ad_tensor *x = norm_point();
    char what[64];
    snprintf(what, sizeof what, "norm p=%g over %d axes%s", c->p, c->axes.n, c->keepdims ? ", keepdims" : "");
    th_check_rules_impl(f_norm, c, 1, &x, 1e-6, true, what, __FILE__, __LINE__);
}

Test(linalg, rules_norm_fro, .description = "JVP, VJP and HVP of the Frobenius norm")
{
    ad_tensor *x = norm_point();
    th_check_rules(f_fro, NULL, 1, &x, 1e-6, true);
}

/* ---- errors ------------------------------------------------------------------------------------ */

Test(linalg, errors_products, .description = "shape errors name both shapes and the mismatch")
{
    ad_tensor *v3 = ad_ones(ctx, AD_SHAPE(3)), *v4 = ad_ones(ctx, AD_SHAPE(4));
    ad_tensor *M23 = ad_ones(ctx, AD_SHAPE(2, 3)), *M45 = ad_ones(ctx, AD_SHAPE(4, 5));
    ad_tensor *s = ad_scalar(ctx, 1);
    expect_error(ad_dot(v3, v4), AD_ESHAPE, "dot", "[3] and [4]", "3 != 4");
    expect_error(ad_dot(M23, v3), AD_ESHAPE, "dot", "1-d", "[2,3] and [3]");
    expect_error(ad_mv(M23, v4), AD_ESHAPE, "mv", "[2,3] and [4]", "3 != 4");
    expect_error(ad_mv(v3, v3), AD_ESHAPE, "mv", "2-d matrix", "[3] and [3]");
    expect_error(ad_mm(M23, M45), AD_ESHAPE, "mm", "[2,3] and [4,5]", "3 != 4");
    expect_error(ad_mm(M23, v3), AD_ESHAPE, "mm", "2-d", "[2,3] and [3]");
    expect_error(ad_matmul(M23, M45), AD_ESHAPE, "matmul", "[2,3] and [4,5]", "3 != 4");
    expect_error(ad_matmul(s, v3), AD_ESHAPE, "matmul", "at least 1 dimension", "[] and [3]");
    expect_error(ad_matmul(v4, ad_ones(ctx, AD_SHAPE(2, 3, 5))), AD_ESHAPE, "matmul", "[4] and [2,3,5]", "4 != 3");
    expect_error(ad_matmul(ad_ones(ctx, AD_SHAPE(2, 3, 4)), ad_ones(ctx, AD_SHAPE(3, 4, 5))), AD_ESHAPE, "matmul",
                 "batch shapes [2] and [3]", "[2,3,4] and [3,4,5]");
    expect_error(ad_outer(M23, v3), AD_ESHAPE, "outer", "1-d", "[2,3] and [3]");
    expect_error(ad_trace(v3), AD_ESHAPE, "trace", "2-d", "[3]");
    expect_error(ad_trace(ad_ones(ctx, AD_SHAPE(2, 2, 2))), AD_ESHAPE, "trace", "[2,2,2]", NULL);
    cr_expect_null(ad_dot(NULL, v3));
    cr_expect_null(ad_matmul(v3, NULL));
}

Test(linalg, errors_blas_int_range, .description = "dimensions beyond BLAS's int are an AD_ESIZE error, not a wrap-around")
{
    /* broadcast views: 2^31 elements without allocating them */
    int64_t big = (int64_t)1 << 31;
    ad_tensor *v = ad_expand(ad_ones(ctx, AD_SHAPE(1)), AD_SHAPE(big));
    cr_assert_not_null(v, "%s", ad_errmsg(ctx));
    expect_error(ad_dot(v, v), AD_ESIZE, "dot", "2147483648", "BLAS");
    ad_tensor *W = ad_expand(ad_ones(ctx, AD_SHAPE(1, 1)), AD_SHAPE(2, big));
    ad_tensor *Z = ad_expand(ad_ones(ctx, AD_SHAPE(1, 1)), AD_SHAPE(big, 2));
    expect_error(ad_mm(W, Z), AD_ESIZE, "mm", "2147483648", "BLAS");
    expect_error(ad_mv(W, v), AD_ESIZE, "mv", "2147483648", "BLAS");
}

Test(linalg, errors_cross, .description = "cross needs length 3 along the axis, in range, and broadcastable shapes")
{
    ad_tensor *a = ad_ones(ctx, AD_SHAPE(2, 3)), *b4 = ad_ones(ctx, AD_SHAPE(4));
    expect_error(ad_cross(a, a, 0), AD_ESHAPE, "cross", "axis 0", "[2,3] and [2,3]");
    expect_error(ad_cross(b4, b4, 0), AD_ESHAPE, "cross", "lengths 4 and 4", "must be 3");
    expect_error(ad_cross(a, a, 2), AD_EAXIS, "cross", "axis 2", NULL);
    expect_error(ad_cross(a, ad_ones(ctx, AD_SHAPE(4, 3)), -1), AD_ESHAPE, "cross", "[2,3] and [4,3]", "broadcast");
    expect_error(ad_cross(ad_ones(ctx, AD_SHAPE(3)), ad_ones(ctx, AD_SHAPE(3, 1)), 0), AD_ESHAPE, "cross",
                 "[3] and [3,1]", "lengths 1 and 3");
}

Test(linalg, errors_norm, .description = "bad p, bad axes, and inf norms of empty reductions are errors")
{
    ad_tensor *x = ad_ones(ctx, AD_SHAPE(2, 3));
    expect_error(ad_norm(x, 0, AD_ALL, false), AD_EINVAL, "norm", "p = 0", "p must be > 0");
    expect_error(ad_norm(x, -1, AD_ALL, false), AD_EINVAL, "norm", "p = -1", NULL);
    expect_error(ad_norm(x, NAN, AD_ALL, false), AD_EINVAL, "norm", "nan", NULL);
    expect_error(ad_norm(x, 2, AD_AXES(2), false), AD_EAXIS, "norm", "axis 2", NULL);
    expect_error(ad_norm(x, 2, AD_AXES(1, -1), false), AD_EAXIS, "norm", "appears twice", NULL);
    expect_error(ad_norm(ad_ones(ctx, AD_SHAPE(2, 0)), INFINITY, AD_AXES(1), false), AD_ESHAPE, "norm", "inf",
                 "[2,0]");
    expect_error(ad_norm(ad_ones(ctx, AD_SHAPE(0)), -INFINITY, AD_ALL, false), AD_ESHAPE, "-inf", "empty", NULL);
    cr_expect_null(ad_norm(NULL, 2, AD_ALL, false));
    cr_expect_null(ad_norm_fro(NULL));
}
