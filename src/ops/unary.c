/* src/ops/unary.c — unary elementwise ops: value kernel, JVP and VJP side
 * by side (see op.h).  Notation: y = f(x), ẋ tangent, ȳ adjoint. */
#include <math.h>

#include "../iter.h"
#include "ew_isa.h"
#include "fuse.h"
#include "op.h"
#include "simd.h"

/* y[i·s0] = EXPR(v) with v = x[i·s1]: the loop of a strided run. */
#define STRIDED_RUN(EXPR)                                                             \
    for (int64_t i = 0; i < n; i++) {                                                 \
        double v = x[i * s[1]];                                                       \
        y[i * s[0]] = (EXPR);                                                         \
    }

/* Kernel of one run: y[i] = EXPR(v) with v = x[i]. */
#define UNARY_KERNEL(name, EXPR)                                                      \
    static void k_##name(int64_t n, double *const *p, const int64_t *s, void *ud)     \
    {                                                                                 \
        (void)ud;                                                                     \
        double *y = p[0];                                                             \
        const double *x = p[1];                                                       \
        if (s[0] == 1 && s[1] == 1) {                                                 \
            for (int64_t i = 0; i < n; i++) {                                         \
                double v = x[i];                                                      \
                y[i] = (EXPR);                                                        \
            }                                                                         \
        } else {                                                                      \
            STRIDED_RUN(EXPR)                                                         \
        }                                                                             \
    }

/* The same for plain arithmetic: unit-stride runs take the loops of the
 * ISA in use (ew_isa.h: AVX-512, AVX2 or the baseline, the same bits),
 * kind KIND there computing EXPR. */
#define ARITH_KERNEL(name, KIND, EXPR)                                                \
    static void k_##name(int64_t n, double *const *p, const int64_t *s, void *ud)     \
    {                                                                                 \
        (void)ud;                                                                     \
        double *y = p[0];                                                             \
        const double *x = p[1];                                                       \
        if (n == 1) { /* a 1-element op: EXPR alone, the bits of the loops */         \
            double v = x[0];                                                          \
            y[0] = (EXPR);                                                            \
        } else if (s[0] == 1 && s[1] == 1) {                                          \
            ad_ew_isa_run(KIND, AD_EWL_VV, n, y, x, x, 0);                            \
        } else {                                                                      \
            STRIDED_RUN(EXPR)                                                         \
        }                                                                             \
    }

/* Kernel of one run by the SIMD kernels (simd.h: SLEEF's 1-ulp functions;
 * sigmoid there is 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) below, stable on
 * both sides: never exp of a large positive number). */
#define SIMD_KERNEL(name, FN)                                                         \
    static void k_##name(int64_t n, double *const *p, const int64_t *s, void *ud)     \
    {                                                                                 \
        (void)ud;                                                                     \
        ad_simd_run(FN, n, p[0], s[0], p[1], s[1]);                                   \
    }

/* log(1 + e^x) = log1p(e^-|x|) + max(x, 0): e^-|x| <= 1 never overflows,
 * and log1p keeps the tail e^x of very negative x (log(1 + e^x) would
 * round it to 0 below x = -37). */
static double softplus1(double v) { return log1p(exp(-fabs(v))) + (v > 0 ? v : 0.0); }

static double sign1(double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : v; /* keeps NaN, ±0 */ }

ARITH_KERNEL(neg, AD_EWI_neg, -v)
SIMD_KERNEL(exp, AD_SIMD_EXP)
SIMD_KERNEL(log, AD_SIMD_LOG)
SIMD_KERNEL(sin, AD_SIMD_SIN)
SIMD_KERNEL(cos, AD_SIMD_COS)
UNARY_KERNEL(tan, tan(v))
SIMD_KERNEL(tanh, AD_SIMD_TANH)
SIMD_KERNEL(sigmoid, AD_SIMD_SIGMOID)
ARITH_KERNEL(relu, AD_EWI_relu, v > 0 ? v : (v == v ? 0.0 : v))
ARITH_KERNEL(abs, AD_EWI_abs, fabs(v))
ARITH_KERNEL(sqrt, AD_EWI_sqrt, sqrt(v))
ARITH_KERNEL(square, AD_EWI_square, v * v)
ARITH_KERNEL(sign, AD_EWI_sign, sign1(v))
SIMD_KERNEL(log1p, AD_SIMD_LOG1P)
SIMD_KERNEL(expm1, AD_SIMD_EXPM1)
UNARY_KERNEL(cbrt, cbrt(v))
UNARY_KERNEL(atan, atan(v))
UNARY_KERNEL(asin, asin(v))
UNARY_KERNEL(acos, acos(v))
UNARY_KERNEL(sinh, sinh(v))
UNARY_KERNEL(cosh, cosh(v))
UNARY_KERNEL(asinh, asinh(v))
UNARY_KERNEL(softplus, softplus1(v))
UNARY_KERNEL(erf, erf(v))

