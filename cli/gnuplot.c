/* cli/gnuplot.c — running gnuplot and dot for the picture commands:
 * locating programs and scripts, fork/exec with arguments passed as they
 * are (no shell, so no quoting of paths can go wrong), formats, data files.
 * See gnuplot.h. */
#include "gnuplot.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "datadir.h"

static bool is_executable(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

bool cli_find_program(const char *name, char *out, size_t n)
{
    if (!name || !*name) return false;
    if (strchr(name, '/')) {
        if (!is_executable(name) || strlen(name) >= n) return false;
        snprintf(out, n, "%s", name);
        return true;
    }
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;;) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char cand[CLI_PATH_MAX];
        /* an empty PATH entry means the current directory */
        int k = len ? snprintf(cand, sizeof cand, "%.*s/%s", (int)len, p, name) : snprintf(cand, sizeof cand, "./%s", name);
        if (k > 0 && (size_t)k < sizeof cand && (size_t)k < n && is_executable(cand)) {
            snprintf(out, n, "%s", cand);
            return true;
        }
        if (!e) break;
        p = e + 1;
    }
    return false;
}

int cli_gnuplot_locate(const char *cmd, char *out, size_t n)
{
    const char *env = getenv("ADSCOPE_GNUPLOT");
    const char *name = env && *env ? env : "gnuplot";
    if (cli_find_program(name, out, n)) return CLI_OK;
    if (env && *env)
        fprintf(stderr,
                "adscope %s: gnuplot not found: ADSCOPE_GNUPLOT='%s' is not an executable program.\n"
                "  Charts need gnuplot: install the Debian package gnuplot-nox (apt-get install -y gnuplot-nox),\n"
                "  or point ADSCOPE_GNUPLOT at a gnuplot executable.\n",
                cmd, env);
    else
        fprintf(stderr,
                "adscope %s: gnuplot not found on PATH.\n"
                "  Charts need gnuplot: install the Debian package gnuplot-nox (apt-get install -y gnuplot-nox;\n"
                "  scripts/bench installs it), or set ADSCOPE_GNUPLOT to a gnuplot executable.\n",
                cmd);
    return CLI_USAGE;
}

/* The directory comes from cli_plots_dir (datadir.c): $ADSCOPE_PLOTS, the
 * installed scripts next to the executable, or the source tree for the
 * build tree's program. */
