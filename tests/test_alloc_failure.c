/* tests/test_alloc_failure.c — a failed allocation is an error, never a
 * wrong answer.
 *
 * For every scenario (a gradient by every backend, backward by hand, a
 * Jacobian in every mode, JVPs and VJPs, the Hessian, an HVP, gradcheck
 * with and without second order, expression evaluation and its gradient,
 * a bench cell through the harness) the N-th allocation of the call fails,
 * for every N until the call no longer reaches N.  Each time the call must
 * either return AD_ENOMEM with a message, or succeed with results bit for
 * bit those of the reference run; the context's live bytes and tensors
 * return to where they were, grad mode and the forward width are
 * restored, the same call then succeeds with the reference results, and
 * freeing the context leaves no byte behind.  The contexts bypass the
 * recycling pools (ad_ctx_options.no_recycling), so the hook sees every
 * tensor handle and small block as well. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/bench.h"
#include "helpers.h"
#include "th_params.h"

/* ---- the hook -------------------------------------------------------------------------------- */

/* Counts allocations and live bytes; fails the allocation arm() names. */
static th_alloc H = {.fail_at = -1};

static void arm(int64_t n) { th_alloc_arm(&H, n); }
static void disarm(void) { H.fail_at = -1; }

/* ---- what a scenario returns ---------------------------------------------------------------- */

#define MAXR 4096
typedef struct {
    int n;
    double v[MAXR];
} result;

static void put_d(result *r, double v)
{
    cr_assert_lt(r->n, MAXR, "too many results");
    r->v[r->n++] = v;
}

/* t's values (NULL: a marker) appended to r; reads without allocating. */
static void put_t(result *r, ad_tensor *t)
{
    if (!t) {
        put_d(r, -999.25);
        return;
    }
    put_d(r, (double)ad_numel(t));
    const double *v = th_values(t);
    for (int64_t i = 0; i < ad_numel(t); i++) put_d(r, v[i]);
}

static void put_ts(result *r, ad_tensor *const *t, int n)
{
    for (int i = 0; i < n; i++) put_t(r, t[i]);
}

static void put_stats(result *r, const ad_stats *st)
{
    put_d(r, (double)st->passes);
    put_d(r, (double)st->sweeps);
}

/* ---- the functions -------------------------------------------------------------------------- */

/* f(x, w) = Σ tanh(w ⊙ x) + Σ sin(x)·x² + logsumexp(x);  x [3], w [2, 3]:
 * broadcasting (lifted tangents), products with tangents on both sides,
 * reductions. */
static ad_tensor *f_scalar(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0], *w = in[1];
    ad_tensor *a = ad_sum(ad_tanh(ad_mul(w, x)), AD_ALL, false);
    ad_tensor *b = ad_sum(ad_mul(ad_sin(x), ad_square(x)), AD_ALL, false);
    return ad_add(ad_add(a, b), ad_logsumexp(x, AD_ALL, false));
}

/* f(x, w) = tanh(w · sin(x)) · Σx, of shape [2]. */
static ad_tensor *f_vector(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    ad_tensor *x = in[0], *w = in[1];
    return ad_mul(ad_tanh(ad_mv(w, ad_sin(x))), ad_sum(x, AD_ALL, false));
}

static const char *EXPR = "sum(tanh(w * x)) + sum(sin(x) * x^2) + logsumexp(x)";

/* ---- scenarios ------------------------------------------------------------------------------ */

typedef struct {
    ad_ctx *k;
    ad_tensor *in[2];   /* x, w */
    ad_tensor *dir[2];  /* a direction for x and w */
    ad_tensor *u;       /* a cotangent of f_vector's shape */
    ad_expr *expr;
} fixture;

static ad_problem problem(fixture *fx, ad_fn f)
{
    return (ad_problem){.ctx = fx->k, .f = f, .nin = 2, .in = fx->in};
}

typedef int (*scenario_fn)(fixture *fx, const ad_backend *b, result *r);

