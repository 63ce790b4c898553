/* vk_op_norm.c — RMSNorm, LayerNorm and L2 norm, row-wise over ne[0] (shaders/norm.comp). */
#include <stdlib.h>
#include <string.h>

#include "vk_op_check.h"
#include "vk_op_mm.h"

/* The workgroup (spec 0) and ONE_SG (spec 1) of norm.comp, and of fuse_xq.comp's rms (the same sums). */
static void norm_spec(vk_ctx *ctx, int64_t ne0, uint32_t spec[2]) {
    /* GPUs: a power of two for the tree reduction, small rows get a small group. CPU devices (mm_style, as the
       mat-vecs): one subgroup a row summed with subgroupAdd -- lavapipe pays a coroutine switch through all of a
       workgroup's subgroups at every barrier, and the tree has log2(wg) + 1 of them per sum */
    const vk_device_info *in = vk_ctx_info(ctx);
    spec[0] = 32;
    spec[1] = 0;
    if (mm_style(in) == 1 && in->subgroup_arith && in->subgroup_size >= 4 && vkc_wg(ctx, in->subgroup_size) == in->subgroup_size) {
        spec[0] = in->subgroup_size;
        spec[1] = 1;
    } else {
        while (spec[0] < 256 && spec[0] < (uint32_t)ne0) spec[0] *= 2;
        while (spec[0] > vkc_wg(ctx, spec[0])) spec[0] /= 2;
    }
}

/* CPU devices' LayerNorm, one row a lane (norm_ln_lane.comp), where ne0 and every offset and stride are whole
 * vec4s, the texel views reach x, w and b, and y does not overlap x (x is read through another descriptor than
 * the one y is written through). MOEVK_NORM_LANE=0 keeps norm.comp (A/B timing, tests). */
static int ln_lane_ok(vk_ctx *ctx, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *b) {
    const vk_device_info *in = vk_ctx_info(ctx);
    const char *e = getenv("MOEVK_NORM_LANE");
    if ((e && !strcmp(e, "0")) || mm_style(in) != 1 || x->ne[0] % 4 || !(in->texel_support[VK_TEXEL_U32X4 - 1] & VK_TEXEL_UNIFORM))
        return 0;
    for (int i = 1; i < 4; i++)
        if (x->nb[i] % 16 || y->nb[i] % 16) return 0;
    const mvk_tensor *tx[3] = {x, w, b};
    for (int i = 0; i < 3; i++)
        if (tx[i] && (vk_bind_texel_offset(ctx, tx[i], 4) % 4 || (vk_bind_texel_span(ctx, tx[i]) + 15) / 16 > in->max_texel_buffer_elements))
            return 0;
    if (vk_bind_elem_offset(ctx, y, 4) % 4) return 0;
    if (x->buf == y->buf) { /* byte ranges [off, off + span) apart */
        uint64_t xs = x->off, xe = xs + (uint64_t)mvk_tensor_extent(x), ys = y->off, ye = ys + (uint64_t)mvk_tensor_extent(y);
        if (xs < ye && ys < xe) return 0;
    }
    return 1;
}

