/* api.c — the public API of include/moevk.h: loading, generation,
 * verification (eval) and routing telemetry. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/family.h"
#include "engine_internal.h"
#include "image.h"
#include "mvk_status.h"
#include "sampling.h"


moevk_status moevk_list_devices(char (*names)[256], int cap, int *n_out) {
    if (!n_out || (cap > 0 && !names)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_list_devices: NULL argument");
    vk_device_info infos[16];
    uint32_t n = 0;
    MVK_TRY(vk_list_devices(infos, 16, &n));
    for (int i = 0; i < cap && i < (int)n && i < 16; i++) snprintf(names[i], 256, "%.255s", infos[i].name);
    *n_out = (int)n;
    return MOEVK_OK;
}

moevk_model_params moevk_model_default_params(void) {
    moevk_model_params p;
    memset(&p, 0, sizeof p);
    p.kv_type = MOEVK_KV_F16;
    return p;
}

moevk_gen_params moevk_gen_default_params(void) {
    moevk_gen_params p;
    memset(&p, 0, sizeof p);
    p.n_predict = 64;
    p.temp = 0.0f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.reasoning_budget = -1;
    return p;
}

static uint64_t tensor_bytes(const gguf_file *f) {
    uint64_t t = 0;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) t += gguf_tensor(f, i)->size;
    return t;
}

void moevk_model_free(moevk_model *m) {
    if (!m) return;
    mvk_lm_free(m);
    mvk_xc_free(&m->xc);
    free(m->w.xsrc);
    mvk_weights_free(m);
    mvk_tokenizer_free(m->tok);
    gguf_close(m->tf);
    gguf_close(m->vf);
    vk_ctx_destroy(m->ctx);
    free(m->tel.routes);
    free(m->tel.route_ids);
    free(m->tel.route_w);
    free(m->tel.text);
    free(m->tel.reasoning);
    mvk_chat_close(m);
    free(m->chat.parts);
    free(m->chat.grids);
    free(m);
}

/* The files read and checked, the device opened, the sequence set up: everything a load does before it
 * sizes and uploads (moevk_model_load) or reports the sizes (moevk_model_plan). */