static int sc_grad(fixture *fx, const ad_backend *b, result *r)
{
    ad_problem p = problem(fx, f_scalar);
    ad_tensor *y = NULL, *g[2] = {0}, *ge[2] = {0};
    ad_stats st;
    int rc = ad_value_and_grad(b, &p, NULL, &y, g, ge, &st);
    disarm();
    if (rc != AD_OK) return rc;
    put_t(r, y);
    put_ts(r, g, 2);
    put_ts(r, ge, 2);
    put_stats(r, &st);
    return rc;
}

static int sc_jacobian(fixture *fx, const ad_backend *b, result *r)
{
    ad_problem p = problem(fx, f_vector);
    ad_tensor *y = NULL, *J[2] = {0}, *JE[2] = {0};
    ad_stats st;
    int rc = ad_jacobian(b, &p, NULL, &y, J, JE, NULL, &st);
    disarm();
    if (rc != AD_OK) return rc;
    put_t(r, y);
    put_ts(r, J, 2);
    put_ts(r, JE, 2);
    put_stats(r, &st);
    return rc;
}

/* Reverse mode by rows in chunks of one (the value first, then sweeps). */
static int sc_jacobian_chunked(fixture *fx, const ad_backend *b, result *r)
{
    ad_problem p = problem(fx, f_vector);
    ad_options o = {.chunk = 1};
    ad_tensor *y = NULL, *J[2] = {0};
    int rc = ad_jacobian(b, &p, &o, &y, J, NULL, NULL, NULL);
    disarm();
    if (rc != AD_OK) return rc;
    put_t(r, y);
    put_ts(r, J, 2);
    return rc;
}

static int sc_jvp(fixture *fx, const ad_backend *b, result *r)
{
    ad_problem p = problem(fx, f_vector);
    ad_tensor *y = NULL, *jv = NULL, *je = NULL;
    int rc = ad_jvp(b, &p, fx->dir, NULL, &y, &jv, &je, NULL);
    disarm();
    if (rc != AD_OK) return rc;
    put_t(r, y);
    put_t(r, jv);
    put_t(r, je);
    return rc;
}

static int sc_vjp(fixture *fx, const ad_backend *b, result *r)
{
    ad_problem p = problem(fx, f_vector);
    ad_tensor *y = NULL, *g[2] = {0}, *ge[2] = {0};
    int rc = ad_vjp(b, &p, fx->u, NULL, &y, g, ge, NULL);
    disarm();
    if (rc != AD_OK) return rc;
    put_t(r, y);
    put_ts(r, g, 2);
    put_ts(r, ge, 2);
    return rc;
}

static int sc_hessian(fixture *fx, const ad_backend *b, result *r)
{
    (void)b;
    ad_problem p = problem(fx, f_scalar);
    ad_options o = {.width = 4}; /* several column blocks */
    ad_tensor *y = NULL, *H4[4] = {0};
    int rc = ad_hessian(&p, &o, &y, H4, NULL);
    disarm();
    if (rc != AD_OK) return rc;
    put_t(r, y);
    put_ts(r, H4, 4);
    return rc;
}

static int sc_hvp(fixture *fx, const ad_backend *b, result *r)
{
    (void)b;
    ad_problem p = problem(fx, f_scalar);
    ad_tensor *y = NULL, *g[2] = {0}, *hv[2] = {0};
    int rc = ad_hvp(&p, fx->dir, &y, g, hv, NULL);
    disarm();
    if (rc != AD_OK) return rc;
    put_t(r, y);
    put_ts(r, g, 2);
    put_ts(r, hv, 2);
    return rc;
}

