/* bench/csv.c — result tables: their memory, writing (RFC 4180 through
 * libcsv's quoting), sorting and merging (ad_bench_table_*,
 * ad_bench_merge).  Reading is bench/csv_read.c.  See csv.h.
 *
 * Cells live in an arena of large chunks (each NUL-terminated, a row's
 * cells side by side): a table of many small cells costs its text plus a
 * pointer per cell, not a malloc per cell (a 10 MB file of empty cells
 * would otherwise take ~40 bytes per byte read). */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* libcsv's header is also called csv.h, and this folder's shadows it on
 * the include path: CMake passes its full path. */
#include ADSCOPE_LIBCSV_H

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The arena's chunks: at least this many bytes each (a larger row gets a
 * chunk of its own size). */
#define CHUNK_BYTES ((size_t)1 << 20)

struct ad_bench_chunk {
    struct ad_bench_chunk *next;
    size_t used, cap;
    char data[];
};

int ad_bench_table_init(ad_bench_table *t, int ncols, const char *const *cols)
{
    memset(t, 0, sizeof *t);
    if (ncols < 1 || ncols > AD_BENCH_CSV_MAX_COLS) return -1;
    t->cols = calloc((size_t)ncols, sizeof *t->cols);
    if (!t->cols) return -1;
    t->ncols = ncols;
    for (int i = 0; i < ncols; i++)
        if (!(t->cols[i] = dup(cols[i] ? cols[i] : ""))) return -1;
    return 0;
}

void ad_bench_table_free(ad_bench_table *t)
{
    if (!t) return;
    for (int i = 0; i < t->ncomments; i++) free(t->comments[i]);
    free(t->comments);
    for (int i = 0; i < t->ncols; i++) free(t->cols ? t->cols[i] : NULL);
    free(t->cols);
    for (struct ad_bench_chunk *c = t->arena, *next; c; c = next) {
        next = c->next;
        free(c);
    }
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

/* Room for one more row of pointers. */
static int reserve_row(ad_bench_table *t)
{
    if (t->nrows < t->cap) return 0;
    int64_t cap = t->cap ? 2 * t->cap : 64;
    if (cap > (int64_t)(SIZE_MAX / sizeof(char *)) / t->ncols) return -1;
    char **c = realloc(t->cells, (size_t)(cap * t->ncols) * sizeof *c);
    if (!c) return -1;
    t->cells = c;
    t->cap = cap;
    return 0;
}

/* n bytes from the arena, or NULL. */
static char *arena_take(ad_bench_table *t, size_t n)
{
    struct ad_bench_chunk *c = t->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;
        if (!(c = malloc(sizeof *c + cap))) return NULL;
        *c = (struct ad_bench_chunk){.next = t->arena, .cap = cap};
        t->arena = c;
    }
    c->used += n;
    return c->data + c->used - n;
}

