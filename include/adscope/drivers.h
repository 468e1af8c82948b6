/* adscope/drivers.h — derivatives of a user's function by any backend.
 *
 *     const ad_backend *rev = ad_backend_with(AD_CAP_REVERSE); // or ad_backend_find("reverse")
 *     ad_tensor *in[2] = {x, A};
 *     ad_problem p = {.ctx = ctx, .f = f, .nin = 2, .in = in, .wrt = (bool[]){true, false}};
 *     ad_tensor *value, *grad[2];
 *     ad_stats st;
 *     ad_value_and_grad(rev, &p, NULL, &value, grad, NULL, &st);
 *     // st.passes == 1, st.sweeps == 1, st.peak[AD_MEM_TAPE] == bytes the tape held
 *
 * Every driver:
 *   - returns AD_OK or a negative status with the reason in ad_errmsg(ctx);
 *   - returns new references (owned by the caller, or by the open scope);
 *     output arrays have p->nin entries, NULL for inputs not differentiated;
 *     optional outputs may be NULL pointers (not computed or not returned);
 *   - fills *st (if st) with what it cost: passes, sweeps, ops recorded,
 *     peak bytes above what was live at the start, per category, and time.
 * Gradients and Jacobian blocks have the shapes PyTorch uses:
 * grad[i] like input i; J[i] = value.shape + input i's shape.
 *
 * Nesting: f may itself call a driver on tensors derived from its inputs.
 * When a driver's inputs carry derivatives of an enclosing computation (a
 * tangent at an open forward level, or requires grad with grad mode on),
 * forward, forward-vector and reverse keep them: value_and_grad, jvp, vjp
 * and jacobian return results that carry the outer tangents and have their
 * place on the outer tape (the outer derivative of an inner gradient is
 * right, in any order: ff, fr, rf, rr).  The inner pass opens its own
 * forward level, or sweeps with ad_autograd_grad (no .grad touched, only
 * its own records walked).  Backends that only evaluate f (differences,
 * gsl-deriv, hand-written derivatives), reverse-checkpoint, ad_hvp and
 * ad_hessian refuse a nested call with AD_ENOTSUP rather than cut the
 * outer derivative off; they work as the outer level.  Plain inputs cost
 * and count exactly as before.
 *
 * Cost, by backend, for f: R^n -> R^m:
 *   gradient (m = 1):  reverse 1 pass + 1 sweep; forward n passes;
 *                      forward-vector ceil(n/k); central 2n; forward-diff n+1;
 *                      five-point 4n (plus the error estimate's extra points)
 *   Jacobian:          forward ceil(n/k) passes by columns; reverse 1 pass and
 *                      m sweeps by rows; "auto" picks the cheaper by shape.
 */
#ifndef ADSCOPE_DRIVERS_H
#define ADSCOPE_DRIVERS_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* f must return one element.  grad[i] has input i's shape; grad_err (if
 * not NULL, and the backend estimates errors) gets the estimated absolute
 * error of each entry. */
AD_API int ad_value_and_grad(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **value,
                             ad_tensor **grad, ad_tensor **grad_err, ad_stats *st);

/* J·v: v[i] has input i's shape (entries for inputs not differentiated are
 * ignored).  Backends without a JVP primitive answer through the Jacobian. */
AD_API int ad_jvp(const ad_backend *b, const ad_problem *p, ad_tensor *const *v, const ad_options *o,
                  ad_tensor **value, ad_tensor **jv, ad_tensor **jv_err, ad_stats *st);

/* uᵀ·J: u has the value's shape.  Backends without a VJP primitive answer
 * through the Jacobian. */
AD_API int ad_vjp(const ad_backend *b, const ad_problem *p, ad_tensor *u, const ad_options *o, ad_tensor **value,
                  ad_tensor **g, ad_tensor **g_err, ad_stats *st);

/* What ad_jacobian decided. */
typedef struct ad_jacobian_info {
    const ad_backend *backend; /* the backend used */
    bool by_rows;              /* true: m VJP sweeps; false: JVP passes by columns */
    int64_t n, m;              /* inputs differentiated (total elements), outputs */
    char reason[256];          /* why, e.g. "n = 3 <= m = 1000: 3 forward passes instead of 1000 sweeps" */
} ad_jacobian_info;

/* The full Jacobian.  b == NULL means "auto": forward mode by columns when
 * n <= m, reverse mode by rows otherwise (info says which and why). */
AD_API int ad_jacobian(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **value,
                       ad_tensor **J, ad_tensor **J_err, ad_jacobian_info *info, ad_stats *st);

/* Hessian-vector product of a scalar f by forward over reverse: one pass
 * with tangents v, one sweep; grad (optional) gets the gradient too.
 * hv[i] has input i's shape. */
AD_API int ad_hvp(const ad_problem *p, ad_tensor *const *v, ad_tensor **value, ad_tensor **grad, ad_tensor **hv,
                  ad_stats *st);

/* Dense Hessian of a scalar f (forward-vector over reverse, ceil(n/k)
 * passes).  H has p->nin * p->nin blocks, H[i*nin + j] = d²f/dx_i dx_j of
 * shape in_i.shape + in_j.shape (NULL where either is not differentiated).
 * Refuses n > 4096 (AD_ELIMIT): use ad_hvp. */
AD_API int ad_hessian(const ad_problem *p, const ad_options *o, ad_tensor **value, ad_tensor **H, ad_stats *st);

/* Total number of differentiated input elements of p (n above). */
AD_API int64_t ad_problem_size(const ad_problem *p);

#ifdef __cplusplus
}
#endif
#endif
