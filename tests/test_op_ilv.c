/* test_op_ilv.c — the row-interleaved weight layout of the CPU devices' lane kernels
 * (core/mvk_types.h mvk_interleave_rows, docs/QUANT_LAYOUTS.md "Interleaved rows"):
 * the permutation against a hand-written example, its inverse and the layout's formula; then
 * (a device) the lane mat-vec on interleaved weights against the CPU reference, also past the storage-buffer
 * range (test_large). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvk_types.h"
#include "ref.h"
#include "test_util.h"

/* rows of row_bytes whose 16-byte unit j of row r holds (r, j, byte index) */
static uint8_t *plain_rows(int64_t row_bytes, int64_t rows) {
    uint8_t *p = malloc((size_t)(row_bytes * rows) + 1);
    assert_non_null(p);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < row_bytes; b++) p[r * row_bytes + b] = (uint8_t)(r * 37 + (b / 16) * 11 + (b % 16) * 3 + 1);
    return p;
}

/* 3 rows of 2 units in groups of 2: group 0 is r0u0 r1u0 r0u1 r1u1, the last group (1 row) is r2u0 r2u1 */
static void test_example(void **state) {
    (void)state;
    uint8_t src[96], dst[96];
    for (int i = 0; i < 96; i++) src[i] = (uint8_t)i;
    assert_int_equal(mvk_interleave_rows(dst, src, 32, 3, 2), 0);
    static const int want[6] = {0, 2, 1, 3, 4, 5}; /* plain unit at each interleaved position */
    for (int u = 0; u < 6; u++) assert_memory_equal(dst + 16 * u, src + 16 * want[u], 16);
    uint8_t back[96];
    assert_int_equal(mvk_deinterleave_rows(back, dst, 32, 3, 2), 0);
    assert_memory_equal(back, src, 96);
}

/* every unit where the layout says (group base + 16 (w j + l), w the group's rows), and the inverse gives the
 * rows back: rows a multiple of g, with a partial last group, fewer rows than g, one row, g = 1 */
static void test_permutation(void **state) {
    (void)state;
    static const int64_t cases[][3] = {{48, 16, 8}, {48, 17, 8}, {1088, 33, 8}, {144, 5, 8}, {16, 1, 8},
                                       {32, 31, 16}, {64, 7, 1}, {48, 24, 4}, {208, 9, 8}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t rb = cases[c][0], rows = cases[c][1], g = cases[c][2];
        uint8_t *src = plain_rows(rb, rows), *dst = calloc((size_t)(rb * rows), 1), *back = calloc((size_t)(rb * rows), 1);
        assert_non_null(dst);
        assert_non_null(back);
        assert_int_equal(mvk_interleave_rows(dst, src, rb, rows, g), 0);
        for (int64_t r = 0; r < rows; r++) {
            int64_t k = r / g, l = r % g, w = rows - k * g < g ? rows - k * g : g;
            for (int64_t j = 0; j < rb / 16; j++)
                if (memcmp(dst + k * g * rb + 16 * (w * j + l), src + r * rb + 16 * j, 16))
                    fail_msg("row_bytes %lld rows %lld g %lld: row %lld unit %lld misplaced", (long long)rb, (long long)rows,
                             (long long)g, (long long)r, (long long)j);
        }
        assert_int_equal(mvk_deinterleave_rows(back, dst, rb, rows, g), 0);
        assert_memory_equal(back, src, (size_t)(rb * rows));
        if (g == 1) assert_memory_equal(dst, src, (size_t)(rb * rows)); /* groups of one row: the plain layout */
        free(src);
        free(dst);
        free(back);
    }
}

