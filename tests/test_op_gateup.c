/* test_op_gateup.c — the fused gate+up op (vk_op_gateup_id, vk_op_gateup; decode on CPU devices:
 * shaders/matvec_lane.comp GATEUP, one dispatch) against ref_gateup_id: the id form for every weight
 * type of the table (F32, F16, BF16 and the quantised ones) at rows N = 1, 7, 33, repeated and invalid
 * (-1, E) ids, x shared or one per slot; for Q8_0, Q4_K, Q6_K (their own block code), Q4_0 (the
 * generic chunk path) and F16 (plain) also the dense form, GeGLU and N = 127 and 257 (the lane
 * mat-vec's 32-row workgroup + 1: mm_lane_wg). The separate dispatches (MOEVK_FUSE_GATEUP=0; what
 * prefill and GPUs take) give the same bits; T > 1 takes them; MOEVK_LANE_XSG=1's shared x reads.
 * The dense mat-vec's two-rows-a-lane variant (PAIR, the same two-stream code) as well. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"
#include "tu_quant.h"

#define MAXT 40
static mvk_type types[MAXT];
static int n_types;
static double worst[MAXT];

/* random weights [K][rows] of type t: the device bytes (file layout) and what they dequantise to */
static void *make_w(mvk_type t, int64_t K, int64_t rows, uint64_t seed, float **wd) {
    *wd = malloc((size_t)(K * rows) * 4);
    assert_non_null(*wd);
    if (mvk_type_is_quant(t)) {
        int64_t nb = K / mvk_type_block_elems(t) * rows;
        uint8_t *blk = malloc((size_t)(nb * mvk_type_block_bytes(t)));
        assert_non_null(blk);
        tu_rand_blocks(t, blk, nb, seed);
        mvk_dequantize_row(t, blk, *wd, K * rows);
        return blk;
    }
    float *f = malloc((size_t)(K * rows) * 4);
    assert_non_null(f);
    tu_seed(seed);
    tu_fill(f, K * rows, -0.1f, 0.1f);
    tu_round_through(t, f, *wd, K * rows);
    return f;
}

static tu_tensor upload_w(mvk_type t, int64_t K, int64_t N, int64_t E, const void *data) {
    return mvk_type_is_quant(t) ? tu_upload(t, K, N, E, 1, data) : tu_upload_as(t, K, N, E, 1, (const float *)data);
}

/* One case: T tokens of k slots over E experts of N rows (ids: NULL = a fixed pattern with a repeated
 * expert and invalid ids); dense: vk_op_gateup (E = k = T = 1). Runs the op, then again with
 * MOEVK_FUSE_GATEUP=0 where bitwise (the separate dispatches must give the same bits). */
