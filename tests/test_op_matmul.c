/* test_op_matmul.c — vk_op_matmul (F32, F16, BF16, Q8_0 weights; mat-vec and
 * tiled paths, bias, strided x) against ref_matmul.
 *
 * Two references per case: on the weights as the device sees them
 * (dequantised; tolerance 1e-7, fp32 accumulation is the only error) and on
 * the original f32 weights (the tolerance: 1e-7 for F32, 5e-4 for
 * F16 / BF16 / Q8_0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"
#include "vk_internal.h"

static const mvk_type types[4] = {MVK_TYPE_F32, MVK_TYPE_F16, MVK_TYPE_BF16, MVK_TYPE_Q8_0};
static double worst[4][2]; /* [type][device-view, original] */

static int tidx(mvk_type t) {
    for (int i = 0; i < 4; i++)
        if (types[i] == t) return i;
    return 0;
}

static int64_t y_pad; /* floats between y's rows (test_strided_y); 0: contiguous */

static void run_case(mvk_type wt, int64_t M, int64_t N, int64_t K, int with_bias, int64_t x_pad) {
    int64_t xs1 = K + x_pad, ys1 = N + y_pad;
    float *x = malloc(sizeof(float) * (size_t)(xs1 * M)), *w = malloc(sizeof(float) * (size_t)(N * K));
    float *wd = malloc(sizeof(float) * (size_t)(N * K)), *b = malloc(sizeof(float) * (size_t)N);
    float *xc = malloc(sizeof(float) * (size_t)(K * M));
    float *ref_d = malloc(sizeof(float) * (size_t)(N * M)), *ref_o = malloc(sizeof(float) * (size_t)(N * M));
    float *got = malloc(sizeof(float) * (size_t)(N * M));
    tu_fill(x, xs1 * M, -1, 1);
    tu_fill(w, N * K, -1, 1);
    tu_fill(b, N, -1, 1);
    for (int64_t m = 0; m < M; m++) memcpy(xc + m * K, x + m * xs1, sizeof(float) * (size_t)K);
    for (int64_t n = 0; n < N; n++) tu_round_through(wt, w + n * K, wd + n * K, K);
    ref_matmul(ref_d, xc, wd, with_bias ? b : NULL, M, N, K);
    ref_matmul(ref_o, xc, w, with_bias ? b : NULL, M, N, K);

    tu_tensor tx = tu_upload(MVK_TYPE_F32, xs1, M, 1, 1, x);
    int64_t xne[4] = {K, M, 1, 1};
    mvk_tensor xv = mvk_tensor_view(&tx.t, 0, xne, tx.t.nb);
    tu_tensor tw = tu_upload_as(wt, K, N, 1, 1, w);
    tu_tensor tb = tu_upload(MVK_TYPE_F32, N, 1, 1, 1, b);
    float *yh = malloc(sizeof(float) * (size_t)(ys1 * M));
    for (int64_t i = 0; i < ys1 * M; i++) yh[i] = 12345.0f; /* the gaps between strided rows must keep it */
    tu_tensor ty = tu_upload(MVK_TYPE_F32, ys1, M, 1, 1, yh);
    int64_t yne[4] = {N, M, 1, 1};
    mvk_tensor yv = mvk_tensor_view(&ty.t, 0, yne, ty.t.nb);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_matmul(s, &yv, &xv, &tw.t, with_bias ? &tb.t : NULL));
    tu_end_submit(s);
    tu_download(&ty, yh, sizeof(float) * (size_t)(ys1 * M));
    for (int64_t m = 0; m < M; m++) {
        memcpy(got + m * N, yh + m * ys1, sizeof(float) * (size_t)N);
        for (int64_t n = N; n < ys1; n++) assert_true(yh[m * ys1 + n] == 12345.0f);
    }
    free(yh);
    char label[160];
    snprintf(label, sizeof label, "matmul %s M=%lld N=%lld K=%lld bias=%d xpad=%lld ypad=%lld", mvk_type_name(wt), (long long)M,
             (long long)N, (long long)K, with_bias, (long long)x_pad, (long long)y_pad);
    double e_d = tu_nmse(ref_d, got, N * M), e_o = tu_nmse(ref_o, got, N * M);
    int ti = tidx(wt);
    if (e_d > worst[ti][0]) worst[ti][0] = e_d;
    if (e_o > worst[ti][1]) worst[ti][1] = e_o;
    tu_assert_nmse(label, ref_d, got, N * M, 1e-7);
    tu_assert_nmse(label, ref_o, got, N * M, wt == MVK_TYPE_F32 ? 1e-7 : 5e-4);
    tu_free(&tx); tu_free(&tw); tu_free(&tb); tu_free(&ty);
    free(x); free(w); free(wd); free(b); free(xc); free(ref_d); free(ref_o); free(got);
}

