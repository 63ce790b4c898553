/* ref_matmul.c — CPU reference for y = x · wᵀ (+ bias), double accumulation. */
#include "ref.h"

void ref_matmul(float *y, const float *x, const float *w, const float *bias, int64_t M, int64_t N, int64_t K) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double acc = bias ? (double)bias[n] : 0.0;
            for (int64_t k = 0; k < K; k++) acc += (double)x[m * K + k] * (double)w[n * K + k];
            y[m * N + n] = (float)acc;
        }
}
