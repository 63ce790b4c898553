#version 450
// variants: {w} id_{w}:MUL_MAT_ID tex_{w}:WTEX id_tex_{w}:MUL_MAT_ID,WTEX
// matmul.comp — tiled GEMM y[N][M] = x[K][M] · w[K][N]ᵀ (+ bias), the
// classic shared-memory blocking (Volkov & Demmel, "Benchmarking GPUs to tune
// dense linear algebra", SC'08): a workgroup computes a BM x BN tile of y,
// staging BK-deep slices of x and w (dequantised to f32) in shared memory;
// each invocation accumulates a TM x TN register block in f32.
//
// MUL_MAT_ID: the grouped GEMM of the MoE expert matmul. Rows are (token,
// slot) entries grouped per expert by moe_group.comp: list[] holds the entry
// indices (slot j + k * token t) expert by expert, meta[] the per-expert row
// offsets [E+1] and tile offsets [E+1]. Every workgroup tile belongs to one
// expert; x rows are gathered and y rows scattered through the list.
//
// WTEX (tex_* / id_tex_*, CPU devices): the w tile loads read two
// texel-buffer views of the weights (binding 1: R32G32B32A32_UINT, binding 4,
// MUL_MAT_ID 5: R32_UINT) with texelFetch, which lavapipe gathers for all
// lanes at once (matvec_lane.comp, docs/PERFORMANCE.md "Texel buffers");
// Q8_0, Q4_K and Q6_K read 16-byte texels only (wquant.glsl). The vectorised
// x tile loads (p.fast) read x through one more R32G32B32A32 view (binding 5,
// MUL_MAT_ID 6; p.ox is then the offset in that view), the scalar ones
// binding 0.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

layout(std430, binding = 0) readonly buffer X { float x[]; };
#ifdef WTEX
layout(binding = 1) uniform usamplerBuffer wt4;     // R32G32B32A32_UINT
#ifdef MUL_MAT_ID
layout(binding = 5) uniform usamplerBuffer wt1;     // R32_UINT
#else
layout(binding = 4) uniform usamplerBuffer wt1;     // R32_UINT
#endif
#define WRD(i) texelFetch(wt1, int(i)).x
#define WRD4(i) texelFetch(wt4, int(i))
#ifdef MUL_MAT_ID
layout(binding = 6) uniform usamplerBuffer xt4;     // x as R32G32B32A32_UINT
#else
layout(binding = 5) uniform usamplerBuffer xt4;     // x as R32G32B32A32_UINT
#endif
#define XRD4(i) uintBitsToFloat(texelFetch(xt4, int(i)))
#else
#define XRD4(i) x4[i]
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer W4 { uvec4 w4[]; };
#endif
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
#ifdef MUL_MAT_ID
layout(std430, binding = 3) readonly buffer Meta { uint meta[]; };
layout(std430, binding = 4) readonly buffer List { uint list[]; };
layout(push_constant) uniform P {
    uint N, K, nslot;         // nslot = k (slots per token)
    uint xs_slot, xs_tok;     // x strides in floats (xs_slot = 0: shared input)
    uint ws1, ws2;            // w row / expert strides in units
    uint ys_slot, ys_tok;     // y strides in floats
    uint ox, ow, oy, ometa, olist;
    uint e0, e1, E;           // experts [e0, e1) are bound (w starts at e0)
    uint fast;                // K % BK == 0, aligned rows: vectorised tile loads (quantised w: always)
} p;
#else
layout(std430, binding = 3) readonly buffer B { float bias[]; };
layout(push_constant) uniform P {
    uint M, N, K;
    uint xs1, ws1, ys1;       // row strides: floats, w units, floats
    uint ox, ow, oy, ob;
    uint has_bias;
    uint fast;
} p;
#endif

#define W_ROW_K p.K
#include "wtypes.glsl"
#include "wchunk.glsl"

// tiles as vec4 along the row (m) / column (n) index: each invocation reads
// its TM (TN) contiguous values with TM/4 (TN/4) vector loads
shared vec4 xs[BK * BM / 4];
shared vec4 ws[BK * BN / 4];
#define XS(k, m) xs[(k) * (BM / 4u) + ((m) >> 2)][(m) & 3u]
#define WS(k, n) ws[(k) * (BN / 4u) + ((n) >> 2)][(n) & 3u]
#ifdef MUL_MAT_ID
shared uint rows[BM];          // entry index of each tile row, ~0u past the end
#endif

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint NTM = BM / TM;
    const uint tm = tid % NTM, tn = tid / NTM;
    const uint n0 = gl_WorkGroupID.x * BN;

#ifdef MUL_MAT_ID
    // find this tile's expert: tile offsets are meta[E+1 .. 2E+1]
    const uint tbase = p.ometa + p.E + 1u;
    const uint gt = meta[tbase + p.e0] + gl_WorkGroupID.y;
    if (gt >= meta[tbase + p.e1]) return;
    uint lo = p.e0, hi = p.e1 - 1u;     // largest e with tstart[e] <= gt
    while (lo < hi) {
        uint mid = (lo + hi + 1u) >> 1;
        if (meta[tbase + mid] <= gt) lo = mid; else hi = mid - 1u;
    }
    const uint e = lo;
    const uint r0 = meta[p.ometa + e] + (gt - meta[tbase + e]) * BM;   // first list row
    const uint r1 = meta[p.ometa + e + 1u];
    for (uint i = tid; i < BM; i += gl_WorkGroupSize.x)
        rows[i] = (r0 + i < r1) ? list[p.olist + r0 + i] : 0xffffffffu;
    barrier();
    const uint wbase = p.ow + (e - p.e0) * p.ws2;
