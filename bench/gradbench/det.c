/* bench/gradbench/det.c — GradBench's "det" eval (cmpad's det_by_minor):
 * the determinant of an ℓ×ℓ matrix by expansion by minors, and its gradient
 * by the backend.
 *
 * Vectorised by levels, bottom-up: level k holds the determinants of all
 * minors made of the last k rows and a k-subset S of the columns, one
 * tensor of C(ℓ,k) entries, and
 *
 *     D_k[S] = Σ_t (-1)^t · A[ℓ-k, c_t] · D_{k-1}[S \ {c_t}]   (c_0 < c_1 < ... the columns of S)
 *
 * is the expansion of that minor along its first row, done for every S at
 * once with two index_selects, a product and a sum.  Each minor is
 * computed once and shared by the expansions that need it, so the work is
 * ℓ·2^(ℓ-1) products instead of the recursion's ~e·ℓ!: the same expansion,
 * not the same operation count as the reference (README.md says so beside
 * the timings).  The index tables depend only on ℓ; they are built inside
 * the function, so their cost is timed too. */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "gb_impl.h"

#define DET_MAX_ELL 18 /* ℓ·2^ℓ index entries: 4.7 M at 18 */

/* The tables of level k: for the p-th k-subset (masks in increasing order)
 * and its t-th column, cols[p·k+t] = c_t and subs[p·k+t] = the position of
 * S \ {c_t} among the (k-1)-subsets.  pos[mask] is a mask's position among
 * the masks of its size.  Returns the number of k-subsets. */
static int64_t det_level(int ell, int k, const int64_t *pos, int64_t *cols, int64_t *subs)
{
    int64_t p = 0;
    for (uint32_t S = 0; S < (1u << ell); S++) {
        if (__builtin_popcount(S) != k) continue;
        int t = 0;
        for (int j = 0; j < ell; j++) {
            if (!(S >> j & 1u)) continue;
            cols[p * k + t] = j;
            subs[p * k + t] = pos[S & ~(1u << j)];
            t++;
        }
        p++;
    }
    return p;
}

/* D_k from D_{k-1}: the expansion along row ell - k, for every k-subset. */
static ad_tensor *det_expand(ad_tensor *A, ad_tensor *prev, int ell, int k, int64_t N, const int64_t *cols,
                             const int64_t *subs)
{
    ad_ctx *ctx = ad_tensor_ctx(A);
    double sgn[DET_MAX_ELL];
    for (int t = 0; t < k; t++) sgn[t] = t % 2 ? -1 : 1;
    ad_tensor *row = ad_idx(A, AD_I(ell - k));
    ad_tensor *a = ad_reshape(ad_index_select(row, 0, N * k, cols), AD_SHAPE(N, k));
    ad_tensor *d = ad_reshape(ad_index_select(prev, 0, N * k, subs), AD_SHAPE(N, k));
    ad_tensor *s = ad_from_array(ctx, AD_SHAPE(k), sgn);
    return ad_sum(ad_mul(ad_mul(a, d), s), AD_AXES(1), false);
}

static ad_tensor *det_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)user;
    ad_tensor *A = in[0];
    int ell = ad_ndim(A) == 2 ? (int)ad_dim(A, 0) : 0;
    if (ell < 1 || ell > DET_MAX_ELL || ad_dim(A, 1) != ell) {
        ad_raise(ctx, AD_ESHAPE, "det: A must be square with 1 to %d rows", DET_MAX_ELL);
        return NULL;
    }
    size_t half = (size_t)ell << (ell - 1); /* Σ_k k·C(ℓ,k): every level's entries fit */
    int64_t *pos = malloc(((size_t)1 << ell) * sizeof *pos);
    int64_t *cols = malloc(half * sizeof *cols), *subs = malloc(half * sizeof *subs);
    ad_tensor *D = NULL;
    if (pos && cols && subs) {
        int count[DET_MAX_ELL + 1] = {0};
        for (uint32_t S = 0; S < (1u << ell); S++) pos[S] = count[__builtin_popcount(S)]++;
        D = ad_idx(A, AD_I(ell - 1)); /* level 1: the last row, one entry per column */
        for (int k = 2; k <= ell && D; k++) {
            int64_t N = det_level(ell, k, pos, cols, subs);
            D = det_expand(A, D, ell, k, N, cols, subs);
        }
    } else {
        ad_raise(ctx, AD_ENOMEM, "det: out of memory for the minors of a %dx%d matrix", ell, ell);
    }
    free(pos);
    free(cols);
    free(subs);
    return D ? ad_sum(D, AD_ALL, false) : NULL; /* level ℓ has one entry */
}

/* A arrives as a list of ℓ² numbers in row-major order; the gradient is answered the same way */
static int det_read(ad_ctx *ctx, const json_t *input, gb_arrays *a)
{
    int64_t ell = 0;
    int rc = gb_arrays_vector(ctx, a, input, "A");
    size_t n = rc == AD_OK ? gb_arrays_numel(a, 0) : 0;
    if (rc == AD_OK) rc = gb_json_int(ctx, "det", input, "ell", 1, DET_MAX_ELL, &ell);
    if (rc == AD_OK && n != (size_t)(ell * ell))
        rc = ad_raise(ctx, AD_ESHAPE, "det: \"A\" has %zu entries, not ell² = %lld", n, (long long)(ell * ell));
    if (rc == AD_OK) a->shape[0] = AD_SHAPE(ell, ell);
    return rc;
}

static const gb_plain DET = {.name = "det", .read = det_read, .primal = det_f};

static int prepare(ad_ctx *ctx, const json_t *input, void **state) { return gb_plain_prepare(ctx, &DET, input, state); }

static const gb_function FUNCTIONS[] = {
    {.name = "primal", .prepare = prepare, .run = gb_plain_value, .output = gb_plain_real, .free_state = gb_plain_free},
    {.name = "gradient", .prepare = prepare, .run = gb_plain_gradient, .output = gb_plain_list,
     .free_state = gb_plain_free},
};

const gb_eval gb_eval_det = {.name = "det", .functions = FUNCTIONS, .nfunctions = 2};

/* ---- the harness's sweep over ℓ: the minors grow as 2^ℓ, not a power of ℓ (no theory) ---- */

static int bench_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t ell, ad_tensor **in, bool *wrt)
{
    (void)fn;
    ad_tensor *a = ad_bench_input(ctx, ell * ell);
    in[0] = a ? ad_reshape(a, AD_SHAPE(ell, ell)) : NULL; /* both owned by the harness's scope */
    wrt[0] = true;
    return in[0] ? 1 : ad_errno(ctx);
}

const ad_bench_fn ad_bench_gb_det = {
    .name = "gb:det", .size_name = "n",
    .definition = "GradBench det: determinant of an n x n matrix by expansion by minors (each minor once)",
    .f = det_f, .make_inputs = bench_inputs, .theory_eval = NAN,
    .theory_time = {NAN, NAN, NAN}, .theory_mem = {NAN, NAN, NAN},
    .sizes = "2,3,4,5,6,7,8,9,10,11", .quick_sizes = "2,3,4,5,6,7,8"};