static void test_bad_args(void **state) {
    (void)state;
    uint8_t a[64] = {0}, b[64];
    memset(b, 0xab, sizeof b);
    assert_int_equal(mvk_interleave_rows(b, a, 24, 2, 8), -1); /* not whole 16-byte units */
    assert_int_equal(mvk_interleave_rows(b, a, 0, 2, 8), -1);
    assert_int_equal(mvk_interleave_rows(b, a, 32, -1, 8), -1);
    assert_int_equal(mvk_interleave_rows(b, a, 32, 2, 0), -1);
    assert_int_equal(mvk_deinterleave_rows(b, a, 32, 2, 0), -1);
    for (int i = 0; i < 64; i++) assert_int_equal(b[i], 0xab); /* nothing written */
    assert_int_equal(mvk_interleave_rows(b, a, 32, 0, 8), 0); /* no rows: nothing to do */
}

/* ---------------------------------------------------------------- on a device */

/* an interleaved tensor reaches no kernel that reads plain rows: every op refuses it (UNSUPPORTED, naming the layout)
 * and records nothing: a float type (never interleaved), the storage-buffer GEMM (MOEVK_WTEX=0: matmul.comp), the
 * GPU kernels (MOEVK_MM_STYLE=gpu), get_rows, any other op */
static void test_refusals(void **state) {
    (void)state;
    mvk_tensor *w = tu_shape(MVK_TYPE_Q4_0, 256, 16, 1, 1), *we = tu_shape(MVK_TYPE_Q4_0, 256, 16, 4, 1);
    mvk_tensor *w8 = tu_shape(MVK_TYPE_Q8_0, 256, 16, 1, 1), *we8 = tu_shape(MVK_TYPE_Q8_0, 256, 16, 4, 1);
    mvk_tensor *wh = tu_shape(MVK_TYPE_F16, 256, 16, 1, 1), *x9 = tu_shape(MVK_TYPE_F32, 256, 9, 1, 1);
    mvk_tensor *x1 = tu_shape(MVK_TYPE_F32, 256, 1, 1, 1), *y1 = tu_shape(MVK_TYPE_F32, 16, 1, 1, 1);
    mvk_tensor *y9 = tu_shape(MVK_TYPE_F32, 16, 9, 1, 1), *ids = tu_shape(MVK_TYPE_I32, 2, 9, 1, 1);
    mvk_tensor *ye = tu_shape(MVK_TYPE_F32, 16, 2, 9, 1), *a = tu_shape(MVK_TYPE_F32, 16, 9, 1, 1);
    mvk_tensor *yr = tu_shape(MVK_TYPE_F32, 256, 2, 1, 1), *ri = tu_shape(MVK_TYPE_I32, 2, 1, 1, 1);
    w->ilv = we->ilv = w8->ilv = we8->ilv = wh->ilv = 8;
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_matmul(s, y9, x9, wh, NULL), MOEVK_ERR_UNSUPPORTED, "a quantised type"); /* F16: never interleaved */
    setenv("MOEVK_WTEX", "0", 1); /* the GEMMs then run matmul.comp, which reads plain rows only */
    TU_REFUSES(vk_op_matmul(s, y9, x9, w, NULL), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8 (q4_0), which matmul.comp");
    TU_REFUSES(vk_op_mul_mat_id(s, ye, x9, we, ids), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8 (q4_0), which matmul.comp");
    TU_REFUSES(vk_op_gateup(s, y9, x9, w, w, VK_GLU_SWIGLU), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8");
    TU_REFUSES(vk_op_gateup_id(s, ye, x9, we, we, ids, VK_GLU_SWIGLU), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8");
    unsetenv("MOEVK_WTEX");
    TU_REFUSES(vk_op_get_rows(s, yr, w8, ri), MOEVK_ERR_UNSUPPORTED, "get_rows.comp");
    setenv("MOEVK_MM_STYLE", "gpu", 1); /* the GPU kernels read plain rows only */
    TU_REFUSES(vk_op_matmul(s, y1, x1, w8, NULL), MOEVK_ERR_UNSUPPORTED, "the kernels of this device");
    TU_REFUSES(vk_op_mul_mat_id(s, ye, x9, we8, ids), MOEVK_ERR_UNSUPPORTED, "the kernels of this device");
    unsetenv("MOEVK_MM_STYLE");
    a->ilv = 8; /* any other op: vk_op_check.h vkc_layout */
    TU_REFUSES(vk_op_add(s, y9, a, y9), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8");
    tu_bad_end(s);
}

static int wtex_on(void) {
    const char *e = getenv("MOEVK_WTEX");
    return !(e && !strcmp(e, "0"));
}

static mvk_type g_wt;

/* the x values the lane kernels multiply: with int8 x (the mat-vec, vec: MOEVK_LANE_XQ, on by default, its texel
 * variant; the GEMM of Q4_K: MOEVK_GEMM_XQ, on by default) those ref_quant_x rounds x to, else x */
static void x_seen(float *xr, const float *x, int64_t K, int64_t rows, int vec) {
    const char *xqe = getenv(vec ? "MOEVK_LANE_XQ" : "MOEVK_GEMM_XQ"), *wt = getenv("MOEVK_WTEX");
    if ((!vec && g_wt != MVK_TYPE_Q4_K) || (xqe && !strcmp(xqe, "0")) || (wt && !strcmp(wt, "0"))) {
        memcpy(xr, x, sizeof(float) * (size_t)(K * rows));
        return;
    }
    uint32_t *q = malloc(sizeof(uint32_t) * (size_t)((K / 4 + 4 * ((K + 127) / 128)) * rows));
    assert_non_null(q);
    ref_quant_x(q, xr, x, K, rows);
    free(q);
}

/* the weight type of the cases below (each test loops over the types the lane kernels read interleaved) */
static mvk_type g_wt = MVK_TYPE_Q8_0;
static uint64_t g_seed = 1;

/* K for g_wt: whole blocks (the K-quants' super-blocks of 256) */
static int64_t kq(int64_t K) {
    int64_t be = mvk_type_block_elems(g_wt);
    return (K + be - 1) / be * be;
}

/* w [K][N][E] of type g_wt, plain (*plain) and interleaved in groups of g (*ilv: the plain tensor's bytes, each
 * [K][N] slice through mvk_interleave_rows, .ilv = g); wd: the values the device sees. Q8_0 from the f32 values w,
 * the K-quants random blocks (mvk_random_blocks; w unused) */
static void upload_pair(int64_t K, int64_t N, int64_t E, uint32_t g, const float *w, float *wd, tu_tensor *plain, tu_tensor *ilv) {
    if (g_wt == MVK_TYPE_Q8_0) {
        *plain = tu_upload_as(MVK_TYPE_Q8_0, K, N, E, 1, w);
        for (int64_t r = 0; r < N * E; r++) tu_round_through(MVK_TYPE_Q8_0, w + r * K, wd + r * K, K);
    } else {
        int64_t nbk = K / mvk_type_block_elems(g_wt) * N * E;
        uint8_t *blk = malloc((size_t)(nbk * mvk_type_block_bytes(g_wt)));
        assert_non_null(blk);
        mvk_random_blocks(g_wt, blk, nbk, g_seed++);
        *plain = tu_upload(g_wt, K, N, E, 1, blk);
        mvk_dequantize_row(g_wt, blk, wd, K * N * E);
        free(blk);
    }
    int64_t rb = mvk_dev_row_bytes(g_wt, K);
    uint64_t bytes = (uint64_t)(rb * N * E);
    uint8_t *a = malloc(bytes), *b = malloc(bytes);
    assert_non_null(a);
    assert_non_null(b);
    tu_download(plain, a, bytes);
    for (int64_t e = 0; e < E; e++) assert_int_equal(mvk_interleave_rows(b + e * rb * N, a + e * rb * N, rb, N, g), 0);
    *ilv = tu_upload(g_wt, K, N, E, 1, NULL);
    TU_OK(vk_upload(tu_vk, ilv->buf, 0, b, bytes));
    ilv->t.ilv = g;
    free(a);
    free(b);
}

/* set by test_large: each vk_op_matmul of mv_case must split w into row ranges (>= 2 dispatches each) */
static int g_expect_split;

/* the lane mat-vec (vk_op_matmul, M <= 8) on interleaved Q8_0 rows: bit-identical to the plain rows' result and within
 * fp32 accumulation of the CPU reference on the same values */
static void mv_case(int64_t M, int64_t N, int64_t K, uint32_t g) {
    K = kq(K);
    float *x = malloc(sizeof(float) * (size_t)(K * M)), *w = malloc(sizeof(float) * (size_t)(N * K));
    float *wd = malloc(sizeof(float) * (size_t)(N * K)), *ref = malloc(sizeof(float) * (size_t)(N * M));
    float *got_p = malloc(sizeof(float) * (size_t)(N * M)), *got_i = malloc(sizeof(float) * (size_t)(N * M));
    tu_fill(x, K * M, -1, 1);
    tu_fill(w, N * K, -1, 1);
    tu_tensor tp, ti;
    upload_pair(K, N, 1, g, w, wd, &tp, &ti);
    float *xr = malloc(sizeof(float) * (size_t)(K * M));
    x_seen(xr, x, K, M, M <= 8);
    ref_matmul(ref, xr, wd, NULL, M, N, K);
    free(xr);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, M, 1, 1, x), yp = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL);
    tu_tensor yi = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_matmul(s, &yp.t, &tx.t, &tp.t, NULL));
    if (M > 8 && !wtex_on()) /* the GEMM on storage buffers (matmul.comp) reads plain rows only: refused */
        assert_int_equal(vk_op_matmul(s, &yi.t, &tx.t, &ti.t, NULL), MOEVK_ERR_UNSUPPORTED);
    else
        TU_OK(vk_op_matmul(s, &yi.t, &tx.t, &ti.t, NULL));
    /* unsplit: one dispatch each, and at most one quant_x (shared): 3; split: at least 2 each */
    if (g_expect_split) assert_true(vk_stream_dispatch_count(s) >= 4);
    tu_end_submit(s);
    tu_download(&yp, got_p, sizeof(float) * (size_t)(N * M));
    tu_download(&yi, got_i, sizeof(float) * (size_t)(N * M));
    char label[128];
    snprintf(label, sizeof label, "ilv matvec %s M=%lld N=%lld K=%lld g=%u", mvk_type_name(g_wt), (long long)M, (long long)N, (long long)K, g);
    if (!(M > 8 && !wtex_on())) tu_assert_nmse(label, ref, got_i, N * M, g_wt == MVK_TYPE_Q8_0 ? 1e-7 : 1e-6);
    if (!(M > 8 && !wtex_on()) && memcmp(got_p, got_i, sizeof(float) * (size_t)(N * M))) fail_msg("%s: not bit-identical to the plain rows' result", label);
    tu_free(&tp); tu_free(&ti); tu_free(&tx); tu_free(&yp); tu_free(&yi);
    free(x); free(w); free(wd); free(ref); free(got_p); free(got_i);
}

/* the expert mat-vec (vk_op_mul_mat_id, T <= 8) on interleaved Q8_0 experts, ids with invalid entries (-1, E) */
static void mmid_case(int64_t N, int64_t K, int64_t E, int64_t k, int64_t T, uint32_t g) {
    K = kq(K);
    float *x = malloc(sizeof(float) * (size_t)(K * T)), *w = malloc(sizeof(float) * (size_t)(N * K * E));
    float *wd = malloc(sizeof(float) * (size_t)(N * K * E)), *ref = malloc(sizeof(float) * (size_t)(N * k * T));
    float *got_p = malloc(sizeof(float) * (size_t)(N * k * T)), *got_i = malloc(sizeof(float) * (size_t)(N * k * T));
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(k * T));
    tu_fill(x, K * T, -1, 1);
    tu_fill(w, N * K * E, -1, 1);
    tu_fill_i32(ids, k * T, 0, (int32_t)E);
    ids[0] = -1;                          /* invalid: zeros */
    if (k * T > 2) ids[k * T - 1] = (int32_t)E; /* past the last expert: zeros */
    tu_tensor tp, ti;
    upload_pair(K, N, E, g, w, wd, &tp, &ti);
    float *xr = malloc(sizeof(float) * (size_t)(K * T));
    x_seen(xr, x, K, T, T <= 8);
    ref_mul_mat_id(ref, xr, 0, wd, ids, K, N, E, k, T);
    free(xr);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, T, 1, 1, x), tid = tu_upload(MVK_TYPE_I32, k, T, 1, 1, ids);
    tu_tensor yp = tu_upload(MVK_TYPE_F32, N, k, T, 1, NULL), yi = tu_upload(MVK_TYPE_F32, N, k, T, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_mul_mat_id(s, &yp.t, &tx.t, &tp.t, &tid.t));
    int refused = T > 8 && !wtex_on(); /* the expert GEMM on storage buffers (matmul.comp) reads plain rows only */
    if (refused) assert_int_equal(vk_op_mul_mat_id(s, &yi.t, &tx.t, &ti.t, &tid.t), MOEVK_ERR_UNSUPPORTED);
    else TU_OK(vk_op_mul_mat_id(s, &yi.t, &tx.t, &ti.t, &tid.t));
    tu_end_submit(s);
    tu_download(&yp, got_p, sizeof(float) * (size_t)(N * k * T));
    tu_download(&yi, got_i, sizeof(float) * (size_t)(N * k * T));
    char label[128];
    snprintf(label, sizeof label, "ilv mul_mat_id %s N=%lld K=%lld E=%lld k=%lld T=%lld g=%u", mvk_type_name(g_wt), (long long)N, (long long)K,
             (long long)E, (long long)k, (long long)T, g);
    if (!refused) {
        tu_assert_nmse(label, ref, got_i, N * k * T, g_wt == MVK_TYPE_Q8_0 ? 1e-7 : 1e-6);
        for (int64_t n = 0; n < N; n++) assert_true(got_i[n] == 0.0f); /* slot 0 of token 0: id -1 */
    }
    if (!refused && memcmp(got_p, got_i, sizeof(float) * (size_t)(N * k * T))) fail_msg("%s: not bit-identical to the plain rows' result", label);
    tu_free(&tp); tu_free(&ti); tu_free(&tx); tu_free(&tid); tu_free(&yp); tu_free(&yi);
    free(x); free(w); free(wd); free(ref); free(got_p); free(got_i); free(ids);
}

