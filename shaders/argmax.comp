#version 450
// argmax.comp — ids[row] = argmax over ne[0] of x (greedy sampling over
// vocabulary logits, V up to ~152k). One workgroup per row: each invocation
// scans a strided slice, then a shared-memory tree reduction of (value, index)
// pairs. Ties go to the lower index; NaN never wins (comparisons with NaN are
// false); a row of only NaN gives 0.
// Mode 2 (vk_op_softmax.c, CPU devices): pass 2 after argmax_lane.comp split each row into nparts parts
// and stored each part's (value, index) winner to part[] (index NONE where the part has no non-NaN value);
// one workgroup a row picks the winner of its nparts pairs with the same better(). The winner is the same
// as one pass's: better() picks the largest non-NaN value, the lowest index among equal ones, whatever the
// order in which the pairs meet.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer I { int ids[]; };
layout(std430, binding = 2) readonly buffer Part { uint part[]; };  // [2][nparts][nrows]: value bits, index (mode 2)

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, nrows;
    uint sx1, sx2, sx3;     // x strides in elements
    uint ox, oi;            // element offsets of the bindings
    uint mode;              // 0: rows of x -> ids; 2: the parts' winners -> ids
    uint nparts;            // mode 2: parts a row
} p;

shared float sv[gl_WorkGroupSize.x];
shared uint si[gl_WorkGroupSize.x];

const uint NONE = 0xffffffffu;

// (v2, i2) beats (v1, i1)?
bool better(float v2, uint i2, float v1, uint i1) {
    return i2 != NONE && (v2 > v1 || (v2 == v1 && i2 < i1) || (i1 == NONE && !isnan(v2)));
}

void main() {
    uint row = linear_group_id();
    if (row >= p.nrows) return;
    uint t = gl_LocalInvocationID.x;
    uint n = gl_WorkGroupSize.x;

    float bv = 0.0;
    uint bi = NONE;
    if (p.mode == 2u) {
        // the row's nparts winners from pass 1, in part order
        for (uint c = t; c < p.nparts; c += n) {
            uint e = 2u * (row * p.nparts + c);
            float v = uintBitsToFloat(part[e]);
            uint i = part[e + 1u];
            if (better(v, i, bv, bi)) { bv = v; bi = i; }
        }
    } else {
        uint i1 = row % p.ne1;
        uint r = row / p.ne1;
        uint i2 = r % p.ne2;
        uint i3 = r / p.ne2;
        uint bx = p.ox + i1 * p.sx1 + i2 * p.sx2 + i3 * p.sx3;
        for (uint i = t; i < p.ne0; i += n) {
            float v = x[bx + i];
            if (better(v, i, bv, bi)) { bv = v; bi = i; }
        }
    }
    sv[t] = bv;
    si[t] = bi;
    barrier();
    for (uint s = n / 2; s > 0; s >>= 1) {
        if (t < s && better(sv[t + s], si[t + s], sv[t], si[t])) {
            sv[t] = sv[t + s];
            si[t] = si[t + s];
        }
        barrier();
    }
    if (t == 0) ids[p.oi + row] = int(si[0] == NONE ? 0u : si[0]);
}
