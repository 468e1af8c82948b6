/* src/ops/fuse.c — VJP rules in one pass, into the adjoint's own buffer
 * when nobody else holds it (see fuse.h for when the rules may).
 *
 * Why the results are bit-identical to the rules' op chains: each kernel
 * evaluates the chain's expression in the chain's order (u·(2v) is
 * mul(g, mul_s(x, 2)); -(u·sin v) is neg(mul(g, sin(x)))), and the
 * transcendental factor comes from the same SIMD function as the op's
 * kernel, whose result depends on the value alone, never on the block or
 * the layout (simd.h).  tests/test_fuse.c compares both paths bit for bit. */
#include "fuse.h"

#include "../iter.h"
#include "ew_isa.h"
#include "simd.h"

/* Elementwise z = EXPR(u, v) over one run; u from g (p[1]), v from x (p[2]);
 * z may be g itself (same element, read before written).  Unit-stride runs
 * take the loops of the ISA in use (ew_isa.h: ISA-independent bits), kind
 * KIND there; a g and x both broadcast (the sum's seed reaching mul_s or
 * neg, whose x is not read) are one value, written as a fill (it took the
 * strided scalar loop: 10 % of rosenbrock's gradient at n = 1e4); others
 * the strided loop. */
#define FUSE_RUN(name, KIND, EXPR)                                                     \
    static void k_##name(int64_t n, double *const *p, const int64_t *s, void *ud)      \
    {                                                                                  \
        const double c = *(const double *)ud;                                          \
        (void)c;                                                                       \
        double *z = p[0];                                                              \
        const double *a = p[1], *b = p[2];                                             \
        if (s[0] == 1 && s[1] == 1 && s[2] == 1) {                                     \
            ad_ew_isa_run(KIND, AD_EWL_VV, n, z, a, b, c);                             \
        } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) { /* g: a broadcast scalar */ \
            ad_ew_isa_run(KIND, AD_EWL_SV, n, z, a, b, c);                             \
        } else if (s[0] == 1 && s[1] == 0 && s[2] == 0) { /* one value: a fill */      \
            const double u = *a, v = *b;                                               \
            (void)v;                                                                   \
            const double k = (EXPR);                                                   \
            for (int64_t i = 0; i < n; i++) z[i] = k;                                  \
        } else {                                                                       \
            for (int64_t i = 0; i < n; i++) {                                          \
                double u = a[i * s[1]], v = b[i * s[2]];                               \
                (void)v;                                                               \
                z[i * s[0]] = (EXPR);                                                  \
            }                                                                          \
        }                                                                              \
    }

FUSE_RUN(neg, AD_EWI_fneg, -u)
FUSE_RUN(scale, AD_EWI_fscale, u * c)
FUSE_RUN(mul, AD_EWI_mul, u * v)
FUSE_RUN(mul2, AD_EWI_fmul2, u * (2.0 * v))

/* z = u·f(v) (sign -1: -(u·f(v))), f by the SIMD kernels a block at a time:
 * the block stays in L1, so the array is read and written once. */
#define FUSE_BLOCK 512
static void simd_mul(int64_t n, double *const *p, const int64_t *s, ad_simd_fn f, bool negate)
{
    double fv[FUSE_BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += FUSE_BLOCK) {
        int64_t m = n - i0 < FUSE_BLOCK ? n - i0 : FUSE_BLOCK;
        ad_simd_run(f, m, fv, 1, p[2] + i0 * s[2], s[2]);
        double *z = p[0] + i0 * s[0];
        const double *a = p[1] + i0 * s[1];
        if (s[0] == 1 && s[1] == 1)
            ad_ew_isa_run(negate ? AD_EWI_fnegmul : AD_EWI_mul, AD_EWL_VV, m, z, a, fv, 0);
        else if (negate)
            for (int64_t i = 0; i < m; i++) z[i * s[0]] = -(a[i * s[1]] * fv[i]);
        else
            for (int64_t i = 0; i < m; i++) z[i * s[0]] = a[i * s[1]] * fv[i];
    }
}
static void k_mul_cos(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    simd_mul(n, p, s, AD_SIMD_COS, false);
}
static void k_neg_mul_sin(int64_t n, double *const *p, const int64_t *s, void *ud)
{
    (void)ud;
    simd_mul(n, p, s, AD_SIMD_SIN, true);
}

static const ad_iter_fn kernels[AD_FUSE_COUNT] = {
    [AD_FUSE_NEG] = k_neg,         [AD_FUSE_SCALE] = k_scale,       [AD_FUSE_MUL] = k_mul,
    [AD_FUSE_MUL2] = k_mul2,       [AD_FUSE_MUL_COS] = k_mul_cos,   [AD_FUSE_NEG_MUL_SIN] = k_neg_mul_sin,
};

bool ad_fuse_exclusive(const ad_tensor *g)
{
    return g->refs == 1 && g->st->refs == 1 && !g->st->external && g->st->tape_refs == 0 &&
           (g->flags & AD_T_CONTIG) && !(g->flags & (AD_T_VIEW | AD_T_REQUIRES_GRAD | AD_T_RETAIN_GRAD)) &&
           !g->grad_fn && !g->grad && !g->tan_mask && g->scope_refs == 0;
}

bool ad_fuse_same_shape(const ad_tensor *a, const ad_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

bool ad_fuse_tangent_fits(const ad_tensor *t, const ad_tensor *x)
{
    if (t->ndim != x->ndim + 1) return false;
    for (int i = 0; i < x->ndim; i++)
        if (t->shape[i + 1] != x->shape[i]) return false;
    return true;
}

ad_tensor *ad_fuse_vjp(ad_fuse_kind kind, ad_tensor *g, ad_tensor *x, double s, bool reuse)
{
    AD_ARG(g);
    bool in_place = reuse && ad_fuse_exclusive(g);
    ad_tensor *z = in_place ? ad_tensor_ref(g) : ad_new_like(g);
    if (!z) return NULL;
    ad_tensor *ops[3] = {z, g, x ? x : g}; /* x unused by NEG and SCALE */
    if (z->numel > 0) {
        ad_iter it;
        ad_iter_init(&it, g->ndim, g->shape, 3, ops);
        ad_iter_run_par(&it, kernels[kind], &s); /* elementwise: bits as on one thread */
    }
    if (in_place) ad_bump_version(z);
    return z;
}