int cli_plot_script(const char *cmd, const char *chart, char *out, size_t n)
{
    char dir[CLI_PATH_MAX];
    bool found = cli_plots_dir(dir, sizeof dir) == 0;
    int k = snprintf(out, n, "%s/%s.gp", dir, chart);
    struct stat sb;
    if (!found || k < 0 || (size_t)k >= n || stat(out, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fprintf(stderr,
                "adscope %s: the chart script %s/%s.gp is missing (an installed adscope keeps its scripts in\n"
                "  PREFIX/share/adscope/plots; set ADSCOPE_PLOTS to the directory that holds them)\n",
                cmd, dir, chart);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* ---- running programs ----------------------------------------------------------------- */

/* The child: stdin from the input pipe (or /dev/null), then exec; a
 * failed exec reports its errno through ex. */
_Noreturn static void exec_child(const char *path, char *const argv[], const int *in, const int *ex)
{
    close(ex[0]);
    int fd0 = in ? in[0] : open("/dev/null", O_RDONLY);
    if (fd0 >= 0 && fd0 != 0) {
        dup2(fd0, 0);
        close(fd0);
    }
    if (in) close(in[1]);
    execv(path, argv);
    int e = errno;
    ssize_t w = write(ex[1], &e, sizeof e);
    (void)w;
    _exit(127);
}

/* Writes the input to the child's stdin and closes it. */
static void feed(const int *in, const char *input, size_t inlen)
{
    close(in[0]);
    /* a program that exits without reading its input must not kill us */
    void (*prev)(int) = signal(SIGPIPE, SIG_IGN);
    for (size_t off = 0; off < inlen;) {
        ssize_t w = write(in[1], input + off, inlen - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(in[1]);
    signal(SIGPIPE, prev);
}

int cli_run_program(const char *cmd, const char *path, char *const argv[], const char *input, size_t inlen)
{
    int in[2] = {-1, -1}, ex[2];
    if (input && pipe(in) != 0) {
        fprintf(stderr, "adscope %s: cannot run %s: %s\n", cmd, path, strerror(errno));
        return -1;
    }
    /* the child reports a failed exec through a close-on-exec pipe */
    if (pipe(ex) != 0) {
        fprintf(stderr, "adscope %s: cannot run %s: %s\n", cmd, path, strerror(errno));
        if (input) close(in[0]), close(in[1]);
        return -1;
    }
    fcntl(ex[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL); /* our buffered output comes before the program's */
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "adscope %s: cannot run %s: %s\n", cmd, path, strerror(errno));
        if (input) close(in[0]), close(in[1]);
        close(ex[0]);
        close(ex[1]);
        return -1;
    }
    if (pid == 0) exec_child(path, argv, input ? in : NULL, ex);
    close(ex[1]);
    if (input) feed(in, input, inlen);
    int e = 0;
    ssize_t r;
    do r = read(ex[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(ex[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (r == (ssize_t)sizeof e) {
        fprintf(stderr, "adscope %s: cannot run %s: %s\n", cmd, path, strerror(e));
        return -1;
    }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* appends s to the growing buffer *b (length *len, capacity *cap) */
static bool append(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = (*cap ? *cap * 2 : 256);
        while (c < *len + n + 1) c *= 2;
        char *nb = realloc(*b, c);
        if (!nb) return false;
        *b = nb;
        *cap = c;
    }
    memcpy(*b + *len, s, n);
    *len += n;
    (*b)[*len] = '\0';
    return true;
}

int cli_gnuplot_run(const char *cmd, const char *gnuplot, const char *script, int nvars, const cli_gp_var *vars)
{
    char *e = NULL;
    size_t len = 0, cap = 0;
    bool ok = append(&e, &len, &cap, "", 0);
    for (int i = 0; ok && i < nvars; i++) {
        ok = append(&e, &len, &cap, vars[i].name, strlen(vars[i].name)) && append(&e, &len, &cap, "=", 1);
        if (vars[i].text) {
            /* a gnuplot single-quoted string: '' is a quote, nothing else is special */
            ok = ok && append(&e, &len, &cap, "'", 1);
            for (const char *p = vars[i].text; ok && *p; p++) {
                if (*p == '\'') ok = append(&e, &len, &cap, "''", 2);
                else if (*p == '\n' || *p == '\r') ok = append(&e, &len, &cap, " ", 1);
                else ok = append(&e, &len, &cap, p, 1);
            }
            ok = ok && append(&e, &len, &cap, "'", 1);
        } else {
            char num[64];
            if (isfinite(vars[i].num)) snprintf(num, sizeof num, "%.17g", vars[i].num);
            else snprintf(num, sizeof num, "NaN");
            ok = ok && append(&e, &len, &cap, num, strlen(num));
        }
        ok = ok && append(&e, &len, &cap, "; ", 2);
    }
    if (!ok) {
        free(e);
        fprintf(stderr, "adscope %s: out of memory\n", cmd);
        return CLI_USAGE;
    }
    char *argv[] = {(char *)gnuplot, (char *)"-e", e, (char *)script, NULL};
    int st = cli_run_program(cmd, gnuplot, argv, NULL, 0);
    free(e);
    if (st == 0) return CLI_OK;
    if (st > 0)
        fprintf(stderr, "adscope %s: gnuplot (%s) failed on %s with exit status %d; its messages are above\n", cmd,
                gnuplot, script, st);
    return CLI_USAGE;
}

/* ---- formats, terminals, files -------------------------------------------------------------- */

bool cli_ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    if (k > n) return false;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)path[n - k + i]) != tolower((unsigned char)suffix[i])) return false;
    return true;
}

int cli_chart_format(const char *cmd, const char *format, const char *out, const char *dflt, const char **fmt)
{
    static const char *const known[] = {"png", "svg", "dumb"};
    const char *f = format;
    if (f && out && ((strcmp(f, "png") == 0 && cli_ends_with(out, ".svg")) ||
                     (strcmp(f, "svg") == 0 && cli_ends_with(out, ".png")))) {
        fprintf(stderr, "adscope %s: --format %s does not match the name %s\n", cmd, f, out);
        return CLI_USAGE;
    }
    if (!f && out) {
        if (cli_ends_with(out, ".png")) f = "png";
        else if (cli_ends_with(out, ".svg")) f = "svg";
    }
    if (!f) f = dflt;
    if (!f) {
        fprintf(stderr, "adscope %s: which format? '%s' ends in neither .png nor .svg: add --format png|svg|dumb\n",
                cmd, out ? out : "");
        return CLI_USAGE;
    }
    for (int i = 0; i < 3; i++)
        if (strcmp(f, known[i]) == 0) {
            *fmt = known[i];
            return CLI_OK;
        }
    fprintf(stderr, "adscope %s: --format must be png, svg or dumb, not '%s'\n", cmd, f);
    return CLI_USAGE;
}

void cli_term_size(int *cols, int *rows)
{
    int c = 0;
    const char *env = getenv("COLUMNS");
    if (env && *env) c = atoi(env);
    struct winsize ws;
    if (c <= 0 && isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0) c = ws.ws_col;
    if (c <= 0) c = 100;
    if (c < 60) c = 60;
    if (c > 200) c = 200;
    *cols = c;
    int r = c / 3 + 4;
    *rows = r < 24 ? 24 : r > 50 ? 50 : r;
}

int cli_mkdirs(const char *cmd, const char *dir)
{
    char buf[CLI_PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        fprintf(stderr, "adscope %s: directory name too long: %s\n", cmd, dir);
        return CLI_USAGE;
    }
    for (char *p = buf + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            char save = *p;
            *p = '\0';
            struct stat sb;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "adscope %s: cannot create directory %s: %s\n", cmd, buf, strerror(errno));
                return CLI_USAGE;
            }
            if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                fprintf(stderr, "adscope %s: %s exists and is not a directory\n", cmd, buf);
                return CLI_USAGE;
            }
            *p = save;
        }
        if (end) break;
    }
    return CLI_OK;
}

