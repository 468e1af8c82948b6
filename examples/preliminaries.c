/* examples/preliminaries.c — the data-manipulation and linear-algebra part
 * of D2L's preliminaries chapter (2.1 and 2.3), in adscope, printing what
 * PyTorch prints.  Its output is checked against
 * examples/preliminaries.expected by the test suite.  One function per
 * section of the notes, run in order from the table SECTIONS.
 *
 * Everything runs inside one scope, so the tensors made along the way are
 * released together at the end (ad_scope_end), as Python's garbage
 * collector would. */
#include <adscope.h>
#include <stdio.h>

static void section(const char *title) { printf("\n# %s\n", title); }

static void show(const char *label, ad_tensor *t)
{
    printf("%s\n", label);
    ad_print(t);
}

static void show_shape(const char *label, ad_tensor *t)
{
    char buf[128];
    ad_shape s = ad_shape_of(t);
    ad_shape_str(&s, buf, sizeof buf);
    printf("%s %s\n", label, buf);
}

static ad_tensor *mat(ad_ctx *ctx, int64_t r, int64_t c, const double *v)
{
    return ad_from_array(ctx, AD_SHAPE(r, c), v);
}

/* What later sections of the notes reuse from earlier ones. */
typedef struct {
    ad_tensor *x, *X, *Y; /* 2.1: arange(12), it as 3x4, the literal 3x4 */
    ad_tensor *v, *A;     /* 2.3: arange(4), arange(20) as 5x4 */
} notes;

static void getting_started(ad_ctx *ctx, notes *n)
{
    n->x = ad_arange_n(ctx, 12);
    show("x = torch.arange(12, dtype=torch.float32)", n->x);
    show_shape("x.shape", n->x);
    printf("x.numel() %lld\n", (long long)ad_numel(n->x));
    n->X = ad_reshape(n->x, AD_SHAPE(3, 4));
    show("X = x.reshape(3, 4)", n->X);
    show("torch.zeros((2, 3, 4))", ad_zeros(ctx, AD_SHAPE(2, 3, 4)));
    show("torch.ones((2, 3, 4))", ad_ones(ctx, AD_SHAPE(2, 3, 4)));
    show("torch.randn(3, 4)  (GSL's MT19937, seed 2024)", ad_randn(ctx, AD_SHAPE(3, 4)));
    n->Y = mat(ctx, 3, 4, (const double[]){2, 1, 4, 3, 1, 2, 3, 4, 4, 3, 2, 1});
    show("torch.tensor([[2, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]])", n->Y);
}

static void operations(ad_ctx *ctx, notes *n)
{
    ad_tensor *a = ad_from_array(ctx, AD_SHAPE(4), (const double[]){1, 2, 4, 8});
    ad_tensor *b = ad_full(ctx, AD_SHAPE(4), 2);
    show("x + y", ad_add(a, b));
    show("x - y", ad_sub(a, b));
    show("x * y", ad_mul(a, b));
    show("x / y", ad_div(a, b));
    show("x ** y", ad_pow(a, b));
    show("torch.exp(x)", ad_exp(a));
    show("torch.cat((X, Y), dim=0)", ad_concat((ad_tensor *[]){n->X, n->Y}, 2, 0));
    show("torch.cat((X, Y), dim=1)", ad_concat((ad_tensor *[]){n->X, n->Y}, 2, 1));
    show("X == Y", ad_eq(n->X, n->Y));
    show("X.sum()", ad_sum(n->X, AD_ALL, false));
}

static void broadcasting(ad_ctx *ctx, notes *n)
{
    (void)n;
    ad_tensor *p = ad_reshape(ad_arange_n(ctx, 3), AD_SHAPE(3, 1));
    ad_tensor *q = ad_reshape(ad_arange_n(ctx, 2), AD_SHAPE(1, 2));
    show("a = torch.arange(3).reshape((3, 1))", p);
    show("b = torch.arange(2).reshape((1, 2))", q);
    show("a + b", ad_add(p, q));
}

static void indexing(ad_ctx *ctx, notes *n)
{
    (void)ctx;
    show("X[-1]", ad_idx(n->X, AD_I(-1)));
    show("X[1:3]", ad_idx(n->X, AD_S(1, 3)));
    show("X[:, 0:2]", ad_getitem(n->X, ":, 0:2"));
    show("X[::2]", ad_getitem(n->X, "::2"));
    ad_tensor *W = ad_clone(n->X);
    ad_setitem_s(W, 17, AD_I(1), AD_I(2));
    show("X[1, 2] = 17", W);
    ad_setitem_s(W, 12, AD_S(0, 2), AD_FULL);
    show("X[:2, :] = 12", W);
}

