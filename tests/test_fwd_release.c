/* tests/test_fwd_release.c — forward mode's early release of tangents
 * (src/fwd_release.c): results bit for bit those without release on the
 * whole suite, the tangent bytes it saves on a chain computed from the
 * shapes, a function that takes another path from pass to pass (the pass
 * is run again, the result stays right), nested drivers, and allocation
 * failures (AD_ENOMEM, never another value). */
#include <string.h>

#include "../bench/bench.h"
#include "helpers.h"

TestSuite(fwd_release, .init = th_setup, .fini = th_teardown);

static const ad_backend *fwd(void) { return ad_backend_with(AD_CAP_FORWARD); }
static const ad_backend *fwdvec(void) { return ad_backend_with(AD_CAP_FORWARD | AD_CAP_VECTOR); }

/* Same shape and the same bits in every element. */
static void expect_same_bits(ad_tensor *a, ad_tensor *b, const char *what)
{
    cr_assert(a && b, "%s: a result is missing", what);
    cr_assert_eq(ad_ndim(a), ad_ndim(b), "%s: ranks differ", what);
    int64_t n = ad_numel(a);
    cr_assert_eq(n, ad_numel(b), "%s: sizes differ", what);
    double *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    cr_assert_eq(ad_to_array(a, x, n), AD_OK);
    cr_assert_eq(ad_to_array(b, y, n), AD_OK);
    for (int64_t i = 0; i < n; i++)
        cr_expect(memcmp(&x[i], &y[i], sizeof x[i]) == 0, "%s: element %lld is %.17g with release, %.17g without",
                  what, (long long)i, x[i], y[i]);
    free(x);
    free(y);
}

/* The value and derivative of fn at `size` through b (a Jacobian for the
 * Jacobian functions), with release or without. */
static void derive(const ad_bench_fn *fn, const ad_backend *b, int width, bool release, ad_tensor **in, int nin,
                   bool *wrt, ad_tensor **value, ad_tensor **deriv, ad_stats *st)
{
    ad_problem p = {.ctx = ctx, .f = fn->f, .user = fn->user, .nin = nin, .in = in, .wrt = wrt};
    ad_options o = {.width = width, .no_tangent_release = !release};
    ad_tensor *g[AD_BENCH_MAX_INPUTS] = {0};
    int rc = fn->jacobian ? ad_jacobian(b, &p, &o, value, g, NULL, NULL, st)
                          : ad_value_and_grad(b, &p, &o, value, g, NULL, st);
    cr_assert_eq(rc, AD_OK, "%s through %s: %s", fn->name, b->name, ad_errmsg(ctx));
    int first = 0;
    while (!wrt[first]) first++;
    *deriv = g[first];
    for (int i = 0; i < nin; i++)
        if (i != first) ad_tensor_free(g[i]);
}

static int64_t small_size(const ad_bench_fn *fn)
{
    if (!strcmp(fn->name, "chain")) return 3; /* n = 1000, forward: 1000 passes */
    if (!strcmp(fn->name, "mlp")) return 24;
    return 40;
}

Test(fwd_release, suite_bit_identical, .timeout = 120,
     .description = "every suite function through forward and forward-vector: the same bits with and without release")
{
    const ad_backend *bs[2] = {fwd(), fwdvec()};
    int released_somewhere = 0;
    for (int f = 0; f < ad_bench_suite_count(); f++) {
        const ad_bench_fn *fn = ad_bench_suite_at(f);
        ad_tensor *in[AD_BENCH_MAX_INPUTS];
        bool wrt[AD_BENCH_MAX_INPUTS];
        int nin = fn->make_inputs(fn, ctx, small_size(fn), in, wrt);
        cr_assert_gt(nin, 0, "%s: %s", fn->name, ad_errmsg(ctx));
        for (int bi = 0; bi < 2; bi++)
            for (int width = 0; width <= 3; width += 3) {
                ad_tensor *v0, *d0, *v1, *d1, *v2, *d2;
                ad_stats st0, st1, st2;
                derive(fn, bs[bi], width, false, in, nin, wrt, &v0, &d0, &st0);
                derive(fn, bs[bi], width, true, in, nin, wrt, &v1, &d1, &st1); /* learns in its first pass */
                derive(fn, bs[bi], width, true, in, nin, wrt, &v2, &d2, &st2); /* releases from the first */
                char what[96];
                snprintf(what, sizeof what, "%s, %s, width %d", fn->name, bs[bi]->name, width);
                expect_same_bits(v1, v0, what);
                expect_same_bits(d1, d0, what);
                expect_same_bits(v2, v0, what);
                expect_same_bits(d2, d0, what);
                cr_expect_eq(st0.released, 0, "%s: released without release", what);
                cr_expect_eq(st1.reruns + st2.reruns, 0, "%s: a pass was run again", what);
                cr_expect_eq(st2.passes, st0.passes, "%s: passes", what);
                released_somewhere += st2.released > 0;
                ad_tensor *all[6] = {v0, d0, v1, d1, v2, d2};
                for (int i = 0; i < 6; i++) ad_tensor_free(all[i]);
            }
        for (int i = 0; i < nin; i++) ad_tensor_free(in[i]);
    }
    cr_expect_gt(released_somewhere, 0, "no tangent was ever released");
}

