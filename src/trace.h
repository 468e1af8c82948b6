/* src/trace.h — record once, replay over raw buffers: the recorder that
 * watches one evaluation of f (trace.c), the program it leaves, and the
 * executor that runs that program's forward and reverse passes over
 * preallocated arrays (replay.c).  Internal to the core; the backend
 * `reverse-replay` (modes/replay.c) is its only user.
 *
 * Why: a recorded op costs ~700 instructions of handle, scope and tape
 * bookkeeping whatever its size, so rosenbrock's n = 10 gradient (26
 * tensors, 10 records) is ~25 k instructions for ~1 k of arithmetic.
 * ADOL-C re-evaluates a recorded tape, torch.jit.trace and jax.jit replay
 * a traced graph; so does this.
 *
 * Recording.  While ctx->rec is set, every differentiable op reports its
 * result (ad_op_finish -> ad_rec_op): op id, input and output slots, its
 * scalar attribute, whether it was recorded on the tape and which inputs
 * it sends adjoints to.  A slot is a tensor the recorder knows: a problem
 * input (registered first), an op's output, or a constant made inside f by
 * a literal constructor (full, zeros, ones, scalar, arange, linspace, eye:
 * create.c reports them, their values are copied into the program, as JAX
 * and ADOL-C bake passive values).  The recorder holds a reference to every
 * slot's tensor until recording ends, so a handle is never recycled under
 * it, and remembers each storage's version: a slot written in place after
 * it was recorded is stale.  The trace is poisoned (cannot be replayed,
 * with the reason kept) when f
 *   - reads values to the host (ad_item, ad_getv, ad_data, ad_to_array:
 *     control flow might depend on them; tensor.c reports them),
 *   - hands an op a tensor the recorder does not know (made outside f, from
 *     caller memory by ad_from_array or ad_wrap, by the RNG, by a
 *     non-differentiable op, or by a raw internal path), or a slot that was
 *     written in place since,
 *   - propagates forward tangents or runs a backward sweep (sweep.c),
 *   - or the op that produced y is outside the whitelist below.
 * Ops that do not reach y are dropped (dead code), whatever they are.
 *
 * The whitelist (contiguous data only): neg, exp, log, sin, cos, tanh,
 * sigmoid, square, sqrt; add_s (and sub_s), mul_s, div_s, rsub_s; add, sub,
 * mul, div of one shape; clone; slice, view/reshape, squeeze, unsqueeze
 * when the result is contiguous; full sum and mean; mv of a contiguous
 * matrix and vector (replay_mv.c).  Their value kernels
 * are the ops' own expressions (the SIMD functions through ad_simd_run,
 * the full sum the pairwise tree of reduce.c), and their adjoints follow
 * the VJP rules' expressions and the sweep's order of accumulation (first
 * share copied, later ones added, a slice's added into its place in a
 * zeroed accumulator), so a replayed gradient has reverse's bits (the sign
 * of a zero aside).
 *
 * The program.  Slots are numbered; each is an input (the caller's data),
 * a constant (in the program's pool), a buffer of the arena, or a
 * contiguous view into another slot's data at an offset.  The arena holds
 * the buffers and the adjoints; it is allocated once per program through
 * the context and parked with it between calls (counted as cached), and
 * while a replay runs its bytes count as tape (values the reverse pass
 * reads), values (the rest) and tangents (adjoints), as reverse's would. */
#ifndef ADSCOPE_TRACE_H
#define ADSCOPE_TRACE_H

#include "internal.h"
#include "ops/simd.h"

/* ---- recording (trace.c) ---------------------------------------------- */

typedef struct ad_rec ad_rec;
typedef struct ad_prog ad_prog;

/* Starts recording in ctx with the problem's inputs x[0..nin) (fresh
 * inputs; wrt[i] says which are differentiated).  AD_OK, or AD_ENOMEM. */
int ad_rec_begin(ad_ctx *ctx, int nin, ad_tensor *const *x, const bool *wrt);
/* Ends recording with f's result y (NULL when f failed) and builds the
 * program: *prog gets it, or NULL when the trace cannot be replayed (why
 * then names the reason, in a buffer of AD_REC_WHY bytes).  AD_OK, or
 * AD_ENOMEM (then nothing is built). */
#define AD_REC_WHY 256
int ad_rec_end(ad_ctx *ctx, ad_tensor *y, ad_prog **prog, char *why);

/* Hooks.  The op engine's, after an op finished (out may be NULL when it
 * failed): returns out. */
