// wquant.glsl — one dequantiser per quantised weight type (included by
// wtypes.glsl, which documents the device layout). wdeq32(q, s, c, v): the
// 32 values of chunk c of a block; q = byte offset of the block's quant
// part (4-byte aligned), s = byte offset of its scale part. Byte offsets
// inside the quant part follow ggml's block structs (ggml-common.h) minus
// the scale part moved away; the arithmetic is ggml's dequantize_row_* in
// the same f32 operation order, `precise` so no mul+add is fused (the
// values are bit-identical to ggml's CPU dequantisation).
//
// WTEX (the texel variants of matmul.comp, CPU devices): Q8_0, Q4_K, Q6_K and Q6_K8
// read their quant words (and Q4_K its 16-byte scale part) as 16-byte texels,
// WRD4(byte offset / 16), which lavapipe fetches for all lanes at once; a
// 4-byte texel (WRD) is a gather, slower than the storage-buffer read it
// replaced (docs/PERFORMANCE.md, "Texel buffers"). Those reads are 16-byte
// aligned in the device layout (docs/QUANT_LAYOUTS.md; mm_wtex checks the
// view's start). Same values, same operation order.

const float K_IQ4NL[16] = float[16](-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0, 38.0, 53.0, 69.0,
                                    89.0, 113.0);
const float K_FP4[16] = float[16](0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 0.0, -1.0, -2.0, -3.0, -4.0, -6.0, -8.0, -12.0);

// WQ_LUT_SELECT (the lane kernels, CPU devices): the two tables above, packed as 16 int8 values 4 a word, are read
// with selects and shifts instead of an indexed constant array, which gallivm loads lane by lane (a loop of scalar
// loads per value: iq4_nl's mat-vec ran 9x slower than q4_0's, docs/PERFORMANCE.md section 29). Same values.
#ifdef WQ_LUT_SELECT
const uint K_IQ4NL_W[4] = uint[4](0xBFAD9881u, 0xF6EADDCFu, 0x26190D01u, 0x71594535u);
const uint K_FP4_W[4] = uint[4](0x03020100u, 0x0C080604u, 0xFDFEFF00u, 0xF4F8FAFCu);
// t[i] (i < 16) of the table packed in t0..t3 (values 4k .. 4k + 3 in word k, byte j = value 4k + j)
vec4 lut16(uvec4 i, uint t0, uint t1, uint t2, uint t3) {
    const bvec4 b2 = notEqual(i & 4u, uvec4(0u)), b3 = notEqual(i & 8u, uvec4(0u));
    const uvec4 w = mix(mix(uvec4(t0), uvec4(t1), b2), mix(uvec4(t2), uvec4(t3), b2), b3);
    return vec4(ivec4(w << ((uvec4(3u) - (i & 3u)) * 8u)) >> 24);   // byte i & 3, sign-extended
}
#define K_IQ4NL4(i) lut16(i, K_IQ4NL_W[0], K_IQ4NL_W[1], K_IQ4NL_W[2], K_IQ4NL_W[3])
#define K_FP44(i) lut16(i, K_FP4_W[0], K_FP4_W[1], K_FP4_W[2], K_FP4_W[3])
#else
#define K_IQ4NL4(i) vec4(K_IQ4NL[(i).x], K_IQ4NL[(i).y], K_IQ4NL[(i).z], K_IQ4NL[(i).w])
#define K_FP44(i) vec4(K_FP4[(i).x], K_FP4[(i).y], K_FP4[(i).z], K_FP4[(i).w])
#endif

#if defined(W_Q4_0)
// quant part: qs[16]; scale part: f16 d. v[j] = (lo(qs[j]) - 8) d, v[j+16] = (hi - 8) d
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    float d = wf16(s);
    for (uint i = 0u; i < 4u; i++) {
        uvec4 b = wbytes(WRD((q >> 2) + i), 0u) & 0xffu;
        precise vec4 lo = (vec4(b & 15u) - 8.0) * d, hi = (vec4(b >> 4u) - 8.0) * d;
        v[i] = lo;
        v[i + 4u] = hi;
    }
}
#elif defined(W_Q4_1)
// quant part: qs[16]; scale part: f16 d, m. v = q d + m
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    vec2 dm = unpackHalf2x16(WRD(s >> 2));
    for (uint i = 0u; i < 4u; i++) {
        uvec4 b = wbytes(WRD((q >> 2) + i), 0u) & 0xffu;
        precise vec4 lo = vec4(b & 15u) * dm.x + dm.y, hi = vec4(b >> 4u) * dm.x + dm.y;
        v[i] = lo;
        v[i + 4u] = hi;
    }
}
#elif defined(W_Q5_0) || defined(W_Q5_1)
// quant part: qh[4], qs[16]; scale part: f16 d (Q5_1: d, m). 5th bit of v[j]
// is qh bit j, of v[j+16] bit j+16. Q5_0: v = (q - 16) d; Q5_1: v = q d + m
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
#ifdef W_Q5_0
    float d = wf16(s);
