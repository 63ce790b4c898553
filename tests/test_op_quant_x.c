/* test_op_quant_x.c — the lane mat-vec's int8 x (vk_op_mm.h mm_lane_xq; matvec_lane.comp XQ):
 *   quant_x: vk_op_quant_x against ref_quant_x on random rows (K 32 .. 2048, strided rows, a zero block,
 *     one large value in a block, 3-D x): scales within 1e-6, quants within 1 of the reference's and
 *     equal for all but 1 in 1000 (a tie x/d = n + 1/2 may round either way where the device's
 *     division is not exact), the padding words zero;
 *   every quantised weight type in vk_op_matmul (M = 1: two rows a lane and, MOEVK_LANE_PAIR=0, one;
 *     M = 3; odd N), vk_op_mul_mat_id's decode (shared and per-slot x, T = 1 and 3, an invalid id) and
 *     vk_op_gateup / vk_op_gateup_id (the fused kernel, and the separate dispatches) with the int8 path forced (MOEVK_MM_STYLE=cpu,
 *     MOEVK_LANE_XQ=1), on x whose int8 form is exact (each block q d with d a power of two and one
 *     |q| = 127, so quant_x gives back x): NMSE <= 1e-9 against ref_matmul / ref_mul_mat_id on the
 *     dequantised weights. Each block has its own d, so a wrong scale or block index fails. One more
 *     dispatch (the quantisation) than f32 x shows the int8 path ran. Q4_K and Q6_K run each case twice more:
 *     their SWAR sums (matvec_lane.comp q4kx_swar / q6kx_swar, the default) bit for bit those of
 *     MOEVK_LANE_SWAR=0 (q4kx_dot's / q6kx_acc's float sums), and on weights and x at the SWAR fields' limits
 *     against the reference (Q4_K: every nibble 15, every x +-127: 16 products of 1905 in one 16-bit field;
 *     Q6_K: every value 0 or 63 by super-block, q - 32 = -32 or 31, x +-127: 8 products of up to 4064);
 *   Q6_K8 (the device-only Q6_K, a value a byte) as Q6_K (SWAR twice, the limits), and bit for bit Q6_K's y on the
 *     same weights in every lane mat-vec form (twin_case);
 *   vk_quant_x_shared: two mat-vecs of one x share one quantisation, and a write to x (a dispatch, a copy),
 *     a scratch reset below xq or another view of x makes the second quantise again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"
#include "tu_quant.h"

#define MAXT 32
static mvk_type types[MAXT];
static int n_types;

/* ---- vk_op_quant_x against ref_quant_x */

static void qx_case(int64_t K, int64_t R1, int64_t R2, int64_t pad) {
    int64_t rows = R1 * R2, rq = vk_quant_x_row_words(K);
    float *x = malloc((size_t)((K + pad) * rows) * 4), *xc = malloc((size_t)(K * rows) * 4);
    uint32_t *ref = malloc((size_t)(rq * rows) * 4), *got = malloc((size_t)(rq * rows) * 4);
    assert_non_null(x); assert_non_null(xc); assert_non_null(ref); assert_non_null(got);
    tu_fill(x, (K + pad) * rows, -3, 3);
    if (K >= 64) {
        for (int i = 0; i < 32; i++) x[32 + i] = 0.0f; /* a zero block (d = 0) */
        x[5] = 1000.0f;                                /* one large value: the rest of its block rounds to 0 */
    }
    for (int64_t r = 0; r < rows; r++) memcpy(xc + r * K, x + r * (K + pad), (size_t)K * 4);
    ref_quant_x(ref, NULL, xc, K, rows);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K + pad, R1, R2, 1, x), tq = tu_upload(MVK_TYPE_I32, rq, R1, R2, 1, NULL);
    mvk_tensor xv = tx.t;
    xv.ne[0] = K; /* rows of stride K + pad */
    vk_stream *s = tu_begin();
    TU_OK(vk_op_quant_x(s, &tq.t, &xv));
    tu_end_submit(s);
    tu_download(&tq, got, (uint64_t)(rq * rows) * 4);
    int64_t nb = K / 32, off = 0, n = 0;
    for (int64_t r = 0; r < rows; r++) {
        const uint32_t *a = ref + r * rq, *b = got + r * rq;
        for (int64_t i = 0; i < K; i++) {
            int qa = (int8_t)(a[i / 4] >> (8 * (i % 4))), qb = (int8_t)(b[i / 4] >> (8 * (i % 4)));
            if (abs(qa - qb) > 1)
                fail_msg("quant_x K=%lld row %lld element %lld: ref %d got %d", (long long)K, (long long)r, (long long)i, qa, qb);
            off += qa != qb;
            n++;
        }
        for (int64_t j = 0; j < nb; j++) {
            float da, db;
            memcpy(&da, &a[K / 4 + j], 4);
            memcpy(&db, &b[K / 4 + j], 4);
            if (fabsf(da - db) > 1e-6f * fabsf(da))
                fail_msg("quant_x K=%lld row %lld block %lld: scale ref %.9g got %.9g", (long long)K, (long long)r, (long long)j,
                         (double)da, (double)db);
        }
        for (int64_t w = K / 4 + nb; w < rq; w++)
            if (b[w] != 0) fail_msg("quant_x K=%lld row %lld: padding word %lld is %#x", (long long)K, (long long)r, (long long)w, b[w]);
    }
    if (off * 1000 > n) fail_msg("quant_x K=%lld: %lld of %lld quants differ by one", (long long)K, (long long)off, (long long)n);
    tu_free(&tx); tu_free(&tq);
    free(x); free(xc); free(ref); free(got);
}

