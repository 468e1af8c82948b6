/* src/print.c — printing tensors exactly as PyTorch 2.x prints them.
 *
 * The rules are those of torch/_tensor_str.py for a float64 tensor (no
 * dtype suffix: adscope is double-only):
 *
 *   formatter   one per tensor, over the (summarised) values: integral
 *               values print as "3." (int mode), otherwise "%.4f"; scientific
 *               "%.4e" when the nonzero finite magnitudes span more than 1e3,
 *               exceed 1e8 or (not int mode) go below 1e-4.  Every element is
 *               right-aligned to the widest nonzero finite one.
 *   layout      "[" + slices joined by "," + (dim-1) newlines + indent +
 *               "]", recursively; vectors wrap after
 *               floor((linewidth - indent) / (width + 2)) elements.
 *   summary     above `threshold` elements, every axis longer than
 *               2·edgeitems keeps edgeitems at each end around "...".
 *   suffixes    ", grad_fn=<MulBackward0>" or ", requires_grad=True" (and
 *               ", size=(0, 3)" for an empty tensor of rank != 1), moved to
 *               their own line when they would pass the line width.
 *
 * Nothing is allocated: the text is produced in one pass into a "sink" that
 * either copies into the caller's buffer (snprintf contract) or writes to a
 * FILE, and counts the length and the current column.  Numbers are formatted
 * into a bounded stack buffer; the C library's "%.*e" / "%.*f" give the same
 * digits as Python's "{:.4e}" / "{:.4f}" (both round the exact binary value
 * correctly, both print at least two exponent digits), and NaN / infinities
 * are spelled by hand as Python spells them ("nan", "inf", "-inf": C may
 * print "-nan"). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define PRINT_MAX_PRECISION 100
/* "%.100f" of -DBL_MAX: sign + 309 digits + point + 100 digits + NUL */
#define PRINT_NUMBUF 512

ad_print_options ad_print_defaults(void)
{
    ad_print_options o = {.precision = 4, .threshold = 1000, .edgeitems = 3, .linewidth = 80, .sci_mode = -1};
    return o;
}

/* ---- the sink: a caller buffer or a stream, with length and column ------- */

typedef struct sink {
    char *buf;   /* snprintf-style target (NULL when measuring or streaming) */
    size_t cap;  /* its size, the NUL included */
    FILE *f;     /* stream target, or NULL */
    int64_t len; /* characters produced so far (also those not stored) */
    int64_t col; /* characters since the last newline */
    bool ioerr;  /* a write to f failed */
} sink;

static void put(sink *s, const char *p, size_t k)
{
    if (k == 0) return;
    if (s->f) {
        if (fwrite(p, 1, k, s->f) != k) s->ioerr = true;
    } else if (s->buf && (uint64_t)s->len + 1 < s->cap) {
        size_t room = s->cap - 1 - (size_t)s->len; /* one byte kept for the NUL */
        memcpy(s->buf + s->len, p, k < room ? k : room);
    }
    s->len += (int64_t)k;
    const char *nl = NULL;
    for (size_t i = k; i-- > 0;)
        if (p[i] == '\n') {
            nl = p + i;
            break;
        }
    s->col = nl ? (int64_t)(p + k - nl - 1) : s->col + (int64_t)k;
}

static void puts_(sink *s, const char *str) { put(s, str, strlen(str)); }

static void spaces(sink *s, int64_t k)
{
    static const char blanks[] = "                                                                ";
    const int64_t chunk = (int64_t)sizeof blanks - 1;
    for (; k > 0; k -= chunk) put(s, blanks, (size_t)(k < chunk ? k : chunk));
}

/* ---- which elements are shown --------------------------------------------- */

/* The tensor being printed: its layout, and whether it is summarised.
 * Axis a is "cut" when summarising and longer than 2·edge: only its first
 * and last `edge` indices are shown (torch's get_summarized_data). */
