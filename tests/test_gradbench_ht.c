/* tests/test_gradbench_ht.c — GradBench's ht eval (bench/gradbench/ht.c) on
 * a small hand of 22 bones: its errors against a plain-C implementation
 * written here from the reference's definition (bone by bone, 4 x 4
 * matrices, vertex by vertex), its Jacobian against central differences of
 * that implementation for every exact backend, in both variants (simple:
 * "us" empty; complicated: points on triangles, two u columns first), the
 * outputs' JSON shapes, and bad inputs refused by name. */
#include "gradbench/gradbench.h"
#include <string.h>

#include "helpers.h"

TestSuite(gbht, .init = th_setup, .fini = th_teardown);

enum { HB = 22, HV = 7, HN = 5, HT = 4, HTH = 26 };

typedef struct hand {
    int parents[HB];
    double rel[HB][4][4], inv[HB][4][4], pos[HV][4], w[HV][HB], points[HN][3];
    int tri[HT][3], corr[HN];
    bool mirrored;
} hand;

/* A deterministic, high-entropy value in [-1, 1]. */
static double noise(int i) { return sin(2.385 * i + 0.731 * (i % 7) + 0.3); }

static void affine(double m[4][4], int seed, double scale)
{
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) m[r][c] = r == 3 ? (c == 3) : (r == c) + scale * noise(seed + 4 * r + c);
}

static hand make_hand(bool mirrored)
{
    hand h = {.mirrored = mirrored};
    for (int b = 0; b < HB; b++) {
        h.parents[b] = b == 0 ? -1 : b == 21 ? 0 : (b - 1) % 4 == 0 ? 0 : b - 1; /* wrist, 5 fingers of 4, forearm */
        affine(h.rel[b], 31 * b, 0.3);
        affine(h.inv[b], 31 * b + 17, 0.25);
    }
    for (int v = 0; v < HV; v++) {
        for (int k = 0; k < 3; k++) h.pos[v][k] = 0.5 * noise(100 + 3 * v + k);
        h.pos[v][3] = 1;
        for (int b = 0; b < HB; b++) h.w[v][b] = 0.5 + 0.5 * noise(200 + HB * v + b);
    }
    static const int tri[HT][3] = {{0, 1, 2}, {2, 3, 4}, {1, 4, 6}, {5, 6, 3}}, corr[HN] = {3, 0, 2, 1, 3};
    memcpy(h.tri, tri, sizeof tri);
    memcpy(h.corr, corr, sizeof corr);
    for (int i = 0; i < HN; i++)
        for (int k = 0; k < 3; k++) h.points[i][k] = noise(400 + 3 * i + k);
    return h;
}

static void mul4(const double a[4][4], const double b[4][4], double out[4][4])
{
    double t[4][4] = {{0}};
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < 4; k++) t[r][c] += a[r][k] * b[k][c];
    memcpy(out, t, sizeof t);
}

/* Rz(z)·Ry(y)·Rx(x) as a 4 x 4 with no translation. */
static void euler(double x, double z, double y, double out[4][4])
{
    double Rx[4][4] = {{1, 0, 0, 0}, {0, cos(x), -sin(x), 0}, {0, sin(x), cos(x), 0}, {0, 0, 0, 1}};
    double Ry[4][4] = {{cos(y), 0, sin(y), 0}, {0, 1, 0, 0}, {-sin(y), 0, cos(y), 0}, {0, 0, 0, 1}};
    double Rz[4][4] = {{cos(z), -sin(z), 0, 0}, {sin(z), cos(z), 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    mul4(Rz, Ry, out);
    mul4(out, Rx, out);
}

/* The model's vertices after posing by theta, before the global transform. */
static void skinned(const hand *h, const double *theta, double out[HV][3])
{
    double ang[HB][3] = {{0}}, abs[HB][4][4];
    for (int f = 0, t = 6; f < 5; f++) /* finger f's joints 2..4 are bones 2 + 4f + j */
        for (int j = 0; j < 3; j++) {
            ang[2 + 4 * f + j][0] = theta[t++];
            if (j == 0) ang[2 + 4 * f + j][1] = theta[t++];
        }
    for (int b = 0; b < HB; b++) {
        double R[4][4], rel[4][4];
        euler(ang[b][0], ang[b][1], ang[b][2], R);
        mul4(h->rel[b], R, rel);
        if (h->parents[b] < 0) memcpy(abs[b], rel, sizeof rel);
        else mul4(abs[h->parents[b]], rel, abs[b]);
    }
    memset(out, 0, sizeof(double[HV][3]));
    for (int b = 0; b < HB; b++) {
        double T[4][4];
        mul4(abs[b], h->inv[b], T);
        for (int v = 0; v < HV; v++)
            for (int r = 0; r < 3; r++)
                for (int k = 0; k < 4; k++) out[v][r] += h->w[v][b] * T[r][k] * h->pos[v][k];
    }
}

/* The errors (3N): points minus the posed, mirrored, globally moved model's points. */
static void ht_ref(const hand *h, const double *theta, const double *us, double *err)
{
    double P[HV][3], R[3][3], n = sqrt(theta[0] * theta[0] + theta[1] * theta[1] + theta[2] * theta[2]);
    skinned(h, theta, P);
    double a[3] = {theta[0] / n, theta[1] / n, theta[2] / n}, c = cos(n), s = sin(n);
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++) R[r][k] = a[r] * a[k] * (1 - c) + (r == k) * c;
    R[0][1] -= a[2] * s, R[0][2] += a[1] * s, R[1][0] += a[2] * s;
    R[1][2] -= a[0] * s, R[2][0] -= a[1] * s, R[2][1] += a[0] * s;
    double G[HV][3];
    for (int v = 0; v < HV; v++)
        for (int r = 0; r < 3; r++)
            G[v][r] = theta[3 + r] + R[r][0] * (h->mirrored ? -P[v][0] : P[v][0]) + R[r][1] * P[v][1] +
                      R[r][2] * P[v][2];
    for (int i = 0; i < HN; i++)
        for (int r = 0; r < 3; r++) {
            double m = G[h->corr[i]][r];
            if (us) {
                const int *t = h->tri[h->corr[i]];
                m = us[2 * i] * G[t[0]][r] + us[2 * i + 1] * G[t[1]][r] + (1 - us[2 * i] - us[2 * i + 1]) * G[t[2]][r];
            }
            err[3 * i + r] = h->points[i][r] - m;
        }
}

static json_t *rows(const double *v, int nrows, int ncols)
{
    json_t *a = json_array();
    for (int i = 0; i < nrows; i++) {
        json_t *r = json_array();
        for (int j = 0; j < ncols; j++) json_array_append_new(r, json_real(v[i * ncols + j]));
        json_array_append_new(a, r);
    }
    return a;
}

static json_t *list(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_real(v[i]));
    return a;
}

