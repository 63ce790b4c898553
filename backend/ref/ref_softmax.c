/* ref_softmax.c — CPU references for row-wise softmax and argmax. */
#include <math.h>

#include "ref.h"

void ref_softmax(float *y, const float *x, int64_t ne0, int64_t nrows, float scale) {
    for (int64_t r = 0; r < nrows; r++) {
        const float *xr = x + r * ne0;
        float *yr = y + r * ne0;
        double m = -INFINITY;
        for (int64_t i = 0; i < ne0; i++) m = fmax(m, (double)scale * xr[i]);
        double sum = 0;
        for (int64_t i = 0; i < ne0; i++) sum += exp((double)scale * xr[i] - m);
        for (int64_t i = 0; i < ne0; i++) yr[i] = (float)(exp((double)scale * xr[i] - m) / sum);
    }
}

void ref_argmax(int32_t *ids, const float *x, int64_t ne0, int64_t nrows) {
    for (int64_t r = 0; r < nrows; r++) {
        const float *xr = x + r * ne0;
        int64_t best = -1;
        for (int64_t i = 0; i < ne0; i++) {
            if (isnan(xr[i])) continue;
            if (best < 0 || xr[i] > xr[best]) best = i; /* strict: ties keep the lower index */
        }
        ids[r] = best < 0 ? 0 : (int32_t)best;
    }
}
