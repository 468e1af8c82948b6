/* bench/gradbench/ht.c — GradBench's "ht" (ADBench's hand tracking): the
 * 3N errors between N observed points and the points of a skinned hand
 * model posed by 26 parameters theta, and their Jacobian (evals/ht/README.md
 * and GradBench's reference cpp/gradbench/evals/ht.hpp define it).  With a
 * non-empty "us" (the "complicated" variant) each point lies on a triangle
 * at barycentric coordinates (u0, u1, 1 - u0 - u1), and the Jacobian has
 * two more columns first: each error's derivative with respect to its own
 * point's u0 and u1.
 *
 * Written vectorised over bones and vertices:
 *   - every bone's Euler angles (x, z, y order) come from theta by one
 *     index_select; its rotation Rz·Ry·Rx is three batched [B,3,3] matmuls;
 *   - the bone chain (absolute = parent's absolute · relative) runs level
 *     by level of the tree (one batched matmul per depth, not per bone);
 *   - the global rotation (angle-axis, identity below |r| = 1e-4 as the
 *     reference does) and the mirror are folded into each bone's 3 x 4
 *     transform G_b, so linear blend skinning is one matmul:
 *       pose(theta) = [G_1ᵀ; ...; G_Bᵀ; t]        ([4B + 1, 3])
 *       positions   = CV1 · pose(theta)            ([V, 3])
 *     with CV1[v, 4b + k] = weight(b, v) · base_position(v)_k and a last
 *     column of ones (the translation t), a constant of the model.
 *
 * The Jacobian: pose is the nonlinear part (26 inputs, 12B + 3 outputs),
 * and its Jacobian comes from the chosen backend (ad_jacobian: 26 forward
 * passes, or one reverse pass and 12B + 3 sweeps).  positions is linear in
 * pose, so the vertices' Jacobian is CV1 · J_pose (one matmul), and each
 * point's is the same barycentric combination of its vertices'.  Done on
 * the whole objective instead, reverse mode would need 3N sweeps (153 600
 * at GradBench's largest input).  The u columns come from the backend too:
 * error i depends on u_i alone, so the Jacobian compresses to 3 rows (the
 * errors summed over points, by VJPs) or 2 columns (one shared change of
 * every point's u, by JVPs or differences), as in ba.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "gb_impl.h"

#define HT_THETA 26
#define HT_FINGERS 5

typedef struct ht_state {
    int64_t B, V, N;
    bool complicated;           /* "us" non-empty: points on triangles */
    ad_tensor *theta, *us;      /* [26]; [N, 2] or NULL */
    ad_tensor *base_rel, *inv_abs; /* [B, 4, 4] */
    ad_tensor *cv1;             /* [V, 4B + 1] (the file's comment) */
    ad_tensor *points;          /* [N, 3] */
    ad_tensor *mirror;          /* [1, 3]: (-1 or 1, 1, 1) scales the positions' x before the global transform */
    int64_t *vert[3];           /* each point's vertex (simple: vert[0]) or its triangle's three */
    int64_t euler_pick[3 * 64]; /* [3, B] Euler angles as picks from [0, theta] (0: not posed) */
    int64_t order[64], unorder[64], parent_pos[64]; /* bones by depth; where each bone is in that order */
    int64_t level_end[64];
    int nlevels;
    double *out;                /* last run: 3N errors, or the 3N x ncols Jacobian */
    size_t nout, ncols;
} ht_state;

/* [B, 3, 3] from the columns of cs [B, 5] = (0, 1, cos, sin, -sin) picked row-major. */
static ad_tensor *rot3(ad_tensor *cs, int64_t B, const int64_t pick[9])
{
    return ad_reshape(ad_index_select(cs, 1, 9, pick), AD_SHAPE(B, 3, 3));
}

