/* modes/checkpoint.h — what the iterated map (iterate.c) and the
 * checkpointed backend (checkpoint.c) share (not installed). */
#ifndef ADSCOPE_CHECKPOINT_H
#define ADSCOPE_CHECKPOINT_H

#include "adscope/iterate.h"
#include "modes.h"

/* The backend (registry.c lists it after "reverse"). */
extern const ad_backend ad_backend_reverse_checkpoint;

/* Checks map against the nin inputs in (x_0, θ, and k when read from an
 * input) and gives k.  AD_OK, or AD_EINVAL naming what is wrong. */
int ad_iterate_check(ad_ctx *ctx, const ad_iterate *map, int nin, ad_tensor *const *in, int64_t *k);
/* step t of map from x (borrowed): a new reference owned by the caller
 * (never registered in a scope), or NULL with the error recorded, naming
 * the step. */
ad_tensor *ad_iterate_step(ad_ctx *ctx, const ad_iterate *map, ad_tensor *const *theta, int64_t t, ad_tensor *x);
/* The loss of x_k: a new reference registered in the open scope, or NULL
 * with the error recorded. */
ad_tensor *ad_iterate_loss(ad_ctx *ctx, const ad_iterate *map, ad_tensor *const *theta, ad_tensor *x);

#endif
