/* ref_gdn.c — CPU references for Gated DeltaNet's ops (docs/families/qwen35.md §4.1):
 * the short conv with state, the gates and the gated delta rule, token by token in double. */
#include <math.h>
#include <stdlib.h>

#include "ref.h"

void ref_ssm_conv(float *y, const float *x, const float *w, float *state, int64_t C, int64_t T, int64_t K, int silu) {
    for (int64_t c = 0; c < C; c++) {
        double *win = malloc((size_t)(K - 1 + T) * sizeof *win); /* state ++ inputs */
        if (!win) return;
        for (int64_t i = 0; i < K - 1; i++) win[i] = state[c * (K - 1) + i];
        for (int64_t t = 0; t < T; t++) win[K - 1 + t] = x[t * C + c];
        for (int64_t t = 0; t < T; t++) {
            double acc = 0;
            for (int64_t i = 0; i < K; i++) acc += win[t + i] * w[c * K + i];
            if (silu) acc = acc / (1.0 + exp(-acc));
            y[t * C + c] = (float)acc;
        }
        for (int64_t i = 0; i < K - 1; i++) state[c * (K - 1) + i] = (float)win[T + i];
        free(win);
    }
}

void ref_gdn_gates(float *g, float *beta, const float *alpha, const float *b, const float *dt_bias, const float *a, int64_t H,
                   int64_t T) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            double z = (double)alpha[t * H + h] + dt_bias[h];
            double sp = z > 20.0 ? z : log1p(exp(z));
            g[t * H + h] = (float)(sp * a[h]);
            beta[t * H + h] = (float)(1.0 / (1.0 + exp(-(double)b[t * H + h])));
        }
}

void ref_delta_net(float *o, const float *q, const float *k, const float *v, const float *g, const float *beta, float *state,
                   int64_t S, int64_t Hk, int64_t Hv, int64_t T, float scale) {
    double *m = malloc((size_t)(S * S) * sizeof *m);
    if (!m) return;
    for (int64_t h = 0; h < Hv; h++) {
        int64_t hk = h % Hk;                 /* tiled V heads */
        float *sh = state + h * S * S;       /* M[j][i], row j contiguous */
        for (int64_t e = 0; e < S * S; e++) m[e] = sh[e];
        for (int64_t t = 0; t < T; t++) {
            const float *qt = q + (t * Hk + hk) * S, *kt = k + (t * Hk + hk) * S, *vt = v + (t * Hv + h) * S;
            double decay = exp((double)g[t * Hv + h]), bt = beta[t * Hv + h];
            for (int64_t e = 0; e < S * S; e++) m[e] *= decay;
            for (int64_t j = 0; j < S; j++) {
                double kv = 0;
                for (int64_t i = 0; i < S; i++) kv += m[j * S + i] * kt[i];
                double d = (vt[j] - kv) * bt;
                for (int64_t i = 0; i < S; i++) m[j * S + i] += kt[i] * d;
            }
            for (int64_t j = 0; j < S; j++) {
                double acc = 0;
                for (int64_t i = 0; i < S; i++) acc += m[j * S + i] * qt[i];
                o[(t * Hv + h) * S + j] = (float)(acc * scale);
            }
        }
        for (int64_t e = 0; e < S * S; e++) sh[e] = (float)m[e];
    }
    free(m);
}
