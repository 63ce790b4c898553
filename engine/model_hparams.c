/* model_hparams.c — Qwen3(-VL)(-MoE) hyper-parameters and tensor-shape checks.
 * Keys, defaults and tensor shapes follow shared/docs/qwen3vl-moe.md §1-§2
 * (llama.cpp's loader: src/llama-model.cpp, tools/mtmd/clip.cpp). */
#include "model_hparams.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/family.h"
#include "image.h"
#include "mvk_status.h"

/* ------------------------------------------------------------ tensor lookup */

static void fmt_shape(char *buf, size_t cap, const int64_t *ne, int n_dims) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int d = 0; d < n_dims && o < cap; d++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId64, d ? ", " : "", ne[d]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

/* Number of dims once trailing 1s are dropped (at least 1). */
static int eff_dims(const int64_t *ne, int n_dims) {
    while (n_dims > 1 && ne[n_dims - 1] == 1) n_dims--;
    return n_dims;
}

static moevk_status require_tensor_v(const gguf_file *f, const int64_t *ne, int n_dims, const gguf_tensor_info **out,
                                     const char *fmt, va_list ap) {
    char name[256];
    if (out) *out = NULL;
    vsnprintf(name, sizeof name, fmt, ap);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_require_tensor('%s'): n_dims %d", name, n_dims);
    const gguf_tensor_info *t = gguf_find_tensor(f, name);
    if (!t) return mvk_fail(MOEVK_ERR_FORMAT, "missing tensor '%s'", name);
    int ne_exp = eff_dims(ne, n_dims), ne_have = eff_dims(t->ne, t->n_dims);
    int ok = ne_exp == ne_have;
    for (int d = 0; ok && d < ne_exp; d++) ok = ne[d] == t->ne[d];
    if (!ok) {
        char have[128], want[128];
        fmt_shape(have, sizeof have, t->ne, t->n_dims);
        fmt_shape(want, sizeof want, ne, n_dims);
        return mvk_fail(MOEVK_ERR_SHAPE, "tensor '%s' has shape %s, expected %s", name, have, want);
    }
    if (out) *out = t;
    return MOEVK_OK;
}

moevk_status mvk_require_tensor(const gguf_file *f, const int64_t *ne_expected, int n_dims,
                                const gguf_tensor_info **out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    moevk_status s = require_tensor_v(f, ne_expected, n_dims, out, fmt, ap);
    va_end(ap);
    return s;
}

const gguf_tensor_info *mvk_find_tensorf(const gguf_file *f, const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return gguf_find_tensor(f, name);
}

/* ------------------------------------------------------------ key helpers */

/* u32 key "{prefix}.{suffix}" that must be > 0 and fit an int. */
moevk_status mvk_key_pos(const gguf_file *f, const char *prefix, const char *suffix, int required, int def, int *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", prefix, suffix);
    if (!gguf_has_key(f, key)) {
        if (required) return mvk_fail(MOEVK_ERR_FORMAT, "missing required key '%s'", key);
        *out = def;
        return MOEVK_OK;
    }
    uint32_t v;
    MVK_TRY(gguf_get_u32(f, key, &v));
    if (v == 0 || v > INT32_MAX) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' = %u is out of range (must be 1..2^31-1)", key, v);
    *out = (int)v;
    return MOEVK_OK;
}

moevk_status mvk_key_f32(const gguf_file *f, const char *prefix, const char *suffix, int required, float def, float *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", prefix, suffix);
    if (!gguf_has_key(f, key)) {
        if (required) return mvk_fail(MOEVK_ERR_FORMAT, "missing required key '%s'", key);
        *out = def;
        return MOEVK_OK;
    }
    MVK_TRY(gguf_get_f32(f, key, out));
    if (!isfinite(*out) || *out < 0) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' = %g is out of range", key, (double)*out);
    return MOEVK_OK;
}

static moevk_status check_arch_string(const gguf_file *f, const char **s, size_t *len) {
    if (!gguf_has_key(f, "general.architecture"))
        return mvk_fail(MOEVK_ERR_FORMAT, "missing required key 'general.architecture'");
    return gguf_get_str(f, "general.architecture", s, len);
}

