/* bench/gradbench/gmm.c — GradBench's "gmm": the log posterior of a Gaussian
 * mixture with a Wishart prior on the precision matrices, and its gradient
 * with respect to alpha, mu, q and l (evals/gmm/README.md).
 *
 * Written as a user of the tensor API would, vectorised over components
 * and points: Q_k = diag(exp q_k) + L_k is built for all k at once (L_k
 * filled column by column from l_k by one index_select), the centred points
 * are [K, D, N], Q_k (x_i - mu_k) is one batched matmul, and
 *
 *   F = sum_i logsumexp_k(alpha_k + sum_j q_kj - |Q_k (x_i - mu_k)|^2 / 2)
 *       - N logsumexp(alpha) - gamma^2/2 sum_k |Q_k|_F^2 + m sum_kj q_kj + const.
 *
 * The gradient comes from the chosen backend (ad_value_and_grad). */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "gb_impl.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct gmm_state {
    int64_t d, k, n, m;
    double gamma, constant; /* the terms without parameters */
    ad_tensor *in[4];       /* alpha [K], mu [K,D], q [K,D], l [K,D(D-1)/2] */
    ad_tensor *xT;          /* the points, transposed: [D, N] */
    ad_tensor *eye;         /* [D, D] */
    int64_t *lsel;          /* D*D picks from [0, l_k...]: 0 on and above the diagonal */
    ad_tensor *value, *grad[4];
} gmm_state;

/* log Γ_D(a), the multivariate gamma function's logarithm. */
static double log_mgamma(double a, int64_t d)
{
    double out = 0.25 * (double)(d * (d - 1)) * log(M_PI);
    for (int64_t j = 1; j <= d; j++) out += lgamma(a + 0.5 * (double)(1 - j));
    return out;
}

static ad_tensor *gmm_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    const gmm_state *s = user;
    ad_tensor *alpha = in[0], *mu = in[1], *q = in[2], *l = in[3];
    int64_t K = s->k, D = s->d;
    ad_tensor *lz = ad_concat((ad_tensor *[]){ad_zeros(ctx, AD_SHAPE(K, 1)), l}, 2, 1);
    ad_tensor *L = ad_reshape(ad_index_select(lz, 1, D * D, s->lsel), AD_SHAPE(K, D, D));
    ad_tensor *expq = ad_exp(q);
    ad_tensor *Q = ad_add(L, ad_mul(ad_unsqueeze(expq, 1), s->eye));        /* [K, D, D] */
    ad_tensor *xc = ad_sub(ad_unsqueeze(s->xT, 0), ad_unsqueeze(mu, 2));    /* [K, D, N] */
    ad_tensor *sq = ad_sum(ad_square(ad_matmul(Q, xc)), AD_AXES(1), false); /* [K, N] */
    ad_tensor *sumq = ad_sum(q, AD_AXES(1), false);                         /* [K] */
    ad_tensor *beta = ad_sub(ad_unsqueeze(ad_add(alpha, sumq), 1), ad_mul_s(sq, 0.5));
    ad_tensor *lik = ad_sub(ad_sum(ad_logsumexp(beta, AD_AXES(0), false), AD_ALL, false),
                            ad_mul_s(ad_logsumexp(alpha, AD_ALL, false), (double)s->n));
    ad_tensor *frob = ad_add(ad_sum(ad_square(expq), AD_ALL, false), ad_sum(ad_square(l), AD_ALL, false));
    ad_tensor *prior = ad_sub(ad_mul_s(ad_sum(sumq, AD_ALL, false), (double)s->m),
                              ad_mul_s(frob, 0.5 * s->gamma * s->gamma));
    return ad_add_s(ad_add(lik, prior), s->constant);
}

static void drop_results(gmm_state *s)
{
    ad_tensor_free(s->value);
    s->value = NULL;
    for (int i = 0; i < 4; i++) {
        ad_tensor_free(s->grad[i]);
        s->grad[i] = NULL;
    }
}

static void gmm_free(void *state)
{
    gmm_state *s = state;
    if (!s) return;
    drop_results(s);
    for (int i = 0; i < 4; i++) ad_tensor_free(s->in[i]);
    ad_tensor_free(s->xT);
    ad_tensor_free(s->eye);
    free(s->lsel);
    free(s);
}

/* Picks for L_k: (r, c) with r > c is l_k's entry of column c, row r (the
 * columns are filled one after another), shifted by the leading zero. */
static void fill_lsel(int64_t D, int64_t *lsel)
{
    int64_t next = 1;
    for (int64_t c = 0; c < D; c++)
        for (int64_t r = c + 1; r < D; r++) lsel[r * D + c] = next++;
}

