/* test_gguf.c — GGUF reader: round trips of every value type (incl. nested
 * arrays) and tensor types, and a corpus of hostile files, each rejected with
 * a specific status and a message naming the problem. Files are built in
 * memory by the tests' GGUF writer (tests/util/gguf_writer.h, independent of engine/gguf.c). Each
 * hostile buffer is copied to an exact-size heap block so AddressSanitizer
 * catches any read past its end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gguf.h"
#include "moevk.h"
#include "gguf_writer.h"
#include "test_util.h"

/* The "mini" file: 3 keys, tensors a (f32 [4,2], 32 bytes at 0) and
 * b (q8_0 [32], 34 bytes at 32). Offsets of the fields the tests patch: */
typedef struct mini_at {
    size_t version, n_tensors, n_kv;
    size_t k0_len, k0_type, k1_type, k1_val, arr_type, arr_n, k2_strlen;
    size_t t0_name_len, t0_name, t0_ndims, t0_ne0, t0_ne1, t0_type, t0_off;
    size_t t1_name, t1_ne0, t1_type, t1_off;
    size_t header_end, data;
} mini_at;

static gw_buf mini(mini_at *at) {
    gw_buf b = {0};
    mini_at a;
    gw_put(&b, "GGUF", 4);
    a.version = b.n; gw_u32(&b, 3);
    a.n_tensors = b.n; gw_u64(&b, 2);
    a.n_kv = b.n; gw_u64(&b, 3);
    a.k0_len = b.n; gw_str(&b, "general.architecture");
    a.k0_type = b.n; gw_u32(&b, GGUF_STRING); gw_str(&b, "test");
    gw_str(&b, "test.values");
    a.k1_type = b.n; gw_u32(&b, GGUF_ARRAY);
    a.arr_type = b.n; gw_u32(&b, GGUF_U32);
    a.arr_n = b.n; gw_u64(&b, 3);
    a.k1_val = b.n; gw_u32(&b, 1); gw_u32(&b, 2); gw_u32(&b, 3);
    gw_str(&b, "test.name");
    gw_u32(&b, GGUF_STRING);
    a.k2_strlen = b.n; gw_str(&b, "hello");
    a.t0_name_len = b.n; a.t0_name = b.n + 8; gw_str(&b, "a");
    a.t0_ndims = b.n; gw_u32(&b, 2);
    a.t0_ne0 = b.n; gw_u64(&b, 4);
    a.t0_ne1 = b.n; gw_u64(&b, 2);
    a.t0_type = b.n; gw_u32(&b, MVK_TYPE_F32);
    a.t0_off = b.n; gw_u64(&b, 0);
    a.t1_name = b.n + 8; gw_str(&b, "b");
    gw_u32(&b, 1);
    a.t1_ne0 = b.n; gw_u64(&b, 32);
    a.t1_type = b.n; gw_u32(&b, MVK_TYPE_Q8_0);
    a.t1_off = b.n; gw_u64(&b, 32);
    a.header_end = b.n;
    gw_pad_to(&b, 32);
    a.data = b.n;
    for (int i = 0; i < 8; i++) gw_f32(&b, (float)i + 0.5f);
    gw_u16(&b, 0x3c00); /* q8_0 block: d = 1.0 */
    for (int i = 0; i < 32; i++) gw_u8(&b, (uint8_t)(i - 16));
    if (at) *at = a;
    return b;
}

/* Opens a copy of the first len bytes in an exact-size heap block. */
static moevk_status open_copy(const gw_buf *b, size_t len, unsigned flags, gguf_file **f, void **copy) {
    *copy = malloc(len ? len : 1);
    assert_non_null(*copy);
    if (len) memcpy(*copy, b->p, len);
    return gguf_open_memory_ex(*copy, len, flags, f);
}

#define expect_fail(b, status, needle) expect_fail_at(b, (b)->n, status, needle, __LINE__)

static void expect_fail_at(const gw_buf *b, size_t len, moevk_status want, const char *needle, int line) {
    gguf_file *f = (gguf_file *)1;
    void *copy;
    moevk_status s = open_copy(b, len, 0, &f, &copy);
    if (s != want || f != NULL || !strstr(moevk_last_error(), needle))
        fail_msg("line %d: got %s (f=%p) '%s', want %s mentioning '%s'", line, moevk_status_str(s), (void *)f,
                 moevk_last_error(), moevk_status_str(want), needle);
    free(copy);
}

/* ------------------------------------------------------------ valid files */

static void test_mini_parses(void **state) {
    (void)state;
    gw_buf b = mini(NULL);
    gguf_file *f;
    void *copy;
    assert_int_equal(open_copy(&b, b.n, 0, &f, &copy), MOEVK_OK);
    assert_int_equal(gguf_version(f), 3);
    assert_int_equal(gguf_alignment(f), 32);
    assert_int_equal(gguf_n_kv(f), 3);
    assert_int_equal(gguf_n_tensors(f), 2);
    assert_string_equal(gguf_key_name(f, 1), "test.values");
    assert_null(gguf_key_name(f, 3));
    assert_int_equal(gguf_find_key(f, "test.name"), 2);
    assert_int_equal(gguf_find_key(f, "nope"), -1);
    const gguf_tensor_info *a = gguf_find_tensor(f, "a"), *bt = gguf_find_tensor(f, "b");
    assert_non_null(a);
    assert_non_null(bt);
    assert_null(gguf_find_tensor(f, "c"));
    assert_int_equal(a->type, MVK_TYPE_F32);
    assert_int_equal(a->n_dims, 2);
    assert_int_equal(a->ne[0], 4);
    assert_int_equal(a->ne[1], 2);
    assert_int_equal(a->ne[2], 1);
    assert_int_equal(a->size, 32);
    assert_int_equal(gguf_data_offset(f) % 32, 0);
    float x[8];
    memcpy(x, a->data, 32);
    for (int i = 0; i < 8; i++) assert_true(x[i] == (float)i + 0.5f);
    assert_int_equal(bt->type, MVK_TYPE_Q8_0);
    assert_int_equal(bt->size, 34);
    assert_int_equal(bt->offset, 32);
    float q[32];
    mvk_dequantize_row(MVK_TYPE_Q8_0, bt->data, q, 32);
    for (int i = 0; i < 32; i++) assert_true(q[i] == (float)(i - 16));
    assert_ptr_equal(gguf_tensor(f, 1), bt);
    assert_null(gguf_tensor(f, 2));
    gguf_close(f);
    free(copy);
    free(b.p);
}

