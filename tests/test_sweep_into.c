/* tests/test_sweep_into.c — the sweep adds the adjoint of an indexing
 * record (slice, index_select, gather) straight into the accumulator of
 * its input (src/sweep.c: share_slot, share_into) instead of running the
 * rule (zeros + slice_scatter / index_add / scatter_add, then a sum).  Each test checks the values against the analytic gradient, where
 * the shortcut applies (a leaf's .grad, empty or holding a gradient
 * already; an intermediate's adjoint; autograd_grad's accumulators;
 * retain_grad on the slice) and where it must not (create_graph, tangents
 * on the adjoint in forward over reverse, an accumulator shared with
 * another record's adjoint, which must never be written), and that a
 * refused allocation anywhere in such a sweep fails it with AD_ENOMEM. */
#include <string.h>

#include "helpers.h"

TestSuite(sweep_into, .init = th_setup, .fini = th_teardown);

static ad_tensor *vec(int64_t n, double a)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(n));
    for (int64_t i = 0; i < n; i++) ad_data(x)[i] = a + 0.37 * sin(1.7 * (double)i + 0.3);
    return x;
}

/* f = Σ x[0:3]·a + Σ x[2:6]·b + Σ x[::2]·c over 7 elements (three
 * overlapping slices of one input), and its gradient. */
static ad_tensor *three_slices(ad_tensor *x, ad_tensor *a, ad_tensor *b, ad_tensor *c)
{
    ad_tensor *t0 = ad_sum(ad_mul(ad_idx(x, AD_S(0, 3)), a), AD_ALL, false);
    ad_tensor *t1 = ad_sum(ad_mul(ad_idx(x, AD_S(2, 6)), b), AD_ALL, false);
    ad_tensor *t2 = ad_sum(ad_mul(ad_idx(x, AD_SS(AD_END, AD_END, 2)), c), AD_ALL, false);
    return ad_add(ad_add(t0, t1), t2);
}

static void three_slices_grad(const double *a, const double *b, const double *c, double *g)
{
    for (int i = 0; i < 7; i++) {
        g[i] = 0;
        if (i < 3) g[i] += a[i];
        if (i >= 2 && i < 6) g[i] += b[i - 2];
        if (i % 2 == 0) g[i] += c[i / 2];
    }
}

static void expect_near(const double *got, const double *want, int n, double tol, const char *what)
{
    for (int i = 0; i < n; i++)
        cr_expect(fabs(got[i] - want[i]) <= tol * (1 + fabs(want[i])), "%s[%d] = %.17g, want %.17g", what, i, got[i],
                  want[i]);
}