static int make_lsel(gmm_state *s)
{
    int64_t D = s->d;
    s->lsel = calloc((size_t)(D * D), sizeof *s->lsel);
    if (!s->lsel) return AD_ENOMEM;
    fill_lsel(D, s->lsel);
    return AD_OK;
}

/* The terms without parameters (the Wishart prior's normaliser, the Gaussians' 2π). */
static void set_constant(gmm_state *s)
{
    double nw = (double)(s->d + s->m + 1), D = (double)s->d;
    double C = nw * D * (log(s->gamma) - 0.5 * log(2.0)) - log_mgamma(0.5 * nw, s->d);
    s->constant = -(double)s->n * D * 0.5 * log(2 * M_PI) + (double)s->k * C;
}

static int check_shapes(ad_ctx *ctx, const gmm_state *s, ad_tensor *x)
{
    int64_t K = s->k, D = s->d;
    const struct { ad_tensor *t; const char *name; int64_t rows, cols; } want[] = {
        {s->in[1], "mu", K, D}, {s->in[2], "q", K, D}, {s->in[3], "l", K, D * (D - 1) / 2}, {x, "x", s->n, D}};
    if (ad_numel(s->in[0]) != K)
        return ad_raise(ctx, AD_ESHAPE, "gmm: alpha has %lld entries, not k = %lld", (long long)ad_numel(s->in[0]),
                            (long long)K);
    for (int i = 0; i < 4; i++)
        if (ad_dim(want[i].t, 0) != want[i].rows || ad_dim(want[i].t, 1) != want[i].cols)
            return ad_raise(ctx, AD_ESHAPE, "gmm: %s is %lld x %lld, not %lld x %lld", want[i].name,
                                (long long)ad_dim(want[i].t, 0), (long long)ad_dim(want[i].t, 1),
                                (long long)want[i].rows, (long long)want[i].cols);
    return AD_OK;
}

static int gmm_read(ad_ctx *ctx, const json_t *input, gmm_state *s)
{
    int rc = gb_json_int(ctx, "gmm", input, "d", 1, 4096, &s->d);
    if (rc == AD_OK) rc = gb_json_int(ctx, "gmm", input, "k", 1, 1 << 20, &s->k);
    if (rc == AD_OK) rc = gb_json_int(ctx, "gmm", input, "n", 1, INT64_C(1) << 31, &s->n);
    if (rc == AD_OK) rc = gb_json_int(ctx, "gmm", input, "m", 0, 1 << 20, &s->m);
    if (rc == AD_OK) rc = gb_json_number(ctx, "gmm", input, "gamma", &s->gamma);
    if (rc == AD_OK && !(s->gamma > 0)) rc = ad_raise(ctx, AD_EINVAL, "gmm: gamma = %g must be positive", s->gamma);
    if (rc != AD_OK) return rc;
    static const char *const names[4] = {"alpha", "mu", "q", "l"};
    s->in[0] = gb_json_vector_tensor(ctx, "gmm", input, names[0], 1);
    for (int i = 1; i < 4 && s->in[i - 1]; i++)
        s->in[i] = gb_json_matrix_tensor(ctx, "gmm", input, names[i], 0); /* l has no columns when d = 1 */
    ad_tensor *x = s->in[3] ? gb_json_matrix_tensor(ctx, "gmm", input, "x", 0) : NULL;
    rc = x ? check_shapes(ctx, s, x) : AD_EINVAL;
    if (rc == AD_OK && !(s->xT = ad_contiguous(ad_T(x)))) rc = AD_ENOMEM;
    ad_tensor_free(x);
    return rc;
}

static int gmm_prepare(ad_ctx *ctx, const json_t *input, void **state)
{
    gmm_state *s = calloc(1, sizeof *s);
    if (!s) return ad_raise(ctx, AD_ENOMEM, "gmm: out of memory");
    int rc = gmm_read(ctx, input, s);
    if (rc == AD_OK) rc = make_lsel(s);
    if (rc == AD_OK && !(s->eye = ad_eye(ctx, s->d))) rc = ad_errno(ctx);
    if (rc != AD_OK) {
        gmm_free(s);
        return rc;
    }
    set_constant(s);
    *state = s;
    return AD_OK;
}

static int gmm_objective(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    (void)b;
    (void)o;
    gmm_state *s = state;
    drop_results(s);
    bool prev = ad_set_grad_enabled(ctx, false); /* the value alone: nothing to record */
    ad_scope sc = ad_scope_begin(ctx);
    s->value = ad_scope_end(ctx, sc, gmm_f(ctx, s->in, s));
    ad_set_grad_enabled(ctx, prev);
    return s->value ? AD_OK : ad_errno(ctx);
}

static int gmm_jacobian(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    gmm_state *s = state;
    drop_results(s);
    ad_problem p = {.ctx = ctx, .f = gmm_f, .user = s, .nin = 4, .in = s->in};
    return ad_value_and_grad(b, &p, o, &s->value, s->grad, NULL, NULL);
}

