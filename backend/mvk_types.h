/* mvk_types.h — element types shared by every layer, with ggml's numbering
 * (GGUF tensor type ids), and scalar conversions used by the CPU references,
 * the GGUF loader and the tests.
 *
 * Q8_0 follows the GGUF block layout: blocks of 32 values, each
 * { f16 d; int8 qs[32]; } = 34 bytes, value = d * qs[i]. */
#ifndef MVK_TYPES_H
#define MVK_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef enum mvk_type {
    MVK_TYPE_F32 = 0,
    MVK_TYPE_F16 = 1,
    MVK_TYPE_Q8_0 = 8,
    MVK_TYPE_I32 = 26,
    MVK_TYPE_BF16 = 30,
} mvk_type;

#define MVK_QK8_0 32

typedef struct mvk_block_q8_0 {
    uint16_t d;              /* f16 scale */
    int8_t qs[MVK_QK8_0];    /* quants */
} mvk_block_q8_0;            /* 34 bytes, no padding */

/* Name ("f32", "q8_0", ...) or NULL for a type moevk does not handle. */
const char *mvk_type_name(mvk_type t);
/* 1 for types moevk can compute with, else 0. */
int mvk_type_supported(mvk_type t);
/* Elements per block (32 for Q8_0, else 1) and bytes per block. 0 if unknown. */
int64_t mvk_type_block_elems(mvk_type t);
int64_t mvk_type_block_bytes(mvk_type t);
/* Bytes of a row of n elements (n must be a multiple of the block size); -1 if invalid. */
int64_t mvk_row_bytes(mvk_type t, int64_t n);

float mvk_f16_to_f32(uint16_t h);
uint16_t mvk_f32_to_f16(float f);      /* round to nearest even */
float mvk_bf16_to_f32(uint16_t h);
uint16_t mvk_f32_to_bf16(float f);     /* round to nearest even */

/* Dequantise n elements (n a multiple of the block size) of type t into dst. */
void mvk_dequantize_row(mvk_type t, const void *src, float *dst, int64_t n);
/* Quantise n floats (n a multiple of 32) to Q8_0 blocks the way ggml does. */
void mvk_quantize_row_q8_0(const float *src, mvk_block_q8_0 *dst, int64_t n);

#endif
