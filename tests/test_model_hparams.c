/* test_model_hparams.c — hyper-parameters and tensor-shape checks of text and
 * mmproj GGUFs: small synthetic qwen3vlmoe / qwen3vl / qwen3moe / qwen3 / clip
 * files built in memory (values chosen to differ from the defaults, e.g.
 * head_dim 16 != n_embd/n_head 12), each broken in one way, plus the golden
 * files in $MOEVK_GOLDENS checked against the values their README lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gguf.h"
#include "model_hparams.h"
#include "arch/family.h"
#include "moevk.h"
#include "gguf_writer.h"
#include "test_util.h"

/* ------------------------------------------------------------ the synthetic models */

/* text: 2 layers, n_embd 48, 4 heads x head_dim 16 (!= 48/4), 2 kv heads, 4 experts top-2,
 * n_ff_exp 24, sections [4, 2, 2, 0], 2 deepstack layers, vocab 40. */
enum { T_L = 2, T_E = 48, T_H = 4, T_HKV = 2, T_HD = 16, T_X = 4, T_K = 2, T_FE = 24, T_FF = 96, T_V = 40, T_DS = 2 };

static void text_model(gm_model *m, const char *arch) {
    memset(m, 0, sizeof *m);
    int moe = !strcmp(arch, "qwen3vlmoe") || !strcmp(arch, "qwen3moe");
    int vl = !strcmp(arch, "qwen3vlmoe") || !strcmp(arch, "qwen3vl");
    char k[96];
#define K(suffix) (snprintf(k, sizeof k, "%s." suffix, arch), k)
    gm_str(m, "general.architecture", arch);
    gm_str(m, "general.name", "synthetic");
    gm_u32(m, K("block_count"), T_L);
    gm_u32(m, K("context_length"), 4096);
    gm_u32(m, K("embedding_length"), T_E);
    gm_u32(m, K("feed_forward_length"), T_FF);
    gm_u32(m, K("attention.head_count"), T_H);
    gm_u32(m, K("attention.head_count_kv"), T_HKV);
    gm_u32(m, K("attention.key_length"), T_HD);
    gm_u32(m, K("attention.value_length"), T_HD);
    gm_f32(m, K("attention.layer_norm_rms_epsilon"), 1e-6);
    gm_f32(m, K("rope.freq_base"), 5e6);
    if (moe) {
        gm_u32(m, K("expert_count"), T_X);
        gm_u32(m, K("expert_used_count"), T_K);
        gm_u32(m, K("expert_feed_forward_length"), T_FE);
    }
    if (vl) {
        gm_arr(m, K("rope.dimension_sections"), GGUF_I32, 4, (double[]){4, 2, 2, 0});
        gm_u32(m, K("n_deepstack_layers"), T_DS);
    }
#undef K
    gm_arr(m, "tokenizer.ggml.tokens", GGUF_STRING, 0, NULL);
    m->kv[m->n_kv - 1].n = T_V; /* strings "t0".."t39" */
    gm_add_t(m, 2, T_E, T_V, 1, 1, "token_embd.weight");
    gm_add_t(m, 1, T_E, 1, 1, 1, "output_norm.weight");
    gm_add_t(m, 2, T_E, T_V, 1, 1, "output.weight");
    for (int i = 0; i < T_L; i++) {
        gm_add_t(m, 1, T_E, 1, 1, 1, "blk.%d.attn_norm.weight", i);
        gm_add_t(m, 2, T_E, T_H * T_HD, 1, 1, "blk.%d.attn_q.weight", i);
        gm_add_t(m, 2, T_E, T_HKV * T_HD, 1, 1, "blk.%d.attn_k.weight", i);
        gm_add_t(m, 2, T_E, T_HKV * T_HD, 1, 1, "blk.%d.attn_v.weight", i);
        gm_add_t(m, 2, T_H * T_HD, T_E, 1, 1, "blk.%d.attn_output.weight", i);
        gm_add_t(m, 1, T_HD, 1, 1, 1, "blk.%d.attn_q_norm.weight", i);
        gm_add_t(m, 1, T_HD, 1, 1, 1, "blk.%d.attn_k_norm.weight", i);
        gm_add_t(m, 1, T_E, 1, 1, 1, "blk.%d.ffn_norm.weight", i);
        if (moe) {
            gm_add_t(m, 2, T_E, T_X, 1, 1, "blk.%d.ffn_gate_inp.weight", i);
            gm_add_t(m, 3, T_E, T_FE, T_X, 1, "blk.%d.ffn_gate_exps.weight", i);
            gm_add_t(m, 3, T_E, T_FE, T_X, 1, "blk.%d.ffn_up_exps.weight", i);
            gm_add_t(m, 3, T_FE, T_E, T_X, 1, "blk.%d.ffn_down_exps.weight", i);
        } else {
            gm_add_t(m, 2, T_E, T_FF, 1, 1, "blk.%d.ffn_gate.weight", i);
            gm_add_t(m, 2, T_E, T_FF, 1, 1, "blk.%d.ffn_up.weight", i);
            gm_add_t(m, 2, T_FF, T_E, 1, 1, "blk.%d.ffn_down.weight", i);
        }
    }
}

/* tokens array: n strings "t0".."t{n-1}" (gm_arr stores at most 8 numbers, strings are generated) */
static void set_n_tokens(gm_model *m, int n) { gm_find_kv(m, "tokenizer.ggml.tokens")->n = n; }

