/* adscope/forward.h — forward mode: tensors carrying tangents (dual numbers).
 *
 *     ad_fwd_begin(ctx, 1);                 // one tangent direction
 *     ad_set_tangent(x, v);                 // ẋ = v (x's shape, or [1, shape])
 *     ad_tensor *y = ad_sum(ad_mul(ad_sin(x), x), AD_ALL, false); // every op applies its JVP rule
 *     ad_tensor *jv = ad_get_tangent(y);    // ẏ = J v
 *     ad_fwd_end(ctx);
 *
 * With width k > 1 (vector mode) a tensor of shape S carries k tangents as
 * one tensor of shape [k, S]: one evaluation of f gives k directional
 * derivatives.  Nothing is kept beyond the tensors themselves, so memory
 * stays flat however long the computation runs.  Tangents are counted in
 * AD_MEM_TANGENTS.
 *
 * Levels (nested differentiation): each ad_fwd_begin opens a level inside
 * the ones already open (at most 4 deep), and ad_fwd_end closes the
 * innermost.  A tensor carries one tangent per level; the calls below act
 * on the innermost level.  Each level's JVP rules run with the outer
 * levels on, so an inner tangent carries its own outer tangent (the
 * derivative of a derivative), and the levels never mix: d/dx [x · d/dy
 * (x + y)] is 1, not 2 (Siskind and Pearlmutter's perturbation confusion).
 * A tangent left by a closed level is never read by a later one.  While
 * grad mode is on, JVP rules are recorded like any op, so reverse mode can
 * differentiate a tangent (reverse over forward).  The drivers open their
 * own levels, so a function that calls a driver can itself be
 * differentiated (drivers.h).
 */
#ifndef ADSCOPE_FORWARD_H
#define ADSCOPE_FORWARD_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Open a forward level with k tangent directions per tensor (1 <= k);
 * AD_ELIMIT beyond 4 levels open. */
AD_API int ad_fwd_begin(ad_ctx *ctx, int k);
/* Close the innermost level: its tangents stop propagating.  With no level
 * left open, the tangents already attached stay readable (ad_get_tangent)
 * until their tensors go. */
AD_API void ad_fwd_end(ad_ctx *ctx);
/* The innermost level's width (0 when forward mode is off). */
AD_API int ad_fwd_width(const ad_ctx *ctx);

/* Attach a tangent to x: shape S (width 1 only) or [k, S].  Copies it.
 * NULL removes the tangent. */
AD_API int ad_set_tangent(ad_tensor *x, ad_tensor *tangent);
/* The tangent of t as a new tensor: shape S for width 1, [k, S] otherwise;
 * a tensor of zeros if t carries none (its derivative is zero).  It keeps
 * its own derivatives at the outer levels and on the tape. */
AD_API ad_tensor *ad_get_tangent(ad_tensor *t);
AD_API bool ad_has_tangent(const ad_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
