/* test_op_rope.c — vk_op_rope (NEOX, M-RoPE, IMROPE, 2-D vision) against ref_rope
 * (double-precision angles), F32 NMSE 1e-7; strided q/k views of a fused QKV row,
 * partial rotation, in place, positions read from a buffer on replay, NEOX with frequency factors
 * (Gemma 4's proportional RoPE, and arbitrary factors) against ref_rope_ff, bad input; vk_op_rms_norm_rope_split (RMSNorm
 * then RoPE in one op) against the references and bit for bit against the two ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

typedef struct rcase {
    vk_rope_mode mode;
    int64_t hd, H, T;
    int n_dims;
    float base;
    int sec[4];
    int maxpos;
    int fused; /* x is the k part of a fused [3*H*hd][T] row */
    const float *ff; /* NULL, or NEOX frequency factors [n_dims/2] */
} rcase;

static double run_case(const rcase *c, double tol) {
    int64_t hd = c->hd, H = c->H, T = c->T, n = hd * H * T, row = 3 * H * hd;
    int64_t npos = c->mode == VK_ROPE_NEOX ? T : 4 * T;
    float *x = malloc(n * 4), *ref = malloc(n * 4), *got = malloc(n * 4), *qkv = malloc(row * T * 4);
    int32_t *pos = malloc(npos * 4);
    tu_fill(x, n, -2, 2);
    tu_fill_i32(pos, npos, 0, c->maxpos);
    if (c->ff) ref_rope_ff(ref, x, pos, hd, H, T, c->n_dims, c->base, c->ff);
    else ref_rope(ref, x, pos, hd, H, T, (int)c->mode, c->n_dims, c->base, c->sec);
    tu_tensor tf = tu_upload(MVK_TYPE_F32, c->ff ? c->n_dims / 2 : 1, 1, 1, 1, c->ff);
    tu_tensor tp = tu_upload(MVK_TYPE_I32, npos, 1, 1, 1, pos), ty = tu_upload(MVK_TYPE_F32, hd, H, T, 1, NULL), tx;
    mvk_tensor xv;
    if (c->fused) {
        tu_fill(qkv, row * T, -2, 2);
        for (int64_t t = 0; t < T; t++) memcpy(qkv + t * row + H * hd, x + t * H * hd, H * hd * 4);
        tx = tu_upload(MVK_TYPE_F32, row, T, 1, 1, qkv);
        int64_t ne[4] = {hd, H, T, 1}, nb[4] = {4, hd * 4, row * 4, row * T * 4};
        xv = mvk_tensor_view(&tx.t, H * hd * 4, ne, nb);
    } else {
        tx = tu_upload(MVK_TYPE_F32, hd, H, T, 1, x);
        xv = tx.t;
    }
    vk_rope_params p = {.mode = c->mode, .n_dims = c->n_dims, .freq_base = c->base};
    memcpy(p.sections, c->sec, sizeof p.sections);
    if (c->ff) p.freq_factors = &tf.t;
    vk_stream *s = tu_begin();
    TU_OK(vk_op_rope(s, &ty.t, &xv, &tp.t, &p));
    tu_end_submit(s);
    tu_download(&ty, got, n * 4);
    char label[192];
    snprintf(label, sizeof label, "rope mode %d hd %lld H %lld T %lld n_dims %d base %g sec [%d,%d,%d,%d]%s%s", (int)c->mode,
             (long long)hd, (long long)H, (long long)T, c->n_dims, c->base, c->sec[0], c->sec[1], c->sec[2], c->sec[3],
             c->fused ? " fused-view" : "", c->ff ? " freq-factors" : "");
    double e = tu_nmse(ref, got, n);
    printf("%-90s nmse %.2e\n", label, e);
    tu_assert_nmse(label, ref, got, n, tol);
    tu_free(&tx); tu_free(&ty); tu_free(&tp); tu_free(&tf);
    free(x); free(ref); free(got); free(qkv); free(pos);
    return e;
}

