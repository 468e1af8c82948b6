/* modes/replay.c — the "reverse-replay" backend: the first call for a key
 * (f, user, input shapes, differentiated inputs) is reverse mode with the
 * recorder on (src/trace.h); the recording, checked against that call's
 * own result, becomes a program; later calls run the program over raw
 * buffers and never call f.  What cannot be replayed runs as plain
 * reverse, and ad_replay_last says why. */
#include <stdio.h>
#include <string.h>

#include "replay.h"

/* Plain reverse mode, reported with the reason. */
static int plain(const ad_problem *p, int k, ad_tensor *U, const ad_options *o, ad_eval *e, ad_stats *st,
                 const char *why)
{
    int rc = ad_backend_reverse.vjp(&ad_backend_reverse, p, k, U, o, e, st);
    ad_progs_report(p->ctx, AD_REPLAY_PLAIN, why, NULL);
    return rc;
}

/* Arrays above this many elements run as reverse unless the program runs
 * blocked (src/trace.h).  Op by op over whole arrays the replay makes
 * more passes over memory than reverse's sweep (whose fused rules write
 * into adjoints it reuses while they are hot, and which passes an adjoint
 * on without a copy), and from ~2-3 k elements on (rosenbrock, expsin)
 * the bookkeeping it saves no longer pays for them: measured on this
 * machine, rosenbrock 1e3 5.6 us against reverse's 7.0, 3e3 18.0 against
 * 17.5, 1e5 1.2 ms against 0.78.  Block by block there are no such
 * passes, and no limit. */
#define REPLAY_MAX_NUMEL 2048

/* Why this call cannot use a program, or NULL. */
static const char *plain_reason(const ad_problem *p, int k, const ad_tensor *U)
{
    ad_ctx *ctx = p->ctx;
    if (ctx->rec) {
        ad_rec_poison(ctx, "a driver ran inside f");
        return "called inside a function being traced";
    }
    if (ad_problem_nesting(p)) return "the inputs carry derivatives of an enclosing computation (nested)";
    if (ctx->fwd_depth > 0) return "a forward level is open";
    if (k != 1) return "several cotangents at once (a Jacobian by rows)";
    if (U && !(U->flags & AD_T_CONTIG)) return "the cotangent is not contiguous";
    for (int i = 0; i < p->nin; i++)
        if (!(p->in[i]->flags & AD_T_CONTIG)) return "an input is not contiguous";
    return NULL;
}

ad_prog_key ad_replay_key(const ad_problem *p, bool value_only)
{
    ad_prog_key key = {.f = (const void *)(uintptr_t)p->f, .user = p->user, .nin = p->nin, .wrt = 0,
                       .value_only = value_only};
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < p->nin; i++) {
        if (ad_wrt(p, i)) key.wrt |= 1ull << i;
        h = (h ^ (uint64_t)p->in[i]->ndim) * 1099511628211ull;
        for (int d = 0; d < p->in[i]->ndim; d++) h = (h ^ (uint64_t)p->in[i]->shape[d]) * 1099511628211ull;
    }
    key.shape_hash = (int64_t)h;
    return key;
}

/* ---- the first call: reverse mode with the recorder on ------------------- */

typedef struct tracer {
    const ad_problem *p;
    ad_prog *prog;
    char why[AD_REC_WHY];
    int calls;
} tracer;

/* f as reverse calls it, recorded (only its first call: reverse makes one). */
static ad_tensor *traced_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    tracer *t = user;
    if (t->calls++ > 0) return t->p->f(ctx, in, t->p->user);
    bool wrt[AD_MAX_INPUTS];
    for (int i = 0; i < t->p->nin; i++) wrt[i] = ad_wrt(t->p, i);
    int rc = ad_rec_begin(ctx, t->p->nin, in, wrt);
    ad_tensor *y = rc == AD_OK ? t->p->f(ctx, in, t->p->user) : NULL;
    if (ad_rec_end(ctx, y, &t->prog, t->why) != AD_OK || rc != AD_OK) {
        ad_tensor_free(y);
        return NULL; /* out of memory, recorded */
    }
    return y;
}

