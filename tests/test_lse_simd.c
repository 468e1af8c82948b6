/* tests/test_lse_simd.c — logsumexp's AVX-512 passes (src/ops/lse_avx512.c)
 * give the bits of the portable loops they stand for (lse_simd.h): the
 * exponentials and their block sum against ad_simd_run's exp and the
 * eight-lane sum written out here, the lane maxima against a one-chain
 * fold (ties of +0 and -0, NaN, -inf, every length mod 32), the scaling.
 * Skipped where the CPU has no AVX-512F (the kernels never run there). */
#include <math.h>
#include <string.h>

#include "helpers.h"
#include "ops/lse_simd.h"
#include "ops/simd.h"

TestSuite(lse_simd, .init = th_setup, .fini = th_teardown);

static void fill(double *x, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++) x[i] = scale * sin(0.731 * (double)i + 0.385) - 0.0127 * (double)(i % 17);
}

Test(lse_simd, expsum_bits, .description = "exp(x - a) and its block sum: the portable leaf's bits, n = 0..128")
{
    if (!ad_lse_avx512_ok()) cr_skip_test("no AVX-512F");
    double x[128], w[128], e[128];
    fill(x, 128, 30);
    x[5] = -INFINITY;
    x[77] = 700;
    for (int64_t n = 0; n <= 128; n++) {
        double a = 2.385;
        double t = ad_lse_avx512_expsum(x, n, a, w);
        for (int64_t i = 0; i < n; i++) e[i] = x[i] - a;
        ad_simd_run(AD_SIMD_EXP, n, e, 1, e, 1);
        double r[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) r[j] += e[i + j];
        double want = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) want += e[i];
        cr_assert(memcmp(&t, &want, sizeof t) == 0, "n = %lld: sum %.17g, want %.17g", (long long)n, t, want);
        cr_assert(n == 0 || memcmp(w, e, (size_t)n * sizeof *w) == 0, "n = %lld: the exponentials differ", (long long)n);
    }
}

/* Lane j's maximum over x[i], i mod 8 = j, as one chain of maxpd (v > l ? v : l). */
static void lanes_one_chain(const double *x, int64_t n8, double *l)
{
    for (int j = 0; j < 8; j++) l[j] = -INFINITY;
    for (int64_t i = 0; i < n8; i++)
        if (x[i] > l[i % 8]) l[i % 8] = x[i];
}

Test(lse_simd, max8_bits, .description = "lane maxima: one chain's bits, zeros of both signs, NaN, lengths mod 32")
{
    if (!ad_lse_avx512_ok()) cr_skip_test("no AVX-512F");
    enum { M = 400 };
    double x[M], got[8], want[8];
    for (int kind = 0; kind < 4; kind++) {
        fill(x, M, kind == 3 ? 1 : 5);
        if (kind >= 1) /* lane maxima of zero, -0 first in some lanes and +0 first in others */
            for (int64_t i = 0; i < M; i++) x[i] = -fabs(x[i]) - 1;
        if (kind == 1)
            for (int64_t i = 0; i < M; i += 3) x[i] = (i / 24) % 2 ? 0.0 : -0.0;
        if (kind == 2) x[37] = NAN;
        if (kind == 3) x[M - 8] = INFINITY;
        for (int64_t n8 = 0; n8 <= M; n8 += 8) {
            bool nan = ad_lse_avx512_max8(x, n8, got);
            lanes_one_chain(x, n8, want);
            cr_assert_eq(nan, kind == 2 && n8 > 37, "kind %d, n8 = %lld: NaN flag %d", kind, (long long)n8, nan);
            cr_assert(memcmp(got, want, sizeof got) == 0, "kind %d, n8 = %lld: lane maxima differ", kind,
                      (long long)n8);
        }
    }
}

Test(lse_simd, scale_bits, .description = "z = f·w, every length up to 40")
{
    if (!ad_lse_avx512_ok()) cr_skip_test("no AVX-512F");
    double w[40], z[40];
    fill(w, 40, 3);
    for (int64_t n = 0; n <= 40; n++) {
        ad_lse_avx512_scale(n, z, w, -0.37);
        for (int64_t i = 0; i < n; i++) cr_assert_eq(z[i], -0.37 * w[i]);
    }
}
