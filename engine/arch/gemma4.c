/* gemma4.c — the family Gemma 4 (`gemma4`: 26B-A4B MoE, the dense 31B), as llama.cpp lays it out
 * (docs/families/gemma4.md; llama.cpp src/models/gemma4.cpp): sliding-window and global attention layers in
 * the file's pattern, each kind with its own head dim, KV heads, rotated dims and RoPE base (mvk_layer_geom),
 * QK-norm plus a weightless V norm, V = the raw K projection where attn_v is absent, attention scale 1,
 * proportional RoPE on the global layers through rope_freqs; a dense GeGLU MLP in every layer, beside routed
 * GeGLU experts on MoE layers, each branch with its post-norm, then post_ffw_norm, the residual and
 * layer_output_scale; text embeddings x sqrt(n_embd), the final logit soft-cap, tied embeddings.
 *
 * The experts' gate and up stacks may come merged (ffn_gate_up_exps: each expert's gate rows, then its up rows).
 * Refused at load, naming what is missing: per-layer embeddings and shared-KV layers (E2B/E4B), per-tensor NVFP4
 * scales. The KV cache of a sliding layer holds the window
 * plus one micro-batch (mvk_kv_rows, kept in sequence order by lm.c), a global layer's the whole context. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "model_hparams.h"
#include "mvk_status.h"

static uint8_t layer_kind(const void *hp, int il) { return ((const mvk_text_hparams *)hp)->layer_kinds[il]; }

/* A per-layer u32 key that may also be a single value (llama.cpp's get_key_or_arr): v[n_layer]. */
static moevk_status key_or_arr(const gguf_file *f, const mvk_text_hparams *hp, const char *suffix, int def, int32_t *v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", hp->arch_name, suffix);
    int64_t ki = gguf_find_key(f, key);
    gguf_value kv;
    if (ki >= 0 && gguf_kv_value(f, ki, &kv) == MOEVK_OK && kv.type == GGUF_ARRAY) {
        uint64_t n = 0;
        MVK_TRY(gguf_get_arr_i32(f, key, v, (uint64_t)hp->n_layer, &n));
        if (n != (uint64_t)hp->n_layer)
            return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' has %llu entries, block_count is %d", key, (unsigned long long)n,
                            hp->n_layer);
        for (int il = 0; il < hp->n_layer; il++)
            if (v[il] <= 0) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s'[%d] = %d must be > 0", key, il, v[il]);
        return MOEVK_OK;
    }
    int one = 0;
    MVK_TRY(mvk_key_pos(f, hp->arch_name, suffix, def <= 0, def, &one));
    for (int il = 0; il < hp->n_layer; il++) v[il] = one;
    return MOEVK_OK;
}

/* The per-layer KV head counts must follow the sliding/global pattern (one count per kind: what the
 * converter writes and what mvk_layer_geom holds). */
static moevk_status read_kv_heads(const gguf_file *f, mvk_text_hparams *hp) {
    int32_t v[MVK_MAX_LAYERS];
    MVK_TRY(key_or_arr(f, hp, "attention.head_count_kv", hp->n_head, v));
    int kv[2] = {0, 0}; /* [global, sliding] */
    for (int il = 0; il < hp->n_layer; il++) {
        int swa = (hp->layer_kinds[il] & MVK_LAYER_SWA) != 0;
        if (kv[swa] && kv[swa] != v[il])
            return mvk_fail(MOEVK_ERR_UNSUPPORTED,
                            "key '%s.attention.head_count_kv': layer %d has %d KV heads, another %s layer %d (moevk takes one "
                            "count per layer kind)", hp->arch_name, il, v[il], swa ? "sliding" : "global", kv[swa]);
        if (v[il] > hp->n_head || hp->n_head % v[il])
            return mvk_fail(MOEVK_ERR_FORMAT, "key '%s.attention.head_count_kv'[%d] = %d does not divide head_count %d",
                            hp->arch_name, il, v[il], hp->n_head);
        kv[swa] = v[il];
    }
    hp->n_head_kv = kv[0] ? kv[0] : kv[1];
    hp->n_head_kv_swa = kv[1] ? kv[1] : kv[0];
    return MOEVK_OK;
}

/* Tensors a gemma4 file may carry that moevk would otherwise ignore: NVFP4's per-tensor / per-expert scales
 * (only ffn_gate_inp.scale and ffn_down_exps.scale are part of the model). */
static moevk_status check_scales(const gguf_file *f) {
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const char *nm = gguf_tensor(f, i)->name;
        size_t n = strlen(nm);
        if (n < 6 || strcmp(nm + n - 6, ".scale")) continue;
        if (strstr(nm, ".ffn_gate_inp.scale") || strstr(nm, ".ffn_down_exps.scale")) continue;
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "tensor '%s': per-tensor weight scales (NVFP4 files) are not supported", nm);
    }
    return MOEVK_OK;
}

