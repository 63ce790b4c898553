/* chat.c — conversations (moevk_chat_start / moevk_chat_turn) and the
 * single-shot moevk_generate built on them.
 *
 * The KV cache holds the conversation as the family's chat template renders
 * it (its mvk_prompt_format, engine/arch/; include/moevk.h): a turn prefills only its own text and images, after
 * the tokens of the earlier turns that are already cached. Images join the user turn being composed (its
 * parts, in order) and are encoded by the turn that prefills them, once.
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
#include "reasoning.h"
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

static moevk_status chat_usable(const moevk_model *m, const char *fn) {
    if (!m) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL model", fn);
    if (vk_ctx_device_lost(m->ctx))
        return mvk_fail(MOEVK_ERR_DEVICE_LOST, "%s: the Vulkan device was lost by an earlier call; "
                        "free the model and load it again", fn);
    if (!m->chat.open) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: no conversation (call moevk_chat_start first)", fn);
    if (m->chat.broken)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: an earlier turn failed; start a new conversation (moevk_chat_start)", fn);
    return MOEVK_OK;
}

/* A free slot at the end of the parts of the user turn being composed. */
static moevk_status part_slot(moevk_model *m, mvk_chat_part **out) {
    mvk_chat *c = &m->chat;
    if (c->n_parts == c->cap_parts) {
        int cap = c->cap_parts ? c->cap_parts * 2 : 4;
        mvk_chat_part *r = realloc(c->parts, (size_t)cap * sizeof *r);
        if (!r) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        c->parts = r;
        c->cap_parts = cap;
    }
    *out = &c->parts[c->n_parts];
    memset(*out, 0, sizeof **out);
    return MOEVK_OK;
}

/* Loads an image into the next user turn, its token budget capped so that
 * every image of the conversation leaves text_reserve positions for text. */
static moevk_status add_image(moevk_model *m, const moevk_chat_image *ci) {
    if (!ci->image_path && !ci->image_rgb) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_add_image: no image_path or image_rgb");
    if (!m->has_vision)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "an image was given but the model was loaded without an mmproj (--mmproj)");
    if (ci->image_rgb && (ci->image_w <= 0 || ci->image_h <= 0))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "image_rgb given with a bad size %dx%d", ci->image_w, ci->image_h);
    int min_t, max_t;
    mvk_image_budget(&m->vis.hp, ci->image_min_tokens, ci->image_max_tokens, &min_t, &max_t);
    int used = m->seq.n_past + m->chat.n_part_tokens;
    int room = m->seq.n_ctx - used - m->chat.text_reserve;
    if (room < max_t) max_t = room;
    if (min_t > max_t) min_t = max_t;
    if (max_t < 1)
        return mvk_fail(MOEVK_ERR_CONTEXT_FULL,
                        "no room for an image: the context of %d positions, %d of them in use, minus %d kept for text leaves %d",
                        m->seq.n_ctx, used, m->chat.text_reserve, room);
    mvk_chat_part *pt = NULL;
    MVK_TRY(part_slot(m, &pt));
    MVK_TRY(mvk_prep_image(m, ci->image_path, ci->image_rgb, ci->image_w, ci->image_h, min_t, max_t, &pt->img));
    m->chat.n_parts++;
    m->chat.n_part_tokens += pt->img.nx * pt->img.ny;
    return MOEVK_OK;
}

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
    if (p->system_prompt && !m->hp.fam->prompt->system_open)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "the %s chat template has no system turn", m->hp.arch_name);
    if (p->think) {
        const mvk_prompt_format *pf = m->hp.fam->prompt;
        if (!pf->think_close)
            return mvk_fail(MOEVK_ERR_INVALID_ARG, "the %s chat template has no thinking mode (think is for families "
                            "whose template writes a reasoning block, such as qwen35moe)", m->hp.arch_name);
        int32_t id;
        MVK_TRY(mvk_special_id(m, pf->think_open, &id)); /* the tags are single tokens of the vocabulary */
        MVK_TRY(mvk_special_id(m, pf->think_close, &id));
    }
    mvk_reset_sequence(m);
    m->chat.text_reserve = p->text_reserve;
    m->chat.think = p->think != 0;
    if (has_image) {
        moevk_chat_image ci = {.image_path = p->image_path, .image_rgb = p->image_rgb, .image_w = p->image_w,
                               .image_h = p->image_h, .image_min_tokens = p->image_min_tokens,
                               .image_max_tokens = p->image_max_tokens};
        moevk_status s = add_image(m, &ci);
        if (s != MOEVK_OK) {
            mvk_chat_close(m);
            return s;
        }
    }
    if (p->system_prompt && !(m->chat.system = strdup(p->system_prompt))) {
        mvk_chat_close(m);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory (system prompt)");
    }
    m->chat.open = 1;
    return MOEVK_OK;
}

