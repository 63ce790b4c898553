/* vk_op_attention.c — fused attention with online softmax, GQA, causal/full
 * mask, sliding window, a both-ways span inside a causal mask, F32/F16 KV,
 * n_kv read on the GPU.
 *   Tq == 1: split-K flash-decoding (shaders/attn_decode.comp: chunks of 128
 *            keys x KV head x head group, then attn_combine.comp merges them).
 *            CPU devices, up to ATTN_DECODE_FUSED_MAX_KEYS keys: the fused kernel below (attn_decode_fused).
 *   Tq > 1:  shaders/attn_prefill.comp, one invocation per (query, head) row,
 *            64 rows of one GQA group per workgroup walking a uniform key range
 *            in unrolled blocks; K/V are read from the storage buffers directly
 *            (a shared-memory-staged version was dropped: on lavapipe its
 *            barriers made LLVM's coroutine splitting take minutes per shader).
 *   Full mask, no n_kv, Tq >= ATTN_GEMM_MIN_TQ, hd >= ATTN_GEMM_MIN_HD (CPU devices: see ATTN_GEMM_MIN_HD_CPU),
 *            Tk <= ATTN_GEMM_MAX_TK (the vision tower): per head
 *            S = Q_h·K_hᵀ with the tiled GEMM (vk_op_matmul), row softmax of
 *            scale*S, then O_h = P·V_h with the GEMM on a transposed copy of
 *            V_h; queries in chunks so S stays within ATTN_GEMM_MAX_S bytes.
 *            On lavapipe: hd 72, 16 heads, 1024 patches 2607 -> 746 ms; hd 64,
 *            256 tokens 141 -> 80 ms; hd 16, 784 patches was slower (softmax
 *            and the K=16 GEMM dominate), hence the head-dim threshold.
 *   CPU devices, prefills of Tq >= ATTN_LANE_MIN_TQ the GEMM path above does not take, hd a multiple of 8 up
 *            to 256, the number of valid keys known to the host (n_kv NULL, or p->n_kv_host): attn_lane, the GEMM path
 *            for causal / windowed / span masks, per query block over only the keys it can see, the G
 *            query heads of a KV head in one GEMM; a masked softmax (attn_softmax.comp) between. Full masks
 *            without n_kv (short vision towers) too, unless MOEVK_ATTN_LANE_FULL=0.
 *   CPU devices, full masks (no causal, window or n_kv), F32 K/V, hd a multiple of 4 up to ATTN_VIT_MAX_HD,
 *            Tq >= ATTN_LANE_MIN_TQ (the goldens' tower, hd 16): attn_vit.comp, before all of the above, one
 *            dispatch, the scores in registers (MOEVK_ATTN_VIT=0: the paths above).
 *   hd > 256 (Gemma 4's global layers, 512): shaders/attn_wide.comp for
 *            decode (split-K over chunks of ATTN_WIDE_CK keys, then
 *            attn_combine.comp) and the prefills the fused kernel would take,
 *            the output dims in blocks of ATTN_WIDE_DB per workgroup.
 * lavapipe ends any outermost shader loop after 65535 iterations (nested ones
 * included), so shaders keep their dynamic loops short; see the checks below. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_op_check.h"

#define ATTN_MAX_HD 512
#define ATTN_FUSED_MAX_HD 256 /* the fused kernels keep q and o [hd] per invocation, unrolled: hd 512 (Gemma 4's global
                                 layers) took lavapipe over 10 minutes to compile; above, attn_wide.comp */
#define ATTN_WIDE_DB 64       /* output dims per attn_wide workgroup: o[64] in registers (hd 512 compiles in ~25 s cold on lavapipe) */
#define ATTN_WIDE_CK 128      /* keys per split-K chunk of the wide decode */
#define ATTN_GEMM_MIN_TQ 64
#define ATTN_GEMM_MIN_HD 48 /* lavapipe: the fused kernel costs ~2 ns x hd per (query, key), the GEMM path ~40-75 ns */
#define ATTN_GEMM_MAX_TK 8192 /* lavapipe gave wrong GEMM-path results from ~20000 keys (K = Tk); fused beyond */
/* CPU devices, Tq >= ATTN_GEMM_CPU_TQ, head dims a multiple of 8 (the lane GEMM's chunk): the GEMM path from
 * hd 16, since the lane GEMM's unrolled F32 loop (matmul_lane.comp UNR): the goldens' tower (hd 16, 4 heads,
 * 784 patches) encoded in 128 ms against 371 ms with the fused kernel (docs/PERFORMANCE.md section 21); the
 * embedded model's 64 patches were a wash, so short sequences keep the fused kernel */
#define ATTN_GEMM_MIN_HD_CPU 16
#define ATTN_GEMM_CPU_TQ 256
#define ATTN_GEMM_MAX_S (32ull << 20) /* bytes of one score block S [Tk][chunk] */

/* The smallest head dim the GEMM path takes (above); MOEVK_ATTN_GEMM_MIN_HD=N sets it (A/B timing). */
static int64_t attn_gemm_min_hd(const vk_device_info *info, int64_t hd, int64_t Tq) {
    const char *e = getenv("MOEVK_ATTN_GEMM_MIN_HD");
    if (e) return atoll(e);
    return info->kind == VK_KIND_CPU && Tq >= ATTN_GEMM_CPU_TQ && hd % 8 == 0 ? ATTN_GEMM_MIN_HD_CPU : ATTN_GEMM_MIN_HD;
}

/* Full-mask prefill through the GEMM: for each query head h (KV head h / G)
 * and each chunk of qc queries: S[Tk][qc] = K_g·Q_h (matmul, w = K_g F32 or
 * F16), P = softmax(scale*S) over Tk, O[hd][qc] = P·V_gᵀ (matmul, w = V_g
 * transposed to VT[Tk][hd] F32), written straight into out's head slice (rows
 * out->nb[2] apart).
 * Scratch is reused across heads and chunks; barriers come from the ranges. */
