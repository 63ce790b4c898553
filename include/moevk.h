/*
 * moevk.h — the one public header of libmoevk.
 *
 * moevk runs sparse Mixture-of-Experts vision-language models (Qwen3-VL MoE
 * family, llama.cpp GGUF form: a text GGUF plus an mmproj GGUF) on any Vulkan
 * device, and reports which experts every token was routed to.
 *
 * Usage:
 *
 *     moevk_model_params mp = moevk_model_default_params();
 *     mp.model_path  = "assets/models/moevk-tiny.gguf";
 *     mp.mmproj_path = "assets/models/moevk-tiny-mmproj.gguf";
 *     moevk_model *model = NULL;
 *     if (moevk_model_load(&mp, &model) != MOEVK_OK) {
 *         fprintf(stderr, "error: %s\n", moevk_last_error());
 *         return 1;
 *     }
 *     moevk_gen_params gp = moevk_gen_default_params();
 *     gp.image_path = "cat.png";
 *     gp.on_token   = print_piece;   // streams UTF-8 pieces
 *     moevk_generate(model, &gp);
 *     ... moevk_routing_count(model), moevk_routing_get(...) ...
 *     (a conversation with follow-up questions: moevk_chat_start / _turn)
 *     moevk_model_free(model);
 *
 * Contracts that hold for every function:
 *  - Every function that can fail returns a moevk_status. On failure a
 *    human-readable message naming the problem is available from
 *    moevk_last_error() (thread-local, valid until the next failing call on
 *    the same thread).
 *  - The library never calls exit() or abort(), and never reads outside the
 *    buffers and files it is given.
 *  - *_free functions accept NULL.
 *  - Output arrays are caller-sized: the caller passes a capacity, and a
 *    *_bound() / *_count() function says how much is needed.
 */
#ifndef MOEVK_H
#define MOEVK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

typedef enum moevk_status {
    MOEVK_OK = 0,
    MOEVK_ERR_INVALID_ARG,     /* a NULL pointer, negative size, bad enum ... */
    MOEVK_ERR_IO,              /* a file could not be opened, read or mapped */
    MOEVK_ERR_FORMAT,          /* a corrupt or hostile file (GGUF, image) */
    MOEVK_ERR_UNSUPPORTED,     /* valid but unsupported: tensor type, arch */
    MOEVK_ERR_SHAPE,           /* tensor shapes disagree */
    MOEVK_ERR_NO_VULKAN,       /* libvulkan.so.1 or a driver is missing */
    MOEVK_ERR_NO_DEVICE,       /* no usable Vulkan device */
    MOEVK_ERR_OUT_OF_HOST_MEMORY,
    MOEVK_ERR_OUT_OF_DEVICE_MEMORY,
    MOEVK_ERR_DEVICE_LIMIT,    /* a request exceeds a device limit */
    MOEVK_ERR_DEVICE_LOST,
    MOEVK_ERR_VULKAN,          /* any other Vulkan failure */
    MOEVK_ERR_IMAGE,           /* an unreadable or unsupported image */
    MOEVK_ERR_CONTEXT_FULL,    /* the KV cache has no room left */
    MOEVK_ERR_CANCELLED,       /* a callback asked to stop */
    MOEVK_ERR_INTERNAL
} moevk_status;

/* A short constant name for a status, e.g. "MOEVK_ERR_FORMAT". Never NULL. */
const char *moevk_status_str(moevk_status s);

/* Details of the last failure on this thread ("" if none). Never NULL. */
const char *moevk_last_error(void);

/* Library version string, e.g. "0.1.0". */
const char *moevk_version(void);


/* ---------------------------------------------------------------- devices */

/* Fills names[i] (at most cap entries, each NUL-terminated, up to 255 bytes)
 * with the Vulkan devices, in enumeration order; *n_out gets the total. */
moevk_status moevk_list_devices(char (*names)[256], int cap, int *n_out);

/* ---------------------------------------------------------------- model */

typedef struct moevk_model moevk_model;

typedef enum moevk_kv_type { MOEVK_KV_F16 = 0, MOEVK_KV_F32 = 1 } moevk_kv_type;

/* Progress of a load: stage is a short label ("text weights", "mmproj
 * weights"), frac in [0, 1]. Return nonzero to cancel (MOEVK_ERR_CANCELLED). */
