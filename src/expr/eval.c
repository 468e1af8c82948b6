/* src/expr/eval.c — evaluation: one loop over the post-order AST.
 *
 * Each node pops its children's values from a stack and pushes its own
 * (ex_ast_effect says how many).  Values are numbers, tensors, None or
 * subscript entries; numbers stay numbers while they meet only numbers
 * (2*pi is folded), and a number meeting a tensor selects the library's
 * tensor-scalar form (x^2 is ad_pow_s(x, 2), 1 - x is ad_rsub_s(1, x)), so
 * no 0-d tensor is made for a literal.  Every op is a public library call:
 * grad mode, tangents and the tape behave as for hand-written C.
 *
 * The whole evaluation runs in a scope: on success only the result
 * survives, on failure nothing does.  Operands are released as soon as the
 * op that consumed them returns, so a long expression holds no more than
 * its live intermediate values (the tape keeps what backward needs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "expr_internal.h"

/* ---- errors --------------------------------------------------------------------- */

int ex_fail(ex_eval *ev, int status, int pos, int len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ex_set_errorv(ev->err, status, pos, len, fmt, ap);
    va_end(ap);
    ad_error(ev->ctx, status, "%s", ev->err->msg);
    return status;
}

int ex_call_fail(ex_call *c, int status, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ex_fail(c->ev, status, c->node->pos, c->node->len, "%s: %s", c->what, msg);
}

int ex_arg_fail(ex_call *c, const ex_val *v, int status, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ex_fail(c->ev, status, v->pos, v->len, "%s: %s", c->what, msg);
}

/* A library call returned NULL: its message, at the span of the operator
 * or call (unless a more precise error is already recorded). */
static int lib_fail(ex_eval *ev, int pos, int len)
{
    if (ev->err->status == AD_OK) {
        int st = ad_errno(ev->ctx);
        const char *msg = ad_errmsg(ev->ctx);
        ex_set_error(ev->err, st != AD_OK ? st : AD_EINVAL, pos, len, "%s", msg && msg[0] ? msg : "evaluation failed");
    }
    return ev->err->status;
}

static void release(ex_val *v)
{
    if (v->kind == V_TENSOR && v->owned) ad_tensor_free(v->t);
    v->t = NULL;
    v->owned = false;
}

static ex_val num_val(double x, int pos, int len)
{
    ex_val v;
    memset(&v, 0, sizeof v);
    v.kind = V_NUM;
    v.num = x;
    v.pos = pos;
    v.len = len;
    return v;
}

static ex_val tensor_val(ad_tensor *t, bool owned, int pos, int len)
{
    ex_val v = num_val(0, pos, len);
    v.kind = V_TENSOR;
    v.t = t;
    v.owned = owned;
    return v;
}

/* ---- operators ------------------------------------------------------------------ */

enum { OP_MAXIMUM = -1, OP_MINIMUM = -2 };

static double fold(int op, double a, double b)
{
    switch (op) {
    case T_PLUS: return a + b;
    case T_MINUS: return a - b;
    case T_STAR: return a * b;
    case T_SLASH: return a / b;
    case T_POW: return pow(a, b);
    case T_LT: return a < b;
    case T_LE: return a <= b;
    case T_GT: return a > b;
    case T_GE: return a >= b;
    case T_EQ: return a == b;
    case T_NE: return a != b;
    case OP_MAXIMUM: return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
    case OP_MINIMUM: return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
    default: return NAN;
    }
}

/* t OP s */
static ad_tensor *tensor_scalar(int op, ad_tensor *t, double s)
{
    switch (op) {
    case T_PLUS: return ad_add_s(t, s);
    case T_MINUS: return ad_sub_s(t, s);
    case T_STAR: return ad_mul_s(t, s);
    case T_SLASH: return ad_div_s(t, s);
    case T_POW: return ad_pow_s(t, s);
    case T_LT: return ad_lt_s(t, s);
    case T_LE: return ad_le_s(t, s);
    case T_GT: return ad_gt_s(t, s);
    case T_GE: return ad_ge_s(t, s);
    case T_EQ: return ad_eq_s(t, s);
    case T_NE: return ad_ne_s(t, s);
    case OP_MAXIMUM: return ad_maximum_s(t, s);
    case OP_MINIMUM: return ad_minimum_s(t, s);
    default: return NULL;
    }
}

