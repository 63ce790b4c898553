/* lm.c — the Qwen3(-VL)(-MoE) language model on the GPU (spec qwen3vl-moe.md
 * §3.9-§3.11, llama.cpp src/models/qwen3vlmoe.cpp): RMSNorm, Q/K/V, per-head
 * QK RMSNorm, (interleaved M-)RoPE, KV cache, causal GQA flash attention,
 * MoE FFN (router -> softmax over all experts -> top-k -> renormalise ->
 * expert SwiGLU GEMMs -> weighted sum in slot order) or dense SwiGLU FFN,
 * DeepStack injection after the first layers at image rows, final norm and
 * LM head. Routing never leaves the GPU during the forward pass; the ids and
 * weights are copied out after it for telemetry.
 *
 * Prefill records a fresh stream per prompt. The decode step is recorded once
 * and replayed per token: the token id, KV index, KV length and position are
 * read from a small host-visible parameter buffer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "mvk_status.h"


static mvk_tensor as2d(const mvk_tensor *t, int64_t ne0, int64_t ne1) {
    return mvk_tensor_make(t->buf, t->off, t->type, ne0, ne1, 1, 1);
}

static mvk_tensor as3d(const mvk_tensor *t, int64_t ne0, int64_t ne1, int64_t ne2) {
    return mvk_tensor_make(t->buf, t->off, t->type, ne0, ne1, ne2, 1);
}

/* Rows [r0, r0+n) of a contiguous [ne0][*] f32 tensor. */
static mvk_tensor rows(const mvk_tensor *t, int64_t r0, int64_t n) {
    return mvk_tensor_make(t->buf, t->off + (uint64_t)(r0 * t->nb[1]), t->type, t->ne[0], n, 1, 1);
}

moevk_status mvk_lm_kv_alloc(moevk_model *m) {
    const mvk_text_hparams *hp = &m->hp;
    uint64_t row = (uint64_t)mvk_row_bytes(m->kv_type, (int64_t)hp->n_head_kv * hp->head_dim);
    uint64_t rowv = (uint64_t)mvk_row_bytes(m->kv_type, (int64_t)hp->n_head_kv * hp->head_dim_v);
    for (int il = 0; il < hp->n_layer; il++) {
        mvk_lm_layer *l = &m->layers[il];
        /* each checked on its own: a failed allocation may leave K without V */
        if (!l->k_cache) MVK_TRY(vk_buffer_create(m->ctx, row * (uint64_t)m->n_ctx, VK_MEM_DEVICE, &l->k_cache));
        if (!l->v_cache) MVK_TRY(vk_buffer_create(m->ctx, rowv * (uint64_t)m->n_ctx, VK_MEM_DEVICE, &l->v_cache));
    }
    return MOEVK_OK;
}

typedef struct lm_io {
    int T;
    mvk_tensor *h;              /* [n_embd][T] residual stream, updated in place */
    const mvk_tensor *pos;      /* I32 [4T] planar (NEOX: [T]) */
    const mvk_tensor *kv_idx;   /* I32 [T] KV rows written */
    const mvk_tensor *n_kv;     /* I32 [1] valid KV rows after this batch */
    const mvk_tensor *img;      /* NULL or [n_embd_out][n_img] image rows (deepstack source) */
    int64_t img_start, n_img;
    const mvk_tensor *rt_ids;   /* NULL or I32 [k][T][n_layer] */
    const mvk_tensor *rt_w;     /* NULL or F32 [k][T][n_layer] */
    /* expert streaming (m->xc.active): the expert matmuls read the slot
     * pools through slot ids the host writes (docs/EXPERT_CACHE.md) */
    int xmode;                  /* XM_NONE, XM_DECODE (cut, resolved at replay), XM_PREFILL (resolved while recording) */
    vk_buffer *slot_buf;        /* host-visible I32: decode [n_layer][k], prefill [T][k] */
    int32_t *slot_host;         /* its mapping */
    vk_buffer *pred_buf;        /* decode: host-visible I32 [n_layer][k] predicted ids, or NULL */
    int32_t *ids_host;          /* prefill: [T][k] routed ids of the layer */
    int32_t *round_of;          /* prefill: [n_expert] round of each expert */
    int32_t *round_ids;         /* prefill: [T][k] ids of this round (-1: other rounds) */
} lm_io;

