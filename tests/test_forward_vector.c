/* tests/test_forward_vector.c — forward-vector's gradients when the
 * output's tangent is a strided view: y = Y[i, j] of a matrix Y makes the
 * tangent of y a column of Y's tangent (stride ≠ 1), which the gradient
 * driver once read as if contiguous (found by GradBench's ode eval, whose
 * output is the last element of a vector). */
#include "helpers.h"

TestSuite(forward_vector, .init = th_setup, .fini = th_teardown);

/* y = (x ⊙ x)[-1] of x viewed as [2, 2]: ∂y/∂x = [0, 0, 0, 2 x_3] */
static ad_tensor *last_square(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_idx(ad_reshape(ad_mul(in[0], in[0]), AD_SHAPE(2, 2)), AD_I(1), AD_I(1));
}

/* y = (x ⊙ x)[-1] along a vector: the tangent [k] is Y's column, stride 4 */
static ad_tensor *last_of_vector(ad_ctx *c, ad_tensor *const *in, void *user)
{
    (void)c;
    (void)user;
    return ad_idx(ad_mul(in[0], in[0]), AD_I(-1));
}

Test(forward_vector, strided_output_tangent, .description = "forward-vector's gradient of an indexed element equals reverse mode's")
{
    ad_tensor *x = ad_from_array(ctx, AD_SHAPE(4), TH_V(2.385, -1.2, 0.4, 3.1));
    ad_fn fs[2] = {last_square, last_of_vector};
    for (int f = 0; f < 2; f++)
        for (int w = 1; w <= 8; w *= 2) {
            ad_problem p = {.ctx = ctx, .f = fs[f], .nin = 1, .in = &x};
            ad_options o = {.width = w};
            ad_tensor *g[1] = {0};
            cr_assert_eq(ad_value_and_grad(ad_backend_with(AD_CAP_FORWARD | AD_CAP_VECTOR), &p, &o, NULL, g, NULL, NULL),
                         AD_OK, "%s", ad_errmsg(ctx));
            th_expect(g[0], AD_SHAPE(4), TH_V(0, 0, 0, 2 * 3.1), 0, 1e-15);
            ad_tensor_free(g[0]);
        }
    ad_tensor_free(x);
}
