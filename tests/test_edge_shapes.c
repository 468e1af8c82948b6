/* tests/test_edge_shapes.c — inputs at the edges of what tensors hold,
 * through every backend and driver (issue 12): zero-element inputs (a
 * well-defined empty gradient, as PyTorch gives), nothing differentiated,
 * tensors with AD_MAX_DIMS axes (their derivatives would need one axis
 * more: refused with a message, or computed where no [k, shape...] tensor
 * is needed), and empty shapes whose other axes multiply past INT64_MAX. */
#include <stdint.h>
#include <string.h>

#include "helpers.h"
#include "th_params.h"

TestSuite(edge_shapes, .init = th_setup, .fini = th_teardown);

static ad_tensor *f_sum(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)c;
    (void)ud;
    return ad_sum(in[0], AD_ALL, false);
}

/* sum(x) as a tensor of 12 axes, all of size 1 */
static ad_tensor *f_sum_12(ad_ctx *c, ad_tensor *const *in, void *ud)
{
    (void)c;
    (void)ud;
    return ad_reshape(ad_sum(in[0], AD_ALL, false), (ad_shape){.ndim = 12, .dim = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}});
}

ParameterizedTestParameters(edge_shapes, zero_elements_give_an_empty_gradient)
{
    static th_backend_param b[16];
    return cr_make_param_array(th_backend_param, b, (size_t)th_backend_params(b, 16));
}

ParameterizedTest(th_backend_param *bp, edge_shapes, zero_elements_give_an_empty_gradient,
                  .description = "sum over zeros(0): value 0, gradient of shape [0], counters back where they were")
{
    const ad_backend *be = th_backend_of(bp->name);
    ad_tensor *x = ad_zeros(ctx, AD_SHAPE(0));
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = f_sum, .nin = 1, .in = in};
    ad_mem_stats before, after;
    ad_ctx_mem_stats(ctx, &before);
    ad_tensor *val = NULL, *g[1] = {NULL};
    int rc = ad_value_and_grad(be, &p, NULL, &val, g, NULL, NULL);
    cr_assert_eq(rc, AD_OK, "%s: %s", be->name, ad_errmsg(ctx));
    cr_expect_eq(ad_item(val), 0.0);
    cr_assert_not_null(g[0], "%s: an empty gradient, not a missing one", be->name);
    cr_expect_str_eq(th_shape(g[0]), "[0]");
    ad_tensor_free(val);
    ad_tensor_free(g[0]);
    ad_ctx_mem_stats(ctx, &after);
    cr_expect_eq(after.tensors, before.tensors, "%s: tensors %lld -> %lld", be->name, (long long)before.tensors,
                 (long long)after.tensors);
}

ParameterizedTestParameters(edge_shapes, nothing_differentiated_gives_the_value_alone)
{
    static th_backend_param b[16];
    return cr_make_param_array(th_backend_param, b, (size_t)th_backend_params(b, 16));
}

ParameterizedTest(th_backend_param *bp, edge_shapes, nothing_differentiated_gives_the_value_alone,
                  .description = "ad_value_and_grad with every wrt false: the value, no gradient, no leak")
{
    const ad_backend *be = th_backend_of(bp->name);
    ad_tensor *x = th_input_vec(3);
    ad_tensor *in[1] = {x};
    bool wrt[1] = {false};
    ad_problem p = {.ctx = ctx, .f = f_sum, .nin = 1, .in = in, .wrt = wrt};
    double want = th_values(x)[0] + th_values(x)[1] + th_values(x)[2];
    ad_mem_stats before, after;
    ad_ctx_mem_stats(ctx, &before);
    for (int rep = 0; rep < 2; rep++) { /* twice: a freed value used again would show the second time */
        ad_tensor *val = NULL, *g[1] = {NULL};
        int rc = ad_value_and_grad(be, &p, NULL, &val, g, NULL, NULL);
        cr_assert_eq(rc, AD_OK, "%s: %s", be->name, ad_errmsg(ctx));
        cr_expect_float_eq(ad_item(val), want, 1e-15);
        cr_expect_null(g[0], "%s: no gradient for an input not differentiated", be->name);
        ad_tensor_free(val);
    }
    ad_ctx_mem_stats(ctx, &after);
    cr_expect_eq(after.tensors, before.tensors);
}

Test(edge_shapes, jacobian_of_an_empty_input_is_an_empty_matrix)
{
    ad_tensor *x = ad_zeros(ctx, AD_SHAPE(0));
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = f_sum, .nin = 1, .in = in};
    const ad_backend *modes[] = {NULL, ad_backend_find("forward"), ad_backend_find("reverse"),
                                 ad_backend_find("central")};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        ad_tensor *val = NULL, *J[1] = {NULL};
        int rc = ad_jacobian(modes[i], &p, NULL, &val, J, NULL, NULL, NULL);
        const char *name = modes[i] ? modes[i]->name : "auto";
        cr_assert_eq(rc, AD_OK, "%s: %s", name, ad_errmsg(ctx));
        cr_assert_not_null(J[0], "%s: J is [0] (y = sum(x) is 0-d), not missing", name);
        cr_expect_eq(ad_numel(J[0]), 0, "%s", name);
        ad_tensor_free(val);
        ad_tensor_free(J[0]);
    }
}

