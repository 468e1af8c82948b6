/* adscope/gradcheck.h — are my derivatives right?
 *
 *     ad_gradcheck_options o = ad_gradcheck_defaults();
 *     o.user_grad = my_gradient;            // optional: check a hand-written one too
 *     ad_gradcheck_report r;
 *     ad_gradcheck(&problem, &o, &r);
 *     if (!r.passed) ad_gradcheck_print(stdout, &r, &problem, (const char *[]){"x"});
 *     ad_gradcheck_report_free(&r);
 *
 * The reference knows its own accuracy.  f's noise level is measured
 * (Moré & Wild's ECnoise, not assumed to be eps·|f|); each coordinate's
 * derivative comes from Ridders-extrapolated central differences whose
 * steps follow the coordinate's own scale (|x_j|, with a floor of 1e-3 of
 * the input's typical size), never cross into NaN territory (the stencil
 * shrinks, or turns one-sided, and the report says so), and carry an error
 * bound e (the tableau's estimate plus the noise it carries).
 *
 * Verdicts, element by element, with tol = atol + rtol·|n|:
 *   agrees        |a - n| <= tol + e and e <= tol;
 *   differs       |a - n| >  tol + e (a is off by more than tol even if the
 *                 reference is off by e);
 *   inconclusive  otherwise (e > tol: the reference could not be made
 *                 accurate enough there), or the reference cannot be had
 *                 (f undefined on both sides at every step).  The entry
 *                 says why and how accurate the reference got; the check
 *                 passes unless options.strict.
 * What is compared:
 *   - every AD backend (forward, reverse, forward-vector, and any
 *     registered backend with AD_CAP_EXACT), and the user's hand-written
 *     gradient / JVP / VJP if given, against the whole Jacobian computed by
 *     the reference finite-difference rule (five-point, with its error
 *     estimate).  Forward-mode backends are checked by columns, reverse-mode
 *     ones by rows.
 *   - kinks are not failures: where the one-sided differences disagree
 *     (relu or |x| at 0, max with ties) the coordinate is reported as
 *     non-differentiable with both one-sided values, and the AD value passes
 *     if it lies between them (a subgradient).
 *   - NaN/Inf in a derivative or the reference is a failure, reported as
 *     such (never a pass).  NaN/Inf in f(x) itself is not a verdict but an
 *     error, AD_ENONFINITE: at such a point every difference is NaN too and
 *     there is nothing to check (a bad input, not a wrong derivative).
 * Checks that need no step size:
 *   - consistency: <v, J u> from a forward JVP equals <Jᵀ v, u> from a
 *     reverse VJP for random u, v, to rounding and f's measured noise
 *     carried through u's scale (no fixed constant).  A backend that breaks
 *     it is located: u's coordinates, then v's elements, are bisected until
 *     one Jacobian entry is named, and that entry is a mismatch of the
 *     backend (a 1e-7 slip in one element of a hand-written gradient is
 *     found this way).  For a black box (AD_PROBLEM_OPAQUE) the user's
 *     derivative is put against the reference along u instead;
 *   - Taylor: |f(x + h v) - f(x) - h <∇f, v>| over a sweep of h shrinks like
 *     h² for a correct gradient; the observed order is reported (about 2
 *     when right, about 1 when wrong).  Vector f uses <u, f> for a random u.
 * Second order (options.second_order): the HVP (forward over reverse)
 * against central differences of reverse gradients (gradgradcheck).
 * Fast mode (options.fast): a few random directions instead of every
 * coordinate: JVPs against directional differences, VJPs through <u, J d>.
 */
#ifndef ADSCOPE_GRADCHECK_H
#define ADSCOPE_GRADCHECK_H

#include <stdio.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hand-written derivatives to check (return AD_OK or a negative status;
 * outputs are new tensors, one per input, NULL for inputs held constant):
 *   grad: the gradient of a scalar f           grad[i] like in[i]
 *   jvp:  J·v for tangents v[i] like in[i]      *jv like f's value
 *   vjp:  uᵀ·J for a cotangent u like f's value g[i] like in[i]          */
