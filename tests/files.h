/* tests/files.h — files and programs around a test: a temporary directory
 * of the test's own, reading a file back, whether a program is installed.
 *
 * Criterion runs every test in a process of its own, so the directory is
 * per test: made on the first th_tmp_path, removed by th_tmp_remove (which
 * th_teardown calls; a suite without a context uses .fini = th_tmp_remove). */
#ifndef ADSCOPE_TEST_FILES_H
#define ADSCOPE_TEST_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* The test's directory ("/tmp/adscope_test_XXXXXX", made on first use). */
const char *th_tmp_dir(void);
/* dir/name in one of 8 rotating static buffers (so a few paths can be held
 * at once); the directory is made on first use. */
const char *th_tmp_path(const char *name);
/* Removes the directory and what is in it (a few levels deep); nothing to
 * do if it was never made. */
void th_tmp_remove(void);

/* The whole file, NUL-terminated, malloc'd (the caller frees); *len gets
 * its length when len is not NULL.  NULL if it cannot be read. */
char *th_read_file(const char *path, size_t *len);

/* The rows of a results.csv written by adscope bench that start with
 * prefix (e.g. "gb:lse,reverse,") and have status ok; -1 if the file
 * cannot be read. */
int th_count_ok_rows(const char *csv_path, const char *prefix);

/* Whether prog is an executable on PATH (gnuplot, dot). */
bool th_have_program(const char *prog);

#endif
