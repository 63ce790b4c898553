/* test_memory_model.c — the two memory models (vk_device_info.staging).
 *  - Memory-type choice on fabricated device tables: a discrete GPU with no
 *    host-visible device-local type, one with a BAR window, AMD with ReBAR,
 *    an integrated GPU and lavapipe's single type.
 *  - MOEVK_FORCE_STAGING=1 on this device: device buffers are not mapped,
 *    uploads and readbacks (odd offsets, sizes over the staging buffer) go
 *    through staging, host buffers are mapped and never share a
 *    VkDeviceMemory with device buffers, and an op on staged data is right. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "vk_internal.h"

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define HK VK_MEMORY_PROPERTY_HOST_CACHED_BIT

static VkPhysicalDeviceMemoryProperties table(int n, const VkMemoryPropertyFlags *f) {
    VkPhysicalDeviceMemoryProperties mp;
    memset(&mp, 0, sizeof mp);
    mp.memoryTypeCount = (uint32_t)n;
    for (int i = 0; i < n; i++) {
        mp.memoryTypes[i].propertyFlags = f[i];
        mp.memoryTypes[i].heapIndex = (f[i] & DL) ? 0 : 1;
    }
    mp.memoryHeapCount = 2;
    return mp;
}

static void test_type_choice_on_device_tables(void **state) {
    (void)state;
    /* discrete, no host-visible device-local type at all */
    VkMemoryPropertyFlags d0[] = {DL, HV | HC, HV | HC | HK};
    VkPhysicalDeviceMemoryProperties mp = table(3, d0);
    assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_DEVICE, 1), 0);
    assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_HOST, 1), 2); /* cached: fast readback */
    assert_int_equal(vk_pick_memory_type(&mp, 0x3u, VK_MEM_HOST, 1), 1);  /* cached type not allowed */
    assert_int_equal(vk_pick_memory_type(&mp, 0x1u, VK_MEM_HOST, 1), -1); /* only device-local allowed */
    /* discrete with a 256 MiB BAR window (DL|HV|HC): weights stay out of it, host buffers in system memory */
    VkMemoryPropertyFlags d1[] = {DL, HV | HC, DL | HV | HC, HV | HC | HK};
    mp = table(4, d1);
    assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_DEVICE, 1), 0);
    assert_int_equal(vk_pick_memory_type(&mp, 0x4u, VK_MEM_DEVICE, 1), 2); /* only the BAR type allowed */
    assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_HOST, 1), 3);
    assert_int_equal(vk_pick_memory_type(&mp, 0x6u, VK_MEM_HOST, 1), 1); /* system memory before the BAR */
    /* AMD with ReBAR listed first */
    VkMemoryPropertyFlags d2[] = {DL | HV | HC, DL, HV | HC};
    mp = table(3, d2);
    assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_DEVICE, 1), 1);
    assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_HOST, 1), 2);
    /* integrated: unified maps device memory */
    VkMemoryPropertyFlags d3[] = {DL, DL | HV | HC, DL | HV | HC | HK};
    mp = table(3, d3);
    assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_DEVICE, 0), 1);
    assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_HOST, 0), 2);
    assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_DEVICE, 1), 0); /* forced staging: the unmappable one */
    /* lavapipe: one type that is everything */
    VkMemoryPropertyFlags d4[] = {DL | HV | HC | HK};
    mp = table(1, d4);
    for (int st = 0; st < 2; st++) {
        assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_DEVICE, st), 0);
        assert_int_equal(vk_pick_memory_type(&mp, ~0u, VK_MEM_HOST, st), 0);
    }
}

static vk_ctx *forced_ctx(void) {
    const char *was = getenv("MOEVK_FORCE_STAGING");
    char *keep = was ? strdup(was) : NULL;
    setenv("MOEVK_FORCE_STAGING", "1", 1);
    vk_ctx *ctx = NULL;
    vk_ctx_params p = {.validation = 1};
    moevk_status s = vk_ctx_create(&p, &ctx);
    if (keep) setenv("MOEVK_FORCE_STAGING", keep, 1);
    else unsetenv("MOEVK_FORCE_STAGING");
    free(keep);
    if (s == MOEVK_ERR_NO_VULKAN || s == MOEVK_ERR_NO_DEVICE) return NULL;
    TU_OK(s);
    return ctx;
}