static double gu_case(int ti, int64_t K, int64_t N, int64_t E, int64_t k, int64_t T, int per_slot, int dense, vk_glu act,
                      int bitwise) {
    mvk_type t = types[ti];
    int64_t xrows = per_slot ? k * T : T;
    float *wgd, *wud, *x = malloc((size_t)(K * xrows) * 4);
    uint64_t seed = (uint64_t)(K * 7 + N * 13 + E * 3 + k * 5 + T + ti * 101);
    void *wgb = make_w(t, K, N * E, seed, &wgd), *wub = make_w(t, K, N * E, seed + 1, &wud);
    tu_seed(seed + 2);
    tu_fill(x, K * xrows, -1, 1);
    int32_t *ids = malloc((size_t)(k * T) * 4);
    for (int64_t i = 0; i < k * T; i++) ids[i] = (int32_t)((i * 3 + 1) % E);
    if (!dense && k * T >= 3) {
        ids[1] = ids[0];              /* a repeated expert */
        ids[2] = -1;                  /* invalid: zero rows */
        if (k * T >= 4) ids[3] = (int32_t)E;
    }
    float *ref = malloc((size_t)(N * k * T) * 4), *got = malloc((size_t)(N * k * T) * 4), *sep = malloc((size_t)(N * k * T) * 4);
    ref_gateup_id(ref, x, per_slot, wgd, wud, ids, K, N, E, k, T, act == VK_GLU_GEGLU);
    tu_tensor tx = per_slot ? tu_upload(MVK_TYPE_F32, K, k, T, 1, x) : tu_upload(MVK_TYPE_F32, K, T, 1, 1, x);
    tu_tensor twg = upload_w(t, K, N, E, wgb), twu = upload_w(t, K, N, E, wub), tid = tu_upload(MVK_TYPE_I32, k, T, 1, 1, ids);
    tu_tensor ty = dense ? tu_upload(MVK_TYPE_F32, N, 1, 1, 1, NULL) : tu_upload(MVK_TYPE_F32, N, k, T, 1, NULL);
    float *old = malloc((size_t)(N * k * T) * 4);
    /* pass 0: fused; 1: the separate dispatches; 2: fused in the kernel's older order (MOEVK_LANE_STREAM=0) */
    for (int pass = 0; pass < (bitwise ? 3 : 1); pass++) {
        setenv("MOEVK_FUSE_GATEUP", pass == 1 ? "0" : "1", 1); /* forced: the default fuses float and Q4_K weights only */
        if (pass == 2) setenv("MOEVK_LANE_STREAM", "0", 1);
        vk_stream *s = tu_begin();
        if (dense) TU_OK(vk_op_gateup(s, &ty.t, &tx.t, &twg.t, &twu.t, act));
        else TU_OK(vk_op_gateup_id(s, &ty.t, &tx.t, &twg.t, &twu.t, &tid.t, act));
        /* the fused kernel is one dispatch; it runs on CPU devices (lavapipe) in decode; else matmuls + activation */
        int fused = pass != 1 && T == 1 && vk_ctx_info(tu_vk)->kind == VK_KIND_CPU && !getenv("MOEVK_MM_STYLE");
        if (fused ? vk_stream_dispatch_count(s) != 1 : vk_stream_dispatch_count(s) < 3)
            fail_msg("%s %s N=%lld T=%lld pass %d: %u dispatches", dense ? "gateup" : "gateup_id", mvk_type_name(t), (long long)N,
                     (long long)T, pass, (unsigned)vk_stream_dispatch_count(s));
        tu_end_submit(s);
        tu_download(&ty, pass == 0 ? got : pass == 1 ? sep : old, (uint64_t)(N * k * T) * 4);
        unsetenv("MOEVK_FUSE_GATEUP");
        unsetenv("MOEVK_LANE_STREAM");
    }
    char label[200];
    snprintf(label, sizeof label, "gateup%s %s K=%lld N=%lld E=%lld k=%lld T=%lld per_slot=%d act=%d", dense ? "" : "_id",
             mvk_type_name(t), (long long)K, (long long)N, (long long)E, (long long)k, (long long)T, per_slot, (int)act);
    tu_assert_nmse(label, ref, got, N * k * T, 1e-7);
    for (int64_t i = 0; i < N * k * T; i++)
        if (!dense && ids[i / N] < 0 && got[i] != 0.0f) fail_msg("%s: invalid id's row element %lld is %g, not 0", label, (long long)i, got[i]);
    if (bitwise) {
        int64_t d = tu_first_bit_diff(sep, got, N * k * T);
        if (d >= 0) fail_msg("%s: fused and separate dispatches differ at %lld: %.9g vs %.9g", label, (long long)d, got[d], sep[d]);
        d = tu_first_bit_diff(old, got, N * k * T);
        if (d >= 0) fail_msg("%s: MOEVK_LANE_STREAM=0 differs at %lld: %.9g vs %.9g", label, (long long)d, old[d], got[d]);
    }
    double e = tu_nmse(ref, got, N * k * T);
    tu_free(&tx); tu_free(&twg); tu_free(&twu); tu_free(&tid); tu_free(&ty);
    free(wgb); free(wub); free(wgd); free(wud); free(x); free(ids); free(ref); free(got); free(sep); free(old);
    return e;
}

static void note(int ti, double e) {
    if (e > worst[ti]) worst[ti] = e;
}

static int main_type(mvk_type t) {
    return t == MVK_TYPE_Q8_0 || t == MVK_TYPE_Q4_K || t == MVK_TYPE_Q6_K || t == MVK_TYPE_Q4_0 || t == MVK_TYPE_F16;
}

static void test_gateup(void **state) {
    (void)state;
    for (int i = 0; i < n_types; i++) {
        mvk_type t = types[i];
        int64_t be = mvk_type_block_elems(t), K = be == 256 ? 512 : 96;
        int bw = main_type(t); /* bit-identity with the separate dispatches: the lane mat-vec's main types */
        note(i, gu_case(i, K, 1, 3, 2, 1, 0, 0, VK_GLU_SWIGLU, 0));  /* one row */
        note(i, gu_case(i, K, 7, 5, 4, 1, 1, 0, VK_GLU_SWIGLU, bw)); /* x per slot, repeated and invalid ids */
        note(i, gu_case(i, be == 1 ? 64 : be, 33, 4, 4, 1, 0, 0, VK_GLU_SWIGLU, 0));
        if (main_type(t)) { /* the dense form's addressing (the type's decode is the id form's), GeGLU, wider workgroups */
            note(i, gu_case(i, K, 7, 1, 1, 1, 0, 1, VK_GLU_SWIGLU, 0));
            note(i, gu_case(i, K, 127, 3, 3, 1, 0, 0, VK_GLU_GEGLU, t == MVK_TYPE_Q4_K));
            note(i, gu_case(i, K, 257, 2, 2, 1, 0, 0, VK_GLU_SWIGLU, 0)); /* 32-row workgroups + 1 */
            note(i, gu_case(i, K, 33, 1, 1, 1, 0, 1, VK_GLU_GEGLU, t == MVK_TYPE_Q8_0)); /* dense GeGLU */
        }
    }
}