moevk_status moevk_chat_add_image(moevk_model *m, const moevk_chat_image *img) {
    mvk_clear_error();
    if (!img) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_add_image: NULL image");
    MVK_TRY(chat_usable(m, "moevk_chat_add_image"));
    return add_image(m, img);
}

moevk_status moevk_chat_add_text(moevk_model *m, const char *text) {
    mvk_clear_error();
    if (!text) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_add_text: NULL text");
    MVK_TRY(chat_usable(m, "moevk_chat_add_text"));
    if (!text[0]) return MOEVK_OK;
    mvk_chat_part *pt = NULL;
    MVK_TRY(part_slot(m, &pt));
    if (!(pt->text = strdup(text))) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    m->chat.n_parts++;
    return MOEVK_OK;
}

int moevk_chat_images(const moevk_model *m) { return m && m->chat.open ? m->chat.n_images : 0; }

moevk_status moevk_chat_image_grid(const moevk_model *m, int i, int *nx, int *ny) {
    if (!m || !nx || !ny) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_image_grid: NULL argument");
    int n = moevk_chat_images(m);
    if (i < 0 || i >= n) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_image_grid: image %d of %d", i, n);
    *nx = m->chat.grids[2 * i];
    *ny = m->chat.grids[2 * i + 1];
    return MOEVK_OK;
}

/* An image run of a turn's tokens: [start, start + nx*ny) are its pads. */
typedef struct turn_image {
    int start, nx, ny;
    mvk_chat_part *part;
} turn_image;

static moevk_status grow_ids(int32_t **ids, size_t *cap, size_t need) {
    if (need <= *cap) return MOEVK_OK;
    size_t c = need + 64;
    int32_t *r = realloc(*ids, c * sizeof *r);
    if (!r) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    *ids = r;
    *cap = c;
    return MOEVK_OK;
}

/* Text parts that follow each other, tokenized as one text (as a template
 * renders them), then emptied. */
static moevk_status flush_text(moevk_model *m, char **buf, size_t *len, int32_t **ids, size_t *n, size_t *cap) {
    if (!*len) return MOEVK_OK;
    moevk_status s = mvk_tok_append(m, *buf, 0, ids, n, cap);
    *len = 0;
    (*buf)[0] = '\0';
    return s;
}

static moevk_status text_push(char **buf, size_t *len, size_t *cap, const char *t) {
    size_t l = strlen(t);
    if (*len + l + 1 > *cap) {
        size_t c = (*len + l + 1) * 2;
        char *r = realloc(*buf, c);
        if (!r) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        *buf = r;
        *cap = c;
    }
    memcpy(*buf + *len, t, l + 1);
    *len += l;
    return MOEVK_OK;
}

/* The tokens a turn prefills: the pending answer token, the closing of the
 * previous assistant turn (or the system turn), the user turn -- its parts in
 * order, an image as start, pads, end -- then the question and the opening of
 * the assistant turn, with thinking on or off (think), which starts at
 * ids[*open_at]. The image runs go to img[] (one per image part). */
