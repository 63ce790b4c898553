#version 450
// variants: {w} id_{w}:MUL_MAT_ID tex_{w}:WTEX id_tex_{w}:MUL_MAT_ID,WTEX gu_tex_{w}:GATEUP,WTEX gu_id_tex_{w}:GATEUP,MUL_MAT_ID,WTEX pair_tex_{w}:GATEUP,PAIR,WTEX pair_id_tex_{w}:GATEUP,PAIR,MUL_MAT_ID,WTEX quad_tex_{w}:QUAD,WTEX
// matvec_lane.comp — the decode mat-vec y[N][M] = x[K][M] · w[K][N]ᵀ (M <= 8)
// for CPU devices (lavapipe): each invocation owns one weight row and walks
// it from start to end, so every lane reads its own contiguous run of memory
// while x is read at an address uniform across the subgroup (a single load).
// That is the access pattern gallivm makes fast (docs/PERFORMANCE.md,
// "What lavapipe makes fast"); the GPU pattern (lanes striding over K
// together, shaders/matvec.comp) reads 3-5x slower there. No subgroup
// operations, no shared memory, no barrier: correct for any subgroup size.
// Needs the chunked loop's alignment (p.fast = 1; the host checks it), and
// Q8_0 / Q4_K / Q6_K / Q6_K8 rows at 16-byte boundaries (their uvec4 reads).
//
// Q8_0, Q4_K, Q6_K and Q6_K8 take the block scale out of the inner sum (one multiply per
// block / sub-block instead of per weight); the other types dequantise a chunk
// (wchunk.glsl) and dot it with x. Push constants, bindings and MUL_MAT_ID
// semantics are those of matvec.comp.
//
// Reading x (docs/PERFORMANCE.md, "Why the lane mat-vec read at 0.9 GB/s"):
// gallivm loads a storage-buffer value whose address is not provably uniform
// (anything indexed by a loop counter) with one scalar load per lane and
// component, so a lane reading 32 floats of x per 32 weights made x four times
// the loads of the weights. With XSG > 0 (the subgroup size, set by the host
// where subgroup broadcast works) the lanes of a subgroup share the work:
// lane l reads vec4 l of the 8, and subgroupBroadcast (one extract and splat
// in gallivm) hands every lane all 8. That needs every lane of the subgroup
// active in the K loop: rows past N compute a clamped row and skip the store.
//
// WTEX (tex_* / id_tex_*): the weights are read through texel-buffer views of
// the same bytes (binding 1: R32G32B32A32_UINT, binding 4: R32_UINT), and x
// through one more (binding 5, R32G32B32A32_UINT), with texelFetch, which
// gallivm gathers for all lanes at once instead of looping over the lanes
// (docs/PERFORMANCE.md, "Texel buffers"). Same arithmetic.
//
// GATEUP (gu_tex_* / gu_id_tex_*, texel views only, one column of x): the gate and the up
// projection of an FFN in one pass: each lane walks its row of the gate (bindings 1, 4) and the
// same row of the up weights (bindings 6, 7: the same two views) side by side, each x chunk
// fetched once for both, and writes act(g) * u (ACT 0: SiLU, SwiGLU; 1: tanh GELU, GeGLU;
// act.glsl, the expressions of unary.comp). Per stream the arithmetic is the plain kernel's.
// PAIR (pair_tex_*, with GATEUP): the plain mat-vec (one column of x) with two rows per lane, n and
// n + ceil(N/2) of the same weights (bindings 6, 7: the views of binding 1, 4 again; owu: the second
// half's first row), sharing each x fetch the same way; each row's sum is the plain kernel's.
// pair_id_tex_* (with MUL_MAT_ID): the same for the expert mat-vec, rows n and n + ceil(N/2) of the slot's
// expert (owu: the second half's first row of expert e0, wsu1 / wsu2 = ws1 / ws2).
//
// XQ (spec id 7; texel variants, quantised weights; vk_op_mm.h mm_lane_xq): binding 5 holds x as
// vk_op_quant_x made it, int8 blocks of 32 with an f32 scale each, and the x offsets (p.ox, strides) count
// its words. A block of x is then 2 texel fetches and a scale (8 of f32), and x was half or more of the
// fetch calls (docs/PERFORMANCE.md section 22). xblk reads a block either way and returns its scale (1.0
// for f32 x), which multiplies the block's sum; the int8 values come as i8x4s (times 2^24), so every
// product and partial sum of a Q8_0 / Q4_K / Q6_K block is an exact integer (times a power of two). The
// STREAM functions are f32-x only: with XQ the block forms run.
//
// STREAM (spec id 6, default 1; MOEVK_LANE_STREAM=0 on the host keeps the older order): on lavapipe
// every texelFetch is a call into gallivm's fetch function, and whatever vector registers are live
// across a call are spilled and reloaded (docs/PERFORMANCE.md section 22). With x read per lane
// (XSG = 0), q8_stream (one row) and q8_stream2 / q4k_stream2 / q6k_stream2 (two streams) fetch each
// vec4 of x right before the multiply-adds that take it instead of unpacking whole blocks first, so
// the unpacked weights are not held across the x fetches. Same operations per stream, same values.
//
// QUAD (quad_tex_*, Q6_K8 only; the other types' variants are empty): the plain mat-vec of one column of int8 x
// (XQ, SWAR) with four rows a lane, n + k NL (k < 4, NL = ceil(N/4), with ILV rounded up to whole groups), sharing each
// x fetch and x's SWAR pairs among four rows where PAIR shares them between two: the LM head of Q4_K_M files (its
// Q6_K stored as Q6_K8). Each row's sum is the plain kernel's, q6k8x_swar in the same order: bit-identical.
// ILV (spec id 9, quantised types; the host sets it from mvk_tensor.ilv): the rows are interleaved in groups of ILV
// (docs/QUANT_LAYOUTS.md, "Interleaved rows"): 16-byte unit j of row r is at row4()'s base + st j, st the row's
// group's rows, so the 8 lanes of a fetch read 128 contiguous bytes instead of 8 rows apart (docs/PERFORMANCE.md
// section 42). PAIR's second half then starts a group: NL is ceil(N/2) rounded up to a multiple of ILV. Same
// operations in the same order: the sums are the plain layout's, bit for bit. 0: plain rows (st = 1, folded).
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_ballot : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint NM = 8;          // columns of x (M) this pipeline handles
layout(constant_id = 4) const uint XSG = 0;         // subgroup size for the shared x reads; 0: each lane reads all of x
layout(constant_id = 5) const uint ACT = 0;         // GATEUP: the gate's activation, 0 SiLU, 1 tanh GELU
layout(constant_id = 6) const uint STREAM = 1;      // x read per lane: each x fetch next to its multiply-adds (q8_stream, *_stream2)
layout(constant_id = 7) const uint XQ = 0;          // 1: x is int8 (vk_op_quant_x's rows, binding 5; WTEX, quantised weights)
layout(constant_id = 8) const uint SWAR = 1;        // XQ, Q4_K / Q6_K: two products a 32-bit integer multiply (q4kx_swar, q6kx_swar); 0: q4kx_dot, q6kx_acc
layout(constant_id = 9) const uint ILV = 0;         // rows interleaved in groups of ILV (see the top); 0: plain rows
#if defined(W_QUANT) && !defined(W_Q8_0)
// ILV, quantised types but Q8_0: their blocks address a row from its start (rbv = 0, see main) and WRD / WRD4 map that to the
// interleaved place: uvec4 i of stream sel at ilv_b[sel] + ilv_s[sel] i, word i at 4 (ilv_b + ilv_s (i / 4)) + i % 4
// (row4: the row's first uvec4 and its group's rows). Q8_0 takes row4's addresses itself. ILV = 0: plain addresses.
uint ilv_b0 = 0u, ilv_s0 = 1u, ilv_b1 = 0u, ilv_s1 = 1u;
#define ILV4(sel, i) (ILV == 0u ? (i) : (sel) == 0u ? ilv_b0 + ilv_s0 * (i) : ilv_b1 + ilv_s1 * (i))
#define ILV1(sel, i) (ILV == 0u ? (i) : 4u * ILV4(sel, (i) >> 2) + ((i) & 3u))
#else
#define ILV4(sel, i) (i)
#define ILV1(sel, i) (i)
#endif