static void test_all_value_types_round_trip(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 16);
    gw_key(&b, "u8", GGUF_U8); gw_u8(&b, 250);
    gw_key(&b, "i8", GGUF_I8); gw_u8(&b, (uint8_t)-7);
    gw_key(&b, "u16", GGUF_U16); gw_u16(&b, 65000);
    gw_key(&b, "i16", GGUF_I16); gw_u16(&b, (uint16_t)-300);
    gw_key(&b, "u32", GGUF_U32); gw_u32(&b, 4000000000u);
    gw_key(&b, "i32", GGUF_I32); gw_u32(&b, (uint32_t)-123456);
    gw_key(&b, "f32", GGUF_F32); gw_f32(&b, 1.5e-6f);
    gw_key(&b, "bool", GGUF_BOOL); gw_u8(&b, 1);
    gw_kv_str(&b, "str", "h\xc3\xa9llo");
    gw_key(&b, "u64", GGUF_U64); gw_u64(&b, 0xFFFFFFFFFFFFFFF0ull);
    gw_key(&b, "i64", GGUF_I64); gw_u64(&b, (uint64_t)INT64_MIN);
    gw_key(&b, "f64", GGUF_F64); gw_f64(&b, -2.25);
    /* [[1, 2], [], [3]] as i32 */
    gw_key(&b, "nested", GGUF_ARRAY); gw_u32(&b, GGUF_ARRAY); gw_u64(&b, 3);
    gw_u32(&b, GGUF_I32); gw_u64(&b, 2); gw_u32(&b, 1); gw_u32(&b, 2);
    gw_u32(&b, GGUF_I32); gw_u64(&b, 0);
    gw_u32(&b, GGUF_I32); gw_u64(&b, 1); gw_u32(&b, 3);
    /* [["x", "yz"], ["w"]] */
    gw_key(&b, "nested_str", GGUF_ARRAY); gw_u32(&b, GGUF_ARRAY); gw_u64(&b, 2);
    gw_u32(&b, GGUF_STRING); gw_u64(&b, 2); gw_str(&b, "x"); gw_str(&b, "yz");
    gw_u32(&b, GGUF_STRING); gw_u64(&b, 1); gw_str(&b, "w");
    gw_key(&b, "bools", GGUF_ARRAY); gw_u32(&b, GGUF_BOOL); gw_u64(&b, 3); gw_u8(&b, 0); gw_u8(&b, 1); gw_u8(&b, 0);
    gw_key(&b, "f64s", GGUF_ARRAY); gw_u32(&b, GGUF_F64); gw_u64(&b, 2); gw_f64(&b, 0.25); gw_f64(&b, -8);

    gguf_file *f;
    void *copy;
    assert_int_equal(open_copy(&b, b.n, 0, &f, &copy), MOEVK_OK);
    static const gguf_vtype types[16] = {GGUF_U8, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL,
                                         GGUF_STRING, GGUF_U64, GGUF_I64, GGUF_F64, GGUF_ARRAY, GGUF_ARRAY, GGUF_ARRAY, GGUF_ARRAY};
    for (int i = 0; i < 16; i++) assert_int_equal(gguf_kv_type(f, i), types[i]);
    gguf_value v;
    assert_int_equal(gguf_kv_value(f, 0, &v), MOEVK_OK); assert_int_equal(v.u, 250);
    assert_int_equal(gguf_kv_value(f, 1, &v), MOEVK_OK); assert_int_equal(v.i, -7); assert_true(v.is_neg);
    assert_int_equal(gguf_kv_value(f, 2, &v), MOEVK_OK); assert_int_equal(v.u, 65000);
    assert_int_equal(gguf_kv_value(f, 3, &v), MOEVK_OK); assert_int_equal(v.i, -300);
    assert_int_equal(gguf_kv_value(f, 4, &v), MOEVK_OK); assert_int_equal(v.u, 4000000000u);
    assert_int_equal(gguf_kv_value(f, 5, &v), MOEVK_OK); assert_int_equal(v.i, -123456);
    assert_int_equal(gguf_kv_value(f, 6, &v), MOEVK_OK); assert_true((float)v.f == 1.5e-6f);
    assert_int_equal(gguf_kv_value(f, 7, &v), MOEVK_OK); assert_int_equal(v.u, 1);
    assert_int_equal(gguf_kv_value(f, 8, &v), MOEVK_OK); assert_int_equal(v.len, 6);
    assert_memory_equal(v.str, "h\xc3\xa9llo", 6);
    assert_int_equal(gguf_kv_value(f, 9, &v), MOEVK_OK); assert_true(v.u == 0xFFFFFFFFFFFFFFF0ull);
    assert_int_equal(gguf_kv_value(f, 10, &v), MOEVK_OK); assert_true(v.i == INT64_MIN);
    assert_int_equal(gguf_kv_value(f, 11, &v), MOEVK_OK); assert_true(v.f == -2.25);
    assert_int_equal(gguf_kv_value(f, 16, &v), MOEVK_ERR_INVALID_ARG);

    /* typed getters */
    uint32_t u32; int32_t i32; uint64_t u64; int64_t i64; float f32; double f64; int bl;
    const char *s; size_t len;
    assert_int_equal(gguf_get_u32(f, "u8", &u32), MOEVK_OK); assert_int_equal(u32, 250);
    assert_int_equal(gguf_get_u32(f, "u32", &u32), MOEVK_OK); assert_int_equal(u32, 4000000000u);
    assert_int_equal(gguf_get_i32(f, "i16", &i32), MOEVK_OK); assert_int_equal(i32, -300);
    assert_int_equal(gguf_get_u64(f, "u64", &u64), MOEVK_OK); assert_true(u64 == 0xFFFFFFFFFFFFFFF0ull);
    assert_int_equal(gguf_get_i64(f, "i64", &i64), MOEVK_OK); assert_true(i64 == INT64_MIN);
    assert_int_equal(gguf_get_f32(f, "f64", &f32), MOEVK_OK); assert_true(f32 == -2.25f);
    assert_int_equal(gguf_get_f64(f, "f32", &f64), MOEVK_OK); assert_true((float)f64 == 1.5e-6f);
    assert_int_equal(gguf_get_bool(f, "bool", &bl), MOEVK_OK); assert_int_equal(bl, 1);
    assert_int_equal(gguf_get_str(f, "str", &s, &len), MOEVK_OK); assert_int_equal(len, 6);
    assert_true(gguf_str_eq(f, "str", "h\xc3\xa9llo"));
    assert_false(gguf_str_eq(f, "str", "h\xc3\xa9ll"));
    assert_false(gguf_str_eq(f, "u8", "250"));

    /* nested arrays */
    gguf_value arr, inner, e;
    assert_int_equal(gguf_kv_value(f, gguf_find_key(f, "nested"), &arr), MOEVK_OK);
    assert_int_equal(arr.elem, GGUF_ARRAY);
    assert_int_equal(arr.n, 3);
    static const int lens[3] = {2, 0, 1};
    static const int vals[3][2] = {{1, 2}, {0, 0}, {3, 0}};
    for (uint64_t j = 0; j < 3; j++) {
        assert_int_equal(gguf_arr_elem(f, &arr, j, &inner), MOEVK_OK);
        assert_int_equal(inner.type, GGUF_ARRAY);
        assert_int_equal(inner.elem, GGUF_I32);
        assert_int_equal(inner.n, lens[j]);
        for (uint64_t k = 0; k < inner.n; k++) {
            assert_int_equal(gguf_arr_elem(f, &inner, k, &e), MOEVK_OK);
            assert_int_equal(e.i, vals[j][k]);
        }
        assert_int_equal(gguf_arr_elem(f, &inner, inner.n, &e), MOEVK_ERR_INVALID_ARG);
    }
    assert_int_equal(gguf_kv_value(f, gguf_find_key(f, "nested_str"), &arr), MOEVK_OK);
    assert_int_equal(gguf_arr_elem(f, &arr, 1, &inner), MOEVK_OK);
    assert_int_equal(gguf_arr_elem(f, &inner, 0, &e), MOEVK_OK);
    assert_int_equal(e.len, 1);
    assert_memory_equal(e.str, "w", 1);
    assert_int_equal(gguf_arr_elem(f, &arr, 0, &inner), MOEVK_OK);
    assert_int_equal(gguf_arr_elem(f, &inner, 1, &e), MOEVK_OK);
    assert_int_equal(e.len, 2);
    assert_memory_equal(e.str, "yz", 2);

    int32_t ib[4];
    uint64_t n;
    assert_int_equal(gguf_get_arr_i32(f, "bools", ib, 4, &n), MOEVK_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ib[1], 1);
    float fb[2];
    assert_int_equal(gguf_get_arr_f32(f, "f64s", fb, 2, &n), MOEVK_OK);
    assert_true(fb[0] == 0.25f && fb[1] == -8.0f);
    gguf_vtype et;
    assert_int_equal(gguf_get_arr_info(f, "nested_str", &et, &n), MOEVK_OK);
    assert_int_equal(et, GGUF_ARRAY);
    assert_int_equal(n, 2);
    gguf_close(f);
    free(copy);
    free(b.p);
}