static moevk_status turn_tokens(moevk_model *m, const char *text, int think, int32_t **ids, size_t *n, size_t *cap,
                                turn_image *img, int *n_img, size_t *open_at) {
    const mvk_prompt_format *pf = m->hp.fam->prompt; /* the family's chat template */
    const char *sys_think = think ? pf->system_think : NULL;
    *n_img = 0;
    if (m->chat.turns > 0) {
        if (m->chat.pending >= 0) {
            MVK_TRY(grow_ids(ids, cap, *n + 1));
            (*ids)[(*n)++] = m->chat.pending;
        }
        MVK_TRY(mvk_tok_append(m, pf->turn_end, 1, ids, n, cap));
    } else if (pf->open_bos && mvk_tokenizer_bos(m->tok) >= 0) { /* gemma4: the conversation opens with <bos> */
        MVK_TRY(grow_ids(ids, cap, *n + 1));
        (*ids)[(*n)++] = mvk_tokenizer_bos(m->tok);
    }
    if (m->chat.turns == 0 && (m->chat.system || sys_think)) { /* the first turn opens with the system turn */
        MVK_TRY(mvk_tok_append(m, pf->system_open, 1, ids, n, cap));
        if (sys_think) MVK_TRY(mvk_tok_append(m, sys_think, 1, ids, n, cap));
        if (m->chat.system) MVK_TRY(mvk_tok_append(m, m->chat.system, 0, ids, n, cap));
        MVK_TRY(mvk_tok_append(m, pf->turn_end, 1, ids, n, cap));
    }
    MVK_TRY(mvk_tok_append(m, pf->user_open, 1, ids, n, cap));
    char *buf = NULL;
    size_t len = 0, bcap = 0;
    moevk_status s = text_push(&buf, &len, &bcap, "");
    for (int i = 0; s == MOEVK_OK && i < m->chat.n_parts; i++) {
        mvk_chat_part *pt = &m->chat.parts[i];
        if (pt->text) {
            s = text_push(&buf, &len, &bcap, pt->text);
            continue;
        }
        s = flush_text(m, &buf, &len, ids, n, cap);
        int32_t vs, ve, pad;
        if (s == MOEVK_OK) s = mvk_special_id(m, pf->image_start, &vs);
        if (s == MOEVK_OK) s = mvk_special_id(m, pf->image_end, &ve);
        if (s == MOEVK_OK) s = mvk_special_id(m, pf->image_pad, &pad);
        int np = pt->img.nx * pt->img.ny;
        if (s == MOEVK_OK) s = grow_ids(ids, cap, *n + (size_t)np + 2);
        if (s != MOEVK_OK) break;
        (*ids)[(*n)++] = vs;
        img[*n_img] = (turn_image){(int)*n, pt->img.nx, pt->img.ny, pt};
        (*n_img)++;
        for (int j = 0; j < np; j++) (*ids)[(*n)++] = pad;
        (*ids)[(*n)++] = ve;
    }
    if (s == MOEVK_OK && text) s = text_push(&buf, &len, &bcap, text);
    if (s == MOEVK_OK) s = flush_text(m, &buf, &len, ids, n, cap);
    free(buf);
    MVK_TRY(s);
    *open_at = *n;
    const char *open = think && pf->assistant_open_think ? pf->assistant_open_think : pf->assistant_open;
    MVK_TRY(mvk_tok_append(m, open, 1, ids, n, cap));
    return MOEVK_OK;
}

/* Remembers the grid of each image of a prefilled turn (moevk_chat_image_grid). */
static moevk_status keep_grids(moevk_model *m, const turn_image *img, int n_img) {
    mvk_chat *c = &m->chat;
    if (c->n_images + n_img > c->cap_images) {
        int cap = (c->n_images + n_img) * 2;
        int32_t *r = realloc(c->grids, (size_t)cap * 2 * sizeof *r);
        if (!r) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        c->grids = r;
        c->cap_images = cap;
    }
    for (int i = 0; i < n_img; i++) {
        c->grids[2 * (c->n_images + i)] = img[i].nx;
        c->grids[2 * (c->n_images + i) + 1] = img[i].ny;
    }
    c->n_images += n_img;
    return MOEVK_OK;
}

/* Prefills a turn's tokens ids[0..n) and records their routing. One batch
 * holds at most one image (mvk_lm_batch), so a turn with several is prefilled
 * in segments, each starting at an image's start token; positions run on
 * across them as in one prompt (mvk_prompt_positions). Leaves the last
 * token's logits in logits. */
