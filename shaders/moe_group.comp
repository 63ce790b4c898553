#version 450
// moe_group.comp — groups the (token, slot) entries of a MoE layer per expert,
// on the GPU, for the grouped GEMM (matmul.comp MUL_MAT_ID). One workgroup:
//   1. count the entries of each expert (shared-memory atomics);
//   2. exclusive prefix sums: meta[0..E] = first list row of each expert,
//      meta[E+1 .. 2E+1] = first GEMM tile of each expert (BM rows a tile);
//   3. gather: list[row] = entry index (j + k*t), expert by expert.
// The order of entries inside one expert does not change any result (every
// output row is an independent dot product). Entries whose id is outside
// [0, E) get zero output rows here and are left out of the list.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint E = 8;      // number of experts
layout(constant_id = 2) const uint BM = 64;    // GEMM tile rows

layout(std430, binding = 0) readonly buffer Ids { int ids[]; };
layout(std430, binding = 1) writeonly buffer Meta { uint meta[]; };
layout(std430, binding = 2) writeonly buffer List { uint list[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P {
    uint nslot, T, is1, oi;
    uint ometa, olist;
    uint N, ys_slot, ys_tok, oy;
} p;

shared uint cnt[E];
shared uint off[E];

void main() {
    const uint tid = gl_LocalInvocationID.x, WG = gl_WorkGroupSize.x;
    const uint n = p.nslot * p.T;
    for (uint e = tid; e < E; e += WG) cnt[e] = 0u;
    barrier();
    for (uint i = tid; i < n; i += WG) {
        uint j = i % p.nslot, t = i / p.nslot;
        int e = ids[p.oi + j + t * p.is1];
        if (e >= 0 && uint(e) < E) {
            atomicAdd(cnt[uint(e)], 1u);
        } else {
            uint yb = p.oy + j * p.ys_slot + t * p.ys_tok;
            for (uint c = 0; c < p.N; c++) y[yb + c] = 0.0;
        }
    }
    barrier();
    if (tid == 0u) {
        uint o = 0u, tiles = 0u;
        for (uint e = 0; e < E; e++) {
            uint c = cnt[e];
            meta[p.ometa + e] = o;
            meta[p.ometa + E + 1u + e] = tiles;
            off[e] = o;
            o += c;
            tiles += (c + BM - 1u) / BM;
        }
        meta[p.ometa + E] = o;
        meta[p.ometa + 2u * E + 1u] = tiles;
    }
    barrier();
    for (uint i = tid; i < n; i += WG) {
        uint j = i % p.nslot, t = i / p.nslot;
        int e = ids[p.oi + j + t * p.is1];
        if (e >= 0 && uint(e) < E) list[p.olist + atomicAdd(off[uint(e)], 1u)] = i;
    }
}
