/* adscope/shape.h — reshaping, views, joining.
 *
 * View functions return a tensor that shares storage with its input (writes
 * through one are seen by the other): ad_view, ad_transpose, ad_T,
 * ad_permute, ad_expand, ad_broadcast_to, ad_squeeze, ad_unsqueeze, and
 * ad_reshape / ad_flatten when the data is contiguous (otherwise they copy,
 * as torch.reshape does).  All are differentiable.
 */
#ifndef ADSCOPE_SHAPE_H
#define ADSCOPE_SHAPE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* New shape with the same number of elements; one entry may be -1 and is
 * inferred.  A view when the layout allows it, else a copy. */
AD_API ad_tensor *ad_reshape(ad_tensor *x, ad_shape shape);
/* Like ad_reshape but never copies: AD_ESHAPE if a view is impossible. */
AD_API ad_tensor *ad_view(ad_tensor *x, ad_shape shape);
/* All axes into one (a 1-d tensor; a 0-d tensor becomes length 1). */
AD_API ad_tensor *ad_flatten(ad_tensor *x);
/* Remove axis (which must have length 1); ad_squeeze_all removes every
 * length-1 axis. */
AD_API ad_tensor *ad_squeeze(ad_tensor *x, int axis);
AD_API ad_tensor *ad_squeeze_all(ad_tensor *x);
/* Insert a length-1 axis at position axis (0..ndim; negative from end). */
AD_API ad_tensor *ad_unsqueeze(ad_tensor *x, int axis);
/* Swap two axes. */
AD_API ad_tensor *ad_transpose(ad_tensor *x, int axis0, int axis1);
/* Reverse all axes (PyTorch's .T; the matrix transpose for 2-d). */
AD_API ad_tensor *ad_T(ad_tensor *x);
/* Reorder axes: result axis i is input axis perm[i]. */
AD_API ad_tensor *ad_permute(ad_tensor *x, int n, const int *perm);
#define ad_permute_v(x, ...) ad_permute((x), AD_NARGS_INT_(__VA_ARGS__), (const int[]){__VA_ARGS__})
/* Stretch length-1 axes (and prepend axes) to shape without copying; -1
 * keeps an axis's length.  ad_broadcast_to is the same without -1. */
AD_API ad_tensor *ad_expand(ad_tensor *x, ad_shape shape);
AD_API ad_tensor *ad_broadcast_to(ad_tensor *x, ad_shape shape);
/* Sum x down to shape (the reverse of broadcasting; torch's sum_to_size). */
AD_API ad_tensor *ad_sum_to(ad_tensor *x, ad_shape shape);
/* The broadcast shape of two shapes, or AD_ESHAPE (recorded in ctx). */
AD_API int ad_broadcast_shapes(ad_ctx *ctx, const ad_shape *a, const ad_shape *b, ad_shape *out);

/* Join n tensors along an existing axis (concatenate) or a new one (stack). */
AD_API ad_tensor *ad_concat(ad_tensor *const *ts, int n, int axis);
AD_API ad_tensor *ad_stack(ad_tensor *const *ts, int n, int axis);

#ifdef __cplusplus
}
#endif
#endif
