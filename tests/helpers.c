/* tests/helpers.c — shared test utilities (see helpers.h). */
#include "helpers.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

ad_ctx *ctx;
static ad_scope g_scope;

void th_setup(void)
{
    ad_ctx_options o = {.seed = 20261122};
    ctx = ad_ctx_new_with(&o);
    cr_assert_not_null(ctx);
    g_scope = ad_scope_begin(ctx);
}

/* Criterion ignores failed assertions in a fixture's .fini (the test still
 * passes), but a crash there makes the executable fail.  So a leak is
 * reported on stderr and turned into an abort that CTest sees. */
void th_teardown(void)
{
    ad_scope_end(ctx, g_scope, NULL);
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    ad_tape_stats ts;
    ad_tape_stats_get(ctx, &ts);
    ad_ctx_free(ctx);
    ctx = NULL;
    th_tmp_remove();
    if (m.tensors || m.live[AD_MEM_VALUES] || m.live[AD_MEM_TANGENTS] || m.live[AD_MEM_TAPE]) {
        fprintf(stderr,
                "LEAK at the end of the test: %lld tensor handles, %lld value bytes, %lld tangent bytes, "
                "%lld tape bytes (%lld records)\n",
                (long long)m.tensors, (long long)m.live[AD_MEM_VALUES], (long long)m.live[AD_MEM_TANGENTS],
                (long long)m.live[AD_MEM_TAPE], (long long)ts.live);
        abort();
    }
}

const double *th_values(ad_tensor *t)
{
    static double buf[4096];
    cr_assert_not_null(t, "tensor is NULL: %s", ad_errmsg(ctx));
    cr_assert_leq(ad_numel(t), 4096);
    cr_assert_eq(ad_to_array(t, buf, 4096), AD_OK);
    return buf;
}

const char *th_shape(ad_tensor *t)
{
    static char buf[256];
    ad_shape s = ad_shape_of(t);
    ad_shape_str(&s, buf, sizeof buf);
    return buf;
}

void th_expect_impl(ad_tensor *t, ad_shape shape, const double *vals, double atol, double rtol, const char *file,
                    int line)
{
    cr_assert_not_null(t, "%s:%d: tensor is NULL: %s", file, line, ad_errmsg(ctx));
    char want[256];
    ad_shape_str(&shape, want, sizeof want);
    cr_assert_str_eq(th_shape(t), want, "%s:%d: shape %s, expected %s", file, line, th_shape(t), want);
    const double *v = th_values(t);
    for (int64_t i = 0; i < ad_numel(t); i++) {
        bool ok = (isnan(vals[i]) && isnan(v[i])) || v[i] == vals[i] ||
                  fabs(v[i] - vals[i]) <= atol + rtol * fabs(vals[i]);
        cr_assert(ok, "%s:%d: element %lld is %.17g, expected %.17g", file, line, (long long)i, v[i], vals[i]);
    }
}

ad_tensor *th_vals(ad_shape shape, double offset, double scale)
{
    ad_tensor *t = ad_empty(ctx, shape);
    cr_assert_not_null(t);
    double *d = ad_data(t);
    for (int64_t i = 0; i < ad_numel(t); i++) d[i] = offset + scale * sin(1.7 * (double)i + 0.3);
    return t;
}

/* ---- a failing allocator hook ------------------------------------------------- */

void *th_alloc_hook(void *ud, void *ptr, size_t osize, size_t nsize)
{
    th_alloc *h = ud;
    if (nsize == 0) {
        h->bytes -= (int64_t)osize;
        free(ptr);
        return NULL;
    }
    if (!ptr && h->fail_size && nsize == h->fail_size) { /* by size: not counted as a call */
        h->seen_size++;
        h->failed++;
        return NULL;
    }
    if (++h->calls == h->fail_at) {
        h->failed++;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p) h->bytes += (int64_t)nsize - (int64_t)(ptr ? osize : 0);
    return p;
}

void th_alloc_arm(th_alloc *h, int64_t n) { h->fail_at = n > 0 ? h->calls + n : -1; }

/* ---- rule checks -------------------------------------------------------------- */

#define MAXIN 8

static ad_tensor *eval(th_fn f, void *ud, int nin, ad_tensor *const *x)
{
    (void)nin;
    ad_tensor *y = f(x, ud);
    cr_assert_not_null(y, "evaluating the function failed: %s", ad_errmsg(ctx));
    return y;
}

