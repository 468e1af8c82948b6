/* tests/test_central_replay.c — the central-replay backend: central
 * differences whose points are evaluated by a program recorded from f
 * (modes/fd_replay.c, src/replay_value.c).  Each test puts it beside
 * "central" on the same inputs: value, gradient and error estimate must be
 * the same numbers (==), on the call that records and on later calls with
 * new values; f must be called once per program; what cannot be replayed
 * must run as central and say why. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "helpers.h"
#include "trace.h"

TestSuite(central_replay, .init = th_setup, .fini = th_teardown);

static const ad_backend *crep(void) { return ad_backend_find("central-replay"); }
static const ad_backend *cen(void) { return ad_backend_find("central"); }

static ad_replay_report last(void)
{
    ad_replay_report r;
    cr_assert_eq(ad_replay_last(ctx, &r), AD_OK);
    return r;
}

/* Value, gradient and (with_err) its error estimate of p's one input by
 * backend b, into out: 1 + n (+ n) numbers. */
static int64_t grad_of(const ad_backend *b, const ad_problem *p, bool with_err, double *out)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *y = NULL, *g[2] = {NULL}, *ge[2] = {NULL};
    int rc = ad_value_and_grad(b, p, NULL, &y, g, with_err ? ge : NULL, NULL);
    cr_assert_eq(rc, AD_OK, "%s: %s", b->name, ad_errmsg(ctx));
    int64_t n = ad_numel(p->in[0]);
    out[0] = ad_item(y);
    ad_to_array(g[0], out + 1, n);
    if (with_err) ad_to_array(ge[0], out + 1 + n, n);
    ad_scope_end(ctx, s, NULL);
    return 1 + n * (with_err ? 2 : 1);
}

/* central-replay against central on p, estimate on or off. */
static void expect_same(const ad_problem *p, bool with_err, const char *what, int call)
{
    int64_t n = 1 + 2 * ad_numel(p->in[0]);
    double *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    cr_assert(a && b);
    int64_t na = grad_of(crep(), p, with_err, a), nb = grad_of(cen(), p, with_err, b);
    cr_assert_eq(na, nb);
    char label[160];
    snprintf(label, sizeof label, "%s, call %d, estimate %d", what, call, with_err);
    th_expect_same_numbers(a, b, na, label, "central");
    free(a);
    free(b);
}

/* New values in place (the same tensors, as an optimiser's loop has). */
static void refill(ad_tensor *x, double offset)
{
    double *v = ad_data(x);
    for (int64_t i = 0; i < ad_numel(x); i++) v[i] = offset + 0.31 * sin(2.3 * (double)i + offset);
}

/* Calls with new values, the estimate off and on: the first records, the
 * others are replayed (central ran after central-replay, but only the
 * replaying backends report). */
static void calls(ad_problem *p, const char *what, int ncalls)
{
    for (int call = 0; call < ncalls; call++) {
        refill(p->in[0], 0.45 + 0.2 * call);
        expect_same(p, call % 2 == 1, what, call);
        ad_replay_report r = last();
        cr_expect_eq(r.kind, call == 0 ? AD_REPLAY_TRACED : AD_REPLAY_REPLAYED, "%s, call %d: kind %d (%s)", what,
                     call, r.kind, r.reason);
    }
}

/* Sizes around the edges of the sum tree's leaves (AD_REPLAY_BLOCK_MIN,
 * what a moved point reruns) and of the program's blocks (b), and 1e4
 * (central's 2n evaluations of f there take seconds in a Debug build:
 * only where `big`). */
#define NSIZES 11
static void edge_sizes(int64_t b, int64_t *m)
{
    const int64_t B = AD_REPLAY_BLOCK_MIN;
    const int64_t e[NSIZES] = {1, 2, B - 1, B, B + 1, 3 * B + 5, b - 1, b, b + 1, 3 * b + 5, 10000};
    memcpy(m, e, sizeof e);
}