ad_tensor *ad_rec_op(int opid, ad_tensor *out, int nin, ad_tensor *const *in, const void *attr, size_t attr_size);
/* A literal constant made inside f (create.c). */
void ad_rec_literal(ad_tensor *t);
/* Poisons the trace, naming what happened ("ad_item read a value"). */
void ad_rec_poison(ad_ctx *ctx, const char *what);
static inline void ad_rec_host_read(const ad_tensor *t, const char *what)
{
    if (t && t->ctx->rec) ad_rec_poison(t->ctx, what);
}

/* ---- programs (trace.c) ----------------------------------------------- */

/* What a program was recorded for: f, its user data, the inputs' shapes
 * and which are differentiated.  Another shape is another program. */
typedef struct ad_prog_key {
    const void *f;
    const void *user;
    int nin;
    uint64_t wrt;                 /* bit i: input i differentiated (nin <= 64) */
    int64_t shape_hash;           /* of every input's ndim and shape */
    bool value_only;              /* recorded without derivatives, for its value (central-replay) */
} ad_prog_key;

/* The context's programs (a few; the least recently used goes first).
 * ad_progs_find returns the entry for key, or NULL; an entry holds a
 * program, or the reason none could be made (then *prog is NULL). */
typedef struct ad_prog_entry ad_prog_entry;
ad_prog_entry *ad_progs_find(ad_ctx *ctx, const ad_prog_key *key, ad_tensor *const *in);
/* Stores prog (owned from now on; NULL with the reason why) for key.
 * AD_OK or AD_ENOMEM (prog is then freed). */
int ad_progs_add(ad_ctx *ctx, const ad_prog_key *key, ad_tensor *const *in, ad_prog *prog, const char *why);
ad_prog *ad_prog_entry_prog(const ad_prog_entry *e);
const char *ad_prog_entry_why(const ad_prog_entry *e);
void ad_prog_free(ad_ctx *ctx, ad_prog *p);
/* Bytes parked between calls (ad_mem_stats.cached) and giving every
 * program back (ad_ctx_trim, ad_ctx_free): the bytes freed. */
int64_t ad_progs_parked(const ad_ctx *ctx);
int64_t ad_progs_free(ad_ctx *ctx);

/* The last reverse-replay call's report (backend.h: ad_replay_last): its
 * kind, reason and the program run or recorded (NULL: none). */
void ad_progs_report(ad_ctx *ctx, int kind, const char *why, const ad_prog *prog);

/* ---- execution (replay.c) --------------------------------------------- */

/* Runs prog on x[0..nin) (contiguous, the shapes it was recorded for):
 * writes f's value into y (numel of the program's output) and, for each
 * differentiated input i, the gradient seeded by seed (the output's
 * cotangent, its numel values; NULL: 1) into g[i] (x[i]'s numel).
 * AD_OK, or AD_ENOMEM when the arena cannot be allocated. */
int ad_prog_run(ad_ctx *ctx, ad_prog *prog, ad_tensor *const *x, const double *seed, double *y, double *const *g);
/* Allocates prog's arena at its first run (parked with it; not counted
 * while parked): AD_OK or AD_ENOMEM. */
int ad_prog_arena(ad_ctx *ctx, ad_prog *prog);
/* The output's shape. */
void ad_prog_out_shape(const ad_prog *p, int *ndim, int64_t *shape);
/* The largest slot's element count, an mv's matrix aside (the BLAS reads
 * it once, as in reverse). */
int64_t ad_prog_max_numel(const ad_prog *p);
/* reduce.c's pairwise sum of x[0..n) (the full sum's tree, unit stride). */
double ad_replay_pw_sum(const double *x, int64_t n);

/* ---- blocked execution (replay_block.c) --------------------------------- *
 *
 * A program of elementwise chains over one domain of m elements, ending in
 * a full sum or mean, runs block by block: per block the forward values
 * into block buffers (a few hundred elements each, sized so that they fit
 * an L1 cache; in the arena), the block's part of the sum, then the
 * block's VJPs seeded by the sum's (scalar) adjoint, its shares added into
 * the gradient where they belong.
 * No array of m elements is made; x is read and the gradient written
 * about once.  What it accepts: inputs and constants read directly (m
 * elements) or through a view of them at a constant offset (x[:-1], x[1:]);
 * unary, scalar and same-shape binary ops whose results have m elements;
 * the full sum or mean last, nothing else reduced; and one mv whose result
 * is the domain (A's rows), its head (replay_mv.c, below).
 *
 * The blocks are the nodes of the sum's pairwise tree (ad_replay_pw_sum)
 * where it first reaches the block size or fewer elements, combined as
 * the tree combines them, so the value is the same sum to the bit.  A
 * gradient element gets its shares from one or two blocks (a share at
 * offset o of element j comes from the block holding j - o), so they
 * arrive in the sweep's order only when the offsets of an input's shares
 * do not grow along the sweep's order (the first two may be swapped:
 * (0 + a) + b = (0 + b) + a); a program where they would is not blocked.
 *
 * Memory: the arena holds block buffers only, counted while a run lasts as
 * the whole-array ones are (saved blocks as tape, other blocks as values,
 * adjoint blocks as tangents), so peak_tape is a few kB whatever n.  The
 * inputs are not moved to tape: a block's backward reads the block of x
 * its forward has just read, nothing of x is kept for it. */
