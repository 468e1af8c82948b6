/* modes/gradcheck_impl.h — what the gradient checker's files share (not
 * installed): the state of one ad_gradcheck call, the "user" backends that
 * wrap hand-written derivatives, and the pieces each file provides.
 *
 *   gradcheck.c              options, the Jacobian comparison, kinks, summary
 *   gradcheck_user.c         hand-written gradient / JVP / VJP as a backend
 *   gradcheck_vectors.c      random vectors, direction scales, <v, J u> by a backend
 *   gradcheck_consistency.c  forward/reverse identity <v, J u> = <Jᵀ v, u>
 *   gradcheck_taylor.c       Taylor remainder order
 *   gradcheck_second.c       H·v against differences of gradients
 *   gradcheck_fast.c         random directions instead of every coordinate
 *   gradcheck_print.c        the report for people
 *   gradcheck_noise.c        f's measured noise (Moré & Wild's ECnoise), coordinate scales
 *   gradcheck_reference.c    Ridders-extrapolated differences with an error bound
 *   gradcheck_locate.c       naming the element behind a failed identity (bisection)
 *   gradcheck_progress.c     progress reports and the hint to fast mode
 */
#ifndef ADSCOPE_GRADCHECK_IMPL_H
#define ADSCOPE_GRADCHECK_IMPL_H

#include "adscope/gradcheck.h"
#include "modes.h"

/* ---- hand-written derivatives as a temporary backend --------------------- */

enum { GC_USER_GRAD, GC_USER_JVP, GC_USER_VJP };

/* A hand-written derivative: the params of its temporary backend (the
 * primitives read it from b->params, GSL's type + state pattern). */
typedef struct gc_user_fn {
    int kind;
    ad_user_grad_fn grad;
    ad_user_jvp_fn jvp;
    ad_user_vjp_fn vjp;
    void *ud;
} gc_user_fn;

/* The descriptor and its params, stored together in the checker's state.
 * Never registered: the checker passes b straight to the drivers. */
typedef struct gc_user_backend {
    ad_backend b;
    gc_user_fn fn;
    int kind;
} gc_user_backend;

void gc_user_backend_init(gc_user_backend *u, int kind, const char *name, const ad_gradcheck_options *o,
                          void *ud);

/* ---- one call of ad_gradcheck ----------------------------------------------- */

#define GC_MAX_BACKENDS 48

typedef struct gc_run {
    const ad_problem *p;
    ad_ctx *ctx;
    ad_gradcheck_options o;
    ad_gradcheck_report *r;
    const ad_backend *ref;
    ad_tensor *x[AD_MAX_INPUTS]; /* detached aliases of the inputs, for our own evaluations */
    ad_tensor *y;                /* f(x), contiguous and finite (NaN/Inf there: AD_ENONFINITE) */
    int64_t m;                   /* its element count */
    const double *xd[AD_MAX_INPUTS]; /* the inputs' values, contiguous */
    double typ[AD_MAX_INPUTS];   /* per input: the floor of a coordinate's scale (gc_scale) */
    double *noise;               /* [m] measured noise level of each output element (gc_noise) */
    bool opaque;                 /* p->flags & AD_PROBLEM_OPAQUE: AD backends do not apply */
    int64_t ref_one_sided, ref_shrunk, ref_undefined; /* coordinates whose reference needed care */
    int64_t ref_evals;           /* evaluations of f by gradcheck's own reference */
    double ref_step;             /* the last gc_ref_deriv: the first step of its confirmed run (NAN: none) */
    double *kstep[AD_MAX_INPUTS]; /* per coordinate: ref_step there (kinks are probed well inside it) */
    const char *ref_name;        /* what the summary calls the reference */
    double t_start;              /* when the check started (progress) */
    double t_last;               /* when progress was last reported */
    /* the backends checked, parallel to r->backends */
    int nb;
    const ad_backend *bk[GC_MAX_BACKENDS];
    gc_user_backend user[3];
    int nuser;
    const ad_backend *taylor_backend; /* whose derivative the Taylor test uses */
    /* mismatching rows kept, and their sort keys */
    double *row_key;
    double worst_key;
    /* kinks: tolerance of each interval, and per input the kink at each
     * Jacobian entry (index + 1, 0: none; allocated on the first kink) */
    double *kink_tol;
    int kink_cap;
    int32_t *kink_at[AD_MAX_INPUTS];
    /* the first thing that went wrong, for the summary */
    char first_failure[200];
} gc_run;

