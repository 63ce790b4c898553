#version 450
// moe_gate.comp — MoE router, fused: logits[E][T] -> ids[k][T], weights[k][T].
// One workgroup per token:
//   mode 0 (softmax-topk): p = softmax(logits) in f32 over ALL experts, then
//          the k largest p (as llama.cpp's build_moe_ffn: soft_max, argsort
//          top-k, get_rows of the probabilities);
//   mode 1 (topk-softmax): the k largest logits, softmax over those k;
//   mode 2 (sigmoid-topk): s = sigmoid(logits), the k largest s.
// Selection is k rounds of a workgroup arg-max; ties go to the lower expert
// id (deterministic). renorm: weights /= max(Σ weights, 6.103515625e-5).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;              // a power of two
layout(constant_id = 1) const uint E = 8;
layout(constant_id = 2) const uint KMAX = 16;

layout(std430, binding = 0) readonly buffer L { float logits[]; };
layout(std430, binding = 1) writeonly buffer I { int ids[]; };
layout(std430, binding = 2) writeonly buffer Wt { float wt[]; };

layout(push_constant) uniform P {
    uint T, k, mode, renorm;
    uint ls1, is1, ws1;           // token strides
    uint ol, oi, ow;
} p;

shared float sc[E];
shared uint taken[E];
shared float rv[gl_WorkGroupSize.x];
shared uint ri[gl_WorkGroupSize.x];
shared float selv[KMAX];
shared uint seli[KMAX];

const uint NONE = 0xffffffffu;

// (v, i) beats (bv, bi): larger score, or equal score and lower id
bool better(float v, uint i, float bv, uint bi) {
    return bi == NONE || v > bv || (v == bv && i < bi);
}

void main() {
    const uint tid = gl_LocalInvocationID.x, WG = gl_WorkGroupSize.x;
    const uint t = linear_group_id();
    if (t >= p.T) return;
    const uint lb = p.ol + t * p.ls1;

    for (uint e = tid; e < E; e += WG) {
        float l = logits[lb + e];
        sc[e] = p.mode == 2u ? 1.0 / (1.0 + exp(-l)) : l;
        taken[e] = 0u;
    }
    barrier();
    if (p.mode == 0u) {
        float m = -1.0 / 0.0;
        for (uint e = tid; e < E; e += WG) m = max(m, sc[e]);
        rv[tid] = m;
        barrier();
        for (uint h = WG / 2u; h > 0u; h >>= 1) {
            if (tid < h) rv[tid] = max(rv[tid], rv[tid + h]);
            barrier();
        }
        m = rv[0];
        barrier();
        float s = 0.0;
        for (uint e = tid; e < E; e += WG) {
            float v = exp(sc[e] - m);
            sc[e] = v;
            s += v;
        }
        rv[tid] = s;
        barrier();
        for (uint h = WG / 2u; h > 0u; h >>= 1) {
            if (tid < h) rv[tid] += rv[tid + h];
            barrier();
        }
        float inv = 1.0 / rv[0];
        for (uint e = tid; e < E; e += WG) sc[e] *= inv;
        barrier();
    }

    for (uint j = 0; j < p.k; j++) {
        float bv = 0.0;
        uint bi = NONE;
        for (uint e = tid; e < E; e += WG)
            if (taken[e] == 0u && better(sc[e], e, bv, bi)) { bv = sc[e]; bi = e; }
        rv[tid] = bv;
        ri[tid] = bi;
        barrier();
        for (uint h = WG / 2u; h > 0u; h >>= 1) {
            if (tid < h && ri[tid + h] != NONE && better(rv[tid + h], ri[tid + h], rv[tid], ri[tid])) {
                rv[tid] = rv[tid + h];
                ri[tid] = ri[tid + h];
            }
            barrier();
        }
        if (tid == 0u) {
            uint b = ri[0];
            if (b == NONE) {                   // only NaN scores left: lowest free id
                b = 0u;
                while (taken[b] != 0u) b++;
            }
            taken[b] = 1u;
            seli[j] = b;
            selv[j] = sc[b];
        }
        barrier();
    }

    if (tid == 0u) {
        if (p.mode == 1u) {
            float m = selv[0], s = 0.0;
            for (uint j = 0; j < p.k; j++) { selv[j] = exp(selv[j] - m); s += selv[j]; }
            for (uint j = 0; j < p.k; j++) selv[j] /= s;
        }
        float div = 1.0;
        if (p.renorm != 0u) {
            float s = 0.0;
            for (uint j = 0; j < p.k; j++) s += selv[j];
            div = max(s, 6.103515625e-5);
        }
        for (uint j = 0; j < p.k; j++) {
            ids[p.oi + j + t * p.is1] = int(seli[j]);
            wt[p.ow + j + t * p.ws1] = selv[j] / div;
        }
    }
}
