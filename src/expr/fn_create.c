/* src/expr/fn_create.c — creation functions: arange, zeros, ones, full,
 * eye, linspace, rand, randn; multinomial (a sample, so here beside rand).
 *
 * Sizes are checked before anything is allocated: non-negative integers,
 * and at most AD_EXPR_MAX_ELEMENTS elements in all (AD_ELIMIT naming the
 * requested shape), so "ones(1e6, 1e6)" is an error, not an attempt. */
#include <math.h>

#include "expr_internal.h"

ad_tensor *ex_fn_arange(ex_call *c)
{
    double start = 0, stop, step = 1;
    bool one = !c->a[1] || c->a[1]->kind == V_NONE;
    if (one) {
        if (ex_number(c, c->a[0], "stop", false, &stop) < 0) return NULL;
    } else if (ex_number(c, c->a[0], "start", false, &start) < 0 || ex_number(c, c->a[1], "stop", false, &stop) < 0) {
        return NULL;
    }
    if (c->a[2] && c->a[2]->kind != V_NONE && ex_number(c, c->a[2], "step", false, &step) < 0) return NULL;
    if (step != 0 && (stop - start) / step > 0) {
        double n = ceil((stop - start) / step);
        if (n > AD_EXPR_MAX_ELEMENTS)
            return ex_call_fail(c, AD_ELIMIT, "shape [%.0f] has more than the limit of %d elements", n,
                                AD_EXPR_MAX_ELEMENTS),
                   NULL;
    }
    return ad_arange(c->ev->ctx, start, stop, step);
}

static int shape_args(ex_call *c, ad_shape *s)
{
    if (c->nrest == 0)
        return ex_call_fail(c, AD_EINVAL, "missing the shape (use [] for a 0-d tensor); usage: %s", c->fn->sig);
    int rc = ex_ints(c, c->rest, c->nrest, "size", 0, s);
    return rc < 0 ? rc : ex_check_elements(c, s);
}

ad_tensor *ex_fn_fill(ex_call *c)
{
    ad_shape s;
    if (shape_args(c, &s) < 0) return NULL;
    return c->fn->op.fill(c->ev->ctx, s);
}

/* full(2, 3, value=v) or full([2, 3], v) */
ad_tensor *ex_fn_full(ex_call *c)
{
    ad_shape s;
    double v;
    ex_val *value = c->a[0];
    if (!value && c->nrest == 2 && c->rest[0].kind == V_TENSOR && ad_ndim(c->rest[0].t) == 1) {
        value = &c->rest[1];
        c->nrest = 1;
    }
    if (!value) return ex_call_fail(c, AD_EINVAL, "missing the value; usage: %s", c->fn->sig), NULL;
    if (shape_args(c, &s) < 0 || ex_number(c, value, "value", true, &v) < 0) return NULL;
    return ad_full(c->ev->ctx, s, v);
}

static int size_arg(ex_call *c, const ex_val *v, const char *what, int64_t *out)
{
    int rc = ex_integer(c, v, what, out);
    if (rc < 0) return rc;
    if (*out < 0) return ex_arg_fail(c, v, AD_ESIZE, "%s %lld must be a non-negative integer", what, (long long)*out);
    return AD_OK;
}

ad_tensor *ex_fn_eye(ex_call *c)
{
    ad_shape s = {.ndim = 2};
    if (size_arg(c, c->a[0], "n", &s.dim[0]) < 0) return NULL;
    s.dim[1] = s.dim[0];
    if (c->a[1] && c->a[1]->kind != V_NONE && size_arg(c, c->a[1], "m", &s.dim[1]) < 0) return NULL;
    if (ex_check_elements(c, &s) < 0) return NULL;
    return ad_eye_nm(c->ev->ctx, s.dim[0], s.dim[1]);
}

ad_tensor *ex_fn_linspace(ex_call *c)
{
    double a, b;
    int64_t n;
    if (ex_number(c, c->a[0], "start", false, &a) < 0 || ex_number(c, c->a[1], "stop", false, &b) < 0 ||
        size_arg(c, c->a[2], "n", &n) < 0)
        return NULL;
    ad_shape s = {.ndim = 1, .dim = {n}};
    if (ex_check_elements(c, &s) < 0) return NULL;
    return ad_linspace(c->ev->ctx, a, b, n);
}

/* multinomial(probs, n): counts of n draws per category of probs' last
 * axis, each row drawn on its own (ad_multinomial). */
ad_tensor *ex_fn_multinomial(ex_call *c)
{
    int64_t n;
    ad_tensor *p = ex_tensor(c, c->a[0]);
    if (!p || size_arg(c, c->a[1], "n", &n) < 0) return NULL;
    return ad_multinomial(c->ev->ctx, p, n);
}
