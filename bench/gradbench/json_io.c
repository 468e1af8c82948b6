/* bench/gradbench/json_io.c — the evals' JSON, the one input layer: input
 * fields into plain arrays or tensors (with errors naming the eval and the
 * field), outputs back into JSON values.  Numbers must be finite: GradBench
 * sends plain JSON numbers, and a NaN smuggled in would make every
 * derivative NaN without an error.  jansson does the parsing and printing. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "gb_impl.h"

static const json_t *field(ad_ctx *ctx, const char *eval, const json_t *input, const char *key)
{
    if (!json_is_object(input)) {
        ad_raise(ctx, AD_EINVAL, "%s: the input must be an object with \"%s\"", eval, key);
        return NULL;
    }
    const json_t *v = json_object_get(input, key);
    if (!v) ad_raise(ctx, AD_EINVAL, "%s: the input has no \"%s\"", eval, key);
    return v;
}

/* The numbers of a JSON array into out[0..n) (n = its size). */
static int numbers(ad_ctx *ctx, const char *eval, const char *key, const json_t *a, double *out)
{
    size_t i;
    const json_t *v;
    json_array_foreach (a, i, v) {
        if (!json_is_number(v))
            return ad_raise(ctx, AD_EINVAL, "%s: \"%s\"[%zu] is not a number", eval, key, i);
        out[i] = json_number_value(v);
        if (!isfinite(out[i])) return ad_raise(ctx, AD_ENONFINITE, "%s: \"%s\"[%zu] is not finite", eval, key, i);
    }
    return AD_OK;
}

/* input[key] checked as an array of at least min_len numbers' places. */
static const json_t *vector_field(ad_ctx *ctx, const char *eval, const json_t *input, const char *key,
                                  size_t min_len)
{
    const json_t *a = field(ctx, eval, input, key);
    if (a && (!json_is_array(a) || json_array_size(a) < min_len || json_array_size(a) == 0)) {
        if (min_len <= 1) ad_raise(ctx, AD_EINVAL, "%s: \"%s\" must be a non-empty array of numbers", eval, key);
        else ad_raise(ctx, AD_EINVAL, "%s: \"%s\" must be an array of at least %zu numbers", eval, key, min_len);
        return NULL;
    }
    return a;
}

/* input[key] checked as a non-empty array whose first row has *cols >=
 * min_cols entries; *rows its length. */
static const json_t *matrix_field(ad_ctx *ctx, const char *eval, const json_t *input, const char *key,
                                  size_t min_cols, size_t *rows, size_t *cols)
{
    const json_t *a = field(ctx, eval, input, key);
    if (!a) return NULL;
    const json_t *r0 = json_is_array(a) ? json_array_get(a, 0) : NULL;
    if (!r0 || !json_is_array(r0) || json_array_size(r0) < min_cols) {
        if (min_cols) ad_raise(ctx, AD_EINVAL, "%s: \"%s\" must be a non-empty array of non-empty rows", eval, key);
        else ad_raise(ctx, AD_EINVAL, "%s: \"%s\" must be a non-empty array of rows of numbers", eval, key);
        return NULL;
    }
    *rows = json_array_size(a);
    *cols = json_array_size(r0);
    return a;
}

/* The rows of a (checked by matrix_field) into v, row-major. */
static int rows_into(ad_ctx *ctx, const char *eval, const char *key, const json_t *a, size_t m, size_t d, double *v)
{
    for (size_t i = 0; i < m; i++) {
        const json_t *r = json_array_get(a, i);
        int rc = json_is_array(r) && json_array_size(r) == d
                     ? numbers(ctx, eval, key, r, v + i * d)
                     : ad_raise(ctx, AD_ESHAPE, "%s: \"%s\"[%zu] is not a row of %zu numbers like \"%s\"[0]", eval,
                                key, i, d, key);
        if (rc != AD_OK) return rc;
    }
    return AD_OK;
}

