/* tests/install/consumer/consumer.c — a program outside the project, built
 * against an installed adscope only (install_consume.sh): with pkg-config
 * (shared and static) and with CMake's find_package.  It checks that the
 * headers and the library it runs with are the same version, then uses the
 * tape (reverse mode) and the BLAS (a matrix product). */
#include <stdio.h>
#include <string.h>

#include <adscope.h>

int main(void)
{
    if (strcmp(ad_version_string(), AD_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: headers of adscope %s, library %s\n", AD_VERSION_STRING, ad_version_string());
        return 1;
    }
    ad_ctx *ctx = ad_ctx_new();
    if (!ctx) return 1;
    ad_scope s = ad_scope_begin(ctx);
    ad_tensor *x = ad_arange_n(ctx, 4);
    ad_requires_grad_(x, true);
    ad_tensor *y = ad_mul_s(ad_dot(x, x), 2);
    int rc = ad_backward(y, NULL, 0);
    ad_print(ad_grad(x));
    ad_tensor *A = ad_reshape(ad_arange_n(ctx, 6), AD_SHAPE(2, 3));
    ad_print(ad_mm(A, ad_T(A)));
    /* a CSV table: pulls libcsv into a static link, as Libs.private says */
    static const char csv[] = "rooms,price\n3,127500\n2,106000\n";
    ad_frame *fr = ad_frame_parse_csv(ctx, csv, sizeof csv - 1, "inline");
    ad_print(ad_frame_tensor(fr));
    ad_frame_free(fr);
    bool failed = rc != AD_OK || ad_errno(ctx) != AD_OK;
    if (failed) fprintf(stderr, "consumer: %s\n", ad_errmsg(ctx));
    ad_scope_end(ctx, s, NULL);
    ad_ctx_free(ctx);
    return failed ? 1 : 0;
}
