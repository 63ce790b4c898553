/* ref_quant_x.c — CPU reference for vk_op_quant_x (shaders/quant_x.comp): int8 blocks of 32, f32 scales. */
#include <math.h>
#include <string.h>

#include "ref.h"

void ref_quant_x(uint32_t *xq, float *xd, const float *x, int64_t K, int64_t rows) {
    int64_t nb = K / 32, rq = K / 4 + 4 * ((K + 127) / 128);
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * K;
        uint32_t *qr = xq + r * rq;
        memset(qr, 0, (size_t)rq * 4);
        for (int64_t j = 0; j < nb; j++) {
            float amax = 0.0f;
            for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(xr[32 * j + i]));
            float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
            for (int i = 0; i < 32; i++) {
                float q = rintf(xr[32 * j + i] * id); /* round to nearest, ties to even: GLSL roundEven */
                int qi = q != q ? 0 : q > 127.0f ? 127 : q < -127.0f ? -127 : (int)q; /* NaN: 0 (the shader's is undefined) */
                qr[8 * j + i / 4] |= ((uint32_t)qi & 0xffu) << (8 * (i % 4));
                if (xd) xd[r * K + 32 * j + i] = (float)qi * d;
            }
            memcpy(&qr[K / 4 + j], &d, 4);
        }
    }
}

void ref_rms_norm_xq(float *y, uint32_t *xq, const float *x, const float *w, int64_t K, int64_t rows, float eps) {
    ref_rms_norm(y, x, w, K, rows, eps);
    ref_quant_x(xq, NULL, y, K, rows);
}

void ref_swiglu_xq(float *y, uint32_t *xq, const float *g, const float *u, int64_t K, int64_t rows) {
    ref_swiglu(y, g, u, K * rows);
    ref_quant_x(xq, NULL, y, K, rows);
}

void ref_geglu_xq(float *y, uint32_t *xq, const float *g, const float *u, int64_t K, int64_t rows) {
    ref_geglu(y, g, u, K * rows);
    ref_quant_x(xq, NULL, y, K, rows);
}
