/* src/ops/compare.c — comparisons: 0/1 tensors.  They are piecewise
 * constant, so their derivative is zero wherever it exists: results are
 * constants (never recorded, no tangent), as in PyTorch. */
#include "ew.h"
#include "op.h"

#define COMPARE(name, KIND)                                                          \
    ad_tensor *ad_##name(ad_tensor *a, ad_tensor *b)                                 \
    {                                                                                \
        AD_ARG(a);                                                                   \
        AD_ARG(b);                                                                   \
        return ad_ew_apply(#name, KIND, a, b);                                       \
    }                                                                                \
    ad_tensor *ad_##name##_s(ad_tensor *a, double s)                                 \
    {                                                                                \
        AD_ARG(a);                                                                   \
        return ad_ew_apply_s(KIND, a, s);                                            \
    }

COMPARE(eq, AD_EW_EQ)
COMPARE(ne, AD_EW_NE)
COMPARE(lt, AD_EW_LT)
COMPARE(le, AD_EW_LE)
COMPARE(gt, AD_EW_GT)
COMPARE(ge, AD_EW_GE)