/* mmproj: width 32, 2 heads, ffn 64, depth 3, patch 4, merge 2 (merged 128), out 48,
 * deepstack taps at layers 2 and 0 (listed out of order), position grid 4x4. */
enum { V_D = 32, V_H = 2, V_F = 64, V_L = 3, V_P = 4, V_M = 128, V_O = 48, V_POS = 16 };

static void vision_model(gm_model *m) {
    memset(m, 0, sizeof *m);
    gm_str(m, "general.architecture", "clip");
    gm_str(m, "general.type", "mmproj");
    gm_bool(m, "clip.has_vision_encoder", 1);
    gm_str(m, "clip.projector_type", "qwen3vl_merger");
    gm_bool(m, "clip.use_gelu", 1);
    gm_u32(m, "clip.vision.embedding_length", V_D);
    gm_u32(m, "clip.vision.feed_forward_length", V_F);
    gm_u32(m, "clip.vision.block_count", V_L);
    gm_u32(m, "clip.vision.attention.head_count", V_H);
    gm_f32(m, "clip.vision.attention.layer_norm_epsilon", 1e-5);
    gm_u32(m, "clip.vision.projection_dim", V_O);
    gm_u32(m, "clip.vision.image_size", 16);
    gm_u32(m, "clip.vision.patch_size", V_P);
    gm_arr(m, "clip.vision.image_mean", GGUF_F32, 3, (double[]){0.25, 0.5, 0.75});
    gm_arr(m, "clip.vision.image_std", GGUF_F32, 3, (double[]){0.5, 0.125, 2.0});
    gm_add_t(m, 4, V_P, V_P, 3, V_D, "v.patch_embd.weight");
    gm_add_t(m, 4, V_P, V_P, 3, V_D, "v.patch_embd.weight.1");
    gm_add_t(m, 1, V_D, 1, 1, 1, "v.patch_embd.bias");
    gm_add_t(m, 2, V_D, V_POS, 1, 1, "v.position_embd.weight");
    for (int l = 0; l < V_L; l++) {
        gm_add_t(m, 1, V_D, 1, 1, 1, "v.blk.%d.ln1.weight", l);
        gm_add_t(m, 1, V_D, 1, 1, 1, "v.blk.%d.ln1.bias", l);
        gm_add_t(m, 2, V_D, 3 * V_D, 1, 1, "v.blk.%d.attn_qkv.weight", l);
        gm_add_t(m, 1, 3 * V_D, 1, 1, 1, "v.blk.%d.attn_qkv.bias", l);
        gm_add_t(m, 2, V_D, V_D, 1, 1, "v.blk.%d.attn_out.weight", l);
        gm_add_t(m, 1, V_D, 1, 1, 1, "v.blk.%d.attn_out.bias", l);
        gm_add_t(m, 1, V_D, 1, 1, 1, "v.blk.%d.ln2.weight", l);
        gm_add_t(m, 1, V_D, 1, 1, 1, "v.blk.%d.ln2.bias", l);
        gm_add_t(m, 2, V_D, V_F, 1, 1, "v.blk.%d.ffn_up.weight", l);
        gm_add_t(m, 1, V_F, 1, 1, 1, "v.blk.%d.ffn_up.bias", l);
        gm_add_t(m, 2, V_F, V_D, 1, 1, "v.blk.%d.ffn_down.weight", l);
        gm_add_t(m, 1, V_D, 1, 1, 1, "v.blk.%d.ffn_down.bias", l);
    }
    static const int taps[2] = {2, 0};
    for (int k = 0; k < 2; k++) {
        int L = taps[k];
        gm_add_t(m, 1, V_M, 1, 1, 1, "v.deepstack.%d.norm.weight", L);
        gm_add_t(m, 1, V_M, 1, 1, 1, "v.deepstack.%d.norm.bias", L);
        gm_add_t(m, 2, V_M, V_M, 1, 1, "v.deepstack.%d.fc1.weight", L);
        gm_add_t(m, 1, V_M, 1, 1, 1, "v.deepstack.%d.fc1.bias", L);
        gm_add_t(m, 2, V_M, V_O, 1, 1, "v.deepstack.%d.fc2.weight", L);
        gm_add_t(m, 1, V_O, 1, 1, 1, "v.deepstack.%d.fc2.bias", L);
    }
    gm_add_t(m, 1, V_D, 1, 1, 1, "v.post_ln.weight");
    gm_add_t(m, 1, V_D, 1, 1, 1, "v.post_ln.bias");
    gm_add_t(m, 2, V_M, V_M, 1, 1, "mm.0.weight");
    gm_add_t(m, 1, V_M, 1, 1, 1, "mm.0.bias");
    gm_add_t(m, 2, V_M, V_O, 1, 1, "mm.2.weight");
    gm_add_t(m, 1, V_O, 1, 1, 1, "mm.2.bias");
}

/* ------------------------------------------------------------ helpers */

typedef struct opened {
    gw_buf b;
    gguf_file *f;
} opened;

static opened open_model(const gm_model *m) {
    opened o;
    o.b = gm_serialise(m);
    moevk_status s = gguf_open_memory(o.b.p, o.b.n, &o.f);
    if (s != MOEVK_OK) fail_msg("synthetic GGUF does not open: %s", moevk_last_error());
    return o;
}
static void close_model(opened *o) {
    gguf_close(o->f);
    gw_free(&o->b);
}

