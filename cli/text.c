/* cli/text.c — the text the commands print: tensors as PyTorch prints them
 * (aligned under a prefix), indices into named inputs, plurals. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_index_str(char *buf, size_t n, const char *name, int ndim, const int64_t *index)
{
    size_t k = (size_t)snprintf(buf, n, "%s[", name);
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)index[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

void cli_print_tensor(FILE *f, const char *prefix, ad_tensor *t)
{
    int64_t n = ad_snprint(NULL, 0, t, NULL);
    if (n < 0) {
        fprintf(f, "%s<%s>\n", prefix, ad_errmsg(ad_tensor_ctx(t)));
        return;
    }
    char *buf = malloc((size_t)n + 1);
    if (!buf) return;
    ad_snprint(buf, (size_t)n + 1, t, NULL);
    size_t indent = strlen(prefix);
    fputs(prefix, f);
    for (const char *p = buf; *p; p++) {
        fputc(*p, f);
        if (*p == '\n')
            for (size_t i = 0; i < indent; i++) fputc(' ', f);
    }
    fputc('\n', f);
    free(buf);
}

const char *cli_plural(long long n, const char *many)
{
    return n == 1 ? "" : many;
}
