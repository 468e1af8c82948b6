/* cli/json.c — the JSON the commands print with --json.  Numbers in the
 * shortest form that reads back exactly (up to 17 significant digits); JSON
 * has no NaN or infinity, so those print as null. */
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

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
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
