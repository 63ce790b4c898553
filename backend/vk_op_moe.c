/* vk_op_moe.c — the MoE ops: the expert matmul (mul_mat_id), the router
 * (moe_gate) and the weighted combine (moe_combine).
 *
 * mul_mat_id. Decode (T <= 8): shaders/matvec.comp MUL_MAT_ID, one mat-vec
 * per (token, slot), its expert read from ids on the GPU. Prefill: 
 * shaders/moe_group.comp counts the entries of each expert, prefix-sums row
 * and tile offsets and gathers the (token, slot) entry indices into a
 * contiguous per-expert list; then the grouped GEMM (shaders/matmul.comp
 * MUL_MAT_ID) runs tiles that each belong to one expert, gathering x rows and
 * scattering y rows through the list. The host never reads ids: the GEMM is
 * dispatched for the worst-case tile count (ceil(k*T/BM) + experts) and
 * surplus workgroups exit. Expert tensors over the storage-buffer range are
 * processed in expert ranges [e0, e1) (and row ranges inside one expert if
 * a single expert is too large); token ranges keep x, y and ids bindable. */
#include "vk_op_mm.h"

#define OP_ID "vk_op_mul_mat_id"

typedef struct mmid_args {
    uint32_t K, N, E, k;
    int x_shared;
    uint32_t xs_slot, xs_tok; /* floats */
} mmid_args;

/* Expert / row ranges of w that fit one binding: ec experts a dispatch, or
 * (ec = 1) nc rows a dispatch. */
static moevk_status w_ranges(vk_ctx *ctx, const mvk_tensor *w, uint32_t *ec, uint32_t *nc) {
    int64_t N = w->ne[1], E = w->ne[2];
    uint64_t rowb = mm_wrow(w);
    uint64_t expb = (uint64_t)(N - 1) * (uint64_t)w->nb[1] + rowb;
    uint64_t efit = mm_fit(ctx, (uint64_t)w->nb[2], expb);
    if (efit >= 1) {
        *ec = efit > (uint64_t)E ? (uint32_t)E : (uint32_t)efit;
        *nc = (uint32_t)N;
        return MOEVK_OK;
    }
    uint64_t nfit = mm_fit(ctx, (uint64_t)w->nb[1], rowb);
    if (nfit == 0) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, OP_ID ": one weight row is larger than the storage-buffer range");
    *ec = 1;
    nfit = mm_ilv_rows(nfit, w->ilv); /* interleaved rows: whole groups a range */
    *nc = nfit > (uint64_t)N ? (uint32_t)N : (uint32_t)nfit;
    return MOEVK_OK;
}

