/* test_op_moe_gate.c — vk_op_moe_gate (softmax-topk, topk-softmax,
 * sigmoid-topk; with and without renormalisation) against ref_moe_gate:
 * ids exact, weights within 1e-7 NMSE. Includes deliberate ties (equal
 * logits must rank by lower expert id), E up to 256, k up to 16, awkward T. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

static double worst_w;

static void run_case(int64_t E, int64_t T, int k, vk_gate_mode mode, int renorm, int ties) {
    float *logits = malloc(sizeof(float) * (size_t)(E * T));
    float *wref = malloc(sizeof(float) * (size_t)(k * T)), *wgot = malloc(sizeof(float) * (size_t)(k * T));
    int32_t *iref = malloc(sizeof(int32_t) * (size_t)(k * T)), *igot = malloc(sizeof(int32_t) * (size_t)(k * T));
    tu_fill(logits, E * T, -4, 4);
    if (!ties) {
        /* distinct scores: each token's logits are a random permutation of E values 8/E apart in [-4, 4), each moved
           by less than a quarter of that; a near-tie (logits a few ulps apart) could pick either id after sigmoid or
           exp rounding, which the exact id comparison below must not see */
        float *u = malloc(sizeof(float) * (size_t)E * 2);
        int32_t *perm = malloc(sizeof(int32_t) * (size_t)E);
        for (int64_t t = 0; t < T; t++) {
            tu_fill(u, E * 2, 0.0f, 1.0f);
            for (int64_t e = 0; e < E; e++) perm[e] = (int32_t)e;
            for (int64_t e = E - 1; e > 0; e--) { /* Fisher-Yates */
                int64_t j = (int64_t)(u[e] * (float)(e + 1));
                if (j > e) j = e;
                int32_t x = perm[e];
                perm[e] = perm[j];
                perm[j] = x;
            }
            const float step = 8.0f / (float)E;
            for (int64_t e = 0; e < E; e++) logits[t * E + e] = -4.0f + step * ((float)perm[e] + 0.25f * u[E + e]);
        }
        free(u);
        free(perm);
    } else {
        /* few distinct values: many exact ties, including across the top-k cut */
        for (int64_t i = 0; i < E * T; i++) logits[i] = (float)((int)(logits[i] + 4.0f) / 2) * 0.5f;
        if (T > 1)
            for (int64_t e = 0; e < E; e++) logits[E + e] = 1.0f; /* token 1: all equal -> ids 0..k-1 */
    }
    ref_moe_gate(iref, wref, logits, E, T, k, (int)mode, renorm);
    tu_tensor tl = tu_upload(MVK_TYPE_F32, E, T, 1, 1, logits);
    tu_tensor ti = tu_upload(MVK_TYPE_I32, k, T, 1, 1, NULL), tw = tu_upload(MVK_TYPE_F32, k, T, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_moe_gate(s, &ti.t, &tw.t, &tl.t, k, mode, renorm));
    tu_end_submit(s);
    tu_download(&ti, igot, sizeof(int32_t) * (size_t)(k * T));
    tu_download(&tw, wgot, sizeof(float) * (size_t)(k * T));
    char label[128];
    snprintf(label, sizeof label, "moe_gate E=%lld T=%lld k=%d mode=%d renorm=%d ties=%d", (long long)E, (long long)T, k, (int)mode,
             renorm, ties);
    for (int64_t i = 0; i < k * T; i++)
        if (iref[i] != igot[i]) fail_msg("%s: ids differ at slot %lld of token %lld: ref %d got %d (logits %.9g, %.9g)", label, (long long)(i % k),
                                         (long long)(i / k), iref[i], igot[i], logits[(i / k) * E + iref[i]], logits[(i / k) * E + igot[i]]);
    if (ties && T > 1)
        for (int j = 0; j < k; j++) assert_int_equal(igot[k + j], j);
    double e = tu_nmse(wref, wgot, k * T);
    if (e > worst_w) worst_w = e;
    tu_assert_nmse(label, wref, wgot, k * T, 1e-7);
    tu_free(&tl); tu_free(&ti); tu_free(&tw);
    free(logits); free(wref); free(wgot); free(iref); free(igot);
}

/* Both workgroup sizes on this device (vk_op_moe.c): 64 lanes a token (GPU style) and one subgroup a token (CPU
 * style), through MOEVK_MM_STYLE as the matmul and norm tests do; the last pass is the device's own. */
