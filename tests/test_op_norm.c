/* test_op_norm.c — vk_op_rms_norm / vk_op_layer_norm / vk_op_l2_norm against ref_rms_norm /
 * ref_layer_norm / ref_l2_norm (F32, NMSE 1e-7), incl. a strided per-head view into a fused QKV
 * row and in-place use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

enum { K_RMS, K_LN, K_L2, K_COUNT };
static const char *k_names[K_COUNT] = {"rms_norm", "layer_norm", "l2_norm"};

static void run_case(int ln, int64_t ne0, int64_t ne1, int64_t ne2, int with_w, float eps) {
    int64_t n = ne0 * ne1 * ne2;
    float *x = malloc(n * 4), *w = malloc(ne0 * 4), *b = malloc(ne0 * 4), *ref = malloc(n * 4), *got = malloc(n * 4);
    tu_fill(x, n, -3, 5); /* non-zero mean exercises the LayerNorm centring */
    tu_fill(w, ne0, -2, 2);
    tu_fill(b, ne0, -1, 1);
    if (ln == K_LN) ref_layer_norm(ref, x, with_w ? w : NULL, with_w ? b : NULL, ne0, ne1 * ne2, eps);
    else if (ln == K_L2) ref_l2_norm(ref, x, with_w ? w : NULL, ne0, ne1 * ne2, eps);
    else ref_rms_norm(ref, x, with_w ? w : NULL, ne0, ne1 * ne2, eps);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, ne0, ne1, ne2, 1, x);
    tu_tensor tw = tu_upload(MVK_TYPE_F32, ne0, 1, 1, 1, w), tb = tu_upload(MVK_TYPE_F32, ne0, 1, 1, 1, b);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, ne0, ne1, ne2, 1, NULL);
    vk_stream *s = tu_begin();
    if (ln == K_LN) TU_OK(vk_op_layer_norm(s, &ty.t, &tx.t, with_w ? &tw.t : NULL, with_w ? &tb.t : NULL, eps));
    else if (ln == K_L2) TU_OK(vk_op_l2_norm(s, &ty.t, &tx.t, with_w ? &tw.t : NULL, eps));
    else TU_OK(vk_op_rms_norm(s, &ty.t, &tx.t, with_w ? &tw.t : NULL, eps));
    tu_end_submit(s);
    tu_download(&ty, got, n * 4);
    char label[128];
    snprintf(label, sizeof label, "%s w=%d [%lld,%lld,%lld]", k_names[ln], with_w, (long long)ne0,
             (long long)ne1, (long long)ne2);
    tu_assert_nmse(label, ref, got, n, 1e-7);
    printf("%-40s nmse %.2e\n", label, tu_nmse(ref, got, n));
    tu_free(&tx); tu_free(&tw); tu_free(&tb); tu_free(&ty);
    free(x); free(w); free(b); free(ref); free(got);
}

/* Both reductions on this device: the shared-memory tree (GPU style) and one
 * subgroup a row with subgroupAdd (CPU style, vk_op_norm.c), through
 * MOEVK_MM_STYLE as the matmul tests do; the last pass is the device's own. */
static void test_norm_shapes(void **state) {
    (void)state;
    static const char *styles[] = {"gpu", "cpu", NULL};
    for (int st = 0; st < 3; st++) {
        if (styles[st]) setenv("MOEVK_MM_STYLE", styles[st], 1);
        else unsetenv("MOEVK_MM_STYLE");
        printf("style %s\n", styles[st] ? styles[st] : "(the device's)");
        for (int ln = 0; ln < K_COUNT; ln++) {
            for (int i = 0; i < 4; i++) {
                run_case(ln, tu_awkward[i], 3, 2, 1, 1e-6f);
                run_case(ln, tu_awkward[i], 1, 1, 0, 1e-5f);
            }
            run_case(ln, 257, 5, 1, 1, 1e-6f); /* largest workgroup + 1 */
            run_case(ln, 4608, 3, 1, 1, 1e-6f);
            run_case(ln, 64, 33, 1, 1, 1e-6f);
            run_case(ln, 64, 784, 1, 1, 1e-6f); /* the goldens' tower at 448 x 448 (LayerNorm: norm_ln_lane, CPU style) */
            run_case(ln, 12, 5, 3, 0, 1e-5f);   /* 3 vec4s a row, no w / b */
        }
    }
}

/* vk_op_rms_norm_split: the q and k heads of a token as one [hd][Hq + Hk][T] tensor, rows i1 >= Hq weighted
 * by the second weight, against ref_rms_norm_split; both reductions (styles) as above. Splits at 0 (all w2),
 * inside, and at ne1 (all w). */
