/* src/cli/main.c — the adscope program (placeholder until the CLI issue). */
#include <stdio.h>
#include <string.h>

#include <adscope.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("adscope %s\n", ad_version_string());
        return 0;
    }
    printf("usage: adscope --version\n");
    return argc > 1 ? 2 : 0;
}
