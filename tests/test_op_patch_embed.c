/* test_op_patch_embed.c — vk_op_im2col against ref_im2col (exact), and
 * vk_op_patch_embed (im2col + matmul) against a direct convolution
 * (ref_conv2d_patch, double): F32 kernels at 1e-7 NMSE, F16 kernels at 5e-4
 * against the convolution with the f16-rounded kernel (what the device sees). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

static double g_worst[2];

static void im2col_case(int64_t W, int64_t H, int64_t C, int p, int64_t img_pad) {
    int64_t gx = W / p, gy = H / p, np = gx * gy, K = (int64_t)p * p * C;
    int64_t n = W * H * C;
    float *img = malloc((size_t)n * 4), *ref = malloc((size_t)(K * np) * 4), *got = malloc((size_t)(K * np) * 4);
    tu_fill(img, n, -1, 1);
    ref_im2col(ref, img, W, H, C, p);
    /* the image as a view with rows img_pad floats longer */
    tu_tensor ti = tu_upload_padded(img, W, H, C, 1, img_pad);
    tu_tensor tc = tu_upload(MVK_TYPE_F32, K, np, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_im2col(s, &tc.t, &ti.t, p));
    tu_end_submit(s);
    tu_download(&tc, got, (uint64_t)(K * np) * 4);
    if (memcmp(ref, got, (size_t)(K * np) * 4) != 0)
        fail_msg("im2col %lldx%lldx%lld p %d: differs from ref_im2col", (long long)W, (long long)H, (long long)C, p);
    tu_free(&ti); tu_free(&tc);
    free(img); free(ref); free(got);
}

static void test_im2col(void **state) {
    (void)state;
    im2col_case(32, 32, 3, 16, 0);
    im2col_case(64, 96, 3, 16, 5);
    im2col_case(48, 16, 3, 16, 0);
    im2col_case(40, 20, 3, 16, 0); /* W, H not multiples of p: the remainder is dropped */
    for (int i = 0; i < 4; i++) {
        int64_t a = tu_awkward[i];
        im2col_case(a, 7, 2, 1, 1);  /* p = 1 */
        im2col_case(a * 2, 14, 1, 2, 0);
    }
    im2col_case(257, 3, 1, 1, 0);    /* workgroup size + 1 elements per row */
}

/* two: vk_op_patch_embed2, a second kernel w1 on the same patches (one im2col, the second product added in its store) */
static void embed_case2(int64_t W, int64_t H, int64_t C, int p, int64_t OC, mvk_type wt, int with_bias, int two) {
    int64_t gx = W / p, gy = H / p, np = gx * gy, K = (int64_t)p * p * C;
    float *img = malloc((size_t)(W * H * C) * 4), *w = malloc((size_t)(K * OC) * 4), *wd = malloc((size_t)(K * OC) * 4);
    float *bias = malloc((size_t)OC * 4), *ref = malloc((size_t)(OC * np) * 4), *got = malloc((size_t)(OC * np) * 4);
    tu_fill(img, W * H * C, -1, 1);
    tu_fill(w, K * OC, -0.05f, 0.05f);
    tu_fill(bias, OC, -0.5f, 0.5f);
    tu_round_through(wt, w, wd, K * OC); /* the kernel as the device sees it */
    ref_conv2d_patch(ref, img, W, H, C, wd, p, OC, with_bias ? bias : NULL);
    float *w1 = malloc((size_t)(K * OC) * 4), *ref1 = malloc((size_t)(OC * np) * 4);
    tu_fill(w1, K * OC, -0.05f, 0.05f);
    if (two) {
        float *w1d = malloc((size_t)(K * OC) * 4);
        tu_round_through(wt, w1, w1d, K * OC);
        ref_conv2d_patch(ref1, img, W, H, C, w1d, p, OC, NULL);
        for (int64_t i = 0; i < OC * np; i++) ref[i] += ref1[i];
        free(w1d);
    }
    tu_tensor tw1 = tu_upload_as(wt, p, p, C, OC, w1);
    tu_tensor ti = tu_upload(MVK_TYPE_F32, W, H, C, 1, img);
    tu_tensor tw = tu_upload_as(wt, p, p, C, OC, w);
    tu_tensor tb = tu_upload(MVK_TYPE_F32, OC, 1, 1, 1, bias);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, OC, np, 1, 1, NULL);
    vk_stream *s = tu_begin();
    if (two) TU_OK(vk_op_patch_embed2(s, &ty.t, &ti.t, &tw.t, &tw1.t, with_bias ? &tb.t : NULL));
    else TU_OK(vk_op_patch_embed(s, &ty.t, &ti.t, &tw.t, with_bias ? &tb.t : NULL));
    tu_end_submit(s);
    tu_download(&ty, got, (uint64_t)(OC * np) * 4);
    char label[160];
    snprintf(label, sizeof label, "patch_embed%s %s img %lldx%lldx%lld p %d OC %lld%s", two ? "2" : "", mvk_type_name(wt), (long long)W,
             (long long)H, (long long)C, p, (long long)OC, with_bias ? " +bias" : "");
    double tol = wt == MVK_TYPE_F32 ? 1e-7 : 5e-4;
    double e = tu_nmse(ref, got, OC * np);
    int k = wt == MVK_TYPE_F32 ? 0 : 1;
    if (e > g_worst[k]) g_worst[k] = e;
    tu_assert_nmse(label, ref, got, OC * np, tol);
    tu_free(&ti); tu_free(&tw); tu_free(&tw1); tu_free(&tb); tu_free(&ty);
    free(img); free(w); free(wd); free(bias); free(ref); free(got); free(w1); free(ref1);
}