static moevk_status attn_gemm(vk_stream *s, const mvk_tensor *out, const mvk_tensor *q, const mvk_tensor *k, const mvk_tensor *v,
                              const vk_attn_params *p) {
    int64_t hd = q->ne[0], Hq = q->ne[1], Tq = q->ne[2], Hkv = k->ne[1], Tk = k->ne[2];
    int64_t G = Hq / Hkv, ekv = k->type == MVK_TYPE_F16 ? 2 : 4;
    int64_t qc = (int64_t)(ATTN_GEMM_MAX_S / ((uint64_t)Tk * 4));
    if (qc > Tq) qc = Tq;
    if (qc < 16) qc = 16 < Tq ? 16 : Tq;
    vk_scratch_mark mark = vk_stream_scratch_mark(s);
    mvk_tensor S, P, VT;
    moevk_status st = vk_stream_scratch(s, MVK_TYPE_F32, Tk, qc, 1, 1, &S);
    if (st == MOEVK_OK) st = vk_stream_scratch(s, MVK_TYPE_F32, Tk, qc, 1, 1, &P);
    if (st == MOEVK_OK) st = vk_stream_scratch(s, MVK_TYPE_F32, Tk, hd, 1, 1, &VT);
    for (int64_t g = 0; st == MOEVK_OK && g < Hkv; g++) {
        /* VT[j][d] = V[d][g][j]: a strided copy with ne0 = 1 (x walks keys, then dims) */
        int64_t vne[4] = {1, Tk, hd, 1}, vnb[4] = {ekv, v->nb[2], ekv, v->nb[2] * Tk};
        int64_t tnb[4] = {4, 4, Tk * 4, Tk * hd * 4};
        mvk_tensor vsrc = mvk_tensor_view(v, (uint64_t)(g * v->nb[1]), vne, vnb);
        mvk_tensor vdst = mvk_tensor_view(&VT, 0, vne, tnb);
        st = vk_op_convert(s, &vdst, &vsrc);
        int64_t kne[4] = {hd, Tk, 1, 1}, knb[4] = {ekv, k->nb[2], k->nb[2] * Tk, k->nb[2] * Tk};
        mvk_tensor kg = mvk_tensor_view(k, (uint64_t)(g * k->nb[1]), kne, knb);
        for (int64_t h = g * G; st == MOEVK_OK && h < (g + 1) * G; h++)
            for (int64_t q0 = 0; st == MOEVK_OK && q0 < Tq; q0 += qc) {
                int64_t n = Tq - q0 < qc ? Tq - q0 : qc;
                int64_t qne[4] = {hd, n, 1, 1}, qnb[4] = {4, q->nb[2], q->nb[2] * n, q->nb[2] * n};
                int64_t sne[4] = {Tk, n, 1, 1}, snb[4] = {4, Tk * 4, Tk * 4 * n, Tk * 4 * n};
                int64_t one[4] = {hd, n, 1, 1};
                int64_t dnb[4] = {4, out->nb[2], out->nb[2] * n, out->nb[2] * n};
                mvk_tensor qh = mvk_tensor_view(q, (uint64_t)(h * q->nb[1] + q0 * q->nb[2]), qne, qnb);
                mvk_tensor sv = mvk_tensor_view(&S, 0, sne, snb), pv = mvk_tensor_view(&P, 0, sne, snb);
                mvk_tensor dst = mvk_tensor_view(out, (uint64_t)(h * out->nb[1] + q0 * out->nb[2]), one, dnb);
                st = vk_op_matmul(s, &sv, &qh, &kg, NULL);
                if (st == MOEVK_OK) st = vk_op_softmax(s, &pv, &sv, p->scale);
                if (st == MOEVK_OK) st = vk_op_matmul(s, &dst, &pv, &VT, NULL); /* rows of out's head slice, strided */
            }
    }
    vk_stream_scratch_reset(s, mark);
    return st;
}

/* ---- CPU devices: the GEMM path for masked prefills (attn_lane), where the host knows the number of valid keys
 * (n_kv NULL: Tk; else p->n_kv_host). The fused kernel keeps q[hd] and o[hd] in every lane (one query row a
 * lane, K/V rows fetched by all lanes at one address: a gather each): ~2 GFLOP/s on lavapipe at hd 128, where
 * the lane GEMM (matmul_lane.comp) reaches 15-40. Per query block of qc queries and KV head g:
 *   S[nk][G·qc] = Qp_g · K_gᵀ over the keys the block can see, [klo, klo + nk) (vk_op_matmul: the lane GEMM),
 *   P = masked softmax of scale·S (attn_softmax.comp: causal, window, span, keys < nkv; zero elsewhere),
 *   Op[hd][G·qc] = P · VTᵀ (vk_op_matmul, w = V transposed: VT[Hkv][hd][nkt], F32, keys padded to 8 with zeros).
 * The G query heads of a KV head share one GEMM: Q is first copied to Qp[nch][Hq][qc][hd] (a block's G·qc rows
 * contiguous: one row stride), and Op back to out. A causal block sees keys up to its last query's position:
 * blocks of ATTN_LANE_QC queries skip the upper triangle (about half of S at Tq = Tk); a window also trims the
 * keys below. Scratch: Qp and Op (Tq rounded up to qc, x Hq x hd floats), VT (Hkv x hd x keys), S and P (a block). */
#define ATTN_DECODE_FUSED_MAX_KEYS 4096 /* measured faster than the split-K up to here (bench ops, 33-4096 keys) */
#define ATTN_LANE_MIN_TQ 16  /* shorter prefills keep the fused kernel */
#define ATTN_LANE_QC 64      /* queries a block of a masked prefill (MOEVK_ATTN_LANE_QC=N sets it, A/B timing) */
#define ATTN_LANE_PERM 1     /* Q and O through the per-block copies (one GEMM a KV head); 0: a GEMM a query head
                                (MOEVK_ATTN_LANE_PERM=0/1, A/B timing) */

/* an environment switch set to "0" (A/B timing, tests) */
static int getenv_is0(const char *name) {
    const char *e = getenv(name);
    return e && !strcmp(e, "0");
}

/* Whether CPU devices take attn_lane: MOEVK_ATTN_LANE=0 keeps the fused kernel (A/B timing, tests). */
static int attn_lane_on(const vk_device_info *info, int64_t hd, int64_t Tq) {
    if (getenv_is0("MOEVK_ATTN_LANE")) return 0;
    return info->kind == VK_KIND_CPU && Tq >= ATTN_LANE_MIN_TQ && hd % 8 == 0 && hd <= ATTN_FUSED_MAX_HD;
}

/* Whether full masks (no causal, window or n_kv: the vision towers) that the GEMM path above does not take go
 * to attn_lane too: the embedded model's tower (64 patches, 4 heads of hd 32) spent ~5 ms a layer in the fused
 * kernel. MOEVK_ATTN_LANE_FULL=0 keeps the fused kernel for them (A/B timing, tests). */
