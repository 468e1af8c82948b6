/* cli/completion.c — 'adscope completion bash [FILE]': the bash completion
 * script, generated from the program's own tables (docgen.h): the commands
 * and help topics, each command's options (its cli_opt table; for a command
 * with a syntax of its own, the options its --help lists), the backends of
 * the registry for --mode, --reference and --backends, the benchmark suite
 * for --functions.  A new command, option, backend or suite function is in
 * the completion with no change here.
 *
 * The script needs bash alone (not the bash-completion package): it fills
 * COMPREPLY from COMP_WORDS and COMP_CWORD with compgen. */
#include <errno.h>
#include <string.h>

#include "bench.h"
#include "docgen.h"

/* Names are written into the script unquoted: only these characters may
 * appear in them (a name with others is left out rather than quoted). */
static bool plain(const char *s)
{
    if (!s || !*s) return false;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-", *s)) return false;
    return true;
}

static void word(FILE *f, const char *w, bool *first)
{
    if (!plain(w)) return;
    fprintf(f, "%s%s", *first ? "" : " ", w);
    *first = false;
}

/* The registry's backends, those without any of the capabilities in
 * `without`. */
static void backend_words(FILE *f, unsigned without, bool *first)
{
    for (int i = 0; i < ad_backend_count(); i++)
        if (!(ad_backend_at(i)->caps & without)) word(f, ad_backend_at(i)->name, first);
}

static void put_vars(FILE *f)
{
    bool first = true;
    fputs("    local backends=\"", f);
    backend_words(f, 0, &first);
    fputs("\"\n    local differences=\"", f);
    first = true;
    backend_words(f, AD_CAP_EXACT, &first);
    fputs("\"\n    local functions=\"", f);
    first = true;
    for (int i = 0; i < ad_bench_suite_count(); i++) word(f, ad_bench_suite_at(i)->name, &first);
    fputs("\"\n", f);
}

/* Words the help text of c offers besides backends on the line of --mode
 * ("'all' to run ...", "or auto (default)"). */
