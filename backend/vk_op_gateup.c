/* vk_op_gateup.c — the gate and up projections of a gated FFN with their activation in one op
 * (vk_backend.h vk_op_gateup / vk_op_gateup_id). Decode on CPU devices (float and Q4_K weights by default, fuse_allowed): one dispatch of
 * shaders/matvec_lane.comp GATEUP, each lane walking its gate row and its up row side by side,
 * every x chunk fetched once for both (the lane mat-vec's x fetches cost about as much as its
 * weights: docs/PERFORMANCE.md sections 14, 18), writing act(g) * u. Elsewhere the separate
 * matmuls (or mul_mat_ids) and swiglu / geglu. */
#include "vk_op_mm.h"

#define OP "vk_op_gateup"
#define OP_ID "vk_op_gateup_id"

/* MOEVK_FUSE_GATEUP=1 / =0 forces the fused kernel on / off. By default it runs for the weight types it was measured
 * faster on (CPU devices, decode):
 *   - float weights (F32, F16, BF16): the embedded model (F16 experts) captioned faster with it in 4 of 4 app rounds of
 *     alternating order (docs/PERFORMANCE.md section 29);
 *   - Q4_K (the experts' gate and up of Q4_K_M files): the a3b8 Q4_K_M slice decoded faster in 6 of 7 alternating pairs
 *     (section 45; its kernel takes as long as the two PAIR mat-vecs, and the step has a dispatch fewer a layer: the
 *     SwiGLU's int8 x becomes a quant_x).
 * Q8_0 keeps the separate two-rows-a-lane mat-vecs (it lost 3 of 4 pairs in section 45; sections 18, 29 found them as
 * fast or faster). */
static int fuse_allowed(mvk_type t) {
    const char *e = getenv("MOEVK_FUSE_GATEUP");
    if (e && e[0]) return !strcmp(e, "1");
    return t == MVK_TYPE_F32 || t == MVK_TYPE_F16 || t == MVK_TYPE_BF16 || t == MVK_TYPE_Q4_K;
}

/* one_token: y is a single token's (decode): the down projection's mat-vec reads it next, so the activation writes
   its int8 form too where that mat-vec takes int8 x (vk_swiglu_xq_shared / vk_geglu_xq_shared: no quant_x before it) */
static moevk_status act_op(vk_stream *s, const mvk_tensor *y, const mvk_tensor *u, vk_glu act, int one_token) {
    if (act == VK_GLU_GEGLU) return one_token ? vk_geglu_xq_shared(s, y, y, u) : vk_op_geglu(s, y, y, u);
    return one_token ? vk_swiglu_xq_shared(s, y, y, u) : vk_op_swiglu(s, y, y, u);
}

static moevk_status check_pair(const char *op, const mvk_tensor *wg, const mvk_tensor *wu, vk_glu act) {
    MVK_TRY(mm_check_weight(op, "wg", wg));
    MVK_TRY(mm_check_weight(op, "wu", wu));
    for (int i = 0; i < 4; i++)
        if (wg->ne[i] != wu->ne[i])
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: wg is [%lld,%lld,%lld] but wu is [%lld,%lld,%lld]", op, (long long)wg->ne[0],
                            (long long)wg->ne[1], (long long)wg->ne[2], (long long)wu->ne[0], (long long)wu->ne[1], (long long)wu->ne[2]);
    if (act != VK_GLU_SWIGLU && act != VK_GLU_GEGLU) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: unknown activation %d", op, (int)act);
    return MOEVK_OK;
}

/* The fused kernel's weight views: CPU style, the lane mat-vec's chunked loop (whole chunks, aligned
 * rows: mm_vec_fast / mm_vec_lane) and both weights through texel views (mm_wtex), same type. *ow:
 * the offsets in the views (units). */
