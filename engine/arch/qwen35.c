/* qwen35.c — the families Qwen3.5 / Qwen3.6 MoE (`qwen35moe`) and dense (`qwen35`), as llama.cpp lays
 * them out (docs/families/qwen35.md; llama.cpp src/models/qwen35moe.cpp, qwen35.cpp): Gated DeltaNet
 * layers with a gated full-attention layer every full_attention_interval, partial interleaved
 * M-RoPE, MoE with a sigmoid-gated shared expert (qwen35moe) or a dense SwiGLU FFN (qwen35),
 * post_attention_norm as the FFN's norm, MTP (nextn) blocks after the trunk that are never run.
 * One file for the pair: they differ in the FFN rows and nothing else.
 *
 * The layer recording is the layer toolkit's (layers.c): mvk_gated_delta_net or mvk_attn_gated as the
 * mixer, then mvk_ffn_moe (with the shared expert) or mvk_ffn_dense, with post_attention_norm loaded as
 * the FFN's norm. The recurrent state lives beside the KV cache (lm.c). The prompt is ChatML with the
 * template's empty think block (thinking off) or its open one (thinking on). */
#include <stdio.h>
#include <stdlib.h>

#include "layers.h"
#include "model_hparams.h"
#include "mvk_status.h"

static int is_recurrent(const mvk_text_hparams *hp, int il) { return (il + 1) % hp->full_attn_interval != 0; }

static uint8_t layer_kind_moe(const void *hp, int il) {
    return (is_recurrent(hp, il) ? MVK_LAYER_RECUR : MVK_LAYER_ATTN) | MVK_LAYER_MOE;
}

static uint8_t layer_kind_dense(const void *hp, int il) {
    return (is_recurrent(hp, il) ? MVK_LAYER_RECUR : MVK_LAYER_ATTN) | MVK_LAYER_DENSE;
}

/* attention.recurrent_layers, when present, must follow full_attention_interval (the only pattern
 * layer_kind knows); llama.cpp lets the array win, so a file where they differ is refused. */
static moevk_status check_recurrent_array(const gguf_file *f, const mvk_text_hparams *hp) {
    char key[128];
    snprintf(key, sizeof key, "%s.attention.recurrent_layers", hp->arch_name);
    if (!gguf_has_key(f, key)) return MOEVK_OK;
    gguf_vtype et;
    uint64_t n;
    MVK_TRY(gguf_get_arr_info(f, key, &et, &n));
    const uint64_t all = (uint64_t)hp->n_layer + (uint64_t)hp->n_layer_nextn;
    if (n != all) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' has %llu entries, block_count is %llu", key,
                                  (unsigned long long)n, (unsigned long long)all);
    if (n > (uint64_t)gguf_n_tensors(f)) return MOEVK_OK; /* block_count itself is refused by the common check */
    int32_t *v = malloc((size_t)n * sizeof *v);
    if (!v) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    moevk_status s = gguf_get_arr_i32(f, key, v, n, &n);
    for (int il = 0; s == MOEVK_OK && il < hp->n_layer; il++)
        if ((v[il] != 0) != is_recurrent(hp, il))
            s = mvk_fail(MOEVK_ERR_UNSUPPORTED,
                         "key '%s': layer %d is %s, but full_attention_interval %d makes it %s (moevk follows the "
                         "interval only)",
                         key, il, v[il] ? "recurrent" : "full attention", hp->full_attn_interval,
                         is_recurrent(hp, il) ? "recurrent" : "full attention");
    free(v);
    return s;
}