static moevk_status mmid_decode(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *ids,
                                const mmid_args *a, uint32_t T) {
    const char *sfx = mm_wsuffix(w->type);
    if (!sfx) return mvk_fail(MOEVK_ERR_UNSUPPORTED, OP_ID ": weight type %s", vkc_type(w->type));
    vk_ctx *ctx = vk_stream_ctx(s);
    uint32_t ec, nc;
    MVK_TRY(w_ranges(ctx, w, &ec, &nc));
    uint32_t unit = mm_wunit(w->type);
    mm_vec v = mm_pick_vec(ctx);
    uint32_t spec[4] = {v.wg, v.nr, v.one_sg, 1};
    /* int8 x for the lane mat-vec (vk_op_mm.h mm_lane_xq): every row of x quantised once, xq [RQ][ne1][ne2]
     * (ne1 = 1 where the slots share x); its strides in words */
    mvk_tensor xq;
    int use_xq = mm_lane_xq(ctx, w->type, a->K) && vk_bind_span(ctx, x) <= vk_ctx_info(ctx)->max_storage_buffer_range &&
                 (uint64_t)x->ne[1] * (uint64_t)x->ne[2] <= vk_ctx_info(ctx)->max_workgroup_count[1];
    uint32_t xq_slot = 0, xq_tok = 0;
    if (use_xq) {
        int64_t rq = vk_quant_x_row_words(a->K);
        MVK_TRY(vk_quant_x_shared(s, x, &xq)); /* or an earlier mat-vec's quantisation of the same x */
        xq_slot = a->x_shared ? 0 : (uint32_t)rq;               /* x [K][T] shared, or [K][k][T] */
        xq_tok = a->x_shared ? (uint32_t)rq : (uint32_t)(rq * x->ne[1]);
    }
    char name[32];
    snprintf(name, sizeof name, "matvec_id_%s%s", sfx, v.sg ? "_sg" : "");
    for (uint32_t e0 = 0; e0 < a->E; e0 += ec) {
        uint32_t e1 = a->E - e0 < ec ? a->E : e0 + ec;
        for (uint32_t n0 = 0; n0 < a->N; n0 += nc) {
            uint32_t nn = a->N - n0 < nc ? a->N - n0 : nc;
            int64_t wne[4] = {a->K, nn, e1 - e0, 1}, yne[4] = {nn, a->k, T, 1};
            mvk_tensor wv = mvk_tensor_view(w, (uint64_t)e0 * (uint64_t)w->nb[2] + (uint64_t)n0 * (uint64_t)w->nb[1], wne, w->nb);
            mvk_tensor yv = mvk_tensor_view(y, (uint64_t)n0 * 4, yne, y->nb);
            pc_matvec_id pc = {
                .N = nn, .K = a->K, .nslot = a->k, .xs_slot = a->xs_slot, .xs_tok = a->xs_tok,
                .ws1 = (uint32_t)(w->nb[1] / unit), .ws2 = (uint32_t)(w->nb[2] / unit),
                .ys_slot = (uint32_t)(y->nb[1] / 4), .ys_tok = (uint32_t)(y->nb[2] / 4), .ox = vk_bind_elem_offset(ctx, x, 4),
                .ow = vk_bind_elem_offset(ctx, &wv, unit), .oy = vk_bind_elem_offset(ctx, &yv, 4), .oi = vk_bind_elem_offset(ctx, ids, 4),
                .is1 = (uint32_t)(ids->nb[1] / 4), .e0 = e0, .e1 = e1, .E = a->E, .zero_invalid = e0 == 0, .fast = 0};
            pc.fast = mm_vec_fast(w->type, pc.ow, pc.ws1, a->K) &&
                      pc.ws2 % mm_wal(w->type) == 0 && pc.ox % 4 == 0 &&
                      a->xs_slot % 4 == 0 && a->xs_tok % 4 == 0;
            /* 4, 5: the texel variant's second view of w, and x (vk_op_mm.h mm_wtex) */
            vk_bind b[6] = {{x, 0}, {&wv, 0}, {&yv, 1}, {ids, 0}, {&wv, 0}, {x, 0}};
            vk_dispatch_desc d = {.shader = name, .spec = spec, .n_spec = 4, .binds = b, .n_binds = 4, .push = &pc, .push_size = sizeof pc};
            /* 7: XQ, int8 x; 8: SWAR (matvec_lane.comp) */
            /* 9: ILV, interleaved rows (matvec_lane.comp) */
            uint32_t lspec[10] = {mm_lane_wg(ctx, nn), v.nr, v.one_sg, 1, 0, 0, mm_lane_stream(), 0, mm_lane_swar(), w->ilv};
            char lname[48];
            uint32_t ow_t = 0, ox_t = 0;
            int wfast = mm_vec_fast(w->type, pc.ow, pc.ws1, a->K) && pc.ws2 % mm_wal(w->type) == 0;
            int xqt = use_xq && mm_vec_lane(ctx, w->type, wfast, pc.ow, pc.ws1, pc.ws2) && mm_wtex(ctx, &wv, &ow_t) &&
                      mm_xtex(ctx, &xq, &ox_t);
            if (xqt) pc.fast = 1; /* xq's rows are aligned whatever x's are */
            if (mm_vec_lane(ctx, w->type, (int)pc.fast, pc.ow, pc.ws1, pc.ws2)) {
                snprintf(lname, sizeof lname, "matvec_lane_id_%s", sfx);
                int tex = xqt || (mm_wtex(ctx, &wv, &ow_t) && mm_xtex(ctx, x, &ox_t));
                lspec[4] = xqt ? 0 : mm_lane_xsg(ctx, lspec[0], tex);
                if (tex) {
                    snprintf(lname, sizeof lname, "matvec_lane_id_tex_%s", sfx);
                    pc.ow = ow_t;
                    pc.ox = ox_t;
                    if (xqt) {
                        pc.xs_slot = xq_slot;
                        pc.xs_tok = xq_tok;
                        b[5] = (vk_bind){&xq, 0};
                        lspec[7] = 1;
                    }
                    uint32_t nl = mm_lane_nl(nn, w->ilv);
                    if (nn > nl && mm_lane_pair_id(nn, ow_t + (uint64_t)nl * pc.ws1)) {
                        /* two rows a lane, n and n + ceil(N/2) of the slot's expert, sharing each x fetch
                           (matvec_lane.comp PAIR with MUL_MAT_ID): w's views again at 6, 7 */
                        pc_gateup_id pp = {.g = pc, .owu = ow_t + nl * pc.ws1, .wsu1 = pc.ws1, .wsu2 = pc.ws2};
                        lspec[0] = mm_lane_wg(ctx, nl);
                        lspec[4] = xqt ? 0 : mm_lane_xsg(ctx, lspec[0], 1);
                        snprintf(lname, sizeof lname, "matvec_lane_pair_id_tex_%s", sfx);
                        vk_bind bp[8] = {b[0], b[1], b[2], b[3], b[4], b[5], {&wv, 0}, {&wv, 0}};
                        d.binds = bp;
                        mm_wtex_bind(&d, 4);
                        d.texel[5] = VK_TEXEL_U32X4;
                        d.texel[6] = VK_TEXEL_U32X4;
                        d.texel[7] = VK_TEXEL_U32;
                        d.n_binds = 8;
                        d.push = &pp;
                        d.push_size = sizeof pp;
                        d.shader = lname;
                        d.spec = lspec;
                        d.n_spec = 10;
                        vk_split_groups(ctx, (nl + lspec[0] - 1) / lspec[0], d.groups);
                        d.groups[2] = a->k * T;
                        MVK_TRY(vk_dispatch(s, &d));
                        continue;
                    }
                    mm_wtex_bind(&d, 4);
                    d.texel[5] = VK_TEXEL_U32X4;
                    d.n_binds = 6;
                }
                d.shader = lname;
                d.spec = lspec;
                d.n_spec = 10;
                vk_split_groups(ctx, (nn + lspec[0] - 1) / lspec[0], d.groups);
            } else {
                if (w->ilv) return mm_ilv_refuse(OP_ID, "w", w, "matvec.comp");
                vk_split_groups(ctx, (nn + v.nr - 1) / v.nr, d.groups);
            }
            d.groups[2] = a->k * T;
            MVK_TRY(vk_dispatch(s, &d));
        }
    }
    return MOEVK_OK;
}