enum { XM_NONE = 0, XM_DECODE = 1, XM_PREFILL = 2 };

/* Prefill streaming, after the gate of layer il was recorded: runs what is
 * recorded so far, reads the layer's routed ids and plans the rounds (each at
 * most S distinct experts). Returns the number of rounds. */
static moevk_status prefill_gate(moevk_model *m, vk_stream *st, const lm_io *io, int il, int *n_rounds) {
    const int64_t k = m->hp.n_expert_used, T = io->T;
    MVK_TRY(vk_stream_cut(st));
    MVK_TRY(vk_stream_submit_segment(st, vk_stream_segment_count(st) - 2));
    MVK_TRY(vk_download(m->ctx, io->rt_ids->buf, io->rt_ids->off + (uint64_t)(il * k * T * 4), io->ids_host, (uint64_t)(k * T * 4)));
    *n_rounds = mvk_xc_plan_rounds(&m->xc, il, io->ids_host, (int)(k * T), io->round_of);
    return MOEVK_OK;
}

/* Prefill round r of layer il: makes its experts resident and writes the
 * slot ids (entries of other rounds get -1: zero rows). For r > 0 the
 * previous round's recorded work runs first (its slots may be reused). */
static moevk_status prefill_round(moevk_model *m, vk_stream *st, const lm_io *io, int il, int r) {
    const int n = (int)(m->hp.n_expert_used * io->T);
    if (r > 0) {
        MVK_TRY(vk_stream_cut(st));
        MVK_TRY(vk_stream_submit_segment(st, vk_stream_segment_count(st) - 2));
    }
    for (int i = 0; i < n; i++) {
        int e = io->ids_host[i];
        io->round_ids[i] = (e >= 0 && e < m->hp.n_expert && io->round_of[e] == r) ? e : -1;
    }
    return mvk_xc_resolve(&m->xc, m->ctx, il, io->round_ids, io->slot_host, n, 0);
}

/* The routed experts of one MoE layer: gate and up matmuls, SwiGLU, down
 * matmul into dn [E][k][T]. w3: the gate, up and down weights [K][N][E or S];
 * ids: expert (or slot) ids [k][T]. acc: add into dn instead of writing it
 * (prefill rounds; entries of other rounds are exact zeros). */
static moevk_status record_experts(vk_stream *st, const mvk_tensor *u, const mvk_tensor *const w3[3], const mvk_tensor *ids,
                                   const mvk_tensor *dn, int acc, int64_t E, int64_t F, int64_t k, int64_t T) {
    moevk_status s = MOEVK_OK;
    mvk_tensor g, up, tmp;
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, F, k, T, 1, &g));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, F, k, T, 1, &up));
    TRY(vk_op_mul_mat_id(st, &g, u, w3[0], ids));
    TRY(vk_op_mul_mat_id(st, &up, u, w3[1], ids));
    TRY(vk_op_swiglu(st, &g, &g, &up));
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

