/* src/fwd_release.c — forward mode's early release of tangents: a
 * driver's pass drops an intermediate's tangent as soon as the last op
 * that reads it has run, so tangent memory follows the live set of f, not
 * the number of intermediates f's scope keeps until it returns.
 *
 * C gives no count of a user's references to a local tensor, so the last
 * reader cannot be known while f runs.  The drivers evaluate the same f
 * ceil(n/k) times, though: each pass numbers the ops it runs at the
 * driver's level (creation order of their outputs) and notes, for each
 * output, the last op that read it; the next pass (of this call or of a
 * later call with the same f) releases by that trace.  Each op's
 * signature (op id and the numbers of its inputs) is checked against the
 * trace, and release stops for the pass at the first difference.
 *
 * A release leaves a shared sentinel (flag AD_T_TAN_GONE) in the slot, so
 * the handle still counts as carrying a tangent and every op that reads
 * it goes the tracked path, where attach_tangent detects it; so do
 * ad_get_tangent and the backend reading f's result.  A detection fails
 * the op with AD_ESTATE and the driver (modes/forward.c) runs the pass
 * again without release: f may branch differently from pass to pass
 * (data-dependent control flow, state of its own), and the price of a
 * wrong guess is one pass, never a wrong value.
 *
 * Only the slot of the driver's own level is touched (nested levels keep
 * their tangents), only outside JVP rules (the level is then suspended),
 * and only ops numbered in this pass are candidates: f's inputs (the
 * seeds) and tensors made before the pass are never released, nor is the
 * output of the learned pass.
 *
 * The trace (24 bytes per op) lives in the context between passes.  It is
 * AD_MEM_META while a pass runs and parked between passes, like the
 * recycling pools (ad_mem_stats.cached), so a driver call leaves the live
 * bytes as it found them; ad_ctx_trim gives it back. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct fr_entry {
    uint32_t sig;      /* this pass: op id and input numbers */
    int32_t last;      /* this pass: the last op that read output i (-1: none yet) */
    ad_tensor *tan;    /* this pass: output i's tangent when it was numbered (compared, never read) */
    uint32_t old_sig;  /* the learned pass */
    int32_t old_last;
} fr_entry;

struct ad_fr {
    fr_entry *e;
    int64_t cap;        /* entries allocated */
    int64_t n;          /* ops numbered in this pass */
    int64_t old_n;      /* ops of the learned pass (0: nothing learned) */
    int64_t old_out;    /* number of the learned pass's result (-1: none) */
    ad_fn key_f;        /* the learned pass's function, user data and level depth */
    void *key_user;
    int key_d;
    ad_fn f;            /* this pass's */
    void *user;
    uint32_t pass;      /* serial of the pass being numbered (handles carry it) */
    int d;              /* the slot released */
    bool use_old;       /* release by the trace in this pass */
    bool diverged;      /* this pass left the trace: no more release */
    bool parked;        /* between passes: not live, counted as cached */
    uint32_t violations; /* released tangents read */
    int64_t released;   /* tangents released in this pass */
    ad_tensor *sentinel; /* this pass's stand-in for a released tangent */
};

static int64_t fr_bytes(const ad_fr *fr) { return (int64_t)sizeof *fr + fr->cap * (int64_t)sizeof(fr_entry); }

/* Parking moves the trace's bytes out of the live count and back. */
static void fr_park(ad_ctx *ctx, ad_fr *fr, bool park)
{
    if (fr->parked == park) return;
    fr->parked = park;
    ad_mem_account(ctx, AD_MEM_META, park ? -fr_bytes(fr) : fr_bytes(fr));
    if (!park) ctx->mem.bytes_allocated -= fr_bytes(fr); /* taken back, not allocated */
}

int64_t ad_fr_parked(const ad_ctx *ctx) { return ctx->fr && ctx->fr->parked ? fr_bytes(ctx->fr) : 0; }

