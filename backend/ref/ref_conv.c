/* ref_conv.c — CPU references for im2col and the patch-embedding conv2d
 * (stride = kernel = p, no padding), the latter as a direct convolution. */
#include "ref.h"

void ref_im2col(float *cols, const float *img, int64_t W, int64_t H, int64_t C, int p) {
    int64_t gx = W / p, gy = H / p, K = (int64_t)p * p * C;
    for (int64_t r = 0; r < gy; r++)
        for (int64_t c = 0; c < gx; c++)
            for (int64_t ch = 0; ch < C; ch++)
                for (int64_t ky = 0; ky < p; ky++)
                    for (int64_t kx = 0; kx < p; kx++)
                        cols[(r * gx + c) * K + kx + p * ky + (int64_t)p * p * ch] = img[(ch * H + r * p + ky) * W + c * p + kx];
}

void ref_conv2d_patch(float *y, const float *img, int64_t W, int64_t H, int64_t C, const float *w, int p, int64_t OC,
                      const float *bias) {
    int64_t gx = W / p, gy = H / p;
    for (int64_t r = 0; r < gy; r++)
        for (int64_t c = 0; c < gx; c++)
            for (int64_t oc = 0; oc < OC; oc++) {
                double acc = bias ? bias[oc] : 0.0;
                for (int64_t ch = 0; ch < C; ch++)
                    for (int64_t ky = 0; ky < p; ky++)
                        for (int64_t kx = 0; kx < p; kx++)
                            acc += (double)w[((oc * C + ch) * p + ky) * p + kx] * img[(ch * H + r * p + ky) * W + c * p + kx];
                y[(r * gx + c) * OC + oc] = (float)acc;
            }
}
