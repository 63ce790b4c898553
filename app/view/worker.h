/* worker.h — the inference thread of moevk-view. It owns the moevk_model (every
 * engine call happens on this thread), always captions the newest submitted
 * frame (older pending frames are dropped) and publishes the streaming caption,
 * its routing telemetry and timings for the UI thread to copy. */
#ifndef MOEVK_VIEW_WORKER_H
#define MOEVK_VIEW_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "moevk.h"
#include "routing_view.h"
#include "view_image.h"

typedef struct view_worker view_worker;

typedef struct view_worker_cfg {
    const char *model_path;
    const char *mmproj_path;
    const char *device;      // NULL: library default
    const char *prompt;      // NULL: library default
    int n_predict;           // 0: library default
    int n_ctx;               // 0: library default
    int image_max_tokens;    // 0: library default
    int device_mem_mib;      // 0: library default ($MOEVK_DEVICE_MEM, else the device's)
    int think;               // 1: thinking on (a family with a reasoning block; others refuse it at the caption)
    int reasoning_budget;    // tokens the reasoning may take before its end is forced; -1: unlimited
} view_worker_cfg;

typedef enum view_model_state {
    VIEW_MODEL_LOADING = 0,
    VIEW_MODEL_READY,
    VIEW_MODEL_FAILED
} view_model_state;

/* One caption piece as streamed: caption bytes [start, start+len) came with token. */
typedef struct view_seg {
    int start, len;
    int32_t token;
} view_seg;

#define VIEW_MAX_TURNS 32
#define VIEW_MAX_MOE_LAYERS 256  // MoE layers whose mixer kind the app keeps (more: not named)

/* One question about the frame and its streamed answer (a follow-up turn of
 * the caption's conversation: the image is not encoded again). */
typedef struct view_turn {
    char *user;                // the question
    int turn;                  // its turn in the engine's conversation (a refused question takes none)
    char *answer;              // NUL-terminated UTF-8, streams in
    size_t answer_len, answer_cap;
    char *reasoning;           // thinking on: the reasoning before the answer (NULL or NUL-terminated)
    size_t reasoning_len, reasoning_cap;
    int done, failed;
    char error[512];
    moevk_timings timings;     // valid when done && !failed
    double t_start, t_first_token, t_done;
    int image;                 // the image this turn added to the conversation (its index; 0 is the caption's), -1: none
    int img_nx, img_ny;        // its token grid (known when the turn is done)
} view_turn;

typedef struct view_caption {
    uint64_t frame_seq;        // the submitted frame this caption belongs to (0: none yet)
    char *text;                // NUL-terminated UTF-8
    size_t len, cap;
    char *reasoning;           // thinking on: the caption's reasoning, apart from text (NULL or NUL-terminated)
    size_t reasoning_len, reasoning_cap;
    view_seg *segs;            // [n_segs]
    int n_segs, cap_segs;
    view_routing routing;
    int started;               // generation began for frame_seq
    int done;                  // generation finished (ok, failed or cancelled)
    int failed;                // moevk_generate failed (error holds why)
    int cancelled;             // dropped for a newer frame
    char error[512];
    moevk_timings timings;     // valid when done && !failed
    double t_submit, t_start, t_first_token, t_done;  // monotonic seconds (0: not yet)
    // questions about this frame: turns 1.. of its conversation (turn 0 is the caption)
    view_turn turns[VIEW_MAX_TURNS];
    int n_turns;
    uint64_t conv_id;          // bumps with every new conversation (a new frame)
    int img_nx, img_ny;        // the caption's image token grid (known once its first token streams)
    char caption_prompt[512];  // the caption's question (the library default if none given)
} view_caption;

/* The expert cache as the worker last saw it (docs/EXPERT_CACHE.md). */
#define VIEW_RES_MAX 16384   // layers x experts marks kept (larger models: no marks)
typedef struct view_cache_view {
    int streaming;             // experts stream (the budget does not hold them all)
    int slots;                 // slots per layer
    double hit_pct;            // decode hit rate so far (-1: no decode step yet)
    int L, E;                  // shape of resident (0: not available)
    uint8_t resident[VIEW_RES_MAX]; // [L][E] 1: on the device now
} view_cache_view;

typedef struct view_worker_status {
    view_model_state state;
    char stage[64];
    float frac;
    moevk_model_info info;     // valid when state == VIEW_MODEL_READY (memory and validation figures as of the last caption)
    char model_path[512], mmproj_path[512];
    int busy;                  // a generation is running
    int asking;                // a question waits or is being answered
    int pending;               // a frame waits
    uint64_t n_captions;       // finished captions
    view_cache_view cache;
    uint64_t n_failed;         // captions that failed (not cancelled)
    uint64_t last_ok_seq;      // frame of the last caption that finished without failing (0: none)
    int mixed_layers;          // the model mixes layer kinds: Gated DeltaNet and attention (qwen35moe), sliding and
                               // global attention (gemma4), or runs a dense MLP beside the experts (gemma4)
    uint8_t mixer[VIEW_MAX_MOE_LAYERS]; // per MoE layer (heatmap row): moevk_mixer (valid when state == READY)
    uint8_t ffn[VIEW_MAX_MOE_LAYERS];   // per MoE layer: moevk_moe_ffn, what runs beside the experts
} view_worker_status;

view_worker *view_worker_start(const view_worker_cfg *cfg);
/* Stops (cancelling a running generation at the next token) and joins. */
void view_worker_stop(view_worker *w);

/* Submits a frame (copied). It replaces any frame still waiting. If preempt, a
 * running generation is cancelled at its next token. Returns 0 if out of memory. */
int view_worker_submit(view_worker *w, const view_image *img, uint64_t seq, double t_submit, int preempt);
/* Asks a question about the frame whose caption has sequence seq (copied).
 * It waits for that caption to finish; if another frame's caption replaced it
 * by then, the question is dropped with a message. Returns 0 (and changes
 * nothing) if a question is already waiting or running, or out of memory. */
int view_worker_ask(view_worker *w, const char *question, uint64_t seq);
/* Adds an image (copied) to the conversation of the frame with sequence
 * conv_seq, and asks question (NULL: the caption's prompt) about it as its next
 * turn: the image is encoded once, by that turn; the conversation then belongs
 * to frame new_seq (the added image on screen). Returns 0 (and changes nothing)
 * if a question waits or runs, the conversation is not that frame's finished
 * caption, or out of memory. */
int view_worker_add_image(view_worker *w, const view_image *img, const char *question, uint64_t conv_seq,
                          uint64_t new_seq);
/* Loads another model pair (the current one is freed first). */
void view_worker_reload(view_worker *w, const char *model_path, const char *mmproj_path);

/* Copies the published caption into dst if it changed since *version; returns
 * 1 if it copied. dst is reused between calls (free with view_caption_free). */
int view_worker_snapshot(view_worker *w, view_caption *dst, uint64_t *version);
void view_worker_get_status(view_worker *w, view_worker_status *st);
/* Pops one message for a banner (problems found by the worker); 0 if none. */
int view_worker_pop_message(view_worker *w, char *buf, size_t cap);

void view_caption_free(view_caption *c);
int view_caption_copy(view_caption *dst, const view_caption *src);

double view_now(void);  // monotonic seconds

#endif
