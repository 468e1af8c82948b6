/* tests/test_simd.c — the SIMD transcendental kernels (src/ops/simd.c):
 * on a dense sample of each function's useful range, every instruction set
 * this CPU runs stays within 1 ulp of the exact value (long double libm as
 * the reference) and of glibc's double result; special values (±0, ±inf,
 * NaN, subnormals, huge arguments of sin and cos) come out as libm's; the
 * result depends on the value alone, not on the layout or the position in
 * the array; and the ops use the kernels. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ops/simd.h"

TestSuite(simd, .init = th_setup, .fini = th_teardown);

#define NSAMPLE 100000

/* The exact value, to 64 bits (x87 long double). */
static long double reference(ad_simd_fn f, double x)
{
    long double v = x;
    switch (f) {
    case AD_SIMD_EXP: return expl(v);
    case AD_SIMD_LOG: return logl(v);
    case AD_SIMD_SIN: return sinl(v);
    case AD_SIMD_COS: return cosl(v);
    case AD_SIMD_TANH: return tanhl(v);
    case AD_SIMD_SIGMOID: return 1.0L / (1.0L + expl(-v));
    case AD_SIMD_LOG1P: return log1pl(v);
    case AD_SIMD_EXPM1: return expm1l(v);
    default: return NAN;
    }
}

/* glibc's double result (sigmoid: the formula of unary.c's scalar kernel). */
static double libm(ad_simd_fn f, double x)
{
    switch (f) {
    case AD_SIMD_EXP: return exp(x);
    case AD_SIMD_LOG: return log(x);
    case AD_SIMD_SIN: return sin(x);
    case AD_SIMD_COS: return cos(x);
    case AD_SIMD_TANH: return tanh(x);
    case AD_SIMD_SIGMOID: return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
    case AD_SIMD_LOG1P: return log1p(x);
    case AD_SIMD_EXPM1: return expm1(x);
    default: return NAN;
    }
}

/* The useful range [lo, hi] of each function, and the largest magnitude
 * of its log-spaced half (sin, cos: huge arguments). */
typedef struct {
    double lo, hi, big;
} range;
static range range_of(ad_simd_fn f)
{
    switch (f) {
    case AD_SIMD_EXP: return (range){-745.0, 709.7, 709.7};
    case AD_SIMD_LOG: return (range){0, 1e6, 1e308};
    case AD_SIMD_SIN:
    case AD_SIMD_COS: return (range){-1e4, 1e4, 1e300};
    case AD_SIMD_TANH: return (range){-25, 25, 1e300};
    case AD_SIMD_SIGMOID: return (range){-745, 745, 745};
    case AD_SIMD_LOG1P: return (range){-0.999999, 1e4, 1e308};
    case AD_SIMD_EXPM1: return (range){-40, 709.7, 709.7};
    default: return (range){0, 0, 0};
    }
}

/* Half uniform over [lo, hi], half ±10^u with u uniform (tiny to big),
 * folded into the domain; deterministic (a fixed LCG). */
static void sample(ad_simd_fn f, double *x, int n)
{
    range r = range_of(f);
    uint64_t s = 0x9e3779b97f4a7c15u + (uint64_t)f;
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        double u = (double)(s >> 11) / 9007199254740992.0; /* [0, 1) */
        if (i % 2 == 0) {
            x[i] = r.lo + (r.hi - r.lo) * u;
        } else {
            double m = pow(10, -310 + (log10(r.big) + 310) * u), sign = (i % 4 == 1) ? 1 : -1;
            x[i] = sign * m;
            if (f == AD_SIMD_LOG) x[i] = m;
            if (f == AD_SIMD_LOG1P && x[i] <= -1) x[i] = m;
        }
    }
}

/* |y - ref| in units of the last place of the double nearest ref (the
 * smallest subnormal's place below it); 0 when both are the same inf/NaN. */
static double ulps(double y, long double ref)
{
    double d = (double)ref;
    if (isnan(y) || isnan(d)) return isnan(y) && isnan(d) ? 0 : INFINITY;
    if (isinf(d) || isinf(y)) return y == d ? 0 : INFINITY;
    double a = fabs(d), ulp = nextafter(a, INFINITY) - a;
    if (ulp < DBL_TRUE_MIN) ulp = DBL_TRUE_MIN;
    return (double)(fabsl((long double)y - ref) / ulp);
}

