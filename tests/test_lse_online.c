/* tests/test_lse_online.c — logsumexp in one pass over x (src/ops/reduce.c,
 * lse_online): a contiguous group longer than a chunk (2048 elements) is
 * summed chunk by chunk, each shifted by its own max, the chunks joined by
 * rescaling.  Checked here: the value and the reverse gradient against a
 * long double reference on data whose max comes last (every join rescales),
 * first, in a one-element last chunk, at huge logits and over mixed
 * magnitudes, beside the two-pass form on the same data; ±inf and NaN in
 * the middle, a chunk of -inf; recorded and plain values the same bits; the
 * same bits on one and two threads; what the tape keeps; every allocation
 * refused in turn. */
#include <math.h>
#include <string.h>

#include "helpers.h"

TestSuite(lse_online, .init = th_setup, .fini = th_teardown);

#define EPS 2.220446049250313e-16

typedef enum { ASCENDING, DESCENDING, SPREAD, LOGITS_1000, MIXED, LAST_ONE } data_kind;
static const char *const KIND[] = {"ascending", "descending", "spread", "logits near 1000", "mixed", "max alone last"};

static void fill(double *x, int64_t n, data_kind k)
{
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / (double)n, w = 3.1 * sin(0.731 * (double)i + 0.385) - 0.0127 * (double)(i % 17);
        switch (k) {
        case ASCENDING: x[i] = -23.7 + 41.3 * t; break;
        case DESCENDING: x[i] = 17.6 - 41.3 * t; break;
        case SPREAD: x[i] = w; break;
        case LOGITS_1000: x[i] = 1000.0 + w; break;
        case MIXED: x[i] = 300.0 * sin(0.0173 * (double)i) + w; break;
        case LAST_ONE: x[i] = i == n - 1 ? 9.25 : w; break;
        }
    }
}

/* log Σ exp(x) in long double, shifted by the max. */
static long double lse_ref(const double *x, int64_t n, long double *sum)
{
    long double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int64_t i = 0; i < n; i++) s += expl((long double)x[i] - m);
    *sum = s;
    return m + logl(s);
}

/* x as row 0 and row 1 of a [2, n] tensor requiring grad: its rows are one
 * contiguous group each (the one-pass form), its transpose's columns the
 * same groups through the two-pass form. */
static ad_tensor *rows(const double *x, int64_t n)
{
    ad_tensor *t = ad_empty(ctx, AD_SHAPE(2, n));
    cr_assert_not_null(t);
    memcpy(ad_data(t), x, (size_t)n * sizeof *x);
    memcpy(ad_data(t) + n, x, (size_t)n * sizeof *x);
    ad_requires_grad_(t, true);
    return t;
}

static const int64_t SIZES[] = {2049, 5000, 20000};

Test(lse_online, value_within_a_few_eps, .description = "the value against long double, as close as the two-pass form's")
{
    static double x[20000];
    for (size_t si = 0; si < sizeof SIZES / sizeof *SIZES; si++)
        for (int k = ASCENDING; k <= LAST_ONE; k++) {
            int64_t n = SIZES[si];
            fill(x, n, (data_kind)k);
            long double sum, want = lse_ref(x, n, &sum);
            ad_tensor *t = rows(x, n);
            ad_tensor *one = ad_logsumexp(t, AD_AXES(1), false);
            ad_tensor *two = ad_logsumexp(ad_transpose(t, 0, 1), AD_AXES(0), false);
            cr_assert(one && two, "%s", ad_errmsg(ctx));
            double scale = fmax(fabs((double)want), 1.0);
            double e1 = (double)fabsl(ad_data(one)[0] - want) / scale / EPS;
            double e2 = (double)fabsl(ad_data(two)[0] - want) / scale / EPS;
            cr_assert_leq(e1, 2, "%s, n = %lld: one pass %g eps from long double (two passes: %g)", KIND[k],
                          (long long)n, e1, e2);
            cr_assert_leq(e1, e2 + 1, "%s, n = %lld: one pass %g eps, two passes %g", KIND[k], (long long)n, e1, e2);
        }
}