/* ------------------------------------------------------------ keys of the families */

moevk_status mvk_hp_read_moe(const gguf_file *f, mvk_text_hparams *hp) {
    const char *A = hp->arch_name;
    MVK_TRY(mvk_key_pos(f, A, "expert_count", 1, 0, &hp->n_expert));
    MVK_TRY(mvk_key_pos(f, A, "expert_used_count", 1, 0, &hp->n_expert_used));
    if (hp->n_expert_used > hp->n_expert)
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s.expert_used_count' = %d exceeds expert_count %d", A,
                        hp->n_expert_used, hp->n_expert);
    char key[128];
    snprintf(key, sizeof key, "%s.expert_feed_forward_length", A);
    if (gguf_has_key(f, key)) {
        MVK_TRY(mvk_key_pos(f, A, "expert_feed_forward_length", 1, 0, &hp->n_ff_exp));
    } else if (hp->n_ff > 0) {
        hp->n_ff_exp = hp->n_ff / hp->n_expert_used; /* llama.cpp's fallback */
        if (hp->n_ff_exp == 0)
            return mvk_fail(MOEVK_ERR_FORMAT, "%s: feed_forward_length / expert_used_count is 0", A);
    } else {
        return mvk_fail(MOEVK_ERR_FORMAT, "missing required key '%s' (and no %s.feed_forward_length fallback)", key, A);
    }
    return MOEVK_OK;
}

moevk_status mvk_hp_read_mrope(const gguf_file *f, mvk_text_hparams *hp) {
    const char *A = hp->arch_name;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.dimension_sections", A);
    if (!gguf_has_key(f, key)) return mvk_fail(MOEVK_ERR_FORMAT, "missing required key '%s'", key);
    int32_t sec[4] = {0, 0, 0, 0};
    uint64_t n;
    MVK_TRY(gguf_get_arr_i32(f, key, sec, 4, &n));
    if (n < 1 || n > 4) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' has %" PRIu64 " entries, expected 4", key, n);
    int64_t sum = 0;
    for (int k = 0; k < 4; k++) {
        if (sec[k] < 0 || sec[k] > hp->n_rot)
            return mvk_fail(MOEVK_ERR_FORMAT, "key '%s'[%d] = %d is out of range", key, k, sec[k]);
        hp->rope_sections[k] = sec[k];
        sum += sec[k];
    }
    if (sum <= 0) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' sums to 0", key);
    snprintf(key, sizeof key, "%s.n_deepstack_layers", A);
    if (gguf_has_key(f, key)) {
        uint32_t d;
        MVK_TRY(gguf_get_u32(f, key, &d));
        if (d > (uint32_t)hp->n_layer || d > MVK_MAX_DEEPSTACK)
            return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' = %u exceeds block_count %d (or %d)", key, d, hp->n_layer,
                            MVK_MAX_DEEPSTACK);
        hp->n_deepstack = (int)d;
    }
    return MOEVK_OK;
}

/* ------------------------------------------------------------ text */

/* Whether the family's layer table has a row for the tensors named "blk.N" + suffix. */
static int fam_reads(const mvk_family *fam, const char *suffix) {
    for (int i = 0; i < fam->n_layer_spec; i++) {
        const char *dot = strchr(fam->layer[i].name + 4, '.');
        if (dot && !strcmp(dot, suffix)) return 1;
    }
    return 0;
}

