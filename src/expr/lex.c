/* src/expr/lex.c — bytes to tokens.
 *
 * The lexer is a pure function of a position: ex_lex(src, n, at) returns
 * the token starting at or after byte `at`.  The parser peeks ahead by
 * lexing from the end of the current token, with nothing to undo.
 *
 * Numbers are decimal only (2, 2.5, .5, 1e-3, 2.): the token is delimited
 * here and converted with strtod, so hexadecimal floats, "inf" and "nan"
 * spellings never sneak in through strtod.  A number must be finite
 * (1e400 is an error at its position); "2x" and "1e" are malformed numbers
 * rather than a number followed by a name. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr_internal.h"

static bool is_name_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_name_char(int c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static int lex_number(const char *src, int n, int at, ex_tok *t, ad_expr_error *err)
{
    int i = at;
    while (i < n && is_digit((unsigned char)src[i])) i++;
    if (i < n && src[i] == '.') {
        i++;
        while (i < n && is_digit((unsigned char)src[i])) i++;
    }
    if (i < n && (src[i] == 'e' || src[i] == 'E')) {
        int j = i + 1;
        if (j < n && (src[j] == '+' || src[j] == '-')) j++;
        if (j < n && is_digit((unsigned char)src[j])) {
            while (j < n && is_digit((unsigned char)src[j])) j++;
            i = j;
        } else {
            /* "1e", "1e+": an exponent without digits */
            while (i < n && is_name_char((unsigned char)src[i])) i++;
            if (err) ex_set_error(err, AD_ESYNTAX, at, i - at, "malformed number '%.*s'", i - at, src + at);
            return -1;
        }
    }
    if (i < n && (is_name_char((unsigned char)src[i]) || src[i] == '.')) {
        int j = i;
        while (j < n && (is_name_char((unsigned char)src[j]) || src[j] == '.')) j++;
        if (err)
            ex_set_error(err, AD_ESYNTAX, at, j - at, "malformed number '%.*s'%s", j - at > 40 ? 40 : j - at, src + at,
                         is_name_start((unsigned char)src[i]) ? " (use * to multiply)" : "");
        return -1;
    }
    int len = i - at;
    char buf[128];
    if (len >= (int)sizeof buf) {
        /* a very long digit string: parse from a heap copy */
        char *big = malloc((size_t)len + 1);
        if (!big) {
            if (err) ex_set_error(err, AD_ENOMEM, at, len, "out of memory reading a number");
            return -1;
        }
        memcpy(big, src + at, (size_t)len);
        big[len] = '\0';
        t->num = strtod(big, NULL);
        free(big);
    } else {
        memcpy(buf, src + at, (size_t)len);
        buf[len] = '\0';
        t->num = strtod(buf, NULL);
    }
    if (!isfinite(t->num)) {
        if (err)
            ex_set_error(err, AD_ESYNTAX, at, len, "number '%.*s' is out of range (not a finite double)",
                         len > 40 ? 40 : len, src + at);
        return -1;
    }
    t->kind = T_NUM;
    t->pos = at;
    t->len = len;
    return 0;
}

/* Tokens of one character whatever follows; T_EOF when c is none of them. */
static ex_tokkind single_kind(int c)
{
    switch (c) {
    case '+': return T_PLUS;
    case '-': return T_MINUS;
    case '/': return T_SLASH;
    case '@': return T_AT;
    case '^': return T_POW;
    case '(': return T_LPAREN;
    case ')': return T_RPAREN;
    case '[': return T_LBRACK;
    case ']': return T_RBRACK;
    case ',': return T_COMMA;
    case ':': return T_COLON;
    default: return T_EOF;
    }
}

/* Operators decided by the next character (*, **, <, <=, >, >=, =, ==, !=)
 * and the ellipsis.  0 with t filled; -1 with err filled for a lone '!' or
 * '.'; 1 when c starts none of them. */