#define AD_REPLAY_BLOCK_MIN 128          /* a leaf of the sum's tree */
#define AD_REPLAY_BLOCK_MAX 4096
#define AD_REPLAY_BLOCK_BYTES (48 * 1024) /* a block's buffers: an L1d (48 KiB here) */
#define AD_REPLAY_SMALL 24               /* below, op by op costs fewer instructions */

/* Lays prog out for blocked execution and returns NULL, or returns why it
 * cannot run blocked (a static string; prog is left as it was). */
const char *ad_prog_block_plan(ad_prog *g);
/* ad_prog_run's blocked path (the arena allocated and counted). */
void ad_prog_run_blocked(ad_prog *g, ad_tensor *const *x, const double *seed, double *y, double *const *gr);
/* One block's forward values over [lo, lo + n) (a node of the sum's tree,
 * n <= the block size) and its part of the sum; nothing swept. */
double ad_prog_block_value(ad_prog *g, ad_tensor *const *x, int64_t lo, int64_t n);
/* Whether prog runs blocked; if not, why (a static string) in *why. */
bool ad_prog_blocked(const ad_prog *p, const char **why);

/* ---- the value alone (replay_value.c) ----------------------------------- *
 *
 * What the difference backends need of f: its value at points, no
 * adjoints.  A blocked program's value is the sum's pairwise tree over the
 * blocks, so a point that differs from a base point in one element x_j
 * changes only the blocks that read x_j (through each view's offset: one
 * or two) and their ancestors in the tree: the base point's tree nodes are
 * kept, the dirty blocks run again and their ancestors are added up anew
 * from the kept siblings, the same additions in the same order as a full
 * evaluation (so the same bits), at the cost of a block or two and the
 * tree's depth.  Other programs run whole, op by op. */

/* f's value at x (contiguous, the recorded shapes) into y (the output's
 * numel).  AD_OK, or AD_ENOMEM when the arena cannot be allocated. */
int ad_prog_value(ad_ctx *ctx, ad_prog *prog, ad_tensor *const *x, double *y);

#define AD_PROG_DIRTY_MAX 16
/* Values at points near a base point x (x's data as it is when the first
 * value is asked for).  Between begin and end x must not change but
 * through ad_prog_moved_value, which puts back what it moves. */
typedef struct ad_prog_moves {
    ad_ctx *ctx;
    ad_prog *g;
    ad_tensor *const *x;
    double *node;                  /* blocked: the base point's tree, heap-indexed (NULL: not made yet) */
    int64_t nnode;
    int64_t dirty[AD_PROG_DIRTY_MAX]; /* this point's domain positions that differ from the base */
    int ndirty;
    bool counted;                  /* the arena counts as values while the session lasts */
} ad_prog_moves;
/* AD_OK, or AD_ENOMEM (the arena). */
int ad_prog_moves_begin(ad_prog_moves *mv, ad_ctx *ctx, ad_prog *prog, ad_tensor *const *x);
/* f's value at the base point with x[in][el] set to v (in < 0: the base
 * point itself) into y; x[in][el] is put back.  AD_OK or AD_ENOMEM. */
int ad_prog_moved_value(ad_prog_moves *mv, int in, int64_t el, double v, double *y);
void ad_prog_moves_end(ad_prog_moves *mv);

/* ---- the program's layout (shared by trace.c and replay.c) ------------- */

/* Whether op's result is a view of its input (a VIEW slot when it shares
 * the input's memory): slice, view, squeeze, unsqueeze (trace.c). */
bool ad_rec_is_view_op(int op);
/* The SLEEF bulk function of a whitelisted transcendental op (exp, log,
 * sin, cos, tanh; sigmoid otherwise): the kernel ad_exp & co. run, so the
 * replay's values are theirs bit for bit (trace.c). */
ad_simd_fn ad_rec_simd_of(int op);