/* Records every decoder layer. */
static moevk_status record_layers(moevk_model *m, vk_stream *st, const lm_io *io) {
    const mvk_text_hparams *hp = &m->hp;
    const int64_t T = io->T, E = hp->n_embd, hd = hp->head_dim, hdv = hp->head_dim_v, Hq = hp->n_head, Hk = hp->n_head_kv;
    const int64_t k = hp->n_expert_used, n_ctx = m->n_ctx;
    moevk_status s = MOEVK_OK;
    vk_rope_params rp = {.mode = hp->rope_mode == MVK_ROPE_IMROPE ? VK_ROPE_IMROPE : VK_ROPE_NEOX,
                         .n_dims = hp->n_rot, .freq_base = hp->rope_freq_base,
                         .sections = {hp->rope_sections[0], hp->rope_sections[1], hp->rope_sections[2], hp->rope_sections[3]}};
    vk_attn_params ap = {.scale = 1.0f / sqrtf((float)hd), .causal = 1};
    for (int il = 0; il < hp->n_layer; il++) {
        const mvk_lm_layer *l = &m->layers[il];
        vk_scratch_mark mark = vk_stream_scratch_mark(st);
        mvk_tensor a, q, kk, v, qn, kn, qr, kr, att, o, u;
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &a));
        TRY(vk_op_rms_norm(st, &a, io->h, &l->attn_norm, hp->rms_eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hq * hd, T, 1, 1, &q));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hk * hd, T, 1, 1, &kk));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, Hk * hdv, T, 1, 1, &v));
        TRY(vk_op_matmul(st, &q, &a, &l->wq, NULL));
        TRY(vk_op_matmul(st, &kk, &a, &l->wk, NULL));
        TRY(vk_op_matmul(st, &v, &a, &l->wv, NULL));
        /* per-head RMSNorm of Q and K (before RoPE) */
        mvk_tensor q3 = as3d(&q, hd, Hq, T), k3 = as3d(&kk, hd, Hk, T);
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq, T, 1, &qn));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hk, T, 1, &kn));
        TRY(vk_op_rms_norm(st, &qn, &q3, &l->q_norm, hp->rms_eps));
        TRY(vk_op_rms_norm(st, &kn, &k3, &l->k_norm, hp->rms_eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hq, T, 1, &qr));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, Hk, T, 1, &kr));
        TRY(vk_op_rope(st, &qr, &qn, io->pos, &rp));
        TRY(vk_op_rope(st, &kr, &kn, io->pos, &rp));
        /* append K (after RoPE) and V to the cache at the KV indices */
        mvk_tensor kc = mvk_tensor_make(l->k_cache, 0, m->kv_type, Hk * hd, n_ctx, 1, 1);
        mvk_tensor vcache = mvk_tensor_make(l->v_cache, 0, m->kv_type, Hk * hdv, n_ctx, 1, 1);
        mvk_tensor kr2 = as2d(&kr, Hk * hd, T);
        TRY(vk_op_set_rows(st, &kc, &kr2, io->kv_idx));
        TRY(vk_op_set_rows(st, &vcache, &v, io->kv_idx));
        mvk_tensor kc3 = as3d(&kc, hd, Hk, n_ctx), vc3 = as3d(&vcache, hdv, Hk, n_ctx);
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hdv, Hq, T, 1, &att));
        TRY(vk_op_attention(st, &att, &qr, &kc3, &vc3, io->n_kv, &ap));
        mvk_tensor att2 = as2d(&att, Hq * hdv, T);
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &o));
        TRY(vk_op_matmul(st, &o, &att2, &l->wo, NULL));
        TRY(vk_op_add(st, io->h, io->h, &o));
        /* FFN */
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &u));
        TRY(vk_op_rms_norm(st, &u, io->h, &l->ffn_norm, hp->rms_eps));
        if (hp->is_moe) {
            const int64_t X = hp->n_expert, F = hp->n_ff_exp;
            mvk_tensor logits, ids, w, dn, moe;
            TRY(vk_stream_scratch(st, MVK_TYPE_F32, X, T, 1, 1, &logits));
            TRY(vk_op_matmul(st, &logits, &u, &l->gate_inp, NULL));
            if (io->rt_ids) {
                ids = mvk_tensor_make(io->rt_ids->buf, io->rt_ids->off + (uint64_t)(il * k * T * 4), MVK_TYPE_I32, k, T, 1, 1);
                w = mvk_tensor_make(io->rt_w->buf, io->rt_w->off + (uint64_t)(il * k * T * 4), MVK_TYPE_F32, k, T, 1, 1);
            } else {
                TRY(vk_stream_scratch(st, MVK_TYPE_I32, k, T, 1, 1, &ids));
                TRY(vk_stream_scratch(st, MVK_TYPE_F32, k, T, 1, 1, &w));
            }
            TRY(vk_op_moe_gate(st, &ids, &w, &logits, (int)k, VK_GATE_SOFTMAX_TOPK, 1));
            TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, k, T, 1, &dn));
            if (io->xmode == XM_NONE) {
                const mvk_tensor *w3[3] = {&l->gate_exps, &l->up_exps, &l->down_exps};
                TRY(record_experts(st, &u, w3, &ids, &dn, 0, E, F, k, T));
            } else {
                const mvk_xc_layer *xl = &m->xc.L[il];
                const mvk_tensor *w3[3] = {&xl->view[0], &xl->view[1], &xl->view[2]};
                if (io->xmode == XM_DECODE) {
                    /* predict layer il+1's experts: its router on this layer's hidden state */
                    if (io->pred_buf && il + 1 < hp->n_layer) {
                        const mvk_lm_layer *l1 = &m->layers[il + 1];
                        mvk_tensor pn, pl, pw;
                        mvk_tensor pid = mvk_tensor_make(io->pred_buf, (uint64_t)((il + 1) * k * 4), MVK_TYPE_I32, k, 1, 1, 1);
                        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, 1, 1, 1, &pn));
                        TRY(vk_op_rms_norm(st, &pn, io->h, &l1->ffn_norm, hp->rms_eps));
                        TRY(vk_stream_scratch(st, MVK_TYPE_F32, X, 1, 1, 1, &pl));
                        TRY(vk_op_matmul(st, &pl, &pn, &l1->gate_inp, NULL));
                        TRY(vk_stream_scratch(st, MVK_TYPE_F32, k, 1, 1, 1, &pw));
                        TRY(vk_op_moe_gate(st, &pid, &pw, &pl, (int)k, VK_GATE_SOFTMAX_TOPK, 1));
                    }
                    /* the host resolves the ids to slots between these two segments */
                    TRY(vk_stream_cut(st));
                    mvk_tensor sid = mvk_tensor_make(io->slot_buf, (uint64_t)(il * k * 4), MVK_TYPE_I32, k, 1, 1, 1);
                    TRY(record_experts(st, &u, w3, &sid, &dn, 0, E, F, k, T));
                } else {
                    int n_rounds = 0;
                    TRY(prefill_gate(m, st, io, il, &n_rounds));
                    mvk_tensor sid = mvk_tensor_make(io->slot_buf, 0, MVK_TYPE_I32, k, T, 1, 1);
                    for (int r = 0; r < n_rounds; r++) {
                        vk_scratch_mark rm = vk_stream_scratch_mark(st);
                        TRY(prefill_round(m, st, io, il, r));
                        TRY(record_experts(st, &u, w3, &sid, &dn, r > 0, E, F, k, T));
                        vk_stream_scratch_reset(st, rm);
                    }
                }
            }
            TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &moe));
            TRY(vk_op_moe_combine(st, &moe, &dn, &w));
            TRY(vk_op_add(st, io->h, io->h, &moe));
        } else {
            const int64_t F = hp->n_ff;
            mvk_tensor g, up, dn;
            TRY(vk_stream_scratch(st, MVK_TYPE_F32, F, T, 1, 1, &g));
            TRY(vk_stream_scratch(st, MVK_TYPE_F32, F, T, 1, 1, &up));
            TRY(vk_op_matmul(st, &g, &u, &l->ffn_gate, NULL));
            TRY(vk_op_matmul(st, &up, &u, &l->ffn_up, NULL));
            TRY(vk_op_swiglu(st, &g, &g, &up));
            TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &dn));
            TRY(vk_op_matmul(st, &dn, &g, &l->ffn_down, NULL));
            TRY(vk_op_add(st, io->h, io->h, &dn));
        }
        /* DeepStack: slice il+1 of the image rows joins the image positions */
        if (io->img && il < hp->n_deepstack && io->n_img > 0) {
            mvk_tensor hv = rows(io->h, io->img_start, io->n_img);
            int64_t ne[4] = {E, io->n_img, 1, 1};
            int64_t nb[4] = {4, io->img->nb[1], io->img->nb[1] * io->n_img, io->img->nb[1] * io->n_img};
            mvk_tensor src = mvk_tensor_view(io->img, (uint64_t)((il + 1) * E * 4), ne, nb);
            TRY(vk_op_add(st, &hv, &hv, &src));
        }
        vk_stream_scratch_reset(st, mark);
    }