/* T > 1 (prefill) and the XSG path (x shared across the subgroup, MOEVK_LANE_XSG=1) */
static void test_prefill_and_xsg(void **state) {
    (void)state;
    for (int i = 0; i < n_types; i++) {
        if (types[i] != MVK_TYPE_Q8_0 && types[i] != MVK_TYPE_Q4_K) continue;
        note(i, gu_case(i, 256, 33, 4, 2, 3, 0, 0, VK_GLU_SWIGLU, 0));
        setenv("MOEVK_LANE_XSG", "1", 1);
        note(i, gu_case(i, 256, 65, 4, 2, 1, 0, 0, VK_GLU_SWIGLU, 0));
        unsetenv("MOEVK_LANE_XSG");
    }
}

/* The dense mat-vec's PAIR variant (vk_op_matmul, M = 1: two rows a lane, n and n + ceil(N/2), sharing
 * each x fetch; matvec_lane.comp; MOEVK_LANE_PAIR=1) against ref_matmul and bit for bit against one row
 * a lane (MOEVK_LANE_PAIR=0) and against its older order (MOEVK_LANE_STREAM=0): odd and even N, with and
 * without bias. */
static void pair_case(int ti, int64_t K, int64_t N, int with_bias) {
    mvk_type t = types[ti];
    float *wd, *x = malloc((size_t)K * 4), *b = malloc((size_t)N * 4);
    void *wb = make_w(t, K, N, (uint64_t)(K * 3 + N + ti), &wd);
    tu_seed((uint64_t)(N * 5 + K));
    tu_fill(x, K, -1, 1);
    tu_fill(b, N, -1, 1);
    float *ref = malloc((size_t)N * 4), *got = malloc((size_t)N * 4), *one = malloc((size_t)N * 4), *old = malloc((size_t)N * 4);
    ref_matmul(ref, x, wd, with_bias ? b : NULL, 1, N, K);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, 1, 1, 1, x), tw = upload_w(t, K, N, 1, wb), tb = tu_upload(MVK_TYPE_F32, N, 1, 1, 1, b);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, N, 1, 1, 1, NULL);
    /* pass 0: two rows a lane; 1: one row a lane; 2: two rows a lane in the kernel's older order
       (MOEVK_LANE_STREAM=0: each stream's block unpacked before the x fetches; same operations) */
    for (int pass = 0; pass < 3; pass++) {
        setenv("MOEVK_LANE_PAIR", pass == 1 ? "0" : "1", 1);
        if (pass == 2) setenv("MOEVK_LANE_STREAM", "0", 1);
        vk_stream *s = tu_begin();
        TU_OK(vk_op_matmul(s, &ty.t, &tx.t, &tw.t, with_bias ? &tb.t : NULL));
        if (pass != 1 && vk_ctx_info(tu_vk)->kind == VK_KIND_CPU && !getenv("MOEVK_MM_STYLE") && vk_stream_dispatch_count(s) != 1)
            fail_msg("matmul pair %s N=%lld: %u dispatches", mvk_type_name(t), (long long)N, (unsigned)vk_stream_dispatch_count(s));
        tu_end_submit(s);
        tu_download(&ty, pass == 0 ? got : pass == 1 ? one : old, (uint64_t)N * 4);
        unsetenv("MOEVK_LANE_PAIR");
        unsetenv("MOEVK_LANE_STREAM");
    }
    char label[120];
    snprintf(label, sizeof label, "matmul pair %s K=%lld N=%lld bias=%d", mvk_type_name(t), (long long)K, (long long)N, with_bias);
    tu_assert_nmse(label, ref, got, N, 1e-7);
    int64_t d = tu_first_bit_diff(one, got, N);
    if (d >= 0) fail_msg("%s: two rows a lane and one differ at %lld: %.9g vs %.9g", label, (long long)d, got[d], one[d]);
    d = tu_first_bit_diff(old, got, N);
    if (d >= 0) fail_msg("%s: MOEVK_LANE_STREAM=0 differs at %lld: %.9g vs %.9g", label, (long long)d, old[d], got[d]);
    note(ti, tu_nmse(ref, got, N));
    tu_free(&tx); tu_free(&tw); tu_free(&tb); tu_free(&ty);
    free(wb); free(wd); free(x); free(b); free(ref); free(got); free(one); free(old);
}

static void test_pair(void **state) {
    (void)state;
    for (int i = 0; i < n_types; i++) {
        if (!main_type(types[i])) continue;
        int64_t K = mvk_type_block_elems(types[i]) == 256 ? 512 : 96;
        pair_case(i, K, 2, 0);
        pair_case(i, K, 33, 1);
        pair_case(i, K, 258, 0);
    }
}