/* f(x + h·dir) with dir on input `which` only (which < 0: all inputs). */
static ad_tensor *eval_shifted(th_fn f, void *ud, int nin, ad_tensor *const *x, ad_tensor *const *dir, int which,
                               double h)
{
    ad_tensor *xs[MAXIN];
    for (int i = 0; i < nin; i++)
        xs[i] = (which < 0 || which == i) ? ad_add(x[i], ad_mul_s(dir[i], h)) : x[i];
    return eval(f, ud, nin, xs);
}

/* Plain loops, so that checking an op never depends on the reductions. */
static double dotv(ad_tensor *a, ad_tensor *b)
{
    static double x[4096], y[4096];
    cr_assert_not_null(a, "%s", ad_errmsg(ctx));
    cr_assert_not_null(b, "%s", ad_errmsg(ctx));
    cr_assert_eq(ad_numel(a), ad_numel(b));
    cr_assert_eq(ad_to_array(a, x, 4096), AD_OK);
    cr_assert_eq(ad_to_array(b, y, 4096), AD_OK);
    double s = 0;
    for (int64_t i = 0; i < ad_numel(a); i++) s += x[i] * y[i];
    return s;
}

static double maxabs(ad_tensor *t)
{
    const double *v = th_values(t);
    double m = 0;
    for (int64_t i = 0; i < ad_numel(t); i++)
        if (fabs(v[i]) > m) m = fabs(v[i]);
    return m;
}

static void compare(const char *what, const char *fname, const char *file, int line, int input, ad_tensor *got,
                    ad_tensor *want, double tol)
{
    cr_assert_not_null(got, "%s:%d %s: %s: result is NULL: %s", file, line, fname, what, ad_errmsg(ctx));
    cr_assert_str_eq(th_shape(got), th_shape(want), "%s:%d %s: %s: shape %s, expected %s", file, line, fname, what,
                     th_shape(got), th_shape(want));
    double scale = 1.0 + maxabs(want);
    static double g[4096], w[4096];
    cr_assert_eq(ad_to_array(got, g, 4096), AD_OK);
    cr_assert_eq(ad_to_array(want, w, 4096), AD_OK);
    for (int64_t j = 0; j < ad_numel(got); j++)
        cr_assert(fabs(g[j] - w[j]) <= tol * scale,
                  "%s:%d %s: %s mismatch at input %d, element %lld: got %.12g, expected %.12g (tol %g)", file, line,
                  fname, what, input, (long long)j, g[j], w[j], tol * scale);
}

/* One rule check: f at the point x, the random directions v (inputs) and u
 * (output), the step h, and what to name in messages. */
typedef struct {
    th_fn f;
    void *ud;
    int nin;
    ad_tensor *x[MAXIN], *v[MAXIN], *u;
    double h, tol;
    const char *fname, *file;
    int line;
} rule_check;

/* Fresh copies of the point, each requiring grad when asked. */
static void copies(const rule_check *c, ad_tensor **xs, bool requires_grad)
{
    for (int i = 0; i < c->nin; i++) {
        xs[i] = ad_clone(c->x[i]);
        if (requires_grad) ad_requires_grad_(xs[i], true);
    }
}

/* JVP vs central difference along v.  Returns J v. */
static ad_tensor *check_jvp(const rule_check *c)
{
    ad_tensor *fd_jv = ad_div_s(ad_sub(eval_shifted(c->f, c->ud, c->nin, c->x, c->v, -1, c->h),
                                       eval_shifted(c->f, c->ud, c->nin, c->x, c->v, -1, -c->h)),
                                2 * c->h);
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    ad_tensor *xt[MAXIN];
    copies(c, xt, false);
    for (int i = 0; i < c->nin; i++) cr_assert_eq(ad_set_tangent(xt[i], c->v[i]), AD_OK, "%s", ad_errmsg(ctx));
    ad_tensor *jv = ad_get_tangent(eval(c->f, c->ud, c->nin, xt));
    ad_fwd_end(ctx);
    compare("JVP", c->fname, c->file, c->line, -1, jv, fd_jv, c->tol);
    return jv;
}

/* The gradient of <u, f> with respect to input i by central differences,
 * element by element. */