static void test_quant_x(void **state) {
    (void)state;
    qx_case(32, 1, 1, 0);
    qx_case(96, 3, 1, 1);   /* unaligned rows, scales padded (3 of 4) */
    qx_case(128, 2, 3, 0);  /* 3-D */
    qx_case(160, 5, 1, 4);
    qx_case(2048, 2, 1, 0);
}

static void test_quant_x_bad_input(void **state) {
    (void)state;
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_quant_x(s, tu_shape(MVK_TYPE_I32, vk_quant_x_row_words(32), 1, 1, 1), tu_shape(MVK_TYPE_F32, 48, 1, 1, 1)),
               MOEVK_ERR_SHAPE, "blocks of 32");
    TU_REFUSES(vk_op_quant_x(s, tu_shape(MVK_TYPE_I32, 8, 1, 1, 1), tu_shape(MVK_TYPE_F32, 32, 1, 1, 1)), MOEVK_ERR_SHAPE, "needs");
    TU_REFUSES(vk_op_quant_x(s, tu_shape(MVK_TYPE_F32, vk_quant_x_row_words(32), 1, 1, 1), tu_shape(MVK_TYPE_F32, 32, 1, 1, 1)),
               MOEVK_ERR_UNSUPPORTED, "xq");
    TU_REFUSES(vk_op_quant_x(NULL, NULL, NULL), MOEVK_ERR_INVALID_ARG, "stream");
    tu_bad_end(s);
}

/* ---- the int8-x mat-vecs */

/* g_limit: make_w's Q4_K nibbles all 15, its Q6_K values all 0 or all 63 by super-block, and exact_x's blocks
 * all +127 d, all -127 d or the two alternating in pairs, by block: the SWAR sums' 16-bit fields at their
 * bounds (matvec_lane.comp q4kx_swar, q6kx_swar) */
static int g_limit;

/* x [K][rows] whose int8 form is exact: block j of row r is q d with d = 2^-(3 + (j + r) % 5), q in
 * [-127, 127], one of them +-127 (so quant_x's d is this d and x / d is q exactly); every 7th block zero */
static void exact_x(float *x, int64_t K, int64_t rows) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < K / 32; j++) {
            float *b = x + r * K + 32 * j;
            float d = ldexpf(1.0f, -(int)(3 + (j + r) % 5));
            int zero = (j + 3 * r) % 7 == 6;
            for (int i = 0; i < 32; i++) b[i] = zero ? 0.0f : (float)((int)tu_randf(-127.49f, 127.49f)) * d;
            if (!zero) b[(j * 5 + r) % 32] = (j % 2 ? 127.0f : -127.0f) * d;
            if (g_limit) {
                int kind = (int)((j + r) % 3);
                for (int i = 0; i < 32; i++) b[i] = (kind == 0 || (kind == 2 && i % 4 < 2) ? 127.0f : -127.0f) * d;
            }
        }
}

/* random weights [K][rows]: ggml blocks and their CPU dequantisation */
static uint8_t *make_w(mvk_type t, int64_t K, int64_t rows, uint64_t seed, float **wd) {
    uint8_t *blk = tu_quant_weights(t, K, rows, seed, wd);
    assert_non_null(blk);
    if (g_limit && t == MVK_TYPE_Q4_K) { /* every nibble 15 (block_q4_K: d, dmin, scales[12], then qs[128]) */
        for (int64_t b = 0; b < K / 256 * rows; b++) memset(blk + b * 144 + 16, 0xff, 128);
        mvk_dequantize_row(t, blk, *wd, K * rows);
    }
    if (g_limit && t == MVK_TYPE_Q6_K) { /* ql, qh all 0 or all ones: values 0 or 63 (block_q6_K: ql[128], qh[64], then
                                            scales[16], d) */
        for (int64_t b = 0; b < K / 256 * rows; b++) memset(blk + b * 210, b % 3 == 1 ? 0x00 : 0xff, 192);
        mvk_dequantize_row(t, blk, *wd, K * rows);
    }
    if (g_limit && t == MVK_TYPE_Q6_K8) { /* the same values 0 or 63 (block: q[256], then scales[16], d) */
        for (int64_t b = 0; b < K / 256 * rows; b++) memset(blk + b * 274, b % 3 == 1 ? 0 : 63, 256);
        mvk_dequantize_row(t, blk, *wd, K * rows);
    }
    return blk;
}

/* Q4_K's, Q6_K's and Q6_K8's SWAR check: the run again with MOEVK_LANE_SWAR=0 (set by the caller around the second
 * pass) */
