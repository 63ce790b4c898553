/* test_api.c — the public API (include/moevk.h), on two models: the embedded
 * model (assets/models, always in the repository; its expected sizes come from
 * the PyTorch export's manifest.json in assets/goldens/09-tuxpaint-an-onion) and the
 * golden pair (../shared/goldens; skipped when absent, a failure under CI=true):
 * bad input gets a clear status and message and the model keeps working;
 * routing telemetry is complete and consistent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moevk.h"
#include "test_util.h"

/* One model under test and what its files say it is. */
typedef struct model_case {
    const char *name;
    char text[4400], mmproj[4400], image[4400];
    int n_layer, n_embd, n_expert, n_expert_used, n_vocab, n_deepstack;
    int n_image_tokens;                  /* of `image` at its native size */
    int32_t vision_start, image_pad, vision_end;
    int available;                       /* files found */
    moevk_model *model;                  /* loaded by the first test that needs it */
} model_case;

static model_case g_embedded = {.name = "embedded model"}, g_golden = {.name = "golden model"};
static model_case *cur; /* the case the running test uses */

/* ---- a minimal reader for the manifest's integers: the value after `"key":`
 * that follows `"section"` (pretty-printed JSON from the PyTorch export) */
static const char *json_after(const char *json, const char *section, const char *key) {
    char k[256];
    snprintf(k, sizeof k, "\"%s\"", section);
    const char *p = strstr(json, k);
    if (!p) return NULL;
    snprintf(k, sizeof k, "\"%s\":", key);
    p = strstr(p, k);
    return p ? p + strlen(k) : NULL;
}

static int json_int(const char *json, const char *section, const char *key) {
    const char *p = json_after(json, section, key);
    if (!p) fail_msg("manifest: no \"%s\" after \"%s\"", key, section);
    return (int)strtol(p, NULL, 10);
}

static int json_array_len(const char *json, const char *section, const char *key) {
    const char *p = json_after(json, section, key);
    if (!p || !(p = strchr(p, '['))) fail_msg("manifest: no array \"%s\" after \"%s\"", key, section);
    int n = 0;
    for (p++; *p && *p != ']'; p++)
        if (*p >= '0' && *p <= '9' && !(p[-1] >= '0' && p[-1] <= '9')) n++;
    return n;
}

/* The embedded model; its sizes from the manifest of its first reference output. */
static void find_embedded(model_case *m) {
    if (!tu_embedded_model(m->text, sizeof m->text, m->mmproj, sizeof m->mmproj))
        fail_msg("the embedded model is missing (%s)", m->text); /* the repository always has it */
    const char *src = getenv("MOEVK_SOURCE_DIR");
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/assets/goldens/09-tuxpaint-an-onion", src && src[0] ? src : ".");
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    char *js = tu_read_file(path, NULL);
    if (!js) fail_msg("cannot read %s", path);
    snprintf(m->image, sizeof m->image, "%s/image.png", dir);
    m->n_layer = json_int(js, "config", "n_layer");
    m->n_embd = json_int(js, "config", "n_embd");
    m->n_expert = json_int(js, "config", "n_expert");
    m->n_expert_used = json_int(js, "config", "n_expert_used");
    m->n_vocab = json_int(js, "config", "n_vocab");
    m->n_deepstack = json_array_len(js, "config", "deepstack");
    m->n_image_tokens = json_int(js, "image_tokens", "n");
    m->vision_start = json_int(js, "special", "<|vision_start|>");
    m->image_pad = json_int(js, "special", "<|image_pad|>");
    m->vision_end = json_int(js, "special", "<|vision_end|>");
    free(js);
    m->available = 1;
}

/* The golden pair; values from goldens/qwen3vlmoe-tiny-a/README.md "Config". */
static void find_golden(model_case *m) {
    const char *gd = tu_goldens_dir(); /* records a skip (a failure under CI=true) when absent */
    if (!gd) return;
    snprintf(m->text, sizeof m->text, "%s/qwen3vlmoe-tiny-a/text.gguf", gd);
    snprintf(m->mmproj, sizeof m->mmproj, "%s/qwen3vlmoe-tiny-a/mmproj.gguf", gd);
    snprintf(m->image, sizeof m->image, "%s/qwen3vlmoe-tiny-a/image.png", gd);
    m->n_layer = 3, m->n_embd = 64, m->n_expert = 8, m->n_expert_used = 2, m->n_vocab = 302, m->n_deepstack = 1;
    m->n_image_tokens = 6; /* the golden image is 64x96: 6 tokens at native size */
    m->vision_start = 299, m->image_pad = 301, m->vision_end = 300;
    m->available = 1;
}