#else
    vec2 dm = unpackHalf2x16(WRD(s >> 2));
#endif
    uint qh = WRD(q >> 2);
    for (uint i = 0u; i < 4u; i++) {
        uvec4 b = wbytes(WRD((q >> 2) + 1u + i), 0u) & 0xffu;
        uvec4 h0 = (uvec4(qh >> (4u * i)) >> uvec4(0u, 1u, 2u, 3u)) & 1u;
        uvec4 h1 = (uvec4(qh >> (16u + 4u * i)) >> uvec4(0u, 1u, 2u, 3u)) & 1u;
#ifdef W_Q5_0
        precise vec4 lo = (vec4((b & 15u) | (h0 << 4u)) - 16.0) * d, hi = (vec4((b >> 4u) | (h1 << 4u)) - 16.0) * d;
#else
        precise vec4 lo = vec4((b & 15u) | (h0 << 4u)) * dm.x + dm.y, hi = vec4((b >> 4u) | (h1 << 4u)) * dm.x + dm.y;
#endif
        v[i] = lo;
        v[i + 4u] = hi;
    }
}
#elif defined(W_Q8_0)
// quant part: i8 qs[32]; scale part: f16 d. v = q d
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    float d = wf16(s);
#ifdef WTEX
    const uvec4 u0 = WRD4(q >> 4), u1 = WRD4((q >> 4) + 1u);   // see WTEX at the top
    const uint qw[8] = uint[8](u0.x, u0.y, u0.z, u0.w, u1.x, u1.y, u1.z, u1.w);
#endif
    for (uint i = 0u; i < 8u; i++) {
#ifdef WTEX
        int u = int(qw[i]);
#else
        int u = int(WRD((q >> 2) + i));
#endif
        precise vec4 r = vec4(bitfieldExtract(u, 0, 8), bitfieldExtract(u, 8, 8), bitfieldExtract(u, 16, 8), bitfieldExtract(u, 24, 8)) * d;
        v[i] = r;
    }
}
#elif defined(W_IQ4_NL)
// quant part: qs[16]; scale part: f16 d. v = d kvalues[nibble]
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    float d = wf16(s);
    for (uint i = 0u; i < 4u; i++) {
        uvec4 b = wbytes(WRD((q >> 2) + i), 0u) & 0xffu;
        uvec4 l = b & 15u, h = b >> 4u;
        precise vec4 lo = d * K_IQ4NL4(l);
        precise vec4 hi = d * K_IQ4NL4(h);
        v[i] = lo;
        v[i + 4u] = hi;
    }
}
#elif defined(W_MXFP4)
// quant part: qs[16] (e2m1 nibbles); scale part: u8 e (E8M0). d = 2^(e-128)
// (ggml_e8m0_to_fp32_half: the fp4 table is doubled); v = kvalues_fp4[nibble] d.
// e < 2 gives an f32 denormal, which a device may flush to zero.
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    uint e = wbyte(s);
    float d = uintBitsToFloat(e < 2u ? (0x00200000u << e) : ((e - 1u) << 23));
    for (uint i = 0u; i < 4u; i++) {
        uvec4 b = wbytes(WRD((q >> 2) + i), 0u) & 0xffu;
        uvec4 l = b & 15u, h = b >> 4u;
        precise vec4 lo = K_FP44(l) * d;
        precise vec4 hi = K_FP44(h) * d;
        v[i] = lo;
        v[i + 4u] = hi;
    }
}
#elif defined(W_Q2_K)
// quant part: scales[16] (lo: scale, hi: min), qs[64]; scale part: f16 d, dmin.
// chunk c = 4n + j holds groups 2c, 2c+1 of 16: q = qs[32n + 16h + l] >> 2j & 3,
// v = (d sc) q - (dmin m)
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    vec2 dm = unpackHalf2x16(WRD(s >> 2));
    uint n = c >> 2u, j = c & 3u;
    uint scw = WRD((q >> 2) + (c >> 1u)) >> ((c & 1u) * 16u);
    for (uint h = 0u; h < 2u; h++) {
        uint sc = (scw >> (8u * h)) & 0xffu;
        float dl = dm.x * float(sc & 15u), ml = dm.y * float(sc >> 4u);
        for (uint i = 0u; i < 4u; i++) {
            uvec4 b = wbytes(WRD((q >> 2) + 4u + 8u * n + 4u * h + i), 2u * j) & 3u;
            precise vec4 r = dl * vec4(b) - ml;
            v[4u * h + i] = r;
        }
    }
}
#elif defined(W_Q3_K)
// quant part: hmask[32], qs[64], scales[12] (6-bit, packed); scale part: f16 d.
// chunk c = 4n + j, groups 2c + h: q = (qs[32 + 32n + 16h + l] >> 2j & 3) -
// (hmask[16h + l] bit c ? 0 : 4); v = (d (s - 32)) q
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    float d = wf16(s);
    uint n = c >> 2u, j = c & 3u;
    for (uint h = 0u; h < 2u; h++) {
        uint g = 2u * c + h;
        uint lo = (wbyte(q + 96u + (g & 7u)) >> (4u * (g >> 3u))) & 15u;
        uint hi = (wbyte(q + 104u + (g & 3u)) >> (2u * (g >> 2u))) & 3u;
        float dl = d * float(int(lo | (hi << 4u)) - 32);
        for (uint i = 0u; i < 4u; i++) {
            uvec4 b = wbytes(WRD((q >> 2) + 8u + 8u * n + 4u * h + i), 2u * j) & 3u;
            uvec4 m = wbytes(WRD((q >> 2) + 4u * h + i), c) & 1u;
            precise vec4 r = dl * (vec4(b) - 4.0 + 4.0 * vec4(m));
            v[4u * h + i] = r;
        }
    }
}
#elif defined(W_Q4_K) || defined(W_Q5_K)
// Q4_K: quant part qs[128]; scale part f16 d, dmin, then scales[12] (6-bit
// scales and mins, ggml's get_scale_min_k4). Q5_K: quant part scales[12],
// qh[32], qs[128]; scale part d, dmin. Chunk c uses the low (c even) or high
// nibbles of qs[32 (c/2) + l] (Q5_K: 5th bit = qh[l] bit c);
// v = (d sc) q - (dmin m)
#if defined(W_Q4_K) && defined(WTEX)
// the 12 scale bytes (scale part words 1..3, read as one uvec4 with d, dmin)
#define WSCB(i) ((sv[1u + ((i) >> 2u)] >> (8u * ((i) & 3u))) & 0xffu)
#endif
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
#if defined(W_Q4_K) && defined(WTEX)
    const uvec4 sv = WRD4(s >> 4);   // d, dmin, scales[12]: one 16-byte texel (see WTEX at the top)
    vec2 dm = unpackHalf2x16(sv.x);
    uint sc, mn;
    if (c < 4u) {
        sc = WSCB(c) & 63u;
        mn = WSCB(c + 4u) & 63u;
    } else {
        uint b8 = WSCB(c + 4u);
        sc = (b8 & 15u) | ((WSCB(c - 4u) >> 6u) << 4u);
        mn = (b8 >> 4u) | ((WSCB(c) >> 6u) << 4u);
    }
