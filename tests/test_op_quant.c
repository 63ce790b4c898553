/* test_op_quant.c — every quantised weight type of the table
 * (mvk_type_table.h) in every weight op, on random ggml blocks repacked into
 * the device layout:
 *   get_rows: the dequantised rows are bit-identical to the CPU dequantiser
 *     (itself bit-identical to ggml's, test_quant_ggml), also for blocks
 *     whose f16 scales are Inf / NaN / subnormal (NaN matches NaN);
 *   matmul (tiled GEMM and mat-vec, vectorised and scalar loops) and
 *   mul_mat_id (decode mat-vec and grouped GEMM): NMSE <= 1e-7 against the
 *     f32 reference on the dequantised weights.
 * Shapes include 1, 7, 33, 127 and tile+1 (129 for the 128-wide CPU tiles,
 * 65 for the 64-wide GPU tiles); the other kernel styles (vk_op_mm.h) run
 * through MOEVK_MM_STYLE. MOEVK_TEST_QTYPE=q4_K runs one type only.
 * This file runs get_rows and matmul; test_op_quant_moe.c builds it with
 * TQ_MOE for mul_mat_id and the other styles (two ctest entries that fit the
 * per-test timeout and can run in parallel: lavapipe's shader compiles are
 * most of the time). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"
#include "tu_quant.h"

#define MAXT 32
static mvk_type types[MAXT];
static int n_types;
static double worst_mm[64];
#ifdef TQ_MOE
static double worst_id[64];
#endif

/* random weights [K][rows]: ggml blocks and their CPU dequantisation */
static uint8_t *make_w(mvk_type t, int64_t K, int64_t rows, uint64_t seed, float **wd) {
    uint8_t *blk = tu_quant_weights(t, K, rows, seed, wd);
    assert_non_null(blk);
    return blk;
}

#ifndef TQ_MOE
static void rows_case(mvk_type t, int64_t D, int64_t V, int64_t T, int specials) {
    float *wd;
    uint8_t *blk = make_w(t, D, V, (uint64_t)(D * 31 + V * 7 + T), &wd);
    if (specials) { /* Inf, NaN, subnormal f16 scales; MXFP4 exponents at the ends */
        const mvk_type_info *ti = mvk_type_get(t);
        static const uint16_t f16s[] = {0x7c00, 0xfc00, 0x7e00, 0x0001, 0x03ff, 0x0000};
        int64_t nb = D / ti->block_elems * V;
        for (int64_t b = 0; b < nb; b += 2) {
            uint8_t *p = blk + b * ti->block_bytes + ti->s_off;
            if (t == MVK_TYPE_MXFP4) {
                p[0] = (uint8_t)((b / 2) % 2 ? 254 : 2);
            } else {
                uint16_t h = f16s[(b / 2) % 6];
                p[0] = (uint8_t)h;
                p[1] = (uint8_t)(h >> 8);
            }
        }
        mvk_dequantize_row(t, blk, wd, D * V);
    }
    int32_t ids[64];
    for (int64_t i = 0; i < T; i++) ids[i] = (int32_t)((i * 5 + 3) % V);
    if (T > 2) ids[1] = -1, ids[T - 1] = (int32_t)V; /* out of range: zero rows */
    float *ref = malloc((size_t)(D * T) * 4), *got = malloc((size_t)(D * T) * 4);
    ref_get_rows(ref, wd, D, V, ids, T);
    tu_tensor tw = tu_upload(t, D, V, 1, 1, blk), ti_ = tu_upload(MVK_TYPE_I32, T, 1, 1, 1, ids);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, D, T, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_get_rows(s, &ty.t, &tw.t, &ti_.t));
    tu_end_submit(s);
    tu_download(&ty, got, (uint64_t)(D * T) * 4);
    int64_t d = tu_first_bit_diff(ref, got, D * T);
    if (d >= 0)
        fail_msg("get_rows %s D=%lld V=%lld T=%lld specials=%d: element %lld (row %lld col %lld): ref %.9g got %.9g", mvk_type_name(t),
                 (long long)D, (long long)V, (long long)T, specials, (long long)d, (long long)(d / D), (long long)(d % D),
                 (double)ref[d], (double)got[d]);
    tu_free(&tw); tu_free(&ti_); tu_free(&ty);
    free(blk); free(wd); free(ref); free(got);
}

static void test_get_rows(void **state) {
    (void)state;
    for (int i = 0; i < n_types; i++) {
        mvk_type t = types[i];
        int64_t be = mvk_type_block_elems(t);
        rows_case(t, be, 1, 1, 0);
        rows_case(t, be, 7, 7, 0);
        rows_case(t, 2 * be, 33, 33, 0);
        rows_case(t, be == 32 ? 96 : 256, 127, 9, 0);
        rows_case(t, 2 * be, 16, 16, 1);
    }
}

