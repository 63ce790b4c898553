/* chat.c — conversations (moevk_chat_start / moevk_chat_turn) and the
 * single-shot moevk_generate built on them.
 *
 * The KV cache holds the conversation as the family's chat template renders
 * it (its mvk_prompt_format, engine/arch/; include/moevk.h): a turn prefills only its own text, after the tokens
 * of the earlier turns that are already cached.
 *
 * llama.cpp's llama-mtmd-cli (tools/mtmd/mtmd-cli.cpp) does almost the same:
 * it does not decode the end-of-generation token it samples, and formats a
 * follow-up with common_chat_format_single(), the difference between the
 * template applied to the history and to the history plus the new message.
 * Because the rendered history ends in "<|im_end|>\n" it prepends only "\n"
 * and the cache never sees the assistant's closing <|im_end|>. We feed
 * "<|im_end|>\n" instead, so the cache equals one prefill of the rendered
 * history (what llama-server's prompt cache also reuses). */
#include <stdlib.h>
#include <string.h>

#include "arch/family.h"
#include "engine_internal.h"
#include "mvk_status.h"
#include "sampling.h"

#define DEFAULT_PROMPT "Describe this image in one sentence."
#define DEFAULT_TEXT_PROMPT "Write one sentence about yourself."

moevk_chat_params moevk_chat_default_params(void) {
    moevk_chat_params p;
    memset(&p, 0, sizeof p);
    p.text_reserve = 192;
    return p;
}

int moevk_chat_turns(const moevk_model *m) { return m && m->chat.open ? m->chat.turns : 0; }

moevk_status moevk_chat_start(moevk_model *m, const moevk_chat_params *p) {
    mvk_clear_error();
    if (!m || !p) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_start: NULL argument");
    if (vk_ctx_device_lost(m->ctx))
        return mvk_fail(MOEVK_ERR_DEVICE_LOST, "moevk_chat_start: the Vulkan device was lost by an earlier call; "
                        "free the model and load it again");
    int has_image = p->image_path || p->image_rgb;
    if (has_image && !m->has_vision)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "an image was given but the model was loaded without an mmproj (--mmproj)");
    if (p->image_rgb && (p->image_w <= 0 || p->image_h <= 0))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "image_rgb given with a bad size %dx%d", p->image_w, p->image_h);
    if (p->text_reserve < 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "text_reserve %d is negative", p->text_reserve);
    mvk_reset_sequence(m);
    if (has_image) {
        /* the image must leave room in the context for the chat text and the answers */
        int min_t, max_t;
        mvk_image_budget(&m->vis.hp, p->image_min_tokens, p->image_max_tokens, &min_t, &max_t);
        int room = m->seq.n_ctx - p->text_reserve;
        if (room < max_t) max_t = room;
        if (min_t > max_t) min_t = max_t;
        if (max_t < 1)
            return mvk_fail(MOEVK_ERR_CONTEXT_FULL, "no room for an image: the context of %d positions minus %d kept for text leaves %d",
                            m->seq.n_ctx, p->text_reserve, room);
        MVK_TRY(mvk_prep_image(m, p->image_path, p->image_rgb, p->image_w, p->image_h, min_t, max_t, &m->chat.img));
        m->chat.has_image = 1;
    }
    if (p->system_prompt && !m->hp.fam->prompt->system_open) {
        mvk_chat_close(m);
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "the %s chat template has no system turn", m->hp.arch_name);
    }
    if (p->system_prompt && !(m->chat.system = strdup(p->system_prompt))) {
        mvk_chat_close(m);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory (system prompt)");
    }
    m->chat.open = 1;
    return MOEVK_OK;
}

/* The tokens a turn prefills: the pending answer token, the closing of the
 * previous assistant turn, the user turn (with the image run on the first
 * turn) and the opening of the assistant turn. */