static ad_tensor *vjp_by_differences(const rule_check *c, int i)
{
    ad_tensor *fd = ad_zeros(ctx, ad_shape_of(c->x[i]));
    int64_t n = ad_numel(c->x[i]);
    cr_assert_leq(n, 4096);
    for (int64_t j = 0; j < n; j++) {
        ad_scope sj = ad_scope_begin(ctx);
        ad_tensor *e = ad_zeros(ctx, ad_shape_of(c->x[i]));
        ad_data(e)[j] = 1;
        ad_tensor *dirs[MAXIN];
        for (int k = 0; k < c->nin; k++) dirs[k] = e;
        double fp = dotv(c->u, eval_shifted(c->f, c->ud, c->nin, c->x, dirs, i, c->h));
        double fm = dotv(c->u, eval_shifted(c->f, c->ud, c->nin, c->x, dirs, i, -c->h));
        ad_data(fd)[j] = (fp - fm) / (2 * c->h);
        ad_scope_end(ctx, sj, NULL);
    }
    return fd;
}

/* VJP vs central differences of <u, f>, then the transpose identity
 * <u, J v> = <J^T u, v> against the JVP jv. */
static void check_vjp(const rule_check *c, ad_tensor *jv)
{
    ad_tensor *xr[MAXIN];
    copies(c, xr, true);
    ad_tensor *yr = eval(c->f, c->ud, c->nin, xr);
    double inner_jv = dotv(c->u, jv);
    double inner_vjp = 0;
    if (ad_requires_grad(yr)) {
        cr_assert_eq(ad_backward(yr, c->u, 0), AD_OK, "%s:%d %s: backward failed: %s", c->file, c->line, c->fname,
                     ad_errmsg(ctx));
    }
    for (int i = 0; i < c->nin; i++) {
        ad_tensor *g = ad_grad(xr[i]) ? ad_grad(xr[i]) : ad_zeros(ctx, ad_shape_of(c->x[i]));
        ad_tensor *fd = vjp_by_differences(c, i);
        compare("VJP", c->fname, c->file, c->line, i, g, fd, c->tol);
        inner_vjp += dotv(g, c->v[i]);
    }
    /* the transpose identity needs no step size: it holds to rounding */
    cr_assert(fabs(inner_jv - inner_vjp) <= 1e-9 * (1 + fabs(inner_jv)),
              "%s:%d %s: <u, J v> = %.15g but <J^T u, v> = %.15g", c->file, c->line, c->fname, inner_jv, inner_vjp);
}

/* The gradients of <u, f> at x + h·v (sign 0) or x - h·v (sign 1). */
static void grads_shifted(const rule_check *c, int sign, ad_tensor **g)
{
    ad_tensor *xs[MAXIN];
    for (int i = 0; i < c->nin; i++) {
        xs[i] = ad_clone(ad_detach(ad_add(c->x[i], ad_mul_s(c->v[i], sign ? -c->h : c->h))));
        ad_requires_grad_(xs[i], true);
    }
    ad_tensor *ys = eval(c->f, c->ud, c->nin, xs);
    if (ad_requires_grad(ys)) cr_assert_eq(ad_backward(ys, c->u, 0), AD_OK, "%s", ad_errmsg(ctx));
    for (int i = 0; i < c->nin; i++)
        g[i] = ad_tensor_ref(ad_grad(xs[i]) ? ad_grad(xs[i]) : ad_zeros(ctx, ad_shape_of(c->x[i])));
}

/* HVP of <u, f>: forward over reverse vs differences of gradients. */
static void check_hvp(const rule_check *c)
{
    cr_assert_eq(ad_fwd_begin(ctx, 1), AD_OK);
    ad_tensor *xh[MAXIN];
    copies(c, xh, true);
    for (int i = 0; i < c->nin; i++) ad_set_tangent(xh[i], c->v[i]);
    ad_tensor *yh = eval(c->f, c->ud, c->nin, xh);
    bool ok = !ad_requires_grad(yh) || ad_backward(yh, c->u, 0) == AD_OK;
    cr_assert(ok, "%s:%d %s: HVP backward failed: %s", c->file, c->line, c->fname, ad_errmsg(ctx));
    ad_fwd_end(ctx);
    ad_tensor *gp[MAXIN], *gm[MAXIN];
    grads_shifted(c, 0, gp);
    grads_shifted(c, 1, gm);
    for (int i = 0; i < c->nin; i++) {
        ad_tensor *hv = ad_grad(xh[i]) ? ad_get_tangent(ad_grad(xh[i])) : ad_zeros(ctx, ad_shape_of(c->x[i]));
        ad_tensor *fd = ad_div_s(ad_sub(gp[i], gm[i]), 2 * c->h);
        compare("HVP", c->fname, c->file, c->line, i, hv, fd, c->tol);
    }
}

