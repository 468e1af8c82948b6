/* cli/cmd_graph.c — adscope graph: the computation graph that reverse
 * mode records for an expression, as DOT text or a picture drawn by
 * Graphviz's dot.  The graph is read from the tape itself (ad_tape_visit),
 * so it shows exactly what a backward sweep would traverse: the records in
 * tape order with their grad_fn names, output shapes and the bytes they
 * saved, the leaves that require grad, and the constants. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gnuplot.h"

static const char HELP[] =
    "NAME\n"
    "    adscope graph - the recorded computation graph as a picture or DOT text\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope graph EXPR --var NAME=VALUE... [--out FILE] [--rankdir LR|TB] [--wrt NAMES]\n"
    "\n"
    "DESCRIPTION\n"
    "    Evaluates EXPR with requires_grad on every variable (or on those of --wrt)\n"
    "    and grad mode on, then draws what the tape recorded, as a backward sweep\n"
    "    would traverse it:\n"
    "\n"
    "      leaves    boxes: the variable's name, shape and requires_grad; constants\n"
    "                (numbers, variables without requires_grad) as dashed grey boxes\n"
    "      records   ellipses: tape position #seq, the grad_fn name (MulBackward0),\n"
    "                the output's shape and the bytes saved for the backward pass\n"
    "      edges     from each input to the record that consumed it, in tape order\n"
    "      output    the record that produced EXPR's value, highlighted\n"
    "\n"
    "    FILE ending in .png, .svg or .pdf is drawn by Graphviz's dot (Debian\n"
    "    package graphviz); .dot or .gv gets the DOT text; without --out (or with\n"
    "    --out -) the DOT text goes to stdout.  When dot is not installed, the DOT\n"
    "    text is written to FILE.dot instead, with a note saying how to draw it, and\n"
    "    the exit status is still 0.  The layout runs left to right for small graphs\n"
    "    and top to bottom from 16 records on (--rankdir chooses).\n"
    "\n"
    "OPTIONS\n"
    "    --var NAME=VALUE   bind a variable (see 'adscope grad --help').\n"
    "    --out FILE         FILE.png, FILE.svg, FILE.pdf (dot), FILE.dot or FILE.gv (text).\n"
    "    --rankdir D        LR (left to right) or TB (top to bottom).\n"
    "    --wrt NAMES        only these variables require grad (the others are constants).\n"
    "    --seed S           seed of randn()/rand() in values.\n"
    "    --plugin PATH.so:SYMBOL   a C function instead of EXPR.\n"
    "\n"
    "ENVIRONMENT\n"
    "    ADSCOPE_DOT        Graphviz's dot program (default: dot on PATH).\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success (also when dot is missing and the DOT text was written instead);\n"
    "    2 usage or input error, or dot failed.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope graph '2*dot(x,x)' --var x='arange(4)' --out graph.png\n"
    "    adscope graph 'sum(tanh(A @ x))' --var A='randn(3,3)' --var x='randn(3)' --wrt x\n"
    "    adscope graph 'sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)' --var x='ones(5)' --out rosen.svg\n";

static const cli_opt OPTS[] = {{"var", CLI_MULTI, "NAME=VALUE"}, {"plugin", CLI_VALUE, "PATH.so:SYMBOL"},
                               {"wrt", CLI_VALUE, "NAMES"},      {"seed", CLI_VALUE, "S"},
                               {"out", CLI_VALUE, "FILE"},       {"rankdir", CLI_VALUE, "LR|TB"},
                               {"help", CLI_FLAG, NULL}};

#define CMD "graph"

/* The live records, copied out of the visit. */
typedef struct {
    int64_t n, cap;
    ad_tape_entry *e;
    bool oom;
} records;

static int collect(const ad_tape_entry *e, void *ud)
{
    records *r = ud;
    if (e->released) return AD_OK;
    if (r->n == r->cap) {
        int64_t c = r->cap ? 2 * r->cap : 64;
        ad_tape_entry *ne = realloc(r->e, (size_t)c * sizeof *ne);
        if (!ne) {
            r->oom = true;
            return AD_ENOMEM;
        }
        r->e = ne;
        r->cap = c;
    }
    r->e[r->n++] = *e;
    return AD_OK;
}