static int swar_passes(mvk_type t) { return t == MVK_TYPE_Q4_K || t == MVK_TYPE_Q6_K || t == MVK_TYPE_Q6_K8 ? 2 : 1; }
static void swar_same(const char *label, const float *got, const float *old, int64_t n) {
    int64_t d = tu_first_bit_diff(got, old, n);
    if (d >= 0) fail_msg("%s: SWAR differs from MOEVK_LANE_SWAR=0 at %lld: %.9g vs %.9g", label, (long long)d, got[d], old[d]);
}

static void mm_case(mvk_type t, int64_t M, int64_t N, int64_t K, int pair) {
    float *wd, *x = malloc((size_t)(K * M) * 4), *ref = malloc((size_t)(N * M) * 4), *got = malloc((size_t)(N * M) * 4);
    uint8_t *blk = make_w(t, K, N, (uint64_t)(M * 131 + N * 17 + K), &wd);
    exact_x(x, K, M);
    ref_matmul(ref, x, wd, NULL, M, N, K);
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, M, 1, 1, x), tw = tu_upload(t, K, N, 1, 1, blk), ty = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL);
    float *old = malloc((size_t)(N * M) * 4);
    uint32_t nd = 0;
    setenv("MOEVK_LANE_PAIR", pair ? "1" : "0", 1);
    for (int pass = 0; pass < swar_passes(t); pass++) {
        if (pass) setenv("MOEVK_LANE_SWAR", "0", 1);
        vk_stream *s = tu_begin();
        TU_OK(vk_op_matmul(s, &ty.t, &tx.t, &tw.t, NULL));
        nd = pass ? nd : vk_stream_dispatch_count(s);
        tu_end_submit(s);
        tu_download(&ty, pass ? old : got, (uint64_t)(N * M) * 4);
        unsetenv("MOEVK_LANE_SWAR");
    }
    unsetenv("MOEVK_LANE_PAIR");
    char label[128];
    snprintf(label, sizeof label, "int8-x matmul %s M=%lld N=%lld K=%lld pair=%d%s", mvk_type_name(t), (long long)M, (long long)N,
             (long long)K, pair, g_limit ? " limits" : "");
    if (swar_passes(t) > 1) swar_same(label, got, old, N * M);
    free(old);
    if (nd != 2) fail_msg("%s: %u dispatches (the quantisation and the mat-vec expected)", label, nd);
    tu_assert_nmse(label, ref, got, N * M, 1e-9);
    tu_free(&tx); tu_free(&tw); tu_free(&ty);
    free(blk); free(wd); free(x); free(ref); free(got);
}

static void id_case(mvk_type t, int64_t K, int64_t N, int64_t E, int64_t k, int64_t T, int per_slot) {
    int64_t xrows = per_slot ? k * T : T;
    float *wd, *x = malloc((size_t)(K * xrows) * 4);
    uint8_t *blk = make_w(t, K, N * E, (uint64_t)(K + N * 3 + E * 5 + T * 7 + k), &wd);
    exact_x(x, K, xrows);
    int32_t ids[64];
    assert_true(k * T <= 64);
    for (int64_t tt = 0; tt < T; tt++)
        for (int64_t j = 0; j < k; j++) ids[tt * k + j] = (int32_t)((tt + j * 3) % E);
    if (k * T > 2) ids[k * T - 1] = -1; /* invalid: a zero row */
    float *ref = malloc((size_t)(N * k * T) * 4), *got = malloc((size_t)(N * k * T) * 4);
    ref_mul_mat_id(ref, x, per_slot, wd, ids, K, N, E, k, T);
    tu_tensor tx = per_slot ? tu_upload(MVK_TYPE_F32, K, k, T, 1, x) : tu_upload(MVK_TYPE_F32, K, T, 1, 1, x);
    tu_tensor tw = tu_upload(t, K, N, E, 1, blk), tid = tu_upload(MVK_TYPE_I32, k, T, 1, 1, ids);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, N, k, T, 1, NULL);
    float *old = malloc((size_t)(N * k * T) * 4);
    uint32_t nd = 0;
    for (int pass = 0; pass < swar_passes(t); pass++) {
        if (pass) setenv("MOEVK_LANE_SWAR", "0", 1);
        vk_stream *s = tu_begin();
        TU_OK(vk_op_mul_mat_id(s, &ty.t, &tx.t, &tw.t, &tid.t));
        nd = pass ? nd : vk_stream_dispatch_count(s);
        tu_end_submit(s);
        tu_download(&ty, pass ? old : got, (uint64_t)(N * k * T) * 4);
        unsetenv("MOEVK_LANE_SWAR");
    }
    char label[160];
    snprintf(label, sizeof label, "int8-x mul_mat_id %s K=%lld N=%lld E=%lld k=%lld T=%lld per_slot=%d%s", mvk_type_name(t),
             (long long)K, (long long)N, (long long)E, (long long)k, (long long)T, per_slot, g_limit ? " limits" : "");
    if (swar_passes(t) > 1) swar_same(label, got, old, N * k * T);
    free(old);
    if (nd != 2) fail_msg("%s: %u dispatches (the quantisation and the mat-vec expected)", label, nd);
    tu_assert_nmse(label, ref, got, N * k * T, 1e-9);
    tu_free(&tx); tu_free(&tw); tu_free(&tid); tu_free(&ty);
    free(blk); free(wd); free(x); free(ref); free(got);
}

