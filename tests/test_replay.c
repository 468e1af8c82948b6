/* tests/test_replay.c — the reverse-replay backend (src/trace.h): its
 * first call for a key is reverse mode with a recorder on, later calls run
 * the recording without calling f.  Each test puts it beside "reverse"
 * on the same inputs: the value and gradient must be the same numbers
 * (==: the sign of a zero aside), on the call that records, and on later
 * calls with new input values (which must not get the traced ones); what
 * cannot be replayed must fall back to reverse and say why. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "helpers.h"
#include "trace.h"

TestSuite(replay, .init = th_setup, .fini = th_teardown);

static const ad_backend *rep(void) { return ad_backend_find("reverse-replay"); }
static const ad_backend *rev(void) { return ad_backend_find("reverse"); }

static int last_kind(void)
{
    ad_replay_report r;
    cr_assert_eq(ad_replay_last(ctx, &r), AD_OK);
    return r.kind;
}

static const char *last_reason(void)
{
    static ad_replay_report r;
    ad_replay_last(ctx, &r);
    return r.reason;
}

static void expect_same(const ad_problem *p, const char *what, int call)
{
    double *a = th_answer_room(p), *b = th_answer_room(p);
    int64_t na = th_value_and_grads(rep(), p, a), nb = th_value_and_grads(rev(), p, b);
    cr_assert_eq(na, nb);
    char label[160];
    snprintf(label, sizeof label, "%s, call %d", what, call);
    th_expect_same_numbers(a, b, na, label, "reverse");
    free(a);
    free(b);
}

/* Runs reverse-replay once more (th_value_and_grads ran it before reverse) so that
 * last_kind() speaks of it. */
static void rerun(const ad_problem *p)
{
    double *tmp = th_answer_room(p);
    th_value_and_grads(rep(), p, tmp);
    free(tmp);
}

/* New values in place (the same tensors, as an optimiser's loop has). */
static void refill(ad_tensor *x, double offset)
{
    double *v = ad_data(x);
    for (int64_t i = 0; i < ad_numel(x); i++) v[i] = offset + 0.31 * sin(2.3 * (double)i + offset);
}

/* Three calls with three sets of values; the second and third replayed
 * when `replays`. */
static void three_calls(ad_problem *p, ad_tensor *x, const char *what, bool replays)
{
    for (int call = 0; call < 3; call++) {
        refill(x, 0.45 + 0.2 * call);
        expect_same(p, what, call);
        rerun(p);
        int want = replays ? AD_REPLAY_REPLAYED : AD_REPLAY_PLAIN;
        cr_expect_eq(last_kind(), want, "%s, call %d: kind %d (%s)", what, call, last_kind(), last_reason());
    }
}

Test(replay, suite_functions_match_reverse)
{
    const char *names[] = {"rosenbrock", "expsin", "softmax_ce", "mlp"};
    const bool replayed[] = {true, true, false, true}; /* logsumexp is not in the whitelist */
    for (int f = 0; f < 4; f++) {
        ad_scope s = ad_scope_begin(ctx);
        const ad_bench_fn *fn = ad_bench_suite_find(names[f]);
        ad_tensor *in[4];
        bool wrt[4];
        int nin = fn->make_inputs(fn, ctx, 37, in, wrt);
        ad_problem p = {.ctx = ctx, .f = fn->f, .user = fn->user, .nin = nin, .in = in, .wrt = wrt};
        three_calls(&p, in[0], names[f], replayed[f]);
        if (!replayed[f]) cr_expect(strstr(last_reason(), "cannot be replayed"), "%s: %s", names[f], last_reason());
        ad_scope_end(ctx, s, NULL);
    }
}

/* ---- one small function per whitelisted op --------------------------------- */

