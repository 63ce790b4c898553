/* test_op_ssm_conv.c — vk_op_ssm_conv (depthwise causal conv1d with state) against
 * ref_ssm_conv: awkward channel counts and token counts (fewer tokens than the kernel's
 * left context included), K = 2..5, with and without SiLU, a strided input view (rows
 * of a wider projection), in place, and a prefill split into pieces (the state carries
 * the left context across calls: the pieces give the whole sequence's output). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

/* x [T][C] as a view with rows `pad` floats longer than C */
static void run_case(int64_t C, int64_t T, int64_t K, int silu, int64_t pad, int in_place) {
    float *x = malloc(C * T * 4), *w = malloc(C * K * 4), *st = malloc(C * (K - 1) * 4), *st_ref = malloc(C * (K - 1) * 4);
    float *ref = malloc(C * T * 4), *got = malloc(C * T * 4), *st_got = malloc(C * (K - 1) * 4);
    tu_fill(x, C * T, -2, 2);
    tu_fill(w, C * K, -1, 1);
    tu_fill(st, C * (K - 1), -2, 2);
    memcpy(st_ref, st, C * (K - 1) * 4);
    ref_ssm_conv(ref, x, w, st_ref, C, T, K, silu);
    tu_tensor tx = tu_upload_padded(x, C, T, 1, 1, pad), ty = tu_upload_padded(NULL, C, T, 1, 1, pad + 3);
    tu_tensor tw = tu_upload(MVK_TYPE_F32, K, C, 1, 1, w), ts = tu_upload(MVK_TYPE_F32, K - 1, C, 1, 1, st);
    const tu_tensor *out = in_place ? &tx : &ty;
    vk_stream *s = tu_begin();
    TU_OK(vk_op_ssm_conv(s, &out->t, &tx.t, &tw.t, &ts.t, silu));
    tu_end_submit(s);
    tu_download_padded(out, got, C, T, in_place ? pad : pad + 3);
    tu_download(&ts, st_got, C * (K - 1) * 4);
    char label[128];
    snprintf(label, sizeof label, "ssm_conv C %lld T %lld K %lld silu %d pad %lld%s", (long long)C, (long long)T, (long long)K, silu,
             (long long)pad, in_place ? " in place" : "");
    tu_assert_nmse(label, ref, got, C * T, 1e-10);
    /* the new state is a copy of inputs (or of old state): exact */
    if (memcmp(st_ref, st_got, C * (K - 1) * 4)) fail_msg("%s: state differs", label);
    printf("%-60s nmse %.2e\n", label, tu_nmse(ref, got, C * T));
    tu_free(&tx); tu_free(&ty); tu_free(&tw); tu_free(&ts);
    free(x); free(w); free(st); free(st_ref); free(ref); free(got); free(st_got);
}

static void test_ssm_conv_shapes(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++)
        for (int64_t K = 2; K <= 5; K++) {
            run_case(tu_awkward[i], 1, K, 1, 0, 0);           /* decode */
            run_case(tu_awkward[i], tu_awkward[(i + 1) % 4], K, i & 1, 0, 0);
        }
    run_case(65, 2, 4, 1, 0, 0);   /* workgroup + 1 channels, T < K-1 */
    run_case(200, 67, 4, 1, 5, 0); /* strided rows */
    run_case(33, 9, 4, 1, 2, 1);   /* in place */
    run_case(40, 20, 16, 1, 0, 0); /* the largest kernel */
}