static int fused_weights(const vk_ctx *ctx, const mvk_tensor *wg, const mvk_tensor *wu, uint32_t ow[2]) {
    if (!fuse_allowed(wg->type) || mm_style(vk_ctx_info(ctx)) != 1 || wg->type != wu->type) return 0;
    /* interleaved rows (mvk_tensor.ilv, matvec_lane.comp ILV: one group size for both streams); else the separate ops */
    if ((wg->ilv || wu->ilv) && (wg->ilv != wu->ilv || !mm_ilv_type(wg->type))) return 0;
    const mvk_tensor *w[2] = {wg, wu};
    uint32_t unit = mm_wunit(wg->type);
    for (int i = 0; i < 2; i++) {
        uint32_t ws1 = (uint32_t)(w[i]->nb[1] / unit), ws2 = (uint32_t)(w[i]->nb[2] / unit);
        if (!mm_wtex(ctx, w[i], &ow[i])) return 0;
        int fast = mm_vec_fast(w[i]->type, ow[i], ws1, w[i]->ne[0]) && ws2 % mm_wal(w[i]->type) == 0;
        if (!mm_vec_lane(ctx, w[i]->type, fast, ow[i], ws1, ws2)) return 0;
    }
    return 1;
}

/* Bindings of the GATEUP kernel: 0 x, 1 / 4 the gate's views, 2 y, 3 ids (or a placeholder), 5 x's
 * view, 6 / 7 the up weights' views. */
static void gu_binds(vk_dispatch_desc *d, vk_bind b[8], const mvk_tensor *x, const mvk_tensor *wg, const mvk_tensor *wu,
                     const mvk_tensor *y, const mvk_tensor *b3) {
    vk_bind bb[8] = {{x, 0}, {wg, 0}, {y, 1}, {b3, 0}, {wg, 0}, {x, 0}, {wu, 0}, {wu, 0}};
    memcpy(b, bb, sizeof bb);
    d->binds = b;
    d->n_binds = 8;
    d->texel[1] = VK_TEXEL_U32X4;
    d->texel[4] = VK_TEXEL_U32;
    d->texel[5] = VK_TEXEL_U32X4;
    d->texel[6] = VK_TEXEL_U32X4;
    d->texel[7] = VK_TEXEL_U32;
}

/* int8 x for the fused kernel (matvec_lane.comp XQ; vk_op_mm.h mm_lane_xq), as vk_op_matmul's and
 * vk_op_mul_mat_id's decode take it: every row of x [K][ne1][ne2] quantised once into stream scratch,
 * xq [RQ][ne1][ne2]. Returns 1 with *xq and *ox (xq's first word in its texel view) set, 0 where x stays f32 (a failure to get scratch or to dispatch is *st). vk_quant_x_shared: the
 * quantisation an earlier mat-vec of the recording made of the same x, where there is one. */
static int gu_quant_x(vk_stream *s, const mvk_tensor *x, mvk_type t, int64_t K, mvk_tensor *xq, uint32_t *ox, moevk_status *st) {
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *in = vk_ctx_info(ctx);
    *st = MOEVK_OK;
    if (!mm_lane_xq(ctx, t, K) || (uint64_t)x->ne[1] * (uint64_t)x->ne[2] > in->max_workgroup_count[1]) return 0;
    if ((*st = vk_quant_x_shared(s, x, xq)) != MOEVK_OK) return 0;
    return mm_xtex(ctx, xq, ox) && *ox % 4 == 0; /* else the f32 path runs (xq then unused) */
}

moevk_status vk_op_gateup(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *wg, const mvk_tensor *wu,
                          vk_glu act) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, OP ": NULL stream");
    MVK_TRY(vkc_f32(OP, "y", y));
    MVK_TRY(vkc_f32(OP, "x", x));
    MVK_TRY(check_pair(OP, wg, wu, act));
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *in = vk_ctx_info(ctx);
    /* x [K][1], y [F][1], w [K][F] */
    int64_t K = wg->ne[0], F = wg->ne[1];
    uint32_t ow[2], ox;
    int fused = x->ne[1] == 1 && wg->ne[2] == 1 && wg->ne[3] == 1 && x->ne[0] == K && x->ne[2] == 1 && x->ne[3] == 1 &&
                y->ne[0] == F && y->ne[1] == 1 && y->ne[2] == 1 && y->ne[3] == 1 && F <= UINT32_MAX &&
                vk_bind_span(ctx, y) <= in->max_storage_buffer_range && vk_bind_span(ctx, x) <= in->max_storage_buffer_range &&
                fused_weights(ctx, wg, wu, ow) && mm_xtex(ctx, x, &ox);
    if (!fused) { /* the separate dispatches (vk_op_matmul checks the shapes) */
        mvk_tensor up;
        MVK_TRY(vk_stream_scratch(s, MVK_TYPE_F32, y->ne[0], y->ne[1], y->ne[2], y->ne[3], &up));
        MVK_TRY(vk_op_matmul(s, y, x, wg, NULL));
        MVK_TRY(vk_op_matmul(s, &up, x, wu, NULL));
        return act_op(s, y, &up, act, y->ne[1] * y->ne[2] * y->ne[3] == 1);
    }
    uint32_t unit = mm_wunit(wg->type), N = (uint32_t)F;
    pc_gateup pc = {.g = {.M = 1, .N = N, .K = (uint32_t)K, .xs1 = (uint32_t)(x->nb[1] / 4), .ws1 = (uint32_t)(wg->nb[1] / unit),
                          .ys1 = (uint32_t)(y->nb[1] / 4), .ox = ox, .ow = ow[0], .oy = vk_bind_elem_offset(ctx, y, 4), .ob = 0,
                          .has_bias = 0, .fast = 1},
                    .owu = ow[1], .wsu1 = (uint32_t)(wu->nb[1] / unit)};
    uint32_t wgs = mm_lane_wg(ctx, N);
    mvk_tensor xq; /* [RQ][1] int8 x, or unused */
    uint32_t oxq;
    moevk_status st;
    int use_xq = gu_quant_x(s, x, wg->type, K, &xq, &oxq, &st);
    MVK_TRY(st);
    if (use_xq) pc.g.ox = oxq;
    /* 0 workgroup size, 1-2 unused here, 3 NM = 1, 4 XSG (off with int8 x), 5 ACT, 6 STREAM, 7 XQ, 8 SWAR, 9 ILV */
    uint32_t spec[10] = {wgs, 0, 0, 1, use_xq ? 0 : mm_lane_xsg(ctx, wgs, 1), (uint32_t)act, mm_lane_stream(), use_xq ? 1u : 0u,
                         mm_lane_swar(), wg->ilv};
    char name[48];
    snprintf(name, sizeof name, "matvec_lane_gu_tex_%s", mm_wsuffix(wg->type));
    vk_bind b[8];
    vk_dispatch_desc d = {.shader = name, .spec = spec, .n_spec = 10, .push = &pc, .push_size = sizeof pc};
    gu_binds(&d, b, x, wg, wu, y, x);
    if (use_xq) b[5] = (vk_bind){&xq, 0}; /* binding 5: x's texel view, here xq's */
    vk_split_groups(ctx, (N + wgs - 1) / wgs, d.groups);
    return vk_dispatch(s, &d);
}

moevk_status vk_op_gateup_id(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *wg, const mvk_tensor *wu,
                             const mvk_tensor *ids, vk_glu act) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, OP_ID ": NULL stream");
    MVK_TRY(vkc_f32(OP_ID, "y", y));
    MVK_TRY(vkc_f32(OP_ID, "x", x));
    MVK_TRY(vkc_i32(OP_ID, "ids", ids));
    MVK_TRY(check_pair(OP_ID, wg, wu, act));
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *in = vk_ctx_info(ctx);
    /* x [K][T] or [K][k][T], w [K][F][E], ids [k][T], y [F][k][T] */
    int64_t K = wg->ne[0], F = wg->ne[1], E = wg->ne[2], k = ids->ne[0], T = ids->ne[1];
    int x_shared = x->ne[1] == T && x->ne[2] == 1;
    int x_slot = x->ne[1] == k && x->ne[2] == T;
    uint64_t range = in->max_storage_buffer_range;
    uint32_t ow[2], ox;
    int fused = T == 1 && (x_shared || x_slot) && x->ne[0] == K && x->ne[3] == 1 && wg->ne[3] == 1 && ids->ne[2] == 1 &&
                ids->ne[3] == 1 && y->ne[0] == F && y->ne[1] == k && y->ne[2] == T && y->ne[3] == 1 && k <= E &&
                F <= UINT32_MAX && E <= UINT32_MAX && (uint64_t)k <= in->max_workgroup_count[2] && vk_bind_span(ctx, y) <= range &&
                vk_bind_span(ctx, x) <= range && vk_bind_span(ctx, ids) <= range && fused_weights(ctx, wg, wu, ow) &&
                mm_xtex(ctx, x, &ox);
    uint32_t xs_slot = x_shared ? 0 : (uint32_t)(x->nb[1] / 4);
    fused = fused && ox % 4 == 0 && xs_slot % 4 == 0;
    if (!fused) { /* the separate dispatches (vk_op_mul_mat_id checks the shapes) */
        mvk_tensor up;
        MVK_TRY(vk_stream_scratch(s, MVK_TYPE_F32, y->ne[0], y->ne[1], y->ne[2], y->ne[3], &up));
        MVK_TRY(vk_op_mul_mat_id(s, y, x, wg, ids));
        MVK_TRY(vk_op_mul_mat_id(s, &up, x, wu, ids));
        return act_op(s, y, &up, act, y->ne[2] * y->ne[3] == 1); /* y [F][k][T]: T = 1 */
    }
    uint32_t unit = mm_wunit(wg->type), N = (uint32_t)F;
    pc_gateup_id pc = {.g = {.N = N, .K = (uint32_t)K, .nslot = (uint32_t)k, .xs_slot = xs_slot, .xs_tok = 0,
                             .ws1 = (uint32_t)(wg->nb[1] / unit), .ws2 = (uint32_t)(wg->nb[2] / unit), .ys_slot = (uint32_t)(y->nb[1] / 4),
                             .ys_tok = (uint32_t)(y->nb[2] / 4), .ox = ox, .ow = ow[0], .oy = vk_bind_elem_offset(ctx, y, 4),
                             .oi = vk_bind_elem_offset(ctx, ids, 4), .is1 = (uint32_t)(ids->nb[1] / 4), .e0 = 0, .e1 = (uint32_t)E,
                             .E = (uint32_t)E, .zero_invalid = 1, .fast = 1},
                       .owu = ow[1], .wsu1 = (uint32_t)(wu->nb[1] / unit), .wsu2 = (uint32_t)(wu->nb[2] / unit)};
    uint32_t wgs = mm_lane_wg(ctx, N);
    mvk_tensor xq; /* [RQ][k or 1][1] int8 x, or unused */
    uint32_t oxq;
    moevk_status st;
    int use_xq = gu_quant_x(s, x, wg->type, K, &xq, &oxq, &st);
    MVK_TRY(st);
    if (use_xq) {
        pc.g.ox = oxq;
        pc.g.xs_slot = x_shared ? 0 : (uint32_t)(xq.nb[1] / 4); /* xq's rows, words */
    }
    /* 0 workgroup size, 1-2 unused here, 3 NM = 1, 4 XSG (off with int8 x), 5 ACT, 6 STREAM, 7 XQ, 8 SWAR, 9 ILV */
    uint32_t spec[10] = {wgs, 0, 0, 1, use_xq ? 0 : mm_lane_xsg(ctx, wgs, 1), (uint32_t)act, mm_lane_stream(), use_xq ? 1u : 0u,
                         mm_lane_swar(), wg->ilv};
    char name[48];
    snprintf(name, sizeof name, "matvec_lane_gu_id_tex_%s", mm_wsuffix(wg->type));
    vk_bind b[8];
    vk_dispatch_desc d = {.shader = name, .spec = spec, .n_spec = 10, .push = &pc, .push_size = sizeof pc};
    gu_binds(&d, b, x, wg, wu, y, ids);
    if (use_xq) b[5] = (vk_bind){&xq, 0}; /* binding 5: x's texel view, here xq's */
    vk_split_groups(ctx, (N + wgs - 1) / wgs, d.groups);
    d.groups[2] = (uint32_t)k; /* one (token, slot) entry per z: T == 1 */
    return vk_dispatch(s, &d);
}
