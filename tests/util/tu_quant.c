/* tu_quant.c — see tu_quant.h. */
#include "tu_quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tu_rand_blocks(mvk_type t, uint8_t *dst, int64_t nb, uint64_t seed) { mvk_random_blocks(t, dst, nb, seed); }

uint8_t *tu_quant_weights(mvk_type t, int64_t K, int64_t rows, uint64_t seed, float **wd) {
    int64_t nb = K / mvk_type_block_elems(t) * rows;
    uint8_t *blk = malloc((size_t)(nb * mvk_type_block_bytes(t)));
    float *d = malloc((size_t)(K * rows) * 4);
    *wd = NULL;
    if (!blk || !d) {
        free(blk);
        free(d);
        return NULL;
    }
    tu_rand_blocks(t, blk, nb, seed);
    mvk_dequantize_row(t, blk, d, K * rows);
    *wd = d;
    return blk;
}

int64_t tu_first_bit_diff(const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (isnan(a[i]) && isnan(b[i])) continue;
        if (memcmp(&a[i], &b[i], 4)) return i;
    }
    return -1;
}

int tu_quant_types(mvk_type *out, int max) {
    int n, k = 0;
    const mvk_type_info *all = mvk_type_all(&n);
    for (int i = 0; i < n && k < max; i++)
        if (all[i].s_bytes) out[k++] = all[i].type;
    return k;
}