static moevk_status prefill_turn(moevk_model *m, const int32_t *ids, size_t n, const turn_image *img, int n_img,
                                 vk_buffer *const *rows, int pend, int turn, float *logits) {
    const size_t S = mvk_route_stride(m), k = (size_t)m->hp.n_expert_used;
    moevk_status s = MOEVK_OK;
    int32_t *pos = malloc(n * 4 * sizeof *pos);
    int32_t *rt_ids = S ? malloc(S * n * sizeof *rt_ids) : NULL;
    float *rt_w = S ? malloc(S * n * sizeof *rt_w) : NULL;
    if (!pos || (S && (!rt_ids || !rt_w))) s = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    int n_seg = n_img > 1 ? n_img : 1;
    for (int g = 0; s == MOEVK_OK && g < n_seg; g++) {
        /* segment g: from image g's start token (the turn's first token for g = 0) to image g+1's */
        size_t b = g == 0 ? 0 : (size_t)img[g].start - 1;
        size_t e = g + 1 < n_seg ? (size_t)img[g + 1].start - 1 : n;
        int sn = (int)(e - b);
        const turn_image *ti = n_img ? &img[g] : NULL;
        int is = ti ? ti->start - (int)b : -1, np = ti ? ti->nx * ti->ny : 0;
        int pos_after = mvk_prompt_positions_hp(&m->hp, sn, is, ti ? ti->nx : 0, ti ? ti->ny : 0, m->seq.pos_next, pos);
        mvk_lm_batch bt = {.tokens = ids + b, .n = sn, .img_start = np ? is : 0, .n_img = np,
                           .img_rows = np ? rows[g] : NULL, .pos = pos, .logits = logits, .all_logits = 0,
                           .route_ids = rt_ids, .route_w = rt_w};
        int n_past0 = m->seq.n_past;
        s = mvk_lm_prefill(m, &bt);
        if (s != MOEVK_OK) break;
        m->seq.pos_next = pos_after;
        for (int i = 0; s == MOEVK_OK && i < sn; i++) {
            int is_img = np && i >= is && i < is + np;
            int is_prev = pend && b + (size_t)i == 0; /* ids[0] is the last answer token of the previous turn */
            moevk_token_kind kd = is_img ? MOEVK_TOKEN_IMAGE : is_prev ? MOEVK_TOKEN_GENERATED : MOEVK_TOKEN_PROMPT;
            s = mvk_route_push(m, (int32_t)(n_past0 + i), kd, is_img ? -1 : ids[b + (size_t)i], is_prev ? turn - 1 : turn,
                               is_img ? m->chat.n_images + g : -1, is_prev ? m->chat.pending_reasoning : 0,
                               S ? rt_ids + (size_t)i * k : NULL, S ? rt_w + (size_t)i * k : NULL, (size_t)sn);
        }
    }
    free(pos);
    free(rt_ids);
    free(rt_w);
    return s;
}

/* The reasoning splitter of a turn: the family's tags (moevk_chat_start checked that they are in the
 * vocabulary when thinking is on), and whether its prompt (from the opening of the assistant turn,
 * open[0..n)) leaves a block open. Without a thinking mode (or the tags) it never finds a tag. */
static void reasoning_init(const moevk_model *m, mvk_reasoning *rs, const int32_t *open, size_t n, int budget) {
    const mvk_prompt_format *pf = m->hp.fam->prompt;
    int32_t o = -1, c = -1;
    if (pf->think_open) o = mvk_tokenizer_find(m->tok, pf->think_open, strlen(pf->think_open));
    if (pf->think_close) c = mvk_tokenizer_find(m->tok, pf->think_close, strlen(pf->think_close));
    mvk_reasoning_init(rs, o, c, pf->think_label, mvk_reasoning_prompt_state(open, n, o, c), budget);
}

/* Text ready to go out (text[n] is its NUL: mvk_reasoning's output): to the reasoning or to the answer
 * (its buffer, then its callback unless one asked to stop). */
static moevk_status deliver(moevk_model *m, const moevk_gen_params *p, int reasoning, const char *text, size_t n,
                            int32_t tok, int *stop) {
    MVK_TRY(reasoning ? mvk_reasoning_append(m, text, n) : mvk_text_append(m, text, n));
    moevk_token_cb cb = reasoning ? p->on_reasoning : p->on_token;
    if (!*stop && cb && cb(text, tok, p->user)) *stop = 1;
    return MOEVK_OK;
}

/* A token's text, in the phase the splitter is in (trimmed at the edges of a block and an answer). */
static moevk_status emit_text(moevk_model *m, const moevk_gen_params *p, mvk_reasoning *rs, const char *piece,
                              size_t n, int32_t tok, int *stop) {
    const char *out;
    size_t on;
    MVK_TRY(mvk_reasoning_filter(rs, piece, n, &out, &on));
    return on ? deliver(m, p, rs->in, out, on, tok, stop) : MOEVK_OK;
}

/* A user turn, then the answer: generated (answer NULL) or given (an earlier
 * exchange a client replays: prefilled with the turn, nothing generated). */
