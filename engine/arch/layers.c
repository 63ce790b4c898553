/* layers.c — the layer toolkit the families record their layers with (layers.h): Qwen3 attention
 * with QK-norm (and its gated form), the Gated DeltaNet mixer, the MoE FFN (hiding expert streaming;
 * with a gated shared expert where the layer has one), the dense SwiGLU FFN, DeepStack, Gemma 4's
 * attention (per-layer geometry, sliding window, V norm, post-norm) and FFN (dense GeGLU beside
 * GeGLU experts, post-norms, output scale: docs/families/gemma4.md). Spec:
 * shared/docs/qwen3vl-moe.md §3.9-§3.11; llama.cpp src/llama-graph.cpp build_attn / build_moe_ffn. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "mvk_status.h"

/* Fewer dispatches for the same math (issue 19 item 2): q and k normed and rotated by one dispatch each in a
 * decode step, the K and V cache writes in one, the expert combine writing into the residual stream.
 * MOEVK_FUSE=0 records the separate ops (the before of a measurement). Read when a step is recorded. */
static int fuse_on(void) {
    const char *e = getenv("MOEVK_FUSE");
    return !(e && !strcmp(e, "0"));
}

/* RMSNorm of x into y where lane mat-vecs read y next (q, k and v; gate and up; the experts): in a decode step
 * (T = 1) also y's int8 form in the same dispatch where those mat-vecs take int8 x, so that none records a
 * quant_x (vk_rms_norm_xq_shared: CPU devices; MOEVK_FUSE_XQ=0 the separate ops). y is the same either way. */
static moevk_status norm_mv(vk_stream *st, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, float eps, int64_t T) {
    return T == 1 ? vk_rms_norm_xq_shared(st, y, x, w, eps) : vk_op_rms_norm(st, y, x, w, eps);
}

/* Prefill streaming, after the gate of MoE layer j was recorded: runs what is
 * recorded so far, reads the layer's routed ids and plans the rounds (each at
 * most S distinct experts). Returns the number of rounds. */
static moevk_status prefill_gate(moevk_model *m, vk_stream *st, const mvk_lm_io *io, int j, int *n_rounds) {
    const int64_t k = m->hp.n_expert_used, T = io->T;
    MVK_TRY(vk_stream_cut(st));
    MVK_TRY(vk_stream_submit_segment(st, vk_stream_segment_count(st) - 2));
    MVK_TRY(vk_download(m->ctx, io->rt_ids->buf, io->rt_ids->off + (uint64_t)(j * k * T * 4), io->ids_host, (uint64_t)(k * T * 4)));
    *n_rounds = mvk_xc_plan_rounds(&m->xc, j, io->ids_host, (int)(k * T), io->round_of);
    return MOEVK_OK;
}

/* Prefill round r of MoE layer j: makes its experts resident and writes the
 * slot ids (entries of other rounds get -1: zero rows). For r > 0 the
 * previous round's recorded work runs first (its slots may be reused). */
static moevk_status prefill_round(moevk_model *m, vk_stream *st, const mvk_lm_io *io, int j, int r) {
    const int n = (int)(m->hp.n_expert_used * io->T);
    if (r > 0) {
        MVK_TRY(vk_stream_cut(st));
        MVK_TRY(vk_stream_submit_segment(st, vk_stream_segment_count(st) - 2));
    }
    for (int i = 0; i < n; i++) {
        int e = io->ids_host[i];
        io->round_ids[i] = (e >= 0 && e < m->hp.n_expert && io->round_of[e] == r) ? e : -1;
    }
    return mvk_xc_resolve(&m->xc, m->ctx, j, io->round_ids, io->slot_host, n, 0);
}

/* The routed experts of one MoE layer: gate and up matmuls, SwiGLU (GeGLU), down
 * matmul into dn [E][k][T]. w3: the gate, up and down weights [K][N][E or S];
 * ids: expert (or slot) ids [k][T]. acc: add into dn instead of writing it
 * (prefill rounds; entries of other rounds are exact zeros). */
static moevk_status record_experts(vk_stream *st, const mvk_tensor *u, const mvk_tensor *const w3[3], const mvk_tensor *ids,
                                   const mvk_tensor *dn, int acc, int geglu, int64_t E, int64_t F, int64_t k, int64_t T) {
    moevk_status s = MOEVK_OK;
    mvk_tensor g, tmp;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, F, k, T, 1, &g));
    /* gate, up and the activation (vk_op_gateup_id: one pass in decode on CPU devices for float and Q4_K weights, vk_op_gateup.c fuse_allowed) */
    TRY(vk_op_gateup_id(st, &g, u, w3[0], w3[1], ids, geglu ? VK_GLU_GEGLU : VK_GLU_SWIGLU));
    if (!acc) {
        TRY(vk_op_mul_mat_id(st, dn, &g, w3[2], ids));
    } else {
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, k, T, 1, &tmp));
        TRY(vk_op_mul_mat_id(st, &tmp, &g, w3[2], ids));
        TRY(vk_op_add(st, dn, dn, &tmp));
    }
