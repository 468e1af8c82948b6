/* adscope/linalg.h — products and norms, on the CBLAS the build found
 * (OpenBLAS when installed, GSL's reference CBLAS otherwise).
 *
 *   ad_dot(x, y)      1-d · 1-d           -> 0-d          torch.dot
 *   ad_mv(A, x)       [m,n] · [n]         -> [m]          torch.mv
 *   ad_mm(A, B)       [m,k] · [k,n]       -> [m,n]        torch.mm
 *   ad_matmul(a, b)   torch.matmul: 1-d/2-d as above, and batched over
 *                     leading axes that broadcast ([2,1,3,4] @ [5,4,2]
 *                     -> [2,5,3,2])
 *   ad_outer(x, y)    [m] x [n]           -> [m,n]
 *   ad_cross(a, b, axis)  cross product along an axis of length 3
 *   ad_trace(A)       sum of the diagonal of a 2-d tensor
 *   ad_norm(x, p, axes, keepdims)  p = 1, 2, any p > 0, or INFINITY (max |x|)
 *   ad_norm_fro(A)    Frobenius norm (L2 over all elements)
 * Transposed views are passed to BLAS without copying.
 */
#ifndef ADSCOPE_LINALG_H
#define ADSCOPE_LINALG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

AD_API ad_tensor *ad_dot(ad_tensor *x, ad_tensor *y);
AD_API ad_tensor *ad_mv(ad_tensor *A, ad_tensor *x);
AD_API ad_tensor *ad_mm(ad_tensor *A, ad_tensor *B);
AD_API ad_tensor *ad_matmul(ad_tensor *a, ad_tensor *b);
AD_API ad_tensor *ad_outer(ad_tensor *x, ad_tensor *y);
/* axis: the length-3 axis (for 1-d inputs: 0 or -1); a and b broadcast. */
AD_API ad_tensor *ad_cross(ad_tensor *a, ad_tensor *b, int axis);
AD_API ad_tensor *ad_trace(ad_tensor *A);
AD_API ad_tensor *ad_norm(ad_tensor *x, double p, ad_axes axes, bool keepdims);
AD_API ad_tensor *ad_norm_fro(ad_tensor *A);
/* The name of the CBLAS linked in ("OpenBLAS 0.3.21" or "GSL CBLAS"). */
AD_API const char *ad_blas_name(void);
/* The kernel set the BLAS chose for this CPU (OpenBLAS's core name, e.g.
 * "SkylakeX" or "Prescott" when it does not know the CPU; "n/a" for a BLAS
 * that does not say).  OPENBLAS_CORETYPE=SkylakeX in the environment
 * overrides OpenBLAS's choice. */
AD_API const char *ad_blas_core(void);

#ifdef __cplusplus
}
#endif
#endif
