/* worker.c — the inference thread (pthreads). */
#include "worker.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_MESSAGES 8

struct view_worker {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    // configuration (owned copies)
    char *model_path, *mmproj_path, *device, *prompt;
    int n_predict, n_ctx, image_max_tokens, device_mem_mib, think, reasoning_budget;
    // control, under mu
    int quit;
    int reload;
    view_image pending;     // newest frame not yet started (rgb NULL: none)
    uint64_t pending_seq;
    double pending_t;
    int pending_preempt;
    char *ask_text;         // a question waiting for the worker (NULL: none)
    uint64_t ask_seq;       // the frame it is about
    view_image add_img;     // an image the question adds to the conversation first (rgb NULL: none)
    // published, under mu
    view_model_state state;
    int mixed_layers;
    uint8_t mixer[VIEW_MAX_MOE_LAYERS];
    uint8_t ffn[VIEW_MAX_MOE_LAYERS];
    char stage[64];
    float frac;
    moevk_model_info info;
    int busy;
    int asking;
    uint64_t n_captions, n_failed, last_ok_seq;
    view_caption cur;
    view_cache_view cache;
    uint64_t version;
    char messages[N_MESSAGES][512];
    int msg_head, msg_count;
    // worker-thread only
    moevk_model *model;
    int32_t *tmp_ids;       // [n_moe_layers * n_expert_used]
    float *tmp_w;           // [n_moe_layers * n_expert_used]
};

double view_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *dup_or_null(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

// Under mu.
static void push_message(view_worker *w, const char *msg) {
    int slot = (w->msg_head + w->msg_count) % N_MESSAGES;
    if (w->msg_count == N_MESSAGES) {
        w->msg_head = (w->msg_head + 1) % N_MESSAGES;
        w->msg_count--;
    }
    snprintf(w->messages[slot], sizeof w->messages[slot], "%.500s", msg);
    w->msg_count++;
}

int view_worker_pop_message(view_worker *w, char *buf, size_t cap) {
    pthread_mutex_lock(&w->mu);
    int have = w->msg_count > 0;
    if (have) {
        snprintf(buf, cap, "%s", w->messages[w->msg_head]);
        w->msg_head = (w->msg_head + 1) % N_MESSAGES;
        w->msg_count--;
    }
    pthread_mutex_unlock(&w->mu);
    return have;
}

void view_caption_free(view_caption *c) {
    if (!c) return;
    for (int i = 0; i < VIEW_MAX_TURNS; i++) {
        free(c->turns[i].user);
        free(c->turns[i].answer);
        free(c->turns[i].reasoning);
    }
    free(c->text);
    free(c->reasoning);
    free(c->segs);
    view_routing_free(&c->routing);
    memset(c, 0, sizeof *c);
}

static int caption_append(view_caption *c, const char *piece, int32_t token) {
    size_t n = strlen(piece);
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (c->len + n + 1 > cap) cap *= 2;
        char *t = realloc(c->text, cap);
        if (!t) return 0;
        c->text = t;
        c->cap = cap;
    }
    if (c->n_segs == c->cap_segs) {
        int cap = c->cap_segs ? c->cap_segs * 2 : 64;
        view_seg *s = realloc(c->segs, sizeof *s * (size_t)cap);
        if (!s) return 0;
        c->segs = s;
        c->cap_segs = cap;
    }
    memcpy(c->text + c->len, piece, n);
    c->segs[c->n_segs++] = (view_seg){(int)c->len, (int)n, token};
    c->len += n;
    c->text[c->len] = 0;
    return 1;
}

/* *dst (a buffer of *cap bytes, reused) = src[0..n) NUL-terminated; 0 when out of memory (then *len 0). */
static int copy_text(char **dst, size_t *cap, size_t *len, const char *src, size_t n) {
    if (n + 1 > *cap) {
        char *a = realloc(*dst, n + 1);
        if (!a) {
            *len = 0;
            return 0;
        }
        *dst = a;
        *cap = n + 1;
    }
    if (n) memcpy(*dst, src, n);
    (*dst)[n] = 0;
    *len = n;
    return 1;
}