static moevk_status chat_turn(moevk_model *m, const moevk_gen_params *p, const char *answer) {
    mvk_clear_error();
    if (!p) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_turn: NULL argument");
    MVK_TRY(chat_usable(m, "moevk_chat_turn"));
    if (p->image_path || p->image_rgb)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_turn: images join a conversation through moevk_chat_start "
                        "and moevk_chat_add_image");
    int has_text = p->prompt && p->prompt[strspn(p->prompt, " \t\r\n")];
    if (!has_text && !m->chat.n_parts) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_chat_turn: the question is empty");
    if (p->n_predict < 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "n_predict %d is negative", p->n_predict);
    if (p->reasoning_budget < -1)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "reasoning_budget %d: -1 (unlimited) or a count of tokens", p->reasoning_budget);
    const mvk_text_hparams *hp = &m->hp;
    const size_t V = (size_t)hp->n_vocab;
    const int turn = m->chat.turns;
    moevk_status s = MOEVK_OK;
    int32_t *ids = NULL;
    float *logits = NULL;
    char *piece = NULL;
    size_t n = 0, cap = 0;
    int n_img = 0;
    size_t open_at = 0;
    const int think = m->chat.think && !answer; /* a replayed exchange is rendered with thinking off */
    mvk_reasoning rs;
    memset(&rs, 0, sizeof rs);
    turn_image *img = calloc((size_t)m->chat.n_parts + 1, sizeof *img);
    vk_buffer **rows = calloc((size_t)m->chat.n_parts + 1, sizeof *rows);
    mvk_sampler smp;
    memset(&smp, 0, sizeof smp);
    int fed = 0; /* the KV cache changed: a failure now breaks the conversation */
    if (!img || !rows) TRY(mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory"));
    mvk_text_clear(m);
    memset(&m->tel.timings, 0, sizeof m->tel.timings);
    m->tel.timings.turn = turn;
    m->tel.timings.n_ctx = m->seq.n_ctx;
    m->tel.timings.n_ctx_used = m->seq.n_past;
    TRY(turn_tokens(m, p->prompt, think, &ids, &n, &cap, img, &n_img, &open_at));
    if (answer) TRY(mvk_tok_append(m, answer, 0, &ids, &n, &cap));
    /* checked before any work: a question that does not fit changes nothing */
    if (m->seq.n_past + (int64_t)n > m->seq.n_ctx)
        TRY(mvk_fail(MOEVK_ERR_CONTEXT_FULL,
                     "the context is full: this turn needs %zu positions but %d of the context's %d are free; "
                     "start a new conversation (or raise n_ctx)",
                     n, m->seq.n_ctx - m->seq.n_past, m->seq.n_ctx));
    /* every image of the turn encoded before the prefill: a failure here still changes nothing */
    for (int i = 0; i < n_img; i++) {
        double t0 = mvk_now_ms();
        int got = 0, want = img[i].nx * img[i].ny;
        const mvk_image_prep *ip = &img[i].part->img;
        TRY(mvk_vision_encode(m, ip->pixels, ip->h, ip->w, &rows[i], NULL, 0, &got));
        if (got != want) TRY(mvk_fail(MOEVK_ERR_INTERNAL, "image %d gave %d tokens, expected %d", i, got, want));
        m->tel.timings.image_encode_ms += mvk_now_ms() - t0;
        m->tel.timings.n_image_tokens += want;
        m->tel.timings.image_nx = img[i].nx;
        m->tel.timings.image_ny = img[i].ny;
    }
    m->tel.timings.n_images = n_img;
    logits = malloc(V * sizeof *logits);
    if (!logits) TRY(mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory"));
    {
        double t0 = mvk_now_ms();
        int pend = turn > 0 && m->chat.pending >= 0;
        fed = 1;
        TRY(prefill_turn(m, ids, n, img, n_img, rows, pend, turn, logits));
        m->chat.pending = -1;
        m->tel.timings.prefill_ms = mvk_now_ms() - t0;
        m->tel.timings.n_prompt_tokens = (int)n;
        TRY(keep_grids(m, img, n_img));
        mvk_chat_parts_clear(m); /* prefilled: the images are not needed again */
    }
    if (answer) goto done; /* a replayed exchange: its answer is in the cache, nothing to generate */
    /* decode */
    reasoning_init(m, &rs, ids + open_at, n - open_at, p->reasoning_budget);
    mvk_sampler_params sp = {.temp = p->temp, .top_k = p->top_k, .top_p = p->top_p, .seed = p->seed};
    TRY(mvk_sampler_init(&smp, &sp, (int)V));
    mvk_detok dt;
    mvk_detok_init(&dt, m->tok, 0);
    size_t pcap = mvk_detok_bound(m->tok);
    piece = malloc(pcap + 1);
    if (!piece) TRY(mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory"));
    {
        int32_t tok = mvk_reasoning_forced(&rs);
        if (tok < 0) s = mvk_sampler_sample(&smp, logits, (int)V, &tok);
        double t0 = mvk_now_ms();
        int stop = 0;
        for (int i = 0; s == MOEVK_OK && i < p->n_predict && !stop; i++) {
            if (mvk_tokenizer_is_eog(m->tok, tok)) break;
            size_t pn = 0;
            if (mvk_reasoning_is_tag(&rs, tok)) {
                /* a tag carries no text: what the detokenizer still holds belongs to the text before it */
                s = mvk_detok_flush(&dt, piece, pcap, &pn);
                if (s == MOEVK_OK && pn) s = emit_text(m, p, &rs, piece, pn, tok, &stop);
                if (s != MOEVK_OK) break;
                pn = 0;
            } else {
                s = mvk_detok_push(&dt, tok, piece, pcap, &pn);
                if (s != MOEVK_OK) break;
            }
            const char *held;
            size_t hn;
            unsigned f = mvk_reasoning_step(&rs, tok, &held, &hn); /* a tag opens or closes a block */
            if (hn) s = deliver(m, p, 1, held, hn, tok, &stop);
            if (s != MOEVK_OK) break;
            m->chat.pending = tok; /* streamed, not yet fed back */
            m->chat.pending_reasoning = (f & MVK_RS_REASONING) != 0;
            if (pn && !stop) s = emit_text(m, p, &rs, piece, pn, tok, &stop);
            if (s != MOEVK_OK) break;
            m->tel.timings.n_generated++;
            if (stop || i + 1 == p->n_predict) break;
            const float *lg;
            const int32_t *ri;
            const float *rw;
            int32_t amax;
            s = mvk_lm_decode(m, tok, &lg, &ri, &rw, &amax);
            if (s != MOEVK_OK) break;
            m->chat.pending = -1;
            s = mvk_route_push(m, m->seq.n_past - 1, MOEVK_TOKEN_GENERATED, tok, turn, -1, m->chat.pending_reasoning, ri,
                               rw, 1);
            if (s != MOEVK_OK) break;
            if ((tok = mvk_reasoning_forced(&rs)) >= 0) continue; /* the reasoning budget is spent: close the block */
            if (p->temp <= 0) tok = amax; /* greedy: the argmax computed on the GPU */
            else s = mvk_sampler_sample(&smp, lg, (int)V, &tok);
        }
        m->tel.timings.decode_ms = mvk_now_ms() - t0;
        m->tel.timings.n_reasoning = rs.n_tokens;
        size_t pn = 0;
        /* a callback that asked to stop is not called again */
        if (s == MOEVK_OK && !stop && mvk_detok_flush(&dt, piece, pcap, &pn) == MOEVK_OK && pn)
            s = emit_text(m, p, &rs, piece, pn, -1, &stop);
    }
done:
    /* the answer counts as a turn even when the cache filled while decoding:
     * its text is kept and the next turn reports CONTEXT_FULL */
    if (s == MOEVK_OK || (fed && s == MOEVK_ERR_CONTEXT_FULL && m->tel.timings.n_prompt_tokens > 0)) m->chat.turns++;
    else if (fed) m->chat.broken = 1;
    m->tel.timings.n_ctx_used = m->seq.n_past;
    free(piece);
    mvk_sampler_free(&smp);
    mvk_reasoning_free(&rs);
    free(ids);
    free(logits);
    for (int i = 0; rows && i < n_img; i++) vk_buffer_destroy(rows[i]);
    free(rows);
    free(img);
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
    cp.think = p->think;
    MVK_TRY(moevk_chat_start(m, &cp));
    moevk_gen_params tp = *p;
    tp.image_path = NULL;
    tp.image_rgb = NULL;
    if (!tp.prompt) tp.prompt = m->chat.n_parts ? DEFAULT_PROMPT : DEFAULT_TEXT_PROMPT;
    return moevk_chat_turn(m, &tp);
}
