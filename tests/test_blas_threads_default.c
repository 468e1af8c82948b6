/* tests/test_blas_threads_default.c — a program that never calls
 * ad_set_num_threads gets what threads.h promises, one thread, in the BLAS
 * too.  OpenBLAS starts with one thread per core of its own accord; before
 * ad_blas_threads_sync (src/threads.c) the library's products ran on every
 * core while ad_get_num_threads() said 1.  The BLAS is asked directly
 * (dlsym: only OpenBLAS has the function), after a product and without
 * going through ad_blas_num_threads, which syncs by itself. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(blas_threads_default, .init = th_setup, .fini = th_teardown);

typedef int (*get_threads_fn)(void);

static get_threads_fn blas_get(void)
{
    get_threads_fn f;
    void *p = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    memcpy(&f, &p, sizeof f); /* an object pointer to a function pointer, as POSIX allows */
    return f;
}

Test(blas_threads_default, first_product_runs_on_one_thread,
     .description = "no setter called: after mm, mv, dot the BLAS uses 1 thread (it started with one per core)")
{
    get_threads_fn get = blas_get();
    if (!get) cr_skip_test("the BLAS is not OpenBLAS (%s)", ad_blas_name());
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || get() < 2)
        cr_skip_test("OpenBLAS starts with %d thread(s) here: nothing to tell apart", get());
    ad_tensor *A = ad_ones(ctx, AD_SHAPE(3, 3)), *x = ad_ones(ctx, AD_SHAPE(3));
    ad_tensor *y = ad_mv(A, x);
    cr_assert(y, "%s", ad_errmsg(ctx));
    cr_expect_eq(get(), 1, "after mv the BLAS runs on %d threads, the setting is %d", get(), ad_get_num_threads());
    cr_expect_eq(ad_get_num_threads(), 1);
}

Test(blas_threads_default, setter_still_wins, .description = "a setting made before the first product is kept")
{
    get_threads_fn get = blas_get();
    if (!get) cr_skip_test("the BLAS is not OpenBLAS (%s)", ad_blas_name());
    cr_assert_eq(ad_set_num_threads(2), AD_OK);
    ad_tensor *A = ad_ones(ctx, AD_SHAPE(4, 4));
    cr_assert(ad_mm(A, A), "%s", ad_errmsg(ctx));
    cr_expect_eq(get(), 2, "the product kept the program's 2 threads");
    cr_assert_eq(ad_set_num_threads(1), AD_OK);
    cr_expect_eq(get(), 1);
}