static json_t *int_rows(const int *v, int nrows, int ncols)
{
    json_t *a = json_array();
    for (int i = 0; i < nrows; i++) {
        json_t *r = ncols ? json_array() : json_integer(v[i]);
        for (int j = 0; j < ncols; j++) json_array_append_new(r, json_integer(v[i * ncols + j]));
        json_array_append_new(a, r);
    }
    return a;
}

static json_t *mats(const double m[HB][4][4])
{
    json_t *a = json_array();
    for (int b = 0; b < HB; b++) json_array_append_new(a, rows(&m[b][0][0], 4, 4));
    return a;
}

/* GradBench's HTInput (the README's types) for h at theta and us (NULL: simple). */
static json_t *ht_input(const hand *h, const double *theta, const double *us)
{
    json_t *names = json_array();
    for (int b = 0; b < HB; b++) json_array_append_new(names, json_string("bone"));
    json_t *model = json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "bone_count", HB, "bone_names", names,
                              "parents", int_rows(h->parents, HB, 0), "base_relatives", mats(h->rel),
                              "inverse_base_absolutes", mats(h->inv), "base_positions", rows(&h->pos[0][0], HV, 4),
                              "weights", rows(&h->w[0][0], HV, HB), "triangles", int_rows(&h->tri[0][0], HT, 3),
                              "is_mirrored", h->mirrored);
    json_t *data = json_pack("{s:o, s:o, s:o}", "model", model, "correspondences", int_rows(h->corr, HN, 0), "points",
                             rows(&h->points[0][0], HN, 3));
    return json_pack("{s:o, s:o, s:o}", "theta", list(theta, HTH), "data", data, "us",
                     us ? rows(us, HN, 2) : json_array());
}

static const double THETA[HTH] = {0.41,  -0.23, 0.77, 0.12, -0.35, 0.58, 0.21, -0.14, 0.33, 0.09, -0.27, 0.45, 0.18,
                                  -0.06, 0.29,  0.37, -0.19, 0.24, 0.11, -0.32, 0.15, 0.26, -0.08, 0.36, 0.22, -0.17};
static const double US[HN * 2] = {0.23, 0.41, 0.6, 0.15, 0.12, 0.71, 0.35, 0.35, 0.05, 0.55};

/* The exact backends (forward, forward-vector, reverse among the built-ins). */
#define FOR_EXACT_BACKENDS(b)                                  \
    for (int bi_ = 0; bi_ < ad_backend_count(); bi_++)         \
        for (const ad_backend *b = ad_backend_at(bi_); b && (b->caps & AD_CAP_EXACT); b = NULL)

/* prepare, run once with b, output; NULL fails the test with ctx's message. */
static json_t *run_ht(const char *fname, json_t *input, const ad_backend *b)
{
    const gb_function *fn = gb_function_find(&gb_eval_ht, fname);
    cr_assert(fn, "ht has no function %s", fname);
    void *state = NULL;
    cr_assert_eq(fn->prepare(ctx, input, &state), AD_OK, "ht.%s prepare: %s", fname, ad_errmsg(ctx));
    ad_options o = {0};
    int rc = fn->run(ctx, b, &o, state);
    json_t *out = rc == AD_OK ? fn->output(ctx, state) : NULL;
    fn->free_state(state);
    cr_assert(out, "ht.%s with %s: %s", fname, b ? b->name : "-", ad_errmsg(ctx));
    return out;
}