done:
    return s;
}

/* Attention with QK-norm; gated: attn_q's rows hold per head hd queries then hd gate values, and the
 * attention output is multiplied by sigmoid(gate) before Wo (qwen35). */
static moevk_status attn_qk_norm(const mvk_lm_rec *r, int il, int gated) {
    moevk_model *m = r->m;
    vk_stream *st = r->st;
    const mvk_lm_io *io = r->io;
    const mvk_text_hparams *hp = &m->hp;
    const mvk_lm_layer *l = &m->w.layers[il];
    moevk_status s = MOEVK_OK;
    const int64_t T = io->T, E = hp->n_embd, hd = hp->head_dim, hdv = hp->head_dim_v, Hq = hp->n_head, Hk = hp->n_head_kv;
    const int64_t n_ctx = m->seq.n_ctx;
    vk_rope_params rp = {.mode = hp->rope_mode == MVK_ROPE_IMROPE ? VK_ROPE_IMROPE : VK_ROPE_NEOX,
                         .n_dims = hp->n_rot, .freq_base = hp->rope_freq_base,
                         .sections = {hp->rope_sections[0], hp->rope_sections[1], hp->rope_sections[2], hp->rope_sections[3]}};
    vk_attn_params ap = {.scale = 1.0f / sqrtf((float)hd), .causal = 1, .n_kv_host = io->n_kv_host};
    mvk_tensor a, q, kk, v, qn, kn, qr, kr, att;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &a));
    TRY(norm_mv(st, &a, io->h, &l->attn_norm, hp->rms_eps, T));
    const int64_t qw = gated ? 2 : 1; /* gated: [hd queries | hd gates] per head */
    const int64_t qne[4] = {hd, Hq, T, 1}, qnb[4] = {4, qw * hd * 4, qw * hd * Hq * 4, qw * hd * Hq * T * 4};
    /* a decode step: the token's q and k heads side by side, [hd][Hq + Hk], normed (each with its weight)
       and rotated by one op (vk_op_rms_norm_rope_split); the same values as the separate ops (row by row, same sums) */
    const int qk_one = T == 1 && !gated && fuse_on();
    mvk_tensor qk, qkr;
    if (qk_one) {
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq + Hk, 1, 1, &qk)); /* [1][Hq + Hk][hd] */
        q = mvk_tensor_make(qk.buf, qk.off, MVK_TYPE_F32, Hq * hd, 1, 1, 1);                          /* [1][Hq * hd] */
        kk = mvk_tensor_make(qk.buf, qk.off + (uint64_t)(Hq * hd * 4), MVK_TYPE_F32, Hk * hd, 1, 1, 1); /* [1][Hk * hd] */
    } else {
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, qw * Hq * hd, T, 1, 1, &q));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hk * hd, T, 1, 1, &kk));
    }
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hk * hdv, T, 1, 1, &v));
    TRY(vk_op_matmul(st, &q, &a, &l->wq, NULL));
    TRY(vk_op_matmul(st, &kk, &a, &l->wk, NULL));
    TRY(vk_op_matmul(st, &v, &a, &l->wv, NULL));
    if (qk_one) { /* normed and rotated by one op (one dispatch on CPU devices) */
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq + Hk, 1, 1, &qkr)); /* [1][Hq + Hk][hd] */
        TRY(vk_op_rms_norm_rope_split(st, &qkr, &qk, &l->q_norm, &l->k_norm, Hq, hp->rms_eps, io->pos, &rp));
        qr = mvk_tensor_make(qkr.buf, qkr.off, MVK_TYPE_F32, hd, Hq, 1, 1);                          /* [1][Hq][hd] */
        kr = mvk_tensor_make(qkr.buf, qkr.off + (uint64_t)(Hq * hd * 4), MVK_TYPE_F32, hd, Hk, 1, 1); /* [1][Hk][hd] */
    } else {
        /* per-head RMSNorm of Q and K (before RoPE); the queries of a gated projection are a strided view */
        mvk_tensor q3 = mvk_tensor_view(&q, 0, qne, qnb), k3 = mvk_as3d(&kk, hd, Hk, T);
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq, T, 1, &qn));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hk, T, 1, &kn));
        TRY(vk_op_rms_norm(st, &qn, &q3, &l->q_norm, hp->rms_eps));
        TRY(vk_op_rms_norm(st, &kn, &k3, &l->k_norm, hp->rms_eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq, T, 1, &qr));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hk, T, 1, &kr));
        TRY(vk_op_rope(st, &qr, &qn, io->pos, &rp));
        TRY(vk_op_rope(st, &kr, &kn, io->pos, &rp));
    }
    /* append K (after RoPE) and V to the cache at the KV indices */
    mvk_tensor kc = mvk_tensor_make(l->k_cache, 0, m->seq.kv_type, Hk * hd, n_ctx, 1, 1);
    mvk_tensor vcache = mvk_tensor_make(l->v_cache, 0, m->seq.kv_type, Hk * hdv, n_ctx, 1, 1);
    mvk_tensor kr2 = mvk_as2d(&kr, Hk * hd, T);
    if (fuse_on()) TRY(vk_op_set_rows2(st, &kc, &kr2, &vcache, &v, io->kv_idx)); /* one dispatch */
    else {
        TRY(vk_op_set_rows(st, &kc, &kr2, io->kv_idx));
        TRY(vk_op_set_rows(st, &vcache, &v, io->kv_idx));
    }
    mvk_tensor kc3 = mvk_as3d(&kc, hd, Hk, n_ctx), vc3 = mvk_as3d(&vcache, hdv, Hk, n_ctx);
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, hdv, Hq, T, 1, &att));
    TRY(vk_op_attention(st, &att, &qr, &kc3, &vc3, io->n_kv, &ap));
    if (gated) { /* att [hdv][Hq][T] *= sigmoid(gate), gate: the hd values after each head's queries (hd == hdv) */
        mvk_tensor gate = mvk_tensor_view(&q, (uint64_t)(hd * 4), qne, qnb);
        TRY(vk_op_sigmoid_mul(st, &att, &att, &gate));
    }
    mvk_tensor att2 = mvk_as2d(&att, Hq * hdv, T);
    TRY(vk_op_matmul_ex(st, io->h, &att2, &l->wo, NULL, VK_MM_EPI_ACC)); /* h += o·woᵀ (the residual in the store on CPU devices) */
