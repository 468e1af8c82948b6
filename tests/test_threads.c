/* tests/test_threads.c — the thread rule (docs/ARCHITECTURE.md, "Threads"):
 * one context per thread, and the process-wide state (the backend
 * registry, the error handler, GSL's handler) safe to touch from any
 * thread.
 *
 *   - two contexts on two threads compute gradients with every backend,
 *     an HVP and gradcheck: bit-identical to the same work on one thread;
 *   - one thread registers and unregisters a backend while another runs
 *     gradcheck over the registry (which iterates it);
 *   - error handlers set while other threads report errors; each thread's
 *     message stays its own;
 *   - GSL's error handler: switched off once, a program's own kept.
 *
 * Races do not always crash: .ci/run builds this with ThreadSanitizer
 * (ADSCOPE_TSAN), which reports an unsynchronised access even when the
 * interleaving was harmless.  Criterion cannot run under ThreadSanitizer
 * (its BoxFort arena and TSan's shadow memory collide: Criterion issue
 * #274), so each case is a plain function returning NULL or what went
 * wrong; below, Criterion runs them one test each, and built with
 * -DTH_THREADS_MAIN (the TSan build's threads_tsan, CMakeLists.txt) a
 * plain main runs them all.  Each case creates its contexts itself (no
 * fixture): the main thread's work is the reference. */
#include <adscope.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define N 6        /* input size */
#define ROUNDS 3   /* each thread repeats its work */
#define NTHREADS 2

/* What went wrong in the current case (cases run one at a time). */
static char why[512];
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            snprintf(why, sizeof why, __VA_ARGS__);        \
            return why;                                    \
        }                                                  \
    } while (0)

/* f(x) = Σ sin(x)·exp(0.3·x): every backend differentiates it, and its
 * Hessian is diagonal but not constant. */
static ad_tensor *f_sin_exp(ad_ctx *c, ad_tensor *const *in, void *u)
{
    (void)c;
    (void)u;
    return ad_sum(ad_mul(ad_sin(in[0]), ad_exp(ad_mul_s(in[0], 0.3))), AD_ALL, false);
}

static const double X0[N] = {0.385, -1.27, 2.031, 0.917, -0.443, 1.618};

/* What one thread computes, compared bit for bit. */
typedef struct result {
    int nb;
    char names[AD_BACKEND_MAX][32];
    double value[AD_BACKEND_MAX];
    double grad[AD_BACKEND_MAX][N];
    double hv[N];
    bool passed;
    int64_t mismatches;
    double max_abs_err[AD_BACKEND_MAX];
    int status; /* AD_OK, or the first failing status */
    char msg[256];
} result;

static void fail(result *r, ad_ctx *c, int rc, const char *what)
{
    if (r->status != AD_OK) return;
    r->status = rc ? rc : AD_EINVAL;
    snprintf(r->msg, sizeof r->msg, "%s: %s", what, c ? ad_errmsg(c) : "no context");
}

static void gradients(ad_ctx *c, const ad_problem *p, result *r)
{
    const ad_backend *all[AD_BACKEND_MAX];
    r->nb = ad_backend_list(all, AD_BACKEND_MAX);
    for (int b = 0; b < r->nb && r->status == AD_OK; b++) {
        ad_tensor *value = NULL, *g[1] = {NULL};
        snprintf(r->names[b], sizeof r->names[b], "%s", all[b]->name);
        int rc = ad_value_and_grad(all[b], p, NULL, &value, g, NULL, NULL);
        if (rc != AD_OK) fail(r, c, rc, all[b]->name);
        else {
            r->value[b] = ad_item(value);
            ad_to_array(g[0], r->grad[b], N);
        }
        ad_tensor_free(value);
        ad_tensor_free(g[0]);
    }
}

static void hvp_and_check(ad_ctx *c, const ad_problem *p, result *r)
{
    double ones[N] = {1, -0.5, 0.25, 2, -1, 0.75};
    ad_tensor *v[1] = {ad_from_array(c, AD_SHAPE(N), ones)}, *hv[1] = {NULL};
    int rc = ad_hvp(p, v, NULL, NULL, hv, NULL);
    if (rc != AD_OK) fail(r, c, rc, "hvp");
    else ad_to_array(hv[0], r->hv, N);
    ad_tensor_free(v[0]);
    ad_tensor_free(hv[0]);
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.second_order = true;
    ad_gradcheck_report rep;
    rc = ad_gradcheck(p, &o, &rep);
    if (rc != AD_OK) fail(r, c, rc, "gradcheck");
    r->passed = rep.passed;
    r->mismatches = rep.nmismatches;
    for (int i = 0; i < rep.nbackends && i < AD_BACKEND_MAX; i++) r->max_abs_err[i] = rep.backends[i].max_abs_err;
    ad_gradcheck_report_free(&rep);
}