/* Getter failures name the key and the problem. */
static void test_getter_errors(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 6);
    gw_key(&b, "neg", GGUF_I32); gw_u32(&b, (uint32_t)-1);
    gw_key(&b, "big", GGUF_U64); gw_u64(&b, 1ull << 40);
    gw_kv_str(&b, "name", "x");
    gw_key(&b, "flt", GGUF_F32); gw_f32(&b, 1.0f);
    gw_key(&b, "strs", GGUF_ARRAY); gw_u32(&b, GGUF_STRING); gw_u64(&b, 1); gw_str(&b, "q");
    gw_key(&b, "i64s", GGUF_ARRAY); gw_u32(&b, GGUF_I64); gw_u64(&b, 2); gw_u64(&b, 5); gw_u64(&b, 1ull << 33);
    gguf_file *f;
    void *copy;
    assert_int_equal(open_copy(&b, b.n, 0, &f, &copy), MOEVK_OK);
    uint32_t u;
    int32_t i;
    int bl;
    const char *s;
    size_t len;
    TU_REFUSES(gguf_get_u32(f, "absent.key", &u), MOEVK_ERR_FORMAT, "missing required key 'absent.key'");
    TU_REFUSES(gguf_get_u32(f, "neg", &u), MOEVK_ERR_FORMAT, "'neg'");
    TU_REFUSES(gguf_get_u32(f, "big", &u), MOEVK_ERR_FORMAT, "does not fit u32");
    TU_REFUSES(gguf_get_i32(f, "big", &i), MOEVK_ERR_FORMAT, "does not fit i32");
    TU_REFUSES(gguf_get_u32(f, "name", &u), MOEVK_ERR_FORMAT, "key 'name' has type string");
    TU_REFUSES(gguf_get_u32(f, "flt", &u), MOEVK_ERR_FORMAT, "key 'flt' has type f32");
    TU_REFUSES(gguf_get_bool(f, "neg", &bl), MOEVK_ERR_FORMAT, "expected bool");
    TU_REFUSES(gguf_get_str(f, "neg", &s, &len), MOEVK_ERR_FORMAT, "expected string");
    TU_REFUSES(gguf_get_arr_info(f, "name", NULL, NULL), MOEVK_ERR_FORMAT, "expected an array");
    int32_t arr[2];
    TU_REFUSES(gguf_get_arr_i32(f, "strs", arr, 2, NULL), MOEVK_ERR_FORMAT, "expected an integer array");
    TU_REFUSES(gguf_get_arr_i32(f, "i64s", arr, 2, NULL), MOEVK_ERR_FORMAT, "'i64s'[1]");
    TU_REFUSES(gguf_get_arr_str(f, "strs", 1, &s, &len), MOEVK_ERR_INVALID_ARG, "index 1");
    TU_REFUSES(gguf_get_arr_str(f, "i64s", 0, &s, &len), MOEVK_ERR_FORMAT, "expected a string array");
    /* optional getters: default when absent, error when present but wrong */
    assert_int_equal(gguf_get_u32_opt(f, "absent", 7, &u), MOEVK_OK);
    assert_int_equal(u, 7);
    float fl;
    assert_int_equal(gguf_get_f32_opt(f, "absent", 0.5f, &fl), MOEVK_OK);
    assert_true(fl == 0.5f);
    assert_int_equal(gguf_get_bool_opt(f, "absent", 1, &bl), MOEVK_OK);
    assert_int_equal(bl, 1);
    TU_REFUSES(gguf_get_u32_opt(f, "name", 7, &u), MOEVK_ERR_FORMAT, "'name'");
    assert_int_equal(gguf_get_i32(f, "neg", &i), MOEVK_OK);
    assert_int_equal(i, -1);
    gguf_close(f);
    free(copy);
    free(b.p);
}

