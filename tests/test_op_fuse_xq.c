/* test_op_fuse_xq.c — the producers of int8 x in one dispatch (shaders/fuse_xq.comp):
 *   vk_op_rms_norm_xq / vk_op_swiglu_xq / vk_op_geglu_xq against the unfused ops of the same recording
 *     (vk_op_rms_norm / vk_op_swiglu / vk_op_geglu, then vk_op_quant_x of their output): y and xq bit for bit
 *     (every word, the scales' padding included), with the CPU style's one-subgroup sum and the GPU style's tree
 *     (MOEVK_MM_STYLE), rows strided (padding sentinels kept), 3-D, K 32 .. 2048, with and without w, a block the
 *     weight zeroes (d = 0), one large value in a block, the activations in place (y = g, as vk_op_gateup writes);
 *   both against the CPU reference (ref_rms_norm_xq / ref_swiglu_xq / ref_geglu_xq), which sums in another order
 *     and in double: y within 1e-5 relative (+ 1e-6 absolute), scales within 1e-5 relative, quants within 1 of the
 *     reference's and equal for all but 1 in 100 (a y a few ulp off rounds the other way at a tie x/d = n + 1/2);
 *   vk_rms_norm_xq_shared / vk_swiglu_xq_shared / vk_geglu_xq_shared ahead of the int8-x mat-vecs
 *     (MOEVK_MM_STYLE=cpu, MOEVK_LANE_XQ=1): the mat-vec finds the fused quantisation (one dispatch fewer than
 *     MOEVK_FUSE_XQ=0) and the results are bit for bit those of MOEVK_FUSE_XQ=0 (RMSNorm then vk_op_matmul; the
 *     expert gate and up, SwiGLU or GeGLU, then vk_op_mul_mat_id's down), and within NMSE 1e-7 (1e-6 after the
 *     second quantisation) of the reference on the quantised x;
 *   bad input refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"
#include "tu_quant.h"

static void same_words(const char *label, const uint32_t *a, const uint32_t *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i]) fail_msg("%s: xq word %lld is %#x fused, %#x unfused", label, (long long)i, b[i], a[i]);
}

static void same_floats(const char *label, const float *a, const float *b, int64_t n) {
    int64_t d = tu_first_bit_diff(a, b, n);
    if (d >= 0) fail_msg("%s: y[%lld] is %.9g fused, %.9g unfused", label, (long long)d, (double)b[d], (double)a[d]);
}

/* y and xq against the reference: the bounds of the header */
static void near_ref(const char *label, const float *yr, const uint32_t *qr, const float *y, const uint32_t *q, int64_t K, int64_t rows) {
    for (int64_t i = 0; i < K * rows; i++)
        if (!(fabsf(y[i] - yr[i]) <= 1e-5f * fabsf(yr[i]) + 1e-6f))
            fail_msg("%s: y[%lld] %.9g, reference %.9g", label, (long long)i, (double)y[i], (double)yr[i]);
    int64_t rq = vk_quant_x_row_words(K), nb = K / 32, off = 0;
    for (int64_t r = 0; r < rows; r++) {
        const uint32_t *a = qr + r * rq, *b = q + r * rq;
        for (int64_t i = 0; i < K; i++) {
            int qa = (int8_t)(a[i / 4] >> (8 * (i % 4))), qb = (int8_t)(b[i / 4] >> (8 * (i % 4)));
            if (abs(qa - qb) > 1) fail_msg("%s: row %lld quant %lld is %d, reference %d", label, (long long)r, (long long)i, qb, qa);
            off += qa != qb;
        }
        for (int64_t j = 0; j < nb; j++) {
            float da, db;
            memcpy(&da, &a[K / 4 + j], 4);
            memcpy(&db, &b[K / 4 + j], 4);
            if (!(fabsf(da - db) <= 1e-5f * fabsf(da)))
                fail_msg("%s: row %lld scale %lld is %.9g, reference %.9g", label, (long long)r, (long long)j, (double)db, (double)da);
        }
        for (int64_t w = K / 4 + nb; w < rq; w++)
            if (b[w] != 0) fail_msg("%s: row %lld padding word %lld is %#x", label, (long long)r, (long long)w, b[w]);
    }
    if (off * 100 > K * rows) fail_msg("%s: %lld of %lld quants differ by one from the reference", label, (long long)off, (long long)(K * rows));
}

