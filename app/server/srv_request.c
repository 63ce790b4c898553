/* srv_request.c — the OpenAI chat-completions request (srv_request.h) through
 * cJSON (Debian libcjson): shapes checked field by field, our limits applied,
 * images taken from data: URIs only (the server fetches nothing). */
#include "srv_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

srv_limits srv_default_limits(void) {
    srv_limits l = {32u << 20, 16, 256, 1u << 20, 8, 20u << 20, 4096};
    return l;
}

void srv_error_set(srv_error *e, int http, const char *type, const char *code, const char *param, const char *fmt, ...) {
    e->http = http;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

#define BAD(param, ...) (srv_error_set(err, 400, "invalid_request_error", NULL, param, __VA_ARGS__), -1)

/* ---------------------------------------------------------------- base64 */

static int b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

long srv_base64_decode(const char *in, size_t n, uint8_t *out) {
    size_t pad = 0;
    while (pad < 2 && n > pad && in[n - 1 - pad] == '=') pad++;
    const size_t m = n - pad; /* characters carrying bits */
    if ((pad && n % 4) || m % 4 == 1) return -1;
    long o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < m; i++) {
        int v = b64_val((unsigned char)in[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) return -1; /* leftover bits must be zero (canonical encoding) */
    return o;
}

void srv_base64_encode(const uint8_t *in, size_t n, char *out) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18], out[o++] = a[(v >> 12) & 63], out[o++] = a[(v >> 6) & 63], out[o++] = a[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = a[v >> 18], out[o++] = a[(v >> 12) & 63];
        out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

static uint64_t fnv1a(const uint8_t *d, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 1099511628211ull;
    return h;
}

int srv_data_uri_decode(const char *uri, size_t max_bytes, const char *param, srv_image *img, srv_error *err) {
    memset(img, 0, sizeof *img);
    if (!strncmp(uri, "http://", 7) || !strncmp(uri, "https://", 8) || !strncmp(uri, "file:", 5))
        return BAD(param, "image URLs are not fetched (the server fetches nothing): send the image as a data: URI "
                          "(data:image/png;base64,...)");
    if (strncmp(uri, "data:", 5)) return BAD(param, "an image_url must be a data: URI (data:image/png;base64,...)");
    const char *comma = strchr(uri, ',');
    if (!comma) return BAD(param, "malformed data: URI (no comma)");
    const char *meta = uri + 5;
    size_t meta_n = (size_t)(comma - meta);
    if (meta_n < 7 || meta_n > 100 || memcmp(meta + meta_n - 7, ";base64", 7))
        return BAD(param, "a data: URI image must be base64 (data:image/...;base64,...)");
    size_t mime_n = meta_n - 7;
    if (mime_n >= sizeof img->mime || strncmp(meta, "image/", 6))
        return BAD(param, "the data: URI is not an image (media type '%.*s')", (int)(mime_n < 60 ? mime_n : 60), meta);
    memcpy(img->mime, meta, mime_n);
    img->mime[mime_n] = '\0';
    const char *b = comma + 1;
    size_t bn = strlen(b);
    if (bn == 0) return BAD(param, "the data: URI holds no bytes");
    if (bn / 4 * 3 > max_bytes + 3)
        return (srv_error_set(err, 413, "invalid_request_error", "image_too_large", param,
                              "image of about %zu bytes is over the limit of %zu bytes", bn / 4 * 3, max_bytes), -1);
    img->data = malloc(bn / 4 * 3 + 3);
    if (!img->data) return (srv_error_set(err, 500, "server_error", NULL, param, "out of memory decoding an image"), -1);
    long got = srv_base64_decode(b, bn, img->data);
    if (got < 0) {
        free(img->data);
        img->data = NULL;
        return BAD(param, "the image's base64 is malformed");
    }
    if ((size_t)got > max_bytes) {
        free(img->data);
        img->data = NULL;
        return (srv_error_set(err, 413, "invalid_request_error", "image_too_large", param,
                              "image of %ld bytes is over the limit of %zu bytes", got, max_bytes), -1);
    }
    img->size = (size_t)got;
    img->digest = fnv1a(img->data, img->size);
    return 0;
}

/* ---------------------------------------------------------------- request */

static int depth_of(const cJSON *j) {
    int d = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
        int k = depth_of(c);
        if (k > d) d = k;
    }
    return d + 1;
}

static int append_text(char **dst, const char *s, size_t *total, size_t max_total, srv_error *err, const char *param) {
    size_t a = *dst ? strlen(*dst) : 0, b = strlen(s);
    *total += b;
    if (*total > max_total)
        return (srv_error_set(err, 413, "invalid_request_error", "text_too_large", param,
                              "the messages hold more than %zu bytes of text", max_total), -1);
    char *n = realloc(*dst, a + b + 2);
    if (!n) return (srv_error_set(err, 500, "server_error", NULL, param, "out of memory"), -1);
    if (a) n[a++] = '\n';
    memcpy(n + a, s, b + 1);
    *dst = n;
    return 0;
}

/* Appends a part to msg: text joins a text part before it with "\n"; image < 0 for text. */
static int push_part(srv_message *msg, const char *text, int image, srv_error *err, const char *param) {
    srv_part *last = msg->n_parts ? &msg->parts[msg->n_parts - 1] : NULL;
    if (text && last && last->text) {
        size_t a = strlen(last->text), b = strlen(text);
        char *n = realloc(last->text, a + b + 2);
        if (!n) return (srv_error_set(err, 500, "server_error", NULL, param, "out of memory"), -1);
        n[a] = '\n';
        memcpy(n + a + 1, text, b + 1);
        last->text = n;
        return 0;
    }
    srv_part *np = realloc(msg->parts, (size_t)(msg->n_parts + 1) * sizeof *np);
    if (!np) return (srv_error_set(err, 500, "server_error", NULL, param, "out of memory"), -1);
    msg->parts = np;
    np[msg->n_parts] = (srv_part){NULL, image};
    if (text && !(np[msg->n_parts].text = strdup(text)))
        return (srv_error_set(err, 500, "server_error", NULL, param, "out of memory"), -1);
    msg->n_parts++;
    return 0;
}

static int parse_content(const cJSON *content, int mi, srv_request *req, const srv_limits *lim, size_t *text_total,
                         srv_error *err) {
    srv_message *msg = &req->messages[mi];
    char param[64];
    snprintf(param, sizeof param, "messages[%d].content", mi);
    msg->first_image = req->n_images;
    if (cJSON_IsNull(content)) return 0;
    if (cJSON_IsString(content))
        return append_text(&msg->text, content->valuestring, text_total, lim->max_text, err, param) ||
               push_part(msg, content->valuestring, -1, err, param);
    if (!cJSON_IsArray(content)) return BAD(param, "content must be a string or an array of parts");
    int pi = 0;
    for (const cJSON *part = content->child; part; part = part->next, pi++) {
        snprintf(param, sizeof param, "messages[%d].content[%d]", mi, pi);
        if (!cJSON_IsObject(part)) return BAD(param, "a content part must be an object");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (!cJSON_IsString(type)) return BAD(param, "a content part needs a string 'type'");
        if (!strcmp(type->valuestring, "text")) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (!cJSON_IsString(t)) return BAD(param, "a text part needs a string 'text'");
            if (append_text(&msg->text, t->valuestring, text_total, lim->max_text, err, param) ||
                push_part(msg, t->valuestring, -1, err, param))
                return -1;
        } else if (!strcmp(type->valuestring, "image_url")) {
            if (msg->role != SRV_ROLE_USER) return BAD(param, "only user messages may hold images");
            const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
            const cJSON *url = cJSON_IsObject(iu) ? cJSON_GetObjectItemCaseSensitive(iu, "url") : iu;
            if (!cJSON_IsString(url)) return BAD(param, "an image_url part needs image_url.url (a string)");
            if (req->n_images >= lim->max_images)
                return BAD(param, "more than %d images in one request", lim->max_images);
            srv_image *im = realloc(req->images, (size_t)(req->n_images + 1) * sizeof *im);
            if (!im) return (srv_error_set(err, 500, "server_error", NULL, param, "out of memory"), -1);
            req->images = im;
            strncat(param, ".image_url", sizeof param - strlen(param) - 1);
            if (srv_data_uri_decode(url->valuestring, lim->max_image_bytes, param, &req->images[req->n_images], err))
                return -1;
            req->n_images++;
            msg->n_images++;
            if (push_part(msg, NULL, req->n_images - 1, err, param)) return -1;
        } else {
            return BAD(param, "unsupported content part type '%.40s' (text and image_url are)", type->valuestring);
        }
    }
    return 0;
}

