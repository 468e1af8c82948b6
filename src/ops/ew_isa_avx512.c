/* src/ops/ew_isa_avx512.c — the contiguous elementwise loops of ew_isa.h
 * compiled with -mavx512f -ffp-contract=off (CMakeLists.txt): eight
 * doubles an instruction.  Called only after ew_isa.c found AVX-512F at
 * run time; without the flag (another architecture) the table is empty. */
#include <stddef.h>

#if defined(__AVX512F__)
#define EW_ISA_TABLE ad_ew_isa_avx512
#include "ew_isa_body.h"
#else
#include "ew_isa.h"
const ad_ew_isa_tab ad_ew_isa_avx512 = {{NULL}};
#endif