typedef int (*moevk_progress_cb)(const char *stage, float frac, void *user);

typedef struct moevk_model_params {
    const char *model_path;    /* text GGUF (qwen3vlmoe, qwen3vl, qwen3moe, qwen3, qwen35moe, qwen35, gemma4); required */
    const char *mmproj_path;   /* mmproj GGUF (clip / qwen3vl_merger); NULL: text only */
    const char *device;        /* NULL: $MOEVK_DEVICE, else best device; index or name substring */
    int n_ctx;                 /* KV cache length in tokens; 0: 4096 (capped by the model) */
    int n_ubatch;              /* prefill micro-batch in tokens (llama.cpp's -ub): a prompt is prefilled
                                  n_ubatch tokens at a time, and the scratch memory is sized by it, not by
                                  n_ctx; 0: 512 (capped by n_ctx) */
    moevk_kv_type kv_type;     /* default MOEVK_KV_F16 */
    int validation;            /* enable the Khronos validation layer */
    moevk_progress_cb progress;
    void *progress_user;
    /* Device-memory budget in MiB: everything moevk allocates in the device's
     * local memory (weights, KV cache, scratch, expert slots) stays within it.
     * 0: $MOEVK_DEVICE_MEM if set, else what the device reports
     * (VK_EXT_memory_budget where present, else the device-local heap size)
     * less 10%. When the routed experts do not all fit, the rest of the
     * budget after the resident set becomes an expert cache and experts are
     * streamed from the GGUF as needed (results do not change; see
     * moevk_cache_get_stats). A budget below the resident set plus top-k
     * experts per layer fails with MOEVK_ERR_OUT_OF_DEVICE_MEMORY, naming
     * both sizes, before anything is uploaded. */
    uint64_t device_mem_mib;
    /* The largest image, in image tokens, this model will encode (as
     * llama.cpp's --image-max-tokens, which it sets at load): the memory
     * plan reserves the vision encoder's scratch for it, and every image is
     * capped to it, whatever a call asks. 0: the mmproj's
     * moevk.vision.image_max_tokens, else 4096. On a small GPU a lower cap
     * leaves more room for experts (`moevk plan` shows the scratch). */
    int image_max_tokens;
} moevk_model_params;

moevk_model_params moevk_model_default_params(void);

/* What moevk_model_load would place on the device with these parameters
 * (docs/EXPERT_CACHE.md), computed without uploading any weight: the files
 * are read and checked and the device is opened for its limits and budget. */
typedef struct moevk_plan {
    char device[256];
    uint64_t budget;            /* bytes moevk may allocate on the device */
    char budget_source[96];     /* where the budget comes from (requested, VK_EXT_memory_budget, heap size, ...) */
    uint64_t weights;           /* resident weights: all but the routed experts (the vision tower included) */
    uint64_t experts;           /* the routed experts of every MoE layer */
    uint64_t kv_cache;          /* the KV cache for n_ctx tokens (and the decode step's attention partials over them) */
    uint64_t recurrent_state;   /* the recurrent layers' state (Qwen3.5 / 3.6 Gated DeltaNet); 0 without */
    uint64_t scratch;           /* scratch reserve: one prefill micro-batch, or the largest image's encode */
    uint64_t other;             /* step buffers and the allocator's slack */
    uint64_t resident;          /* weights + kv_cache + recurrent_state + scratch + other */
    uint64_t slot_bytes;        /* one expert (gate, up, down) */
    int n_moe_layers, n_expert, n_expert_used;
    int slots;                  /* expert slots per MoE layer: n_expert when all are resident, fewer when experts
                                   stream, 0 when the budget cannot hold top-k of them (or a dense model) */
    double expert_share;        /* share of the expert bytes on the device at once (1: all; dense: 1) */
    int n_ctx, n_ubatch;        /* as the load would use them */
    int max_ctx;                /* the largest n_ctx that fits the budget with these settings (0: none) */
    int fits;                   /* 1: moevk_model_load with these parameters fits the budget */
} moevk_plan;
moevk_status moevk_model_plan(const moevk_model_params *p, moevk_plan *out);

/* Loads and uploads a model. On failure *out is NULL and moevk_last_error()
 * names the file and the problem. */
