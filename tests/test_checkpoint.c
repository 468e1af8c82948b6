/* tests/test_checkpoint.c — binomial checkpointing: the Revolve schedule
 * (modes/revolve.c) against Griewank & Walther's optimum and against the
 * recurrence it solves, never more than `snaps` stored states; the
 * "reverse-checkpoint" backend and ad_iterate_grad against plain reverse
 * mode on iterated maps (bit for bit where no sum over steps is involved),
 * memory bounded by the budget through the context's exact counters, and
 * every misuse an error. */
#include <float.h>
#include <string.h>

#include "../modes/revolve.h"
#include "helpers.h"
#include "th_cli.h"

TestSuite(checkpoint, .init = th_setup, .fini = th_teardown);

/* ---- the schedule ---------------------------------------------------------------------- */

/* What a simulated run of a schedule did. */
typedef struct {
    int64_t advances;
    int max_held;
    bool consistent; /* advances start at the state in hand, turns come in order l-1..0 from x_t */
} sim;

static sim simulate(int64_t l, int s)
{
    int64_t slot[64], stored[64], cur = 0, next_turn = l - 1;
    sim r = {0, 0, true};
    ad_revolve rv;
    cr_assert_eq(ad_revolve_init(&rv, l, s, slot), 0);
    for (;;) {
        ad_revolve_action a = ad_revolve_next(&rv);
        if (a == AD_REV_TERMINATE) break;
        switch (a) {
        case AD_REV_ADVANCE:
            r.consistent &= rv.from == cur && rv.capo > rv.from;
            r.advances += rv.capo - rv.from;
            cur = rv.capo;
            break;
        case AD_REV_TAKESHOT:
            stored[rv.check] = cur;
            if (rv.check + 1 > r.max_held) r.max_held = rv.check + 1;
            break;
        case AD_REV_RESTORE: r.consistent &= (cur = stored[rv.check]) == rv.capo; break;
        case AD_REV_FIRSTURN:
        case AD_REV_YOUTURN:
            r.consistent &= cur == rv.capo && rv.capo == next_turn && (a == AD_REV_FIRSTURN) == (rv.capo == l - 1);
            next_turn--;
            cur = -1; /* the state in hand is used up */
            break;
        default: cr_assert_fail("l = %lld, s = %d: %s", (long long)l, s, rv.why);
        }
    }
    r.consistent &= next_turn == -1;
    return r;
}

Test(checkpoint, revolve_is_optimal, .description = "Revolve makes exactly r·l - β(s+1, r-1) forward steps (the minimum), "
                                                    "reverses every step in order and never holds more than s states")
{
    for (int s = 1; s <= 24; s++)
        for (int64_t l = 0; l <= 400; l++) {
            sim r = simulate(l, s);
            cr_assert(r.consistent, "l = %lld, s = %d: the schedule is inconsistent", (long long)l, s);
            cr_assert_eq(r.advances, ad_iterate_advances(l, s), "l = %lld, s = %d: %lld forward steps, optimum %lld",
                         (long long)l, s, (long long)r.advances, (long long)ad_iterate_advances(l, s));
            cr_assert_leq(r.max_held, s, "l = %lld, s = %d: %d states held", (long long)l, s, r.max_held);
        }
}

Test(checkpoint, optimum_solves_the_recurrence, .description = "the closed form equals min_m m + t(m, s) + t(l-m, s-1) "
                                                               "solved by brute force")
{
    enum { L = 60, S = 8 };
    static int64_t t[L + 1][S + 1];
    for (int s = 1; s <= S; s++)
        for (int l = 0; l <= L; l++) {
            if (l <= 1) t[l][s] = 0;
            else if (s == 1) t[l][s] = (int64_t)l * (l - 1) / 2; /* from x_0 every time */
            else {
                t[l][s] = INT64_MAX;
                for (int m = 1; m < l; m++) {
                    int64_t v = m + t[m][s] + t[l - m][s - 1];
                    if (v < t[l][s]) t[l][s] = v;
                }
            }
            cr_assert_eq(ad_iterate_advances(l, s), t[l][s], "l = %d, s = %d", l, s);
        }
}

