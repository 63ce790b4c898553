/* vk_op_mm.h — helpers shared by the weight ops (matmul, mul_mat_id,
 * get_rows): the weight-type check, shader-name suffixes and tile choices.
 * The 32-bit tensor checks and status codes are vk_op_check.h's. */
#ifndef VK_OP_MM_H
#define VK_OP_MM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_op_check.h"

/* Shader suffix for a weight type (mvk_type_table.h), NULL if the weight ops do not take it. */
static inline const char *mm_wsuffix(mvk_type t) {
    const mvk_type_info *ti = mvk_type_get(t);
    return ti ? ti->suffix : NULL;
}

/* Addressing unit of a weight type in the shaders (wtypes.glsl). */
static inline uint32_t mm_wunit(mvk_type t) {
    const mvk_type_info *ti = mvk_type_get(t);
    return ti ? ti->unit : 4u;
}

/* A weight tensor [K][N][E]: a weight type, whole blocks, unit-aligned
 * strides; quantised rows in the device layout (mvk_dev_row_bytes apart at least). */
static inline moevk_status mm_check_weight(const char *op, const char *what, const mvk_tensor *w) {
    if (!w || !w->buf) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: %s is NULL", op, what);
    if (!mm_wsuffix(w->type))
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s has type %s, which is not a weight type", op, what, vkc_type(w->type));
    MVK_TRY(vkc_dims(op, what, w));
    int64_t be = mvk_type_block_elems(w->type);
    if (w->ne[0] % be)
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s row length %lld is not a multiple of the %s block (%lld)", op, what,
                        (long long)w->ne[0], vkc_type(w->type), (long long)be);
    MVK_TRY(vkc_layout_any(op, what, w, mvk_type_block_bytes(w->type), mm_wunit(w->type)));
    if (mvk_type_is_quant(w->type) && w->ne[1] > 1 && w->nb[1] < mvk_dev_row_bytes(w->type, w->ne[0]))
        return mvk_fail(MOEVK_ERR_SHAPE, "%s: %s rows overlap (nb[1] = %lld < %lld device row bytes)", op, what, (long long)w->nb[1],
                        (long long)mvk_dev_row_bytes(w->type, w->ne[0]));
    /* interleaved rows (mvk_tensor.ilv): quantised, rows exactly a device row apart and each [K][N] slice whole
       (the groups are a permutation of the slice's rows); whether a kernel reads them is the op's call (mm_ilv_refuse) */
    if (w->ilv && (!mvk_type_is_quant(w->type) || w->nb[1] != mvk_dev_row_bytes(w->type, w->ne[0]) || w->nb[2] < w->nb[1] * w->ne[1]))
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s has rows interleaved in groups of %u but is %s with nb[1] = %lld, nb[2] = %lld "
                        "(interleaved rows: a quantised type, nb[1] = %lld, whole slices)", op, what, w->ilv, vkc_type(w->type),
                        (long long)w->nb[1], (long long)w->nb[2], (long long)mvk_dev_row_bytes(w->type, w->ne[0]));
    return MOEVK_OK;
}

/* The weight ops' refusal of an interleaved w (mvk_tensor.ilv) on a path whose kernel reads plain rows: `path` names
 * the kernel (or why none that reads it applies), so that no op reads interleaved rows as plain ones. */
static inline moevk_status mm_ilv_refuse(const char *op, const char *what, const mvk_tensor *w, const char *path) {
    return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: %s has rows interleaved in groups of %u (%s), which %s does not read", op, what,
                    w->ilv, vkc_type(w->type), path);
}

/* Device bytes of one weight row of K elements (the last row's extent in mm_fit). */
static inline uint64_t mm_wrow(const mvk_tensor *w) { return (uint64_t)mvk_dev_row_bytes(w->type, w->ne[0]); }

/* Largest count c >= 0 such that c items of stride `stride` (the last one
 * `last` bytes long) fit a binding: (c-1)*stride + last + slack <= range. */
static inline uint64_t mm_fit(const vk_ctx *ctx, uint64_t stride, uint64_t last) {
    const vk_device_info *in = vk_ctx_info(ctx);
    uint64_t range = in->max_storage_buffer_range, slack = in->min_storage_buffer_offset_alignment + 4;
    if (range < slack + last) return 0;
    if (stride == 0) return UINT32_MAX;
    uint64_t c = (range - slack - last) / stride + 1;
    return c > UINT32_MAX ? UINT32_MAX : c;
}

/* Kernel style: CPU devices (lavapipe) get their own tile shapes and
 * mat-vec layout. MOEVK_MM_STYLE=cpu|gpu|gpu-nosg overrides the choice (the
 * tests use it to run every configuration on one device; gpu-nosg also
 * drops the subgroup reduction for the shared-memory fallback). */
