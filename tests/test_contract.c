/* tests/test_contract.c — callers that break the contract get an error,
 * never a crash or a wrong answer (issue 12): a function returning NULL
 * without an error, or a tensor of another context, through every driver;
 * the automatic Jacobian when f fails on its first evaluation (by its own
 * error, or an allocation failure at every possible point); freeing what
 * ad_grad lent, and freeing one reference twice. */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "th_params.h"

TestSuite(contract, .init = th_setup, .fini = th_teardown);

static ad_tensor *f_silent(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)c;
    (void)in;
    (void)ud;
    return NULL;
}

/* The result is built in the context ud (another one). */
static ad_tensor *f_foreign(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)c;
    (void)in;
    return ad_scalar(ud, 2.5);
}

/* Records an error, then returns a tensor anyway (a plugin that reports a
 * failed step and carries on). */
static ad_tensor *f_errs_but_returns(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)ud;
    ad_raise(c, AD_ESTATE, "f: the step at x[1] failed");
    return ad_sum(ad_sin(in[0]), AD_ALL, false);
}

ParameterizedTestParameters(contract, broken_functions_are_reported_by_every_backend)
{
    static th_backend_param b[16];
    return cr_make_param_array(th_backend_param, b, (size_t)th_backend_params(b, 16));
}

ParameterizedTest(th_backend_param *bp, contract, broken_functions_are_reported_by_every_backend,
                  .description = "NULL without an error, a tensor of another context, or a tensor after an error: "
                                 "a failure with a message (was: an empty message; a zero gradient with success; a "
                                 "crash; a result despite the error)")
{
    const ad_backend *be = th_backend_of(bp->name);
    ad_ctx *other = ad_ctx_new();
    cr_assert_not_null(other);
    ad_tensor *in[1] = {th_input_vec(3)};
    struct {
        ad_fn f;
        const char *says;
        int status;
    } cases[] = {{f_silent, "returned NULL without recording an error", AD_EINVAL},
                 {f_foreign, "another context", AD_EINVAL},
                 {f_errs_but_returns, "the step at x[1] failed", AD_ESTATE}};
    for (size_t c = 0; c < 3; c++) {
        ad_problem p = {.ctx = ctx, .f = cases[c].f, .user = other, .nin = 1, .in = in};
        ad_tensor *val = NULL, *g[1] = {NULL}, *J[1] = {NULL};
        int rc = ad_value_and_grad(be, &p, NULL, &val, g, NULL, NULL);
        cr_expect_eq(rc, cases[c].status, "%s case %zu: grad %d", be->name, c, rc);
        cr_expect(strstr(ad_errmsg(ctx), cases[c].says), "%s: '%s'", be->name, ad_errmsg(ctx));
        cr_expect(val == NULL && g[0] == NULL);
        ad_clear_error(ctx);
        rc = ad_jacobian(be, &p, NULL, &val, J, NULL, NULL, NULL);
        cr_expect_eq(rc, cases[c].status, "%s case %zu: jacobian %d", be->name, c, rc);
        cr_expect(strstr(ad_errmsg(ctx), cases[c].says), "%s: '%s'", be->name, ad_errmsg(ctx));
        ad_clear_error(ctx);
    }
    ad_mem_stats m;
    ad_ctx_mem_stats(other, &m);
    cr_expect_eq(m.tensors, 0, "the foreign results were released");
    ad_ctx_free(other);
}