/* Subgroup sizes 4..64 (issue 8): the mat-vec subgroup reduction must see
 * every lane. llvmpipe at subgroup 32/64 (LP_NATIVE_VECTOR_WIDTH=1024/2048)
 * sums lanes 0..15 only (docs/LAVAPIPE_QUIRKS.md), so the device info drops
 * subgroup arithmetic there. The shapes put partial sums in lanes >= 16:
 * scalar loop (K % 8 != 0) with K > 16, vector loop with more than 16 chunks
 * (K = 264: 33 chunks of 8). ctest runs this file again at subgroup 32
 * (test_op_matmul_sg32), where the old choice failed every K here but 16. */
static void test_subgroup_sizes(void **state) {
    (void)state;
    for (uint32_t sz = 4; sz <= 64; sz *= 2) {
        assert_int_equal(vk_subgroup_arith_broken(VK_DRIVER_ID_MESA_LLVMPIPE, sz), sz > 16);
        assert_int_equal(vk_subgroup_arith_broken(VK_DRIVER_ID_NVIDIA_PROPRIETARY, sz), 0);
        assert_int_equal(vk_subgroup_arith_broken(VK_DRIVER_ID_AMD_PROPRIETARY, sz), 0);
    }
    const vk_device_info *in = vk_ctx_info(tu_vk);
    if (strstr(in->driver, "llvmpipe") && in->subgroup_size > 16) assert_int_equal(in->subgroup_arith, 0);
    const char *styles[3] = {"cpu", "gpu", "gpu-nosg"};
    const int64_t ks[7] = {16, 17, 31, 33, 65, 127, 300};
    for (int st = 0; st < 3; st++) {
        setenv("MOEVK_MM_STYLE", styles[st], 1);
        for (int i = 0; i < 7; i++) run_case(MVK_TYPE_F32, 1, 5, ks[i], 0, 0);
        run_case(MVK_TYPE_F32, 2, 5, 264, 1, 4);
        run_case(MVK_TYPE_F16, 1, 3, 264, 0, 0);
        run_case(MVK_TYPE_Q8_0, 1, 33, 640, 0, 0); /* 20 blocks; N = 33 keeps the quantisation NMSE a mean */
    }
    unsetenv("MOEVK_MM_STYLE");
}

/* M <= 8: mat-vec path (both sides of the switch: 8 and 9 below). */
static void test_matvec(void **state) {
    (void)state;
    for (int ti = 0; ti < 4; ti++) {
        mvk_type t = types[ti];
        int64_t Ks[4] = {1, 7, 33, 127};
        int64_t Kq[4] = {32, 64, 96, 256};
        int64_t Ms[4] = {1, 2, 7, 8};
        for (int i = 0; i < 4; i++) {
            int64_t K = t == MVK_TYPE_Q8_0 ? Kq[i] : Ks[i];
            run_case(t, Ms[i], tu_awkward[i], K, i & 1, 0);
            run_case(t, Ms[(i + 1) % 4], tu_awkward[(i + 2) % 4], K, 0, i == 2 ? 5 : 0);
        }
        run_case(t, 1, 129, 1024, 1, 0); /* longer rows, odd row count */
        /* vectorised loop (K % 8 == 0, aligned rows and x) and its fallbacks */
        run_case(t, 3, 33, 256, 1, 4);   /* aligned strided x: vector path */
        run_case(t, 5, 17, 64, 0, 1);    /* x rows not 16-byte aligned: scalar path (Q8_0 stays vectorised) */
        run_case(t, 8, 65, 512, 1, 0);
    }
}

/* M > 8: tiled path. Tiles (vk_op_mm.h): GPUs 64x64; CPU devices 16x128,
 * 32x128 or 128x128 by M — each gets a "tile + 1" case below. On this device
 * (CPU style) the cases with whole chunks (K % 8 == 0 plain, K % 32 == 0
 * Q8_0) and aligned x run the lane GEMM (matmul_lane.comp: Q8_0 TM 8 rows of x a
 * workgroup, TN 16 rows of w a lane: 9 = TM + 1 rows, N 129 = a subgroup of 8
 * lanes x TN + 1; F32/F16/BF16 the unrolled loop, TM 16 x TN 16: 17 x 129), the others matmul.comp. */
