/* src/cli/main.c — the adscope program.  Exit codes: 0 success, 1 a check
 * failed, 2 usage or input error. */
#include <stdio.h>
#include <string.h>

#include <adscope.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: adscope [--version] [--help]\n"
            "\n"
            "adscope %s: forward-mode, reverse-mode and finite-difference derivatives\n"
            "side by side on one tensor type.\n"
            "\n"
            "options:\n"
            "  --version   print the version and the BLAS in use\n"
            "  --help      this text\n"
            "\n"
            "backends:\n",
            ad_version_string());
    for (int i = 0; i < ad_backend_count(); i++)
        fprintf(f, "  %-15s %s\n", ad_backend_at(i)->name, ad_backend_at(i)->description);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("adscope %s (BLAS: %s)\n", ad_version_string(), ad_blas_name());
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 1) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "adscope: unknown argument '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
