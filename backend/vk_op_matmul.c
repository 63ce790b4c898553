/* vk_op_matmul.c — y[N][M] = x[K][M] · w[K][N]ᵀ (+ bias) (rows of x and y may be strided) with w of any
 * weight type (mvk_type_table.h): for M > 8 the tiled GEMM (shaders/matmul.comp), on CPU devices
 * the lane GEMM (shaders/matmul_lane.comp, vk_op_mm.h mm_gemm_lane_dense) where it applies; the mat-vec
 * (shaders/matvec.comp) for M <= 8. Weights, inputs and outputs larger than
 * the device's storage-buffer range are processed in row ranges, each
 * dispatch binding only its sub-ranges. */
#include "vk_op_mm.h"

#define OP "vk_op_matmul"

/* Whether a chunk of M > 8 rows takes the lane GEMM (CPU devices, matmul_lane.comp): its chunked reads apply
 * (whole chunks, aligned rows), the texel views fit and its workgroup counts do (TM rows of x along x, wg x TN
 * rows of w along y); its tile and texel offsets. */
static int lane_gemm(vk_ctx *ctx, const mvk_tensor *x, const mvk_tensor *w, mm_lane_tile *lt, uint32_t *ow_t, uint32_t *ox_t) {
    const vk_device_info *in = vk_ctx_info(ctx);
    uint32_t unit = mm_wunit(w->type);
    uint32_t M = (uint32_t)x->ne[1], N = (uint32_t)w->ne[1], K = (uint32_t)w->ne[0];
    uint32_t ws1 = (uint32_t)(w->nb[1] / unit), xs1 = (uint32_t)(x->nb[1] / 4), ox = vk_bind_elem_offset(ctx, x, 4);
    return mm_vec_fast(w->type, vk_bind_elem_offset(ctx, w, unit), ws1, K) && xs1 % 4 == 0 && ox % 4 == 0 &&
           mm_gemm_lane_dense(ctx, w->type, K, lt) && mm_lane_fit_tn(lt, N) && (M + lt->tm - 1) / lt->tm <= in->max_workgroup_count[0] &&
           mm_lane_short_k(lt, K) && (N + lt->wg * lt->tn - 1) / (lt->wg * lt->tn) <= in->max_workgroup_count[1] &&
           mm_gemm_tex(ctx, w, x, ws1, 0, 1, ow_t, ox_t);
}

/* The epilogue of vk_op_matmul_ex on the paths without one: gelu in place, or (ACC) the product, in scratch,
 * added to y. */
static moevk_status epilogue_ops(vk_stream *s, const mvk_tensor *y, const mvk_tensor *prod, unsigned epi) {
    if (epi & VK_MM_EPI_GELU) MVK_TRY(vk_op_gelu(s, prod, prod, VK_GELU_TANH));
    if (epi & VK_MM_EPI_ACC) MVK_TRY(vk_op_add(s, y, y, prod));
    return MOEVK_OK;
}

/* ACC on the mat-vec of one column of x on CPU devices: y itself is bound as the bias (binding 3), so the
 * kernel's store y[n] = Σ + bias[n] is the residual add, one dispatch instead of the product in scratch and
 * vk_op_add (each lane reads the one element of y it then writes; the sum is o + h where vk_op_add gave h + o:
 * the same float). GPUs keep the two dispatches. */
static int vec_acc_in_place(const vk_ctx *ctx, int64_t M, const mvk_tensor *bias) {
    return M == 1 && !bias && mm_style(vk_ctx_info(ctx)) == 1;
}

/* xq (may be NULL): x quantised by vk_op_quant_x, for the lane mat-vec's int8 path (vk_op_mm.h mm_lane_xq).
 * epi: the epilogue the lane GEMM applies in its store; *done is set when it did (other paths: the caller
 * runs epilogue_ops) */