static moevk_status mmid_prefill(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *ids,
                                 const mmid_args *a, uint32_t T) {
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *in = vk_ctx_info(ctx);
    uint32_t n_entries = a->k * T;
    mm_tile t = mm_pick_tile(ctx, (int64_t)(n_entries / a->E), 1, w->type); /* mean rows per expert */
    /* CPU devices: the lane GEMM (matmul_lane.comp) where the texel views fit and x's rows are vec4-aligned; its
     * tiles are TM rows (moe_group's BM). A range that cannot take it (w's rows not chunk-aligned: pc.fast below)
     * runs matmul.comp with the same tile height. */
    mm_lane_tile lt = {0};
    uint32_t ow_t, ox_t;
    int lane = mm_gemm_lane(ctx, w->type, a->K, &lt) && a->xs_slot % 4 == 0 && a->xs_tok % 4 == 0 &&
               vk_bind_elem_offset(ctx, x, 4) % 4 == 0 &&
               mm_gemm_tex(ctx, w, x, (uint32_t)(w->nb[1] / mm_wunit(w->type)), (uint32_t)(w->nb[2] / mm_wunit(w->type)), 1, &ow_t,
                           &ox_t);
    /* interleaved rows: only the lane GEMM reads them (matmul_lane.comp ILV); refused before anything is recorded */
    if (w->ilv && !lane) return mm_ilv_refuse(OP_ID, "w", w, "matmul.comp (the lane GEMM does not apply)");
    if (lane) {
        t.bm = lt.tm;
        if (t.tm > t.bm) t.tm = t.bm;
        t.wg = (t.bm / t.tm) * (t.bn / t.tn);
    }
    /* int8 x for the lane GEMM (Q4_K, vk_op_mm.h mm_gemm_xq): every row of x quantised once (or shared with an
     * earlier consumer of the same x), xq [RQ][ne1][ne2]; its strides in words */
    mvk_tensor xq;
    uint32_t oxq = 0, xq_slot = 0, xq_tok = 0;
    int use_xq = lane && mm_gemm_xq(ctx, w->type, a->K) && vk_bind_span(ctx, x) <= in->max_storage_buffer_range &&
                 (uint64_t)x->ne[1] * (uint64_t)x->ne[2] <= in->max_workgroup_count[1];
    if (use_xq) {
        int64_t rq = vk_quant_x_row_words(a->K);
        MVK_TRY(vk_quant_x_shared(s, x, &xq));
        use_xq = mm_xtex(ctx, &xq, &oxq);
        xq_slot = a->x_shared ? 0 : (uint32_t)rq;               /* x [K][T] shared, or [K][k][T] */
        xq_tok = a->x_shared ? (uint32_t)rq : (uint32_t)(rq * x->ne[1]);
    }
    mvk_tensor meta, list;
    MVK_TRY(vk_stream_scratch(s, MVK_TYPE_I32, 2 * (int64_t)a->E + 2, 1, 1, 1, &meta));
    MVK_TRY(vk_stream_scratch(s, MVK_TYPE_I32, n_entries, 1, 1, 1, &list));

    /* 1. group (token, slot) entries per expert */
    uint32_t gwg = vkc_wg(ctx, 256);
    uint32_t gspec[3] = {gwg, a->E, t.bm};
    pc_moe_group gpc = {.nslot = a->k, .T = T, .is1 = (uint32_t)(ids->nb[1] / 4), .oi = vk_bind_elem_offset(ctx, ids, 4),
                        .ometa = vk_bind_elem_offset(ctx, &meta, 4), .olist = vk_bind_elem_offset(ctx, &list, 4), .N = a->N,
                        .ys_slot = (uint32_t)(y->nb[1] / 4), .ys_tok = (uint32_t)(y->nb[2] / 4), .oy = vk_bind_elem_offset(ctx, y, 4)};
    vk_bind gb[4] = {{ids, 0}, {&meta, 1}, {&list, 1}, {y, 1}};
    vk_dispatch_desc gd = {.shader = "moe_group", .spec = gspec, .n_spec = 3, .binds = gb, .n_binds = 4, .push = &gpc,
                           .push_size = sizeof gpc, .groups = {1, 1, 1}};
    MVK_TRY(vk_dispatch(s, &gd));

    /* 2. grouped GEMM per expert range */
    uint32_t ec, nc;
    MVK_TRY(w_ranges(ctx, w, &ec, &nc));
    uint32_t unit = mm_wunit(w->type);
    uint32_t spec[6] = {t.wg, t.bm, t.bn, t.bk, t.tm, t.tn};
    char name[32];
    snprintf(name, sizeof name, "matmul_id_%s", mm_wsuffix(w->type));
    for (uint32_t e0 = 0; e0 < a->E; e0 += ec) {
        uint32_t e1 = a->E - e0 < ec ? a->E : e0 + ec;
        for (uint32_t n0 = 0; n0 < a->N; n0 += nc) {
            uint32_t nn = a->N - n0 < nc ? a->N - n0 : nc;
            int64_t wne[4] = {a->K, nn, e1 - e0, 1}, yne[4] = {nn, a->k, T, 1};
            mvk_tensor wv = mvk_tensor_view(w, (uint64_t)e0 * (uint64_t)w->nb[2] + (uint64_t)n0 * (uint64_t)w->nb[1], wne, w->nb);
            mvk_tensor yv = mvk_tensor_view(y, (uint64_t)n0 * 4, yne, y->nb);
            pc_matmul_id pc = {
                .N = nn, .K = a->K, .nslot = a->k, .xs_slot = a->xs_slot, .xs_tok = a->xs_tok,
                .ws1 = (uint32_t)(w->nb[1] / unit), .ws2 = (uint32_t)(w->nb[2] / unit),
                .ys_slot = (uint32_t)(y->nb[1] / 4), .ys_tok = (uint32_t)(y->nb[2] / 4), .ox = vk_bind_elem_offset(ctx, x, 4),
                .ow = vk_bind_elem_offset(ctx, &wv, unit), .oy = vk_bind_elem_offset(ctx, &yv, 4),
                .ometa = vk_bind_elem_offset(ctx, &meta, 4), .olist = vk_bind_elem_offset(ctx, &list, 4), .e0 = e0, .e1 = e1,
                .E = a->E, .fast = 0};
            pc.fast = a->K % t.bk == 0 && t.bk % mm_wch(w->type) == 0 && mm_vec_fast(w->type, pc.ow, pc.ws1, a->K) &&
                      pc.ws2 % mm_wal(w->type) == 0 && pc.ox % 4 == 0 &&
                      a->xs_slot % 4 == 0 && a->xs_tok % 4 == 0;
            /* 5, 6: the texel variant's second view of w, and x (vk_op_mm.h mm_gemm_tex) */
            vk_bind b[7] = {{x, 0}, {&wv, 0}, {&yv, 1}, {&meta, 0}, {&list, 0}, {&wv, 0}, {x, 0}};
            vk_dispatch_desc d = {.shader = name, .spec = spec, .n_spec = 6, .binds = b, .n_binds = 5, .push = &pc, .push_size = sizeof pc};
            char tname[32];
            d.groups[0] = (nn + t.bn - 1) / t.bn;
            d.groups[1] = (n_entries + t.bm - 1) / t.bm + (e1 - e0);
            d.groups[2] = 1;
            /* 5: XQ, int8 x (Q4_K, mm_gemm_xq); 6: ILV, interleaved rows */
            uint32_t lspec[7] = {lt.wg, lt.tm, lt.tn, lt.xsg, lt.unr, 0, w->ilv};
            int took_lane = 0;
            if (mm_gemm_tex(ctx, &wv, x, pc.ws1, pc.ws2, pc.fast, &pc.ow, &pc.ox)) {
                snprintf(tname, sizeof tname, "matmul_id_tex_%s", mm_wsuffix(w->type));
                d.shader = tname;
                mm_wtex_bind(&d, 5);
                d.texel[6] = VK_TEXEL_U32X4; /* x (vectorised tile loads) */
                d.n_binds = 7;
                uint32_t lg0 = d.groups[1], lg1 = lane ? (nn + lt.wg * lt.tn - 1) / (lt.wg * lt.tn) : 0; /* lt is zero without lane */
                if (lane && pc.fast && lg0 <= in->max_workgroup_count[0] && lg1 <= in->max_workgroup_count[1]) {
                    /* matmul_lane.comp, same bindings: tiles along x, N along y */
                    snprintf(tname, sizeof tname, "matmul_lane_id_tex_%s", mm_wsuffix(w->type));
                    d.spec = lspec;
                    d.n_spec = 7;
                    d.groups[0] = lg0;
                    took_lane = 1;
                    if (use_xq) { /* x's words: rows of vk_quant_x_row_words(K) */
                        pc.ox = oxq;
                        pc.xs_slot = xq_slot;
                        pc.xs_tok = xq_tok;
                        b[6] = (vk_bind){&xq, 0};
                        lspec[5] = 1;
                    }
                    d.groups[1] = lg1;
                }
            }
            if (w->ilv && !took_lane) return mm_ilv_refuse(OP_ID, "w", w, "matmul.comp (the lane GEMM does not take this range)");
            MVK_TRY(vk_dispatch(s, &d));
        }
    }
    return MOEVK_OK;
}