static ad_tensor *f_unary(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    ad_tensor *x = in[0], *u;
    switch (*(const int *)user) {
    case 0: u = ad_neg(x); break;
    case 1: u = ad_exp(x); break;
    case 2: u = ad_log(x); break;
    case 3: u = ad_sin(x); break;
    case 4: u = ad_cos(x); break;
    case 5: u = ad_tanh(x); break;
    case 6: u = ad_sigmoid(x); break;
    case 7: u = ad_square(x); break;
    case 8: u = ad_sqrt(x); break;
    case 9: u = ad_add_s(x, 0.7); break;
    case 10: u = ad_sub_s(x, 0.3); break;
    case 11: u = ad_mul_s(x, -1.9); break;
    case 12: u = ad_div_s(x, 3.0); break;
    case 13: u = ad_rsub_s(2.5, x); break;
    case 14: u = ad_clone(x); break;
    default: u = ad_reshape(ad_reshape(x, AD_SHAPE(3, 4)), AD_SHAPE(12)); break;
    }
    /* a weight per element so that each share is seen (and a second use) */
    ad_tensor *w = ad_mul(ad_mul(u, in[1]), ad_add_s(x, 1.25));
    return *(const int *)user == 15 ? ad_mean(w, AD_ALL, false) : ad_sum(w, AD_ALL, false);
}

static ad_tensor *f_binary(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    ad_tensor *a = in[0], *b = in[1], *u;
    switch (*(const int *)user) {
    case 0: u = ad_add(a, b); break;
    case 1: u = ad_sub(a, b); break;
    case 2: u = ad_mul(a, b); break;
    case 3: u = ad_div(a, b); break;
    default: u = ad_mul(ad_idx(a, AD_S(1, AD_END)), ad_idx(b, AD_S(AD_END, -1))); break;
    }
    return ad_sum(ad_square(ad_unsqueeze(u, 0)), AD_ALL, false);
}

/* One user pointer per case: the key is (f, user, shapes), and what f reads
 * through user is baked in at the first call (backend.h). */
static const int cases[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

Test(replay, each_whitelisted_op_matches_reverse)
{
    for (int k = 0; k < 16; k++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *in[2] = {th_vals(AD_SHAPE(12), 1.1, 0.4), th_vals(AD_SHAPE(12), -0.3, 0.8)};
        bool wrt[2] = {true, false};
        ad_problem p = {.ctx = ctx, .f = f_unary, .user = (void *)&cases[k], .nin = 2, .in = in, .wrt = wrt};
        char what[32];
        snprintf(what, sizeof what, "unary case %d", k);
        three_calls(&p, in[0], what, true);
        ad_scope_end(ctx, s, NULL);
    }
    for (int k = 0; k < 5; k++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *in[2] = {th_vals(AD_SHAPE(9), 0.8, 0.5), th_vals(AD_SHAPE(9), 1.7, 0.3)};
        ad_problem p = {.ctx = ctx, .f = f_binary, .user = (void *)&cases[k], .nin = 2, .in = in};
        char what[32];
        snprintf(what, sizeof what, "binary case %d", k);
        three_calls(&p, in[1], what, true);
        ad_scope_end(ctx, s, NULL);
    }
}

Test(replay, second_call_is_replayed_and_a_new_shape_retraces)
{
    ad_scope s = ad_scope_begin(ctx);
    const ad_bench_fn *fn = ad_bench_suite_find("rosenbrock");
    ad_tensor *a = ad_bench_input(ctx, 10), *b = ad_bench_input(ctx, 12);
    bool wrt[1] = {true};
    ad_problem pa = {.ctx = ctx, .f = fn->f, .nin = 1, .in = &a, .wrt = wrt}, pb = pa;
    pb.in = &b;
    double out[64];
    th_value_and_grads(rep(), &pa, out);
    cr_expect_eq(last_kind(), AD_REPLAY_TRACED, "%s", last_reason());
    th_value_and_grads(rep(), &pa, out);
    cr_expect_eq(last_kind(), AD_REPLAY_REPLAYED, "%s", last_reason());
    th_value_and_grads(rep(), &pb, out);
    cr_expect_eq(last_kind(), AD_REPLAY_TRACED, "another shape is another program");
    th_value_and_grads(rep(), &pa, out);
    cr_expect_eq(last_kind(), AD_REPLAY_REPLAYED, "the first program is still kept");
    /* ad_ctx_trim gives the programs back: the next call records again */
    cr_expect_gt(ad_ctx_trim(ctx), 0);
    th_value_and_grads(rep(), &pa, out);
    cr_expect_eq(last_kind(), AD_REPLAY_TRACED);
    ad_scope_end(ctx, s, NULL);
}

/* ---- what cannot be replayed runs as reverse, and says why -------------------- */

/* A constant from caller memory, which changes between calls. */
static double weights[5];
static ad_tensor *f_caller_memory(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)user;
    return ad_sum(ad_mul(in[0], ad_from_array(c, AD_SHAPE(5), weights)), AD_ALL, false);
}