static int copy_turns(view_turn *dst, const view_turn *old, const view_caption *src) {
    int ok = 1;
    for (int i = 0; i < VIEW_MAX_TURNS; i++) {
        const view_turn *t = &src->turns[i];
        char *user = old[i].user, *answer = old[i].answer, *reasoning = old[i].reasoning;
        size_t acap = old[i].answer_cap, rcap = old[i].reasoning_cap;
        dst[i] = *t;
        dst[i].user = user;
        dst[i].answer = answer;
        dst[i].answer_cap = acap;
        dst[i].reasoning = reasoning;
        dst[i].reasoning_cap = rcap;
        if (i >= src->n_turns) {
            dst[i].answer_len = dst[i].reasoning_len = 0;
            continue;
        }
        if (!copy_text(&dst[i].reasoning, &dst[i].reasoning_cap, &dst[i].reasoning_len, t->reasoning,
                       t->reasoning ? t->reasoning_len : 0))
            ok = 0;
        size_t ul = t->user ? strlen(t->user) : 0;
        char *u = realloc(dst[i].user, ul + 1);
        if (u) {
            memcpy(u, t->user ? t->user : "", ul + 1);
            dst[i].user = u;
        } else ok = 0;
        size_t al = t->answer ? t->answer_len : 0;
        if (al + 1 > dst[i].answer_cap) {
            char *a = realloc(dst[i].answer, al + 1);
            if (!a) {
                ok = 0;
                dst[i].answer_len = 0;
                continue;
            }
            dst[i].answer = a;
            dst[i].answer_cap = al + 1;
        }
        if (al) memcpy(dst[i].answer, t->answer, al);
        dst[i].answer[al] = 0;
        dst[i].answer_len = al;
    }
    return ok;
}

int view_caption_copy(view_caption *dst, const view_caption *src) {
    view_turn old[VIEW_MAX_TURNS];
    memcpy(old, dst->turns, sizeof old);
    char *text = dst->text, *reasoning = dst->reasoning;
    size_t tcap = dst->cap, rcap = dst->reasoning_cap;
    view_seg *segs = dst->segs;
    int scap = dst->cap_segs;
    view_routing r = dst->routing;
    *dst = *src;
    dst->text = text;
    dst->cap = tcap;
    dst->reasoning = reasoning;
    dst->reasoning_cap = rcap;
    dst->segs = segs;
    dst->cap_segs = scap;
    dst->routing = r;
    if (!copy_turns(dst->turns, old, src)) return 0;
    if (!copy_text(&dst->reasoning, &dst->reasoning_cap, &dst->reasoning_len, src->reasoning,
                   src->reasoning ? src->reasoning_len : 0))
        return 0;
    if (src->len + 1 > dst->cap) {
        char *t = realloc(dst->text, src->len + 1);
        if (!t) return 0;
        dst->text = t;
        dst->cap = src->len + 1;
    }
    if (src->text)
        memcpy(dst->text, src->text, src->len + 1);
    else
        dst->text[0] = 0;
    dst->len = src->text ? src->len : 0;
    if (src->n_segs > dst->cap_segs) {
        view_seg *s = realloc(dst->segs, sizeof *s * (size_t)src->n_segs);
        if (!s) return 0;
        dst->segs = s;
        dst->cap_segs = src->n_segs;
    }
    if (src->n_segs) memcpy(dst->segs, src->segs, sizeof *src->segs * (size_t)src->n_segs);
    return view_routing_copy(&dst->routing, &src->routing);
}

/* ---------------------------------------------------------------- worker thread */