int cli_tmpdir(const char *cmd, char *out, size_t n)
{
    const char *t = getenv("TMPDIR");
    if (!t || !*t) t = "/tmp";
    if (snprintf(out, n, "%s/adscope-XXXXXX", t) >= (int)n || !mkdtemp(out)) {
        fprintf(stderr, "adscope %s: cannot create a temporary directory in %s: %s\n", cmd, t, strerror(errno));
        return CLI_USAGE;
    }
    return CLI_OK;
}

static void rm_level(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char p[CLI_PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p) continue;
        struct stat sb;
        if (lstat(p, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth > 0) rm_level(p, depth - 1);
        } else {
            unlink(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

void cli_rmdir_tree(const char *dir)
{
    if (dir && *dir) rm_level(dir, 1);
}

void cli_gp_title_line(FILE *f, const char *text)
{
    fputc('"', f);
    for (const char *p = text; *p; p++) fputc(*p == '"' ? '\'' : (*p == '\n' || *p == '\r') ? ' ' : *p, f);
    fputs("\"\n", f);
}

void cli_replace_ext(char *out, size_t n, const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path, *dot = strrchr(base, '.');
    size_t keep = dot && dot != base ? (size_t)(dot - path) : strlen(path);
    snprintf(out, n, "%.*s%s", (int)keep, path, ext);
}

int cli_chart_setup(cli_chart *c, const char *cmd, const char *chart, const char *out, const char *format)
{
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->out = out;
    c->draw = out || format;
    if (!c->draw) return CLI_OK;
    if (cli_chart_format(cmd, format, out, NULL, &c->fmt) != CLI_OK) return CLI_USAGE;
    if (strcmp(c->fmt, "dumb") != 0 && !out) {
        fprintf(stderr, "adscope %s: --format %s needs --out FILE\n", cmd, c->fmt);
        return CLI_USAGE;
    }
    if (out && (cli_ends_with(out, ".dat") || strlen(out) > CLI_PATH_MAX / 2)) {
        fprintf(stderr, "adscope %s: --out %s: the chart cannot be a .dat file (its data goes there)\n", cmd, out);
        return CLI_USAGE;
    }
    /* find the tools before the work */
    if (cli_gnuplot_locate(cmd, c->gnuplot, sizeof c->gnuplot) != CLI_OK ||
        cli_plot_script(cmd, chart, c->script, sizeof c->script) != CLI_OK)
        return CLI_USAGE;
    return CLI_OK;
}

FILE *cli_chart_data(cli_chart *c, const char *name)
{
    if (c->out) {
        cli_replace_ext(c->data, sizeof c->data, c->out, ".dat");
    } else if (cli_tmpdir(c->cmd, c->tmp, sizeof c->tmp) == CLI_OK) {
        if (snprintf(c->data, sizeof c->data, "%s/%s.dat", c->tmp, name) >= (int)sizeof c->data) c->data[0] = '\0';
    } else {
        return NULL;
    }
    FILE *f = fopen(c->data, "w");
    if (!f) fprintf(stderr, "adscope %s: cannot write %s\n", c->cmd, c->data);
    return f;
}

int cli_chart_data_done(cli_chart *c, FILE *f, int rc)
{
    if (fclose(f) != 0 && rc == CLI_OK) {
        fprintf(stderr, "adscope %s: cannot write %s\n", c->cmd, c->data);
        rc = CLI_USAGE;
    }
    return rc;
}

void cli_chart_cleanup(cli_chart *c)
{
    if (*c->tmp) cli_rmdir_tree(c->tmp);
    c->tmp[0] = '\0';
}
