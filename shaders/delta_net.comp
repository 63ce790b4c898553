#version 450
// delta_net.comp — the gated delta rule over an f32 state per value head
// (Yang et al. 2024, "Gated Delta Networks: Improving Mamba2 with Delta Rule"),
// in the order of ggml's gated_delta_net CPU op. The state of head h is stored
// transposed, M[j][i] = S[i][j] (i over the key dim, j over the value dim), so
// row j is contiguous: [Hv][S][S]. For each token t in order:
//   M      *= exp(g[t][h])
//   d[j]    = (v[t][h][j] − Σ_i M[j][i]·k[t][hk][i]) · beta[t][h]
//   M[j][i] += k[t][hk][i] · d[j]
//   o[t][h][j] = scale · Σ_i M[j][i] · q[t][hk][i]
// with hk = h % Hk (the converter's tiled V-head order). q and k are expected
// L2-normalised. Decode (T = 1) and prefill are the same kernel: a blocked scan,
// sequential over tokens inside one dispatch, parallel over heads × value
// columns. Workgroup = (head, tile of value columns j); invocation j keeps row
// M[j][·] in registers for the whole dispatch; q, k and the gates of TB tokens
// at a time are staged in shared memory.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint SK = 128;   // state size S (key dim = value dim)
layout(constant_id = 2) const uint TB = 16;    // tokens staged per block

layout(std430, binding = 0) readonly buffer Q { float q[]; };     // [T][Hk][S]: head stride sq1, token stride sq2
layout(std430, binding = 1) readonly buffer K { float k[]; };     // [T][Hk][S]: sk1, sk2
layout(std430, binding = 2) readonly buffer V { float v[]; };     // [T][Hv][S]: sv1, sv2
layout(std430, binding = 3) readonly buffer G { float g[]; };     // [T][Hv], token stride sg1
layout(std430, binding = 4) readonly buffer BE { float beta[]; }; // [T][Hv], token stride sb1
layout(std430, binding = 5) buffer ST { float st[]; };            // [Hv][S][S] contiguous, updated in place
layout(std430, binding = 6) writeonly buffer O { float o[]; };    // [T][Hv][S]: so1, so2

layout(push_constant) uniform P {
    uint Hk, Hv, T, n_jt;    // key heads, value heads, tokens, value-column tiles per head
    uint sq1, sq2, sk1, sk2, sv1, sv2, sg1, sb1, so1, so2;
    uint oq, ok, ov, og, ob, os, oo;
    float scale;             // usually 1/sqrt(S)
} p;

shared float qs[TB * SK];
shared float ks[TB * SK];
shared float gs[TB];
shared float bs[TB];

void main() {
    uint gid = linear_group_id();
    if (gid >= p.Hv * p.n_jt) return; // whole workgroups only: barriers below stay uniform
    uint h = gid / p.n_jt;
    uint hk = h % p.Hk;
    uint lid = gl_LocalInvocationID.x;
    uint j = (gid % p.n_jt) * gl_WorkGroupSize.x + lid;
    bool live = j < SK;
    uint srow = p.os + (h * SK + (live ? j : 0)) * SK;

    float m[SK];
    for (uint i = 0; i < SK; i++) m[i] = live ? st[srow + i] : 0.0;

    for (uint t0 = 0; t0 < p.T; t0 += TB) {
        uint nb = min(TB, p.T - t0);
        for (uint e = lid; e < nb * SK; e += gl_WorkGroupSize.x) {
            uint tt = e / SK, i = e % SK;
            qs[e] = q[p.oq + (t0 + tt) * p.sq2 + hk * p.sq1 + i];
            ks[e] = k[p.ok + (t0 + tt) * p.sk2 + hk * p.sk1 + i];
        }
        for (uint e = lid; e < nb; e += gl_WorkGroupSize.x) {
            gs[e] = exp(g[p.og + (t0 + e) * p.sg1 + h]);
            bs[e] = beta[p.ob + (t0 + e) * p.sb1 + h];
        }
        // the block's q, k and gates are in shared memory before any invocation reads them
        barrier();
        if (live) {
            for (uint tt = 0; tt < nb; tt++) {
                float decay = gs[tt];
                float kv = 0.0;
                for (uint i = 0; i < SK; i++) {
                    m[i] *= decay;
                    kv += m[i] * ks[tt * SK + i];
                }
                uint t = t0 + tt;
                float d = (v[p.ov + t * p.sv2 + h * p.sv1 + j] - kv) * bs[tt];
                float acc = 0.0;
                for (uint i = 0; i < SK; i++) {
                    m[i] += ks[tt * SK + i] * d;
                    acc += m[i] * qs[tt * SK + i];
                }
                o[p.oo + t * p.so2 + h * p.so1 + j] = acc * p.scale;
            }
        }
        // every invocation is done with this block before the next one overwrites it
        barrier();
    }
    if (live)
        for (uint i = 0; i < SK; i++) st[srow + i] = m[i];
}
