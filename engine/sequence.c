/* sequence.c — the state of the sequence a model holds, shared by eval (api.c) and conversations
 * (chat.c), which never call each other: resetting it (KV position, routing record, text, timings,
 * any conversation), the routing record, the generated text, and the prompt helpers (tokens of a
 * text, a special token's id, an image made ready for the vision tower). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"
#include "image.h"
#include "mvk_status.h"

double mvk_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---------------------------------------------------------------- routing record */

size_t mvk_route_stride(const moevk_model *m) {
    return (size_t)m->hp.n_moe_layers * (size_t)m->hp.n_expert_used;
}

moevk_status mvk_route_push(moevk_model *m, int32_t pos, moevk_token_kind kind, int32_t token, int32_t turn,
                            int32_t image, int32_t reasoning, const int32_t *ids, const float *w, size_t stride_tok) {
    size_t S = mvk_route_stride(m);
    if (m->tel.n_routes == m->tel.cap_routes) {
        size_t cap = m->tel.cap_routes ? m->tel.cap_routes * 2 : 256;
        mvk_route_rec *r = realloc(m->tel.routes, cap * sizeof *r);
        if (!r) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        m->tel.routes = r;
        if (S) {
            int32_t *ni = realloc(m->tel.route_ids, cap * S * sizeof *ni);
            if (!ni) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
            m->tel.route_ids = ni;
            float *nw = realloc(m->tel.route_w, cap * S * sizeof *nw);
            if (!nw) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
            m->tel.route_w = nw;
        }
        m->tel.cap_routes = cap;
    }
    size_t i = m->tel.n_routes;
    m->tel.routes[i] = (mvk_route_rec){pos, (int32_t)kind, token, turn, image, reasoning};
    /* ids/w are [n_moe_layers][stride_tok][k]: gather layer by layer */
    size_t k = (size_t)m->hp.n_expert_used;
    for (size_t l = 0; S && l < (size_t)m->hp.n_moe_layers; l++) {
        memcpy(m->tel.route_ids + i * S + l * k, ids + l * stride_tok * k, k * sizeof *ids);
        memcpy(m->tel.route_w + i * S + l * k, w + l * stride_tok * k, k * sizeof *w);
    }
    m->tel.n_routes++;
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- prompts */

moevk_status mvk_tok_append(const moevk_model *m, const char *text, int special, int32_t **ids, size_t *n, size_t *cap) {
    size_t len = strlen(text), need = mvk_tokenize_bound(len);
    if (*n + need > *cap) {
        size_t c = (*n + need) * 2;
        int32_t *r = realloc(*ids, c * sizeof *r);
        if (!r) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        *ids = r;
        *cap = c;
    }
    size_t got = 0;
    MVK_TRY(mvk_tokenize(m->tok, text, len, special ? MVK_TOK_PARSE_SPECIAL : 0, *ids + *n, *cap - *n, &got));
    *n += got;
    return MOEVK_OK;
}

moevk_status mvk_special_id(const moevk_model *m, const char *text, int32_t *id) {
    *id = mvk_tokenizer_find(m->tok, text, strlen(text));
    if (*id < 0) return mvk_fail(MOEVK_ERR_FORMAT, "the vocabulary has no '%s' token", text);
    return MOEVK_OK;
}

/* Loads and preprocesses an image for the vision tower. */
moevk_status mvk_prep_image(moevk_model *m, const char *path, const uint8_t *rgb, int w, int h, int min_t, int max_t,
                            mvk_image_prep *out) {
    mvk_image img = {0};
    moevk_status s = path ? mvk_image_load_file(path, &img) : mvk_image_from_rgb(rgb, w, h, &img);
    if (s != MOEVK_OK) return s;
    mvk_image_prep_params pp = mvk_image_prep_default_params();
    pp.patch = m->vis.hp.patch_size;
    pp.merge = m->vis.hp.spatial_merge;
    pp.min_tokens = min_t;
    pp.max_tokens = max_t;
    for (int c = 0; c < 3; c++) {
        pp.mean[c] = m->vis.hp.image_mean[c];
        pp.std[c] = m->vis.hp.image_std[c];
    }
    s = mvk_image_preprocess(&img, &pp, out);
    mvk_image_free(&img);
    return s;
}

/* Drops the parts of the user turn being composed. */
void mvk_chat_parts_clear(moevk_model *m) {
    for (int i = 0; i < m->chat.n_parts; i++) {
        free(m->chat.parts[i].text);
        mvk_image_prep_free(&m->chat.parts[i].img);
    }
    m->chat.n_parts = 0;
    m->chat.n_part_tokens = 0;
}

void mvk_chat_close(moevk_model *m) {
    mvk_chat_parts_clear(m);
    free(m->chat.system);
    m->chat.system = NULL;
    m->chat.open = m->chat.broken = m->chat.turns = m->chat.n_images = 0;
    m->chat.pending = -1;
    m->chat.pending_reasoning = 0;
    m->chat.think = 0;
}

void mvk_reset_sequence(moevk_model *m) {
    mvk_chat_close(m);
    m->seq.n_past = m->seq.swa_n = 0;
    m->seq.pos_next = 0;
    m->tel.n_routes = 0;
    mvk_text_clear(m);
    memset(&m->tel.timings, 0, sizeof m->tel.timings);
}

void mvk_text_clear(moevk_model *m) {
    m->tel.text_len = m->tel.reasoning_len = 0;
    if (m->tel.text) m->tel.text[0] = '\0';
    if (m->tel.reasoning) m->tel.reasoning[0] = '\0';
}

static moevk_status buf_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *t = realloc(*buf, c);
        if (!t) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        *buf = t;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return MOEVK_OK;
}

moevk_status mvk_text_append(moevk_model *m, const char *s, size_t n) {
    return buf_append(&m->tel.text, &m->tel.text_len, &m->tel.text_cap, s, n);
}

moevk_status mvk_reasoning_append(moevk_model *m, const char *s, size_t n) {
    return buf_append(&m->tel.reasoning, &m->tel.reasoning_len, &m->tel.reasoning_cap, s, n);
}

