/* adscope/reduce.h — reductions and scans.
 *
 * Reductions take a set of axes (AD_AXES(1), AD_AXES(0, 2) or AD_ALL) and
 * keepdims, as in NumPy/PyTorch: for A of shape [2,3,4],
 *   ad_sum(A, AD_AXES(1), false)     -> shape [2,4]
 *   ad_sum(A, AD_AXES(0, 2), false)  -> shape [3]
 *   ad_sum(A, AD_AXES(1), true)      -> shape [2,1,4]
 *   ad_sum(A, AD_ALL, false)         -> a 0-d tensor
 * An empty axis list ((ad_axes){.n = 0}) reduces nothing,
 * as NumPy's axis=().  Sums are pairwise within contiguous runs and
 * compensated across runs (error O(log n · eps), whatever the layout).
 * Empty reductions: sum 0, prod 1, mean/var NaN, logsumexp -inf; max, min
 * and argmax of an empty axis are AD_ESHAPE errors.  NaN propagates through
 * max/min (and is what argmax/argmin find first).  max/min pass the
 * gradient to the extreme elements, split evenly among ties (a symmetric
 * subgradient); prod and cumprod are exact to first order with zeros.
 */
#ifndef ADSCOPE_REDUCE_H
#define ADSCOPE_REDUCE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

AD_API ad_tensor *ad_sum(ad_tensor *x, ad_axes axes, bool keepdims);
AD_API ad_tensor *ad_mean(ad_tensor *x, ad_axes axes, bool keepdims);
AD_API ad_tensor *ad_prod(ad_tensor *x, ad_axes axes, bool keepdims);
AD_API ad_tensor *ad_max(ad_tensor *x, ad_axes axes, bool keepdims);
AD_API ad_tensor *ad_min(ad_tensor *x, ad_axes axes, bool keepdims);
/* Variance and standard deviation with `correction` degrees of freedom
 * removed from the divisor (1: unbiased, torch's default; 0: population).
 * The divisor is max(N - correction, 0); a negative or non-finite
 * correction is AD_EINVAL.  The mean is refined before the squared
 * deviations are summed: large offsets do not cancel, and a group of equal
 * values has variance exactly 0.  At zero spread the gradient of std is 0
 * (the least-norm subgradient, as torch.std's), in forward and reverse mode
 * alike; std records StdBackward0, as PyTorch. */
AD_API ad_tensor *ad_var(ad_tensor *x, ad_axes axes, double correction, bool keepdims);
AD_API ad_tensor *ad_std(ad_tensor *x, ad_axes axes, double correction, bool keepdims);
/* log(sum(exp(x))) computed stably (shifted by the max). */
AD_API ad_tensor *ad_logsumexp(ad_tensor *x, ad_axes axes, bool keepdims);
/* Shorthands over all elements, returning 0-d tensors. */
AD_API ad_tensor *ad_sum_all(ad_tensor *x);
AD_API ad_tensor *ad_mean_all(ad_tensor *x);

/* Index of the largest / smallest element along axis (as a tensor of
 * integer values; the first one on ties).  ad_argmax_all: flat index. */
AD_API ad_tensor *ad_argmax(ad_tensor *x, int axis, bool keepdims);
AD_API ad_tensor *ad_argmin(ad_tensor *x, int axis, bool keepdims);
AD_API ad_tensor *ad_argmax_all(ad_tensor *x);
AD_API ad_tensor *ad_argmin_all(ad_tensor *x);

/* Running sum / product along axis; same shape as x. */
AD_API ad_tensor *ad_cumsum(ad_tensor *x, int axis);
AD_API ad_tensor *ad_cumprod(ad_tensor *x, int axis);

/* softmax and log-softmax along axis (stable). */
AD_API ad_tensor *ad_softmax(ad_tensor *x, int axis);
AD_API ad_tensor *ad_log_softmax(ad_tensor *x, int axis);

#ifdef __cplusplus
}
#endif
#endif