int gb_json_vector(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const json_t *a = vector_field(ctx, eval, input, key, 1);
    if (!a) return ad_errno(ctx);
    double *v = malloc(json_array_size(a) * sizeof *v);
    if (!v) return ad_raise(ctx, AD_ENOMEM, "%s: out of memory reading \"%s\"", eval, key);
    int rc = numbers(ctx, eval, key, a, v);
    if (rc != AD_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n = json_array_size(a);
    return AD_OK;
}

int gb_json_matrix(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, double **out,
                   size_t *rows, size_t *cols)
{
    *out = NULL;
    *rows = *cols = 0;
    size_t m, d;
    const json_t *a = matrix_field(ctx, eval, input, key, 1, &m, &d);
    if (!a) return ad_errno(ctx);
    double *v = malloc(m * d * sizeof *v);
    if (!v) return ad_raise(ctx, AD_ENOMEM, "%s: out of memory reading \"%s\"", eval, key);
    int rc = rows_into(ctx, eval, key, a, m, d, v);
    if (rc != AD_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *rows = m;
    *cols = d;
    return AD_OK;
}

ad_tensor *gb_json_vector_tensor(ad_ctx *ctx, const char *eval, const json_t *input, const char *key,
                                 size_t min_len)
{
    const json_t *a = vector_field(ctx, eval, input, key, min_len);
    ad_tensor *t = a ? ad_zeros(ctx, AD_SHAPE((int64_t)json_array_size(a))) : NULL;
    if (t && numbers(ctx, eval, key, a, ad_data(t)) != AD_OK) {
        ad_tensor_free(t);
        return NULL;
    }
    return t;
}

ad_tensor *gb_json_matrix_tensor(ad_ctx *ctx, const char *eval, const json_t *input, const char *key,
                                 size_t min_cols)
{
    size_t m = 0, d = 0;
    const json_t *a = matrix_field(ctx, eval, input, key, min_cols, &m, &d);
    ad_tensor *t = a ? ad_zeros(ctx, AD_SHAPE((int64_t)m, (int64_t)d)) : NULL;
    if (t && rows_into(ctx, eval, key, a, m, d, ad_data(t)) != AD_OK) {
        ad_tensor_free(t);
        return NULL;
    }
    return t;
}

int gb_json_int(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, int64_t lo, int64_t hi,
                int64_t *out)
{
    const json_t *v = field(ctx, eval, input, key);
    if (!v) return ad_errno(ctx);
    /* 16.0 is accepted as 16: JSON writers differ in how they print integers */
    double d = json_number_value(v);
    if (!json_is_number(v) || d != floor(d) || d < (double)lo || d > (double)hi)
        return ad_raise(ctx, AD_EINVAL, "%s: \"%s\" must be an integer in [%lld, %lld]", eval, key, (long long)lo,
                        (long long)hi);
    *out = (int64_t)d;
    return AD_OK;
}

int gb_json_number(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, double *out)
{
    const json_t *v = field(ctx, eval, input, key);
    if (!v) return ad_errno(ctx);
    if (!json_is_number(v)) return ad_raise(ctx, AD_EINVAL, "%s: \"%s\" must be a number", eval, key);
    *out = json_number_value(v);
    if (!isfinite(*out)) return ad_raise(ctx, AD_ENONFINITE, "%s: \"%s\" is not finite", eval, key);
    return AD_OK;
}

json_t *gb_json_real(ad_ctx *ctx, double v)
{
    json_t *j = isfinite(v) ? json_real(v) : NULL;
    if (!j) ad_raise(ctx, isfinite(v) ? AD_ENOMEM : AD_ENONFINITE, "output: %g is not a JSON number", v);
    return j;
}

json_t *gb_json_list(ad_ctx *ctx, const double *v, size_t n)
{
    json_t *a = json_array();
    if (!a) {
        ad_raise(ctx, AD_ENOMEM, "output: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *x = gb_json_real(ctx, v[i]);
        if (!x || json_array_append_new(a, x) != 0) {
            json_decref(a);
            if (x) ad_raise(ctx, AD_ENOMEM, "output: out of memory");
            return NULL;
        }
    }
    return a;
}

json_t *gb_json_rows(ad_ctx *ctx, const double *v, size_t rows, size_t cols)
{
    json_t *a = json_array();
    if (!a) {
        ad_raise(ctx, AD_ENOMEM, "output: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < rows; i++) {
        json_t *r = gb_json_list(ctx, v + i * cols, cols);
        if (!r || json_array_append_new(a, r) != 0) {
            json_decref(a);
            if (r) ad_raise(ctx, AD_ENOMEM, "output: out of memory");
            return NULL;
        }
    }
    return a;
}

json_t *gb_json_tensor(ad_ctx *ctx, ad_tensor *t)
{
    ad_tensor *c = t ? ad_contiguous(t) : NULL; /* ad_data reads the storage in order */
    json_t *a = c ? gb_json_list(ctx, ad_data(c), (size_t)ad_numel(c)) : NULL;
    if (!t) ad_raise(ctx, AD_EINVAL, "output: no tensor");
    ad_tensor_free(c);
    return a;
}

json_t *gb_json_tensor_rows(ad_ctx *ctx, ad_tensor *t)
{
    if (!t || ad_ndim(t) != 2) {
        ad_raise(ctx, AD_ESHAPE, "output: rows of a tensor that is not 2-d");
        return NULL;
    }
    ad_tensor *c = ad_contiguous(t);
    json_t *a = c ? gb_json_rows(ctx, ad_data(c), (size_t)ad_dim(c, 0), (size_t)ad_dim(c, 1)) : NULL;
    ad_tensor_free(c);
    return a;
}

ad_tensor *gb_json_matrices_tensor(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, size_t d1,
                                   size_t d2)
{
    const json_t *a = vector_field(ctx, eval, input, key, 1);
    size_t n = a ? json_array_size(a) : 0;
    ad_tensor *t = a ? ad_zeros(ctx, AD_SHAPE((int64_t)n, (int64_t)d1, (int64_t)d2)) : NULL;
    for (size_t i = 0; t && i < n; i++) {
        const json_t *m = json_array_get(a, i);
        int rc = json_is_array(m) && json_array_size(m) == d1
                     ? rows_into(ctx, eval, key, m, d1, d2, ad_data(t) + i * d1 * d2)
                     : ad_raise(ctx, AD_ESHAPE, "%s: \"%s\"[%zu] is not a %zu x %zu matrix", eval, key, i, d1, d2);
        if (rc != AD_OK) {
            ad_tensor_free(t);
            t = NULL;
        }
    }
    return t;
}

/* One JSON integer in [lo, hi] (16.0 counts as 16), named by key[i][j]. */
static int integer(ad_ctx *ctx, const char *eval, const char *key, size_t i, size_t j, const json_t *v, int64_t lo,
                   int64_t hi, int64_t *out)
{
    double d = json_number_value(v);
    if (json_is_number(v) && d == floor(d) && d >= (double)lo && d <= (double)hi) {
        *out = (int64_t)d;
        return AD_OK;
    }
    if (j == SIZE_MAX)
        return ad_raise(ctx, AD_EINVAL, "%s: \"%s\"[%zu] must be an integer in [%lld, %lld]", eval, key, i,
                        (long long)lo, (long long)hi);
    return ad_raise(ctx, AD_EINVAL, "%s: \"%s\"[%zu][%zu] must be an integer in [%lld, %lld]", eval, key, i, j,
                    (long long)lo, (long long)hi);
}

int gb_json_ints(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, int64_t lo, int64_t hi,
                 size_t cols, int64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const json_t *a = vector_field(ctx, eval, input, key, 1);
    if (!a) return ad_errno(ctx);
    size_t rows = json_array_size(a), per = cols ? cols : 1;
    int64_t *v = malloc(rows * per * sizeof *v);
    int rc = v ? AD_OK : ad_raise(ctx, AD_ENOMEM, "%s: out of memory reading \"%s\"", eval, key);
    for (size_t i = 0; rc == AD_OK && i < rows; i++) {
        const json_t *r = json_array_get(a, i);
        if (!cols) {
            rc = integer(ctx, eval, key, i, SIZE_MAX, r, lo, hi, &v[i]);
            continue;
        }
        if (!json_is_array(r) || json_array_size(r) != cols)
            rc = ad_raise(ctx, AD_ESHAPE, "%s: \"%s\"[%zu] is not a row of %zu integers", eval, key, i, cols);
        for (size_t j = 0; rc == AD_OK && j < cols; j++)
            rc = integer(ctx, eval, key, i, j, json_array_get(r, j), lo, hi, &v[i * cols + j]);
    }
    if (rc != AD_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n = rows;
    return AD_OK;
}
