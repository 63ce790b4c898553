/* engine_internal.h — the model object behind include/moevk.h: weights on
 * the device, KV cache, recorded streams, telemetry. engine/ speaks to the
 * Vulkan backend only through backend/vk_backend.h (no vulkan.h here). */
#ifndef MVK_ENGINE_INTERNAL_H
#define MVK_ENGINE_INTERNAL_H

#include <stdint.h>

#include "gguf.h"
#include "image.h"
#include "model_hparams.h"
#include "moevk.h"
#include "tokenizer.h"
#include "vk_backend.h"
#include "expert_cache.h"

/* One LM decoder layer. ggml ne order in the shape comments. */
typedef struct mvk_lm_layer {
    uint8_t kind;          /* mvk_layer_kind bits (engine/arch/family.h) */
    int moe;               /* index among the MoE layers (routing record, expert cache), or -1 */
    mvk_tensor attn_norm;  /* [n_embd] f32 */
    mvk_tensor wq;         /* [n_embd, n_head*head_dim] */
    mvk_tensor wk, wv;     /* [n_embd, n_head_kv*head_dim] */
    mvk_tensor wo;         /* [n_head*head_dim, n_embd] */
    mvk_tensor q_norm;     /* [head_dim] f32 */
    mvk_tensor k_norm;     /* [head_dim] f32 */
    mvk_tensor ffn_norm;   /* [n_embd] f32 */
    /* MoE */
    mvk_tensor gate_inp;   /* [n_embd, n_expert] router */
    mvk_tensor gate_exps;  /* [n_embd, n_ff_exp, n_expert] */
    mvk_tensor up_exps;    /* [n_embd, n_ff_exp, n_expert] */
    mvk_tensor gate_up_exps; /* [n_embd, 2*n_ff_exp, n_expert] merged (gemma4), or none; gate_exps / up_exps are then
                                views of its halves (each expert's first n_ff_exp rows, its last n_ff_exp) */
    mvk_tensor down_exps;  /* [n_ff_exp, n_embd, n_expert] */
    /* shared expert (qwen35moe): sigmoid(gate_inp_shexp · x) scales its SwiGLU */
    mvk_tensor gate_inp_shexp; /* [n_embd] */
    mvk_tensor gate_shexp, up_shexp; /* [n_embd, n_ff_shexp] */
    mvk_tensor down_shexp; /* [n_ff_shexp, n_embd] */
    /* Gated DeltaNet mixer (qwen35moe / qwen35); V heads in the converter's tiled order */
    mvk_tensor wqkv;       /* [n_embd, 2*S*H_k + d_inner] q, k, v rows */
    mvk_tensor wgate;      /* [n_embd, d_inner] z, the output gate's input */
    mvk_tensor ssm_conv1d; /* [K, 2*S*H_k + d_inner] depthwise causal kernel per channel */
    mvk_tensor ssm_dt;     /* [H_v] f32 dt bias */
    mvk_tensor ssm_a;      /* [H_v] f32, -exp(A_log) */
    mvk_tensor ssm_beta;   /* [n_embd, H_v] */
    mvk_tensor ssm_alpha;  /* [n_embd, H_v] */
    mvk_tensor ssm_norm;   /* [S] f32 gated RMSNorm weight */
    mvk_tensor ssm_out;    /* [d_inner, n_embd] */
    /* dense */
    mvk_tensor ffn_gate;   /* [n_embd, n_ff] */
    mvk_tensor ffn_up;     /* [n_embd, n_ff] */
    mvk_tensor ffn_down;   /* [n_ff, n_embd] */
    /* Gemma 4 (gemma4): the post-norms of each branch, the experts' own input norm, the router's input scale,
     * the per-expert output scale, the layer's output scale; attn_norm / ffn_norm / ffn_gate|up|down above are
     * the attention pre-norm and the dense GeGLU MLP beside the MoE (docs/families/gemma4.md §3) */
    mvk_tensor post_attn_norm; /* [n_embd] f32 */
    mvk_tensor post_ffw_norm;  /* [n_embd] f32: of the FFN sum, before the residual */
    mvk_tensor post_ffw_norm_1, post_ffw_norm_2; /* [n_embd] f32: of the dense and the expert branch */
    mvk_tensor pre_ffw_norm_2; /* [n_embd] f32: the experts' input norm */
    mvk_tensor gate_inp_s;     /* [n_embd] f32: router input = rms_norm(x) / sqrt(n_embd) * gate_inp_s */
    mvk_tensor down_exps_s;    /* [n_expert] f32, or none: expert e's output times down_exps_s[e] */
    mvk_tensor out_scale;      /* [1] f32, or none: the layer's output (residual included) times it */
    vk_buffer *k_cache;    /* [rows][n_head_kv*head_dim] kv_type (the layer's geometry), rows = mvk_kv_rows (n_ctx, or
                              a sliding layer's window + micro-batch); attention layers only */
    vk_buffer *v_cache;    /* [rows][n_head_kv*head_dim_v] kv_type; attention layers only */
    /* the recurrent state of a Gated DeltaNet layer (recurrent layers only; beside the KV cache, zeroed
     * when a sequence starts, carried from one prefill or decode step to the next; it cannot roll back) */
    vk_buffer *conv_state; /* [2*S*H_k + d_inner][K-1] f32: each channel's last K-1 conv inputs */
    vk_buffer *ssm_state;  /* [H_v][S][S] f32: per V head, row j (value) contiguous over the key index */
} mvk_lm_layer;