/* s OP t */
static ad_tensor *scalar_tensor(int op, double s, ad_tensor *t)
{
    switch (op) {
    case T_PLUS: return ad_add_s(t, s);
    case T_MINUS: return ad_rsub_s(s, t);
    case T_STAR: return ad_mul_s(t, s);
    case T_SLASH: return ad_rdiv_s(s, t);
    case T_POW: return ad_rpow_s(s, t);
    case T_LT: return ad_gt_s(t, s);
    case T_LE: return ad_ge_s(t, s);
    case T_GT: return ad_lt_s(t, s);
    case T_GE: return ad_le_s(t, s);
    case T_EQ: return ad_eq_s(t, s);
    case T_NE: return ad_ne_s(t, s);
    case OP_MAXIMUM: return ad_maximum_s(t, s);
    case OP_MINIMUM: return ad_minimum_s(t, s);
    default: return NULL;
    }
}

static ad_tensor *tensor_tensor(int op, ad_tensor *a, ad_tensor *b)
{
    switch (op) {
    case T_PLUS: return ad_add(a, b);
    case T_MINUS: return ad_sub(a, b);
    case T_STAR: return ad_mul(a, b);
    case T_SLASH: return ad_div(a, b);
    case T_AT: return ad_matmul(a, b);
    case T_POW: return ad_pow(a, b);
    case T_LT: return ad_lt(a, b);
    case T_LE: return ad_le(a, b);
    case T_GT: return ad_gt(a, b);
    case T_GE: return ad_ge(a, b);
    case T_EQ: return ad_eq(a, b);
    case T_NE: return ad_ne(a, b);
    case OP_MAXIMUM: return ad_maximum(a, b);
    case OP_MINIMUM: return ad_minimum(a, b);
    default: return NULL;
    }
}

int ex_binop(ex_eval *ev, int op, ex_val *a, ex_val *b, ex_val *out, int pos, int len)
{
    if (a->kind == V_NUM && b->kind == V_NUM && op != T_AT) {
        *out = num_val(fold(op, a->num, b->num), pos, len);
        return AD_OK;
    }
    ex_call c = {.ev = ev, .what = "operator"};
    ad_tensor *r;
    if (a->kind == V_TENSOR && b->kind == V_NUM && op != T_AT) {
        r = tensor_scalar(op, a->t, b->num);
    } else if (a->kind == V_NUM && b->kind == V_TENSOR && op != T_AT) {
        r = scalar_tensor(op, a->num, b->t);
    } else {
        ad_tensor *ta = ex_tensor(&c, a), *tb = ta ? ex_tensor(&c, b) : NULL;
        r = tb ? tensor_tensor(op, ta, tb) : NULL;
    }
    if (!r) return lib_fail(ev, pos, len);
    *out = tensor_val(r, true, pos, len);
    return AD_OK;
}

/* ---- the loop ---------------------------------------------------------------------- */

static int eval_slice(ex_eval *ev, const ex_node *nd, ex_val *parts, ex_val *out)
{
    ex_call c = {.ev = ev, .what = "slice"};
    ad_index ix = AD_FULL;
    int64_t *bound[3] = {&ix.start, &ix.stop, &ix.step};
    static const char *const names[3] = {"start", "stop", "step"};
    int j = 0;
    for (int b = 0; b < 3; b++) {
        if (!(nd->mask & (1 << b))) continue;
        ex_val *v = &parts[j++];
        if (v->kind == V_NONE) continue;
        if (ex_integer(&c, v, names[b], bound[b]) < 0) return -1;
    }
    *out = num_val(0, nd->pos, nd->len);
    out->kind = V_INDEX;
    out->ix = ix;
    return 0;
}

