/* src/version.c — the version of the library linked in. */
#include "internal.h"

const char *ad_version_string(void) { return AD_VERSION_STRING; }
