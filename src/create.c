/* src/create.c — tensor creation: empty, zeros, ones, full, arange,
 * linspace, eye, rand/randn/multinomial (GSL), from_array, wrap, to_array.
 * Created tensors are leaves: no grad_fn, no tangent. */
#include <gsl/gsl_randist.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "iter.h"
#include "trace.h"

static ad_tensor *new_shape(ad_ctx *ctx, const char *what, ad_shape s)
{
    if (!ctx) return NULL;
    if (s.ndim < 0 || s.ndim > AD_MAX_DIMS)
        return AD_FAIL(ctx, AD_ESIZE, "%s: %d axes requested (at most %d)", what, s.ndim, AD_MAX_DIMS);
    if (ad_shape_numel(ctx, what, s.ndim, s.dim) < 0) return NULL;
    return ad_new(ctx, s.ndim, s.dim);
}

ad_tensor *ad_empty(ad_ctx *ctx, ad_shape shape) { return new_shape(ctx, "empty", shape); }

ad_tensor *ad_full(ad_ctx *ctx, ad_shape shape, double value)
{
    ad_tensor *t = new_shape(ctx, "full", shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = value;
    if (ctx->rec) ad_rec_literal(t); /* a constant reverse-replay bakes in */
    return t;
}

ad_tensor *ad_zeros(ad_ctx *ctx, ad_shape shape)
{
    ad_tensor *t = new_shape(ctx, "zeros", shape);
    if (t) memset(t->data, 0, (size_t)t->numel * sizeof(double));
    if (t && ctx->rec) ad_rec_literal(t);
    return t;
}

ad_tensor *ad_ones(ad_ctx *ctx, ad_shape shape) { return ad_full(ctx, shape, 1.0); }

ad_tensor *ad_scalar(ad_ctx *ctx, double value) { return ad_full(ctx, AD_SCALAR, value); }

ad_tensor *ad_arange(ad_ctx *ctx, double start, double stop, double step)
{
    if (!ctx) return NULL;
    if (!isfinite(start) || !isfinite(stop) || !isfinite(step))
        return AD_FAIL(ctx, AD_EINVAL, "arange: start, stop and step must be finite (got %g, %g, %g)", start, stop,
                       step);
    if (step == 0) return AD_FAIL(ctx, AD_EINVAL, "arange: step must be nonzero");
    if ((step > 0 && stop < start) || (step < 0 && stop > start))
        return AD_FAIL(ctx, AD_EINVAL, "arange: upper bound and step are inconsistent (start %g, stop %g, step %g)",
                       start, stop, step);
    double n = ceil((stop - start) / step);
    if (n > 1e15) return AD_FAIL(ctx, AD_ESIZE, "arange: %g elements is too many", n);
    ad_tensor *t = new_shape(ctx, "arange", AD_SHAPE((int64_t)n));
    if (!t) return NULL;
    /* start + i·step rather than accumulating: no drift over long ranges */
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = start + (double)i * step;
    if (ctx->rec) ad_rec_literal(t);
    return t;
}

ad_tensor *ad_arange_n(ad_ctx *ctx, int64_t n)
{
    if (!ctx) return NULL;
    if (n < 0) return AD_FAIL(ctx, AD_ESIZE, "arange: negative length %lld", (long long)n);
    ad_tensor *t = new_shape(ctx, "arange", AD_SHAPE(n));
    if (!t) return NULL;
    for (int64_t i = 0; i < n; i++) t->data[i] = (double)i;
    if (ctx->rec) ad_rec_literal(t);
    return t;
}

ad_tensor *ad_linspace(ad_ctx *ctx, double start, double stop, int64_t n)
{
    if (!ctx) return NULL;
    if (n < 0) return AD_FAIL(ctx, AD_ESIZE, "linspace: negative number of points %lld", (long long)n);
    if (!isfinite(start) || !isfinite(stop))
        return AD_FAIL(ctx, AD_EINVAL, "linspace: bounds must be finite (got %g, %g)", start, stop);
    ad_tensor *t = new_shape(ctx, "linspace", AD_SHAPE(n));
    if (!t) return NULL;
    double step = n > 1 ? (stop - start) / (double)(n - 1) : 0;
    /* fill symmetrically from both ends, as torch does, so the last point
     * is exactly stop */
    int64_t half = n / 2;
    for (int64_t i = 0; i < n; i++)
        t->data[i] = i < half ? start + step * (double)i : stop - step * (double)(n - 1 - i);
    if (n == 1) t->data[0] = start;
    if (ctx->rec) ad_rec_literal(t);
    return t;
}

ad_tensor *ad_eye_nm(ad_ctx *ctx, int64_t n, int64_t m)
{
    ad_tensor *t = new_shape(ctx, "eye", AD_SHAPE(n, m));
    if (!t) return NULL;
    memset(t->data, 0, (size_t)t->numel * sizeof(double));
    for (int64_t i = 0; i < n && i < m; i++) t->data[i * m + i] = 1.0;
    if (ctx->rec) ad_rec_literal(t);
    return t;
}

ad_tensor *ad_eye(ad_ctx *ctx, int64_t n) { return ad_eye_nm(ctx, n, n); }

ad_tensor *ad_rand(ad_ctx *ctx, ad_shape shape)
{
    ad_tensor *t = new_shape(ctx, "rand", shape);
    if (!t) return NULL;
    gsl_rng *r = ad_ctx_rng(ctx);
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = gsl_rng_uniform(r);
    return t;
}

ad_tensor *ad_randn(ad_ctx *ctx, ad_shape shape)
{
    ad_tensor *t = new_shape(ctx, "randn", shape);
    if (!t) return NULL;
    gsl_rng *r = ad_ctx_rng(ctx);
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
    return t;
}

/* Row r of the categories (the last axis) must be a distribution up to a
 * factor: finite, non-negative, with a positive sum.  p holds the row. */
static int check_probs_row(ad_ctx *ctx, const double *p, int64_t k, int64_t r)
{
    double sum = 0;
    for (int64_t j = 0; j < k; j++) {
        if (!isfinite(p[j]) || p[j] < 0)
            return ad_error(ctx, AD_EINVAL, "multinomial: probability %g of category %lld (row %lld) is not a finite "
                            "non-negative number", p[j], (long long)j, (long long)r);
        sum += p[j];
    }
    if (!(sum > 0) || !isfinite(sum))
        return ad_error(ctx, AD_EINVAL, "multinomial: the probabilities of row %lld sum to %g, not a positive number",
                        (long long)r, sum);
    return AD_OK;
}

/* Each row of probs' last axis, in place: n draws counted per category by
 * gsl_ran_multinomial (which normalises the row itself). */
static int draw_rows(ad_ctx *ctx, double *d, int64_t rows, int64_t k, unsigned n)
{
    unsigned *count = ad_mem_alloc(ctx, (size_t)k * sizeof *count, AD_MEM_META);
    if (!count) return ctx->err;
    int rc = AD_OK;
    for (int64_t r = 0; rc == AD_OK && r < rows; r++) rc = check_probs_row(ctx, d + r * k, k, r);
    for (int64_t r = 0; rc == AD_OK && r < rows; r++) {
        gsl_ran_multinomial(ad_ctx_rng(ctx), (size_t)k, n, d + r * k, count);
        for (int64_t j = 0; j < k; j++) d[r * k + j] = (double)count[j];
    }
    ad_mem_free(ctx, count, (size_t)k * sizeof *count, AD_MEM_META);
    return rc;
}

ad_tensor *ad_multinomial(ad_ctx *ctx, ad_tensor *probs, int64_t n)
{
    if (!ctx) return NULL;
    if (!probs) return AD_FAIL(ctx, AD_EINVAL, "multinomial: NULL probabilities");
    if (probs->ndim == 0)
        return AD_FAIL(ctx, AD_ESHAPE, "multinomial: probs is 0-d; its last axis must hold the categories");
    if (n < 0 || n > (int64_t)UINT_MAX)
        return AD_FAIL(ctx, AD_EINVAL, "multinomial: %lld draws is out of range (0 to %u)", (long long)n, UINT_MAX);
    int64_t k = probs->shape[probs->ndim - 1];
    if (k == 0 || probs->numel == 0)
        return AD_FAIL(ctx, AD_ESHAPE, "multinomial: probs has no categories (its last axis is empty)");
    /* the counts overwrite a copy of the probabilities row by row: a
     * constant, never recorded (sampling has no derivative) */
    ad_tensor *out = new_shape(ctx, "multinomial", ad_shape_of(probs));
    if (!out) return NULL;
    int rc = ad_to_array(probs, out->data, out->numel);
    if (rc == AD_OK) rc = draw_rows(ctx, out->data, out->numel / k, k, (unsigned)n);
    if (rc != AD_OK) {
        ad_tensor_free(out);
        return NULL;
    }
    return out;
}

ad_tensor *ad_from_array(ad_ctx *ctx, ad_shape shape, const double *src)
{
    if (!ctx) return NULL;
    if (!src) return AD_FAIL(ctx, AD_EINVAL, "from_array: NULL source");
    ad_tensor *t = new_shape(ctx, "from_array", shape);
    if (t) memcpy(t->data, src, (size_t)t->numel * sizeof(double));
    return t;
}

ad_tensor *ad_wrap(ad_ctx *ctx, ad_shape s, double *buf)
{
    if (!ctx) return NULL;
    if (!buf) return AD_FAIL(ctx, AD_EINVAL, "wrap: NULL buffer");
    if (s.ndim < 0 || s.ndim > AD_MAX_DIMS)
        return AD_FAIL(ctx, AD_ESIZE, "wrap: %d axes requested (at most %d)", s.ndim, AD_MAX_DIMS);
    if (ad_shape_numel(ctx, "wrap", s.ndim, s.dim) < 0) return NULL;
    ad_storage *st = ad_mem_alloc(ctx, sizeof *st, AD_MEM_META);
    if (!st) return NULL;
    memset(st, 0, sizeof *st);
    st->data = buf;
    st->external = 1;
    st->cat = AD_MEM_VALUES;
    int64_t stride[AD_MAX_DIMS], k = 1;
    for (int i = s.ndim - 1; i >= 0; i--) {
        stride[i] = k;
        k *= s.dim[i] ? s.dim[i] : 1;
    }
    ad_tensor *t = ad_handle_new(ctx, st, s.ndim, s.dim, stride, 0);
    if (!t) ad_mem_free(ctx, st, sizeof *st, AD_MEM_META);
    return t;
}

int ad_to_array(const ad_tensor *t, double *dst, int64_t numel)
{
    if (!t) return AD_EINVAL;
    if (!dst) return ad_error(t->ctx, AD_EINVAL, "to_array: NULL destination");
    ad_rec_host_read(t, "ad_to_array read a tensor's values inside f");
    if (numel < t->numel)
        return ad_error(t->ctx, AD_ESIZE, "to_array: destination holds %lld doubles, the tensor has %lld",
                        (long long)numel, (long long)t->numel);
    /* a temporary contiguous handle over dst, then a strided copy */
    ad_ctx *ctx = t->ctx;
    ad_tensor *d = ad_wrap(ctx, ad_shape_of(t), dst);
    if (!d) return ctx->err;
    ad_unscope(d);
    ad_copy_raw(d, (ad_tensor *)t);
    ad_decref(d);
    return AD_OK;
}
