#version 450
// variants: read_lane:PROBE_READ_LANE read_coal:PROBE_READ_COAL fma:PROBE_FMA fma_shl:PROBE_FMA,SH_LANE fma_shu:PROBE_FMA,SH_UNIF read_tex4:PROBE_READ_LANE,TEX4 read_tex1:PROBE_READ_LANE,TEX1 read_img4:PROBE_READ_LANE,IMG4 read_img1:PROBE_READ_LANE,IMG1 read_itex4:PROBE_READ_ILV,TEX4
// probe.comp — micro-kernels that measure what the device can do, for the
// roofline of docs/PERFORMANCE.md (`moevk bench probe`):
//   read_lane: invocation i reads its own contiguous run of uvec4s (per lane
//              contiguous, 4 independent accumulators): the pattern that is
//              fast on lavapipe (docs/PERFORMANCE.md, "Probes");
//   read_coal: invocation i reads uvec4 i, i + G, i + 2G, ... (G = all
//              invocations): the coalesced pattern that is right for a GPU;
//   read_tex4, read_tex1, read_img4, read_img1: read_lane through a texel-buffer
//              view of the same buffer (binding 0): texelFetch of a uniform
//              texel buffer (tex) or imageLoad of a storage texel buffer (img),
//              of R32G32B32A32_UINT (4: one uvec4 a fetch) or R32_UINT texels
//              (1: four fetches per uvec4);
//   read_itex4: read_lane's runs interleaved by 16 bytes across each 8 invocations
//              (invocation 8g + l reads uvec4 k of its run at 8k + l of group g's
//              span of 8 runs), through a rgba32 texel view: the 8
//              loads of one texelFetch are 128 contiguous bytes, so each 8 lanes
//              stream one run instead of 8 (a weight layout with rows interleaved);
//   fma:       NCH (spec constant 1) independent vec4 FMA chains per
//              invocation, p.per times (a multiple of 8: the loop body is 8
//              rounds, unrolled), operands in registers: the
//              arithmetic peak (2 FLOP per FMA lane); lavapipe runs a vec4 as
//              4 SIMD registers of 8 lanes, so NCH = 4 keeps 16 accumulators,
//              the x86 register file, and NCH = 8 spills;
//   fma_shl, fma_shu: the same chains with the multiplier read from shared
//              memory each FMA, as the tiled GEMM's inner loop reads its tiles
//              (matmul.comp): at a per-lane address (shl) or one address for
//              all lanes (shu). Every shared word holds a, so the result is
//              fma's.
// Each invocation writes one word, so no loop can be dropped; the host checks
// the words (the read sum equals the buffer's word sum mod 2^32, the FMA
// chains their closed form), since a loop cut short reads impossibly fast.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint NCH = 8;   // fma: independent vec4 chains
// fma: rounds per loop iteration (unrolled), so that the loop's own cost (gallivm
// keeps an execution mask and an iteration limit per loop) does not count
#define FMA_UNROLL 8u

#if defined(TEX4) || defined(TEX1)
layout(binding = 0) uniform usamplerBuffer st;
#elif defined(IMG4)
layout(binding = 0, rgba32ui) uniform readonly uimageBuffer si;
#elif defined(IMG1)
layout(binding = 0, r32ui) uniform readonly uimageBuffer si;
#else
layout(std430, binding = 0) readonly buffer S { uvec4 s4[]; };
#endif
// uvec4 number q of the source
#if defined(TEX4)
#define SRC(q) texelFetch(st, int(q))
#elif defined(TEX1)
#define SRC(q) uvec4(texelFetch(st, int(4u * (q))).x, texelFetch(st, int(4u * (q) + 1u)).x, texelFetch(st, int(4u * (q) + 2u)).x, texelFetch(st, int(4u * (q) + 3u)).x)
#elif defined(IMG4)
#define SRC(q) imageLoad(si, int(q))
#elif defined(IMG1)
#define SRC(q) uvec4(imageLoad(si, int(4u * (q))).x, imageLoad(si, int(4u * (q) + 1u)).x, imageLoad(si, int(4u * (q) + 2u)).x, imageLoad(si, int(4u * (q) + 3u)).x)
#else
#define SRC(q) s4[q]
#endif
layout(std430, binding = 1) writeonly buffer Y { uint y[]; };

