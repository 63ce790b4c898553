/* weights.c — binds the GGUF tensors the forward pass needs and uploads them
 * to the device once, reporting progress. Which tensors, their shapes and
 * destinations come from the family's tensor table (engine/arch/), walked by
 * mvk_walk_tensors, which checks every shape; norms, biases and the position table
 * are converted to f32 on the host, matrices keep their type (any weight type
 * of mvk_type_table.h; quantised rows repacked into the device layout,
 * mvk_repack_rows) and are dequantised inside the matmul shaders. */
#include <stdlib.h>
#include <string.h>

#include "arch/family.h"
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

/* Device bytes of tensor ti stored as type t (quantised rows in the device layout, mvk_dev_row_bytes). */
static uint64_t dev_bytes(mvk_type t, const gguf_tensor_info *ti) {
    return (uint64_t)mvk_dev_row_bytes(t, ti->ne[0]) * (uint64_t)(ti->n_elems / ti->ne[0]);
}

static moevk_status own(moevk_model *m, vk_buffer *b) {
    if (m->w.n_owned == m->w.cap_owned) {
        int cap = m->w.cap_owned ? m->w.cap_owned * 2 : 256;
        vk_buffer **n = realloc(m->w.owned, (size_t)cap * sizeof *n);
        if (!n) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        m->w.owned = n;
        m->w.cap_owned = cap;
    }
    m->w.owned[m->w.n_owned++] = b;
    return MOEVK_OK;
}

/* Repacks and uploads the rows of a quantised tensor as type `type` (its own, or the device-only type made from it:
 * widened first, mvk_widen_rows), about 8 MiB of rows at a time; ilv > 0: each slice of slice_rows rows interleaved
 * in groups of ilv (mvk_interleave_rows), a chunk being whole groups of one slice. */
static moevk_status upload_quant(moevk_model *m, const gguf_tensor_info *ti, mvk_type type, vk_buffer *b, int64_t row,
                                 uint32_t ilv, int64_t slice_rows) {
    int64_t rows = ti->n_elems / ti->ne[0], src_row = mvk_row_bytes(ti->type, ti->ne[0]);
    int wide = type != ti->type;
    int64_t chunk = (8 << 20) / row + 1;
    if (ilv) chunk = (chunk + ilv - 1) / ilv * ilv;
    if (!ilv) slice_rows = rows;
    if (chunk > slice_rows) chunk = slice_rows;
    uint8_t *tmp = malloc((size_t)(chunk * row)), *tmp2 = ilv ? malloc((size_t)(chunk * row)) : NULL;
    uint8_t *wtmp = wide ? malloc((size_t)(chunk * mvk_row_bytes(type, ti->ne[0]))) : NULL;
    if (!tmp || (ilv && !tmp2) || (wide && !wtmp)) {
        free(tmp);
        free(tmp2);
        free(wtmp);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory repacking '%s'", ti->name);
    }
    moevk_status s = MOEVK_OK;
    for (int64_t s0 = 0; s0 < rows && s == MOEVK_OK; s0 += slice_rows)
        for (int64_t c0 = 0; c0 < slice_rows && s == MOEVK_OK; c0 += chunk) {
            int64_t r0 = s0 + c0, n = slice_rows - c0 < chunk ? slice_rows - c0 : chunk;
            const uint8_t *src = (const uint8_t *)ti->data + r0 * src_row;
            if (wide && mvk_widen_rows(type, src, wtmp, ti->ne[0], n)) {
                s = mvk_fail(MOEVK_ERR_INTERNAL, "tensor '%s': cannot store %s as %s", ti->name, mvk_type_name(ti->type),
                             mvk_type_name(type));
                break;
            }
            mvk_repack_rows(type, wide ? wtmp : src, tmp, ti->ne[0], n);
            if (ilv) mvk_interleave_rows(tmp2, tmp, row, n, ilv); /* c0: a multiple of ilv, so the slice's groups */
            s = vk_upload(m->ctx, b, (uint64_t)(r0 * row), ilv ? tmp2 : tmp, (uint64_t)(n * row));
        }
    free(tmp);
    free(tmp2);
    free(wtmp);
    return s;
}

/* Uploads one tensor. as_f32: convert to f32 on the host first; else stored as dtype (ti's type, or the device-only
 * type made from it: vk_weight_type). ilv > 0 (quantised only): rows interleaved in groups of ilv within each slice of
 * slice_rows rows (the [K][N] the matmuls see; mvk_tensor.ilv). */