/* Each bone's rotation Rz·Ry·Rx from its angles e [3, B] (rows x, z, y). */
static ad_tensor *euler_rotations(ad_ctx *ctx, ad_tensor *e, int64_t B)
{
    static const int64_t RX[9] = {1, 0, 0, 0, 2, 4, 0, 3, 2}, RY[9] = {2, 0, 3, 0, 1, 0, 4, 0, 2},
                         RZ[9] = {2, 4, 0, 3, 2, 0, 0, 0, 1};
    ad_tensor *zero = ad_zeros(ctx, AD_SHAPE(B)), *one = ad_ones(ctx, AD_SHAPE(B)), *R[3];
    for (int a = 0; a < 3; a++) { /* a = 0: x, 1: z, 2: y */
        ad_tensor *ang = ad_idx(e, AD_I(a)), *s = ad_sin(ang);
        ad_tensor *cs = ad_stack((ad_tensor *[]){zero, one, ad_cos(ang), s, ad_neg(s)}, 5, 1);
        R[a] = rot3(cs, B, a == 0 ? RX : a == 1 ? RZ : RY);
    }
    return ad_matmul(ad_matmul(R[1], R[2]), R[0]);
}

/* The global rotation from the angle-axis r [3]: c I + (1 - c) a aᵀ + s [a]x
 * (the reference's entries), the identity when |r| < 1e-4 as there. */
static ad_tensor *angle_axis(ad_ctx *ctx, ad_tensor *r)
{
    ad_tensor *norm = ad_sqrt(ad_sum(ad_square(r), AD_ALL, false));
    if (!norm) return NULL;
    if (ad_item(norm) < 1e-4) return ad_eye(ctx, 3);
    static const int64_t CROSS[9] = {0, 6, 2, 3, 0, 4, 5, 1, 0}; /* from (0, a, -a) */
    ad_tensor *a = ad_div(r, norm), *c = ad_cos(norm);
    ad_tensor *K = ad_reshape(
        ad_index_select(ad_concat((ad_tensor *[]){ad_zeros(ctx, AD_SHAPE(1)), a, ad_neg(a)}, 3, 0), 0, 9, CROSS),
        AD_SHAPE(3, 3));
    ad_tensor *aa = ad_mul(ad_outer(a, a), ad_rsub_s(1.0, c));
    return ad_add(ad_add(ad_mul(ad_eye(ctx, 3), c), aa), ad_mul(K, ad_sin(norm)));
}

/* Absolutes [B, 4, 4] from relatives: one batched matmul per tree level. */
static ad_tensor *absolutes(const ht_state *s, ad_tensor *rel)
{
    ad_tensor *ro = ad_index_select(rel, 0, s->B, s->order);
    ad_tensor *abs = ad_idx(ro, AD_S(0, s->level_end[0]));
    for (int L = 1; L < s->nlevels; L++) {
        int64_t a = s->level_end[L - 1], e = s->level_end[L];
        ad_tensor *par = ad_index_select(abs, 0, e - a, s->parent_pos + a);
        abs = ad_concat((ad_tensor *[]){abs, ad_matmul(par, ad_idx(ro, AD_S(a, e)))}, 2, 0);
    }
    return ad_index_select(abs, 0, s->B, s->unorder);
}

/* pose(theta) = [G_1ᵀ; ...; G_Bᵀ; t], [4B + 1, 3] (the file's comment). */
static ad_tensor *ht_pose(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    const ht_state *s = user;
    ad_tensor *theta = in[0];
    int64_t B = s->B;
    ad_tensor *t0 = ad_concat((ad_tensor *[]){ad_zeros(ctx, AD_SHAPE(1)), theta}, 2, 0);
    ad_tensor *e = ad_reshape(ad_index_select(t0, 0, 3 * B, s->euler_pick), AD_SHAPE(3, B));
    ad_tensor *Rb = euler_rotations(ctx, e, B);
    ad_tensor *base = s->base_rel;
    ad_tensor *rel = ad_concat((ad_tensor *[]){ad_matmul(ad_idx(base, AD_FULL, AD_FULL, AD_S(0, 3)), Rb),
                                               ad_idx(base, AD_FULL, AD_FULL, AD_S(3, 4))},
                               2, 2);
    ad_tensor *top = ad_idx(ad_matmul(absolutes(s, rel), s->inv_abs), AD_FULL, AD_S(0, 3), AD_FULL);
    ad_tensor *Rg = ad_mul(angle_axis(ctx, ad_idx(theta, AD_S(0, 3))), s->mirror); /* Rg · diag(mirror) */
    ad_tensor *G = ad_matmul(Rg, top);                                                /* [B, 3, 4] */
    ad_tensor *Gs = ad_reshape(ad_permute_v(G, 0, 2, 1), AD_SHAPE(4 * B, 3));
    return ad_concat((ad_tensor *[]){Gs, ad_unsqueeze(ad_idx(theta, AD_S(3, 6)), 0)}, 2, 0);
}

