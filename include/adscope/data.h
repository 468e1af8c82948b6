/* adscope/data.h — data preprocessing (D2L 2.2): a CSV file read into a
 * table of named columns, missing values filled, categorical columns
 * one-hot encoded, the table turned into a tensor.  pandas' read_csv,
 * fillna, get_dummies(dummy_na=True) and torch.tensor(df.values), in C:
 *
 *     ad_frame *data = ad_frame_read_csv(ctx, "house_tiny.csv");
 *     ad_frame *inputs = ad_frame_columns(data, 0, 2);     // data.iloc[:, 0:2]
 *     ad_frame_fillna_mean(inputs);                         // inputs.fillna(inputs.mean())
 *     ad_frame *X = ad_frame_get_dummies(inputs, true);     // NumRooms, Alley_Pave, Alley_nan
 *     ad_tensor *x = ad_frame_tensor(X);                    // [4, 3]
 *     ad_frame_free(X); ad_frame_free(inputs); ad_frame_free(data);
 *
 * Reading (RFC 4180 through libcsv): the first record names the columns
 * (an empty name becomes "Unnamed: J", J counted from 0, as in pandas); every
 * other record must have as many fields.  A field that is empty, "NA",
 * "N/A", "NaN" or "nan" is missing.  A column is numeric when every value
 * that is not missing reads whole as a finite number (strtod), and
 * categorical otherwise; numeric columns whose values are all integers,
 * none missing, print as integers.  Rows are counted from 0 (pandas' index)
 * and errors name the row, its line in the file and the column:
 *   "house.csv: row 2 (line 4) has 4 fields, but the header names 3 columns"
 *   "tensor: column 'Alley' is categorical (row 0, line 2, holds 'Pave'): ..."
 *
 * Ownership: every ad_frame returned is new and owned by the caller (free it
 * with ad_frame_free, which accepts NULL); frames never share data.  Memory
 * goes through the context's allocator hook (AD_MEM_META).  Functions
 * returning a pointer return NULL on error, int functions AD_OK or a
 * negative status, always with the reason in ad_errmsg(ctx).
 */
#ifndef ADSCOPE_DATA_H
#define ADSCOPE_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ad_frame ad_frame;

/* The table in the CSV file at path (comma-separated). */
AD_API ad_frame *ad_frame_read_csv(ad_ctx *ctx, const char *path);
/* The same from len bytes of text; name stands for the file in messages. */
AD_API ad_frame *ad_frame_parse_csv(ad_ctx *ctx, const char *text, size_t len, const char *name);
AD_API void ad_frame_free(ad_frame *f);

AD_API int64_t ad_frame_nrows(const ad_frame *f);
AD_API int ad_frame_ncols(const ad_frame *f);
/* The name of column j (borrowed, lives as long as f), or NULL. */
AD_API const char *ad_frame_name(const ad_frame *f, int j);
/* Whether column j holds numbers (false for a categorical column). */
AD_API bool ad_frame_is_numeric(const ad_frame *f, int j);

/* A copy of columns [first, last), like pandas' df.iloc[:, first:last];
 * negative bounds count from the end. */
AD_API ad_frame *ad_frame_columns(const ad_frame *f, int first, int last);
/* Fills the missing values of every numeric column with the mean of its
 * other values (df.fillna(df.mean())); categorical columns are left alone.
 * An error, naming it, when a numeric column has no value at all. */
AD_API int ad_frame_fillna_mean(ad_frame *f);
/* The same with one finite value. */
AD_API int ad_frame_fillna(ad_frame *f, double value);
/* pandas' get_dummies(f, dummy_na=dummy_na): numeric columns first, in
 * order, then for each categorical column, in order, one 0/1 column per
 * value in sorted (strcmp) order named "COLUMN_VALUE", and with dummy_na a
 * last one, "COLUMN_nan", marking the missing values. */
AD_API ad_frame *ad_frame_get_dummies(const ad_frame *f, bool dummy_na);
/* The values as a [rows, columns] tensor (torch.tensor(df.values)).  Every
 * column must be numeric and no value missing: the error names the first
 * offending column and row and says how to fix it. */
AD_API ad_tensor *ad_frame_tensor(const ad_frame *f);
/* Column j as a [rows] tensor (torch.tensor(df.iloc[:, j].values)). */
AD_API ad_tensor *ad_frame_column_tensor(const ad_frame *f, int j);

/* The table as pandas prints it (snprintf contract: always NUL-terminated
 * when n > 0; returns the length the whole text needs, or a negative
 * status):
 *        NumRooms Alley   Price
 *     0       NaN  Pave  127500
 *     1       2.0   NaN  106000
 * Floats get as many decimals (1 to 6) as their column needs. */
AD_API int64_t ad_frame_snprint(char *buf, size_t n, const ad_frame *f);

#ifdef __cplusplus
}
#endif
#endif
