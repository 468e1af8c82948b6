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
 * AD_CREATE_GRAPH the sweep is itself recorded, so gradients carry a graph.
 *
 * ad_autograd_grad (torch.autograd.grad) runs the same sweep with a plan
 * naming its inputs: a first pass over the records between the oldest
 * input and the output marks those that depend on an input (oldest first,
 * so one pass), the sweep steps only marked records and sends shares only
 * where an input can be reached, adjoints reaching an input are kept for
 * the caller, and no .grad is touched.  An inner gradient inside a long
 * outer computation thus never walks the outer tape. */
#include <string.h>

#include "ops/ew.h"
#include "ops/index.h"
#include "ops/op.h"
#include "tape.h"
#include "trace.h"

/* Memory of its own: one storage no other handle shares, plain layout
 * (every element its own address), no derivative information. */
static bool own_memory(const ad_tensor *t)
{
    return t->st->refs == 1 && !t->st->external && (t->flags & AD_T_CONTIG) && !(t->flags & AD_T_VIEW) &&
           !t->grad_fn && !t->tan_mask;
}

/* Buffers we may add into in place: own memory, and one handle (ours). */
static bool exclusive(const ad_tensor *t)
{
    return t->refs == 1 && t->scope_refs == 0 && own_memory(t);
}

/* A leaf's .grad accumulates in place whoever holds its handle (PyTorch),
 * but only in memory of its own: a create_graph sweep stores gradients as
 * they come (the seed's broadcast view, the caller's seed itself), and
 * those are replaced by a sum, never written. */
static bool grad_writable(const ad_tensor *grad)
{
    return own_memory(grad);
}

