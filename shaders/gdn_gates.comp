#version 450
// gdn_gates.comp — the per-head gates of a Gated DeltaNet layer (llama.cpp
// qwen35moe build_layer_attn_linear; Yang et al. 2024, "Gated Delta Networks"):
//   g[t][h]    = softplus(alpha[t][h] + dt_bias[h]) · a[h]     log decay (a = −exp(A_log) < 0)
//   beta[t][h] = sigmoid(b[t][h])                               write strength
//   softplus(x) = x > 20 ? x : log(1 + e^x)                     (ggml op_softplus)
// One invocation per (t, h).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer AL { float alpha[]; };  // [T][H], token stride sa1
layout(std430, binding = 1) readonly buffer BB { float braw[]; };   // [T][H], token stride sb1
layout(std430, binding = 2) readonly buffer DT { float dt[]; };     // [H]
layout(std430, binding = 3) readonly buffer AA { float aa[]; };     // [H]
layout(std430, binding = 4) writeonly buffer G { float g[]; };      // [T][H], token stride sg1
layout(std430, binding = 5) writeonly buffer BE { float beta[]; };  // [T][H], token stride sbe1

layout(push_constant) uniform P {
    uint H, n;               // heads, H·T invocations
    uint sa1, sb1, sg1, sbe1;
    uint oa, ob, odt, oaa, og, obe;
} p;

// log(1 + e) for e >= 0: Goldberg's log1p, exact for the rounding of 1 + e
float log1p_pos(float e) {
    float u = 1.0 + e;
    return u == 1.0 ? e : log(u) * (e / (u - 1.0));
}

void main() {
    uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.n) return;
    uint h = i % p.H, t = i / p.H;
    float z = alpha[p.oa + t * p.sa1 + h] + dt[p.odt + h];
    float sp = z > 20.0 ? z : log1p_pos(exp(z));
    g[p.og + t * p.sg1 + h] = sp * aa[p.oaa + h];
    float bv = braw[p.ob + t * p.sb1 + h];
    // 1 / (1 + e^-b); e^-b overflows to +inf for b < -88 and gives 0, as wanted, except on
    // drivers whose exp misbehaves there: clamp
    beta[p.obe + t * p.sbe1 + h] = bv < -88.0 ? 0.0 : 1.0 / (1.0 + exp(-bv));
}
