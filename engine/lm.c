/* lm.c — the language model on the GPU: embedding (image rows spliced in at
 * the image-pad positions), the decoder layers as the model's family records
 * them (engine/arch/<arch>.c over the layer toolkit, engine/arch/layers.c),
 * final norm and LM head. Routing never leaves the GPU during the forward pass; the ids and
 * weights are copied out after it for telemetry.
 *
 * Prefill records a fresh stream per prompt. The decode step is recorded once
 * and replayed per token: the token id, KV index, KV length and position are
 * read from a small host-visible parameter buffer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch/layers.h"
#include "engine_internal.h"
#include "mvk_status.h"


uint64_t mvk_lm_recur_state_bytes(const mvk_text_hparams *hp, uint64_t *conv_bytes) {
    const uint64_t S = (uint64_t)hp->ssm_state, Hk = (uint64_t)hp->ssm_groups, Hv = (uint64_t)hp->ssm_heads_v;
    const uint64_t K = hp->ssm_conv > 1 ? (uint64_t)hp->ssm_conv : 1;
    uint64_t conv = (K - 1) * (2 * S * Hk + (uint64_t)hp->ssm_inner) * 4; /* [conv channels][K-1] f32 */
    if (conv_bytes) *conv_bytes = conv;
    return conv + Hv * S * S * 4; /* + [H_v][S][S] f32 */
}

moevk_status mvk_lm_kv_alloc(moevk_model *m) {
    const mvk_text_hparams *hp = &m->hp;
    uint64_t conv = 0, all = mvk_lm_recur_state_bytes(hp, &conv);
    for (int il = 0; il < hp->n_layer; il++) {
        mvk_lm_layer *l = &m->w.layers[il];
        const mvk_attn_geom g = mvk_layer_geom(hp, l->kind); /* the layer's own KV row (gemma4's two kinds) */
        uint64_t row = (uint64_t)mvk_row_bytes(m->seq.kv_type, g.Hkv * g.hd);
        uint64_t rowv = (uint64_t)mvk_row_bytes(m->seq.kv_type, g.Hkv * g.hdv);
        if (l->kind & MVK_LAYER_RECUR) { /* a recurrent state instead of a KV cache (zeroed by record_state_reset) */
            if (!l->conv_state) MVK_TRY(vk_buffer_create(m->ctx, conv, VK_MEM_DEVICE, &l->conv_state));
            if (!l->ssm_state) MVK_TRY(vk_buffer_create(m->ctx, all - conv, VK_MEM_DEVICE, &l->ssm_state));
        }
        if (!(l->kind & MVK_LAYER_ATTN)) continue; /* no KV cache: not an attention layer */
        const uint64_t rows = (uint64_t)mvk_kv_rows(hp, l->kind, m->seq.n_ctx, m->seq.n_ubatch); /* sliding: window + ub */
        /* each checked on its own: a failed allocation may leave K without V */
        if (!l->k_cache) MVK_TRY(vk_buffer_create(m->ctx, row * rows, VK_MEM_DEVICE, &l->k_cache));
        if (!l->v_cache) MVK_TRY(vk_buffer_create(m->ctx, rowv * rows, VK_MEM_DEVICE, &l->v_cache));
    }
    return MOEVK_OK;
}

/* Records the zeroing of every recurrent layer's state into st: a sequence starts from an empty
 * state (the recurrent counterpart of n_past = 0; what came before cannot be rolled back to). */
static moevk_status record_state_reset(moevk_model *m, vk_stream *st) {
    for (int il = 0; il < m->hp.n_layer; il++) {
        mvk_lm_layer *l = &m->w.layers[il];
        if (!(l->kind & MVK_LAYER_RECUR)) continue;
        MVK_TRY(vk_op_fill_u32(st, l->conv_state, 0, vk_buffer_size(l->conv_state), 0));
        MVK_TRY(vk_op_fill_u32(st, l->ssm_state, 0, vk_buffer_size(l->ssm_state), 0));
    }
    return MOEVK_OK;
}

