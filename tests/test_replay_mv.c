/* tests/test_replay_mv.c — mv (y = A x) in reverse-replay (src/replay_mv.c):
 * op by op for small programs, and as the head of a blocked program whose
 * elementwise chain starts from A x, A then read once.  Each test puts
 * reverse-replay beside reverse on the same inputs: the value and every
 * gradient must be the same numbers (==), on the call that records and on
 * later calls with new values.  Also the two facts the blocked head rests
 * on (ops/mv_rows.h): mv's Aᵀw is its rows added in order, so runs of rows
 * give the whole product's bits, and the BLAS's A x over runs of rows
 * starting at multiples of 4 equals the whole product. */
#include <gsl/gsl_cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ops/mv_rows.h"
#include "trace.h"

TestSuite(replay_mv, .init = th_setup, .fini = th_teardown);

static const ad_backend *rep(void) { return ad_backend_find("reverse-replay"); }
static const ad_backend *rev(void) { return ad_backend_find("reverse"); }

/* ---- the functions: Σ or mean of a chain over A x ------------------------------ */

enum { F_MLP, F_MEAN_BIAS, F_X_TWICE, F_TWO_MV };

/* F_MLP: Σ tanh(A x); F_MEAN_BIAS: mean(sigmoid(A x + b)·b), b of A's rows;
 * F_X_TWICE: Σ tanh(A x)·x, A square (x read by another op: not blocked);
 * F_TWO_MV: Σ tanh(A x)·sin(A x + A x) with A x made twice. */
static ad_tensor *f_mv(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    ad_tensor *x = in[0], *A = in[1], *y = ad_mv(A, x);
    switch (*(const int *)user) {
    case F_MLP: return ad_sum(ad_tanh(y), AD_ALL, false);
    case F_MEAN_BIAS: return ad_mean(ad_mul(ad_sigmoid(ad_add(y, in[2])), in[2]), AD_ALL, false);
    case F_X_TWICE: return ad_sum(ad_mul(ad_tanh(y), x), AD_ALL, false);
    default: return ad_sum(ad_mul(ad_tanh(y), ad_sin(ad_add(y, ad_mv(A, x)))), AD_ALL, false);
    }
}

static const int cases[4] = {F_MLP, F_MEAN_BIAS, F_X_TWICE, F_TWO_MV};

/* New values in place (the same tensors, as an optimiser's loop has). */
static void refill(ad_tensor *t, double offset)
{
    double *v = ad_data(t), s = 1 / sqrt((double)ad_numel(t));
    for (int64_t i = 0; i < ad_numel(t); i++) v[i] = s * (offset + sin(2.3 * (double)i + 7 * offset));
}

/* x [n], A [m, n], b [m] (made, filled; which are differentiated). */
typedef struct {
    ad_tensor *in[3];
    bool wrt[3];
    ad_problem p;
} mv_problem;

static void make(mv_problem *q, int fcase, int64_t m, int64_t n, bool a_wrt)
{
    q->in[0] = ad_empty(ctx, AD_SHAPE(n));
    q->in[1] = ad_empty(ctx, AD_SHAPE(m, n));
    q->in[2] = ad_empty(ctx, AD_SHAPE(m));
    cr_assert(q->in[0] && q->in[1] && q->in[2]);
    q->wrt[0] = true;
    q->wrt[1] = a_wrt;
    q->wrt[2] = false;
    for (int i = 0; i < 3; i++) refill(q->in[i], 0.3 + 0.1 * i);
    q->p = (ad_problem){.ctx = ctx, .f = f_mv, .user = (void *)&cases[fcase], .nin = 3, .in = q->in, .wrt = q->wrt};
}

/* reverse-replay's answer == reverse's; then the report of one more
 * reverse-replay call (th_value_and_grads ran reverse last) into *r. */
static void expect_same(const ad_problem *p, const char *what, int call, ad_replay_report *r)
{
    double *a = th_answer_room(p), *b = th_answer_room(p);
    int64_t na = th_value_and_grads(rep(), p, a), nb = th_value_and_grads(rev(), p, b);
    cr_assert_eq(na, nb);
    char label[160];
    snprintf(label, sizeof label, "%s, call %d", what, call);
    th_expect_same_numbers(a, b, na, label, "reverse");
    th_value_and_grads(rep(), p, a);
    ad_replay_last(ctx, r);
    free(a);
    free(b);
}

