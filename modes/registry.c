/* modes/registry.c — the one table of backends (ad_backend_*): the
 * built-ins and those registered at run time, found by position, by name
 * or by capability.
 *
 * The built-ins come first in a fixed order; backends registered at run
 * time follow.  The command line's --mode, the benchmark harness and the
 * tests all iterate over this table. */
#include <string.h>

#include "modes.h"

/* The built-ins, in order: the AD backends, the difference rules (one row
 * each in finite.c's table, so a new row is registered by being written),
 * then GSL's. */
static const ad_backend *const ad_builtins[] = {&ad_backend_forward, &ad_backend_forward_vector, &ad_backend_reverse};
static const ad_backend *const late_builtins[] = {&ad_backend_gsl_deriv};
#define NAD ((int)(sizeof ad_builtins / sizeof ad_builtins[0]))
#define NLATE ((int)(sizeof late_builtins / sizeof late_builtins[0]))
#define NBUILTIN (NAD + ad_fd_nbackends + NLATE)
#define MAX_USER 32

static const ad_backend *user_backends[MAX_USER];
static int nuser;

int ad_backend_count(void) { return NBUILTIN + nuser; }

const ad_backend *ad_backend_at(int i)
{
    if (i < 0) return NULL;
    if (i < NAD) return ad_builtins[i];
    if ((i -= NAD) < ad_fd_nbackends) return &ad_fd_backends[i];
    if ((i -= ad_fd_nbackends) < NLATE) return late_builtins[i];
    i -= NLATE;
    return i < nuser ? user_backends[i] : NULL;
}

const ad_backend *ad_backend_find(const char *name)
{
    if (!name) return NULL;
    for (int i = 0; i < ad_backend_count(); i++)
        if (strcmp(ad_backend_at(i)->name, name) == 0) return ad_backend_at(i);
    return NULL;
}

const ad_backend *ad_backend_with(unsigned caps)
{
    for (int i = 0; i < ad_backend_count(); i++)
        if ((ad_backend_at(i)->caps & caps) == caps) return ad_backend_at(i);
    return NULL;
}

const ad_backend *ad_backend_reference(void)
{
    const ad_backend *best = NULL;
    for (int i = 0; i < ad_backend_count(); i++) {
        const ad_backend *b = ad_backend_at(i);
        const ad_fd_rule *R = ad_backend_fd_rule(b);
        if (!R || !(b->caps & AD_CAP_ESTIMATE)) continue;
        if (!best || R->order > ad_backend_fd_rule(best)->order) best = b;
    }
    return best;
}

int ad_backend_register(const ad_backend *b)
{
    if (!b || !b->name || !b->name[0] || (!b->jvp && !b->vjp)) return AD_EINVAL;
    if (ad_backend_find(b->name)) return AD_ESTATE;
    if (nuser == MAX_USER) return AD_ELIMIT;
    user_backends[nuser++] = b;
    return AD_OK;
}

int ad_backend_unregister(const char *name)
{
    if (!name) return AD_EINVAL;
    for (int i = 0; i < nuser; i++) {
        if (strcmp(user_backends[i]->name, name) != 0) continue;
        memmove(user_backends + i, user_backends + i + 1, (size_t)(nuser - i - 1) * sizeof *user_backends);
        nuser--;
        return AD_OK;
    }
    return AD_ENOTFOUND;
}