/* Rows the sliding layers' caches (mvk_kv_rows) keep in front of a batch of T tokens: all they hold when the batch
 * fits after them, else their last n_swa - 1 (the keys the batch's first query still sees). Both families without
 * sliding layers and a sliding cache as long as the context always take the first branch. */
static int swa_keep(const moevk_model *m, int T) {
    const int n = m->seq.swa_n;
    if ((int64_t)n + T <= mvk_kv_rows(&m->hp, MVK_LAYER_SWA, m->seq.n_ctx, m->seq.n_ubatch)) return n;
    return n < m->hp.n_swa - 1 ? n : m->hp.n_swa - 1;
}

/* Records into st the move of the last `keep` of the swa_n rows of every sliding layer's K and V caches to their
 * front (llama.cpp reuses the cells past the window in place; here the rows stay in sequence order, so the
 * attention op's causal and window masks hold on row indices). Chunks no longer than the shift, so no copy
 * overlaps itself; the stream's range tracking puts a barrier between two chunks where one writes rows the
 * previous one read. */
static moevk_status record_swa_shift(moevk_model *m, vk_stream *st, int keep, int T) {
    const mvk_text_hparams *hp = &m->hp;
    const int64_t d = (int64_t)m->seq.swa_n - keep, cap = mvk_kv_rows(hp, MVK_LAYER_SWA, m->seq.n_ctx, m->seq.n_ubatch);
    if (d <= 0 || keep + (int64_t)T > cap)
        return mvk_fail(MOEVK_ERR_INTERNAL, "sliding-window cache: %d rows kept + %d new exceed its %lld rows", keep, T,
                        (long long)cap);
    for (int il = 0; il < hp->n_layer; il++) {
        const mvk_lm_layer *l = &m->w.layers[il];
        if (!(l->kind & MVK_LAYER_ATTN) || !(l->kind & MVK_LAYER_SWA)) continue;
        const mvk_attn_geom g = mvk_layer_geom(hp, l->kind);
        const uint64_t rk = (uint64_t)mvk_row_bytes(m->seq.kv_type, g.Hkv * g.hd);
        const uint64_t rv = (uint64_t)mvk_row_bytes(m->seq.kv_type, g.Hkv * g.hdv);
        for (int64_t r0 = 0; r0 < keep; r0 += d) {
            const uint64_t a = (uint64_t)r0, b = (uint64_t)(r0 + d), c = (uint64_t)(keep - r0 < d ? keep - r0 : d);
            MVK_TRY(vk_op_copy_bytes(st, l->k_cache, a * rk, l->k_cache, b * rk, c * rk));
            MVK_TRY(vk_op_copy_bytes(st, l->v_cache, a * rv, l->v_cache, b * rv, c * rv));
        }
    }
    return MOEVK_OK;
}

/* Records every decoder layer: each is its family's recording (engine/arch/<arch>.c) over the
 * layer toolkit (engine/arch/layers.c); one layer's intermediates at a time. */
static moevk_status record_layers(moevk_model *m, vk_stream *st, const mvk_lm_io *io) {
    const mvk_lm_rec r = {m, st, io};
    for (int il = 0; il < m->hp.n_layer; il++) {
        vk_scratch_mark mark = vk_stream_scratch_mark(st);
        MVK_TRY(m->hp.fam->record_layer(&r, il));
        vk_stream_scratch_reset(st, mark);
    }
    return MOEVK_OK;
}

/* A batch that can run: it fits the context, its text ids are in the vocabulary. */
static moevk_status check_batch(const moevk_model *m, const mvk_lm_batch *b) {
    const int64_t T = b->n, V = m->hp.n_vocab;
    if (T <= 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "empty prompt");
    if (m->seq.n_past + T > m->seq.n_ctx)
        return mvk_fail(MOEVK_ERR_CONTEXT_FULL, "prompt of %lld tokens does not fit: %d of %d context positions used",
                        (long long)T, m->seq.n_past, m->seq.n_ctx);
    for (int64_t i = 0; i < T; i++)
        if ((i < b->img_start || i >= b->img_start + b->n_img) && (b->tokens[i] < 0 || b->tokens[i] >= V))
            return mvk_fail(MOEVK_ERR_INVALID_ARG, "token %lld has id %d outside the vocabulary (0..%lld)", (long long)i,
                            b->tokens[i], (long long)V - 1);
    return MOEVK_OK;
}

