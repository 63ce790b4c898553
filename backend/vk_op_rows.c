/* vk_op_rows.c — get_rows (embedding lookup), set_rows (KV-cache writes at
 * positions read from a buffer) and convert (F32 <-> F16, strided copies):
 * shaders/get_rows.comp, set_rows.comp, convert.comp. Tables and
 * destinations larger than the storage-buffer range are bound in row ranges,
 * one dispatch per range (the row ids are only known on the GPU). */
#include "vk_op_mm.h"

static moevk_status dispatch_1d(vk_stream *s, vk_dispatch_desc *d, uint64_t n) {
    vk_ctx *ctx = vk_stream_ctx(s);
    uint32_t wg = vkc_wg(ctx, 256);
    d->spec = &wg;
    d->n_spec = 1;
    vk_split_groups(ctx, (uint32_t)((n + wg - 1) / wg), d->groups);
    return vk_dispatch(s, d);
}

static moevk_status check_ids(const char *op, const char *what, const mvk_tensor *ids, int64_t T) {
    MVK_TRY(vkc_i32(op, what, ids));
    if (ids->ne[0] != T || ids->ne[1] != 1 || ids->ne[2] != 1 || ids->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s has %lld elements, expected [%lld]", op, what, (long long)mvk_tensor_nelements(ids),
                        (long long)T);
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- get_rows */

moevk_status vk_op_get_rows(vk_stream *s, const mvk_tensor *y, const mvk_tensor *table, const mvk_tensor *ids) {
    const char *op = "vk_op_get_rows";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(mm_check_weight(op, "table", table));
    if (table->ilv) return mm_ilv_refuse(op, "table", table, "get_rows.comp"); /* token_embd, a tied output: kept plain */
    if (table->ne[2] != 1 || table->ne[3] != 1 || y->ne[2] != 1 || y->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: table and y must be 2-D", op);
    int64_t D = table->ne[0], V = table->ne[1], T = y->ne[1];
    if (y->ne[0] != D)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: y rows have %lld elements, table rows %lld", op, (long long)y->ne[0], (long long)D);
    MVK_TRY(check_ids(op, "ids", ids, T));
    if ((uint64_t)D * (uint64_t)T > UINT32_MAX) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: D*T too large for one dispatch", op);
    vk_ctx *ctx = vk_stream_ctx(s);
    if (vk_bind_span(ctx, y) > vk_ctx_info(ctx)->max_storage_buffer_range)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: y is larger than the storage-buffer range; split the lookup", op);
    uint32_t unit = mm_wunit(table->type);
    uint64_t vfit = mm_fit(ctx, (uint64_t)table->nb[1], mm_wrow(table));
    if (vfit == 0) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: one table row is larger than the storage-buffer range", op);
    char name[32];
    snprintf(name, sizeof name, "get_rows_%s", mm_wsuffix(table->type));
    for (int64_t v0 = 0; v0 < V; v0 += (int64_t)vfit) {
        int64_t vc = V - v0 < (int64_t)vfit ? V - v0 : (int64_t)vfit;
        int64_t ne[4] = {D, vc, 1, 1};
        mvk_tensor tv = mvk_tensor_view(table, (uint64_t)(v0 * table->nb[1]), ne, table->nb);
        pc_get_rows pc = {.D = (uint32_t)D, .T = (uint32_t)T, .ws1 = (uint32_t)(table->nb[1] / unit), .is0 = 1,
                          .ys1 = (uint32_t)(y->nb[1] / 4), .ow = vk_bind_elem_offset(ctx, &tv, unit),
                          .oi = vk_bind_elem_offset(ctx, ids, 4), .oy = vk_bind_elem_offset(ctx, y, 4), .v0 = (uint32_t)v0,
                          .v1 = (uint32_t)(v0 + vc), .V = (uint32_t)V, .zero_invalid = v0 == 0};
        vk_bind b[3] = {{&tv, 0}, {ids, 0}, {y, 1}};
        vk_dispatch_desc d = {.shader = name, .binds = b, .n_binds = 3, .push = &pc, .push_size = sizeof pc};
        /* quantised tables: one invocation per 32-value chunk (get_rows.comp) */
        MVK_TRY(dispatch_1d(s, &d, (uint64_t)D * (uint64_t)T / (mvk_type_is_quant(table->type) ? 32u : 1u)));
    }
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- set_rows */

/* Checks one set_rows pair; *es: dst element bytes, *rfit: dst rows one binding holds. */
static moevk_status set_check(vk_stream *s, const char *op, const mvk_tensor *dst, const mvk_tensor *src, const mvk_tensor *idx,
                              uint32_t *es_out, uint64_t *rfit_out) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "src", src));
    MVK_TRY(vkc_f32_or_f16(op, "dst", dst));
    uint32_t es = dst->type == MVK_TYPE_F32 ? 4 : 2;
    if (dst->nb[1] < dst->ne[0] * (int64_t)es)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: dst rows overlap (nb[1] = %lld < %lld)", op, (long long)dst->nb[1],
                        (long long)(dst->ne[0] * es));
    if (dst->ne[2] != 1 || dst->ne[3] != 1 || src->ne[2] != 1 || src->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: dst and src must be 2-D", op);
    int64_t D = dst->ne[0], R = dst->ne[1], T = src->ne[1];
    if (src->ne[0] != D)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: src rows have %lld elements, dst rows %lld", op, (long long)src->ne[0], (long long)D);
    MVK_TRY(check_ids(op, "idx", idx, T));
    if ((uint64_t)D * (uint64_t)T > UINT32_MAX || R > INT32_MAX)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: too many elements for one dispatch", op);
    vk_ctx *ctx = vk_stream_ctx(s);
    if (vk_bind_span(ctx, src) > vk_ctx_info(ctx)->max_storage_buffer_range)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: src is larger than the storage-buffer range", op);
    uint64_t rfit = mm_fit(ctx, (uint64_t)dst->nb[1], (uint64_t)D * es);
    if (rfit == 0) return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: one dst row is larger than the storage-buffer range", op);
    *es_out = es;
    *rfit_out = rfit;
    return MOEVK_OK;
}