done:
    return s;
}

moevk_status mvk_attn_qk_norm(const mvk_lm_rec *r, int il) { return attn_qk_norm(r, il, 0); }

moevk_status mvk_attn_gated(const mvk_lm_rec *r, int il) { return attn_qk_norm(r, il, 1); }

static moevk_status router_input(vk_stream *st, const mvk_text_hparams *hp, const mvk_lm_layer *l, const mvk_tensor *x,
                                 int64_t T, mvk_tensor *out);
static moevk_status moe_routed(const mvk_lm_rec *r, int il, const mvk_tensor *u, const mvk_tensor *ru, int geglu,
                               const mvk_tensor *resid, mvk_tensor *moe);

moevk_status mvk_attn_gemma4(const mvk_lm_rec *r, int il) {
    moevk_model *m = r->m;
    vk_stream *st = r->st;
    const mvk_lm_io *io = r->io;
    const mvk_text_hparams *hp = &m->hp;
    const mvk_lm_layer *l = &m->w.layers[il];
    const mvk_attn_geom g = mvk_layer_geom(hp, l->kind);
    const int swa = (l->kind & MVK_LAYER_SWA) != 0;
    moevk_status s = MOEVK_OK;
    const int64_t T = io->T, E = hp->n_embd, hd = g.hd, Hq = hp->n_head, Hk = g.Hkv;
    /* the layer's cache rows (a sliding layer: window + micro-batch) and where this batch's K/V rows go */
    const int64_t rows = mvk_kv_rows(hp, l->kind, m->seq.n_ctx, m->seq.n_ubatch);
    const mvk_tensor *kv_idx = swa ? io->kv_idx_swa : io->kv_idx, *n_kv = swa ? io->n_kv_swa : io->n_kv;
    /* NEOX over the layer's rotated dims; a global layer's pairs divided by rope_freqs (proportional RoPE) */
    vk_rope_params rp = {.mode = VK_ROPE_NEOX, .n_dims = g.n_rot, .freq_base = g.freq_base,
                         .freq_factors = !swa && m->w.rope_freqs.buf ? &m->w.rope_freqs : NULL};
    vk_attn_params ap = {.scale = 1.0f, .causal = 1, .window = g.window, .n_kv_host = swa ? io->n_kv_swa_host : io->n_kv_host};
    if (swa && io->nc_hi > io->nc_lo) { /* an image's rows see each other both ways on the sliding layers */
        ap.nc_lo = io->nc_lo - io->swa_base; /* sequence indices -> the sliding cache's rows */
        ap.nc_hi = io->nc_hi - io->swa_base;
    }
    mvk_tensor a, q, kk, v, qn, kn, vn, qr, kr, att, o, on, qk, qkr;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &a));
    TRY(norm_mv(st, &a, io->h, &l->attn_norm, hp->rms_eps, T));
    const int qk_one = T == 1 && fuse_on(); /* a decode step: q and k heads [hd][Hq + Hk], as attn_qk_norm */
    if (qk_one) {
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq + Hk, 1, 1, &qk)); /* [1][Hq + Hk][hd] */
        q = mvk_tensor_make(qk.buf, qk.off, MVK_TYPE_F32, Hq * hd, 1, 1, 1);                          /* [1][Hq * hd] */
        kk = mvk_tensor_make(qk.buf, qk.off + (uint64_t)(Hq * hd * 4), MVK_TYPE_F32, Hk * hd, 1, 1, 1); /* [1][Hk * hd] */
    } else {
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hq * hd, T, 1, 1, &q));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hk * hd, T, 1, 1, &kk));
    }
    TRY(vk_op_matmul(st, &q, &a, &l->wq, NULL));
    TRY(vk_op_matmul(st, &kk, &a, &l->wk, NULL));
    if (l->wv.buf) {
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hk * hd, T, 1, 1, &v));
        TRY(vk_op_matmul(st, &v, &a, &l->wv, NULL));
    } else {
        v = kk; /* no attn_v: V is the raw K projection (before K's norm and RoPE) */
    }
    /* per-head RMSNorm of Q and K (weighted), of V (weightless), before RoPE */
    mvk_tensor v3 = mvk_as3d(&v, hd, Hk, T);
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hk, T, 1, &vn));
    if (qk_one) {
        TRY(vk_op_rms_norm(st, &vn, &v3, NULL, hp->rms_eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq + Hk, 1, 1, &qkr)); /* [1][Hq + Hk][hd] */
        /* normed and rotated by one op (one dispatch on CPU devices); q and k share the layer's frequencies */
        TRY(vk_op_rms_norm_rope_split(st, &qkr, &qk, &l->q_norm, &l->k_norm, Hq, hp->rms_eps, io->pos, &rp));
        qr = mvk_tensor_make(qkr.buf, qkr.off, MVK_TYPE_F32, hd, Hq, 1, 1);                          /* [1][Hq][hd] */
        kr = mvk_tensor_make(qkr.buf, qkr.off + (uint64_t)(Hq * hd * 4), MVK_TYPE_F32, hd, Hk, 1, 1); /* [1][Hk][hd] */
    } else {
        mvk_tensor q3 = mvk_as3d(&q, hd, Hq, T), k3 = mvk_as3d(&kk, hd, Hk, T);
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq, T, 1, &qn));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hk, T, 1, &kn));
        TRY(vk_op_rms_norm(st, &qn, &q3, &l->q_norm, hp->rms_eps));
        TRY(vk_op_rms_norm(st, &kn, &k3, &l->k_norm, hp->rms_eps));
        TRY(vk_op_rms_norm(st, &vn, &v3, NULL, hp->rms_eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq, T, 1, &qr));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hk, T, 1, &kr));
        TRY(vk_op_rope(st, &qr, &qn, io->pos, &rp));
        TRY(vk_op_rope(st, &kr, &kn, io->pos, &rp));
    }
    /* append K (after RoPE) and V (after its norm) to the layer's cache at the KV indices */
    mvk_tensor kc = mvk_tensor_make(l->k_cache, 0, m->seq.kv_type, Hk * hd, rows, 1, 1);
    mvk_tensor vc = mvk_tensor_make(l->v_cache, 0, m->seq.kv_type, Hk * hd, rows, 1, 1);
    mvk_tensor kr2 = mvk_as2d(&kr, Hk * hd, T), vn2 = mvk_as2d(&vn, Hk * hd, T);
    if (fuse_on()) TRY(vk_op_set_rows2(st, &kc, &kr2, &vc, &vn2, kv_idx)); /* one dispatch */
    else {
        TRY(vk_op_set_rows(st, &kc, &kr2, kv_idx));
        TRY(vk_op_set_rows(st, &vc, &vn2, kv_idx));
    }
    mvk_tensor kc3 = mvk_as3d(&kc, hd, Hk, rows), vc3 = mvk_as3d(&vc, hd, Hk, rows);
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq, T, 1, &att));
    TRY(vk_op_attention(st, &att, &qr, &kc3, &vc3, n_kv, &ap));
    mvk_tensor att2 = mvk_as2d(&att, Hq * hd, T);
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &o));
    TRY(vk_op_matmul(st, &o, &att2, &l->wo, NULL));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &on));
    TRY(vk_op_rms_norm(st, &on, &o, &l->post_attn_norm, hp->rms_eps));
    TRY(vk_op_add(st, io->h, &on, io->h)); /* llama.cpp: attn_out = post_norm(o) + h */
