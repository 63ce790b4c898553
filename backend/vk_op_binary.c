/* vk_op_binary.c — add and mul with row broadcast (shaders/binary.comp). */
#include "vk_internal.h"

static moevk_status check_f32_strided(const char *op, const char *what, const mvk_tensor *t) {
    if (!t || !t->buf) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (t->type != MVK_TYPE_F32) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s must be f32, got %s", op, what, mvk_type_name(t->type) ? mvk_type_name(t->type) : "?");
    if (t->nb[0] != 4 || t->nb[1] % 4 || t->nb[2] % 4 || t->nb[3] % 4 || t->off % 4)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s must have 4-byte aligned strides and contiguous rows", op, what);
    for (int i = 0; i < 4; i++)
        if (t->ne[i] <= 0 || t->ne[i] > UINT32_MAX) return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s has bad ne[%d] = %lld", op, what, i, (long long)t->ne[i]);
    return MOEVK_OK;
}

static moevk_status binary(vk_stream *s, const char *op, const char *shader, const mvk_tensor *y, const mvk_tensor *a, const mvk_tensor *b) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(check_f32_strided(op, "a", a));
    MVK_TRY(check_f32_strided(op, "b", b));
    MVK_TRY(check_f32_strided(op, "y", y));
    for (int i = 0; i < 4; i++) {
        if (y->ne[i] != a->ne[i])
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: y [%lld,%lld,%lld,%lld] and a [%lld,%lld,%lld,%lld] differ", op, (long long)y->ne[0],
                            (long long)y->ne[1], (long long)y->ne[2], (long long)y->ne[3], (long long)a->ne[0], (long long)a->ne[1],
                            (long long)a->ne[2], (long long)a->ne[3]);
        if (a->ne[i] % b->ne[i])
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: b's ne[%d] = %lld does not divide a's %lld (cannot broadcast)", op, i,
                            (long long)b->ne[i], (long long)a->ne[i]);
    }
    vk_ctx *ctx = vk_stream_ctx(s);
    int64_t n = mvk_tensor_nelements(a);
    if (n > UINT32_MAX) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %lld elements is too many for one dispatch", op, (long long)n);
    uint32_t pc[23] = {
        (uint32_t)a->ne[0], (uint32_t)a->ne[1], (uint32_t)a->ne[2], (uint32_t)a->ne[3],
        (uint32_t)(a->nb[1] / 4), (uint32_t)(a->nb[2] / 4), (uint32_t)(a->nb[3] / 4),
        (uint32_t)b->ne[0], (uint32_t)b->ne[1], (uint32_t)b->ne[2], (uint32_t)b->ne[3],
        (uint32_t)(b->nb[1] / 4), (uint32_t)(b->nb[2] / 4), (uint32_t)(b->nb[3] / 4),
        (uint32_t)(y->nb[1] / 4), (uint32_t)(y->nb[2] / 4), (uint32_t)(y->nb[3] / 4),
        vk_bind_elem_offset(ctx, a, 4), vk_bind_elem_offset(ctx, b, 4), vk_bind_elem_offset(ctx, y, 4),
        (uint32_t)n};
    uint32_t wg = 256;
    if (wg > vk_ctx_info(ctx)->max_workgroup_size[0]) wg = vk_ctx_info(ctx)->max_workgroup_size[0];
    vk_bind binds[3] = {{a, 0}, {b, 0}, {y, 1}};
    vk_dispatch_desc d = {.shader = shader, .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 3, .push = pc, .push_size = sizeof pc};
    vk_split_groups(ctx, (uint32_t)((n + wg - 1) / wg), d.groups);
    return vk_dispatch(s, &d);
}

moevk_status vk_op_add(vk_stream *s, const mvk_tensor *y, const mvk_tensor *a, const mvk_tensor *b) {
    return binary(s, "vk_op_add", "binary_add", y, a, b);
}

moevk_status vk_op_mul(vk_stream *s, const mvk_tensor *y, const mvk_tensor *a, const mvk_tensor *b) {
    return binary(s, "vk_op_mul", "binary_mul", y, a, b);
}
