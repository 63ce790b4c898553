/* ref_moe.c — CPU references for the MoE ops: expert matmul, combine, gate. */
#include <math.h>

#include "ref.h"

void ref_mul_mat_id(float *y, const float *x, int x_per_slot, const float *w, const int32_t *ids, int64_t K, int64_t N,
                    int64_t E, int64_t k, int64_t T) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++) {
            int32_t e = ids[t * k + j];
            const float *xr = x + (x_per_slot ? (t * k + j) * K : t * K);
            float *yr = y + (t * k + j) * N;
            for (int64_t n = 0; n < N; n++) {
                if (e < 0 || e >= E) { yr[n] = 0.0f; continue; }
                const float *wr = w + ((int64_t)e * N + n) * K;
                double acc = 0;
                for (int64_t i = 0; i < K; i++) acc += (double)xr[i] * (double)wr[i];
                yr[n] = (float)acc;
            }
        }
}

void ref_gateup_id(float *y, const float *x, int x_per_slot, const float *wg, const float *wu, const int32_t *ids, int64_t K,
                   int64_t N, int64_t E, int64_t k, int64_t T, int geglu) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++) {
            int32_t e = ids[t * k + j];
            const float *xr = x + (x_per_slot ? (t * k + j) * K : t * K);
            float *yr = y + (t * k + j) * N;
            for (int64_t n = 0; n < N; n++) {
                if (e < 0 || e >= E) {
                    yr[n] = 0.0f;
                    continue;
                }
                const float *gr = wg + ((int64_t)e * N + n) * K, *ur = wu + ((int64_t)e * N + n) * K;
                double g = 0, u = 0;
                for (int64_t i = 0; i < K; i++) {
                    g += (double)xr[i] * (double)gr[i];
                    u += (double)xr[i] * (double)ur[i];
                }
                double a = geglu ? 0.5 * g * (1.0 + tanh(sqrt(2.0 / M_PI) * (g + 0.044715 * g * g * g))) : g / (1.0 + exp(-g));
                yr[n] = (float)(a * u);
            }
        }
}

void ref_moe_combine(float *y, const float *x, const float *weights, int64_t N, int64_t k, int64_t T) {
    for (int64_t t = 0; t < T; t++)
        for (int64_t n = 0; n < N; n++) {
            double acc = 0;
            for (int64_t j = 0; j < k; j++) acc += (double)weights[t * k + j] * (double)x[(t * k + j) * N + n];
            y[t * N + n] = (float)acc;
        }
}

void ref_moe_combine_add(float *y, const float *x, const float *weights, const float *r, int64_t N, int64_t k, int64_t T) {
    ref_moe_combine(y, x, weights, N, k, T);
    for (int64_t i = 0; i < N * T; i++) y[i] = (float)((double)r[i] + (double)y[i]);
}

void ref_moe_gate(int32_t *ids, float *weights, const float *logits, int64_t E, int64_t T, int k, int mode, int renorm) {
    for (int64_t t = 0; t < T; t++) {
        const float *l = logits + t * E;
        double score[4096];
        if (E > 4096) return;
        double mx = -INFINITY, sum = 0;
        for (int64_t e = 0; e < E; e++) mx = l[e] > mx ? l[e] : mx;
        for (int64_t e = 0; e < E; e++) sum += exp((double)l[e] - mx);
        for (int64_t e = 0; e < E; e++) {
            if (mode == 0) score[e] = exp((double)l[e] - mx) / sum;
            else if (mode == 1) score[e] = l[e];
            else score[e] = 1.0 / (1.0 + exp(-(double)l[e]));
        }
        int32_t sel[64];
        char used[4096] = {0};
        for (int j = 0; j < k; j++) {
            int64_t best = -1;
            for (int64_t e = 0; e < E; e++)
                if (!used[e] && (best < 0 || score[e] > score[best])) best = e; /* strict >: ties to the lower id */
            used[best] = 1;
            sel[j] = (int32_t)best;
        }
        double wsum = 0, wv[64];
        double smx = score[sel[0]], ssum = 0;
        for (int j = 0; j < k; j++) ssum += exp(score[sel[j]] - smx);
        for (int j = 0; j < k; j++) {
            wv[j] = mode == 1 ? exp(score[sel[j]] - smx) / ssum : score[sel[j]];
            wsum += wv[j];
        }
        double div = wsum > 6.103515625e-5 ? wsum : 6.103515625e-5;
        for (int j = 0; j < k; j++) {
            ids[t * k + j] = sel[j];
            weights[t * k + j] = (float)(renorm ? wv[j] / div : wv[j]);
        }
    }
}
