/* bench/csv_read.c — reading a result table (ad_bench_table_read): libcsv
 * parses the RFC 4180 syntax in strict mode; this file tells comment and
 * blank lines from records, keeps the fields and checks each record
 * against the header.
 *
 * The file is handed to libcsv one line at a time (getline: lines of any
 * length, NUL bytes seen), so that a line can be recognised as a comment
 * only where a record starts (never inside a quoted field) and errors name
 * the line.  Memory stays bounded by the table: a record's fields are
 * gathered in one buffer, fields beyond the header's count are counted,
 * not kept, and a header of more than AD_BENCH_CSV_MAX_COLS fields is
 * refused at once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

#include ADSCOPE_LIBCSV_H /* libcsv's csv.h: its full path, as bench/csv.h shadows it */

typedef struct {
    ad_bench_table *t;
    const char *path;
    char *err;
    size_t errn;
    int rc;              /* the first error; callbacks do nothing after it */
    int64_t line;        /* the line being parsed (from 1) */
    int64_t rec_line;    /* the line the current record started on */
    int64_t row_end;     /* the line the last record ended on */
    char *buf;           /* the record's kept fields, each NUL-terminated */
    size_t len, cap;
    size_t *off;         /* where each kept field starts in buf */
    const char **ptr;    /* the kept fields as strings */
    int nf, nkept, capf; /* fields seen, fields kept, room in off/ptr */
    bool header;         /* the header has been read */
} reader;

static void fail(reader *rd, const char *what)
{
    rd->rc = -1;
    snprintf(rd->err, rd->errn, "%s:%lld: %s", rd->path, (long long)rd->line, what);
}

static int grow_fields(reader *rd)
{
    int cap = rd->capf ? 2 * rd->capf : 32;
    size_t *off = realloc(rd->off, (size_t)cap * sizeof *off);
    if (off) rd->off = off;
    const char **ptr = off ? realloc(rd->ptr, (size_t)cap * sizeof *ptr) : NULL;
    if (!ptr) return -1;
    rd->ptr = ptr;
    rd->capf = cap;
    return 0;
}

/* Appends s[0..n) and a NUL to the record's buffer. */
static int keep(reader *rd, const char *s, size_t n)
{
    if (rd->nkept == rd->capf && grow_fields(rd) != 0) return -1;
    if (rd->len + n + 1 > rd->cap) {
        size_t cap = rd->cap ? rd->cap : 256;
        while (cap < rd->len + n + 1) cap *= 2;
        char *b = realloc(rd->buf, cap);
        if (!b) return -1;
        rd->buf = b;
        rd->cap = cap;
    }
    if (n) memcpy(rd->buf + rd->len, s, n);
    rd->buf[rd->len + n] = '\0';
    rd->off[rd->nkept++] = rd->len;
    rd->len += n + 1;
    return 0;
}

static void on_field(void *s, size_t n, void *data)
{
    reader *rd = data;
    if (rd->rc) return;
    if (rd->nf == 0) rd->rec_line = rd->line;
    if (n && memchr(s, '\0', n)) {
        char what[96];
        snprintf(what, sizeof what, "field %d holds a NUL byte (not a text table)", rd->nf + 1);
        fail(rd, what);
        return;
    }
    int max = rd->header ? rd->t->ncols : AD_BENCH_CSV_MAX_COLS;
    rd->nf++;
    if (rd->nf > max) {
        char what[96];
        snprintf(what, sizeof what, "the header has more than %d columns", AD_BENCH_CSV_MAX_COLS);
        if (!rd->header) fail(rd, what);
        return; /* counted, not kept: the record is refused when it ends */
    }
    if (keep(rd, n ? s : "", n) != 0) fail(rd, "out of memory");
}

/* The record's kept fields as strings. */
static const char *const *fields(reader *rd)
{
    for (int i = 0; i < rd->nkept; i++) rd->ptr[i] = rd->buf + rd->off[i];
    return rd->ptr;
}

static int take_header(reader *rd)
{
    const char *const *v = fields(rd);
    int rc = ad_bench_table_init(rd->t, rd->nkept, v);
    /* init cleared the comments read so far: read_file keeps them aside */
    rd->header = true;
    return rc;
}

