/* clip_gemma4v_encode.c — the "gemma4v" vision tower on the GPU (its keys, tensor table and clamp scalars are in
 * clip_gemma4v.c, which the fuzz build links without the backend). The pipeline:
 *   pixels (normalised by the file's mean/std) -> 2x - 1 -> patch conv (no bias), raster order
 *   + x table[col] + y table[row]                      (two learned tables, halves of v.position_embd)
 *   per block: RMSNorm(ln1) -> q, k, v (clamped linears) -> per-head RMSNorm of q, k (attn_q/k_norm)
 *              -> 2-D NEOX RoPE (θ 100: dims [0, hd/2) by column, [hd/2, hd) by row) -> weightless RMSNorm of v
 *              -> full attention, scale 1 -> attn_out -> RMSNorm(attn_post_norm) -> + residual
 *              -> RMSNorm(ln2) -> GeGLU (gate, up, down; gelu_quick unless clip.use_gelu / use_silu)
 *              -> RMSNorm(ffn_post_norm) -> + residual -> x out_scale
 *   k x k average pool over the patch grid (k = clip.vision.projector.scale_factor, 3) -> x sqrt(d)
 *   -> (x - std_bias) * std_scale -> weightless RMSNorm -> mm.input_projection (clamped)
 * Output rows [n_img][n_text_embd] in raster order of the pooled grid (unscaled: the text model does not multiply
 * image rows by sqrt(n_embd)). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "mvk_status.h"

#define G4V_ROPE_THETA 100.0f /* clip.cpp hparams.rope_theta for gemma4v */

/* y[N][T] = clamp_out(w · clamp_in(x)) (Gemma4ClippableLinear), y allocated from the stream's scratch. */
static moevk_status linear(vk_stream *st, mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_clamp *c) {
    mvk_tensor xc;
    if (c->in_min > -FLT_MAX || c->in_max < FLT_MAX) { /* a copy: x feeds other linears with other bounds */
        MVK_TRY(vk_stream_scratch(st, MVK_TYPE_F32, x->ne[0], x->ne[1], 1, 1, &xc));
        MVK_TRY(vk_op_clamp(st, &xc, x, c->in_min, c->in_max));
        x = &xc;
    }
    MVK_TRY(vk_stream_scratch(st, MVK_TYPE_F32, w->ne[1], x->ne[1], 1, 1, y));
    MVK_TRY(vk_op_matmul(st, y, x, w, NULL));
    if (c->out_min > -FLT_MAX || c->out_max < FLT_MAX) MVK_TRY(vk_op_clamp(st, y, y, c->out_min, c->out_max));
    return MOEVK_OK;
}

/* RMSNorm of x into fresh scratch (w NULL: weightless); w absent (optional tensor): x itself. */
static moevk_status norm(vk_stream *st, mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, int weightless, float eps) {
    if (!weightless && !w->buf) {
        *y = *x;
        return MOEVK_OK;
    }
    MVK_TRY(vk_stream_scratch(st, MVK_TYPE_F32, x->ne[0], x->ne[1], x->ne[2], 1, y));
    return vk_op_rms_norm(st, y, x, weightless ? NULL : w, eps);
}

/* Half h (0: dims [0, hd/2), 1: [hd/2, hd)) of every head of x[hd][H][N], a strided view. */
static mvk_tensor half_heads(const mvk_tensor *x, int h) {
    int64_t hd = x->ne[0];
    int64_t ne[4] = {hd / 2, x->ne[1], x->ne[2], 1};
    int64_t nb[4] = {4, x->nb[1], x->nb[2], x->nb[2] * x->ne[2]};
    return mvk_tensor_view(x, (uint64_t)(h * hd / 2 * 4), ne, nb);
}

/* 2-D NEOX RoPE (ggml_rope_ext twice, the second with ggml_rope_set_offset(hd/2)): y[hd][H][N] from x. */
static moevk_status rope_2d(vk_stream *st, mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *pos_x, const mvk_tensor *pos_y) {
    vk_rope_params rp = {.mode = VK_ROPE_NEOX, .n_dims = (int)(x->ne[0] / 2), .freq_base = G4V_ROPE_THETA};
    MVK_TRY(vk_stream_scratch(st, MVK_TYPE_F32, x->ne[0], x->ne[1], x->ne[2], 1, y));
    for (int h = 0; h < 2; h++) {
        mvk_tensor xs = half_heads(x, h), ys = half_heads(y, h);
        MVK_TRY(vk_op_rope(st, &ys, &xs, h ? pos_y : pos_x, &rp));
    }
    return MOEVK_OK;
}

static moevk_status mlp_act(vk_stream *st, const mvk_tensor *g, const mvk_tensor *u, mvk_vision_act a) {
    switch (a) {
    case MVK_VISION_ACT_GELU: return vk_op_geglu(st, g, g, u);
    case MVK_VISION_ACT_SILU: return vk_op_swiglu(st, g, g, u);
    default: return vk_op_geglu_quick(st, g, g, u); /* converted gemma4v files set neither key */
    }
}