#define OK(expr) TU_OK(expr)

/* Loads text hparams of m and returns the status (message in moevk_last_error). */
static moevk_status text_status(const gm_model *m, mvk_text_hparams *hp, int check_tensors) {
    opened o = open_model(m);
    mvk_text_hparams tmp;
    if (!hp) hp = &tmp;
    moevk_status s = mvk_text_hparams_load(o.f, hp);
    if (s == MOEVK_OK && check_tensors) s = mvk_text_check_tensors(o.f, hp);
    close_model(&o);
    return s;
}
static moevk_status vision_status(const gm_model *m, mvk_vision_hparams *hp, int check_tensors) {
    opened o = open_model(m);
    mvk_vision_hparams tmp;
    if (!hp) hp = &tmp;
    moevk_status s = mvk_vision_hparams_load(o.f, hp);
    if (s == MOEVK_OK && check_tensors) s = mvk_vision_check_tensors(o.f, hp);
    close_model(&o);
    return s;
}

static gm_model g_m; /* large: keep it off the stack */

/* ------------------------------------------------------------ text tests */

static void test_text_qwen3vlmoe(void **state) {
    (void)state;
    text_model(&g_m, "qwen3vlmoe");
    set_n_tokens(&g_m, T_V);
    mvk_text_hparams hp;
    OK(text_status(&g_m, &hp, 1));
    assert_string_equal(hp.fam->arch, "qwen3vlmoe");
    assert_string_equal(hp.arch_name, "qwen3vlmoe");
    assert_true(hp.is_moe && hp.has_vision_input);
    assert_int_equal(hp.n_layer, T_L);
    assert_int_equal(hp.n_ctx_train, 4096);
    assert_int_equal(hp.n_embd, T_E);
    assert_int_equal(hp.n_head, T_H);
    assert_int_equal(hp.n_head_kv, T_HKV);
    assert_int_equal(hp.head_dim, T_HD); /* read from key_length, not n_embd/n_head = 12 */
    assert_int_equal(hp.head_dim_v, T_HD);
    assert_int_equal(hp.n_rot, T_HD);
    assert_int_equal(hp.n_expert, T_X);
    assert_int_equal(hp.n_expert_used, T_K);
    assert_int_equal(hp.n_ff_exp, T_FE);
    assert_int_equal(hp.n_ff, T_FF);
    assert_true(hp.rms_eps == 1e-6f);
    assert_true(hp.rope_freq_base == 5e6f);
    assert_int_equal(hp.rope_mode, MVK_ROPE_IMROPE);
    assert_int_equal(hp.rope_sections[0], 4);
    assert_int_equal(hp.rope_sections[1], 2);
    assert_int_equal(hp.rope_sections[2], 2);
    assert_int_equal(hp.rope_sections[3], 0);
    assert_int_equal(hp.n_deepstack, T_DS);
    assert_int_equal(hp.n_embd_inp, T_E * (1 + T_DS));
    assert_int_equal(hp.n_vocab, T_V);
    assert_int_equal(hp.tied_output, 0);
}

static void test_text_tied_output(void **state) {
    (void)state;
    text_model(&g_m, "qwen3vlmoe");
    gm_drop_t(&g_m, "output.weight");
    mvk_text_hparams hp;
    OK(text_status(&g_m, &hp, 1));
    assert_int_equal(hp.tied_output, 1);
}

static void test_text_missing_required_keys(void **state) {
    (void)state;
    static const char *const req[] = {
        "general.architecture", "qwen3vlmoe.block_count", "qwen3vlmoe.context_length",
        "qwen3vlmoe.embedding_length", "qwen3vlmoe.attention.head_count",
        "qwen3vlmoe.attention.layer_norm_rms_epsilon", "qwen3vlmoe.expert_count",
        "qwen3vlmoe.expert_used_count", "qwen3vlmoe.rope.dimension_sections",
    };
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        text_model(&g_m, "qwen3vlmoe");
        gm_drop_kv(&g_m, req[i]);
        char want[160];
        snprintf(want, sizeof want, "missing required key '%s'", req[i]);
        TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, want);
    }
}

static void test_text_defaults(void **state) {
    (void)state;
    mvk_text_hparams hp;
    text_model(&g_m, "qwen3vlmoe");
    gm_drop_kv(&g_m, "qwen3vlmoe.attention.key_length");
    gm_drop_kv(&g_m, "qwen3vlmoe.attention.value_length");
    gm_drop_kv(&g_m, "qwen3vlmoe.attention.head_count_kv");
    gm_drop_kv(&g_m, "qwen3vlmoe.rope.freq_base");
    gm_drop_kv(&g_m, "qwen3vlmoe.n_deepstack_layers");
    OK(text_status(&g_m, &hp, 0));
    assert_int_equal(hp.head_dim, T_E / T_H);
    assert_int_equal(hp.head_dim_v, T_E / T_H);
    assert_int_equal(hp.n_rot, T_E / T_H);
    assert_int_equal(hp.n_head_kv, T_H);
    assert_true(hp.rope_freq_base == 10000.0f);
    assert_int_equal(hp.n_deepstack, 0);
    assert_int_equal(hp.n_embd_inp, T_E);
    /* with head_dim 12 the q projection no longer matches */
    TU_REFUSES(text_status(&g_m, &hp, 1), MOEVK_ERR_SHAPE, "tensor 'blk.0.attn_q.weight' has shape [48, 64], expected [48, 48]");
}