/* The lane GEMM with int8 x (Q4_K, matmul_lane.comp XQ, vk_op_mm.h mm_gemm_xq): vk_op_matmul with M > 8 (dense)
 * or vk_op_mul_mat_id with T > 8 (the expert GEMM, tiles of moe_group), once with int8 x (the default: one
 * dispatch more, the quantisation) and once with MOEVK_GEMM_XQ=0 (f32 x), both against the reference on exact_x,
 * whose int8 form is x itself (so the reference is that of the quantised x); the int8 run is also within 1e-10
 * of the f32 one, which sums the same values in another order. */
static void gemm_case(int64_t M, int64_t N, int64_t K, int id, int64_t E, int64_t k, int per_slot) {
    mvk_type t = MVK_TYPE_Q4_K;
    int64_t T = M, xrows = id ? (per_slot ? k * T : T) : M, ny = id ? N * k * T : N * M;
    float *wd, *x = malloc((size_t)(K * xrows) * 4), *ref = malloc((size_t)ny * 4), *got = malloc((size_t)ny * 4),
                 *f32 = malloc((size_t)ny * 4);
    int32_t *ids = malloc((size_t)(k * T) * 4);
    assert_non_null(x); assert_non_null(ref); assert_non_null(got); assert_non_null(f32); assert_non_null(ids);
    uint8_t *blk = make_w(t, K, N * (id ? E : 1), (uint64_t)(M * 131 + N * 17 + K + E), &wd);
    exact_x(x, K, xrows);
    tu_tensor tx, tw, ty, tid = {0};
    if (id) {
        for (int64_t tt = 0; tt < T; tt++)
            for (int64_t j = 0; j < k; j++) ids[tt * k + j] = (int32_t)((tt * 5 + j * 3 + tt / 3) % E);
        ids[k * T - 1] = -1; /* invalid: a zero row */
        ref_mul_mat_id(ref, x, per_slot, wd, ids, K, N, E, k, T);
        tx = per_slot ? tu_upload(MVK_TYPE_F32, K, k, T, 1, x) : tu_upload(MVK_TYPE_F32, K, T, 1, 1, x);
        tw = tu_upload(t, K, N, E, 1, blk);
        tid = tu_upload(MVK_TYPE_I32, k, T, 1, 1, ids);
        ty = tu_upload(MVK_TYPE_F32, N, k, T, 1, NULL);
    } else {
        ref_matmul(ref, x, wd, NULL, M, N, K);
        tx = tu_upload(MVK_TYPE_F32, K, M, 1, 1, x);
        tw = tu_upload(t, K, N, 1, 1, blk);
        ty = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL);
    }
    uint32_t nd[2];
    for (int pass = 0; pass < 2; pass++) {
        if (pass) setenv("MOEVK_GEMM_XQ", "0", 1);
        vk_stream *s = tu_begin();
        if (id) TU_OK(vk_op_mul_mat_id(s, &ty.t, &tx.t, &tw.t, &tid.t));
        else TU_OK(vk_op_matmul(s, &ty.t, &tx.t, &tw.t, NULL));
        nd[pass] = vk_stream_dispatch_count(s);
        tu_end_submit(s);
        tu_download(&ty, pass ? f32 : got, (uint64_t)ny * 4);
        unsetenv("MOEVK_GEMM_XQ");
    }
    char label[160];
    snprintf(label, sizeof label, "int8-x lane GEMM %s M/T=%lld N=%lld K=%lld E=%lld k=%lld per_slot=%d%s", id ? "mul_mat_id" : "matmul",
             (long long)M, (long long)N, (long long)K, (long long)E, (long long)k, per_slot, g_limit ? " limits" : "");
    /* dense: the GEMM (+ the quantisation); mul_mat_id: moe_group and the GEMM (+ the quantisation) */
    uint32_t base = id ? 2u : 1u;
    if (nd[0] != base + 1 || nd[1] != base)
        fail_msg("%s: %u / %u dispatches (%u with the quantisation / %u expected)", label, nd[0], nd[1], base + 1, base);
    tu_assert_nmse(label, ref, got, ny, 1e-9);
    tu_assert_nmse(label, ref, f32, ny, 1e-9);
    tu_assert_nmse(label, f32, got, ny, 1e-10);
    tu_free(&tx); tu_free(&tw); tu_free(&ty);
    if (id) tu_free(&tid);
    free(blk); free(wd); free(x); free(ref); free(got); free(f32); free(ids);
}

/* The lane GEMM with int8 x on random x (not exact in int8; one large value a row): against the reference on
 * the values ref_quant_x quantises x to (q d, quant_x's rounding and clamp) at NMSE 1e-7 (a tie may round the
 * other way on the device, rarely: test_quant_x), where f32 x's reference is 1e-5 off. Dense: rows of x strided
 * (pad floats between), and (acc) the residual add in the store (vk_op_matmul_ex ACC: y += x·wᵀ); mul_mat_id:
 * one x per slot or shared. */
