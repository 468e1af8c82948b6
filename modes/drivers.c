/* modes/drivers.c — gradients, JVPs, VJPs, Jacobians, HVPs and Hessians
 * built from the two primitives a backend may have (backend.h).
 *
 * Directions and cotangents are unit vectors of the flattened, concatenated
 * differentiated inputs (column j of J) or of the flattened output (row i).
 * Results are written into contiguous tensors created here, then reshaped
 * (as views) to the shapes PyTorch uses. */
#include <math.h>
#include <string.h>

#include "modes.h"

/* ---- shared pieces ---------------------------------------------------------------- */

/* Directions per primitive call.  A backend taking unit directions by
 * column (AD_CAP_UNIT: the difference rules) gets them all at once: its
 * set-up (a private copy of the inputs) is then paid once per driver call,
 * not once per direction, and its results [k, m] are no larger than the
 * Jacobian they fill. */
static int width_of(const ad_backend *b, const ad_options *o, int64_t n)
{
    if (o && o->chunk > 0) return (int)(o->chunk > 65536 ? 65536 : o->chunk);
    if (b->caps & AD_CAP_UNIT) return (int)(n < 1 ? 1 : n > 65536 ? 65536 : n);
    if ((b->caps & AD_CAP_VECTOR) && !(o && o->width > 0)) return ad_fwd_default_width(n);
    int w = b->preferred_width ? b->preferred_width(b, o) : 1;
    return w > 0 ? w : 1;
}

/* How many of the n columns (or rows) the block starting at j0 holds. */
static int block_at(int64_t n, int64_t j0, int64_t w) { return (int)(n - j0 < w ? n - j0 : w); }

/* Unit directions for flat columns [j0, j0 + k): V[i] is [k, in_i.shape]. */
static int unit_directions(const ad_problem *p, int64_t j0, int k, ad_tensor **V)
{
    int64_t off = 0;
    for (int i = 0; i < p->nin; i++) {
        V[i] = NULL;
        if (!ad_wrt(p, i)) continue;
        ad_tensor *in = p->in[i];
        V[i] = ad_tangent_zeros(p->ctx, k, ad_shape_of(in));
        if (!V[i]) return p->ctx->err;
        for (int r = 0; r < k; r++) {
            int64_t j = j0 + r - off;
            if (j >= 0 && j < in->numel) V[i]->data[(int64_t)r * in->numel + j] = 1.0;
        }
        off += in->numel;
    }
    return AD_OK;
}

/* The rule the directions' [k, in_i.shape] would enforce, checked without
 * building them (for backends taking columns by index): the same refusal
 * and the way out for every backend. */
static int derivative_shapes(const ad_problem *p, int k)
{
    ad_shape s;
    for (int i = 0; i < p->nin; i++)
        if (ad_wrt(p, i) && ad_tangent_shape(p->ctx, k, ad_shape_of(p->in[i]), &s) != AD_OK) return p->ctx->err;
    return AD_OK;
}

/* Where flat column j lives: input and element. */
static void locate(const ad_problem *p, int64_t j, int *input, int64_t *elem)
{
    for (int i = 0; i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        if (j < p->in[i]->numel) {
            *input = i;
            *elem = j;
            return;
        }
        j -= p->in[i]->numel;
    }
    *input = -1;
    *elem = 0;
}

/* The start every driver shares: the backend and the problem are checked,
 * *st is cleared and the context's counters are noted. */
static int start(const char *what, const ad_backend *b, const ad_problem *p, ad_stats *st, ad_snapshot *snap)
{
    if (!p || !p->ctx) return AD_EINVAL;
    if (!b) return ad_error(p->ctx, AD_EINVAL, "%s: no backend given", what);
    if (!b->jvp && !b->vjp) return ad_error(p->ctx, AD_EINVAL, "%s: backend \"%s\" has no primitive", what, b->name);
    int rc = ad_problem_check(p, what);
    if (rc == AD_OK) rc = ad_problem_fits_backend(p, b);
    if (rc == AD_OK) rc = ad_problem_nest_fits(p, b, what);
    if (rc != AD_OK) return rc;
    if (st) memset(st, 0, sizeof *st);
    ad_snapshot_begin(p->ctx, snap);
    return AD_OK;
}

/* A driver that stops after start() and before its scope: *st still gets
 * what was counted. */
static int stop(ad_ctx *ctx, const ad_snapshot *snap, ad_stats *st, int rc)
{
    ad_snapshot_end(ctx, snap, st);
    return rc;
}

/* The passes and sweeps of a driver called by another (its peaks and time
 * are inside the caller's own snapshot). */
static void add_counts(ad_stats *st, const ad_stats *inner)
{
    if (!st) return;
    st->passes += inner->passes;
    st->sweeps += inner->sweeps;
    st->reruns += inner->reruns;
    st->released += inner->released;
}

/* Row 0 of a [1, ...] result.  Nested, by an op, so that it keeps the
 * enclosing derivatives; plain, as a view that costs nothing. */
static ad_tensor *row0(ad_tensor *t, bool nested) { return nested ? ad_squeeze(t, 0) : ad_row(t, 0); }

static const char *shape_s(char *buf, const ad_tensor *t) { return ad_fmt_shape(buf, AD_SHAPEBUF, t->ndim, t->shape); }

static bool same_shape(const ad_tensor *a, const ad_tensor *b)
{
    return a->ndim == b->ndim && memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof(int64_t)) == 0;
}

/* A reference to t that no scope releases: the driver keeps the value
 * across the scopes of its blocks, and hands it back with rescope. */
static ad_tensor *unscoped_ref(ad_tensor *t)
{
    ad_tensor *r = ad_tensor_ref(t);
    ad_unscope(r);
    return r;
}

/* An unscoped reference handed back to the open (the driver's) scope. */
static ad_tensor *rescope(ad_tensor *t)
{
    if (!t) return NULL;
    ad_tensor *r = ad_tensor_ref(t);
    ad_decref(t);
    return r;
}

/* f(x) as an unscoped reference (nothing differentiated, or the value is
 * needed before the derivatives). */