void th_check_rules_impl(th_fn f, void *ud, int nin, ad_tensor *const *in, double tol, bool second_order,
                         const char *fname, const char *file, int line)
{
    cr_assert(nin > 0 && nin <= MAXIN);
    ad_scope s = ad_scope_begin(ctx);
    rule_check c = {.f = f, .ud = ud, .nin = nin, .tol = tol, .fname = fname, .file = file, .line = line};
    double xmax = 1;
    for (int i = 0; i < nin; i++) {
        c.x[i] = ad_clone(ad_detach(in[i]));
        c.v[i] = ad_randn(ctx, ad_shape_of(in[i]));
        cr_assert_not_null(c.x[i]);
        if (maxabs(c.x[i]) > xmax) xmax = maxabs(c.x[i]);
    }
    c.h = 1e-6 * xmax;
    c.u = ad_randn(ctx, ad_shape_of(eval(f, ud, nin, c.x)));
    ad_tensor *jv = check_jvp(&c);
    check_vjp(&c, jv);
    if (second_order) check_hvp(&c);
    ad_scope_end(ctx, s, NULL);
}

/* ---- running the adscope program ------------------------------------------------ */

th_result *th_run_adscope(const char *const *env, const char *const *args)
{
    static th_result R;
    const char *prog = ADSCOPE_BINARY_DIR "/adscope";
    int po[2], pe[2];
    cr_assert_eq(pipe(po), 0);
    cr_assert_eq(pipe(pe), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        for (int i = 0; env && env[i]; i++) {
            char name[128];
            const char *eq = strchr(env[i], '=');
            if (!eq) continue;
            snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
            setenv(name, eq + 1, 1);
        }
        setenv("COLUMNS", "100", 1);
        char *argv[64];
        int n = 0;
        argv[n++] = (char *)prog;
        for (; args[n - 1] && n < 63; n++) argv[n] = (char *)args[n - 1];
        argv[n] = NULL;
        execv(prog, argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    struct pollfd fds[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
    char *buf[2] = {R.out, R.err};
    size_t cap[2] = {sizeof R.out, sizeof R.err}, len[2] = {0, 0};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char chunk[4096];
            ssize_t k = read(fds[i].fd, chunk, sizeof chunk);
            if (k <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            size_t room = cap[i] - 1 - len[i], take = (size_t)k < room ? (size_t)k : room;
            memcpy(buf[i] + len[i], chunk, take); /* beyond the buffer: read and dropped */
            len[i] += take;
        }
    }
    R.out[len[0]] = '\0';
    R.err[len[1]] = '\0';
    int st;
    waitpid(pid, &st, 0);
    R.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return &R;
}

/* ---- parameterized tests -------------------------------------------------------- */

int th_backend_params(th_backend_param *params, int cap)
{
    int n = 0;
    for (int i = 0; i < ad_backend_count() && n < cap; i++)
        snprintf(params[n++].name, sizeof params[0].name, "%s", ad_backend_at(i)->name);
    return n;
}

const ad_backend *th_backend_of(const char *name)
{
    const ad_backend *b = ad_backend_find(name);
    cr_assert_not_null(b, "no backend named \"%s\" in the registry", name);
    return b;
}

int64_t th_value_and_grads(const ad_backend *b, const ad_problem *p, double *out)
{
    cr_assert(p->nin <= 8, "th_value_and_grads: at most 8 inputs (got %d)", p->nin);
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *y = NULL, *g[8] = {NULL};
    int rc = ad_value_and_grad(b, p, NULL, &y, g, NULL, NULL);
    cr_assert_eq(rc, AD_OK, "%s: %s", b->name, ad_errmsg(ctx));
    int64_t m = 0;
    out[m++] = ad_item(y);
    for (int i = 0; i < p->nin; i++)
        if (g[i]) {
            ad_to_array(g[i], out + m, ad_numel(g[i]));
            m += ad_numel(g[i]);
        }
    ad_scope_end(ctx, s, NULL);
    return m;
}

double *th_answer_room(const ad_problem *p)
{
    int64_t n = 1;
    for (int i = 0; i < p->nin; i++) n += ad_numel(p->in[i]);
    double *a = malloc((size_t)n * sizeof *a);
    cr_assert(a);
    return a;
}

void th_expect_same_numbers(const double *got, const double *want, int64_t n, const char *what, const char *want_name)
{
    for (int64_t i = 0, bad = 0; i < n && bad < 5; i++) {
        bool same = got[i] == want[i] || (got[i] != got[i] && want[i] != want[i]);
        bad += !same;
        cr_expect(same, "%s: entry %lld is %.17g, %s %.17g", what, (long long)i, got[i], want_name, want[i]);
    }
}