static inline int mm_style(const vk_device_info *in) {
    const char *e = getenv("MOEVK_MM_STYLE");
    if (e && !strcmp(e, "cpu")) return 1;
    if (e && !strcmp(e, "gpu")) return 0;
    if (e && !strcmp(e, "gpu-nosg")) return 2;
    return in->kind == VK_KIND_CPU ? 1 : 0;
}

/* Tiled GEMM configuration (spec constants 0..5 of matmul.comp). */
typedef struct mm_tile {
    uint32_t wg, bm, bn, bk, tm, tn;
} mm_tile;

/* rows_hint: rows a tile column will typically see (M for matmul, the mean
 * rows per expert for mul_mat_id); id: the MUL_MAT_ID variant (BM more
 * words of shared memory); wt: the weight type (quantised types keep BK a
 * multiple of their 32-value chunk). GPUs: 64x64 tiles, 4x4 per invocation
 * (256 invocations). CPU devices (lavapipe: a workgroup runs as SIMD batches
 * of one subgroup, and register blocking is what pays): few invocations with
 * large register tiles (measured on llvmpipe, one thread, f16 weights,
 * K = N = 1024: M = 128 with 128x128 tiles of 32x16 per invocation 12 GFLOP/s
 * vs 5.7 for 64x64 / 8x8 and ~1.7 for 64x64 / 4x4; M = 32 with 32x128 /
 * 16x16 ~7 GFLOP/s). */
static inline mm_tile mm_pick_tile(const vk_ctx *ctx, int64_t rows_hint, int id, mvk_type wt) {
    const vk_device_info *in = vk_ctx_info(ctx);
    mm_tile t = {256, 64, 64, 32, 4, 4};
    if (mm_style(in) == 1) {
        if (rows_hint >= 96) t = (mm_tile){32, 128, 128, 32, 32, 16};
        else if (rows_hint >= 24) t = (mm_tile){16, 32, 128, 32, 16, 16};
        else t = (mm_tile){8, 16, 128, 32, 16, 16};
    }
    uint32_t maxinv = vkc_wg(ctx, 1024);
    while ((t.bm / t.tm) * (t.bn / t.tn) > maxinv || (uint64_t)(t.bm + t.bn) * t.bk * 4 + (id ? t.bm * 4 : 0) > in->max_shared_memory) {
        if (t.bk > (mvk_type_is_quant(wt) ? 32u : 4u)) t.bk /= 2; /* quantised: whole 32-value chunks per slice */
        else if (t.bm > 16) { t.bm /= 2; t.bn /= 2; }
        else break;
    }
    if (t.tm > t.bm) t.tm = t.bm;
    if (t.tn > t.bn) t.tn = t.bn;
    t.wg = (t.bm / t.tm) * (t.bn / t.tn);
    return t;
}

/* CPU style, plain (F32/F16/BF16) weights: where K is not a multiple of the
 * tile's BK, the largest BK that divides K and is a multiple of the 8-value
 * chunk (wchunk.glsl), so that the vectorised tile loads run; else matmul.comp
 * reads every element of both tiles through a scalar, bounds-checked load.
 * Vision towers hit this: K = 72 (head dim) and 784 (patches) in the
 * per-head attention GEMMs, 4304 (ffn) in the f16 down projection. GPUs keep
 * their tile. */
static inline void mm_fit_bk(const vk_ctx *ctx, mm_tile *t, int64_t K, mvk_type wt) {
    if (mm_style(vk_ctx_info(ctx)) != 1 || mvk_type_is_quant(wt) || K % t->bk == 0) return;
    for (uint32_t bk = t->bk / 2; bk >= 8; bk /= 2)
        if (K % bk == 0) {
            t->bk = bk;
            return;
        }
}

/* Subgroups per workgroup matvec.comp's subgroup reduction has slots for (its MAX_SG). */
#define MM_VEC_MAX_SG 32u

/* Mat-vec configuration (matvec.comp): workgroup size, rows per group, shader suffix. */
typedef struct mm_vec {
    uint32_t wg, nr;
    int sg;
    uint32_t one_sg; /* wg == subgroup size: reduce with subgroupAdd only */
} mm_vec;

/* Elements of one vectorised weight chunk (wchunk.glsl): 32 for quantised types, else 8. */
static inline uint32_t mm_wch(mvk_type t) { return mvk_type_is_quant(t) ? 32u : 8u; }

/* Row-start alignment (in units) the chunked reads need: 16 bytes for the
 * plain types; quantised rows are always aligned (device layout). */
static inline uint32_t mm_wal(mvk_type t) { return mvk_type_is_quant(t) ? 1u : 16u / mm_wunit(t); }

