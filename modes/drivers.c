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

static int width_of(const ad_backend *b, const ad_options *o)
{
    if (o && o->chunk > 0) return (int)(o->chunk > 65536 ? 65536 : o->chunk);
    int w = b->preferred_width ? b->preferred_width(b, o) : 1;
    return w > 0 ? w : 1;
}

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

static int start(const char *what, const ad_backend *b, const ad_problem *p, ad_stats *st, ad_snapshot *snap)
{
    if (!p || !p->ctx) return AD_EINVAL;
    if (!b) return ad_error(p->ctx, AD_EINVAL, "%s: no backend given", what);
    if (!b->jvp && !b->vjp) return ad_error(p->ctx, AD_EINVAL, "%s: backend \"%s\" has no primitive", what, b->name);
    int rc = ad_problem_check(p, what);
    if (rc != AD_OK) return rc;
    if (st) memset(st, 0, sizeof *st);
    ad_snapshot_begin(p->ctx, snap);
    return AD_OK;
}

static const char *shape_s(char *buf, const ad_tensor *t) { return ad_fmt_shape(buf, AD_SHAPEBUF, t->ndim, t->shape); }

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

/* ---- value and gradient ------------------------------------------------------------- */

int ad_value_and_grad(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **value,
                      ad_tensor **grad, ad_tensor **grad_err, ad_stats *st)
{
    ad_snapshot snap;
    int rc = start("value_and_grad", b, p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    char buf[AD_SHAPEBUF];
    int nin = p->nin;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *keep[1 + 2 * AD_MAX_INPUTS] = {0};
    ad_tensor **out[1 + 2 * AD_MAX_INPUTS] = {0};
    out_slots(out, value, grad, grad_err, nin);
    ad_tensor *y = NULL;

    if (b->vjp) {
        ad_tensor *G[AD_MAX_INPUTS] = {0}, *GE[AD_MAX_INPUTS] = {0};
        ad_eval e = {.g = G, .g_err = GE};
        rc = b->vjp(b, p, 1, NULL, o, &e, st);
        y = e.y;
        for (int i = 0; rc == AD_OK && i < nin; i++) {
            if (G[i]) keep[1 + i] = ad_row(G[i], 0);
            if (GE[i]) keep[1 + nin + i] = ad_row(GE[i], 0);
        }
    } else {
        int64_t n = ad_problem_size(p);
        int w = width_of(b, o);
        ad_tensor *gflat[AD_MAX_INPUTS] = {0}, *eflat[AD_MAX_INPUTS] = {0};
        for (int i = 0; rc == AD_OK && i < nin; i++) {
            if (!ad_wrt(p, i)) continue;
            gflat[i] = ad_deriv_zeros(ctx, ad_shape_of(p->in[i]));
            eflat[i] = ad_deriv_zeros(ctx, ad_shape_of(p->in[i]));
            if (!gflat[i] || !eflat[i]) rc = ctx->err;
        }
        bool has_err = false;
        for (int64_t j0 = 0; rc == AD_OK && (j0 < n || (n == 0 && j0 == 0)); j0 += w) {
            int k = (int)(n - j0 < w ? n - j0 : w);
            if (n == 0) k = 0;
            ad_scope sj = ad_scope_begin(ctx);
            ad_tensor *V[AD_MAX_INPUTS];
            rc = unit_directions(p, j0, k ? k : 1, V);
            ad_eval e = {.no_value = y != NULL, .y_in = y};
            if (rc == AD_OK && k == 0) { /* nothing differentiated: just the value */
                y = ad_call_f(p, p->in, st);
                if (!y) rc = ctx->err;
                ad_scope_end(ctx, sj, NULL);
                break;
            }
            if (rc == AD_OK) rc = b->jvp(b, p, k, V, o, &e, st);
            if (rc == AD_OK && !y) {
                y = ad_tensor_ref(e.y);
                ad_unscope(y);
            }
            if (rc == AD_OK && e.jv->numel != k)
                rc = ad_error(ctx, AD_ESHAPE,
                              "value_and_grad: f must return a single value, not a tensor of shape %s "
                              "(use ad_jacobian, or reduce it, e.g. with ad_sum)",
                              shape_s(buf, y));
            for (int r = 0; rc == AD_OK && r < k; r++) {
                int in_i;
                int64_t el;
                locate(p, j0 + r, &in_i, &el);
                gflat[in_i]->data[el] = e.jv->data[r];
                if (e.jv_err) {
                    eflat[in_i]->data[el] = e.jv_err->data[r];
                    has_err = true;
                }
            }
            ad_scope_end(ctx, sj, NULL);
        }
        if (y) {
            ad_tensor *yy = ad_tensor_ref(y); /* back into the driver's scope */
            ad_decref(y);
            y = yy;
        }
        for (int i = 0; rc == AD_OK && i < nin; i++) {
            keep[1 + i] = gflat[i];
            keep[1 + nin + i] = has_err ? eflat[i] : NULL;
        }
    }
    if (rc == AD_OK && y && y->numel != 1)
        rc = ad_error(ctx, AD_ESHAPE,
                      "value_and_grad: f must return a single value, not a tensor of shape %s "
                      "(use ad_jacobian, or reduce it, e.g. with ad_sum)",
                      shape_s(buf, y));
    keep[0] = y;
    return finish(ctx, s, rc, 1 + 2 * nin, keep, out, &snap, st);
}

/* ---- Jacobian -------------------------------------------------------------------------- */

/* J_i as contiguous [m, n_i] blocks, filled by columns (jvp) or rows (vjp). */
static int jac_columns(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **y, ad_tensor **Jf,
                       ad_tensor **Ef, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int64_t n = ad_problem_size(p);
    int w = width_of(b, o);
    int rc = AD_OK;
    int64_t m = -1;
    for (int64_t j0 = 0; rc == AD_OK && j0 < n; j0 += w) {
        int k = (int)(n - j0 < w ? n - j0 : w);
        ad_scope sj = ad_scope_begin(ctx);
        ad_tensor *V[AD_MAX_INPUTS];
        rc = unit_directions(p, j0, k, V);
        ad_eval e = {.no_value = *y != NULL, .y_in = *y};
        if (rc == AD_OK) rc = b->jvp(b, p, k, V, o, &e, st);
        if (rc == AD_OK && !*y) {
            *y = ad_tensor_ref(e.y);
            ad_unscope(*y);
            m = (*y)->numel;
            for (int i = 0; rc == AD_OK && i < p->nin; i++) {
                if (!ad_wrt(p, i)) continue;
                Jf[i] = ad_deriv_zeros(ctx, AD_SHAPE(m, p->in[i]->numel));
                ad_unscope(Jf[i]);
                if (e.jv_err) {
                    Ef[i] = ad_deriv_zeros(ctx, AD_SHAPE(m, p->in[i]->numel));
                    ad_unscope(Ef[i]);
                }
                if (!Jf[i] || (e.jv_err && !Ef[i])) rc = ctx->err;
            }
        }
        if (rc == AD_OK && m < 0) m = (*y)->numel;
        for (int r = 0; rc == AD_OK && r < k; r++) {
            int in_i;
            int64_t el;
            locate(p, j0 + r, &in_i, &el);
            int64_t ni = p->in[in_i]->numel;
            ad_tensor *col = ad_contiguous(ad_row(e.jv, r));
            ad_tensor *ecol = e.jv_err ? ad_contiguous(ad_row(e.jv_err, r)) : NULL;
            if (!col) {
                rc = ctx->err;
                break;
            }
            for (int64_t q = 0; q < m; q++) {
                Jf[in_i]->data[q * ni + el] = col->data[q];
                if (ecol && Ef[in_i]) Ef[in_i]->data[q * ni + el] = ecol->data[q];
            }
        }
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
    *y = ad_tensor_ref(e.y);
    ad_unscope(*y);
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!G[i]) continue;
        Jf[i] = ad_reshape(G[i], AD_SHAPE((*y)->numel, p->in[i]->numel));
        if (!Jf[i]) rc = ctx->err;
        else ad_unscope(Jf[i]);
    }
    return rc;
}