static int lex_operator(const char *src, int n, int at, int c, int c1, ex_tok *t, ad_expr_error *err)
{
    switch (c) {
    case '*':
        t->kind = c1 == '*' ? T_POW : T_STAR;
        t->len = c1 == '*' ? 2 : 1;
        return 0;
    case '<':
    case '>':
        t->kind = c == '<' ? (c1 == '=' ? T_LE : T_LT) : (c1 == '=' ? T_GE : T_GT);
        t->len = c1 == '=' ? 2 : 1;
        return 0;
    case '=':
        t->kind = c1 == '=' ? T_EQ : T_ASSIGN;
        t->len = c1 == '=' ? 2 : 1;
        return 0;
    case '!':
        if (c1 == '=') {
            t->kind = T_NE;
            t->len = 2;
            return 0;
        }
        if (err) ex_set_error(err, AD_ESYNTAX, at, 1, "unexpected '!' (use != to compare)");
        return -1;
    case '.':
        if (c1 == '.' && at + 2 < n && src[at + 2] == '.') {
            t->kind = T_ELLIPSIS;
            t->len = 3;
            return 0;
        }
        if (err) ex_set_error(err, AD_ESYNTAX, at, 1, "unexpected '.'");
        return -1;
    default: return 1;
    }
}

/* The error for a byte that starts no token.  Returns -1. */
static int unexpected_char(const char *src, int n, int at, ad_expr_error *err)
{
    int c = (unsigned char)src[at];
    if (!err) return -1;
    if (c >= 0x80) {
        /* one caret per byte of the UTF-8 sequence */
        int len = 1;
        while (at + len < n && len < 4 && ((unsigned char)src[at + len] & 0xC0) == 0x80) len++;
        ex_set_error(err, AD_ESYNTAX, at, len, "unexpected character (byte 0x%02x)", (unsigned)c);
    } else if (isprint(c)) {
        ex_set_error(err, AD_ESYNTAX, at, 1, "unexpected character '%c'", c);
    } else {
        ex_set_error(err, AD_ESYNTAX, at, 1, "unexpected control character 0x%02x", (unsigned)c);
    }
    return -1;
}

int ex_lex(const char *src, int n, int at, ex_tok *t, ad_expr_error *err)
{
    while (at < n && (src[at] == ' ' || src[at] == '\t' || src[at] == '\n' || src[at] == '\r')) at++;
    t->pos = at;
    t->len = 1;
    t->num = 0;
    if (at >= n) {
        t->kind = T_EOF;
        t->pos = n;
        return 0;
    }
    int c = (unsigned char)src[at];
    int c1 = at + 1 < n ? (unsigned char)src[at + 1] : 0;
    if (is_digit(c) || (c == '.' && is_digit(c1))) return lex_number(src, n, at, t, err);
    if (is_name_start(c)) {
        int i = at;
        while (i < n && is_name_char((unsigned char)src[i])) i++;
        t->kind = T_NAME;
        t->len = i - at;
        return 0;
    }
    ex_tokkind k = single_kind(c);
    if (k != T_EOF) {
        t->kind = k;
        return 0;
    }
    int rc = lex_operator(src, n, at, c, c1, t, err);
    return rc <= 0 ? rc : unexpected_char(src, n, at, err);
}

void ex_tok_describe(const char *src, const ex_tok *t, char *buf, size_t n)
{
    int len = t->len > 40 ? 40 : t->len;
    const char *more = t->len > 40 ? "..." : "";
    switch (t->kind) {
    case T_EOF: snprintf(buf, n, "end of expression"); break;
    case T_NUM: snprintf(buf, n, "number '%.*s%s'", len, src + t->pos, more); break;
    case T_NAME: snprintf(buf, n, "name '%.*s%s'", len, src + t->pos, more); break;
    default: snprintf(buf, n, "'%.*s'", t->len, src + t->pos); break;
    }
}