Test(sweep_into, leaf_grad_from_overlapping_slices)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(7, 0.4), *a = vec(3, 1.3), *b = vec(4, -0.7), *c = vec(4, 2.1);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(three_slices(x, a, b, c), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[7];
    three_slices_grad(ad_data(a), ad_data(b), ad_data(c), want);
    expect_near(th_values(ad_grad(x)), want, 7, 1e-15, "x̄");
    /* a second backward accumulates into .grad in place (PyTorch) */
    cr_assert_eq(ad_backward(three_slices(x, a, b, c), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    for (int i = 0; i < 7; i++) want[i] *= 2;
    expect_near(th_values(ad_grad(x)), want, 7, 1e-15, "x̄ after two backwards");
    ad_scope_end(ctx, s, NULL);
}

/* ad_backward(y) with at most one accumulator of n doubles (and a little)
 * of derivative bytes alive at its peak. */
static void backward_holds_one_accumulator(ad_tensor *y, int64_t n)
{
    ad_ctx_reset_peak(ctx);
    ad_mem_stats m0, m1;
    ad_ctx_mem_stats(ctx, &m0);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    ad_ctx_mem_stats(ctx, &m1);
    int64_t peak = m1.peak[AD_MEM_TANGENTS] - m0.live[AD_MEM_TANGENTS], one = n * (int64_t)sizeof(double);
    cr_expect(peak < one + 4096, "backward's peak of derivative bytes %lld, want one accumulator (%lld + a little)",
              (long long)peak, (long long)one);
}

/* Two small slices of a large x: the shortcut holds one x-sized
 * accumulator; the rule made an x-sized scatter per slice and held two at
 * once.  (Fails if the shortcut is not taken.) */
Test(sweep_into, two_slices_hold_one_accumulator)
{
    ad_scope s = ad_scope_begin(ctx);
    const int64_t n = 100000;
    ad_tensor *x = vec(n, 0.2);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_add(ad_sum(ad_square(ad_idx(x, AD_S(0, 4))), AD_ALL, false),
                          ad_sum(ad_sin(ad_idx(x, AD_S(n - 4, n))), AD_ALL, false));
    cr_assert(y, "%s", ad_errmsg(ctx));
    backward_holds_one_accumulator(y, n);
    const double *g = th_values(ad_idx(ad_grad(x), AD_S(0, 8))), *xv = ad_data(x);
    for (int i = 0; i < 8; i++)
        cr_expect(g[i] == (i < 4 ? 2 * xv[i] : 0), "x̄[%d] = %.17g", i, g[i]);
    ad_tensor *tail = ad_idx(ad_grad(x), AD_S(n - 4, n));
    for (int i = 0; i < 4; i++)
        cr_expect(fabs(th_values(tail)[i] - cos(xv[n - 4 + i])) <= 1e-15, "x̄[n-4+%d] = %.17g", i, th_values(tail)[i]);
    ad_scope_end(ctx, s, NULL);
}

Test(sweep_into, slices_of_an_intermediate)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(7, 0.9), *a = vec(3, 1.1), *b = vec(4, 0.6), *c = vec(4, -1.4);
    ad_requires_grad_(x, true);
    /* the slices' input is sin(x): their shares meet in its adjoint */
    ad_tensor *y = three_slices(ad_sin(x), a, b, c);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[7];
    three_slices_grad(ad_data(a), ad_data(b), ad_data(c), want);
    for (int i = 0; i < 7; i++) want[i] *= cos(ad_data(x)[i]);
    expect_near(th_values(ad_grad(x)), want, 7, 1e-15, "x̄");
    ad_scope_end(ctx, s, NULL);
}

/* The add's rule hands its incoming adjoint (an expanded view of the
 * seed) on as sin(x)'s adjoint: shared, stride 0.  The slice's share must
 * go through the rule; written in place it would corrupt every element. */
Test(sweep_into, shared_accumulator_is_not_written)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(5, 0.3), *k = vec(2, 1.9);
    ad_requires_grad_(x, true);
    ad_tensor *u = ad_sin(x);
    ad_tensor *first = ad_mul(ad_idx(u, AD_S(0, 2)), k); /* recorded before the add: swept after it */
    ad_tensor *y = ad_add(ad_sum(ad_add_s(u, 1.0), AD_ALL, false), ad_sum(first, AD_ALL, false));
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[5];
    for (int i = 0; i < 5; i++) want[i] = cos(ad_data(x)[i]) * (1 + (i < 2 ? ad_data(k)[i] : 0));
    expect_near(th_values(ad_grad(x)), want, 5, 1e-15, "x̄");
    ad_scope_end(ctx, s, NULL);
}

