/* fuzz_request.c — libFuzzer harness: bytes as the body of POST
 * /v1/chat/completions through srv_request_parse (app/server/srv_request.c:
 * cJSON, our shape checks and limits, data: URIs and base64), with small
 * limits so the limit paths are reached too. Checks: a refusal names an HTTP
 * status in 400..599 and a message; an accepted request satisfies what the
 * worker relies on (a last user message, images inside the array, sizes
 * within the limits). */
#include <stdint.h>
#include <string.h>

#include "srv_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    srv_limits lim = srv_default_limits();
    lim.max_body = 1 << 16;
    lim.max_messages = 8;
    lim.max_images = 2;
    lim.max_image_bytes = 4096;
    lim.max_text = 8192;
    srv_request r;
    srv_error e;
    if (srv_request_parse((const char *)data, size, &lim, &r, &e)) {
        if (e.http < 400 || e.http > 599 || !e.message[0]) __builtin_trap();
        return 0;
    }
    if (r.n_messages < 1 || r.n_messages > lim.max_messages || r.messages[r.n_messages - 1].role != SRV_ROLE_USER)
        __builtin_trap();
    if (r.n_images > lim.max_images || r.max_tokens < 1 || r.max_tokens > lim.max_tokens_cap || r.n_stop > 4) __builtin_trap();
    int seen = 0;
    for (int i = 0; i < r.n_messages; i++) {
        const srv_message *m = &r.messages[i];
        if (!m->text || m->first_image < 0 || m->first_image + m->n_images > r.n_images) __builtin_trap();
        seen += m->n_images;
    }
    if (seen != r.n_images) __builtin_trap();
    for (int i = 0; i < r.n_images; i++)
        if (!r.images[i].data || r.images[i].size > lim.max_image_bytes) __builtin_trap();
    srv_request_free(&r);
    return 0;
}
