/* modes/registry.c — the one table of backends (ad_backend_*), and what
 * the backends share: problem checks, calling f, fresh inputs, snapshots.
 *
 * The built-ins come first in a fixed order; backends registered at run
 * time follow.  The command line's --mode, the benchmark harness and the
 * tests all iterate over this table. */
#include <string.h>
#include <time.h>

#include "modes.h"
#include "tape.h"

static const ad_backend *const builtins[] = {
    &ad_backend_forward, &ad_backend_forward_vector, &ad_backend_reverse,   &ad_backend_central,
    &ad_backend_forward_diff, &ad_backend_five_point, &ad_backend_gsl_deriv,
};
#define NBUILTIN ((int)(sizeof builtins / sizeof builtins[0]))
#define MAX_USER 32

static const ad_backend *user_backends[MAX_USER];
static int nuser;

int ad_backend_count(void) { return NBUILTIN + nuser; }

const ad_backend *ad_backend_at(int i)
{
    if (i < 0) return NULL;
    if (i < NBUILTIN) return builtins[i];
    i -= NBUILTIN;
    return i < nuser ? user_backends[i] : NULL;
}

const ad_backend *ad_backend_find(const char *name)
{
    if (!name) return NULL;
    for (int i = 0; i < ad_backend_count(); i++)
        if (strcmp(ad_backend_at(i)->name, name) == 0) return ad_backend_at(i);
    return NULL;
}

int ad_backend_register(const ad_backend *b)
{
    if (!b || !b->name || !b->name[0] || (!b->jvp && !b->vjp)) return AD_EINVAL;
    if (ad_backend_find(b->name)) return AD_ESTATE;
    if (nuser == MAX_USER) return AD_ELIMIT;
    user_backends[nuser++] = b;
    return AD_OK;
}

int ad_backend_unregister(const char *name)
{
    for (int i = 0; i < nuser; i++) {
        if (strcmp(user_backends[i]->name, name) != 0) continue;
        memmove(user_backends + i, user_backends + i + 1, (size_t)(nuser - i - 1) * sizeof *user_backends);
        nuser--;
        return AD_OK;
    }
    return AD_ENOTFOUND;
}

/* ---- shared by backends and drivers ------------------------------------------ */

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
    int err_before = ctx->err;
    ctx->err = AD_OK;
    ad_tensor *y = p->f(ctx, in, p->user);
    y = ad_scope_end(ctx, s, y);
    if (!y) {
        /* f's own message names what went wrong; keep it */
        if (ctx->err == AD_OK) ad_error(ctx, AD_EINVAL, "the function returned NULL without recording an error");
        return NULL;
    }
    if (ctx->err == AD_OK) ctx->err = err_before;
    return y;
}

int ad_fresh_inputs(const ad_problem *p, ad_tensor **x)
{
    for (int i = 0; i < p->nin; i++) {
        x[i] = ad_alias(p->in[i], false);
        if (!x[i]) return p->ctx->err;
        x[i]->flags &= ~(uint32_t)AD_T_VIEW;
    }
    return AD_OK;
}

int ad_prim_begin(ad_prim *pr, const ad_problem *p, bool grad, int fwd_k, ad_tensor **x)
{
    ad_ctx *ctx = p->ctx;
    pr->ctx = ctx;
    pr->prev_k = ctx->fwd_k;
    pr->prev_grad = ad_set_grad_enabled(ctx, grad);
    if (fwd_k == 0) ctx->fwd_k = 0;
    pr->scope = ad_scope_begin(ctx);
    int rc = ad_fresh_inputs(p, x);
    if (rc == AD_OK && fwd_k > 0) rc = ad_fwd_begin(ctx, fwd_k);
    return rc;
}

void ad_prim_restore(const ad_prim *pr)
{
    pr->ctx->fwd_k = pr->prev_k;
    ad_set_grad_enabled(pr->ctx, pr->prev_grad);
}

int ad_width_one(const ad_backend *b, const ad_options *o)
{
    (void)b;
    (void)o;
    return 1;
}

int ad_jvp_finish(ad_ctx *ctx, ad_scope s, int rc, ad_tensor *y, ad_tensor *jv, ad_tensor *err, ad_eval *e)
{
    ad_tensor *keep[3] = {NULL, NULL, NULL};
    if (rc == AD_OK) {
        keep[0] = e->no_value ? NULL : y;
        keep[1] = jv;
        keep[2] = err;
    }
    int rc2 = ad_scope_end_n(ctx, s, 3, keep);
    e->y = keep[0];
    e->jv = keep[1];
    e->jv_err = keep[2];
    return rc == AD_OK ? rc2 : rc;
}

ad_tensor *ad_row(ad_tensor *t, int64_t r)
{
    ad_tensor *v = ad_handle_new(t->ctx, t->st, t->ndim - 1, t->shape + 1, t->stride + 1, t->offset + r * t->stride[0]);
    if (v) v->flags |= AD_T_VIEW;
    return v;
}

double ad_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ad_snapshot_begin(ad_ctx *ctx, ad_snapshot *s)
{
    s->mem = ctx->mem;
    s->recorded = ctx->tape->recorded;
    ad_ctx_reset_peak(ctx);
    s->t0 = ad_now();
}

void ad_snapshot_end(ad_ctx *ctx, const ad_snapshot *s, ad_stats *st)
{
    ad_mem_stats *m = &ctx->mem;
    if (st) {
        st->seconds = ad_now() - s->t0;
        st->ops_recorded = ctx->tape->recorded - s->recorded;
        for (int c = 0; c < AD_MEM_NCAT; c++) st->peak[c] = m->peak[c] - s->mem.live[c];
        st->peak_total = m->peak_total - s->mem.live_total;
    }
    /* keep the caller's view of the context: peaks never go down */
    for (int c = 0; c < AD_MEM_NCAT; c++)
        if (s->mem.peak[c] > m->peak[c]) m->peak[c] = s->mem.peak[c];
    if (s->mem.peak_total > m->peak_total) m->peak_total = s->mem.peak_total;
    m->nalloc += s->mem.nalloc;
    m->nfree += s->mem.nfree;
    m->bytes_allocated += s->mem.bytes_allocated;
}
