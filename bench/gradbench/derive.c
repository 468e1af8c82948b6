/* bench/gradbench/derive.c — an eval's function and its gradient by a
 * backend, each in a scope of its own, with the results copied out of the
 * context into the eval's state (so nothing stays allocated between runs);
 * and the plumbing every eval over plain arrays shares (gb_plain_*: its
 * state, its runs, its outputs), so that an eval's file holds its maths
 * and the shape of its input alone. */
#include <math.h>
#include <stdlib.h>

#include "gb_impl.h"

int gb_copy_out(ad_ctx *ctx, const char *what, ad_tensor *t, double *out, size_t n)
{
    if (!t) return ad_errno(ctx) ? ad_errno(ctx) : ad_raise(ctx, AD_EINVAL, "%s: no result", what);
    if (ad_numel(t) != (int64_t)n)
        return ad_raise(ctx, AD_ESHAPE, "%s: %lld values where %zu were expected", what, (long long)ad_numel(t), n);
    return ad_to_array(t, out, (int64_t)n);
}

int gb_value(ad_ctx *ctx, ad_fn f, void *user, int nin, ad_tensor *const *in, double *out, size_t n)
{
    ad_scope s = ad_scope_begin(ctx);
    /* a plain evaluation: nothing recorded, as a primal run of any tool */
    bool prev = ad_set_grad_enabled(ctx, false);
    (void)nin;
    ad_tensor *y = f(ctx, in, user);
    ad_set_grad_enabled(ctx, prev);
    int rc = gb_copy_out(ctx, "primal", y, out, n);
    ad_scope_end(ctx, s, NULL);
    return rc;
}

int gb_gradient(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ad_fn f, void *user, int nin,
                ad_tensor *const *in, double *value, double *grad, size_t n)
{
    ad_scope s = ad_scope_begin(ctx);
    bool wrt[8] = {true}; /* in[0] only: the evals differentiate one input */
    if (nin < 1 || nin > (int)(sizeof wrt / sizeof wrt[0])) {
        ad_scope_end(ctx, s, NULL);
        return ad_raise(ctx, AD_EINVAL, "gradient: %d inputs (1 to %zu)", nin, sizeof wrt / sizeof wrt[0]);
    }
    ad_problem p = {.ctx = ctx, .f = f, .user = user, .nin = nin, .in = in, .wrt = wrt};
    ad_tensor *y = NULL, *g[sizeof wrt / sizeof wrt[0]] = {0};
    int rc = ad_value_and_grad(b, &p, o, &y, g, NULL, NULL);
    if (rc == AD_OK) rc = gb_copy_out(ctx, "gradient", g[0], grad, n);
    if (rc == AD_OK && value) rc = gb_copy_out(ctx, "value", y, value, 1);
    ad_scope_end(ctx, s, NULL);
    return rc;
}

/* ---- an eval over plain arrays (gb_impl.h) ---- */

size_t gb_arrays_numel(const gb_arrays *a, int i)
{
    size_t n = 1;
    for (int k = 0; k < a->shape[i].ndim; k++) n *= (size_t)a->shape[i].dim[k];
    return n;
}

int gb_arrays_add(ad_ctx *ctx, gb_arrays *a, ad_shape shape, double **data)
{
    if (a->nin >= GB_MAX_IN) return ad_raise(ctx, AD_ELIMIT, "%s: more than %d inputs", a->eval->name, GB_MAX_IN);
    a->shape[a->nin] = shape;
    size_t n = gb_arrays_numel(a, a->nin);
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return ad_raise(ctx, AD_ENOMEM, "%s: out of memory for %zu values", a->eval->name, n);
    a->in[a->nin++] = v;
    if (data) *data = v;
    return AD_OK;
}

int gb_arrays_vector(ad_ctx *ctx, gb_arrays *a, const json_t *input, const char *key)
{
    size_t n = 0;
    if (a->nin >= GB_MAX_IN) return ad_raise(ctx, AD_ELIMIT, "%s: more than %d inputs", a->eval->name, GB_MAX_IN);
    int rc = gb_json_vector(ctx, a->eval->name, input, key, &a->in[a->nin], &n);
    if (rc == AD_OK) a->shape[a->nin++] = AD_SHAPE((int64_t)n);
    return rc;
}

