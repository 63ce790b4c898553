#version 450
// variants: add:OP_ADD mul:OP_MUL
// binary.comp — y = a (+|*) b element-wise, b broadcast over any dimension
// where b.ne[i] divides a.ne[i] (ggml's repeat rule). All F32, strided.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, ne3;        // shape of a and y
    uint sa1, sa2, sa3;             // a strides in elements (dim 0 contiguous)
    uint bne0, bne1, bne2, bne3;    // shape of b
    uint sb1, sb2, sb3;
    uint sy1, sy2, sy3;
    uint oa, ob, oy;                // element offsets of the bindings
    uint n;                         // total elements
} p;

void main() {
    uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.n) return;
    uint i0 = i % p.ne0;
    uint r = i / p.ne0;
    uint i1 = r % p.ne1; r /= p.ne1;
    uint i2 = r % p.ne2;
    uint i3 = r / p.ne2;
    float va = a[p.oa + i0 + i1 * p.sa1 + i2 * p.sa2 + i3 * p.sa3];
    float vb = b[p.ob + (i0 % p.bne0) + (i1 % p.bne1) * p.sb1 + (i2 % p.bne2) * p.sb2 + (i3 % p.bne3) * p.sb3];
#ifdef OP_ADD
    float v = va + vb;
#else
    float v = va * vb;
#endif
    y[p.oy + i0 + i1 * p.sy1 + i2 * p.sy2 + i3 * p.sy3] = v;
}