/* vk_op_rms_norm_xq on x [K][R1][R2] (rows pad floats apart, y likewise) against vk_op_rms_norm + vk_op_quant_x */
static void rms_case(const char *style, int64_t K, int64_t R1, int64_t R2, int64_t pad, int has_w) {
    int64_t rows = R1 * R2, rq = vk_quant_x_row_words(K);
    const float eps = 1e-6f;
    float *x = malloc((size_t)(K * rows) * 4), *w = malloc((size_t)K * 4), *yr = malloc((size_t)(K * rows) * 4);
    float *yf = malloc((size_t)(K * rows) * 4), *yu = malloc((size_t)(K * rows) * 4);
    uint32_t *qr = malloc((size_t)(rq * rows) * 4), *qf = malloc((size_t)(rq * rows) * 4), *qu = malloc((size_t)(rq * rows) * 4);
    assert_non_null(x); assert_non_null(w); assert_non_null(yr); assert_non_null(yf); assert_non_null(yu);
    assert_non_null(qr); assert_non_null(qf); assert_non_null(qu);
    tu_fill(x, K * rows, -3, 3);
    tu_fill(w, K, 0.2f, 2.0f);
    if (K >= 64) {
        x[5] = 1000.0f;                                           /* one large value: the rest of its block rounds to 0 */
        if (has_w) for (int i = 0; i < 32; i++) w[32 + i] = 0.0f; /* a zero block (d = 0) in every row */
    }
    ref_rms_norm_xq(yr, qr, x, has_w ? w : NULL, K, rows, eps);
    setenv("MOEVK_MM_STYLE", style, 1);
    tu_tensor tx = tu_upload_padded(x, K, R1, R2, 1, pad), tyf = tu_upload_padded(NULL, K, R1, R2, 1, pad);
    tu_tensor tyu = tu_upload_padded(NULL, K, R1, R2, 1, pad), tw = tu_upload(MVK_TYPE_F32, K, 1, 1, 1, w);
    tu_tensor tqf = tu_upload(MVK_TYPE_I32, rq, R1, R2, 1, NULL), tqu = tu_upload(MVK_TYPE_I32, rq, R1, R2, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_rms_norm_xq(s, &tyf.t, &tqf.t, &tx.t, has_w ? &tw.t : NULL, eps));
    TU_OK(vk_op_rms_norm(s, &tyu.t, &tx.t, has_w ? &tw.t : NULL, eps));
    TU_OK(vk_op_quant_x(s, &tqu.t, &tyu.t));
    uint32_t nd = vk_stream_dispatch_count(s);
    tu_end_submit(s);
    unsetenv("MOEVK_MM_STYLE");
    tu_download_padded(&tyf, yf, K, rows, pad);
    tu_download_padded(&tyu, yu, K, rows, pad);
    tu_download(&tqf, qf, (uint64_t)(rq * rows) * 4);
    tu_download(&tqu, qu, (uint64_t)(rq * rows) * 4);
    char label[128];
    snprintf(label, sizeof label, "rms_norm_xq %s K=%lld R1=%lld R2=%lld pad=%lld w=%d", style, (long long)K, (long long)R1,
             (long long)R2, (long long)pad, has_w);
    if (nd != 3) fail_msg("%s: %u dispatches, 3 expected", label, nd);
    same_floats(label, yu, yf, K * rows);
    same_words(label, qu, qf, rq * rows);
    near_ref(label, yr, qr, yf, qf, K, rows);
    tu_free(&tx); tu_free(&tyf); tu_free(&tyu); tu_free(&tw); tu_free(&tqf); tu_free(&tqu);
    free(x); free(w); free(yr); free(yf); free(yu); free(qr); free(qf); free(qu);
}

/* vk_op_swiglu_xq (geglu: vk_op_geglu_xq) on g, u [K][R1][R2] (rows pad floats apart) against vk_op_swiglu
   (vk_op_geglu) + vk_op_quant_x; in_place: y is g (both runs on their own copy of g), as vk_op_gateup's separate
   path writes it */
