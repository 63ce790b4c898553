/* vision.c — the Qwen3-VL vision tower and merger on the GPU
 * (spec qwen3vl-moe.md §3.2-§3.8, llama.cpp tools/mtmd/models/qwen3vl.cpp):
 * patch embedding (two temporal kernels on the same image), 2x2 block order,
 * interpolated learned position table, ViT blocks with 2-D RoPE and full
 * attention, DeepStack taps, post-LayerNorm, 2x2 merge and merger MLP.
 *
 * Output row j (j over merged tokens in raster order of the merged grid):
 * [ merger_j | deepstack_0_j | deepstack_1_j | ... ], width n_embd_out. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "mvk_status.h"

static mvk_tensor view2(const mvk_tensor *t, uint64_t off_bytes, int64_t ne0, int64_t ne1, int64_t row_stride) {
    int64_t ne[4] = {ne0, ne1, 1, 1};
    int64_t nb[4] = {4, row_stride, row_stride * ne1, row_stride * ne1};
    return mvk_tensor_view(t, off_bytes, ne, nb);
}

/* Heads view [hd][H][N] of a fused QKV activation [3d][N], part 0/1/2. */
static mvk_tensor qkv_part(const mvk_tensor *qkv, int part, int64_t hd, int64_t H, int64_t N) {
    int64_t d = hd * H;
    int64_t ne[4] = {hd, H, N, 1};
    int64_t nb[4] = {4, hd * 4, 3 * d * 4, 3 * d * 4 * N};
    return mvk_tensor_view(qkv, (uint64_t)(part * d * 4), ne, nb);
}

static moevk_status act(vk_stream *s, const mvk_tensor *x, mvk_vision_act a) {
    switch (a) {
    case MVK_VISION_ACT_GELU: return vk_op_gelu(s, x, x, VK_GELU_TANH);
    case MVK_VISION_ACT_SILU: return vk_op_silu(s, x, x);
    default: return mvk_fail(MOEVK_ERR_UNSUPPORTED, "mmproj: the quick-GELU vision activation is not supported "
                                                    "(the file sets neither clip.use_gelu nor clip.use_silu)");
    }
}