static int on_progress(const char *stage, float frac, void *user) {
    view_worker *w = user;
    pthread_mutex_lock(&w->mu);
    snprintf(w->stage, sizeof w->stage, "%s", stage ? stage : "");
    w->frac = frac;
    w->version++;
    int stop = w->quit || w->reload;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

// The expert cache's residency and hit rate. Under mu (this thread owns the model).
static void sync_cache(view_worker *w) {
    moevk_cache_stats cs;
    view_cache_view *c = &w->cache;
    if (moevk_cache_get_stats(w->model, &cs, NULL, 0) != MOEVK_OK) return;
    c->streaming = cs.streaming;
    c->slots = cs.slots_per_layer;
    c->hit_pct = cs.decode.uses ? 100.0 * (double)cs.decode.hits / (double)cs.decode.uses : -1.0;
    int L = w->info.n_moe_layers, E = w->info.n_expert;
    c->L = c->E = 0;
    if (!cs.streaming || L <= 0 || E <= 0 || (size_t)L * (size_t)E > VIEW_RES_MAX) return;
    for (int l = 0; l < L; l++)
        if (moevk_cache_resident(w->model, l, c->resident + (size_t)l * E, (size_t)E) != MOEVK_OK) return;
    c->L = L;
    c->E = E;
}

// Copies routing records not yet copied. Under mu (records are small copies).
static void sync_routing(view_worker *w) {
    sync_cache(w);
    view_routing *r = &w->cur.routing;
    size_t n = moevk_routing_count(w->model);
    if (n > (size_t)0x3fffffff) return;
    if ((int)n <= r->n_tok) return;
    if (!view_routing_reserve(r, (int)n)) return;
    size_t per = (size_t)r->n_layers * (size_t)r->k;
    for (int i = r->n_tok; i < (int)n; i++) {
        moevk_token_route tr;
        if (moevk_routing_get(w->model, (size_t)i, &tr, w->tmp_ids, w->tmp_w, per) != MOEVK_OK) break;
        r->kind[i] = (uint8_t)tr.kind;
        r->token[i] = tr.token;
        r->pos[i] = tr.pos;
        r->turn[i] = tr.turn;
        r->image[i] = tr.image;
        r->reasoning[i] = tr.reasoning != 0;
        memcpy(r->ids + (size_t)i * per, w->tmp_ids, per * sizeof(int32_t));
        memcpy(r->weights + (size_t)i * per, w->tmp_w, per * sizeof(float));
        r->n_tok = i + 1;
    }
}

static int on_token(const char *piece, int32_t token, void *user) {
    view_worker *w = user;
    pthread_mutex_lock(&w->mu);
    if (w->cur.t_first_token == 0) {
        w->cur.t_first_token = view_now();
        moevk_timings tm;  // the image grid is known once the prefill ran (this thread owns the model)
        if (moevk_get_timings(w->model, &tm) == MOEVK_OK) {
            w->cur.img_nx = tm.image_nx;
            w->cur.img_ny = tm.image_ny;
        }
    }
    caption_append(&w->cur, piece ? piece : "", token);
    sync_routing(w);
    w->version++;
    int stop = w->quit || w->reload || (w->pending.rgb && w->pending_preempt);
    pthread_mutex_unlock(&w->mu);
    return stop;
}

/* Appends piece to a text buffer (NUL-terminated); 0 when out of memory. */
static int text_append(char **buf, size_t *len, size_t *cap, const char *piece) {
    size_t n = strlen(piece);
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (*len + n + 1 > c) c *= 2;
        char *a = realloc(*buf, c);
        if (!a) return 0;
        *buf = a;
        *cap = c;
    }
    memcpy(*buf + *len, piece, n + 1);
    *len += n;
    return 1;
}

// Thinking on: the reasoning streams apart from the caption / the answer (the routing of its tokens is tagged).
static int on_reasoning(const char *piece, int32_t token, void *user) {
    (void)token;
    view_worker *w = user;
    pthread_mutex_lock(&w->mu);
    view_caption *c = &w->cur;
    if (c->n_turns) {
        view_turn *t = &c->turns[c->n_turns - 1];
        if (t->t_first_token == 0) t->t_first_token = view_now();
        text_append(&t->reasoning, &t->reasoning_len, &t->reasoning_cap, piece ? piece : "");
    } else {
        if (c->t_first_token == 0) c->t_first_token = view_now();
        text_append(&c->reasoning, &c->reasoning_len, &c->reasoning_cap, piece ? piece : "");
    }
    sync_routing(w);
    w->version++;
    int stop = w->quit || w->reload || (w->pending.rgb && w->pending_preempt);
    pthread_mutex_unlock(&w->mu);
    return stop;
}

