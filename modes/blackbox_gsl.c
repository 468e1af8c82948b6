/* modes/blackbox_gsl.c — GSL's function types as black boxes
 * (adscope/blackbox_gsl.h): a gsl_multimin_function_fdf and a
 * gsl_multifit_nlinear_fdf are wrapped in ad_blackbox trampolines that view
 * the plain arrays as gsl_vector / gsl_matrix, then checked by
 * ad_blackbox_check like any other plain-C function. */
#include <stdlib.h>
#include <string.h>

#include "adscope/blackbox_gsl.h"
#include "modes.h"

/* ---- gsl_multimin_function_fdf -------------------------------------------------- */

typedef struct mm_box {
    const gsl_multimin_function_fdf *F;
    bool fdf;      /* evaluate through F->fdf instead of F->f / F->df */
    gsl_vector *g; /* fdf's gradient when only its value is wanted */
} mm_box;

static double mm_f(const double *x, size_t n, void *user)
{
    const mm_box *b = user;
    gsl_vector_const_view xv = gsl_vector_const_view_array(x, n);
    if (!b->fdf) return b->F->f(&xv.vector, b->F->params);
    double f = 0;
    b->F->fdf(&xv.vector, b->F->params, &f, b->g);
    return f;
}

static void mm_grad(const double *x, size_t n, double *grad, void *user)
{
    const mm_box *b = user;
    gsl_vector_const_view xv = gsl_vector_const_view_array(x, n);
    gsl_vector_view gv = gsl_vector_view_array(grad, n);
    if (!b->fdf) {
        b->F->df(&xv.vector, b->F->params, &gv.vector);
        return;
    }
    double f = 0;
    b->F->fdf(&xv.vector, b->F->params, &f, &gv.vector);
}

/* x as a plain array (a gsl_vector may have a stride), malloc'ed. */
static double *plain_copy(ad_ctx *ctx, const gsl_vector *x)
{
    double *a = malloc(x->size * sizeof *a);
    if (!a) {
        ad_error(ctx, AD_ENOMEM, "gsl check: out of memory for x (%zu elements)", x->size);
        return NULL;
    }
    for (size_t i = 0; i < x->size; i++) a[i] = gsl_vector_get(x, i);
    return a;
}

static int mm_run(ad_ctx *ctx, mm_box *b, const double *x, size_t n, const ad_gradcheck_options *o,
                  ad_gradcheck_report *r)
{
    ad_blackbox bb = {.f = mm_f, .grad = mm_grad, .user = b};
    return ad_blackbox_check(ctx, &bb, x, n, o, r);
}

static int mm_valid(ad_ctx *ctx, const gsl_multimin_function_fdf *F, const gsl_vector *x, bool want_fdf)
{
    if (!F || !x) return ad_error(ctx, AD_EINVAL, "gsl_multimin check: no function or no point x given");
    if (!F->f || !F->df) return ad_error(ctx, AD_EINVAL, "gsl_multimin check: the function needs both f and df");
    if (want_fdf && !F->fdf)
        return ad_error(ctx, AD_EINVAL, "gsl_multimin check: fdf is NULL but its report was asked for");
    if (F->n != x->size || x->size == 0)
        return ad_error(ctx, AD_EINVAL, "gsl_multimin check: F->n = %zu but x has %zu elements", F->n, x->size);
    return AD_OK;
}

int ad_gsl_multimin_check(ad_ctx *ctx, const gsl_multimin_function_fdf *F, const gsl_vector *x,
                          const ad_gradcheck_options *o, ad_gradcheck_report *r, ad_gradcheck_report *r_fdf)
{
    if (!ctx) return AD_EINVAL;
    if (!r) return ad_error(ctx, AD_EINVAL, "gsl_multimin check: no report given");
    memset(r, 0, sizeof *r); /* freeable whatever happens */
    if (r_fdf) memset(r_fdf, 0, sizeof *r_fdf);
    int rc = mm_valid(ctx, F, x, r_fdf != NULL);
    if (rc != AD_OK) return rc;
    double *xa = plain_copy(ctx, x);
    if (!xa) return AD_ENOMEM;
    mm_box b = {.F = F};
    rc = mm_run(ctx, &b, xa, x->size, o, r);
    if (rc == AD_OK && r_fdf) {
        b.fdf = true;
        b.g = gsl_vector_alloc(x->size);
        rc = b.g ? mm_run(ctx, &b, xa, x->size, o, r_fdf)
                 : ad_error(ctx, AD_ENOMEM, "gsl_multimin check: out of memory for fdf's gradient");
        gsl_vector_free(b.g);
    }
    free(xa);
    return rc;
}

/* ---- gsl_multifit_nlinear_fdf ----------------------------------------------------- */

static int nl_r(const double *x, size_t p, double *out, size_t m, void *user)
{
    const gsl_multifit_nlinear_fdf *F = user;
    gsl_vector_const_view xv = gsl_vector_const_view_array(x, p);
    gsl_vector_view fv = gsl_vector_view_array(out, m);
    return F->f(&xv.vector, F->params, &fv.vector);
}

/* jac is m×p row-major: exactly a gsl_matrix with tda = p */
static int nl_jac(const double *x, size_t p, double *jac, void *user)
{
    const gsl_multifit_nlinear_fdf *F = user;
    gsl_vector_const_view xv = gsl_vector_const_view_array(x, p);
    gsl_matrix_view Jv = gsl_matrix_view_array(jac, F->n, p);
    return F->df(&xv.vector, F->params, &Jv.matrix);
}

int ad_gsl_nlinear_check(ad_ctx *ctx, const gsl_multifit_nlinear_fdf *F, const gsl_vector *x,
                         const ad_gradcheck_options *o, ad_gradcheck_report *r)
{
    if (!ctx) return AD_EINVAL;
    if (!r) return ad_error(ctx, AD_EINVAL, "gsl_multifit_nlinear check: no report given");
    memset(r, 0, sizeof *r);
    if (!F || !x) return ad_error(ctx, AD_EINVAL, "gsl_multifit_nlinear check: no function or no point x given");
    if (!F->f) return ad_error(ctx, AD_EINVAL, "gsl_multifit_nlinear check: f is NULL");
    if (!F->df)
        return ad_error(ctx, AD_EINVAL,
                        "gsl_multifit_nlinear check: df is NULL (GSL then uses differences itself): nothing to check");
    if (F->p != x->size || F->n == 0)
        return ad_error(ctx, AD_EINVAL, "gsl_multifit_nlinear check: F->p = %zu, F->n = %zu but x has %zu elements",
                        F->p, F->n, x->size);
    double *xa = plain_copy(ctx, x);
    if (!xa) return AD_ENOMEM;
    ad_blackbox bb = {.r = nl_r, .m = F->n, .jac = nl_jac, .user = (void *)F};
    int rc = ad_blackbox_check(ctx, &bb, xa, x->size, o, r);
    free(xa);
    return rc;
}