static moevk_status ln_lane(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *b,
                            float eps, int64_t nrows) {
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *in = vk_ctx_info(ctx);
    pc_norm_ln_lane pc = {
        .n4 = vkc_u32(x->ne[0] / 4), .ne1 = vkc_u32(x->ne[1]), .ne2 = vkc_u32(x->ne[2]), .nrows = vkc_u32(nrows),
        .sx1 = vkc_u32(x->nb[1] / 16), .sx2 = vkc_u32(x->nb[2] / 16), .sx3 = vkc_u32(x->nb[3] / 16),
        .sy1 = vkc_u32(y->nb[1] / 16), .sy2 = vkc_u32(y->nb[2] / 16), .sy3 = vkc_u32(y->nb[3] / 16),
        .ox = vk_bind_texel_offset(ctx, x, 4) / 4, .ow = w ? vk_bind_texel_offset(ctx, w, 4) / 4 : 0,
        .ob = b ? vk_bind_texel_offset(ctx, b, 4) / 4 : 0, .oy = vk_bind_elem_offset(ctx, y, 4) / 4,
        .has_w = w != NULL, .has_b = b != NULL, .eps = eps};
    uint32_t wg = vkc_wg(ctx, in->subgroup_size >= 4 && in->subgroup_size <= 64 ? in->subgroup_size : 8);
    vk_bind binds[4] = {{x, 0}, {w ? w : x, 0}, {b ? b : x, 0}, {y, 1}};
    vk_dispatch_desc d = {.shader = "norm_ln_lane", .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 4, .push = &pc,
                          .push_size = sizeof pc};
    d.texel[0] = d.texel[1] = d.texel[2] = VK_TEXEL_U32X4;
    vk_split_groups(ctx, (uint32_t)((nrows + wg - 1) / wg), d.groups);
    return vk_dispatch(s, &d);
}

/* b: LayerNorm's bias, or (split < x's ne[1]) the weight of the rows with i1 >= split (RMS, L2). lane: LayerNorm's
 * one-row-a-lane kernel may take it (ln_lane_ok). */
static moevk_status norm(vk_stream *s, const char *op, const char *shader, int lane, const mvk_tensor *y, const mvk_tensor *x,
                         const mvk_tensor *w, const mvk_tensor *b, float eps, uint32_t split) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "x", x));
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(vkc_same_shape(op, "y", y, "x", x));
    if (w) {
        MVK_TRY(vkc_f32(op, "w", w));
        if (mvk_tensor_nelements(w) != x->ne[0] || !mvk_tensor_is_contiguous(w))
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: w must be contiguous [%lld] (x's ne[0]), got %lld elements", op,
                            (long long)x->ne[0], (long long)mvk_tensor_nelements(w));
    }
    if (b) { /* the bias, or the second weight */
        MVK_TRY(vkc_f32(op, "b", b));
        if (mvk_tensor_nelements(b) != x->ne[0] || !mvk_tensor_is_contiguous(b))
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: b must be contiguous [%lld] (x's ne[0]), got %lld elements", op,
                            (long long)x->ne[0], (long long)mvk_tensor_nelements(b));
    }
    if (!(eps >= 0.0f)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: eps must be >= 0", op);
    int64_t nrows = x->ne[1] * x->ne[2] * x->ne[3];
    MVK_TRY(vkc_count(op, "rows", (uint64_t)nrows));
    vk_ctx *ctx = vk_stream_ctx(s);
    if (lane && ln_lane_ok(ctx, y, x, w, b)) return ln_lane(s, y, x, w, b, eps, nrows);
    pc_norm pc = {
        .ne0 = vkc_u32(x->ne[0]), .ne1 = vkc_u32(x->ne[1]), .ne2 = vkc_u32(x->ne[2]), .nrows = vkc_u32(nrows),
        .sx1 = vkc_u32(x->nb[1] / 4), .sx2 = vkc_u32(x->nb[2] / 4), .sx3 = vkc_u32(x->nb[3] / 4),
        .sy1 = vkc_u32(y->nb[1] / 4), .sy2 = vkc_u32(y->nb[2] / 4), .sy3 = vkc_u32(y->nb[3] / 4),
        .ox = vk_bind_elem_offset(ctx, x, 4), .ow = w ? vk_bind_elem_offset(ctx, w, 4) : 0,
        .ob = b ? vk_bind_elem_offset(ctx, b, 4) : 0, .oy = vk_bind_elem_offset(ctx, y, 4),
        .has_w = w != NULL, .has_b = b != NULL, .eps = eps, .wsplit = split};
    uint32_t spec[2];
    norm_spec(ctx, x->ne[0], spec);
    vk_bind binds[4] = {{x, 0}, {w ? w : x, 0}, {b ? b : x, 0}, {y, 1}};
    vk_dispatch_desc d = {.shader = shader, .spec = spec, .n_spec = 2, .binds = binds, .n_binds = 4,
                          .push = &pc, .push_size = sizeof pc};
    vk_split_groups(ctx, (uint32_t)nrows, d.groups);
    return vk_dispatch(s, &d);
}

