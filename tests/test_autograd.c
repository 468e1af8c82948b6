/* tests/test_autograd.c — reverse mode with PyTorch's semantics: the D2L notes'
 * autograd examples exactly, accumulation, detach, no-grad, retained and
 * released tapes, errors, graph inspection, second order. */
#include <string.h>

#include "helpers.h"

TestSuite(autograd, .init = th_setup, .fini = th_teardown);

static const char *str(ad_tensor *t)
{
    static char buf[512];
    cr_assert_geq(ad_snprint(buf, sizeof buf, t, NULL), 0, "%s", ad_errmsg(ctx));
    return buf;
}

Test(autograd, d2l_y_is_2_dot_x_x, .description = "x = arange(4.); y = 2 * dot(x, x); y.backward(); x.grad == 4x")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    cr_assert_eq(ad_requires_grad_(x, true), AD_OK);
    cr_expect_str_eq(str(x), "tensor([0., 1., 2., 3.], requires_grad=True)");
    cr_expect_null(ad_grad(x), "no gradient before backward");
    ad_tensor *y = ad_mul_s(ad_dot(x, x), 2);
    cr_expect_str_eq(str(y), "tensor(28., grad_fn=<MulBackward0>)");
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    cr_expect_str_eq(str(ad_grad(x)), "tensor([ 0.,  4.,  8., 12.])");
    th_expect(ad_eq(ad_grad(x), ad_mul_s(x, 4)), AD_SHAPE(4), TH_V(1, 1, 1, 1), 0, 0);
}

Test(autograd, d2l_zero_grad_then_sum, .description = "x.grad.zero_(); y = x.sum(); y.backward(); x.grad == ones")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(ad_mul_s(ad_dot(x, x), 2), NULL, 0), AD_OK);
    cr_assert_eq(ad_zero_grad(x), AD_OK);
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(0, 0, 0, 0), 0, 0);
    ad_tensor *y = ad_sum(x, AD_ALL, false);
    cr_expect_str_eq(ad_grad_fn_name(y), "SumBackward0");
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK);
    cr_expect_str_eq(str(ad_grad(x)), "tensor([1., 1., 1., 1.])");
}

Test(autograd, d2l_nonscalar_backward_with_a_gradient_argument,
     .description = "y = x * x; y.backward(ones(len(x))) == y.sum().backward(): grad 2x")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul(x, x);
    cr_expect_eq(ad_backward(y, NULL, 0), AD_EGRAD);
    cr_expect(strstr(ad_errmsg(ctx), "grad can be implicitly created only for scalar outputs"), "%s", ad_errmsg(ctx));
    cr_expect(strstr(ad_errmsg(ctx), "[4]"), "the message names the shape: %s", ad_errmsg(ctx));
    cr_assert_eq(ad_backward(y, ad_ones(ctx, AD_SHAPE(4)), 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(0, 2, 4, 6), 0, 0);
    ad_zero_grad(x);
    cr_assert_eq(ad_backward(ad_sum(ad_mul(x, x), AD_ALL, false), NULL, 0), AD_OK);
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(0, 2, 4, 6), 0, 0);
    cr_expect_eq(ad_backward(ad_mul(x, x), ad_ones(ctx, AD_SHAPE(3)), 0), AD_ESHAPE, "a seed must match");
    cr_expect(strstr(ad_errmsg(ctx), "seed of shape [3] does not match the output's shape [4]"), "%s",
              ad_errmsg(ctx));
}

Test(autograd, d2l_detach, .description = "u = (x*x).detach(); z = u * x; z.sum().backward(); x.grad == u")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul(x, x);
    ad_tensor *u = ad_detach(y);
    cr_expect_not(ad_requires_grad(u));
    cr_expect(ad_is_leaf(u));
    cr_expect_eq(ad_storage_id(u), ad_storage_id(y), "detach shares storage");
    ad_tensor *z = ad_mul(u, x);
    cr_assert_eq(ad_backward(ad_sum(z, AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_eq(ad_grad(x), u), AD_SHAPE(4), TH_V(1, 1, 1, 1), 0, 0);
    /* y is still a function of x */
    ad_zero_grad(x);
    cr_assert_eq(ad_backward(ad_sum(y, AD_ALL, false), NULL, 0), AD_OK);
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(0, 2, 4, 6), 0, 0);
}

Test(autograd, d2l_mean_of_2x, .description = "x = arange(8.); z = (2*x).mean(); x.grad == 0.25")
{
    ad_tensor *x = ad_arange_n(ctx, 8);
    ad_requires_grad_(x, true);
    ad_tensor *z = ad_mean(ad_mul_s(x, 2), AD_ALL, false);
    cr_assert_eq(ad_backward(z, NULL, 0), AD_OK);
    cr_expect_str_eq(str(ad_grad(x)), "tensor([0.2500, 0.2500, 0.2500, 0.2500, 0.2500, 0.2500, 0.2500, 0.2500])");
}

