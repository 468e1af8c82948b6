/* examples/probability.c — D2L 2.6, probability, in adscope: tossing a
 * fair die with multinomial sampling (ad_multinomial, GSL's
 * gsl_ran_multinomial on the context's seeded generator), relative
 * frequencies as estimates of 1/6, and 500 groups of 10 draws whose running
 * estimates converge to 1/6, D2L's figure as a table.  The chart of the
 * same experiment is drawn by 'adscope dice --out probability.png'
 * (docs/charts/probability.png).  Seeded, so the output is the same on
 * every run; it is checked against examples/probability.expected. */
#include <adscope.h>
#include <math.h>
#include <stdio.h>

static void show(const char *label, ad_tensor *t)
{
    printf(">>> %s\n", label);
    ad_print(t);
}

/* The largest |estimate - 1/6| in row g of the estimates. */
static double worst(ad_tensor *est, int64_t g)
{
    double w = 0;
    for (int64_t j = 0; j < 6; j++) w = fmax(w, fabs(ad_at(est, g, j) - 1.0 / 6));
    return w;
}

int main(void)
{
    ad_ctx_options opts = {.seed = 2024};
    ad_ctx *ctx = ad_ctx_new_with(&opts);
    if (!ctx) return 1;
    ad_scope scope = ad_scope_begin(ctx);

    ad_tensor *fair = ad_div_s(ad_ones(ctx, AD_SHAPE(6)), 6);
    show("fair_probs = torch.ones([6]) / 6; fair_probs", fair);
    show("multinomial.Multinomial(1, fair_probs).sample()", ad_multinomial(ctx, fair, 1));
    show("multinomial.Multinomial(10, fair_probs).sample()", ad_multinomial(ctx, fair, 10));
    ad_tensor *counts = ad_multinomial(ctx, fair, 1000);
    show("counts = multinomial.Multinomial(1000, fair_probs).sample(); counts / 1000", ad_div_s(counts, 1000));

    /* 500 groups of 10 draws: one row of probabilities per group */
    ad_tensor *groups = ad_multinomial(ctx, ad_div_s(ad_ones(ctx, AD_SHAPE(500, 6)), 6), 10);
    ad_tensor *cum = ad_cumsum(groups, 0);
    ad_tensor *est = ad_div(cum, ad_sum(cum, AD_AXES(1), true));
    printf(">>> counts = multinomial.Multinomial(10, fair_probs).sample((500,))\n"
           ">>> cum_counts = counts.cumsum(dim=0)\n"
           ">>> estimates = cum_counts / cum_counts.sum(dim=1, keepdims=True)\n");
    printf("%6s %6s  %-48s  %s\n", "groups", "draws", "estimates[groups - 1]", "max |p - 1/6|");
    static const int64_t AT[] = {1, 2, 5, 10, 20, 50, 100, 200, 500};
    for (size_t i = 0; i < sizeof AT / sizeof AT[0]; i++) {
        int64_t g = AT[i];
        printf("%6lld %6lld  [", (long long)g, (long long)(10 * g));
        for (int64_t j = 0; j < 6; j++) printf("%s%.4f", j ? ", " : "", ad_at(est, g - 1, j));
        printf("]  %.4f\n", worst(est, g - 1));
    }
    printf("1/6 = %.4f\n", 1.0 / 6);

    int status = ad_errno(ctx) == AD_OK ? 0 : 1;
    if (status) fprintf(stderr, "probability: %s\n", ad_errmsg(ctx));
    ad_scope_end(ctx, scope, NULL);
    ad_ctx_free(ctx);
    return status;
}
