/* src/ops/inplace.c — in-place forms: X += Y, X *= 2, X[...] = V, and
 * ad_OP_into(out, a, b).
 *
 * Plain case (no derivative involved): the kernel writes straight into the
 * target's storage and nothing is allocated.  When a tangent must follow or
 * the write must be recorded, the op is computed out of place and committed
 * into the target (ad_op_commit_inplace), which gives the target the new
 * record and tangent and protects values the tape saved. */
#include "ew.h"
#include "op.h"

typedef ad_tensor *(*binop_fn)(ad_tensor *, ad_tensor *);
typedef ad_tensor *(*scalop_fn)(ad_tensor *, double);

static bool same_shape(const ad_tensor *a, const ad_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

/* out = a op b (or a op s when b is NULL), written into out. */
static int into(const char *what, ad_ew_kind kind, binop_fn f, scalop_fn fs, ad_tensor *out, ad_tensor *a,
                ad_tensor *b, double s)
{
    if (!out || !a) return out ? out->ctx->err : AD_EINVAL;
    ad_tensor *ins[3] = {out, a, b};
    if (!ad_op_tracked(b ? 3 : 2, ins)) return ad_ew_into(what, kind, out, a, b, s);

    int rc = ad_op_check_inplace(out, what);
    if (rc != AD_OK) return rc;
    /* validate the shapes before computing anything */
    int nd;
    int64_t shape[AD_MAX_DIMS];
    if (b && ad_ew_broadcast(out->ctx, what, a->ndim, a->shape, b->ndim, b->shape, &nd, shape) != AD_OK)
        return AD_ESHAPE;
    ad_scope sc = ad_scope_begin(out->ctx);
    ad_tensor *r = b ? f(a, b) : fs(a, s);
    if (r && !same_shape(r, out)) r = ad_expand(r, ad_shape_of(out));
    r = ad_scope_end_owned(out->ctx, sc, r);
    return ad_op_commit_inplace(out, r, what);
}

int ad_add_into(ad_tensor *o, ad_tensor *a, ad_tensor *b) { return b ? into("add", AD_EW_add, ad_add, NULL, o, a, b, 0) : AD_EINVAL; }
int ad_sub_into(ad_tensor *o, ad_tensor *a, ad_tensor *b) { return b ? into("sub", AD_EW_sub, ad_sub, NULL, o, a, b, 0) : AD_EINVAL; }
int ad_mul_into(ad_tensor *o, ad_tensor *a, ad_tensor *b) { return b ? into("mul", AD_EW_mul, ad_mul, NULL, o, a, b, 0) : AD_EINVAL; }
int ad_div_into(ad_tensor *o, ad_tensor *a, ad_tensor *b) { return b ? into("div", AD_EW_div, ad_div, NULL, o, a, b, 0) : AD_EINVAL; }

int ad_add_(ad_tensor *x, ad_tensor *y) { return y ? into("add_", AD_EW_add, ad_add, NULL, x, x, y, 0) : AD_EINVAL; }
int ad_sub_(ad_tensor *x, ad_tensor *y) { return y ? into("sub_", AD_EW_sub, ad_sub, NULL, x, x, y, 0) : AD_EINVAL; }
int ad_mul_(ad_tensor *x, ad_tensor *y) { return y ? into("mul_", AD_EW_mul, ad_mul, NULL, x, x, y, 0) : AD_EINVAL; }
int ad_div_(ad_tensor *x, ad_tensor *y) { return y ? into("div_", AD_EW_div, ad_div, NULL, x, x, y, 0) : AD_EINVAL; }

int ad_add_s_(ad_tensor *x, double s) { return into("add_", AD_EW_add, NULL, ad_add_s, x, x, NULL, s); }
int ad_sub_s_(ad_tensor *x, double s) { return into("sub_", AD_EW_sub, NULL, ad_sub_s, x, x, NULL, s); }
int ad_mul_s_(ad_tensor *x, double s) { return into("mul_", AD_EW_mul, NULL, ad_mul_s, x, x, NULL, s); }
int ad_div_s_(ad_tensor *x, double s) { return into("div_", AD_EW_div, NULL, ad_div_s, x, x, NULL, s); }

/* x[...] = v: v broadcast to x's shape. */
int ad_copy_(ad_tensor *x, ad_tensor *v)
{
    if (!x || !v) return x ? x->ctx->err : AD_EINVAL;
    ad_index all = AD_FULL;
    return ad_setitem(x, x->ndim ? 1 : 0, &all, v);
}

int ad_fill_(ad_tensor *x, double value)
{
    if (!x) return AD_EINVAL;
    ad_index all = AD_FULL;
    return ad_setitem_scalar(x, x->ndim ? 1 : 0, &all, value);
}

int ad_zero_(ad_tensor *x) { return ad_fill_(x, 0.0); }