static int group_teardown(void **state) {
    (void)state;
    int bad = 0;
    model_case *cases[2] = {&g_embedded, &g_golden};
    for (int c = 0; c < 2; c++) {
        if (!cases[c]->model) continue;
        moevk_model_info i;
        moevk_model_get_info(cases[c]->model, &i);
        moevk_model_free(cases[c]->model);
        cases[c]->model = NULL;
        if (i.validation_messages) {
            fprintf(stderr, "FAIL: %u validation message(s) with the %s\n", i.validation_messages, cases[c]->name);
            bad = 1;
        }
    }
    if (bad) exit(1); /* cmocka does not turn a failed group teardown into a failing exit code */
    return 0;
}

/* The start of every test: the test's model case (its cmocka state) becomes
 * `cur`, loaded on first use; skips (here, inside the test: cmocka counts a
 * skip in a setup as a failure) when its files are absent. */
static void use_model(void **state) {
    model_case *m = *state;
    if (!m->available) {
        if (m == &g_embedded) find_embedded(m);
        else find_golden(m);
        if (!m->available) skip(); /* tu_goldens_dir recorded it */
    }
    if (!m->model) {
        moevk_model_params p = moevk_model_default_params();
        p.model_path = m->text;
        p.mmproj_path = m->mmproj;
        p.validation = 1;
        moevk_status s = moevk_model_load(&p, &m->model);
        if (s != MOEVK_OK) {
            m->model = NULL;
            if (s == MOEVK_ERR_NO_VULKAN || s == MOEVK_ERR_NO_DEVICE) {
                const char *req = getenv("MOEVK_REQUIRE_DEVICE");
                if (!(req && req[0] == '1')) TU_SKIP_NA("no Vulkan device: %s", moevk_last_error());
            }
            fail_msg("cannot load the %s: %s: %s", m->name, moevk_status_str(s), moevk_last_error());
        }
    }
    cur = m;
}

static void expect_load_error(const char *text, const char *mmproj, const char *device, moevk_status want, const char *needle) {
    moevk_model_params p = moevk_model_default_params();
    p.model_path = text;
    p.mmproj_path = mmproj;
    p.device = device;
    moevk_model *m = (moevk_model *)0x1;
    moevk_status s = moevk_model_load(&p, &m);
    if (s != want) fail_msg("load(%s, %s): got %s (%s), want %s", text, mmproj ? mmproj : "-", moevk_status_str(s), moevk_last_error(), moevk_status_str(want));
    assert_null(m);
    if (needle && !strstr(moevk_last_error(), needle)) fail_msg("message '%s' does not mention '%s'", moevk_last_error(), needle);
}

static void test_load_errors(void **state) {
    use_model(state);
    expect_load_error("/nonexistent/model.gguf", NULL, NULL, MOEVK_ERR_IO, "/nonexistent/model.gguf");
    expect_load_error(cur->mmproj, NULL, NULL, MOEVK_ERR_UNSUPPORTED, "clip");   /* mmproj given as the text model */
    const char *base = strrchr(cur->text, '/') ? strrchr(cur->text, '/') + 1 : cur->text;
    expect_load_error(cur->text, cur->text, NULL, MOEVK_ERR_UNSUPPORTED, base); /* text model given as mmproj */
    expect_load_error(cur->text, cur->mmproj, "no-such-device-xyz", MOEVK_ERR_NO_DEVICE, "no-such-device-xyz");
    moevk_model *m = NULL;
    assert_int_equal(moevk_model_load(NULL, &m), MOEVK_ERR_INVALID_ARG);
    /* a truncated copy */
    size_t n = 0;
    char *data = tu_read_file(cur->text, &n);
    assert_non_null(data);
    char path[] = "/tmp/moevk_trunc_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    fwrite(data, 1, n / 2, f);
    fclose(f);
    expect_load_error(path, NULL, NULL, MOEVK_ERR_FORMAT, path);
    remove(path);
    free(data);
}

