/* tests/functions.c — the shared test functions (see functions.h). */
#include "functions.h"

#include <math.h>
#include <string.h>

#include "helpers.h"

ad_tensor *th_rosenbrock(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0];
    ad_tensor *a = ad_idx(x, AD_S(AD_END, -1)), *b = ad_idx(x, AD_S(1, AD_END));
    ad_tensor *t = ad_mul_s(ad_square(ad_sub(b, ad_square(a))), 100);
    return ad_sum(ad_add(t, ad_square(ad_rsub_s(1, a))), AD_ALL, false);
}

void th_rosenbrock_grad(const double *x, int n, double *g)
{
    for (int i = 0; i < n; i++) g[i] = 0;
    for (int i = 0; i < n - 1; i++) {
        double d = x[i + 1] - x[i] * x[i];
        g[i] += -400 * x[i] * d - 2 * (1 - x[i]);
        g[i + 1] += 200 * d;
    }
}

void th_rosenbrock_hessian(const double *x, int n, double *H)
{
    for (int q = 0; q < n * n; q++) H[q] = 0;
    for (int i = 0; i < n - 1; i++) {
        H[i * n + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
        H[i * n + i + 1] += -400 * x[i];
        H[(i + 1) * n + i] += -400 * x[i];
        H[(i + 1) * n + i + 1] += 200;
    }
}

ad_tensor *th_expsin(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0];
    return ad_sum(ad_add(ad_mul(ad_sin(x), ad_square(x)), ad_exp(ad_neg(ad_square(x)))), AD_ALL, false);
}

void th_expsin_grad(const double *x, int n, double *g)
{
    for (int i = 0; i < n; i++)
        g[i] = cos(x[i]) * x[i] * x[i] + 2 * x[i] * sin(x[i]) - 2 * x[i] * exp(-x[i] * x[i]);
}

ad_tensor *th_softmax_ce(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sub(ad_logsumexp(in[0], AD_ALL, false), ad_idx(in[0], AD_I(0)));
}

void th_softmax_ce_grad(const double *x, int n, double *g)
{
    double m = x[0], s = 0;
    for (int i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int i = 0; i < n; i++) s += exp(x[i] - m);
    for (int i = 0; i < n; i++) g[i] = exp(x[i] - m) / s - (i == 0);
}

ad_tensor *th_mlp(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    return ad_sum(ad_tanh(ad_mv((ad_tensor *)u, in[0])), AD_ALL, false);
}

ad_tensor *th_host_branch(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0];
    bool up = ad_item(ad_idx(x, AD_I(0))) > 0.6;
    return ad_sum(up ? ad_sin(x) : ad_square(x), AD_ALL, false);
}

double th_mlp_entry(int i, int j, int n) { return sin((double)(i * n + j + 1)) / sqrt((double)n); }

void th_mlp_grad(const double *x, int n, double *g)
{
    for (int j = 0; j < n; j++) g[j] = 0;
    for (int i = 0; i < n; i++) {
        double z = 0;
        for (int j = 0; j < n; j++) z += th_mlp_entry(i, j, n) * x[j];
        double d = 1 - tanh(z) * tanh(z);
        for (int j = 0; j < n; j++) g[j] += d * th_mlp_entry(i, j, n);
    }
}

ad_tensor *th_tanh_Ax_times_x0(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    return ad_mul(ad_tanh(ad_mv((ad_tensor *)u, in[0])), ad_idx(in[0], AD_I(0)));
}

const th_function th_functions[] = {
    {"rosenbrock", th_rosenbrock, th_rosenbrock_grad},
    {"expsin", th_expsin, th_expsin_grad},
    {"softmax_ce", th_softmax_ce, th_softmax_ce_grad},
    {"mlp", th_mlp, th_mlp_grad},
};
const int th_nfunctions = (int)(sizeof th_functions / sizeof th_functions[0]);

const th_function *th_function_find(const char *name)
{
    for (int i = 0; i < th_nfunctions; i++)
        if (strcmp(th_functions[i].name, name) == 0) return &th_functions[i];
    return NULL;
}

ad_tensor *th_input_vec(int n)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(n));
    cr_assert_not_null(x, "%s", ad_errmsg(ctx));
    for (int i = 0; i < n; i++) ad_data(x)[i] = 0.5 + 0.4 * sin(i + 1.0);
    return x;
}

ad_tensor *th_mlp_matrix(int m, int n)
{
    ad_tensor *A = ad_empty(ctx, AD_SHAPE(m, n));
    cr_assert_not_null(A, "%s", ad_errmsg(ctx));
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) ad_data(A)[i * n + j] = th_mlp_entry(i, j, n);
    return A;
}