static ad_tensor *f_unsupported(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_sum(ad_atan(in[0]), AD_ALL, false);
}

/* A literal constant made inside f: baked in, replayed. */
static ad_tensor *f_literal(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)user;
    return ad_sum(ad_mul(ad_sin(in[0]), ad_add(ad_full(c, AD_SHAPE(5), 2.5), ad_arange_n(c, 5))), AD_ALL, false);
}

/* Written in place after use: the recorder's slot is stale. */
static ad_tensor *f_in_place(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)user;
    ad_tensor *k = ad_zeros(c, AD_SHAPE(5));
    ad_add_(k, in[1]); /* plain: in[1] is not differentiated */
    return ad_sum(ad_mul(in[0], k), AD_ALL, false);
}

static void falls_back(ad_fn f, const char *reason, bool second_input_changes)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *in[2] = {th_vals(AD_SHAPE(5), 0.5, 0.3), th_vals(AD_SHAPE(5), 1.5, 0.2)};
    bool wrt[2] = {true, false};
    ad_problem p = {.ctx = ctx, .f = f, .nin = 2, .in = in, .wrt = wrt};
    for (int call = 0; call < 3; call++) {
        refill(in[0], call == 1 ? 0.9 : 0.4); /* the host-read branch flips on call 1 */
        if (second_input_changes) refill(in[1], 1.0 + call);
        for (int i = 0; i < 5; i++) weights[i] = 1.0 + call + 0.1 * i;
        expect_same(&p, reason, call);
        double tmp[64];
        th_value_and_grads(rep(), &p, tmp);
        if (call > 0) {
            cr_expect_eq(last_kind(), AD_REPLAY_PLAIN, "%s: call %d kind %d", reason, call, last_kind());
            cr_expect(strstr(last_reason(), reason), "reason '%s', want '%s'", last_reason(), reason);
        }
    }
    ad_scope_end(ctx, s, NULL);
}

Test(replay, host_read_falls_back) { falls_back(th_host_branch, "ad_item", false); }
Test(replay, caller_memory_falls_back) { falls_back(f_caller_memory, "does not know", false); }
Test(replay, unsupported_op_falls_back) { falls_back(f_unsupported, "atan", false); }
Test(replay, in_place_write_falls_back) { falls_back(f_in_place, "in place", true); }

Test(replay, literal_constants_are_baked)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = th_vals(AD_SHAPE(5), 0.5, 0.3);
    ad_problem p = {.ctx = ctx, .f = f_literal, .nin = 1, .in = &x};
    three_calls(&p, x, "literal", true);
    ad_scope_end(ctx, s, NULL);
}

/* ---- nested use is reverse's -------------------------------------------------- */

