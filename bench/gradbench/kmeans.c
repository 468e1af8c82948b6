/* bench/gradbench/kmeans.c — GradBench's "kmeans" eval: the cost
 *
 *     f(C) = Σ_i min_j |C_j - P_i|²
 *
 * of n points P (d-dimensional) and k centroids C, vectorised through the
 * n×k matrix of squared distances |P_i|² - 2 P_i·C_j + |C_j|² (one matrix
 * product, no n×k×d tensor), and Newton's direction J ⊘ H: J = ∂f/∂C, H its
 * Hessian's diagonal, which is the Hessian's only non-zero part (a point
 * pulls on its nearest centroid, each coordinate alone), so H = H·1, one
 * Hessian-vector product.
 *
 * Who computes what for "dir", by the backend's capabilities:
 *   reverse (AD_CAP_REVERSE): J and H·1 together by ad_hvp, forward over
 *     reverse: one recorded pass with tangents 1, one sweep;
 *   forward (exact, no VJP): J by the backend (forward passes), H·1 by
 *     ad_hvp, the library's one exact second-order driver;
 *   differences: J by the backend, H·1 by the same backend's JVP of that
 *     gradient (differences of differences: the drivers nest when the outer
 *     backend only evaluates its function). */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "gb_impl.h"

/* in: C [k, d] (differentiated), P [n, d] */
static ad_tensor *kmeans_cost(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    (void)user;
    ad_tensor *C = in[0], *P = in[1];
    ad_tensor *pp = ad_sum(ad_square(P), AD_AXES(1), true);  /* [n, 1] */
    ad_tensor *cc = ad_sum(ad_square(C), AD_AXES(1), false); /* [k] */
    ad_tensor *dist = ad_add(ad_sub(pp, ad_mul_s(ad_matmul(P, ad_T(C)), 2)), cc);
    return ad_sum(ad_min(dist, AD_AXES(1), false), AD_ALL, false);
}

typedef struct {
    const ad_backend *b;
    const ad_options *o;
} grad_of;

/* ∂f/∂C by the backend in user, as a function of C (for differences of it) */
static ad_tensor *kmeans_grad(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    const grad_of *g = user;
    ad_problem p = {.ctx = ctx, .f = kmeans_cost, .nin = 2, .in = in, .wrt = (const bool[]){true, false}};
    ad_tensor *J[2] = {0};
    return ad_value_and_grad(g->b, &p, g->o, NULL, J, NULL, NULL) == AD_OK ? J[0] : NULL;
}

/* J (into J) and H·1 (into H) by the backend's capabilities (see above) */
static int kmeans_newton(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ad_tensor *const *in,
                         ad_tensor **J, ad_tensor **H)
{
    const bool wrt[2] = {true, false};
    ad_problem p = {.ctx = ctx, .f = kmeans_cost, .nin = 2, .in = in, .wrt = wrt};
    ad_tensor *ones[2] = {ad_ones(ctx, ad_shape_of(in[0])), NULL}, *g[2] = {0}, *hv[2] = {0};
    if (!ones[0]) return ad_errno(ctx);
    if (b->caps & AD_CAP_EXACT) {
        bool together = b->caps & AD_CAP_REVERSE;
        int rc = ad_hvp(&p, ones, NULL, together ? g : NULL, hv, NULL);
        if (rc == AD_OK && !together) rc = ad_value_and_grad(b, &p, o, NULL, g, NULL, NULL);
        *J = g[0];
        *H = hv[0];
        return rc;
    }
    grad_of go = {b, o};
    ad_problem pg = {.ctx = ctx, .f = kmeans_grad, .user = &go, .nin = 2, .in = in, .wrt = wrt};
    int rc = ad_value_and_grad(b, &p, o, NULL, g, NULL, NULL);
    if (rc == AD_OK) rc = ad_jvp(b, &pg, ones, o, NULL, &hv[0], NULL, NULL);
    *J = g[0];
    *H = hv[0];
    return rc;
}

