/* vk_op_check.h — the argument checks of every op (vk_op_*.c): the one place
 * that decides which status code a bad argument gets. Every check returns a
 * moevk_status whose message names the op and the tensor.
 *
 * One meaning per status code:
 *   MOEVK_ERR_INVALID_ARG   a NULL stream / tensor / params, a bad scalar (eps,
 *                           k, mode, patch size, non-finite scale), a byte
 *                           range outside its buffer.
 *   MOEVK_ERR_SHAPE         ne[i] <= 0 or beyond 32 bits, shapes that disagree,
 *                           the wrong number of dimensions, overlapping rows.
 *   MOEVK_ERR_UNSUPPORTED   a type or a memory layout the kernels do not
 *                           implement, on any device: the wrong tensor type,
 *                           dim 0 not contiguous, an offset or stride that is
 *                           not a multiple of the addressing unit, a negative
 *                           stride.
 *   MOEVK_ERR_DEVICE_LIMIT  a size beyond what one binding or dispatch can
 *                           address: strides or element counts past the
 *                           shaders' 32-bit indices, maxStorageBufferRange,
 *                           maxComputeWorkGroupCount, shared memory,
 *                           push-constant space, a driver's loop limit. (So
 *                           "stride too large" is DEVICE_LIMIT everywhere.) */
#ifndef VK_OP_CHECK_H
#define VK_OP_CHECK_H

#include "vk_internal.h"
#include "vk_push.h"

static inline const char *vkc_type(mvk_type t) {
    const char *n = mvk_type_name(t);
    return n ? n : "?";
}

/* ne[0..3] in 1..UINT32_MAX. */
static inline moevk_status vkc_dims(const char *op, const char *what, const mvk_tensor *t) {
    for (int i = 0; i < 4; i++)
        if (t->ne[i] <= 0 || t->ne[i] > (int64_t)UINT32_MAX)
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s has bad ne[%d] = %lld", op, what, i, (long long)t->ne[i]);
    return MOEVK_OK;
}

/* Rows of nb0 bytes (dim 0 contiguous), offset and strides nb[1..3]
 * non-negative multiples of the addressing unit `unit` bytes, each stride
 * addressable in 32 bits of units. */
static inline moevk_status vkc_layout_any(const char *op, const char *what, const mvk_tensor *t, int64_t nb0, int64_t unit) {
    if (t->nb[0] != nb0 || t->off % (uint64_t)unit)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s must have contiguous rows (nb[0] = %lld) and a %lld-byte aligned offset", op,
                        what, (long long)nb0, (long long)unit);
    for (int i = 1; i < 4; i++) {
        if (t->nb[i] < 0 || t->nb[i] % unit)
            return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s stride nb[%d] = %lld is not a non-negative multiple of %lld", op, what, i,
                            (long long)t->nb[i], (long long)unit);
        if (t->nb[i] / unit > (int64_t)UINT32_MAX)
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %s stride nb[%d] = %lld is too large for 32-bit indexing", op, what, i,
                            (long long)t->nb[i]);
    }
    return MOEVK_OK;
}

/* vkc_layout_any, and rows in the plain layout: a row-interleaved tensor (mvk_tensor.ilv) is UNSUPPORTED for every
 * op but the weight ops' variants that read it (vk_op_mm.h mm_check_weight, mm_ilv_refuse), so that no kernel reads
 * interleaved rows as plain ones. */
static inline moevk_status vkc_layout(const char *op, const char *what, const mvk_tensor *t, int64_t nb0, int64_t unit) {
    if (t->ilv)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s has rows interleaved in groups of %u, a layout this op does not read", op, what,
                        t->ilv);
    return vkc_layout_any(op, what, t, nb0, unit);
}

/* t is a non-NULL tensor of type `type` (element size es bytes) with
 * element-aligned strides, contiguous dim 0 and sane dims. */
static inline moevk_status vkc_tensor(const char *op, const char *what, const mvk_tensor *t, mvk_type type, int es) {
    if (!t || !t->buf) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (t->type != type)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s must be %s, got %s", op, what, vkc_type(type), vkc_type(t->type));
    MVK_TRY(vkc_dims(op, what, t));
    return vkc_layout(op, what, t, es, es);
}

static inline moevk_status vkc_f32(const char *op, const char *what, const mvk_tensor *t) {
    return vkc_tensor(op, what, t, MVK_TYPE_F32, 4);
}

static inline moevk_status vkc_i32(const char *op, const char *what, const mvk_tensor *t) {
    return vkc_tensor(op, what, t, MVK_TYPE_I32, 4);
}

/* An F32 or F16 tensor (convert, set_rows destinations, KV cache). */
static inline moevk_status vkc_f32_or_f16(const char *op, const char *what, const mvk_tensor *t) {
    if (!t || !t->buf) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (t->type != MVK_TYPE_F32 && t->type != MVK_TYPE_F16)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s must be f32 or f16, got %s", op, what, vkc_type(t->type));
    return vkc_tensor(op, what, t, t->type, t->type == MVK_TYPE_F32 ? 4 : 2);
}

static inline moevk_status vkc_same_shape(const char *op, const char *wa, const mvk_tensor *a, const char *wb, const mvk_tensor *b) {
    for (int i = 0; i < 4; i++)
        if (a->ne[i] != b->ne[i])
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s [%lld,%lld,%lld,%lld] and %s [%lld,%lld,%lld,%lld] differ", op, wa,
                            (long long)a->ne[0], (long long)a->ne[1], (long long)a->ne[2], (long long)a->ne[3], wb,
                            (long long)b->ne[0], (long long)b->ne[1], (long long)b->ne[2], (long long)b->ne[3]);
    return MOEVK_OK;
}

