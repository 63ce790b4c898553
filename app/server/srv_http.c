/* srv_http.c — routes and request handling over libmicrohttpd (srv_http.h).
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION), at most
 * max_connections of them, each dropped after timeout_s idle seconds: a slow
 * or vanished client holds only its own thread, never the model. The model
 * runs requests one at a time behind a bounded queue (srv_worker.c); a full
 * queue answers 503 with Retry-After at once. */
#include "srv_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "srv_job.h"
#include "srv_page.h"
#include "srv_reply.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result;
#else
typedef enum MHD_Result MHD_Result;
#endif

struct srv_http {
    struct MHD_Daemon *d;
    srv_http_cfg cfg;
    srv_worker *w;
    int port;
    long long started;
};

/* per request: the body as it arrives */
typedef struct req_ctx {
    char *body;
    size_t len, cap;
    int too_large;
} req_ctx;

static MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type, char *buf, size_t n,
                           const char *retry_after) {
    struct MHD_Response *r = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static MHD_Result send_json(struct MHD_Connection *c, unsigned status, char *json) {
    if (!json) return MHD_NO;
    return send_buf(c, status, "application/json", json, strlen(json), NULL);
}

static MHD_Result send_error(struct MHD_Connection *c, const srv_error *e, const char *retry_after) {
    char *j = srv_reply_error_json(e);
    if (!j) return MHD_NO;
    return send_buf(c, (unsigned)e->http, "application/json", j, strlen(j), retry_after);
}

static MHD_Result fail(struct MHD_Connection *c, int http, const char *type, const char *code, const char *msg) {
    srv_error e;
    srv_error_set(&e, http, type, code, "", "%s", msg);
    return send_error(c, &e, NULL);
}

/* constant-time comparison of the bearer token */
static int key_ok(const srv_http *h, struct MHD_Connection *c) {
    if (!h->cfg.api_key) return 1;
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!a || strncmp(a, "Bearer ", 7)) return 0;
    const char *k = a + 7, *want = h->cfg.api_key;
    size_t nk = strlen(k), nw = strlen(want);
    unsigned diff = (unsigned)(nk ^ nw);
    for (size_t i = 0; i < nw; i++) diff |= (unsigned)(unsigned char)want[i] ^ (unsigned)(unsigned char)(i < nk ? k[i] : 0);
    return diff == 0;
}

/* the client closed its side (non-stream requests poll this while the model works) */
static int client_gone(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return 0;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return 0;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return 1;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0;
}

static void wait_ms(srv_job *j, int ms) { /* j->mu held */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&j->cv, &j->mu, &ts);
}

/* stream body: blocks (this connection's own thread) until the worker has more */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    srv_job *j = cls;
    (void)pos;
    pthread_mutex_lock(&j->mu);
    while (j->out_sent == j->out_len && j->state != SRV_JOB_DONE) wait_ms(j, 1000);
    ssize_t r;
    if (j->out_sent < j->out_len) {
        size_t n = j->out_len - j->out_sent;
        if (n > max) n = max;
        memcpy(buf, j->out + j->out_sent, n);
        j->out_sent += n;
        r = (ssize_t)n;
    } else {
        r = MHD_CONTENT_READER_END_OF_STREAM;
    }
    pthread_mutex_unlock(&j->mu);
    return r;
}

/* the stream's response is gone (finished, or the client went away): cancel and let go */
static void stream_free(void *cls) {
    srv_job *j = cls;
    pthread_mutex_lock(&j->mu);
    if (j->state != SRV_JOB_DONE) j->cancelled = 1;
    pthread_mutex_unlock(&j->mu);
    srv_job_release(j);
}

