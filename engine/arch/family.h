/* family.h — a model family as a descriptor (llama.cpp's src/models/<arch>.cpp is the model:
 * load_arch_hparams, load_arch_tensors, the graph). One file in engine/arch/ per family holds:
 *   - the architecture name it claims and the keys it reads beyond the common ones (read_hparams);
 *   - the kind of each layer (attention or recurrent mixer, MoE or dense FFN): no code may assume
 *     every layer is the same;
 *   - its tensor table: name pattern, shape in terms of the hyper-parameters, which layers hold it,
 *     where it lands. ONE walker (mvk_walk_tensors) reads that table for the shape check, the
 *     sizing pass, the upload and the expert sources;
 *   - its layer recording, written over the layer toolkit (layers.h: attention, moe_ffn, ...);
 *   - its prompt format (chat template pieces, image start/pad/end tokens, thinking on/off);
 *   - its positions mode (NEOX or interleaved M-RoPE) and whether it takes image rows.
 *
 * Adding a family: a new engine/arch/<arch>.c with its descriptor, listed in families.c. */
#ifndef MVK_ARCH_FAMILY_H
#define MVK_ARCH_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "moevk.h"
#include "vk_backend.h"

struct mvk_text_hparams;
struct mvk_lm_rec;

/* What one layer holds: its token mixer and its FFN. Bits, so a table row can name the layers it
 * belongs to as a mask ("every layer with an attention mixer"). */
typedef enum mvk_layer_kind {
    MVK_LAYER_ATTN = 1 << 0,  /* self-attention over a KV cache */
    MVK_LAYER_RECUR = 1 << 1, /* recurrent mixer with a fixed-size state (none of the families below yet) */
    MVK_LAYER_MOE = 1 << 2,   /* routed experts FFN */
    MVK_LAYER_DENSE = 1 << 3, /* dense FFN (SwiGLU; GeGLU in gemma4, where it runs beside the MoE) */
    MVK_LAYER_SWA = 1 << 4,   /* with MVK_LAYER_ATTN: attention over a sliding window, with the sliding-window
                                 geometry (head dim, KV heads, RoPE: mvk_layer_geom) */
} mvk_layer_kind;

/* A dimension of a tensor shape in terms of the hyper-parameters (mvk_text_dims / mvk_vision_dims
 * fill a table of int64_t indexed by these). */
typedef enum mvk_dim {
    MVK_D_1 = 0,    /* 1 (pads the unused axes) */
    /* text */
    MVK_D_EMBD,     /* n_embd */
    MVK_D_VOCAB,    /* n_vocab */
    MVK_D_Q,        /* n_head * head_dim */
    MVK_D_K,        /* n_head_kv * head_dim */
    MVK_D_V,        /* n_head_kv * head_dim_v */
    MVK_D_O,        /* n_head * head_dim_v */
    MVK_D_HEAD,     /* head_dim */
    MVK_D_FF,       /* n_ff (dense FFN) */
    MVK_D_FF_EXP,   /* n_ff_exp (one expert's FFN) */
    MVK_D_EXPERT,   /* n_expert */
    MVK_D_QG,       /* 2 * n_head * head_dim: queries and their per-head output gates (gated attention) */
    MVK_D_FF_SHEXP, /* n_ff_shexp (the shared expert's FFN) */
    MVK_D_SSM_CONV, /* ssm conv kernel K */
    MVK_D_SSM_CH,   /* conv channels 2 * S_k * H_k + d_inner (q, k, v of a Gated DeltaNet layer) */
    MVK_D_SSM_INNER,/* d_inner = H_v * S_v (the value dim) */
    MVK_D_SSM_HV,   /* H_v: value heads */
    MVK_D_SSM_S,    /* S_k = S_v: state size per head */
    MVK_D_HALF_HEAD,/* head_dim / 2 (gemma4's rope_freqs, one factor per rotated pair) */
    MVK_D_FF_EXP2,  /* 2 * n_ff_exp (the merged ffn_gate_up_exps: each expert's gate rows, then its up rows) */
    /* vision (clip) */
    MVK_D_V_EMBD,   /* ViT width d */
    MVK_D_V_EMBD3,  /* 3d (fused QKV) */
    MVK_D_V_FF,     /* ViT FFN width */
    MVK_D_V_PATCH,  /* patch size p */
    MVK_D_V_RGB,    /* 3 (input channels) */
    MVK_D_V_POS,    /* rows of the position table (G*G) */
    MVK_D_V_MERGED, /* d * m * m: width after the spatial merge */
    MVK_D_V_OUT,    /* merger output width (the text n_embd) */
    MVK_D_V_HEAD,   /* ViT head dim d / n_head (gemma4v's per-head Q/K norms) */
    MVK_D_2,        /* 2 (gemma4v's position tables: x then y) */
    MVK_D_COUNT
} mvk_dim;