done:
    return s;
}

moevk_status mvk_lm_prefill(moevk_model *m, const mvk_lm_batch *b) {
    const mvk_text_hparams *hp = &m->hp;
    const int64_t T = b->n, E = hp->n_embd, V = hp->n_vocab, k = hp->n_expert_used, L = hp->n_layer;
    if (T <= 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "empty prompt");
    if (m->n_past + T > m->n_ctx)
        return mvk_fail(MOEVK_ERR_CONTEXT_FULL, "prompt of %lld tokens does not fit: %d of %d context positions used",
                        (long long)T, m->n_past, m->n_ctx);
    for (int64_t i = 0; i < T; i++)
        if ((i < b->img_start || i >= b->img_start + b->n_img) && (b->tokens[i] < 0 || b->tokens[i] >= V))
            return mvk_fail(MOEVK_ERR_INVALID_ARG, "token %lld has id %d outside the vocabulary (0..%lld)", (long long)i,
                            b->tokens[i], (long long)V - 1);
    MVK_TRY(mvk_lm_kv_alloc(m));
    /* inputs: tokens [T], positions [4T], kv indices [T], n_kv [1] */
    uint64_t words = (uint64_t)T * 6 + 1;
    int32_t *in = malloc(words * 4);
    if (!in) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int64_t i = 0; i < T; i++) {
        int32_t t = b->tokens[i];
        in[i] = (t >= 0 && t < V) ? t : 0;
        in[5 * T + i] = m->n_past + (int32_t)i;
    }
    memcpy(in + T, b->pos, (size_t)(4 * T) * 4);
    in[6 * T] = m->n_past + (int32_t)T;
    vk_buffer *inb = NULL;
    moevk_status s = vk_buffer_create(m->ctx, words * 4, VK_MEM_DEVICE, &inb);
    if (s == MOEVK_OK) s = vk_upload(m->ctx, inb, 0, in, words * 4);
    free(in);
    if (s != MOEVK_OK) {
        vk_buffer_destroy(inb);
        return s;
    }
    mvk_tensor t_tok = mvk_tensor_make(inb, 0, MVK_TYPE_I32, T, 1, 1, 1);
    mvk_tensor t_pos = mvk_tensor_make(inb, (uint64_t)T * 4, MVK_TYPE_I32, hp->rope_mode == MVK_ROPE_IMROPE ? 4 * T : T, 1, 1, 1);
    mvk_tensor t_idx = mvk_tensor_make(inb, (uint64_t)T * 20, MVK_TYPE_I32, T, 1, 1, 1);
    mvk_tensor t_nkv = mvk_tensor_make(inb, (uint64_t)T * 24, MVK_TYPE_I32, 1, 1, 1, 1);
    int64_t n_rows = b->all_logits ? T : 1;
    mvk_tensor h, img, rt_ids, rt_w, hn, logits;
    vk_buffer *slot_buf = NULL;
    int32_t *xhost = NULL;
    vk_stream *st = m->work;
    TRY(vk_stream_begin(st));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &h));
    TRY(vk_op_get_rows(st, &h, &m->w.tok_embd, &t_tok));
    lm_io io = {.T = (int)T, .h = &h, .pos = &t_pos, .kv_idx = &t_idx, .n_kv = &t_nkv};
    if (b->n_img > 0) {
        if (!b->img_rows) TRY(mvk_fail(MOEVK_ERR_INVALID_ARG, "image rows missing"));
        int64_t n_out = (int64_t)E * (1 + hp->n_deepstack);
        img = mvk_tensor_make(b->img_rows, 0, MVK_TYPE_F32, n_out, b->n_img, 1, 1);
        mvk_tensor dst = rows(&h, b->img_start, b->n_img);
        int64_t ne[4] = {E, b->n_img, 1, 1}, nb[4] = {4, n_out * 4, n_out * 4 * b->n_img, n_out * 4 * b->n_img};
        mvk_tensor src = mvk_tensor_view(&img, 0, ne, nb);
        TRY(vk_op_convert(st, &dst, &src)); /* image embeddings replace the image-pad rows */
        io.img = &img;
        io.img_start = b->img_start;
        io.n_img = b->n_img;
    }
    if (hp->is_moe) {
        TRY(vk_stream_scratch(st, MVK_TYPE_I32, k, T, L, 1, &rt_ids));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, k, T, L, 1, &rt_w));
        io.rt_ids = &rt_ids;
        io.rt_w = &rt_w;
    }
    if (m->xc.active) {
        io.xmode = XM_PREFILL;
        TRY(vk_buffer_create(m->ctx, (uint64_t)(k * T * 4), VK_MEM_HOST, &slot_buf));
        io.slot_buf = slot_buf;
        io.slot_host = vk_buffer_map(slot_buf);
        xhost = malloc((size_t)(2 * k * T + hp->n_expert) * sizeof *xhost);
        if (!io.slot_host || !xhost) TRY(mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory (expert streaming)"));
        io.ids_host = xhost;
        io.round_ids = xhost + k * T;
        io.round_of = xhost + 2 * k * T;
        m->xc.pre_tokens += (uint64_t)T;
    }
    TRY(record_layers(m, st, &io));
    {
        mvk_tensor hl = rows(&h, T - n_rows, n_rows);
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, n_rows, 1, 1, &hn));
        TRY(vk_op_rms_norm(st, &hn, &hl, &m->w.out_norm, hp->rms_eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, V, n_rows, 1, 1, &logits));
        TRY(vk_op_matmul(st, &logits, &hn, &m->w.output, NULL));
    }
    TRY(vk_stream_end(st));
    if (io.xmode == XM_PREFILL) TRY(vk_stream_submit_segment(st, vk_stream_segment_count(st) - 1)); /* the others ran */
    else TRY(vk_stream_submit(st));
    if (b->logits) TRY(vk_download(m->ctx, logits.buf, logits.off, b->logits, (uint64_t)(n_rows * V * 4)));
    if (hp->is_moe && b->route_ids) TRY(vk_download(m->ctx, rt_ids.buf, rt_ids.off, b->route_ids, (uint64_t)(L * T * k * 4)));
    if (hp->is_moe && b->route_w) TRY(vk_download(m->ctx, rt_w.buf, rt_w.off, b->route_w, (uint64_t)(L * T * k * 4)));
    m->n_past += (int)T;
