/* modes/gradcheck_locate.c — which entry broke the identity?
 *
 * <v, J_b u> - <v, J_t u> = Σ_{o,j} v_o (J_b - J_t)_{oj} u_j.  When a
 * suspect backend b and a trusted side t (a built-in AD backend, or the
 * reference along u for a black box) disagree, the same identity on u
 * restricted to half of the coordinates tells which half holds the
 * difference; halving again names the coordinate j in log2(n) steps, and
 * halving v's elements with u = u_j e_j names the output o.  Each step
 * costs a JVP or VJP on each side (or a reference tableau).  The named
 * entry goes into the report's rows like any mismatch, so a slip caught
 * only by the identity (1e-7 in one element of a hand-written gradient,
 * far below rtol) is reported with its backend and index. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "gradcheck_impl.h"

/* A block of the flat coordinates [lo, hi) over the differentiated inputs,
 * or of f's elements. */
typedef struct block {
    int64_t lo, hi;
} block;

/* u with every coordinate outside blk zeroed (flat over differentiated inputs). */
static int mask_inputs(gc_run *g, ad_tensor *const *u, block blk, ad_tensor **out)
{
    int64_t base = 0;
    for (int i = 0; i < g->p->nin; i++) {
        out[i] = NULL;
        if (!u[i]) continue;
        ad_tensor *c = ad_contiguous(ad_clone(u[i]));
        if (!c) return g->ctx->err;
        for (int64_t j = 0; j < c->numel; j++)
            if (base + j < blk.lo || base + j >= blk.hi) c->data[j] = 0;
        base += c->numel;
        out[i] = c;
    }
    return AD_OK;
}

static ad_tensor *mask_output(gc_run *g, ad_tensor *v, block blk)
{
    ad_tensor *c = ad_contiguous(ad_clone(v));
    if (!c) return NULL;
    (void)g;
    for (int64_t o = 0; o < c->numel; o++)
        if (o < blk.lo || o >= blk.hi) c->data[o] = 0;
    return c;
}

/* <v, J u> by a backend (its own primitive), or by the reference along u
 * (b NULL), with the sum of magnitudes and the reference's bound. */
static int side_value(gc_run *g, const ad_backend *b, ad_tensor *const *u, ad_tensor *v, double *val, double *mag,
                      double *bound)
{
    *val = *mag = *bound = 0;
    if (b) return b->vjp ? gc_vjp_dot(g, b, u, v, val, mag, NULL) : gc_jvp_dot(g, b, u, v, val, mag, NULL);
    return gc_ref_dot(g, u, v, val, mag, bound);
}

/* The difference of the two sides on blocks (bu, bv), and how many
 * tolerances it is. */
static int block_gap(gc_run *g, const ad_backend *b, const ad_backend *t, ad_tensor *const *u, ad_tensor *v,
                     block bu, block bv, double *gap, double *sb, double *st, double *tol)
{
    ad_tensor *um[AD_MAX_INPUTS], *vm;
    int rc = mask_inputs(g, u, bu, um);
    vm = rc == AD_OK ? mask_output(g, v, bv) : NULL;
    if (rc == AD_OK && !vm) rc = g->ctx->err;
    double mb, mt, eb, et;
    if (rc == AD_OK) rc = side_value(g, b, um, vm, sb, &mb, &eb);
    if (rc == AD_OK) rc = side_value(g, t, um, vm, st, &mt, &et);
    if (rc != AD_OK) return rc;
    *tol = gc_identity_tol(g, um, vm, mb, mt) + eb + et;
    *gap = fabs(*sb - *st) / (*tol > 0 ? *tol : DBL_MIN);
    return AD_OK;
}

/* Halves blocks of u (axis 0) or v (axis 1) while one half keeps a gap
 * above its tolerance; false in *found when neither half does. */
static int bisect(gc_run *g, const ad_backend *b, const ad_backend *t, ad_tensor *const *u, ad_tensor *v, block *bu,
                  block *bv, int axis, bool *found)
{
    block *cur = axis == 0 ? bu : bv;
    *found = true;
    while (cur->hi - cur->lo > 1) {
        int64_t mid = cur->lo + (cur->hi - cur->lo) / 2;
        block halves[2] = {{cur->lo, mid}, {mid, cur->hi}};
        double gap[2], sb, st, tol;
        for (int h = 0; h < 2; h++) {
            block eu = axis == 0 ? halves[h] : *bu, ev = axis == 1 ? halves[h] : *bv;
            int rc = block_gap(g, b, t, u, v, eu, ev, &gap[h], &sb, &st, &tol);
            if (rc != AD_OK) return rc;
        }
        int pick = gap[1] > gap[0];
        if (!(gap[pick] > 1)) {
            *found = false;
            return AD_OK;
        }
        *cur = halves[pick];
    }
    return AD_OK;
}