static int value_unscoped(const ad_problem *p, ad_stats *st, ad_tensor **y)
{
    *y = ad_call_f(p, p->in, st);
    if (!*y) return p->ctx->err;
    ad_unscope(*y);
    return AD_OK;
}

/* Where a driver's results go: out[0] = value, out[1 + i] = &a[i] and
 * out[1 + nin + i] = &b[i] (NULL where the caller did not ask). */
static void out_slots(ad_tensor ***out, ad_tensor **value, ad_tensor **a, ad_tensor **b, int nin)
{
    out[0] = value;
    for (int i = 0; i < nin; i++) {
        out[1 + i] = a ? &a[i] : NULL;
        out[1 + nin + i] = b ? &b[i] : NULL;
    }
}

/* Copy kept tensors out of the driver's scope into the caller's pointers. */
static int finish(ad_ctx *ctx, ad_scope s, int rc, int n, ad_tensor **keep, ad_tensor ***out, const ad_snapshot *snap,
                  ad_stats *st)
{
    if (rc != AD_OK)
        for (int i = 0; i < n; i++) keep[i] = NULL;
    int rc2 = ad_scope_end_n(ctx, s, n, keep);
    if (rc == AD_OK) rc = rc2;
    for (int i = 0; i < n; i++)
        if (out[i]) *out[i] = keep[i];
        else if (keep[i]) ad_tensor_free(keep[i]);
    ad_snapshot_end(ctx, snap, st);
    return rc;
}

/* What a driver's caller wants besides the derivatives: the value (a
 * central difference never evaluates f(x) for itself) and the error
 * estimate (which costs evaluations of its own). */
typedef struct {
    bool value, error;
} wants;

/* One JVP call on unit directions: columns [j0, j0 + k) of J in e->jv.
 * The first call also gives the value (*y, kept unscoped) when it is
 * wanted; later ones reuse it.  Backends with AD_CAP_UNIT get the columns
 * by index, the others dense unit vectors. */
static int unit_jvp(const ad_backend *b, const ad_problem *p, const ad_options *o, int64_t j0, int k, wants w,
                    ad_tensor **y, ad_eval *e, ad_stats *st)
{
    ad_tensor *V[AD_MAX_INPUTS];
    bool by_index = b->caps & AD_CAP_UNIT;
    int rc = by_index ? derivative_shapes(p, k) : unit_directions(p, j0, k, V);
    /* an unwanted value is skipped only where the call spans every column
     * (by index): a backend called per direction that needs f(x) anyway
     * (one-sided rules) would otherwise evaluate it again per call */
    bool skip_value = *y != NULL || (!w.value && by_index);
    *e = (ad_eval){.no_value = skip_value, .y_in = *y, .no_error = !w.error, .unit_from = j0};
    if (rc == AD_OK) rc = b->jvp(b, p, k, by_index ? NULL : V, o, e, st);
    if (rc == AD_OK && !*y && e->y) *y = unscoped_ref(e->y);
    return rc;
}

/* ---- value and gradient ------------------------------------------------------------- */

/* y's shape is jv's without its first axis (y itself may not exist:
 * the caller did not want the value). */
static int not_scalar(ad_ctx *ctx, int ndim, const int64_t *shape)
{
    char buf[AD_SHAPEBUF];
    return ad_error(ctx, AD_ESHAPE,
                    "value_and_grad: f must return a single value, not a tensor of shape %s "
                    "(use ad_jacobian, or reduce it, e.g. with ad_sum)",
                    ad_fmt_shape(buf, sizeof buf, ndim, shape));
}

/* One VJP with cotangent 1: the whole gradient (keep[1 + i]) and its
 * error estimate (keep[1 + nin + i]) in one call. */
static int grad_by_vjp(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **y, ad_tensor **keep,
                       ad_stats *st)
{
    ad_tensor *G[AD_MAX_INPUTS], *GE[AD_MAX_INPUTS]; /* the first nin are used */
    memset(G, 0, (size_t)p->nin * sizeof *G);
    memset(GE, 0, (size_t)p->nin * sizeof *GE);
    ad_eval e = {.g = G, .g_err = GE};
    bool nested = ad_problem_nesting(p) != 0;
    int rc = b->vjp(b, p, 1, NULL, o, &e, st);
    *y = e.y;
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (G[i] && !(keep[1 + i] = row0(G[i], nested))) rc = p->ctx->err;
        if (GE[i] && !(keep[1 + p->nin + i] = ad_row(GE[i], 0))) rc = p->ctx->err;
    }
    return rc;
}

/* Columns [j0, j0 + k) of the gradient (one JVP of k unit directions)
 * into gflat, and their error estimates into eflat (*has_err: some came). */
static int grad_block(const ad_backend *b, const ad_problem *p, const ad_options *o, int64_t j0, int k, wants w,
                      ad_tensor **y, ad_tensor **gflat, ad_tensor **eflat, bool *has_err, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    ad_scope sj = ad_scope_begin(ctx);
    ad_eval e;
    int rc = unit_jvp(b, p, o, j0, k, w, y, &e, st);
    if (rc == AD_OK && e.jv->numel != k) rc = not_scalar(ctx, e.jv->ndim - 1, e.jv->shape + 1);
    /* jv may be a strided view (the tangent of y = Y[i, j] is a column of
     * Y's): read it through a contiguous copy, never its raw data */
    ad_tensor *jv = rc == AD_OK ? ad_contiguous(e.jv) : NULL;
    ad_tensor *je = rc == AD_OK && e.jv_err ? ad_contiguous(e.jv_err) : NULL;
    if (rc == AD_OK && (!jv || (e.jv_err && !je))) rc = ad_errno(ctx);
    for (int r = 0; rc == AD_OK && r < k; r++) {
        int in_i;
        int64_t el;
        locate(p, j0 + r, &in_i, &el);
        gflat[in_i]->data[el] = jv->data[r];
        if (je) {
            eflat[in_i]->data[el] = je->data[r];
            *has_err = true;
        }
    }
    ad_scope_end(ctx, sj, NULL);
    return rc;
}

/* Columns [0, n) of J by JVPs on blocks of unit directions, assembled by
 * ops (nested: the blocks carry the enclosing derivatives, which raw
 * writes would drop): *cols = [n, y.numel].  The value comes from the
 * first block. */