layout(std430, binding = 0) readonly buffer X { float x[]; };
#ifdef WTEX
// the weights through two texel-buffer views of the same bytes (WTEX, see the top)
layout(binding = 1) uniform usamplerBuffer wt4;     // R32G32B32A32_UINT
layout(binding = 4) uniform usamplerBuffer wt1;     // R32_UINT
#ifdef GATEUP
// the up weights: the same two views of their own bytes. WRD / WRD4 read stream wsel: 0 the
// gate, 1 the up weights. The block functions below take wsel as a parameter (a constant where
// they are called, folded after inlining); the generic chunks (wchunk) read the global one.
layout(binding = 6) uniform usamplerBuffer wu4;     // R32G32B32A32_UINT
layout(binding = 7) uniform usamplerBuffer wu1;     // R32_UINT
uint wsel = 0u;
#define WRD(i) (wsel == 0u ? texelFetch(wt1, int(ILV1(0u, i))).x : texelFetch(wu1, int(ILV1(1u, i))).x)
#define WRD4(i) (wsel == 0u ? texelFetch(wt4, int(ILV4(0u, i))) : texelFetch(wu4, int(ILV4(1u, i))))
#else
#define WRD(i) texelFetch(wt1, int(ILV1(0u, i))).x
#define WRD4(i) texelFetch(wt4, int(ILV4(0u, i)))
#endif
#else
#ifdef GATEUP
#error "GATEUP reads the weights through texel views (WTEX)"
#endif
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer W4 { uvec4 w4[]; };
#define WRD(i) w[ILV1(0u, i)]
#define WRD4(i) w4[ILV4(0u, i)]
#endif
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
#ifdef WTEX
layout(binding = 5) uniform usamplerBuffer xt4;     // x as R32G32B32A32_UINT
#define XRD4(i) uintBitsToFloat(texelFetch(xt4, int(i)))
#else
#define XRD4(i) x4[i]
#endif
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
#ifdef MUL_MAT_ID
#define MAXM 1
layout(std430, binding = 3) readonly buffer Ids { int ids[]; };
layout(push_constant) uniform P {
    uint N, K, nslot;
    uint xs_slot, xs_tok;
    uint ws1, ws2;
    uint ys_slot, ys_tok;
    uint ox, ow, oy, oi;
    uint is1;
    uint e0, e1, E, zero_invalid;
    uint fast;
#ifdef GATEUP
    uint owu, wsu1, wsu2;                           // the up weights: offset, row and expert strides (units)
#endif
} p;
#else
#ifdef GATEUP
#define MAXM 1
#else
#define MAXM NM
#endif
layout(std430, binding = 3) readonly buffer B { float bias[]; };
layout(push_constant) uniform P {
    uint M, N, K;
    uint xs1, ws1, ys1;
    uint ox, ow, oy, ob;
    uint has_bias;
    uint fast;
#ifdef GATEUP
    uint owu, wsu1;                                 // the up weights: offset, row stride (units)
#endif
} p;
#endif

#define W_ROW_K p.K
#define WQ_LUT_SELECT   // the 4-bit tables by selects (wquant.glsl): a CPU-device kernel
#include "wtypes.glsl"
#include "wchunk.glsl"
#if defined(GATEUP) && !defined(PAIR)
#include "act.glsl"
#endif

// x as vec4 from float index f (x rows are vec4-aligned when p.fast is set)
vec4 xld(uint f) { return XRD4(f >> 2); }

// The unpacks below stay 32-bit integer vector ops with one exact int->float convert per weight
// (docs/PERFORMANCE.md section 14): a field is masked (or shifted to the top bits, for a sign) in
// place instead of shifted down to bit 0 and back, so the float carries a power-of-two factor
// that the block scale or a per-component vec4 (K8) takes out again, exactly.

// the 4 signed bytes of u as floats, times 2^24 (each byte moved to bits 24-31: 8 significant
// bits, converted exactly); 2.5 integer ops a byte where shift-left / shift-right took 3
vec4 i8x4s(uint u) {
    return vec4(ivec4(uvec4(u << 24, (u << 16) & 0xff000000u, (u << 8) & 0xff000000u, u & 0xff000000u)));
}

// xpair, xswar, wswar: the SWAR packings (swar.glsl, shared with matmul_lane.comp XQ)
#include "swar.glsl"

// byte k of a word masked in place carries 2^(8k): K8 takes it out (dot(t, K8) after the sums)
const vec4 K8 = vec4(1.0, 1.0 / 256.0, 1.0 / 65536.0, 1.0 / 16777216.0);
// the field of width 4 / 6 bits at the bottom of each byte, masked in place (times 2^(8k), < 2^31)
vec4 nib4(uint u) { return vec4(ivec4(uvec4(u) & uvec4(0xfu, 0xf00u, 0xf0000u, 0xf000000u))); }
vec4 six4(uint u) { return vec4(ivec4(uvec4(u) & uvec4(0x3fu, 0x3f00u, 0x3f0000u, 0x3f000000u))); }

// xv[i] = x4[xb + i], i < 8 (32 floats of x), read cooperatively by the
// subgroup when XSG > 0 (see the top of the file)
void x32(uint xb, out vec4 xv[8]) {
    const uint l = gl_SubgroupInvocationID;
    if (XSG >= 8u) {
        const vec4 a = XRD4(xb + (l & 7u));
        xv[0] = subgroupBroadcast(a, 0u); xv[1] = subgroupBroadcast(a, 1u);
        xv[2] = subgroupBroadcast(a, 2u); xv[3] = subgroupBroadcast(a, 3u);
        xv[4] = subgroupBroadcast(a, 4u); xv[5] = subgroupBroadcast(a, 5u);
        xv[6] = subgroupBroadcast(a, 6u); xv[7] = subgroupBroadcast(a, 7u);
    } else if (XSG == 4u) {
        const vec4 a = XRD4(xb + (l & 3u)), c = XRD4(xb + 4u + (l & 3u));
        xv[0] = subgroupBroadcast(a, 0u); xv[1] = subgroupBroadcast(a, 1u);
        xv[2] = subgroupBroadcast(a, 2u); xv[3] = subgroupBroadcast(a, 3u);
        xv[4] = subgroupBroadcast(c, 0u); xv[5] = subgroupBroadcast(c, 1u);
        xv[6] = subgroupBroadcast(c, 2u); xv[7] = subgroupBroadcast(c, 3u);
    } else {
        for (uint i = 0; i < 8u; i++) xv[i] = XRD4(xb + i);
    }
}

// block j (32 values) of the x column at xfm (f32: float offset; XQ: word offset of its int8 row) into xv;
// returns the block's scale, 1.0 for f32 x (the f32 sums are then those of x32, bit for bit)
float xblk(uint xfm, uint j, out vec4 xv[8]) {
#ifdef WTEX
    if (XQ != 0u) {
        const uvec4 a = texelFetch(xt4, int((xfm >> 2) + 2u * j)), c = texelFetch(xt4, int((xfm >> 2) + 2u * j + 1u));
        xv[0] = i8x4s(a.x); xv[1] = i8x4s(a.y); xv[2] = i8x4s(a.z); xv[3] = i8x4s(a.w);
        xv[4] = i8x4s(c.x); xv[5] = i8x4s(c.y); xv[6] = i8x4s(c.z); xv[7] = i8x4s(c.w);
        const uvec4 sc = texelFetch(xt4, int(((xfm + (p.K >> 2)) >> 2) + (j >> 2)));   // scales of blocks 4(j/4) ..
        return uintBitsToFloat(sc[j & 3u]) * (1.0 / 16777216.0);                     // i8x4s's 2^24 out
    }
#endif
    x32((xfm >> 2) + 8u * j, xv);
    return 1.0;
}

#ifdef WTEX
// XQ, one column of x (the stream forms, as STREAM's for f32 x: raw words fetched, values unpacked at
// their multiply-adds): the quant words of x block j, and the scales of blocks 4(j/4) .. 4(j/4) + 3
// times 2^-24 (i8x4s's factor out)
void xq_words(uint xfm, uint j, out uvec4 a, out uvec4 c) {
    a = texelFetch(xt4, int((xfm >> 2) + 2u * j));
    c = texelFetch(xt4, int((xfm >> 2) + 2u * j + 1u));
}
vec4 xq_scales(uint xfm, uint j) {
    return uintBitsToFloat(texelFetch(xt4, int(((xfm + (p.K >> 2)) >> 2) + (j >> 2)))) * (1.0 / 16777216.0);
}
#endif

// word / uvec4 i of weight stream wsel (see GATEUP at the top)
uint wrd1s(uint wsel, uint i) { return WRD(i); }
uvec4 wrd4s(uint wsel, uint i) { return WRD4(i); }

// The uvec4 index of row r's first 16-byte unit, of a slice of nr rows starting at word wb with rows ws1 words
// apart, and in st the step from one of its units to the next: plain rows wb + r ws1 (in uvec4s) and 1; ILV rows
// the base of r's group plus r's place in it, and the group's rows (ILV, fewer in a partial last group)
uint row4(uint wb, uint ws1, uint r, uint nr, out uint st) {
    if (ILV == 0u) {
        st = 1u;
        return (wb + r * ws1) >> 2;
    }
    const uint g0 = r - r % ILV;
    st = min(ILV, nr - g0);
    return ((wb + g0 * ws1) >> 2) + (r - g0);
}

#if defined(W_Q8_0)
// block b of a row (q4: uvec4 index of its quants, s4: of its scales): the 32 weights times 2^24
// (i8x4s) and the block scale times 2^-24 (exact); sc caches the scale uvec4 of blocks 8s..8s+7
// (st: the step between the row's uvec4s, row4)
void q8_blk(uint wsel, uint q4, uint s4, uint st, uint b, inout uvec4 sc, out vec4 q[8], out float d) {
    if ((b & 7u) == 0u) sc = WRD4(s4 + st * (b >> 3));
    const uvec4 u0 = WRD4(q4 + st * (2u * b)), u1 = WRD4(q4 + st * (2u * b + 1u));
    d = unpackHalf2x16(sc[(b >> 1) & 3u] >> ((b & 1u) * 16u)).x * (1.0 / 16777216.0);
    q[0] = i8x4s(u0.x); q[1] = i8x4s(u0.y); q[2] = i8x4s(u0.z); q[3] = i8x4s(u0.w);
    q[4] = i8x4s(u1.x); q[5] = i8x4s(u1.y); q[6] = i8x4s(u1.z); q[7] = i8x4s(u1.w);
}