Test(autograd, d2l_gradients_accumulate, .description = "y = x1 + 2*x2, backward twice: grads 1,2 then 2,4")
{
    ad_tensor *x1 = ad_scalar(ctx, 1), *x2 = ad_scalar(ctx, 2);
    ad_requires_grad_(x1, true);
    ad_requires_grad_(x2, true);
    ad_tensor *y = ad_add(x1, ad_mul_s(x2, 2));
    cr_expect_str_eq(str(y), "tensor(5., grad_fn=<AddBackward0>)");
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK);
    cr_expect_eq(ad_item(ad_grad(x1)), 1);
    cr_expect_eq(ad_item(ad_grad(x2)), 2);
    y = ad_add(x1, ad_mul_s(x2, 2));
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK);
    cr_expect_eq(ad_item(ad_grad(x1)), 2, "accumulated, not replaced");
    cr_expect_eq(ad_item(ad_grad(x2)), 4);
}

Test(autograd, d2l_backward_without_requires_grad_is_an_error)
{
    ad_tensor *x = ad_arange_n(ctx, 8);
    ad_tensor *z = ad_mean(ad_mul_s(x, 2), AD_ALL, false);
    cr_expect_eq(ad_backward(z, NULL, 0), AD_EGRAD);
    cr_expect(strstr(ad_errmsg(ctx), "element 0 of tensors does not require grad and does not have a grad_fn"), "%s",
              ad_errmsg(ctx));
}

Test(autograd, tape_released_after_backward_unless_retained)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), TH_V(1, 2, 3));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_sum(ad_sin(x), AD_ALL, false);
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    cr_expect_gt(m.live[AD_MEM_TAPE], 0);
    cr_assert_eq(ad_backward(y, NULL, AD_RETAIN_GRAPH), AD_OK);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK, "a retained tape allows a second backward");
    th_expect(ad_grad(x), AD_SHAPE(3), TH_V(2 * cos(1), 2 * cos(2), 2 * cos(3)), 0, 1e-15);
    ad_ctx_mem_stats(ctx, &m);
    cr_expect_eq(m.live[AD_MEM_TAPE], 0, "the second backward released the tape");
    cr_expect_eq(ad_backward(y, NULL, 0), AD_EGRAD);
    cr_expect(strstr(ad_errmsg(ctx), "a second time"), "%s", ad_errmsg(ctx));
    cr_expect(strstr(ad_errmsg(ctx), "AD_RETAIN_GRAPH"), "%s", ad_errmsg(ctx));
}

Test(autograd, d2l_tensorflow_persistent_tape,
     .description = "y = x*x; u = stop_gradient(y); z = u*x; dz/dx == u and dy/dx == 2x from one persistent tape")
{
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul(x, x);
    ad_tensor *u = ad_stop_gradient(y);
    ad_tensor *z = ad_mul(u, x);
    cr_assert_eq(ad_backward(z, ad_ones(ctx, AD_SHAPE(4)), AD_RETAIN_GRAPH), AD_OK);
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(0, 1, 4, 9), 0, 0);
    ad_clear_grad(x);
    cr_assert_eq(ad_backward(y, ad_ones(ctx, AD_SHAPE(4)), 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(4), TH_V(0, 2, 4, 6), 0, 0);
}

Test(autograd, no_grad_region_records_nothing)
{
    ad_tensor *x = ad_ones(ctx, AD_SHAPE(3));
    ad_requires_grad_(x, true);
    ad_tape_stats t0, t1;
    ad_tape_stats_get(ctx, &t0);
    bool prev = ad_set_grad_enabled(ctx, false);
    cr_expect(prev);
    ad_tensor *y = ad_mul_s(ad_exp(x), 3);
    ad_set_grad_enabled(ctx, prev);
    ad_tape_stats_get(ctx, &t1);
    cr_expect_eq(t1.recorded, t0.recorded);
    cr_expect_not(ad_requires_grad(y));
    cr_expect_null(ad_grad_fn_name(y));
    cr_expect(ad_is_grad_enabled(ctx));
}

