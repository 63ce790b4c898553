#version 450
// attn_softmax.comp — the masked row softmax of the CPU devices' GEMM attention
// (vk_op_attention.c attn_lane): S holds unscaled scores q·k of one KV head's
// query rows against keys [klo, klo + nk) (column c = key klo + c), rows kp4
// vec4s apart; P (same layout) gets P_c = e^(s·S_c − m) / Σ e^(s·S_c' − m)
// over the keys the row's query sees, and 0 for every other column up to the
// row's padded end (4·kp4 >= nk: the P·V GEMM reads whole 8-value chunks).
// Row r is query t = q0 + r % rpq (rows are (head-in-group, query) pairs, rpq
// queries a head); its absolute position is nkv − Tq + t. The mask is
// attn_prefill.comp's key_lo / key_lim: causal (keys <= the position; a
// position inside the both-ways span [nc_lo, nc_hi) sees keys < nc_hi), the
// sliding window (position − key < window), keys < nkv.
// One invocation a row, each walking its own contiguous row as vec4s (the
// pattern lavapipe reads fastest, docs/PERFORMANCE.md sections 21-22), S read
// through a texel view (a per-lane vec4 storage load is a scalar gather per
// component there): no barrier, no shared memory, no subgroup operation. Masked columns are
// selected away (never multiplied), so what the GEMM left in the padding
// (unwritten scratch) cannot leak into P.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(binding = 0) uniform usamplerBuffer st;   // S as R32G32B32A32_UINT
layout(std430, binding = 1) writeonly buffer P4 { vec4 p4[]; };

layout(push_constant) uniform P {
    uint nrows, rpq;          // rows of this dispatch; queries a head (row r: query q0 + r % rpq)
    uint q0, Tq, nkv;         // first query of the block; queries in all; valid keys
    uint klo, nk, kp4;        // keys [klo, klo + nk) in columns [0, nk); row stride in vec4s
    uint os, op;              // S's offset in its texel view, P's in its binding (floats, multiples of 4)
    uint causal;
    float scale;
    uint window, nc_lo, nc_hi;
} p;

#define S4(i) uintBitsToFloat(texelFetch(st, int(i)))

const float NEG = -3.0e38;    // below any score; e^(NEG − m) is 0 and NEG − NEG is 0, not NaN

void main() {
    uint r = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (r >= p.nrows) return;
    int nkv = int(p.nkv);
    int qp = nkv - int(p.Tq) + int(p.q0 + r % p.rpq);   // the query's absolute position
    int lim = nkv, lo = 0;                              // keys [lo, lim) visible (attn_prefill.comp)
    if (p.causal != 0) lim = qp >= int(p.nc_lo) && qp < int(p.nc_hi) ? min(nkv, int(p.nc_hi)) : min(nkv, qp + 1);
    if (p.window != 0) lo = max(0, qp - int(p.window) + 1);
    int c0 = clamp(lo - int(p.klo), 0, int(p.nk)), c1 = clamp(lim - int(p.klo), 0, int(p.nk));
    uint b = p.os / 4u + r * p.kp4, bp = p.op / 4u + r * p.kp4;
    uint i0 = uint(c0) >> 2, i1 = (uint(c1) + 3u) >> 2;   // vec4s holding columns [c0, c1)
    ivec4 lane = ivec4(0, 1, 2, 3);

    float m = NEG;
    for (uint i = i0; i < i1; i++) {
        ivec4 c = ivec4(4 * i) + lane;
        bvec4 vis = bvec4(uvec4(greaterThanEqual(c, ivec4(c0))) & uvec4(lessThan(c, ivec4(c1))));
        vec4 x = mix(vec4(NEG), p.scale * S4(b + i), vis);
        m = max(m, max(max(x.x, x.y), max(x.z, x.w)));
    }
    vec4 l4 = vec4(0.0);
    for (uint i = i0; i < i1; i++) {
        ivec4 c = ivec4(4 * i) + lane;
        bvec4 vis = bvec4(uvec4(greaterThanEqual(c, ivec4(c0))) & uvec4(lessThan(c, ivec4(c1))));
        l4 += mix(vec4(0.0), exp(p.scale * S4(b + i) - m), vis);
    }
    float l = (l4.x + l4.y) + (l4.z + l4.w);
    float inv = l > 0.0 ? 1.0 / l : 0.0;                // no visible key: a row of zeros (output 0)
    for (uint i = 0; i < p.kp4; i++) {
        ivec4 c = ivec4(4 * i) + lane;
        bvec4 vis = bvec4(uvec4(greaterThanEqual(c, ivec4(c0))) & uvec4(lessThan(c, ivec4(c1))));
        p4[bp + i] = mix(vec4(0.0), exp(p.scale * S4(b + i) - m) * inv, vis);
    }
}
