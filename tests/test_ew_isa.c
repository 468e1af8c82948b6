/* tests/test_ew_isa.c — the contiguous elementwise loops compiled per
 * instruction set (src/ops/ew_isa.h) give the same bits under every ISA
 * this CPU runs:
 *   - every loop (ew.def's binary kernels, fuse.c's and unary.c's
 *     arithmetic) in each layout, on lengths 0..67 at misaligned starts,
 *     against the baseline copy and against the expression evaluated
 *     here one element at a time (special values included: NaN, ±0, ±inf);
 *   - the ops and the fused rules through the public API, each ISA forced
 *     in turn, against the baseline's results;
 *   - the choice: the default is simd.c's, a CPU's missing ISA is refused. */
#include <string.h>

#include "helpers.h"
#include "ops/ew_isa.h"

/* The reference below must not contract a*b+c into an FMA either (clang
 * >= 14 does by default; gcc's -std=c11 does not and would warn about the
 * pragma). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

static ad_simd_isa saved;
static void setup(void)
{
    th_setup();
    saved = ad_ew_isa_current();
}
static void teardown(void)
{
    ad_ew_isa_use(saved);
    th_teardown();
}
TestSuite(ew_isa, .init = setup, .fini = teardown);

/* ---- the loops, against the expression one element at a time ----------- */

static inline double ew_max(double u, double v) { return (u > v || u != u) ? u : v; }
static inline double ew_min(double u, double v) { return (u < v || u != u) ? u : v; }

#define AD_EW(name, EXPR) \
    static double ref_##name(double u, double v, double c) { (void)c; (void)u; (void)v; return (EXPR); }
#define AD_EWX(name, EXPR) AD_EW(name, EXPR)
#include "ops/ew.def"
AD_EW_ISA_EXTRA(AD_EWX)
#undef AD_EW
#undef AD_EWX

typedef double (*ref_fn)(double u, double v, double c);
#define AD_EW(name, EXPR) [AD_EWI_##name] = ref_##name,
#define AD_EWX(name, EXPR) AD_EW(name, EXPR)
static const ref_fn refs[AD_EWI_COUNT] = {
#include "ops/ew.def"
    AD_EW_ISA_EXTRA(AD_EWX)
};
#undef AD_EW
#undef AD_EWX

#define MAXN 67
#define PAD 8

/* High-entropy values with the specials every 7th and 11th element. */
static void fill(double *x, int n, double seed)
{
    static const double special[] = {NAN, 0.0, -0.0, INFINITY, -INFINITY, 1.0, -2.5, 1e-310};
    for (int i = 0; i < n; i++) x[i] = 2.385 * sin(seed + 1.37 * i) + 0.3 * cos(seed * (double)i);
    for (int i = 3; i < n; i += 7) x[i] = special[(i / 7) % 8];
    for (int i = 5; i < n; i += 11) x[i] = -x[i - 1];
}

static const char *const layout_names[AD_EWL_COUNT] = {"vv", "vs", "sv"};

/* The same bits, or both NaN: when two NaNs of different signs meet in a
 * commutative operation, which one the CPU propagates depends on the
 * operand order the compiler picked (x86 returns the first), and neither
 * IEEE 754 nor C gives a NaN's sign or payload a meaning. */
static bool same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); }

/* One loop of table `tab` at length n, starts a+oa, b+ob, y+oy. */
static void check_loop(const ad_ew_isa_tab *tab, const char *isa, int kind, int l, int n, int oa, int ob, int oy)
{
    double a[MAXN + PAD], b[MAXN + PAD], y[MAXN + PAD], want[MAXN];
    fill(a, MAXN + PAD, 0.7 + kind);
    fill(b, MAXN + PAD, 1.9 + l);
    const double c = -1.375;
    for (int i = 0; i < MAXN + PAD; i++) y[i] = 12345.0;
    const double *pa = a + oa, *pb = b + ob;
    for (int i = 0; i < n; i++)
        want[i] = refs[kind](l == AD_EWL_SV ? pa[0] : pa[i], l == AD_EWL_VS ? pb[0] : pb[i], c);
    (*tab)[kind][l](n, y + oy, pa, pb, c);
    for (int i = 0; i < n; i++)
        cr_assert(same_bits(y[oy + i], want[i]), "%s loop %d (%s), n = %d, offsets %d/%d/%d: element %d is %.17g, want %.17g",
                  isa, kind, layout_names[l], n, oa, ob, oy, i, y[oy + i], want[i]);
    for (int i = 0; i < MAXN + PAD; i++)
        if (i < oy || i >= oy + n) cr_assert(y[i] == 12345.0, "%s loop %d (%s): wrote outside y at %d", isa, kind, layout_names[l], i);
}

