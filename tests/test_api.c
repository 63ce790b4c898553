/* test_api.c — the public API (include/moevk.h) on the golden model pair:
 * bad input gets a clear status and message and the model keeps working;
 * routing telemetry is complete and consistent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moevk.h"
#include "test_util.h"

static char g_text[4400], g_mmproj[4400], g_dir[4200];
static moevk_model *g_model;

static int group_setup(void **state) {
    (void)state;
    const char *g = tu_goldens_dir();
    if (!g) return 0;
    snprintf(g_dir, sizeof g_dir, "%s/qwen3vlmoe-tiny-a", g);
    snprintf(g_text, sizeof g_text, "%s/text.gguf", g_dir);
    snprintf(g_mmproj, sizeof g_mmproj, "%s/mmproj.gguf", g_dir);
    moevk_model_params p = moevk_model_default_params();
    p.model_path = g_text;
    p.mmproj_path = g_mmproj;
    p.validation = 1;
    moevk_status s = moevk_model_load(&p, &g_model);
    if (s != MOEVK_OK) {
        const char *req = getenv("MOEVK_REQUIRE_DEVICE");
        fprintf(stderr, "%s: cannot load the golden model: %s: %s\n", req && req[0] == '1' ? "FAIL" : "SKIP",
                moevk_status_str(s), moevk_last_error());
        g_model = NULL;
        return req && req[0] == '1' ? -1 : 0;
    }
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    if (g_model) {
        moevk_model_info i;
        moevk_model_get_info(g_model, &i);
        moevk_model_free(g_model);
        if (i.validation_messages) {
            fprintf(stderr, "FAIL: %u validation message(s)\n", i.validation_messages);
            exit(1);
        }
    }
    return 0;
}

static int need_model(void **state) {
    (void)state;
    if (!g_model) skip();
    return 0;
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
    (void)state;
    expect_load_error("/nonexistent/model.gguf", NULL, NULL, MOEVK_ERR_IO, "/nonexistent/model.gguf");
    expect_load_error(g_mmproj, NULL, NULL, MOEVK_ERR_UNSUPPORTED, "clip");   /* mmproj given as the text model */
    expect_load_error(g_text, g_text, NULL, MOEVK_ERR_UNSUPPORTED, "text.gguf"); /* text model given as mmproj */
    expect_load_error(g_text, g_mmproj, "no-such-device-xyz", MOEVK_ERR_NO_DEVICE, "no-such-device-xyz");
    moevk_model *m = NULL;
    assert_int_equal(moevk_model_load(NULL, &m), MOEVK_ERR_INVALID_ARG);
    /* a truncated copy */
    size_t n = 0;
    char *data = tu_read_file(g_text, &n);
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
    (void)state;
    moevk_model_info i;
    assert_int_equal(moevk_model_get_info(g_model, &i), MOEVK_OK);
    assert_string_equal(i.arch, "qwen3vlmoe");
    assert_int_equal(i.n_layer, 3);
    assert_int_equal(i.n_embd, 64);
    assert_int_equal(i.n_expert, 8);
    assert_int_equal(i.n_expert_used, 2);
    assert_int_equal(i.n_moe_layers, 3);
    assert_int_equal(i.n_vocab, 302);
    assert_int_equal(i.has_vision, 1);
    assert_int_equal(i.n_deepstack, 1);
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
    (void)state;
    char img[4300];
    snprintf(img, sizeof img, "%s/image.png", g_dir);
    moevk_gen_params p = moevk_gen_default_params();
    p.image_path = img;
    p.image_min_tokens = 1; /* the golden image is 64x96: 6 tokens at native size */
    p.n_predict = 12;
    collect c = {0};
    p.on_token = on_token;
    p.user = &c;
    TU_OK(moevk_generate(g_model, &p));
    char text[4096];
    size_t len = 0;
    TU_OK(moevk_get_text(g_model, text, sizeof text, &len));
    assert_int_equal(len, c.len);
    assert_string_equal(text, c.text);
    moevk_timings t;
    TU_OK(moevk_get_timings(g_model, &t));
    assert_int_equal(t.n_image_tokens, 6);
    assert_true(t.n_generated >= 1 && t.n_generated <= 12);
    /* one record per prompt token (image ones tagged) and per generated token fed back */
    size_t n = moevk_routing_count(g_model);
    /* generated tokens are recorded when fed back: all of them if an end-of-turn
     * token stopped generation, all but the last if n_predict did */
    assert_true(n == (size_t)t.n_prompt_tokens + (size_t)t.n_generated ||
                n + 1 == (size_t)t.n_prompt_tokens + (size_t)t.n_generated);
    int n_img = 0, n_prompt = 0, n_gen = 0;
    for (size_t i = 0; i < n; i++) {
        moevk_token_route r;
        int32_t ids[6];
        float w[6];
        TU_OK(moevk_routing_get(g_model, i, &r, ids, w, 6));
        assert_int_equal(r.pos, (int)i);
        if (r.kind == MOEVK_TOKEN_IMAGE) { n_img++; assert_int_equal(r.token, -1); }
        else if (r.kind == MOEVK_TOKEN_PROMPT) n_prompt++;
        else n_gen++;
        for (int l = 0; l < 3; l++) {
            assert_true(ids[2 * l] >= 0 && ids[2 * l] < 8);
            assert_true(ids[2 * l + 1] >= 0 && ids[2 * l + 1] < 8);
            assert_true(ids[2 * l] != ids[2 * l + 1]);
            assert_true(w[2 * l] >= w[2 * l + 1]);
            assert_float_equal(w[2 * l] + w[2 * l + 1], 1.0f, 1e-5);
        }
    }
    assert_int_equal(n_img, 6);
    assert_int_equal(n_prompt, t.n_prompt_tokens - 6);
    assert_int_equal(n_gen, (int)n - t.n_prompt_tokens);
    int32_t ids[6];
    assert_int_equal(moevk_routing_get(g_model, n, NULL, ids, NULL, 6), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_routing_get(g_model, 0, NULL, ids, NULL, 5), MOEVK_ERR_INVALID_ARG);
}

