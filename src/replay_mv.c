/* src/replay_mv.c — mv (y = A x) in reverse-replay: whitelisted by the
 * recorder, run op by op (replay.c) and as the head of a blocked program
 * (replay_block.c) whose elementwise chain starts from A x.
 *
 * Op by op the kernels are ad_mv's own (ops/mv_rows.h): the value through
 * ad_mv_strided with A's layout, x's share Aᵀȳ through it with ad_T(A)'s
 * layout, exactly the calls the VJP rule makes (ad_mv(ad_T(A), ȳ)); A's
 * share is ad_outer's ȳ_i·x_j.
 *
 * Blocked, A is read once: per run of rows [r0, r0 + c) (in L2), the
 * rows' values by the BLAS, the elementwise chain forward and backward on
 * them, then their shares: x̄ += Σ ȳ_i A_i by the row kernel while the rows
 * are still in cache, Ā's rows ȳ_i·x.  Two facts keep the bits: the row
 * kernel's sum is a property of each element taken row by row, so rows in
 * order a run at a time give the whole product's x̄; and the BLAS's y = A x
 * over runs starting at multiples of 4 rows equals the whole product
 * (measured on OpenBLAS 0.3.21 for 1-3001 rows; the self-check on the
 * first call guards any other BLAS). */
#include <string.h>

#include "ops/mv_rows.h"
#include "ops/op.h"
#include "trace.h"

/* Bytes of A one run of rows may take: in L2 (2 MiB a core here) with room
 * for the chain's buffers, so its second read does not go to L3.  Measured
 * at n = 2048 (interleaved, load ~1.2; reverse 3.0-3.3 ms): runs of 64 KiB
 * 2.4-2.6 ms (a BLAS call per 4 rows costs), 128 KiB 2.1-2.2, 256 KiB
 * 2.0-2.1, 512 KiB 2.0-2.35. */
#define MV_RUN_BYTES (256 * 1024)

const char *ad_rec_mv_bad(const ad_tensor *A, const ad_tensor *x)
{
    if (A->ndim != 2 || x->ndim != 1) return "mv of other than a matrix and a vector";
    if (!(A->flags & AD_T_CONTIG) || !(x->flags & AD_T_CONTIG)) return "mv of a non-contiguous matrix or vector";
    return NULL;
}

/* ---- op by op ------------------------------------------------------------ */

int64_t ad_replay_mv_scratch(const ad_prog *g)
{
    int64_t most = 0;
    for (int k = 0; k < g->nop; k++) {
        const ad_pop *p = &g->op[k];
        int64_t n = g->slot[p->in[1]].numel;
        if (p->op == AD_OP_mv && (p->need & 2u) && n > most) most = n;
    }
    return most;
}

bool ad_replay_mv_matrix(const ad_prog *g, int32_t s)
{
    for (int k = 0; k < g->nop; k++)
        if (g->op[k].op == AD_OP_mv && g->op[k].in[0] == s) return true;
    return false;
}

void ad_replay_mv_value(const ad_prog *g, const ad_pop *p, double *y, const double *A, const double *x)
{
    int64_t m = g->slot[p->out].numel, n = g->slot[p->in[1]].numel;
    ad_mv_strided(m, n, A, n, 1, x, 1, y); /* A [m, n] contiguous: strides (n, 1) */
}

void ad_replay_mv_share(const ad_prog *g, const ad_pop *p, int k, double *d, bool first, const double *gy,
                        const double *A, const double *x)
{
    int64_t m = g->slot[p->out].numel, n = g->slot[p->in[1]].numel;
    if (k == 0) { /* Ā = ȳ xᵀ, ad_outer's products */
        for (int64_t i = 0; i < m; i++) {
            double *di = d + i * n, gi = gy[i];
            if (first)
                for (int64_t j = 0; j < n; j++) di[j] = gi * x[j];
            else
                for (int64_t j = 0; j < n; j++) di[j] = di[j] + gi * x[j];
        }
        return;
    }
    /* x̄ = ad_mv(ad_T(A), ȳ): the [n, m] view with strides (1, n); a later
     * share is made whole in the scratch, then added, as the sweep adds */
    double *t = first ? d : g->arena + g->mv_tmp;
    ad_mv_strided(n, m, A, 1, n, gy, 1, t);
    if (!first)
        for (int64_t j = 0; j < n; j++) d[j] = d[j] + t[j];
}