/* Backward by hand: requires_grad on copies, f, backward, the .grad. */
static int sc_backward(fixture *fx, const ad_backend *b, result *r)
{
    (void)b;
    ad_tensor *x = ad_detach(fx->in[0]), *w = ad_detach(fx->in[1]);
    int rc = x && w ? AD_OK : ad_errno(fx->k);
    if (rc == AD_OK) rc = ad_requires_grad_(x, true);
    if (rc == AD_OK) rc = ad_requires_grad_(w, true);
    ad_tensor *y = rc == AD_OK ? f_scalar(fx->k, (ad_tensor *[]){x, w}, NULL) : NULL;
    if (rc == AD_OK && !y) rc = ad_errno(fx->k);
    if (rc == AD_OK) rc = ad_backward(y, NULL, 0);
    disarm();
    if (rc != AD_OK) return rc;
    put_t(r, y);
    put_t(r, ad_grad(x));
    put_t(r, ad_grad(w));
    return rc;
}

static void put_gradcheck(result *r, const ad_gradcheck_report *g)
{
    put_d(r, g->passed);
    for (int i = 0; i < g->nbackends; i++) {
        put_d(r, g->backends[i].passed);
        put_d(r, g->backends[i].max_abs_err);
        put_d(r, g->backends[i].max_rel_err);
        put_d(r, (double)g->backends[i].checked);
        put_d(r, (double)g->backends[i].mismatches);
    }
    put_d(r, (double)g->nmismatches);
    put_d(r, g->consistency_done);
    put_d(r, g->consistency_passed);
    put_d(r, g->consistency_rel_err);
    put_d(r, g->taylor_done);
    put_d(r, g->taylor_passed);
    put_d(r, g->taylor_order);
    put_d(r, g->hvp_done);
    put_d(r, g->hvp_passed);
    put_d(r, g->hvp_max_abs_err);
}

/* gradcheck differentiates x only: every N of it runs the whole check
 * (Jacobians, consistency, Taylor, HVPs), so the sweep is quadratic in
 * its allocations; n = 3 keeps it to seconds. */
static int gradcheck_with(fixture *fx, bool second, result *r)
{
    ad_problem p = problem(fx, f_scalar);
    p.wrt = (const bool[]){true, false};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.second_order = second;
    o.seed = 11;
    ad_gradcheck_report g;
    memset(&g, 0, sizeof g);
    int rc = ad_gradcheck(&p, &o, &g);
    disarm();
    if (rc == AD_OK) put_gradcheck(r, &g);
    ad_gradcheck_report_free(&g);
    return rc;
}

static int sc_gradcheck(fixture *fx, const ad_backend *b, result *r)
{
    (void)b;
    return gradcheck_with(fx, false, r);
}

static int sc_gradcheck2(fixture *fx, const ad_backend *b, result *r)
{
    (void)b;
    return gradcheck_with(fx, true, r);
}

/* The expression's variables in the fixture's order (x, w). */
static void expr_inputs(fixture *fx, ad_tensor **v)
{
    for (int i = 0; i < 2; i++) v[i] = strcmp(ad_expr_var(fx->expr, i), "x") == 0 ? fx->in[0] : fx->in[1];
}

static int sc_expr_eval(fixture *fx, const ad_backend *b, result *r)
{
    (void)b;
    ad_tensor *v[2];
    expr_inputs(fx, v);
    ad_expr_error err = {0};
    ad_tensor *y = ad_expr_eval(fx->k, fx->expr, v, &err);
    disarm();
    if (!y) return err.status;
    put_t(r, y);
    return AD_OK;
}

static int sc_expr_grad(fixture *fx, const ad_backend *b, result *r)
{
    ad_tensor *v[2];
    expr_inputs(fx, v);
    ad_problem p = {.ctx = fx->k, .f = ad_expr_fn, .user = fx->expr, .nin = 2, .in = v};
    ad_tensor *y = NULL, *g[2] = {0};
    int rc = ad_value_and_grad(b, &p, NULL, &y, g, NULL, NULL);
    disarm();
    if (rc != AD_OK) return rc;
    put_t(r, y);
    put_ts(r, g, 2);
    return rc;
}