/* The vectorised mat-vec loop (wchunk.glsl) applies: whole chunks per row
 * and chunk-aligned row starts (in units). */
static inline int mm_vec_fast(mvk_type t, uint32_t ow, uint32_t ws1, int64_t K) {
    if (!mm_wsuffix(t)) return 0;
    return K % mm_wch(t) == 0 && ow % mm_wal(t) == 0 && ws1 % mm_wal(t) == 0;
}

static inline mm_vec mm_pick_vec(const vk_ctx *ctx) {
    const vk_device_info *in = vk_ctx_info(ctx);
    /* CPU devices (lavapipe) run a workgroup as SIMD batches of one
     * subgroup and pay dearly for barriers: use one subgroup a workgroup and
     * more rows each. GPUs: 64 invocations, 2 rows. */
    int style = mm_style(in);
    int cpu = style == 1 && in->subgroup_arith && in->subgroup_size >= 4;
    mm_vec v = {vkc_wg(ctx, cpu ? in->subgroup_size : 64), cpu ? 16 : 2, 0, 0};
    uint32_t p2 = 1;
    while (p2 * 2 <= v.wg) p2 *= 2;
    v.wg = p2; /* the shared-memory tree needs a power of two */
    v.sg = style != 2 && in->subgroup_arith && in->subgroup_size && v.wg % in->subgroup_size == 0 &&
           v.wg / in->subgroup_size <= MM_VEC_MAX_SG;
    v.one_sg = v.sg && v.wg == in->subgroup_size;
    return v;
}

/* matvec_lane.comp's STREAM (spec id 6): with x read per lane, each x fetch sits next to the
 * multiply-adds that take it (docs/PERFORMANCE.md section 21); MOEVK_LANE_STREAM=0 keeps the block-at-once
 * order of before (same values) */
static inline uint32_t mm_lane_stream(void) {
    const char *e = getenv("MOEVK_LANE_STREAM");
    return e && !strcmp(e, "0") ? 0u : 1u;
}

/* matvec_lane.comp's SWAR (spec id 8): with int8 x (XQ), the Q4_K and Q6_K sums take two products a 32-bit
 * integer multiply (16-bit fields; q4kx_swar, q6kx_swar) instead of a float multiply-add each; same values,
 * bit for bit. MOEVK_LANE_SWAR=0 keeps the float sums (q4kx_dot, q6kx_acc; A/B, tests) */
static inline uint32_t mm_lane_swar(void) {
    const char *e = getenv("MOEVK_LANE_SWAR");
    return e && !strcmp(e, "0") ? 0u : 1u;
}

/* The lane mat-vec's int8 x (matvec_lane.comp XQ, spec id 7): on CPU devices (style cpu) the mat-vec
 * of quantised weights (whole 32-value blocks) reads x as vk_op_quant_x's int8 blocks through its texel
 * view: a block of 32 is 2 fetches and a scale where f32 was 8, and on lavapipe every fetch is a call of
 * ~40 instructions for 8 lanes whatever the address (docs/PERFORMANCE.md sections 22, 24). llama.cpp's
 * CPU build quantises x so for these weights too (q8_0 / q8_K). The callers quantise x once into stream
 * scratch and take it where the lane kernel's texel variant runs. MOEVK_LANE_XQ=0: f32 x (A/B, tests). */
static inline int mm_lane_xq(const vk_ctx *ctx, mvk_type t, int64_t K) {
    const char *e = getenv("MOEVK_LANE_XQ");
    if (e && !strcmp(e, "0")) return 0;
    const char *l = getenv("MOEVK_MM_LANE");
    if (l && !strcmp(l, "0")) return 0;
    return mm_style(vk_ctx_info(ctx)) == 1 && mvk_type_is_quant(t) && K % 32 == 0;
}

/* The per-lane-row mat-vec (shaders/matvec_lane.comp): on CPU devices
 * (style cpu) each invocation walks one whole weight row, the pattern
 * lavapipe reads 3-5x faster than lanes striding together (docs/PERFORMANCE.md).
 * It needs the chunked loop's alignment (fast) and, for the uvec4 loads of Q8_0, Q4_K, Q6_K and Q6_K8,
 * rows and bindings at 16-byte boundaries (units of 4 bytes: multiples of 4).
 * MOEVK_MM_STYLE=gpu forces the GPU kernel on lavapipe, =cpu this one on a GPU;
 * MOEVK_MM_LANE=0 keeps the CPU style's subgroup kernel (for A/B timing). */
