/* src/expr/parse.c — tokens to AST: a Pratt (precedence-climbing) parser.
 *
 *   expr      := binary(1)
 *   binary(k) := unary { op_k' binary(k'+1) }      k' >= k; levels:
 *                1: < <= > >= == !=   2: + -   3: * / @    (left-assoc)
 *   unary     := ('-' | '+') unary | power
 *   power     := postfix [ ('^' | '**') unary ]     (right-assoc; -x^2 = -(x^2))
 *   postfix   := NAME '(' args ')' { subscript } | primary { subscript }
 *   primary   := NUMBER | NAME | '(' expr ')' | '[' [expr {',' expr}] ']'
 *   subscript := '[' item {',' item} ']'
 *   item      := '...' | [expr] ':' [expr] [':' [expr]] | expr
 *   args      := [arg {',' arg}],  arg := NAME '=' expr | expr
 *
 * Left-associative chains are built by the loop in binary(), so "1+1+...+1"
 * does not recurse.  Everything that does recurse (parentheses, calls,
 * subscripts, lists, prefix signs, exponents) passes enter(), which stops
 * at AD_EXPR_MAX_DEPTH with AD_ELIMIT: no input can exhaust the C stack.
 *
 * What can be checked before evaluation is checked here: calls against the
 * function table (unknown functions with a suggestion, arity, argument
 * names), None outside subscripts and arguments, ragged list literals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr_internal.h"

#define EX_MAX_SUBSCRIPT 32 /* entries of one subscript */
#define EX_PI 3.14159265358979323846
#define EX_E 2.71828182845904523536

typedef struct parser {
    ad_expr *e;
    const char *src;
    int n;
    ex_tok tok;   /* the current token */
    int prev_end; /* end of the token consumed last */
    int depth;
    int open; /* position of the innermost unclosed bracket, -1 if none */
    ad_expr_error *err;
    bool failed;
    int32_t *pend; /* children of the nodes being built (a stack) */
    int npend, cappend;
} parser;

