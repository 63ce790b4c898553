/* weights.c — binds the GGUF tensors the forward pass needs and uploads them
 * to the device once, reporting progress. Shapes are checked against the
 * hyper-parameters (mvk_require_tensor); norms, biases and the position table
 * are converted to f32 on the host, matrices keep their type (any weight type
 * of mvk_type_table.h; quantised rows repacked into the device layout,
 * mvk_repack_rows) and are dequantised inside the matmul shaders. */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "mvk_status.h"

typedef struct load_ctx {
    moevk_model *m;
    const gguf_file *f;
    moevk_progress_cb cb;
    void *user;
    uint64_t total, *done;
    const char *stage;
} load_ctx;

static moevk_status own(moevk_model *m, vk_buffer *b) {
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? m->cap_owned * 2 : 256;
        vk_buffer **n = realloc(m->owned, (size_t)cap * sizeof *n);
        if (!n) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        m->owned = n;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = b;
    return MOEVK_OK;
}

/* Uploads one tensor. as_f32: convert to f32 on the host first. */
static moevk_status upload(load_ctx *L, const gguf_tensor_info *ti, int as_f32, mvk_tensor *out) {
    moevk_model *m = L->m;
    mvk_type type = as_f32 ? MVK_TYPE_F32 : ti->type;
    int64_t row = mvk_dev_row_bytes(type, ti->ne[0]);
    if (row < 0) return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': bad row size", ti->name);
    uint64_t bytes = (uint64_t)row * (uint64_t)(ti->n_elems / ti->ne[0]);
    if (m->sizing) { /* placement: device bytes only, nothing is uploaded */
        m->size_resident += (bytes + 255) / 256 * 256;
        memset(out, 0, sizeof *out);
        return MOEVK_OK;
    }
    vk_buffer *b = NULL;
    moevk_status s = vk_buffer_create(m->ctx, bytes, VK_MEM_DEVICE, &b);
    if (s != MOEVK_OK) return mvk_fail_ctx(s, "uploading tensor '%s' (%llu bytes)", ti->name, (unsigned long long)bytes);
    s = own(m, b);
    if (s != MOEVK_OK) {
        vk_buffer_destroy(b);
        return s;
    }
    if (as_f32 && ti->type != MVK_TYPE_F32) {
        float *tmp = malloc(bytes);
        if (!tmp) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory converting '%s'", ti->name);
        int64_t rows = ti->n_elems / ti->ne[0];
        int64_t src_row = mvk_row_bytes(ti->type, ti->ne[0]);
        for (int64_t r = 0; r < rows; r++)
            mvk_dequantize_row(ti->type, (const char *)ti->data + r * src_row, tmp + r * ti->ne[0], ti->ne[0]);
        s = vk_upload(m->ctx, b, 0, tmp, bytes);
        free(tmp);
    } else if (mvk_type_is_quant(type)) {
        /* repack into the device layout, about 8 MiB of rows at a time */
        int64_t rows = ti->n_elems / ti->ne[0], src_row = mvk_row_bytes(type, ti->ne[0]);
        int64_t chunk = (8 << 20) / row + 1;
        if (chunk > rows) chunk = rows;
        uint8_t *tmp = malloc((size_t)(chunk * row));
        if (!tmp) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory repacking '%s'", ti->name);
        for (int64_t r0 = 0; r0 < rows && s == MOEVK_OK; r0 += chunk) {
            int64_t n = rows - r0 < chunk ? rows - r0 : chunk;
            mvk_repack_rows(type, (const uint8_t *)ti->data + r0 * src_row, tmp, ti->ne[0], n);
            s = vk_upload(m->ctx, b, (uint64_t)(r0 * row), tmp, (uint64_t)(n * row));
        }
        free(tmp);
    } else {
        s = vk_upload(m->ctx, b, 0, ti->data, bytes);
    }
    if (s != MOEVK_OK) return mvk_fail_ctx(s, "uploading tensor '%s'", ti->name);
    *out = mvk_tensor_make(b, 0, type, ti->ne[0], ti->ne[1], ti->ne[2], ti->ne[3]);
    m->weight_bytes += bytes;
    *L->done += ti->size;
    if (L->cb && L->cb(L->stage, L->total ? (float)((double)*L->done / (double)L->total) : 1.0f, L->user))
        return mvk_fail(MOEVK_ERR_CANCELLED, "loading cancelled by the progress callback");
    return MOEVK_OK;
}

