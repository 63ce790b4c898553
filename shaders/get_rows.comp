#version 450
// variants: {w}
// get_rows.comp — y[D][T] (f32) = rows ids[t] of table[D][V] (embedding
// lookup; any weight type, quantised rows in the device layout of wtypes.glsl).
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

#define W_ROW_K p.D
#include "wtypes.glsl"

#ifdef W_QUANT
#define PER 32u // quantised rows: one invocation per 32-value chunk
#else
#define PER 1u
#endif

void main() {
    uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    const uint DC = p.D / PER;
    if (i >= DC * p.T) return;
    uint d = (i % DC) * PER, t = i / DC;
    int id = ids[p.oi + t * p.is0];
    uint yi = p.oy + t * p.ys1 + d;
    if (id < 0 || uint(id) >= p.V) {
        if (p.zero_invalid != 0u)
            for (uint e = 0u; e < PER; e++) y[yi + e] = 0.0;
        return;
    }
    uint v = uint(id);
    if (v < p.v0 || v >= p.v1) return;
#ifdef W_QUANT
    vec4 c[8];
    wqchunk(p.ow + (v - p.v0) * p.ws1, d / 32u, c);
    for (uint e = 0u; e < 32u; e++) y[yi + e] = c[e >> 2][e & 3u];
#else
    y[yi] = wload(p.ow + (v - p.v0) * p.ws1, d);
#endif
}