/* One micro-batch (at most n_ubatch tokens) after the n_past tokens already in the KV cache / state. */
static moevk_status prefill_ubatch(moevk_model *m, const mvk_lm_batch *b) {
    const mvk_text_hparams *hp = &m->hp;
    const int64_t T = b->n, E = hp->n_embd, V = hp->n_vocab, k = hp->n_expert_used, L = hp->n_moe_layers;
    MVK_TRY(check_batch(m, b));
    MVK_TRY(mvk_lm_kv_alloc(m));
    if (m->seq.n_past == 0) m->seq.swa_n = 0; /* a new sequence */
    const int keep = swa_keep(m, (int)T);    /* the sliding caches' rows in front of this batch */
    /* inputs: tokens [T], positions [4T], kv indices [T], n_kv [1], the sliding caches' kv indices [T], n_kv [1] */
    uint64_t words = (uint64_t)T * 7 + 2;
    int32_t *in = malloc(words * 4);
    if (!in) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int64_t i = 0; i < T; i++) {
        int32_t t = b->tokens[i];
        in[i] = (t >= 0 && t < V) ? t : 0;
        in[5 * T + i] = m->seq.n_past + (int32_t)i;
        in[6 * T + 1 + i] = keep + (int32_t)i;
    }
    memcpy(in + T, b->pos, (size_t)(4 * T) * 4);
    in[6 * T] = m->seq.n_past + (int32_t)T;
    in[7 * T + 1] = keep + (int32_t)T;
    vk_buffer *inb = NULL;
    moevk_status s = vk_buffer_create(m->ctx, words * 4, VK_MEM_DEVICE, &inb);
    if (s == MOEVK_OK) s = vk_upload(m->ctx, inb, 0, in, words * 4);
    free(in);
    if (s != MOEVK_OK) {
        vk_buffer_destroy(inb);
        return s;
    }
    mvk_tensor t_tok = mvk_tensor_make(inb, 0, MVK_TYPE_I32, T, 1, 1, 1);
    mvk_tensor t_pos = mvk_tensor_make(inb, (uint64_t)T * 4, MVK_TYPE_I32, hp->rope_mode == MVK_ROPE_IMROPE ? 4 * T : T, 1, 1, 1);
    mvk_tensor t_idx = mvk_tensor_make(inb, (uint64_t)T * 20, MVK_TYPE_I32, T, 1, 1, 1);
    mvk_tensor t_nkv = mvk_tensor_make(inb, (uint64_t)T * 24, MVK_TYPE_I32, 1, 1, 1, 1);
    mvk_tensor t_idx_swa = mvk_tensor_make(inb, (uint64_t)(6 * T + 1) * 4, MVK_TYPE_I32, T, 1, 1, 1);
    mvk_tensor t_nkv_swa = mvk_tensor_make(inb, (uint64_t)(7 * T + 1) * 4, MVK_TYPE_I32, 1, 1, 1, 1);
    int64_t n_rows = b->all_logits ? T : 1;
    mvk_tensor h, img, rt_ids, rt_w, hn, logits;
    vk_buffer *slot_buf = NULL;
    int32_t *xhost = NULL;
    vk_stream *st = m->step.work;
    TRY(vk_stream_begin(st));
    if (m->seq.n_past == 0 && hp->n_recur_layers) TRY(record_state_reset(m, st)); /* a new sequence */
    if (keep < m->seq.swa_n) TRY(record_swa_shift(m, st, keep, (int)T)); /* room for the batch after the window */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, T, 1, 1, &h));
    TRY(vk_op_get_rows(st, &h, &m->w.tok_embd, &t_tok));
    if (hp->embd_scale > 0) TRY(vk_op_scale(st, &h, &h, hp->embd_scale)); /* gemma4; the image rows below are not */
    mvk_lm_io io = {.T = (int)T, .h = &h, .pos = &t_pos, .kv_idx = &t_idx, .n_kv = &t_nkv, .kv_idx_swa = &t_idx_swa,
                    .n_kv_swa = &t_nkv_swa, .swa_base = m->seq.n_past - keep,
                    .n_kv_host = m->seq.n_past + (int)T, .n_kv_swa_host = keep + (int)T}; /* in[6T], in[7T + 1] */
    if (b->n_img > 0) {
        if (!b->img_rows) TRY(mvk_fail(MOEVK_ERR_INVALID_ARG, "image rows missing"));
        int64_t n_out = (int64_t)E * (1 + hp->n_deepstack);
        img = mvk_tensor_make(b->img_rows, (uint64_t)b->img_row0 * (uint64_t)n_out * 4, MVK_TYPE_F32, n_out, b->n_img, 1, 1);
        mvk_tensor dst = mvk_rows(&h, b->img_start, b->n_img);
        int64_t ne[4] = {E, b->n_img, 1, 1}, nb[4] = {4, n_out * 4, n_out * 4 * b->n_img, n_out * 4 * b->n_img};
        mvk_tensor src = mvk_tensor_view(&img, 0, ne, nb);
        TRY(vk_op_convert(st, &dst, &src)); /* image embeddings replace the image-pad rows */
        io.img = &img;
        io.img_start = b->img_start;
        io.n_img = b->n_img;
        if (hp->fam->image_both_ways) { /* KV positions of the image's rows (mvk_lm_prefill keeps them in this batch) */
            io.nc_lo = m->seq.n_past + b->img_start;
            io.nc_hi = io.nc_lo + b->n_img;
        }
    }
    if (hp->is_moe) {
        TRY(vk_stream_scratch(st, MVK_TYPE_I32, k, T, L, 1, &rt_ids));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, k, T, L, 1, &rt_w));
        io.rt_ids = &rt_ids;
        io.rt_w = &rt_w;
    }
    if (m->xc.active) {
        io.xmode = MVK_XM_PREFILL;
        TRY(vk_buffer_create(m->ctx, (uint64_t)(k * T * 4), VK_MEM_HOST, &slot_buf));
        io.slot_buf = slot_buf;
        io.slot_host = vk_buffer_map(slot_buf);
        xhost = malloc((size_t)(2 * k * T + hp->n_expert) * sizeof *xhost);
        if (!io.slot_host || !xhost) TRY(mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory (expert streaming)"));
        io.ids_host = xhost;
        io.round_ids = xhost + k * T;
        io.round_of = xhost + 2 * k * T;
        m->xc.pre_tokens += (uint64_t)T;
    }
    TRY(record_layers(m, st, &io));
    {
        mvk_tensor hl = mvk_rows(&h, T - n_rows, n_rows);
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, n_rows, 1, 1, &hn));
        TRY(vk_op_rms_norm(st, &hn, &hl, &m->w.out_norm, hp->rms_eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, V, n_rows, 1, 1, &logits));
        TRY(vk_op_matmul(st, &logits, &hn, &m->w.output, NULL));
        if (hp->logit_softcap > 0) TRY(vk_op_softcap(st, &logits, &logits, hp->logit_softcap)); /* gemma4 */
    }
    TRY(vk_stream_end(st));
    if (io.xmode == MVK_XM_PREFILL) TRY(vk_stream_submit_segment(st, vk_stream_segment_count(st) - 1)); /* the others ran */
    else TRY(vk_stream_submit(st));
    if (b->logits) TRY(vk_download(m->ctx, logits.buf, logits.off, b->logits, (uint64_t)(n_rows * V * 4)));
    if (hp->is_moe && b->route_ids) TRY(vk_download(m->ctx, rt_ids.buf, rt_ids.off, b->route_ids, (uint64_t)(L * T * k * 4)));
    if (hp->is_moe && b->route_w) TRY(vk_download(m->ctx, rt_w.buf, rt_w.off, b->route_w, (uint64_t)(L * T * k * 4)));
    m->seq.n_past += (int)T;
    m->seq.swa_n = keep + (int)T;