static moevk_status dispatch_chunk(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *xq, const mvk_tensor *w,
                                   const mvk_tensor *bias, int vec, unsigned epi, int *done) {
    const char *sfx = mm_wsuffix(w->type);
    if (!sfx) return mvk_fail(MOEVK_ERR_UNSUPPORTED, OP ": weight type %s", vkc_type(w->type));
    vk_ctx *ctx = vk_stream_ctx(s);
    uint32_t unit = mm_wunit(w->type);
    uint32_t M = (uint32_t)x->ne[1], N = (uint32_t)w->ne[1], K = (uint32_t)w->ne[0];
    pc_matmul pc = {.M = M, .N = N, .K = K, .xs1 = (uint32_t)(x->nb[1] / 4), .ws1 = (uint32_t)(w->nb[1] / unit),
                    .ys1 = (uint32_t)(y->nb[1] / 4), .ox = vk_bind_elem_offset(ctx, x, 4), .ow = vk_bind_elem_offset(ctx, w, unit),
                    .oy = vk_bind_elem_offset(ctx, y, 4), .ob = bias ? vk_bind_elem_offset(ctx, bias, 4) : 0,
                    .has_bias = bias ? 1u : 0u, .fast = 0};
    /* 4, 5: the texel variants' second view of w, and x (vk_op_mm.h mm_wtex); 6, 7: w's views again (PAIR) */
    vk_bind binds[8] = {{x, 0}, {w, 0}, {y, 1}, {bias ? bias : x, 0}, {w, 0}, {x, 0}, {w, 0}, {w, 0}};
    char name[32];
    vk_dispatch_desc d = {.shader = name, .binds = binds, .n_binds = 4, .push = &pc, .push_size = sizeof pc};
    if (vec) {
        if ((epi & VK_MM_EPI_ACC) && vec_acc_in_place(ctx, M, bias)) { /* y += x·wᵀ: y read as the bias */
            binds[3] = (vk_bind){y, 0};
            pc.ob = vk_bind_elem_offset(ctx, y, 4);
            pc.has_bias = 1;
            if (done) *done = 1;
        }
        mm_vec v = mm_pick_vec(ctx);
        /* 7: XQ, int8 x; 8: SWAR; 9: ILV, interleaved rows (matvec_lane.comp) */
        uint32_t spec[10] = {v.wg, v.nr, v.one_sg, M, 0, 0, mm_lane_stream(), 0, mm_lane_swar(), w->ilv};
        snprintf(name, sizeof name, "matvec_%s%s", sfx, v.sg ? "_sg" : "");
        uint32_t ow_t = 0, ox_t = 0;
        /* int8 x: the lane kernel's texel variant reads xq (aligned rows) through binding 5 */
        int xqt = xq && mm_vec_lane(ctx, w->type, mm_vec_fast(w->type, pc.ow, pc.ws1, K), pc.ow, pc.ws1, 0) &&
                  mm_wtex(ctx, w, &ow_t) && mm_xtex(ctx, xq, &ox_t);
        pc.fast = xqt || (mm_vec_fast(w->type, pc.ow, pc.ws1, K) && (M == 1 || pc.xs1 % 4 == 0) && pc.ox % 4 == 0);
        d.spec = spec;
        d.n_spec = 4;
        if (mm_vec_lane(ctx, w->type, (int)pc.fast, pc.ow, pc.ws1, 0)) {
            spec[0] = mm_lane_wg(ctx, N);
            d.n_spec = 10;
            snprintf(name, sizeof name, "matvec_lane_%s", sfx);
            int tex = xqt || (mm_wtex(ctx, w, &ow_t) && mm_xtex(ctx, x, &ox_t));
            spec[4] = xqt ? 0 : mm_lane_xsg(ctx, spec[0], tex);
            if (tex) {
                snprintf(name, sizeof name, "matvec_lane_tex_%s", sfx);
                pc.ow = ow_t;
                pc.ox = ox_t;
                if (xqt) { /* x's words: rows of vk_quant_x_row_words(K) */
                    pc.xs1 = (uint32_t)(xq->nb[1] / 4);
                    binds[5] = (vk_bind){xq, 0};
                    spec[7] = 1;
                }
                mm_wtex_bind(&d, 4);
                d.texel[5] = VK_TEXEL_U32X4;
                d.n_binds = 6;
                if (mm_lane_quad(w->type, M, N, xqt, spec[8])) {
                    /* four rows a lane, n + k ceil(N/4) (interleaved rows: whole groups), sharing each x fetch
                       (matvec_lane.comp QUAD): the plain bindings, one dispatch of ceil(N/4) lanes */
                    uint32_t nq = mm_lane_nq(N, w->ilv);
                    spec[0] = mm_lane_wg(ctx, nq);
                    spec[4] = 0;
                    snprintf(name, sizeof name, "matvec_lane_quad_tex_%s", sfx);
                    vk_split_groups(ctx, (nq + spec[0] - 1) / spec[0], d.groups);
                    return vk_dispatch(s, &d);
                }
                uint32_t nl = mm_lane_nl(N, w->ilv);
                if (N > nl && mm_lane_pair(M, N, ow_t + (uint64_t)nl * pc.ws1)) {
                    /* two rows a lane, n and n + ceil(N/2) (interleaved rows: + whole groups), sharing each x fetch
                       (matvec_lane.comp PAIR): the same weights' views again at 6, 7, the second half's first row at owu */
                    pc_gateup pp = {.g = pc, .owu = ow_t + nl * pc.ws1, .wsu1 = pc.ws1};
                    uint32_t pspec[10] = {mm_lane_wg(ctx, nl), 0, 0, 1, 0, 0, mm_lane_stream(), spec[7], spec[8], w->ilv};
                    pspec[4] = xqt ? 0 : mm_lane_xsg(ctx, pspec[0], 1);
                    snprintf(name, sizeof name, "matvec_lane_pair_tex_%s", sfx);
                    d.texel[6] = VK_TEXEL_U32X4;
                    d.texel[7] = VK_TEXEL_U32;
                    d.n_binds = 8;
                    d.push = &pp;
                    d.push_size = sizeof pp;
                    d.spec = pspec;
                    d.n_spec = 10;
                    vk_split_groups(ctx, (nl + pspec[0] - 1) / pspec[0], d.groups);
                    return vk_dispatch(s, &d);
                }
            }
            vk_split_groups(ctx, (N + spec[0] - 1) / spec[0], d.groups);
            return vk_dispatch(s, &d);
        }
        if (w->ilv) return mm_ilv_refuse(OP, "w", w, "matvec.comp");
        vk_split_groups(ctx, (N + v.nr - 1) / v.nr, d.groups);
        return vk_dispatch(s, &d);
    }
    /* CPU devices: the lane GEMM (matmul_lane.comp) where its chunked reads apply (whole chunks, aligned rows),
     * the texel views fit and its workgroup counts do (TM rows of x along x, wg x TN rows of w along y) */
    mm_lane_tile lt;
    uint32_t ow_t, ox_t;
    if (lane_gemm(ctx, x, w, &lt, &ow_t, &ox_t)) {
        /* 5: XQ, int8 x (Q4_K, mm_gemm_xq); 6: ILV, interleaved rows */
        uint32_t lspec[7] = {lt.wg, lt.tm, lt.tn, lt.xsg, lt.unr, 0, w->ilv};
        snprintf(name, sizeof name, "matmul_lane_tex_%s", sfx);
        pc.ow = ow_t;
        pc.ox = ox_t;
        uint32_t oxq;
        if (xq && mm_xtex(ctx, xq, &oxq)) { /* x's words: rows of vk_quant_x_row_words(K) */
            pc.ox = oxq;
            pc.xs1 = (uint32_t)(xq->nb[1] / 4);
            binds[5] = (vk_bind){xq, 0};
            lspec[5] = 1;
        }
        pc.fast = 1;
        pc.has_bias |= (uint32_t)epi << 1; /* matmul_lane.comp's epilogue bits: 2 ACC, 4 GELU */
        if (done) *done = 1;
        mm_wtex_bind(&d, 4);
        d.texel[5] = VK_TEXEL_U32X4; /* x */
        d.n_binds = 6;
        d.spec = lspec;
        d.n_spec = 7;
        d.groups[0] = (M + lt.tm - 1) / lt.tm;
        d.groups[1] = (N + lt.wg * lt.tn - 1) / (lt.wg * lt.tn);
        d.groups[2] = 1;
        return vk_dispatch(s, &d);
    }
    if (w->ilv) return mm_ilv_refuse(OP, "w", w, "matmul.comp");
    mm_tile t = mm_pick_tile(ctx, M, 0, w->type);
    mm_fit_bk(ctx, &t, K, w->type);
    uint32_t spec[6] = {t.wg, t.bm, t.bn, t.bk, t.tm, t.tn};
    snprintf(name, sizeof name, "matmul_%s", sfx);
    /* vectorised tile loads: whole BK slices, chunk-aligned w rows, vec4-aligned x rows */
    pc.fast = K % t.bk == 0 && t.bk % mm_wch(w->type) == 0 && mm_vec_fast(w->type, pc.ow, pc.ws1, K) && pc.xs1 % 4 == 0 &&
              pc.ox % 4 == 0;
    if (mm_gemm_tex(ctx, w, x, pc.ws1, 0, pc.fast, &pc.ow, &pc.ox)) {
        snprintf(name, sizeof name, "matmul_tex_%s", sfx);
        mm_wtex_bind(&d, 4);
        d.texel[5] = VK_TEXEL_U32X4; /* x (vectorised tile loads) */
        d.n_binds = 6;
    }
    d.spec = spec;
    d.n_spec = 6;
    d.groups[0] = (N + t.bn - 1) / t.bn;
    d.groups[1] = (M + t.bm - 1) / t.bm;
    d.groups[2] = 1;
    return vk_dispatch(s, &d);
}

