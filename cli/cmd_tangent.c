/* cli/cmd_tangent.c — adscope tangent: a function of one variable and
 * its tangent line at a point, the slope by reverse mode (the seed's
 * example: 0.01x² + 0.1x at x = 10 on [0, 20]; D2L's calculus section draws
 * 3x² - 4x with its tangent y = 2x - 3 at x = 1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gnuplot.h"

static const char HELP[] =
    "NAME\n"
    "    adscope tangent - a function of one variable and its tangent line at a point\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope tangent EXPR --at X [--range A:B] [--var NAME=VALUE]... [--out FILE]\n"
    "                    [--format png|svg|dumb] [--points N]\n"
    "\n"
    "DESCRIPTION\n"
    "    EXPR is a function of one scalar variable: the one variable of EXPR that no\n"
    "    --var gives (the others are constants).  Prints f(X), the derivative f'(X)\n"
    "    computed by reverse mode (not by differences) and the tangent line\n"
    "    y = a x + b with a = f'(X), b = f(X) - a X.  With --out or --format, draws f\n"
    "    on [A, B] (N points, default 200) with the tangent line and the point\n"
    "    (X, f(X)) marked; the numbers go next to FILE with the extension .dat.\n"
    "    X, A and B may be constant expressions (pi/4, 2*e).  Without --range the\n"
    "    interval is X -/+ max(1, |X|).  Points where f is not finite are gaps.\n"
    "    Charts need gnuplot (Debian package gnuplot-nox).\n"
    "\n"
    "OPTIONS\n"
    "    --at X             the point of tangency (a number: the variable is 0-d).\n"
    "    --range A:B        the interval drawn (A < B).\n"
    "    --var NAME=VALUE   bind the other variables (see 'adscope grad --help').\n"
    "    --out FILE         the chart (.png or .svg; with --format dumb, a text file).\n"
    "    --format FMT       png, svg or dumb (text on stdout).\n"
    "    --points N         points of f drawn (default 200).\n"
    "    --seed S           seed of randn()/rand() in values.\n"
    "\n"
    "ENVIRONMENT\n"
    "    ADSCOPE_GNUPLOT, ADSCOPE_PLOTS, COLUMNS: see 'adscope plot --help'.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 usage or input error.\n"
    "\n"
    "EXAMPLES\n"
    "    adscope tangent '0.01*x^2 + 0.1*x' --at 10 --range 0:20 --out tangent.png\n"
    "        # slope 0.3, intercept -1\n"
    "    adscope tangent '3*x^2 - 4*x' --at 1 --range 0:3 --format dumb\n"
    "    adscope tangent 'sin(a*t)' --var a=2 --at pi/4 --range 0:pi --out sin.svg\n";

static const cli_opt OPTS[] = {{"var", CLI_MULTI, "NAME=VALUE"}, {"at", CLI_VALUE, "X"},
                               {"range", CLI_VALUE, "A:B"},      {"out", CLI_VALUE, "FILE"},
                               {"format", CLI_VALUE, "FMT"},     {"points", CLI_VALUE, "N"},
                               {"seed", CLI_VALUE, "S"},         {"help", CLI_FLAG, NULL}};

#define CMD "tangent"

typedef struct {
    const char *at, *range;
    long long npts;
    cli_chart chart;
    char var[64];      /* the x axis: the one variable no --var gives */
    double X, A, B;    /* the point, the interval drawn */
} tangent_opts;

/* What run computes, then prints and draws. */
typedef struct {
    int k;             /* the x axis among the inputs */
    double fx, slope, icept;
    char fdesc[4800], tdesc[320], line[160];
} tangent_result;

