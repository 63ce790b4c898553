/* ref_rope.c — CPU reference for RoPE (spec §4.5, §4.6; ggml rope_multi semantics),
 * angles in double: θ = pos · base^(−2e/n_dims). */
#include <math.h>

#include "ref.h"

void ref_rope(float *y, const float *x, const int32_t *pos, int64_t hd, int64_t H, int64_t T, int mode, int n_dims, float base,
              const int sections[4]) {
    int64_t half = mode == REF_ROPE_VISION ? n_dims : n_dims / 2;
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            const float *xr = x + (t * H + h) * hd;
            float *yr = y + (t * H + h) * hd;
            for (int64_t d = 2 * half; d < hd; d++) yr[d] = xr[d];
            for (int64_t j = 0; j < half; j++) {
                int comp = 0;
                int64_t e = j;
                if (mode == REF_ROPE_MROPE || mode == REF_ROPE_IMROPE) {
                    int64_t s0 = sections[0], s1 = sections[1], s2 = sections[2];
                    int64_t sector = j % (s0 + s1 + s2 + sections[3]);
                    if (mode == REF_ROPE_MROPE) {
                        comp = sector < s0 ? 0 : sector < s0 + s1 ? 1 : sector < s0 + s1 + s2 ? 2 : 3;
                    } else {
                        if (sector % 3 == 1 && sector < 3 * s1) comp = 1;
                        else if (sector % 3 == 2 && sector < 3 * s2) comp = 2;
                        else if (sector % 3 == 0 && sector < 3 * s0) comp = 0;
                        else comp = 3;
                    }
                } else if (mode == REF_ROPE_VISION) {
                    int64_t sector = j % (sections[0] + sections[1]);
                    comp = sector < sections[0] ? 0 : 1;
                    e = sector < sections[0] ? sector : sector - sections[0];
                }
                double p = mode == REF_ROPE_NEOX ? pos[t] : pos[comp * T + t];
                double th = p * pow((double)base, -2.0 * (double)e / n_dims);
                double c = cos(th), s = sin(th), x0 = xr[j], x1 = xr[j + half];
                yr[j] = (float)(x0 * c - x1 * s);
                yr[j + half] = (float)(x0 * s + x1 * c);
            }
        }
}

void ref_rope_ff(float *y, const float *x, const int32_t *pos, int64_t hd, int64_t H, int64_t T, int n_dims, float base,
                 const float *ff) {
    int64_t half = n_dims / 2;
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            const float *xr = x + (t * H + h) * hd;
            float *yr = y + (t * H + h) * hd;
            for (int64_t d = 2 * half; d < hd; d++) yr[d] = xr[d];
            for (int64_t j = 0; j < half; j++) {
                double th = (double)pos[t] * pow((double)base, -2.0 * (double)j / n_dims) / (double)ff[j];
                double c = cos(th), s = sin(th), x0 = xr[j], x1 = xr[j + half];
                yr[j] = (float)(x0 * c - x1 * s);
                yr[j + half] = (float)(x0 * s + x1 * c);
            }
        }
}