/* ---- bytes on a chain --------------------------------------------------------------- */

#define CHAIN_M 6

/* y = Σ sin^m(x), m = *(int *)u, with every intermediate kept by f's
 * scope until it returns: without release each holds its tangent to the
 * end. */
static ad_tensor *sin_chain(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    ad_tensor *t = in[0];
    for (int i = 0; i < *(const int *)u; i++) t = ad_sin(t);
    return ad_sum(t, AD_ALL, false);
}

static ad_stats chain_call(const ad_backend *b, int width, bool release, int64_t n, int m)
{
    ad_tensor *x = th_vals(AD_SHAPE(n), 0.3, 0.5);
    ad_problem p = {.ctx = ctx, .f = sin_chain, .user = &m, .nin = 1, .in = &x};
    ad_options o = {.width = width, .no_tangent_release = !release};
    ad_stats st;
    ad_tensor *g[1] = {0};
    for (int rep = 0; rep < 2; rep++) { /* the second call releases from its first pass */
        cr_assert_eq(ad_value_and_grad(b, &p, &o, NULL, g, NULL, &st), AD_OK, "%s", ad_errmsg(ctx));
        ad_tensor_free(g[0]);
    }
    ad_tensor_free(x);
    return st;
}

static int64_t chain_saved(const ad_backend *b, int k, int64_t n, int m)
{
    ad_stats off = chain_call(b, k, false, n, m), on = chain_call(b, k, true, n, m);
    return off.peak[AD_MEM_TANGENTS] - on.peak[AD_MEM_TANGENTS];
}

/* Without release every intermediate's [k, n] tangent is alive at the
 * end of f; with it only the one being read.  Where exactly each peak
 * falls depends on the rules' temporaries (sin's JVP, the sum's [k]
 * tangent), but one more link in the chain is one more tangent released:
 * the bytes saved grow by exactly 8·k·n per link, and at least m - 2
 * tangents are saved (the seed, the one read and the new one stay). */
Test(fwd_release, chain_peak_tangents, .description = "the tangent bytes saved on a chain, from the shapes")
{
    const int64_t n = 96;
    struct { const ad_backend *b; int k; } cases[] = {{fwd(), 1}, {fwdvec(), 4}, {fwdvec(), 96}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int k = cases[c].k;
        int64_t tangent = 8 * k * n;
        int64_t saved = chain_saved(cases[c].b, k, n, CHAIN_M), shorter = chain_saved(cases[c].b, k, n, CHAIN_M - 1);
        cr_expect_eq(saved - shorter, tangent, "width %d: one more link saved %lld bytes, expected one tangent of %lld",
                     k, (long long)(saved - shorter), (long long)tangent);
        cr_expect_geq(saved, (CHAIN_M - 2) * tangent, "width %d: %lld bytes saved, expected at least %d tangents of %lld",
                      k, (long long)saved, CHAIN_M - 2, (long long)tangent);
        /* every intermediate goes after its one reader (x's seed and the
         * result stay): m per pass */
        int m = CHAIN_M;
        ad_stats on = chain_call(cases[c].b, k, true, n, m);
        cr_expect_eq(on.released, CHAIN_M * on.passes, "width %d: %lld released", k, (long long)on.released);
        cr_expect_eq(on.reruns, 0);
    }
}

/* ---- a function that takes another path ------------------------------------------- */

typedef struct branchy {
    int calls;
    bool read_tangent; /* path B reads a's tangent with ad_get_tangent */
} branchy;

