#version 450
// variants: f32:DST_F32 f16:DST_F16
// set_rows.comp — dst[D][R] rows idx[t] = src[D][T] (f32), converting to the
// destination type (F32, or F16 with round-to-nearest-even packHalf2x16):
// the KV-cache write at positions held in a buffer. Destinations over the
// storage-buffer range are bound in row ranges [r0, r1); rows outside
// [0, R) are skipped. F16 stores: PAIRS = one invocation writes a whole
// 32-bit word (two halves of one row); otherwise each half is merged into its
// word with atomicAnd/atomicOr so neighbours never clobber each other.
// two: a second source/destination pair at the same rows in the same dispatch
// (a layer's K and V cache writes; invocations [0, n1) the first, then the
// second), both bound whole (r0 = 0).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer S { float src[]; };
layout(std430, binding = 1) readonly buffer I { int idx[]; };
layout(std430, binding = 2) buffer Dst { uint dst[]; };
layout(std430, binding = 3) readonly buffer S2 { float src2[]; };
layout(std430, binding = 4) buffer Dst2 { uint dst2[]; };

layout(push_constant) uniform P {
    uint D, T, ss1, is0, ds1;     // ds1 in dst elements
    uint os, oi, od;              // od in dst elements
    uint r0, r1, pairs;
    uint two, D2, ss1b, ds1b, osb, odb, pairs2; // the second pair (two != 0)
} p;

// element q (or word q of a pair) of one row: SRC[sb..] -> DST at db (dst elements)
#ifdef DST_F32
#define STORE(DST, SRC, sb, db, q, pr) DST[(db) + (q)] = floatBitsToUint(SRC[(sb) + (q)])
#else
#define STORE(DST, SRC, sb, db, q, pr)                                                        \
    if ((pr) != 0u) {                                                                         \
        DST[((db) >> 1) + (q)] = packHalf2x16(vec2(SRC[(sb) + 2u * (q)], SRC[(sb) + 2u * (q) + 1u])); \
    } else {                                                                                  \
        uint e_ = (db) + (q), sh_ = (e_ & 1u) * 16u;                                          \
        uint h_ = packHalf2x16(vec2(SRC[(sb) + (q)], 0.0)) & 0xffffu;                         \
        atomicAnd(DST[e_ >> 1], ~(0xffffu << sh_));                                           \
        atomicOr(DST[e_ >> 1], h_ << sh_);                                                    \
    }
#endif

void main() {
    uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint per_row = p.pairs != 0u ? p.D / 2u : p.D;
    if (i < per_row * p.T) {
        uint q = i % per_row, t = i / per_row;
        int r = idx[p.oi + t * p.is0];
        if (r < int(p.r0) || r >= int(p.r1)) return;
        uint sb = p.os + t * p.ss1, db = p.od + (uint(r) - p.r0) * p.ds1;
        STORE(dst, src, sb, db, q, p.pairs);
        return;
    }
    if (p.two == 0u) return;
    i -= per_row * p.T;
    uint per2 = p.pairs2 != 0u ? p.D2 / 2u : p.D2;
    if (i >= per2 * p.T) return;
    uint q = i % per2, t = i / per2;
    int r = idx[p.oi + t * p.is0];
    if (r < int(p.r0) || r >= int(p.r1)) return;
    uint sb = p.osb + t * p.ss1b, db = p.odb + (uint(r) - p.r0) * p.ds1b;
    STORE(dst2, src2, sb, db, q, p.pairs2);
}