done:
    return s;
}

moevk_status mvk_ffn_gemma4(const mvk_lm_rec *r, int il) {
    moevk_model *m = r->m;
    vk_stream *st = r->st;
    const mvk_lm_io *io = r->io;
    const mvk_text_hparams *hp = &m->hp;
    const mvk_lm_layer *l = &m->w.layers[il];
    moevk_status s = MOEVK_OK;
    const int64_t T = io->T, E = hp->n_embd, F = hp->n_ff;
    mvk_tensor u, g, up, f, fn;
    /* the dense GeGLU MLP (the whole FFN of a dense layer; on a MoE layer the branch beside the experts) */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &u));
    TRY(norm_mv(st, &u, io->h, &l->ffn_norm, hp->rms_eps, T));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, F, T, 1, 1, &g));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, F, T, 1, 1, &up));
    TRY(vk_op_matmul(st, &g, &u, &l->ffn_gate, NULL));
    TRY(vk_op_matmul(st, &up, &u, &l->ffn_up, NULL));
    /* a decode step: with its int8 form for ffn_down's mat-vec (vk_geglu_xq_shared, as norm_mv) */
    TRY(T == 1 ? vk_geglu_xq_shared(st, &g, &g, &up) : vk_op_geglu(st, &g, &g, &up));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &f));
    TRY(vk_op_matmul(st, &f, &g, &l->ffn_down, NULL));
    if (l->kind & MVK_LAYER_MOE) {
        mvk_tensor m1, ue, ru, moe, m2;
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &m1));
        TRY(vk_op_rms_norm(st, &m1, &f, &l->post_ffw_norm_1, hp->rms_eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &ue));
        TRY(vk_op_rms_norm(st, &ue, io->h, &l->pre_ffw_norm_2, hp->rms_eps));
        TRY(router_input(st, hp, l, io->h, T, &ru));
        TRY(moe_routed(r, il, &ue, &ru, 1, NULL, &moe));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &m2));
        TRY(vk_op_rms_norm(st, &m2, &moe, &l->post_ffw_norm_2, hp->rms_eps));
        TRY(vk_op_add(st, &f, &m1, &m2)); /* llama.cpp: mlp + moe */
    }
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &fn));
    TRY(vk_op_rms_norm(st, &fn, &f, &l->post_ffw_norm, hp->rms_eps));
    TRY(vk_op_add(st, io->h, &fn, io->h)); /* post_ffw_norm(f) + attn_out */
    if (l->out_scale.buf) TRY(vk_op_mul(st, io->h, io->h, &l->out_scale)); /* [1] broadcast over the layer output */