/* y = kernel(x) into a fresh contiguous tensor (not recorded). */
static ad_tensor *apply(ad_iter_fn k, ad_tensor *x)
{
    ad_tensor *y = ad_new_like(x);
    if (!y) return NULL;
    if (x->flags & AD_T_CONTIG) { /* one flat run, no iterator */
        double *p[2] = {y->data, x->data};
        int64_t s[2] = {1, 1};
        k(x->numel, p, s, NULL);
        return y;
    }
    ad_iter it;
    ad_tensor *ops[2] = {y, x};
    ad_iter_init(&it, x->ndim, x->shape, 2, ops);
    ad_iter_run(&it, k, NULL);
    return y;
}

/* Inline into each ad_<op> (gcc left it out of line once ad_op_finish
 * became inline: one more frame per op, +9 instructions). */
static inline ad_tensor *unary(int opid, ad_iter_fn k, ad_tensor *x)
{
    AD_ARG(x);
    return ad_op_finish(opid, apply(k, x), 1, &x, NULL, 0);
}

/* A rule's product of the incoming g (an adjoint, or a tangent [k, S])
 * with a factor of x, as one fused pass when nothing is tracked (fuse.h:
 * bit-identical to the op chain), else by the chain itself, whose ops
 * record and propagate tangents.  A VJP's adjoint may take the result in
 * its own buffer; a JVP's tangent belongs to its input and never does. */
typedef ad_tensor *(*chain_fn)(ad_tensor *g, ad_tensor *x);
static ad_tensor *vjp_by(ad_fuse_kind k, chain_fn chain, ad_tensor *g, ad_tensor *x)
{
    AD_ARG(g);
    AD_ARG(x);
    if (ad_fuse_plain(g, x) && ad_fuse_same_shape(g, x)) return ad_fuse_vjp(k, g, x, 0, true);
    return chain(g, x);
}
static ad_tensor *jvp_by(ad_fuse_kind k, chain_fn chain, ad_tensor *t, ad_tensor *x)
{
    AD_ARG(t);
    AD_ARG(x);
    if (ad_fuse_plain(t, x) && ad_fuse_tangent_fits(t, x)) return ad_fuse_vjp(k, t, x, 0, false);
    return chain(t, x);
}
static ad_tensor *chain_mul(ad_tensor *g, ad_tensor *y) { return ad_mul(g, y); }
static ad_tensor *chain_mul_cos(ad_tensor *g, ad_tensor *x) { return ad_mul(g, ad_cos(x)); }
static ad_tensor *chain_neg_mul_sin(ad_tensor *g, ad_tensor *x) { return ad_neg(ad_mul(g, ad_sin(x))); }
static ad_tensor *chain_mul2(ad_tensor *g, ad_tensor *x) { return ad_mul(g, ad_mul_s(x, 2)); }

/* y = -x;   ẏ = -ẋ;   x̄ += -ȳ */
ad_tensor *ad_neg(ad_tensor *x) { return unary(AD_OP_neg, k_neg, x); }
ad_tensor *ad_op_neg_jvp(const ad_call *c, ad_tensor *const *t) { (void)c; return ad_neg(t[0]); }
int ad_op_neg_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    (void)c; /* in g's own buffer when it is exclusively ours (fuse.h) */
    gx[0] = ad_fuse_plain(g, NULL) ? ad_fuse_vjp(AD_FUSE_NEG, g, NULL, 0, true) : ad_neg(g);
    return AD_OK;
}

/* y = exp x;   ẏ = y·ẋ;   x̄ += y·ȳ */
ad_tensor *ad_exp(ad_tensor *x) { return unary(AD_OP_exp, k_exp, x); }
ad_tensor *ad_op_exp_jvp(const ad_call *c, ad_tensor *const *t) { return jvp_by(AD_FUSE_MUL, chain_mul, t[0], c->out); }
int ad_op_exp_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = vjp_by(AD_FUSE_MUL, chain_mul, g, c->out);
    return AD_OK;
}