moevk_status vk_op_rms_norm(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, float eps) {
    return norm(s, "vk_op_rms_norm", "norm_rms", 0, y, x, w, NULL, eps, UINT32_MAX);
}

moevk_status vk_op_rms_norm_split(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w,
                                  const mvk_tensor *w2, int64_t split, float eps) {
    const char *op = "vk_op_rms_norm_split";
    if (!w || !w2) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: both weights are needed", op);
    if (!x || split < 0 || split > x->ne[1])
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: split %lld outside x's %lld rows a slice", op, (long long)split,
                        x ? (long long)x->ne[1] : 0ll);
    return norm(s, op, "norm_rms", 0, y, x, w, w2, eps, (uint32_t)split);
}

moevk_status vk_op_layer_norm(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *b,
                              float eps) {
    return norm(s, "vk_op_layer_norm", "norm_ln", 1, y, x, w, b, eps, UINT32_MAX);
}

moevk_status vk_op_l2_norm(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, float eps) {
    return norm(s, "vk_op_l2_norm", "norm_l2", 0, y, x, w, NULL, eps, UINT32_MAX);
}

/* RMSNorm and the int8 form of its output in one dispatch (shaders/fuse_xq.comp rms): norm.comp's workgroup and
   sums (norm_spec), so y is vk_op_rms_norm's bit for bit, and xq.glsl's quantisation, quant_x.comp's. */
moevk_status vk_op_rms_norm_xq(vk_stream *s, const mvk_tensor *y, const mvk_tensor *xq, const mvk_tensor *x, const mvk_tensor *w,
                               float eps) {
    const char *op = "vk_op_rms_norm_xq";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    vk_ctx *ctx = vk_stream_ctx(s);
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(vkc_same_shape(op, "y", y, "x", x));
    MVK_TRY(vkc_xq(ctx, op, xq, y));
    MVK_TRY(vkc_f32(op, "x", x));
    if (w) {
        MVK_TRY(vkc_f32(op, "w", w));
        if (mvk_tensor_nelements(w) != x->ne[0] || !mvk_tensor_is_contiguous(w))
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: w must be contiguous [%lld] (x's ne[0]), got %lld elements", op,
                            (long long)x->ne[0], (long long)mvk_tensor_nelements(w));
    }
    if (!(eps >= 0.0f)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: eps must be >= 0", op);
    int64_t nrows = x->ne[1] * x->ne[2];
    pc_fuse_xq pc = {.K = vkc_u32(x->ne[0]), .R1 = vkc_u32(x->ne[1]), .nrows = vkc_u32(nrows),
                     .sa1 = vkc_u32(x->nb[1] / 4), .sa2 = vkc_u32(x->nb[2] / 4),
                     .sy1 = vkc_u32(y->nb[1] / 4), .sy2 = vkc_u32(y->nb[2] / 4),
                     .oa = vk_bind_elem_offset(ctx, x, 4), .ob = w ? vk_bind_elem_offset(ctx, w, 4) : 0,
                     .oy = vk_bind_elem_offset(ctx, y, 4), .oq = vk_bind_elem_offset(ctx, xq, 4),
                     .rq = vkc_u32(xq->ne[0]), .has_w = w != NULL, .eps = eps};
    uint32_t spec[2];
    norm_spec(ctx, x->ne[0], spec);
    vk_bind binds[4] = {{x, 0}, {w ? w : x, 0}, {y, 1}, {xq, 1}};
    vk_dispatch_desc d = {.shader = "fuse_xq_rms", .spec = spec, .n_spec = 2, .binds = binds, .n_binds = 4,
                          .push = &pc, .push_size = sizeof pc};
    vk_split_groups(ctx, (uint32_t)nrows, d.groups);
    return vk_dispatch(s, &d);
}