static inline int mm_vec_lane(const vk_ctx *ctx, mvk_type t, int fast, uint32_t ow, uint32_t ws1, uint32_t ws2) {
    if (mm_style(vk_ctx_info(ctx)) != 1 || !fast) return 0;
    const char *e = getenv("MOEVK_MM_LANE"); /* 0: the subgroup CPU kernel instead (A/B measurements) */
    if (e && !strcmp(e, "0")) return 0;
    if (t == MVK_TYPE_Q8_0 || t == MVK_TYPE_Q4_K || t == MVK_TYPE_Q6_K || t == MVK_TYPE_Q6_K8)
        return ow % 4 == 0 && ws1 % 4 == 0 && ws2 % 4 == 0;
    return 1;
}

/* mm_wtex's conditions that do not depend on the tensor: CPU style, MOEVK_WTEX not 0, both texel formats */
static inline int mm_wtex_device(const vk_device_info *in) {
    const char *e = getenv("MOEVK_WTEX");
    if ((e && !strcmp(e, "0")) || mm_style(in) != 1) return 0;
    return (in->texel_support[VK_TEXEL_U32 - 1] & VK_TEXEL_UNIFORM) && (in->texel_support[VK_TEXEL_U32X4 - 1] & VK_TEXEL_UNIFORM);
}

/* The texel variants of the weight kernels (WTEX: matvec_lane.comp and
 * matmul.comp "tex_" shaders): the weights bound as two texel-buffer views
 * (binding 1 R32G32B32A32_UINT, and R32_UINT at the kernel's extra binding),
 * which lavapipe's texelFetch gathers for all lanes at once where a storage
 * buffer read at a per-lane address is a loop over the lanes
 * (docs/PERFORMANCE.md, "Texel buffers"). CPU style only (GPUs keep their
 * kernels), where the device has both formats as uniform texel buffers, the
 * views fit maxTexelBufferElements and the view's element offset keeps the
 * kernels' 16-byte alignment; *ow gets that offset (units of the weight
 * type, from the view's start). MOEVK_WTEX=0 keeps the storage-buffer reads
 * (A/B timing, tests). */
static inline int mm_wtex(const vk_ctx *ctx, const mvk_tensor *w, uint32_t *ow) {
    const vk_device_info *in = vk_ctx_info(ctx);
    if (!mm_wtex_device(in)) return 0;
    if ((vk_bind_texel_span(ctx, w) + 3) / 4 > in->max_texel_buffer_elements) return 0;
    uint32_t unit = mm_wunit(w->type), o = vk_bind_texel_offset(ctx, w, unit);
    if (o % (16u / unit)) return 0; /* uvec4 reads: the view's first row on a 16-byte boundary */
    *ow = o;
    return 1;
}

/* The lane mat-vec's texel variant also reads x through a view (binding 5,
 * R32G32B32A32_UINT): where it fits and its vec4 reads stay aligned; *ox
 * gets x's offset in floats from the view's start. */
static inline int mm_xtex(const vk_ctx *ctx, const mvk_tensor *x, uint32_t *ox) {
    if ((vk_bind_texel_span(ctx, x) + 15) / 16 > vk_ctx_info(ctx)->max_texel_buffer_elements) return 0;
    uint32_t o = vk_bind_texel_offset(ctx, x, 4);
    if (o % 4) return 0;
    *ox = o;
    return 1;
}

/* The tiled GEMM's texel variant (matmul.comp tex_* / id_tex_*): w through
 * mm_wtex's views, its rows (ws1) and experts (ws2, 0 for a matmul) 16 bytes
 * apart for the quantised types (Q8_0, Q4_K and Q6_K dequantise from 16-byte
 * texels there: wquant.glsl WTEX; a 4-byte texel is a gather, slower than a
 * storage-buffer read), and x through a R32G32B32A32 view (mm_xtex) for the
 * vectorised x tile loads. *ow gets w's offset in its view; where fast (the
 * vectorised loads run) *ox gets x's in its view, else it stays the storage
 * binding's (the scalar x loads read binding 0). */
static inline int mm_gemm_tex(const vk_ctx *ctx, const mvk_tensor *w, const mvk_tensor *x, uint32_t ws1, uint32_t ws2,
                              uint32_t fast, uint32_t *ow, uint32_t *ox) {
    uint32_t o_w, o_x;
    if (mvk_type_is_quant(w->type) && (ws1 % 4 || ws2 % 4)) return 0;
    if (!mm_wtex(ctx, w, &o_w) || !mm_xtex(ctx, x, &o_x)) return 0;
    *ow = o_w;
    if (fast) *ox = o_x;
    return 1;
}

/* Makes d's binding 1 and binding `second` the two views of mm_wtex. */
static inline void mm_wtex_bind(vk_dispatch_desc *d, uint32_t second) {
    d->texel[1] = VK_TEXEL_U32X4;
    d->texel[second] = VK_TEXEL_U32;
    d->n_binds = second + 1;
}

