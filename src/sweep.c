/* src/sweep.c — the backward sweep (ad_backward), beside the tape it walks
 * (tape.c).  Part of the core: it uses the ops, the tape and scopes only.
 *
 * The tape is a list of records in the order they were made.  Backward
 * seeds the adjoint of the output's record and walks the list from there
 * towards older records, once.  A record holding an adjoint applies its VJP
 * rule and adds each input's share into the adjoint of the record that
 * produced that input, or into the .grad of a leaf.  Records without an
 * adjoint are skipped; the walk stops when no adjoint is pending.
 *
 * Adjoints are accumulated in place when the accumulator is exclusively
 * ours, out of place otherwise (a VJP may return its incoming adjoint
 * itself, e.g. for add; such shared buffers are never written).  With
 * AD_CREATE_GRAPH the sweep is itself recorded, so gradients carry a graph. */
#include <string.h>

#include "ops/ew.h"
#include "ops/op.h"
#include "tape.h"

/* Buffers we may add into in place: one handle, one storage, plain layout,
 * no derivative information of their own. */
static bool exclusive(const ad_tensor *t)
{
    return t->refs == 1 && t->st->refs == 1 && !t->st->external && (t->flags & AD_T_CONTIG) &&
           !(t->flags & AD_T_VIEW) && !t->grad_fn && !t->tangent && t->scope_refs == 0;
}

/* *acc += g, consuming our reference to g. */
static int accumulate(ad_ctx *ctx, ad_tensor **acc, ad_tensor *g, bool create_graph)
{
    if (!*acc) {
        *acc = g;
        return AD_OK;
    }
    if (!create_graph && exclusive(*acc) && !g->tangent) {
        int rc = ad_ew_into("backward", AD_EW_add, *acc, *acc, g, 0);
        ad_decref(g);
        return rc;
    }
    ad_tensor *sum = ad_add(*acc, g);
    ad_decref(g);
    if (!sum) return ctx->err;
    ad_unscope(sum);
    ad_decref(*acc);
    *acc = sum;
    return AD_OK;
}

/* Leaf .grad accumulation follows PyTorch: the first gradient is stored
 * (copied when shared), later ones are added in place. */
static int accumulate_leaf(ad_ctx *ctx, ad_tensor *leaf, ad_tensor *g, bool create_graph)
{
    if (!leaf->grad) {
        if (!create_graph && !exclusive(g) && !g->tangent) {
            ad_tensor *c = ad_new_like(g);
            if (!c) {
                ad_decref(g);
                return ctx->err;
            }
            ad_unscope(c);
            ad_copy_raw(c, g);
            ad_decref(g);
            g = c;
        }
        leaf->grad = g;
        return AD_OK;
    }
    if (!create_graph && !g->tangent && !leaf->grad->tangent && !leaf->grad->grad_fn) {
        int rc = ad_ew_into("backward", AD_EW_add, leaf->grad, leaf->grad, g, 0);
        ad_decref(g);
        return rc;
    }
    return accumulate(ctx, &leaf->grad, g, create_graph);
}

static int check_versions(ad_ctx *ctx, const ad_node *n)
{
    char buf[AD_SHAPEBUF];
    for (int i = 0; i < n->nin; i++) {
        const ad_edge *e = &n->edges[i];
        if (e->saved && e->saved->st->version != e->version)
            return ad_error(ctx, AD_EVERSION,
                            "backward: input %d of %s (shape %s), saved for the gradient, was modified in place "
                            "afterwards (version %u when saved, now %u); clone it before modifying it",
                            i, n->op->grad_fn_name, ad_fmt_shape(buf, sizeof buf, e->ndim, e->shape), e->version,
                            e->saved->st->version);
    }
    if (n->saved_out && n->saved_out->st->version != n->saved_out_version)
        return ad_error(ctx, AD_EVERSION,
                        "backward: the output of %s (shape %s), saved for the gradient, was modified in place "
                        "afterwards (version %u when saved, now %u); clone it before modifying it",
                        n->op->grad_fn_name, ad_fmt_shape(buf, sizeof buf, n->out_ndim, n->out_shape),
                        n->saved_out_version, n->saved_out->st->version);
    return AD_OK;
}

static bool shape_is(const ad_tensor *t, int ndim, const int64_t *shape)
{
    if (t->ndim != ndim) return false;
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] != shape[i]) return false;
    return true;
}

/* The VJP's argument arrays: on the stack for up to 8 inputs (every op in
 * ops.def), from the context's allocator beyond that. */