/* Random numbers of our own (splitmix64), so that the context's generator
 * is left alone: stream `purpose` of the seed. */
typedef struct gc_rng {
    uint64_t s;
} gc_rng;
gc_rng gc_rng_new(uint64_t seed, uint64_t purpose);
double gc_uniform(gc_rng *g); /* in [-1, 1), never 0 */
/* A tensor like t (or of shape s) filled with gc_uniform. */
ad_tensor *gc_random_like(ad_ctx *ctx, gc_rng *g, const ad_tensor *t);

/* Element-wise comparison of one entry: counts it in its line and records
 * a mismatch (rows, worst, counts).  input < 0 encodes direction -input-1
 * in fast mode (the entry is then an output element along that direction,
 * or <u, J d> itself with ndim 0). */
typedef struct gc_cmp {
    const char *backend;
    ad_gradcheck_backend *line; /* the backend's line (a scratch one for "hvp") */
    int input;
    int ndim;
    const int64_t *index;
    double a, n, e;
} gc_cmp;
/* Returns 1 when the entry mismatches, 0 when it agrees.  kink_id >= 0:
 * the entry sits at that kink, and a value between its one-sided quotients
 * passes (and updates the kink's record). */
int gc_compare(gc_run *g, const gc_cmp *c, int kink_id);
/* Records a NaN/Inf description (the first one wins) and fails the check. */
void gc_nonfinite(gc_run *g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Names the first failure for the summary (the first one wins). */
void gc_failure(gc_run *g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Appends to a backend's note. */
void gc_note(ad_gradcheck_backend *line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Where an entry is, for messages: "in0[2]" (scalar f), "f[1] wrt in0[2]",
 * "f[1] along direction 0" (fast mode), "in0[2] of H.v" (backend "hvp"). */
const char *gc_where(const gc_run *g, const char *backend, int input, int ndim, const int64_t *index, char *buf,
                     size_t n);
/* Appends a new kink; returns its id, or -1 when memory runs out. */
int gc_kink_add(gc_run *g, int input, int ndim, const int64_t *index, double left, double right, double tol);
/* Whether a one-sided pair shows a kink: f0 = f(x), fp/fm at x ± h·d,
 * fp4/fm4 at x ± h/4·d (steps actually taken: hp, hm, hp4, hm4), noise
 * the measured noise of the values.  Sets the one-sided quotients and the
 * interval's tolerance. */
typedef struct gc_sides {
    double f0, fp, fm, fp4, fm4;
    double hp, hm, hp4, hm4;
    double noise; /* f's measured noise level there (gc_noise) */
} gc_sides;
bool gc_jump_candidate(const gc_sides *s);
bool gc_is_kink(const gc_sides *s, double atol, double rtol, double *left, double *right, double *tol);
/* f at x + t·V (V[i] like input i; NULL entries not moved), contiguous,
 * grad mode and tangents off.  Registered in the open scope. */
ad_tensor *gc_eval_along(gc_run *g, ad_tensor *const *V, double t);
/* f at x with element j of input i moved to x_j + t; *taken is the step
 * actually taken (exactly representable). */
ad_tensor *gc_eval_coord(gc_run *g, int i, int64_t j, double t, double *taken);
/* The Jacobian index of (output element o, element j of input i) into
 * idx; returns its length (kept flat, 2, beyond AD_MAX_DIMS). */
int gc_jac_index(const gc_run *g, int i, int64_t o, int64_t j, int64_t *idx);
/* Unflattens flat index q of shape (ndim, shape) into idx. */
void gc_unravel(int64_t q, int ndim, const int64_t *shape, int64_t *idx);

/* Backend bi's driver call failed: it fails, with the reason in its note
 * and as the first failure; the context's error is cleared so that the
 * next calls start clean.  Returns AD_OK, or rc when it is AD_ENOMEM
 * (out of memory stops the whole check). */
int gc_could_not_run(gc_run *g, int bi, int rc);
/* Whether backend bi's line says it could not run (it is skipped then). */
bool gc_did_not_run(const gc_run *g, int bi);

/* Whether b is one of this run's user backends (and which kind). */
bool gc_is_user(const gc_run *g, const ad_backend *b, int *kind);

/* ---- the reference (gradcheck_noise.c, gradcheck_reference.c) ------------------- */

/* The scale of coordinate j of input i: |x_j|, at least typ[i] (1e-3 of
 * the input's root mean square; 1 for an input of zeros). */
double gc_scale(const gc_run *g, int i, int64_t j);
/* Measures g->noise (and sets g->typ); needs g->y and g->xd. */
int gc_noise(gc_run *g);
/* Σ_o |u_o|·noise_o: the noise of <u, f> (u NULL: all ones). */
double gc_noise_dot(const gc_run *g, const ad_tensor *u);

/* Where the reference differentiates: coordinate j of input i (V NULL),
 * or the direction V (tensors like the inputs, NULL entries not moved). */
typedef struct gc_dir {
    int i;
    int64_t j;
    ad_tensor *const *V;
} gc_dir;
enum { GC_REF_SHRUNK = 1u << 0, GC_REF_ONE_SIDED = 1u << 1, GC_REF_UNDEFINED = 1u << 2 };
/* D[o], E[o]: the derivative of every output along d and its error bound
 * (NAN and INFINITY where it cannot be had: GC_REF_UNDEFINED), from the
 * first step h0; flags say what the stencil had to do; g->ref_step the
 * first step at which f was resolved. */
int gc_ref_deriv(gc_run *g, const gc_dir *d, double h0, double *D, double *E, unsigned *flags);
/* <v, D_u f> by the reference along u, Σ|v_o D_o| and Σ|v_o|·bound_o. */
int gc_ref_dot(gc_run *g, ad_tensor *const *u, const ad_tensor *v, double *val, double *mag, double *bound);
/* The first step along coordinate j of input i (options.h, or 0.1·scale). */
double gc_ref_first_step(const gc_run *g, int i, int64_t j);

/* ---- locating a failed identity (gradcheck_locate.c) ------------------------------ */

/* Backend bi (suspect) disagrees with `trusted` on <v, J u>: bisects u's
 * coordinates, then v's elements, until one Jacobian entry is named, and
 * records it as a mismatch of bi.  Returns AD_OK also when no single
 * entry stands out (then nothing is recorded). */
int gc_locate(gc_run *g, int bi, const ad_backend *trusted, ad_tensor *const *u, ad_tensor *v);
/* Records an entry found wrong outside the element-wise comparison (a
 * located identity error) with its own tolerance. */
void gc_record_mismatch(gc_run *g, const gc_cmp *c, double tol);
/* The identity's tolerance for sums of magnitudes lm, rm along u, v:
 * rounding of the sums plus f's measured noise carried through u's scale. */
double gc_identity_tol(const gc_run *g, ad_tensor *const *u, const ad_tensor *v, double lm, double rm);

/* ---- progress (gradcheck_progress.c) --------------------------------------------- */
/* Reports progress through options.progress (at most every second). */
void gc_progress(gc_run *g, const char *stage, double fraction);

/* ---- pieces of gradcheck_vectors.c --------------------------------------------- */
/* Σ a·b and Σ |a·b| (the scale of its rounding error), added to val, mag. */
int gc_dot_acc(ad_ctx *ctx, ad_tensor *a, ad_tensor *b, double *val, double *mag);
/* Random tensors like the differentiated inputs (NULL for the others). */
int gc_random_inputs(gc_run *g, gc_rng *rng, ad_tensor **v);
/* max |v| and max(1, |x|) where v moves x (fd_step.c's scale). */
int gc_direction_scale(gc_run *g, ad_tensor *const *v, double *vmax, double *xmax);
/* <v, J u> by b's JVP, <Jᵀ v, u> by b's VJP (through the drivers). */
int gc_jvp_dot(gc_run *g, const ad_backend *b, ad_tensor *const *u, ad_tensor *v, double *val, double *mag,
               ad_stats *st);
int gc_vjp_dot(gc_run *g, const ad_backend *b, ad_tensor *const *u, ad_tensor *v, double *val, double *mag,
               ad_stats *st);

/* ---- the checks beside the Jacobian comparison (one file each) ------------------ */
int gc_consistency(gc_run *g);
int gc_taylor(gc_run *g);
int gc_second_order(gc_run *g);
int gc_fast(gc_run *g);

#endif
