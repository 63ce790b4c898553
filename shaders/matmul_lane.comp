#version 450
// variants: id_tex_{w}:MUL_MAT_ID,WTEX tex_{w}:WTEX
// matmul_lane.comp — the GEMM for CPU devices (lavapipe), without shared
// memory or barriers, in two variants: mul_mat_id's expert GEMM (MUL_MAT_ID;
// prefill: tokens grouped per expert by moe_group.comp),
// y[entry][N] = x[entry][K] · w[e][N][K]ᵀ, and the dense GEMM
// (vk_op_matmul), y[M][N] = x[M][K] · w[N][K]ᵀ (+ bias). A workgroup (one
// subgroup) owns TM rows of x (entries of one expert, or TM consecutive rows)
// and each invocation TN rows of w, which it dequantises 32 values at a time
// (wchunk.glsl) straight from texel-buffer views of the weights and dots with
// the TM rows of x, read through one more view: each lane fetches x itself
// (XSG = 0, the default: a texel fetch at the same address in every lane is
// one gathered load) or a subgroup shares each read (XSG > 0, xsub.glsl;
// gallivm's subgroupBroadcast is a scalar loop over the lanes).
//
// Why: gallivm turns a shared-memory or storage-buffer load at a per-lane
// address into a scalar loop over the lanes (docs/LAVAPIPE_QUIRKS.md), and
// matmul.comp's inner loop reads (TM + TN) / (TM TN) shared values per
// multiply-add that way; a texel fetch of 16 bytes is one gathered load for
// all lanes. Here every weight value is read once per TM rows of x and every
// x value once per subgroup per TN rows of w, with nothing between them but
// registers (and the stack LLVM spills to, which is plain SoA vectors).
//
// Compile cost: llvmpipe compiles a pipeline at its first dispatch, and a
// body of TM x TN x 32 unrolled multiply-adds a chunk took it seconds a
// pipeline (test_op_quant 13 s -> 335 s, docs/PERFORMANCE.md section 11). The
// loop over the TM rows of x is therefore a real loop whose body is TN x 32
// multiply-adds: the row it works on is always slot 0 of acc / xrow, which
// rotate by one slot after each row, so that no array is indexed at run time
// (a run-time index of a register array is a per-lane gather in gallivm) and
// after TM rows every slot is back in place.
//
// UNR (spec constant 4; F32/F16/BF16: the default of both uses there,
// vk_op_mm.h mm_gemm_lane_dense, mm_gemm_lane): that rotation is not free in gallivm, which
// keeps a value written inside a loop in memory and blends every write with
// the old value under the execution mask (load, blend, store), 128 such moves
// per 512 multiply-adds at TM 8 x TN 16 (read from the JIT code with
// bench/lavapipe_jit.sh). With the 8-value chunks of the plain types the TM
// rows can be unrolled instead (TM x TN x 8 multiply-adds a turn, each acc
// written once per 8): the vision towers' f16 GEMMs ran ~1.3-1.5x faster
// (docs/PERFORMANCE.md section 21). Same sums in the same order (k ascending).
// QUNR: UNR with quantised weights (vk_op_mm.h mm_lane_qunr): the 32-value
// chunk of each of the TN rows is dequantised once (wchunk.glsl) and the TM
// rows of x are unrolled against it, TM x TN x 32 multiply-adds a turn, so the
// tile is kept small (TM x TN <= 64: that body is the f16 tile's 2048) for the
// compile cost above. Same sums in the same order as the rotating loop.
//
// XQ (spec id 5; Q4_K only; vk_op_mm.h mm_gemm_xq): x read as vk_op_quant_x's int8 blocks of 32 with an f32
// scale each (the x offsets and strides count its words), 2 texel fetches a block where f32 took 8, and the
// sums exact integers by SWAR (two products a 32-bit multiply in 16-bit fields, swar.glsl; matvec_lane.comp's
// q4kx_swar is the one-column form): each row of w's nibble pairs are built once per 64 values for the TM rows
// of x, each row of x's pairs once for the TN rows of w. lavapipe's JIT has no FMA: the f32 path costs a float
// multiply and add per product, this one an integer multiply and add per two.
//
// Same sums as matmul.comp: acc = fma(x, w, acc) over k in order, from the
// same dequantised values, so the results are bit-identical to it.
//
// Epilogue (dense only): p.has_bias is a set of bits, 1 the bias, 2 MM_EPI_ACC
// (y += the product: a residual add), 4 MM_EPI_GELU (y = gelu_tanh(product +
// bias)); the host sets 2 and 4 on this kernel only (vk_op_matmul_ex).
//
// Bindings and push constants are matmul.comp's tex variants' (binding 0 is
// unused; binding 1 the R32G32B32A32 view of w; MUL_MAT_ID: 5 the R32 view of
// w, 6 a R32G32B32A32 view of x; dense: 3 the bias, 4 the R32 view of w, 5 the
// view of x). Needs p.fast (whole chunks of the weight type: K % 32 == 0 for
// the quantised types, K % 8 == 0 for F32/F16/BF16, whose last K % 32 values
// run as 8-value chunks; aligned rows; the host checks). MUL_MAT_ID: tiles of
// TM rows (moe_group.comp's BM), as in matmul.comp.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 8;          // rows of x a workgroup owns
layout(constant_id = 2) const uint TN = 4;          // rows of w an invocation owns
layout(constant_id = 3) const uint XSG = 0;         // subgroup size for the shared x reads (xsub.glsl); 0: each lane reads x
layout(constant_id = 4) const uint UNR = 0;         // 1: the TM rows unrolled, no rotation (8-value chunks for F32/F16/BF16, QUNR for quantised)
layout(constant_id = 5) const uint XQ = 0;          // Q4_K: 1: x is int8 (vk_op_quant_x's rows; XQ at the top)
layout(constant_id = 6) const uint ILV = 0;         // quantised w: rows interleaved in groups of ILV (WRD below); 0: plain rows
#ifndef WTEX
#error "matmul_lane.comp reads w and x through texel views only"
#endif