/* A long string array: every element is found in O(1) and is right. */
static void test_string_array_index(void **state) {
    (void)state;
    enum { N = 20000 };
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_key(&b, "tokenizer.ggml.tokens", GGUF_ARRAY);
    gw_u32(&b, GGUF_STRING);
    gw_u64(&b, N);
    char tmp[32];
    for (int i = 0; i < N; i++) {
        snprintf(tmp, sizeof tmp, "tok%d", i * 7);
        gw_str(&b, tmp);
    }
    gguf_file *f;
    void *copy;
    assert_int_equal(open_copy(&b, b.n, 0, &f, &copy), MOEVK_OK);
    const char *s;
    size_t len;
    for (int i = N - 1; i >= 0; i -= 37) {
        assert_int_equal(gguf_get_arr_str(f, "tokenizer.ggml.tokens", (uint64_t)i, &s, &len), MOEVK_OK);
        snprintf(tmp, sizeof tmp, "tok%d", i * 7);
        assert_int_equal(len, strlen(tmp));
        assert_memory_equal(s, tmp, len);
    }
    gguf_close(f);
    free(copy);
    free(b.p);
}

static void test_types_and_alignment(void **state) {
    (void)state;
    /* v2 file, alignment 64, f16/bf16/f32 tensors, no padding after last tensor */
    gw_buf b = {0};
    gw_header(&b, 2, 3, 1);
    gw_kv_u32(&b, "general.alignment", 64);
    gw_tensor_info(&b, "h", 1, (int64_t[]){3}, MVK_TYPE_F16, 0);
    gw_tensor_info(&b, "bf", 2, (int64_t[]){2, 2}, MVK_TYPE_BF16, 64);
    gw_tensor_info(&b, "q", 4, (int64_t[]){32, 1, 2, 1}, MVK_TYPE_Q8_0, 128);
    gw_pad_to(&b, 64);
    size_t data = b.n;
    gw_u16(&b, 0x3c00); gw_u16(&b, 0xc000); gw_u16(&b, 0x3800);
    gw_pad_to(&b, 64);
    for (int i = 0; i < 4; i++) gw_u16(&b, (uint16_t)(0x3f80 + i)); /* bf16 */
    gw_pad_to(&b, 64);
    for (int i = 0; i < 68; i++) gw_u8(&b, 0);
    gguf_file *f;
    void *copy;
    assert_int_equal(open_copy(&b, b.n, 0, &f, &copy), MOEVK_OK);
    assert_int_equal(gguf_version(f), 2);
    assert_int_equal(gguf_alignment(f), 64);
    assert_int_equal(gguf_data_offset(f), data);
    const gguf_tensor_info *h = gguf_find_tensor(f, "h");
    assert_int_equal(h->type, MVK_TYPE_F16);
    assert_int_equal(h->size, 6);
    float x[3];
    mvk_dequantize_row(MVK_TYPE_F16, h->data, x, 3);
    assert_true(x[0] == 1.0f && x[1] == -2.0f && x[2] == 0.5f);
    assert_int_equal(gguf_find_tensor(f, "bf")->size, 8);
    assert_int_equal(gguf_find_tensor(f, "bf")->type, MVK_TYPE_BF16);
    const gguf_tensor_info *q = gguf_find_tensor(f, "q");
    assert_int_equal(q->n_dims, 4);
    assert_int_equal(q->ne[2], 2);
    assert_int_equal(q->n_elems, 64);
    assert_int_equal(q->size, 68);
    assert_ptr_equal(q->data, (const uint8_t *)copy + data + 128);
    gguf_close(f);
    free(copy);
    free(b.p);
}

/* A header-only file (no tensors) needs no data section. */
static void test_no_tensors_no_padding(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_kv_str(&b, "general.architecture", "x");
    gguf_file *f;
    void *copy;
    assert_int_equal(open_copy(&b, b.n, 0, &f, &copy), MOEVK_OK);
    assert_int_equal(gguf_n_tensors(f), 0);
    gguf_close(f);
    free(copy);
    free(b.p);
}

static void test_open_file_and_io_errors(void **state) {
    (void)state;
    gw_buf b = mini(NULL);
    char path[] = "/tmp/moevk-test-gguf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.p, b.n), (ssize_t)b.n);
    close(fd);
    gguf_file *f = NULL;
    assert_int_equal(gguf_open(path, &f), MOEVK_OK);
    assert_int_equal(gguf_find_tensor(f, "b")->size, 34);
    gguf_close(f);
    /* truncated on disk: the message names the path */
    assert_int_equal(truncate(path, (off_t)(b.n - 1)), 0);
    assert_int_equal(gguf_open(path, &f), MOEVK_ERR_FORMAT);
    assert_null(f);
    assert_non_null(strstr(moevk_last_error(), path));
    assert_non_null(strstr(moevk_last_error(), "truncated"));
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(gguf_open(path, &f), MOEVK_ERR_FORMAT);
    assert_non_null(strstr(moevk_last_error(), "truncated"));
    unlink(path);
    assert_int_equal(gguf_open(path, &f), MOEVK_ERR_IO);
    assert_non_null(strstr(moevk_last_error(), path));
    assert_int_equal(gguf_open("/tmp", &f), MOEVK_ERR_IO);
    assert_non_null(strstr(moevk_last_error(), "not a regular file"));
    assert_int_equal(gguf_open(NULL, &f), MOEVK_ERR_INVALID_ARG);
    gguf_close(NULL);
    free(b.p);
}

