/* ref_unary.c — CPU references for the element-wise activations, in double. */
#include <math.h>

#include "ref.h"

void ref_silu(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)((double)x[i] / (1.0 + exp(-(double)x[i])));
}

void ref_gelu(float *y, const float *x, int64_t n, int erf_form) {
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (erf_form)
            y[i] = (float)(0.5 * v * (1.0 + erf(v / sqrt(2.0))));
        else
            y[i] = (float)(0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))));
    }
}

void ref_swiglu(float *y, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)((double)g[i] / (1.0 + exp(-(double)g[i])) * (double)u[i]);
}

void ref_scale(float *y, const float *x, int64_t n, float f) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)((double)f * (double)x[i]);
}

void ref_sigmoid(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
}

void ref_sigmoid_mul(float *y, const float *x, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)((double)x[i] / (1.0 + exp(-(double)u[i])));
}

void ref_geglu(float *y, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double v = g[i];
        y[i] = (float)(0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))) * (double)u[i]);
    }
}

void ref_softcap(float *y, const float *x, int64_t n, float cap) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)((double)cap * tanh((double)x[i] / (double)cap));
}

void ref_geglu_quick(float *y, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)((double)g[i] / (1.0 + exp(-1.702 * (double)g[i])) * (double)u[i]);
}

void ref_clamp(float *y, const float *x, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}