/* Invocations (rows) per workgroup of the lane mat-vec: 32 rows, fewer for
 * small N so that both cores get work (>= 8 workgroups when N allows). */
static inline uint32_t mm_lane_wg(const vk_ctx *ctx, uint32_t N) {
    uint32_t wg = vkc_wg(ctx, 32), sg = vk_ctx_info(ctx)->subgroup_size;
    while (wg > 4 && wg > sg && (N + wg - 1) / wg < 8) wg /= 2;
    return wg;
}

/* The lane mat-vec's PAIR variant (two rows a lane, n and n + ceil(N/2), sharing each x fetch:
 * matvec_lane.comp) for a texel-view dense mat-vec of one column (M = 1) and N >= 2 rows, where the
 * second half's offset (owu, units) fits the push constant. On by default since its two streams read
 * each x vec4 right before the multiply-adds that take it (the *_stream2 functions: the unpacked blocks
 * of both rows no longer live across the x fetch calls): the a3b8 slices decoded faster with it in
 * docs/PERFORMANCE.md section 22's quiet runs (section 18's slower PAIR held both blocks across the
 * fetches). MOEVK_LANE_PAIR=0: one row a lane; tested either way (test_op_gateup). */
static inline int mm_lane_pair(uint32_t M, uint32_t N, uint64_t owu) {
    const char *e = getenv("MOEVK_LANE_PAIR");
    if (e && !strcmp(e, "0")) return 0;
    return M == 1 && N >= 2 && owu <= UINT32_MAX;
}

/* The lane mat-vec's QUAD variant (matvec_lane.comp quad_tex_*: four rows a lane, n + k ceil(N/4), sharing each x
 * fetch and x's SWAR pairs): Q6_K8 (the LM head of Q4_K_M files, stored so on CPU devices), one column of int8 x
 * summed by SWAR, and N >= 8192 rows (a quarter of N keeps >= 8 workgroups of 32 lanes busy; the LM head's ranges
 * are ~50000 rows, attn_v's 512 stay PAIR). MOEVK_LANE_QUAD=0: PAIR (A/B; the same sums, bit for bit). */
static inline int mm_lane_quad(mvk_type t, uint32_t M, uint32_t N, int xq, uint32_t swar) {
    const char *e = getenv("MOEVK_LANE_QUAD");
    if (e && !strcmp(e, "0")) return 0;
    return t == MVK_TYPE_Q6_K8 && M == 1 && N >= 8192 && xq && swar;
}

/* A lane's share of N rows when it owns k of them (PAIR 2, QUAD 4): ceil(N/k), with interleaved rows (ilv > 0) rounded
 * up to whole groups so that each share starts one (matvec_lane.comp NL). */
static inline uint32_t mm_lane_rows_per(uint32_t N, uint32_t ilv, uint32_t k) { /* ceil(N/k), whole groups */
    uint32_t n = (N + k - 1) / k;
    return ilv ? (n + ilv - 1) / ilv * ilv : n;
}

/* QUAD's rows a lane: ceil(N/4), with interleaved rows (ilv > 0) rounded up to whole groups (matvec_lane.comp NL) */
static inline uint32_t mm_lane_nq(uint32_t N, uint32_t ilv) { return mm_lane_rows_per(N, ilv, 4); }

/* mm_lane_pair for the expert mat-vec (mul_mat_id decode, matvec_lane.comp PAIR with MUL_MAT_ID): rows n and
 * n + ceil(N/2) of the slot's expert; MOEVK_LANE_PAIR_ID=0 (or MOEVK_LANE_PAIR=0): one row a lane. */
static inline int mm_lane_pair_id(uint32_t N, uint64_t owu) {
    const char *e = getenv("MOEVK_LANE_PAIR_ID");
    if (e && !strcmp(e, "0")) return 0;
    return mm_lane_pair(1, N, owu);
}

/* The types whose rows the lane kernels read interleaved (matvec_lane.comp, matmul_lane.comp ILV; mvk_tensor.ilv). */
static inline int mm_ilv_type(mvk_type t) { return mvk_type_is_quant(t); }

/* PAIR's first half: ceil(N/2) rows, with interleaved rows (ilv > 0) rounded up to whole groups so that the second
 * half starts one (matvec_lane.comp NL); PAIR runs where N > this. */
static inline uint32_t mm_lane_nl(uint32_t N, uint32_t ilv) { return mm_lane_rows_per(N, ilv, 2); }

/* Row counts of the chunks a weight op splits w into (rows a binding holds): whole groups of interleaved rows, so
 * that each chunk's groups are the tensor's. */
