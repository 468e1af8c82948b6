/* adscope/elementwise.h — elementwise maths with NumPy/PyTorch broadcasting.
 *
 * Binary ops broadcast their operands: shapes are aligned at the right and an
 * axis of length 1 stretches to the other's length, so a [3,1] plus a [1,2]
 * gives a [3,2].  Shapes that cannot broadcast are an AD_ESHAPE error naming
 * both shapes: "add: shapes [2,3] and [4] cannot broadcast".
 *
 * Every function returns a new tensor (see common.h for ownership) and is
 * differentiable in every mode.  Three variants exist for the binary ops:
 *   ad_add(a, b)          new tensor              (Z = X + Y)
 *   ad_add_s(a, s)        tensor-scalar           (Z = X + 2.5)
 *   ad_add_(x, y)         in place, returns status (X += Y; no allocation)
 * and ad_OP_into(out, a, b) writes into an existing tensor without
 * allocating (X[:] = X + Y).  In-place writes bump the storage version, so a
 * tensor saved for a backward pass is never silently changed.
 */
#ifndef ADSCOPE_ELEMENTWISE_H
#define ADSCOPE_ELEMENTWISE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- unary ------------------------------------------------------------- */
AD_API ad_tensor *ad_neg(ad_tensor *x);
AD_API ad_tensor *ad_exp(ad_tensor *x);
AD_API ad_tensor *ad_log(ad_tensor *x);
AD_API ad_tensor *ad_sin(ad_tensor *x);
AD_API ad_tensor *ad_cos(ad_tensor *x);
AD_API ad_tensor *ad_tan(ad_tensor *x);
AD_API ad_tensor *ad_tanh(ad_tensor *x);
AD_API ad_tensor *ad_sigmoid(ad_tensor *x);
AD_API ad_tensor *ad_relu(ad_tensor *x);
AD_API ad_tensor *ad_abs(ad_tensor *x);
AD_API ad_tensor *ad_sqrt(ad_tensor *x);
AD_API ad_tensor *ad_square(ad_tensor *x);
AD_API ad_tensor *ad_sign(ad_tensor *x);     /* -1, 0, 1; derivative 0 */
AD_API ad_tensor *ad_log1p(ad_tensor *x);
AD_API ad_tensor *ad_expm1(ad_tensor *x);
/* Inverse trigonometric, hyperbolic and special functions (libm's values;
 * outside the domain, as asin(2), NaN without an error, like log and sqrt).
 * Derivatives at the edges follow PyTorch: cbrt'(0) = asin'(±1) = +inf. */
AD_API ad_tensor *ad_cbrt(ad_tensor *x);     /* real cube root, cbrt(-8) = -2 */
AD_API ad_tensor *ad_atan(ad_tensor *x);
AD_API ad_tensor *ad_asin(ad_tensor *x);
AD_API ad_tensor *ad_acos(ad_tensor *x);
AD_API ad_tensor *ad_sinh(ad_tensor *x);
AD_API ad_tensor *ad_cosh(ad_tensor *x);
AD_API ad_tensor *ad_asinh(ad_tensor *x);
AD_API ad_tensor *ad_softplus(ad_tensor *x); /* log(1 + e^x), stable; derivative sigmoid(x) */
AD_API ad_tensor *ad_erf(ad_tensor *x);