typedef struct {
    ad_tensor *in_buf[8], *gin_buf[8], **in, **gin;
    bool need_buf[8], *need;
    size_t heap_bytes; /* 0 when the arrays are the buffers above */
} vjp_args;

static int vjp_args_init(ad_ctx *ctx, const ad_node *n, vjp_args *a)
{
    int nin = n->nin;
    a->in = a->in_buf;
    a->gin = a->gin_buf;
    a->need = a->need_buf;
    a->heap_bytes = 0;
    if (nin > 8) {
        size_t bytes = (size_t)nin * (2 * sizeof(ad_tensor *) + sizeof(bool));
        char *mem = ad_mem_alloc(ctx, bytes, AD_MEM_META);
        if (!mem) return ctx->err;
        a->heap_bytes = bytes;
        a->in = (ad_tensor **)mem;
        a->gin = a->in + nin;
        a->need = (bool *)(a->gin + nin);
    }
    for (int i = 0; i < nin; i++) {
        a->in[i] = n->edges[i].saved;
        a->gin[i] = NULL;
        a->need[i] = n->edges[i].node || n->edges[i].leaf;
    }
    return AD_OK;
}

static void vjp_args_free(ad_ctx *ctx, vjp_args *a)
{
    if (a->heap_bytes) ad_mem_free(ctx, a->in, a->heap_bytes, AD_MEM_META);
}

/* Runs n's VJP rule on the adjoint g inside a scope, taking the needed
 * shares out of it so they outlive the rule's temporaries. */
static int apply_vjp(ad_ctx *ctx, ad_node *n, ad_tensor *g, vjp_args *a)
{
    ad_call c = {.ctx = ctx, .op = n->op, .nin = n->nin, .in = a->in, .out = n->saved_out, .attr = n->attr,
                 .edges = n->edges, .out_ndim = n->out_ndim, .out_shape = n->out_shape, .need = a->need, .k = 0};
    ad_scope s = ad_scope_begin(ctx);
    int mark = ad_err_mark(ctx); /* errors are sticky: see only this rule's */
    int rc = n->op->vjp(&c, g, a->gin);
    if (ad_err_since(ctx, mark) && rc == AD_OK) rc = ctx->err;
    for (int i = 0; i < n->nin; i++) {
        if (!a->need[i] || !a->gin[i]) continue;
        ad_scope_take(ctx, s, a->gin[i]);
    }
    ad_scope_end(ctx, s, NULL);
    return rc;
}

/* Sends input i's share gi to the record that produced the input (counting
 * it pending when it is its first adjoint) or to the leaf.  Consumes gi. */
static int send_share(ad_ctx *ctx, ad_node *n, int i, ad_tensor *gi, bool create_graph, int64_t *pending)
{
    ad_edge *e = &n->edges[i];
    if (!shape_is(gi, e->ndim, e->shape)) {
        char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
        int rc = ad_error(ctx, AD_ESTATE, "backward: the VJP of %s returned shape %s for input %d of shape %s",
                          n->op->grad_fn_name, ad_fmt_shape(b1, sizeof b1, gi->ndim, gi->shape), i,
                          ad_fmt_shape(b2, sizeof b2, e->ndim, e->shape));
        ad_decref(gi);
        return rc;
    }
    if (!e->node) return accumulate_leaf(ctx, e->leaf, gi, create_graph);
    if (!e->node->gout) {
        ad_node_incref(e->node); /* keeps it alive until its turn */
        (*pending)++;
    }
    return accumulate(ctx, &e->node->gout, gi, create_graph);
}

/* Applies n's VJP and sends the shares on.  Consumes n->gout. */
static int step(ad_ctx *ctx, ad_node *n, bool create_graph, int64_t *pending)
{
    int rc = check_versions(ctx, n);
    if (rc != AD_OK) return rc;
    vjp_args a;
    rc = vjp_args_init(ctx, n, &a);
    if (rc != AD_OK) return rc;
    ad_tensor *g = n->gout;
    n->gout = NULL;
    rc = apply_vjp(ctx, n, g, &a);

    /* retain_grad(): the output's adjoint is complete here */
    if (rc == AD_OK && n->out && (n->out->flags & AD_T_RETAIN_GRAD)) {
        ad_incref(g);
        rc = accumulate_leaf(ctx, n->out, g, create_graph);
    }
    ad_decref(g);

    for (int i = 0; i < n->nin; i++) {
        ad_tensor *gi = a.gin[i];
        if (!gi) continue;
        if (rc != AD_OK || !a.need[i])
            ad_decref(gi);
        else
            rc = send_share(ctx, n, i, gi, create_graph, pending);
    }
    vjp_args_free(ctx, &a);
    return rc;
}