static void test_info(void **state) {
    use_model(state);
    moevk_model_info i;
    assert_int_equal(moevk_model_get_info(cur->model, &i), MOEVK_OK);
    assert_string_equal(i.arch, "qwen3vlmoe");
    assert_int_equal(i.n_layer, cur->n_layer);
    assert_int_equal(i.n_embd, cur->n_embd);
    assert_int_equal(i.n_expert, cur->n_expert);
    assert_int_equal(i.n_expert_used, cur->n_expert_used);
    assert_int_equal(i.n_moe_layers, cur->n_layer); /* every layer is MoE in both models */
    assert_int_equal(i.n_vocab, cur->n_vocab);
    assert_int_equal(i.has_vision, 1);
    assert_int_equal(i.n_deepstack, cur->n_deepstack);
}

/* What the app names per heatmap row: Qwen3-VL's MoE layers are attention with the routed experts alone (gemma4's
 * sliding/global attention and the dense MLP beside the MoE: tests/gemma4_layer_info.sh). */
static void test_moe_layer_kinds(void **state) {
    use_model(state);
    for (int l = 0; l < cur->n_layer; l++) {
        int layer = -1;
        moevk_mixer mx = MOEVK_MIXER_SLIDING;
        moevk_moe_ffn fx = MOEVK_FFN_DENSE_MLP;
        assert_int_equal(moevk_moe_layer_info(cur->model, l, &layer, &mx), MOEVK_OK);
        assert_int_equal(moevk_moe_layer_ffn(cur->model, l, &fx), MOEVK_OK);
        assert_int_equal(layer, l);
        assert_int_equal(mx, MOEVK_MIXER_ATTENTION);
        assert_int_equal(fx, MOEVK_FFN_EXPERTS);
    }
    moevk_moe_ffn fx;
    TU_REFUSES(moevk_moe_layer_ffn(cur->model, cur->n_layer, &fx), MOEVK_ERR_INVALID_ARG, "MoE layer");
    TU_REFUSES(moevk_moe_layer_ffn(cur->model, -1, &fx), MOEVK_ERR_INVALID_ARG, "MoE layer -1");
    TU_REFUSES(moevk_moe_layer_ffn(cur->model, 0, NULL), MOEVK_ERR_INVALID_ARG, "NULL argument");
}

typedef struct collect { char text[4096]; size_t len; int calls; } collect;

static int on_token(const char *piece, int32_t token, void *user) {
    (void)token;
    collect *c = user;
    size_t n = strlen(piece);
    if (c->len + n < sizeof c->text) {
        memcpy(c->text + c->len, piece, n + 1);
        c->len += n;
    }
    c->calls++;
    return 0;
}

static void test_generate_and_routing(void **state) {
    use_model(state);
    moevk_gen_params p = moevk_gen_default_params();
    p.image_path = cur->image;
    p.image_min_tokens = 1; /* native size: cur->n_image_tokens */
    p.n_predict = 12;
    collect c = {0};
    p.on_token = on_token;
    p.user = &c;
    TU_OK(moevk_generate(cur->model, &p));
    char text[4096];
    size_t len = 0;
    TU_OK(moevk_get_text(cur->model, text, sizeof text, &len));
    assert_int_equal(len, c.len);
    assert_string_equal(text, c.text);
    moevk_timings t;
    TU_OK(moevk_get_timings(cur->model, &t));
    assert_int_equal(t.n_image_tokens, cur->n_image_tokens);
    assert_true(t.n_generated >= 1 && t.n_generated <= 12);
    /* one record per prompt token (image ones tagged) and per generated token fed back */
    size_t n = moevk_routing_count(cur->model);
    /* generated tokens are recorded when fed back: all of them if an end-of-turn
     * token stopped generation, all but the last if n_predict did */
    assert_true(n == (size_t)t.n_prompt_tokens + (size_t)t.n_generated ||
                n + 1 == (size_t)t.n_prompt_tokens + (size_t)t.n_generated);
    int n_img = 0, n_prompt = 0, n_gen = 0;
    const int L = cur->n_layer, K = cur->n_expert_used, cap = L * K;
    assert_true(K == 2); /* the checks below are written for top-2 */
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    float *w = malloc((size_t)cap * sizeof *w);
    assert_non_null(ids);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++) {
        moevk_token_route r;
        TU_OK(moevk_routing_get(cur->model, i, &r, ids, w, cap));
        assert_int_equal(r.pos, (int)i);
        if (r.kind == MOEVK_TOKEN_IMAGE) { n_img++; assert_int_equal(r.token, -1); }
        else if (r.kind == MOEVK_TOKEN_PROMPT) n_prompt++;
        else n_gen++;
        for (int l = 0; l < L; l++) {
            assert_true(ids[2 * l] >= 0 && ids[2 * l] < cur->n_expert);
            assert_true(ids[2 * l + 1] >= 0 && ids[2 * l + 1] < cur->n_expert);
            assert_true(ids[2 * l] != ids[2 * l + 1]);
            assert_true(w[2 * l] >= w[2 * l + 1]);
            assert_float_equal(w[2 * l] + w[2 * l + 1], 1.0f, 1e-5);
        }
    }
    assert_int_equal(n_img, cur->n_image_tokens);
    assert_int_equal(n_prompt, t.n_prompt_tokens - cur->n_image_tokens);
    assert_int_equal(n_gen, (int)n - t.n_prompt_tokens);
    assert_int_equal(moevk_routing_get(cur->model, n, NULL, ids, NULL, cap), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_routing_get(cur->model, 0, NULL, ids, NULL, cap - 1), MOEVK_ERR_INVALID_ARG);
    free(ids);
    free(w);
}

