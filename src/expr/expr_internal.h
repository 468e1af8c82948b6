/* src/expr/expr_internal.h — the expression language's inner parts.
 *
 *   lex.c        bytes -> tokens
 *   parse.c      tokens -> AST (Pratt parser), calls checked against the table
 *   ast.c        the ad_expr object: node array, variables, accessors
 *   eval.c       AST -> tensors (a stack machine over the post-order AST)
 *   args.c       evaluated arguments -> axes, sizes, booleans, tensors
 *   functions.c  the one table of functions, lookup and suggestions
 *   fn_math.c    elementwise, reductions, linear algebra
 *   fn_shape.c   views, joins, indexing
 *   fn_create.c  creation functions (arange, ones, randn, ...)
 *   value.c      ad_expr_value: VALUE expressions
 *   error.c      error records and ad_expr_format_error
 *
 * The AST is an array of nodes in post-order: a node is appended when it
 * is complete, after all of its children, which is exactly the order in
 * which a Pratt parser finishes subtrees.  Evaluation is then one loop over
 * the array with a value stack: no recursion, whatever the shape of the
 * tree (a left-deep chain "x+x+...+x" is as cheap as a balanced one).  The
 * parser does recurse, but every recursion (parentheses, calls, subscripts,
 * lists, prefix signs, exponents) counts against AD_EXPR_MAX_DEPTH.
 *
 * Memory: the AST and the ad_expr are plain malloc/free, because parsing
 * has no context (ad_expr_parse takes none, and one ad_expr may be
 * evaluated in several contexts).  Everything an evaluation allocates goes
 * through the evaluating context's allocator hook: tensors live in a scope
 * that ends with only the result alive, and scratch arrays (ex_alloc) are
 * accounted as AD_MEM_META, so the allocation-failure tests reach them.
 */
#ifndef ADSCOPE_EXPR_INTERNAL_H
#define ADSCOPE_EXPR_INTERNAL_H

#include <stdarg.h>

#include "../internal.h"

/* ---- tokens (lex.c) -------------------------------------------------------- */

typedef enum {
    T_EOF,
    T_NUM,
    T_NAME,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_AT,
    T_POW, /* ^ and ** */
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_EQ,
    T_NE,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
    T_COLON,
    T_ASSIGN,
    T_ELLIPSIS
} ex_tokkind;

typedef struct ex_tok {
    ex_tokkind kind;
    int pos, len;
    double num; /* T_NUM */
} ex_tok;

/* The token starting at or after byte `at` of src[0..n).  0, or -1 with err
 * filled (unknown character, malformed or non-finite number). */
int ex_lex(const char *src, int n, int at, ex_tok *t, ad_expr_error *err);
/* "'+'", "number '2.5'", "name 'x'", "end of expression" for messages. */
void ex_tok_describe(const char *src, const ex_tok *t, char *buf, size_t n);

/* ---- AST (parse.c) -------------------------------------------------------------- */

typedef enum {
    N_NUM,      /* num */
    N_VAR,      /* ival: variable index */
    N_NONE,     /* None: a subscript's newaxis, an omitted argument or slice bound */
    N_ELLIPSIS, /* ... in a subscript */
    N_SLICE,    /* a:b:c in a subscript; mask: which of start/stop/step are children */
    N_UNARY,    /* op: T_MINUS or T_PLUS */
    N_BINARY,   /* op: the operator token kind */
    N_CALL,     /* ival: function index; aux: positional slots; mask: named arguments */
    N_KWARG,    /* name=value; ival: parameter index; opos/olen: the name */
    N_SUBSCRIPT,/* kids: base, items...; opos/olen: the brackets */
    N_LIST      /* [a, b, ...]; mask: EX_L_* flags; ival: leaves of a numeric list */
} ex_nodekind;

enum {
    EX_L_NUMERIC = 1, /* every leaf a number, shape known and rectangular */
    EX_L_FOLDED = 2,  /* part of an enclosing numeric list: evaluates to nothing */
    EX_L_SPREAD = 4   /* concat([a, b]): its elements are the call's arguments */
};

enum { EX_S_START = 1, EX_S_STOP = 2, EX_S_STEP = 4 };

typedef struct ex_node {
    uint8_t kind, op, mask;
    int32_t pos, len;   /* the whole span */
    int32_t opos, olen; /* operator, function name, or brackets */
    int32_t nkid, kid0; /* children: e->kids[kid0 .. kid0 + nkid) */
    int32_t ival, aux;
    int32_t sfirst;     /* list: first child with a static shape (number or list), -1 if none */
    double num;
} ex_node;

