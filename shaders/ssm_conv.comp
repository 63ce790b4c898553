#version 450
// ssm_conv.comp — depthwise causal conv1d with a carried state: the short
// convolution of Mamba and Gated DeltaNet (Yang et al. 2024, "Gated Delta
// Networks"), as llama.cpp's build_conv_state + ggml_ssm_conv compute it:
//   win[c]  = state[c][0..K-2] ++ x[0..T-1][c]          (K-1+T values)
//   y[t][c] = Σ_{i<K} win[c][t+i] · w[c][i]              (i ascending, f32)
//   y       = silu(y)                                     (when p.silu != 0)
//   state[c] = the last K-1 values of win[c]
// One invocation per channel walks the T tokens with a K-wide window in
// registers: the state is read once before and written once after, and no
// other invocation touches channel c, so y may alias x.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint KC = 4;     // kernel taps K (>= 1)

layout(std430, binding = 0) readonly buffer X { float x[]; };   // [T][C], token stride sx1
layout(std430, binding = 1) readonly buffer W { float w[]; };   // [C][K] contiguous
layout(std430, binding = 2) buffer S { float st[]; };           // [C][K-1] contiguous, updated in place
layout(std430, binding = 3) writeonly buffer Y { float y[]; };  // [T][C], token stride sy1

layout(push_constant) uniform P {
    uint C, T;
    uint sx1, sy1;           // token strides of x and y, elements
    uint ox, ow, os, oy;     // element offsets of the bindings
    uint silu;               // 1: y = silu(conv)
} p;

// x / (1 + e^t) without the NaN some drivers' exp gives near f32 overflow (unary.comp)
float x_sigmoid(float v, float t) { return t > 88.0 ? 0.0 : v / (1.0 + exp(t)); }

void main() {
    uint c = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (c >= p.C) return;
    float win[KC];
    float wk[KC];
    for (uint i = 0; i < KC; i++) wk[i] = w[p.ow + c * KC + i];
    for (uint i = 0; i + 1 < KC; i++) win[i] = st[p.os + c * (KC - 1) + i];
    for (uint t = 0; t < p.T; t++) {
        win[KC - 1] = x[p.ox + t * p.sx1 + c];
        float acc = 0.0;
        for (uint i = 0; i < KC; i++) acc += win[i] * wk[i];
        if (p.silu != 0) acc = x_sigmoid(acc, -acc);
        y[p.oy + t * p.sy1 + c] = acc;
        for (uint i = 0; i + 1 < KC; i++) win[i] = win[i + 1];
    }
    for (uint i = 0; i + 1 < KC; i++) st[p.os + c * (KC - 1) + i] = win[i];
}