static void check_objective(bool complicated, bool mirrored)
{
    hand h = make_hand(mirrored);
    json_t *in = ht_input(&h, THETA, complicated ? US : NULL);
    json_t *out = run_ht("objective", in, ad_backend_find("reverse"));
    double want[3 * HN];
    ht_ref(&h, THETA, complicated ? US : NULL, want);
    cr_assert(json_is_array(out) && json_array_size(out) == 3 * HN, "the objective is a list of 3N numbers");
    for (int i = 0; i < 3 * HN; i++)
        cr_expect(fabs(json_number_value(json_array_get(out, (size_t)i)) - want[i]) <= 1e-12 * fmax(1, fabs(want[i])),
                  "err[%d] = %.17g, the definition gives %.17g", i, json_number_value(json_array_get(out, (size_t)i)),
                  want[i]);
    json_decref(out);
    json_decref(in);
}

Test(gbht, objective_matches_the_definition, .description = "errors of both variants, mirrored or not")
{
    check_objective(false, false);
    check_objective(true, false);
    check_objective(false, true);
}

/* Column j of the Jacobian by central differences of the definition:
 * j < 2 (complicated) is every point's u_j at once (error i depends on u_i alone). */
static void fd_column(const hand *h, const double *us, int j, double *col)
{
    double th[HTH], u[2 * HN], ep[3 * HN], em[3 * HN], step = 1e-6;
    memcpy(th, THETA, sizeof th);
    if (us) memcpy(u, us, sizeof u);
    int t = us ? j - 2 : j;
    for (int sgn = 1; sgn >= -1; sgn -= 2) {
        if (t >= 0) th[t] = THETA[t] + sgn * step;
        for (int i = 0; t < 0 && i < HN; i++) u[2 * i + j] = us[2 * i + j] + sgn * step;
        ht_ref(h, th, us ? u : NULL, sgn > 0 ? ep : em);
    }
    for (int r = 0; r < 3 * HN; r++) col[r] = (ep[r] - em[r]) / (2 * step);
}

static void check_jacobian(bool complicated)
{
    hand h = make_hand(false);
    const double *us = complicated ? US : NULL;
    int ncols = HTH + (complicated ? 2 : 0);
    json_t *in = ht_input(&h, THETA, us);
    FOR_EXACT_BACKENDS(b)
    {
        json_t *out = run_ht("jacobian", in, b);
        cr_assert(json_is_array(out) && json_array_size(out) == 3 * HN, "%s: 3N rows", b->name);
        for (int j = 0; j < ncols; j++) {
            double col[3 * HN];
            fd_column(&h, us, j, col);
            for (int r = 0; r < 3 * HN; r++) {
                const json_t *row = json_array_get(out, (size_t)r);
                cr_assert_eq(json_array_size(row), (size_t)ncols, "%s: row %d has %d columns", b->name, r, ncols);
                double got = json_number_value(json_array_get(row, (size_t)j));
                cr_expect(fabs(got - col[r]) <= 1e-6 * fmax(1, fabs(col[r])), "%s: J[%d][%d] = %.12g, differences %.12g",
                          b->name, r, j, got, col[r]);
            }
        }
        json_decref(out);
    }
    json_decref(in);
}

Test(gbht, simple_jacobian_every_exact_backend, .description = "3N x 26 against central differences") { check_jacobian(false); }

Test(gbht, complicated_jacobian_every_exact_backend, .description = "3N x 28, u columns first")
{
    check_jacobian(true);
}

static void expect_refused(json_t *in, const char *want)
{
    void *state = NULL;
    int rc = gb_eval_ht.functions[1].prepare(ctx, in, &state);
    cr_expect_neq(rc, AD_OK, "refused: %s", want);
    cr_expect(strstr(ad_errmsg(ctx), want), "'%s' names '%s'", ad_errmsg(ctx), want);
    ad_clear_error(ctx);
    json_decref(in);
}

Test(gbht, bad_inputs_are_refused_by_name, .description = "prepare fails naming the field")
{
    hand h = make_hand(false);
    json_t *in = ht_input(&h, THETA, US);
    json_array_remove(json_object_get(in, "theta"), 0);
    expect_refused(in, "\"theta\" has 25 entries");
    h.parents[3] = 5;
    expect_refused(ht_input(&h, THETA, US), "parents[3] = 5 is not an earlier bone");
    h = make_hand(false);
    h.corr[2] = HT;
    expect_refused(ht_input(&h, THETA, US), "correspondences[2] = 4: there are 4 triangles");
    h = make_hand(false);
    in = ht_input(&h, THETA, US);
    json_array_remove(json_object_get(in, "us"), 0);
    expect_refused(in, "\"us\" is 4 x 2, not 5 x 2");
}
