#include "helpers.h"
TestSuite(smoke, .init = th_setup, .fini = th_teardown);

static ad_tensor *f_sin_mul(ad_tensor *const *in, void *ud)
{
    (void)ud;
    return ad_mul(ad_sin(in[0]), in[1]);
}

Test(smoke, rules_of_sin_times)
{
    ad_tensor *in[2] = {th_vals(AD_SHAPE(2, 3), 0.5, 1), th_vals(AD_SHAPE(3), -0.2, 2)};
    th_check_rules(f_sin_mul, NULL, 2, in, 1e-6, true);
}
