/* adscope/iterate.h — iterated maps and checkpointed reverse mode.
 *
 * An iterated map is a step function applied k times, then a scalar loss:
 *
 *     x_{t+1} = step(x_t, θ, t)   for t = 0..k-1,      y = loss(x_k, θ)
 *
 * (a time stepper, an RNN over a sequence, an unrolled solver).  Plain
 * reverse mode tapes all k steps: memory grows like k.  The backend
 * "reverse-checkpoint" keeps at most `snaps` states instead (binomial
 * checkpointing, Griewank & Walther's Revolve schedule) and recomputes the
 * others from them: memory like snaps·|x| plus one step's tape, time
 * ~r forward runs of the map plus one recorded run, where r is the least
 * integer with C(snaps + r, snaps) >= k (ad_iterate_advances gives the
 * exact count of extra steps, the fewest any schedule with snaps slots can
 * make).  The gradients are those of plain reverse mode.
 *
 *     static ad_tensor *step(ad_ctx *ctx, ad_tensor *x, ad_tensor *const *th, int64_t t, void *u)
 *     {
 *         return ad_add(ad_mul_s(ad_sin(x), 0.9), ad_mul(x, th[0]));
 *     }
 *     ad_iterate map = {.step = step, .nparams = 1, .steps = 10000, .snaps = 100};
 *     ad_tensor *in[2] = {x, v}, *y, *g[2];   // x_0 = x, θ = v
 *     ad_iterate_grad(ctx, &map, in, NULL, &y, g, NULL, NULL);
 *
 * The same map is an ordinary ad_fn (ad_iterate_fn with user = &map), so
 * every backend and driver applies to it, and "reverse-checkpoint" through
 * the drivers (ad_value_and_grad, ad_vjp, ad_jacobian) checkpoints it.
 * On any other ad_fn "reverse-checkpoint" is plain reverse mode (one
 * recorded pass, the whole tape; its ad_stats show it): it cannot see the
 * steps inside an arbitrary function, and it never guesses them.
 */
#ifndef ADSCOPE_ITERATE_H
#define ADSCOPE_ITERATE_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One step: x_{t+1} from x_t (borrowed) and θ = nparams tensors (borrowed).
 * Returns a new reference (NULL with the error recorded).  Must not modify
 * x or θ (it is run again from stored states), and must depend on its
 * arguments only (the same x_t gives the same x_{t+1}). */
typedef ad_tensor *(*ad_step_fn)(ad_ctx *ctx, ad_tensor *x, ad_tensor *const *theta, int64_t t, void *user);
/* The loss of the final state: a new reference. */
typedef ad_tensor *(*ad_loss_fn)(ad_ctx *ctx, ad_tensor *x, ad_tensor *const *theta, void *user);

/* ad_iterate.steps: k is the value of the input after θ (in[1 + nparams]),
 * a one-element tensor holding a whole number >= 0 that is not
 * differentiated; lets one description serve a sweep over k (the
 * harness's chain). */
#define AD_ITERATE_STEPS_INPUT (-1)

typedef struct ad_iterate {
    ad_step_fn step;
    ad_loss_fn loss; /* NULL: the sum of x_k's elements */
    int nparams;     /* θ = in[1 .. 1 + nparams); in[0] is x_0 */
    int64_t steps;   /* k >= 0, or AD_ITERATE_STEPS_INPUT */
    int snaps;       /* reverse-checkpoint's budget of stored states, x_0's included
                      * (0: automatic, ad_iterate_default_snaps(k)) */
    void *user;      /* passed to step and loss */
} ad_iterate;

/* The map as an ad_fn: user is a const ad_iterate *; in[0] = x_0, then θ,
 * then k when steps is AD_ITERATE_STEPS_INPUT.  Each state is released as
 * soon as the next exists (a plain evaluation holds two states). */
AD_API ad_tensor *ad_iterate_fn(ad_ctx *ctx, ad_tensor *const *in, void *user);

/* Inputs of the map: 1 + nparams, plus one for AD_ITERATE_STEPS_INPUT
 * (-1 for a NULL or malformed map). */
AD_API int ad_iterate_ninputs(const ad_iterate *map);

/* What a checkpointed sweep did. */
typedef struct ad_iterate_info {
    int64_t steps;    /* k */
    int snaps;        /* the budget used (automatic resolved, capped at max(1, k)) */
    int64_t advances; /* steps run forward without recording, over all cotangents */
    int64_t recorded; /* steps recorded (k per cotangent) */
    int max_held;     /* most states stored at once (<= snaps) */
} ad_iterate_info;

/* Value and gradient of a map with a one-element loss by checkpointed
 * reverse mode (what ad_value_and_grad does with "reverse-checkpoint"),
 * plus what the schedule did.  in has ad_iterate_ninputs(map) entries;
 * wrt as in ad_problem (NULL: x_0 and every θ; k is never differentiated).
 * grad[i] like in[i], NULL where not differentiated; value, st and info
 * may be NULL.  New references. */
AD_API int ad_iterate_grad(ad_ctx *ctx, const ad_iterate *map, ad_tensor *const *in, const bool *wrt,
                           ad_tensor **value, ad_tensor **grad, ad_stats *st, ad_iterate_info *info);

/* The automatic budget for k steps: the fewest snapshots with which every
 * step runs at most twice unrecorded (C(snaps + 2, 2) >= k, about
 * sqrt(2k)), so the time stays within ~3 forward runs plus one recorded. */
AD_API int ad_iterate_default_snaps(int64_t k);
/* The budget a checkpointed sweep over k steps uses: map->snaps, or the
 * automatic one when 0, capped at max(1, k) (more would never be used). */
AD_API int ad_iterate_budget(const ad_iterate *map, int64_t k);
/* Extra forward steps Revolve makes for k steps and snaps slots:
 * r·k - C(snaps + r, r - 1), r the least with C(snaps + r, snaps) >= k
 * (Griewank & Walther's minimum).  -1 for k < 0 or snaps < 1. */
AD_API int64_t ad_iterate_advances(int64_t k, int snaps);

#ifdef __cplusplus
}
#endif
#endif