static ad_tensor *eval_subscript(ex_eval *ev, const ex_node *nd, ex_val *v)
{
    ex_call c = {.ev = ev, .what = "subscript", .node = nd};
    ad_index ix[AD_MAX_DIMS * 3];
    int n = nd->nkid - 1;
    if (n > (int)(sizeof ix / sizeof ix[0])) n = (int)(sizeof ix / sizeof ix[0]);
    for (int i = 0; i < n; i++) {
        ex_val *it = &v[1 + i];
        if (it->kind == V_INDEX) {
            ix[i] = it->ix;
        } else if (it->kind == V_NONE) {
            ix[i] = AD_NEWAXIS;
        } else {
            int64_t k;
            if (it->kind == V_TENSOR && ad_numel(it->t) != 1) {
                char sh[AD_SHAPEBUF];
                ad_shape s = ad_shape_of(it->t);
                ad_shape_str(&s, sh, sizeof sh);
                ex_arg_fail(&c, it, AD_EINDEX,
                            "an index must be an integer, got a tensor of shape %s (indexing with tensors is not "
                            "supported; see index_select and gather)",
                            sh);
                return NULL;
            }
            if (ex_integer(&c, it, "index", &k) < 0) return NULL;
            ix[i] = AD_I(k);
        }
    }
    ad_tensor *base = ex_tensor(&c, &v[0]);
    ad_tensor *r = base ? ad_slice(base, n, ix) : NULL;
    if (!r) lib_fail(ev, nd->opos, nd->olen);
    return r;
}

static ad_tensor *eval_list(ex_eval *ev, const ex_node *nd, ex_val *v)
{
    const ad_expr *e = ev->e;
    if (nd->mask & EX_L_NUMERIC) {
        ad_shape s = {.ndim = 0};
        const ex_node *k = nd;
        while (k->kind == N_LIST) {
            s.dim[s.ndim++] = k->nkid;
            if (k->nkid == 0) break;
            k = &e->nodes[e->kids[k->kid0]];
        }
        ad_tensor *t = ad_empty(ev->ctx, s);
        if (!t) {
            lib_fail(ev, nd->pos, nd->len);
            return NULL;
        }
        double *d = ad_data(t);
        for (int i = 0; i < nd->ival; i++) d[i] = v[i].num;
        return t;
    }
    ex_call c = {.ev = ev, .what = "list", .node = nd};
    ad_tensor *small[16];
    ad_tensor **ts = nd->nkid <= 16 ? small : ex_alloc(ev, (size_t)nd->nkid * sizeof *ts);
    if (!ts) {
        ex_fail(ev, AD_ENOMEM, nd->pos, nd->len, "out of memory");
        return NULL;
    }
    ad_tensor *r = NULL;
    int i = 0;
    for (; i < nd->nkid; i++)
        if (!(ts[i] = ex_tensor(&c, &v[i]))) break;
    if (i == nd->nkid) r = ad_stack(ts, nd->nkid, 0);
    if (ts != small) ex_free(ev, ts, (size_t)nd->nkid * sizeof *ts);
    if (!r) lib_fail(ev, nd->pos, nd->len);
    return r;
}

static ad_tensor *eval_call(ex_eval *ev, const ex_node *nd, ex_val *args)
{
    const ad_expr *e = ev->e;
    const ex_fn *fn = &ex_functions[nd->ival];
    int npos = nd->aux, nkw = nd->mask;
    ex_call c;
    memset(&c, 0, sizeof c);
    c.ev = ev;
    c.what = fn->name;
    c.fn = fn;
    c.node = nd;
    for (int j = 0; j < npos && j < fn->nfixed; j++) c.a[j] = &args[j];
    if (npos > fn->nfixed) {
        c.rest = &args[fn->nfixed];
        c.nrest = npos - fn->nfixed;
    }
    for (int j = 0; j < nkw; j++) {
        const ex_node *kw = &e->nodes[e->kids[nd->kid0 + nd->nkid - nkw + j]];
        c.a[kw->ival] = &args[npos + j];
    }
    ad_tensor *r = fn->impl(&c);
    if (!r) lib_fail(ev, nd->pos, nd->len);
    return r;
}

