/* tests/fuzz/fuzz_bench_csv.c — libFuzzer target: the harness's result
 * tables (bench/csv.h), read, written and read again.
 *
 * The promise checked: every table the reader accepts survives a round
 * trip.  ad_bench_table_write then ad_bench_table_read gives back the same
 * comments, header and cells, byte for byte (a first cell starting with
 * '#', an empty cell of a one-column table, a long field, a quote or a
 * newline inside a field are the cases that lost data before).  A file the
 * reader refuses must come with a message.  Only the public functions of
 * bench/csv.h are used, so the target follows a rewrite of the reader. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_bench_csv: broken promise: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void put_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) broken("cannot write the temporary file", path);
}

static void same_table(const ad_bench_table *a, const ad_bench_table *b)
{
    if (a->ncomments != b->ncomments) broken("round trip changed the number of comments", NULL);
    for (int i = 0; i < a->ncomments; i++)
        if (strcmp(a->comments[i], b->comments[i]) != 0) broken("round trip changed a comment", a->comments[i]);
    if (a->ncols != b->ncols) broken("round trip changed the number of columns", NULL);
    for (int j = 0; j < a->ncols; j++)
        if (strcmp(a->cols[j], b->cols[j]) != 0) broken("round trip changed a column name", a->cols[j]);
    if (a->nrows != b->nrows) broken("round trip changed the number of rows", NULL);
    for (int64_t k = 0; k < a->nrows * a->ncols; k++)
        if (strcmp(a->cells[k], b->cells[k]) != 0) broken("round trip changed a cell", a->cells[k]);
}

/* The reader takes a path, so each input goes through two files per
 * process.  They are removed when the process exits: a run of the seed
 * corpus in CTest or a timed fuzz run must not leave them behind (one pair
 * per process piled up in /tmp before). */
static char in_path[64], out_path[64];

static void remove_files(void)
{
    remove(in_path);
    remove(out_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!in_path[0]) {
        snprintf(in_path, sizeof in_path, "/tmp/adscope-fuzz-csv-%ld.in", (long)getpid());
        snprintf(out_path, sizeof out_path, "/tmp/adscope-fuzz-csv-%ld.out", (long)getpid());
        atexit(remove_files);
    }
    put_file(in_path, data, size);
    ad_bench_table t1, t2;
    char err[512] = "";
    if (ad_bench_table_read(in_path, &t1, err, sizeof err) != 0) {
        if (!err[0]) broken("a refused file without a message", NULL);
        return 0;
    }
    FILE *f = fopen(out_path, "wb");
    if (!f) broken("cannot open the temporary file", out_path);
    if (ad_bench_table_write(f, &t1) != 0) broken("writing a table that was read failed", NULL);
    fclose(f);
    if (ad_bench_table_read(out_path, &t2, err, sizeof err) != 0) broken("a table written cannot be read back", err);
    same_table(&t1, &t2);
    /* What merge and plot do with a table: numbers and sorting. */
    if (t1.ncols > 0) {
        for (int64_t r = 0; r < t1.nrows; r++) (void)ad_bench_table_num(&t1, r, t1.cols[0]);
        const char *keys[2] = {t1.cols[0], t1.cols[t1.ncols - 1]};
        ad_bench_table_sort(&t1, 2, keys);
    }
    ad_bench_table_free(&t1);
    ad_bench_table_free(&t2);
    return 0;
}
