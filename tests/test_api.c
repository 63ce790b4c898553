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

/* eval without a logits buffer computes only the last row (a [n][n_vocab]
 * buffer is GBs at real sizes); the greedy tokens must not change */
static void test_eval_greedy_without_logits(void **state) {
    (void)state;
    int32_t tok[5] = {1, 17, 42, 5, 9};
    int32_t g1[4] = {-1, -1, -1, -1}, g2[4] = {-2, -2, -2, -2};
    float *lg = malloc(5 * 302 * sizeof *lg);
    assert_non_null(lg);
    moevk_eval_params e = {.tokens = tok, .n_tokens = 5, .logits = lg, .logits_cap = 5 * 302, .n_greedy = 4, .greedy_tokens = g1};
    TU_OK(moevk_eval(g_model, &e));
    moevk_eval_params e2 = {.tokens = tok, .n_tokens = 5, .n_greedy = 4, .greedy_tokens = g2};
    TU_OK(moevk_eval(g_model, &e2));
    int best = 0;
    for (int v = 1; v < 302; v++)
        if (lg[4 * 302 + v] > lg[4 * 302 + best]) best = v;
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
    (void)state;
    moevk_gen_params p = moevk_gen_default_params();
    p.prompt = "hello";
    p.n_predict = 8;
    collect c = {0};
    p.on_token = stop_first;
    p.user = &c;
    TU_OK(moevk_generate(g_model, &p));
    assert_true(c.calls <= 1);
    char text[4096];
    size_t len = 0;
    TU_OK(moevk_get_text(g_model, text, sizeof text, &len));
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
    (void)state;
    moevk_model_params mp = moevk_model_default_params();
    mp.model_path = g_text;
    mp.mmproj_path = g_mmproj;
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
    (void)state;
    moevk_model_params mp = moevk_model_default_params();
    mp.model_path = g_text;
    mp.mmproj_path = g_mmproj;
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_load_errors, need_model),
        cmocka_unit_test_setup(test_info, need_model),
        cmocka_unit_test_setup(test_generate_and_routing, need_model),
        cmocka_unit_test_setup(test_bad_images_keep_model_usable, need_model),
        cmocka_unit_test_setup(test_eval_argument_errors, need_model),
        cmocka_unit_test_setup(test_eval_greedy_without_logits, need_model),
        cmocka_unit_test_setup(test_stop_from_callback, need_model),
        cmocka_unit_test_setup(test_progress_and_cancel, need_model),
        cmocka_unit_test_setup(test_context_full, need_model),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