uint32_t vk_weight_ilv(const vk_ctx *ctx, mvk_type t) {
    const char *e = getenv("MOEVK_WEIGHT_ILV");
    if ((e && !strcmp(e, "0")) || !ctx || !mm_ilv_type(t) || !mm_ilv_readers(ctx, t)) return 0;
    uint32_t sg = vk_ctx_info(ctx)->subgroup_size;
    return sg >= 4 ? sg : 8u; /* the SIMD width the lane kernels run at; 8 where the device does not say */
}

mvk_type vk_weight_type(const vk_ctx *ctx, mvk_type t) {
    const char *e = getenv("MOEVK_WEIGHT_WIDE");
    mvk_type d = mvk_type_widened(t);
    if (d == t || (e && !strcmp(e, "0")) || !ctx) return t;
    /* where the decode mat-vec is the lane kernel's texel variant (its int8-x form by default, the f32 one with
       MOEVK_LANE_XQ=0: both read Q6_K8 as they are and sum as Q6_K does) */
    if (!mm_vec_lane(ctx, d, 1, 0, 0, 0) || !mm_wtex_device(vk_ctx_info(ctx))) return t;
    return d;
}

moevk_status vk_op_matmul(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *bias) {
    return vk_op_matmul_ex(s, y, x, w, bias, 0);
}