/* One cell (suite function expsin, n = 6) through ad_bench_run: its status,
 * errors against the analytic reference, passes and sweeps; a failed cell
 * (or a missing reference) must say "out of memory". */
static int sc_bench_cell(fixture *fx, const ad_backend *b, result *r)
{
    const ad_bench_fn *fns[] = {ad_bench_suite_find("expsin")};
    const ad_backend *bs[] = {b};
    const int64_t sizes[] = {6};
    ad_bench_config c;
    ad_bench_config_defaults(&c, true);
    c.nfns = 1;
    c.fns = fns;
    c.nbackends = 1;
    c.backends = bs;
    c.nsizes = 1;
    c.sizes = sizes;
    c.min_reps = c.max_reps = 1;
    c.min_time = 0;
    c.budget = 100;
    ad_bench_table t;
    cr_assert_eq(ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns), 0);
    char err[256] = "";
    int nfailed = ad_bench_run(fx->k, &c, &t, err, sizeof err);
    disarm();
    int rc = AD_OK;
    if (nfailed < 0) rc = strstr(err, "out of memory") ? AD_ENOMEM : AD_EINVAL;
    for (int i = 0; rc == AD_OK && i < t.nrows; i++) {
        const char *status = ad_bench_table_get(&t, i, "status"), *note = ad_bench_table_get(&t, i, "note");
        if (strstr(note, "out of memory")) rc = AD_ENOMEM;
        else if (strcmp(status, "ok") != 0) rc = AD_EINVAL;
        const char *cols[] = {"max_abs_err", "max_rel_err", "passes", "sweeps", "ops_recorded", "peak_total"};
        for (size_t j = 0; rc == AD_OK && j < TH_NELEMS(cols); j++)
            put_d(r, strtod(ad_bench_table_get(&t, i, cols[j]), NULL));
    }
    ad_bench_table_free(&t);
    return rc;
}

/* ---- the table ------------------------------------------------------------------------------- */

enum { EACH_BACKEND = 1, AUTO_TOO = 2, NO_BACKEND = 4, MSG_IN_NOTE = 8 };

static const struct {
    const char *name;
    scenario_fn run;
    unsigned flags;
} SCENARIOS[] = {
    {"grad", sc_grad, EACH_BACKEND},
    {"backward", sc_backward, NO_BACKEND},
    {"jacobian", sc_jacobian, EACH_BACKEND | AUTO_TOO},
    {"jacobian_chunked", sc_jacobian_chunked, 0}, /* reverse only */
    {"jvp", sc_jvp, EACH_BACKEND},
    {"vjp", sc_vjp, EACH_BACKEND},
    {"hessian", sc_hessian, NO_BACKEND},
    {"hvp", sc_hvp, NO_BACKEND},
    {"gradcheck", sc_gradcheck, NO_BACKEND},
    {"gradcheck_second_order", sc_gradcheck2, NO_BACKEND},
    {"expr_eval", sc_expr_eval, NO_BACKEND},
    {"expr_grad", sc_expr_grad, 0},       /* reverse only */
    {"bench_cell", sc_bench_cell, MSG_IN_NOTE}, /* reverse only */
};

/* One case: a scenario and the backend it runs with ("" : none; "auto":
 * the Jacobian's own choice).  Plain data (th_params.h). */
typedef struct {
    int scenario;
    char backend[32];
} fcase;

static int add_case(fcase *c, int n, int s, const char *b)
{
    c[n].scenario = s;
    snprintf(c[n].backend, sizeof c[n].backend, "%s", b);
    return n + 1;
}