enum { AD_SLOT_IN, AD_SLOT_CONST, AD_SLOT_BUF, AD_SLOT_VIEW };

typedef struct ad_slot {
    int64_t numel;
    int64_t off;    /* VIEW: elements into its root's data; CONST: into the pool */
    int64_t val;    /* BUF: its values in the arena (doubles) */
    int64_t adj;    /* its adjoint in the arena, or -1 (none, or an input's: the caller's g) */
    int32_t root;   /* VIEW: the slot whose data it views (never a view); else itself */
    int32_t input;  /* IN: which problem input */
    int8_t kind;
    int8_t grad;    /* has an adjoint: a recorded op's output, or a differentiated input */
    int8_t saved;   /* BUF: the reverse pass reads its values (counted as tape) */
} ad_slot;

typedef struct ad_pop {
    int16_t op;     /* ad_opid */
    int8_t nin;
    int8_t rec;     /* recorded on the tape: the reverse pass steps it */
    uint8_t need;   /* bit i: input i is sent its share */
    int32_t in[2], out;
    double s;       /* the scalar of a tensor-scalar op */
} ad_pop;

struct ad_prog {
    int nslot, nop, nin;
    ad_slot *slot;
    ad_pop *op;
    double *pool;        /* constants */
    int64_t npool;
    int32_t y;           /* the output's slot */
    int y_ndim;
    int64_t y_shape[AD_MAX_DIMS];
    int64_t arena_n;     /* doubles */
    int64_t tape_n, values_n, adj_n; /* of which saved buffers, other buffers, adjoints */
    double *arena;       /* allocated at the first run, parked with the program */
    uint8_t *present;    /* per slot: its adjoint holds a share (one run's scratch) */
    double **vp, **ap;   /* per slot: its values and its adjoint (NULL: none) this run */
    uint64_t saved_in;   /* bit i: input i's values are read by the reverse pass */
    int64_t block;       /* blocked (replay_block.c): elements per block buffer; 0: whole arrays */
    int64_t dom;         /* blocked: the elementwise domain's length m */
    int64_t scratch;     /* blocked: the arena's three scratch block buffers (doubles in) */
    const char *why_not_blocked; /* NULL when blocked, else the reason (a static string) */
    int32_t mv;          /* blocked: the op index of the mv head, or -1 */
    int64_t mv_rows;     /* blocked: rows of A per run */
    int64_t mv_tmp;      /* op by op: the arena scratch of x's later mv shares (doubles in) */
    size_t bytes;        /* of this block (slots, ops, pool, present) */
};

/* ---- mv (replay_mv.c) ---------------------------------------------------- *
 *
 * Blocked, an mv whose result is the chain's domain (m = A's rows) is the
 * head of the chain: A and x inputs or constants read by no other op, x of
 * 2 or more elements.  Rows run g->mv_rows at a time (a multiple of 4, A's
 * run in L2): the run's values, the chain forward and backward over them,
 * then x̄ += Σ ȳ_i A_i while the run is in cache and Ā's rows ȳ_i·x; the
 * sum's leaves are still whole blocks (pairwise-tree nodes), so the value
 * keeps its bits. */

/* Why the recorder cannot replay mv(A, x), or NULL. */
const char *ad_rec_mv_bad(const ad_tensor *A, const ad_tensor *x);
/* Doubles of arena scratch op-by-op replay needs for x's later shares. */
int64_t ad_replay_mv_scratch(const ad_prog *g);
/* Whether slot s is an mv's matrix (BLAS reads it as reverse does: it does
 * not count towards the size limit of op-by-op replay). */
bool ad_replay_mv_matrix(const ad_prog *g, int32_t s);
/* Op p's value y = A x, and input k's share of it (into d, first: copied). */
void ad_replay_mv_value(const ad_prog *g, const ad_pop *p, double *y, const double *A, const double *x);
void ad_replay_mv_share(const ad_prog *g, const ad_pop *p, int k, double *d, bool first, const double *gy,
                        const double *A, const double *x);
/* Blocked: checks the mv head (sets g->mv, -1 without one, and
 * g->mv_rows): NULL, or why the program cannot run blocked. */
const char *ad_prog_block_mv_plan(ad_prog *g, int64_t m);
/* Blocked: rows [r0, r0 + c)'s values into g->vp[mv's out]; their shares
 * from g->ap[mv's out] (x's gradient zeroed before the first run). */
void ad_block_mv_value(const ad_prog *g, ad_tensor *const *x, int64_t r0, int64_t c);
void ad_block_mv_share(const ad_prog *g, ad_tensor *const *x, double *const *gr, int64_t r0, int64_t c);

#endif
