/* src/ops/binary.c — broadcasting binary ops and where(): value, JVP and
 * VJP side by side.  Tangents arrive lifted to the output's rank (op.h), so
 * ȧ·b broadcasts; gradients are summed back to each input's shape. */
#include <math.h>

#include "ew.h"
#include "fuse.h"
#include "op.h"

static ad_tensor *binary(int opid, ad_ew_kind kind, ad_tensor *a, ad_tensor *b)
{
    AD_ARG(a);
    AD_ARG(b);
    ad_tensor *in[2] = {a, b};
    return ad_op_finish(opid, ad_ew_apply(ad_ops[opid].name, kind, a, b), 2, in, NULL, 0);
}

/* Whether the adjoint g has input i's shape (no sum over broadcast axes). */
static bool same_as_input(const ad_call *c, int i, const ad_tensor *g)
{
    const ad_edge *e = &c->edges[i];
    if (g->ndim != e->ndim) return false;
    for (int d = 0; d < g->ndim; d++)
        if (g->shape[d] != e->shape[d]) return false;
    return true;
}

/* ad_<id>(a, b): op AD_OP_<id> of ops.def with kernel AD_EW_<id> of ew.def,
 * named by one token so that neither list can drift from the other. */
#define BINARY_OP(id) \
    ad_tensor *ad_##id(ad_tensor *a, ad_tensor *b) { return binary(AD_OP_##id, AD_EW_##id, a, b); }

/* y = a + b;   ẏ = ȧ + ḃ;   ā += ȳ,  b̄ += ȳ   (summed over broadcast axes) */
BINARY_OP(add)
ad_tensor *ad_op_add_jvp(const ad_call *c, ad_tensor *const *t)
{
    (void)c;
    return ad_op_add_opt(t[0], t[1]);
}
int ad_op_add_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, g);
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, g);
    return AD_OK;
}

/* y = a - b;   ẏ = ȧ - ḃ;   ā += ȳ,  b̄ += -ȳ */
BINARY_OP(sub)
ad_tensor *ad_op_sub_jvp(const ad_call *c, ad_tensor *const *t)
{
    (void)c;
    if (!t[1]) return ad_tensor_ref(t[0]);
    return t[0] ? ad_sub(t[0], t[1]) : ad_neg(t[1]);
}
int ad_op_sub_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, g);
    if (!c->need[1]) return AD_OK;
    /* -ȳ in one pass, in ȳ's buffer when gin[0] did not take it (fuse.h) */
    if (ad_fuse_plain(g, NULL) && same_as_input(c, 1, g))
        gin[1] = ad_fuse_vjp(AD_FUSE_NEG, g, NULL, 0, true);
    else
        gin[1] = ad_op_sum_to_input(c, 1, ad_neg(g));
    return AD_OK;
}

/* y = a·b;   ẏ = ȧ·b + a·ḃ;   ā += ȳ·b,  b̄ += ȳ·a */
BINARY_OP(mul)
ad_tensor *ad_op_mul_jvp(const ad_call *c, ad_tensor *const *t)
{
    ad_tensor *r = t[0] ? ad_mul(t[0], c->in[1]) : NULL;
    ad_tensor *q = t[1] ? ad_mul(c->in[0], t[1]) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_mul_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    /* Nothing broadcast and nothing tracked: the last share computed may
     * take ȳ's own buffer (fuse.h); the first must not, the second reads ȳ. */
    ad_tensor *ops[3] = {g, c->in[0], c->in[1]};
    if (!ad_op_tracked(3, ops) && same_as_input(c, 0, g) && same_as_input(c, 1, g)) {
        if (c->need[0]) gin[0] = ad_fuse_vjp(AD_FUSE_MUL, g, c->in[1], 0, !c->need[1]);
        if (c->need[1]) gin[1] = ad_fuse_vjp(AD_FUSE_MUL, g, c->in[0], 0, true);
        return AD_OK;
    }
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_mul(g, c->in[1]));
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_mul(g, c->in[0]));
    return AD_OK;
}

