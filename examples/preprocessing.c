/* examples/preprocessing.c — D2L 2.2, data preprocessing, in adscope, end
 * to end: write the tiny house-price CSV (rooms, alley, price) into a
 * fresh directory, read it, fill the missing numbers with the column mean,
 * one-hot encode the alley with an indicator of missing values, turn the
 * table into tensors (printing what pandas and PyTorch print), then fit
 * price ≈ X·w by gradient descent on the mean squared error with reverse
 * mode, and check the loss's gradient at the start with ad_gradcheck.
 * Its output is checked against examples/preprocessing.expected. */
#include <adscope.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HOUSE_TINY[] = "NumRooms,Alley,Price\n"
                                 "NA,Pave,127500\n"
                                 "2,NA,106000\n"
                                 "4,NA,178100\n"
                                 "NA,NA,140000\n";

/* D2L: os.makedirs(...); with open(data_file, 'w') as f: f.write(...) */
static int write_csv(char *dir, char *path, size_t n)
{
    if (!mkdtemp(dir)) return -1;
    snprintf(path, n, "%s/house_tiny.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(HOUSE_TINY, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void show_frame(const char *label, const ad_frame *f)
{
    char buf[1024];
    ad_frame_snprint(buf, sizeof buf, f);
    printf(">>> %s\n%s", label, buf);
}

static void show(const char *label, ad_tensor *t)
{
    printf(">>> %s\n", label);
    ad_print(t);
}

/* The loss of the fit: mean((X w - y)^2); user holds X and y. */
static ad_tensor *mse(ad_ctx *ctx, ad_tensor *const *in, void *user)
{
    ad_tensor *const *Xy = user;
    (void)ctx;
    return ad_mean(ad_square(ad_sub(ad_mv(Xy[0], in[0]), Xy[1])), AD_ALL, false);
}

/* Gradient descent from w = 0: each step records the loss, sweeps it
 * backward, and steps against x.grad; returns the final w. */
static ad_tensor *fit(ad_ctx *ctx, ad_tensor *Xy[2], double lr, int epochs)
{
    ad_tensor *w = ad_zeros(ctx, AD_SHAPE(3));
    for (int epoch = 0; epoch <= epochs; epoch++) {
        ad_scope s = ad_scope_begin(ctx);
        ad_requires_grad_(w, true);
        ad_tensor *loss = mse(ctx, &w, Xy);
        if (epoch == 0 || epoch == 10 || epoch == 100 || epoch % 5000 == 0)
            printf("epoch %5d  loss %.6g\n", epoch, ad_item(loss));
        ad_backward(loss, NULL, 0);
        ad_tensor *next = ad_detach(ad_sub(w, ad_mul_s(ad_grad(w), lr)));
        ad_tensor *prev = w; /* the outer scope's reference, handed on */
        w = ad_scope_end(ctx, s, epoch < epochs ? next : w);
        ad_tensor_free(prev);
    }
    return w;
}

static void check(ad_ctx *ctx, ad_tensor *Xy[2], ad_tensor *w)
{
    ad_problem p = {.ctx = ctx, .f = mse, .user = Xy, .nin = 1, .in = &w};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    ad_gradcheck_report r;
    if (ad_gradcheck(&p, &o, &r) != AD_OK) printf("gradcheck could not run: %s\n", ad_errmsg(ctx));
    else {
        printf(">>> ad_gradcheck(loss, w = 0): %s\n", r.passed ? "passed" : "FAILED");
        for (int i = 0; i < r.nbackends; i++)
            printf("    %-19s %s\n", r.backends[i].name, r.backends[i].passed ? "passed" : "FAILED");
    }
    ad_gradcheck_report_free(&r);
}

static ad_frame *preprocess(ad_ctx *ctx, const char *path, ad_frame **outputs)
{
    ad_frame *data = ad_frame_read_csv(ctx, path);
    if (!data) return NULL;
    show_frame("data = pd.read_csv(data_file); print(data)", data);
    ad_frame *inputs = ad_frame_columns(data, 0, 2);
    *outputs = ad_frame_columns(data, 2, 3);
    ad_frame_free(data);
    if (!inputs || ad_frame_fillna_mean(inputs) != AD_OK) return inputs;
    show_frame("inputs, outputs = data.iloc[:, 0:2], data.iloc[:, 2]\n"
               ">>> inputs = inputs.fillna(inputs.mean()); print(inputs)",
               inputs);
    ad_frame *dummies = ad_frame_get_dummies(inputs, true);
    ad_frame_free(inputs);
    if (dummies) show_frame("inputs = pd.get_dummies(inputs, dummy_na=True); print(inputs)", dummies);
    return dummies;
}

int main(void)
{
    ad_ctx *ctx = ad_ctx_new();
    if (!ctx) return 1;
    char dir[] = "/tmp/adscope-preprocessing-XXXXXX", path[128];
    if (write_csv(dir, path, sizeof path) != 0) return 1;
    ad_scope scope = ad_scope_begin(ctx);
    ad_frame *outputs = NULL, *inputs = preprocess(ctx, path, &outputs);
    ad_tensor *Xy[2] = {ad_frame_tensor(inputs), ad_frame_column_tensor(outputs, 0)};
    if (Xy[0] && Xy[1]) {
        show("X, y = torch.tensor(inputs.values), torch.tensor(outputs.values); X", Xy[0]);
        show("y", Xy[1]);
        printf("\n# price ~ X @ w, in thousands, by gradient descent (reverse mode)\n");
        Xy[1] = ad_mul_s(Xy[1], 1e-3);
        ad_tensor *w = fit(ctx, Xy, 0.04, 20000);
        printf("w = [%.2f, %.2f, %.2f]  (price per room, intercept with a paved alley, without)\n", ad_at(w, 0),
               ad_at(w, 1), ad_at(w, 2));
        /* at the start, where the gradient is far from 0 (at the minimum it
         * is rounding noise, and relative comparisons of noise mean nothing) */
        check(ctx, Xy, ad_zeros(ctx, AD_SHAPE(3)));
    }
    int status = ad_errno(ctx) == AD_OK ? 0 : 1;
    if (status) fprintf(stderr, "preprocessing: %s\n", ad_errmsg(ctx));
    ad_frame_free(inputs);
    ad_frame_free(outputs);
    ad_scope_end(ctx, scope, NULL);
    ad_ctx_free(ctx);
    unlink(path);
    rmdir(dir);
    return status;
}
