/* tests/test_threads_setter.c — the intra-op thread setting
 * (include/adscope/threads.h): the setter and its errors, the BLAS
 * following it, chunks that really run on several threads (with OpenMP),
 * and results bit-identical to one thread's for elementwise kernels
 * (contiguous, broadcast, strided through the iterator) and for large sums
 * and means (the parallel pairwise tree, src/ops/reduce.c). */
#include <pthread.h>
#include <string.h>

#include "helpers.h"
#include "threads.h" /* src/threads.h: ad_par_* */

TestSuite(threads_setter, .init = th_setup, .fini = th_teardown);

static char last_msg[512];
static int last_status;
static void remember(const ad_ctx *c, int status, const char *msg)
{
    (void)c;
    last_status = status;
    snprintf(last_msg, sizeof last_msg, "%s", msg);
}

Test(threads_setter, setter_and_its_errors, .description = "1 by default; 1..AD_MAX_THREADS accepted; 0, -3 and too many refused, naming the count, setting unchanged")
{
    cr_expect_eq(ad_get_num_threads(), 1, "the default is one thread");
    cr_assert_eq(ad_set_num_threads(3), AD_OK);
    cr_expect_eq(ad_get_num_threads(), 3);
    ad_error_handler prev = ad_set_error_handler(remember);
    const int bad[] = {0, -3, AD_MAX_THREADS + 1};
    for (int i = 0; i < 3; i++) {
        last_msg[0] = '\0';
        cr_expect_eq(ad_set_num_threads(bad[i]), AD_EINVAL, "%d threads accepted", bad[i]);
        cr_expect_eq(last_status, AD_EINVAL);
        char want[32];
        snprintf(want, sizeof want, "%d threads", bad[i]);
        cr_expect(strstr(last_msg, "set_num_threads") && strstr(last_msg, want), "message: %s", last_msg);
        cr_expect_eq(ad_get_num_threads(), 3, "a refused count changed the setting");
    }
    ad_set_error_handler(prev);
    cr_assert_eq(ad_set_num_threads(1), AD_OK);
}

Test(threads_setter, blas_follows, .description = "with OpenBLAS, its thread count is the setting")
{
    if (ad_blas_num_threads() < 0) cr_skip_test("the BLAS cannot be asked for its threads (%s)", ad_blas_name());
    cr_assert_eq(ad_set_num_threads(2), AD_OK);
    cr_expect_eq(ad_blas_num_threads(), 2);
    cr_assert_eq(ad_set_num_threads(1), AD_OK);
    cr_expect_eq(ad_blas_num_threads(), 1);
}

/* ---- chunks ----------------------------------------------------------------------------- */

#define MAXPARTS 8
typedef struct {
    int64_t lo[MAXPARTS], hi[MAXPARTS];
    pthread_t who[MAXPARTS];
    int n;
    pthread_mutex_t m;
} chunk_log;

static void log_chunk(int64_t lo, int64_t hi, void *ud)
{
    chunk_log *l = ud;
    pthread_mutex_lock(&l->m);
    if (l->n < MAXPARTS) {
        l->lo[l->n] = lo;
        l->hi[l->n] = hi;
        l->who[l->n] = pthread_self();
        l->n++;
    }
    pthread_mutex_unlock(&l->m);
}

Test(threads_setter, chunks_cover_in_order_on_several_threads, .description = "ad_par_chunks: parts chunks tiling [0, n), fixed by n and parts; two threads when OpenMP is built in")
{
    cr_assert_eq(ad_set_num_threads(4), AD_OK);
    cr_expect_eq(ad_par_threads(AD_PARALLEL_MIN - 1), 1, "below the threshold: one thread");
    int want = ad_threads_openmp() ? 2 : 1;
    cr_expect_eq(ad_par_threads(AD_PARALLEL_MIN), want, "at the threshold: two threads' work");
    cr_expect_eq(ad_par_threads(100 * (int64_t)AD_PARALLEL_MIN), ad_threads_openmp() ? 4 : 1, "capped by the setting");
    chunk_log l = {.n = 0};
    pthread_mutex_init(&l.m, NULL);
    ad_par_chunks(1000003, 4, log_chunk, &l);
    cr_assert_eq(l.n, 4);
    int64_t lo[4], hi[4];
    for (int k = 0; k < 4; k++) { /* sort by lo: threads finish in any order */
        int best = 0;
        for (int i = 1; i < l.n; i++)
            if (l.lo[i] < l.lo[best]) best = i;
        lo[k] = l.lo[best];
        hi[k] = l.hi[best];
        l.lo[best] = INT64_MAX;
    }
    cr_expect_eq(lo[0], 0);
    cr_expect_eq(hi[3], 1000003);
    for (int k = 0; k < 4; k++) {
        cr_expect_eq(lo[k], 1000003LL * k / 4, "chunk %d starts at %lld", k, (long long)lo[k]);
        if (k) cr_expect_eq(lo[k], hi[k - 1], "chunks %d and %d do not touch", k - 1, k);
    }
    bool several = false;
    for (int i = 1; i < 4; i++) several = several || !pthread_equal(l.who[i], l.who[0]);
    cr_expect_eq(several, ad_threads_openmp(), "chunks ran on %s thread(s)", several ? "several" : "one");
    pthread_mutex_destroy(&l.m);
    cr_assert_eq(ad_set_num_threads(1), AD_OK);
}