done:
    return s;
}

/* Gated DeltaNet (docs/families/qwen35.md §4.1, §9): the projections, the causal conv with its state,
 * L2-normed q/k, the gates, the delta rule on the f32 state (T = 1 in the decode step, the whole batch
 * in one dispatch in a prefill), the gated RMSNorm and ssm_out. */
moevk_status mvk_gated_delta_net(const mvk_lm_rec *r, int il) {
    moevk_model *m = r->m;
    vk_stream *st = r->st;
    const mvk_lm_io *io = r->io;
    const mvk_text_hparams *hp = &m->hp;
    const mvk_lm_layer *l = &m->w.layers[il];
    moevk_status s = MOEVK_OK;
    const int64_t T = io->T, E = hp->n_embd, S = hp->ssm_state, Hk = hp->ssm_groups, Hv = hp->ssm_heads_v;
    const int64_t K = hp->ssm_conv, D = hp->ssm_inner, C = 2 * S * Hk + D; /* conv channels: q | k | v */
    mvk_tensor a, qkv, z, al, bt, g, beta, n;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &a));
    TRY(norm_mv(st, &a, io->h, &l->attn_norm, hp->rms_eps, T));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, C, T, 1, 1, &qkv));  /* [T][C] */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, D, T, 1, 1, &z));    /* [T][Hv][S] output-gate input */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hv, T, 1, 1, &al));  /* [T][Hv] */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hv, T, 1, 1, &bt));  /* [T][Hv] */
    TRY(vk_op_matmul(st, &qkv, &a, &l->wqkv, NULL));
    TRY(vk_op_matmul(st, &z, &a, &l->wgate, NULL));
    TRY(vk_op_matmul(st, &bt, &a, &l->ssm_beta, NULL));
    TRY(vk_op_matmul(st, &al, &a, &l->ssm_alpha, NULL));
    /* causal conv over the batch, continuing from the layer's conv state, SiLU; in place */
    mvk_tensor cst = mvk_tensor_make(l->conv_state, 0, MVK_TYPE_F32, K - 1, C, 1, 1); /* [C][K-1] */
    TRY(vk_op_ssm_conv(st, &qkv, &qkv, &l->ssm_conv1d, &cst, 1));
    /* L2 norm of every q and k head: the first 2*Hk rows of S in each token's channels, in place */
    const int64_t qkne[4] = {S, 2 * Hk, T, 1}, qknb[4] = {4, S * 4, C * 4, C * T * 4};
    mvk_tensor qk = mvk_tensor_view(&qkv, 0, qkne, qknb);
    TRY(vk_op_l2_norm(st, &qk, &qk, NULL, hp->rms_eps));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hv, T, 1, 1, &g));    /* [T][Hv] log decay */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hv, T, 1, 1, &beta)); /* [T][Hv] */
    TRY(vk_op_gdn_gates(st, &g, &beta, &al, &bt, &l->ssm_dt, &l->ssm_a));
    /* views into the conv output: q, k [T][Hk][S], v [T][Hv][S]; the output o overwrites v */
    const int64_t kne[4] = {S, Hk, T, 1}, vne[4] = {S, Hv, T, 1}, nb[4] = {4, S * 4, C * 4, C * T * 4};
    mvk_tensor q = mvk_tensor_view(&qkv, 0, kne, nb), k = mvk_tensor_view(&qkv, (uint64_t)(S * Hk * 4), kne, nb);
    mvk_tensor v = mvk_tensor_view(&qkv, (uint64_t)(2 * S * Hk * 4), vne, nb);
    mvk_tensor sst = mvk_tensor_make(l->ssm_state, 0, MVK_TYPE_F32, S, S, Hv, 1); /* [Hv][S][S] */
    TRY(vk_op_delta_net(st, &v, &q, &k, &v, &g, &beta, &sst, 1.0f / sqrtf((float)S)));
    /* gated RMSNorm per head: RMSNorm(o; ssm_norm) * silu(z) */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, S, Hv, T, 1, &n)); /* [T][Hv][S] */
    TRY(vk_op_rms_norm(st, &n, &v, &l->ssm_norm, hp->rms_eps));
    mvk_tensor z3 = mvk_as3d(&z, S, Hv, T);
    TRY(vk_op_swiglu(st, &n, &z3, &n));
    mvk_tensor n2 = mvk_as2d(&n, D, T);
    TRY(vk_op_matmul_ex(st, io->h, &n2, &l->ssm_out, NULL, VK_MM_EPI_ACC)); /* h += n·ssm_outᵀ */
