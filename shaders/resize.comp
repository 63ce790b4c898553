#version 450
// resize.comp — bilinear resize of two adjacent axes (a = axis0, b = axis0+1)
// of a strided F32 tensor; the other axes are copied through.
// Source coordinate per axis, in exact integer arithmetic (one rounding for f):
//   align_corners: src = d·(in−1)/(out−1)            (out == 1 → 0)
//   half-pixel:    src = (d + ½)·in/out − ½ = ((2d+1)·in − out) / (2·out), clamped to [0, in−1]
// (as PyTorch F.interpolate(mode="bilinear", align_corners=True/False)).
// y = (1−fb)·((1−fa)·x[a0,b0] + fa·x[a1,b0]) + fb·((1−fa)·x[a0,b1] + fa·x[a1,b1]).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, ne3;   // shape of y
    uint in_a, in_b;           // x sizes of the two spatial axes
    uint axis0;                // 0 or 1 (2 is allowed too)
    uint sx1, sx2, sx3;        // x strides in elements
    uint sy1, sy2, sy3;        // y strides in elements
    uint ox, oy;               // element offsets of the bindings
    uint n;                    // elements of y
    uint align_corners;
} p;

// lo, hi source indices and the weight of hi along one axis
void src_coord(uint d, uint n_in, uint n_out, out uint lo, out uint hi, out float f) {
    uint num, den;
    if (p.align_corners != 0u) {
        num = d * (n_in - 1u);
        den = max(n_out - 1u, 1u);
        if (n_out == 1u) num = 0u;
    } else {
        int s = int((2u * d + 1u) * n_in) - int(n_out);
        num = uint(max(s, 0));
        den = 2u * n_out;
    }
    lo = num / den;
    f = float(num % den) / float(den);
    if (lo >= n_in - 1u) { lo = n_in - 1u; f = 0.0; }
    hi = min(lo + 1u, n_in - 1u);
}

void main() {
    uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.n) return;
    uint idx[4];
    idx[0] = i % p.ne0;
    uint r = i / p.ne0;
    idx[1] = r % p.ne1; r /= p.ne1;
    idx[2] = r % p.ne2;
    idx[3] = r / p.ne2;
    uint ne[4] = uint[4](p.ne0, p.ne1, p.ne2, p.ne3);
    uint sx[4] = uint[4](1u, p.sx1, p.sx2, p.sx3);
    uint a = p.axis0, b = p.axis0 + 1u;
    uint base = p.ox;
    for (uint d = 0u; d < 4u; d++)
        if (d != a && d != b) base += idx[d] * sx[d];
    uint a0, a1, b0, b1;
    float fa, fb;
    src_coord(idx[a], p.in_a, ne[a], a0, a1, fa);
    src_coord(idx[b], p.in_b, ne[b], b0, b1, fb);
    float v00 = x[base + a0 * sx[a] + b0 * sx[b]];
    float v10 = x[base + a1 * sx[a] + b0 * sx[b]];
    float v01 = x[base + a0 * sx[a] + b1 * sx[b]];
    float v11 = x[base + a1 * sx[a] + b1 * sx[b]];
    float v = (1.0 - fb) * ((1.0 - fa) * v00 + fa * v10) + fb * ((1.0 - fa) * v01 + fa * v11);
    y[p.oy + idx[0] + idx[1] * p.sy1 + idx[2] * p.sy2 + idx[3] * p.sy3] = v;
}