static int columns_by_ops(const ad_backend *b, const ad_problem *p, const ad_options *o, int64_t n, int w,
                          ad_tensor **y, ad_tensor **cols, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int64_t nb = (n + w - 1) / w;
    ad_tensor **blocks = ad_mem_alloc(ctx, (size_t)nb * sizeof *blocks, AD_MEM_META);
    if (!blocks) return ctx->err;
    wants want = {.value = true, .error = false};
    int rc = AD_OK;
    for (int64_t j = 0; rc == AD_OK && j < nb; j++) {
        int k = block_at(n, j * w, w);
        ad_eval e;
        rc = unit_jvp(b, p, o, j * w, k, want, y, &e, st);
        if (rc == AD_OK && !(blocks[j] = ad_reshape(e.jv, AD_SHAPE(k, -1)))) rc = ctx->err;
    }
    if (rc == AD_OK && !(*cols = ad_concat(blocks, (int)nb, 0))) rc = ctx->err;
    ad_mem_free(ctx, blocks, (size_t)nb * sizeof *blocks, AD_MEM_META);
    return rc;
}

/* Input i's share of flat columns [off, off + n_i) of a [m, n] matrix. */
static ad_tensor *input_columns(ad_tensor *J, int64_t off, int64_t ni)
{
    return ad_idx(J, AD_FULL, AD_S(off, off + ni));
}

/* The gradient of a nested call: the columns by ops, one slice per input
 * reshaped to it. */
static int grad_columns_nested(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **y,
                               ad_tensor **keep, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int64_t n = ad_problem_size(p);
    int w = width_of(b, o, n);
    if (st) st->width = w;
    ad_tensor *cols = NULL;
    int rc = n == 0 ? value_unscoped(p, st, y) : columns_by_ops(b, p, o, n, w, y, &cols, st);
    if (rc == AD_OK && cols && cols->shape[1] != 1) rc = not_scalar(ctx, (*y)->ndim, (*y)->shape);
    *y = rescope(*y);
    ad_tensor *row = rc == AD_OK && cols ? ad_T(cols) : NULL; /* [1, n] */
    int64_t off = 0;
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        ad_tensor *in = p->in[i];
        keep[1 + i] = n == 0 ? ad_deriv_zeros(ctx, ad_shape_of(in))
                             : ad_reshape(input_columns(row, off, in->numel), ad_shape_of(in));
        if (!keep[1 + i]) rc = ctx->err;
        off += in->numel;
    }
    return rc;
}

/* The gradient by JVPs on blocks of unit directions (width_of at a time);
 * the value comes from the first block, or from f alone when nothing is
 * differentiated. */
static int grad_by_columns(const ad_backend *b, const ad_problem *p, const ad_options *o, wants want, ad_tensor **y,
                           ad_tensor **keep, ad_stats *st)
{
    if (ad_problem_nesting(p)) return grad_columns_nested(b, p, o, y, keep, st);
    ad_ctx *ctx = p->ctx;
    int64_t n = ad_problem_size(p);
    int w = width_of(b, o, n), rc = AD_OK;
    if (st) st->width = w;
    ad_tensor *gflat[AD_MAX_INPUTS] = {0}, *eflat[AD_MAX_INPUTS] = {0};
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        gflat[i] = ad_deriv_zeros(ctx, ad_shape_of(p->in[i]));
        eflat[i] = ad_deriv_zeros(ctx, ad_shape_of(p->in[i]));
        if (!gflat[i] || !eflat[i]) rc = ctx->err;
    }
    bool has_err = false;
    if (rc == AD_OK && n == 0) rc = value_unscoped(p, st, y);
    for (int64_t j0 = 0; rc == AD_OK && j0 < n; j0 += w)
        rc = grad_block(b, p, o, j0, block_at(n, j0, w), want, y, gflat, eflat, &has_err, st);
    *y = rescope(*y);
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        keep[1 + i] = gflat[i];
        keep[1 + p->nin + i] = has_err ? eflat[i] : NULL;
    }
    return rc;
}

int ad_value_and_grad(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **value,
                      ad_tensor **grad, ad_tensor **grad_err, ad_stats *st)
{
    ad_snapshot snap;
    int rc = start("value_and_grad", b, p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    ad_scope s = ad_scope_begin(ctx);
    /* the first 1 + 2 nin are used: cleared alone (the whole arrays were
     * a tenth of a small gradient's driver overhead) */
    ad_tensor *keep[1 + 2 * AD_MAX_INPUTS];
    ad_tensor **out[1 + 2 * AD_MAX_INPUTS];
    memset(keep, 0, (size_t)(1 + 2 * p->nin) * sizeof *keep);
    out_slots(out, value, grad, grad_err, p->nin);
    ad_tensor *y = NULL;
    wants want = {.value = value != NULL, .error = grad_err != NULL};
    rc = b->vjp ? grad_by_vjp(b, p, o, &y, keep, st) : grad_by_columns(b, p, o, want, &y, keep, st);
    if (rc == AD_OK && y && y->numel != 1) rc = not_scalar(ctx, y->ndim, y->shape);
    keep[0] = y;
    return finish(ctx, s, rc, 1 + 2 * p->nin, keep, out, &snap, st);
}

/* ---- Jacobian -------------------------------------------------------------------------- */

/* Contiguous [m, n_i] blocks of zeros for the differentiated inputs (and
 * for their error estimates when Ef), unscoped: they outlive the blocks'
 * scopes. */
static int jac_blocks(const ad_problem *p, int64_t m, ad_tensor **Jf, ad_tensor **Ef)
{
    for (int i = 0; i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        Jf[i] = ad_deriv_zeros(p->ctx, AD_SHAPE(m, p->in[i]->numel));
        ad_unscope(Jf[i]);
        if (Ef) {
            Ef[i] = ad_deriv_zeros(p->ctx, AD_SHAPE(m, p->in[i]->numel));
            ad_unscope(Ef[i]);
        }
        if (!Jf[i] || (Ef && !Ef[i])) return p->ctx->err;
    }
    return AD_OK;
}

/* Rows r of e->jv (and e->jv_err) are columns j0 + r of J: scattered into
 * the blocks of the inputs they belong to. */
static int scatter_columns(const ad_problem *p, int64_t j0, int k, const ad_eval *e, ad_tensor **Jf, ad_tensor **Ef)
{
    for (int r = 0; r < k; r++) {
        int in_i;
        int64_t el;
        locate(p, j0 + r, &in_i, &el);
        int64_t ni = p->in[in_i]->numel;
        ad_tensor *col = ad_contiguous(ad_row(e->jv, r)); /* y->numel entries */
        ad_tensor *ecol = e->jv_err ? ad_contiguous(ad_row(e->jv_err, r)) : NULL;
        if (!col || (e->jv_err && !ecol)) return p->ctx->err; /* never a column left at zero */
        for (int64_t q = 0; q < col->numel; q++) {
            Jf[in_i]->data[q * ni + el] = col->data[q];
            if (ecol && Ef[in_i]) Ef[in_i]->data[q * ni + el] = ecol->data[q];
        }
    }
    return AD_OK;
}

/* J_i of a nested call as [m, n_i] slices of the columns assembled by ops
 * (unscoped, as jac_columns leaves them). */
static int jac_columns_nested(const ad_backend *b, const ad_problem *p, const ad_options *o, int64_t n, int w,
                              ad_tensor **y, ad_tensor **Jf, ad_stats *st)
{
    ad_tensor *cols = NULL;
    int rc = columns_by_ops(b, p, o, n, w, y, &cols, st);
    ad_tensor *JT = rc == AD_OK ? ad_T(cols) : NULL; /* [m, n] */
    if (rc == AD_OK && !JT) rc = p->ctx->err;
    int64_t off = 0;
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        if (!(Jf[i] = input_columns(JT, off, p->in[i]->numel))) rc = p->ctx->err;
        else ad_unscope(Jf[i]);
        off += p->in[i]->numel;
    }
    return rc;
}