layout(binding = 1) uniform usamplerBuffer wt4;     // R32G32B32A32_UINT
#ifdef MUL_MAT_ID
layout(binding = 5) uniform usamplerBuffer wt1;     // R32_UINT
layout(binding = 6) uniform usamplerBuffer xt4;     // x as R32G32B32A32_UINT
layout(std430, binding = 3) readonly buffer Meta { uint meta[]; };
layout(std430, binding = 4) readonly buffer List { uint list[]; };
layout(push_constant) uniform P {
    uint N, K, nslot;         // nslot = k (slots per token)
    uint xs_slot, xs_tok;     // x strides in floats (xs_slot = 0: shared input)
    uint ws1, ws2;            // w row / expert strides in units
    uint ys_slot, ys_tok;     // y strides in floats
    uint ox, ow, oy, ometa, olist;
    uint e0, e1, E;           // experts [e0, e1) are bound (w starts at e0)
    uint fast;
} p;
#else
layout(binding = 4) uniform usamplerBuffer wt1;     // R32_UINT
layout(binding = 5) uniform usamplerBuffer xt4;     // x as R32G32B32A32_UINT
layout(std430, binding = 3) readonly buffer B { float bias[]; };
layout(push_constant) uniform P {
    uint M, N, K;
    uint xs1, ws1, ys1;       // row strides: floats, w units, floats
    uint ox, ow, oy, ob;
    uint has_bias;
    uint fast;
} p;
#endif
// ILV (mvk_tensor.ilv, docs/QUANT_LAYOUTS.md "Interleaved rows"; quantised types only): the row being read
// is addressed from 0 (W32J) and its uvec4 i sits at ilv_b4 + ilv_st i, word i at 4 (ilv_b4 + ilv_st (i / 4)) + i % 4
// (ilv_b4: its first uvec4, ilv_st: its group's rows, as matvec_lane.comp's row4). ILV = 0: the plain addresses.
uint ilv_b4 = 0u, ilv_st = 1u;
#define WRD(i) texelFetch(wt1, int(ILV == 0u ? (i) : 4u * (ilv_b4 + ilv_st * ((i) >> 2)) + ((i) & 3u))).x
#define WRD4(i) texelFetch(wt4, int(ILV == 0u ? (i) : ilv_b4 + ilv_st * (i)))
#define XRD4(i) uintBitsToFloat(texelFetch(xt4, int(i)))
layout(std430, binding = 2) buffer Y { float y[]; };   // dense with MM_EPI_ACC: read too (the residual)

