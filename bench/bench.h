/* bench/bench.h — the complexity harness (ad_bench_*): the standard suite,
 * size lists, the sweep of cells (function × backend × size) with adaptive
 * repetitions and a time budget, the system description, the fitted
 * exponents beside theory, the summary and the progress line.
 *
 *     ad_bench_config c;
 *     ad_bench_config_defaults(&c, false);
 *     c.nfns = 1; c.fns = (const ad_bench_fn *[]){ad_bench_suite_find("expsin")};
 *     ad_bench_table t;
 *     ad_bench_table_init(&t, AD_BENCH_NCOLS, ad_bench_columns);
 *     ad_bench_run(ctx, &c, &t, err, sizeof err);   // one row per cell
 *     ad_bench_series *s; int ns;
 *     ad_bench_summarize(&t, &s, &ns);              // fits and flags
 *     ad_bench_summary_print(stdout, s, ns);
 *
 * The columns of the result table, the suite, the theory table, the fit
 * range and the flagging rule are documented in bench/README.md. */
#ifndef ADSCOPE_BENCH_H
#define ADSCOPE_BENCH_H

#include <adscope.h>
#include <stdio.h>

#include "csv.h"
#include "fit.h"

/* ---- the result table's columns (bench/README.md, in this order) -------------- */

#define AD_BENCH_NCOLS 33
extern const char *const ad_bench_columns[AD_BENCH_NCOLS];

/* ---- backend classes and the exponents theory predicts ---------------------------- */

typedef enum ad_bench_class {
    AD_BENCH_REVERSE,          /* has a VJP primitive: one recorded pass, one sweep per output row */
    AD_BENCH_FORWARD,          /* JVP through the ops' rules: one pass per direction (or per k) */
    AD_BENCH_DIFF,             /* differences: a stencil of evaluations per direction */
    AD_BENCH_CHECKPOINT,       /* a VJP with checkpoints (AD_CAP_CHECKPOINT): reverse, recomputing an iterated map's states */
    AD_BENCH_NCLASS
} ad_bench_class;

ad_bench_class ad_bench_class_of(const ad_backend *b);
const char *ad_bench_class_name(ad_bench_class c); /* "reverse", "forward", "differences", "checkpoint" */

/* ---- functions ------------------------------------------------------------------------- */

/* Inputs a function may have (the drivers' limit). */
#define AD_BENCH_MAX_INPUTS 64

typedef struct ad_bench_fn ad_bench_fn;
struct ad_bench_fn {
    const char *name;      /* the CSV's "function" */
    const char *size_name; /* "n", "k" or "m" */
    const char *definition;
    bool jacobian;         /* the derivative is a Jacobian (false: a gradient) */
    bool auto_kind;        /* custom functions: gradient if f returns one value, else Jacobian */
    ad_fn f;
    void *user;            /* passed to f and to the callbacks */
    /* The inputs at a size: fills in[0..nin) with new references and wrt[];
     * returns nin (>= 1), or a negative status with the reason in ctx. */
    int (*make_inputs)(const ad_bench_fn *fn, ad_ctx *ctx, int64_t size, ad_tensor **in, bool *wrt);
    /* The analytic derivative of the (single) differentiated input: the
     * gradient (its shape) or the Jacobian (value.shape + input.shape).
     * NULL: errors are measured against five-point differences. */
    ad_tensor *(*exact)(const ad_bench_fn *fn, ad_ctx *ctx, ad_tensor *const *in, int64_t size);
    /* Exponent of size predicted for T_f (a plain evaluation), and for
     * T_grad and peak bytes per backend class; NAN: no prediction. */
    double theory_eval;
    double theory_time[AD_BENCH_NCLASS], theory_mem[AD_BENCH_NCLASS];
    const char *sizes;       /* the default sweep (ad_bench_parse_sizes syntax) */
    const char *quick_sizes; /* the sweep of --quick */
};

/* The standard suite: rosenbrock, expsin, mlp, softmax_ce, chain, broadcast. */
int ad_bench_suite_count(void);
const ad_bench_fn *ad_bench_suite_at(int i);
const ad_bench_fn *ad_bench_suite_find(const char *name);

/* The GradBench evals as harness functions, "gb:llsq", "gb:lse", "gb:det",
 * "gb:ode", "gb:kmeans", "gb:gmm", "gb:lstm", "gb:ht"
 * (bench/gradbench/sweep.c): not counted in the
 * suite nor in "all", but ad_bench_suite_find finds them too. */
int ad_bench_gradbench_count(void);
const ad_bench_fn *ad_bench_gradbench_at(int i);
const ad_bench_fn *ad_bench_gradbench_find(const char *name);

