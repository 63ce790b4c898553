/* srv_worker.c — the model thread (srv_worker.h): a request's messages become
 * a conversation of the engine (moevk_chat_*), continued from the KV cache
 * when the request extends the last one, and the answer goes back to the
 * client as OpenAI chat-completion JSON or server-sent events. */
#include "srv_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "srv_reply.h"

/* A part of a user turn as the cache remembers it: text, or an image by its digest. */
typedef struct conv_part {
    char *text;         /* NULL: an image */
    uint64_t digest;
} conv_part;

/* A user turn: its parts in order (consecutive user messages joined by "\n"). */
typedef struct conv_turn {
    conv_part *parts;
    int n;
} conv_turn;

/* The conversation held in the KV cache: what a request must repeat to continue it. */
typedef struct srv_conv {
    int valid;
    int think;          /* thinking on (the conversation's every answer) */
    char *system;       /* NULL: none */
    int n;              /* exchanges completed */
    conv_turn *user;    /* [n] */
    char **assistant;   /* [n] */
} srv_conv;

struct srv_worker {
    moevk_model *model;
    moevk_model_info info;
    char model_id[256];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_job **queue;    /* ring of queue_cap */
    int queue_cap, head, count, running, stop;
    srv_conv conv;
    int think, reasoning_budget; /* for requests that do not say (--reasoning, --reasoning-budget) */
    char *last_routing; /* JSON for the page */
    long long n_done;   /* requests finished */
};

static void turn_free(conv_turn *t) {
    for (int i = 0; i < t->n; i++) free(t->parts[i].text);
    free(t->parts);
    memset(t, 0, sizeof *t);
}