static void test_text_n_ff_exp_fallback(void **state) {
    (void)state;
    mvk_text_hparams hp;
    text_model(&g_m, "qwen3vlmoe");
    gm_drop_kv(&g_m, "qwen3vlmoe.expert_feed_forward_length");
    OK(text_status(&g_m, &hp, 0));
    assert_int_equal(hp.n_ff_exp, T_FF / T_K);
    gm_drop_kv(&g_m, "qwen3vlmoe.feed_forward_length");
    TU_REFUSES(text_status(&g_m, &hp, 0), MOEVK_ERR_FORMAT, "qwen3vlmoe.expert_feed_forward_length");
}

static void test_text_wrong_shape(void **state) {
    (void)state;
    text_model(&g_m, "qwen3vlmoe");
    gm_reshape_t(&g_m, "blk.1.ffn_down_exps.weight", 3, T_E, T_FE, T_X);
    TU_REFUSES(text_status(&g_m, NULL, 1), MOEVK_ERR_SHAPE,
           "tensor 'blk.1.ffn_down_exps.weight' has shape [48, 24, 4], expected [24, 48, 4]");
    text_model(&g_m, "qwen3vlmoe");
    gm_reshape_t(&g_m, "blk.0.attn_k_norm.weight", 1, 12, 1, 1);
    TU_REFUSES(text_status(&g_m, NULL, 1), MOEVK_ERR_SHAPE, "tensor 'blk.0.attn_k_norm.weight' has shape [12], expected [16]");
    text_model(&g_m, "qwen3vlmoe");
    gm_reshape_t(&g_m, "output.weight", 2, T_E, T_V + 1, 1);
    TU_REFUSES(text_status(&g_m, NULL, 1), MOEVK_ERR_SHAPE, "'output.weight'");
    text_model(&g_m, "qwen3vlmoe");
    gm_reshape_t(&g_m, "token_embd.weight", 2, T_E + 1, T_V, 1);
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_SHAPE, "'token_embd.weight'");
}

static void test_text_missing_tensor(void **state) {
    (void)state;
    text_model(&g_m, "qwen3vlmoe");
    gm_drop_t(&g_m, "blk.1.attn_q_norm.weight");
    TU_REFUSES(text_status(&g_m, NULL, 1), MOEVK_ERR_FORMAT, "missing tensor 'blk.1.attn_q_norm.weight'");
    text_model(&g_m, "qwen3vlmoe");
    gm_drop_t(&g_m, "token_embd.weight");
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "missing tensor 'token_embd.weight'");
}

static void test_text_wrong_arch(void **state) {
    (void)state;
    text_model(&g_m, "qwen3vlmoe");
    snprintf(gm_find_kv(&g_m, "general.architecture")->s, 64, "llama");
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_UNSUPPORTED, "unsupported architecture 'llama'");
    snprintf(gm_find_kv(&g_m, "general.architecture")->s, 64, "clip");
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_UNSUPPORTED, "'clip'");
}

static void test_text_fused_rejected(void **state) {
    (void)state;
    text_model(&g_m, "qwen3vlmoe");
    gm_add_t(&g_m, 3, T_E, 2 * T_FE, T_X, 1, "blk.1.ffn_gate_up_exps.weight");
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_UNSUPPORTED, "blk.1.ffn_gate_up_exps.weight");
    text_model(&g_m, "qwen3vlmoe");
    gm_add_t(&g_m, 2, T_E, 3 * T_H * T_HD, 1, 1, "blk.0.attn_qkv.weight");
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_UNSUPPORTED, "'blk.0.attn_qkv.weight': fused text QKV");
}

static void test_text_bad_values(void **state) {
    (void)state;
    text_model(&g_m, "qwen3vlmoe");
    gm_kv *k = gm_find_kv(&g_m, "qwen3vlmoe.block_count");
    k->type = GGUF_STRING;
    snprintf(k->s, 64, "2");
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "key 'qwen3vlmoe.block_count' has type string");
    text_model(&g_m, "qwen3vlmoe");
    gm_find_kv(&g_m, "qwen3vlmoe.attention.head_count_kv")->u = 3;
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "head_count_kv' = 3 does not divide");
    text_model(&g_m, "qwen3vlmoe");
    gm_find_kv(&g_m, "qwen3vlmoe.expert_used_count")->u = 5;
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "expert_used_count' = 5 exceeds");
    text_model(&g_m, "qwen3vlmoe");
    gm_find_kv(&g_m, "qwen3vlmoe.embedding_length")->u = 0;
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "embedding_length' = 0");
    text_model(&g_m, "qwen3vlmoe");
    gm_kv *sec = gm_find_kv(&g_m, "qwen3vlmoe.rope.dimension_sections");
    sec->arr[0] = sec->arr[1] = sec->arr[2] = 0;
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "dimension_sections' sums to 0");
    sec->arr[0] = -1;
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "dimension_sections'[0] = -1");
    text_model(&g_m, "qwen3vlmoe");
    gm_find_kv(&g_m, "qwen3vlmoe.n_deepstack_layers")->u = T_L + 1;
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "n_deepstack_layers' = 3 exceeds");
    /* a huge layer count is refused before anyone sizes arrays from it */
    text_model(&g_m, "qwen3vlmoe");
    gm_find_kv(&g_m, "qwen3vlmoe.block_count")->u = 2000000000u;
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "block_count' = 2000000000 exceeds");
}

