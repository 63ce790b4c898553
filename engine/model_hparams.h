/* model_hparams.h — hyper-parameters of a Qwen3(-VL)(-MoE) text GGUF and of a
 * Qwen3-VL mmproj GGUF, read and checked the way llama.cpp reads them
 * (spec: shared/docs/qwen3vl-moe.md §1-§2), plus the check that every tensor
 * the forward pass needs exists with exactly the expected shape.
 *
 *     gguf_file *tf, *vf;   // opened with gguf_open
 *     mvk_text_hparams th;  mvk_vision_hparams vh;
 *     MVK_TRY(mvk_text_hparams_load(tf, &th));     // keys
 *     MVK_TRY(mvk_text_check_tensors(tf, &th));    // every tensor + shape
 *     MVK_TRY(mvk_vision_hparams_load(vf, &vh));   // keys + deepstack taps
 *     MVK_TRY(mvk_vision_check_tensors(vf, &vh));
 *     MVK_TRY(mvk_check_text_vision_pair(&th, &vh)); // spec §6 trap 20
 *
 * Errors: a missing required key -> MOEVK_ERR_FORMAT "missing required key
 * '<key>'"; a value out of range -> MOEVK_ERR_FORMAT naming the key; an
 * unknown architecture or projector -> MOEVK_ERR_UNSUPPORTED naming it; a
 * missing tensor -> MOEVK_ERR_FORMAT "missing tensor '<name>'"; a tensor with
 * the wrong shape -> MOEVK_ERR_SHAPE "tensor '<name>' has shape [..], expected [..]". */
#ifndef MVK_MODEL_HPARAMS_H
#define MVK_MODEL_HPARAMS_H

#include <stdint.h>

#include "gguf.h"
#include "moevk.h"

struct mvk_family;

typedef enum mvk_rope_mode {
    MVK_ROPE_NEOX = 0,   /* split-half pairs (i, i + n_rot/2), one position */
    MVK_ROPE_IMROPE = 1, /* interleaved M-RoPE: NEOX pairs, pair i takes position component by i % 3 (spec §4.4) */
} mvk_rope_mode;

#define MVK_MAX_DEEPSTACK 64
#define MVK_MAX_LAYERS 512 /* llama.cpp's LLAMA_MAX_LAYERS: the per-layer arrays below */