static const char *bytes_str(char *buf, size_t n, int64_t b)
{
    if (b < 10000) snprintf(buf, n, "%lld B", (long long)b);
    else if (b < 10000000) snprintf(buf, n, "%.1f kB", (double)b / 1e3);
    else snprintf(buf, n, "%.1f MB", (double)b / 1e6);
    return buf;
}

/* s inside a DOT double-quoted string (\n in the label stays a line break) */
static void dot_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
}

static void shape_str(char *buf, size_t n, ad_shape s)
{
    ad_shape_str(&s, buf, n);
}

/* The variable a leaf is, or -1. */
static int leaf_var(const cli_fn *fn, const ad_tensor *leaf)
{
    for (int i = 0; i < fn->nvars; i++)
        if (fn->values[i] == leaf) return i;
    return -1;
}

typedef struct {
    const cli_fn *fn;
    FILE *f;
    const ad_tensor **leaves; /* leaves already drawn */
    int nleaves;
    const ad_tensor *y;
} dot_ctx;

/* Draws a leaf on its first use; returns its node id in buf. */
static void leaf_node(dot_ctx *d, const ad_tensor *leaf, char *id, size_t n)
{
    int k = 0;
    while (k < d->nleaves && d->leaves[k] != leaf) k++;
    snprintf(id, n, "leaf%d", k);
    if (k < d->nleaves) return;
    d->leaves[d->nleaves++] = leaf;
    int v = leaf_var(d->fn, leaf);
    char sh[128], label[512];
    shape_str(sh, sizeof sh, ad_shape_of(leaf));
    snprintf(label, sizeof label, "%s  %s\nrequires_grad%s", v >= 0 ? d->fn->names[v] : "leaf", sh,
             leaf == d->y ? "\noutput" : "");
    fprintf(d->f, "  %s [shape=box, style=\"rounded,filled\", fillcolor=\"#dbeaf7\", color=\"#0072B2\"%s, label=\"", id,
            leaf == d->y ? ", penwidth=2.5" : "");
    dot_escaped(d->f, label);
    fprintf(d->f, "\"];\n");
}

static void dot_header(FILE *f, const cli_fn *fn, const records *r, const char *rankdir)
{
    fprintf(f, "// adscope graph: the tape recorded by evaluating the expression below, in tape order\n");
    fprintf(f, "digraph adscope {\n");
    fprintf(f, "  graph [rankdir=%s, fontname=\"sans\", fontsize=13, labelloc=t, nodesep=0.25, ranksep=0.35, "
               "label=\"",
            rankdir);
    char title[128];
    snprintf(title, sizeof title, "%.100s%s", fn->label, strlen(fn->label) > 100 ? "..." : "");
    dot_escaped(f, title);
    fprintf(f, "  (%lld record%s)\"];\n", (long long)r->n, cli_plural(r->n, "s"));
    fprintf(f, "  node [fontname=\"sans\", fontsize=11, margin=\"0.08,0.04\", height=0.3];\n");
    fprintf(f, "  edge [color=\"#505050\", arrowsize=0.6];\n");
}

/* Record i's ellipse. */
static void record_node(FILE *f, const ad_tape_entry *e, bool is_out)
{
    char sh[128], b[32], label[512];
    shape_str(sh, sizeof sh, e->out_shape);
    snprintf(label, sizeof label, "#%llu %s\n%s  saved %s%s", (unsigned long long)e->seq, e->name, sh,
             bytes_str(b, sizeof b, e->saved_bytes), is_out ? "\noutput" : "");
    fprintf(f, "  n%llu [shape=ellipse, style=filled, fillcolor=\"%s\", color=\"%s\"%s, label=\"",
            (unsigned long long)e->seq, is_out ? "#fbd9c4" : "#f2f2f2", is_out ? "#D55E00" : "#606060",
            is_out ? ", penwidth=2.5" : "");
    dot_escaped(f, label);
    fprintf(f, "\"];\n");
}

