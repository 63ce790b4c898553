/* clip_gemma4v.c — the vision tower variant "gemma4v" (Gemma 4; llama.cpp tools/mtmd/models/gemma4v.cpp and
 * clip.cpp, docs/families/gemma4.md §7): its keys, its tensor table (read by the one walker, family.h), the clamp
 * scalars of its clippable linear layers; the tower on the GPU is clip_gemma4v_encode.c.
 *
 *   pixels (normalised by the file's mean/std) -> 2x - 1 -> patch conv (no bias), raster order
 *   + x table[col] + y table[row]                      (two learned tables, halves of v.position_embd)
 *   per block: RMSNorm(ln1) -> q, k, v (clamped linears) -> per-head RMSNorm of q, k (attn_q/k_norm)
 *              -> 2-D NEOX RoPE (θ 100: dims [0, hd/2) by column, [hd/2, hd) by row) -> weightless RMSNorm of v
 *              -> full attention, scale 1 -> attn_out -> RMSNorm(attn_post_norm) -> + residual
 *              -> RMSNorm(ln2) -> GeGLU (gate, up, down; gelu_quick unless clip.use_gelu / use_silu)
 *              -> RMSNorm(ffn_post_norm) -> + residual -> x out_scale
 *   k x k average pool over the patch grid (k = clip.vision.projector.scale_factor, 3) -> x sqrt(d)
 *   -> (x - std_bias) * std_scale -> weightless RMSNorm -> mm.input_projection (clamped)
 * Output rows [n_img][n_text_embd] in raster order of the pooled grid (unscaled: the text model does not multiply
 * image rows by sqrt(n_embd)). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "mvk_status.h"

#define G4V_MIN_TOKENS 70     /* clip.cpp set_limit_image_tokens(70, 1120) */
#define G4V_MAX_TOKENS 1120

static const mvk_tensor_spec globals[] = {
    {"v.patch_embd.weight", {MVK_D_V_PATCH, MVK_D_V_PATCH, MVK_D_V_RGB, MVK_D_V_EMBD}, 4, 0, 0, 0, offsetof(mvk_vision, patch_w0)},
    {"v.position_embd.weight", {MVK_D_V_EMBD, MVK_D_V_POS, MVK_D_2}, 3, 0, MVK_T_F32, 0, offsetof(mvk_vision, pos_embd)},
    {"v.std_bias", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32 | MVK_T_OPTIONAL, 0, offsetof(mvk_vision, std_bias)},
    {"v.std_scale", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32 | MVK_T_OPTIONAL, 0, offsetof(mvk_vision, std_scale)},
    {"mm.input_projection.weight", {MVK_D_V_EMBD, MVK_D_V_OUT}, 2, 0, 0, 0, offsetof(mvk_vision, inp_proj_w)},
};

static const mvk_tensor_spec block[] = {
    {"v.blk.%d.ln1.weight", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, ln1_w)},
    {"v.blk.%d.attn_q.weight", {MVK_D_V_EMBD, MVK_D_V_EMBD}, 2, 0, 0, 0, offsetof(mvk_vit_layer, q_w)},
    {"v.blk.%d.attn_k.weight", {MVK_D_V_EMBD, MVK_D_V_EMBD}, 2, 0, 0, 0, offsetof(mvk_vit_layer, k_w)},
    {"v.blk.%d.attn_v.weight", {MVK_D_V_EMBD, MVK_D_V_EMBD}, 2, 0, 0, 0, offsetof(mvk_vit_layer, v_w)},
    {"v.blk.%d.attn_q_norm.weight", {MVK_D_V_HEAD}, 1, 0, MVK_T_F32 | MVK_T_OPTIONAL, 0, offsetof(mvk_vit_layer, q_norm)},
    {"v.blk.%d.attn_k_norm.weight", {MVK_D_V_HEAD}, 1, 0, MVK_T_F32 | MVK_T_OPTIONAL, 0, offsetof(mvk_vit_layer, k_norm)},
    {"v.blk.%d.attn_out.weight", {MVK_D_V_EMBD, MVK_D_V_EMBD}, 2, 0, 0, 0, offsetof(mvk_vit_layer, out_w)},
    {"v.blk.%d.attn_post_norm.weight", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32 | MVK_T_OPTIONAL, 0, offsetof(mvk_vit_layer, attn_post_norm)},
    {"v.blk.%d.ln2.weight", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, ln2_w)},
    {"v.blk.%d.ffn_gate.weight", {MVK_D_V_EMBD, MVK_D_V_FF}, 2, 0, 0, 0, offsetof(mvk_vit_layer, gate_w)},
    {"v.blk.%d.ffn_up.weight", {MVK_D_V_EMBD, MVK_D_V_FF}, 2, 0, 0, 0, offsetof(mvk_vit_layer, up_w)},
    {"v.blk.%d.ffn_down.weight", {MVK_D_V_FF, MVK_D_V_EMBD}, 2, 0, 0, 0, offsetof(mvk_vit_layer, down_w)},
    {"v.blk.%d.ffn_post_norm.weight", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32 | MVK_T_OPTIONAL, 0, offsetof(mvk_vit_layer, ffn_post_norm)},
    {"v.blk.%d.out_scale.weight", {MVK_D_1}, 1, 0, MVK_T_F32 | MVK_T_OPTIONAL, 0, offsetof(mvk_vit_layer, out_scale)},
};

