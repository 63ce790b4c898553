/* srv_http.h — the HTTP side of `moevk serve` on libmicrohttpd (Debian
 * libmicrohttpd12): routes, bearer-token auth, body limits, the handing of a
 * request to the model worker and of its answer (JSON or server-sent events)
 * back to the client; a client that goes away cancels its generation. */
#ifndef MOEVK_SRV_HTTP_H
#define MOEVK_SRV_HTTP_H

#include "srv_request.h"
#include "srv_worker.h"

typedef struct srv_http_cfg {
    const char *host;        /* "127.0.0.1" (default), "0.0.0.0", "::1", ... */
    int port;                /* 8080 */
    const char *api_key;     /* NULL: no auth */
    srv_limits limits;
    int max_connections;     /* 64 */
    int timeout_s;           /* idle seconds before a connection is dropped (60) */
} srv_http_cfg;

typedef struct srv_http srv_http;

/* Starts listening; NULL with a message in err on failure (port taken, bad host). */
srv_http *srv_http_start(const srv_http_cfg *cfg, srv_worker *w, char *err, size_t err_cap);
void srv_http_stop(srv_http *h);
/* the port actually bound (cfg.port 0 picks a free one) */
int srv_http_port(const srv_http *h);

#endif