static void glu_case(int geglu, int64_t K, int64_t R1, int64_t R2, int64_t pad, int in_place) {
    int64_t rows = R1 * R2, rq = vk_quant_x_row_words(K);
    float *g = malloc((size_t)(K * rows) * 4), *u = malloc((size_t)(K * rows) * 4), *yr = malloc((size_t)(K * rows) * 4);
    float *yf = malloc((size_t)(K * rows) * 4), *yu = malloc((size_t)(K * rows) * 4);
    uint32_t *qr = malloc((size_t)(rq * rows) * 4), *qf = malloc((size_t)(rq * rows) * 4), *qu = malloc((size_t)(rq * rows) * 4);
    assert_non_null(g); assert_non_null(u); assert_non_null(yr); assert_non_null(yf); assert_non_null(yu);
    assert_non_null(qr); assert_non_null(qf); assert_non_null(qu);
    tu_fill(g, K * rows, -6, 6);
    tu_fill(u, K * rows, -2, 2);
    if (K >= 64) {
        g[7] = 60.0f; /* one large value */
        for (int i = 0; i < 32; i++) u[32 + i] = 0.0f; /* a zero block (d = 0) */
        g[40] = -100.0f; /* silu's exp past 88 (act.glsl: 0) */
    }
    if (geglu) ref_geglu_xq(yr, qr, g, u, K, rows);
    else ref_swiglu_xq(yr, qr, g, u, K, rows);
    tu_tensor tg1 = tu_upload_padded(g, K, R1, R2, 1, pad), tg2 = tu_upload_padded(g, K, R1, R2, 1, pad);
    tu_tensor tu_ = tu_upload_padded(u, K, R1, R2, 1, pad);
    tu_tensor tyf = tu_upload_padded(NULL, K, R1, R2, 1, pad), tyu = tu_upload_padded(NULL, K, R1, R2, 1, pad);
    tu_tensor tqf = tu_upload(MVK_TYPE_I32, rq, R1, R2, 1, NULL), tqu = tu_upload(MVK_TYPE_I32, rq, R1, R2, 1, NULL);
    const tu_tensor *of = in_place ? &tg1 : &tyf, *ou = in_place ? &tg2 : &tyu;
    vk_stream *s = tu_begin();
    if (geglu) {
        TU_OK(vk_op_geglu_xq(s, &of->t, &tqf.t, &tg1.t, &tu_.t));
        TU_OK(vk_op_geglu(s, &ou->t, &tg2.t, &tu_.t));
    } else {
        TU_OK(vk_op_swiglu_xq(s, &of->t, &tqf.t, &tg1.t, &tu_.t));
        TU_OK(vk_op_swiglu(s, &ou->t, &tg2.t, &tu_.t));
    }
    TU_OK(vk_op_quant_x(s, &tqu.t, &ou->t));
    uint32_t nd = vk_stream_dispatch_count(s);
    tu_end_submit(s);
    tu_download_padded(of, yf, K, rows, pad);
    tu_download_padded(ou, yu, K, rows, pad);
    tu_download(&tqf, qf, (uint64_t)(rq * rows) * 4);
    tu_download(&tqu, qu, (uint64_t)(rq * rows) * 4);
    char label[128];
    snprintf(label, sizeof label, "%s K=%lld R1=%lld R2=%lld pad=%lld in_place=%d", geglu ? "geglu_xq" : "swiglu_xq", (long long)K, (long long)R1,
             (long long)R2, (long long)pad, in_place);
    if (nd != 3) fail_msg("%s: %u dispatches, 3 expected", label, nd);
    same_floats(label, yu, yf, K * rows);
    same_words(label, qu, qf, rq * rows);
    near_ref(label, yr, qr, yf, qf, K, rows);
    tu_free(&tg1); tu_free(&tg2); tu_free(&tu_); tu_free(&tyf); tu_free(&tyu); tu_free(&tqf); tu_free(&tqu);
    free(g); free(u); free(yr); free(yf); free(yu); free(qr); free(qf); free(qu);
}