// q8_blk + q8_dot for one column of x read per lane (XSG = 0), with each vec4 of x fetched right
// before the multiply-add that takes it: on lavapipe every texel fetch is a call into gallivm's
// fetch function, and the vector registers live across a call are spilled and reloaded, so the 32
// unpacked weights are not held across the 8 fetches of x (docs/PERFORMANCE.md section 21). The
// same operations in the same order as q8_blk + q8_dot: bit-identical.
float q8_stream(uint wsel, uint q4, uint s4, uint st, uint b, inout uvec4 sc, uint xb, out float d) {
    if ((b & 7u) == 0u) sc = WRD4(s4 + st * (b >> 3));
    const uvec4 u0 = WRD4(q4 + st * (2u * b)), u1 = WRD4(q4 + st * (2u * b + 1u));
    d = unpackHalf2x16(sc[(b >> 1) & 3u] >> ((b & 1u) * 16u)).x * (1.0 / 16777216.0);
    vec4 t0 = i8x4s(u0.x) * XRD4(xb), t1 = i8x4s(u1.x) * XRD4(xb + 4u);
    t0 = fma(i8x4s(u0.y), XRD4(xb + 1u), t0); t1 = fma(i8x4s(u1.y), XRD4(xb + 5u), t1);
    t0 = fma(i8x4s(u0.z), XRD4(xb + 2u), t0); t1 = fma(i8x4s(u1.z), XRD4(xb + 6u), t1);
    t0 = fma(i8x4s(u0.w), XRD4(xb + 3u), t0); t1 = fma(i8x4s(u1.w), XRD4(xb + 7u), t1);
    const vec4 t = t0 + t1;
    return (t.x + t.y) + (t.z + t.w);
}

#ifdef GATEUP
// q8_stream for two weight streams (GATEUP: the gate and the up row; PAIR: rows n and n + NL) sharing
// each x fetch: the same operations per stream as q8_blk + q8_dot, bit-identical
float q8_stream2(uint q4, uint s4, uint st, inout uvec4 sc, uint q4u, uint s4u, uint stu, inout uvec4 scu, uint b, uint xb,
                 out float d, out float du, out float sumu) {
    if ((b & 7u) == 0u) {
        sc = wrd4s(0u, s4 + st * (b >> 3));
        scu = wrd4s(1u, s4u + stu * (b >> 3));
    }
    const uvec4 u0 = wrd4s(0u, q4 + st * (2u * b)), u1 = wrd4s(0u, q4 + st * (2u * b + 1u));
    const uvec4 v0 = wrd4s(1u, q4u + stu * (2u * b)), v1 = wrd4s(1u, q4u + stu * (2u * b + 1u));
    d = unpackHalf2x16(sc[(b >> 1) & 3u] >> ((b & 1u) * 16u)).x * (1.0 / 16777216.0);
    du = unpackHalf2x16(scu[(b >> 1) & 3u] >> ((b & 1u) * 16u)).x * (1.0 / 16777216.0);
    vec4 xa = XRD4(xb), xc = XRD4(xb + 4u);
    vec4 t0 = i8x4s(u0.x) * xa, t1 = i8x4s(u1.x) * xc, w0 = i8x4s(v0.x) * xa, w1 = i8x4s(v1.x) * xc;
    xa = XRD4(xb + 1u); xc = XRD4(xb + 5u);
    t0 = fma(i8x4s(u0.y), xa, t0); t1 = fma(i8x4s(u1.y), xc, t1); w0 = fma(i8x4s(v0.y), xa, w0); w1 = fma(i8x4s(v1.y), xc, w1);
    xa = XRD4(xb + 2u); xc = XRD4(xb + 6u);
    t0 = fma(i8x4s(u0.z), xa, t0); t1 = fma(i8x4s(u1.z), xc, t1); w0 = fma(i8x4s(v0.z), xa, w0); w1 = fma(i8x4s(v1.z), xc, w1);
    xa = XRD4(xb + 3u); xc = XRD4(xb + 7u);
    t0 = fma(i8x4s(u0.w), xa, t0); t1 = fma(i8x4s(u1.w), xc, t1); w0 = fma(i8x4s(v0.w), xa, w0); w1 = fma(i8x4s(v1.w), xc, w1);
    const vec4 t = t0 + t1, w = w0 + w1;
    sumu = (w.x + w.y) + (w.z + w.w);
    return (t.x + t.y) + (t.z + t.w);
}
#endif

// the block's sum q·x with int8 x (XQ; u0, u1: the block's weight words, a, c: x's): every product and
// partial sum an exact integer times 2^48
float q8x_dot(uvec4 u0, uvec4 u1, uvec4 a, uvec4 c) {
    vec4 t0 = i8x4s(u0.x) * i8x4s(a.x), t1 = i8x4s(u1.x) * i8x4s(c.x);
    t0 = fma(i8x4s(u0.y), i8x4s(a.y), t0); t1 = fma(i8x4s(u1.y), i8x4s(c.y), t1);
    t0 = fma(i8x4s(u0.z), i8x4s(a.z), t0); t1 = fma(i8x4s(u1.z), i8x4s(c.z), t1);
    t0 = fma(i8x4s(u0.w), i8x4s(a.w), t0); t1 = fma(i8x4s(u1.w), i8x4s(c.w), t1);
    const vec4 t = t0 + t1;
    return (t.x + t.y) + (t.z + t.w);
}

// the block's sum q·x: two vec4 chains of fused multiply-adds (8 independent per lane group; dot() was mul + add)
float q8_dot(const vec4 q[8], const vec4 xv[8]) {
    vec4 t0 = q[0] * xv[0], t1 = q[4] * xv[4];
    t0 = fma(q[1], xv[1], t0); t1 = fma(q[5], xv[5], t1);
    t0 = fma(q[2], xv[2], t0); t1 = fma(q[6], xv[6], t1);
    t0 = fma(q[3], xv[3], t0); t1 = fma(q[7], xv[7], t1);
    const vec4 t = t0 + t1;
    return (t.x + t.y) + (t.z + t.w);
}
#elif defined(W_Q4_K)
// sub-blocks 2 c2 and 2 c2 + 1 of a super-block (q4: uvec4 index of its qs[0], sv: its scale uvec4):
// dm4 = (d0, m0, d1, m1) and the 64 nibbles masked in place (nib4: times 2^(8k), K8 takes it out
// after the sums)
void q4k_words(uint wsel, uint q4, uvec4 sv, uint c2, out vec4 dm4, out uint qwd[8]) {
    const uint s0 = sv.y, s1 = sv.z, s2 = sv.w;   // scales[0..3], [4..7], [8..11]
    const vec2 dm = unpackHalf2x16(sv.x);
    uint sc0, mn0, sc1, mn1;
    // ggml's get_scale_min_k4 for sub-blocks c = 2*c2 and 2*c2 + 1
    if (c2 < 2u) {
        const uint sa = c2 == 0u ? s0 : s0 >> 16, sb = c2 == 0u ? s1 : s1 >> 16;
        sc0 = sa & 63u; sc1 = (sa >> 8) & 63u;
        mn0 = sb & 63u; mn1 = (sb >> 8) & 63u;
    } else {
        const uint hi = c2 == 2u ? s2 : s2 >> 16;       // scales[c + 4], scales[c + 5]
        const uint lo_sc = c2 == 2u ? s0 : s0 >> 16;    // scales[c - 4], scales[c - 3]
        const uint lo_mn = c2 == 2u ? s1 : s1 >> 16;    // scales[c], scales[c + 1]
        sc0 = (hi & 15u) | (((lo_sc >> 6) & 3u) << 4);
        sc1 = ((hi >> 8) & 15u) | (((lo_sc >> 14) & 3u) << 4);
        mn0 = ((hi >> 4) & 15u) | (((lo_mn >> 6) & 3u) << 4);
        mn1 = ((hi >> 12) & 15u) | (((lo_mn >> 14) & 3u) << 4);
    }
    dm4 = vec4(dm.x * float(sc0), dm.y * float(mn0), dm.x * float(sc1), dm.y * float(mn1));
    const uvec4 qa = WRD4(q4 + 2u * c2), qc = WRD4(q4 + 2u * c2 + 1u);
    qwd = uint[8](qa.x, qa.y, qa.z, qa.w, qc.x, qc.y, qc.z, qc.w);
}

void q4k_sub(uint wsel, uint q4, uvec4 sv, uint c2, out vec4 dm4, out vec4 lo[8], out vec4 hv[8]) {
    uint qwd[8];
    q4k_words(wsel, q4, sv, c2, dm4, qwd);
    for (uint i = 0; i < 8u; i++) {
        lo[i] = nib4(qwd[i]);
        hv[i] = nib4(qwd[i] >> 4);
    }
}

