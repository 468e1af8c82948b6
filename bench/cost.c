/* bench/cost.c — the cost model of a derivative and of a gradient check,
 * counted in evaluations of f, and the guard's decision (ad_bench_cost_*).
 * See cost.h for the table; the harness's own prediction (harness.c)
 * scales measured times instead, as it has them. */
#include "cost.h"

#include <math.h>
#include <string.h>

/* Directions per forward pass: 1, or the width of a VECTOR backend. */
static double width_of(const ad_backend *b, const ad_options *o, int64_t n)
{
    if (!(b->caps & AD_CAP_VECTOR)) return 1;
    int k = o && o->width > 0 ? o->width : ad_fwd_default_width(n); /* the driver's own default */
    return (double)(k < n ? k : (n > 0 ? n : 1));
}

double ad_bench_cost_evals(const ad_backend *b, const ad_options *o, int64_t n, int64_t m)
{
    if (!b || n < 0 || m < 0) return NAN;
    double dn = (double)n, dm = (double)m;
    if (b->vjp) return 1 + 2 * dm;
    const ad_fd_rule *r = ad_backend_fd_rule(b);
    if (r) return dn * r->npts * (o && o->no_error_estimate ? 1 : 2);
    if (b->caps & AD_CAP_DIFFERENCE) return 8 * dn * dm;
    double k = width_of(b, o, n);
    return ceil(dn / k) * (1 + k);
}

/* The reference's evaluations: a difference backend named by
 * o->reference, else gradcheck's own extrapolated reference, whose cost
 * ad_gradcheck_cost states (one model, kept beside the code it models). */
static double reference_evals(const ad_gradcheck_options *o, int64_t n, int64_t dirs, int64_t m)
{
    const ad_backend *named = o && o->reference ? ad_backend_find(o->reference) : NULL;
    if (named) return ad_bench_cost_evals(named, NULL, dirs, m);
    return (double)ad_gradcheck_cost(n, o && o->fast, o ? o->directions : 0);
}

double ad_bench_cost_check_evals(const ad_gradcheck_options *o, int64_t n, int64_t m)
{
    if (n < 0 || m < 0) return NAN;
    /* fast mode: each random direction costs what a coordinate does */
    int64_t dirs = o && o->fast ? (o->directions > 0 ? o->directions : 4) : n;
    double evals = reference_evals(o, n, dirs, m);
    for (int i = 0; i < ad_backend_count(); i++) {
        const ad_backend *b = ad_backend_at(i);
        if (b->caps & AD_CAP_EXACT) evals += ad_bench_cost_evals(b, NULL, dirs, m);
    }
    evals += 4.0 * (double)dirs + 64; /* kink probes; Taylor and consistency */
    if (o && o->second_order) evals *= 2;
    return evals;
}

bool ad_bench_cost_over(double evals, double t_eval, double limit)
{
    if (!(limit > 0)) return false;
    double s = evals * t_eval;
    return isnan(s) || s > limit;
}