enum {
    MVK_T_F32 = 1 << 0,    /* converted to f32 on the host (norms, biases, the position table) */
    MVK_T_EXPERT = 1 << 1, /* routed experts [.., .., n_expert]: may stay in the mapping for the expert cache */
    MVK_T_TIED = 1 << 2,   /* may be absent (hp->tied_output): then the LM head is token_embd */
    MVK_T_OPTIONAL = 1 << 3, /* may be absent: the destination stays empty (.buf NULL); the family reads that */
};

enum { MVK_PART_GATE_UP = 3 };

/* One row of a tensor table. */
typedef struct mvk_tensor_spec {
    const char *name;  /* printf pattern; "%d" is the block number ("blk.%d.attn_q.weight") */
    uint8_t ne[4];     /* mvk_dim of each axis, ggml order (fastest first); MVK_D_1 pads */
    uint8_t n_dims;    /* 1..4 */
    uint8_t layers;    /* per-layer rows: the mvk_layer_kind bits a layer must have one of; 0: every block */
    uint8_t flags;     /* MVK_T_* */
    uint8_t part;      /* MVK_T_EXPERT: 0 gate, 1 up, 2 down (the expert cache's order); MVK_PART_GATE_UP: the merged
                          gate and up stack [K][2N][E], which stands for parts 0 and 1 (weights.c views its halves) */
    uint16_t dst;      /* offsetof the mvk_tensor in the block's destination struct */
} mvk_tensor_spec;

/* A run of blocks sharing one table: the globals (count 1), the decoder layers, the ViT blocks ... */
typedef struct mvk_tensor_group {
    const mvk_tensor_spec *spec;
    int n_spec;
    int count;                /* blocks */
    const int *name_no;       /* NULL: block i is named i; else the number in block i's names */
    /* the mvk_layer_kind bits of block i (rows with .layers != 0 need it; NULL: every row applies) */
    uint8_t (*kind)(const void *kind_ctx, int i);
    const void *kind_ctx;
    /* NULL, or the shapes of block i where they differ from the walker's dims (gemma4's sliding layers:
     * their own head dim and KV heads); called with the walker's dims copied into d */
    void (*dims_of)(const void *kind_ctx, int i, int64_t *d);
    void *dst;                /* NULL (check only), or block 0's destination struct */
    size_t stride;            /* bytes between two blocks' destination structs */
} mvk_tensor_group;

/* Called by the walker for every tensor a table asks for, after its shape was checked.
 * block: the block index in its group; out: the destination (NULL when the group has none). */
typedef moevk_status (*mvk_tensor_visit)(void *user, const mvk_tensor_spec *s, int block, const gguf_tensor_info *ti,
                                         mvk_tensor *out);

/* Walks every row of every group: looks the tensor up (printf(name, name_no)), checks its shape
 * against dims (or the group's dims_of) (MOEVK_ERR_FORMAT "missing tensor '<name>'", MOEVK_ERR_SHAPE
 * naming both shapes; a MVK_T_TIED or MVK_T_OPTIONAL row that is absent is skipped), then calls visit
 * (if not NULL). */
moevk_status mvk_walk_tensors(const gguf_file *f, const mvk_tensor_group *groups, int n_groups, const int64_t *dims,
                              mvk_tensor_visit visit, void *user);

