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

const char CLI_HELP_FD_ERROR[] =
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

typedef struct {
    const char *backend; /* registry name */
    const char *legend;
    int order;           /* truncation error ~ h^order */
    int linetype;        /* plots/style.gp: the backend's colour in the bench charts */
    double err[NSTEPS];
    double h_auto, err_auto;
    int best;            /* index of the smallest error */
} rule;

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

/* The automatic step of a rule of order p along v, as modes/finite.c
 * (one_direction) computes it: h = eps^(1/(p+1))·max(1, max|x| on v's
 * support)/max|v|, and along a single coordinate moved so that x + h is
 * representable.  Replicated here (not read back from the backend, which
 * does not report it); the error at this step is the backend's own result
 * without a fixed h, so a drift between the two would show in the table. */
static double automatic_h(const cli_fn *fn, ad_tensor *const *v, int order)
{
    double vmax = 0, xmax = 1, xj = 0;
    int64_t nnz = 0;
    for (int i = 0; i < fn->nvars; i++) {
        if (!fn->wrt[i]) continue;
        const double *d = ad_data(v[i]), *x = ad_data(fn->values[i]);
        for (int64_t j = 0; j < ad_numel(v[i]); j++) {
            if (d[j] == 0) continue;
            nnz++;
            xj = x[j];
            if (fabs(d[j]) > vmax) vmax = fabs(d[j]);
            if (fabs(x[j]) > xmax) xmax = fabs(x[j]);
        }
    }
    if (nnz == 0) return NAN;
    double h = pow(DBL_EPSILON, 1.0 / (order + 1)) * xmax / vmax;
    if (nnz == 1 && vmax == 1) {
        volatile double moved = xj + h;
        if (moved - xj > 0) h = moved - xj;
    }
    return h;
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

static void write_data(FILE *f, const char *title, double deriv, double dfwd, double floor_, const rule *R, const double *hs)
{
    fprintf(f, "# adscope fd-error: %s\n", title);
    fprintf(f, "# derivative (reverse mode) = %.17g; forward mode = %.17g; AD error floor = %.3g\n", deriv, dfwd, floor_);
    fprintf(f, "# block 0: h and |D(h) - f'| of each rule; block 1: the automatic step of each rule, its error and\n"
               "# the rule's linetype; block 2: the AD error floor\n");
    fprintf(f, "h \"%s\" \"%s\" \"%s\"\n", R[0].legend, R[1].legend, R[2].legend);
    for (int i = 0; i < NSTEPS; i++) {
        fprintf(f, "%.6e", hs[i]);
        for (int r = 0; r < 3; r++) {
            /* a log axis has no place for 0 or a failed evaluation: a gap */
            if (R[r].err[i] > 0 && isfinite(R[r].err[i])) fprintf(f, " %.6e", R[r].err[i]);
            else fprintf(f, " NaN");
        }
        fputc('\n', f);
    }
    fprintf(f, "\n\n");
    cli_gp_title_line(f, "automatic step h of each rule");
    for (int r = 0; r < 3; r++) {
        double e = R[r].err_auto > 0 && isfinite(R[r].err_auto) ? R[r].err_auto : NAN;
        fprintf(f, "%.6e %.6e %d\n", R[r].h_auto, e, R[r].linetype);
    }
    fprintf(f, "\n\n");
    char legend[160];
    snprintf(legend, sizeof legend, "AD error floor %.1e = max(|fwd - rev|, eps |f'|)", floor_);
    cli_gp_title_line(f, legend);
    fprintf(f, "%.6e %.6e\n%.6e %.6e\n", H_MIN, floor_, H_MAX, floor_);
}

int cmd_fd_error(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, CMD, OPTS, (int)(sizeof OPTS / sizeof OPTS[0]), argc, argv, 2);
    if (rc != CLI_OK) return rc;
    if (cli_has(&a, "help")) return cli_help_of(CMD);
    const char *dir = cli_get(&a, "direction") ? cli_get(&a, "direction") : "e0";
    if (strcmp(dir, "e0") != 0 && strcmp(dir, "random") != 0) {
        fprintf(stderr, "adscope %s: --direction must be e0 or random, not '%s'\n", CMD, dir);
        return CLI_USAGE;
    }
    const char *out = cli_get(&a, "out"), *format = cli_get(&a, "format"), *fmt = NULL;
    bool draw;
    char gnuplot[CLI_PATH_MAX], script[CLI_PATH_MAX];
    if (cli_chart_setup(CMD, "fd_error", out, format, &draw, &fmt, gnuplot, sizeof gnuplot, script, sizeof script) != CLI_OK)
        return CLI_USAGE;
    ad_ctx *ctx = cli_ctx_new(&a, &rc);
    if (!ctx) return rc;
    ad_scope s = ad_scope_begin(ctx);
    cli_fn fn;
    rc = cli_fn_open(&fn, ctx, &a);
    ad_tensor *v[CLI_MAX_VARS] = {0}, *grad[CLI_MAX_VARS] = {0}, *y = NULL, *jv = NULL;
    char where[512] = "", dname[300] = "";
    if (rc == CLI_OK) {
        bool prev = ad_set_grad_enabled(ctx, false);
        y = fn.problem.f(ctx, fn.problem.in, fn.problem.user);
        ad_set_grad_enabled(ctx, prev);
        if (!y) {
            cli_report_error(&fn, CMD);
            rc = CLI_USAGE;
        } else if (ad_numel(y) != 1) {
            char sh[128];
            ad_shape ys = ad_shape_of(y);
            ad_shape_str(&ys, sh, sizeof sh);
            fprintf(stderr, "adscope %s: %s must be a scalar, but its value has shape %s (reduce it, e.g. sum(...))\n",
                    CMD, fn.label, sh);
            rc = CLI_USAGE;
        }
    }
    if (rc == CLI_OK) rc = make_direction(&fn, strcmp(dir, "random") == 0, v, where, sizeof where, dname, sizeof dname);
    double deriv = NAN, dfwd = NAN;
    if (rc == CLI_OK) {
        if (ad_value_and_grad(ad_backend_find("reverse"), &fn.problem, NULL, NULL, grad, NULL, NULL) != AD_OK ||
            ad_jvp(ad_backend_find("forward"), &fn.problem, v, NULL, NULL, &jv, NULL, NULL) != AD_OK) {
            cli_report_error(&fn, CMD);
            rc = CLI_USAGE;
        } else {
            deriv = dot_all(&fn, grad, v);
            dfwd = ad_item(jv);
        }
    }
    rule R[3] = {{"forward-diff", "forward-diff: O(h)", 1, 5, {0}, 0, 0, 0},
                 {"central", "central: O(h^2)", 2, 4, {0}, 0, 0, 0},
                 {"five-point", "five-point: O(h^4)", 4, 6, {0}, 0, 0, 0}};
    double hs[NSTEPS];
    for (int i = 0; i < NSTEPS; i++) hs[i] = pow(10.0, log10(H_MIN) + (log10(H_MAX) - log10(H_MIN)) * i / (NSTEPS - 1));
    char failure[512] = "";
    int nfailed = 0;
    for (int r = 0; rc == CLI_OK && r < 3; r++) {
        const ad_backend *b = ad_backend_find(R[r].backend);
        R[r].best = -1;
        for (int i = 0; i < NSTEPS; i++) {
            double d = difference(&fn, b, v, hs[i], failure, sizeof failure);
            R[r].err[i] = fabs(d - deriv);
            if (isnan(d)) nfailed++;
            if (!isnan(R[r].err[i]) && (R[r].best < 0 || R[r].err[i] < R[r].err[R[r].best])) R[r].best = i;
        }
        R[r].h_auto = automatic_h(&fn, v, R[r].order);
        R[r].err_auto = fabs(difference(&fn, b, v, 0, failure, sizeof failure) - deriv);
    }
    double floor_ = fmax(fabs(dfwd - deriv), DBL_EPSILON * fabs(deriv));
    char title[1200];
    snprintf(title, sizeof title, "difference error vs step h: %s of %.50s%s at %s", dname, fn.label,
             strlen(fn.label) > 50 ? "..." : "", where);
    if (rc == CLI_OK) {
        printf("%s: %s of %s at %s (direction %s)\n", CMD, dname, fn.label, where,
               strcmp(dir, "random") == 0 ? "random, unit length" : "e0");
        printf("  derivative (reverse mode)  %.17g\n", deriv);
        printf("  forward mode differs by    %.3g\n", fabs(dfwd - deriv));
        printf("  AD error floor             %.3g  (max of |forward - reverse| and eps*|f'|)\n\n", floor_);
        printf("  %-13s %5s  %-10s %-12s %-12s %-12s\n", "rule", "order", "best h", "its error", "automatic h",
               "its error");
        for (int r = 0; r < 3; r++) {
            if (R[r].best < 0) {
                printf("  %-13s %5d  (every step failed)\n", R[r].backend, R[r].order);
                continue;
            }
            printf("  %-13s %5d  %-10.2e %-12.2e %-12.3e %-12.2e\n", R[r].backend, R[r].order, hs[R[r].best],
                   R[r].err[R[r].best], R[r].h_auto, R[r].err_auto);
        }
        printf("\n  steps: %d from %g to %g; best h ~ eps^(1/(p+1)): %.1e, %.1e, %.1e\n", NSTEPS, H_MIN, H_MAX,
               pow(DBL_EPSILON, 0.5), pow(DBL_EPSILON, 1.0 / 3), pow(DBL_EPSILON, 0.2));
        for (int r = 0; r < 3; r++) {
            int nzero = 0;
            for (int i = 0; i < NSTEPS; i++) nzero += R[r].err[i] == 0;
            if (nzero)
                printf("  %s is exact (error 0) at %d of the steps: not drawn on the log scale\n", R[r].backend, nzero);
        }
        if (nfailed) printf("  %d evaluations failed (gaps in the chart): %s\n", nfailed, failure);
        if (!draw) printf("  (the chart: add --out fd_error.png, or --format dumb to draw it here)\n");
    }
    if (rc == CLI_OK && draw) {
        char data[CLI_PATH_MAX], tmp[CLI_PATH_MAX] = "";
        if (out) {
            cli_replace_ext(data, sizeof data, out, ".dat");
        } else if ((rc = cli_tmpdir(CMD, tmp, sizeof tmp)) == CLI_OK) {
            if (snprintf(data, sizeof data, "%s/fd_error.dat", tmp) >= (int)sizeof data) data[0] = '\0';
        }
        FILE *f = rc == CLI_OK ? fopen(data, "w") : NULL;
        if (rc == CLI_OK && !f) {
            fprintf(stderr, "adscope %s: cannot write %s\n", CMD, data);
            rc = CLI_USAGE;
        }
        if (f) {
            write_data(f, title, deriv, dfwd, floor_, R, hs);
            if (fclose(f) != 0) {
                fprintf(stderr, "adscope %s: cannot write %s\n", CMD, data);
                rc = CLI_USAGE;
            }
        }
        if (rc == CLI_OK) {
            int cols, rows;
            cli_term_size(&cols, &rows);
            cli_gp_var vars[] = {{"datafile", data, 0}, {"fmt", fmt, 0},        {"title", title, 0},
                                 {"cols", NULL, cols},  {"rows", NULL, rows},   {"outfile", out ? out : "", 0}};
            rc = cli_gnuplot_run(CMD, gnuplot, script, (int)(sizeof vars / sizeof vars[0]), vars);
            if (rc == CLI_OK && out) printf("  chart: %s (data: %s)\n", out, data);
        }
        if (*tmp) cli_rmdir_tree(tmp);
    }
    ad_scope_end(ctx, s, NULL);
    cli_fn_close(&fn);
    ad_ctx_free(ctx);
    return rc;
}