#endif

static double mm_case(mvk_type t, int64_t M, int64_t N, int64_t K, int64_t x_pad) {
    float *wd, *x = malloc((size_t)((K + x_pad) * M) * 4);
    uint8_t *blk = make_w(t, K, N, (uint64_t)(M * 131 + N * 17 + K), &wd);
    tu_fill(x, (K + x_pad) * M, -1, 1);
    float *xc = malloc((size_t)(K * M) * 4), *ref = malloc((size_t)(N * M) * 4), *got = malloc((size_t)(N * M) * 4);
    for (int64_t m = 0; m < M; m++) memcpy(xc + m * K, x + m * (K + x_pad), (size_t)K * 4);
    ref_matmul(ref, xc, wd, NULL, M, N, K);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K + x_pad, M, 1, 1, x), tw = tu_upload(t, K, N, 1, 1, blk);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL);
    mvk_tensor xv = tx.t;
    xv.ne[0] = K; /* x rows of stride K + x_pad */
    vk_stream *s = tu_begin();
    TU_OK(vk_op_matmul(s, &ty.t, &xv, &tw.t, NULL));
    tu_end_submit(s);
    tu_download(&ty, got, (uint64_t)(N * M) * 4);
    char label[128];
    snprintf(label, sizeof label, "matmul %s M=%lld N=%lld K=%lld xpad=%lld", mvk_type_name(t), (long long)M, (long long)N,
             (long long)K, (long long)x_pad);
    tu_assert_nmse(label, ref, got, N * M, 1e-7);
    double e = tu_nmse(ref, got, N * M);
    tu_free(&tx); tu_free(&tw); tu_free(&ty);
    free(blk); free(wd); free(x); free(xc); free(ref); free(got);
    return e;
}

static void note(double *w, double e) {
    if (e > *w) *w = e;
}

#ifndef TQ_MOE
static void test_matmul(void **state) {
    (void)state;
    for (int i = 0; i < n_types; i++) {
        mvk_type t = types[i];
        int64_t be = mvk_type_block_elems(t), K2 = be == 32 ? 96 : 512;
        note(&worst_mm[i], mm_case(t, 1, 1, be, 0));     /* mat-vec */
        note(&worst_mm[i], mm_case(t, 1, 127, K2, 0));
        note(&worst_mm[i], mm_case(t, 7, 33, be, 0));
        note(&worst_mm[i], mm_case(t, 7, 7, K2, 1));     /* unaligned x rows */
        note(&worst_mm[i], mm_case(t, 33, 7, K2, 0));    /* tiled */
        note(&worst_mm[i], mm_case(t, 33, 129, be, 3));  /* 128-wide tile + 1, unaligned x rows */
        note(&worst_mm[i], mm_case(t, 129, 33, K2, 0));  /* 128-high tile + 1 */
        note(&worst_mm[i], mm_case(t, 9, 129, K2, 0));   /* CPU devices: the lane GEMM, TM + 1 rows, 8 lanes x TN + 1 */
    }
}

#endif

#ifdef TQ_MOE
/* ids_in: the routing ([k][T]), or NULL for a fixed pseudo-random one with distinct experts a token and the last entry invalid */
static double id_case_ids(mvk_type t, int64_t K, int64_t N, int64_t E, int64_t k, int64_t T, int per_slot, const int32_t *ids_in) {
    int64_t xrows = per_slot ? k * T : T;
    float *wd, *x = malloc((size_t)(K * xrows) * 4);
    uint8_t *blk = make_w(t, K, N * E, (uint64_t)(K + N * 3 + E * 5 + T * 7 + k), &wd);
    tu_fill(x, K * xrows, -1, 1);
    int32_t *ids = malloc((size_t)(k * T) * 4);
    if (ids_in) {
        memcpy(ids, ids_in, (size_t)(k * T) * 4);
    } else {
        for (int64_t tt = 0; tt < T; tt++)
            for (int64_t j = 0; j < k; j++) ids[tt * k + j] = (int32_t)((tt * 3 + j * 5 + (tt * tt) % 7) % E);
        for (int64_t tt = 0; tt < T; tt++) /* distinct experts per token */
            for (int64_t j = 1; j < k; j++)
                for (int64_t i = 0; i < j; i++)
                    if (ids[tt * k + i] == ids[tt * k + j]) ids[tt * k + j] = (ids[tt * k + j] + 1) % (int32_t)E, i = -1;
        if (T * k > 2) ids[T * k - 1] = -1; /* invalid: zero row */
    }
    float *ref = malloc((size_t)(N * k * T) * 4), *got = malloc((size_t)(N * k * T) * 4);
    ref_mul_mat_id(ref, x, per_slot, wd, ids, K, N, E, k, T);
    tu_tensor tx = per_slot ? tu_upload(MVK_TYPE_F32, K, k, T, 1, x) : tu_upload(MVK_TYPE_F32, K, T, 1, 1, x);
    tu_tensor tw = tu_upload(t, K, N, E, 1, blk), tid = tu_upload(MVK_TYPE_I32, k, T, 1, 1, ids);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, N, k, T, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_mul_mat_id(s, &ty.t, &tx.t, &tw.t, &tid.t));
    tu_end_submit(s);
    tu_download(&ty, got, (uint64_t)(N * k * T) * 4);
    char label[160];
    snprintf(label, sizeof label, "mul_mat_id %s K=%lld N=%lld E=%lld k=%lld T=%lld per_slot=%d", mvk_type_name(t), (long long)K,
             (long long)N, (long long)E, (long long)k, (long long)T, per_slot);
    tu_assert_nmse(label, ref, got, N * k * T, 1e-7);
    double e = tu_nmse(ref, got, N * k * T);
    tu_free(&tx); tu_free(&tw); tu_free(&tid); tu_free(&ty);
    free(blk); free(wd); free(x); free(ids); free(ref); free(got);
    return e;
}

