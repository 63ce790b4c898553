/* test_backend.c — the Vulkan backend core: devices, memory, streams, barriers, replay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static void test_device_limits_queried(void **state) {
    (void)state;
    const vk_device_info *i = vk_ctx_info(tu_vk);
    assert_true(i->subgroup_size >= 1);
    assert_true(i->max_shared_memory >= 16384); /* Vulkan's required minimum */
    assert_true(i->max_storage_buffer_range >= (1u << 27) || i->max_storage_buffer_range >= (1u << 20));
    assert_true(i->max_workgroup_count[0] >= 65535);
    assert_true(i->max_push_constants_size >= 128);
    assert_true(i->min_storage_buffer_offset_alignment >= 1);
    assert_true(strlen(i->name) > 0);
}

static void test_device_override_unknown_name(void **state) {
    (void)state;
    vk_ctx *ctx = NULL;
    vk_ctx_params p = {.device = "no-such-gpu-xyz"};
    assert_int_equal(vk_ctx_create(&p, &ctx), MOEVK_ERR_NO_DEVICE);
    assert_null(ctx);
    assert_non_null(strstr(moevk_last_error(), "no-such-gpu-xyz"));
    p.device = "0"; /* by index */
    TU_OK(vk_ctx_create(&p, &ctx));
    assert_int_equal(vk_ctx_info(ctx)->index, 0);
    vk_ctx_destroy(ctx);
}

static void test_list_devices(void **state) {
    (void)state;
    vk_device_info infos[8];
    uint32_t n = 0;
    TU_OK(vk_list_devices(infos, 8, &n));
    assert_true(n >= 1);
    assert_string_equal(infos[vk_ctx_info(tu_vk)->index].name, vk_ctx_info(tu_vk)->name);
}

static void test_suballocator_reuses_blocks(void **state) {
    (void)state;
    uint64_t base = vk_ctx_allocated_bytes(tu_vk);
    vk_buffer *b[64];
    for (int i = 0; i < 64; i++) TU_OK(vk_buffer_create(tu_vk, 1000 + 17 * i, VK_MEM_DEVICE, &b[i]));
    assert_true(vk_ctx_allocated_bytes(tu_vk) > base);
    /* free every other one, then allocate again into the holes */
    for (int i = 0; i < 64; i += 2) vk_buffer_destroy(b[i]);
    for (int i = 0; i < 64; i += 2) TU_OK(vk_buffer_create(tu_vk, 900, VK_MEM_DEVICE, &b[i]));
    /* contents stay separate */
    for (int i = 0; i < 64; i++) {
        uint32_t v = 0xabc00000u + (uint32_t)i;
        TU_OK(vk_upload(tu_vk, b[i], 0, &v, 4));
    }
    for (int i = 0; i < 64; i++) {
        uint32_t v = 0;
        TU_OK(vk_download(tu_vk, b[i], 0, &v, 4));
        assert_int_equal(v, 0xabc00000u + (uint32_t)i);
    }
    for (int i = 0; i < 64; i++) vk_buffer_destroy(b[i]);
    assert_int_equal(vk_ctx_allocated_bytes(tu_vk), base);
}