moevk_status mvk_text_hparams_load(const gguf_file *f, mvk_text_hparams *hp) {
    if (!f || !hp) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_text_hparams_load: NULL argument");
    memset(hp, 0, sizeof *hp);
    const char *as;
    size_t al;
    MVK_TRY(check_arch_string(f, &as, &al));
    const mvk_family *fam = mvk_family_find(as, al);
    if (!fam) {
        char list[256];
        mvk_family_list(list, sizeof list);
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "unsupported architecture '%.*s' (moevk runs %s)", (int)(al > 64 ? 64 : al),
                        as, list);
    }
    hp->fam = fam;
    const char *A = hp->arch_name = fam->arch;
    hp->is_moe = (fam->kinds & MVK_LAYER_MOE) != 0;
    hp->has_vision_input = fam->vision_input;
    hp->rope_mode = fam->rope_imrope ? MVK_ROPE_IMROPE : MVK_ROPE_NEOX;

    MVK_TRY(mvk_key_pos(f, A, "block_count", 1, 0, &hp->n_layer));
    {
        char key[128];
        snprintf(key, sizeof key, "%s.context_length", A);
        if (!gguf_has_key(f, key)) return mvk_fail(MOEVK_ERR_FORMAT, "missing required key '%s'", key);
        uint64_t c;
        MVK_TRY(gguf_get_u64(f, key, &c));
        if (c == 0 || c > INT64_MAX) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' = %" PRIu64 " is out of range", key, c);
        hp->n_ctx_train = (int64_t)c;
    }
    MVK_TRY(mvk_key_pos(f, A, "embedding_length", 1, 0, &hp->n_embd));
    MVK_TRY(mvk_key_pos(f, A, "feed_forward_length", (fam->kinds & MVK_LAYER_DENSE) != 0, 0, &hp->n_ff));
    MVK_TRY(mvk_key_pos(f, A, "attention.head_count", 1, 0, &hp->n_head));
    {
        char key[128];
        snprintf(key, sizeof key, "%s.attention.head_count_kv", A);
        int64_t ki = gguf_find_key(f, key);
        gguf_value kv;
        if (ki >= 0 && gguf_kv_value(f, ki, &kv) == MOEVK_OK && kv.type == GGUF_ARRAY) {
            /* per layer (gemma4: one count for the sliding layers, one for the global ones): the family reads it */
            if (!(fam->kinds & MVK_LAYER_SWA))
                return mvk_fail(MOEVK_ERR_UNSUPPORTED, "key '%s' is a per-layer array, which %s does not take", key, A);
            hp->n_head_kv = hp->n_head;
        } else {
            MVK_TRY(mvk_key_pos(f, A, "attention.head_count_kv", 0, hp->n_head, &hp->n_head_kv));
        }
    }
    if (hp->n_head % hp->n_head_kv != 0)
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s.attention.head_count_kv' = %d does not divide head_count %d", A,
                        hp->n_head_kv, hp->n_head);
    int hd_def = hp->n_embd / hp->n_head;
    if (hd_def == 0) hd_def = 1;
    MVK_TRY(mvk_key_pos(f, A, "attention.key_length", 0, hd_def, &hp->head_dim));
    MVK_TRY(mvk_key_pos(f, A, "attention.value_length", 0, hd_def, &hp->head_dim_v));
    MVK_TRY(mvk_key_pos(f, A, "rope.dimension_count", 0, hp->head_dim, &hp->n_rot));
    if (hp->n_rot % 2 != 0 || hp->n_rot > hp->head_dim)
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s.rope.dimension_count' = %d must be even and <= key_length %d", A,
                        hp->n_rot, hp->head_dim);
    if ((int64_t)hp->n_head * hp->head_dim > INT32_MAX || (int64_t)hp->n_head * hp->head_dim_v > INT32_MAX)
        return mvk_fail(MOEVK_ERR_FORMAT, "%s: head_count * key_length overflows", A);
    MVK_TRY(mvk_key_f32(f, A, "attention.layer_norm_rms_epsilon", 1, 0.0f, &hp->rms_eps));
    MVK_TRY(mvk_key_f32(f, A, "rope.freq_base", 0, 10000.0f, &hp->rope_freq_base));
    if (hp->rope_freq_base <= 0)
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s.rope.freq_base' = %g must be > 0", A, (double)hp->rope_freq_base);

    MVK_TRY(fam->read_hparams(f, hp)); /* the family's own keys */
    int64_t inp = (int64_t)hp->n_embd * (1 + hp->n_deepstack);
    if (inp > INT32_MAX) return mvk_fail(MOEVK_ERR_FORMAT, "%s: n_embd * (1 + n_deepstack_layers) overflows", A);
    hp->n_embd_inp = (int)inp;

    /* every layer has at least 10 tensors: a larger block_count cannot be satisfied
       (checked here so callers may size per-layer arrays from n_layer) */
    if (hp->n_layer > gguf_n_tensors(f))
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s.block_count' = %d exceeds the %" PRId64 " tensors in the file", A,
                        hp->n_layer, gguf_n_tensors(f));

    for (int il = 0; il < hp->n_layer; il++) { /* the family says what each layer holds */
        uint8_t kind = fam->layer_kind(hp, il);
        hp->n_moe_layers += (kind & MVK_LAYER_MOE) != 0;
        hp->n_attn_layers += (kind & MVK_LAYER_ATTN) != 0;
        hp->n_recur_layers += (kind & MVK_LAYER_RECUR) != 0;
    }

    /* layouts llama.cpp's converters can emit that moevk does not read */
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const char *nm = gguf_tensor(f, i)->name;
        if (strncmp(nm, "blk.", 4) != 0) continue;
        const char *dot = strchr(nm + 4, '.');
        if (!dot) continue;
        if (!strcmp(dot, ".ffn_gate_up_exps.weight") && !fam_reads(fam, dot)) /* gemma4's table reads it */
            return mvk_fail(MOEVK_ERR_UNSUPPORTED,
                            "tensor '%s': fused expert gate+up is not supported for '%s' "
                            "(convert with separate ffn_gate_exps / ffn_up_exps)",
                            nm, fam->arch);
        long il = strtol(nm + 4, NULL, 10); /* a recurrent (Gated DeltaNet) layer's attn_qkv is its own projection */
        int recur = il >= 0 && il < hp->n_layer && (fam->layer_kind(hp, (int)il) & MVK_LAYER_RECUR);
        if (!strcmp(dot, ".attn_qkv.weight") && !recur)
            return mvk_fail(MOEVK_ERR_UNSUPPORTED,
                            "tensor '%s': fused text QKV is not supported (need attn_q/attn_k/attn_v)", nm);
    }

    const gguf_tensor_info *te = gguf_find_tensor(f, "token_embd.weight");
    if (!te) return mvk_fail(MOEVK_ERR_FORMAT, "missing tensor 'token_embd.weight'");
    if (te->n_dims != 2 || te->ne[0] != hp->n_embd || te->ne[1] > INT32_MAX) {
        char have[128];
        fmt_shape(have, sizeof have, te->ne, te->n_dims);
        return mvk_fail(MOEVK_ERR_SHAPE, "tensor 'token_embd.weight' has shape %s, expected [%d, n_vocab]", have,
                        hp->n_embd);
    }
    hp->n_vocab = (int)te->ne[1];
    if (gguf_has_key(f, "tokenizer.ggml.tokens")) {
        gguf_vtype et;
        uint64_t n;
        MVK_TRY(gguf_get_arr_info(f, "tokenizer.ggml.tokens", &et, &n));
        if (n != (uint64_t)hp->n_vocab)
            return mvk_fail(MOEVK_ERR_SHAPE,
                            "tensor 'token_embd.weight' has %d rows but tokenizer.ggml.tokens has %" PRIu64 " entries",
                            hp->n_vocab, n);
    }
    hp->tied_output = gguf_find_tensor(f, "output.weight") == NULL;
    return MOEVK_OK;
}

