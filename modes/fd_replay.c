/* modes/fd_replay.c — difference rules whose evaluations of f go through a
 * recorded program (ad_fd_rule.replay: central-replay).  The contract is
 * reverse-replay's (jax.jit's): the first call per key (f, user, input
 * shapes) calls f for real once, at x, with the recorder on
 * (src/trace.h); the program's value at x must equal that call's bit for
 * bit, or f is not replayed; later calls never call f.  What cannot be
 * replayed is evaluated as plain differences evaluate it, and
 * ad_replay_last says why.
 *
 * Why: the rules make 2n evaluations (central), each a pass over f's
 * arrays; through the program a point x ± h·e_j reruns only the blocks
 * that read x_j (src/replay_value.c), so the points cost a block and the
 * sum tree's depth instead of f. */
#include <stdio.h>

#include "replay.h"

/* Why this call cannot use a program, or NULL.  (A nested problem was
 * refused before: difference rules do not nest.) */
static const char *plain_reason(const ad_problem *p, ad_tensor *const *x)
{
    ad_ctx *ctx = p->ctx;
    if (ctx->rec) {
        ad_rec_poison(ctx, "a driver ran inside f");
        return "called inside a function being traced";
    }
    if (p->flags & AD_PROBLEM_OPAQUE) return "f is a black box (plain C over its inputs' data)";
    for (int i = 0; i < p->nin; i++)
        if (!(x[i]->flags & AD_T_CONTIG)) return "an input is not contiguous";
    return NULL;
}

/* Whether the program gives y's values at x (the check that nothing the
 * recorder missed changed a value).  AD_OK with *same set, or AD_ENOMEM. */
static int check_program(ad_ctx *ctx, ad_prog *g, ad_tensor *const *x, ad_tensor *y, bool *same)
{
    size_t bytes = 2 * (size_t)y->numel * sizeof(double);
    double *buf = ad_mem_alloc(ctx, bytes, AD_MEM_META);
    if (!buf) return ctx->err;
    int rc = ad_prog_value(ctx, g, x, buf);
    *same = rc == AD_OK && ad_to_array(y, buf + y->numel, y->numel) == AD_OK &&
            ad_replay_same_values(buf, buf + y->numel, y->numel);
    ad_mem_free(ctx, buf, bytes, AD_MEM_META);
    return rc;
}

/* The three elements of an input whose moves check_moves tries. */
static int64_t pick(const ad_tensor *t, int k) { return k == 0 ? 0 : k == 1 ? t->numel / 2 : t->numel - 1; }
static double nudge(double v) { return v * (1 + 0x1p-20) + 0x1p-20; }

/* Whether moved points (one element changed: replay_value.c's rerun of the
 * blocks that read it) give what the whole program gives there, for the
 * first, middle and last element of every input.  Why: a moved point is
 * only right if it reruns every block the element reaches; an op the
 * incremental path did not know to read the whole input would give wrong
 * differences silently — this refuses the program instead.  AD_OK with
 * *same set (left alone when the program is not blocked: its moved points
 * are whole evaluations), or AD_ENOMEM. */
static int check_moves(ad_ctx *ctx, ad_prog *g, ad_tensor *const *x, int nin, bool *same)
{
    if (!g->block) return AD_OK;
    double moved[AD_MAX_INPUTS][3], whole;
    ad_prog_moves mv;
    int rc = ad_prog_moves_begin(&mv, ctx, g, x);
    for (int i = 0; i < nin && rc == AD_OK; i++)
        for (int k = 0; k < 3 && rc == AD_OK && x[i]->numel > 0; k++)
            rc = ad_prog_moved_value(&mv, i, pick(x[i], k), nudge(x[i]->data[pick(x[i], k)]), &moved[i][k]);
    ad_prog_moves_end(&mv);
    for (int i = 0; i < nin && rc == AD_OK; i++)
        for (int k = 0; k < 3 && rc == AD_OK && x[i]->numel > 0; k++) {
            double *d = &x[i]->data[pick(x[i], k)], old = *d;
            *d = nudge(old);
            rc = ad_prog_value(ctx, g, x, &whole);
            *d = old;
            *same = *same && ad_replay_same_values(&whole, &moved[i][k], 1);
        }
    return rc;
}