/* The whole job in a context of its own, as the thread rule says. */
static void compute(result *r)
{
    memset(r, 0, sizeof *r);
    ad_ctx *c = ad_ctx_new();
    if (!c) {
        fail(r, NULL, AD_ENOMEM, "ad_ctx_new");
        return;
    }
    ad_tensor *in[1] = {ad_from_array(c, AD_SHAPE(N), X0)};
    ad_problem p = {.ctx = c, .f = f_sin_exp, .nin = 1, .in = in};
    if (!in[0]) fail(r, c, ad_errno(c), "input");
    else {
        gradients(c, &p, r);
        hvp_and_check(c, &p, r);
    }
    ad_tensor_free(in[0]);
    ad_mem_stats m;
    ad_ctx_mem_stats(c, &m);
    /* as the test kit checks: meta is the tape's arena, kept for reuse */
    if (m.tensors || m.live[AD_MEM_VALUES] || m.live[AD_MEM_TANGENTS] || m.live[AD_MEM_TAPE])
        fail(r, c, AD_ESTATE, "tensors or bytes left in the context");
    ad_ctx_free(c);
}

static void *worker(void *arg)
{
    result *rs = arg;
    for (int k = 0; k < ROUNDS; k++) compute(&rs[k]);
    return NULL;
}

static const char *same(const result *ref, const result *r, int t, int k)
{
    CHECK(r->status == AD_OK, "thread %d round %d: %s", t, k, r->msg);
    CHECK(r->nb == ref->nb, "thread %d round %d: %d backends, %d on one thread", t, k, r->nb, ref->nb);
    for (int b = 0; b < ref->nb; b++) {
        const char *name = ref->names[b];
        CHECK(strcmp(r->names[b], name) == 0, "backend %d: %s, %s on one thread", b, r->names[b], name);
        CHECK(memcmp(&r->value[b], &ref->value[b], sizeof(double)) == 0, "%s: value differs", name);
        CHECK(memcmp(r->grad[b], ref->grad[b], sizeof ref->grad[b]) == 0,
              "thread %d round %d, %s: gradient not bit-identical to one thread", t, k, name);
        CHECK(memcmp(&r->max_abs_err[b], &ref->max_abs_err[b], sizeof(double)) == 0, "%s: gradcheck error differs",
              name);
    }
    CHECK(memcmp(r->hv, ref->hv, sizeof ref->hv) == 0, "thread %d round %d: HVP differs", t, k);
    CHECK(r->passed == ref->passed && r->mismatches == ref->mismatches, "thread %d round %d: verdict differs", t, k);
    return NULL;
}

/* every backend's gradient, an HVP and gradcheck: the same bits on each
 * thread as on one */
static const char *case_bit_identical(void)
{
    static result ref, rs[NTHREADS][ROUNDS];
    compute(&ref);
    CHECK(ref.status == AD_OK, "one thread: %s", ref.msg);
    CHECK(ref.passed, "gradcheck passes on f");
    CHECK(ref.nb >= 7, "every built-in backend took part (%d)", ref.nb);
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) CHECK(pthread_create(&th[t], NULL, worker, rs[t]) == 0, "pthread_create");
    for (int t = 0; t < NTHREADS; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < NTHREADS; t++)
        for (int k = 0; k < ROUNDS; k++)
            if (same(&ref, &rs[t][k], t, k)) return why;
    return NULL;
}

/* ---- the registry under change ----------------------------------------- */

/* A correct exact backend: reverse mode under another name. */
static int flicker_vjp(const ad_backend *b, const ad_problem *p, int k, ad_tensor *U, const ad_options *o,
                       ad_eval *e, ad_stats *st)
{
    (void)b;
    const ad_backend *rev = ad_backend_with(AD_CAP_EXACT | AD_CAP_REVERSE);
    return rev->vjp(rev, p, k, U, o, e, st);
}

