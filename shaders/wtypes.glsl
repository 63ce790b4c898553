// wtypes.glsl — reading weight elements of type F32, F16, BF16 or Q8_0 from a
// storage buffer of 32-bit words (works on every device: no 8/16-bit storage
// needed). Define one of W_F32, W_F16, W_BF16, W_Q8_0 and declare
//     layout(std430, binding = N) readonly buffer W { uint w[]; };
// before including this file.
//
// Addressing: a weight row starts at a "unit" index. Units are 4 bytes for
// F32 and 2 bytes for F16, BF16 and Q8_0. Q8_0 follows the GGUF block layout
// (ggml-common.h block_q8_0): 32 values per 34-byte block {f16 d; int8 qs[32]},
// value = d * qs[i]; a block is 17 units.

#if defined(W_F32)
#define W_UNIT_BYTES 4
float wload(uint row_unit, uint k) { return uintBitsToFloat(w[row_unit + k]); }
#elif defined(W_F16)
#define W_UNIT_BYTES 2
float wload(uint row_unit, uint k) {
    uint i = row_unit + k;
    return unpackHalf2x16(w[i >> 1] >> ((i & 1u) * 16u)).x;
}
#elif defined(W_BF16)
#define W_UNIT_BYTES 2
float wload(uint row_unit, uint k) {
    uint i = row_unit + k;
    return uintBitsToFloat(((w[i >> 1] >> ((i & 1u) * 16u)) & 0xffffu) << 16);
}
#elif defined(W_Q8_0)
#define W_UNIT_BYTES 2
float wq8_scale(uint block_unit) {
    return unpackHalf2x16(w[block_unit >> 1] >> ((block_unit & 1u) * 16u)).x;
}
int wq8_quant(uint block_unit, uint i) {
    uint b = block_unit * 2u + 2u + i;      // byte index of qs[i]
    return bitfieldExtract(int(w[b >> 2]), int((b & 3u) * 8u), 8);
}
float wload(uint row_unit, uint k) {
    uint bu = row_unit + (k >> 5) * 17u;
    return wq8_scale(bu) * float(wq8_quant(bu, k & 31u));
}
#else
#error "define one of W_F32 W_F16 W_BF16 W_Q8_0"
#endif