static double id_case(mvk_type t, int64_t K, int64_t N, int64_t E, int64_t k, int64_t T, int per_slot) {
    return id_case_ids(t, K, N, E, k, T, per_slot, NULL);
}

/* Rows an expert of 1, 7, 0 (empty), 33 and 9 (the CPU lane GEMM's 8-row tile + 1, vk_op_mm.h mm_gemm_lane), k = 1, tokens
 * interleaved across the experts; N = 33 leaves a partial block of w rows. */
static double id_counts_case(mvk_type t, int64_t K) {
    enum { E = 5, T = 1 + 7 + 0 + 33 + 9 };
    static const int rows[E] = {1, 7, 0, 33, 9};
    int32_t ids[T];
    int left[E], n = 0;
    memcpy(left, rows, sizeof left);
    while (n < T)
        for (int e = E - 1; e >= 0; e--)
            if (left[e] > 0) left[e]--, ids[n++] = e;
    return id_case_ids(t, K, 33, E, 1, T, 0, ids);
}

static void test_mul_mat_id(void **state) {
    (void)state;
    for (int i = 0; i < n_types; i++) {
        mvk_type t = types[i];
        int64_t be = mvk_type_block_elems(t), K2 = be == 32 ? 64 : 256;
        note(&worst_id[i], id_case(t, K2, 33, 4, 2, 1, 0)); /* decode */
        note(&worst_id[i], id_case(t, be, 7, 5, 3, 7, 1));
        note(&worst_id[i], id_case(t, K2, 33, 4, 2, 9, 0)); /* grouped GEMM */
        note(&worst_id[i], id_case(t, be, 129, 3, 2, 33, 1));
        note(&worst_id[i], id_case(t, K2, 1, 6, 4, 127, 0));
        note(&worst_id[i], id_counts_case(t, K2));
    }
}

/* the GPU kernel shapes (64x64 tiles, 64-wide mat-vec, subgroup or
 * shared-memory reduction) on this device, the CPU style with the weight
 * kernels' storage-buffer reads (MOEVK_WTEX=0; by default lavapipe takes
 * their texel-buffer variants), then mul_mat_id's GEMM with matmul.comp's
 * texel variants (MOEVK_GEMM_LANE=0; by default the lane GEMM, which the
 * cases above run for every type), the dense GEMM's too (its default, the lane
 * GEMM, runs in test_op_quant), then the lane GEMM's rotating loop for both
 * (MOEVK_LANE_QUNR=0; by default the unrolled one). The kernels' loops and
 * reductions do not depend on the type (only wdeq32 does, covered above for
 * every type), so three types stand for all: lavapipe's shader compiles
 * are the cost. */
