/* test_op_quant_large.c — quantised tensors larger than the device's
 * storage-buffer range (128 MiB on lavapipe), which the weight ops process in
 * expert / row ranges, one binding each:
 *   a Q4_K expert tensor [2048][768][160] (141 MB: the real model's
 *     ffn_*_exps shape with more experts) in mul_mat_id decode and prefill,
 *     routed to experts on both sides of every range boundary;
 *   a Q6_K output-like matrix [2048][81000] (136 MB: Q4_K_M's output.weight
 *     type) in the decode mat-vec and get_rows, rows near both ends.
 * NMSE <= 1e-7 against the f32 reference on the dequantised weights;
 * get_rows bit-identical. On a device whose range holds them the ops run
 * unsplit (a note says so). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"
#include "tu_quant.h"

static void test_experts_q4_k(void **state) {
    (void)state;
    const int64_t K = 2048, N = 768, E = 160, k = 8;
    const mvk_type t = MVK_TYPE_Q4_K;
    int64_t rowb = mvk_row_bytes(t, K), nb = K / 256 * N * E;
    uint64_t bytes = (uint64_t)mvk_dev_row_bytes(t, K) * (uint64_t)(N * E);
    if (bytes <= vk_ctx_info(tu_vk)->max_storage_buffer_range)
        fprintf(stderr, "note: %llu bytes fit this device's storage-buffer range: no range split exercised\n", (unsigned long long)bytes);
    uint8_t *blk = malloc((size_t)(nb * 144));
    assert_non_null(blk);
    tu_rand_blocks(t, blk, nb, 77);
    tu_tensor tw = tu_upload(t, K, N, E, 1, blk);
    float *wexp = malloc((size_t)(K * N) * 4);
    for (int pass = 0; pass < 2; pass++) {
        const int64_t T = pass ? 9 : 2; /* decode mat-vec, then grouped GEMM */
        int32_t ids[9 * 8];
        for (int64_t tt = 0; tt < T; tt++)
            for (int64_t j = 0; j < k; j++) ids[tt * k + j] = (int32_t)((j * 20 + tt * 3 + (j & 1 ? E - 1 - 2 * j : 0)) % E);
        for (int64_t tt = 0; tt < T; tt++) /* distinct experts per token */
            for (int64_t j = 1; j < k; j++)
                for (int64_t i = 0; i < j; i++)
                    if (ids[tt * k + i] == ids[tt * k + j]) ids[tt * k + j] = (ids[tt * k + j] + 1) % (int32_t)E, i = -1;
        ids[0] = (int32_t)(E - 1);
        float *x = malloc((size_t)(K * T) * 4), *ref = malloc((size_t)(N * k * T) * 4), *got = malloc((size_t)(N * k * T) * 4);
        tu_fill(x, K * T, -1, 1);
        for (int64_t e = 0; e < E; e++) { /* reference: each used expert dequantised once */
            int used = 0;
            for (int64_t i = 0; i < k * T; i++) used |= ids[i] == e;
            if (!used) continue;
            mvk_dequantize_row(t, blk + e * N * rowb, wexp, K * N);
            for (int64_t i = 0; i < k * T; i++)
                if (ids[i] == e) ref_matmul(ref + i * N, x + (i / k) * K, wexp, NULL, 1, N, K);
        }
        tu_tensor tx = tu_upload(MVK_TYPE_F32, K, T, 1, 1, x), ti = tu_upload(MVK_TYPE_I32, k, T, 1, 1, ids);
        tu_tensor ty = tu_upload(MVK_TYPE_F32, N, k, T, 1, NULL);
        vk_stream *s = tu_begin();
        TU_OK(vk_op_mul_mat_id(s, &ty.t, &tx.t, &tw.t, &ti.t));
        tu_end_submit(s);
        tu_download(&ty, got, (uint64_t)(N * k * T) * 4);
        char label[96];
        snprintf(label, sizeof label, "mul_mat_id q4_K K=2048 N=768 E=160 (%llu bytes) T=%lld", (unsigned long long)bytes, (long long)T);
        tu_assert_nmse(label, ref, got, N * k * T, 1e-7);
        fprintf(stderr, "%s: nmse %.3e\n", label, tu_nmse(ref, got, N * k * T));
        tu_free(&tx); tu_free(&ti); tu_free(&ty);
        free(x); free(ref); free(got);
    }
    tu_free(&tw);
    free(blk); free(wexp);
}