static void gemm_real_case(int64_t M, int64_t N, int64_t K, int64_t pad, int acc, int id, int64_t E, int64_t k, int per_slot) {
    mvk_type t = MVK_TYPE_Q4_K;
    int64_t T = M, xrows = id ? (per_slot ? k * T : T) : M, ny = id ? N * k * T : N * M;
    float *wd, *x = malloc((size_t)((K + pad) * xrows) * 4), *xc = malloc((size_t)(K * xrows) * 4), *xd = malloc((size_t)(K * xrows) * 4);
    float *ref = malloc((size_t)ny * 4), *got = malloc((size_t)ny * 4), *y0 = malloc((size_t)ny * 4);
    uint32_t *xq = malloc((size_t)(vk_quant_x_row_words(K) * xrows) * 4);
    int32_t *ids = malloc((size_t)(k * T + 1) * 4);
    assert_non_null(x); assert_non_null(xc); assert_non_null(xd); assert_non_null(ref); assert_non_null(got);
    assert_non_null(y0); assert_non_null(xq); assert_non_null(ids);
    uint8_t *blk = make_w(t, K, N * (id ? E : 1), (uint64_t)(M * 7 + N * 3 + K + pad), &wd);
    tu_fill(x, (K + pad) * xrows, -2, 2);
    for (int64_t r = 0; r < xrows; r++) x[r * (K + pad) + (r * 37) % K] = 40.0f; /* a large value: its block's others coarse */
    for (int64_t r = 0; r < xrows; r++) memcpy(xc + r * K, x + r * (K + pad), (size_t)K * 4);
    ref_quant_x(xq, xd, xc, K, xrows);
    tu_fill(y0, ny, -1, 1);
    tu_tensor tx, tw, ty, tid = {0};
    if (id) {
        for (int64_t tt = 0; tt < T; tt++)
            for (int64_t j = 0; j < k; j++) ids[tt * k + j] = (int32_t)((tt * 3 + j * 5 + tt / 4) % E);
        ref_mul_mat_id(ref, xd, per_slot, wd, ids, K, N, E, k, T);
        tx = per_slot ? tu_upload(MVK_TYPE_F32, K, k, T, 1, x) : tu_upload(MVK_TYPE_F32, K, T, 1, 1, x);
        tw = tu_upload(t, K, N, E, 1, blk);
        tid = tu_upload(MVK_TYPE_I32, k, T, 1, 1, ids);
        ty = tu_upload(MVK_TYPE_F32, N, k, T, 1, NULL);
    } else {
        ref_matmul(ref, xd, wd, NULL, M, N, K);
        if (acc)
            for (int64_t i = 0; i < ny; i++) ref[i] += y0[i];
        tx = tu_upload(MVK_TYPE_F32, K + pad, M, 1, 1, x);
        tx.t.ne[0] = K; /* rows of stride K + pad */
        tw = tu_upload(t, K, N, 1, 1, blk);
        ty = tu_upload(MVK_TYPE_F32, N, M, 1, 1, acc ? y0 : NULL);
    }
    vk_stream *s = tu_begin();
    if (id) TU_OK(vk_op_mul_mat_id(s, &ty.t, &tx.t, &tw.t, &tid.t));
    else TU_OK(vk_op_matmul_ex(s, &ty.t, &tx.t, &tw.t, NULL, acc ? VK_MM_EPI_ACC : 0));
    uint32_t nd = vk_stream_dispatch_count(s);
    tu_end_submit(s);
    tu_download(&ty, got, (uint64_t)ny * 4);
    char label[160];
    snprintf(label, sizeof label, "int8-x lane GEMM, random x: %s M/T=%lld N=%lld K=%lld pad=%lld acc=%d E=%lld k=%lld per_slot=%d",
             id ? "mul_mat_id" : "matmul", (long long)M, (long long)N, (long long)K, (long long)pad, acc, (long long)E, (long long)k, per_slot);
    if (nd != (id ? 3u : 2u)) fail_msg("%s: %u dispatches (%u expected: the quantisation ran)", label, nd, id ? 3u : 2u);
    tu_assert_nmse(label, ref, got, ny, 1e-7);
    tu_free(&tx); tu_free(&tw); tu_free(&ty);
    if (id) tu_free(&tid);
    free(blk); free(wd); free(x); free(xc); free(xd); free(ref); free(got); free(y0); free(xq); free(ids);
}

/* vk_op_gateup (E = k = 1) and vk_op_gateup_id (T = 1) with int8 x: the fused kernel (MOEVK_FUSE_GATEUP=1,
 * matvec_lane.comp GATEUP with XQ: the quantisation and one dispatch) or the separate dispatches (one
 * quantisation that both int8-x mat-vecs read, vk_quant_x_shared, and the SwiGLU: four); x shared by the
 * slots or one per slot */
