#version 450
// variants: {w} id_{w}:MUL_MAT_ID
// matvec_lane.comp — the decode mat-vec y[N][M] = x[K][M] · w[K][N]ᵀ (M <= 8)
// for CPU devices (lavapipe): each invocation owns one weight row and walks
// it from start to end, so every lane reads its own contiguous run of memory
// while x is read at an address uniform across the subgroup (a single load).
// That is the access pattern gallivm makes fast (docs/PERFORMANCE.md,
// "What lavapipe makes fast"); the GPU pattern (lanes striding over K
// together, shaders/matvec.comp) reads 3-5x slower there. No subgroup
// operations, no shared memory, no barrier: correct for any subgroup size.
// Needs the chunked loop's alignment (p.fast = 1; the host checks it).
//
// Q8_0 and Q4_K take the block scale out of the inner sum (one multiply per
// block / sub-block instead of per weight); the other types dequantise a chunk
// (wchunk.glsl) and dot it with x. Push constants, bindings and MUL_MAT_ID
// semantics are those of matvec.comp.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint NM = 8;          // columns of x (M) this pipeline handles

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer W4 { uvec4 w4[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
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
} p;
#else
#define MAXM NM
layout(std430, binding = 3) readonly buffer B { float bias[]; };
layout(push_constant) uniform P {
    uint M, N, K;
    uint xs1, ws1, ys1;
    uint ox, ow, oy, ob;
    uint has_bias;
    uint fast;
} p;
#endif

#define W_ROW_K p.K
#include "wtypes.glsl"
#include "wchunk.glsl"

// x as vec4 from float index f (x rows are vec4-aligned when p.fast is set)
vec4 xld(uint f) { return x4[f >> 2]; }

// the 4 signed bytes of u as floats
vec4 i8x4(uint u) { return vec4((ivec4(u) << ivec4(24, 16, 8, 0)) >> 24); }

void main() {
    const uint n = linear_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
#ifdef MUL_MAT_ID
    const uint s = gl_WorkGroupID.z;
    const uint j = s % p.nslot, t = s / p.nslot;
    const int eid = ids[p.oi + j + t * p.is1];
    const uint ybase = p.oy + j * p.ys_slot + t * p.ys_tok;
    if (n >= p.N) return;
    if (eid < 0 || uint(eid) >= p.E) {
        if (p.zero_invalid != 0u) y[ybase + n] = 0.0;
        return;
    }
    const uint e = uint(eid);
    if (e < p.e0 || e >= p.e1) return;
    const uint rb = p.ow + (e - p.e0) * p.ws2 + n * p.ws1;
    const uint M = 1u;
    uint xf[MAXM];
    xf[0] = p.ox + j * p.xs_slot + t * p.xs_tok;
#else
    if (n >= p.N) return;
    const uint rb = p.ow + n * p.ws1;
    const uint M = p.M;
    uint xf[MAXM];
    for (uint m = 0; m < MAXM; m++) xf[m] = p.ox + m * p.xs1;
#endif
    float acc[MAXM];
    for (uint m = 0; m < MAXM; m++) acc[m] = 0.0;

#if defined(W_Q8_0)
    // row: nb blocks of 32 int8 (two uvec4 each, 16-byte aligned), then nb f16 scales
    const uint nb = p.K >> 5;
    const uint q4 = rb >> 2, sw = rb + nb * 8u;
    for (uint b = 0; b < nb; b++) {
        const uvec4 u0 = w4[q4 + 2u * b], u1 = w4[q4 + 2u * b + 1u];
        const float d = unpackHalf2x16(w[sw + (b >> 1)] >> ((b & 1u) * 16u)).x;
        const vec4 q0 = i8x4(u0.x), q1 = i8x4(u0.y), q2 = i8x4(u0.z), q3 = i8x4(u0.w);
        const vec4 q5 = i8x4(u1.x), q6 = i8x4(u1.y), q7 = i8x4(u1.z), q8 = i8x4(u1.w);
        for (uint m = 0; m < MAXM; m++) {
            if (m >= M) break;
            const uint xb = (xf[m] >> 2) + 8u * b;
            float a0 = dot(q0, x4[xb]) + dot(q1, x4[xb + 1u]);
            float a1 = dot(q2, x4[xb + 2u]) + dot(q3, x4[xb + 3u]);
            float a2 = dot(q5, x4[xb + 4u]) + dot(q6, x4[xb + 5u]);
            float a3 = dot(q7, x4[xb + 6u]) + dot(q8, x4[xb + 7u]);
            acc[m] = fma(d, (a0 + a1) + (a2 + a3), acc[m]);
        }
    }
#elif defined(W_Q4_K)
    // super-block of 256: quant part scales[12], qs[128] (140 bytes), scale part d, dmin
    const uint nb = p.K >> 8;
    const uint sw = rb + nb * 35u;
    for (uint b = 0; b < nb; b++) {
        const uint qb = rb + b * 35u;                 // word index of scales[0]
        const uint s0 = w[qb], s1 = w[qb + 1u], s2 = w[qb + 2u];
        const vec2 dm = unpackHalf2x16(w[sw + b]);
        for (uint c2 = 0; c2 < 4u; c2++) {            // 64 elements: chunk 2*c2 (low nibbles), 2*c2+1 (high)
            uint sc0, mn0, sc1, mn1;
            // ggml's get_scale_min_k4 for sub-blocks c = 2*c2 and 2*c2 + 1
            const uint c = 2u * c2;
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
            const float d0 = dm.x * float(sc0), m0 = dm.y * float(mn0);
            const float d1 = dm.x * float(sc1), m1 = dm.y * float(mn1);
            const uint qw = qb + 3u + 8u * c2;
            vec4 lo[8], hv[8];
            for (uint i = 0; i < 8u; i++) {
                const uint u = w[qw + i];
                lo[i] = vec4((uvec4(u) >> uvec4(0u, 8u, 16u, 24u)) & 15u);
                hv[i] = vec4((uvec4(u) >> uvec4(4u, 12u, 20u, 28u)) & 15u);
            }
            for (uint m = 0; m < MAXM; m++) {
                if (m >= M) break;
                const uint xb = (xf[m] >> 2) + 64u * b + 16u * c2;
                float ql = 0.0, qh = 0.0;
                vec4 sl = vec4(0.0), sh = vec4(0.0);
                for (uint i = 0; i < 8u; i++) {
                    const vec4 xa = x4[xb + i], xc = x4[xb + 8u + i];
                    ql += dot(lo[i], xa);
                    qh += dot(hv[i], xc);
                    sl += xa;
                    sh += xc;
                }
                acc[m] += d0 * ql - m0 * (sl.x + sl.y + sl.z + sl.w) + d1 * qh - m1 * (sh.x + sh.y + sh.z + sh.w);
            }
        }
    }
#else
    const uint nch = p.K / WCH;
    for (uint c = 0; c < nch; c++) {
        vec4 wv[WCH / 4u];
        wchunk(rb, c, wv);
        for (uint m = 0; m < MAXM; m++) {
            if (m >= M) break;
            float a = 0.0;
            for (uint q = 0; q < WCH / 4u; q++) a += dot(wv[q], xld(xf[m] + c * WCH + 4u * q));
            acc[m] += a;
        }
    }
#endif

#ifdef MUL_MAT_ID
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