/* A constant expression as one finite number (what names the option in errors). */
static int number(ad_ctx *ctx, const char *what, const char *src, double *out)
{
    ad_expr_error err;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *v = ad_expr_value(ctx, src, &err);
    int rc = CLI_OK;
    if (!v) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "in %s: ", what);
        cli_print_expr_error(CMD, prefix, src, &err);
        rc = CLI_USAGE;
    } else if (ad_ndim(v) != 0 || !isfinite(ad_item(v))) {
        char sh[64];
        ad_shape vs = ad_shape_of(v);
        ad_shape_str(&vs, sh, sizeof sh);
        fprintf(stderr, "adscope %s: %s must be one finite number, not '%s' (%s)\n", CMD, what, src,
                ad_ndim(v) ? sh : "not finite");
        rc = CLI_USAGE;
    } else {
        *out = ad_item(v);
    }
    ad_scope_end(ctx, s, NULL);
    return rc;
}

/* "0.3 x - 1", "-2 x", "x + 0.5" */
static void line_str(char *buf, size_t n, const char *var, double a, double b)
{
    char as[96]; /* "%.6g " and a variable name of up to 63 bytes */
    if (a == 1) snprintf(as, sizeof as, "%s", var);
    else if (a == -1) snprintf(as, sizeof as, "-%s", var);
    else snprintf(as, sizeof as, "%.6g %s", a, var);
    if (b == 0) snprintf(buf, n, "y = %s", as);
    else snprintf(buf, n, "y = %s %c %.6g", as, b < 0 ? '-' : '+', fabs(b));
}

/* f at the point x (the free variable replaced), or NAN; AD_OK or the error. */
static int f_at(cli_fn *fn, int k, double x, double *y)
{
    ad_ctx *ctx = fn->ctx;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *in[CLI_MAX_VARS];
    memcpy(in, fn->values, sizeof(ad_tensor *) * (size_t)fn->nvars);
    in[k] = ad_scalar(ctx, x);
    bool prev = ad_set_grad_enabled(ctx, false);
    ad_tensor *v = in[k] ? fn->problem.f(ctx, in, fn->problem.user) : NULL;
    ad_set_grad_enabled(ctx, prev);
    int rc = v ? AD_OK : ad_errno(ctx);
    *y = v ? ad_item(v) : NAN;
    ad_scope_end(ctx, s, NULL);
    return rc;
}

static int options(const cli_args *a, void *opts)
{
    tangent_opts *t = opts;
    if (a->npos != 1) {
        fprintf(stderr, "adscope %s: %s (usage: adscope tangent EXPR --at X --range A:B; see --help)\n", CMD,
                a->npos ? "one expression at a time (quote it)" : "missing EXPR");
        return CLI_USAGE;
    }
    t->at = cli_get(a, "at");
    t->range = cli_get(a, "range");
    if (!t->at) {
        fprintf(stderr, "adscope %s: missing --at X (the point of tangency)\n", CMD);
        return CLI_USAGE;
    }
    if (cli_int(a, "points", 200, 2, 1000000, &t->npts) != CLI_OK) return CLI_USAGE;
    return cli_chart_setup(&t->chart, CMD, "tangent", cli_get(a, "out"), cli_get(a, "format"));
}

/* The x axis: the one variable of the expression that no --var bound. */
static int free_variable(const cli_fn *fn, char *var, size_t n)
{
    char names[512] = "";
    int nfree = 0;
    for (int i = 0; i < ad_expr_nvars(fn->expr); i++) {
        const char *name = ad_expr_var(fn->expr, i);
        if (cli_fn_var(fn, name) >= 0) continue;
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", nfree ? ", " : "", name);
        if (nfree++ == 0 && strlen(name) >= n) {
            fprintf(stderr, "adscope %s: variable name '%s' too long\n", CMD, name);
            return CLI_USAGE;
        }
        if (nfree == 1) snprintf(var, n, "%s", name);
    }
    if (nfree == 0)
        fprintf(stderr, "adscope %s: '%s' has no variable left for the x axis: every variable is given by --var\n",
                CMD, fn->label);
    else if (nfree > 1)
        fprintf(stderr,
                "adscope %s: '%s' is a function of %s: give all but one of them with --var NAME=VALUE (the one "
                "left is x)\n",
                CMD, fn->label, names);
    return nfree == 1 ? CLI_OK : CLI_USAGE;
}

