/* test_op_softmax_argmax.c — vk_op_softmax against ref_softmax (double) and
 * vk_op_argmax against ref_argmax (exact ids): awkward sizes, strided views,
 * in place, ties, NaN / -inf, a full Qwen3 vocabulary row, and logits larger
 * than the storage-buffer range (processed in row ranges). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

static double g_worst_softmax;

static void softmax_case(int64_t ne0, int64_t ne1, int64_t ne2, int64_t pad, int in_place, float scale, float lo, float hi) {
    int64_t n = ne0 * ne1 * ne2;
    float *x = malloc((size_t)n * 4), *ref = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
    tu_fill(x, n, lo, hi);
    if (ne0 > 3 && scale > 0) x[2] = -INFINITY; /* a masked entry */
    ref_softmax(ref, x, ne0, ne1 * ne2, scale);
    tu_tensor tx = tu_upload_padded(x, ne0, ne1, ne2, 1, pad);
    tu_tensor ty = tu_upload_padded(NULL, ne0, ne1, ne2, 1, pad ? pad + 3 : 0);
    const tu_tensor *out = in_place ? &tx : &ty;
    vk_stream *s = tu_begin();
    TU_OK(vk_op_softmax(s, &out->t, &tx.t, scale));
    tu_end_submit(s);
    tu_download_padded(out, got, ne0, ne1 * ne2, in_place ? pad : (pad ? pad + 3 : 0));
    char label[160];
    snprintf(label, sizeof label, "softmax [%lld,%lld,%lld] pad %lld%s scale %g", (long long)ne0, (long long)ne1, (long long)ne2,
             (long long)pad, in_place ? " in place" : "", (double)scale);
    double e = tu_nmse(ref, got, n);
    if (e > g_worst_softmax) g_worst_softmax = e;
    tu_assert_nmse(label, ref, got, n, 1e-7);
    tu_free(&tx); tu_free(&ty);
    free(x); free(ref); free(got);
}

static void test_softmax(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++) softmax_case(tu_awkward[i], 5, 2, 0, 0, 1.0f, -4, 4);
    softmax_case(257, 3, 1, 0, 0, 0.125f, -30, 30); /* workgroup size + 1 */
    softmax_case(1000, 4, 1, 0, 0, 1.0f, -20, 20);
    softmax_case(33, 7, 3, 5, 0, -2.0f, -3, 3);     /* strided, negative scale */
    softmax_case(127, 6, 1, 0, 1, 0.5f, -8, 8);     /* in place */
    softmax_case(7, 9, 2, 2, 1, 1.0f, -8, 8);       /* strided in place */
    softmax_case(64, 2, 1, 0, 0, 1.0f, 1000, 1100); /* large logits: needs the max shift */
    /* rows >= 256 with aligned starts: CPU devices take softmax_lane.comp (one lane a row;
     * 33 x 2 rows: more than one workgroup of lanes, a partial last one) */
    softmax_case(784, 33, 2, 0, 0, 0.117f, -10, 10);
    softmax_case(256, 3, 1, 0, 0, 1.0f, 1000, 1100);
    softmax_case(512, 9, 1, 0, 1, 0.25f, -8, 8);    /* in place: the workgroup kernel */
    softmax_case(260, 5, 1, 2, 0, 1.0f, -8, 8);     /* rows 8 bytes off 16: the workgroup kernel */
    fprintf(stderr, "softmax worst nmse %.3e (tol 1e-7)\n", g_worst_softmax);
}

static void argmax_check(const float *x, int64_t ne0, int64_t ne1, int64_t ne2, int64_t pad, const char *what) {
    int64_t rows = ne1 * ne2;
    int32_t *ref = malloc((size_t)rows * 4), *got = malloc((size_t)rows * 4);
    ref_argmax(ref, x, ne0, rows);
    tu_tensor tx = tu_upload_padded(x, ne0, ne1, ne2, 1, pad);
    tu_tensor ti = tu_upload(MVK_TYPE_I32, rows, 1, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_argmax(s, &ti.t, &tx.t));
    tu_end_submit(s);
    tu_download(&ti, got, (uint64_t)rows * 4);
    for (int64_t r = 0; r < rows; r++)
        if (got[r] != ref[r])
            fail_msg("argmax %s [%lld,%lld,%lld] row %lld: got %d, ref %d", what, (long long)ne0, (long long)ne1, (long long)ne2,
                     (long long)r, got[r], ref[r]);
    tu_free(&tx); tu_free(&ti);
    free(ref); free(got);
}

static void argmax_random(int64_t ne0, int64_t ne1, int64_t ne2, int64_t pad, int ties) {
    int64_t n = ne0 * ne1 * ne2;
    float *x = malloc((size_t)n * 4);
    tu_fill(x, n, -5, 5);
    if (ties)
        for (int64_t i = 0; i < n; i++) x[i] = floorf(x[i]); /* many equal maxima per row */
    argmax_check(x, ne0, ne1, ne2, pad, ties ? "ties" : "random");
    free(x);
}

