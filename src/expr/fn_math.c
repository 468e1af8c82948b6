/* src/expr/fn_math.c — elementwise functions, reductions, scans and linear
 * algebra: each binds its arguments and calls the library's op. */
#include <string.h>

#include "expr_internal.h"

#define X(i) ex_tensor(c, c->a[i])

ad_tensor *ex_fn_unary(ex_call *c)
{
    ad_tensor *x = X(0);
    return x ? c->fn->op.unary(x) : NULL;
}

ad_tensor *ex_fn_binary(ex_call *c)
{
    ad_tensor *a = X(0), *b = a ? X(1) : NULL;
    return b ? c->fn->op.binary(a, b) : NULL;
}

/* pow, maximum, minimum: the operator path, so pow(x, 2) is ad_pow_s. */
ad_tensor *ex_fn_binop(ex_call *c)
{
    ex_val out;
    if (ex_binop(c->ev, c->fn->op.binop, c->a[0], c->a[1], &out, c->node->pos, c->node->len) < 0) return NULL;
    if (out.kind == V_NUM) return ad_scalar(c->ev->ctx, out.num);
    return out.t; /* a new reference, now the call's result */
}

ad_tensor *ex_fn_where(ex_call *c)
{
    ad_tensor *cond = X(0), *a = cond ? X(1) : NULL, *b = a ? X(2) : NULL;
    return b ? ad_where(cond, a, b) : NULL;
}

ad_tensor *ex_fn_reduce(ex_call *c)
{
    ad_axes axes;
    bool keep;
    ad_tensor *x = X(0);
    if (!x || ex_axes(c, c->a[1], &axes) < 0 || ex_bool(c, c->a[2], "keepdims", false, &keep) < 0) return NULL;
    return c->fn->op.reduce(x, axes, keep);
}

ad_tensor *ex_fn_stat(ex_call *c)
{
    ad_axes axes;
    bool keep;
    double corr = 1;
    ad_tensor *x = X(0);
    if (!x || ex_axes(c, c->a[1], &axes) < 0 || ex_bool(c, c->a[3], "keepdims", false, &keep) < 0) return NULL;
    if (c->a[2] && c->a[2]->kind != V_NONE && ex_number(c, c->a[2], "correction", false, &corr) < 0) return NULL;
    return c->fn->op.stat(x, axes, corr, keep);
}

ad_tensor *ex_fn_along(ex_call *c)
{
    int axis;
    ad_tensor *x = X(0);
    if (!x || ex_axis(c, c->a[1], c->fn->axis_default, &axis) < 0) return NULL;
    return c->fn->op.along(x, axis);
}

/* argmax(x) is the flat index (argmax over all axes); with keepdims it
 * keeps every axis with length 1, as torch.argmax does. */
ad_tensor *ex_fn_argext(ex_call *c)
{
    bool keep;
    ad_tensor *x = X(0);
    if (!x || ex_bool(c, c->a[2], "keepdims", false, &keep) < 0) return NULL;
    if (c->a[1] && c->a[1]->kind != V_NONE) {
        int axis;
        if (ex_axis(c, c->a[1], 0, &axis) < 0) return NULL;
        return c->fn->op.arg(x, axis, keep);
    }
    ad_tensor *r = strcmp(c->fn->name, "argmax") == 0 ? ad_argmax_all(x) : ad_argmin_all(x);
    if (!r || !keep) return r;
    ad_shape ones = ad_shape_of(x);
    for (int i = 0; i < ones.ndim; i++) ones.dim[i] = 1;
    return ad_reshape(r, ones);
}

ad_tensor *ex_fn_cross(ex_call *c)
{
    int axis;
    ad_tensor *a = X(0), *b = a ? X(1) : NULL;
    if (!b || ex_axis(c, c->a[2], -1, &axis) < 0) return NULL;
    return ad_cross(a, b, axis);
}

ad_tensor *ex_fn_norm(ex_call *c)
{
    double p = 2;
    ad_axes axes;
    bool keep;
    ad_tensor *x = X(0);
    if (!x) return NULL;
    if (c->a[1] && c->a[1]->kind != V_NONE && ex_number(c, c->a[1], "p", true, &p) < 0) return NULL;
    if (ex_axes(c, c->a[2], &axes) < 0 || ex_bool(c, c->a[3], "keepdims", false, &keep) < 0) return NULL;
    return ad_norm(x, p, axes, keep);
}