static inline uint64_t mm_ilv_rows(uint64_t n, uint32_t ilv) { return ilv && n > ilv ? n / ilv * ilv : n; }

/* Spec constant 4 of the lane mat-vec (XSG): the subgroup size, so that the
 * lanes of a subgroup share the reads of x (matvec_lane.comp, x32), where
 * subgroup broadcast is there, trusted (subgroup_arith is off where the
 * driver's subgroup operations are known wrong) and the workgroup is whole
 * subgroups of at least 4 lanes; else 0 (each lane reads all of x).
 * Not for the texel variants (tex = 1): there x is a texel fetch, which gallivm
 * does for all lanes at once, while its subgroupBroadcast is a scalar loop over
 * the lanes per value (docs/PERFORMANCE.md section 14): 0 there.
 * MOEVK_LANE_XSG=0 forces 0, =1 sharing on the texel variants too (A/B timing, tests). */
static inline uint32_t mm_lane_xsg(const vk_ctx *ctx, uint32_t wg, int tex) {
    const vk_device_info *in = vk_ctx_info(ctx);
    const char *e = getenv("MOEVK_LANE_XSG");
    if (e && !strcmp(e, "0")) return 0;
    if (tex && !(e && !strcmp(e, "1"))) return 0;
    uint32_t sg = in->subgroup_size;
    if (!in->subgroup_ballot || !in->subgroup_arith || sg < 4 || wg % sg) return 0;
    return sg;
}

/* The lane GEMM (shaders/matmul_lane.comp), the GEMM of CPU devices: no
 * shared memory, each invocation TN rows of w against its workgroup's TM rows
 * of x, both read through texel views (mm_gemm_tex, whose bindings it
 * shares). mul_mat_id's expert GEMM (mmid_prefill) and the dense GEMM
 * (vk_op_matmul, mm_gemm_lane_dense). Spec constants 0..3. */
typedef struct mm_lane_tile {
    uint32_t wg, tm, tn, xsg, unr; /* unr: spec constant 4 (UNR): the plain types' dense loop, or QUNR (mm_lane_qunr) */
} mm_lane_tile;

/* The lane GEMM's default TN (rows of w an invocation owns) per use, with TM 8:
 * measured alone in the a3b8 slice's prefill, Q8_0 and Q4_K_M (docs/PERFORMANCE.md
 * section 17): with x read per lane each x fetch feeds TN multiply-adds, so TN 4
 * (section 13's choice, made with x shared) left the x reads the larger cost;
 * TN 16 beat 8 and 4 in both files' profiles (bench ops preferred 8 for the dense
 * Q4_K / Q6_K shapes: the model decided). One value a use, so that they can part. */
enum { MM_LANE_TN_ID = 16, MM_LANE_TN_DENSE = 16 };

/* The dense GEMM's tile for F32/F16/BF16 weights (the vision towers' f16 GEMMs and per-head f32
 * attention GEMMs) with UNR 1: 8-value chunks with the TM rows of x unrolled, no rotation. Measured
 * with `moevk bench ops --filter "(vit"` (docs/PERFORMANCE.md section 21): the rotating loop's acc
 * moves are masked blends through the stack in gallivm (a value written in a loop is blended with its
 * old value under the execution mask), 128 of them per 512 multiply-adds at TM 8 x TN 16; unrolled,
 * each acc is written once per 8 multiply-adds. TM 16 x TN 16 was the best tile there. */
enum { MM_LANE_TM_PLAIN = 16, MM_LANE_TN_PLAIN = 16 };

/* Whether the lane GEMM takes weights of type t and rows of K (CPU style,
 * whole chunks of the type: 32 values quantised, 8 for F32/F16/BF16), and its
 * tile: TM 8 (mul_mat_id's tiles are moe_group's, 32 rows an expert on
 * average in the a3b prefill), TN tn, one subgroup a workgroup. The caller also
 * needs p.fast and mm_gemm_tex. MOEVK_GEMM_LANE=0 keeps matmul.comp (A/B
 * timing, tests); MOEVK_GEMM_LANE_TILE=TMxTN sets the tile of both uses (tuning:
 * TM 8..32, TN 4..32; TM >= 8 keeps vk_op_mul_mat_id's workgroup-count bound).
 * x: each lane fetches it itself (xsg 0: on the texel views that is one gathered
 * load, where subgroupBroadcast is a scalar loop over the lanes per value,
 * docs/PERFORMANCE.md sections 14 and 17); MOEVK_LANE_XSG=1 shares it across
 * the subgroup (mm_lane_xsg), as the lane GEMM did when it landed (section 13). */