static MHD_Result chat_completions(srv_http *h, struct MHD_Connection *c, req_ctx *rc) {
    srv_request req;
    srv_error err;
    if (srv_request_parse(rc->body ? rc->body : "", rc->len, &h->cfg.limits, &req, &err)) return send_error(c, &err, NULL);
    const int stream = req.stream;
    srv_job *j = srv_job_new(&req);
    if (!j) {
        srv_request_free(&req);
        return fail(c, 500, "server_error", NULL, "out of memory");
    }
    if (srv_worker_submit(h->w, j)) {
        srv_job_release(j);
        srv_job_release(j);
        srv_error_set(&err, 503, "server_error", "server_busy", "",
                      "the server is busy: %d requests are queued or running; retry later", srv_worker_load(h->w));
        return send_error(c, &err, "1");
    }
    /* wait until the answer (non-stream) or its first bytes (stream) are there; a client that
     * hangs up meanwhile cancels the job */
    pthread_mutex_lock(&j->mu);
    for (;;) {
        if (j->state == SRV_JOB_DONE || (stream && j->state == SRV_JOB_STREAMING)) break;
        wait_ms(j, 250);
        if (!j->cancelled && client_gone(c)) j->cancelled = 1;
        if (j->cancelled && j->state == SRV_JOB_QUEUED) break; /* the worker will skip it */
    }
    int cancelled = j->cancelled, failed = j->err.http != 0;
    srv_error e = j->err;
    pthread_mutex_unlock(&j->mu);
    if (cancelled && !stream) {
        srv_job_release(j);
        return MHD_NO; /* nobody to answer */
    }
    if (failed) {
        srv_job_release(j);
        return send_error(c, &e, NULL);
    }
    if (!stream) {
        pthread_mutex_lock(&j->mu);
        char *body = j->out;
        size_t n = j->out_len;
        j->out = NULL;
        j->out_len = j->out_cap = 0;
        pthread_mutex_unlock(&j->mu);
        srv_job_release(j);
        if (!body) return fail(c, 500, "server_error", NULL, "no answer was produced");
        return send_buf(c, 200, "application/json", body, n, NULL);
    }
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, j, stream_free);
    if (!r) {
        stream_free(j);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

static MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
                          const char *upload, size_t *upload_size, void **con_cls) {
    srv_http *h = cls;
    (void)version;
    req_ctx *rc = *con_cls;
    if (!rc) { /* first call: headers only */
        rc = calloc(1, sizeof *rc);
        if (!rc) return MHD_NO;
        *con_cls = rc;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > h->cfg.limits.max_body) rc->too_large = 1;
        return MHD_YES;
    }
    if (*upload_size) { /* the body, in pieces */
        if (!rc->too_large && rc->len + *upload_size > h->cfg.limits.max_body) rc->too_large = 1;
        if (!rc->too_large) {
            if (rc->len + *upload_size + 1 > rc->cap) {
                size_t cap = rc->cap ? rc->cap : 65536;
                while (cap < rc->len + *upload_size + 1) cap *= 2;
                char *b = realloc(rc->body, cap);
                if (!b) return MHD_NO;
                rc->body = b;
                rc->cap = cap;
            }
            memcpy(rc->body + rc->len, upload, *upload_size);
            rc->len += *upload_size;
            rc->body[rc->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (!strcmp(url, "/health")) {
        if (strcmp(method, "GET")) return fail(c, 405, "invalid_request_error", NULL, "use GET /health");
        moevk_model_info in;
        int load = 0;
        long long done = 0;
        srv_worker_get_info(h->w, &in, &load, &done);
        char *b = malloc(256);
        if (!b) return MHD_NO;
        snprintf(b, 256, "{\"status\":\"ok\",\"requests_waiting\":%d,\"requests_done\":%lld,\"device_bytes\":%llu}",
                 load, done, (unsigned long long)in.device_bytes);
        return send_json(c, 200, b);
    }
    if (!key_ok(h, c))
        return fail(c, 401, "authentication_error", "invalid_api_key", "a valid 'Authorization: Bearer KEY' header is required");
    if (!strcmp(url, "/v1/chat/completions")) {
        if (strcmp(method, "POST")) return fail(c, 405, "invalid_request_error", NULL, "use POST /v1/chat/completions");
        if (rc->too_large) {
            srv_error e;
            srv_error_set(&e, 413, "invalid_request_error", "body_too_large", "", "the body is over the limit of %zu bytes",
                          h->cfg.limits.max_body);
            return send_error(c, &e, NULL);
        }
        return chat_completions(h, c, rc);
    }
    if (strcmp(method, "GET")) return fail(c, 404, "invalid_request_error", "not_found", "no such route");
    if (!strcmp(url, "/v1/models")) {
        moevk_model_info in;
        srv_worker_get_info(h->w, &in, NULL, NULL);
        return send_json(c, 200, srv_reply_models_json(srv_worker_model_id(h->w), &in, h->started));
    }
    if (!strcmp(url, "/v1/moevk/routing/last")) return send_json(c, 200, srv_worker_last_routing(h->w));
    if (!strcmp(url, "/")) {
        char *page = strdup(srv_page_html);
        if (!page) return MHD_NO;
        return send_buf(c, 200, "text/html; charset=utf-8", page, strlen(page), NULL);
    }
    return fail(c, 404, "invalid_request_error", "not_found", "no such route (POST /v1/chat/completions, GET /v1/models, /health, /)");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls, (void)c, (void)toe;
    req_ctx *rc = *con_cls;
    if (rc) {
        free(rc->body);
        free(rc);
        *con_cls = NULL;
    }
}

srv_http *srv_http_start(const srv_http_cfg *cfg, srv_worker *w, char *err, size_t err_cap) {
    srv_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    h->w = w;
    h->started = (long long)time(NULL);
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    const char *host = cfg->host && strcmp(cfg->host, "localhost") ? cfg->host : "127.0.0.1";
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->port);
        sa = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->port);
        sa = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, err_cap, "--host '%s' is not an IPv4 or IPv6 address (e.g. 127.0.0.1, 0.0.0.0, ::1)", host);
        free(h);
        return NULL;
    }
    h->d = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR, sa,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)(cfg->max_connections > 0 ? cfg->max_connections : 64),
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->timeout_s > 0 ? cfg->timeout_s : 60),
                            MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, err_cap, "cannot listen on %s:%d (%s)", host, cfg->port, errno ? strerror(errno) : "port in use?");
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : cfg->port;
    return h;
}

void srv_http_stop(srv_http *h) {
    if (!h) return;
    MHD_stop_daemon(h->d);
    free(h);
}

int srv_http_port(const srv_http *h) { return h->port; }