/* J_i as contiguous [m, n_i] blocks, filled by columns: one JVP per block
 * of unit directions; the first one sizes the blocks. */
static int jac_columns(const ad_backend *b, const ad_problem *p, const ad_options *o, bool want_err, ad_tensor **y,
                       ad_tensor **Jf, ad_tensor **Ef, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int64_t n = ad_problem_size(p);
    int w = width_of(b, o, n);
    if (ad_problem_nesting(p)) return jac_columns_nested(b, p, o, n, w, y, Jf, st);
    wants want = {.value = true, .error = want_err}; /* y shapes the blocks and J */
    int rc = AD_OK;
    for (int64_t j0 = 0; rc == AD_OK && j0 < n; j0 += w) {
        int k = block_at(n, j0, w);
        bool first = *y == NULL;
        ad_scope sj = ad_scope_begin(ctx);
        ad_eval e;
        rc = unit_jvp(b, p, o, j0, k, want, y, &e, st);
        if (rc == AD_OK && first) rc = jac_blocks(p, (*y)->numel, Jf, e.jv_err ? Ef : NULL);
        if (rc == AD_OK) rc = scatter_columns(p, j0, k, &e, Jf, Ef);
        ad_scope_end(ctx, sj, NULL);
    }
    return rc;
}

/* By rows in one call when the caller did not need y beforehand: the
 * backend sweeps every unit cotangent itself (1 pass, m sweeps). */
static int jac_all_rows(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **y, ad_tensor **Jf,
                        ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    ad_tensor *G[AD_MAX_INPUTS] = {0};
    ad_eval e = {.g = G};
    int rc = b->vjp(b, p, 0, NULL, o, &e, st);
    if (rc != AD_OK) return rc;
    *y = unscoped_ref(e.y);
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!G[i]) continue;
        Jf[i] = ad_reshape(G[i], AD_SHAPE((*y)->numel, p->in[i]->numel));
        if (!Jf[i]) rc = ctx->err;
        else ad_unscope(Jf[i]);
    }
    return rc;
}

/* Rows [i0, i0 + k) of J by one VJP of k unit cotangents. */
static int row_block(const ad_backend *b, const ad_problem *p, const ad_options *o, const ad_tensor *y, int64_t i0,
                     int k, ad_tensor **Jf, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int64_t m = y->numel;
    ad_tensor *U = ad_tangent_zeros(ctx, k, ad_shape_of(y));
    if (!U) return ctx->err;
    for (int r = 0; r < k; r++) U->data[(int64_t)r * m + i0 + r] = 1.0;
    ad_tensor *G[AD_MAX_INPUTS] = {0};
    ad_eval e = {.g = G, .no_value = true};
    int rc = b->vjp(b, p, k, U, o, &e, st);
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!Jf[i] || !G[i]) continue;
        ad_tensor *g = ad_contiguous(G[i]);
        if (!g) return ctx->err;
        int64_t ni = p->in[i]->numel;
        memcpy(Jf[i]->data + i0 * ni, g->data, (size_t)(k * ni) * sizeof(double));
    }
    return rc;
}

/* By rows in chunks when y is known (the caller's chunk, or as many rows
 * as keep the identity block of cotangents under 2^24 entries). */
static int jac_rows(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor *y, ad_tensor **Jf,
                    ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int64_t m = y->numel;
    int rc = jac_blocks(p, m, Jf, NULL);
    int64_t chunk = (o && o->chunk > 0) ? o->chunk : (m > 0 ? ((int64_t)1 << 24) / m : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > m) chunk = m;
    for (int64_t i0 = 0; rc == AD_OK && i0 < m; i0 += chunk) {
        ad_scope si = ad_scope_begin(ctx);
        rc = row_block(b, p, o, y, i0, block_at(m, i0, chunk), Jf, st);
        ad_scope_end(ctx, si, NULL);
    }
    return rc;
}

/* J_i flat [m, n_i] -> y.shape + in_i.shape (a view). */
static ad_tensor *jac_shape(ad_tensor *Jf, const ad_tensor *y, const ad_tensor *in)
{
    ad_shape s = {.ndim = y->ndim + in->ndim};
    if (s.ndim > AD_MAX_DIMS) return ad_tensor_ref(Jf); /* too many axes: keep it flat */
    memcpy(s.dim, y->shape, (size_t)y->ndim * sizeof(int64_t));
    memcpy(s.dim + y->ndim, in->shape, (size_t)in->ndim * sizeof(int64_t));
    return ad_reshape(Jf, s);
}

