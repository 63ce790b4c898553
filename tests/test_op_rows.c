/* test_op_rows.c — vk_op_get_rows (F32/F16/BF16/Q8_0 tables), vk_op_set_rows
 * (F32/F16 destinations) and vk_op_convert (F32 <-> F16, strided copies)
 * against ref_get_rows / ref_set_rows / host conversions. These ops are
 * exact (a lookup, a store, an RNE rounding), so the tolerance is 1e-7 NMSE
 * and the measured figure is 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

static double worst_get, worst_set, worst_cvt;

static void track(double *w, double e) {
    if (e > *w) *w = e;
}

/* ---------------------------------------------------------------- get_rows */

static void get_case(mvk_type t, int64_t D, int64_t V, int64_t T, int64_t y_pad) {
    float *table = malloc(sizeof(float) * (size_t)(D * V)), *td = malloc(sizeof(float) * (size_t)(D * V));
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)T);
    float *ref = malloc(sizeof(float) * (size_t)(D * T)), *got = malloc(sizeof(float) * (size_t)((D + y_pad) * T));
    tu_fill(table, D * V, -2, 2);
    for (int64_t v = 0; v < V; v++) tu_round_through(t, table + v * D, td + v * D, D);
    tu_fill_i32(ids, T, 0, (int32_t)V);
    if (T > 2) { ids[1] = -1; ids[T - 1] = (int32_t)V; } /* out of range: zero rows */
    if (T > 5) ids[4] = INT32_MAX;
    ref_get_rows(ref, td, D, V, ids, T);
    tu_tensor tt = tu_upload_as(t, D, V, 1, 1, table);
    tu_tensor ti = tu_upload(MVK_TYPE_I32, T, 1, 1, 1, ids);
    float *init = malloc(sizeof(float) * (size_t)((D + y_pad) * T));
    tu_fill(init, (D + y_pad) * T, 5, 6); /* garbage that must be overwritten */
    tu_tensor ty = tu_upload(MVK_TYPE_F32, D + y_pad, T, 1, 1, init);
    int64_t yne[4] = {D, T, 1, 1};
    mvk_tensor yv = mvk_tensor_view(&ty.t, 0, yne, ty.t.nb);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_get_rows(s, &yv, &tt.t, &ti.t));
    tu_end_submit(s);
    tu_download(&ty, got, sizeof(float) * (size_t)((D + y_pad) * T));
    for (int64_t i = 0; i < T; i++) {
        for (int64_t p = 0; p < y_pad; p++) /* padding untouched */
            assert_true(got[i * (D + y_pad) + D + p] == init[i * (D + y_pad) + D + p]);
        memmove(got + i * D, got + i * (D + y_pad), sizeof(float) * (size_t)D);
    }
    char label[128];
    snprintf(label, sizeof label, "get_rows %s D=%lld V=%lld T=%lld", mvk_type_name(t), (long long)D, (long long)V, (long long)T);
    track(&worst_get, tu_nmse(ref, got, D * T));
    tu_assert_nmse(label, ref, got, D * T, 1e-7);
    tu_free(&tt); tu_free(&ti); tu_free(&ty);
    free(table); free(td); free(ids); free(ref); free(got); free(init);
}

static void test_get_rows(void **state) {
    (void)state;
    mvk_type types[4] = {MVK_TYPE_F32, MVK_TYPE_F16, MVK_TYPE_BF16, MVK_TYPE_Q8_0};
    for (int ti = 0; ti < 4; ti++)
        for (int i = 0; i < 4; i++) {
            int64_t D = types[ti] == MVK_TYPE_Q8_0 ? 32 * (i + 1) : tu_awkward[i];
            get_case(types[ti], D, tu_awkward[(i + 2) % 4] + 3, tu_awkward[(i + 1) % 4], 0);
            get_case(types[ti], D, 50, 257, i == 3 ? 3 : 0); /* workgroup size (256) + 1 */
        }
}

/* ---------------------------------------------------------------- set_rows */