done:
    if (s != MOEVK_OK) mvk_fail_ctx(s, "language model prefill");
    vk_buffer_destroy(inb);
    vk_buffer_destroy(slot_buf);
    free(xhost);
    return s;
}

/* Records the decode step once: everything that changes per token is read
 * from m->params on the GPU. */
static moevk_status record_decode(moevk_model *m) {
    const mvk_text_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, V = hp->n_vocab, k = hp->n_expert_used > 0 ? hp->n_expert_used : 1, L = hp->n_layer;
    moevk_status s = MOEVK_OK;
    if (!m->decode) MVK_TRY(vk_stream_create(m->ctx, &m->decode));
    if (!m->params) MVK_TRY(vk_buffer_create(m->ctx, MVK_P_WORDS * 4, VK_MEM_HOST, &m->params));
    if (!m->step_logits) MVK_TRY(vk_buffer_create(m->ctx, (uint64_t)V * 4, VK_MEM_HOST, &m->step_logits));
    if (!m->step_route) MVK_TRY(vk_buffer_create(m->ctx, (uint64_t)(L * k * 8), VK_MEM_HOST, &m->step_route));
    if (!m->step_argmax) MVK_TRY(vk_buffer_create(m->ctx, 4, VK_MEM_HOST, &m->step_argmax));
    if (m->xc.active && !m->step_slots) MVK_TRY(vk_buffer_create(m->ctx, (uint64_t)(L * k * 4), VK_MEM_HOST, &m->step_slots));
    if (m->xc.active && !m->step_pred) /* predictions are made (and scored) even with prefetch off */
        MVK_TRY(vk_buffer_create(m->ctx, (uint64_t)(L * k * 4), VK_MEM_HOST, &m->step_pred));
    mvk_tensor t_nkv = mvk_tensor_make(m->params, MVK_P_NKV * 4, MVK_TYPE_I32, 1, 1, 1, 1);
    mvk_tensor t_idx = mvk_tensor_make(m->params, MVK_P_KVIDX * 4, MVK_TYPE_I32, 1, 1, 1, 1);
    mvk_tensor t_tok = mvk_tensor_make(m->params, MVK_P_TOKEN * 4, MVK_TYPE_I32, 1, 1, 1, 1);
    mvk_tensor t_pos = mvk_tensor_make(m->params, MVK_P_POS * 4, MVK_TYPE_I32, hp->rope_mode == MVK_ROPE_IMROPE ? 4 : 1, 1, 1, 1);
    mvk_tensor rt_ids = mvk_tensor_make(m->step_route, 0, MVK_TYPE_I32, k, 1, L, 1);
    mvk_tensor rt_w = mvk_tensor_make(m->step_route, (uint64_t)(L * k * 4), MVK_TYPE_F32, k, 1, L, 1);
    mvk_tensor logits = mvk_tensor_make(m->step_logits, 0, MVK_TYPE_F32, V, 1, 1, 1);
    mvk_tensor amax = mvk_tensor_make(m->step_argmax, 0, MVK_TYPE_I32, 1, 1, 1, 1);
    vk_stream *st = m->decode;
    mvk_tensor h, hn;
    TRY(vk_stream_begin(st));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, 1, 1, 1, &h));
    TRY(vk_op_get_rows(st, &h, &m->w.tok_embd, &t_tok));
    lm_io io = {.T = 1, .h = &h, .pos = &t_pos, .kv_idx = &t_idx, .n_kv = &t_nkv};
    if (hp->is_moe) {
        io.rt_ids = &rt_ids;
        io.rt_w = &rt_w;
    }
    if (m->xc.active) { /* one segment per MoE layer: see mvk_lm_decode */
        io.xmode = XM_DECODE;
        io.slot_buf = m->step_slots;
        io.pred_buf = m->step_pred;
    }
    TRY(record_layers(m, st, &io));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, 1, 1, 1, &hn));
    TRY(vk_op_rms_norm(st, &hn, &h, &m->w.out_norm, hp->rms_eps));
    TRY(vk_op_matmul(st, &logits, &hn, &m->w.output, NULL));
    TRY(vk_op_argmax(st, &amax, &logits));
    TRY(vk_stream_end(st));
    m->decode_recorded = 1;
