/* src/expr/fn_shape.c — reshaping, views, joins and indexing functions. */
#include <limits.h>
#include <stdlib.h>

#include "expr_internal.h"

#define X(i) ex_tensor(c, c->a[i])

ad_tensor *ex_fn_reshape(ex_call *c)
{
    ad_shape s;
    ad_tensor *x = X(0);
    if (!x) return NULL;
    if (c->nrest == 0) return ex_call_fail(c, AD_EINVAL, "missing the new shape; usage: %s", c->fn->sig), NULL;
    if (ex_ints(c, c->rest, c->nrest, "size", -1, &s) < 0) return NULL;
    return ad_reshape(x, s);
}

ad_tensor *ex_fn_transpose(ex_call *c)
{
    ad_tensor *x = X(0);
    if (!x) return NULL;
    bool has0 = c->a[1] && c->a[1]->kind != V_NONE, has1 = c->a[2] && c->a[2]->kind != V_NONE;
    if (!has0 && !has1) return ad_T(x);
    if (!has0 || !has1) return ex_call_fail(c, AD_EINVAL, "give both axes, or none; usage: %s", c->fn->sig), NULL;
    int a0, a1;
    if (ex_axis(c, c->a[1], 0, &a0) < 0 || ex_axis(c, c->a[2], 0, &a1) < 0) return NULL;
    return ad_transpose(x, a0, a1);
}

ad_tensor *ex_fn_permute(ex_call *c)
{
    ad_shape s;
    ad_tensor *x = X(0);
    if (!x || ex_ints(c, c->rest, c->nrest, "axis", -(int64_t)INT_MAX, &s) < 0) return NULL;
    int perm[AD_MAX_DIMS];
    for (int i = 0; i < s.ndim; i++) {
        if (s.dim[i] > INT_MAX)
            return ex_call_fail(c, AD_EAXIS, "axis %lld is out of range", (long long)s.dim[i]), NULL;
        perm[i] = (int)s.dim[i];
    }
    return ad_permute(x, s.ndim, perm);
}

ad_tensor *ex_fn_squeeze(ex_call *c)
{
    ad_tensor *x = X(0);
    if (!x) return NULL;
    if (!c->a[1] || c->a[1]->kind == V_NONE) return ad_squeeze_all(x);
    int axis;
    if (ex_axis(c, c->a[1], 0, &axis) < 0) return NULL;
    return ad_squeeze(x, axis);
}

ad_tensor *ex_fn_unsqueeze(ex_call *c)
{
    int axis;
    ad_tensor *x = X(0);
    if (!x || ex_axis(c, c->a[1], 0, &axis) < 0) return NULL;
    return ad_unsqueeze(x, axis);
}

/* expand makes a view, but whatever reads it visits every element: it is
 * held to the same element limit as the creation functions. */
ad_tensor *ex_fn_expand(ex_call *c)
{
    ad_shape s;
    ad_tensor *x = X(0);
    if (!x) return NULL;
    if (c->nrest == 0) return ex_call_fail(c, AD_EINVAL, "missing the new shape; usage: %s", c->fn->sig), NULL;
    if (ex_ints(c, c->rest, c->nrest, "size", -1, &s) < 0) return NULL;
    ad_shape real = s;
    int lead = s.ndim - ad_ndim(x);
    for (int i = 0; i < s.ndim; i++)
        if (real.dim[i] == -1) real.dim[i] = i >= lead ? ad_dim(x, i - lead) : 1;
    if (ex_check_elements(c, &real) < 0) return NULL;
    return ad_expand(x, s);
}

/* concat(a, b, axis=0), concat([a, b], axis=0): the parser spread a list
 * literal into the positional arguments. */
ad_tensor *ex_fn_join(ex_call *c)
{
    int axis;
    if (ex_axis(c, c->a[0], 0, &axis) < 0) return NULL;
    if (c->nrest == 0) return ex_call_fail(c, AD_EINVAL, "needs at least one tensor; usage: %s", c->fn->sig), NULL;
    ad_tensor *small[16];
    ad_tensor **ts = c->nrest <= 16 ? small : ex_alloc(c->ev, (size_t)c->nrest * sizeof *ts);
    if (!ts) return ex_call_fail(c, AD_ENOMEM, "out of memory"), NULL;
    int i = 0;
    for (; i < c->nrest; i++)
        if (!(ts[i] = ex_tensor(c, &c->rest[i]))) break;
    ad_tensor *r = i == c->nrest ? c->fn->op.join(ts, c->nrest, axis) : NULL;
    if (ts != small) ex_free(c->ev, ts, (size_t)c->nrest * sizeof *ts);
    return r;
}

ad_tensor *ex_fn_index_select(ex_call *c)
{
    int axis;
    int64_t *idx, n;
    ad_tensor *x = X(0);
    if (!x || ex_axis(c, c->a[1], 0, &axis) < 0 || ex_int_list(c, c->a[2], "index", &idx, &n) < 0) return NULL;
    ad_tensor *r = ad_index_select(x, axis, n, idx);
    ex_int_list_free(c, idx, n);
    return r;
}

ad_tensor *ex_fn_gather(ex_call *c)
{
    int axis;
    ad_tensor *x = X(0), *index = x ? X(2) : NULL;
    if (!index || ex_axis(c, c->a[1], 0, &axis) < 0) return NULL;
    return ad_gather(x, axis, index);
}

/* tensor(data): a constant copy, as torch.tensor makes (cut from the graph). */
ad_tensor *ex_fn_tensor(ex_call *c)
{
    ad_tensor *x = X(0);
    return x ? ad_clone(ad_detach(x)) : NULL;
}