/* Prefill in pieces of 1, 2 and 5 tokens equals one call over all 8, state included. */
static void test_ssm_conv_pieces(void **state) {
    (void)state;
    const int64_t C = 37, K = 4, T = 8;
    const int64_t piece[3] = {1, 2, 5};
    float *x = malloc(C * T * 4), *w = malloc(C * K * 4), *st = calloc(C * (K - 1), 4), *ref = malloc(C * T * 4), *got = malloc(C * T * 4);
    float *st_got = malloc(C * (K - 1) * 4);
    tu_fill(x, C * T, -2, 2);
    tu_fill(w, C * K, -1, 1);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, C, T, 1, 1, x), ty = tu_upload(MVK_TYPE_F32, C, T, 1, 1, NULL);
    tu_tensor tw = tu_upload(MVK_TYPE_F32, K, C, 1, 1, w), ts = tu_upload(MVK_TYPE_F32, K - 1, C, 1, 1, st);
    ref_ssm_conv(ref, x, w, st, C, T, K, 1);
    vk_stream *s = tu_begin();
    for (int64_t p = 0, t0 = 0; p < 3; t0 += piece[p++]) {
        int64_t ne[4] = {C, piece[p], 1, 1}, nb[4] = {4, C * 4, C * 4 * piece[p], C * 4 * piece[p]};
        mvk_tensor xv = mvk_tensor_view(&tx.t, t0 * C * 4, ne, nb), yv = mvk_tensor_view(&ty.t, t0 * C * 4, ne, nb);
        TU_OK(vk_op_ssm_conv(s, &yv, &xv, &tw.t, &ts.t, 1));
    }
    tu_end_submit(s);
    tu_download(&ty, got, C * T * 4);
    tu_download(&ts, st_got, C * (K - 1) * 4);
    tu_assert_nmse("ssm_conv prefill in pieces", ref, got, C * T, 1e-10);
    assert_memory_equal(st, st_got, C * (K - 1) * 4);
    tu_free(&tx); tu_free(&ty); tu_free(&tw); tu_free(&ts);
    free(x); free(w); free(st); free(ref); free(got); free(st_got);
}

static void test_ssm_conv_bad_input(void **state) {
    (void)state;
    mvk_tensor *x = tu_shape(MVK_TYPE_F32, 8, 3, 1, 1), *x3 = tu_shape(MVK_TYPE_F32, 8, 3, 2, 1);
    mvk_tensor *w = tu_shape(MVK_TYPE_F32, 4, 8, 1, 1), *w1 = tu_shape(MVK_TYPE_F32, 1, 8, 1, 1), *w7 = tu_shape(MVK_TYPE_F32, 4, 7, 1, 1);
    mvk_tensor *st = tu_shape(MVK_TYPE_F32, 3, 8, 1, 1), *st2 = tu_shape(MVK_TYPE_F32, 2, 8, 1, 1);
    mvk_tensor *y2 = tu_shape(MVK_TYPE_F32, 8, 2, 1, 1), *h = tu_shape(MVK_TYPE_F16, 8, 3, 1, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_ssm_conv(s, y2, x, w, st, 1), MOEVK_ERR_SHAPE, "vk_op_ssm_conv");
    TU_REFUSES(vk_op_ssm_conv(s, x3, x3, w, st, 1), MOEVK_ERR_SHAPE, "2-D");
    TU_REFUSES(vk_op_ssm_conv(s, x, x, w1, st, 1), MOEVK_ERR_SHAPE, "kernel size");
    TU_REFUSES(vk_op_ssm_conv(s, x, x, w7, st, 1), MOEVK_ERR_SHAPE, "w must");
    TU_REFUSES(vk_op_ssm_conv(s, x, x, w, st2, 1), MOEVK_ERR_SHAPE, "state");
    TU_REFUSES(vk_op_ssm_conv(s, x, h, w, st, 1), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_ssm_conv(s, x, x, w, NULL, 1), MOEVK_ERR_INVALID_ARG, "state");
    TU_REFUSES(vk_op_ssm_conv(NULL, x, x, w, st, 1), MOEVK_ERR_INVALID_ARG, NULL);
    tu_bad_end(s);
}

int main(void) {
    tu_seed(17);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ssm_conv_shapes, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_ssm_conv_pieces, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_ssm_conv_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
