/* bench/gradbench/lstm.c — GradBench's "lstm" (ADBench's LSTM with diagonal
 * weights): the loss of predicting each character of a sequence from the
 * ones before, and its gradient with respect to main_params and
 * extra_params (evals/lstm/README.md).
 *
 * Each step is vectorised over the hidden size b; the loop over characters
 * and layers stays a loop (it is sequential).  Per layer, with rows 2i
 * (weights) and 2i+1 (biases) of main_params split into forget, ingate,
 * outgate, change:
 *     f = σ(x·wf + bf), i = σ(h·wi + bi), o = σ(x·wo + bo), g = tanh(h·wc + bc)
 *     c = c·f + i·g,    h = o·tanh(c),    x = h  (the next layer's input)
 * and the loss is -Σ_t Σ_j y_{t+1,j}·(ŷ_j - log(2 + Σ_j exp ŷ_j)) / ((c-1)·b).
 * Each character runs in a scope of its own, keeping only the state and
 * the running total, so the objective's memory stays flat. */
#include <stdlib.h>

#include "bench.h"
#include "gb_impl.h"

typedef struct lstm_state {
    int64_t l, c, b;
    ad_tensor *in[2];         /* main_params [2l, 4b], extra_params [3, b] */
    ad_tensor *state, *seq;   /* [2l, b], [c, b] */
    ad_tensor *value, *grad[2];
} lstm_state;

/* Row r of t, columns [j·b, (j+1)·b): a view. */
static ad_tensor *part(ad_tensor *t, int64_t r, int64_t j, int64_t b)
{
    return ad_idx(t, AD_I(r), AD_S(j * b, (j + 1) * b));
}

/* One layer on input x; h and c (hidden, cell) are replaced. */
static void layer(ad_tensor *mp, int64_t i, int64_t b, ad_tensor *x, ad_tensor **h, ad_tensor **c)
{
    ad_tensor *f = ad_sigmoid(ad_add(ad_mul(x, part(mp, 2 * i, 0, b)), part(mp, 2 * i + 1, 0, b)));
    ad_tensor *ig = ad_sigmoid(ad_add(ad_mul(*h, part(mp, 2 * i, 1, b)), part(mp, 2 * i + 1, 1, b)));
    ad_tensor *o = ad_sigmoid(ad_add(ad_mul(x, part(mp, 2 * i, 2, b)), part(mp, 2 * i + 1, 2, b)));
    ad_tensor *g = ad_tanh(ad_add(ad_mul(*h, part(mp, 2 * i, 3, b)), part(mp, 2 * i + 1, 3, b)));
    *c = ad_add(ad_mul(*c, f), ad_mul(ig, g));
    *h = ad_mul(o, ad_tanh(*c));
}

/* One character t: the state moves on, total += Σ_j y_{t+1,j}·ynorm_j. */
static void step(const lstm_state *s, ad_tensor *const *in, int64_t t, ad_tensor **st, ad_tensor **total)
{
    int64_t b = s->b;
    ad_tensor *mp = in[0], *ep = in[1];
    ad_tensor *x = ad_mul(ad_idx(s->seq, AD_I(t)), ad_idx(ep, AD_I(0)));
    for (int64_t i = 0; i < s->l; i++) {
        layer(mp, i, b, x, &st[2 * i], &st[2 * i + 1]);
        x = st[2 * i];
    }
    ad_tensor *y = ad_add(ad_mul(x, ad_idx(ep, AD_I(1))), ad_idx(ep, AD_I(2)));
    ad_tensor *lse = ad_log(ad_add_s(ad_sum(ad_exp(y), AD_ALL, false), 2.0));
    ad_tensor *ll = ad_sum(ad_mul(ad_idx(s->seq, AD_I(t + 1)), ad_sub(y, lse)), AD_ALL, false);
    *total = *total ? ad_add(*total, ll) : ll;
}

static ad_tensor *lstm_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    const lstm_state *s = user;
    int64_t n = 2 * s->l;
    ad_tensor *keep[2 * 64 + 1] = {0}; /* the state's rows, then the total */
    for (int64_t r = 0; r < n; r++) keep[r] = ad_idx(s->state, AD_I(r));
    for (int64_t t = 0; t + 1 < s->c; t++) {
        ad_scope sc = ad_scope_begin(ctx);
        step(s, in, t, keep, &keep[n]);
        if (ad_scope_end_n(ctx, sc, (int)n + 1, keep) != AD_OK) return NULL;
    }
    return ad_mul_s(keep[n], -1.0 / (double)((s->c - 1) * s->b));
}

