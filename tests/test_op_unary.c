/* test_op_unary.c — vk_op_silu / gelu (tanh, erf) / swiglu / scale / sigmoid / sigmoid_mul / geglu / softcap /
 * geglu_quick / clamp against the
 * double-precision references in ref_unary.c: contiguous, row-strided views,
 * in place, extreme inputs, and the shader's erf against libm erff. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

enum { OP_SILU, OP_GELU_TANH, OP_GELU_ERF, OP_SWIGLU, OP_SCALE, OP_SIGMOID, OP_SIGMOID_MUL, OP_GEGLU, OP_SOFTCAP, OP_GEGLU_QUICK, OP_CLAMP, OP_COUNT };
static const char *op_names[OP_COUNT] = {"silu", "gelu_tanh", "gelu_erf", "swiglu", "scale", "sigmoid", "sigmoid_mul", "geglu", "softcap", "geglu_quick", "clamp"};
static const float k_scale = -0.37f, k_cap = 7.5f, k_lo = -2.25f, k_hi = 1.5f;
static double g_worst[OP_COUNT];

static void ref_op(int op, float *y, const float *x, const float *u, int64_t n) {
    switch (op) {
    case OP_SILU: ref_silu(y, x, n); break;
    case OP_GELU_TANH: ref_gelu(y, x, n, 0); break;
    case OP_GELU_ERF: ref_gelu(y, x, n, 1); break;
    case OP_SWIGLU: ref_swiglu(y, x, u, n); break;
    case OP_SIGMOID: ref_sigmoid(y, x, n); break;
    case OP_SIGMOID_MUL: ref_sigmoid_mul(y, x, u, n); break;
    case OP_GEGLU: ref_geglu(y, x, u, n); break;
    case OP_SOFTCAP: ref_softcap(y, x, n, k_cap); break;
    case OP_GEGLU_QUICK: ref_geglu_quick(y, x, u, n); break;
    case OP_CLAMP: ref_clamp(y, x, n, k_lo, k_hi); break;
    default: ref_scale(y, x, n, k_scale); break;
    }
}

static moevk_status dev_op(int op, vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *u) {
    switch (op) {
    case OP_SILU: return vk_op_silu(s, y, x);
    case OP_GELU_TANH: return vk_op_gelu(s, y, x, VK_GELU_TANH);
    case OP_GELU_ERF: return vk_op_gelu(s, y, x, VK_GELU_ERF);
    case OP_SWIGLU: return vk_op_swiglu(s, y, x, u);
    case OP_SIGMOID: return vk_op_sigmoid(s, y, x);
    case OP_SIGMOID_MUL: return vk_op_sigmoid_mul(s, y, x, u);
    case OP_GEGLU: return vk_op_geglu(s, y, x, u);
    case OP_SOFTCAP: return vk_op_softcap(s, y, x, k_cap);
    case OP_GEGLU_QUICK: return vk_op_geglu_quick(s, y, x, u);
    case OP_CLAMP: return vk_op_clamp(s, y, x, k_lo, k_hi);
    default: return vk_op_scale(s, y, x, k_scale);
    }
}

/* mode 0: separate y; 1: y == x (in place); 2: y == u (swiglu, sigmoid_mul, geglu) */
static void run_case(int op, int64_t ne0, int64_t ne1, int64_t ne2, int64_t pad, int mode, float lo, float hi) {
    int64_t n = ne0 * ne1 * ne2;
    float *x = malloc((size_t)n * 4), *u = malloc((size_t)n * 4), *ref = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
    tu_fill(x, n, lo, hi);
    tu_fill(u, n, -3, 3);
    ref_op(op, ref, x, u, n);
    tu_tensor tx = tu_upload_padded(x, ne0, ne1, ne2, 1, pad);
    tu_tensor tu = tu_upload_padded(u, ne0, ne1, ne2, 1, pad + 1);
    tu_tensor ty = tu_upload_padded(NULL, ne0, ne1, ne2, 1, pad ? pad + 2 : 0);
    const tu_tensor *out = mode == 1 ? &tx : mode == 2 ? &tu : &ty;
    vk_stream *s = tu_begin();
    TU_OK(dev_op(op, s, &out->t, &tx.t, &tu.t));
    tu_end_submit(s);
    int64_t opad = mode == 1 ? pad : mode == 2 ? pad + 1 : (pad ? pad + 2 : 0);
    tu_download_padded(out, got, ne0, ne1 * ne2, opad);
    char label[160];
    snprintf(label, sizeof label, "%s [%lld,%lld,%lld] pad %lld mode %d", op_names[op], (long long)ne0, (long long)ne1,
             (long long)ne2, (long long)pad, mode);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(got[i])) fail_msg("%s: non-finite output %g at %lld (x = %g)", label, (double)got[i], (long long)i, (double)x[i]);
    double e = tu_nmse(ref, got, n);
    if (e > g_worst[op]) g_worst[op] = e;
    tu_assert_nmse(label, ref, got, n, 1e-7);
    tu_free(&tx); tu_free(&tu); tu_free(&ty);
    free(x); free(u); free(ref); free(got);
}

