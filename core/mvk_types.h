/* mvk_types.h — element types shared by every layer, with ggml's numbering
 * (GGUF tensor type ids), their facts (one row each in mvk_type_table.h),
 * the device layout of weight rows, and the scalar conversions used by the
 * CPU references, the GGUF loader and the tests.
 *
 * Quantised types follow ggml's block formats (ggml-common.h) in files and
 * on the host. On the device a row is repacked (mvk_repack_rows): the quant
 * part of every block first, then the scale part of every block, padded to
 * 16 bytes (docs/QUANT_LAYOUTS.md). F32, F16 and BF16 rows are stored as is. */
#ifndef MVK_TYPES_H
#define MVK_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef enum mvk_type {
#define MVK_WTYPE(ID, name, sfx, gid, be, bb, so, sb, nf, deq) MVK_TYPE_##ID = gid,
#define MVK_OTYPE(ID, name, gid, eb) MVK_TYPE_##ID = gid,
#include "mvk_type_table.h"
#undef MVK_WTYPE
#undef MVK_OTYPE
} mvk_type;

/* A CPU dequantiser: nb ggml blocks at src -> nb * block_elems floats. */
typedef void (*mvk_deq_fn)(const uint8_t *src, float *dst, int64_t nb);
/* A device-only type's maker: nb blocks of its file type at src -> nb of its own blocks at dst (host layout). */
typedef void (*mvk_widen_fn)(const uint8_t *src, uint8_t *dst, int64_t nb);

typedef struct mvk_type_info {
    mvk_type type;
    const char *name;        /* ggml's name: "q4_K" */
    const char *suffix;      /* shader suffix: "q4_k"; NULL for non-weight types */
    int64_t block_elems, block_bytes;
    uint32_t s_off, s_bytes; /* scale part of a ggml block (device layout); 0 bytes: stored as is */
    uint32_t n_f16;          /* leading f16 values of the scale part */
    uint32_t unit;           /* shader addressing unit in bytes (4 for quantised types) */
    mvk_deq_fn deq;          /* NULL for non-weight types */
    int from;                /* device-only types (MVK_DTYPE): the file type they are made from; -1 for the others */
    mvk_widen_fn widen;      /* device-only types: from's blocks -> this type's; NULL for the others */
} mvk_type_info;

/* The table row of t, NULL if moevk does not know the type. */
const mvk_type_info *mvk_type_get(mvk_type t);
/* Rows in table order (n_out: count), for listings and tests. */
const mvk_type_info *mvk_type_all(int *n_out);

/* Name ("f32", "q4_K", ...) or NULL for a type moevk does not handle. */
const char *mvk_type_name(mvk_type t);
/* 1 for types moevk can compute with, else 0. */
int mvk_type_supported(mvk_type t);
/* 1 for types the weight ops take (everything but I32). */
int mvk_type_is_weight(mvk_type t);
/* 1 for the weight types a GGUF file may hold: every weight type but the device-only ones. */
int mvk_type_in_files(mvk_type t);
/* The device-only type made from file type t at load (Q6_K -> Q6_K8), or t itself where there is none. */
mvk_type mvk_type_widened(mvk_type t);
/* Converts rows of n elements of `to`'s file type (mvk_type_info.from; file layout, contiguous rows of
 * mvk_row_bytes) into rows of device-only type `to` in its host layout (contiguous rows of mvk_row_bytes(to)),
 * which mvk_repack_rows then takes to the device layout. Exact: the values are the source's, bit for bit.
 * Returns 0, or -1 (nothing written) where `to` is not a device-only type or n is not whole blocks. */
