#version 450
// variants: {w} {w}_sg:USE_SG id_{w}:MUL_MAT_ID id_{w}_sg:MUL_MAT_ID,USE_SG
// matvec.comp — decode-path matrix-vector products y[N][M] = x[K][M] · w[K][N]ᵀ
// for M <= 8: a workgroup owns NR weight rows, its invocations stride over K
// (each weight element is read once and used for all M columns of x), then
// the partial sums are reduced with subgroupAdd (USE_SG) or a shared-memory
// tree. Quantised weights are dequantised on the fly (wtypes.glsl).
//
// MUL_MAT_ID: the MoE decode path. gl_WorkGroupID.z is the (token, slot)
// entry s = j + k*t; its expert e = ids[j][t] is read on the GPU. Only
// experts [e0, e1) are bound (split dispatches for tensors over the storage
// buffer range); ids outside [0, E) give zero rows.
#extension GL_GOOGLE_include_directive : require
#ifdef USE_SG
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint NR = 2;       // weight rows per workgroup
layout(constant_id = 2) const bool ONE_SG = false; // USE_SG and workgroup == one subgroup: no shared memory, no barrier
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
    uint xs_slot, xs_tok;     // floats; xs_slot = 0: one input per token
    uint ws1, ws2;            // units
    uint ys_slot, ys_tok;
    uint ox, ow, oy, oi;
    uint is1;                 // ids token stride in ints
    uint e0, e1, E, zero_invalid;
    uint fast;                // rows and x aligned for the vectorised loop
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

// x as vec4 from float index f. Quantised weights always take the chunked
// loop (their rows are always aligned); unaligned x (p.fast = 0) is then
// read as scalars. The other types take the scalar wload loop instead.
#ifdef W_QUANT
#define CHUNKED true
vec4 xld(uint f) { return p.fast != 0u ? x4[f >> 2] : vec4(x[f], x[f + 1u], x[f + 2u], x[f + 3u]); }
#else
#define CHUNKED (p.fast != 0u)
vec4 xld(uint f) { return x4[f >> 2]; }
#endif

#ifdef USE_SG
// Slots for the per-subgroup partial sums: MAX_SG subgroups a workgroup. The
// subgroup size itself is gl_SubgroupSize (any power of two); the host takes
// this path only when WG is a multiple of it and WG / size <= MAX_SG
// (MM_VEC_MAX_SG in vk_op_mm.h), e.g. WG 64 with subgroups of 4..64.
const uint MAX_SG = 32u;
const uint RED_SIZE = ONE_SG ? 1u : NR * MAXM * MAX_SG;
shared float red[RED_SIZE];
#else
const uint RED_SIZE = NR * MAXM * gl_WorkGroupSize.x;
shared float red[RED_SIZE];
#endif

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint WG = gl_WorkGroupSize.x;
    const uint n0 = linear_group_id() * NR;
    if (n0 >= p.N) return;

#ifdef MUL_MAT_ID
    const uint s = gl_WorkGroupID.z;
    const uint j = s % p.nslot, t = s / p.nslot;
    const int eid = ids[p.oi + j + t * p.is1];
    const uint ybase0 = p.oy + j * p.ys_slot + t * p.ys_tok;
    if (eid < 0 || uint(eid) >= p.E) {
        if (p.zero_invalid != 0u)
            for (uint r = tid; r < NR; r += WG)
                if (n0 + r < p.N) y[ybase0 + n0 + r] = 0.0;
        return;
    }
    const uint e = uint(eid);
    if (e < p.e0 || e >= p.e1) return;
    const uint wbase = p.ow + (e - p.e0) * p.ws2;
    const uint xbase = p.ox + j * p.xs_slot + t * p.xs_tok;
    const uint M = 1u;
#else
    const uint wbase = p.ow;
    const uint M = p.M;
#endif