static void test_rope_neox(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++) {
        rcase c = {VK_ROPE_NEOX, 128, 3, tu_awkward[i], 128, 5e6f, {0}, 300, i & 1, NULL};
        run_case(&c, 1e-7);
    }
    rcase partial = {VK_ROPE_NEOX, 64, 5, 7, 32, 10000.0f, {0}, 300, 0, NULL}; /* tail dims pass through */
    run_case(&partial, 1e-7);
    rcase wg1 = {VK_ROPE_NEOX, 258, 1, 1, 258, 10000.0f, {0}, 300, 0, NULL}; /* 129 pairs = workgroup + 1 */
    run_case(&wg1, 1e-7);
    rcase tiny = {VK_ROPE_NEOX, 2, 1, 33, 2, 10000.0f, {0}, 300, 1, NULL};
    run_case(&tiny, 1e-7);
}

static void test_rope_mrope_imrope(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++) {
        /* Qwen3-VL: pairs 61, 62 take the 4th component (random here, so it is exercised) */
        rcase im = {VK_ROPE_IMROPE, 128, 4, tu_awkward[i], 128, 5e6f, {24, 20, 20, 0}, 300, 1, NULL};
        run_case(&im, 1e-7);
        rcase m = {VK_ROPE_MROPE, 128, 2, tu_awkward[i], 128, 1e6f, {16, 24, 24, 0}, 300, 0, NULL};
        run_case(&m, 1e-7);
    }
    rcase gold = {VK_ROPE_IMROPE, 16, 4, 30, 16, 10000.0f, {3, 3, 2, 0}, 40, 1, NULL}; /* golden tiny model */
    run_case(&gold, 1e-7);
    rcase setb = {VK_ROPE_IMROPE, 16, 2, 7, 16, 10000.0f, {4, 2, 2, 0}, 40, 0, NULL};  /* pair 7 -> e */
    run_case(&setb, 1e-7);
    rcase wrap = {VK_ROPE_MROPE, 32, 2, 7, 32, 10000.0f, {2, 2, 1, 1}, 40, 0, NULL};   /* sectors wrap (6 < 16 pairs) */
    run_case(&wrap, 1e-7);
}

static void test_rope_vision(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++) {
        rcase v = {VK_ROPE_VISION, 72, 3, tu_awkward[i], 36, 10000.0f, {18, 18, 18, 18}, 48, 1, NULL}; /* Qwen3-VL ViT */
        run_case(&v, 1e-7);
    }
    rcase g = {VK_ROPE_VISION, 16, 4, 24, 8, 10000.0f, {4, 4, 4, 4}, 6, 0, NULL}; /* golden tiny ViT */
    run_case(&g, 1e-7);
}

/* Large positions (up to 32768): float angles lose ~pos·2^-24 absolute (as in ggml); measured ~4e-8 on lavapipe. */
static void test_rope_large_positions(void **state) {
    (void)state;
    rcase c = {VK_ROPE_IMROPE, 128, 4, 33, 128, 5e6f, {24, 20, 20, 0}, 32768, 0, NULL};
    run_case(&c, 1e-6);
}

/* NEOX with frequency factors: Gemma 4's global layers (rope_freqs = 1 for the first quarter of the pairs,
 * 1e30 for the rest: those pairs stay in place) and arbitrary factors. */
static void test_rope_freq_factors(void **state) {
    (void)state;
    float prop[64], any[64];
    for (int j = 0; j < 64; j++) prop[j] = j < 16 ? 1.0f : 1e30f;
    tu_fill(any, 64, 0.25f, 4.0f);
    for (int i = 0; i < 4; i++) {
        rcase g = {VK_ROPE_NEOX, 128, 2, tu_awkward[i], 128, 1e6f, {0}, 300, i & 1, prop};
        run_case(&g, 1e-7);
        rcase a = {VK_ROPE_NEOX, 64, 3, tu_awkward[i], 48, 1e4f, {0}, 300, 0, any}; /* partial: tail dims pass through */
        run_case(&a, 1e-7);
    }
    rcase wg1 = {VK_ROPE_NEOX, 258, 1, 1, 258, 1e6f, {0}, 300, 0, NULL}; /* 129 pairs = workgroup + 1 */
    float f129[129];
    tu_fill(f129, 129, 0.5f, 2.0f);
    wg1.ff = f129;
    run_case(&wg1, 1e-7);
}