static void test_fused_vs_unfused(void **state) {
    (void)state;
    static const char *styles[2] = {"cpu", "gpu"};
    for (int st = 0; st < 2; st++) {
        rms_case(styles[st], 32, 1, 1, 0, 1);
        rms_case(styles[st], 96, 3, 1, 5, 1);    /* strided rows, scales padded (3 of 4) */
        rms_case(styles[st], 128, 2, 3, 0, 0);   /* 3-D, no weight */
        rms_case(styles[st], 2048, 1, 1, 0, 1);  /* a3b's n_embd */
        rms_case(styles[st], 2048, 2, 1, 8, 1);
    }
    for (int geglu = 0; geglu < 2; geglu++) {
        glu_case(geglu, 32, 1, 1, 0, 0);
        glu_case(geglu, 96, 3, 1, 5, 0);
        glu_case(geglu, 768, 8, 1, 0, 1);  /* a3b's expert FFN, top-8, in place */
        glu_case(geglu, 160, 3, 2, 4, 1);
    }
}

/* The shared forms ahead of the int8-x mat-vecs: norm -> vk_op_matmul (M = 1) and the expert gate/up (separate
   dispatches) -> SwiGLU (geglu: GeGLU) -> vk_op_mul_mat_id's down, each with the fused producer (default) and
   MOEVK_FUSE_XQ=0 */