moevk_status vk_op_matmul_ex(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *bias,
                             unsigned epi) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, OP ": NULL stream");
    if (epi & ~(unsigned)(VK_MM_EPI_ACC | VK_MM_EPI_GELU) || epi == (VK_MM_EPI_ACC | VK_MM_EPI_GELU))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, OP ": epilogue flags 0x%x (ACC or GELU, not both)", epi);
    MVK_TRY(vkc_f32(OP, "y", y));
    MVK_TRY(vkc_f32(OP, "x", x));
    MVK_TRY(mm_check_weight(OP, "w", w));
    if (bias) MVK_TRY(vkc_f32(OP, "bias", bias));
    for (int i = 2; i < 4; i++)
        if (x->ne[i] != 1 || y->ne[i] != 1 || w->ne[i] != 1)
            return mvk_fail(MOEVK_ERR_SHAPE, OP ": x, y and w must be 2-D (ne[%d] of x=%lld y=%lld w=%lld)", i,
                            (long long)x->ne[i], (long long)y->ne[i], (long long)w->ne[i]);
    int64_t K = w->ne[0], N = w->ne[1], M = x->ne[1];
    if (x->ne[0] != K) return mvk_fail(MOEVK_ERR_SHAPE, OP ": x has K=%lld but w has K=%lld", (long long)x->ne[0], (long long)K);
    if (y->ne[0] != N || y->ne[1] != M)
        return mvk_fail(MOEVK_ERR_SHAPE, OP ": y is [%lld,%lld] but x·wᵀ is [%lld,%lld]", (long long)y->ne[0],
                        (long long)y->ne[1], (long long)N, (long long)M);
    if (y->nb[1] < N * 4 && M > 1) return mvk_fail(MOEVK_ERR_SHAPE, OP ": y rows overlap (nb[1] = %lld < N*4)", (long long)y->nb[1]);
    if (x->nb[1] < K * 4 && M > 1) return mvk_fail(MOEVK_ERR_SHAPE, OP ": x rows overlap (nb[1] = %lld < K*4)", (long long)x->nb[1]);
    if (bias && (bias->ne[0] != N || bias->ne[1] != 1 || bias->ne[2] != 1 || bias->ne[3] != 1))
        return mvk_fail(MOEVK_ERR_SHAPE, OP ": bias has %lld elements, w has N=%lld rows", (long long)mvk_tensor_nelements(bias),
                        (long long)N);

    vk_ctx *ctx = vk_stream_ctx(s);
    const vk_device_info *in = vk_ctx_info(ctx);
    /* Mesa's lavapipe ends a shader loop after 65535 iterations; its tiled
     * kernel goes wrong past K ~ 20480 (measured), so on CPU devices very long
     * rows take the mat-vec kernel, 8 rows of x per dispatch. */
    int long_k = in->kind == VK_KIND_CPU && K > 16384;
    int vec = M <= 8 || long_k;
    /* interleaved rows (mvk_tensor.ilv): only the lane mat-vec and the lane GEMM read them (matvec_lane.comp,
       matmul_lane.comp ILV); where neither would run, refused before anything is recorded (dispatch_chunk refuses
       again on a path that reads plain rows) */
    if (w->ilv) {
        mm_lane_tile lt;
        uint32_t ow_t, ox_t;
        if (!mm_ilv_type(w->type) || !mm_vec_lane(ctx, w->type, 1, 0, 0, 0))
            return mm_ilv_refuse(OP, "w", w, !mm_ilv_type(w->type) ? "the lane kernels of this type" : "the kernels of this device");
        if (!vec && !lane_gemm(ctx, x, w, &lt, &ow_t, &ox_t)) return mm_ilv_refuse(OP, "w", w, "matmul.comp (the lane GEMM does not apply)");
    }
    /* Row ranges: n rows of w per dispatch, m rows of x / y per dispatch. */
    uint64_t wrow = mm_wrow(w);
    uint64_t nfit = mm_ilv_rows(mm_fit(ctx, (uint64_t)w->nb[1], wrow), w->ilv);
    uint64_t mfit_x = mm_fit(ctx, (uint64_t)x->nb[1], (uint64_t)K * 4);
    uint64_t mfit_y = mm_fit(ctx, (uint64_t)y->nb[1], (uint64_t)N * 4);
    uint64_t mfit = mfit_x < mfit_y ? mfit_x : mfit_y;
    if (nfit == 0 || mfit == 0)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, OP ": one row (K=%lld) is larger than the device's storage-buffer range", (long long)K);
    if (vec) {
        if (long_k && M > 8) mfit = mfit < 8 ? mfit : 8;
        else if (mfit < (uint64_t)M) mfit = 1;
    } else {
        mm_tile t = mm_pick_tile(ctx, M, 0, w->type);
        /* 16: the smallest tile a chunk of fewer rows may pick */
        uint64_t mmax = (uint64_t)in->max_workgroup_count[1] * 16, nmax = (uint64_t)in->max_workgroup_count[0] * t.bn;
        if (mfit > mmax) mfit = mmax;
        if (nfit > nmax) nfit = nmax;
    }
    /* int8 x for the lane mat-vec (vk_op_mm.h mm_lane_xq): x quantised once into stream scratch, xq [RQ][M], or the
       quantisation of the same x an earlier mat-vec of this recording made (vk_quant_x_shared) */
    mvk_tensor xq;
    int use_xq = vec && M <= 8 && (uint64_t)M <= mfit && mm_lane_xq(ctx, w->type, K) && vk_bind_span(ctx, x) <= in->max_storage_buffer_range;
    /* int8 x for the lane GEMM (Q4_K, vk_op_mm.h mm_gemm_xq): where one chunk takes all of x and w and the lane
       GEMM takes them, x quantised once (or shared with an earlier consumer of the same x) */
    if (!vec && mm_gemm_xq(ctx, w->type, K) && (uint64_t)M <= mfit && (uint64_t)N <= nfit && (uint64_t)M <= in->max_workgroup_count[1] &&
        vk_bind_span(ctx, x) <= in->max_storage_buffer_range) {
        mm_lane_tile lt;
        uint32_t ow_t, ox_t;
        use_xq = lane_gemm(ctx, x, w, &lt, &ow_t, &ox_t);
    }
    if (use_xq) MVK_TRY(vk_quant_x_shared(s, x, &xq));
    for (int64_t m0 = 0; m0 < M; m0 += (int64_t)mfit) {
        int64_t mc = M - m0 < (int64_t)mfit ? M - m0 : (int64_t)mfit;
        for (int64_t n0 = 0; n0 < N; n0 += (int64_t)nfit) {
            int64_t nc = N - n0 < (int64_t)nfit ? N - n0 : (int64_t)nfit;
            int64_t xne[4] = {K, mc, 1, 1}, wne[4] = {K, nc, 1, 1}, yne[4] = {nc, mc, 1, 1}, bne[4] = {nc, 1, 1, 1};
            mvk_tensor xv = mvk_tensor_view(x, (uint64_t)(m0 * x->nb[1]), xne, x->nb);
            mvk_tensor wv = mvk_tensor_view(w, (uint64_t)(n0 * w->nb[1]), wne, w->nb);
            mvk_tensor yv = mvk_tensor_view(y, (uint64_t)(m0 * y->nb[1] + n0 * 4), yne, y->nb);
            mvk_tensor bv;
            if (bias) bv = mvk_tensor_view(bias, (uint64_t)(n0 * 4), bne, bias->nb);
            if (!epi) {
                MVK_TRY(dispatch_chunk(s, &yv, &xv, use_xq ? &xq : NULL, &wv, bias ? &bv : NULL, vec, 0, NULL));
                continue;
            }
            /* with an epilogue: the lane GEMM applies it; elsewhere the product goes to y (GELU) or to scratch
               (ACC), then the ops. vk_stream_scratch_reset below frees the scratch. */
            int done = 0;
            vk_scratch_mark mark = vk_stream_scratch_mark(s);
            mvk_tensor prod = yv;
            mm_lane_tile lt;
            uint32_t ow_t, ox_t;
            if ((epi & VK_MM_EPI_ACC) && (vec ? !vec_acc_in_place(ctx, mc, bias) : !lane_gemm(ctx, &xv, &wv, &lt, &ow_t, &ox_t)))
                MVK_TRY(vk_stream_scratch(s, MVK_TYPE_F32, nc, mc, 1, 1, &prod));
            moevk_status st = dispatch_chunk(s, &prod, &xv, use_xq ? &xq : NULL, &wv, bias ? &bv : NULL, vec, epi, &done);
            if (st == MOEVK_OK && !done) st = epilogue_ops(s, &yv, &prod, epi);
            vk_stream_scratch_reset(s, mark);
            MVK_TRY(st);
        }
    }
    return MOEVK_OK;
}