/* f at x with the recorder on; the program (checked) stored for key. */
static int record(ad_fd_replay *rp, const ad_problem *p, ad_tensor *const *x, const ad_prog_key *key,
                  ad_tensor **y0, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    bool wrt[AD_MAX_INPUTS] = {false}; /* the value alone: no adjoints */
    int rc = ad_rec_begin(ctx, p->nin, x, wrt);
    ad_tensor *y = rc == AD_OK ? ad_call_f(p, x, st) : NULL;
    ad_prog *g = NULL;
    char why[AD_REC_WHY];
    int rc2 = ad_rec_end(ctx, y, &g, why);
    if (rc != AD_OK || rc2 != AD_OK || !y) { /* nothing stored: a later call records again */
        ad_prog_free(ctx, g);
        return ctx->err;
    }
    bool same = true;
    if (g && (rc = check_program(ctx, g, x, y, &same)) == AD_OK && !same)
        snprintf(why, sizeof why, "the recording's value did not reproduce f's (f does what the recorder cannot see)");
    if (g && rc == AD_OK && same && (rc = check_moves(ctx, g, x, p->nin, &same)) == AD_OK && !same)
        snprintf(why, sizeof why, "the recording's points near x did not reproduce its whole evaluations there");
    if (g && (rc != AD_OK || !same)) {
        ad_prog_free(ctx, g);
        g = NULL;
    }
    if (rc == AD_OK) rc = ad_progs_add(ctx, key, x, g, why);
    else ad_prog_free(ctx, g);
    if (rc != AD_OK) return rc;
    ad_progs_report(ctx, AD_REPLAY_TRACED, why, g);
    rp->prog = g;
    *y0 = y;
    return AD_OK;
}

int ad_fd_replay_begin(ad_fd_replay *rp, const ad_problem *p, ad_tensor *const *x, ad_tensor **y0, ad_stats *st)
{
    *rp = (ad_fd_replay){.prog = NULL, .moving = false};
    ad_ctx *ctx = p->ctx;
    const char *why = plain_reason(p, x);
    if (why) {
        ad_progs_report(ctx, AD_REPLAY_PLAIN, why, NULL);
        return AD_OK;
    }
    ad_prog_key key = ad_replay_key(p, true);
    ad_prog_entry *en = ad_progs_find(ctx, &key, x);
    if (!en) return record(rp, p, x, &key, y0, st);
    rp->prog = ad_prog_entry_prog(en);
    if (rp->prog) ad_progs_report(ctx, AD_REPLAY_REPLAYED, "", rp->prog);
    else ad_progs_report(ctx, AD_REPLAY_PLAIN, ad_prog_entry_why(en), NULL);
    return AD_OK;
}

/* A tensor of the program's output shape, in the open scope (a pass). */
static ad_tensor *out_tensor(const ad_fd_replay *rp, ad_ctx *ctx, ad_stats *st)
{
    int nd;
    int64_t shape[AD_MAX_DIMS];
    ad_prog_out_shape(rp->prog, &nd, shape);
    if (st) st->passes++;
    return ad_new(ctx, nd, shape);
}

ad_tensor *ad_fd_replay_at(ad_fd_replay *rp, ad_ctx *ctx, ad_tensor *const *x, ad_stats *st)
{
    ad_tensor *y = out_tensor(rp, ctx, st);
    return y && ad_prog_value(ctx, rp->prog, x, y->data) == AD_OK ? y : NULL;
}

ad_tensor *ad_fd_replay_moved(ad_fd_replay *rp, ad_ctx *ctx, ad_tensor *const *xs, int in, int64_t el, double v,
                              ad_stats *st)
{
    if (!rp->moving) {
        if (ad_prog_moves_begin(&rp->mv, ctx, rp->prog, xs) != AD_OK) return NULL;
        rp->moving = true;
    }
    ad_tensor *y = out_tensor(rp, ctx, st);
    return y && ad_prog_moved_value(&rp->mv, in, el, v, y->data) == AD_OK ? y : NULL;
}

void ad_fd_replay_end(ad_fd_replay *rp)
{
    if (rp->moving) ad_prog_moves_end(&rp->mv);
    rp->moving = false;
}
