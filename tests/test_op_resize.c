/* test_op_resize.c — vk_op_resize_bilinear against ref_resize_bilinear
 * (double) for images (axis0 = 0) and position tables (axis0 = 1), both
 * coordinate conventions, up and down, sizes 1 / 7 / 33 / 127 and
 * workgroup + 1; plus analytic checks that hold for any bilinear resize:
 * same-size half-pixel is the identity, and a function linear in the two
 * axes is reproduced at the mapped coordinates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

static double g_worst;

static int64_t nel(const int64_t ne[4]) { return ne[0] * ne[1] * ne[2] * ne[3]; }

/* Runs the op on contiguous x (or, with pad, x as a view whose rows are pad longer). */
static void run_dev(float *got, const float *x, const int64_t xne[4], const int64_t yne[4], int axis0, int align, int64_t pad) {
    tu_tensor tx = tu_upload_padded(x, xne[0], xne[1], xne[2], xne[3], pad);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, yne[0], yne[1], yne[2], yne[3], NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_resize_bilinear(s, &ty.t, &tx.t, axis0, align));
    tu_end_submit(s);
    tu_download(&ty, got, (uint64_t)nel(yne) * 4);
    tu_free(&tx); tu_free(&ty);
}

static void resize_case(const int64_t xne[4], const int64_t yne[4], int axis0, int align, int64_t pad) {
    float *x = malloc((size_t)nel(xne) * 4), *ref = malloc((size_t)nel(yne) * 4), *got = malloc((size_t)nel(yne) * 4);
    tu_fill(x, nel(xne), -2, 2);
    ref_resize_bilinear(ref, yne, x, xne, axis0, align);
    run_dev(got, x, xne, yne, axis0, align, pad);
    char label[200];
    snprintf(label, sizeof label, "resize [%lld,%lld,%lld,%lld] -> [%lld,%lld,%lld,%lld] axis0 %d %s pad %lld", (long long)xne[0],
             (long long)xne[1], (long long)xne[2], (long long)xne[3], (long long)yne[0], (long long)yne[1], (long long)yne[2],
             (long long)yne[3], axis0, align ? "align_corners" : "half_pixel", (long long)pad);
    double e = tu_nmse(ref, got, nel(yne));
    if (e > g_worst) g_worst = e;
    tu_assert_nmse(label, ref, got, nel(yne), 1e-7);
    free(x); free(ref); free(got);
}

static void test_images(void **state) {
    (void)state;
    for (int align = 0; align < 2; align++) {
        for (int i = 0; i < 4; i++) {
            int64_t a = tu_awkward[i];
            int64_t xne[4] = {a, 7, 3, 1}, yne[4] = {33, a, 3, 1};
            resize_case(xne, yne, 0, align, 0);
            resize_case(yne, xne, 0, align, 0);
        }
        int64_t x1[4] = {1, 1, 2, 1}, y1[4] = {5, 4, 2, 1}; /* in == 1 */
        resize_case(x1, y1, 0, align, 0);
        resize_case(y1, x1, 0, align, 0);                     /* out == 1 */
        int64_t xb[4] = {257, 3, 1, 1}, yb[4] = {129, 2, 1, 1}; /* workgroup + 1 */
        resize_case(xb, yb, 0, align, 0);
        int64_t xs[4] = {20, 13, 3, 2}, ys[4] = {31, 9, 3, 2};  /* strided x, 4-D */
        resize_case(xs, ys, 0, align, 3);
    }
}

static void test_position_table(void **state) {
    (void)state;
    for (int align = 0; align < 2; align++) {
        int64_t xne[4] = {64, 48, 48, 1};
        int64_t y1[4] = {64, 32, 24, 1}, y2[4] = {64, 7, 127, 1}, y3[4] = {64, 48, 48, 1}, y4[4] = {64, 1, 33, 1};
        resize_case(xne, y1, 1, align, 0);
        resize_case(xne, y2, 1, align, 0);
        resize_case(xne, y3, 1, align, 0);
        resize_case(xne, y4, 1, align, 2);
    }
    int64_t xq[4] = {1152, 48, 48, 1}, yq[4] = {1152, 20, 30, 1}; /* Qwen3-VL ViT width */
    resize_case(xq, yq, 1, 0, 0);
    fprintf(stderr, "resize worst nmse %.3e (tol 1e-7)\n", g_worst);
}