/* Max errors over the sample: against the exact value and against libm. */
static void check_dense(ad_simd_fn f, double tol_exact, double tol_libm)
{
    double *x = malloc(NSAMPLE * sizeof *x), *y = malloc(NSAMPLE * sizeof *y);
    cr_assert(x && y);
    sample(f, x, NSAMPLE);
    for (int isa = AD_SIMD_SSE2; isa < AD_SIMD_ISA_COUNT; isa++) {
        if (ad_simd_run_isa((ad_simd_isa)isa, f, NSAMPLE, y, 1, x, 1) != 0) continue; /* not on this CPU */
        double worst = 0, worst_libm = 0, at = 0, at_libm = 0;
        for (int i = 0; i < NSAMPLE; i++) {
            double e = ulps(y[i], reference(f, x[i])), el = ulps(y[i], libm(f, x[i]));
            if (e > worst) worst = e, at = x[i];
            if (el > worst_libm) worst_libm = el, at_libm = x[i];
        }
        cr_expect(worst <= tol_exact, "%s (%s): %.3f ulp from the exact value at x = %.17g (bound %.2f)",
                  ad_simd_fn_name(f), ad_simd_isa_name((ad_simd_isa)isa), worst, at, tol_exact);
        cr_expect(worst_libm <= tol_libm, "%s (%s): %.3f ulp from libm at x = %.17g (bound %.2f)",
                  ad_simd_fn_name(f), ad_simd_isa_name((ad_simd_isa)isa), worst_libm, at_libm, tol_libm);
    }
    free(x);
    free(y);
}

/* SLEEF's u10 bound is 1.0 ulp of the exact value; the long double
 * reference adds 2^-11 ulp.  Two results within 1 ulp of the exact value
 * differ by at most 1 ulp when both are faithful (they bracket it). */
#define EXACT_TOL 1.001
Test(simd, exp_within_1ulp) { check_dense(AD_SIMD_EXP, EXACT_TOL, 1); }
Test(simd, log_within_1ulp) { check_dense(AD_SIMD_LOG, EXACT_TOL, 1); }
Test(simd, sin_within_1ulp) { check_dense(AD_SIMD_SIN, EXACT_TOL, 1); }
Test(simd, cos_within_1ulp) { check_dense(AD_SIMD_COS, EXACT_TOL, 1); }
/* glibc's tanh is itself up to 2 ulp from the exact value (its manual's
 * table of errors), SLEEF's within 1: they may differ by 2. */
Test(simd, tanh_within_1ulp) { check_dense(AD_SIMD_TANH, EXACT_TOL, 2); }
Test(simd, log1p_within_1ulp) { check_dense(AD_SIMD_LOG1P, EXACT_TOL, 1); }
Test(simd, expm1_within_1ulp) { check_dense(AD_SIMD_EXPM1, EXACT_TOL, 1); }
/* σ = 1/(1 + e) adds the roundings of 1 + e and of the division to exp's:
 * the same formula with libm's exp carries the same two roundings. */
Test(simd, sigmoid_within_2ulp) { check_dense(AD_SIMD_SIGMOID, 2, 2); }

/* ---- special values ------------------------------------------------------------ */

/* Results libm gives exactly (same bits, or both NaN) at the edges. */
Test(simd, special_values_as_libm)
{
    const double sp[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, DBL_TRUE_MIN, -DBL_TRUE_MIN, 1e-310, -3e-320,
                         DBL_MIN, -DBL_MIN, 1e300, -1e300, DBL_MAX, -DBL_MAX, 710, -746, 1e22, -1, 1};
    enum { NS = sizeof sp / sizeof sp[0] };
    double y[NS];
    for (int f = 0; f < AD_SIMD_FN_COUNT; f++)
        for (int isa = AD_SIMD_SSE2; isa < AD_SIMD_ISA_COUNT; isa++) {
            if (ad_simd_run_isa((ad_simd_isa)isa, (ad_simd_fn)f, NS, y, 1, sp, 1) != 0) continue;
            for (int i = 0; i < NS; i++) {
                double want = libm((ad_simd_fn)f, sp[i]);
                const char *fn = ad_simd_fn_name((ad_simd_fn)f), *is = ad_simd_isa_name((ad_simd_isa)isa);
                if (isnan(want)) {
                    cr_expect(isnan(y[i]), "%s (%s) of %g: %.17g, libm NaN", fn, is, sp[i], y[i]);
                } else if (want == 0 || isinf(want)) { /* zeros keep their sign */
                    cr_expect(y[i] == want && signbit(y[i]) == signbit(want), "%s (%s) of %g: %.17g, libm %.17g",
                              fn, is, sp[i], y[i], want);
                } else {
                    cr_expect(ulps(y[i], reference((ad_simd_fn)f, sp[i])) <= (f == AD_SIMD_SIGMOID ? 2 : EXACT_TOL),
                              "%s (%s) of %g: %.17g, libm %.17g", fn, is, sp[i], y[i], want);
                }
            }
        }
}

