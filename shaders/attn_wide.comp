#version 450
// variants: f32:KV_F32 f16:KV_F16
// attn_wide.comp — fused attention for head dims above 256 (Gemma 4's global
// layers: 512), prefill and split-K decode in one kernel. The head-dim-256
// kernels (attn_prefill.comp, attn_decode.comp) keep q[HD] and o[HD] in
// registers with every HD loop unrolled; at HD 512 lavapipe took over ten
// minutes to compile that. Here each workgroup owns one block of DB output
// dims (gl_WorkGroupID.z % nd), so an invocation keeps only o[DB] in
// registers; the score q·k over all HD dims is recomputed by each of the nd
// dim blocks (nd× the score work, the price of a small kernel), with q read
// from its buffer (one row per invocation, cache-resident). The softmax is
// online (Milakov & Gimelshein 2018), one key at a time: running max m,
// running sum l, o rescaled by e^(m_old − m_new).
//
// Rows as in attn_prefill.comp: row r = (query t = r / G, q head kvh·G + r % G),
// so the rows of a workgroup read the same K/V addresses (uniform key loop).
// Causal: query t (absolute position n_kv − Tq + t) sees keys <= its position;
// keys >= n_kv (read from a buffer on the GPU) are never seen. The sliding
// window and the both-ways span are those of attn_prefill.comp (key_lo, key_lim).
//   CK == 0: one pass over all keys, o / l written to out[hd][Hq][Tq].
//   CK  > 0: split-K ("Flash-Decoding"): chunk c = gl_WorkGroupID.z / nd walks
//            keys [c·CK, c·CK + CK) and writes the partial (o[HD], m, l) of
//            head h at out[(h·n_chunks + c)·(HD+2)], the layout that
//            attn_combine.comp merges.
// No barriers, no shared memory (lavapipe turns barriers into LLVM coroutines,
// slow to compile); the only loop that iterates is the key loop (lavapipe
// ends an outermost loop after 65535 iterations; the host checks the range).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HD = 512;
layout(constant_id = 2) const uint DB = 64; // output dims per workgroup (even)

layout(std430, binding = 0) readonly buffer Q { float q_[]; };
#include "attn_kv.glsl"
layout(std430, binding = 3) writeonly buffer O { float o_[]; };
layout(std430, binding = 4) readonly buffer NKV { int nkv_[]; };

layout(push_constant) uniform P {
    uint Tq, G, Tk, nrows;          // nrows = G·Tq rows per KV head
    uint sq1, sq2, sk1, sk2, sv1, sv2, so1, so2;  // head / token strides (elements)
    uint oq, ok, ov, oo, on;
    uint has_nkv, causal;
    uint CK, nd;                    // keys per split-K chunk (0: no split), dim blocks
    float scale;
    uint window, nc_lo, nc_hi;
} p;

// keys visible to query row t: [key_lo, key_lim) (the masks of attn_prefill.comp)
int key_lim(int nkv, uint t) {
    int qp = nkv - int(p.Tq) + int(t);
    if (p.causal == 0) return nkv;
    if (qp >= int(p.nc_lo) && qp < int(p.nc_hi)) return min(nkv, int(p.nc_hi));
    return min(nkv, qp + 1);
}
int key_lo(int nkv, uint t) {
    return p.window != 0 ? max(0, nkv - int(p.Tq) + int(t) - int(p.window) + 1) : 0;
}

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint kvh = gl_WorkGroupID.y;
    uint db = gl_WorkGroupID.z % p.nd, c = gl_WorkGroupID.z / p.nd;
    uint r0 = gl_WorkGroupID.x * gl_WorkGroupSize.x;
    uint r = r0 + tid;
    bool valid = r < p.nrows;
    uint rr = valid ? r : p.nrows - 1;
    uint g = rr % p.G, t = rr / p.G;
    uint h = kvh * p.G + g;

    int nkv = int(p.Tk);
    if (p.has_nkv != 0) nkv = clamp(nkv_[p.on], 0, int(p.Tk));
    // keys this row may see: [lo, lim); lo and lim never decrease with t, so the
    // workgroup walks [kbeg, kend) within [lo of its first row, lim of its last
    // row) (uniform loop and addresses), a chunk of it when split
    uint tfirst = r0 / p.G, tlast = (min(r0 + gl_WorkGroupSize.x, p.nrows) - 1) / p.G;
    int lim = key_lim(nkv, t), lo = key_lo(nkv, t);
    int kbeg = key_lo(nkv, tfirst), kend = key_lim(nkv, tlast);
    if (p.CK != 0) {
        kbeg = max(kbeg, int(c * p.CK));
        kend = min(kend, int(c * p.CK + p.CK));
    }
    if (!valid) kend = kbeg; // rows past nrows: nothing to compute (lavapipe runs such lanes' batches for free)

    uint d0 = db * DB; // first output dim of this workgroup; dims >= HD (last block) are skipped
    uint qb = p.oq + h * p.sq1 + t * p.sq2;
    uint kb = p.ok + kvh * p.sk1, vb = p.ov + kvh * p.sv1 + d0;
    float o[DB];
    [[unroll]] for (uint d = 0; d < DB; d++) o[d] = 0.0;
    float m = -1e30, l = 0.0;

    for (int j = kbeg; j < kend; j++) {
        uint kr = kb + uint(j) * p.sk2;
        float acc = 0.0;
        [[unroll]] for (uint d = 0; d < HD; d += 2) {
            vec2 kv = load_k2(kr + d);
            acc += q_[qb + d] * kv.x + q_[qb + d + 1] * kv.y;
        }
        if (j >= lo && j < lim) {
            float s = acc * p.scale;
            float mn = max(m, s);
            float alpha = exp(m - mn), pj = exp(s - mn);
            l = l * alpha + pj;
            uint vr = vb + uint(j) * p.sv2;
            [[unroll]] for (uint d = 0; d < DB; d += 2) {
                if (d0 + d < HD) {
                    vec2 vv = load_v2(vr + d);
                    o[d] = o[d] * alpha + pj * vv.x;
                    o[d + 1] = o[d + 1] * alpha + pj * vv.y;
                }
            }
            m = mn;
        }
    }
    if (!valid) return;
    if (p.CK == 0) {
        float inv = l > 0.0 ? 1.0 / l : 0.0;
        uint ob = p.oo + h * p.so1 + t * p.so2 + d0;
        [[unroll]] for (uint d = 0; d < DB; d++)
            if (d0 + d < HD) o_[ob + d] = o[d] * inv;
    } else {
        uint n_chunks = gl_NumWorkGroups.z / p.nd;
        uint pb = p.oo + (h * n_chunks + c) * (HD + 2);
        [[unroll]] for (uint d = 0; d < DB; d++)
            if (d0 + d < HD) o_[pb + d0 + d] = o[d];
        if (db == 0) {
            o_[pb + HD] = m;
            o_[pb + HD + 1] = l;
        }
    }
}