typedef struct view {
    int ndim;
    const int64_t *shape, *stride;
    const double *data;
    bool summarize;
    int64_t edge;
} view;

static bool cut(const view *v, int a) { return v->summarize && v->shape[a] > 2 * v->edge; }

/* Number of indices shown along axis a, and the j-th of them. */
static int64_t shown(const view *v, int a) { return cut(v, a) ? 2 * v->edge : v->shape[a]; }
static int64_t shown_index(const view *v, int a, int64_t j)
{
    return (cut(v, a) && j >= v->edge) ? v->shape[a] - 2 * v->edge + j : j;
}

/* Calls fn on every shown element (row-major order; an odometer, since the
 * order does not matter to the formatter and no recursion is needed). */
typedef void (*visit_fn)(double x, void *ud);
static void visit_shown(const view *v, visit_fn fn, void *ud)
{
    int64_t j[AD_MAX_DIMS] = {0};
    for (int a = 0; a < v->ndim; a++)
        if (shown(v, a) == 0) return;
    for (;;) {
        const double *p = v->data;
        for (int a = 0; a < v->ndim; a++) p += shown_index(v, a, j[a]) * v->stride[a];
        fn(*p, ud);
        int a = v->ndim - 1;
        for (; a >= 0; a--) {
            if (++j[a] < shown(v, a)) break;
            j[a] = 0;
        }
        if (a < 0) return;
    }
}

/* ---- the formatter (torch's _Formatter) ---------------------------------- */

typedef struct formatter {
    bool int_mode; /* every nonzero finite value is integral: "3." */
    bool sci;      /* "%.*e" */
    int64_t width; /* every element is right-aligned to this */
    int prec;
} formatter;

/* Writes value x as the formatter's mode spells it (without padding) into
 * b (PRINT_NUMBUF bytes); returns its length. */
static int format_raw(const formatter *F, double x, char *b)
{
    const char *special = isnan(x) ? "nan" : isinf(x) ? (x < 0 ? "-inf" : "inf") : NULL;
    if (special) return snprintf(b, PRINT_NUMBUF, "%s", special);
    if (F->sci) return snprintf(b, PRINT_NUMBUF, "%.*e", F->prec, x);
    if (F->int_mode) return snprintf(b, PRINT_NUMBUF, "%.0f.", x);
    return snprintf(b, PRINT_NUMBUF, "%.*f", F->prec, x);
}

typedef struct scan {
    int64_t count;   /* nonzero finite values seen */
    double min, max; /* of their magnitudes */
    bool integral;
} scan;

static void scan_value(double x, void *ud)
{
    scan *sc = ud;
    if (!isfinite(x) || x == 0) return;
    double m = fabs(x);
    if (sc->count == 0 || m < sc->min) sc->min = m;
    if (sc->count == 0 || m > sc->max) sc->max = m;
    if (x != ceil(x)) sc->integral = false;
    sc->count++;
}

static void widen(double x, void *ud)
{
    formatter *F = ud;
    if (!isfinite(x) || x == 0) return;
    char b[PRINT_NUMBUF];
    int n = format_raw(F, x, b);
    if (n > F->width) F->width = n;
}

static formatter make_formatter(const view *v, const ad_print_options *o)
{
    formatter F = {.int_mode = true, .sci = false, .width = 1, .prec = o->precision};
    scan sc = {.count = 0, .min = 0, .max = 0, .integral = true};
    visit_shown(v, scan_value, &sc);
    if (sc.count > 0) {
        F.int_mode = sc.integral;
        /* the ratio is taken in double, as torch does */
        F.sci = sc.max / sc.min > 1000.0 || sc.max > 1.0e8 || (!F.int_mode && sc.min < 1.0e-4);
        /* widths come from the automatic choice (int mode: "%.0f" plus the
         * point; format_raw appends it), even when sci_mode overrides it */
        visit_shown(v, widen, &F);
    }
    if (o->sci_mode >= 0) F.sci = o->sci_mode == 1;
    return F;
}