/* the clippable linear layers of a block, in MVK_G4V_* order: the base of their scalars' names */
static const char *const linear_names[MVK_G4V_N_LINEAR] = {"attn_q", "attn_k", "attn_v", "attn_out",
                                                           "ffn_gate", "ffn_up", "ffn_down"};

/* What clip.cpp's generic ViT would run for gemma4v but this tower does not: refused by name rather than ignored.
 * (v.patch_embd.bias is ignored by llama.cpp's gemma4v graph too, so it is not listed.) */
static const char *const refused[] = {
    "v.blk.%d.attn_qkv.weight", "v.blk.%d.attn_q.bias", "v.blk.%d.attn_k.bias", "v.blk.%d.attn_v.bias",
    "v.blk.%d.attn_out.bias", "v.blk.%d.ln1.bias", "v.blk.%d.ln2.bias", "v.blk.%d.ffn_gate.bias",
    "v.blk.%d.ffn_up.bias", "v.blk.%d.ffn_down.bias", "v.blk.%d.ls1.weight", "v.blk.%d.ls2.weight",
    "v.pre_ln.weight", "v.post_ln.weight",
};

void mvk_gemma4v_tensor_groups(const mvk_vision_hparams *hp, void *vision, void *blocks, size_t block_stride,
                               mvk_tensor_group *g) {
    g[0] = (mvk_tensor_group){.spec = globals, .n_spec = MVK_COUNT(globals), .count = 1, .dst = vision};
    g[1] = (mvk_tensor_group){.spec = block, .n_spec = MVK_COUNT(block), .count = hp->n_layer, .dst = blocks,
                              .stride = block_stride};
    g[2] = (mvk_tensor_group){.spec = block, .n_spec = 0, .count = 0};
}