static void conv_clear(srv_conv *c) {
    for (int i = 0; i < c->n; i++) turn_free(&c->user[i]), free(c->assistant[i]);
    free(c->user);
    free(c->assistant);
    free(c->system);
    memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- the request as a conversation */

/* A part of a user turn of the request: text, or one of its images (borrowed from the request). */
typedef struct plan_part {
    const char *text;       /* NULL: an image */
    const srv_image *image;
} plan_part;

typedef struct plan_turn {
    plan_part *parts;
    int n;
} plan_turn;

/* system text, earlier exchanges and the new question of a request */
typedef struct conv_plan {
    char *system;           /* owned, NULL if none */
    int n_pairs;
    plan_turn *user;        /* [n_pairs] (consecutive user messages joined by a "\n" part) */
    char **assistant;       /* owned, [n_pairs] (consecutive messages joined by "\n") */
    plan_turn question;
} conv_plan;

static void plan_free(conv_plan *p) {
    free(p->system);
    for (int i = 0; i < p->n_pairs; i++) free(p->user[i].parts), free(p->assistant[i]);
    free(p->user);
    free(p->assistant);
    free(p->question.parts);
    memset(p, 0, sizeof *p);
}

static char *join(char *a, const char *b) {
    if (!a) return strdup(b);
    size_t na = strlen(a), nb = strlen(b);
    char *r = realloc(a, na + nb + 2);
    if (!r) {
        free(a);
        return NULL;
    }
    r[na] = '\n';
    memcpy(r + na + 1, b, nb + 1);
    return r;
}

/* Appends a user message's parts to a turn (after a "\n" part if the turn holds some already). */
static int turn_append(plan_turn *t, const srv_request *q, const srv_message *m) {
    plan_part *np = realloc(t->parts, (size_t)(t->n + m->n_parts + 1) * sizeof *np);
    if (!np) return -1;
    t->parts = np;
    if (t->n && m->n_parts) t->parts[t->n++] = (plan_part){"\n", NULL};
    for (int i = 0; i < m->n_parts; i++)
        t->parts[t->n++] = m->parts[i].text ? (plan_part){m->parts[i].text, NULL} : (plan_part){NULL, &q->images[m->parts[i].image]};
    return 0;
}

/* the turn has an image or text that is not blank */
static int turn_has_content(const plan_turn *t) {
    for (int i = 0; i < t->n; i++)
        if (t->parts[i].image || t->parts[i].text[strspn(t->parts[i].text, " \t\r\n")]) return 1;
    return 0;
}

static int make_plan(const srv_request *q, conv_plan *p, srv_error *err) {
    memset(p, 0, sizeof *p);
    plan_turn u = {0};
    char *a = NULL;
    int seen_user = 0;
    p->user = calloc((size_t)q->n_messages, sizeof *p->user);
    p->assistant = calloc((size_t)q->n_messages, sizeof *p->assistant);
    if (!p->user || !p->assistant) goto oom;
    for (int i = 0; i < q->n_messages; i++) {
        const srv_message *m = &q->messages[i];
        char param[32];
        snprintf(param, sizeof param, "messages[%d]", i);
        switch (m->role) {
        case SRV_ROLE_SYSTEM:
            if (seen_user) {
                srv_error_set(err, 400, "invalid_request_error", NULL, param,
                              "a system message after the conversation began is not supported");
                goto fail;
            }
            if (!(p->system = join(p->system, m->text))) goto oom;
            break;
        case SRV_ROLE_USER:
            if (a) { /* an exchange is complete */
                p->user[p->n_pairs] = u;
                p->assistant[p->n_pairs] = a;
                p->n_pairs++;
                memset(&u, 0, sizeof u);
                a = NULL;
            }
            seen_user = 1;
            if (turn_append(&u, q, m)) goto oom;
            break;
        case SRV_ROLE_ASSISTANT:
            if (!seen_user) {
                srv_error_set(err, 400, "invalid_request_error", NULL, param, "an assistant message must follow a user message");
                goto fail;
            }
            if (!(a = join(a, m->text))) goto oom;
            break;
        }
    }
    p->question = u; /* the last message is a user's (srv_request_parse checks it) */
    memset(&u, 0, sizeof u);
    if (!turn_has_content(&p->question)) {
        srv_error_set(err, 400, "invalid_request_error", NULL, "messages", "the last user message has no text and no image");
        goto fail;
    }
    return 0;
oom:
    srv_error_set(err, 500, "server_error", NULL, "", "out of memory");
fail:
    free(u.parts);
    free(a);
    plan_free(p);
    return -1;
}

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static int same_turn(const conv_turn *c, const plan_turn *p) {
    if (c->n != p->n) return 0;
    for (int i = 0; i < c->n; i++) {
        if (!c->parts[i].text != !p->parts[i].text) return 0;
        if (c->parts[i].text ? strcmp(c->parts[i].text, p->parts[i].text) : c->parts[i].digest != p->parts[i].image->digest)
            return 0;
    }
    return 1;
}

/* the KV cache holds the plan's earlier exchanges (texts and images), rendered with the same thinking
 * setting: only the question is new */
static int conv_extends(const srv_conv *c, const conv_plan *p, int think, moevk_model *m) {
    if (!c->valid || c->n != p->n_pairs || moevk_chat_turns(m) != c->n || !same_str(c->system, p->system) ||
        c->think != think)
        return 0;
    for (int i = 0; i < c->n; i++)
        if (!same_turn(&c->user[i], &p->user[i]) || strcmp(c->assistant[i], p->assistant[i])) return 0;
    return 1;
}

/* Remembers an exchange the KV cache now holds. */
static int conv_push(srv_conv *c, const plan_turn *u, const char *a) {
    conv_turn *nu = realloc(c->user, (size_t)(c->n + 1) * sizeof *nu);
    if (!nu) return -1;
    c->user = nu;
    char **na = realloc(c->assistant, (size_t)(c->n + 1) * sizeof *na);
    if (!na) return -1;
    c->assistant = na;
    conv_turn t = {calloc((size_t)u->n + 1, sizeof *t.parts), 0};
    int bad = !t.parts;
    for (int i = 0; !bad && i < u->n; i++, t.n++) {
        if (u->parts[i].text) bad = !(t.parts[i].text = strdup(u->parts[i].text));
        else t.parts[i].digest = u->parts[i].image->digest;
    }
    char *ac = bad ? NULL : strdup(a);
    if (bad || !ac) {
        turn_free(&t);
        return -1;
    }
    c->user[c->n] = t;
    c->assistant[c->n] = ac;
    c->n++;
    return 0;
}

/* Gives a user turn's parts to the engine: they go into its next turn (moevk_chat_turn / _add_turn). */
static moevk_status feed_parts(moevk_model *m, const plan_turn *t) {
    moevk_status s = MOEVK_OK;
    for (int i = 0; s == MOEVK_OK && i < t->n; i++) {
        const plan_part *pp = &t->parts[i];
        if (pp->text) {
            s = moevk_chat_add_text(m, pp->text);
            continue;
        }
        moevk_image img;
        memset(&img, 0, sizeof img);
        s = moevk_image_decode(pp->image->data, pp->image->size, "image_url", NULL, &img);
        if (s == MOEVK_OK) {
            moevk_chat_image ci = {.image_rgb = img.rgb, .image_w = img.w, .image_h = img.h};
            s = moevk_chat_add_image(m, &ci);
        }
        moevk_image_free(&img);
    }
    return s;
}

/* ---------------------------------------------------------------- generation */

typedef struct gen_state {
    srv_worker *w;
    srv_job *job;
    char *text;          /* the answer so far (stop strings cut) */
    size_t len, cap, sent;
    int stopped;         /* a stop string ended it */
    int n_pieces;
} gen_state;

static size_t max_stop_len(const srv_request *q) {
    size_t m = 0;
    for (int i = 0; i < q->n_stop; i++)
        if (strlen(q->stop[i]) > m) m = strlen(q->stop[i]);
    return m;
}

static void flush_delta(gen_state *g, size_t upto) {
    if (upto <= g->sent) return;
    if (g->job->req.stream) srv_reply_stream_delta(g->job, g->w->model_id, 0, g->text + g->sent, upto - g->sent);
    g->sent = upto;
}

/* the reasoning (thinking on) streams as delta.reasoning_content, as llama-server's; stop strings apply to the
 * answer only */
static int on_reasoning(const char *piece, int32_t token, void *user) {
    gen_state *g = user;
    (void)token;
    if (srv_job_cancelled(g->job)) return 1;
    if (g->job->req.stream) srv_reply_stream_delta(g->job, g->w->model_id, 1, piece, strlen(piece));
    return 0;
}

static int on_token(const char *piece, int32_t token, void *user) {
    gen_state *g = user;
    (void)token;
    if (srv_job_cancelled(g->job)) return 1;
    size_t n = strlen(piece);
    if (g->len + n + 1 > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024;
        while (cap < g->len + n + 1) cap *= 2;
        char *t = realloc(g->text, cap);
        if (!t) return 1;
        g->text = t;
        g->cap = cap;
    }
    memcpy(g->text + g->len, piece, n + 1);
    size_t from = g->len;
    g->len += n;
    g->n_pieces++;
    const srv_request *q = &g->job->req;
    size_t ms = max_stop_len(q);
    if (ms) {
        size_t start = from >= ms ? from - ms + 1 : 0;
        size_t cut = g->len + 1;
        for (int i = 0; i < q->n_stop; i++) {
            const char *hit = strstr(g->text + start, q->stop[i]);
            if (hit && (size_t)(hit - g->text) < cut) cut = (size_t)(hit - g->text);
        }
        if (cut <= g->len) {
            g->len = cut;
            g->text[cut] = '\0';
            g->stopped = 1;
            flush_delta(g, cut);
            return 1;
        }
        /* hold back what could still become a stop string, on a UTF-8 boundary */
        size_t safe = g->len >= ms - 1 ? g->len - (ms - 1) : 0;
        while (safe > g->sent && ((unsigned char)g->text[safe] & 0xC0) == 0x80) safe--;
        flush_delta(g, safe);
    } else {
        flush_delta(g, g->len);
    }
    return 0;
}

static void record_routing(srv_worker *w, const char *id) {
    const moevk_model_info *in = &w->info;
    const int L = in->n_moe_layers, K = in->n_expert_used, X = in->n_expert;
    if (L <= 0 || K <= 0 || X <= 0) return;
    size_t n = moevk_routing_count(w->model);
    int *cnt = calloc((size_t)3 * L * X, sizeof *cnt);
    int32_t *ids = malloc((size_t)L * K * sizeof *ids);
    float *wt = malloc((size_t)L * K * sizeof *wt);
    char *js = NULL;
    if (cnt && ids && wt) {
        for (size_t i = 0; i < n; i++) {
            moevk_token_route r;
            if (moevk_routing_get(w->model, i, &r, ids, wt, (size_t)L * K) != MOEVK_OK) break;
            int kind = r.kind == MOEVK_TOKEN_IMAGE ? 0 : r.kind == MOEVK_TOKEN_PROMPT ? 1 : 2;
            for (int l = 0; l < L; l++)
                for (int k = 0; k < K; k++) {
                    int e = ids[l * K + k];
                    if (e >= 0 && e < X) cnt[((size_t)kind * L + l) * X + e]++;
                }
        }
        js = srv_reply_routing_page_json(id, L, X, cnt, n);
    }
    free(cnt);
    free(ids);
    free(wt);
    if (!js) return;
    pthread_mutex_lock(&w->mu);
    free(w->last_routing);
    w->last_routing = js;
    pthread_mutex_unlock(&w->mu);
}

static void error_from_status(moevk_status s, srv_error *e) {
    const char *why = moevk_last_error();
    if (s == MOEVK_ERR_CONTEXT_FULL)
        srv_error_set(e, 400, "invalid_request_error", "context_length_exceeded", "messages", "%s", why);
    else if (s == MOEVK_ERR_IMAGE || s == MOEVK_ERR_INVALID_ARG)
        srv_error_set(e, 400, "invalid_request_error", s == MOEVK_ERR_IMAGE ? "invalid_image" : NULL, "messages", "%s", why);
    else
        srv_error_set(e, 500, "server_error", NULL, "", "%s: %s", moevk_status_str(s), why);
}

static void run_job(srv_worker *w, srv_job *j) {
    srv_request *q = &j->req;
    srv_error err;
    memset(&err, 0, sizeof err);
    conv_plan p;
    if (make_plan(q, &p, &err)) {
        srv_job_fail(j, &err);
        return;
    }
    moevk_model *m = w->model;
    moevk_status s = MOEVK_OK;
    /* thinking as the request asks, else the server's default; a family without a thinking mode ignores it
     * (as llama-server ignores enable_thinking for such templates) */
    const int think = (q->think >= 0 ? q->think : w->think) && w->info.thinking;
    int hit = conv_extends(&w->conv, &p, think, m);
    int n_cached = 0; /* KV positions reused */
    double t_replay = 0, replay_encode = 0;
    int replay_img = 0;
    moevk_timings t;
    memset(&t, 0, sizeof t);
    if (hit) {
        moevk_get_timings(m, &t);
        n_cached = t.n_ctx_used;
    } else {
        conv_clear(&w->conv);
        moevk_chat_params cp = moevk_chat_default_params();
        cp.system_prompt = p.system;
        cp.think = think;
        s = moevk_chat_start(m, &cp);
        for (int i = 0; s == MOEVK_OK && i < p.n_pairs; i++) {
            s = feed_parts(m, &p.user[i]);
            if (s == MOEVK_OK) s = moevk_chat_add_turn(m, "", p.assistant[i]);
            if (s == MOEVK_OK && moevk_get_timings(m, &t) == MOEVK_OK)
                t_replay += t.image_encode_ms + t.prefill_ms, replay_encode += t.image_encode_ms, replay_img += t.n_image_tokens;
        }
        if (s == MOEVK_OK) {
            w->conv.valid = 1;
            w->conv.think = think;
            if (p.system && !(w->conv.system = strdup(p.system))) w->conv.valid = 0;
            for (int i = 0; i < p.n_pairs && w->conv.valid; i++)
                if (conv_push(&w->conv, &p.user[i], p.assistant[i])) w->conv.valid = 0;
        }
    }
    int n_before = 0;
    if (s == MOEVK_OK && moevk_get_timings(m, &t) == MOEVK_OK) n_before = moevk_chat_turns(m) ? t.n_ctx_used : 0;
    if (s != MOEVK_OK) {
        conv_clear(&w->conv);
        error_from_status(s, &err);
        srv_job_fail(j, &err);
        plan_free(&p);
        return;
    }
    gen_state g = {.w = w, .job = j};
    moevk_gen_params gp = moevk_gen_default_params();
    gp.prompt = NULL; /* the question is in its parts */
    gp.n_predict = q->max_tokens;
    gp.temp = q->temperature;
    gp.top_p = q->top_p;
    gp.seed = q->has_seed ? q->seed : (uint64_t)j->created ^ (uint64_t)(uintptr_t)j;
    gp.on_token = on_token;
    gp.on_reasoning = on_reasoning;
    gp.reasoning_budget = q->reasoning_budget >= 0 ? q->reasoning_budget : w->reasoning_budget;
    gp.user = &g;
    /* a stream's first event goes out with its first text (srv_reply_stream_delta), after the prompt was
     * accepted: until then a refusal can still be an HTTP error */
    int parts_ok = (s = feed_parts(m, &p.question)) == MOEVK_OK;
    memset(&t, 0, sizeof t);
    if (parts_ok) {
        s = moevk_chat_turn(m, &gp);
        moevk_get_timings(m, &t);
    }
    if (s != MOEVK_OK && t.n_prompt_tokens == 0) { /* refused before anything ran (e.g. the context is full) */
        error_from_status(s, &err);
        srv_job_fail(j, &err);
        /* the cache still holds the earlier exchanges, but the question's parts wait in the engine's next turn:
         * the next request starts over (moevk_chat_start drops them) */
        conv_clear(&w->conv);
        free(g.text);
        plan_free(&p);
        return;
    }
    flush_delta(&g, g.len);
    const char *finish = g.stopped ? "stop" : t.n_generated >= q->max_tokens || s == MOEVK_ERR_CONTEXT_FULL ? "length" : "stop";
    int cancelled = srv_job_cancelled(j);
    /* the cache holds the answer as generated: the next request repeats our text only if we returned all of it */
    if (s == MOEVK_OK && !g.stopped && !cancelled && w->conv.valid) {
        if (conv_push(&w->conv, &p.question, g.text ? g.text : "")) w->conv.valid = 0;
    } else {
        w->conv.valid = 0;
    }
    srv_usage u = {.prompt_tokens = n_before + t.n_prompt_tokens, .completion_tokens = t.n_generated,
                   .reasoning_tokens = t.n_reasoning,
                   .cached_tokens = n_cached, .cache_hit = hit, .replayed_turns = hit ? 0 : p.n_pairs,
                   .image_encode_ms = t.image_encode_ms + replay_encode, .prefill_ms = t.prefill_ms,
                   .decode_ms = t.decode_ms, .replay_ms = t_replay, .n_image_tokens = t.n_image_tokens + replay_img};
    if (s != MOEVK_OK && s != MOEVK_ERR_CONTEXT_FULL) {
        error_from_status(s, &err);
        if (!q->stream) {
            srv_job_fail(j, &err);
            free(g.text);
            plan_free(&p);
            return;
        }
        finish = "error";
    }
    record_routing(w, j->id);
    size_t rlen = 0;
    char *reasoning = NULL; /* the non-stream reply's message.reasoning_content (a stream sent it as deltas) */
    if (!q->stream && moevk_get_reasoning(m, NULL, 0, &rlen) == MOEVK_OK && rlen && (reasoning = malloc(rlen + 1)))
        moevk_get_reasoning(m, reasoning, rlen + 1, NULL);
    srv_reply_finish(j, w->model, w->model_id, g.text ? g.text : "", reasoning, finish, &u);
    free(reasoning);
    srv_job_set_state(j, SRV_JOB_DONE);
    free(g.text);
    plan_free(&p);
}

/* ---------------------------------------------------------------- thread and queue */

static void *worker_main(void *arg) {
    srv_worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->stop && w->count == 0) pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        srv_job *j = w->queue[w->head];
        w->head = (w->head + 1) % w->queue_cap;
        w->count--;
        w->running = 1;
        pthread_mutex_unlock(&w->mu);
        if (!srv_job_cancelled(j)) {
            srv_job_set_state(j, SRV_JOB_RUNNING);
            run_job(w, j);
        } else {
            srv_job_set_state(j, SRV_JOB_DONE);
        }
        srv_job_release(j);
        moevk_model_info info; /* read here, on the model's thread; others read the copy */
        int have = moevk_model_get_info(w->model, &info) == MOEVK_OK;
        pthread_mutex_lock(&w->mu);
        if (have) w->info = info;
        w->n_done++;
        w->running = 0;
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

srv_worker *srv_worker_start(moevk_model *model, const char *model_id, int queue_cap, int think, int reasoning_budget) {
    srv_worker *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->model = model;
    w->think = think;
    w->reasoning_budget = reasoning_budget;
    moevk_model_get_info(model, &w->info);
    snprintf(w->model_id, sizeof w->model_id, "%s", model_id);
    w->queue_cap = queue_cap > 0 ? queue_cap : 1;
    w->queue = calloc((size_t)w->queue_cap, sizeof *w->queue);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (!w->queue || pthread_create(&w->thread, NULL, worker_main, w)) {
        free(w->queue);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void srv_worker_stop(srv_worker *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    while (w->count > 0) { /* jobs never started: the HTTP side is gone by now */
        srv_job *j = w->queue[w->head];
        w->head = (w->head + 1) % w->queue_cap;
        w->count--;
        srv_job_set_state(j, SRV_JOB_DONE);
        srv_job_release(j);
    }
    conv_clear(&w->conv);
    moevk_model_free(w->model);
    free(w->last_routing);
    free(w->queue);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int srv_worker_submit(srv_worker *w, srv_job *j) {
    pthread_mutex_lock(&w->mu);
    int ok = !w->stop && w->count < w->queue_cap;
    if (ok) {
        w->queue[(w->head + w->count) % w->queue_cap] = j;
        w->count++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return ok ? 0 : -1;
}

int srv_worker_load(srv_worker *w) {
    pthread_mutex_lock(&w->mu);
    int n = w->count + w->running;
    pthread_mutex_unlock(&w->mu);
    return n;
}

const char *srv_worker_model_id(const srv_worker *w) { return w->model_id; }
void srv_worker_get_info(srv_worker *w, moevk_model_info *out, int *load, long long *n_done) {
    pthread_mutex_lock(&w->mu);
    *out = w->info;
    if (load) *load = w->count + w->running;
    if (n_done) *n_done = w->n_done;
    pthread_mutex_unlock(&w->mu);
}

char *srv_worker_last_routing(srv_worker *w) {
    pthread_mutex_lock(&w->mu);
    char *r = strdup(w->last_routing ? w->last_routing : "{}");
    pthread_mutex_unlock(&w->mu);
    return r;
}
