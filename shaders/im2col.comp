#version 450
// im2col.comp — patch extraction for a conv2d with stride = kernel = p and no
// padding (Chellapilla et al. 2006, "High Performance Convolutional Neural
// Networks for Document Processing": convolution as unfold + GEMM).
// img F32 planar [W][H][C] (strided planes/rows allowed) -> cols F32
// [p·p·C][n_patches]: column n = patch (r, c) in raster order n = r·gx + c
// (gx = W/p), element e = kx + p·ky + p·p·ch = img[ch][r·p + ky][c·p + kx].
// One invocation per cols element; kx fastest so reads are p-long runs.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer I { float img[]; };
layout(std430, binding = 1) writeonly buffer C { float cols[]; };

layout(push_constant) uniform P {
    uint p;            // patch size
    uint K;            // p*p*C
    uint gx;           // patches per row (W / p)
    uint n;            // K * n_patches
    uint s1, s2;       // img row / plane strides in elements
    uint sc1;          // cols column stride in elements
    uint oi, oc;       // element offsets of the bindings
} pc;

void main() {
    uint i = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    uint e = i % pc.K;
    uint pn = i / pc.K;
    uint kx = e % pc.p;
    uint t = e / pc.p;
    uint ky = t % pc.p;
    uint ch = t / pc.p;
    uint pr = pn / pc.gx;
    uint pcol = pn % pc.gx;
    float v = img[pc.oi + (pcol * pc.p + kx) + (pr * pc.p + ky) * pc.s1 + ch * pc.s2];
    cols[pc.oc + e + pn * pc.sc1] = v;
}