Test(checkpoint, revolve_examples, .description = "known values: k = 10000 with 100 slots takes 3 repetitions; "
                                                  "one slot recomputes l(l-1)/2 steps; slots >= l advance l-1")
{
    cr_expect_eq(ad_revolve_reps(10000, 100), 3);
    cr_expect_eq(ad_iterate_advances(10000, 100), 3 * 10000 - ad_revolve_beta(101, 2));
    cr_expect_eq(ad_iterate_advances(100, 1), 4950);
    cr_expect_eq(ad_iterate_advances(100, 100), 99);
    cr_expect_eq(ad_revolve_beta(3, 2), 10);
    cr_expect_eq(ad_revolve_beta(1000, 1000), INT64_MAX, "saturates");
    /* the automatic budget: the fewest s with C(s + 2, 2) >= k */
    int64_t ks[] = {1, 2, 3, 10, 11, 1000, 10000};
    for (int i = 0; i < 7; i++) {
        int s = ad_iterate_default_snaps(ks[i]);
        cr_expect(ad_revolve_beta(s, 2) >= ks[i] && (s == 1 || ad_revolve_beta(s - 1, 2) < ks[i]), "k = %lld: %d",
                  (long long)ks[i], s);
    }
    cr_expect_eq(ad_iterate_default_snaps(10000), 140);
}

Test(checkpoint, revolve_refuses, .description = "a bad budget or step count is an error, not a schedule")
{
    int64_t slot[4];
    ad_revolve rv;
    cr_expect_eq(ad_revolve_init(&rv, 10, 0, slot), -1);
    cr_expect_eq(ad_revolve_next(&rv), AD_REV_ERROR);
    cr_expect(strstr(rv.why, "snapshots"), "%s", rv.why);
    cr_expect_eq(ad_revolve_init(&rv, -1, 2, slot), -1);
    cr_expect_eq(ad_revolve_init(&rv, 10, 2, NULL), -1);
    cr_expect_eq(ad_iterate_advances(-1, 3), -1);
    cr_expect_eq(ad_iterate_advances(10, 0), -1);
}

/* |a - b| within n units of the last place of the larger */
static bool within_ulp(double a, double b, int n)
{
    return fabs(a - b) <= n * 0x1p-52 * fmax(fabs(a), fabs(b));
}

/* ---- maps ----------------------------------------------------------------------------------- */

/* the harness's chain: x_{t+1} = 0.9 sin(x_t) + 0.1 x_t */
static ad_tensor *chain_step(ad_ctx *c, ad_tensor *x, ad_tensor *const *th, int64_t t, void *u)
{
    (void)c, (void)th, (void)t, (void)u;
    return ad_add(ad_mul_s(ad_sin(x), 0.9), ad_mul_s(x, 0.1));
}

/* with parameters and the step index: x_{t+1} = x_t + h (sin(a ⊙ x_t) x_t² + exp(-x_t²) b) + 1e-3 t */
static ad_tensor *expsin_step(ad_ctx *c, ad_tensor *x, ad_tensor *const *th, int64_t t, void *u)
{
    (void)c, (void)u;
    ad_tensor *x2 = ad_square(x);
    ad_tensor *d = ad_add(ad_mul(ad_sin(ad_mul(th[0], x)), x2), ad_mul(ad_exp(ad_neg(x2)), th[1]));
    return ad_add_s(ad_add(x, ad_mul_s(d, 0.05)), 1e-3 * (double)t);
}

/* L = Σ sin(x) + a·x */
static ad_tensor *expsin_loss(ad_ctx *c, ad_tensor *x, ad_tensor *const *th, void *u)
{
    (void)c, (void)u;
    return ad_sum(ad_add(ad_sin(x), ad_mul(th[0], x)), AD_ALL, false);
}

