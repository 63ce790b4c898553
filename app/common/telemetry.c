/* telemetry.c — routing record -> flat arrays, per-(layer, expert) counts. */
#include "telemetry.h"

#include <stdlib.h>
#include <string.h>

void telemetry_free(telemetry *t) {
    if (!t) return;
    free(t->pos);
    free(t->kind);
    free(t->token);
    free(t->turn);
    free(t->image);
    free(t->reasoning);
    free(t->ids);
    free(t->weights);
    free(t->image_counts);
    free(t->text_counts);
    memset(t, 0, sizeof *t);
}

moevk_status telemetry_collect(const moevk_model *m, telemetry *t) {
    memset(t, 0, sizeof *t);
    moevk_model_info info;
    moevk_status s = moevk_model_get_info(m, &info);
    if (s != MOEVK_OK) return s;
    t->n_layers = info.n_moe_layers;
    t->n_experts = info.n_expert;
    t->k = info.n_expert_used;
    t->n_tokens = moevk_routing_count(m);
    size_t n = t->n_tokens ? t->n_tokens : 1, S = (size_t)t->n_layers * (size_t)(t->k > 0 ? t->k : 1);
    size_t C = (size_t)t->n_layers * (size_t)(t->n_experts > 0 ? t->n_experts : 1);
    t->pos = calloc(n, sizeof *t->pos);
    t->kind = calloc(n, sizeof *t->kind);
    t->token = calloc(n, sizeof *t->token);
    t->turn = calloc(n, sizeof *t->turn);
    t->image = calloc(n, sizeof *t->image);
    t->reasoning = calloc(n, sizeof *t->reasoning);
    t->ids = calloc(n * (S ? S : 1), sizeof *t->ids);
    t->weights = calloc(n * (S ? S : 1), sizeof *t->weights);
    t->image_counts = calloc(C ? C : 1, sizeof *t->image_counts);
    t->text_counts = calloc(C ? C : 1, sizeof *t->text_counts);
    if (!t->pos || !t->kind || !t->token || !t->turn || !t->image || !t->reasoning || !t->ids || !t->weights || !t->image_counts || !t->text_counts) {
        telemetry_free(t);
        return MOEVK_ERR_OUT_OF_HOST_MEMORY;
    }
    for (size_t i = 0; i < t->n_tokens; i++) {
        moevk_token_route r;
        s = moevk_routing_get(m, i, &r, t->ids + i * S, t->weights + i * S, S);
        if (s != MOEVK_OK) {
            telemetry_free(t);
            return s;
        }
        t->pos[i] = r.pos;
        t->kind[i] = (int)r.kind;
        t->token[i] = r.token;
        t->turn[i] = r.turn;
        t->image[i] = r.image;
        t->reasoning[i] = r.reasoning;
        int img = r.kind == MOEVK_TOKEN_IMAGE;
        if (img) t->n_image++;
        else t->n_text++;
        float *c = img ? t->image_counts : t->text_counts;
        for (int l = 0; l < t->n_layers; l++)
            for (int j = 0; j < t->k; j++) {
                int32_t e = t->ids[i * S + (size_t)l * (size_t)t->k + (size_t)j];
                if (e >= 0 && e < t->n_experts) c[(size_t)l * (size_t)t->n_experts + (size_t)e] += 1.0f;
            }
    }
    return MOEVK_OK;
}

routing_json_input telemetry_json(const telemetry *t) {
    routing_json_input in = {.n_tokens = t->n_tokens, .n_layers = t->n_layers, .k = t->k, .pos = t->pos,
                             .kind = t->kind, .token = t->token, .ids = t->ids, .weights = t->weights, .turn = t->turn,
                             .image = t->image, .reasoning = t->reasoning};
    return in;
}

heatmap_input telemetry_heatmap(const telemetry *t) {
    heatmap_input in = {.n_layers = t->n_layers, .n_experts = t->n_experts, .k = t->k,
                        .image_values = t->image_counts, .text_values = t->text_counts,
                        .n_image_tokens = t->n_image, .n_text_tokens = t->n_text};
    return in;
}