static int on_answer_token(const char *piece, int32_t token, void *user) {
    (void)token;
    view_worker *w = user;
    pthread_mutex_lock(&w->mu);
    view_turn *t = &w->cur.turns[w->cur.n_turns - 1];
    if (t->t_first_token == 0) t->t_first_token = view_now();
    text_append(&t->answer, &t->answer_len, &t->answer_cap, piece ? piece : "");
    sync_routing(w);
    w->version++;
    int stop = w->quit || w->reload || (w->pending.rgb && w->pending_preempt);
    pthread_mutex_unlock(&w->mu);
    return stop;
}

static void load_model(view_worker *w) {
    moevk_model_params mp = moevk_model_default_params();
    pthread_mutex_lock(&w->mu);
    // Own copies: view_worker_reload may swap the paths while this load runs.
    char *model_path = dup_or_null(w->model_path), *mmproj_path = dup_or_null(w->mmproj_path);
    mp.model_path = model_path;
    mp.mmproj_path = mmproj_path;
    mp.device = w->device;
    mp.device_mem_mib = (uint64_t)w->device_mem_mib;
    mp.image_max_tokens = w->image_max_tokens > 0 ? w->image_max_tokens : 0;
    if (w->n_ctx > 0) mp.n_ctx = w->n_ctx;
    w->state = VIEW_MODEL_LOADING;
    snprintf(w->stage, sizeof w->stage, "opening");
    w->frac = 0;
    w->version++;
    pthread_mutex_unlock(&w->mu);
    mp.progress = on_progress;
    mp.progress_user = w;

    moevk_model *m = NULL;
    moevk_status st = moevk_model_load(&mp, &m);
    moevk_model_info info;
    memset(&info, 0, sizeof info);
    char msg[640];
    if (st == MOEVK_OK) st = moevk_model_get_info(m, &info);
    if (st == MOEVK_OK) {
        size_t per = (size_t)(info.n_moe_layers > 0 ? info.n_moe_layers : 1) *
                     (size_t)(info.n_expert_used > 0 ? info.n_expert_used : 1);
        free(w->tmp_ids);
        free(w->tmp_w);
        w->tmp_ids = malloc(per * sizeof(int32_t));
        w->tmp_w = malloc(per * sizeof(float));
        if (!w->tmp_ids || !w->tmp_w) st = MOEVK_ERR_OUT_OF_HOST_MEMORY;
    }
    if (st == MOEVK_OK && info.has_vision && !getenv("MOEVK_VIEW_NO_WARMUP")) {
        // Warm-up: one tiny caption of a grey image, so the first real frame
        // does not pay for creating the GPU pipelines (tens of seconds on a CPU
        // Vulkan driver without a warm shader cache). It stays on the loading
        // screen; its caption and routing are not shown.
        pthread_mutex_lock(&w->mu);
        snprintf(w->stage, sizeof w->stage, "warming up (creating GPU pipelines)");
        w->frac = 1.0f;
        w->version++;
        pthread_mutex_unlock(&w->mu);
        static uint8_t grey[64 * 64 * 3];
        memset(grey, 128, sizeof grey);
        moevk_gen_params gp = moevk_gen_default_params();
        gp.image_rgb = grey;
        gp.image_w = gp.image_h = 64;
        gp.n_predict = 2;
        if (w->prompt) gp.prompt = w->prompt;
        if (moevk_generate(m, &gp) != MOEVK_OK)
            fprintf(stderr, "moevk-view: warm-up caption failed: %s\n", moevk_last_error());
    }
    pthread_mutex_lock(&w->mu);
    if (st == MOEVK_OK) {
        w->model = m;
        w->info = info;
        w->state = VIEW_MODEL_READY;
        w->mixed_layers = 0; /* each heatmap row's mixer, for the app to name where it explains a layer */
        memset(w->mixer, 0, sizeof w->mixer);
        memset(w->ffn, 0, sizeof w->ffn);
        for (int l = 0; l < info.n_moe_layers && l < VIEW_MAX_MOE_LAYERS; l++) {
            moevk_mixer mx = MOEVK_MIXER_ATTENTION;
            moevk_moe_ffn fx = MOEVK_FFN_EXPERTS;
            if (moevk_moe_layer_info(m, l, NULL, &mx) != MOEVK_OK || moevk_moe_layer_ffn(m, l, &fx) != MOEVK_OK) break;
            w->mixer[l] = (uint8_t)mx;
            w->ffn[l] = (uint8_t)fx;
            /* named where the layers differ, or where the heatmap's experts are not the whole FFN (a dense MLP) */
            if (mx != w->mixer[0] || fx == MOEVK_FFN_DENSE_MLP) w->mixed_layers = 1;
        }
        if (!info.has_vision) {
            snprintf(msg, sizeof msg, "model %s has no vision encoder (no --mmproj?): images cannot be captioned",
                     model_path ? model_path : "?");
            push_message(w, msg);
        }
    } else {
        const char *why = moevk_last_error();
        snprintf(msg, sizeof msg, "cannot load model %s: %s%s%s", model_path ? model_path : "(none)",
                 moevk_status_str(st), why[0] ? ": " : "", why);
        moevk_model_free(m);
        w->state = VIEW_MODEL_FAILED;
        if (st != MOEVK_ERR_CANCELLED || !w->reload) push_message(w, msg);
    }
    w->version++;
    pthread_mutex_unlock(&w->mu);
    free(model_path);
    free(mmproj_path);
}