static void on_row(int c, void *data)
{
    (void)c;
    reader *rd = data;
    rd->row_end = rd->line;
    if (rd->rc == 0 && !rd->header) {
        if (take_header(rd) != 0) fail(rd, "out of memory");
    } else if (rd->rc == 0 && rd->nf != rd->t->ncols) {
        rd->rc = -1;
        snprintf(rd->err, rd->errn, "%s:%lld: %d fields, the header has %d", rd->path, (long long)rd->rec_line, rd->nf,
                 rd->t->ncols);
    } else if (rd->rc == 0 && ad_bench_table_add(rd->t, fields(rd)) != 0) {
        fail(rd, "out of memory");
    }
    rd->nf = rd->nkept = 0;
    rd->len = 0;
}

/* Keeps the comment line s[0..n) ("#", one space, then the text; the line
 * end dropped) among comments. */
static int add_comment(char ***comments, int *ncomments, const char *s, size_t n)
{
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    size_t skip = n > 1 && s[1] == ' ' ? 2 : 1;
    char **c = realloc(*comments, (size_t)(*ncomments + 1) * sizeof *c);
    if (!c) return -1;
    *comments = c;
    char *line = malloc(n - skip + 1);
    if (!line) return -1;
    memcpy(line, s + skip, n - skip);
    line[n - skip] = '\0';
    c[(*ncomments)++] = line;
    return 0;
}

static bool blank(const char *s, size_t n)
{
    return (n == 1 && s[0] == '\n') || (n == 2 && s[0] == '\r' && s[1] == '\n');
}

/* No character is a space: "  a " reads as itself (libcsv trims spaces
 * and tabs around unquoted fields by default, which would change cells). */
static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

/* Feeds f to libcsv line by line; comments go to *comments. */
static void parse(reader *rd, FILE *f, struct csv_parser *p, char ***comments, int *ncomments)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool at_start = true; /* where a record may start: not inside a quoted field */
    for (rd->line = 1; rd->rc == 0 && (n = getline(&line, &cap, f)) > 0; rd->line++) {
        if (at_start && blank(line, (size_t)n)) continue;
        if (at_start && line[0] == '#') {
            /* a NUL would cut the comment where C strings end: refused, as in fields */
            if (memchr(line, '\0', (size_t)n)) fail(rd, "a comment line holds a NUL byte");
            else if (add_comment(comments, ncomments, line, (size_t)n) != 0) fail(rd, "out of memory");
            continue;
        }
        if (csv_parse(p, line, (size_t)n, on_field, on_row, rd) != (size_t)n && rd->rc == 0)
            fail(rd, csv_error(p) == CSV_ENOMEM ? "out of memory" : "a stray double quote");
        at_start = rd->row_end == rd->line && line[n - 1] == '\n';
    }
    free(line);
    if (rd->rc == 0 && ferror(f)) {
        rd->rc = -1;
        snprintf(rd->err, rd->errn, "%s: read error: %s", rd->path, strerror(errno));
    }
    if (rd->rc == 0 && csv_fini(p, on_field, on_row, rd) != 0 && rd->rc == 0)
        fail(rd, "a quoted field is not closed (the file ends inside it)");
}

/* The header's reader took the table over: put the comments in it. */
static void attach_comments(ad_bench_table *t, char **comments, int ncomments)
{
    t->comments = comments;
    t->ncomments = ncomments;
}

int ad_bench_table_read(const char *path, ad_bench_table *t, char *err, size_t errn)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errn, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct csv_parser p;
    reader rd = {.t = t, .path = path, .err = err, .errn = errn};
    char **comments = NULL;
    int ncomments = 0;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        snprintf(err, errn, "%s: out of memory", path);
        rd.rc = -1;
    } else {
        csv_set_space_func(&p, no_space);
        parse(&rd, f, &p, &comments, &ncomments);
        csv_free(&p);
    }
    fclose(f);
    if (rd.rc == 0 && !rd.header) {
        snprintf(err, errn, "%s: no header line", path);
        rd.rc = -1;
    }
    attach_comments(t, comments, ncomments); /* freed with t, also on error */
    free(rd.buf);
    free(rd.off);
    free(rd.ptr);
    if (rd.rc != 0) ad_bench_table_free(t);
    return rd.rc;
}
