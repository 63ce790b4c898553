#version 450
// softmax.comp — row-wise softmax over ne[0] of s·x (numerically stable form:
// y_i = e^(s·x_i − m) / Σ_j e^(s·x_j − m), m = max_j s·x_j; as ggml_soft_max).
// One workgroup per row (power-of-two size), three passes over the row: max,
// sum, write; tree reductions in shared memory. x and y may be strided views
// (rows addressed by (i1, i2, i3) strides) and may alias (in place).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, nrows;
    uint sx1, sx2, sx3;     // strides in elements
    uint sy1, sy2, sy3;
    uint ox, oy;            // element offsets of the bindings
    float scale;
} p;

shared float red[gl_WorkGroupSize.x];

float wg_reduce(float v, bool is_max) {
    uint t = gl_LocalInvocationID.x;
    red[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (t < s) red[t] = is_max ? max(red[t], red[t + s]) : red[t] + red[t + s];
        barrier();
    }
    float r = red[0];
    barrier();
    return r;
}

void main() {
    uint row = linear_group_id();
    if (row >= p.nrows) return;
    uint i1 = row % p.ne1;
    uint r = row / p.ne1;
    uint i2 = r % p.ne2;
    uint i3 = r / p.ne2;
    uint bx = p.ox + i1 * p.sx1 + i2 * p.sx2 + i3 * p.sx3;
    uint by = p.oy + i1 * p.sy1 + i2 * p.sy2 + i3 * p.sy3;
    uint t = gl_LocalInvocationID.x;
    uint n = gl_WorkGroupSize.x;

    float m = -1.0 / 0.0;
    for (uint i = t; i < p.ne0; i += n) m = max(m, p.scale * x[bx + i]);
    m = wg_reduce(m, true);
    float s = 0.0;
    for (uint i = t; i < p.ne0; i += n) s += exp(p.scale * x[bx + i] - m);
    s = wg_reduce(s, false);
    float inv = 1.0 / s;
    for (uint i = t; i < p.ne0; i += n) y[by + i] = exp(p.scale * x[bx + i] - m) * inv;
}
