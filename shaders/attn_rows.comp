#version 450
// attn_rows.comp — copies rows of 4·n4 floats between two 3-D row layouts
// (y[i3][i2][i1][:] = x[i3][i2][i1][:], each side with its own strides): the
// CPU devices' GEMM attention (vk_op_attention.c attn_lane) moves q from
// [Tq][Hq][hd] into its query blocks [nch][Hq][qc][hd] and the output back.
// One invocation a vec4 (consecutive lanes, consecutive vec4s of a row),
// x read through a R32G32B32A32 texel view (a per-lane vec4 storage load is a
// scalar gather per component on lavapipe). No loop, no barrier. Measured on
// the a3b prefill shape (4096 rows of 128 floats, bench ops, one run each):
// convert.comp 7-8 ms a copy, a row a lane with storage reads 7.0 ms, a row a
// lane with texel reads 5.2 ms, this 2.7-5.7 ms. Strides and offsets in vec4s
// (the host checks that they are whole).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(binding = 0) uniform usamplerBuffer xt;   // x as R32G32B32A32_UINT
layout(std430, binding = 1) writeonly buffer Y { vec4 y4[]; };

layout(push_constant) uniform P {
    uint n4, ne1, ne2, nrows;   // vec4s a row; rows = ne1 · ne2 · ne3
    uint sx1, sx2, sx3, ox;     // x strides and offset, in vec4s
    uint sy1, sy2, sy3, oy;     // y strides and offset, in vec4s
} p;

void main() {
    uint id = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint row = id / p.n4, i = id - row * p.n4;
    if (row >= p.nrows) return;
    uint i1 = row % p.ne1, r = row / p.ne1;
    uint i2 = r % p.ne2, i3 = r / p.ne2;
    uint xb = p.ox + i1 * p.sx1 + i2 * p.sx2 + i3 * p.sx3;
    uint yb = p.oy + i1 * p.sy1 + i2 * p.sy2 + i3 * p.sy3;
    y4[yb + i] = uintBitsToFloat(texelFetch(xt, int(xb + i)));
}
