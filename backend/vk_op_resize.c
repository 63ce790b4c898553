/* vk_op_resize.c — bilinear resize of two adjacent axes (shaders/resize.comp):
 * images x[W][H][C] (axis0 = 0) and ViT position tables x[D][Gx][Gy] (axis0 = 1). */
#include "vk_op_check.h"

moevk_status vk_op_resize_bilinear(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, int axis0, int align_corners) {
    const char *op = "vk_op_resize_bilinear";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "x", x));
    MVK_TRY(vkc_f32(op, "y", y));
    if (axis0 < 0 || axis0 > 2) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: axis0 = %d must be 0, 1 or 2", op, axis0);
    for (int d = 0; d < 4; d++) {
        if (d == axis0 || d == axis0 + 1) {
            /* integer source coordinates need (2·out)·in and d·in below 2^31 */
            if ((uint64_t)x->ne[d] * (uint64_t)y->ne[d] * 2 + (uint64_t)x->ne[d] >= ((uint64_t)1 << 31))
                return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: axis %d resize %lld -> %lld is too large", op, d, (long long)x->ne[d],
                                (long long)y->ne[d]);
            continue;
        }
        if (x->ne[d] != y->ne[d])
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: non-resized axis %d differs (x %lld, y %lld)", op, d, (long long)x->ne[d],
                            (long long)y->ne[d]);
    }
    int64_t n = mvk_tensor_nelements(y);
    MVK_TRY(vkc_count(op, "elements", (uint64_t)n));
    vk_ctx *ctx = vk_stream_ctx(s);
    pc_resize pc = {
        .ne0 = vkc_u32(y->ne[0]), .ne1 = vkc_u32(y->ne[1]), .ne2 = vkc_u32(y->ne[2]), .ne3 = vkc_u32(y->ne[3]),
        .in_a = vkc_u32(x->ne[axis0]), .in_b = vkc_u32(x->ne[axis0 + 1]), .axis0 = (uint32_t)axis0,
        .sx1 = vkc_u32(x->nb[1] / 4), .sx2 = vkc_u32(x->nb[2] / 4), .sx3 = vkc_u32(x->nb[3] / 4),
        .sy1 = vkc_u32(y->nb[1] / 4), .sy2 = vkc_u32(y->nb[2] / 4), .sy3 = vkc_u32(y->nb[3] / 4),
        .ox = vk_bind_elem_offset(ctx, x, 4), .oy = vk_bind_elem_offset(ctx, y, 4), .n = vkc_u32(n),
        .align_corners = align_corners ? 1u : 0u};
    uint32_t wg = vkc_wg(ctx, 256);
    vk_bind binds[2] = {{x, 0}, {y, 1}};
    vk_dispatch_desc d = {.shader = "resize", .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 2, .push = &pc,
                          .push_size = sizeof pc};
    vk_split_groups(ctx, (uint32_t)((n + wg - 1) / wg), d.groups);
    return vk_dispatch(s, &d);
}
