/* cli/cmd_fd_error.c — adscope fd-error: the error of forward, central
 * and five-point differences against the step h (the V-shaped chart).
 *
 * A rule of truncation order p has error ~ C·h^p + eps·|f|/h: truncation
 * falls to the right, round-off rises like 1/h to the left, and the sum is
 * smallest near h ~ eps^(1/(p+1)).  The error of each rule is measured
 * against reverse mode's derivative at ~60 steps from 1e-16 to 1e-1;
 * forward mode's value, checked against reverse, gives the AD error floor. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gnuplot.h"

static const char HELP[] =
    "NAME\n"
    "    adscope fd-error - finite-difference error against the step size h\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope fd-error EXPR --var NAME=VALUE... [--direction e0|random] [--wrt NAMES]\n"
    "                     [--out FILE] [--format png|svg|dumb] [--seed S]\n"
    "\n"
    "DESCRIPTION\n"
    "    For a scalar EXPR, computes the derivative along a direction v (default e0:\n"
    "    the first coordinate of the first variable) by forward differences\n"
    "    (f(x+hv) - f(x))/h, central differences and five-point differences at 60\n"
    "    log-spaced steps h from 1e-16 to 1e-1 (a fixed absolute step, no error\n"
    "    estimate), and the error of each against reverse mode's derivative.  Plotted\n"
    "    log-log the errors make three V shapes: truncation error C·h^p falling to the\n"
    "    right (p = 1, 2, 4), round-off eps·|f|/h rising to the left.  The automatic\n"
    "    step each backend would choose, eps^(1/(p+1))·max(1,|x|), is marked with an\n"
    "    open circle; the AD error floor, the larger of |forward - reverse| and\n"
    "    eps·|f'|, is a dashed horizontal line.\n"
    "\n"
    "    Prints the derivative and a table: for each rule the step with the smallest\n"
    "    error, that error, and the automatic step with its error.\n"
    "\n"
    "    With --out FILE the chart is drawn into FILE (the format from --format or\n"
    "    FILE's extension: .png or .svg) and its numbers are written next to it, with\n"
    "    the extension .dat (columns: h and the error of each rule; then the automatic\n"
    "    steps; then the floor).  --format dumb draws the chart as text on stdout.\n"
    "    Without either, only the table is printed.  Charts need gnuplot (Debian\n"
    "    package gnuplot-nox).\n"
    "\n"
    "OPTIONS\n"
    "    --var NAME=VALUE   bind a variable (see 'adscope grad --help').\n"
    "    --direction D      e0 (default): the first element of the first variable;\n"
    "                       random: a random unit vector over every variable (--seed).\n"
    "    --wrt NAMES        only these variables vary (the others are constants).\n"
    "    --out FILE         the chart (.png or .svg; with --format dumb, a text file).\n"
    "    --format FMT       png, svg or dumb (text on stdout).\n"
    "    --seed S           seed of randn()/rand() in values and of --direction random.\n"
    "    --plugin PATH.so:SYMBOL   a C function instead of EXPR.\n"
    "\n"
    "ENVIRONMENT\n"
    "    ADSCOPE_GNUPLOT, ADSCOPE_PLOTS, COLUMNS: see 'adscope plot --help'.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 usage or input error (EXPR not scalar, gnuplot missing, ...).\n"
    "\n"
    "EXAMPLES\n"
    "    adscope fd-error 'sin(x)*exp(x)' --var x=1 --out fd_error.png\n"
    "    adscope fd-error 'sum(tanh(A @ x))' --var A='randn(5,5)' --var x='randn(5)' \\\n"
    "        --wrt x --direction random --format dumb\n";

static const cli_opt OPTS[] = {{"var", CLI_MULTI, "NAME=VALUE"}, {"plugin", CLI_VALUE, "PATH.so:SYMBOL"},
                               {"wrt", CLI_VALUE, "NAMES"},      {"seed", CLI_VALUE, "S"},
                               {"direction", CLI_VALUE, "e0|random"}, {"out", CLI_VALUE, "FILE"},
                               {"format", CLI_VALUE, "FMT"},     {"help", CLI_FLAG, NULL}};

#define CMD "fd-error"
#define NSTEPS 60
#define H_MIN 1e-16
#define H_MAX 1e-1

#define MAX_RULES 8

/* One difference rule's errors over the steps. */
typedef struct {
    const ad_backend *backend;
    int order;           /* truncation error ~ h^order */
    char legend[64];     /* "central: O(h^2)" */
    double err[NSTEPS];
    double h_auto, err_auto;
    int best;            /* index of the smallest error */
} rule;

typedef struct {
    bool random; /* --direction random */
    cli_chart chart;
} fd_opts;