static inline int mm_gemm_lane_tn(const vk_ctx *ctx, mvk_type t, int64_t K, uint32_t tm_default, uint32_t tn_default,
                                   mm_lane_tile *lt) {
    const vk_device_info *in = vk_ctx_info(ctx);
    const char *e = getenv("MOEVK_GEMM_LANE");
    if ((e && !strcmp(e, "0")) || mm_style(in) != 1 || !mm_wsuffix(t) || K % mm_wch(t)) return 0;
    uint32_t sg = in->subgroup_size;
    lt->wg = vkc_wg(ctx, sg >= 4 && sg <= 64 ? sg : 8);
    lt->tm = tm_default;
    lt->tn = tn_default;
    lt->unr = 0;
    const char *ts = getenv("MOEVK_GEMM_LANE_TILE");
    unsigned tm, tn;
    if (ts && sscanf(ts, "%ux%u", &tm, &tn) == 2 && tm >= 8 && tm <= 32 && tn >= 4 && tn <= 32) {
        lt->tm = tm;
        lt->tn = tn;
    }
    lt->xsg = mm_lane_xsg(ctx, lt->wg, 1);
    return 1;
}

/* The lane GEMM's unrolled loop for quantised weights (matmul_lane.comp UNR with W_QUANT, "QUNR"): each
 * 32-value chunk of TN rows of w dequantised once, then the TM rows of x unrolled against it (no rotation of
 * the accumulators, which gallivm runs as masked blends through the stack: docs/PERFORMANCE.md section 21),
 * tile MM_LANE_TM_Q x MM_LANE_TN_Q (docs/PERFORMANCE.md section 27). Both uses (expert and dense GEMM).
 * MOEVK_LANE_QUNR=0 keeps the rotating loop and its tile (A/B timing, tests). */
enum { MM_LANE_TM_Q = 8, MM_LANE_TN_Q = 8 };
static inline int mm_lane_qunr(mvk_type t) {
    const char *e = getenv("MOEVK_LANE_QUNR");
    return mvk_type_is_quant(t) && !(e && !strcmp(e, "0"));
}

/* The lane GEMM with int8 x (matmul_lane.comp XQ, spec constant 5): Q4_K weights on CPU devices read x as
 * vk_op_quant_x's int8 blocks (2 texel fetches a block of 32 where f32 took 8) and sum by SWAR, two products a
 * 32-bit integer multiply (the decode mat-vec's q4kx_swar, docs/PERFORMANCE.md sections 25, 31; llama.cpp's CPU
 * build quantises x for its k-quant GEMMs too). The callers (vk_op_matmul's lane GEMM, mmid_prefill) quantise
 * x once (vk_quant_x_shared) where the lane GEMM takes the weights. MOEVK_GEMM_XQ=0: f32 x (A/B, tests). */
static inline int mm_gemm_xq(const vk_ctx *ctx, mvk_type t, int64_t K) {
    const char *e = getenv("MOEVK_GEMM_XQ");
    if (e && !strcmp(e, "0")) return 0;
    return t == MVK_TYPE_Q4_K && mm_style(vk_ctx_info(ctx)) == 1 && K % 256 == 0;
}

/* The lane GEMM's unrolled loop for F32/F16/BF16 weights (matmul_lane.comp UNR with 8-value chunks), the default
 * of both uses (mm_gemm_lane, mm_gemm_lane_dense); MOEVK_LANE_UNR=0 keeps the rotating loop (A/B timing, tests). */
static inline int mm_lane_unr(mvk_type t) {
    const char *e = getenv("MOEVK_LANE_UNR");
    return !mvk_type_is_quant(t) && !(e && !strcmp(e, "0"));
}

/* mul_mat_id's expert GEMM (mmid_prefill) through the lane GEMM: quantised weights QUNR's tile, F32/F16/BF16
 * the unrolled loop (UNR) at TM 8 x MM_LANE_TN_ID (expert tiles stay moe_group's 8 rows): the embedded model's
 * F16 experts ran ~1.4x faster than with the rotating loop, normalised by its dense GEMM in the same profiles
 * (4 of 4 alternating pairs, docs/PERFORMANCE.md section 33). MOEVK_LANE_UNR=0 keeps the rotating loop. */
static inline int mm_gemm_lane(const vk_ctx *ctx, mvk_type t, int64_t K, mm_lane_tile *lt) {
    int q = mm_lane_qunr(t), unr = mm_lane_unr(t);
    if (!mm_gemm_lane_tn(ctx, t, K, q ? MM_LANE_TM_Q : 8, q ? MM_LANE_TN_Q : MM_LANE_TN_ID, lt)) return 0;
    lt->unr = (uint32_t)(q || unr);
    return 1;
}

