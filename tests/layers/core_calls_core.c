/* tests/layers/core_calls_core.c — the control of the layering test: a
 * core file calling the core links, so the failure of core_calls_modes.c
 * comes from the layering and not from the link command. */
#include <adscope.h>

ad_tensor *adscope_probe_sideways(ad_tensor *x);
ad_tensor *adscope_probe_sideways(ad_tensor *x) { return ad_sin(x); }
