/* src/ops/ew_isa_body.h — the loops of ew_isa.h, included once by each of
 * ew_isa.c, ew_isa_avx2.c and ew_isa_avx512.c, which define
 * EW_ISA_TABLE (the table's name) and are compiled with their ISA's
 * flags.  The loops are plain C: the compiler vectorises them for the
 * file's ISA, so the three copies compute the same expression and differ
 * in vector width alone (see ew_isa.h for why the bits agree). */
#include <math.h>

#include "ew_isa.h"

/* NaN wins, as in ew.c's strided loop */
static inline double ew_max(double u, double v) { return (u > v || u != u) ? u : v; }
static inline double ew_min(double u, double v) { return (u < v || u != u) ? u : v; }

/* Three loops per kernel, one per layout; c and v unused by most. */
#define EW_ISA_LOOPS(name, EXPR)                                                        \
    static void name##_vv(int64_t n, double *y, const double *a, const double *b, double c) \
    {                                                                                   \
        (void)c;                                                                        \
        for (int64_t i = 0; i < n; i++) {                                               \
            double u = a[i], v = b[i];                                        \
            (void)v;                                                                    \
            y[i] = (EXPR);                                                              \
        }                                                                               \
    }                                                                                   \
    static void name##_vs(int64_t n, double *y, const double *a, const double *b, double c) \
    {                                                                                   \
        (void)c;                                                                        \
        const double v = *b;                                                            \
        (void)v;                                                                        \
        for (int64_t i = 0; i < n; i++) {                                               \
            double u = a[i];                                                            \
            y[i] = (EXPR);                                                              \
        }                                                                               \
    }                                                                                   \
    static void name##_sv(int64_t n, double *y, const double *a, const double *b, double c) \
    {                                                                                   \
        (void)c;                                                                        \
        const double u = *a;                                                            \
        (void)u;                                                                        \
        for (int64_t i = 0; i < n; i++) {                                               \
            double v = b[i];                                                            \
            (void)v;                                                                    \
            y[i] = (EXPR);                                                              \
        }                                                                               \
    }

#define AD_EW(name, EXPR) EW_ISA_LOOPS(name, EXPR)
#define AD_EWX(name, EXPR) EW_ISA_LOOPS(name, EXPR)
#include "ew.def"
AD_EW_ISA_EXTRA(AD_EWX)
#undef AD_EW
#undef AD_EWX

#define AD_EW(name, EXPR) [AD_EWI_##name] = {name##_vv, name##_vs, name##_sv},
#define AD_EWX(name, EXPR) [AD_EWI_##name] = {name##_vv, name##_vs, name##_sv},
const ad_ew_isa_tab EW_ISA_TABLE = {
#include "ew.def"
    AD_EW_ISA_EXTRA(AD_EWX)
};
#undef AD_EW
#undef AD_EWX
