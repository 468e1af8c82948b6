/* modes/blackbox.c — a function in plain C over arrays (adscope/blackbox.h)
 * as an ad_fn, and its hand-written gradient or Jacobian as gradcheck's
 * user functions (ad_blackbox_fn, ad_blackbox_grad/jvp/vjp).
 *
 * The user's code sees x as one contiguous array of doubles in row-major
 * order, whatever the input's shape, and writes into arrays the adapters
 * own; nothing of it is recorded or carries a tangent, which is why the AD
 * backends refuse such a problem (problem.c) and the adapter refuses to run
 * under them (a constant would come out, with a success status). */
#include <string.h>

#include "modes.h"

static const ad_blackbox *blackbox_of(ad_ctx *ctx, void *user, const char *what)
{
    const ad_blackbox *bb = user;
    if (!bb) ad_error(ctx, AD_EINVAL, "%s: no black box given (user data is NULL)", what);
    return bb;
}

/* x as the user's code reads it: contiguous, scope-owned. */
static ad_tensor *flat_input(ad_ctx *ctx, ad_tensor *const *in, const char *what)
{
    if (!in || !in[0]) return AD_FAIL(ctx, AD_EINVAL, "%s: no input x given", what);
    return ad_contiguous(in[0]);
}

/* AD cannot see inside: with a tangent attached or while recording, the
 * result would be a constant and its derivative a silent zero. */
static int refuse_ad(ad_ctx *ctx, ad_tensor *x)
{
    bool recording = ad_is_grad_enabled(ctx) && ad_requires_grad(x);
    if (!ad_has_tangent(x) && !recording) return AD_OK;
    return ad_error(ctx, AD_EINVAL,
                    "%s: f is a black box (plain C over arrays): AD backends cannot see inside it; use a "
                    "difference backend such as central or five-point",
                    recording ? "reverse" : "forward");
}

static ad_tensor *evaluate(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    const ad_blackbox *bb = blackbox_of(ctx, user, "black box");
    if (!bb) return NULL;
    if (!bb->f == !bb->r) return AD_FAIL(ctx, AD_EINVAL, "black box: give exactly one of f (scalar) and r (vector)");
    if (in && in[0] && refuse_ad(ctx, in[0]) != AD_OK) return NULL;
    ad_tensor *x = flat_input(ctx, in, "black box");
    if (!x) return NULL;
    size_t n = (size_t)x->numel;
    if (bb->f) return ad_scalar(ctx, bb->f(x->data, n, bb->user));
    if (bb->m == 0) return AD_FAIL(ctx, AD_EINVAL, "black box: r has m = 0 outputs");
    ad_tensor *y = ad_zeros(ctx, AD_SHAPE((int64_t)bb->m));
    if (!y) return NULL;
    int st = bb->r(x->data, n, y->data, bb->m, bb->user);
    if (st != 0) return AD_FAIL(ctx, AD_EINVAL, "black box: r returned %d (a failure) at the given x", st);
    return y;
}

/* Each adapter runs in a scope of its own, so that its temporaries die
 * with it whether or not the caller has a scope open. */
ad_tensor *ad_blackbox_fn(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    ad_scope s = ad_scope_begin(ctx);
    return ad_scope_end(ctx, s, evaluate(ctx, in, user));
}

/* Ends the adapter's scope keeping *out (when rc is AD_OK). */
static int keep(ad_ctx *ctx, ad_scope s, int rc, ad_tensor **out)
{
    ad_tensor *k = ad_scope_end(ctx, s, rc == AD_OK ? *out : NULL);
    if (rc != AD_OK) return rc;
    if (!k) return ctx->err ? ctx->err : AD_ENOMEM;
    *out = k;
    return AD_OK;
}

static int gradient(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user)
{
    const ad_blackbox *bb = blackbox_of(ctx, user, "black-box gradient");
    if (!bb) return AD_EINVAL;
    if (!bb->f || !bb->grad)
        return ad_error(ctx, AD_EINVAL, "black-box gradient: needs a scalar f and its gradient grad");
    ad_tensor *x = flat_input(ctx, in, "black-box gradient");
    ad_tensor *g = x ? ad_zeros(ctx, ad_shape_of(in[0])) : NULL;
    if (!g) return ctx->err;
    bb->grad(x->data, (size_t)x->numel, g->data, bb->user);
    grad[0] = g;
    return AD_OK;
}

