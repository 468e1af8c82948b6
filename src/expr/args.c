/* src/expr/args.c — evaluated arguments to what the library's calls take.
 *
 * Integer-valued arguments (axes, sizes, indices) are ordinary expressions
 * (ones(n+1, 2), x[-1], sum(x, axis=[0, 2])); here they must turn out to be
 * finite integers, and an error points at the argument that was not. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "expr_internal.h"

static const char *shape_of(const ad_tensor *t, char *buf, size_t n)
{
    ad_shape s = ad_shape_of(t);
    ad_shape_str(&s, buf, n);
    return buf;
}

ad_tensor *ex_tensor(ex_call *c, ex_val *v)
{
    switch ((ex_valkind)v->kind) {
    case V_TENSOR: return v->t;
    case V_NUM: {
        ad_tensor *t = ad_scalar(c->ev->ctx, v->num);
        if (!t) return NULL;
        v->kind = V_TENSOR;
        v->t = t;
        v->owned = true;
        return t;
    }
    case V_NONE: ex_arg_fail(c, v, AD_EINVAL, "None is not a tensor"); return NULL;
    case V_INDEX: ex_arg_fail(c, v, AD_EINVAL, "a slice is not a tensor"); return NULL;
    }
    return NULL;
}

int ex_number(ex_call *c, const ex_val *v, const char *what, bool allow_inf, double *out)
{
    double x = 0;
    char sh[AD_SHAPEBUF];
    if (v->kind == V_NUM) {
        x = v->num;
    } else if (v->kind == V_TENSOR) {
        if (ad_numel(v->t) != 1)
            return ex_arg_fail(c, v, AD_EINVAL, "%s must be a single number, got a tensor of shape %s", what,
                               shape_of(v->t, sh, sizeof sh));
        x = ad_item(v->t);
    } else {
        return ex_arg_fail(c, v, AD_EINVAL, "%s must be a number, not %s", what,
                           v->kind == V_NONE ? "None" : "a slice");
    }
    if (isnan(x) || (isinf(x) && !allow_inf))
        return ex_arg_fail(c, v, AD_EINVAL, "%s must be finite, got %g", what, x);
    *out = x;
    return AD_OK;
}

static int integral(ex_call *c, const ex_val *v, const char *what, double x, int64_t *out)
{
    if (!isfinite(x) || x != floor(x))
        return ex_arg_fail(c, v, AD_EINVAL, "%s must be an integer, got %.17g", what, x);
    if (fabs(x) > EX_MAX_EXACT) return ex_arg_fail(c, v, AD_ELIMIT, "%s %.17g is too large", what, x);
    *out = (int64_t)x;
    return AD_OK;
}

int ex_integer(ex_call *c, const ex_val *v, const char *what, int64_t *out)
{
    double x = 0;
    int rc = ex_number(c, v, what, false, &x);
    return rc < 0 ? rc : integral(c, v, what, x, out);
}

int ex_bool(ex_call *c, const ex_val *v, const char *what, bool dflt, bool *out)
{
    *out = dflt;
    if (!v || v->kind == V_NONE) return AD_OK;
    double x = 0;
    int rc = ex_number(c, v, what, false, &x);
    if (rc < 0) return rc;
    *out = x != 0;
    return AD_OK;
}

static int to_axis(ex_call *c, const ex_val *v, int64_t k, int *out)
{
    if (k < -INT_MAX || k > INT_MAX) return ex_arg_fail(c, v, AD_EAXIS, "axis %lld is out of range", (long long)k);
    *out = (int)k;
    return AD_OK;
}

int ex_axis(ex_call *c, const ex_val *v, int dflt, int *out)
{
    *out = dflt;
    if (!v) return AD_OK;
    if (v->kind == V_NONE) return ex_arg_fail(c, v, AD_EINVAL, "axis must be an integer, not None");
    int64_t k = 0;
    int rc = ex_integer(c, v, "axis", &k);
    return rc < 0 ? rc : to_axis(c, v, k, out);
}

/* The values of a 0-d or 1-d tensor argument, at most cap of them. */
static int read_list(ex_call *c, const ex_val *v, const char *what, double *buf, int64_t cap, int64_t *n)
{
    char sh[AD_SHAPEBUF];
    if (ad_ndim(v->t) > 1)
        return ex_arg_fail(c, v, AD_EINVAL, "%s must be an integer or a list of integers, got a tensor of shape %s",
                           what, shape_of(v->t, sh, sizeof sh));
    *n = ad_numel(v->t);
    if (*n > cap)
        return ex_arg_fail(c, v, AD_ELIMIT, "%s: %lld entries, at most %lld", what, (long long)*n, (long long)cap);
    if (ad_to_array(v->t, buf, *n) != AD_OK) return ex_arg_fail(c, v, AD_EINVAL, "%s: cannot read the list", what);
    return AD_OK;
}