/* The model's points from per-vertex rows x [V, c]: x[vert] (simple), or
 * u0 x[v0] + u1 x[v1] + (1 - u0 - u1) x[v2] with us [N, 2]. */
static ad_tensor *at_points(const ht_state *s, ad_tensor *us, ad_tensor *x)
{
    ad_tensor *p0 = ad_index_select(x, 0, s->N, s->vert[0]);
    if (!s->complicated) return p0;
    ad_tensor *p1 = ad_index_select(x, 0, s->N, s->vert[1]), *p2 = ad_index_select(x, 0, s->N, s->vert[2]);
    ad_tensor *u0 = ad_idx(us, AD_FULL, AD_S(0, 1)), *u1 = ad_idx(us, AD_FULL, AD_S(1, 2));
    return ad_add(p2, ad_add(ad_mul(u0, ad_sub(p0, p2)), ad_mul(u1, ad_sub(p1, p2))));
}

/* The errors [N, 3]: points - the model's points at us, vertices pos [V, 3]. */
static ad_tensor *errors(const ht_state *s, ad_tensor *us, ad_tensor *pos)
{
    return ad_sub(s->points, at_points(s, us, pos));
}

/* ---- the u columns (complicated): in[last] = vertex positions, held constant ---- */

/* By rows (VJP backends): Σ_i errors_i [3] as a function of us [N, 2]. */
static ad_tensor *ht_u_summed(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    return ad_sum(errors(user, in[0], in[1]), AD_AXES(0), false);
}

/* By columns: errors [N, 3] with one shared change du [2] of every point's u. */
static ad_tensor *ht_u_shifted(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)ctx;
    return errors(user, ad_add(in[1], in[0]), in[2]);
}

/* d error_ij / d u_ik as [N, 3, 2] through backend b. */
static ad_tensor *u_columns(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ht_state *s, ad_tensor *pos)
{
    bool by_rows = b && b->vjp && !b->jvp;
    static const bool wrt_first[3] = {true, false, false};
    ad_tensor *in[3] = {s->us, pos}, *J[3] = {0};
    ad_problem p = {.ctx = ctx, .f = ht_u_summed, .user = s, .nin = 2, .in = in, .wrt = wrt_first};
    if (!by_rows) {
        in[0] = ad_zeros(ctx, AD_SHAPE(2)), in[1] = s->us, in[2] = pos;
        p = (ad_problem){.ctx = ctx, .f = ht_u_shifted, .user = s, .nin = 3, .in = in, .wrt = wrt_first};
    }
    if (ad_errno(ctx) != AD_OK || ad_jacobian(b, &p, o, NULL, J, NULL, NULL, NULL) != AD_OK) return NULL;
    return by_rows ? ad_permute_v(J[0], 1, 0, 2) : J[0]; /* [3, N, 2] -> [N, 3, 2] */
}