#else
    vec2 dm = unpackHalf2x16(WRD(s >> 2));
#ifdef W_Q4_K
    const uint sp = s + 4u; // byte offset of scales[0]
#else
    const uint sp = q;
#endif
    uint sc, mn;
    if (c < 4u) {
        sc = wbyte(sp + c) & 63u;
        mn = wbyte(sp + c + 4u) & 63u;
    } else {
        uint b8 = wbyte(sp + c + 4u);
        sc = (b8 & 15u) | ((wbyte(sp + c - 4u) >> 6u) << 4u);
        mn = (b8 >> 4u) | ((wbyte(sp + c) >> 6u) << 4u);
    }
#endif
    float d1 = dm.x * float(sc), m1 = dm.y * float(mn);
#ifdef W_Q4_K
    const uint qs = q >> 2;
#else
    const uint qs = (q >> 2) + 11u, qh = (q >> 2) + 3u;
#endif
#if defined(W_Q4_K) && defined(WTEX)
    const uvec4 u0 = WRD4((qs >> 2) + 2u * (c >> 1u)), u1 = WRD4((qs >> 2) + 2u * (c >> 1u) + 1u);
    const uint qw[8] = uint[8](u0.x, u0.y, u0.z, u0.w, u1.x, u1.y, u1.z, u1.w);
#endif
    for (uint i = 0u; i < 8u; i++) {
#if defined(W_Q4_K) && defined(WTEX)
        uvec4 b = wbytes(qw[i], 4u * (c & 1u)) & 15u;
#else
        uvec4 b = wbytes(WRD(qs + 8u * (c >> 1u) + i), 4u * (c & 1u)) & 15u;
#endif
#ifdef W_Q5_K
        b += (wbytes(WRD(qh + i), c) & 1u) * 16u;
#endif
        precise vec4 r = d1 * vec4(b) - m1;
        v[i] = r;
    }
}
#elif defined(W_Q6_K)
// quant part: ql[128], qh[64], i8 scales[16]; scale part: f16 d. Chunk c = 4n + r:
// q = (nibble r/2 of ql[64n + 32(r&1) + l] | (qh[32n + l] >> 2r & 3) << 4) - 32;
// v = (d sc[8n + 2r + l/16]) q
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    float d = wf16(s);
    uint n = c >> 2u, r = c & 3u;
    uint scw = WRD((q >> 2) + 48u + 2u * n + (r >> 1u)) >> ((r & 1u) * 16u);
    float d0 = d * float(bitfieldExtract(int(scw), 0, 8)), d1 = d * float(bitfieldExtract(int(scw), 8, 8));