int gb_arrays_matrix(ad_ctx *ctx, gb_arrays *a, const json_t *input, const char *key)
{
    size_t m = 0, d = 0;
    if (a->nin >= GB_MAX_IN) return ad_raise(ctx, AD_ELIMIT, "%s: more than %d inputs", a->eval->name, GB_MAX_IN);
    int rc = gb_json_matrix(ctx, a->eval->name, input, key, &a->in[a->nin], &m, &d);
    if (rc == AD_OK) a->shape[a->nin++] = AD_SHAPE((int64_t)m, (int64_t)d);
    return rc;
}

void gb_plain_free(void *state)
{
    gb_arrays *a = state;
    if (!a) return;
    for (int i = 0; i < a->nin; i++) free(a->in[i]);
    free(a->out);
    free(a);
}

int gb_plain_prepare(ad_ctx *ctx, const gb_plain *e, const json_t *input, void **state)
{
    gb_arrays *a = calloc(1, sizeof *a);
    if (!a) return ad_raise(ctx, AD_ENOMEM, "%s: out of memory", e->name);
    a->eval = e;
    a->nvalues = 1;
    int rc = e->read(ctx, input, a);
    if (rc == AD_OK && a->nin < 1) rc = ad_raise(ctx, AD_EINVAL, "%s: no input read", e->name);
    size_t n = rc == AD_OK ? gb_arrays_numel(a, 0) : 0;
    if (n < a->nvalues) n = a->nvalues;
    if (rc == AD_OK && !(a->out = malloc((n ? n : 1) * sizeof *a->out)))
        rc = ad_raise(ctx, AD_ENOMEM, "%s: out of memory", e->name);
    for (size_t i = 0; rc == AD_OK && i < n; i++) a->out[i] = NAN; /* no run yet: no number to answer */
    if (rc != AD_OK) {
        gb_plain_free(a);
        return rc;
    }
    *state = a;
    return AD_OK;
}

int gb_plain_run(ad_ctx *ctx, const ad_backend *b, const ad_options *o, gb_arrays *a, gb_compute compute)
{
    ad_scope sc = ad_scope_begin(ctx);
    ad_tensor *in[GB_MAX_IN] = {0};
    int rc = AD_OK;
    for (int i = 0; i < a->nin && rc == AD_OK; i++)
        if (!(in[i] = ad_wrap(ctx, a->shape[i], a->in[i]))) rc = ad_errno(ctx);
    if (rc == AD_OK) rc = compute(ctx, b, o, in, a);
    ad_scope_end(ctx, sc, NULL);
    return rc;
}

static int value_of(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ad_tensor *const *in, gb_arrays *a)
{
    (void)b;
    (void)o;
    a->nout = a->nvalues;
    return gb_value(ctx, a->eval->primal, NULL, a->nin, in, a->out, a->nout);
}

static int gradient_of(ad_ctx *ctx, const ad_backend *b, const ad_options *o, ad_tensor *const *in, gb_arrays *a)
{
    ad_fn f = a->eval->scalar ? a->eval->scalar : a->eval->primal;
    a->nout = gb_arrays_numel(a, 0);
    return gb_gradient(ctx, b, o, f, NULL, a->nin, in, NULL, a->out, a->nout);
}

int gb_plain_value(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    return gb_plain_run(ctx, b, o, state, value_of);
}

int gb_plain_gradient(ad_ctx *ctx, const ad_backend *b, const ad_options *o, void *state)
{
    return gb_plain_run(ctx, b, o, state, gradient_of);
}

json_t *gb_plain_real(ad_ctx *ctx, void *state) { return gb_json_real(ctx, ((gb_arrays *)state)->out[0]); }

json_t *gb_plain_list(ad_ctx *ctx, void *state)
{
    gb_arrays *a = state;
    return gb_json_list(ctx, a->out, a->nout);
}