/* The Jacobian [N, 3, ncols] in the output's column order. */
static ad_tensor *jacobian(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ht_state *s)
{
    ad_tensor *pose = NULL, *J[1] = {0};
    ad_problem p = {.ctx = ctx, .f = ht_pose, .user = s, .nin = 1, .in = &s->theta};
    if (ad_jacobian(b, &p, o, &pose, J, NULL, NULL, NULL) != AD_OK) return NULL;
    ad_tensor *Jv = ad_matmul(s->cv1, ad_reshape(J[0], AD_SHAPE(4 * s->B + 1, 3 * HT_THETA))); /* [V, 78] */
    ad_tensor *Jt = ad_neg(ad_reshape(at_points(s, s->us, Jv), AD_SHAPE(s->N, 3, HT_THETA)));
    if (!s->complicated) return Jt;
    ad_tensor *Ju = u_columns(ctx, b, o, s, ad_matmul(s->cv1, pose));
    return Ju ? ad_concat((ad_tensor *[]){Ju, Jt}, 2, 2) : NULL;
}

static int ht_objective(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    (void)b;
    (void)o;
    ht_state *s = state;
    bool prev = ad_set_grad_enabled(ctx, false); /* the value alone: nothing to record */
    ad_scope sc = ad_scope_begin(ctx);
    ad_tensor *pos = ad_matmul(s->cv1, ht_pose(ctx, &s->theta, s));
    int rc = gb_copy_out(ctx, "ht objective", errors(s, s->us, pos), s->out, s->nout);
    ad_scope_end(ctx, sc, NULL);
    ad_set_grad_enabled(ctx, prev);
    return rc;
}

static int ht_jacobian(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    ht_state *s = state;
    ad_scope sc = ad_scope_begin(ctx);
    int rc = gb_copy_out(ctx, "ht jacobian", jacobian(ctx, b, o, s), s->out, s->nout);
    ad_scope_end(ctx, sc, NULL);
    return rc;
}

static json_t *ht_errors_out(ad_ctx *ctx, void *state)
{
    ht_state *s = state;
    return gb_json_list(ctx, s->out, s->nout);
}

static json_t *ht_rows_out(ad_ctx *ctx, void *state)
{
    ht_state *s = state;
    return gb_json_rows(ctx, s->out, s->nout / s->ncols, s->ncols);
}

/* ---- the input ---- */

static void ht_free(void *state)
{
    ht_state *s = state;
    if (!s) return;
    ad_tensor *own[] = {s->theta, s->us, s->base_rel, s->inv_abs, s->cv1, s->points, s->mirror};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) ad_tensor_free(own[i]);
    for (int k = 0; k < 3; k++) free(s->vert[k]);
    free(s->out);
    free(s);
}

/* Euler angles [3, B] as picks from [0, theta]: the reference's
 * to_pose_params, where finger f's joints 2..4 are bones 2 + 4f + j, each
 * with an x angle, the first also a z angle; the other bones stay unposed. */
static void euler_picks(ht_state *s)
{
    int64_t B = s->B, next = 6;
    memset(s->euler_pick, 0, sizeof s->euler_pick);
    for (int64_t f = 0; f < HT_FINGERS; f++)
        for (int64_t j = 0; j < 3; j++) {
            int64_t bone = 2 + 4 * f + j;
            s->euler_pick[bone] = 1 + next++;                  /* row 0: x */
            if (j == 0) s->euler_pick[B + bone] = 1 + next++;  /* row 1: z */
        }
}

/* The bones by depth (parents come first, as the reference assumes). */
static int bone_levels(ad_ctx *ctx, ht_state *s, const int64_t *parents)
{
    int64_t depth[64], n = 0;
    for (int64_t b = 0; b < s->B; b++) {
        if (parents[b] >= b)
            return ad_raise(ctx, AD_EINVAL, "ht: data.model.parents[%lld] = %lld is not an earlier bone",
                            (long long)b, (long long)parents[b]);
        depth[b] = parents[b] < 0 ? 0 : depth[parents[b]] + 1;
    }
    for (int64_t d = 0; n < s->B; d++) {
        for (int64_t b = 0; b < s->B; b++)
            if (depth[b] == d) s->unorder[b] = n, s->order[n++] = b;
        s->level_end[s->nlevels++] = n;
    }
    for (int64_t i = 0; i < s->B; i++)
        s->parent_pos[i] = parents[s->order[i]] < 0 ? 0 : s->unorder[parents[s->order[i]]];
    return AD_OK;
}