typedef int (*ad_user_grad_fn)(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user);
typedef int (*ad_user_jvp_fn)(ad_ctx *ctx, ad_tensor *const *in, ad_tensor *const *v, ad_tensor **jv, void *user);
typedef int (*ad_user_vjp_fn)(ad_ctx *ctx, ad_tensor *const *in, ad_tensor *u, ad_tensor **g, void *user);

typedef struct ad_gradcheck_options {
    double atol;                 /* 1e-6 */
    double rtol;                 /* 1e-5 */
    const char *reference;       /* finite-difference backend by name; NULL: the highest-order
                                  * difference rule with an error estimate (five-point) */
    const char *const *backends; /* AD backends to check, NULL-terminated; NULL: every exact one */
    ad_user_grad_fn user_grad;   /* optional hand-written derivatives, reported as "user" */
    ad_user_jvp_fn user_jvp;
    ad_user_vjp_fn user_vjp;
    void *user_data;             /* passed to the three above (NULL: the problem's user data) */
    bool fast;                   /* random directions instead of every coordinate */
    int directions;              /* fast mode: how many (4) */
    uint64_t seed;               /* random directions and vectors (0) */
    bool second_order;           /* also check HVPs (gradgradcheck) */
    bool no_taylor;              /* skip the Taylor remainder test */
    bool no_consistency;         /* skip the forward/reverse identity */
    int max_rows;                /* mismatches kept in the table (10) */
    const char *const *names;    /* names of the inputs for messages (NULL: in0, in1, ...) */
    double h;                    /* the reference's first step (0: 0.1·scale of each coordinate,
                                  * with a search over smaller ones); a fixed h runs one tableau */
    bool strict;                 /* inconclusive entries fail the check */
    /* (optional) called during long checks with what is running and the
     * fraction done (0..1) of that stage; never from a signal.  See
     * ad_gradcheck_progress_text for what to say. */
    void (*progress)(void *data, const char *stage, double fraction, double seconds);
    void *progress_data;
} ad_gradcheck_options;

AD_API ad_gradcheck_options ad_gradcheck_defaults(void);

/* One compared element. */
typedef struct ad_gradcheck_entry {
    const char *backend; /* "reverse", "forward", "user", "hvp", ... */
    int input;           /* which input */
    int ndim;            /* index into value.shape + input.shape (the Jacobian's entry) */
    int64_t index[AD_MAX_DIMS];
    double analytic;     /* the backend's value */
    double numeric;      /* the reference */
    double estimate;     /* the reference's error estimate */
    double abs_err, rel_err;
    bool nonfinite;      /* a NaN or Inf was involved */
    const char *why;     /* inconclusive entries: why (a static string); NULL otherwise */
} ad_gradcheck_entry;

/* A coordinate where f is not differentiable. */
typedef struct ad_gradcheck_kink {
    int input;
    int ndim;
    int64_t index[AD_MAX_DIMS]; /* as in ad_gradcheck_entry */
    double left, right;          /* one-sided difference quotients */
    double analytic;             /* the AD value there (first backend that disagreed) */
    bool accepted;               /* it lies between left and right (a subgradient) */
} ad_gradcheck_kink;

typedef struct ad_gradcheck_backend {
    const char *name;
    bool passed;
    double max_abs_err, max_rel_err;
    int64_t checked, mismatches;
    bool nonfinite;
    char note[128];              /* e.g. "by columns, 5 passes" or why it was skipped */
    int64_t inconclusive;        /* entries the reference could not judge */
    bool not_applicable;         /* an AD backend on a black box: not run, not a failure */
} ad_gradcheck_backend;