static void shared_case(int geglu) {
    setenv("MOEVK_MM_STYLE", "cpu", 1);
    setenv("MOEVK_LANE_XQ", "1", 1);
    setenv("MOEVK_FUSE_GATEUP", "0", 1);
    mvk_type t = MVK_TYPE_Q8_0;
    const int64_t K = 256, N = 9, F = 96, E = 4, k = 3;
    const float eps = 1e-6f;
    float *wd, *gd, *ud, *dd, x[256], w[256], yn[256], xd[256], ref[9], got[2][9], ygot[2][256];
    uint32_t xq[2 * 256];
    uint8_t *wb = tu_quant_weights(t, K, N, 5, &wd);
    uint8_t *gb = tu_quant_weights(t, K, F * E, 6, &gd), *ub = tu_quant_weights(t, K, F * E, 7, &ud);
    uint8_t *db = tu_quant_weights(t, F, K * E, 8, &dd);
    assert_non_null(wb); assert_non_null(gb); assert_non_null(ub); assert_non_null(db);
    tu_fill(x, K, -2, 2);
    tu_fill(w, K, 0.5f, 1.5f);
    int32_t ids[3] = {2, 0, 3};
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, 1, 1, 1, x), tw = tu_upload(MVK_TYPE_F32, K, 1, 1, 1, w);
    tu_tensor tW = tu_upload(t, K, N, 1, 1, wb), ty = tu_upload(MVK_TYPE_F32, N, 1, 1, 1, NULL);
    tu_tensor tn = tu_upload(MVK_TYPE_F32, K, 1, 1, 1, NULL);
    tu_tensor tg = tu_upload(t, K, F, E, 1, gb), tu_ = tu_upload(t, K, F, E, 1, ub), td = tu_upload(t, F, K, E, 1, db);
    tu_tensor tid = tu_upload(MVK_TYPE_I32, k, 1, 1, 1, ids);
    tu_tensor th = tu_upload(MVK_TYPE_F32, F, k, 1, 1, NULL), tdn = tu_upload(MVK_TYPE_F32, K, k, 1, 1, NULL);
    float *h = malloc((size_t)(F * k) * 4), *dn[2], *href = malloc((size_t)(F * k) * 4), *hd = malloc((size_t)(F * k) * 4);
    float *dref = malloc((size_t)(K * k) * 4);
    uint32_t *hq = malloc((size_t)(vk_quant_x_row_words(F) * k) * 4);
    dn[0] = malloc((size_t)(K * k) * 4);
    dn[1] = malloc((size_t)(K * k) * 4);
    float *hg[2] = {malloc((size_t)(F * k) * 4), malloc((size_t)(F * k) * 4)};
    assert_non_null(h); assert_non_null(href); assert_non_null(hd); assert_non_null(dref); assert_non_null(hq);
    assert_non_null(dn[0]); assert_non_null(dn[1]); assert_non_null(hg[0]); assert_non_null(hg[1]);
    for (int pass = 0; pass < 2; pass++) { /* 0: fused (the default), 1: MOEVK_FUSE_XQ=0 */
        if (pass) setenv("MOEVK_FUSE_XQ", "0", 1);
        vk_stream *s = tu_begin();
        TU_OK(vk_rms_norm_xq_shared(s, &tn.t, &tx.t, &tw.t, eps));
        TU_OK(vk_op_matmul(s, &ty.t, &tn.t, &tW.t, NULL));
        uint32_t nd = vk_stream_dispatch_count(s);
        TU_OK(vk_op_gateup_id(s, &th.t, &tn.t, &tg.t, &tu_.t, &tid.t, geglu ? VK_GLU_GEGLU : VK_GLU_SWIGLU));
        TU_OK(vk_op_mul_mat_id(s, &tdn.t, &th.t, &td.t, &tid.t));
        uint32_t nd2 = vk_stream_dispatch_count(s) - nd;
        tu_end_submit(s);
        unsetenv("MOEVK_FUSE_XQ");
        /* norm (+ quant_x) + mat-vec; gate + up (x's quantisation shared with the mat-vec's) + SwiGLU (+ quant_x) + down */
        if (nd != (pass ? 3u : 2u)) fail_msg("shared rms_norm_xq fuse=%d: %u dispatches, %u expected", !pass, nd, pass ? 3u : 2u);
        if (nd2 != (pass ? 5u : 4u)) fail_msg("shared glu_xq geglu=%d fuse=%d: %u dispatches, %u expected", geglu, !pass, nd2, pass ? 5u : 4u);
        tu_download(&ty, got[pass], N * 4);
        tu_download(&tn, ygot[pass], K * 4);
        tu_download(&th, hg[pass], (uint64_t)(F * k) * 4);
        tu_download(&tdn, dn[pass], (uint64_t)(K * k) * 4);
    }
    same_floats("shared rms_norm_xq: y", ygot[1], ygot[0], K);
    same_floats("shared rms_norm_xq: the mat-vec", got[1], got[0], N);
    same_floats("shared glu_xq: the activation", hg[1], hg[0], F * k);
    same_floats("shared glu_xq: the down mat-vec", dn[1], dn[0], K * k);
    /* the reference on the quantised x (ref_quant_x's values q d) */
    ref_rms_norm_xq(yn, xq, x, w, K, 1, eps);
    ref_quant_x(xq, xd, yn, K, 1);
    ref_matmul(ref, xd, wd, NULL, 1, N, K);
    tu_assert_nmse("shared rms_norm_xq: the mat-vec against the reference", ref, got[0], N, 1e-7);
    ref_gateup_id(href, xd, 0, gd, ud, ids, K, F, E, k, 1, geglu);
    ref_quant_x(hq, hd, href, F, k);
    ref_mul_mat_id(dref, hd, 1, dd, ids, F, K, E, k, 1);
    tu_assert_nmse("shared glu_xq: the down mat-vec against the reference", dref, dn[0], K * k, 1e-6);
    unsetenv("MOEVK_MM_STYLE");
    unsetenv("MOEVK_LANE_XQ");
    unsetenv("MOEVK_FUSE_GATEUP");
    tu_free(&tx); tu_free(&tw); tu_free(&tW); tu_free(&ty); tu_free(&tn); tu_free(&tg); tu_free(&tu_); tu_free(&td);
    tu_free(&tid); tu_free(&th); tu_free(&tdn);
    free(wb); free(gb); free(ub); free(db); free(wd); free(gd); free(ud); free(dd);
    free(h); free(href); free(hd); free(dref); free(hq); free(dn[0]); free(dn[1]); free(hg[0]); free(hg[1]);
}

static void test_shared(void **state) {
    (void)state;
    shared_case(0);
    shared_case(1);
}