static moevk_status upload(load_ctx *L, const gguf_tensor_info *ti, int as_f32, mvk_type dtype, uint32_t ilv, int64_t slice_rows,
                           mvk_tensor *out) {
    moevk_model *m = L->m;
    mvk_type type = as_f32 ? MVK_TYPE_F32 : dtype;
    int64_t row = mvk_dev_row_bytes(type, ti->ne[0]);
    if (row < 0) return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': bad row size", ti->name);
    uint64_t bytes = (uint64_t)row * (uint64_t)(ti->n_elems / ti->ne[0]);
    if (ilv && (as_f32 || !mvk_type_is_quant(type) || row % 16 || slice_rows <= 0 || (ti->n_elems / ti->ne[0]) % slice_rows))
        ilv = 0; /* plain rows: whole slices of 16-byte units only */
    if (m->w.sizing) { /* placement: device bytes only, nothing is uploaded */
        m->w.size_resident += (bytes + 255) / 256 * 256;
        if (type != ti->type && !as_f32) { /* a device-only type: what it adds, should the placement drop it */
            uint64_t plain = dev_bytes(ti->type, ti);
            m->w.size_wide_extra += (bytes + 255) / 256 * 256 - (plain + 255) / 256 * 256;
        }
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
        s = upload_quant(m, ti, type, b, row, ilv, slice_rows); /* the device layout (interleaved where ilv > 0) */
    } else {
        s = vk_upload(m->ctx, b, 0, ti->data, bytes);
    }
    if (s != MOEVK_OK) return mvk_fail_ctx(s, "uploading tensor '%s'", ti->name);
    *out = mvk_tensor_make(b, 0, type, ti->ne[0], ti->ne[1], ti->ne[2], ti->ne[3]);
    out->ilv = ilv;
    if (ilv > m->w.ilv) m->w.ilv = ilv;
    if (type != ti->type && !as_f32) { /* a device-only type (moevk_model_info) */
        m->w.n_wide++;
        m->w.wide_extra += bytes - dev_bytes(ti->type, ti);
    }
    m->w.bytes += bytes;
    *L->done += ti->size;
    if (L->cb && L->cb(L->stage, L->total ? (float)((double)*L->done / (double)L->total) : 1.0f, L->user))
        return mvk_fail(MOEVK_ERR_CANCELLED, "loading cancelled by the progress callback");
    return MOEVK_OK;
}

/* The walker's visit (engine/arch/family.h): every tensor of the tables, its shape checked. Routed
 * experts are sized or left in the mapping for the expert cache when they stream; the rest is
 * uploaded (or, in the sizing pass, counted). */
static moevk_status visit(void *user, const mvk_tensor_spec *sp, int block, const gguf_tensor_info *ti, mvk_tensor *out) {
    load_ctx *L = user;
    moevk_model *m = L->m;
    if (!ti->supported) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "tensor '%s' has an unsupported type", ti->name);
    if ((sp->flags & MVK_T_EXPERT) && (m->w.sizing || m->w.stream_experts)) {
        if (m->w.sizing) { /* device bytes: quantised rows padded to 16 (mvk_dev_row_bytes), in the device-only type
                              where there is one (kept only if every expert stays resident: placement.c drop_wide) */
            mvk_type xt = vk_weight_type(m->ctx, ti->type);
            uint64_t b = dev_bytes(xt, ti);
            m->w.size_experts += b;
            if (xt != ti->type) m->w.size_wide_extra_x += b - dev_bytes(ti->type, ti);
        } else if (sp->part == MVK_PART_GATE_UP) /* the expert cache reads each expert's halves (expert_cache.c) */
            m->w.xsrc[m->w.layers[block].moe * 3] = m->w.xsrc[m->w.layers[block].moe * 3 + 1] = ti;
        else m->w.xsrc[m->w.layers[block].moe * 3 + sp->part] = ti;
        return MOEVK_OK;
    }
    /* the matmul weights of the text model on CPU devices: rows interleaved for the lane kernels where vk_weight_ilv
       says (the default there; MOEVK_WEIGHT_ILV=0: plain), each [K][N] slice the matmuls see (a merged gate-up
       stack: each half) on its own; not token_embd (get_rows reads it; a tied output is the same tensor), not the
       vision tower's (its GEMMs) */
    uint32_t ilv = 0;
    int64_t slice = ti->ne[1];
    mvk_type dtype = ti->type;
    const char *ie = getenv("MOEVK_WEIGHT_ILV");
    int dense_only = ie && !strcmp(ie, "dense"); /* the routed experts stay plain (A/B profiles) */
    if (L->f == m->tf && !(sp->flags & MVK_T_F32) && out != &m->w.tok_embd && ti->ne[1] > 1) {
        /* stored as the device-only type the decode mat-vec reads faster where there is one (Q6_K -> Q6_K8 on CPU
           devices: the LM head, attn_v and some ffn_down_exps of Q4_K_M files), unless the placement dropped it
           because not every expert would stay resident (placement.c drop_wide; streamed experts keep the file's
           bytes, expert_cache.c) */
        if (!m->w.no_wide) dtype = vk_weight_type(m->ctx, ti->type);
        if (!(dense_only && (sp->flags & MVK_T_EXPERT))) {
            ilv = vk_weight_ilv(m->ctx, dtype);
            if ((sp->flags & MVK_T_EXPERT) && sp->part == MVK_PART_GATE_UP) slice = ti->ne[1] / 2;
        }
    }
    MVK_TRY(upload(L, ti, (sp->flags & MVK_T_F32) != 0, dtype, ilv, slice, out));
    if ((sp->flags & MVK_T_EXPERT) && sp->part == MVK_PART_GATE_UP && out->buf) {
        /* merged [K][2N][E]: the gate and up stacks the expert matmuls read are views of each expert's first and
         * last N rows (expert stride 2N rows) */
        mvk_lm_layer *l = &m->w.layers[block];
        const int64_t ne[4] = {out->ne[0], out->ne[1] / 2, out->ne[2], 1};
        l->gate_exps = mvk_tensor_view(out, 0, ne, out->nb);
        l->up_exps = mvk_tensor_view(out, (uint64_t)(ne[1] * out->nb[1]), ne, out->nb);
    }
    return MOEVK_OK;
}