/* the fused gate-up (MOEVK_FUSE_GATEUP=1: matvec_lane.comp GATEUP; dense E = 0, else the expert form over E experts)
 * on interleaved Q8_0 gate and up weights: bit-identical to the plain rows, and the CPU reference */
static void gateup_case(int64_t N, int64_t K, int64_t E, int64_t k, uint32_t g) {
    K = kq(K);
    int dense = E == 0;
    int64_t Ew = dense ? 1 : E, kk = dense ? 1 : k;
    float *x = malloc(sizeof(float) * (size_t)K), *wg = malloc(sizeof(float) * (size_t)(N * K * Ew));
    float *wu = malloc(sizeof(float) * (size_t)(N * K * Ew)), *wgd = malloc(sizeof(float) * (size_t)(N * K * Ew));
    float *wud = malloc(sizeof(float) * (size_t)(N * K * Ew)), *ref = malloc(sizeof(float) * (size_t)(N * kk));
    float *got_p = malloc(sizeof(float) * (size_t)(N * kk)), *got_i = malloc(sizeof(float) * (size_t)(N * kk));
    int32_t ids[8] = {0};
    tu_fill(x, K, -1, 1);
    tu_fill(wg, N * K * Ew, -1, 1);
    tu_fill(wu, N * K * Ew, -1, 1);
    if (!dense) {
        tu_fill_i32(ids, kk, 0, (int32_t)E);
        ids[0] = -1; /* invalid: zeros */
    }
    tu_tensor gp, gi, up, ui;
    upload_pair(K, N, Ew, g, wg, wgd, &gp, &gi);
    upload_pair(K, N, Ew, g, wu, wud, &up, &ui);
    float *xr = malloc(sizeof(float) * (size_t)K);
    x_seen(xr, x, K, 1, 1);
    ref_gateup_id(ref, xr, 0, wgd, wud, ids, K, N, Ew, kk, 1, 0);
    free(xr);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, 1, 1, 1, x), tid = tu_upload(MVK_TYPE_I32, kk, 1, 1, 1, ids);
    tu_tensor yp = tu_upload(MVK_TYPE_F32, N, kk, 1, 1, NULL), yi = tu_upload(MVK_TYPE_F32, N, kk, 1, 1, NULL);
    vk_stream *s = tu_begin();
    if (dense) {
        TU_OK(vk_op_gateup(s, &yp.t, &tx.t, &gp.t, &up.t, VK_GLU_SWIGLU));
        TU_OK(vk_op_gateup(s, &yi.t, &tx.t, &gi.t, &ui.t, VK_GLU_SWIGLU));
    } else {
        int64_t ne[4] = {N, kk, 1, 1}, nb[4] = {4, 4 * N, 4 * N * kk, 4 * N * kk};
        mvk_tensor ypv = mvk_tensor_view(&yp.t, 0, ne, nb), yiv = mvk_tensor_view(&yi.t, 0, ne, nb);
        TU_OK(vk_op_gateup_id(s, &ypv, &tx.t, &gp.t, &up.t, &tid.t, VK_GLU_SWIGLU));
        TU_OK(vk_op_gateup_id(s, &yiv, &tx.t, &gi.t, &ui.t, &tid.t, VK_GLU_SWIGLU));
    }
    tu_end_submit(s);
    tu_download(&yp, got_p, sizeof(float) * (size_t)(N * kk));
    tu_download(&yi, got_i, sizeof(float) * (size_t)(N * kk));
    char label[128];
    snprintf(label, sizeof label, "ilv gateup%s %s N=%lld K=%lld E=%lld k=%lld g=%u", dense ? "" : "_id", mvk_type_name(g_wt), (long long)N, (long long)K,
             (long long)E, (long long)kk, g);
    tu_assert_nmse(label, ref, got_i, N * kk, 1e-6);
    if (memcmp(got_p, got_i, sizeof(float) * (size_t)(N * kk))) fail_msg("%s: not bit-identical to the plain rows' result", label);
    tu_free(&gp); tu_free(&gi); tu_free(&up); tu_free(&ui); tu_free(&tx); tu_free(&tid); tu_free(&yp); tu_free(&yi);
    free(x); free(wg); free(wu); free(wgd); free(wud); free(ref); free(got_p); free(got_i);
}