/* The flat coordinate k as (input, element). */
static void coordinate(const gc_run *g, int64_t k, int *input, int64_t *j)
{
    for (int i = 0; i < g->p->nin; i++) {
        if (!ad_wrt(g->p, i)) continue;
        if (k < g->p->in[i]->numel) {
            *input = i;
            *j = k;
            return;
        }
        k -= g->p->in[i]->numel;
    }
    *input = -1;
    *j = 0;
}

/* The named entry (bu, bv single): both sides' values of J[o, j]. */
static int record_leaf(gc_run *g, int bi, const ad_backend *t, ad_tensor *const *u, ad_tensor *v, block bu, block bv)
{
    double gap, sb, st, tol;
    int rc = block_gap(g, g->bk[bi], t, u, v, bu, bv, &gap, &sb, &st, &tol);
    if (rc != AD_OK || !(gap > 1)) return rc;
    int input;
    int64_t j, idx[AD_MAX_DIMS];
    coordinate(g, bu.lo, &input, &j);
    if (input < 0) return AD_OK;
    double w = u[input]->data[j] * v->data[bv.lo]; /* u_j·v_o: never 0 (gc_uniform) */
    gc_cmp c = {.backend = g->r->backends[bi].name, .line = &g->r->backends[bi], .input = input, .index = idx};
    c.ndim = gc_jac_index(g, input, bv.lo, j, idx);
    c.a = sb / w;
    c.n = st / w;
    gc_record_mismatch(g, &c, tol / fabs(w));
    g->r->consistency_located = true;
    return AD_OK;
}

int gc_locate(gc_run *g, int bi, const ad_backend *trusted, ad_tensor *const *u, ad_tensor *v)
{
    ad_ctx *ctx = g->ctx;
    ad_scope s = ad_scope_begin(ctx);
    block bu = {0, ad_problem_size(g->p)}, bv = {0, g->m};
    bool found;
    int rc = bisect(g, g->bk[bi], trusted, u, v, &bu, &bv, 0, &found);
    if (rc == AD_OK && found) rc = bisect(g, g->bk[bi], trusted, u, v, &bu, &bv, 1, &found);
    if (rc == AD_OK && found) rc = record_leaf(g, bi, trusted, u, v, bu, bv);
    if (rc != AD_OK && rc != AD_ENOMEM) { /* a side that cannot run on a block: the identity's failure stands */
        ad_clear_error(ctx);
        rc = AD_OK;
    }
    ad_scope_end(ctx, s, NULL);
    return rc;
}

double gc_identity_tol(const gc_run *g, ad_tensor *const *u, const ad_tensor *v, double lm, double rm)
{
    /* the derivative of f along coordinate j carries about noise/scale_j
     * of f's measured noise; along u, Σ_j |u_j|/scale_j of it */
    double reach = 0;
    for (int i = 0; i < g->p->nin; i++) {
        if (!u[i] || !ad_wrt(g->p, i)) continue;
        for (int64_t j = 0; j < u[i]->numel; j++) reach += fabs(u[i]->data[j]) / gc_scale(g, i, j);
    }
    return 16 * DBL_EPSILON * (lm + rm) + 4 * gc_noise_dot(g, v) * reach + DBL_MIN;
}

int gc_ref_dot(gc_run *g, ad_tensor *const *u, const ad_tensor *v, double *val, double *mag, double *bound)
{
    double reach = 0, *D = malloc((size_t)g->m * 2 * sizeof *D);
    if (!D) return ad_error(g->ctx, AD_ENOMEM, "gradcheck: out of memory");
    for (int i = 0; i < g->p->nin; i++) {
        if (!u[i] || !ad_wrt(g->p, i)) continue;
        for (int64_t j = 0; j < u[i]->numel; j++) reach = fmax(reach, fabs(u[i]->data[j]) / gc_scale(g, i, j));
    }
    gc_dir d = {.V = u};
    unsigned flags;
    int rc = gc_ref_deriv(g, &d, g->o.h > 0 ? g->o.h : 0.1 / (reach > 0 ? reach : 1), D, D + g->m, &flags);
    *val = *mag = *bound = 0;
    for (int64_t o = 0; rc == AD_OK && o < g->m; o++) {
        *val += v->data[o] * D[o];
        *mag += fabs(v->data[o] * D[o]);
        *bound += fabs(v->data[o]) * D[g->m + o];
    }
    free(D);
    return rc;
}