done:
    if (s != MOEVK_OK) mvk_fail_ctx(s, "recording the decode step");
    return s;
}

/* The decode step with experts streaming. Segment 0 runs up to layer 0's
 * gate; segment il+1 runs layer il's experts up to layer il+1's gate; the
 * last one the LM head. Between two segments the host resolves the ids the
 * gate just wrote to slots (fetching misses: the step waits), and while
 * segment il+1 runs it fetches the experts predicted for layer il+1 into
 * that layer's pool, which segment il+1 does not touch. */
static moevk_status decode_streaming(moevk_model *m, int64_t k) {
    const int L = m->hp.n_layer;
    const int32_t *ids = vk_buffer_map(m->step_route);
    int32_t *slots = vk_buffer_map(m->step_slots);
    const int32_t *pred = m->step_pred ? vk_buffer_map(m->step_pred) : NULL;
    MVK_TRY(vk_stream_submit_segment(m->decode, 0));
    for (int il = 0; il < L; il++) {
        MVK_TRY(mvk_xc_resolve(&m->xc, m->ctx, il, ids + il * k, slots + il * k, (int)k, 1));
        MVK_TRY(vk_stream_submit_segment_async(m->decode, (uint32_t)il + 1));
        moevk_status s = MOEVK_OK;
        if (pred && il + 1 < L) s = mvk_xc_prefetch(&m->xc, m->ctx, il + 1, pred + (il + 1) * k, (int)k, 1);
        moevk_status w = vk_stream_wait(m->decode);
        MVK_TRY(s);
        MVK_TRY(w);
    }
    m->xc.dec_tokens++;
    return MOEVK_OK;
}

