/* adscope/blackbox.h — checking functions written in plain C over arrays.
 *
 * Most numerical C code computes with loops over double arrays: an
 * objective for GSL's minimizers, the residuals of a least-squares fit, a
 * legacy routine.  Automatic differentiation cannot see inside such a
 * function (it does not call adscope's ops), but its hand-written gradient
 * or Jacobian can still be checked against finite differences:
 *
 *     static double sumsq(const double *x, size_t n, void *user)
 *     {
 *         double s = 0;
 *         for (size_t i = 0; i < n; i++) s += x[i] * x[i];
 *         return s;
 *     }
 *     static void sumsq_grad(const double *x, size_t n, double *grad, void *user)
 *     {
 *         for (size_t i = 0; i < n; i++) grad[i] = 2 * x[i];
 *     }
 *
 *     double at[3] = {0.5, -1.25, 2.385};
 *     ad_blackbox bb = {.f = sumsq, .grad = sumsq_grad};
 *     ad_gradcheck_report r;
 *     int rc = ad_blackbox_check(ctx, &bb, at, 3, NULL, &r);
 *     if (rc == AD_OK && !r.passed) ad_gradcheck_print(stdout, &r, NULL, NULL);
 *     ad_gradcheck_report_free(&r);
 *
 * A wrong element is reported as the worst entry, backend "user", with its
 * index.  Vector functions (residuals) give .r and .m, and optionally their
 * Jacobian .jac (m×n, row-major).  examples/check_gsl_fdf.c checks a GSL
 * gsl_multimin_function_fdf (blackbox_gsl.h has the GSL adapters).
 *
 * The problem made by ad_blackbox_problem carries AD_PROBLEM_OPAQUE: only
 * difference backends (AD_CAP_DIFFERENCE) differentiate it, and the AD
 * backends (forward, reverse) refuse it with AD_EINVAL and a message saying
 * why, instead of returning the all-zero gradient of a constant.
 */
#ifndef ADSCOPE_BLACKBOX_H
#define ADSCOPE_BLACKBOX_H

#include <stddef.h>

#include "backend.h"
#include "gradcheck.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The C ABI (the command line's --abi c uses the same signatures):
 *   scalar f      double f(const double *x, size_t n, void *user)
 *   its gradient  void g(const double *x, size_t n, double *grad, void *user)
 *   vector r      int r(const double *x, size_t n, double *out, size_t m, void *user)
 *   its Jacobian  int J(const double *x, size_t n, double *jac, void *user)   jac: m×n row-major
 * r and J return 0 on success; anything else is a failure at that x,
 * reported as an error (never as a value). */
typedef double (*ad_bb_scalar_fn)(const double *x, size_t n, void *user);
typedef void (*ad_bb_grad_fn)(const double *x, size_t n, double *grad, void *user);
typedef int (*ad_bb_vector_fn)(const double *x, size_t n, double *out, size_t m, void *user);
typedef int (*ad_bb_jacobian_fn)(const double *x, size_t n, double *jac, void *user);

/* A black-box function: exactly one of f and r. */
typedef struct ad_blackbox {
    ad_bb_scalar_fn f;     /* a scalar function, or NULL */
    ad_bb_grad_fn grad;    /* (optional) f's hand-written gradient */
    ad_bb_vector_fn r;     /* a vector function with m outputs, or NULL */
    size_t m;              /* r's number of outputs (>= 1) */
    ad_bb_jacobian_fn jac; /* (optional) r's hand-written Jacobian */
    void *user;            /* passed to all four (borrowed) */
} ad_blackbox;

/* The black box as an ad_fn (user: a const ad_blackbox *): in[0] is x (any
 * shape, flattened in row-major order); the result is 0-d for f, [m] for
 * r.  Refuses (AD_EINVAL) to run with tangents attached or while recording
 * for reverse mode: AD would see a constant. */
AD_API ad_tensor *ad_blackbox_fn(ad_ctx *ctx, ad_tensor *const *in, void *user);

/* The hand-written derivatives as gradcheck's user functions (user: a
 * const ad_blackbox *): ad_blackbox_grad calls .grad; ad_blackbox_jvp
 * (J·v) and ad_blackbox_vjp (uᵀ·J) call .jac.  AD_EINVAL when the
 * derivative is missing, AD_EINVAL naming the status when .jac fails. */
AD_API int ad_blackbox_grad(ad_ctx *ctx, ad_tensor *const *in, ad_tensor **grad, void *user);
AD_API int ad_blackbox_jvp(ad_ctx *ctx, ad_tensor *const *in, ad_tensor *const *v, ad_tensor **jv, void *user);
AD_API int ad_blackbox_vjp(ad_ctx *ctx, ad_tensor *const *in, ad_tensor *u, ad_tensor **g, void *user);

/* Fills *p to differentiate bb at x[0] (borrowed, both must outlive p):
 * f = ad_blackbox_fn, one input, flags = AD_PROBLEM_OPAQUE.  AD_EINVAL
 * naming what is wrong with bb (no function, both f and r, m == 0). */
AD_API int ad_blackbox_problem(ad_problem *p, ad_ctx *ctx, const ad_blackbox *bb, ad_tensor *const *x);

/* Sets o up to check bb's hand-written derivative (.grad, or .jac as a
 * VJP: reported as "user") against the difference reference, with no AD
 * backend and without the forward/reverse identity (AD cannot see inside);
 * the rest of o (tolerances, fast, seed, Taylor...) is left as it is. */
AD_API void ad_blackbox_check_options(const ad_blackbox *bb, ad_gradcheck_options *o);

/* The whole check for plain-C callers: bb at x[0..n), with o's tolerances
 * (NULL: ad_gradcheck_defaults()) and ad_blackbox_check_options.  The
 * input is called "x" unless o->names says otherwise.  Statuses as
 * ad_gradcheck; AD_EINVAL when bb has no derivative to check. */
AD_API int ad_blackbox_check(ad_ctx *ctx, const ad_blackbox *bb, const double *x, size_t n,
                             const ad_gradcheck_options *o, ad_gradcheck_report *r);

#ifdef __cplusplus
}
#endif
#endif