/* "auto": forward mode by columns when n <= m, else reverse mode by rows;
 * the reason, with the passes both would need, goes into why. */
static const ad_backend *choose_by_shape(const ad_backend *fwd, const ad_options *o, int64_t n, int64_t m,
                                         char *why, size_t len)
{
    int w = width_of(fwd, o, n);
    int64_t fpasses = (n + w - 1) / w;
    if (n <= m) {
        snprintf(why, len,
                 "n = %lld input%s <= m = %lld outputs: %s mode fills J by columns in %lld pass%s "
                 "(reverse would need %lld sweeps)",
                 (long long)n, n == 1 ? "" : "s", (long long)m, fwd->name, (long long)fpasses,
                 fpasses == 1 ? "" : "es", (long long)m);
        return fwd;
    }
    snprintf(why, len,
             "m = %lld output%s < n = %lld inputs: reverse mode fills J by rows in 1 pass and %lld "
             "sweep%s (forward would need %lld passes)",
             (long long)m, m == 1 ? "" : "s", (long long)n, (long long)m, m == 1 ? "" : "s", (long long)fpasses);
    return ad_backend_with(AD_CAP_REVERSE);
}

/* f(x) without recording, before any derivative: its size decides
 * ("auto") or sizes the row chunks. */
static int value_unrecorded(const ad_problem *p, ad_stats *st, ad_tensor **y)
{
    bool prev = ad_set_grad_enabled(p->ctx, false);
    int rc = value_unscoped(p, st, y);
    ad_set_grad_enabled(p->ctx, prev);
    return rc;
}

/* The flat blocks by the backend's primitive: rows when it has only a VJP
 * (in chunks when y is known already), else columns, which give y again
 * (so a y evaluated first is dropped).  *y comes back unscoped. */
static int jac_fill(const ad_backend *b, const ad_problem *p, const ad_options *o, bool by_rows, bool want_err,
                    ad_tensor **y, ad_tensor **Jf, ad_tensor **Ef, ad_stats *st)
{
    /* rows in chunks need the cotangents [k, y.shape]: a y with
     * AD_MAX_DIMS axes has no room for k, but the backend can still sweep
     * every row itself (its rows are [k, in.shape]) */
    bool chunked = *y && (*y)->ndim < AD_MAX_DIMS && !ad_problem_nesting(p); /* rows written raw */
    if (by_rows && chunked) return jac_rows(b, p, o, *y, Jf, st);
    if (*y) {
        ad_decref(*y);
        *y = NULL;
    }
    if (by_rows) return jac_all_rows(b, p, o, y, Jf, st);
    int rc = ad_problem_size(p) > 0 ? jac_columns(b, p, o, want_err, y, Jf, Ef, st) : AD_OK;
    if (rc == AD_OK && !*y) {
        /* nothing to differentiate (every input empty or not wrt): J is
         * [m, 0] blocks of zeros, not missing */
        rc = value_unscoped(p, st, y);
        if (rc == AD_OK) rc = jac_blocks(p, (*y)->numel, Jf, NULL);
    }
    return rc;
}

/* The blocks in the shapes PyTorch uses (views) into keep; the flat ones
 * are released.  Returns rc, or the failure of a view. */
static int jac_keep(const ad_problem *p, int rc, const ad_tensor *y, ad_tensor **Jf, ad_tensor **Ef,
                    ad_tensor **keep)
{
    for (int i = 0; i < p->nin; i++) {
        if (rc == AD_OK && Jf[i] && !(keep[1 + i] = jac_shape(Jf[i], y, p->in[i]))) rc = p->ctx->err;
        if (rc == AD_OK && Ef[i] && !(keep[1 + p->nin + i] = jac_shape(Ef[i], y, p->in[i]))) rc = p->ctx->err;
        if (Jf[i]) ad_decref(Jf[i]);
        if (Ef[i]) ad_decref(Ef[i]);
    }
    return rc;
}

int ad_jacobian(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **value, ad_tensor **J,
                ad_tensor **J_err, ad_jacobian_info *info, ad_stats *st)
{
    bool automatic = b == NULL;
    /* automatic: forward mode (carrying several directions when a width is
     * given) or reverse mode, whichever the shapes favour */
    const ad_backend *fwd = ad_backend_with(AD_CAP_FORWARD | ((o && o->width > 1) ? AD_CAP_VECTOR : 0));
    ad_snapshot snap;
    int rc = start("jacobian", automatic ? fwd : b, p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *y = NULL;
    ad_jacobian_info inf = {.n = ad_problem_size(p), .m = -1};
    if (automatic || (b->vjp && !b->jvp && o && o->chunk > 0)) rc = value_unrecorded(p, st, &y);
    if (rc == AD_OK && automatic) b = choose_by_shape(fwd, o, inf.n, y->numel, inf.reason, sizeof inf.reason);
    else if (rc == AD_OK) snprintf(inf.reason, sizeof inf.reason, "backend \"%s\" chosen by the caller", b->name);
    inf.backend = b;
    inf.by_rows = b && b->vjp != NULL && !b->jvp;
    ad_tensor *Jf[AD_MAX_INPUTS] = {0}, *Ef[AD_MAX_INPUTS] = {0};
    if (rc == AD_OK) rc = jac_fill(b, p, o, inf.by_rows, J_err != NULL, &y, Jf, Ef, st);
    ad_tensor *keep[1 + 2 * AD_MAX_INPUTS] = {0};
    ad_tensor **out[1 + 2 * AD_MAX_INPUTS] = {0};
    out_slots(out, value, J, J_err, p->nin);
    rc = jac_keep(p, rc, y, Jf, Ef, keep);
    if (y) inf.m = y->numel;
    keep[0] = rescope(y);
    if (info) *info = inf;
    return finish(ctx, s, rc, 1 + 2 * p->nin, keep, out, &snap, st);
}

/* ---- JVP and VJP ---------------------------------------------------------------------- */

/* Σ_i reshape(J_i, [m, n_i]) · flat(v_i), shaped like y. */
static ad_tensor *contract_columns(const ad_problem *p, ad_tensor *const *J, ad_tensor *const *v, const ad_tensor *y,
                                   bool absolute)
{
    ad_tensor *acc = NULL;
    for (int i = 0; i < p->nin; i++) {
        if (!J[i] || !v[i]) continue;
        ad_tensor *Ji = ad_reshape(J[i], AD_SHAPE(y->numel, p->in[i]->numel));
        ad_tensor *vi = ad_reshape(v[i], AD_SHAPE(p->in[i]->numel));
        if (absolute) vi = ad_abs(vi);
        ad_tensor *t = ad_mv(Ji, vi);
        acc = acc ? ad_add(acc, t) : t;
        if (!acc) return NULL; /* a lost term is an error, not zero */
    }
    return acc ? ad_reshape(acc, ad_shape_of(y)) : ad_zeros(p->ctx, ad_shape_of(y));
}

/* A tangent for every differentiated input, each of its input's shape. */
static int check_tangents(const ad_problem *p, ad_tensor *const *v)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (!v) return ad_error(p->ctx, AD_EINVAL, "jvp: no tangents given");
    for (int i = 0; i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        if (!v[i]) return ad_error(p->ctx, AD_EINVAL, "jvp: tangent %d is NULL", i);
        if (!same_shape(v[i], p->in[i]))
            return ad_error(p->ctx, AD_ESHAPE, "jvp: tangent %d has shape %s but input %d has shape %s", i,
                            shape_s(b1, v[i]), i, shape_s(b2, p->in[i]));
    }
    return AD_OK;
}