/* In place, and replay with new positions written between submits. */
static void test_rope_inplace_replay(void **state) {
    (void)state;
    const int64_t hd = 16, H = 2, T = 1, n = hd * H * T;
    float x[32], ref[32], got[32];
    tu_fill(x, n, -1, 1);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, hd, H, T, 1, x), ty = tu_upload(MVK_TYPE_F32, hd, H, T, 1, NULL);
    int32_t *pm = NULL;
    tu_tensor tp = tu_host_i32(4, &pm); /* positions, set before each replay */
    vk_rope_params p = {.mode = VK_ROPE_IMROPE, .n_dims = 16, .freq_base = 10000.0f, .sections = {3, 3, 2, 0}};
    vk_stream *s = NULL;
    TU_OK(vk_stream_create(tu_vk, &s));
    TU_OK(vk_stream_begin(s));
    TU_OK(vk_op_rope(s, &ty.t, &tx.t, &tp.t, &p));
    TU_OK(vk_stream_end(s));
    for (int step = 0; step < 3; step++) {
        int32_t pos[4] = {5 + step, 9 + 2 * step, 3 + step, 0};
        memcpy(pm, pos, sizeof pos);
        TU_OK(vk_stream_submit(s));
        tu_download(&ty, got, n * 4);
        ref_rope(ref, x, pos, hd, H, T, REF_ROPE_IMROPE, 16, 10000.0f, p.sections);
        tu_assert_nmse("rope replay", ref, got, n, 1e-7);
    }
    vk_stream_destroy(s);
    int32_t pos[4] = {11, 12, 13, 0};
    memcpy(pm, pos, sizeof pos);
    s = tu_begin();
    TU_OK(vk_op_rope(s, &tx.t, &tx.t, &tp.t, &p));
    tu_end_submit(s);
    tu_download(&tx, got, n * 4);
    ref_rope(ref, x, pos, hd, H, T, REF_ROPE_IMROPE, 16, 10000.0f, p.sections);
    tu_assert_nmse("rope in place", ref, got, n, 1e-7);
    tu_free(&tx); tu_free(&ty);
    tu_free(&tp);
}

/* vk_op_rms_norm_rope_split: x [hd][H][T] heads normed (heads < split by w, the rest by w2) and rotated, against
 * ref_rms_norm_split then ref_rope / ref_rope_ff, and bit for bit against vk_op_rms_norm_split then vk_op_rope
 * (MOEVK_FUSE_NORM_ROPE=0): one dispatch on CPU devices (norm.comp rms_rope), the two ops elsewhere and with the
 * switch off */