/* CV1 [V, 4B + 1] from weights [V, B] and base positions [V, 4]. */
static int make_cv1(ad_ctx *ctx, ht_state *s, const json_t *model)
{
    ad_scope sc = ad_scope_begin(ctx);
    ad_tensor *bp = gb_json_matrix_tensor(ctx, "ht: data.model", model, "base_positions", 4);
    ad_tensor *w = bp ? gb_json_matrix_tensor(ctx, "ht: data.model", model, "weights", 1) : NULL;
    int rc = w ? AD_OK : ad_errno(ctx);
    if (rc == AD_OK && (ad_dim(bp, 1) != 4 || ad_dim(w, 0) != ad_dim(bp, 0) || ad_dim(w, 1) != s->B))
        rc = ad_raise(ctx, AD_ESHAPE, "ht: data.model: base_positions is %lld x %lld and weights %lld x %lld, not V x 4 "
                      "and V x %lld", (long long)ad_dim(bp, 0), (long long)ad_dim(bp, 1), (long long)ad_dim(w, 0),
                      (long long)ad_dim(w, 1), (long long)s->B);
    ad_tensor *cv1 = NULL;
    if (rc == AD_OK) {
        s->V = ad_dim(bp, 0);
        ad_tensor *cv = ad_reshape(ad_mul(ad_unsqueeze(w, 2), ad_unsqueeze(bp, 1)), AD_SHAPE(s->V, 4 * s->B));
        cv1 = ad_contiguous(ad_concat((ad_tensor *[]){cv, ad_ones(ctx, AD_SHAPE(s->V, 1))}, 2, 1));
        if (!cv1) rc = ad_errno(ctx);
    }
    s->cv1 = ad_scope_end(ctx, sc, cv1);
    return rc;
}

/* The bones: parents, transforms, the Euler picks and the levels. */
static int read_bones(ad_ctx *ctx, ht_state *s, const json_t *model)
{
    int64_t *parents = NULL;
    size_t B = 0;
    int rc = gb_json_ints(ctx, "ht: data.model", model, "parents", -1, 63, 0, &parents, &B);
    if (rc == AD_OK && (B < 21 || B > 64))
        rc = ad_raise(ctx, AD_EINVAL, "ht: data.model has %zu bones (21 to 64: theta poses bones up to 20)", B);
    s->B = (int64_t)B;
    if (rc == AD_OK) rc = bone_levels(ctx, s, parents);
    free(parents);
    if (rc != AD_OK) return rc;
    euler_picks(s);
    s->base_rel = gb_json_matrices_tensor(ctx, "ht: data.model", model, "base_relatives", 4, 4);
    s->inv_abs = s->base_rel ? gb_json_matrices_tensor(ctx, "ht: data.model", model, "inverse_base_absolutes", 4, 4)
                             : NULL;
    if (!s->inv_abs) return ad_errno(ctx);
    if (ad_dim(s->base_rel, 0) != s->B || ad_dim(s->inv_abs, 0) != s->B)
        return ad_raise(ctx, AD_ESHAPE, "ht: data.model: %lld base_relatives and %lld inverse_base_absolutes for %lld "
                        "bones", (long long)ad_dim(s->base_rel, 0), (long long)ad_dim(s->inv_abs, 0), (long long)s->B);
    const json_t *m = json_object_get(model, "is_mirrored");
    if (!json_is_boolean(m)) return ad_raise(ctx, AD_EINVAL, "ht: data.model: \"is_mirrored\" must be true or false");
    double mv[3] = {json_is_true(m) ? -1.0 : 1.0, 1.0, 1.0};
    s->mirror = ad_from_array(ctx, AD_SHAPE(1, 3), mv);
    return s->mirror ? make_cv1(ctx, s, model) : ad_errno(ctx);
}