static void test_tiled(void **state) {
    (void)state;
    for (int ti = 0; ti < 4; ti++) {
        mvk_type t = types[ti];
        int64_t Ks[4] = {1, 7, 33, 127};
        int64_t Kq[4] = {32, 64, 96, 160};
        for (int i = 0; i < 4; i++) {
            int64_t K = t == MVK_TYPE_Q8_0 ? Kq[i] : Ks[i];
            int64_t Ms[4] = {9, 33, 65, 127};
            run_case(t, Ms[i], tu_awkward[(i + 1) % 4], K, i & 1, 0);
        }
        run_case(t, 65, 65, t == MVK_TYPE_Q8_0 ? 64 : 17, 1, 3); /* tile + 1 both ways, strided x */
        run_case(t, 130, 200, 256, 0, 0);
        run_case(t, 17, 129, t == MVK_TYPE_Q8_0 ? 32 : 9, 0, 0);   /* 16-row tile + 1, 128-column tile + 1 */
        run_case(t, 129, 129, t == MVK_TYPE_Q8_0 ? 32 : 7, 1, 0);  /* 128x128 tile + 1 */
        /* K % 32 = 8 and 16 (a ViT's head dim 72, ffn 4304): CPU devices shrink BK to 8 / 16
         * so that the vectorised tile loads run (vk_op_mm.h mm_fit_bk) */
        run_case(t, 33, 17, t == MVK_TYPE_Q8_0 ? 96 : 72, 0, 0);
        run_case(t, 40, 9, t == MVK_TYPE_Q8_0 ? 160 : 272, 1, 4);
        run_case(t, 9, 129, t == MVK_TYPE_Q8_0 ? 64 : 40, 1, 0); /* the lane GEMM's TM + 1 rows and 8 x TN + 1 rows of w, x rows of 40 floats */
        run_case(t, 17, 129, t == MVK_TYPE_Q8_0 ? 96 : 72, 1, 4); /* TM 16 + 1 (the unrolled loop's tile), K 72: a ViT's head dim */
        run_case(t, 33, 7, t == MVK_TYPE_Q8_0 ? 32 : 8, 0, 0);     /* one 8-value chunk; fewer rows of w than lanes */
        run_case(t, 16, 31, 64, 0, 1); /* x rows not 16-byte aligned: matmul.comp (Q8_0 too) */
        /* few rows of w (vk_op_mm.h mm_lane_fit_tn): F32/F16/BF16 shrink TN to 2 (N 16: a P·V at head dim 16)
           and 8 (N 64), exactly a subgroup's rows; then the full tile, as before (MOEVK_LANE_TN_FIT=0) */
        run_case(t, 33, 16, t == MVK_TYPE_Q8_0 ? 224 : 200, 0, 0);
        run_case(t, 17, 64, 64, 1, 0);
        run_case(t, 33, 200, t == MVK_TYPE_Q8_0 ? 32 : 16, 1, 0); /* K 16: TN 8 (vk_op_mm.h mm_lane_short_k) */
        setenv("MOEVK_LANE_TN_FIT", "0", 1);
        run_case(t, 33, 16, t == MVK_TYPE_Q8_0 ? 224 : 200, 0, 0);
        unsetenv("MOEVK_LANE_TN_FIT");
    }
}

/* The kernel configurations of other device kinds (vk_op_mm.h styles: 64x64
 * GPU tiles and 64-wide mat-vec with subgroup or shared-memory reduction),
 * run on this device through MOEVK_MM_STYLE; then the CPU style with the
 * weight kernels' storage-buffer reads (MOEVK_WTEX=0) where the device would
 * take the texel variants; then the CPU style's GEMM through matmul.comp's
 * texel variants instead of the lane GEMM (MOEVK_GEMM_LANE_DENSE=0; the
 * default, matmul_lane.comp, ran in test_tiled), and the lane GEMM's rotating
 * loop (MOEVK_LANE_UNR=0, MOEVK_LANE_QUNR=0) with x shared across the subgroup
 * (MOEVK_LANE_XSG=1, not the default) and read per lane. */