static void mode_extras(FILE *f, const cli_command *c)
{
    const char *line = strstr(c->help, "\n    --mode ");
    if (!line) return;
    const char *end = strchr(line + 1, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    static const char *const extras[] = {"all", "auto"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(extras[i]);
        for (size_t k = 0; k + n <= len; k++)
            if (k > 0 && memcmp(line + k, extras[i], n) == 0 && strchr(" '", line[k - 1]) &&
                !strchr("abcdefghijklmnopqrstuvwxyz-", line[k + n])) {
                fprintf(f, " %s", extras[i]);
                break;
            }
    }
}

/* The completion of an option's value, as one case of $prev: words, files,
 * or nothing (':') when nothing sensible can be offered (a number, an
 * expression), so that no file names are offered either. */
static void put_value(FILE *f, const cli_command *c, const cli_opt *o)
{
    const char *n = o->name, *m = o->metavar ? o->metavar : "";
    fprintf(f, "        --%s) ", n);
    if (strcmp(n, "mode") == 0) {
        fputs("COMPREPLY=($(compgen -W \"$backends", f);
        mode_extras(f, c);
        fputs("\" -- \"$cur\"))", f);
    } else if (strcmp(n, "reference") == 0) {
        fputs("COMPREPLY=($(compgen -W \"$differences\" -- \"$cur\"))", f);
    } else if (strcmp(n, "backends") == 0) {
        fputs("_adscope_list \"$backends all\"", f);
    } else if (strcmp(n, "functions") == 0) {
        fputs("_adscope_list \"$functions all none\"", f);
    } else if (strcmp(n, "format") == 0 || strcmp(n, "plot-format") == 0) {
        fputs("COMPREPLY=($(compgen -W \"png svg dumb\" -- \"$cur\"))", f);
    } else if (strcmp(m, "DIR") == 0) {
        fputs("COMPREPLY=($(compgen -d -- \"$cur\"))", f);
    } else if (strstr(m, "PATH") || strstr(m, "FILE") || strstr(m, ".csv")) {
        fputs("COMPREPLY=($(compgen -f -- \"$cur\"))", f);
    } else {
        fputs(":", f);
    }
    fputs("; return ;;\n", f);
}

/* A command without an option table: the options its --help lists
 * (lines of OPTIONS that start with '-': "-o FILE, --out FILE"). */
static void help_options(FILE *f, const cli_command *c, bool *first)
{
    const char *p = strstr(c->help, "\nOPTIONS\n");
    for (p = p ? strchr(p + 1, '\n') + 1 : NULL; p && *p == ' '; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *q = p;
        while (*q == ' ') q++;
        while (*q == '-') {
            char name[64];
            size_t k = strcspn(q, " ,=\n");
            snprintf(name, sizeof name, "%.*s", (int)(k < 63 ? k : 63), q);
            word(f, name, first);
            q += k;
            q += strcspn(q, ",\n"); /* the metavar */
            if (*q == ',') q += strspn(q, ", ");
        }
    }
}

static void put_command(FILE *f, const cli_command *c)
{
    if (!plain(c->name)) return;
    fprintf(f, "    %s)\n        opts=\"", c->name);
    bool first = true;
    for (int i = 0; i < c->nopts; i++) {
        char name[64];
        snprintf(name, sizeof name, "--%s", c->opts[i].name);
        word(f, name, &first);
    }
    bool has_help = false;
    for (int i = 0; i < c->nopts; i++) has_help = has_help || strcmp(c->opts[i].name, "help") == 0;
    if (!c->nopts) help_options(f, c, &first);
    if (!has_help) word(f, "--help", &first); /* the skeleton (or merge's parser) answers it */
    fputs("\"\n        case $prev in\n", f);
    for (int i = 0; i < c->nopts; i++)
        if (c->opts[i].kind != CLI_FLAG && plain(c->opts[i].name)) put_value(f, c, &c->opts[i]);
    fputs("        esac ;;\n", f);
}

static const char HEAD[] =
    "# bash completion for adscope: commands, options, backends and suite functions.\n"
    "# Generated by 'adscope completion bash' from the program's own tables; do not edit.\n"
    "\n"
    "# The last item of a comma-separated list (--backends reverse,for<TAB>).\n"
    "_adscope_list()\n"
    "{\n"
    "    local pre=\n"
    "    [[ $cur == *,* ]] && pre=${cur%,*},\n"
    "    COMPREPLY=($(compgen -P \"$pre\" -W \"$1\" -- \"${cur##*,}\"))\n"
    "}\n"
    "\n"
    "_adscope()\n"
    "{\n"
    "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
    "    local cmd=${COMP_WORDS[1]} opts=\n";

static const char TAIL[] =
    "    *) return ;;\n"
    "    esac\n"
    "    if [[ $cur == -* ]]; then\n"
    "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
    "    else\n"
    "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "    fi\n"
    "}\n"
    "complete -o filenames -F _adscope adscope\n";

static void put_script(FILE *f)
{
    fputs(HEAD, f);
    put_vars(f);
    bool first = true;
    fputs("    local commands=\"", f);
    for (int i = 0; cli_command_at(i); i++) word(f, cli_command_at(i)->name, &first);
    fputs("\"\n    if ((COMP_CWORD == 1)); then\n"
          "        COMPREPLY=($(compgen -W \"$commands help --help --version\" -- \"$cur\"))\n"
          "        return\n    fi\n    case $cmd in\n    help)\n"
          "        ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W \"$commands",
          f);
    for (int t = 0; cli_help_topics[t]; t++) fprintf(f, " %s", cli_help_topics[t]);
    fputs("\" -- \"$cur\"))\n        return ;;\n", f);
    for (int i = 0; cli_command_at(i); i++) put_command(f, cli_command_at(i));
    fputs(TAIL, f);
}

int cli_completion_main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || strcmp(argv[2], "bash") != 0) {
        fprintf(stderr, "usage: adscope completion bash [FILE]   (the bash completion script, on stdout or into FILE)\n");
        return CLI_USAGE;
    }
    FILE *f = argc == 4 ? fopen(argv[3], "w") : stdout;
    if (!f) {
        fprintf(stderr, "adscope completion: cannot write %s: %s\n", argv[3], strerror(errno));
        return CLI_USAGE;
    }
    put_script(f);
    bool bad = ferror(f) != 0;
    if (f != stdout) bad = fclose(f) != 0 || bad;
    else bad = fflush(f) != 0 || bad;
    if (bad) fprintf(stderr, "adscope completion: writing the script failed\n");
    return bad ? CLI_USAGE : CLI_OK;
}
