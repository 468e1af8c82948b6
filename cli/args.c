/* cli/args.c — the command line's option parser: "--name value",
 * "--name=value", flags, repeated options, positionals, "--". */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int find(const cli_args *a, const char *name, size_t len)
{
    for (int i = 0; i < a->nopts; i++)
        if (strlen(a->opts[i].name) == len && strncmp(a->opts[i].name, name, len) == 0) return i;
    return -1;
}

int cli_parse(cli_args *a, const char *cmd, const cli_opt *opts, int nopts, int argc, char **argv, int first)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->opts = opts;
    a->nopts = nopts;
    bool only_pos = false;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (only_pos || arg[0] != '-' || arg[1] == '\0' || (arg[1] != '-' && !(arg[1] == 'h' && !arg[2]))) {
            /* a positional (also "-x+1"-like expressions that start with '-') */
            if (a->npos == CLI_MAX_POS) {
                fprintf(stderr, "adscope %s: too many arguments (at '%s')\n", cmd, arg);
                return CLI_USAGE;
            }
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0) arg = "--help";
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int k = find(a, name, len);
        if (k < 0) {
            fprintf(stderr, "adscope %s: unknown option '--%.*s' (see 'adscope %s --help')\n", cmd, (int)len, name, cmd);
            return CLI_USAGE;
        }
        const cli_opt *o = &opts[k];
        const char *val = NULL;
        if (o->kind == CLI_FLAG) {
            if (eq) {
                fprintf(stderr, "adscope %s: option '--%s' takes no value\n", cmd, o->name);
                return CLI_USAGE;
            }
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "adscope %s: option '--%s' needs a value (%s)\n", cmd, o->name, o->metavar);
            return CLI_USAGE;
        }
        if (o->kind == CLI_MULTI) {
            if (a->nmulti[k] == CLI_MAX_MULTI) {
                fprintf(stderr, "adscope %s: '--%s' given more than %d times\n", cmd, o->name, CLI_MAX_MULTI);
                return CLI_USAGE;
            }
            a->multi[k][a->nmulti[k]++] = val;
        } else if (o->kind == CLI_VALUE && a->set[k]) {
            fprintf(stderr, "adscope %s: option '--%s' given twice\n", cmd, o->name);
            return CLI_USAGE;
        }
        a->set[k] = true;
        a->value[k] = val;
    }
    return CLI_OK;
}

bool cli_has(const cli_args *a, const char *name)
{
    int k = find(a, name, strlen(name));
    return k >= 0 && a->set[k];
}

const char *cli_get(const cli_args *a, const char *name)
{
    int k = find(a, name, strlen(name));
    return k >= 0 && a->set[k] ? a->value[k] : NULL;
}

int cli_count(const cli_args *a, const char *name)
{
    int k = find(a, name, strlen(name));
    return k >= 0 ? a->nmulti[k] : 0;
}

const char *cli_item(const cli_args *a, const char *name, int i)
{
    int k = find(a, name, strlen(name));
    return (k >= 0 && i >= 0 && i < a->nmulti[k]) ? a->multi[k][i] : NULL;
}

int cli_double(const cli_args *a, const char *name, double dflt, double lo, double hi, double *out)
{
    const char *s = cli_get(a, name);
    *out = dflt;
    if (!s) return CLI_OK;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "adscope %s: --%s expects a number between %g and %g, not '%s'\n", a->cmd, name, lo, hi, s);
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}

int cli_int(const cli_args *a, const char *name, long long dflt, long long lo, long long hi, long long *out)
{
    const char *s = cli_get(a, name);
    *out = dflt;
    if (!s) return CLI_OK;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "adscope %s: --%s expects a whole number between %lld and %lld, not '%s'\n", a->cmd, name,
                lo, hi, s);
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}