static void test_other_styles(void **state) {
    (void)state;
    const char *styles[7] = {"gpu", "gpu-nosg", "cpu", "cpu", "cpu", "cpu", "cpu"};
    for (int st = 0; st < 7; st++) {
        setenv("MOEVK_MM_STYLE", styles[st], 1);
        if (st == 3) setenv("MOEVK_WTEX", "0", 1);
        if (st == 4) {
            unsetenv("MOEVK_WTEX");
            setenv("MOEVK_GEMM_LANE_DENSE", "0", 1);
        }
        if (st == 5) { /* the rotating loop for F32/F16/BF16 too (the unrolled one reads x per lane always) */
            unsetenv("MOEVK_GEMM_LANE_DENSE");
            setenv("MOEVK_LANE_XSG", "1", 1);
            setenv("MOEVK_LANE_UNR", "0", 1);
            setenv("MOEVK_LANE_QUNR", "0", 1); /* Q8_0's too (vk_op_mm.h mm_lane_qunr) */
        }
        if (st == 6) unsetenv("MOEVK_LANE_XSG"); /* the rotating loop, x per lane */
        for (int ti = 0; ti < 4; ti++) {
            mvk_type t = types[ti];
            int q = t == MVK_TYPE_Q8_0;
            if (st < 4) { /* the mat-vec does not read MOEVK_GEMM_LANE_DENSE */
                run_case(t, 1, 33, q ? 64 : 33, 1, 0); /* mat-vec, scalar loop */
                run_case(t, 3, 7, 256, 0, 4);          /* mat-vec, vector loop */
                run_case(t, 8, 65, q ? 96 : 127, 1, 0);
            }
            run_case(t, 9, 65, q ? 32 : 7, 0, 0);      /* 64x64 tile + 1 */
            run_case(t, 65, 129, q ? 64 : 33, 1, 3);
            if (st >= 3) run_case(t, 33, 17, q ? 96 : 72, 0, 0); /* mm_fit_bk's BK 8; the lane GEMM's 8-value tail */
            if (st >= 4) run_case(t, 17, 33, q ? 256 : 264, 1, 4);
            if (st == 6) run_case(t, 9, 129, q ? 64 : 40, 1, 0); /* TM 8 + 1, 8 x TN 16 + 1 */
        }
    }
    unsetenv("MOEVK_MM_STYLE");
    unsetenv("MOEVK_WTEX");
    unsetenv("MOEVK_GEMM_LANE_DENSE");
    unsetenv("MOEVK_LANE_XSG");
    unsetenv("MOEVK_LANE_QUNR");
    unsetenv("MOEVK_LANE_UNR");
}

/* the backend's CPU style (vk_op_mm.h mm_style): MOEVK_MM_STYLE, else the device kind */
static int cpu_style(void) {
    const char *e = getenv("MOEVK_MM_STYLE");
    if (e && e[0]) return !strcmp(e, "cpu");
    return vk_ctx_info(tu_vk)->kind == VK_KIND_CPU;
}

/* vk_op_matmul_ex's epilogues against ref_matmul + ref_gelu / + the old y: GELU and ACC (the residual add),
 * with and without bias, on the lane GEMM (F32/F16/BF16/Q8_0 at K % 32 == 0: it applies them in its store),
 * on matmul.comp (MOEVK_GEMM_LANE_DENSE=0) and the mat-vec (M <= 8), which run separate ops, except ACC without
 * bias at M = 1 on CPU devices (y bound as the bias: no more dispatches than the plain product); both flags at
 * once are refused. */