static ad_tensor *vec(int64_t n, double phase)
{
    ad_tensor *x = ad_empty(ctx, AD_SHAPE(n));
    for (int64_t i = 0; i < n; i++) ad_data(x)[i] = 0.5 + 0.4 * sin((double)(i + 1) + phase);
    return x;
}

/* Gradients of map at in by reverse and by reverse-checkpoint (budget s). */
static void both(ad_iterate *map, int nin, ad_tensor *const *in, int s, ad_tensor **gr, ad_tensor **gc, double *yr,
                 double *yc)
{
    ad_problem p = {.ctx = ctx, .f = ad_iterate_fn, .user = map, .nin = nin, .in = in};
    ad_tensor *vr = NULL, *vc = NULL;
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, &vr, gr, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    map->snaps = s;
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse-checkpoint"), &p, NULL, &vc, gc, NULL, NULL), AD_OK, "%s",
                 ad_errmsg(ctx));
    *yr = ad_item(vr);
    *yc = ad_item(vc);
    ad_tensor_free(vr);
    ad_tensor_free(vc);
}

static void expect_identical(ad_tensor *a, ad_tensor *b, const char *what, int64_t k, int s)
{
    cr_assert(a && b);
    int64_t n = ad_numel(a);
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(memcmp(&ad_data(a)[i], &ad_data(b)[i], sizeof(double)), 0, "%s[%lld], k = %lld, snaps = %d: %.17g vs %.17g",
                     what, (long long)i, (long long)k, s, ad_data(a)[i], ad_data(b)[i]);
}

Test(checkpoint, chain_equals_reverse_bit_for_bit, .description = "chain: the checkpointed gradient is plain reverse mode's, "
                                                                  "bit for bit, at several (k, snaps)")
{
    ad_iterate map = {.step = chain_step, .steps = 0};
    int64_t ks[] = {0, 1, 2, 7, 50, 333};
    int ss[] = {1, 2, 3, 10, 0, 1000};
    ad_tensor *x = vec(37, 0);
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) {
            map.steps = ks[a];
            ad_tensor *gr[1] = {0}, *gc[1] = {0};
            double yr, yc;
            both(&map, 1, &x, ss[b], gr, gc, &yr, &yc);
            cr_assert_eq(yr, yc, "value, k = %lld, snaps = %d", (long long)ks[a], ss[b]);
            expect_identical(gr[0], gc[0], "grad", ks[a], ss[b]);
            ad_tensor_free(gr[0]);
            ad_tensor_free(gc[0]);
        }
    ad_tensor_free(x);
}

Test(checkpoint, parameters_equal_reverse, .description = "a map with parameters and a loss: x_0's gradient bit for bit, "
                                                          "the parameters' (summed over steps) within 4 ulp")
{
    ad_iterate map = {.step = expsin_step, .loss = expsin_loss, .nparams = 2};
    ad_tensor *in[3] = {vec(23, 0), vec(23, 1.3), vec(23, 2.1)};
    int64_t ks[] = {1, 3, 40, 129};
    int ss[] = {1, 4, 0, 200};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            map.steps = ks[a];
            ad_tensor *gr[3] = {0}, *gc[3] = {0};
            double yr, yc;
            both(&map, 3, in, ss[b], gr, gc, &yr, &yc);
            cr_assert_eq(yr, yc);
            expect_identical(gr[0], gc[0], "grad x_0", ks[a], ss[b]);
            for (int i = 1; i < 3; i++)
                for (int64_t j = 0; j < 23; j++)
                    cr_assert(within_ulp(ad_data(gr[i])[j], ad_data(gc[i])[j], 4), "theta %d [%lld], k = %lld, "
                              "snaps = %d: %.17g vs %.17g", i, (long long)j, (long long)ks[a], ss[b],
                              ad_data(gr[i])[j], ad_data(gc[i])[j]);
            for (int i = 0; i < 3; i++) {
                ad_tensor_free(gr[i]);
                ad_tensor_free(gc[i]);
            }
        }
    for (int i = 0; i < 3; i++) ad_tensor_free(in[i]);
}