/* name = printf(fmt, il); shape ne[0..nd) checked; as_f32 converts. */
static moevk_status get(load_ctx *L, mvk_tensor *out, int as_f32, int nd, int64_t n0, int64_t n1, int64_t n2, const char *fmt, int il) {
    int64_t ne[4] = {n0, n1, n2, 1};
    const gguf_tensor_info *ti = NULL;
    MVK_TRY(mvk_require_tensor(L->f, ne, nd, &ti, fmt, il));
    if (!ti->supported) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "tensor '%s' has an unsupported type", ti->name);
    return upload(L, ti, as_f32, out);
}

moevk_status mvk_weights_load_text(moevk_model *m, moevk_progress_cb cb, void *user, uint64_t total, uint64_t *done) {
    const mvk_text_hparams *hp = &m->hp;
    load_ctx L = {m, m->tf, cb, user, total, done, "text weights"};
    int64_t E = hp->n_embd, V = hp->n_vocab, hd = hp->head_dim, q = (int64_t)hp->n_head * hd, kv = (int64_t)hp->n_head_kv * hd;
    MVK_TRY(get(&L, &m->tok_embd, 0, 2, E, V, 1, "token_embd.weight", 0));
    MVK_TRY(get(&L, &m->out_norm, 1, 1, E, 1, 1, "output_norm.weight", 0));
    if (hp->tied_output) m->output = m->tok_embd;
    else MVK_TRY(get(&L, &m->output, 0, 2, E, V, 1, "output.weight", 0));
    if (!m->layers) m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers); /* kept from a sizing pass */
    if (!m->layers) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int il = 0; il < hp->n_layer; il++) {
        mvk_lm_layer *l = &m->layers[il];
        MVK_TRY(get(&L, &l->attn_norm, 1, 1, E, 1, 1, "blk.%d.attn_norm.weight", il));
        MVK_TRY(get(&L, &l->wq, 0, 2, E, q, 1, "blk.%d.attn_q.weight", il));
        MVK_TRY(get(&L, &l->wk, 0, 2, E, kv, 1, "blk.%d.attn_k.weight", il));
        MVK_TRY(get(&L, &l->wv, 0, 2, E, (int64_t)hp->n_head_kv * hp->head_dim_v, 1, "blk.%d.attn_v.weight", il));
        MVK_TRY(get(&L, &l->wo, 0, 2, (int64_t)hp->n_head * hp->head_dim_v, E, 1, "blk.%d.attn_output.weight", il));
        MVK_TRY(get(&L, &l->q_norm, 1, 1, hd, 1, 1, "blk.%d.attn_q_norm.weight", il));
        MVK_TRY(get(&L, &l->k_norm, 1, 1, hd, 1, 1, "blk.%d.attn_k_norm.weight", il));
        MVK_TRY(get(&L, &l->ffn_norm, 1, 1, E, 1, 1, "blk.%d.ffn_norm.weight", il));
        if (hp->is_moe) {
            int64_t F = hp->n_ff_exp, X = hp->n_expert;
            MVK_TRY(get(&L, &l->gate_inp, 0, 2, E, X, 1, "blk.%d.ffn_gate_inp.weight", il));
            if (m->sizing || m->stream_experts) { /* routed experts: sized, or left in the mapping for the cache */
                static const char *const nm[3] = {"blk.%d.ffn_gate_exps.weight", "blk.%d.ffn_up_exps.weight", "blk.%d.ffn_down_exps.weight"};
                for (int p = 0; p < 3; p++) {
                    int64_t ne[4] = {p == 2 ? F : E, p == 2 ? E : F, X, 1};
                    const gguf_tensor_info *ti = NULL;
                    MVK_TRY(mvk_require_tensor(L.f, ne, 3, &ti, nm[p], il));
                    if (!ti->supported) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "tensor '%s' has an unsupported type", ti->name);
                    if (m->sizing) /* device bytes: quantised rows padded to 16 (mvk_dev_row_bytes) */
                        m->size_experts += (uint64_t)mvk_dev_row_bytes(ti->type, ti->ne[0]) * (uint64_t)(ti->n_elems / ti->ne[0]);
                    else m->xsrc[il * 3 + p] = ti;
                }
            } else {
                MVK_TRY(get(&L, &l->gate_exps, 0, 3, E, F, X, "blk.%d.ffn_gate_exps.weight", il));
                MVK_TRY(get(&L, &l->up_exps, 0, 3, E, F, X, "blk.%d.ffn_up_exps.weight", il));
                MVK_TRY(get(&L, &l->down_exps, 0, 3, F, E, X, "blk.%d.ffn_down_exps.weight", il));
            }
        } else {
            int64_t F = hp->n_ff;
            MVK_TRY(get(&L, &l->ffn_gate, 0, 2, E, F, 1, "blk.%d.ffn_gate.weight", il));
            MVK_TRY(get(&L, &l->ffn_up, 0, 2, E, F, 1, "blk.%d.ffn_up.weight", il));
            MVK_TRY(get(&L, &l->ffn_down, 0, 2, F, E, 1, "blk.%d.ffn_down.weight", il));
        }
    }
    return MOEVK_OK;
}