/* ---- binary, broadcasting ------------------------------------------------ */
AD_API ad_tensor *ad_add(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_sub(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_mul(ad_tensor *a, ad_tensor *b); /* Hadamard product */
AD_API ad_tensor *ad_div(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_pow(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_maximum(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_minimum(ad_tensor *a, ad_tensor *b);
/* atan2(a, b): the angle of the point (b, a) in (-pi, pi], as C's atan2(y, x)
 * and torch.atan2(input=a, other=b); its derivatives at the origin are NaN
 * (atan2 is not continuous there), as PyTorch's. */
AD_API ad_tensor *ad_atan2(ad_tensor *a, ad_tensor *b);
/* hypot(a, b) = sqrt(a² + b²) without overflow or underflow; at the origin
 * its gradient is 0, the least-norm subgradient (as ad_norm's at 0). */
AD_API ad_tensor *ad_hypot(ad_tensor *a, ad_tensor *b);

/* Comparisons give 0/1 tensors (not differentiable: their derivative is 0). */
AD_API ad_tensor *ad_eq(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_ne(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_lt(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_le(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_gt(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_ge(ad_tensor *a, ad_tensor *b);

/* cond != 0 ? a : b, broadcasting all three. */
AD_API ad_tensor *ad_where(ad_tensor *cond, ad_tensor *a, ad_tensor *b);

/* ---- tensor-scalar forms ------------------------------------------------- */
AD_API ad_tensor *ad_add_s(ad_tensor *a, double s);   /* a + s */
AD_API ad_tensor *ad_sub_s(ad_tensor *a, double s);   /* a - s */
AD_API ad_tensor *ad_rsub_s(double s, ad_tensor *a);  /* s - a */
AD_API ad_tensor *ad_mul_s(ad_tensor *a, double s);   /* a * s */
AD_API ad_tensor *ad_div_s(ad_tensor *a, double s);   /* a / s */
AD_API ad_tensor *ad_rdiv_s(double s, ad_tensor *a);  /* s / a */
AD_API ad_tensor *ad_pow_s(ad_tensor *a, double s);   /* a ** s */
AD_API ad_tensor *ad_rpow_s(double s, ad_tensor *a);  /* s ** a */
AD_API ad_tensor *ad_maximum_s(ad_tensor *a, double s);
AD_API ad_tensor *ad_minimum_s(ad_tensor *a, double s);
AD_API ad_tensor *ad_eq_s(ad_tensor *a, double s);
AD_API ad_tensor *ad_ne_s(ad_tensor *a, double s);
AD_API ad_tensor *ad_lt_s(ad_tensor *a, double s);
AD_API ad_tensor *ad_le_s(ad_tensor *a, double s);
AD_API ad_tensor *ad_gt_s(ad_tensor *a, double s);
AD_API ad_tensor *ad_ge_s(ad_tensor *a, double s);

/* ---- in place (allocate nothing; return AD_OK or a negative status) ----- */
/* x op= y; y broadcasts to x's shape (x itself never changes shape). */
AD_API int ad_add_(ad_tensor *x, ad_tensor *y);
AD_API int ad_sub_(ad_tensor *x, ad_tensor *y);
AD_API int ad_mul_(ad_tensor *x, ad_tensor *y);
AD_API int ad_div_(ad_tensor *x, ad_tensor *y);
AD_API int ad_add_s_(ad_tensor *x, double s);
AD_API int ad_sub_s_(ad_tensor *x, double s);
AD_API int ad_mul_s_(ad_tensor *x, double s);
AD_API int ad_div_s_(ad_tensor *x, double s);
/* x[...] = v (v broadcasts), x[...] = value, x[...] = 0 */
AD_API int ad_copy_(ad_tensor *x, ad_tensor *v);
AD_API int ad_fill_(ad_tensor *x, double value);
AD_API int ad_zero_(ad_tensor *x);

/* out[...] = a op b, computed into out without allocating.  out must have
 * the broadcast shape of a and b; it may be a or b themselves. */
AD_API int ad_add_into(ad_tensor *out, ad_tensor *a, ad_tensor *b);
AD_API int ad_sub_into(ad_tensor *out, ad_tensor *a, ad_tensor *b);
AD_API int ad_mul_into(ad_tensor *out, ad_tensor *a, ad_tensor *b);
AD_API int ad_div_into(ad_tensor *out, ad_tensor *a, ad_tensor *b);

#ifdef __cplusplus
}
#endif
#endif
