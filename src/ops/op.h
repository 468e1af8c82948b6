/* src/ops/op.h — how a differentiable op is defined.
 *
 * Each op has one entry in ops.def (name, the grad_fn name PyTorch users
 * know, arity, what its VJP needs saved) and, in its family's source file,
 * three pieces side by side:
 *
 *     // y = sin x;   ẏ = cos(x)·ẋ;   x̄ += cos(x)·ȳ
 *     value kernel:   the public function ad_sin() computes y, then ends with
 *                     ad_op_finish(AD_OP_sin, y, 1, &x, NULL, 0), which
 *                     propagates tangents and records on the tape
 *     JVP rule:       ad_op_sin_jvp(c, tin) returns ẏ from ẋ
 *     VJP rule:       ad_op_sin_vjp(c, gy, gin) sets x̄ from ȳ
 *
 * Rules are written with the library's own tensor ops, so they are
 * themselves differentiable: forward mode run through a backward pass gives
 * Hessian-vector products with no extra code.  Rules run inside a scope
 * (temporaries are released when they return) and may nest calls freely.
 *
 * Tangents carry a leading batch axis of length k (forward.h).  For ops
 * flagged AD_OPF_BROADCAST the engine lifts every input tangent to the
 * output's rank first ([k,3] -> [k,1,3] for a [2,3] output), so elementwise
 * rules can simply multiply by primal values and broadcasting does the rest.
 * Other rules shift their axes by one (ad_op_tan_axis).  A NULL input
 * tangent means zero.  A JVP rule returns the output tangent, which the
 * engine broadcasts to [k, out.shape] if needed; NULL with no error
 * recorded means the output tangent is zero.
 */
#ifndef ADSCOPE_OP_H
#define ADSCOPE_OP_H

#include "../internal.h"
#include "../tape.h"

/* What a rule sees of one application of its op. */
typedef struct ad_call {
    ad_ctx *ctx;
    const struct ad_opdef *op;
    int nin;
    ad_tensor *const *in;      /* inputs; in a VJP only the saved ones (others NULL) */
    ad_tensor *out;            /* output; in a VJP only if saved (else NULL) */
    const void *attr;          /* the op's parameters */
    const ad_edge *edges;      /* VJP only: per-input shapes (edges[i].ndim/shape) */
    int out_ndim;
    const int64_t *out_shape;
    const bool *need;          /* VJP only: need[i] when input i wants a gradient */
    int k;                     /* JVP only: tangent width */
    bool consume;              /* VJP only: the sweep releases the record when the rule returns
                                * (no retain), so what the record alone holds may become a result */
} ad_call;

/* ẏ from the input tangents (tin[i] NULL = zero). Returns a new tensor. */
typedef ad_tensor *(*ad_jvp_fn)(const ad_call *c, ad_tensor *const *tin);
/* Sets gin[i] (new tensors, of input i's shape) for every i with
 * c->need[i]; leaving gin[i] NULL means a zero gradient.  Returns AD_OK or
 * a negative status. */
typedef int (*ad_vjp_fn)(const ad_call *c, ad_tensor *gy, ad_tensor **gin);

/* Which values the VJP needs: bit i for input i, AD_SAVE_OUT for the output. */
#define AD_SAVE_NONE 0u
#define AD_SAVE_IN(i) (1u << (i))
#define AD_SAVE_ALL_IN 0xffffu
#define AD_SAVE_OUT (1u << 16)

/* The same bits as the public AD_OPINFO_* (adscope/ops.h; catalog.c checks). */
enum {
    AD_OPF_BROADCAST = 1u << 0, /* elementwise with broadcasting: lift tangents */
    AD_OPF_VARIADIC = 1u << 1,  /* any number of inputs (concat, stack) */
    AD_OPF_INTERNAL = 1u << 2   /* used by rules only: no public function */
};

typedef struct ad_opdef {
    const char *name;         /* "sin" */
    const char *grad_fn_name; /* "SinBackward0" */
    int nin;                  /* inputs, -1 for variadic */
    uint32_t save;
    uint32_t flags;
    ad_jvp_fn jvp;
    ad_vjp_fn vjp;
} ad_opdef;

/* The op ids and rule declarations, from the one list in ops.def. */
#define AD_OP(id, gname, nin, save, flags, family) AD_OP_##id,
typedef enum {
#include "ops.def"
    AD_OP_COUNT
} ad_opid;
#undef AD_OP

#define AD_OP(id, gname, nin, save, flags, family)                           \
    ad_tensor *ad_op_##id##_jvp(const ad_call *c, ad_tensor *const *tin);    \
    int ad_op_##id##_vjp(const ad_call *c, ad_tensor *gy, ad_tensor **gin);
#include "ops.def"
#undef AD_OP

extern const ad_opdef ad_ops[AD_OP_COUNT];

/* ---- the engine (record.c) ------------------------------------------------- */