static moevk_status read_common(const gguf_file *f, mvk_text_hparams *hp) {
    const char *A = hp->arch_name;
    char key[128];
    snprintf(key, sizeof key, "%s.nextn_predict_layers", A);
    uint32_t nextn = 0;
    MVK_TRY(gguf_get_u32_opt(f, key, 0, &nextn));
    if (nextn >= (uint32_t)hp->n_layer)
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' = %u leaves no trunk layer of block_count %d", key, nextn, hp->n_layer);
    hp->n_layer_nextn = (int)nextn;
    hp->n_layer -= (int)nextn; /* the MTP blocks are the last ones; never run, never demanded */
    if (hp->head_dim != hp->head_dim_v)
        return mvk_fail(MOEVK_ERR_FORMAT, "%s: attention.key_length %d != value_length %d", A, hp->head_dim, hp->head_dim_v);
    MVK_TRY(mvk_hp_read_mrope(f, hp)); /* partial IMROPE: n_rot < head_dim */
    MVK_TRY(mvk_key_pos(f, A, "ssm.conv_kernel", 1, 0, &hp->ssm_conv));
    MVK_TRY(mvk_key_pos(f, A, "ssm.state_size", 1, 0, &hp->ssm_state));
    MVK_TRY(mvk_key_pos(f, A, "ssm.group_count", 1, 0, &hp->ssm_groups));
    MVK_TRY(mvk_key_pos(f, A, "ssm.time_step_rank", 1, 0, &hp->ssm_heads_v));
    MVK_TRY(mvk_key_pos(f, A, "ssm.inner_size", 1, 0, &hp->ssm_inner));
    /* what the ops run (backend/vk_op_ssm_conv.c: the taps live in registers; vk_op_delta_net.c: a state
     * row per invocation): refused here rather than when the first layer is recorded */
    if (hp->ssm_conv < 2 || hp->ssm_conv > 16)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: ssm.conv_kernel %d: moevk's causal conv runs kernels of 2..16 taps", A,
                        hp->ssm_conv);
    if (hp->ssm_state > 1024)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: ssm.state_size %d: moevk's delta rule runs state sizes up to 1024", A,
                        hp->ssm_state);
    if (hp->ssm_heads_v % hp->ssm_groups != 0)
        return mvk_fail(MOEVK_ERR_FORMAT, "%s: ssm.time_step_rank %d is not a multiple of ssm.group_count %d", A,
                        hp->ssm_heads_v, hp->ssm_groups);
    if ((int64_t)hp->ssm_heads_v * hp->ssm_state != hp->ssm_inner)
        return mvk_fail(MOEVK_ERR_FORMAT, "%s: ssm.inner_size %d != time_step_rank %d x state_size %d", A, hp->ssm_inner,
                        hp->ssm_heads_v, hp->ssm_state);
    if ((int64_t)2 * hp->ssm_state * hp->ssm_groups + hp->ssm_inner > INT32_MAX)
        return mvk_fail(MOEVK_ERR_FORMAT, "%s: the DeltaNet conv channels overflow", A);
    MVK_TRY(mvk_key_pos(f, A, "full_attention_interval", 0, 4, &hp->full_attn_interval));
    return check_recurrent_array(f, hp);
}

/* One decoder layer (llama.cpp's qwen35moe.cpp / qwen35.cpp graph): the mixer, then the FFN; each adds
 * into the residual stream. */
static moevk_status record_layer(const mvk_lm_rec *r, int il) {
    const mvk_lm_layer *l = &r->m->w.layers[il];
    MVK_TRY(l->kind & MVK_LAYER_RECUR ? mvk_gated_delta_net(r, il) : mvk_attn_gated(r, il));
    return l->kind & MVK_LAYER_MOE ? mvk_ffn_moe(r, il) : mvk_ffn_dense(r, il);
}

/* ChatML with the Qwen3.5 template's generation prompt (models/templates/Qwen3.5-4B.jinja): thinking
 * off (enable_thinking = false, moevk's default) writes the empty think block, so captions and questions
 * are answered without reasoning; thinking on leaves "<think>\n" open and the model reasons until it
 * writes "</think>". */
static const mvk_prompt_format prompt_qwen35 = {
    .system_open = "<|im_start|>system\n",
    .turn_end = "<|im_end|>\n",
    .user_open = "<|im_start|>user\n",
    .assistant_open = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
    .image_start = "<|vision_start|>",
    .image_pad = "<|image_pad|>",
    .image_end = "<|vision_end|>",
    .think_open = "<think>",
    .think_close = "</think>",
    .assistant_open_think = "<|im_end|>\n<|im_start|>assistant\n<think>\n",
};

static moevk_status read_moe(const gguf_file *f, mvk_text_hparams *hp) {
    MVK_TRY(read_common(f, hp));
    MVK_TRY(mvk_hp_read_moe(f, hp));
    if (hp->n_ff == 0 && !gguf_has_key(f, "qwen35moe.expert_shared_feed_forward_length"))
        return mvk_fail(MOEVK_ERR_FORMAT, "missing required key 'qwen35moe.expert_shared_feed_forward_length' "
                        "(and no feed_forward_length fallback)");
    return mvk_key_pos(f, hp->arch_name, "expert_shared_feed_forward_length", 0, hp->n_ff, &hp->n_ff_shexp);
}