static void set_case(int f16, int64_t D, int64_t R, int64_t T) {
    float *dst0 = malloc(sizeof(float) * (size_t)(D * R)), *ref = malloc(sizeof(float) * (size_t)(D * R));
    float *src = malloc(sizeof(float) * (size_t)(D * T)), *got = malloc(sizeof(float) * (size_t)(D * R));
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)T), *perm = malloc(sizeof(int32_t) * (size_t)R);
    tu_fill(dst0, D * R, -2, 2);
    if (f16) tu_round_through(MVK_TYPE_F16, dst0, dst0, D * R);
    tu_fill(src, D * T, -2, 2);
    for (int64_t r = 0; r < R; r++) perm[r] = (int32_t)r; /* distinct target rows */
    for (int64_t r = R - 1; r > 0; r--) {
        int32_t j;
        tu_fill_i32(&j, 1, 0, (int32_t)r + 1);
        int32_t tmp = perm[r]; perm[r] = perm[j]; perm[j] = tmp;
    }
    for (int64_t t = 0; t < T; t++) idx[t] = t < R ? perm[t] : -1;
    if (T > 3) idx[2] = (int32_t)R; /* out of range: skipped */
    memcpy(ref, dst0, sizeof(float) * (size_t)(D * R));
    ref_set_rows(ref, D, R, src, idx, T, f16);
    mvk_type dt = f16 ? MVK_TYPE_F16 : MVK_TYPE_F32;
    tu_tensor td = tu_upload_as(dt, D, R, 1, 1, dst0);
    tu_tensor ts = tu_upload(MVK_TYPE_F32, D, T, 1, 1, src);
    tu_tensor ti = tu_upload(MVK_TYPE_I32, T, 1, 1, 1, idx);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_set_rows(s, &td.t, &ts.t, &ti.t));
    tu_end_submit(s);
    if (f16) {
        uint16_t *h = malloc(sizeof(uint16_t) * (size_t)(D * R));
        tu_download(&td, h, sizeof(uint16_t) * (size_t)(D * R));
        mvk_dequantize_row(MVK_TYPE_F16, h, got, D * R);
        free(h);
    } else {
        tu_download(&td, got, sizeof(float) * (size_t)(D * R));
    }
    char label[128];
    snprintf(label, sizeof label, "set_rows %s D=%lld R=%lld T=%lld", f16 ? "f16" : "f32", (long long)D, (long long)R, (long long)T);
    track(&worst_set, tu_nmse(ref, got, D * R));
    tu_assert_nmse(label, ref, got, D * R, 1e-7);
    tu_free(&td); tu_free(&ts); tu_free(&ti);
    free(dst0); free(ref); free(src); free(got); free(idx); free(perm);
}

/* vk_op_set_rows2: two destinations of D and D2 elements a row (odd and even, f16 halves and whole words)
 * written at the same rows in one dispatch, each against ref_set_rows. */
static void set2_case(int f16, int64_t D, int64_t D2, int64_t R, int64_t T) {
    const int64_t Ds[2] = {D, D2};
    float *dst0[2], *ref[2], *src[2];
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)T);
    for (int64_t t = 0; t < T; t++) idx[t] = (int32_t)((t * 7 + 3) % R); /* distinct while T <= R (R prime to 7) */
    if (T > 2) idx[1] = -1;                                           /* out of range: skipped */
    mvk_type dt = f16 ? MVK_TYPE_F16 : MVK_TYPE_F32;
    tu_tensor td[2], ts[2];
    for (int j = 0; j < 2; j++) {
        dst0[j] = malloc(sizeof(float) * (size_t)(Ds[j] * R));
        ref[j] = malloc(sizeof(float) * (size_t)(Ds[j] * R));
        src[j] = malloc(sizeof(float) * (size_t)(Ds[j] * T));
        tu_fill(dst0[j], Ds[j] * R, -2, 2);
        if (f16) tu_round_through(MVK_TYPE_F16, dst0[j], dst0[j], Ds[j] * R);
        tu_fill(src[j], Ds[j] * T, -2, 2);
        memcpy(ref[j], dst0[j], sizeof(float) * (size_t)(Ds[j] * R));
        ref_set_rows(ref[j], Ds[j], R, src[j], idx, T, f16);
        td[j] = tu_upload_as(dt, Ds[j], R, 1, 1, dst0[j]);
        ts[j] = tu_upload(MVK_TYPE_F32, Ds[j], T, 1, 1, src[j]);
    }
    tu_tensor ti = tu_upload(MVK_TYPE_I32, T, 1, 1, 1, idx);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_set_rows2(s, &td[0].t, &ts[0].t, &td[1].t, &ts[1].t, &ti.t));
    assert_int_equal(vk_stream_dispatch_count(s), 1);
    tu_end_submit(s);
    for (int j = 0; j < 2; j++) {
        float *got = malloc(sizeof(float) * (size_t)(Ds[j] * R));
        if (f16) {
            uint16_t *h = malloc(sizeof(uint16_t) * (size_t)(Ds[j] * R));
            tu_download(&td[j], h, sizeof(uint16_t) * (size_t)(Ds[j] * R));
            mvk_dequantize_row(MVK_TYPE_F16, h, got, Ds[j] * R);
            free(h);
        } else {
            tu_download(&td[j], got, sizeof(float) * (size_t)(Ds[j] * R));
        }
        char label[128];
        snprintf(label, sizeof label, "set_rows2 %s D=%lld/%lld R=%lld T=%lld dst %d", f16 ? "f16" : "f32", (long long)D,
                 (long long)D2, (long long)R, (long long)T, j);
        track(&worst_set, tu_nmse(ref[j], got, Ds[j] * R));
        tu_assert_nmse(label, ref[j], got, Ds[j] * R, 1e-7);
        free(got);
        tu_free(&td[j]); tu_free(&ts[j]);
        free(dst0[j]); free(ref[j]); free(src[j]);
    }
    tu_free(&ti);
    free(idx);
}

static void test_set_rows2(void **state) {
    (void)state;
    for (int f16 = 0; f16 < 2; f16++) {
        set2_case(f16, 1, 1, 5, 1);
        set2_case(f16, 7, 32, 40, 7);   /* odd + even rows */
        set2_case(f16, 64, 33, 41, 33);
        set2_case(f16, 128, 128, 130, 127);
    }
}

static void test_set_rows(void **state) {
    (void)state;
    for (int f16 = 0; f16 < 2; f16++) {
        for (int i = 0; i < 4; i++) {
            set_case(f16, tu_awkward[i], 40, tu_awkward[(i + 1) % 4] % 41); /* odd D: per-half atomics for f16 */
            set_case(f16, 2 * tu_awkward[i], 130, tu_awkward[i]);           /* even D: whole words */
        }
        set_case(f16, 128, 300, 257);
    }
}

/* ---------------------------------------------------------------- convert */

/* x: a view [ne] into a buffer with rows padded by xpad elements; y likewise. */
static void cvt_case(mvk_type xt, mvk_type yt, const int64_t ne[4], int64_t xpad, int64_t ypad) {
    int64_t n = ne[0] * ne[1] * ne[2] * ne[3], rows = ne[1] * ne[2] * ne[3];
    int64_t xr = ne[0] + xpad, yr = ne[0] + ypad;
    float *xf = malloc(sizeof(float) * (size_t)(xr * rows)), *ref = malloc(sizeof(float) * (size_t)n);
    float *got = malloc(sizeof(float) * (size_t)(yr * rows)), *gc = malloc(sizeof(float) * (size_t)n);
    tu_fill(xf, xr * rows, -3, 3);
    if (xt == MVK_TYPE_F16) tu_round_through(MVK_TYPE_F16, xf, xf, xr * rows);
    for (int64_t r = 0; r < rows; r++) memcpy(ref + r * ne[0], xf + r * xr, sizeof(float) * (size_t)ne[0]);
    if (yt == MVK_TYPE_F16) tu_round_through(MVK_TYPE_F16, ref, ref, n);
    tu_tensor tx = tu_upload_as(xt, xr, ne[1], ne[2], ne[3], xf);
    tu_tensor ty = tu_upload(yt, yr, ne[1], ne[2], ne[3], NULL);
    mvk_tensor xv = mvk_tensor_view(&tx.t, 0, ne, tx.t.nb), yv = mvk_tensor_view(&ty.t, 0, ne, ty.t.nb);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_convert(s, &yv, &xv));
    tu_end_submit(s);
    if (yt == MVK_TYPE_F16) {
        uint16_t *h = malloc(sizeof(uint16_t) * (size_t)(yr * rows));
        tu_download(&ty, h, sizeof(uint16_t) * (size_t)(yr * rows));
        mvk_dequantize_row(MVK_TYPE_F16, h, got, yr * rows);
        free(h);
    } else {
        tu_download(&ty, got, sizeof(float) * (size_t)(yr * rows));
    }
    for (int64_t r = 0; r < rows; r++) {
        memcpy(gc + r * ne[0], got + r * yr, sizeof(float) * (size_t)ne[0]);
        for (int64_t p = 0; p < ypad; p++) assert_true(got[r * yr + ne[0] + p] == 0.0f); /* padding untouched */
    }
    char label[128];
    snprintf(label, sizeof label, "convert %s->%s [%lld,%lld,%lld,%lld] pad %lld/%lld", mvk_type_name(xt), mvk_type_name(yt),
             (long long)ne[0], (long long)ne[1], (long long)ne[2], (long long)ne[3], (long long)xpad, (long long)ypad);
    track(&worst_cvt, tu_nmse(ref, gc, n));
    tu_assert_nmse(label, ref, gc, n, 1e-7);
    tu_free(&tx); tu_free(&ty);
    free(xf); free(ref); free(got); free(gc);
}

