/* vk_op_unary.c — silu, gelu (tanh / erf), swiglu, scale, sigmoid, sigmoid_mul, geglu, geglu_quick, softcap and clamp
 * (shaders/unary.comp).
 * x, u, y are F32 with the same shape; any of them may be a strided view with
 * contiguous rows, and y may alias x (or g / u for swiglu): in-place works.
 * Contiguous tensors larger than the storage-buffer range are processed in
 * element ranges. */
#include <math.h>

#include "vk_op_check.h"

/* xn: the name x has in the op's signature (messages) */
static moevk_status unary(vk_stream *s, const char *op, const char *shader, const char *xn, const mvk_tensor *y,
                          const mvk_tensor *x, const mvk_tensor *u, float f, float f2) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, xn, x));
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(vkc_same_shape(op, "y", y, xn, x));
    if (u) {
        MVK_TRY(vkc_f32(op, "u", u));
        MVK_TRY(vkc_same_shape(op, "u", u, xn, x));
    }
    vk_ctx *ctx = vk_stream_ctx(s);
    const mvk_tensor *ub = u ? u : x;
    uint64_t range = vk_ctx_info(ctx)->max_storage_buffer_range;
    if (vk_bind_span(ctx, x) > range || vk_bind_span(ctx, ub) > range || vk_bind_span(ctx, y) > range) {
        /* larger than one binding: contiguous tensors are processed in element ranges */
        if (!mvk_tensor_is_contiguous(x) || !mvk_tensor_is_contiguous(ub) || !mvk_tensor_is_contiguous(y))
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: strided tensors larger than the storage-buffer range are not supported", op);
        int64_t total = mvk_tensor_nelements(x);
        uint64_t slack = vk_ctx_info(ctx)->min_storage_buffer_offset_alignment;
        int64_t chunk = (int64_t)((range - slack) / 4);
        if (chunk > (int64_t)UINT32_MAX / 2) chunk = (int64_t)UINT32_MAX / 2;
        for (int64_t e0 = 0; e0 < total; e0 += chunk) {
            int64_t m = total - e0 < chunk ? total - e0 : chunk;
            int64_t ne[4] = {m, 1, 1, 1}, nb[4] = {4, 4 * m, 4 * m, 4 * m};
            mvk_tensor xv = mvk_tensor_view(x, (uint64_t)e0 * 4, ne, nb), yv = mvk_tensor_view(y, (uint64_t)e0 * 4, ne, nb);
            mvk_tensor uv = mvk_tensor_view(ub, (uint64_t)e0 * 4, ne, nb);
            MVK_TRY(unary(s, op, shader, xn, &yv, &xv, u ? &uv : NULL, f, f2));
        }
        return MOEVK_OK;
    }
    int64_t n = mvk_tensor_nelements(x);
    MVK_TRY(vkc_count(op, "elements", (uint64_t)n));
    pc_unary pc = {
        .ne0 = vkc_u32(x->ne[0]), .ne1 = vkc_u32(x->ne[1]), .ne2 = vkc_u32(x->ne[2]), .ne3 = vkc_u32(x->ne[3]),
        .sx1 = vkc_u32(x->nb[1] / 4), .sx2 = vkc_u32(x->nb[2] / 4), .sx3 = vkc_u32(x->nb[3] / 4),
        .su1 = vkc_u32(ub->nb[1] / 4), .su2 = vkc_u32(ub->nb[2] / 4), .su3 = vkc_u32(ub->nb[3] / 4),
        .sy1 = vkc_u32(y->nb[1] / 4), .sy2 = vkc_u32(y->nb[2] / 4), .sy3 = vkc_u32(y->nb[3] / 4),
        .ox = vk_bind_elem_offset(ctx, x, 4), .ou = vk_bind_elem_offset(ctx, ub, 4), .oy = vk_bind_elem_offset(ctx, y, 4),
        .nrows = vkc_u32(n / x->ne[0]), .f = f, .f2 = f2};
    uint32_t wg;
    vk_bind binds[3] = {{x, 0}, {ub, 0}, {y, 1}};
    vk_dispatch_desc d = {.shader = shader, .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 3, .push = &pc,
                          .push_size = sizeof pc};
    MVK_TRY(vkc_row_chunks(ctx, op, pc.ne0, pc.nrows, &wg, &pc.cpr, d.groups));
    return vk_dispatch(s, &d);
}

moevk_status vk_op_scale(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, float f) {
    return unary(s, "vk_op_scale", "unary_scale", "x", y, x, NULL, f, 0.0f);
}

moevk_status vk_op_silu(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x) {
    return unary(s, "vk_op_silu", "unary_silu", "x", y, x, NULL, 0.0f, 0.0f);
}

moevk_status vk_op_gelu(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, vk_gelu_kind kind) {
    if (kind != VK_GELU_TANH && kind != VK_GELU_ERF)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_gelu: unknown gelu kind %d", (int)kind);
    return unary(s, "vk_op_gelu", kind == VK_GELU_TANH ? "unary_gelu_tanh" : "unary_gelu_erf", "x", y, x, NULL, 0.0f, 0.0f);
}