static int attn_lane_full(void) { return !getenv_is0("MOEVK_ATTN_LANE_FULL"); }

/* CPU devices decode through the fused kernel (attn_prefill.comp at Tq 1: one invocation a query head, the G
   heads of a KV head reading the same K/V rows, all keys in one pass, no barriers, no attn_combine) instead of
   attn_decode.comp's split-K, up to ATTN_DECODE_FUSED_MAX_KEYS visible keys (and within lavapipe's loop limit:
   Tk / 4 key blocks). MOEVK_ATTN_DECODE_FUSED=0 keeps attn_decode.comp (A/B timing, tests). */
static int attn_decode_fused(const vk_device_info *info, int64_t Tk, int64_t keys) {
    return info->kind == VK_KIND_CPU && keys <= ATTN_DECODE_FUSED_MAX_KEYS && Tk / 4 < 60000 && !getenv_is0("MOEVK_ATTN_DECODE_FUSED");
}

/* Keys visible to the query at absolute position qp: [lo, lim) (attn_prefill.comp key_lo / key_lim). */
static int64_t lane_key_lim(const vk_attn_params *p, int64_t nkv, int64_t qp) {
    if (!p->causal) return nkv;
    int64_t lim = qp >= p->nc_lo && qp < p->nc_hi ? p->nc_hi : qp + 1;
    return lim < nkv ? lim : nkv;
}
static int64_t lane_key_lo(const vk_attn_params *p, int64_t qp) {
    int64_t lo = p->window ? qp - p->window + 1 : 0;
    return lo > 0 ? lo : 0;
}

/* y = x for 4-D F32 views of rows of ne0 floats (attn_lane's Q and O block copies): attn_rows.comp, a vec4 a
 * lane, x through a texel view, where every stride and both offsets are whole vec4s; else vk_op_convert. */
static moevk_status lane_rows(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x) {
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *info = vk_ctx_info(ctx);
    uint32_t ox = vk_bind_texel_offset(ctx, x, 4), oy = vk_bind_elem_offset(ctx, y, 4);
    int whole = x->ne[0] % 4 == 0 && ox % 4 == 0 && oy % 4 == 0 && (info->texel_support[VK_TEXEL_U32X4 - 1] & VK_TEXEL_UNIFORM) &&
                (vk_bind_texel_span(ctx, x) + 15) / 16 <= info->max_texel_buffer_elements;
    for (int i = 1; i < 4; i++) whole = whole && x->nb[i] % 16 == 0 && y->nb[i] % 16 == 0;
    if (!whole) return vk_op_convert(s, y, x);
    int64_t nrows = x->ne[1] * x->ne[2] * x->ne[3];
    pc_attn_rows pc = {.n4 = vkc_u32(x->ne[0] / 4), .ne1 = vkc_u32(x->ne[1]), .ne2 = vkc_u32(x->ne[2]), .nrows = vkc_u32(nrows),
                       .sx1 = vkc_u32(x->nb[1] / 16), .sx2 = vkc_u32(x->nb[2] / 16), .sx3 = vkc_u32(x->nb[3] / 16), .ox = ox / 4,
                       .sy1 = vkc_u32(y->nb[1] / 16), .sy2 = vkc_u32(y->nb[2] / 16), .sy3 = vkc_u32(y->nb[3] / 16), .oy = oy / 4};
    uint32_t wg = vkc_wg(ctx, info->subgroup_size >= 4 && info->subgroup_size <= 64 ? info->subgroup_size : 8);
    vk_bind b[2] = {{x, 0}, {y, 1}};
    vk_dispatch_desc d = {.shader = "attn_rows", .spec = &wg, .n_spec = 1, .binds = b, .n_binds = 2, .push = &pc, .push_size = sizeof pc};
    d.texel[0] = VK_TEXEL_U32X4;
    vk_split_groups(ctx, (uint32_t)((nrows * (x->ne[0] / 4) + wg - 1) / wg), d.groups);
    return vk_dispatch(s, &d);
}

/* ---- CPU devices: full-mask attention of small heads (the vision towers at hd <= ATTN_VIT_MAX_HD; no causal mask,
 * window or n_kv; F32 K/V), attn_vit.comp: one dispatch for all heads, TQ queries a lane, the scores in registers.
 * The goldens' tower (784 patches, 4 heads of hd 16) spent ~8.6 ms a head in the GEMM path above, 5.5 of them in
 * Q·Kᵀ's score stores (docs/PERFORMANCE.md section 41). MOEVK_ATTN_VIT=0 keeps the GEMM / lane paths (A/B timing,
 * tests); MOEVK_ATTN_VIT_TQ=N sets the queries a lane (A/B timing). */
#define ATTN_VIT_MAX_HD 16 /* measured at hd 16 only; the embedded model's tower (hd 32) keeps attn_lane */
#define ATTN_VIT_TQ 4

/* Whether attn_vit takes this call: its device, mask and shape, and every K/V/Q/out offset and stride in whole
   vec4s inside the texel views (else the paths below). */
static int attn_vit_on(vk_ctx *ctx, const mvk_tensor *out, const mvk_tensor *q, const mvk_tensor *k, const mvk_tensor *v,
                       const mvk_tensor *n_kv, const vk_attn_params *p) {
    const vk_device_info *info = vk_ctx_info(ctx);
    int64_t hd = q->ne[0], Tq = q->ne[2], Tk = k->ne[2];
    if (getenv_is0("MOEVK_ATTN_VIT") || info->kind != VK_KIND_CPU || p->causal || p->window || n_kv) return 0;
    if (k->type != MVK_TYPE_F32 || hd % 4 || hd > ATTN_VIT_MAX_HD || Tq < ATTN_LANE_MIN_TQ || Tk / 4 >= 65535) return 0;
    if (!(info->texel_support[VK_TEXEL_U32X4 - 1] & VK_TEXEL_UNIFORM)) return 0;
    const mvk_tensor *tx[3] = {q, k, v};
    for (int i = 0; i < 3; i++) {
        if (vk_bind_texel_offset(ctx, tx[i], 4) % 4 || tx[i]->nb[1] % 16 || tx[i]->nb[2] % 16 ||
            (vk_bind_texel_span(ctx, tx[i]) + 15) / 16 > info->max_texel_buffer_elements)
            return 0;
    }
    return vk_bind_elem_offset(ctx, out, 4) % 4 == 0 && out->nb[1] % 16 == 0 && out->nb[2] % 16 == 0;
}