/* The elements per block of f's program (recorded at 20000 elements). */
static int64_t block_of(ad_fn f, const void *user)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_bench_input(ctx, 20000), *y = NULL, *jv = NULL;
    ad_problem p = {.ctx = ctx, .f = f, .user = (void *)user, .nin = 1, .in = &x};
    ad_tensor *v = ad_zeros(ctx, AD_SHAPE(20000));
    ad_data(v)[3] = 1;
    cr_assert_eq(ad_jvp(crep(), &p, &v, NULL, &y, &jv, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    ad_replay_report r = last();
    cr_assert_eq(r.kind, AD_REPLAY_TRACED, "%s", r.reason);
    cr_assert(r.block >= AD_REPLAY_BLOCK_MIN, "block %lld (%s)", (long long)r.block, r.reason);
    ad_scope_end(ctx, s, NULL);
    return r.block;
}

static void at_edges(ad_fn f, const void *user, int extra, const char *name, bool big)
{
    int64_t sizes[NSIZES];
    edge_sizes(block_of(f, user), sizes);
    for (int k = 0; k < NSIZES - !big; k++) {
        ad_scope s = ad_scope_begin(ctx);
        int64_t m = sizes[k], n = m + extra; /* n - extra terms summed */
        ad_tensor *x = ad_bench_input(ctx, n);
        ad_problem p = {.ctx = ctx, .f = f, .user = (void *)user, .nin = 1, .in = &x};
        char what[96];
        snprintf(what, sizeof what, "%s, %lld elements", name, (long long)n);
        calls(&p, what, m >= 10000 ? 2 : 3);
        ad_scope_end(ctx, s, NULL);
    }
}

Test(central_replay, suite_functions_match_central_at_block_edges)
{
    at_edges(ad_bench_suite_find("rosenbrock")->f, NULL, 1, "rosenbrock", true);
    at_edges(ad_bench_suite_find("expsin")->f, NULL, 0, "expsin", false);
}

/* mlp, Σ tanh(A x): a program that starts from an mv (src/replay_mv.c's
 * head when blocked), with A an input that is not differentiated.  Its
 * moved points rerun whole blocks through the mv, so the numbers must still
 * be central's. */
Test(central_replay, mlp_matches_central)
{
    const ad_bench_fn *fn = ad_bench_suite_find("mlp");
    const int64_t sizes[] = {1, 3, 64, 2 * AD_REPLAY_BLOCK_MIN + 3};
    for (int k = 0; k < 4; k++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *in[2];
        bool wrt[2];
        cr_assert_eq(fn->make_inputs(fn, ctx, sizes[k], in, wrt), 2, "%s", ad_errmsg(ctx));
        ad_problem p = {.ctx = ctx, .f = fn->f, .nin = 2, .in = in, .wrt = wrt};
        char what[64];
        snprintf(what, sizeof what, "mlp, n = %lld", (long long)sizes[k]);
        calls(&p, what, 3);
        ad_scope_end(ctx, s, NULL);
    }
}

/* Slices of x at one offset (a sum) or two (a mean). */
static ad_tensor *f_offsets(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    ad_tensor *x = in[0], *a, *b, *d;
    if (*(const int *)user == 0) {
        a = ad_idx(x, AD_S(AD_END, -1));
        b = ad_idx(x, AD_S(1, AD_END));
        return ad_sum(ad_mul(ad_exp(ad_mul_s(b, -0.5)), ad_sub(a, ad_sigmoid(b))), AD_ALL, false);
    }
    a = ad_idx(x, AD_S(AD_END, -2));
    b = ad_idx(x, AD_S(1, -1));
    d = ad_idx(x, AD_S(2, AD_END));
    ad_tensor *u = ad_sub(ad_mul(ad_tanh(a), b), ad_div(d, ad_add_s(ad_square(b), 1.5)));
    return ad_mean(ad_add(u, ad_sqrt(ad_add_s(ad_cos(d), 2.0))), AD_ALL, false);
}

static const int offset_cases[2] = {0, 1};

Test(central_replay, slices_at_one_and_two_offsets_match_central)
{
    at_edges(f_offsets, &offset_cases[0], 1, "one offset", false);
    at_edges(f_offsets, &offset_cases[1], 2, "two offsets", false);
}

/* ---- f is called once per program ------------------------------------------ */

static ad_tensor *f_counted(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    ++*(int *)user;
    ad_tensor *x = in[0];
    return ad_sum(ad_mul(ad_sin(x), ad_square(x)), AD_ALL, false);
}

Test(central_replay, f_is_called_once_per_program)
{
    int count = 0;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_bench_input(ctx, 700);
    ad_problem p = {.ctx = ctx, .f = f_counted, .user = &count, .nin = 1, .in = &x};
    double *out = malloc(2 * 701 * sizeof *out);
    cr_assert(out);
    for (int call = 0; call < 4; call++) {
        refill(x, 0.3 * call);
        ad_stats st = {0};
        ad_tensor *y = NULL, *g[1] = {NULL}, *ge[1] = {NULL};
        cr_assert_eq(ad_value_and_grad(crep(), &p, NULL, &y, g, call % 2 ? ge : NULL, &st), AD_OK);
        cr_expect_eq(count, 1, "call %d: f called %d times", call, count);
        cr_expect_eq(last().kind, call == 0 ? AD_REPLAY_TRACED : AD_REPLAY_REPLAYED);
        /* 2n points (4n with the estimate), and f(x) */
        cr_expect_eq(st.passes, (call % 2 ? 4 : 2) * 700 + 1, "call %d: %lld passes", call, (long long)st.passes);
    }
    count = 0;
    grad_of(cen(), &p, false, out); /* central calls f 2n + 1 times: the counter counts */
    cr_expect_eq(count, 2 * 700 + 1);
    free(out);
    ad_scope_end(ctx, s, NULL);
}

/* ---- what cannot be replayed is central ------------------------------------- */

Test(central_replay, host_read_falls_back_to_central)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = th_vals(AD_SHAPE(300), 0.5, 0.3);
    ad_problem p = {.ctx = ctx, .f = th_host_branch, .nin = 1, .in = &x};
    for (int call = 0; call < 3; call++) {
        refill(x, call == 1 ? 0.9 : 0.4); /* the branch flips on call 1 */
        expect_same(&p, call == 2, "host read", call);
        ad_tensor *y = NULL, *g[1] = {NULL};
        cr_assert_eq(ad_value_and_grad(crep(), &p, NULL, &y, g, NULL, NULL), AD_OK);
        ad_replay_report r = last();
        cr_expect_eq(r.kind, AD_REPLAY_PLAIN, "call %d: kind %d", call, r.kind);
        cr_expect(strstr(r.reason, "ad_item"), "reason '%s'", r.reason);
    }
    ad_scope_end(ctx, s, NULL);
}

