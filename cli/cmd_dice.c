/* cli/cmd_dice.c — adscope dice: the law of large numbers on a fair die
 * (D2L 2.6, probability): groups of draws sampled with ad_multinomial, the
 * relative frequency of each face after each group, converging to 1/faces;
 * a table, and the chart of D2L's figure through plots/probability.gp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gnuplot.h"

#define CMD "dice"

static const char HELP[] =
    "NAME\n"
    "    adscope dice - estimated probabilities of a fair die converging to 1/6\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope dice [--groups N] [--draws K] [--faces F] [--seed S] [--json]\n"
    "                 [--out FILE.png|FILE.svg] [--format png|svg|dumb]\n"
    "\n"
    "DESCRIPTION\n"
    "    Tosses a fair die with F faces in N groups of K draws each: the counts of\n"
    "    each group are one multinomial sample (multinomial(ones(N, F)/F, K), drawn\n"
    "    by GSL's gsl_ran_multinomial from the seeded generator), and after g groups\n"
    "    the estimated probability of a face is its count so far over g*K, the\n"
    "    cumulative sums of D2L's section on probability.  Prints the estimates\n"
    "    after 1, 2, 5, 10, 20, 50, ... groups and after the last; with --out or\n"
    "    --format, draws them against the number of groups, with 1/F dashed.\n"
    "\n"
    "OPTIONS\n"
    "    --groups N         groups of experiments (default 500, at most 1000000).\n"
    "    --draws K          draws per group (default 10).\n"
    "    --faces F          faces of the die (default 6, 2 to 20).\n"
    "    --seed S           the generator's seed (default 0): the same seed gives the\n"
    "                       same draws.\n"
    "    --out FILE         the chart (.png or .svg; with --format dumb, a text\n"
    "                       file); its data is written next to it as FILE.dat.\n"
    "    --format FMT       png, svg or dumb (text on stdout without --out).\n"
    "    --json             {\"faces\": F, \"draws\": K, \"groups\": N, \"seed\": S,\n"
    "                       \"estimates\": [[...] after each group]}.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 usage error or gnuplot missing or failing.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope dice\n"
    "    adscope dice --groups 500 --draws 10 --out docs/charts/probability.png\n"
    "    adscope dice --groups 100 --format dumb\n";

static const cli_opt OPTS[] = {{"groups", CLI_VALUE, "N"}, {"draws", CLI_VALUE, "K"},   {"faces", CLI_VALUE, "F"},
                               {"seed", CLI_VALUE, "S"},   {"out", CLI_VALUE, "FILE"},  {"format", CLI_VALUE, "FMT"},
                               {"json", CLI_FLAG, NULL},   {"help", CLI_FLAG, NULL}};

typedef struct {
    long long groups, draws, faces, seed;
    cli_chart chart;
} dice_opts;

static int options(const cli_args *a, void *opts)
{
    dice_opts *d = opts;
    if (a->npos) {
        fprintf(stderr, "adscope %s: no positional argument expected, got '%s'\n", CMD, a->pos[0]);
        return CLI_USAGE;
    }
    if (cli_int(a, "groups", 500, 1, 1000000, &d->groups) != CLI_OK ||
        cli_int(a, "draws", 10, 1, 1000000000, &d->draws) != CLI_OK ||
        cli_int(a, "faces", 6, 2, 20, &d->faces) != CLI_OK || cli_int(a, "seed", 0, 0, INT64_MAX, &d->seed) != CLI_OK)
        return CLI_USAGE;
    return cli_chart_setup(&d->chart, CMD, "probability", cli_get(a, "out"), cli_get(a, "format"));
}

/* [groups, faces]: the estimates after each group (scope-owned), or NULL. */
static ad_tensor *estimates(ad_ctx *ctx, const dice_opts *d)
{
    ad_tensor *fair = ad_full(ctx, AD_SHAPE(d->groups, d->faces), 1.0 / (double)d->faces);
    ad_tensor *cum = ad_cumsum(ad_multinomial(ctx, fair, d->draws), 0);
    return ad_div(cum, ad_sum(cum, AD_AXES(1), true));
}

static void print_row(const double *e, long long g, const dice_opts *d)
{
    printf("%8lld %10lld", g, g * d->draws);
    for (long long j = 0; j < d->faces; j++) printf("  %6.4f", e[(g - 1) * d->faces + j]);
    printf("\n");
}