/* Text model. All counts > 0 unless stated. */
typedef struct mvk_text_hparams {
    const struct mvk_family *fam; /* the family claiming general.architecture (engine/arch/) */
    const char *arch_name;  /* fam->arch: "qwen3vlmoe", ... (static string) */
    int is_moe;             /* the family may hold MoE layers (fam->kinds) */
    int has_vision_input;   /* fam->vision_input: image rows of width n_embd_inp */
    int n_layer;            /* {arch}.block_count */
    int64_t n_ctx_train;    /* {arch}.context_length */
    int n_embd;             /* {arch}.embedding_length */
    int n_ff;               /* {arch}.feed_forward_length; required for dense archs, 0 if absent */
    int n_ff_exp;           /* {arch}.expert_feed_forward_length (fallback n_ff / n_expert_used); 0 if dense */
    int n_expert;           /* {arch}.expert_count; 0 if dense */
    int n_expert_used;      /* {arch}.expert_used_count (top-k); 0 if dense */
    int n_head;             /* {arch}.attention.head_count */
    int n_head_kv;          /* {arch}.attention.head_count_kv (default n_head) */
    int head_dim;           /* {arch}.attention.key_length (default n_embd / n_head) */
    int head_dim_v;         /* {arch}.attention.value_length (default n_embd / n_head) */
    int n_rot;              /* {arch}.rope.dimension_count (default head_dim); even, <= head_dim */
    float rms_eps;          /* {arch}.attention.layer_norm_rms_epsilon */
    float rope_freq_base;   /* {arch}.rope.freq_base (default 10000) */
    int rope_sections[4];   /* {arch}.rope.dimension_sections [t, h, w, e]; required for IMROPE, else 0 */
    mvk_rope_mode rope_mode;/* fam->rope_imrope: IMROPE for the VL archs, NEOX otherwise (not stored in the file) */
    int n_deepstack;        /* {arch}.n_deepstack_layers (default 0; 0 for text-only archs) */
    int n_embd_inp;         /* n_embd * (1 + n_deepstack): width of an input embedding row */
    int n_vocab;            /* ne[1] of token_embd.weight */
    int n_layer_nextn;      /* {arch}.nextn_predict_layers: MTP blocks after the trunk, never run (0 if absent) */
    /* recurrent mixer (Gated DeltaNet, qwen35moe / qwen35); 0 for the other families */
    int n_ff_shexp;         /* {arch}.expert_shared_feed_forward_length (default n_ff) */
    int ssm_conv;           /* {arch}.ssm.conv_kernel: K */
    int ssm_state;          /* {arch}.ssm.state_size: S_k = S_v */
    int ssm_groups;         /* {arch}.ssm.group_count: H_k */
    int ssm_heads_v;        /* {arch}.ssm.time_step_rank: H_v */
    int ssm_inner;          /* {arch}.ssm.inner_size: H_v * S_v */
    int full_attn_interval; /* {arch}.full_attention_interval (default 4): layer il is attention iff (il+1) % it == 0 */
    int n_moe_layers;       /* layers whose kind (fam->layer_kind) has MVK_LAYER_MOE: routing, expert cache */
    int n_attn_layers;      /* layers with MVK_LAYER_ATTN: a KV cache each */
    int n_recur_layers;     /* layers with MVK_LAYER_RECUR: a recurrent state each (conv + delta rule) */
    int tied_output;        /* 1 if output.weight is absent: the LM head reuses token_embd.weight */
    /* sliding-window attention (gemma4; 0 for the other families): layers whose kind has MVK_LAYER_SWA use
     * these instead of head_dim / n_head_kv / n_rot / rope_freq_base (mvk_layer_geom) */
    int n_swa;              /* {arch}.attention.sliding_window: a query sees n_swa keys up to itself */
    int head_dim_swa;       /* {arch}.attention.key_length_swa (= value_length_swa) */
    int n_head_kv_swa;      /* head_count_kv of the sliding layers (the key may be a per-layer array) */
    int n_rot_swa;          /* {arch}.rope.dimension_count_swa */
    float rope_freq_base_swa; /* {arch}.rope.freq_base_swa (default 10000) */
    float embd_scale;       /* text-token embedding rows are multiplied by this (gemma4: sqrtf(n_embd)); 0: not */
    float logit_softcap;    /* {arch}.final_logit_softcapping: logits = c * tanh(logits / c); 0: none */
    uint8_t layer_kinds[MVK_MAX_LAYERS]; /* a family whose layer kinds come from the file (gemma4: the sliding
                                            window pattern, which layers route) keeps them here for layer_kind */
} mvk_text_hparams;

typedef enum mvk_vision_act {
    MVK_VISION_ACT_GELU_QUICK = 0, /* llama.cpp's fallback when neither key is set (wrong for Qwen3-VL) */
    MVK_VISION_ACT_GELU = 1,       /* clip.use_gelu: tanh GELU */
    MVK_VISION_ACT_SILU = 2,       /* clip.use_silu */
} mvk_vision_act;

typedef enum mvk_projector {
    MVK_PROJ_QWEN3VL_MERGER = 0, /* Qwen3-VL / Qwen3.5 (engine/vision.c, arch/clip_qwen3vl_merger.c) */
    MVK_PROJ_GEMMA4V = 1,        /* Gemma 4 (engine/arch/clip_gemma4v.c) */
} mvk_projector;

/* mmproj (clip, projector qwen3vl_merger or gemma4v). gemma4v reads these fields as: spatial_merge = the
 * average-pool kernel k (clip.vision.projector.scale_factor, default 3), n_pos = rows of each of the two
 * position tables, n_merged = n_embd (pooling keeps the width), n_mmproj_embd = n_embd_out = ne1 of
 * mm.input_projection.weight, image_min/max_tokens default 70 / 1120 (llama.cpp's limits for gemma4v). */
