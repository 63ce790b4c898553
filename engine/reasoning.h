/* reasoning.h — splits what a model generates into its reasoning (a thinking block) and the answer,
 * token by token, at the tags the family's prompt format names (engine/arch/family.h: think_open,
 * think_close, think_label), and forces the block's end when a reasoning budget runs out (llama.cpp's
 * --reasoning-budget). No model and no Vulkan here: chat.c drives it from its decode loop, and
 * tests/test_reasoning.c drives it alone.
 *
 *     mvk_reasoning rs;
 *     mvk_reasoning_init(&rs, open_id, close_id, label, starts_inside, budget);
 *     for each step:
 *         tok = mvk_reasoning_forced(&rs) >= 0 ? that : sample();
 *         int tag = mvk_reasoning_is_tag(&rs, tok);   // tags carry no text
 *         if (tag) emit the detokenizer's leftover bytes first (they belong to the phase before the tag)
 *         unsigned f = mvk_reasoning_step(&rs, tok); // f & MVK_RS_REASONING: tag its routing
 *         text of the token (if not a tag) -> mvk_reasoning_filter(&rs, ...) -> rs.in ? reasoning : answer
 *
 * Whitespace at the edges of the reasoning and of an answer that follows a block is dropped, as
 * llama.cpp's chat parser trims reasoning_content and content: a block's text starts at its first
 * other character (after the label), its trailing whitespace is held back and dropped at the close,
 * and the answer after a close starts at its first other character. */
#ifndef MVK_REASONING_H
#define MVK_REASONING_H

#include <stddef.h>
#include <stdint.h>

#include "moevk.h"

enum {
    MVK_RS_REASONING = 1 << 0, /* the token belongs to a reasoning block (its tags included) */
    MVK_RS_TAG = 1 << 1,       /* the token is think_open or think_close: no text of its own */
};

typedef struct mvk_reasoning {
    int32_t open_id, close_id; /* the tags' token ids; -1: none (the family has no thinking mode) */
    const char *label;         /* NULL, or the text written after think_open that names the block (dropped) */
    int budget;                /* tokens a block may take before think_close is forced; -1: unlimited */
    int in;                    /* 1: inside a reasoning block now */
    int lead;                  /* 1: drop whitespace up to the next other character (an edge of a block / answer) */
    int labelling;             /* 1: at a block's head, matching the label (held in hold) */
    size_t label_got;          /* bytes of the label matched so far */
    int n_in;                  /* tokens generated inside the current block (its open tag excluded) */
    int n_tokens;              /* tokens of reasoning blocks so far, tags included (moevk_timings.n_reasoning) */
    char *hold;                /* reasoning text held back: a label prefix, or trailing whitespace */
    size_t n_hold, cap_hold;
    char *out;                 /* what the last mvk_reasoning_filter / _step returned */
    size_t cap_out;
} mvk_reasoning;

/* starts_inside: the prompt left a block open (mvk_reasoning_prompt_state). budget: -1 unlimited. */
void mvk_reasoning_init(mvk_reasoning *r, int32_t open_id, int32_t close_id, const char *label, int starts_inside,
                        int budget);
void mvk_reasoning_free(mvk_reasoning *r);

/* 1 if ids[0..n) leave a reasoning block open: the last of the tags among them is open_id. */
int mvk_reasoning_prompt_state(const int32_t *ids, size_t n, int32_t open_id, int32_t close_id);

/* The token to feed now instead of a sampled one: close_id when the block has used its budget; else -1. */
int32_t mvk_reasoning_forced(const mvk_reasoning *r);

int mvk_reasoning_is_tag(const mvk_reasoning *r, int32_t tok);

/* Takes generated token tok: a tag opens or closes a block. Returns MVK_RS_* flags. At a close, the
 * block's held text that is reasoning after all (a partial label) comes out in *text / *n (else n 0;
 * NUL-terminated, valid until the next call), to be given to the reasoning before the answer starts. */
unsigned mvk_reasoning_step(mvk_reasoning *r, int32_t tok, const char **text, size_t *n);

/* Text of a token (whole UTF-8 characters) in the current phase (r->in), trimmed and held as the
 * header says: *out / *n_out is what to emit now (n_out may be 0; NUL-terminated, valid until the
 * next call). */
moevk_status mvk_reasoning_filter(mvk_reasoning *r, const char *piece, size_t n, const char **out, size_t *n_out);

#endif