// the two sub-blocks' contribution: d0 Σ lo·x - m0 Σ x + d1 Σ hi·x - m1 Σ x
float q4k_dot(vec4 dm4, const vec4 lo[8], const vec4 hv[8], const vec4 xlo[8], const vec4 xhi[8]) {
    vec4 tl = lo[0] * xlo[0], th = hv[0] * xhi[0];
    vec4 sl = xlo[0], sh = xhi[0];
    for (uint i = 1; i < 8u; i++) {
        tl = fma(lo[i], xlo[i], tl);
        th = fma(hv[i], xhi[i], th);
        sl += xlo[i];
        sh += xhi[i];
    }
    return dm4.x * dot(tl, K8) - dm4.y * ((sl.x + sl.y) + (sl.z + sl.w)) + dm4.z * dot(th, K8) -
           dm4.w * ((sh.x + sh.y) + (sh.z + sh.w));
}
// q4k_dot with int8 x (XQ) from the raw words: qwd the 64 nibbles' words, al/cl x's block of the low
// nibbles, ah/ch of the high ones; dm4 carries x's two block scales. Integer sums, exact
float q4kx_dot(vec4 dm4, const uint qwd[8], uvec4 al, uvec4 cl, uvec4 ah, uvec4 ch) {
    const uint xl[8] = uint[8](al.x, al.y, al.z, al.w, cl.x, cl.y, cl.z, cl.w);
    const uint xh[8] = uint[8](ah.x, ah.y, ah.z, ah.w, ch.x, ch.y, ch.z, ch.w);
    vec4 xlv = i8x4s(xl[0]), xhv = i8x4s(xh[0]);
    vec4 tl = nib4(qwd[0]) * xlv, th = nib4(qwd[0] >> 4) * xhv, sl = xlv, sh = xhv;
    for (uint i = 1; i < 8u; i++) {
        xlv = i8x4s(xl[i]);
        xhv = i8x4s(xh[i]);
        tl = fma(nib4(qwd[i]), xlv, tl);
        th = fma(nib4(qwd[i] >> 4), xhv, th);
        sl += xlv;
        sh += xhv;
    }
    return dm4.x * dot(tl, K8) - dm4.y * ((sl.x + sl.y) + (sl.z + sl.w)) + dm4.z * dot(th, K8) -
           dm4.w * ((sh.x + sh.y) + (sh.z + sh.w));
}
// SWAR (spec id 8, default 1; MOEVK_LANE_SWAR=0 on the host: q4kx_dot): q4kx_dot's integer sums with
// two products a 32-bit integer multiply, since lavapipe's JIT has no FMA and q4kx_dot costs per weight a
// mask, an int->float convert, a multiply and an add on top of x's unpack. A weight word q (bytes b0..b3;
// low nibbles w0..w3 go with x bytes x0..x3 of the low block, high nibbles with the high block's) gives
// the nibble pairs in 16-bit fields P0 = q & 0x000f000f = w0 + w2 2^16, P1 = (q >> 8) & .. = w1 + w3 2^16
// (and H0, H1 from q >> 4, q >> 12), x's word the opposite pairs X0 = x2 + x0 2^16, X1 = x3 + x1 2^16
// (signed fields). P0 X0 mod 2^32 = w0 x2 + (w0 x0 + w2 x2) 2^16: the upper field holds the two products
// we want, the lower one a product we do not. Summed over the 8 words of a sub-block each accumulator is
// L + M 2^16 with |L| <= 8 * 15 * 127 and |M| <= 16 * 15 * 127 = 30480 < 2^15, so M = (acc + 2^15) >> 16
// exactly (arithmetic shift; 8 words is the most one accumulator takes). That needs |x| <= 127: quant_x.comp
// clamps its int8 x to [-127, 127], never -128. Σx the same way: Σ (X0 + X1) = Σ (x2 + x3) + Σ (x0 + x1) 2^16
// (fields <= 16 * 127). The sums are the exact integers q4kx_dot's float sums hold (times 2^24 there), and
// they are combined with dm4 in the same order: bit-identical (test_op_quant_x checks it).
// (xswar, wswar: swar.glsl)
// the sub-block pair's contribution from the SWAR sums t (P0 X0, P1 X1, H0 X0', H1 X1') and sx (Σ (X0 + X1)
// of the low block, of the high one), in q4kx_dot's order (its sums times 2^24, exact)
float q4kx_fin(vec4 dm4, ivec4 t, ivec2 sx) {
    const ivec4 m = (t + 0x8000) >> 16;
    const ivec2 z = ((sx << 16) >> 16) + ((sx + 0x8000) >> 16);
    return dm4.x * (float(m.x + m.y) * 16777216.0) - dm4.y * (float(z.x) * 16777216.0) +
           dm4.z * (float(m.z + m.w) * 16777216.0) - dm4.w * (float(z.y) * 16777216.0);
}
// q4kx_dot by SWAR (same arguments, same value)
float q4kx_swar(vec4 dm4, const uint qwd[8], uvec4 al, uvec4 cl, uvec4 ah, uvec4 ch) {
    const uint xl[8] = uint[8](al.x, al.y, al.z, al.w, cl.x, cl.y, cl.z, cl.w);
    const uint xh[8] = uint[8](ah.x, ah.y, ah.z, ah.w, ch.x, ch.y, ch.z, ch.w);
    ivec4 t = ivec4(0);
    ivec2 sx = ivec2(0);
    for (uint i = 0; i < 8u; i++) {
        const ivec4 xv = xswar(xl[i], xh[i]);
        t += wswar(qwd[i]) * xv;
        sx += xv.xz + xv.yw;
    }
    return q4kx_fin(dm4, t, sx);
}
#ifdef GATEUP
// q4kx_swar for two weight streams (GATEUP, PAIR) sharing x's packed words and Σx
void q4kx_swar2(vec4 dm4, const uint qwd[8], vec4 dmu, const uint qwu[8], uvec4 al, uvec4 cl, uvec4 ah, uvec4 ch,
                inout float acc, inout float accu) {
    const uint xl[8] = uint[8](al.x, al.y, al.z, al.w, cl.x, cl.y, cl.z, cl.w);
    const uint xh[8] = uint[8](ah.x, ah.y, ah.z, ah.w, ch.x, ch.y, ch.z, ch.w);
    ivec4 t = ivec4(0), u = ivec4(0);
    ivec2 sx = ivec2(0);
    for (uint i = 0; i < 8u; i++) {
        const ivec4 xv = xswar(xl[i], xh[i]);
        t += wswar(qwd[i]) * xv;
        u += wswar(qwu[i]) * xv;
        sx += xv.xz + xv.yw;
    }
    acc += q4kx_fin(dm4, t, sx);
    accu += q4kx_fin(dmu, u, sx);
}
// q4k_sub + q4k_dot for two weight streams sharing each x fetch (see q8_stream2): the same
// operations per stream in the same order, bit-identical; Σx (sl, sh) is the same for both
void q4k_stream2(uint q4, uvec4 sv, uint q4u, uvec4 svu, uint c2, uint xb, inout float acc, inout float accu) {
    vec4 dm4, dmu;
    uint qwd[8], qwu[8];
    q4k_words(0u, q4, sv, c2, dm4, qwd);
    q4k_words(1u, q4u, svu, c2, dmu, qwu);
    vec4 xl = XRD4(xb), xh = XRD4(xb + 8u);
    vec4 tl = nib4(qwd[0]) * xl, th = nib4(qwd[0] >> 4) * xh;
    vec4 ul = nib4(qwu[0]) * xl, uh = nib4(qwu[0] >> 4) * xh;
    vec4 sl = xl, sh = xh;
    for (uint i = 1; i < 8u; i++) {
        xl = XRD4(xb + i);
        xh = XRD4(xb + 8u + i);
        tl = fma(nib4(qwd[i]), xl, tl);
        th = fma(nib4(qwd[i] >> 4), xh, th);
        ul = fma(nib4(qwu[i]), xl, ul);
        uh = fma(nib4(qwu[i] >> 4), xh, uh);
        sl += xl;
        sh += xh;
    }
    const float zl = (sl.x + sl.y) + (sl.z + sl.w), zh = (sh.x + sh.y) + (sh.z + sh.w);
    acc += dm4.x * dot(tl, K8) - dm4.y * zl + dm4.z * dot(th, K8) - dm4.w * zh;
    accu += dmu.x * dot(ul, K8) - dmu.y * zl + dmu.z * dot(uh, K8) - dmu.w * zh;
}
#endif
#elif defined(W_Q6_K) || defined(W_Q6_K8)
// (Q6_K8, the device-only Q6_K with a value a byte, shares q6k_d01, q6k_acc, q6kx_xpairs; its own functions
// follow Q6_K's)
// half n2 of the super-block at word qb: its ql words (chunks r even: la, odd: lb), qh words (hb)
// and its two scale words. uvec4 reads (the block is 13 uvec4s, 16-byte aligned: the host checks
// the row starts); each quant word is read once (wdeq32 reads qh 4 and ql 2 times per half)
void q6k_half(uint wsel, uint qb, uint n2, out uint la[8], out uint lb[8], out uint hb[8], out uint scw0, out uint scw1) {
    const uint q4 = (qb >> 2) + 4u * n2;
    const uvec4 la0 = WRD4(q4), la1 = WRD4(q4 + 1u), lb0 = WRD4(q4 + 2u), lb1 = WRD4(q4 + 3u);
    const uvec4 hb0 = WRD4((qb >> 2) + 8u + 2u * n2), hb1 = WRD4((qb >> 2) + 9u + 2u * n2);
    const uvec4 scv = WRD4((qb >> 2) + 12u);
    la = uint[8](la0.x, la0.y, la0.z, la0.w, la1.x, la1.y, la1.z, la1.w);
    lb = uint[8](lb0.x, lb0.y, lb0.z, lb0.w, lb1.x, lb1.y, lb1.z, lb1.w);
    hb = uint[8](hb0.x, hb0.y, hb0.z, hb0.w, hb1.x, hb1.y, hb1.z, hb1.w);
    scw0 = n2 == 0u ? scv.x : scv.z;
    scw1 = n2 == 0u ? scv.y : scv.w;
}

// chunk r (32 values) of a half: its two scales d * sc and the values. The 6-bit values of 4
// weights are assembled in one word (low nibbles | high bits << 4, each byte 0..63), then masked
// in place (six4: times 2^(8k)) and 32 (times the same 2^(8k)) subtracted exactly; K8 takes the
// factor out after the sums
vec2 q6k_d01(uint scw0, uint scw1, float d, uint r) {
    const uint scw = (r < 2u ? scw0 : scw1) >> ((r & 1u) * 16u);
    return vec2(d * float(bitfieldExtract(int(scw), 0, 8)), d * float(bitfieldExtract(int(scw), 8, 8)));
}

vec4 q6k_val(const uint la[8], const uint lb[8], const uint hb[8], uint r, uint i) {
    const uint shl = 4u * (r >> 1), shh = 2u * r;
    const uint lw = (((r & 1u) == 0u ? la[i] : lb[i]) >> shl) & 0x0f0f0f0fu;
    return six4(lw | (((hb[i] >> shh) & 0x03030303u) << 4)) - 32.0 / K8;
}