#else
    const uint m0 = gl_WorkGroupID.y * BM;
    const uint wbase = p.ow;
#endif

    float acc[TM][TN];
    for (uint i = 0; i < TM; i++)
        for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        if (p.fast != 0u) {
            // vectorised x: vec4 loads
            for (uint idx = tid; idx < BM * (BK / 4u); idx += gl_WorkGroupSize.x) {
                uint mm = idx / (BK / 4u), kq = idx % (BK / 4u);
                vec4 v = vec4(0.0);
#ifdef MUL_MAT_ID
                uint r = rows[mm];
                if (r != 0xffffffffu) {
                    uint j = r % p.nslot, t = r / p.nslot;
                    v = XRD4(((p.ox + j * p.xs_slot + t * p.xs_tok + k0) >> 2) + kq);
                }
#else
                uint m = m0 + mm;
                if (m < p.M) v = XRD4(((p.ox + m * p.xs1 + k0) >> 2) + kq);
#endif
                XS(kq * 4u + 0u, mm) = v.x;
                XS(kq * 4u + 1u, mm) = v.y;
                XS(kq * 4u + 2u, mm) = v.z;
                XS(kq * 4u + 3u, mm) = v.w;
            }
        } else {
            for (uint idx = tid; idx < BM * BK; idx += gl_WorkGroupSize.x) {
                uint mm = idx / BK, kk = idx % BK, k = k0 + kk;
                float v = 0.0;
    #ifdef MUL_MAT_ID
                uint r = rows[mm];
                if (r != 0xffffffffu && k < p.K) {
                    uint j = r % p.nslot, t = r / p.nslot;
                    v = x[p.ox + j * p.xs_slot + t * p.xs_tok + k];
                }
    #else
                uint m = m0 + mm;
                if (m < p.M && k < p.K) v = x[p.ox + m * p.xs1 + k];
    #endif
                XS(kk, mm) = v;
            }
        }
#ifdef W_QUANT
        // quantised rows are always read in whole chunks: K and BK are
        // multiples of 32 (host-checked), rows 16-byte aligned
        if (true) {
#else
        if (p.fast != 0u) {
#endif
            // vectorised w: WCH-element chunks (wchunk.glsl)
            for (uint idx = tid; idx < BN * (BK / WCH); idx += gl_WorkGroupSize.x) {
                uint nn = idx / (BK / WCH), c = idx % (BK / WCH), n = n0 + nn;
                vec4 v[WCH / 4u];
                if (n < p.N) {
                    wchunk(wbase + n * p.ws1, k0 / WCH + c, v);
                } else {
                    for (uint q = 0; q < WCH / 4u; q++) v[q] = vec4(0.0);
                }
                for (uint q = 0; q < WCH / 4u; q++) {
                    uint kk = c * WCH + q * 4u;
                    WS(kk + 0u, nn) = v[q].x;
                    WS(kk + 1u, nn) = v[q].y;
                    WS(kk + 2u, nn) = v[q].z;
                    WS(kk + 3u, nn) = v[q].w;
                }
            }
#ifndef W_QUANT
        } else {
            for (uint idx = tid; idx < BN * BK; idx += gl_WorkGroupSize.x) {
                uint nn = idx / BK, kk = idx % BK, n = n0 + nn, k = k0 + kk;
                WS(kk, nn) = (n < p.N && k < p.K) ? wload(wbase + n * p.ws1, k) : 0.0;
            }
#endif
        }
        barrier();
        for (uint kk = 0; kk < BK; kk++) {
            vec4 a[TM / 4u], b[TN / 4u];
            for (uint i = 0; i < TM / 4u; i++) a[i] = xs[kk * (BM / 4u) + tm * (TM / 4u) + i];
            for (uint j = 0; j < TN / 4u; j++) b[j] = ws[kk * (BN / 4u) + tn * (TN / 4u) + j];
            for (uint i = 0; i < TM; i++)
                for (uint j = 0; j < TN; j++) acc[i][j] = fma(a[i >> 2][i & 3u], b[j >> 2][j & 3u], acc[i][j]);
        }
        barrier();
    }

    for (uint i = 0; i < TM; i++) {
        uint mm = tm * TM + i;
#ifdef MUL_MAT_ID
        uint r = rows[mm];
        if (r == 0xffffffffu) continue;
        uint ybase = p.oy + (r % p.nslot) * p.ys_slot + (r / p.nslot) * p.ys_tok;
#else
        uint m = m0 + mm;
        if (m >= p.M) continue;
        uint ybase = p.oy + m * p.ys1;
#endif
        for (uint j = 0; j < TN; j++) {
            uint n = n0 + tn * TN + j;
            if (n >= p.N) continue;
            float v = acc[i][j];
#ifndef MUL_MAT_ID
            if (p.has_bias != 0u) v += bias[p.ob + n];
#endif
            y[ybase + n] = v;
        }
    }
}
