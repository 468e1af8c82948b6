/* src/ops/fuse.h — internal: VJP rules in one pass over memory, and the
 * adjoint's buffer reused for the result.
 *
 * A rule written with ops (ad_mul(g, ad_mul_s(x, 2)) for square) makes one
 * array per op and reads it back: two passes over n doubles where one
 * would do, and a fresh buffer where the incoming adjoint, which nobody
 * else holds, could take the result.  The rules of unary.c, scalar.c and
 * binary.c call ad_fuse_vjp instead when ad_fuse_plain says nothing would
 * be recorded or propagated (no create_graph, no active tangent): the
 * fused kernel computes the same expression, in the same order, with the
 * same SIMD functions, so its result is bit-identical to the ops' (the
 * factor 2 of square is exact).  When something is tracked the rules take
 * the ops' path, which records and propagates tangents as before. */
#ifndef ADSCOPE_OPS_FUSE_H
#define ADSCOPE_OPS_FUSE_H

#include "op.h"

/* z from u (an element of the adjoint g) and v (of the operand x):
 * each the value an op chain of the rule gives. */
typedef enum {
    AD_FUSE_NEG,         /* -u                     neg, rsub_s, sub's second input */
    AD_FUSE_SCALE,       /* u·s                    mul_s */
    AD_FUSE_MUL,         /* u·v                    exp (v = y), mul */
    AD_FUSE_MUL2,        /* u·(2v)                 square */
    AD_FUSE_MUL_COS,     /* u·cos(v)               sin */
    AD_FUSE_NEG_MUL_SIN, /* -(u·sin(v))            cos */
    AD_FUSE_COUNT
} ad_fuse_kind;

/* True when the rule may compute with raw kernels: no operand would make
 * an op record (grad mode on and requires grad) or carry a tangent. */
static inline bool ad_fuse_plain(ad_tensor *g, ad_tensor *x)
{
    ad_tensor *t[2] = {g, x ? x : g};
    return !ad_op_tracked(2, t);
}

/* True when g's buffer may take a rule's result: the caller's reference
 * is the only one (the sweep's adjoint after its last share went), one
 * storage of our own, contiguous, no graph, no tangent, no scope slot. */
bool ad_fuse_exclusive(const ad_tensor *g);

/* z = kind(g, x [, s]) elementwise over g's shape, x broadcast to it (x
 * NULL for NEG and SCALE).  Written into g itself when reuse is true and
 * ad_fuse_exclusive(g) (its version bumped), else into a fresh tensor.
 * Returns a new reference (registered in the open scope), or NULL with an
 * error recorded.  Only for plain calls (ad_fuse_plain). */
ad_tensor *ad_fuse_vjp(ad_fuse_kind kind, ad_tensor *g, ad_tensor *x, double s, bool reuse);

/* Whether two tensors have one shape (no broadcasting between them). */
bool ad_fuse_same_shape(const ad_tensor *a, const ad_tensor *b);
/* Whether tangent t is [k, x.shape] exactly (a JVP's fused result then
 * has t's shape, as the op chain's). */
bool ad_fuse_tangent_fits(const ad_tensor *t, const ad_tensor *x);

#endif
