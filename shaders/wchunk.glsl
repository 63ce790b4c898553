// wchunk.glsl — vectorised weight reads for the decode mat-vec and the tiled
// GEMM: chunk c of a row = WCH consecutive elements (8 for F32/F16/BF16, 32
// for the quantised types) returned as WCH/4 vec4s. Needs the W (uint)
// binding aliased as W4 (uvec4). Alignment (host-checked, else the scalar
// wload path runs): F32 rows start at a multiple of 4 units, F16/BF16 rows at
// a multiple of 8; quantised rows are always 16-byte aligned (device layout).
#if defined(W_F32)
#define WCH 8u
void wchunk(uint row_unit, uint c, out vec4 v[WCH / 4u]) {
    uint q = (row_unit >> 2) + c * 2u;
    v[0] = uintBitsToFloat(WRD4(q));
    v[1] = uintBitsToFloat(WRD4(q + 1u));
}
#elif defined(W_F16)
#define WCH 8u
void wchunk(uint row_unit, uint c, out vec4 v[WCH / 4u]) {
    uvec4 q = WRD4((row_unit >> 3) + c);
    v[0] = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
    v[1] = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
}
#elif defined(W_BF16)
#define WCH 8u
vec2 bf2(uint u) { return vec2(uintBitsToFloat(u << 16), uintBitsToFloat(u & 0xffff0000u)); }
void wchunk(uint row_unit, uint c, out vec4 v[WCH / 4u]) {
    uvec4 q = WRD4((row_unit >> 3) + c);
    v[0] = vec4(bf2(q.x), bf2(q.y));
    v[1] = vec4(bf2(q.z), bf2(q.w));
}
#elif defined(W_QUANT)
#define WCH 32u
void wchunk(uint row_unit, uint c, out vec4 v[WCH / 4u]) { wqchunk(row_unit, c, v); }
#endif
