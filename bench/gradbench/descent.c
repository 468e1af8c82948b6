/* bench/gradbench/descent.c — the gradient descent that GradBench's particle
 * and saddle evals prescribe (cpp/gradbench/gd.hpp: every tool runs the
 * same solver, so their answers agree), over tensors:
 *
 *   eta = 1e-5; repeat:
 *     |g(x)| <= 1e-5                     -> x
 *     ten accepted steps in a row        -> eta *= 2
 *     x' = x - eta g(x); |x - x'| <= 1e-5 -> x
 *     f(x') < f(x): x = x' (one more accepted step), else eta /= 2 (the run starts again)
 *
 * Tensors, not doubles, because the solver runs inside a function that an
 * outer driver differentiates (particle's and saddle's nesting): x, the
 * steps and the gradient keep whatever the outer backend attached (tangents
 * or the tape), and only the decisions read plain values.  The gradient
 * comes from the objective's own backend (ad_value_and_grad): the inner
 * derivative is a driver call inside the outer function, as a user writes
 * it.  The reference loops without a bound; this one stops with an error
 * after GB_DESCENT_MAX_STEPS decisions instead of hanging. */
#include <math.h>

#include "gb_impl.h"

#define GB_DESCENT_MAX_STEPS 1000000L

/* sign · f(x, extra...) with nothing else attached. */
static ad_tensor *value_at(ad_ctx *ctx, const gb_objective *o, ad_tensor *x)
{
    ad_tensor *in[GB_MAX_IN] = {x};
    for (int i = 0; i < o->nextra; i++) in[1 + i] = o->extra[i];
    return ad_mul_s(o->f(ctx, in, o->user), o->sign);
}

/* sign · ∇_x f by the objective's backend. */
static ad_tensor *gradient_at(ad_ctx *ctx, const gb_objective *o, ad_tensor *x)
{
    ad_tensor *in[GB_MAX_IN] = {x}, *g[GB_MAX_IN] = {0};
    bool wrt[GB_MAX_IN] = {true};
    for (int i = 0; i < o->nextra; i++) in[1 + i] = o->extra[i];
    ad_problem p = {.ctx = ctx, .f = o->f, .user = o->user, .nin = 1 + o->nextra, .in = in, .wrt = wrt};
    if (ad_value_and_grad(o->b, &p, NULL, NULL, g, NULL, NULL) != AD_OK) return NULL;
    return ad_mul_s(g[0], o->sign);
}

/* A finite number read from t, or an error naming what it was. */
static int finite_item(ad_ctx *ctx, ad_tensor *t, const char *what, double *out)
{
    if (!t) return ad_errno(ctx) ? ad_errno(ctx) : ad_raise(ctx, AD_EINVAL, "descent: no %s", what);
    *out = ad_item(t);
    return isfinite(*out) ? AD_OK : ad_raise(ctx, AD_ENONFINITE, "descent: the %s is %g", what, *out);
}

/* One decision of the loop above on s = {x, f(x), g(x)}: 1 to go on, 0
 * when x is the answer, negative on error.  Replaced entries of s are new
 * references of the caller's scope. */
static int step(ad_ctx *ctx, const gb_objective *o, ad_tensor *s[3], double *eta, int *run)
{
    ad_scope sc = ad_scope_begin(ctx);
    double gnorm = 0, moved = 0, fx = 0, fnext = 0;
    ad_tensor *next[3] = {NULL};
    int rc = finite_item(ctx, ad_sqrt(ad_sum(ad_square(s[2]), AD_ALL, false)), "gradient's norm", &gnorm);
    if (rc == AD_OK && gnorm > 1e-5 && *run < 10) {
        next[0] = ad_sub(s[0], ad_mul_s(s[2], *eta));
        rc = finite_item(ctx, ad_sqrt(ad_sum(ad_square(ad_sub(s[0], next[0])), AD_ALL, false)), "step", &moved);
        if (rc == AD_OK && moved > 1e-5) rc = finite_item(ctx, next[1] = value_at(ctx, o, next[0]), "objective", &fnext);
        if (rc == AD_OK && moved > 1e-5) rc = finite_item(ctx, s[1], "objective", &fx);
    }
    bool go = rc == AD_OK && gnorm > 1e-5 && (*run == 10 || moved > 1e-5);
    bool accept = go && *run < 10 && fnext < fx;
    if (accept && !(next[2] = gradient_at(ctx, o, next[0]))) rc = ad_errno(ctx), accept = false;
    if (!accept) next[0] = next[1] = next[2] = NULL;
    if (ad_scope_end_n(ctx, sc, 3, next) != AD_OK && rc == AD_OK) rc = ad_errno(ctx);
    if (rc != AD_OK) return rc;
    if (!go) return 0;
    if (*run == 10) *eta *= 2, *run = 0;        /* ten accepted steps: a longer one */
    else if (!accept) *eta /= 2, *run = 0;      /* no descent: a shorter one */
    else *run += 1;
    for (int i = 0; accept && i < 3; i++) ad_tensor_free(s[i]), s[i] = next[i];
    return 1;
}

ad_tensor *gb_descend(ad_ctx *ctx, const gb_objective *o, ad_tensor *x0)
{
    if (o->nextra < 0 || o->nextra >= GB_MAX_IN) {
        ad_raise(ctx, AD_EINVAL, "descent: %d constant inputs (0 to %d)", o->nextra, GB_MAX_IN - 1);
        return NULL;
    }
    ad_tensor *s[3] = {ad_clone(x0), value_at(ctx, o, x0), gradient_at(ctx, o, x0)};
    double eta = 1e-5;
    int run = 0, rc = s[0] && s[1] && s[2] ? 1 : ad_errno(ctx);
    for (long n = 0; rc == 1; n++)
        if (n == GB_DESCENT_MAX_STEPS)
            rc = ad_raise(ctx, AD_ELIMIT, "descent: no convergence after %ld steps (eta = %g)", n, eta);
        else rc = step(ctx, o, s, &eta, &run);
    ad_tensor_free(s[1]);
    ad_tensor_free(s[2]);
    if (rc == 0) return s[0];
    ad_tensor_free(s[0]);
    return NULL;
}
