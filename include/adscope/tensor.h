/* adscope/tensor.h — the one tensor type: handles, creation, element access.
 *
 * An ad_tensor is an n-dimensional array of doubles (up to AD_MAX_DIMS axes)
 * described by shape, strides (in elements) and an offset into a refcounted
 * storage.  Views share the storage of their base, and the storage lives as
 * long as any tensor uses it.  The same handle type carries what the
 * differentiation modes hang off it: a forward-mode tangent, a reverse-mode
 * grad_fn and .grad (see autograd.h and forward.h).
 *
 *     ad_ctx *ctx = ad_ctx_new();
 *     ad_tensor *x = ad_reshape(ad_arange_n(ctx, 12), AD_SHAPE(3, 4));
 *     ad_print(x);          // tensor([[ 0.,  1.,  2.,  3.], ...
 *     ad_tensor_free(x);    // (the arange temporary leaks here without a scope)
 *     ad_ctx_free(ctx);
 */
#ifndef ADSCOPE_TENSOR_H
#define ADSCOPE_TENSOR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- handles ----------------------------------------------------------- */

/* Drops one reference; the tensor goes when the last reference does.
 * Accepts NULL. */
AD_API void ad_tensor_free(ad_tensor *t);
/* Takes one more reference and returns t (NULL stays NULL).  Like every
 * reference handed out, it belongs to the innermost open scope, if any. */
AD_API ad_tensor *ad_tensor_ref(ad_tensor *t);

/* ---- properties (never fail for a valid tensor) ----------------------- */

AD_API ad_ctx *ad_tensor_ctx(const ad_tensor *t);
AD_API int ad_ndim(const ad_tensor *t);
AD_API int64_t ad_numel(const ad_tensor *t);
/* Length of axis `axis` (negative counts from the end); -1 if out of range. */
AD_API int64_t ad_dim(const ad_tensor *t, int axis);
/* The shape as a value (AD_SCALAR-like for 0-d). */
AD_API ad_shape ad_shape_of(const ad_tensor *t);
/* Stride of an axis in elements. */
AD_API int64_t ad_stride(const ad_tensor *t, int axis);
AD_API int64_t ad_offset(const ad_tensor *t);
/* True when the elements are laid out row-major without gaps. */
AD_API bool ad_is_contiguous(const ad_tensor *t);
/* Address of element [0,...,0].  The storage is shared with every view. */
AD_API double *ad_data(ad_tensor *t);
/* Identity of the underlying storage (the analogue of id(X.storage())). */
AD_API const void *ad_storage_id(const ad_tensor *t);
/* How many in-place writes the storage has seen (PyTorch's _version). */
AD_API uint32_t ad_version(const ad_tensor *t);
/* Writes "[2,3]" into buf (snprintf contract: returns the length needed). */
AD_API int ad_shape_str(const ad_shape *s, char *buf, size_t n);

/* ---- creation ---------------------------------------------------------- */

/* Uninitialised tensor of the given shape. */
AD_API ad_tensor *ad_empty(ad_ctx *ctx, ad_shape shape);
AD_API ad_tensor *ad_zeros(ad_ctx *ctx, ad_shape shape);
AD_API ad_tensor *ad_ones(ad_ctx *ctx, ad_shape shape);
AD_API ad_tensor *ad_full(ad_ctx *ctx, ad_shape shape, double value);
/* A 0-d tensor holding value (PyTorch's torch.tensor(3.5)). */
AD_API ad_tensor *ad_scalar(ad_ctx *ctx, double value);
/* [start, start+step, ...) up to but excluding stop, like torch.arange. */
AD_API ad_tensor *ad_arange(ad_ctx *ctx, double start, double stop, double step);
/* 0, 1, ..., n-1 */
AD_API ad_tensor *ad_arange_n(ad_ctx *ctx, int64_t n);
/* n evenly spaced values from start to stop inclusive. */
AD_API ad_tensor *ad_linspace(ad_ctx *ctx, double start, double stop, int64_t n);
/* n x m matrix with ones on the diagonal (ad_eye: square). */
AD_API ad_tensor *ad_eye(ad_ctx *ctx, int64_t n);
AD_API ad_tensor *ad_eye_nm(ad_ctx *ctx, int64_t n, int64_t m);
/* Uniform on [0, 1) and standard normal, from the context's seeded RNG. */
AD_API ad_tensor *ad_rand(ad_ctx *ctx, ad_shape shape);
AD_API ad_tensor *ad_randn(ad_ctx *ctx, ad_shape shape);
/* Counts of n draws from the categories along probs' last axis (each row
 * drawn on its own), like torch.distributions.Multinomial(n, probs).sample():
 * same shape as probs, each row summing to n.  Rows need not be normalised
 * but must be finite, non-negative, with a positive sum.  Uses GSL's
 * gsl_ran_multinomial with the context's seeded RNG; the result is a
 * constant (no gradient). */
AD_API ad_tensor *ad_multinomial(ad_ctx *ctx, ad_tensor *probs, int64_t n);
/* A copy of numel(shape) doubles read row-major from src. */
AD_API ad_tensor *ad_from_array(ad_ctx *ctx, ad_shape shape, const double *src);
/* A tensor over the caller's buffer, without copying: writes through either
 * side are seen by the other (numpy's shared memory).  The caller keeps the
 * buffer alive and frees it after the last tensor using it is freed.  The
 * bytes are not counted in the context's statistics (it does not own them). */
AD_API ad_tensor *ad_wrap(ad_ctx *ctx, ad_shape shape, double *buf);
/* A contiguous copy with its own storage (detached from any graph only in
 * storage: clone is differentiable, like torch.clone). */
AD_API ad_tensor *ad_clone(ad_tensor *t);
/* t itself (a new reference) if already contiguous, else a contiguous copy. */
AD_API ad_tensor *ad_contiguous(ad_tensor *t);
/* Copies the elements into dst (row-major order); dst holds numel doubles. */
AD_API int ad_to_array(const ad_tensor *t, double *dst, int64_t numel);

/* ---- element access ---------------------------------------------------- */

/* Value at a full index (negative entries count from the end).  On error
 * returns NAN and records the error. */
AD_API double ad_getv(const ad_tensor *t, int n, const int64_t *idx);
/* Writes one element (an in-place write: bumps the version). */
AD_API int ad_setv(ad_tensor *t, int n, const int64_t *idx, double value);
/* The single value of a one-element tensor (PyTorch's .item()). */
AD_API double ad_item(const ad_tensor *t);

/* ad_at(X, 1, 2) reads X[1, 2];  ad_set_at(X, 9.0, 1, 2) writes X[1, 2] = 9 */
#define ad_at(t, ...) ad_getv((t), AD_NARGS_I64_(__VA_ARGS__), (const int64_t[]){__VA_ARGS__})
#define ad_set_at(t, v, ...) \
    ad_setv((t), AD_NARGS_I64_(__VA_ARGS__), (const int64_t[]){__VA_ARGS__}, (v))

#ifdef __cplusplus
}
#endif
#endif