/* ------------------------------------------------------------ hostile corpus */

/* Every proper prefix of a valid file fails cleanly with "truncated". */
static void test_truncated_at_every_byte(void **state) {
    (void)state;
    gw_buf b = mini(NULL);
    for (size_t len = 0; len < b.n; len++) {
        gguf_file *f = (gguf_file *)1;
        void *copy;
        moevk_status s = open_copy(&b, len, 0, &f, &copy);
        if (s != MOEVK_ERR_FORMAT || f || !strstr(moevk_last_error(), "truncated"))
            fail_msg("prefix of %zu/%zu bytes: %s '%s'", len, b.n, moevk_status_str(s), moevk_last_error());
        free(copy);
    }
    free(b.p);
}

/* Patch one field of the mini file and expect a failure. */
#define PATCH32(field, v, st, needle)                \
    do {                                             \
        mini_at at;                                  \
        gw_buf b = mini(&at);                           \
        gw_set_u32(&b, at.field, (v));                  \
        expect_fail(&b, st, needle);                 \
        free(b.p);                                   \
    } while (0)
#define PATCH64(field, v, st, needle)                \
    do {                                             \
        mini_at at;                                  \
        gw_buf b = mini(&at);                           \
        gw_set_u64(&b, at.field, (v));                  \
        expect_fail(&b, st, needle);                 \
        free(b.p);                                   \
    } while (0)