struct ad_expr {
    char *src;
    int srclen;
    ex_node *nodes;
    int nnodes, capnodes;
    int32_t *kids;
    int nkids, capkids;
    char **vars; /* names, first-appearance order */
    int *var_pos, *var_len;
    int nvars, capvars;
    int max_stack; /* deepest value stack the evaluation needs */
    ad_expr_error last; /* of the last failed ad_expr_fn */
};

/* Appends a node (children copied from kids); its index, or -1 when out
 * of memory. */
int ex_ast_add(ad_expr *e, const ex_node *nd, const int32_t *kids, int nkid);
/* Index of variable `name` (len bytes), registered at its first appearance
 * (pos); -1 when out of memory. */
int ex_ast_var(ad_expr *e, const char *name, int len, int pos);
/* What a node pops from and pushes onto the evaluation stack. */
void ex_ast_effect(const ex_node *n, int *pop, int *push);
int ex_ast_max_stack(const ad_expr *e);

/* ---- the function table (functions.c) -------------------------------------- */

#define EX_MAXP 6 /* named parameters per function */

typedef struct ex_call ex_call;
typedef ad_tensor *(*ex_impl)(ex_call *c);

typedef union ex_op {
    ad_tensor *(*unary)(ad_tensor *);
    ad_tensor *(*binary)(ad_tensor *, ad_tensor *);
    ad_tensor *(*reduce)(ad_tensor *, ad_axes, bool);
    ad_tensor *(*stat)(ad_tensor *, ad_axes, double, bool);
    ad_tensor *(*along)(ad_tensor *, int);
    ad_tensor *(*arg)(ad_tensor *, int, bool);
    ad_tensor *(*arg_all)(ad_tensor *);
    ad_tensor *(*join)(ad_tensor *const *, int, int);
    ad_tensor *(*fill)(ad_ctx *, ad_shape);
    int binop; /* operator token kind for pow/maximum/minimum */
} ex_op;

enum {
    EX_F_SPREAD = 1 /* a list literal as the only positional argument holds the tensors */
};

/* One function of the language.  Parameters: params[0..nfixed) may be
 * given by position or by name; with `variadic`, further positional
 * arguments are collected (reshape(x, 2, 3)), and params[nfixed..) can
 * only be named (concat(a, b, axis=1)).  The first nreq are required. */
typedef struct ex_fn {
    const char *name;
    const char *sig; /* for help texts */
    int nreq, nfixed;
    bool variadic;
    const char *params[EX_MAXP]; /* NULL-terminated when shorter */
    ex_impl impl;
    ex_op op;
    unsigned flags;
    int axis_default; /* softmax (-1), cumsum (0), ... */
} ex_fn;

extern const ex_fn ex_functions[];
extern const int ex_nfunctions;

/* Index of a function by name (len bytes), or -1. */
int ex_fn_find(const char *name, int len);
/* Index of a parameter of fn by name, or -1. */
int ex_fn_param(const ex_fn *fn, const char *name, int len);
int ex_fn_nparams(const ex_fn *fn);
/* The closest of n candidates to name within edit distance 2 (and less
 * than the name's length), or NULL. */
const char *ex_suggest(const char *name, int len, const char *const *cand, int n);

/* ---- evaluation (eval.c, args.c) ------------------------------------------------ */

typedef enum { V_TENSOR, V_NUM, V_NONE, V_INDEX } ex_valkind;

typedef struct ex_val {
    uint8_t kind;
    bool owned;   /* t is a reference of ours (else borrowed: a variable) */
    ad_tensor *t; /* V_TENSOR */
    double num;   /* V_NUM */
    ad_index ix;  /* V_INDEX: a slice or ... */
    int pos, len; /* span of the expression that produced it */
} ex_val;

typedef struct ex_eval {
    ad_ctx *ctx;
    const ad_expr *e;
    ad_expr_error *err;
} ex_eval;

/* Scratch memory of an evaluation, through the context's allocator hook
 * (AD_MEM_META).  ex_free takes the size given to ex_alloc. */
static inline void *ex_alloc(ex_eval *ev, size_t n) { return ad_mem_alloc(ev->ctx, n, AD_MEM_META); }
static inline void ex_free(ex_eval *ev, void *p, size_t n) { ad_mem_free(ev->ctx, p, n, AD_MEM_META); }

struct ex_call {
    ex_eval *ev;
    const char *what;   /* prefix of messages: the function's name, "subscript" */
    const ex_fn *fn;    /* NULL outside calls */
    const ex_node *node;
    ex_val *a[EX_MAXP]; /* by parameter index; NULL when not given */
    ex_val *rest;       /* extra positional arguments (variadic) */
    int nrest;
};