Test(replay, open_forward_level_and_nested_inputs_run_reverse)
{
    ad_scope s = ad_scope_begin(ctx);
    const ad_bench_fn *fn = ad_bench_suite_find("expsin");
    ad_tensor *x = ad_bench_input(ctx, 6);
    ad_problem p = {.ctx = ctx, .f = fn->f, .nin = 1, .in = &x};
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    expect_same(&p, "forward level open", 0);
    cr_expect_eq(last_kind(), AD_REPLAY_PLAIN);
    ad_fwd_end(ctx);
    /* inputs requiring grad with grad mode on: an enclosing reverse pass */
    ad_tensor *z = ad_mul_s(x, 1.0);
    ad_requires_grad_(x, true);
    ad_tensor *xz = ad_mul_s(x, 1.5);
    ad_problem q = {.ctx = ctx, .f = fn->f, .nin = 1, .in = &xz};
    ad_tensor *g[1] = {NULL}, *v = NULL;
    cr_assert_eq(ad_value_and_grad(rep(), &q, NULL, &v, g, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(last_kind(), AD_REPLAY_PLAIN);
    cr_expect(strstr(last_reason(), "nested"), "%s", last_reason());
    /* the inner gradient carries the outer derivative: d/dx Σ g = 1.5 Σ f''(1.5 x) */
    cr_expect(ad_requires_grad(g[0]), "the gradient keeps its place on the outer tape");
    (void)z;
    ad_scope_end(ctx, s, NULL);
}

/* ---- refused allocations never give a wrong value ------------------------------ */

/* Every k-th allocation refused in turn, for rosenbrock of n elements
 * (9: op by op; 3 AD_REPLAY_BLOCK_MAX + 6: several blocks): each call
 * fails or is right. */
static void refused_allocations(int64_t n)
{
    const ad_bench_fn *fn = ad_bench_suite_find("rosenbrock");
    double *want = malloc((size_t)(n + 1) * sizeof *want);
    cr_assert(want);
    {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *x = ad_bench_input(ctx, n);
        ad_problem p = {.ctx = ctx, .f = fn->f, .nin = 1, .in = &x};
        th_value_and_grads(rev(), &p, want);
        ad_scope_end(ctx, s, NULL);
    }
    bool done = false;
    for (int64_t k = 1; !done && k < 3000; k++) {
        th_alloc h = TH_ALLOC_INIT;
        ad_ctx_options o = {.seed = 1, .alloc = th_alloc_hook, .alloc_ud = &h, .no_recycling = true};
        ad_ctx *c = ad_ctx_new_with(&o), *saved = ctx;
        cr_assert(c);
        ctx = c;
        ad_tensor *x = ad_bench_input(c, n);
        ad_problem p = {.ctx = c, .f = fn->f, .nin = 1, .in = &x};
        int ok = 0;
        th_alloc_arm(&h, k);
        for (int call = 0; call < 3; call++) { /* record, then replay twice */
            ad_scope s = ad_scope_begin(c);
            ad_tensor *y = NULL, *g[1] = {NULL};
            int rc = ad_value_and_grad(rep(), &p, NULL, &y, g, NULL, NULL);
            if (rc == AD_OK) {
                ok++;
                cr_expect_eq(ad_item(y), want[0], "k = %lld, call %d: value", (long long)k, call);
                for (int64_t i = 0, bad = 0; i < n && bad < 3; i++) {
                    bad += ad_data(g[0])[i] != want[1 + i];
                    cr_expect_eq(ad_data(g[0])[i], want[1 + i], "k = %lld, call %d: g[%lld]", (long long)k, call,
                                 (long long)i);
                }
            } else {
                cr_expect_eq(rc, AD_ENOMEM, "k = %lld: status %d (%s)", (long long)k, rc, ad_errmsg(c));
                ad_clear_error(c);
            }
            ad_scope_end(c, s, NULL);
        }
        th_alloc_arm(&h, 0);
        done = ok == 3 && h.failed == 0;
        ad_tensor_free(x);
        ctx = saved;
        ad_ctx_free(c);
        cr_expect_eq(h.bytes, 0, "k = %lld: %lld bytes leaked", (long long)k, (long long)h.bytes);
    }
    cr_expect(done, "the calls never all succeeded");
    free(want);
}

Test(replay, refused_allocations_fail_or_are_right) { refused_allocations(9); }
Test(replay, refused_allocations_fail_or_are_right_blocked) { refused_allocations(3 * AD_REPLAY_BLOCK_MAX + 6); }

/* ---- blocked replay: elementwise chains ending in a sum, any size --------------- */

/* The elements per block of f's program (the report of the call that
 * records it, on inputs of 20000 elements). */
static int64_t block_of(ad_fn f, const void *user, int nin)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *in[2] = {ad_bench_input(ctx, 20000), ad_bench_input(ctx, 20000)};
    bool wrt[2] = {true, false};
    ad_problem p = {.ctx = ctx, .f = f, .user = (void *)user, .nin = nin, .in = in, .wrt = wrt};
    rerun(&p);
    ad_replay_report r;
    ad_replay_last(ctx, &r);
    cr_assert_eq(r.kind, AD_REPLAY_TRACED);
    cr_assert(r.block >= AD_REPLAY_BLOCK_MIN && r.block <= AD_REPLAY_BLOCK_MAX, "block %lld", (long long)r.block);
    ad_scope_end(ctx, s, NULL);
    return r.block;
}

/* The domain sizes around a block's edges (the blocks are the sum's tree
 * nodes of at most b elements), and one of many blocks. */
#define NEDGES 5
static void edge_sizes(int64_t b, int64_t *m)
{
    const int64_t e[NEDGES] = {b - 1, b, b + 1, 3 * b + 5, 100000};
    memcpy(m, e, sizeof e);
}

/* Calls with new values, each the same numbers as reverse (the first
 * records), then replayed in blocks of b elements (m of them at most). */
static void blocked_calls(ad_problem *p, ad_tensor *x, const char *what, int64_t m, int64_t b)
{
    for (int call = 0; call < 3; call++) {
        refill(x, 0.45 + 0.2 * call);
        expect_same(p, what, call);
        rerun(p);
        ad_replay_report r;
        ad_replay_last(ctx, &r);
        cr_expect_eq(r.kind, AD_REPLAY_REPLAYED, "%s, call %d: %s", what, call, r.reason);
        cr_expect_eq(r.block, m < b ? m : b, "%s: block %lld", what, (long long)r.block);
    }
}

Test(replay, blocked_suite_functions_match_reverse_at_block_edges)
{
    const char *names[] = {"rosenbrock", "expsin"};
    for (int f = 0; f < 2; f++) {
        ad_fn fn = ad_bench_suite_find(names[f])->f;
        int64_t b = block_of(fn, NULL, 1), sizes[NEDGES];
        edge_sizes(b, sizes);
        for (int k = 0; k < NEDGES; k++) {
            ad_scope s = ad_scope_begin(ctx);
            int64_t m = sizes[k], n = f == 0 ? m + 1 : m; /* rosenbrock sums n - 1 terms */
            ad_tensor *x = ad_bench_input(ctx, n);
            ad_problem p = {.ctx = ctx, .f = fn, .nin = 1, .in = &x};
            char what[64];
            snprintf(what, sizeof what, "%s, %lld terms", names[f], (long long)m);
            blocked_calls(&p, x, what, m, b);
            ad_scope_end(ctx, s, NULL);
        }
    }
}

/* Slices of x at one or two offsets; `order` 1 makes the slices in the
 * order whose shares would reach x out of the sweep's order. */
static ad_tensor *f_offsets(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    ad_tensor *x = in[0], *a, *b, *d;
    switch (*(const int *)user) {
    case 0: /* one offset, a sum */
        a = ad_idx(x, AD_S(AD_END, -1));
        b = ad_idx(x, AD_S(1, AD_END));
        return ad_sum(ad_mul(ad_exp(ad_mul_s(b, -0.5)), ad_sub(a, ad_sigmoid(b))), AD_ALL, false);
    case 1: /* two offsets, a mean, slices made left to right */
        a = ad_idx(x, AD_S(AD_END, -2));
        b = ad_idx(x, AD_S(1, -1));
        d = ad_idx(x, AD_S(2, AD_END));
        break;
    default: /* the same made right to left: swept left to right */
        d = ad_idx(x, AD_S(2, AD_END));
        b = ad_idx(x, AD_S(1, -1));
        a = ad_idx(x, AD_S(AD_END, -2));
        break;
    }
    ad_tensor *u = ad_sub(ad_mul(ad_tanh(a), b), ad_div(d, ad_add_s(ad_square(b), 1.5)));
    return ad_mean(ad_add(u, ad_sqrt(ad_add_s(ad_cos(d), 2.0))), AD_ALL, false);
}

static const int offset_cases[3] = {0, 1, 2};

Test(replay, blocked_slices_at_one_and_two_offsets_match_reverse)
{
    for (int c = 0; c < 2; c++) {
        int64_t b = block_of(f_offsets, &offset_cases[c], 1), sizes[NEDGES];
        edge_sizes(b, sizes);
        for (int k = 0; k < NEDGES; k++) {
            ad_scope s = ad_scope_begin(ctx);
            int64_t m = sizes[k], n = m + 1 + c;
            ad_tensor *x = ad_bench_input(ctx, n);
            ad_problem p = {.ctx = ctx, .f = f_offsets, .user = (void *)&offset_cases[c], .nin = 1, .in = &x};
            char what[64];
            snprintf(what, sizeof what, "offsets case %d, %lld terms", c, (long long)m);
            blocked_calls(&p, x, what, m, b);
            ad_scope_end(ctx, s, NULL);
        }
    }
}

/* Two inputs, one differentiated, each read through a slice. */
static ad_tensor *f_two_inputs(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    ad_tensor *a = ad_idx(in[0], AD_S(1, AD_END)), *w = ad_idx(in[1], AD_S(AD_END, -1));
    return ad_sum(ad_mul(ad_log(ad_add_s(ad_square(a), 0.5)), ad_mul(w, a)), AD_ALL, false);
}

Test(replay, blocked_two_inputs_match_reverse)
{
    int64_t b = block_of(f_two_inputs, NULL, 2), n = 3 * b + 6;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *in[2] = {ad_bench_input(ctx, n), ad_bench_input(ctx, n)};
    bool wrt[2] = {true, false};
    ad_problem p = {.ctx = ctx, .f = f_two_inputs, .nin = 2, .in = in, .wrt = wrt};
    blocked_calls(&p, in[0], "two inputs", n - 1, b);
    ad_scope_end(ctx, s, NULL);
}

/* A recording the blocked executor refuses: above 2048 elements it runs as
 * reverse on every call and says why; below, it is replayed op by op. */
Test(replay, unblockable_recordings_run_reverse_at_large_n)
{
    for (int large = 0; large < 2; large++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *x = ad_bench_input(ctx, large ? 3 * AD_REPLAY_BLOCK_MAX + 7 : 40);
        ad_problem p = {.ctx = ctx, .f = f_offsets, .user = (void *)&offset_cases[2], .nin = 1, .in = &x};
        for (int call = 0; call < 3; call++) {
            refill(x, 0.3 + 0.1 * call);
            expect_same(&p, large ? "out of order, large" : "out of order, small", call);
            rerun(&p);
            ad_replay_report r;
            ad_replay_last(ctx, &r);
            cr_expect_eq(r.block, 0);
            if (call == 0) continue;
            cr_expect_eq(r.kind, large ? AD_REPLAY_PLAIN : AD_REPLAY_REPLAYED, "call %d: %s", call, r.reason);
            if (large) cr_expect(strstr(r.reason, "2048") && strstr(r.reason, "order"), "%s", r.reason);
        }
        ad_scope_end(ctx, s, NULL);
    }
}

/* A replay's memory is its block buffers: the same bytes at 20000 terms
 * as at 1e5 (reverse's tape grows with n), all in an L1's worth, and all
 * given back. */
static void replay_peaks(int64_t n, int64_t *tape, int64_t *values)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_bench_input(ctx, n);
    ad_problem p = {.ctx = ctx, .f = ad_bench_suite_find("expsin")->f, .nin = 1, .in = &x};
    double *tmp = th_answer_room(&p);
    th_value_and_grads(rep(), &p, tmp); /* records */
    ad_mem_stats before, after;
    ad_ctx_mem_stats(ctx, &before);
    ad_ctx_reset_peak(ctx);
    th_value_and_grads(rep(), &p, tmp);
    cr_expect_eq(last_kind(), AD_REPLAY_REPLAYED);
    ad_ctx_mem_stats(ctx, &after);
    *tape = after.peak[AD_MEM_TAPE] - before.live[AD_MEM_TAPE];
    *values = after.peak[AD_MEM_VALUES] - before.live[AD_MEM_VALUES];
    cr_expect_eq(after.live_total, before.live_total, "n = %lld: bytes left after the call", (long long)n);
    free(tmp);
    ad_scope_end(ctx, s, NULL);
    ad_ctx_trim(ctx);
}

Test(replay, blocked_memory_is_its_block_buffers)
{
    int64_t t1, v1, t2, v2;
    replay_peaks(20000, &t1, &v1);
    replay_peaks(100000, &t2, &v2);
    cr_expect_gt(t1, 0, "expsin's backward reads saved blocks (x², sin's input, exp's result)");
    cr_expect_eq(t1, t2, "tape: %lld bytes at 20000, %lld at 1e5", (long long)t1, (long long)t2);
    cr_expect_eq(v1, v2, "values: %lld bytes at 20000, %lld at 1e5", (long long)v1, (long long)v2);
    cr_expect_leq(t2 + v2, AD_REPLAY_BLOCK_BYTES, "tape %lld + values %lld", (long long)t2, (long long)v2);
}
