/* adscope/index.h — indexing and slicing with Python's rules.
 *
 *   Python            adscope
 *   X[-1]             ad_idx(X, AD_I(-1))
 *   X[1:3]            ad_idx(X, AD_S(1, 3))
 *   X[:, 0:2]         ad_idx(X, AD_FULL, AD_S(0, 2))      or ad_getitem(X, ":, 0:2")
 *   X[::2]            ad_idx(X, AD_SS(AD_END, AD_END, 2))  or ad_getitem(X, "::2")
 *   X[1, 2] = 9       ad_setitem_s(X, 9, AD_I(1), AD_I(2))
 *   X[0:2, :] = 12    ad_setitem_s(X, 12, AD_S(0, 2), AD_FULL)
 *
 * A subscript shorter than ndim leaves the remaining axes whole.  Slices are
 * views sharing storage; out-of-range slice bounds are clipped as in Python,
 * out-of-range integer indices are an AD_EINDEX error.
 */
#ifndef ADSCOPE_INDEX_H
#define ADSCOPE_INDEX_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X[ix[0], ..., ix[n-1]] as a view. */
AD_API ad_tensor *ad_slice(ad_tensor *x, int n, const ad_index *ix);
#define ad_idx(x, ...) ad_slice((x), AD_NARGS_IDX_(__VA_ARGS__), (const ad_index[]){__VA_ARGS__})
/* The same from Python syntax: "1:3, ::2", "-1", ":, None, 0". */
AD_API ad_tensor *ad_getitem(ad_tensor *x, const char *subscript);
/* Parses a subscript into ix (capacity cap); returns the entry count or a
 * negative status (AD_ESYNTAX with the position in the message). */
AD_API int ad_parse_subscript(ad_ctx *ctx, const char *s, ad_index *ix, int cap);

/* X[ix] = v (v broadcasts to the slice's shape) and X[ix] = value.  In
 * place: bumps the version; differentiable with respect to X and v. */
AD_API int ad_setitem(ad_tensor *x, int n, const ad_index *ix, ad_tensor *v);
AD_API int ad_setitem_scalar(ad_tensor *x, int n, const ad_index *ix, double value);
#define ad_setitem_s(x, value, ...) \
    ad_setitem_scalar((x), AD_NARGS_IDX_(__VA_ARGS__), (const ad_index[]){__VA_ARGS__}, (value))
#define ad_setitem_t(x, v, ...) \
    ad_setitem((x), AD_NARGS_IDX_(__VA_ARGS__), (const ad_index[]){__VA_ARGS__}, (v))

/* Rows of x along axis at the given indices (negative from the end):
 * torch.index_select.  The result has len(idx) on that axis. */
AD_API ad_tensor *ad_index_select(ad_tensor *x, int axis, int64_t n, const int64_t *idx);
/* out[i][j][k] = x[i][index[i][j][k]][k] for axis 1 (torch.gather): index is
 * a tensor of integer values, its shape is the result's shape. */
AD_API ad_tensor *ad_gather(ad_tensor *x, int axis, ad_tensor *index);

#ifdef __cplusplus
}
#endif
#endif