/* the lane kernels' variants under the A/B switches: PAIR and one row a lane, int8 x (XQ) and f32 x (the STREAM
 * forms, and the block forms with MOEVK_LANE_STREAM=0), texel views and storage buffers */
static const char *const modes[][2] = {{NULL, NULL},           {"MOEVK_LANE_PAIR", "0"}, {"MOEVK_LANE_XQ", "0"},
                                       {"MOEVK_LANE_STREAM", "0"}, {"MOEVK_WTEX", "0"},    {"MOEVK_LANE_PAIR_ID", "0"}};

/* Q8_0, Q4_K, Q6_K, Q6_K8 (the device-only Q6_K the LM head is stored as): their own paths in the lane kernels;
 * Q4_0, Q5_K: the generic chunks (wchunk.glsl) */
#define N_WT 6
static const mvk_type wts[N_WT] = {MVK_TYPE_Q8_0, MVK_TYPE_Q4_K, MVK_TYPE_Q6_K, MVK_TYPE_Q6_K8, MVK_TYPE_Q4_0, MVK_TYPE_Q5_K};

static int lane_device(void) {
    const vk_device_info *in = vk_ctx_info(tu_vk);
    const char *st = getenv("MOEVK_MM_STYLE");
    return st ? !strcmp(st, "cpu") : in->kind == VK_KIND_CPU;
}

