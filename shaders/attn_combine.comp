#version 450
// attn_combine.comp — merges the split-K partials of attn_decode.comp
// (Flash-Decoding reduction): o = Σ_c e^(m_c − M)·o_c / Σ_c e^(m_c − M)·l_c,
// M = max_c m_c. One workgroup per query head, invocations over head dims.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Part { float part[]; }; // [HD+2][n_chunks][Hq]
layout(std430, binding = 1) writeonly buffer O { float o_[]; };

layout(push_constant) uniform P {
    uint HD, n_chunks, so1, oo;
} p;

void main() {
    uint h = gl_WorkGroupID.x;
    uint base = h * p.n_chunks * (p.HD + 2);
    float M = -1e30;
    for (uint c = 0; c < p.n_chunks; c++) M = max(M, part[base + c * (p.HD + 2) + p.HD]);
    float den = 0.0;
    for (uint c = 0; c < p.n_chunks; c++) {
        uint cb = base + c * (p.HD + 2);
        den += exp(part[cb + p.HD] - M) * part[cb + p.HD + 1];
    }
    float inv = den > 0.0 ? 1.0 / den : 0.0;
    for (uint d = gl_LocalInvocationID.x; d < p.HD; d += gl_WorkGroupSize.x) {
        float num = 0.0;
        for (uint c = 0; c < p.n_chunks; c++) {
            uint cb = base + c * (p.HD + 2);
            num += exp(part[cb + p.HD] - M) * part[cb + d];
        }
        o_[p.oo + h * p.so1 + d] = num * inv;
    }
}