static void test_text_vocab_mismatch(void **state) {
    (void)state;
    text_model(&g_m, "qwen3vlmoe");
    set_n_tokens(&g_m, T_V - 1);
    TU_REFUSES(text_status(&g_m, NULL, 0), MOEVK_ERR_SHAPE, "tokenizer.ggml.tokens has 39 entries");
}

static void test_text_qwen3moe(void **state) {
    (void)state;
    mvk_text_hparams hp;
    text_model(&g_m, "qwen3moe");
    OK(text_status(&g_m, &hp, 1));
    assert_string_equal(hp.fam->arch, "qwen3moe");
    assert_true(hp.is_moe);
    assert_false(hp.has_vision_input);
    assert_int_equal(hp.rope_mode, MVK_ROPE_NEOX);
    assert_int_equal(hp.n_deepstack, 0);
    assert_int_equal(hp.n_embd_inp, T_E);
    assert_int_equal(hp.rope_sections[0], 0);
}

static void test_text_qwen3vl_dense(void **state) {
    (void)state;
    mvk_text_hparams hp;
    text_model(&g_m, "qwen3vl");
    gm_drop_t(&g_m, "output.weight");
    OK(text_status(&g_m, &hp, 1));
    assert_string_equal(hp.fam->arch, "qwen3vl");
    assert_false(hp.is_moe);
    assert_int_equal(hp.rope_mode, MVK_ROPE_IMROPE);
    assert_int_equal(hp.n_ff, T_FF);
    assert_int_equal(hp.n_expert, 0);
    assert_int_equal(hp.n_deepstack, T_DS);
    assert_int_equal(hp.tied_output, 1);
    gm_reshape_t(&g_m, "blk.0.ffn_down.weight", 2, T_E, T_FF, 1);
    TU_REFUSES(text_status(&g_m, &hp, 1), MOEVK_ERR_SHAPE, "'blk.0.ffn_down.weight' has shape [48, 96], expected [96, 48]");
    text_model(&g_m, "qwen3vl");
    gm_drop_kv(&g_m, "qwen3vl.feed_forward_length");
    TU_REFUSES(text_status(&g_m, &hp, 0), MOEVK_ERR_FORMAT, "missing required key 'qwen3vl.feed_forward_length'");
}

static void test_text_qwen3_dense(void **state) {
    (void)state;
    mvk_text_hparams hp;
    text_model(&g_m, "qwen3");
    OK(text_status(&g_m, &hp, 1));
    assert_string_equal(hp.fam->arch, "qwen3");
    assert_false(hp.is_moe);
    assert_false(hp.has_vision_input);
    assert_int_equal(hp.rope_mode, MVK_ROPE_NEOX);
    assert_int_equal(hp.n_embd_inp, T_E);
}

/* ------------------------------------------------------------ vision tests */

static void test_vision_parses(void **state) {
    (void)state;
    mvk_vision_hparams vh;
    vision_model(&g_m);
    OK(vision_status(&g_m, &vh, 1));
    assert_string_equal(vh.projector, "qwen3vl_merger");
    assert_int_equal(vh.n_embd, V_D);
    assert_int_equal(vh.n_ff, V_F);
    assert_int_equal(vh.n_layer, V_L);
    assert_int_equal(vh.n_head, V_H);
    assert_int_equal(vh.head_dim, V_D / V_H);
    assert_true(vh.eps == 1e-5f);
    assert_int_equal(vh.patch_size, V_P);
    assert_int_equal(vh.image_size, 16);
    assert_int_equal(vh.spatial_merge, 2); /* default */
    assert_int_equal(vh.projection_dim, V_O);
    assert_true(vh.image_mean[0] == 0.25f && vh.image_mean[1] == 0.5f && vh.image_mean[2] == 0.75f);
    assert_true(vh.image_std[0] == 0.5f && vh.image_std[1] == 0.125f && vh.image_std[2] == 2.0f);
    assert_int_equal(vh.act, MVK_VISION_ACT_GELU);
    assert_int_equal(vh.n_deepstack, 2);
    assert_int_equal(vh.deepstack_layers[0], 0); /* sorted ascending */
    assert_int_equal(vh.deepstack_layers[1], 2);
    assert_int_equal(vh.n_pos, V_POS);
    assert_int_equal(vh.n_pos_side, 4);
    assert_int_equal(vh.n_merged, V_M);
    assert_int_equal(vh.n_mmproj_embd, V_O);
    assert_int_equal(vh.n_embd_out, V_O * 3);
}