/* ---- blocked: the mv head ------------------------------------------------ */

/* Whether slot s (or its root) is read by an op other than op k. */
static bool read_elsewhere(const ad_prog *g, int k, int32_t s)
{
    for (int j = 0; j < g->nop; j++)
        for (int i = 0; j != k && i < g->op[j].nin; i++)
            if (g->slot[g->op[j].in[i]].root == g->slot[s].root) return true;
    return false;
}

const char *ad_prog_block_mv_plan(ad_prog *g, int64_t m)
{
    g->mv = -1;
    int count = 0;
    for (int k = 0; k < g->nop; k++) count += g->op[k].op == AD_OP_mv;
    if (count > 1) return "more than one mv";
    for (int k = 0; k < g->nop; k++) {
        const ad_pop *p = &g->op[k];
        if (p->op != AD_OP_mv) continue;
        const ad_slot *A = &g->slot[p->in[0]], *x = &g->slot[p->in[1]];
        if (g->slot[p->out].numel != m) return "an mv whose result is not the sum's domain";
        if (A->kind == AD_SLOT_BUF || A->kind == AD_SLOT_VIEW || x->kind == AD_SLOT_BUF || x->kind == AD_SLOT_VIEW)
            return "an mv of a computed (or viewed) matrix or vector";
        if (x->numel < 2) return "an mv of a vector of fewer than 2 elements (its gradient is one dot product)";
        if (read_elsewhere(g, k, p->in[0]) || read_elsewhere(g, k, p->in[1]) || p->in[0] == p->in[1])
            return "an mv's matrix or vector is also read by another op";
        g->mv = k;
    }
    if (g->mv < 0) return NULL;
    int64_t n = g->slot[g->op[g->mv].in[1]].numel, rows = MV_RUN_BYTES / (n * (int64_t)sizeof(double));
    g->mv_rows = rows < 4 ? 4 : rows - rows % 4; /* runs start at multiples of 4 (mv_rows.h) */
    return NULL;
}

/* The matrix's and the vector's data (inputs or constants). */
static const double *data_of(const ad_prog *g, ad_tensor *const *x, int32_t s)
{
    const ad_slot *sl = &g->slot[s];
    return sl->kind == AD_SLOT_IN ? x[sl->input]->data : g->pool + sl->off;
}

void ad_block_mv_value(const ad_prog *g, ad_tensor *const *x, int64_t r0, int64_t c)
{
    const ad_pop *p = &g->op[g->mv];
    int64_t n = g->slot[p->in[1]].numel;
    const double *A = data_of(g, x, p->in[0]) + r0 * n;
    ad_mv_strided(c, n, A, n, 1, data_of(g, x, p->in[1]), 1, g->vp[p->out]);
}

void ad_block_mv_share(const ad_prog *g, ad_tensor *const *x, double *const *gr, int64_t r0, int64_t c)
{
    const ad_pop *p = &g->op[g->mv];
    const ad_slot *sa = &g->slot[p->in[0]], *sx = &g->slot[p->in[1]];
    int64_t n = sx->numel;
    const double *A = data_of(g, x, p->in[0]) + r0 * n, *xv = data_of(g, x, p->in[1]), *gy = g->ap[p->out];
    if ((p->need & 2u) && sx->kind == AD_SLOT_IN && gr[sx->input])
        ad_mv_rows_axpy(c, n, A, n, gy, 1, gr[sx->input]); /* zeroed before the first run */
    if ((p->need & 1u) && sa->kind == AD_SLOT_IN && gr[sa->input]) {
        double *d = gr[sa->input] + r0 * n;
        for (int64_t i = 0; i < c; i++)
            for (int64_t j = 0; j < n; j++) d[i * n + j] = gy[i] * xv[j];
    }
}
