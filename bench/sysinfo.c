/* bench/sysinfo.c — what a result file says about the machine and the run
 * (ad_bench_describe), and the process's peak resident set size. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef ADSCOPE_C_COMPILER
#define ADSCOPE_C_COMPILER "unknown"
#endif
#ifndef ADSCOPE_BUILD_TYPE
#define ADSCOPE_BUILD_TYPE "unknown"
#endif

int64_t ad_bench_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return (int64_t)ru.ru_maxrss * 1024; /* Linux reports kilobytes */
}

int ad_bench_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void ad_bench_cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (!v) continue;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        snprintf(buf, n, "%s", v);
        size_t l = strlen(buf);
        while (l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == ' ')) buf[--l] = '\0';
        break;
    }
    fclose(f);
}

int ad_bench_describe(ad_bench_table *t, uint64_t seed, const char *command)
{
    char date[64], machine[4 * 65 + 8], cpu[256], cores[32], seeds[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(machine, sizeof machine, "%s %s %s %s", u.sysname, u.nodename, u.release, u.machine);
    else
        snprintf(machine, sizeof machine, "unknown");
    ad_bench_cpu_model(cpu, sizeof cpu);
    snprintf(cores, sizeof cores, "%d", ad_bench_cores());
    snprintf(seeds, sizeof seeds, "%llu", (unsigned long long)seed);
    const char *kv[][2] = {
        {"adscope", ad_version_string()}, {"date", date},   {"machine", machine},
        {"cpu", cpu},                     {"cores", cores}, {"compiler", ADSCOPE_C_COMPILER},
        {"build", ADSCOPE_BUILD_TYPE},    {"blas", ad_blas_name()}, {"blas_core", ad_blas_core()},
        {"seed", seeds},
        {"command", command ? command : ""},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (ad_bench_table_comment(t, kv[i][0], kv[i][1])) return -1;
    return 0;
}
