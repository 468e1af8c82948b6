/* bench/fit.h — empirical complexity: straight-line fits of log(cost)
 * against log(size) (ad_bench_fit_*), on GSL's gsl_fit_linear. */
#ifndef ADSCOPE_BENCH_FIT_H
#define ADSCOPE_BENCH_FIT_H

#include <stdbool.h>

typedef struct ad_bench_fit {
    int n;          /* points used */
    double slope;   /* the fitted exponent */
    double se;      /* its standard error (NAN for n < 3) */
    double r2;      /* coefficient of determination */
    double intercept;
} ad_bench_fit;

/* Fits log(y) = a + slope·log(x) over the points with x > 0, y > 0 and
 * finite.  Returns false (fit->n < 2) when fewer than two points qualify. */
bool ad_bench_fit_loglog(const double *x, const double *y, int n, ad_bench_fit *fit);

#endif
