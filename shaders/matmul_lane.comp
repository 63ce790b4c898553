#version 450
// variants: id_tex_{w}:MUL_MAT_ID,WTEX
// matmul_lane.comp — mul_mat_id's expert GEMM (prefill: tokens grouped per
// expert by moe_group.comp), y[entry][N] = x[entry][K] · w[e][N][K]ᵀ, for CPU
// devices (lavapipe), without shared memory or barriers: a workgroup (one
// subgroup) owns TM rows of x (entries of one expert) and each invocation
// TN rows of w, which it dequantises 32 values at a time (wchunk.glsl)
// straight from texel-buffer views of the weights and dots with the TM rows
// of x, read through one more view, a subgroup sharing each read (xsub.glsl).
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
// Same sums as matmul.comp: acc = fma(x, w, acc) over k in order, from the
// same dequantised values, so the results are bit-identical to it.
//
// Bindings and push constants are matmul.comp's id_tex variants' (binding 1
// R32G32B32A32 and 5 R32 views of w, 6 a R32G32B32A32 view of x; binding 0 is
// unused). Needs p.fast (whole 32-value chunks: K % 32 == 0, aligned rows;
// the host checks). Tiles of TM rows (moe_group.comp's BM), as in matmul.comp.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 8;          // rows of x a workgroup owns
layout(constant_id = 2) const uint TN = 4;          // rows of w an invocation owns
layout(constant_id = 3) const uint XSG = 0;         // subgroup size for the shared x reads (xsub.glsl); 0: each lane reads x
#ifndef MUL_MAT_ID
#error "matmul_lane.comp is mul_mat_id's kernel only (the dense GEMM keeps matmul.comp)"
#endif

layout(binding = 1) uniform usamplerBuffer wt4;     // R32G32B32A32_UINT
layout(binding = 5) uniform usamplerBuffer wt1;     // R32_UINT
layout(binding = 6) uniform usamplerBuffer xt4;     // x as R32G32B32A32_UINT
#define WRD(i) texelFetch(wt1, int(i)).x
#define WRD4(i) texelFetch(wt4, int(i))
#define XRD4(i) uintBitsToFloat(texelFetch(xt4, int(i)))
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
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

#define W_ROW_K p.K
#include "wtypes.glsl"
#include "wchunk.glsl"
#include "xsub.glsl"

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
    uint xrow[TM];                                  // float offset of each row of x (rows past the expert's: its first)
    [[unroll]] for (uint i = 0; i < TM; i++) {
        const uint r = list[p.olist + (r0 + i < r1 ? r0 + i : r0)];
        xrow[i] = p.ox + (r % p.nslot) * p.xs_slot + (r / p.nslot) * p.xs_tok;
    }
    // rows of w past N read row N - 1 (every lane stays active for x32) and store nothing
    uint wrow[TN];
    [[unroll]] for (uint j = 0; j < TN; j++) wrow[j] = wbase + min(n0 + j, p.N - 1u) * p.ws1;

    float acc[TM][TN];                              // acc[i][j]: row i of the tile (rotating, see the top), row n0 + j of w
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

    const uint nch = p.K >> 5;
    for (uint c = 0; c < nch; c++) {
        vec4 wv[TN][8];
        [[unroll]] for (uint j = 0; j < TN; j++) w32(wrow[j], c, wv[j]);
        // each row of x in turn in slot 0, then one rotation (see the top): TN x 32 multiply-adds a pass
        [[dont_unroll]] for (uint i = 0; i < TM; i++) {
            vec4 xv[8];
            x32((xrow[0] >> 2) + 8u * c, xv);
            float a0[TN];
            [[unroll]] for (uint j = 0; j < TN; j++) {
                float a = acc[0][j];
                [[unroll]] for (uint q = 0; q < 8u; q++) {
                    a = fma(xv[q].x, wv[j][q].x, a);
                    a = fma(xv[q].y, wv[j][q].y, a);
                    a = fma(xv[q].z, wv[j][q].z, a);
                    a = fma(xv[q].w, wv[j][q].w, a);
                }
                a0[j] = a;
            }
            const uint x0 = xrow[0];
            [[unroll]] for (uint t = 0; t + 1u < TM; t++) {
                xrow[t] = xrow[t + 1u];
                [[unroll]] for (uint j = 0; j < TN; j++) acc[t][j] = acc[t + 1u][j];
            }
            xrow[TM - 1u] = x0;
            [[unroll]] for (uint j = 0; j < TN; j++) acc[TM - 1u][j] = a0[j];
        }
    }

    // after every pass the slots are in place again: acc[i] is list row r0 + i
    [[unroll]] for (uint i = 0; i < TM; i++) {
        if (r0 + i >= r1) continue;
        const uint r = list[p.olist + r0 + i];
        const uint ybase = p.oy + (r % p.nslot) * p.ys_slot + (r / p.nslot) * p.ys_tok;
        [[unroll]] for (uint j = 0; j < TN; j++) {
            const uint n = n0 + j;
            if (n < p.N) y[ybase + n] = acc[i][j];
        }
    }
}
