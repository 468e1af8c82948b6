/* tests/fuzz/fuzz_frame_csv.c — libFuzzer target: data tables from CSV
 * text (ad_frame_parse_csv, src/csv_read.c) and what is done with them
 * next (printing, filling missing values, one-hot encoding, tensors).
 *
 * Promises checked beyond "no crash": a refused text comes with a message;
 * once every table and tensor is freed, the context holds no byte. */
#include <adscope.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, ad_ctx *ctx)
{
    fprintf(stderr, "fuzz_frame_csv: broken promise: %s (%s)\n", what, ad_errmsg(ctx));
    abort();
}

/* Everything D2L 2.2 does with a table; failures are fine, silent ones not. */
static void use(ad_ctx *ctx, ad_frame *f)
{
    char buf[4096];
    ad_frame_snprint(buf, sizeof buf, f);
    ad_frame *d = ad_frame_get_dummies(f, true);
    if (!d && ad_errno(ctx) == AD_OK) broken("get_dummies failed without a reason", ctx);
    if (d && ad_frame_fillna_mean(d) != AD_OK && ad_errno(ctx) == AD_OK) broken("fillna failed without a reason", ctx);
    ad_tensor *t = d ? ad_frame_tensor(d) : NULL;
    if (d && !t && ad_errno(ctx) == AD_OK) broken("frame_tensor failed without a reason", ctx);
    for (int j = 0; j < ad_frame_ncols(f); j++) ad_tensor_free(ad_frame_column_tensor(f, j));
    ad_tensor_free(t);
    ad_frame_free(d);
    ad_clear_error(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ad_ctx_options o = {.max_tensor_bytes = 1 << 20};
    ad_ctx *ctx = ad_ctx_new_with(&o);
    ad_frame *f = ad_frame_parse_csv(ctx, (const char *)data, size, "fuzz.csv");
    if (!f && (ad_errno(ctx) == AD_OK || !ad_errmsg(ctx)[0])) broken("a refused text without a message", ctx);
    if (f) use(ctx, f);
    ad_frame_free(f);
    ad_mem_stats m;
    ad_ctx_mem_stats(ctx, &m);
    if (m.live_total != 0) broken("bytes left in the context after every table was freed", ctx);
    ad_ctx_free(ctx);
    return 0;
}