/* ---- layout ---------------------------------------------------------------------- */

/* Tails and strided data are packed into the bulk kernel's lanes: the same
 * value gives the same bits at any position, stride or length. */
Test(simd, result_depends_on_the_value_alone)
{
    enum { N = 203 };
    double x[N], y1[N], y2[N], xs[2 * N], ys[3 * N];
    for (int i = 0; i < N; i++) x[i] = 2.385 * sin(0.7 * i) + 0.01 * i;
    for (int i = 0; i < N; i++) xs[2 * i] = x[i];
    for (int f = 0; f < AD_SIMD_FN_COUNT; f++) {
        ad_simd_run((ad_simd_fn)f, N, y1, 1, x, 1);
        ad_simd_run((ad_simd_fn)f, N, ys, 3, xs, 2);
        for (int i = 0; i < N; i++) {
            ad_simd_run((ad_simd_fn)f, 1, &y2[i], 1, &x[i], 1); /* a tail of one */
            cr_expect(memcmp(&y1[i], &y2[i], sizeof(double)) == 0 && memcmp(&y1[i], &ys[3 * i], sizeof(double)) == 0,
                      "%s of %.17g: %.17g in the bulk, %.17g alone, %.17g strided", ad_simd_fn_name((ad_simd_fn)f),
                      x[i], y1[i], y2[i], ys[3 * i]);
        }
    }
}

/* In place (y == x) as the reductions use it. */
Test(simd, in_place)
{
    enum { N = 37 };
    double x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = 0.3 * i - 5;
    ad_simd_run(AD_SIMD_EXP, N, y, 1, x, 1);
    ad_simd_run(AD_SIMD_EXP, N, x, 1, x, 1);
    cr_expect(memcmp(x, y, sizeof x) == 0);
}

/* The best instruction set is the one ad_simd_run uses, and a set this
 * CPU cannot run is refused without touching the output. */
Test(simd, best_isa_runs)
{
    double x = 0.5, y = 7, z = 7;
    ad_simd_isa best = ad_simd_best();
    cr_assert_eq(ad_simd_run_isa(best, AD_SIMD_EXP, 1, &y, 1, &x, 1), 0);
    ad_simd_run(AD_SIMD_EXP, 1, &z, 1, &x, 1);
    cr_expect(memcmp(&y, &z, sizeof y) == 0, "best %s: %.17g, ad_simd_run %.17g", ad_simd_isa_name(best), y, z);
    cr_expect_eq(ad_simd_run_isa(AD_SIMD_ISA_COUNT, AD_SIMD_EXP, 1, &y, 1, &x, 1), -1);
    cr_expect_eq(ad_simd_run_isa(AD_SIMD_LIBM, AD_SIMD_FN_COUNT, 1, &y, 1, &x, 1), -1);
    cr_expect_eq(y, z);
}

/* The ops compute with the kernels, contiguous or not: ad_exp of a
 * transposed view equals ad_simd_run on the same values. */
Test(simd, ops_use_the_kernels)
{
    ad_tensor *x = ad_reshape(ad_arange(ctx, -3.7, 2.3, 0.5), AD_SHAPE(3, 4));
    ad_tensor *xt = ad_transpose(x, 0, 1);
    ad_tensor *(*ops[])(ad_tensor *) = {ad_exp, ad_sin, ad_cos, ad_tanh, ad_sigmoid, ad_expm1};
    const ad_simd_fn fns[] = {AD_SIMD_EXP, AD_SIMD_SIN, AD_SIMD_COS, AD_SIMD_TANH, AD_SIMD_SIGMOID, AD_SIMD_EXPM1};
    for (int k = 0; k < 6; k++) {
        double in[12], want[12];
        memcpy(in, th_values(ad_contiguous(xt)), sizeof in);
        ad_simd_run(fns[k], 12, want, 1, in, 1);
        const double *got = th_values(ops[k](xt));
        for (int i = 0; i < 12; i++)
            cr_expect(memcmp(&got[i], &want[i], sizeof(double)) == 0, "%s at %d: %.17g, kernel %.17g",
                      ad_simd_fn_name(fns[k]), i, got[i], want[i]);
    }
}
