/* modes/iterate.c — iterated maps (ad_iterate_*): a step function applied k
 * times and a loss, as an ordinary ad_fn that every backend differentiates;
 * the checks, the single step and the loss that the checkpointed backend
 * (checkpoint.c) reuses; the budget and the cost of a Revolve schedule. */
#include <math.h>

#include "checkpoint.h"
#include "revolve.h"

int ad_iterate_ninputs(const ad_iterate *map)
{
    if (!map || map->nparams < 0 || map->nparams > AD_MAX_INPUTS - 2) return -1;
    return 1 + map->nparams + (map->steps == AD_ITERATE_STEPS_INPUT);
}

/* k from the input after θ: one element, a whole number >= 0. */
static int steps_from_input(ad_ctx *ctx, ad_tensor *t, int64_t *k)
{
    if (t->numel != 1) return ad_error(ctx, AD_EINVAL, "iterate: the number of steps (the input after the parameters) "
                                                      "must have one element, not %lld",
                                       (long long)t->numel);
    double v = ad_item(t);
    if (!(v >= 0 && v <= 1e15) || v != floor(v))
        return ad_error(ctx, AD_EINVAL, "iterate: the number of steps must be a whole number >= 0, not %g", v);
    *k = (int64_t)v;
    return AD_OK;
}

int ad_iterate_check(ad_ctx *ctx, const ad_iterate *map, int nin, ad_tensor *const *in, int64_t *k)
{
    if (!map) return ad_error(ctx, AD_EINVAL, "iterate: no map given (user must point at an ad_iterate)");
    if (!map->step) return ad_error(ctx, AD_EINVAL, "iterate: the map has no step function");
    int want = ad_iterate_ninputs(map);
    if (want < 0) return ad_error(ctx, AD_EINVAL, "iterate: %d parameters (0..%d supported)", map->nparams, AD_MAX_INPUTS - 2);
    if (map->steps < AD_ITERATE_STEPS_INPUT)
        return ad_error(ctx, AD_EINVAL, "iterate: %lld steps (k >= 0, or AD_ITERATE_STEPS_INPUT)", (long long)map->steps);
    if (map->snaps < 0) return ad_error(ctx, AD_EINVAL, "iterate: a budget of %d snapshots (>= 1, or 0: automatic)", map->snaps);
    if (nin >= 0 && nin != want)
        return ad_error(ctx, AD_EINVAL, "iterate: the map takes %d inputs (x_0, %d parameters%s), not %d", want,
                        map->nparams, map->steps == AD_ITERATE_STEPS_INPUT ? ", k" : "", nin);
    if (map->steps != AD_ITERATE_STEPS_INPUT) {
        *k = map->steps;
        return AD_OK;
    }
    return steps_from_input(ctx, in[want - 1], k);
}

ad_tensor *ad_iterate_step(ad_ctx *ctx, const ad_iterate *map, ad_tensor *const *theta, int64_t t, ad_tensor *x)
{
    ad_scope s = ad_scope_begin(ctx);
    int mark = ad_err_mark(ctx);
    ad_tensor *y = map->step(ctx, x, theta, t, map->user);
    if (y && y->ctx != ctx) {
        y = NULL; /* freed with the scope */
        ad_error(ctx, AD_EINVAL, "iterate: step %lld returned a tensor of another context", (long long)t);
    }
    y = ad_scope_end_owned(ctx, s, y);
    bool failed = ad_err_since(ctx, mark);
    if (!y && !failed) ad_error(ctx, AD_EINVAL, "iterate: step %lld returned NULL without recording an error", (long long)t);
    if (y && failed) { /* a result despite an error on the way: never trust it */
        ad_decref(y);
        y = NULL;
    }
    return y;
}

ad_tensor *ad_iterate_loss(ad_ctx *ctx, const ad_iterate *map, ad_tensor *const *theta, ad_tensor *x)
{
    if (!map->loss) return ad_sum(x, AD_ALL, false);
    int mark = ad_err_mark(ctx);
    ad_tensor *y = map->loss(ctx, x, theta, map->user);
    bool failed = ad_err_since(ctx, mark);
    if (!y && !failed) ad_error(ctx, AD_EINVAL, "iterate: the loss returned NULL without recording an error");
    return failed ? NULL : y;
}

ad_tensor *ad_iterate_fn(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    const ad_iterate *map = user;
    int64_t k = 0;
    if (!in || !in[0] || ad_iterate_check(ctx, map, -1, in, &k) != AD_OK) {
        if (!in || !in[0]) ad_error(ctx, AD_EINVAL, "iterate: no initial state");
        return NULL;
    }
    ad_tensor *const *theta = in + 1, *x = in[0];
    bool own = false; /* x is ours to release (not the caller's x_0) */
    for (int64_t t = 0; t < k; t++) {
        ad_tensor *next = ad_iterate_step(ctx, map, theta, t, x);
        if (own) ad_decref(x);
        if (!next) return NULL;
        x = next;
        own = true;
    }
    ad_tensor *y = ad_iterate_loss(ctx, map, theta, x);
    if (own) ad_decref(x);
    return y;
}

int ad_iterate_default_snaps(int64_t k)
{
    int s = 1;
    while (s < AD_REVOLVE_MAX_SNAPS && ad_revolve_beta(s, 2) < k) s++;
    return s;
}

int ad_iterate_budget(const ad_iterate *map, int64_t k)
{
    int64_t s = map->snaps > 0 ? map->snaps : ad_iterate_default_snaps(k);
    int64_t cap = k > 1 ? k : 1;
    if (s > cap) s = cap;
    return (int)(s < AD_REVOLVE_MAX_SNAPS ? s : AD_REVOLVE_MAX_SNAPS);
}

int64_t ad_iterate_advances(int64_t k, int snaps)
{
    if (k < 0 || snaps < 1) return -1;
    if (k <= 1) return 0;
    int64_t r = ad_revolve_reps(k, snaps);
    return r * k - ad_revolve_beta(r - 1, (int64_t)snaps + 1);
}