/* The deterministic input x_i = 0.5 + 0.4·sin(i+1), i = 0..n-1. */
ad_tensor *ad_bench_input(ad_ctx *ctx, int64_t n);

/* Theory for (function, backend class): the suite's table.  fn == NULL
 * (or a custom fn) means a custom function whose evaluation was measured to
 * cost size^eval_exponent (NAN if unknown): a gradient's time is predicted
 * as eval_exponent for reverse, eval_exponent + 1 for the others; a custom
 * Jacobian's is not (jacobian true), nor is a custom function's memory.
 * Outputs are NAN where nothing is predicted. */
void ad_bench_theory(const ad_bench_fn *fn, ad_bench_class c, bool jacobian, double eval_exponent, double *time,
                     double *mem);

/* ---- sizes ---------------------------------------------------------------------------------- */

/* Parses "10,100,1000", a range "10:1e6:x10" (multiply by a factor > 1,
 * rounded to integers) or "1:1000:+100" (add a step), or a comma list
 * mixing both ("1:10:+1,20,50").  Sizes are integers in [1, 1e9], returned
 * sorted ascending without duplicates in a malloc'ed array (*out, *n).
 * Returns 0, or -1 with a message naming the offending part in err. */
int ad_bench_parse_sizes(const char *spec, int64_t **out, int *n, char *err, size_t errn);

/* ---- the sweep ------------------------------------------------------------------------------------ */

typedef enum { AD_BENCH_OK, AD_BENCH_SKIPPED, AD_BENCH_FAILED } ad_bench_status;
const char *ad_bench_status_name(ad_bench_status s);

/* One measured cell (function, backend, size). */
typedef struct ad_bench_cell {
    const char *function, *backend, *size_name;
    int64_t size;
    bool jacobian;
    ad_bench_status status;
    int reps;                  /* timed repetitions of the derivative */
    double t_f[3];             /* min, median, max of a plain evaluation (NAN: not measured) */
    double t_grad[3];          /* min, median, max of the derivative (NAN: not measured) */
    bool have_stats;
    ad_stats st;               /* of one timed call */
    int64_t peak_rss;          /* bytes, after the cell (-1: unknown) */
    double max_abs_err, max_rel_err; /* NAN: not measured */
    const char *err_reference; /* "analytic", the reference backend's name, or "" */
    char note[512];
    int rounds;                /* interleaved rounds its times come from */
    double t_f_best, t_f_spread;       /* min of the rounds' medians of T_f; their median / min - 1 (NAN: < 2 rounds) */
    double t_grad_best, t_grad_spread; /* the same of T_grad */
} ad_bench_cell;

/* What the progress callback is told: before a cell (cell == NULL) and
 * after it. */
typedef struct ad_bench_progress {
    int64_t done, total;  /* cells finished, cells of this run (this shard) */
    const char *function, *backend, *size_name;
    int64_t size;
    const ad_bench_cell *cell; /* NULL: the cell is starting */
    double elapsed;            /* seconds since the sweep began */
    double eta;                /* estimated seconds left (NAN: unknown yet) */
} ad_bench_progress;
typedef void (*ad_bench_progress_fn)(void *ud, const ad_bench_progress *p);

typedef struct ad_bench_config {
    int nfns;
    const ad_bench_fn *const *fns;
    int nbackends;
    const ad_backend *const *backends;
    const int64_t *sizes; /* every function's sweep (NULL: each function's own) */
    int nsizes;
    bool quick;           /* the functions' quick sweeps */
    int min_reps;         /* at least this many timed repetitions ... */
    double min_time;      /* ... and at least this many seconds of them ... */
    int max_reps;         /* ... but never more repetitions than this */
    double budget;        /* seconds a cell may take (see README: prediction and skipping) */
    int rounds;           /* the repetitions of a (function, size) run in this many interleaved rounds */
    int shard, nshards;   /* run only the series with (series index mod nshards) == shard */
    ad_options opts;      /* passed to every driver */
    ad_bench_progress_fn progress;
    void *progress_ud;
    /* Called with each row r of out as soon as it is appended (NULL: not
     * called), so that a caller can write it at once: a crash or an
     * interrupt then keeps what was measured.  A non-zero return stops
     * the run (ad_bench_run returns -1). */
    int (*row)(void *ud, const ad_bench_table *out, int64_t r);
    void *row_ud;
} ad_bench_config;

/* A series whose first size is above this is first probed, unrecorded, at
 * this size, x10, ... below it, so that its first size is predicted from a
 * measured one and skipped when over the budget (bench/README.md). */
#define AD_BENCH_PROBE_SIZE 1000