/* y = log x;   ẏ = ẋ/x;   x̄ += ȳ/x */
ad_tensor *ad_log(ad_tensor *x) { return unary(AD_OP_log, k_log, x); }
ad_tensor *ad_op_log_jvp(const ad_call *c, ad_tensor *const *t) { return ad_div(t[0], c->in[0]); }
int ad_op_log_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_div(g, c->in[0]);
    return AD_OK;
}

/* y = sin x;   ẏ = cos(x)·ẋ;   x̄ += cos(x)·ȳ */
ad_tensor *ad_sin(ad_tensor *x) { return unary(AD_OP_sin, k_sin, x); }
ad_tensor *ad_op_sin_jvp(const ad_call *c, ad_tensor *const *t)
{
    return jvp_by(AD_FUSE_MUL_COS, chain_mul_cos, t[0], c->in[0]);
}
int ad_op_sin_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = vjp_by(AD_FUSE_MUL_COS, chain_mul_cos, g, c->in[0]);
    return AD_OK;
}

/* y = cos x;   ẏ = -sin(x)·ẋ;   x̄ += -sin(x)·ȳ */
ad_tensor *ad_cos(ad_tensor *x) { return unary(AD_OP_cos, k_cos, x); }
ad_tensor *ad_op_cos_jvp(const ad_call *c, ad_tensor *const *t)
{
    return jvp_by(AD_FUSE_NEG_MUL_SIN, chain_neg_mul_sin, t[0], c->in[0]);
}
int ad_op_cos_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = vjp_by(AD_FUSE_NEG_MUL_SIN, chain_neg_mul_sin, g, c->in[0]);
    return AD_OK;
}

/* y = tan x;   ẏ = (1 + y²)·ẋ;   x̄ += (1 + y²)·ȳ */
ad_tensor *ad_tan(ad_tensor *x) { return unary(AD_OP_tan, k_tan, x); }
ad_tensor *ad_op_tan_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], ad_add_s(ad_square(c->out), 1)); }
int ad_op_tan_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, ad_add_s(ad_square(c->out), 1));
    return AD_OK;
}

/* y = tanh x;   ẏ = (1 - y²)·ẋ;   x̄ += (1 - y²)·ȳ   (fused: tanh_bw) */
ad_tensor *ad_tanh(ad_tensor *x) { return unary(AD_OP_tanh, k_tanh, x); }
ad_tensor *ad_op_tanh_jvp(const ad_call *c, ad_tensor *const *t) { return ad_tanh_bw(t[0], c->out); }
int ad_op_tanh_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_tanh_bw(g, c->out);
    return AD_OK;
}

/* y = σ(x) = 1/(1+e^-x);   ẏ = y(1-y)·ẋ;   x̄ += y(1-y)·ȳ   (fused: sigmoid_bw) */
ad_tensor *ad_sigmoid(ad_tensor *x) { return unary(AD_OP_sigmoid, k_sigmoid, x); }
ad_tensor *ad_op_sigmoid_jvp(const ad_call *c, ad_tensor *const *t) { return ad_sigmoid_bw(t[0], c->out); }
int ad_op_sigmoid_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_sigmoid_bw(g, c->out);
    return AD_OK;
}

/* y = max(x, 0);   ẏ = [y > 0]·ẋ;   x̄ += [y > 0]·ȳ
 * At x = 0 the subgradient 0 is used (PyTorch's convention). */
ad_tensor *ad_relu(ad_tensor *x) { return unary(AD_OP_relu, k_relu, x); }
ad_tensor *ad_op_relu_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mask(t[0], c->out); }
int ad_op_relu_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mask(g, c->out);
    return AD_OK;
}

/* y = |x|;   ẏ = sign(x)·ẋ;   x̄ += sign(x)·ȳ   (subgradient 0 at x = 0) */
ad_tensor *ad_abs(ad_tensor *x) { return unary(AD_OP_abs, k_abs, x); }
ad_tensor *ad_op_abs_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], ad_sign(c->in[0])); }
int ad_op_abs_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, ad_sign(c->in[0]));
    return AD_OK;
}