/* The correspondences: vertices, or triangles' vertices (complicated). */
static int read_correspondences(ad_ctx *ctx, ht_state *s, const json_t *data, const json_t *model)
{
    int64_t *corr = NULL, *tri = NULL;
    size_t n = 0, T = 0;
    int rc = gb_json_ints(ctx, "ht: data", data, "correspondences", 0, INT32_MAX, 0, &corr, &n);
    if (rc == AD_OK && s->complicated)
        rc = gb_json_ints(ctx, "ht: data.model", model, "triangles", 0, s->V - 1, 3, &tri, &T);
    int64_t limit = s->complicated ? (int64_t)T : s->V;
    for (size_t i = 0; rc == AD_OK && i < n; i++)
        if (corr[i] >= limit)
            rc = ad_raise(ctx, AD_EINVAL, "ht: data.correspondences[%zu] = %lld: there are %lld %s", i,
                          (long long)corr[i], (long long)limit, s->complicated ? "triangles" : "vertices");
    for (int k = 0; rc == AD_OK && k < (s->complicated ? 3 : 1); k++) {
        if (!(s->vert[k] = malloc(n * sizeof *s->vert[k]))) rc = ad_raise(ctx, AD_ENOMEM, "ht: out of memory");
        for (size_t i = 0; rc == AD_OK && i < n; i++) s->vert[k][i] = s->complicated ? tri[3 * corr[i] + k] : corr[i];
    }
    s->N = (int64_t)n;
    free(corr);
    free(tri);
    return rc;
}

/* theta, us, data.points: sizes agreeing with the correspondences. */
static int read_points(ad_ctx *ctx, ht_state *s, const json_t *input, const json_t *data)
{
    s->theta = gb_json_vector_tensor(ctx, "ht", input, "theta", 1);
    if (!s->theta) return ad_errno(ctx);
    if (ad_numel(s->theta) != HT_THETA)
        return ad_raise(ctx, AD_ESHAPE, "ht: \"theta\" has %lld entries, not %d", (long long)ad_numel(s->theta),
                        HT_THETA);
    s->points = gb_json_matrix_tensor(ctx, "ht: data", data, "points", 3);
    if (!s->points) return ad_errno(ctx);
    if (ad_dim(s->points, 0) != s->N || ad_dim(s->points, 1) != 3)
        return ad_raise(ctx, AD_ESHAPE, "ht: data.points is %lld x %lld, not %lld x 3 (one per correspondence)",
                        (long long)ad_dim(s->points, 0), (long long)ad_dim(s->points, 1), (long long)s->N);
    if (!s->complicated) return AD_OK;
    s->us = gb_json_matrix_tensor(ctx, "ht", input, "us", 2);
    if (!s->us) return ad_errno(ctx);
    if (ad_dim(s->us, 0) != s->N || ad_dim(s->us, 1) != 2)
        return ad_raise(ctx, AD_ESHAPE, "ht: \"us\" is %lld x %lld, not %lld x 2 (one per correspondence)",
                        (long long)ad_dim(s->us, 0), (long long)ad_dim(s->us, 1), (long long)s->N);
    return AD_OK;
}

static int ht_read(ad_ctx *ctx, const json_t *input, ht_state *s)
{
    const json_t *us = json_is_object(input) ? json_object_get(input, "us") : NULL;
    if (!json_is_array(us)) return ad_raise(ctx, AD_EINVAL, "ht: the input has no array \"us\"");
    s->complicated = json_array_size(us) > 0; /* the README: the simple variant sends "us": [] */
    const json_t *data = json_object_get(input, "data");
    const json_t *model = json_is_object(data) ? json_object_get(data, "model") : NULL;
    if (!json_is_object(model)) return ad_raise(ctx, AD_EINVAL, "ht: the input has no object \"data\" with \"model\"");
    int rc = read_bones(ctx, s, model);
    if (rc == AD_OK) rc = read_correspondences(ctx, s, data, model);
    return rc == AD_OK ? read_points(ctx, s, input, data) : rc;
}