typedef struct mvk_vision_hparams {
    char projector[32];     /* clip.projector_type, "qwen3vl_merger" or "gemma4v" */
    mvk_projector proj;
    int n_embd;             /* clip.vision.embedding_length: ViT width d */
    int n_ff;               /* clip.vision.feed_forward_length */
    int n_layer;            /* clip.vision.block_count: depth */
    int n_head;             /* clip.vision.attention.head_count */
    int head_dim;           /* n_embd / n_head */
    float eps;              /* clip.vision.attention.layer_norm_epsilon */
    int patch_size;         /* clip.vision.patch_size: p */
    int image_size;         /* clip.vision.image_size (informational) */
    int spatial_merge;      /* clip.vision.spatial_merge_size (default 2): m */
    int projection_dim;     /* clip.vision.projection_dim (informational; 0 if absent) */
    float image_mean[3];    /* clip.vision.image_mean */
    float image_std[3];     /* clip.vision.image_std */
    mvk_vision_act act;     /* ViT MLP activation from clip.use_gelu / clip.use_silu */
    int n_deepstack;        /* number of deepstack taps */
    int deepstack_layers[MVK_MAX_DEEPSTACK]; /* [n_deepstack] ViT layer of each tap, ascending
                                                (tensors v.deepstack.{L}.*) */
    int n_pos;              /* rows of v.position_embd.weight (= G*G) */
    int n_pos_side;         /* G = sqrt(n_pos) */
    int n_merged;           /* n_embd * m * m: width after the 2x2 merge */
    int n_mmproj_embd;      /* ne0(mm.2.bias): output width of the merger (= text n_embd) */
    int n_embd_out;         /* n_mmproj_embd * (1 + n_deepstack): one encoder output row */
    int image_min_tokens;   /* moevk.vision.image_min_tokens: the image-token range the pair */
    int image_max_tokens;   /* was trained for (docs/GGUF.md); 0 where the file has no such key */
    int load_max_tokens;    /* moevk_model_params.image_max_tokens: the cap the memory plan was made for
                               (the vision scratch), above every request; 0: none */
} mvk_vision_hparams;

/* Reads the keys of a text GGUF (arch qwen3vlmoe, qwen3vl, qwen3moe, qwen3),
 * plus n_vocab and tied_output from the tensor table. Fails on a missing
 * required key, a value out of range, an unknown architecture
 * (MOEVK_ERR_UNSUPPORTED naming it) and on the fused ffn_gate_up_exps (unless the
 * family's tensor table reads it: gemma4) / attn_qkv layouts (MOEVK_ERR_UNSUPPORTED). */
moevk_status mvk_text_hparams_load(const gguf_file *f, mvk_text_hparams *hp);

/* Checks every tensor the text forward pass reads (spec §2.1) exists with the
 * exact expected ne. */
moevk_status mvk_text_check_tensors(const gguf_file *f, const mvk_text_hparams *hp);

/* Reads the keys of an mmproj GGUF (general.architecture "clip"), detects the
 * deepstack taps from the presence of v.deepstack.{L}.fc1.weight, and n_pos
 * from v.position_embd.weight. A projector other than qwen3vl_merger gives
 * MOEVK_ERR_UNSUPPORTED naming it. */
moevk_status mvk_vision_hparams_load(const gguf_file *f, mvk_vision_hparams *hp);

/* Checks every vision tensor (spec §2.2) exists with the exact expected ne. */
moevk_status mvk_vision_check_tensors(const gguf_file *f, const mvk_vision_hparams *hp);

/* The image-token budget [*min_t, *max_t]: per bound the caller's value if > 0, else the mmproj's
 * moevk.vision.image_{min,max}_tokens, else llama.cpp's default (8, 4096). A bound from a weaker
 * source gives way to a stronger one it would cross (caller min 64 with the file's max 16 gives
 * [64, 64]); two crossed bounds of the caller are returned as given (as before the key existed). */
void mvk_image_budget(const mvk_vision_hparams *hp, int req_min, int req_max, int *min_t, int *max_t);

