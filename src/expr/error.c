/* src/expr/error.c — error records and the caret display.
 *
 *     sum: axis 3 is out of range for a 2-d tensor
 *       sum(A, axis=3) + x
 *       ^^^^^^^^^^^^^^
 *
 * A long source is shown as a window of at most EX_WINDOW characters around
 * the offending part, with "..." where it was cut; the caret stays under
 * the same bytes.  Bytes that would disturb the layout (control
 * characters, non-ASCII) are shown as '?', whitespace as a space, so one
 * byte is always one column. */
#include <stdio.h>
#include <string.h>

#include "expr_internal.h"

#define EX_WINDOW 70 /* characters of source shown, "..." marks included */

void ex_set_errorv(ad_expr_error *err, int status, int pos, int len, const char *fmt, va_list ap)
{
    if (!err) return;
    err->status = status;
    err->pos = pos;
    err->len = pos >= 0 && len < 1 ? 1 : len;
    if (pos < 0) err->len = 0;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

void ex_set_error(ad_expr_error *err, int status, int pos, int len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ex_set_errorv(err, status, pos, len, fmt, ap);
    va_end(ap);
}

void ex_clear_error(ad_expr_error *err)
{
    if (!err) return;
    err->status = AD_OK;
    err->pos = -1;
    err->len = 0;
    err->msg[0] = '\0';
}

/* ---- formatting ------------------------------------------------------------ */

/* An snprintf-like sink: counts everything, stores what fits. */
typedef struct sink {
    char *buf;
    size_t n, at;
} sink;

static void put(sink *s, char c)
{
    if (s->at + 1 < s->n) s->buf[s->at] = c;
    s->at++;
}

static void put_str(sink *s, const char *str)
{
    for (; *str; str++) put(s, *str);
}

static char shown(unsigned char c)
{
    if (c == '\t' || c == '\n' || c == '\r') return ' ';
    if (c < 0x20 || c >= 0x7f) return '?';
    return (char)c;
}

int ad_expr_format_error(char *buf, size_t n, const char *src, const ad_expr_error *err)
{
    sink s = {buf, n, 0};
    if (!err) {
        put_str(&s, "(no error)\n");
    } else {
        for (const char *m = err->msg; *m; m++) put(&s, shown((unsigned char)*m));
        if (!err->msg[0]) put_str(&s, ad_strerror(err->status));
        put(&s, '\n');
        if (src && err->pos >= 0) {
            size_t sl = strlen(src);
            int len = (int)(sl > AD_EXPR_MAX_SOURCE + 1 ? AD_EXPR_MAX_SOURCE + 1 : sl);
            int pos = err->pos > len ? len : err->pos;
            int elen = err->len < 1 ? 1 : err->len;
            /* the window [a, b) of the source to show */
            int a = 0, b = len;
            if (len > EX_WINDOW) {
                int room = EX_WINDOW - 6; /* room for "..." on both sides */
                int focus = elen < room ? elen : room;
                a = pos + focus / 2 - room / 2;
                if (a > len - room) a = len - room;
                if (a < 0) a = 0;
                b = a + room;
                if (a == 0) b += 3; /* no leading mark: give its room to the text */
                if (b >= len - 3) {
                    b = len;
                    if (a > 0) a = len - (EX_WINDOW - 3) > 0 ? len - (EX_WINDOW - 3) : 0;
                    if (a > pos) a = pos;
                }
            }
            put_str(&s, "  ");
            if (a > 0) put_str(&s, "...");
            for (int i = a; i < b; i++) put(&s, shown((unsigned char)src[i]));
            if (b < len) put_str(&s, "...");
            put(&s, '\n');
            put_str(&s, "  ");
            int col = (a > 0 ? 3 : 0) + (pos - a);
            for (int i = 0; i < col; i++) put(&s, ' ');
            int carets = pos + elen > b ? b - pos : elen;
            if (carets < 1) carets = 1;
            for (int i = 0; i < carets; i++) put(&s, '^');
            put(&s, '\n');
        }
    }
    if (n > 0) buf[s.at < n ? s.at : n - 1] = '\0';
    return (int)s.at;
}