bool ad_replay_same_values(const double *a, const double *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i]))) return false;
    return true;
}

/* Whether the program reproduces the traced call's value and gradients
 * (the check that nothing the recorder missed changed a value).  AD_OK
 * with *same set, or AD_ENOMEM. */
static int check_program(const ad_problem *p, ad_prog *g, ad_tensor *U, const ad_eval *e, bool *same)
{
    ad_ctx *ctx = p->ctx;
    int nd;
    int64_t shape[AD_MAX_DIMS], ny = 1, ng = 0;
    ad_prog_out_shape(g, &nd, shape);
    for (int d = 0; d < nd; d++) ny *= shape[d];
    for (int i = 0; i < p->nin; i++) ng += ad_wrt(p, i) ? 2 * p->in[i]->numel : 0;
    size_t bytes = (size_t)(2 * ny + ng + 1) * sizeof(double);
    double *buf = ad_mem_alloc(ctx, bytes, AD_MEM_META), *gr[AD_MAX_INPUTS];
    if (!buf) return ctx->err;
    double *y = buf, *yr = buf + ny, *next = buf + 2 * ny;
    for (int i = 0; i < p->nin; i++) {
        gr[i] = ad_wrt(p, i) ? next : NULL;
        next += ad_wrt(p, i) ? p->in[i]->numel : 0;
    }
    int rc = ad_prog_run(ctx, g, p->in, U ? U->data : NULL, y, gr);
    *same = rc == AD_OK;
    if (*same && e->y) *same = ad_to_array(e->y, yr, ny) == AD_OK && ad_replay_same_values(y, yr, ny);
    for (int i = 0; *same && i < p->nin; i++) {
        if (!gr[i]) continue;
        *same = e->g[i] && ad_to_array(e->g[i], next, p->in[i]->numel) == AD_OK &&
                ad_replay_same_values(gr[i], next, p->in[i]->numel);
    }
    ad_mem_free(ctx, buf, bytes, AD_MEM_META);
    return rc;
}

static int trace_call(const ad_problem *p, int k, ad_tensor *U, const ad_options *o, ad_eval *e, ad_stats *st,
                      const ad_prog_key *key)
{
    ad_ctx *ctx = p->ctx;
    tracer t = {.p = p, .prog = NULL, .why = "", .calls = 0};
    ad_problem pt = *p;
    pt.f = traced_f;
    pt.user = &t;
    int rc = ad_backend_reverse.vjp(&ad_backend_reverse, &pt, k, U, o, e, st);
    if (rc != AD_OK) { /* nothing stored: a later call traces again */
        ad_prog_free(ctx, t.prog);
        return rc;
    }
    bool same = true;
    const char *unblocked = NULL;
    if (t.prog && !ad_prog_blocked(t.prog, &unblocked) && ad_prog_max_numel(t.prog) > REPLAY_MAX_NUMEL) {
        snprintf(t.why, sizeof t.why,
                 "arrays of more than 2048 elements run as reverse unless the recording runs blocked, and it "
                 "cannot: %s",
                 unblocked);
        ad_prog_free(ctx, t.prog);
        t.prog = NULL;
    }
    if (t.prog && (rc = check_program(p, t.prog, U, e, &same)) == AD_OK && !same) {
        snprintf(t.why, sizeof t.why, "replaying the recording did not reproduce reverse's result (f does what "
                                      "the recorder cannot see)");
        ad_prog_free(ctx, t.prog);
        t.prog = NULL;
    }
    if (rc == AD_OK) rc = ad_progs_add(ctx, key, p->in, t.prog, t.why);
    else ad_prog_free(ctx, t.prog);
    if (rc == AD_OK) { /* the entry owns t.prog now */
        ad_progs_report(ctx, AD_REPLAY_TRACED, t.why, t.prog);
        return AD_OK;
    }
    /* out of memory keeping the program: the call fails as a whole */
    ad_tensor_free(e->y);
    e->y = NULL;
    for (int i = 0; i < p->nin; i++) {
        ad_tensor_free(e->g[i]);
        e->g[i] = NULL;
    }
    return rc;
}