static ad_tensor *run(ex_eval *ev, ad_tensor *const *values, ex_val *st)
{
    const ad_expr *e = ev->e;
    int top = 0;
    for (int i = 0; i < e->nnodes; i++) {
        const ex_node *nd = &e->nodes[i];
        int pop, push;
        ex_ast_effect(nd, &pop, &push);
        ex_val *v = &st[top - pop], out = num_val(0, nd->pos, nd->len);
        ad_tensor *r = NULL;
        switch ((ex_nodekind)nd->kind) {
        case N_NUM: out.num = nd->num; break;
        case N_VAR: out = tensor_val(values[nd->ival], false, nd->pos, nd->len); break;
        case N_NONE: out.kind = V_NONE; break;
        case N_ELLIPSIS:
            out.kind = V_INDEX;
            out.ix = AD_ELLIPSIS;
            break;
        case N_SLICE:
            if (eval_slice(ev, nd, v, &out) < 0) return NULL;
            break;
        case N_UNARY:
            if (nd->op == T_PLUS) {
                out = *v;
                out.pos = nd->pos;
                out.len = nd->len;
                v->owned = false; /* moved */
            } else if (v->kind == V_NUM) {
                out.num = -v->num;
            } else if (!(r = ad_neg(v->t))) {
                lib_fail(ev, nd->opos, nd->olen);
                return NULL;
            }
            break;
        case N_BINARY:
            if (ex_binop(ev, nd->op, &v[0], &v[1], &out, nd->opos, nd->olen) < 0) return NULL;
            out.pos = nd->pos;
            out.len = nd->len;
            break;
        case N_KWARG: break;
        case N_SUBSCRIPT:
            if (!(r = eval_subscript(ev, nd, v))) return NULL;
            break;
        case N_LIST:
            if (push && !(r = eval_list(ev, nd, v))) return NULL;
            break;
        case N_CALL:
            if (!(r = eval_call(ev, nd, v))) return NULL;
            break;
        }
        if (r) out = tensor_val(r, true, nd->pos, nd->len);
        for (int j = 0; j < pop; j++) release(&v[j]);
        top -= pop;
        if (push) st[top++] = out;
    }
    if (top != 1) {
        ex_fail(ev, AD_ESTATE, -1, 0, "internal error: evaluation stack holds %d values", top);
        return NULL;
    }
    if (st[0].kind == V_NUM) return ad_scalar(ev->ctx, st[0].num);
    return st[0].t;
}

ad_tensor *ad_expr_eval(ad_ctx *ctx, const ad_expr *e, ad_tensor *const *values, ad_expr_error *err)
{
    ad_expr_error local;
    if (!err) err = &local;
    ex_clear_error(err);
    if (!ctx) {
        ex_set_error(err, AD_EINVAL, -1, 0, "expr_eval: no context");
        return NULL;
    }
    ex_eval ev = {ctx, e, err};
    if (!e) {
        ex_fail(&ev, AD_EINVAL, -1, 0, "expr_eval: no expression");
        return NULL;
    }
    for (int i = 0; i < e->nvars; i++) {
        if (!values || !values[i]) {
            ex_fail(&ev, AD_EINVAL, e->var_pos[i], e->var_len[i], "no value given for variable '%s'", e->vars[i]);
            return NULL;
        }
        if (ad_tensor_ctx(values[i]) != ctx) {
            ex_fail(&ev, AD_EINVAL, e->var_pos[i], e->var_len[i], "variable '%s' belongs to another context",
                    e->vars[i]);
            return NULL;
        }
    }
    ex_val small[32];
    ex_val *st = e->max_stack <= 32 ? small : ex_alloc(&ev, (size_t)e->max_stack * sizeof *st);
    if (!st) {
        ex_fail(&ev, AD_ENOMEM, -1, 0, "expr_eval: out of memory");
        return NULL;
    }
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *r = run(&ev, values, st);
    r = ad_scope_end(ctx, s, r);
    if (st != small) ex_free(&ev, st, (size_t)e->max_stack * sizeof *st);
    if (!r && err->status == AD_OK) lib_fail(&ev, -1, 0);
    return r;
}

ad_tensor *ad_expr_fn(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    ad_expr *e = user;
    ad_expr_error err;
    ad_tensor *r = ad_expr_eval(ctx, e, in, &err);
    if (!r && e) e->last = err;
    return r;
}
