/* vk_op_rope.c — NEOX (optionally with frequency factors) / M-RoPE / IMROPE / 2-D vision RoPE (shaders/rope.comp). */
#include <math.h>

#include "vk_op_check.h"

moevk_status vk_rope_check(vk_stream *s, const char *op, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *pos,
                           const vk_rope_params *p, pc_rope *out) {
    if (!s || !p) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL %s", op, s ? "params" : "stream");
    MVK_TRY(vkc_f32(op, "x", x));
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(vkc_same_shape(op, "y", y, "x", x));
    MVK_TRY(vkc_tensor(op, "pos", pos, MVK_TYPE_I32, 4));
    if (x->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, "%s: x must be [hd][H][T] (ne[3] = 1), got ne[3] = %lld", op, (long long)x->ne[3]);
    int64_t hd = x->ne[0], H = x->ne[1], T = x->ne[2];
    if (hd % 2) return mvk_fail(MOEVK_ERR_SHAPE, "%s: head dim %lld is odd", op, (long long)hd);
    if (p->mode < VK_ROPE_NEOX || p->mode > VK_ROPE_VISION) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: unknown mode %d", op, (int)p->mode);
    int vision = p->mode == VK_ROPE_VISION;
    if (p->n_dims <= 0 || (!vision && p->n_dims % 2))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: n_dims %d must be positive%s", op, p->n_dims, vision ? "" : " and even");
    int64_t half = vision ? p->n_dims : p->n_dims / 2;
    if (2 * half > hd)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s rotates %lld dims but the head dim is %lld", op, vision ? "VISION (2*n_dims)" : "n_dims",
                        (long long)(2 * half), (long long)hd);
    if (!(p->freq_base > 0.0f) || !isfinite(p->freq_base)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: freq_base must be > 0", op);
    int64_t sect = 0;
    if (p->mode != VK_ROPE_NEOX) {
        for (int i = 0; i < 4; i++)
            if (p->sections[i] < 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: sections[%d] = %d is negative", op, i, p->sections[i]);
        sect = vision ? p->sections[0] + p->sections[1] : p->sections[0] + p->sections[1] + p->sections[2] + p->sections[3];
        if (sect <= 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: sections sum to 0", op);
    }
    const mvk_tensor *ff = p->freq_factors;
    if (ff) {
        MVK_TRY(vkc_f32(op, "freq_factors", ff));
        if (p->mode != VK_ROPE_NEOX) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: freq_factors with a multi-section mode", op);
        if (mvk_tensor_nelements(ff) < half || !mvk_tensor_is_contiguous(ff))
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: freq_factors must be contiguous F32 with >= %lld (n_dims/2) elements, got %lld", op,
                            (long long)half, (long long)mvk_tensor_nelements(ff));
    }
    int64_t npos = p->mode == VK_ROPE_NEOX ? T : 4 * T;
    if (mvk_tensor_nelements(pos) != npos || !mvk_tensor_is_contiguous(pos))
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: pos must be contiguous I32 [%lld] (%s), got %lld elements", op, (long long)npos,
                        p->mode == VK_ROPE_NEOX ? "T" : "4*T planar", (long long)mvk_tensor_nelements(pos));
    int64_t n = hd / 2 * H * T;
    MVK_TRY(vkc_count(op, "pairs", (uint64_t)n));
    vk_ctx *ctx = vk_stream_ctx(s);
    int neox = p->mode == VK_ROPE_NEOX;
    pc_rope pc = {
        .nh = vkc_u32(hd / 2), .H = vkc_u32(H), .T = vkc_u32(T),
        .sx1 = vkc_u32(x->nb[1] / 4), .sx2 = vkc_u32(x->nb[2] / 4), .sy1 = vkc_u32(y->nb[1] / 4), .sy2 = vkc_u32(y->nb[2] / 4),
        .ox = vk_bind_elem_offset(ctx, x, 4), .op = vk_bind_elem_offset(ctx, pos, 4), .oy = vk_bind_elem_offset(ctx, y, 4),
        .mode = (uint32_t)p->mode, .half_ = vkc_u32(half),
        .s0 = neox ? 0 : (uint32_t)p->sections[0], .s1 = neox ? 0 : (uint32_t)p->sections[1],
        .s2 = neox ? 0 : (uint32_t)p->sections[2], .s3 = neox ? 0 : (uint32_t)p->sections[3],
        .l2s = (float)(-2.0 * log2((double)p->freq_base) / (double)p->n_dims),
        .off = ff ? vk_bind_elem_offset(ctx, ff, 4) : 0, .has_ff = ff != NULL};
    *out = pc;
    return MOEVK_OK;
}

moevk_status vk_op_rope(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *pos, const vk_rope_params *p) {
    const char *op = "vk_op_rope";
    pc_rope pc;
    MVK_TRY(vk_rope_check(s, op, y, x, pos, p, &pc));
    vk_ctx *ctx = vk_stream_ctx(s);
    const mvk_tensor *ff = p->freq_factors;
    uint32_t wg;
    vk_bind binds[4] = {{x, 0}, {pos, 0}, {y, 1}, {ff ? ff : x, 0}};
    vk_dispatch_desc d = {.shader = "rope", .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 4, .push = &pc, .push_size = sizeof pc};
    MVK_TRY(vkc_row_chunks(ctx, op, pc.nh, pc.H * pc.T, &wg, &pc.cpr, d.groups));
    return vk_dispatch(s, &d);
}
