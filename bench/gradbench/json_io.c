/* bench/gradbench/json_io.c — the evals' JSON: input fields into plain
 * arrays (with errors naming the eval and the field), outputs back into
 * JSON values.  jansson does the parsing and printing. */
#include <math.h>
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

int gb_json_vector(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const json_t *a = field(ctx, eval, input, key);
    if (!a) return ad_errno(ctx);
    if (!json_is_array(a) || json_array_size(a) == 0)
        return ad_raise(ctx, AD_EINVAL, "%s: \"%s\" must be a non-empty array of numbers", eval, key);
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
    const json_t *a = field(ctx, eval, input, key);
    if (!a) return ad_errno(ctx);
    const json_t *r0 = json_is_array(a) ? json_array_get(a, 0) : NULL;
    if (!r0 || !json_is_array(r0) || json_array_size(r0) == 0)
        return ad_raise(ctx, AD_EINVAL, "%s: \"%s\" must be a non-empty array of non-empty rows", eval, key);
    size_t m = json_array_size(a), d = json_array_size(r0);
    double *v = malloc(m * d * sizeof *v);
    if (!v) return ad_raise(ctx, AD_ENOMEM, "%s: out of memory reading \"%s\"", eval, key);
    for (size_t i = 0; i < m; i++) {
        const json_t *r = json_array_get(a, i);
        int rc = json_is_array(r) && json_array_size(r) == d
                     ? numbers(ctx, eval, key, r, v + i * d)
                     : ad_raise(ctx, AD_ESHAPE, "%s: \"%s\"[%zu] is not a row of %zu numbers like \"%s\"[0]", eval,
                                key, i, d, key);
        if (rc != AD_OK) {
            free(v);
            return rc;
        }
    }
    *out = v;
    *rows = m;
    *cols = d;
    return AD_OK;
}

int gb_json_int(ad_ctx *ctx, const char *eval, const json_t *input, const char *key, long long lo, long long hi,
                long long *out)
{
    const json_t *v = field(ctx, eval, input, key);
    if (!v) return ad_errno(ctx);
    /* 16.0 is accepted as 16: JSON writers differ in how they print integers */
    double d = json_number_value(v);
    if (!json_is_number(v) || d != floor(d) || d < (double)lo || d > (double)hi)
        return ad_raise(ctx, AD_EINVAL, "%s: \"%s\" must be an integer in [%lld, %lld]", eval, key, lo, hi);
    *out = (long long)d;
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