/* A MoE layer's gate and up experts: the two stacks, or the merged ffn_gate_up_exps (llama.cpp takes the merged
 * one where it exists and then never looks for the others; a file with both would leave tensors unread). */
static moevk_status check_expert_form(const gguf_file *f, int il) {
    const int merged = mvk_find_tensorf(f, "blk.%d.ffn_gate_up_exps.weight", il) != NULL;
    const int gate = mvk_find_tensorf(f, "blk.%d.ffn_gate_exps.weight", il) != NULL;
    const int up = mvk_find_tensorf(f, "blk.%d.ffn_up_exps.weight", il) != NULL;
    if (merged && (gate || up))
        return mvk_fail(MOEVK_ERR_FORMAT, "layer %d has both 'blk.%d.ffn_gate_up_exps.weight' and 'blk.%d.ffn_%s_exps.weight'",
                        il, il, il, gate ? "gate" : "up");
    if (!merged && !(gate && up))
        return mvk_fail(MOEVK_ERR_FORMAT, "missing tensor 'blk.%d.ffn_%s_exps.weight' (and no merged ffn_gate_up_exps)", il,
                        gate ? "up" : "gate");
    return MOEVK_OK;
}

static moevk_status read_hparams(const gguf_file *f, mvk_text_hparams *hp) {
    const char *A = hp->arch_name;
    char key[128];
    if (hp->n_layer > MVK_MAX_LAYERS)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: block_count %d exceeds %d layers", A, hp->n_layer, MVK_MAX_LAYERS);
    uint32_t u = 0;
    snprintf(key, sizeof key, "%s.embedding_length_per_layer_input", A);
    if (!gguf_has_key(f, key)) return mvk_fail(MOEVK_ERR_FORMAT, "missing required key '%s'", key);
    MVK_TRY(gguf_get_u32(f, key, &u));
    if (u) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: per-layer embeddings ('%s' = %u: Gemma 4 E2B/E4B) are not implemented", A, key, u);
    snprintf(key, sizeof key, "%s.attention.shared_kv_layers", A);
    MVK_TRY(gguf_get_u32_opt(f, key, 0, &u));
    if (u) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: shared-KV layers ('%s' = %u: Gemma 4 E2B/E4B) are not implemented", A, key, u);
    if (hp->head_dim != hp->head_dim_v)
        return mvk_fail(MOEVK_ERR_FORMAT, "%s: attention.key_length %d != value_length %d", A, hp->head_dim, hp->head_dim_v);
    if (hp->head_dim % 2) return mvk_fail(MOEVK_ERR_FORMAT, "%s: attention.key_length %d is odd", A, hp->head_dim);
    int hdv_swa = 0;
    MVK_TRY(mvk_key_pos(f, A, "attention.key_length_swa", 0, hp->head_dim, &hp->head_dim_swa));
    MVK_TRY(mvk_key_pos(f, A, "attention.value_length_swa", 0, hp->head_dim_v, &hdv_swa));
    if (hp->head_dim_swa != hdv_swa || hp->head_dim_swa % 2)
        return mvk_fail(MOEVK_ERR_FORMAT, "%s: attention.key_length_swa %d and value_length_swa %d must be equal and even", A,
                        hp->head_dim_swa, hdv_swa);
    if (hp->head_dim > 512 || hp->head_dim_swa > 512) /* backend/vk_op_attention.c ATTN_MAX_HD (above 256: attn_wide) */
        return mvk_fail(MOEVK_ERR_UNSUPPORTED,
                        "%s: head dims %d (global) / %d (sliding): moevk's attention runs head dims up to 512", A,
                        hp->head_dim, hp->head_dim_swa);
    MVK_TRY(mvk_key_pos(f, A, "rope.dimension_count_swa", 0, hp->n_rot, &hp->n_rot_swa));
    if (hp->n_rot_swa % 2 || hp->n_rot_swa > hp->head_dim_swa)
        return mvk_fail(MOEVK_ERR_FORMAT, "%s: rope.dimension_count_swa %d must be even and <= key_length_swa %d", A,
                        hp->n_rot_swa, hp->head_dim_swa);
    MVK_TRY(mvk_key_f32(f, A, "rope.freq_base_swa", 0, 10000.0f, &hp->rope_freq_base_swa));
    if (!(hp->rope_freq_base_swa > 0)) return mvk_fail(MOEVK_ERR_FORMAT, "%s: rope.freq_base_swa must be > 0", A);
    MVK_TRY(mvk_key_pos(f, A, "attention.sliding_window", 1, 0, &hp->n_swa));
    /* absent: llama.cpp's default of 30 (llama_hparams.f_final_logit_softcapping); 0: no capping */
    MVK_TRY(mvk_key_f32(f, A, "final_logit_softcapping", 0, 30.0f, &hp->logit_softcap));
    hp->embd_scale = sqrtf((float)hp->n_embd); /* llama.cpp: ggml_scale(inp, sqrtf(n_embd)) on text tokens */

    /* the layer pattern (true: sliding) and which layers route (they have a router) */
    snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", A);
    if (!gguf_has_key(f, key)) return mvk_fail(MOEVK_ERR_FORMAT, "missing required key '%s'", key);
    int32_t pat[MVK_MAX_LAYERS];
    uint64_t n = 0;
    MVK_TRY(gguf_get_arr_i32(f, key, pat, MVK_MAX_LAYERS, &n));
    if (n != (uint64_t)hp->n_layer)
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' has %llu entries, block_count is %d", key, (unsigned long long)n, hp->n_layer);
    int n_moe = 0, n_global = 0;
    for (int il = 0; il < hp->n_layer; il++) {
        int moe = mvk_find_tensorf(f, "blk.%d.ffn_gate_inp.weight", il) != NULL;
        hp->layer_kinds[il] = (uint8_t)(MVK_LAYER_ATTN | MVK_LAYER_DENSE | (pat[il] ? MVK_LAYER_SWA : 0) | (moe ? MVK_LAYER_MOE : 0));
        n_moe += moe;
        n_global += !pat[il];
        if (moe) MVK_TRY(check_expert_form(f, il));
    }
    MVK_TRY(read_kv_heads(f, hp));
    if (n_global && !gguf_find_tensor(f, "rope_freqs.weight"))
        return mvk_fail(MOEVK_ERR_FORMAT, "missing tensor 'rope_freqs.weight' (the global layers' proportional RoPE)");
    hp->is_moe = n_moe > 0; /* the dense 31B has no router anywhere */
    if (hp->is_moe) MVK_TRY(mvk_hp_read_moe(f, hp));
    return check_scales(f);
}