static void saving_memory(ad_ctx *ctx, notes *n)
{
    ad_tensor *X = n->X, *Yc = ad_clone(n->Y);
    const void *before = ad_storage_id(Yc);
    ad_tensor *Y2 = ad_add(Yc, X);
    printf("Y = Y + X; id(Y) == before: %s\n", ad_storage_id(Y2) == before ? "True" : "False");
    ad_tensor *Z = ad_zeros(ctx, AD_SHAPE(3, 4));
    const void *zid = ad_storage_id(Z);
    ad_add_into(Z, X, Yc);
    printf("Z[:] = X + Y; id(Z) unchanged: %s\n", ad_storage_id(Z) == zid ? "True" : "False");
    ad_add_(X, Yc);
    printf("X += Y; id(X) unchanged: %s\n", ad_storage_id(X) == ad_storage_id(n->x) ? "True" : "False");
    ad_sub_(X, Yc); /* back to arange(12) */
}

static void conversion(ad_ctx *ctx, notes *n)
{
    (void)n;
    double buf[4] = {3.5, 0, 0, 0};
    ad_tensor *shared = ad_wrap(ctx, AD_SHAPE(1), buf);
    show("a = torch.tensor([3.5])", shared);
    printf("a.item() %g, int(a) %d\n", ad_item(shared), (int)ad_item(shared));
    buf[0] = 4.25;
    show("after writing 4.25 into the wrapped array (shared memory)", shared);
}

static void scalars(ad_ctx *ctx, notes *n)
{
    (void)n;
    ad_tensor *s3 = ad_scalar(ctx, 3), *s2 = ad_scalar(ctx, 2);
    show("x + y", ad_add(s3, s2));
    show("x * y", ad_mul(s3, s2));
    show("x / y", ad_div(s3, s2));
    show("x ** y", ad_pow(s3, s2));
}

static void vectors(ad_ctx *ctx, notes *n)
{
    n->v = ad_arange_n(ctx, 4);
    show("x = torch.arange(4)", n->v);
    show("x[3]", ad_idx(n->v, AD_I(3)));
    printf("len(x) %lld\n", (long long)ad_dim(n->v, 0));
}

static void matrices(ad_ctx *ctx, notes *n)
{
    n->A = ad_reshape(ad_arange_n(ctx, 20), AD_SHAPE(5, 4));
    show("A = torch.arange(20).reshape(5, 4)", n->A);
    show("A.T", ad_T(n->A));
    ad_tensor *B = mat(ctx, 3, 3, (const double[]){1, 2, 3, 2, 0, 4, 3, 4, 5});
    show("B == B.T", ad_eq(B, ad_T(B)));
}

static void tensors(ad_ctx *ctx, notes *n)
{
    (void)n;
    show("X = torch.arange(24).reshape(2, 3, 4)", ad_reshape(ad_arange_n(ctx, 24), AD_SHAPE(2, 3, 4)));
}

static void arithmetic(ad_ctx *ctx, notes *n)
{
    ad_tensor *Bc = ad_clone(n->A);
    show("A + B", ad_add(n->A, Bc));
    show("A * B", ad_mul(n->A, Bc));
    ad_tensor *X3 = ad_reshape(ad_arange_n(ctx, 24), AD_SHAPE(2, 3, 4));
    show("a + X  (a = 2)", ad_add_s(X3, 2));
    show_shape("(a * X).shape", ad_mul_s(X3, 2));
}

