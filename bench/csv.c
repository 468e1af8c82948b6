/* bench/csv.c — result tables: CSV with comment lines, read, written,
 * sorted and merged (ad_bench_table_*, ad_bench_merge).  See csv.h. */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int ad_bench_table_init(ad_bench_table *t, int ncols, const char *const *cols)
{
    memset(t, 0, sizeof *t);
    t->cols = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof *t->cols);
    if (!t->cols) return -1;
    t->ncols = ncols;
    for (int i = 0; i < ncols; i++)
        if (!(t->cols[i] = dup(cols[i]))) return -1;
    return 0;
}

void ad_bench_table_free(ad_bench_table *t)
{
    if (!t) return;
    for (int i = 0; i < t->ncomments; i++) free(t->comments[i]);
    free(t->comments);
    for (int i = 0; i < t->ncols; i++) free(t->cols ? t->cols[i] : NULL);
    free(t->cols);
    for (int64_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

int ad_bench_table_comment(ad_bench_table *t, const char *key, const char *value)
{
    char **c = realloc(t->comments, (size_t)(t->ncomments + 1) * sizeof *c);
    if (!c) return -1;
    t->comments = c;
    size_t n = strlen(key) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line) return -1;
    snprintf(line, n, "%s: %s", key, value);
    /* a comment is one line */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    t->comments[t->ncomments++] = line;
    return 0;
}

const char *ad_bench_table_meta(const ad_bench_table *t, const char *key)
{
    size_t k = strlen(key);
    for (int i = 0; i < t->ncomments; i++)
        if (strncmp(t->comments[i], key, k) == 0 && t->comments[i][k] == ':')
            return t->comments[i][k + 1] == ' ' ? t->comments[i] + k + 2 : t->comments[i] + k + 1;
    return NULL;
}

int ad_bench_table_add(ad_bench_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 64;
        char **c = realloc(t->cells, (size_t)(cap * t->ncols) * sizeof *c);
        if (!c) return -1;
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = dup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            for (int j = 0; j < i; j++) free(row[j]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

int ad_bench_table_col(const ad_bench_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i], name) == 0) return i;
    return -1;
}

const char *ad_bench_table_get(const ad_bench_table *t, int64_t row, const char *col)
{
    int c = ad_bench_table_col(t, col);
    if (c < 0 || row < 0 || row >= t->nrows) return NULL;
    return t->cells[row * t->ncols + c];
}

double ad_bench_table_num(const ad_bench_table *t, int64_t row, const char *col)
{
    const char *s = ad_bench_table_get(t, row, col);
    if (!s || !*s) return NAN;
    char *end;
    double v = strtod(s, &end);
    return *end ? NAN : v;
}

/* ---- writing -------------------------------------------------------------------------- */

