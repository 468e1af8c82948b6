/* adscope/ops.h — the catalogue of differentiable ops, read-only.
 *
 *     for (int i = 0; i < ad_op_count(); i++) {
 *         const ad_op_info *op = ad_op_info_at(i);
 *         printf("%-12s %-22s %d\n", op->name, op->grad_fn, op->nin);
 *     }
 *
 * One entry per op of the library's op list (src/ops/ops.def), in its
 * order: what reverse mode records (the grad_fn name PyTorch users know
 * from tensor.grad_fn), how many inputs it takes and what its VJP keeps
 * alive on the tape.  Several ops may share a grad_fn name, as in PyTorch
 * (add and add_s are both AddBackward0).  Everything returned is static and
 * borrowed: never freed, valid for the life of the program.
 */
#ifndef ADSCOPE_OPS_H
#define ADSCOPE_OPS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    AD_OPINFO_ELEMENTWISE = 1u << 0, /* elementwise, inputs broadcast against each other */
    AD_OPINFO_VARIADIC = 1u << 1,    /* any number of inputs (concat, stack) */
    AD_OPINFO_INTERNAL = 1u << 2     /* used inside VJP rules only, no public function
                                      * (tanh_bw, sigmoid_bw, mask) */
};

typedef struct ad_op_info {
    const char *name;       /* "sin": the op's id (the public function is ad_<name>) */
    const char *grad_fn;    /* "SinBackward0" */
    int nin;                /* inputs; -1: variadic */
    unsigned saved_inputs;  /* bit i: input i is saved for the VJP */
    bool saves_output;      /* the output is saved for the VJP */
    unsigned flags;         /* AD_OPINFO_* */
    const char *family;     /* "unary": the source file src/ops/<family>.c */
} ad_op_info;

/* Number of ops. */
AD_API int ad_op_count(void);
/* Op i, 0 <= i < ad_op_count() (borrowed, static); NULL out of range. */
AD_API const ad_op_info *ad_op_info_at(int i);

#ifdef __cplusplus
}
#endif
#endif