static void test_norm_split_weights(void **state) {
    (void)state;
    static const char *styles[] = {"gpu", "cpu", NULL};
    static const int64_t shapes[][4] = {{1, 2, 1, 1}, {7, 5, 1, 3}, {33, 4, 2, 2}, {127, 3, 3, 0}, {64, 40, 1, 32}, {128, 6, 1, 6}};
    for (int st = 0; st < 3; st++) {
        if (styles[st]) setenv("MOEVK_MM_STYLE", styles[st], 1);
        else unsetenv("MOEVK_MM_STYLE");
        for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
            const int64_t hd = shapes[c][0], H = shapes[c][1], T = shapes[c][2], split = shapes[c][3], n = hd * H * T;
            float *x = malloc(n * 4), *w = malloc(hd * 4), *w2 = malloc(hd * 4), *ref = malloc(n * 4), *got = malloc(n * 4);
            tu_fill(x, n, -3, 5);
            tu_fill(w, hd, -2, 2);
            tu_fill(w2, hd, 0.5f, 3);
            ref_rms_norm_split(ref, x, w, w2, hd, H, T, split, 1e-6f);
            tu_tensor tx = tu_upload(MVK_TYPE_F32, hd, H, T, 1, x), ty = tu_upload(MVK_TYPE_F32, hd, H, T, 1, NULL);
            tu_tensor tw = tu_upload(MVK_TYPE_F32, hd, 1, 1, 1, w), tw2 = tu_upload(MVK_TYPE_F32, hd, 1, 1, 1, w2);
            vk_stream *s = tu_begin();
            TU_OK(vk_op_rms_norm_split(s, &ty.t, &tx.t, &tw.t, &tw2.t, split, 1e-6f));
            tu_end_submit(s);
            tu_download(&ty, got, n * 4);
            char label[128];
            snprintf(label, sizeof label, "rms_norm_split [%lld,%lld,%lld] split %lld", (long long)hd, (long long)H, (long long)T,
                     (long long)split);
            tu_assert_nmse(label, ref, got, n, 1e-7);
            tu_free(&tx); tu_free(&ty); tu_free(&tw); tu_free(&tw2);
            free(x); free(w); free(w2); free(ref); free(got);
        }
    }
    unsetenv("MOEVK_MM_STYLE");
    mvk_tensor *x = tu_shape(MVK_TYPE_F32, 8, 3, 1, 1), *w = tu_shape(MVK_TYPE_F32, 8, 1, 1, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_rms_norm_split(s, x, x, w, w, 4, 1e-6f), MOEVK_ERR_INVALID_ARG, "split 4");
    TU_REFUSES(vk_op_rms_norm_split(s, x, x, w, NULL, 1, 1e-6f), MOEVK_ERR_INVALID_ARG, "both weights");
    tu_bad_end(s);
}

/* Per-head Q norm: x is q[hd][H][T] inside a fused qkv[3*H*hd][T] buffer,
 * y is another strided view; then the same in place. */
static void test_norm_strided_and_inplace(void **state) {
    (void)state;
    const int64_t hd = 16, H = 3, T = 7, row = 3 * H * hd;
    float *qkv = malloc(row * T * 4), *w = malloc(hd * 4), *ref = malloc(hd * H * T * 4), *q = malloc(hd * H * T * 4);
    float *got = malloc(row * T * 4);
    tu_fill(qkv, row * T, -2, 2);
    tu_fill(w, hd, 0.5f, 1.5f);
    for (int64_t t = 0; t < T; t++) memcpy(q + t * H * hd, qkv + t * row + H * hd, H * hd * 4); /* the k part */
    ref_rms_norm(ref, q, w, hd, H * T, 1e-6f);
    tu_tensor tqkv = tu_upload(MVK_TYPE_F32, row, T, 1, 1, qkv), tw = tu_upload(MVK_TYPE_F32, hd, 1, 1, 1, w);
    tu_tensor tout = tu_upload(MVK_TYPE_F32, row, T, 1, 1, NULL);
    int64_t ne[4] = {hd, H, T, 1}, nb[4] = {4, hd * 4, row * 4, row * 4 * T};
    mvk_tensor xv = mvk_tensor_view(&tqkv.t, H * hd * 4, ne, nb);
    mvk_tensor yv = mvk_tensor_view(&tout.t, H * hd * 4, ne, nb);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_rms_norm(s, &yv, &xv, &tw.t, 1e-6f));
    TU_OK(vk_op_rms_norm(s, &xv, &xv, &tw.t, 1e-6f)); /* in place */
    tu_end_submit(s);
    for (int pass = 0; pass < 2; pass++) {
        tu_download(pass ? &tqkv : &tout, got, row * T * 4);
        for (int64_t t = 0; t < T; t++) memcpy(q + t * H * hd, got + t * row + H * hd, H * hd * 4);
        tu_assert_nmse(pass ? "rms_norm in place" : "rms_norm strided view", ref, q, hd * H * T, 1e-7);
        if (pass) /* the q and v parts are untouched */
            for (int64_t t = 0; t < T; t++) {
                assert_memory_equal(got + t * row, qkv + t * row, H * hd * 4);
                assert_memory_equal(got + t * row + 2 * H * hd, qkv + t * row + 2 * H * hd, H * hd * 4);
            }
    }
    tu_free(&tqkv); tu_free(&tw); tu_free(&tout);
    free(qkv); free(w); free(ref); free(q); free(got);
}