static const ad_backend flicker = {.name = "flicker", .caps = AD_CAP_EXACT, .vjp = flicker_vjp};
static atomic_bool checking_done;
static atomic_int toggles;

static void *toggle(void *arg)
{
    static char reg_failed[] = "register failed", unreg_failed[] = "unregister failed";
    (void)arg;
    while (!atomic_load(&checking_done)) {
        if (ad_backend_register(&flicker) != AD_OK) return reg_failed;
        if (ad_backend_unregister("flicker") != AD_OK) return unreg_failed;
        atomic_fetch_add(&toggles, 1);
    }
    return NULL;
}

/* one thread (un)registers a backend in a loop; another's gradcheck still
 * passes and never crashes */
static const char *case_unregister_while_iterating(void)
{
    pthread_t th;
    atomic_store(&checking_done, false);
    CHECK(pthread_create(&th, NULL, toggle, NULL) == 0, "pthread_create");
    int runs = 0, failures = 0;
    char first[256] = "";
    for (; runs < 40 || (runs < 400 && atomic_load(&toggles) < 100); runs++) {
        static result r;
        compute(&r);
        if ((r.status != AD_OK || !r.passed) && !failures++) snprintf(first, sizeof first, "%s", r.msg);
    }
    atomic_store(&checking_done, true);
    void *err = NULL;
    pthread_join(th, &err);
    CHECK(!err, "%s", (const char *)err);
    CHECK(failures == 0, "%d of %d runs failed: %s", failures, runs, first);
    CHECK(atomic_load(&toggles) > 0, "the registry changed during the runs");
    CHECK(!ad_backend_find("flicker"), "left unregistered");
    return NULL;
}

static void *register_flicker(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)ad_backend_register(&flicker);
}

/* the same name registered from 4 threads at once: exactly one succeeds */
static const char *case_register_races(void)
{
    pthread_t th[4];
    for (int round = 0; round < 50; round++) {
        for (int t = 0; t < 4; t++) CHECK(pthread_create(&th[t], NULL, register_flicker, NULL) == 0, "pthread_create");
        int ok = 0;
        for (int t = 0; t < 4; t++) {
            void *rc;
            pthread_join(th[t], &rc);
            ok += (int)(intptr_t)rc == AD_OK;
        }
        CHECK(ok == 1, "round %d: %d registrations succeeded", round, ok);
        CHECK(ad_backend_unregister("flicker") == AD_OK, "unregister");
    }
    return NULL;
}

/* ---- error handlers ------------------------------------------------------ */

static atomic_int calls_a, calls_b;
static void handler_a(const ad_ctx *c, int status, const char *msg) { (void)c, (void)status, (void)msg, atomic_fetch_add(&calls_a, 1); }
static void handler_b(const ad_ctx *c, int status, const char *msg) { (void)c, (void)status, (void)msg, atomic_fetch_add(&calls_b, 1); }

#define ERRORS 2000

/* Provokes ERRORS shape errors in a context of its own; each message must
 * name this thread's shapes, never another thread's. */
static void *provoke(void *arg)
{
    int64_t n = (int64_t)(intptr_t)arg;
    ad_ctx *c = ad_ctx_new();
    ad_tensor *x = ad_zeros(c, AD_SHAPE(n)), *y = ad_zeros(c, AD_SHAPE(n + 1));
    char want[64];
    snprintf(want, sizeof want, "[%lld] and [%lld]", (long long)n, (long long)n + 1);
    const char *bad = NULL;
    for (int i = 0; i < ERRORS && !bad; i++) {
        ad_tensor *z = ad_add(x, y);
        if (z || ad_errno(c) != AD_ESHAPE || !strstr(ad_errmsg(c), want)) bad = "a message not this thread's own";
        ad_clear_error(c);
    }
    ad_tensor_free(x);
    ad_tensor_free(y);
    ad_ctx_free(c);
    return (void *)bad;
}

static void *swap_handlers(void *arg)
{
    (void)arg;
    for (int i = 0; i < ERRORS; i++) ad_set_error_handler(i % 2 ? handler_a : handler_b);
    return NULL;
}

/* a setter racing with reports: each report calls one whole handler;
 * messages stay per context */