moevk_status mvk_weights_load_text(moevk_model *m, moevk_progress_cb cb, void *user, uint64_t total, uint64_t *done) {
    const mvk_text_hparams *hp = &m->hp;
    load_ctx L = {m, m->tf, cb, user, total, done, "text weights"};
    if (!m->w.layers) m->w.layers = calloc((size_t)hp->n_layer, sizeof *m->w.layers); /* kept from a sizing pass */
    if (!m->w.layers) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int il = 0, j = 0; il < hp->n_layer; il++) { /* what each layer holds, its MoE index */
        m->w.layers[il].kind = hp->fam->layer_kind(hp, il);
        m->w.layers[il].moe = (m->w.layers[il].kind & MVK_LAYER_MOE) ? j++ : -1;
    }
    int64_t dims[MVK_D_COUNT];
    mvk_tensor_group g[2];
    mvk_text_dims(hp, dims);
    mvk_text_tensor_groups(hp, &m->w, m->w.layers, sizeof *m->w.layers, g);
    MVK_TRY(mvk_walk_tensors(m->tf, g, 2, dims, visit, &L));
    if (hp->tied_output) m->w.output = m->w.tok_embd;
    return MOEVK_OK;
}

moevk_status mvk_weights_load_vision(moevk_model *m, moevk_progress_cb cb, void *user, uint64_t total, uint64_t *done) {
    mvk_vision *v = &m->vis;
    const mvk_vision_hparams *hp = &v->hp;
    load_ctx L = {m, m->vf, cb, user, total, done, "mmproj weights"}; /* the stage label include/moevk.h documents */
    if (!v->layers) v->layers = calloc((size_t)hp->n_layer, sizeof *v->layers); /* kept from a sizing pass */
    if (!v->deepstack) v->deepstack = calloc((size_t)(hp->n_deepstack ? hp->n_deepstack : 1), sizeof *v->deepstack);
    if (!v->layers || !v->deepstack) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    int64_t dims[MVK_D_COUNT];
    mvk_tensor_group g[3];
    mvk_vision_dims(hp, dims);
    mvk_vision_tensor_groups(hp, v, v->layers, sizeof *v->layers, v->deepstack, sizeof *v->deepstack, g);
    MVK_TRY(mvk_walk_tensors(m->vf, g, 3, dims, visit, &L));
    if (hp->proj == MVK_PROJ_GEMMA4V && !m->w.sizing) MVK_TRY(mvk_gemma4v_read_clamps(m->vf, v));
    for (int il = 0; il < hp->n_layer; il++) {
        v->layers[il].deepstack = -1;
        for (int j = 0; j < hp->n_deepstack; j++)
            if (hp->deepstack_layers[j] == il) v->layers[il].deepstack = j;
    }
    return MOEVK_OK;
}

void mvk_weights_free(moevk_model *m) {
    for (int i = 0; i < m->w.n_owned; i++) vk_buffer_destroy(m->w.owned[i]);
    free(m->w.owned);
    m->w.owned = NULL;
    m->w.n_owned = m->w.cap_owned = 0;
    if (m->w.layers)
        for (int il = 0; il < m->hp.n_layer; il++) {
            vk_buffer_destroy(m->w.layers[il].k_cache);
            vk_buffer_destroy(m->w.layers[il].v_cache);
            vk_buffer_destroy(m->w.layers[il].conv_state);
            vk_buffer_destroy(m->w.layers[il].ssm_state);
        }
    free(m->w.layers);
    m->w.layers = NULL;
    free(m->vis.layers);
    free(m->vis.deepstack);
    m->vis.layers = NULL;
    m->vis.deepstack = NULL;
}