/* Everything run computes, then prints and draws. */
typedef struct {
    ad_tensor *v[CLI_MAX_VARS];
    char where[512], dname[300]; /* "x = 1", "d/dx" */
    double deriv, dfwd, floor_;  /* reverse, forward, the AD error floor */
    double hs[NSTEPS];
    rule R[MAX_RULES];
    int nrules;
    char failure[512];           /* the first failed evaluation's message */
    int nfailed;
    char title[1200];
} fd_result;

/* Σ over the differentiated inputs of Σ a_i·b_i (borrowed tensors, raw data). */
static double dot_all(const cli_fn *fn, ad_tensor *const *a, ad_tensor *const *b)
{
    double s = 0;
    for (int i = 0; i < fn->nvars; i++) {
        if (!fn->wrt[i] || !a[i] || !b[i]) continue;
        int64_t n = ad_numel(a[i]);
        double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), *y = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
        if (x && y && ad_to_array(a[i], x, n) == AD_OK && ad_to_array(b[i], y, n) == AD_OK)
            for (int64_t j = 0; j < n; j++) s += x[j] * y[j];
        else
            s = NAN;
        free(x);
        free(y);
    }
    return s;
}

/* The direction: e0, or a random unit vector (Gaussian, normalised over all
 * differentiated inputs).  v[i] NULL-free for differentiated inputs. */
static int make_direction(cli_fn *fn, bool random, ad_tensor **v, char *desc, size_t n, char *dname, size_t dn)
{
    ad_ctx *ctx = fn->ctx;
    int first = -1;
    double norm2 = 0;
    for (int i = 0; i < fn->nvars; i++) {
        if (!fn->wrt[i]) continue;
        ad_shape s = ad_shape_of(fn->values[i]);
        v[i] = random ? ad_randn(ctx, s) : ad_zeros(ctx, s);
        if (!v[i]) return CLI_USAGE;
        if (first < 0 && ad_numel(fn->values[i]) > 0) first = i;
        if (random) {
            double *d = ad_data(v[i]);
            for (int64_t j = 0; j < ad_numel(v[i]); j++) norm2 += d[j] * d[j];
        }
    }
    if (first < 0) {
        fprintf(stderr, "adscope %s: no variable with elements to differentiate\n", CMD);
        return CLI_USAGE;
    }
    if (random) {
        double r = sqrt(norm2);
        for (int i = 0; i < fn->nvars; i++) {
            if (!fn->wrt[i]) continue;
            double *d = ad_data(v[i]);
            for (int64_t j = 0; j < ad_numel(v[i]); j++) d[j] /= r;
        }
        snprintf(desc, n, "the point given by --var");
        snprintf(dname, dn, "d/dv");
        return CLI_OK;
    }
    ad_data(v[first])[0] = 1;
    int64_t idx[AD_MAX_DIMS] = {0};
    char where[256];
    cli_index_str(where, sizeof where, fn->names[first], ad_ndim(fn->values[first]), idx);
    double x0 = ad_data(fn->values[first])[0];
    if (ad_ndim(fn->values[first]) == 0) snprintf(where, sizeof where, "%s", fn->names[first]);
    snprintf(desc, n, "%s = %.6g", where, x0); /* readable in a title; the data file has all digits */
    snprintf(dname, dn, "d/d%s", where);
    return CLI_OK;
}

/* D(h) along v by backend b (h = 0: its automatic step). NAN when it failed. */
static double difference(const cli_fn *fn, const ad_backend *b, ad_tensor *const *v, double h, char *msg, size_t n)
{
    ad_ctx *ctx = fn->ctx;
    ad_scope s = ad_scope_begin(ctx);
    ad_options o = {.h = h, .no_error_estimate = true};
    ad_tensor *jv = NULL;
    double d = NAN;
    if (ad_jvp(b, &fn->problem, v, &o, NULL, &jv, NULL, NULL) == AD_OK) d = ad_item(jv);
    else if (msg && !*msg) snprintf(msg, n, "%s", ad_errmsg(ctx));
    ad_clear_error(ctx);
    ad_scope_end(ctx, s, NULL);
    return d;
}

static int options(const cli_args *a, void *opts)
{
    fd_opts *o = opts;
    const char *dir = cli_get(a, "direction") ? cli_get(a, "direction") : "e0";
    if (strcmp(dir, "e0") != 0 && strcmp(dir, "random") != 0) {
        fprintf(stderr, "adscope %s: --direction must be e0 or random, not '%s'\n", CMD, dir);
        return CLI_USAGE;
    }
    o->random = strcmp(dir, "random") == 0;
    return cli_chart_setup(&o->chart, CMD, "fd_error", cli_get(a, "out"), cli_get(a, "format"));
}

