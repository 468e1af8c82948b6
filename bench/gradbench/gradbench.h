/* bench/gradbench/gradbench.h — adscope as a GradBench tool: the evals (one file each) behind one interface.
 * Ownership: states are owned by the caller (the protocol loop) and released with free_state; JSON returned by
 * output is a new reference (json_decref). Errors: a negative ad_status with the reason recorded in ctx (ad_error). */
#ifndef ADSCOPE_GRADBENCH_H
#define ADSCOPE_GRADBENCH_H
#include <jansson.h>
#include <adscope.h>

typedef struct gb_function {
    const char *name;   /* the eval's function name, e.g. "objective", "jacobian" */
    /* parses the eval's input (outside the timed runs) into *state */
    int (*prepare)(ad_ctx *ctx, const json_t *input, void **state);
    /* one timed run: computes the function (its derivatives with backend b, options o) into state */
    int (*run)(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state);
    /* the output of the last run, as the eval's README specifies (new reference), or NULL on error */
    json_t *(*output)(ad_ctx *ctx, void *state);
    void (*free_state)(void *state);
} gb_function;

typedef struct gb_eval {
    const char *name;            /* the GradBench module name: "llsq" */
    const gb_function *functions;
    int nfunctions;
} gb_eval;

/* the evals, one file each: bench/gradbench/<name>.c */
extern const gb_eval gb_eval_hello, gb_eval_llsq, gb_eval_lse, gb_eval_det, gb_eval_ode, gb_eval_kmeans,
    gb_eval_gmm, gb_eval_lstm, gb_eval_ba, gb_eval_ht, gb_eval_particle, gb_eval_saddle;
/* NULL-terminated table of the evals this build implements (bench/gradbench/evals.c) */
extern const gb_eval *const gb_evals[];
const gb_eval *gb_eval_find(const char *name);
const gb_function *gb_function_find(const gb_eval *e, const char *name);

#endif
