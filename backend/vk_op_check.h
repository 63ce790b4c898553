/* vk_op_check.h — argument checks shared by the norm / rope / attention /
 * unary / softmax / image op files. Every check returns a moevk_status whose
 * message names the op and the tensor. */
#ifndef VK_OP_CHECK_H
#define VK_OP_CHECK_H

#include "vk_internal.h"

static inline const char *vkc_type(mvk_type t) {
    const char *n = mvk_type_name(t);
    return n ? n : "?";
}

/* t is a non-NULL tensor of type `type` (element size es bytes) with
 * element-aligned strides, contiguous dim 0 and sane dims. */
static inline moevk_status vkc_tensor(const char *op, const char *what, const mvk_tensor *t, mvk_type type, int es) {
    if (!t || !t->buf) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (t->type != type)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s must be %s, got %s", op, what, vkc_type(type), vkc_type(t->type));
    for (int i = 0; i < 4; i++)
        if (t->ne[i] <= 0 || t->ne[i] > (int64_t)UINT32_MAX)
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s has bad ne[%d] = %lld", op, what, i, (long long)t->ne[i]);
    if (t->nb[0] != es || t->nb[1] % es || t->nb[2] % es || t->nb[3] % es || t->off % (uint64_t)es || t->nb[1] < 0 ||
        t->nb[2] < 0 || t->nb[3] < 0)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s must have contiguous rows and %d-byte aligned strides", op, what, es);
    for (int i = 1; i < 4; i++)
        if (t->nb[i] / es > (int64_t)UINT32_MAX)
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %s stride nb[%d] too large", op, what, i);
    return MOEVK_OK;
}

static inline moevk_status vkc_f32(const char *op, const char *what, const mvk_tensor *t) {
    return vkc_tensor(op, what, t, MVK_TYPE_F32, 4);
}

static inline moevk_status vkc_same_shape(const char *op, const char *wa, const mvk_tensor *a, const char *wb, const mvk_tensor *b) {
    for (int i = 0; i < 4; i++)
        if (a->ne[i] != b->ne[i])
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s [%lld,%lld,%lld,%lld] and %s [%lld,%lld,%lld,%lld] differ", op, wa,
                            (long long)a->ne[0], (long long)a->ne[1], (long long)a->ne[2], (long long)a->ne[3], wb,
                            (long long)b->ne[0], (long long)b->ne[1], (long long)b->ne[2], (long long)b->ne[3]);
    return MOEVK_OK;
}

/* Workgroup size: want, capped by the device. */
static inline uint32_t vkc_wg(const vk_ctx *ctx, uint32_t want) {
    uint32_t m = vk_ctx_info(ctx)->max_workgroup_size[0];
    if (m && want > m) want = m;
    if (vk_ctx_info(ctx)->max_workgroup_invocations && want > vk_ctx_info(ctx)->max_workgroup_invocations)
        want = vk_ctx_info(ctx)->max_workgroup_invocations;
    return want;
}

static inline uint32_t vkc_u32(int64_t v) { return (uint32_t)v; }

#endif
