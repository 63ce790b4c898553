/* test_transfers.c — the recorded transfers vk_op_copy_bytes and
 * vk_op_fill_u32 against a CPU reference (the same byte operations on host
 * arrays), chained with a compute op so that every hazard kind between
 * transfer and compute commands is crossed, plus their bad-argument errors;
 * and the upload batch (vk_upload_batch_*): many regions, odd offsets, more
 * regions and bytes than one submission holds, one region larger than the
 * staging buffer, its submission count in each memory model, its errors;
 * vk_buffer_reserve (keeps a buffer large enough, replaces a smaller one). */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define NW 1000 /* words per buffer */

static vk_buffer *make_buf(const uint32_t *init) {
    vk_buffer *b = NULL;
    TU_OK(vk_buffer_create(tu_vk, NW * 4, VK_MEM_DEVICE, &b));
    TU_OK(vk_upload(tu_vk, b, 0, init, NW * 4));
    return b;
}

/* fill -> copy (reads the filled range: RAW) -> add (reads the copy: RAW) ->
 * copy of the sum (RAW) -> fill over the first source (WAR) ; unaligned
 * byte copies included. */
static void test_fill_copy_chain_matches_cpu(void **state) {
    (void)state;
    uint32_t *a = malloc(NW * 4), *b = malloc(NW * 4), *c = malloc(NW * 4), *got = malloc(NW * 4);
    assert_true(a && b && c && got);
    tu_seed(8);
    float *fa = (float *)a, *fb = (float *)b;
    tu_fill(fa, NW, -2.0f, 2.0f);
    tu_fill(fb, NW, -2.0f, 2.0f);
    for (int i = 0; i < NW; i++) c[i] = 0x11111111u * (uint32_t)(i % 7);
    vk_buffer *A = make_buf(a), *B = make_buf(b), *C = make_buf(c);

    vk_stream *s = tu_begin();
    /* 1. fill words [3, 3+333) of A with the bits of 1.5f */
    uint32_t v15;
    float f15 = 1.5f;
    memcpy(&v15, &f15, 4);
    TU_OK(vk_op_fill_u32(s, A, 12, 333 * 4, v15));
    for (int i = 3; i < 336; i++) a[i] = v15;
    /* 2. copy 777 bytes of A from byte 10 to B at byte 401 (unaligned) */
    TU_OK(vk_op_copy_bytes(s, B, 401, A, 10, 777));
    memmove((char *)b + 401, (char *)a + 10, 777);
    /* 3. C[0..500) = A[0..500) + B[0..500) */
    mvk_tensor ta = mvk_tensor_make(A, 0, MVK_TYPE_F32, 500, 1, 1, 1);
    mvk_tensor tb = mvk_tensor_make(B, 0, MVK_TYPE_F32, 500, 1, 1, 1);
    mvk_tensor tc = mvk_tensor_make(C, 0, MVK_TYPE_F32, 500, 1, 1, 1);
    TU_OK(vk_op_add(s, &tc, &ta, &tb));
    for (int i = 0; i < 500; i++) ((float *)c)[i] = fa[i] + fb[i];
    /* 4. copy the sum's words [100, 300) to C at word 600 */
    TU_OK(vk_op_copy_bytes(s, C, 600 * 4, C, 100 * 4, 200 * 4));
    memmove(c + 600, c + 100, 200 * 4);
    /* 5. overwrite A, which the add read (WAR) */
    TU_OK(vk_op_fill_u32(s, A, 0, NW * 4, 0xa5a5a5a5u));
    for (int i = 0; i < NW; i++) a[i] = 0xa5a5a5a5u;
    /* 1->2 RAW, 2->3 RAW, 3->4 RAW, 3->5 WAR (4 may share 5's barrier) */
    assert_true(vk_stream_barrier_count(s) >= 3);
    tu_end_submit(s);

    TU_OK(vk_download(tu_vk, A, 0, got, NW * 4));
    assert_memory_equal(got, a, NW * 4);
    TU_OK(vk_download(tu_vk, B, 0, got, NW * 4));
    assert_memory_equal(got, b, NW * 4);
    TU_OK(vk_download(tu_vk, C, 0, got, NW * 4));
    /* the add is exact in f32 on both sides */
    assert_memory_equal(got, c, NW * 4);
    vk_buffer_destroy(A); vk_buffer_destroy(B); vk_buffer_destroy(C);
    free(a); free(b); free(c); free(got);
}

