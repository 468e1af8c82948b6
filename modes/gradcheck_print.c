/* modes/gradcheck_print.c — the gradient checker's report for people: a
 * verdict, one line per backend, and only on failure the mismatching
 * entries (worst first, capped, with a count of the rest); the kinks, the
 * identity, the Taylor order and the second-order line.  Whole Jacobians
 * are never printed. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck_impl.h"

#define KINKS_SHOWN 10

/* %.*g, with NaN and infinities spelled the same on every C library */
static const char *num(char *buf, size_t n, double v, int digits)
{
    if (isnan(v)) snprintf(buf, n, "nan");
    else if (isinf(v)) snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else snprintf(buf, n, "%.*g", digits, v);
    return buf;
}

static const char *index_str(char *buf, size_t n, int ndim, const int64_t *idx)
{
    if (ndim == 0) {
        snprintf(buf, n, "[]");
        return buf;
    }
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++) {
        int w = snprintf(buf + k, n - k, d ? ",%lld" : "%lld", (long long)idx[d]);
        if (w > 0) k += (size_t)w;
    }
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* The input's name ("in0" without names), or "dir0" for fast mode's
 * entries along random direction 0 */
static const char *input_str(char *buf, size_t n, int input, const char *const *names)
{
    if (input < 0) snprintf(buf, n, "dir%d", -input - 1);
    else if (names && names[input]) snprintf(buf, n, "%s", names[input]);
    else snprintf(buf, n, "in%d", input);
    return buf;
}

static void print_inputs(FILE *f, const ad_problem *p, const char *const *names)
{
    if (!p || !p->in || p->nin <= 0 || p->nin > AD_MAX_INPUTS) return;
    fprintf(f, "  inputs:");
    for (int i = 0; i < p->nin; i++) {
        if (!p->in[i]) continue;
        char s[AD_SHAPEBUF];
        char nm[64];
        fprintf(f, "%s %s %s%s", i ? "," : "", input_str(nm, sizeof nm, i, names),
                ad_fmt_shape(s, sizeof s, p->in[i]->ndim, p->in[i]->shape),
                p->wrt && !p->wrt[i] ? " (held constant)" : "");
    }
    fprintf(f, "\n");
}

static void print_backends(FILE *f, const ad_gradcheck_report *r)
{
    char a[48], b[48], mm[48];
    if (r->nbackends > 0)
        fprintf(f, "  %-16s  %-6s  %11s  %11s  %12s  %s\n", "backend", "status", "max abs err", "max rel err",
                "mismatches", "note");
    for (int i = 0; i < r->nbackends; i++) {
        const ad_gradcheck_backend *bl = &r->backends[i];
        snprintf(mm, sizeof mm, "%lld/%lld", (long long)bl->mismatches, (long long)bl->checked);
        char inc[48] = "";
        if (bl->inconclusive > 0) snprintf(inc, sizeof inc, " (%lld inconclusive)", (long long)bl->inconclusive);
        fprintf(f, "  %-16s  %-6s  %11s  %11s  %12s  %s%s%s\n", bl->name,
                bl->not_applicable ? "n/a" : bl->passed ? "ok" : "FAILED", num(a, sizeof a, bl->max_abs_err, 3),
                num(b, sizeof b, bl->max_rel_err, 3), mm, bl->note, bl->nonfinite ? " (NaN/Inf)" : "", inc);
    }
}

/* The mismatching entries only, worst first, capped with a count of the rest. */
static void print_rows(FILE *f, const ad_gradcheck_report *r, const char *const *names)
{
    char a[48], b[48], c[48], d[48], ix[160], in[16];
    if (r->nmismatches <= 0 || r->nrows <= 0) return;
    fprintf(f, "  mismatching entries, worst first (|AD - numeric| against its tolerance):\n");
    fprintf(f, "  %-16s %-6s %-14s %14s %14s %10s %10s\n", "backend", "input", "index", "AD value", "numeric",
            "abs err", "rel err");
    for (int i = 0; i < r->nrows; i++) {
        const ad_gradcheck_entry *e = &r->rows[i];
        fprintf(f, "  %-16s %-6s %-14s %14s %14s %10s %10s\n", e->backend ? e->backend : "?",
                input_str(in, sizeof in, e->input, names), index_str(ix, sizeof ix, e->ndim, e->index),
                num(a, sizeof a, e->analytic, 8), num(b, sizeof b, e->numeric, 8), num(c, sizeof c, e->abs_err, 3),
                num(d, sizeof d, e->rel_err, 3));
    }
    if (r->nmismatches > r->nrows)
        fprintf(f, "  ... and %lld more mismatching entr%s\n", (long long)(r->nmismatches - r->nrows),
                r->nmismatches - r->nrows == 1 ? "y" : "ies");
}