/* y = a/b;   ẏ = ȧ/b - a·ḃ/b²;   ā += ȳ/b,  b̄ += -ȳ·a/b² */
BINARY_OP(div)
ad_tensor *ad_op_div_jvp(const ad_call *c, ad_tensor *const *t)
{
    ad_tensor *r = t[0] ? ad_div(t[0], c->in[1]) : NULL;
    ad_tensor *q = t[1] ? ad_neg(ad_div(ad_mul(t[1], c->in[0]), ad_square(c->in[1]))) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_div_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_div(g, c->in[1]));
    if (c->need[1])
        gin[1] = ad_op_sum_to_input(c, 1, ad_neg(ad_div(ad_mul(g, c->in[0]), ad_square(c->in[1]))));
    return AD_OK;
}

/* y = a^b;   ẏ = b·a^(b-1)·ȧ + y·log(a)·ḃ
 * ā += ȳ·b·a^(b-1),  b̄ += ȳ·y·log(a)   where a = 0 contributes 0 to b̄
 * (the limit of y·log a when b > 0, as PyTorch does). */
BINARY_OP(pow)
static ad_tensor *pow_da(const ad_call *c) { return ad_mul(c->in[1], ad_pow(c->in[0], ad_sub_s(c->in[1], 1))); }
static ad_tensor *pow_db(const ad_call *c)
{
    ad_tensor *a = c->in[0];
    return ad_where(ad_eq_s(a, 0), ad_scalar(a->ctx, 0), ad_mul(c->out, ad_log(a)));
}
ad_tensor *ad_op_pow_jvp(const ad_call *c, ad_tensor *const *t)
{
    ad_tensor *r = t[0] ? ad_mul(t[0], pow_da(c)) : NULL;
    ad_tensor *q = t[1] ? ad_mul(t[1], pow_db(c)) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_pow_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_mul(g, pow_da(c)));
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_mul(g, pow_db(c)));
    return AD_OK;
}

/* y = max(a, b);   the derivative goes to the larger operand; at a tie each
 * gets half (a symmetric subgradient, as PyTorch's maximum).
 * w = [a > b] + ½[a = b];   ẏ = w·ȧ + (1-w)·ḃ;   ā += w·ȳ,  b̄ += (1-w)·ȳ */
static ad_tensor *tie_weight(ad_tensor *a, ad_tensor *b, bool max)
{
    ad_tensor *win = max ? ad_gt(a, b) : ad_lt(a, b);
    return ad_add(win, ad_mul_s(ad_eq(a, b), 0.5));
}
static ad_tensor *extremum_jvp(const ad_call *c, ad_tensor *const *t, bool max)
{
    ad_tensor *w = tie_weight(c->in[0], c->in[1], max);
    ad_tensor *r = t[0] ? ad_mul(t[0], w) : NULL;
    ad_tensor *q = t[1] ? ad_mul(t[1], ad_rsub_s(1, w)) : NULL;
    return ad_op_add_opt(r, q);
}
static int extremum_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin, bool max)
{
    ad_tensor *w = tie_weight(c->in[0], c->in[1], max);
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_mul(g, w));
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_mul(g, ad_rsub_s(1, w)));
    return AD_OK;
}
BINARY_OP(maximum)
ad_tensor *ad_op_maximum_jvp(const ad_call *c, ad_tensor *const *t) { return extremum_jvp(c, t, true); }
int ad_op_maximum_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin) { return extremum_vjp(c, g, gin, true); }
BINARY_OP(minimum)
ad_tensor *ad_op_minimum_jvp(const ad_call *c, ad_tensor *const *t) { return extremum_jvp(c, t, false); }
int ad_op_minimum_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin) { return extremum_vjp(c, g, gin, false); }

/* ---- atan2, hypot ----------------------------------------------------------
 * With h = hypot(a, b) = √(a² + b²):
 *   ∂atan2(a, b)/∂a = b/h²,   ∂atan2(a, b)/∂b = -a/h²,
 *   ∂hypot(a, b)/∂a = a/h,    ∂hypot(a, b)/∂b = b/h.
 * h² is formed as (·/h)/h, never as a² + b²: that would overflow for
 * |a| > 1e154 and underflow for |a| < 1e-162 where the derivatives are still
 * normal numbers. */

/* y = atan2(a, b), the angle of the point (b, a);
 * ẏ = (b·ȧ - a·ḃ)/h²;   ā += ȳ·b/h²,  b̄ += -ȳ·a/h²
 * At the origin atan2 is not even continuous: the derivatives are NaN
 * (0/0), as torch.atan2's (its rule multiplies by 1/(a² + b²) = inf). */