static void gateup_case(mvk_type t, int64_t K, int64_t N, int64_t E, int64_t k, int per_slot, int dense, int fused) {
    int64_t xrows = per_slot ? k : 1;
    float *wg, *wu, *x = malloc((size_t)(K * xrows) * 4), *ref = malloc((size_t)(N * k) * 4), *got = malloc((size_t)(N * k) * 4);
    uint8_t *bg = make_w(t, K, N * E, (uint64_t)(N + K + E), &wg), *bu = make_w(t, K, N * E, (uint64_t)(N + 2 * K + E), &wu);
    exact_x(x, K, xrows);
    int32_t ids[8];
    assert_true(k <= 8);
    for (int64_t j = 0; j < k; j++) ids[j] = (int32_t)((j * 3 + 1) % E);
    if (k > 2) ids[k - 1] = -1; /* invalid: a zero row */
    ref_gateup_id(ref, x, per_slot, wg, wu, ids, K, N, E, k, 1, 0);
    tu_tensor tx = per_slot ? tu_upload(MVK_TYPE_F32, K, k, 1, 1, x) : tu_upload(MVK_TYPE_F32, K, 1, 1, 1, x);
    tu_tensor tg = tu_upload(t, K, N, E, 1, bg), tu = tu_upload(t, K, N, E, 1, bu), tid = tu_upload(MVK_TYPE_I32, k, 1, 1, 1, ids);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, N, k, 1, 1, NULL);
    float *old = malloc((size_t)(N * k) * 4);
    uint32_t nd = 0;
    setenv("MOEVK_FUSE_GATEUP", fused ? "1" : "0", 1);
    for (int pass = 0; pass < swar_passes(t); pass++) {
        if (pass) setenv("MOEVK_LANE_SWAR", "0", 1);
        vk_stream *s = tu_begin();
        if (dense) TU_OK(vk_op_gateup(s, &ty.t, &tx.t, &tg.t, &tu.t, VK_GLU_SWIGLU));
        else TU_OK(vk_op_gateup_id(s, &ty.t, &tx.t, &tg.t, &tu.t, &tid.t, VK_GLU_SWIGLU));
        nd = pass ? nd : vk_stream_dispatch_count(s);
        tu_end_submit(s);
        tu_download(&ty, pass ? old : got, (uint64_t)(N * k) * 4);
        unsetenv("MOEVK_LANE_SWAR");
    }
    unsetenv("MOEVK_FUSE_GATEUP");
    char label[160];
    snprintf(label, sizeof label, "int8-x gateup%s %s K=%lld N=%lld E=%lld k=%lld per_slot=%d fused=%d%s", dense ? "" : "_id",
             mvk_type_name(t), (long long)K, (long long)N, (long long)E, (long long)k, per_slot, fused, g_limit ? " limits" : "");
    if (swar_passes(t) > 1) swar_same(label, got, old, N * k);
    free(old);
    if (nd != (fused ? 2u : 4u))
        fail_msg("%s: %u dispatches (%s expected)", label, nd,
                 fused ? "2: the quantisation and the fused kernel" : "4: one quantisation shared by gate and up, both, SwiGLU");
    tu_assert_nmse(label, ref, got, N * k, 1e-9);
    tu_free(&tx); tu_free(&tg); tu_free(&tu); tu_free(&tid); tu_free(&ty);
    free(bg); free(bu); free(wg); free(wu); free(x); free(ref); free(got);
}

/* One quantisation of x for several mat-vecs of one recording (vk_quant_x_shared): y1 = x·w1, y2 = x·w2
 * share it; a write to x between them (how = 1: a dispatch, 2: a copy into x), a scratch reset below xq
 * (how = 3) or another view of x (how = 4: its second half) makes y2 quantise again. Both results
 * against the reference of the x each read; the dispatch count shows whether xq was shared. */
static void share_case(mvk_type t, int how) {
    const int64_t K = 256, N = 9;
    float *w1, *w2, *x = malloc((size_t)K * 2 * 4), *x2 = malloc((size_t)K * 2 * 4);
    float r1[9], r2[9], g1[9], g2[9];
    uint8_t *b1 = make_w(t, K, N, 11, &w1), *b2 = make_w(t, K, N, 12, &w2);
    exact_x(x, K, 2);
    for (int64_t i = 0; i < 2 * K; i++) x2[i] = 2.0f * x[i]; /* x + x: exact in int8 too (d doubles) */
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, 2, 1, 1, x), tw1 = tu_upload(t, K, N, 1, 1, b1), tw2 = tu_upload(t, K, N, 1, 1, b2);
    tu_tensor ty1 = tu_upload(MVK_TYPE_F32, N, 1, 1, 1, NULL), ty2 = tu_upload(MVK_TYPE_F32, N, 1, 1, 1, NULL);
    tu_tensor tsrc = tu_upload(MVK_TYPE_F32, K, 2, 1, 1, x2);
    int64_t ne[4] = {K, 1, 1, 1};
    mvk_tensor xa = mvk_tensor_view(&tx.t, 0, ne, tx.t.nb), xb = mvk_tensor_view(&tx.t, (uint64_t)K * 4, ne, tx.t.nb);
    vk_stream *s = tu_begin();
    vk_scratch_mark m = vk_stream_scratch_mark(s);
    TU_OK(vk_op_matmul(s, &ty1.t, &xa, &tw1.t, NULL));
    const float *x_y2 = x; /* the x y2 reads */
    uint32_t extra = 0;    /* dispatches besides the quantisations and the mat-vecs */
    if (how == 1) {
        TU_OK(vk_op_add(s, &tx.t, &tx.t, &tx.t));
        x_y2 = x2;
        extra = 1;
    } else if (how == 2) {
        TU_OK(vk_op_copy_bytes(s, tx.t.buf, tx.t.off, tsrc.t.buf, tsrc.t.off, (uint64_t)K * 2 * 4));
        x_y2 = x2;
    } else if (how == 3) {
        vk_stream_scratch_reset(s, m);
    }
    TU_OK(vk_op_matmul(s, &ty2.t, how == 4 ? &xb : &xa, &tw2.t, NULL));
    uint32_t nd = vk_stream_dispatch_count(s);
    tu_end_submit(s);
    tu_download(&ty1, g1, N * 4);
    tu_download(&ty2, g2, N * 4);
    ref_matmul(r1, x, w1, NULL, 1, N, K);
    ref_matmul(r2, how == 4 ? x + K : x_y2, w2, NULL, 1, N, K);
    char label[96];
    snprintf(label, sizeof label, "shared int8 x %s how=%d", mvk_type_name(t), how);
    uint32_t want = how == 0 ? 3u : 4u + extra;
    if (nd != want) fail_msg("%s: %u dispatches, %u expected", label, nd, want);
    tu_assert_nmse(label, r1, g1, N, 1e-9);
    tu_assert_nmse(label, r2, g2, N, 1e-9);
    tu_free(&tx); tu_free(&tw1); tu_free(&tw2); tu_free(&ty1); tu_free(&ty2); tu_free(&tsrc);
    free(b1); free(b2); free(w1); free(w2); free(x); free(x2);
}