/* ---- a dense direction ------------------------------------------------------- */

Test(central_replay, dense_direction_matches_central)
{
    ad_scope s = ad_scope_begin(ctx);
    const ad_bench_fn *fn = ad_bench_suite_find("rosenbrock");
    ad_tensor *x = ad_bench_input(ctx, 1000), *v = th_vals(AD_SHAPE(1000), 0.2, 0.7);
    ad_problem p = {.ctx = ctx, .f = fn->f, .nin = 1, .in = &x};
    for (int call = 0; call < 3; call++) {
        refill(x, 0.5 + 0.1 * call);
        double got[3], want[3];
        for (int b = 0; b < 2; b++) {
            ad_tensor *y = NULL, *jv = NULL, *je = NULL;
            cr_assert_eq(ad_jvp(b ? cen() : crep(), &p, &v, NULL, &y, &jv, &je, NULL), AD_OK, "%s", ad_errmsg(ctx));
            double *o = b ? want : got;
            o[0] = ad_item(y);
            o[1] = ad_item(jv);
            o[2] = ad_item(je);
        }
        for (int i = 0; i < 3; i++) cr_expect_eq(got[i], want[i], "call %d, entry %d: %.17g against %.17g", call, i, got[i], want[i]);
    }
    ad_scope_end(ctx, s, NULL);
}

/* ---- nested use is refused as central refuses it -------------------------------- */

Test(central_replay, nested_use_is_refused_as_central)
{
    ad_scope s = ad_scope_begin(ctx);
    const ad_bench_fn *fn = ad_bench_suite_find("expsin");
    ad_tensor *x = ad_bench_input(ctx, 6);
    ad_requires_grad_(x, true);
    ad_tensor *xz = ad_mul_s(x, 1.5);
    ad_problem q = {.ctx = ctx, .f = fn->f, .nin = 1, .in = &xz};
    int st[2];
    for (int b = 0; b < 2; b++) {
        ad_tensor *g[1] = {NULL}, *y = NULL;
        st[b] = ad_value_and_grad(b ? cen() : crep(), &q, NULL, &y, g, NULL, NULL);
        ad_clear_error(ctx);
    }
    cr_expect_eq(st[0], AD_ENOTSUP);
    cr_expect_eq(st[0], st[1]);
    ad_scope_end(ctx, s, NULL);
}