/* keep = {y, J·v, its error estimate} by one JVP call with k = 1. */
static int jvp_direct(const ad_backend *b, const ad_problem *p, ad_tensor *const *v, const ad_options *o,
                      bool want_err, ad_tensor **keep, ad_stats *st)
{
    ad_tensor *V[AD_MAX_INPUTS] = {0};
    for (int i = 0; i < p->nin; i++) /* a missing direction would read as zero */
        if (ad_wrt(p, i) && !(V[i] = ad_unsqueeze(v[i], 0))) return p->ctx->err;
    ad_eval e = {.no_error = !want_err};
    bool nested = ad_problem_nesting(p) != 0;
    int rc = b->jvp(b, p, 1, V, o, &e, st);
    if (rc != AD_OK) return rc;
    keep[0] = e.y;
    keep[1] = row0(e.jv, nested);
    keep[2] = e.jv_err ? ad_row(e.jv_err, 0) : NULL;
    return keep[1] && (keep[2] || !e.jv_err) ? AD_OK : p->ctx->err;
}

/* No JVP primitive (reverse): keep = {y, J·v} through the Jacobian, m sweeps. */
static int jvp_through_jacobian(const ad_backend *b, const ad_problem *p, ad_tensor *const *v, const ad_options *o,
                                ad_tensor **keep, ad_stats *st)
{
    ad_tensor *y = NULL, *J[AD_MAX_INPUTS] = {0};
    ad_stats js;
    int rc = ad_jacobian(b, p, o, &y, J, NULL, NULL, &js);
    add_counts(st, &js);
    if (rc != AD_OK) return rc;
    keep[0] = y;
    keep[1] = contract_columns(p, J, v, y, false);
    return keep[1] ? AD_OK : p->ctx->err;
}

