/* modes/problem.c — what every backend and driver does with an ad_problem:
 * check it, count what it differentiates, call f, and make the detached
 * inputs a backend evaluates f on (ad_problem_*, ad_call_f, ad_fresh_inputs). */
#include "modes.h"

int ad_problem_check(const ad_problem *p, const char *what)
{
    if (!p || !p->ctx) return AD_EINVAL;
    ad_ctx *ctx = p->ctx;
    if (!p->f) return ad_error(ctx, AD_EINVAL, "%s: no function given", what);
    if (p->nin < 1 || p->nin > AD_MAX_INPUTS)
        return ad_error(ctx, AD_EINVAL, "%s: %d inputs (1..%d supported)", what, p->nin, AD_MAX_INPUTS);
    if (!p->in) return ad_error(ctx, AD_EINVAL, "%s: no inputs given", what);
    for (int i = 0; i < p->nin; i++) {
        if (!p->in[i]) return ad_error(ctx, AD_EINVAL, "%s: input %d is NULL", what, i);
        if (p->in[i]->ctx != ctx)
            return ad_error(ctx, AD_EINVAL, "%s: input %d belongs to another context", what, i);
    }
    return AD_OK;
}

/* A backend that propagates through the ops' rules (forward, reverse)
 * sees nothing of a black box: f's result is a constant to it, and its
 * "derivative" would be an all-zero answer with a success status.  A
 * hand-written derivative under gradcheck (no AD_CAP_RULES) and the
 * difference rules evaluate f only, so they apply. */
int ad_problem_fits_backend(const ad_problem *p, const ad_backend *b)
{
    unsigned sees_ops = AD_CAP_RULES | AD_CAP_FORWARD | AD_CAP_REVERSE;
    if (!(p->flags & AD_PROBLEM_OPAQUE) || !(b->caps & sees_ops) || (b->caps & AD_CAP_DIFFERENCE)) return AD_OK;
    return ad_error(p->ctx, AD_EINVAL,
                    "%s: f is a black box (plain C over arrays, --abi c): AD backends cannot see inside it; use a "
                    "difference backend such as central or five-point",
                    b->name);
}

int64_t ad_problem_size(const ad_problem *p)
{
    if (!p || !p->in) return 0;
    int64_t n = 0;
    for (int i = 0; i < p->nin; i++)
        if (ad_wrt(p, i) && p->in[i]) n += p->in[i]->numel;
    return n;
}

ad_tensor *ad_call_f(const ad_problem *p, ad_tensor *const *in, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    if (st) st->passes++;
    ad_scope s = ad_scope_begin(ctx);
    int mark = ad_err_mark(ctx);
    ad_tensor *y = p->f(ctx, in, p->user);
    if (y && y->ctx != ctx) {
        /* a result built in another context: differentiating it would give
         * zero (nothing of it is connected to the inputs) or mix two
         * contexts' memory; it is the caller's new reference, so drop it */
        ad_tensor_free(y);
        y = NULL;
        ad_error(ctx, AD_EINVAL, "the function returned a tensor of another context (build the result with the "
                                 "ad_ctx it is given)");
    }
    y = ad_scope_end(ctx, s, y);
    bool failed = ad_err_since(ctx, mark);
    if (y && failed) { /* an error inside f (a failed allocation, a rule) with a tensor anyway: not a result */
        ad_tensor_free(y);
        y = NULL;
    }
    /* f's own message names what went wrong; keep it */
    if (!y && !failed) ad_error(ctx, AD_EINVAL, "the function returned NULL without recording an error");
    return y;
}

unsigned ad_problem_nesting(const ad_problem *p)
{
    unsigned nest = 0;
    bool grad_on = p->ctx->grad_enabled;
    for (int i = 0; i < p->nin; i++) {
        const ad_tensor *t = p->in[i];
        if (t->tan_mask && ad_tan_active(t)) nest |= AD_NEST_FWD;
        if (grad_on && (t->flags & AD_T_REQUIRES_GRAD)) nest |= AD_NEST_REV;
    }
    return nest;
}

/* A rule-based backend differentiates f's ops wherever they run, inside
 * another derivative too; a backend that evaluates f only (differences,
 * hand-written derivatives) would cut the enclosing derivative off, and
 * the checkpointing one snapshots states (which would drop it). */
int ad_problem_nest_fits(const ad_problem *p, const ad_backend *b, const char *what)
{
    unsigned nest = ad_problem_nesting(p);
    if (!nest || ((b->caps & AD_CAP_RULES) && !(b->caps & AD_CAP_CHECKPOINT))) return AD_OK;
    return ad_error(p->ctx, AD_ENOTSUP,
                    "%s: backend \"%s\" cannot differentiate inside another derivative (the inputs %s); "
                    "use forward, forward-vector or reverse for the inner derivative",
                    what, b->name,
                    (nest & AD_NEST_FWD) ? "carry tangents of an enclosing forward pass"
                                         : "require grad for an enclosing reverse pass");
}

int ad_fresh_inputs(const ad_problem *p, ad_tensor **x)
{
    ad_ctx *ctx = p->ctx;
    for (int i = 0; i < p->nin; i++) {
        ad_tensor *in = p->in[i];
        bool rev = ctx->grad_enabled && (in->flags & AD_T_REQUIRES_GRAD);
        if (rev || (in->tan_mask && ad_tan_active(in))) {
            /* nested: the view keeps the enclosing derivatives */
            x[i] = ad_view(in, ad_shape_of(in));
            if (!x[i]) return ctx->err;
            if (!x[i]->grad_fn) x[i]->flags &= ~(uint32_t)AD_T_VIEW;
            continue;
        }
        x[i] = ad_alias(in, false);
        if (!x[i]) return ctx->err;
        x[i]->flags &= ~(uint32_t)AD_T_VIEW;
    }
    return AD_OK;
}