static void test_argmax(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++) {
        argmax_random(tu_awkward[i], 5, 2, 0, 0);
        argmax_random(tu_awkward[i], 5, 2, 0, 1);
    }
    argmax_random(257, 7, 1, 0, 1);  /* workgroup size + 1 */
    argmax_random(33, 7, 3, 5, 0);   /* strided */
    argmax_random(1000, 3, 1, 2, 1);
    argmax_random(151936, 3, 1, 0, 0); /* Qwen3 vocabulary */
    argmax_random(151936, 2, 1, 0, 1);
}

static void test_argmax_special(void **state) {
    (void)state;
    enum { V = 300, R = 8 };
    float *x = malloc(V * R * 4);
    tu_fill(x, V * R, -1, 1);
    x[0 * V + 5] = NAN;                                        /* NaN never wins */
    x[0 * V + 6] = 3.0f;
    for (int i = 0; i < V; i++) x[1 * V + i] = NAN;            /* all NaN -> 0 */
    x[1 * V + 299] = -100.0f;                                  /* ... except one value: it wins */
    for (int i = 0; i < V; i++) x[2 * V + i] = -INFINITY;      /* all -inf: ties -> index 0 */
    for (int i = 0; i < V; i++) x[3 * V + i] = NAN;            /* all NaN -> 0 */
    x[4 * V + 299] = 50.0f;                                    /* max at the last index */
    x[4 * V + 298] = 50.0f;                                    /* tie: lower index */
    x[5 * V + 0] = INFINITY;                                   /* +inf at index 0 */
    x[5 * V + 200] = INFINITY;
    for (int i = 0; i < V; i++) x[6 * V + i] = 0.5f;           /* all equal -> 0 */
    for (int i = 0; i < V; i += 2) x[7 * V + i] = NAN;         /* NaN interleaved */
    argmax_check(x, V, R, 1, 0, "special");
    int32_t ref[R];
    ref_argmax(ref, x, V, R);
    assert_int_equal(ref[0], 6);
    assert_int_equal(ref[1], 299);
    assert_int_equal(ref[2], 0);
    assert_int_equal(ref[3], 0);
    assert_int_equal(ref[4], 298);
    assert_int_equal(ref[5], 0);
    assert_int_equal(ref[6], 0);
    free(x);
}

/* Long rows: CPU devices split them into parts (argmax_lane.comp, one invocation a part) and pick each row's
 * winner among the parts' winners (argmax.comp mode 2). Ties, NaN, +-inf placed across part boundaries, a part
 * of only NaN, the winner in a short last part; the default part length, others (MOEVK_ARGMAX_PART: 8 gives
 * 2500 parts a row), the one-pass kernel (MOEVK_ARGMAX_SPLIT=0), strided rows in 3-D, rows the texel view
 * cannot take (ne0 not a multiple of 4: one pass), all against ref_argmax. */
static void test_argmax_parts(void **state) {
    (void)state;
    enum { V = 20000, R = 8 };
    float *x = malloc((size_t)V * R * 4);
    assert_non_null(x);
    tu_fill(x, V * R, -4, 4);
    x[0 * V + V - 1] = 6.0f;                                   /* the winner in the short last part */
    for (int i = 0; i < V; i++) x[1 * V + i] = NAN;            /* all NaN -> 0 */
    for (int i = 0; i < V; i++) x[2 * V + i] = NAN;
    x[2 * V + 12345] = -50.0f;                                 /* one value among NaN parts: it wins */
    x[3 * V + 16384] = 7.0f;                                   /* a tie across parts: the lower index */
    x[3 * V + 8191] = 7.0f;
    x[3 * V + 8200] = 7.0f;
    for (int i = 0; i < V; i++) x[4 * V + i] = -INFINITY;      /* all -inf: index 0 */
    for (int i = 0; i < V; i++) x[5 * V + i] = 0.5f;           /* all equal: index 0 */
    x[6 * V + 19999] = INFINITY;                               /* +inf twice: the lower index */
    x[6 * V + 9000] = INFINITY;
    for (int i = 0; i < 8192; i++) x[7 * V + i] = NAN;         /* a first part of only NaN */
    x[7 * V + 8192] = 5.0f;
    int32_t ref[R];
    ref_argmax(ref, x, V, R);
    assert_int_equal(ref[0], V - 1);
    assert_int_equal(ref[1], 0);
    assert_int_equal(ref[2], 12345);
    assert_int_equal(ref[3], 8191);
    assert_int_equal(ref[4], 0);
    assert_int_equal(ref[5], 0);
    assert_int_equal(ref[6], 9000);
    assert_int_equal(ref[7], 8192);
    const int cpu = vk_ctx_info(tu_vk)->kind == VK_KIND_CPU;
    static const char *const parts[] = {NULL, "1000", "8", "19996"};
    for (int k = 0; k < 5; k++) {
        if (k < 4) {
            if (parts[k]) setenv("MOEVK_ARGMAX_PART", parts[k], 1);
            else unsetenv("MOEVK_ARGMAX_PART");
        } else {
            unsetenv("MOEVK_ARGMAX_PART");
            setenv("MOEVK_ARGMAX_SPLIT", "0", 1);
        }
        /* the dispatches of one call: two where the rows are split (CPU devices), else one */
        tu_tensor tx = tu_upload(MVK_TYPE_F32, V, R, 1, 1, x);
        tu_tensor ti = tu_upload(MVK_TYPE_I32, R, 1, 1, 1, NULL);
        vk_stream *s = tu_begin();
        TU_OK(vk_op_argmax(s, &ti.t, &tx.t));
        assert_int_equal(vk_stream_dispatch_count(s), cpu && k < 4 ? 2 : 1);
        tu_end_submit(s);
        int32_t got[R];
        tu_download(&ti, got, sizeof got);
        for (int r = 0; r < R; r++)
            if (got[r] != ref[r])
                fail_msg("argmax parts (part %s%s) row %d: got %d, ref %d", parts[k < 4 ? k : 0] ? parts[k < 4 ? k : 0] : "default",
                         k == 4 ? ", one pass" : "", r, got[r], ref[r]);
        tu_free(&tx); tu_free(&ti);
        argmax_random(V + 76, 3, 2, 4, 1); /* strided rows (16-byte multiples) in 3-D, many ties: split as above */
        argmax_random(V + 77, 3, 1, 5, 1); /* ne0 not a multiple of 4: one pass */
    }
    unsetenv("MOEVK_ARGMAX_SPLIT");
    unsetenv("MOEVK_ARGMAX_PART");
    free(x);
}