done:
    if (s != MOEVK_OK) mvk_fail_ctx(s, "language model prefill");
    vk_buffer_destroy(inb);
    vk_buffer_destroy(slot_buf);
    free(xhost);
    return s;
}

/* The prompt in micro-batches of at most n_ubatch tokens, each continuing from the KV cache and recurrent
 * state the ones before it left, as llama.cpp's n_ubatch: the scratch is sized by the micro-batch, not by the
 * context. An image run may span micro-batches where attention is causal: a token sees the rows before it
 * whichever micro-batch they came in; a family whose image rows attend to each other both ways
 * (mvk_family.image_both_ways: gemma4) keeps an image in one micro-batch, which then starts at the image. Everything is checked before the first micro-batch runs. */
static moevk_status prefill_batches(moevk_model *m, const mvk_lm_batch *b);

/* The counts of what the device was given between two snapshots (vk_ctx_run_counts). */
static void run_delta(const vk_run_counts *a, const vk_run_counts *b, int *dispatches, int *barriers, int *submits) {
    *dispatches = (int)(b->dispatches - a->dispatches);
    *barriers = (int)(b->barriers - a->barriers);
    *submits = (int)(b->submits - a->submits);
}

moevk_status mvk_lm_prefill(moevk_model *m, const mvk_lm_batch *b) {
    vk_run_counts c0, c1;
    vk_ctx_run_counts(m->ctx, &c0);
    moevk_status s = prefill_batches(m, b);
    vk_ctx_run_counts(m->ctx, &c1);
    int d, br, sb;
    run_delta(&c0, &c1, &d, &br, &sb);
    m->tel.timings.prefill_dispatches += d; /* a chat turn prefills its parts one by one */
    m->tel.timings.prefill_barriers += br;
    m->tel.timings.prefill_submits += sb;
    return s;
}

