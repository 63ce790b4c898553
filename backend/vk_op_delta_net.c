/* vk_op_delta_net.c — Gated DeltaNet's gates and gated delta rule
 * (shaders/gdn_gates.comp, shaders/delta_net.comp; docs/families/qwen35.md §4.1). */
#include <math.h>

#include "vk_op_check.h"

/* [H][T] view: heads contiguous, free token stride. */
static moevk_status check_ht(const char *op, const char *what, const mvk_tensor *t, int64_t H, int64_t T) {
    MVK_TRY(vkc_f32(op, what, t));
    if (t->ne[0] != H || t->ne[1] != T || t->ne[2] != 1 || t->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s must be [%lld][%lld] (heads, tokens), got [%lld,%lld,%lld,%lld]", op, what,
                        (long long)H, (long long)T, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                        (long long)t->ne[3]);
    return MOEVK_OK;
}

static moevk_status check_span(const char *op, vk_ctx *ctx, const mvk_tensor *const *ts, int n) {
    uint64_t range = vk_ctx_info(ctx)->max_storage_buffer_range;
    for (int i = 0; i < n; i++)
        if (vk_bind_span(ctx, ts[i]) > range)
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: a tensor spans more than the storage-buffer range (%llu B)", op,
                            (unsigned long long)range);
    return MOEVK_OK;
}

moevk_status vk_op_gdn_gates(vk_stream *s, const mvk_tensor *g, const mvk_tensor *beta, const mvk_tensor *alpha,
                             const mvk_tensor *b, const mvk_tensor *dt_bias, const mvk_tensor *a) {
    const char *op = "vk_op_gdn_gates";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "alpha", alpha));
    int64_t H = alpha->ne[0], T = alpha->ne[1];
    MVK_TRY(check_ht(op, "alpha", alpha, H, T));
    MVK_TRY(check_ht(op, "b", b, H, T));
    MVK_TRY(check_ht(op, "g", g, H, T));
    MVK_TRY(check_ht(op, "beta", beta, H, T));
    MVK_TRY(vkc_f32(op, "dt_bias", dt_bias));
    MVK_TRY(vkc_f32(op, "a", a));
    if (mvk_tensor_nelements(dt_bias) != H || !mvk_tensor_is_contiguous(dt_bias))
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: dt_bias must be contiguous [%lld]", op, (long long)H);
    if (mvk_tensor_nelements(a) != H || !mvk_tensor_is_contiguous(a))
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: a must be contiguous [%lld]", op, (long long)H);
    MVK_TRY(vkc_count(op, "gates", (uint64_t)(H * T)));
    vk_ctx *ctx = vk_stream_ctx(s);
    const mvk_tensor *all[6] = {g, beta, alpha, b, dt_bias, a};
    MVK_TRY(check_span(op, ctx, all, 6));
    pc_gdn_gates pc = {.H = vkc_u32(H), .n = vkc_u32(H * T), .sa1 = vkc_u32(alpha->nb[1] / 4), .sb1 = vkc_u32(b->nb[1] / 4),
                       .sg1 = vkc_u32(g->nb[1] / 4), .sbe1 = vkc_u32(beta->nb[1] / 4), .oa = vk_bind_elem_offset(ctx, alpha, 4),
                       .ob = vk_bind_elem_offset(ctx, b, 4), .odt = vk_bind_elem_offset(ctx, dt_bias, 4),
                       .oaa = vk_bind_elem_offset(ctx, a, 4), .og = vk_bind_elem_offset(ctx, g, 4),
                       .obe = vk_bind_elem_offset(ctx, beta, 4)};
    uint32_t wg = vkc_wg(ctx, 64);
    vk_bind binds[6] = {{alpha, 0}, {b, 0}, {dt_bias, 0}, {a, 0}, {g, 1}, {beta, 1}};
    vk_dispatch_desc d = {.shader = "gdn_gates", .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 6, .push = &pc,
                          .push_size = sizeof pc};
    vk_split_groups(ctx, (uint32_t)((H * T + wg - 1) / wg), d.groups);
    return vk_dispatch(s, &d);
}

/* [S][H][T] view: rows of S contiguous, free head and token strides. */
static moevk_status check_sht(const char *op, const char *what, const mvk_tensor *t, int64_t S, int64_t H, int64_t T) {
    MVK_TRY(vkc_f32(op, what, t));
    if (t->ne[0] != S || t->ne[1] != H || t->ne[2] != T || t->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s must be [%lld][%lld][%lld] (state size, heads, tokens), got [%lld,%lld,%lld,%lld]",
                        op, what, (long long)S, (long long)H, (long long)T, (long long)t->ne[0], (long long)t->ne[1],
                        (long long)t->ne[2], (long long)t->ne[3]);
    return MOEVK_OK;
}