static void test_buffer_errors(void **state) {
    (void)state;
    vk_buffer *b = NULL;
    assert_int_equal(vk_buffer_create(tu_vk, 0, VK_MEM_DEVICE, &b), MOEVK_ERR_INVALID_ARG);
    uint64_t too_big = vk_ctx_info(tu_vk)->max_memory_allocation_size + 1;
    assert_int_equal(vk_buffer_create(tu_vk, too_big, VK_MEM_DEVICE, &b), MOEVK_ERR_DEVICE_LIMIT);
    assert_non_null(strstr(moevk_last_error(), "maxMemoryAllocationSize"));
    TU_OK(vk_buffer_create(tu_vk, 64, VK_MEM_DEVICE, &b));
    char tmp[128] = {0};
    assert_int_equal(vk_upload(tu_vk, b, 32, tmp, 64), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(vk_download(tu_vk, b, 65, tmp, 1), MOEVK_ERR_INVALID_ARG);
    vk_buffer_destroy(b);
    vk_buffer_destroy(NULL);
}

static void test_host_buffer_roundtrip(void **state) {
    (void)state;
    vk_buffer *h = NULL;
    TU_OK(vk_buffer_create(tu_vk, 4096, VK_MEM_HOST, &h));
    assert_non_null(vk_buffer_map(h));
    float data[1024];
    tu_fill(data, 1024, -1, 1);
    TU_OK(vk_upload(tu_vk, h, 0, data, sizeof data));
    assert_memory_equal(vk_buffer_map(h), data, sizeof data);
    vk_buffer_destroy(h);
}

/* Independent dispatches get no barrier between them; a dependent one does. */
static void test_barriers_only_where_needed(void **state) {
    (void)state;
    float a[64], b[64];
    tu_fill(a, 64, -1, 1);
    tu_fill(b, 64, -1, 1);
    tu_tensor ta = tu_upload(MVK_TYPE_F32, 64, 1, 1, 1, a), tb = tu_upload(MVK_TYPE_F32, 64, 1, 1, 1, b);
    tu_tensor y1 = tu_upload(MVK_TYPE_F32, 64, 1, 1, 1, NULL), y2 = tu_upload(MVK_TYPE_F32, 64, 1, 1, 1, NULL);
    tu_tensor z = tu_upload(MVK_TYPE_F32, 64, 1, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_add(s, &y1.t, &ta.t, &tb.t));
    TU_OK(vk_op_mul(s, &y2.t, &ta.t, &tb.t));
    assert_int_equal(vk_stream_barrier_count(s), 0); /* both only read a, b */
    TU_OK(vk_op_add(s, &z.t, &y1.t, &y2.t));
    assert_int_equal(vk_stream_barrier_count(s), 1); /* reads y1, y2 written above */
    TU_OK(vk_op_add(s, &y1.t, &ta.t, &ta.t));
    assert_int_equal(vk_stream_barrier_count(s), 2); /* overwrites y1 that z's add reads */
    assert_int_equal(vk_stream_dispatch_count(s), 4);
    tu_end_submit(s);
    float got[64];
    tu_download(&z, got, sizeof got);
    for (int i = 0; i < 64; i++) assert_float_equal(got[i], (a[i] + b[i]) + a[i] * b[i], 1e-6);
    tu_download(&y1, got, sizeof got);
    for (int i = 0; i < 64; i++) assert_float_equal(got[i], a[i] + a[i], 1e-6);
    tu_free(&ta); tu_free(&tb); tu_free(&y1); tu_free(&y2); tu_free(&z);
}

/* A recorded stream replays with new parameters read from a small host buffer. */
static void test_replay_with_new_parameters(void **state) {
    (void)state;
    float a[16];
    tu_fill(a, 16, -1, 1);
    tu_tensor ta = tu_upload(MVK_TYPE_F32, 16, 1, 1, 1, a), ty = tu_upload(MVK_TYPE_F32, 16, 1, 1, 1, NULL);
    vk_buffer *pb = NULL;
    TU_OK(vk_buffer_create(tu_vk, 64, VK_MEM_HOST, &pb));
    float *param = vk_buffer_map(pb);
    assert_non_null(param);
    mvk_tensor tp = mvk_tensor_make(pb, 0, MVK_TYPE_F32, 1, 1, 1, 1);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_add(s, &ty.t, &ta.t, &tp)); /* y = a + param[0] (broadcast) */
    TU_OK(vk_stream_end(s));
    for (int step = 0; step < 5; step++) {
        param[0] = (float)step * 10.0f;
        TU_OK(vk_stream_submit(s)); /* no re-recording */
        float got[16];
        tu_download(&ty, got, sizeof got);
        for (int i = 0; i < 16; i++) assert_float_equal(got[i], a[i] + (float)step * 10.0f, 1e-5);
    }
    assert_int_equal(vk_stream_dispatch_count(s), 1);
    vk_stream_destroy(s);
    vk_buffer_destroy(pb);
    tu_free(&ta); tu_free(&ty);
}

/* The context counts what its queue was given, per submit: a segment alone counts its own dispatches and
 * barriers, the whole stream all of them, a replay again (the engine's per-step figures, moevk_timings). */
