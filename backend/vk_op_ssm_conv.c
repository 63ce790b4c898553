/* vk_op_ssm_conv.c — depthwise causal conv1d with a carried state (shaders/ssm_conv.comp),
 * Gated DeltaNet's short convolution over the fused q|k|v projection. */
#include "vk_op_check.h"

enum { SSM_CONV_MAX_K = 16 }; /* the taps live in registers */

moevk_status vk_op_ssm_conv(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *state,
                            int silu) {
    const char *op = "vk_op_ssm_conv";
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream", op);
    MVK_TRY(vkc_f32(op, "x", x));
    MVK_TRY(vkc_f32(op, "y", y));
    MVK_TRY(vkc_f32(op, "w", w));
    MVK_TRY(vkc_f32(op, "state", state));
    int64_t C = x->ne[0], T = x->ne[1], K = w->ne[0];
    if (x->ne[2] != 1 || x->ne[3] != 1)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: x must be 2-D [C][T], got ne[2] = %lld, ne[3] = %lld", op, (long long)x->ne[2],
                        (long long)x->ne[3]);
    MVK_TRY(vkc_same_shape(op, "y", y, "x", x));
    if (K < 2 || K > SSM_CONV_MAX_K)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: kernel size K = w ne[0] = %lld must be in 2..%d", op, (long long)K, SSM_CONV_MAX_K);
    if (w->ne[1] != C || w->ne[2] != 1 || w->ne[3] != 1 || !mvk_tensor_is_contiguous(w))
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: w must be contiguous [K][C] = [%lld][%lld]", op, (long long)K, (long long)C);
    if (mvk_tensor_nelements(state) != (K - 1) * C || !mvk_tensor_is_contiguous(state))
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: state must be contiguous [K-1][C] = %lld floats, got %lld", op, (long long)((K - 1) * C),
                        (long long)mvk_tensor_nelements(state));
    vk_ctx *ctx = vk_stream_ctx(s);
    uint64_t range = vk_ctx_info(ctx)->max_storage_buffer_range;
    if (vk_bind_span(ctx, x) > range || vk_bind_span(ctx, y) > range || vk_bind_span(ctx, w) > range ||
        vk_bind_span(ctx, state) > range)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: a tensor is larger than the storage-buffer range", op);
    pc_ssm_conv pc = {.C = vkc_u32(C), .T = vkc_u32(T), .sx1 = vkc_u32(x->nb[1] / 4), .sy1 = vkc_u32(y->nb[1] / 4),
                      .ox = vk_bind_elem_offset(ctx, x, 4), .ow = vk_bind_elem_offset(ctx, w, 4),
                      .os = vk_bind_elem_offset(ctx, state, 4), .oy = vk_bind_elem_offset(ctx, y, 4), .silu = silu != 0};
    uint32_t spec[2] = {vkc_wg(ctx, 64), (uint32_t)K};
    vk_bind binds[4] = {{x, 0}, {w, 0}, {state, 1}, {y, 1}};
    vk_dispatch_desc d = {.shader = "ssm_conv", .spec = spec, .n_spec = 2, .binds = binds, .n_binds = 4, .push = &pc,
                          .push_size = sizeof pc};
    vk_split_groups(ctx, (uint32_t)((C + spec[0] - 1) / spec[0]), d.groups);
    return vk_dispatch(s, &d);
}
