/* vk_op_probe.c — device probes for the roofline (shaders/probe.comp):
 * read bandwidth with each invocation on its own contiguous run (read_lane)
 * or all invocations striding together (read_coal), read_lane through a
 * texel-buffer view (read_tex*, read_img*), and the FMA peak (operands in
 * registers, or one from shared memory: fma_shl / fma_shu). Used by
 * `moevk bench probe`; the caller checks the words the probe writes. */
#include "vk_op_check.h"

moevk_status vk_op_probe(vk_stream *s, vk_probe_kind kind, const mvk_tensor *y, const mvk_tensor *src, uint32_t ninv, uint32_t iters,
                         uint32_t chains, float a, float b) {
    static const char *const op = "vk_op_probe";
    if (!s || !y) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL stream or output", op);
    if (ninv == 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: no invocations", op);
    if (mvk_tensor_nelements(y) < (int64_t)ninv || !mvk_tensor_is_contiguous(y) || mvk_row_bytes(y->type, 1) != 4 ||
        vk_bind_elem_offset(vk_stream_ctx(s), y, 4) != 0)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: y must be a contiguous 4-byte tensor of at least %u elements at an aligned offset", op, ninv);
    vk_ctx *ctx = vk_stream_ctx(s);
    pc_probe pc = {.ninv = ninv, .a = a, .b = b};
    const char *shader = "probe_fma";
    const mvk_tensor *in = y; /* fma reads nothing: binding 0 is y again, never read */
    /* texel variants of read_lane: shader and view format */
    static const struct { vk_probe_kind kind; const char *shader; uint8_t fmt, image; } texel[] = {
        {VK_PROBE_READ_TEX4, "probe_read_tex4", VK_TEXEL_U32X4, 0}, {VK_PROBE_READ_TEX1, "probe_read_tex1", VK_TEXEL_U32, 0},
        {VK_PROBE_READ_IMG4, "probe_read_img4", VK_TEXEL_U32X4, 1}, {VK_PROBE_READ_IMG1, "probe_read_img1", VK_TEXEL_U32, 1},
        {VK_PROBE_READ_ITEX4, "probe_read_itex4", VK_TEXEL_U32X4, 0},
    };
    int ti = -1;
    for (int i = 0; i < (int)(sizeof texel / sizeof texel[0]); i++)
        if (texel[i].kind == kind) ti = i;
    if (ti >= 0) {
        if (!src || !mvk_tensor_is_contiguous(src)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: src must be contiguous", op);
        uint64_t bytes = mvk_tensor_extent(src), n4 = bytes / 16;
        if (bytes % 16 || n4 % ((uint64_t)ninv * 4u) || (kind == VK_PROBE_READ_ITEX4 && ninv % 8u) || vk_bind_texel_offset(ctx, src, 1) != 0)
            return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: src must be whole uvec4s at an aligned offset, a multiple of %u of them", op, ninv * 4u);
        uint32_t tb = vk_texel_bytes(texel[ti].fmt);
        if (bytes / tb > vk_ctx_info(ctx)->max_texel_buffer_elements || bytes / tb > INT32_MAX)
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: src has more texels than the device's maxTexelBufferElements", op);
        pc.n4 = (uint32_t)n4;
        pc.per = (uint32_t)(n4 / ninv);
        uint32_t wg = vkc_wg(ctx, 64);
        vk_bind binds[2] = {{src, 0}, {y, 1}};
        vk_dispatch_desc d = {.shader = texel[ti].shader, .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 2,
                              .texel = {texel[ti].fmt}, .image = {texel[ti].image}, .push = &pc, .push_size = sizeof pc};
        vk_split_groups(ctx, (ninv + wg - 1) / wg, d.groups);
        return vk_dispatch(s, &d);
    }
    if (kind == VK_PROBE_READ_LANE || kind == VK_PROBE_READ_COAL) {
        if (!src || !mvk_tensor_is_contiguous(src)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: src must be contiguous", op);
        uint64_t bytes = mvk_tensor_extent(src);
        uint64_t n4 = bytes / 16, step = (uint64_t)ninv * (kind == VK_PROBE_READ_LANE ? 4u : 2u);
        if (bytes % 16 || n4 % step || n4 > UINT32_MAX || vk_bind_elem_offset(ctx, src, 16) != 0)
            return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: src must be whole uvec4s at an aligned offset, a multiple of %llu of them",
                            op, (unsigned long long)step);
        if (vk_bind_span(ctx, src) > vk_ctx_info(ctx)->max_storage_buffer_range)
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: src is larger than the storage-buffer range", op);
        pc.n4 = (uint32_t)n4;
        pc.per = kind == VK_PROBE_READ_LANE ? (uint32_t)(n4 / ninv) : 0;
        shader = kind == VK_PROBE_READ_LANE ? "probe_read_lane" : "probe_read_coal";
        in = src;
    } else if (kind == VK_PROBE_FMA || kind == VK_PROBE_FMA_SH_LANE || kind == VK_PROBE_FMA_SH_UNIF) {
        pc.per = iters;
        if (chains < 1 || chains > 16) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: %u FMA chains (1..16)", op, chains);
        if (iters % 8) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: %u FMA iterations, not a multiple of 8 (probe.comp FMA_UNROLL)", op, iters);
        shader = kind == VK_PROBE_FMA ? "probe_fma" : kind == VK_PROBE_FMA_SH_LANE ? "probe_fma_shl" : "probe_fma_shu";
    } else {
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: unknown probe kind %d", op, (int)kind);
    }
    uint32_t spec[2] = {vkc_wg(ctx, 64), chains};
    if ((kind == VK_PROBE_FMA_SH_LANE || kind == VK_PROBE_FMA_SH_UNIF) && ninv % spec[0]) /* the shared variants' barrier: whole workgroups */
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: %u invocations, not a multiple of the workgroup (%u)", op, ninv, spec[0]);
    vk_bind binds[2] = {{in, 0}, {y, 1}};
    vk_dispatch_desc d = {.shader = shader, .spec = spec, .n_spec = kind == VK_PROBE_READ_LANE || kind == VK_PROBE_READ_COAL ? 1 : 2,
                          .binds = binds, .n_binds = 2, .push = &pc, .push_size = sizeof pc};
    const uint32_t wg = spec[0];
    vk_split_groups(ctx, (ninv + wg - 1) / wg, d.groups);
    return vk_dispatch(s, &d);
}