/* Defaults: normal runs min_reps 3, min_time 0.1 s, max_reps 1000, budget
 * 2 s, 5 rounds; quick runs min_time 0.01 s, budget 0.5 s, 5 rounds. */
void ad_bench_config_defaults(ad_bench_config *c, bool quick);

/* A cell of the plan: indices into cfg->fns and cfg->backends, and the size. */
typedef struct ad_bench_planned {
    int fn, backend;
    int64_t size;
    int series; /* fn * nbackends + backend: the unit given to shards */
} ad_bench_planned;

/* The cells this shard runs, in the order they run (per function: sizes
 * ascending, backends in order within a size).  Writes up to cap cells and
 * returns how many there are (call with cap 0 to count), or -1 with a
 * message in err (a bad sweep of a function). */
int64_t ad_bench_plan(const ad_bench_config *cfg, ad_bench_planned *cells, int64_t cap, char *err, size_t errn);

/* The shard that runs series j (whole function/backend series go to one
 * shard, so that each cell can be predicted from its smaller sizes). */
int ad_bench_shard_of(int series, int nshards);

/* Runs the plan: appends one row per cell to out (columns
 * ad_bench_columns).  Every cell runs inside a scope; nothing stays
 * allocated in ctx afterwards.  Returns the number of failed cells, or -1
 * with a message in err (bad configuration, out of memory). */
int ad_bench_run(ad_ctx *ctx, const ad_bench_config *cfg, ad_bench_table *out, char *err, size_t errn);

/* A cell as a row of ad_bench_columns strings (into bufs, each of size n). */
void ad_bench_cell_row(const ad_bench_cell *c, char bufs[AD_BENCH_NCOLS][128], const char *row[AD_BENCH_NCOLS]);

/* Median of n values (sorted in place). */
double ad_bench_median(double *v, int n);
/* Sorts v[0..n) ascending (min v[0], median v[n/2], max v[n-1]). */
void ad_bench_sort(double *v, int n);
/* Seconds on the monotonic clock (differences only). */
double ad_bench_now(void);

/* ---- timing in interleaved rounds (bench/rounds.c) ---------------------------------------------- */

/* The cells of one (function, size) — the plain evaluation and every
 * backend — are timed round-robin: round r times each of them a few times
 * before round r+1 starts, so a slow spell of the machine (another process
 * on the shared cores) falls on all of them alike, and each keeps the
 * median of every round.  Its robust time is the smallest round median (a
 * quiet round), its spread how much slower the median round was. */
#define AD_BENCH_MAX_ROUNDS 64

typedef struct ad_bench_timing {
    double *times;     /* every timed call, in order (cap entries) */
    int n, cap;
    double med[AD_BENCH_MAX_ROUNDS]; /* the median of each round */
    int rounds;
    double used;       /* seconds spent, warm-up included (the budget) */
    double total;      /* seconds of the timed calls */
    double last;       /* seconds of the latest call */
    bool cut;          /* the budget stopped it */
} ad_bench_timing;

/* The calls round `round` (0-based) of `nrounds` should time, from the
 * time a call takes now (t->last): what is left of cfg->min_time spread
 * over the rounds left, at least what min_reps needs, at most what leaves
 * each later round one call within max_reps; 0 when none fits. */
int ad_bench_round_reps(const ad_bench_config *cfg, const ad_bench_timing *t, int round, int nrounds);
/* Closes a round whose calls are times[first .. n): its median into med[]. */
void ad_bench_round_close(ad_bench_timing *t, int first);
/* min, median, max of every call; the best round median and the spread:
 * the median round median over the best, minus 1 (NAN below 2 rounds). */
void ad_bench_timing_stats(const ad_bench_timing *t, double out[3], double *best, double *spread);

/* A cell whose median round is this much slower than its best (spread)
 * is too noisy to judge: the fits leave it out (README: "Noise"). */
#define AD_BENCH_NOISE_LIMIT 0.5
bool ad_bench_too_noisy(double spread);

/* ---- the machine ------------------------------------------------------------------------------------- */

/* Peak resident set size of this process in bytes (getrusage), -1 if unknown. */
int64_t ad_bench_peak_rss(void);
/* Logical CPUs online. */
int ad_bench_cores(void);
/* The CPU's model name (/proc/cpuinfo), or "unknown". */
void ad_bench_cpu_model(char *buf, size_t n);
/* Adds the run's comment lines: adscope, date, machine, cpu, cores,
 * compiler, build, blas, seed, command.  0 or -1. */
int ad_bench_describe(ad_bench_table *t, uint64_t seed, const char *command);

/* ---- fits, theory and the summary ------------------------------------------------------------------------ */