/* Q6_K8 against Q6_K (the device-only type and the file type it is made from, mvk_widen_rows): the same weights
 * uploaded both ways give the same y bit for bit in every lane mat-vec form the LM head and attn_v take: vk_op_matmul
 * with four rows a lane (QUAD, N >= 8192: Q6_K8 only), two (PAIR) and one, M = 3, and vk_op_mul_mat_id (pair_id), each with int8 x by SWAR (the default),
 * int8 x by float sums (MOEVK_LANE_SWAR=0) and f32 x (MOEVK_LANE_XQ=0): matvec_lane.comp runs Q6_K's sums in Q6_K's
 * order on the widened words. A wrong byte order, scale index or d word fails it at once. */
static void twin_case(int64_t M, int64_t N, int64_t K, int pair, int id) {
    const int64_t E = id ? 3 : 1, rows = N * E;
    float *wd, *x = malloc((size_t)(K * M) * 4), *ya = malloc((size_t)(N * M) * 4), *yb = malloc((size_t)(N * M) * 4);
    uint8_t *blk = make_w(MVK_TYPE_Q6_K, K, rows, (uint64_t)(K + N + 7 * M + pair), &wd);
    uint8_t *wide = malloc((size_t)(K / 256 * rows * 274));
    assert_int_equal(mvk_widen_rows(MVK_TYPE_Q6_K8, blk, wide, K, rows), 0);
    exact_x(x, K, M);
    int32_t ids[1] = {2};
    tu_tensor tx = tu_upload(MVK_TYPE_F32, K, M, 1, 1, x), ty = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL);
    tu_tensor tw6 = tu_upload(MVK_TYPE_Q6_K, K, N, E, 1, blk), tw8 = tu_upload(MVK_TYPE_Q6_K8, K, N, E, 1, wide);
    tu_tensor tid = tu_upload(MVK_TYPE_I32, 1, 1, 1, 1, ids);
    static const char *modes[3][2] = {{"1", NULL}, {"1", "0"}, {"0", NULL}}; /* MOEVK_LANE_XQ, MOEVK_LANE_SWAR */
    setenv("MOEVK_LANE_PAIR", pair ? "1" : "0", 1);
    for (int md = 0; md < 3; md++) {
        setenv("MOEVK_LANE_XQ", modes[md][0], 1);
        if (modes[md][1]) setenv("MOEVK_LANE_SWAR", modes[md][1], 1);
        for (int w = 0; w < 2; w++) {
            vk_stream *s = tu_begin();
            const mvk_tensor *tw = w ? &tw8.t : &tw6.t;
            if (id) TU_OK(vk_op_mul_mat_id(s, &ty.t, &tx.t, tw, &tid.t));
            else TU_OK(vk_op_matmul(s, &ty.t, &tx.t, tw, NULL));
            tu_end_submit(s);
            tu_download(&ty, w ? yb : ya, (uint64_t)(N * M) * 4);
        }
        unsetenv("MOEVK_LANE_SWAR");
        int64_t d = tu_first_bit_diff(ya, yb, N * M);
        if (d >= 0)
            fail_msg("q6_K8 against q6_K, %s M=%lld N=%lld K=%lld pair=%d, XQ=%s SWAR=%s%s: y[%lld] %.9g against %.9g",
                     id ? "mul_mat_id" : "matmul", (long long)M, (long long)N, (long long)K, pair, modes[md][0],
                     modes[md][1] ? modes[md][1] : "1", g_limit ? " limits" : "", (long long)d, yb[d], ya[d]);
    }
    setenv("MOEVK_LANE_XQ", "1", 1);
    unsetenv("MOEVK_LANE_PAIR");
    tu_free(&tx); tu_free(&ty); tu_free(&tw6); tu_free(&tw8); tu_free(&tid);
    free(blk); free(wide); free(wd); free(x); free(ya); free(yb);
}