int ex_axes(ex_call *c, const ex_val *v, ad_axes *out)
{
    *out = AD_ALL;
    if (!v || v->kind == V_NONE) return AD_OK;
    if (v->kind == V_NUM || (v->kind == V_TENSOR && ad_ndim(v->t) == 0)) {
        out->n = 1;
        return ex_axis(c, v, 0, &out->axis[0]);
    }
    if (v->kind != V_TENSOR) return ex_arg_fail(c, v, AD_EINVAL, "axis must be an integer, a list or None");
    double buf[AD_MAX_DIMS];
    int64_t n;
    int rc = read_list(c, v, "axis", buf, AD_MAX_DIMS, &n);
    if (rc < 0) return rc;
    out->n = (int)n;
    for (int i = 0; i < n; i++) {
        int64_t k = 0;
        if ((rc = integral(c, v, "axis", buf[i], &k)) < 0 || (rc = to_axis(c, v, k, &out->axis[i])) < 0) return rc;
    }
    return AD_OK;
}

static int check_lo(ex_call *c, const ex_val *v, const char *what, int64_t k, int64_t lo)
{
    if (k >= lo) return AD_OK;
    if (lo == 0) return ex_arg_fail(c, v, AD_ESIZE, "%s %lld must be a non-negative integer", what, (long long)k);
    if (lo == -1)
        return ex_arg_fail(c, v, AD_ESIZE, "%s %lld must be a non-negative integer or -1", what, (long long)k);
    return ex_arg_fail(c, v, AD_EAXIS, "%s %lld is out of range", what, (long long)k);
}

int ex_ints(ex_call *c, ex_val *v, int n, const char *what, int64_t lo, ad_shape *out)
{
    out->ndim = 0;
    int rc;
    if (n == 1 && v[0].kind == V_TENSOR && ad_ndim(v[0].t) >= 1) {
        double buf[AD_MAX_DIMS];
        int64_t m;
        if ((rc = read_list(c, &v[0], what, buf, AD_MAX_DIMS, &m)) < 0) return rc;
        for (int i = 0; i < m; i++) {
            int64_t k = 0;
            if ((rc = integral(c, &v[0], what, buf[i], &k)) < 0 || (rc = check_lo(c, &v[0], what, k, lo)) < 0)
                return rc;
            out->dim[out->ndim++] = k;
        }
        return AD_OK;
    }
    for (int i = 0; i < n; i++) {
        if (i == AD_MAX_DIMS)
            return ex_arg_fail(c, &v[i], AD_ELIMIT, "more than %d %ss", AD_MAX_DIMS, what);
        int64_t k = 0;
        if ((rc = ex_integer(c, &v[i], what, &k)) < 0 || (rc = check_lo(c, &v[i], what, k, lo)) < 0) return rc;
        out->dim[out->ndim++] = k;
    }
    return AD_OK;
}

int ex_check_elements(ex_call *c, const ad_shape *s)
{
    double total = 1;
    for (int i = 0; i < s->ndim; i++) total *= (double)s->dim[i];
    if (total <= AD_EXPR_MAX_ELEMENTS) return AD_OK;
    char sh[AD_SHAPEBUF];
    ad_shape_str(s, sh, sizeof sh);
    return ex_call_fail(c, AD_ELIMIT, "shape %s has %.4g elements, more than the limit of %d", sh, total,
                        AD_EXPR_MAX_ELEMENTS);
}

static size_t int_list_bytes(int64_t n) { return (size_t)(n > 0 ? n : 1) * sizeof(int64_t); }

int ex_int_list(ex_call *c, const ex_val *v, const char *what, int64_t **out, int64_t *n)
{
    *out = NULL;
    *n = 0;
    if (v->kind != V_TENSOR || ad_ndim(v->t) == 0) {
        int64_t k = 0;
        int rc = ex_integer(c, v, what, &k);
        if (rc < 0) return rc;
        if (!(*out = ex_alloc(c->ev, int_list_bytes(1)))) return ex_arg_fail(c, v, AD_ENOMEM, "out of memory");
        (*out)[0] = k;
        *n = 1;
        return AD_OK;
    }
    char sh[AD_SHAPEBUF];
    if (ad_ndim(v->t) > 1)
        return ex_arg_fail(c, v, AD_EINVAL, "%s must be a list of integers, got a tensor of shape %s", what,
                           shape_of(v->t, sh, sizeof sh));
    int64_t m = ad_numel(v->t);
    double *buf = ex_alloc(c->ev, (size_t)(m > 0 ? m : 1) * sizeof *buf);
    int64_t *r = buf ? ex_alloc(c->ev, int_list_bytes(m)) : NULL;
    int rc = AD_OK;
    if (!buf || !r) rc = ex_arg_fail(c, v, AD_ENOMEM, "out of memory");
    int st = rc == AD_OK ? ad_to_array(v->t, buf, m) : AD_OK;
    if (st != AD_OK) rc = ex_arg_fail(c, v, st, "cannot read %s: %s", what, ad_errmsg(c->ev->ctx)); /* e.g. AD_ENOMEM */
    for (int64_t i = 0; rc == AD_OK && i < m; i++) rc = integral(c, v, what, buf[i], &r[i]);
    if (buf) ex_free(c->ev, buf, (size_t)(m > 0 ? m : 1) * sizeof *buf);
    if (rc < 0) {
        if (r) ex_free(c->ev, r, int_list_bytes(m));
        return rc;
    }
    *out = r;
    *n = m;
    return AD_OK;
}

void ex_int_list_free(ex_call *c, int64_t *list, int64_t n)
{
    if (list) ex_free(c->ev, list, int_list_bytes(n));
}