moevk_status moevk_model_load(const moevk_model_params *p, moevk_model **out);
void moevk_model_free(moevk_model *m);

typedef struct moevk_model_info {
    char arch[32];             /* "qwen3vlmoe", ... */
    char name[128];            /* general.name or the file name */
    char device[256];          /* Vulkan device name */
    int n_layer, n_embd, n_head, n_head_kv, head_dim, n_vocab;
    int n_expert, n_expert_used;   /* 0 for dense models */
    int n_moe_layers;              /* layers with routing telemetry */
    int has_vision;
    int n_deepstack;
    int thinking;                  /* 1: the family's chat template has a thinking mode (moevk_chat_params.think) */
    int n_ctx;
    uint64_t weight_bytes;         /* bytes uploaded to the device */
    uint32_t validation_messages;  /* Khronos validation findings so far (validation on) */
    uint64_t device_bytes;         /* device memory held now: weights, KV cache, scratch (bytes) */
    uint32_t weight_ilv;           /* the text model's quantised matmul weights are stored with rows interleaved in
                                      groups of this many (CPU devices: docs/QUANT_LAYOUTS.md "Interleaved rows";
                                      MOEVK_WEIGHT_ILV=0 turns it off); 0: plain rows */
    int weight_widened;            /* text-model matrices stored as a device-only type that the decode mat-vec reads
                                      faster (CPU devices: Q6_K as Q6_K8, docs/QUANT_LAYOUTS.md "Device-only types";
                                      MOEVK_WEIGHT_WIDE=0 turns it off); same values, bit for bit */
    uint64_t weight_widened_bytes; /* the device bytes that costs over the file's types (part of weight_bytes) */
} moevk_model_info;

moevk_status moevk_model_get_info(const moevk_model *m, moevk_model_info *out);

/* The token mixer of a layer: self-attention over the KV cache, a Gated
 * DeltaNet recurrent mixer with a fixed-size state (qwen35moe, qwen35), or
 * self-attention over a sliding window of recent tokens (gemma4's sliding layers;
 * its global layers are MOEVK_MIXER_ATTENTION). */
typedef enum moevk_mixer { MOEVK_MIXER_ATTENTION = 0, MOEVK_MIXER_DELTANET = 1, MOEVK_MIXER_SLIDING = 2 } moevk_mixer;

/* What a MoE layer's FFN runs on the same input besides its routed experts (the
 * heatmap shows only the experts): nothing, a gated shared expert (qwen35moe), or a
 * dense GeGLU MLP whose output is added to the experts' (gemma4). */
typedef enum moevk_moe_ffn { MOEVK_FFN_EXPERTS = 0, MOEVK_FFN_SHARED_EXPERT = 1, MOEVK_FFN_DENSE_MLP = 2 } moevk_moe_ffn;

/* MoE layer l (0 <= l < n_moe_layers: the rows of the routing record, the
 * heatmap's rows): its index among all the model's layers (*layer, may be
 * NULL) and its token mixer (*mixer, may be NULL). MOEVK_ERR_INVALID_ARG for
 * l out of range. */
moevk_status moevk_moe_layer_info(const moevk_model *m, int l, int *layer, moevk_mixer *mixer);

/* What runs beside MoE layer l's routed experts (*ffn). MOEVK_ERR_INVALID_ARG for
 * l out of range or a NULL pointer. */
moevk_status moevk_moe_layer_ffn(const moevk_model *m, int l, moevk_moe_ffn *ffn);

/* ---------------------------------------------------------------- generation */

/* One streamed piece of text: whole UTF-8 characters only. Return nonzero to
 * stop (moevk_generate then returns MOEVK_OK and makes no further call). token
 * is -1 for a final piece flushed at the end (an unfinished UTF-8 character,
 * written as U+FFFD). */
typedef int (*moevk_token_cb)(const char *piece, int32_t token, void *user);