/* Why backward cannot start from out (and seed), or AD_OK. */
static int check_start(ad_ctx *ctx, const ad_tensor *out, const ad_tensor *seed)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (!(out->flags & AD_T_REQUIRES_GRAD)) {
        if (out->flags & AD_T_RELEASED)
            return ad_error(ctx, AD_EGRAD,
                            "backward: trying to backward through the tape a second time: its records were "
                            "released by the first backward (pass AD_RETAIN_GRAPH to keep them)");
        return ad_error(ctx, AD_EGRAD,
                        "backward: element 0 of tensors does not require grad and does not have a grad_fn "
                        "(no input of this result requires grad: call ad_requires_grad_ on the inputs first)");
    }
    if (out->grad_fn && (out->grad_fn->flags & AD_N_RELEASED))
        return ad_error(ctx, AD_EGRAD,
                        "backward: trying to backward through the tape a second time: its records were released "
                        "by the first backward (pass AD_RETAIN_GRAPH to keep them)");
    if (seed) {
        if (!shape_is(seed, out->ndim, out->shape))
            return ad_error(ctx, AD_ESHAPE, "backward: seed of shape %s does not match the output's shape %s",
                            ad_fmt_shape(b1, sizeof b1, seed->ndim, seed->shape),
                            ad_fmt_shape(b2, sizeof b2, out->ndim, out->shape));
    } else if (out->numel != 1) {
        return ad_error(ctx, AD_EGRAD,
                        "backward: grad can be implicitly created only for scalar outputs (this output has "
                        "shape %s: pass a seed tensor of that shape)",
                        ad_fmt_shape(b1, sizeof b1, out->ndim, out->shape));
    }
    return AD_OK;
}

/* The output's adjoint: the caller's seed, or ones for a scalar output.
 * Returns an internal reference, or NULL. */
static ad_tensor *initial_adjoint(ad_ctx *ctx, ad_tensor *out, ad_tensor *seed)
{
    if (seed) {
        ad_incref(seed);
        return seed;
    }
    ad_tensor *g = ad_ones(ctx, ad_shape_of(out));
    if (g) ad_unscope(g);
    return g;
}

/* Walks the tape from root towards older records, once, stepping every
 * record that holds an adjoint, until none is pending.  Consumes g. */
static int sweep(ad_ctx *ctx, ad_node *root, ad_tensor *g, bool create_graph, bool retain)
{
    int rc = AD_OK;
    int64_t pending = 1;
    ad_node_incref(root);
    root->gout = g;
    ad_tape_hold(ctx, +1);
    for (ad_node *n = root, *prev; n && pending > 0; n = prev) {
        prev = n->prev;
        if (!n->gout) continue;
        pending--;
        if (rc == AD_OK && (n->flags & AD_N_RELEASED))
            rc = ad_error(ctx, AD_EGRAD,
                          "backward: reached %s, whose saved values were released by an earlier backward "
                          "(pass AD_RETAIN_GRAPH to keep them)",
                          n->op->grad_fn_name);
        if (rc == AD_OK) {
            rc = step(ctx, n, create_graph, &pending);
        } else { /* after an error: just drop what is pending */
            ad_decref(n->gout);
            n->gout = NULL;
        }
        if (!retain) ad_node_release(ctx, n);
        ad_node_decref(ctx, n); /* the reference taken when its adjoint arrived */
    }
    ad_tape_hold(ctx, -1);
    return rc;
}

int ad_backward(ad_tensor *out, ad_tensor *seed, unsigned flags)
{
    if (!out) return AD_EINVAL;
    ad_ctx *ctx = out->ctx;
    bool create_graph = (flags & AD_CREATE_GRAPH) != 0;
    bool retain = (flags & AD_RETAIN_GRAPH) != 0 || create_graph;
    int rc = check_start(ctx, out, seed);
    if (rc != AD_OK) return rc;

    /* the sweep is recorded only with create_graph; adjoints are tangents */
    bool prev_grad = ctx->grad_enabled;
    uint8_t prev_cat = ctx->cat;
    ctx->grad_enabled = create_graph;
    ctx->cat = AD_MEM_TANGENTS;
    ad_tensor *g = initial_adjoint(ctx, out, seed);
    if (!g)
        rc = ctx->err;
    else if (!out->grad_fn) /* out is itself a leaf */
        rc = accumulate_leaf(ctx, out, g, create_graph);
    else
        rc = sweep(ctx, out->grad_fn, g, create_graph, retain);
    ctx->grad_enabled = prev_grad;
    ctx->cat = prev_cat;
    return rc;
}