static void embed_case(int64_t W, int64_t H, int64_t C, int p, int64_t OC, mvk_type wt, int with_bias) {
    embed_case2(W, H, C, p, OC, wt, with_bias, 0);
}

static void test_patch_embed(void **state) {
    (void)state;
    for (int t = 0; t < 2; t++) {
        mvk_type wt = t ? MVK_TYPE_F16 : MVK_TYPE_F32;
        embed_case(32, 32, 3, 16, 64, wt, 1);   /* 4 patches: mat-vec path */
        embed_case(64, 96, 3, 16, 64, wt, 1);   /* 24 patches: tiled path */
        embed_case(48, 16, 3, 16, 1152, wt, 1); /* Qwen3-VL ViT width */
        embed_case(64, 96, 3, 16, 257, wt, 0);
        embed_case(144, 144, 3, 16, 33, wt, 1); /* 81 patches */
        for (int i = 0; i < 4; i++) embed_case(32, 48, 3, 16, tu_awkward[i], wt, 1);
        embed_case(14, 21, 2, 7, 7, wt, 1);     /* another p, C */
        embed_case2(32, 32, 3, 16, 64, wt, 1, 1);   /* two kernels: mat-vec path (separate add) */
        embed_case2(64, 96, 3, 16, 64, wt, 1, 1);   /* the goldens' image: lane GEMM, added in its store */
        embed_case2(144, 144, 3, 16, 33, wt, 0, 1);
    }
    fprintf(stderr, "patch_embed worst nmse: f32 kernel %.3e (tol 1e-7), f16 kernel %.3e (tol 5e-4)\n", g_worst[0], g_worst[1]);
}

static void test_bad_input(void **state) {
    (void)state;
    mvk_tensor *img = tu_shape(MVK_TYPE_F32, 32, 32, 3, 1);
    mvk_tensor *w = tu_shape(MVK_TYPE_F32, 16, 16, 3, 8), *w4 = tu_shape(MVK_TYPE_F32, 16, 16, 4, 8);
    mvk_tensor *wq = tu_shape(MVK_TYPE_Q8_0, 32, 8, 3, 8), *wr = tu_shape(MVK_TYPE_F32, 16, 8, 3, 8);
    mvk_tensor *y = tu_shape(MVK_TYPE_F32, 8, 4, 1, 1), *y5 = tu_shape(MVK_TYPE_F32, 8, 5, 1, 1);
    mvk_tensor *b = tu_shape(MVK_TYPE_F32, 7, 1, 1, 1);
    mvk_tensor *cols = tu_shape(MVK_TYPE_F32, 768, 4, 1, 1), *small = tu_shape(MVK_TYPE_F32, 8, 8, 3, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_patch_embed(s, y5, img, w, NULL), MOEVK_ERR_SHAPE, "vk_op_patch_embed");
    TU_REFUSES(vk_op_patch_embed(s, y, img, w4, NULL), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_patch_embed(s, y, img, wq, NULL), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_patch_embed(s, y, img, wr, NULL), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_patch_embed(s, y, img, w, b), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_patch_embed(s, y, small, w, NULL), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_patch_embed(s, y, img, NULL, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_im2col(s, cols, img, 0), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_im2col(s, cols, img, 8), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_im2col(s, y, img, 16), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_im2col(NULL, cols, img, 16), MOEVK_ERR_INVALID_ARG, NULL);
    vk_stream *ok = tu_begin(); /* and the right shapes work */
    TU_OK(vk_op_im2col(ok, cols, img, 16));
    tu_end_submit(ok);
    tu_bad_end(s);
}

int main(void) {
    tu_seed(7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_im2col, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_patch_embed, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