static int jac_rows(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor *y, ad_tensor **Jf,
                    ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    int64_t m = y->numel;
    int rc = AD_OK;
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        Jf[i] = ad_deriv_zeros(ctx, AD_SHAPE(m, p->in[i]->numel));
        ad_unscope(Jf[i]);
        if (!Jf[i]) rc = ctx->err;
    }
    /* all rows in one call (one recording) unless the identity block gets big */
    int64_t chunk = (o && o->chunk > 0) ? o->chunk : (m > 0 ? ((int64_t)1 << 24) / m : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > m) chunk = m;
    for (int64_t i0 = 0; rc == AD_OK && i0 < m; i0 += chunk) {
        int k = (int)(m - i0 < chunk ? m - i0 : chunk);
        ad_scope si = ad_scope_begin(ctx);
        ad_tensor *U = ad_tangent_zeros(ctx, k, ad_shape_of(y));
        if (!U) rc = ctx->err;
        for (int r = 0; rc == AD_OK && r < k; r++) U->data[(int64_t)r * m + i0 + r] = 1.0;
        ad_tensor *G[AD_MAX_INPUTS] = {0};
        ad_eval e = {.g = G, .no_value = true};
        if (rc == AD_OK) rc = b->vjp(b, p, k, U, o, &e, st);
        for (int i = 0; rc == AD_OK && i < p->nin; i++) {
            if (!Jf[i] || !G[i]) continue;
            ad_tensor *g = ad_contiguous(G[i]);
            if (!g) {
                rc = ctx->err;
                break;
            }
            int64_t ni = p->in[i]->numel;
            memcpy(Jf[i]->data + i0 * ni, g->data, (size_t)(k * ni) * sizeof(double));
        }
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

int ad_jacobian(const ad_backend *b, const ad_problem *p, const ad_options *o, ad_tensor **value, ad_tensor **J,
                ad_tensor **J_err, ad_jacobian_info *info, ad_stats *st)
{
    bool automatic = b == NULL;
    /* automatic: forward mode (carrying several directions when a width is
     * given) or reverse mode, whichever the shapes favour */
    unsigned fwd_caps = AD_CAP_FORWARD | ((o && o->width > 1) ? AD_CAP_VECTOR : 0);
    const ad_backend *fwd = ad_backend_with(fwd_caps);
    ad_snapshot snap;
    int rc = start("jacobian", automatic ? fwd : b, p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    int nin = p->nin;
    int64_t n = ad_problem_size(p);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *y = NULL;
    ad_jacobian_info inf;
    memset(&inf, 0, sizeof inf);
    inf.n = n;
    inf.m = -1;

    bool chunked_rows = b && b->vjp && !b->jvp && o && o->chunk > 0;
    if (automatic || chunked_rows) {
        /* the output size decides (auto) or sizes the row chunks */
        bool prev = ad_set_grad_enabled(ctx, false);
        y = ad_call_f(p, p->in, st);
        ad_set_grad_enabled(ctx, prev);
        if (!y) rc = ctx->err;
        else ad_unscope(y);
    }
    if (rc == AD_OK && automatic) {
        int64_t m = y->numel;
        int w = width_of(fwd, o);
        int64_t fpasses = (n + w - 1) / w;
        if (n <= m) {
            b = fwd;
            snprintf(inf.reason, sizeof inf.reason,
                     "n = %lld input%s <= m = %lld outputs: %s mode fills J by columns in %lld pass%s "
                     "(reverse would need %lld sweeps)",
                     (long long)n, n == 1 ? "" : "s", (long long)m, fwd->name, (long long)fpasses,
                     fpasses == 1 ? "" : "es", (long long)m);
        } else {
            b = ad_backend_with(AD_CAP_REVERSE);
            snprintf(inf.reason, sizeof inf.reason,
                     "m = %lld output%s < n = %lld inputs: reverse mode fills J by rows in 1 pass and %lld "
                     "sweep%s (forward would need %lld passes)",
                     (long long)m, m == 1 ? "" : "s", (long long)n, (long long)m,
                     m == 1 ? "" : "s", (long long)fpasses);
        }
    } else if (rc == AD_OK) {
        snprintf(inf.reason, sizeof inf.reason, "backend \"%s\" chosen by the caller", b->name);
    }
    inf.backend = b;
    inf.by_rows = b->vjp != NULL && !b->jvp;

    ad_tensor *Jf[AD_MAX_INPUTS] = {0}, *Ef[AD_MAX_INPUTS] = {0};
    if (rc == AD_OK) {
        if (inf.by_rows && y) {
            rc = jac_rows(b, p, o, y, Jf, st);
        } else if (inf.by_rows) {
            rc = jac_all_rows(b, p, o, &y, Jf, st);
        } else {
            if (y) { /* auto evaluated it already */
                ad_decref(y);
                y = NULL;
            }
            rc = n > 0 ? jac_columns(b, p, o, &y, Jf, Ef, st) : AD_OK;
            if (rc == AD_OK && !y) { /* nothing to differentiate */
                y = ad_call_f(p, p->in, st);
                if (!y) rc = ctx->err;
                else ad_unscope(y);
            }
        }
    }
    ad_tensor *keep[1 + 2 * AD_MAX_INPUTS] = {0};
    ad_tensor **out[1 + 2 * AD_MAX_INPUTS] = {0};
    out_slots(out, value, J, J_err, nin);
    for (int i = 0; i < nin; i++) {
        if (rc == AD_OK && Jf[i]) keep[1 + i] = jac_shape(Jf[i], y, p->in[i]);
        if (rc == AD_OK && Ef[i]) keep[1 + nin + i] = jac_shape(Ef[i], y, p->in[i]);
        if (Jf[i]) ad_decref(Jf[i]);
        if (Ef[i]) ad_decref(Ef[i]);
    }
    if (y) {
        inf.m = y->numel;
        keep[0] = ad_tensor_ref(y);
        ad_decref(y);
    }
    if (info) *info = inf;
    return finish(ctx, s, rc, 1 + 2 * nin, keep, out, &snap, st);
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
    }
    return acc ? ad_reshape(acc, ad_shape_of(y)) : ad_zeros(p->ctx, ad_shape_of(y));
}

int ad_jvp(const ad_backend *b, const ad_problem *p, ad_tensor *const *v, const ad_options *o, ad_tensor **value,
           ad_tensor **jv, ad_tensor **jv_err, ad_stats *st)
{
    ad_snapshot snap;
    int rc = start("jvp", b, p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (!v) rc = ad_error(ctx, AD_EINVAL, "jvp: no tangents given");
    for (int i = 0; rc == AD_OK && i < p->nin; i++) {
        if (!ad_wrt(p, i)) continue;
        if (!v[i]) {
            rc = ad_error(ctx, AD_EINVAL, "jvp: tangent %d is NULL", i);
        } else {
            ad_shape a = ad_shape_of(v[i]), c = ad_shape_of(p->in[i]);
            bool same = a.ndim == c.ndim && memcmp(a.dim, c.dim, (size_t)a.ndim * sizeof(int64_t)) == 0;
            if (!same)
                rc = ad_error(ctx, AD_ESHAPE, "jvp: tangent %d has shape %s but input %d has shape %s", i,
                              shape_s(b1, v[i]), i, shape_s(b2, p->in[i]));
        }
    }
    if (rc != AD_OK) {
        ad_snapshot_end(ctx, &snap, st);
        return rc;
    }
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *keep[3] = {0};
    ad_tensor **out[3] = {value, jv, jv_err};
    if (b->jvp) {
        ad_tensor *V[AD_MAX_INPUTS] = {0};
        for (int i = 0; i < p->nin; i++)
            if (ad_wrt(p, i)) V[i] = ad_unsqueeze(v[i], 0);
        ad_eval e = {0};
        rc = b->jvp(b, p, 1, V, o, &e, st);
        if (rc == AD_OK) {
            keep[0] = e.y;
            keep[1] = ad_row(e.jv, 0);
            keep[2] = e.jv_err ? ad_row(e.jv_err, 0) : NULL;
        }
    } else {
        /* no JVP primitive (reverse): through the Jacobian, m sweeps */
        ad_tensor *y = NULL, *J[AD_MAX_INPUTS] = {0};
        ad_stats js;
        rc = ad_jacobian(b, p, o, &y, J, NULL, NULL, &js);
        if (st) {
            st->passes += js.passes;
            st->sweeps += js.sweeps;
        }
        if (rc == AD_OK) {
            keep[0] = y;
            keep[1] = contract_columns(p, J, v, y, false);
            if (!keep[1]) rc = ctx->err;
        }
    }
    return finish(ctx, s, rc, 3, keep, out, &snap, st);
}

int ad_vjp(const ad_backend *b, const ad_problem *p, ad_tensor *u, const ad_options *o, ad_tensor **value,
           ad_tensor **g, ad_tensor **g_err, ad_stats *st)
{
    ad_snapshot snap;
    int rc = start("vjp", b, p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    char b1[AD_SHAPEBUF], b2[AD_SHAPEBUF];
    if (!u) {
        ad_snapshot_end(ctx, &snap, st);
        return ad_error(ctx, AD_EINVAL, "vjp: no cotangent given");
    }
    int nin = p->nin;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *keep[1 + 2 * AD_MAX_INPUTS] = {0};
    ad_tensor **out[1 + 2 * AD_MAX_INPUTS] = {0};
    out_slots(out, value, g, g_err, nin);
    if (b->vjp) {
        ad_tensor *G[AD_MAX_INPUTS] = {0};
        ad_eval e = {.g = G};
        rc = b->vjp(b, p, 1, ad_unsqueeze(u, 0), o, &e, st);
        if (rc == AD_OK) {
            keep[0] = e.y;
            for (int i = 0; i < nin; i++)
                if (G[i]) keep[1 + i] = ad_row(G[i], 0);
        }
    } else {
        /* no VJP primitive (forward, differences): through the Jacobian */
        ad_tensor *y = NULL, *J[AD_MAX_INPUTS] = {0}, *JE[AD_MAX_INPUTS] = {0};
        ad_stats js;
        rc = ad_jacobian(b, p, o, &y, J, JE, NULL, &js);
        if (st) {
            st->passes += js.passes;
            st->sweeps += js.sweeps;
        }
        if (rc == AD_OK && (u->ndim != y->ndim || memcmp(u->shape, y->shape, (size_t)y->ndim * sizeof(int64_t))))
            rc = ad_error(ctx, AD_ESHAPE, "vjp: cotangent of shape %s does not match the output's shape %s",
                          shape_s(b1, u), shape_s(b2, y));
        if (rc == AD_OK) {
            keep[0] = y;
            ad_tensor *uf = ad_reshape(u, AD_SHAPE(y->numel));
            for (int i = 0; i < nin && rc == AD_OK; i++) {
                if (!J[i]) continue;
                int64_t ni = p->in[i]->numel;
                ad_tensor *Ji = ad_reshape(J[i], AD_SHAPE(y->numel, ni));
                keep[1 + i] = ad_reshape(ad_mv(ad_T(Ji), uf), ad_shape_of(p->in[i]));
                if (JE[i]) {
                    ad_tensor *Ei = ad_reshape(JE[i], AD_SHAPE(y->numel, ni));
                    keep[1 + nin + i] = ad_reshape(ad_mv(ad_T(Ei), ad_abs(uf)), ad_shape_of(p->in[i]));
                }
                if (!keep[1 + i]) rc = ctx->err;
            }
        }
    }
    if (rc == AD_OK && keep[0] && b->vjp &&
        (u->ndim != keep[0]->ndim || memcmp(u->shape, keep[0]->shape, (size_t)u->ndim * sizeof(int64_t))))
        rc = ad_error(ctx, AD_ESHAPE, "vjp: cotangent of shape %s does not match the output's shape %s",
                      shape_s(b1, u), shape_s(b2, keep[0]));
    return finish(ctx, s, rc, 1 + 2 * nin, keep, out, &snap, st);
}

/* ---- second order: forward over reverse ----------------------------------------------------- */

/* One recorded evaluation with k tangents per input (V[i]: [k, in_i.shape]),
 * one sweep; G[i] = gradient, HV[i] = its tangent [k, in_i.shape]. */
static int forward_over_reverse(const ad_problem *p, int k, ad_tensor *const *V, ad_tensor **y, ad_tensor **G,
                                ad_tensor **HV, ad_stats *st)
{
    ad_ctx *ctx = p->ctx;
    char buf[AD_SHAPEBUF];
    int prev_k = ctx->fwd_k;
    bool prev_grad = ad_set_grad_enabled(ctx, true);
    ad_tensor *x[AD_MAX_INPUTS];
    int rc = ad_fresh_inputs(p, x);
    if (rc == AD_OK) rc = ad_fwd_begin(ctx, k);
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
        HV[i] = (g && g->tangent) ? ad_alias(g->tangent, false) : ad_tangent_zeros(ctx, k, ad_shape_of(x[i]));
        if (!G[i] || !HV[i]) rc = ctx->err;
    }
    if (rc == AD_OK) *y = ad_detach(out);
    ctx->fwd_k = prev_k;
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
        else V[i] = ad_unsqueeze(v[i], 0);
    }
    ad_tensor *y = NULL, *G[AD_MAX_INPUTS] = {0}, *HV[AD_MAX_INPUTS] = {0};
    if (rc == AD_OK) rc = forward_over_reverse(p, 1, V, &y, G, HV, st);
    ad_tensor *keep[1 + 2 * AD_MAX_INPUTS] = {0};
    ad_tensor **out[1 + 2 * AD_MAX_INPUTS] = {0};
    out_slots(out, value, grad, hv, nin);
    keep[0] = y;
    for (int i = 0; i < nin; i++) {
        keep[1 + i] = G[i];
        keep[1 + nin + i] = HV[i] ? ad_row(HV[i], 0) : NULL;
    }
    return finish(ctx, s, rc, 1 + 2 * nin, keep, out, &snap, st);
}

#define HESSIAN_MAX 4096

int ad_hessian(const ad_problem *p, const ad_options *o, ad_tensor **value, ad_tensor **H, ad_stats *st)
{
    ad_snapshot snap;
    int rc = start("hessian", ad_backend_with(AD_CAP_REVERSE), p, st, &snap);
    if (rc != AD_OK) return rc;
    ad_ctx *ctx = p->ctx;
    int nin = p->nin;
    int64_t n = ad_problem_size(p);
    if (n > HESSIAN_MAX) {
        ad_snapshot_end(ctx, &snap, st);
        return ad_error(ctx, AD_ELIMIT,
                        "hessian: %lld inputs would need a %lld x %lld matrix (at most %d inputs: use ad_hvp)",
                        (long long)n, (long long)n, (long long)n, HESSIAN_MAX);
    }
    int w = (o && o->width > 0) ? o->width : 16;
    if (w > n && n > 0) w = (int)n;
    ad_scope s = ad_scope_begin(ctx);
    /* flat blocks Hf[a*nin + b]: [n_a, n_b] */
    ad_tensor *Hf[AD_MAX_INPUTS * AD_MAX_INPUTS] = {0};
    for (int a = 0; rc == AD_OK && a < nin; a++)
        for (int b = 0; rc == AD_OK && b < nin; b++) {
            if (!ad_wrt(p, a) || !ad_wrt(p, b)) continue;
            Hf[a * nin + b] = ad_deriv_zeros(ctx, AD_SHAPE(p->in[a]->numel, p->in[b]->numel));
            if (!Hf[a * nin + b]) rc = ctx->err;
        }
    ad_tensor *y = NULL;
    for (int64_t j0 = 0; rc == AD_OK && j0 < n; j0 += w) {
        int k = (int)(n - j0 < w ? n - j0 : w);
        ad_scope sj = ad_scope_begin(ctx);
        ad_tensor *V[AD_MAX_INPUTS], *G[AD_MAX_INPUTS] = {0}, *HV[AD_MAX_INPUTS] = {0}, *yj = NULL;
        rc = unit_directions(p, j0, k, V);
        if (rc == AD_OK) rc = forward_over_reverse(p, k, V, &yj, G, HV, st);
        if (rc == AD_OK && !y) {
            y = ad_tensor_ref(yj);
            ad_unscope(y);
        }
        for (int r = 0; rc == AD_OK && r < k; r++) {
            int bi;
            int64_t col;
            locate(p, j0 + r, &bi, &col);
            for (int a = 0; a < nin; a++) {
                if (!HV[a]) continue;
                ad_tensor *hrow = ad_contiguous(ad_row(HV[a], r));
                ad_tensor *blk = Hf[a * nin + bi];
                int64_t na = p->in[a]->numel, nb = p->in[bi]->numel;
                for (int64_t q = 0; hrow && q < na; q++) blk->data[q * nb + col] = hrow->data[q];
            }
        }
        ad_scope_end(ctx, sj, NULL);
    }
    if (rc == AD_OK && !y) { /* nothing differentiated */
        y = ad_call_f(p, p->in, st);
        if (!y) rc = ctx->err;
        else ad_unscope(y);
    }
    ad_tensor *keep[1 + AD_MAX_INPUTS * AD_MAX_INPUTS] = {0};
    ad_tensor **out[1 + AD_MAX_INPUTS * AD_MAX_INPUTS] = {0};
    out[0] = value;
    if (y) {
        keep[0] = ad_tensor_ref(y);
        ad_decref(y);
    }
    for (int a = 0; a < nin; a++)
        for (int b = 0; b < nin; b++) {
            int q = a * nin + b;
            out[1 + q] = H ? &H[q] : NULL;
            if (rc == AD_OK && Hf[q]) {
                ad_shape hs = {.ndim = p->in[a]->ndim + p->in[b]->ndim};
                if (hs.ndim > AD_MAX_DIMS) {
                    keep[1 + q] = Hf[q];
                    continue;
                }
                memcpy(hs.dim, p->in[a]->shape, (size_t)p->in[a]->ndim * sizeof(int64_t));
                memcpy(hs.dim + p->in[a]->ndim, p->in[b]->shape, (size_t)p->in[b]->ndim * sizeof(int64_t));
                keep[1 + q] = ad_reshape(Hf[q], hs);
            }
        }
    return finish(ctx, s, rc, 1 + nin * nin, keep, out, &snap, st);
}
