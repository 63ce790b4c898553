/* layers.h — the layer toolkit's table rows: the tensors of the standard blocks, written once and
 * listed by each family's table (engine/arch/<arch>.c) in the order it reads them. A row:
 * {name, {shape, mvk_dim per axis}, n_dims, layer kinds holding it (0: every layer), flags, expert
 * part, destination}. */
#ifndef MVK_ARCH_LAYERS_H
#define MVK_ARCH_LAYERS_H

#include <stddef.h>

#include "engine_internal.h"
#include "family.h"

/* token embedding, final norm, LM head (absent: tied to the embedding) -> mvk_weights */
#define MVK_ROWS_LM_GLOBALS                                                                                          \
    {"token_embd.weight", {MVK_D_EMBD, MVK_D_VOCAB}, 2, 0, 0, 0, offsetof(mvk_weights, tok_embd)},                \
    {"output_norm.weight", {MVK_D_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_weights, out_norm)},                    \
    {"output.weight", {MVK_D_EMBD, MVK_D_VOCAB}, 2, 0, MVK_T_TIED, 0, offsetof(mvk_weights, output)}

/* pre-norm attention with separate Q/K/V and per-head QK RMSNorm (Qwen3) -> mvk_lm_layer */
#define MVK_ROWS_ATTN_QK_NORM                                                                                        \
    {"blk.%d.attn_norm.weight", {MVK_D_EMBD}, 1, MVK_LAYER_ATTN, MVK_T_F32, 0, offsetof(mvk_lm_layer, attn_norm)},   \
    {"blk.%d.attn_q.weight", {MVK_D_EMBD, MVK_D_Q}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wq)},            \
    {"blk.%d.attn_k.weight", {MVK_D_EMBD, MVK_D_K}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wk)},            \
    {"blk.%d.attn_v.weight", {MVK_D_EMBD, MVK_D_V}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wv)},            \
    {"blk.%d.attn_output.weight", {MVK_D_O, MVK_D_EMBD}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wo)},       \
    {"blk.%d.attn_q_norm.weight", {MVK_D_HEAD}, 1, MVK_LAYER_ATTN, MVK_T_F32, 0, offsetof(mvk_lm_layer, q_norm)},    \
    {"blk.%d.attn_k_norm.weight", {MVK_D_HEAD}, 1, MVK_LAYER_ATTN, MVK_T_F32, 0, offsetof(mvk_lm_layer, k_norm)}

/* the FFN's pre-norm (every layer) */
#define MVK_ROWS_FFN_NORM                                                                                            \
    {"blk.%d.ffn_norm.weight", {MVK_D_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_lm_layer, ffn_norm)}

