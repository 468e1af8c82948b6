/* bench/gradbench/gb_input.h — reading an eval's JSON input into tensors
 * and writing tensors back as JSON, for the evals gmm, lstm, ba, particle
 * and saddle (gbi_*).  Every reader checks the field it reads and records
 * an error naming it (ad_set_error) instead of guessing.
 * Ownership: tensors returned are new references owned by the caller (or by
 * the open scope); JSON returned is a new reference (json_decref). */
#ifndef ADSCOPE_GB_INPUT_H
#define ADSCOPE_GB_INPUT_H

#include "gradbench.h"

/* input[key] as an integer in [lo, hi]: AD_OK or AD_EINVAL naming key. */
int gbi_int(ad_ctx *ctx, const json_t *input, const char *key, int64_t lo, int64_t hi, int64_t *out);
/* input[key] as a finite number. */
int gbi_double(ad_ctx *ctx, const json_t *input, const char *key, double *out);
/* input[key], an array of numbers, as a [n] tensor (n >= min_len). */
ad_tensor *gbi_vector(ad_ctx *ctx, const json_t *input, const char *key, int64_t min_len);
/* input[key], an array of rows of equal length, as a [rows, cols] tensor
 * (rows >= 1; rows of length 0 allowed). */
ad_tensor *gbi_matrix(ad_ctx *ctx, const json_t *input, const char *key);

/* The elements of t (any shape, read in row-major order) as a flat array
 * of reals, or NULL. */
json_t *gbi_json_flat(ad_tensor *t);
/* A 2-d t as an array of rows (arrays of reals), or NULL. */
json_t *gbi_json_rows(ad_tensor *t);

#endif
