/* tests/helpers.h — shared by every test executable.
 *
 *   TH_CTX_FIXTURE            a context per test (ctx), checked for leaks at
 *                             the end: every tensor freed, 0 live bytes
 *   th_expect(t, shape, vals) element-by-element comparison with a message
 *   th_check_rules(...)       an op's JVP and VJP against central
 *                             differences, and HVP (forward over reverse)
 *                             against differences of gradients
 *   th_backend_params(...)    one ParameterizedTest case per registered
 *                             backend
 *   th_alloc                  a failing allocator hook: counts calls and
 *                             live bytes, fails the N-th allocation or
 *                             every one of a given size
 * and, through functions.h and files.h, the shared test functions
 * (th_rosenbrock, ...) and a temporary directory per test.
 */
#ifndef ADSCOPE_TEST_HELPERS_H
#define ADSCOPE_TEST_HELPERS_H

#include <adscope.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>

#include "files.h"
#include "functions.h"

extern ad_ctx *ctx;
void th_setup(void);
void th_teardown(void);   /* asserts no tensor and no byte is left */

/* Use as: TestSuite(name, .init = th_setup, .fini = th_teardown); */

/* Values of t in row-major order into a static buffer (up to 4096). */
const double *th_values(ad_tensor *t);
/* Shape of t as "[2,3]" (static buffer). */
const char *th_shape(ad_tensor *t);

/* Asserts t has exactly `shape` and values within atol + rtol·|expected|. */
void th_expect_impl(ad_tensor *t, ad_shape shape, const double *vals, double atol, double rtol, const char *file,
                    int line);
#define th_expect(t, shape, vals, atol, rtol) th_expect_impl((t), (shape), (vals), (atol), (rtol), __FILE__, __LINE__)
#define TH_V(...) ((const double[]){__VA_ARGS__})

/* A function of several tensors, as the op tests see it. */
typedef ad_tensor *(*th_fn)(ad_tensor *const *in, void *ud);

/* Checks the derivative rules behind f at the given inputs (copied, not
 * modified):
 *   JVP  (forward mode, random tangents)   vs central differences
 *   VJP  (reverse mode, random cotangent)  vs central differences, every
 *        input element, and vs the JVP through <u, J v> = <J^T u, v>
 *   HVP  (forward over reverse) of <u, f> vs differences of VJPs, when
 *        second_order is true
 * Differences use h = 1e-6·max(1,|x|); tol is relative to the scale of the
 * derivative.  Fails the current test with a message naming the check,
 * the input and the element. */
void th_check_rules_impl(th_fn f, void *ud, int nin, ad_tensor *const *in, double tol, bool second_order,
                         const char *what, const char *file, int line);
#define th_check_rules(f, ud, nin, in, tol, second_order) \
    th_check_rules_impl((f), (ud), (nin), (in), (tol), (second_order), #f, __FILE__, __LINE__)

/* ---- running the adscope program ------------------------------------------------ */

typedef struct th_result {
    int status; /* exit code, or 128 + signal */
    char out[1 << 18], err[1 << 16];
} th_result;

/* Runs the built adscope program with environment assignments env
 * ("NAME=VALUE", NULL-terminated, may be NULL) and args (NULL-terminated).
 * Both outputs are read as they come (poll), so neither can block the
 * other; COLUMNS=100 keeps terminal-width output stable.  The result is a
 * static buffer, overwritten by the next run. */
th_result *th_run_adscope(const char *const *env, const char *const *args);
#define th_run(...) th_run_adscope(NULL, (const char *const[]){__VA_ARGS__, NULL})
#define th_run_env(env, ...) th_run_adscope((const char *const[]){env, NULL}, (const char *const[]){__VA_ARGS__, NULL})
#define th_expect_out(r, s) \
    cr_expect(strstr((r)->out, s), "stdout lacks '%s':\n%s\nstderr:\n%s", s, (r)->out, (r)->err)
#define th_expect_err(r, s) cr_expect(strstr((r)->err, s), "stderr lacks '%s':\n%s", s, (r)->err)

/* ---- parameterized tests --------------------------------------------------------- */

/* Criterion hands a ParameterizedTest its parameter by copying bytes into
 * a new process of the same program, in which the runner's pointers mean
 * nothing: a parameter must hold values, never pointers (not even to
 * string literals).  So a backend is passed by name and found again with
 * ad_backend_find in the test. */
typedef struct th_backend_param {
    char name[32];
} th_backend_param;

/* Fills params[0..cap) with the names of the registered backends, in
 * registry order, and returns how many (at most cap).  Call it from a
 * ParameterizedTestParameters function with a static array, so that a
 * backend added to the registry is tested without editing any test. */
int th_backend_params(th_backend_param *params, int cap);
/* The backend a parameter names (asserts it exists). */
const ad_backend *th_backend_of(const char *name);

/* The value and every differentiated input's gradient of p by backend b,
 * as contiguous copies in out (value first, then the gradients in input
 * order); returns how many numbers it wrote.  th_answer_room allocates
 * room for them (the caller frees it).  For comparing backends number by
 * number (the replay tests: ==). */
int64_t th_value_and_grads(const ad_backend *b, const ad_problem *p, double *out);
double *th_answer_room(const ad_problem *p);
/* Expects got[i] == want[i] for every i < n, a NaN matching a NaN (the
 * same numbers; a zero's sign aside), with at most five failures reported
 * as "<what>: entry i is G, <want_name> W". */
void th_expect_same_numbers(const double *got, const double *want, int64_t n, const char *what, const char *want_name);

/* Deterministic "high-entropy" test values: x_i = offset + scale·sin(1.7i + 0.3). */
ad_tensor *th_vals(ad_shape shape, double offset, double scale);

/* ---- a failing allocator hook ------------------------------------------------- */

/* The state of th_alloc_hook (pass it as ad_ctx_options.alloc_ud): every
 * allocation is counted, live bytes tracked, and an allocation refused
 * when its number is fail_at or, for a fresh block, its size fail_size. */
typedef struct th_alloc {
    int64_t calls;     /* allocations and reallocations made (not frees, not fail_size refusals) */
    int64_t bytes;     /* live bytes: 0 again once everything is given back */
    int64_t fail_at;   /* refuse call number fail_at; -1: never */
    size_t fail_size;  /* refuse every fresh block of exactly this size; 0: never */
    int64_t failed;    /* how many were refused */
    int64_t seen_size; /* fresh blocks of fail_size asked for */
} th_alloc;

#define TH_ALLOC_INIT ((th_alloc){.fail_at = -1})

/* An ad_alloc_fn: realloc/free counted as above. */
void *th_alloc_hook(void *ud, void *ptr, size_t osize, size_t nsize);
/* Refuses the n-th allocation from now (n <= 0: none). */
void th_alloc_arm(th_alloc *h, int64_t n);

#endif
