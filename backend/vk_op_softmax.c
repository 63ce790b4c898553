/* vk_op_softmax.c — row-wise softmax and argmax over ne[0]
 * (shaders/softmax.comp, shaders/argmax.comp). One workgroup per row; on
 * CPU devices long softmax rows take shaders/softmax_lane.comp, one
 * invocation per row, and long argmax rows two passes (shaders/argmax_lane.comp
 * over parts of the row, then argmax.comp over the parts' winners).
 * When a binding would exceed the device's storage-buffer range (e.g. argmax
 * over many vocabulary rows), rows are processed in ranges of dim 1, one
 * (i2, i3) slice at a time. */
#include <math.h>

#include "vk_op_mm.h"

typedef struct row_op {
    const char *op;
    int argmax;
    const mvk_tensor *y;   /* softmax output, or ids */
    const mvk_tensor *x;
    float scale;
} row_op;

/* Power-of-two workgroup for a row of ne0 elements. */
static uint32_t row_wg(const vk_ctx *ctx, int64_t ne0) {
    uint32_t wg = 32;
    while (wg < 256 && (int64_t)wg < ne0) wg *= 2;
    while (wg > 1 && wg > vkc_wg(ctx, wg)) wg /= 2;
    return wg;
}

/* Softmax rows of at least this many elements take softmax_lane.comp on CPU
 * devices (one invocation a row); shorter rows (a MoE router's 32-128
 * experts) keep softmax.comp's workgroup a row. */
#define SOFTMAX_LANE_MIN 256

/* The CPU devices' softmax (softmax_lane.comp): style cpu (vk_op_mm.h
 * mm_style), R32G32B32A32 uniform texel views, long rows, ne0 and every row
 * start a multiple of 4 floats, x and y in different bytes (x is read through
 * a view while y is written). *ox gets x's offset in its view.
 * MOEVK_SOFTMAX_LANE=0 keeps softmax.comp (A/B timing, tests). */
static int softmax_lane(const vk_ctx *ctx, const mvk_tensor *x, const mvk_tensor *y, uint32_t *ox) {
    const vk_device_info *in = vk_ctx_info(ctx);
    const char *e = getenv("MOEVK_SOFTMAX_LANE");
    if ((e && !strcmp(e, "0")) || mm_style(in) != 1 || !(in->texel_support[VK_TEXEL_U32X4 - 1] & VK_TEXEL_UNIFORM)) return 0;
    if (x->ne[0] < SOFTMAX_LANE_MIN || x->ne[0] % 4) return 0;
    for (int i = 1; i < 4; i++)
        if ((x->ne[i] > 1 && x->nb[i] % 16) || (y->ne[i] > 1 && y->nb[i] % 16)) return 0;
    if (vk_bind_elem_offset(ctx, y, 4) % 4) return 0;
    if (x->buf == y->buf) {
        uint64_t x0 = x->off, x1 = x0 + mvk_tensor_extent(x), y0 = y->off, y1 = y0 + mvk_tensor_extent(y);
        if (x0 < y1 && y0 < x1) return 0;
    }
    if ((vk_bind_texel_span(ctx, x) + 15) / 16 > in->max_texel_buffer_elements) return 0;
    uint32_t o = vk_bind_texel_offset(ctx, x, 4);
    if (o % 4) return 0;
    *ox = o;
    return 1;
}

/* CPU devices split argmax rows of at least ARGMAX_SPLIT_MIN elements into parts of ARGMAX_PART elements,
 * one invocation a part walking its part through a texel view (argmax_lane.comp), then pick each row's winner
 * among its parts (argmax.comp mode 2): argmax.comp's one workgroup a row spent ~1.5-1.9 ms on a 152k
 * vocabulary (one lavapipe thread, a gather a lane per element), the two passes ~0.3-0.4 ms. Rows the texel
 * view cannot take keep the one pass. MOEVK_ARGMAX_SPLIT=0 keeps it everywhere (A/B timing, tests);
 * MOEVK_ARGMAX_PART=N sets the part length (A/B timing, tests; a multiple of 4). */
#define ARGMAX_SPLIT_MIN 8192
#define ARGMAX_PART 1024 /* 149 parts (lanes) over 152k: bench ops 0.27 ms; the one pass 1.5 ms */
static int64_t argmax_part_len(const vk_ctx *ctx, int64_t ne0) {
    const char *e = getenv("MOEVK_ARGMAX_SPLIT");
    if ((e && !strcmp(e, "0")) || vk_ctx_info(ctx)->kind != VK_KIND_CPU || ne0 < ARGMAX_SPLIT_MIN) return 0;
    const char *l = getenv("MOEVK_ARGMAX_PART");
    int64_t len = l ? atoll(l) : ARGMAX_PART;
    return len >= 1 && len < ne0 ? len : 0;
}

/* Whether argmax_lane.comp can take x (a R32G32B32A32 uniform texel view): style cpu, ne0, the row strides and
 * x's offset in its view multiples of 4 floats, plen a multiple of 4. *ox gets x's offset in its view. */
static int argmax_lane(const vk_ctx *ctx, const mvk_tensor *x, int64_t plen, uint32_t *ox) {
    const vk_device_info *in = vk_ctx_info(ctx);
    if (mm_style(in) != 1 || !(in->texel_support[VK_TEXEL_U32X4 - 1] & VK_TEXEL_UNIFORM)) return 0;
    if (x->ne[0] % 4 || plen % 4) return 0;
    for (int i = 1; i < 4; i++)
        if (x->ne[i] > 1 && x->nb[i] % 16) return 0;
    if ((vk_bind_texel_span(ctx, x) + 15) / 16 > in->max_texel_buffer_elements) return 0;
    uint32_t o = vk_bind_texel_offset(ctx, x, 4);
    if (o % 4) return 0;
    *ox = o;
    return 1;
}

/* One dispatch over the rows of x (and the matching y / ids); CPU argmax of long rows: two. */
static moevk_status row_dispatch(vk_stream *s, const row_op *o, const mvk_tensor *x, const mvk_tensor *y) {
    vk_ctx *ctx = vk_stream_ctx(s);
    int64_t nrows = x->ne[1] * x->ne[2] * x->ne[3];
    pc_softmax sm = {
        .ne0 = vkc_u32(x->ne[0]), .ne1 = vkc_u32(x->ne[1]), .ne2 = vkc_u32(x->ne[2]), .nrows = vkc_u32(nrows),
        .sx1 = vkc_u32(x->nb[1] / 4), .sx2 = vkc_u32(x->nb[2] / 4), .sx3 = vkc_u32(x->nb[3] / 4),
        .sy1 = vkc_u32(y->nb[1] / 4), .sy2 = vkc_u32(y->nb[2] / 4), .sy3 = vkc_u32(y->nb[3] / 4),
        .ox = vk_bind_elem_offset(ctx, x, 4), .oy = vk_bind_elem_offset(ctx, y, 4), .scale = o->scale};
    pc_argmax am = {
        .ne0 = sm.ne0, .ne1 = sm.ne1, .ne2 = sm.ne2, .nrows = sm.nrows, .sx1 = sm.sx1, .sx2 = sm.sx2, .sx3 = sm.sx3,
        .ox = sm.ox, .oi = sm.oy};
    uint32_t wg = row_wg(ctx, x->ne[0]);
    vk_bind binds[3] = {{x, 0}, {y, 1}, {x, 0}}; /* argmax mode 0: binding 2 unused */
    vk_dispatch_desc d = {.shader = o->argmax ? "argmax" : "softmax", .spec = &wg, .n_spec = 1, .binds = binds,
                          .n_binds = o->argmax ? 3 : 2, .push = o->argmax ? (const void *)&am : (const void *)&sm,
                          .push_size = o->argmax ? (uint32_t)sizeof am : (uint32_t)sizeof sm};
    int64_t plen = o->argmax ? argmax_part_len(ctx, x->ne[0]) : 0;
    pc_argmax_lane al = {.ne0 = am.ne0, .ne1 = am.ne1, .ne2 = am.ne2, .nrows = am.nrows, .sx1 = am.sx1, .sx2 = am.sx2, .sx3 = am.sx3};
    if (plen && argmax_lane(ctx, x, plen, &al.ox)) {
        int64_t nparts = (x->ne[0] + plen - 1) / plen;
        if (nrows * nparts > UINT32_MAX / 2)
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %lld rows of %lld parts is too many", o->op, (long long)nrows,
                            (long long)nparts);
        mvk_tensor part; /* I32 [2][nparts][nrows]: each part's winner, value bits and index */
        MVK_TRY(vk_stream_scratch(s, MVK_TYPE_I32, 2 * nparts * nrows, 1, 1, 1, &part));
        al.nparts = am.nparts = (uint32_t)nparts;
        al.plen = (uint32_t)plen;
        /* pass 1: one invocation a part */
        const vk_device_info *in = vk_ctx_info(ctx);
        uint32_t lw = vkc_wg(ctx, in->subgroup_size ? in->subgroup_size : 8);
        vk_bind lb[2] = {{x, 0}, {&part, 1}};
        vk_dispatch_desc ld = {.shader = "argmax_lane", .spec = &lw, .n_spec = 1, .binds = lb, .n_binds = 2, .push = &al,
                               .push_size = sizeof al};
        ld.texel[0] = VK_TEXEL_U32X4;
        vk_split_groups(ctx, (uint32_t)((nrows * nparts + lw - 1) / lw), ld.groups);
        MVK_TRY(vk_dispatch(s, &ld));
        /* pass 2: one workgroup a row over its parts' winners */
        binds[1] = (vk_bind){y, 1};
        binds[2] = (vk_bind){&part, 0};
        am.mode = 2;
        wg = row_wg(ctx, nparts);
        vk_split_groups(ctx, (uint32_t)nrows, d.groups);
        return vk_dispatch(s, &d);
    }
    if (!o->argmax && softmax_lane(ctx, x, y, &sm.ox)) { /* one invocation a row, x through a view */
        const vk_device_info *in = vk_ctx_info(ctx);
        wg = vkc_wg(ctx, in->subgroup_size ? in->subgroup_size : 8);
        d.shader = "softmax_lane";
        d.texel[0] = VK_TEXEL_U32X4;
        vk_split_groups(ctx, (uint32_t)((nrows + wg - 1) / wg), d.groups);
        return vk_dispatch(s, &d);
    }
    vk_split_groups(ctx, (uint32_t)nrows, d.groups);
    return vk_dispatch(s, &d);
}

static moevk_status rows_run(vk_stream *s, const row_op *o) {
    const mvk_tensor *x = o->x, *y = o->y;
    int64_t nrows = x->ne[1] * x->ne[2] * x->ne[3];
    MVK_TRY(vkc_count(o->op, "rows", (uint64_t)nrows));
    vk_ctx *ctx = vk_stream_ctx(s);
    uint64_t range = vk_ctx_info(ctx)->max_storage_buffer_range;
    if (vk_bind_span(ctx, x) <= range && vk_bind_span(ctx, y) <= range) return row_dispatch(s, o, x, y);
    /* rows per range: one row of x (and of y) plus alignment slack must fit */
    uint64_t slack = vk_ctx_info(ctx)->min_storage_buffer_offset_alignment;
    uint64_t xrow = (uint64_t)x->nb[1], yrow = o->argmax ? 4 : (uint64_t)y->nb[1];
    uint64_t xlen = (uint64_t)x->ne[0] * 4, ylen = o->argmax ? 4 : (uint64_t)y->ne[0] * 4;
    if (xlen + slack > range || ylen + slack > range)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: one row of %lld elements exceeds the storage-buffer range", o->op,
                        (long long)x->ne[0]);
    uint64_t per_x = xrow ? (range - slack - xlen) / xrow + 1 : UINT32_MAX;
    uint64_t per_y = yrow ? (range - slack - ylen) / yrow + 1 : UINT32_MAX;
    int64_t chunk = (int64_t)(per_x < per_y ? per_x : per_y);
    if (chunk < 1) chunk = 1;
    for (int64_t i3 = 0; i3 < x->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < x->ne[2]; i2++)
            for (int64_t r0 = 0; r0 < x->ne[1]; r0 += chunk) {
                int64_t nr = x->ne[1] - r0 < chunk ? x->ne[1] - r0 : chunk;
                int64_t xne[4] = {x->ne[0], nr, 1, 1}, xnb[4] = {4, x->nb[1], x->nb[1] * nr, x->nb[1] * nr};
                mvk_tensor xv = mvk_tensor_view(x, (uint64_t)(i3 * x->nb[3] + i2 * x->nb[2] + r0 * x->nb[1]), xne, xnb);
                mvk_tensor yv;
                if (o->argmax) {
                    int64_t yne[4] = {nr, 1, 1, 1}, ynb[4] = {4, 4 * nr, 4 * nr, 4 * nr};
                    yv = mvk_tensor_view(y, (uint64_t)(((i3 * x->ne[2] + i2) * x->ne[1] + r0) * 4), yne, ynb);
                } else {
                    int64_t yne[4] = {y->ne[0], nr, 1, 1}, ynb[4] = {4, y->nb[1], y->nb[1] * nr, y->nb[1] * nr};
                    yv = mvk_tensor_view(y, (uint64_t)(i3 * y->nb[3] + i2 * y->nb[2] + r0 * y->nb[1]), yne, ynb);
                }
                MVK_TRY(row_dispatch(s, o, &xv, &yv));
            }
    return MOEVK_OK;
}

moevk_status vk_op_softmax(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, float scale) {
    const char *op = "vk_op_softmax";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "x", x));
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(vkc_same_shape(op, "y", y, "x", x));
    if (!isfinite(scale)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: scale must be finite", op);
    row_op o = {op, 0, y, x, scale};
    return rows_run(s, &o);
}

moevk_status vk_op_argmax(vk_stream *s, const mvk_tensor *ids, const mvk_tensor *x) {
    const char *op = "vk_op_argmax";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "x", x));
    MVK_TRY(vkc_tensor(op, "ids", ids, MVK_TYPE_I32, 4));
    int64_t nrows = x->ne[1] * x->ne[2] * x->ne[3];
    if (mvk_tensor_nelements(ids) != nrows || !mvk_tensor_is_contiguous(ids))
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: ids must be contiguous with one entry per row of x (%lld), got %lld", op,
                        (long long)nrows, (long long)mvk_tensor_nelements(ids));
    row_op o = {op, 1, ids, x, 0.0f};
    return rows_run(s, &o);
}
