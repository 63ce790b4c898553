/* routing_view.c — routing telemetry copies and heatmap counts. */
#include "routing_view.h"

#include <stdlib.h>
#include <string.h>

void view_routing_free(view_routing *r) {
    if (!r) return;
    free(r->kind);
    free(r->token);
    free(r->pos);
    free(r->turn);
    free(r->image);
    free(r->reasoning);
    free(r->ids);
    free(r->weights);
    memset(r, 0, sizeof *r);
}

int view_routing_reset(view_routing *r, int n_layers, int k, int n_expert) {
    if (r->n_layers != n_layers || r->k != k) {
        view_routing_free(r);
        r->n_layers = n_layers;
        r->k = k;
    }
    r->n_expert = n_expert;
    r->n_tok = 0;
    return 1;
}

static int grow(void **p, size_t elem, int n) {
    void *q = realloc(*p, elem * (size_t)(n > 0 ? n : 1));
    if (!q) return 0;
    *p = q;
    return 1;
}

int view_routing_reserve(view_routing *r, int n) {
    if (n <= r->cap_tok) return 1;
    int cap = r->cap_tok ? r->cap_tok : 64;
    while (cap < n) cap *= 2;
    size_t per = (size_t)r->n_layers * (size_t)r->k;
    if (!grow((void **)&r->kind, 1, cap) || !grow((void **)&r->token, sizeof(int32_t), cap) ||
        !grow((void **)&r->pos, sizeof(int32_t), cap) || !grow((void **)&r->turn, sizeof(int32_t), cap) ||
        !grow((void **)&r->image, sizeof(int32_t), cap) || !grow((void **)&r->reasoning, sizeof(int32_t), cap) || !grow((void **)&r->ids, sizeof(int32_t) * per, cap) ||
        !grow((void **)&r->weights, sizeof(float) * per, cap))
        return 0;
    r->cap_tok = cap;
    return 1;
}

int view_routing_copy(view_routing *dst, const view_routing *src) {
    view_routing_reset(dst, src->n_layers, src->k, src->n_expert);
    if (!view_routing_reserve(dst, src->n_tok)) return 0;
    size_t per = (size_t)src->n_layers * (size_t)src->k;
    size_t n = (size_t)src->n_tok;
    if (n) {
        memcpy(dst->kind, src->kind, n);
        memcpy(dst->token, src->token, n * sizeof(int32_t));
        memcpy(dst->pos, src->pos, n * sizeof(int32_t));
        memcpy(dst->turn, src->turn, n * sizeof(int32_t));
        memcpy(dst->image, src->image, n * sizeof(int32_t));
        memcpy(dst->reasoning, src->reasoning, n * sizeof(int32_t));
        memcpy(dst->ids, src->ids, n * per * sizeof(int32_t));
        memcpy(dst->weights, src->weights, n * per * sizeof(float));
    }
    dst->n_tok = src->n_tok;
    return 1;
}

int view_routing_selected(const view_routing *r, int i, view_token_filter f) {
    int kind = r->kind[i];
    if (f == VIEW_TOKENS_IMAGE) return kind == MOEVK_TOKEN_IMAGE;
    if (f == VIEW_TOKENS_TEXT) return kind != MOEVK_TOKEN_IMAGE;
    return 1;
}

void view_routing_counts(const view_routing *r, view_token_filter f, int *counts, int *n_sel) {
    memset(counts, 0, sizeof(int) * (size_t)r->n_layers * (size_t)r->n_expert);
    int n = 0;
    for (int i = 0; i < r->n_tok; i++) {
        if (!view_routing_selected(r, i, f)) continue;
        n++;
        const int32_t *ids = r->ids + (size_t)i * r->n_layers * r->k;
        for (int l = 0; l < r->n_layers; l++)
            for (int j = 0; j < r->k; j++) {
                int e = ids[l * r->k + j];
                if (e >= 0 && e < r->n_expert) counts[l * r->n_expert + e]++;
            }
    }
    *n_sel = n;
}

int view_routing_nth_generated(const view_routing *r, int n) {
    for (int i = 0; i < r->n_tok; i++)
        if (r->kind[i] == MOEVK_TOKEN_GENERATED && n-- == 0) return i;
    return -1;
}

int view_routing_nth_generated_of_turn(const view_routing *r, int t, int n) {
    if (n < 0) return -1;
    for (int i = 0; i < r->n_tok; i++)
        if (r->kind[i] == MOEVK_TOKEN_GENERATED && r->turn[i] == t && n-- == 0) return i;
    return -1;
}