/* Spec §6 trap 20: the mmproj row width ne0(mm.2.bias) * (1 + #taps) must
 * equal the text n_embd_inp = n_embd * (1 + n_deepstack_layers); moevk also
 * requires ne0(mm.2.bias) == n_embd and equal deepstack counts (else the
 * slices would be added to the wrong layers). MOEVK_ERR_SHAPE otherwise. */
moevk_status mvk_check_text_vision_pair(const mvk_text_hparams *t, const mvk_vision_hparams *v);

/* Looks up the tensor whose name is printf(fmt, ...) and checks its shape.
 *   ne_expected: n_dims entries, fastest-varying first (ggml order), e.g.
 *                {n_embd, n_head*head_dim} for blk.%d.attn_q.weight;
 *   n_dims:      1..4; trailing dims of size 1 are ignored on both sides, so
 *                a [64] bias matches a file tensor stored as [64, 1];
 *   out:         receives the tensor (type, data, size); may be NULL to only check.
 * Returns MOEVK_OK, MOEVK_ERR_FORMAT "missing tensor '<name>'" if absent, or
 * MOEVK_ERR_SHAPE "tensor '<name>' has shape [a, b], expected [c, d]".
 * On error *out is NULL. Example:
 *     const gguf_tensor_info *wq;
 *     int64_t ne[2] = {hp.n_embd, (int64_t)hp.n_head * hp.head_dim};
 *     MVK_TRY(mvk_require_tensor(f, ne, 2, &wq, "blk.%d.attn_q.weight", il)); */
moevk_status mvk_require_tensor(const gguf_file *f, const int64_t *ne_expected, int n_dims,
                                const gguf_tensor_info **out, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* The tensor named printf(fmt, ...), or NULL if absent (no error recorded). */
const gguf_tensor_info *mvk_find_tensorf(const gguf_file *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* For the families (engine/arch/): u32 key "{prefix}.{suffix}" > 0 (absent: def, or an error if
 * required); f32 key, finite and >= 0. */
moevk_status mvk_key_pos(const gguf_file *f, const char *prefix, const char *suffix, int required, int def, int *out);
moevk_status mvk_key_f32(const gguf_file *f, const char *prefix, const char *suffix, int required, float def, float *out);
/* engine/arch/clip_gemma4v.c: gemma4v's keys and shapes after the common clip.vision ones. */
moevk_status mvk_gemma4v_hparams(const gguf_file *f, mvk_vision_hparams *hp);
/* The MoE keys: expert_count, expert_used_count, expert_feed_forward_length (fallback n_ff / k). */
moevk_status mvk_hp_read_moe(const gguf_file *f, mvk_text_hparams *hp);
/* The interleaved M-RoPE keys of the VL families: rope.dimension_sections, n_deepstack_layers. */
moevk_status mvk_hp_read_mrope(const gguf_file *f, mvk_text_hparams *hp);

/* The shapes of the tensor tables (engine/arch/family.h, mvk_dim) for these hyper-parameters. */
void mvk_text_dims(const mvk_text_hparams *hp, int64_t *dims);
void mvk_vision_dims(const mvk_vision_hparams *hp, int64_t *dims);

struct mvk_tensor_group;
/* The text model's tensor groups [2] (globals, layers): destinations NULL for a check only, else
 * the mvk_weights and layer 0's mvk_lm_layer, layer_stride apart. */
void mvk_text_tensor_groups(const mvk_text_hparams *hp, void *globals, void *layers, size_t layer_stride,
                            struct mvk_tensor_group *g);
/* The mmproj's groups [3] (globals, ViT blocks, DeepStack taps): destinations as above (mvk_vision,
 * mvk_vit_layer, mvk_deepstack). */
void mvk_vision_tensor_groups(const mvk_vision_hparams *hp, void *vision, void *blocks, size_t block_stride, void *taps,
                              size_t tap_stride, struct mvk_tensor_group *g);
/* gemma4v's groups [3] (globals, ViT blocks, an empty third); mvk_vision_tensor_groups hands over to it. */
void mvk_gemma4v_tensor_groups(const mvk_vision_hparams *hp, void *vision, void *blocks, size_t block_stride,
                               struct mvk_tensor_group *g);

#endif
