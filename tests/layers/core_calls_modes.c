/* tests/layers/core_calls_modes.c — a core file that breaks the layering:
 * it calls a driver (modes/).  Linked into the core's check it must fail
 * with an undefined reference (test layers_core_cannot_call_modes). */
#include <adscope.h>

int adscope_probe_upward(const ad_problem *p);
int adscope_probe_upward(const ad_problem *p)
{
    ad_tensor *value = NULL, *grad = NULL;
    return ad_value_and_grad(NULL, p, NULL, &value, &grad, NULL, NULL);
}
