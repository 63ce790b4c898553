#version 450
// variants: f32:DST_F32 f16:DST_F16
// set_rows.comp — dst[D][R] rows idx[t] = src[D][T] (f32), converting to the
// destination type (F32, or F16 with round-to-nearest-even packHalf2x16):
// the KV-cache write at positions held in a buffer. Destinations over the
// storage-buffer range are bound in row ranges [r0, r1); rows outside
// [0, R) are skipped. F16 stores: PAIRS = one invocation writes a whole
// 32-bit word (two halves of one row); otherwise each half is merged into its
// word with atomicAnd/atomicOr so neighbours never clobber each other.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer S { float src[]; };
layout(std430, binding = 1) readonly buffer I { int idx[]; };
layout(std430, binding = 2) buffer Dst { uint dst[]; };

layout(push_constant) uniform P {
    uint D, T, ss1, is0, ds1;     // ds1 in dst elements
    uint os, oi, od;              // od in dst elements
    uint r0, r1, pairs;
} p;

void main() {
    uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint per_row = p.pairs != 0u ? p.D / 2u : p.D;
    if (i >= per_row * p.T) return;
    uint q = i % per_row, t = i / per_row;
    int r = idx[p.oi + t * p.is0];
    if (r < int(p.r0) || r >= int(p.r1)) return;
    uint sb = p.os + t * p.ss1, db = p.od + (uint(r) - p.r0) * p.ds1;
#ifdef DST_F32
    dst[db + q] = floatBitsToUint(src[sb + q]);
#else
    if (p.pairs != 0u) {
        dst[(db >> 1) + q] = packHalf2x16(vec2(src[sb + 2u * q], src[sb + 2u * q + 1u]));
    } else {
        uint e = db + q, sh = (e & 1u) * 16u;
        uint h = packHalf2x16(vec2(src[sb + q], 0.0)) & 0xffffu;
        atomicAnd(dst[e >> 1], ~(0xffffu << sh));
        atomicOr(dst[e >> 1], h << sh);
    }
#endif
}