BINARY_OP(atan2)
static ad_tensor *over_h2(const ad_call *c, ad_tensor *num)
{
    ad_tensor *h = ad_hypot(c->in[0], c->in[1]);
    return ad_div(ad_div(num, h), h);
}
ad_tensor *ad_op_atan2_jvp(const ad_call *c, ad_tensor *const *t)
{
    ad_tensor *r = t[0] ? ad_mul(t[0], c->in[1]) : NULL;
    ad_tensor *q = t[1] ? ad_neg(ad_mul(t[1], c->in[0])) : NULL;
    return over_h2(c, ad_op_add_opt(r, q));
}
int ad_op_atan2_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, over_h2(c, ad_mul(g, c->in[1])));
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_neg(over_h2(c, ad_mul(g, c->in[0]))));
    return AD_OK;
}

/* y = hypot(a, b) = √(a² + b²) without overflow or underflow (libm's hypot);
 * ẏ = (a·ȧ + b·ḃ)/y;   ā += ȳ·a/y,  b̄ += ȳ·b/y
 * At the origin the subgradient of least norm, 0, as for norm(x) at 0
 * (torch.hypot gives NaN there, torch.linalg.norm 0): y is replaced by 1
 * where y = 0, and a/1 = b/1 = 0. */
BINARY_OP(hypot)
static ad_tensor *hypot_w(const ad_call *c, int i)
{
    return ad_div(c->in[i], ad_add(c->out, ad_eq_s(c->out, 0)));
}
ad_tensor *ad_op_hypot_jvp(const ad_call *c, ad_tensor *const *t)
{
    ad_tensor *r = t[0] ? ad_mul(t[0], hypot_w(c, 0)) : NULL;
    ad_tensor *q = t[1] ? ad_mul(t[1], hypot_w(c, 1)) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_hypot_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_mul(g, hypot_w(c, 0)));
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_mul(g, hypot_w(c, 1)));
    return AD_OK;
}

/* ---- where ----------------------------------------------------------------- */

static void k_where(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    double *y = p[0];
    const double *c = p[1], *a = p[2], *b = p[3];
    for (int64_t i = 0; i < n; i++) y[i * s[0]] = c[i * s[1]] != 0 ? a[i * s[2]] : b[i * s[3]];
}

/* y = c ? a : b;   ẏ = c ? ȧ : ḃ;   ā += c ? ȳ : 0,  b̄ += c ? 0 : ȳ   (c: none) */
ad_tensor *ad_where(ad_tensor *cond, ad_tensor *a, ad_tensor *b)
{
    AD_ARG(cond);
    AD_ARG(a);
    AD_ARG(b);
    ad_ctx *ctx = a->ctx;
    int n1, n2;
    int64_t s1[AD_MAX_DIMS], s2[AD_MAX_DIMS];
    if (ad_ew_broadcast(ctx, "where", a->ndim, a->shape, b->ndim, b->shape, &n1, s1) != AD_OK) return NULL;
    if (ad_ew_broadcast(ctx, "where", cond->ndim, cond->shape, n1, s1, &n2, s2) != AD_OK) return NULL;
    ad_tensor *y = ad_new(ctx, n2, s2);
    if (!y) return NULL;
    ad_tensor *ops[4] = {y, cond, a, b};
    ad_iter it;
    ad_iter_init(&it, n2, s2, 4, ops);
    ad_iter_run(&it, k_where, NULL);
    ad_tensor *in[3] = {cond, a, b};
    return ad_op_finish(AD_OP_where, y, 3, in, NULL, 0);
}
ad_tensor *ad_op_where_jvp(const ad_call *c, ad_tensor *const *t)
{
    if (!t[1] && !t[2]) return NULL;
    ad_tensor *zero = ad_scalar(c->ctx, 0);
    return ad_where(c->in[0], t[1] ? t[1] : zero, t[2] ? t[2] : zero);
}
int ad_op_where_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gin)
{
    ad_tensor *zero = ad_scalar(c->ctx, 0);
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_where(c->in[0], g, zero));
    if (c->need[2]) gin[2] = ad_op_sum_to_input(c, 2, ad_where(c->in[0], zero, g));
    return AD_OK;
}