static int get_number(const cJSON *root, const char *key, double lo, double hi, double *out, srv_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v)) return BAD(key, "'%s' must be a number", key);
    if (!(v->valuedouble >= lo && v->valuedouble <= hi)) return BAD(key, "'%s' must be within [%g, %g]", key, lo, hi);
    *out = v->valuedouble;
    return 1;
}

static int get_bool(const cJSON *root, const char *key, int *out, srv_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) return BAD(key, "'%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 1;
}

static int parse_root(const cJSON *root, const srv_limits *lim, srv_request *req, srv_error *err) {
    if (!cJSON_IsObject(root)) return BAD("", "the request body must be a JSON object");
    if (depth_of(root) > lim->max_depth) return BAD("", "the JSON nests deeper than %d levels", lim->max_depth);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && !cJSON_IsNull(model)) {
        if (!cJSON_IsString(model)) return BAD("model", "'model' must be a string");
        snprintf(req->model, sizeof req->model, "%s", model->valuestring);
    }
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!cJSON_IsArray(msgs)) return BAD("messages", "'messages' (an array) is required");
    int n = cJSON_GetArraySize(msgs);
    if (n == 0) return BAD("messages", "'messages' is empty");
    if (n > lim->max_messages) return BAD("messages", "more than %d messages", lim->max_messages);
    req->messages = calloc((size_t)n, sizeof *req->messages);
    if (!req->messages) return (srv_error_set(err, 500, "server_error", NULL, "messages", "out of memory"), -1);
    size_t text_total = 0;
    int mi = 0;
    for (const cJSON *m = msgs->child; m; m = m->next, mi++) {
        char param[64];
        snprintf(param, sizeof param, "messages[%d]", mi);
        if (!cJSON_IsObject(m)) return BAD(param, "a message must be an object");
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role)) return BAD(param, "a message needs a string 'role'");
        srv_role r;
        if (!strcmp(role->valuestring, "system") || !strcmp(role->valuestring, "developer")) r = SRV_ROLE_SYSTEM;
        else if (!strcmp(role->valuestring, "user")) r = SRV_ROLE_USER;
        else if (!strcmp(role->valuestring, "assistant")) r = SRV_ROLE_ASSISTANT;
        else return BAD(param, "unsupported role '%.32s' (system, user and assistant are)", role->valuestring);
        req->messages[mi].role = r;
        req->n_messages = mi + 1;
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!content) return BAD(param, "a message needs 'content'");
        if (parse_content(content, mi, req, lim, &text_total, err)) return -1;
        if (!req->messages[mi].text) {
            req->messages[mi].text = calloc(1, 1);
            if (!req->messages[mi].text) return (srv_error_set(err, 500, "server_error", NULL, param, "out of memory"), -1);
        }
    }
    if (req->messages[n - 1].role != SRV_ROLE_USER) return BAD("messages", "the last message must be the user's");
    double v;
    int r;
    req->max_tokens = 256;
    if ((r = get_number(root, "max_completion_tokens", 1, lim->max_tokens_cap, &v, err)) < 0) return -1;
    if (r) req->max_tokens = (int)v;
    if ((r = get_number(root, "max_tokens", 1, lim->max_tokens_cap, &v, err)) < 0) return -1;
    if (r) req->max_tokens = (int)v;
    req->temperature = 0.8f; /* llama-server's defaults */
    req->top_p = 0.95f;
    if ((r = get_number(root, "temperature", 0, 2, &v, err)) < 0) return -1;
    if (r) req->temperature = (float)v;
    if ((r = get_number(root, "top_p", 0, 1, &v, err)) < 0) return -1;
    if (r) req->top_p = (float)v;
    if ((r = get_number(root, "seed", -9.2e18, 9.2e18, &v, err)) < 0) return -1;
    if (r) req->has_seed = 1, req->seed = (uint64_t)(int64_t)v;
    if (get_bool(root, "stream", &req->stream, err) < 0) return -1;
    if (get_bool(root, "return_routed_experts", &req->return_routing, err) < 0) return -1;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (cJSON_IsObject(so) && get_bool(so, "include_usage", &req->include_usage, err) < 0) return -1;
    /* thinking, as llama-server reads it: enable_thinking, then reasoning_effort "none" turns it off */
    req->think = -1;
    if (get_bool(root, "think", &req->think, err) < 0) return -1;
    const cJSON *kw = cJSON_GetObjectItemCaseSensitive(root, "chat_template_kwargs");
    if (cJSON_IsObject(kw) && get_bool(kw, "enable_thinking", &req->think, err) < 0) return -1;
    const cJSON *effort = cJSON_GetObjectItemCaseSensitive(root, "reasoning_effort");
    if (effort && !cJSON_IsNull(effort)) {
        if (!cJSON_IsString(effort)) return BAD("reasoning_effort", "'reasoning_effort' must be a string");
        if (!strcmp(effort->valuestring, "none")) req->think = 0;
    }
    req->reasoning_budget = -1;
    for (int b = 0; b < 2; b++) {
        const char *key = b ? "reasoning_budget_tokens" : "thinking_budget_tokens"; /* the second wins, as in llama-server */
        if ((r = get_number(root, key, -1, lim->max_tokens_cap, &v, err)) < 0) return -1;
        if (r && v != (int)v) return BAD(key, "'%s' must be an integer", key);
        if (r) req->reasoning_budget = (int)v;
    }
    const cJSON *mv = cJSON_GetObjectItemCaseSensitive(root, "moevk");
    if (mv && !cJSON_IsNull(mv)) {
        if (!cJSON_IsObject(mv)) return BAD("moevk", "'moevk' must be an object");
        if (get_bool(mv, "routing", &req->return_routing, err) < 0) return -1;
    }
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (stop && !cJSON_IsNull(stop)) {
        if (cJSON_IsString(stop)) {
            if (strlen(stop->valuestring) > 256) return BAD("stop", "a stop sequence is longer than 256 bytes");
            if (stop->valuestring[0] && !(req->stop[req->n_stop++] = strdup(stop->valuestring)))
                return (srv_error_set(err, 500, "server_error", NULL, "stop", "out of memory"), -1);
        } else if (cJSON_IsArray(stop)) {
            if (cJSON_GetArraySize(stop) > 4) return BAD("stop", "at most 4 stop sequences");
            for (const cJSON *s = stop->child; s; s = s->next) {
                if (!cJSON_IsString(s)) return BAD("stop", "stop sequences must be strings");
                if (strlen(s->valuestring) > 256) return BAD("stop", "a stop sequence is longer than 256 bytes");
                if (s->valuestring[0] && !(req->stop[req->n_stop++] = strdup(s->valuestring)))
                    return (srv_error_set(err, 500, "server_error", NULL, "stop", "out of memory"), -1);
            }
        } else {
            return BAD("stop", "'stop' must be a string or an array of strings");
        }
    }
    const cJSON *n_choices = cJSON_GetObjectItemCaseSensitive(root, "n");
    if (n_choices && !cJSON_IsNull(n_choices) && !(cJSON_IsNumber(n_choices) && n_choices->valuedouble == 1))
        return BAD("n", "only n = 1 is supported");
    return 0;
}

