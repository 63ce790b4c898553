#version 450
// moe_combine.comp — y[N][T] = Σ_j weights[j][t] · x[N][j][T]: the weighted
// sum of the k expert outputs of each token, accumulated in slot order
// j = 0..k-1 (deterministic; matches a sequential reference). has_r: y = r + that
// sum (the residual stream, r + moe as the separate add computed it; y may be r).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Wt { float wt[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer R { float r[]; };

layout(push_constant) uniform P {
    uint N, k, T;
    uint xs1, xs2, ws1, ys1;     // x slot / token strides, weights and y token strides (floats)
    uint ox, ow, oy;
    uint has_r, rs1, or_;        // the residual: present, token stride, offset (floats)
} p;

void main() {
    uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.N * p.T) return;
    uint n = i % p.N, t = i / p.N;
    float acc = 0.0;
    for (uint j = 0; j < p.k; j++) acc = fma(wt[p.ow + j + t * p.ws1], x[p.ox + n + j * p.xs1 + t * p.xs2], acc);
    if (p.has_r != 0u) acc = r[p.or_ + n + t * p.rs1] + acc;
    y[p.oy + n + t * p.ys1] = acc;
}