moevk_status mvk_text_check_tensors(const gguf_file *f, const mvk_text_hparams *hp) {
    if (!f || !hp || !hp->fam) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_text_check_tensors: NULL argument");
    int64_t dims[MVK_D_COUNT];
    mvk_tensor_group g[2];
    mvk_text_dims(hp, dims);
    mvk_text_tensor_groups(hp, NULL, NULL, 0, g);
    return mvk_walk_tensors(f, g, 2, dims, NULL, NULL);
}

/* ------------------------------------------------------------ vision */

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

moevk_status mvk_vision_hparams_load(const gguf_file *f, mvk_vision_hparams *hp) {
    if (!f || !hp) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_vision_hparams_load: NULL argument");
    memset(hp, 0, sizeof *hp);
    const char *as;
    size_t al;
    MVK_TRY(check_arch_string(f, &as, &al));
    if (al != 4 || memcmp(as, "clip", 4) != 0)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "mmproj: general.architecture is '%.*s', expected 'clip'",
                        (int)(al > 64 ? 64 : al), as);
    int has_vis;
    if (!gguf_has_key(f, "clip.has_vision_encoder"))
        return mvk_fail(MOEVK_ERR_FORMAT, "missing required key 'clip.has_vision_encoder'");
    MVK_TRY(gguf_get_bool(f, "clip.has_vision_encoder", &has_vis));
    if (!has_vis) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "mmproj: clip.has_vision_encoder is false (no vision tower)");

    const char *pkey = gguf_has_key(f, "clip.projector_type") ? "clip.projector_type"
                       : gguf_has_key(f, "clip.vision.projector_type") ? "clip.vision.projector_type"
                                                                      : NULL;
    if (!pkey) return mvk_fail(MOEVK_ERR_FORMAT, "missing required key 'clip.projector_type'");
    const char *ps;
    size_t pl;
    MVK_TRY(gguf_get_str(f, pkey, &ps, &pl));
    /* the tower variants moevk runs: their projector names (clip-impl.h PROJECTOR_TYPE_NAMES) */
    static const struct {
        const char *name;
        mvk_projector proj;
    } projectors[] = {{"qwen3vl_merger", MVK_PROJ_QWEN3VL_MERGER}, {"gemma4v", MVK_PROJ_GEMMA4V}};
    int found = 0;
    for (size_t i = 0; i < sizeof projectors / sizeof projectors[0] && !found; i++)
        if (pl == strlen(projectors[i].name) && memcmp(ps, projectors[i].name, pl) == 0) {
            snprintf(hp->projector, sizeof hp->projector, "%s", projectors[i].name);
            hp->proj = projectors[i].proj;
            found = 1;
        }
    if (!found)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "mmproj: projector type '%.*s' is not supported (moevk runs qwen3vl_merger, gemma4v)",
                        (int)(pl > 64 ? 64 : pl), ps);

    const char *P = "clip.vision";
    MVK_TRY(mvk_key_pos(f, P, "embedding_length", 1, 0, &hp->n_embd));
    MVK_TRY(mvk_key_pos(f, P, "feed_forward_length", 1, 0, &hp->n_ff));
    MVK_TRY(mvk_key_pos(f, P, "block_count", 1, 0, &hp->n_layer));
    MVK_TRY(mvk_key_pos(f, P, "attention.head_count", 1, 0, &hp->n_head));
    MVK_TRY(mvk_key_f32(f, P, "attention.layer_norm_epsilon", 1, 0.0f, &hp->eps));
    MVK_TRY(mvk_key_pos(f, P, "patch_size", 1, 0, &hp->patch_size));
    MVK_TRY(mvk_key_pos(f, P, "image_size", 1, 0, &hp->image_size));
    MVK_TRY(mvk_key_pos(f, P, "spatial_merge_size", 0, 2, &hp->spatial_merge));
    MVK_TRY(mvk_key_pos(f, P, "projection_dim", 0, 0, &hp->projection_dim));
    if (hp->n_embd % hp->n_head != 0 || (hp->n_embd / hp->n_head) % 4 != 0)
        return mvk_fail(MOEVK_ERR_FORMAT,
                        "clip.vision.embedding_length %d / attention.head_count %d must give a head size divisible by 4 "
                        "(2-D RoPE)",
                        hp->n_embd, hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
    if (hp->n_layer > gguf_n_tensors(f))
        return mvk_fail(MOEVK_ERR_FORMAT, "key 'clip.vision.block_count' = %d exceeds the %" PRId64 " tensors in the file",
                        hp->n_layer, gguf_n_tensors(f));
    if (hp->patch_size > 4096 || hp->spatial_merge > 64)
        return mvk_fail(MOEVK_ERR_FORMAT, "clip.vision.patch_size %d / spatial_merge_size %d out of range",
                        hp->patch_size, hp->spatial_merge);
    int64_t merged = (int64_t)hp->n_embd * hp->spatial_merge * hp->spatial_merge;
    if (merged > INT32_MAX) return mvk_fail(MOEVK_ERR_FORMAT, "clip.vision: merged width overflows");
    hp->n_merged = (int)merged;

    static const char *const norm_keys[2] = {"clip.vision.image_mean", "clip.vision.image_std"};
    for (int k = 0; k < 2; k++) {
        float *dst = k ? hp->image_std : hp->image_mean;
        if (!gguf_has_key(f, norm_keys[k])) return mvk_fail(MOEVK_ERR_FORMAT, "missing required key '%s'", norm_keys[k]);
        uint64_t n;
        MVK_TRY(gguf_get_arr_f32(f, norm_keys[k], dst, 3, &n));
        if (n != 3) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' has %" PRIu64 " entries, expected 3", norm_keys[k], n);
        for (int c = 0; c < 3; c++)
            if (!isfinite(dst[c]) || (k == 1 && dst[c] == 0))
                return mvk_fail(MOEVK_ERR_FORMAT, "key '%s'[%d] = %g is invalid", norm_keys[k], c, (double)dst[c]);
    }
    int gelu, silu;
    MVK_TRY(gguf_get_bool_opt(f, "clip.use_gelu", 0, &gelu));
    MVK_TRY(gguf_get_bool_opt(f, "clip.use_silu", 0, &silu));
    hp->act = gelu ? MVK_VISION_ACT_GELU : silu ? MVK_VISION_ACT_SILU : MVK_VISION_ACT_GELU_QUICK;
    if (hp->proj == MVK_PROJ_GEMMA4V) return mvk_gemma4v_hparams(f, hp);

    /* deepstack taps: llama.cpp detects them from v.deepstack.{L}.fc1.weight */
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const char *nm = gguf_tensor(f, i)->name;
        if (strncmp(nm, "v.deepstack.", 12) != 0) continue;
        char *end;
        long L = strtol(nm + 12, &end, 10);
        if (end == nm + 12 || *end != '.' || L < 0 || L >= hp->n_layer)
            return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s' does not name a ViT layer in [0, %d)", nm, hp->n_layer);
        if (strcmp(end, ".fc1.weight") != 0) continue;
        if (hp->n_deepstack >= MVK_MAX_DEEPSTACK)
            return mvk_fail(MOEVK_ERR_UNSUPPORTED, "mmproj: more than %d deepstack layers", MVK_MAX_DEEPSTACK);
        hp->deepstack_layers[hp->n_deepstack++] = (int)L;
    }
    qsort(hp->deepstack_layers, (size_t)hp->n_deepstack, sizeof(int), cmp_int);

    const gguf_tensor_info *pe = gguf_find_tensor(f, "v.position_embd.weight");
    if (!pe) return mvk_fail(MOEVK_ERR_FORMAT, "missing tensor 'v.position_embd.weight'");
    if (eff_dims(pe->ne, pe->n_dims) != 2 || pe->ne[0] != hp->n_embd || pe->ne[1] > INT32_MAX) {
        char have[128];
        fmt_shape(have, sizeof have, pe->ne, pe->n_dims);
        return mvk_fail(MOEVK_ERR_SHAPE, "tensor 'v.position_embd.weight' has shape %s, expected [%d, n_pos]", have,
                        hp->n_embd);
    }
    hp->n_pos = (int)pe->ne[1];
    int g = (int)floor(sqrt((double)hp->n_pos) + 0.5);
    if ((int64_t)g * g != hp->n_pos)
        return mvk_fail(MOEVK_ERR_SHAPE, "tensor 'v.position_embd.weight' has %d rows, not a square grid", hp->n_pos);
    hp->n_pos_side = g;

    const gguf_tensor_info *b2 = gguf_find_tensor(f, "mm.2.bias");
    if (!b2) return mvk_fail(MOEVK_ERR_FORMAT, "missing tensor 'mm.2.bias'");
    if (eff_dims(b2->ne, b2->n_dims) != 1 || b2->ne[0] > INT32_MAX) {
        char have[128];
        fmt_shape(have, sizeof have, b2->ne, b2->n_dims);
        return mvk_fail(MOEVK_ERR_SHAPE, "tensor 'mm.2.bias' has shape %s, expected [n_out]", have);
    }
    hp->n_mmproj_embd = (int)b2->ne[0];
    int64_t out = (int64_t)hp->n_mmproj_embd * (1 + hp->n_deepstack);
    if (out > INT32_MAX) return mvk_fail(MOEVK_ERR_FORMAT, "mmproj output width overflows");
    hp->n_embd_out = (int)out;

    /* ours, optional: the image-token range the pair was trained for (the engine's budget unless the caller sets one) */
    MVK_TRY(mvk_key_pos(f, "moevk.vision", "image_min_tokens", 0, 0, &hp->image_min_tokens));
    MVK_TRY(mvk_key_pos(f, "moevk.vision", "image_max_tokens", 0, 0, &hp->image_max_tokens));
    if (hp->image_min_tokens && hp->image_max_tokens && hp->image_min_tokens > hp->image_max_tokens)
        return mvk_fail(MOEVK_ERR_FORMAT, "key 'moevk.vision.image_min_tokens' = %d exceeds 'moevk.vision.image_max_tokens' = %d",
                        hp->image_min_tokens, hp->image_max_tokens);
    return MOEVK_OK;
}

