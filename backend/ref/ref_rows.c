/* ref_rows.c — CPU references for get_rows, set_rows and F32 <-> F16 convert. */
#include "ref.h"

void ref_get_rows(float *y, const float *table, int64_t D, int64_t V, const int32_t *ids, int64_t T) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t d = 0; d < D; d++) y[t * D + d] = (ids[t] >= 0 && ids[t] < V) ? table[(int64_t)ids[t] * D + d] : 0.0f;
}

void ref_set_rows(float *dst, int64_t D, int64_t R, const float *src, const int32_t *idx, int64_t T, int to_f16) {
    for (int64_t t = 0; t < T; t++) {
        if (idx[t] < 0 || idx[t] >= R) continue;
        for (int64_t d = 0; d < D; d++) {
            float v = src[t * D + d];
            dst[(int64_t)idx[t] * D + d] = to_f16 ? mvk_f16_to_f32(mvk_f32_to_f16(v)) : v;
        }
    }
}