int ad_jvp(const ad_backend *b, const ad_problem *p, ad_tensor *const *v, const ad_options *o, ad_tensor **value,
           ad_tensor **jv, ad_tensor **jv_err, ad_stats *st)
{
    ad_snapshot snap;
    int rc = start("jvp", b, p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    rc = check_tangents(p, v);
    if (rc != AD_OK) return stop(ctx, &snap, st, rc);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *keep[3] = {0};
    ad_tensor **out[3] = {value, jv, jv_err};
    rc = b->jvp ? jvp_direct(b, p, v, o, jv_err != NULL, keep, st) : jvp_through_jacobian(b, p, v, o, keep, st);
    return finish(ctx, s, rc, 3, keep, out, &snap, st);
}

static int cotangent_fits(ad_ctx *ctx, const ad_tensor *u, const ad_tensor *y)
{
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (same_shape(u, y)) return AD_OK;
    return ad_error(ctx, AD_ESHAPE, "vjp: cotangent of shape %s does not match the output's shape %s",
                    shape_s(b1, u), shape_s(b2, y));
}

/* keep = {y, uᵀ·J per input} by one VJP call with k = 1. */
static int vjp_direct(const ad_backend *b, const ad_problem *p, ad_tensor *u, const ad_options *o, ad_tensor **keep,
                      ad_stats *st)
{
    ad_tensor *G[AD_MAX_INPUTS] = {0};
    ad_eval e = {.g = G};
    ad_tensor *U = ad_unsqueeze(u, 0); /* NULL would mean "seed 1" to the backend */
    if (!U) return p->ctx->err;
    bool nested = ad_problem_nesting(p) != 0;
    int rc = b->vjp(b, p, 1, U, o, &e, st);
    if (rc != AD_OK) return rc;
    keep[0] = e.y;
    for (int i = 0; i < p->nin; i++)
        if (G[i] && !(keep[1 + i] = row0(G[i], nested))) return p->ctx->err;
    return e.y ? cotangent_fits(p->ctx, u, e.y) : AD_OK;
}

/* No VJP primitive (forward, differences): keep = {y, uᵀ·J_i, |u|ᵀ·E_i}
 * through the Jacobian and its error estimate. */
static int vjp_through_jacobian(const ad_backend *b, const ad_problem *p, ad_tensor *u, const ad_options *o,
                                ad_tensor **keep, ad_stats *st)
{
    ad_tensor *y = NULL, *J[AD_MAX_INPUTS] = {0}, *JE[AD_MAX_INPUTS] = {0};
    ad_stats js;
    int rc = ad_jacobian(b, p, o, &y, J, JE, NULL, &js);
    add_counts(st, &js);
    if (rc == AD_OK) rc = cotangent_fits(p->ctx, u, y);
    if (rc != AD_OK) return rc;
    keep[0] = y;
    ad_tensor *uf = ad_reshape(u, AD_SHAPE(y->numel));
    for (int i = 0; i < p->nin; i++) {
        if (!J[i]) continue;
        int64_t ni = p->in[i]->numel;
        ad_tensor *Ji = ad_reshape(J[i], AD_SHAPE(y->numel, ni));
        keep[1 + i] = ad_reshape(ad_mv(ad_T(Ji), uf), ad_shape_of(p->in[i]));
        if (JE[i]) {
            ad_tensor *Ei = ad_reshape(JE[i], AD_SHAPE(y->numel, ni));
            keep[1 + p->nin + i] = ad_reshape(ad_mv(ad_T(Ei), ad_abs(uf)), ad_shape_of(p->in[i]));
            if (!keep[1 + p->nin + i]) return p->ctx->err;
        }
        if (!keep[1 + i]) return p->ctx->err;
    }
    return AD_OK;
}

int ad_vjp(const ad_backend *b, const ad_problem *p, ad_tensor *u, const ad_options *o, ad_tensor **value,
           ad_tensor **g, ad_tensor **g_err, ad_stats *st)
{
    ad_snapshot snap;
    int rc = start("vjp", b, p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    if (!u) return stop(ctx, &snap, st, ad_error(ctx, AD_EINVAL, "vjp: no cotangent given"));
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *keep[1 + 2 * AD_MAX_INPUTS] = {0};
    ad_tensor **out[1 + 2 * AD_MAX_INPUTS] = {0};
    out_slots(out, value, g, g_err, p->nin);
    rc = b->vjp ? vjp_direct(b, p, u, o, keep, st) : vjp_through_jacobian(b, p, u, o, keep, st);
    return finish(ctx, s, rc, 1 + 2 * p->nin, keep, out, &snap, st);
}

/* ---- second order: forward over reverse ----------------------------------------------------- */

/* The second-order drivers run their own forward-over-reverse pass on
 * fresh leaves; inside another derivative they would cut it off, so they
 * refuse and say what composes instead. */
static int refuse_nested(const ad_problem *p, const char *what, const char *instead)
{
    return ad_error(p->ctx, AD_ENOTSUP,
                    "%s: the inputs carry derivatives of an enclosing computation (tangents or requires grad); "
                    "%s cannot be nested: use %s, which nests",
                    what, what, instead);
}

/* One recorded evaluation with k tangents per input (V[i]: [k, in_i.shape]),
 * one sweep; G[i] = gradient, HV[i] = its tangent [k, in_i.shape]. */
static int forward_over_reverse(const ad_problem *p, int k, ad_tensor *const *V, ad_tensor **y, ad_tensor **G,
                                ad_tensor **HV, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    char buf[AD_SHAPEBUF];
    ad_tensor *x[AD_MAX_INPUTS];
    int rc = ad_fresh_inputs(p, x); /* in the caller's grad mode: plain leaves */
    bool prev_grad = ad_set_grad_enabled(ctx, true);
    if (rc == AD_OK) rc = ad_fwd_begin(ctx, k);
    bool pushed = rc == AD_OK;
    int d = ctx->fwd_depth - 1;
    /* the reverse pass is inside this level (it sweeps here): the JVP
     * rules need not be recorded */
    if (pushed) ctx->fwd_lv[d].record = false;
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        rc = ad_requires_grad_(x[i], true);
        if (rc == AD_OK && V[i]) rc = ad_set_tangent(x[i], V[i]);
    }
    ad_tensor *out = rc == AD_OK ? ad_call_f(p, x, st) : NULL;
    if (!out && rc == AD_OK) rc = ctx->err;
    if (rc == AD_OK && out->numel != 1)
        rc = ad_error(ctx, AD_ESHAPE, "hessian: f must return a single value, not a tensor of shape %s",
                      shape_s(buf, out));
    if (rc == AD_OK && ad_requires_grad(out)) {
        rc = ad_backward(out, NULL, 0);
        if (st) st->sweeps++;
    }
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        G[i] = HV[i] = NULL;
        if (!ad_wrt(p, i)) continue;
        ad_tensor *g = x[i]->grad;
        G[i] = g ? ad_detach(g) : ad_zeros(ctx, ad_shape_of(x[i]));
        HV[i] = (g && ad_tan_live(g, d)) ? ad_alias(g->tan[d], false) : ad_tangent_zeros(ctx, k, ad_shape_of(x[i]));
        if (!G[i] || !HV[i]) rc = ctx->err;
    }
    if (rc == AD_OK && !(*y = ad_detach(out))) rc = ctx->err;
    if (pushed) ad_fwd_end(ctx);
    ad_set_grad_enabled(ctx, prev_grad);
    return rc;
}