ParameterizedTestParameters(alloc_failure, every_n)
{
    static fcase cases[256];
    int n = 0;
    for (int s = 0; s < (int)TH_NELEMS(SCENARIOS); s++) {
        unsigned fl = SCENARIOS[s].flags;
        if (fl & NO_BACKEND) n = add_case(cases, n, s, "");
        else if (!(fl & EACH_BACKEND)) n = add_case(cases, n, s, "reverse");
        else
            for (int i = 0; i < ad_backend_count() && n < 250; i++) n = add_case(cases, n, s, ad_backend_at(i)->name);
        if (fl & AUTO_TOO) n = add_case(cases, n, s, "auto");
    }
    return cr_make_param_array(fcase, cases, (size_t)n);
}

/* A context with the hook, no recycling, and the fixture's inputs. */
static void fixture_new(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    ad_ctx_options o = {.alloc = th_alloc_hook, .alloc_ud = &H, .seed = 5, .no_recycling = true};
    fx->k = ad_ctx_new_with(&o);
    cr_assert_not_null(fx->k);
    ad_ctx *k = fx->k;
    fx->in[0] = ad_from_array(k, AD_SHAPE(3), TH_V(0.31, -1.27, 0.83));
    fx->in[1] = ad_from_array(k, AD_SHAPE(2, 3), TH_V(0.5, -0.7, 1.1, 0.23, 0.9, -0.4));
    fx->dir[0] = ad_from_array(k, AD_SHAPE(3), TH_V(0.6, 0.2, -0.35));
    fx->dir[1] = ad_from_array(k, AD_SHAPE(2, 3), TH_V(-0.1, 0.45, 0.3, 0.7, -0.25, 0.15));
    fx->u = ad_from_array(k, AD_SHAPE(2), TH_V(0.8, -1.3));
    ad_expr_error err = {0};
    fx->expr = ad_expr_parse(EXPR, &err);
    cr_assert_not_null(fx->expr, "%s", err.msg);
    /* the scope stack and the tape's first chunk are made once and kept:
     * make them now, so that what a call leaves live is its own */
    ad_scope s = ad_scope_begin(k);
    ad_tensor *t = ad_from_array(k, AD_SHAPE(1), TH_V(1.5));
    cr_assert_eq(ad_requires_grad_(t, true), AD_OK);
    cr_assert_not_null(ad_exp(t));
    ad_scope_end(k, s, NULL);
    cr_assert_eq(ad_errno(k), AD_OK, "%s", ad_errmsg(k));
}

static void fixture_free(fixture *fx)
{
    ad_tensor *all[] = {fx->in[0], fx->in[1], fx->dir[0], fx->dir[1], fx->u};
    for (size_t i = 0; i < TH_NELEMS(all); i++) ad_tensor_free(all[i]);
    ad_expr_free(fx->expr);
    ad_ctx_free(fx->k);
}

/* Runs the case once in fx with the n-th allocation failing (n <= 0:
 * none), inside a scope; status and results. */
static int run_case(fixture *fx, const fcase *c, int64_t n, result *r)
{
    const ad_backend *b = NULL;
    if (c->backend[0] && strcmp(c->backend, "auto") != 0) b = th_backend_of(c->backend);
    r->n = 0;
    ad_clear_error(fx->k);
    ad_ctx_seed(fx->k, 5);
    ad_scope s = ad_scope_begin(fx->k);
    arm(n);
    int rc = SCENARIOS[c->scenario].run(fx, b, r);
    disarm();
    ad_scope_end(fx->k, s, NULL);
    return rc;
}

static bool same_result(const result *a, const result *b)
{
    return a->n == b->n && memcmp(a->v, b->v, (size_t)a->n * sizeof a->v[0]) == 0;
}

/* The first index where two results differ (for the message). */
static int first_diff(const result *a, const result *b)
{
    int i = 0;
    while (i < a->n && i < b->n && memcmp(&a->v[i], &b->v[i], sizeof a->v[i]) == 0) i++;
    return i;
}

/* Tallies over one case, reported with --verbose. */
typedef struct {
    int64_t injected, enomem, identical, wrong, leaks, bad_status;
} tally;

/* One N: the call, the checks, the call again.  Returns whether the
 * failure was reached (false: the sweep is over). */