/* The dense GEMM (vk_op_matmul, M > 8 rows) through the lane GEMM;
 * MOEVK_GEMM_LANE_DENSE=0 keeps matmul.comp for the dense GEMM only (A/B
 * timing, tests). F32/F16/BF16 weights take the unrolled loop (UNR) and its
 * tile MM_LANE_TM_PLAIN x MM_LANE_TN_PLAIN; MOEVK_LANE_UNR=0 keeps the
 * rotating loop and TM 8 (A/B timing, tests); MOEVK_GEMM_LANE_TILE still sets the tile. */
static inline int mm_gemm_lane_dense(const vk_ctx *ctx, mvk_type t, int64_t K, mm_lane_tile *lt) {
    const char *e = getenv("MOEVK_GEMM_LANE_DENSE");
    if (e && !strcmp(e, "0")) return 0;
    int unr = mm_lane_unr(t), q = mm_lane_qunr(t);
    uint32_t tm = unr ? MM_LANE_TM_PLAIN : q ? MM_LANE_TM_Q : 8, tn = unr ? MM_LANE_TN_PLAIN : q ? MM_LANE_TN_Q : MM_LANE_TN_DENSE;
    if (!mm_gemm_lane_tn(ctx, t, K, tm, tn, lt)) return 0;
    lt->unr = (uint32_t)(unr || q);
    return 1;
}

/* The unrolled dense tile (lt->unr) for a w of few rows: where N < wg x TN the lanes past row N - 1 repeat
 * that row's work (matmul_lane.comp clamps them), so TN shrinks to the smallest power of two with wg x TN >= N.
 * Attention's P·V (N = head dim) is the case: the goldens' tower (hd 16) used 2 of 16 rows a lane, its
 * projections (N 64) 8 of 16 (docs/PERFORMANCE.md section 24). MOEVK_LANE_TN_FIT=0 keeps the full tile
 * (A/B timing); MOEVK_GEMM_LANE_TILE (a fixed tile) also does. Returns 1 (a condition in the caller's chain). */
static inline int mm_lane_fit_tn(mm_lane_tile *lt, int64_t N) {
    const char *e = getenv("MOEVK_LANE_TN_FIT");
    if (!lt->unr || (e && !strcmp(e, "0")) || getenv("MOEVK_GEMM_LANE_TILE")) return 1;
    uint32_t tn = 1;
    while ((int64_t)lt->wg * tn < N && tn < lt->tn) tn *= 2;
    lt->tn = tn;
    return 1;
}

/* The unrolled dense tile for rows of K <= 16 (two 8-value chunks: attention's Q·Kᵀ at head dim 16, the
 * goldens' tower): TN 8 instead of 16, where the store of a lane's TM x TN results outweighs its two chunks'
 * multiply-adds. bench ops "(vit16 attn)" Q·Kᵀ 784 x 784 K 16, two quiet rounds: TM x TN 16 x 8 5.52 / 5.26 ms,
 * 16 x 16 6.75 / 6.88, 8 x 16 9.0 / 10.6, 32 x 16 10.6 / 7.3 (docs/PERFORMANCE.md section 24).
 * MOEVK_LANE_SHORTK=0 keeps TN 16 (A/B); MOEVK_GEMM_LANE_TILE (a fixed tile) also does. Returns 1. */
static inline int mm_lane_short_k(mm_lane_tile *lt, int64_t K) {
    const char *e = getenv("MOEVK_LANE_SHORTK");
    if (!lt->unr || K > 16 || lt->tn <= 8 || (e && !strcmp(e, "0")) || getenv("MOEVK_GEMM_LANE_TILE")) return 1;
    lt->tn = 8;
    return 1;
}

/* Whether every kernel that may read a weight of type t takes interleaved rows on this device (vk_weight_ilv):
 * the lane mat-vec, the texel views (any chunk of a storage-buffer range fits one) and both lane GEMMs (dense and
 * expert). Each A/B switch that hands these to another kernel (MOEVK_MM_STYLE=gpu, MOEVK_MM_LANE=0, MOEVK_WTEX=0,
 * MOEVK_GEMM_LANE=0, MOEVK_GEMM_LANE_DENSE=0) keeps the rows plain, where those kernels would refuse them. */
static inline int mm_ilv_readers(const vk_ctx *ctx, mvk_type t) {
    const vk_device_info *in = vk_ctx_info(ctx);
    mm_lane_tile lt;
    if (!mm_vec_lane(ctx, t, 1, 0, 0, 0) || !mm_wtex_device(in)) return 0;
    if ((uint64_t)in->max_texel_buffer_elements * 4 < in->max_storage_buffer_range) return 0;
    return mm_gemm_lane_dense(ctx, t, 256, &lt) && mm_gemm_lane(ctx, t, 256, &lt);
}

#endif
