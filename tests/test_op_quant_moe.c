/* test_op_quant_moe.c — test_op_quant.c's mul_mat_id cases (decode mat-vec
 * and grouped GEMM, every quantised type) and the GPU kernel styles, as a
 * ctest entry of its own. */
#define TQ_MOE 1
#include "test_op_quant.c"
