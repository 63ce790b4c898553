/* test_op_binary.c — vk_op_add / vk_op_mul against ref_add / ref_mul. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

static void run_case(int mul, const int64_t ane[4], const int64_t bne[4]) {
    int64_t na = ane[0] * ane[1] * ane[2] * ane[3], nb = bne[0] * bne[1] * bne[2] * bne[3];
    float *a = malloc(na * 4), *b = malloc(nb * 4), *ref = malloc(na * 4), *got = malloc(na * 4);
    tu_fill(a, na, -2, 2);
    tu_fill(b, nb, -2, 2);
    (mul ? ref_mul : ref_add)(ref, a, ane, b, bne);
    tu_tensor ta = tu_upload(MVK_TYPE_F32, ane[0], ane[1], ane[2], ane[3], a);
    tu_tensor tb = tu_upload(MVK_TYPE_F32, bne[0], bne[1], bne[2], bne[3], b);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, ane[0], ane[1], ane[2], ane[3], NULL);
    vk_stream *s = tu_begin();
    TU_OK((mul ? vk_op_mul : vk_op_add)(s, &ty.t, &ta.t, &tb.t));
    tu_end_submit(s);
    tu_download(&ty, got, na * 4);
    char label[128];
    snprintf(label, sizeof label, "%s a[%lld,%lld,%lld] b[%lld,%lld,%lld]", mul ? "mul" : "add", (long long)ane[0],
             (long long)ane[1], (long long)ane[2], (long long)bne[0], (long long)bne[1], (long long)bne[2]);
    tu_assert_nmse(label, ref, got, na, 1e-7);
    tu_free(&ta); tu_free(&tb); tu_free(&ty);
    free(a); free(b); free(ref); free(got);
}

static void test_add_same_shape(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++) {
        int64_t n = tu_awkward[i];
        int64_t ne[4] = {n, 3, 2, 1};
        run_case(0, ne, ne);
        run_case(1, ne, ne);
    }
    int64_t big[4] = {257, 5, 1, 1}; /* workgroup size + 1 */
    run_case(0, big, big);
    int64_t rows[4] = {1000, 3, 2, 1}; /* a row over four workgroups (binary.comp covers rows in workgroup chunks) */
    run_case(1, rows, rows);
}

static void test_broadcast_rows(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++) {
        int64_t n = tu_awkward[i];
        int64_t ane[4] = {n, 33, 1, 1}, bne[4] = {n, 1, 1, 1};
        run_case(0, ane, bne);
        run_case(1, ane, bne);
    }
    int64_t ane[4] = {7, 4, 6, 2}, bne[4] = {7, 1, 3, 1};
    run_case(1, ane, bne);
    int64_t lane[4] = {1000, 3, 1, 1}, lbne[4] = {250, 1, 1, 1}; /* b's row repeats within a's, across workgroups */
    run_case(0, lane, lbne);
}

static void test_bad_shapes(void **state) {
    (void)state;
    mvk_tensor *a = tu_shape(MVK_TYPE_F32, 8, 3, 1, 1), *b = tu_shape(MVK_TYPE_F32, 3, 1, 1, 1);
    mvk_tensor *h = tu_shape(MVK_TYPE_F16, 8, 3, 1, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_add(s, a, a, b), MOEVK_ERR_SHAPE, "broadcast");
    TU_REFUSES(vk_op_add(s, a, a, h), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_add(s, a, NULL, a), MOEVK_ERR_INVALID_ARG, NULL);
    tu_bad_end(s);
}

int main(void) {
    tu_seed(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_same_shape, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_broadcast_rows, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_shapes, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
