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
