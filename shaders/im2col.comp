#version 450
// im2col.comp — patch extraction for a conv2d with stride = kernel = p and no
// padding (Chellapilla et al. 2006, "High Performance Convolutional Neural
// Networks for Document Processing": convolution as unfold + GEMM).
// img F32 planar [W][H][C] (strided planes/rows allowed) -> cols F32
// [p·p·C][n_patches]: column n = patch (r, c) in raster order n = r·gx + c
// (gx = W/p), element e = kx + p·ky + p·p·ch = img[ch][r·p + ky][c·p + kx].
// One invocation per cols element; kx fastest so reads are p-long runs. A
// workgroup covers consecutive elements of ONE column (patch), so the patch's
// row/column split is done once per workgroup, and the element's (kx, ky, ch)
// split divides by the specialization constant P: a multiply and a shift,
// where a division by a push constant would be a scalar loop over the lanes
// on CPU devices (no vector integer division).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint P = 16; // patch size (= pc.p)

layout(std430, binding = 0) readonly buffer I { float img[]; };
layout(std430, binding = 1) writeonly buffer C { float cols[]; };

layout(push_constant) uniform Push {
    uint p;            // patch size (the pipeline's P)
    uint K;            // p*p*C
    uint gx;           // patches per row (W / p)
    uint np;           // patches (columns of cols)
    uint cpr;          // workgroups per column: ceil(K / workgroup size)
    uint s1, s2;       // img row / plane strides in elements
    uint sc1;          // cols column stride in elements
    uint oi, oc;       // element offsets of the bindings
} pc;

void main() {
    uint g = linear_group_id();
    uint pn, e;
    if (pc.cpr == 0u) { // columns shorter than 32 (vkc_row_chunks): one element a lane
        uint i = g * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
        pn = i / pc.K;
        e = i - pn * pc.K;
    } else {
        pn = g / pc.cpr;
        e = (g - pn * pc.cpr) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    }
    if (pn >= pc.np || e >= pc.K) return;
    uint kx = e % P;
    uint t = e / P;
    uint ky = t % P;
    uint ch = t / P;
    uint pr = pn / pc.gx;
    uint pcol = pn - pr * pc.gx;
    float v = img[pc.oi + (pcol * P + kx) + (pr * P + ky) * pc.s1 + ch * pc.s2];
    cols[pc.oc + e + pn * pc.sc1] = v;
}