moevk_status vk_op_mul_mat_id(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *ids) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, OP_ID ": NULL stream");
    MVK_TRY(vkc_f32(OP_ID, "y", y));
    MVK_TRY(vkc_f32(OP_ID, "x", x));
    MVK_TRY(mm_check_weight(OP_ID, "w", w));
    MVK_TRY(vkc_i32(OP_ID, "ids", ids));
    int64_t K = w->ne[0], N = w->ne[1], E = w->ne[2], k = ids->ne[0], T = ids->ne[1];
    if (w->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, OP_ID ": w must be [K][N][E] (ne[3] = %lld)", (long long)w->ne[3]);
    if (ids->ne[2] != 1 || ids->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, OP_ID ": ids must be [k][T]");
    if (x->ne[0] != K) return mvk_fail(MOEVK_ERR_SHAPE, OP_ID ": x has K=%lld but w has K=%lld", (long long)x->ne[0], (long long)K);
    mmid_args a = {(uint32_t)K, (uint32_t)N, (uint32_t)E, (uint32_t)k, 0, 0, 0};
    if (x->ne[1] == T && x->ne[2] == 1 && x->ne[3] == 1) {
        a.x_shared = 1;
        a.xs_slot = 0;
        a.xs_tok = (uint32_t)(x->nb[1] / 4);
    } else if (x->ne[1] == k && x->ne[2] == T && x->ne[3] == 1) {
        a.xs_slot = (uint32_t)(x->nb[1] / 4);
        a.xs_tok = (uint32_t)(x->nb[2] / 4);
    } else {
        return mvk_fail(MOEVK_ERR_SHAPE, OP_ID ": x is [%lld,%lld,%lld] but must be [K=%lld][T=%lld] or [K][k=%lld][T]",
                        (long long)x->ne[0], (long long)x->ne[1], (long long)x->ne[2], (long long)K, (long long)T, (long long)k);
    }
    if (y->ne[0] != N || y->ne[1] != k || y->ne[2] != T || y->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, OP_ID ": y is [%lld,%lld,%lld] but must be [N=%lld][k=%lld][T=%lld]", (long long)y->ne[0],
                        (long long)y->ne[1], (long long)y->ne[2], (long long)N, (long long)k, (long long)T);
    if (k > E) return mvk_fail(MOEVK_ERR_SHAPE, OP_ID ": k = %lld slots but only %lld experts", (long long)k, (long long)E);
    if ((uint64_t)k * (uint64_t)T > UINT32_MAX) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, OP_ID ": k*T too large");

    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *in = vk_ctx_info(ctx);
    int decode = T <= 8;
    /* interleaved rows (mvk_tensor.ilv): only the lane kernels read them (matvec_lane.comp, matmul_lane.comp ILV); on
       a device or type without them, refused before anything is recorded (mmid_decode / mmid_prefill refuse the
       paths that read plain rows) */
    if (w->ilv && (!mm_ilv_type(w->type) || !mm_vec_lane(ctx, w->type, 1, 0, 0, 0)))
        return mm_ilv_refuse(OP_ID, "w", w, !mm_ilv_type(w->type) ? "the lane kernels of this type" : "the kernels of this device");
    if (!decode && (uint64_t)E * 8 + 64 > in->max_shared_memory)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, OP_ID ": %lld experts do not fit the grouping pass's shared memory", (long long)E);
    /* token ranges that keep x, y and ids within one binding */
    uint64_t tfit = mm_fit(ctx, (uint64_t)y->nb[2], (uint64_t)(k - 1) * (uint64_t)y->nb[1] + (uint64_t)N * 4);
    uint64_t f = mm_fit(ctx, (uint64_t)ids->nb[1], (uint64_t)k * 4);
    if (f < tfit) tfit = f;
    f = a.x_shared ? mm_fit(ctx, (uint64_t)x->nb[1], (uint64_t)K * 4)
                   : mm_fit(ctx, (uint64_t)x->nb[2], (uint64_t)(k - 1) * (uint64_t)x->nb[1] + (uint64_t)K * 4);
    if (f < tfit) tfit = f;
    if (decode) {
        f = in->max_workgroup_count[2] / (uint64_t)k; /* (token, slot) entries are the z dimension */
        if (f < tfit) tfit = f;
    } else {
        mm_tile t = mm_pick_tile(ctx, k * T / E, 1, w->type);
        /* tiles run along y (matmul.comp) or x (matmul_lane.comp, which mmid_prefill takes only where its counts fit) */
        uint64_t gmax = in->max_workgroup_count[0] < in->max_workgroup_count[1] ? in->max_workgroup_count[0] : in->max_workgroup_count[1];
        if (gmax <= (uint64_t)E + 1) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, OP_ID ": too many experts for the device's workgroup count");
        f = (gmax - (uint64_t)E - 1) * 8 / (uint64_t)k; /* 8: the smallest tile height (the lane GEMM's TM) */
        if (f < tfit) tfit = f;
        if ((uint64_t)(N + t.bn - 1) / t.bn > in->max_workgroup_count[0])
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, OP_ID ": N = %lld needs too many workgroups", (long long)N);
    }
    if (tfit == 0) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, OP_ID ": one token's rows are larger than the storage-buffer range");

    for (int64_t t0 = 0; t0 < T; t0 += (int64_t)tfit) {
        int64_t tc = T - t0 < (int64_t)tfit ? T - t0 : (int64_t)tfit;
        mvk_tensor xv = *x, yv = *y, iv = *ids;
        if (a.x_shared) {
            xv.off += (uint64_t)(t0 * x->nb[1]);
            xv.ne[1] = tc;
        } else {
            xv.off += (uint64_t)(t0 * x->nb[2]);
            xv.ne[2] = tc;
        }
        yv.off += (uint64_t)(t0 * y->nb[2]);
        yv.ne[2] = tc;
        iv.off += (uint64_t)(t0 * ids->nb[1]);
        iv.ne[1] = tc;
        if (decode) MVK_TRY(mmid_decode(s, &yv, &xv, w, &iv, &a, (uint32_t)tc));
        else MVK_TRY(mmid_prefill(s, &yv, &xv, w, &iv, &a, (uint32_t)tc));
    }
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- combine */

