/* bench/gradbench/gb_input.c — JSON input read into tensors, tensors
 * written back as JSON (gb_input.h).  Numbers must be finite: GradBench
 * sends plain JSON numbers, and a NaN smuggled in would make every
 * derivative NaN without an error. */
#include <math.h>
#include <stdlib.h>

#include "gb_input.h"

static const json_t *field(ad_ctx *ctx, const json_t *input, const char *key)
{
    const json_t *v = json_is_object(input) ? json_object_get(input, key) : NULL;
    if (!v) ad_raise(ctx, AD_EINVAL, "input: field \"%s\" is missing", key);
    return v;
}

int gbi_int(ad_ctx *ctx, const json_t *input, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const json_t *v = field(ctx, input, key);
    if (!v) return AD_EINVAL;
    if (!json_is_integer(v))
        return ad_raise(ctx, AD_EINVAL, "input: field \"%s\" must be an integer", key);
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi)
        return ad_raise(ctx, AD_EINVAL, "input: field \"%s\" = %lld is out of range [%lld, %lld]", key,
                            (long long)i, (long long)lo, (long long)hi);
    *out = (int64_t)i;
    return AD_OK;
}

/* A JSON number as a finite double (integers included). */
static int number(ad_ctx *ctx, const json_t *v, const char *key, int64_t at, double *out)
{
    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        if (at < 0) return ad_raise(ctx, AD_EINVAL, "input: field \"%s\" must be a finite number", key);
        return ad_raise(ctx, AD_EINVAL, "input: \"%s\": element %lld is not a finite number", key, (long long)at);
    }
    *out = json_number_value(v);
    return AD_OK;
}

int gbi_double(ad_ctx *ctx, const json_t *input, const char *key, double *out)
{
    const json_t *v = field(ctx, input, key);
    return v ? number(ctx, v, key, -1, out) : AD_EINVAL;
}

/* Copies the numbers of array a into dst[0..n). */
static int numbers(ad_ctx *ctx, const json_t *a, const char *key, int64_t first, double *dst)
{
    for (size_t i = 0; i < json_array_size(a); i++)
        if (number(ctx, json_array_get(a, i), key, first + (int64_t)i, &dst[i]) != AD_OK) return AD_EINVAL;
    return AD_OK;
}

ad_tensor *gbi_vector(ad_ctx *ctx, const json_t *input, const char *key, int64_t min_len)
{
    const json_t *a = field(ctx, input, key);
    if (!a) return NULL;
    int64_t n = (int64_t)json_array_size(a);
    if (!json_is_array(a) || n < min_len) {
        ad_raise(ctx, AD_EINVAL, "input: field \"%s\" must be an array of at least %lld numbers", key,
                     (long long)min_len);
        return NULL;
    }
    ad_tensor *t = ad_zeros(ctx, AD_SHAPE(n));
    if (t && numbers(ctx, a, key, 0, ad_data(t)) != AD_OK) {
        ad_tensor_free(t);
        return NULL;
    }
    return t;
}

ad_tensor *gbi_matrix(ad_ctx *ctx, const json_t *input, const char *key)
{
    const json_t *a = field(ctx, input, key);
    if (!a) return NULL;
    int64_t rows = (int64_t)json_array_size(a);
    const json_t *r0 = json_array_get(a, 0);
    if (!json_is_array(a) || rows < 1 || !json_is_array(r0)) {
        ad_raise(ctx, AD_EINVAL, "input: field \"%s\" must be a non-empty array of arrays of numbers", key);
        return NULL;
    }
    int64_t cols = (int64_t)json_array_size(r0);
    ad_tensor *t = ad_zeros(ctx, AD_SHAPE(rows, cols));
    for (int64_t i = 0; t && i < rows; i++) {
        const json_t *r = json_array_get(a, (size_t)i);
        if (!json_is_array(r) || (int64_t)json_array_size(r) != cols) {
            ad_raise(ctx, AD_EINVAL, "input: \"%s\": row %lld is not an array of %lld numbers (as row 0 is)", key,
                         (long long)i, (long long)cols);
        } else if (numbers(ctx, r, key, i * cols, ad_data(t) + i * cols) == AD_OK) {
            continue;
        }
        ad_tensor_free(t);
        return NULL;
    }
    return t;
}

/* reals v[0..n) appended to a new array */
static json_t *reals(const double *v, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_real(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *gbi_json_flat(ad_tensor *t)
{
    ad_tensor *c = t ? ad_contiguous(t) : NULL;
    json_t *a = c ? reals(ad_data(c), ad_numel(c)) : NULL;
    ad_tensor_free(c);
    return a;
}

json_t *gbi_json_rows(ad_tensor *t)
{
    ad_tensor *c = t && ad_ndim(t) == 2 ? ad_contiguous(t) : NULL;
    if (!c) return NULL;
    int64_t rows = ad_dim(c, 0), cols = ad_dim(c, 1);
    json_t *a = json_array();
    for (int64_t i = 0; a && i < rows; i++)
        if (json_array_append_new(a, reals(ad_data(c) + i * cols, cols)) != 0) {
            json_decref(a);
            a = NULL;
        }
    ad_tensor_free(c);
    return a;
}
