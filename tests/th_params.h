/* tests/th_params.h — ParameterizedTests over a static table of cases.
 *
 * Criterion runs each parameter as its own test, in its own process, and
 * copies the parameter into it: parameters must be plain data (numbers,
 * char arrays), never pointers.  For a table whose rows hold strings or
 * functions, the parameter is the row's index: the table itself is the
 * same in every process.  One case per test means a failing case cannot
 * hide the ones after it, and the report names it.
 *
 * Include after helpers.h (criterion.h must come before parameterized.h):
 *
 *   static const struct { const char *src; double want; } T[] = {...};
 *   ParameterizedTestParameters(suite, name) { TH_INDEX_PARAMS(TH_NELEMS(T)); }
 *   ParameterizedTest(int *i, suite, name) { ... T[*i] ... }
 */
#ifndef ADSCOPE_TH_PARAMS_H
#define ADSCOPE_TH_PARAMS_H

#include <criterion/parameterized.h>

#define TH_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The body of a ParameterizedTestParameters: the indices 0..n-1 (n a
 * constant expression). */
#define TH_INDEX_PARAMS(n)                                                      \
    do {                                                                        \
        static int th_index_[(n)];                                              \
        for (size_t th_i_ = 0; th_i_ < (size_t)(n); th_i_++) th_index_[th_i_] = (int)th_i_; \
        return cr_make_param_array(int, th_index_, (n));                        \
    } while (0)

#endif
