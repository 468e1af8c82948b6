/* cli/json.c — the JSON the commands print with --json.  Numbers in the
 * shortest form that reads back exactly (up to 17 significant digits); JSON
 * has no NaN or infinity, so those print as null.  Strings are always
 * valid UTF-8 (invalid bytes become U+FFFD). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_json_number(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char buf[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

/* The length of the well-formed UTF-8 sequence at s (1 to 4), or 0 when
 * the bytes there are not one (a stray continuation byte, a sequence cut
 * short, an overlong form, a surrogate, above U+10FFFF): RFC 3629's table. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (n == 0) return 0;
    unsigned lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0; /* also stops at the NUL */
    return n;
}

/* A JSON string.  The text comes from the user (expressions, file names,
 * plugin symbols) and may hold any bytes; JSON must be UTF-8 (RFC 8259), so
 * a byte that does not start a well-formed sequence is written as U+FFFD,
 * the replacement character, and the output always parses. */
void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        int n = utf8_len(p);
        if (n == 0) fputs("\\ufffd", f);
        else if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
        else fwrite(p, 1, (size_t)n, f);
        p += n ? n : 1;
    }
    fputc('"', f);
}

static void nested(FILE *f, const double *v, int ndim, const int64_t *shape, int64_t *pos)
{
    if (ndim == 0) {
        cli_json_number(f, v[(*pos)++]);
        return;
    }
    fputc('[', f);
    for (int64_t i = 0; i < shape[0]; i++) {
        if (i) fputs(", ", f);
        nested(f, v, ndim - 1, shape + 1, pos);
    }
    fputc(']', f);
}

void cli_json_tensor(FILE *f, ad_tensor *t)
{
    if (!t) {
        fputs("null", f);
        return;
    }
    int64_t n = ad_numel(t);
    double *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) {
        fputs("null", f);
        return;
    }
    ad_to_array(t, v, n);
    ad_shape s = ad_shape_of(t);
    int64_t pos = 0;
    nested(f, v, s.ndim, s.dim, &pos);
    free(v);
}

void cli_json_named(FILE *f, const cli_fn *fn, ad_tensor *const *t)
{
    fputc('{', f);
    bool first = true;
    for (int i = 0; i < fn->nvars; i++) {
        if (!t[i]) continue;
        fputs(first ? "" : ", ", f);
        first = false;
        cli_json_string(f, fn->names[i]);
        fputs(": ", f);
        cli_json_tensor(f, t[i]);
    }
    fputc('}', f);
}