static json_t *gmm_value(ad_ctx *ctx, void *state)
{
    gmm_state *s = state;
    if (!s->value) return ad_raise(ctx, AD_ESTATE, "gmm: no result yet"), NULL;
    return json_real(ad_item(s->value));
}

static json_t *gmm_gradient(ad_ctx *ctx, void *state)
{
    gmm_state *s = state;
    if (!s->grad[0]) return ad_raise(ctx, AD_ESTATE, "gmm: no gradient yet"), NULL;
    json_t *out = json_object();
    if (!out || json_object_set_new(out, "alpha", gb_json_tensor(ctx, s->grad[0])) != 0 ||
        json_object_set_new(out, "mu", gb_json_tensor_rows(ctx, s->grad[1])) != 0 ||
        json_object_set_new(out, "q", gb_json_tensor_rows(ctx, s->grad[2])) != 0 ||
        json_object_set_new(out, "l", gb_json_tensor_rows(ctx, s->grad[3])) != 0) {
        json_decref(out);
        return ad_raise(ctx, AD_ENOMEM, "gmm: out of memory writing the gradient"), NULL;
    }
    return out;
}

static const gb_function gmm_functions[] = {
    {"objective", gmm_prepare, gmm_objective, gmm_value, gmm_free},
    {"jacobian", gmm_prepare, gmm_jacobian, gmm_gradient, gmm_free},
};

const gb_eval gb_eval_gmm = {"gmm", gmm_functions, 2};

/* ---- the harness's sweep over k components, d = 10, n = 1000 points ----
 * Inputs drawn as GradBench's eval draws them (x, alpha, q, l standard
 * normal, mu uniform on [0, 1), m = 0, gamma = 1) from the context's RNG.
 * The parameters alpha, mu, q, l travel packed in one vector (the
 * harness differentiates, and checks, one input): k (1 + 2d + d(d-1)/2). */

#define GMM_BENCH_D 10
#define GMM_BENCH_N 1000
#define GMM_BENCH_PER (1 + 2 * GMM_BENCH_D + GMM_BENCH_D * (GMM_BENCH_D - 1) / 2)

/* in = packed parameters, xT [d, n], eye [d, d] */
static ad_tensor *gmm_bench_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)user;
    int64_t K = ad_numel(in[0]) / GMM_BENCH_PER, D = GMM_BENCH_D, at = 0, lsel[GMM_BENCH_D * GMM_BENCH_D] = {0};
    gmm_state s = {.d = D, .k = K, .n = ad_dim(in[1], 1), .m = 0, .gamma = 1, .xT = in[1], .eye = in[2],
                   .lsel = lsel};
    fill_lsel(D, lsel);
    set_constant(&s);
    const int64_t cols[4] = {1, D, D, D * (D - 1) / 2};
    ad_tensor *parts[4];
    for (int i = 0; i < 4; i++) {
        parts[i] = ad_reshape(ad_idx(in[0], AD_S(at, at + K * cols[i])), AD_SHAPE(K, cols[i]));
        at += K * cols[i];
    }
    parts[0] = ad_reshape(parts[0], AD_SHAPE(K));
    return gmm_f(ctx, parts, &s);
}

static int gmm_bench_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t k, ad_tensor **in, bool *wrt)
{
    (void)fn;
    int64_t D = GMM_BENCH_D, sizes[4] = {k, k * D, k * D, k * D * (D - 1) / 2};
    ad_tensor *parts[4];
    for (int i = 0; i < 4; i++) parts[i] = i == 1 ? ad_rand(ctx, AD_SHAPE(sizes[i])) : ad_randn(ctx, AD_SHAPE(sizes[i]));
    in[0] = ad_concat(parts, 4, 0); /* all owned by the harness's scope */
    in[1] = ad_contiguous(ad_T(ad_randn(ctx, AD_SHAPE(GMM_BENCH_N, D))));
    in[2] = ad_eye(ctx, D);
    wrt[0] = true;
    wrt[1] = wrt[2] = false;
    return in[0] && in[1] && in[2] ? 3 : ad_errno(ctx);
}

/* Over k: every term is linear in k; forward mode and differences take one
 * pass per parameter, and there are 66 k of them. */
const ad_bench_fn ad_bench_gb_gmm = {
    .name = "gb:gmm", .size_name = "k",
    .definition = "GradBench gmm: log posterior of a k-component Gaussian mixture, d = 10, n = 1000 (gradient)",
    .f = gmm_bench_f, .make_inputs = gmm_bench_inputs, .theory_eval = 1,
    .theory_time = {1, 2, 2}, .theory_mem = {1, 1, 1},
    .sizes = "5,10,25,50,100,200", .quick_sizes = "1,2,5,10,25"};
