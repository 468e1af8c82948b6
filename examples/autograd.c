/* examples/autograd.c — every automatic-differentiation example of D2L's
 * preliminaries (2.5) and of the study notes it was learnt from, in
 * adscope, printing what PyTorch prints: y = 2xᵀx and its gradient 4x,
 * gradients accumulating until zeroed, backward of a non-scalar through
 * its sum, detach, and a function with Python control flow whose gradient
 * is still d/a.  Its output is checked against examples/autograd.expected.
 *
 * One scope holds every tensor made along the way; it is ended at the end
 * (ad_scope_end), as Python's garbage collector would. */
#include <adscope.h>
#include <stdio.h>

static void section(const char *title) { printf("\n# %s\n", title); }

static void show(const char *label, ad_tensor *t)
{
    printf(">>> %s\n", label);
    if (t) ad_print(t);
    else printf("None\n");
}

/* A 0/1 tensor as PyTorch prints a bool tensor: tensor([True, False]). */
static void show_bool(const char *label, ad_tensor *t)
{
    printf(">>> %s\n", label);
    int64_t n = ad_numel(t);
    printf("tensor(%s", ad_ndim(t) ? "[" : "");
    for (int64_t i = 0; i < n; i++) {
        double v = ad_ndim(t) ? ad_at(t, i) : ad_item(t);
        printf("%s%s", i ? ", " : "", v != 0 ? "True" : "False");
    }
    printf("%s)\n", ad_ndim(t) ? "]" : "");
}

/* D2L's f: doubles b until its norm reaches 1000, then keeps it or scales
 * it by 100 by its sign.  Piecewise linear in a, so f(a) = k·a and the
 * gradient is k = d / a whichever branch ran. */
static ad_tensor *f(ad_tensor *a)
{
    ad_tensor *b = ad_mul_s(a, 2);
    while (ad_item(ad_norm(b, 2, AD_ALL, false)) < 1000) b = ad_mul_s(b, 2);
    if (ad_item(ad_sum(b, AD_ALL, false)) > 0) return b;
    return ad_mul_s(b, 100);
}

static void simple_function(ad_tensor *x)
{
    section("2.5.1 A simple function");
    show("x = torch.arange(4.0); x", x);
    ad_requires_grad_(x, true);
    show("x.requires_grad_(True); x", x);
    show("x.grad  # None until a backward", ad_grad(x));
    ad_tensor *y = ad_mul_s(ad_dot(x, x), 2);
    show("y = 2 * torch.dot(x, x); y", y);
    ad_backward(y, NULL, 0);
    show("y.backward(); x.grad", ad_grad(x));
    show_bool("x.grad == 4 * x", ad_eq(ad_grad(x), ad_mul_s(x, 4)));
    ad_zero_grad(x);
    ad_backward(ad_sum(x, AD_ALL, false), NULL, 0);
    show("x.grad.zero_(); y = x.sum(); y.backward(); x.grad", ad_grad(x));
}

static void accumulation(ad_ctx *ctx)
{
    section("Gradients accumulate until zeroed");
    ad_tensor *x1 = ad_scalar(ctx, 1.0), *x2 = ad_scalar(ctx, 2.0);
    ad_requires_grad_(x1, true);
    ad_requires_grad_(x2, true);
    ad_tensor *y = ad_add(x1, ad_mul_s(x2, 2));
    show("x1 = torch.tensor(1.0, requires_grad=True); x2 = torch.tensor(2.0, requires_grad=True)\n"
         ">>> y = x1 + 2 * x2; y",
         y);
    ad_backward(y, NULL, 0);
    show("y.backward(); x1.grad", ad_grad(x1));
    show("x2.grad", ad_grad(x2));
    ad_backward(ad_add(x1, ad_mul_s(x2, 2)), NULL, 0);
    show("y = x1 + 2 * x2; y.backward(); x1.grad  # added to the first", ad_grad(x1));
    show("x2.grad", ad_grad(x2));
    ad_zero_grad(x1);
    ad_zero_grad(x2);
    ad_backward(ad_add(x1, ad_mul_s(x2, 2)), NULL, 0);
    show("x1.grad.zero_(); x2.grad.zero_(); y = x1 + 2 * x2; y.backward(); x1.grad", ad_grad(x1));
    show("x2.grad", ad_grad(x2));
}

static void non_scalar(ad_ctx *ctx, ad_tensor *x)
{
    section("2.5.2 Backward for non-scalar variables");
    ad_zero_grad(x);
    ad_tensor *y = ad_mul(x, x);
    ad_backward(ad_sum(y, AD_ALL, false), NULL, 0);
    show("x.grad.zero_(); y = x * x; y.sum().backward(); x.grad", ad_grad(x));
    ad_zero_grad(x);
    ad_backward(ad_mul(x, x), ad_ones(ctx, AD_SHAPE(4)), 0);
    show("x.grad.zero_(); y = x * x; y.backward(gradient=torch.ones(len(x))); x.grad", ad_grad(x));
    ad_zero_grad(x);
    int rc = ad_backward(ad_mul(x, x), NULL, 0);
    printf(">>> y.backward()  # without a gradient\nRuntimeError: %s\n", ad_errmsg(ctx));
    if (rc != AD_OK) ad_clear_error(ctx);
}

static void detaching(ad_tensor *x)
{
    section("2.5.3 Detaching computation");
    ad_zero_grad(x);
    ad_tensor *y = ad_mul(x, x);
    ad_tensor *u = ad_detach(y);
    ad_tensor *z = ad_mul(u, x);
    ad_backward(ad_sum(z, AD_ALL, false), NULL, 0);
    show_bool("x.grad.zero_(); y = x * x; u = y.detach(); z = u * x\n>>> z.sum().backward(); x.grad == u",
              ad_eq(ad_grad(x), u));
    ad_zero_grad(x);
    ad_backward(ad_sum(y, AD_ALL, false), NULL, 0);
    show_bool("x.grad.zero_(); y.sum().backward(); x.grad == 2 * x", ad_eq(ad_grad(x), ad_mul_s(x, 2)));
}

static void control_flow(ad_ctx *ctx)
{
    section("2.5.4 Gradients and Python control flow");
    ad_tensor *a = ad_randn(ctx, AD_SCALAR);
    ad_requires_grad_(a, true);
    show("a = torch.randn(size=(), requires_grad=True); a  (GSL's MT19937, seed 2024)", a);
    ad_tensor *d = f(a);
    show("d = f(a); d", d);
    ad_backward(d, NULL, 0);
    show("d.backward(); a.grad", ad_grad(a));
    show_bool("a.grad == d / a", ad_eq(ad_grad(a), ad_div(ad_detach(d), a)));
}

int main(void)
{
    ad_ctx_options opts = {.seed = 2024};
    ad_ctx *ctx = ad_ctx_new_with(&opts);
    if (!ctx) return 1;
    ad_scope scope = ad_scope_begin(ctx);
    ad_tensor *x = ad_arange_n(ctx, 4);
    simple_function(x);
    accumulation(ctx);
    non_scalar(ctx, x);
    detaching(x);
    control_flow(ctx);
    int status = ad_errno(ctx) == AD_OK ? 0 : 1;
    if (status) fprintf(stderr, "autograd: %s\n", ad_errmsg(ctx));
    ad_scope_end(ctx, scope, NULL);
    ad_ctx_free(ctx);
    return status;
}
