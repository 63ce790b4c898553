#version 450
// variants: f32:KV_F32 f16:KV_F16
// attn_prefill.comp — fused attention for many queries: FlashAttention
// (Dao et al. 2022, "FlashAttention: Fast and Memory-Efficient Exact Attention
// with IO-Awareness"), one pass over the keys in blocks of BC with an online
// softmax (Milakov & Gimelshein 2018): running max m, running sum l, and the
// output rescaled by e^(m_old − m_new) whenever the max grows.
//
// One workgroup = BR rows of one KV head; row r = (query t = r / G, q head
// kvh·G + r % G), so the G query heads of a GQA group read the same K/V rows
// (same addresses across the workgroup: cache-friendly). One invocation per
// row keeps q[HD] and o[HD] in registers. Causal: query t (absolute position
// n_kv − Tq + t) sees keys <= its position; keys >= n_kv are never seen.
// Sliding window (window > 0, Gemma's sliding layers; llama.cpp is_masked_swa):
// query position i sees key j only if i − j < window. A span [nc_lo, nc_hi) of
// absolute positions (nc_hi > nc_lo; an image's rows on Gemma 4's sliding layers)
// attends both ways: a causal query inside it sees every key up to nc_hi − 1.
//
// K/V are read straight from the storage buffers (no shared-memory staging,
// no barriers): on lavapipe (the CI device) barriers turn the shader into
// LLVM coroutines whose frame holds q and o, which made compiling the
// staged version take minutes. All loops over BC and HD are [[unroll]]ed:
// lavapipe (Mesa gallivm) also ends an outermost loop, nested ones included,
// after 65535 iterations, so only the key-block loop may iterate.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HD = 64;
layout(constant_id = 2) const uint BC = 8;

layout(std430, binding = 0) readonly buffer Q { float q_[]; };
#include "attn_kv.glsl"
layout(std430, binding = 3) writeonly buffer O { float o_[]; };
layout(std430, binding = 4) readonly buffer NKV { int nkv_[]; };

layout(push_constant) uniform P {
    uint Tq, G, Tk, nrows;          // nrows = G·Tq rows per KV head
    uint sq1, sq2, sk1, sk2, sv1, sv2, so1, so2;  // head / token strides (elements)
    uint oq, ok, ov, oo, on;
    uint has_nkv, causal;
    float scale;
    uint window, nc_lo, nc_hi;
} p;

// keys visible to query row t: [key_lo, key_lim)
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
    uint r0 = gl_WorkGroupID.x * gl_WorkGroupSize.x;
    uint r = r0 + tid;
    bool valid = r < p.nrows;
    uint rr = valid ? r : p.nrows - 1;
    uint g = rr % p.G, t = rr / p.G;
    uint h = kvh * p.G + g;

    int nkv = int(p.Tk);
    if (p.has_nkv != 0) nkv = clamp(nkv_[p.on], 0, int(p.Tk));
    // keys this row may see: [0, lim); the workgroup walks [0, wlim), the
    // largest lim of its rows, so the key loop and the K/V addresses are
    // uniform (one load broadcast to all rows instead of a gather).
    // [lo, lim) for row t; lo and lim never decrease with t, so the workgroup's
    // range is [lo of its first row, lim of its last row)
    uint tfirst = r0 / p.G, tlast = (min(r0 + gl_WorkGroupSize.x, p.nrows) - 1) / p.G;
    int lim = key_lim(nkv, t), lo = key_lo(nkv, t);
    int wlim = key_lim(nkv, tlast), wlo = key_lo(nkv, tfirst) / int(BC) * int(BC);

    float q[HD];
    float o[HD];
    uint qb = p.oq + h * p.sq1 + t * p.sq2;
    [[unroll]] for (uint d = 0; d < HD; d++) {
        q[d] = q_[qb + d] * p.scale;
        o[d] = 0.0;
    }
    float m = -1e30, l = 0.0;
    float s[BC];
    uint kb = p.ok + kvh * p.sk1, vb = p.ov + kvh * p.sv1;

    for (int k0 = wlo; k0 < wlim; k0 += int(BC)) {
        int wk = min(int(BC), wlim - k0);    // keys of this block that exist (uniform)
        float mt = m;
        [[unroll]] for (uint j = 0; j < BC; j++) {
            float acc = 0.0;
            if (int(j) < wk) {
                uint kr = kb + uint(k0 + int(j)) * p.sk2;
                [[unroll]] for (uint d = 0; d < HD; d += 2) {
                    vec2 kv = load_k2(kr + d);
                    acc += q[d] * kv.x + q[d + 1] * kv.y;
                }
            }
            int kj = k0 + int(j);            // the row sees keys [lo, lim)
            s[j] = kj >= lo && kj < lim ? acc : -1e30;
            mt = max(mt, s[j]);
        }
        float alpha = exp(m - mt);
        l *= alpha;
        [[unroll]] for (uint d = 0; d < HD; d++) o[d] *= alpha;
        [[unroll]] for (uint j = 0; j < BC; j++) {
            if (int(j) < wk) {
                int kj = k0 + int(j);
                float pj = kj >= lo && kj < lim ? exp(s[j] - mt) : 0.0;
                l += pj;
                uint vr = vb + uint(k0 + int(j)) * p.sv2;
                [[unroll]] for (uint d = 0; d < HD; d += 2) {
                    vec2 vv = load_v2(vr + d);
                    o[d] += pj * vv.x;
                    o[d + 1] += pj * vv.y;
                }
            }
        }
        m = mt;
    }
    if (!valid) return;
    float inv = l > 0.0 ? 1.0 / l : 0.0;
    uint ob = p.oo + h * p.so1 + t * p.so2;
    [[unroll]] for (uint d = 0; d < HD; d++) o_[ob + d] = o[d] * inv;
}