static int check_scalar(cli_fn *fn)
{
    ad_tensor *y = cli_fn_value(fn);
    if (!y) return CLI_USAGE;
    if (ad_numel(y) == 1) return CLI_OK;
    char sh[128];
    ad_shape ys = ad_shape_of(y);
    ad_shape_str(&ys, sh, sizeof sh);
    fprintf(stderr, "adscope %s: %s must be a scalar, but its value has shape %s (reduce it, e.g. sum(...))\n", CMD,
            fn->label, sh);
    return CLI_USAGE;
}

/* The exact derivative along v (reverse mode's gradient dotted with v) and
 * forward mode's, whose difference sets the AD error floor. */
static int exact_derivatives(cli_fn *fn, fd_result *res)
{
    ad_tensor *grad[CLI_MAX_VARS] = {0}, *jv = NULL;
    if (ad_value_and_grad(ad_backend_with(AD_CAP_EXACT | AD_CAP_REVERSE), &fn->problem, NULL, NULL, grad, NULL, NULL) != AD_OK ||
        ad_jvp(ad_backend_with(AD_CAP_EXACT | AD_CAP_FORWARD), &fn->problem, res->v, NULL, NULL, &jv, NULL, NULL) != AD_OK) {
        cli_report_error(fn);
        return CLI_USAGE;
    }
    res->deriv = dot_all(fn, grad, res->v);
    res->dfwd = ad_item(jv);
    res->floor_ = fmax(fabs(res->dfwd - res->deriv), DBL_EPSILON * fabs(res->deriv));
    return CLI_OK;
}

/* One rule at every step, and at its automatic step. */
static void measure_rule(const cli_fn *fn, fd_result *res, rule *r)
{
    r->best = -1;
    for (int i = 0; i < NSTEPS; i++) {
        double d = difference(fn, r->backend, res->v, res->hs[i], res->failure, sizeof res->failure);
        r->err[i] = fabs(d - res->deriv);
        if (isnan(d)) res->nfailed++;
        if (!isnan(r->err[i]) && (r->best < 0 || r->err[i] < r->err[r->best])) r->best = i;
    }
    ad_fd_scale sc;
    r->h_auto = ad_fd_scale_of(&fn->problem, res->v, &sc) == AD_OK ? ad_fd_step_along(ad_backend_fd_rule(r->backend), &sc)
                                                                     : NAN;
    r->err_auto = fabs(difference(fn, r->backend, res->v, 0, res->failure, sizeof res->failure) - res->deriv);
}

static void measure_rules(const cli_fn *fn, fd_result *res)
{
    for (int i = 0; i < NSTEPS; i++)
        res->hs[i] = pow(10.0, log10(H_MIN) + (log10(H_MAX) - log10(H_MIN)) * i / (NSTEPS - 1));
    const ad_backend *rules[MAX_RULES];
    res->nrules = cli_fd_rules(rules, MAX_RULES);
    for (int r = 0; r < res->nrules; r++) {
        rule *R = &res->R[r];
        R->backend = rules[r];
        R->order = ad_backend_fd_rule(rules[r])->order;
        if (R->order == 1) snprintf(R->legend, sizeof R->legend, "%s: O(h)", R->backend->name);
        else snprintf(R->legend, sizeof R->legend, "%s: O(h^%d)", R->backend->name, R->order);
        measure_rule(fn, res, R);
    }
}

static void print_rule_table(const fd_result *res)
{
    printf("  %-13s %5s  %-10s %-12s %-12s %-12s\n", "rule", "order", "best h", "its error", "automatic h",
           "its error");
    for (int r = 0; r < res->nrules; r++) {
        const rule *R = &res->R[r];
        if (R->best < 0) {
            printf("  %-13s %5d  (every step failed)\n", R->backend->name, R->order);
            continue;
        }
        printf("  %-13s %5d  %-10.2e %-12.2e %-12.3e %-12.2e\n", R->backend->name, R->order, res->hs[R->best],
               R->err[R->best], R->h_auto, R->err_auto);
    }
    printf("\n  steps: %d from %g to %g; best h ~ eps^(1/(p+1)): ", NSTEPS, H_MIN, H_MAX);
    for (int r = 0; r < res->nrules; r++)
        printf("%s%.1e", r ? ", " : "", pow(DBL_EPSILON, 1.0 / (res->R[r].order + 1)));
    printf("\n");
}

