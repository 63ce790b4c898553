/* tu_quant.c — see tu_quant.h. */
#include "tu_quant.h"

#include <math.h>
#include <string.h>

static uint64_t next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

void tu_rand_blocks(mvk_type t, uint8_t *dst, int64_t nb, uint64_t seed) {
    const mvk_type_info *ti = mvk_type_get(t);
    if (!ti) return;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    int64_t n = nb * ti->block_bytes;
    for (int64_t i = 0; i < n; i++) dst[i] = (uint8_t)(next(&s) >> 24);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = dst + b * ti->block_bytes;
        if (t == MVK_TYPE_MXFP4) blk[ti->s_off] = (uint8_t)(118 + next(&s) % 13);
        for (uint32_t k = 0; k < ti->n_f16; k++) {
            uint64_t r = next(&s);
            float mag = ldexpf(1.0f + (float)(r % 1024) / 1024.0f, -9 + (int)((r >> 10) % 6));
            uint16_t h = mvk_f32_to_f16((r >> 20) & 1 ? -mag : mag);
            blk[ti->s_off + 2 * k] = (uint8_t)(h & 0xff);
            blk[ti->s_off + 2 * k + 1] = (uint8_t)(h >> 8);
        }
    }
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
