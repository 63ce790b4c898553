#version 450
// attn_vit.comp — full-mask (no causal mask, window or n_kv) attention of
// small heads (hd a multiple of 4, <= ATTN_VIT_MAX_HD in vk_op_attention.c)
// for CPU devices: the vision towers with hd 16 (the goldens' tower: 784
// patches, 4 heads). One pass over the keys with an online softmax
// (Milakov & Gimelshein 2018), the scores never leave registers.
//
// Why: the GEMM path (S = Q·Kᵀ, softmax, P·V) spent ~8.6 ms a head there,
// ~5.5 of it in Q·Kᵀ, whose K = 16 leaves 16 multiply-adds per stored score,
// and every store at a per-lane address is a scalar loop over the lanes in
// gallivm (docs/PERFORMANCE.md sections 24 and 41). attn_prefill.comp keeps
// one query a lane and fetched every K/V value per 2 multiply-adds (~34 ns a
// (query, key) pair at hd 16). Here a lane owns TQ queries of one head
// (q pre-scaled, o, m, l in registers), every lane of the workgroup walks the
// same keys in blocks of 4, and K/V come through texel views: a texel fetch at
// the same address in every lane is one gathered load (matmul_lane.comp), so
// each K/V vec4 feeds TQ x 4 multiply-adds. No shared memory, no barrier, no
// subgroup operation. All loops but the key loop are [[unroll]]ed (no run-time
// index of a register array: that is a per-lane gather in gallivm); the key
// loop runs Tk / 4 turns (lavapipe ends a loop after 65535: the host checks).
//
// Lanes past Tq compute their last valid query again and store nothing.
// Output o[t] = Σ_j e^(s_j − m) v_j / Σ_j e^(s_j − m), s_j = scale · q_t·k_j.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HD4 = 4;  // head dim / 4
layout(constant_id = 2) const uint TQ = 4;   // queries a lane

layout(binding = 0) uniform usamplerBuffer qt;   // q [hd][Hq][Tq] as R32G32B32A32_UINT
layout(binding = 1) uniform usamplerBuffer kt;   // k [hd][Hkv][Tk]
layout(binding = 2) uniform usamplerBuffer vt;   // v [hd][Hkv][Tk]
layout(std430, binding = 3) writeonly buffer O { vec4 o4[]; };   // out [hd][Hq][Tq]

layout(push_constant) uniform P {
    uint Tq, Tk, G;              // queries, keys, query heads a KV head
    uint sq1, sq2, sk1, sk2;     // head / token strides of q and k (vec4s)
    uint sv1, sv2, so1, so2;     // of v and out
    uint oq, ok, ov, oo;         // offsets of q, k, v (in their texel views) and out (vec4s)
    float scale;
} p;

#define F4(t, i) uintBitsToFloat(texelFetch(t, int(i)))

const float NEG = -3.0e38;   // below any score: e^(NEG − m) is 0, and NEG − NEG is 0, not NaN

void main() {
    uint h = gl_WorkGroupID.y, kvh = h / p.G;
    uint t0 = (gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * TQ;
    vec4 q[TQ * HD4];
    vec4 o[TQ * HD4];
    float m[TQ], l[TQ];
    [[unroll]] for (uint i = 0; i < TQ; i++) {
        uint qb = p.oq + h * p.sq1 + min(t0 + i, p.Tq - 1) * p.sq2;
        [[unroll]] for (uint d = 0; d < HD4; d++) {
            q[i * HD4 + d] = p.scale * F4(qt, qb + d);
            o[i * HD4 + d] = vec4(0.0);
        }
        m[i] = NEG;
        l[i] = 0.0;
    }
    uint kb = p.ok + kvh * p.sk1, vb = p.ov + kvh * p.sv1;
    for (uint j = 0; j < p.Tk; j += 4) {
        vec4 K[4 * HD4];
        vec4 V[4 * HD4];
        [[unroll]] for (uint c = 0; c < 4; c++) {
            uint jc = min(j + c, p.Tk - 1);   // past the last key: the last key again, its score masked below
            [[unroll]] for (uint d = 0; d < HD4; d++) {
                K[c * HD4 + d] = F4(kt, kb + jc * p.sk2 + d);
                V[c * HD4 + d] = F4(vt, vb + jc * p.sv2 + d);
            }
        }
        bvec4 valid = lessThan(uvec4(j) + uvec4(0, 1, 2, 3), uvec4(p.Tk));
        [[unroll]] for (uint i = 0; i < TQ; i++) {
            vec4 s = vec4(0.0);
            [[unroll]] for (uint d = 0; d < HD4; d++) {
                s.x += dot(q[i * HD4 + d], K[0 * HD4 + d]);
                s.y += dot(q[i * HD4 + d], K[1 * HD4 + d]);
                s.z += dot(q[i * HD4 + d], K[2 * HD4 + d]);
                s.w += dot(q[i * HD4 + d], K[3 * HD4 + d]);
            }
            s = mix(vec4(NEG), s, valid);
            float mn = max(m[i], max(max(s.x, s.y), max(s.z, s.w)));
            float corr = exp(m[i] - mn);
            vec4 e = exp(s - vec4(mn));
            l[i] = l[i] * corr + ((e.x + e.y) + (e.z + e.w));
            m[i] = mn;
            [[unroll]] for (uint d = 0; d < HD4; d++)
                o[i * HD4 + d] = o[i * HD4 + d] * corr + e.x * V[0 * HD4 + d] + e.y * V[1 * HD4 + d] + e.z * V[2 * HD4 + d] +
                                 e.w * V[3 * HD4 + d];
        }
    }
    [[unroll]] for (uint i = 0; i < TQ; i++) {
        uint ob = p.oo + h * p.so1 + (t0 + i) * p.so2;
        float inv = 1.0 / l[i];
        if (t0 + i < p.Tq)
            [[unroll]] for (uint d = 0; d < HD4; d++) o4[ob + d] = o[i * HD4 + d] * inv;
    }
}
