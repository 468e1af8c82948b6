/* adscope/autograd.h — reverse mode with the semantics of PyTorch autograd.
 *
 *     ad_tensor *x = ad_arange_n(ctx, 4);
 *     ad_requires_grad_(x, true);
 *     ad_tensor *y = ad_mul_s(ad_dot(x, x), 2);   // tensor(28., grad_fn=<MulBackward0>)
 *     ad_backward(y, NULL, 0);
 *     ad_print(ad_grad(x));                       // tensor([ 0.,  4.,  8., 12.])
 *
 * While grad mode is on (the default), every op whose inputs require grad
 * appends a record to the context's tape: the op, the inputs its VJP needs
 * (saved with their versions), and edges to the records that made its
 * inputs.  ad_backward() sweeps the tape once in reverse order from the
 * output, accumulating adjoints, and adds the result into the .grad of every
 * leaf that requires grad.  Then the records it swept are released, unless
 * AD_RETAIN_GRAPH keeps them for another backward (TensorFlow's persistent
 * tape).  Records that nothing can reach any more (their outputs freed) are
 * released at once, so the tape holds exactly what a later backward needs.
 */
#ifndef ADSCOPE_AUTOGRAD_H
#define ADSCOPE_AUTOGRAD_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mark a tensor as a leaf whose gradient is wanted (x.requires_grad_()).
 * Only leaves can be marked; AD_EGRAD for a result of recorded ops. */
AD_API int ad_requires_grad_(ad_tensor *t, bool on);
AD_API bool ad_requires_grad(const ad_tensor *t);
/* True for tensors not produced by a recorded op. */
AD_API bool ad_is_leaf(const ad_tensor *t);

enum {
    AD_RETAIN_GRAPH = 1u << 0, /* keep the swept records for another backward */
    AD_CREATE_GRAPH = 1u << 1  /* record the backward pass itself (grads get grad_fn) */
};

/* Adds d(out)/d(leaf) · seed into the .grad of every leaf requiring grad.
 * seed may be NULL only for a one-element out ("grad can be implicitly
 * created only for scalar outputs" otherwise); else it has out's shape. */
AD_API int ad_backward(ad_tensor *out, ad_tensor *seed, unsigned flags);

/* Gradients of out with respect to exactly the given inputs
 * (torch.autograd.grad): grads[j] = d(out)/d(inputs[j]) · seed, new
 * references, each of its input's shape.  Inputs may be leaves or results
 * of recorded ops (then the sweep stops at them); an input out does not
 * depend on gets zeros; no .grad is touched anywhere, retain_grad
 * included.  seed as for ad_backward.  Flags as for ad_backward:
 * AD_CREATE_GRAPH records the sweep (the gradients have a grad_fn and can
 * be differentiated again) and implies AD_RETAIN_GRAPH.  Only the records
 * between the oldest input and out are walked, and only those depending on
 * an input are swept (with a leaf among the inputs the walk starts at the
 * tape's beginning).  Forward levels open during the call stay active, so
 * gradients carry tangents (forward over reverse).  On failure every
 * grads[j] is NULL.
 *
 *     ad_tensor *g[1];
 *     ad_autograd_grad(y, NULL, 1, &x, AD_CREATE_GRAPH, g);  // dy/dx, with a graph
 *     ad_autograd_grad(ad_sum(g[0], AD_ALL, false), NULL, 1, &x, 0, g); // d²y/dx² summed
 */
AD_API int ad_autograd_grad(ad_tensor *out, ad_tensor *seed, int ninputs, ad_tensor *const *inputs, unsigned flags,
                            ad_tensor **grads);

/* The accumulated gradient, or NULL before any backward.  BORROWED, unlike
 * the rule of common.h: the caller must not free it.  It stays valid until
 * ad_clear_grad(t), the next ad_backward reaching t (which may replace it)
 * or the release of t; keep it longer with ad_tensor_ref.  ad_tensor_free
 * on it is refused with AD_ESTATE while t holds it. */
AD_API ad_tensor *ad_grad(const ad_tensor *t);
/* Zero the gradient in place (x.grad.zero_()); no-op without one. */
AD_API int ad_zero_grad(ad_tensor *t);
/* Drop the gradient entirely (x.grad = None). */
AD_API void ad_clear_grad(ad_tensor *t);
/* Also keep the gradient of a non-leaf during backward (retain_grad()). */
AD_API int ad_retain_grad(ad_tensor *t);

/* A tensor sharing t's storage but cut from the graph (y.detach(),
 * tf.stop_gradient): never requires grad, has no grad_fn or tangent. */
AD_API ad_tensor *ad_detach(ad_tensor *t);
AD_API ad_tensor *ad_stop_gradient(ad_tensor *t); /* same as ad_detach */

/* Grad mode: while off, nothing is recorded (torch.no_grad()).  The setter
 * returns the previous mode so regions nest:
 *     bool prev = ad_set_grad_enabled(ctx, false); ...; ad_set_grad_enabled(ctx, prev); */
AD_API bool ad_set_grad_enabled(ad_ctx *ctx, bool enabled);
AD_API bool ad_is_grad_enabled(const ad_ctx *ctx);

/* ---- inspecting the graph ---------------------------------------------- */

/* Name of the record that produced t ("MulBackward0"), NULL for leaves. */
AD_API const char *ad_grad_fn_name(const ad_tensor *t);
/* Number of inputs of that record, and for input i: the name of the record
 * that produced it, or "AccumulateGrad" for a leaf requiring grad, or NULL
 * when that input does not require grad (PyTorch's next_functions). */
AD_API int ad_grad_fn_ninputs(const ad_tensor *t);
AD_API const char *ad_grad_fn_input_name(const ad_tensor *t, int i);

/* Tape statistics of a context. */
typedef struct ad_tape_stats {
    int64_t recorded;   /* records appended since the last reset of this counter */
    int64_t live;       /* records alive now */
    int64_t bytes;      /* AD_MEM_TAPE: bytes of live records plus the storages they save */
} ad_tape_stats;
AD_API void ad_tape_stats_get(const ad_ctx *ctx, ad_tape_stats *out);
AD_API void ad_tape_reset_counter(ad_ctx *ctx);
/* Visit the live records in tape order (oldest first).  For each: its
 * sequence number, name, output shape, the bytes it saved for backward and
 * the sequence numbers of its input records (-1 for leaves/constants).
 * saved_bytes counts each storage once, in the oldest record that saves
 * it (a tensor saved by ten records is not ten tensors; a view counts its
 * whole storage, which it keeps alive), so the entries sum to the saved
 * part of AD_MEM_TAPE.  Records released by a backward save nothing. */
typedef struct ad_tape_entry {
    uint64_t seq;
    const char *name;
    ad_shape out_shape;
    int64_t saved_bytes;
    int ninputs;
    int64_t input_seq[8];      /* first 8 inputs; -1: leaf or constant */
    bool input_is_leaf[8];     /* input i is a leaf that requires grad */
    const ad_tensor *input_leaf[8]; /* that leaf (to name it), else NULL */
    const ad_tensor *output;   /* the output while it lives, else NULL */
    bool released;
} ad_tape_entry;
typedef int (*ad_tape_visit_fn)(const ad_tape_entry *e, void *ud);
AD_API int ad_tape_visit(const ad_ctx *ctx, ad_tape_visit_fn fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif
