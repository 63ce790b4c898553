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

/* Whether a and b share bytes: the same buffer and byte ranges [off, off + extent) that meet */
static int overlaps(const mvk_tensor *a, const mvk_tensor *b) {
    if (a->buf != b->buf) return 0;
    uint64_t as = a->off, ae = as + (uint64_t)mvk_tensor_extent(a), bs = b->off, be = bs + (uint64_t)mvk_tensor_extent(b);
    return as < be && bs < ae;
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
    return !overlaps(x, y);
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

/* RoPE after the norm (norm.comp rms_rope): rope.comp's fields (vk_rope_check), the positions and the frequency
 * factors (NULL: none) */
typedef struct norm_rope {
    const pc_rope *pc;
    const mvk_tensor *pos, *ff;
} norm_rope;

/* b: LayerNorm's bias, or (split < x's ne[1]) the weight of the rows with i1 >= split (RMS, L2). lane: LayerNorm's
 * one-row-a-lane kernel may take it (ln_lane_ok). rope (NULL: none): RMSNorm then RoPE, shader norm_rms_rope. */
static moevk_status norm(vk_stream *s, const char *op, const char *shader, int lane, const mvk_tensor *y, const mvk_tensor *x,
                         const mvk_tensor *w, const mvk_tensor *b, float eps, uint32_t split, const norm_rope *rope) {
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
    vk_bind binds[6] = {{x, 0}, {w ? w : x, 0}, {b ? b : x, 0}, {y, 1}, {x, 0}, {x, 0}};
    vk_dispatch_desc d = {.shader = shader, .spec = spec, .n_spec = 2, .binds = binds, .n_binds = 4,
                          .push = &pc, .push_size = sizeof pc};
    pc_norm_rope pr;
    if (rope) { /* 4: the positions, 5: the frequency factors (or a placeholder) */
        const pc_rope *r = rope->pc;
        pr = (pc_norm_rope){.n = pc, .op = r->op, .mode = r->mode, .half_ = r->half_, .s0 = r->s0, .s1 = r->s1, .s2 = r->s2,
                            .s3 = r->s3, .l2s = r->l2s, .off = r->off, .has_ff = r->has_ff};
        binds[4] = (vk_bind){rope->pos, 0};
        binds[5] = (vk_bind){rope->ff ? rope->ff : x, 0};
        d.n_binds = 6;
        d.push = &pr;
        d.push_size = sizeof pr;
    }
    vk_split_groups(ctx, (uint32_t)nrows, d.groups);
    return vk_dispatch(s, &d);
}

moevk_status vk_op_rms_norm(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, float eps) {
    return norm(s, "vk_op_rms_norm", "norm_rms", 0, y, x, w, NULL, eps, UINT32_MAX, NULL);
}

moevk_status vk_op_rms_norm_split(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w,
                                  const mvk_tensor *w2, int64_t split, float eps) {
    const char *op = "vk_op_rms_norm_split";
    if (!w || !w2) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: both weights are needed", op);
    if (!x || split < 0 || split > x->ne[1])
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: split %lld outside x's %lld rows a slice", op, (long long)split,
                        x ? (long long)x->ne[1] : 0ll);
    return norm(s, op, "norm_rms", 0, y, x, w, w2, eps, (uint32_t)split, NULL);
}

/* Whether vk_op_rms_norm_rope_split records one dispatch (norm.comp rms_rope): CPU devices, as the lane mat-vecs
 * (mm_style), where each dispatch is a handoff to lavapipe's threads (docs/PERFORMANCE.md section 45). GPUs keep the
 * two ops. MOEVK_FUSE_NORM_ROPE=0 keeps them on CPU devices too (A/B, tests). */
static int norm_rope_fused(const vk_ctx *ctx) {
    const char *e = getenv("MOEVK_FUSE_NORM_ROPE");
    return mm_style(vk_ctx_info(ctx)) == 1 && !(e && !strcmp(e, "0"));
}

moevk_status vk_op_rms_norm_rope_split(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w,
                                       const mvk_tensor *w2, int64_t split, float eps, const mvk_tensor *pos,
                                       const vk_rope_params *p) {
    const char *op = "vk_op_rms_norm_rope_split";
    pc_rope rp;
    MVK_TRY(vk_rope_check(s, op, y, x, pos, p, &rp)); /* x, y: F32 [hd][H][T], the same shape */
    if (!w || !w2) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: both weights are needed", op);
    if (split < 0 || split > x->ne[1])
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: split %lld outside x's %lld heads", op, (long long)split, (long long)x->ne[1]);
    if (overlaps(x, y)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: y overlaps x (the fused kernel reads x while it writes y)", op);
    vk_ctx *ctx = vk_stream_ctx(s);
    if (!norm_rope_fused(ctx)) { /* the two ops, the norm's output in stream scratch */
        mvk_tensor t;
        MVK_TRY(vk_stream_scratch(s, MVK_TYPE_F32, x->ne[0], x->ne[1], x->ne[2], 1, &t)); /* [hd][H][T] */
        MVK_TRY(vk_op_rms_norm_split(s, &t, x, w, w2, split, eps));
        return vk_op_rope(s, y, &t, pos, p);
    }
    norm_rope r = {.pc = &rp, .pos = pos, .ff = p->freq_factors};
    return norm(s, op, "norm_rms_rope", 0, y, x, w, w2, eps, (uint32_t)split, &r);
}

moevk_status vk_op_layer_norm(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *b,
                              float eps) {
    return norm(s, "vk_op_layer_norm", "norm_ln", 1, y, x, w, b, eps, UINT32_MAX, NULL);
}

moevk_status vk_op_l2_norm(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, float eps) {
    return norm(s, "vk_op_l2_norm", "norm_l2", 0, y, x, w, NULL, eps, UINT32_MAX, NULL);
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
