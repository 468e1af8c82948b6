/* bench/gradbench/particle.c — GradBench's "particle" (Pearlmutter and
 * Siskind's charged particle, evals/particle/README.md): find the control w
 * for which a particle, pushed by the field of two charges at (10, 0) and
 * (10, 10 - w), crosses the x axis at the origin.
 *
 *   p(x; w) = 1/|x - (10, 10 - w)| + 1/|x - (10, 0)|,  x'' = -∇_x p
 *   Euler from x = (0, 8), x' = (0.75, 0), dt = 0.1: a step moves x by
 *   dt x' (with the acceleration of the step's start); once x_1 <= 0, the
 *   crossing is x + (-x_1 / x'_1) x' (linear interpolation), and the
 *   objective is its x_0²;
 *   w* = argmin_w of it by GradBench's gradient descent (descent.c) from
 *   the input's w.
 *
 * Nested differentiation, written as a user of the drivers writes it: each
 * Euler step calls ad_value_and_grad(inner, p) for ∇_x p, and the descent
 * differentiates the whole integration, those calls included, by
 * ad_value_and_grad(outer).  The function's name picks the two backends:
 * its first letter the outer one (the argmin's), its second the inner one
 * (the Euler step's); f is "forward", r is "reverse".  The tool's --mode
 * does not change them: the four functions are GradBench's columns here. */
#include <math.h>
#include <stdlib.h>

#include "gb_impl.h"

#define PARTICLE_MAX_STEPS 1000000L /* a path that never crosses the axis is an error, not a hang */

typedef struct particle_state {
    double w0, w; /* the input's start; the last run's answer */
    bool done;
} particle_state;

typedef struct particle_nest {
    const ad_backend *inner;
} particle_nest;

/* p(x; charges) = Σ_c 1/|x - c|: in[0] = x [2], in[1] = the charges [2, 2]. */
static ad_tensor *potential(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    ad_tensor *dist = ad_sqrt(ad_sum(ad_square(ad_sub(in[0], in[1])), AD_AXES(1), false));
    return ad_sum(ad_rdiv_s(1.0, dist), AD_ALL, false);
}

/* One Euler step of s = {x, x'} in a scope of its own: 1 to go on, 0 when x
 * crossed the axis (*hit = the objective), negative on error. */
static int euler_step(ad_ctx *ctx, const particle_nest *n, ad_tensor *charges, ad_tensor *s[2], ad_tensor **hit)
{
    const double dt = 0.1;
    ad_scope sc = ad_scope_begin(ctx);
    ad_tensor *in[2] = {s[0], charges}, *g[2] = {0};
    static const bool wrt_x[2] = {true, false};
    ad_problem p = {.ctx = ctx, .f = potential, .nin = 2, .in = in, .wrt = wrt_x};
    int rc = ad_value_and_grad(n->inner, &p, NULL, NULL, g, NULL, NULL);
    ad_tensor *next[2] = {ad_add(s[0], ad_mul_s(s[1], dt)), NULL};
    double y = rc == AD_OK && next[0] ? ad_item(ad_idx(next[0], AD_I(1))) : NAN;
    if (rc == AD_OK && y <= 0) { /* crossed: interpolate back to the axis */
        ad_tensor *dtf = ad_neg(ad_div(ad_idx(next[0], AD_I(1)), ad_idx(s[1], AD_I(1))));
        *hit = ad_square(ad_add(ad_idx(next[0], AD_I(0)), ad_mul(dtf, ad_idx(s[1], AD_I(0)))));
        rc = *hit ? 0 : ad_errno(ctx);
        *hit = ad_scope_end(ctx, sc, *hit);
        return rc;
    }
    next[1] = ad_sub(s[1], ad_mul_s(g[0], dt)); /* x' += dt x'', x'' = -∇p */
    if (rc == AD_OK && !(y > 0 && next[1])) rc = ad_errno(ctx) ? ad_errno(ctx) : ad_raise(ctx, AD_ENONFINITE,
                                                                                        "particle: position y = %g", y);
    if (ad_scope_end_n(ctx, sc, 2, next) != AD_OK && rc == AD_OK) rc = ad_errno(ctx);
    for (int i = 0; i < 2; i++) {
        ad_tensor_free(rc == AD_OK ? s[i] : next[i]);
        if (rc == AD_OK) s[i] = next[i];
    }
    return rc == AD_OK ? 1 : rc;
}