void mvk_image_budget(const mvk_vision_hparams *hp, int req_min, int req_max, int *min_t, int *max_t) {
    /* each bound and the rank of where it came from: 2 the caller, 1 the file, 0 llama.cpp's default */
    int lo = MVK_IMAGE_MIN_TOKENS_DEFAULT, hi = MVK_IMAGE_MAX_TOKENS_DEFAULT, lo_rank = 0, hi_rank = 0;
    if (req_min > 0) {
        lo = req_min;
        lo_rank = 2;
    } else if (hp->image_min_tokens > 0) {
        lo = hp->image_min_tokens;
        lo_rank = 1;
    }
    if (req_max > 0) {
        hi = req_max;
        hi_rank = 2;
    } else if (hp->image_max_tokens > 0) {
        hi = hp->image_max_tokens;
        hi_rank = 1;
    }
    /* crossed bounds: the weaker source gives way (two of the caller's stay as given) */
    if (lo > hi && hi_rank > lo_rank) lo = hi;
    if (lo > hi && lo_rank > hi_rank) hi = lo;
    /* the load-time cap: the vision scratch was reserved for no more */
    if (hp->load_max_tokens > 0 && hi > hp->load_max_tokens) hi = hp->load_max_tokens;
    if (lo > hi) lo = hi;
    *min_t = lo;
    *max_t = hi;
}

