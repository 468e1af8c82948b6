/* modes/revolve.h — binomial checkpointing (not installed): Griewank &
 * Walther's Revolve schedule (ACM TOMS 26(1), 2000, Algorithm 799) as a
 * state machine that says, one action at a time, what a reverse sweep over
 * an iterated map x_{t+1} = F_t(x_t), t = 0..l-1, must do next with at
 * most `snaps` stored states.
 *
 *     ad_revolve r;
 *     ad_revolve_init(&r, l, snaps);
 *     for (;;) switch (ad_revolve_next(&r)) {
 *         case AD_REV_ADVANCE:  run F from the state at r.from up to r.capo (not recorded)
 *         case AD_REV_TAKESHOT: store the current state (at r.capo) in slot r.check
 *         case AD_REV_RESTORE:  load slot r.check: the current state is x_{r.capo}
 *         case AD_REV_FIRSTURN: record F_{r.capo} (and what follows x_l), seed, sweep back
 *         case AD_REV_YOUTURN:  record F_{r.capo}, sweep back from the adjoint of x_{r.capo+1}
 *         case AD_REV_TERMINATE: done;   case AD_REV_ERROR: r.why says why
 *     }
 *
 * Counts: `snaps` includes the slot holding x_0.  The ADVANCE actions run
 * exactly ad_revolve_advances(l, snaps) steps of F in all, the minimum any
 * schedule with that many slots can do; the turns run each F_t once more,
 * recorded, from t = l-1 down to 0. */
#ifndef ADSCOPE_REVOLVE_H
#define ADSCOPE_REVOLVE_H

#include <stdint.h>

typedef enum ad_revolve_action {
    AD_REV_ADVANCE,
    AD_REV_TAKESHOT,
    AD_REV_RESTORE,
    AD_REV_FIRSTURN,
    AD_REV_YOUTURN,
    AD_REV_TERMINATE,
    AD_REV_ERROR
} ad_revolve_action;

/* Most slots a schedule may use: far beyond any useful budget (the
 * repetition number is already 1 at snaps = l). */
#define AD_REVOLVE_MAX_SNAPS 65536

typedef struct ad_revolve {
    /* read after each action */
    int64_t capo;  /* the step the current state belongs to (x_capo) */
    int64_t from;  /* ADVANCE: where the advance starts (capo before it) */
    int check;     /* TAKESHOT / RESTORE: the slot; otherwise the last slot in use (-1: none) */
    const char *why; /* ERROR: the reason */
    /* the machine's own state */
    int64_t fine;  /* steps still to reverse end here: x_fine's adjoint is known (or next to seed) */
    int snaps;
    int turned;    /* the first turn has been made */
    int64_t *slot; /* slot[i]: the step stored in slot i (caller-independent bookkeeping) */
} ad_revolve;

/* Prepares a schedule for l >= 0 steps with 1 <= snaps <= AD_REVOLVE_MAX_SNAPS
 * slots; slot is an array of snaps entries owned by the caller.  Returns 0,
 * or -1 with r->why set (the first ad_revolve_next then says ERROR). */
int ad_revolve_init(ad_revolve *r, int64_t l, int snaps, int64_t *slot);
/* The next action; its operands are in r (see above). */
ad_revolve_action ad_revolve_next(ad_revolve *r);

/* β(s, r) = C(s + r, s), saturated at INT64_MAX. */
int64_t ad_revolve_beta(int64_t s, int64_t r);
/* The repetition number: the least r with β(snaps, r) >= l (0 for l <= 1). */
int64_t ad_revolve_reps(int64_t l, int snaps);

#endif