static void test_awkward_sizes(void **state) {
    (void)state;
    for (int op = 0; op < OP_COUNT; op++) {
        for (int i = 0; i < 4; i++) run_case(op, tu_awkward[i], 3, 2, 0, 0, -6, 6);
        run_case(op, 257, 5, 1, 0, 0, -6, 6); /* workgroup size + 1 */
        run_case(op, 1, 1, 1, 0, 0, -6, 6);
    }
}

static void test_strided_and_in_place(void **state) {
    (void)state;
    for (int op = 0; op < OP_COUNT; op++) {
        run_case(op, 33, 7, 3, 5, 0, -6, 6);
        run_case(op, 127, 4, 1, 0, 1, -6, 6);
        run_case(op, 33, 7, 2, 3, 1, -6, 6);
    }
    run_case(OP_SWIGLU, 127, 9, 1, 0, 2, -6, 6);
    run_case(OP_SWIGLU, 7, 9, 2, 4, 2, -6, 6);
    run_case(OP_SIGMOID_MUL, 127, 9, 1, 0, 2, -6, 6);
    run_case(OP_SIGMOID_MUL, 7, 9, 2, 4, 2, -6, 6);
    run_case(OP_GEGLU, 127, 9, 1, 0, 2, -6, 6);
    run_case(OP_GEGLU, 7, 9, 2, 4, 2, -6, 6);
    run_case(OP_GEGLU_QUICK, 127, 9, 1, 0, 2, -6, 6);
    run_case(OP_GEGLU_QUICK, 7, 9, 2, 4, 2, -6, 6);
    run_case(OP_SOFTCAP, 129, 3, 1, 0, 0, -60, 60); /* through the whole tanh range at cap 7.5 */
    run_case(OP_SOFTCAP, 33, 5, 2, 0, 0, -0.1f, 0.1f); /* near 0: the series branch */
}

/* Large |x|: outputs stay finite (no exp overflow NaN) and match the reference. */
static void test_extreme_inputs(void **state) {
    (void)state;
    for (int op = 0; op < OP_COUNT; op++) run_case(op, 1000, 2, 1, 0, 0, -2000, 2000);
    static const float xs[] = {-1e30f, -1e4f, -100.0f, -88.8f, -30.0f, -10.0f, -1e-30f, 0.0f, 1e-30f, 10.0f, 30.0f, 88.8f, 100.0f, 1e4f, 1e30f};
    int64_t n = (int64_t)(sizeof xs / sizeof xs[0]);
    for (int op = 0; op < OP_COUNT; op++) {
        float ref[16], got[16];
        ref_op(op, ref, xs, xs, n);
        tu_tensor tx = tu_upload(MVK_TYPE_F32, n, 1, 1, 1, xs), ty = tu_upload(MVK_TYPE_F32, n, 1, 1, 1, NULL);
        vk_stream *s = tu_begin();
        TU_OK(dev_op(op, s, &ty.t, &tx.t, &tx.t));
        tu_end_submit(s);
        tu_download(&ty, got, (uint64_t)n * 4);
        for (int64_t i = 0; i < n; i++) {
            if ((op == OP_SWIGLU || op == OP_GEGLU || op == OP_GEGLU_QUICK) && fabsf(xs[i]) > 1e20f) continue; /* act(x)*x overflows f32 either way */
            double d = fabs((double)got[i] - (double)ref[i]);
            if (!isfinite(got[i]) || d > 4e-6 * fabs((double)ref[i]) + 1e-30)
                fail_msg("%s(%g): got %g, ref %g", op_names[op], (double)xs[i], (double)got[i], (double)ref[i]);
        }
        tu_free(&tx); tu_free(&ty);
    }
}

/* The shader's erf (via gelu_erf) against libm erff: erf(z) = 2·gelu(z√2)/(z√2) − 1,
 * so check gelu_erf(x) against 0.5·x·(1 + erff(x/√2)) on a dense grid. */