static void reduction(ad_ctx *ctx, notes *n)
{
    ad_tensor *A = n->A;
    show("x.sum()", ad_sum(n->v, AD_ALL, false));
    show("A.sum(axis=0)", ad_sum(A, AD_AXES(0), false));
    show("A.sum(axis=1)", ad_sum(A, AD_AXES(1), false));
    show("A.sum(axis=[0, 1])", ad_sum(A, AD_AXES(0, 1), false));
    show("A.mean()", ad_mean(A, AD_ALL, false));
    show("A.sum() / A.numel()", ad_div_s(ad_sum(A, AD_ALL, false), (double)ad_numel(A)));
    show("A.mean(axis=0)", ad_mean(A, AD_AXES(0), false));
    ad_tensor *sum_A = ad_sum(A, AD_AXES(1), true);
    show("sum_A = A.sum(axis=1, keepdims=True)", sum_A);
    show("A / sum_A", ad_div(A, sum_A));
    show("A.cumsum(axis=0)", ad_cumsum(A, 0));
    ad_tensor *T4 = ad_ones(ctx, AD_SHAPE(2, 3, 4, 5));
    show_shape("ones(2, 3, 4, 5).sum(axis=[1, 3]).shape", ad_sum(T4, AD_AXES(1, 3), false));
    show_shape("ones(2, 3, 4, 5).sum(axis=[1, 3], keepdims=True).shape", ad_sum(T4, AD_AXES(1, 3), true));
}

static void dot_products(ad_ctx *ctx, notes *n)
{
    ad_tensor *ones4 = ad_ones(ctx, AD_SHAPE(4));
    show("torch.dot(x, y)  (y = ones(4))", ad_dot(n->v, ones4));
    show("torch.sum(x * y)", ad_sum(ad_mul(n->v, ones4), AD_ALL, false));
}

static void matrix_vector(ad_ctx *ctx, notes *n)
{
    (void)ctx;
    show("torch.mv(A, x)", ad_mv(n->A, n->v));
}

static void matrix_matrix(ad_ctx *ctx, notes *n)
{
    show("torch.mm(A, torch.ones(4, 3))", ad_mm(n->A, ad_ones(ctx, AD_SHAPE(4, 3))));
    ad_tensor *M = ad_reshape(ad_arange_n(ctx, 16), AD_SHAPE(4, 4));
    show("torch.matmul(A, 3 * A)  (A = arange(16).reshape(4, 4))", ad_matmul(M, ad_mul_s(M, 3)));
    show("torch.cross([1, 2, 3], [4, 5, 6])",
         ad_cross(ad_from_array(ctx, AD_SHAPE(3), (const double[]){1, 2, 3}),
                  ad_from_array(ctx, AD_SHAPE(3), (const double[]){4, 5, 6}), 0));
}

static void norms(ad_ctx *ctx, notes *n)
{
    (void)n;
    ad_tensor *u = ad_from_array(ctx, AD_SHAPE(2), (const double[]){3, -4});
    show("torch.norm(u)", ad_norm(u, 2, AD_ALL, false));
    show("torch.abs(u).sum()", ad_sum(ad_abs(u), AD_ALL, false));
    show("torch.norm(torch.ones((4, 9)))", ad_norm_fro(ad_ones(ctx, AD_SHAPE(4, 9))));
}

/* The notes' sections in order (later ones use what earlier ones made). */
static const struct {
    const char *title;
    void (*run)(ad_ctx *ctx, notes *n);
} SECTIONS[] = {
    {"2.1.1 Getting started", getting_started},
    {"2.1.2 Operations", operations},
    {"2.1.3 Broadcasting", broadcasting},
    {"2.1.4 Indexing and slicing", indexing},
    {"2.1.5 Saving memory", saving_memory},
    {"2.1.6 Conversion", conversion},
    {"2.3.1 Scalars", scalars},
    {"2.3.2 Vectors", vectors},
    {"2.3.3 Matrices", matrices},
    {"2.3.4 Tensors", tensors},
    {"2.3.5 Basic properties of tensor arithmetic", arithmetic},
    {"2.3.6 Reduction", reduction},
    {"2.3.7 Dot products", dot_products},
    {"2.3.8 Matrix-vector products", matrix_vector},
    {"2.3.9 Matrix-matrix multiplication", matrix_matrix},
    {"2.3.10 Norms", norms},
};

int main(void)
{
    ad_ctx_options opts = {.seed = 2024};
    ad_ctx *ctx = ad_ctx_new_with(&opts);
    if (!ctx) return 1;
    ad_scope scope = ad_scope_begin(ctx);
    notes n = {0};
    for (size_t i = 0; i < sizeof SECTIONS / sizeof SECTIONS[0]; i++) {
        section(SECTIONS[i].title);
        SECTIONS[i].run(ctx, &n);
    }
    int status = ad_errno(ctx) == AD_OK ? 0 : 1;
    if (status) fprintf(stderr, "error: %s\n", ad_errmsg(ctx));
    ad_scope_end(ctx, scope, NULL);
    ad_ctx_free(ctx);
    return status;
}