/* The clamps of a gemma4v linear layer (Gemma4ClippableLinear; llama.cpp clip_graph_gemma4v::build_mm): the
 * input is clamped to [in_min, in_max] before the matmul, the output to [out_min, out_max] after it. A scalar
 * the file lacks is -FLT_MAX / FLT_MAX (no clamp on that side). */
typedef struct mvk_clamp {
    float in_min, in_max, out_min, out_max;
} mvk_clamp;

/* gemma4v's linear layers per ViT block, in mvk_vit_layer.clamp[] */
enum { MVK_G4V_Q, MVK_G4V_K, MVK_G4V_V, MVK_G4V_O, MVK_G4V_GATE, MVK_G4V_UP, MVK_G4V_DOWN, MVK_G4V_N_LINEAR };

/* One ViT block. d = vision width. qwen3vl_merger: LayerNorm, fused QKV with biases, GELU MLP. gemma4v
 * (engine/arch/clip_gemma4v.c): ln1_w/ln2_w are RMSNorm weights, separate q/k/v, out_w, up_w, down_w without
 * biases, and the fields after deepstack. */
typedef struct mvk_vit_layer {
    mvk_tensor ln1_w, ln1_b;   /* [d] f32 */
    mvk_tensor qkv_w;          /* [d, 3d] */
    mvk_tensor qkv_b;          /* [3d] f32 */
    mvk_tensor out_w;          /* [d, d] */
    mvk_tensor out_b;          /* [d] f32 */
    mvk_tensor ln2_w, ln2_b;   /* [d] f32 */
    mvk_tensor up_w;           /* [d, n_ff] */
    mvk_tensor up_b;           /* [n_ff] f32 */
    mvk_tensor down_w;         /* [n_ff, d] */
    mvk_tensor down_b;         /* [d] f32 */
    int deepstack;             /* index of the deepstack tap after this block, or -1 */
    /* gemma4v */
    mvk_tensor q_w, k_w, v_w;  /* [d, d] */
    mvk_tensor q_norm, k_norm; /* [hd] f32, or none: per-head RMSNorm weights of Q and K */
    mvk_tensor attn_post_norm; /* [d] f32, or none: the attention output's RMSNorm before the residual */
    mvk_tensor ffn_post_norm;  /* [d] f32, or none: the MLP output's RMSNorm before the residual */
    mvk_tensor gate_w;         /* [d, n_ff]: GeGLU gate (up_w the other half) */
    mvk_tensor out_scale;      /* [1] f32, or none: the block's output (residual included) times it */
    mvk_clamp clamp[MVK_G4V_N_LINEAR]; /* q, k, v, o, gate, up, down */
} mvk_vit_layer;

typedef struct mvk_deepstack {
    mvk_tensor norm_w, norm_b; /* [4d] f32 */
    mvk_tensor fc1_w;          /* [4d, 4d] */
    mvk_tensor fc1_b;          /* [4d] f32 */
    mvk_tensor fc2_w;          /* [4d, n_embd_text] */
    mvk_tensor fc2_b;          /* [n_embd_text] f32 */
} mvk_deepstack;