static void test_vision_pair(void **state) {
    (void)state;
    mvk_vision_hparams vh;
    mvk_text_hparams th;
    vision_model(&g_m);
    OK(vision_status(&g_m, &vh, 1));
    text_model(&g_m, "qwen3vlmoe");
    OK(text_status(&g_m, &th, 1));
    OK(mvk_check_text_vision_pair(&th, &vh));
    /* text with 1 deepstack layer: 96 != 144 */
    gm_find_kv(&g_m, "qwen3vlmoe.n_deepstack_layers")->u = 1;
    OK(text_status(&g_m, &th, 1));
    TU_REFUSES(mvk_check_text_vision_pair(&th, &vh), MOEVK_ERR_SHAPE, "mmproj row width 144");
    TU_REFUSES(mvk_check_text_vision_pair(&th, &vh), MOEVK_ERR_SHAPE, "n_embd_inp 96");
    /* merger output 40 wide vs text n_embd 48 */
    vision_model(&g_m);
    gm_reshape_t(&g_m, "mm.2.bias", 1, 40, 1, 1);
    OK(vision_status(&g_m, &vh, 0));
    text_model(&g_m, "qwen3vlmoe");
    OK(text_status(&g_m, &th, 0));
    TU_REFUSES(mvk_check_text_vision_pair(&th, &vh), MOEVK_ERR_SHAPE, "mmproj row width 120");
    /* a text-only model takes no mmproj */
    text_model(&g_m, "qwen3moe");
    OK(text_status(&g_m, &th, 0));
    TU_REFUSES(mvk_check_text_vision_pair(&th, &vh), MOEVK_ERR_UNSUPPORTED, "qwen3moe");
}

static void test_vision_wrong_shapes(void **state) {
    (void)state;
    vision_model(&g_m);
    gm_tensor *t = gm_find_t(&g_m, "v.patch_embd.weight");
    t->ne[3] = V_D - 1;
    TU_REFUSES(vision_status(&g_m, NULL, 1), MOEVK_ERR_SHAPE,
           "tensor 'v.patch_embd.weight' has shape [4, 4, 3, 31], expected [4, 4, 3, 32]");
    vision_model(&g_m);
    gm_reshape_t(&g_m, "v.deepstack.2.fc1.weight", 2, V_M, V_O, 1);
    TU_REFUSES(vision_status(&g_m, NULL, 1), MOEVK_ERR_SHAPE, "'v.deepstack.2.fc1.weight' has shape [128, 48], expected [128, 128]");
    vision_model(&g_m);
    gm_reshape_t(&g_m, "v.blk.1.attn_qkv.bias", 1, 2 * V_D, 1, 1);
    TU_REFUSES(vision_status(&g_m, NULL, 1), MOEVK_ERR_SHAPE, "'v.blk.1.attn_qkv.bias' has shape [64], expected [96]");
    vision_model(&g_m);
    gm_reshape_t(&g_m, "mm.0.weight", 2, V_M, V_M / 2, 1);
    TU_REFUSES(vision_status(&g_m, NULL, 1), MOEVK_ERR_SHAPE, "'mm.0.weight'");
    vision_model(&g_m);
    gm_reshape_t(&g_m, "v.position_embd.weight", 2, V_D, 15, 1);
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_SHAPE, "not a square grid");
}

static void test_vision_missing(void **state) {
    (void)state;
    vision_model(&g_m);
    gm_drop_t(&g_m, "v.patch_embd.weight.1");
    TU_REFUSES(vision_status(&g_m, NULL, 1), MOEVK_ERR_FORMAT, "missing tensor 'v.patch_embd.weight.1'");
    vision_model(&g_m);
    gm_drop_t(&g_m, "v.deepstack.0.fc2.bias");
    TU_REFUSES(vision_status(&g_m, NULL, 1), MOEVK_ERR_FORMAT, "missing tensor 'v.deepstack.0.fc2.bias'");
    static const char *const req[] = {
        "clip.vision.embedding_length", "clip.vision.feed_forward_length", "clip.vision.block_count",
        "clip.vision.attention.head_count", "clip.vision.attention.layer_norm_epsilon", "clip.vision.patch_size",
        "clip.vision.image_size", "clip.vision.image_mean", "clip.vision.image_std", "clip.has_vision_encoder",
        "clip.projector_type",
    };
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        vision_model(&g_m);
        gm_drop_kv(&g_m, req[i]);
        char want[160];
        snprintf(want, sizeof want, "missing required key '%s'", req[i]);
        TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, want);
    }
}

/* moevk.vision.image_{min,max}_tokens: optional, read into the hparams, and the budget the engine uses:
 * the caller's value > the file's key > llama.cpp's defaults (8, 4096). */
static void budget_is(const mvk_vision_hparams *vh, int req_min, int req_max, int want_min, int want_max) {
    int lo = -1, hi = -1;
    mvk_image_budget(vh, req_min, req_max, &lo, &hi);
    if (lo != want_min || hi != want_max)
        fail_msg("budget(caller %d, %d) with file (%d, %d): got [%d, %d], want [%d, %d]", req_min, req_max,
                 vh->image_min_tokens, vh->image_max_tokens, lo, hi, want_min, want_max);
}