static void test_int8_x(void **state) {
    (void)state;
    setenv("MOEVK_MM_STYLE", "cpu", 1); /* the lane mat-vec on any device */
    setenv("MOEVK_LANE_XQ", "1", 1);
    for (int i = 0; i < n_types; i++) {
        mvk_type t = types[i];
        int64_t be = mvk_type_block_elems(t), K2 = be == 32 ? 160 : 512;
        mm_case(t, 1, 1, be, 1);
        mm_case(t, 1, 33, K2, 1);   /* two rows a lane, odd N */
        mm_case(t, 1, 33, K2, 0);   /* one row a lane */
        mm_case(t, 3, 7, K2, 1);    /* three columns of x */
        id_case(t, K2, 33, 4, 2, 1, 0);
        id_case(t, be, 7, 5, 3, 3, 1);
        id_case(t, K2, 9, 4, 2, 3, 0);
        gateup_case(t, K2, 17, 1, 1, 0, 1, 0);   /* dense, separate dispatches */
        gateup_case(t, K2, 17, 1, 1, 0, 1, 1);   /* dense, fused */
        gateup_case(t, K2, 33, 5, 3, 0, 0, 1);   /* experts, shared x, an invalid id */
        gateup_case(t, be, 7, 4, 2, 1, 0, 1);    /* experts, one x per slot */
    }
    /* the lane GEMM with int8 x: odd M, N not a multiple of the tile's rows, several super-blocks, expert tiles
       (shared x and one x per slot, an invalid id) */
    gemm_case(9, 33, 256, 0, 0, 0, 0);
    gemm_case(37, 70, 768, 0, 0, 0, 0);
    gemm_case(16, 8, 512, 0, 0, 0, 0);
    gemm_case(21, 33, 512, 1, 4, 2, 0);
    gemm_case(13, 17, 256, 1, 5, 3, 1);
    gemm_real_case(23, 40, 512, 0, 0, 0, 0, 0, 0);
    gemm_real_case(17, 33, 768, 12, 1, 0, 0, 0, 0);
    gemm_real_case(12, 24, 512, 0, 0, 1, 6, 3, 1);
    gemm_real_case(20, 9, 256, 0, 0, 1, 4, 2, 0);
    g_limit = 1; /* Q4_K and Q6_K at the SWAR fields' limits */
    mm_case(MVK_TYPE_Q4_K, 1, 33, 512, 1);
    mm_case(MVK_TYPE_Q4_K, 1, 33, 512, 0);
    id_case(MVK_TYPE_Q4_K, 512, 33, 4, 2, 1, 0);
    gateup_case(MVK_TYPE_Q4_K, 512, 17, 1, 1, 0, 1, 1);
    gateup_case(MVK_TYPE_Q4_K, 512, 33, 5, 3, 0, 0, 1);
    gemm_case(19, 33, 512, 0, 0, 0, 0);
    gemm_case(11, 33, 512, 1, 4, 2, 0);
    /* Q6_K at the SWAR fields' limits (the LM head is PAIR, the experts pair_id / gu_id) */
    mm_case(MVK_TYPE_Q6_K, 1, 33, 512, 1);
    mm_case(MVK_TYPE_Q6_K, 1, 33, 768, 0);
    id_case(MVK_TYPE_Q6_K, 512, 33, 4, 2, 1, 0);
    id_case(MVK_TYPE_Q6_K, 256, 7, 5, 3, 3, 1);
    gateup_case(MVK_TYPE_Q6_K, 512, 17, 1, 1, 0, 1, 1);
    gateup_case(MVK_TYPE_Q6_K, 768, 33, 5, 3, 0, 0, 1);
    mm_case(MVK_TYPE_Q6_K8, 1, 33, 512, 1);
    id_case(MVK_TYPE_Q6_K8, 512, 33, 4, 2, 1, 0);
    twin_case(1, 33, 512, 1, 0);
    g_limit = 0;
    /* Q6_K8 bit for bit Q6_K's (the LM head: PAIR; attn_v: PAIR and one row a lane; M = 3; the experts' pair_id) */
    twin_case(1, 33, 512, 1, 0);
    twin_case(1, 40, 768, 0, 0);
    twin_case(3, 17, 256, 0, 0);
    twin_case(1, 33, 512, 1, 1);
    twin_case(1, 8195, 256, 1, 0);   /* Q6_K8's four rows a lane (QUAD, N >= 8192; odd N) against Q6_K's PAIR */
    for (int how = 0; how <= 4; how++) share_case(MVK_TYPE_Q8_0, how);
    share_case(MVK_TYPE_Q4_K, 0);
    unsetenv("MOEVK_MM_STYLE");
    unsetenv("MOEVK_LANE_XQ");
}

int main(void) {
    tu_seed(19);
    n_types = tu_quant_types(types, MAXT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_quant_x, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_quant_x_bad_input, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_int8_x, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
