/* src/ops/index.h — internal side of indexing (index.c) and joining
 * (join.c): the normalised form of a subscript and the ops that only rules
 * and in-place assignment use (slice_scatter, index_add, scatter_add).
 * Not installed. */
#ifndef ADSCOPE_OPS_INDEX_H
#define ADSCOPE_OPS_INDEX_H

#include "op.h"

/* A subscript resolved against a shape: everything a slice needs, as plain
 * data (it is the tape attribute of slice and slice_scatter).
 *   input axis i:  elements start[i] + j·step[i] for j < len[i];
 *                  dropped bit i: an integer index (len 1, axis removed)
 *   output axis j: newaxes bit j: a new axis of length 1 (None); otherwise
 *                  the next input axis that is not dropped, in order. */
typedef struct ad_slice_attr {
    int32_t in_ndim, out_ndim;
    uint32_t dropped, newaxes;
    int64_t start[AD_MAX_DIMS], step[AD_MAX_DIMS], len[AD_MAX_DIMS];
} ad_slice_attr;

/* Resolves ix[0..n) against (ndim, shape) with Python's rules.  `what`
 * names the caller in errors. */
int ad_slice_resolve(ad_ctx *ctx, const char *what, int ndim, const int64_t *shape, int n, const ad_index *ix,
                     ad_slice_attr *a);
/* The same attribute with a whole leading axis of length k in front (the
 * batch axis of tangents). */
ad_slice_attr ad_slice_attr_batched(const ad_slice_attr *a, int64_t k);
/* Shape of the slice (out_ndim axes) into shape. */
void ad_slice_out_shape(const ad_slice_attr *a, int64_t *shape);

/* x[a] as a recorded view (op slice). */
ad_tensor *ad_slice_apply(ad_tensor *x, const ad_slice_attr *a);
/* x[start:start+len] along one axis, and x[i] along one axis (recorded). */
ad_tensor *ad_slice_axis(ad_tensor *x, int axis, int64_t start, int64_t len);
ad_tensor *ad_select(ad_tensor *x, int axis, int64_t i);

/* A copy of base with base[a] = src (src broadcast to the slice's shape).
 * y = base with y[ix] = src;   ẏ = slice_scatter(ḃase, ṡrc);
 * basē += slice_scatter(ȳ, 0),   src̄ += sum_to(ȳ[ix], src.shape) */
ad_tensor *ad_slice_scatter_apply(ad_tensor *base, ad_tensor *src, const ad_slice_attr *a);
ad_tensor *ad_slice_scatter(ad_tensor *base, ad_tensor *src, int n, const ad_index *ix);

/* A copy of base with y[.., idx[j], ..] += src[.., j, ..] along axis (the
 * adjoint of index_select; repeated indices accumulate).  src has base's
 * shape with n on that axis; idx entries may be negative (from the end). */
ad_tensor *ad_index_add(ad_tensor *base, int axis, int64_t n, const int64_t *idx, ad_tensor *src);

/* A copy of base with y[..index[i,j,k]..] += src[i,j,k] along axis (the
 * adjoint of gather, torch.Tensor.scatter_add).  src has index's shape;
 * index holds integer values in [0, base.shape[axis]). */
ad_tensor *ad_scatter_add(ad_tensor *base, int axis, ad_tensor *index, ad_tensor *src);

/* x̄ += the share of input 0 of an indexing record (op slice, index_select
 * or gather, with its tape attribute; index: gather's saved index, else
 * unused), added in place into acc, which has x's shape and shares no
 * storage with g (src/sweep.c checks both).  Repeated indices accumulate.
 * AD_OK, or the error (another op: AD_ESTATE). */
int ad_index_share_into(ad_tensor *acc, ad_opid op, const void *attr, ad_tensor *index, ad_tensor *g);

#endif