Test(autograd, graph_inspection, .description = "is_leaf, requires_grad, grad_fn and its next functions")
{
    ad_tensor *x = ad_scalar(ctx, 2), *w = ad_scalar(ctx, 3), *c = ad_scalar(ctx, 4);
    ad_requires_grad_(x, true);
    ad_requires_grad_(w, true);
    ad_tensor *xw = ad_mul(x, w);
    ad_tensor *z = ad_add(xw, c);
    cr_expect(ad_is_leaf(x));
    cr_expect_not(ad_is_leaf(z));
    cr_expect(ad_requires_grad(z));
    cr_expect_not(ad_requires_grad(c));
    cr_expect_str_eq(ad_grad_fn_name(z), "AddBackward0");
    cr_expect_eq(ad_grad_fn_ninputs(z), 2);
    cr_expect_str_eq(ad_grad_fn_input_name(z, 0), "MulBackward0");
    cr_expect_null(ad_grad_fn_input_name(z, 1), "a constant input has no function");
    cr_expect_str_eq(ad_grad_fn_input_name(xw, 0), "AccumulateGrad");
    cr_expect_str_eq(str(z), "tensor(10., grad_fn=<AddBackward0>)");
    cr_expect_eq(ad_requires_grad_(z, false), AD_EGRAD, "only leaves");
    cr_expect(strstr(ad_errmsg(ctx), "only leaf tensors"), "%s", ad_errmsg(ctx));
}

static int count_visit(const ad_tape_entry *e, void *ud)
{
    int *n = ud;
    if (*n == 0) cr_expect_str_eq(e->name, "SinBackward0");
    (*n)++;
    return AD_OK;
}

Test(autograd, tape_visit_in_order)
{
    ad_tensor *x = ad_ones(ctx, AD_SHAPE(5));
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_sum(ad_mul(ad_sin(x), x), AD_ALL, false);
    int n = 0;
    cr_assert_eq(ad_tape_visit(ctx, count_visit, &n), AD_OK);
    cr_expect_eq(n, 3);
    (void)y;
}

Test(autograd, retain_grad_of_a_non_leaf)
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(2), TH_V(1, 2));
    ad_requires_grad_(x, true);
    ad_tensor *h = ad_mul_s(x, 3);
    cr_assert_eq(ad_retain_grad(h), AD_OK);
    ad_tensor *y = ad_sum(ad_square(h), AD_ALL, false);
    cr_assert_eq(ad_backward(y, NULL, 0), AD_OK);
    th_expect(ad_grad(h), AD_SHAPE(2), TH_V(6, 12), 0, 0);
    th_expect(ad_grad(x), AD_SHAPE(2), TH_V(18, 36), 0, 0);
}

Test(autograd, create_graph_gives_second_derivatives, .description = "d/dx sum(d/dx x^3) = 6x")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(3), TH_V(0.5, -1, 2));
    ad_requires_grad_(x, true);
    cr_assert_eq(ad_backward(ad_sum(ad_pow_s(x, 3), AD_ALL, false), NULL, AD_CREATE_GRAPH), AD_OK,
                 "%s", ad_errmsg(ctx));
    ad_tensor *g = ad_tensor_ref(ad_grad(x));
    th_expect(g, AD_SHAPE(3), TH_V(0.75, 3, 12), 0, 1e-15);
    cr_expect(ad_requires_grad(g), "with create_graph the gradient carries a graph");
    ad_clear_grad(x);
    cr_assert_eq(ad_backward(ad_sum(g, AD_ALL, false), NULL, 0), AD_OK, "%s", ad_errmsg(ctx));
    th_expect(ad_grad(x), AD_SHAPE(3), TH_V(3, -6, 12), 0, 1e-15);
}

Test(autograd, intermediates_freed_when_nothing_holds_them)
{
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_ones(ctx, AD_SHAPE(1000));
    ad_requires_grad_(x, true);
    ad_mem_stats m0, m1, m2;
    ad_ctx_mem_stats(ctx, &m0);
    ad_scope s2 = ad_scope_begin(ctx);
    ad_tensor *y = ad_sum(ad_exp(ad_add_s(x, 1)), AD_ALL, false);
    y = ad_scope_end(ctx, s2, y);
    ad_ctx_mem_stats(ctx, &m1);
    /* add_s saves nothing; exp saves its output (8000 bytes, counted as
     * tape: ctx.h); sum saves nothing; y's 8 bytes are values */
    cr_expect_eq(m1.live[AD_MEM_VALUES] - m0.live[AD_MEM_VALUES], 8,
                 "only y survives as values (%lld)", (long long)(m1.live[0] - m0.live[0]));
    int64_t tape = m1.live[AD_MEM_TAPE] - m0.live[AD_MEM_TAPE];
    cr_expect(tape >= 8000 && tape < 8000 + 2048, "the tape holds exp's output and three records (%lld)",
              (long long)tape);
    ad_tensor_free(y); /* nothing can reach the records any more */
    ad_ctx_mem_stats(ctx, &m2);
    cr_expect_eq(m2.live[AD_MEM_VALUES], m0.live[AD_MEM_VALUES]);
    cr_expect_eq(m2.live[AD_MEM_TAPE], m0.live[AD_MEM_TAPE]);
    ad_scope_end(ctx, s, NULL);
}