/* y = √x;   ẏ = ẋ/(2y);   x̄ += ȳ/(2y) */
ad_tensor *ad_sqrt(ad_tensor *x) { return unary(AD_OP_sqrt, k_sqrt, x); }
ad_tensor *ad_op_sqrt_jvp(const ad_call *c, ad_tensor *const *t) { return ad_div(t[0], ad_mul_s(c->out, 2)); }
int ad_op_sqrt_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_div(g, ad_mul_s(c->out, 2));
    return AD_OK;
}

/* y = x²;   ẏ = 2x·ẋ;   x̄ += 2x·ȳ */
ad_tensor *ad_square(ad_tensor *x) { return unary(AD_OP_square, k_square, x); }
ad_tensor *ad_op_square_jvp(const ad_call *c, ad_tensor *const *t) { return jvp_by(AD_FUSE_MUL2, chain_mul2, t[0], c->in[0]); }
int ad_op_square_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = vjp_by(AD_FUSE_MUL2, chain_mul2, g, c->in[0]); /* one pass: 2x is exact */
    return AD_OK;
}

/* y = log(1 + x);   ẏ = ẋ/(1 + x);   x̄ += ȳ/(1 + x) */
ad_tensor *ad_log1p(ad_tensor *x) { return unary(AD_OP_log1p, k_log1p, x); }
ad_tensor *ad_op_log1p_jvp(const ad_call *c, ad_tensor *const *t) { return ad_div(t[0], ad_add_s(c->in[0], 1)); }
int ad_op_log1p_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_div(g, ad_add_s(c->in[0], 1));
    return AD_OK;
}

/* y = e^x - 1;   ẏ = (y + 1)·ẋ;   x̄ += (y + 1)·ȳ */
ad_tensor *ad_expm1(ad_tensor *x) { return unary(AD_OP_expm1, k_expm1, x); }
ad_tensor *ad_op_expm1_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], ad_add_s(c->out, 1)); }
int ad_op_expm1_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, ad_add_s(c->out, 1));
    return AD_OK;
}

/* ---- inverse trigonometric, hyperbolic and special functions -----------------
 * Outside their domain (asin, acos at |x| > 1) values are NaN as in libm, and
 * so are the derivatives: no error is raised, as for log and sqrt. */

/* y = ∛x;   ẏ = ẋ/(3y²);   x̄ += ȳ/(3y²)
 * Real for x < 0 (cbrt(-8) = -2, where torch.pow(x, 1/3) gives NaN).  At x = 0
 * the derivative is +inf, as torch.pow(x, 1/3)'s: ẋ·inf (0·inf = NaN). */
ad_tensor *ad_cbrt(ad_tensor *x) { return unary(AD_OP_cbrt, k_cbrt, x); }
static ad_tensor *cbrt_d(const ad_call *c, ad_tensor *g) { return ad_div(g, ad_mul_s(ad_square(c->out), 3)); }
ad_tensor *ad_op_cbrt_jvp(const ad_call *c, ad_tensor *const *t) { return cbrt_d(c, t[0]); }
int ad_op_cbrt_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = cbrt_d(c, g);
    return AD_OK;
}

/* y = atan x;   ẏ = ẋ/(1 + x²);   x̄ += ȳ/(1 + x²) */
ad_tensor *ad_atan(ad_tensor *x) { return unary(AD_OP_atan, k_atan, x); }
static ad_tensor *atan_d(const ad_call *c, ad_tensor *g) { return ad_div(g, ad_add_s(ad_square(c->in[0]), 1)); }
ad_tensor *ad_op_atan_jvp(const ad_call *c, ad_tensor *const *t) { return atan_d(c, t[0]); }
int ad_op_atan_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = atan_d(c, g);
    return AD_OK;
}

/* √(1 - x²) computed as √((1 - x)(1 + x)): exact factors, so no cancellation
 * as |x| -> 1, where the derivatives of asin and acos blow up. */
static ad_tensor *sqrt_1mx2(ad_tensor *x) { return ad_sqrt(ad_mul(ad_rsub_s(1, x), ad_add_s(x, 1))); }

/* y = asin x;   ẏ = ẋ/√(1 - x²);   x̄ += ȳ/√(1 - x²)   (±inf at x = ±1) */
ad_tensor *ad_asin(ad_tensor *x) { return unary(AD_OP_asin, k_asin, x); }
ad_tensor *ad_op_asin_jvp(const ad_call *c, ad_tensor *const *t) { return ad_div(t[0], sqrt_1mx2(c->in[0])); }
int ad_op_asin_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_div(g, sqrt_1mx2(c->in[0]));
    return AD_OK;
}

