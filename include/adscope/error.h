/* adscope/error.h — status codes and the error handler.
 *
 * Library code never aborts, exits or prints on bad input.  A failing call
 * returns NULL (functions returning a tensor), NAN (functions returning a
 * double) or a negative ad_status, and records a message in its context:
 *
 *     ad_tensor *z = ad_add(x, y);
 *     if (!z) fprintf(stderr, "%s\n", ad_errmsg(ctx));
 *         // -> "add: shapes [2,3] and [4] cannot broadcast"
 *
 * The error stays recorded (ad_errno != AD_OK) until ad_clear_error(), so a
 * chain of calls can be checked once at the end.  Every error goes through
 * one function (a single breakpoint target, like GSL's gsl_error), which also
 * calls the process-wide handler installed by ad_set_error_handler.
 */
#ifndef ADSCOPE_ERROR_H
#define ADSCOPE_ERROR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ad_status {
    AD_OK = 0,
    AD_EINVAL = -1,    /* invalid argument (NULL, bad option, NaN where a number is needed) */
    AD_ESHAPE = -2,    /* shapes do not fit the operation */
    AD_EAXIS = -3,     /* axis out of range or repeated */
    AD_EINDEX = -4,    /* index out of range */
    AD_ESIZE = -5,     /* negative size, or a size whose byte count overflows */
    AD_ENOMEM = -6,    /* the allocator returned NULL */
    AD_EGRAD = -7,     /* autograd misuse (backward without requires_grad, ...) */
    AD_EVERSION = -8,  /* a tensor saved for backward was modified in place */
    AD_ESTATE = -9,    /* operation not valid in the current state */
    AD_ENOTSUP = -10,  /* not supported (e.g. op without a rule in this mode) */
    AD_ENOTFOUND = -11,/* no such name (backend, variable, symbol) */
    AD_EIO = -12,      /* file or stream error */
    AD_ESYNTAX = -13,  /* expression syntax error */
    AD_ENONFINITE = -14,/* NaN or Inf where finite values are required */
    AD_ELIMIT = -15    /* a safety limit was exceeded (nesting, size) */
} ad_status;

/* Short description of a status code ("shape mismatch", ...). Never NULL. */
AD_API const char *ad_strerror(int status);

/* The last error recorded in ctx, AD_OK if none. */
AD_API int ad_errno(const ad_ctx *ctx);
/* Its message ("" if none).  Borrowed; valid until the next error. */
AD_API const char *ad_errmsg(const ad_ctx *ctx);
/* Forget the recorded error. */
AD_API void ad_clear_error(ad_ctx *ctx);
/* Records an error of code above the library (a user's function, a
 * program's input parser) in ctx, through the same single function as the
 * library's own errors: status (negative; anything else becomes AD_EINVAL)
 * and a printf-style message.  Returns the status recorded. */
AD_API int ad_raise(ad_ctx *ctx, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Called on every error, after the message is recorded.  The default is no
 * handler.  The setter returns the previous handler (GSL's convention).
 *
 * Threads: the handler is process-wide (one for every context) and may be
 * set from any thread while others run; the swap is atomic, so a report
 * calls either the old or the new handler.  It is called in the thread
 * that hit the error, possibly by several threads at once, so it must be
 * thread-safe itself (its ctx argument says whose error it is, NULL when
 * the failing call had no context).  The recorded status and message
 * (ad_errno, ad_errmsg) belong to each context, as errno to each thread. */
typedef void (*ad_error_handler)(const ad_ctx *ctx, int status, const char *msg);
AD_API ad_error_handler ad_set_error_handler(ad_error_handler handler);

#ifdef __cplusplus
}
#endif
#endif