static void norm_rope_case(vk_rope_mode mode, int64_t hd, int64_t H, int64_t T, int64_t split, int n_dims, const int sec[4],
                           const float *ff) {
    const float eps = 1e-6f;
    int64_t n = hd * H * T, npos = mode == VK_ROPE_NEOX ? T : 4 * T;
    float *x = malloc(n * 4), *mid = malloc(n * 4), *ref = malloc(n * 4), *got = malloc(n * 4), *sep = malloc(n * 4);
    float *w = malloc(hd * 4), *w2 = malloc(hd * 4);
    int32_t *pos = malloc(npos * 4);
    tu_fill(x, n, -3, 3);
    tu_fill(w, hd, 0.5f, 1.5f);
    tu_fill(w2, hd, -1.5f, -0.5f);
    tu_fill_i32(pos, npos, 0, 5000);
    ref_rms_norm_split(mid, x, w, w2, hd, H, T, split, eps);
    if (ff) ref_rope_ff(ref, mid, pos, hd, H, T, n_dims, 10000.0f, ff);
    else ref_rope(ref, mid, pos, hd, H, T, (int)mode, n_dims, 10000.0f, sec);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, hd, H, T, 1, x), ty = tu_upload(MVK_TYPE_F32, hd, H, T, 1, NULL);
    tu_tensor tw = tu_upload(MVK_TYPE_F32, hd, 1, 1, 1, w), tw2 = tu_upload(MVK_TYPE_F32, hd, 1, 1, 1, w2);
    tu_tensor tp = tu_upload(MVK_TYPE_I32, npos, 1, 1, 1, pos), tf = tu_upload(MVK_TYPE_F32, ff ? n_dims / 2 : 1, 1, 1, 1, ff);
    vk_rope_params p = {.mode = mode, .n_dims = n_dims, .freq_base = 10000.0f, .freq_factors = ff ? &tf.t : NULL};
    if (sec) memcpy(p.sections, sec, sizeof p.sections);
    const char *st = getenv("MOEVK_MM_STYLE");
    int cpu = st && st[0] ? !strcmp(st, "cpu") : vk_ctx_info(tu_vk)->kind == VK_KIND_CPU;
    char label[160];
    snprintf(label, sizeof label, "norm+rope mode %d hd %lld H %lld T %lld split %lld n_dims %d%s", (int)mode, (long long)hd,
             (long long)H, (long long)T, (long long)split, n_dims, ff ? " freq-factors" : "");
    for (int fused = 1; fused >= 0; fused--) {
        if (!fused) setenv("MOEVK_FUSE_NORM_ROPE", "0", 1);
        vk_stream *s = tu_begin();
        TU_OK(vk_op_rms_norm_rope_split(s, &ty.t, &tx.t, &tw.t, &tw2.t, split, eps, &tp.t, &p));
        uint32_t nd = vk_stream_dispatch_count(s), want = fused && cpu ? 1 : 2;
        tu_end_submit(s);
        unsetenv("MOEVK_FUSE_NORM_ROPE");
        if (nd != want) fail_msg("%s: %u dispatches with MOEVK_FUSE_NORM_ROPE=%d (%u expected)", label, nd, fused, want);
        tu_download(&ty, fused ? got : sep, n * 4);
    }
    int64_t d = 0;
    while (d < n && !memcmp(got + d, sep + d, 4)) d++;
    if (d < n) fail_msg("%s: y[%lld] %.9g against the two ops' %.9g", label, (long long)d, got[d], sep[d]);
    printf("%-90s nmse %.2e\n", label, tu_nmse(ref, got, n));
    tu_assert_nmse(label, ref, got, n, 1e-7);
    tu_free(&tx); tu_free(&ty); tu_free(&tw); tu_free(&tw2); tu_free(&tp); tu_free(&tf);
    free(x); free(mid); free(ref); free(got); free(sep); free(w); free(w2); free(pos);
}

static void test_norm_rope(void **state) {
    (void)state;
    static const int qwen3vl[4] = {24, 20, 20, 0}, mr[4] = {8, 4, 4, 0};
    float ff[16];
    for (int i = 0; i < 16; i++) ff[i] = i < 6 ? 1.0f : 1e30f; /* Gemma 4's proportional RoPE: the rest stay in place */
    norm_rope_case(VK_ROPE_IMROPE, 128, 36, 1, 32, 128, qwen3vl, NULL);   /* a3b: 32 q heads, 4 k heads */
    norm_rope_case(VK_ROPE_NEOX, 64, 10, 1, 8, 32, NULL, ff);             /* partial rotation: the tail copied */
    norm_rope_case(VK_ROPE_NEOX, 32, 6, 3, 6, 32, NULL, NULL);            /* three tokens, every head weighted by w */
    norm_rope_case(VK_ROPE_MROPE, 64, 5, 2, 0, 48, mr, NULL);             /* every head weighted by w2 */
}

