/* test_push_constants.c — the push-constant contract between ops and
 * shaders: every embedded shader's P block size was reflected from its
 * SPIR-V, and a dispatch whose push constants differ from it in size is
 * refused (MOEVK_ERR_INTERNAL naming the shader) before anything is recorded. */
#include <string.h>

#include "test_util.h"
#include "vk_internal.h"
#include "vk_push.h"
#include "vk_shaders.h"

static void test_every_shader_has_a_reflected_block(void **state) {
    (void)state;
    int n = 0;
    for (const vk_shader_blob *b = vk_shader_blobs; b->name; b++, n++) {
        if (b->push_size == 0 || b->push_size % 4) fail_msg("shader %s: reflected push block of %u bytes", b->name, b->push_size);
    }
    assert_true(n >= 40);
}

static const vk_shader_blob *blob(const char *name) {
    for (const vk_shader_blob *b = vk_shader_blobs; b->name; b++)
        if (!strcmp(b->name, name)) return b;
    fail_msg("no shader %s", name);
    return NULL;
}

static void test_struct_sizes_match_shaders(void **state) {
    (void)state;
    /* the C structs (vk_push.h) against the shaders' blocks, one per shader file */
    assert_int_equal(sizeof(pc_binary), blob("binary_add")->push_size);
    assert_int_equal(sizeof(pc_unary), blob("unary_silu")->push_size);
    assert_int_equal(sizeof(pc_norm), blob("norm_rms")->push_size);
    assert_int_equal(sizeof(pc_softmax), blob("softmax")->push_size);
    assert_int_equal(sizeof(pc_argmax), blob("argmax")->push_size);
    assert_int_equal(sizeof(pc_rope), blob("rope")->push_size);
    assert_int_equal(sizeof(pc_norm_rope), blob("norm_rms_rope")->push_size);
    assert_int_equal(sizeof(pc_attn_decode), blob("attn_decode_f32")->push_size);
    assert_int_equal(sizeof(pc_attn_combine), blob("attn_combine")->push_size);
    assert_int_equal(sizeof(pc_attn_prefill), blob("attn_prefill_f16")->push_size);
    assert_int_equal(sizeof(pc_matmul), blob("matmul_f16")->push_size);
    assert_int_equal(sizeof(pc_matmul), blob("matvec_q8_0_sg")->push_size);
    assert_int_equal(sizeof(pc_matvec_id), blob("matvec_id_f32")->push_size);
    assert_int_equal(sizeof(pc_gateup), blob("matvec_lane_gu_tex_f32")->push_size);
    assert_int_equal(sizeof(pc_gateup_id), blob("matvec_lane_gu_id_tex_f32")->push_size);
    assert_int_equal(sizeof(pc_matmul_id), blob("matmul_id_bf16")->push_size);
    assert_int_equal(sizeof(pc_moe_group), blob("moe_group")->push_size);
    assert_int_equal(sizeof(pc_moe_combine), blob("moe_combine")->push_size);
    assert_int_equal(sizeof(pc_moe_gate), blob("moe_gate")->push_size);
    assert_int_equal(sizeof(pc_get_rows), blob("get_rows_q8_0")->push_size);
    assert_int_equal(sizeof(pc_set_rows), blob("set_rows_f16")->push_size);
    assert_int_equal(sizeof(pc_convert), blob("convert_f32_f16")->push_size);
    assert_int_equal(sizeof(pc_im2col), blob("im2col")->push_size);
    assert_int_equal(sizeof(pc_resize), blob("resize")->push_size);
    assert_int_equal(sizeof(pc_ssm_conv), blob("ssm_conv")->push_size);
    assert_int_equal(sizeof(pc_gdn_gates), blob("gdn_gates")->push_size);
    assert_int_equal(sizeof(pc_delta_net), blob("delta_net")->push_size);
    assert_int_equal(sizeof(pc_unary), blob("unary_sigmoid_mul")->push_size);
    assert_int_equal(sizeof(pc_norm), blob("norm_l2")->push_size);
    assert_int_equal(sizeof(pc_fuse_xq), blob("fuse_xq_rms")->push_size);
    assert_int_equal(sizeof(pc_fuse_xq), blob("fuse_xq_swiglu")->push_size);
    assert_int_equal(sizeof(pc_fuse_xq), blob("fuse_xq_geglu")->push_size);
}

static void test_wrong_push_size_is_refused(void **state) {
    (void)state;
    float one[4] = {1, 2, 3, 4};
    tu_tensor a = tu_upload(MVK_TYPE_F32, 4, 1, 1, 1, one);
    vk_stream *s = tu_begin();
    uint32_t words[23] = {4, 1, 1, 1, 4, 4, 4, 4, 1, 1, 1, 4, 4, 4, 4, 4, 4, 0, 0, 0, 1, 1};
    uint32_t wg = 64;
    vk_bind binds[3] = {{&a.t, 0}, {&a.t, 0}, {&a.t, 1}};
    /* 23 words to binary.comp's 22-word block */
    vk_dispatch_desc d = {.shader = "binary_add", .spec = &wg, .n_spec = 1, .binds = binds, .n_binds = 3, .push = words,
                          .push_size = sizeof words, .groups = {1, 1, 1}};
    assert_int_equal(vk_dispatch(s, &d), MOEVK_ERR_INTERNAL);
    assert_non_null(strstr(moevk_last_error(), "binary_add"));
    assert_non_null(strstr(moevk_last_error(), "92 bytes"));
    d.push_size = 21 * 4; /* one short */
    assert_int_equal(vk_dispatch(s, &d), MOEVK_ERR_INTERNAL);
    assert_int_equal(vk_stream_dispatch_count(s), 0);
    d.push_size = sizeof(pc_binary);
    TU_OK(vk_dispatch(s, &d));
    tu_end_submit(s);
    float got[4];
    tu_download(&a, got, sizeof got);
    for (int i = 0; i < 4; i++) assert_true(got[i] == 2 * one[i]);
    tu_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_shader_has_a_reflected_block),
        cmocka_unit_test(test_struct_sizes_match_shaders),
        cmocka_unit_test_setup_teardown(test_wrong_push_size_is_refused, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
