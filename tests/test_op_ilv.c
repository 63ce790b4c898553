/* test_op_ilv.c — the row-interleaved weight layout of the CPU devices' lane kernels
 * (core/mvk_types.h mvk_interleave_rows, docs/QUANT_LAYOUTS.md "Interleaved rows"):
 * the permutation against a hand-written example, its inverse and the layout's formula; then
 * (a device) the lane mat-vec on interleaved weights against the CPU reference. */
#include <stdlib.h>
#include <string.h>

#include "mvk_types.h"
#include "test_util.h"

/* rows of row_bytes whose 16-byte unit j of row r holds (r, j, byte index) */
static uint8_t *plain_rows(int64_t row_bytes, int64_t rows) {
    uint8_t *p = malloc((size_t)(row_bytes * rows) + 1);
    assert_non_null(p);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < row_bytes; b++) p[r * row_bytes + b] = (uint8_t)(r * 37 + (b / 16) * 11 + (b % 16) * 3 + 1);
    return p;
}

/* 3 rows of 2 units in groups of 2: group 0 is r0u0 r1u0 r0u1 r1u1, the last group (1 row) is r2u0 r2u1 */
static void test_example(void **state) {
    (void)state;
    uint8_t src[96], dst[96];
    for (int i = 0; i < 96; i++) src[i] = (uint8_t)i;
    assert_int_equal(mvk_interleave_rows(dst, src, 32, 3, 2), 0);
    static const int want[6] = {0, 2, 1, 3, 4, 5}; /* plain unit at each interleaved position */
    for (int u = 0; u < 6; u++) assert_memory_equal(dst + 16 * u, src + 16 * want[u], 16);
    uint8_t back[96];
    assert_int_equal(mvk_deinterleave_rows(back, dst, 32, 3, 2), 0);
    assert_memory_equal(back, src, 96);
}

/* every unit where the layout says (group base + 16 (w j + l), w the group's rows), and the inverse gives the
 * rows back: rows a multiple of g, with a partial last group, fewer rows than g, one row, g = 1 */
static void test_permutation(void **state) {
    (void)state;
    static const int64_t cases[][3] = {{48, 16, 8}, {48, 17, 8}, {1088, 33, 8}, {144, 5, 8}, {16, 1, 8},
                                       {32, 31, 16}, {64, 7, 1}, {48, 24, 4}, {208, 9, 8}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t rb = cases[c][0], rows = cases[c][1], g = cases[c][2];
        uint8_t *src = plain_rows(rb, rows), *dst = calloc((size_t)(rb * rows), 1), *back = calloc((size_t)(rb * rows), 1);
        assert_non_null(dst);
        assert_non_null(back);
        assert_int_equal(mvk_interleave_rows(dst, src, rb, rows, g), 0);
        for (int64_t r = 0; r < rows; r++) {
            int64_t k = r / g, l = r % g, w = rows - k * g < g ? rows - k * g : g;
            for (int64_t j = 0; j < rb / 16; j++)
                if (memcmp(dst + k * g * rb + 16 * (w * j + l), src + r * rb + 16 * j, 16))
                    fail_msg("row_bytes %lld rows %lld g %lld: row %lld unit %lld misplaced", (long long)rb, (long long)rows,
                             (long long)g, (long long)r, (long long)j);
        }
        assert_int_equal(mvk_deinterleave_rows(back, dst, rb, rows, g), 0);
        assert_memory_equal(back, src, (size_t)(rb * rows));
        if (g == 1) assert_memory_equal(dst, src, (size_t)(rb * rows)); /* groups of one row: the plain layout */
        free(src);
        free(dst);
        free(back);
    }
}

static void test_bad_args(void **state) {
    (void)state;
    uint8_t a[64] = {0}, b[64];
    memset(b, 0xab, sizeof b);
    assert_int_equal(mvk_interleave_rows(b, a, 24, 2, 8), -1); /* not whole 16-byte units */
    assert_int_equal(mvk_interleave_rows(b, a, 0, 2, 8), -1);
    assert_int_equal(mvk_interleave_rows(b, a, 32, -1, 8), -1);
    assert_int_equal(mvk_interleave_rows(b, a, 32, 2, 0), -1);
    assert_int_equal(mvk_deinterleave_rows(b, a, 32, 2, 0), -1);
    for (int i = 0; i < 64; i++) assert_int_equal(b[i], 0xab); /* nothing written */
    assert_int_equal(mvk_interleave_rows(b, a, 32, 0, 8), 0); /* no rows: nothing to do */
}

/* ---------------------------------------------------------------- on a device */

/* an interleaved tensor reaches no kernel that reads plain rows: every op refuses it (UNSUPPORTED, naming the layout)
 * and records nothing */
static void test_refusals(void **state) {
    (void)state;
    mvk_tensor *w = tu_shape(MVK_TYPE_Q8_0, 64, 16, 1, 1), *we = tu_shape(MVK_TYPE_Q8_0, 64, 16, 4, 1);
    mvk_tensor *wh = tu_shape(MVK_TYPE_F16, 64, 16, 1, 1), *x9 = tu_shape(MVK_TYPE_F32, 64, 9, 1, 1);
    mvk_tensor *y9 = tu_shape(MVK_TYPE_F32, 16, 9, 1, 1), *ids = tu_shape(MVK_TYPE_I32, 2, 9, 1, 1);
    mvk_tensor *ye = tu_shape(MVK_TYPE_F32, 16, 2, 9, 1), *a = tu_shape(MVK_TYPE_F32, 16, 9, 1, 1);
    mvk_tensor *yr = tu_shape(MVK_TYPE_F32, 64, 2, 1, 1), *ri = tu_shape(MVK_TYPE_I32, 2, 1, 1, 1);
    w->ilv = 8;
    we->ilv = 8;
    wh->ilv = 8;
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_matmul(s, y9, x9, w, NULL), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8");
    TU_REFUSES(vk_op_matmul(s, y9, x9, wh, NULL), MOEVK_ERR_UNSUPPORTED, "a quantised type"); /* F16: never interleaved */
    TU_REFUSES(vk_op_mul_mat_id(s, ye, x9, we, ids), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8");
    TU_REFUSES(vk_op_gateup(s, y9, x9, w, w, VK_GLU_SWIGLU), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8");
    TU_REFUSES(vk_op_gateup_id(s, ye, x9, we, we, ids, VK_GLU_SWIGLU), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8");
    TU_REFUSES(vk_op_get_rows(s, yr, w, ri), MOEVK_ERR_UNSUPPORTED, "get_rows.comp");
    a->ilv = 8; /* any other op: vk_op_check.h vkc_layout */
    TU_REFUSES(vk_op_add(s, y9, a, y9), MOEVK_ERR_UNSUPPORTED, "interleaved in groups of 8");
    tu_bad_end(s);
}

int main(void) {
    static const struct CMUnitTest host[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_permutation),
        cmocka_unit_test(test_bad_args),
    };
    int rc = cmocka_run_group_tests(host, NULL, NULL);
    if (rc) return rc; /* before the device group, which exits 77 without a device */
    static const struct CMUnitTest dev[] = {
        cmocka_unit_test_setup_teardown(test_refusals, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(dev, tu_group_setup, tu_group_teardown));
}