/* Three calls with new values; later ones replayed, blocked or not. */
static void three_calls(int fcase, int64_t m, int64_t n, bool a_wrt, bool blocked)
{
    ad_scope s = ad_scope_begin(ctx);
    mv_problem q;
    make(&q, fcase, m, n, a_wrt);
    char what[96];
    snprintf(what, sizeof what, "case %d, A [%lld, %lld]%s", fcase, (long long)m, (long long)n,
             a_wrt ? ", A differentiated" : "");
    for (int call = 0; call < 3; call++) {
        for (int i = 0; i < 3; i++) refill(q.in[i], 0.45 + 0.2 * call + 0.1 * i);
        ad_replay_report r;
        expect_same(&q.p, what, call, &r);
        cr_expect_eq(r.kind, AD_REPLAY_REPLAYED, "%s, call %d: %s", what, call, r.reason);
        cr_expect_eq(r.block > 0, blocked, "%s: block %lld (%s)", what, (long long)r.block, r.reason);
    }
    ad_scope_end(ctx, s, NULL);
}

/* ---- replayed == reverse ------------------------------------------------------- */

Test(replay_mv, mlp_matches_reverse_at_every_size)
{
    const int64_t n[] = {1, 3, 7, 64, 100, 1000, 2048};
    for (int k = 0; k < 7; k++) three_calls(F_MLP, n[k], n[k], false, n[k] >= AD_REPLAY_SMALL);
}

Test(replay_mv, non_square_matrices_match_reverse)
{
    const int64_t mn[][2] = {{5, 9}, {9, 5}, {300, 70}, {70, 300}, {50, 2000}, {1001, 3}};
    for (int k = 0; k < 6; k++) three_calls(F_MLP, mn[k][0], mn[k][1], false, mn[k][0] >= AD_REPLAY_SMALL);
}

Test(replay_mv, a_differentiated_too_matches_reverse)
{
    const int64_t mn[][2] = {{3, 4}, {40, 41}, {333, 129}, {2048, 64}, {100, 3000}};
    for (int k = 0; k < 5; k++) three_calls(F_MLP, mn[k][0], mn[k][1], true, mn[k][0] >= AD_REPLAY_SMALL);
}

Test(replay_mv, a_mean_and_a_bias_in_the_chain_match_reverse)
{
    three_calls(F_MEAN_BIAS, 6, 5, false, false);
    three_calls(F_MEAN_BIAS, 777, 31, true, true);
}

/* ---- what the blocked plan refuses ----------------------------------------------- */

/* x read beside the mv, or A x made twice: op by op while small, with the
 * reason the blocked plan gives; above 2048 elements, reverse. */
Test(replay_mv, refused_heads_run_op_by_op_or_as_reverse)
{
    const char *why[] = {"also read by another op", "more than one mv"};
    for (int c = 0; c < 2; c++) {
        int fcase = c == 0 ? F_X_TWICE : F_TWO_MV;
        three_calls(fcase, 30, c == 0 ? 30 : 20, c == 1, false);
        ad_scope s = ad_scope_begin(ctx);
        mv_problem q;
        make(&q, fcase, c == 0 ? 2100 : 3000, c == 0 ? 2100 : 10, false);
        ad_replay_report r;
        for (int call = 0; call < 2; call++) {
            refill(q.in[0], 0.2 + 0.3 * call);
            expect_same(&q.p, "refused, large", call, &r);
        }
        cr_expect_eq(r.kind, AD_REPLAY_PLAIN);
        cr_expect(strstr(r.reason, why[c]), "%s", r.reason);
        ad_scope_end(ctx, s, NULL);
    }
}

/* mv of a transposed view is not replayed: the view is not contiguous. */
static ad_tensor *f_mv_of_view(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_sum(ad_tanh(ad_mv(ad_T(in[1]), in[0])), AD_ALL, false);
}

