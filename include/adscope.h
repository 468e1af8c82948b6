/* adscope.h — the umbrella header: the whole public API.
 *
 * adscope puts three ways of computing derivatives side by side on one
 * tensor type: forward accumulation (dual numbers, forward.h), reverse
 * accumulation on a tape (autograd.h) and finite differences, behind one
 * backend interface (backend.h).  A first program:
 *
 *     #include <adscope.h>
 *
 *     int main(void)
 *     {
 *         ad_ctx *ctx = ad_ctx_new();
 *         ad_scope s = ad_scope_begin(ctx);      // temporaries die with the scope
 *         ad_tensor *x = ad_arange_n(ctx, 4);
 *         ad_requires_grad_(x, true);
 *         ad_tensor *y = ad_mul_s(ad_dot(x, x), 2);
 *         ad_print(y);                            // tensor(28., grad_fn=<MulBackward0>)
 *         ad_backward(y, NULL, 0);
 *         ad_print(ad_grad(x));                   // tensor([ 0.,  4.,  8., 12.])
 *         ad_scope_end(ctx, s, NULL);
 *         ad_ctx_free(ctx);
 *     }
 *
 * This example is compiled and checked as examples/first.c.
 */
#ifndef ADSCOPE_H
#define ADSCOPE_H

#include "adscope/common.h"
#include "adscope/version.h"
#include "adscope/error.h"
#include "adscope/ctx.h"
#include "adscope/tensor.h"
#include "adscope/elementwise.h"
#include "adscope/shape.h"
#include "adscope/index.h"
#include "adscope/reduce.h"
#include "adscope/linalg.h"
#include "adscope/print.h"
#include "adscope/autograd.h"
#include "adscope/forward.h"
#include "adscope/backend.h"
#include "adscope/drivers.h"
#include "adscope/iterate.h"
#include "adscope/gradcheck.h"
#include "adscope/blackbox.h"
#include "adscope/expr.h"
#include "adscope/ops.h"
#include "adscope/data.h"
#include "adscope/threads.h"

#endif
