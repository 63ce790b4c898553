#version 450
// variants: f32_f32:SRC_F32,DST_F32 f32_f16:SRC_F32,DST_F16 f16_f32:SRC_F16,DST_F32 f16_f16:SRC_F16,DST_F16
// convert.comp — y = x element-wise over 4-D strided views, converting
// F32 <-> F16 (packHalf2x16 rounds to nearest even) or copying. F16 stores
// write whole 32-bit words when PAIRS (even row length, strides and offset),
// else merge each half with atomicAnd/atomicOr.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { uint xs[]; };
layout(std430, binding = 1) buffer Y { uint ys[]; };

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, ne3;
    uint sx1, sx2, sx3;           // strides in source elements
    uint sy1, sy2, sy3;           // strides in destination elements
    uint ox, oy, cpr, pairs;      // cpr: workgroups per row (of ne0 elements, or ne0/2 pairs)
} p;

float load(uint e) {
#ifdef SRC_F32
    return uintBitsToFloat(xs[e]);
#else
    return unpackHalf2x16(xs[e >> 1] >> ((e & 1u) * 16u)).x;
#endif
}

void main() {
    uint w0 = p.pairs != 0u ? p.ne0 / 2u : p.ne0;
    uvec4 ix; // rows in workgroup chunks: no per-lane division (common.glsl)
    if (!row_chunk_index(gl_WorkGroupSize.x, p.cpr, p.ne1 * p.ne2 * p.ne3, w0, p.ne1, p.ne2, ix)) return;
    uint i0 = ix.x, i1 = ix.y, i2 = ix.z, i3 = ix.w;
    uint xb = p.ox + i1 * p.sx1 + i2 * p.sx2 + i3 * p.sx3;
    uint yb = p.oy + i1 * p.sy1 + i2 * p.sy2 + i3 * p.sy3;
#if defined(DST_F32)
    ys[yb + i0] = floatBitsToUint(load(xb + i0));
#elif defined(SRC_F16)
    // f16 -> f16: move the raw half
    if (p.pairs != 0u) {
        uint a = xb + 2u * i0;
        uint lo = (xs[a >> 1] >> ((a & 1u) * 16u)) & 0xffffu;
        uint hi = (xs[(a + 1u) >> 1] >> (((a + 1u) & 1u) * 16u)) & 0xffffu;
        ys[(yb >> 1) + i0] = lo | (hi << 16);
    } else {
        uint a = xb + i0, e = yb + i0, sh = (e & 1u) * 16u;
        uint h = (xs[a >> 1] >> ((a & 1u) * 16u)) & 0xffffu;
        atomicAnd(ys[e >> 1], ~(0xffffu << sh));
        atomicOr(ys[e >> 1], h << sh);
    }
#else
    if (p.pairs != 0u) {
        ys[(yb >> 1) + i0] = packHalf2x16(vec2(load(xb + 2u * i0), load(xb + 2u * i0 + 1u)));
    } else {
        uint e = yb + i0, sh = (e & 1u) * 16u;
        uint h = packHalf2x16(vec2(load(xb + i0), 0.0)) & 0xffffu;
        atomicAnd(ys[e >> 1], ~(0xffffu << sh));
        atomicOr(ys[e >> 1], h << sh);
    }
#endif
}