static moevk_status combine(vk_stream *s, const char *op, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *weights,
                            const mvk_tensor *r) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(vkc_f32(op, "x", x));
    MVK_TRY(vkc_f32(op, "weights", weights));
    int64_t N = x->ne[0], k = x->ne[1], T = x->ne[2];
    if (x->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, "%s: x must be [N][k][T]", op);
    if (weights->ne[0] != k || weights->ne[1] != T || weights->ne[2] != 1 || weights->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: weights is [%lld,%lld] but x has k=%lld, T=%lld", op, (long long)weights->ne[0],
                        (long long)weights->ne[1], (long long)k, (long long)T);
    if (y->ne[0] != N || y->ne[1] != T || y->ne[2] != 1 || y->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: y is [%lld,%lld] but must be [N=%lld][T=%lld]", op, (long long)y->ne[0],
                        (long long)y->ne[1], (long long)N, (long long)T);
    if (r) {
        MVK_TRY(vkc_f32(op, "r", r));
        MVK_TRY(vkc_same_shape(op, "r", r, "y", y));
    }
    if ((uint64_t)N * (uint64_t)T > UINT32_MAX) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: N*T too large", op);
    vk_ctx *ctx = vk_stream_ctx(s);
    pc_moe_combine pc = {.N = (uint32_t)N, .k = (uint32_t)k, .T = (uint32_t)T, .xs1 = (uint32_t)(x->nb[1] / 4),
                         .xs2 = (uint32_t)(x->nb[2] / 4), .ws1 = (uint32_t)(weights->nb[1] / 4), .ys1 = (uint32_t)(y->nb[1] / 4),
                         .ox = vk_bind_elem_offset(ctx, x, 4), .ow = vk_bind_elem_offset(ctx, weights, 4),
                         .oy = vk_bind_elem_offset(ctx, y, 4), .has_r = r != NULL, .rs1 = r ? (uint32_t)(r->nb[1] / 4) : 0,
                         .or_ = r ? vk_bind_elem_offset(ctx, r, 4) : 0};
    uint32_t wg = vkc_wg(ctx, 256);
    vk_bind b[4] = {{x, 0}, {weights, 0}, {y, 1}, {r ? r : x, 0}};
    vk_dispatch_desc d = {.shader = "moe_combine", .spec = &wg, .n_spec = 1, .binds = b, .n_binds = 4, .push = &pc, .push_size = sizeof pc};
    vk_split_groups(ctx, (uint32_t)(((uint64_t)N * (uint64_t)T + wg - 1) / wg), d.groups);
    return vk_dispatch(s, &d);
}

