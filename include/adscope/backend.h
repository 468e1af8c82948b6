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
 * Hessians from whichever primitive a backend has.  Backends live in one
 * registry; the command line, the benchmark harness and the tests iterate
 * over it, a user can register another at run time, and code that needs
 * "a reverse-mode backend" asks for it by capability (ad_backend_with),
 * never by name.
 *
 * A descriptor may carry parameters (GSL's type + state pattern): params
 * points at the backend's own constants, read only by its primitives.  The
 * finite-difference backends are one primitive (ad_fd_jvp) and one
 * ad_fd_rule each, so a new rule is one descriptor:
 *
 *     static const ad_fd_rule one_sided2 = {.name = "one-sided-2", .npts = 3,
 *         .off = {0, 1, 2}, .w = {-1.5, 2, -0.5}, .order = 2};
 *     static const ad_backend mine = {.name = "one-sided-2", .caps = AD_CAP_DIFFERENCE | AD_CAP_ESTIMATE,
 *         .jvp = ad_fd_jvp, .params = &one_sided2};
 *     ad_backend_register(&mine);
 *
 * Built in (in this order): "forward", "forward-vector", "reverse",
 * "central", "forward-diff", "five-point", "gsl-deriv", "reverse-checkpoint"
 * (iterate.h), "reverse-replay" (below), "central-replay" (central
 * differences whose points are evaluated by a recorded program, below).
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
    unsigned flags; /* AD_PROBLEM_* (0: f is written with adscope's ops) */
} ad_problem;

/* ad_problem.flags */
enum { AD_PROBLEM_OPAQUE = 1u << 0 /* f is a black box (plain C over its inputs' data): only backends with AD_CAP_DIFFERENCE apply */ };

/* Options shared by every driver; zero-initialise for the defaults. */
typedef struct ad_options {
    int width;            /* forward-vector: directions per pass (0: chosen from n, ad_fwd_default_width) */
    double h;             /* finite differences: a fixed absolute step along the direction (0: automatic) */
    bool no_error_estimate; /* finite differences: skip the extra evaluations of the estimate */
    int64_t chunk;        /* directions per call of a primitive when building Jacobians (0: auto) */
    bool no_tangent_release; /* forward modes: keep every intermediate's tangent until f returns
                              * (by default a tangent goes once its last reader has run, as an
                              * earlier pass of the same f showed; the results are the same) */
} ad_options;

/* forward-vector's width when ad_options.width is 0, for n directions:
 * tangents of k·n doubles kept within a cache-sized budget (256 KiB),
 * 1 <= k <= min(n, 64).  ad_stats.width reports the width a driver used. */
AD_API int ad_fwd_default_width(int64_t n);

/* What a driver call cost.  Peak bytes are above what was live when the
 * call started, per category (values, tangents, tape, meta). */
typedef struct ad_stats {
    int64_t passes;       /* evaluations of f (with or without tangents / recording) */
    int64_t sweeps;       /* backward sweeps of the tape */
    int64_t ops_recorded; /* tape records appended */
    int64_t peak[AD_MEM_NCAT];
    int64_t peak_total;
    double seconds;       /* wall-clock time of the call */
    int width;            /* directions per call of the primitive when the driver went by columns
                           * (forward-vector: its width, chosen from n when ad_options.width is 0);
                           * 0 otherwise */
    int64_t reruns;       /* forward passes run again without early tangent release because f read
                           * a tangent released by the trace of an earlier pass (f took another
                           * path); each also counts in passes */
    int64_t released;     /* forward: intermediates' tangents released before f returned */
} ad_stats;

/* Results of one primitive call (all new references, owned by the caller
 * or the open scope).  Shapes: y = f(x); jv [k, y.shape]; g[i] [k, in_i.shape]
 * (NULL for inputs not differentiated); err like jv / g, or NULL when the
 * backend is exact to rounding.  Zero-initialise it: every "in" member is
 * then off. */
