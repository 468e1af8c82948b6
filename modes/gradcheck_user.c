/* modes/gradcheck_user.c — a hand-written gradient, JVP or VJP as a
 * temporary backend, so that the checker compares it exactly as it compares
 * the library's backends (same drivers, same tables):
 *
 *   user_grad  a VJP primitive: Uᵀ·J = u·∇f for a scalar f (one call, each
 *              cotangent row scales it)
 *   user_vjp   a VJP primitive: one call per cotangent row
 *   user_jvp   a JVP primitive: one call per direction
 *
 * The user's function and data are the descriptor's params (gc_user_fn).
 * Each call of the user's function counts as a sweep in the statistics.
 * The descriptor is never registered: the checker passes it to the drivers
 * directly, and it lives in the checker's state. */
#include <string.h>

#include "gradcheck_impl.h"

static const char *fn_name(int kind)
{
    return kind == GC_USER_GRAD ? "user_grad" : kind == GC_USER_JVP ? "user_jvp" : "user_vjp";
}

/* Runs after a user function returned rc, with the error region opened by
 * ad_err_mark before the call: a failure keeps the user's message (or says
 * that there was none); on success the caller's earlier error state comes
 * back. */
static int user_status(ad_ctx *ctx, int kind, int rc, int mark)
{
    bool recorded = ad_err_since(ctx, mark);
    if (rc == AD_OK) return AD_OK;
    if (!recorded)
        return ad_error(ctx, rc < 0 ? rc : AD_EINVAL, "%s returned %d (%s) without recording an error", fn_name(kind),
                        rc, ad_strerror(rc));
    char msg[AD_ERRMSG_MAX];
    memcpy(msg, ctx->errmsg, sizeof msg);
    msg[sizeof msg - 1] = 0;
    return ad_error(ctx, ctx->err, "%s failed: %.900s", fn_name(kind), msg);
}

static bool same_shape(const ad_tensor *a, const ad_tensor *b)
{
    return a->ndim == b->ndim && memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof(int64_t)) == 0;
}

/* out (a result of the user's function, or NULL for zero) into row r of
 * the [k, like.shape] tensor dst, scaled by w. */
static int put_row(ad_ctx *ctx, int kind, const char *what, int i, ad_tensor *out, const ad_tensor *like,
                   ad_tensor *dst, int64_t r, double w)
{
    if (!out) return AD_OK; /* zero */
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (!same_shape(out, like))
        return ad_error(ctx, AD_ESHAPE, "%s: %s %d has shape %s but should have shape %s", fn_name(kind), what, i,
                        ad_fmt_shape(b1, sizeof b1, out->ndim, out->shape),
                        ad_fmt_shape(b2, sizeof b2, like->ndim, like->shape));
    ad_tensor *c = ad_contiguous(out);
    if (!c) return ctx->err;
    double *d = dst->data + r * like->numel;
    for (int64_t q = 0; q < like->numel; q++) d[q] = w * c->data[q];
    return AD_OK;
}

/* user_grad: one call; row r of G is u_r·∇f (u_r the single element of
 * cotangent r, 1 without cotangents). */
static int grad_rows(const gc_user_fn *uf, const ad_problem *p, ad_tensor *const *x, int k, ad_tensor *Uc,
                     ad_tensor **G, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    ad_tensor *gr[AD_MAX_INPUTS] = {0};
    int mark = ad_err_mark(ctx);
    int rc = user_status(ctx, uf->kind, uf->grad(ctx, x, gr, uf->ud), mark);
    if (st) st->sweeps++;
    for (int r = 0; rc == AD_OK && r < k; r++) {
        double w = Uc ? Uc->data[(int64_t)r * (Uc->numel / k)] : 1.0;
        for (int i = 0; rc == AD_OK && i < p->nin; i++)
            if (G[i]) rc = put_row(ctx, uf->kind, "gradient", i, gr[i], x[i], G[i], r, w);
    }
    return rc;
}

/* user_vjp: one call per cotangent row (U's rows, the unit cotangents, or
 * ones for a gradient). */
static int vjp_rows(const gc_user_fn *uf, const ad_problem *p, ad_tensor *const *x, int k, ad_tensor *Uc,
                    bool unit_rows, const ad_tensor *y, ad_tensor **G, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int rc = AD_OK;
    for (int r = 0; rc == AD_OK && r < k; r++) {
        ad_scope sr = ad_scope_begin(ctx);
        ad_tensor *u = Uc ? ad_row(Uc, r) : ad_ones(ctx, ad_shape_of(y)); /* no U: the gradient */
        if (unit_rows && u) {
            ad_zero_(u);
            ad_data(u)[r] = 1.0;
        }
        ad_tensor *gr[AD_MAX_INPUTS] = {0};
        if (!u) rc = ctx->err;
        if (rc == AD_OK) {
            int mark = ad_err_mark(ctx);
            rc = user_status(ctx, uf->kind, uf->vjp(ctx, x, u, gr, uf->ud), mark);
            if (st) st->sweeps++;
        }
        for (int i = 0; rc == AD_OK && i < p->nin; i++)
            if (G[i]) rc = put_row(ctx, uf->kind, "result", i, gr[i], x[i], G[i], r, 1.0);
        ad_scope_end(ctx, sr, NULL);
    }
    return rc;
}

