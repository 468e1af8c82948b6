/* cli/backends.c — the backends as the command line sees them: --mode NAME,
 * --width and --h, the colour of a backend in the charts, and the
 * difference rules fd-error draws.  Backends needed for a role (the exact
 * derivative, the reference) are selected by capability where they are
 * used (ad_backend_with, ad_backend_reference), never by name. */
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

/* The registry's difference rules (ad_backend_fd_rule), lowest order
 * first; on equal orders, in registry order.  A rule evaluated through a
 * recorded program (.replay: central-replay) is left out: its points are
 * the plain rule's, to the bit. */
int cli_fd_rules(const ad_backend **rules, int max)
{
    int n = 0;
    for (int i = 0; i < ad_backend_count() && n < max; i++) {
        const ad_backend *b = ad_backend_at(i);
        const ad_fd_rule *R = ad_backend_fd_rule(b);
        if (!R || R->replay) continue;
        int at = n++;
        while (at > 0 && ad_backend_fd_rule(rules[at - 1])->order > R->order) {
            rules[at] = rules[at - 1];
            at--;
        }
        rules[at] = b;
    }
    return n;
}
