/* qwen3moe.c — the family Qwen3 MoE (llama.cpp src/models/qwen3moe.cpp): attention with QK-norm and NEOX RoPE, routed
 * experts in every layer; text only. */
#include "layers.h"
#include "mvk_status.h"

static moevk_status read_hparams(const gguf_file *f, mvk_text_hparams *hp) {
    return mvk_hp_read_moe(f, hp);
}

static uint8_t layer_kind(const void *hp, int il) {
    (void)hp;
    (void)il;
    return MVK_LAYER_ATTN | MVK_LAYER_MOE;
}

/* One decoder layer (llama.cpp's graph of qwen3moe): attention, then the FFN; each adds into the residual stream. */
static moevk_status record_layer(const mvk_lm_rec *r, int il) {
    MVK_TRY(mvk_attn_qk_norm(r, il));
    return mvk_ffn_moe(r, il);
}

static const mvk_tensor_spec globals[] = {MVK_ROWS_LM_GLOBALS};
static const mvk_tensor_spec layer[] = {MVK_ROWS_ATTN_QK_NORM, MVK_ROWS_FFN_NORM, MVK_ROWS_MOE};

const mvk_family mvk_family_qwen3moe = {
    .arch = "qwen3moe",
    .kinds = MVK_LAYER_ATTN | MVK_LAYER_MOE,
    .rope_imrope = 0,
    .vision_input = 0,
    .read_hparams = read_hparams,
    .layer_kind = layer_kind,
    .record_layer = record_layer,
    .prompt = &mvk_prompt_chatml_qwen_vl,
    .globals = globals,
    .n_globals = MVK_COUNT(globals),
    .layer = layer,
    .n_layer_spec = MVK_COUNT(layer),
};