static void test_bad_input(void **state) {
    (void)state;
    vk_stream *s = tu_begin();
    int64_t rq = vk_quant_x_row_words(64);
    TU_REFUSES(vk_op_rms_norm_xq(s, tu_shape(MVK_TYPE_F32, 48, 1, 1, 1), tu_shape(MVK_TYPE_I32, vk_quant_x_row_words(32), 1, 1, 1),
                                 tu_shape(MVK_TYPE_F32, 48, 1, 1, 1), NULL, 1e-6f),
               MOEVK_ERR_SHAPE, "blocks of 32");
    TU_REFUSES(vk_op_rms_norm_xq(s, tu_shape(MVK_TYPE_F32, 64, 2, 1, 1), tu_shape(MVK_TYPE_I32, rq, 1, 1, 1),
                                 tu_shape(MVK_TYPE_F32, 64, 2, 1, 1), NULL, 1e-6f),
               MOEVK_ERR_SHAPE, "needs");
    TU_REFUSES(vk_op_rms_norm_xq(s, tu_shape(MVK_TYPE_F32, 64, 1, 1, 1), tu_shape(MVK_TYPE_F32, rq, 1, 1, 1),
                                 tu_shape(MVK_TYPE_F32, 64, 1, 1, 1), NULL, 1e-6f),
               MOEVK_ERR_UNSUPPORTED, "xq");
    TU_REFUSES(vk_op_rms_norm_xq(s, tu_shape(MVK_TYPE_F32, 64, 1, 1, 1), tu_shape(MVK_TYPE_I32, rq, 1, 1, 1),
                                 tu_shape(MVK_TYPE_F32, 64, 1, 1, 1), tu_shape(MVK_TYPE_F32, 32, 1, 1, 1), 1e-6f),
               MOEVK_ERR_SHAPE, "w must be");
    TU_REFUSES(vk_op_rms_norm_xq(s, tu_shape(MVK_TYPE_F32, 64, 1, 1, 1), tu_shape(MVK_TYPE_I32, rq, 1, 1, 1),
                                 tu_shape(MVK_TYPE_F32, 64, 1, 1, 1), NULL, -1.0f),
               MOEVK_ERR_INVALID_ARG, "eps");
    TU_REFUSES(vk_op_swiglu_xq(s, tu_shape(MVK_TYPE_F32, 64, 1, 1, 1), tu_shape(MVK_TYPE_I32, rq, 1, 1, 1),
                               tu_shape(MVK_TYPE_F32, 64, 1, 1, 1), tu_shape(MVK_TYPE_F32, 64, 2, 1, 1)),
               MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_swiglu_xq(s, tu_shape(MVK_TYPE_F32, 64, 1, 1, 2), tu_shape(MVK_TYPE_I32, rq, 1, 1, 1),
                               tu_shape(MVK_TYPE_F32, 64, 1, 1, 2), tu_shape(MVK_TYPE_F32, 64, 1, 1, 2)),
               MOEVK_ERR_SHAPE, "3-D");
    TU_REFUSES(vk_op_rms_norm_xq(NULL, NULL, NULL, NULL, NULL, 1e-6f), MOEVK_ERR_INVALID_ARG, "stream");
    TU_REFUSES(vk_op_swiglu_xq(NULL, NULL, NULL, NULL, NULL), MOEVK_ERR_INVALID_ARG, "stream");
    TU_REFUSES(vk_rms_norm_xq_shared(s, NULL, NULL, NULL, 1e-6f), MOEVK_ERR_INVALID_ARG, "NULL");
    TU_REFUSES(vk_swiglu_xq_shared(s, NULL, NULL, NULL), MOEVK_ERR_INVALID_ARG, "NULL");
    TU_REFUSES(vk_geglu_xq_shared(s, NULL, NULL, NULL), MOEVK_ERR_INVALID_ARG, "NULL");
    TU_REFUSES(vk_op_geglu_xq(s, tu_shape(MVK_TYPE_F32, 48, 1, 1, 1), tu_shape(MVK_TYPE_I32, vk_quant_x_row_words(32), 1, 1, 1),
                              tu_shape(MVK_TYPE_F32, 48, 1, 1, 1), tu_shape(MVK_TYPE_F32, 48, 1, 1, 1)),
               MOEVK_ERR_SHAPE, "blocks of 32");
    tu_bad_end(s);
}

int main(void) {
    tu_seed(39);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fused_vs_unfused, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_shared, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