moevk_status vk_op_set_rows(vk_stream *s, const mvk_tensor *dst, const mvk_tensor *src, const mvk_tensor *idx) {
    const char *op = "vk_op_set_rows";
    uint32_t es = 0;
    uint64_t rfit = 0;
    MVK_TRY(set_check(s, op, dst, src, idx, &es, &rfit));
    vk_ctx *ctx = vk_stream_ctx(s);
    const int64_t D = dst->ne[0], R = dst->ne[1], T = src->ne[1];
    const char *name = es == 4 ? "set_rows_f32" : "set_rows_f16";
    for (int64_t r0 = 0; r0 < R; r0 += (int64_t)rfit) {
        int64_t rc = R - r0 < (int64_t)rfit ? R - r0 : (int64_t)rfit;
        int64_t ne[4] = {D, rc, 1, 1};
        mvk_tensor dv = mvk_tensor_view(dst, (uint64_t)(r0 * dst->nb[1]), ne, dst->nb);
        uint32_t od = vk_bind_elem_offset(ctx, &dv, es), ds1 = (uint32_t)(dst->nb[1] / es);
        uint32_t pairs = es == 2 && D % 2 == 0 && ds1 % 2 == 0 && od % 2 == 0;
        pc_set_rows pc = {.D = (uint32_t)D, .T = (uint32_t)T, .ss1 = (uint32_t)(src->nb[1] / 4), .is0 = 1, .ds1 = ds1,
                          .os = vk_bind_elem_offset(ctx, src, 4), .oi = vk_bind_elem_offset(ctx, idx, 4), .od = od,
                          .r0 = (uint32_t)r0, .r1 = (uint32_t)(r0 + rc), .pairs = pairs};
        vk_bind b[5] = {{src, 0}, {idx, 0}, {&dv, 1}, {src, 0}, {&dv, 1}}; /* no second pair: 3, 4 unused */
        vk_dispatch_desc d = {.shader = name, .binds = b, .n_binds = 5, .push = &pc, .push_size = sizeof pc};
        MVK_TRY(dispatch_1d(s, &d, (uint64_t)(pairs ? D / 2 : D) * (uint64_t)T));
    }
    return MOEVK_OK;
}