/* Input j of record i: a record (drawn dashed when released), a leaf, or a
 * constant; its node id in from. */
static void input_node(dot_ctx *d, const records *r, int64_t i, int j, char *from, size_t n)
{
    const ad_tape_entry *e = &r->e[i];
    if (e->input_seq[j] >= 0) {
        bool live = false;
        for (int64_t q = 0; q < i && !live; q++) live = (int64_t)r->e[q].seq == e->input_seq[j];
        snprintf(from, n, "n%lld", (long long)e->input_seq[j]);
        if (!live)
            fprintf(d->f, "  %s [shape=ellipse, style=dashed, label=\"#%lld (released)\"];\n", from,
                    (long long)e->input_seq[j]);
    } else if (e->input_is_leaf[j] && e->input_leaf[j]) {
        leaf_node(d, e->input_leaf[j], from, n);
    } else {
        snprintf(from, n, "c%llu_%d", (unsigned long long)e->seq, j);
        fprintf(d->f, "  %s [shape=box, style=dashed, color=\"#a0a0a0\", fontcolor=\"#707070\", fontsize=9, "
                      "label=\"constant\"];\n",
                from);
    }
}

static void record_edges(dot_ctx *d, const records *r, int64_t i)
{
    const ad_tape_entry *e = &r->e[i];
    int nin = e->ninputs < 8 ? e->ninputs : 8;
    for (int j = 0; j < nin; j++) {
        char from[48];
        input_node(d, r, i, j, from, sizeof from);
        fprintf(d->f, "  %s -> n%llu;\n", from, (unsigned long long)e->seq);
    }
    if (e->ninputs > 8)
        fprintf(d->f, "  more%llu [shape=plaintext, label=\"+%d more inputs\"];\n  more%llu -> n%llu [style=dotted];\n",
                (unsigned long long)e->seq, e->ninputs - 8, (unsigned long long)e->seq, (unsigned long long)e->seq);
}

static int write_dot(FILE *f, const cli_fn *fn, const records *r, const ad_tensor *y, const char *rankdir)
{
    const ad_tensor **leaves = malloc(sizeof(ad_tensor *) * (size_t)(8 * r->n + 1));
    if (!leaves) return CLI_USAGE;
    dot_ctx d = {.fn = fn, .f = f, .leaves = leaves, .y = y};
    dot_header(f, fn, r, rankdir);
    if (r->n == 0 && ad_is_leaf(y) && ad_requires_grad(y)) {
        char id[32];
        leaf_node(&d, y, id, sizeof id);
    } else if (r->n == 0) {
        fprintf(f, "  empty [shape=note, label=\"nothing recorded: the value does not depend on a variable that "
                   "requires grad\"];\n");
    }
    for (int64_t i = 0; i < r->n; i++) {
        record_node(f, &r->e[i], r->e[i].output && r->e[i].output == y);
        record_edges(&d, r, i);
    }
    fprintf(f, "}\n");
    free(leaves);
    return CLI_OK;
}