void q6k_chunk(const uint la[8], const uint lb[8], const uint hb[8], uint scw0, uint scw1, float d, uint r, out vec2 d01,
               out vec4 qv[8]) {
    d01 = q6k_d01(scw0, scw1, d, r);
    for (uint i = 0; i < 8u; i++) qv[i] = q6k_val(la, lb, hb, r, i);
}

// acc + d0 Σ (values 0..15)·x + d1 Σ (values 16..31)·x
float q6k_acc(const vec4 qv[8], vec2 d01, const vec4 xv[8], float acc) {
    vec4 t0 = qv[0] * xv[0], t1 = qv[4] * xv[4];
    t0 = fma(qv[1], xv[1], t0); t1 = fma(qv[5], xv[5], t1);
    t0 = fma(qv[2], xv[2], t0); t1 = fma(qv[6], xv[6], t1);
    t0 = fma(qv[3], xv[3], t0); t1 = fma(qv[7], xv[7], t1);
    acc = fma(d01.x, dot(t0, K8), acc);
    return fma(d01.y, dot(t1, K8), acc);
}
// the 6-bit values of weights 4i .. 4i + 3 of chunk r as q6k_val, without the 32 (0 .. 63 times 2^(8k))
vec4 q6k_raw(const uint la[8], const uint lb[8], const uint hb[8], uint r, uint i) {
    const uint shl = 4u * (r >> 1), shh = 2u * r;
    const uint lw = (((r & 1u) == 0u ? la[i] : lb[i]) >> shl) & 0x0f0f0f0fu;
    return six4(lw | (((hb[i] >> shh) & 0x03030303u) << 4));
}
// q6k_chunk + q6k_acc with int8 x (XQ; a, c: x's block words; d01 carries x's block scale): exact integer
// sums. The 32 comes out of the inner sum: Σ (q - 32) x = Σ q x - 32 Σ x over each 16, with Σ x (sa, sc)
// the same for every row that reads this x (PAIR's two rows share it after CSE), so a weight costs a mask,
// a convert and its multiply-add, not one more subtract. Every term is an integer times 2^24 below 2^41:
// exact, the same value as subtracting per weight.
float q6kx_acc(const uint la[8], const uint lb[8], const uint hb[8], uint r, vec2 d01, uvec4 a, uvec4 c, float acc) {
    const vec4 xa0 = i8x4s(a.x), xa1 = i8x4s(a.y), xa2 = i8x4s(a.z), xa3 = i8x4s(a.w);
    const vec4 xc0 = i8x4s(c.x), xc1 = i8x4s(c.y), xc2 = i8x4s(c.z), xc3 = i8x4s(c.w);
    vec4 t0 = q6k_raw(la, lb, hb, r, 0u) * xa0, t1 = q6k_raw(la, lb, hb, r, 4u) * xc0;
    t0 = fma(q6k_raw(la, lb, hb, r, 1u), xa1, t0); t1 = fma(q6k_raw(la, lb, hb, r, 5u), xc1, t1);
    t0 = fma(q6k_raw(la, lb, hb, r, 2u), xa2, t0); t1 = fma(q6k_raw(la, lb, hb, r, 6u), xc2, t1);
    t0 = fma(q6k_raw(la, lb, hb, r, 3u), xa3, t0); t1 = fma(q6k_raw(la, lb, hb, r, 7u), xc3, t1);
    const vec4 sa = (xa0 + xa1) + (xa2 + xa3), sc = (xc0 + xc1) + (xc2 + xc3);
    acc = fma(d01.x, dot(t0, K8) - 32.0 * ((sa.x + sa.y) + (sa.z + sa.w)), acc);
    return fma(d01.y, dot(t1, K8) - 32.0 * ((sc.x + sc.y) + (sc.z + sc.w)), acc);
}
// SWAR (spec id 8, default 1; MOEVK_LANE_SWAR=0 on the host: q6kx_acc): q6kx_acc's integer sums with two
// products a 32-bit integer multiply (lavapipe's JIT has no FMA: q6kx_acc pays per weight a mask, an int->float
// convert, a multiply and an add). A weight word lw (bytes q0..q3, 0..63, as q6k_raw builds them) gives the
// pairs in 16-bit fields P0 = lw & 0x003f003f = q0 + q2 2^16, P1 = (lw >> 8) & .. = q1 + q3 2^16, x's word
// (signed bytes x0..x3) the opposite pairs X0 = x2 + x0 2^16, X1 = x3 + x1 2^16 (q6kx_xpairs). With the 32
// subtracted, P0' = P0 - 0x00200020 = (q0 - 32) + (q2 - 32) 2^16 as one integer, and P0' X0 mod 2^32 =
// (q0 - 32) x2 + ((q0 - 32) x0 + (q2 - 32) x2) 2^16: the upper field holds the two products we want, the
// lower one a product we do not. The 32 is not subtracted per word: Σ P0' X0 = Σ P0 X0 - 0x00200020 Σ X0
// (mod 2^32, the distributive law), so each accumulator starts at 2^15 - 0x00200020 Σ X0 over its 4 words
// (x alone: shared by PAIR's / GATEUP's two rows) and takes P0 X0 per word, a mask, a multiply and an add.
// Its final value is 2^15 + L + M 2^16 with L the lower fields' sum, 4 products, |L| <= 4 * 32 * 127 = 16256,
// and M the wanted sum, 8 products, |M| <= 8 * 32 * 127 = 32512 < 2^15: a |product| <= 32 * 127 needs
// |x| <= 127, which quant_x.comp's clamp to [-127, 127] (never -128) gives. So 0 <= 2^15 + L < 2^16 and
// M = acc >> 16 (arithmetic), exactly; one accumulator for the 4 P0s and one for the 4 P1s of each 16
// values (a scale's), 8 products each, is the most that fits. The sum M0 + M1 of a 16 is the integer
// q6kx_acc's dot(t0, K8) - 32 Σx holds (times 2^24 there), and it meets d01 in the same order:
// bit-identical (test_op_quant_x checks it).
// x's block words a (values 0..15), c (16..31) as the pairs (X0, X1) of each word, and the start values of
// the accumulators (P0s of a, P1s of a, P0s of c, P1s of c)
void q6kx_xpairs(uvec4 a, uvec4 c, out ivec2 xp[8], out ivec4 st) {
    const uint w[8] = uint[8](a.x, a.y, a.z, a.w, c.x, c.y, c.z, c.w);
    ivec4 s = ivec4(0);
    for (uint i = 0; i < 8u; i++) {
        xp[i] = xpair(w[i]);
        if (i < 4u) s.xy += xp[i];
        else s.zw += xp[i];
    }
    st = 0x8000 - 0x00200020 * s;
}
// q6kx_acc by SWAR (xp, st from q6kx_xpairs of the same a, c; same value)
float q6kx_swar(const uint la[8], const uint lb[8], const uint hb[8], uint r, vec2 d01, const ivec2 xp[8], ivec4 st, float acc) {
    const uint shl = 4u * (r >> 1), shh = 2u * r;
    ivec4 t = st;
    for (uint i = 0; i < 8u; i++) {
        // q6k_raw's word, the high bits shifted to bits 4-5 of each byte in one shift
        const uint lo = (((r & 1u) == 0u ? la[i] : lb[i]) >> shl) & 0x0f0f0f0fu;
        const uint hi = (shh <= 4u ? hb[i] << (4u - shh) : hb[i] >> (shh - 4u)) & 0x30303030u;
        const ivec2 pw = ivec2((uvec2(lo | hi) >> uvec2(0u, 8u)) & 0x003f003fu);
        if (i < 4u) t.xy += pw * xp[i];
        else t.zw += pw * xp[i];
    }
    const ivec4 m = t >> 16;
    acc = fma(d01.x, float(m.x + m.y) * 16777216.0, acc);
    return fma(d01.y, float(m.z + m.w) * 16777216.0, acc);
}
// Q6_K8: chunk c's 8 value words (u0, u1; bytes 0..63, element order: q6k_raw's words, read as they are) as
// q6k_val's values
void q6k8_vals(uvec4 u0, uvec4 u1, out vec4 qv[8]) {
    const uint w[8] = uint[8](u0.x, u0.y, u0.z, u0.w, u1.x, u1.y, u1.z, u1.w);
    for (uint i = 0; i < 8u; i++) qv[i] = six4(w[i]) - 32.0 / K8;
}
// Q6_K8: q6kx_acc on chunk c's value words (same operations on the same values: bit-identical)
float q6k8x_acc(uvec4 u0, uvec4 u1, vec2 d01, uvec4 a, uvec4 c, float acc) {
    const vec4 xa0 = i8x4s(a.x), xa1 = i8x4s(a.y), xa2 = i8x4s(a.z), xa3 = i8x4s(a.w);
    const vec4 xc0 = i8x4s(c.x), xc1 = i8x4s(c.y), xc2 = i8x4s(c.z), xc3 = i8x4s(c.w);
    vec4 t0 = six4(u0.x) * xa0, t1 = six4(u1.x) * xc0;
    t0 = fma(six4(u0.y), xa1, t0); t1 = fma(six4(u1.y), xc1, t1);
    t0 = fma(six4(u0.z), xa2, t0); t1 = fma(six4(u1.z), xc2, t1);
    t0 = fma(six4(u0.w), xa3, t0); t1 = fma(six4(u1.w), xc3, t1);
    const vec4 sa = (xa0 + xa1) + (xa2 + xa3), sc = (xc0 + xc1) + (xc2 + xc3);
    acc = fma(d01.x, dot(t0, K8) - 32.0 * ((sa.x + sa.y) + (sa.z + sa.w)), acc);
    return fma(d01.y, dot(t1, K8) - 32.0 * ((sc.x + sc.y) + (sc.z + sc.w)), acc);
}
// Q6_K8: q6kx_swar on chunk c's value words: the word q6kx_swar assembles from ql and qh (4 shifts, masks and an
// or) is read as it is; the same integer sums in the same order (bit-identical)
float q6k8x_swar(uvec4 u0, uvec4 u1, vec2 d01, const ivec2 xp[8], ivec4 st, float acc) {
    const uint w[8] = uint[8](u0.x, u0.y, u0.z, u0.w, u1.x, u1.y, u1.z, u1.w);
    ivec4 t = st;
    for (uint i = 0; i < 8u; i++) {
        const ivec2 pw = ivec2((uvec2(w[i]) >> uvec2(0u, 8u)) & 0x003f003fu);
        if (i < 4u) t.xy += pw * xp[i];
        else t.zw += pw * xp[i];
    }
    const ivec4 m = t >> 16;
    acc = fma(d01.x, float(m.x + m.y) * 16777216.0, acc);
    return fma(d01.y, float(m.z + m.w) * 16777216.0, acc);
}
#ifdef GATEUP
// chunk r of a half for two weight streams sharing each x fetch (see q8_stream2): q6k_chunk +
// q6k_acc per stream, the same operations in the same order, bit-identical
void q6k_stream2(const uint la[8], const uint lb[8], const uint hb[8], uint scw0, uint scw1, float d,
                 const uint lau[8], const uint lbu[8], const uint hbu[8], uint scu0, uint scu1, float du, uint r, uint xb,
                 inout float acc, inout float accu) {
    const vec2 d01 = q6k_d01(scw0, scw1, d, r), du01 = q6k_d01(scu0, scu1, du, r);
    vec4 xa = XRD4(xb), xc = XRD4(xb + 4u);
    vec4 t0 = q6k_val(la, lb, hb, r, 0u) * xa, t1 = q6k_val(la, lb, hb, r, 4u) * xc;
    vec4 w0 = q6k_val(lau, lbu, hbu, r, 0u) * xa, w1 = q6k_val(lau, lbu, hbu, r, 4u) * xc;
    for (uint i = 1; i < 4u; i++) {
        xa = XRD4(xb + i);
        xc = XRD4(xb + 4u + i);
        t0 = fma(q6k_val(la, lb, hb, r, i), xa, t0);
        t1 = fma(q6k_val(la, lb, hb, r, 4u + i), xc, t1);
        w0 = fma(q6k_val(lau, lbu, hbu, r, i), xa, w0);
        w1 = fma(q6k_val(lau, lbu, hbu, r, 4u + i), xc, w1);
    }
    acc = fma(d01.x, dot(t0, K8), acc);
    acc = fma(d01.y, dot(t1, K8), acc);
    accu = fma(du01.x, dot(w0, K8), accu);
    accu = fma(du01.y, dot(w1, K8), accu);
}
#endif
#endif