/* routed experts: router, gate/up/down expert stacks (parts 0, 1, 2 of the expert cache) */
#define MVK_ROWS_MOE                                                                                                 \
    {"blk.%d.ffn_gate_inp.weight", {MVK_D_EMBD, MVK_D_EXPERT}, 2, MVK_LAYER_MOE, 0, 0,                               \
     offsetof(mvk_lm_layer, gate_inp)},                                                                             \
    {"blk.%d.ffn_gate_exps.weight", {MVK_D_EMBD, MVK_D_FF_EXP, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, MVK_T_EXPERT, 0,     \
     offsetof(mvk_lm_layer, gate_exps)},                                                                            \
    {"blk.%d.ffn_up_exps.weight", {MVK_D_EMBD, MVK_D_FF_EXP, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, MVK_T_EXPERT, 1,       \
     offsetof(mvk_lm_layer, up_exps)},                                                                              \
    {"blk.%d.ffn_down_exps.weight", {MVK_D_FF_EXP, MVK_D_EMBD, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, MVK_T_EXPERT, 2,     \
     offsetof(mvk_lm_layer, down_exps)}

/* dense SwiGLU FFN */
#define MVK_ROWS_DENSE_FFN                                                                                           \
    {"blk.%d.ffn_gate.weight", {MVK_D_EMBD, MVK_D_FF}, 2, MVK_LAYER_DENSE, 0, 0, offsetof(mvk_lm_layer, ffn_gate)},  \
    {"blk.%d.ffn_up.weight", {MVK_D_EMBD, MVK_D_FF}, 2, MVK_LAYER_DENSE, 0, 0, offsetof(mvk_lm_layer, ffn_up)},      \
    {"blk.%d.ffn_down.weight", {MVK_D_FF, MVK_D_EMBD}, 2, MVK_LAYER_DENSE, 0, 0, offsetof(mvk_lm_layer, ffn_down)}

/* ---------------------------------------------------------------- the layer toolkit (layers.c)
 * What a family's layer recording is written over. Each helper allocates its own scratch from the
 * stream (the caller marks and resets it around a layer) and adds its result into the residual
 * stream io->h. */

/* The inputs of one recording of the decoder layers (a prefill batch of T tokens, or the decode step). */
typedef struct mvk_lm_io {
    int T;
    mvk_tensor *h;              /* [n_embd][T] residual stream, updated in place */
    const mvk_tensor *pos;      /* I32 [4T] planar (NEOX: [T]) */
    const mvk_tensor *kv_idx;   /* I32 [T] KV rows written */
    const mvk_tensor *n_kv;     /* I32 [1] valid KV rows after this batch */
    int n_kv_host;              /* the value n_kv holds, where the recording is not replayed with another (prefill), else 0 */
    /* the same for the caches of the sliding layers (mvk_kv_rows: window + micro-batch), whose row 0 holds
     * sequence index swa_base (the whole context: the same as kv_idx / n_kv, swa_base 0) */
    const mvk_tensor *kv_idx_swa, *n_kv_swa;
    int n_kv_swa_host;          /* as n_kv_host */
    int swa_base;
    const mvk_tensor *img;      /* NULL or [n_embd_out][n_img] image rows (deepstack source) */
    int64_t img_start, n_img;
    int nc_lo, nc_hi;           /* nc_hi > nc_lo: sequence indices attending both ways on sliding layers (gemma4's image) */
    const mvk_tensor *rt_ids;   /* NULL or I32 [k][T][n_moe_layers] */
    const mvk_tensor *rt_w;     /* NULL or F32 [k][T][n_moe_layers] */
    /* expert streaming (m->xc.active): the expert matmuls read the slot
     * pools through slot ids the host writes (docs/EXPERT_CACHE.md) */
    int xmode;                  /* MVK_XM_NONE, MVK_XM_DECODE (cut, resolved at replay), MVK_XM_PREFILL (resolved while recording) */
    vk_buffer *slot_buf;        /* host-visible I32: decode [n_moe_layers][k], prefill [T][k] */
    int32_t *slot_host;         /* its mapping */
    vk_buffer *pred_buf;        /* decode: host-visible I32 [n_moe_layers][k] predicted ids, or NULL */
    int32_t *ids_host;          /* prefill: [T][k] routed ids of the layer */
    int32_t *round_of;          /* prefill: [n_expert] round of each expert */
    int32_t *round_ids;         /* prefill: [T][k] ids of this round (-1: other rounds) */
} mvk_lm_io;

enum { MVK_XM_NONE = 0, MVK_XM_DECODE = 1, MVK_XM_PREFILL = 2 };

/* One recording: the model, the stream, the batch. */
typedef struct mvk_lm_rec {
    moevk_model *m;
    vk_stream *st;
    const mvk_lm_io *io;
} mvk_lm_rec;

/* h += Wo · attention(rope(qk_norm(Wq·x)), rope(qk_norm(Wk·x)), Wv·x), x = rms_norm(h) (Qwen3):
 * K and V are appended to layer il's KV cache at io->kv_idx; causal GQA over io->n_kv rows. */
moevk_status mvk_attn_qk_norm(const mvk_lm_rec *r, int il);
/* The same with qwen35's gate: attn_q's rows hold per head hd queries then hd gate values, the
 * attention output is multiplied by sigmoid(gate) before Wo; partial RoPE over hp->n_rot dims. */
moevk_status mvk_attn_gated(const mvk_lm_rec *r, int il);
/* h += ssm_out · (RMSNorm(o; ssm_norm) * silu(z)), o the gated delta rule over the L2-normed q, k and v
 * of silu(causal_conv(W_qkv·x)), x = rms_norm(h) (docs/families/qwen35.md §4.1). Layer il's conv and
 * delta-rule states are read and updated in place (one dispatch each, whatever T). */
moevk_status mvk_gated_delta_net(const mvk_lm_rec *r, int il);
/* h += MoE(rms_norm(h)): router -> softmax over all experts -> top-k -> renormalise -> expert SwiGLU
 * -> weighted sum in slot order. Routing ids/weights land in io->rt_ids/rt_w (layer il). Expert
 * streaming (docs/EXPERT_CACHE.md) is hidden here: with io->xmode set the expert matmuls read the
 * slot pools, the decode step is cut for the host to resolve slots, a prefill runs in rounds. A layer
 * with a shared expert (gate_inp_shexp loaded) adds sigmoid(gate_inp_shexp · x) * its SwiGLU. */
moevk_status mvk_ffn_moe(const mvk_lm_rec *r, int il);
/* h += W_down · (silu(W_gate·x) * W_up·x), x = rms_norm(h). */
moevk_status mvk_ffn_dense(const mvk_lm_rec *r, int il);
/* DeepStack: after layer il < n_deepstack, slice il+1 of the image rows joins the image positions. */
moevk_status mvk_deepstack_add(const mvk_lm_rec *r, int il);

/* Gemma 4 (docs/families/gemma4.md §3), on layers with the per-layer geometry of mvk_layer_geom:
 * h += RMSNorm(Wo · attention; post_attention_norm), attention over RoPE(QK-norm(Wq·x, Wk·x)) and
 * rms_norm(Wv·x) (V = the raw K projection where attn_v is absent), scale 1, the sliding window on a
 * sliding layer (an image's rows both ways there: io->nc_lo/nc_hi), rope_freqs on a global one. */
moevk_status mvk_attn_gemma4(const mvk_lm_rec *r, int il);
/* Gemma 4's FFN: h = (h + RMSNorm(f; post_ffw_norm)) * layer_output_scale, f = the dense GeGLU MLP of
 * RMSNorm(h; ffn_norm), on a MoE layer RMSNorm'd (post_ffw_norm_1) and plus the routed GeGLU experts of
 * RMSNorm(h; pre_ffw_norm_2) (router on rms_norm(h)/sqrt(n_embd)*ffn_gate_inp.scale, each expert's output
 * times ffn_down_exps.scale), RMSNorm'd (post_ffw_norm_2). Expert streaming as mvk_ffn_moe. */
moevk_status mvk_ffn_gemma4(const mvk_lm_rec *r, int il);

/* The attention geometry of layer il: the sliding-window one on a MVK_LAYER_SWA layer (gemma4), else the
 * model's. */
typedef struct mvk_attn_geom {
    int64_t hd, hdv, Hkv;  /* head dims of K and V, KV heads */
    int n_rot;             /* rotated dims per head */
    float freq_base;
    int window;            /* 0: the whole context; else a query sees this many keys up to itself */
} mvk_attn_geom;

static inline mvk_attn_geom mvk_layer_geom(const mvk_text_hparams *hp, uint8_t kind) {
    mvk_attn_geom g = {hp->head_dim, hp->head_dim_v, hp->n_head_kv, hp->n_rot, hp->rope_freq_base, 0};
    if (kind & MVK_LAYER_SWA) {
        g.hd = g.hdv = hp->head_dim_swa;
        g.Hkv = hp->n_head_kv_swa;
        g.n_rot = hp->n_rot_swa;
        g.freq_base = hp->rope_freq_base_swa;
        g.window = hp->n_swa;
    }
    return g;
}

/* Rows of the KV cache of a layer of this kind: the whole context, except on a sliding layer whose window plus
 * one micro-batch is shorter (llama.cpp's llama_kv_cache_iswa: the keys the first query of a micro-batch still
 * needs, n_swa - 1, and the micro-batch's own). Such a cache holds a moving stretch of the sequence: lm.c's
 * swa_make_room moves its last n_swa - 1 rows to the front before a batch that would not fit, so its rows stay
 * in sequence order and the attention op's causal and window masks hold on row indices (seq.swa_n, io->swa_base). */
static inline int64_t mvk_kv_rows(const mvk_text_hparams *hp, uint8_t kind, int64_t n_ctx, int64_t n_ubatch) {
    if (!(kind & MVK_LAYER_SWA) || hp->n_swa <= 0) return n_ctx;
    const int64_t r = (int64_t)hp->n_swa + n_ubatch;
    return r < n_ctx ? r : n_ctx;
}

static inline mvk_tensor mvk_as2d(const mvk_tensor *t, int64_t ne0, int64_t ne1) {
    return mvk_tensor_make(t->buf, t->off, t->type, ne0, ne1, 1, 1);
}
static inline mvk_tensor mvk_as3d(const mvk_tensor *t, int64_t ne0, int64_t ne1, int64_t ne2) {
    return mvk_tensor_make(t->buf, t->off, t->type, ne0, ne1, ne2, 1);
}
/* Rows [r0, r0+n) of a contiguous [ne0][*] tensor. */
static inline mvk_tensor mvk_rows(const mvk_tensor *t, int64_t r0, int64_t n) {
    return mvk_tensor_make(t->buf, t->off + (uint64_t)(r0 * t->nb[1]), t->type, t->ne[0], n, 1, 1);
}

#define MVK_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

#endif