done:
    return s;
}

/* The shared expert of a MoE layer (qwen35moe): moe += sigmoid(gate_inp_shexp · u) * down(silu(gate · u) * up · u). */
static moevk_status shared_expert(const mvk_lm_rec *r, const mvk_lm_layer *l, const mvk_tensor *u, const mvk_tensor *moe) {
    vk_stream *st = r->st;
    const mvk_text_hparams *hp = &r->m->hp;
    const int64_t T = r->io->T, E = hp->n_embd, F = hp->n_ff_shexp;
    moevk_status s = MOEVK_OK;
    mvk_tensor g, dn, gs;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, F, T, 1, 1, &g));
    TRY(vk_op_gateup(st, &g, u, &l->gate_shexp, &l->up_shexp, VK_GLU_SWIGLU)); /* silu(u·gate) * (u·up) */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &dn));
    TRY(vk_op_matmul(st, &dn, &g, &l->down_shexp, NULL));
    /* one scalar gate per token: the [E] weight (ne [E, 1]) is a 1-row matrix */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, 1, T, 1, 1, &gs)); /* [T][1] */
    TRY(vk_op_matmul(st, &gs, u, &l->gate_inp_shexp, NULL));
    TRY(vk_op_sigmoid(st, &gs, &gs));
    TRY(vk_op_mul(st, &dn, &dn, &gs)); /* broadcast over E */
    TRY(vk_op_add(st, moe, moe, &dn));
done:
    return s;
}

/* The router's input for layer l from the residual stream x [E][T] into out (allocated here): rms_norm(x; ffn_norm)
 * (Qwen), or gemma4's rms_norm(x) / sqrt(n_embd) * gate_inp_s where the layer has that scale. */
static moevk_status router_input(vk_stream *st, const mvk_text_hparams *hp, const mvk_lm_layer *l, const mvk_tensor *x,
                                 int64_t T, mvk_tensor *out) {
    MVK_TRY(vk_stream_scratch(st, MVK_TYPE_F32, hp->n_embd, T, 1, 1, out));
    if (!l->gate_inp_s.buf) return vk_op_rms_norm(st, out, x, &l->ffn_norm, hp->rms_eps);
    MVK_TRY(vk_op_rms_norm(st, out, x, NULL, hp->rms_eps));
    MVK_TRY(vk_op_scale(st, out, out, 1.0f / sqrtf((float)hp->n_embd)));
    return vk_op_mul(st, out, out, &l->gate_inp_s); /* broadcast over T */
}