static void run_caption(view_worker *w, view_image *img, uint64_t seq, double t_submit) {
    moevk_model_info info = w->info;
    pthread_mutex_lock(&w->mu);
    view_caption *c = &w->cur;
    c->frame_seq = seq;
    c->len = 0;
    if (c->text) c->text[0] = 0;
    c->reasoning_len = 0;
    if (c->reasoning) c->reasoning[0] = 0;
    c->n_segs = 0;
    view_routing_reset(&c->routing, info.n_moe_layers, info.n_expert_used, info.n_expert);
    c->started = 1;
    c->done = c->failed = c->cancelled = 0;
    c->error[0] = 0;
    memset(&c->timings, 0, sizeof c->timings);
    c->t_submit = t_submit;
    c->t_start = view_now();
    c->t_first_token = c->t_done = 0;
    c->n_turns = 0;  // a new frame: a new conversation
    c->img_nx = c->img_ny = 0;
    c->conv_id++;
    snprintf(c->caption_prompt, sizeof c->caption_prompt, "%s", w->prompt ? w->prompt : "Describe this image in one sentence.");
    w->busy = 1;
    w->version++;
    pthread_mutex_unlock(&w->mu);

    moevk_gen_params gp = moevk_gen_default_params();
    gp.image_rgb = img->rgb;
    gp.image_w = img->w;
    gp.image_h = img->h;
    if (w->prompt) gp.prompt = w->prompt;
    if (w->n_predict > 0) gp.n_predict = w->n_predict;
    if (w->image_max_tokens > 0) gp.image_max_tokens = w->image_max_tokens;
    gp.think = w->think; /* the conversation the caption starts: its questions think too */
    gp.reasoning_budget = w->reasoning_budget;
    gp.on_token = on_token;
    gp.on_reasoning = on_reasoning;
    gp.user = w;
    moevk_status st = moevk_generate(w->model, &gp);
    moevk_timings tm;
    memset(&tm, 0, sizeof tm);
    moevk_get_timings(w->model, &tm);
    const char *why = st == MOEVK_OK ? "" : moevk_last_error();
    moevk_model_info now;  // device memory and validation findings after this caption
    int have_now = moevk_model_get_info(w->model, &now) == MOEVK_OK;

    pthread_mutex_lock(&w->mu);
    if (have_now) w->info = now;
    sync_routing(w);
    c->timings = tm;
    c->img_nx = tm.image_nx;
    c->img_ny = tm.image_ny;
    c->t_done = view_now();
    c->done = 1;
    if (st == MOEVK_ERR_CANCELLED) {
        c->cancelled = 1;
    } else if (st != MOEVK_OK) {
        c->failed = 1;
        w->n_failed++;
        snprintf(c->error, sizeof c->error, "captioning failed: %s%s%s", moevk_status_str(st), why[0] ? ": " : "",
                 why);
        push_message(w, c->error);
    } else {
        w->n_captions++;
        w->last_ok_seq = seq;
    }
    w->busy = 0;
    w->version++;
    pthread_mutex_unlock(&w->mu);
}