static moevk_status attn_vit(vk_stream *s, const mvk_tensor *out, const mvk_tensor *q, const mvk_tensor *k, const mvk_tensor *v,
                             const vk_attn_params *p) {
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *info = vk_ctx_info(ctx);
    int64_t hd = q->ne[0], Hq = q->ne[1], Tq = q->ne[2], Hkv = k->ne[1], Tk = k->ne[2];
    const char *e = getenv("MOEVK_ATTN_VIT_TQ");
    uint32_t TQ = e && atoi(e) > 0 && atoi(e) <= 16 ? (uint32_t)atoi(e) : ATTN_VIT_TQ;
    uint32_t wg = vkc_wg(ctx, info->subgroup_size >= 4 && info->subgroup_size <= 64 ? info->subgroup_size : 8);
    int64_t ngx = (Tq + (int64_t)wg * TQ - 1) / ((int64_t)wg * TQ);
    if (ngx > info->max_workgroup_count[0] || Hq > info->max_workgroup_count[1])
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "vk_op_attention: %lld queries x %lld heads is too many workgroups", (long long)Tq,
                        (long long)Hq);
    pc_attn_vit pc = {.Tq = vkc_u32(Tq), .Tk = vkc_u32(Tk), .G = vkc_u32(Hq / Hkv),
                      .sq1 = vkc_u32(q->nb[1] / 16), .sq2 = vkc_u32(q->nb[2] / 16), .sk1 = vkc_u32(k->nb[1] / 16),
                      .sk2 = vkc_u32(k->nb[2] / 16), .sv1 = vkc_u32(v->nb[1] / 16), .sv2 = vkc_u32(v->nb[2] / 16),
                      .so1 = vkc_u32(out->nb[1] / 16), .so2 = vkc_u32(out->nb[2] / 16),
                      .oq = vk_bind_texel_offset(ctx, q, 4) / 4, .ok = vk_bind_texel_offset(ctx, k, 4) / 4,
                      .ov = vk_bind_texel_offset(ctx, v, 4) / 4, .oo = vk_bind_elem_offset(ctx, out, 4) / 4, .scale = p->scale};
    uint32_t spec[3] = {wg, (uint32_t)(hd / 4), TQ};
    vk_bind b[4] = {{q, 0}, {k, 0}, {v, 0}, {out, 1}};
    vk_dispatch_desc d = {.shader = "attn_vit", .spec = spec, .n_spec = 3, .binds = b, .n_binds = 4, .push = &pc, .push_size = sizeof pc,
                          .groups = {(uint32_t)ngx, (uint32_t)Hq, 1}};
    d.texel[0] = d.texel[1] = d.texel[2] = VK_TEXEL_U32X4;
    return vk_dispatch(s, &d);
}

