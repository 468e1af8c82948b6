/* cli/cmd_merge.c — adscope merge: joins result CSVs from shards or
 * machines (bench/csv.c does the work).  Its syntax is its own (-o, any
 * number of files), so it replaces the command skeleton's parser. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"

static const char HELP[] =
    "NAME\n"
    "    adscope merge - join result CSVs from shards or machines\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope merge A.csv B.csv ... [-o OUT.csv]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads result files written by 'adscope bench' and writes one table: the\n"
    "    first file's comment lines (a later file's differing value of a key is\n"
    "    kept as 'key[i]: value'), the rows of every file sorted by function,\n"
    "    backend and size.  The headers must be identical, and a cell (function,\n"
    "    backend, size) may appear only once.  With -o, the summary of the merged\n"
    "    results (fitted exponents beside theory, as 'adscope bench' prints it)\n"
    "    goes to stdout.\n"
    "\n"
    "OPTIONS\n"
    "    -o FILE, --out FILE   write to FILE instead of stdout.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 a file cannot be read, the headers differ, a duplicate cell,\n"
    "    or a usage error.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope bench --shard 0/2 --out a & adscope bench --shard 1/2 --out b; wait\n"
    "    adscope merge a/results.shard-0-of-2.csv b/results.shard-1-of-2.csv -o results.csv\n";

typedef struct {
    const char *out; /* -o FILE, or NULL: stdout */
    const char **files;
    int n;
} merge_args;

/* One argument at argv[*i] (moving *i past an option's value).  Returns
 * CLI_OK, CLI_USAGE (printed), or -1 for --help (parse returns it too). */
static int parse_one(merge_args *m, int argc, char **argv, int *i, bool *only_files)
{
    const char *s = argv[*i];
    if (*only_files) {
        m->files[m->n++] = s;
    } else if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
        return -1;
    } else if (strcmp(s, "--") == 0) {
        *only_files = true;
    } else if (strcmp(s, "-o") == 0 || strcmp(s, "--out") == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "adscope merge: option '%s' needs a value (FILE)\n", s);
            return CLI_USAGE;
        }
        if (m->out) {
            fprintf(stderr, "adscope merge: option '-o' given twice\n");
            return CLI_USAGE;
        }
        m->out = argv[++*i];
    } else if (strncmp(s, "--out=", 6) == 0) {
        m->out = s + 6;
    } else if (s[0] == '-' && s[1]) {
        fprintf(stderr, "adscope merge: unknown option '%s' (see 'adscope merge --help')\n", s);
        return CLI_USAGE;
    } else {
        m->files[m->n++] = s;
    }
    return CLI_OK;
}

static int parse(merge_args *m, int argc, char **argv)
{
    bool only_files = false;
    for (int i = 2; i < argc; i++) {
        int rc = parse_one(m, argc, argv, &i, &only_files);
        if (rc != CLI_OK) return rc;
    }
    if (m->n == 0) {
        fprintf(stderr, "adscope merge: no files to merge (adscope merge A.csv B.csv ... [-o OUT])\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* The merged table to out (or stdout); with -o, the summary of the whole
 * goes to stdout. */
static int write_merged(const merge_args *m, const ad_bench_table *t)
{
    FILE *f = m->out ? fopen(m->out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "adscope merge: cannot write %s: %s\n", m->out, strerror(errno));
        return CLI_USAGE;
    }
    int w = ad_bench_table_write(f, t);
    if ((m->out ? fclose(f) : fflush(f)) != 0 || w != 0) {
        fprintf(stderr, "adscope merge: error writing %s\n", m->out ? m->out : "stdout");
        return CLI_USAGE;
    }
    if (!m->out) return CLI_OK;
    ad_bench_series *ser = NULL;
    int nser = 0;
    if (ad_bench_summarize(t, &ser, &nser) == 0) ad_bench_summary_print(stdout, ser, nser);
    free(ser);
    fprintf(stderr, "adscope merge: %lld rows from %d file%s into %s\n", (long long)t->nrows, m->n,
            cli_plural(m->n, "s"), m->out);
    return CLI_OK;
}

static int merge_main(int argc, char **argv)
{
    merge_args m = {.files = malloc((size_t)(argc > 0 ? argc : 1) * sizeof(char *))};
    if (!m.files) return CLI_USAGE;
    int rc = parse(&m, argc, argv);
    if (rc != CLI_OK) {
        free(m.files);
        return rc < 0 ? cli_help_of("merge") : rc;
    }
    ad_bench_table t;
    char err[1024];
    if (ad_bench_merge(m.n, m.files, &t, err, sizeof err) != 0) {
        fprintf(stderr, "adscope merge: %s\n", err);
        free(m.files);
        return CLI_USAGE;
    }
    rc = write_merged(&m, &t);
    ad_bench_table_free(&t);
    free(m.files);
    return rc;
}

const cli_command cli_cmd_merge = {
    .name = "merge",
    .summary = "join result CSVs from shards or machines",
    .help = HELP,
    .main = merge_main,
};