/* ---- bit-identical results ------------------------------------------------------------------ */

/* The bytes of t (contiguous copy) in a fresh malloc'ed buffer. */
static double *bytes_of(ad_tensor *t, int64_t *n)
{
    ad_tensor *c = ad_contiguous(t);
    cr_assert_not_null(c, "%s", ad_errmsg(ctx));
    *n = ad_numel(c);
    double *v = malloc((size_t)*n * sizeof *v);
    memcpy(v, ad_data(c), (size_t)*n * sizeof *v);
    return v;
}

typedef ad_tensor *(*compute_fn)(ad_tensor *a, ad_tensor *b);

static ad_tensor *c_add(ad_tensor *a, ad_tensor *b) { return ad_add(a, b); }
static ad_tensor *c_pow(ad_tensor *a, ad_tensor *b) { return ad_pow(ad_abs(a), b); }
static ad_tensor *c_bcast(ad_tensor *a, ad_tensor *b) /* [n/1000, 1000] * [1000]: the iterator's path */
{
    ad_tensor *m = ad_reshape(a, AD_SHAPE(ad_numel(a) / 1000, 1000));
    return ad_mul(m, ad_slice(b, 1, (ad_index[]){AD_S(0, 1000)}));
}
static ad_tensor *c_strided(ad_tensor *a, ad_tensor *b) /* a transposed matrix plus a stride-2 slice */
{
    ad_tensor *mt = ad_transpose(ad_reshape(a, AD_SHAPE(ad_numel(a) / 1000, 1000)), 0, 1);
    ad_tensor *s = ad_slice(b, 1, (ad_index[]){AD_SS(0, 2 * (ad_numel(a) / 2), 2)});
    return ad_add(ad_reshape(ad_mul(mt, mt), AD_SHAPE(-1)), ad_sum(ad_mul(s, s), AD_ALL, false));
}
static ad_tensor *c_sum(ad_tensor *a, ad_tensor *b)
{
    (void)b;
    return ad_sum(a, AD_ALL, false);
}
static ad_tensor *c_mean_strided(ad_tensor *a, ad_tensor *b)
{
    (void)a;
    return ad_mean(ad_slice(b, 1, (ad_index[]){AD_SS(1, ad_numel(b), 2)}), AD_ALL, false);
}
static ad_tensor *c_sum_large(ad_tensor *a, ad_tensor *b)
{
    return ad_sum(ad_concat((ad_tensor *[]){a, b, a, b, a}, 5, 0), AD_ALL, false);
}

static const struct {
    const char *what;
    compute_fn f;
} CASES[] = {
    {"add, contiguous", c_add},        {"pow, contiguous", c_pow},     {"mul, broadcast row", c_bcast},
    {"add of strided operands", c_strided}, {"sum", c_sum},           {"mean of a stride-2 view", c_mean_strided},
    {"sum of 5 n", c_sum_large},
};

Test(threads_setter, results_are_bit_identical_to_one_thread, .description = "every case on 2, 3, 4 and 7 threads gives exactly the bytes of 1 thread")
{
    int64_t n = 1000 * 401; /* ~12 x AD_PARALLEL_MIN, not a power of 2 */
    ad_tensor *a = ad_randn(ctx, AD_SHAPE(n)), *b = ad_randn(ctx, AD_SHAPE(n));
    cr_assert(a && b);
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        cr_assert_eq(ad_set_num_threads(1), AD_OK);
        ad_scope s = ad_scope_begin(ctx);
        int64_t n1, nk;
        double *one = bytes_of(CASES[c].f(a, b), &n1);
        ad_scope_end(ctx, s, NULL);
        const int threads[] = {2, 3, 4, 7};
        for (int t = 0; t < 4; t++) {
            cr_assert_eq(ad_set_num_threads(threads[t]), AD_OK);
            s = ad_scope_begin(ctx);
            double *many = bytes_of(CASES[c].f(a, b), &nk);
            ad_scope_end(ctx, s, NULL);
            cr_assert_eq(nk, n1);
            int64_t first = -1;
            for (int64_t i = 0; i < n1 && first < 0; i++)
                if (memcmp(&one[i], &many[i], sizeof(double)) != 0) first = i;
            cr_expect_eq(first, -1, "%s on %d threads: element %lld is %.17g, on one thread %.17g", CASES[c].what,
                         threads[t], (long long)first, first >= 0 ? many[first] : 0.0, first >= 0 ? one[first] : 0.0);
            free(many);
        }
        free(one);
    }
    cr_assert_eq(ad_set_num_threads(1), AD_OK);
}
