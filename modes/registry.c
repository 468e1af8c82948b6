/* modes/registry.c — the one table of backends (ad_backend_*): the
 * built-ins and those registered at run time, found by position, by name
 * or by capability.
 *
 * The built-ins come first in a fixed order; backends registered at run
 * time follow.  The command line's --mode, the benchmark harness and the
 * tests all iterate over this table.
 *
 * Threads.  The table is process-wide, so the part that changes (the
 * user's backends) sits behind one mutex.  Readers never hold it while
 * they work: every search below copies the table under the lock
 * (ad_backend_list, a few hundred bytes) and then walks its copy.  Why a
 * snapshot rather than a reader-writer lock held during iteration: the
 * iterations that matter (gradcheck choosing its backends, the command
 * line's --mode all) run the user's f and rules between two reads, which
 * may take minutes and may themselves call the registry; holding a lock
 * across them would stall every registration meanwhile, and a rule that
 * registers a backend would deadlock.  A snapshot is consistent (no NULL
 * halfway through a loop when another thread unregisters) and the lock is
 * held only for the copy.  Descriptors are the caller's (usually static
 * const); unregistering does not free one, so a snapshot's pointers stay
 * valid as long as the owner keeps them alive (backend.h says so). */
#include <pthread.h>
#include <string.h>

#include "checkpoint.h"
#include "modes.h"

/* The built-ins, in order: the AD backends, the difference rules (one row
 * each in finite.c's table, so a new row is registered by being written),
 * then GSL's, then checkpointed reverse, reverse-replay and central-replay
 * (last, so that the older ones keep their positions: the charts' colours
 * follow them). */
static const ad_backend *const ad_builtins[] = {&ad_backend_forward, &ad_backend_forward_vector, &ad_backend_reverse};
static const ad_backend *const late_builtins[] = {&ad_backend_gsl_deriv, &ad_backend_reverse_checkpoint,
                                                  &ad_backend_reverse_replay, &ad_backend_central_replay};
#define NAD ((int)(sizeof ad_builtins / sizeof ad_builtins[0]))
#define NLATE ((int)(sizeof late_builtins / sizeof late_builtins[0]))
#define NBUILTIN (NAD + ad_fd_nbackends + NLATE)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* guards user_backends and nuser */
static const ad_backend *user_backends[AD_BACKEND_MAX];
static int nuser;

/* The i-th built-in (0 <= i < NBUILTIN); immutable, no lock needed. */
static const ad_backend *builtin_at(int i)
{
    if (i < NAD) return ad_builtins[i];
    if ((i -= NAD) < ad_fd_nbackends) return &ad_fd_backends[i];
    return late_builtins[i - ad_fd_nbackends];
}

int ad_backend_list(const ad_backend **out, int max)
{
    pthread_mutex_lock(&lock);
    int n = NBUILTIN + nuser;
    for (int i = 0; out && i < n && i < max; i++) out[i] = i < NBUILTIN ? builtin_at(i) : user_backends[i - NBUILTIN];
    pthread_mutex_unlock(&lock);
    return n;
}

int ad_backend_count(void) { return ad_backend_list(NULL, 0); }

const ad_backend *ad_backend_at(int i)
{
    if (i < 0) return NULL;
    if (i < NBUILTIN) return builtin_at(i);
    pthread_mutex_lock(&lock);
    const ad_backend *b = i - NBUILTIN < nuser ? user_backends[i - NBUILTIN] : NULL;
    pthread_mutex_unlock(&lock);
    return b;
}

/* Position of the backend called name in the n entries of all, or -1. */
static int index_of(const ad_backend *const *all, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(all[i]->name, name) == 0) return i;
    return -1;
}

const ad_backend *ad_backend_find(const char *name)
{
    const ad_backend *all[AD_BACKEND_MAX];
    if (!name) return NULL;
    int n = ad_backend_list(all, AD_BACKEND_MAX);
    int i = index_of(all, n, name);
    return i < 0 ? NULL : all[i];
}

const ad_backend *ad_backend_with(unsigned caps)
{
    const ad_backend *all[AD_BACKEND_MAX];
    int n = ad_backend_list(all, AD_BACKEND_MAX);
    for (int i = 0; i < n; i++)
        if ((all[i]->caps & caps) == caps) return all[i];
    return NULL;
}

const ad_backend *ad_backend_reference(void)
{
    const ad_backend *all[AD_BACKEND_MAX], *best = NULL;
    int n = ad_backend_list(all, AD_BACKEND_MAX);
    for (int i = 0; i < n; i++) {
        const ad_fd_rule *R = ad_backend_fd_rule(all[i]);
        if (!R || !(all[i]->caps & AD_CAP_ESTIMATE)) continue;
        if (!best || R->order > ad_backend_fd_rule(best)->order) best = all[i];
    }
    return best;
}

int ad_backend_register(const ad_backend *b)
{
    const ad_backend *all[AD_BACKEND_MAX];
    if (!b || !b->name || !b->name[0] || (!b->jvp && !b->vjp)) return AD_EINVAL;
    pthread_mutex_lock(&lock);
    int n = NBUILTIN + nuser, rc = AD_OK;
    for (int i = 0; i < n; i++) all[i] = i < NBUILTIN ? builtin_at(i) : user_backends[i - NBUILTIN];
    if (index_of(all, n, b->name) >= 0) rc = AD_ESTATE;
    else if (n >= AD_BACKEND_MAX) rc = AD_ELIMIT;
    else user_backends[nuser++] = b;
    pthread_mutex_unlock(&lock);
    return rc;
}

int ad_backend_unregister(const char *name)
{
    if (!name) return AD_EINVAL;
    pthread_mutex_lock(&lock);
    int i = index_of(user_backends, nuser, name);
    if (i >= 0) {
        memmove(user_backends + i, user_backends + i + 1, (size_t)(nuser - i - 1) * sizeof *user_backends);
        nuser--;
    }
    pthread_mutex_unlock(&lock);
    return i >= 0 ? AD_OK : AD_ENOTFOUND;
}