/* The image-token budget: the embedded pair's mmproj says it was trained for 16 tokens
 * (moevk.vision.image_{min,max}_tokens = 16), the golden pair has no such key and keeps
 * llama.cpp's 8..4096; an explicit caller value wins over both. A 640x480 frame, smart-resized
 * with 32 px per token (patch 16, 2x2 merge): max 16 -> 128x96 = 12 tokens; max 64 -> 288x192
 * = 54. The golden pair's 4096 is capped by its context: 256 positions less 64 + n_predict kept
 * for text leave 191 -> 480x352 = 165 tokens. */
static void test_image_budget_from_mmproj(void **state) {
    use_model(state);
    enum { W = 640, H = 480 };
    uint8_t *rgb = malloc((size_t)W * H * 3);
    assert_non_null(rgb);
    for (size_t i = 0; i < (size_t)W * H * 3; i++) rgb[i] = (uint8_t)(i * 7 % 251);
    moevk_gen_params p = moevk_gen_default_params();
    assert_int_equal(p.image_min_tokens, 0); /* 0: the mmproj's range, else llama.cpp's */
    assert_int_equal(p.image_max_tokens, 0);
    p.image_rgb = rgb;
    p.image_w = W;
    p.image_h = H;
    p.n_predict = 1;
    moevk_timings t;
    TU_OK(moevk_generate(cur->model, &p));
    TU_OK(moevk_get_timings(cur->model, &t));
    if (cur == &g_golden) {
        moevk_model_info info;
        TU_OK(moevk_model_get_info(cur->model, &info));
        assert_int_equal(info.n_ctx, 256);
    }
    assert_int_equal(t.n_image_tokens, cur == &g_embedded ? 12 : 165);
    p.image_max_tokens = 64;
    TU_OK(moevk_generate(cur->model, &p));
    TU_OK(moevk_get_timings(cur->model, &t));
    assert_int_equal(t.n_image_tokens, 54);
    free(rgb);
}

/* moevk_model_plan: what a load places, without loading. The weights it counts are what the load uploads
 * (all experts resident here; the plan at aligned sizes); after a caption, the device holds at least weights + KV cache and at most
 * the plan's resident total (its scratch is a reserve); the scratch does not grow with n_ctx, the KV cache
 * does, in proportion; a budget too small is "does not fit", not an error. */