/* One decoder layer (llama.cpp's gemma4 graph): attention with its post-norm into the residual, then the FFN
 * (dense GeGLU MLP, beside the routed experts on a MoE layer), post_ffw_norm, the residual, the output scale. */
static moevk_status record_layer(const mvk_lm_rec *r, int il) {
    MVK_TRY(mvk_attn_gemma4(r, il));
    return mvk_ffn_gemma4(r, il);
}

/* The template's turns (models/templates/google-gemma-4-31B-it.jinja); the conversation opens with <bos>
 * (open_bos). Thinking off (the default): the generation prompt closes an empty thought channel. Thinking on:
 * the system turn opens with <|think|> and the model writes its own "<|channel>thought\n...<channel|>" before
 * the answer. An image is <|image> + its rows + <image|> (libmtmd's gemma4v markers). */
static const mvk_prompt_format prompt_gemma4 = {
    .system_open = "<|turn>system\n",
    .turn_end = "<turn|>\n",
    .user_open = "<|turn>user\n",
    .assistant_open = "<turn|>\n<|turn>model\n<|channel>thought\n<channel|>",
    .image_start = "<|image>",
    .image_pad = "<|image|>",
    .image_end = "<image|>",
    .think_open = "<|channel>",
    .think_close = "<channel|>",
    .assistant_open_think = "<turn|>\n<|turn>model\n",
    .system_think = "<|think|>\n",
    .think_label = "thought\n",
    .open_bos = 1,
};

static const mvk_tensor_spec globals[] = {
    MVK_ROWS_LM_GLOBALS,
    {"rope_freqs.weight", {MVK_D_HALF_HEAD}, 1, 0, MVK_T_F32 | MVK_T_OPTIONAL, 0, offsetof(mvk_weights, rope_freqs)},
};