static const ad_ew_isa_tab *table_of(ad_simd_isa isa)
{
    return isa == AD_SIMD_AVX512 ? &ad_ew_isa_avx512 : isa == AD_SIMD_AVX2 ? &ad_ew_isa_avx2 : &ad_ew_isa_base;
}

Test(ew_isa, every_loop_of_every_isa_equals_the_expression_bit_for_bit)
{
    int isas = 0;
    for (int isa = AD_SIMD_SSE2; isa < AD_SIMD_ISA_COUNT; isa++) {
        if (ad_ew_isa_use((ad_simd_isa)isa) != 0) continue; /* not on this CPU */
        isas++;
        for (int kind = 0; kind < AD_EWI_COUNT; kind++)
            for (int l = 0; l < AD_EWL_COUNT; l++)
                for (int n = 0; n <= MAXN; n++)
                    for (int off = 0; off < 4; off++)
                        check_loop(table_of((ad_simd_isa)isa), ad_simd_isa_name((ad_simd_isa)isa), kind, l, n,
                                   off, (off + 1) % 4, (3 * off) % 4);
    }
    cr_assert(isas >= 1);
}

Test(ew_isa, in_place_loops)
{
    for (int isa = AD_SIMD_SSE2; isa < AD_SIMD_ISA_COUNT; isa++) {
        if (ad_ew_isa_use((ad_simd_isa)isa) != 0) continue;
        for (int kind = 0; kind < AD_EWI_COUNT; kind++) {
            double a[MAXN], b[MAXN], want[MAXN];
            fill(a, MAXN, 0.2 + kind);
            fill(b, MAXN, 4.1);
            for (int i = 0; i < MAXN; i++) want[i] = refs[kind](a[i], b[i], 0.5);
            (*table_of((ad_simd_isa)isa))[kind][AD_EWL_VV](MAXN, a, a, b, 0.5); /* y = a */
            for (int i = 0; i < MAXN; i++)
                cr_assert(same_bits(a[i], want[i]), "%s loop %d in place: element %d", ad_simd_isa_name((ad_simd_isa)isa), kind, i);
        }
    }
}

/* ---- the choice ------------------------------------------------------------ */

Test(ew_isa, default_is_simd_choice_and_missing_isas_are_refused)
{
    ad_simd_isa best = ad_simd_best();
    cr_expect_eq(saved, best == AD_SIMD_LIBM ? AD_SIMD_SSE2 : best, "in use %s, simd.c chose %s",
                 ad_simd_isa_name(saved), ad_simd_isa_name(best));
    for (int isa = AD_SIMD_AVX2; isa < AD_SIMD_ISA_COUNT; isa++) {
        bool cpu = isa == AD_SIMD_AVX512 ? __builtin_cpu_supports("avx512f") : __builtin_cpu_supports("avx2");
        bool built = ((*table_of((ad_simd_isa)isa))[AD_EWI_add][AD_EWL_VV]) != NULL;
        cr_expect_eq(ad_ew_isa_use((ad_simd_isa)isa) == 0, cpu && built, "%s: cpu %d, built %d",
                     ad_simd_isa_name((ad_simd_isa)isa), cpu, built);
    }
    cr_expect_eq(ad_ew_isa_use(AD_SIMD_ISA_COUNT), -1);
    cr_expect_eq(ad_ew_isa_use((ad_simd_isa)-1), -1);
}

/* ---- the ops and fused rules through the API, each ISA forced ------------- */

/* Every op whose kernel runs these loops, on x (and y), and the gradient
 * of sum(w·op(x)) where it has a fused rule: results concatenated. */
static ad_tensor *ops_of(ad_tensor *x, ad_tensor *y)
{
    ad_tensor *r[] = {
        ad_add(x, y), ad_sub(x, y), ad_mul(x, y), ad_div(x, y), ad_pow(x, y), ad_maximum(x, y), ad_minimum(x, y),
        ad_atan2(x, y), ad_hypot(x, y), ad_eq(x, y), ad_ne(x, y), ad_lt(x, y), ad_le(x, y), ad_gt(x, y),
        ad_ge(x, y), ad_rsub_s(1.5, x), ad_rdiv_s(1.5, x), ad_rpow_s(1.5, x), ad_add_s(x, 0.25),
        ad_mul_s(x, -3.0), ad_div_s(x, 7.0), ad_neg(x), ad_relu(x), ad_abs(x), ad_sqrt(x), ad_square(x),
        ad_sign(x),
    };
    return ad_concat(r, (int)(sizeof r / sizeof r[0]), 0);
}