/* y = acos x;   ẏ = -ẋ/√(1 - x²);   x̄ += -ȳ/√(1 - x²) */
ad_tensor *ad_acos(ad_tensor *x) { return unary(AD_OP_acos, k_acos, x); }
ad_tensor *ad_op_acos_jvp(const ad_call *c, ad_tensor *const *t) { return ad_neg(ad_div(t[0], sqrt_1mx2(c->in[0]))); }
int ad_op_acos_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_neg(ad_div(g, sqrt_1mx2(c->in[0])));
    return AD_OK;
}

/* y = sinh x;   ẏ = cosh(x)·ẋ;   x̄ += cosh(x)·ȳ */
ad_tensor *ad_sinh(ad_tensor *x) { return unary(AD_OP_sinh, k_sinh, x); }
ad_tensor *ad_op_sinh_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], ad_cosh(c->in[0])); }
int ad_op_sinh_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, ad_cosh(c->in[0]));
    return AD_OK;
}

/* y = cosh x;   ẏ = sinh(x)·ẋ;   x̄ += sinh(x)·ȳ */
ad_tensor *ad_cosh(ad_tensor *x) { return unary(AD_OP_cosh, k_cosh, x); }
ad_tensor *ad_op_cosh_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], ad_sinh(c->in[0])); }
int ad_op_cosh_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, ad_sinh(c->in[0]));
    return AD_OK;
}

/* y = asinh x;   ẏ = ẋ/√(1 + x²);   x̄ += ȳ/√(1 + x²)
 * √(1 + x²) is hypot(1, x): no overflow of x² for |x| > 1e154, where the
 * derivative is still a normal number (about 1/|x|). */
ad_tensor *ad_asinh(ad_tensor *x) { return unary(AD_OP_asinh, k_asinh, x); }
static ad_tensor *asinh_d(const ad_call *c, ad_tensor *g)
{
    return ad_div(g, ad_hypot(ad_scalar(c->ctx, 1), c->in[0]));
}
ad_tensor *ad_op_asinh_jvp(const ad_call *c, ad_tensor *const *t) { return asinh_d(c, t[0]); }
int ad_op_asinh_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = asinh_d(c, g);
    return AD_OK;
}

/* y = log(1 + e^x) (computed as softplus1 above);   ẏ = σ(x)·ẋ;   x̄ += σ(x)·ȳ
 * torch.nn.functional.softplus (beta 1) switches to y = x above x = 20;
 * here y and σ stay exact there (σ(20) = 1 - 2.1e-9, not 1). */
ad_tensor *ad_softplus(ad_tensor *x) { return unary(AD_OP_softplus, k_softplus, x); }
ad_tensor *ad_op_softplus_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], ad_sigmoid(c->in[0])); }
int ad_op_softplus_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, ad_sigmoid(c->in[0]));
    return AD_OK;
}

/* y = erf x;   ẏ = (2/√π)·e^(-x²)·ẋ;   x̄ += (2/√π)·e^(-x²)·ȳ */
#define TWO_OVER_SQRT_PI 1.12837916709551257390 /* 2/√π (M_2_SQRTPI is not C11) */
ad_tensor *ad_erf(ad_tensor *x) { return unary(AD_OP_erf, k_erf, x); }
static ad_tensor *erf_d(const ad_call *c) { return ad_mul_s(ad_exp(ad_neg(ad_square(c->in[0]))), TWO_OVER_SQRT_PI); }
ad_tensor *ad_op_erf_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], erf_d(c)); }
int ad_op_erf_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, erf_d(c));
    return AD_OK;
}

/* sign(x): piecewise constant, so its derivative is 0 everywhere it exists;
 * the result is a constant (never recorded, no tangent). */
ad_tensor *ad_sign(ad_tensor *x)
{
    AD_ARG(x);
    return apply(k_sign, x);
}

/* ---- fused derivative kernels ----------------------------------------------
 * They make the backward passes of tanh, sigmoid and relu one sweep over
 * memory instead of three, and they are ops like any other, so second
 * derivatives (forward over reverse) flow through them. */