static void emit_value(sink *s, const formatter *F, double x)
{
    char b[PRINT_NUMBUF];
    int n = format_raw(F, x, b);
    spaces(s, F->width - n);
    put(s, b, (size_t)n);
}

/* ---- layout (torch's _tensor_str_with_formatter / _vector_str) ----------- */

static void emit_vector(sink *s, const view *v, const formatter *F, const ad_print_options *o, const double *p,
                        int64_t indent)
{
    const int a = v->ndim - 1;
    /* Python: max(1, int(math.floor((linewidth - indent) / element_length))) */
    double per = floor((double)((int64_t)o->linewidth - indent) / (double)(F->width + 2));
    int64_t per_line = per < 1 ? 1 : (int64_t)per;
    int64_t n = shown(v, a), item = 0;
    for (int64_t j = 0; j < n; j++) {
        bool dots = cut(v, a) && j == v->edge; /* " ..." is one more element */
        for (int k = dots ? 0 : 1; k < 2; k++, item++) {
            if (item > 0) {
                if (item % per_line == 0) {
                    puts_(s, ",\n");
                    spaces(s, indent + 1);
                } else {
                    puts_(s, ", ");
                }
            }
            if (k == 0) puts_(s, " ...");
            else emit_value(s, F, p[shown_index(v, a, j) * v->stride[a]]);
        }
    }
}

/* The sub-tensor at p over axes a.. (ndim - a of them), at this indent.
 * Recursion depth is at most AD_MAX_DIMS. */
static void emit_tensor(sink *s, const view *v, const formatter *F, const ad_print_options *o, const double *p,
                        int a, int64_t indent)
{
    int rem = v->ndim - a;
    if (rem == 0) {
        emit_value(s, F, *p);
        return;
    }
    puts_(s, "[");
    if (rem == 1) {
        emit_vector(s, v, F, o, p, indent);
    } else {
        int64_t n = shown(v, a);
        for (int64_t j = 0; j < n; j++) {
            bool dots = cut(v, a) && j == v->edge;
            for (int k = dots ? 0 : 1; k < 2; k++) {
                if (j > 0 || k == 0) {
                    puts_(s, ",");
                    for (int r = 1; r < rem; r++) puts_(s, "\n");
                    spaces(s, indent + 1);
                }
                if (k == 0) puts_(s, "...");
                else emit_tensor(s, v, F, o, p + shown_index(v, a, j) * v->stride[a], a + 1, indent + 1);
            }
        }
    }
    puts_(s, "]");
}

/* ---- the whole representation (torch's _str_intern / _add_suffixes) ------ */

typedef struct suffix {
    const char *part[3]; /* concatenated; NULL parts are skipped */
    char small[320]; /* "size=(" + 12 axes of up to 20 digits and ", " + ")" */
} suffix;

static size_t suffix_len(const suffix *x)
{
    size_t n = 0;
    for (int i = 0; i < 3; i++) n += x->part[i] ? strlen(x->part[i]) : 0;
    return n;
}

static int check_options(const ad_tensor *t, const ad_print_options *o)
{
    if (o->precision < 0 || o->precision > PRINT_MAX_PRECISION)
        return ad_error(t->ctx, AD_EINVAL, "print: precision %d is outside [0, %d]", o->precision,
                        PRINT_MAX_PRECISION);
    if (o->edgeitems < 1)
        return ad_error(t->ctx, AD_EINVAL, "print: edgeitems must be at least 1 (got %d)", o->edgeitems);
    if (o->sci_mode < -1 || o->sci_mode > 1)
        return ad_error(t->ctx, AD_EINVAL, "print: sci_mode must be -1 (automatic), 0 or 1 (got %d)",
                        o->sci_mode);
    return AD_OK;
}

/* Writes the representation of t to s.  Options are checked first, so on
 * an invalid option nothing is written. */