/* A family's prompt format: the pieces of its chat template moevk renders (special tokens parsed),
 * and its image tokens (NULL for a text-only family).
 *
 * Thinking (a reasoning block the model writes before its answer) is a property of the format: a
 * conversation has it on or off (moevk_chat_params.think; off by default), the format says how the
 * template renders each, and how a reasoning block is marked in what the model generates. chat.c
 * renders the pieces; engine/reasoning.c splits the generated text into reasoning and answer at the
 * tags, tags the routing of the block's tokens and forces think_close when a reasoning budget runs
 * out. A family without a thinking mode leaves the think_* fields NULL. */
typedef struct mvk_prompt_format {
    const char *system_open;    /* opens the system turn (closed by turn_end) */
    const char *turn_end;       /* closes a finished assistant turn before the next user turn, and the system turn */
    const char *user_open;      /* opens a user turn */
    const char *assistant_open; /* closes the user turn and opens the assistant's answer (thinking off: where a
                                   template writes an empty reasoning block, it is here) */
    const char *image_start;    /* before the image rows */
    const char *image_pad;      /* one per image row: the image embeddings replace these */
    const char *image_end;      /* after the image rows */
    /* thinking: NULL think_open/think_close: the family has no thinking mode */
    const char *think_open;     /* the single token that opens a reasoning block, in a prompt or generated
                                   ("<think>"; Gemma 4 "<|channel>") */
    const char *think_close;    /* the single token that closes it; the answer follows ("</think>"; "<channel|>") */
    const char *assistant_open_think; /* assistant_open with thinking on (NULL: assistant_open). Generation starts
                                   inside a block when this piece's last tag is think_open (Qwen3.5 "...<think>\n"),
                                   outside otherwise (the model may open one itself) */
    const char *system_think;   /* with thinking on: put at the head of the system turn, which is then rendered
                                   even without a system prompt (Gemma 4 "<|think|>\n"); NULL: none */
    const char *think_label;    /* text the model writes right after think_open naming the block, not part of the
                                   reasoning (Gemma 4 "thought\n"); NULL: none */
    int open_bos;               /* 1: a conversation opens with the tokenizer's BOS (Gemma's {{ bos_token }}) */
} mvk_prompt_format;

/* ChatML with Qwen-VL's vision tokens (the Qwen3 and Qwen3-VL templates) */
extern const mvk_prompt_format mvk_prompt_chatml_qwen_vl;

/* The family of a text model. */
typedef struct mvk_family {
    const char *arch;          /* general.architecture it claims */
    uint8_t kinds;             /* every mvk_layer_kind bit its layers may have (MOE: reads the expert keys) */
    int rope_imrope;           /* 1: interleaved M-RoPE, 4 position planes (VL); 0: NEOX, one position */
    int vision_input;          /* 1: takes image rows (an mmproj) */
    int image_both_ways;       /* 1: an image's rows attend to each other both ways on the sliding layers (llama.cpp
                                  mtmd_decode_use_non_causal, LLAMA_NON_CAUSAL_TYPE_SWA_ONLY: gemma4), so an image
                                  stays in one micro-batch; 0: causal everywhere */
    /* Reads the family's own keys after the common ones (model_hparams.c). */
    moevk_status (*read_hparams)(const gguf_file *f, struct mvk_text_hparams *hp);
    /* The kind of layer il (mvk_layer_kind bits). */
    uint8_t (*layer_kind)(const void *hp, int il);
    /* Records layer il into r's stream, over the layer toolkit (layers.h). */
    moevk_status (*record_layer)(const struct mvk_lm_rec *r, int il);
    const mvk_prompt_format *prompt;
    /* NULL, or why moevk cannot run the family yet: its keys and tensors are read and checked
     * (moevk info), a model load refuses it naming this */
    const char *unrunnable;
    const mvk_tensor_spec *globals; /* token_embd, output_norm, output */
    int n_globals;
    const mvk_tensor_spec *layer;   /* per-layer rows (filtered by .layers against the layer's kind) */
    int n_layer_spec;
} mvk_family;

/* families.c: the family claiming arch (len bytes, not NUL-terminated), or NULL. */
const mvk_family *mvk_family_find(const char *arch, size_t len);
/* Writes "qwen3vlmoe, qwen3vl, ..." (the architectures moevk runs) into buf. */
void mvk_family_list(char *buf, size_t cap);

#endif