static void epi_case(mvk_type wt, int64_t M, int64_t N, int64_t K, int with_bias, unsigned epi) {
    float *x = malloc(sizeof(float) * (size_t)(K * M)), *w = malloc(sizeof(float) * (size_t)(N * K));
    float *wd = malloc(sizeof(float) * (size_t)(N * K)), *b = malloc(sizeof(float) * (size_t)N);
    float *y0 = malloc(sizeof(float) * (size_t)(N * M)), *ref = malloc(sizeof(float) * (size_t)(N * M));
    float *got = malloc(sizeof(float) * (size_t)(N * M));
    tu_fill(x, K * M, -1, 1);
    tu_fill(w, N * K, -1, 1);
    tu_fill(b, N, -1, 1);
    tu_fill(y0, N * M, -2, 2);
    for (int64_t n = 0; n < N; n++) tu_round_through(wt, w + n * K, wd + n * K, K);
    ref_matmul(ref, x, wd, with_bias ? b : NULL, M, N, K);
    if (epi == VK_MM_EPI_GELU) ref_gelu(ref, ref, N * M, 0);
    if (epi == VK_MM_EPI_ACC)
        for (int64_t i = 0; i < N * M; i++) ref[i] += y0[i];
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, M, 1, 1, x);
    tu_tensor tw = tu_upload_as(wt, K, N, 1, 1, w);
    tu_tensor tb = tu_upload(MVK_TYPE_F32, N, 1, 1, 1, b);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, N, M, 1, 1, y0);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_matmul_ex(s, &ty.t, &tx.t, &tw.t, with_bias ? &tb.t : NULL, epi));
    uint32_t nd = vk_stream_dispatch_count(s);
    tu_end_submit(s);
    tu_download(&ty, got, sizeof(float) * (size_t)(N * M));
    char label[160];
    snprintf(label, sizeof label, "matmul_ex %s M=%lld N=%lld K=%lld bias=%d epi=%u", mvk_type_name(wt), (long long)M, (long long)N,
             (long long)K, with_bias, epi);
    if (M == 1 && !with_bias && epi == VK_MM_EPI_ACC && cpu_style()) {
        /* CPU devices: y is the mat-vec's bias, the add in its store: no dispatch over the plain product's */
        tu_tensor tp = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL);
        vk_stream *s2 = tu_begin();
        TU_OK(vk_op_matmul(s2, &tp.t, &tx.t, &tw.t, NULL));
        uint32_t np = vk_stream_dispatch_count(s2);
        tu_end_submit(s2);
        tu_free(&tp);
        if (nd != np) fail_msg("%s: %u dispatches, the plain product %u (the residual add not in the store)", label, nd, np);
    }
    tu_assert_nmse(label, ref, got, N * M, 1e-7);
    tu_free(&tx); tu_free(&tw); tu_free(&tb); tu_free(&ty);
    free(x); free(w); free(wd); free(b); free(y0); free(ref); free(got);
}

static void test_epilogue(void **state) {
    (void)state;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) setenv("MOEVK_GEMM_LANE_DENSE", "0", 1);
        for (int ti = 0; ti < 4; ti++) {
            mvk_type t = types[ti];
            for (unsigned epi = 1; epi <= 2; epi++) {
                epi_case(t, 33, 17, 64, 1, epi); /* TN 4 of 16 (mm_lane_fit_tn), a tile + 1 */
                epi_case(t, 17, 129, 96, 0, epi);
                if (pass == 0) epi_case(t, 3, 40, 64, (int)epi - 1, epi); /* mat-vec */
                if (pass == 0) epi_case(t, 1, 41, 64, 0, epi);            /* one column: ACC in the store on CPU devices */
                if (pass == 0) epi_case(t, 1, 41, 64, 1, epi);
            }
        }
    }
    unsetenv("MOEVK_GEMM_LANE_DENSE");
    tu_tensor tx = tu_upload(MVK_TYPE_F32, 8, 9, 1, 1, NULL), tw = tu_upload(MVK_TYPE_F32, 8, 8, 1, 1, NULL);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, 8, 9, 1, 1, NULL);
    vk_stream *s = tu_begin();
    assert_int_equal(vk_op_matmul_ex(s, &ty.t, &tx.t, &tw.t, NULL, VK_MM_EPI_ACC | VK_MM_EPI_GELU), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(vk_op_matmul_ex(s, &ty.t, &tx.t, &tw.t, NULL, 8), MOEVK_ERR_INVALID_ARG);
    tu_end_submit(s);
    tu_free(&tx); tu_free(&tw); tu_free(&ty);
}

/* y with strided rows (the tower's attention writes each head's P·V into its slice of the output:
 * rows H x hd floats apart): every path, the gaps untouched. */
static void test_strided_y(void **state) {
    (void)state;
    y_pad = 5;
    for (int ti = 0; ti < 4; ti++) {
        mvk_type t = types[ti];
        int q = t == MVK_TYPE_Q8_0;
        run_case(t, 3, 33, q ? 64 : 40, 1, 0);   /* mat-vec */
        run_case(t, 17, 129, q ? 96 : 72, 0, 4); /* lane GEMM */
        run_case(t, 33, 17, q ? 96 : 7, 1, 0);   /* plain: matmul.comp (K % 8 != 0) */
    }
    y_pad = 0;
}