static int ht_prepare_as(ad_ctx *ctx, const json_t *input, void **state, bool jacobian)
{
    ht_state *s = calloc(1, sizeof *s);
    if (!s) return ad_raise(ctx, AD_ENOMEM, "ht: out of memory");
    int rc = ht_read(ctx, input, s);
    s->ncols = jacobian ? (s->complicated ? 2 : 0) + HT_THETA : 1;
    s->nout = 3 * (size_t)s->N * s->ncols;
    if (rc == AD_OK && !(s->out = malloc(s->nout * sizeof *s->out)))
        rc = ad_raise(ctx, AD_ENOMEM, "ht: out of memory for %zu values", s->nout);
    for (size_t i = 0; rc == AD_OK && i < s->nout; i++) s->out[i] = NAN; /* no run yet: no number to answer */
    if (rc != AD_OK) {
        ht_free(s);
        return rc;
    }
    *state = s;
    return AD_OK;
}

static int ht_prepare_objective(ad_ctx *ctx, const json_t *input, void **state)
{
    return ht_prepare_as(ctx, input, state, false);
}

static int ht_prepare_jacobian(ad_ctx *ctx, const json_t *input, void **state)
{
    return ht_prepare_as(ctx, input, state, true);
}

static const gb_function ht_functions[] = {
    {"objective", ht_prepare_objective, ht_objective, ht_errors_out, ht_free},
    {"jacobian", ht_prepare_jacobian, ht_jacobian, ht_rows_out, ht_free},
};

const gb_eval gb_eval_ht = {"ht", ht_functions, 2};

/* ---- the harness's sweep over n points (the simple variant) ----
 * A synthetic hand in the data files' form: 22 bones (a root, the wrist,
 * five fingers of four bones: the tree to_pose_params expects), base
 * relatives that translate each bone along its finger, 544 vertices (the
 * big model's count) weighted over every bone, each point matched to a
 * random vertex, points uniform in [0, 1)³, theta uniform on [-0.5, 0.5)
 * (all from the context's RNG).  The function timed is the whole objective, theta [26]
 * to the 3n errors, and its derivative the dense Jacobian: what ht.c does
 * not do (26 passes forward; 3n sweeps in reverse, each over an O(n)
 * graph), so the sweep shows why it compresses. */

#define HT_BENCH_B 22
#define HT_BENCH_V 544

static const int64_t HT_BENCH_PARENTS[HT_BENCH_B] = {-1, 0, 1, 2, 3, 4, 1, 6, 7, 8, 1, 10, 11, 12, 1, 14, 15, 16,
                                                     1,  18, 19, 20};

/* in = theta [26], base_rel, inv_abs [B, 4, 4], cv1 [V, 4B + 1], points [n, 3], mirror [1, 3],
 * the points' vertices [n] (as doubles) */
static ad_tensor *ht_bench_f(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    (void)user;
    ht_state s = {.B = HT_BENCH_B, .V = HT_BENCH_V, .N = ad_dim(in[4], 0), .base_rel = in[1], .inv_abs = in[2],
                  .cv1 = in[3], .points = in[4], .mirror = in[5]};
    if (bone_levels(ctx, &s, HT_BENCH_PARENTS) != AD_OK) return NULL;
    euler_picks(&s);
    int64_t *vert = malloc((size_t)s.N * sizeof *vert);
    if (!vert) return ad_raise(ctx, AD_ENOMEM, "gb:ht: out of memory"), NULL;
    const double *v = ad_data(in[6]);
    for (int64_t i = 0; i < s.N; i++) vert[i] = (int64_t)v[i];
    s.vert[0] = vert;
    ad_tensor *e = errors(&s, NULL, ad_matmul(s.cv1, ht_pose(ctx, in, &s))); /* index_select copies vert */
    free(vert);
    return e;
}

/* base relatives: bone b moves by 0.1 along y from its parent (a finger's
 * first bone also by 0.03 (f - 2) along x); inverse base absolutes: minus
 * the sum of the chain's moves. */
