/* src/autograd.c — the reverse-mode API that does not sweep the tape:
 * requires_grad, grad mode, detach, .grad access and graph inspection.
 * The sweep itself (ad_backward) is in src/sweep.c. */
#include <string.h>

#include "ops/op.h"
#include "tape.h"

int ad_requires_grad_(ad_tensor *t, bool on)
{
    if (!t) return AD_EINVAL;
    if (t->grad_fn)
        return ad_error(t->ctx, AD_EGRAD,
                        "requires_grad_: only leaf tensors can change requires_grad (this one was produced "
                        "by %s; use ad_detach to get a leaf)",
                        t->grad_fn->op->grad_fn_name);
    if (on) t->flags |= AD_T_REQUIRES_GRAD;
    else t->flags &= ~(uint32_t)AD_T_REQUIRES_GRAD;
    return AD_OK;
}

bool ad_requires_grad(const ad_tensor *t) { return t && (t->flags & AD_T_REQUIRES_GRAD); }

bool ad_is_leaf(const ad_tensor *t) { return t && !t->grad_fn; }

ad_tensor *ad_grad(const ad_tensor *t)
{
    if (!t || !t->grad) return NULL;
    t->grad->flags |= AD_T_LENT; /* borrowed: ad_tensor_free refuses it while t holds it alone */
    return t->grad;
}

int ad_zero_grad(ad_tensor *t)
{
    if (!t) return AD_EINVAL;
    ad_tensor *g = t->grad;
    if (!g) return AD_OK;
    if (g->tan_mask) ad_tan_drop_all(g);
    if (g->grad_fn || (g->st->refs > 1) || !(g->flags & AD_T_CONTIG)) {
        /* graph-carrying (create_graph) or shared gradient: replace it */
        ad_tensor *z = ad_zeros(t->ctx, ad_shape_of(g));
        if (!z) return t->ctx->err;
        ad_unscope(z);
        ad_decref(g);
        t->grad = z;
        return AD_OK;
    }
    memset(g->data, 0, (size_t)g->numel * sizeof(double));
    ad_bump_version(g);
    return AD_OK;
}

void ad_clear_grad(ad_tensor *t)
{
    if (!t || !t->grad) return;
    ad_decref(t->grad);
    t->grad = NULL;
}

int ad_retain_grad(ad_tensor *t)
{
    if (!t) return AD_EINVAL;
    if (!(t->flags & AD_T_REQUIRES_GRAD))
        return ad_error(t->ctx, AD_EGRAD, "retain_grad: the tensor does not require grad");
    if (t->grad_fn) t->flags |= AD_T_RETAIN_GRAD;
    return AD_OK;
}

ad_tensor *ad_detach(ad_tensor *t)
{
    AD_ARG(t);
    return ad_alias(t, false);
}

ad_tensor *ad_stop_gradient(ad_tensor *t) { return ad_detach(t); }

bool ad_set_grad_enabled(ad_ctx *ctx, bool enabled)
{
    if (!ctx) return false;
    bool prev = ctx->grad_enabled;
    ctx->grad_enabled = enabled;
    return prev;
}

bool ad_is_grad_enabled(const ad_ctx *ctx) { return ctx && ctx->grad_enabled; }

/* ---- inspection ------------------------------------------------------------- */

const char *ad_grad_fn_name(const ad_tensor *t)
{
    return (t && t->grad_fn) ? t->grad_fn->op->grad_fn_name : NULL;
}

int ad_grad_fn_ninputs(const ad_tensor *t) { return (t && t->grad_fn) ? t->grad_fn->nin : 0; }

const char *ad_grad_fn_input_name(const ad_tensor *t, int i)
{
    if (!t || !t->grad_fn || i < 0 || i >= t->grad_fn->nin) return NULL;
    const ad_edge *e = &t->grad_fn->edges[i];
    if (e->node) return e->node->op->grad_fn_name;
    if (e->leaf) return "AccumulateGrad";
    return NULL;
}

void ad_tape_stats_get(const ad_ctx *ctx, ad_tape_stats *out)
{
    if (!ctx || !out) return;
    out->recorded = ctx->tape->recorded;
    out->live = ctx->tape->live;
    out->bytes = ctx->tape->bytes + ctx->tape->saved_bytes;
}

void ad_tape_reset_counter(ad_ctx *ctx)
{
    if (ctx) ctx->tape->recorded = 0;
}

/* The bytes of the storages n saves that no older record saves: visiting
 * oldest first with a mark per storage counts each storage once, so the
 * entries add up to the tape's saved bytes (mark_saved clears the marks). */
static int64_t count_storage(ad_tensor *t, bool clear)
{
    if (!t) return 0;
    if (clear) {
        t->st->visit = 0;
        return 0;
    }
    if (t->st->visit || t->st->external) return 0;
    t->st->visit = 1;
    return t->st->nbytes;
}

static int64_t saved_bytes(const ad_node *n, bool clear)
{
    int64_t b = 0;
    for (int i = 0; i < n->nin; i++) b += count_storage(n->edges[i].saved, clear);
    return b + count_storage(n->saved_out, clear);
}

int ad_tape_visit(const ad_ctx *cctx, ad_tape_visit_fn fn, void *ud)
{
    if (!cctx || !fn) return AD_EINVAL;
    ad_ctx *ctx = (ad_ctx *)cctx;
    int64_t n = 0;
    for (ad_node *p = ctx->tape->top; p; p = p->prev)
        if (!(p->flags & AD_N_DEAD)) n++;
    if (n == 0) return AD_OK;
    ad_node **list = ad_mem_alloc(ctx, (size_t)n * sizeof *list, AD_MEM_META);
    if (!list) return AD_ENOMEM;
    int64_t k = n;
    for (ad_node *p = ctx->tape->top; p; p = p->prev)
        if (!(p->flags & AD_N_DEAD)) list[--k] = p;
    int rc = AD_OK;
    for (int64_t i = 0; i < n; i++) saved_bytes(list[i], true);
    for (int64_t i = 0; i < n && rc == AD_OK; i++) {
        const ad_node *p = list[i];
        ad_tape_entry e;
        memset(&e, 0, sizeof e);
        e.seq = p->seq;
        e.name = p->op->grad_fn_name;
        e.out_shape.ndim = p->out_ndim;
        memcpy(e.out_shape.dim, p->out_shape, (size_t)p->out_ndim * sizeof(int64_t));
        e.saved_bytes = saved_bytes(p, false);
        e.ninputs = p->nin;
        e.released = (p->flags & AD_N_RELEASED) != 0;
        e.output = p->out;
        for (int j = 0; j < p->nin && j < 8; j++) {
            e.input_seq[j] = p->edges[j].node ? (int64_t)p->edges[j].node->seq : -1;
            e.input_is_leaf[j] = p->edges[j].leaf != NULL;
            e.input_leaf[j] = p->edges[j].leaf;
        }
        rc = fn(&e, ud);
    }
    ad_mem_free(ctx, list, (size_t)n * sizeof *list, AD_MEM_META);
    return rc;
}