#ifdef QUAD
#if defined(W_Q6_K8) && defined(WTEX) && !defined(MUL_MAT_ID) && !defined(GATEUP)
// word i of a row (from its start) whose first uvec4 is b4, st uvec4s between its units (row4)
uint qrow_wd(uint b4, uint st, uint i) { return texelFetch(wt1, int(4u * (b4 + st * (i >> 2)) + (i & 3u))).x; }
void main() {
    const uint n_inv = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    const uint NL = ILV == 0u ? (p.N + 3u) >> 2 : ((p.N + 3u) / 4u + ILV - 1u) / ILV * ILV;
    const bool live = n_inv < NL;                   // rows past N read a clamped row and skip the store
    const uint n = live ? n_inv : NL - 1u;
    const uint nb = p.K >> 8, xf = p.ox;
    uint b4[4], s4[4];                              // each row's first uvec4 and unit step (row4)
    for (uint k = 0; k < 4u; k++) b4[k] = row4(p.ow, p.ws1, min(n + k * NL, p.N - 1u), p.N, s4[k]);
    float acc[4] = float[4](0.0, 0.0, 0.0, 0.0);
    vec4 xs = vec4(0.0);
    for (uint b = 0; b < nb; b++) {
        // super-block b of each row: quant part at uvec4 17 b (16 value uvec4s, then the scales), d in the scale area
        const uint iw = nb * 68u + (b >> 1);
        float d[4];
        uvec4 scv[4];
        for (uint k = 0; k < 4u; k++) {
            d[k] = unpackHalf2x16(qrow_wd(b4[k], s4[k], iw) >> ((b & 1u) * 16u)).x;
            scv[k] = texelFetch(wt4, int(b4[k] + s4[k] * (b * 17u + 16u)));
        }
        for (uint c = 0; c < 8u; c++) {
            if ((c & 3u) == 0u) xs = xq_scales(xf, 8u * b + c);
            uvec4 a, cx;
            xq_words(xf, 8u * b + c, a, cx);
            ivec2 xp[8];
            ivec4 st;
            q6kx_xpairs(a, cx, xp, st);             // once for the four rows
            for (uint k = 0; k < 4u; k++) {
                const uvec4 u0 = texelFetch(wt4, int(b4[k] + s4[k] * (b * 17u + 2u * c)));
                const uvec4 u1 = texelFetch(wt4, int(b4[k] + s4[k] * (b * 17u + 2u * c + 1u)));
                acc[k] = q6k8x_swar(u0, u1, q6k_d01(scv[k][c >> 1u], scv[k][c >> 1u], d[k], c & 1u) * xs[c & 3u], xp, st, acc[k]);
            }
        }
    }
    if (!live) return;
    for (uint k = 0; k < 4u; k++) {
        const uint r = n + k * NL;
        if (r < p.N) y[p.oy + r] = p.has_bias != 0u ? acc[k] + bias[p.ob + r] : acc[k];
    }
}
#else
void main() {}                                      // QUAD is Q6_K8's (vk_op_mm.h mm_lane_quad picks it for that type only)
#endif
#else
void main() {
    const uint n_inv = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
#ifdef PAIR
    // lanes: rows n and n + NL (the host takes PAIR for N > NL); ILV: NL a multiple of ILV, the second half starts a group
    const uint NL = ILV == 0u ? (p.N + 1u) >> 1 : ((p.N + 1u) / 2u + ILV - 1u) / ILV * ILV;
#else
    const uint NL = p.N;
#endif
    const bool live = n_inv < NL;                   // rows past N run a clamped row (lanes stay active for x32)
    const uint n = live ? n_inv : NL - 1u;
#ifdef MUL_MAT_ID
    const uint s = gl_WorkGroupID.z;
    const uint j = s % p.nslot, t = s / p.nslot;
    const int eid = ids[p.oi + j + t * p.is1];
    const uint ybase = p.oy + j * p.ys_slot + t * p.ys_tok;
    if (eid < 0 || uint(eid) >= p.E) {               // uniform in the workgroup (one slot per z)
        if (p.zero_invalid != 0u && live) {
            y[ybase + n] = 0.0;
#ifdef PAIR
            if (n + NL < p.N) y[ybase + n + NL] = 0.0;
#endif
        }
        return;
    }
    const uint e = uint(eid);
    if (e < p.e0 || e >= p.e1) return;
    // wb: the slice's first word, rn: the row in it (rb: the row's first word); the same for the second stream
    const uint wb = p.ow + (e - p.e0) * p.ws2, rn = n;
    const uint rb = wb + rn * p.ws1;
#if defined(PAIR)
    const uint wbu = p.owu + (e - p.e0) * p.wsu2, rnu = min(n, p.N - NL - 1u);   // row n + NL, clamped where N is odd
#elif defined(GATEUP)
    const uint wbu = p.owu + (e - p.e0) * p.wsu2, rnu = n;
#endif
#ifdef GATEUP
    const uint rbu = wbu + rnu * p.wsu1;
#endif
    const uint M = 1u;
    uint xf[MAXM];
    xf[0] = p.ox + j * p.xs_slot + t * p.xs_tok;
#else
    const uint wb = p.ow, rn = n;                   // the slice's first word, the row in it (rb: the row's first word)
    const uint rb = wb + rn * p.ws1;
#if defined(PAIR)
    const uint wbu = p.owu, rnu = min(n, p.N - NL - 1u);   // row n + NL, clamped where N is odd
    const uint M = 1u;
#elif defined(GATEUP)
    const uint wbu = p.owu, rnu = n;
    const uint M = 1u;
#else
    const uint M = p.M;
#endif
#ifdef GATEUP
    const uint rbu = wbu + rnu * p.wsu1;
#endif
    uint xf[MAXM];
    for (uint m = 0; m < MAXM; m++) xf[m] = p.ox + m * p.xs1;
#endif
#if defined(W_QUANT) && !defined(W_Q8_0)
    // ILV: the rows' reads go through ilv_b / ilv_s (see the top), addressed from the row's start (rbv, rbuv = 0)
    if (ILV != 0u) {
        ilv_b0 = row4(wb, p.ws1, rn, p.N, ilv_s0);
#if defined(GATEUP) && defined(PAIR)
        ilv_b1 = row4(wbu, p.wsu1, rnu, p.N - NL, ilv_s1);
#elif defined(GATEUP)
        ilv_b1 = row4(wbu, p.wsu1, rnu, p.N, ilv_s1);
#endif
    }
    const uint rbv = ILV == 0u ? rb : 0u;
#ifdef GATEUP
    const uint rbuv = ILV == 0u ? rbu : 0u;
#endif
#endif
    float acc[MAXM];
    for (uint m = 0; m < MAXM; m++) acc[m] = 0.0;
#ifdef GATEUP
    float accu = 0.0;                               // the up row's sum (acc[0]: the gate's)
#endif
    vec4 xs = vec4(0.0);                            // XQ, one column: x's scales of the current 4 blocks

#if defined(W_Q8_0)
    // row: nb blocks of 32 int8 (two uvec4 each, 16-byte aligned), then nb f16 scales
    const uint nb = p.K >> 5;
    // (the scale part starts 16-byte aligned: its uvec4 s holds the scales of blocks 8s..8s+7)
    // (row4: st the step between the row's uvec4s, 1 for plain rows; ILV: the slices' rows are N, PAIR's second N - NL)
    uint st;
    const uint q4 = row4(wb, p.ws1, rn, p.N, st), s4 = q4 + st * (nb * 2u);
    uvec4 sc = uvec4(0u);
#ifdef GATEUP
    uint stu;
#ifdef PAIR
    const uint q4u = row4(wbu, p.wsu1, rnu, p.N - NL, stu), s4u = q4u + stu * (nb * 2u);
#else
    const uint q4u = row4(wbu, p.wsu1, rnu, p.N, stu), s4u = q4u + stu * (nb * 2u);
#endif
    uvec4 scu = uvec4(0u);
#endif
    for (uint b = 0; b < nb; b++) {
#ifdef WTEX
        if (XQ != 0u && MAXM == 1u) {               // int8 x, one column: 2 x fetches a block, a scale fetch every 4
            if ((b & 7u) == 0u) {
                sc = wrd4s(0u, s4 + st * (b >> 3));
#ifdef GATEUP
                scu = wrd4s(1u, s4u + stu * (b >> 3));
#endif
            }
            if ((b & 3u) == 0u) xs = xq_scales(xf[0], b);
            const uvec4 u0 = wrd4s(0u, q4 + st * (2u * b)), u1 = wrd4s(0u, q4 + st * (2u * b + 1u));
#ifdef GATEUP
            const uvec4 v0 = wrd4s(1u, q4u + stu * (2u * b)), v1 = wrd4s(1u, q4u + stu * (2u * b + 1u));
#endif
            uvec4 a, c;
            xq_words(xf[0], b, a, c);
            const float dx = xs[b & 3u];
            acc[0] = fma(unpackHalf2x16(sc[(b >> 1) & 3u] >> ((b & 1u) * 16u)).x * (1.0 / 16777216.0), dx * q8x_dot(u0, u1, a, c), acc[0]);
#ifdef GATEUP
            accu = fma(unpackHalf2x16(scu[(b >> 1) & 3u] >> ((b & 1u) * 16u)).x * (1.0 / 16777216.0), dx * q8x_dot(v0, v1, a, c), accu);
#endif
            continue;
        }
#endif
#ifndef GATEUP
        if (XSG == 0u && MAXM == 1u && STREAM != 0u && XQ == 0u) {
            float d;
            const float sum = q8_stream(0u, q4, s4, st, b, sc, (xf[0] >> 2) + 8u * b, d);
            acc[0] = fma(d, sum, acc[0]);
            continue;
        }
#endif
#ifdef GATEUP
        if (XSG == 0u && STREAM != 0u && XQ == 0u) {
            float d, du, su;
            const float sg = q8_stream2(q4, s4, st, sc, q4u, s4u, stu, scu, b, (xf[0] >> 2) + 8u * b, d, du, su);
            acc[0] = fma(d, sg, acc[0]);
            accu = fma(du, su, accu);
            continue;
        }
#endif
        vec4 q[8];
        float d;
        q8_blk(0u, q4, s4, st, b, sc, q, d);
#ifdef GATEUP
        vec4 qu[8], xv[8];
        float du;
        q8_blk(1u, q4u, s4u, stu, b, scu, qu, du);
        const float dx = xblk(xf[0], b, xv);        // one x fetch for both rows
        acc[0] = fma(d, dx * q8_dot(q, xv), acc[0]);
        accu = fma(du, dx * q8_dot(qu, xv), accu);
#else
        for (uint m = 0; m < MAXM; m++) {
            if (m >= M) break;
            vec4 xv[8];
            const float dx = xblk(xf[m], b, xv);
            acc[m] = fma(d, dx * q8_dot(q, xv), acc[m]);
        }
#endif
    }
#elif defined(W_Q4_K)
    // super-block of 256: quant part qs[128] (8 uvec4s), scale part d, dmin, scales[12] (one
    // uvec4; docs/QUANT_LAYOUTS.md), both 16-byte aligned
    const uint nb = p.K >> 8;
    const uint s4 = (rbv >> 2) + nb * 8u;
#ifdef GATEUP
    const uint s4u = (rbuv >> 2) + nb * 8u;
#endif
    for (uint b = 0; b < nb; b++) {
        const uvec4 sv = wrd4s(0u, s4 + b);
#ifdef GATEUP
        const uvec4 svu = wrd4s(1u, s4u + b);
#endif
        for (uint c2 = 0; c2 < 4u; c2++) {            // 64 elements: chunk 2*c2 (low nibbles), 2*c2+1 (high)
#ifdef WTEX
            if (XQ != 0u && MAXM == 1u) {           // int8 x, one column: x blocks 8b + 2c2 (low), + 1 (high)
                vec4 dm4;
                uint qwd[8];
                q4k_words(0u, (rbv >> 2) + b * 8u, sv, c2, dm4, qwd);
#ifdef GATEUP
                vec4 dmu;
                uint qwu[8];
                q4k_words(1u, (rbuv >> 2) + b * 8u, svu, c2, dmu, qwu);
#endif
                const uint jx = 8u * b + 2u * c2;
                if ((c2 & 1u) == 0u) xs = xq_scales(xf[0], jx);
                uvec4 al, cl, ah, ch;
                xq_words(xf[0], jx, al, cl);
                xq_words(xf[0], jx + 1u, ah, ch);
                const vec2 dxp = (c2 & 1u) == 0u ? xs.xy : xs.zw;
                const vec4 dx4 = vec4(dxp.x, dxp.x, dxp.y, dxp.y);
                if (SWAR != 0u) {
#ifdef GATEUP
                    q4kx_swar2(dm4 * dx4, qwd, dmu * dx4, qwu, al, cl, ah, ch, acc[0], accu);
#else
                    acc[0] += q4kx_swar(dm4 * dx4, qwd, al, cl, ah, ch);
#endif
                    continue;
                }
                acc[0] += q4kx_dot(dm4 * dx4, qwd, al, cl, ah, ch);
#ifdef GATEUP
                accu += q4kx_dot(dmu * dx4, qwu, al, cl, ah, ch);
#endif
                continue;
            }
#endif
#ifdef GATEUP
            if (XSG == 0u && STREAM != 0u && XQ == 0u) {
                q4k_stream2((rbv >> 2) + b * 8u, sv, (rbuv >> 2) + b * 8u, svu, c2, (xf[0] >> 2) + 64u * b + 16u * c2, acc[0], accu);
                continue;
            }
#endif
            vec4 dm4, lo[8], hv[8];
            q4k_sub(0u, (rbv >> 2) + b * 8u, sv, c2, dm4, lo, hv);
#ifdef GATEUP
            vec4 dmu, lou[8], hvu[8], xlo[8], xhi[8];
            q4k_sub(1u, (rbuv >> 2) + b * 8u, svu, c2, dmu, lou, hvu);
            const float dxl = xblk(xf[0], 8u * b + 2u * c2, xlo);   // one x fetch for both rows
            const float dxh = xblk(xf[0], 8u * b + 2u * c2 + 1u, xhi);
            const vec4 dx4 = vec4(dxl, dxl, dxh, dxh);
            acc[0] += q4k_dot(dm4 * dx4, lo, hv, xlo, xhi);
            accu += q4k_dot(dmu * dx4, lou, hvu, xlo, xhi);
#else
            for (uint m = 0; m < MAXM; m++) {
                if (m >= M) break;
                vec4 xlo[8], xhi[8];
                const float dxl = xblk(xf[m], 8u * b + 2u * c2, xlo);
                const float dxh = xblk(xf[m], 8u * b + 2u * c2 + 1u, xhi);
                acc[m] += q4k_dot(dm4 * vec4(dxl, dxl, dxh, dxh), lo, hv, xlo, xhi);
            }
#endif
        }
    }
#elif defined(W_Q6_K)
    // super-block of 256: quant part ql[128], qh[64], i8 scales[16] (52 words), scale part f16 d.
    // Half n2 (128 values, chunks r = 0..3 of 32): value l of chunk r is
    // (nibble r/2 of ql[64 n2 + 32 (r&1) + l] | (qh[32 n2 + l] >> 2r & 3) << 4) - 32, scaled by
    // d sc[8 n2 + 2r + l/16] (wquant.glsl). The two scales of a chunk multiply its two partial sums.
    const uint nb = p.K >> 8;
    const uint sw = rbv + nb * 52u;
#ifdef GATEUP
    const uint swu = rbuv + nb * 52u;
#endif
    for (uint b = 0; b < nb; b++) {
        const uint qb = rbv + b * 52u;
        const float d = unpackHalf2x16(wrd1s(0u, sw + (b >> 1)) >> ((b & 1u) * 16u)).x;
#ifdef GATEUP
        const uint qbu = rbuv + b * 52u;
        const float du = unpackHalf2x16(wrd1s(1u, swu + (b >> 1)) >> ((b & 1u) * 16u)).x;
#endif
        for (uint n2 = 0; n2 < 2u; n2++) {
            uint la[8], lb[8], hb[8], scw0, scw1;
            q6k_half(0u, qb, n2, la, lb, hb, scw0, scw1);
#ifdef GATEUP
            uint lau[8], lbu[8], hbu[8], scu0, scu1;
            q6k_half(1u, qbu, n2, lau, lbu, hbu, scu0, scu1);
#endif
            for (uint r = 0; r < 4u; r++) {
#ifdef WTEX
                if (XQ != 0u && MAXM == 1u) {       // int8 x, one column: x block 8b + 4 n2 + r
                    if (r == 0u) xs = xq_scales(xf[0], 8u * b + 4u * n2);
                    uvec4 a, c;
                    xq_words(xf[0], 8u * b + 4u * n2 + r, a, c);
                    if (SWAR != 0u) {               // x's pairs once for both rows (GATEUP / PAIR)
                        ivec2 xp[8];
                        ivec4 st;
                        q6kx_xpairs(a, c, xp, st);
                        acc[0] = q6kx_swar(la, lb, hb, r, q6k_d01(scw0, scw1, d, r) * xs[r], xp, st, acc[0]);
#ifdef GATEUP
                        accu = q6kx_swar(lau, lbu, hbu, r, q6k_d01(scu0, scu1, du, r) * xs[r], xp, st, accu);
#endif
                        continue;
                    }
                    acc[0] = q6kx_acc(la, lb, hb, r, q6k_d01(scw0, scw1, d, r) * xs[r], a, c, acc[0]);
#ifdef GATEUP
                    accu = q6kx_acc(lau, lbu, hbu, r, q6k_d01(scu0, scu1, du, r) * xs[r], a, c, accu);
#endif
                    continue;
                }
#endif
#ifdef GATEUP
                if (XSG == 0u && STREAM != 0u && XQ == 0u) {
                    q6k_stream2(la, lb, hb, scw0, scw1, d, lau, lbu, hbu, scu0, scu1, du, r,
                                (xf[0] >> 2) + 64u * b + 32u * n2 + 8u * r, acc[0], accu);
                    continue;
                }
#endif
                vec2 d01;
                vec4 qv[8];
                q6k_chunk(la, lb, hb, scw0, scw1, d, r, d01, qv);
#ifdef GATEUP
                vec2 du01;
                vec4 qvu[8], xv[8];
                q6k_chunk(lau, lbu, hbu, scu0, scu1, du, r, du01, qvu);
                const float dx = xblk(xf[0], 8u * b + 4u * n2 + r, xv);   // one x fetch for both rows
                acc[0] = q6k_acc(qv, d01 * dx, xv, acc[0]);
                accu = q6k_acc(qvu, du01 * dx, xv, accu);
#else
                for (uint m = 0; m < MAXM; m++) {
                    if (m >= M) break;
                    vec4 xv[8];
                    const float dx = xblk(xf[m], 8u * b + 4u * n2 + r, xv);
                    acc[m] = q6k_acc(qv, d01 * dx, xv, acc[m]);
                }
#endif
            }
        }
    }
#elif defined(W_Q6_K8)
    // super-block of 256 (device-only, made from Q6_K): quant part q[256] (16 uvec4s: value l of chunk c, 32 values,
    // is q[32c + l] - 32) and i8 scales[16] (one uvec4), 17 uvec4s; scale part f16 d. Q6_K's sums chunk by chunk in
    // its order, so the row's sum is Q6_K's bit for bit; only the values' reads differ (2 uvec4s a chunk, as they are)
    const uint nb = p.K >> 8;
    const uint sw = rbv + nb * 68u;
#ifdef GATEUP
    const uint swu = rbuv + nb * 68u;
#endif
    for (uint b = 0; b < nb; b++) {
        const uint q4 = (rbv >> 2) + b * 17u;
        const float d = unpackHalf2x16(wrd1s(0u, sw + (b >> 1)) >> ((b & 1u) * 16u)).x;
        const uvec4 scv = wrd4s(0u, q4 + 16u);
#ifdef GATEUP
        const uint q4u = (rbuv >> 2) + b * 17u;
        const float du = unpackHalf2x16(wrd1s(1u, swu + (b >> 1)) >> ((b & 1u) * 16u)).x;
        const uvec4 scvu = wrd4s(1u, q4u + 16u);
#endif
        for (uint c = 0; c < 8u; c++) {
            // q6k_d01 with chunk c's scale word (scales 2c, 2c + 1: half c & 1 of word c / 2)
            const vec2 d01 = q6k_d01(scv[c >> 1u], scv[c >> 1u], d, c & 1u);
            const uvec4 u0 = wrd4s(0u, q4 + 2u * c), u1 = wrd4s(0u, q4 + 2u * c + 1u);
#ifdef GATEUP
            const vec2 du01 = q6k_d01(scvu[c >> 1u], scvu[c >> 1u], du, c & 1u);
            const uvec4 v0 = wrd4s(1u, q4u + 2u * c), v1 = wrd4s(1u, q4u + 2u * c + 1u);
#endif
#ifdef WTEX
            if (XQ != 0u && MAXM == 1u) {           // int8 x, one column: x block 8b + c
                if ((c & 3u) == 0u) xs = xq_scales(xf[0], 8u * b + c);
                uvec4 a, cx;
                xq_words(xf[0], 8u * b + c, a, cx);
                if (SWAR != 0u) {                   // x's pairs once for both rows (GATEUP / PAIR)
                    ivec2 xp[8];
                    ivec4 st;
                    q6kx_xpairs(a, cx, xp, st);
                    acc[0] = q6k8x_swar(u0, u1, d01 * xs[c & 3u], xp, st, acc[0]);
#ifdef GATEUP
                    accu = q6k8x_swar(v0, v1, du01 * xs[c & 3u], xp, st, accu);
#endif
                    continue;
                }
                acc[0] = q6k8x_acc(u0, u1, d01 * xs[c & 3u], a, cx, acc[0]);
#ifdef GATEUP
                accu = q6k8x_acc(v0, v1, du01 * xs[c & 3u], a, cx, accu);
#endif
                continue;
            }
#endif
            vec4 qv[8];
            q6k8_vals(u0, u1, qv);
#ifdef GATEUP
            vec4 qvu[8], xv[8];
            q6k8_vals(v0, v1, qvu);
            const float dx = xblk(xf[0], 8u * b + c, xv);   // one x fetch for both rows
            acc[0] = q6k_acc(qv, d01 * dx, xv, acc[0]);
            accu = q6k_acc(qvu, du01 * dx, xv, accu);
#else
            for (uint m = 0; m < MAXM; m++) {
                if (m >= M) break;
                vec4 xv[8];
                const float dx = xblk(xf[m], 8u * b + c, xv);
                acc[m] = q6k_acc(qv, d01 * dx, xv, acc[m]);
            }
#endif
        }
    }
#else
    // the other types through wchunk.glsl; quantised ones interleaved like Q4_K (rbv: addresses from the row's start)
#if defined(W_QUANT)
#define WROW(plain, ilv) ilv
#else
#define WROW(plain, ilv) plain
#endif
    const uint nch = p.K / WCH;
    for (uint c = 0; c < nch; c++) {
        vec4 wv[WCH / 4u];
#ifdef GATEUP
        vec4 wvu[WCH / 4u];
        wsel = 0u;
        wchunk(WROW(rb, rbv), c, wv);
        wsel = 1u;
        wchunk(WROW(rbu, rbuv), c, wvu);
        float a = 0.0, au = 0.0;
#ifdef W_QUANT
        vec4 xv[8];
        const float dx = xblk(xf[0], c, xv);        // one x fetch for both rows
        for (uint q = 0; q < 8u; q++) {
            a += dot(wv[q], xv[q]);
            au += dot(wvu[q], xv[q]);
        }
        a *= dx;
        au *= dx;
#else
        for (uint q = 0; q < WCH / 4u; q++) {
            const vec4 xq = xld(xf[0] + c * WCH + 4u * q);
            a += dot(wv[q], xq);
            au += dot(wvu[q], xq);
        }
#endif
        acc[0] += a;
        accu += au;
#else
        wchunk(WROW(rb, rbv), c, wv);
        for (uint m = 0; m < MAXM; m++) {
            if (m >= M) break;
            float a = 0.0;
#ifdef W_QUANT
            vec4 xv[8];
            const float dx = xblk(xf[m], c, xv);
            for (uint q = 0; q < 8u; q++) a += dot(wv[q], xv[q]);
            a *= dx;
#else
            for (uint q = 0; q < WCH / 4u; q++) a += dot(wv[q], xld(xf[m] + c * WCH + 4u * q));
#endif
            acc[m] += a;
        }
#endif
    }
#endif

    if (!live) return;
#if defined(PAIR) && defined(MUL_MAT_ID)
    y[ybase + n] = acc[0];
    if (n + NL < p.N) y[ybase + n + NL] = accu;
#elif defined(PAIR)
    y[p.oy + n] = p.has_bias != 0u ? acc[0] + bias[p.ob + n] : acc[0];
    if (n + NL < p.N) y[p.oy + n + NL] = p.has_bias != 0u ? accu + bias[p.ob + n + NL] : accu;
#elif defined(GATEUP)
    const float o = (ACT == 0u ? silu(acc[0]) : gelu_tanh(acc[0])) * accu;
#ifdef MUL_MAT_ID
    y[ybase + n] = o;
#else
    y[p.oy + n] = o;
#endif
#elif defined(MUL_MAT_ID)
    y[ybase + n] = acc[0];
#else
    for (uint m = 0; m < MAXM; m++) {
        if (m >= M) break;
        float v = acc[m];
        if (p.has_bias != 0u) v += bias[p.ob + n];
        y[p.oy + m * p.ys1 + n] = v;
    }
#endif
}
#endif