static void field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int ad_bench_table_write(FILE *f, const ad_bench_table *t)
{
    for (int i = 0; i < t->ncomments; i++) fprintf(f, "# %s\n", t->comments[i]);
    for (int i = 0; i < t->ncols; i++) {
        if (i) fputc(',', f);
        field(f, t->cols[i]);
    }
    fputc('\n', f);
    for (int64_t r = 0; r < t->nrows; r++) {
        for (int i = 0; i < t->ncols; i++) {
            if (i) fputc(',', f);
            field(f, t->cells[r * t->ncols + i]);
        }
        fputc('\n', f);
    }
    fflush(f);
    return ferror(f) ? -1 : 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct {
    char **v;
    int n, cap;
} fields;

static int push_field(fields *fl, const char *s, size_t n)
{
    if (fl->n == fl->cap) {
        int cap = fl->cap ? 2 * fl->cap : 32;
        char **v = realloc(fl->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        fl->v = v;
        fl->cap = cap;
    }
    char *d = malloc(n + 1);
    if (!d) return -1;
    memcpy(d, s, n);
    d[n] = '\0';
    fl->v[fl->n++] = d;
    return 0;
}

static void clear_fields(fields *fl)
{
    for (int i = 0; i < fl->n; i++) free(fl->v[i]);
    fl->n = 0;
}

/* Splits one record starting at *pos of buf (quoted fields may span lines).
 * Returns 1 for a record, 0 at the end, -1 on an error. */
static int record(const char *buf, size_t len, size_t *pos, fields *fl, int64_t *line, char *err, size_t errn,
                  const char *path)
{
    size_t i = *pos;
    if (i >= len) return 0;
    char tmp[65536];
    for (;;) {
        size_t k = 0;
        if (i < len && buf[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    snprintf(err, errn, "%s:%lld: a quoted field is not closed", path, (long long)*line);
                    return -1;
                }
                if (buf[i] == '"') {
                    if (i + 1 < len && buf[i + 1] == '"') {
                        if (k < sizeof tmp) tmp[k++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (buf[i] == '\n') (*line)++;
                if (k < sizeof tmp) tmp[k++] = buf[i];
                i++;
            }
        } else {
            while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') {
                if (k < sizeof tmp) tmp[k++] = buf[i];
                i++;
            }
        }
        if (push_field(fl, tmp, k) != 0) {
            snprintf(err, errn, "%s: out of memory", path);
            return -1;
        }
        if (i < len && buf[i] == ',') {
            i++;
            continue;
        }
        if (i < len && buf[i] == '\r') i++;
        if (i < len && buf[i] == '\n') i++;
        (*line)++;
        *pos = i;
        return 1;
    }
}

/* The whole file at path in a malloc'd *buf of *len bytes. */
static int slurp(const char *path, char **buf, size_t *len, char *err, size_t errn)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errn, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 0, got;
    char chunk[65536];
    *buf = NULL;
    *len = 0;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (*len + got + 1 > cap) {
            cap = (*len + got + 1) * 2;
            char *b = realloc(*buf, cap);
            if (!b) {
                free(*buf);
                fclose(f);
                snprintf(err, errn, "%s: out of memory", path);
                return -1;
            }
            *buf = b;
        }
        memcpy(*buf + *len, chunk, got);
        *len += got;
    }
    bool ioerr = ferror(f);
    fclose(f);
    if (ioerr) {
        free(*buf);
        snprintf(err, errn, "%s: read error", path);
        return -1;
    }
    return 0;
}

/* A file being read: its bytes, where we are, what to name in errors. */
typedef struct {
    const char *buf;
    size_t len, pos;
    int64_t line;
    const char *path;
    char *err;
    size_t errn;
} reader;

/* Keeps the comment line s[0..n) (after "# "), cut at 4095 bytes, without
 * its '\r'. */
static int add_comment(ad_bench_table *t, const char *s, size_t n)
{
    char line_buf[4096];
    if (n > sizeof line_buf - 1) n = sizeof line_buf - 1;
    memcpy(line_buf, s, n);
    line_buf[n] = '\0';
    if (n && line_buf[n - 1] == '\r') line_buf[n - 1] = '\0';
    char **c = realloc(t->comments, (size_t)(t->ncomments + 1) * sizeof *c);
    if (!c) return -1;
    t->comments = c;
    if (!(c[t->ncomments] = dup(line_buf))) return -1;
    t->ncomments++;
    return 0;
}

/* The comments and blank lines before the header. */
static int read_comments(reader *rd, ad_bench_table *t)
{
    const char *buf = rd->buf;
    while (rd->pos < rd->len && (buf[rd->pos] == '#' || buf[rd->pos] == '\n')) {
        size_t e = rd->pos;
        while (e < rd->len && buf[e] != '\n') e++;
        if (buf[rd->pos] == '#') {
            size_t s = rd->pos + 1;
            if (s < e && buf[s] == ' ') s++;
            if (add_comment(t, buf + s, e - s) != 0) {
                snprintf(rd->err, rd->errn, "%s: out of memory", rd->path);
                return -1;
            }
        }
        rd->pos = e < rd->len ? e + 1 : e;
        rd->line++;
    }
    return 0;
}

static int read_header(reader *rd, fields *fl, ad_bench_table *t)
{
    int r = record(rd->buf, rd->len, &rd->pos, fl, &rd->line, rd->err, rd->errn, rd->path);
    if (r <= 0) {
        if (r == 0) snprintf(rd->err, rd->errn, "%s: no header line", rd->path);
        return -1;
    }
    t->ncols = fl->n;
    t->cols = fl->v;
    fl->v = NULL;
    fl->n = fl->cap = 0;
    return 0;
}

/* The rows after the header, skipping blank and comment lines among them;
 * every row has the header's number of fields. */
static int read_rows(reader *rd, fields *fl, ad_bench_table *t)
{
    const char *buf = rd->buf;
    for (;;) {
        int64_t at = rd->line;
        if (rd->pos < rd->len && (buf[rd->pos] == '\n' || buf[rd->pos] == '#')) {
            while (rd->pos < rd->len && buf[rd->pos] != '\n') rd->pos++;
            rd->pos++;
            rd->line++;
            continue;
        }
        int r = record(buf, rd->len, &rd->pos, fl, &rd->line, rd->err, rd->errn, rd->path);
        if (r <= 0) return r;
        if (fl->n != t->ncols) {
            snprintf(rd->err, rd->errn, "%s:%lld: %d fields, the header has %d", rd->path, (long long)at, fl->n,
                     t->ncols);
            return -1;
        }
        int rc = ad_bench_table_add(t, (const char *const *)fl->v);
        clear_fields(fl);
        if (rc != 0) {
            snprintf(rd->err, rd->errn, "%s: out of memory", rd->path);
            return -1;
        }
    }
}

int ad_bench_table_read(const char *path, ad_bench_table *t, char *err, size_t errn)
{
    memset(t, 0, sizeof *t);
    char *buf;
    size_t len;
    if (slurp(path, &buf, &len, err, errn) != 0) return -1;
    reader rd = {.buf = buf, .len = len, .pos = 0, .line = 1, .path = path, .err = err, .errn = errn};
    fields fl = {0};
    int rc = read_comments(&rd, t);
    if (rc == 0) rc = read_header(&rd, &fl, t);
    if (rc == 0) rc = read_rows(&rd, &fl, t);
    clear_fields(&fl);
    free(fl.v);
    free(buf);
    if (rc != 0) ad_bench_table_free(t);
    return rc;
}

/* ---- sorting and merging ------------------------------------------------------------------ */

typedef struct {
    const ad_bench_table *t;
    int nkeys;
    int keys[8];
} sort_ctx;

static sort_ctx g_sort; /* qsort has no context argument */

static int cmp_rows(const void *a, const void *b)
{
    int64_t ra = *(const int64_t *)a, rb = *(const int64_t *)b;
    const ad_bench_table *t = g_sort.t;
    for (int k = 0; k < g_sort.nkeys; k++) {
        const char *x = t->cells[ra * t->ncols + g_sort.keys[k]], *y = t->cells[rb * t->ncols + g_sort.keys[k]];
        char *ex, *ey;
        double dx = strtod(x, &ex), dy = strtod(y, &ey);
        int c;
        if (*x && *y && !*ex && !*ey) c = (dx > dy) - (dx < dy);
        else c = strcmp(x, y);
        if (c) return c;
    }
    return (ra > rb) - (ra < rb); /* stable */
}

void ad_bench_table_sort(ad_bench_table *t, int nkeys, const char *const *keys)
{
    if (t->nrows < 2) return;
    g_sort.t = t;
    g_sort.nkeys = 0;
    for (int k = 0; k < nkeys && g_sort.nkeys < 8; k++) {
        int c = ad_bench_table_col(t, keys[k]);
        if (c >= 0) g_sort.keys[g_sort.nkeys++] = c;
    }
    int64_t *order = malloc((size_t)t->nrows * sizeof *order);
    char **cells = malloc((size_t)(t->nrows * t->ncols) * sizeof *cells);
    if (!order || !cells) {
        free(order);
        free(cells);
        return;
    }
    for (int64_t r = 0; r < t->nrows; r++) order[r] = r;
    qsort(order, (size_t)t->nrows, sizeof *order, cmp_rows);
    for (int64_t r = 0; r < t->nrows; r++)
        memcpy(cells + r * t->ncols, t->cells + order[r] * t->ncols, (size_t)t->ncols * sizeof *cells);
    memcpy(t->cells, cells, (size_t)(t->nrows * t->ncols) * sizeof *cells);
    free(cells);
    free(order);
}

/* ---- sizes ------------------------------------------------------------------------------ */

int ad_bench_size_parse(const char *s, double *v)
{
    if (!s || !*s) return 0;
    char *end;
    double x = strtod(s, &end);
    while (*end == ' ') end++;
    /* NaN fails both comparisons; inf and 1e300 fail the upper bound, so
     * the (int64_t) conversions of the summary stay defined */
    if (end == s || *end || !(x > 0 && x <= AD_BENCH_SIZE_MAX)) return -1;
    *v = x;
    return 1;
}

/* Every non-empty size of t is a size (ad_bench_size_parse); else -1 with
 * the file and row in err. */
static int sizes_valid(const ad_bench_table *t, const char *path, char *err, size_t errn)
{
    int c = ad_bench_table_col(t, "size");
    for (int64_t r = 0; c >= 0 && r < t->nrows; r++) {
        double v;
        const char *s = t->cells[r * t->ncols + c];
        if (ad_bench_size_parse(s, &v) >= 0) continue;
        snprintf(err, errn, "merge: %s: row %lld: size '%.64s' is not a size (a number above 0 and at most 2^53)",
                 path, (long long)r + 1, s);
        return -1;
    }
    return 0;
}

int ad_bench_merge(int n, const char *const *paths, ad_bench_table *out, char *err, size_t errn)
{
    memset(out, 0, sizeof *out);
    if (n < 1) {
        snprintf(err, errn, "merge: no files given");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        ad_bench_table t;
        if (ad_bench_table_read(paths[i], &t, err, errn) != 0) {
            ad_bench_table_free(out);
            return -1;
        }
        if (sizes_valid(&t, paths[i], err, errn) != 0) {
            ad_bench_table_free(&t);
            ad_bench_table_free(out);
            return -1;
        }
        if (i == 0) {
            *out = t;
            continue;
        }
        bool same = t.ncols == out->ncols;
        for (int c = 0; same && c < t.ncols; c++) same = strcmp(t.cols[c], out->cols[c]) == 0;
        if (!same) {
            snprintf(err, errn, "merge: %s has other columns than %s", paths[i], paths[0]);
            ad_bench_table_free(&t);
            ad_bench_table_free(out);
            return -1;
        }
        /* comments that differ from the first file's are kept, tagged */
        for (int k = 0; k < t.ncomments; k++) {
            const char *colon = strchr(t.comments[k], ':');
            if (!colon) continue;
            char key[256];
            size_t kl = (size_t)(colon - t.comments[k]) < sizeof key - 1 ? (size_t)(colon - t.comments[k]) : sizeof key - 1;
            memcpy(key, t.comments[k], kl);
            key[kl] = '\0';
            const char *mine = ad_bench_table_meta(out, key), *theirs = colon[1] == ' ' ? colon + 2 : colon + 1;
            if (mine && strcmp(mine, theirs) == 0) continue;
            char tagged[300];
            snprintf(tagged, sizeof tagged, "%s[%d]", key, i);
            ad_bench_table_comment(out, tagged, theirs);
        }
        for (int64_t r = 0; r < t.nrows; r++)
            if (ad_bench_table_add(out, (const char *const *)(t.cells + r * t.ncols)) != 0) {
                snprintf(err, errn, "merge: out of memory");
                ad_bench_table_free(&t);
                ad_bench_table_free(out);
                return -1;
            }
        ad_bench_table_free(&t);
    }
    static const char *const keys[] = {"function", "backend", "size"};
    ad_bench_table_sort(out, 3, keys);
    /* the same cell twice means overlapping shards */
    int cf = ad_bench_table_col(out, "function"), cb = ad_bench_table_col(out, "backend"),
        cs = ad_bench_table_col(out, "size");
    if (cf >= 0 && cb >= 0 && cs >= 0)
        for (int64_t r = 1; r < out->nrows; r++) {
            char **a = out->cells + (r - 1) * out->ncols, **b = out->cells + r * out->ncols;
            if (strcmp(a[cf], b[cf]) == 0 && strcmp(a[cb], b[cb]) == 0 && strcmp(a[cs], b[cs]) == 0) {
                snprintf(err, errn, "merge: the cell %s/%s/size %s appears twice (overlapping shards?)", a[cf], a[cb],
                         a[cs]);
                ad_bench_table_free(out);
                return -1;
            }
        }
    return 0;
}
