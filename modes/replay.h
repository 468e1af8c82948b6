/* modes/replay.h — what the replaying backends share (not installed): a
 * problem's key in the context's programs (replay.c), and the difference
 * rules' evaluations of f through a recorded program (fd_replay.c,
 * behind central-replay). */
#ifndef ADSCOPE_MODES_REPLAY_H
#define ADSCOPE_MODES_REPLAY_H

#include "modes.h"
#include "trace.h"

/* p's key: f, user, input shapes, differentiated inputs; value_only for a
 * program recorded without derivatives (its value alone). */
ad_prog_key ad_replay_key(const ad_problem *p, bool value_only);

/* Whether a[i] == b[i] for every i < n, a NaN matching a NaN: the
 * self-checks' test that a program reproduced what f gave (replay.c). */
bool ad_replay_same_values(const double *a, const double *b, int64_t n);

/* One difference primitive's evaluations through a program. */
typedef struct ad_fd_replay {
    ad_prog *prog;     /* NULL: f is called as plain differences call it */
    ad_prog_moves mv;  /* the unit points' session, opened at the first */
    bool moving;
} ad_fd_replay;

/* Finds the program of p at its fresh inputs x, or records it: then f is
 * called once at x with the recorder on (a pass), the program's value at
 * x is checked against that call's, and *y0 gets that call's result (a
 * new reference in the open scope; untouched otherwise).  Without a
 * program (f cannot be replayed, the call cannot use one) rp->prog stays
 * NULL and ad_replay_last says why.  AD_OK, or the status of f's failure
 * or of a refused allocation. */
int ad_fd_replay_begin(ad_fd_replay *rp, const ad_problem *p, ad_tensor *const *x, ad_tensor **y0, ad_stats *st);
/* f at x (contiguous, the recorded shapes) by the whole program: a new
 * reference in the open scope, or NULL with the error recorded.  A pass. */
ad_tensor *ad_fd_replay_at(ad_fd_replay *rp, ad_ctx *ctx, ad_tensor *const *x, ad_stats *st);
/* f at xs with xs[in][el] set to v, xs put back: through the base point's
 * tree after the first call (xs: the same tensors, unchanged in between,
 * for one primitive call).  As ad_fd_replay_at. */
ad_tensor *ad_fd_replay_moved(ad_fd_replay *rp, ad_ctx *ctx, ad_tensor *const *xs, int in, int64_t el, double v,
                              ad_stats *st);
/* Ends the session (frees the base point's tree). */
void ad_fd_replay_end(ad_fd_replay *rp);

#endif
