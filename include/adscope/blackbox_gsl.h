/* adscope/blackbox_gsl.h — checking the derivatives GSL's solvers are given
 * (adscope/blackbox.h for plain C functions in general).  Not in the
 * umbrella header, because it needs GSL's headers:
 *
 *     #include <adscope.h>
 *     #include <adscope/blackbox_gsl.h>
 *
 *     static double my_f(const gsl_vector *v, void *params)
 *     {
 *         double s = 0;
 *         for (size_t i = 0; i < v->size; i++) s += gsl_vector_get(v, i) * gsl_vector_get(v, i);
 *         return s;
 *     }
 *     static void my_df(const gsl_vector *v, void *params, gsl_vector *df)
 *     {
 *         for (size_t i = 0; i < v->size; i++) gsl_vector_set(df, i, 2 * gsl_vector_get(v, i));
 *     }
 *     static void my_fdf(const gsl_vector *v, void *params, double *f, gsl_vector *df)
 *     {
 *         *f = my_f(v, params);
 *         my_df(v, params, df);
 *     }
 *
 *     gsl_multimin_function_fdf F = {.f = my_f, .df = my_df, .fdf = my_fdf, .n = 3};
 *     gsl_vector *at = gsl_vector_alloc(3);
 *     gsl_vector_set_all(at, 0.7);
 *     ad_gradcheck_report r, rfdf;
 *     if (ad_gsl_multimin_check(ctx, &F, at, NULL, &r, &rfdf) == AD_OK && !(r.passed && rfdf.passed))
 *         ad_gradcheck_print(stdout, &r, NULL, NULL);
 *     ad_gradcheck_report_free(&r);
 *     ad_gradcheck_report_free(&rfdf);
 *     gsl_vector_free(at);
 *
 * examples/check_gsl_fdf.c is a whole program (built and run by the tests).
 * The reports name the input "x" and the derivative "user"; on a failure
 * the worst entry gives the element's index.
 */
#ifndef ADSCOPE_BLACKBOX_GSL_H
#define ADSCOPE_BLACKBOX_GSL_H

#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_multimin.h>

#include "blackbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An objective of GSL's minimizers at x: F->df against differences of
 * F->f, into r; and, when r_fdf is not NULL, F->fdf (its gradient against
 * differences of the value it returns with it), into r_fdf.  o: tolerances
 * and the rest (NULL: ad_gradcheck_defaults()).  AD_EINVAL when F lacks
 * f or df (or fdf for r_fdf) or F->n differs from x's size; otherwise
 * statuses as ad_gradcheck.  Free the reports with ad_gradcheck_report_free. */
AD_API int ad_gsl_multimin_check(ad_ctx *ctx, const gsl_multimin_function_fdf *F, const gsl_vector *x,
                                 const ad_gradcheck_options *o, ad_gradcheck_report *r, ad_gradcheck_report *r_fdf);

/* A nonlinear least-squares problem of gsl_multifit_nlinear at x: the
 * Jacobian F->df (F->n residuals × F->p parameters) against differences of
 * the residuals F->f, into r.  AD_EINVAL when F->df is NULL (GSL would
 * use differences itself: nothing to check) or F->p differs from x's size;
 * a non-zero status from F->f or F->df at x is an error naming it. */
AD_API int ad_gsl_nlinear_check(ad_ctx *ctx, const gsl_multifit_nlinear_fdf *F, const gsl_vector *x,
                                const ad_gradcheck_options *o, ad_gradcheck_report *r);

#ifdef __cplusplus
}
#endif
#endif