/* Rows every layer has, then each mixer's, then the FFN's. */
#define ROWS_QWEN35_MIXERS                                                                                           \
    {"blk.%d.attn_norm.weight", {MVK_D_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_lm_layer, attn_norm)},                \
    {"blk.%d.post_attention_norm.weight", {MVK_D_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_lm_layer, ffn_norm)},       \
    /* gated full attention: attn_q holds per head hd queries then hd gate values */                                \
    {"blk.%d.attn_q.weight", {MVK_D_EMBD, MVK_D_QG}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wq)},           \
    {"blk.%d.attn_k.weight", {MVK_D_EMBD, MVK_D_K}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wk)},            \
    {"blk.%d.attn_v.weight", {MVK_D_EMBD, MVK_D_V}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wv)},            \
    {"blk.%d.attn_output.weight", {MVK_D_O, MVK_D_EMBD}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wo)},       \
    {"blk.%d.attn_q_norm.weight", {MVK_D_HEAD}, 1, MVK_LAYER_ATTN, MVK_T_F32, 0, offsetof(mvk_lm_layer, q_norm)},    \
    {"blk.%d.attn_k_norm.weight", {MVK_D_HEAD}, 1, MVK_LAYER_ATTN, MVK_T_F32, 0, offsetof(mvk_lm_layer, k_norm)},    \
    /* Gated DeltaNet */                                                                                             \
    {"blk.%d.attn_qkv.weight", {MVK_D_EMBD, MVK_D_SSM_CH}, 2, MVK_LAYER_RECUR, 0, 0, offsetof(mvk_lm_layer, wqkv)},  \
    {"blk.%d.attn_gate.weight", {MVK_D_EMBD, MVK_D_SSM_INNER}, 2, MVK_LAYER_RECUR, 0, 0,                             \
     offsetof(mvk_lm_layer, wgate)},                                                                                \
    {"blk.%d.ssm_conv1d.weight", {MVK_D_SSM_CONV, MVK_D_SSM_CH}, 2, MVK_LAYER_RECUR, MVK_T_F32, 0,                   \
     offsetof(mvk_lm_layer, ssm_conv1d)},                                                                           \
    {"blk.%d.ssm_dt.bias", {MVK_D_SSM_HV}, 1, MVK_LAYER_RECUR, MVK_T_F32, 0, offsetof(mvk_lm_layer, ssm_dt)},        \
    {"blk.%d.ssm_a", {MVK_D_SSM_HV}, 1, MVK_LAYER_RECUR, MVK_T_F32, 0, offsetof(mvk_lm_layer, ssm_a)},               \
    {"blk.%d.ssm_beta.weight", {MVK_D_EMBD, MVK_D_SSM_HV}, 2, MVK_LAYER_RECUR, 0, 0, offsetof(mvk_lm_layer, ssm_beta)}, \
    {"blk.%d.ssm_alpha.weight", {MVK_D_EMBD, MVK_D_SSM_HV}, 2, MVK_LAYER_RECUR, 0, 0,                                \
     offsetof(mvk_lm_layer, ssm_alpha)},                                                                            \
    {"blk.%d.ssm_norm.weight", {MVK_D_SSM_S}, 1, MVK_LAYER_RECUR, MVK_T_F32, 0, offsetof(mvk_lm_layer, ssm_norm)},   \
    {"blk.%d.ssm_out.weight", {MVK_D_SSM_INNER, MVK_D_EMBD}, 2, MVK_LAYER_RECUR, 0, 0, offsetof(mvk_lm_layer, ssm_out)}

static const mvk_tensor_spec globals[] = {MVK_ROWS_LM_GLOBALS};

static const mvk_tensor_spec layer_moe[] = {
    ROWS_QWEN35_MIXERS,
    MVK_ROWS_MOE,
    /* the shared expert, scaled by sigmoid(ffn_gate_inp_shexp · x) */
    {"blk.%d.ffn_gate_inp_shexp.weight", {MVK_D_EMBD}, 1, MVK_LAYER_MOE, 0, 0, offsetof(mvk_lm_layer, gate_inp_shexp)},
    {"blk.%d.ffn_gate_shexp.weight", {MVK_D_EMBD, MVK_D_FF_SHEXP}, 2, MVK_LAYER_MOE, 0, 0, offsetof(mvk_lm_layer, gate_shexp)},
    {"blk.%d.ffn_up_shexp.weight", {MVK_D_EMBD, MVK_D_FF_SHEXP}, 2, MVK_LAYER_MOE, 0, 0, offsetof(mvk_lm_layer, up_shexp)},
    {"blk.%d.ffn_down_shexp.weight", {MVK_D_FF_SHEXP, MVK_D_EMBD}, 2, MVK_LAYER_MOE, 0, 0, offsetof(mvk_lm_layer, down_shexp)},
};

static const mvk_tensor_spec layer_dense[] = {ROWS_QWEN35_MIXERS, MVK_ROWS_DENSE_FFN};

const mvk_family mvk_family_qwen35moe = {
    .arch = "qwen35moe",
    .kinds = MVK_LAYER_ATTN | MVK_LAYER_RECUR | MVK_LAYER_MOE,
    .rope_imrope = 1,
    .vision_input = 1,
    .read_hparams = read_moe,
    .layer_kind = layer_kind_moe,
    .record_layer = record_layer,
    .prompt = &prompt_qwen35,
    .globals = globals,
    .n_globals = MVK_COUNT(globals),
    .layer = layer_moe,
    .n_layer_spec = MVK_COUNT(layer_moe),
};

const mvk_family mvk_family_qwen35 = {
    .arch = "qwen35",
    .kinds = MVK_LAYER_ATTN | MVK_LAYER_RECUR | MVK_LAYER_DENSE,
    .rope_imrope = 1,
    .vision_input = 1,
    .read_hparams = read_common,
    .layer_kind = layer_kind_dense,
    .record_layer = record_layer,
    .prompt = &prompt_qwen35,
    .globals = globals,
    .n_globals = MVK_COUNT(globals),
    .layer = layer_dense,
    .n_layer_spec = MVK_COUNT(layer_dense),
};