moevk_status mvk_vision_encode(moevk_model *m, const float *pixels, int h, int w, vk_buffer **out_dev, float *host_out,
                               size_t host_cap, int *n_img_out) {
    if (!m->has_vision) return mvk_fail(MOEVK_ERR_INVALID_ARG, "this model was loaded without an mmproj: it cannot read images");
    if (m->vis.hp.proj == MVK_PROJ_GEMMA4V) return mvk_gemma4v_encode(m, pixels, h, w, out_dev, host_out, host_cap, n_img_out);
    const mvk_vision *v = &m->vis;
    const mvk_vision_hparams *hp = &v->hp;
    int p = hp->patch_size, mg = hp->spatial_merge, A = p * mg;
    if (h <= 0 || w <= 0 || h % A || w % A)
        return mvk_fail(MOEVK_ERR_SHAPE, "image of %dx%d pixels: both sides must be positive multiples of %d (patch %d x merge %d)",
                        w, h, A, p, mg);
    if (mg != 2) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "spatial merge %d: only 2x2 merging is supported", mg);
    const int64_t npx = w / p, npy = h / p, N = npx * npy, n_img = N / 4;
    const int64_t d = hp->n_embd, H = hp->n_head, hd = hp->head_dim, d4 = hp->n_merged, T = hp->n_mmproj_embd;
    const int64_t n_out = hp->n_embd_out;
    const int G = hp->n_pos_side;
    if (n_img_out) *n_img_out = (int)n_img;
    if (host_out && host_cap < (size_t)(n_img * n_out))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "vision output buffer holds %zu floats, need %lld", host_cap, (long long)(n_img * n_out));

    /* host-side inputs: pixels, block-order permutation, 2-D rope positions */
    int32_t *perm = malloc((size_t)N * sizeof *perm);  /* [N] block-order token -> raster patch */
    int32_t *pos = malloc((size_t)N * 4 * sizeof *pos); /* [4][N] row | col | row | col */
    if (!perm || !pos) {
        free(perm);
        free(pos);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    for (int64_t by = 0, k = 0; by < npy / 2; by++)
        for (int64_t bx = 0; bx < npx / 2; bx++)
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++, k++) {
                    int64_t row = 2 * by + dy, col = 2 * bx + dx;
                    perm[k] = (int32_t)(row * npx + col);
                    pos[k] = pos[2 * N + k] = (int32_t)row;
                    pos[N + k] = pos[3 * N + k] = (int32_t)col;
                }
    uint64_t px_bytes = (uint64_t)3 * (uint64_t)h * (uint64_t)w * 4;
    uint64_t in_bytes = px_bytes + (uint64_t)N * 5 * 4;
    vk_buffer *in = NULL;
    moevk_status s = vk_buffer_create(m->ctx, in_bytes, VK_MEM_DEVICE, &in);
    if (s == MOEVK_OK) s = vk_upload(m->ctx, in, 0, pixels, px_bytes);
    if (s == MOEVK_OK) s = vk_upload(m->ctx, in, px_bytes, perm, (uint64_t)N * 4);
    if (s == MOEVK_OK) s = vk_upload(m->ctx, in, px_bytes + (uint64_t)N * 4, pos, (uint64_t)N * 16);
    free(perm);
    free(pos);
    uint64_t out_bytes = (uint64_t)(n_img * n_out * 4);
    if (s == MOEVK_OK) s = vk_buffer_reserve(m->ctx, out_dev, out_bytes, VK_MEM_DEVICE);
    if (s != MOEVK_OK) {
        vk_buffer_destroy(in);
        return s;
    }
    mvk_tensor img = mvk_tensor_make(in, 0, MVK_TYPE_F32, w, h, 3, 1);             /* [W][H][3] planar */
    mvk_tensor t_perm = mvk_tensor_make(in, px_bytes, MVK_TYPE_I32, N, 1, 1, 1);   /* [N] */
    mvk_tensor t_pos = mvk_tensor_make(in, px_bytes + (uint64_t)N * 4, MVK_TYPE_I32, 4 * N, 1, 1, 1); /* [4N] */
    mvk_tensor out = mvk_tensor_make(*out_dev, 0, MVK_TYPE_F32, n_out, n_img, 1, 1); /* [n_out][n_img] */

    vk_stream *st = m->step.work;
    s = vk_stream_begin(st);
    mvk_tensor pe0, hcur, grid, pe_blk, a, qkv, qkr, qr, kr, att, u, z, zn, f1, f2;
    if (s != MOEVK_OK) goto done;
    /* patch embedding: conv(W0) + conv(W1) + bias, raster order (one im2col, the second product added in its store) */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, N, 1, 1, &pe0));
    TRY(vk_op_patch_embed2(st, &pe0, &img, &v->patch_w0, &v->patch_w1, &v->patch_b));
    /* to block order */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, N, 1, 1, &hcur));
    TRY(vk_op_get_rows(st, &hcur, &pe0, &t_perm));
    /* learned positions: G x G table interpolated to npx x npy (align corners) */
    if (npx == G && npy == G) {
        grid = v->pos_embd;
    } else {
        mvk_tensor tab = mvk_tensor_make(v->pos_embd.buf, v->pos_embd.off, MVK_TYPE_F32, d, G, G, 1); /* [d][Gx][Gy] */
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, npx, npy, 1, &grid));
        TRY(vk_op_resize_bilinear(st, &grid, &tab, 1, 1));
        grid = mvk_tensor_make(grid.buf, grid.off, MVK_TYPE_F32, d, N, 1, 1);
    }
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, N, 1, 1, &pe_blk));
    TRY(vk_op_get_rows(st, &pe_blk, &grid, &t_perm));
    TRY(vk_op_add(st, &hcur, &hcur, &pe_blk));

    vk_rope_params rp = {.mode = VK_ROPE_VISION, .n_dims = (int)(hd / 2), .freq_base = 10000.0f,
                         .sections = {(int)(hd / 4), (int)(hd / 4), (int)(hd / 4), (int)(hd / 4)}};
    vk_attn_params ap = {.scale = 1.0f / sqrtf((float)hd), .causal = 0};
    /* the residual adds and the MLP's GELU ride in the GEMMs' stores (vk_op_matmul_ex; CPU devices' lane GEMM,
       separate ops elsewhere): on lavapipe each was a dispatch of ~1.3-1.6 ms at the goldens' 784 x 64 */
    const unsigned mlp_epi = hp->act == MVK_VISION_ACT_GELU ? VK_MM_EPI_GELU : 0;
    for (int il = 0; il < hp->n_layer; il++) {
        const mvk_vit_layer *l = &v->layers[il];
        vk_scratch_mark mark = vk_stream_scratch_mark(st);
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, N, 1, 1, &a));
        TRY(vk_op_layer_norm(st, &a, &hcur, &l->ln1_w, &l->ln1_b, hp->eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, 3 * d, N, 1, 1, &qkv));
        TRY(vk_op_matmul(st, &qkv, &a, &l->qkv_w, &l->qkv_b));
        mvk_tensor vv = qkv_part(&qkv, 2, hd, H, N);
        /* q and k roped by one dispatch: the q and k parts of a token's qkv row are its 2H heads [hd][2H][N],
           into qkr [hd][2H][N]; q and k are its first and last H heads (a dispatch less a layer) */
        mvk_tensor qk = mvk_tensor_view(&qkv, 0, (int64_t[4]){hd, 2 * H, N, 1}, (int64_t[4]){4, hd * 4, 3 * d * 4, 3 * d * 4 * N});
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, 2 * H, N, 1, &qkr));
        TRY(vk_op_rope(st, &qkr, &qk, &t_pos, &rp));
        qr = mvk_tensor_view(&qkr, 0, (int64_t[4]){hd, H, N, 1}, (int64_t[4]){4, hd * 4, 2 * d * 4, 2 * d * 4 * N}); /* [hd][H][N] */
        kr = mvk_tensor_view(&qkr, (uint64_t)(d * 4), (int64_t[4]){hd, H, N, 1}, (int64_t[4]){4, hd * 4, 2 * d * 4, 2 * d * 4 * N});
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hd, H, N, 1, &att));
        TRY(vk_op_attention(st, &att, &qr, &kr, &vv, NULL, &ap)); /* V read in place: rows 3d apart in qkv */
        mvk_tensor att2 = mvk_tensor_make(att.buf, att.off, MVK_TYPE_F32, d, N, 1, 1);
        TRY(vk_op_matmul_ex(st, &hcur, &att2, &l->out_w, &l->out_b, VK_MM_EPI_ACC));
        TRY(vk_op_layer_norm(st, &a, &hcur, &l->ln2_w, &l->ln2_b, hp->eps));
        TRY(vk_stream_scratch(st, MVK_TYPE_F32, hp->n_ff, N, 1, 1, &u));
        TRY(vk_op_matmul_ex(st, &u, &a, &l->up_w, &l->up_b, mlp_epi));
        if (!mlp_epi) TRY(act(st, &u, hp->act));
        TRY(vk_op_matmul_ex(st, &hcur, &u, &l->down_w, &l->down_b, VK_MM_EPI_ACC));
        if (l->deepstack >= 0) { /* tap: 4 consecutive tokens -> one 4d row, LN, MLP */
            const mvk_deepstack *ds = &v->deepstack[l->deepstack];
            z = mvk_tensor_make(hcur.buf, hcur.off, MVK_TYPE_F32, d4, n_img, 1, 1);
            TRY(vk_stream_scratch(st, MVK_TYPE_F32, d4, n_img, 1, 1, &zn));
            TRY(vk_op_layer_norm(st, &zn, &z, &ds->norm_w, &ds->norm_b, hp->eps));
            TRY(vk_stream_scratch(st, MVK_TYPE_F32, d4, n_img, 1, 1, &f1));
            TRY(vk_op_matmul_ex(st, &f1, &zn, &ds->fc1_w, &ds->fc1_b, VK_MM_EPI_GELU)); /* llama.cpp: tanh GELU (HF: erf) */
            TRY(vk_stream_scratch(st, MVK_TYPE_F32, T, n_img, 1, 1, &f2));
            TRY(vk_op_matmul(st, &f2, &f1, &ds->fc2_w, &ds->fc2_b));
            mvk_tensor dst = view2(&out, (uint64_t)((1 + l->deepstack) * T * 4), T, n_img, n_out * 4);
            TRY(vk_op_convert(st, &dst, &f2));
        }
        vk_stream_scratch_reset(st, mark);
    }
    /* merger: per-token post LayerNorm, 2x2 merge, MLP */
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, d, N, 1, 1, &a));
    TRY(vk_op_layer_norm(st, &a, &hcur, &v->post_ln_w, &v->post_ln_b, hp->eps));
    z = mvk_tensor_make(a.buf, a.off, MVK_TYPE_F32, d4, n_img, 1, 1);
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, d4, n_img, 1, 1, &f1));
    TRY(vk_op_matmul_ex(st, &f1, &z, &v->mm0_w, &v->mm0_b, VK_MM_EPI_GELU));
    TRY(vk_stream_scratch(st, MVK_TYPE_F32, T, n_img, 1, 1, &f2));
    TRY(vk_op_matmul(st, &f2, &f1, &v->mm2_w, &v->mm2_b));
    {
        mvk_tensor dst = view2(&out, 0, T, n_img, n_out * 4);
        TRY(vk_op_convert(st, &dst, &f2));
    }
    TRY(vk_stream_end(st));
    TRY(vk_stream_submit(st));
    if (host_out) TRY(vk_download(m->ctx, *out_dev, 0, host_out, out_bytes));
done:
    if (s != MOEVK_OK) {
        mvk_fail_ctx(s, "vision encoder"); /* the next vk_stream_begin resets the stream */
    }
    vk_buffer_destroy(in);
    return s;
}
