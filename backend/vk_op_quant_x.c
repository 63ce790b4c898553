/* vk_op_quant_x.c — x quantised to int8 blocks of 32 with an f32 scale each (shaders/quant_x.comp), the
 * x of the lane mat-vec's int8 path (vk_op_mm.h mm_lane_xq). On lavapipe every texelFetch is a call of
 * ~40 instructions for 8 lanes x 16 bytes whatever the address, and the lane mat-vec fetched as many
 * bytes of x (f32, the same in every lane) as of Q8_0 weights (docs/PERFORMANCE.md section 22): int8 x
 * is a quarter of those fetches. */
#include <stdlib.h>
#include <string.h>

#include "vk_op_check.h"
#include "vk_op_mm.h"

#define OP "vk_op_quant_x"

moevk_status vk_op_quant_x(vk_stream *s, const mvk_tensor *xq, const mvk_tensor *x) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, OP ": NULL stream");
    MVK_TRY(vkc_f32(OP, "x", x));
    MVK_TRY(vkc_i32(OP, "xq", xq));
    int64_t K = x->ne[0], R1 = x->ne[1], R2 = x->ne[2];
    if (K % 32 || K <= 0) return mvk_fail(MOEVK_ERR_SHAPE, OP ": x rows of %lld elements are not whole blocks of 32", (long long)K);
    if (x->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, OP ": x must be 3-D (ne[3] = %lld)", (long long)x->ne[3]);
    int64_t rq = vk_quant_x_row_words(K);
    if (xq->ne[0] != rq || xq->ne[1] != R1 || xq->ne[2] != R2 || xq->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, OP ": xq is [%lld,%lld,%lld,%lld], x [%lld,%lld,%lld] needs [%lld,%lld,%lld]", (long long)xq->ne[0],
                        (long long)xq->ne[1], (long long)xq->ne[2], (long long)xq->ne[3], (long long)K, (long long)R1, (long long)R2,
                        (long long)rq, (long long)R1, (long long)R2);
    if (!mvk_tensor_is_contiguous(xq)) return mvk_fail(MOEVK_ERR_SHAPE, OP ": xq must be contiguous");
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *in = vk_ctx_info(ctx);
    uint64_t range = in->max_storage_buffer_range;
    if (vk_bind_span(ctx, x) > range || vk_bind_span(ctx, xq) > range)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, OP ": x or xq is larger than the storage-buffer range");
    uint64_t rows = (uint64_t)R1 * (uint64_t)R2;
    if (rows > in->max_workgroup_count[1])
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, OP ": %llu rows exceed the device's workgroup count", (unsigned long long)rows);
    MVK_TRY(vkc_count(OP, "elements", (uint64_t)mvk_tensor_nelements(x)));
    pc_quant_x pc = {.K = vkc_u32(K), .R1 = vkc_u32(R1), .sx1 = vkc_u32(x->nb[1] / 4), .sx2 = vkc_u32(x->nb[2] / 4),
                     .ox = vk_bind_elem_offset(ctx, x, 4), .oq = vk_bind_elem_offset(ctx, xq, 4), .rq = vkc_u32(rq)};
    uint32_t wg = vkc_wg(ctx, 64);
    vk_bind binds[2] = {{x, 0}, {xq, 1}};
    vk_dispatch_desc d = {.shader = "quant_x", .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 2, .push = &pc,
                          .push_size = sizeof pc};
    d.groups[0] = (uint32_t)((K / 32 + wg - 1) / wg);
    d.groups[1] = (uint32_t)rows;
    d.groups[2] = 1;
    return vk_dispatch(s, &d);
}

moevk_status vk_quant_x_shared(vk_stream *s, const mvk_tensor *x, mvk_tensor *xq) {
    if (!s || !x || !xq) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_quant_x_shared: NULL argument");
    if (x->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, "vk_quant_x_shared: x must be 3-D (ne[3] = %lld)", (long long)x->ne[3]);
    const char *e = getenv("MOEVK_XQ_SHARE");
    int share = !(e && !strcmp(e, "0"));
    if (share && vk_stream_xq_find(s, x, xq)) return MOEVK_OK;
    MVK_TRY(vk_stream_scratch(s, MVK_TYPE_I32, vk_quant_x_row_words(x->ne[0]), x->ne[1], x->ne[2], 1, xq));
    MVK_TRY(vk_op_quant_x(s, xq, x));
    if (share) vk_stream_xq_keep(s, x, xq);
    return MOEVK_OK;
}

/* Whether the producer of x [K][R1][R2] records x's int8 form too (vk_rms_norm_xq_shared, vk_swiglu_xq_shared,
 * vk_geglu_xq_shared): where
 * a lane mat-vec would quantise x (vk_op_mm.h mm_lane_xq's switches: a CPU device, MOEVK_LANE_XQ, MOEVK_MM_LANE) and
 * would find the fused quantisation (MOEVK_XQ_SHARE on). MOEVK_FUSE_XQ=0: the plain op and quant_x (A/B, tests). */
static int fuse_xq_on(vk_stream *s, const mvk_tensor *x) {
    const char *names[3] = {"MOEVK_FUSE_XQ", "MOEVK_XQ_SHARE", "MOEVK_LANE_XQ"};
    for (int i = 0; i < 3; i++) {
        const char *e = getenv(names[i]);
        if (e && !strcmp(e, "0")) return 0;
    }
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *in = vk_ctx_info(ctx);
    return mm_lane_xq(ctx, MVK_TYPE_Q8_0, x->ne[0]) && /* the weight type does not matter here: any quantised one */
           x->ne[3] == 1 && (uint64_t)x->ne[1] * (uint64_t)x->ne[2] <= in->max_workgroup_count[1] &&
           vk_bind_span(ctx, x) <= in->max_storage_buffer_range;
}

moevk_status vk_rms_norm_xq_shared(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, float eps) {
    if (!s || !y || !x) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_rms_norm_xq_shared: NULL argument");
    if (!fuse_xq_on(s, y)) return vk_op_rms_norm(s, y, x, w, eps);
    mvk_tensor xq;
    MVK_TRY(vk_stream_scratch(s, MVK_TYPE_I32, vk_quant_x_row_words(y->ne[0]), y->ne[1], y->ne[2], 1, &xq));
    MVK_TRY(vk_op_rms_norm_xq(s, y, &xq, x, w, eps));
    vk_stream_xq_keep(s, y, &xq);
    return MOEVK_OK;
}

/* geglu: GeGLU, else SwiGLU */
static moevk_status glu_xq_shared(vk_stream *s, const char *fn, int geglu, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u) {
    if (!s || !y || !g || !u) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL argument", fn);
    if (!fuse_xq_on(s, y)) return geglu ? vk_op_geglu(s, y, g, u) : vk_op_swiglu(s, y, g, u);
    mvk_tensor xq;
    MVK_TRY(vk_stream_scratch(s, MVK_TYPE_I32, vk_quant_x_row_words(y->ne[0]), y->ne[1], y->ne[2], 1, &xq));
    MVK_TRY(geglu ? vk_op_geglu_xq(s, y, &xq, g, u) : vk_op_swiglu_xq(s, y, &xq, g, u));
    vk_stream_xq_keep(s, y, &xq);
    return MOEVK_OK;
}

moevk_status vk_swiglu_xq_shared(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u) {
    return glu_xq_shared(s, "vk_swiglu_xq_shared", 0, y, g, u);
}

moevk_status vk_geglu_xq_shared(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u) {
    return glu_xq_shared(s, "vk_geglu_xq_shared", 1, y, g, u);
}