static void test_convert(void **state) {
    (void)state;
    mvk_type ts[2] = {MVK_TYPE_F32, MVK_TYPE_F16};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 4; i++) {
                int64_t ne[4] = {tu_awkward[i], 3, 2, 2};
                cvt_case(ts[a], ts[b], ne, 0, 0);
                cvt_case(ts[a], ts[b], ne, i + 1, (i & 1) + 1); /* strided views, odd and even padding */
                int64_t ne2[4] = {2 * tu_awkward[i], 257, 1, 1};
                cvt_case(ts[a], ts[b], ne2, 0, 2);
            }
    /* rows over several workgroups (convert.comp covers a row in workgroup chunks): even (pairs) and odd */
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int64_t ne[4] = {1000, 3, 2, 1}, ne_odd[4] = {999, 2, 1, 1};
            cvt_case(ts[a], ts[b], ne, 0, 0);
            cvt_case(ts[a], ts[b], ne_odd, 1, 2);
        }
}

/* ---------------------------------------------------------------- bad input */

static void test_bad_input(void **state) {
    (void)state;
    mvk_tensor *tab = tu_shape(MVK_TYPE_F16, 16, 10, 1, 1), *y = tu_shape(MVK_TYPE_F32, 16, 4, 1, 1);
    mvk_tensor *ids = tu_shape(MVK_TYPE_I32, 4, 1, 1, 1), *idsf = tu_shape(MVK_TYPE_F32, 4, 1, 1, 1);
    mvk_tensor *ids5 = tu_shape(MVK_TYPE_I32, 5, 1, 1, 1), *y15 = tu_shape(MVK_TYPE_F32, 15, 4, 1, 1);
    mvk_tensor *tq = tu_shape(MVK_TYPE_I32, 16, 10, 1, 1), *h = tu_shape(MVK_TYPE_F16, 16, 4, 1, 1);
    mvk_tensor *hx = tu_shape(MVK_TYPE_F16, 16, 5, 1, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_get_rows(s, y, tab, ids5), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_get_rows(s, y15, tab, ids), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_get_rows(s, y, tab, idsf), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_get_rows(s, y, tq, ids), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_get_rows(s, y, NULL, ids), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_set_rows(s, tab, y15, ids), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_set_rows(s, tq, y, ids), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_set_rows(s, tab, h, ids), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_set_rows(s, tab, y, ids5), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_convert(s, h, hx), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_convert(s, h, ids), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_convert(NULL, h, y), MOEVK_ERR_INVALID_ARG, "vk_op_convert");
    tu_bad_end(s);
}

static int report(void **state) {
    fprintf(stderr, "worst nmse: get_rows %.3e, set_rows %.3e, convert %.3e\n", worst_get, worst_set, worst_cvt);
    return tu_group_teardown(state);
}

int main(void) {
    tu_seed(5);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_rows, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_set_rows, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_set_rows2, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_convert, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, report));
}
