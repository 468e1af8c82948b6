/* modes/modes.h — what the backends and drivers share (not installed).
 * Each section names the file that holds it. */
#ifndef ADSCOPE_MODES_H
#define ADSCOPE_MODES_H

#include "../src/internal.h"
#include "adscope/drivers.h"

#define AD_MAX_INPUTS 64

/* ---- the built-in descriptors (registry.c lists them in this order) ---- */
extern const ad_backend ad_backend_forward, ad_backend_forward_vector; /* forward.c */
extern const ad_backend ad_backend_reverse;                             /* reverse.c */
extern const ad_backend ad_fd_backends[];                               /* finite.c: one row per rule */
extern const int ad_fd_nbackends;
extern const ad_backend ad_backend_gsl_deriv;                           /* gslderiv.c */
extern const ad_backend ad_backend_reverse_replay;                      /* replay.c */
extern const ad_backend ad_backend_central_replay;                      /* finite.c */

/* ---- problems (problem.c) ------------------------------------------------ */

/* Whether input i of p is differentiated. */
static inline bool ad_wrt(const ad_problem *p, int i) { return !p->wrt || p->wrt[i]; }

/* Checks p (function, context, inputs, sizes); records the error. */
int ad_problem_check(const ad_problem *p, const char *what);
/* AD_OK, or AD_EINVAL naming b when p is a black box (AD_PROBLEM_OPAQUE)
 * and b differentiates through the ops' rules, which cannot see inside it. */
int ad_problem_fits_backend(const ad_problem *p, const ad_backend *b);

/* Calls f under a scope and checks its result: a new reference, or NULL
 * with the error recorded ("f returned NULL: <why>").  Counts a pass.  An
 * error recorded before the call stays recorded when f succeeds. */
ad_tensor *ad_call_f(const ad_problem *p, ad_tensor *const *in, ad_stats *st);

/* How p's inputs carry derivatives of an enclosing computation (nested
 * differentiation): AD_NEST_FWD, a tangent at a forward level that
 * propagates now; AD_NEST_REV, requires grad while grad mode is on.  0 for
 * plain inputs. */
enum { AD_NEST_FWD = 1u << 0, AD_NEST_REV = 1u << 1 };
unsigned ad_problem_nesting(const ad_problem *p);
/* AD_OK, or AD_ENOTSUP naming `what` and b when p is nested and b cannot
 * differentiate inside another derivative (only the rule-based forward and
 * reverse backends can: the others would give a silent zero). */
int ad_problem_nest_fits(const ad_problem *p, const ad_backend *b, const char *what);

/* Inputs as the function will see them, new handles so that nothing the
 * backend attaches (tangents, requires_grad) touches the caller's tensors.
 * Plain inputs: detached aliases.  An input carrying derivatives of an
 * enclosing computation: a view op of it, so it keeps them (its tangents
 * at the outer levels; a record on the outer tape, at which an inner sweep
 * stops and through which the outer one passes).  Registered in the open
 * scope. */
int ad_fresh_inputs(const ad_problem *p, ad_tensor **x);

/* ---- the primitive kit (primitive.c) ------------------------------------------ */

/* What a primitive changes in the context while it evaluates f, kept to
 * be restored: grad mode and the forward levels. */
typedef struct ad_prim {
    ad_ctx *ctx;
    bool prev_grad;
    bool pushed;         /* a forward level of its own is open */
    uint8_t prev_active; /* ctx->fwd_active before */
    unsigned nest;       /* ad_problem_nesting of the problem */
    ad_scope scope;
} ad_prim;
/* The start every primitive shares: sets grad mode (recording or not; left
 * on when an enclosing reverse computation must see f's ops) and forward
 * mode (fwd_k > 0: a level of width fwd_k opened once the inputs exist;
 * 0: every level suspended, and a nested problem refused with AD_ENOTSUP;
 * -1: unchanged), opens the primitive's scope and makes the fresh inputs
 * x.  Returns AD_OK or a status; the scope is open either way (end it with
 * ad_jvp_finish or ad_vjp_finish after ad_prim_restore). */
int ad_prim_begin(ad_prim *pr, const ad_problem *p, bool grad, int fwd_k, ad_tensor **x);
/* Closes the primitive's level, restores grad mode and forward mode. */
void ad_prim_restore(const ad_prim *pr);

/* The end of a JVP primitive: ends its scope s keeping y (unless
 * e->no_value), jv and err as new references for the caller, and fills e.
 * Returns rc, or the scope's own failure; on failure e gets NULLs. */
int ad_jvp_finish(ad_ctx *ctx, ad_scope s, int rc, ad_tensor *y, ad_tensor *jv, ad_tensor *err, ad_eval *e);
/* Its twin for a VJP primitive: keeps y (unless e->no_value) and g[0..nin)
 * ([k, in_i.shape] or NULL), fills e->y, e->g and NULLs e->g_err. */
int ad_vjp_finish(ad_ctx *ctx, ad_scope s, int rc, int nin, ad_tensor *y, ad_tensor *const *g, ad_eval *e);
/* Reports the same step h for each of k directions in e->h (if wanted):
 * 0 for exact backends, NAN for steps chosen out of sight. */
void ad_eval_steps(ad_eval *e, int k, double h);

/* preferred_width of the backends that take one direction per call. */
int ad_width_one(const ad_backend *b, const ad_options *o);

/* A view of row r of a [k, ...] tensor (shape without the first axis). */
ad_tensor *ad_row(ad_tensor *t, int64_t r);

/* ---- steps of difference rules (fd_step.c) ---------------------------------- */

/* eps^(1/(p+1))·xscale/vmax: ad_fd_step for a rule of order p (gsl-deriv's
 * trial step uses it too). */
double ad_fd_step_order(int order, double xscale, double vmax);
/* ad_fd_scale_of along row r of the directions V ([k, in_i.shape]). */
int ad_fd_scale_row(const ad_problem *p, ad_tensor *const *V, int64_t r, ad_fd_scale *s);

/* ---- driver bookkeeping (snapshot.c) ------------------------------------------ */

/* What was live and counted when a call started. */
typedef struct ad_snapshot {
    ad_mem_stats mem;
    int64_t recorded;
    double t0;
} ad_snapshot;
void ad_snapshot_begin(ad_ctx *ctx, ad_snapshot *s);
/* Fills st's peaks, ops recorded and time (passes/sweeps are counted by
 * the primitives), and restores the context's peak counters so that the
 * caller's own measurements still hold. */
void ad_snapshot_end(ad_ctx *ctx, const ad_snapshot *s, ad_stats *st);
double ad_now(void);

#endif
