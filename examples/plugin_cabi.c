/* examples/plugin_cabi.c — plain C functions over arrays for the adscope
 * command line (--abi c): the kind of code AD cannot see into, whose
 * hand-written derivatives are checked against finite differences.
 *
 *     cc -shared -fPIC -o plugin_cabi.so plugin_cabi.c -lm
 *     adscope grad  --plugin ./plugin_cabi.so:objective --abi c --var x='linspace(-1,1,5)'
 *     adscope check --plugin ./plugin_cabi.so:objective --abi c \
 *                   --grad-symbol objective_grad_wrong --var x='linspace(-1,1,5)'
 *     adscope check --plugin ./plugin_cabi.so:expfit --abi c \
 *                   --jacobian-symbol expfit_jacobian --var x='[2.5, 0.7, 0.3]'
 *
 * The contract (adscope/blackbox.h; no adscope header is needed):
 *   SYMBOL          double SYMBOL(const double *x, size_t n, void *user)     a scalar f
 *                   int SYMBOL(const double *x, size_t n, double *out, size_t m, void *user)
 *                                                 a vector f, when the plugin also exports
 *   SYMBOL_outputs  size_t SYMBOL_outputs(size_t n): m for an x of n elements
 *                   (or give --outputs M on the command line);
 *   a gradient      void G(const double *x, size_t n, double *grad, void *user)   --grad-symbol G
 *   a Jacobian      int J(const double *x, size_t n, double *jac, void *user)     --jacobian-symbol J
 *                   (m×n, row-major: jac[i*n + j] = ∂out_i/∂x_j);
 *   SYMBOL_inputs   (optional) the name of x for --var, as for tensor plugins.
 * int results: 0 on success, anything else is a failure.  user is NULL
 * from the command line. */
#include <math.h>
#include <stddef.h>

/* ---- a scalar objective -------------------------------------------------------
 * f(x) = Σ_i x_i²/2 + Σ_{i<n-1} sin(x_i)·x_{i+1}
 * ∂f/∂x_i = x_i + cos(x_i)·x_{i+1} [i < n-1] + sin(x_{i-1}) [i > 0]          */

const char *objective_inputs = "x";

double objective(const double *x, size_t n, void *user);
void objective_grad(const double *x, size_t n, double *grad, void *user);
void objective_grad_wrong(const double *x, size_t n, double *grad, void *user);
void objective_grad_slip(const double *x, size_t n, double *grad, void *user);

double objective(const double *x, size_t n, void *user)
{
    (void)user;
    double f = 0;
    for (size_t i = 0; i < n; i++) f += 0.5 * x[i] * x[i];
    for (size_t i = 0; i + 1 < n; i++) f += sin(x[i]) * x[i + 1];
    return f;
}

void objective_grad(const double *x, size_t n, double *grad, void *user)
{
    (void)user;
    for (size_t i = 0; i < n; i++) {
        grad[i] = x[i];
        if (i + 1 < n) grad[i] += cos(x[i]) * x[i + 1];
        if (i > 0) grad[i] += sin(x[i - 1]);
    }
}

/* The classic slip: the term of x_i as the *second* factor is forgotten
 * in the last element only. */
void objective_grad_wrong(const double *x, size_t n, double *grad, void *user)
{
    objective_grad(x, n, grad, user);
    if (n > 1) grad[n - 1] -= sin(x[n - 2]);
}

/* A slip of 1e-7 relative in element 2: below what eyes catch. */
void objective_grad_slip(const double *x, size_t n, double *grad, void *user)
{
    objective_grad(x, n, grad, user);
    if (n > 2) grad[2] *= 1 + 1e-7;
}

/* ---- residuals of a fit, with their Jacobian -------------------------------------
 * x = (a, b, c), model a·exp(-b t) + c at t_j = j/2, data d_j:
 * out_j = a·exp(-b t_j) + c - d_j
 * ∂out_j/∂a = exp(-b t_j), ∂out_j/∂b = -a t_j exp(-b t_j), ∂out_j/∂c = 1 */

#define EXPFIT_M 8
static const double expfit_data[EXPFIT_M] = {2.81, 2.12, 1.63, 1.29, 1.05, 0.86, 0.73, 0.64};

/* no expfit_inputs: its one --var may have any name */

size_t expfit_outputs(size_t n);
int expfit(const double *x, size_t n, double *out, size_t m, void *user);
int expfit_jacobian(const double *x, size_t n, double *jac, void *user);
int expfit_jacobian_wrong(const double *x, size_t n, double *jac, void *user);

size_t expfit_outputs(size_t n) { return n == 3 ? EXPFIT_M : 0; }

int expfit(const double *x, size_t n, double *out, size_t m, void *user)
{
    (void)user;
    if (n != 3 || m != EXPFIT_M) return 1;
    for (size_t j = 0; j < m; j++) out[j] = x[0] * exp(-x[1] * 0.5 * (double)j) + x[2] - expfit_data[j];
    return 0;
}

int expfit_jacobian(const double *x, size_t n, double *jac, void *user)
{
    (void)user;
    if (n != 3) return 1;
    for (size_t j = 0; j < EXPFIT_M; j++) {
        double t = 0.5 * (double)j, e = exp(-x[1] * t);
        jac[j * 3 + 0] = e;
        jac[j * 3 + 1] = -x[0] * t * e;
        jac[j * 3 + 2] = 1;
    }
    return 0;
}

/* The sign of ∂out_5/∂b flipped, in one row only. */
int expfit_jacobian_wrong(const double *x, size_t n, double *jac, void *user)
{
    int rc = expfit_jacobian(x, n, jac, user);
    jac[5 * 3 + 1] = -jac[5 * 3 + 1];
    return rc;
}