int mvk_widen_rows(mvk_type to, const void *src, void *dst, int64_t n, int64_t rows);
/* 1 for block-quantised types (repacked on the device). */
int mvk_type_is_quant(mvk_type t);
/* Elements per block (32 or 256 for quantised types, else 1) and bytes per block. 0 if unknown. */
int64_t mvk_type_block_elems(mvk_type t);
int64_t mvk_type_block_bytes(mvk_type t);
/* Bytes of a row of n elements in the file / host layout (n a multiple of the block size); -1 if invalid. */
int64_t mvk_row_bytes(mvk_type t, int64_t n);
/* Bytes of a row of n elements in the device layout (quantised: padded to 16); -1 if invalid. */
int64_t mvk_dev_row_bytes(mvk_type t, int64_t n);
/* Repacks rows of n elements from the file layout (contiguous rows of
 * mvk_row_bytes) into the device layout (rows of mvk_dev_row_bytes, padding
 * zeroed). Plain types are copied. */
void mvk_repack_rows(mvk_type t, const void *src, void *dst, int64_t n, int64_t rows);

/* The row-interleaved device layout for the CPU devices' lane kernels (docs/QUANT_LAYOUTS.md, "Interleaved
 * rows"): rows of row_bytes (a multiple of 16) in groups of g rows; group k holds rows g k .. g k + g - 1 and
 * 16-byte unit j of its row g k + l sits at group_base(k) + 16 (w j + l), w = the group's rows (g; the last
 * group's may be fewer: min(g, rows - g k), so the bytes stay those of the plain rows, group_base(k) =
 * g k row_bytes). Eight lanes reading unit j of their rows then read 8 x 16 contiguous bytes
 * (docs/PERFORMANCE.md section 42). An exact permutation of 16-byte units; dst and src must not overlap.
 * Returns 0, or -1 for row_bytes not a positive multiple of 16, rows < 0 or g < 1 (nothing written). */
int mvk_interleave_rows(void *dst, const void *src, int64_t row_bytes, int64_t rows, int64_t g);
/* Its inverse: interleaved groups back to plain rows. Same arguments and returns. */
int mvk_deinterleave_rows(void *dst, const void *src, int64_t row_bytes, int64_t rows, int64_t g);

float mvk_f16_to_f32(uint16_t h);
uint16_t mvk_f32_to_f16(float f);      /* round to nearest even */
float mvk_bf16_to_f32(uint16_t h);
uint16_t mvk_f32_to_bf16(float f);     /* round to nearest even */

/* Dequantise n elements (n a multiple of the block size) of type t, file layout, into dst. */
void mvk_dequantize_row(mvk_type t, const void *src, float *dst, int64_t n);

/* Q8_0 (ggml block_q8_0): 32 values per { f16 d; int8 qs[32]; } = 34 bytes. */
#define MVK_QK8_0 32
typedef struct mvk_block_q8_0 {
    uint16_t d;              /* f16 scale */
    int8_t qs[MVK_QK8_0];    /* quants */
} mvk_block_q8_0;            /* 34 bytes, no padding */
/* Quantise n floats (n a multiple of 32) to Q8_0 blocks the way ggml does. */
void mvk_quantize_row_q8_0(const float *src, mvk_block_q8_0 *dst, int64_t n);

/* nb random blocks of type t in ggml's layout (core/mvk_dequant.c): quant bytes
 * random, f16 scale fields (the table's n_f16) of magnitude 2^-9..2^-4 with random signs,
 * MXFP4 exponents 118..130; a device-only type: random blocks of its file type, widened (so its
 * bytes stay in the domain its kernels assume). Deterministic in seed. For tests and benchmarks. */
void mvk_random_blocks(mvk_type t, uint8_t *dst, int64_t nb, uint64_t seed);

/* The CPU dequantisers and the device-only types' makers the table names (core/mvk_dequant.c). */
#define MVK_WTYPE(ID, name, sfx, gid, be, bb, so, sb, nf, deq) void deq(const uint8_t *src, float *dst, int64_t nb);
#define MVK_DTYPE(ID, name, sfx, gid, be, bb, so, sb, nf, deq, from, widen) \
    void deq(const uint8_t *src, float *dst, int64_t nb);                      \
    void widen(const uint8_t *src, uint8_t *dst, int64_t nb);
#define MVK_OTYPE(ID, name, gid, eb)
#include "mvk_type_table.h"
#undef MVK_WTYPE
#undef MVK_DTYPE
#undef MVK_OTYPE

#endif