Test(sweep_into, retain_grad_on_the_slice)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(6, -0.2), *k = vec(3, 0.8);
    ad_requires_grad_(x, true);
    ad_tensor *u = ad_idx(x, AD_S(1, 4));
    cr_assert_eq(ad_retain_grad(u), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(ad_sum(ad_mul(u, k), AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    expect_near(th_values(ad_grad(u)), ad_data(k), 3, 0, "ū");
    double want[6] = {0};
    for (int i = 1; i < 4; i++) want[i] = ad_data(k)[i - 1];
    expect_near(th_values(ad_grad(x)), want, 6, 0, "x̄");
    ad_scope_end(ctx, s, NULL);
}

Test(sweep_into, autograd_grad_leaves_grad_alone)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(7, 0.4), *a = vec(3, 1.3), *b = vec(4, -0.7), *c = vec(4, 2.1);
    ad_requires_grad_(x, true);
    ad_tensor *g[1] = {NULL};
    cr_assert_eq(ad_autograd_grad(three_slices(x, a, b, c), NULL, 1, &x, 0, g), AD_OK, "%s", ad_errmsg(ctx));
    double want[7];
    three_slices_grad(ad_data(a), ad_data(b), ad_data(c), want);
    expect_near(th_values(g[0]), want, 7, 1e-15, "dy/dx");
    cr_expect(ad_grad(x) == NULL, "autograd_grad must not touch .grad");
    ad_scope_end(ctx, s, NULL);
}

/* Under create_graph the rule runs (recorded): Σ x[1:]·x[:-1] has the
 * gradient x[i-1] + x[i+1], whose sum differentiated again is 2 inside
 * and 1 at the ends. */
Test(sweep_into, create_graph_records_the_rule)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(6, 0.5);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_sum(ad_mul(ad_idx(x, AD_S(1, AD_END)), ad_idx(x, AD_S(AD_END, -1))), AD_ALL, false);
    ad_tensor *g[1] = {NULL};
    cr_assert_eq(ad_autograd_grad(y, NULL, 1, &x, AD_CREATE_GRAPH, g), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert(ad_requires_grad(g[0]), "create_graph: the gradient carries a graph");
    cr_assert_eq(ad_backward(ad_sum(g[0], AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[6] = {1, 2, 2, 2, 2, 1};
    expect_near(th_values(ad_grad(x)), want, 6, 0, "d(Σ x̄)/dx");
    ad_scope_end(ctx, s, NULL);
}

static ad_tensor *neighbours(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)c;
    (void)ud;
    ad_tensor *x = in[0];
    return ad_sum(ad_mul(ad_idx(x, AD_S(1, AD_END)), ad_idx(x, AD_S(AD_END, -1))), AD_ALL, false);
}

/* Forward over reverse: the adjoints carry tangents, so the rule runs;
 * (Hv)_i = v[i-1] + v[i+1]. */
Test(sweep_into, hvp_keeps_the_tangents)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *in[1] = {vec(6, 0.5)}, *v[1] = {vec(6, -1.2)}, *hv[1] = {NULL};
    ad_problem p = {.ctx = ctx, .f = neighbours, .nin = 1, .in = in};
    cr_assert_eq(ad_hvp(&p, v, NULL, NULL, hv, NULL), AD_OK, "%s", ad_errmsg(ctx));
    const double *vv = ad_data(v[0]);
    double want[6];
    for (int i = 0; i < 6; i++) want[i] = (i > 0 ? vv[i - 1] : 0) + (i < 5 ? vv[i + 1] : 0);
    expect_near(th_values(hv[0]), want, 6, 1e-15, "Hv");
    ad_scope_end(ctx, s, NULL);
}

/* A case of the refused-allocation sweeps: builds y (requiring grad
 * through *x) in the current ctx and writes x's expected gradient, of *n
 * entries, into want (at most 16). */
typedef ad_tensor *(*refusal_case)(ad_tensor **x, double *want, int *n);

/* Every allocation of the case's backward refused in turn: AD_ENOMEM
 * (never a success with a lost share), nothing leaked; the first run that
 * succeeds has the right gradient. */
static void refusals_fail_the_sweep(refusal_case build)
{
    bool done = false;
    for (int64_t k = 1; !done && k < 2000; k++) {
        th_alloc h = TH_ALLOC_INIT;
        ad_ctx_options o = {.seed = 1, .alloc = th_alloc_hook, .alloc_ud = &h, .no_recycling = true};
        ad_ctx *c = ad_ctx_new_with(&o);
        cr_assert(c);
        ad_ctx *saved = ctx;
        ctx = c;
        ad_tensor *x;
        double want[16];
        int n;
        ad_tensor *y = build(&x, want, &n);
        cr_assert(y, "%s", ad_errmsg(c));
        th_alloc_arm(&h, k);
        int rc = ad_backward(y, NULL, 0);
        th_alloc_arm(&h, 0);
        if (rc == AD_OK) {
            cr_expect_eq(h.failed, 0, "k = %lld: an allocation was refused, yet backward succeeded", (long long)k);
            expect_near(th_values(ad_grad(x)), want, n, 1e-14, "x̄");
            done = true;
        } else {
            cr_expect_eq(rc, AD_ENOMEM, "k = %lld: status %d (%s)", (long long)k, rc, ad_errmsg(c));
        }
        ctx = saved;
        ad_ctx_free(c);
        cr_expect_eq(h.bytes, 0, "k = %lld: %lld bytes leaked", (long long)k, (long long)h.bytes);
    }
    cr_expect(done, "backward never succeeded");
}

/* y = sin(three_slices(sin(x), a, b, c)) */
static ad_tensor *sliced_case(ad_tensor **xp, double *want, int *n)
{
    ad_tensor *x = vec(7, 0.4), *a = vec(3, 1.3), *b = vec(4, -0.7), *cc = vec(4, 2.1);
    ad_requires_grad_(x, true);
    ad_tensor *z = three_slices(ad_sin(x), a, b, cc), *y = ad_sin(z);
    if (!y) return NULL;
    three_slices_grad(ad_data(a), ad_data(b), ad_data(cc), want);
    double outer = cos(ad_item(z));
    for (int i = 0; i < 7; i++) want[i] *= cos(ad_data(x)[i]) * outer;
    *xp = x;
    *n = 7;
    return y;
}

Test(sweep_into, refused_allocations_fail_the_sweep) { refusals_fail_the_sweep(sliced_case); }

/* ---- index_select and gather (repeated indices accumulate) ------------------------------ */

/* Columns picked by index_select along axis 1 (4 three times), and the
 * gather index of shape [3, 4] (row 0 picks 2 three times, row 2 picks 0
 * four times). */
static const int64_t isel_idx[5] = {4, 1, 4, 0, 4};
static const double gather_idx[12] = {2, 2, 0, 2, 1, 3, 1, 4, 0, 0, 0, 0};

/* f = Σ index_select(X, 1, isel_idx)·W + Σ gather(X, 1, T)·V, X [3, 5],
 * W [3, 5], V [3, 4]: the gather recorded last, so swept first (into an
 * empty accumulator), the index_select into the gather's share. */
static ad_tensor *two_gathers(ad_tensor *x, ad_tensor *w, ad_tensor *v)
{
    ad_tensor *t = ad_from_array(ctx, AD_SHAPE(3, 4), gather_idx);
    ad_tensor *a = ad_sum(ad_mul(ad_index_select(x, 1, 5, isel_idx), w), AD_ALL, false);
    ad_tensor *b = ad_sum(ad_mul(ad_gather(x, 1, t), v), AD_ALL, false);
    return ad_add(a, b);
}

/* ∂f/∂X[r, c] = Σ_{j: idx[j] = c} W[r, j] + Σ_{k: T[r, k] = c} V[r, k] */
static void two_gathers_grad(const double *w, const double *v, double *g)
{
    for (int i = 0; i < 15; i++) g[i] = 0;
    for (int r = 0; r < 3; r++) {
        for (int j = 0; j < 5; j++) g[r * 5 + isel_idx[j]] += w[r * 5 + j];
        for (int k = 0; k < 4; k++) g[r * 5 + (int)gather_idx[r * 4 + k]] += v[r * 4 + k];
    }
}

static ad_tensor *mat(int64_t r, int64_t c, double a)
{
    return ad_reshape(vec(r * c, a), AD_SHAPE(r, c));
}

Test(sweep_into, index_select_and_gather_into_leaf_grad)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = mat(3, 5, 0.4), *w = mat(3, 5, 1.3), *v = mat(3, 4, -0.7);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(two_gathers(x, w, v), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[15];
    two_gathers_grad(ad_data(w), ad_data(v), want);
    expect_near(th_values(ad_grad(x)), want, 15, 1e-15, "X̄");
    /* a second backward accumulates into .grad in place */
    cr_assert_eq(ad_backward(two_gathers(x, w, v), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    for (int i = 0; i < 15; i++) want[i] *= 2;
    expect_near(th_values(ad_grad(x)), want, 15, 1e-15, "X̄ after two backwards");
    ad_scope_end(ctx, s, NULL);
}

Test(sweep_into, index_select_and_gather_of_an_intermediate)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = mat(3, 5, 0.9), *w = mat(3, 5, 1.1), *v = mat(3, 4, 0.6);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(two_gathers(ad_sin(x), w, v), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[15];
    two_gathers_grad(ad_data(w), ad_data(v), want);
    for (int i = 0; i < 15; i++) want[i] *= cos(ad_data(x)[i]);
    expect_near(th_values(ad_grad(x)), want, 15, 1e-15, "X̄");
    ad_scope_end(ctx, s, NULL);
}

Test(sweep_into, index_select_and_gather_through_autograd_grad)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = mat(3, 5, 0.4), *w = mat(3, 5, 1.3), *v = mat(3, 4, 2.1);
    ad_requires_grad_(x, true);
    ad_tensor *g[1] = {NULL};
    cr_assert_eq(ad_autograd_grad(two_gathers(x, w, v), NULL, 1, &x, 0, g), AD_OK, "%s", ad_errmsg(ctx));
    double want[15];
    two_gathers_grad(ad_data(w), ad_data(v), want);
    expect_near(th_values(g[0]), want, 15, 1e-15, "dy/dX");
    cr_expect(ad_grad(x) == NULL, "autograd_grad must not touch .grad");
    ad_scope_end(ctx, s, NULL);
}

/* A few elements of a large x picked twice by each op: the shortcut holds
 * one x-sized accumulator; each rule made zeros and a copy of x's size.
 * (Fails if the shortcut is not taken.) */
Test(sweep_into, gathers_hold_one_accumulator)
{
    ad_scope s = ad_scope_begin(ctx);
    const int64_t n = 100000, head[4] = {0, 1, 2, 0};
    const double tail[3] = {(double)(n - 1), (double)(n - 2), (double)(n - 1)};
    ad_tensor *x = vec(n, 0.2), *t = ad_from_array(ctx, AD_SHAPE(3), tail);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_add(ad_sum(ad_square(ad_index_select(x, 0, 4, head)), AD_ALL, false),
                          ad_sum(ad_sin(ad_gather(x, 0, t)), AD_ALL, false));
    cr_assert(y, "%s", ad_errmsg(ctx));
    backward_holds_one_accumulator(y, n);
    const double *g = th_values(ad_idx(ad_grad(x), AD_S(0, 4))), *xv = ad_data(x);
    double want_head[4] = {4 * xv[0], 2 * xv[1], 2 * xv[2], 0};
    expect_near(g, want_head, 4, 0, "x̄[0:4]");
    const double *gt = th_values(ad_idx(ad_grad(x), AD_S(n - 3, n)));
    double want_tail[3] = {0, cos(xv[n - 2]), 2 * cos(xv[n - 1])};
    expect_near(gt, want_tail, 3, 1e-15, "x̄[n-3:]");
    ad_scope_end(ctx, s, NULL);
}

/* sin(x)'s adjoint is the seed's expanded view handed on by sum and add_s
 * (shared, stride 0): the index_select's and gather's shares must go
 * through their rules. */
Test(sweep_into, gathers_leave_a_shared_accumulator_alone)
{
    ad_scope s = ad_scope_begin(ctx);
    const int64_t idx[3] = {0, 1, 0};
    const double gi[3] = {4, 4, 2};
    ad_tensor *x = vec(5, 0.3), *k = vec(3, 1.9), *t = ad_from_array(ctx, AD_SHAPE(3), gi);
    ad_requires_grad_(x, true);
    ad_tensor *u = ad_sin(x);
    ad_tensor *first = ad_add(ad_sum(ad_mul(ad_index_select(u, 0, 3, idx), k), AD_ALL, false),
                              ad_sum(ad_mul(ad_gather(u, 0, t), k), AD_ALL, false)); /* swept after the add */
    ad_tensor *y = ad_add(ad_sum(ad_add_s(u, 1.0), AD_ALL, false), first);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    const double *kv = ad_data(k);
    double want[5] = {1 + kv[0] + kv[2], 1 + kv[1], 1 + kv[2], 1, 1 + kv[0] + kv[1]};
    for (int i = 0; i < 5; i++) want[i] *= cos(ad_data(x)[i]);
    expect_near(th_values(ad_grad(x)), want, 5, 1e-15, "x̄");
    ad_scope_end(ctx, s, NULL);
}

/* f = Σ_j φ(x[idx_j]) + Σ_k φ(x[T_k]) with idx = {1, 3, 1}, T = {0, 0, 2}:
 * element i is picked c_i = {2, 2, 1, 1, 0} times. */
static ad_tensor *picked(ad_tensor *x, ad_tensor *(*phi)(ad_tensor *))
{
    static const int64_t idx[3] = {1, 3, 1};
    static const double ti[3] = {0, 0, 2};
    ad_tensor *t = ad_from_array(ctx, AD_SHAPE(3), ti); /* the hvp runs in ctx too */
    return ad_add(ad_sum(phi(ad_index_select(x, 0, 3, idx)), AD_ALL, false),
                  ad_sum(phi(ad_gather(x, 0, t)), AD_ALL, false));
}
static const double picked_count[5] = {2, 2, 1, 1, 0};

/* Under create_graph the rules run (recorded): for φ = square the
 * gradient is 2 c_i x_i, whose sum differentiated again is 2 c_i. */
Test(sweep_into, gathers_under_create_graph_record_the_rule)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = vec(5, 0.5);
    ad_requires_grad_(x, true);
    ad_tensor *g[1] = {NULL};
    cr_assert_eq(ad_autograd_grad(picked(x, ad_square), NULL, 1, &x, AD_CREATE_GRAPH, g), AD_OK, "%s",
                 ad_errmsg(ctx));
    cr_assert(ad_requires_grad(g[0]), "create_graph: the gradient carries a graph");
    cr_assert_eq(ad_backward(ad_sum(g[0], AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    double want[5];
    for (int i = 0; i < 5; i++) want[i] = 2 * picked_count[i];
    expect_near(th_values(ad_grad(x)), want, 5, 0, "d(Σ x̄)/dx");
    ad_scope_end(ctx, s, NULL);
}

static ad_tensor *picked_sin(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)c;
    (void)ud;
    return picked(in[0], ad_sin);
}

/* Forward over reverse (the adjoints carry tangents, so the rules run):
 * for φ = sin, (Hv)_i = -c_i sin(x_i) v_i. */
Test(sweep_into, gathers_in_hvp_keep_the_tangents)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *in[1] = {vec(5, 0.5)}, *v[1] = {vec(5, -1.2)}, *hv[1] = {NULL};
    ad_problem p = {.ctx = ctx, .f = picked_sin, .nin = 1, .in = in};
    cr_assert_eq(ad_hvp(&p, v, NULL, NULL, hv, NULL), AD_OK, "%s", ad_errmsg(ctx));
    double want[5];
    for (int i = 0; i < 5; i++) want[i] = -picked_count[i] * sin(ad_data(in[0])[i]) * ad_data(v[0])[i];
    expect_near(th_values(hv[0]), want, 5, 1e-15, "Hv");
    ad_scope_end(ctx, s, NULL);
}

/* y = sin(two_gathers(sin(X), w, v)) */
static ad_tensor *gathered_case(ad_tensor **xp, double *want, int *n)
{
    ad_tensor *x = mat(3, 5, 0.4), *w = mat(3, 5, 1.3), *v = mat(3, 4, -0.7);
    ad_requires_grad_(x, true);
    ad_tensor *z = two_gathers(ad_sin(x), w, v), *y = ad_sin(z);
    if (!y) return NULL;
    two_gathers_grad(ad_data(w), ad_data(v), want);
    double outer = cos(ad_item(z));
    for (int i = 0; i < 15; i++) want[i] *= cos(ad_data(x)[i]) * outer;
    *xp = x;
    *n = 15;
    return y;
}

/* Every allocation of a sweep through both ops refused in turn. */
Test(sweep_into, refused_allocations_fail_a_gathering_sweep) { refusals_fail_the_sweep(gathered_case); }

/* After a create_graph backward x.grad may be whatever the sweep handed
 * on (here the seed expanded to x's shape: one element, stride 0); a
 * later share must not be scattered into such a view. */
Test(sweep_into, leaf_grad_left_by_create_graph)
{
    ad_scope s = ad_scope_begin(ctx);
    const int64_t idx[2] = {1, 1};
    ad_tensor *x = vec(4, 0.3);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(ad_sum(x, AD_ALL, false), NULL, AD_CREATE_GRAPH), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(ad_sum(ad_idx(x, AD_S(0, 2)), AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(ad_sum(ad_index_select(x, 0, 2, idx), AD_ALL, false), NULL, 0), AD_OK, "%s",
                 ad_errmsg(ctx));
    double want[4] = {2, 4, 1, 1};
    expect_near(th_values(ad_grad(x)), want, 4, 0, "x̄");
    ad_scope_end(ctx, s, NULL);
}