/* Invocations of one dispatch (elements, rows, pairs) must fit 32 bits. */
static inline moevk_status vkc_count(const char *op, const char *what, uint64_t n) {
    if (n > UINT32_MAX) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %llu %s is too many for one dispatch", op, (unsigned long long)n, what);
    return MOEVK_OK;
}

/* Workgroup size: want, capped by the device. */
static inline uint32_t vkc_wg(const vk_ctx *ctx, uint32_t want) {
    const vk_device_info *in = vk_ctx_info(ctx);
    if (in->max_workgroup_size[0] && want > in->max_workgroup_size[0]) want = in->max_workgroup_size[0];
    if (in->max_workgroup_invocations && want > in->max_workgroup_invocations) want = in->max_workgroup_invocations;
    return want;
}

/* Element-wise kernels that cover a row in workgroup chunks (common.glsl row_chunk_index): the workgroup size
 * (the smallest power of two from 32 that holds a row, at most 256, capped by the device), the workgroups per
 * row (*cpr) and the dispatch grid. Rows shorter than 32 (a transposing copy has rows of one element) would idle
 * most lanes of a workgroup a row: *cpr = 0 there, one element a lane, split per lane as before. */
static inline moevk_status vkc_row_chunks(vk_ctx *ctx, const char *op, uint32_t ne0, uint32_t nrows, uint32_t *wg, uint32_t *cpr,
                                          uint32_t groups[3]) {
    uint64_t n = (uint64_t)ne0 * nrows;
    MVK_TRY(vkc_count(op, "elements", n));
    if (ne0 < 32) {
        *wg = vkc_wg(ctx, 256);
        *cpr = 0;
        vk_split_groups(ctx, (uint32_t)((n + *wg - 1) / *wg), groups);
        return MOEVK_OK;
    }
    uint32_t w = 32;
    while (w < 256 && w < ne0) w *= 2;
    w = vkc_wg(ctx, w);
    uint32_t c = (ne0 + w - 1) / w;
    MVK_TRY(vkc_count(op, "workgroups", (uint64_t)c * nrows));
    *wg = w;
    *cpr = c;
    vk_split_groups(ctx, c * nrows, groups);
    return MOEVK_OK;
}

/* Largest power of two <= vkc_wg(ctx, want) (tree reductions). */
static inline uint32_t vkc_wg_pow2(const vk_ctx *ctx, uint32_t want) {
    uint32_t m = vkc_wg(ctx, want), p2 = 1;
    while (p2 * 2 <= m) p2 *= 2;
    return p2;
}

static inline uint32_t vkc_u32(int64_t v) { return (uint32_t)v; }

/* x F32 [K][R1][R2] (3-D, K whole blocks of 32) and its int8 form xq I32 [RQ][R1][R2], contiguous
 * (vk_op_quant_x's output; the fused producers', vk_op_rms_norm_xq / vk_op_swiglu_xq), both within one binding, the
 * rows within the workgroup count (one row a workgroup, y or x). */
static inline moevk_status vkc_xq(vk_ctx *ctx, const char *op, const mvk_tensor *xq, const mvk_tensor *x) {
    MVK_TRY(vkc_f32(op, "x", x));
    MVK_TRY(vkc_i32(op, "xq", xq));
    int64_t K = x->ne[0], R1 = x->ne[1], R2 = x->ne[2];
    if (K % 32 || K <= 0) return mvk_fail(MOEVK_ERR_SHAPE, "%s: x rows of %lld elements are not whole blocks of 32", op, (long long)K);
    if (x->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, "%s: x must be 3-D (ne[3] = %lld)", op, (long long)x->ne[3]);
    int64_t rq = vk_quant_x_row_words(K);
    if (xq->ne[0] != rq || xq->ne[1] != R1 || xq->ne[2] != R2 || xq->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: xq is [%lld,%lld,%lld,%lld], x [%lld,%lld,%lld] needs [%lld,%lld,%lld]", op, (long long)xq->ne[0],
                        (long long)xq->ne[1], (long long)xq->ne[2], (long long)xq->ne[3], (long long)K, (long long)R1, (long long)R2,
                        (long long)rq, (long long)R1, (long long)R2);
    if (!mvk_tensor_is_contiguous(xq)) return mvk_fail(MOEVK_ERR_SHAPE, "%s: xq must be contiguous", op);
    const vk_device_info *in = vk_ctx_info(ctx);
    uint64_t range = in->max_storage_buffer_range;
    if (vk_bind_span(ctx, x) > range || vk_bind_span(ctx, xq) > range)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: x or xq is larger than the storage-buffer range", op);
    uint64_t rows = (uint64_t)R1 * (uint64_t)R2;
    if (rows > in->max_workgroup_count[1])
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %llu rows exceed the device's workgroup count", op, (unsigned long long)rows);
    return vkc_count(op, "elements", (uint64_t)mvk_tensor_nelements(x));
}

/* vk_op_rope.c: checks vk_op_rope's arguments (op names the caller in errors) and fills rope.comp's push constants
 * but cpr (the workgroups a row); the fused RMSNorm + RoPE (vk_op_norm.c) takes its angle fields */
moevk_status vk_rope_check(vk_stream *s, const char *op, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *pos,
                           const vk_rope_params *p, pc_rope *out);

#endif
