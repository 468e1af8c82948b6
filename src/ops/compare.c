/* src/ops/compare.c — comparisons: 0/1 tensors.  They are piecewise
 * constant, so their derivative is zero wherever it exists: results are
 * constants (never recorded, no tangent), as in PyTorch. */
#include "ew.h"
#include "op.h"

#define COMPARE(name)                                                                \
    ad_tensor *ad_##name(ad_tensor *a, ad_tensor *b)                                 \
    {                                                                                \
        AD_ARG(a);                                                                   \
        AD_ARG(b);                                                                   \
        return ad_ew_apply(#name, AD_EW_##name, a, b);                               \
    }                                                                                \
    ad_tensor *ad_##name##_s(ad_tensor *a, double s)                                 \
    {                                                                                \
        AD_ARG(a);                                                                   \
        return ad_ew_apply_s(AD_EW_##name, a, s);                                    \
    }

COMPARE(eq)
COMPARE(ne)
COMPARE(lt)
COMPARE(le)
COMPARE(gt)
COMPARE(ge)