static moevk_status prefill_batches(moevk_model *m, const mvk_lm_batch *b) {
    const int n = b->n, ub = m->seq.n_ubatch > 0 ? m->seq.n_ubatch : b->n;
    if (n <= ub) return prefill_ubatch(m, b);
    MVK_TRY(check_batch(m, b));
    const int keep_image = m->hp.fam->image_both_ways && b->n_img > 0;
    if (keep_image && b->n_img > ub)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "an image of %d tokens does not fit the micro-batch of %d: its rows attend to each "
                        "other both ways and must be prefilled together (raise n_ubatch)", b->n_img, ub);
    const mvk_text_hparams *hp = &m->hp;
    const size_t V = (size_t)hp->n_vocab, k = (size_t)(hp->n_expert_used > 0 ? hp->n_expert_used : 1);
    const size_t L = (size_t)hp->n_moe_layers, U = (size_t)ub;
    moevk_status s = MOEVK_OK;
    int32_t *pos = malloc(4 * U * sizeof *pos);                             /* [4][c] planar positions of one micro-batch */
    int32_t *rid = b->route_ids ? malloc(L * U * k * sizeof *rid) : NULL; /* [L][c][k] its routing */
    float *rw = b->route_w ? malloc(L * U * k * sizeof *rw) : NULL;
    if (!pos || (b->route_ids && !rid) || (b->route_w && !rw)) s = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int c0 = 0, c = 0; s == MOEVK_OK && c0 < n; c0 += c) {
        c = n - c0 < ub ? n - c0 : ub;
        if (keep_image && b->img_start > c0 && b->img_start < c0 + c && b->img_start + b->n_img > c0 + c)
            c = b->img_start - c0; /* the image starts the next micro-batch */
        const int last = c0 + c == n;
        for (int p = 0; p < 4; p++) memcpy(pos + (size_t)p * c, b->pos + (size_t)p * n + c0, (size_t)c * sizeof *pos);
        mvk_lm_batch u = {.tokens = b->tokens + c0, .n = c, .pos = pos, .all_logits = b->all_logits, .route_ids = rid,
                          .route_w = rw};
        const int lo = b->img_start > c0 ? b->img_start : c0;
        const int hi = b->img_start + b->n_img < c0 + c ? b->img_start + b->n_img : c0 + c;
        if (b->n_img > 0 && hi > lo) { /* the part of the image run in this micro-batch */
            u.img_start = lo - c0;
            u.n_img = hi - lo;
            u.img_rows = b->img_rows;
            u.img_row0 = b->img_row0 + (lo - b->img_start);
        }
        if (b->logits) u.logits = b->all_logits ? b->logits + (size_t)c0 * V : last ? b->logits : NULL;
        s = prefill_ubatch(m, &u);
        for (size_t l = 0; s == MOEVK_OK && l < L; l++) { /* [L][c][k] -> the batch's [L][n][k] */
            if (rid) memcpy(b->route_ids + (l * (size_t)n + (size_t)c0) * k, rid + l * (size_t)c * k, (size_t)c * k * sizeof *rid);
            if (rw) memcpy(b->route_w + (l * (size_t)n + (size_t)c0) * k, rw + l * (size_t)c * k, (size_t)c * k * sizeof *rw);
        }
    }
    free(pos);
    free(rid);
    free(rw);
    return s;
}