/* x_0(t_f)² as a function of in[0] = w [1]; user: the inner backend. */
static ad_tensor *crossing(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    static const double lower[2] = {10.0, 0.0}, x0[2] = {0.0, 8.0}, v0[2] = {0.75, 0.0};
    ad_tensor *parts[3] = {ad_full(ctx, AD_SHAPE(1), 10.0), ad_rsub_s(10.0, in[0]),
                           ad_from_array(ctx, AD_SHAPE(2), lower)};
    ad_tensor *charges = ad_reshape(ad_concat(parts, 3, 0), AD_SHAPE(2, 2));
    ad_tensor *s[2] = {ad_from_array(ctx, AD_SHAPE(2), x0), ad_from_array(ctx, AD_SHAPE(2), v0)}, *hit = NULL;
    int rc = charges && s[0] && s[1] ? 1 : ad_errno(ctx);
    for (long k = 0; rc == 1; k++)
        rc = k < PARTICLE_MAX_STEPS ? euler_step(ctx, user, charges, s, &hit)
                                    : ad_raise(ctx, AD_ELIMIT, "particle: no crossing in %ld Euler steps", k);
    return rc == 0 ? hit : NULL;
}

static const ad_backend *backend_of(ad_ctx *ctx, char letter)
{
    const ad_backend *b = ad_backend_find(letter == 'f' ? "forward" : "reverse");
    if (!b) ad_raise(ctx, AD_ESTATE, "particle: no backend \"%s\"", letter == 'f' ? "forward" : "reverse");
    return b;
}

/* w* by the descent, outer and inner backends named by the letters. */
static int particle_run(ad_ctx *ctx, const char *letters, particle_state *s)
{
    particle_nest n = {backend_of(ctx, letters[1])};
    const ad_backend *outer = backend_of(ctx, letters[0]);
    if (!n.inner || !outer) return ad_errno(ctx);
    ad_scope sc = ad_scope_begin(ctx);
    gb_objective o = {.f = crossing, .user = &n, .b = outer, .sign = 1.0};
    ad_tensor *w = gb_descend(ctx, &o, ad_full(ctx, AD_SHAPE(1), s->w0));
    int rc = w ? AD_OK : ad_errno(ctx);
    if (rc == AD_OK) s->w = ad_item(w);
    ad_scope_end(ctx, sc, NULL);
    s->done = rc == AD_OK;
    return rc;
}

/* The input's w.  The letters' backends (forward, reverse) nest both ways;
 * a pair the library cannot nest fails the first driver call with
 * AD_ENOTSUP, never a silent zero derivative (tests/test_nested.c). */
static int particle_prepare(ad_ctx *ctx, const json_t *input, void **state, const char *letters)
{
    const ad_backend *outer = backend_of(ctx, letters[0]), *inner = backend_of(ctx, letters[1]);
    if (!outer || !inner) return ad_errno(ctx);
    particle_state *s = calloc(1, sizeof *s);
    if (!s) return ad_raise(ctx, AD_ENOMEM, "particle: out of memory");
    int rc = gb_json_number(ctx, "particle", input, "w", &s->w0);
    if (rc != AD_OK) {
        free(s);
        return rc;
    }
    *state = s;
    return AD_OK;
}

#define PARTICLE_FUNCTION(xy)                                                                                      \
    static int prepare_##xy(ad_ctx *ctx, const json_t *input, void **state)                                        \
    {                                                                                                               \
        return particle_prepare(ctx, input, state, #xy);                                                           \
    }                                                                                                               \
    static int run_##xy(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)                        \
    {                                                                                                               \
        (void)b; /* the letters choose the backends, not --mode */                                                 \
        (void)o;                                                                                                    \
        return particle_run(ctx, #xy, state);                                                                      \
    }
PARTICLE_FUNCTION(ff)
PARTICLE_FUNCTION(fr)
PARTICLE_FUNCTION(rf)
PARTICLE_FUNCTION(rr)

static json_t *particle_output(ad_ctx *ctx, void *state)
{
    particle_state *s = state;
    if (!s->done) return ad_raise(ctx, AD_ESTATE, "particle: no result yet"), NULL;
    return gb_json_real(ctx, s->w);
}

static const gb_function particle_functions[] = {
    {"ff", prepare_ff, run_ff, particle_output, free},
    {"fr", prepare_fr, run_fr, particle_output, free},
    {"rf", prepare_rf, run_rf, particle_output, free},
    {"rr", prepare_rr, run_rr, particle_output, free},
};

const gb_eval gb_eval_particle = {"particle", particle_functions, 4};