typedef struct ad_eval {
    bool no_value;     /* in: the caller does not need y (saves an evaluation) */
    ad_tensor *y_in;   /* in: f(x) when the caller already has it (borrowed; one-sided
                        * differences reuse it instead of evaluating f again) */
    ad_tensor *y;
    ad_tensor *jv;
    ad_tensor *jv_err;
    ad_tensor **g;     /* caller-provided array of nin entries */
    ad_tensor **g_err; /* caller-provided array of nin entries, or NULL */
    double *h;         /* in (optional): caller-provided array of k entries that a JVP
                        * primitive fills with the step it took along each direction:
                        * 0 where it took none (exact backends, a zero direction), NAN
                        * where the backend picks its steps internally (gsl-deriv).
                        * VJP primitives leave it alone.  NULL: not wanted. */
    bool no_error;     /* in: the caller does not need jv_err / g_err: a backend that estimates
                        * its error skips the estimate's evaluations (central: 2 per direction
                        * instead of 4) */
    int64_t unit_from; /* in, read only when V is NULL (drivers pass V NULL only to backends with
                        * AD_CAP_UNIT): the k directions are the unit vectors of flat columns
                        * [unit_from, unit_from + k) of the differentiated inputs, flattened and
                        * concatenated in input order, so no dense [k, n] directions are built */
} ad_eval;

/* What a backend does, for selecting backends by capability
 * (ad_backend_with) instead of by name. */
enum {
    AD_CAP_EXACT = 1u << 0,      /* derivatives exact up to rounding (AD) */
    AD_CAP_RULES = 1u << 1,      /* uses the ops' derivative rules */
    AD_CAP_ESTIMATE = 1u << 2,   /* returns an error estimate with each result */
    AD_CAP_FORWARD = 1u << 3,    /* propagates tangents through the ops' JVP rules (dual numbers) */
    AD_CAP_REVERSE = 1u << 4,    /* records a tape and sweeps it with the ops' VJP rules */
    AD_CAP_DIFFERENCE = 1u << 5, /* evaluates f only: works on black boxes */
    AD_CAP_VECTOR = 1u << 6,     /* carries several directions through one evaluation (ad_options.width) */
    AD_CAP_CHECKPOINT = 1u << 7, /* reverse mode that stores some states and recomputes the rest (iterate.h) */
    AD_CAP_UNIT = 1u << 8        /* jvp takes unit directions by column (V NULL, ad_eval.unit_from) */
};

typedef struct ad_backend ad_backend;
struct ad_backend {
    const char *name;
    const char *description;
    unsigned caps;
    /* (optional) V[i]: [k, in_i.shape] directions for differentiated inputs
     * (NULL entries for the others); V itself NULL (backends with
     * AD_CAP_UNIT only): unit directions from e->unit_from.  Fills e->y,
     * e->jv, e->jv_err (not when e->no_error). */
    int (*jvp)(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
               ad_eval *e, ad_stats *st);
    /* (optional) U: [k, y.shape] cotangents.  Fills e->y and e->g[i].
     * U == NULL means: with k == 1, the seed 1 of a one-element y (a
     * gradient); with k == 0, every unit cotangent (the whole Jacobian by
     * rows, k becoming y's size), without the caller knowing y's size. */
    int (*vjp)(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o, ad_eval *e,
               ad_stats *st);
    /* (optional) Directions per jvp call this backend prefers
     * (forward-vector: its width); NULL or 0 means one. */
    int (*preferred_width)(const ad_backend *b, const ad_options *o);
    /* (optional) The backend's own constants (borrowed, must outlive the
     * descriptor's use), read only by its primitives: ad_fd_jvp reads an
     * ad_fd_rule here, a hand-written derivative under gradcheck its
     * function.  NULL for backends without parameters. */
    const void *params;
};

/* ---- the registry ------------------------------------------------------- */

/* The registry is process-wide and safe to use from several threads: every
 * function below may run while another thread registers or unregisters.
 * A search (find, with, reference) sees one consistent state of the table.
 * Descriptors stay the caller's: unregistering one does not free it and
 * does not wait for a thread still computing with it, so free (or unload)
 * a descriptor only when no thread can be using it; a static const
 * descriptor never has that problem. */