static void test_bad_magic(void **state) {
    (void)state;
    gw_buf b = mini(NULL);
    memcpy(b.p, "GGML", 4);
    expect_fail(&b, MOEVK_ERR_FORMAT, "magic");
    free(b.p);
}
static void test_version_1(void **state) { (void)state; PATCH32(version, 1, MOEVK_ERR_FORMAT, "version 1"); }
static void test_version_4(void **state) { (void)state; PATCH32(version, 4, MOEVK_ERR_FORMAT, "version 4"); }
static void test_version_0(void **state) { (void)state; PATCH32(version, 0, MOEVK_ERR_FORMAT, "version 0"); }
static void test_big_endian(void **state) { (void)state; PATCH32(version, 0x03000000u, MOEVK_ERR_FORMAT, "big-endian"); }
static void test_huge_n_kv(void **state) { (void)state; PATCH64(n_kv, UINT64_MAX, MOEVK_ERR_FORMAT, "n_kv"); }
static void test_n_kv_plus_one(void **state) { (void)state; PATCH64(n_kv, 4, MOEVK_ERR_FORMAT, "truncated"); }
static void test_huge_n_tensors(void **state) { (void)state; PATCH64(n_tensors, 1ull << 62, MOEVK_ERR_FORMAT, "n_tensors"); }
static void test_n_tensors_plus_one(void **state) { (void)state; PATCH64(n_tensors, 3, MOEVK_ERR_FORMAT, "truncated"); }
static void test_key_len_huge(void **state) { (void)state; PATCH64(k0_len, UINT64_MAX, MOEVK_ERR_FORMAT, "length 18446744073709551615"); }
static void test_key_len_past_end(void **state) {
    (void)state;
    mini_at at;
    gw_buf b = mini(&at);
    gw_set_u64(&b, at.k0_len, b.n - at.k0_len - 8 + 1);
    expect_fail(&b, MOEVK_ERR_FORMAT, "key #0");
    free(b.p);
}
static void test_key_empty(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_kv_str(&b, "", "x");
    expect_fail(&b, MOEVK_ERR_FORMAT, "key #0 is empty");
    free(b.p);
}
static void test_key_with_nul(void **state) {
    (void)state;
    mini_at at;
    gw_buf b = mini(&at);
    b.p[at.k0_len + 8 + 3] = 0;
    expect_fail(&b, MOEVK_ERR_FORMAT, "NUL");
    free(b.p);
}
static void test_unknown_value_type(void **state) { (void)state; PATCH32(k0_type, 13, MOEVK_ERR_FORMAT, "unknown value type 13"); }
static void test_unknown_value_type_huge(void **state) { (void)state; PATCH32(k0_type, 0xFFFFFFFFu, MOEVK_ERR_FORMAT, "unknown value type"); }
static void test_string_value_len_huge(void **state) { (void)state; PATCH64(k2_strlen, 1ull << 63, MOEVK_ERR_FORMAT, "string value"); }
static void test_string_value_len_past_end(void **state) {
    (void)state;
    mini_at at;
    gw_buf b = mini(&at);
    gw_set_u64(&b, at.k2_strlen, b.n - at.k2_strlen - 8 + 1);
    expect_fail(&b, MOEVK_ERR_FORMAT, "key 'test.name'");
    free(b.p);
}
static void test_array_elem_type_unknown(void **state) { (void)state; PATCH32(arr_type, 77, MOEVK_ERR_FORMAT, "unknown array element type 77"); }
static void test_array_count_huge(void **state) { (void)state; PATCH64(arr_n, UINT64_MAX / 2, MOEVK_ERR_FORMAT, "cannot fit"); }
static void test_array_count_overflow_mul(void **state) {
    /* n * 4 wraps to a small number in 64 bits: must still be rejected */
    (void)state;
    PATCH64(arr_n, (1ull << 62) + 1, MOEVK_ERR_FORMAT, "key 'test.values'");
}
static void test_array_elem_bool_type_changes_layout(void **state) {
    /* elements re-read as u64: 3 x 8 bytes eats the next key -> later parse error, no overread */
    (void)state;
    mini_at at;
    gw_buf b = mini(&at);
    gw_set_u32(&b, at.arr_type, GGUF_U64);
    gguf_file *f;
    void *copy;
    moevk_status s = open_copy(&b, b.n, 0, &f, &copy);
    assert_int_equal(s, MOEVK_ERR_FORMAT);
    assert_true(strlen(moevk_last_error()) > 0);
    free(copy);
    free(b.p);
}
static void test_array_of_arrays_huge(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_key(&b, "aa", GGUF_ARRAY);
    gw_u32(&b, GGUF_ARRAY);
    gw_u64(&b, 2);
    gw_u32(&b, GGUF_U8);
    gw_u64(&b, 1);
    gw_u8(&b, 9);
    gw_u32(&b, GGUF_F64);
    gw_u64(&b, 1ull << 60);
    expect_fail(&b, MOEVK_ERR_FORMAT, "array element 1");
    free(b.p);
}
static void test_array_of_arrays_count_huge(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_key(&b, "aa", GGUF_ARRAY);
    gw_u32(&b, GGUF_ARRAY);
    gw_u64(&b, UINT64_MAX);
    gw_u32(&b, GGUF_U8);
    gw_u64(&b, 0);
    expect_fail(&b, MOEVK_ERR_FORMAT, "cannot fit");
    free(b.p);
}
static void test_arrays_nested_too_deep(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_key(&b, "deep", GGUF_ARRAY);
    for (int d = 0; d < 40; d++) {
        gw_u32(&b, GGUF_ARRAY);
        gw_u64(&b, 1);
    }
    gw_u32(&b, GGUF_U8);
    gw_u64(&b, 0);
    expect_fail(&b, MOEVK_ERR_FORMAT, "nested deeper");
    free(b.p);
}
static void test_string_array_elem_past_end(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_key(&b, "toks", GGUF_ARRAY);
    gw_u32(&b, GGUF_STRING);
    gw_u64(&b, 2);
    gw_str(&b, "ok");
    gw_u64(&b, 100);
    gw_put(&b, "short", 5);
    expect_fail(&b, MOEVK_ERR_FORMAT, "array element 1");
    free(b.p);
}
static void test_duplicate_key(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 3);
    gw_kv_u32(&b, "a.b", 1);
    gw_kv_u32(&b, "c", 2);
    gw_kv_str(&b, "a.b", "again");
    expect_fail(&b, MOEVK_ERR_FORMAT, "duplicate key 'a.b'");
    free(b.p);
}
static void test_duplicate_tensor(void **state) {
    (void)state;
    mini_at at;
    gw_buf b = mini(&at);
    b.p[at.t1_name] = 'a';
    expect_fail(&b, MOEVK_ERR_FORMAT, "duplicate tensor name 'a'");
    free(b.p);
}
static void test_tensor_name_empty(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 1, 0);
    gw_tensor_info(&b, "", 1, (int64_t[]){8}, MVK_TYPE_F32, 0);
    gw_pad_to(&b, 32);
    for (int i = 0; i < 32; i++) gw_u8(&b, 0);
    expect_fail(&b, MOEVK_ERR_FORMAT, "tensor name #0 is empty");
    free(b.p);
}
static void test_tensor_name_len_huge(void **state) { (void)state; PATCH64(t0_name_len, 1ull << 40, MOEVK_ERR_FORMAT, "tensor name #0"); }
static void test_n_dims_0(void **state) { (void)state; PATCH32(t0_ndims, 0, MOEVK_ERR_FORMAT, "tensor 'a': n_dims = 0"); }
static void test_n_dims_5(void **state) { (void)state; PATCH32(t0_ndims, 5, MOEVK_ERR_FORMAT, "tensor 'a': n_dims = 5"); }
static void test_n_dims_huge(void **state) { (void)state; PATCH32(t0_ndims, 0xFFFFFFFFu, MOEVK_ERR_FORMAT, "n_dims"); }
static void test_ne_zero(void **state) { (void)state; PATCH64(t0_ne1, 0, MOEVK_ERR_FORMAT, "tensor 'a': ne[1] = 0"); }
static void test_ne_negative(void **state) { (void)state; PATCH64(t0_ne0, (uint64_t)-4, MOEVK_ERR_FORMAT, "tensor 'a': ne[0] = -4"); }
static void test_ne_product_overflow(void **state) {
    (void)state;
    mini_at at;
    gw_buf b = mini(&at);
    gw_set_u64(&b, at.t0_ne0, 1ull << 40);
    gw_set_u64(&b, at.t0_ne1, 1ull << 40);
    expect_fail(&b, MOEVK_ERR_FORMAT, "tensor 'a': element count overflows");
    free(b.p);
}
static void test_byte_size_overflow(void **state) {
    (void)state;
    mini_at at;
    gw_buf b = mini(&at);
    gw_set_u64(&b, at.t0_ne0, 1ull << 31);
    gw_set_u64(&b, at.t0_ne1, 1ull << 31); /* 2^62 f32 = 2^64 bytes */
    expect_fail(&b, MOEVK_ERR_FORMAT, "tensor 'a': byte size overflows");
    free(b.p);
}
static void test_tensor_too_big_for_file(void **state) {
    (void)state;
    PATCH64(t0_ne1, 1ull << 30, MOEVK_ERR_FORMAT, "tensor 'a': data");
}
static void test_tensor_type_invalid(void **state) { (void)state; PATCH32(t0_type, 1000, MOEVK_ERR_FORMAT, "tensor 'a': invalid ggml type id 1000"); }
static void test_tensor_type_iq2_xxs(void **state) {
    (void)state;
    PATCH32(t0_type, 16, MOEVK_ERR_UNSUPPORTED, "tensor 'a' has type iq2_xxs (id 16); moevk supports f32, f16, bf16, q4_0");
}

/* Every weight type of the table in tensor b (34 data bytes at 32, last in
 * the file): a whole block that fits opens with the table's byte size; a
 * row that is not a multiple of the block is a FORMAT error; a tensor
 * shorter than its type and shape need is a FORMAT error. */