/* ---- refused allocations never give a wrong value ------------------------------ */

/* Three calls (record, replay twice) in a fresh context whose allocator
 * refuses its k-th allocation (k <= 0: none): each call fails with
 * AD_ENOMEM or gives want's numbers.  Returns the allocations made; *ok
 * the calls that succeeded, *failed the refusals. */
static int64_t three_calls_refusing(int64_t n, int64_t k, const double *want, int *ok, int64_t *failed,
                                    int64_t *starts)
{
    const ad_bench_fn *fn = ad_bench_suite_find("rosenbrock");
    th_alloc h = TH_ALLOC_INIT;
    ad_ctx_options o = {.seed = 1, .alloc = th_alloc_hook, .alloc_ud = &h, .no_recycling = true};
    ad_ctx *c = ad_ctx_new_with(&o);
    cr_assert(c);
    ad_tensor *x = ad_bench_input(c, n);
    ad_problem p = {.ctx = c, .f = fn->f, .nin = 1, .in = &x};
    *ok = 0;
    int64_t before = h.calls;
    th_alloc_arm(&h, k);
    for (int call = 0; call < 3; call++) {
        if (starts) starts[call] = h.calls - before;
        ad_scope s = ad_scope_begin(c);
        ad_tensor *y = NULL, *g[1] = {NULL}, *ge[1] = {NULL};
        int rc = ad_value_and_grad(crep(), &p, NULL, &y, g, ge, NULL);
        if (rc == AD_OK) {
            ++*ok;
            cr_expect_eq(ad_item(y), want[0], "k = %lld, call %d: value", (long long)k, call);
            for (int64_t i = 0, bad = 0; i < n && bad < 3; i++) {
                bool same = ad_data(g[0])[i] == want[1 + i] && ad_data(ge[0])[i] == want[1 + n + i];
                bad += !same;
                cr_expect(same, "k = %lld, call %d: g[%lld]", (long long)k, call, (long long)i);
            }
        } else {
            cr_expect_eq(rc, AD_ENOMEM, "k = %lld: status %d (%s)", (long long)k, rc, ad_errmsg(c));
            ad_clear_error(c);
        }
        ad_scope_end(c, s, NULL);
    }
    th_alloc_arm(&h, 0);
    *failed = h.failed;
    int64_t made = h.calls - before;
    ad_tensor_free(x);
    ad_ctx_free(c);
    cr_expect_eq(h.bytes, 0, "k = %lld: %lld bytes leaked", (long long)k, (long long)h.bytes);
    return made;
}

/* Allocations refused in turn: each of the first 120 of every call (where
 * it records, checks, allocates the arena and the base point's tree), and
 * 100 spread over the rest (each direction allocates as the others do),
 * for rosenbrock of n elements (9: op by op; 2 AD_REPLAY_BLOCK_MIN + 6: a
 * tree of several leaves). */
static void refused_allocations(int64_t n)
{
    const ad_bench_fn *fn = ad_bench_suite_find("rosenbrock");
    double *want = malloc((size_t)(2 * n + 1) * sizeof *want);
    cr_assert(want);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_bench_input(ctx, n);
    ad_problem p = {.ctx = ctx, .f = fn->f, .nin = 1, .in = &x};
    grad_of(cen(), &p, true, want);
    ad_scope_end(ctx, s, NULL);
    int ok;
    int64_t failed, starts[3], total = three_calls_refusing(n, 0, want, &ok, &failed, starts);
    cr_assert_eq(ok, 3, "without refusals");
    for (int64_t k = 1, step = total / 100 + 1; k <= total; k++) {
        bool early = (k > starts[0] && k <= starts[0] + 120) || (k > starts[1] && k <= starts[1] + 120) ||
                     (k > starts[2] && k <= starts[2] + 120);
        if (!early && k % step != 0 && k != total) continue;
        three_calls_refusing(n, k, want, &ok, &failed, NULL);
        cr_expect_eq(failed, 1, "k = %lld of %lld: refused %lld", (long long)k, (long long)total, (long long)failed);
    }
    free(want);
}

Test(central_replay, refused_allocations_fail_or_are_right) { refused_allocations(9); }
Test(central_replay, refused_allocations_fail_or_are_right_blocked) { refused_allocations(2 * AD_REPLAY_BLOCK_MIN + 6); }