/* Most backends the registry holds (built-ins included); ad_backend_register
 * returns AD_ELIMIT beyond it. */
#define AD_BACKEND_MAX 64

/* A consistent copy of the registry: writes min(n, max) descriptors (in
 * registry order) to out (NULL with max 0 only counts) and returns n, the
 * number registered at that moment.  Iterate over this copy when another
 * thread may (un)register: a loop over ad_backend_count / ad_backend_at
 * can see the table change between two calls.
 *
 *     const ad_backend *all[AD_BACKEND_MAX];
 *     int n = ad_backend_list(all, AD_BACKEND_MAX);
 */
AD_API int ad_backend_list(const ad_backend **out, int max);
/* Number of registered backends, and the i-th (built-ins first, in a stable
 * order).  NULL when i is out of range, which can happen inside a loop
 * bounded by an earlier ad_backend_count if another thread unregisters:
 * check it, or iterate over ad_backend_list's copy. */
AD_API int ad_backend_count(void);
AD_API const ad_backend *ad_backend_at(int i);
/* By name, or NULL.  For a user's choice (--mode, options.reference). */
AD_API const ad_backend *ad_backend_find(const char *name);
/* The first backend (in registry order) having every capability in caps,
 * or NULL: ad_backend_with(AD_CAP_REVERSE) is "reverse",
 * ad_backend_with(AD_CAP_FORWARD | AD_CAP_VECTOR) is "forward-vector". */
AD_API const ad_backend *ad_backend_with(unsigned caps);
/* The reference for judging other backends: the difference rule of highest
 * order that estimates its error ("five-point" among the built-ins; the
 * first on a tie), or NULL when none is registered.  Used by gradcheck,
 * the harness and 'adscope compare'. */
AD_API const ad_backend *ad_backend_reference(void);
/* Adds a backend (borrowed: the descriptor must outlive every use, in every
 * thread).  AD_EINVAL for a descriptor without a name or without any
 * primitive, AD_ESTATE when the name is taken, AD_ELIMIT when the registry
 * holds AD_BACKEND_MAX backends. */
AD_API int ad_backend_register(const ad_backend *b);
/* Removes a backend added with ad_backend_register (not a built-in):
 * AD_OK, AD_ENOTFOUND (no such user backend), AD_EINVAL (NULL).  A search
 * that started before it may still return the descriptor. */
AD_API int ad_backend_unregister(const char *name);

/* ---- finite-difference rules --------------------------------------------- */

/* A difference rule: D(h) = Σ_q w[q]·f(x + off[q]·h·v) / h approximates
 * J·v with truncation error ~ h^order.  Built in: central {-1, 1}
 * {-1/2, 1/2} order 2; forward-diff {0, 1} {-1, 1} order 1; five-point
 * {-2, -1, 1, 2} {1, -8, 8, -1}/12 order 4. */
typedef struct ad_fd_rule {
    const char *name;
    int npts;      /* points of the stencil, 1..4 */
    double off[4]; /* offsets in units of h (an offset 0 reuses f(x)) */
    double w[4];   /* weights */
    int order;     /* truncation order p >= 1: the step and the error estimate follow from it */
    bool replay;   /* evaluate the points through a program recorded from f (as central-replay,
                    * below): the same values, so the same derivative, step and estimate */
} ad_fd_rule;

/* The JVP primitive of every difference backend: applies the ad_fd_rule in
 * b->params along each direction, at the automatic step (ad_fd_step_along)
 * or ad_options.h, with Richardson's error estimate unless
 * ad_options.no_error_estimate; fills e->h.  AD_EINVAL when b->params is
 * NULL or not a usable rule: there is no default rule. */
AD_API int ad_fd_jvp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
                     ad_eval *e, ad_stats *st);
/* The rule a difference backend applies (b's params when b's primitive is
 * ad_fd_jvp), or NULL when b is not such a backend (AD, gsl-deriv). */
AD_API const ad_fd_rule *ad_backend_fd_rule(const ad_backend *b);

/* How far a direction reaches, which is what the automatic step depends
 * on.  Only differentiated inputs count. */
