#version 450
// norm_ln_lane.comp — LayerNorm (norm.comp's ln: y = w ⊙ (x − μ) / sqrt(σ² + eps) + b, population variance,
// two passes) for CPU devices, one row a lane: the vision towers' rows of 64 (the goldens' tower: 784 rows
// at 448 x 448) took ~1.3-1.5 ms a call in norm.comp's one workgroup (one subgroup) a row on lavapipe, 8
// calls an encode (docs/PERFORMANCE.md section 41). Each lane walks its own row as vec4s through a texel
// view (a per-lane vec4 storage load is a scalar gather per component in gallivm, a texel fetch one gathered
// load), w and b through texel views too (the same address in every lane), y stored as vec4s. No shared
// memory, no barrier, no subgroup operation. Rows addressed by (i1, i2, i3) strides as in norm.comp; every
// offset and stride is a whole number of vec4s (vk_op_norm.c checks), ne0 a multiple of 4.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(binding = 0) uniform usamplerBuffer xt;   // x as R32G32B32A32_UINT
layout(binding = 1) uniform usamplerBuffer wt;   // w [ne0]
layout(binding = 2) uniform usamplerBuffer bt;   // b [ne0]
layout(std430, binding = 3) writeonly buffer Y { vec4 y4[]; };

layout(push_constant) uniform P {
    uint n4, ne1, ne2, nrows;   // vec4s a row; rows = ne1 · ne2 · ne3
    uint sx1, sx2, sx3;         // x strides in vec4s
    uint sy1, sy2, sy3;         // y strides in vec4s
    uint ox, ow, ob, oy;        // offsets in vec4s: x, w, b in their texel views, y in its binding
    uint has_w, has_b;
    float eps;
} p;

#define F4(t, i) uintBitsToFloat(texelFetch(t, int(i)))

void main() {
    uint row = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (row >= p.nrows) return;
    uint i1 = row % p.ne1, r = row / p.ne1;
    uint i2 = r % p.ne2, i3 = r / p.ne2;
    uint bx = p.ox + i1 * p.sx1 + i2 * p.sx2 + i3 * p.sx3;
    uint by = p.oy + i1 * p.sy1 + i2 * p.sy2 + i3 * p.sy3;
    float n = float(4u * p.n4);
    vec4 s4 = vec4(0.0);
    for (uint i = 0; i < p.n4; i++) s4 += F4(xt, bx + i);
    float mean = ((s4.x + s4.y) + (s4.z + s4.w)) / n;
    vec4 q4 = vec4(0.0);
    for (uint i = 0; i < p.n4; i++) {
        vec4 d = F4(xt, bx + i) - vec4(mean);
        q4 += d * d;
    }
    float inv = inversesqrt(((q4.x + q4.y) + (q4.z + q4.w)) / n + p.eps);
    for (uint i = 0; i < p.n4; i++) {
        vec4 v = (F4(xt, bx + i) - vec4(mean)) * inv;
        if (p.has_w != 0) v *= F4(wt, p.ow + i);
        if (p.has_b != 0) v += F4(bt, p.ob + i);
        y4[by + i] = v;
    }
}