moevk_status mvk_gemma4v_encode(moevk_model *m, const float *pixels, int h, int w, vk_buffer **out_dev, float *host_out,
                                size_t host_cap, int *n_img_out) {
    const mvk_vision *v = &m->vis;
    const mvk_vision_hparams *hp = &v->hp;
    const int p = hp->patch_size, k = hp->spatial_merge, A = p * k;
    if (h <= 0 || w <= 0 || h % A || w % A)
        return mvk_fail(MOEVK_ERR_SHAPE, "image of %dx%d pixels: both sides must be positive multiples of %d (patch %d x pool %d)",
                        w, h, A, p, k);
    const int64_t npx = w / p, npy = h / p, N = npx * npy, nox = npx / k, noy = npy / k, n_img = nox * noy;
    if (npx > hp->n_pos || npy > hp->n_pos)
        return mvk_fail(MOEVK_ERR_SHAPE, "image of %dx%d pixels has %lldx%lld patches; the position tables cover %d per side",
                        w, h, (long long)npx, (long long)npy, hp->n_pos);
    const int64_t d = hp->n_embd, H = hp->n_head, hd = hp->head_dim, T = hp->n_embd_out, kk = (int64_t)k * k;
    if (n_img_out) *n_img_out = (int)n_img;
    if (host_out && host_cap < (size_t)(n_img * T))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "vision output buffer holds %zu floats, need %lld", host_cap, (long long)(n_img * T));

    /* host-side inputs: pixels mapped to [-1, 1], patch columns and rows, the pool's k*k gather lists */
    const uint64_t px_n = (uint64_t)3 * (uint64_t)h * (uint64_t)w;
    const uint64_t idx_n = (uint64_t)(2 * N + kk * n_img);
    float *px = malloc(px_n * 4);
    int32_t *idx = malloc(idx_n * 4); /* [N] column | [N] row | [k*k][n_img] patch of pool tap (dy, dx) */
    if (!px || !idx) {
        free(px);
        free(idx);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    for (uint64_t i = 0; i < px_n; i++) px[i] = pixels[i] * 2.0f - 1.0f; /* ggml_scale_bias(x, 2, -1) */
    for (int64_t i = 0; i < N; i++) {
        idx[i] = (int32_t)(i % npx);
        idx[N + i] = (int32_t)(i / npx);
    }
    for (int64_t dy = 0; dy < k; dy++)
        for (int64_t dx = 0; dx < k; dx++)
            for (int64_t oy = 0; oy < noy; oy++)
                for (int64_t ox = 0; ox < nox; ox++)
                    idx[2 * N + (dy * k + dx) * n_img + oy * nox + ox] = (int32_t)((oy * k + dy) * npx + ox * k + dx);
    vk_buffer *in = NULL;
    moevk_status s = vk_buffer_create(m->ctx, px_n * 4 + idx_n * 4, VK_MEM_DEVICE, &in);
    if (s == MOEVK_OK) s = vk_upload(m->ctx, in, 0, px, px_n * 4);
    if (s == MOEVK_OK) s = vk_upload(m->ctx, in, px_n * 4, idx, idx_n * 4);
    free(px);
    free(idx);
    const uint64_t out_bytes = (uint64_t)(n_img * T * 4);
    if (s == MOEVK_OK) s = vk_buffer_reserve(m->ctx, out_dev, out_bytes, VK_MEM_DEVICE);
    if (s != MOEVK_OK) {
        vk_buffer_destroy(in);
        return s;
    }
    const uint64_t io = px_n * 4;
    mvk_tensor img = mvk_tensor_make(in, 0, MVK_TYPE_F32, w, h, 3, 1);                            /* [W][H][3] planar */
    mvk_tensor pos_x = mvk_tensor_make(in, io, MVK_TYPE_I32, N, 1, 1, 1);                          /* [N] */
    mvk_tensor pos_y = mvk_tensor_make(in, io + (uint64_t)N * 4, MVK_TYPE_I32, N, 1, 1, 1);        /* [N] */
    mvk_tensor out = mvk_tensor_make(*out_dev, 0, MVK_TYPE_F32, T, n_img, 1, 1);                   /* [T][n_img] */
    mvk_tensor tbl_x = mvk_tensor_make(v->pos_embd.buf, v->pos_embd.off, MVK_TYPE_F32, d, hp->n_pos, 1, 1); /* [d][n_pos] */
    mvk_tensor tbl_y = mvk_tensor_make(v->pos_embd.buf, v->pos_embd.off + (uint64_t)(d * hp->n_pos * 4), MVK_TYPE_F32, d,
                                       hp->n_pos, 1, 1);

    vk_stream *st = m->step.work;
    const float eps = hp->eps;
    s = vk_stream_begin(st);
    mvk_tensor hcur, e, a, q, kx, vx, q3, k3, v3, qn, kn, qr, kr, vn, att, o, on, g, u, dn, dnn, pool, pn, nb;
    if (s != MOEVK_OK) goto done;
    /* patch embedding, raster order, then the two position tables */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, N, 1, 1, &hcur));
    TRY(vk_op_patch_embed(st, &hcur, &img, &v->patch_w0, NULL));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, N, 1, 1, &e));
    TRY(vk_op_get_rows(st, &e, &tbl_x, &pos_x));
    TRY(vk_op_add(st, &hcur, &hcur, &e));
    TRY(vk_op_get_rows(st, &e, &tbl_y, &pos_y));
    TRY(vk_op_add(st, &hcur, &hcur, &e));

    vk_attn_params ap = {.scale = 1.0f, .causal = 0};
    for (int il = 0; il < hp->n_layer; il++) {
        const mvk_vit_layer *l = &v->layers[il];
        vk_scratch_mark mark = vk_stream_scratch_mark(st);
        TRY(norm(st, &a, &hcur, &l->ln1_w, 0, eps));
        TRY(linear(st, &q, &a, &l->q_w, &l->clamp[MVK_G4V_Q]));
        TRY(linear(st, &kx, &a, &l->k_w, &l->clamp[MVK_G4V_K]));
        TRY(linear(st, &vx, &a, &l->v_w, &l->clamp[MVK_G4V_V]));
        q3 = mvk_tensor_make(q.buf, q.off, MVK_TYPE_F32, hd, H, N, 1); /* [hd][H][N] */
        k3 = mvk_tensor_make(kx.buf, kx.off, MVK_TYPE_F32, hd, H, N, 1);
        v3 = mvk_tensor_make(vx.buf, vx.off, MVK_TYPE_F32, hd, H, N, 1);
        TRY(norm(st, &qn, &q3, &l->q_norm, 0, eps));
        TRY(norm(st, &kn, &k3, &l->k_norm, 0, eps));
        TRY(rope_2d(st, &qr, &qn, &pos_x, &pos_y));
        TRY(rope_2d(st, &kr, &kn, &pos_x, &pos_y));
        TRY(norm(st, &vn, &v3, NULL, 1, eps)); /* the weightless V norm */
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, H, N, 1, &att));
        TRY(vk_op_attention(st, &att, &qr, &kr, &vn, NULL, &ap));
        mvk_tensor att2 = mvk_tensor_make(att.buf, att.off, MVK_TYPE_F32, d, N, 1, 1);
        TRY(linear(st, &o, &att2, &l->out_w, &l->clamp[MVK_G4V_O]));
        TRY(norm(st, &on, &o, &l->attn_post_norm, 0, eps));
        TRY(vk_op_add(st, &hcur, &hcur, &on));
        TRY(norm(st, &a, &hcur, &l->ln2_w, 0, eps));
        TRY(linear(st, &g, &a, &l->gate_w, &l->clamp[MVK_G4V_GATE]));
        TRY(linear(st, &u, &a, &l->up_w, &l->clamp[MVK_G4V_UP]));
        TRY(mlp_act(st, &g, &u, hp->act));
        TRY(linear(st, &dn, &g, &l->down_w, &l->clamp[MVK_G4V_DOWN]));
        TRY(norm(st, &dnn, &dn, &l->ffn_post_norm, 0, eps));
        TRY(vk_op_add(st, &hcur, &hcur, &dnn));
        if (l->out_scale.buf) TRY(vk_op_mul(st, &hcur, &hcur, &l->out_scale)); /* [1] broadcast */
        vk_stream_scratch_reset(st, mark);
    }
    /* k x k average pool (ggml_pool_2d AVG: the taps summed row by row, then divided by k*k), x sqrt(d) */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, n_img, 1, 1, &pool));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, n_img, 1, 1, &e));
    for (int64_t j = 0; j < kk; j++) {
        mvk_tensor taps = mvk_tensor_make(in, io + (uint64_t)(2 * N + j * n_img) * 4, MVK_TYPE_I32, n_img, 1, 1, 1);
        TRY(vk_op_get_rows(st, j ? &e : &pool, &hcur, &taps));
        if (j) TRY(vk_op_add(st, &pool, &pool, &e));
    }
    TRY(vk_op_scale(st, &pool, &pool, 1.0f / (float)kk));
    TRY(vk_op_scale(st, &pool, &pool, sqrtf((float)d)));
    if (v->std_bias.buf && v->std_scale.buf) { /* (x - std_bias) * std_scale */
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, 1, 1, 1, &nb));
        TRY(vk_op_scale(st, &nb, &v->std_bias, -1.0f)); /* x + (-b) is x - b exactly */
        TRY(vk_op_add(st, &pool, &pool, &nb));
        TRY(vk_op_mul(st, &pool, &pool, &v->std_scale));
    }
    TRY(norm(st, &pn, &pool, NULL, 1, eps));
    TRY(linear(st, &o, &pn, &v->inp_proj_w, &v->inp_proj_clamp));
    TRY(vk_op_convert(st, &out, &o));
    TRY(vk_stream_end(st));
    TRY(vk_stream_submit(st));
    if (host_out) TRY(vk_download(m->ctx, *out_dev, 0, host_out, out_bytes));
done:
    if (s != MOEVK_OK) mvk_fail_ctx(s, "gemma4v vision encoder"); /* the next vk_stream_begin resets the stream */
    vk_buffer_destroy(in);
    return s;
}