moevk_status mvk_gemma4v_hparams(const gguf_file *f, mvk_vision_hparams *hp) {
    MVK_TRY(mvk_key_pos(f, "clip.vision", "projector.scale_factor", 0, 3, &hp->spatial_merge));
    if (hp->spatial_merge > 64)
        return mvk_fail(MOEVK_ERR_FORMAT, "key 'clip.vision.projector.scale_factor' = %d out of range", hp->spatial_merge);
    for (int i = 0; i < MVK_COUNT(refused); i++)
        for (int il = 0; il < (strstr(refused[i], "%d") ? hp->n_layer : 1); il++)
            if (mvk_find_tensorf(f, refused[i], il)) {
                char nm[96];
                snprintf(nm, sizeof nm, refused[i], il);
                return mvk_fail(MOEVK_ERR_UNSUPPORTED, "mmproj: gemma4v tensor '%s' is not supported", nm);
            }
    const gguf_tensor_info *pe = gguf_find_tensor(f, "v.position_embd.weight");
    if (!pe) return mvk_fail(MOEVK_ERR_FORMAT, "missing tensor 'v.position_embd.weight'");
    if (pe->ne[0] != hp->n_embd || pe->ne[2] != 2 || pe->ne[3] != 1 || pe->ne[1] > INT32_MAX)
        return mvk_fail(MOEVK_ERR_SHAPE,
                        "tensor 'v.position_embd.weight' has shape [%lld, %lld, %lld, %lld], expected [%d, n_pos, 2] "
                        "(gemma4v's x and y tables)",
                        (long long)pe->ne[0], (long long)pe->ne[1], (long long)pe->ne[2], (long long)pe->ne[3], hp->n_embd);
    hp->n_pos = (int)pe->ne[1];
    hp->n_pos_side = hp->n_pos; /* patches per side the tables cover */
    const gguf_tensor_info *pr = gguf_find_tensor(f, "mm.input_projection.weight");
    if (!pr) return mvk_fail(MOEVK_ERR_FORMAT, "missing tensor 'mm.input_projection.weight'");
    if (pr->ne[1] > INT32_MAX || pr->ne[1] < 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "tensor 'mm.input_projection.weight' has %lld outputs", (long long)pr->ne[1]);
    hp->n_merged = hp->n_embd; /* the pool keeps the width */
    hp->n_mmproj_embd = hp->n_embd_out = (int)pr->ne[1];
    hp->n_deepstack = 0;
    MVK_TRY(mvk_key_pos(f, "moevk.vision", "image_min_tokens", 0, G4V_MIN_TOKENS, &hp->image_min_tokens));
    MVK_TRY(mvk_key_pos(f, "moevk.vision", "image_max_tokens", 0, G4V_MAX_TOKENS, &hp->image_max_tokens));
    if (hp->image_min_tokens > hp->image_max_tokens)
        return mvk_fail(MOEVK_ERR_FORMAT, "mmproj: image token range [%d, %d] is empty", hp->image_min_tokens,
                        hp->image_max_tokens);
    return MOEVK_OK;
}

/* One scalar tensor "<base>.<suffix>" into *out (absent: def). */
static moevk_status read_scalar(const gguf_file *f, const char *base, const char *suffix, float def, float *out) {
    const gguf_tensor_info *t = mvk_find_tensorf(f, "%s.%s", base, suffix);
    *out = def;
    if (!t) return MOEVK_OK;
    if (t->n_elems != 1 || !t->supported)
        return mvk_fail(MOEVK_ERR_SHAPE, "tensor '%s' must be one number (a clamp bound), has %lld elements", t->name,
                        (long long)t->n_elems);
    mvk_dequantize_row(t->type, t->data, out, 1);
    if (isnan(*out)) return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s' is NaN", t->name);
    return MOEVK_OK;
}

static moevk_status read_clamp(const gguf_file *f, const char *base, mvk_clamp *c) {
    MVK_TRY(read_scalar(f, base, "input_min", -FLT_MAX, &c->in_min));
    MVK_TRY(read_scalar(f, base, "input_max", FLT_MAX, &c->in_max));
    MVK_TRY(read_scalar(f, base, "output_min", -FLT_MAX, &c->out_min));
    MVK_TRY(read_scalar(f, base, "output_max", FLT_MAX, &c->out_max));
    if (c->in_min > c->in_max || c->out_min > c->out_max)
        return mvk_fail(MOEVK_ERR_FORMAT, "'%s': clamp bounds cross (input [%g, %g], output [%g, %g])", base,
                        (double)c->in_min, (double)c->in_max, (double)c->out_min, (double)c->out_max);
    return MOEVK_OK;
}

moevk_status mvk_gemma4v_read_clamps(const gguf_file *f, mvk_vision *v) {
    char base[64];
    for (int il = 0; il < v->hp.n_layer; il++)
        for (int j = 0; j < MVK_G4V_N_LINEAR; j++) {
            snprintf(base, sizeof base, "v.blk.%d.%s", il, linear_names[j]);
            MVK_TRY(read_clamp(f, base, &v->layers[il].clamp[j]));
        }
    return read_clamp(f, "mm.input_projection", &v->inp_proj_clamp);
}