#define W_ROW_K p.K
#define WQ_LUT_SELECT   // the 4-bit tables by selects (wquant.glsl): a CPU-device kernel
#include "wtypes.glsl"
#include "wchunk.glsl"
#include "xsub.glsl"
#include "act.glsl"
#include "swar.glsl"

// values 32c .. 32c + 31 of the row starting at unit ru
void w32(uint ru, uint c, out vec4 v[8]) {
#ifdef W_QUANT
    wchunk(ru, c, v);
#else
    [[unroll]] for (uint h = 0; h < 32u / WCH; h++) {
        vec4 t[WCH / 4u];
        wchunk(ru, c * (32u / WCH) + h, t);
        [[unroll]] for (uint q = 0; q < WCH / 4u; q++) v[h * (WCH / 4u) + q] = t[q];
    }
#endif
}

void main() {
    const uint nt = gl_WorkGroupID.y * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    const uint n0 = nt * TN;                        // this invocation's rows of w: n0 .. n0 + TN - 1
    uint xrow[TM];                                  // float offset of each row of x (rows past the tile's: its first)
#ifdef MUL_MAT_ID
    // this tile's expert, as in matmul.comp: tile offsets are meta[E+1 .. 2E+1] (uniform in the workgroup)
    const uint tbase = p.ometa + p.E + 1u;
    const uint gt = meta[tbase + p.e0] + gl_WorkGroupID.x;
    if (gt >= meta[tbase + p.e1]) return;
    uint lo = p.e0, hi = p.e1 - 1u;                 // largest e with tstart[e] <= gt
    while (lo < hi) {
        uint mid = (lo + hi + 1u) >> 1;
        if (meta[tbase + mid] <= gt) lo = mid; else hi = mid - 1u;
    }
    const uint e = lo;
    const uint r0 = meta[p.ometa + e] + (gt - meta[tbase + e]) * TM;   // first list row (< r1)
    const uint r1 = meta[p.ometa + e + 1u];
    const uint wbase = p.ow + (e - p.e0) * p.ws2;
    [[unroll]] for (uint i = 0; i < TM; i++) {
        const uint r = list[p.olist + (r0 + i < r1 ? r0 + i : r0)];
        xrow[i] = p.ox + (r % p.nslot) * p.xs_slot + (r / p.nslot) * p.xs_tok;
    }
#else
    const uint r0 = gl_WorkGroupID.x * TM;          // rows r0 .. r1 - 1 of x and y
    const uint r1 = min(r0 + TM, p.M);
    const uint wbase = p.ow;
    [[unroll]] for (uint i = 0; i < TM; i++) xrow[i] = p.ox + (r0 + i < r1 ? r0 + i : r0) * p.xs1;
#endif
    // rows of w past N read row N - 1 (every lane stays active for x32) and store nothing
    uint wrow[TN];
    [[unroll]] for (uint j = 0; j < TN; j++) wrow[j] = wbase + min(n0 + j, p.N - 1u) * p.ws1;
    // ILV: each row's first uvec4 (its group's base plus its place in the group) and its group's rows (WRD at the top)
    uint wb4[TN], wst[TN];
    [[unroll]] for (uint j = 0; j < TN; j++) {
        const uint r = min(n0 + j, p.N - 1u), g0 = ILV == 0u ? r : r - r % ILV;
        wst[j] = ILV == 0u ? 1u : min(ILV, p.N - g0);
        wb4[j] = ((wbase + g0 * p.ws1) >> 2) + (r - g0);
    }
// values 32c .. 32c + 31 of row j of the invocation's TN rows into v (ILV: through wb4 / wst, see WRD at the top)
#define W32J(j, c, v) { ilv_b4 = wb4[j]; ilv_st = wst[j]; w32(ILV == 0u ? wrow[j] : 0u, c, v); }
// row j's first uvec4 for WRD4 after ILV_ROW(j) (ILV: addresses from the row's start)
#define ILV_ROW(j) { ilv_b4 = wb4[j]; ilv_st = wst[j]; }
#define WROW4(j) (ILV == 0u ? wrow[j] >> 2 : 0u)

    float acc[TM][TN];                              // acc[i][j]: row i of the tile (rotating, see the top), row n0 + j of w
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

    // LANE_PASS(NQ, xv): each row of x in turn in slot 0 (its NQ vec4s read into xv), then one rotation (see
    // the top): TN x 4 NQ multiply-adds a pass against wv[j][0 .. NQ - 1]
#define LANE_PASS(NQ, XREAD)                                                    \
    [[dont_unroll]] for (uint i = 0; i < TM; i++) {                             \
        vec4 xv[NQ];                                                            \
        XREAD;                                                                  \
        float a0[TN];                                                           \
        [[unroll]] for (uint j = 0; j < TN; j++) {                              \
            float a = acc[0][j];                                                \
            [[unroll]] for (uint q = 0; q < NQ; q++) {                          \
                a = fma(xv[q].x, wv[j][q].x, a);                                \
                a = fma(xv[q].y, wv[j][q].y, a);                                \
                a = fma(xv[q].z, wv[j][q].z, a);                                \
                a = fma(xv[q].w, wv[j][q].w, a);                                \
            }                                                                   \
            a0[j] = a;                                                          \
        }                                                                       \
        const uint x0 = xrow[0];                                                \
        [[unroll]] for (uint t = 0; t + 1u < TM; t++) {                         \
            xrow[t] = xrow[t + 1u];                                             \
            [[unroll]] for (uint j = 0; j < TN; j++) acc[t][j] = acc[t + 1u][j]; \
        }                                                                       \
        xrow[TM - 1u] = x0;                                                     \
        [[unroll]] for (uint j = 0; j < TN; j++) acc[TM - 1u][j] = a0[j];        \
    }

#ifndef W_QUANT
    if (UNR != 0u) {
        // F32/F16/BF16, UNR: one 8-value chunk (wchunk.glsl) a turn, the TM rows of x unrolled, so that acc is
        // indexed by constants only and needs no rotation (see the top)
        for (uint c = 0; c < p.K / WCH; c++) {
            vec4 wv[TN][2];
            [[unroll]] for (uint j = 0; j < TN; j++) wchunk(wrow[j], c, wv[j]);
            [[unroll]] for (uint i = 0; i < TM; i++) {
                const vec4 x0 = XRD4((xrow[i] >> 2) + 2u * c), x1 = XRD4((xrow[i] >> 2) + 2u * c + 1u);
                [[unroll]] for (uint j = 0; j < TN; j++) {
                    float a = acc[i][j];
                    a = fma(x0.x, wv[j][0].x, a);
                    a = fma(x0.y, wv[j][0].y, a);
                    a = fma(x0.z, wv[j][0].z, a);
                    a = fma(x0.w, wv[j][0].w, a);
                    a = fma(x1.x, wv[j][1].x, a);
                    a = fma(x1.y, wv[j][1].y, a);
                    a = fma(x1.z, wv[j][1].z, a);
                    a = fma(x1.w, wv[j][1].w, a);
                    acc[i][j] = a;
                }
            }
        }
    } else {
#else
#ifdef W_Q4_K
    if (XQ != 0u) {
        // Q4_K with int8 x (XQ at the top): one sub-block pair (64 values: x blocks jx, jx + 1) a turn. Per row j of
        // w its nibble pairs wp (swar.glsl wswar) and dm = (d sc0, dmin m0, d sc1, dmin m1) once; per row i of x,
        // unrolled, its 16 words fetched (4 texels) and packed (xswar) once with their sums z, then TN x 8 integer
        // multiply-adds (two products each) into t, exact: L + M 2^16 per field with |L| <= 8 * 15 * 127, |M| <=
        // 16 * 15 * 127 < 2^15 (matvec_lane.comp's SWAR bound: 8 words an accumulator; quant_x never gives -128),
        // t starting at 2^15 so that M = t >> 16 (arithmetic). Row layout as matvec_lane.comp's Q4_K: the quant
        // parts (8 texels a super-block), then the scale parts (one texel each).
        const uint nsb = p.K >> 8;
        for (uint b = 0; b < nsb; b++) {
            uvec4 sv[TN];
            [[unroll]] for (uint j = 0; j < TN; j++) {
                ILV_ROW(j)
                sv[j] = WRD4(WROW4(j) + nsb * 8u + b);
            }
            for (uint c2 = 0; c2 < 4u; c2++) {
                vec4 dm[TN];
                ivec4 wp[TN][8];
                [[unroll]] for (uint j = 0; j < TN; j++) {
                    const uint s0 = sv[j].y, s1 = sv[j].z, s2 = sv[j].w;   // scales[0..3], [4..7], [8..11]
                    uint sc0, mn0, sc1, mn1;
                    // ggml's get_scale_min_k4 for sub-blocks 2 c2, 2 c2 + 1 (matvec_lane.comp q4k_words)
                    if (c2 < 2u) {
                        const uint sa = c2 == 0u ? s0 : s0 >> 16, sb = c2 == 0u ? s1 : s1 >> 16;
                        sc0 = sa & 63u; sc1 = (sa >> 8) & 63u;
                        mn0 = sb & 63u; mn1 = (sb >> 8) & 63u;
                    } else {
                        const uint hi = c2 == 2u ? s2 : s2 >> 16;
                        const uint lo_sc = c2 == 2u ? s0 : s0 >> 16;
                        const uint lo_mn = c2 == 2u ? s1 : s1 >> 16;
                        sc0 = (hi & 15u) | (((lo_sc >> 6) & 3u) << 4);
                        sc1 = ((hi >> 8) & 15u) | (((lo_sc >> 14) & 3u) << 4);
                        mn0 = ((hi >> 4) & 15u) | (((lo_mn >> 6) & 3u) << 4);
                        mn1 = ((hi >> 12) & 15u) | (((lo_mn >> 14) & 3u) << 4);
                    }
                    const vec2 dd = unpackHalf2x16(sv[j].x);
                    dm[j] = vec4(dd.x * float(sc0), dd.y * float(mn0), dd.x * float(sc1), dd.y * float(mn1));
                    const uint q4 = WROW4(j) + b * 8u + 2u * c2;
                    ILV_ROW(j)
                    const uvec4 qa = WRD4(q4), qc = WRD4(q4 + 1u);
                    wp[j][0] = wswar(qa.x); wp[j][1] = wswar(qa.y); wp[j][2] = wswar(qa.z); wp[j][3] = wswar(qa.w);
                    wp[j][4] = wswar(qc.x); wp[j][5] = wswar(qc.y); wp[j][6] = wswar(qc.z); wp[j][7] = wswar(qc.w);
                }
                const uint jx = 8u * b + 2u * c2;       // x's blocks: jx (low nibbles), jx + 1 (high)
                [[unroll]] for (uint i = 0; i < TM; i++) {
                    const uint xt = xrow[i] >> 2;       // the row's first texel (rows of 4-word multiples)
                    const uvec4 al = texelFetch(xt4, int(xt + 2u * jx)), cl = texelFetch(xt4, int(xt + 2u * jx + 1u));
                    const uvec4 ah = texelFetch(xt4, int(xt + 2u * jx + 2u)), ch = texelFetch(xt4, int(xt + 2u * jx + 3u));
                    const uvec4 sc = texelFetch(xt4, int(((xrow[i] + (p.K >> 2)) >> 2) + (jx >> 2)));   // scales of 4(jx/4) ..
                    const vec2 dx = uintBitsToFloat((c2 & 1u) == 0u ? sc.xy : sc.zw);
                    ivec4 xp[8];
                    xp[0] = xswar(al.x, ah.x); xp[1] = xswar(al.y, ah.y); xp[2] = xswar(al.z, ah.z); xp[3] = xswar(al.w, ah.w);
                    xp[4] = xswar(cl.x, ch.x); xp[5] = xswar(cl.y, ch.y); xp[6] = xswar(cl.z, ch.z); xp[7] = xswar(cl.w, ch.w);
                    ivec2 sx = xp[0].xz + xp[0].yw;
                    [[unroll]] for (uint k = 1; k < 8u; k++) sx += xp[k].xz + xp[k].yw;
                    // Σx of the low block, of the high one: the two 16-bit fields' sum (each <= 16 * 127)
                    const vec2 z = vec2(((sx << 16) >> 16) + ((sx + 0x8000) >> 16));
                    [[unroll]] for (uint j = 0; j < TN; j++) {
                        ivec4 t = ivec4(0x8000);
                        [[unroll]] for (uint k = 0; k < 8u; k++) t += wp[j][k] * xp[k];
                        const ivec4 m = t >> 16;
                        acc[i][j] += dx.x * (dm[j].x * float(m.x + m.y) - dm[j].y * z.x) +
                                     dx.y * (dm[j].z * float(m.z + m.w) - dm[j].w * z.y);
                    }
                }
            }
        }
    } else
#endif
    if (UNR != 0u) {
        // quantised weights, UNR (QUNR at the top): one 32-value chunk of each of the TN rows dequantised a turn,
        // then the TM rows of x unrolled, each row's 8 x vec4s fetched together and its TN accumulators
        // taking 32 multiply-adds each: acc indexed by constants only, nothing rotates
        const uint nchu = p.K >> 5;
        for (uint c = 0; c < nchu; c++) {
            vec4 wv[TN][8];
            [[unroll]] for (uint j = 0; j < TN; j++) W32J(j, c, wv[j]);
            [[unroll]] for (uint i = 0; i < TM; i++) {
                vec4 xv[8];
                [[unroll]] for (uint q = 0; q < 8u; q++) xv[q] = XRD4((xrow[i] >> 2) + 8u * c + q);
                [[unroll]] for (uint j = 0; j < TN; j++) {
                    float a = acc[i][j];
                    [[unroll]] for (uint q = 0; q < 8u; q++) {
                        a = fma(xv[q].x, wv[j][q].x, a);
                        a = fma(xv[q].y, wv[j][q].y, a);
                        a = fma(xv[q].z, wv[j][q].z, a);
                        a = fma(xv[q].w, wv[j][q].w, a);
                    }
                    acc[i][j] = a;
                }
            }
        }
    } else {
#endif
    const uint nch = p.K >> 5;
    for (uint c = 0; c < nch; c++) {
        vec4 wv[TN][8];
        [[unroll]] for (uint j = 0; j < TN; j++) W32J(j, c, wv[j]);
        LANE_PASS(8u, x32((xrow[0] >> 2) + 8u * c, xv))
    }
#ifndef W_QUANT
    // F32/F16/BF16: the last K % 32 values, one 8-value chunk (wchunk.glsl) at a time; x read per lane
    for (uint c = nch * (32u / WCH); c < p.K / WCH; c++) {
        vec4 wv[TN][2];
        [[unroll]] for (uint j = 0; j < TN; j++) wchunk(wrow[j], c, wv[j]);
        LANE_PASS(2u, xv[0] = XRD4((xrow[0] >> 2) + 2u * c); xv[1] = XRD4((xrow[0] >> 2) + 2u * c + 1u))
    }
#endif
    }

    // after every pass the slots are in place again: acc[i] is row r0 + i of the tile
    [[unroll]] for (uint i = 0; i < TM; i++) {
        if (r0 + i >= r1) continue;
#ifdef MUL_MAT_ID
        const uint r = list[p.olist + r0 + i];
        const uint ybase = p.oy + (r % p.nslot) * p.ys_slot + (r / p.nslot) * p.ys_tok;
#else
        const uint ybase = p.oy + (r0 + i) * p.ys1;
#endif
        [[unroll]] for (uint j = 0; j < TN; j++) {
            const uint n = n0 + j;
#ifdef MUL_MAT_ID
            if (n < p.N) y[ybase + n] = acc[i][j];
#else
            if (n < p.N) {
                // epilogue (dense, p.has_bias bits; vk_op_matmul_ex): + bias, then gelu_tanh (MM_EPI_GELU) or
                // + the old y (MM_EPI_ACC: the residual add), each in the store instead of a dispatch of its own
                float v = (p.has_bias & 1u) != 0u ? acc[i][j] + bias[p.ob + n] : acc[i][j];
                if ((p.has_bias & 4u) != 0u) v = gelu_tanh(v);
                if ((p.has_bias & 2u) != 0u) v += y[ybase + n];
                y[ybase + n] = v;
            }
#endif
        }
    }
}
