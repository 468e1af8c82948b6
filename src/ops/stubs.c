/* TEMPORARY: weak placeholders so the tree links while op families are
 * being written.  Each real definition overrides its placeholder.  This
 * file must be deleted before any issue is called done. */
#include "op.h"

#define W __attribute__((weak))
#define NOTYET(ctx) AD_FAIL((ctx), AD_ENOTSUP, "%s: not implemented yet", __func__)

#define AD_OP(id, gname, nin, save, flags)                                                      \
    W ad_tensor *ad_op_##id##_jvp(const ad_call *c, ad_tensor *const *tin)                      \
    {                                                                                           \
        (void)tin;                                                                              \
        return NOTYET(c->ctx);                                                                  \
    }                                                                                           \
    W int ad_op_##id##_vjp(const ad_call *c, ad_tensor *gy, ad_tensor **gin)                    \
    {                                                                                           \
        (void)gy;                                                                               \
        (void)gin;                                                                              \
        return ad_error(c->ctx, AD_ENOTSUP, "%s: not implemented yet", __func__);               \
    }
#include "ops.def"
#undef AD_OP

#define STUB1(name) W ad_tensor *name(ad_tensor *x) { return x ? NOTYET(x->ctx) : NULL; }
#define STUB2(name) W ad_tensor *name(ad_tensor *x, ad_tensor *y) { (void)y; return x ? NOTYET(x->ctx) : NULL; }
#define STUBAX(name) W ad_tensor *name(ad_tensor *x, ad_axes a, bool k) { (void)a; (void)k; return x ? NOTYET(x->ctx) : NULL; }
#define STUBI(name) W ad_tensor *name(ad_tensor *x, int a) { (void)a; return x ? NOTYET(x->ctx) : NULL; }
#define STUBIK(name) W ad_tensor *name(ad_tensor *x, int a, bool k) { (void)a; (void)k; return x ? NOTYET(x->ctx) : NULL; }

W ad_tensor *ad_slice(ad_tensor *x, int n, const ad_index *ix) { (void)n; (void)ix; return x ? NOTYET(x->ctx) : NULL; }
W ad_tensor *ad_getitem(ad_tensor *x, const char *s) { (void)s; return x ? NOTYET(x->ctx) : NULL; }
W int ad_parse_subscript(ad_ctx *ctx, const char *s, ad_index *ix, int cap) { (void)s; (void)ix; (void)cap; return ad_error(ctx, AD_ENOTSUP, "not yet"); }
W int ad_setitem(ad_tensor *x, int n, const ad_index *ix, ad_tensor *v) { (void)n; (void)ix; (void)v; return x ? ad_error(x->ctx, AD_ENOTSUP, "not yet") : AD_EINVAL; }
W int ad_setitem_scalar(ad_tensor *x, int n, const ad_index *ix, double v) { (void)n; (void)ix; (void)v; return x ? ad_error(x->ctx, AD_ENOTSUP, "not yet") : AD_EINVAL; }
W ad_tensor *ad_index_select(ad_tensor *x, int axis, int64_t n, const int64_t *idx) { (void)axis; (void)n; (void)idx; return x ? NOTYET(x->ctx) : NULL; }
STUBI(ad_cumsum) STUBI(ad_cumprod) STUBI(ad_softmax) STUBI(ad_log_softmax)
W ad_tensor *ad_gather(ad_tensor *x, int axis, ad_tensor *i) { (void)axis; (void)i; return x ? NOTYET(x->ctx) : NULL; }
W ad_tensor *ad_concat(ad_tensor *const *ts, int n, int axis) { (void)axis; return (n > 0 && ts[0]) ? NOTYET(ts[0]->ctx) : NULL; }
W ad_tensor *ad_stack(ad_tensor *const *ts, int n, int axis) { (void)axis; return (n > 0 && ts[0]) ? NOTYET(ts[0]->ctx) : NULL; }
STUBAX(ad_sum) STUBAX(ad_mean) STUBAX(ad_prod) STUBAX(ad_max) STUBAX(ad_min) STUBAX(ad_logsumexp)
W ad_tensor *ad_var(ad_tensor *x, ad_axes a, double c, bool k) { (void)a; (void)c; (void)k; return x ? NOTYET(x->ctx) : NULL; }
W ad_tensor *ad_std(ad_tensor *x, ad_axes a, double c, bool k) { (void)a; (void)c; (void)k; return x ? NOTYET(x->ctx) : NULL; }
STUB1(ad_sum_all) STUB1(ad_mean_all) STUB1(ad_argmax_all) STUB1(ad_argmin_all)
STUBIK(ad_argmax) STUBIK(ad_argmin)
STUB2(ad_dot) STUB2(ad_mv) STUB2(ad_mm) STUB2(ad_matmul) STUB2(ad_outer)
W ad_tensor *ad_cross(ad_tensor *x, ad_tensor *y, int a) { (void)y; (void)a; return x ? NOTYET(x->ctx) : NULL; }
STUB1(ad_trace) STUB1(ad_norm_fro)
W ad_tensor *ad_norm(ad_tensor *x, double p, ad_axes a, bool k) { (void)p; (void)a; (void)k; return x ? NOTYET(x->ctx) : NULL; }
W const char *ad_blas_name(void) { return "?"; }
W ad_print_options ad_print_defaults(void) { ad_print_options o = {4, 1000, 3, 80, -1}; return o; }
W int64_t ad_snprint(char *buf, size_t n, const ad_tensor *t, const ad_print_options *o) { (void)buf; (void)n; (void)t; (void)o; return AD_ENOTSUP; }
W int ad_fprint(FILE *f, const ad_tensor *t, const ad_print_options *o) { (void)f; (void)t; (void)o; return AD_ENOTSUP; }
W int ad_print(const ad_tensor *t) { (void)t; return AD_ENOTSUP; }