Test(lse_online, gradient_within_a_few_eps, .description = "(ȳ/S)·e^(a_c - M)·w against a long double softmax")
{
    static double x[20000];
    for (size_t si = 0; si < sizeof SIZES / sizeof *SIZES; si++)
        for (int k = ASCENDING; k <= LAST_ONE; k++) {
            int64_t n = SIZES[si];
            fill(x, n, (data_kind)k);
            long double sum, y = lse_ref(x, n, &sum);
            ad_tensor *t = rows(x, n);
            ad_tensor *l = ad_logsumexp(t, AD_AXES(1), false);
            cr_assert_eq(ad_backward(l, ad_from_array(ctx, AD_SHAPE(2), TH_V(1.0, -2.5)), 0), AD_OK, "%s",
                         ad_errmsg(ctx));
            const double *g = ad_data(ad_grad(t));
            double m = -INFINITY, worst = 0;
            for (int64_t i = 0; i < n; i++) m = fmax(m, x[i]);
            for (int64_t i = 0; i < n; i++) {
                long double p = expl((long double)x[i] - y);
                if (p < 1e-290L) continue; /* subnormal softmax: no relative accuracy to ask for */
                double e0 = (double)(fabsl(g[i] - p) / p), e1 = (double)(fabsl(g[n + i] + 2.5L * p) / (2.5L * p));
                /* in double, x - max alone rounds by |x - max|·eps/2 (the two-pass form's weight too) */
                worst = fmax(worst, fmax(e0, e1) / EPS - fabs(x[i] - m) / 2);
            }
            cr_assert_leq(worst, 6, "%s, n = %lld: gradient %g eps (beyond |x - max|/2) from long double", KIND[k],
                          (long long)n, worst);
        }
}

/* logsumexp of x (n elements) and its gradient for ȳ = 1, recorded; the
 * value also unrecorded, which must be the same bits. */
static double lse_and_grad(const double *x, int64_t n, double *g)
{
    ad_tensor *t = ad_from_array(ctx, AD_SHAPE(n), x);
    ad_requires_grad_(t, true);
    ad_tensor *y = ad_logsumexp(t, AD_ALL, false);
    bool was = ad_set_grad_enabled(ctx, false);
    ad_tensor *plain = ad_logsumexp(t, AD_ALL, false);
    ad_set_grad_enabled(ctx, was);
    cr_assert(y && plain, "%s", ad_errmsg(ctx));
    double v = ad_data(y)[0], p = ad_data(plain)[0];
    cr_assert(memcmp(&v, &p, sizeof v) == 0, "recorded %.17g, plain %.17g", v, p);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    memcpy(g, ad_data(ad_grad(t)), (size_t)n * sizeof *g);
    return v;
}

Test(lse_online, infinities_in_the_middle, .description = "+inf in a middle chunk: +inf, gradient NaN there and 0 elsewhere")
{
    enum { N = 6000 };
    static double x[N], g[N];
    fill(x, N, SPREAD);
    x[3001] = INFINITY;
    double y = lse_and_grad(x, N, g);
    cr_assert(isinf(y) && y > 0, "value %g", y);
    for (int64_t i = 0; i < N; i++)
        cr_assert(i == 3001 ? isnan(g[i]) : g[i] == 0, "gradient[%lld] = %g", (long long)i, g[i]);
}

Test(lse_online, minus_infinity_chunks, .description = "-inf alone, a whole chunk of -inf, the first chunk -inf: they add nothing")
{
    enum { N = 7000 };
    static double x[N], g[N];
    for (int layout = 0; layout < 3; layout++) {
        fill(x, N, ASCENDING);
        int64_t lo = layout == 0 ? 3001 : layout == 1 ? 2048 : 0, hi = layout == 0 ? 3002 : lo + 2048 + 5;
        for (int64_t i = lo; i < hi; i++) x[i] = -INFINITY;
        double y = lse_and_grad(x, N, g);
        long double sum, want = lse_ref(x, N, &sum);
        cr_assert_leq(fabsl(y - want) / fabsl(want) / EPS, 2, "layout %d: value %.17g, want %.17Lg", layout, y, want);
        for (int64_t i = 0; i < N; i++) {
            long double p = expl((long double)x[i] - want);
            if (i >= lo && i < hi) cr_assert_eq(g[i], 0, "layout %d: gradient[%lld] = %g at -inf", layout, (long long)i, g[i]);
            else if (p > 1e-290L) /* as gradient_within_a_few_eps: beyond what x - max's rounding gives */
                cr_assert_leq(fabsl(g[i] - p) / p / EPS - fabs(x[i] - x[N - 1]) / 2, 6,
                              "layout %d: gradient[%lld] %g, want %Lg", layout, (long long)i, g[i], p);
        }
    }
}