int ad_hvp(const ad_problem *p, ad_tensor *const *v, ad_tensor **value, ad_tensor **grad, ad_tensor **hv,
           ad_stats *st)
{
    ad_snapshot snap;
    int rc = start("hvp", ad_backend_with(AD_CAP_REVERSE), p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    if (ad_problem_nesting(p)) return stop(ctx, &snap, st, refuse_nested(p, "hvp", "ad_jvp of a function that returns ad_value_and_grad's gradient"));
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    int nin = p->nin;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *V[AD_MAX_INPUTS] = {0};
    if (!v) rc = ad_error(ctx, AD_EINVAL, "hvp: no direction given");
    for (int i = 0; rc == AD_OK && i < nin; i++) {
        if (!ad_wrt(p, i)) continue;
        if (!v[i] || v[i]->numel != p->in[i]->numel || v[i]->ndim != p->in[i]->ndim)
            rc = ad_error(ctx, AD_ESHAPE, "hvp: direction %d has shape %s but input %d has shape %s", i,
                          v[i] ? shape_s(b1, v[i]) : "NULL", i, shape_s(b2, p->in[i]));
        else if (!(V[i] = ad_unsqueeze(v[i], 0))) rc = ctx->err; /* a missing direction would read as zero */
    }
    ad_tensor *y = NULL, *G[AD_MAX_INPUTS] = {0}, *HV[AD_MAX_INPUTS] = {0};
    if (rc == AD_OK) rc = forward_over_reverse(p, 1, V, &y, G, HV, st);
    ad_tensor *keep[1 + 2 * AD_MAX_INPUTS] = {0};
    ad_tensor **out[1 + 2 * AD_MAX_INPUTS] = {0};
    out_slots(out, value, grad, hv, nin);
    keep[0] = y;
    for (int i = 0; rc == AD_OK && i < nin; i++) {
        keep[1 + i] = G[i];
        if (HV[i] && !(keep[1 + nin + i] = ad_row(HV[i], 0))) rc = ctx->err;
    }
    return finish(ctx, s, rc, 1 + 2 * nin, keep, out, &snap, st);
}

#define HESSIAN_MAX 4096

/* Zero blocks Hf[a*nin + b] = [n_a, n_b] for each differentiated pair. */
static int hess_blocks(const ad_problem *p, ad_tensor **Hf)
{
    int nin = p->nin;
    for (int a = 0; a < nin; a++)
        for (int b = 0; b < nin; b++) {
            if (!ad_wrt(p, a) || !ad_wrt(p, b)) continue;
            Hf[a * nin + b] = ad_deriv_zeros(p->ctx, AD_SHAPE(p->in[a]->numel, p->in[b]->numel));
            if (!Hf[a * nin + b]) return p->ctx->err;
        }
    return AD_OK;
}

/* Columns [j0, j0 + k) of H by one forward-over-reverse pass with k unit
 * tangents: row r of HV[a] is column j0 + r of input a's blocks.  The
 * first pass gives the value (*y, unscoped). */
static int hess_columns(const ad_problem *p, int64_t j0, int k, ad_tensor **Hf, ad_tensor **y, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int nin = p->nin;
    ad_scope sj = ad_scope_begin(ctx);
    ad_tensor *V[AD_MAX_INPUTS], *G[AD_MAX_INPUTS] = {0}, *HV[AD_MAX_INPUTS] = {0}, *yj = NULL;
    int rc = unit_directions(p, j0, k, V);
    if (rc == AD_OK) rc = forward_over_reverse(p, k, V, &yj, G, HV, st);
    if (rc == AD_OK && !*y) *y = unscoped_ref(yj);
    for (int r = 0; rc == AD_OK && r < k; r++) {
        int bi;
        int64_t col;
        locate(p, j0 + r, &bi, &col);
        for (int a = 0; a < nin; a++) {
            if (!HV[a]) continue;
            ad_tensor *hrow = ad_contiguous(ad_row(HV[a], r));
            if (!hrow) { /* a column left at zero would be a wrong Hessian */
                rc = ctx->err;
                break;
            }
            ad_tensor *blk = Hf[a * nin + bi];
            int64_t na = p->in[a]->numel, nb = p->in[bi]->numel;
            for (int64_t q = 0; q < na; q++) blk->data[q * nb + col] = hrow->data[q];
        }
    }
    ad_scope_end(ctx, sj, NULL);
    return rc;
}

/* The blocks in the shapes in_a.shape + in_b.shape (views; flat when
 * there would be too many axes) into keep[1 + q], and the caller's slots.
 * Returns rc, or the failure of a view. */
static int hess_keep(const ad_problem *p, int rc, ad_tensor **Hf, ad_tensor **H, ad_tensor **keep, ad_tensor ***out)
{
    int nin = p->nin;
    for (int a = 0; a < nin; a++)
        for (int b = 0; b < nin; b++) {
            int q = a * nin + b;
            out[1 + q] = H ? &H[q] : NULL;
            if (rc != AD_OK || !Hf[q]) continue;
            const ad_tensor *ia = p->in[a], *ib = p->in[b];
            ad_shape hs = {.ndim = ia->ndim + ib->ndim};
            if (hs.ndim > AD_MAX_DIMS) {
                keep[1 + q] = Hf[q];
                continue;
            }
            memcpy(hs.dim, ia->shape, (size_t)ia->ndim * sizeof(int64_t));
            memcpy(hs.dim + ia->ndim, ib->shape, (size_t)ib->ndim * sizeof(int64_t));
            if (!(keep[1 + q] = ad_reshape(Hf[q], hs))) rc = p->ctx->err;
        }
    return rc;
}

int ad_hessian(const ad_problem *p, const ad_options *o, ad_tensor **value, ad_tensor **H, ad_stats *st)
{
    ad_snapshot snap;
    int rc = start("hessian", ad_backend_with(AD_CAP_REVERSE), p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    if (ad_problem_nesting(p)) return stop(ctx, &snap, st, refuse_nested(p, "hessian", "ad_jacobian of a function that returns ad_value_and_grad's gradient"));
    int64_t n = ad_problem_size(p);
    if (n > HESSIAN_MAX)
        return stop(ctx, &snap, st,
                    ad_error(ctx, AD_ELIMIT,
                             "hessian: %lld inputs would need a %lld x %lld matrix (at most %d inputs: use ad_hvp)",
                             (long long)n, (long long)n, (long long)n, HESSIAN_MAX));
    int w = (o && o->width > 0) ? o->width : 16;
    if (w > n && n > 0) w = (int)n;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *Hf[AD_MAX_INPUTS * AD_MAX_INPUTS] = {0}; /* flat [n_a, n_b] blocks */
    rc = hess_blocks(p, Hf);
    ad_tensor *y = NULL;
    for (int64_t j0 = 0; rc == AD_OK && j0 < n; j0 += w) rc = hess_columns(p, j0, block_at(n, j0, w), Hf, &y, st);
    if (rc == AD_OK && !y) rc = value_unscoped(p, st, &y); /* nothing differentiated */
    ad_tensor *keep[1 + AD_MAX_INPUTS * AD_MAX_INPUTS] = {0};
    ad_tensor **out[1 + AD_MAX_INPUTS * AD_MAX_INPUTS] = {0};
    out[0] = value;
    keep[0] = rescope(y);
    rc = hess_keep(p, rc, Hf, H, keep, out);
    return finish(ctx, s, rc, 1 + p->nin * p->nin, keep, out, &snap, st);
}