static void test_other_styles(void **state) {
    (void)state;
    const char *styles[5] = {"gpu", "gpu-nosg", "cpu", "cpu", "cpu"};
    for (int st = 0; st < 5; st++) {
        setenv("MOEVK_MM_STYLE", styles[st], 1);
        if (st == 2) setenv("MOEVK_WTEX", "0", 1); /* the weight kernels' storage-buffer reads */
        if (st == 3) { /* mul_mat_id's GEMM: matmul.comp's texel variants instead of the lane GEMM (matmul_lane.comp) */
            unsetenv("MOEVK_WTEX");
            setenv("MOEVK_GEMM_LANE", "0", 1);
        }
        if (st == 4) { /* the lane GEMM's rotating loop (vk_op_mm.h mm_lane_qunr), expert and dense GEMM */
            unsetenv("MOEVK_GEMM_LANE");
            setenv("MOEVK_LANE_QUNR", "0", 1);
        }
        for (int i = 0; i < n_types; i++) {
            mvk_type t = types[i];
            if (n_types > 3 && t != MVK_TYPE_Q8_0 && t != MVK_TYPE_Q4_K && t != MVK_TYPE_Q6_K) continue;
            int64_t be = mvk_type_block_elems(t);
            if (st < 3) { /* the mat-vecs do not read MOEVK_GEMM_LANE */
                note(&worst_mm[i], mm_case(t, 3, 33, 2 * be, 0));
                note(&worst_id[i], id_case(t, be, 33, 4, 2, 3, 0));
            }
            note(&worst_mm[i], mm_case(t, 65, 65, be, 0));
            note(&worst_id[i], id_case(t, be, 65, 4, 2, 33, 0));
            if (st >= 2) note(&worst_id[i], id_counts_case(t, be));
        }
    }
    unsetenv("MOEVK_MM_STYLE");
    unsetenv("MOEVK_WTEX");
    unsetenv("MOEVK_GEMM_LANE");
    unsetenv("MOEVK_LANE_QUNR");
}

#endif

#ifndef TQ_MOE
static void test_bad_input(void **state) {
    (void)state;
    tu_tensor x = tu_upload(MVK_TYPE_F32, 256, 3, 1, 1, NULL), w = tu_upload(MVK_TYPE_Q4_K, 256, 5, 1, 1, NULL);
    tu_tensor y = tu_upload(MVK_TYPE_F32, 5, 3, 1, 1, NULL);
    mvk_tensor wb = w.t; /* a q4_K view whose row is not a whole block */
    wb.ne[0] = 128;
    mvk_tensor wo = w.t; /* overlapping rows */
    wo.nb[1] = 16;
    mvk_tensor xb = x.t;
    xb.ne[0] = 128;
    vk_stream *s = tu_begin();
    assert_int_equal(vk_op_matmul(s, &y.t, &xb, &wb, NULL), MOEVK_ERR_SHAPE);
    assert_non_null(strstr(moevk_last_error(), "q4_K block"));
    assert_int_equal(vk_op_matmul(s, &y.t, &x.t, &wo, NULL), MOEVK_ERR_SHAPE);
    assert_non_null(strstr(moevk_last_error(), "overlap"));
    assert_int_equal(vk_stream_dispatch_count(s), 0);
    tu_end_submit(s);
    tu_free(&x); tu_free(&w); tu_free(&y);
}
#endif

static int report(void **state) {
    for (int i = 0; i < n_types; i++)
#ifdef TQ_MOE
        fprintf(stderr, "%-7s worst nmse: mul_mat_id %.3e, matmul (other styles) %.3e\n", mvk_type_name(types[i]), worst_id[i],
                worst_mm[i]);
#else
        fprintf(stderr, "%-7s worst nmse: matmul %.3e (get_rows bit-identical)\n", mvk_type_name(types[i]), worst_mm[i]);
#endif
    return tu_group_teardown(state);
}

int main(void) {
    /* f32 x throughout: these compare against the f32 reference at NMSE 1e-7 (and paths bit for bit); the
     * lane mat-vec's int8 x (MOEVK_LANE_XQ, on by default on CPU devices) and the lane GEMM's (MOEVK_GEMM_XQ, Q4_K)
     * are test_op_quant_x's */
    setenv("MOEVK_LANE_XQ", "0", 1);
    setenv("MOEVK_GEMM_XQ", "0", 1);
    n_types = tu_quant_types(types, MAXT);
    const char *only = getenv("MOEVK_TEST_QTYPE"); /* e.g. q4_K: one type (debugging) */
    if (only && only[0]) {
        int k = 0;
        for (int i = 0; i < n_types; i++)
            if (!strcmp(mvk_type_name(types[i]), only)) types[k++] = types[i];
        n_types = k;
    }
    const struct CMUnitTest tests[] = {
#ifdef TQ_MOE /* test_op_quant_moe.c: the MoE op and the other kernel styles */
        cmocka_unit_test_setup_teardown(test_mul_mat_id, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_other_styles, tu_test_setup, tu_test_teardown),
#else
        cmocka_unit_test_setup_teardown(test_get_rows, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_matmul, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
#endif
    };
    return cmocka_run_group_tests(tests, tu_group_setup, report);
}