/* The end of every differentiable op, once `out` holds the value computed
 * from in[0..nin): both modes' share of the op.  Forward mode: applies the
 * JVP rule and attaches out's tangent when an input carries one.  Reverse
 * mode: appends a tape record when grad mode is on and an input requires
 * grad.
 * attr (attr_size bytes) is copied into the record.  Returns out, or NULL
 * after freeing out on failure. */
ad_tensor *ad_op_finish_some(int opid, ad_tensor *out, int nin, ad_tensor *const *in, const void *attr,
                             size_t attr_size);
ad_tensor *ad_op_finish_traced(int opid, ad_tensor *out, int nin, ad_tensor *const *in, const void *attr,
                               size_t attr_size);
/* Inline, so that a plain op (no tangent, nothing to record, no
 * reverse-replay trace: src/trace.h) makes its tests without a call (~24
 * of a 1-element op's ~300 instructions); the rest is out of line
 * (record.c): ad_op_finish_some once an input carries a tangent or
 * requires grad, ad_op_finish_traced for a failed op or while tracing. */
static inline ad_tensor *ad_op_finish_plain(int opid, ad_tensor *out, int nin, ad_tensor *const *in,
                                            const void *attr, size_t attr_size)
{
    for (int i = 0; i < nin; i++)
        if (in[i]->tan_mask | (in[i]->flags & AD_T_REQUIRES_GRAD))
            return ad_op_finish_some(opid, out, nin, in, attr, attr_size);
    return out;
}
static inline ad_tensor *ad_op_finish(int opid, ad_tensor *out, int nin, ad_tensor *const *in, const void *attr,
                                      size_t attr_size)
{
    if (AD_UNLIKELY(!out || out->ctx->rec)) return ad_op_finish_traced(opid, out, nin, in, attr, attr_size);
    return ad_op_finish_plain(opid, out, nin, in, attr, attr_size);
}

/* True when applying an op to these inputs needs the engine at all (a
 * tangent to propagate or a record to append): lets kernels skip building
 * attributes in the common plain case. */
bool ad_op_tracked(int nin, ad_tensor *const *in);

/* In-place forms: `result` was computed out of place from inputs that
 * include the target's old value; its value, tangent and graph position are
 * moved into `target` (whose storage version is bumped).  Frees result.
 * Checks the PyTorch rules first (no in-place on a leaf requiring grad). */
int ad_op_commit_inplace(ad_tensor *target, ad_tensor *result, const char *what);
/* The check alone, before computing anything. */
int ad_op_check_inplace(ad_tensor *target, const char *what);

/* ---- internal ops used by rules (differentiable, not public) ------------- */
ad_tensor *ad_tanh_bw(ad_tensor *g, ad_tensor *y);    /* g·(1 - y²) */
ad_tensor *ad_sigmoid_bw(ad_tensor *g, ad_tensor *y); /* g·y·(1 - y) */
ad_tensor *ad_mask(ad_tensor *a, ad_tensor *b);       /* a·[b > 0] */
/* reduce.c: y·(g - Σ_axis g·y);  g - e^y·Σ_axis g  (g, y broadcast);
 * g·exp(x - y) with g, y of logsumexp(x, axes, keepdims)'s shape */
ad_tensor *ad_softmax_bw(ad_tensor *g, ad_tensor *y, int axis);
ad_tensor *ad_log_softmax_bw(ad_tensor *g, ad_tensor *y, int axis);
ad_tensor *ad_logsumexp_bw(ad_tensor *g, ad_tensor *x, ad_tensor *y, ad_axes axes, bool keepdims);

/* ---- helpers for rules --------------------------------------------------- */

/* A view of tangent t ([k, S]) with length-1 axes inserted after the batch
 * axis up to rank ndim + 1, so that it broadcasts against a rank-ndim
 * primal. */
ad_tensor *ad_op_lift(ad_tensor *t, int ndim);
/* Where the full sum's pairwise tree splits n elements: half, rounded down
 * to a multiple of 8 (reduce.c's trees; the replay (src/replay*.c) walks
 * the same tree so that its sums keep reduce.c's bits). */
static inline int64_t ad_pw_half(int64_t n) { return n / 2 - (n / 2) % 8; }
/* Axis of a primal axis in a tangent (shift by the batch axis). */
static inline int ad_op_tan_axis(int axis) { return axis + 1; }
/* a + b where either may be NULL (zero).  Consumes neither.  NULL when an
 * error was recorded in the rule and a term is missing: that term was
 * lost to the error, and is not zero. */
ad_tensor *ad_op_add_opt(ad_tensor *a, ad_tensor *b);
/* Reduce a gradient to the shape of input i (undoing broadcasting). */
ad_tensor *ad_op_sum_to_input(const ad_call *c, int i, ad_tensor *g);
/* Shape of input i as ad_shape. */
ad_shape ad_op_in_shape(const ad_call *c, int i);
/* [k, shape...] for a tangent of a tensor with the given shape. */
ad_shape ad_op_tan_shape(int k, int ndim, const int64_t *shape);

/* Fetch a tensor argument or bail out with NULL. */
#define AD_ARG(t) \
    do {          \
        if (!(t)) return NULL; \
    } while (0)

#endif
