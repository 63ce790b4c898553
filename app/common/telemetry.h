/* telemetry.h — copies a model's routing record (include/moevk.h) into the
 * flat arrays the JSON writer and the heatmap take. */
#ifndef MOEVK_TELEMETRY_H
#define MOEVK_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "heatmap.h"
#include "moevk.h"
#include "routing_json.h"

typedef struct telemetry {
    size_t n_tokens;
    int n_layers, n_experts, k;
    int32_t *pos;      /* [n_tokens] */
    int *kind;         /* [n_tokens] moevk_token_kind */
    int32_t *token;    /* [n_tokens] */
    int32_t *turn;     /* [n_tokens] conversation turn */
    int32_t *image;    /* [n_tokens] image of the conversation an image token belongs to, else -1 */
    int32_t *reasoning; /* [n_tokens] 1: a generated token of a reasoning block (thinking) */
    int32_t *ids;      /* [n_tokens][n_layers][k] */
    float *weights;    /* [n_tokens][n_layers][k] */
    float *image_counts; /* [n_layers][n_experts] tokens routed, image tokens */
    float *text_counts;  /* [n_layers][n_experts] tokens routed, prompt + generated tokens */
    int64_t n_image, n_text;
} telemetry;

/* Reads everything recorded by the last moevk_generate / moevk_eval, or the
 * whole current conversation (moevk_chat_turn). */
moevk_status telemetry_collect(const moevk_model *m, telemetry *t);
void telemetry_free(telemetry *t);
routing_json_input telemetry_json(const telemetry *t);
heatmap_input telemetry_heatmap(const telemetry *t);

#endif
