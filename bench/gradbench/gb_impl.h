/* bench/gradbench/gb_impl.h — what the GradBench evals share (not installed):
 * reading the eval's JSON input into plain arrays, writing outputs, and
 * calling a function or its gradient by a backend with the results copied
 * out of the context.
 *
 * Why plain arrays: an eval's state outlives every scope (the protocol
 * loop keeps it from prepare to output), and free_state has no context, so
 * states own malloc'ed doubles, and each run wraps them as tensors
 * (ad_wrap, no copy) inside a scope of its own.
 *
 * Errors: every function returns AD_OK or a negative status with the
 * reason recorded in ctx (ad_raise), naming the eval and the field. */
#ifndef ADSCOPE_GB_IMPL_H
#define ADSCOPE_GB_IMPL_H

#include "gradbench.h"

/* input[key] as an array of numbers: *out malloc'ed (n >= 1 entries). */
int gb_json_vector(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, double **out, size_t *n);
/* input[key] as an array of rows of equal length (>= 1 each): *out
 * row-major, malloc'ed. */
int gb_json_matrix(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, double **out,
                   size_t *rows, size_t *cols);
/* input[key] as an integer in [lo, hi]. */
int gb_json_int(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, long long lo, long long hi,
                long long *out);

/* Outputs (new references, NULL with the reason in ctx): a number, a
 * list, a list of rows.  Non-finite values are errors (JSON has none). */
json_t *gb_json_real(ad_ctx *ctx, double v);
json_t *gb_json_list(ad_ctx *ctx, const double *v, size_t n);
json_t *gb_json_rows(ad_ctx *ctx, const double *v, size_t rows, size_t cols);

/* f(in) with nothing recorded, its n values copied into out. */
int gb_value(ad_ctx *ctx, ad_fn f, void *user, int nin, ad_tensor *const *in, double *out, size_t n);
/* The gradient of a one-element f with respect to in[0] by backend b (the
 * other inputs held constant): value into *value (may be NULL), the
 * gradient's n entries into grad. */
int gb_gradient(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ad_fn f, void *user, int nin,
                ad_tensor *const *in, double *value, double *grad, size_t n);
/* Copies a tensor's n values into out (AD_ESHAPE naming what when the
 * sizes differ). */
int gb_copy_out(ad_ctx *ctx, const char *what, ad_tensor *t, double *out, size_t n);

/* The evals as functions of the benchmark harness (bench.h's
 * ad_bench_fn), named "gb:<eval>": each eval's file defines its own. */
struct ad_bench_fn;
extern const struct ad_bench_fn ad_bench_gb_llsq, ad_bench_gb_lse, ad_bench_gb_det, ad_bench_gb_ode,
    ad_bench_gb_kmeans;

#endif