static void test_plan_matches_load(void **state) {
    use_model(state);
    moevk_model_params p = moevk_model_default_params();
    p.model_path = cur->text;
    p.mmproj_path = cur->mmproj;
    moevk_plan pl;
    TU_OK(moevk_model_plan(&p, &pl));
    moevk_model_info info;
    moevk_gen_params g = moevk_gen_default_params();
    g.image_path = cur->image;
    g.n_predict = 2;
    TU_OK(moevk_generate(cur->model, &g));
    TU_OK(moevk_model_get_info(cur->model, &info));
    assert_true(pl.fits);
    assert_int_equal(pl.slots, pl.experts ? pl.n_expert : 0);
    assert_int_equal(pl.n_ctx, info.n_ctx);
    /* the plan counts each tensor at its aligned size: at most 256 bytes a tensor more than the bytes uploaded */
    uint64_t wp = pl.weights + pl.experts;
    if (wp < info.weight_bytes || wp - info.weight_bytes > info.weight_bytes / 64 + 65536)
        fail_msg("the plan counts %llu + %llu bytes of weights, the load uploaded %llu", (unsigned long long)pl.weights,
                 (unsigned long long)pl.experts, (unsigned long long)info.weight_bytes);
    assert_true(pl.resident == pl.weights + pl.kv_cache + pl.recurrent_state + pl.scratch + pl.other);
    if (info.device_bytes < pl.weights + pl.experts + pl.kv_cache || info.device_bytes > pl.resident + pl.experts)
        fail_msg("device holds %llu bytes after a caption; the plan: weights %llu + experts %llu + KV %llu, resident total "
                 "%llu + experts", (unsigned long long)info.device_bytes, (unsigned long long)pl.weights,
                 (unsigned long long)pl.experts, (unsigned long long)pl.kv_cache, (unsigned long long)pl.resident);
    assert_int_equal(pl.max_ctx, info.n_ctx); /* the default budget holds the model's whole trained context */
    /* the context: KV cache in proportion (plus the decode step's attention partials, one per 128 keys), the
     * scratch the same: nothing in it grows with the context */
    moevk_plan a, b;
    p.n_ubatch = 32; /* below both contexts: a context under the micro-batch caps it (and the scratch) */
    p.mmproj_path = NULL; /* the largest image is capped by a context below the image-token cap: text only here */
    p.n_ctx = 64;
    TU_OK(moevk_model_plan(&p, &a));
    p.n_ctx = 256;
    TU_OK(moevk_model_plan(&p, &b));
    if ((double)b.kv_cache < 3.9 * (double)a.kv_cache || b.kv_cache > 4 * a.kv_cache)
        fail_msg("KV cache %llu at n_ctx 64, %llu at 256", (unsigned long long)a.kv_cache, (unsigned long long)b.kv_cache);
    if (b.scratch != a.scratch)
        fail_msg("scratch %llu at n_ctx 64, %llu at 256", (unsigned long long)a.scratch, (unsigned long long)b.scratch);
    /* a budget too small: reported, not refused */
    p.device_mem_mib = 1;
    TU_OK(moevk_model_plan(&p, &a));
    assert_false(a.fits);
    assert_int_equal(a.max_ctx, 0);
    assert_int_equal(moevk_model_plan(NULL, &a), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_model_plan(&p, NULL), MOEVK_ERR_INVALID_ARG);
}

/* image_max_tokens at load: the plan reserves less vision scratch, and no
 * call encodes an image larger than the cap, whatever it asks. */
static void test_image_cap_at_load(void **state) {
    use_model(state);
    moevk_model_params p = moevk_model_default_params();
    p.model_path = cur->text;
    p.mmproj_path = cur->mmproj;
    p.validation = 1;
    p.n_ctx = 256; /* a small micro-batch, so that the largest image's encode sizes the scratch */
    p.n_ubatch = 8;
    moevk_plan full, capped;
    TU_OK(moevk_model_plan(&p, &full));
    p.image_max_tokens = 6; /* below both models' images (12 and 165 tokens) */
    TU_OK(moevk_model_plan(&p, &capped));
    /* the golden mmproj has no image-token key (cap 4096: its encode sizes the scratch); the embedded one caps
     * images at a few dozen tokens, where the LM's micro-batch and the block tails size it */
    if (cur == &g_golden ? capped.scratch >= full.scratch : capped.scratch > full.scratch)
        fail_msg("scratch %llu bytes with images capped at 6 tokens, %llu uncapped", (unsigned long long)capped.scratch,
                 (unsigned long long)full.scratch);
    moevk_model *m = NULL;
    TU_OK(moevk_model_load(&p, &m));
    moevk_gen_params g = moevk_gen_default_params();
    g.image_path = cur->image;
    g.n_predict = 1;
    g.image_max_tokens = 4096; /* asks for more than the load allows */
    TU_OK(moevk_generate(m, &g));
    moevk_timings t;
    TU_OK(moevk_get_timings(m, &t));
    assert_true(t.n_image_tokens > 0 && t.n_image_tokens <= 6);
    moevk_model_info info;
    TU_OK(moevk_model_get_info(m, &info));
    assert_int_equal(info.validation_messages, 0);
    moevk_model_free(m);
    p.image_max_tokens = -1;
    m = (moevk_model *)0x1;
    assert_int_equal(moevk_model_load(&p, &m), MOEVK_ERR_INVALID_ARG);
    assert_null(m);
    assert_non_null(strstr(moevk_last_error(), "image_max_tokens"));
}

