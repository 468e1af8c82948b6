/* bench/gradbench/saddle.c — GradBench's "saddle" (Pearlmutter and
 * Siskind, evals/saddle/README.md): the saddle point of
 *
 *   f(p1, p2) = |p1|² - |p2|²      (p1 = (x1, y1), p2 = (x2, y2))
 *
 * as min over p1 of max over p2, both by GradBench's gradient descent
 * (descent.c) from the input's start:
 *   1. p1* = argmin_p1 g(p1), g(p1) = f(p1, argmax_p2 f(p1, p2)): the
 *      descent on g differentiates through the inner descent;
 *   2. p2* = argmax_p2 f(p1*, p2).
 * The output is (p1*, p2*); the exact saddle point is the origin, and the
 * descent's stopping rule (steps of 1e-5) leaves each coordinate near 8e-6.
 *
 * Nested differentiation as a user writes it: g calls the descent, whose
 * steps call ad_value_and_grad(inner, f) for ∇_p2 f, and the outer descent
 * differentiates g by ad_value_and_grad(outer).  The function's name picks
 * the two backends: its first letter the outer one (step 1's argmin), its
 * second the inner one (the argmax, in step 1 and in step 2, as GradBench's
 * C++ tools do); f is "forward", r is "reverse".  The tool's --mode does
 * not change them. */
#include <stdlib.h>

#include "gb_impl.h"

typedef struct saddle_state {
    double start[2], out[4]; /* the input's start; the last run's (p1*, p2*) */
    bool done;
} saddle_state;

typedef struct saddle_nest {
    const ad_backend *inner;
} saddle_nest;

/* f with p2 first: in[0] = p2, in[1] = p1 (the argmax moves in[0]). */
static ad_tensor *cost(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    return ad_sub(ad_sum(ad_square(in[1]), AD_ALL, false), ad_sum(ad_square(in[0]), AD_ALL, false));
}

/* argmax_p2 f(p1, p2) from start by the inner backend. */
static ad_tensor *argmax(ad_ctx *ctx, const saddle_nest *n, ad_tensor *p1, ad_tensor *start)
{
    ad_tensor *extra[1] = {p1};
    gb_objective o = {.f = cost, .nextra = 1, .extra = extra, .b = n->inner, .sign = -1.0};
    return gb_descend(ctx, &o, start);
}

/* g(p1) = f(p1, argmax_p2 f(p1, p2)): in[0] = p1, in[1] = start; user: the nest. */
static ad_tensor *max_over_p2(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    ad_tensor *p2 = argmax(ctx, user, in[0], in[1]);
    return p2 ? cost(ctx, (ad_tensor *[]){p2, in[0]}, NULL) : NULL;
}

static const ad_backend *backend_of(ad_ctx *ctx, char letter)
{
    const ad_backend *b = ad_backend_find(letter == 'f' ? "forward" : "reverse");
    if (!b) ad_raise(ctx, AD_ESTATE, "saddle: no backend \"%s\"", letter == 'f' ? "forward" : "reverse");
    return b;
}

static int saddle_run(ad_ctx *ctx, const char *letters, saddle_state *s)
{
    saddle_nest n = {backend_of(ctx, letters[1])};
    const ad_backend *outer = backend_of(ctx, letters[0]);
    if (!n.inner || !outer) return ad_errno(ctx);
    ad_scope sc = ad_scope_begin(ctx);
    ad_tensor *start = ad_from_array(ctx, AD_SHAPE(2), s->start);
    gb_objective o = {.f = max_over_p2, .user = &n, .nextra = 1, .extra = &start, .b = outer, .sign = 1.0};
    ad_tensor *p1 = start ? gb_descend(ctx, &o, start) : NULL;
    ad_tensor *p2 = p1 ? argmax(ctx, &n, p1, start) : NULL;
    int rc = p2 ? AD_OK : ad_errno(ctx);
    if (rc == AD_OK) rc = ad_to_array(ad_concat((ad_tensor *[]){p1, p2}, 2, 0), s->out, 4);
    ad_scope_end(ctx, sc, NULL);
    s->done = rc == AD_OK;
    return rc;
}

#define SADDLE_RUN(xy)                                                                                             \
    static int run_##xy(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)                        \
    {                                                                                                               \
        (void)b; /* the letters choose the backends, not --mode */                                                 \
        (void)o;                                                                                                    \
        return saddle_run(ctx, #xy, state);                                                                        \
    }
SADDLE_RUN(ff)
SADDLE_RUN(fr)
SADDLE_RUN(rf)
SADDLE_RUN(rr)

static int saddle_prepare(ad_ctx *ctx, const json_t *input, void **state)
{
    double *start = NULL;
    size_t n = 0;
    int rc = gb_json_vector(ctx, "saddle", input, "start", &start, &n);
    if (rc == AD_OK && n != 2) rc = ad_raise(ctx, AD_ESHAPE, "saddle: \"start\" has %zu numbers, not 2", n);
    saddle_state *s = rc == AD_OK ? calloc(1, sizeof *s) : NULL;
    if (rc == AD_OK && !s) rc = ad_raise(ctx, AD_ENOMEM, "saddle: out of memory");
    if (rc == AD_OK) {
        s->start[0] = start[0], s->start[1] = start[1];
        *state = s;
    }
    free(start);
    return rc;
}

static json_t *saddle_output(ad_ctx *ctx, void *state)
{
    saddle_state *s = state;
    if (!s->done) return ad_raise(ctx, AD_ESTATE, "saddle: no result yet"), NULL;
    return gb_json_list(ctx, s->out, 4);
}

static const gb_function saddle_functions[] = {
    {"ff", saddle_prepare, run_ff, saddle_output, free},
    {"fr", saddle_prepare, run_fr, saddle_output, free},
    {"rf", saddle_prepare, run_rf, saddle_output, free},
    {"rr", saddle_prepare, run_rr, saddle_output, free},
};

const gb_eval gb_eval_saddle = {"saddle", saddle_functions, 4};
