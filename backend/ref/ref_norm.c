/* ref_norm.c — CPU reference for RMSNorm / LayerNorm (spec §0): sums in double. */
#include <math.h>

#include "ref.h"

void ref_rms_norm(float *y, const float *x, const float *w, int64_t ne0, int64_t nrows, float eps) {
    for (int64_t r = 0; r < nrows; r++) {
        const float *xr = x + r * ne0;
        double s = 0;
        for (int64_t i = 0; i < ne0; i++) s += (double)xr[i] * xr[i];
        double inv = 1.0 / sqrt(s / (double)ne0 + eps);
        for (int64_t i = 0; i < ne0; i++) y[r * ne0 + i] = (float)(xr[i] * inv * (w ? w[i] : 1.0));
    }
}

void ref_rms_norm_split(float *y, const float *x, const float *w, const float *w2, int64_t ne0, int64_t ne1, int64_t n2,
                        int64_t split, float eps) {
    for (int64_t r = 0; r < ne1 * n2; r++) ref_rms_norm(y + r * ne0, x + r * ne0, r % ne1 >= split ? w2 : w, ne0, 1, eps);
}

void ref_layer_norm(float *y, const float *x, const float *w, const float *b, int64_t ne0, int64_t nrows, float eps) {
    for (int64_t r = 0; r < nrows; r++) {
        const float *xr = x + r * ne0;
        double m = 0, v = 0;
        for (int64_t i = 0; i < ne0; i++) m += xr[i];
        m /= (double)ne0;
        for (int64_t i = 0; i < ne0; i++) v += (xr[i] - m) * (xr[i] - m);
        double inv = 1.0 / sqrt(v / (double)ne0 + eps);
        for (int64_t i = 0; i < ne0; i++) y[r * ne0 + i] = (float)((xr[i] - m) * inv * (w ? w[i] : 1.0) + (b ? b[i] : 0.0));
    }
}

void ref_l2_norm(float *y, const float *x, const float *w, int64_t ne0, int64_t nrows, float eps) {
    for (int64_t r = 0; r < nrows; r++) {
        const float *xr = x + r * ne0;
        double s = 0;
        for (int64_t i = 0; i < ne0; i++) s += (double)xr[i] * xr[i];
        double inv = 1.0 / sqrt(s + eps);
        for (int64_t i = 0; i < ne0; i++) y[r * ne0 + i] = (float)(xr[i] * inv * (w ? w[i] : 1.0));
    }
}