typedef struct moevk_gen_params {
    const char *prompt;        /* user text; NULL: "Describe this image in one sentence." (or text-only default) */
    const char *image_path;    /* image file (JPEG, PNG, WebP, GIF, HEIC, AVIF), or NULL */
    const uint8_t *image_rgb;  /* or raw RGB8 pixels, row-major, 3 bytes per pixel */
    int image_w, image_h;
    int image_min_tokens;      /* 0 (default): the mmproj's moevk.vision.image_min_tokens, else 8 (llama.cpp) */
    int image_max_tokens;      /* 0 (default): the mmproj's moevk.vision.image_max_tokens, else 4096 (llama.cpp);
                                  capped so image + text + n_predict fit n_ctx */
    int n_predict;             /* max new tokens; default 64 */
    float temp;                /* 0: greedy (default) */
    int top_k;                 /* 0: off; default 40 */
    float top_p;               /* 1: off; default 0.95 */
    uint64_t seed;             /* sampling seed; default 0 */
    moevk_token_cb on_token;   /* the answer's pieces (never the reasoning's) */
    void *user;
    /* Thinking (families whose template has a reasoning block: moevk_model_info.thinking; see
     * moevk_chat_params.think for what it does). */
    int think;                 /* moevk_generate only: 1 turns thinking on for its conversation (default 0: off,
                                  the template's empty reasoning block); moevk_chat_turn does not read it */
    int reasoning_budget;      /* tokens a reasoning block may take before its end tag is forced (llama.cpp's
                                  --reasoning-budget): -1 (default) unlimited, 0 ends it at once */
    moevk_token_cb on_reasoning; /* the reasoning's pieces, as on_token (same user; nonzero stops); NULL: not
                                  streamed (moevk_get_reasoning has it all the same) */
} moevk_gen_params;

moevk_gen_params moevk_gen_default_params(void);

/* Timings of the last turn (moevk_generate, moevk_chat_turn) or moevk_eval.
 * In a conversation they cover only the last turn: a follow-up shows
 * image_encode_ms == 0, n_image_tokens == 0 and n_prompt_tokens == the
 * tokens of that turn alone (earlier turns stay in the KV cache). */
typedef struct moevk_timings {
    double image_encode_ms;
    int n_images;              /* images encoded by this turn */
    int n_image_tokens;        /* image tokens encoded by this turn, all its images together */
    int image_nx, image_ny;    /* the grid of its last image: image_nx per row, row-major (merged patch blocks);
                                  every image's grid: moevk_chat_image_grid */
    int n_prompt_tokens;       /* tokens prefilled by this turn, including image tokens */
    double prefill_ms;
    int n_generated;           /* tokens generated, reasoning included */
    int n_reasoning;           /* of those, tokens of a reasoning block (its tags included) */
    double decode_ms;
    int turn;                  /* 0-based turn of the conversation */
    int n_ctx_used;            /* KV positions in use after the turn */
    int n_ctx;                 /* KV cache length */
    /* What the device was given (compute dispatches, barriers between them, queue submissions): by the
     * turn's prefill (all its parts and micro-batches together), and by its last decode step (expert
     * streaming's copies included in the submissions). 0 where there was none. */
    int prefill_dispatches, prefill_barriers, prefill_submits;
    int decode_dispatches, decode_barriers, decode_submits;
} moevk_timings;

/* Runs one turn: encodes the image (if any), prefills the chat prompt and
 * decodes until an end-of-turn token or n_predict. Resets the KV cache and
 * the routing record first. The generated text is streamed to on_token.
 * MOEVK_ERR_CONTEXT_FULL if the prompt does not fit n_ctx, or if the cache
 * fills while decoding (the text streamed so far stays in moevk_get_text). */
moevk_status moevk_generate(moevk_model *m, const moevk_gen_params *p);
moevk_status moevk_get_timings(const moevk_model *m, moevk_timings *out);

/* Writes the text generated by the last moevk_generate / moevk_chat_turn
 * (NUL-terminated, truncated to cap-1 bytes); returns the full length in
 * *len if not NULL. With thinking on this is the answer alone: the reasoning
 * is in moevk_get_reasoning. */
moevk_status moevk_get_text(const moevk_model *m, char *buf, size_t cap, size_t *len);

/* The reasoning written by the last moevk_generate / moevk_chat_turn before its
 * answer, without the block's tags and with the whitespace at its edges
 * dropped ("" with thinking off, or when the model wrote none); as
 * moevk_get_text. */
moevk_status moevk_get_reasoning(const moevk_model *m, char *buf, size_t cap, size_t *len);