/* Records the decode step once: everything that changes per token is read
 * from m->step.params on the GPU. */
static moevk_status record_decode(moevk_model *m) {
    const mvk_text_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, V = hp->n_vocab, k = hp->n_expert_used > 0 ? hp->n_expert_used : 1;
    const int64_t L = hp->n_moe_layers > 0 ? hp->n_moe_layers : 1;
    moevk_status s = MOEVK_OK;
    if (!m->step.decode) MVK_TRY(vk_stream_create(m->ctx, &m->step.decode));
    if (!m->step.params) MVK_TRY(vk_buffer_create(m->ctx, MVK_P_WORDS * 4, VK_MEM_HOST, &m->step.params));
    if (!m->step.logits) MVK_TRY(vk_buffer_create(m->ctx, (uint64_t)V * 4, VK_MEM_HOST, &m->step.logits));
    if (!m->step.route) MVK_TRY(vk_buffer_create(m->ctx, (uint64_t)(L * k * 8), VK_MEM_HOST, &m->step.route));
    if (!m->step.argmax) MVK_TRY(vk_buffer_create(m->ctx, 4, VK_MEM_HOST, &m->step.argmax));
    if (m->xc.active && !m->step.slots) MVK_TRY(vk_buffer_create(m->ctx, (uint64_t)(L * k * 4), VK_MEM_HOST, &m->step.slots));
    if (m->xc.active && !m->step.pred) /* predictions are made (and scored) even with prefetch off */
        MVK_TRY(vk_buffer_create(m->ctx, (uint64_t)(L * k * 4), VK_MEM_HOST, &m->step.pred));
    mvk_tensor t_nkv = mvk_tensor_make(m->step.params, MVK_P_NKV * 4, MVK_TYPE_I32, 1, 1, 1, 1);
    mvk_tensor t_idx = mvk_tensor_make(m->step.params, MVK_P_KVIDX * 4, MVK_TYPE_I32, 1, 1, 1, 1);
    mvk_tensor t_nkv_swa = mvk_tensor_make(m->step.params, MVK_P_NKV_SWA * 4, MVK_TYPE_I32, 1, 1, 1, 1);
    mvk_tensor t_idx_swa = mvk_tensor_make(m->step.params, MVK_P_KVIDX_SWA * 4, MVK_TYPE_I32, 1, 1, 1, 1);
    mvk_tensor t_tok = mvk_tensor_make(m->step.params, MVK_P_TOKEN * 4, MVK_TYPE_I32, 1, 1, 1, 1);
    mvk_tensor t_pos = mvk_tensor_make(m->step.params, MVK_P_POS * 4, MVK_TYPE_I32, hp->rope_mode == MVK_ROPE_IMROPE ? 4 : 1, 1, 1, 1);
    mvk_tensor rt_ids = mvk_tensor_make(m->step.route, 0, MVK_TYPE_I32, k, 1, L, 1);
    mvk_tensor rt_w = mvk_tensor_make(m->step.route, (uint64_t)(L * k * 4), MVK_TYPE_F32, k, 1, L, 1);
    mvk_tensor logits = mvk_tensor_make(m->step.logits, 0, MVK_TYPE_F32, V, 1, 1, 1);
    mvk_tensor amax = mvk_tensor_make(m->step.argmax, 0, MVK_TYPE_I32, 1, 1, 1, 1);
    vk_stream *st = m->step.decode;
    mvk_tensor h, hn;
    TRY(vk_stream_begin(st));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, 1, 1, 1, &h));
    TRY(vk_op_get_rows(st, &h, &m->w.tok_embd, &t_tok));
    if (hp->embd_scale > 0) TRY(vk_op_scale(st, &h, &h, hp->embd_scale)); /* gemma4: text embeddings x sqrt(n_embd) */
    mvk_lm_io io = {.T = 1, .h = &h, .pos = &t_pos, .kv_idx = &t_idx, .n_kv = &t_nkv, .kv_idx_swa = &t_idx_swa,
                    .n_kv_swa = &t_nkv_swa}; /* swa_base only places an image's rows: prefill only */
    if (hp->is_moe) {
        io.rt_ids = &rt_ids;
        io.rt_w = &rt_w;
    }
    if (m->xc.active) { /* one segment per MoE layer: see mvk_lm_decode */
        io.xmode = MVK_XM_DECODE;
        io.slot_buf = m->step.slots;
        io.pred_buf = m->step.pred;
    }
    TRY(record_layers(m, st, &io));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, E, 1, 1, 1, &hn));
    TRY(vk_rms_norm_xq_shared(st, &hn, &h, &m->w.out_norm, hp->rms_eps)); /* and its int8 form for the LM head (CPU devices) */
    TRY(vk_op_matmul(st, &logits, &hn, &m->w.output, NULL));
    if (hp->logit_softcap > 0) TRY(vk_op_softcap(st, &logits, &logits, hp->logit_softcap)); /* gemma4 */
    TRY(vk_op_argmax(st, &amax, &logits));
    TRY(vk_stream_end(st));
    m->step.recorded = 1;
