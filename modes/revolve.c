/* modes/revolve.c — the Revolve schedule (ad_revolve_*): binomial
 * checkpointing after Griewank & Walther, ACM TOMS 26(1):19-45, 2000.
 *
 * The recurrence.  Let t(l, s) be the fewest forward steps (beyond the l
 * recorded ones) that reverse l steps with s slots, the range's start held
 * in one of them.  Storing the state after m steps splits the range:
 * t(l, s) = min_m { m + t(m, s) + t(l - m, s - 1) }, and its solution is
 * t(l, s) = r·l - β(s + 1, r - 1), r the least integer with β(s, r) >= l,
 * β(s, r) = C(s + r, s).  In words: with s slots and r repetitions one can
 * reverse β(s, r) steps, each step run at most r times forward.
 *
 * Where to put the next snapshot.  Every m in an interval attains the
 * minimum; the paper gives its ends with the binomials below (bino1 =
 * β(s, r-1), bino2 = β(s-1, r-1), bino3 = β(s-2, r-1), bino4 = β(s, r-2),
 * bino5 = β(s-3, r)).  The step then sits as close to the end as the
 * interval allows, which keeps the later (first reversed) part short.
 * tests/test_checkpoint.c checks the counts against t(l, s) and against
 * the recurrence solved by brute force. */
#include "revolve.h"

#include <stddef.h>

/* The most steps a schedule handles: keeps every product below within
 * int64 (range < 2^31 times reps + snaps < 2^31 + 2^16). */
#define MAX_STEPS ((int64_t)1 << 31)

int64_t ad_revolve_beta(int64_t s, int64_t r)
{
    if (s < 0 || r < 0) return 0;
    int64_t k = s < r ? s : r, n = s + r, b = 1;
    for (int64_t i = 1; i <= k; i++) {
        int64_t f = n - k + i; /* b·f/i is C(n-k+i, i): exact */
        if (b > INT64_MAX / f) return INT64_MAX;
        b = b * f / i;
    }
    return b;
}

int64_t ad_revolve_reps(int64_t l, int snaps)
{
    int64_t r = 0;
    while (ad_revolve_beta(snaps, r) < l) r++;
    return r;
}

int ad_revolve_init(ad_revolve *r, int64_t l, int snaps, int64_t *slot)
{
    *r = (ad_revolve){.capo = 0, .fine = l, .check = -1, .snaps = snaps, .slot = slot};
    if (l < 0 || l > MAX_STEPS) r->why = "the number of steps must lie in [0, 2^31]";
    else if (snaps < 1 || snaps > AD_REVOLVE_MAX_SNAPS) r->why = "the number of snapshots must lie in [1, 65536]";
    else if (!slot) r->why = "no slot array";
    return r->why ? -1 : 0;
}

/* How far to advance from capo over span >= 2 steps with ds >= 1 slots
 * (the one at capo included): the paper's choice. */
static int64_t advance_by(int64_t span, int64_t ds)
{
    int64_t reps = 0, range = 1;
    while (range < span) {
        reps++;
        range = range * (reps + ds) / reps; /* β(ds, reps) from β(ds, reps-1), exact */
    }
    int64_t bino1 = range * reps / (ds + reps);
    int64_t bino2 = ds > 1 ? bino1 * ds / (ds + reps - 1) : 1;
    int64_t bino3 = ds == 1 ? 0 : ds > 2 ? bino2 * (ds - 1) / (ds + reps - 2) : 1;
    int64_t bino4 = bino2 * (reps - 1) / ds;
    int64_t bino5 = ds < 3 ? 0 : ds > 3 ? bino3 * (ds - 2) / reps : 1;
    int64_t m;
    if (span <= bino1 + bino3) m = bino4;
    else if (span >= range - bino5) m = bino1;
    else m = span - bino2 - bino3;
    return m < 1 ? 1 : m;
}

/* A range fully reversed down to capo: the previous snapshot, or the end. */
static ad_revolve_action at_turned_end(ad_revolve *r)
{
    if (r->check < 0) return AD_REV_TERMINATE;
    r->capo = r->slot[r->check];
    return AD_REV_RESTORE;
}

ad_revolve_action ad_revolve_next(ad_revolve *r)
{
    if (r->why) return AD_REV_ERROR;
    int64_t span = r->fine - r->capo;
    if (span == 0) return at_turned_end(r);
    if (span == 1) {
        r->fine--;
        /* the state in hand is x_capo: its slot is free once this step is reversed */
        if (r->check >= 0 && r->slot[r->check] == r->capo) r->check--;
        if (r->turned) return AD_REV_YOUTURN;
        r->turned = 1;
        return AD_REV_FIRSTURN;
    }
    if (r->check < 0 || r->slot[r->check] != r->capo) {
        if (r->check + 1 >= r->snaps) {
            r->why = "no free slot for a snapshot";
            return AD_REV_ERROR;
        }
        r->slot[++r->check] = r->capo;
        return AD_REV_TAKESHOT;
    }
    r->from = r->capo;
    r->capo += advance_by(span, (int64_t)r->snaps - r->check);
    return AD_REV_ADVANCE;
}