/* ---------------------------------------------------------------- conversations
 *
 * A multi-turn conversation about images (or none). A model holds one
 * conversation at a time (it owns the KV cache): moevk_chat_start begins a
 * new one and drops the old; moevk_generate and moevk_eval also end it.
 *
 *     moevk_chat_params cp = moevk_chat_default_params();
 *     cp.image_path = "cat.png";                    // or image_rgb, or none
 *     if (moevk_chat_start(model, &cp) != MOEVK_OK) ... moevk_last_error() ...
 *     moevk_gen_params gp = moevk_gen_default_params();
 *     gp.on_token = print_piece;                    // streams the answer
 *     gp.prompt = "What is in the picture?";
 *     moevk_chat_turn(model, &gp);                  // encodes the image, prefills, answers
 *     gp.prompt = "What colour is it?";
 *     moevk_chat_turn(model, &gp);                  // only the new question is prefilled
 *     moevk_timings t; moevk_get_timings(model, &t); // t.image_encode_ms == 0 here
 *
 * More images join the conversation with moevk_chat_add_image before any turn
 * (and text before an image with moevk_chat_add_text): the next user turn holds
 * them in the order given, then its question; each image is encoded once, by
 * that turn, and its tokens are positioned as llama.cpp's mtmd places them.
 *
 *     moevk_chat_image ci = {.image_path = "dog.png"};
 *     moevk_chat_add_image(model, &ci);             // goes into the next turn
 *     gp.prompt = "How does this one differ from the first?";
 *     moevk_chat_turn(model, &gp);                  // encodes dog.png only
 *
 * The prompt is the model family's chat template (Qwen3-VL's shown here,
 * without a system prompt), exactly as the template renders the whole history:
 *
 *     <|im_start|>user\n<|vision_start|><|image_pad|>...<|vision_end|>Q1<|im_end|>\n
 *     <|im_start|>assistant\nA1<|im_end|>\n
 *     <|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n ...
 *
 * A follow-up prefills only "<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n
 * <|im_start|>assistant\n" (plus the answer's last token when n_predict cut
 * it, which was streamed but not yet fed back): the image is encoded once, by
 * the first turn, and earlier turns stay in the KV cache. The KV cache then
 * holds the same tokens as one prefill of the rendered history.
 *
 * The routing record (moevk_routing_count / _get) covers the whole
 * conversation; each token carries its kind and turn.
 *
 * MOEVK_ERR_CONTEXT_FULL from moevk_chat_turn names the context size; a
 * question that does not fit changes nothing (the conversation stays as it
 * was and a shorter question may still fit); if the cache fills while
 * answering, the answer so far is kept and later turns fail until
 * moevk_chat_start begins a new conversation. Other failures of a turn
 * (a device error) also leave the conversation needing a new start. */
typedef struct moevk_chat_params {
    const char *image_path;    /* image file, or NULL: the first image of the first turn (as moevk_chat_add_image) */
    const uint8_t *image_rgb;  /* or raw RGB8 pixels (copied), row-major */
    int image_w, image_h;
    int image_min_tokens;      /* 0 (default): the mmproj's moevk.vision.image_min_tokens, else 8 */
    int image_max_tokens;      /* 0 (default): the mmproj's moevk.vision.image_max_tokens, else 4096;
                                  capped so image + text_reserve fit n_ctx */
    int text_reserve;          /* positions every image leaves free for the text of the turns; default 192 */
    const char *system_prompt; /* NULL: none; else the system turn that opens the conversation
                                  ("<|im_start|>system\n...<|im_end|>\n"), copied */
    int think;                 /* 1: thinking on for every answer of the conversation (llama.cpp's --reasoning on,
                                  the template's enable_thinking = true): the template opens a reasoning block
                                  (Qwen3.5: "<|im_start|>assistant\n<think>\n"), the model reasons, closes it and
                                  answers. The reasoning goes to on_reasoning and moevk_get_reasoning, the answer
                                  alone to on_token and moevk_get_text; the routing record tags the block's tokens
                                  (moevk_token_route.reasoning) and the KV cache keeps them. 0 (default): off, as
                                  the template renders enable_thinking = false (Qwen3.5: the empty block
                                  "<think>\n\n</think>\n\n"); a block the model opens anyway is split off all the
                                  same. MOEVK_ERR_INVALID_ARG for a family without a thinking mode
                                  (moevk_model_info.thinking == 0). Exchanges added with moevk_chat_add_turn are
                                  rendered with thinking off (the template drops the reasoning of earlier turns). */
} moevk_chat_params;

