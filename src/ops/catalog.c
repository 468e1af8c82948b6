/* src/ops/catalog.c — the public op catalogue (adscope/ops.h), generated
 * from ops.def like the descriptor table in record.c. */
#include "adscope/ops.h"

#include "op.h"

_Static_assert((unsigned)AD_OPINFO_ELEMENTWISE == (unsigned)AD_OPF_BROADCAST &&
                   (unsigned)AD_OPINFO_VARIADIC == (unsigned)AD_OPF_VARIADIC &&
                   (unsigned)AD_OPINFO_INTERNAL == (unsigned)AD_OPF_INTERNAL,
               "ops.h's AD_OPINFO_* must equal op.h's AD_OPF_* (the catalogue copies the flags)");

#define AD_OP(id, gname, nin, save, flags, family)                                                       \
    [AD_OP_##id] = {#id, gname, nin, (save) & AD_SAVE_ALL_IN, ((save) & AD_SAVE_OUT) != 0, (flags), #family},
static const ad_op_info catalog[AD_OP_COUNT] = {
#include "ops.def"
};
#undef AD_OP

int ad_op_count(void) { return AD_OP_COUNT; }

const ad_op_info *ad_op_info_at(int i) { return i >= 0 && i < AD_OP_COUNT ? &catalog[i] : NULL; }
