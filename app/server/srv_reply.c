/* srv_reply.c — response bodies (srv_reply.h), built with cJSON so every
 * string is escaped by the library, never by hand. */
#include "srv_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "srv_request.h"

static void emit_json(srv_job *j, cJSON *o, int sse) {
    char *s = cJSON_PrintUnformatted(o);
    if (!s) return;
    if (sse) srv_job_emit(j, "data: ", 6);
    srv_job_emit(j, s, strlen(s));
    if (sse) srv_job_emit(j, "\n\n", 2);
    free(s);
}

static cJSON *chunk(srv_job *j, const char *model_id) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
    cJSON_AddNumberToObject(o, "created", (double)j->created);
    cJSON_AddStringToObject(o, "model", model_id);
    return o;
}

static cJSON *choice(cJSON *o, const char *what) {
    cJSON *arr = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, c);
    cJSON_AddNumberToObject(c, "index", 0);
    return cJSON_AddObjectToObject(c, what);
}

void srv_reply_stream_begin(srv_job *j, const char *model_id) {
    pthread_mutex_lock(&j->mu);
    int first = j->state < SRV_JOB_STREAMING;
    pthread_mutex_unlock(&j->mu);
    if (!first) return;
    cJSON *o = chunk(j, model_id);
    cJSON *d = choice(o, "delta");
    cJSON_AddStringToObject(d, "role", "assistant");
    cJSON_AddStringToObject(d, "content", "");
    cJSON_AddNullToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0), "finish_reason");
    emit_json(j, o, 1);
    cJSON_Delete(o);
    srv_job_set_state(j, SRV_JOB_STREAMING);
}

void srv_reply_stream_delta(srv_job *j, const char *model_id, int reasoning, const char *text, size_t n) {
    srv_reply_stream_begin(j, model_id);
    char *t = malloc(n + 1);
    if (!t) return;
    memcpy(t, text, n);
    t[n] = '\0';
    cJSON *o = chunk(j, model_id);
    cJSON *d = choice(o, "delta");
    cJSON_AddStringToObject(d, reasoning ? "reasoning_content" : "content", t);
    cJSON_AddNullToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0), "finish_reason");
    emit_json(j, o, 1);
    cJSON_Delete(o);
    free(t);
}

static cJSON *usage_json(const srv_usage *u) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "prompt_tokens", u->prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens", u->completion_tokens);
    cJSON_AddNumberToObject(o, "total_tokens", u->prompt_tokens + u->completion_tokens);
    cJSON *d = cJSON_AddObjectToObject(o, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", u->cached_tokens);
    cJSON *c = cJSON_AddObjectToObject(o, "completion_tokens_details");
    cJSON_AddNumberToObject(c, "reasoning_tokens", u->reasoning_tokens);
    return o;
}

static cJSON *timings_json(const srv_usage *u) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "cache_hit", u->cache_hit);
    cJSON_AddNumberToObject(o, "cached_tokens", u->cached_tokens);
    cJSON_AddNumberToObject(o, "replayed_turns", u->replayed_turns);
    cJSON_AddNumberToObject(o, "image_tokens", u->n_image_tokens);
    cJSON_AddNumberToObject(o, "image_encode_ms", u->image_encode_ms);
    cJSON_AddNumberToObject(o, "replay_ms", u->replay_ms);
    cJSON_AddNumberToObject(o, "prompt_ms", u->prefill_ms);
    cJSON_AddNumberToObject(o, "predicted_ms", u->decode_ms);
    return o;
}

/* routed_experts (SGLang: base64 int32 [tokens][layers][top_k]) and moevk_routing (weights, kinds) */
static void add_routing(cJSON *o, moevk_model *m) {
    moevk_model_info in;
    if (moevk_model_get_info(m, &in) != MOEVK_OK || in.n_moe_layers <= 0 || in.n_expert_used <= 0) {
        cJSON_AddNullToObject(o, "routed_experts");
        return;
    }
    const size_t L = (size_t)in.n_moe_layers, K = (size_t)in.n_expert_used, S = L * K, n = moevk_routing_count(m);
    int32_t *ids = malloc((n ? n : 1) * S * sizeof *ids);
    float *w = malloc((n ? n : 1) * S * sizeof *w);
    char *b_ids = malloc(4 * ((n * S * 4 + 2) / 3) + 1), *b_w = malloc(4 * ((n * S * 4 + 2) / 3) + 1);
    cJSON *kinds = cJSON_CreateArray();
    if (!ids || !w || !b_ids || !b_w) goto done;
    for (size_t i = 0; i < n; i++) {
        moevk_token_route r;
        if (moevk_routing_get(m, i, &r, ids + i * S, w + i * S, S) != MOEVK_OK) goto done;
        char img[24];
        snprintf(img, sizeof img, "image%d", (int)r.image); /* the conversation's image the token belongs to */
        const char *k = r.kind == MOEVK_TOKEN_IMAGE    ? img
                        : r.kind == MOEVK_TOKEN_PROMPT ? "text"
                        : r.reasoning                  ? "reasoning" /* a generated token of the reasoning */
                                                       : "generated";
        cJSON_AddItemToArray(kinds, cJSON_CreateString(k));
    }
    srv_base64_encode((const uint8_t *)ids, n * S * 4, b_ids);
    srv_base64_encode((const uint8_t *)w, n * S * 4, b_w);
    cJSON_AddStringToObject(o, "routed_experts", b_ids);
    cJSON *mr = cJSON_AddObjectToObject(o, "moevk_routing");
    cJSON_AddNumberToObject(mr, "n_tokens", (double)n);
    cJSON_AddNumberToObject(mr, "n_layers", (double)L);
    cJSON_AddNumberToObject(mr, "top_k", (double)K);
    cJSON_AddNumberToObject(mr, "n_expert", in.n_expert);
    cJSON_AddStringToObject(mr, "weights", b_w);
    cJSON_AddItemToObject(mr, "kinds", kinds);
    kinds = NULL;
done:
    cJSON_Delete(kinds);
    free(ids);
    free(w);
    free(b_ids);
    free(b_w);
}

