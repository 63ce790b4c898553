#version 450
// variants: rms:NORM_RMS ln:NORM_LN l2:NORM_L2
// norm.comp — row-wise RMSNorm / LayerNorm over ne[0] (Zhang & Sennrich 2019,
// "Root Mean Square Layer Normalization"; Ba et al. 2016, "Layer Normalization").
//   rms: y = w ⊙ x / sqrt(mean(x²) + eps)
//   ln:  y = w ⊙ (x − μ) / sqrt(σ² + eps) + b   (population variance, two passes)
//   l2:  y = w ⊙ x / sqrt(Σx² + eps)             (Gated DeltaNet's q/k norm; llama.cpp's
//        build_gdn_l2_norm = rms_norm(x, eps/n) / sqrt(n), the same value)
// One workgroup per row; x and y may be strided views (rows addressed by
// (i1, i2, i3) strides), w and b are contiguous [ne0] and optional (flags).
// rms, l2 with wsplit < ne1: rows with i1 >= wsplit are weighted by b instead
// of w (q and k heads laid out [hd][Hq + Hk] normed by one dispatch, each with
// its own weight: layers.c's decode step).
// Sums: a shared-memory tree (GPUs), or, with ONE_SG (CPU devices: the
// workgroup is one subgroup), subgroupAdd alone -- no shared memory and no
// barrier, which lavapipe runs as a coroutine switch through every subgroup.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ONE_SG = false; // workgroup == one subgroup: sum with subgroupAdd only

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, nrows;
    uint sx1, sx2, sx3;     // x strides in elements
    uint sy1, sy2, sy3;
    uint ox, ow, ob, oy;    // element offsets of the bindings
    uint has_w, has_b;
    float eps;
    uint wsplit;            // rms/l2: first i1 weighted by b (>= ne1: none)
} p;

shared float red[gl_WorkGroupSize.x];

float wg_sum(float v) {
    if (ONE_SG) return subgroupAdd(v);
    uint t = gl_LocalInvocationID.x;
    red[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (t < s) red[t] += red[t + s];
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

#ifdef NORM_LN
    float s = 0.0;
    for (uint i = t; i < p.ne0; i += n) s += x[bx + i];
    float mean = wg_sum(s) / float(p.ne0);
    float s2 = 0.0;
    for (uint i = t; i < p.ne0; i += n) {
        float d = x[bx + i] - mean;
        s2 += d * d;
    }
    float inv = inversesqrt(wg_sum(s2) / float(p.ne0) + p.eps);
    for (uint i = t; i < p.ne0; i += n) {
        float v = (x[bx + i] - mean) * inv;
        if (p.has_w != 0) v *= w[p.ow + i];
        if (p.has_b != 0) v += b[p.ob + i];
        y[by + i] = v;
    }
#else
    float s2 = 0.0;
    for (uint i = t; i < p.ne0; i += n) {
        float v = x[bx + i];
        s2 += v * v;
    }
#ifdef NORM_L2
    float inv = 1.0 / sqrt(wg_sum(s2) + p.eps);
#else
    float inv = 1.0 / sqrt(wg_sum(s2) / float(p.ne0) + p.eps);
#endif
    bool second = i1 >= p.wsplit;
    for (uint i = t; i < p.ne0; i += n) {
        float v = x[bx + i] * inv;
        if (p.has_w != 0) v *= second ? b[p.ob + i] : w[p.ow + i];
        y[by + i] = v;
    }
#endif
}