static void test_bad_images_keep_model_usable(void **state) {
    (void)state;
    moevk_gen_params p = moevk_gen_default_params();
    p.n_predict = 2;
    p.image_path = "/nonexistent/cat.png";
    moevk_status s = moevk_generate(g_model, &p);
    assert_true(s == MOEVK_ERR_IO || s == MOEVK_ERR_IMAGE);
    assert_non_null(strstr(moevk_last_error(), "/nonexistent/cat.png"));
    char path[] = "/tmp/moevk_badimg_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "wb");
    fputs("\x89PNG\r\n\x1a\nthis is not really a png", f);
    fclose(f);
    p.image_path = path;
    assert_int_equal(moevk_generate(g_model, &p), MOEVK_ERR_IMAGE);
    remove(path);
    /* the model still works */
    char img[4300];
    snprintf(img, sizeof img, "%s/image.png", g_dir);
    p.image_path = img;
    p.image_min_tokens = 1;
    TU_OK(moevk_generate(g_model, &p));
}

static void test_eval_argument_errors(void **state) {
    (void)state;
    int32_t tok[3] = {1, 2, 100000};
    moevk_eval_params e = {.tokens = tok, .n_tokens = 3};
    assert_int_equal(moevk_eval(g_model, &e), MOEVK_ERR_INVALID_ARG);
    assert_non_null(strstr(moevk_last_error(), "100000"));
    int32_t pads[3] = {299, 301, 300};
    e.tokens = pads; /* image-pad ids but no image */
    assert_int_equal(moevk_eval(g_model, &e), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_eval(g_model, NULL), MOEVK_ERR_INVALID_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_load_errors, need_model),
        cmocka_unit_test_setup(test_info, need_model),
        cmocka_unit_test_setup(test_generate_and_routing, need_model),
        cmocka_unit_test_setup(test_bad_images_keep_model_usable, need_model),
        cmocka_unit_test_setup(test_eval_argument_errors, need_model),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
