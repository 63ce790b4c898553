// wchunk.glsl — vectorised weight reads for the decode mat-vec: chunk c of a
// row = WCH consecutive elements (8 for F32/F16/BF16, one 32-value block for
// Q8_0) returned as WCH/4 vec4s. Needs the W (uint) binding aliased as W4
// (uvec4). Alignment (host-checked, else the scalar wload path runs):
// F32 rows start at a multiple of 4 units, F16/BF16 rows at a multiple of 8;
// Q8_0 blocks are read as 32-bit words at any 2-byte alignment.
#if defined(W_F32)
#define WCH 8u
void wchunk(uint row_unit, uint c, out vec4 v[WCH / 4u]) {
    uint q = (row_unit >> 2) + c * 2u;
    v[0] = uintBitsToFloat(w4[q]);
    v[1] = uintBitsToFloat(w4[q + 1u]);
}
#elif defined(W_F16)
#define WCH 8u
void wchunk(uint row_unit, uint c, out vec4 v[WCH / 4u]) {
    uvec4 q = w4[(row_unit >> 3) + c];
    v[0] = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
    v[1] = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
}
#elif defined(W_BF16)
#define WCH 8u
vec2 bf2(uint u) { return vec2(uintBitsToFloat(u << 16), uintBitsToFloat(u & 0xffff0000u)); }
void wchunk(uint row_unit, uint c, out vec4 v[WCH / 4u]) {
    uvec4 q = w4[(row_unit >> 3) + c];
    v[0] = vec4(bf2(q.x), bf2(q.y));
    v[1] = vec4(bf2(q.z), bf2(q.w));
}
#elif defined(W_Q8_0)
#define WCH 32u
void wchunk(uint row_unit, uint c, out vec4 v[WCH / 4u]) {
    uint bu = row_unit + c * 17u;                       // block start (2-byte units)
    float d = unpackHalf2x16(w[bu >> 1] >> ((bu & 1u) * 16u)).x;
    uint b = bu * 2u + 2u;                              // byte of qs[0]
    uint s = b >> 2;
    if ((b & 3u) == 0u) {
        for (uint i = 0; i < 8u; i++) {
            int q = int(w[s + i]);
            v[i] = d * vec4(bitfieldExtract(q, 0, 8), bitfieldExtract(q, 8, 8), bitfieldExtract(q, 16, 8), bitfieldExtract(q, 24, 8));
        }
    } else {                                            // qs start half-way into a word
        uint lo = w[s];
        for (uint i = 0; i < 8u; i++) {
            uint hi = w[s + i + 1u];
            int q = int((lo >> 16) | (hi << 16));
            lo = hi;
            v[i] = d * vec4(bitfieldExtract(q, 0, 8), bitfieldExtract(q, 8, 8), bitfieldExtract(q, 16, 8), bitfieldExtract(q, 24, 8));
        }
    }
}
#endif