static void test_matvec(void **state) {
    (void)state;
    if (!lane_device()) TU_SKIP_NA("the lane mat-vec runs on CPU devices (MOEVK_MM_STYLE=cpu elsewhere)");
    uint32_t sg = vk_ctx_info(tu_vk)->subgroup_size;
    const uint32_t gs[3] = {8, sg ? sg : 8, 4};
    static const int64_t shapes[][3] = {{1, 64, 64},  {1, 33, 96}, {1, 7, 32}, {1, 9, 320}, {1, 17, 64},
                                        {1, 100, 256}, {3, 33, 64}, {8, 19, 96}, {2, 1, 32},
                                        /* the lane GEMM (matmul_lane.comp): M > 8 */
                                        {9, 33, 64}, {17, 100, 96}, {40, 129, 64}, {33, 7, 32}};
    for (int ti = 0; ti < N_WT; ti++) {
        g_wt = wts[ti];
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            if (modes[m][0]) setenv(modes[m][0], modes[m][1], 1);
            for (int gi = 0; gi < 3; gi++) {
                if ((gi && gs[gi] == gs[0]) || (gi == 2 && gs[2] == gs[1])) continue; /* a group size once */
                for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) mv_case(shapes[c][0], shapes[c][1], shapes[c][2], gs[gi]);
            }
            if (modes[m][0]) unsetenv(modes[m][0]);
        }
    }
    /* Q6_K8's QUAD (four rows a lane, vk_op_mm.h mm_lane_quad: N >= 8192), N not a multiple of 4 or of a group */
    g_wt = MVK_TYPE_Q6_K8;
    for (int gi = 0; gi < 3; gi++)
        if (!((gi && gs[gi] == gs[0]) || (gi == 2 && gs[2] == gs[1]))) mv_case(1, 8195, 256, gs[gi]);
    g_wt = MVK_TYPE_Q8_0;
}

