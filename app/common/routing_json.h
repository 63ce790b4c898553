/* routing_json.h — routing telemetry as JSON: one object per token,
 *
 *   [
 *   {"pos":0,"kind":"prompt","token":297,"turn":0,"image":-1,"reasoning":false,"layers":[
 *     {"layer":0,"experts":[3,1],"weights":[0.75,0.25]}, ...]},
 *   ...
 *   ]
 *
 * kind is "image", "prompt" or "generated" (moevk_token_kind 0, 1, 2);
 * token is -1 for image tokens; turn (the conversation turn) and image
 * (which image of the conversation an image token belongs to, -1 for other
 * tokens) and reasoning (true for a generated token of a reasoning block,
 * thinking on, its tags included) are written when the input has them. Weights are printed with %.9g (float
 * round-trips exactly); non-finite weights become null (JSON has no NaN).
 * Input is plain arrays so this does not depend on the engine. */
#ifndef MOEVK_ROUTING_JSON_H
#define MOEVK_ROUTING_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "moevk.h"

typedef struct routing_json_input {
    size_t n_tokens;
    int n_layers;              /* MoE layers recorded per token */
    int k;                     /* experts per token and layer */
    const int32_t *pos;        /* [n_tokens] sequence position */
    const int *kind;           /* [n_tokens] moevk_token_kind: 0 image, 1 prompt, 2 generated */
    const int32_t *token;      /* [n_tokens] token id, -1 for image tokens */
    const int32_t *ids;        /* [n_tokens][n_layers][k] expert ids */
    const float *weights;      /* [n_tokens][n_layers][k] routing weights */
    const int32_t *layer_ids;  /* [n_layers] model layer index of each MoE layer; NULL: 0..n_layers-1 */
    const int32_t *turn;       /* [n_tokens] conversation turn, or NULL (no "turn" key) */
    const int32_t *image;      /* [n_tokens] image of the conversation (-1: not an image token), or NULL (no "image" key) */
    const int32_t *reasoning;  /* [n_tokens] nonzero: a token of a reasoning block, or NULL (no "reasoning" key) */
} routing_json_input;

/* Writes the JSON array to f. MOEVK_ERR_INVALID_ARG for NULL arrays (when
 * n_tokens > 0), non-positive n_layers/k or an unknown kind; MOEVK_ERR_IO
 * if writing fails. */
moevk_status routing_json_write(FILE *f, const routing_json_input *in);

/* Same into a file (created or truncated). */
moevk_status routing_json_write_file(const char *path, const routing_json_input *in);

#endif
