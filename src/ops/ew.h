/* src/ops/ew.h — raw elementwise binary kernels shared by the arithmetic,
 * comparison, scalar and in-place ops (ad_ew_*).  Nothing here records or
 * propagates derivatives: these compute values only. */
#ifndef ADSCOPE_EW_H
#define ADSCOPE_EW_H

#include "../iter.h"

/* AD_EW_add, AD_EW_sub, ...: one per line of ew.def. */
#define AD_EW(name, EXPR) AD_EW_##name,
typedef enum {
#include "ew.def"
    AD_EW_COUNT
} ad_ew_kind;
#undef AD_EW

/* a op b (broadcast) into a fresh contiguous tensor.  `what` names the
 * public op in errors ("add: shapes [2,3] and [4] cannot broadcast"). */
ad_tensor *ad_ew_apply(const char *what, ad_ew_kind kind, ad_tensor *a, ad_tensor *b);
/* a op s into a fresh tensor. */
ad_tensor *ad_ew_apply_s(ad_ew_kind kind, ad_tensor *a, double s);
/* out = a op b, written into out (shape must equal the broadcast shape).
 * b may be NULL with a scalar s instead.  Handles overlap between out and
 * the operands (a temporary is used only when the layouts differ). */
int ad_ew_into(const char *what, ad_ew_kind kind, ad_tensor *out, ad_tensor *a, ad_tensor *b, double s);

/* Broadcast two raw shapes; records "what: shapes A and B cannot broadcast". */
int ad_ew_broadcast(ad_ctx *ctx, const char *what, int na, const int64_t *sa, int nb, const int64_t *sb,
                    int *nout, int64_t *out);

#endif
