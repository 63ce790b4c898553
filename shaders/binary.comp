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
    uint nrows;                     // ne1 * ne2 * ne3
    uint cpr;                       // workgroups per row: ceil(ne0 / workgroup size)
} p;

// rows in workgroup chunks (common.glsl row_chunk_index); b's ne0 broadcast
// divides only when b's row is shorter than a's (a uniform branch)
void main() {
    uvec4 ix;
    if (!row_chunk_index(gl_WorkGroupSize.x, p.cpr, p.nrows, p.ne0, p.ne1, p.ne2, ix)) return;
    uint i0 = ix.x, i1 = ix.y, i2 = ix.z, i3 = ix.w;
    uint j0 = p.bne0 == p.ne0 ? i0 : i0 % p.bne0;
    float va = a[p.oa + i0 + i1 * p.sa1 + i2 * p.sa2 + i3 * p.sa3];
    float vb = b[p.ob + j0 + (i1 % p.bne1) * p.sb1 + (i2 % p.bne2) * p.sb2 + (i3 % p.bne3) * p.sb3];
#ifdef OP_ADD
    float v = va + vb;
#else
    float v = va * vb;
#endif
    y[p.oy + i0 + i1 * p.sy1 + i2 * p.sy2 + i3 * p.sy3] = v;
}