static moevk_status turn_tokens(moevk_model *m, const char *text, int32_t **ids, size_t *n, size_t *cap, int *img_start,
                                int n_img) {
    const mvk_prompt_format *pf = m->hp.fam->prompt; /* the family's chat template */
    *img_start = -1;
    if (m->chat.turns > 0) {
        if (m->chat.pending >= 0) {
            if (*n + 1 > *cap) {
                int32_t *r = realloc(*ids, (*n + 16) * sizeof *r);
                if (!r) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
                *ids = r;
                *cap = *n + 16;
            }
            (*ids)[(*n)++] = m->chat.pending;
        }
        MVK_TRY(mvk_tok_append(m, pf->turn_end, 1, ids, n, cap));
    } else if (m->chat.system) { /* the first turn opens with the system turn */
        MVK_TRY(mvk_tok_append(m, pf->system_open, 1, ids, n, cap));
        MVK_TRY(mvk_tok_append(m, m->chat.system, 0, ids, n, cap));
        MVK_TRY(mvk_tok_append(m, pf->turn_end, 1, ids, n, cap));
    }
    MVK_TRY(mvk_tok_append(m, pf->user_open, 1, ids, n, cap));
    if (n_img > 0) {
        int32_t vs, ve, pad;
        MVK_TRY(mvk_special_id(m, pf->image_start, &vs));
        MVK_TRY(mvk_special_id(m, pf->image_end, &ve));
        MVK_TRY(mvk_special_id(m, pf->image_pad, &pad));
        if (*n + (size_t)n_img + 2 > *cap) {
            size_t c = *n + (size_t)n_img + 64;
            int32_t *r = realloc(*ids, c * sizeof *r);
            if (!r) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
            *ids = r;
            *cap = c;
        }
        (*ids)[(*n)++] = vs;
        *img_start = (int)*n;
        for (int i = 0; i < n_img; i++) (*ids)[(*n)++] = pad;
        (*ids)[(*n)++] = ve;
    }
    MVK_TRY(mvk_tok_append(m, text, 0, ids, n, cap));
    MVK_TRY(mvk_tok_append(m, pf->assistant_open, 1, ids, n, cap));
    return MOEVK_OK;
}

/* A user turn, then the answer: generated (answer NULL) or given (an earlier
 * exchange a client replays: prefilled with the turn, nothing generated). */