void srv_reply_finish(srv_job *j, moevk_model *m, const char *model_id, const char *text, const char *reasoning,
                      const char *finish, const srv_usage *u) {
    const srv_request *q = &j->req;
    if (q->stream) {
        srv_reply_stream_begin(j, model_id);
        cJSON *o = chunk(j, model_id);
        choice(o, "delta");
        cJSON_AddStringToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0), "finish_reason", finish);
        cJSON_AddItemToObject(o, "timings", timings_json(u));
        if (q->return_routing) add_routing(o, m);
        emit_json(j, o, 1);
        cJSON_Delete(o);
        if (q->include_usage) {
            o = chunk(j, model_id);
            cJSON_AddArrayToObject(o, "choices");
            cJSON_AddItemToObject(o, "usage", usage_json(u));
            emit_json(j, o, 1);
            cJSON_Delete(o);
        }
        srv_job_emit(j, "data: [DONE]\n\n", 14);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "object", "chat.completion");
    cJSON_AddNumberToObject(o, "created", (double)j->created);
    cJSON_AddStringToObject(o, "model", model_id);
    cJSON *msg = choice(o, "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    cJSON_AddStringToObject(msg, "content", text);
    if (reasoning && reasoning[0]) cJSON_AddStringToObject(msg, "reasoning_content", reasoning);
    cJSON_AddStringToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0), "finish_reason", finish);
    cJSON_AddItemToObject(o, "usage", usage_json(u));
    cJSON_AddItemToObject(o, "timings", timings_json(u));
    if (q->return_routing) add_routing(o, m);
    emit_json(j, o, 0);
    cJSON_Delete(o);
}

char *srv_reply_error_json(const srv_error *e) {
    cJSON *o = cJSON_CreateObject();
    cJSON *er = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(er, "message", e->message);
    cJSON_AddStringToObject(er, "type", e->type ? e->type : "invalid_request_error");
    if (e->param[0]) cJSON_AddStringToObject(er, "param", e->param);
    else cJSON_AddNullToObject(er, "param");
    if (e->code) cJSON_AddStringToObject(er, "code", e->code);
    else cJSON_AddNullToObject(er, "code");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *srv_reply_models_json(const char *model_id, const moevk_model_info *info, long long created) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(o, "data");
    cJSON *mo = cJSON_CreateObject();
    cJSON_AddItemToArray(data, mo);
    cJSON_AddStringToObject(mo, "id", model_id);
    cJSON_AddStringToObject(mo, "object", "model");
    cJSON_AddNumberToObject(mo, "created", (double)created);
    cJSON_AddStringToObject(mo, "owned_by", "moevk");
    cJSON *meta = cJSON_AddObjectToObject(mo, "meta");
    cJSON_AddStringToObject(meta, "arch", info->arch);
    cJSON_AddStringToObject(meta, "name", info->name);
    cJSON_AddNumberToObject(meta, "n_ctx", info->n_ctx);
    cJSON_AddNumberToObject(meta, "n_layer", info->n_layer);
    cJSON_AddNumberToObject(meta, "n_expert", info->n_expert);
    cJSON_AddNumberToObject(meta, "n_expert_used", info->n_expert_used);
    cJSON_AddBoolToObject(meta, "vision", info->has_vision);
    cJSON_AddBoolToObject(meta, "thinking", info->thinking); /* the template has a thinking mode */
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *srv_reply_routing_page_json(const char *id, int L, int X, const int *cnt, size_t n_tokens) {
    static const char *const names[3] = {"image", "text", "generated"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddNumberToObject(o, "n_layers", L);
    cJSON_AddNumberToObject(o, "n_expert", X);
    cJSON_AddNumberToObject(o, "n_tokens", (double)n_tokens);
    cJSON *kinds = cJSON_AddObjectToObject(o, "kinds");
    for (int k = 0; k < 3; k++) {
        cJSON *rows = cJSON_AddArrayToObject(kinds, names[k]);
        for (int l = 0; l < L; l++) cJSON_AddItemToArray(rows, cJSON_CreateIntArray(cnt + ((size_t)k * L + l) * X, X));
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
