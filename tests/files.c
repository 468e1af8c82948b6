/* tests/files.c — files and programs around a test (see files.h). */
#include "files.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

static char tmp_dir[64];

const char *th_tmp_dir(void)
{
    if (!tmp_dir[0]) {
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/adscope_test_XXXXXX");
        cr_assert_not_null(mkdtemp(tmp_dir), "cannot make a temporary directory");
    }
    return tmp_dir;
}

const char *th_tmp_path(const char *name)
{
    static char p[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", th_tmp_dir(), name);
    return p[k];
}

/* The tests nest directories a few levels at most; depth bounds the
 * recursion (and never follows a link: lstat). */
static void remove_tree(const char *d, int depth)
{
    DIR *dd = opendir(d);
    if (!dd) return;
    struct dirent *de;
    while ((de = readdir(dd))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", d, de->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode) && depth > 0) remove_tree(p, depth - 1);
        else unlink(p);
    }
    closedir(dd);
    if (rmdir(d) != 0) fprintf(stderr, "could not remove %s\n", d);
}

void th_tmp_remove(void)
{
    if (!tmp_dir[0]) return;
    remove_tree(tmp_dir, 4);
    tmp_dir[0] = '\0';
}

char *th_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!buf) return NULL;
    buf[got] = '\0';
    if (len) *len = got;
    return buf;
}

int th_count_ok_rows(const char *csv_path, const char *prefix)
{
    FILE *f = fopen(csv_path, "r");
    if (!f) return -1;
    char line[4096];
    int rows = 0;
    size_t n = strlen(prefix);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, prefix, n) == 0) rows += strstr(line, ",ok,") != NULL;
    fclose(f);
    return rows;
}

bool th_have_program(const char *prog)
{
    const char *p = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", p ? p : "/usr/bin:/bin");
    for (char *tok = strtok(buf, ":"); tok; tok = strtok(NULL, ":")) {
        char c[4200];
        snprintf(c, sizeof c, "%s/%s", tok, prog);
        if (access(c, X_OK) == 0) return true;
    }
    return false;
}