static void drop_results(lstm_state *s)
{
    ad_tensor_free(s->value);
    ad_tensor_free(s->grad[0]);
    ad_tensor_free(s->grad[1]);
    s->value = s->grad[0] = s->grad[1] = NULL;
}

static void lstm_free(void *state)
{
    lstm_state *s = state;
    if (!s) return;
    drop_results(s);
    ad_tensor_free(s->in[0]);
    ad_tensor_free(s->in[1]);
    ad_tensor_free(s->state);
    ad_tensor_free(s->seq);
    free(s);
}

static int check_shapes(ad_ctx *ctx, lstm_state *s)
{
    int64_t rows = ad_dim(s->in[0], 0), cols = ad_dim(s->in[0], 1);
    if (rows % 2 || cols % 4 || cols == 0 || rows > 128)
        return ad_raise(ctx, AD_ESHAPE,
                            "lstm: main_params is %lld x %lld; expected 2l rows (l <= 64 layers) of 4b entries",
                            (long long)rows, (long long)cols);
    s->l = rows / 2;
    s->b = cols / 4;
    s->c = ad_dim(s->seq, 0);
    const struct { ad_tensor *t; const char *name; int64_t rows; } want[] = {
        {s->in[1], "extra_params", 3}, {s->state, "state", 2 * s->l}, {s->seq, "sequence", s->c}};
    for (int i = 0; i < 3; i++)
        if (ad_dim(want[i].t, 0) != want[i].rows || ad_dim(want[i].t, 1) != s->b)
            return ad_raise(ctx, AD_ESHAPE, "lstm: %s is %lld x %lld, not %lld x %lld (b = %lld from main_params)",
                                want[i].name, (long long)ad_dim(want[i].t, 0), (long long)ad_dim(want[i].t, 1),
                                (long long)want[i].rows, (long long)s->b, (long long)s->b);
    if (s->c < 2) return ad_raise(ctx, AD_EINVAL, "lstm: the sequence needs at least 2 characters");
    return AD_OK;
}

static int lstm_prepare(ad_ctx *ctx, const json_t *input, void **state)
{
    lstm_state *s = calloc(1, sizeof *s);
    if (!s) return ad_raise(ctx, AD_ENOMEM, "lstm: out of memory");
    s->in[0] = gb_json_matrix_tensor(ctx, "lstm", input, "main_params", 0);
    s->in[1] = s->in[0] ? gb_json_matrix_tensor(ctx, "lstm", input, "extra_params", 0) : NULL;
    s->state = s->in[1] ? gb_json_matrix_tensor(ctx, "lstm", input, "state", 0) : NULL;
    s->seq = s->state ? gb_json_matrix_tensor(ctx, "lstm", input, "sequence", 0) : NULL;
    int rc = s->seq ? check_shapes(ctx, s) : ad_errno(ctx);
    if (rc != AD_OK) {
        lstm_free(s);
        return rc;
    }
    *state = s;
    return AD_OK;
}

static int lstm_objective(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    (void)b;
    (void)o;
    lstm_state *s = state;
    drop_results(s);
    bool prev = ad_set_grad_enabled(ctx, false); /* the value alone: nothing to record */
    ad_scope sc = ad_scope_begin(ctx);
    s->value = ad_scope_end(ctx, sc, lstm_f(ctx, s->in, s));
    ad_set_grad_enabled(ctx, prev);
    return s->value ? AD_OK : ad_errno(ctx);
}

static int lstm_jacobian(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    lstm_state *s = state;
    drop_results(s);
    ad_problem p = {.ctx = ctx, .f = lstm_f, .user = s, .nin = 2, .in = s->in};
    return ad_value_and_grad(b, &p, o, &s->value, s->grad, NULL, NULL);
}

static json_t *lstm_value(ad_ctx *ctx, void *state)
{
    lstm_state *s = state;
    if (!s->value) return ad_raise(ctx, AD_ESTATE, "lstm: no result yet"), NULL;
    return json_real(ad_item(s->value));
}