/* Peak bytes (values + tape + tangents) of one gradient of chain at k by
 * backend b with budget s, and what the schedule did. */
static int64_t chain_peak(const char *b, int64_t n, int64_t k, int s, ad_stats *st)
{
    ad_iterate map = {.step = chain_step, .steps = k, .snaps = s};
    ad_tensor *x = vec(n, 0), *g[1] = {0};
    ad_problem p = {.ctx = ctx, .f = ad_iterate_fn, .user = &map, .nin = 1, .in = &x};
    cr_assert_eq(ad_value_and_grad(ad_backend_find(b), &p, NULL, NULL, g, NULL, st), AD_OK, "%s", ad_errmsg(ctx));
    ad_tensor_free(g[0]);
    ad_tensor_free(x);
    return st->peak[AD_MEM_VALUES] + st->peak[AD_MEM_TAPE] + st->peak[AD_MEM_TANGENTS];
}

Test(checkpoint, memory_follows_the_budget, .description = "chain n = 2000, k = 400: the checkpointed peak is within "
                                                           "(snaps + 12) states, grows with snaps, and is far below the tape's")
{
    const int64_t n = 2000, k = 400, state = 8 * n;
    ad_stats st;
    int64_t plain = chain_peak("reverse", n, k, 0, &st);
    cr_expect_geq(plain, k * state, "plain reverse tapes every state: %lld bytes", (long long)plain);
    int64_t prev = 0;
    int ss[] = {2, 5, 20, 60};
    for (int i = 0; i < 4; i++) {
        int64_t peak = chain_peak("reverse-checkpoint", n, k, ss[i], &st);
        cr_expect_leq(peak, (ss[i] + 12) * state, "snaps %d: %lld bytes, %.1f states", ss[i], (long long)peak,
                      (double)peak / (double)state);
        cr_expect_gt(peak, prev, "snaps %d: more snapshots, more memory", ss[i]);
        cr_expect_eq(st.sweeps, k, "one sweep per step");
        cr_expect_eq(st.passes, 1);
        prev = peak;
    }
    cr_expect_lt(prev * 4, plain, "60 snapshots against 400 taped steps");
}

Test(checkpoint, iterate_grad_reports_the_schedule, .description = "ad_iterate_grad: the gradient, and the schedule's "
                                                                   "counts: Revolve's optimum of forward steps, k recorded, "
                                                                   "no more states than the budget")
{
    ad_iterate map = {.step = chain_step, .steps = 250, .snaps = 6};
    ad_tensor *x = vec(11, 0.3), *g[1] = {0}, *y = NULL, *gr[1] = {0};
    ad_iterate_info info;
    ad_stats st;
    cr_assert_eq(ad_iterate_grad(ctx, &map, &x, NULL, &y, g, &st, &info), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_eq(info.steps, 250);
    cr_expect_eq(info.snaps, 6);
    cr_expect_eq(info.advances, ad_iterate_advances(250, 6));
    cr_expect_eq(info.recorded, 250);
    cr_expect(info.max_held >= 1 && info.max_held <= 6, "%d", info.max_held);
    cr_expect_eq(ad_ndim(g[0]), 1, "the gradient has x_0's shape");
    ad_problem p = {.ctx = ctx, .f = ad_iterate_fn, .user = &map, .nin = 1, .in = &x};
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, NULL, gr, NULL, NULL), AD_OK);
    expect_identical(gr[0], g[0], "grad", 250, 6);
    /* the automatic budget resolved */
    map.snaps = 0;
    ad_tensor *g2[1] = {0};
    cr_assert_eq(ad_iterate_grad(ctx, &map, &x, NULL, NULL, g2, NULL, &info), AD_OK);
    cr_expect_eq(info.snaps, ad_iterate_default_snaps(250));
    cr_expect_eq(info.advances, ad_iterate_advances(250, info.snaps));
    ad_tensor *all[] = {x, g[0], y, gr[0], g2[0]};
    for (int i = 0; i < 5; i++) ad_tensor_free(all[i]);
}