static bool one_n(const fcase *c, const char *label, int64_t n, const result *ref, tally *tl)
{
    static result r;
    fixture fx;
    fixture_new(&fx);
    ad_mem_stats before, after;
    ad_ctx_mem_stats(fx.k, &before);
    int64_t failed = H.failed;
    int rc = run_case(&fx, c, n, &r);
    bool fired = H.failed > failed;
    ad_ctx_mem_stats(fx.k, &after);
    if (fired) tl->injected++;
    if (rc == AD_OK) {
        bool same = same_result(&r, ref);
        tl->identical += same;
        tl->wrong += !same;
        int d = first_diff(&r, ref);
        cr_expect(same, "%s, n=%lld: success with a different result (value %d: %.17g, reference %.17g; %d vs %d values)",
                  label, (long long)n, d, d < r.n ? r.v[d] : NAN, d < ref->n ? ref->v[d] : NAN, r.n, ref->n);
    } else {
        tl->enomem += rc == AD_ENOMEM;
        tl->bad_status += rc != AD_ENOMEM;
        cr_expect_eq(rc, AD_ENOMEM, "%s, n=%lld: status %d (%s), not AD_ENOMEM", label, (long long)n, rc,
                     ad_errmsg(fx.k));
        if (!(SCENARIOS[c->scenario].flags & MSG_IN_NOTE))
            cr_expect(ad_errmsg(fx.k)[0] != '\0', "%s, n=%lld: AD_ENOMEM without a message", label, (long long)n);
    }
    bool leak = after.live_total != before.live_total || after.tensors != before.tensors;
    tl->leaks += leak;
    cr_expect(!leak, "%s, n=%lld: %lld bytes and %lld tensors still live after the call", label, (long long)n,
              (long long)(after.live_total - before.live_total), (long long)(after.tensors - before.tensors));
    cr_expect_eq(ad_fwd_width(fx.k), 0, "%s, n=%lld: forward mode left on", label, (long long)n);
    cr_expect(ad_is_grad_enabled(fx.k), "%s, n=%lld: grad mode left off", label, (long long)n);
    /* the context is still good: the same call gives the reference */
    int rc2 = run_case(&fx, c, 0, &r);
    cr_expect_eq(rc2, AD_OK, "%s, n=%lld: the context is not reusable: %s", label, (long long)n, ad_errmsg(fx.k));
    cr_expect(rc2 != AD_OK || same_result(&r, ref), "%s, n=%lld: the call after the failure differs", label,
              (long long)n);
    fixture_free(&fx);
    cr_expect_eq(H.bytes, 0, "%s, n=%lld: %lld bytes not given back by ad_ctx_free", label, (long long)n,
                 (long long)H.bytes);
    H.bytes = 0;
    return fired;
}

ParameterizedTest(fcase *c, alloc_failure, every_n, .timeout = 600)
{
    char label[80];
    snprintf(label, sizeof label, "%s%s%s", SCENARIOS[c->scenario].name, c->backend[0] ? " / " : "", c->backend);
    static result ref;
    fixture fx;
    fixture_new(&fx);
    int rc = run_case(&fx, c, 0, &ref);
    cr_assert_eq(rc, AD_OK, "%s: the reference run fails: %s", label, ad_errmsg(fx.k));
    cr_assert_gt(ref.n, 0, "%s: no results", label);
    fixture_free(&fx);
    tally tl = {0};
    int64_t n = 1;
    while (one_n(c, label, n, &ref, &tl)) n++;
    cr_expect_gt(tl.injected, 0, "%s: no allocation failure was provoked", label);
    cr_log_info("%s: %lld injected failures: %lld AD_ENOMEM, %lld identical successes, %lld wrong successes, "
                "%lld other statuses, %lld leaks", label, (long long)tl.injected, (long long)tl.enomem,
                (long long)tl.identical, (long long)tl.wrong, (long long)tl.bad_status, (long long)tl.leaks);
}