static void test_output_q6_k(void **state) {
    (void)state;
    const int64_t K = 2048, N = 81000;
    const mvk_type t = MVK_TYPE_Q6_K;
    int64_t nb = K / 256 * N;
    uint64_t bytes = (uint64_t)mvk_dev_row_bytes(t, K) * (uint64_t)N;
    if (bytes <= vk_ctx_info(tu_vk)->max_storage_buffer_range)
        fprintf(stderr, "note: %llu bytes fit this device's storage-buffer range: no range split exercised\n", (unsigned long long)bytes);
    uint8_t *blk = malloc((size_t)(nb * 210));
    float *wd = malloc((size_t)(K * N) * 4), *x = malloc((size_t)K * 4);
    float *ref = malloc((size_t)N * 4), *got = malloc((size_t)N * 4);
    assert_true(blk && wd && x && ref && got);
    tu_rand_blocks(t, blk, nb, 99);
    mvk_dequantize_row(t, blk, wd, K * N);
    tu_fill(x, K, -1, 1);
    ref_matmul(ref, x, wd, NULL, 1, N, K);
    tu_tensor tw = tu_upload(t, K, N, 1, 1, blk), tx = tu_upload(MVK_TYPE_F32, K, 1, 1, 1, x);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, N, 1, 1, 1, NULL);
    const int32_t ids[4] = {0, (int32_t)(N - 1), 60000, 1};
    float rrows[4 * 2048], grows[4 * 2048];
    ref_get_rows(rrows, wd, K, N, ids, 4);
    tu_tensor ti = tu_upload(MVK_TYPE_I32, 4, 1, 1, 1, ids), tr = tu_upload(MVK_TYPE_F32, K, 4, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_matmul(s, &ty.t, &tx.t, &tw.t, NULL));
    TU_OK(vk_op_get_rows(s, &tr.t, &tw.t, &ti.t));
    tu_end_submit(s);
    tu_download(&ty, got, (uint64_t)N * 4);
    tu_download(&tr, grows, sizeof grows);
    tu_assert_nmse("matmul q6_K M=1 K=2048 N=81000", ref, got, N, 1e-7);
    fprintf(stderr, "matmul q6_K M=1 K=2048 N=81000 (%llu bytes): nmse %.3e\n", (unsigned long long)bytes, tu_nmse(ref, got, N));
    int64_t d = tu_first_bit_diff(rrows, grows, 4 * K);
    if (d >= 0) fail_msg("get_rows q6_K [2048][81000]: element %lld differs: ref %.9g got %.9g", (long long)d, (double)rrows[d], (double)grows[d]);
    tu_free(&tw); tu_free(&tx); tu_free(&ty); tu_free(&ti); tu_free(&tr);
    free(blk); free(wd); free(x); free(ref); free(got);
}

int main(void) {
    /* f32 x throughout: these compare against the f32 reference at NMSE 1e-7 (and paths bit for bit); the
     * lane mat-vec's int8 x (MOEVK_LANE_XQ, on by default on CPU devices) and the lane GEMM's (MOEVK_GEMM_XQ, Q4_K)
     * are test_op_quant_x's */
    setenv("MOEVK_LANE_XQ", "0", 1);
    setenv("MOEVK_GEMM_XQ", "0", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_experts_q4_k, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_output_q6_k, tu_test_setup, tu_test_teardown),
    };
    return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