moevk_status mvk_vision_check_tensors(const gguf_file *f, const mvk_vision_hparams *hp) {
    if (!f || !hp) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_vision_check_tensors: NULL argument");
    int64_t dims[MVK_D_COUNT];
    mvk_tensor_group g[3];
    mvk_vision_dims(hp, dims);
    mvk_vision_tensor_groups(hp, NULL, NULL, 0, NULL, 0, g);
    return mvk_walk_tensors(f, g, 3, dims, NULL, NULL);
}

moevk_status mvk_check_text_vision_pair(const mvk_text_hparams *t, const mvk_vision_hparams *v) {
    if (!t || !v) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_check_text_vision_pair: NULL argument");
    if (!t->has_vision_input)
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "text model '%s' takes no image input; drop the mmproj", t->arch_name);
    if (v->n_embd_out != t->n_embd_inp)
        return mvk_fail(MOEVK_ERR_SHAPE,
                        "mmproj row width %d (mm.2.bias %d x (1 + %d deepstack)) != text n_embd_inp %d "
                        "(n_embd %d x (1 + %d n_deepstack_layers)): the files do not belong together",
                        v->n_embd_out, v->n_mmproj_embd, v->n_deepstack, t->n_embd_inp, t->n_embd, t->n_deepstack);
    if (v->n_mmproj_embd != t->n_embd || v->n_deepstack != t->n_deepstack)
        return mvk_fail(MOEVK_ERR_SHAPE,
                        "mmproj output %d x (1 + %d deepstack) does not split like text n_embd %d x (1 + %d): "
                        "the files do not belong together",
                        v->n_mmproj_embd, v->n_deepstack, t->n_embd, t->n_deepstack);
    return MOEVK_OK;
}
