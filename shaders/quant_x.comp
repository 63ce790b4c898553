#version 450
// quant_x.comp — x (f32 rows of K, K a multiple of 32) quantised to int8 blocks of 32 with one f32
// scale each, for the lane mat-vec's int8-x path (matvec_lane.comp XQ; vk_op_quant_x.c):
//   d = max|x_i| / 127 over the block, q_i = roundEven(x_i / d) (q_i = 0 where d = 0), x_i ~ q_i d.
// As ggml's quantize_row_q8_0 (llama.cpp's CPU build multiplies its Q8_0 / k-quant weights with x
// quantised so), except that d stays f32 and ties round to even. Output row r (RQ = K/4 + 4 ceil(K/128)
// words, vk_op_mm.h mm_xq_row_words): words 0 .. K/4-1 the quants (4 a word, byte k = value 4w + k,
// two's complement), then K/32 f32 scales, padded to whole 16-byte texels.
// One invocation per block: gl_GlobalInvocationID.x the block, gl_WorkGroupID.y the row.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Q { uint q[]; };

#include "xq.glsl"

layout(push_constant) uniform P {
    uint K, R1;                   // row length; rows along ne1 (row r = i1 + R1 i2)
    uint sx1, sx2;                // x strides of ne1, ne2 (floats)
    uint ox, oq;                  // first element of x (floats), of the output (words)
    uint rq;                      // output row stride (words)
} p;

void main() {
    const uint j = gl_GlobalInvocationID.x;        // block in the row
    const uint r = gl_WorkGroupID.y;               // row (uniform in the workgroup: no per-lane division)
    const uint nb = p.K >> 5;
    if (j >= nb) return;
    const uint i2 = r / p.R1, i1 = r - i2 * p.R1;
    const uint xb = p.ox + i1 * p.sx1 + i2 * p.sx2 + 32u * j;
    float v[32];
    for (uint i = 0; i < 32u; i++) v[i] = x[xb + i];
    const uint qb = p.oq + r * p.rq;
    xq_store_block(v, qb, p.K, j);
    if (j < xq_pad_words(nb)) xq_store_pad(qb, p.K, nb, j);   // the scales' padding to a whole texel
}