/* Entries the reference could not judge: why, and how accurate it got. */
static void print_inconclusive(FILE *f, const ad_gradcheck_report *r, const char *const *names)
{
    char a[48], b[48], c[48], ix[160], in[16];
    if (r->ninconclusive <= 0) return;
    fprintf(f, "  inconclusive entries (the reference's bound is above the tolerance there):\n");
    fprintf(f, "  %-16s %-6s %-14s %14s %14s %10s  %s\n", "backend", "input", "index", "AD value", "numeric", "bound",
            "why");
    for (int i = 0; i < r->ninconclusive_rows; i++) {
        const ad_gradcheck_entry *e = &r->inconclusive[i];
        fprintf(f, "  %-16s %-6s %-14s %14s %14s %10s  %s\n", e->backend ? e->backend : "?",
                input_str(in, sizeof in, e->input, names), index_str(ix, sizeof ix, e->ndim, e->index),
                num(a, sizeof a, e->analytic, 8), num(b, sizeof b, e->numeric, 8), num(c, sizeof c, e->estimate, 3),
                e->why ? e->why : "");
    }
    if (r->ninconclusive > r->ninconclusive_rows)
        fprintf(f, "  ... and %lld more\n", (long long)(r->ninconclusive - r->ninconclusive_rows));
}

static void print_kinks(FILE *f, const ad_gradcheck_report *r, const char *const *names)
{
    char a[48], b[48], c[48], ix[160], in[16];
    if (r->nkinks <= 0) return;
    fprintf(f, "  kinks (f is not differentiable there; a value between the one-sided slopes is a subgradient):\n");
    for (int i = 0; i < r->nkinks && i < KINKS_SHOWN; i++) {
        const ad_gradcheck_kink *k = &r->kinks[i];
        fprintf(f, "  %-6s %-14s left %-12s right %-12s AD %-12s %s\n", input_str(in, sizeof in, k->input, names),
                index_str(ix, sizeof ix, k->ndim, k->index), num(a, sizeof a, k->left, 6),
                num(b, sizeof b, k->right, 6), num(c, sizeof c, k->analytic, 6),
                k->accepted ? "accepted" : "OUTSIDE the interval");
    }
    if (r->nkinks > KINKS_SHOWN) fprintf(f, "  ... and %d more kinks\n", r->nkinks - KINKS_SHOWN);
}

/* The checks without step sizes, the second order and the reference's cost. */
static void print_checks(FILE *f, const ad_gradcheck_report *r)
{
    char a[48], b[48], c[48];
    if (r->consistency_note[0]) fprintf(f, "  consistency: %s\n", r->consistency_note);
    if (r->taylor_note[0]) fprintf(f, "  Taylor: %s\n", r->taylor_note);
    if (r->consistency_done)
        fprintf(f, "  consistency: <v, J u> = %s, <J^T v, u> = %s (rel err %s): %s\n",
                num(a, sizeof a, r->consistency_lhs, 17), num(b, sizeof b, r->consistency_rhs, 17),
                num(c, sizeof c, r->consistency_rel_err, 2), r->consistency_passed ? "ok" : "FAILED");
    if (r->taylor_done && r->taylor_npoints >= 3 && !isnan(r->taylor_order)) {
        fprintf(f, "  Taylor: |f(x+hv) - f(x) - h J v| ~ h^%.2f over %d steps (h %s .. %s), expected h^2: %s\n",
                r->taylor_order, r->taylor_npoints, num(a, sizeof a, r->taylor_h[0], 2),
                num(b, sizeof b, r->taylor_h[r->taylor_npoints - 1], 2), r->taylor_passed ? "ok" : "FAILED");
    } else if (r->taylor_done) {
        fprintf(f, "  Taylor: %s\n", r->taylor_passed ? "remainder at rounding level for every step (f is linear "
                                                        "along v): ok"
                                                      : "the derivative along v is not finite: FAILED");
    } else if (r->nkinks > 0) {
        fprintf(f, "  Taylor: not applicable (f has kinks at x)\n");
    }
    if (r->hvp_done)
        fprintf(f, "  second order: H v (forward over reverse) vs differences of gradients, max abs err %s, max rel "
                   "err %s: %s\n",
                num(a, sizeof a, r->hvp_max_abs_err, 3), num(b, sizeof b, r->hvp_max_rel_err, 3),
                r->hvp_passed ? "ok" : "FAILED");
    fprintf(f, "  reference: %lld evaluations of f, %.3g s; f's measured noise up to %s\n",
            (long long)r->reference_stats.passes, r->reference_stats.seconds, num(a, sizeof a, r->noise_max, 2));
    if (r->reference_note[0]) fprintf(f, "  reference: %s\n", r->reference_note);
}

int ad_gradcheck_print(FILE *f, const ad_gradcheck_report *r, const ad_problem *p, const char *const *names)
{
    if (!f || !r) return AD_EINVAL;
    fprintf(f, "gradcheck: %s\n", r->summary[0] ? r->summary : "(not run)");
    print_inputs(f, p, names);
    print_backends(f, r);
    if (r->nonfinite) fprintf(f, "  non-finite: %s\n", r->nonfinite_what);
    print_rows(f, r, names);
    print_inconclusive(f, r, names);
    print_kinks(f, r, names);
    print_checks(f, r);
    return ferror(f) ? AD_EIO : AD_OK;
}