Test(contract, hessian_and_hvp_of_a_broken_function)
{
    ad_tensor *in[1] = {th_input_vec(3)};
    ad_problem p = {.ctx = ctx, .f = f_silent, .nin = 1, .in = in};
    ad_tensor *H[1] = {NULL}, *hv[1] = {NULL}, *v[1] = {th_input_vec(3)};
    cr_expect_eq(ad_hessian(&p, NULL, NULL, H, NULL), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "without recording an error"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    cr_expect_eq(ad_hvp(&p, v, NULL, NULL, hv, NULL), AD_EINVAL);
    cr_expect(strstr(ad_errmsg(ctx), "without recording an error"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
}

/* ---- the automatic Jacobian when f fails first ------------------------------------------------ */

/* Fails (with its own error) on the first call only. */
static ad_tensor *f_fails_first(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    int *calls = ud;
    if ((*calls)++ == 0) return ad_add(in[0], ad_zeros(c, AD_SHAPE(5))); /* [3] + [5]: cannot broadcast */
    return ad_mul(in[0], in[0]);
}

Test(contract, automatic_jacobian_when_f_fails_first)
{
    int calls = 0;
    ad_tensor *in[1] = {th_input_vec(3)};
    ad_problem p = {.ctx = ctx, .f = f_fails_first, .user = &calls, .nin = 1, .in = in};
    ad_tensor *J[1] = {NULL};
    ad_jacobian_info info;
    int rc = ad_jacobian(NULL, &p, NULL, NULL, J, NULL, &info, NULL);
    cr_expect_eq(rc, AD_ESHAPE, "%s", ad_errmsg(ctx));
    cr_expect(strstr(ad_errmsg(ctx), "cannot broadcast"), "%s", ad_errmsg(ctx));
    cr_expect_null(J[0]);
    cr_expect_null(info.backend, "no backend was chosen");
    ad_clear_error(ctx);
}

/* An allocator that fails its n-th call (counting from 1) and only that. */
typedef struct {
    long count, fail_at;
} failing;

static void *fail_nth(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)osize;
    failing *a = ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (++a->count == a->fail_at) return NULL;
    return ptr ? realloc(ptr, nsize) : malloc(nsize);
}

static ad_tensor *f_square(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)c;
    (void)ud;
    return ad_mul(in[0], ad_sin(in[0]));
}

Test(contract, automatic_jacobian_under_every_allocation_failure,
     .description = "failing the n-th allocation for every n (from the first evaluation of f on): AD_ENOMEM with a "
                    "message or the exact Jacobian, never a crash")
{
    failing a = {0, 0};
    ad_ctx_options o = {.alloc = fail_nth, .alloc_ud = &a};
    ad_ctx *c = ad_ctx_new_with(&o);
    cr_assert_not_null(c);
    ad_tensor *x = ad_from_array(c, AD_SHAPE(3), (const double[]){0.3, -1.2, 2.1});
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = c, .f = f_square, .nin = 1, .in = in};
    ad_tensor *Jref[1] = {NULL};
    cr_assert_eq(ad_jacobian(NULL, &p, NULL, NULL, Jref, NULL, NULL, NULL), AD_OK);
    long needed = a.count;
    int failures = 0;
    for (long n = 1; n <= needed + 1; n++) {
        a.count = 0;
        a.fail_at = a.count + n;
        ad_tensor *J[1] = {NULL};
        int rc = ad_jacobian(NULL, &p, NULL, NULL, J, NULL, NULL, NULL);
        a.fail_at = 0;
        if (rc == AD_OK) {
            cr_assert_not_null(J[0]);
            cr_expect_eq(memcmp(ad_data(J[0]), ad_data(Jref[0]), 9 * sizeof(double)), 0, "n = %ld: other values", n);
            ad_tensor_free(J[0]);
        } else {
            failures++;
            cr_expect_eq(rc, AD_ENOMEM, "n = %ld: %s", n, ad_errmsg(c));
            cr_expect(ad_errmsg(c)[0], "n = %ld: a message", n);
            cr_expect_null(J[0]);
            ad_clear_error(c);
        }
    }
    cr_expect_gt(failures, 0, "some allocation was failed (pools may serve the rest)");
    ad_tensor_free(Jref[0]);
    ad_tensor_free(x);
    ad_mem_stats m;
    ad_ctx_mem_stats(c, &m);
    cr_expect_eq(m.tensors, 0, "%lld tensors left", (long long)m.tensors);
    ad_ctx_free(c);
}

/* ---- ownership misuse --------------------------------------------------------------------------- */

static ad_tensor *x_with_grad(void)
{
    ad_tensor *x = th_input_vec(4);
    cr_assert_eq(ad_requires_grad_(x, true), AD_OK);
    ad_tensor *y = ad_sum(ad_mul(x, x), AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK);
    cr_assert_not_null(ad_grad(x));
    return x;
}

Test(contract, freeing_what_ad_grad_lent_is_refused,
     .description = "ad_tensor_free(ad_grad(x)): an error, x keeps its .grad, the context frees cleanly")
{
    ad_tensor *x = x_with_grad();
    ad_mem_stats before, after;
    ad_ctx_mem_stats(ctx, &before);
    ad_tensor_free(ad_grad(x));
    cr_expect_eq(ad_errno(ctx), AD_ESTATE);
    cr_expect(strstr(ad_errmsg(ctx), "borrowed"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    ad_ctx_mem_stats(ctx, &after);
    cr_expect_eq(after.tensors, before.tensors);
    cr_expect_float_eq(ad_data(ad_grad(x))[1], 2 * ad_data(x)[1], 1e-15, "the gradient is still there");
}

Test(contract, a_reference_taken_to_a_lent_grad_is_freed_normally)
{
    ad_tensor *x = x_with_grad();
    ad_mem_stats before, after;
    ad_ctx_mem_stats(ctx, &before);
    ad_tensor *mine = ad_tensor_ref(ad_grad(x));
    ad_clear_grad(x); /* x lets go: mine is the last reference */
    ad_tensor_free(mine);
    cr_expect_eq(ad_errno(ctx), AD_OK, "%s", ad_errmsg(ctx));
    ad_ctx_mem_stats(ctx, &after);
    cr_expect_eq(after.tensors, before.tensors - 1, "the gradient was released");
}

/* Under ASan, recycled handles may be poisoned (then ASan itself reports
 * the second free): the check below is for the builds without it. */
#if defined(__SANITIZE_ADDRESS__)
#define TH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TH_ASAN 1
#endif
#endif

Test(contract, freeing_one_reference_twice_is_refused)
{
#ifdef TH_ASAN
    cr_skip_test("ASan builds: a recycled handle may be poisoned, and ASan reports the second free");
#endif
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *keep = ad_ones(ctx, AD_SHAPE(3)); /* holds a handle so t's stays in the free list */
    ad_tensor *t = ad_ones(ctx, AD_SHAPE(2));
    ad_mem_stats before, after;
    ad_tensor_free(t);
    ad_ctx_mem_stats(ctx, &before);
    ad_tensor_free(t); /* the handle sits in the context's free list: refused, not counted twice */
    cr_expect_eq(ad_errno(ctx), AD_ESTATE);
    cr_expect(strstr(ad_errmsg(ctx), "freed already"), "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    ad_ctx_mem_stats(ctx, &after);
    cr_expect_eq(after.tensors, before.tensors);
    (void)keep;
    ad_scope_end(ctx, s, NULL);
}