static void test_every_weight_type(void **state) {
    (void)state;
    int n;
    const mvk_type_info *all = mvk_type_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i].suffix) continue;
        mini_at at;
        gw_buf b = mini(&at);
        gw_set_u32(&b, at.t1_type, (uint32_t)all[i].type);
        if (all[i].from >= 0) { /* a device-only type (made at load) is never a file's: its id is past ggml's */
            char want[96];
            snprintf(want, sizeof want, "tensor 'b': invalid ggml type id %u", (unsigned)all[i].type);
            expect_fail(&b, MOEVK_ERR_FORMAT, want);
            free(b.p);
            continue;
        }
        gw_set_u64(&b, at.t1_ne0, (uint64_t)all[i].block_elems);
        gguf_file *f;
        void *copy;
        moevk_status s = open_copy(&b, b.n, 0, &f, &copy);
        if (all[i].block_bytes <= 34) {
            if (s != MOEVK_OK) fail_msg("%s: one block: %s", all[i].name, moevk_last_error());
            const gguf_tensor_info *t = gguf_find_tensor(f, "b");
            assert_true(t->supported);
            assert_int_equal(t->type, all[i].type);
            assert_int_equal(t->size, all[i].block_bytes);
            gguf_close(f);
            free(copy);
        } else {
            if (s != MOEVK_ERR_FORMAT || !strstr(moevk_last_error(), "tensor 'b': data"))
                fail_msg("%s: a block of %lld bytes in 34: %s '%s'", all[i].name, (long long)all[i].block_bytes, moevk_status_str(s),
                         moevk_last_error());
            free(copy);  // the failed open keeps nothing of it
        }
        if (all[i].block_elems > 1) {
            char want[128];
            snprintf(want, sizeof want, "tensor 'b': row of %lld elements is not a multiple of the %s block size %lld",
                     (long long)all[i].block_elems + 16, all[i].name, (long long)all[i].block_elems);
            gw_set_u64(&b, at.t1_ne0, (uint64_t)all[i].block_elems + 16);
            expect_fail(&b, MOEVK_ERR_FORMAT, want);
        }
        free(b.p);
    }
}

/* A block whose f16 scale is Inf or NaN dequantises as ggml's arithmetic
 * gives (Inf * q, NaN), never a crash; the GPU side is in test_op_quant. */
static void test_nonfinite_scale(void **state) {
    (void)state;
    uint8_t blk[18] = {0x00, 0x7c}; /* q4_0, d = +Inf, all quants 0 -> (0 - 8) * Inf */
    float v[32];
    mvk_dequantize_row(MVK_TYPE_Q4_0, blk, v, 32);
    for (int i = 0; i < 32; i++) assert_true(isinf(v[i]) && v[i] < 0);
    blk[1] = 0x7e; /* NaN */
    mvk_dequantize_row(MVK_TYPE_Q4_0, blk, v, 32);
    for (int i = 0; i < 32; i++) assert_true(isnan(v[i]));
    uint8_t k4[144] = {0x00, 0x7c, 0x00, 0x00}; /* q4_K: d = Inf, dmin = 0, scales 0: Inf * 0 = NaN */
    float w[256];
    mvk_dequantize_row(MVK_TYPE_Q4_K, k4, w, 256);
    for (int i = 0; i < 256; i++) assert_true(isnan(w[i]));
}
static void test_tensor_type_retired_id(void **state) { (void)state; PATCH32(t1_type, 4, MOEVK_ERR_UNSUPPORTED, "tensor 'b' has unknown ggml type 4"); }
static void test_tensor_type_i32_unsupported(void **state) { (void)state; PATCH32(t0_type, 26, MOEVK_ERR_UNSUPPORTED, "i32"); }
static void test_q8_0_row_not_multiple_of_block(void **state) {
    (void)state;
    PATCH64(t1_ne0, 33, MOEVK_ERR_FORMAT, "tensor 'b': row of 33 elements is not a multiple of the q8_0 block size 32");
}
static void test_tensor_offset_misaligned(void **state) { (void)state; PATCH64(t1_off, 33, MOEVK_ERR_FORMAT, "tensor 'b': data offset 33 is misaligned"); }
static void test_tensor_offset_out_of_bounds(void **state) { (void)state; PATCH64(t1_off, 64, MOEVK_ERR_FORMAT, "tensor 'b': data"); }
static void test_tensor_offset_wraps(void **state) {
    (void)state;
    PATCH64(t1_off, UINT64_MAX - 31, MOEVK_ERR_FORMAT, "out of bounds");
}
static void test_tensors_overlap(void **state) { (void)state; PATCH64(t0_off, 32, MOEVK_ERR_FORMAT, "overlap"); }
static void test_alignment_zero(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_kv_u32(&b, "general.alignment", 0);
    expect_fail(&b, MOEVK_ERR_FORMAT, "general.alignment = 0 is not a nonzero power of two");
    free(b.p);
}
static void test_alignment_three(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_kv_u32(&b, "general.alignment", 3);
    expect_fail(&b, MOEVK_ERR_FORMAT, "general.alignment = 3 is not a nonzero power of two");
    free(b.p);
}
static void test_alignment_negative(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_key(&b, "general.alignment", GGUF_I32);
    gw_u32(&b, (uint32_t)-32);
    expect_fail(&b, MOEVK_ERR_FORMAT, "general.alignment = -32");
    free(b.p);
}
static void test_alignment_wrong_type(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 0, 1);
    gw_kv_str(&b, "general.alignment", "32");
    expect_fail(&b, MOEVK_ERR_FORMAT, "general.alignment has type string");
    free(b.p);
}
static void test_alignment_larger_than_file(void **state) {
    (void)state;
    gw_buf b = {0};
    gw_header(&b, 3, 1, 1);
    gw_kv_u32(&b, "general.alignment", 1u << 20);
    gw_tensor_info(&b, "t", 1, (int64_t[]){8}, MVK_TYPE_F32, 0);
    for (int i = 0; i < 64; i++) gw_u8(&b, 0);
    expect_fail(&b, MOEVK_ERR_FORMAT, "truncated: data section");
    free(b.p);
}
static void test_data_section_missing(void **state) {
    (void)state;
    mini_at at;
    gw_buf b = mini(&at);
    expect_fail_at(&b, at.header_end, MOEVK_ERR_FORMAT, "truncated", __LINE__);
    free(b.p);
}
static void test_empty_file(void **state) {
    (void)state;
    gw_buf b = mini(NULL);
    expect_fail_at(&b, 0, MOEVK_ERR_FORMAT, "magic", __LINE__);
    free(b.p);
}
static void test_random_garbage_never_crashes(void **state) {
    /* flip bytes of the header at random; any outcome but a crash/overread is fine,
       and every failure must leave a message */
    (void)state;
    mini_at at;
    gw_buf b0 = mini(&at);
    uint64_t r = 0x9e3779b97f4a7c15ull;
    int n_fail = 0;
    for (int it = 0; it < 3000; it++) {
        gw_buf b = {malloc(b0.n), b0.n, b0.n};
        memcpy(b.p, b0.p, b0.n);
        for (int k = 0; k < 3; k++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            b.p[4 + r % (at.header_end - 4)] = (uint8_t)(r >> 32);
        }
        gguf_file *f;
        void *copy;
        moevk_status s = open_copy(&b, b.n, 0, &f, &copy);
        if (s == MOEVK_OK) {
            for (int64_t i = 0; i < gguf_n_kv(f); i++) {
                gguf_value v, e;
                assert_int_equal(gguf_kv_value(f, i, &v), MOEVK_OK);
                if (v.type == GGUF_ARRAY && v.n) assert_int_equal(gguf_arr_elem(f, &v, v.n - 1, &e), MOEVK_OK);
            }
            gguf_close(f);
        } else {
            n_fail++;
            assert_true(strlen(moevk_last_error()) > 0);
        }
        free(copy);
        free(b.p);
    }
    assert_true(n_fail > 100);
    free(b0.p);
}

