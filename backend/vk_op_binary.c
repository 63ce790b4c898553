/* vk_op_binary.c — add and mul with row broadcast (shaders/binary.comp). */
#include "vk_op_check.h"

static moevk_status binary(vk_stream *s, const char *op, const char *shader, const mvk_tensor *y, const mvk_tensor *a, const mvk_tensor *b) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "a", a));
    MVK_TRY(vkc_f32(op, "b", b));
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(vkc_same_shape(op, "y", y, "a", a));
    for (int i = 0; i < 4; i++)
        if (a->ne[i] % b->ne[i])
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: b's ne[%d] = %lld does not divide a's %lld (cannot broadcast)", op, i,
                            (long long)b->ne[i], (long long)a->ne[i]);
    vk_ctx *ctx = vk_stream_ctx(s);
    int64_t n = mvk_tensor_nelements(a);
    MVK_TRY(vkc_count(op, "elements", (uint64_t)n));
    pc_binary pc = {
        .ne0 = vkc_u32(a->ne[0]), .ne1 = vkc_u32(a->ne[1]), .ne2 = vkc_u32(a->ne[2]), .ne3 = vkc_u32(a->ne[3]),
        .sa1 = vkc_u32(a->nb[1] / 4), .sa2 = vkc_u32(a->nb[2] / 4), .sa3 = vkc_u32(a->nb[3] / 4),
        .bne0 = vkc_u32(b->ne[0]), .bne1 = vkc_u32(b->ne[1]), .bne2 = vkc_u32(b->ne[2]), .bne3 = vkc_u32(b->ne[3]),
        .sb1 = vkc_u32(b->nb[1] / 4), .sb2 = vkc_u32(b->nb[2] / 4), .sb3 = vkc_u32(b->nb[3] / 4),
        .sy1 = vkc_u32(y->nb[1] / 4), .sy2 = vkc_u32(y->nb[2] / 4), .sy3 = vkc_u32(y->nb[3] / 4),
        .oa = vk_bind_elem_offset(ctx, a, 4), .ob = vk_bind_elem_offset(ctx, b, 4), .oy = vk_bind_elem_offset(ctx, y, 4),
        .nrows = vkc_u32(n / a->ne[0])};
    uint32_t wg;
    vk_bind binds[3] = {{a, 0}, {b, 0}, {y, 1}};
    vk_dispatch_desc d = {.shader = shader, .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 3, .push = &pc, .push_size = sizeof pc};
    MVK_TRY(vkc_row_chunks(ctx, op, pc.ne0, pc.nrows, &wg, &pc.cpr, d.groups));
    return vk_dispatch(s, &d);
}

moevk_status vk_op_add(vk_stream *s, const mvk_tensor *y, const mvk_tensor *a, const mvk_tensor *b) {
    return binary(s, "vk_op_add", "binary_add", y, a, b);
}

moevk_status vk_op_mul(vk_stream *s, const mvk_tensor *y, const mvk_tensor *a, const mvk_tensor *b) {
    return binary(s, "vk_op_mul", "binary_mul", y, a, b);
}