moevk_chat_params moevk_chat_default_params(void);

/* Starts a new conversation: clears the KV cache, the routing record and
 * the text; loads and preprocesses the image (an unreadable image fails
 * here, MOEVK_ERR_IMAGE, and leaves no conversation). */
moevk_status moevk_chat_start(moevk_model *m, const moevk_chat_params *p);

/* Adds a user turn -- the parts added since the last turn (images, text),
 * then p->prompt -- and generates the answer with p's sampling settings,
 * streamed to p->on_token like moevk_generate. p->prompt is required and
 * non-empty unless parts were added (then NULL or "" adds no text). p's image
 * fields must be empty (images join through moevk_chat_start and
 * moevk_chat_add_image). MOEVK_ERR_INVALID_ARG without a started conversation. */
moevk_status moevk_chat_turn(moevk_model *m, const moevk_gen_params *p);

/* An image for the next user turn of a conversation. */
typedef struct moevk_chat_image {
    const char *image_path;    /* image file (JPEG, PNG, WebP, GIF, HEIC, AVIF), or NULL */
    const uint8_t *image_rgb;  /* or raw RGB8 pixels (copied), row-major */
    int image_w, image_h;
    int image_min_tokens;      /* 0: the mmproj's moevk.vision.image_min_tokens, else 8 */
    int image_max_tokens;      /* 0: the mmproj's moevk.vision.image_max_tokens, else 4096; capped so that the
                                  images of the conversation and the conversation's text_reserve fit n_ctx */
} moevk_chat_image;

/* Adds an image to the user turn being composed (the next moevk_chat_turn or
 * moevk_chat_add_turn), after the parts added before it. Loads and
 * preprocesses it now (an unreadable image: MOEVK_ERR_IMAGE, nothing added);
 * MOEVK_ERR_CONTEXT_FULL if no token of it fits; MOEVK_ERR_INVALID_ARG
 * without a started conversation or an mmproj. */
moevk_status moevk_chat_add_image(moevk_model *m, const moevk_chat_image *img);

/* Adds text to the user turn being composed, before the images added after
 * it (a message whose text comes first). Adjacent text parts join with no
 * separator, as the chat templates render a message's parts. */
moevk_status moevk_chat_add_text(moevk_model *m, const char *text);

/* Images of the conversation prefilled so far, and the grid of image i
 * (0-based, in the order the conversation holds them; moevk_token_route.image). */
int moevk_chat_images(const moevk_model *m);
moevk_status moevk_chat_image_grid(const moevk_model *m, int i, int *nx, int *ny);

/* Adds an earlier exchange to the conversation without generating: prefills
 * the user turn (with the parts added since the last turn) and
 * the assistant's answer as given, exactly as the template renders a history,
 * so that the next moevk_chat_turn continues after it. For a client that sends
 * the whole history (an OpenAI-style server). The routing of these tokens is
 * recorded as MOEVK_TOKEN_PROMPT (image tokens MOEVK_TOKEN_IMAGE). Errors as
 * moevk_chat_turn; user and assistant are required (assistant may be ""). */
moevk_status moevk_chat_add_turn(moevk_model *m, const char *user, const char *assistant);

/* Turns completed in the current conversation (0 before the first). */
int moevk_chat_turns(const moevk_model *m);

/* ---------------------------------------------------------------- routing telemetry */

typedef enum moevk_token_kind {
    MOEVK_TOKEN_IMAGE = 0, MOEVK_TOKEN_PROMPT = 1, MOEVK_TOKEN_GENERATED = 2
} moevk_token_kind;

/* Tokens recorded by the last moevk_generate, or by the whole current
 * conversation, so far (prompt incl. image tokens, then generated tokens,
 * turn after turn). A generated token is recorded when it is fed back, so the
 * last one is missing when n_predict ends a turn (a follow-up turn feeds it
 * and records it then, with its own turn). Safe to call from on_token. */
size_t moevk_routing_count(const moevk_model *m);

