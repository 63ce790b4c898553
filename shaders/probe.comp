#version 450
// variants: read_lane:PROBE_READ_LANE read_coal:PROBE_READ_COAL fma:PROBE_FMA
// probe.comp — micro-kernels that measure what the device can do, for the
// roofline of docs/PERFORMANCE.md (`moevk bench probe`):
//   read_lane: invocation i reads its own contiguous run of uvec4s (per lane
//              contiguous, 4 independent accumulators): the pattern that is
//              fast on lavapipe (docs/PERFORMANCE.md, "Probes");
//   read_coal: invocation i reads uvec4 i, i + G, i + 2G, ... (G = all
//              invocations): the coalesced pattern that is right for a GPU;
//   fma:       8 independent vec4 FMA chains per invocation, p.iters times:
//              the arithmetic peak (2 FLOP per FMA lane).
// Each invocation writes one word, so no loop can be dropped; the host checks
// the words (the read sum equals the buffer's word sum mod 2^32, the FMA
// chains their closed form), since a loop cut short reads impossibly fast.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer S { uvec4 s4[]; };
layout(std430, binding = 1) writeonly buffer Y { uint y[]; };

layout(push_constant) uniform P {
    uint n4;       // uvec4s in the source (a multiple of 4 * invocations)
    uint per;      // uvec4s per invocation (read_lane) / iterations (fma)
    uint ninv;     // invocations in all
    float a, b;    // fma: x <- x * a + b
} p;

void main() {
    const uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.ninv) return;
#if defined(PROBE_READ_LANE)
    uvec4 a0 = uvec4(0u), a1 = uvec4(0u), a2 = uvec4(0u), a3 = uvec4(0u);
    const uint b = i * p.per;
    for (uint k = 0; k < p.per; k += 4u) {
        a0 += s4[b + k];
        a1 += s4[b + k + 1u];
        a2 += s4[b + k + 2u];
        a3 += s4[b + k + 3u];
    }
    uvec4 t = a0 + a1 + a2 + a3;
    y[i] = t.x + t.y + t.z + t.w;
#elif defined(PROBE_READ_COAL)
    uvec4 a0 = uvec4(0u), a1 = uvec4(0u);
    const uint G = p.ninv;
    for (uint k = i; k < p.n4; k += 2u * G) {
        a0 += s4[k];
        a1 += s4[k + G];
    }
    uvec4 t = a0 + a1;
    y[i] = t.x + t.y + t.z + t.w;
#elif defined(PROBE_FMA)
    vec4 c[8];
    for (uint q = 0; q < 8u; q++) c[q] = vec4(float(q) * 0.125);
    for (uint k = 0; k < p.per; k++)
        for (uint q = 0; q < 8u; q++) c[q] = fma(c[q], vec4(p.a), vec4(p.b));
    vec4 t = c[0] + c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + c[7];
    y[i] = floatBitsToUint(t.x + t.y + t.z + t.w);
#endif
}