Test(lse_online, all_minus_infinity_and_nan, .description = "a group of -inf gives -inf and a zero gradient; a NaN in a late chunk gives NaN")
{
    enum { N = 4500 };
    static double x[N], g[N];
    for (int64_t i = 0; i < N; i++) x[i] = -INFINITY;
    double y = lse_and_grad(x, N, g);
    cr_assert(isinf(y) && y < 0, "value %g", y);
    for (int64_t i = 0; i < N; i++) cr_assert_eq(g[i], 0, "gradient[%lld] = %g", (long long)i, g[i]);
    fill(x, N, DESCENDING);
    x[4400] = NAN;
    x[17] = INFINITY; /* NaN wins over +inf, as in the two-pass form */
    y = lse_and_grad(x, N, g);
    cr_assert(isnan(y), "value %g", y);
}

Test(lse_online, recorded_equals_plain, .description = "recorded and plain values are the same bits over one-pass layouts")
{
    static const struct {
        ad_shape shape;
        ad_axes axes;
        bool keep;
    } L[] = {{AD_SHAPE(3, 5000), AD_AXES(1), false},
             {AD_SHAPE(2, 3, 1500), AD_AXES(1, 2), true},
             {AD_SHAPE(1, 4100, 1), AD_AXES(1), false},
             {AD_SHAPE(20000), AD_ALL, false}};
    for (size_t i = 0; i < sizeof L / sizeof *L; i++) {
        ad_tensor *x = ad_empty(ctx, L[i].shape);
        fill(ad_data(x), ad_numel(x), MIXED);
        ad_requires_grad_(x, true);
        ad_tensor *rec = ad_logsumexp(x, L[i].axes, L[i].keep);
        bool was = ad_set_grad_enabled(ctx, false);
        ad_tensor *plain = ad_logsumexp(x, L[i].axes, L[i].keep);
        ad_set_grad_enabled(ctx, was);
        cr_assert(rec && plain && ad_grad_fn_name(rec), "layout %zu: %s", i, ad_errmsg(ctx));
        cr_assert_eq(memcmp(ad_data(rec), ad_data(plain), (size_t)ad_numel(rec) * sizeof(double)), 0,
                     "layout %zu: the recorded value differs from the plain one", i);
    }
}

/* Value and gradient of logsumexp over the rows of x [rows, n/rows]. */
static void run_rows(int64_t n, int64_t nrows, double *y, double *g)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(nrows, n / nrows));
    fill(ad_data(x), n, MIXED);
    ad_requires_grad_(x, true);
    ad_tensor *l = ad_logsumexp(x, AD_AXES(1), false);
    cr_assert_not_null(l, "%s", ad_errmsg(ctx));
    memcpy(y, ad_data(l), (size_t)nrows * sizeof *y);
    cr_assert_eq(ad_backward(ad_sum_all(l), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    memcpy(g, ad_data(ad_grad(x)), (size_t)n * sizeof *g);
}

Test(lse_online, threads_same_bits, .description = "one and two threads give the same value and gradient bits")
{
    enum { N = 200000 };
    static double g1[N], g2[N];
    for (int64_t nrows = 1; nrows <= 4; nrows *= 4) {
        double y1[4], y2[4];
        run_rows(N, nrows, y1, g1);
        cr_assert_eq(ad_set_num_threads(2), AD_OK);
        run_rows(N, nrows, y2, g2);
        cr_assert_eq(ad_set_num_threads(1), AD_OK);
        cr_assert_eq(memcmp(y1, y2, (size_t)nrows * sizeof *y1), 0, "%lld rows: values differ", (long long)nrows);
        cr_assert_eq(memcmp(g1, g2, sizeof g1), 0, "%lld rows: gradients differ", (long long)nrows);
    }
}

static int64_t lse_saved_bytes;
static int find_lse(const ad_tape_entry *e, void *ud)
{
    (void)ud;
    if (strcmp(e->name, "LogsumexpBackward0") == 0) lse_saved_bytes = e->saved_bytes;
    return 0;
}

Test(lse_online, tape_keeps_the_shifts, .description = "the record saves x and [y | s | w | one shift a chunk]")
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(3, 5000));
    fill(ad_data(x), 15000, SPREAD);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_logsumexp(x, AD_AXES(1), false);
    cr_assert_not_null(y, "%s", ad_errmsg(ctx));
    lse_saved_bytes = -1;
    cr_assert_eq(ad_tape_visit(ctx, find_lse, NULL), AD_OK);
    int64_t want = (15000 + 2 * 3 + 15000 + 3 * 3) * (int64_t)sizeof(double); /* x, y, s, w, 3 chunks a row */
    cr_assert_eq(lse_saved_bytes, want, "saved %lld bytes, want %lld", (long long)lse_saved_bytes, (long long)want);
}