#ifdef WTEX
    // ql and qh words as 16-byte texels (see WTEX at the top; the 208-byte block is 13 of them)
    const uint l4 = (q >> 4) + 4u * n + 2u * (r & 1u), h4 = (q >> 4) + 8u + 2u * n;
    const uvec4 la = WRD4(l4), lb = WRD4(l4 + 1u), ha = WRD4(h4), hb = WRD4(h4 + 1u);
    const uint lw[8] = uint[8](la.x, la.y, la.z, la.w, lb.x, lb.y, lb.z, lb.w);
    const uint hw[8] = uint[8](ha.x, ha.y, ha.z, ha.w, hb.x, hb.y, hb.z, hb.w);
#endif
    for (uint i = 0u; i < 8u; i++) {
#ifdef WTEX
        uvec4 lq = wbytes(lw[i], 4u * (r >> 1u)) & 15u;
        uvec4 hq = wbytes(hw[i], 2u * r) & 3u;
#else
        uvec4 lq = wbytes(WRD((q >> 2) + 16u * n + 8u * (r & 1u) + i), 4u * (r >> 1u)) & 15u;
        uvec4 hq = wbytes(WRD((q >> 2) + 32u + 8u * n + i), 2u * r) & 3u;
#endif
        precise vec4 t = (i < 4u ? d0 : d1) * (vec4(lq | (hq << 4u)) - 32.0);
        v[i] = t;
    }
}
#elif defined(W_Q6_K8)
// (device-only, made from Q6_K at load) quant part: q[256] (6-bit values one a byte, element order), i8
// scales[16]; scale part: f16 d. Chunk c: v = (d sc[2c + l/16]) (q[32c + l] - 32), Q6_K's expression
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    float d = wf16(s);
    uint scw = WRD((q >> 2) + 64u + (c >> 1u)) >> ((c & 1u) * 16u);
    float d0 = d * float(bitfieldExtract(int(scw), 0, 8)), d1 = d * float(bitfieldExtract(int(scw), 8, 8));
#ifdef WTEX
    // the chunk's 32 bytes as two 16-byte texels (see WTEX at the top; the 272-byte quant part is 17 of them)
    const uvec4 qa = WRD4((q >> 4) + 2u * c), qc = WRD4((q >> 4) + 2u * c + 1u);
    const uint qw[8] = uint[8](qa.x, qa.y, qa.z, qa.w, qc.x, qc.y, qc.z, qc.w);
#endif
    for (uint i = 0u; i < 8u; i++) {
#ifdef WTEX
        uvec4 b = wbytes(qw[i], 0u) & 0xffu;
#else
        uvec4 b = wbytes(WRD((q >> 2) + 8u * c + i), 0u) & 0xffu;
#endif
        precise vec4 t = (i < 4u ? d0 : d1) * (vec4(b) - 32.0);
        v[i] = t;
    }
}
#elif defined(W_IQ4_XS)
// quant part: scales_l[4], qs[128]; scale part: f16 d, u16 scales_h. Chunk c:
// ls = nibble c%2 of scales_l[c/2] | (scales_h >> 2c & 3) << 4;
// v = (d (ls - 32)) kvalues[nibble of qs[16c + j]]
void wdeq32(uint q, uint s, uint c, out vec4 v[8]) {
    uint dw = WRD(s >> 2);
    float d = unpackHalf2x16(dw).x;
    uint ls = ((wbyte(q + (c >> 1u)) >> (4u * (c & 1u))) & 15u) | (((dw >> (16u + 2u * c)) & 3u) << 4u);
    float dl = d * float(int(ls) - 32);
    for (uint i = 0u; i < 4u; i++) {
        uvec4 b = wbytes(WRD((q >> 2) + 1u + 4u * c + i), 0u) & 0xffu;
        uvec4 l = b & 15u, h = b >> 4u;
        precise vec4 lo = dl * K_IQ4NL4(l);
        precise vec4 hi = dl * K_IQ4NL4(h);
        v[i] = lo;
        v[i + 4u] = hi;
    }
}
#else
#error "wquant.glsl: no dequantiser for this W_QUANT type"
#endif