int ad_bench_table_add(ad_bench_table *t, const char *const *cells)
{
    if (t->ncols < 1 || reserve_row(t) != 0) return -1;
    size_t total = 0;
    for (int i = 0; i < t->ncols; i++) total += strlen(cells[i] ? cells[i] : "") + 1;
    char *block = arena_take(t, total), **row = t->cells + t->nrows * t->ncols;
    if (!block) return -1;
    for (int i = 0; i < t->ncols; i++) {
        const char *s = cells[i] ? cells[i] : "";
        size_t n = strlen(s) + 1;
        memcpy(block, s, n);
        row[i] = block;
        block += n;
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

/* Whether a field must be quoted to read back as itself: separators,
 * quotes and line ends; a lone empty field (its line would be blank, and
 * blank lines are skipped); a first field starting with '#' (its line
 * would read as a comment). */
static bool needs_quotes(const char *s, bool first, bool only)
{
    if (!*s) return only;
    if (first && *s == '#') return true;
    return strpbrk(s, ",\"\r\n") != NULL;
}

/* One line of n fields. */
static int write_line(FILE *f, char *const *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', f);
        if (needs_quotes(v[i], i == 0, n == 1)) csv_fwrite(f, v[i], strlen(v[i]));
        else fputs(v[i], f);
    }
    fputc('\n', f);
    return ferror(f) ? -1 : 0;
}

int ad_bench_table_write_head(FILE *f, const ad_bench_table *t)
{
    for (int i = 0; i < t->ncomments; i++) fprintf(f, "# %s\n", t->comments[i]);
    write_line(f, t->cols, t->ncols);
    return fflush(f) != 0 || ferror(f) ? -1 : 0;
}

int ad_bench_table_write_row(FILE *f, const ad_bench_table *t, int64_t r)
{
    if (r < 0 || r >= t->nrows) return -1;
    write_line(f, t->cells + r * t->ncols, t->ncols);
    return fflush(f) != 0 || ferror(f) ? -1 : 0;
}

int ad_bench_table_write(FILE *f, const ad_bench_table *t)
{
    for (int i = 0; i < t->ncomments; i++) fprintf(f, "# %s\n", t->comments[i]);
    write_line(f, t->cols, t->ncols);
    for (int64_t r = 0; r < t->nrows; r++) write_line(f, t->cells + r * t->ncols, t->ncols);
    return fflush(f) != 0 || ferror(f) ? -1 : 0;
}

/* ---- sorting and merging ------------------------------------------------------------------ */

typedef struct {
    const ad_bench_table *t;
    int nkeys;
    int keys[8];
} sort_ctx;

/* Each element carries its sort's context: qsort has no context argument,
 * and a process-wide one would make two sorts on two threads race. */
typedef struct {
    int64_t row;
    const sort_ctx *sc;
} sort_item;

static int cmp_rows(const void *a, const void *b)
{
    const sort_item *ia = a, *ib = b;
    const sort_ctx *sc = ia->sc;
    const ad_bench_table *t = sc->t;
    for (int k = 0; k < sc->nkeys; k++) {
        const char *x = t->cells[ia->row * t->ncols + sc->keys[k]], *y = t->cells[ib->row * t->ncols + sc->keys[k]];
        char *ex, *ey;
        double dx = strtod(x, &ex), dy = strtod(y, &ey);
        int c;
        if (*x && *y && !*ex && !*ey) c = (dx > dy) - (dx < dy);
        else c = strcmp(x, y);
        if (c) return c;
    }
    return (ia->row > ib->row) - (ia->row < ib->row); /* stable */
}

int ad_bench_table_sort(ad_bench_table *t, int nkeys, const char *const *keys)
{
    if (t->nrows < 2) return 0;
    sort_ctx sc = {.t = t};
    for (int k = 0; k < nkeys && sc.nkeys < 8; k++) {
        int c = ad_bench_table_col(t, keys[k]);
        if (c >= 0) sc.keys[sc.nkeys++] = c;
    }
    sort_item *order = malloc((size_t)t->nrows * sizeof *order);
    char **cells = malloc((size_t)(t->nrows * t->ncols) * sizeof *cells);
    if (!order || !cells) {
        free(order);
        free(cells);
        return -1;
    }
    for (int64_t r = 0; r < t->nrows; r++) order[r] = (sort_item){.row = r, .sc = &sc};
    qsort(order, (size_t)t->nrows, sizeof *order, cmp_rows);
    for (int64_t r = 0; r < t->nrows; r++)
        memcpy(cells + r * t->ncols, t->cells + order[r].row * t->ncols, (size_t)t->ncols * sizeof *cells);
    memcpy(t->cells, cells, (size_t)(t->nrows * t->ncols) * sizeof *cells);
    free(cells);
    free(order);
    return 0;
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

/* t's comments that differ from out's, added to out as "key[i]: value"
 * (keys of any length).  0 or -1. */
static int merge_comments(ad_bench_table *out, const ad_bench_table *t, int i)
{
    for (int k = 0; k < t->ncomments; k++) {
        const char *colon = strchr(t->comments[k], ':');
        if (!colon) continue;
        size_t kl = (size_t)(colon - t->comments[k]);
        char *key = malloc(kl + 24);
        if (!key) return -1;
        memcpy(key, t->comments[k], kl);
        key[kl] = '\0';
        const char *mine = ad_bench_table_meta(out, key), *theirs = colon[1] == ' ' ? colon + 2 : colon + 1;
        int rc = 0;
        if (!mine || strcmp(mine, theirs) != 0) {
            snprintf(key + kl, 24, "[%d]", i);
            rc = ad_bench_table_comment(out, key, theirs);
        }
        free(key);
        if (rc != 0) return -1;
    }
    return 0;
}

/* Adds the table at paths[i] to out (i > 0). */
static int merge_one(int i, const char *const *paths, ad_bench_table *out, char *err, size_t errn)
{
    ad_bench_table t;
    if (ad_bench_table_read(paths[i], &t, err, errn) != 0) return -1;
    if (sizes_valid(&t, paths[i], err, errn) != 0) {
        ad_bench_table_free(&t);
        return -1;
    }
    bool same = t.ncols == out->ncols;
    for (int c = 0; same && c < t.ncols; c++) same = strcmp(t.cols[c], out->cols[c]) == 0;
    int rc = 0;
    if (!same) {
        snprintf(err, errn, "merge: %s has other columns than %s", paths[i], paths[0]);
        rc = -1;
    }
    if (rc == 0 && merge_comments(out, &t, i) != 0) rc = -1;
    for (int64_t r = 0; rc == 0 && r < t.nrows; r++)
        rc = ad_bench_table_add(out, (const char *const *)(t.cells + r * t.ncols));
    if (rc != 0 && same) snprintf(err, errn, "merge: out of memory");
    ad_bench_table_free(&t);
    return rc;
}

/* The same cell (function, backend, size) twice means overlapping shards. */
static int find_duplicate(const ad_bench_table *out, char *err, size_t errn)
{
    int cf = ad_bench_table_col(out, "function"), cb = ad_bench_table_col(out, "backend"),
        cs = ad_bench_table_col(out, "size");
    if (cf < 0 || cb < 0 || cs < 0) return 0;
    for (int64_t r = 1; r < out->nrows; r++) {
        char **a = out->cells + (r - 1) * out->ncols, **b = out->cells + r * out->ncols;
        if (strcmp(a[cf], b[cf]) == 0 && strcmp(a[cb], b[cb]) == 0 && strcmp(a[cs], b[cs]) == 0) {
            snprintf(err, errn, "merge: the cell %s/%s/size %s appears twice (overlapping shards?)", a[cf], a[cb],
                     a[cs]);
            return -1;
        }
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
    if (ad_bench_table_read(paths[0], out, err, errn) != 0) return -1;
    if (sizes_valid(out, paths[0], err, errn) != 0) {
        ad_bench_table_free(out);
        return -1;
    }
    static const char *const keys[] = {"function", "backend", "size"};
    int rc = 0;
    for (int i = 1; rc == 0 && i < n; i++) rc = merge_one(i, paths, out, err, errn);
    if (rc == 0 && ad_bench_table_sort(out, 3, keys) != 0) {
        snprintf(err, errn, "merge: out of memory");
        rc = -1;
    }
    if (rc == 0) rc = find_duplicate(out, err, errn);
    if (rc != 0) ad_bench_table_free(out);
    return rc;
}