Test(replay_mv, mv_of_a_transposed_view_runs_as_reverse)
{
    ad_tensor *in[2] = {ad_empty(ctx, AD_SHAPE(6)), ad_empty(ctx, AD_SHAPE(6, 4))};
    refill(in[0], 0.2);
    refill(in[1], 0.4);
    bool wrt[2] = {true, false};
    ad_problem p = {.ctx = ctx, .f = f_mv_of_view, .nin = 2, .in = in, .wrt = wrt};
    ad_replay_report r;
    expect_same(&p, "ad_T(A)", 0, &r);
    cr_expect_eq(r.kind, AD_REPLAY_PLAIN);
    cr_expect(strstr(r.reason, "not contiguous"), "%s", r.reason);
}

/* ---- refused allocations never give a wrong value ---------------------------------- */

static void refused_allocations(int64_t m, int64_t n)
{
    int64_t total = 1 + n + m * n;
    double *want = malloc((size_t)total * sizeof *want), *got = malloc((size_t)total * sizeof *got);
    cr_assert(want && got);
    bool done = false;
    for (int64_t k = 1; !done && k < 3000; k++) {
        th_alloc h = TH_ALLOC_INIT;
        ad_ctx_options o = {.seed = 1, .alloc = th_alloc_hook, .alloc_ud = &h, .no_recycling = true};
        ad_ctx *c = ad_ctx_new_with(&o), *saved = ctx;
        cr_assert(c);
        ctx = c;
        mv_problem q;
        make(&q, F_MLP, m, n, true);
        th_value_and_grads(rev(), &q.p, want);
        int ok = 0;
        th_alloc_arm(&h, k);
        for (int call = 0; call < 3; call++) { /* record, then replay twice */
            ad_scope s = ad_scope_begin(c);
            ad_tensor *y = NULL, *g[3] = {NULL};
            int rc = ad_value_and_grad(rep(), &q.p, NULL, &y, g, NULL, NULL);
            if (rc == AD_OK) {
                ok++;
                got[0] = ad_item(y);
                ad_to_array(g[0], got + 1, n);
                ad_to_array(g[1], got + 1 + n, m * n);
                cr_expect(memcmp(got, want, (size_t)total * sizeof *got) == 0, "k = %lld, call %d: another answer",
                          (long long)k, call);
            } else {
                cr_expect_eq(rc, AD_ENOMEM, "k = %lld: status %d (%s)", (long long)k, rc, ad_errmsg(c));
                ad_clear_error(c);
            }
            ad_scope_end(c, s, NULL);
        }
        th_alloc_arm(&h, 0);
        done = ok == 3 && h.failed == 0;
        for (int i = 0; i < 3; i++) ad_tensor_free(q.in[i]);
        ctx = saved;
        ad_ctx_free(c);
        cr_expect_eq(h.bytes, 0, "k = %lld: %lld bytes leaked", (long long)k, (long long)h.bytes);
    }
    cr_expect(done, "the calls never all succeeded");
    free(want);
    free(got);
}

Test(replay_mv, refused_allocations_fail_or_are_right) { refused_allocations(5, 4); }
Test(replay_mv, refused_allocations_fail_or_are_right_blocked) { refused_allocations(300, 7); }

/* ---- the kernels' facts (ops/mv_rows.h) ----------------------------------------------- */

static double *filled(int64_t n, double offset)
{
    double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    cr_assert(v);
    for (int64_t i = 0; i < n; i++) v[i] = sin(1.7 * (double)i + offset) + 0.1 * cos(0.3 * (double)i);
    return v;
}

/* A x over runs of rows starting at multiples of 4 == the whole product. */
Test(replay_mv, blas_rows_in_runs_equal_the_whole_product)
{
    const int64_t ms[] = {1, 3, 7, 13, 64, 100, 257, 1000, 2048, 2049}, ns[] = {1, 2, 5, 64, 1000, 2047, 2048};
    const int64_t runs[] = {4, 8, 32, 124};
    for (int a = 0; a < 10; a++)
        for (int b = 0; b < 7; b++) {
            int64_t m = ms[a], n = ns[b];
            double *A = filled(m * n, 0.1), *x = filled(n, 0.2), *y = filled(m, 0), *z = filled(m, 0);
            cr_assert(ad_mv_strided(m, n, A, n, 1, x, 1, y));
            for (int r = 0; r < 4; r++) {
                for (int64_t r0 = 0; r0 < m; r0 += runs[r])
                    ad_mv_strided(m - r0 < runs[r] ? m - r0 : runs[r], n, A + r0 * n, n, 1, x, 1, z + r0);
                cr_expect(memcmp(y, z, (size_t)m * sizeof *y) == 0, "A [%lld, %lld], runs of %lld rows", (long long)m,
                          (long long)n, (long long)runs[r]);
            }
            free(A), free(x), free(y), free(z);
        }
}