int srv_request_parse(const char *body, size_t n, const srv_limits *lim, srv_request *req, srv_error *err) {
    memset(req, 0, sizeof *req);
    memset(err, 0, sizeof *err);
    srv_limits dl = lim ? *lim : srv_default_limits();
    if (n > dl.max_body) {
        srv_error_set(err, 413, "invalid_request_error", "body_too_large", "", "the body of %zu bytes is over the limit of %zu bytes",
                      n, dl.max_body);
        return -1;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, n, &end, 0);
    if (!root) {
        size_t at = end && end >= body && end <= body + n ? (size_t)(end - body) : 0;
        srv_error_set(err, 400, "invalid_request_error", "invalid_json", "", "the body is not valid JSON (error near byte %zu)", at);
        return -1;
    }
    int r = parse_root(root, &dl, req, err);
    cJSON_Delete(root);
    if (r) srv_request_free(req);
    return r;
}

void srv_request_free(srv_request *req) {
    if (!req) return;
    for (int i = 0; i < req->n_messages; i++) {
        free(req->messages[i].text);
        for (int j = 0; j < req->messages[i].n_parts; j++) free(req->messages[i].parts[j].text);
        free(req->messages[i].parts);
    }
    free(req->messages);
    for (int i = 0; i < req->n_images; i++) free(req->images[i].data);
    free(req->images);
    for (int i = 0; i < req->n_stop; i++) free(req->stop[i]);
    memset(req, 0, sizeof *req);
}