/* Routing of recorded token i: pos (sequence index), kind, token id (-1 for
 * image tokens), turn (0-based, of the conversation), image (the image an
 * image token belongs to), and for each MoE layer l and rank r < n_expert_used:
 * ids[l*n_expert_used + r], weights[...] (descending weight). ids and weights
 * must hold n_moe_layers*n_expert_used entries (cap). */
typedef struct moevk_token_route {
    int32_t pos;
    moevk_token_kind kind;
    int32_t token;
    int32_t turn;
    int32_t image;             /* MOEVK_TOKEN_IMAGE: 0-based image of the conversation (moevk_chat_image_grid); else -1 */
    int32_t reasoning;         /* 1: a MOEVK_TOKEN_GENERATED token of a reasoning block (thinking), its open and
                                  close tags included; 0: any other token */
} moevk_token_route;
moevk_status moevk_routing_get(const moevk_model *m, size_t i, moevk_token_route *route,
                               int32_t *ids, float *weights, size_t cap);

/* ---------------------------------------------------------------- verification */

/* Evaluates a prompt given as token ids, for tests and outside checks
 * (`moevk eval`). A run of <|image_pad|> ids marks where the image
 * embeddings go; its length must equal the image's token count
 * (MOEVK_ERR_SHAPE otherwise). Resets the KV cache first. Every output
 * pointer may be NULL; caps are in elements. */
typedef struct moevk_eval_params {
    const int32_t *tokens;      /* [n_tokens] */
    int n_tokens;
    const float *pixels;        /* normalised planar float32 [3][pixels_h][pixels_w], or NULL */
    int pixels_w, pixels_h;
    const char *image_path;     /* or an image file, preprocessed like moevk_generate */
    int image_min_tokens, image_max_tokens; /* 0: the mmproj's moevk.vision.image_*_tokens, else (8, 4096) */
    float *vision_out;          /* [n_image_tokens][n_embd*(1+n_deepstack)]: merger, then DeepStack rows */
    size_t vision_cap;
    float *logits;              /* [n_tokens][n_vocab], logits at every prompt position */
    size_t logits_cap;
    int32_t *routing_ids;       /* [n_moe_layers][n_tokens][n_expert_used] */
    float *routing_weights;     /* same shape */
    size_t routing_cap;
    int n_greedy;               /* greedy tokens to generate after the prompt */
    int32_t *greedy_tokens;     /* [n_greedy] */
    int n_image_tokens;         /* out: image tokens used */
} moevk_eval_params;

moevk_status moevk_eval(moevk_model *m, moevk_eval_params *p);

/* Tokenizes text with the model's tokenizer. parse_special: text such as
 * "<|im_start|>" becomes the special token. Writes at most cap ids; *n_out
 * gets the full count (MOEVK_ERR_INVALID_ARG "need N ids" if over cap). */
moevk_status moevk_tokenize(const moevk_model *m, const char *text, int parse_special, int32_t *ids, size_t cap, size_t *n_out);

/* ---------------------------------------------------------------- expert cache
 *
 * When the routed experts do not all fit the device-memory budget
 * (moevk_model_params.device_mem_mib), each MoE layer keeps a pool of expert
 * slots and experts are copied in from the GGUF as the router picks them
 * (docs/EXPERT_CACHE.md). These counters say how that went. */

typedef struct moevk_cache_counters {
    uint64_t uses;            /* distinct experts needed, summed over steps (decode) or batches (prefill) */
    uint64_t hits;            /* ... already resident (including prefetched ones) */
    uint64_t misses;          /* ... fetched on demand: the step waited */
    uint64_t prefetches;      /* experts fetched ahead from a prediction */
    uint64_t bytes_streamed;  /* bytes copied into slots (demand + prefetch) */
    uint64_t pred_total;      /* experts needed for which a prediction had been made */
    uint64_t pred_hits;       /* ... that the prediction contained */
    uint64_t fetch_batches;   /* upload batches those copies took: a layer's misses (or its prefetch) go together, one
                                 batch each; $MOEVK_XC_BATCH=0 makes it one batch per expert, for comparisons */
    uint64_t copy_submits;    /* device submissions the batches made (0 where device memory is written in place) */
    double stall_ms;          /* host time spent on demand fetches (the device idles) */
} moevk_cache_counters;