#define BINARY_RUN(name, EXPR)                                                          \
    static void k_##name(int64_t n, double *const *p, const int64_t *s, void *ud)       \
    {                                                                                   \
        (void)ud;                                                                       \
        double *y = p[0];                                                               \
        const double *a = p[1], *b = p[2];                                              \
        if (s[0] == 1 && s[1] == 1 && s[2] == 1) { /* the ISA's loops (ew_isa.h) */     \
            ad_ew_isa_run(AD_EWI_##name, AD_EWL_VV, n, y, a, b, 0);                     \
        } else {                                                                        \
            for (int64_t i = 0; i < n; i++) {                                           \
                double u = a[i * s[1]], v = b[i * s[2]];                                \
                y[i * s[0]] = (EXPR);                                                   \
            }                                                                           \
        }                                                                               \
    }

BINARY_RUN(tanh_bw, u * (1.0 - v * v))
BINARY_RUN(sigmoid_bw, u * v * (1.0 - v))
BINARY_RUN(mask, v > 0 ? u : 0.0)

static ad_tensor *fused(int opid, ad_iter_fn k, ad_tensor *a, ad_tensor *b)
{
    AD_ARG(a);
    AD_ARG(b);
    ad_shape s;
    ad_shape sa = ad_shape_of(a), sb = ad_shape_of(b);
    if (ad_broadcast_shapes(a->ctx, &sa, &sb, &s) != AD_OK) return NULL;
    ad_tensor *y = ad_new(a->ctx, s.ndim, s.dim);
    if (!y) return NULL;
    ad_iter it;
    ad_tensor *ops[3] = {y, a, b};
    ad_iter_init(&it, s.ndim, s.dim, 3, ops);
    ad_iter_run(&it, k, NULL);
    ad_tensor *in[2] = {a, b};
    return ad_op_finish(opid, y, 2, in, NULL, 0);
}

/* z = g·(1 - y²);   ż = ġ(1 - y²) - 2gy·ẏ;   ḡ += z̄(1 - y²),  ȳ += -2gy·z̄ */
ad_tensor *ad_tanh_bw(ad_tensor *g, ad_tensor *y) { return fused(AD_OP_tanh_bw, k_tanh_bw, g, y); }
ad_tensor *ad_op_tanh_bw_jvp(const ad_call *c, ad_tensor *const *t)
{
    ad_tensor *r = t[0] ? ad_tanh_bw(t[0], c->in[1]) : NULL;
    ad_tensor *q = t[1] ? ad_mul(t[1], ad_mul_s(ad_mul(c->in[0], c->in[1]), -2)) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_tanh_bw_vjp(const ad_call *c, ad_tensor *z, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_tanh_bw(z, c->in[1]));
    if (c->need[1]) gin[1] = ad_op_sum_to_input(c, 1, ad_mul(z, ad_mul_s(ad_mul(c->in[0], c->in[1]), -2)));
    return AD_OK;
}

/* z = g·y(1-y);   ż = ġ·y(1-y) + g(1-2y)·ẏ;   ḡ += z̄·y(1-y),  ȳ += g(1-2y)·z̄ */
ad_tensor *ad_sigmoid_bw(ad_tensor *g, ad_tensor *y) { return fused(AD_OP_sigmoid_bw, k_sigmoid_bw, g, y); }
ad_tensor *ad_op_sigmoid_bw_jvp(const ad_call *c, ad_tensor *const *t)
{
    ad_tensor *r = t[0] ? ad_sigmoid_bw(t[0], c->in[1]) : NULL;
    ad_tensor *q = t[1] ? ad_mul(t[1], ad_mul(c->in[0], ad_rsub_s(1, ad_mul_s(c->in[1], 2)))) : NULL;
    return ad_op_add_opt(r, q);
}
int ad_op_sigmoid_bw_vjp(const ad_call *c, ad_tensor *z, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_sigmoid_bw(z, c->in[1]));
    if (c->need[1])
        gin[1] = ad_op_sum_to_input(c, 1, ad_mul(z, ad_mul(c->in[0], ad_rsub_s(1, ad_mul_s(c->in[1], 2)))));
    return AD_OK;
}

/* z = a·[b > 0];   ż = ȧ·[b > 0];   ā += z̄·[b > 0]   (b: no derivative) */
ad_tensor *ad_mask(ad_tensor *a, ad_tensor *b) { return fused(AD_OP_mask, k_mask, a, b); }
ad_tensor *ad_op_mask_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mask(t[0], c->in[1]); }
int ad_op_mask_vjp(const ad_call *c, ad_tensor *z, ad_tensor **gin)
{
    if (c->need[0]) gin[0] = ad_op_sum_to_input(c, 0, ad_mask(z, c->in[1]));
    return AD_OK;
}
