/* examples/check_gsl_fdf.c — checking the derivatives handed to GSL's
 * solvers before trusting a minimization or a fit to them.
 *
 * The objective is the paraboloid of GSL's multimin manual, with the
 * gradient written by hand (my_df) and also computed together with the
 * value (my_fdf); the fit is an exponential decay for gsl_multifit_nlinear
 * with its Jacobian by hand (expb_df).  Each is checked against finite
 * differences at a point:
 *
 *     check_gsl_fdf right     exit 0: both pass
 *     check_gsl_fdf wrong     exit 1: my_df and expb_df each carry a slip,
 *                             and the reports name the element
 *
 * Built by CMake and run by the tests (tests/CMakeLists.txt). */
#include <adscope.h>
#include <adscope/blackbox_gsl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int slip; /* 1: plant the slips (argv[1] == "wrong") */

/* ---- the minimization: f(x) = p2 (x0 - p0)² + p3 (x1 - p1)² + p4 ---------------------- */

static double my_f(const gsl_vector *v, void *params)
{
    const double *p = params;
    double x = gsl_vector_get(v, 0), y = gsl_vector_get(v, 1);
    return p[2] * (x - p[0]) * (x - p[0]) + p[3] * (y - p[1]) * (y - p[1]) + p[4];
}

static void my_df(const gsl_vector *v, void *params, gsl_vector *df)
{
    const double *p = params;
    double x = gsl_vector_get(v, 0), y = gsl_vector_get(v, 1);
    gsl_vector_set(df, 0, 2.0 * p[2] * (x - p[0]));
    gsl_vector_set(df, 1, (slip ? 2.02 : 2.0) * p[3] * (y - p[1])); /* the slip: 1% in df[1] */
}

static void my_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *df)
{
    *f = my_f(x, params);
    my_df(x, params, df);
}

static int check_multimin(ad_ctx *ctx)
{
    double par[5] = {1.0, 2.0, 10.0, 20.0, 30.0};
    gsl_multimin_function_fdf F = {.f = my_f, .df = my_df, .fdf = my_fdf, .n = 2, .params = par};
    gsl_vector *x = gsl_vector_alloc(2);
    gsl_vector_set(x, 0, 5.0);
    gsl_vector_set(x, 1, 7.0);
    ad_gradcheck_report r, rfdf;
    int rc = ad_gsl_multimin_check(ctx, &F, x, NULL, &r, &rfdf);
    int status = 2;
    if (rc == AD_OK) {
        printf("multimin df:  ");
        ad_gradcheck_print(stdout, &r, NULL, (const char *[]){"x"});
        printf("multimin fdf: ");
        ad_gradcheck_print(stdout, &rfdf, NULL, (const char *[]){"x"});
        status = r.passed && rfdf.passed ? 0 : 1;
    } else {
        fprintf(stderr, "multimin check could not run: %s\n", ad_errmsg(ctx));
    }
    ad_gradcheck_report_free(&r);
    ad_gradcheck_report_free(&rfdf);
    gsl_vector_free(x);
    return status;
}

/* ---- the fit: residuals A exp(-lambda t_i) + b - y_i ----------------------------------- */

#define NDATA 10

static int expb_f(const gsl_vector *x, void *data, gsl_vector *f)
{
    const double *y = data;
    double A = gsl_vector_get(x, 0), lambda = gsl_vector_get(x, 1), b = gsl_vector_get(x, 2);
    for (size_t i = 0; i < NDATA; i++) gsl_vector_set(f, i, A * exp(-lambda * (double)i) + b - y[i]);
    return GSL_SUCCESS;
}

static int expb_df(const gsl_vector *x, void *data, gsl_matrix *J)
{
    (void)data;
    double A = gsl_vector_get(x, 0), lambda = gsl_vector_get(x, 1);
    for (size_t i = 0; i < NDATA; i++) {
        double t = (double)i, e = exp(-lambda * t);
        gsl_matrix_set(J, i, 0, e);
        gsl_matrix_set(J, i, 1, -t * A * e);
        gsl_matrix_set(J, i, 2, 1.0);
    }
    if (slip) gsl_matrix_set(J, 4, 1, -4.0 * A * exp(-lambda * 3.0)); /* the slip: t_3 for t_4 in row 4 */
    return GSL_SUCCESS;
}

static int check_nlinear(ad_ctx *ctx)
{
    double y[NDATA];
    for (size_t i = 0; i < NDATA; i++) y[i] = 1.0 + 5.0 * exp(-0.1 * (double)i) + 0.01 * sin(3.0 * (double)i);
    gsl_multifit_nlinear_fdf F = {.f = expb_f, .df = expb_df, .n = NDATA, .p = 3, .params = y};
    gsl_vector *x = gsl_vector_alloc(3);
    gsl_vector_set(x, 0, 4.2);
    gsl_vector_set(x, 1, 0.15);
    gsl_vector_set(x, 2, 0.8);
    ad_gradcheck_report r;
    int rc = ad_gsl_nlinear_check(ctx, &F, x, NULL, &r);
    int status = 2;
    if (rc == AD_OK) {
        printf("nlinear df:   ");
        ad_gradcheck_print(stdout, &r, NULL, (const char *[]){"x"});
        status = r.passed ? 0 : 1;
    } else {
        fprintf(stderr, "nlinear check could not run: %s\n", ad_errmsg(ctx));
    }
    ad_gradcheck_report_free(&r);
    gsl_vector_free(x);
    return status;
}

int main(int argc, char **argv)
{
    slip = argc > 1 && strcmp(argv[1], "wrong") == 0;
    ad_ctx *ctx = ad_ctx_new();
    if (!ctx) return 2;
    int a = check_multimin(ctx), b = check_nlinear(ctx);
    ad_ctx_free(ctx);
    return a == 2 || b == 2 ? 2 : a || b ? 1 : 0;
}
