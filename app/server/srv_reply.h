/* srv_reply.h — what the server sends back, as OpenAI's chat-completion JSON
 * (cJSON): the completion, the stream's server-sent events, errors, the model
 * list, and the routing (SGLang's routed_experts plus our moevk_routing). */
#ifndef MOEVK_SRV_REPLY_H
#define MOEVK_SRV_REPLY_H

#include <stddef.h>

#include "moevk.h"
#include "srv_job.h"

typedef struct srv_usage {
    int prompt_tokens;      /* the whole conversation's prompt, as the client sent it */
    int completion_tokens;  /* reasoning included */
    int reasoning_tokens;   /* of those, the reasoning's (usage.completion_tokens_details.reasoning_tokens) */
    int cached_tokens;      /* of those, reused from the KV cache (prompt cache hit) */
    int cache_hit;
    int replayed_turns;     /* earlier exchanges prefilled again (cache miss) */
    int n_image_tokens;     /* image tokens encoded by this request (0 on a cache hit) */
    double image_encode_ms, prefill_ms, decode_ms, replay_ms;
} srv_usage;

/* A stream's first event (role "assistant"); once per job, marks it streaming. */
void srv_reply_stream_begin(srv_job *j, const char *model_id);
/* A piece of the answer (delta.content) or of the reasoning (delta.reasoning_content, as llama-server's). */
void srv_reply_stream_delta(srv_job *j, const char *model_id, int reasoning, const char *text, size_t n);
/* The end: a stream's last events (finish_reason, usage when asked, routing when asked, [DONE]), or the whole
 * non-stream body (message.reasoning_content when reasoning is not NULL or ""). finish: "stop", "length" or
 * "error". */
void srv_reply_finish(srv_job *j, moevk_model *m, const char *model_id, const char *text, const char *reasoning,
                      const char *finish, const srv_usage *u);
/* {"error": {"message", "type", "param", "code"}} (malloc'd) */
char *srv_reply_error_json(const srv_error *e);
/* GET /v1/models (malloc'd) */
char *srv_reply_models_json(const char *model_id, const moevk_model_info *info, long long created);
/* the page's routing JSON (srv_worker.h); cnt: [3 kinds][L][X] */
char *srv_reply_routing_page_json(const char *id, int L, int X, const int *cnt, size_t n_tokens);

#endif