/* Parked bytes are not live: they go back to the allocator as the pools'
 * blocks do, without touching the live count or its peak. */
int64_t ad_fr_free(ad_ctx *ctx)
{
    ad_fr *fr = ctx->fr;
    if (!fr || !fr->parked) return 0;
    int64_t bytes = fr_bytes(fr);
    if (fr->e) {
        ctx->alloc(ctx->alloc_ud, fr->e, (size_t)fr->cap * sizeof(fr_entry), 0);
        ctx->mem.nfree++;
    }
    ctx->alloc(ctx->alloc_ud, fr, sizeof *fr, 0);
    ctx->mem.nfree++;
    ctx->fr = NULL;
    return bytes;
}

/* Room for entry i.  An allocation that fails fails the op (AD_ENOMEM). */
static int fr_reserve(ad_ctx *ctx, ad_fr *fr, int64_t i)
{
    if (i < fr->cap) return AD_OK;
    int64_t cap = fr->cap ? 2 * fr->cap : 256;
    fr_entry *e = ad_mem_realloc(ctx, fr->e, (size_t)fr->cap * sizeof *e, (size_t)cap * sizeof *e, AD_MEM_META);
    if (!e) return ctx->err;
    for (int64_t j = fr->cap; j < cap; j++) e[j] = (fr_entry){.last = -1, .old_last = -1};
    fr->e = e;
    fr->cap = cap;
    return AD_OK;
}

int ad_fr_begin(ad_ctx *ctx, ad_fn f, void *user, int d, bool release, bool *mine)
{
    *mine = false;
    /* a forward driver inside f of another: the outer pass numbers on */
    if (ctx->fr_on) return AD_OK;
    if (!ctx->fr) {
        ad_fr *fr = ad_mem_alloc(ctx, sizeof *fr, AD_MEM_META);
        if (!fr) return ctx->err;
        *fr = (ad_fr){.old_out = -1, .key_d = -1};
        ctx->fr = fr;
    }
    ad_fr *fr = ctx->fr;
    fr_park(ctx, fr, false);
    if (++fr->pass == 0) fr->pass = 1; /* 0 is what a new handle carries */
    fr->d = d;
    fr->f = f;
    fr->user = user;
    fr->n = 0;
    fr->violations = 0;
    fr->diverged = false;
    fr->released = 0;
    fr->use_old = release && fr->old_n > 0 && fr->key_f == f && fr->key_user == user && fr->key_d == d;
    ctx->fr_on = true;
    *mine = true;
    return AD_OK;
}

/* t's number in this pass, or -1: numbered by this pass and still holding
 * the tangent it was numbered with (a header recycled within the pass, or
 * a tangent moved in by an in-place op, is not the tensor numbered). */
static int64_t fr_num(const ad_fr *fr, const ad_tensor *t)
{
    if (t->fr_pass != fr->pass || t->fr_num < 0 || t->fr_num >= fr->n) return -1;
    if (!ad_tan_live(t, fr->d) || t->tan[fr->d] != fr->e[t->fr_num].tan) return -1;
    return t->fr_num;
}

static ad_tensor *fr_sentinel(ad_ctx *ctx, ad_fr *fr)
{
    if (fr->sentinel) return fr->sentinel;
    uint8_t prev = ctx->cat;
    ctx->cat = AD_MEM_META;
    ad_tensor *s = ad_zeros(ctx, (ad_shape){.ndim = 0});
    ctx->cat = prev;
    if (!s) return NULL;
    ad_unscope(s);
    s->data[0] = NAN; /* a reader that skipped the check gets NaN, never a zero */
    s->flags |= AD_T_TAN_GONE;
    fr->sentinel = s;
    return s;
}

/* Releases the tangents of in[] whose last reader, by the trace, is op i
 * (an input listed twice is released once: its number is gone then). */