/* The start both primitives share: the problem checked (nothing opened
 * when it is bad: pr->ctx stays NULL), then the primitive begun without
 * recording, on fresh inputs x. */
static int user_begin(const gc_user_fn *uf, const ad_problem *p, ad_prim *pr, ad_tensor **x)
{
    pr->ctx = NULL;
    int rc = ad_problem_check(p, fn_name(uf->kind));
    if (rc != AD_OK) return rc;
    return ad_prim_begin(pr, p, false, 0, x);
}

/* y = f(x) and Uᵀ·J from user_grad (f scalar) or user_vjp. */
static int user_vjp_prim(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o,
                         ad_eval *e, ad_stats *st)
{
    (void)o;
    const gc_user_fn *uf = b->params;
    ad_ctx *ctx = p->ctx;
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS], *G[AD_MAX_INPUTS] = {0}, *y = NULL;
    int rc = user_begin(uf, p, &pr, x);
    if (!pr.ctx) return rc; /* nothing opened */
    if (rc == AD_OK && (!e->no_value || !U) && !(y = ad_call_f(p, x, st))) rc = ctx->err;
    /* U == NULL, k == 0: every unit cotangent (backend.h) */
    bool unit_rows = !U && k == 0;
    if (rc == AD_OK && unit_rows) k = (int)y->numel;
    else if (rc == AD_OK && !U && y->numel != 1)
        rc = ad_error(ctx, AD_ESHAPE, "%s: a gradient needs a function with one output value", fn_name(uf->kind));
    ad_tensor *Uc = U ? ad_contiguous(U) : NULL;
    if (rc == AD_OK && U && !Uc) rc = ctx->err;
    for (int i = 0; rc == AD_OK && i < p->nin; i++)
        if (ad_wrt(p, i) && !(G[i] = ad_tangent_zeros(ctx, k, ad_shape_of(x[i])))) rc = ctx->err;
    if (rc == AD_OK)
        rc = uf->kind == GC_USER_GRAD ? grad_rows(uf, p, x, k, Uc, G, st) : vjp_rows(uf, p, x, k, Uc, unit_rows, y, G, st);
    ad_prim_restore(&pr);
    return ad_vjp_finish(ctx, pr.scope, rc, p->nin, y, G, e);
}

/* y = f(x) and J·V from user_jvp, one call per direction. */
static int user_jvp_prim(const ad_backend *b, const ad_problem *p, int k, ad_tensor *const *V, const ad_options *o,
                         ad_eval *e, ad_stats *st)
{
    (void)o;
    const gc_user_fn *uf = b->params;
    ad_ctx *ctx = p->ctx;
    ad_prim pr;
    ad_tensor *x[AD_MAX_INPUTS], *y = NULL, *JV = NULL;
    int rc = user_begin(uf, p, &pr, x);
    if (!pr.ctx) return rc; /* nothing opened */
    if (rc == AD_OK) {
        y = e->y_in ? ad_tensor_ref(e->y_in) : ad_call_f(p, x, st); /* its shape sizes J·V */
        if (!y) rc = ctx->err;
    }
    if (rc == AD_OK && !(JV = ad_tangent_zeros(ctx, k, ad_shape_of(y)))) rc = ctx->err;
    for (int r = 0; rc == AD_OK && r < k; r++) {
        ad_scope sr = ad_scope_begin(ctx);
        ad_tensor *v[AD_MAX_INPUTS], *jv = NULL;
        for (int i = 0; rc == AD_OK && i < p->nin; i++) {
            /* the user sees a zero tangent for inputs held constant */
            v[i] = (ad_wrt(p, i) && V[i]) ? ad_row(V[i], r) : ad_zeros(ctx, ad_shape_of(x[i]));
            if (!v[i]) rc = ctx->err;
        }
        if (rc == AD_OK) {
            int mark = ad_err_mark(ctx);
            rc = user_status(ctx, uf->kind, uf->jvp(ctx, x, v, &jv, uf->ud), mark);
            if (st) st->sweeps++;
        }
        if (rc == AD_OK) rc = put_row(ctx, uf->kind, "result", 0, jv, y, JV, r, 1.0);
        ad_scope_end(ctx, sr, NULL);
    }
    ad_prim_restore(&pr);
    ad_eval_steps(e, k, 0); /* meant to be exact: no step */
    return ad_jvp_finish(ctx, pr.scope, rc, y, JV, NULL, e);
}

void gc_user_backend_init(gc_user_backend *u, int kind, const char *name, const ad_gradcheck_options *o, void *ud)
{
    memset(u, 0, sizeof *u);
    u->kind = kind;
    u->fn = (gc_user_fn){.kind = kind, .grad = o->user_grad, .jvp = o->user_jvp, .vjp = o->user_vjp, .ud = ud};
    u->b.name = name;
    u->b.caps = AD_CAP_EXACT; /* a hand-written derivative is meant to be exact */
    u->b.params = &u->fn;
    if (kind == GC_USER_JVP) {
        u->b.description = "the hand-written JVP being checked";
        u->b.jvp = user_jvp_prim;
    } else {
        u->b.description = kind == GC_USER_GRAD ? "the hand-written gradient being checked"
                                                : "the hand-written VJP being checked";
        u->b.vjp = user_vjp_prim;
    }
}
