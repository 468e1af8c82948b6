/* bench/gradbench/evals.c — the one table of the GradBench evals this build
 * implements: the protocol's define and evaluate, the tests and the
 * harness's gb: names all read it. */
#include <string.h>

#include "gradbench.h"

const gb_eval *const gb_evals[] = {
    &gb_eval_hello, &gb_eval_llsq, &gb_eval_lse, &gb_eval_det,  &gb_eval_ode,
    &gb_eval_kmeans, &gb_eval_gmm,  &gb_eval_lstm, &gb_eval_ba, &gb_eval_ht, &gb_eval_particle, &gb_eval_saddle, NULL,
};

const gb_eval *gb_eval_find(const char *name)
{
    for (int i = 0; name && gb_evals[i]; i++)
        if (strcmp(gb_evals[i]->name, name) == 0) return gb_evals[i];
    return NULL;
}

const gb_function *gb_function_find(const gb_eval *e, const char *name)
{
    for (int i = 0; e && name && i < e->nfunctions; i++)
        if (strcmp(e->functions[i].name, name) == 0) return &e->functions[i];
    return NULL;
}