static void test_vision_image_token_range(void **state) {
    (void)state;
    mvk_vision_hparams vh;
    vision_model(&g_m); /* no key: as before */
    OK(vision_status(&g_m, &vh, 1));
    assert_int_equal(vh.image_min_tokens, 0);
    assert_int_equal(vh.image_max_tokens, 0);
    budget_is(&vh, 0, 0, 8, 4096);
    budget_is(&vh, 1, 0, 1, 4096);
    budget_is(&vh, 0, 64, 8, 64);
    budget_is(&vh, 0, 4, 4, 4);       /* an explicit max below the default min pulls it down */
    budget_is(&vh, 5000, 0, 5000, 5000);

    gm_u32(&g_m, "moevk.vision.image_min_tokens", 16);
    gm_u32(&g_m, "moevk.vision.image_max_tokens", 16);
    OK(vision_status(&g_m, &vh, 1));
    assert_int_equal(vh.image_min_tokens, 16);
    assert_int_equal(vh.image_max_tokens, 16);
    budget_is(&vh, 0, 0, 16, 16);     /* the file's range */
    budget_is(&vh, 0, 64, 16, 64);    /* the caller's max wins, the file's min stays */
    budget_is(&vh, 1, 0, 1, 16);      /* the caller's min wins, the file's max stays */
    budget_is(&vh, 64, 0, 64, 64);    /* the file's max gives way to a larger explicit min */
    budget_is(&vh, 0, 4, 4, 4);       /* the file's min gives way to a smaller explicit max */
    budget_is(&vh, 8, 4096, 8, 4096); /* both explicit: the file is not consulted */

    vision_model(&g_m); /* only one bound in the file: the other stays llama.cpp's */
    gm_u32(&g_m, "moevk.vision.image_max_tokens", 4);
    OK(vision_status(&g_m, &vh, 0));
    budget_is(&vh, 0, 0, 4, 4);
    vision_model(&g_m);
    gm_u32(&g_m, "moevk.vision.image_min_tokens", 32);
    OK(vision_status(&g_m, &vh, 0));
    budget_is(&vh, 0, 0, 32, 4096);

    vision_model(&g_m);
    gm_u32(&g_m, "moevk.vision.image_min_tokens", 32);
    gm_u32(&g_m, "moevk.vision.image_max_tokens", 16);
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT,
               "'moevk.vision.image_min_tokens' = 32 exceeds 'moevk.vision.image_max_tokens' = 16");
    vision_model(&g_m);
    gm_u32(&g_m, "moevk.vision.image_max_tokens", 0);
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "'moevk.vision.image_max_tokens' = 0 is out of range");
    vision_model(&g_m);
    gm_f32(&g_m, "moevk.vision.image_min_tokens", 16.0);
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "moevk.vision.image_min_tokens");
}

static void test_vision_other_projector(void **state) {
    (void)state;
    vision_model(&g_m);
    snprintf(gm_find_kv(&g_m, "clip.projector_type")->s, 64, "mlp");
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_UNSUPPORTED, "projector type 'mlp'");
    vision_model(&g_m);
    snprintf(gm_find_kv(&g_m, "general.architecture")->s, 64, "qwen3vlmoe");
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_UNSUPPORTED, "'qwen3vlmoe', expected 'clip'");
    vision_model(&g_m);
    gm_find_kv(&g_m, "clip.has_vision_encoder")->u = 0;
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_UNSUPPORTED, "has_vision_encoder is false");
}

static void test_vision_bad_values(void **state) {
    (void)state;
    vision_model(&g_m);
    gm_add_t(&g_m, 1, V_M, 1, 1, 1, "v.deepstack.7.norm.weight");
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "'v.deepstack.7.norm.weight' does not name a ViT layer");
    vision_model(&g_m);
    gm_find_kv(&g_m, "clip.vision.image_mean")->n = 2;
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "'clip.vision.image_mean' has 2 entries");
    vision_model(&g_m);
    gm_find_kv(&g_m, "clip.vision.attention.head_count")->u = 3;
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "head_count 3");
    vision_model(&g_m);
    gm_find_kv(&g_m, "clip.vision.block_count")->u = 1u << 30;
    TU_REFUSES(vision_status(&g_m, NULL, 0), MOEVK_ERR_FORMAT, "'clip.vision.block_count' = 1073741824 exceeds");
    vision_model(&g_m);
    gm_drop_kv(&g_m, "clip.use_gelu");
    mvk_vision_hparams vh;
    OK(vision_status(&g_m, &vh, 0));
    assert_int_equal(vh.act, MVK_VISION_ACT_GELU_QUICK); /* what llama.cpp would do */
}

static void test_require_tensor(void **state) {
    (void)state;
    gm_model *m = &g_m;
    memset(m, 0, sizeof *m);
    gm_str(m, "general.architecture", "x");
    gm_add_t(m, 2, 8, 1, 1, 1, "bias.%d", 3);        /* stored as [8, 1] */
    gm_add_t(m, 3, 4, 5, 6, 1, "w");
    opened o = open_model(m);
    const gguf_tensor_info *t = NULL;
    OK(mvk_require_tensor(o.f, (int64_t[]){8}, 1, &t, "bias.%d", 3));
    assert_non_null(t);
    assert_string_equal(t->name, "bias.3");
    OK(mvk_require_tensor(o.f, (int64_t[]){4, 5, 6, 1}, 4, &t, "w"));
    TU_REFUSES(mvk_require_tensor(o.f, (int64_t[]){4, 5}, 2, &t, "w"), MOEVK_ERR_SHAPE,
           "tensor 'w' has shape [4, 5, 6], expected [4, 5]");
    assert_null(t);
    TU_REFUSES(mvk_require_tensor(o.f, (int64_t[]){8}, 1, &t, "bias.%d", 4), MOEVK_ERR_FORMAT, "missing tensor 'bias.4'");
    assert_null(t);
    assert_non_null(mvk_find_tensorf(o.f, "bias.%d", 3));
    assert_null(mvk_find_tensorf(o.f, "bias.%d", 5));
    close_model(&o);
}

