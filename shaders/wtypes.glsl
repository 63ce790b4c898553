// wtypes.glsl — reading weight elements from a storage buffer of 32-bit
// words (works on every device: no 8/16-bit storage needed). The build
// defines W_<TYPE> for one row of core/mvk_type_table.h (CMakeLists.txt
// expands "{w}" in a shader's variants line); quantised types also get
// W_QUANT, W_BE (elements per block), W_QB and W_SB (quant / scale bytes per
// block). Declare
//     layout(std430, binding = N) readonly buffer W { uint w[]; };
// and, for quantised types, #define W_ROW_K (elements per weight row, e.g.
// p.K) before including this file.
//
// Addressing: a weight row starts at a "unit" index. Units are 4 bytes for
// F32 and the quantised types, 2 bytes for F16 and BF16.
//
// Quantised rows use the device layout of docs/QUANT_LAYOUTS.md: the quant
// part of each block (W_QB bytes, a multiple of 4) one after the other, then
// the scale part of each block (W_SB bytes), the row padded to 16 bytes.
// shaders/wquant.glsl holds one dequantiser per type: wdeq32(q, s, c, v)
// gives the 32 values of chunk c of a block whose quant part starts at byte
// q and scale part at byte s, computed as ggml does (bit-identical).

// Every weight read goes through WRD(i) (word i) and WRD4(i) (uvec4 i); by
// default the storage buffers w / w4. A shader that reads its weights through
// texel-buffer views (matvec_lane.comp WTEX) defines both before including.
#ifndef WRD
#define WRD(i) w[i]
#define WRD4(i) w4[i]
#endif

#if defined(W_F32)
#define W_UNIT_BYTES 4
float wload(uint row_unit, uint k) { return uintBitsToFloat(WRD(row_unit + k)); }
#elif defined(W_F16)
#define W_UNIT_BYTES 2
float wload(uint row_unit, uint k) {
    uint i = row_unit + k;
    return unpackHalf2x16(WRD(i >> 1) >> ((i & 1u) * 16u)).x;
}
#elif defined(W_BF16)
#define W_UNIT_BYTES 2
float wload(uint row_unit, uint k) {
    uint i = row_unit + k;
    return uintBitsToFloat(((WRD(i >> 1) >> ((i & 1u) * 16u)) & 0xffffu) << 16);
}
#elif defined(W_QUANT)
#define W_UNIT_BYTES 4
uint wbyte(uint b) { return (WRD(b >> 2) >> ((b & 3u) * 8u)) & 0xffu; }
float wf16(uint b) { return unpackHalf2x16(WRD(b >> 2) >> ((b & 2u) * 8u)).x; } // b even
// the 4 bytes of word u, each shifted right by sh
uvec4 wbytes(uint u, uint sh) { return (uvec4(u) >> (uvec4(0u, 8u, 16u, 24u) + sh)); }
#include "wquant.glsl"
// chunk c (32 elements) of the row starting at unit row_unit
void wqchunk(uint row_unit, uint c, out vec4 v[8]) {
    const uint nb = (W_ROW_K) / uint(W_BE);
    const uint b = c / (uint(W_BE) / 32u), j = c % (uint(W_BE) / 32u);
    const uint rb = row_unit * 4u;
    wdeq32(rb + b * uint(W_QB), rb + nb * uint(W_QB) + b * uint(W_SB), j, v);
}
float wload(uint row_unit, uint k) {
    vec4 v[8];
    wqchunk(row_unit, k >> 5, v);
    return v[(k & 31u) >> 2][k & 3u];
}
#else
#error "define one weight type W_<TYPE> (see core/mvk_type_table.h)"
#endif