static void test_norm_rope_bad_input(void **state) {
    (void)state;
    mvk_tensor *x = tu_shape(MVK_TYPE_F32, 16, 4, 1, 1), *y = tu_shape(MVK_TYPE_F32, 16, 4, 1, 1);
    mvk_tensor *w = tu_shape(MVK_TYPE_F32, 16, 1, 1, 1), *p1 = tu_shape(MVK_TYPE_I32, 1, 1, 1, 1), *p3 = tu_shape(MVK_TYPE_I32, 3, 1, 1, 1);
    vk_rope_params neox = {.mode = VK_ROPE_NEOX, .n_dims = 16, .freq_base = 10000.0f};
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_rms_norm_rope_split(s, x, x, w, w, 2, 1e-6f, p1, &neox), MOEVK_ERR_INVALID_ARG, "overlaps");
    TU_REFUSES(vk_op_rms_norm_rope_split(s, y, x, w, w, 5, 1e-6f, p1, &neox), MOEVK_ERR_INVALID_ARG, "split");
    TU_REFUSES(vk_op_rms_norm_rope_split(s, y, x, w, NULL, 2, 1e-6f, p1, &neox), MOEVK_ERR_INVALID_ARG, "weights");
    TU_REFUSES(vk_op_rms_norm_rope_split(s, y, x, w, w, 2, 1e-6f, p3, &neox), MOEVK_ERR_SHAPE, "vk_op_rms_norm_rope_split");
    TU_REFUSES(vk_op_rms_norm_rope_split(s, y, x, w, w, 2, 1e-6f, p1, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    tu_bad_end(s);
}

static void test_rope_bad_input(void **state) {
    (void)state;
    mvk_tensor *x = tu_shape(MVK_TYPE_F32, 16, 2, 3, 1), *y = tu_shape(MVK_TYPE_F32, 16, 2, 2, 1);
    mvk_tensor *p3 = tu_shape(MVK_TYPE_I32, 3, 1, 1, 1), *p12 = tu_shape(MVK_TYPE_I32, 12, 1, 1, 1);
    mvk_tensor *pf = tu_shape(MVK_TYPE_F32, 3, 1, 1, 1);
    vk_rope_params neox = {.mode = VK_ROPE_NEOX, .n_dims = 16, .freq_base = 10000.0f};
    vk_rope_params vis = {.mode = VK_ROPE_VISION, .n_dims = 16, .freq_base = 10000.0f, .sections = {4, 4, 0, 0}};
    vk_rope_params big = neox;
    big.n_dims = 18;
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_rope(s, y, x, p3, &neox), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_rope(s, x, x, p12, &neox), MOEVK_ERR_SHAPE, NULL); /* NEOX wants [T] */
    TU_REFUSES(vk_op_rope(s, x, x, pf, &neox), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_rope(s, x, x, p3, &big), MOEVK_ERR_SHAPE, "vk_op_rope");
    vis.n_dims = 9; /* rotates 18 > 16 dims */
    TU_REFUSES(vk_op_rope(s, x, x, p12, &vis), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_rope(s, x, x, p3, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    mvk_tensor *f7 = tu_shape(MVK_TYPE_F32, 7, 1, 1, 1), *f8 = tu_shape(MVK_TYPE_F32, 8, 1, 1, 1);
    vk_rope_params ffs = neox;
    ffs.freq_factors = f7; /* 7 < 16/2 factors */
    TU_REFUSES(vk_op_rope(s, x, x, p3, &ffs), MOEVK_ERR_SHAPE, "freq_factors");
    vk_rope_params imr = {.mode = VK_ROPE_IMROPE, .n_dims = 16, .freq_base = 10000.0f, .sections = {3, 3, 2, 0}, .freq_factors = f8};
    TU_REFUSES(vk_op_rope(s, x, x, p12, &imr), MOEVK_ERR_UNSUPPORTED, "freq_factors");
    tu_bad_end(s);
}

int main(void) {
    tu_seed(3);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rope_neox, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_rope_mrope_imrope, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_rope_vision, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_rope_large_positions, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_rope_freq_factors, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_rope_inplace_replay, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_rope_bad_input, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_norm_rope, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_norm_rope_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
