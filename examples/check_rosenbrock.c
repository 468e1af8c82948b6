/* examples/check_rosenbrock.c — the same check as
 *     adscope check --plugin ./plugin_rosenbrock.so:rosenbrock --grad-symbol rosenbrock_grad_wrong ...
 * through the C API: load the plugin, run ad_gradcheck with the hand-written
 * gradient, print the report.  Usage: check_rosenbrock [PLUGIN.so] [GRADIENT]
 * Exit status 0 when the check passes, 1 when it fails. */
#include <adscope.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "./plugin_rosenbrock.so";
    const char *gname = argc > 2 ? argv[2] : "rosenbrock_grad_wrong";
    void *dl = dlopen(path, RTLD_NOW);
    if (!dl) {
        fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
        return 2;
    }
    void *fsym = dlsym(dl, "rosenbrock"), *gsym = dlsym(dl, gname);
    if (!fsym || !gsym) {
        fprintf(stderr, "%s lacks rosenbrock or %s\n", path, gname);
        dlclose(dl);
        return 2;
    }
    ad_fn f;
    ad_user_grad_fn g;
    memcpy(&f, &fsym, sizeof f); /* POSIX: dlsym results convert to function pointers */
    memcpy(&g, &gsym, sizeof g);

    ad_ctx *ctx = ad_ctx_new();
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_linspace(ctx, 0, 1, 6);
    ad_problem p = {.ctx = ctx, .f = f, .nin = 1, .in = &x};
    ad_gradcheck_options o = ad_gradcheck_defaults();
    o.user_grad = g;
    o.names = (const char *[]){"x"};
    ad_gradcheck_report r;
    int rc = ad_gradcheck(&p, &o, &r);
    if (rc == AD_OK) ad_gradcheck_print(stdout, &r, &p, (const char *[]){"x"});
    else fprintf(stderr, "gradcheck could not run: %s\n", ad_errmsg(ctx));
    int status = rc != AD_OK ? 2 : r.passed ? 0 : 1;
    ad_gradcheck_report_free(&r);
    ad_scope_end(ctx, s, NULL);
    ad_ctx_free(ctx);
    dlclose(dl);
    return status;
}