static int fr_release(ad_ctx *ctx, ad_fr *fr, int64_t i, int nin, ad_tensor *const *in)
{
    for (int j = 0; j < nin; j++) {
        int64_t num = fr_num(fr, in[j]);
        if (num < 0 || num == fr->old_out || fr->e[num].old_last != i) continue;
        ad_tensor *s = fr_sentinel(ctx, fr);
        if (!s) return ctx->err;
        ad_incref(s);
        ad_tan_set(in[j], fr->d, s);
        fr->released++;
    }
    return AD_OK;
}

int ad_fr_after_op(ad_ctx *ctx, int opid, ad_tensor *out, int nin, ad_tensor *const *in)
{
    ad_fr *fr = ctx->fr;
    int d = fr->d;
    /* inside a JVP rule of this level or an outer one: not f's op */
    if (!((ctx->fwd_active >> d) & 1u) || d >= ctx->fwd_depth) return AD_OK;
    int64_t i = fr->n;
    if (i >= INT32_MAX) return AD_OK; /* beyond what a handle's number holds: no more numbering */
    int rc = fr_reserve(ctx, fr, i);
    if (rc != AD_OK) return rc;
    uint32_t h = 2166136261u ^ (uint32_t)opid;
    for (int j = 0; j < nin; j++) {
        int64_t nj = fr_num(fr, in[j]);
        h = (h ^ (uint32_t)(nj + 1)) * 16777619u;
        if (nj >= 0) fr->e[nj].last = (int32_t)i;
    }
    fr_entry *e = &fr->e[i];
    e->sig = h;
    e->last = -1;
    e->tan = ad_tan_live(out, d) ? out->tan[d] : NULL;
    out->fr_pass = fr->pass;
    out->fr_num = (int32_t)i;
    fr->n = i + 1;
    if (!fr->use_old || fr->diverged) return AD_OK;
    if (i >= fr->old_n || e->old_sig != h) {
        fr->diverged = true;
        return AD_OK;
    }
    return fr_release(ctx, fr, i, nin, in);
}

/* Whether t's slot d holds a released tangent. */
static bool released_at(const ad_tensor *t, int d) { return ad_tan_live(t, d) && (t->tan[d]->flags & AD_T_TAN_GONE); }

/* Recorded without the error handler: this is a signal to the driver,
 * which runs the pass again, not an error the user ever gets. */
int ad_fr_violation(ad_ctx *ctx, const char *what, int input)
{
    if (ctx->fr) ctx->fr->violations++;
    ctx->err = AD_ESTATE;
    snprintf(ctx->errmsg, AD_ERRMSG_MAX,
             "%s: the tangent of input %d was released early by forward mode (internal: the driver runs the pass "
             "again without release)",
             what, input);
    return AD_ESTATE;
}

int ad_fr_check_inputs(const char *what, int nin, ad_tensor *const *in, unsigned levels)
{
    for (int i = 0; i < nin; i++)
        for (int d = 0; levels >> d; d++)
            if (((levels >> d) & 1u) && released_at(in[i], d)) return ad_fr_violation(in[i]->ctx, what, i);
    return AD_OK;
}

bool ad_fr_end(ad_ctx *ctx, ad_tensor *y, bool ok, int64_t *released)
{
    ad_fr *fr = ctx->fr;
    ctx->fr_on = false;
    bool violated = fr->violations != 0 || (y && released_at(y, fr->d));
    if (ok && y && !violated) {
        /* this pass is the truth about f now: the next one releases by it */
        for (int64_t i = 0; i < fr->n; i++) {
            fr->e[i].old_sig = fr->e[i].sig;
            fr->e[i].old_last = fr->e[i].last;
        }
        fr->old_n = fr->n;
        fr->old_out = fr_num(fr, y);
        fr->key_d = fr->d;
        fr->key_f = fr->f;
        fr->key_user = fr->user;
    }
    if (released) *released = fr->released;
    fr->violations = 0;
    if (fr->sentinel) ad_decref(fr->sentinel);
    fr->sentinel = NULL;
    fr_park(ctx, fr, true);
    return violated;
}
