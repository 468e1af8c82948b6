/* adscope/print.h — printing in the format PyTorch users know.
 *
 *   tensor([[ 0.,  1.,  2.,  3.],
 *           [ 4.,  5.,  6.,  7.],
 *           [ 8.,  9., 10., 11.]])
 *   tensor(28., grad_fn=<MulBackward0>)
 *   tensor([0., 1., 2., 3.], requires_grad=True)
 *
 * Same rules as torch's formatter: 4 digits after the point, integer-valued
 * tensors printed as "3.", scientific notation when the magnitudes span more
 * than 1e3 or exceed 1e8, tensors of more than 1000 elements summarised with
 * "..." keeping 3 items at each edge, lines wrapped at 80 columns.
 */
#ifndef ADSCOPE_PRINT_H
#define ADSCOPE_PRINT_H

#include <stdio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ad_print_options {
    int precision;     /* digits after the point (4) */
    int64_t threshold; /* summarise above this many elements (1000) */
    int edgeitems;     /* items kept at each edge when summarising (3) */
    int linewidth;     /* characters per line (80) */
    int sci_mode;      /* -1 automatic, 0 never, 1 always */
} ad_print_options;

/* The defaults above. */
AD_API ad_print_options ad_print_defaults(void);

/* Writes the representation into buf (snprintf contract: always
 * NUL-terminated when n > 0; returns the length the full text needs, or a
 * negative status).  opts may be NULL for the defaults. */
AD_API int64_t ad_snprint(char *buf, size_t n, const ad_tensor *t, const ad_print_options *opts);
/* To a stream, followed by a newline.  Returns AD_OK or a negative status. */
AD_API int ad_fprint(FILE *f, const ad_tensor *t, const ad_print_options *opts);
/* ad_fprint(stdout, t, NULL). */
AD_API int ad_print(const ad_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