static int render(sink *s, const ad_tensor *t, const ad_print_options *opts)
{
    ad_print_options o = opts ? *opts : ad_print_defaults();
    int rc = check_options(t, &o);
    if (rc != AD_OK) return rc;

    static const char prefix[] = "tensor(";
    const int64_t indent = (int64_t)sizeof prefix - 1;
    suffix suf[2];
    int nsuf = 0;

    puts_(s, prefix);
    if (t->numel == 0) {
        puts_(s, "[]");
        if (t->ndim != 1) { /* torch shows the shape unless it is (0,) */
            suffix *x = &suf[nsuf++];
            char *b = x->small;
            size_t cap = sizeof x->small, k = 0;
            k += (size_t)snprintf(b + k, cap - k, "size=(");
            for (int a = 0; a < t->ndim; a++)
                k += (size_t)snprintf(b + k, cap - k, "%s%lld", a ? ", " : "", (long long)t->shape[a]);
            snprintf(b + k, cap - k, t->ndim == 1 ? ",)" : ")");
            x->part[0] = b;
            x->part[1] = x->part[2] = NULL;
        }
    } else {
        view v = {.ndim = t->ndim,
                  .shape = t->shape,
                  .stride = t->stride,
                  .data = t->data,
                  .summarize = t->numel > o.threshold,
                  .edge = o.edgeitems};
        formatter F = make_formatter(&v, &o);
        emit_tensor(s, &v, &F, &o, t->data, 0, indent);
    }

    const char *fn = ad_grad_fn_name(t);
    if (fn) {
        suffix *x = &suf[nsuf++];
        x->part[0] = "grad_fn=<";
        x->part[1] = fn;
        x->part[2] = ">";
    } else if (ad_requires_grad(t)) {
        suffix *x = &suf[nsuf++];
        x->part[0] = "requires_grad=True";
        x->part[1] = x->part[2] = NULL;
    }

    /* torch measures the last line as len - rfind("\n") + 1, i.e. two more
     * than the characters after the last newline; kept as is */
    int64_t last = s->col + 2;
    for (int i = 0; i < nsuf; i++) {
        int64_t n = (int64_t)suffix_len(&suf[i]);
        if (last + n + 2 > o.linewidth) {
            puts_(s, ",\n");
            spaces(s, indent);
            last = indent + n;
        } else {
            puts_(s, ", ");
            last += n + 2;
        }
        for (int k = 0; k < 3; k++)
            if (suf[i].part[k]) puts_(s, suf[i].part[k]);
    }
    puts_(s, ")");
    return AD_OK;
}

int64_t ad_snprint(char *buf, size_t n, const ad_tensor *t, const ad_print_options *opts)
{
    if (buf && n > 0) buf[0] = '\0';
    if (!t) return AD_EINVAL;
    if (!buf && n > 0) return ad_error(t->ctx, AD_EINVAL, "print: buffer is NULL but its size is %zu", n);
    sink s = {.buf = buf, .cap = n, .f = NULL, .len = 0, .col = 0, .ioerr = false};
    int rc = render(&s, t, opts);
    if (rc != AD_OK) return rc;
    if (buf && n > 0) buf[(uint64_t)s.len < n ? (size_t)s.len : n - 1] = '\0';
    return s.len;
}

int ad_fprint(FILE *f, const ad_tensor *t, const ad_print_options *opts)
{
    if (!t) return AD_EINVAL;
    if (!f) return ad_error(t->ctx, AD_EINVAL, "print: stream is NULL");
    sink s = {.buf = NULL, .cap = 0, .f = f, .len = 0, .col = 0, .ioerr = false};
    int rc = render(&s, t, opts);
    if (rc != AD_OK) return rc;
    puts_(&s, "\n");
    if (s.ioerr || ferror(f))
        return ad_error(t->ctx, AD_EIO, "print: writing %lld characters to the stream failed", (long long)s.len);
    return AD_OK;
}

int ad_print(const ad_tensor *t) { return ad_fprint(stdout, t, NULL); }
