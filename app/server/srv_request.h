/* srv_request.h — an OpenAI chat-completions request, parsed and checked
 * (srv_request.c, over cJSON). Everything a client sends is untrusted: the
 * parser enforces our limits (body, JSON depth, messages, text, images) and
 * every refusal carries an HTTP status and an OpenAI-style error (message,
 * type, param, code) that names the problem. No engine call happens here. */
#ifndef MOEVK_SRV_REQUEST_H
#define MOEVK_SRV_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/* Limits (docs/SERVER.md). */
typedef struct srv_limits {
    size_t max_body;         /* bytes of a request body (default 32 MiB) */
    int max_depth;           /* JSON nesting (default 16) */
    int max_messages;        /* messages of a request (default 256) */
    size_t max_text;         /* bytes of all text of a request (default 1 MiB) */
    int max_images;          /* images of a request (default 8) */
    size_t max_image_bytes;  /* decoded bytes of one image (default 20 MiB) */
    int max_tokens_cap;      /* largest max_tokens accepted (default 4096) */
} srv_limits;

srv_limits srv_default_limits(void);

typedef enum srv_role { SRV_ROLE_SYSTEM = 0, SRV_ROLE_USER, SRV_ROLE_ASSISTANT } srv_role;

/* One image part: the bytes of a data: URI, decoded from base64. */
typedef struct srv_image {
    uint8_t *data;
    size_t size;
    char mime[64];           /* "image/png", ... as the URI says */
    uint64_t digest;         /* FNV-1a 64 of the bytes (the prompt cache compares images by it) */
} srv_image;

/* One part of a message's content, in order: text or an image. Text parts that follow each other are joined
 * by "\n" into one, a text part after an image is not (llama-server's rule for content with media). */
typedef struct srv_part {
    char *text;              /* a text part, or NULL */
    int image;               /* else the image: req->images[image] */
} srv_part;

typedef struct srv_message {
    srv_role role;
    char *text;              /* the text parts joined by "\n" ("" if none) */
    int first_image, n_images; /* images of this message: req->images[first_image .. +n_images) */
    srv_part *parts;         /* [n_parts] the content in order (a string content: one text part) */
    int n_parts;
} srv_message;

typedef struct srv_request {
    char model[128];
    srv_message *messages;
    int n_messages;
    srv_image *images;
    int n_images;
    int stream;
    int max_tokens;          /* max_tokens / max_completion_tokens; default 256 */
    float temperature;       /* default 0.8 (llama-server's); 0: greedy */
    float top_p;             /* default 0.95 */
    int has_seed;
    uint64_t seed;
    char *stop[4];           /* up to 4 stop strings (OpenAI's limit) */
    int n_stop;
    int think;               /* chat_template_kwargs.enable_thinking / "think" (reasoning_effort "none": off):
                                1 on, 0 off, -1 not given (the server's --reasoning) */
    int reasoning_budget;    /* reasoning_budget_tokens / thinking_budget_tokens (llama-server's): -1 not given
                                (the server's --reasoning-budget), else tokens before the end tag is forced */
    int return_routing;      /* return_routed_experts (SGLang's field) or moevk.routing */
    int include_usage;       /* stream_options.include_usage */
} srv_request;

/* An error for the client: HTTP status and the OpenAI error object's fields. */
typedef struct srv_error {
    int http;                /* 400, 401, 404, 413, 503 ... */
    const char *type;        /* "invalid_request_error", ... */
    const char *code;        /* NULL or "context_length_exceeded", ... */
    char param[64];          /* "" or the offending field, e.g. "messages[2].content[1].image_url" */
    char message[512];
} srv_error;

void srv_error_set(srv_error *e, int http, const char *type, const char *code, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Parses body[0..n) into *req (zeroed first). Returns 0, or -1 with *err
 * filled (req is then freed and zeroed). */
int srv_request_parse(const char *body, size_t n, const srv_limits *lim, srv_request *req, srv_error *err);
void srv_request_free(srv_request *req);

/* Decodes a data: URI of an image ("data:image/png;base64,...") into *img.
 * Returns 0, or -1 with err (400: not a data: URI, remote URLs refused, not
 * an image type, bad base64, over the size limit). */
int srv_data_uri_decode(const char *uri, size_t max_bytes, const char *param, srv_image *img, srv_error *err);

/* Strict base64 (RFC 4648, standard alphabet, '=' padding optional at the
 * end, no whitespace): out holds at least n/4*3+3 bytes. Returns the decoded
 * length, or -1 on any character outside the alphabet or misplaced padding. */
long srv_base64_decode(const char *in, size_t n, uint8_t *out);
/* Standard base64 of in[0..n) into out (holds 4*((n+2)/3)+1 bytes, NUL-terminated). */
void srv_base64_encode(const uint8_t *in, size_t n, char *out);

#endif