/* The routed experts of MoE layer il: router logits of ru [E][T] -> softmax top-k renormalised -> the experts on
 * u [E][T] (SwiGLU, or GeGLU) -> their sum weighted by the routing weights (times down_exps_s[e] where the
 * layer has it) into moe [E][T] (allocated here), or, with resid [E][T], added into resid in the same dispatch
 * (resid + sum, the order of the separate add; *moe = *resid). Routing ids/weights land in io->rt_ids/rt_w; expert streaming
 * (docs/EXPERT_CACHE.md) is hidden here. */
static moevk_status moe_routed(const mvk_lm_rec *r, int il, const mvk_tensor *u, const mvk_tensor *ru, int geglu,
                               const mvk_tensor *resid, mvk_tensor *moe) {
    moevk_model *m = r->m;
    vk_stream *st = r->st;
    const mvk_lm_io *io = r->io;
    const mvk_text_hparams *hp = &m->hp;
    const mvk_lm_layer *l = &m->w.layers[il];
    moevk_status s = MOEVK_OK;
    const int64_t T = io->T, E = hp->n_embd, k = hp->n_expert_used;
    const int j = l->moe; /* index among the MoE layers: routing record, expert cache */
    const int64_t X = hp->n_expert, F = hp->n_ff_exp;
    mvk_tensor logits, ids, w, dn;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, X, T, 1, 1, &logits));
    TRY(vk_op_matmul(st, &logits, ru, &l->gate_inp, NULL));
    if (io->rt_ids) {
        ids = mvk_tensor_make(io->rt_ids->buf, io->rt_ids->off + (uint64_t)(j * k * T * 4), MVK_TYPE_I32, k, T, 1, 1);
        w = mvk_tensor_make(io->rt_w->buf, io->rt_w->off + (uint64_t)(j * k * T * 4), MVK_TYPE_F32, k, T, 1, 1);
    } else {
        TRY(vk_stream_scratch(st, MVK_TYPE_I32, k, T, 1, 1, &ids));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, k, T, 1, 1, &w));
    }
    TRY(vk_op_moe_gate(st, &ids, &w, &logits, (int)k, VK_GATE_SOFTMAX_TOPK, 1));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, k, T, 1, &dn));
    if (io->xmode == MVK_XM_NONE) {
        const mvk_tensor *w3[3] = {&l->gate_exps, &l->up_exps, &l->down_exps};
        TRY(record_experts(st, u, w3, &ids, &dn, 0, geglu, E, F, k, T));
    } else {
        const mvk_xc_layer *xl = &m->xc.L[j];
        const mvk_tensor *w3[3] = {&xl->view[0], &xl->view[1], &xl->view[2]};
        if (io->xmode == MVK_XM_DECODE) {
            /* predict the next MoE layer's experts: its router on this layer's hidden state */
            int nx = il + 1;
            while (nx < hp->n_layer && m->w.layers[nx].moe < 0) nx++;
            if (io->pred_buf && nx < hp->n_layer) {
                const mvk_lm_layer *l1 = &m->w.layers[nx];
                mvk_tensor pn, pl, pw;
                mvk_tensor pid = mvk_tensor_make(io->pred_buf, (uint64_t)((j + 1) * k * 4), MVK_TYPE_I32, k, 1, 1, 1);
                TRY(router_input(st, hp, l1, io->h, 1, &pn));
                TRY(vk_stream_scratch(st, MVK_TYPE_F32, X, 1, 1, 1, &pl));
                TRY(vk_op_matmul(st, &pl, &pn, &l1->gate_inp, NULL));
                TRY(vk_stream_scratch(st, MVK_TYPE_F32, k, 1, 1, 1, &pw));
                TRY(vk_op_moe_gate(st, &pid, &pw, &pl, (int)k, VK_GATE_SOFTMAX_TOPK, 1));
            }
            /* the host resolves the ids to slots between these two segments */
            TRY(vk_stream_cut(st));
            mvk_tensor sid = mvk_tensor_make(io->slot_buf, (uint64_t)(j * k * 4), MVK_TYPE_I32, k, 1, 1, 1);
            TRY(record_experts(st, u, w3, &sid, &dn, 0, geglu, E, F, k, T));
        } else {
            int n_rounds = 0;
            TRY(prefill_gate(m, st, io, j, &n_rounds));
            mvk_tensor sid = mvk_tensor_make(io->slot_buf, 0, MVK_TYPE_I32, k, T, 1, 1);
            for (int rd = 0; rd < n_rounds; rd++) {
                vk_scratch_mark rm = vk_stream_scratch_mark(st);
                TRY(prefill_round(m, st, io, j, rd));
                TRY(record_experts(st, u, w3, &sid, &dn, rd > 0, geglu, E, F, k, T));
                vk_stream_scratch_reset(st, rm);
            }
        }
    }
    if (l->down_exps_s.buf) { /* gemma4: expert e's output times down_exps_s[e], folded into its weight (a copy:
                                 the routing record keeps the router's weights) */
        mvk_tensor se, ws;
        mvk_tensor tbl = mvk_tensor_make(l->down_exps_s.buf, l->down_exps_s.off, MVK_TYPE_F32, 1, X, 1, 1); /* [E][1] */
        mvk_tensor ids1 = mvk_tensor_make(ids.buf, ids.off, MVK_TYPE_I32, k * T, 1, 1, 1);
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, 1, k * T, 1, 1, &se)); /* [k*T][1] */
        TRY(vk_op_get_rows(st, &se, &tbl, &ids1));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, k, T, 1, 1, &ws));
        mvk_tensor se2 = mvk_tensor_make(se.buf, se.off, MVK_TYPE_F32, k, T, 1, 1);
        TRY(vk_op_mul(st, &ws, &w, &se2));
        w = ws;
    }
    if (resid) {
        *moe = *resid;
        TRY(vk_op_moe_combine_add(st, moe, &dn, &w, resid));
    } else {
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, moe));
        TRY(vk_op_moe_combine(st, moe, &dn, &w));
    }
