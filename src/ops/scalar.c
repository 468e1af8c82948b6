/* src/ops/scalar.c — tensor-scalar ops (x + 2.5, 2 * x, x ** 3, 1 / x, ...):
 * value, JVP and VJP side by side.  The scalar is the op's attribute. */
#include <math.h>

#include "ew.h"
#include "fuse.h"
#include "op.h"

typedef struct {
    double s;
} scalar_attr;

static double S(const ad_call *c) { return ((const scalar_attr *)c->attr)->s; }

static ad_tensor *scalar_op(int opid, ad_ew_kind kind, ad_tensor *a, double s)
{
    AD_ARG(a);
    scalar_attr at = {s};
    return ad_op_finish(opid, ad_ew_apply_s(kind, a, s), 1, &a, &at, sizeof at);
}

/* y = x + s;   ẏ = ẋ;   x̄ += ȳ */
ad_tensor *ad_add_s(ad_tensor *a, double s) { return scalar_op(AD_OP_add_s, AD_EW_add, a, s); }
/* x - s is x + (-s) in IEEE arithmetic, bit for bit: recorded as add_s with
 * -s, the attribute says what the op computed (reverse-replay reads it) */
ad_tensor *ad_sub_s(ad_tensor *a, double s) { return scalar_op(AD_OP_add_s, AD_EW_add, a, -s); }
ad_tensor *ad_op_add_s_jvp(const ad_call *c, ad_tensor *const *t)
{
    (void)c;
    return ad_tensor_ref(t[0]);
}
int ad_op_add_s_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    (void)c;
    gx[0] = ad_tensor_ref(g);
    return AD_OK;
}

/* y = x·s;   ẏ = s·ẋ;   x̄ += s·ȳ */
ad_tensor *ad_mul_s(ad_tensor *a, double s) { return scalar_op(AD_OP_mul_s, AD_EW_mul, a, s); }
ad_tensor *ad_op_mul_s_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul_s(t[0], S(c)); }
int ad_op_mul_s_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    /* in g's own buffer when it is exclusively ours (fuse.h) */
    gx[0] = ad_fuse_plain(g, NULL) ? ad_fuse_vjp(AD_FUSE_SCALE, g, NULL, S(c), true) : ad_mul_s(g, S(c));
    return AD_OK;
}

/* y = x/s;   ẏ = ẋ/s;   x̄ += ȳ/s   (a true division, so x/3 rounds like x/3) */
ad_tensor *ad_div_s(ad_tensor *a, double s) { return scalar_op(AD_OP_div_s, AD_EW_div, a, s); }
ad_tensor *ad_op_div_s_jvp(const ad_call *c, ad_tensor *const *t) { return ad_div_s(t[0], S(c)); }
int ad_op_div_s_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_div_s(g, S(c));
    return AD_OK;
}

/* y = s - x;   ẏ = -ẋ;   x̄ += -ȳ */
ad_tensor *ad_rsub_s(double s, ad_tensor *a) { return scalar_op(AD_OP_rsub_s, AD_EW_rsub, a, s); }
ad_tensor *ad_op_rsub_s_jvp(const ad_call *c, ad_tensor *const *t)
{
    (void)c;
    return ad_neg(t[0]);
}
int ad_op_rsub_s_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    (void)c; /* -ȳ in ȳ's own buffer when it is exclusively ours (fuse.h) */
    gx[0] = ad_fuse_plain(g, NULL) ? ad_fuse_vjp(AD_FUSE_NEG, g, NULL, 0, true) : ad_neg(g);
    return AD_OK;
}

/* y = s/x;   ẏ = -y·ẋ/x;   x̄ += -y·ȳ/x */
ad_tensor *ad_rdiv_s(double s, ad_tensor *a) { return scalar_op(AD_OP_rdiv_s, AD_EW_rdiv, a, s); }
ad_tensor *ad_op_rdiv_s_jvp(const ad_call *c, ad_tensor *const *t)
{
    return ad_neg(ad_div(ad_mul(t[0], c->out), c->in[0]));
}
int ad_op_rdiv_s_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_neg(ad_div(ad_mul(g, c->out), c->in[0]));
    return AD_OK;
}

/* y = x^s;   ẏ = s·x^(s-1)·ẋ;   x̄ += s·x^(s-1)·ȳ
 * s = 0 gives a zero derivative everywhere (also at x = 0, where the
 * formula would read 0·0^-1). */
static ad_tensor *pow_s_deriv(const ad_call *c)
{
    double s = S(c);
    if (s == 1) return ad_ones(c->ctx, AD_SCALAR);
    if (s == 2) return ad_mul_s(c->in[0], 2);
    return ad_mul_s(ad_pow_s(c->in[0], s - 1), s);
}
ad_tensor *ad_pow_s(ad_tensor *a, double s) { return scalar_op(AD_OP_pow_s, AD_EW_pow, a, s); }
ad_tensor *ad_op_pow_s_jvp(const ad_call *c, ad_tensor *const *t)
{
    if (S(c) == 0) return NULL;
    return ad_mul(t[0], pow_s_deriv(c));
}
int ad_op_pow_s_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    if (S(c) == 0) return AD_OK;
    gx[0] = ad_mul(g, pow_s_deriv(c));
    return AD_OK;
}

/* y = s^x;   ẏ = y·log(s)·ẋ;   x̄ += y·log(s)·ȳ */
ad_tensor *ad_rpow_s(double s, ad_tensor *a) { return scalar_op(AD_OP_rpow_s, AD_EW_rpow, a, s); }
ad_tensor *ad_op_rpow_s_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], ad_mul_s(c->out, log(S(c)))); }
int ad_op_rpow_s_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, ad_mul_s(c->out, log(S(c))));
    return AD_OK;
}

/* y = max(x, s);   w = [x > s] + ½[x = s];   ẏ = w·ẋ;   x̄ += w·ȳ */
static ad_tensor *clamp_weight(const ad_call *c, bool max)
{
    ad_tensor *x = c->in[0];
    double s = S(c);
    return ad_add(max ? ad_gt_s(x, s) : ad_lt_s(x, s), ad_mul_s(ad_eq_s(x, s), 0.5));
}
ad_tensor *ad_maximum_s(ad_tensor *a, double s) { return scalar_op(AD_OP_maximum_s, AD_EW_maximum, a, s); }
ad_tensor *ad_op_maximum_s_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], clamp_weight(c, true)); }
int ad_op_maximum_s_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, clamp_weight(c, true));
    return AD_OK;
}
ad_tensor *ad_minimum_s(ad_tensor *a, double s) { return scalar_op(AD_OP_minimum_s, AD_EW_minimum, a, s); }
ad_tensor *ad_op_minimum_s_jvp(const ad_call *c, ad_tensor *const *t) { return ad_mul(t[0], clamp_weight(c, false)); }
int ad_op_minimum_s_vjp(const ad_call *c, ad_tensor *g, ad_tensor **gx)
{
    gx[0] = ad_mul(g, clamp_weight(c, false));
    return AD_OK;
}