static void test_run_counts_per_submit(void **state) {
    (void)state;
    float a[64];
    tu_fill(a, 64, -1, 1);
    tu_tensor ta = tu_upload(MVK_TYPE_F32, 64, 1, 1, 1, a), y1 = tu_upload(MVK_TYPE_F32, 64, 1, 1, 1, NULL);
    tu_tensor y2 = tu_upload(MVK_TYPE_F32, 64, 1, 1, 1, NULL), z = tu_upload(MVK_TYPE_F32, 64, 1, 1, 1, NULL);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_add(s, &y1.t, &ta.t, &ta.t)); /* segment 0: 3 dispatches, 1 barrier (z reads y1, y2) */
    TU_OK(vk_op_mul(s, &y2.t, &ta.t, &ta.t));
    TU_OK(vk_op_add(s, &z.t, &y1.t, &y2.t));
    TU_OK(vk_stream_cut(s));
    TU_OK(vk_op_add(s, &y1.t, &z.t, &ta.t)); /* segment 1: 2 dispatches, 1 barrier (z reads y1 again) */
    TU_OK(vk_op_add(s, &z.t, &y1.t, &ta.t));
    TU_OK(vk_stream_end(s));
    const uint64_t want[4][3] = {{3, 1, 1}, {2, 1, 1}, {5, 2, 1}, {5, 2, 1}}; /* dispatches, barriers, submits */
    for (int i = 0; i < 4; i++) {
        vk_run_counts c0, c1;
        vk_ctx_run_counts(tu_vk, &c0);
        TU_OK(i < 2 ? vk_stream_submit_segment(s, (uint32_t)i) : vk_stream_submit(s));
        vk_ctx_run_counts(tu_vk, &c1);
        assert_int_equal(c1.dispatches - c0.dispatches, want[i][0]);
        assert_int_equal(c1.barriers - c0.barriers, want[i][1]);
        assert_int_equal(c1.submits - c0.submits, want[i][2]);
    }
    float got[64];
    tu_download(&z, got, sizeof got); /* z = ((a + a) + a*a + a) + a after the last replay */
    for (int i = 0; i < 64; i++) assert_float_equal(got[i], ((a[i] + a[i]) + a[i] * a[i] + a[i]) + a[i], 1e-5);
    vk_run_counts none;
    vk_ctx_run_counts(NULL, &none);
    assert_int_equal(none.submits, 0);
    vk_stream_destroy(s);
    tu_free(&ta); tu_free(&y1); tu_free(&y2); tu_free(&z);
}

static void test_scratch_mark_reset_reuses(void **state) {
    (void)state;
    vk_stream *s = tu_begin();
    mvk_tensor t1, t2, t3;
    TU_OK(vk_stream_scratch(s, MVK_TYPE_F32, 100, 1, 1, 1, &t1));
    vk_scratch_mark m = vk_stream_scratch_mark(s);
    TU_OK(vk_stream_scratch(s, MVK_TYPE_F32, 1000, 3, 1, 1, &t2));
    vk_stream_scratch_reset(s, m);
    TU_OK(vk_stream_scratch(s, MVK_TYPE_F16, 64, 1, 1, 1, &t3));
    assert_ptr_equal(t2.buf, t3.buf);
    assert_int_equal(t2.off, t3.off);
    assert_true(t1.off + 400 <= t2.off || t1.buf != t2.buf);
    tu_end_submit(s);
}

/* A binding larger than maxStorageBufferRange is refused with a clear error
 * (ops split such tensors into ranges before dispatching). */
static void test_binding_over_storage_range_is_refused(void **state) {
    (void)state;
    const vk_device_info *i = vk_ctx_info(tu_vk);
    uint64_t n = i->max_storage_buffer_range / 4 + 1024;
    if (n * 4 > i->max_memory_allocation_size)
        TU_SKIP_NA("a buffer over the storage range (%llu B) exceeds maxMemoryAllocationSize", (unsigned long long)(n * 4));
    vk_buffer *b = NULL;
    TU_OK(vk_buffer_create(tu_vk, n * 4, VK_MEM_DEVICE, &b));
    mvk_tensor t = mvk_tensor_make(b, 0, MVK_TYPE_F32, (int64_t)n, 1, 1, 1);
    vk_stream *s = tu_begin();
    assert_int_equal(vk_op_add(s, &t, &t, &t), MOEVK_ERR_DEVICE_LIMIT);
    assert_non_null(strstr(moevk_last_error(), "maxStorageBufferRange"));
    tu_end_submit(s);
    vk_buffer_destroy(b);
}

static void test_stream_misuse(void **state) {
    (void)state;
    vk_stream *s = NULL;
    TU_OK(vk_stream_create(tu_vk, &s));
    assert_int_equal(vk_stream_submit(s), MOEVK_ERR_INVALID_ARG); /* nothing recorded */
    assert_int_equal(vk_stream_end(s), MOEVK_ERR_INVALID_ARG);
    mvk_tensor t;
    assert_int_equal(vk_stream_scratch(s, MVK_TYPE_F32, 4, 1, 1, 1, &t), MOEVK_ERR_INVALID_ARG);
    vk_stream_destroy(s);
    vk_stream_destroy(NULL);
}

int main(void) {
    tu_seed(7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_device_limits_queried, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_device_override_unknown_name, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_list_devices, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_suballocator_reuses_blocks, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_buffer_errors, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_host_buffer_roundtrip, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_barriers_only_where_needed, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_replay_with_new_parameters, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_run_counts_per_submit, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_scratch_mark_reset_reuses, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_binding_over_storage_range_is_refused, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_stream_misuse, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