static moevk_status chat_turn(moevk_model *m, const moevk_gen_params *p, const char *answer) {
    mvk_clear_error();
    if (!m || !p) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_turn: NULL argument");
    if (vk_ctx_device_lost(m->ctx))
        return mvk_fail(MOEVK_ERR_DEVICE_LOST, "moevk_chat_turn: the Vulkan device was lost by an earlier call; "
                        "free the model and load it again");
    if (!m->chat.open) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_turn: no conversation (call moevk_chat_start first)");
    if (m->chat.broken)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_turn: an earlier turn failed; start a new conversation (moevk_chat_start)");
    if (p->image_path || p->image_rgb)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_turn: the image of a conversation is given to moevk_chat_start");
    if (!p->prompt || !p->prompt[strspn(p->prompt, " \t\r\n")])
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_turn: the question is empty");
    if (p->n_predict < 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "n_predict %d is negative", p->n_predict);
    const mvk_text_hparams *hp = &m->hp;
    const size_t V = (size_t)hp->n_vocab, S = mvk_route_stride(m), k = (size_t)hp->n_expert_used;
    const int turn = m->chat.turns, first = turn == 0;
    const int n_img = first && m->chat.has_image ? m->chat.img.nx * m->chat.img.ny : 0;
    moevk_status s = MOEVK_OK;
    int32_t *ids = NULL, *rt_ids = NULL, *pos = NULL;
    float *rt_w = NULL, *logits = NULL;
    char *piece = NULL;
    size_t n = 0, cap = 0;
    vk_buffer *img_rows = NULL;
    mvk_sampler smp;
    memset(&smp, 0, sizeof smp);
    int img_start = -1, fed = 0; /* fed: the KV cache changed, a failure now breaks the conversation */
    m->tel.text_len = 0;
    if (m->tel.text) m->tel.text[0] = '\0';
    memset(&m->tel.timings, 0, sizeof m->tel.timings);
    m->tel.timings.turn = turn;
    m->tel.timings.n_ctx = m->seq.n_ctx;
    m->tel.timings.n_ctx_used = m->seq.n_past;
    TRY(turn_tokens(m, p->prompt, &ids, &n, &cap, &img_start, n_img));
    if (answer) TRY(mvk_tok_append(m, answer, 0, &ids, &n, &cap));
    /* checked before any work: a question that does not fit changes nothing */
    if (m->seq.n_past + (int64_t)n > m->seq.n_ctx)
        TRY(mvk_fail(MOEVK_ERR_CONTEXT_FULL,
                     "the context is full: this turn needs %zu positions but %d of the context's %d are free; "
                     "start a new conversation (or raise n_ctx)",
                     n, m->seq.n_ctx - m->seq.n_past, m->seq.n_ctx));
    if (n_img > 0) {
        double t0 = mvk_now_ms();
        int got = 0;
        TRY(mvk_vision_encode(m, m->chat.img.pixels, m->chat.img.h, m->chat.img.w, &img_rows, NULL, 0, &got));
        if (got != n_img) TRY(mvk_fail(MOEVK_ERR_INTERNAL, "the image gave %d tokens, expected %d", got, n_img));
        m->tel.timings.image_encode_ms = mvk_now_ms() - t0;
        m->tel.timings.n_image_tokens = n_img;
        m->tel.timings.image_nx = m->chat.img.nx;
        m->tel.timings.image_ny = m->chat.img.ny;
    }
    {
        pos = malloc(n * 4 * sizeof *pos);
        logits = malloc(V * sizeof *logits);
        if (S) {
            rt_ids = malloc(S * n * sizeof *rt_ids);
            rt_w = malloc(S * n * sizeof *rt_w);
        }
        if (!pos || !logits || (S && (!rt_ids || !rt_w))) TRY(mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory"));
        int nx = n_img ? m->chat.img.nx : 0, ny = n_img ? m->chat.img.ny : 0;
        int pos_after = mvk_prompt_positions((int)n, img_start, nx, ny, m->seq.pos_next, pos);
        mvk_lm_batch b = {.tokens = ids, .n = (int)n, .img_start = n_img ? img_start : 0, .n_img = n_img, .img_rows = img_rows,
                          .pos = pos, .logits = logits, .all_logits = 0, .route_ids = rt_ids, .route_w = rt_w};
        int n_past0 = m->seq.n_past;
        double t0 = mvk_now_ms();
        fed = 1;
        TRY(mvk_lm_prefill(m, &b));
        m->seq.pos_next = pos_after;
        m->tel.timings.prefill_ms = mvk_now_ms() - t0;
        m->tel.timings.n_prompt_tokens = (int)n;
        int pend = turn > 0 && m->chat.pending >= 0; /* ids[0] is the last answer token of the previous turn */
        m->chat.pending = -1;
        for (size_t i = 0; i < n; i++) {
            int is_img = n_img && (int)i >= img_start && (int)i < img_start + n_img;
            int is_prev = pend && i == 0;
            moevk_token_kind kd = is_img ? MOEVK_TOKEN_IMAGE : is_prev ? MOEVK_TOKEN_GENERATED : MOEVK_TOKEN_PROMPT;
            TRY(mvk_route_push(m, (int32_t)(n_past0 + (int)i), kd, is_img ? -1 : ids[i], is_prev ? turn - 1 : turn,
                               S ? rt_ids + i * k : NULL, S ? rt_w + i * k : NULL, n));
        }
    }
    if (n_img) mvk_image_prep_free(&m->chat.img); /* encoded: not needed again */
    if (answer) goto done; /* a replayed exchange: its answer is in the cache, nothing to generate */
    /* decode */
    mvk_sampler_params sp = {.temp = p->temp, .top_k = p->top_k, .top_p = p->top_p, .seed = p->seed};
    TRY(mvk_sampler_init(&smp, &sp, (int)V));
    mvk_detok dt;
    mvk_detok_init(&dt, m->tok, 0);
    size_t pcap = mvk_detok_bound(m->tok);
    piece = malloc(pcap + 1);
    if (!piece) TRY(mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory"));
    {
        int32_t tok;
        s = mvk_sampler_sample(&smp, logits, (int)V, &tok);
        double t0 = mvk_now_ms();
        int stop = 0;
        for (int i = 0; s == MOEVK_OK && i < p->n_predict && !stop; i++) {
            if (mvk_tokenizer_is_eog(m->tok, tok)) break;
            size_t pn = 0;
            s = mvk_detok_push(&dt, tok, piece, pcap, &pn);
            if (s != MOEVK_OK) break;
            m->chat.pending = tok; /* streamed, not yet fed back */
            if (pn) {
                s = mvk_text_append(m, piece, pn);
                if (s != MOEVK_OK) break;
                piece[pn] = '\0';
                if (p->on_token && p->on_token(piece, tok, p->user)) stop = 1;
            }
            m->tel.timings.n_generated++;
            if (stop || i + 1 == p->n_predict) break;
            const float *lg;
            const int32_t *ri;
            const float *rw;
            int32_t amax;
            s = mvk_lm_decode(m, tok, &lg, &ri, &rw, &amax);
            if (s != MOEVK_OK) break;
            m->chat.pending = -1;
            s = mvk_route_push(m, m->seq.n_past - 1, MOEVK_TOKEN_GENERATED, tok, turn, ri, rw, 1);
            if (s != MOEVK_OK) break;
            if (p->temp <= 0) tok = amax; /* greedy: the argmax computed on the GPU */
            else s = mvk_sampler_sample(&smp, lg, (int)V, &tok);
        }
        m->tel.timings.decode_ms = mvk_now_ms() - t0;
        size_t pn = 0;
        /* a callback that asked to stop is not called again */
        if (s == MOEVK_OK && !stop && mvk_detok_flush(&dt, piece, pcap, &pn) == MOEVK_OK && pn) {
            s = mvk_text_append(m, piece, pn);
            piece[pn] = '\0';
            if (s == MOEVK_OK && p->on_token) p->on_token(piece, -1, p->user);
        }
    }
done:
    /* the answer counts as a turn even when the cache filled while decoding:
     * its text is kept and the next turn reports CONTEXT_FULL */
    if (s == MOEVK_OK || (fed && s == MOEVK_ERR_CONTEXT_FULL && m->tel.timings.n_prompt_tokens > 0)) m->chat.turns++;
    else if (fed) m->chat.broken = 1;
    m->tel.timings.n_ctx_used = m->seq.n_past;
    free(piece);
    mvk_sampler_free(&smp);
    free(ids);
    free(pos);
    free(logits);
    free(rt_ids);
    free(rt_w);
    vk_buffer_destroy(img_rows);
    return s;
}

moevk_status moevk_chat_turn(moevk_model *m, const moevk_gen_params *p) { return chat_turn(m, p, NULL); }

moevk_status moevk_chat_add_turn(moevk_model *m, const char *user, const char *assistant) {
    if (!assistant) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_add_turn: the answer is NULL");
    moevk_gen_params gp = moevk_gen_default_params();
    gp.prompt = user;
    gp.n_predict = 0;
    return chat_turn(m, &gp, assistant);
}

moevk_status moevk_generate(moevk_model *m, const moevk_gen_params *p) {
    mvk_clear_error();
    if (!m || !p) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_generate: NULL argument");
    if (p->n_predict < 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "n_predict %d is negative", p->n_predict);
    moevk_chat_params cp = moevk_chat_default_params();
    cp.image_path = p->image_path;
    cp.image_rgb = p->image_rgb;
    cp.image_w = p->image_w;
    cp.image_h = p->image_h;
    cp.image_min_tokens = p->image_min_tokens;
    cp.image_max_tokens = p->image_max_tokens;
    cp.text_reserve = 64 + p->n_predict;
    MVK_TRY(moevk_chat_start(m, &cp));
    moevk_gen_params tp = *p;
    tp.image_path = NULL;
    tp.image_rgb = NULL;
    if (!tp.prompt) tp.prompt = m->chat.has_image ? DEFAULT_PROMPT : DEFAULT_TEXT_PROMPT;
    return moevk_chat_turn(m, &tp);
}