/* ------------------------------------------------------------ goldens */

static int golden_path(char *out, size_t cap, const char *file) {
    const char *g = tu_goldens_dir();
    if (!g) return 0;
    snprintf(out, cap, "%s/qwen3vlmoe-tiny-a/%s", g, file);
    return 1;
}

/* Expected values: goldens/qwen3vlmoe-tiny-a/README.md "Config". */
static void test_golden_pair(void **state) {
    (void)state;
    char tp[1024], vp[1024];
    if (!golden_path(tp, sizeof tp, "text.gguf") || !golden_path(vp, sizeof vp, "mmproj.gguf")) skip();
    gguf_file *tf = NULL, *vf = NULL;
    OK(gguf_open(tp, &tf));
    OK(gguf_open(vp, &vf));
    mvk_text_hparams th;
    mvk_vision_hparams vh;
    OK(mvk_text_hparams_load(tf, &th));
    OK(mvk_text_check_tensors(tf, &th));
    assert_string_equal(th.fam->arch, "qwen3vlmoe");
    assert_int_equal(th.n_layer, 3);
    assert_int_equal(th.n_embd, 64);
    assert_int_equal(th.n_head, 4);
    assert_int_equal(th.n_head_kv, 2);
    assert_int_equal(th.head_dim, 16);
    assert_int_equal(th.n_expert, 8);
    assert_int_equal(th.n_expert_used, 2);
    assert_int_equal(th.n_ff_exp, 32);
    assert_int_equal(th.n_ctx_train, 256);
    assert_true(th.rms_eps == 1e-6f);
    assert_true(th.rope_freq_base == 10000.0f);
    assert_int_equal(th.rope_mode, MVK_ROPE_IMROPE);
    static const int sec[4] = {3, 3, 2, 0};
    for (int k = 0; k < 4; k++) assert_int_equal(th.rope_sections[k], sec[k]);
    assert_int_equal(th.n_deepstack, 1);
    assert_int_equal(th.n_embd_inp, 128);
    assert_int_equal(th.n_vocab, 302);
    assert_int_equal(th.tied_output, 0);

    OK(mvk_vision_hparams_load(vf, &vh));
    OK(mvk_vision_check_tensors(vf, &vh));
    assert_int_equal(vh.n_layer, 3);
    assert_int_equal(vh.n_embd, 64);
    assert_int_equal(vh.n_head, 4);
    assert_int_equal(vh.n_ff, 128);
    assert_int_equal(vh.patch_size, 16);
    assert_int_equal(vh.spatial_merge, 2);
    assert_int_equal(vh.n_pos_side, 4);
    assert_int_equal(vh.image_size, 64);
    assert_true(vh.eps == 1e-6f);
    assert_int_equal(vh.act, MVK_VISION_ACT_GELU);
    for (int c = 0; c < 3; c++) assert_true(vh.image_mean[c] == 0.5f && vh.image_std[c] == 0.5f);
    assert_int_equal(vh.n_deepstack, 1);
    assert_int_equal(vh.deepstack_layers[0], 1);
    assert_int_equal(vh.n_embd_out, 128); /* mmproj_out.f32 is [6, 128] */
    OK(mvk_check_text_vision_pair(&th, &vh));

    /* golden value types (see docs/GGUF.md) */
    gguf_vtype et;
    uint64_t n;
    OK(gguf_get_arr_info(tf, "qwen3vlmoe.rope.dimension_sections", &et, &n));
    assert_int_equal(et, GGUF_I32);
    assert_int_equal(n, 4);
    assert_int_equal(gguf_kv_type(tf, gguf_find_key(tf, "qwen3vlmoe.n_deepstack_layers")), GGUF_U32);
    const char *s;
    size_t len;
    OK(gguf_get_arr_str(tf, "tokenizer.ggml.tokens", 301, &s, &len));
    assert_int_equal(len, strlen("<|image_pad|>"));
    assert_memory_equal(s, "<|image_pad|>", len);
    gguf_close(tf);
    gguf_close(vf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_qwen3vlmoe),
        cmocka_unit_test(test_text_tied_output),
        cmocka_unit_test(test_text_missing_required_keys),
        cmocka_unit_test(test_text_defaults),
        cmocka_unit_test(test_text_n_ff_exp_fallback),
        cmocka_unit_test(test_text_wrong_shape),
        cmocka_unit_test(test_text_missing_tensor),
        cmocka_unit_test(test_text_wrong_arch),
        cmocka_unit_test(test_text_fused_rejected),
        cmocka_unit_test(test_text_bad_values),
        cmocka_unit_test(test_text_vocab_mismatch),
        cmocka_unit_test(test_text_qwen3moe),
        cmocka_unit_test(test_text_qwen3vl_dense),
        cmocka_unit_test(test_text_qwen3_dense),
        cmocka_unit_test(test_vision_parses),
        cmocka_unit_test(test_vision_pair),
        cmocka_unit_test(test_vision_wrong_shapes),
        cmocka_unit_test(test_vision_missing),
        cmocka_unit_test(test_vision_image_token_range),
        cmocka_unit_test(test_vision_other_projector),
        cmocka_unit_test(test_vision_bad_values),
        cmocka_unit_test(test_require_tensor),
        cmocka_unit_test(test_golden_pair),
    };
    return tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