/* GGUF_OPEN_ANY_TYPE lists tensors of unsupported types without data. */
static void test_any_type_flag(void **state) {
    (void)state;
    mini_at at;
    gw_buf b = mini(&at);
    gw_set_u32(&b, at.t0_type, 16);
    gguf_file *f;
    void *copy;
    assert_int_equal(open_copy(&b, b.n, GGUF_OPEN_ANY_TYPE, &f, &copy), MOEVK_OK);
    const gguf_tensor_info *t = gguf_find_tensor(f, "a");
    assert_false(t->supported);
    assert_int_equal(t->ggml_type, 16);
    assert_null(t->data);
    assert_string_equal(gguf_ggml_type_name(t->ggml_type), "iq2_xxs");
    assert_true(gguf_find_tensor(f, "b")->supported);
    gguf_close(f);
    free(copy);
    free(b.p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mini_parses),
        cmocka_unit_test(test_all_value_types_round_trip),
        cmocka_unit_test(test_getter_errors),
        cmocka_unit_test(test_string_array_index),
        cmocka_unit_test(test_types_and_alignment),
        cmocka_unit_test(test_no_tensors_no_padding),
        cmocka_unit_test(test_open_file_and_io_errors),
        cmocka_unit_test(test_any_type_flag),
        /* hostile corpus */
        cmocka_unit_test(test_truncated_at_every_byte),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_version_1),
        cmocka_unit_test(test_version_4),
        cmocka_unit_test(test_version_0),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_huge_n_kv),
        cmocka_unit_test(test_n_kv_plus_one),
        cmocka_unit_test(test_huge_n_tensors),
        cmocka_unit_test(test_n_tensors_plus_one),
        cmocka_unit_test(test_key_len_huge),
        cmocka_unit_test(test_key_len_past_end),
        cmocka_unit_test(test_key_empty),
        cmocka_unit_test(test_key_with_nul),
        cmocka_unit_test(test_unknown_value_type),
        cmocka_unit_test(test_unknown_value_type_huge),
        cmocka_unit_test(test_string_value_len_huge),
        cmocka_unit_test(test_string_value_len_past_end),
        cmocka_unit_test(test_array_elem_type_unknown),
        cmocka_unit_test(test_array_count_huge),
        cmocka_unit_test(test_array_count_overflow_mul),
        cmocka_unit_test(test_array_elem_bool_type_changes_layout),
        cmocka_unit_test(test_array_of_arrays_huge),
        cmocka_unit_test(test_array_of_arrays_count_huge),
        cmocka_unit_test(test_arrays_nested_too_deep),
        cmocka_unit_test(test_string_array_elem_past_end),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_duplicate_tensor),
        cmocka_unit_test(test_tensor_name_empty),
        cmocka_unit_test(test_tensor_name_len_huge),
        cmocka_unit_test(test_n_dims_0),
        cmocka_unit_test(test_n_dims_5),
        cmocka_unit_test(test_n_dims_huge),
        cmocka_unit_test(test_ne_zero),
        cmocka_unit_test(test_ne_negative),
        cmocka_unit_test(test_ne_product_overflow),
        cmocka_unit_test(test_byte_size_overflow),
        cmocka_unit_test(test_tensor_too_big_for_file),
        cmocka_unit_test(test_tensor_type_invalid),
        cmocka_unit_test(test_tensor_type_iq2_xxs),
        cmocka_unit_test(test_every_weight_type),
        cmocka_unit_test(test_nonfinite_scale),
        cmocka_unit_test(test_tensor_type_retired_id),
        cmocka_unit_test(test_tensor_type_i32_unsupported),
        cmocka_unit_test(test_q8_0_row_not_multiple_of_block),
        cmocka_unit_test(test_tensor_offset_misaligned),
        cmocka_unit_test(test_tensor_offset_out_of_bounds),
        cmocka_unit_test(test_tensor_offset_wraps),
        cmocka_unit_test(test_tensors_overlap),
        cmocka_unit_test(test_alignment_zero),
        cmocka_unit_test(test_alignment_three),
        cmocka_unit_test(test_alignment_negative),
        cmocka_unit_test(test_alignment_wrong_type),
        cmocka_unit_test(test_alignment_larger_than_file),
        cmocka_unit_test(test_data_section_missing),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_random_garbage_never_crashes),
    };
    return tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