/* in[0] = C [k, d] (differentiated), in[1] = P [n, d] */
static int kmeans_read(ad_ctx *ctx, const json_t *input, gb_arrays *a)
{
    int rc = gb_arrays_matrix(ctx, a, input, "points"); /* read first, as its errors come first */
    if (rc == AD_OK) rc = gb_arrays_matrix(ctx, a, input, "centroids");
    if (rc == AD_OK && a->shape[0].dim[1] != a->shape[1].dim[1])
        rc = ad_raise(ctx, AD_ESHAPE, "kmeans: centroids have %lld coordinates, points %lld",
                      (long long)a->shape[1].dim[1], (long long)a->shape[0].dim[1]);
    if (rc != AD_OK) return rc;
    double *P = a->in[0];
    ad_shape ps = a->shape[0];
    a->in[0] = a->in[1], a->shape[0] = a->shape[1];
    a->in[1] = P, a->shape[1] = ps;
    return AD_OK;
}

static const gb_plain KMEANS = {.name = "kmeans", .read = kmeans_read, .primal = kmeans_cost};

static int prepare(ad_ctx *ctx, const json_t *input, void **state)
{
    return gb_plain_prepare(ctx, &KMEANS, input, state);
}

/* Newton's direction J ⊘ H into a->out */
static int kmeans_dir(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ad_tensor *const *in, gb_arrays *a)
{
    ad_tensor *J = NULL, *H = NULL;
    int rc = kmeans_newton(ctx, b, o, in, &J, &H);
    a->nout = gb_arrays_numel(a, 0);
    return rc != AD_OK ? rc : gb_copy_out(ctx, "kmeans: dir", ad_div(J, H), a->out, a->nout);
}

static int run_dir(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    return gb_plain_run(ctx, b, o, state, kmeans_dir);
}

/* k rows of d numbers, like "centroids" */
static json_t *out_dir(ad_ctx *ctx, void *state)
{
    gb_arrays *a = state;
    return gb_json_rows(ctx, a->out, (size_t)a->shape[0].dim[0], (size_t)a->shape[0].dim[1]);
}

static const gb_function FUNCTIONS[] = {
    {.name = "cost", .prepare = prepare, .run = gb_plain_value, .output = gb_plain_real, .free_state = gb_plain_free},
    {.name = "dir", .prepare = prepare, .run = run_dir, .output = out_dir, .free_state = gb_plain_free},
};

const gb_eval gb_eval_kmeans = {.name = "kmeans", .functions = FUNCTIONS, .nfunctions = 2};

/* ---- the harness's sweep over n points, k = 10 centroids, d = 8: the gradient of the cost ---- */

#define KMEANS_BENCH_K 10
#define KMEANS_BENCH_D 8

static int bench_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t n, ad_tensor **in, bool *wrt)
{
    (void)fn;
    ad_tensor *c = ad_bench_input(ctx, KMEANS_BENCH_K * KMEANS_BENCH_D), *p = ad_bench_input(ctx, n * KMEANS_BENCH_D);
    /* C is P's first k rows (the same sequence), so every centroid has a point, as the eval
     * guarantees; all owned by the harness's scope */
    in[0] = c ? ad_reshape(c, AD_SHAPE(KMEANS_BENCH_K, KMEANS_BENCH_D)) : NULL;
    in[1] = p ? ad_reshape(p, AD_SHAPE(n, KMEANS_BENCH_D)) : NULL;
    wrt[0] = true;
    wrt[1] = false;
    return in[0] && in[1] ? 2 : ad_errno(ctx);
}

const ad_bench_fn ad_bench_gb_kmeans = {
    .name = "gb:kmeans", .size_name = "n",
    .definition = "GradBench kmeans: sum_i min_j |C_j - P_i|^2, k = 10, d = 8 (gradient in C)",
    .f = kmeans_cost, .make_inputs = bench_inputs, .theory_eval = 1,
    .theory_time = {1, 1, 1}, .theory_mem = {1, 1, 1},
    .sizes = "10,100,1000,10000,100000", .quick_sizes = "10,30,100,300,1000,3000"};
