/* src/iter.h — strided iteration with broadcasting (ad_iter_*).
 *
 * Every elementwise kernel, reduction and copy walks its operands through
 * this one engine.  Operands are described by pointer + strides over a
 * common iteration shape; an operand broadcast along an axis has stride 0
 * there (that is also how reductions are written: the output has stride 0
 * along the reduced axes).  Axes of length 1 are dropped and adjacent axes
 * that are contiguous in every operand are merged, so a contiguous tensor is
 * one flat run whatever its shape and kernels see long unit-stride loops. */
#ifndef ADSCOPE_ITER_H
#define ADSCOPE_ITER_H

#include "internal.h"

#define AD_ITER_MAXOP 4

typedef struct ad_iter {
    int ndim;    /* >= 1 after setup */
    int nop;
    int64_t numel;
    int64_t shape[AD_MAX_DIMS + 1];
    int64_t stride[AD_ITER_MAXOP][AD_MAX_DIMS + 1];
    double *base[AD_ITER_MAXOP];
} ad_iter;

/* Iterate over (ndim, shape) with operand i = t[i] broadcast to it (t[i]'s
 * axes aligned at the right; length-1 or missing axes get stride 0).  The
 * caller has checked that the shapes broadcast. */
void ad_iter_init(ad_iter *it, int ndim, const int64_t *shape, int nop, ad_tensor *const *t);
/* Same with explicit pointers and strides (strides[i] has ndim entries). */
void ad_iter_init_raw(ad_iter *it, int ndim, const int64_t *shape, int nop, double *const *base,
                      const int64_t *const *strides);

/* The innermost run: n elements, operand i at p[i] with stride s[i]. */
typedef void (*ad_iter_fn)(int64_t n, double *const *p, const int64_t *s, void *ud);
void ad_iter_run(const ad_iter *it, ad_iter_fn fn, void *ud);

/* Same for kernels whose every element is independent (operand 0, the
 * output, has no stride 0 along the iteration, as in elementwise ops):
 * from AD_PARALLEL_MIN elements on, contiguous parts of the iteration run
 * on the threads ad_set_num_threads allows; each element is computed
 * exactly as by ad_iter_run.  Never for reductions (they write one output
 * from many elements). */
void ad_iter_run_par(const ad_iter *it, ad_iter_fn fn, void *ud);

/* True when the whole iteration is one run with unit strides for every
 * operand (stride 0 allowed for operand `allow0` mask bits). */
static inline bool ad_iter_flat(const ad_iter *it)
{
    if (it->ndim != 1) return false;
    for (int i = 0; i < it->nop; i++)
        if (it->stride[i][0] != 1) return false;
    return true;
}

/* The copy kernel: p[0][i] = p[1][i] along a run (overlap-safe when both
 * strides are 1). */
void ad_iter_copy_run(int64_t n, double *const *p, const int64_t *s, void *ud);
/* Copy src into dst (same shape after broadcasting src to dst's shape). */
void ad_copy_raw(ad_tensor *dst, ad_tensor *src);

#endif
