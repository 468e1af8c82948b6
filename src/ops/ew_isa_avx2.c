/* src/ops/ew_isa_avx2.c — the contiguous elementwise loops of ew_isa.h
 * compiled with -mavx2 -ffp-contract=off (CMakeLists.txt): four doubles an
 * instruction.  Called only after ew_isa.c found AVX2 at run time; without
 * the flag (another architecture) the table is empty. */
#include <stddef.h>

#if defined(__AVX2__)
#define EW_ISA_TABLE ad_ew_isa_avx2
#include "ew_isa_body.h"
#else
#include "ew_isa.h"
const ad_ew_isa_tab ad_ew_isa_avx2 = {{NULL}};
#endif
