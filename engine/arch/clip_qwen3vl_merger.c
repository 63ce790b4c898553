/* clip_qwen3vl_merger.c — the vision tower variant "qwen3vl_merger" (llama.cpp tools/mtmd/clip.cpp,
 * PROJECTOR_TYPE_QWEN3VL): its tensor table, read by the one walker (family.h) for the shape check,
 * the sizing pass and the upload. Blocks: the globals (patch kernels, position table, post-norm,
 * merger MLP), the ViT blocks v.blk.N, the DeepStack taps v.deepstack.L (L: the ViT layer of tap j). */
#include <stddef.h>

#include "layers.h"

static const mvk_tensor_spec globals[] = {
    /* the two temporal patch kernels, used as 2-D [p*p*3, d] matrices (im2col + matmul) */
    {"v.patch_embd.weight", {MVK_D_V_PATCH, MVK_D_V_PATCH, MVK_D_V_RGB, MVK_D_V_EMBD}, 4, 0, 0, 0, offsetof(mvk_vision, patch_w0)},
    {"v.patch_embd.weight.1", {MVK_D_V_PATCH, MVK_D_V_PATCH, MVK_D_V_RGB, MVK_D_V_EMBD}, 4, 0, 0, 0, offsetof(mvk_vision, patch_w1)},
    {"v.patch_embd.bias", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vision, patch_b)},
    {"v.position_embd.weight", {MVK_D_V_EMBD, MVK_D_V_POS}, 2, 0, MVK_T_F32, 0, offsetof(mvk_vision, pos_embd)},
    {"v.post_ln.weight", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vision, post_ln_w)},
    {"v.post_ln.bias", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vision, post_ln_b)},
    {"mm.0.weight", {MVK_D_V_MERGED, MVK_D_V_MERGED}, 2, 0, 0, 0, offsetof(mvk_vision, mm0_w)},
    {"mm.0.bias", {MVK_D_V_MERGED}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vision, mm0_b)},
    {"mm.2.weight", {MVK_D_V_MERGED, MVK_D_V_OUT}, 2, 0, 0, 0, offsetof(mvk_vision, mm2_w)},
    {"mm.2.bias", {MVK_D_V_OUT}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vision, mm2_b)},
};

static const mvk_tensor_spec block[] = {
    {"v.blk.%d.ln1.weight", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, ln1_w)},
    {"v.blk.%d.ln1.bias", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, ln1_b)},
    {"v.blk.%d.attn_qkv.weight", {MVK_D_V_EMBD, MVK_D_V_EMBD3}, 2, 0, 0, 0, offsetof(mvk_vit_layer, qkv_w)},
    {"v.blk.%d.attn_qkv.bias", {MVK_D_V_EMBD3}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, qkv_b)},
    {"v.blk.%d.attn_out.weight", {MVK_D_V_EMBD, MVK_D_V_EMBD}, 2, 0, 0, 0, offsetof(mvk_vit_layer, out_w)},
    {"v.blk.%d.attn_out.bias", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, out_b)},
    {"v.blk.%d.ln2.weight", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, ln2_w)},
    {"v.blk.%d.ln2.bias", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, ln2_b)},
    {"v.blk.%d.ffn_up.weight", {MVK_D_V_EMBD, MVK_D_V_FF}, 2, 0, 0, 0, offsetof(mvk_vit_layer, up_w)},
    {"v.blk.%d.ffn_up.bias", {MVK_D_V_FF}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, up_b)},
    {"v.blk.%d.ffn_down.weight", {MVK_D_V_FF, MVK_D_V_EMBD}, 2, 0, 0, 0, offsetof(mvk_vit_layer, down_w)},
    {"v.blk.%d.ffn_down.bias", {MVK_D_V_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_vit_layer, down_b)},
};

static const mvk_tensor_spec tap[] = {
    {"v.deepstack.%d.norm.weight", {MVK_D_V_MERGED}, 1, 0, MVK_T_F32, 0, offsetof(mvk_deepstack, norm_w)},
    {"v.deepstack.%d.norm.bias", {MVK_D_V_MERGED}, 1, 0, MVK_T_F32, 0, offsetof(mvk_deepstack, norm_b)},
    {"v.deepstack.%d.fc1.weight", {MVK_D_V_MERGED, MVK_D_V_MERGED}, 2, 0, 0, 0, offsetof(mvk_deepstack, fc1_w)},
    {"v.deepstack.%d.fc1.bias", {MVK_D_V_MERGED}, 1, 0, MVK_T_F32, 0, offsetof(mvk_deepstack, fc1_b)},
    {"v.deepstack.%d.fc2.weight", {MVK_D_V_MERGED, MVK_D_V_OUT}, 2, 0, 0, 0, offsetof(mvk_deepstack, fc2_w)},
    {"v.deepstack.%d.fc2.bias", {MVK_D_V_OUT}, 1, 0, MVK_T_F32, 0, offsetof(mvk_deepstack, fc2_b)},
};

void mvk_vision_dims(const mvk_vision_hparams *hp, int64_t *d) {
    for (int i = 0; i < MVK_D_COUNT; i++) d[i] = 1;
    d[MVK_D_V_EMBD] = hp->n_embd;
    d[MVK_D_V_EMBD3] = 3 * (int64_t)hp->n_embd;
    d[MVK_D_V_FF] = hp->n_ff;
    d[MVK_D_V_PATCH] = hp->patch_size;
    d[MVK_D_V_RGB] = 3;
    d[MVK_D_V_POS] = hp->n_pos;
    d[MVK_D_V_MERGED] = hp->n_merged;
    d[MVK_D_V_OUT] = hp->n_mmproj_embd;
    d[MVK_D_V_HEAD] = hp->head_dim;
    d[MVK_D_2] = 2;
}

void mvk_vision_tensor_groups(const mvk_vision_hparams *hp, void *vision, void *blocks, size_t block_stride, void *taps,
                              size_t tap_stride, mvk_tensor_group *g) {
    if (hp->proj == MVK_PROJ_GEMMA4V) {
        mvk_gemma4v_tensor_groups(hp, vision, blocks, block_stride, g);
        return;
    }
    g[0] = (mvk_tensor_group){.spec = globals, .n_spec = MVK_COUNT(globals), .count = 1, .dst = vision};
    g[1] = (mvk_tensor_group){.spec = block, .n_spec = MVK_COUNT(block), .count = hp->n_layer, .dst = blocks,
                              .stride = block_stride};
    g[2] = (mvk_tensor_group){.spec = tap, .n_spec = MVK_COUNT(tap), .count = hp->n_deepstack,
                              .name_no = hp->deepstack_layers, .dst = taps, .stride = tap_stride};
}
