#version 450
// variants: rms:FX_RMS swiglu:FX_SWIGLU geglu:FX_GEGLU
// fuse_xq.comp — an f32 producer of a lane mat-vec's x and that x's int8 form (quant_x.comp's format,
// xq.glsl) in one dispatch, for CPU devices, where each small dispatch pays the device's handoff
// (docs/LAVAPIPE_QUIRKS.md) and quant_x would read back the row just written (vk_op_norm.c vk_op_rms_norm_xq, vk_op_unary.c, vk_op_quant_x.c vk_*_xq_shared):
//   rms:    y = w ⊙ x / sqrt(mean(x²) + eps)  (norm.comp's rms: the same sums in the same order, the
//           same products), xq = quant_x(y)
//   swiglu: y = silu(g) · u                   (unary.comp's swiglu: act.glsl), xq = quant_x(y)
//   geglu:  y = gelu_tanh(g) · u              (unary.comp's geglu: act.glsl), xq = quant_x(y)
// Rows of K (a multiple of 32) along ne1, ne2 (row r = i1 + R1 i2); x, g, u, y strided views with
// contiguous rows, w contiguous [K]; xq [RQ][R1][ne2] contiguous (RQ = rq words a row).
// rms: one workgroup a row (linear_group_id); the sum of squares as norm.comp's (same lanes, same
// strides, same reduction), then each lane writes whole blocks of 32 (y and their int8 form).
// swiglu, geglu: as quant_x.comp, one invocation a block (gl_GlobalInvocationID.x), gl_WorkGroupID.y the row.
// In place (y aliasing x, g or u) works: a block is read before it is written, by the lane that writes
// it (rms: the sum reads the row, but every lane's reads happen before the barrier-free subgroupAdd /
// the tree's first barrier, and the writes after it).
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ONE_SG = false; // rms: workgroup == one subgroup, sum with subgroupAdd only

layout(std430, binding = 0) readonly buffer X { float x[]; };   // x (rms) or g (swiglu)
layout(std430, binding = 1) readonly buffer W { float w[]; };   // w (rms) or u (swiglu)
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) writeonly buffer Q { uint q[]; };

#include "xq.glsl"

layout(push_constant) uniform P {
    uint K, R1, nrows;      // row length; rows along ne1; rows (R1 ne2)
    uint sa1, sa2;          // x / g strides of ne1, ne2 (floats)
    uint sb1, sb2;          // u strides (swiglu, geglu)
    uint sy1, sy2;          // y strides
    uint oa, ob, oy, oq;    // first element of x / g, w / u, y (floats), of xq (words)
    uint rq;                // xq row stride (words)
    uint has_w;             // rms: times w
    float eps;              // rms
} p;

#ifdef FX_RMS
shared float red[gl_WorkGroupSize.x];

// norm.comp's wg_sum, the same reduction (so the same sum)
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
    const uint r = linear_group_id();
    if (r >= p.nrows) return;
    const uint i2 = r / p.R1, i1 = r - i2 * p.R1;
    const uint bx = p.oa + i1 * p.sa1 + i2 * p.sa2;
    const uint by = p.oy + i1 * p.sy1 + i2 * p.sy2;
    const uint qb = p.oq + r * p.rq;
    const uint t = gl_LocalInvocationID.x;
    const uint n = gl_WorkGroupSize.x;
    float s2 = 0.0;
    for (uint i = t; i < p.K; i += n) {
        float v = x[bx + i];
        s2 += v * v;
    }
    const float inv = 1.0 / sqrt(wg_sum(s2) / float(p.K) + p.eps);
    const uint nb = p.K >> 5;
    for (uint j = t; j < nb; j += n) {
        float v[32];
        for (uint i = 0; i < 32u; i++) {
            float e = x[bx + 32u * j + i] * inv;
            if (p.has_w != 0) e *= w[p.ob + 32u * j + i];
            v[i] = e;
            y[by + 32u * j + i] = e;
        }
        xq_store_block(v, qb, p.K, j);
    }
    if (t < xq_pad_words(nb)) xq_store_pad(qb, p.K, nb, t);
}
#endif

#if defined(FX_SWIGLU) || defined(FX_GEGLU)
#include "act.glsl"
#ifdef FX_SWIGLU
#define GATE_ACT silu
#else
#define GATE_ACT gelu_tanh
#endif

void main() {
    const uint j = gl_GlobalInvocationID.x;        // block in the row
    const uint r = gl_WorkGroupID.y;               // row (uniform in the workgroup: no per-lane division)
    const uint nb = p.K >> 5;
    if (j >= nb) return;
    const uint i2 = r / p.R1, i1 = r - i2 * p.R1;
    const uint bg = p.oa + i1 * p.sa1 + i2 * p.sa2 + 32u * j;
    const uint bu = p.ob + i1 * p.sb1 + i2 * p.sb2 + 32u * j;
    const uint by = p.oy + i1 * p.sy1 + i2 * p.sy2 + 32u * j;
    float v[32];
    for (uint i = 0; i < 32u; i++) {
        float e = GATE_ACT(x[bg + i]) * w[bu + i];
        v[i] = e;
        y[by + i] = e;
    }
    const uint qb = p.oq + r * p.rq;
    xq_store_block(v, qb, p.K, j);
    if (j < xq_pad_words(nb)) xq_store_pad(qb, p.K, nb, j);   // the scales' padding to a whole texel
}
#endif
