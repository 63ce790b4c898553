#version 450
// variants: rms:NORM_RMS ln:NORM_LN l2:NORM_L2 rms_rope:NORM_RMS,ROPE
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
// rms_rope (ROPE): RMSNorm then RoPE in one pass (vk_op_rms_norm_rope_split: a decode step's q and k heads, CPU
// devices): rows are the (head, token) rows of x [hd][H][T] (i1 the head, i2 the token), and the row's values are
// written rotated as rope.comp rotates them (rope.glsl's angle, positions at binding 4, frequency factors at 5):
// each lane takes pair slots j, normalises x[j] and x[j + half] as the plain write loop does and rotates them. The
// same operations as norm_rms then rope: the same bits.
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
#ifdef ROPE
layout(std430, binding = 4) readonly buffer Pos { int pos[]; };
layout(std430, binding = 5) readonly buffer FF { float ff[]; };
#endif

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, nrows;
    uint sx1, sx2, sx3;     // x strides in elements
    uint sy1, sy2, sy3;
    uint ox, ow, ob, oy;    // element offsets of the bindings
    uint has_w, has_b;
    float eps;
    uint wsplit;            // rms/l2: first i1 weighted by b (>= ne1: none)
#ifdef ROPE
    uint op, mode, half_;   // RoPE (rope.comp's fields): positions' offset, mode, rotated pair slots
    uint s0, s1, s2, s3;
    float l2s;
    uint off, has_ff;
#endif
} p;
#ifdef ROPE
#include "rope.glsl"
#endif

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
#ifdef ROPE
    // pair slots j of this (head i1, token i2) row: rope.comp's work on the normalised values (the loop below's)
    for (uint j = t; j < p.ne0 / 2u; j += n) {
        const bool tail = j >= p.half_;             // slots past the rotated ones copy two dims of the tail
        const uint d0 = tail ? 2u * p.half_ + 2u * (j - p.half_) : j, d1 = tail ? d0 + 1u : j + p.half_;
        float v0 = x[bx + d0] * inv, v1 = x[bx + d1] * inv;
        if (p.has_w != 0) {
            v0 *= second ? b[p.ob + d0] : w[p.ow + d0];
            v1 *= second ? b[p.ob + d1] : w[p.ow + d1];
        }
        if (tail) {
            y[by + d0] = v0;
            y[by + d1] = v1;
            continue;
        }
        float theta = rope_theta(j, i2, p.ne2);
        float c = cos(theta), s = sin(theta);
        y[by + d0] = v0 * c - v1 * s;
        y[by + d1] = v0 * s + v1 * c;
    }
#else
    for (uint i = t; i < p.ne0; i += n) {
        float v = x[bx + i] * inv;
        if (p.has_w != 0) v *= second ? b[p.ob + i] : w[p.ow + i];
        y[by + i] = v;
    }
#endif
#endif
}