static int ht_bench_bones(ad_ctx *ctx, ad_tensor **rel, ad_tensor **inv)
{
    *rel = ad_eye(ctx, 4);
    *inv = ad_eye(ctx, 4);
    *rel = *rel ? ad_contiguous(ad_expand(ad_unsqueeze(*rel, 0), AD_SHAPE(HT_BENCH_B, 4, 4))) : NULL;
    *inv = *inv ? ad_contiguous(ad_expand(ad_unsqueeze(*inv, 0), AD_SHAPE(HT_BENCH_B, 4, 4))) : NULL;
    if (!*rel || !*inv) return ad_errno(ctx);
    double *r = ad_data(*rel), *iv = ad_data(*inv), abs[HT_BENCH_B][2] = {{0}};
    for (int64_t b = 1; b < HT_BENCH_B; b++) {
        bool first = b >= 2 && (b - 2) % 4 == 0;
        double dx = first ? 0.03 * (double)((b - 2) / 4 - 2) : 0, dy = 0.1;
        int64_t p = HT_BENCH_PARENTS[b];
        r[b * 16 + 3] = dx, r[b * 16 + 7] = dy;
        abs[b][0] = abs[p][0] + dx, abs[b][1] = abs[p][1] + dy;
        iv[b * 16 + 3] = -abs[b][0], iv[b * 16 + 7] = -abs[b][1];
    }
    return AD_OK;
}

/* cv1 from random base positions in [0, 1)³ and weights normalised over the bones */
static ad_tensor *ht_bench_cv1(ad_ctx *ctx)
{
    ad_tensor *bp = ad_concat((ad_tensor *[]){ad_rand(ctx, AD_SHAPE(HT_BENCH_V, 3)), ad_ones(ctx, AD_SHAPE(HT_BENCH_V, 1))},
                              2, 1);
    ad_tensor *w = ad_rand(ctx, AD_SHAPE(HT_BENCH_V, HT_BENCH_B));
    w = ad_div(w, ad_sum(w, AD_AXES(1), true));
    ad_tensor *cv = ad_reshape(ad_mul(ad_unsqueeze(w, 2), ad_unsqueeze(bp, 1)), AD_SHAPE(HT_BENCH_V, 4 * HT_BENCH_B));
    return ad_contiguous(ad_concat((ad_tensor *[]){cv, ad_ones(ctx, AD_SHAPE(HT_BENCH_V, 1))}, 2, 1));
}

static int ht_bench_inputs(const ad_bench_fn *fn, ad_ctx *ctx, int64_t n, ad_tensor **in, bool *wrt)
{
    (void)fn;
    in[0] = ad_sub_s(ad_rand(ctx, AD_SHAPE(HT_THETA)), 0.5); /* all owned by the harness's scope */
    int rc = ht_bench_bones(ctx, &in[1], &in[2]);
    in[3] = rc == AD_OK ? ht_bench_cv1(ctx) : NULL;
    in[5] = ad_from_array(ctx, AD_SHAPE(1, 3), (const double[]){1, 1, 1});
    in[4] = ad_rand(ctx, AD_SHAPE(n, 3));
    in[6] = ad_rand(ctx, AD_SHAPE(n));
    if (!in[0] || !in[3] || !in[4] || !in[5] || !in[6]) return ad_errno(ctx);
    double *v = ad_data(in[6]);
    for (int64_t i = 0; i < n; i++) v[i] = floor(v[i] * HT_BENCH_V); /* a vertex each */
    for (int i = 0; i < 7; i++) wrt[i] = i == 0;
    return 7;
}

/* Over n: the pose is n-independent and the skinning and the errors
 * linear; the dense Jacobian costs 26 passes forward and 3n sweeps of an
 * O(n) graph in reverse. */
const ad_bench_fn ad_bench_gb_ht = {
    .name = "gb:ht", .size_name = "n", .jacobian = true,
    .definition = "GradBench ht (simple): the 3n errors of n points on a 22-bone, 544-vertex hand, dense Jacobian in theta",
    .f = ht_bench_f, .make_inputs = ht_bench_inputs, .theory_eval = 1,
    .theory_time = {2, 1, 1}, .theory_mem = {1, 1, 1},
    .sizes = "100,400,1600,6400,25600,102400", .quick_sizes = "10,100,1000,10000"};
