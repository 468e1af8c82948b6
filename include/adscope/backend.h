/* adscope/backend.h — differentiation backends behind one interface.
 *
 * A user's function is written once against the tensor API:
 *
 *     static ad_tensor *f(ad_ctx *ctx, ad_tensor *const *in, void *user)
 *     {
 *         return ad_sum(ad_mul(ad_sin(in[0]), in[1]), AD_ALL, false);
 *     }
 *
 * and any backend differentiates it.  A backend is a const descriptor (GSL's
 * pattern for pluggable algorithms): a name, capabilities and up to two
 * primitives, each optional:
 *
 *   jvp   y = f(x) and J·V for k directions at once (forward mode: one pass
 *         with k tangents; finite differences: one stencil per direction)
 *   vjp   y = f(x) and Uᵀ·J for k cotangents (reverse mode: one recorded
 *         evaluation, k sweeps of the tape)
 *
 * The drivers (drivers.h) build gradients, JVPs, VJPs, Jacobians and
 * Hessians from whichever primitive a backend has.  Backends are found by
 * name in one registry; the command line, the benchmark harness and the
 * tests iterate over it, and a user can register another at run time.
 *
 * Built in: "forward", "forward-vector", "reverse", "central",
 * "forward-diff", "five-point", "gsl-deriv".
 */
#ifndef ADSCOPE_BACKEND_H
#define ADSCOPE_BACKEND_H

#include "common.h"
#include "ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The function being differentiated.  It builds its result from in[0..nin)
 * with the library's ops and returns a new reference (NULL on error, with
 * the reason recorded in ctx).  It must not modify its inputs.  It may be
 * called many times (finite differences, forward passes). */
typedef ad_tensor *(*ad_fn)(ad_ctx *ctx, ad_tensor *const *in, void *user);

/* What to differentiate: f at the point in[0..nin).  wrt[i] says whether
 * input i is differentiated (NULL: all are); the others are held constant. */
typedef struct ad_problem {
    ad_ctx *ctx;
    ad_fn f;
    void *user;
    int nin;
    ad_tensor *const *in;
    const bool *wrt;
} ad_problem;

/* Options shared by every driver; zero-initialise for the defaults. */
typedef struct ad_options {
    int width;            /* forward-vector: directions per pass (0: 8) */
    double h;             /* finite differences: a fixed absolute step along the direction (0: automatic) */
    bool no_error_estimate; /* finite differences: skip the extra evaluations of the estimate */
    int64_t chunk;        /* directions per call of a primitive when building Jacobians (0: auto) */
} ad_options;

/* What a driver call cost.  Peak bytes are above what was live when the
 * call started, per category (values, tangents, tape, meta). */
typedef struct ad_stats {
    int64_t passes;       /* evaluations of f (with or without tangents / recording) */
    int64_t sweeps;       /* backward sweeps of the tape */
    int64_t ops_recorded; /* tape records appended */
    int64_t peak[AD_MEM_NCAT];
    int64_t peak_total;
    double seconds;       /* wall-clock time of the call */
} ad_stats;

/* Results of one primitive call (all new references, owned by the caller
 * or the open scope).  Shapes: y = f(x); jv [k, y.shape]; g[i] [k, in_i.shape]
 * (NULL for inputs not differentiated); err like jv / g, or NULL when the
 * backend is exact to rounding. */
typedef struct ad_eval {
    bool no_value;     /* in: the caller does not need y (saves an evaluation) */
    ad_tensor *y_in;   /* in: f(x) when the caller already has it (borrowed; one-sided
                        * differences reuse it instead of evaluating f again) */
    ad_tensor *y;
    ad_tensor *jv;
    ad_tensor *jv_err;
    ad_tensor **g;     /* caller-provided array of nin entries */
    ad_tensor **g_err; /* caller-provided array of nin entries, or NULL */
} ad_eval;

enum {
    AD_CAP_EXACT = 1u << 0,   /* derivatives exact up to rounding (AD) */
    AD_CAP_RULES = 1u << 1,   /* uses the ops' derivative rules */
    AD_CAP_ESTIMATE = 1u << 2 /* returns an error estimate with each result */
};

typedef struct ad_backend ad_backend;
struct ad_backend {
    const char *name;
    const char *description;
    unsigned caps;
    /* (optional) V[i]: [k, in_i.shape] directions for differentiated inputs
     * (NULL entries for the others).  Fills e->y, e->jv, e->jv_err. */
    int (*jvp)(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
               ad_eval *e, ad_stats *st);
    /* (optional) U: [k, y.shape] cotangents.  Fills e->y and e->g[i].
     * U == NULL means: with k == 1, the seed 1 of a one-element y (a
     * gradient); with k == 0, every unit cotangent (the whole Jacobian by
     * rows, k becoming y's size), without the caller knowing y's size. */
    int (*vjp)(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o, ad_eval *e,
               ad_stats *st);
    /* Directions per jvp call this backend prefers (forward-vector: its
     * width); 0 means one. */
    int (*preferred_width)(const ad_backend *b, const ad_options *o);
};

/* ---- the registry ------------------------------------------------------- */

/* Number of registered backends, and the i-th (built-ins first, in a stable
 * order).  NULL when i is out of range. */
AD_API int ad_backend_count(void);
AD_API const ad_backend *ad_backend_at(int i);
/* By name, or NULL. */
AD_API const ad_backend *ad_backend_find(const char *name);
/* Adds a backend (the descriptor must outlive its use).  AD_EINVAL for a
 * descriptor without a name or without any primitive, AD_ESTATE when the
 * name is taken, AD_ELIMIT when the registry is full. */
AD_API int ad_backend_register(const ad_backend *b);
/* Removes a backend added with ad_backend_register (not a built-in). */
AD_API int ad_backend_unregister(const char *name);

#ifdef __cplusplus
}
#endif
#endif