moevk_status vk_op_delta_net(vk_stream *s, const mvk_tensor *o, const mvk_tensor *q, const mvk_tensor *k, const mvk_tensor *v,
                             const mvk_tensor *g, const mvk_tensor *beta, const mvk_tensor *state, float scale) {
    const char *op = "vk_op_delta_net";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "q", q));
    MVK_TRY(vkc_f32(op, "v", v));
    int64_t S = q->ne[0], Hk = q->ne[1], T = q->ne[2], Hv = v->ne[1];
    MVK_TRY(check_sht(op, "q", q, S, Hk, T));
    MVK_TRY(check_sht(op, "k", k, S, Hk, T));
    MVK_TRY(check_sht(op, "v", v, S, Hv, T));
    MVK_TRY(check_sht(op, "o", o, S, Hv, T));
    MVK_TRY(check_ht(op, "g", g, Hv, T));
    MVK_TRY(check_ht(op, "beta", beta, Hv, T));
    if (Hv % Hk)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: value heads (%lld) must be a multiple of key heads (%lld)", op, (long long)Hv,
                        (long long)Hk);
    MVK_TRY(vkc_f32(op, "state", state));
    if (mvk_tensor_nelements(state) != S * S * Hv || !mvk_tensor_is_contiguous(state))
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: state must be contiguous [%lld][%lld][%lld] f32", op, (long long)S, (long long)S,
                        (long long)Hv);
    if (!isfinite(scale)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: scale must be finite", op);
    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *info = vk_ctx_info(ctx);
    /* tokens staged per block: q and k rows of TB tokens (+ two gates each) within 16 KiB of shared memory
     * (or the device's limit, if smaller); the state row of S floats lives in registers */
    uint64_t smem = info->max_shared_memory && info->max_shared_memory < 16384 ? info->max_shared_memory : 16384;
    uint64_t tb = 16;
    while (tb > 1 && tb * (2 * (uint64_t)S + 2) * 4 > smem) tb /= 2;
    if (tb * (2 * (uint64_t)S + 2) * 4 > smem || S > 1024)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: state size %lld exceeds what the kernel stages (at most 1024 and %llu B shared)",
                        op, (long long)S, (unsigned long long)smem);
    uint32_t wg = vkc_wg(ctx, 64);
    if ((int64_t)wg > S) wg = (uint32_t)S;
    int64_t n_jt = (S + wg - 1) / wg;
    MVK_TRY(vkc_count(op, "workgroups", (uint64_t)(Hv * n_jt)));
    const mvk_tensor *all[7] = {o, q, k, v, g, beta, state};
    MVK_TRY(check_span(op, ctx, all, 7));
    pc_delta_net pc = {
        .Hk = vkc_u32(Hk), .Hv = vkc_u32(Hv), .T = vkc_u32(T), .n_jt = vkc_u32(n_jt),
        .sq1 = vkc_u32(q->nb[1] / 4), .sq2 = vkc_u32(q->nb[2] / 4), .sk1 = vkc_u32(k->nb[1] / 4), .sk2 = vkc_u32(k->nb[2] / 4),
        .sv1 = vkc_u32(v->nb[1] / 4), .sv2 = vkc_u32(v->nb[2] / 4), .sg1 = vkc_u32(g->nb[1] / 4), .sb1 = vkc_u32(beta->nb[1] / 4),
        .so1 = vkc_u32(o->nb[1] / 4), .so2 = vkc_u32(o->nb[2] / 4),
        .oq = vk_bind_elem_offset(ctx, q, 4), .ok = vk_bind_elem_offset(ctx, k, 4), .ov = vk_bind_elem_offset(ctx, v, 4),
        .og = vk_bind_elem_offset(ctx, g, 4), .ob = vk_bind_elem_offset(ctx, beta, 4), .os = vk_bind_elem_offset(ctx, state, 4),
        .oo = vk_bind_elem_offset(ctx, o, 4), .scale = scale};
    uint32_t spec[3] = {wg, (uint32_t)S, (uint32_t)tb};
    vk_bind binds[7] = {{q, 0}, {k, 0}, {v, 0}, {g, 0}, {beta, 0}, {state, 1}, {o, 1}};
    vk_dispatch_desc d = {.shader = "delta_net", .spec = spec, .n_spec = 3, .binds = binds, .n_binds = 7, .push = &pc,
                          .push_size = sizeof pc};
    vk_split_groups(ctx, (uint32_t)(Hv * n_jt), d.groups);
    return vk_dispatch(s, &d);
}