/* d/dx sum(w · op(x)) for the ops with fused or ISA-run rules. */
static ad_tensor *grads_of(ad_tensor *x0, ad_tensor *w)
{
    ad_tensor *x = ad_detach(x0);
    ad_requires_grad_(x, true);
    ad_tensor *f = ad_add(ad_add(ad_add(ad_sin(x), ad_cos(x)), ad_add(ad_square(x), ad_neg(x))),
                          ad_add(ad_add(ad_mul_s(x, 1.75), ad_exp(ad_mul_s(x, 0.1))),
                                 ad_add(ad_tanh(x), ad_add(ad_sigmoid(x), ad_relu(x)))));
    ad_tensor *g = NULL;
    cr_assert(ad_autograd_grad(ad_sum(ad_mul(f, w), AD_ALL, false), NULL, 1, &x, 0, &g) == AD_OK, "%s", ad_errmsg(ctx));
    return g;
}

/* The results of every op at length n starting at off, under `isa`. */
static ad_tensor *all_results(ad_simd_isa isa, ad_tensor *bx, ad_tensor *by, int n, int off)
{
    cr_assert(ad_ew_isa_use(isa) == 0);
    ad_tensor *x = ad_idx(bx, AD_S(off, off + n)), *y = ad_idx(by, AD_S(off, off + n));
    ad_tensor *r[2] = {ops_of(x, y), grads_of(x, y)};
    return ad_concat(r, 2, 0);
}

Test(ew_isa, ops_and_fused_rules_give_the_same_bits_under_every_isa)
{
    ad_tensor *bx = ad_empty(ctx, AD_SHAPE(MAXN + 4)), *by = ad_empty(ctx, AD_SHAPE(MAXN + 4));
    fill(ad_data(bx), MAXN + 4, 0.9);
    fill(ad_data(by), MAXN + 4, 2.2);
    for (int n = 0; n <= MAXN; n++)
        for (int off = 0; off < 4; off += 3) {
            ad_scope s = ad_scope_begin(ctx);
            ad_tensor *base = all_results(AD_SIMD_SSE2, bx, by, n, off);
            cr_assert(base, "%s", ad_errmsg(ctx));
            const double *bv = th_values(base);
            double want[4096];
            int64_t m = ad_numel(base);
            cr_assert(m <= 4096);
            memcpy(want, bv, sizeof(double) * (size_t)m);
            for (int isa = AD_SIMD_AVX2; isa < AD_SIMD_ISA_COUNT; isa++) {
                if (ad_ew_isa_use((ad_simd_isa)isa) != 0) continue;
                const double *got = th_values(all_results((ad_simd_isa)isa, bx, by, n, off));
                for (int64_t i = 0; i < m; i++)
                    cr_assert(same_bits(got[i], want[i]), "%s, n = %d, offset %d: element %lld is %.17g, baseline %.17g",
                              ad_simd_isa_name((ad_simd_isa)isa), n, off, (long long)i, got[i], want[i]);
            }
            ad_scope_end(ctx, s, NULL);
        }
    ad_tensor_free(bx);
    ad_tensor_free(by);
}

/* A 1-element op skips the loops (unary.c's and ew.c's kernels evaluate
 * the expression alone): each element of every op, computed on its own as
 * a 1-element tensor, equals that element of the op over the whole array,
 * specials included, under every ISA. */
Test(ew_isa, one_element_ops_equal_the_loops_bit_for_bit)
{
    enum { N = 40 };
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(N)), *y = ad_empty(ctx, AD_SHAPE(N));
    fill(ad_data(x), N, 0.4);
    fill(ad_data(y), N, 1.3);
    for (int isa = AD_SIMD_SSE2; isa < AD_SIMD_ISA_COUNT; isa++) {
        if (ad_ew_isa_use((ad_simd_isa)isa) != 0) continue;
        ad_scope s = ad_scope_begin(ctx);
        ad_tensor *whole = ops_of(x, y);
        cr_assert(whole, "%s", ad_errmsg(ctx));
        double w[4096]; /* th_values' buffer is reused by the next call */
        int64_t nops = ad_numel(whole) / N;
        cr_assert(ad_numel(whole) <= 4096);
        memcpy(w, th_values(whole), sizeof(double) * (size_t)ad_numel(whole));
        for (int i = 0; i < N; i++) {
            ad_tensor *one = ops_of(ad_idx(x, AD_S(i, i + 1)), ad_idx(y, AD_S(i, i + 1)));
            cr_assert(one && ad_numel(one) == nops, "%s", ad_errmsg(ctx));
            const double *o = th_values(one);
            for (int64_t k = 0; k < nops; k++)
                cr_assert(same_bits(o[k], w[k * N + i]), "%s: op %lld at element %d is %.17g alone, %.17g in the loop",
                          ad_simd_isa_name((ad_simd_isa)isa), (long long)k, i, o[k], w[k * N + i]);
        }
        ad_scope_end(ctx, s, NULL);
    }
    ad_tensor_free(x);
    ad_tensor_free(y);
}