typedef struct ad_gradcheck_report {
    bool passed;
    char summary[256];              /* one line: what passed, what failed */
    int nbackends;
    ad_gradcheck_backend *backends; /* [nbackends] */
    bool has_worst;
    ad_gradcheck_entry worst;       /* the worst element over all backends */
    int64_t nmismatches;            /* all of them */
    int nrows;
    ad_gradcheck_entry *rows;       /* the worst max_rows, sorted worst first */
    int nkinks;
    ad_gradcheck_kink *kinks;
    bool nonfinite;                 /* NaN/Inf in a derivative or the reference (or in f(x): AD_ENONFINITE) */
    char nonfinite_what[160];
    /* checks without step sizes */
    bool consistency_done, consistency_passed;
    double consistency_lhs, consistency_rhs, consistency_rel_err; /* <v, J u> and <Jᵀ v, u> */
    bool taylor_done, taylor_passed;
    double taylor_order;            /* fitted slope of log|r(h)| against log h */
    int taylor_npoints;
    double taylor_h[16], taylor_r[16];
    /* second order */
    bool hvp_done, hvp_passed;
    double hvp_max_abs_err, hvp_max_rel_err;
    /* what the reference cost */
    ad_stats reference_stats;
    /* three-outcome verdicts: entries the reference could not judge */
    int64_t ninconclusive;
    int ninconclusive_rows;
    ad_gradcheck_entry *inconclusive; /* the first max_rows of them */
    char reference_note[160];       /* coordinates whose stencil shrank or turned one-sided */
    double noise_max;               /* the largest measured noise level of f's elements */
    double consistency_tol;         /* the identity's tolerance (absolute) */
    bool consistency_located;       /* a failed identity was traced to one entry (in rows) */
    char consistency_note[128];     /* why the identity was skipped, or what it compared */
    char taylor_note[128];          /* why the Taylor test was skipped */
} ad_gradcheck_report;

/* Runs the checks.  Returns
 *   AD_OK          the checks ran: r->passed says whether they passed;
 *   AD_ENONFINITE  f(x) is NaN or Inf at the given point ("gradcheck: f(x)
 *                  is NaN at the given point: there is nothing to check",
 *                  f(x)[i] for a vector f); r->nonfinite is set too;
 *   AD_EINVAL, AD_ENOTFOUND, AD_ESHAPE, AD_ELIMIT  bad problem or options;
 *   f's own status when f fails at x; AD_ENOMEM.
 * On any status but AD_OK, r->passed is false, ad_errmsg(ctx) names the
 * problem and r->summary says "gradcheck could not run: <it>". */
AD_API int ad_gradcheck(const ad_problem *p, const ad_gradcheck_options *o, ad_gradcheck_report *r);
AD_API void ad_gradcheck_report_free(ad_gradcheck_report *r);

/* The report for people: a verdict line, a line per backend, and on failure
 * only the mismatching entries as a table (input, index, AD value, numeric
 * value, abs err, rel err), worst first, capped with a count of the rest;
 * kinks, the consistency identity and the Taylor order.  p (optional) adds
 * the inputs' shapes; names (optional, p->nin entries) names the inputs,
 * else they are in0, in1, ... */
AD_API int ad_gradcheck_print(FILE *f, const ad_gradcheck_report *r, const ad_problem *p, const char *const *names);

/* What a progress callback should print, or nothing: writes a line into buf
 * (without newline) and returns true when there is something to say.
 * Quiet for the first 2 s of a check; then the stage, its fraction and the
 * time so far, and, when the full check of n coordinates is running
 * (!fast) and n >= 1000, a hint that --fast checks random directions
 * instead.  A pure function of its arguments (no clock is read). */
AD_API bool ad_gradcheck_progress_text(char *buf, size_t size, const char *stage, double fraction, double seconds,
                                       int64_t n, bool fast);
/* f's evaluations a check will take about (the reference dominates):
 * the cost estimate behind the hint (full: ~30 per coordinate). */
AD_API int64_t ad_gradcheck_cost(int64_t n, bool fast, int directions);

#ifdef __cplusplus
}
#endif
#endif