moevk_status vk_op_swiglu(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u) {
    if (!u) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_swiglu: u is NULL");
    return unary(s, "vk_op_swiglu", "unary_swiglu", "g", y, g, u, 0.0f, 0.0f);
}

moevk_status vk_op_sigmoid(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x) {
    return unary(s, "vk_op_sigmoid", "unary_sigmoid", "x", y, x, NULL, 0.0f, 0.0f);
}

moevk_status vk_op_sigmoid_mul(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *u) {
    if (!u) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_sigmoid_mul: u is NULL");
    return unary(s, "vk_op_sigmoid_mul", "unary_sigmoid_mul", "x", y, x, u, 0.0f, 0.0f);
}

moevk_status vk_op_geglu(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u) {
    if (!u) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_geglu: u is NULL");
    return unary(s, "vk_op_geglu", "unary_geglu", "g", y, g, u, 0.0f, 0.0f);
}

moevk_status vk_op_softcap(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, float cap) {
    if (!(cap > 0.0f) || !isfinite(cap)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_softcap: cap %g must be finite and > 0", (double)cap);
    return unary(s, "vk_op_softcap", "unary_softcap", "x", y, x, NULL, cap, 0.0f);
}

moevk_status vk_op_geglu_quick(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u) {
    if (!u) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_geglu_quick: u is NULL");
    return unary(s, "vk_op_geglu_quick", "unary_geglu_quick", "g", y, g, u, 0.0f, 0.0f);
}

moevk_status vk_op_clamp(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, float lo, float hi) {
    if (isnan(lo) || isnan(hi) || lo > hi)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_clamp: bounds [%g, %g] must be ordered numbers", (double)lo, (double)hi);
    return unary(s, "vk_op_clamp", "unary_clamp", "x", y, x, NULL, lo, hi);
}

/* SwiGLU / GeGLU and the int8 form of its output in one dispatch (shaders/fuse_xq.comp swiglu / geglu): act.glsl's
   silu / gelu_tanh as unary.comp's, xq.glsl's quantisation as quant_x.comp's; one invocation a block of 32, as quant_x. */
static moevk_status glu_xq(vk_stream *s, const char *op, const char *shader, const mvk_tensor *y, const mvk_tensor *xq,
                           const mvk_tensor *g, const mvk_tensor *u) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    vk_ctx *ctx = vk_stream_ctx(s);
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(vkc_f32(op, "g", g));
    MVK_TRY(vkc_f32(op, "u", u));
    MVK_TRY(vkc_same_shape(op, "y", y, "g", g));
    MVK_TRY(vkc_same_shape(op, "u", u, "g", g));
    MVK_TRY(vkc_xq(ctx, op, xq, y));
    uint64_t range = vk_ctx_info(ctx)->max_storage_buffer_range;
    if (vk_bind_span(ctx, g) > range || vk_bind_span(ctx, u) > range)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: g or u is larger than the storage-buffer range", op);
    int64_t K = g->ne[0], nrows = g->ne[1] * g->ne[2];
    pc_fuse_xq pc = {.K = vkc_u32(K), .R1 = vkc_u32(g->ne[1]), .nrows = vkc_u32(nrows),
                     .sa1 = vkc_u32(g->nb[1] / 4), .sa2 = vkc_u32(g->nb[2] / 4),
                     .sb1 = vkc_u32(u->nb[1] / 4), .sb2 = vkc_u32(u->nb[2] / 4),
                     .sy1 = vkc_u32(y->nb[1] / 4), .sy2 = vkc_u32(y->nb[2] / 4),
                     .oa = vk_bind_elem_offset(ctx, g, 4), .ob = vk_bind_elem_offset(ctx, u, 4),
                     .oy = vk_bind_elem_offset(ctx, y, 4), .oq = vk_bind_elem_offset(ctx, xq, 4), .rq = vkc_u32(xq->ne[0])};
    uint32_t spec[2] = {vkc_wg(ctx, 64), 0};
    vk_bind binds[4] = {{g, 0}, {u, 0}, {y, 1}, {xq, 1}};
    vk_dispatch_desc d = {.shader = shader, .spec = spec, .n_spec = 2, .binds = binds, .n_binds = 4,
                          .push = &pc, .push_size = sizeof pc};
    d.groups[0] = (uint32_t)((K / 32 + spec[0] - 1) / spec[0]);
    d.groups[1] = (uint32_t)nrows;
    d.groups[2] = 1;
    return vk_dispatch(s, &d);
}

moevk_status vk_op_swiglu_xq(vk_stream *s, const mvk_tensor *y, const mvk_tensor *xq, const mvk_tensor *g, const mvk_tensor *u) {
    return glu_xq(s, "vk_op_swiglu_xq", "fuse_xq_swiglu", y, xq, g, u);
}

moevk_status vk_op_geglu_xq(vk_stream *s, const mvk_tensor *y, const mvk_tensor *xq, const mvk_tensor *g, const mvk_tensor *u) {
    return glu_xq(s, "vk_op_geglu_xq", "fuse_xq_geglu", y, xq, g, u);
}
