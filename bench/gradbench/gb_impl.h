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
 * The evals that keep tensors in their state (gmm, lstm, ba) read with
 * the same readers into tensors (gb_json_*_tensor).
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
/* input[key] as an integer in [lo, hi] (16.0 counts as 16). */
int gb_json_int(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, int64_t lo, int64_t hi,
                int64_t *out);
/* input[key] as a finite number. */
int gb_json_number(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, double *out);
/* The same readers into tensors, for evals whose state holds tensors
 * (new references owned by the caller, or NULL with the reason in ctx):
 * input[key] as a [n] tensor with n >= min_len, and as a [rows, cols]
 * tensor (rows >= 1, cols >= min_cols: 0 lets rows be empty). */
ad_tensor *gb_json_vector_tensor(ad_ctx *ctx, const char *eval, const json_t *input, const char *key,
                                 size_t min_len);
ad_tensor *gb_json_matrix_tensor(ad_ctx *ctx, const char *eval, const json_t *input, const char *key,
                                 size_t min_cols);
/* input[key] as a non-empty array of d1 x d2 matrices: a new [n, d1, d2]
 * tensor (ht's bone transforms). */
ad_tensor *gb_json_matrices_tensor(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, size_t d1,
                                   size_t d2);
/* input[key] as a non-empty array of integers in [lo, hi] (cols 0), or of
 * rows of cols such integers: *out malloc'ed row-major, *n its length
 * (rows). */
int gb_json_ints(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, int64_t lo, int64_t hi,
                 size_t cols, int64_t **out, size_t *n);

/* Outputs (new references, NULL with the reason in ctx): a number, a
 * list, a list of rows.  Non-finite values are errors (JSON has none). */
json_t *gb_json_real(ad_ctx *ctx, double v);
json_t *gb_json_list(ad_ctx *ctx, const double *v, size_t n);
json_t *gb_json_rows(ad_ctx *ctx, const double *v, size_t rows, size_t cols);
/* A tensor's elements (any shape, row-major) as a list; a 2-d tensor as
 * a list of rows. */
json_t *gb_json_tensor(ad_ctx *ctx, ad_tensor *t);
json_t *gb_json_tensor_rows(ad_ctx *ctx, ad_tensor *t);

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

/* ---- GradBench's gradient descent (particle, saddle; descent.c) ---- */
typedef struct gb_objective {
    ad_fn f;                  /* f(x, extra...): one element */
    void *user;               /* f's user pointer */
    int nextra;               /* constant inputs after x (0 to GB_MAX_IN - 1) */
    ad_tensor *const *extra;
    const ad_backend *b;      /* the backend of f's gradient with respect to x */
    double sign;              /* 1: argmin; -1: argmax (descent on -f) */
} gb_objective;
/* The argmin (sign 1) or argmax (sign -1) of f from x0 by the solver of
 * GradBench's cpp/gradbench/gd.hpp: a new tensor of the open scope, or
 * NULL with the reason in ctx (a non-finite objective, gradient or step;
 * no convergence after a million decisions).  x and the gradients keep
 * what an outer backend attached: a caller's function differentiated by
 * an outer driver may call it (nested differentiation). */
ad_tensor *gb_descend(ad_ctx *ctx, const gb_objective *o, ad_tensor *x0);

/* ---- an eval over plain arrays (hello, llsq, lse, det, ode, kmeans) ----
 * Its file holds the maths (the functions of tensors) and its input's
 * shape (read); everything else is here: the state, a run in a scope of
 * its own over the arrays wrapped as tensors, the outputs. */
#define GB_MAX_IN 4

typedef struct gb_arrays gb_arrays;
typedef struct gb_plain {
    const char *name;  /* the eval's name, first word of its errors */
    /* input -> a->in[] (gb_arrays_vector, _matrix, _add); may set a->nvalues */
    int (*read)(ad_ctx *ctx, const json_t *input, gb_arrays *a);
    ad_fn primal;      /* f of a->in: a->nvalues values */
    ad_fn scalar;      /* the one-element function differentiated (NULL: primal) */
} gb_plain;

struct gb_arrays {
    const gb_plain *eval;
    int nin;                      /* in[0] is differentiated, the others held constant */
    double *in[GB_MAX_IN];        /* malloc'ed, owned */
    ad_shape shape[GB_MAX_IN];
    size_t nvalues;               /* how many values primal gives (1 unless read says) */
    double *out;                  /* the last run's result: nout of max(nvalues, |in[0]|) */
    size_t nout;
};

/* Appends an input to a: input[key] as [n], as [rows, cols], or a new
 * uninitialised array of the given shape (*data, may be NULL). */
int gb_arrays_vector(ad_ctx *ctx, gb_arrays *a, const json_t *input, const char *key);
int gb_arrays_matrix(ad_ctx *ctx, gb_arrays *a, const json_t *input, const char *key);
int gb_arrays_add(ad_ctx *ctx, gb_arrays *a, ad_shape shape, double **data);
/* The number of entries of input i. */
size_t gb_arrays_numel(const gb_arrays *a, int i);

/* prepare for eval e: a gb_arrays read from input (*state) */
int gb_plain_prepare(ad_ctx *ctx, const gb_plain *e, const json_t *input, void **state);
void gb_plain_free(void *state);
/* A run over the inputs wrapped as tensors in a scope of its own: compute
 * writes a->out and a->nout. */
typedef int (*gb_compute)(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ad_tensor *const *in, gb_arrays *a);
int gb_plain_run(ad_ctx *ctx, const ad_backend *b, const ad_options *o, gb_arrays *a, gb_compute compute);
/* gb_function's run: primal's values; the gradient of scalar by b */
int gb_plain_value(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state);
int gb_plain_gradient(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state);
/* gb_function's output: out[0] as a number; out as a list */
json_t *gb_plain_real(ad_ctx *ctx, void *state);
json_t *gb_plain_list(ad_ctx *ctx, void *state);
/* The evals as functions of the benchmark harness (bench.h's
 * ad_bench_fn), named "gb:<eval>": each eval's file defines its own. */
struct ad_bench_fn;
extern const struct ad_bench_fn ad_bench_gb_llsq, ad_bench_gb_lse, ad_bench_gb_det, ad_bench_gb_ode,
    ad_bench_gb_kmeans, ad_bench_gb_gmm, ad_bench_gb_lstm, ad_bench_gb_ht;

#endif