/* Aᵀw: runs of rows in order == all rows at once, and within a few
 * roundings of the BLAS's product (the order reverse had before). */
Test(replay_mv, row_kernel_is_partition_free_and_near_the_blas)
{
    const int64_t mn[][2] = {{2048, 2048}, {3001, 7}, {5, 3000}, {100, 100}};
    for (int c = 0; c < 4; c++) {
        int64_t m = mn[c][0], n = mn[c][1];
        double *A = filled(m * n, 0.4), *w = filled(m, 0.9), *whole = calloc((size_t)n, sizeof(double)),
               *runs = calloc((size_t)n, sizeof(double)), *blas = filled(n, 0);
        cr_assert(whole && runs);
        ad_mv_rows_axpy(m, n, A, n, w, 1, whole);
        for (int64_t r0 = 0, run = 1; r0 < m; r0 += run, run = run * 2 + 1)
            ad_mv_rows_axpy(m - r0 < run ? m - r0 : run, n, A + r0 * n, n, w + r0, 1, runs);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)n, 1.0, A, (int)n, w, 1, 0.0, blas, 1);
        double worst = 0;
        for (int64_t j = 0; j < n; j++) {
            double scale = 0;
            for (int64_t i = 0; i < m; i++) scale += fabs(A[i * n + j] * w[i]);
            double err = fabs(whole[j] - blas[j]) / scale;
            worst = err > worst ? err : worst;
        }
        cr_expect(memcmp(whole, runs, (size_t)n * sizeof *runs) == 0, "[%lld, %lld]: runs differ", (long long)m,
                  (long long)n);
        cr_expect_leq(worst, 8 * 2.3e-16 * log2((double)m + 1), "[%lld, %lld]: %.3g of Σ|a w| from the BLAS",
                      (long long)m, (long long)n, worst);
        free(A), free(w), free(whole), free(runs), free(blas);
    }
}

/* The mlp's forward-mode and reverse-mode gradients still agree. */
Test(replay_mv, forward_and_reverse_gradients_agree)
{
    mv_problem q;
    make(&q, F_MLP, 300, 257, false);
    double *a = th_answer_room(&q.p), *b = th_answer_room(&q.p);
    int64_t na = th_value_and_grads(rev(), &q.p, a), nb = th_value_and_grads(ad_backend_find("forward"), &q.p, b);
    cr_assert_eq(na, nb);
    for (int64_t i = 0; i < na; i++)
        cr_expect(fabs(a[i] - b[i]) <= 1e-13 * (1 + fabs(b[i])), "entry %lld: %.17g, forward %.17g", (long long)i,
                  a[i], b[i]);
    free(a);
    free(b);
}

/* Aᵀw on two threads (columns split between them) == on one: the bits of
 * reverse's mv gradient do not depend on the thread setting. */
Test(replay_mv, row_kernel_on_two_threads_equals_one)
{
    int64_t m = 300, n = 1000; /* 3e5 elements: above AD_PARALLEL_MIN, so split where OpenMP is built */
    double *A = filled(m * n, 0.6), *w = filled(m, 0.2), *one = calloc((size_t)n, sizeof(double)),
           *two = calloc((size_t)n, sizeof(double));
    cr_assert(one && two);
    ad_mv_rows_axpy(m, n, A, n, w, 1, one);
    cr_assert_eq(ad_set_num_threads(2), AD_OK);
    ad_mv_rows_axpy(m, n, A, n, w, 1, two);
    ad_set_num_threads(1);
    cr_expect(memcmp(one, two, (size_t)n * sizeof *one) == 0, "two threads gave other bits");
    free(A), free(w), free(one), free(two);
}