/* Logits larger than the storage-buffer range: [151936][T] with T chosen so the
 * tensor exceeds it by a few rows; the op must split and still be exact. */
static void test_argmax_large(void **state) {
    (void)state;
    uint64_t range = vk_ctx_info(tu_vk)->max_storage_buffer_range;
    int64_t V = 151936, T = (int64_t)(range / (uint64_t)(V * 4)) + 3;
    if ((uint64_t)(V * T * 4) > (uint64_t)1 << 31) {
        TU_SKIP_NA("large argmax: storage range %llu B would need a tensor over 2 GiB", (unsigned long long)range);
    }
    float *x = malloc((size_t)(V * T) * 4);
    assert_non_null(x);
    tu_fill(x, V * T, -8, 8);
    for (int64_t t = 0; t < T; t++) x[t * V + (t * 7919) % V] = 9.0f + (float)(t % 3); /* a clear winner per row */
    int32_t *ref = malloc((size_t)T * 4), *got = malloc((size_t)T * 4);
    ref_argmax(ref, x, V, T);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, V, T, 1, 1, x);
    tu_tensor ti = tu_upload(MVK_TYPE_I32, T, 1, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_argmax(s, &ti.t, &tx.t));
    assert_true(vk_stream_dispatch_count(s) >= 2);
    tu_end_submit(s);
    tu_download(&ti, got, (uint64_t)T * 4);
    for (int64_t t = 0; t < T; t++)
        if (got[t] != ref[t]) fail_msg("large argmax row %lld: got %d, ref %d", (long long)t, got[t], ref[t]);
    fprintf(stderr, "large argmax: [%lld][%lld] (%.1f MiB > range %.1f MiB) exact\n", (long long)V, (long long)T,
            (double)(V * T * 4) / 1048576.0, (double)range / 1048576.0);
    tu_free(&tx); tu_free(&ti);
    free(x); free(ref); free(got);
}

static void test_bad_input(void **state) {
    (void)state;
    mvk_tensor *a = tu_shape(MVK_TYPE_F32, 8, 3, 1, 1), *b = tu_shape(MVK_TYPE_F32, 8, 4, 1, 1);
    mvk_tensor *ids = tu_shape(MVK_TYPE_I32, 3, 1, 1, 1), *ids4 = tu_shape(MVK_TYPE_I32, 4, 1, 1, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_softmax(s, b, a, 1.0f), MOEVK_ERR_SHAPE, "vk_op_softmax");
    TU_REFUSES(vk_op_softmax(s, a, a, NAN), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_softmax(s, a, ids, 1.0f), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_softmax(NULL, a, a, 1.0f), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_argmax(s, ids4, a), MOEVK_ERR_SHAPE, "vk_op_argmax");
    TU_REFUSES(vk_op_argmax(s, a, a), MOEVK_ERR_UNSUPPORTED, NULL); /* ids must be I32 */
    TU_REFUSES(vk_op_argmax(s, NULL, a), MOEVK_ERR_INVALID_ARG, NULL);
    tu_bad_end(s);
}

int main(void) {
    tu_seed(5);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_softmax, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_argmax, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_argmax_special, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_argmax_parts, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_argmax_large, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