/* y = Σ 2 sin(x²) by two paths that give the same bits: A reads a = x²
 * last in sin(a); B reads it once more later (or reads its tangent), so a
 * pass on B after a trace of A reads a released tangent. */
static ad_tensor *branch_fn(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    branchy *s = u;
    bool b = (s->calls++ % 2) == 1;
    ad_tensor *a = ad_mul(in[0], in[0]);
    ad_tensor *sa = ad_sin(a);
    if (!b) return ad_sum(ad_mul_s(sa, 2.0), AD_ALL, false);
    if (s->read_tangent && !ad_get_tangent(a)) return NULL;
    return ad_sum(ad_add(sa, ad_sin(a)), AD_ALL, false);
}

static int handler_calls;
static void count_handler(const ad_ctx *c, int status, const char *msg)
{
    (void)c;
    (void)status;
    (void)msg;
    handler_calls++;
}

static void check_branch(bool read_tangent)
{
    const int64_t n = 12;
    ad_tensor *x = th_vals(AD_SHAPE(n), 0.2, 0.7);
    branchy s = {.read_tangent = read_tangent};
    ad_problem p = {.ctx = ctx, .f = branch_fn, .user = &s, .nin = 1, .in = &x};
    ad_options o = {.width = 2};
    ad_stats st;
    ad_tensor *g[1] = {0};
    handler_calls = 0;
    ad_error_handler prev = ad_set_error_handler(count_handler);
    int rc = ad_value_and_grad(fwdvec(), &p, &o, NULL, g, NULL, &st);
    ad_set_error_handler(prev);
    cr_assert_eq(rc, AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_gt(st.reruns, 0, "no pass was run again");
    cr_expect_eq(st.passes, n / 2 + st.reruns, "each rerun is a pass");
    cr_expect_eq(handler_calls, 0, "the user's handler saw the internal signal");
    /* d/dx Σ 2 sin(x²) = 4x cos(x²), and the same bits as without release */
    const double *xv = th_values(x);
    double want[12];
    for (int i = 0; i < n; i++) want[i] = 4 * xv[i] * cos(xv[i] * xv[i]);
    th_expect(g[0], AD_SHAPE(n), want, 1e-14, 1e-14);
    ad_tensor *g0[1] = {0};
    s.calls = 0;
    o.no_tangent_release = true;
    cr_assert_eq(ad_value_and_grad(fwdvec(), &p, &o, NULL, g0, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    expect_same_bits(g[0], g0[0], "branchy");
    cr_expect_eq(ad_errno(ctx), AD_OK, "the signal was left recorded");
    ad_tensor_free(g[0]);
    ad_tensor_free(g0[0]);
    ad_tensor_free(x);
}

Test(fwd_release, branch_reruns, .description = "another path in a later pass: the pass runs again, right gradient")
{
    check_branch(false);
}

Test(fwd_release, get_tangent_of_released, .description = "ad_get_tangent of a released tangent: the pass runs again")
{
    check_branch(true);
}

/* ---- nested ------------------------------------------------------------------------ */

typedef struct inner {
    const ad_backend *b;
    bool release;
} inner;

/* g(x) = Σ x ⊙ ∇h(x), h = Σ sin(x)·x² + exp(-x²), the inner gradient by
 * forward-vector (a driver inside f). */
static ad_tensor *h_fn(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0], *x2 = ad_mul(x, x);
    return ad_sum(ad_add(ad_mul(ad_sin(x), x2), ad_exp(ad_neg(x2))), AD_ALL, false);
}

static ad_tensor *g_fn(ad_ctx *c, ad_tensor *const *in, void *u)
{
    const inner *s = u;
    ad_problem p = {.ctx = c, .f = h_fn, .nin = 1, .in = in};
    ad_options o = {.width = 3, .no_tangent_release = !s->release};
    ad_tensor *g[1] = {0};
    if (ad_value_and_grad(s->b, &p, &o, NULL, g, NULL, NULL) != AD_OK) return NULL;
    return ad_sum(ad_mul(in[0], g[0]), AD_ALL, false);
}

static ad_tensor *nested_grad(const ad_backend *outer, bool release)
{
    ad_tensor *x = th_vals(AD_SHAPE(9), 0.1, 0.8);
    inner s = {.b = fwdvec(), .release = release};
    ad_problem p = {.ctx = ctx, .f = g_fn, .user = &s, .nin = 1, .in = &x};
    ad_options o = {.width = 4, .no_tangent_release = !release};
    ad_tensor *g[1] = {0};
    ad_stats st;
    for (int rep = 0; rep < 2; rep++) {
        ad_tensor_free(g[0]);
        cr_assert_eq(ad_value_and_grad(outer, &p, &o, NULL, g, NULL, &st), AD_OK, "%s", ad_errmsg(ctx));
        cr_expect_eq(st.reruns, 0);
    }
    ad_tensor_free(x);
    return g[0];
}

Test(fwd_release, nested_unchanged, .description = "forward inside reverse and inside forward: the same bits")
{
    const ad_backend *outers[2] = {ad_backend_with(AD_CAP_EXACT | AD_CAP_REVERSE), fwdvec()};
    for (int i = 0; i < 2; i++) {
        ad_tensor *on = nested_grad(outers[i], true), *off = nested_grad(outers[i], false);
        expect_same_bits(on, off, outers[i]->name);
        ad_tensor_free(on);
        ad_tensor_free(off);
    }
}

/* ---- allocation failures ----------------------------------------------------------- */

static int alloc_run(ad_ctx *c, const ad_backend *b, ad_tensor **out)
{
    ad_tensor *x = ad_from_array(c, AD_SHAPE(6), TH_V(0.3, -1.1, 2.385, 0.7, -0.4, 1.9));
    if (!x) return ad_errno(c);
    static int m = CHAIN_M;
    ad_problem p = {.ctx = c, .f = sin_chain, .user = &m, .nin = 1, .in = &x};
    ad_options o = {.width = 2};
    ad_tensor *g[1] = {0};
    int rc = ad_value_and_grad(b, &p, &o, NULL, g, NULL, NULL);
    ad_tensor_free(x);
    *out = g[0];
    return rc;
}

Test(fwd_release, allocation_failures, .timeout = 120,
     .description = "the N-th allocation failed, trace learned or not: AD_ENOMEM or the same bits")
{
    const ad_backend *bs[2] = {fwd(), fwdvec()};
    ad_tensor *ref[2];
    for (int bi = 0; bi < 2; bi++) cr_assert_eq(alloc_run(ctx, bs[bi], &ref[bi]), AD_OK, "%s", ad_errmsg(ctx));
    for (int bi = 0; bi < 2; bi++)
        for (int learned = 0; learned < 2; learned++) {
            int64_t wrong = 0, enomem = 0;
            for (int64_t n = 1;; n++) {
                th_alloc h = TH_ALLOC_INIT;
                ad_ctx_options co = {.alloc = th_alloc_hook, .alloc_ud = &h, .seed = 3, .no_recycling = true};
                ad_ctx *c = ad_ctx_new_with(&co);
                cr_assert_not_null(c);
                /* a warm context (its scope stack grown); without the
                 * trace when it must learn again (ad_ctx_trim drops it) */
                ad_tensor *g = NULL;
                cr_assert_eq(alloc_run(c, bs[bi], &g), AD_OK);
                ad_tensor_free(g);
                g = NULL;
                if (!learned) ad_ctx_trim(c);
                ad_mem_stats m0, m1;
                ad_ctx_mem_stats(c, &m0);
                th_alloc_arm(&h, n);
                int rc = alloc_run(c, bs[bi], &g);
                th_alloc_arm(&h, 0);
                bool fired = h.failed > 0;
                if (rc == AD_OK) {
                    cr_assert_not_null(g);
                    double a[6], r[6];
                    ad_to_array(g, a, 6);
                    ad_to_array(ref[bi], r, 6);
                    wrong += memcmp(a, r, sizeof a) != 0;
                } else {
                    enomem++;
                    cr_expect_eq(rc, AD_ENOMEM, "n = %lld: %s", (long long)n, ad_errmsg(c));
                }
                ad_tensor_free(g);
                ad_ctx_mem_stats(c, &m1);
                cr_expect_eq(m1.live_total, m0.live_total, "n = %lld: %lld bytes left live", (long long)n,
                             (long long)(m1.live_total - m0.live_total));
                ad_ctx_free(c);
                cr_expect_eq(h.bytes, 0, "n = %lld: bytes not given back", (long long)n);
                if (!fired) break;
            }
            cr_expect_eq(wrong, 0, "%s: %lld successes with another value", bs[bi]->name, (long long)wrong);
            cr_expect_gt(enomem, 0);
        }
    for (int bi = 0; bi < 2; bi++) ad_tensor_free(ref[bi]);
}
