/* tests/functions.h — the test functions shared by every test file, each
 * defined once (tests/functions.c).
 *
 * Each comes as an ad_fn for the drivers and, where a test needs an oracle,
 * with its gradient written in plain C: the oracle shares no code with the
 * library, so an error in an op's rule cannot hide in both.  Inputs come
 * from th_input_vec (0.5 + 0.4·sin(i + 1): high-entropy, inside every
 * function's domain) and the matrix of mlp from th_mlp_matrix. */
#ifndef ADSCOPE_TEST_FUNCTIONS_H
#define ADSCOPE_TEST_FUNCTIONS_H

#include <adscope.h>

/* Σ 100 (x[i+1] - x[i]²)² + (1 - x[i])²   (x: [n], n >= 2) */
ad_tensor *th_rosenbrock(ad_ctx *c, ad_tensor *const *in, void *u);
void th_rosenbrock_grad(const double *x, int n, double *g);
void th_rosenbrock_hessian(const double *x, int n, double *H); /* H: n·n, row-major */

/* Σ sin(x)·x² + exp(-x²) */
ad_tensor *th_expsin(ad_ctx *c, ad_tensor *const *in, void *u);
void th_expsin_grad(const double *x, int n, double *g);

/* softmax cross-entropy of class 0: logsumexp(x) - x[0] */
ad_tensor *th_softmax_ce(ad_ctx *c, ad_tensor *const *in, void *u);
void th_softmax_ce_grad(const double *x, int n, double *g);

/* Σ tanh(A x), A (the user data) = th_mlp_matrix(n, n) */
ad_tensor *th_mlp(ad_ctx *c, ad_tensor *const *in, void *u);
void th_mlp_grad(const double *x, int n, double *g);

/* R^n -> R^m: tanh(A x) · x[0], A [m, n] the user data */
ad_tensor *th_tanh_Ax_times_x0(ad_ctx *c, ad_tensor *const *in, void *u);

/* Σ sin(x) when x[0] > 0.6, else Σ x²: the branch depends on a value read
 * to the host (ad_item), so a recording (reverse-replay, central-replay)
 * would keep the traced branch and must refuse f. */
ad_tensor *th_host_branch(ad_ctx *c, ad_tensor *const *in, void *u);

/* The scalar functions above with their oracles, by name, for tables of
 * test cases ("rosenbrock", "expsin", "softmax_ce", "mlp"; mlp needs
 * th_mlp_matrix(n, n) as user data). */
typedef struct th_function {
    const char *name;
    ad_fn f;
    void (*grad)(const double *x, int n, double *g);
} th_function;
extern const th_function th_functions[];
extern const int th_nfunctions;
const th_function *th_function_find(const char *name); /* NULL if unknown */

/* x_i = 0.5 + 0.4·sin(i + 1), shape [n], in the test's context. */
ad_tensor *th_input_vec(int n);
/* A[i][j] = sin(i·n + j + 1) / √n, shape [m, n], in the test's context. */
ad_tensor *th_mlp_matrix(int m, int n);
double th_mlp_entry(int i, int j, int n);

#endif
