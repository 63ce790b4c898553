/* cmd_serve.c — `moevk serve`: the OpenAI-compatible server (app/server/,
 * docs/SERVER.md). Loads the model, listens, and runs until SIGINT/SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "moevk.h"
#include "srv_http.h"
#include "srv_worker.h"
#include "lavapipe_threads.h"

static void usage(FILE *f) {
    srv_limits l = srv_default_limits();
    fprintf(f,
            "usage: moevk serve -m TEXT.gguf [--mmproj MMPROJ.gguf] [--host 127.0.0.1] [--port 8080] [-c N] [--api-key KEY]\n\n"
            "An OpenAI-compatible HTTP server (flags as llama-server's): POST /v1/chat/completions (text and\n"
            "image_url parts as data: URIs, \"stream\": true for server-sent events), GET /v1/models, GET /health,\n"
            "and a page at / with the last request's layers x experts heatmap. Requests run one at a time;\n"
            "a follow-up that repeats the conversation so far continues from the KV cache (the image is not\n"
            "encoded again). \"return_routed_experts\": true adds the routing of every token. docs/SERVER.md\n"
            "describes every endpoint, field and limit.\n\n"
            "model:\n"
            "  -m, --model FILE          text GGUF\n"
            "  --mmproj FILE             vision projector GGUF (images need it)\n"
            "  -c, --ctx-size N          KV cache length (default 4096, capped by the model)\n"
            "  -ub, --ubatch-size N      prefill micro-batch in tokens: the scratch memory's size (default 512)\n"
            "  --device NAME|INDEX       Vulkan device (default: $MOEVK_DEVICE or the best)\n"
            "  --device-mem MIB          device-memory budget (experts stream beyond it)\n"
            "thinking (a request's chat_template_kwargs.enable_thinking, reasoning_effort \"none\" and\n"
            "reasoning_budget_tokens override these; the reasoning comes back as message.reasoning_content):\n"
            CLI_THINK_HELP
            "server:\n"
            "  --host ADDR               address to listen on (default 127.0.0.1: this machine only;\n"
            "                            0.0.0.0 for every interface, then use --api-key)\n"
            "  --port N                  TCP port (default 8080; 0 picks a free one and prints it)\n"
            "  --api-key KEY             every endpoint but /health wants 'Authorization: Bearer KEY'\n"
            "                            (also $MOEVK_API_KEY)\n"
            "  --queue N                 requests waiting for the model at most (default 8; beyond: 503)\n"
            "  --max-connections N       open connections at most (default 64)\n"
            "  --timeout S               idle seconds before a connection is dropped (default 60)\n"
            "limits (a request over one gets a 4xx naming it):\n"
            "  --max-body BYTES          request body (default %zu)\n"
            "  --max-image-bytes BYTES   one decoded image (default %zu)\n"
            "  --max-messages N          messages of a request (default %d)\n"
            "  --max-tokens-cap N        largest max_tokens (default %d)\n\n"
            "Exit status: 0 after SIGINT/SIGTERM, 1 if the model cannot be loaded or the port bound, 2 usage.\n",
            l.max_body, l.max_image_bytes, l.max_messages, l.max_tokens_cap);
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int cmd_serve(int argc, char **argv) {
    moevk_model_params mp = moevk_model_default_params();
    srv_http_cfg hc = {.host = "127.0.0.1", .port = 8080, .limits = srv_default_limits(), .max_connections = 64,
                       .timeout_s = 60};
    hc.api_key = getenv("MOEVK_API_KEY");
    if (hc.api_key && !hc.api_key[0]) hc.api_key = NULL;
    long queue = 8, v;
    int think = 0, budget = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        int t = cli_think_option("serve", argc, argv, &i, &think, &budget);
        if (t < 0) return 2;
        if (t) continue;
        if (!val) {
            fprintf(stderr, "moevk serve: %s needs a value (or is unknown)\n\n", a);
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) mp.model_path = val;
        else if (!strcmp(a, "--mmproj")) mp.mmproj_path = val;
        else if (!strcmp(a, "--device")) mp.device = val;
        else if (!strcmp(a, "--host")) hc.host = val;
        else if (!strcmp(a, "--api-key")) hc.api_key = val[0] ? val : NULL;
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            if (cli_int(a, val, 16, 1 << 20, &v)) return 2;
            mp.n_ctx = (int)v;
        } else if (!strcmp(a, "-ub") || !strcmp(a, "--ubatch-size")) {
            if (cli_int(a, val, 1, 1 << 20, &v)) return 2;
            mp.n_ubatch = (int)v;
        } else if (!strcmp(a, "--device-mem")) {
            if (cli_int(a, val, 1, 1L << 30, &v)) return 2;
            mp.device_mem_mib = (uint64_t)v;
        } else if (!strcmp(a, "--port")) {
            if (cli_int(a, val, 0, 65535, &v)) return 2;
            hc.port = (int)v;
        } else if (!strcmp(a, "--queue")) {
            if (cli_int(a, val, 1, 4096, &queue)) return 2;
        } else if (!strcmp(a, "--max-connections")) {
            if (cli_int(a, val, 1, 4096, &v)) return 2;
            hc.max_connections = (int)v;
        } else if (!strcmp(a, "--timeout")) {
            if (cli_int(a, val, 1, 86400, &v)) return 2;
            hc.timeout_s = (int)v;
        } else if (!strcmp(a, "--max-body")) {
            if (cli_int(a, val, 1024, 1L << 31, &v)) return 2;
            hc.limits.max_body = (size_t)v;
        } else if (!strcmp(a, "--max-image-bytes")) {
            if (cli_int(a, val, 1024, 1L << 30, &v)) return 2;
            hc.limits.max_image_bytes = (size_t)v;
        } else if (!strcmp(a, "--max-messages")) {
            if (cli_int(a, val, 1, 100000, &v)) return 2;
            hc.limits.max_messages = (int)v;
        } else if (!strcmp(a, "--max-tokens-cap")) {
            if (cli_int(a, val, 1, 1 << 20, &v)) return 2;
            hc.limits.max_tokens_cap = (int)v;
        } else {
            fprintf(stderr, "moevk serve: unknown option %s\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!mp.model_path) {
        fprintf(stderr, "moevk serve: -m TEXT.gguf is required\n\n");
        usage(stderr);
        return 2;
    }
    /* SIGINT/SIGTERM are taken by sigwait below: blocked before any thread starts, so every thread inherits the mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up mid-write is an error return, not a signal */
    mp.progress = cli_progress;
    moevk_model *m = NULL;
    mvk_app_lavapipe_threads(mp.model_path, mp.mmproj_path); /* small models: lavapipe without worker threads */
    moevk_status s = moevk_model_load(&mp, &m);
    if (s != MOEVK_OK) {
        cli_error("serve", s);
        return 1;
    }
    moevk_model_info mi;
    if (think && moevk_model_get_info(m, &mi) == MOEVK_OK && !mi.thinking)
        fprintf(stderr, "moevk serve: the %s chat template has no thinking mode: --think changes nothing\n", mi.arch);
    srv_worker *w = srv_worker_start(m, base_name(mp.model_path), (int)queue, think, budget);
    if (!w) {
        moevk_model_free(m);
        fprintf(stderr, "moevk serve: cannot start the model thread\n");
        return 1;
    }
    char err[256];
    srv_http *h = srv_http_start(&hc, w, err, sizeof err);
    if (!h) {
        fprintf(stderr, "moevk serve: %s\n", err);
        srv_worker_stop(w);
        return 1;
    }
    moevk_model_info in;
    srv_worker_get_info(w, &in, NULL, NULL);
    fprintf(stderr, "moevk serve: %s (%s%s) on %s, context %d\n", in.name, in.arch, in.has_vision ? ", vision" : "",
            in.device, in.n_ctx);
    printf("moevk serve: listening on http://%s%s%s:%d/ (%s)\n", strchr(hc.host, ':') ? "[" : "", hc.host,
           strchr(hc.host, ':') ? "]" : "", srv_http_port(h), hc.api_key ? "API key required" : "no API key");
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "moevk serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv_http_stop(h);
    srv_worker_stop(w);
    return 0;
}