static void test_forced_staging(void **state) {
    (void)state;
    vk_ctx *ctx = forced_ctx();
    if (!ctx) TU_SKIP_NA("no Vulkan device");
    const vk_device_info *in = vk_ctx_info(ctx);
    assert_true(in->staging);
    assert_int_equal(in->staging_forced, in->uma);
    assert_non_null(strstr(vk_memory_model_name(in), in->uma ? "staging (forced)" : "staging"));

    /* 40 MiB + 3 bytes: more than one staging-buffer chunk, odd size and offset */
    uint64_t n = (40ull << 20) + 3;
    unsigned char *src = malloc(n), *got = malloc(n);
    assert_true(src && got);
    for (uint64_t i = 0; i < n; i++) src[i] = (unsigned char)(i * 131u + (i >> 13));
    vk_buffer *d = NULL, *h = NULL;
    TU_OK(vk_buffer_create(ctx, n + 8, VK_MEM_DEVICE, &d));
    assert_null(vk_buffer_map(d)); /* device memory is treated as not host-visible */
    TU_OK(vk_upload(ctx, d, 5, src, n));
    memset(got, 0, n);
    TU_OK(vk_download(ctx, d, 5, got, n));
    assert_memory_equal(got, src, n);

    TU_OK(vk_buffer_create(ctx, 4096, VK_MEM_HOST, &h));
    assert_non_null(vk_buffer_map(h));
    assert_true(h->block != d->block && h->block->mem != d->block->mem); /* a separate host-visible allocation */
    assert_int_equal(h->block->kind, VK_MEM_HOST);

    /* an op on staged data, its parameter in the host buffer, its result read back through staging */
    float x[256], ref[256], y[256];
    tu_seed(6);
    tu_fill(x, 256, -3.0f, 3.0f);
    vk_buffer *bx = NULL, *by = NULL;
    TU_OK(vk_buffer_create(ctx, sizeof x, VK_MEM_DEVICE, &bx));
    TU_OK(vk_buffer_create(ctx, sizeof y, VK_MEM_DEVICE, &by));
    TU_OK(vk_upload(ctx, bx, 0, x, sizeof x));
    float *hp = vk_buffer_map(h);
    for (int i = 0; i < 256; i++) hp[i] = (float)i * 0.25f;
    mvk_tensor tx = mvk_tensor_make(bx, 0, MVK_TYPE_F32, 256, 1, 1, 1), ty = mvk_tensor_make(by, 0, MVK_TYPE_F32, 256, 1, 1, 1);
    mvk_tensor th = mvk_tensor_make(h, 0, MVK_TYPE_F32, 256, 1, 1, 1);
    vk_stream *s = NULL;
    TU_OK(vk_stream_create(ctx, &s));
    TU_OK(vk_stream_begin(s));
    TU_OK(vk_op_mul(s, &ty, &tx, &th));
    TU_OK(vk_stream_end(s));
    TU_OK(vk_stream_submit(s));
    TU_OK(vk_download(ctx, by, 0, y, sizeof y));
    for (int i = 0; i < 256; i++) ref[i] = x[i] * ((float)i * 0.25f);
    assert_memory_equal(y, ref, sizeof y);
    assert_int_equal(vk_ctx_validation_count(ctx), 0);
    vk_stream_destroy(s);
    vk_buffer_destroy(bx); vk_buffer_destroy(by); vk_buffer_destroy(d); vk_buffer_destroy(h);
    vk_ctx_destroy(ctx);
    free(src); free(got);
}

/* Without the variable, this device's model follows its memory: unified
 * where device-local memory is host-visible (lavapipe), and then device
 * buffers are mapped. */
static void test_default_model(void **state) {
    (void)state;
    const vk_device_info *in = vk_ctx_info(tu_vk);
    if (getenv("MOEVK_FORCE_STAGING") && strcmp(getenv("MOEVK_FORCE_STAGING"), "0")) {
        assert_true(in->staging);
        return;
    }
    assert_int_equal(in->staging, !in->uma);
    assert_int_equal(in->staging_forced, 0);
    vk_buffer *d = NULL;
    TU_OK(vk_buffer_create(tu_vk, 64, VK_MEM_DEVICE, &d));
    if (!in->staging) assert_non_null(vk_buffer_map(d));
    vk_buffer_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_choice_on_device_tables),
        cmocka_unit_test(test_forced_staging),
        cmocka_unit_test_setup_teardown(test_default_model, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