typedef struct mvk_vision {
    mvk_vision_hparams hp;
    mvk_tensor patch_w0, patch_w1; /* [p, p, 3, d] */
    mvk_tensor patch_b;            /* [d] f32 */
    mvk_tensor pos_embd;           /* [d, G*G] f32 */
    mvk_tensor post_ln_w, post_ln_b; /* [d] f32 */
    mvk_tensor mm0_w;              /* [4d, 4d] */
    mvk_tensor mm0_b;              /* [4d] f32 */
    mvk_tensor mm2_w;              /* [4d, n_embd_text] */
    mvk_tensor mm2_b;              /* [n_embd_text] f32 */
    mvk_vit_layer *layers;         /* [n_layer] */
    mvk_deepstack *deepstack;      /* [n_deepstack] */
    /* gemma4v: patch_w0 [p, p, 3, d] (no bias), pos_embd [d, n_pos, 2] (x table, then y table), and */
    mvk_tensor std_bias, std_scale; /* [d] f32, or none: pooled rows become (x - std_bias) * std_scale */
    mvk_tensor inp_proj_w;         /* [d, n_embd_text] mm.input_projection */
    mvk_clamp inp_proj_clamp;
} mvk_vision;

/* Host-visible per-step parameters of the recorded decode step (int32 words). */
enum {
    MVK_P_NKV = 0,     /* valid KV entries after this step */
    MVK_P_KVIDX = 1,   /* KV index written by this step */
    MVK_P_TOKEN = 2,   /* input token id */
    MVK_P_POS = 4,     /* 4 planar position components t, h, w, e */
    MVK_P_NKV_SWA = 8, /* the same two for the sliding layers' caches (mvk_kv_rows: window + micro-batch) */
    MVK_P_KVIDX_SWA = 9,
    MVK_P_WORDS = 10,
};

/* One recorded token of routing telemetry. */
typedef struct mvk_route_rec {
    int32_t pos;
    int32_t kind;   /* moevk_token_kind */
    int32_t token;
    int32_t turn;   /* turn of the conversation */
    int32_t image;  /* image tokens: which image of the conversation; else -1 */
    int32_t reasoning; /* 1: a generated token of a reasoning block (tags included) */
} mvk_route_rec;

/* The weights on the device: the text model's globals and layers (the tables of hp.fam,
 * engine/arch/), every buffer they own, and the placement pass that sized them. */
typedef struct mvk_weights {
    mvk_tensor tok_embd;   /* [n_embd, n_vocab] */
    mvk_tensor out_norm;   /* [n_embd] f32 */
    mvk_tensor output;     /* [n_embd, n_vocab] (tok_embd if tied) */
    mvk_tensor rope_freqs; /* [head_dim/2] f32, or none: gemma4's global layers divide pair i's angle by it */
    mvk_lm_layer *layers;  /* [n_layer] */
    vk_buffer **owned;     /* every device buffer of the weights */
    int n_owned, cap_owned;
    uint64_t bytes;        /* device bytes of the uploaded weights */
    uint32_t ilv;          /* the largest row interleave a weight was uploaded with (0: all plain; moevk_model_info) */
    int n_wide;            /* tensors stored as a device-only type (vk_weight_type: Q6_K -> Q6_K8; moevk_model_info) */
    uint64_t wide_extra;   /* their device bytes over their file type's */
    uint64_t size_wide_extra, size_wide_extra_x; /* sizing pass: the part of size_resident / size_experts the
                                                    device-only types add */
    int no_wide;           /* the placement dropped the device-only types (they did not let the whole model stay resident) */
    /* placement (placement.c): a sizing pass of the loaders counts device
     * bytes without uploading; with stream_experts the routed expert
     * tensors stay in the mapping (xsrc) for the expert cache */
    int sizing, stream_experts;
    uint64_t size_resident, size_experts;
    const gguf_tensor_info **xsrc; /* [n_moe_layers][3] gate, up, down */
} mvk_weights;

/* The sequence the model holds: what its KV caches hold and where it goes on. */
typedef struct mvk_seq {
    int n_ctx;             /* KV cache rows */
    mvk_type kv_type;
    int n_past;            /* tokens in the KV cache (sequence index) */
    int swa_n;             /* rows the sliding layers' caches hold (their rows 0.. are sequence indices
                              n_past - swa_n ..; n_past while those caches hold the whole context) */
    int n_ubatch;          /* prefill micro-batch (tokens): mvk_lm_prefill's largest batch, the scratch's size */
    int n_ubatch_req;      /* the micro-batch asked for, before the cap by n_ctx (the plan's largest context) */
    int pos_next;          /* next M-RoPE / rope position */
} mvk_seq;

/* The step buffers: the decode step, recorded once and replayed, its host-visible
 * inputs and outputs, and the prefill / vision stream. */