moevk_status vk_op_set_rows2(vk_stream *s, const mvk_tensor *dst, const mvk_tensor *src, const mvk_tensor *dst2,
                             const mvk_tensor *src2, const mvk_tensor *idx) {
    const char *op = "vk_op_set_rows2";
    uint32_t es = 0, es2 = 0;
    uint64_t rfit = 0, rfit2 = 0;
    MVK_TRY(set_check(s, op, dst, src, idx, &es, &rfit));
    MVK_TRY(set_check(s, op, dst2, src2, idx, &es2, &rfit2));
    const int64_t D = dst->ne[0], R = dst->ne[1], T = src->ne[1], D2 = dst2->ne[0];
    /* one dispatch where both destinations are bound whole and alike; else the two writes one by one */
    if (dst->type != dst2->type || dst2->ne[1] != R || rfit < (uint64_t)R || rfit2 < (uint64_t)R ||
        (uint64_t)(D + D2) * (uint64_t)T > UINT32_MAX) {
        MVK_TRY(vk_op_set_rows(s, dst, src, idx));
        return vk_op_set_rows(s, dst2, src2, idx);
    }
    vk_ctx *ctx = vk_stream_ctx(s);
    uint32_t od = vk_bind_elem_offset(ctx, dst, es), ds1 = (uint32_t)(dst->nb[1] / es);
    uint32_t odb = vk_bind_elem_offset(ctx, dst2, es), ds1b = (uint32_t)(dst2->nb[1] / es);
    uint32_t pairs = es == 2 && D % 2 == 0 && ds1 % 2 == 0 && od % 2 == 0;
    uint32_t pairs2 = es == 2 && D2 % 2 == 0 && ds1b % 2 == 0 && odb % 2 == 0;
    pc_set_rows pc = {.D = (uint32_t)D, .T = (uint32_t)T, .ss1 = (uint32_t)(src->nb[1] / 4), .is0 = 1, .ds1 = ds1,
                      .os = vk_bind_elem_offset(ctx, src, 4), .oi = vk_bind_elem_offset(ctx, idx, 4), .od = od,
                      .r0 = 0, .r1 = (uint32_t)R, .pairs = pairs, .two = 1, .D2 = (uint32_t)D2,
                      .ss1b = (uint32_t)(src2->nb[1] / 4), .ds1b = ds1b, .osb = vk_bind_elem_offset(ctx, src2, 4), .odb = odb,
                      .pairs2 = pairs2};
    vk_bind b[5] = {{src, 0}, {idx, 0}, {dst, 1}, {src2, 0}, {dst2, 1}};
    vk_dispatch_desc d = {.shader = es == 4 ? "set_rows_f32" : "set_rows_f16", .binds = b, .n_binds = 5, .push = &pc,
                          .push_size = sizeof pc};
    return dispatch_1d(s, &d, (uint64_t)(pairs ? D / 2 : D) * (uint64_t)T + (uint64_t)(pairs2 ? D2 / 2 : D2) * (uint64_t)T);
}

/* ---------------------------------------------------------------- convert */

moevk_status vk_op_convert(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x) {
    const char *op = "vk_op_convert";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32_or_f16(op, "x", x));
    MVK_TRY(vkc_f32_or_f16(op, "y", y));
    for (int i = 0; i < 4; i++)
        if (x->ne[i] != y->ne[i])
            return mvk_fail(MOEVK_ERR_SHAPE, "%s: x [%lld,%lld,%lld,%lld] and y [%lld,%lld,%lld,%lld] differ", op, (long long)x->ne[0],
                            (long long)x->ne[1], (long long)x->ne[2], (long long)x->ne[3], (long long)y->ne[0], (long long)y->ne[1],
                            (long long)y->ne[2], (long long)y->ne[3]);
    uint64_t n = (uint64_t)mvk_tensor_nelements(x);
    MVK_TRY(vkc_count(op, "elements", n));
    vk_ctx *ctx = vk_stream_ctx(s);
    uint32_t ex = x->type == MVK_TYPE_F32 ? 4 : 2, ey = y->type == MVK_TYPE_F32 ? 4 : 2;
    uint32_t oy = vk_bind_elem_offset(ctx, y, ey);
    uint32_t sy[3] = {(uint32_t)(y->nb[1] / ey), (uint32_t)(y->nb[2] / ey), (uint32_t)(y->nb[3] / ey)};
    uint32_t pairs = ey == 2 && x->ne[0] % 2 == 0 && oy % 2 == 0 && sy[0] % 2 == 0 && sy[1] % 2 == 0 && sy[2] % 2 == 0;
    pc_convert pc = {.ne0 = (uint32_t)x->ne[0], .ne1 = (uint32_t)x->ne[1], .ne2 = (uint32_t)x->ne[2], .ne3 = (uint32_t)x->ne[3],
                     .sx1 = (uint32_t)(x->nb[1] / ex), .sx2 = (uint32_t)(x->nb[2] / ex), .sx3 = (uint32_t)(x->nb[3] / ex),
                     .sy1 = sy[0], .sy2 = sy[1], .sy3 = sy[2], .ox = vk_bind_elem_offset(ctx, x, ex), .oy = oy,
                     .pairs = pairs};
    char name[32];
    snprintf(name, sizeof name, "convert_%s_%s", ex == 4 ? "f32" : "f16", ey == 4 ? "f32" : "f16");
    uint32_t wg;
    vk_bind b[2] = {{x, 0}, {y, 1}};
    vk_dispatch_desc d = {.shader = name, .spec = &wg, .n_spec = 1, .binds = b, .n_binds = 2, .push = &pc, .push_size = sizeof pc};
    /* rows in workgroup chunks (convert.comp): a row is ne0 elements, or ne0/2 pairs */
    MVK_TRY(vkc_row_chunks(ctx, op, pairs ? pc.ne0 / 2 : pc.ne0, (uint32_t)(n / (uint64_t)x->ne[0]), &wg, &pc.cpr, d.groups));
    return vk_dispatch(s, &d);
}