static void test_modes(void **state) {
    (void)state;
    static const char *styles[] = {"gpu", "cpu", NULL};
    int64_t Es[4] = {8, 60, 128, 256};
    int ks[4] = {1, 4, 8, 16};
    for (int st = 0; st < 3; st++) {
        if (styles[st]) setenv("MOEVK_MM_STYLE", styles[st], 1);
        else unsetenv("MOEVK_MM_STYLE");
        printf("style %s\n", styles[st] ? styles[st] : "(the device's)");
        for (int m = 0; m < 3; m++)
            for (int i = 0; i < 4; i++)
                for (int renorm = 0; renorm < 2; renorm++)
                    run_case(Es[i], tu_awkward[(i + m) % 4], ks[i] > Es[i] ? (int)Es[i] : ks[i], (vk_gate_mode)m, renorm, 0);
        run_case(7, 65, 7, VK_GATE_SOFTMAX_TOPK, 1, 0); /* k = E */
        run_case(128, 257, 8, VK_GATE_SOFTMAX_TOPK, 1, 0); /* more tokens than a workgroup */
        run_case(128, 33, 8, VK_GATE_SOFTMAX_TOPK, 1, 1); /* ties */
    }
    unsetenv("MOEVK_MM_STYLE");
}

static void test_ties(void **state) {
    (void)state;
    for (int m = 0; m < 3; m++) {
        run_case(128, 33, 8, (vk_gate_mode)m, 1, 1);
        run_case(256, 7, 16, (vk_gate_mode)m, 0, 1);
        run_case(9, 2, 3, (vk_gate_mode)m, 1, 1);
    }
}

/* renorm clamps tiny sums: sigmoid of very negative logits */
static void test_renorm_clamp(void **state) {
    (void)state;
    int64_t E = 16, T = 3;
    int k = 2;
    float logits[48];
    for (int i = 0; i < 48; i++) logits[i] = -30.0f - (float)(i % 16);
    float wref[6], wgot[6];
    int32_t iref[6], igot[6];
    ref_moe_gate(iref, wref, logits, E, T, k, VK_GATE_SIGMOID_TOPK, 1);
    tu_tensor tl = tu_upload(MVK_TYPE_F32, E, T, 1, 1, logits);
    tu_tensor ti = tu_upload(MVK_TYPE_I32, k, T, 1, 1, NULL), tw = tu_upload(MVK_TYPE_F32, k, T, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_moe_gate(s, &ti.t, &tw.t, &tl.t, k, VK_GATE_SIGMOID_TOPK, 1));
    tu_end_submit(s);
    tu_download(&ti, igot, sizeof igot);
    tu_download(&tw, wgot, sizeof wgot);
    assert_memory_equal(iref, igot, sizeof igot);
    assert_true(wref[0] < 1e-8f); /* clamped: weights stay tiny instead of summing to 1 */
    tu_assert_nmse("renorm clamp", wref, wgot, 6, 1e-7);
    tu_free(&tl); tu_free(&ti); tu_free(&tw);
}

static void test_bad_input(void **state) {
    (void)state;
    mvk_tensor *l = tu_shape(MVK_TYPE_F32, 8, 3, 1, 1), *ids = tu_shape(MVK_TYPE_I32, 2, 3, 1, 1);
    mvk_tensor *w = tu_shape(MVK_TYPE_F32, 2, 3, 1, 1), *w4 = tu_shape(MVK_TYPE_F32, 2, 4, 1, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_moe_gate(s, ids, w, l, 3, VK_GATE_SOFTMAX_TOPK, 0), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_moe_gate(s, ids, w4, l, 2, VK_GATE_SOFTMAX_TOPK, 0), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_moe_gate(s, ids, w, l, 9, VK_GATE_SOFTMAX_TOPK, 0), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_moe_gate(s, ids, w, l, 2, (vk_gate_mode)7, 0), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_moe_gate(s, w, w, l, 2, VK_GATE_SOFTMAX_TOPK, 0), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_moe_gate(s, ids, w, NULL, 2, VK_GATE_SOFTMAX_TOPK, 0), MOEVK_ERR_INVALID_ARG, NULL);
    tu_bad_end(s);
}

static int report(void **state) {
    fprintf(stderr, "moe_gate: ids exact; worst weights nmse %.3e\n", worst_w);
    return tu_group_teardown(state);
}

int main(void) {
    tu_seed(9);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_modes, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_ties, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_renorm_clamp, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, report));
}