typedef struct mvk_step {
    vk_stream *decode;
    int recorded;          /* decode holds the recorded step */
    vk_buffer *params;     /* MVK_P_WORDS int32, host-visible */
    vk_buffer *logits;     /* [n_vocab] f32, host-visible */
    vk_buffer *route;      /* ids [n_moe_layers][k] i32 then weights [n_moe_layers][k] f32, host-visible */
    vk_buffer *argmax;     /* i32 [1], host-visible */
    vk_buffer *slots;      /* expert streaming: slot ids [n_moe_layers][k] i32, host-visible */
    vk_buffer *pred;       /* expert streaming: predicted ids [n_moe_layers][k] i32, host-visible */
    vk_stream *work;       /* prefill / vision stream */
} mvk_step;

/* Telemetry and output of the last generation: the routing record, the text, the timings. */
typedef struct mvk_telemetry {
    mvk_route_rec *routes; /* [n_routes] */
    int32_t *route_ids;    /* [n_routes][n_moe_layers*k] */
    float *route_w;        /* [n_routes][n_moe_layers*k] */
    size_t n_routes, cap_routes;
    char *text;            /* the answer */
    size_t text_len, text_cap;
    char *reasoning;       /* the reasoning written before it (thinking on), without its tags */
    size_t reasoning_len, reasoning_cap;
    moevk_timings timings;
} mvk_telemetry;

/* One part of the user turn being composed: text, or an image waiting to be encoded. */
typedef struct mvk_chat_part {
    char *text;            /* a text part (owned), or NULL: an image part */
    mvk_image_prep img;    /* the image, preprocessed; freed once the turn has encoded it */
} mvk_chat_part;

/* The conversation (chat.c). */
typedef struct mvk_chat {
    int open;              /* a conversation is started: moevk_chat_turn may follow */
    int broken;            /* a turn failed midway: only a new start helps */
    int turns;             /* completed turns */
    int32_t pending;       /* the last answer token, streamed but not yet fed back; -1: none */
    int pending_reasoning; /* pending is a token of a reasoning block */
    int think;             /* thinking on (moevk_chat_params.think) */
    int text_reserve;      /* positions each image leaves for text (moevk_chat_params) */
    mvk_chat_part *parts;  /* [n_parts] the next user turn's parts, in order */
    int n_parts, cap_parts;
    int n_part_tokens;     /* image tokens of those parts */
    int32_t *grids;        /* [n_images][2] nx, ny of every image prefilled so far */
    int n_images, cap_images;
    char *system;          /* the system prompt, rendered by the first turn, or NULL */
} mvk_chat;

struct moevk_model {
    vk_ctx *ctx;
    gguf_file *tf, *vf;
    mvk_text_hparams hp;
    int has_vision;
    mvk_vision vis;
    mvk_tokenizer *tok;
    char name[128];

    mvk_weights w;         /* the text weights */
    mvk_seq seq;           /* sequence state */
    mvk_step step;         /* step buffers */
    mvk_xcache xc;         /* the expert cache (xc.active: experts stream) */
    mvk_telemetry tel;     /* telemetry and output of the last generation */
    mvk_chat chat;         /* the conversation */
};

/* weights.c */
moevk_status mvk_weights_load_text(moevk_model *m, moevk_progress_cb cb, void *user, uint64_t total, uint64_t *done);
moevk_status mvk_weights_load_vision(moevk_model *m, moevk_progress_cb cb, void *user, uint64_t total, uint64_t *done);
void mvk_weights_free(moevk_model *m);

/* placement.c: sizes the resident set and decides whether experts stream
 * (before any upload); then, after the resident upload, allocates the KV
 * cache and the expert slot pools. The requested budget comes from
 * moevk_model_params.device_mem_mib, else $MOEVK_DEVICE_MEM (0: default). */
moevk_status mvk_device_mem_request(const moevk_model_params *p, uint64_t *bytes);
moevk_status mvk_placement_plan(moevk_model *m);
/* placement.c: the same sizes, reported (moevk_model_plan) instead of decided: nothing fails for want of memory. */
moevk_status mvk_placement_report(moevk_model *m, moevk_plan *out);
moevk_status mvk_placement_finish(moevk_model *m);

/* vision.c: encodes normalised planar pixels [3][h][w] (h, w multiples of
 * patch*merge). Output rows [n_img][n_embd_out] land in *out_dev (created or
 * reused, owned by the caller) and, if host_out is not NULL, on the host. */
moevk_status mvk_vision_encode(moevk_model *m, const float *pixels, int h, int w, vk_buffer **out_dev, float *host_out,
                               size_t host_cap, int *n_img_out);

