#version 450
// softmax_lane.comp — row-wise softmax over ne[0] of s·x, as softmax.comp
// (y_i = e^(s·x_i − m) / Σ_j e^(s·x_j − m), m = max_j s·x_j), one invocation
// per row: the CPU devices' kernel (vk_op_softmax.c picks it). lavapipe runs
// a workgroup as SIMD batches of one subgroup and switches coroutines at
// every barrier; softmax.comp's tree reductions pay ~20 barriers a row. Here
// each lane walks its own row (the per-lane contiguous pattern lavapipe reads
// fastest, docs/PERFORMANCE.md "Probes"), reading x as 16-byte texels of a
// R32G32B32A32 view (binding 0; "Texel buffers") and writing y as vec4s: no
// barrier, no shared memory, no subgroup operation. Needs ne0, the row
// strides and both offsets in multiples of 4 floats, and x, y apart (host-checked).
// Sums: four partial sums (one per vec4 component) added at the end, so the
// last bits differ from softmax.comp's tree.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(binding = 0) uniform usamplerBuffer xt;   // x as R32G32B32A32_UINT
layout(std430, binding = 1) writeonly buffer Y4 { vec4 y4[]; };

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, nrows;
    uint sx1, sx2, sx3;     // strides in elements
    uint sy1, sy2, sy3;
    uint ox, oy;            // element offsets: x in its view, y in its binding
    float scale;
} p;

#define XT(i) (p.scale * uintBitsToFloat(texelFetch(xt, int(i))))

void main() {
    uint row = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (row >= p.nrows) return;
    uint i1 = row % p.ne1;
    uint r = row / p.ne1;
    uint i2 = r % p.ne2;
    uint i3 = r / p.ne2;
    uint bx = (p.ox + i1 * p.sx1 + i2 * p.sx2 + i3 * p.sx3) >> 2;
    uint by = (p.oy + i1 * p.sy1 + i2 * p.sy2 + i3 * p.sy3) >> 2;
    uint n4 = p.ne0 >> 2;

    vec4 m4 = vec4(-1.0 / 0.0);
    for (uint j = 0; j < n4; j++) m4 = max(m4, XT(bx + j));
    float m = max(max(m4.x, m4.y), max(m4.z, m4.w));
    vec4 s4 = vec4(0.0);
    for (uint j = 0; j < n4; j++) s4 += exp(XT(bx + j) - m);
    float inv = 1.0 / ((s4.x + s4.y) + (s4.z + s4.w));
    for (uint j = 0; j < n4; j++) y4[by + j] = exp(XT(bx + j) - m) * inv;
}
