/* routing_view.h — a copy of the engine's routing telemetry for one conversation
 * (the caption and the questions about that frame),
 * and the per-layer, per-expert counts the heatmap draws. */
#ifndef MOEVK_VIEW_ROUTING_VIEW_H
#define MOEVK_VIEW_ROUTING_VIEW_H

#include <stdint.h>

#include "moevk.h"

typedef enum view_token_filter {
    VIEW_TOKENS_BOTH = 0,   // image + prompt + generated tokens
    VIEW_TOKENS_IMAGE = 1,  // image tokens only
    VIEW_TOKENS_TEXT = 2    // prompt + generated tokens
} view_token_filter;

typedef struct view_routing {
    int n_layers;      // MoE layers with telemetry
    int k;             // experts used per token
    int n_expert;      // experts per layer
    int n_tok, cap_tok;
    uint8_t *kind;     // [cap_tok] moevk_token_kind
    int32_t *token;    // [cap_tok] token id, -1 for image tokens
    int32_t *pos;      // [cap_tok] sequence position
    int32_t *turn;     // [cap_tok] conversation turn (0: the caption)
    int32_t *image;    // [cap_tok] image tokens: the conversation's image (0: the caption's); else -1
    int32_t *reasoning; // [cap_tok] 1: a generated token of a reasoning block (thinking on)
    int32_t *ids;      // [cap_tok][n_layers][k] expert ids, descending weight
    float *weights;    // [cap_tok][n_layers][k] gate weights
} view_routing;

/* Sets the shape and drops all tokens (keeps the allocation if it fits). */
int view_routing_reset(view_routing *r, int n_layers, int k, int n_expert);
/* Room for at least n tokens. Returns 0 on allocation failure. */
int view_routing_reserve(view_routing *r, int n);
/* Deep copy (dst is reset and grown). Returns 0 on allocation failure. */
int view_routing_copy(view_routing *dst, const view_routing *src);
void view_routing_free(view_routing *r);

/* 1 if token i passes the filter. */
int view_routing_selected(const view_routing *r, int i, view_token_filter f);

/* counts[l*n_expert + e] = number of selected tokens whose top-k at MoE layer l
 * includes expert e; *n_sel = number of selected tokens. counts holds
 * n_layers*n_expert ints. The share of a cell is counts / n_sel. */
void view_routing_counts(const view_routing *r, view_token_filter f, int *counts, int *n_sel);

/* Index of the n-th (0-based) generated-token record, or -1. */
int view_routing_nth_generated(const view_routing *r, int n);
/* Index of the n-th generated-token record of turn t, or -1. */
int view_routing_nth_generated_of_turn(const view_routing *r, int t, int n);

#endif