/* The default choice (MOEVK_FUSE_GATEUP unset): the fused kernel for float weights and Q4_K (one dispatch), the separate
 * dispatches for the other quantised types (Q8_0 here), on CPU devices in decode; GPUs (or a forced GPU style) never fuse */
static void test_default(void **state) {
    (void)state;
    const int64_t K = 256, N = 9;
    unsetenv("MOEVK_FUSE_GATEUP");
    const char *st = getenv("MOEVK_MM_STYLE");
    int cpu = st && st[0] ? !strcmp(st, "cpu") : vk_ctx_info(tu_vk)->kind == VK_KIND_CPU;
    mvk_type ts[3] = {MVK_TYPE_F16, MVK_TYPE_Q4_K, MVK_TYPE_Q8_0};
    for (int i = 0; i < 3; i++) {
        float *wd;
        void *wb = make_w(ts[i], K, N, (uint64_t)(40 + i), &wd);
        tu_tensor tx = tu_upload(MVK_TYPE_F32, K, 1, 1, 1, NULL), tw = upload_w(ts[i], K, N, 1, wb);
        tu_tensor ty = tu_upload(MVK_TYPE_F32, N, 1, 1, 1, NULL);
        vk_stream *s = tu_begin();
        TU_OK(vk_op_gateup(s, &ty.t, &tx.t, &tw.t, &tw.t, VK_GLU_SWIGLU));
        uint32_t nd = vk_stream_dispatch_count(s);
        tu_end_submit(s);
        int want_fused = cpu && ts[i] != MVK_TYPE_Q8_0;
        if (want_fused ? nd != 1 : nd < 3)
            fail_msg("default gateup %s: %u dispatches (%s expected)", mvk_type_name(ts[i]), nd, want_fused ? "1, fused" : "the separate ones");
        tu_free(&tx); tu_free(&tw); tu_free(&ty);
        free(wb); free(wd);
    }
}

static void test_bad_input(void **state) {
    (void)state;
    tu_tensor x = tu_upload(MVK_TYPE_F32, 256, 1, 1, 1, NULL), wg = tu_upload(MVK_TYPE_Q4_K, 256, 5, 2, 1, NULL);
    tu_tensor wu = tu_upload(MVK_TYPE_Q4_K, 256, 6, 2, 1, NULL), y = tu_upload(MVK_TYPE_F32, 5, 1, 1, 1, NULL);
    tu_tensor ids = tu_upload(MVK_TYPE_I32, 1, 1, 1, 1, NULL);
    vk_stream *s = tu_begin();
    assert_int_equal(vk_op_gateup_id(s, &y.t, &x.t, &wg.t, &wu.t, &ids.t, VK_GLU_SWIGLU), MOEVK_ERR_SHAPE);
    assert_non_null(strstr(moevk_last_error(), "wu is"));
    assert_int_equal(vk_op_gateup_id(s, &y.t, &x.t, &wg.t, &wg.t, &ids.t, (vk_glu)7), MOEVK_ERR_INVALID_ARG);
    assert_non_null(strstr(moevk_last_error(), "activation"));
    assert_int_equal(vk_stream_dispatch_count(s), 0);
    tu_end_submit(s);
    tu_free(&x); tu_free(&wg); tu_free(&wu); tu_free(&y); tu_free(&ids);
}

static int report(void **state) {
    for (int i = 0; i < n_types; i++) fprintf(stderr, "%-7s worst nmse: gateup %.3e\n", mvk_type_name(types[i]), worst[i]);
    return tu_group_teardown(state);
}

int main(void) {
    /* f32 x throughout: these compare against the f32 reference at NMSE 1e-7 (and paths bit for bit); the
     * lane mat-vec's int8 x (MOEVK_LANE_XQ, on by default on CPU devices) and the lane GEMM's (MOEVK_GEMM_XQ, Q4_K)
     * are test_op_quant_x's */
    setenv("MOEVK_LANE_XQ", "0", 1);
    setenv("MOEVK_GEMM_XQ", "0", 1);
    types[0] = MVK_TYPE_F32;
    types[1] = MVK_TYPE_F16;
    types[2] = MVK_TYPE_BF16;
    n_types = 3 + tu_quant_types(types + 3, MAXT - 3);
    const char *only = getenv("MOEVK_TEST_QTYPE"); /* e.g. q4_K: one type (debugging) */
    if (only && only[0]) {
        int k = 0;
        for (int i = 0; i < n_types; i++)
            if (!strcmp(mvk_type_name(types[i]), only)) types[k++] = types[i];
        n_types = k;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gateup, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_prefill_and_xsg, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_pair, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_default, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
    };
    return cmocka_run_group_tests(tests, tu_group_setup, report);
}