// A question about the frame captioned in w->cur (a follow-up turn).
static void run_turn(view_worker *w, char *question, uint64_t seq) {
    pthread_mutex_lock(&w->mu);
    view_caption *c = &w->cur;
    const char *why = NULL;
    if (c->frame_seq != seq) why = "the frame changed before it was answered";
    else if (!c->done || c->failed) why = "this frame has no caption to follow";
    else if (c->n_turns >= VIEW_MAX_TURNS) why = "this conversation is long: load the image again to start a new one";
    if (why) {
        char msg[700];
        snprintf(msg, sizeof msg, "question dropped: %s", why);
        push_message(w, msg);
        view_image_free(&w->add_img);  // an image it would have added goes with it
        w->asking = 0;
        w->version++;
        pthread_mutex_unlock(&w->mu);
        free(question);
        return;
    }
    view_image add = w->add_img;  // an image this turn adds (view_worker_add_image)
    memset(&w->add_img, 0, sizeof w->add_img);
    view_turn *t = &c->turns[c->n_turns];
    free(t->user);
    t->user = question;  // owned by the turn from here
    t->image = add.rgb ? moevk_chat_images(w->model) : -1;  // the images so far are prefilled: the next index
    t->img_nx = t->img_ny = 0;
    t->answer_len = 0;
    if (t->answer) t->answer[0] = 0;
    t->reasoning_len = 0;
    if (t->reasoning) t->reasoning[0] = 0;
    t->done = t->failed = 0;
    t->error[0] = 0;
    memset(&t->timings, 0, sizeof t->timings);
    t->t_start = view_now();
    t->t_first_token = t->t_done = 0;
    t->turn = moevk_chat_turns(w->model);  // this thread owns the model
    c->n_turns++;
    w->busy = 1;
    w->version++;
    pthread_mutex_unlock(&w->mu);

    moevk_status st = MOEVK_OK;
    if (add.rgb) {
        moevk_chat_image ci = {.image_rgb = add.rgb, .image_w = add.w, .image_h = add.h};
        if (w->image_max_tokens > 0) ci.image_max_tokens = w->image_max_tokens;
        st = moevk_chat_add_image(w->model, &ci);
        view_image_free(&add);
    }
    moevk_gen_params gp = moevk_gen_default_params();
    gp.prompt = question;
    if (w->n_predict > 0) gp.n_predict = w->n_predict;
    gp.on_token = on_answer_token;
    gp.on_reasoning = on_reasoning;
    gp.reasoning_budget = w->reasoning_budget;
    gp.user = w;
    if (st == MOEVK_OK) st = moevk_chat_turn(w->model, &gp);
    moevk_timings tm;
    memset(&tm, 0, sizeof tm);
    moevk_get_timings(w->model, &tm);
    const char *err = st == MOEVK_OK ? "" : moevk_last_error();

    pthread_mutex_lock(&w->mu);
    sync_routing(w);
    t->timings = tm;
    if (t->image >= 0 && st == MOEVK_OK) {
        t->img_nx = tm.image_nx;
        t->img_ny = tm.image_ny;
    }
    t->t_done = view_now();
    t->done = 1;
    if (st != MOEVK_OK) {
        t->failed = 1;
        snprintf(t->error, sizeof t->error, "%s%s%s", moevk_status_str(st), err[0] ? ": " : "", err);
        char msg[700];
        snprintf(msg, sizeof msg, "the question failed: %s", t->error);
        push_message(w, msg);
    }
    w->busy = 0;
    w->asking = 0;
    w->version++;
    pthread_mutex_unlock(&w->mu);
}