static void test_gateup(void **state) {
    (void)state;
    if (!lane_device()) TU_SKIP_NA("the lane mat-vec runs on CPU devices (MOEVK_MM_STYLE=cpu elsewhere)");
    uint32_t sg = vk_ctx_info(tu_vk)->subgroup_size;
    setenv("MOEVK_FUSE_GATEUP", "1", 1); /* the fused kernel for quantised weights too */
    for (int q = 0; q < 2 * N_WT; q++) {
        g_wt = wts[q % N_WT];
        int xq = q / N_WT;
        if (xq) setenv("MOEVK_LANE_XQ", "0", 1);
        for (int gi = 0; gi < 2; gi++) {
            uint32_t g = gi ? (sg ? sg : 8) : 8;
            if (gi && g == 8) continue; /* a group size once */
            gateup_case(64, 64, 0, 1, g);
            gateup_case(37, 96, 0, 1, g);   /* a partial last group */
            gateup_case(5, 32, 0, 1, g);    /* fewer rows than a group */
            gateup_case(33, 64, 5, 3, g);
            gateup_case(100, 256, 4, 2, g);
        }
        if (xq) unsetenv("MOEVK_LANE_XQ");
    }
    g_wt = MVK_TYPE_Q8_0;
    unsetenv("MOEVK_FUSE_GATEUP");
}

