/* vk_op_patch_embed.c — ViT patch embedding: conv2d with stride = kernel = p,
 * no padding, computed as im2col (shaders/im2col.comp) into a stream scratch
 * tensor followed by vk_op_matmul with the kernel [p][p][C][OC] viewed as a
 * 2-D weight [p·p·C][OC] (F32 or F16), plus bias. Patches that do not fit
 * (W or H not a multiple of p) are dropped, as a strided convolution does. */
#include "vk_op_check.h"

static moevk_status check_img(const char *op, const mvk_tensor *img, int p) {
    MVK_TRY(vkc_f32(op, "img", img));
    if (img->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, "%s: img must be [W][H][C], got ne[3] = %lld", op, (long long)img->ne[3]);
    if (p < 1) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: patch size %d must be >= 1", op, p);
    if (img->ne[0] < p || img->ne[1] < p)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: img %lldx%lld is smaller than one %dx%d patch", op, (long long)img->ne[0],
                        (long long)img->ne[1], p, p);
    return MOEVK_OK;
}

moevk_status vk_op_im2col(vk_stream *s, const mvk_tensor *cols, const mvk_tensor *img, int p) {
    const char *op = "vk_op_im2col";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(check_img(op, img, p));
    MVK_TRY(vkc_f32(op, "cols", cols));
    int64_t gx = img->ne[0] / p, gy = img->ne[1] / p, np = gx * gy;
    int64_t K = (int64_t)p * p * img->ne[2];
    if (cols->ne[0] != K || cols->ne[1] != np || cols->ne[2] != 1 || cols->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: cols must be [%lld][%lld] (p*p*C x patches), got [%lld,%lld,%lld,%lld]", op,
                        (long long)K, (long long)np, (long long)cols->ne[0], (long long)cols->ne[1], (long long)cols->ne[2],
                        (long long)cols->ne[3]);
    if (cols->nb[1] < K * 4) return mvk_fail(MOEVK_ERR_SHAPE, "%s: cols columns overlap (nb[1] < p*p*C*4)", op);
    int64_t n = K * np;
    MVK_TRY(vkc_count(op, "elements", (uint64_t)n));
    vk_ctx *ctx = vk_stream_ctx(s);
    pc_im2col pc = {.p = (uint32_t)p, .K = vkc_u32(K), .gx = vkc_u32(gx), .np = vkc_u32(np), .s1 = vkc_u32(img->nb[1] / 4),
                    .s2 = vkc_u32(img->nb[2] / 4), .sc1 = vkc_u32(cols->nb[1] / 4), .oi = vk_bind_elem_offset(ctx, img, 4),
                    .oc = vk_bind_elem_offset(ctx, cols, 4)};
    uint32_t spec[2] = {0, (uint32_t)p}; /* workgroup size, P: a pipeline per patch size (one per model) */
    vk_bind binds[2] = {{img, 0}, {cols, 1}};
    vk_dispatch_desc d = {.shader = "im2col", .spec = spec, .n_spec = 2, .binds = binds, .n_binds = 2, .push = &pc,
                          .push_size = sizeof pc};
    /* a workgroup covers part of one column: a column (patch) is a "row" of K / p runs of p elements, one a lane */
    MVK_TRY(vkc_row_chunks(ctx, op, pc.K / (uint32_t)p, pc.np, &spec[0], &pc.cpr, d.groups));
    return vk_dispatch(s, &d);
}

/* w1: a second kernel of w's shape and type on the same patches (Qwen-VL's two temporal kernels), added in the
 * second product's store (vk_op_matmul_ex ACC): one im2col for both */
static moevk_status patch_embed(vk_stream *s, const char *op, const mvk_tensor *y, const mvk_tensor *img, const mvk_tensor *w,
                                const mvk_tensor *w1, const mvk_tensor *bias) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    if (!w || !w->buf) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: w is NULL", op);
    if (w->type != MVK_TYPE_F32 && w->type != MVK_TYPE_F16)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: w must be f32 or f16, got %s", op, vkc_type(w->type));
    MVK_TRY(vkc_tensor(op, "w", w, w->type, w->type == MVK_TYPE_F32 ? 4 : 2));
    if (!mvk_tensor_is_contiguous(w)) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: w must be contiguous", op);
    if (w->ne[0] != w->ne[1] || w->ne[0] > 4096)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: w must be [p][p][C][OC], got [%lld,%lld,%lld,%lld]", op, (long long)w->ne[0],
                        (long long)w->ne[1], (long long)w->ne[2], (long long)w->ne[3]);
    int p = (int)w->ne[0];
    MVK_TRY(check_img(op, img, p));
    if (w->ne[2] != img->ne[2])
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: w has C=%lld input channels but img has %lld", op, (long long)w->ne[2],
                        (long long)img->ne[2]);
    MVK_TRY(vkc_f32(op, "y", y));
    int64_t OC = w->ne[3], np = (img->ne[0] / p) * (img->ne[1] / p), K = (int64_t)p * p * img->ne[2];
    if (y->ne[0] != OC || y->ne[1] != np || y->ne[2] != 1 || y->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: y must be [%lld][%lld] (OC x patches), got [%lld,%lld,%lld,%lld]", op, (long long)OC,
                        (long long)np, (long long)y->ne[0], (long long)y->ne[1], (long long)y->ne[2], (long long)y->ne[3]);
    if (bias) {
        MVK_TRY(vkc_f32(op, "bias", bias));
        if (mvk_tensor_nelements(bias) != OC || !mvk_tensor_is_contiguous(bias))
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: bias must be contiguous [%lld] (OC), got %lld elements", op, (long long)OC,
                            (long long)mvk_tensor_nelements(bias));
    }
    mvk_tensor cols;
    MVK_TRY(vk_stream_scratch(s, MVK_TYPE_F32, K, np, 1, 1, &cols));
    MVK_TRY(vk_op_im2col(s, &cols, img, p));
    int64_t es = w->type == MVK_TYPE_F32 ? 4 : 2;
    int64_t wne[4] = {K, OC, 1, 1}, wnb[4] = {es, K * es, K * OC * es, K * OC * es};
    mvk_tensor w2 = mvk_tensor_view(w, 0, wne, wnb);
    MVK_TRY(vk_op_matmul(s, y, &cols, &w2, bias));
    if (!w1) return MOEVK_OK;
    mvk_tensor w12 = mvk_tensor_view(w1, 0, wne, wnb);
    return vk_op_matmul_ex(s, y, &cols, &w12, NULL, VK_MM_EPI_ACC);
}

moevk_status vk_op_patch_embed(vk_stream *s, const mvk_tensor *y, const mvk_tensor *img, const mvk_tensor *w, const mvk_tensor *bias) {
    return patch_embed(s, "vk_op_patch_embed", y, img, w, NULL, bias);
}

moevk_status vk_op_patch_embed2(vk_stream *s, const mvk_tensor *y, const mvk_tensor *img, const mvk_tensor *w0, const mvk_tensor *w1,
                                const mvk_tensor *bias) {
    const char *op = "vk_op_patch_embed2";
    if (!w0 || !w1 || !w0->buf || !w1->buf) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: w0 or w1 is NULL", op);
    if (w1->type != w0->type || !mvk_tensor_is_contiguous(w1))
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: w1 must be contiguous and of w0's type", op);
    for (int i = 0; i < 4; i++)
        if (w1->ne[i] != w0->ne[i]) return mvk_fail(MOEVK_ERR_SHAPE, "%s: w1's shape differs from w0's (ne[%d])", op, i);
    return patch_embed(s, op, y, img, w0, w1, bias);
}