static void *worker_main(void *arg) {
    view_worker *w = arg;
    // A slightly lower priority for this thread and the threads it creates (a
    // CPU Vulkan driver's workers inherit it), so that on a machine whose cores
    // are all busy with inference the UI thread still draws on time.
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5);
    load_model(w);
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->quit && !w->reload && !((w->pending.rgb || w->ask_text) && w->state == VIEW_MODEL_READY))
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        if (w->reload) {
            w->reload = 0;
            pthread_mutex_unlock(&w->mu);
            moevk_model_free(w->model);
            pthread_mutex_lock(&w->mu);
            w->model = NULL;
            memset(&w->info, 0, sizeof w->info);
            pthread_mutex_unlock(&w->mu);
            load_model(w);
            continue;
        }
        if (!w->pending.rgb) {  // a question (frames go first: it may be about the waiting one)
            char *q = w->ask_text;
            uint64_t qseq = w->ask_seq;
            w->ask_text = NULL;
            pthread_mutex_unlock(&w->mu);
            run_turn(w, q, qseq);
            continue;
        }
        view_image img = w->pending;  // take the newest frame; older ones were dropped on submit
        uint64_t seq = w->pending_seq;
        double t = w->pending_t;
        memset(&w->pending, 0, sizeof w->pending);
        pthread_mutex_unlock(&w->mu);
        run_caption(w, &img, seq, t);
        view_image_free(&img);
    }
    return NULL;
}

/* ---------------------------------------------------------------- UI side */

view_worker *view_worker_start(const view_worker_cfg *cfg) {
    view_worker *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->model_path = dup_or_null(cfg->model_path);
    w->mmproj_path = dup_or_null(cfg->mmproj_path);
    w->device = dup_or_null(cfg->device);
    w->prompt = dup_or_null(cfg->prompt);
    w->n_predict = cfg->n_predict;
    w->n_ctx = cfg->n_ctx;
    w->image_max_tokens = cfg->image_max_tokens;
    w->device_mem_mib = cfg->device_mem_mib;
    w->think = cfg->think;
    w->reasoning_budget = cfg->reasoning_budget;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w->model_path);
        free(w->mmproj_path);
        free(w->device);
        free(w->prompt);
        free(w);
        return NULL;
    }
    return w;
}

