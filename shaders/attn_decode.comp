#version 450
// variants: f32:KV_F32 f16:KV_F16
// attn_decode.comp — one query per head over a long KV: split-K
// "Flash-Decoding" (Dao, Haziza, Massa, Sizov 2023). Workgroup (chunk c, KV head,
// head group z) handles keys [c·C, c·C + C) for GW query heads sharing that KV
// head: phase 1 one invocation per key computes the GW scores (the K row is
// read once for all GW heads); phase 2 invocations over (head, dim pair) accumulate
// Σ_j exp(s_j − m)·v_j. Partial (o[HD], m, l) per (head, chunk) go to a scratch
// buffer; attn_combine.comp merges the chunks. Keys >= n_kv (read from a
// buffer on the GPU) are ignored; with window > 0 (Gemma's sliding layers) so are
// keys < n_kv − window (the query is at n_kv − 1 and sees n_kv − 1 − j < window).
// DIRECT (spec id 4; the host sets it where one chunk holds every key it can see): binding 3 is the
// output [HD][Hq] itself (rows so1 apart from oo) and each head's o / l is stored there, what
// attn_combine.comp computes from one chunk (e^0 = 1: the same operations, the same bits), one
// dispatch fewer per decode step.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HD = 128;
layout(constant_id = 2) const uint C = 128;
layout(constant_id = 3) const uint GW = 1;
layout(constant_id = 4) const uint DIRECT = 0;    // 1: one chunk, the output straight into binding 3

layout(std430, binding = 0) readonly buffer Q { float q_[]; };
#include "attn_kv.glsl"
layout(std430, binding = 3) writeonly buffer Part { float part[]; }; // [HD+2][n_chunks][Hq]; DIRECT: out [HD][Hq]
layout(std430, binding = 4) readonly buffer NKV { int nkv_[]; };

layout(push_constant) uniform P {
    uint G, Tk, n_chunks;
    uint sq1, sk1, sk2, sv1, sv2;
    uint oq, ok, ov, on;
    uint has_nkv;
    float scale;
    uint window;
    uint oo, so1;                                  // DIRECT: the output's offset and row (head) stride, floats
} p;

shared float Qs[GW * HD];
shared float S[GW * C];
shared float Mx[GW];
shared float Li[GW];                               // DIRECT: 1 / l per head (0 where no key is seen)

void main() {
    const uint WG = gl_WorkGroupSize.x;
    uint tid = gl_LocalInvocationID.x;
    uint c = gl_WorkGroupID.x, kvh = gl_WorkGroupID.y;
    uint h0 = kvh * p.G + gl_WorkGroupID.z * GW; // first query head of this workgroup
    int nkv = int(p.Tk);
    if (p.has_nkv != 0) nkv = clamp(nkv_[p.on], 0, int(p.Tk));
    int k0 = int(c * C);
    int nvalid = clamp(nkv - k0, 0, int(C));
    int jlo = p.window != 0 ? clamp(nkv - int(p.window) - k0, 0, nvalid) : 0; // keys [jlo, nvalid) of the chunk

    for (uint e = tid; e < GW * HD; e += WG) {
        uint g = e / HD, d = e % HD;
        Qs[e] = q_[p.oq + (h0 + g) * p.sq1 + d] * p.scale;
    }
    barrier();

    // phase 1: scores (GW constant: the head loops are unrolled, acc stays in registers)
    for (uint j = tid; j < C; j += WG) {
        if (int(j) >= jlo && int(j) < nvalid) {
            float acc[GW];
            [[unroll]] for (uint g = 0; g < GW; g++) acc[g] = 0.0;
            uint kb = p.ok + kvh * p.sk1 + uint(k0 + int(j)) * p.sk2;
            for (uint d = 0; d < HD; d += 2) {
                vec2 kv = load_k2(kb + d);
                [[unroll]] for (uint g = 0; g < GW; g++) acc[g] += Qs[g * HD + d] * kv.x + Qs[g * HD + d + 1] * kv.y;
            }
            [[unroll]] for (uint g = 0; g < GW; g++) S[g * C + j] = acc[g];
        }
    }
    barrier();
    for (uint g = tid; g < GW; g += WG) {
        float m = -1e30;
        for (uint j = uint(jlo); j < uint(nvalid); j++) m = max(m, S[g * C + j]);
        Mx[g] = m;
    }
    barrier();
    for (uint e = tid; e < GW * C; e += WG) {
        uint g = e / C, j = e % C;
        if (int(j) >= jlo && int(j) < nvalid) S[e] = exp(S[e] - Mx[g]);
    }
    barrier();
    uint pb = (h0 * p.n_chunks + c) * (HD + 2); // partial of head h0 + g at pb + g·n_chunks·(HD+2)
    uint pstride = p.n_chunks * (HD + 2);
    for (uint g = tid; g < GW; g += WG) {
        float l = 0.0;
        for (uint j = uint(jlo); j < uint(nvalid); j++) l += S[g * C + j];
        if (DIRECT != 0u) {
            Li[g] = l > 0.0 ? 1.0 / l : 0.0;       // attn_combine's inv for one chunk (den = e^0 · l)
        } else {
            part[pb + g * pstride + HD] = Mx[g];
            part[pb + g * pstride + HD + 1] = l;
        }
    }
    // DIRECT: phase 2's invocations read Li written by others above
    if (DIRECT != 0u) barrier();

    // phase 2: o[g][d..d+1] = Σ_j P[g][j] · v[j][d..d+1], one (head, dim pair) per invocation
    const uint NP = HD / 2;
    for (uint e = tid; e < GW * NP; e += WG) {
        uint g = e / NP, d = 2 * (e % NP);
        vec2 acc = vec2(0.0);
        uint vb = p.ov + kvh * p.sv1 + uint(k0) * p.sv2 + d;
        for (uint j = uint(jlo); j < uint(nvalid); j++) acc += S[g * C + j] * load_v2(vb + j * p.sv2);
        if (DIRECT != 0u) {                        // attn_combine's num · inv, num = 0 + e^0 · o
            part[p.oo + (h0 + g) * p.so1 + d] = acc.x * Li[g];
            part[p.oo + (h0 + g) * p.so1 + d + 1] = acc.y * Li[g];
        } else {
            part[pb + g * pstride + d] = acc.x;
            part[pb + g * pstride + d + 1] = acc.y;
        }
    }
}