Test(lse_online, contiguous_view_with_an_offset, .description = "rows 1..3 of [4, 5000] (a view starting inside its storage): as a copy of them")
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(4, 5000));
    fill(ad_data(x), 20000, ASCENDING);
    ad_requires_grad_(x, true);
    ad_tensor *v = ad_idx(x, AD_S(1, 4)), *c = ad_detach(ad_contiguous(v));
    ad_requires_grad_(c, true);
    ad_tensor *yv = ad_logsumexp(v, AD_AXES(1), false), *yc = ad_logsumexp(c, AD_AXES(1), false);
    cr_assert(yv && yc, "%s", ad_errmsg(ctx));
    cr_assert_eq(memcmp(ad_data(yv), ad_data(yc), 3 * sizeof(double)), 0, "the view's value differs from the copy's");
    ad_tensor *seed = ad_from_array(ctx, AD_SHAPE(3), TH_V(0.37, -1.25, 2.1));
    cr_assert_eq(ad_backward(yv, seed, 0), AD_OK, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(yc, seed, 0), AD_OK, "%s", ad_errmsg(ctx));
    const double *gx = ad_data(ad_grad(x)), *gc = ad_data(ad_grad(c));
    for (int64_t i = 0; i < 5000; i++) cr_assert_eq(gx[i], 0, "row 0 got a gradient at %lld", (long long)i);
    cr_assert_eq(memcmp(gx + 5000, gc, 15000 * sizeof(double)), 0, "the view's gradient differs from the copy's");
}

/* logsumexp over the rows of x [2, 5000] and its gradient in c, under a
 * scope; values into out (2 + 10000).  The status of the first failure. */
static int rows_and_grad(ad_ctx *c, double *out)
{
    ad_scope sc = ad_scope_begin(c);
    ad_tensor *x = ad_empty(c, AD_SHAPE(2, 5000));
    int rc = AD_OK;
    if (x) {
        fill(ad_data(x), 10000, DESCENDING);
        ad_requires_grad_(x, true);
    }
    ad_tensor *y = x ? ad_logsumexp(x, AD_AXES(1), false) : NULL;
    ad_tensor *seed = ad_from_array(c, AD_SHAPE(2), TH_V(0.37, -1.25));
    if (!y || !seed || ad_backward(y, seed, 0) != AD_OK || !ad_grad(x)) rc = ad_errno(c);
    else {
        memcpy(out, ad_data(y), 2 * sizeof(double));
        memcpy(out + 2, ad_data(ad_grad(x)), 10000 * sizeof(double));
    }
    ad_scope_end(c, sc, NULL);
    return rc;
}

Test(lse_online, allocation_failures, .description = "the N-th allocation refused, for every N: AD_ENOMEM with a message and nothing left, or the same bits")
{
    static th_alloc h = TH_ALLOC_INIT;
    ad_ctx_options o = {.alloc = th_alloc_hook, .alloc_ud = &h, .no_recycling = true, .cache_limit = -1};
    ad_ctx *c = ad_ctx_new_with(&o);
    cr_assert_not_null(c);
    static double want[10002], got[10002];
    cr_assert_eq(rows_and_grad(c, want), AD_OK, "%s", ad_errmsg(c));
    ad_mem_stats before, after;
    ad_ctx_mem_stats(c, &before);
    int64_t n = 1;
    for (;; n++) {
        int64_t failed = h.failed;
        th_alloc_arm(&h, n);
        int rc = rows_and_grad(c, got);
        th_alloc_arm(&h, 0);
        if (h.failed == failed) break; /* the call no longer reaches the n-th allocation */
        ad_ctx_mem_stats(c, &after);
        cr_assert_eq(after.live_total, before.live_total, "n = %lld: %lld bytes left", (long long)n,
                     (long long)(after.live_total - before.live_total));
        cr_assert_eq(after.tensors, before.tensors, "n = %lld: tensors left", (long long)n);
        if (rc == AD_OK) cr_assert_eq(memcmp(got, want, sizeof got), 0, "n = %lld: success with other bits", (long long)n);
        else
            cr_assert(rc == AD_ENOMEM && strstr(ad_errmsg(c), "memory"), "n = %lld: status %d, %s", (long long)n, rc,
                      ad_errmsg(c));
        ad_clear_error(c);
    }
    cr_assert_gt(n, 10, "only %lld allocations reached", (long long)n);
    ad_ctx_free(c);
    cr_assert_eq(h.bytes, 0, "%lld bytes not given back", (long long)h.bytes);
}