static void test_mul_mat_id(void **state) {
    (void)state;
    if (!lane_device()) TU_SKIP_NA("the lane mat-vec runs on CPU devices (MOEVK_MM_STYLE=cpu elsewhere)");
    uint32_t sg = vk_ctx_info(tu_vk)->subgroup_size;
    const uint32_t gs[2] = {8, sg ? sg : 8};
    static const int64_t shapes[][5] = {{64, 64, 4, 2, 1}, {33, 96, 5, 3, 1}, {9, 64, 3, 2, 2}, {7, 32, 4, 4, 1}, {100, 256, 6, 2, 3},
                                        /* the expert GEMM (T > 8: moe_group + matmul_lane.comp MUL_MAT_ID) */
                                        {33, 64, 5, 2, 9}, {100, 96, 4, 3, 17}};
    for (int ti = 0; ti < N_WT; ti++) {
        g_wt = wts[ti];
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            if (modes[m][0]) setenv(modes[m][0], modes[m][1], 1);
            for (int gi = 0; gi < 2; gi++)
                for (size_t c = 0; c < sizeof shapes / sizeof shapes[0] && !(gi && gs[1] == gs[0]); c++)
                    mmid_case(shapes[c][0], shapes[c][1], shapes[c][2], shapes[c][3], shapes[c][4], gs[gi]);
            if (modes[m][0]) unsetenv(modes[m][0]);
        }
    }
    g_wt = MVK_TYPE_Q8_0;
}