done:
    return s;
}

moevk_status mvk_ffn_moe(const mvk_lm_rec *r, int il) {
    moevk_model *m = r->m;
    vk_stream *st = r->st;
    const mvk_lm_io *io = r->io;
    const mvk_text_hparams *hp = &m->hp;
    const mvk_lm_layer *l = &m->w.layers[il];
    moevk_status s = MOEVK_OK;
    const int64_t T = io->T, E = hp->n_embd;
    mvk_tensor u, moe;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &u));
    TRY(norm_mv(st, &u, io->h, &l->ffn_norm, hp->rms_eps, T));
    if (!l->gate_inp_shexp.buf && fuse_on()) { /* h += the experts' sum, by the combine */
        TRY(moe_routed(r, il, &u, &u, 0, io->h, &moe));
        goto done;
    }
    TRY(moe_routed(r, il, &u, &u, 0, NULL, &moe));
    if (l->gate_inp_shexp.buf) TRY(shared_expert(r, l, &u, &moe)); /* qwen35moe: f = moe + gated shared expert */
    TRY(vk_op_add(st, io->h, io->h, &moe));
done:
    return s;
}

moevk_status mvk_ffn_dense(const mvk_lm_rec *r, int il) {
    moevk_model *m = r->m;
    vk_stream *st = r->st;
    const mvk_lm_io *io = r->io;
    const mvk_text_hparams *hp = &m->hp;
    const mvk_lm_layer *l = &m->w.layers[il];
    moevk_status s = MOEVK_OK;
    const int64_t T = io->T, E = hp->n_embd;
    mvk_tensor u;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &u));
    TRY(norm_mv(st, &u, io->h, &l->ffn_norm, hp->rms_eps, T));
    const int64_t F = hp->n_ff;
    mvk_tensor g, dn;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, F, T, 1, 1, &g));
    TRY(vk_op_gateup(st, &g, &u, &l->ffn_gate, &l->ffn_up, VK_GLU_SWIGLU)); /* silu(u·gate) * (u·up) */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &dn));
    TRY(vk_op_matmul(st, &dn, &g, &l->ffn_down, NULL));
    TRY(vk_op_add(st, io->h, io->h, &dn));
done:
    return s;
}

moevk_status mvk_deepstack_add(const mvk_lm_rec *r, int il) {
    moevk_model *m = r->m;
    vk_stream *st = r->st;
    const mvk_lm_io *io = r->io;
    const mvk_text_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd;
    moevk_status s = MOEVK_OK;
    /* DeepStack: slice il+1 of the image rows joins the image positions */
    if (io->img && il < hp->n_deepstack && io->n_img > 0) {
        mvk_tensor hv = mvk_rows(io->h, io->img_start, io->n_img);
        int64_t ne[4] = {E, io->n_img, 1, 1};
        int64_t nb[4] = {4, io->img->nb[1], io->img->nb[1] * io->n_img, io->img->nb[1] * io->n_img};
        mvk_tensor src = mvk_tensor_view(io->img, (uint64_t)((il + 1) * E * 4), ne, nb);
        TRY(vk_op_add(st, &hv, &hv, &src));
    }
done:
    return s;
}
