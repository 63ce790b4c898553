#version 450
// rope.comp — rotary position embedding (Su et al. 2021, "RoFormer"), NEOX
// split-half pairing, with the multi-section variants of ggml's rope
// (ggml_rope_multi: Qwen2-VL M-RoPE, Qwen3-VL interleaved IMROPE, 2-D vision).
//
// x, y: [hd][H][T] strided views. One invocation per pair slot j < hd/2 of a
// (head, token): slots j < half rotate (x[j], x[j+half]) by θ = pos·base^(−2e/n_dims);
// the remaining slots copy the unrotated tail dims [2·half, hd).
//   NEOX:   half = n_dims/2, pos = P[t], e = j
//   MROPE:  half = n_dims/2, sector = j % Σs; component t|h|w|e by contiguous sectors, e = j
//   IMROPE: half = n_dims/2, sector = j % Σs; h if sector%3==1 && sector<3·s1,
//           w if sector%3==2 && sector<3·s2, t if sector%3==0 && sector<3·s0, else e; e = j
//   VISION: half = n_dims (ggml convention: pairs (i, i+n_dims)), sector = j % (s0+s1);
//           sector < s0: row plane, e = sector; else column plane, e = sector − s0.
// Positions: I32, NEOX [T], others planar [4][T] (component c of token t at c·T + t).
// Frequency factors (ggml_rope_ext's src2, NEOX only; Gemma 4's proportional RoPE): with has_ff, pair
// slot j's angle is divided by ff[j] (a factor of 1e30 leaves the pair in place: cos 1, sin ~1e-27).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Pos { int pos[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer FF { float ff[]; };

layout(push_constant) uniform P {
    uint nh, H, T, cpr;     // pair slots per head (hd/2), heads, tokens, workgroups per (head, token) row
    uint sx1, sx2, sy1, sy2;
    uint ox, op, oy;
    uint mode, half_;
    uint s0, s1, s2, s3;
    float l2s;              // log2(theta_scale) = −2·log2(base)/n_dims
    uint off, has_ff;       // element offset of the frequency factors, whether they are bound
} p;

#include "rope.glsl"

void main() {
    uvec4 ix; // a workgroup covers pair slots of one (head, token) row: no per-lane division (common.glsl)
    if (!row_chunk_index(gl_WorkGroupSize.x, p.cpr, p.H * p.T, p.nh, p.H, p.T, ix)) return;
    uint j = ix.x, h = ix.y, t = ix.z;
    uint bx = p.ox + h * p.sx1 + t * p.sx2;
    uint by = p.oy + h * p.sy1 + t * p.sy2;
    if (j >= p.half_) {
        uint d = 2 * p.half_ + 2 * (j - p.half_);
        y[by + d] = x[bx + d];
        y[by + d + 1] = x[bx + d + 1];
        return;
    }
    float theta = rope_theta(j, t, p.T);
    float c = cos(theta), s = sin(theta);
    float x0 = x[bx + j], x1 = x[bx + j + p.half_];
    y[by + j] = x0 * c - x1 * s;
    y[by + j + p.half_] = x0 * s + x1 * c;
}
