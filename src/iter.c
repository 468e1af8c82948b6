/* src/iter.c — the strided broadcasting iterator (see iter.h). */
#include <string.h>

#include "iter.h"
#include "threads.h"

static void coalesce(ad_iter *it)
{
    int nd = 0;
    /* drop length-1 axes */
    for (int d = 0; d < it->ndim; d++) {
        if (it->shape[d] == 1) continue;
        it->shape[nd] = it->shape[d];
        for (int i = 0; i < it->nop; i++) it->stride[i][nd] = it->stride[i][d];
        nd++;
    }
    if (nd == 0) {
        it->shape[0] = 1;
        for (int i = 0; i < it->nop; i++) it->stride[i][0] = 1;
        it->ndim = 1;
        return;
    }
    /* merge an axis into the one inside it when every operand steps over
     * the inner axis exactly once per outer step */
    int out = 0;
    for (int d = 1; d < nd; d++) {
        bool can = true;
        for (int i = 0; i < it->nop; i++)
            if (it->stride[i][out] != it->stride[i][d] * it->shape[d]) {
                can = false;
                break;
            }
        if (can) {
            it->shape[out] *= it->shape[d];
            for (int i = 0; i < it->nop; i++) it->stride[i][out] = it->stride[i][d];
        } else {
            out++;
            it->shape[out] = it->shape[d];
            for (int i = 0; i < it->nop; i++) it->stride[i][out] = it->stride[i][d];
        }
    }
    it->ndim = out + 1;
}

void ad_iter_init_raw(ad_iter *it, int ndim, const int64_t *shape, int nop, double *const *base,
                      const int64_t *const *strides)
{
    it->ndim = ndim;
    it->nop = nop;
    it->numel = 1;
    for (int d = 0; d < ndim; d++) {
        it->shape[d] = shape[d];
        it->numel *= shape[d];
    }
    for (int i = 0; i < nop; i++) {
        it->base[i] = base[i];
        for (int d = 0; d < ndim; d++) it->stride[i][d] = shape[d] == 1 ? 0 : strides[i][d];
    }
    if (it->numel == 0) {
        it->ndim = 1;
        it->shape[0] = 0;
        for (int i = 0; i < nop; i++) it->stride[i][0] = 1;
        return;
    }
    coalesce(it);
}

void ad_iter_init(ad_iter *it, int ndim, const int64_t *shape, int nop, ad_tensor *const *t)
{
    double *base[AD_ITER_MAXOP];
    int64_t st[AD_ITER_MAXOP][AD_MAX_DIMS + 1];
    const int64_t *sp[AD_ITER_MAXOP];
    for (int i = 0; i < nop; i++) {
        int off = ndim - t[i]->ndim;
        for (int d = 0; d < ndim; d++) {
            int k = d - off;
            st[i][d] = (k < 0 || t[i]->shape[k] == 1) ? 0 : t[i]->stride[k];
        }
        base[i] = t[i]->data;
        sp[i] = st[i];
    }
    ad_iter_init_raw(it, ndim, shape, nop, base, sp);
}

void ad_iter_run(const ad_iter *it, ad_iter_fn fn, void *ud)
{
    if (it->numel == 0) return;
    int nd = it->ndim, nop = it->nop;
    int64_t inner = it->shape[nd - 1];
    int64_t s[AD_ITER_MAXOP];
    double *p[AD_ITER_MAXOP];
    for (int i = 0; i < nop; i++) {
        s[i] = it->stride[i][nd - 1];
        p[i] = it->base[i];
    }
    if (nd == 1) {
        fn(inner, p, s, ud);
        return;
    }
    int64_t idx[AD_MAX_DIMS + 1] = {0};
    for (;;) {
        fn(inner, p, s, ud);
        /* odometer over the outer axes */
        int d = nd - 2;
        for (; d >= 0; d--) {
            if (++idx[d] < it->shape[d]) {
                for (int i = 0; i < nop; i++) p[i] += it->stride[i][d];
                break;
            }
            for (int i = 0; i < nop; i++) p[i] -= it->stride[i][d] * (it->shape[d] - 1);
            idx[d] = 0;
        }
        if (d < 0) return;
    }
}

/* Elements [lo, hi) of the iteration in row-major order: the multi-index
 * of lo, then partial and whole runs, odometer as in ad_iter_run. */
static void run_range(const ad_iter *it, int64_t lo, int64_t hi, ad_iter_fn fn, void *ud)
{
    int nd = it->ndim, nop = it->nop;
    int64_t idx[AD_MAX_DIMS + 1], rest = lo, s[AD_ITER_MAXOP];
    double *p[AD_ITER_MAXOP];
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = rest % it->shape[d];
        rest /= it->shape[d];
    }
    for (int i = 0; i < nop; i++) {
        s[i] = it->stride[i][nd - 1];
        p[i] = it->base[i];
        for (int d = 0; d < nd; d++) p[i] += idx[d] * it->stride[i][d];
    }
    for (int64_t left = hi - lo; left > 0;) {
        int64_t run = it->shape[nd - 1] - idx[nd - 1];
        if (run > left) run = left;
        fn(run, p, s, ud);
        left -= run;
        if (left == 0) return;
        /* to the start of the next run */
        for (int i = 0; i < nop; i++) p[i] -= idx[nd - 1] * s[i];
        idx[nd - 1] = 0;
        for (int d = nd - 2; d >= 0; d--) {
            if (++idx[d] < it->shape[d]) {
                for (int i = 0; i < nop; i++) p[i] += it->stride[i][d];
                break;
            }
            for (int i = 0; i < nop; i++) p[i] -= it->stride[i][d] * (it->shape[d] - 1);
            idx[d] = 0;
        }
    }
}

typedef struct {
    const ad_iter *it;
    ad_iter_fn fn;
    void *ud;
} par_job;

static void par_part(int64_t lo, int64_t hi, void *ud)
{
    const par_job *j = ud;
    run_range(j->it, lo, hi, j->fn, j->ud);
}

void ad_iter_run_par(const ad_iter *it, ad_iter_fn fn, void *ud)
{
    int parts = ad_par_threads(it->numel);
    for (int d = 0; d < it->ndim; d++)
        if (it->stride[0][d] == 0) parts = 1; /* an output written more than once (an expanded view): serial */
    if (parts <= 1) {
        ad_iter_run(it, fn, ud);
        return;
    }
    par_job j = {it, fn, ud};
    ad_par_chunks(it->numel, parts, par_part, &j);
}

void ad_iter_copy_run(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    double *d = p[0];
    const double *a = p[1];
    if (s[0] == 1 && s[1] == 1) {
        memmove(d, a, (size_t)n * sizeof *d);
        return;
    }
    for (int64_t k = 0; k < n; k++) d[k * s[0]] = a[k * s[1]];
}

void ad_copy_raw(ad_tensor *dst, ad_tensor *src)
{
    ad_iter it;
    ad_tensor *ops[2] = {dst, src};
    ad_iter_init(&it, dst->ndim, dst->shape, 2, ops);
    ad_iter_run(&it, ad_iter_copy_run, NULL);
}