static moevk_status attn_lane(vk_stream *s, const mvk_tensor *out, const mvk_tensor *q, const mvk_tensor *k, const mvk_tensor *v,
                              int64_t nkv, const vk_attn_params *p) {
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *info = vk_ctx_info(ctx);
    int64_t hd = q->ne[0], Hq = q->ne[1], Tq = q->ne[2], Hkv = k->ne[1];
    int64_t G = Hq / Hkv, ekv = k->type == MVK_TYPE_F16 ? 2 : 4;
    int64_t qc = Tq;
    if (p->causal || p->window) {
        const char *e = getenv("MOEVK_ATTN_LANE_QC");
        qc = e && atoll(e) > 0 ? atoll(e) : ATTN_LANE_QC;
    }
    int64_t nkp = (nkv + 7) / 8 * 8;
    int64_t qmax = (int64_t)(ATTN_GEMM_MAX_S / ((uint64_t)nkp * 4 * (uint64_t)G)); /* S [nkp][G·qc] within the cap */
    if (qc > qmax) qc = qmax;
    if (qc < 1) qc = 1;
    if (qc > Tq) qc = Tq;
    int64_t nch = (Tq + qc - 1) / qc, nfull = Tq / qc, rem = Tq - nfull * qc;
    /* the blocks' key ranges: lo and lim never decrease with the query, so [lo of the first query, lim of the last) */
    int64_t kmin = lane_key_lo(p, nkv - Tq) / 8 * 8, kmax = 0, kpmax = 8;
    for (int64_t c = 0; c < nch; c++) {
        int64_t q0 = c * qc, q1 = q0 + qc < Tq ? q0 + qc : Tq;
        int64_t klo = lane_key_lo(p, nkv - Tq + q0) / 8 * 8, khi = lane_key_lim(p, nkv, nkv - Tq + q1 - 1);
        if (khi <= klo) khi = klo + 1 < nkv ? klo + 1 : nkv; /* a block seeing no key: one, masked (rows of zeros) */
        if (khi > kmax) kmax = khi;
        if ((khi - klo + 7) / 8 * 8 > kpmax) kpmax = (khi - klo + 7) / 8 * 8;
    }
    int64_t nkt = kmax - kmin, nktp = (nkt + 7) / 8 * 8;
    int64_t rows = G * qc;
    vk_scratch_mark mark = vk_stream_scratch_mark(s);
    mvk_tensor Qp = *q, Op = *q, VT, S, P; /* Qp, Op: only with perm */
    const char *pe = getenv("MOEVK_ATTN_LANE_PERM");
    int perm = pe ? atoi(pe) != 0 : ATTN_LANE_PERM;
    moevk_status st = MOEVK_OK;
    if (perm) st = vk_stream_scratch(s, MVK_TYPE_F32, hd, qc, Hq, nch, &Qp);                /* [nch][Hq][qc][hd] */
    if (perm && st == MOEVK_OK) st = vk_stream_scratch(s, MVK_TYPE_F32, hd, qc, Hq, nch, &Op); /* [nch][Hq][qc][hd] */
    if (st == MOEVK_OK) st = vk_stream_scratch(s, MVK_TYPE_F32, nktp, hd, Hkv, 1, &VT);     /* [Hkv][hd][nktp] */
    if (st == MOEVK_OK) st = vk_stream_scratch(s, MVK_TYPE_F32, kpmax, rows, 1, 1, &S);     /* [G·qc][kpmax] */
    if (st == MOEVK_OK) st = vk_stream_scratch(s, MVK_TYPE_F32, kpmax, rows, 1, 1, &P);     /* [G·qc][kpmax] */
    /* attn_softmax.comp reads S through a R32G32B32A32 view and writes P as vec4s */
    if (st == MOEVK_OK && (vk_bind_texel_offset(ctx, &S, 4) % 4 || vk_bind_elem_offset(ctx, &P, 4) % 4 ||
                           (vk_bind_texel_span(ctx, &S) + 15) / 16 > info->max_texel_buffer_elements))
        st = mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "vk_op_attention: score scratch not 16-byte aligned or beyond the texel view limit");
    /* Qp <- q, Op -> out: the whole blocks in one copy, the last partial block in another */
    for (int part = 0; perm && st == MOEVK_OK && part < 2; part++) {
        int64_t n = part ? rem : qc, nb = part ? 1 : nfull, c0 = part ? nfull : 0;
        if (!n || !nb) continue;
        int64_t ne[4] = {hd, n, Hq, nb}, snb[4] = {4, q->nb[2], q->nb[1], qc * q->nb[2]};
        int64_t pnb[4] = {4, hd * 4, qc * hd * 4, Hq * qc * hd * 4};
        mvk_tensor src = mvk_tensor_view(q, (uint64_t)(c0 * qc * q->nb[2]), ne, snb);
        mvk_tensor dst = mvk_tensor_view(&Qp, (uint64_t)(c0 * Hq * qc * hd * 4), ne, pnb);
        st = lane_rows(s, &dst, &src);
    }
    /* VT[g][d][j] = V[d][g][kmin + j], keys from nkt up to nktp zero (P is 0 there; the zeros keep 0 · garbage out) */
    if (st == MOEVK_OK && nktp > nkt) st = vk_op_fill_u32(s, VT.buf, VT.off, (uint64_t)(nktp * hd * Hkv * 4), 0);
    if (st == MOEVK_OK) {
        int64_t vne[4] = {1, nkt, hd, Hkv}, vnb[4] = {ekv, v->nb[2], ekv, v->nb[1]};
        int64_t tnb[4] = {4, 4, nktp * 4, hd * nktp * 4};
        mvk_tensor vsrc = mvk_tensor_view(v, (uint64_t)(kmin * v->nb[2]), vne, vnb);
        mvk_tensor vdst = mvk_tensor_view(&VT, 0, vne, tnb);
        st = vk_op_convert(s, &vdst, &vsrc);
    }
    uint32_t wg = vkc_wg(ctx, info->subgroup_size >= 4 && info->subgroup_size <= 64 ? info->subgroup_size : 8);
    for (int64_t c = 0; st == MOEVK_OK && c < nch; c++) {
        int64_t q0 = c * qc, q1 = q0 + qc < Tq ? q0 + qc : Tq;
        int64_t klo = lane_key_lo(p, nkv - Tq + q0) / 8 * 8, khi = lane_key_lim(p, nkv, nkv - Tq + q1 - 1);
        if (khi <= klo) khi = klo + 1 < nkv ? klo + 1 : nkv;
        int64_t nk = khi - klo, kp = (nk + 7) / 8 * 8;
        for (int64_t g = 0; st == MOEVK_OK && g < Hkv; g++) {
            uint64_t blk = (uint64_t)((c * Hq + g * G) * qc * hd * 4); /* this block's G·qc rows in Qp / Op */
            int64_t xne[4] = {hd, rows, 1, 1}, xnb[4] = {4, hd * 4, rows * hd * 4, rows * hd * 4};
            int64_t kne[4] = {hd, nk, 1, 1}, knb[4] = {ekv, k->nb[2], k->nb[2] * nk, k->nb[2] * nk};
            int64_t sne[4] = {nk, rows, 1, 1}, snb[4] = {4, kp * 4, kp * 4 * rows, kp * 4 * rows};
            int64_t pne[4] = {kp, rows, 1, 1};
            int64_t wne[4] = {kp, hd, 1, 1}, wnb[4] = {4, nktp * 4, nktp * 4 * hd, nktp * 4 * hd};
            mvk_tensor qx = perm ? mvk_tensor_view(&Qp, blk, xne, xnb) : *q, ox = perm ? mvk_tensor_view(&Op, blk, xne, xnb) : *q;
            mvk_tensor kg = mvk_tensor_view(k, (uint64_t)(g * k->nb[1] + klo * k->nb[2]), kne, knb);
            mvk_tensor sv = mvk_tensor_view(&S, 0, sne, snb), sall = mvk_tensor_view(&S, 0, pne, snb), pv = mvk_tensor_view(&P, 0, pne, snb);
            mvk_tensor vt = mvk_tensor_view(&VT, (uint64_t)((g * hd * nktp + (klo - kmin)) * 4), wne, wnb);
            if (perm) st = vk_op_matmul(s, &sv, &qx, &kg, NULL);
            for (int64_t j = 0; !perm && st == MOEVK_OK && j < G; j++) { /* head g·G + j: its n queries, rows j·qc.. of S */
                int64_t hne[4] = {hd, q1 - q0, 1, 1}, hnb[4] = {4, q->nb[2], q->nb[2] * (q1 - q0), q->nb[2] * (q1 - q0)};
                int64_t jne[4] = {nk, q1 - q0, 1, 1};
                mvk_tensor qh = mvk_tensor_view(q, (uint64_t)((g * G + j) * q->nb[1] + q0 * q->nb[2]), hne, hnb);
                mvk_tensor sj = mvk_tensor_view(&S, (uint64_t)(j * qc * kp * 4), jne, snb);
                st = vk_op_matmul(s, &sj, &qh, &kg, NULL);
            }
            if (st != MOEVK_OK) break;
            pc_attn_softmax pc = {.nrows = vkc_u32(rows), .rpq = vkc_u32(qc), .q0 = vkc_u32(q0), .Tq = vkc_u32(Tq),
                                  .nkv = vkc_u32(nkv), .klo = vkc_u32(klo), .nk = vkc_u32(nk), .kp4 = vkc_u32(kp / 4),
                                  .os = vk_bind_texel_offset(ctx, &sall, 4), .op = vk_bind_elem_offset(ctx, &pv, 4), .causal = p->causal != 0, .scale = p->scale,
                                  .window = (uint32_t)p->window, .nc_lo = p->nc_hi > p->nc_lo ? (uint32_t)p->nc_lo : 0,
                                  .nc_hi = p->nc_hi > p->nc_lo ? (uint32_t)p->nc_hi : 0};
            vk_bind b[2] = {{&sall, 0}, {&pv, 1}};
            vk_dispatch_desc d = {.shader = "attn_softmax", .spec = &wg, .n_spec = 1, .binds = b, .n_binds = 2, .push = &pc,
                                  .push_size = sizeof pc};
            d.texel[0] = VK_TEXEL_U32X4;
            vk_split_groups(ctx, (uint32_t)((rows + wg - 1) / wg), d.groups);
            st = vk_dispatch(s, &d);
            if (st == MOEVK_OK && perm) st = vk_op_matmul(s, &ox, &pv, &vt, NULL);
            for (int64_t j = 0; !perm && st == MOEVK_OK && j < G; j++) { /* straight into out's rows of head g·G + j */
                int64_t pjne[4] = {kp, q1 - q0, 1, 1}, one[4] = {hd, q1 - q0, 1, 1};
                int64_t dnb[4] = {4, out->nb[2], out->nb[2] * (q1 - q0), out->nb[2] * (q1 - q0)};
                mvk_tensor pj = mvk_tensor_view(&P, (uint64_t)(j * qc * kp * 4), pjne, snb);
                mvk_tensor dst = mvk_tensor_view(out, (uint64_t)((g * G + j) * out->nb[1] + q0 * out->nb[2]), one, dnb);
                st = vk_op_matmul(s, &dst, &pj, &vt, NULL);
            }
        }
    }
    for (int part = 0; perm && st == MOEVK_OK && part < 2; part++) {
        int64_t n = part ? rem : qc, nb = part ? 1 : nfull, c0 = part ? nfull : 0;
        if (!n || !nb) continue;
        int64_t ne[4] = {hd, n, Hq, nb}, onb[4] = {4, out->nb[2], out->nb[1], qc * out->nb[2]};
        int64_t pnb[4] = {4, hd * 4, qc * hd * 4, Hq * qc * hd * 4};
        mvk_tensor src = mvk_tensor_view(&Op, (uint64_t)(c0 * Hq * qc * hd * 4), ne, pnb);
        mvk_tensor dst = mvk_tensor_view(out, (uint64_t)(c0 * qc * out->nb[2]), ne, onb);
        st = lane_rows(s, &dst, &src);
    }
    vk_stream_scratch_reset(s, mark);
    return st;
}