moevk_status mvk_lm_decode(moevk_model *m, int32_t token, const float **logits, const int32_t **route_ids,
                           const float **route_w, int32_t *argmax) {
    const mvk_text_hparams *hp = &m->hp;
    if (token < 0 || token >= hp->n_vocab)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "token id %d outside the vocabulary (0..%d)", token, hp->n_vocab - 1);
    if (m->n_past + 1 > m->n_ctx)
        return mvk_fail(MOEVK_ERR_CONTEXT_FULL, "the context is full (%d tokens); raise n_ctx", m->n_ctx);
    MVK_TRY(mvk_lm_kv_alloc(m));
    if (!m->decode_recorded) MVK_TRY(record_decode(m));
    int32_t *p = vk_buffer_map(m->params);
    p[MVK_P_NKV] = m->n_past + 1;
    p[MVK_P_KVIDX] = m->n_past;
    p[MVK_P_TOKEN] = token;
    for (int i = 0; i < 3; i++) p[MVK_P_POS + i] = m->pos_next;
    p[MVK_P_POS + 3] = 0;
    const int64_t k = hp->n_expert_used > 0 ? hp->n_expert_used : 1;
    moevk_status s = m->xc.active ? decode_streaming(m, k) : vk_stream_submit(m->decode);
    if (s != MOEVK_OK) return mvk_fail_ctx(s, "decode step");
    m->n_past++;
    m->pos_next++;
    if (logits) *logits = vk_buffer_map(m->step_logits);
    if (route_ids) *route_ids = hp->is_moe ? (const int32_t *)vk_buffer_map(m->step_route) : NULL;
    if (route_w) *route_w = hp->is_moe ? (const float *)((const char *)vk_buffer_map(m->step_route) + hp->n_layer * k * 4) : NULL;
    if (argmax) *argmax = *(const int32_t *)vk_buffer_map(m->step_argmax);
    return MOEVK_OK;
}

void mvk_lm_free(moevk_model *m) {
    vk_stream_destroy(m->decode);
    vk_stream_destroy(m->work);
    m->decode = m->work = NULL;
    vk_buffer_destroy(m->params);
    vk_buffer_destroy(m->step_logits);
    vk_buffer_destroy(m->step_route);
    vk_buffer_destroy(m->step_argmax);
    vk_buffer_destroy(m->step_slots);
    vk_buffer_destroy(m->step_pred);
    m->params = m->step_logits = m->step_route = m->step_argmax = m->step_slots = m->step_pred = NULL;
    m->decode_recorded = 0;
}