typedef struct moevk_cache_stats {
    int streaming;            /* 1: experts stream; 0: all resident (counters stay 0) */
    int slots_per_layer;      /* expert slots per MoE layer (n_expert when all resident) */
    int policy;               /* 0: LRU, 1: LFU ($MOEVK_CACHE_POLICY=lru|lfu) */
    int prefetch;             /* predicted prefetch: 0 off, 1 on, 2 auto (default: per layer, while the experts it
                                 fetched were used more often than those it evicted were needed;
                                 $MOEVK_PREFETCH=0|1|auto) */
    uint64_t budget_bytes;    /* the device-memory budget */
    uint64_t committed_bytes; /* device memory moevk holds now */
    uint64_t peak_bytes;      /* ... the most it has held */
    uint64_t resident_bytes;  /* placement's resident set: weights but experts, KV cache, scratch reserve */
    uint64_t expert_bytes;    /* all routed experts of the model */
    uint64_t slot_bytes;      /* one expert (gate, up and down) */
    uint64_t decode_tokens;   /* decode steps counted below */
    uint64_t prefill_tokens;  /* prompt tokens counted below */
    moevk_cache_counters decode;  /* all MoE layers, decode steps */
    moevk_cache_counters prefill; /* all MoE layers, prompt batches */
} moevk_cache_stats;

/* Fills *out; if layers is not NULL, also the decode counters of each MoE
 * layer (layers[0..min(cap, n_moe_layers))). */
moevk_status moevk_cache_get_stats(const moevk_model *m, moevk_cache_stats *out, moevk_cache_counters *layers, size_t cap);
/* Zeroes the counters (not the cache contents). */
moevk_status moevk_cache_reset_stats(moevk_model *m);
/* mask[e] = 1 if expert e of MoE layer `layer` is on the device now (all 1
 * when nothing streams); mask holds n_expert entries (cap). */
moevk_status moevk_cache_resident(const moevk_model *m, int layer, uint8_t *mask, size_t cap);

/* ---------------------------------------------------------------- images */

/* Decoded pixels: RGB8, row-major, 3 bytes per pixel, owned by the library
 * (free with moevk_image_free). */
typedef struct moevk_image {
    int w, h;
    uint8_t *rgb;              /* [h][w][3] */
} moevk_image;

/* What a caller accepts; zeroed fields take the library's limits. */
typedef struct moevk_image_limits {
    int max_side;              /* longest side; 0 (or above 32768): 32768 */
    int64_t max_pixels;        /* w*h; 0 (or above 2^28): 2^28 */
    int jpeg_only;             /* 1: refuse anything but a JPEG (a camera's MJPEG frame) */
    int tolerate_damage;       /* 1: decode a JPEG despite recoverable corruption, as webcams need;
                                  0: a damaged file is refused */
} moevk_image_limits;

/* Decodes an encoded image held in memory: JPEG (greyscale, YCbCr, RGB,
 * CMYK), PNG (every type: 16-bit samples reduced to 8 bits, alpha dropped),
 * WebP (still images), GIF (first frame), HEIC and AVIF, through Debian's
 * libjpeg-turbo, libpng, libwebp, giflib and libheif; the EXIF orientation of
 * JPEG, PNG and WebP files is applied (a portrait photo comes out upright).
 * BMP, TIFF, PNM, PSD, HDR, JPEG XL and QOI are refused by name. The size is
 * checked from the header before any pixel buffer is allocated. lim may be
 * NULL (the library's limits); name is used in messages only (may be NULL).
 * Returns MOEVK_ERR_IMAGE for a file that is not an image moevk reads, is
 * damaged or too large (moevk_last_error() names the file, the format and
 * the reason); *out is zeroed on failure. */
moevk_status moevk_image_decode(const void *data, size_t size, const char *name, const moevk_image_limits *lim,
                                moevk_image *out);
/* Reads and decodes a file (as moevk_image_decode); MOEVK_ERR_IO if it cannot be read. */
moevk_status moevk_image_load(const char *path, const moevk_image_limits *lim, moevk_image *out);
/* Frees the pixels and zeroes *img; accepts NULL and zeroed images. */
void moevk_image_free(moevk_image *img);

#ifdef __cplusplus
}
#endif
#endif /* MOEVK_H */
