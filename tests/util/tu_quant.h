/* tu_quant.h — test helpers for the quantised weight types: random ggml
 * blocks with sane scales, bit-exact comparison of dequantised rows. */
#ifndef MOEVK_TU_QUANT_H
#define MOEVK_TU_QUANT_H

#include <stdint.h>

#include "mvk_types.h"

/* nb random blocks of type t (file layout): random quant bytes, f16 scale
 * fields (the table's n_f16) of magnitude 2^-9..2^-4 with random signs,
 * MXFP4 exponents 118..130. Deterministic in seed. */
void tu_rand_blocks(mvk_type t, uint8_t *dst, int64_t nb, uint64_t seed);
/* Random weights [K][rows] of quantised type t: tu_rand_blocks' blocks (returned, malloc'd) and their CPU
 * dequantisation in *wd (malloc'd). NULL (and *wd NULL) when out of memory. */
uint8_t *tu_quant_weights(mvk_type t, int64_t K, int64_t rows, uint64_t seed, float **wd);
/* Index of the first element whose bits differ (NaN matches any NaN), -1 if none. */
int64_t tu_first_bit_diff(const float *a, const float *b, int64_t n);
/* The weight types of the table that are quantised, in table order; returns the count. */
int tu_quant_types(mvk_type *out, int max);

#endif
