/* src/expr/ast.c — the ad_expr object: its node array, variables and
 * accessors.
 *
 * Nodes are appended in post-order (children first); a node's children
 * are indices into e->kids.  Everything is plain malloc/free: parsing
 * happens before any context exists. */
#include <stdlib.h>
#include <string.h>

#include "expr_internal.h"

static bool grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap) return true;
    int ncap = *cap ? *cap : 16;
    while (ncap < need) ncap *= 2;
    void *q = realloc(*p, (size_t)ncap * elem);
    if (!q) return false;
    *p = q;
    *cap = ncap;
    return true;
}

int ex_ast_add(ad_expr *e, const ex_node *nd, const int32_t *kids, int nkid)
{
    if (!grow((void **)&e->nodes, &e->capnodes, e->nnodes + 1, sizeof *e->nodes)) return -1;
    if (nkid > 0 && !grow((void **)&e->kids, &e->capkids, e->nkids + nkid, sizeof *e->kids)) return -1;
    ex_node *n = &e->nodes[e->nnodes];
    *n = *nd;
    n->nkid = nkid;
    n->kid0 = e->nkids;
    if (nkid > 0) memcpy(e->kids + e->nkids, kids, (size_t)nkid * sizeof *kids);
    e->nkids += nkid;
    return e->nnodes++;
}

int ex_ast_var(ad_expr *e, const char *name, int len, int pos)
{
    for (int i = 0; i < e->nvars; i++)
        if ((int)strlen(e->vars[i]) == len && memcmp(e->vars[i], name, (size_t)len) == 0) return i;
    int cap = e->capvars;
    if (!grow((void **)&e->vars, &cap, e->nvars + 1, sizeof *e->vars)) return -1;
    cap = e->capvars;
    if (!grow((void **)&e->var_pos, &cap, e->nvars + 1, sizeof *e->var_pos)) return -1;
    cap = e->capvars;
    if (!grow((void **)&e->var_len, &cap, e->nvars + 1, sizeof *e->var_len)) return -1;
    e->capvars = cap;
    char *s = malloc((size_t)len + 1);
    if (!s) return -1;
    memcpy(s, name, (size_t)len);
    s[len] = '\0';
    e->vars[e->nvars] = s;
    e->var_pos[e->nvars] = pos;
    e->var_len[e->nvars] = len;
    return e->nvars++;
}

/* Values a node pops from the evaluation stack, and pushes (eval.c follows
 * the same accounting). */
void ex_ast_effect(const ex_node *n, int *pop, int *push)
{
    *pop = 0;
    *push = 1;
    switch ((ex_nodekind)n->kind) {
    case N_NUM:
    case N_VAR:
    case N_NONE:
    case N_ELLIPSIS: break;
    case N_UNARY:
    case N_KWARG:
        *pop = *push = n->kind == N_KWARG ? 0 : 1;
        break;
    case N_BINARY: *pop = 2; break;
    case N_CALL: *pop = n->aux + n->mask; break;
    case N_SLICE:
    case N_SUBSCRIPT: *pop = n->nkid; break;
    case N_LIST:
        if (n->mask & (EX_L_FOLDED | EX_L_SPREAD)) *push = 0;
        else *pop = (n->mask & EX_L_NUMERIC) ? n->ival : n->nkid;
        break;
    }
}

int ex_ast_max_stack(const ad_expr *e)
{
    int depth = 0, most = 0;
    for (int i = 0; i < e->nnodes; i++) {
        int pop, push;
        ex_ast_effect(&e->nodes[i], &pop, &push);
        depth += push - pop;
        if (depth > most) most = depth;
    }
    return most;
}

void ad_expr_free(ad_expr *e)
{
    if (!e) return;
    for (int i = 0; i < e->nvars; i++) free(e->vars[i]);
    free(e->vars);
    free(e->var_pos);
    free(e->var_len);
    free(e->nodes);
    free(e->kids);
    free(e->src);
    free(e);
}

const char *ad_expr_source(const ad_expr *e) { return e ? e->src : NULL; }

int ad_expr_nvars(const ad_expr *e) { return e ? e->nvars : 0; }

const char *ad_expr_var(const ad_expr *e, int i) { return e && i >= 0 && i < e->nvars ? e->vars[i] : NULL; }

int ad_expr_var_index(const ad_expr *e, const char *name)
{
    if (!e || !name) return -1;
    for (int i = 0; i < e->nvars; i++)
        if (strcmp(e->vars[i], name) == 0) return i;
    return -1;
}

ad_expr_error ad_expr_last_error(const ad_expr *e)
{
    ad_expr_error r;
    if (e) return e->last;
    ex_clear_error(&r);
    return r;
}