/* a weight past the storage-buffer range (128 MiB on lavapipe), as a Q4_K_M file's Q6_K LM head is: vk_op_matmul
 * splits it into row ranges of whole groups (mm_ilv_rows), each range's last group the tensor's; N odd (a partial
 * last group, PAIR's clamped lane); the mat-vec (M = 1, PAIR) and the lane GEMM (M = 9) at the engine's group size */
static void test_large(void **state) {
    (void)state;
    if (!lane_device()) TU_SKIP_NA("the lane mat-vec runs on CPU devices (MOEVK_MM_STYLE=cpu elsewhere)");
    const vk_device_info *in = vk_ctx_info(tu_vk);
    const int64_t K = 2048, rb = mvk_dev_row_bytes(MVK_TYPE_Q6_K, K); /* 8 super-blocks of 210 bytes */
    int64_t N = (int64_t)(in->max_storage_buffer_range / (uint64_t)rb) + 1001;
    N |= 1;
    if (N > 400001) TU_SKIP_NA("this device's storage-buffer range is too large for a split test of host-sized memory");
    uint32_t sg = in->subgroup_size;
    g_wt = MVK_TYPE_Q6_K;
    g_expect_split = 1;
    fprintf(stderr, "large: Q6_K w [%lld][%lld], %.1f MiB, storage range %.1f MiB\n", (long long)K, (long long)N,
            (double)(N * rb) / 1048576.0, (double)in->max_storage_buffer_range / 1048576.0);
    mv_case(1, N, K, sg >= 4 ? sg : 8);
    mv_case(9, N, K, sg >= 4 ? sg : 8);
    g_expect_split = 0;
    g_wt = MVK_TYPE_Q8_0;
}

/* test_op_ilv [--large]: --large runs test_large alone (its own ctest entry, test_op_ilv_large: ~1.7 GB of host
 * memory and a 130+ MiB weight, labelled slow so that only the README command's pass runs it) */
int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--large")) {
        static const struct CMUnitTest large[] = {cmocka_unit_test_setup_teardown(test_large, tu_test_setup, tu_test_teardown)};
        return tu_exit(cmocka_run_group_tests(large, tu_group_setup, tu_group_teardown));
    }
    static const struct CMUnitTest host[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_permutation),
        cmocka_unit_test(test_bad_args),
    };
    int rc = cmocka_run_group_tests(host, NULL, NULL);
    if (rc) return rc; /* before the device group, which exits 77 without a device */
    static const struct CMUnitTest dev[] = {
        cmocka_unit_test_setup_teardown(test_refusals, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_matvec, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_mul_mat_id, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_gateup, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(dev, tu_group_setup, tu_group_teardown));
}