static void print_text(const double *e, const dice_opts *d)
{
    printf("a fair die with %lld faces, %lld groups of %lld draws (seed %lld)\n", d->faces, d->groups, d->draws,
           d->seed);
    printf("%8s %10s", "groups", "draws");
    for (long long j = 1; j <= d->faces; j++) {
        char label[32];
        snprintf(label, sizeof label, "P(%lld)", j);
        printf("  %6s", label);
    }
    printf("\n");
    /* 1, 2, 5, 10, 20, 50, ... and the last */
    for (long long g = 1, k = 0; g < d->groups; g = (k % 3 == 1) ? g / 2 * 5 : g * 2, k++) print_row(e, g, d);
    print_row(e, d->groups, d);
    double worst = 0;
    for (long long j = 0; j < d->faces; j++)
        worst = fmax(worst, fabs(e[(d->groups - 1) * d->faces + j] - 1.0 / (double)d->faces));
    printf("1/%lld = %.4f; largest difference after %lld draws: %.4f\n", d->faces, 1.0 / (double)d->faces,
           d->groups * d->draws, worst);
}

static void print_json(const double *e, const dice_opts *d)
{
    printf("{\"faces\": %lld, \"draws\": %lld, \"groups\": %lld, \"seed\": %lld, \"estimates\": [", d->faces,
           d->draws, d->groups, d->seed);
    for (long long g = 0; g < d->groups; g++) {
        printf("%s[", g ? ", " : "");
        for (long long j = 0; j < d->faces; j++) {
            printf("%s", j ? ", " : "");
            cli_json_number(stdout, e[g * d->faces + j]);
        }
        printf("]");
    }
    printf("]}\n");
}

/* One block per face ("P(1)": group, estimate), then 1/F at both ends. */
static int write_data(FILE *f, const double *e, const dice_opts *d)
{
    for (long long j = 0; j < d->faces; j++) {
        char title[32];
        snprintf(title, sizeof title, "P(%lld)", j + 1);
        cli_gp_title_line(f, title);
        for (long long g = 0; g < d->groups; g++) fprintf(f, "%lld %.17g\n", g + 1, e[g * d->faces + j]);
        fprintf(f, "\n\n");
    }
    char title[32];
    snprintf(title, sizeof title, "1/%lld", d->faces);
    cli_gp_title_line(f, title);
    fprintf(f, "1 %.17g\n%lld %.17g\n", 1.0 / (double)d->faces, d->groups, 1.0 / (double)d->faces);
    return CLI_OK;
}

static int draw(dice_opts *d, const double *e)
{
    cli_chart *ch = &d->chart;
    FILE *f = cli_chart_data(ch, "probability");
    if (!f) return CLI_USAGE;
    int rc = cli_chart_data_done(ch, f, write_data(f, e, d));
    if (rc != CLI_OK) return rc;
    int cols, rows;
    cli_term_size(&cols, &rows);
    char title[160];
    snprintf(title, sizeof title, "Estimated probabilities of a fair die (%lld draws per group)", d->draws);
    cli_gp_var vars[] = {{"datafile", ch->data, 0}, {"fmt", ch->fmt, 0},  {"title", title, 0},
                         {"faces", NULL, (double)d->faces}, {"groups", NULL, (double)d->groups},
                         {"cols", NULL, cols},      {"rows", NULL, rows}, {"outfile", ch->out ? ch->out : "", 0}};
    rc = cli_gnuplot_run(CMD, ch->gnuplot, ch->script, (int)(sizeof vars / sizeof vars[0]), vars);
    if (rc == CLI_OK && ch->out) printf("chart: %s (data: %s)\n", ch->out, ch->data);
    return rc;
}

static int run(cli_call *c)
{
    dice_opts *d = c->opts;
    ad_tensor *est = estimates(c->ctx, d);
    size_t n = (size_t)(d->groups * d->faces);
    double *e = est ? malloc(n * sizeof *e) : NULL;
    int rc = CLI_USAGE;
    if (!est) fprintf(stderr, "adscope %s: %s\n", CMD, ad_errmsg(c->ctx));
    else if (!e || ad_to_array(est, e, (int64_t)n) != AD_OK) fprintf(stderr, "adscope %s: out of memory\n", CMD);
    else rc = CLI_OK;
    if (rc == CLI_OK && d->chart.draw && !d->chart.out && !cli_has(c->args, "json")) rc = draw(d, e);
    else if (rc == CLI_OK) {
        if (cli_has(c->args, "json")) print_json(e, d);
        else print_text(e, d);
        if (d->chart.draw) rc = draw(d, e);
    }
    free(e);
    cli_chart_cleanup(&d->chart);
    return rc;
}

const cli_command cli_cmd_dice = {
    .name = CMD,
    .summary = "a fair die's estimated probabilities converging to 1/6 (multinomial sampling, D2L 2.6)",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_CTX,
    .opts_size = sizeof(dice_opts),
    .options = options,
    .run = run,
};