/* *acc += g, consuming our reference to g. */
static int accumulate(ad_ctx *ctx, ad_tensor **acc, ad_tensor *g, bool create_graph)
{
    if (!*acc) {
        *acc = g;
        return AD_OK;
    }
    if (!create_graph && exclusive(*acc) && !g->tan_mask) {
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
        if (!create_graph && !exclusive(g) && !g->tan_mask) {
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
    if (!create_graph && !g->tan_mask && grad_writable(leaf->grad)) {
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

/* What a sweep does with the adjoints it reaches.  Without inputs
 * (ad_backward): every leaf requiring grad gets them in .grad.  With
 * inputs (ad_autograd_grad): only records marked AD_N_VISITED (they depend
 * on an input) are stepped, adjoints reaching an input (its record marked
 * AD_N_INPUT, or the leaf itself) go to grads[], and nothing else. */
struct held_list;

typedef struct {
    bool create_graph, retain;
    int ninputs;
    ad_tensor *const *inputs;
    ad_tensor **grads;       /* [ninputs] accumulators (internal references) */
    struct held_list *held;  /* indexing shares waiting for their accumulator */
} sweep_plan;

/* The first j with inputs[j] == t, or -1. */
static int input_index(const sweep_plan *pl, const ad_tensor *t)
{
    for (int j = 0; j < pl->ninputs; j++)
        if (pl->inputs[j] == t) return j;
    return -1;
}

/* Whether a share sent along e can be used: anywhere for backward; for
 * autograd_grad only towards an input. */
static bool wanted(const sweep_plan *pl, const ad_edge *e)
{
    if (pl->ninputs == 0) return e->node || e->leaf;
    if (e->node) return (e->node->flags & (AD_N_VISITED | AD_N_INPUT)) != 0;
    return e->leaf && input_index(pl, e->leaf) >= 0;
}

/* The VJP's argument arrays: on the stack for up to 8 inputs (every op in
 * ops.def), from the context's allocator beyond that. */
typedef struct {
    ad_tensor *in_buf[8], *gin_buf[8], **in, **gin;
    bool need_buf[8], *need;
    size_t heap_bytes; /* 0 when the arrays are the buffers above */
} vjp_args;

static int vjp_args_init(ad_ctx *ctx, const ad_node *n, const sweep_plan *pl, vjp_args *a)
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
        a->need[i] = wanted(pl, &n->edges[i]);
    }
    return AD_OK;
}

static void vjp_args_free(ad_ctx *ctx, vjp_args *a)
{
    if (a->heap_bytes) ad_mem_free(ctx, a->in, a->heap_bytes, AD_MEM_META);
}

/* Runs n's VJP rule on the adjoint g inside a scope, taking the needed
 * shares out of it so they outlive the rule's temporaries. */
static int apply_vjp(ad_ctx *ctx, ad_node *n, ad_tensor *g, vjp_args *a, bool consume)
{
    ad_call c = {.ctx = ctx, .op = n->op, .nin = n->nin, .in = a->in, .out = n->saved_out, .attr = n->attr,
                 .edges = n->edges, .out_ndim = n->out_ndim, .out_shape = n->out_shape, .need = a->need, .k = 0,
                 .consume = consume};
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

/* A leaf's share: into its .grad (backward) or its input's slot. */
static int leaf_share(ad_ctx *ctx, ad_tensor *leaf, ad_tensor *gi, const sweep_plan *pl)
{
    if (pl->ninputs == 0) return accumulate_leaf(ctx, leaf, gi, pl->create_graph);
    int j = input_index(pl, leaf);
    if (j < 0) { /* not wanted (need[] said so): never reached */
        ad_decref(gi);
        return AD_OK;
    }
    return accumulate(ctx, &pl->grads[j], gi, pl->create_graph);
}

/* Sends input i's share gi to the record that produced the input (counting
 * it pending when it is its first adjoint) or to the leaf.  Consumes gi. */
static int send_share(ad_ctx *ctx, ad_node *n, int i, ad_tensor *gi, const sweep_plan *pl, int64_t *pending)
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
    if (!e->node) return leaf_share(ctx, e->leaf, gi, pl);
    if (!e->node->gout) {
        ad_node_incref(e->node); /* keeps it alive until its turn */
        (*pending)++;
    }
    return accumulate(ctx, &e->node->gout, gi, pl->create_graph);
}

/* retain_grad(): the output's adjoint g is complete when its record is
 * stepped (backward only: autograd_grad touches no .grad). */
static int retain(ad_ctx *ctx, ad_node *n, ad_tensor *g, const sweep_plan *pl)
{
    if (pl->ninputs > 0 || !n->out || !(n->out->flags & AD_T_RETAIN_GRAD)) return AD_OK;
    ad_incref(g);
    return accumulate_leaf(ctx, n->out, g, pl->create_graph);
}

/* ---- an indexing record's share added where it lands ---------------------
 *
 * The rules of slice, index_select and gather build x-sized tensors:
 * x̄ += slice_scatter / index_add / scatter_add(zeros(x.shape), ȳ), a fill
 * and a pass over all of x per record (for gather and index_select a copy
 * of the zeros as well), only to be added into the accumulator afterwards
 * (rosenbrock's two slices were a fifth of its n = 10 gradient; a
 * cross-entropy's gather of one class per row is two passes over the
 * logits).  When nothing needs the rule itself (no graph recorded, no
 * tangent on ȳ) and the accumulator of the record's input may be written in
 * place (exclusively ours, or a leaf's .grad, which accumulates in place
 * anyway), ȳ is added straight into the elements it came from
 * (ad_index_share_into): no pass over the rest of x.  A missing accumulator
 * starts as zeros. */

static bool indexing(const ad_node *n)
{
    return n->op == &ad_ops[AD_OP_slice] || n->op == &ad_ops[AD_OP_index_select] ||
           n->op == &ad_ops[AD_OP_gather];
}

/* The accumulator slot input 0's share of indexing record n goes to, when
 * it may be added there in place; NULL when the rule must run. */
static ad_tensor **share_slot(ad_node *n, const ad_tensor *g, const sweep_plan *pl)
{
    if (!indexing(n) || pl->create_graph || g->tan_mask) return NULL;
    ad_edge *e = &n->edges[0];
    if (!wanted(pl, e)) return NULL;
    bool leaf_grad = !e->node && pl->ninputs == 0;
    ad_tensor **slot;
    if (e->node) {
        slot = &e->node->gout;
    } else if (leaf_grad) {
        slot = &e->leaf->grad;
    } else {
        int j = input_index(pl, e->leaf);
        if (j < 0) return NULL;
        slot = &pl->grads[j];
    }
    const ad_tensor *acc = *slot;
    if (!acc) return slot;
    /* scattered in place, ȳ must not alias what it is added into */
    bool writable = (leaf_grad ? grad_writable(acc) : exclusive(acc)) && acc->st != g->st;
    return writable && shape_is(acc, e->ndim, e->shape) ? slot : NULL;
}

/* *slot += n's share of g in place, *slot made zeros first when empty (its
 * record then counted pending, as send_share does). */
static int share_into(ad_ctx *ctx, ad_node *n, ad_tensor *g, ad_tensor **slot, int64_t *pending)
{
    ad_edge *e = &n->edges[0];
    if (!*slot) {
        ad_shape s = {.ndim = e->ndim};
        for (int i = 0; i < e->ndim; i++) s.dim[i] = e->shape[i];
        ad_tensor *z = ad_deriv_zeros(ctx, s);
        if (!z) return ctx->err;
        ad_unscope(z);
        if (e->node) {
            ad_node_incref(e->node);
            (*pending)++;
        }
        *slot = z;
    }
    ad_tensor *index = n->nin > 1 ? n->edges[1].saved : NULL; /* gather's */
    return ad_index_share_into(*slot, (ad_opid)(n->op - ad_ops), n->attr, index, g);
}

/* ---- an indexing share held back until its accumulator is complete -------
 *
 * share_into on an empty accumulator starts it as zeros: a fill, and the
 * dense share that arrives later is then added into it, a second pass
 * over x, where that dense share could have become the accumulator and
 * taken ȳ in place.  Which of the two comes first is only a matter of
 * record order (lse(x) - x[0] against -x[0] + lse(x): +40 % instructions
 * at n = 1e5).  So a share that finds its accumulator empty is held back,
 * up to HELD_MAX of them, and added when the accumulator is complete: just
 * before its record is visited (a record's adjoint) or at the end of the
 * sweep (a leaf's .grad, an input's gradient).  A held share into a
 * record's adjoint counts that record pending, as an arriving adjoint
 * does, so the walk reaches it. */

#define HELD_MAX 8

typedef struct {
    ad_node *rec;     /* the indexing record (a reference: its attributes stay) */
    ad_node *owner;   /* the record whose adjoint is the accumulator (a reference), or NULL */
    ad_tensor *leaf;  /* the leaf whose .grad is the accumulator (a reference), or NULL */
    ad_tensor **slot; /* the accumulator */
    ad_tensor *g, *index; /* ȳ and gather's index (references) */
    ad_shape shape;   /* of the accumulator */
} held_share;

typedef struct held_list {
    int n;
    held_share h[HELD_MAX];
} held_list;

/* Holds n's share g (taking the reference) for the empty *slot; false
 * when the list is full. */
static bool hold(ad_node *n, ad_tensor *g, ad_tensor **slot, const sweep_plan *pl, int64_t *pending)
{
    held_list *l = pl->held;
    if (!l || l->n == HELD_MAX) return false;
    ad_edge *e = &n->edges[0];
    held_share *h = &l->h[l->n++];
    h->rec = n;
    ad_node_incref(n);
    h->owner = e->node;
    if (e->node) {
        ad_node_incref(e->node);
        (*pending)++;
    }
    h->leaf = !e->node && pl->ninputs == 0 ? e->leaf : NULL;
    if (h->leaf) ad_incref(h->leaf); /* the record's edge lets go when it is released */
    h->slot = slot;
    h->g = g;
    h->index = n->nin > 1 ? n->edges[1].saved : NULL; /* gather's */
    if (h->index) ad_incref(h->index);
    h->shape.ndim = e->ndim;
    for (int i = 0; i < e->ndim; i++) h->shape.dim[i] = e->shape[i];
    return true;
}

/* h's share added into its accumulator: in place when it may be written
 * there (started as zeros if still empty), else as a zeros-based share
 * added out of place.  Releases h.  An owner found with an adjoint
 * already counted pending gives back the count the hold took. */
static int release_held(ad_ctx *ctx, held_share *h, int rc, int64_t *pending)
{
    ad_tensor *acc = *h->slot;
    if (h->owner && acc) {
        (*pending)--;
        ad_node_decref(ctx, h->owner);
    }
    bool in_place = !acc || ((h->leaf ? grad_writable(acc) : exclusive(acc)) && acc->st != h->g->st &&
                             shape_is(acc, h->shape.ndim, h->shape.dim));
    ad_tensor *z = rc == AD_OK && !(acc && in_place) ? ad_deriv_zeros(ctx, h->shape) : NULL;
    if (z) ad_unscope(z);
    else if (rc == AD_OK && !(acc && in_place)) rc = ctx->err;
    if (z && !acc) *h->slot = z; /* the hold's pending count becomes the adjoint's */
    ad_tensor *into = z ? z : acc;
    if (rc == AD_OK) rc = ad_index_share_into(into, (ad_opid)(h->rec->op - ad_ops), h->rec->attr, h->index, h->g);
    if (z && acc) { /* not writable: added out of place */
        if (rc != AD_OK) ad_decref(z);
        else rc = h->leaf ? accumulate_leaf(ctx, h->leaf, z, false) : accumulate(ctx, h->slot, z, false);
    }
    if (!acc && !z && h->owner) { /* failed before the adjoint existed: the count goes */
        (*pending)--;
        ad_node_decref(ctx, h->owner);
    }
    ad_decref(h->g);
    if (h->index) ad_decref(h->index);
    if (h->leaf) ad_decref(h->leaf);
    ad_node_decref(ctx, h->rec);
    return rc;
}

/* Releases the held shares whose accumulator is owner's adjoint (owner
 * NULL: all that are left), in the order they were held. */
static int release_held_for(ad_ctx *ctx, const sweep_plan *pl, const ad_node *owner, int rc, int64_t *pending)
{
    held_list *l = pl->held;
    int kept = 0;
    for (int i = 0; i < l->n; i++) {
        if (owner && l->h[i].owner != owner) {
            l->h[kept++] = l->h[i];
            continue;
        }
        rc = release_held(ctx, &l->h[i], rc, pending);
    }
    l->n = kept;
    return rc;
}

/* Applies n's VJP and sends the shares on.  Consumes n->gout. */
static int step(ad_ctx *ctx, ad_node *n, const sweep_plan *pl, int64_t *pending)
{
    int rc = check_versions(ctx, n);
    if (rc != AD_OK) return rc;
    ad_tensor *g = n->gout;
    ad_tensor **slot = share_slot(n, g, pl);
    if (slot) {
        n->gout = NULL;
        rc = retain(ctx, n, g, pl);
        if (rc == AD_OK && !*slot && hold(n, g, slot, pl, pending)) return AD_OK;
        if (rc == AD_OK) rc = share_into(ctx, n, g, slot, pending);
        ad_decref(g);
        return rc;
    }
    vjp_args a;
    rc = vjp_args_init(ctx, n, pl, &a);
    if (rc != AD_OK) return rc;
    n->gout = NULL;
    /* retain_grad() takes its reference before the rule runs: a rule may
     * write its result into an adjoint only it holds (src/ops/fuse.h) */
    rc = retain(ctx, n, g, pl);
    if (rc == AD_OK) rc = apply_vjp(ctx, n, g, &a, !pl->retain); /* visit releases n unless retained */
    ad_decref(g);
    if (!pl->retain && n->saved_out) { /* read by the rule alone: let go before the shares are added, */
        ad_tensor *so = n->saved_out;  /* so a share made in its memory (consume) counts as exclusive */
        n->saved_out = NULL;
        ad_tape_unsave(ctx, so);
    }

    for (int i = 0; i < n->nin; i++) {
        ad_tensor *gi = a.gin[i];
        if (!gi) continue;
        if (rc != AD_OK || !a.need[i])
            ad_decref(gi);
        else
            rc = send_share(ctx, n, i, gi, pl, pending);
    }
    vjp_args_free(ctx, &a);
    return rc;
}

static int check_seed(ad_ctx *ctx, const char *what, const ad_tensor *out, const ad_tensor *seed);

/* Why a sweep cannot start from out (and seed), or AD_OK. */
static int check_start(ad_ctx *ctx, const char *what, const ad_tensor *out, const ad_tensor *seed)
{
    if (!(out->flags & AD_T_REQUIRES_GRAD)) {
        if (out->flags & AD_T_RELEASED)
            return ad_error(ctx, AD_EGRAD,
                            "%s: trying to backward through the tape a second time: its records were "
                            "released by the first backward (pass AD_RETAIN_GRAPH to keep them)", what);
        return ad_error(ctx, AD_EGRAD,
                        "%s: element 0 of tensors does not require grad and does not have a grad_fn "
                        "(no input of this result requires grad: call ad_requires_grad_ on the inputs first)", what);
    }
    if (out->grad_fn && (out->grad_fn->flags & AD_N_RELEASED))
        return ad_error(ctx, AD_EGRAD,
                        "%s: trying to backward through the tape a second time: its records were released "
                        "by the first backward (pass AD_RETAIN_GRAPH to keep them)", what);
    return check_seed(ctx, what, out, seed);
}

/* Whether seed fits out (or out is a scalar when there is none). */
static int check_seed(ad_ctx *ctx, const char *what, const ad_tensor *out, const ad_tensor *seed)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (seed) {
        if (!shape_is(seed, out->ndim, out->shape))
            return ad_error(ctx, AD_ESHAPE, "%s: seed of shape %s does not match the output's shape %s", what,
                            ad_fmt_shape(b1, sizeof b1, seed->ndim, seed->shape),
                            ad_fmt_shape(b2, sizeof b2, out->ndim, out->shape));
    } else if (out->numel != 1) {
        return ad_error(ctx, AD_EGRAD,
                        "%s: grad can be implicitly created only for scalar outputs (this output has "
                        "shape %s: pass a seed tensor of that shape)", what,
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

/* An input's record reached: its adjoint is (part of) that input's
 * gradient.  The record itself is stepped only if it leads to another
 * input (marked). */
static int capture(ad_ctx *ctx, ad_node *n, const sweep_plan *pl)
{
    for (int j = 0; j < pl->ninputs; j++)
        if (pl->inputs[j]->grad_fn == n) {
            ad_incref(n->gout);
            return accumulate(ctx, &pl->grads[j], n->gout, pl->create_graph);
        }
    return AD_OK;
}

/* One record holding an adjoint: stepped (or, for autograd_grad, captured
 * and stepped only when it depends on an input), then released unless
 * retained.  Returns the sweep's status so far. */
static int visit(ad_ctx *ctx, ad_node *n, const sweep_plan *pl, int rc, int64_t *pending)
{
    if (rc == AD_OK && (n->flags & AD_N_RELEASED))
        rc = ad_error(ctx, AD_EGRAD,
                      "backward: reached %s, whose saved values were released by an earlier backward "
                      "(pass AD_RETAIN_GRAPH to keep them)",
                      n->op->grad_fn_name);
    if (rc == AD_OK && pl->ninputs > 0 && (n->flags & AD_N_INPUT)) rc = capture(ctx, n, pl);
    bool stepped = rc == AD_OK && (pl->ninputs == 0 || (n->flags & AD_N_VISITED));
    if (stepped) {
        rc = step(ctx, n, pl, pending);
    } else { /* after an error, or not leading to an input: drop it */
        ad_decref(n->gout);
        n->gout = NULL;
    }
    if (!pl->retain && stepped) ad_node_release(ctx, n);
    return rc;
}

/* Walks the tape from root towards older records, once, visiting every
 * record that holds an adjoint, until none is pending.  Consumes g. */
static int sweep(ad_ctx *ctx, ad_node *root, ad_tensor *g, const sweep_plan *pl)
{
    int rc = AD_OK;
    int64_t pending = 1;
    ad_node_incref(root);
    root->gout = g;
    ad_tape_hold(ctx, +1);
    for (ad_node *n = root, *prev; n && pending > 0; n = prev) {
        prev = n->prev;
        if (pl->held->n > 0) rc = release_held_for(ctx, pl, n, rc, &pending);
        if (!n->gout) continue;
        pending--;
        rc = visit(ctx, n, pl, rc, &pending);
        ad_node_decref(ctx, n); /* the reference taken when its adjoint arrived */
    }
    rc = release_held_for(ctx, pl, NULL, rc, &pending); /* the leaves' (attributes live: the tape is held) */
    ad_tape_hold(ctx, -1);
    return rc;
}

/* Runs the sweep of plan pl from out: grad mode on only to record it
 * (create_graph), adjoints counted as tangents. */
static int run(ad_ctx *ctx, ad_tensor *out, ad_tensor *seed, const sweep_plan *pl)
{
    /* a sweep inside f writes adjoints the trace cannot follow */
    if (ctx->rec) ad_rec_poison(ctx, "a backward sweep ran inside f");
    bool prev_grad = ctx->grad_enabled;
    uint8_t prev_cat = ctx->cat;
    ctx->grad_enabled = pl->create_graph;
    ctx->cat = AD_MEM_TANGENTS;
    int rc = AD_OK;
    ad_tensor *g = initial_adjoint(ctx, out, seed);
    if (!g)
        rc = ctx->err;
    else if (out->grad_fn)
        rc = sweep(ctx, out->grad_fn, g, pl);
    else if (pl->ninputs == 0) /* out is itself a leaf */
        rc = accumulate_leaf(ctx, out, g, pl->create_graph);
    else
        rc = leaf_share(ctx, out, g, pl);
    ctx->grad_enabled = prev_grad;
    ctx->cat = prev_cat;
    return rc;
}

int ad_backward(ad_tensor *out, ad_tensor *seed, unsigned flags)
{
    if (!out) return AD_EINVAL;
    ad_ctx *ctx = out->ctx;
    bool create_graph = (flags & AD_CREATE_GRAPH) != 0;
    held_list held = {.n = 0};
    sweep_plan pl = {.create_graph = create_graph, .retain = (flags & AD_RETAIN_GRAPH) != 0 || create_graph,
                     .held = &held};
    int rc = check_start(ctx, "backward", out, seed);
    return rc != AD_OK ? rc : run(ctx, out, seed, &pl);
}

/* ---- autograd_grad ------------------------------------------------------------ */

/* The records from root down to sequence number `since` (newest first),
 * into a new array of *n entries; NULL with AD_ENOMEM. */
static ad_node **records_between(ad_ctx *ctx, ad_node *root, uint64_t since, int64_t *n)
{
    int64_t count = 0;
    for (ad_node *p = root; p && p->seq >= since; p = p->prev) count++;
    ad_node **list = ad_mem_alloc(ctx, (size_t)(count ? count : 1) * sizeof *list, AD_MEM_META);
    if (!list) return NULL;
    int64_t i = 0;
    for (ad_node *p = root; p && p->seq >= since; p = p->prev) list[i++] = p;
    *n = count;
    return list;
}

/* Marks the inputs' records AD_N_INPUT, then, oldest first, every record
 * with an edge to an input (its record or the leaf) or to a marked record
 * AD_N_VISITED.  A released record is marked too: the sweep then reports
 * it instead of reading a gradient that was lost as zero. */
static void mark(ad_node **list, int64_t n, const sweep_plan *pl)
{
    for (int j = 0; j < pl->ninputs; j++)
        if (pl->inputs[j]->grad_fn) pl->inputs[j]->grad_fn->flags |= AD_N_INPUT;
    for (int64_t i = n - 1; i >= 0; i--) {
        ad_node *p = list[i];
        if (p->flags & AD_N_DEAD) continue;
        bool dep = (p->flags & AD_N_RELEASED) != 0;
        for (int e = 0; !dep && e < p->nin; e++) dep = wanted(pl, &p->edges[e]);
        if (dep) p->flags |= AD_N_VISITED;
    }
}

static void unmark(ad_node **list, int64_t n, const sweep_plan *pl)
{
    for (int64_t i = 0; i < n; i++) list[i]->flags &= (uint8_t)~(AD_N_VISITED | AD_N_INPUT);
    for (int j = 0; j < pl->ninputs; j++)
        if (pl->inputs[j]->grad_fn) pl->inputs[j]->grad_fn->flags &= (uint8_t)~AD_N_INPUT;
}

static int check_inputs(ad_ctx *ctx, int ninputs, ad_tensor *const *inputs, ad_tensor **grads)
{
    if (!grads) return ad_error(ctx, AD_EINVAL, "autograd_grad: no array for the gradients given");
    if (ninputs < 1 || !inputs) return ad_error(ctx, AD_EINVAL, "autograd_grad: %d inputs (at least 1)", ninputs);
    for (int j = 0; j < ninputs; j++) {
        if (!inputs[j]) return ad_error(ctx, AD_EINVAL, "autograd_grad: input %d is NULL", j);
        if (inputs[j]->ctx != ctx)
            return ad_error(ctx, AD_EINVAL, "autograd_grad: input %d belongs to another context", j);
    }
    return AD_OK;
}

/* The gradients into grads[]: the accumulated adjoint, or zeros for an
 * input out does not depend on, as new references in the open scope. */
static int hand_out(ad_ctx *ctx, const sweep_plan *pl, ad_tensor **grads)
{
    int rc = AD_OK;
    for (int j = 0; j < pl->ninputs; j++) {
        ad_tensor *acc = pl->grads[j];
        int first = input_index(pl, pl->inputs[j]); /* the same input twice: one accumulator */
        if (first < j) acc = pl->grads[first];
        grads[j] = acc ? ad_tensor_ref(acc) : ad_deriv_zeros(ctx, ad_shape_of(pl->inputs[j]));
        if (!grads[j] && rc == AD_OK) rc = ctx->err ? ctx->err : AD_ENOMEM;
    }
    return rc;
}

int ad_autograd_grad_since(ad_tensor *out, ad_tensor *seed, int ninputs, ad_tensor *const *inputs, unsigned flags,
                           ad_tensor **grads, uint64_t since)
{
    if (!out) return AD_EINVAL;
    ad_ctx *ctx = out->ctx;
    int rc = check_inputs(ctx, ninputs, inputs, grads);
    for (int j = 0; grads && j < ninputs; j++) grads[j] = NULL;
    if (rc != AD_OK) return rc;
    bool create_graph = (flags & AD_CREATE_GRAPH) != 0;
    ad_tensor *acc_buf[8], **acc = acc_buf;
    if (ninputs > 8 && !(acc = ad_mem_alloc(ctx, (size_t)ninputs * sizeof *acc, AD_MEM_META))) return ctx->err;
    for (int j = 0; j < ninputs; j++) acc[j] = NULL;
    held_list held = {.n = 0};
    sweep_plan pl = {.create_graph = create_graph, .retain = (flags & AD_RETAIN_GRAPH) || create_graph,
                     .ninputs = ninputs, .inputs = inputs, .grads = acc, .held = &held};
    /* an out that requires no grad depends on no input: zeros, unless it
     * is an input itself (then its gradient is the seed) */
    bool depends = (out->flags & (AD_T_REQUIRES_GRAD | AD_T_RELEASED)) != 0;
    bool is_input = input_index(&pl, out) >= 0;
    rc = depends ? check_start(ctx, "autograd_grad", out, seed) : check_seed(ctx, "autograd_grad", out, seed);
    int64_t n = 0;
    ad_node **list = NULL;
    if (rc == AD_OK && depends && out->grad_fn && !(list = records_between(ctx, out->grad_fn, since, &n)))
        rc = ctx->err;
    if (list) mark(list, n, &pl);
    if (rc == AD_OK && (depends || is_input)) rc = run(ctx, out, seed, &pl);
    if (list) {
        unmark(list, n, &pl);
        ad_mem_free(ctx, list, (size_t)(n ? n : 1) * sizeof *list, AD_MEM_META);
    }
    if (rc == AD_OK) rc = hand_out(ctx, &pl, grads);
    for (int j = 0; j < ninputs; j++)
        if (acc[j]) ad_decref(acc[j]);
    if (rc != AD_OK)
        for (int j = 0; j < ninputs; j++) {
            if (grads[j]) ad_tensor_free(grads[j]);
            grads[j] = NULL;
        }
    if (acc != acc_buf) ad_mem_free(ctx, acc, (size_t)ninputs * sizeof *acc, AD_MEM_META);
    return rc;
}

int ad_autograd_grad(ad_tensor *out, ad_tensor *seed, int ninputs, ad_tensor *const *inputs, unsigned flags,
                     ad_tensor **grads)
{
    /* no record older than the oldest input's can lie between out and the
     * inputs; a leaf input has no record, so the walk goes the whole way */
    uint64_t since = UINT64_MAX;
    for (int j = 0; inputs && j < ninputs; j++) {
        uint64_t s = (inputs[j] && inputs[j]->grad_fn) ? inputs[j]->grad_fn->seq : 0;
        if (s < since) since = s;
    }
    return ad_autograd_grad_since(out, seed, ninputs, inputs, flags, grads, since == UINT64_MAX ? 0 : since);
}
