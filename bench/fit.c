/* bench/fit.c — log-log least squares with standard error and R²
 * (gsl_fit_linear does the regression; see fit.h). */
#include "fit.h"

#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdlib.h>

bool ad_bench_fit_loglog(const double *x, const double *y, int n, ad_bench_fit *fit)
{
    fit->n = 0;
    fit->slope = fit->se = fit->r2 = fit->intercept = NAN;
    if (n < 2) return false;
    double *lx = malloc((size_t)n * sizeof *lx), *ly = malloc((size_t)n * sizeof *ly);
    if (!lx || !ly) {
        free(lx);
        free(ly);
        return false;
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (x[i] > 0 && y[i] > 0 && isfinite(x[i]) && isfinite(y[i])) {
            lx[k] = log(x[i]);
            ly[k] = log(y[i]);
            k++;
        }
    bool ok = k >= 2;
    if (ok) {
        double c0, c1, cov00, cov01, cov11, sumsq;
        gsl_fit_linear(lx, 1, ly, 1, (size_t)k, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
        double mean = 0, sstot = 0;
        for (int i = 0; i < k; i++) mean += ly[i];
        mean /= k;
        for (int i = 0; i < k; i++) sstot += (ly[i] - mean) * (ly[i] - mean);
        fit->n = k;
        fit->slope = c1;
        fit->intercept = c0;
        /* gsl's cov11 is scaled by the residual variance sumsq/(k-2): the
         * standard error needs k > 2 degrees of freedom */
        fit->se = k > 2 ? sqrt(cov11) : NAN;
        fit->r2 = sstot > 0 ? 1 - sumsq / sstot : 1;
    }
    free(lx);
    free(ly);
    return ok;
}