moevk_status vk_op_moe_combine(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *weights) {
    return combine(s, "vk_op_moe_combine", y, x, weights, NULL);
}

moevk_status vk_op_moe_combine_add(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *weights,
                                   const mvk_tensor *r) {
    if (!r) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_moe_combine_add: NULL residual");
    return combine(s, "vk_op_moe_combine_add", y, x, weights, r);
}

/* ---------------------------------------------------------------- gate */

moevk_status vk_op_moe_gate(vk_stream *s, const mvk_tensor *ids, const mvk_tensor *weights, const mvk_tensor *logits, int k,
                            vk_gate_mode mode, int renorm) {
    const char *op = "vk_op_moe_gate";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_i32(op, "ids", ids));
    MVK_TRY(vkc_f32(op, "weights", weights));
    MVK_TRY(vkc_f32(op, "logits", logits));
    int64_t E = logits->ne[0], T = logits->ne[1];
    if (logits->ne[2] != 1 || logits->ne[3] != 1) return mvk_fail(MOEVK_ERR_SHAPE, "%s: logits must be [E][T]", op);
    if (mode != VK_GATE_SOFTMAX_TOPK && mode != VK_GATE_TOPK_SOFTMAX && mode != VK_GATE_SIGMOID_TOPK)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: unknown gate mode %d", op, (int)mode);
    if (k < 1 || k > 64 || k > E)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: k = %d must be in 1..min(64, E = %lld)", op, k, (long long)E);
    for (int i = 0; i < 2; i++) {
        const mvk_tensor *t = i ? weights : ids;
        if (t->ne[0] != k || t->ne[1] != T || t->ne[2] != 1 || t->ne[3] != 1)
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s is [%lld,%lld] but must be [k=%d][T=%lld]", op, i ? "weights" : "ids",
                            (long long)t->ne[0], (long long)t->ne[1], k, (long long)T);
    }
    vk_ctx *ctx = vk_stream_ctx(s);
    /* GPUs: 64 lanes a token. CPU devices (mm_style, as the norms): one subgroup a token -- the kernel's k selection
       rounds take log2(wg) + 1 barriers each, and lavapipe runs every barrier as a coroutine switch through all of a
       workgroup's subgroups (64 lanes = 8 of them at its default width); the strided loops over E do the rest */
    const vk_device_info *in = vk_ctx_info(ctx);
    uint32_t wg = vkc_wg_pow2(ctx, 64);
    if (mm_style(in) == 1 && in->subgroup_size >= 4) wg = vkc_wg_pow2(ctx, in->subgroup_size);
    if ((uint64_t)E * 8 + (uint64_t)wg * 8 + 64 * 8 > vk_ctx_info(ctx)->max_shared_memory)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %lld experts do not fit the device's shared memory", op, (long long)E);
    uint32_t spec[3] = {wg, (uint32_t)E, k <= 16 ? 16u : 64u};
    pc_moe_gate pc = {.T = (uint32_t)T, .k = (uint32_t)k, .mode = (uint32_t)mode, .renorm = renorm ? 1u : 0u,
                      .ls1 = (uint32_t)(logits->nb[1] / 4), .is1 = (uint32_t)(ids->nb[1] / 4), .ws1 = (uint32_t)(weights->nb[1] / 4),
                      .ol = vk_bind_elem_offset(ctx, logits, 4), .oi = vk_bind_elem_offset(ctx, ids, 4),
                      .ow = vk_bind_elem_offset(ctx, weights, 4)};
    vk_bind b[3] = {{logits, 0}, {ids, 1}, {weights, 1}};
    vk_dispatch_desc d = {.shader = "moe_gate", .spec = spec, .n_spec = 3, .binds = b, .n_binds = 3, .push = &pc, .push_size = sizeof pc};
    vk_split_groups(ctx, (uint32_t)T, d.groups);
    return vk_dispatch(s, &d);
}