void view_worker_stop(view_worker *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    moevk_model_free(w->model);
    view_image_free(&w->pending);
    free(w->ask_text);
    view_image_free(&w->add_img);
    view_caption_free(&w->cur);
    free(w->tmp_ids);
    free(w->tmp_w);
    free(w->model_path);
    free(w->mmproj_path);
    free(w->device);
    free(w->prompt);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

int view_worker_submit(view_worker *w, const view_image *img, uint64_t seq, double t_submit, int preempt) {
    view_image copy;
    copy.w = img->w;
    copy.h = img->h;
    copy.rgb = malloc((size_t)img->w * img->h * 3);
    if (!copy.rgb) return 0;
    memcpy(copy.rgb, img->rgb, (size_t)img->w * img->h * 3);
    pthread_mutex_lock(&w->mu);
    view_image_free(&w->pending);  // a stale frame that never started is dropped
    w->pending = copy;
    w->pending_seq = seq;
    w->pending_t = t_submit;
    w->pending_preempt = preempt;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 1;
}

int view_worker_ask(view_worker *w, const char *question, uint64_t seq) {
    pthread_mutex_lock(&w->mu);
    int ok = !w->asking;
    if (ok) {
        size_t n = strlen(question) + 1;
        w->ask_text = malloc(n);
        ok = w->ask_text != NULL;
        if (ok) {
            memcpy(w->ask_text, question, n);
            w->ask_seq = seq;
            w->asking = 1;
            w->version++;
            pthread_cond_broadcast(&w->cv);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return ok;
}

int view_worker_add_image(view_worker *w, const view_image *img, const char *question, uint64_t conv_seq,
                          uint64_t new_seq) {
    view_image copy = {0};
    copy.w = img->w;
    copy.h = img->h;
    copy.rgb = malloc((size_t)img->w * img->h * 3);
    if (!copy.rgb) return 0;
    memcpy(copy.rgb, img->rgb, (size_t)img->w * img->h * 3);
    pthread_mutex_lock(&w->mu);
    view_caption *c = &w->cur;
    const char *q = question ? question : c->caption_prompt;
    int ok = !w->asking && c->frame_seq == conv_seq && c->done && !c->failed && !c->cancelled;
    if (ok) {
        size_t n = strlen(q) + 1;
        ok = (w->ask_text = malloc(n)) != NULL;
        if (ok) {
            memcpy(w->ask_text, q, n);
            view_image_free(&w->add_img);
            w->add_img = copy;
            copy.rgb = NULL;
            w->ask_seq = new_seq;
            c->frame_seq = new_seq;  // the conversation now goes with the added image on screen
            w->asking = 1;
            w->version++;
            pthread_cond_broadcast(&w->cv);
        }
    }
    pthread_mutex_unlock(&w->mu);
    view_image_free(&copy);
    return ok;
}

void view_worker_reload(view_worker *w, const char *model_path, const char *mmproj_path) {
    char *mp = dup_or_null(model_path), *pp = dup_or_null(mmproj_path);
    pthread_mutex_lock(&w->mu);
    // load_model works on its own copies, so the old strings can go.
    char *old_m = w->model_path, *old_p = w->mmproj_path;
    w->model_path = mp;
    w->mmproj_path = pp;
    w->reload = 1;
    free(w->ask_text);  // a waiting question was about the old model's conversation
    w->ask_text = NULL;
    view_image_free(&w->add_img);
    w->asking = 0;
    w->state = VIEW_MODEL_LOADING;
    snprintf(w->stage, sizeof w->stage, "waiting");
    w->frac = 0;
    w->version++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    free(old_m);
    free(old_p);
}

int view_worker_snapshot(view_worker *w, view_caption *dst, uint64_t *version) {
    pthread_mutex_lock(&w->mu);
    int changed = w->version != *version;
    if (changed) {
        view_caption_copy(dst, &w->cur);
        *version = w->version;
    }
    pthread_mutex_unlock(&w->mu);
    return changed;
}

void view_worker_get_status(view_worker *w, view_worker_status *st) {
    pthread_mutex_lock(&w->mu);
    st->state = w->state;
    snprintf(st->stage, sizeof st->stage, "%s", w->stage);
    st->frac = w->frac;
    st->info = w->info;
    snprintf(st->model_path, sizeof st->model_path, "%s", w->model_path ? w->model_path : "");
    snprintf(st->mmproj_path, sizeof st->mmproj_path, "%s", w->mmproj_path ? w->mmproj_path : "");
    st->busy = w->busy;
    st->asking = w->asking;
    st->pending = w->pending.rgb != NULL;
    st->n_captions = w->n_captions;
    st->cache = w->cache;
    st->n_failed = w->n_failed;
    st->last_ok_seq = w->last_ok_seq;
    st->mixed_layers = w->mixed_layers;
    memcpy(st->mixer, w->mixer, sizeof st->mixer);
    memcpy(st->ffn, w->ffn, sizeof st->ffn);
    pthread_mutex_unlock(&w->mu);
}