done:
    if (s != MOEVK_OK) mvk_fail_ctx(s, "recording the decode step");
    return s;
}

/* The decode step with experts streaming (j counts the MoE layers). Segment
 * 0 runs up to MoE layer 0's gate; segment j+1 runs MoE layer j's experts up
 * to MoE layer j+1's gate; the last one the LM head. Between two segments the
 * host resolves the ids the gate just wrote to slots (fetching misses: the
 * step waits), and while segment j+1 runs it fetches the experts predicted
 * for MoE layer j+1 into that layer's pool, which segment j+1 does not touch. */
static moevk_status decode_streaming(moevk_model *m, int64_t k) {
    const int L = m->hp.n_moe_layers;
    const int32_t *ids = vk_buffer_map(m->step.route);
    int32_t *slots = vk_buffer_map(m->step.slots);
    const int32_t *pred = m->step.pred ? vk_buffer_map(m->step.pred) : NULL;
    MVK_TRY(vk_stream_submit_segment(m->step.decode, 0));
    for (int j = 0; j < L; j++) { /* MoE layer j */
        MVK_TRY(mvk_xc_resolve(&m->xc, m->ctx, j, ids + j * k, slots + j * k, (int)k, 1));
        MVK_TRY(vk_stream_submit_segment_async(m->step.decode, (uint32_t)j + 1));
        moevk_status s = MOEVK_OK;
        if (pred && j + 1 < L) s = mvk_xc_prefetch(&m->xc, m->ctx, j + 1, pred + (j + 1) * k, (int)k, 1);
        moevk_status w = vk_stream_wait(m->step.decode);
        MVK_TRY(s);
        MVK_TRY(w);
    }
    m->xc.dec_tokens++;
    return MOEVK_OK;
}

static moevk_status decode_step(moevk_model *m, int32_t token, const float **logits, const int32_t **route_ids,
                                const float **route_w, int32_t *argmax);

