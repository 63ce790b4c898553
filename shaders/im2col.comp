#version 450
// im2col.comp — patch extraction for a conv2d with stride = kernel = p and no
// padding (Chellapilla et al. 2006, "High Performance Convolutional Neural
// Networks for Document Processing": convolution as unfold + GEMM).
// img F32 planar [W][H][C] (strided planes/rows allowed) -> cols F32
// [p·p·C][n_patches]: column n = patch (r, c) in raster order n = r·gx + c
// (gx = W/p), element e = kx + p·ky + p·p·ch = img[ch][r·p + ky][c·p + kx].
// One invocation per run of P elements (one patch row of one channel: kx =
// 0 .. P-1, copied in an unrolled loop), so that a column of K elements is
// K / P invocations: on CPU devices (lavapipe) each group of a subgroup's
// lanes costs a fixed setup, and one element a lane made the goldens' 448 x 448
// im2col 10.8 ms for 602k floats (docs/PERFORMANCE.md section 24). A workgroup
// covers runs of ONE column (patch), so the patch's row/column split is done
// once per workgroup, and the run's (ky, ch) split divides by the
// specialization constant P: a multiply and a shift, where a division by a
// push constant would be a scalar loop over the lanes on CPU devices (no
// vector integer division).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
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
    uint cpr;          // workgroups per column: ceil((K / P) / workgroup size); 0: one run a lane, split per lane
    uint s1, s2;       // img row / plane strides in elements
    uint sc1;          // cols column stride in elements
    uint oi, oc;       // element offsets of the bindings
} pc;

void main() {
    uint g = linear_group_id();
    uint nr = pc.K / P;  // runs per column (P * C)
    uint pn, e;          // patch, run (ky + P * ch)
    if (pc.cpr == 0u) {  // columns of fewer than 32 runs (vkc_row_chunks): one run a lane
        uint i = g * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
        pn = i / nr;
        e = i - pn * nr;
    } else {
        pn = g / pc.cpr;
        e = (g - pn * pc.cpr) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    }
    if (pn >= pc.np || e >= nr) return;
    uint ky = e % P;
    uint ch = e / P;
    uint pr = pn / pc.gx;
    uint pcol = pn - pr * pc.gx;
    uint src = pc.oi + pcol * P + (pr * P + ky) * pc.s1 + ch * pc.s2;
    uint dst = pc.oc + e * P + pn * pc.sc1;
    [[unroll]] for (uint kx = 0; kx < P; kx++) cols[dst + kx] = img[src + kx];
}