static void test_bad_images_keep_model_usable(void **state) {
    use_model(state);
    moevk_gen_params p = moevk_gen_default_params();
    p.n_predict = 2;
    p.image_path = "/nonexistent/cat.png";
    moevk_status s = moevk_generate(cur->model, &p);
    assert_true(s == MOEVK_ERR_IO || s == MOEVK_ERR_IMAGE);
    assert_non_null(strstr(moevk_last_error(), "/nonexistent/cat.png"));
    char path[] = "/tmp/moevk_badimg_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "wb");
    fputs("\x89PNG\r\n\x1a\nthis is not really a png", f);
    fclose(f);
    p.image_path = path;
    assert_int_equal(moevk_generate(cur->model, &p), MOEVK_ERR_IMAGE);
    remove(path);
    /* the model still works */
    p.image_path = cur->image;
    p.image_min_tokens = 1;
    TU_OK(moevk_generate(cur->model, &p));
}

static void test_eval_argument_errors(void **state) {
    use_model(state);
    int32_t tok[3] = {1, 2, 100000};
    moevk_eval_params e = {.tokens = tok, .n_tokens = 3};
    assert_int_equal(moevk_eval(cur->model, &e), MOEVK_ERR_INVALID_ARG);
    assert_non_null(strstr(moevk_last_error(), "100000"));
    int32_t pads[3] = {cur->vision_start, cur->image_pad, cur->vision_end};
    e.tokens = pads; /* image-pad ids but no image */
    assert_int_equal(moevk_eval(cur->model, &e), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_eval(cur->model, NULL), MOEVK_ERR_INVALID_ARG);
}

/* eval without a logits buffer computes only the last row (a [n][n_vocab]
 * buffer is GBs at real sizes); the greedy tokens must not change */
static void test_eval_greedy_without_logits(void **state) {
    use_model(state);
    int32_t tok[5] = {1, 17, 42, 5, 9};
    int32_t g1[4] = {-1, -1, -1, -1}, g2[4] = {-2, -2, -2, -2};
    const int V = cur->n_vocab;
    float *lg = malloc((size_t)(5 * V) * sizeof *lg);
    assert_non_null(lg);
    moevk_eval_params e = {.tokens = tok, .n_tokens = 5, .logits = lg, .logits_cap = (size_t)(5 * V), .n_greedy = 4, .greedy_tokens = g1};
    TU_OK(moevk_eval(cur->model, &e));
    moevk_eval_params e2 = {.tokens = tok, .n_tokens = 5, .n_greedy = 4, .greedy_tokens = g2};
    TU_OK(moevk_eval(cur->model, &e2));
    int best = 0;
    for (int v = 1; v < V; v++)
        if (lg[4 * V + v] > lg[4 * V + best]) best = v;
    assert_int_equal(g1[0], best);
    for (int i = 0; i < 4; i++) assert_int_equal(g1[i], g2[i]);
    free(lg);
}

/* a callback that returns nonzero is not called again (not even for the final flush) */
static int stop_first(const char *piece, int32_t token, void *user) {
    (void)token;
    collect *c = user;
    snprintf(c->text, sizeof c->text, "%s", piece);
    c->len = strlen(c->text);
    c->calls++;
    return 1;
}

static void test_stop_from_callback(void **state) {
    use_model(state);
    moevk_gen_params p = moevk_gen_default_params();
    p.prompt = "hello";
    p.n_predict = 8;
    collect c = {0};
    p.on_token = stop_first;
    p.user = &c;
    TU_OK(moevk_generate(cur->model, &p));
    assert_true(c.calls <= 1);
    char text[4096];
    size_t len = 0;
    TU_OK(moevk_get_text(cur->model, text, sizeof text, &len));
    assert_int_equal(len, c.len);
    assert_string_equal(text, c.text);
}

/* progress: the documented stage labels, frac in [0, 1] and non-decreasing; nonzero cancels */
typedef struct prog { int n, text, mmproj, bad, cancel_mmproj; float last; } prog;