static void print_result(const cli_fn *fn, const fd_opts *o, const fd_result *res)
{
    printf("%s: %s of %s at %s (direction %s)\n", CMD, res->dname, fn->label, res->where,
           o->random ? "random, unit length" : "e0");
    printf("  derivative (reverse mode)  %.17g\n", res->deriv);
    printf("  forward mode differs by    %.3g\n", fabs(res->dfwd - res->deriv));
    printf("  AD error floor             %.3g  (max of |forward - reverse| and eps*|f'|)\n\n", res->floor_);
    print_rule_table(res);
    for (int r = 0; r < res->nrules; r++) {
        int nzero = 0;
        for (int i = 0; i < NSTEPS; i++) nzero += res->R[r].err[i] == 0;
        if (nzero)
            printf("  %s is exact (error 0) at %d of the steps: not drawn on the log scale\n",
                   res->R[r].backend->name, nzero);
    }
    if (res->nfailed) printf("  %d evaluations failed (gaps in the chart): %s\n", res->nfailed, res->failure);
    if (!o->chart.draw) printf("  (the chart: add --out fd_error.png, or --format dumb to draw it here)\n");
}

static void write_steps(FILE *f, const fd_result *res)
{
    fprintf(f, "h");
    for (int r = 0; r < res->nrules; r++) fprintf(f, " \"%s\"", res->R[r].legend);
    fputc('\n', f);
    for (int i = 0; i < NSTEPS; i++) {
        fprintf(f, "%.6e", res->hs[i]);
        for (int r = 0; r < res->nrules; r++) {
            /* a log axis has no place for 0 or a failed evaluation: a gap */
            double e = res->R[r].err[i];
            if (e > 0 && isfinite(e)) fprintf(f, " %.6e", e);
            else fprintf(f, " NaN");
        }
        fputc('\n', f);
    }
}

static void write_data(FILE *f, const fd_result *res)
{
    fprintf(f, "# adscope fd-error: %s\n", res->title);
    fprintf(f, "# derivative (reverse mode) = %.17g; forward mode = %.17g; AD error floor = %.3g\n", res->deriv,
            res->dfwd, res->floor_);
    fprintf(f, "# block 0: h and |D(h) - f'| of each rule; block 1: the automatic step of each rule, its error and\n"
               "# the rule's linetype; block 2: the AD error floor\n");
    write_steps(f, res);
    fprintf(f, "\n\n");
    cli_gp_title_line(f, "automatic step h of each rule");
    for (int r = 0; r < res->nrules; r++) {
        const rule *R = &res->R[r];
        double e = R->err_auto > 0 && isfinite(R->err_auto) ? R->err_auto : NAN;
        fprintf(f, "%.6e %.6e %d\n", R->h_auto, e, cli_backend_linetype(R->backend->name));
    }
    fprintf(f, "\n\n");
    char legend[160];
    snprintf(legend, sizeof legend, "AD error floor %.1e = max(|fwd - rev|, eps |f'|)", res->floor_);
    cli_gp_title_line(f, legend);
    fprintf(f, "%.6e %.6e\n%.6e %.6e\n", H_MIN, res->floor_, H_MAX, res->floor_);
}

static int draw(fd_opts *o, const fd_result *res)
{
    cli_chart *ch = &o->chart;
    FILE *f = cli_chart_data(ch, "fd_error");
    if (!f) return CLI_USAGE;
    write_data(f, res);
    int rc = cli_chart_data_done(ch, f, CLI_OK);
    if (rc != CLI_OK) return rc;
    int cols, rows;
    cli_term_size(&cols, &rows);
    cli_gp_var vars[] = {{"datafile", ch->data, 0}, {"fmt", ch->fmt, 0},  {"title", res->title, 0},
                         {"cols", NULL, cols},      {"rows", NULL, rows}, {"outfile", ch->out ? ch->out : "", 0}};
    rc = cli_gnuplot_run(CMD, ch->gnuplot, ch->script, (int)(sizeof vars / sizeof vars[0]), vars);
    if (rc == CLI_OK && ch->out) printf("  chart: %s (data: %s)\n", ch->out, ch->data);
    return rc;
}

static int run(cli_call *c)
{
    fd_opts *o = c->opts;
    cli_fn *fn = c->fn;
    fd_result *res = calloc(1, sizeof *res);
    int rc = res ? check_scalar(fn) : CLI_USAGE;
    if (rc == CLI_OK)
        rc = make_direction(fn, o->random, res->v, res->where, sizeof res->where, res->dname, sizeof res->dname);
    if (rc == CLI_OK) rc = exact_derivatives(fn, res);
    if (rc == CLI_OK) {
        measure_rules(fn, res);
        snprintf(res->title, sizeof res->title, "difference error vs step h: %s of %.50s%s at %s", res->dname,
                 fn->label, strlen(fn->label) > 50 ? "..." : "", res->where);
        print_result(fn, o, res);
        if (o->chart.draw) rc = draw(o, res);
        cli_chart_cleanup(&o->chart);
    }
    free(res);
    return rc;
}

const cli_command cli_cmd_fd_error = {
    .name = CMD,
    .summary = "finite-difference error against the step size h (the V-shaped chart)",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_FN,
    .opts_size = sizeof(fd_opts),
    .options = options,
    .run = run,
};