Test(checkpoint, steps_from_an_input, .description = "AD_ITERATE_STEPS_INPUT reads k from the input after the "
                                                     "parameters (the harness's chain) and gives it a zero gradient")
{
    ad_iterate map = {.step = chain_step, .steps = AD_ITERATE_STEPS_INPUT, .snaps = 3};
    ad_tensor *in[2] = {vec(5, 0), ad_scalar(ctx, 30)}, *gc[2] = {0}, *gr[2] = {0};
    ad_problem p = {.ctx = ctx, .f = ad_iterate_fn, .user = &map, .nin = 2, .in = in};
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse-checkpoint"), &p, NULL, NULL, gc, NULL, NULL), AD_OK, "%s",
                 ad_errmsg(ctx));
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, NULL, gr, NULL, NULL), AD_OK);
    expect_identical(gr[0], gc[0], "grad", 30, 3);
    cr_expect_eq(ad_item(gc[1]), 0);
    /* k = 2.5 is no number of steps */
    ad_tensor *bad[2] = {in[0], ad_scalar(ctx, 2.5)}, *gb[2] = {0};
    p.in = bad;
    cr_expect_eq(ad_value_and_grad(ad_backend_find("reverse-checkpoint"), &p, NULL, NULL, gb, NULL, NULL), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "whole number"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    ad_tensor *all[] = {in[0], in[1], gc[0], gc[1], gr[0], gr[1], bad[1]};
    for (int i = 0; i < 7; i++) ad_tensor_free(all[i]);
}

Test(checkpoint, other_functions_are_plain_reverse, .description = "on an f that is not an iterated map the backend is "
                                                                   "plain reverse mode: the same gradient and tape")
{
    ad_tensor *x = vec(50, 0), *gr[1] = {0}, *gc[1] = {0};
    ad_problem p = {.ctx = ctx, .f = th_rosenbrock, .nin = 1, .in = &x};
    ad_stats sr, sc;
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse"), &p, NULL, NULL, gr, NULL, &sr), AD_OK);
    cr_assert_eq(ad_value_and_grad(ad_backend_find("reverse-checkpoint"), &p, NULL, NULL, gc, NULL, &sc), AD_OK);
    expect_identical(gr[0], gc[0], "rosenbrock", 0, 0);
    cr_expect_eq(sr.ops_recorded, sc.ops_recorded);
    cr_expect_eq(sr.peak[AD_MEM_TAPE], sc.peak[AD_MEM_TAPE]);
    ad_tensor *all[] = {x, gr[0], gc[0]};
    for (int i = 0; i < 3; i++) ad_tensor_free(all[i]);
}

/* a loss with 3 values: the sums of thirds of x_k */
static ad_tensor *three(ad_ctx *c, ad_tensor *x, ad_tensor *const *th, void *u)
{
    (void)c, (void)th, (void)u;
    return ad_sum(ad_reshape(x, AD_SHAPE(3, 4)), AD_AXES(1), false);
}

