#version 450
// variants: f32:W_F32 f16:W_F16 bf16:W_BF16 q8_0:W_Q8_0
// get_rows.comp — y[D][T] (f32) = rows ids[t] of table[D][V] (embedding
// lookup; F32, F16, BF16 or Q8_0 in the GGUF block layout, see wtypes.glsl).
// Ids are read on the GPU. Tables over the storage-buffer range are bound in
// row ranges [v0, v1), one dispatch each; ids outside [0, V) give zero rows
// (written by the dispatch with zero_invalid set).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P {
    uint D, T, ws1, is0, ys1;
    uint ow, oi, oy;
    uint v0, v1, V, zero_invalid;
} p;

#include "wtypes.glsl"

void main() {
    uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.D * p.T) return;
    uint d = i % p.D, t = i / p.D;
    int id = ids[p.oi + t * p.is0];
    uint yi = p.oy + t * p.ys1 + d;
    if (id < 0 || uint(id) >= p.V) {
        if (p.zero_invalid != 0u) y[yi] = 0.0;
        return;
    }
    uint v = uint(id);
    if (v < p.v0 || v >= p.v1) return;
    y[yi] = wload(p.ow + (v - p.v0) * p.ws1, d);
}