/* The gradient of main_params then extra_params, each flattened row after row. */
static json_t *lstm_gradient(ad_ctx *ctx, void *state)
{
    lstm_state *s = state;
    if (!s->grad[0]) return ad_raise(ctx, AD_ESTATE, "lstm: no gradient yet"), NULL;
    json_t *a = gb_json_tensor(ctx, s->grad[0]), *e = gb_json_tensor(ctx, s->grad[1]);
    if (!a || !e || json_array_extend(a, e) != 0) {
        json_decref(a);
        a = NULL;
        ad_raise(ctx, AD_ENOMEM, "lstm: out of memory writing the gradient");
    }
    json_decref(e);
    return a;
}

static const gb_function lstm_functions[] = {
    {"objective", lstm_prepare, lstm_objective, lstm_value, lstm_free},
    {"jacobian", lstm_prepare, lstm_jacobian, lstm_gradient, lstm_free},
};

const gb_eval gb_eval_lstm = {"lstm", lstm_functions, 2};

/* ---- the harness's sweep over c characters, l = 2 layers, b = 7 bits ----
 * As GradBench's eval makes its inputs: the text as rows of b bits (here
 * printable ASCII drawn from the context's RNG: 7 bits, as English text
 * has), state and parameters uniform on [0, 1).  main_params and
 * extra_params travel packed in one vector (the harness differentiates,
 * and checks, one input). */

#define LSTM_BENCH_L 2
#define LSTM_BENCH_B 7
#define LSTM_BENCH_MAIN (2 * LSTM_BENCH_L * 4 * LSTM_BENCH_B)

/* in = packed parameters [8lb + 3b], state [2l, b], sequence [c, b] */
static ad_tensor *lstm_bench_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)user;
    lstm_state s = {.l = LSTM_BENCH_L, .b = LSTM_BENCH_B, .c = ad_dim(in[2], 0), .state = in[1], .seq = in[2]};
    ad_tensor *p[2] = {
        ad_reshape(ad_idx(in[0], AD_S(0, LSTM_BENCH_MAIN)), AD_SHAPE(2 * LSTM_BENCH_L, 4 * LSTM_BENCH_B)),
        ad_reshape(ad_idx(in[0], AD_S(LSTM_BENCH_MAIN, AD_END)), AD_SHAPE(3, LSTM_BENCH_B))};
    return p[0] && p[1] ? lstm_f(ctx, p, &s) : NULL;
}

static int lstm_bench_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t c, ad_tensor **in, bool *wrt)
{
    (void)fn;
    if (c < 2) return ad_raise(ctx, AD_EINVAL, "gb:lstm: c = %lld characters (at least 2)", (long long)c);
    in[0] = ad_rand(ctx, AD_SHAPE(LSTM_BENCH_MAIN + 3 * LSTM_BENCH_B)); /* all owned by the harness's scope */
    in[1] = ad_rand(ctx, AD_SHAPE(2 * LSTM_BENCH_L, LSTM_BENCH_B));
    ad_tensor *u = ad_rand(ctx, AD_SHAPE(c));
    in[2] = ad_empty(ctx, AD_SHAPE(c, LSTM_BENCH_B));
    if (!u || !in[2]) return ad_errno(ctx);
    const double *uv = ad_data(u);
    double *bits = ad_data(in[2]);
    for (int64_t t = 0; t < c; t++) {
        int ch = 32 + (int)(uv[t] * 95); /* ' ' to '~' */
        for (int j = 0; j < LSTM_BENCH_B; j++) bits[t * LSTM_BENCH_B + j] = (ch >> (LSTM_BENCH_B - 1 - j)) & 1;
    }
    wrt[0] = true;
    wrt[1] = wrt[2] = false;
    return in[0] && in[1] && in[2] ? 3 : ad_errno(ctx);
}

/* Over c: one step per character; the parameters (133) do not grow, so
 * every backend is linear; the objective keeps one character's graph
 * at a time, reverse mode the whole tape. */
const ad_bench_fn ad_bench_gb_lstm = {
    .name = "gb:lstm", .size_name = "n",
    .definition = "GradBench lstm: loss of an l = 2 layer LSTM over n characters of 7 bits (gradient)",
    .f = lstm_bench_f, .make_inputs = lstm_bench_inputs, .theory_eval = 1,
    .theory_time = {1, 1, 1}, .theory_mem = {1, 0, 0},
    .sizes = "64,128,256,512,1024,2048,4096,8192", .quick_sizes = "16,32,64,128,256"};