/* ---- AD_MAX_DIMS axes -------------------------------------------------------------------- */

ParameterizedTestParameters(edge_shapes, twelve_axis_values_are_refused_or_exact)
{
    static th_backend_param b[16];
    return cr_make_param_array(th_backend_param, b, (size_t)th_backend_params(b, 16));
}

ParameterizedTest(th_backend_param *bp, edge_shapes, twelve_axis_values_are_refused_or_exact,
                  .description = "a Jacobian of a 12-axis value: [k, y.shape] would need 13 axes; a backend that "
                                 "needs it says so, reverse (rows of x's shape) computes it")
{
    const ad_backend *be = th_backend_of(bp->name);
    ad_tensor *x = th_input_vec(3);
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = f_sum_12, .nin = 1, .in = in};
    ad_tensor *val = NULL, *J[1] = {NULL};
    int rc = ad_jacobian(be, &p, NULL, &val, J, NULL, NULL, NULL);
    if (rc == AD_OK) {
        cr_expect_eq(ad_numel(J[0]), 3);
        for (int i = 0; i < 3; i++) cr_expect_float_eq(ad_data(J[0])[i], 1.0, 1e-6, "%s", be->name);
        ad_tensor_free(val);
        ad_tensor_free(J[0]);
    } else {
        cr_expect_eq(rc, AD_ESHAPE, "%s: %s", be->name, ad_errmsg(ctx));
        cr_expect(strstr(ad_errmsg(ctx), "12 axes"), "%s: %s", be->name, ad_errmsg(ctx));
        cr_expect_null(J[0]);
        ad_clear_error(ctx);
    }
    if (be->vjp) cr_expect_eq(rc, AD_OK, "%s needs no [k, y.shape] tensor: %s", be->name, ad_errmsg(ctx));
}

Test(edge_shapes, twelve_axis_value_in_auto_mode_goes_by_rows)
{
    ad_tensor *x = th_input_vec(3);
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = f_sum_12, .nin = 1, .in = in};
    ad_tensor *J[1] = {NULL};
    ad_jacobian_info info;
    int rc = ad_jacobian(NULL, &p, NULL, NULL, J, NULL, &info, NULL);
    cr_assert_eq(rc, AD_OK, "%s", ad_errmsg(ctx));
    cr_expect(info.by_rows);
    cr_expect_eq(ad_numel(J[0]), 3);
    ad_tensor_free(J[0]);
}

Test(edge_shapes, twelve_axis_inputs_are_refused_with_the_way_out)
{
    int64_t d[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2};
    ad_shape s = {.ndim = 12};
    memcpy(s.dim, d, sizeof d);
    ad_tensor *x = ad_reshape(th_input_vec(2), s);
    ad_tensor *in[1] = {x};
    ad_problem p = {.ctx = ctx, .f = f_sum, .nin = 1, .in = in};
    th_backend_param b[16];
    int nb = th_backend_params(b, 16);
    for (int i = 0; i < nb; i++) {
        ad_tensor *g[1] = {NULL};
        int rc = ad_value_and_grad(th_backend_of(b[i].name), &p, NULL, NULL, g, NULL, NULL);
        cr_expect_eq(rc, AD_ESHAPE, "%s: %d", b[i].name, rc);
        cr_expect(strstr(ad_errmsg(ctx), "reshape or flatten"), "%s: %s", b[i].name, ad_errmsg(ctx));
        ad_clear_error(ctx);
    }
}

Test(edge_shapes, get_tangent_of_a_twelve_axis_tensor_is_refused)
{
    int64_t d[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2};
    ad_shape s = {.ndim = 12};
    memcpy(s.dim, d, sizeof d);
    ad_tensor *x = ad_zeros(ctx, s);
    cr_assert_eq(ad_fwd_begin(ctx, 3), AD_OK);
    ad_tensor *t = ad_get_tangent(x); /* zeros [3, shape...]: 13 axes */
    ad_fwd_end(ctx);
    cr_expect_null(t);
    cr_expect_eq(ad_errno(ctx), AD_ESHAPE, "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
}

/* ---- empty shapes with huge axes ---------------------------------------------------------- */

Test(edge_shapes, empty_tensors_with_huge_axes_have_sane_strides,
     .description = "zeros(100000,10100000,100000,0,10000,1000): the stride product passes INT64_MAX")
{
    ad_shape shapes[] = {AD_SHAPE(100000, 10100000, 100000, 0, 10000, 1000), AD_SHAPE(0, 10000000000, 10000000000)};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        ad_tensor *z = ad_zeros(ctx, shapes[k]);
        cr_assert_not_null(z, "%s", ad_errmsg(ctx));
        cr_expect_eq(ad_numel(z), 0);
        cr_expect(ad_is_contiguous(z));
        for (int a = 0; a < shapes[k].ndim; a++)
            cr_expect_geq(ad_stride(z, a), 0, "shape %zu axis %d: stride %lld wrapped", k, a,
                          (long long)ad_stride(z, a));
        ad_tensor *s = ad_sum(z, AD_ALL, false);
        cr_expect_eq(ad_item(s), 0.0);
    }
}