/* Split-K merge (attn_combine.comp): part [hd+2][n_chunks][Hq] -> out [hd][Hq]. */
static moevk_status attn_combine(vk_stream *s, const mvk_tensor *out, const mvk_tensor *part, int64_t hd, int64_t Hq, int64_t n_chunks) {
    vk_ctx *ctx = vk_stream_ctx(s);
    pc_attn_combine pc = {.HD = (uint32_t)hd, .n_chunks = (uint32_t)n_chunks, .so1 = vkc_u32(out->nb[1] / 4),
                          .oo = vk_bind_elem_offset(ctx, out, 4)};
    uint32_t wg = vkc_wg(ctx, hd <= 64 ? 64 : 128);
    vk_bind b[2] = {{part, 0}, {out, 1}};
    vk_dispatch_desc d = {.shader = "attn_combine", .spec = &wg, .n_spec = 1, .binds = b, .n_binds = 2, .push = &pc,
                          .push_size = sizeof pc, .groups = {(uint32_t)Hq, 1, 1}};
    if (Hq > vk_ctx_info(ctx)->max_workgroup_count[0]) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "vk_op_attention: too many heads");
    return vk_dispatch(s, &d);
}

/* Head dims above ATTN_FUSED_MAX_HD: attn_wide.comp, one dispatch over (row
 * blocks, KV heads, dim blocks x chunks); Tq == 1 splits the keys into
 * chunks of ATTN_WIDE_CK whose partials attn_combine.comp merges. */
static moevk_status attn_wide(vk_stream *s, const mvk_tensor *out, const mvk_tensor *q, const mvk_tensor *k, const mvk_tensor *v,
                              const mvk_tensor *n_kv, const vk_attn_params *p) {
    const char *op = "vk_op_attention";
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *info = vk_ctx_info(ctx);
    int64_t hd = q->ne[0], Hq = q->ne[1], Tq = q->ne[2], Hkv = k->ne[1], Tk = k->ne[2];
    uint32_t G = (uint32_t)(Hq / Hkv), kvu = k->type == MVK_TYPE_F16 ? 2 : 4;
    int split = Tq == 1, span = p->nc_hi > p->nc_lo;
    int64_t nd = (hd + ATTN_WIDE_DB - 1) / ATTN_WIDE_DB, n_chunks = split ? (Tk + ATTN_WIDE_CK - 1) / ATTN_WIDE_CK : 1;
    if (n_chunks < 1) n_chunks = 1;
    int64_t nrows = (int64_t)G * Tq;
    /* one workgroup size for every shape: each (hd, KV type, BR) is a pipeline costing 10-30 s to compile
     * on lavapipe; rows past nrows skip the key loop, so a short decode wastes no work there */
    uint32_t BR = vkc_wg(ctx, 64);
    int64_t nblk = (nrows + BR - 1) / BR;
    /* Mesa's lavapipe ends a shader loop after 65535 iterations (the key loop walks one key a turn) */
    if (!split && info->kind == VK_KIND_CPU && Tk >= 65535)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %lld keys exceeds the CPU driver's loop limit for one prefill dispatch", op,
                        (long long)Tk);
    if (nblk > info->max_workgroup_count[0] || nrows > UINT32_MAX)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %lld query rows is too many for one dispatch", op, (long long)nrows);
    if (nd * n_chunks > info->max_workgroup_count[2])
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: head dim %lld over %lld keys needs %lld workgroups in z (max %u)", op,
                        (long long)hd, (long long)Tk, (long long)(nd * n_chunks), info->max_workgroup_count[2]);
    mvk_tensor part;
    if (split) MVK_TRY(vk_stream_scratch(s, MVK_TYPE_F32, (hd + 2) * n_chunks * Hq, 1, 1, 1, &part));
    const mvk_tensor *dst = split ? &part : out;
    pc_attn_wide pc = {
        .Tq = vkc_u32(Tq), .G = G, .Tk = vkc_u32(Tk), .nrows = vkc_u32(nrows),
        .sq1 = vkc_u32(q->nb[1] / 4), .sq2 = vkc_u32(q->nb[2] / 4), .sk1 = vkc_u32(k->nb[1] / kvu), .sk2 = vkc_u32(k->nb[2] / kvu),
        .sv1 = vkc_u32(v->nb[1] / kvu), .sv2 = vkc_u32(v->nb[2] / kvu), .so1 = vkc_u32(out->nb[1] / 4), .so2 = vkc_u32(out->nb[2] / 4),
        .oq = vk_bind_elem_offset(ctx, q, 4), .ok = vk_bind_elem_offset(ctx, k, kvu), .ov = vk_bind_elem_offset(ctx, v, kvu),
        .oo = vk_bind_elem_offset(ctx, dst, 4), .on = n_kv ? vk_bind_elem_offset(ctx, n_kv, 4) : 0,
        .has_nkv = n_kv != NULL, .causal = p->causal != 0, .CK = split ? ATTN_WIDE_CK : 0, .nd = (uint32_t)nd, .scale = p->scale,
        .window = (uint32_t)p->window, .nc_lo = span ? (uint32_t)p->nc_lo : 0, .nc_hi = span ? (uint32_t)p->nc_hi : 0};
    uint32_t spec[3] = {BR, (uint32_t)hd, ATTN_WIDE_DB};
    vk_bind binds[5] = {{q, 0}, {k, 0}, {v, 0}, {dst, 1}, {n_kv ? n_kv : q, 0}};
    char name[32];
    snprintf(name, sizeof name, "attn_wide_%s", k->type == MVK_TYPE_F16 ? "f16" : "f32");
    vk_dispatch_desc d = {.shader = name, .spec = spec, .n_spec = 3, .binds = binds, .n_binds = 5, .push = &pc, .push_size = sizeof pc,
                          .groups = {(uint32_t)nblk, (uint32_t)Hkv, (uint32_t)(nd * n_chunks)}};
    MVK_TRY(vk_dispatch(s, &d));
    return split ? attn_combine(s, out, &part, hd, Hq, n_chunks) : MOEVK_OK;
}