static void test_gelu_erf_vs_erff(void **state) {
    (void)state;
    int64_t n = 20001;
    float *x = malloc((size_t)n * 4), *ref = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) x[i] = -10.0f + 20.0f * (float)i / (float)(n - 1);
    for (int64_t i = 0; i < n; i++) ref[i] = 0.5f * x[i] * (1.0f + erff(x[i] / sqrtf(2.0f)));
    tu_tensor tx = tu_upload(MVK_TYPE_F32, n, 1, 1, 1, x), ty = tu_upload(MVK_TYPE_F32, n, 1, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_gelu(s, &ty.t, &tx.t, VK_GELU_ERF));
    tu_end_submit(s);
    tu_download(&ty, got, (uint64_t)n * 4);
    double worst = 0, worst_x = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]) / (fabs((double)x[i]) * 0.5 + 1e-30);
        if (!(d <= worst)) { worst = d; worst_x = x[i]; } /* = |erf_shader - erff| up to f32 rounding */
    }
    fprintf(stderr, "gelu_erf vs erff: max |erf error| %.3e (at x = %g), nmse %.3e\n", worst, worst_x, tu_nmse(ref, got, n));
    assert_true(worst < 1e-6);
    tu_assert_nmse("gelu_erf vs erff", ref, got, n, 1e-12);
    tu_free(&tx); tu_free(&ty);
    free(x); free(ref); free(got);
}

/* A contiguous tensor larger than the storage-buffer range, in place: the op
 * must split it into element ranges (several dispatches) and still be exact. */
static void test_larger_than_binding(void **state) {
    (void)state;
    uint64_t range = vk_ctx_info(tu_vk)->max_storage_buffer_range;
    int64_t n = (int64_t)(range / 4) + 4099;
    if ((uint64_t)n * 4 > (uint64_t)1 << 31) {
        TU_SKIP_NA("larger-than-binding: storage range %llu B would need over 2 GiB", (unsigned long long)range);
    }
    float *x = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
    assert_non_null(x);
    assert_non_null(got);
    tu_fill(x, n, -4, 4);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, n, 1, 1, 1, x);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_scale(s, &tx.t, &tx.t, 0.5f));
    TU_OK(vk_op_silu(s, &tx.t, &tx.t));
    assert_true(vk_stream_dispatch_count(s) >= 4);
    tu_end_submit(s);
    tu_download(&tx, got, (uint64_t)n * 4);
    for (int64_t i = 0; i < n; i++) x[i] *= 0.5f; /* exact */
    float *ref = malloc((size_t)n * 4);
    ref_silu(ref, x, n);
    tu_assert_nmse("scale+silu larger than one binding", ref, got, n, 1e-7);
    assert_true(ref[n - 1] == got[n - 1] || fabsf(ref[n - 1] - got[n - 1]) < 1e-6f); /* the tail was processed */
    tu_free(&tx);
    free(x); free(got); free(ref);
}

static void test_bad_input(void **state) {
    (void)state;
    mvk_tensor *a = tu_shape(MVK_TYPE_F32, 8, 3, 1, 1), *b = tu_shape(MVK_TYPE_F32, 8, 4, 1, 1);
    mvk_tensor *h = tu_shape(MVK_TYPE_F16, 8, 3, 1, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_silu(s, b, a), MOEVK_ERR_SHAPE, "vk_op_silu");
    TU_REFUSES(vk_op_gelu(s, a, h, VK_GELU_TANH), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_gelu(s, a, a, (vk_gelu_kind)7), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_swiglu(s, a, a, b), MOEVK_ERR_SHAPE, "u");
    TU_REFUSES(vk_op_swiglu(s, a, a, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_sigmoid_mul(s, a, a, b), MOEVK_ERR_SHAPE, "u");
    TU_REFUSES(vk_op_sigmoid_mul(s, a, a, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_sigmoid(s, b, a), MOEVK_ERR_SHAPE, "vk_op_sigmoid");
    TU_REFUSES(vk_op_scale(s, a, NULL, 2.0f), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_geglu_quick(s, a, a, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_clamp(s, a, a, 2.0f, 1.0f), MOEVK_ERR_INVALID_ARG, "bounds");
    TU_REFUSES(vk_op_clamp(s, a, a, NAN, 1.0f), MOEVK_ERR_INVALID_ARG, "bounds");
    TU_REFUSES(vk_op_scale(NULL, a, a, 2.0f), MOEVK_ERR_INVALID_ARG, NULL);
    mvk_tensor bad = *a;
    bad.nb[0] = 8; /* non-contiguous rows */
    TU_REFUSES(vk_op_silu(s, a, &bad), MOEVK_ERR_UNSUPPORTED, NULL);
    tu_bad_end(s);
}

static void test_report(void **state) {
    (void)state;
    for (int op = 0; op < OP_COUNT; op++) fprintf(stderr, "%-10s worst nmse %.3e (tol 1e-7)\n", op_names[op], g_worst[op]);
}

int main(void) {
    tu_seed(3);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_awkward_sizes, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_strided_and_in_place, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_extreme_inputs, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_gelu_erf_vs_erff, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_larger_than_binding, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_report, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