/* The fit range of a series: cells with status ok whose median T_grad is
 * at least AD_BENCH_FLOOR_FACTOR times the series' smallest and at least
 * AD_BENCH_FLOOR_SECONDS, and whose median T_f is at least
 * AD_BENCH_FLOOR_FACTOR times the series' smallest T_f (README: "The fit"). */
#define AD_BENCH_FLOOR_FACTOR 4.0
#define AD_BENCH_FLOOR_SECONDS 10e-6
/* The memory fit uses the same cells; when the series' peak bytes grow
 * past AD_BENCH_MEM_FLOOR_FACTOR times their smallest value, it drops the
 * cells below that (and has no fit if fewer than AD_BENCH_MIN_FIT_POINTS
 * remain); when they never do, it keeps them all (memory that does not
 * grow, exponent ~0). */
#define AD_BENCH_MEM_FLOOR_FACTOR 4.0
/* Fits need at least this many points. */
#define AD_BENCH_MIN_FIT_POINTS 3
/* A fitted exponent disagrees with theory when its confidence interval,
 * slope ± t·se (t the Student quantile of AD_BENCH_CONFIDENCE with n - 2
 * degrees of freedom, from GSL), lies wholly outside theory ±
 * AD_BENCH_TOLERANCE: the tolerance is for what theory's asymptotic
 * exponent leaves out (caches, fixed costs), the interval for the noise
 * the fit measured. */
#define AD_BENCH_TOLERANCE 0.3
#define AD_BENCH_CONFIDENCE 0.99

typedef struct ad_bench_series {
    char function[256], backend[64], size_name[8]; /* cut to fit: the full names are in row first_row */
    int64_t first_row;     /* the series' first row in the summarised table */
    bool custom;           /* not a suite function */
    bool jacobian;
    int ncells, nok, nskipped, nfailed;
    int64_t largest;       /* largest ok size (0: none) */
    double ratio;          /* T_grad / T_f there */
    double floor;          /* seconds: the fit range's lower limit on T_grad */
    double floor_f;        /* seconds: its lower limit on T_f */
    double mem_floor;      /* bytes: the memory fit's lower limit (0: the time fit's cells) */
    ad_bench_fit time, mem;
    double theory_time, theory_mem; /* NAN: no prediction */
    double expect_time;    /* what the time fit is judged against: theory_time, shifted by how far the
                            * evaluation's fitted exponent is from its theory when that disagrees */
    ad_bench_fit eval;     /* log T_f against log size, over T_f >= FLOOR_FACTOR x its smallest */
    double theory_eval;
    bool flag_time, flag_mem;       /* disagreement with theory */
    int nnoisy;                     /* ok cells too noisy to judge, left out of the fits */
    double noise;                   /* the median T_grad spread of its ok cells (NAN: none) */
    double worst_abs, worst_rel;    /* over ok cells (NAN: none measured) */
    char err_reference[32];         /* the reference's name as the CSV says it ("" : none) */
} ad_bench_series;

/* True when fit (with at least AD_BENCH_MIN_FIT_POINTS points) disagrees
 * with a theory that is not NAN: its confidence interval excludes theory
 * ± AD_BENCH_TOLERANCE. */
bool ad_bench_disagrees(const ad_bench_fit *fit, double theory);

/* Groups a result table by (function, backend) in order of first
 * appearance, fits log T_grad and log peak_total against log size over the
 * fit range, looks up theory and flags disagreements.  *out is malloc'ed.
 * Returns 0, or -1 (a column missing, out of memory). */
int ad_bench_summarize(const ad_bench_table *t, ad_bench_series **out, int *n);

/* The summary table: one block per function (headed by the fitted
 * exponent of its plain evaluation), a line per backend.  Returns the
 * number of flagged exponents. */
int ad_bench_summary_print(FILE *f, const ad_bench_series *s, int n);

/* ---- progress ---------------------------------------------------------------------------------------------- */

/* A progress printer for ad_bench_config.progress: a bar updated in place
 * when tty, plain lines ("[12/84] expsin reverse n=1000: 0.21 ms, ratio 3.1")
 * otherwise. */
typedef struct ad_bench_progress_printer {
    FILE *f;
    bool tty;
    int last_len; /* characters of the bar now on screen */
} ad_bench_progress_printer;
void ad_bench_progress_print(void *printer, const ad_bench_progress *p);
/* Clears the bar (tty) before other output. */
void ad_bench_progress_done(ad_bench_progress_printer *pp);

/* "12.3 us", "4.56 ms", "1.23 s" */
const char *ad_bench_fmt_seconds(char *buf, size_t n, double s);

#endif
