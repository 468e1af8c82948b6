/* adscope/common.h — types and macros shared by every public header.
 *
 * Ownership conventions used throughout the API (read this once):
 *   - A function that returns `ad_tensor *` returns a NEW reference that the
 *     caller owns and releases with ad_tensor_free() (or that the innermost
 *     open scope releases, see ad_scope_begin in ctx.h).  NULL means failure;
 *     the reason is in ad_errmsg(ctx).  The one exception is ad_grad()
 *     (autograd.h), which returns a BORROWED pointer to the tensor's .grad,
 *     as PyTorch's x.grad does: never free it; ad_tensor_ref() keeps it.
 *     Freeing it anyway is refused (AD_ESTATE, "borrowed") while its tensor
 *     holds it, and so is freeing a reference a second time while its
 *     handle waits for reuse; a handle reused since cannot be told apart.
 *   - `ad_tensor *` parameters are BORROWED: the callee never frees them.
 *     Passing NULL is allowed everywhere and yields NULL (the error that
 *     produced the NULL stays recorded), so calls can be chained.
 *   - Views (slices, transpose, reshape of contiguous data, expand, ...)
 *     share storage with their base; the storage lives as long as any view.
 */
#ifndef ADSCOPE_COMMON_H
#define ADSCOPE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ADSCOPE_BUILDING) && defined(__GNUC__)
#define AD_API __attribute__((visibility("default")))
#else
#define AD_API
#endif

/* Most axes a tensor may have.  Derivatives are stored k at a time as one
 * tensor with a leading axis of length k (forward tangents, gradient rows,
 * Jacobian columns), so a tensor that is differentiated, or whose
 * derivative is stored that way, may have at most AD_MAX_DIMS - 1 axes:
 * beyond, the call fails with AD_ESHAPE and says to reshape.  (Reverse
 * mode's Jacobian of a value with AD_MAX_DIMS axes needs no such tensor and
 * works.) */
#define AD_MAX_DIMS 12

typedef struct ad_ctx ad_ctx;
typedef struct ad_tensor ad_tensor;

/* A shape passed by value: AD_SHAPE(3, 4), or AD_SCALAR for a 0-d tensor. */
typedef struct ad_shape {
    int ndim;
    int64_t dim[AD_MAX_DIMS];
} ad_shape;

#define AD_NARGS_I64_(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define AD_SHAPE(...) ((ad_shape){.ndim = AD_NARGS_I64_(__VA_ARGS__), .dim = {__VA_ARGS__}})
#define AD_SCALAR ((ad_shape){.ndim = 0, .dim = {0}})

/* A set of axes for reductions: AD_AXES(1), AD_AXES(0, 2), or AD_ALL for
 * every axis.  Negative axes count from the end, as in NumPy. */
typedef struct ad_axes {
    int n; /* -1: all axes */
    int axis[AD_MAX_DIMS];
} ad_axes;

#define AD_NARGS_INT_(...) ((int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)))
#define AD_AXES(...) ((ad_axes){.n = AD_NARGS_INT_(__VA_ARGS__), .axis = {__VA_ARGS__}})
#define AD_ALL ((ad_axes){.n = -1, .axis = {0}})

/* One entry of a subscript, as in X[1, 0:2, ::-1]:
 *   AD_I(i)          an integer index (removes the axis; negative from end)
 *   AD_S(a, b)       the slice a:b        AD_SS(a, b, step)  a:b:step
 *   AD_FULL          the slice :          AD_NEWAXIS         None
 *   AD_ELLIPSIS      ... (as many full slices as needed)
 * AD_END stands for an omitted bound (X[2:] is AD_S(2, AD_END)). */
typedef enum { AD_IDX_INT, AD_IDX_SLICE, AD_IDX_NEWAXIS, AD_IDX_ELLIPSIS } ad_index_kind;
typedef struct ad_index {
    ad_index_kind kind;
    int64_t start, stop, step;
} ad_index;

#define AD_END INT64_MIN
#define AD_I(i) ((ad_index){.kind = AD_IDX_INT, .start = (i), .stop = 0, .step = 0})
#define AD_S(a, b) ((ad_index){.kind = AD_IDX_SLICE, .start = (a), .stop = (b), .step = 1})
#define AD_SS(a, b, s) ((ad_index){.kind = AD_IDX_SLICE, .start = (a), .stop = (b), .step = (s)})
#define AD_FULL AD_SS(AD_END, AD_END, 1)
#define AD_NEWAXIS ((ad_index){.kind = AD_IDX_NEWAXIS, .start = 0, .stop = 0, .step = 0})
#define AD_ELLIPSIS ((ad_index){.kind = AD_IDX_ELLIPSIS, .start = 0, .stop = 0, .step = 0})
#define AD_NARGS_IDX_(...) ((int)(sizeof((ad_index[]){__VA_ARGS__}) / sizeof(ad_index)))

#ifdef __cplusplus
}
#endif
#endif
