/* src/error.c — status codes, messages and the error handler.
 *
 * Every failure in the library funnels through ad_error(), so one
 * breakpoint there catches them all (GSL's gsl_error pattern). */
#include <stdio.h>

#include "internal.h"

static ad_error_handler g_handler = NULL;

const char *ad_strerror(int status)
{
    switch (status) {
    case AD_OK: return "success";
    case AD_EINVAL: return "invalid argument";
    case AD_ESHAPE: return "shape mismatch";
    case AD_EAXIS: return "invalid axis";
    case AD_EINDEX: return "index out of range";
    case AD_ESIZE: return "invalid size";
    case AD_ENOMEM: return "out of memory";
    case AD_EGRAD: return "autograd error";
    case AD_EVERSION: return "tensor modified in place after being saved";
    case AD_ESTATE: return "invalid state";
    case AD_ENOTSUP: return "not supported";
    case AD_ENOTFOUND: return "not found";
    case AD_EIO: return "input/output error";
    case AD_ESYNTAX: return "syntax error";
    case AD_ENONFINITE: return "non-finite value";
    case AD_ELIMIT: return "limit exceeded";
    default: return "unknown error";
    }
}

int ad_error(const ad_ctx *cctx, int status, const char *fmt, ...)
{
    /* The context is logically const for callers that only read tensors;
     * recording the last error is bookkeeping, like errno. */
    ad_ctx *ctx = (ad_ctx *)cctx;
    char local[AD_ERRMSG_MAX]; /* without a context the handler still gets the message */
    char *msg = ctx ? ctx->errmsg : local;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, AD_ERRMSG_MAX, fmt, ap);
    va_end(ap);
    if (ctx) ctx->err = status;
    if (g_handler) g_handler(ctx, status, msg);
    return status;
}

/* The public door to ad_error for code above the library: one more
 * formatting step, so the one breakpoint stays ad_error. */
int ad_set_error(ad_ctx *ctx, int status, const char *fmt, ...)
{
    char msg[AD_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ad_error(ctx, status, "%s", msg);
}

int ad_errno(const ad_ctx *ctx) { return ctx ? ctx->err : AD_EINVAL; }

const char *ad_errmsg(const ad_ctx *ctx) { return ctx ? ctx->errmsg : "no context"; }

void ad_clear_error(ad_ctx *ctx)
{
    if (!ctx) return;
    ctx->err = AD_OK;
    ctx->errmsg[0] = '\0';
}

ad_error_handler ad_set_error_handler(ad_error_handler handler)
{
    ad_error_handler prev = g_handler;
    g_handler = handler;
    return prev;
}

int ad_err_mark(ad_ctx *ctx)
{
    int before = ctx->err;
    ctx->err = AD_OK;
    return before;
}

bool ad_err_since(ad_ctx *ctx, int mark)
{
    if (ctx->err != AD_OK) return true;
    ctx->err = mark;
    return false;
}