layout(push_constant) uniform P {
    uint n4;       // uvec4s in the source (a multiple of 4 * invocations)
    uint per;      // uvec4s per invocation (read_lane) / iterations (fma)
    uint ninv;     // invocations in all
    float a, b;    // fma: x <- x * a + b
} p;

#if defined(SH_LANE) || defined(SH_UNIF)
#define SH_N 256u
shared vec4 sh[SH_N];
#endif

void main() {
    const uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.ninv) return;
#if defined(PROBE_READ_LANE)
    uvec4 a0 = uvec4(0u), a1 = uvec4(0u), a2 = uvec4(0u), a3 = uvec4(0u);
    const uint b = i * p.per;
    for (uint k = 0; k < p.per; k += 4u) {
        a0 += SRC(b + k);
        a1 += SRC(b + k + 1u);
        a2 += SRC(b + k + 2u);
        a3 += SRC(b + k + 3u);
    }
    uvec4 t = a0 + a1 + a2 + a3;
    y[i] = t.x + t.y + t.z + t.w;
#elif defined(PROBE_READ_ILV)
    uvec4 a0 = uvec4(0u), a1 = uvec4(0u), a2 = uvec4(0u), a3 = uvec4(0u);
    const uint b = (i >> 3) * p.per * 8u + (i & 7u);
    for (uint k = 0; k < p.per; k += 4u) {
        a0 += SRC(b + 8u * k);
        a1 += SRC(b + 8u * k + 8u);
        a2 += SRC(b + 8u * k + 16u);
        a3 += SRC(b + 8u * k + 24u);
    }
    uvec4 t = a0 + a1 + a2 + a3;
    y[i] = t.x + t.y + t.z + t.w;
#elif defined(PROBE_READ_COAL)
    uvec4 a0 = uvec4(0u), a1 = uvec4(0u);
    const uint G = p.ninv;
    for (uint k = i; k < p.n4; k += 2u * G) {
        a0 += SRC(k);
        a1 += SRC(k + G);
    }
    uvec4 t = a0 + a1;
    y[i] = t.x + t.y + t.z + t.w;
#elif defined(PROBE_FMA)
    vec4 c[NCH];
    for (uint q = 0; q < NCH; q++) c[q] = vec4(float(q) * 0.125);
#if defined(SH_LANE) || defined(SH_UNIF)
    // fill the table with a; why the barrier: every invocation reads words others wrote
    for (uint j = gl_LocalInvocationID.x; j < SH_N; j += gl_WorkGroupSize.x) sh[j] = vec4(p.a);
    barrier();
#ifdef SH_LANE
    const uint l = gl_LocalInvocationID.x * 7u;
#else
    const uint l = 0u;
#endif
    for (uint k = 0; k < p.per; k += FMA_UNROLL)
        for (uint u = 0; u < FMA_UNROLL; u++)
            for (uint q = 0; q < NCH; q++) c[q] = fma(c[q], sh[(l + k + u + q) & (SH_N - 1u)], vec4(p.b));
#else
    for (uint k = 0; k < p.per; k += FMA_UNROLL)
        for (uint u = 0; u < FMA_UNROLL; u++)
            for (uint q = 0; q < NCH; q++) c[q] = fma(c[q], vec4(p.a), vec4(p.b));
#endif
    vec4 t = vec4(0.0);
    for (uint q = 0; q < NCH; q++) t += c[q];
    y[i] = floatBitsToUint(t.x + t.y + t.z + t.w);
#endif
}