static void test_transfer_errors(void **state) {
    (void)state;
    uint32_t z[NW] = {0};
    vk_buffer *A = make_buf(z), *B = make_buf(z);
    vk_stream *s = tu_begin();
    assert_int_equal(vk_op_copy_bytes(s, B, 0, A, NW * 4 - 3, 4), MOEVK_ERR_INVALID_ARG); /* src past the end */
    assert_non_null(strstr(moevk_last_error(), "src"));
    assert_int_equal(vk_op_copy_bytes(s, B, NW * 4, A, 0, 1), MOEVK_ERR_INVALID_ARG); /* dst past the end */
    assert_non_null(strstr(moevk_last_error(), "dst"));
    assert_int_equal(vk_op_copy_bytes(s, NULL, 0, A, 0, 4), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(vk_op_fill_u32(s, A, 2, 8, 1), MOEVK_ERR_INVALID_ARG); /* unaligned offset */
    assert_int_equal(vk_op_fill_u32(s, A, 0, 6, 1), MOEVK_ERR_INVALID_ARG); /* size not words */
    assert_int_equal(vk_op_fill_u32(s, A, 0, NW * 4 + 4, 1), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(vk_op_fill_u32(s, NULL, 0, 4, 1), MOEVK_ERR_INVALID_ARG);
    TU_OK(vk_op_copy_bytes(s, B, 0, A, 0, 0)); /* empty is a no-op */
    TU_OK(vk_op_fill_u32(s, A, 0, 0, 1));
    assert_int_equal(vk_stream_barrier_count(s), 0);
    TU_OK(vk_stream_end(s));
    assert_int_equal(vk_op_fill_u32(s, A, 0, 4, 1), MOEVK_ERR_INVALID_ARG); /* not recording */
    assert_non_null(strstr(moevk_last_error(), "not recording"));
    TU_OK(vk_stream_submit(s));
    vk_stream_destroy(s);
    vk_buffer_destroy(A); vk_buffer_destroy(B);
}

static uint32_t rnd(uint32_t *st) {
    *st = *st * 1664525u + 1013904223u;
    return *st >> 8;
}

/* Regions of three buffers (odd offsets and sizes, some overwritten twice,
 * more than VK_UPLOAD_BATCH_MAX of them and more bytes than the 32 MiB
 * staging buffer, then one region larger than it), written through the
 * batch's pointers; the buffers must read back as the same writes on host
 * arrays, and a compute op must see the bytes. */
static void test_upload_batch_matches_host(void **state) {
    (void)state;
    const uint64_t sz[3] = {24u << 20, 3u << 20, 40u << 20};
    vk_buffer *B[3] = {NULL, NULL, NULL};
    uint8_t *want[3];
    for (int i = 0; i < 3; i++) {
        want[i] = calloc(sz[i], 1);
        assert_non_null(want[i]);
        TU_OK(vk_buffer_create(tu_vk, sz[i], VK_MEM_DEVICE, &B[i]));
        TU_OK(vk_upload(tu_vk, B[i], 0, want[i], sz[i]));
    }
    vk_upload_batch b;
    vk_upload_batch_begin(tu_vk, &b);
    uint32_t st = 7;
    uint64_t total = 0;
    int n = 0;
    while (n < 2 * VK_UPLOAD_BATCH_MAX + 5 || total < (48u << 20)) { /* several submissions' worth */
        int i = (int)(rnd(&st) % 2);                                   /* buffers 0 and 1 */
        uint64_t size = 1 + rnd(&st) % (n % 9 == 0 ? (1u << 20) : 4093u);
        uint64_t off = rnd(&st) % (sz[i] - size);
        void *where = NULL;
        TU_OK(vk_upload_batch_add(&b, B[i], off, size, &where));
        assert_non_null(where);
        for (uint64_t j = 0; j < size; j++) ((uint8_t *)where)[j] = want[i][off + j] = (uint8_t)rnd(&st);
        total += size;
        n++;
    }
    /* larger than the staging buffer (32 MiB at most): its own host buffer */
    void *where = NULL;
    TU_OK(vk_upload_batch_add(&b, B[2], 5, (33u << 20) + 3, &where));
    for (uint64_t j = 0; j < (33u << 20) + 3; j++) ((uint8_t *)where)[j] = want[2][5 + j] = (uint8_t)(j * 31 + 1);
    /* and a small one after it, in the same batch */
    TU_OK(vk_upload_batch_add(&b, B[2], sz[2] - 4, 4, &where));
    memcpy(where, "tail", 4);
    memcpy(want[2] + sz[2] - 4, "tail", 4);
    TU_OK(vk_upload_batch_end(&b));
    assert_int_equal(b.bytes, total + (33u << 20) + 3 + 4);
    if (vk_ctx_info(tu_vk)->staging) /* 3+ for the small regions (count and bytes), 2 for the 33 MiB one, 1 for the tail */
        assert_in_range(b.submits, 6, 64);
    else
        assert_int_equal(b.submits, 0); /* written in place */
    uint8_t *got = malloc(sz[2]);
    assert_non_null(got);
    for (int i = 0; i < 3; i++) {
        TU_OK(vk_download(tu_vk, B[i], 0, got, sz[i]));
        if (memcmp(got, want[i], sz[i])) {
            uint64_t j = 0;
            while (got[j] == want[i][j]) j++;
            fail_msg("buffer %d: byte %llu is %u, written %u", i, (unsigned long long)j, got[j], want[i][j]);
        }
    }
    /* a compute op reads the batch's bytes: words [0, 256) of buffer 1 doubled into buffer 0 */
    vk_upload_batch_begin(tu_vk, &b);
    TU_OK(vk_upload_batch_add(&b, B[1], 0, 1024, &where));
    for (int j = 0; j < 256; j++) ((float *)where)[j] = (float)j - 100.5f;
    TU_OK(vk_upload_batch_end(&b));
    vk_stream *s = tu_begin();
    mvk_tensor t1 = mvk_tensor_make(B[1], 0, MVK_TYPE_F32, 256, 1, 1, 1);
    mvk_tensor t0 = mvk_tensor_make(B[0], 0, MVK_TYPE_F32, 256, 1, 1, 1);
    TU_OK(vk_op_add(s, &t0, &t1, &t1));
    tu_end_submit(s);
    float sum[256];
    TU_OK(vk_download(tu_vk, B[0], 0, sum, sizeof sum));
    for (int j = 0; j < 256; j++) assert_float_equal(sum[j], 2.0f * ((float)j - 100.5f), 0.0f);
    free(got);
    for (int i = 0; i < 3; i++) {
        vk_buffer_destroy(B[i]);
        free(want[i]);
    }
}

/* A region outside its buffer is refused by name; the batch keeps that
 * error to its end, which still releases the transfer state (a plain
 * upload works afterwards). */
static void test_upload_batch_errors(void **state) {
    (void)state;
    vk_buffer *A = NULL;
    TU_OK(vk_buffer_create(tu_vk, 4096, VK_MEM_DEVICE, &A));
    vk_upload_batch b;
    vk_upload_batch_begin(tu_vk, &b);
    void *where = (void *)1;
    TU_OK(vk_upload_batch_add(&b, A, 0, 16, &where));
    memset(where, 1, 16);
    assert_int_equal(vk_upload_batch_add(&b, A, 4090, 7, &where), MOEVK_ERR_INVALID_ARG);
    assert_null(where);
    assert_non_null(strstr(moevk_last_error(), "outside buffer"));
    assert_int_equal(vk_upload_batch_add(&b, A, 0, 4, &where), MOEVK_ERR_INVALID_ARG); /* the first error sticks */
    assert_int_equal(vk_upload_batch_add(&b, NULL, 0, 4, &where), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(vk_upload_batch_end(&b), MOEVK_ERR_INVALID_ARG);
    uint32_t w = 0x12345678u, r = 0;
    TU_OK(vk_upload(tu_vk, A, 8, &w, 4));
    TU_OK(vk_download(tu_vk, A, 8, &r, 4));
    assert_int_equal(r, w);
    vk_upload_batch_begin(tu_vk, &b); /* an empty batch submits nothing */
    TU_OK(vk_upload_batch_end(&b));
    assert_int_equal(b.submits, 0);
    vk_buffer_destroy(A);
}

/* vk_buffer_reserve: NULL -> created; a request it holds keeps the same buffer; a larger one replaces it with a
 * buffer of the requested size that works (upload + download round trip). */
static void test_buffer_reserve(void **state) {
    (void)state;
    vk_buffer *b = NULL;
    TU_OK(vk_buffer_reserve(tu_vk, &b, 256, VK_MEM_DEVICE));
    assert_non_null(b);
    assert_true(vk_buffer_size(b) >= 256);
    vk_buffer *first = b;
    TU_OK(vk_buffer_reserve(tu_vk, &b, 100, VK_MEM_DEVICE));
    assert_ptr_equal(b, first);
    TU_OK(vk_buffer_reserve(tu_vk, &b, NW * 4, VK_MEM_DEVICE));
    assert_true(vk_buffer_size(b) >= NW * 4);
    uint32_t *w = malloc(NW * 4), *r = malloc(NW * 4);
    assert_true(w && r);
    for (int i = 0; i < NW; i++) w[i] = 0x9e3779b9u * (uint32_t)i;
    TU_OK(vk_upload(tu_vk, b, 0, w, NW * 4));
    TU_OK(vk_download(tu_vk, b, 0, r, NW * 4));
    assert_memory_equal(w, r, NW * 4);
    free(w);
    free(r);
    vk_buffer_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fill_copy_chain_matches_cpu, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_transfer_errors, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_upload_batch_matches_host, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_upload_batch_errors, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_buffer_reserve, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
