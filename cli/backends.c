/* cli/backends.c — the backends as the command line sees them: --mode NAME,
 * --width and --h, the colour of a backend in the charts, and the backends
 * some commands pick for a role (the reference of 'grad --mode all', the
 * exact derivative fd-error and tangent measure against, the difference
 * rules fd-error draws).
 *
 * The role selections below still go by registry name and copy the
 * difference step's formula: the library does not yet say which backend
 * has which capability or report a rule's step.  Each is one function with
 * a TODO(merge) naming its replacement, so nothing else in cli/ picks a
 * backend by name. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cli.h"

int cli_backend_opts(const cli_args *a, ad_options *o)
{
    long long w;
    double h;
    memset(o, 0, sizeof *o);
    if (cli_int(a, "width", 0, 1, 65536, &w) != CLI_OK) return CLI_USAGE;
    if (cli_double(a, "h", 0, 1e-300, 1e300, &h) != CLI_OK) return CLI_USAGE;
    o->width = (int)w;
    o->h = h;
    return CLI_OK;
}

const ad_backend *cli_backend(const char *cmd, const char *name)
{
    const ad_backend *b = ad_backend_find(name);
    if (!b) {
        fprintf(stderr, "adscope %s: unknown mode '%s'; the backends are:", cmd, name);
        for (int i = 0; i < ad_backend_count(); i++) fprintf(stderr, " %s", ad_backend_at(i)->name);
        fprintf(stderr, " (or 'all')\n");
    }
    return b;
}

int cli_backend_linetype(const char *name)
{
    int r = 0;
    while (r < ad_backend_count() && strcmp(ad_backend_at(r)->name, name) != 0) r++;
    return r < 7 ? r + 1 : 8;
}

/* TODO(merge): ad_backend_with(AD_CAP_EXACT | AD_CAP_VJP): exact, one sweep
 * per gradient. */
const ad_backend *cli_exact_vjp_backend(void)
{
    return ad_backend_find("reverse");
}

/* TODO(merge): ad_backend_with(AD_CAP_EXACT | AD_CAP_JVP): exact, one pass
 * per direction. */
const ad_backend *cli_exact_jvp_backend(void)
{
    return ad_backend_find("forward");
}

/* TODO(merge): the difference rule of highest order with an error estimate,
 * from the rule table (ad_backend_fd_rule). */
const ad_backend *cli_fd_reference_backend(void)
{
    return ad_backend_find("five-point");
}

/* TODO(merge): every registered backend b with ad_backend_fd_rule(b), sorted
 * by the rule's order. */
int cli_fd_rules(cli_fd_rule *rules, int max)
{
    static const struct {
        const char *name;
        int order;
    } RULES[] = {{"forward-diff", 1}, {"central", 2}, {"five-point", 4}};
    int n = 0;
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0] && n < max; i++) {
        const ad_backend *b = ad_backend_find(RULES[i].name);
        if (b) rules[n++] = (cli_fd_rule){b, RULES[i].order};
    }
    return n;
}

/* TODO(merge): ad_fd_step(...), the step the backend reports.  Until then a
 * copy of modes/finite.c (one_direction): h = eps^(1/(p+1))·max(1, max|x|
 * on v's support)/max|v|, and along a single coordinate moved so that x + h
 * is representable.  fd-error prints the backend's own error at its
 * automatic step beside this h, so a drift between the two would show. */
double cli_fd_step(const cli_fn *fn, ad_tensor *const *v, int order)
{
    double vmax = 0, xmax = 1, xj = 0;
    int64_t nnz = 0;
    for (int i = 0; i < fn->nvars; i++) {
        if (!fn->wrt[i]) continue;
        const double *d = ad_data(v[i]), *x = ad_data(fn->values[i]);
        for (int64_t j = 0; j < ad_numel(v[i]); j++) {
            if (d[j] == 0) continue;
            nnz++;
            xj = x[j];
            if (fabs(d[j]) > vmax) vmax = fabs(d[j]);
            if (fabs(x[j]) > xmax) xmax = fabs(x[j]);
        }
    }
    if (nnz == 0) return NAN;
    double h = pow(DBL_EPSILON, 1.0 / (order + 1)) * xmax / vmax;
    if (nnz == 1 && vmax == 1) {
        volatile double moved = xj + h;
        if (moved - xj > 0) h = moved - xj;
    }
    return h;
}