moevk_status mvk_weights_load_vision(moevk_model *m, moevk_progress_cb cb, void *user, uint64_t total, uint64_t *done) {
    mvk_vision *v = &m->vis;
    const mvk_vision_hparams *hp = &v->hp;
    load_ctx L = {m, m->vf, cb, user, total, done, "mmproj weights"}; /* the stage label include/moevk.h documents */
    int64_t d = hp->n_embd, p = hp->patch_size, d4 = hp->n_merged, T = hp->n_mmproj_embd;
    /* patch kernels as 2-D [p*p*3, d] matrices for im2col + matmul */
    {
        int64_t ne[4] = {p, p, 3, d};
        const gguf_tensor_info *ti;
        MVK_TRY(mvk_require_tensor(m->vf, ne, 4, &ti, "v.patch_embd.weight"));
        MVK_TRY(upload(&L, ti, 0, &v->patch_w0));
        MVK_TRY(mvk_require_tensor(m->vf, ne, 4, &ti, "v.patch_embd.weight.1"));
        MVK_TRY(upload(&L, ti, 0, &v->patch_w1));
    }
    MVK_TRY(get(&L, &v->patch_b, 1, 1, d, 1, 1, "v.patch_embd.bias", 0));
    MVK_TRY(get(&L, &v->pos_embd, 1, 2, d, hp->n_pos, 1, "v.position_embd.weight", 0));
    MVK_TRY(get(&L, &v->post_ln_w, 1, 1, d, 1, 1, "v.post_ln.weight", 0));
    MVK_TRY(get(&L, &v->post_ln_b, 1, 1, d, 1, 1, "v.post_ln.bias", 0));
    MVK_TRY(get(&L, &v->mm0_w, 0, 2, d4, d4, 1, "mm.0.weight", 0));
    MVK_TRY(get(&L, &v->mm0_b, 1, 1, d4, 1, 1, "mm.0.bias", 0));
    MVK_TRY(get(&L, &v->mm2_w, 0, 2, d4, T, 1, "mm.2.weight", 0));
    MVK_TRY(get(&L, &v->mm2_b, 1, 1, T, 1, 1, "mm.2.bias", 0));
    if (!v->layers) v->layers = calloc((size_t)hp->n_layer, sizeof *v->layers); /* kept from a sizing pass */
    if (!v->deepstack) v->deepstack = calloc((size_t)(hp->n_deepstack ? hp->n_deepstack : 1), sizeof *v->deepstack);
    if (!v->layers || !v->deepstack) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int il = 0; il < hp->n_layer; il++) {
        mvk_vit_layer *l = &v->layers[il];
        MVK_TRY(get(&L, &l->ln1_w, 1, 1, d, 1, 1, "v.blk.%d.ln1.weight", il));
        MVK_TRY(get(&L, &l->ln1_b, 1, 1, d, 1, 1, "v.blk.%d.ln1.bias", il));
        MVK_TRY(get(&L, &l->qkv_w, 0, 2, d, 3 * d, 1, "v.blk.%d.attn_qkv.weight", il));
        MVK_TRY(get(&L, &l->qkv_b, 1, 1, 3 * d, 1, 1, "v.blk.%d.attn_qkv.bias", il));
        MVK_TRY(get(&L, &l->out_w, 0, 2, d, d, 1, "v.blk.%d.attn_out.weight", il));
        MVK_TRY(get(&L, &l->out_b, 1, 1, d, 1, 1, "v.blk.%d.attn_out.bias", il));
        MVK_TRY(get(&L, &l->ln2_w, 1, 1, d, 1, 1, "v.blk.%d.ln2.weight", il));
        MVK_TRY(get(&L, &l->ln2_b, 1, 1, d, 1, 1, "v.blk.%d.ln2.bias", il));
        MVK_TRY(get(&L, &l->up_w, 0, 2, d, hp->n_ff, 1, "v.blk.%d.ffn_up.weight", il));
        MVK_TRY(get(&L, &l->up_b, 1, 1, hp->n_ff, 1, 1, "v.blk.%d.ffn_up.bias", il));
        MVK_TRY(get(&L, &l->down_w, 0, 2, hp->n_ff, d, 1, "v.blk.%d.ffn_down.weight", il));
        MVK_TRY(get(&L, &l->down_b, 1, 1, d, 1, 1, "v.blk.%d.ffn_down.bias", il));
        l->deepstack = -1;
        for (int j = 0; j < hp->n_deepstack; j++)
            if (hp->deepstack_layers[j] == il) l->deepstack = j;
    }
    for (int j = 0; j < hp->n_deepstack; j++) {
        mvk_deepstack *ds = &v->deepstack[j];
        int L_ = hp->deepstack_layers[j];
        MVK_TRY(get(&L, &ds->norm_w, 1, 1, d4, 1, 1, "v.deepstack.%d.norm.weight", L_));
        MVK_TRY(get(&L, &ds->norm_b, 1, 1, d4, 1, 1, "v.deepstack.%d.norm.bias", L_));
        MVK_TRY(get(&L, &ds->fc1_w, 0, 2, d4, d4, 1, "v.deepstack.%d.fc1.weight", L_));
        MVK_TRY(get(&L, &ds->fc1_b, 1, 1, d4, 1, 1, "v.deepstack.%d.fc1.bias", L_));
        MVK_TRY(get(&L, &ds->fc2_w, 0, 2, d4, T, 1, "v.deepstack.%d.fc2.weight", L_));
        MVK_TRY(get(&L, &ds->fc2_b, 1, 1, T, 1, 1, "v.deepstack.%d.fc2.bias", L_));
    }
    return MOEVK_OK;
}

void mvk_weights_free(moevk_model *m) {
    for (int i = 0; i < m->n_owned; i++) vk_buffer_destroy(m->owned[i]);
    free(m->owned);
    m->owned = NULL;
    m->n_owned = m->cap_owned = 0;
    if (m->layers)
        for (int il = 0; il < m->hp.n_layer; il++) {
            vk_buffer_destroy(m->layers[il].k_cache);
            vk_buffer_destroy(m->layers[il].v_cache);
        }
    free(m->layers);
    m->layers = NULL;
    free(m->vis.layers);
    free(m->vis.deepstack);
    m->vis.layers = NULL;
    m->vis.deepstack = NULL;
}