int ad_blackbox_grad(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user)
{
    if (!grad) return ad_error(ctx, AD_EINVAL, "black-box gradient: no output array given");
    ad_scope s = ad_scope_begin(ctx);
    int rc = gradient(ctx, in, grad, user);
    return keep(ctx, s, rc, grad);
}

/* r's Jacobian at in[0] as an [m, n] tensor (scope-owned). */
static ad_tensor *jacobian(ad_ctx *ctx, const ad_blackbox *bb, ad_tensor *const *in, const char *what)
{
    if (!bb->r || !bb->jac || bb->m == 0)
        return AD_FAIL(ctx, AD_EINVAL, "%s: needs a vector function r (m >= 1) and its Jacobian jac", what);
    ad_tensor *x = flat_input(ctx, in, what);
    ad_tensor *J = x ? ad_zeros(ctx, AD_SHAPE((int64_t)bb->m, x->numel)) : NULL;
    if (!J) return NULL;
    int st = bb->jac(x->data, (size_t)x->numel, J->data, bb->user);
    if (st != 0) return AD_FAIL(ctx, AD_EINVAL, "%s: jac returned %d (a failure) at the given x", what, st);
    return J;
}

/* J·v: [m] */
static int jvp(ad_ctx *ctx, ad_tensor *const *in, ad_tensor *const *v, ad_tensor **jv, void *user)
{
    const ad_blackbox *bb = blackbox_of(ctx, user, "black-box JVP");
    if (!bb) return AD_EINVAL;
    ad_tensor *J = jacobian(ctx, bb, in, "black-box JVP");
    if (!J) return ctx->err;
    if (!v || !v[0] || v[0]->numel != J->shape[1])
        return ad_error(ctx, AD_ESHAPE, "black-box JVP: the tangent must have as many elements as x (%lld)",
                        (long long)J->shape[1]);
    ad_tensor *out = ad_mv(J, ad_reshape(v[0], AD_SHAPE(J->shape[1])));
    if (!out) return ctx->err;
    *jv = out;
    return AD_OK;
}

int ad_blackbox_jvp(ad_ctx *ctx, ad_tensor *const *in, ad_tensor *const *v, ad_tensor **jv, void *user)
{
    if (!jv) return ad_error(ctx, AD_EINVAL, "black-box JVP: no output given");
    ad_scope s = ad_scope_begin(ctx);
    int rc = jvp(ctx, in, v, jv, user);
    return keep(ctx, s, rc, jv);
}

/* uᵀ·J: shaped like x */
static int vjp(ad_ctx *ctx, ad_tensor *const *in, ad_tensor *u, ad_tensor **g, void *user)
{
    const ad_blackbox *bb = blackbox_of(ctx, user, "black-box VJP");
    if (!bb) return AD_EINVAL;
    ad_tensor *J = jacobian(ctx, bb, in, "black-box VJP");
    if (!J) return ctx->err;
    if (!u || u->numel != J->shape[0])
        return ad_error(ctx, AD_ESHAPE, "black-box VJP: the cotangent must have m = %lld elements",
                        (long long)J->shape[0]);
    ad_tensor *out = ad_reshape(ad_mv(ad_transpose(J, 0, 1), ad_reshape(u, AD_SHAPE(J->shape[0]))),
                                ad_shape_of(in[0]));
    if (!out) return ctx->err;
    g[0] = out;
    return AD_OK;
}

int ad_blackbox_vjp(ad_ctx *ctx, ad_tensor *const *in, ad_tensor *u, ad_tensor **g, void *user)
{
    if (!g) return ad_error(ctx, AD_EINVAL, "black-box VJP: no output array given");
    ad_scope s = ad_scope_begin(ctx);
    int rc = vjp(ctx, in, u, g, user);
    return keep(ctx, s, rc, g);
}