/* Checks that need no reference implementation. */
static void test_analytic(void **state) {
    (void)state;
    /* half-pixel, same size: identity, bit-exact */
    int64_t ne[4] = {17, 9, 3, 1};
    float *x = malloc((size_t)nel(ne) * 4), *got = malloc((size_t)nel(ne) * 4);
    tu_fill(x, nel(ne), -1, 1);
    run_dev(got, x, ne, ne, 0, 0, 0);
    assert_memory_equal(x, got, (size_t)nel(ne) * 4);
    run_dev(got, x, ne, ne, 0, 1, 0);
    assert_memory_equal(x, got, (size_t)nel(ne) * 4);
    free(x); free(got);
    /* v(i, j) = 3i - 2j + c: bilinear interpolation reproduces it at the source coordinates */
    for (int align = 0; align < 2; align++) {
        int64_t xne[4] = {2, 11, 6, 1}, yne[4] = {2, 23, 4, 1}; /* axis0 = 1 */
        float *lx = malloc((size_t)nel(xne) * 4), *ly = malloc((size_t)nel(yne) * 4);
        for (int64_t j = 0; j < xne[2]; j++)
            for (int64_t i = 0; i < xne[1]; i++)
                for (int64_t c = 0; c < 2; c++) lx[(j * xne[1] + i) * 2 + c] = (float)(3 * i - 2 * j + c);
        run_dev(ly, lx, xne, yne, 1, align, 0);
        for (int64_t j = 0; j < yne[2]; j++)
            for (int64_t i = 0; i < yne[1]; i++)
                for (int64_t c = 0; c < 2; c++) {
                    double si, sj;
                    if (align) {
                        si = (double)i * (xne[1] - 1) / (yne[1] - 1);
                        sj = (double)j * (xne[2] - 1) / (yne[2] - 1);
                    } else {
                        si = fmin(fmax((i + 0.5) * xne[1] / yne[1] - 0.5, 0), xne[1] - 1);
                        sj = fmin(fmax((j + 0.5) * xne[2] / yne[2] - 0.5, 0), xne[2] - 1);
                    }
                    double want = 3 * si - 2 * sj + c, g = ly[(j * yne[1] + i) * 2 + c];
                    if (fabs(g - want) > 1e-5)
                        fail_msg("linear field %s at (%lld,%lld): got %g want %g", align ? "align" : "half", (long long)i,
                                 (long long)j, g, want);
                }
        free(lx); free(ly);
    }
}

static void test_bad_input(void **state) {
    (void)state;
    mvk_tensor *x = tu_shape(MVK_TYPE_F32, 8, 6, 3, 1), *y = tu_shape(MVK_TYPE_F32, 4, 4, 2, 1);
    mvk_tensor *yok = tu_shape(MVK_TYPE_F32, 4, 4, 3, 1), *h = tu_shape(MVK_TYPE_F16, 8, 6, 3, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_resize_bilinear(s, y, x, 0, 0), MOEVK_ERR_SHAPE, "vk_op_resize_bilinear");
    TU_REFUSES(vk_op_resize_bilinear(s, yok, x, 1, 0), MOEVK_ERR_SHAPE, NULL); /* axis 0 differs */
    TU_REFUSES(vk_op_resize_bilinear(s, yok, x, 3, 0), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_resize_bilinear(s, yok, x, -1, 0), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_resize_bilinear(s, yok, h, 0, 0), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_resize_bilinear(s, NULL, x, 0, 0), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_resize_bilinear(NULL, yok, x, 0, 0), MOEVK_ERR_INVALID_ARG, NULL);
    vk_stream *ok = tu_begin(); /* and the right shapes work */
    TU_OK(vk_op_resize_bilinear(ok, yok, x, 0, 1));
    tu_end_submit(ok);
    tu_bad_end(s);
}

int main(void) {
    tu_seed(11);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_images, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_position_table, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_analytic, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