static void test_bad_input(void **state) {
    (void)state;
    mvk_tensor *x = tu_shape(MVK_TYPE_F32, 64, 3, 1, 1), *w = tu_shape(MVK_TYPE_F16, 64, 5, 1, 1);
    mvk_tensor *y = tu_shape(MVK_TYPE_F32, 5, 3, 1, 1), *xk = tu_shape(MVK_TYPE_F32, 65, 3, 1, 1);
    mvk_tensor *xh = tu_shape(MVK_TYPE_F16, 64, 3, 1, 1), *yb = tu_shape(MVK_TYPE_F32, 6, 3, 1, 1);
    mvk_tensor *wi = tu_shape(MVK_TYPE_I32, 64, 5, 1, 1), *bias = tu_shape(MVK_TYPE_F32, 4, 1, 1, 1);
    mvk_tensor *wq = tu_shape(MVK_TYPE_F32, 48, 5, 1, 1);
    mvk_tensor wq8 = *wq; /* a Q8_0 view with K = 48: not a whole number of blocks */
    wq8.type = MVK_TYPE_Q8_0;
    wq8.ne[0] = 48;
    wq8.nb[0] = 34;
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_matmul(s, y, xk, w, NULL), MOEVK_ERR_SHAPE, "K=65");
    TU_REFUSES(vk_op_matmul(s, yb, x, w, NULL), MOEVK_ERR_SHAPE, NULL);
    mvk_tensor yo = *y; /* rows 4 floats apart, 5 long: they overlap */
    yo.nb[1] = 16;
    TU_REFUSES(vk_op_matmul(s, &yo, x, w, NULL), MOEVK_ERR_SHAPE, "overlap");
    TU_REFUSES(vk_op_matmul(s, y, xh, w, NULL), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_matmul(s, y, x, wi, NULL), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_matmul(s, y, x, w, bias), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_matmul(s, y, x, &wq8, NULL), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_matmul(s, y, NULL, w, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_matmul(NULL, y, x, w, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    tu_bad_end(s);
}

static int report(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++)
        fprintf(stderr, "matmul %-5s worst nmse: %.3e vs device-view weights, %.3e vs f32 weights\n", mvk_type_name(types[i]),
                worst[i][0], worst[i][1]);
    return tu_group_teardown(state);
}

/* Long rows (K > 20480) with M > 8: lavapipe's loop limit broke the tiled
 * kernel there; the op must still be right (CPU devices take the mat-vec). */
static void test_long_rows(void **state) {
    (void)state;
    const int64_t K = 24576, N = 5, M = 19;
    float *x = malloc((size_t)(K * M) * 4), *w = malloc((size_t)(K * N) * 4);
    float *ref = malloc((size_t)(N * M) * 4), *got = malloc((size_t)(N * M) * 4);
    tu_fill(x, K * M, -1, 1);
    tu_fill(w, K * N, -1, 1);
    ref_matmul(ref, x, w, NULL, M, N, K);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, M, 1, 1, x), tw = tu_upload(MVK_TYPE_F32, K, N, 1, 1, w);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL);
    vk_stream *st = tu_begin();
    TU_OK(vk_op_matmul(st, &ty.t, &tx.t, &tw.t, NULL));
    tu_end_submit(st);
    tu_download(&ty, got, (uint64_t)(N * M) * 4);
    tu_assert_nmse("matmul f32 K=24576 M=19 N=5", ref, got, N * M, 1e-7);
    tu_free(&tx); tu_free(&tw); tu_free(&ty);
    free(x); free(w); free(ref); free(got);
}

int main(void) {
    /* f32 x throughout: these compare against the f32 reference at NMSE 1e-7 (and paths bit for bit); the
     * lane mat-vec's int8 x (MOEVK_LANE_XQ, on by default on CPU devices) and the lane GEMM's (MOEVK_GEMM_XQ, Q4_K)
     * are test_op_quant_x's */
    setenv("MOEVK_LANE_XQ", "0", 1);
    setenv("MOEVK_GEMM_XQ", "0", 1);
    tu_seed(11);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_matvec, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_tiled, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_long_rows, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_other_styles, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_strided_y, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_epilogue, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_subgroup_sizes, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, report));
}
