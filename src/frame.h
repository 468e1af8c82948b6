/* src/frame.h — internal: the layout of an ad_frame (include/adscope/data.h)
 * and the helpers the CSV reader (src/csv_read.c) and the table operations
 * (src/frame.c) share.  Not installed. */
#ifndef ADSCOPE_FRAME_H
#define ADSCOPE_FRAME_H

#include "internal.h"

/* One column: numbers (NaN where missing) or strings (NULL where missing). */
typedef struct ad_fcol {
    char *name;
    bool numeric;
    bool integral; /* numeric, none missing, all integers: printed without a point */
    double *num;   /* numeric: nrows values */
    char **str;    /* categorical: nrows strings */
} ad_fcol;

struct ad_frame {
    ad_ctx *ctx;
    int ncols;
    int64_t nrows;
    ad_fcol *col;  /* ncols columns */
    int64_t *line; /* nrows: the file line each row starts on (0: not from a file) */
};

/* A frame of ncols empty columns (no names, no values) and nrows rows, all
 * zeroed; NULL with the error recorded. */
ad_frame *ad_frame_alloc(ad_ctx *ctx, int ncols, int64_t nrows);
/* Gives column j of f room for nrows numbers (numeric) or strings. */
int ad_fcol_alloc(ad_frame *f, int j, bool numeric);
/* Column src (of a frame with as many rows) into column j of f, name included. */
int ad_fcol_copy(ad_frame *f, int j, const ad_fcol *src);
/* A frame of ncols empty columns with f's rows and their lines. */
ad_frame *ad_frame_like(const ad_frame *f, int ncols);
/* A NUL-terminated copy of len bytes of s, accounted in AD_MEM_META. */
char *ad_fstr_dup(ad_ctx *ctx, const char *s, size_t len);
void ad_fstr_free(ad_ctx *ctx, char *s);
/* Whether a field's text stands for a missing value ("", NA, N/A, NaN, nan). */
bool ad_fstr_missing(const char *s);

#endif