#ifdef USE_SG
    if (ONE_SG) {
        // one subgroup per workgroup: rows one after the other, each reduced
        // with subgroupAdd — no shared memory, no barriers, no row arrays
        const uint nrows = min(NR, p.N - n0);        // runtime bound: keeps the row loop rolled
        for (uint r = 0; r < nrows; r++) {
            const uint n = n0 + r;
            const uint rb = wbase + n * p.ws1;
            float a[MAXM];
            for (uint m = 0; m < MAXM; m++) a[m] = 0.0;
            if (CHUNKED) {
                const uint nch = p.K / WCH;
                for (uint c = tid; c < nch; c += WG) {
                    vec4 wv[WCH / 4u];
                    wchunk(rb, c, wv);
                    for (uint m = 0; m < MAXM; m++) {
#ifdef MUL_MAT_ID
                        const uint xf = xbase + c * WCH;
#else
                        const uint xf = p.ox + m * p.xs1 + c * WCH;
#endif
                        float d = 0.0;
                        for (uint q = 0; q < WCH / 4u; q++) d += dot(wv[q], xld(xf + 4u * q));
                        a[m] += d;
                    }
                }
            } else {
                for (uint k = tid; k < p.K; k += WG) {
                    float wv = wload(rb, k);
                    for (uint m = 0; m < MAXM; m++) {
#ifdef MUL_MAT_ID
                        a[m] = fma(wv, x[xbase + k], a[m]);
#else
                        a[m] = fma(wv, x[p.ox + m * p.xs1 + k], a[m]);
#endif
                    }
                }
            }
            for (uint m = 0; m < MAXM; m++) {
                float v = subgroupAdd(a[m]);
                if (tid == 0u) {
#ifdef MUL_MAT_ID
                    y[ybase0 + n] = v;
#else
                    if (p.has_bias != 0u) v += bias[p.ob + n];
                    y[p.oy + m * p.ys1 + n] = v;
#endif
                }
            }
        }
        return;
    }
#endif

    float acc[NR][MAXM];
    for (uint r = 0; r < NR; r++)
        for (uint m = 0; m < MAXM; m++) acc[r][m] = 0.0;

    if (CHUNKED) {
        // vectorised: chunk c = WCH elements; x read as vec4
        const uint nch = p.K / WCH;
        for (uint c = tid; c < nch; c += WG) {
            vec4 xv[MAXM][WCH / 4u];
            for (uint m = 0; m < MAXM; m++)
                for (uint q = 0; q < WCH / 4u; q++) {
#ifdef MUL_MAT_ID
                    xv[m][q] = xld(xbase + c * WCH + 4u * q);
#else
                    xv[m][q] = m < M ? xld(p.ox + m * p.xs1 + c * WCH + 4u * q) : vec4(0.0);
#endif
                }
            for (uint r = 0; r < NR; r++) {
                uint n = n0 + r;
                if (n >= p.N) break;
                vec4 wv[WCH / 4u];
                wchunk(wbase + n * p.ws1, c, wv);
                for (uint m = 0; m < MAXM; m++) {
                    float a = 0.0;
                    for (uint q = 0; q < WCH / 4u; q++) a += dot(wv[q], xv[m][q]);
                    acc[r][m] += a;
                }
            }
        }
    } else {
        for (uint k = tid; k < p.K; k += WG) {
            float xv[MAXM];
            for (uint m = 0; m < MAXM; m++) {
    #ifdef MUL_MAT_ID
                xv[m] = x[xbase + k];
    #else
                xv[m] = m < M ? x[p.ox + m * p.xs1 + k] : 0.0;
    #endif
            }
            for (uint r = 0; r < NR; r++) {
                uint n = n0 + r;
                if (n >= p.N) break;
                float wv = wload(wbase + n * p.ws1, k);
                for (uint m = 0; m < MAXM; m++) acc[r][m] = fma(wv, xv[m], acc[r][m]);
            }
        }
    }

#ifdef USE_SG
    const uint nsg = (WG + gl_SubgroupSize - 1u) / gl_SubgroupSize;
    for (uint r = 0; r < NR; r++)
        for (uint m = 0; m < MAXM; m++) {
            float v = subgroupAdd(acc[r][m]);
            if (subgroupElect()) red[(r * MAXM + m) * MAX_SG + gl_SubgroupID] = v;
        }
    barrier();
    for (uint q = tid; q < NR * MAXM; q += WG) {
        float v = 0.0;
        for (uint i = 0; i < nsg; i++) v += red[q * MAX_SG + i];
        red[q * MAX_SG] = v;
    }
    barrier();
#define RED(r, m) red[((r) * MAXM + (m)) * MAX_SG]
#else
    for (uint r = 0; r < NR; r++)
        for (uint m = 0; m < MAXM; m++) red[(r * MAXM + m) * WG + tid] = acc[r][m];
    barrier();
    for (uint h = WG / 2u; h > 0u; h >>= 1) {
        if (tid < h)
            for (uint q = 0; q < NR * MAXM; q++) red[q * WG + tid] += red[q * WG + tid + h];
        barrier();
    }
#define RED(r, m) red[((r) * MAXM + (m)) * WG]
#endif

    for (uint q = tid; q < NR * M; q += WG) {
        uint r = q / M, m = q % M, n = n0 + r;
        if (n >= p.N) continue;
        float v = RED(r, m);
#ifdef MUL_MAT_ID
        y[ybase0 + n] = v;
#else
        if (p.has_bias != 0u) v += bias[p.ob + n];
        y[p.oy + m * p.ys1 + n] = v;
#endif
    }
}
