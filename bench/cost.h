/* bench/cost.h — the cost model (ad_bench_cost_*): how many evaluations
 * of f a derivative or a gradient check takes, by backend class, and the
 * guard's decision whether a run estimated at evals x one evaluation's
 * time may start.  The program's guards (cli/guard.c) measure one
 * evaluation and ask this model before `grad` and `check` start, so that
 * forward mode or a full check at n = 1e6 is refused with a hint instead of
 * running for hours.  Counts are "evaluation equivalents": a forward pass
 * carrying k tangents counts 1 + k, a reverse sweep 2. */
#ifndef ADSCOPE_BENCH_COST_H
#define ADSCOPE_BENCH_COST_H

#include <adscope.h>
#include <stdbool.h>
#include <stdint.h>

/* Evaluations a gradient (m == 1) or an m x n Jacobian of n inputs costs
 * with backend b and options o (NULL: defaults):
 *   reverse (a VJP primitive)      1 + 2m      (one recorded pass, m sweeps)
 *   forward (JVP through rules)    ceil(n/k)(1 + k), k the width (1, or
 *                                  ad_options.width / 8 for VECTOR backends)
 *   a difference rule of p points  n·p, twice with the error estimate
 *   other difference backends      8·n·m       (gsl_deriv_central per entry)
 * NAN when n or m is negative. */
double ad_bench_cost_evals(const ad_backend *b, const ad_options *o, int64_t n, int64_t m);

/* Evaluations a full gradient check of n inputs and m outputs costs
 * (ad_gradcheck with o): the reference Jacobian, every exact backend's
 * Jacobian, the kink probes (4 per coordinate) and the Taylor and
 * consistency tests; with o->fast the directions replace the n
 * coordinates. */
double ad_bench_cost_check_evals(const ad_gradcheck_options *o, int64_t n, int64_t m);

/* The guard's decision: true when evals x t_eval seconds exceeds limit
 * seconds (NAN estimates are refused too; a non-positive limit refuses
 * nothing). */
bool ad_bench_cost_over(double evals, double t_eval, double limit);

#endif