/* engine/arch/clip_gemma4v.c: the gemma4v tower (mvk_vision_encode calls it for that projector; same contract) and
 * its clamp scalars, read from the mmproj after the tensors are bound. */
moevk_status mvk_gemma4v_encode(moevk_model *m, const float *pixels, int h, int w, vk_buffer **out_dev, float *host_out,
                                size_t host_cap, int *n_img_out);
moevk_status mvk_gemma4v_read_clamps(const gguf_file *f, mvk_vision *v);

/* lm.c */
typedef struct mvk_lm_batch {
    const int32_t *tokens;     /* [n] ids; image positions hold the image-pad id (ignored) */
    int n;
    int img_start, n_img;      /* run of image rows in the batch (n_img 0: none) */
    vk_buffer *img_rows;       /* [..][n_embd_out] from mvk_vision_encode */
    int img_row0;              /* the batch's image rows are img_rows' rows [img_row0, img_row0 + n_img) */
    const int32_t *pos;        /* [4][n] planar positions (NEOX: only plane 0 used) */
    float *logits;             /* NULL, or [n_rows][n_vocab] host */
    int all_logits;            /* 1: logits for every row; 0: last row only */
    int32_t *route_ids;        /* NULL or [n_moe_layers][n][k] */
    float *route_w;            /* NULL or [n_moe_layers][n][k] */
} mvk_lm_batch;
moevk_status mvk_lm_prefill(moevk_model *m, const mvk_lm_batch *b);
/* One decode step for token at the current position; logits [n_vocab] and
 * routing ids/weights [n_layer][k] of the step are returned (host pointers
 * valid until the next step). */
moevk_status mvk_lm_decode(moevk_model *m, int32_t token, const float **logits, const int32_t **route_ids,
                           const float **route_w, int32_t *argmax);
void mvk_lm_free(moevk_model *m);
/* Allocates the KV cache and the recurrent state (Gated DeltaNet layers) if they are not there yet. */
moevk_status mvk_lm_kv_alloc(moevk_model *m);
/* Device bytes of one recurrent layer's state (conv + delta rule), 0 for a family without one. */
uint64_t mvk_lm_recur_state_bytes(const mvk_text_hparams *hp, uint64_t *conv_bytes);

/* positions.c: planar M-RoPE positions (llama.cpp mtmd) for a prompt with an
 * optional image run [img_start, img_start + nx*ny). pos: [4][n]. Returns the
 * next position after the prompt. */
int mvk_prompt_positions(int n, int img_start, int nx, int ny, int pos0, int32_t *pos);
/* The same for the model's positions mode: a family without M-RoPE (gemma4) numbers image rows like text. */
int mvk_prompt_positions_hp(const mvk_text_hparams *hp, int n, int img_start, int nx, int ny, int pos0, int32_t *pos);

/* sequence.c: the routing record; ids/w are [n_moe_layers][stride_tok][k] */
moevk_status mvk_route_push(moevk_model *m, int32_t pos, moevk_token_kind kind, int32_t token, int32_t turn,
                            int32_t image, int32_t reasoning, const int32_t *ids, const float *w, size_t stride_tok);
size_t mvk_route_stride(const moevk_model *m); /* n_moe_layers * k */

/* sequence.c: helpers of eval (api.c) and conversations (chat.c), which never call each other */
double mvk_now_ms(void);
/* Appends the tokens of text to *ids (grown as needed). */
moevk_status mvk_tok_append(const moevk_model *m, const char *text, int special, int32_t **ids, size_t *n, size_t *cap);
moevk_status mvk_special_id(const moevk_model *m, const char *text, int32_t *id);
/* Loads (path) or copies (rgb) and preprocesses an image for the vision tower. */
moevk_status mvk_prep_image(moevk_model *m, const char *path, const uint8_t *rgb, int w, int h, int min_t, int max_t,
                            mvk_image_prep *out);
/* Empties the KV cache, the routing record, the text and the timings; ends any conversation. */
void mvk_reset_sequence(moevk_model *m);
/* Appends to the answer's text (tel.text), or to the reasoning's (tel.reasoning). */
moevk_status mvk_text_append(moevk_model *m, const char *s, size_t n);
moevk_status mvk_reasoning_append(moevk_model *m, const char *s, size_t n);
/* Empties both. */
void mvk_text_clear(moevk_model *m);

/* sequence.c: drops the parts of the user turn being composed (chat.c). */
void mvk_chat_parts_clear(moevk_model *m);
/* sequence.c: ends the conversation (frees its parts). */
void mvk_chat_close(moevk_model *m);

#endif
