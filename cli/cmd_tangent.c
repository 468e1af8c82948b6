/* cli/cmd_tangent.c — adscope tangent: a function of one variable and
 * its tangent line at a point, the slope by reverse mode (the seed's
 * example: 0.01x² + 0.1x at x = 10 on [0, 20]; D2L's calculus section draws
 * 3x² - 4x with its tangent y = 2x - 3 at x = 1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gnuplot.h"

const char CLI_HELP_TANGENT[] =
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

/* A constant expression as one finite number (what names the option in errors). */
static int number(ad_ctx *ctx, const char *what, const char *src, double *out)
{
    ad_expr_error err;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *v = ad_expr_value(ctx, src, &err);
    int rc = CLI_OK;
    if (!v) {
        char buf[2048];
        ad_expr_format_error(buf, sizeof buf, src, &err);
        fprintf(stderr, "adscope %s: in %s: %s", CMD, what, buf);
        if (!*buf || buf[strlen(buf) - 1] != '\n') fputc('\n', stderr);
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
    char as[64];
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

int cmd_tangent(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, CMD, OPTS, (int)(sizeof OPTS / sizeof OPTS[0]), argc, argv, 2);
    if (rc != CLI_OK) return rc;
    if (cli_has(&a, "help")) return cli_help_of(CMD);
    if (a.npos != 1) {
        fprintf(stderr, "adscope %s: %s (usage: adscope tangent EXPR --at X --range A:B; see --help)\n", CMD,
                a.npos ? "one expression at a time (quote it)" : "missing EXPR");
        return CLI_USAGE;
    }
    const char *at = cli_get(&a, "at"), *range = cli_get(&a, "range");
    if (!at) {
        fprintf(stderr, "adscope %s: missing --at X (the point of tangency)\n", CMD);
        return CLI_USAGE;
    }
    long long npts;
    if (cli_int(&a, "points", 200, 2, 1000000, &npts) != CLI_OK) return CLI_USAGE;
    const char *out = cli_get(&a, "out"), *format = cli_get(&a, "format"), *fmt = NULL;
    bool draw;
    char gnuplot[CLI_PATH_MAX], script[CLI_PATH_MAX];
    if (cli_chart_setup(CMD, "tangent", out, format, &draw, &fmt, gnuplot, sizeof gnuplot, script, sizeof script) != CLI_OK)
        return CLI_USAGE;
    /* the free variable: the one no --var gives */
    ad_expr_error perr;
    ad_expr *e = ad_expr_parse(a.pos[0], &perr);
    if (!e) {
        char buf[2048];
        ad_expr_format_error(buf, sizeof buf, a.pos[0], &perr);
        fprintf(stderr, "adscope %s: %s", CMD, buf);
        if (!*buf || buf[strlen(buf) - 1] != '\n') fputc('\n', stderr);
        return CLI_USAGE;
    }
    char free_names[512] = "", var[64] = "";
    int nfree = 0;
    for (int i = 0; i < ad_expr_nvars(e); i++) {
        const char *name = ad_expr_var(e, i);
        bool given = false;
        for (int j = 0; j < cli_count(&a, "var") && !given; j++) {
            const char *item = cli_item(&a, "var", j), *eq = strchr(item, '=');
            given = eq && (size_t)(eq - item) == strlen(name) && strncmp(item, name, strlen(name)) == 0;
        }
        if (given) continue;
        size_t l = strlen(free_names);
        snprintf(free_names + l, sizeof free_names - l, "%s%s", nfree ? ", " : "", name);
        if (nfree++ == 0) {
            if (strlen(name) >= sizeof var) {
                fprintf(stderr, "adscope %s: variable name '%s' too long\n", CMD, name);
                ad_expr_free(e);
                return CLI_USAGE;
            }
            snprintf(var, sizeof var, "%s", name);
        }
    }
    ad_expr_free(e);
    if (nfree != 1) {
        if (nfree == 0)
            fprintf(stderr, "adscope %s: '%s' has no variable left for the x axis: every variable is given by --var\n",
                    CMD, a.pos[0]);
        else
            fprintf(stderr,
                    "adscope %s: '%s' is a function of %s: give all but one of them with --var NAME=VALUE (the one "
                    "left is x)\n",
                    CMD, a.pos[0], free_names);
        return CLI_USAGE;
    }
    ad_ctx *ctx = cli_ctx_new(&a, &rc);
    if (!ctx) return rc;
    ad_scope s = ad_scope_begin(ctx);
    double X = 0, A = 0, B = 0;
    rc = number(ctx, "--at", at, &X);
    if (rc == CLI_OK && range) {
        const char *colon = strchr(range, ':');
        char lo[256], hi[256];
        if (!colon || colon == range || !colon[1] || strlen(range) >= sizeof lo) {
            fprintf(stderr, "adscope %s: --range expects A:B (e.g. 0:20), not '%s'\n", CMD, range);
            rc = CLI_USAGE;
        } else {
            snprintf(lo, sizeof lo, "%.*s", (int)(colon - range), range);
            snprintf(hi, sizeof hi, "%s", colon + 1);
            rc = number(ctx, "--range (A)", lo, &A);
            if (rc == CLI_OK) rc = number(ctx, "--range (B)", hi, &B);
            if (rc == CLI_OK && !(A < B)) {
                fprintf(stderr, "adscope %s: --range %s: A = %g must be less than B = %g\n", CMD, range, A, B);
                rc = CLI_USAGE;
            }
        }
    } else if (rc == CLI_OK) {
        double w = fmax(1, fabs(X));
        A = X - w;
        B = X + w;
    }
    /* bind the free variable to X, as if given by --var */
    char binding[512];
    cli_args a2 = a;
    int kv = -1;
    for (int i = 0; i < a.nopts; i++)
        if (strcmp(a.opts[i].name, "var") == 0) kv = i;
    cli_fn fn;
    memset(&fn, 0, sizeof fn);
    if (rc == CLI_OK) {
        if (a2.nmulti[kv] == CLI_MAX_MULTI) {
            fprintf(stderr, "adscope %s: too many --var\n", CMD);
            rc = CLI_USAGE;
        } else {
            snprintf(binding, sizeof binding, "%s=%.17g", var, X);
            a2.multi[kv][a2.nmulti[kv]++] = binding;
            a2.set[kv] = true;
            rc = cli_fn_open(&fn, ctx, &a2);
        }
    }
    int k = -1;
    for (int i = 0; rc == CLI_OK && i < fn.nvars; i++) {
        fn.wrt[i] = strcmp(fn.names[i], var) == 0;
        if (fn.wrt[i]) k = i;
    }
    if (rc == CLI_OK) {
        bool prev = ad_set_grad_enabled(ctx, false);
        ad_tensor *v = fn.problem.f(ctx, fn.problem.in, fn.problem.user);
        ad_set_grad_enabled(ctx, prev);
        if (!v) {
            cli_report_error(&fn, CMD);
            rc = CLI_USAGE;
        } else if (ad_numel(v) != 1) {
            char sh[128];
            ad_shape vs = ad_shape_of(v);
            ad_shape_str(&vs, sh, sizeof sh);
            fprintf(stderr, "adscope %s: f(%s) = %s must be one number, but its value has shape %s\n", CMD, var,
                    fn.label, sh);
            rc = CLI_USAGE;
        }
    }
    double fx = NAN, slope = NAN;
    if (rc == CLI_OK) {
        ad_tensor *value = NULL, *grad[CLI_MAX_VARS] = {0};
        if (ad_value_and_grad(ad_backend_find("reverse"), &fn.problem, NULL, &value, grad, NULL, NULL) != AD_OK) {
            cli_report_error(&fn, CMD);
            rc = CLI_USAGE;
        } else {
            fx = ad_item(value);
            slope = ad_item(grad[k]);
        }
    }
    double icept = fx - slope * X;
    char fdesc[4800], tdesc[320], ls[160];
    line_str(ls, sizeof ls, var, slope, icept);
    snprintf(fdesc, sizeof fdesc, "f(%s) = %s", var, fn.label);
    snprintf(tdesc, sizeof tdesc, "tangent at %s = %.6g: %s", var, X, ls);
    if (rc == CLI_OK) {
        printf("%s\n", fdesc);
        printf("at %s = %.15g: f = %.15g, f' = %.15g (reverse mode)\n", var, X, fx, slope);
        printf("tangent: %s\n", ls);
        printf("slope     = %.15g\n", slope);
        printf("intercept = %.15g\n", icept);
        if (!isfinite(fx) || !isfinite(slope)) {
            fprintf(stderr, "adscope %s: f or its derivative is not finite at %s = %g\n", CMD, var, X);
            rc = CLI_USAGE;
        }
    }
    if (rc == CLI_OK && draw) {
        char data[CLI_PATH_MAX], tmp[CLI_PATH_MAX] = "";
        if (out) {
            cli_replace_ext(data, sizeof data, out, ".dat");
        } else if ((rc = cli_tmpdir(CMD, tmp, sizeof tmp)) == CLI_OK) {
            if (snprintf(data, sizeof data, "%s/tangent.dat", tmp) >= (int)sizeof data) data[0] = '\0';
        }
        FILE *f = rc == CLI_OK ? fopen(data, "w") : NULL;
        if (rc == CLI_OK && !f) {
            fprintf(stderr, "adscope %s: cannot write %s\n", CMD, data);
            rc = CLI_USAGE;
        }
        if (f) {
            fprintf(f, "# adscope tangent: %s; %s\n# blocks: f on [%.17g, %.17g]; the tangent line; the point\n",
                    fdesc, tdesc, A, B);
            cli_gp_title_line(f, fdesc);
            for (long long i = 0; rc == CLI_OK && i < npts; i++) {
                double x = A + (B - A) * (double)i / (double)(npts - 1), y;
                if (f_at(&fn, k, x, &y) != AD_OK) {
                    fprintf(stderr, "adscope %s: f(%s = %g): %s\n", CMD, var, x, ad_errmsg(ctx));
                    rc = CLI_USAGE;
                } else if (isfinite(y)) {
                    fprintf(f, "%.17g %.17g\n", x, y);
                } else {
                    fprintf(f, "%.17g NaN\n", x);
                }
            }
            fprintf(f, "\n\n");
            cli_gp_title_line(f, tdesc);
            fprintf(f, "%.17g %.17g\n%.17g %.17g\n\n\n", A, slope * A + icept, B, slope * B + icept);
            char pdesc[160];
            snprintf(pdesc, sizeof pdesc, "(%.6g, %.6g)", X, fx);
            cli_gp_title_line(f, pdesc);
            fprintf(f, "%.17g %.17g\n", X, fx);
            if (fclose(f) != 0 && rc == CLI_OK) {
                fprintf(stderr, "adscope %s: cannot write %s\n", CMD, data);
                rc = CLI_USAGE;
            }
        }
        if (rc == CLI_OK) {
            int cols, rows;
            cli_term_size(&cols, &rows);
            char title[320], ylabel[100];
            snprintf(title, sizeof title, "f and its tangent line at %s = %.6g (slope by reverse mode)", var, X);
            snprintf(ylabel, sizeof ylabel, "f(%s)", var);
            cli_gp_var vars[] = {{"datafile", data, 0}, {"fmt", fmt, 0},      {"title", title, 0},
                                 {"xlabel", var, 0},    {"ylabel", ylabel, 0}, {"xmin", NULL, A},
                                 {"xmax", NULL, B},     {"cols", NULL, cols},
                                 {"rows", NULL, rows},  {"outfile", out ? out : "", 0}};
            rc = cli_gnuplot_run(CMD, gnuplot, script, (int)(sizeof vars / sizeof vars[0]), vars);
            if (rc == CLI_OK && out) printf("chart: %s (data: %s)\n", out, data);
        }
        if (*tmp) cli_rmdir_tree(tmp);
    }
    ad_scope_end(ctx, s, NULL);
    cli_fn_close(&fn);
    ad_ctx_free(ctx);
    return rc;
}