static int write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "adscope %s: cannot write %s: %s\n", CMD, path, strerror(errno));
        return CLI_USAGE;
    }
    size_t w = fwrite(text, 1, len, f);
    if (fclose(f) != 0 || w != len) {
        fprintf(stderr, "adscope %s: cannot write %s\n", CMD, path);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* DOT text to FILE: drawn by dot for .png/.svg/.pdf, written as it is for
 * .dot/.gv, to stdout for NULL or "-". */
static int emit(const char *out, const char *text, size_t len)
{
    if (!out || strcmp(out, "-") == 0) {
        fwrite(text, 1, len, stdout);
        return CLI_OK;
    }
    if (cli_ends_with(out, ".dot") || cli_ends_with(out, ".gv")) {
        int rc = write_file(out, text, len);
        if (rc == CLI_OK) printf("adscope graph: DOT text in %s\n", out);
        return rc;
    }
    /* the extension was checked before the work */
    const char *fmt = cli_ends_with(out, ".png") ? "png" : cli_ends_with(out, ".svg") ? "svg" : "pdf";
    const char *env = getenv("ADSCOPE_DOT");
    const char *name = env && *env ? env : "dot";
    char dot[CLI_PATH_MAX];
    if (!cli_find_program(name, dot, sizeof dot)) {
        char alt[CLI_PATH_MAX];
        snprintf(alt, sizeof alt, "%s.dot", out);
        int rc = write_file(alt, text, len);
        if (rc == CLI_OK)
            printf("adscope graph: Graphviz's dot (%s) is not installed, so %s was not drawn; the DOT text is in %s.\n"
                   "  Install the Debian package graphviz (apt-get install -y graphviz) and run:\n"
                   "    dot -T%s -o '%s' '%s'\n",
                   name, out, alt, fmt, out, alt);
        return rc;
    }
    char tflag[16], *argv[] = {dot, tflag, (char *)"-o", (char *)out, NULL};
    snprintf(tflag, sizeof tflag, "-T%s", fmt);
    int st = cli_run_program(CMD, dot, argv, text, len);
    if (st != 0) {
        if (st > 0) fprintf(stderr, "adscope %s: dot (%s) failed with exit status %d drawing %s\n", CMD, dot, st, out);
        return CLI_USAGE;
    }
    printf("adscope graph: %s\n", out);
    return CLI_OK;
}

typedef struct {
    const char *rankdir, *out;
} graph_opts;

static int options(const cli_args *a, void *opts)
{
    graph_opts *g = opts;
    g->rankdir = cli_get(a, "rankdir");
    if (g->rankdir && strcmp(g->rankdir, "LR") != 0 && strcmp(g->rankdir, "TB") != 0) {
        fprintf(stderr, "adscope %s: --rankdir must be LR or TB, not '%s'\n", CMD, g->rankdir);
        return CLI_USAGE;
    }
    const char *out = g->out = cli_get(a, "out");
    if (out && strcmp(out, "-") != 0 && !cli_ends_with(out, ".dot") && !cli_ends_with(out, ".gv") &&
        !cli_ends_with(out, ".png") && !cli_ends_with(out, ".svg") && !cli_ends_with(out, ".pdf")) {
        fprintf(stderr, "adscope %s: --out %s: the name must end in .png, .svg or .pdf (a picture) or .dot or .gv "
                        "(DOT text)\n",
                CMD, out);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* f evaluated with grad mode on and requires_grad on the --wrt variables;
 * the live tape records in r. */
static ad_tensor *record(cli_fn *fn, records *r)
{
    for (int i = 0; i < fn->nvars; i++)
        if (fn->wrt[i] && ad_requires_grad_(fn->values[i], true) != AD_OK) {
            cli_report_error(fn);
            return NULL;
        }
    ad_tensor *y = cli_fn_eval(fn, true); /* reports a broken plugin contract too */
    if (!y) return NULL;
    if (ad_tape_visit(fn->ctx, collect, r) != AD_OK) {
        fprintf(stderr, "adscope %s: %s\n", CMD, r->oom ? "out of memory" : ad_errmsg(fn->ctx));
        return NULL;
    }
    return y;
}

static int run(cli_call *c)
{
    const graph_opts *g = c->opts;
    records r = {0};
    ad_tensor *y = record(c->fn, &r);
    int rc = y ? CLI_OK : CLI_USAGE;
    char *text = NULL;
    size_t len = 0;
    if (rc == CLI_OK) {
        FILE *f = open_memstream(&text, &len);
        const char *rankdir = g->rankdir ? g->rankdir : r.n >= 16 ? "TB" : "LR";
        if (!f || write_dot(f, c->fn, &r, y, rankdir) != CLI_OK) {
            fprintf(stderr, "adscope %s: out of memory\n", CMD);
            rc = CLI_USAGE;
        }
        if (f) fclose(f);
    }
    if (rc == CLI_OK) rc = emit(g->out, text, len);
    free(text);
    free(r.e);
    return rc;
}

const cli_command cli_cmd_graph = {
    .name = CMD,
    .summary = "the recorded computation graph as a picture (Graphviz) or DOT text",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_FN,
    .opts_size = sizeof(graph_opts),
    .options = options,
    .run = run,
};