static const char *case_handlers(void)
{
    ad_error_handler before = ad_set_error_handler(handler_a);
    pthread_t th[3];
    CHECK(pthread_create(&th[0], NULL, provoke, (void *)(intptr_t)3) == 0, "pthread_create");
    CHECK(pthread_create(&th[1], NULL, provoke, (void *)(intptr_t)5) == 0, "pthread_create");
    CHECK(pthread_create(&th[2], NULL, swap_handlers, NULL) == 0, "pthread_create");
    void *bad[3];
    for (int t = 0; t < 3; t++) pthread_join(th[t], &bad[t]);
    CHECK(!bad[0] && !bad[1], "%s", (const char *)(bad[0] ? bad[0] : bad[1]));
    int calls = atomic_load(&calls_a) + atomic_load(&calls_b);
    CHECK(calls == 2 * ERRORS, "%d errors reached a handler, not %d", calls, 2 * ERRORS);
    ad_error_handler last = ad_set_error_handler(before);
    CHECK(last == handler_a || last == handler_b, "the setter returns the one installed last");
    CHECK(ad_set_error_handler(NULL) == before, "and the previous one");
    return NULL;
}

/* ---- GSL's error handler ---------------------------------------------------- */

static atomic_int gsl_calls;
static void my_gsl_handler(const char *reason, const char *file, int line, int gsl_errno)
{
    (void)reason, (void)file, (void)line, (void)gsl_errno;
    atomic_fetch_add(&gsl_calls, 1);
}

static void *new_ctx(void *arg)
{
    (void)arg;
    ad_ctx_free(ad_ctx_new());
    return NULL;
}

/* GSL's handler is process-wide: adscope switches GSL's abort off once
 * and keeps a program's own.  Must run before the process's first context. */
static const char *case_gsl_handler_kept(void)
{
    gsl_set_error_handler(my_gsl_handler);
    pthread_t th[2];
    for (int t = 0; t < 2; t++) CHECK(pthread_create(&th[t], NULL, new_ctx, NULL) == 0, "pthread_create");
    for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
    gsl_error("provoked", __FILE__, __LINE__, GSL_EINVAL);
    CHECK(atomic_load(&gsl_calls) == 1, "the program's handler still gets GSL's errors (%d calls)",
          atomic_load(&gsl_calls));
    CHECK(gsl_set_error_handler_off() == my_gsl_handler, "and is still the one installed");
    return NULL;
}

/* without a handler of the program's, GSL's default (abort) is switched off */
static const char *case_gsl_no_abort(void)
{
    ad_ctx_free(ad_ctx_new());
    gsl_error("provoked", __FILE__, __LINE__, GSL_EINVAL); /* the default handler would abort here */
    gsl_error_handler_t *h = gsl_set_error_handler_off();
    CHECK(h != NULL, "a handler that does not abort is installed");
    return NULL;
}

#ifdef TH_THREADS_MAIN
/* The TSan build: every case in one process, GSL's first (it needs the
 * process's first context). */
int main(void)
{
    static const struct {
        const char *name;
        const char *(*run)(void);
    } cases[] = {
        {"gsl_handler_kept", case_gsl_handler_kept},
        {"bit_identical", case_bit_identical},
        {"unregister_while_iterating", case_unregister_while_iterating},
        {"register_races", case_register_races},
        {"handlers", case_handlers},
        {"gsl_no_abort", case_gsl_no_abort},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *e = cases[i].run();
        printf("%s %s%s%s\n", e ? "FAIL" : "ok  ", cases[i].name, e ? ": " : "", e ? e : "");
        failed += e != NULL;
    }
    return failed ? 1 : 0;
}
#else
#include <criterion/criterion.h>

#define CASE(name, what)                                      \
    Test(threads, name, .description = what)                  \
    {                                                         \
        const char *e = case_##name();                        \
        cr_assert_null(e, "%s", e);                           \
    }

CASE(bit_identical, "two contexts on two threads: every backend, an HVP and gradcheck bit-identical to one thread")
CASE(unregister_while_iterating, "a thread (un)registers a backend while another runs gradcheck over the registry")
CASE(register_races, "the same name registered from 4 threads at once: exactly one succeeds")
CASE(handlers, "error handlers set while other threads report; messages stay per context")
CASE(gsl_handler_kept, "a GSL handler installed before the first context is kept")
CASE(gsl_no_abort, "without the program's GSL handler, GSL's abort is switched off")
#endif