static moevk_status model_open(const moevk_model_params *p, moevk_model **out) {
    *out = NULL;
    if (!p || !p->model_path) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_model_load: no model path given");
    if (p->n_ctx < 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_model_load: n_ctx %d is negative", p->n_ctx);
    if (p->n_ubatch < 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_model_load: n_ubatch %d is negative", p->n_ubatch);
    if (p->image_max_tokens < 0)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_model_load: image_max_tokens %d is negative", p->image_max_tokens);
    if (p->kv_type != MOEVK_KV_F16 && p->kv_type != MOEVK_KV_F32)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_model_load: unknown kv_type %d", (int)p->kv_type);
    moevk_model *m = calloc(1, sizeof *m);
    if (!m) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    moevk_status s;
    /* files first: a bad file is reported before any device work */
    s = gguf_open(p->model_path, &m->tf);
    if (s != MOEVK_OK) {
        mvk_fail_ctx(s, "%s", p->model_path);
        goto fail;
    }
    s = mvk_text_hparams_load(m->tf, &m->hp);
    if (s == MOEVK_OK) s = mvk_text_check_tensors(m->tf, &m->hp);
    if (s == MOEVK_OK && m->hp.fam->unrunnable)
        s = mvk_fail(MOEVK_ERR_UNSUPPORTED, "architecture '%s': moevk reads and checks its keys and tensors (moevk info) but "
                     "cannot run it: %s", m->hp.arch_name, m->hp.fam->unrunnable);
    if (s == MOEVK_OK) s = mvk_tokenizer_from_gguf(m->tf, &m->tok);
    if (s != MOEVK_OK) {
        mvk_fail_ctx(s, "%s", p->model_path);
        goto fail;
    }
    if (p->mmproj_path) {
        if (!m->hp.has_vision_input) {
            s = mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: architecture '%s' is text-only and cannot take an mmproj", p->model_path,
                         m->hp.arch_name);
            goto fail;
        }
        s = gguf_open(p->mmproj_path, &m->vf);
        if (s == MOEVK_OK) s = mvk_vision_hparams_load(m->vf, &m->vis.hp);
        if (s == MOEVK_OK) s = mvk_vision_check_tensors(m->vf, &m->vis.hp);
        if (s != MOEVK_OK) {
            mvk_fail_ctx(s, "%s", p->mmproj_path);
            goto fail;
        }
        s = mvk_check_text_vision_pair(&m->hp, &m->vis.hp);
        if (s != MOEVK_OK) {
            mvk_fail_ctx(s, "%s does not fit %s", p->mmproj_path, p->model_path);
            goto fail;
        }
        m->vis.hp.load_max_tokens = p->image_max_tokens;
        m->has_vision = 1;
    }
    {
        const char *nm = NULL;
        size_t nl = 0;
        if (gguf_has_key(m->tf, "general.name") && gguf_get_str(m->tf, "general.name", &nm, &nl) == MOEVK_OK)
            snprintf(m->name, sizeof m->name, "%.*s", (int)(nl < 127 ? nl : 127), nm);
        else {
            const char *b = strrchr(p->model_path, '/');
            snprintf(m->name, sizeof m->name, "%s", b ? b + 1 : p->model_path);
        }
        mvk_clear_error();
    }
    vk_ctx_params cp = {.device = p->device, .validation = p->validation};
    MVK_TRY_GOTO(fail, mvk_device_mem_request(p, &cp.device_mem));
    MVK_TRY_GOTO(fail, vk_ctx_create(&cp, &m->ctx));
    MVK_TRY_GOTO(fail, vk_stream_create(m->ctx, &m->step.work));
    m->seq.n_ctx = p->n_ctx ? p->n_ctx : 4096;
    if (m->hp.n_ctx_train > 0 && m->seq.n_ctx > m->hp.n_ctx_train) m->seq.n_ctx = (int)m->hp.n_ctx_train;
    m->seq.n_ubatch_req = p->n_ubatch ? p->n_ubatch : 512;
    if (m->has_vision && m->hp.fam->image_both_ways) { /* an image is prefilled in one micro-batch: room for the largest */
        int min_t = 0, max_t = 0;
        mvk_image_budget(&m->vis.hp, 0, 0, &min_t, &max_t);
        if (m->seq.n_ubatch_req < max_t) m->seq.n_ubatch_req = max_t;
    }
    m->seq.n_ubatch = m->seq.n_ubatch_req < m->seq.n_ctx ? m->seq.n_ubatch_req : m->seq.n_ctx;
    m->seq.kv_type = p->kv_type == MOEVK_KV_F32 ? MVK_TYPE_F32 : MVK_TYPE_F16;
    *out = m;
    return MOEVK_OK;
fail:
    moevk_model_free(m);
    return s;
}

moevk_status moevk_model_plan(const moevk_model_params *p, moevk_plan *out) {
    mvk_clear_error();
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_model_plan: out is NULL");
    memset(out, 0, sizeof *out);
    moevk_model *m = NULL;
    MVK_TRY(model_open(p, &m));
    moevk_status s = mvk_placement_report(m, out);
    moevk_model_free(m);
    return s;
}

moevk_status moevk_model_load(const moevk_model_params *p, moevk_model **out) {
    mvk_clear_error();
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_model_load: out is NULL");
    *out = NULL;
    moevk_model *m = NULL;
    MVK_TRY(model_open(p, &m));
    moevk_status s = MOEVK_OK;
    MVK_TRY_GOTO(fail, mvk_placement_plan(m)); /* sizes first: a budget that cannot work fails before any upload */
    {
        uint64_t total = tensor_bytes(m->tf) + (m->vf ? tensor_bytes(m->vf) : 0), done = 0;
        if (p->progress && p->progress("loading", 0.0f, p->progress_user))
            MVK_TRY_GOTO(fail, mvk_fail(MOEVK_ERR_CANCELLED, "loading cancelled"));
        MVK_TRY_GOTO(fail, mvk_weights_load_text(m, p->progress, p->progress_user, total, &done));
        if (m->has_vision) MVK_TRY_GOTO(fail, mvk_weights_load_vision(m, p->progress, p->progress_user, total, &done));
        MVK_TRY_GOTO(fail, mvk_placement_finish(m));
        if (p->progress) p->progress("done", 1.0f, p->progress_user);
    }
    *out = m;
    return MOEVK_OK;
fail:
    moevk_model_free(m);
    return s;
}

moevk_status moevk_model_get_info(const moevk_model *m, moevk_model_info *o) {
    if (!m || !o) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_model_get_info: NULL argument");
    memset(o, 0, sizeof *o);
    snprintf(o->arch, sizeof o->arch, "%s", m->hp.arch_name);
    snprintf(o->name, sizeof o->name, "%s", m->name);
    snprintf(o->device, sizeof o->device, "%s", vk_ctx_info(m->ctx)->name);
    o->n_layer = m->hp.n_layer;
    o->n_embd = m->hp.n_embd;
    o->n_head = m->hp.n_head;
    o->n_head_kv = m->hp.n_head_kv;
    o->head_dim = m->hp.head_dim;
    o->n_vocab = m->hp.n_vocab;
    o->n_expert = m->hp.n_expert;
    o->n_expert_used = m->hp.n_expert_used;
    o->n_moe_layers = m->hp.n_moe_layers;
    o->has_vision = m->has_vision;
    o->n_deepstack = m->hp.n_deepstack;
    o->thinking = m->hp.fam->prompt->think_close != NULL;
    o->n_ctx = m->seq.n_ctx;
    o->weight_bytes = m->w.bytes;
    o->weight_ilv = m->w.ilv;
    o->weight_widened = m->w.n_wide;
    o->weight_widened_bytes = m->w.wide_extra;
    o->validation_messages = vk_ctx_validation_count(m->ctx);
    o->device_bytes = vk_ctx_allocated_bytes(m->ctx);
    return MOEVK_OK;
}

moevk_status moevk_moe_layer_info(const moevk_model *m, int l, int *layer, moevk_mixer *mixer) {
    if (!m) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_moe_layer_info: NULL model");
    for (int il = 0; il < m->hp.n_layer; il++) {
        const mvk_lm_layer *ly = &m->w.layers[il];
        if (ly->moe != l || l < 0) continue;
        if (layer) *layer = il;
        if (mixer)
            *mixer = ly->kind & MVK_LAYER_RECUR ? MOEVK_MIXER_DELTANET
                     : ly->kind & MVK_LAYER_SWA ? MOEVK_MIXER_SLIDING
                                                : MOEVK_MIXER_ATTENTION;
        return MOEVK_OK;
    }
    return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_moe_layer_info: MoE layer %d of %d", l, m->hp.n_moe_layers);
}

moevk_status moevk_moe_layer_ffn(const moevk_model *m, int l, moevk_moe_ffn *ffn) {
    if (!m || !ffn) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_moe_layer_ffn: NULL argument");
    for (int il = 0; il < m->hp.n_layer; il++) {
        const mvk_lm_layer *ly = &m->w.layers[il];
        if (ly->moe != l || l < 0) continue;
        /* a layer both routed and dense (the kind bits of its family's table) runs the dense MLP beside the experts */
        *ffn = ly->kind & MVK_LAYER_DENSE ? MOEVK_FFN_DENSE_MLP
               : ly->gate_inp_shexp.buf   ? MOEVK_FFN_SHARED_EXPERT
                                          : MOEVK_FFN_EXPERTS;
        return MOEVK_OK;
    }
    return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_moe_layer_ffn: MoE layer %d of %d", l, m->hp.n_moe_layers);
}

/* ---------------------------------------------------------------- telemetry */

size_t moevk_routing_count(const moevk_model *m) { return m ? m->tel.n_routes : 0; }

moevk_status moevk_routing_get(const moevk_model *m, size_t i, moevk_token_route *route, int32_t *ids, float *weights,
                               size_t cap) {
    if (!m) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_routing_get: NULL model");
    if (i >= m->tel.n_routes) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_routing_get: token %zu of %zu", i, m->tel.n_routes);
    size_t S = mvk_route_stride(m);
    if ((ids || weights) && cap < S)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_routing_get: capacity %zu, need %zu entries", cap, S);
    if (route) {
        route->pos = m->tel.routes[i].pos;
        route->kind = (moevk_token_kind)m->tel.routes[i].kind;
        route->token = m->tel.routes[i].token;
        route->turn = m->tel.routes[i].turn;
        route->image = m->tel.routes[i].image;
        route->reasoning = m->tel.routes[i].reasoning;
    }
    if (ids && S) memcpy(ids, m->tel.route_ids + i * S, S * sizeof *ids);
    if (weights && S) memcpy(weights, m->tel.route_w + i * S, S * sizeof *weights);
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- prompts */

moevk_status moevk_tokenize(const moevk_model *m, const char *text, int parse_special, int32_t *ids, size_t cap, size_t *n_out) {
    if (!m || !text || !n_out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_tokenize: NULL argument");
    return mvk_tokenize(m->tok, text, strlen(text), parse_special ? MVK_TOK_PARSE_SPECIAL : 0, ids, cap, n_out);
}

/* Finds the single run of image-pad ids. */
static moevk_status find_pad_run(const int32_t *t, int n, int32_t pad, const char *pad_text, int *start, int *len) {
    *start = -1;
    *len = 0;
    for (int i = 0; i < n; i++) {
        if (t[i] != pad) continue;
        if (*start >= 0 && i != *start + *len)
            return mvk_fail(MOEVK_ERR_INVALID_ARG, "the prompt has more than one run of %s tokens; one image per prompt is supported",
                            pad_text);
        if (*start < 0) *start = i;
        (*len)++;
    }
    return MOEVK_OK;
}

moevk_status moevk_eval(moevk_model *m, moevk_eval_params *p) {
    mvk_clear_error();
    if (!m || !p || !p->tokens || p->n_tokens <= 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_eval: no tokens given");
    if (vk_ctx_device_lost(m->ctx))
        return mvk_fail(MOEVK_ERR_DEVICE_LOST, "moevk_eval: the Vulkan device was lost by an earlier call; "
                        "free the model and load it again");
    const mvk_text_hparams *hp = &m->hp;
    const int n = p->n_tokens;
    const size_t V = (size_t)hp->n_vocab, k = (size_t)hp->n_expert_used, L = (size_t)hp->n_moe_layers;
    if (p->logits && p->logits_cap < (size_t)n * V)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_eval: logits buffer holds %zu floats, need %zu", p->logits_cap, (size_t)n * V);
    if ((p->routing_ids || p->routing_weights) && hp->is_moe && p->routing_cap < L * (size_t)n * k)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_eval: routing buffers hold %zu entries, need %zu", p->routing_cap, L * n * k);
    if (p->n_greedy < 0 || (p->n_greedy > 0 && !p->greedy_tokens))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_eval: greedy_tokens is NULL");
    mvk_reset_sequence(m);
    int32_t pad = -1;
    int img_start = -1, img_len = 0, nx = 0, ny = 0;
    const char *pad_text = hp->fam->prompt->image_pad; /* the family's image token */
    if (m->has_vision) MVK_TRY(mvk_special_id(m, pad_text, &pad));
    if (pad >= 0) MVK_TRY(find_pad_run(p->tokens, n, pad, pad_text, &img_start, &img_len));
    int has_image = p->pixels || p->image_path;
    if (has_image && !m->has_vision) return mvk_fail(MOEVK_ERR_INVALID_ARG, "an image was given but no mmproj is loaded");
    if (img_len && !has_image)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "the tokens hold %d %s ids but no image was given", img_len, pad_text);
    if (has_image && !img_len) return mvk_fail(MOEVK_ERR_INVALID_ARG, "an image was given but the tokens hold no %s run", pad_text);
    int n_img = 0;
    moevk_status s = MOEVK_OK;
    float *logits = NULL;
    size_t n_rows = 1;
    vk_buffer *img_rows = NULL;
    mvk_image_prep prep = {0};
    if (has_image) {
        const float *px = p->pixels;
        int w = p->pixels_w, h = p->pixels_h;
        if (!px) {
            int min_t, max_t;
            mvk_image_budget(&m->vis.hp, p->image_min_tokens, p->image_max_tokens, &min_t, &max_t);
            s = mvk_prep_image(m, p->image_path, NULL, 0, 0, min_t, max_t, &prep);
            if (s != MOEVK_OK) goto done;
            px = prep.pixels;
            w = prep.w;
            h = prep.h;
        }
        double t0 = mvk_now_ms();
        int A = m->vis.hp.patch_size * m->vis.hp.spatial_merge;
        nx = w / (A ? A : 1);
        ny = h / (A ? A : 1);
        size_t vcap = p->vision_out ? p->vision_cap : 0;
        s = mvk_vision_encode(m, px, h, w, &img_rows, p->vision_out, vcap, &n_img);
        if (s != MOEVK_OK) goto done;
        m->tel.timings.image_encode_ms = mvk_now_ms() - t0;
        m->tel.timings.n_images = 1;
        m->tel.timings.n_image_tokens = n_img;
        m->tel.timings.image_nx = nx;
        m->tel.timings.image_ny = ny;
        if (n_img != img_len) {
            s = mvk_fail(MOEVK_ERR_SHAPE, "the image gives %d image tokens (%dx%d grid) but the prompt holds %d %s ids",
                         n_img, nx, ny, img_len, pad_text);
            goto done;
        }
    }
    p->n_image_tokens = n_img;
    {
        /* every row's logits only when asked for: [n][n_vocab] is GBs for a long prompt and a 152k vocabulary */
        n_rows = p->logits ? (size_t)n : 1;
        int32_t *pos = malloc((size_t)n * 4 * sizeof *pos);
        logits = malloc(n_rows * V * sizeof *logits);
        if (!pos || !logits) {
            free(pos);
            s = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
            goto done;
        }
        m->seq.pos_next = mvk_prompt_positions_hp(hp, n, n_img ? img_start : -1, nx, ny, 0, pos);
        mvk_lm_batch b = {.tokens = p->tokens, .n = n, .img_start = n_img ? img_start : 0, .n_img = n_img,
                          .img_rows = img_rows, .pos = pos, .logits = logits, .all_logits = p->logits != NULL,
                          .route_ids = hp->is_moe ? p->routing_ids : NULL, .route_w = hp->is_moe ? p->routing_weights : NULL};
        double t0 = mvk_now_ms();
        s = mvk_lm_prefill(m, &b);
        free(pos);
        if (s != MOEVK_OK) goto done;
        m->tel.timings.prefill_ms = mvk_now_ms() - t0;
        m->tel.timings.n_prompt_tokens = n;
    }
    if (p->logits) memcpy(p->logits, logits, (size_t)n * V * sizeof *logits);
    if (p->n_greedy > 0) {
        int32_t tok = mvk_sample_greedy(logits + (n_rows - 1) * V, (int)V);
        double t0 = mvk_now_ms();
        for (int i = 0; i < p->n_greedy; i++) {
            p->greedy_tokens[i] = tok;
            if (i + 1 == p->n_greedy) break;
            const float *lg = NULL;
            s = mvk_lm_decode(m, tok, &lg, NULL, NULL, NULL);
            if (s != MOEVK_OK) goto done;
            tok = mvk_sample_greedy(lg, (int)V);
        }
        m->tel.timings.decode_ms = mvk_now_ms() - t0;
        m->tel.timings.n_generated = p->n_greedy - 1;
    }
done:
    free(logits);
    mvk_image_prep_free(&prep);
    vk_buffer_destroy(img_rows);
    return s;
}

moevk_status moevk_get_timings(const moevk_model *m, moevk_timings *out) {
    if (!m || !out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_get_timings: NULL argument");
    *out = m->tel.timings;
    return MOEVK_OK;
}

static void copy_text(const char *t, size_t tl, char *buf, size_t cap, size_t *len) {
    if (len) *len = tl;
    if (buf && cap) {
        size_t n = tl < cap - 1 ? tl : cap - 1;
        if (n) memcpy(buf, t, n);
        buf[n] = '\0';
    }
}

moevk_status moevk_get_text(const moevk_model *m, char *buf, size_t cap, size_t *len) {
    if (!m) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_get_text: NULL model");
    copy_text(m->tel.text, m->tel.text_len, buf, cap, len);
    return MOEVK_OK;
}

moevk_status moevk_get_reasoning(const moevk_model *m, char *buf, size_t cap, size_t *len) {
    if (!m) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_get_reasoning: NULL model");
    copy_text(m->tel.reasoning, m->tel.reasoning_len, buf, cap, len);
    return MOEVK_OK;
}