Test(checkpoint, jacobian_and_vjp_rows, .description = "a vector loss: the Jacobian by rows and a VJP equal plain "
                                                       "reverse mode's; the gradient of it is refused with a message")
{
    ad_iterate map = {.step = chain_step, .loss = three, .steps = 17, .snaps = 3};
    ad_tensor *x = vec(12, 0.7), *Jr[1] = {0}, *Jc[1] = {0};
    ad_problem p = {.ctx = ctx, .f = ad_iterate_fn, .user = &map, .nin = 1, .in = &x};
    cr_assert_eq(ad_jacobian(ad_backend_find("reverse"), &p, NULL, NULL, Jr, NULL, NULL, NULL), AD_OK);
    cr_assert_eq(ad_jacobian(ad_backend_find("reverse-checkpoint"), &p, NULL, NULL, Jc, NULL, NULL, NULL), AD_OK, "%s",
                 ad_errmsg(ctx));
    expect_identical(Jr[0], Jc[0], "J", 17, 3);
    ad_tensor *u = ad_from_array(ctx, AD_SHAPE(3), TH_V(0.3, -1.7, 2.385)), *vr[1] = {0}, *vc[1] = {0};
    cr_assert_eq(ad_vjp(ad_backend_find("reverse"), &p, u, NULL, NULL, vr, NULL, NULL), AD_OK);
    cr_assert_eq(ad_vjp(ad_backend_find("reverse-checkpoint"), &p, u, NULL, NULL, vc, NULL, NULL), AD_OK, "%s", ad_errmsg(ctx));
    expect_identical(vr[0], vc[0], "vjp", 17, 3);
    ad_tensor *g[1] = {0};
    cr_expect_eq(ad_value_and_grad(ad_backend_find("reverse-checkpoint"), &p, NULL, NULL, g, NULL, NULL), AD_ESHAPE);
    cr_expect(strstr(ad_errmsg(ctx), "one value"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    ad_tensor *all[] = {x, Jr[0], Jc[0], u, vr[0], vc[0]};
    for (int i = 0; i < 6; i++) ad_tensor_free(all[i]);
}

static ad_tensor *failing_step(ad_ctx *c, ad_tensor *x, ad_tensor *const *th, int64_t t, void *u)
{
    (void)th, (void)u;
    if (t == 5) return ad_add(x, ad_zeros(c, AD_SHAPE(2, 2))); /* shapes that cannot broadcast */
    return ad_mul_s(x, 0.5);
}

static ad_tensor *null_step(ad_ctx *c, ad_tensor *x, ad_tensor *const *th, int64_t t, void *u)
{
    (void)c, (void)x, (void)th, (void)t, (void)u;
    return NULL;
}

Test(checkpoint, misuse_is_an_error, .description = "no step, a wrong input count, a step that fails or returns NULL "
                                                    "silently, forward over checkpointed reverse: errors that say so")
{
    ad_tensor *x = vec(3, 0), *g[2] = {0};
    const ad_backend *b = ad_backend_find("reverse-checkpoint");
    ad_iterate map = {.step = NULL, .steps = 10};
    ad_problem p = {.ctx = ctx, .f = ad_iterate_fn, .user = &map, .nin = 1, .in = &x};
    struct {
        ad_step_fn step;
        int nin;
        const char *msg;
    } cases[] = {{NULL, 1, "no step function"},
                 {chain_step, 2, "takes 1 inputs"},
                 {failing_step, 1, "broadcast"},
                 {null_step, 1, "step 0 returned NULL without recording an error"}};
    ad_tensor *in2[2] = {x, x};
    for (int i = 0; i < 4; i++) {
        map.step = cases[i].step;
        p.nin = cases[i].nin;
        p.in = cases[i].nin == 2 ? in2 : &x;
        cr_expect_lt(ad_value_and_grad(b, &p, NULL, NULL, g, NULL, NULL), 0, "case %d", i);
        cr_expect(strstr(ad_errmsg(ctx), cases[i].msg), "case %d: %s", i, ad_errmsg(ctx));
        cr_expect_null(g[0]);
        ad_clear_error(ctx);
    }
    /* tangents on (forward over reverse) would be dropped by the snapshots */
    map.step = chain_step;
    p.nin = 1;
    p.in = &x;
    ad_fwd_begin(ctx, 1);
    cr_expect_eq(ad_value_and_grad(b, &p, NULL, NULL, g, NULL, NULL), AD_ESTATE);
    cr_expect(strstr(ad_errmsg(ctx), "forward over reverse"), "%s", ad_errmsg(ctx));
    ad_fwd_end(ctx);
    ad_clear_error(ctx);
    cr_expect_eq(ad_iterate_grad(ctx, NULL, &x, NULL, NULL, g, NULL, NULL), AD_EINVAL);
    ad_clear_error(ctx);
    ad_tensor_free(x);
}

Test(checkpoint, iterate_fn_evaluates_the_map, .description = "ad_iterate_fn is the map itself: chain by hand for k = 3")
{
    ad_iterate map = {.step = chain_step, .steps = 3};
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(0.3, 2.385));
    ad_tensor *y = ad_iterate_fn(ctx, &x, &map);
    double want = 0;
    for (int i = 0; i < 2; i++) {
        double v = ad_data(x)[i];
        for (int t = 0; t < 3; t++) v = 0.9 * sin(v) + 0.1 * v;
        want += v;
    }
    cr_expect(within_ulp(ad_item(y), want, 4), "%.17g vs %.17g", ad_item(y), want);
    ad_tensor_free(y);
    ad_tensor_free(x);
}

/* ---- adscope checkpoint ------------------------------------------------------------------------ */

/* The "forward steps" of the table's row for budget snaps (-1: no such row). */
static long long forward_steps(const char *out, int snaps)
{
    for (const char *p = strstr(out, "\n  reverse-checkpoint "); p; p = strstr(p + 1, "\n  reverse-checkpoint ")) {
        int s;
        long long steps;
        char star[4];
        if (sscanf(p, " reverse-checkpoint %d%3[*] %lld", &s, star, &steps) == 3 ||
            sscanf(p, " reverse-checkpoint %d %lld", &s, &steps) == 2)
            if (s == snaps) return steps;
    }
    return -1;
}

Test(checkpoint, command_table_and_dumb_chart, .description = "adscope checkpoint: plain reverse and each budget, "
                                                             "Revolve's step counts, identical gradients, the chart in "
                                                             "characters with its four legends")
{
    result *r = run_with("COLUMNS=100", "checkpoint", "--steps", "200", "--snaps", "3,auto,50", "--reps", "1",
                         "--format", "dumb");
    cr_assert_eq(r->status, 0, "%s", r->err);
    expect_out(r, "k = 200");
    int s_auto = ad_iterate_default_snaps(200);
    cr_expect_eq(forward_steps(r->out, 3), 200 + ad_iterate_advances(200, 3), "%s", r->out);
    cr_expect_eq(forward_steps(r->out, s_auto), 200 + ad_iterate_advances(200, s_auto), "%s", r->out);
    cr_expect_eq(forward_steps(r->out, 50), 200 + ad_iterate_advances(200, 50), "%s", r->out);
    char marked[16];
    snprintf(marked, sizeof marked, " %d* ", s_auto);
    expect_out(r, marked);
    const char *legends[] = {"memory: reverse-checkpoint", "memory: reverse (tapes every step)",
                             "time: reverse-checkpoint", "time: reverse", "snapshot budget"};
    for (int i = 0; i < 5; i++) expect_out(r, legends[i]);
    /* every gradient equals plain reverse's: the last column is 0 */
    const char *p = r->out;
    int rows = 0;
    while ((p = strstr(p, "\n  reverse-checkpoint "))) {
        const char *eol = strchr(++p, '\n');
        cr_expect(eol && eol[-1] == '0' && eol[-2] == ' ', "a row with a difference: %.*s", (int)(eol - p), p);
        p = eol;
        rows++;
    }
    cr_expect_eq(rows, 3);
}

Test(checkpoint, command_input_errors, .description = "adscope checkpoint: a bad budget or step count is exit 2 naming it")
{
    const char *bad[][2] = {{"--snaps", "0"}, {"--snaps", "3,x"}, {"--snaps", ","}, {"--steps", "0"}, {"--reps", "-1"}};
    for (int i = 0; i < 5; i++) {
        result *r = run("checkpoint", bad[i][0], bad[i][1]);
        cr_expect_eq(r->status, 2, "%s %s: %d", bad[i][0], bad[i][1], r->status);
        cr_expect(strstr(r->err, bad[i][0]), "%s %s: %s", bad[i][0], bad[i][1], r->err);
    }
}