/* Gated DeltaNet's q/k L2 norm: x is the q|k part [S][2Hk][T] of the conv output
 * u[conv_dim][T] (conv_dim = 2·Hk·S + Hv·S), normalised in place; v stays untouched. */
static void test_l2_norm_conv_view_in_place(void **state) {
    (void)state;
    const int64_t S = 33, Hk = 3, Hv = 6, T = 7, row = 2 * Hk * S + Hv * S;
    const float eps = 1e-6f;
    float *u = malloc(row * T * 4), *qk = malloc(2 * Hk * S * T * 4), *ref = malloc(2 * Hk * S * T * 4), *got = malloc(row * T * 4);
    tu_fill(u, row * T, -2, 2);
    for (int64_t t = 0; t < T; t++) memcpy(qk + t * 2 * Hk * S, u + t * row, 2 * Hk * S * 4);
    qk[0] = 0.0f; /* a head that is all but zero: eps keeps it finite */
    for (int64_t i = 0; i < S; i++) u[i] = qk[i] = 0.0f;
    ref_l2_norm(ref, qk, NULL, S, 2 * Hk * T, eps);
    tu_tensor tu_ = tu_upload(MVK_TYPE_F32, row, T, 1, 1, u);
    int64_t ne[4] = {S, 2 * Hk, T, 1}, nb[4] = {4, S * 4, row * 4, row * 4 * T};
    mvk_tensor xv = mvk_tensor_view(&tu_.t, 0, ne, nb);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_l2_norm(s, &xv, &xv, NULL, eps));
    tu_end_submit(s);
    tu_download(&tu_, got, row * T * 4);
    for (int64_t t = 0; t < T; t++) {
        memcpy(qk + t * 2 * Hk * S, got + t * row, 2 * Hk * S * 4);
        assert_memory_equal(got + t * row + 2 * Hk * S, u + t * row + 2 * Hk * S, Hv * S * 4);
    }
    for (int64_t i = 0; i < S; i++) assert_true(qk[i] == 0.0f);
    tu_assert_nmse("l2_norm conv view in place", ref, qk, 2 * Hk * S * T, 1e-7);
    tu_free(&tu_);
    free(u); free(qk); free(ref); free(got);
}

static void test_norm_bad_input(void **state) {
    (void)state;
    mvk_tensor *x = tu_shape(MVK_TYPE_F32, 8, 3, 1, 1), *y2 = tu_shape(MVK_TYPE_F32, 8, 2, 1, 1);
    mvk_tensor *w = tu_shape(MVK_TYPE_F32, 7, 1, 1, 1), *h = tu_shape(MVK_TYPE_F16, 8, 3, 1, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_rms_norm(s, y2, x, NULL, 1e-6f), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_rms_norm(s, x, x, w, 1e-6f), MOEVK_ERR_SHAPE, "vk_op_rms_norm");
    TU_REFUSES(vk_op_layer_norm(s, x, h, NULL, NULL, 1e-6f), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_layer_norm(s, x, x, NULL, w, 1e-6f), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_layer_norm(s, NULL, x, NULL, NULL, 1e-6f), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_rms_norm(s, x, x, NULL, -1.0f), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_l2_norm(s, y2, x, NULL, 1e-6f), MOEVK_ERR_SHAPE, "vk_op_l2_norm");
    TU_REFUSES(vk_op_l2_norm(s, x, h, NULL, 1e-6f), MOEVK_ERR_UNSUPPORTED, NULL);
    tu_bad_end(s);
}

int main(void) {
    tu_seed(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_norm_shapes, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_norm_split_weights, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_norm_strided_and_inplace, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_l2_norm_conv_view_in_place, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_norm_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