/* Records an evaluation error at [pos, pos+len) in ev->err and in the
 * context.  Returns status. */
int ex_fail(ex_eval *ev, int status, int pos, int len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* The same at the call's span, the message prefixed with the function name. */
int ex_call_fail(ex_call *c, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int ex_arg_fail(ex_call *c, const ex_val *v, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* a OP b with numbers folded and the tensor-scalar forms used when one
 * side is a number.  0, or a negative status with the error recorded at
 * the span (pos, len). */
int ex_binop(ex_eval *ev, int op, ex_val *a, ex_val *b, ex_val *out, int pos, int len);

/* The value as a tensor (a number becomes a 0-d tensor owned by the slot).
 * NULL with the error recorded for None and subscript entries. */
ad_tensor *ex_tensor(ex_call *c, ex_val *v);
/* A single finite number (a number or a one-element tensor). */
int ex_number(ex_call *c, const ex_val *v, const char *what, bool allow_inf, double *out);
/* A finite integer. */
int ex_integer(ex_call *c, const ex_val *v, const char *what, int64_t *out);
int ex_bool(ex_call *c, const ex_val *v, const char *what, bool dflt, bool *out);
/* An axis (integer); v NULL gives dflt. */
int ex_axis(ex_call *c, const ex_val *v, int dflt, int *out);
/* Axes: None or absent = all, an integer, or a list. */
int ex_axes(ex_call *c, const ex_val *v, ad_axes *out);
/* Up to AD_MAX_DIMS integers from arguments: n integers, or one list (a
 * 1-d tensor), each at least lo (0 for sizes, -1 where -1 is inferred,
 * -AD_MAX_DIMS for axes); `what` names them in messages ("size", "axis"). */
int ex_ints(ex_call *c, ex_val *v, int n, const char *what, int64_t lo, ad_shape *out);
/* Refuses (AD_ELIMIT) a creation of more than AD_EXPR_MAX_ELEMENTS. */
int ex_check_elements(ex_call *c, const ad_shape *s);
/* A list of integers (1-d tensor or a number) into a new array of *n
 * integers (ex_alloc); release it with ex_int_list_free(c, *out, *n). */
int ex_int_list(ex_call *c, const ex_val *v, const char *what, int64_t **out, int64_t *n);
void ex_int_list_free(ex_call *c, int64_t *list, int64_t n);

/* Integer-valued doubles: |x| <= 2^53 converts exactly. */
#define EX_MAX_EXACT 9007199254740992.0

/* ---- function implementations (fn_*.c) ---------------------------------- */

ad_tensor *ex_fn_unary(ex_call *c);
ad_tensor *ex_fn_binary(ex_call *c);
ad_tensor *ex_fn_binop(ex_call *c);
ad_tensor *ex_fn_where(ex_call *c);
ad_tensor *ex_fn_reduce(ex_call *c);
ad_tensor *ex_fn_stat(ex_call *c);
ad_tensor *ex_fn_along(ex_call *c);
ad_tensor *ex_fn_argext(ex_call *c);
ad_tensor *ex_fn_cross(ex_call *c);
ad_tensor *ex_fn_norm(ex_call *c);

ad_tensor *ex_fn_reshape(ex_call *c);
ad_tensor *ex_fn_transpose(ex_call *c);
ad_tensor *ex_fn_permute(ex_call *c);
ad_tensor *ex_fn_squeeze(ex_call *c);
ad_tensor *ex_fn_unsqueeze(ex_call *c);
ad_tensor *ex_fn_expand(ex_call *c);
ad_tensor *ex_fn_join(ex_call *c);
ad_tensor *ex_fn_index_select(ex_call *c);
ad_tensor *ex_fn_gather(ex_call *c);
ad_tensor *ex_fn_tensor(ex_call *c);

ad_tensor *ex_fn_arange(ex_call *c);
ad_tensor *ex_fn_fill(ex_call *c);
ad_tensor *ex_fn_full(ex_call *c);
ad_tensor *ex_fn_eye(ex_call *c);
ad_tensor *ex_fn_linspace(ex_call *c);
ad_tensor *ex_fn_multinomial(ex_call *c);

/* ---- errors (error.c) ------------------------------------------------------------ */

void ex_set_error(ad_expr_error *err, int status, int pos, int len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
void ex_set_errorv(ad_expr_error *err, int status, int pos, int len, const char *fmt, va_list ap);
void ex_clear_error(ad_expr_error *err);

#endif