moevk_status mvk_lm_decode(moevk_model *m, int32_t token, const float **logits, const int32_t **route_ids,
                           const float **route_w, int32_t *argmax) {
    vk_run_counts c0, c1;
    vk_ctx_run_counts(m->ctx, &c0);
    moevk_status s = decode_step(m, token, logits, route_ids, route_w, argmax);
    vk_ctx_run_counts(m->ctx, &c1);
    run_delta(&c0, &c1, &m->tel.timings.decode_dispatches, &m->tel.timings.decode_barriers, &m->tel.timings.decode_submits);
    return s;
}

static moevk_status decode_step(moevk_model *m, int32_t token, const float **logits, const int32_t **route_ids,
                                const float **route_w, int32_t *argmax) {
    const mvk_text_hparams *hp = &m->hp;
    if (token < 0 || token >= hp->n_vocab)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "token id %d outside the vocabulary (0..%d)", token, hp->n_vocab - 1);
    if (m->seq.n_past + 1 > m->seq.n_ctx)
        return mvk_fail(MOEVK_ERR_CONTEXT_FULL, "the context is full (%d tokens); raise n_ctx", m->seq.n_ctx);
    MVK_TRY(mvk_lm_kv_alloc(m));
    if (m->seq.n_past == 0) m->seq.swa_n = 0;
    const int keep = swa_keep(m, 1);
    /* a sequence opened by a decode step: empty recurrent state first; a full sliding cache: room for the step */
    if ((m->seq.n_past == 0 && hp->n_recur_layers) || keep < m->seq.swa_n) {
        vk_stream *st = m->step.work;
        moevk_status s = vk_stream_begin(st);
        if (s == MOEVK_OK && m->seq.n_past == 0) s = record_state_reset(m, st);
        if (s == MOEVK_OK && keep < m->seq.swa_n) s = record_swa_shift(m, st, keep, 1);
        if (s == MOEVK_OK) s = vk_stream_end(st);
        if (s == MOEVK_OK) s = vk_stream_submit(st);
        if (s != MOEVK_OK) return mvk_fail_ctx(s, "before the decode step");
        m->seq.swa_n = keep;
    }
    if (!m->step.recorded) MVK_TRY(record_decode(m));
    int32_t *p = vk_buffer_map(m->step.params);
    p[MVK_P_NKV] = m->seq.n_past + 1;
    p[MVK_P_KVIDX] = m->seq.n_past;
    p[MVK_P_NKV_SWA] = m->seq.swa_n + 1;
    p[MVK_P_KVIDX_SWA] = m->seq.swa_n;
    p[MVK_P_TOKEN] = token;
    for (int i = 0; i < 3; i++) p[MVK_P_POS + i] = m->seq.pos_next;
    p[MVK_P_POS + 3] = 0;
    const int64_t k = hp->n_expert_used > 0 ? hp->n_expert_used : 1;
    moevk_status s = m->xc.active ? decode_streaming(m, k) : vk_stream_submit(m->step.decode);
    if (s != MOEVK_OK) return mvk_fail_ctx(s, "decode step");
    m->seq.n_past++;
    m->seq.swa_n++;
    m->seq.pos_next++;
    if (logits) *logits = vk_buffer_map(m->step.logits);
    if (route_ids) *route_ids = hp->is_moe ? (const int32_t *)vk_buffer_map(m->step.route) : NULL;
    if (route_w) *route_w = hp->is_moe ? (const float *)((const char *)vk_buffer_map(m->step.route) + hp->n_moe_layers * k * 4) : NULL;
    if (argmax) *argmax = *(const int32_t *)vk_buffer_map(m->step.argmax);
    return MOEVK_OK;
}

void mvk_lm_free(moevk_model *m) {
    vk_stream_destroy(m->step.decode);
    vk_stream_destroy(m->step.work);
    m->step.decode = m->step.work = NULL;
    vk_buffer_destroy(m->step.params);
    vk_buffer_destroy(m->step.logits);
    vk_buffer_destroy(m->step.route);
    vk_buffer_destroy(m->step.argmax);
    vk_buffer_destroy(m->step.slots);
    vk_buffer_destroy(m->step.pred);
    m->step.params = m->step.logits = m->step.route = m->step.argmax = m->step.slots = m->step.pred = NULL;
    m->step.recorded = 0;
}