typedef struct ad_fd_scale {
    double vmax;   /* max |v_j| (0: a zero direction) */
    double xscale; /* max(1, |x_j| where v_j != 0) */
    int64_t nnz;   /* how many v_j != 0 */
    double x_at;   /* x_j at the last v_j != 0: the coordinate moved when nnz == 1 */
} ad_fd_scale;
/* s for the direction v (v[i] shaped like p->in[i], NULL entries for
 * inputs not moved) at the point p->in.  AD_OK, or the status of a failed
 * allocation. */
AD_API int ad_fd_scale_of(const ad_problem *p, ad_tensor *const *v, ad_fd_scale *s);
/* The automatic step of rule r, balancing truncation C·h^p against
 * rounding eps·|f|/h: eps^(1/(p+1))·xscale/vmax (NAN when vmax is 0). */
AD_API double ad_fd_step(const ad_fd_rule *r, double xscale, double vmax);
/* The step ad_fd_jvp takes along a direction of scale s: ad_fd_step, and
 * along one coordinate (nnz == 1, vmax == 1) adjusted so that x + h is
 * exactly representable (the perturbation applied is then exactly h). */
AD_API double ad_fd_step_along(const ad_fd_rule *r, const ad_fd_scale *s);

/* ---- reverse-replay: record once, replay over raw buffers ----------------
 *
 * "reverse-replay" is reverse mode for a function called again and again
 * with new values of the same shapes (an optimiser's loop).  Its first call
 * for a given (f, user, input shapes, differentiated inputs) runs f exactly
 * as "reverse" does while a recorder notes every op; later calls do not
 * call f: they run the recorded program's value kernels and adjoint
 * kernels over preallocated arrays (the results are reverse's, bit for
 * bit, the sign of a zero aside).  As with jax.jit, f's side effects
 * happen on the first call only, and what f reads from `user` or globals
 * is baked in then: pass what changes as inputs.  A function the recorder
 * cannot follow (it reads values to the host, builds tensors from caller
 * memory or the RNG, uses an op outside the whitelist of src/trace.h) runs
 * as plain reverse on every call, correct and no faster; so do nested
 * calls, calls with an open forward level, and Jacobians by rows.  A
 * context keeps a few programs (ad_ctx_trim gives them back).
 *
 * "central-replay" is central differences under the same contract: its
 * first call for a key calls f once, at x, with the recorder on, and
 * checks the program's value there against f's; later calls do not call
 * f.  Every point is evaluated by the program, and when the program runs
 * block by block (src/trace.h: elementwise chains ending in a full sum or
 * mean) a point x ± h·e_j reruns only the blocks that read x_j, the rest
 * of the sum taken from x's own (the same additions, so f's bits): 2n
 * points at the cost of a block each instead of f.  Its derivative, step
 * and error estimate are central's, bit for bit; what cannot be replayed
 * runs as central.  Any difference rule can do the same (ad_fd_rule's
 * replay). */

/* What the last reverse-replay or central-replay call in a context did. */
typedef enum {
    AD_REPLAY_NONE = 0, /* no call yet */
    AD_REPLAY_TRACED,   /* ran f as reverse (central) does and recorded it (reason: why the recording cannot be
                         * replayed, or "" when it can) */
    AD_REPLAY_REPLAYED, /* ran the recorded program; f was not called */
    AD_REPLAY_PLAIN     /* ran plain reverse, or plain central for central-replay (reason: why) */
} ad_replay_kind;

typedef struct ad_replay_report {
    int kind;          /* ad_replay_kind */
    int64_t ops;       /* ops of the program run or recorded (0: none) */
    int64_t programs;  /* entries the context holds (programs and refusals) */
    char reason[256];
    int64_t block;     /* elements per block when the program runs block by block (src/trace.h: elementwise
                        * chains ending in a full sum or mean, any size); 0: op by op over whole arrays */
} ad_replay_report;

/* Fills *r for ctx.  AD_OK, or AD_EINVAL for NULL arguments. */
AD_API int ad_replay_last(const ad_ctx *ctx, ad_replay_report *r);

#ifdef __cplusplus
}
#endif
#endif
