#version 450
// argmax_lane.comp — pass 1 of a CPU device's argmax (vk_op_softmax.c picks it): each row of
// x split into nparts parts of plen elements (plen a multiple of 4), one invocation a part, walking its part
// in order through 16-byte texels of a R32G32B32A32 view of x (binding 0; the per-lane contiguous pattern
// lavapipe reads fastest, as softmax_lane.comp), no barrier, no shared memory. Each part's winner
// (value bits, index; index NONE where the part holds no non-NaN value) goes to part[] for argmax.comp's
// mode 2. The walk meets indices in increasing order, so "strictly greater" keeps the lower index of equal
// values; NaN never wins (comparisons with NaN are false), the first non-NaN value replaces NONE.
// Needs ne0, the row strides and x's offset in its view in multiples of 4 floats (host-checked).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(binding = 0) uniform usamplerBuffer xt;   // x as R32G32B32A32_UINT
layout(std430, binding = 1) writeonly buffer Part { uint part[]; };  // [2][nparts][nrows]

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, nrows;
    uint sx1, sx2, sx3;     // x strides in elements
    uint ox;                // x's first element in its view
    uint nparts, plen;      // parts a row, elements a part
} p;

const uint NONE = 0xffffffffu;

void main() {
    uint g = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;   // part g % nparts of row g / nparts
    uint row = g / p.nparts;
    if (row >= p.nrows) return;
    uint i1 = row % p.ne1;
    uint r = row / p.ne1;
    uint i2 = r % p.ne2;
    uint i3 = r / p.ne2;
    uint bx = (p.ox + i1 * p.sx1 + i2 * p.sx2 + i3 * p.sx3) >> 2;
    uint lo = (g - row * p.nparts) * p.plen;
    uint hi = min(p.ne0, lo + p.plen);

    float bv = 0.0;
    uint bi = NONE;
    for (uint j = lo >> 2; j < hi >> 2; j++) {
        vec4 v = uintBitsToFloat(texelFetch(xt, int(bx + j)));
        for (uint k = 0; k < 4u; k++) {
            bool b = v[k] > bv || (bi == NONE && !isnan(v[k]));
            bv = b ? v[k] : bv;
            bi = b ? 4u * j + k : bi;
        }
    }
    part[2u * g] = floatBitsToUint(bv);
    part[2u * g + 1u] = bi;
}