static int on_progress(const char *stage, float frac, void *user) {
    prog *g = user;
    g->n++;
    if (!(frac >= 0.0f && frac <= 1.0f) || frac < g->last) g->bad++;
    g->last = frac;
    if (!strcmp(stage, "text weights")) g->text++;
    if (!strcmp(stage, "mmproj weights")) g->mmproj++;
    return g->cancel_mmproj && !strcmp(stage, "mmproj weights");
}

static void test_progress_and_cancel(void **state) {
    use_model(state);
    moevk_model_params mp = moevk_model_default_params();
    mp.model_path = cur->text;
    mp.mmproj_path = cur->mmproj;
    prog g = {0};
    mp.progress = on_progress;
    mp.progress_user = &g;
    moevk_model *m = NULL;
    TU_OK(moevk_model_load(&mp, &m));
    moevk_model_free(m);
    assert_true(g.text > 0);
    assert_true(g.mmproj > 0);
    assert_int_equal(g.bad, 0);
    assert_float_equal(g.last, 1.0f, 0.0f);
    prog c = {.cancel_mmproj = 1};
    mp.progress_user = &c;
    m = (moevk_model *)0x1;
    assert_int_equal(moevk_model_load(&mp, &m), MOEVK_ERR_CANCELLED);
    assert_null(m);
    assert_int_equal(c.mmproj, 1);
}

/* a small KV cache: a prompt that does not fit is MOEVK_ERR_CONTEXT_FULL;
 * generation past the end stops with it; the model stays usable */
static void test_context_full(void **state) {
    use_model(state);
    moevk_model_params mp = moevk_model_default_params();
    mp.model_path = cur->text;
    mp.mmproj_path = cur->mmproj;
    mp.n_ctx = 24;
    moevk_model *m = NULL;
    TU_OK(moevk_model_load(&mp, &m));
    moevk_model_info info;
    TU_OK(moevk_model_get_info(m, &info));
    assert_int_equal(info.n_ctx, 24);
    int32_t tok[30];
    for (int i = 0; i < 30; i++) tok[i] = 1 + i;
    moevk_eval_params e = {.tokens = tok, .n_tokens = 25};
    assert_int_equal(moevk_eval(m, &e), MOEVK_ERR_CONTEXT_FULL);
    int32_t g[8];
    moevk_eval_params e2 = {.tokens = tok, .n_tokens = 20, .n_greedy = 8, .greedy_tokens = g};
    assert_int_equal(moevk_eval(m, &e2), MOEVK_ERR_CONTEXT_FULL); /* 20 + 7 fed back > 24 */
    e2.n_greedy = 5;                                               /* 20 + 4 fits exactly */
    TU_OK(moevk_eval(m, &e2));
    moevk_gen_params p = moevk_gen_default_params();
    p.prompt = "hello";
    p.n_predict = 1000;
    moevk_status s = moevk_generate(m, &p);
    assert_true(s == MOEVK_OK || s == MOEVK_ERR_CONTEXT_FULL);
    assert_true(moevk_routing_count(m) <= 24);
    moevk_timings t;
    TU_OK(moevk_get_timings(m, &t));
    assert_true(t.n_prompt_tokens + t.n_generated <= 25);
    e.n_tokens = 24;
    TU_OK(moevk_eval(m, &e));
    moevk_model_free(m);
}

/* ctest runs the two models as two tests: `test_api` (the embedded model, always
 * there) and `test_api_goldens` (test_api --goldens: skipped when they are absent).
 * Each test's cmocka state is its model case. */
int main(int argc, char **argv) {
    int golden = argc > 1 && strcmp(argv[1], "--goldens") == 0;
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_moe_layer_kinds),
        cmocka_unit_test(test_generate_and_routing),
        cmocka_unit_test(test_image_budget_from_mmproj),
        cmocka_unit_test(test_plan_matches_load),
        cmocka_unit_test(test_image_cap_at_load),
        cmocka_unit_test(test_bad_images_keep_model_usable),
        cmocka_unit_test(test_eval_argument_errors),
        cmocka_unit_test(test_eval_greedy_without_logits),
        cmocka_unit_test(test_stop_from_callback),
        cmocka_unit_test(test_progress_and_cancel),
        cmocka_unit_test(test_context_full),
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) tests[i].initial_state = golden ? &g_golden : &g_embedded;
    return tu_exit(cmocka_run_group_tests_name(golden ? "golden model" : "embedded model", tests, NULL, group_teardown));
}