/* ---- later calls: the program ------------------------------------------- */

/* [1, S] in the tangents category, as reverse's gradient rows are. */
static ad_tensor *grad_row(ad_ctx *ctx, const ad_tensor *x)
{
    ad_shape s;
    if (ad_tangent_shape(ctx, 1, ad_shape_of(x), &s) != AD_OK) return NULL;
    uint8_t cat = ctx->cat;
    ctx->cat = AD_MEM_TANGENTS;
    ad_tensor *g = ad_new(ctx, s.ndim, s.dim);
    ctx->cat = cat;
    return g;
}

static int replay_call(const ad_problem *p, ad_prog *g, ad_tensor *U, ad_eval *e, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    ad_scope s = ad_scope_begin(ctx);
    int nd;
    int64_t shape[AD_MAX_DIMS];
    ad_prog_out_shape(g, &nd, shape);
    ad_tensor *y = ad_new(ctx, nd, shape), *G[AD_MAX_INPUTS];
    double *gr[AD_MAX_INPUTS];
    int rc = y ? AD_OK : ctx->err;
    for (int i = 0; i < p->nin; i++) {
        G[i] = rc == AD_OK && ad_wrt(p, i) ? grad_row(ctx, p->in[i]) : NULL;
        if (ad_wrt(p, i) && !G[i] && rc == AD_OK) rc = ctx->err;
        gr[i] = G[i] ? G[i]->data : NULL;
    }
    if (rc == AD_OK) rc = ad_prog_run(ctx, g, p->in, U ? U->data : NULL, y->data, gr);
    if (st) {
        st->passes++;
        st->sweeps++;
    }
    if (rc == AD_OK) ad_progs_report(ctx, AD_REPLAY_REPLAYED, "", g);
    return ad_vjp_finish(ctx, s, rc, p->nin, y, G, e);
}

/* Whether U (or, without one, the seed 1) fits the program's output:
 * otherwise plain reverse gives the error reverse gives. */
static bool seed_fits(const ad_prog *g, const ad_tensor *U)
{
    int nd;
    int64_t shape[AD_MAX_DIMS], n = 1;
    ad_prog_out_shape(g, &nd, shape);
    for (int d = 0; d < nd; d++) n *= shape[d];
    if (!U) return n == 1;
    if (U->ndim != nd + 1 || U->shape[0] != 1) return false;
    for (int d = 0; d < nd; d++)
        if (U->shape[d + 1] != shape[d]) return false;
    return true;
}

static int replay_vjp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o, ad_eval *e,
                      ad_stats *st)
{
    int rc = ad_problem_check(p, b->name);
    if (rc != AD_OK) return rc;
    const char *why = plain_reason(p, k, U);
    if (why) return plain(p, k, U, o, e, st, why);
    ad_prog_key key = ad_replay_key(p, false);
    ad_prog_entry *en = ad_progs_find(p->ctx, &key, p->in);
    if (!en) return trace_call(p, k, U, o, e, st, &key);
    ad_prog *g = ad_prog_entry_prog(en);
    if (!g) return plain(p, k, U, o, e, st, ad_prog_entry_why(en));
    if (!seed_fits(g, U)) return plain(p, k, U, o, e, st, "the cotangent does not fit the output");
    return replay_call(p, g, U, e, st);
}

const ad_backend ad_backend_reverse_replay = {
    .name = "reverse-replay",
    .description = "reverse mode recorded once per function and input shapes, then replayed over raw buffers "
                   "without calling f (falls back to reverse where it cannot)",
    .caps = AD_CAP_EXACT | AD_CAP_RULES | AD_CAP_REVERSE,
    .jvp = NULL,
    .vjp = replay_vjp,
    .preferred_width = NULL,
};