static moevk_status check_kv(const char *op, const char *what, const mvk_tensor *t) {
    if (!t || !t->buf) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (t->type == MVK_TYPE_F32) return vkc_f32(op, what, t);
    if (t->type != MVK_TYPE_F16)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s must be f32 or f16, got %s", op, what, vkc_type(t->type));
    MVK_TRY(vkc_tensor(op, what, t, MVK_TYPE_F16, 2));
    if (t->off % 4 || t->nb[1] % 4 || t->nb[2] % 4)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: f16 %s needs 4-byte aligned offset and row strides", op, what);
    return MOEVK_OK;
}

moevk_status vk_op_attention(vk_stream *s, const mvk_tensor *out, const mvk_tensor *q, const mvk_tensor *k, const mvk_tensor *v,
                             const mvk_tensor *n_kv, const vk_attn_params *p) {
    const char *op = "vk_op_attention";
    if (!s || !p) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL %s", op, s ? "params" : "stream");
    MVK_TRY(vkc_f32(op, "q", q));
    MVK_TRY(vkc_f32(op, "out", out));
    MVK_TRY(check_kv(op, "k", k));
    MVK_TRY(check_kv(op, "v", v));
    MVK_TRY(vkc_same_shape(op, "out", out, "q", q));
    MVK_TRY(vkc_same_shape(op, "v", v, "k", k));
    if (k->type != v->type)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: k (%s) and v (%s) must have the same type", op, vkc_type(k->type), vkc_type(v->type));
    if (q->ne[3] != 1 || k->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, "%s: q and k must be 3-D (ne[3] = 1)", op);
    int64_t hd = q->ne[0], Hq = q->ne[1], Tq = q->ne[2], Hkv = k->ne[1], Tk = k->ne[2];
    if (k->ne[0] != hd)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: q has head dim %lld but k has %lld", op, (long long)hd, (long long)k->ne[0]);
    if (hd % 2 || hd > ATTN_MAX_HD)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: head dim %lld must be even and <= %d", op, (long long)hd, ATTN_MAX_HD);
    if (Hq % Hkv)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: %lld query heads is not a multiple of %lld KV heads (GQA)", op, (long long)Hq,
                        (long long)Hkv);
    if (n_kv) {
        MVK_TRY(vkc_tensor(op, "n_kv", n_kv, MVK_TYPE_I32, 4));
        if (mvk_tensor_nelements(n_kv) != 1)
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: n_kv must be I32 [1], got %lld elements", op, (long long)mvk_tensor_nelements(n_kv));
    }
    if (!isfinite(p->scale)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: scale is not finite", op);
    if (p->window < 0 || p->nc_lo < 0 || p->nc_hi < 0 || p->n_kv_host < 0)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: window %d / span [%d, %d) / n_kv_host %d must not be negative", op, p->window,
                        p->nc_lo, p->nc_hi, p->n_kv_host);
    const int span = p->nc_hi > p->nc_lo;
    if (span && (!p->causal || q->ne[2] == 1))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: a both-ways span [%d, %d) needs a causal prefill", op, p->nc_lo, p->nc_hi);
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *info = vk_ctx_info(ctx);
    uint32_t G = (uint32_t)(Hq / Hkv);
    uint32_t kvu = k->type == MVK_TYPE_F16 ? 2 : 4; /* element units of the K/V bindings */
    uint32_t shared = info->max_shared_memory ? info->max_shared_memory : 16384;
    if (Hkv > info->max_workgroup_count[1])
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %lld KV heads exceeds maxComputeWorkGroupCount[1]", op, (long long)Hkv);
    const char *f16 = k->type == MVK_TYPE_F16 ? "f16" : "f32";

    /* CPU devices, full masks of small heads (Tq >= ATTN_LANE_MIN_TQ: decode never takes it) */
    if (attn_vit_on(ctx, out, q, k, v, n_kv, p)) return attn_vit(s, out, q, k, v, p);
    /* the GEMM path needs Tq >= ATTN_GEMM_MIN_TQ: decode never takes it, so testing it first changes no path */
    if (!p->causal && !p->window && !n_kv && Tq >= ATTN_GEMM_MIN_TQ && hd >= attn_gemm_min_hd(info, hd, Tq) && Tk <= ATTN_GEMM_MAX_TK)
        return attn_gemm(s, out, q, k, v, p);
    /* full masks without n_kv (the vision towers) below the GEMM path's thresholds: attn_lane too (all Tk keys) */
    int masked = p->causal || p->window || n_kv;
    if (attn_lane_on(info, hd, Tq) && (masked ? !n_kv || p->n_kv_host > 0 : attn_lane_full())) {
        int64_t nkv = n_kv && p->n_kv_host < Tk ? p->n_kv_host : Tk; /* the shaders clamp n_kv to Tk */
        if (nkv <= ATTN_GEMM_MAX_TK) return attn_lane(s, out, q, k, v, nkv, p);
    }
    if (hd > ATTN_FUSED_MAX_HD) return attn_wide(s, out, q, k, v, n_kv, p);

    /* the keys a decode query can see: all Tk, or the n_kv the host knows (the shaders still read n_kv and clamp to it) */
    const int64_t dkeys = n_kv && p->n_kv_host > 0 && p->n_kv_host < Tk ? p->n_kv_host : Tk;
    if (Tq == 1 && !attn_decode_fused(info, Tk, dkeys)) {
        /* ---- decode: split-K over chunks of C keys, GW heads per workgroup */
        uint32_t C = 128;
        uint32_t GW = 1;
        for (uint32_t g = 1; g <= G && g <= 16; g++)
            if (G % g == 0 && (g * (uint32_t)hd + g * C + g) * 4 <= shared / 2) GW = g;
        /* the chunks cover the keys the query can see; one chunk writes the output itself (DIRECT) and needs
           no attn_combine */
        int64_t keys = dkeys;
        int64_t n_chunks = (keys + C - 1) / C;
        if (n_chunks < 1) n_chunks = 1;
        if (n_chunks > info->max_workgroup_count[0])
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %lld keys needs too many chunks", op, (long long)keys);
        const uint32_t direct = n_chunks == 1 && !getenv_is0("MOEVK_ATTN_DIRECT");
        mvk_tensor part = *out;
        if (!direct) MVK_TRY(vk_stream_scratch(s, MVK_TYPE_F32, (hd + 2) * n_chunks * Hq, 1, 1, 1, &part));
        pc_attn_decode pc = {
            .G = G, .Tk = vkc_u32(Tk), .n_chunks = vkc_u32(n_chunks), .sq1 = vkc_u32(q->nb[1] / 4),
            .sk1 = vkc_u32(k->nb[1] / kvu), .sk2 = vkc_u32(k->nb[2] / kvu), .sv1 = vkc_u32(v->nb[1] / kvu),
            .sv2 = vkc_u32(v->nb[2] / kvu), .oq = vk_bind_elem_offset(ctx, q, 4), .ok = vk_bind_elem_offset(ctx, k, kvu),
            .ov = vk_bind_elem_offset(ctx, v, kvu), .on = n_kv ? vk_bind_elem_offset(ctx, n_kv, 4) : 0,
            .has_nkv = n_kv != NULL, .scale = p->scale, .window = (uint32_t)p->window,
            .oo = direct ? vk_bind_elem_offset(ctx, out, 4) : 0, .so1 = direct ? vkc_u32(out->nb[1] / 4) : 0};
        uint32_t spec[5] = {vkc_wg(ctx, 128), (uint32_t)hd, C, GW, direct};
        vk_bind binds[5] = {{q, 0}, {k, 0}, {v, 0}, {&part, 1}, {n_kv ? n_kv : q, 0}};
        char name[32];
        snprintf(name, sizeof name, "attn_decode_%s", f16);
        vk_dispatch_desc d = {.shader = name, .spec = spec, .n_spec = 5, .binds = binds, .n_binds = 5, .push = &pc, .push_size = sizeof pc,
                              .groups = {(uint32_t)n_chunks, (uint32_t)Hkv, G / GW}};
        MVK_TRY(vk_dispatch(s, &d));
        return direct ? MOEVK_OK : attn_combine(s, out, &part, hd, Hq, n_chunks);
    }

    /* ---- prefill: BR rows (query, head-in-group) per workgroup, keys in unrolled blocks of BC */
    int64_t nrows = (int64_t)G * Tq;
    uint32_t BR = vkc_wg(ctx, 64);
    while (BR > 8 && (int64_t)BR / 2 >= nrows) BR /= 2;
    uint32_t BC = hd > 64 ? 4 : 8;
    /* Mesa's lavapipe ends a shader loop after 65535 iterations (the key-block loop) */
    if (info->kind == VK_KIND_CPU && (Tk + BC - 1) / BC >= 65535)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %lld keys exceeds the CPU driver's loop limit for one prefill dispatch", op,
                        (long long)Tk);
    int64_t nblk = (nrows + BR - 1) / BR;
    if (nblk > info->max_workgroup_count[0] || nrows > UINT32_MAX)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %lld query rows is too many for one dispatch", op, (long long)nrows);
    pc_attn_prefill pc = {
        .Tq = vkc_u32(Tq), .G = G, .Tk = vkc_u32(Tk), .nrows = vkc_u32(nrows),
        .sq1 = vkc_u32(q->nb[1] / 4), .sq2 = vkc_u32(q->nb[2] / 4), .sk1 = vkc_u32(k->nb[1] / kvu), .sk2 = vkc_u32(k->nb[2] / kvu),
        .sv1 = vkc_u32(v->nb[1] / kvu), .sv2 = vkc_u32(v->nb[2] / kvu), .so1 = vkc_u32(out->nb[1] / 4), .so2 = vkc_u32(out->nb[2] / 4),
        .oq = vk_bind_elem_offset(ctx, q, 4), .ok = vk_bind_elem_offset(ctx, k, kvu), .ov = vk_bind_elem_offset(ctx, v, kvu),
        .oo = vk_bind_elem_offset(ctx, out, 4), .on = n_kv ? vk_bind_elem_offset(ctx, n_kv, 4) : 0,
        .has_nkv = n_kv != NULL, .causal = p->causal != 0, .scale = p->scale, .window = (uint32_t)p->window,
        .nc_lo = span ? (uint32_t)p->nc_lo : 0, .nc_hi = span ? (uint32_t)p->nc_hi : 0};
    uint32_t spec[3] = {BR, (uint32_t)hd, BC};
    vk_bind binds[5] = {{q, 0}, {k, 0}, {v, 0}, {out, 1}, {n_kv ? n_kv : q, 0}};
    char name[32];
    snprintf(name, sizeof name, "attn_prefill_%s", f16);
    vk_dispatch_desc d = {.shader = name, .spec = spec, .n_spec = 3, .binds = binds, .n_binds = 5, .push = &pc, .push_size = sizeof pc,
                          .groups = {(uint32_t)nblk, (uint32_t)Hkv, 1}};
    return vk_dispatch(s, &d);
}