#define F32 MVK_T_F32
#define OPT MVK_T_OPTIONAL
#define EXP MVK_T_EXPERT
#define OFF(f) offsetof(mvk_lm_layer, f)
/* Attention shapes are the layer's own (the walker's dims_of: a sliding layer's head dim and KV heads). */
static const mvk_tensor_spec layer[] = {
    {"blk.%d.attn_norm.weight", {MVK_D_EMBD}, 1, 0, F32, 0, OFF(attn_norm)},
    {"blk.%d.attn_q.weight", {MVK_D_EMBD, MVK_D_Q}, 2, 0, 0, 0, OFF(wq)},
    {"blk.%d.attn_k.weight", {MVK_D_EMBD, MVK_D_K}, 2, 0, 0, 0, OFF(wk)},
    {"blk.%d.attn_v.weight", {MVK_D_EMBD, MVK_D_V}, 2, 0, OPT, 0, OFF(wv)}, /* absent: V = K */
    {"blk.%d.attn_output.weight", {MVK_D_O, MVK_D_EMBD}, 2, 0, 0, 0, OFF(wo)},
    {"blk.%d.attn_q_norm.weight", {MVK_D_HEAD}, 1, 0, F32, 0, OFF(q_norm)},
    {"blk.%d.attn_k_norm.weight", {MVK_D_HEAD}, 1, 0, F32, 0, OFF(k_norm)},
    {"blk.%d.post_attention_norm.weight", {MVK_D_EMBD}, 1, 0, F32, 0, OFF(post_attn_norm)},
    {"blk.%d.layer_output_scale.weight", {MVK_D_1}, 1, 0, F32 | OPT, 0, OFF(out_scale)},
    /* the dense GeGLU MLP, in every layer */
    {"blk.%d.ffn_norm.weight", {MVK_D_EMBD}, 1, 0, F32, 0, OFF(ffn_norm)},
    {"blk.%d.ffn_gate.weight", {MVK_D_EMBD, MVK_D_FF}, 2, 0, 0, 0, OFF(ffn_gate)},
    {"blk.%d.ffn_up.weight", {MVK_D_EMBD, MVK_D_FF}, 2, 0, 0, 0, OFF(ffn_up)},
    {"blk.%d.ffn_down.weight", {MVK_D_FF, MVK_D_EMBD}, 2, 0, 0, 0, OFF(ffn_down)},
    {"blk.%d.post_ffw_norm.weight", {MVK_D_EMBD}, 1, 0, F32, 0, OFF(post_ffw_norm)},
    /* the routed experts beside it; gate and up as two stacks or merged (check_expert_form: one of the two) */
    {"blk.%d.ffn_gate_inp.weight", {MVK_D_EMBD, MVK_D_EXPERT}, 2, MVK_LAYER_MOE, 0, 0, OFF(gate_inp)},
    {"blk.%d.ffn_gate_exps.weight", {MVK_D_EMBD, MVK_D_FF_EXP, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, EXP | OPT, 0, OFF(gate_exps)},
    {"blk.%d.ffn_up_exps.weight", {MVK_D_EMBD, MVK_D_FF_EXP, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, EXP | OPT, 1, OFF(up_exps)},
    {"blk.%d.ffn_gate_up_exps.weight", {MVK_D_EMBD, MVK_D_FF_EXP2, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, EXP | OPT,
     MVK_PART_GATE_UP, OFF(gate_up_exps)},
    {"blk.%d.ffn_down_exps.weight", {MVK_D_FF_EXP, MVK_D_EMBD, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, EXP, 2, OFF(down_exps)},
    {"blk.%d.ffn_gate_inp.scale", {MVK_D_EMBD}, 1, MVK_LAYER_MOE, F32, 0, OFF(gate_inp_s)},
    {"blk.%d.ffn_down_exps.scale", {MVK_D_EXPERT}, 1, MVK_LAYER_MOE, F32 | OPT, 0, OFF(down_exps_s)},
    {"blk.%d.pre_ffw_norm_2.weight", {MVK_D_EMBD}, 1, MVK_LAYER_MOE, F32, 0, OFF(pre_ffw_norm_2)},
    {"blk.%d.post_ffw_norm_1.weight", {MVK_D_EMBD}, 1, MVK_LAYER_MOE, F32, 0, OFF(post_ffw_norm_1)},
    {"blk.%d.post_ffw_norm_2.weight", {MVK_D_EMBD}, 1, MVK_LAYER_MOE, F32, 0, OFF(post_ffw_norm_2)},
};
#undef F32
#undef OPT
#undef EXP
#undef OFF

const mvk_family mvk_family_gemma4 = {
    .arch = "gemma4",
    .kinds = MVK_LAYER_ATTN | MVK_LAYER_SWA | MVK_LAYER_MOE | MVK_LAYER_DENSE,
    .rope_imrope = 0,
    .vision_input = 1, /* the gemma4v tower, engine/arch/clip_gemma4v.c */
    .image_both_ways = 1, /* the 26B-A4B (E2B/E4B, causal in llama.cpp, are refused at load) */
    .read_hparams = read_hparams,
    .layer_kind = layer_kind,
    .record_layer = record_layer,
    .prompt = &prompt_gemma4,
    .globals = globals,
    .n_globals = MVK_COUNT(globals),
    .layer = layer,
    .n_layer_spec = MVK_COUNT(layer),
};