/* --range A:B, or X -/+ max(1, |X|). */
static int interval(ad_ctx *ctx, tangent_opts *t)
{
    if (!t->range) {
        double w = fmax(1, fabs(t->X));
        t->A = t->X - w;
        t->B = t->X + w;
        return CLI_OK;
    }
    const char *colon = strchr(t->range, ':');
    char lo[256], hi[256];
    if (!colon || colon == t->range || !colon[1] || strlen(t->range) >= sizeof lo) {
        fprintf(stderr, "adscope %s: --range expects A:B (e.g. 0:20), not '%s'\n", CMD, t->range);
        return CLI_USAGE;
    }
    snprintf(lo, sizeof lo, "%.*s", (int)(colon - t->range), t->range);
    snprintf(hi, sizeof hi, "%s", colon + 1);
    if (number(ctx, "--range (A)", lo, &t->A) != CLI_OK || number(ctx, "--range (B)", hi, &t->B) != CLI_OK)
        return CLI_USAGE;
    if (!(t->A < t->B)) {
        fprintf(stderr, "adscope %s: --range %s: A = %g must be less than B = %g\n", CMD, t->range, t->A, t->B);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Between loading EXPR and matching its variables: the x axis, the point
 * and the interval, and x bound to the point. */
static int prepare(cli_call *c)
{
    tangent_opts *t = c->opts;
    if (free_variable(c->fn, t->var, sizeof t->var) != CLI_OK) return CLI_USAGE;
    if (number(c->ctx, "--at", t->at, &t->X) != CLI_OK || interval(c->ctx, t) != CLI_OK) return CLI_USAGE;
    return cli_fn_bind(c->fn, t->var, ad_scalar(c->ctx, t->X));
}

/* f(X) must be one number. */
static int check_scalar(cli_fn *fn, const char *var)
{
    ad_tensor *v = cli_fn_value(fn);
    if (!v) return CLI_USAGE;
    if (ad_numel(v) == 1) return CLI_OK;
    char sh[128];
    ad_shape vs = ad_shape_of(v);
    ad_shape_str(&vs, sh, sizeof sh);
    fprintf(stderr, "adscope %s: f(%s) = %s must be one number, but its value has shape %s\n", CMD, var, fn->label,
            sh);
    return CLI_USAGE;
}

/* f(X) and f'(X) by reverse mode, the line through them. */
static int compute(cli_fn *fn, const tangent_opts *t, tangent_result *res)
{
    res->k = cli_fn_var(fn, t->var);
    for (int i = 0; i < fn->nvars; i++) fn->wrt[i] = i == res->k;
    int rc = check_scalar(fn, t->var);
    if (rc != CLI_OK) return rc;
    ad_tensor *value = NULL, *grad[CLI_MAX_VARS] = {0};
    if (ad_value_and_grad(ad_backend_with(AD_CAP_EXACT | AD_CAP_REVERSE), &fn->problem, NULL, &value, grad, NULL, NULL) != AD_OK) {
        cli_report_error(fn);
        return CLI_USAGE;
    }
    res->fx = ad_item(value);
    res->slope = ad_item(grad[res->k]);
    res->icept = res->fx - res->slope * t->X;
    line_str(res->line, sizeof res->line, t->var, res->slope, res->icept);
    snprintf(res->fdesc, sizeof res->fdesc, "f(%s) = %s", t->var, fn->label);
    snprintf(res->tdesc, sizeof res->tdesc, "tangent at %s = %.6g: %s", t->var, t->X, res->line);
    return CLI_OK;
}

static int print_result(const tangent_opts *t, const tangent_result *res)
{
    printf("%s\n", res->fdesc);
    printf("at %s = %.15g: f = %.15g, f' = %.15g (reverse mode)\n", t->var, t->X, res->fx, res->slope);
    printf("tangent: %s\n", res->line);
    printf("slope     = %.15g\n", res->slope);
    printf("intercept = %.15g\n", res->icept);
    if (!isfinite(res->fx) || !isfinite(res->slope)) {
        fprintf(stderr, "adscope %s: f or its derivative is not finite at %s = %g\n", CMD, t->var, t->X);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* The data file: f on [A, B] (NaN where not finite: a gap), the line, the
 * point. */
static int write_data(FILE *f, cli_fn *fn, const tangent_opts *t, const tangent_result *res)
{
    fprintf(f, "# adscope tangent: %s; %s\n# blocks: f on [%.17g, %.17g]; the tangent line; the point\n", res->fdesc,
            res->tdesc, t->A, t->B);
    cli_gp_title_line(f, res->fdesc);
    for (long long i = 0; i < t->npts; i++) {
        double x = t->A + (t->B - t->A) * (double)i / (double)(t->npts - 1), y;
        if (f_at(fn, res->k, x, &y) != AD_OK) {
            fprintf(stderr, "adscope %s: f(%s = %g): %s\n", CMD, t->var, x, ad_errmsg(fn->ctx));
            return CLI_USAGE;
        }
        if (isfinite(y)) fprintf(f, "%.17g %.17g\n", x, y);
        else fprintf(f, "%.17g NaN\n", x);
    }
    fprintf(f, "\n\n");
    cli_gp_title_line(f, res->tdesc);
    fprintf(f, "%.17g %.17g\n%.17g %.17g\n\n\n", t->A, res->slope * t->A + res->icept, t->B,
            res->slope * t->B + res->icept);
    char pdesc[160];
    snprintf(pdesc, sizeof pdesc, "(%.6g, %.6g)", t->X, res->fx);
    cli_gp_title_line(f, pdesc);
    fprintf(f, "%.17g %.17g\n", t->X, res->fx);
    return CLI_OK;
}

static int draw(cli_fn *fn, tangent_opts *t, const tangent_result *res)
{
    cli_chart *ch = &t->chart;
    FILE *f = cli_chart_data(ch, "tangent");
    if (!f) return CLI_USAGE;
    int rc = cli_chart_data_done(ch, f, write_data(f, fn, t, res));
    if (rc != CLI_OK) return rc;
    int cols, rows;
    cli_term_size(&cols, &rows);
    char title[320], ylabel[100];
    snprintf(title, sizeof title, "f and its tangent line at %s = %.6g (slope by reverse mode)", t->var, t->X);
    snprintf(ylabel, sizeof ylabel, "f(%s)", t->var);
    cli_gp_var vars[] = {{"datafile", ch->data, 0}, {"fmt", ch->fmt, 0},     {"title", title, 0},
                         {"xlabel", t->var, 0},     {"ylabel", ylabel, 0},   {"xmin", NULL, t->A},
                         {"xmax", NULL, t->B},      {"cols", NULL, cols},    {"rows", NULL, rows},
                         {"outfile", ch->out ? ch->out : "", 0}};
    rc = cli_gnuplot_run(CMD, ch->gnuplot, ch->script, (int)(sizeof vars / sizeof vars[0]), vars);
    if (rc == CLI_OK && ch->out) printf("chart: %s (data: %s)\n", ch->out, ch->data);
    return rc;
}

static int run(cli_call *c)
{
    tangent_opts *t = c->opts;
    tangent_result res;
    int rc = compute(c->fn, t, &res);
    if (rc == CLI_OK) rc = print_result(t, &res);
    if (rc == CLI_OK && t->chart.draw) rc = draw(c->fn, t, &res);
    cli_chart_cleanup(&t->chart);
    return rc;
}

const cli_command cli_cmd_tangent = {
    .name = CMD,
    .summary = "a function of one variable and its tangent line at a point",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_FN,
    .opts_size = sizeof(tangent_opts),
    .options = options,
    .prepare = prepare,
    .run = run,
};