static int failv(parser *p, int status, int pos, int len, const char *fmt, va_list ap)
{
    if (!p->failed) ex_set_errorv(p->err, status, pos, len, fmt, ap);
    p->failed = true;
    return -1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static int fail(parser *p, int status, int pos, int len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(p, status, pos, len, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(parser *p) { return fail(p, AD_ENOMEM, -1, 0, "out of memory while parsing"); }

static bool next(parser *p)
{
    p->prev_end = p->tok.pos + p->tok.len;
    if (p->tok.kind == T_EOF) p->prev_end = p->n;
    if (ex_lex(p->src, p->n, p->prev_end, &p->tok, p->failed ? NULL : p->err) < 0) {
        p->failed = true;
        return false;
    }
    return true;
}

static ex_tokkind peek(const parser *p)
{
    ex_tok t;
    if (ex_lex(p->src, p->n, p->tok.pos + p->tok.len, &t, NULL) < 0) return T_EOF;
    return t.kind;
}

static bool enter(parser *p)
{
    if (++p->depth > AD_EXPR_MAX_DEPTH) {
        fail(p, AD_ELIMIT, p->tok.pos, p->tok.len, "expression nested deeper than %d levels", AD_EXPR_MAX_DEPTH);
        return false;
    }
    return true;
}

static bool push(parser *p, int idx)
{
    if (p->npend == p->cappend) {
        int ncap = p->cappend ? 2 * p->cappend : 64;
        int32_t *q = realloc(p->pend, (size_t)ncap * sizeof *q);
        if (!q) return false;
        p->pend = q;
        p->cappend = ncap;
    }
    p->pend[p->npend++] = idx;
    return true;
}

/* Appends a node whose children are the pending entries from `base` on. */
static int add(parser *p, ex_node nd, int base)
{
    int idx = ex_ast_add(p->e, &nd, p->pend + base, p->npend - base);
    p->npend = base;
    return idx < 0 ? oom(p) : idx;
}

static ex_node *node(parser *p, int idx) { return &p->e->nodes[idx]; }
static int kid(parser *p, int idx, int i) { return p->e->kids[p->e->nodes[idx].kid0 + i]; }
static int end_of(parser *p, int idx) { return node(p, idx)->pos + node(p, idx)->len; }

static ex_node blank(int kind, int pos, int len)
{
    ex_node nd;
    memset(&nd, 0, sizeof nd);
    nd.kind = (uint8_t)kind;
    nd.pos = nd.opos = pos;
    nd.len = nd.olen = len;
    nd.sfirst = -1;
    nd.aux = -1;
    return nd;
}

/* "unexpected ')'" / "unexpected end of expression" at the current token. */
static int unexpected(parser *p, bool hint)
{
    if (p->tok.kind == T_EOF && p->open >= 0)
        return fail(p, AD_ESYNTAX, p->open, 1, "'%c' was never closed", p->src[p->open]);
    char what[96];
    ex_tok_describe(p->src, &p->tok, what, sizeof what);
    bool starts = p->tok.kind == T_NUM || p->tok.kind == T_NAME || p->tok.kind == T_LPAREN;
    const char *why = hint && starts ? " (missing operator?)" : "";
    if (p->tok.kind == T_ASSIGN) why = " (use == to compare; name=value only names an argument)";
    return fail(p, AD_ESYNTAX, p->tok.pos, p->tok.len, "unexpected %s%s", what, why);
}

/* A bracket was not closed where it should have been. */
static int close_error(parser *p, const ex_tok *opener, const char *expected)
{
    if (p->tok.kind == T_EOF)
        return fail(p, AD_ESYNTAX, opener->pos, 1, "'%c' was never closed", p->src[opener->pos]);
    char what[96];
    ex_tok_describe(p->src, &p->tok, what, sizeof what);
    return fail(p, AD_ESYNTAX, p->tok.pos, p->tok.len, "expected %s, found %s", expected, what);
}

/* ---- list literals: static shapes ------------------------------------------ */

static bool has_static_shape(const ex_node *n) { return n->kind == N_NUM || n->kind == N_LIST; }

/* Whether two elements of a list can have the same shape, as far as the
 * literals show (a non-literal element could have any shape). */
static bool compatible(parser *p, int a, int b)
{
    for (;;) {
        if (a < 0 || b < 0) return true;
        const ex_node *na = node(p, a), *nb = node(p, b);
        if (!has_static_shape(na) || !has_static_shape(nb)) return true;
        if (na->kind != nb->kind) return false;
        if (na->kind == N_NUM) return true;
        if (na->nkid != nb->nkid) return false;
        if (na->nkid == 0) return true;
        a = na->sfirst;
        b = nb->sfirst;
    }
}

static void describe_shape(parser *p, int idx, char *buf, size_t n)
{
    int64_t dims[AD_MAX_DIMS];
    int nd = 0;
    bool more = false;
    while (idx >= 0 && node(p, idx)->kind == N_LIST) {
        if (nd == AD_MAX_DIMS) {
            more = true;
            break;
        }
        dims[nd++] = node(p, idx)->nkid;
        if (node(p, idx)->nkid == 0) break;
        idx = node(p, idx)->sfirst;
        if (idx < 0) more = true;
    }
    if (nd == 0) {
        snprintf(buf, n, "a number");
        return;
    }
    char sh[AD_SHAPEBUF];
    ad_fmt_shape(sh, sizeof sh, nd, dims);
    if (more && strlen(sh) > 1) sh[strlen(sh) - 1] = '\0';
    snprintf(buf, n, "a list of shape %s%s", sh, more ? ",...]" : "");
}

static int ragged_error(parser *p, int list)
{
    char got[AD_SHAPEBUF + 32], want[AD_SHAPEBUF + 32];
    int bad = node(p, list)->aux;
    describe_shape(p, bad, got, sizeof got);
    describe_shape(p, node(p, list)->sfirst, want, sizeof want);
    return fail(p, AD_ESHAPE, node(p, bad)->pos, node(p, bad)->len, "ragged list: %s where %s was expected", got,
                want);
}

/* A node used where a value is needed: not None, not a ragged list. */
static int check_value(parser *p, int idx, bool allow_none)
{
    if (idx < 0) return -1;
    const ex_node *n = node(p, idx);
    if (n->kind == N_NONE && !allow_none)
        return fail(p, AD_ESYNTAX, n->pos, n->len, "None is only allowed in subscripts and as an argument");
    if (n->kind == N_LIST && !(n->mask & EX_L_SPREAD) && n->aux >= 0) return ragged_error(p, idx);
    return idx;
}

/* ---- grammar --------------------------------------------------------------------- */

static int parse_expr(parser *p);
static int parse_unary(parser *p);

static int parse_list(parser *p)
{
    ex_tok open = p->tok;
    int outer = p->open;
    p->open = open.pos;
    if (!enter(p) || !next(p)) return -1;
    int base = p->npend;
    if (p->tok.kind != T_RBRACK) {
        for (;;) {
            int el = check_value(p, parse_expr(p), false);
            if (el < 0) return -1;
            if (!push(p, el)) return oom(p);
            if (p->tok.kind == T_COMMA) {
                if (!next(p)) return -1;
                continue;
            }
            if (p->tok.kind == T_RBRACK) break;
            return close_error(p, &open, "',' or ']'");
        }
    }
    if (!next(p)) return -1;
    p->depth--;
    p->open = outer;
    ex_node nd = blank(N_LIST, open.pos, p->prev_end - open.pos);
    int nkid = p->npend - base;
    const int32_t *kids = p->pend + base;
    for (int i = 0; i < nkid && nd.sfirst < 0; i++)
        if (has_static_shape(node(p, kids[i]))) nd.sfirst = kids[i];
    for (int i = 0; i < nkid && nd.aux < 0; i++)
        if (kids[i] != nd.sfirst && !compatible(p, nd.sfirst, kids[i])) nd.aux = kids[i];
    bool numeric = nd.aux < 0;
    for (int i = 0; i < nkid && numeric; i++) {
        const ex_node *k = node(p, kids[i]);
        numeric = k->kind == N_NUM || (k->kind == N_LIST && (k->mask & EX_L_NUMERIC));
    }
    if (numeric) {
        const ex_node *k0 = nkid > 0 ? node(p, kids[0]) : NULL;
        int rank = 1 + (k0 && k0->kind == N_LIST ? k0->op : 0);
        if (rank > AD_MAX_DIMS)
            return fail(p, AD_ESHAPE, open.pos, 1, "list literal with more than %d dimensions", AD_MAX_DIMS);
        nd.op = (uint8_t)rank;
        nd.ival = nkid * (k0 && k0->kind == N_LIST ? k0->ival : 1);
        nd.mask = EX_L_NUMERIC;
        for (int i = 0; i < nkid; i++)
            if (node(p, kids[i])->kind == N_LIST) node(p, kids[i])->mask |= EX_L_FOLDED;
    }
    return add(p, nd, base);
}

static int parse_item(parser *p)
{
    if (p->tok.kind == T_ELLIPSIS) {
        ex_node nd = blank(N_ELLIPSIS, p->tok.pos, p->tok.len);
        if (!next(p)) return -1;
        return add(p, nd, p->npend);
    }
    int start = p->tok.pos;
    int base = p->npend;
    ex_node nd = blank(N_SLICE, start, 0);
    if (p->tok.kind != T_COLON) {
        int a = check_value(p, parse_expr(p), true);
        if (a < 0) return -1;
        if (p->tok.kind != T_COLON) return a; /* an index, or None */
        if (!push(p, a)) return oom(p);
        nd.mask |= EX_S_START;
    }
    if (!next(p)) return -1; /* the first ':' */
    if (p->tok.kind != T_COLON && p->tok.kind != T_COMMA && p->tok.kind != T_RBRACK) {
        int b = check_value(p, parse_expr(p), true);
        if (b < 0) return -1;
        if (!push(p, b)) return oom(p);
        nd.mask |= EX_S_STOP;
    }
    if (p->tok.kind == T_COLON) {
        if (!next(p)) return -1;
        if (p->tok.kind != T_COLON && p->tok.kind != T_COMMA && p->tok.kind != T_RBRACK) {
            int c = check_value(p, parse_expr(p), true);
            if (c < 0) return -1;
            if (!push(p, c)) return oom(p);
            nd.mask |= EX_S_STEP;
        }
    }
    if (p->tok.kind == T_COLON)
        return fail(p, AD_ESYNTAX, p->tok.pos, p->tok.len, "a slice has at most two ':' (start:stop:step)");
    nd.len = p->prev_end - start;
    nd.olen = nd.len;
    return add(p, nd, base);
}

static int parse_subscript(parser *p, int basenode)
{
    ex_tok open = p->tok;
    int outer = p->open;
    p->open = open.pos;
    if (!enter(p) || !next(p)) return -1;
    int base = p->npend;
    if (!push(p, basenode)) return oom(p);
    int nitems = 0;
    for (;;) {
        int it = parse_item(p);
        if (it < 0) return -1;
        if (++nitems > EX_MAX_SUBSCRIPT)
            return fail(p, AD_ELIMIT, node(p, it)->pos, node(p, it)->len, "subscript with more than %d entries",
                        EX_MAX_SUBSCRIPT);
        if (!push(p, it)) return oom(p);
        if (p->tok.kind == T_COMMA) {
            if (!next(p)) return -1;
            continue;
        }
        if (p->tok.kind == T_RBRACK) break;
        return close_error(p, &open, "',' or ']'");
    }
    if (!next(p)) return -1;
    p->depth--;
    p->open = outer;
    ex_node nd = blank(N_SUBSCRIPT, node(p, basenode)->pos, p->prev_end - node(p, basenode)->pos);
    nd.opos = open.pos;
    nd.olen = p->prev_end - open.pos;
    return add(p, nd, base);
}

static int unknown_function(parser *p, const ex_tok *name)
{
    const char *names[256];
    int n = ex_nfunctions < 256 ? ex_nfunctions : 256;
    for (int i = 0; i < n; i++) names[i] = ex_functions[i].name;
    const char *s = ex_suggest(p->src + name->pos, name->len, names, n);
    int len = name->len > 64 ? 64 : name->len;
    if (s)
        return fail(p, AD_ENOTFOUND, name->pos, name->len, "unknown function '%.*s' (did you mean '%s'?)", len,
                    p->src + name->pos, s);
    return fail(p, AD_ENOTFOUND, name->pos, name->len, "unknown function '%.*s'", len, p->src + name->pos);
}

static int unknown_argument(parser *p, const ex_fn *fn, const ex_tok *name)
{
    const char *s = ex_suggest(p->src + name->pos, name->len, fn->params, ex_fn_nparams(fn));
    int len = name->len > 64 ? 64 : name->len;
    if (s)
        return fail(p, AD_ESYNTAX, name->pos, name->len, "%s: unknown argument '%.*s' (did you mean '%s'?)",
                    fn->name, len, p->src + name->pos, s);
    return fail(p, AD_ESYNTAX, name->pos, name->len, "%s: unknown argument '%.*s'; usage: %s", fn->name, len,
                p->src + name->pos, fn->sig);
}

/* Checks a complete call against the table: spreads a list of tensors,
 * counts positional arguments, finds missing and doubled ones. */
static int check_call(parser *p, const ex_fn *fn, ex_node *nd, int base, int npos_kids, int nkw)
{
    int nkid = p->npend - base;
    int32_t *kids = p->pend + base;
    int npos = npos_kids;
    if ((fn->flags & EX_F_SPREAD) && npos_kids == 1 && node(p, kids[0])->kind == N_LIST) {
        ex_node *l = node(p, kids[0]);
        l->mask = (uint8_t)((l->mask & ~EX_L_NUMERIC) | EX_L_SPREAD);
        for (int i = 0; i < l->nkid; i++) node(p, kid(p, kids[0], i))->mask &= (uint8_t)~EX_L_FOLDED;
        npos = l->nkid;
    } else {
        for (int i = 0; i < npos_kids; i++)
            if (check_value(p, kids[i], true) < 0) return -1;
    }
    if (!fn->variadic && npos > fn->nfixed)
        return fail(p, AD_ESYNTAX, nd->pos, nd->len, "%s: too many arguments (%d given, at most %d); usage: %s",
                    fn->name, npos, fn->nfixed, fn->sig);
    for (int k = 0; k < fn->nreq; k++) {
        bool given = k < npos;
        for (int i = npos_kids; i < nkid; i++) given = given || node(p, kids[i])->ival == k;
        if (!given)
            return fail(p, AD_ESYNTAX, nd->pos, nd->len, "%s: missing argument '%s'; usage: %s", fn->name,
                        fn->params[k], fn->sig);
    }
    for (int i = npos_kids; i < nkid; i++) {
        const ex_node *kw = node(p, kids[i]);
        if (kw->ival < fn->nfixed && kw->ival < npos)
            return fail(p, AD_ESYNTAX, kw->opos, kw->olen, "%s: argument '%s' given twice", fn->name,
                        fn->params[kw->ival]);
    }
    nd->aux = npos;
    nd->mask = (uint8_t)nkw;
    return 0;
}

static int parse_call(parser *p, const ex_tok *name, int fi)
{
    const ex_fn *fn = &ex_functions[fi];
    ex_tok open = p->tok;
    int outer = p->open;
    p->open = open.pos;
    if (!enter(p) || !next(p)) return -1;
    int base = p->npend, npos_kids = 0, nkw = 0;
    if (p->tok.kind != T_RPAREN) {
        for (;;) {
            if (p->tok.kind == T_NAME && peek(p) == T_ASSIGN) {
                ex_tok nm = p->tok;
                int k = ex_fn_param(fn, p->src + nm.pos, nm.len);
                if (k < 0) return unknown_argument(p, fn, &nm);
                for (int i = base + npos_kids; i < p->npend; i++)
                    if (node(p, p->pend[i])->ival == k)
                        return fail(p, AD_ESYNTAX, nm.pos, nm.len, "%s: argument '%s' given twice", fn->name,
                                    fn->params[k]);
                if (!next(p) || !next(p)) return -1;
                int v = check_value(p, parse_expr(p), true);
                if (v < 0) return -1;
                int kb = p->npend;
                if (!push(p, v)) return oom(p);
                ex_node kn = blank(N_KWARG, nm.pos, end_of(p, v) - nm.pos);
                kn.opos = nm.pos;
                kn.olen = nm.len;
                kn.ival = k;
                int kw = add(p, kn, kb);
                if (kw < 0 || !push(p, kw)) return kw < 0 ? -1 : oom(p);
                nkw++;
            } else {
                int v = parse_expr(p);
                if (v < 0) return -1;
                if (nkw > 0)
                    return fail(p, AD_ESYNTAX, node(p, v)->pos, node(p, v)->len,
                                "%s: positional argument after a named argument", fn->name);
                if (!push(p, v)) return oom(p);
                npos_kids++;
            }
            if (p->tok.kind == T_COMMA) {
                if (!next(p)) return -1;
                continue;
            }
            if (p->tok.kind == T_RPAREN) break;
            return close_error(p, &open, "',' or ')'");
        }
    }
    if (!next(p)) return -1;
    p->depth--;
    p->open = outer;
    ex_node nd = blank(N_CALL, name->pos, p->prev_end - name->pos);
    nd.opos = name->pos;
    nd.olen = name->len;
    nd.ival = fi;
    if (check_call(p, fn, &nd, base, npos_kids, nkw) < 0) return -1;
    return add(p, nd, base);
}

static int parse_name(parser *p)
{
    ex_tok t = p->tok;
    const char *s = p->src + t.pos;
    static const struct {
        const char *name;
        double value;
    } consts[] = {{"pi", EX_PI}, {"e", EX_E}, {"true", 1}, {"false", 0}, {"inf", INFINITY}};
    if (!next(p)) return -1;
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if ((int)strlen(consts[i].name) == t.len && memcmp(consts[i].name, s, (size_t)t.len) == 0) {
            ex_node nd = blank(N_NUM, t.pos, t.len);
            nd.num = consts[i].value;
            return add(p, nd, p->npend);
        }
    if (t.len == 4 && memcmp(s, "None", 4) == 0) return add(p, blank(N_NONE, t.pos, t.len), p->npend);
    int fi = ex_fn_find(s, t.len);
    if (fi >= 0)
        return fail(p, AD_ESYNTAX, t.pos, t.len, "'%s' is a function: call it as %s", ex_functions[fi].name,
                    ex_functions[fi].sig);
    int v = ex_ast_var(p->e, s, t.len, t.pos);
    if (v < 0) return oom(p);
    ex_node nd = blank(N_VAR, t.pos, t.len);
    nd.ival = v;
    return add(p, nd, p->npend);
}

static int parse_primary(parser *p)
{
    switch (p->tok.kind) {
    case T_NUM: {
        ex_node nd = blank(N_NUM, p->tok.pos, p->tok.len);
        nd.num = p->tok.num;
        if (!next(p)) return -1;
        return add(p, nd, p->npend);
    }
    case T_NAME: return parse_name(p);
    case T_LPAREN: {
        ex_tok open = p->tok;
        int outer = p->open;
        p->open = open.pos;
        if (!enter(p) || !next(p)) return -1;
        int inner = check_value(p, parse_expr(p), false);
        if (inner < 0) return -1;
        if (p->tok.kind != T_RPAREN) return close_error(p, &open, "')'");
        if (!next(p)) return -1;
        p->depth--;
        p->open = outer;
        node(p, inner)->len = p->prev_end - open.pos; /* the span takes in the parentheses */
        node(p, inner)->pos = open.pos;
        return inner;
    }
    case T_LBRACK: return parse_list(p);
    case T_ELLIPSIS:
        return fail(p, AD_ESYNTAX, p->tok.pos, p->tok.len, "'...' is only allowed in subscripts");
    default: return unexpected(p, false);
    }
}

static int parse_postfix(parser *p)
{
    int nd;
    if (p->tok.kind == T_NAME && peek(p) == T_LPAREN) {
        ex_tok name = p->tok;
        int fi = ex_fn_find(p->src + name.pos, name.len);
        if (fi < 0) return unknown_function(p, &name);
        if (!next(p)) return -1;
        nd = parse_call(p, &name, fi);
    } else {
        nd = parse_primary(p);
    }
    while (nd >= 0 && p->tok.kind == T_LBRACK) {
        if (check_value(p, nd, false) < 0) return -1;
        nd = parse_subscript(p, nd);
    }
    return nd;
}

static int parse_power(parser *p)
{
    int base = parse_postfix(p);
    if (base < 0 || p->tok.kind != T_POW) return base;
    ex_tok op = p->tok;
    if (check_value(p, base, false) < 0 || !next(p) || !enter(p)) return -1;
    int ex = check_value(p, parse_unary(p), false); /* right-assoc: 2^3^2 = 2^9; 2^-1 */
    if (ex < 0) return -1;
    p->depth--;
    int b = p->npend;
    if (!push(p, base) || !push(p, ex)) return oom(p);
    ex_node nd = blank(N_BINARY, node(p, base)->pos, end_of(p, ex) - node(p, base)->pos);
    nd.op = T_POW;
    nd.opos = op.pos;
    nd.olen = op.len;
    return add(p, nd, b);
}

static int parse_unary(parser *p)
{
    if (p->tok.kind != T_MINUS && p->tok.kind != T_PLUS) return parse_power(p);
    ex_tok op = p->tok;
    if (!enter(p) || !next(p)) return -1;
    int x = check_value(p, parse_unary(p), false);
    if (x < 0) return -1;
    p->depth--;
    ex_node *xn = node(p, x);
    if (xn->kind == N_NUM && x == p->e->nnodes - 1) {
        /* fold the sign into the literal: -1 is a number, not neg(1) */
        if (op.kind == T_MINUS) xn->num = -xn->num;
        xn->len = p->prev_end - op.pos;
        xn->pos = xn->opos = op.pos;
        xn->olen = xn->len;
        return x;
    }
    int b = p->npend;
    if (!push(p, x)) return oom(p);
    ex_node nd = blank(N_UNARY, op.pos, end_of(p, x) - op.pos);
    nd.op = (uint8_t)op.kind;
    nd.olen = op.len;
    return add(p, nd, b);
}

static int precedence(ex_tokkind k)
{
    switch (k) {
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE:
    case T_EQ:
    case T_NE: return 1;
    case T_PLUS:
    case T_MINUS: return 2;
    case T_STAR:
    case T_SLASH:
    case T_AT: return 3;
    default: return 0;
    }
}

static int parse_binary(parser *p, int minprec)
{
    int lhs = parse_unary(p);
    int prec = 0;
    while (lhs >= 0 && (prec = precedence(p->tok.kind)) >= minprec && prec > 0) {
        ex_tok op = p->tok;
        if (check_value(p, lhs, false) < 0 || !next(p)) return -1;
        int rhs = check_value(p, parse_binary(p, prec + 1), false);
        if (rhs < 0) return -1;
        int b = p->npend;
        if (!push(p, lhs) || !push(p, rhs)) return oom(p);
        ex_node nd = blank(N_BINARY, node(p, lhs)->pos, end_of(p, rhs) - node(p, lhs)->pos);
        nd.op = (uint8_t)op.kind;
        nd.opos = op.pos;
        nd.olen = op.len;
        lhs = add(p, nd, b);
    }
    return lhs;
}

static int parse_expr(parser *p) { return parse_binary(p, 1); }

ad_expr *ad_expr_parse(const char *src, ad_expr_error *err)
{
    ad_expr_error local;
    if (!err) err = &local;
    ex_clear_error(err);
    if (!src) {
        ex_set_error(err, AD_EINVAL, -1, 0, "no expression (NULL source)");
        return NULL;
    }
    int n = 0;
    while (n <= AD_EXPR_MAX_SOURCE && src[n]) n++;
    if (n > AD_EXPR_MAX_SOURCE) {
        ex_set_error(err, AD_ELIMIT, AD_EXPR_MAX_SOURCE, 1, "expression longer than %d bytes", AD_EXPR_MAX_SOURCE);
        return NULL;
    }
    ad_expr *e = calloc(1, sizeof *e);
    if (e) e->src = malloc((size_t)n + 1);
    if (!e || !e->src) {
        free(e);
        ex_set_error(err, AD_ENOMEM, -1, 0, "out of memory while parsing");
        return NULL;
    }
    memcpy(e->src, src, (size_t)n + 1);
    e->srclen = n;
    ex_clear_error(&e->last);

    parser p = {.e = e, .src = e->src, .n = n, .open = -1, .err = err};
    p.pend = malloc(64 * sizeof *p.pend); /* never NULL while parsing: pend + base is always valid */
    p.cappend = p.pend ? 64 : 0;
    if (!p.pend) {
        oom(&p);
    } else if (ex_lex(p.src, n, 0, &p.tok, err) < 0) {
        p.failed = true;
    } else if (p.tok.kind == T_EOF) {
        fail(&p, AD_ESYNTAX, p.tok.pos, 1, "empty expression");
    } else {
        int root = check_value(&p, parse_expr(&p), false);
        if (root >= 0 && p.tok.kind != T_EOF) unexpected(&p, true);
    }
    free(p.pend);
    if (p.failed) {
        ad_expr_free(e);
        return NULL;
    }
    e->max_stack = ex_ast_max_stack(e);
    return e;
}
