/* test_session.c — conversations (moevk_chat_start / moevk_chat_turn) on the
 * golden model pair:
 *  - a follow-up does not re-encode the image and prefills only its own turn
 *    (timings), the KV cache holds exactly the recorded tokens;
 *  - the routing record covers the whole conversation, tagged by kind and turn;
 *  - two turns give the same greedy tokens and routing as one moevk_eval
 *    prefill of the same full token sequence;
 *  - CONTEXT_FULL names the context size and leaves the conversation usable;
 *  - several images: in one turn (in the order given, text before an image
 *    where it was added) and in a follow-up, each encoded once by its turn,
 *    its tokens tagged with its image; refusals add nothing;
 *  - bad calls get clear errors and change nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moevk.h"
#include "test_util.h"

static char g_text[4400], g_mmproj[4400], g_dir[4200], g_img[4400];
static moevk_model *g_model;

static int group_setup(void **state) {
    (void)state;
    const char *g = tu_goldens_dir();
    if (!g) return 0;
    snprintf(g_dir, sizeof g_dir, "%s/qwen3vlmoe-tiny-a", g);
    snprintf(g_text, sizeof g_text, "%s/text.gguf", g_dir);
    snprintf(g_mmproj, sizeof g_mmproj, "%s/mmproj.gguf", g_dir);
    snprintf(g_img, sizeof g_img, "%s/image.png", g_dir);
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

/* the start of every test: skips here, inside the test (cmocka counts a skip
 * in a setup function as a failure); tu_goldens_dir recorded a missing golden */
static void need_model(void) {
    if (!g_model) TU_SKIP_NA("the golden model is not loaded (see above)");
}

enum { L = 3, K = 2, S = L * K };

static int n_tokens_of(const char *text) {
    int32_t ids[1024];
    size_t n = 0;
    TU_OK(moevk_tokenize(g_model, text, 1, ids, 1024, &n));
    return (int)n;
}

/* tokens of a follow-up turn without the pending answer token */
static int followup_tokens(const char *q) {
    char buf[2048];
    snprintf(buf, sizeof buf, "<|im_end|>\n<|im_start|>user\n");
    int n = n_tokens_of(buf);
    int32_t ids[1024];
    size_t nq = 0;
    TU_OK(moevk_tokenize(g_model, q, 0, ids, 1024, &nq));
    return n + (int)nq + n_tokens_of("<|im_end|>\n<|im_start|>assistant\n");
}

static void start_image(moevk_model *m) {
    moevk_chat_params cp = moevk_chat_default_params();
    cp.image_path = g_img;
    cp.image_min_tokens = 1; /* the golden image is 64x96: 6 tokens at native size */
    TU_OK(moevk_chat_start(m, &cp));
}

static void ask(moevk_model *m, const char *q, int n_predict, moevk_timings *t) {
    moevk_gen_params gp = moevk_gen_default_params();
    gp.prompt = q;
    gp.n_predict = n_predict;
    TU_OK(moevk_chat_turn(m, &gp));
    TU_OK(moevk_get_timings(m, t));
}

/* generated tokens of a turn that were streamed but not fed back (0 or 1) */
static int pending_after(const moevk_timings *t, size_t count_before, size_t count_after) {
    int recorded_gen = (int)(count_after - count_before) - t->n_prompt_tokens;
    return t->n_generated - recorded_gen;
}

static void test_followup_reuses_cache(void **state) {
    (void)state;
    need_model();
    start_image(g_model);
    assert_int_equal(moevk_chat_turns(g_model), 0);
    moevk_timings t1, t2;
    ask(g_model, "What is this?", 5, &t1);
    size_t c1 = moevk_routing_count(g_model);
    assert_true(t1.image_encode_ms > 0.0);
    assert_int_equal(t1.n_image_tokens, 6);
    assert_int_equal(t1.image_nx, 3); /* 96 wide, 64 high: 3 x 2 merged 32x32 blocks */
    assert_int_equal(t1.image_ny, 2);
    assert_int_equal(t1.turn, 0);
    int p1 = pending_after(&t1, 0, c1);
    assert_true(p1 == 0 || p1 == 1);
    assert_int_equal(t1.n_ctx_used, (int)c1);
    assert_int_equal(moevk_chat_turns(g_model), 1);

    ask(g_model, "And the colour?", 5, &t2);
    size_t c2 = moevk_routing_count(g_model);
    assert_int_equal(t2.turn, 1);
    assert_true(t2.image_encode_ms == 0.0);
    assert_int_equal(t2.n_image_tokens, 0);
    /* only the new turn is prefilled (plus the pending answer token) */
    assert_int_equal(t2.n_prompt_tokens, followup_tokens("And the colour?") + p1);
    assert_int_equal(t2.n_ctx_used, (int)c2);
    assert_int_equal(t2.n_ctx_used, t1.n_ctx_used + t2.n_prompt_tokens + (int)(c2 - c1) - t2.n_prompt_tokens);
    assert_int_equal(moevk_chat_turns(g_model), 2);
}

static void test_routing_tags_per_turn(void **state) {
    (void)state;
    need_model();
    start_image(g_model);
    moevk_timings t[3];
    size_t c[4] = {0};
    const char *qs[3] = {"Describe it.", "Why?", "More."};
    for (int i = 0; i < 3; i++) {
        ask(g_model, qs[i], 4, &t[i]);
        c[i + 1] = moevk_routing_count(g_model);
    }
    for (int tr = 0; tr < 3; tr++) {
        int pend_prev = tr > 0 ? pending_after(&t[tr - 1], c[tr - 1], c[tr]) : 0;
        int n_img = 0, n_prompt = 0, n_gen = 0, seen_gen = 0;
        for (size_t i = c[tr]; i < c[tr + 1]; i++) {
            moevk_token_route r;
            int32_t ids[S];
            float w[S];
            TU_OK(moevk_routing_get(g_model, i, &r, ids, w, S));
            assert_int_equal(r.pos, (int)i);
            if (pend_prev && i == c[tr]) { /* the previous answer's last token, fed now */
                assert_int_equal(r.kind, MOEVK_TOKEN_GENERATED);
                assert_int_equal(r.turn, tr - 1);
                continue;
            }
            assert_int_equal(r.turn, tr);
            if (r.kind == MOEVK_TOKEN_IMAGE) {
                assert_int_equal(r.token, -1);
                assert_false(seen_gen);
                n_img++;
            } else if (r.kind == MOEVK_TOKEN_PROMPT) {
                assert_false(seen_gen); /* the question comes before the answer */
                n_prompt++;
            } else {
                seen_gen = 1;
                n_gen++;
            }
            for (int l = 0; l < L; l++) assert_float_equal(w[2 * l] + w[2 * l + 1], 1.0f, 1e-5);
        }
        assert_int_equal(n_img, tr == 0 ? 6 : 0); /* the image belongs to the first turn only */
        assert_int_equal(n_img + n_prompt + pend_prev, t[tr].n_prompt_tokens);
        assert_true(n_gen == t[tr].n_generated || n_gen + 1 == t[tr].n_generated);
    }
}

/* Two turns equal one prefill of the same tokens: the greedy answer of the
 * second turn and the routing of every token. */
/* The conversation so far (c1 tokens recorded before its last turn, t2 that
 * turn's timings) gives the same greedy tokens and routing as one moevk_eval
 * prefill of the very tokens it fed. Ends the conversation (eval). */
static void conversation_equals_one_prefill(size_t c1, moevk_timings t2) {
    size_t c2 = moevk_routing_count(g_model);
    size_t n_prompt_end = c1 + (size_t)t2.n_prompt_tokens; /* first generated token of turn 2 */
    size_t n_gen2 = c2 - n_prompt_end;
    assert_true(n_gen2 >= 1);
    int32_t pad = -1;
    {
        int32_t ids[4];
        size_t n = 0;
        TU_OK(moevk_tokenize(g_model, "<|image_pad|>", 1, ids, 4, &n));
        assert_int_equal(n, 1);
        pad = ids[0];
    }
    int32_t *tok = calloc(c2, sizeof *tok), *gen2 = calloc(c2, sizeof *gen2), *sid = calloc(c2 * S, sizeof *sid);
    float *sw = calloc(c2 * S, sizeof *sw);
    assert_true(tok && gen2 && sid && sw);
    for (size_t i = 0; i < c2; i++) {
        moevk_token_route r;
        TU_OK(moevk_routing_get(g_model, i, &r, sid + i * S, sw + i * S, S));
        tok[i] = r.kind == MOEVK_TOKEN_IMAGE ? pad : r.token;
        if (i >= n_prompt_end) gen2[i - n_prompt_end] = r.token;
    }
    size_t N = n_prompt_end;
    int32_t *eid = calloc((size_t)L * N * K, sizeof *eid), *greedy = calloc(n_gen2 + 1, sizeof *greedy);
    float *ew = calloc((size_t)L * N * K, sizeof *ew);
    assert_true(eid && ew && greedy);
    moevk_eval_params e = {.tokens = tok, .n_tokens = (int)N, .image_path = g_img, .image_min_tokens = 1,
                           .routing_ids = eid, .routing_weights = ew, .routing_cap = (size_t)L * N * K,
                           .n_greedy = (int)n_gen2, .greedy_tokens = greedy};
    TU_OK(moevk_eval(g_model, &e));
    assert_int_equal(e.n_image_tokens, 6);
    for (size_t i = 0; i < n_gen2; i++)
        if (greedy[i] != gen2[i]) fail_msg("greedy token %zu: one prefill gives %d, the conversation %d", i, greedy[i], gen2[i]);
    /* routing of every prompt token: same experts, weights within float noise
     * (batch shapes differ: one prefill of N rows vs turns and decode steps) */
    int mism = 0;
    double maxd = 0;
    for (size_t i = 0; i < N; i++)
        for (int l = 0; l < L; l++)
            for (int r = 0; r < K; r++) {
                int32_t a = sid[i * S + l * K + r], b = eid[((size_t)l * N + i) * K + r];
                float wa = sw[i * S + l * K + r], wb = ew[((size_t)l * N + i) * K + r];
                if (a != b) mism++;
                else if (fabs(wa - wb) > maxd) maxd = fabs(wa - wb);
            }
    if (mism) fail_msg("%d of %zu routing choices differ between the conversation and one prefill", mism, N * L * K);
    if (maxd > 1e-3) fail_msg("routing weights differ by up to %g", maxd);
    free(tok);
    free(gen2);
    free(sid);
    free(sw);
    free(eid);
    free(ew);
    free(greedy);
}

static void test_two_turns_equal_one_prefill(void **state) {
    (void)state;
    need_model();
    start_image(g_model);
    moevk_timings t1, t2;
    ask(g_model, "What is in the picture?", 6, &t1);
    size_t c1 = moevk_routing_count(g_model);
    ask(g_model, "Say more about it.", 6, &t2);
    conversation_equals_one_prefill(c1, t2);
    /* eval ended the conversation */
    moevk_gen_params gp = moevk_gen_default_params();
    gp.prompt = "more";
    assert_int_equal(moevk_chat_turn(g_model, &gp), MOEVK_ERR_INVALID_ARG);
    assert_non_null(strstr(moevk_last_error(), "moevk_chat_start"));
}

/* A client replaying a history (moevk_chat_add_turn with the answer it was
 * given): the replayed turn feeds exactly the tokens of the template rendered
 * with that answer, and the next turn continues from that state: the same
 * greedy tokens and routing as one prefill of everything fed. A system prompt
 * opens the first turn as the template renders it. */
static void test_replayed_history_equals_one_prefill(void **state) {
    (void)state;
    need_model();
    char a1[512];
    moevk_timings t;
    start_image(g_model);
    ask(g_model, "What is in the picture?", 6, &t);
    TU_OK(moevk_get_text(g_model, a1, sizeof a1, NULL));
    assert_true(a1[0] != 0);
    start_image(g_model);
    TU_OK(moevk_chat_add_turn(g_model, "What is in the picture?", a1));
    assert_int_equal(moevk_chat_turns(g_model), 1);
    TU_OK(moevk_get_timings(g_model, &t));
    assert_int_equal(t.n_generated, 0);
    assert_int_equal(t.n_image_tokens, 6);
    size_t c1 = moevk_routing_count(g_model);
    /* the rendered history: user turn with the image run, the answer as given */
    char text[1024];
    snprintf(text, sizeof text, "<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|image_pad|><|image_pad|>"
             "<|image_pad|><|image_pad|><|vision_end|>What is in the picture?<|im_end|>\n<|im_start|>assistant\n");
    int32_t want[1024];
    size_t nw = 0, na = 0;
    TU_OK(moevk_tokenize(g_model, text, 1, want, 1024, &nw));
    TU_OK(moevk_tokenize(g_model, a1, 0, want + nw, 1024 - nw, &na));
    assert_int_equal(c1, nw + na);
    for (size_t i = 0; i < c1; i++) {
        moevk_token_route r;
        int32_t ids[S];
        float w[S];
        TU_OK(moevk_routing_get(g_model, i, &r, ids, w, S));
        assert_true(r.kind != MOEVK_TOKEN_GENERATED);
        if (r.kind != MOEVK_TOKEN_IMAGE && r.token != want[i]) fail_msg("replayed token %zu is %d, the template gives %d", i, r.token, want[i]);
    }
    ask(g_model, "Say more about it.", 6, &t);
    conversation_equals_one_prefill(c1, t);
    /* a system prompt: its turn precedes the user turn */
    moevk_chat_params cp = moevk_chat_default_params();
    cp.system_prompt = "You are terse.";
    TU_OK(moevk_chat_start(g_model, &cp));
    ask(g_model, "Hi", 2, &t);
    int want_n = n_tokens_of("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    assert_int_equal(t.n_prompt_tokens, want_n);
    assert_int_equal(moevk_chat_add_turn(g_model, "q", NULL), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_chat_add_turn(g_model, "", "a"), MOEVK_ERR_INVALID_ARG);
}

static void test_context_full_keeps_conversation(void **state) {
    (void)state;
    need_model();
    moevk_model_params mp = moevk_model_default_params();
    mp.model_path = g_text;
    mp.mmproj_path = g_mmproj;
    mp.n_ctx = 96;
    moevk_model *m = NULL;
    TU_OK(moevk_model_load(&mp, &m));
    moevk_chat_params cp = moevk_chat_default_params();
    TU_OK(moevk_chat_start(m, &cp));
    moevk_timings t1, t;
    ask(m, "hi", 3, &t1);
    char longq[600];
    memset(longq, 'a', sizeof longq - 1);
    for (size_t i = 5; i < sizeof longq - 1; i += 6) longq[i] = ' ';
    longq[sizeof longq - 1] = '\0';
    size_t c1 = moevk_routing_count(m);
    moevk_gen_params gp = moevk_gen_default_params();
    gp.prompt = longq;
    gp.n_predict = 3;
    assert_int_equal(moevk_chat_turn(m, &gp), MOEVK_ERR_CONTEXT_FULL);
    assert_non_null(strstr(moevk_last_error(), "96"));
    /* nothing changed: same turns, same record; a short question still fits */
    assert_int_equal(moevk_chat_turns(m), 1);
    assert_int_equal(moevk_routing_count(m), c1);
    ask(m, "ok?", 3, &t);
    assert_int_equal(t.turn, 1);
    assert_int_equal(t.n_prompt_tokens, followup_tokens("ok?") + pending_after(&t1, 0, c1));
    /* an answer that fills the cache keeps its text; later turns report it; a new conversation works */
    gp.prompt = "go on";
    gp.n_predict = 1000;
    moevk_status s = moevk_chat_turn(m, &gp);
    assert_true(s == MOEVK_OK || s == MOEVK_ERR_CONTEXT_FULL);
    assert_true(moevk_routing_count(m) <= 96);
    gp.n_predict = 3;
    while ((s = moevk_chat_turn(m, &gp)) == MOEVK_OK) {}
    assert_int_equal(s, MOEVK_ERR_CONTEXT_FULL);
    assert_non_null(strstr(moevk_last_error(), "96"));
    TU_OK(moevk_chat_start(m, &cp));
    ask(m, "hi", 3, &t);
    assert_int_equal(t.turn, 0);
    assert_int_equal(t.n_ctx_used, t1.n_ctx_used);
    moevk_model_free(m);
}

static void test_bad_calls(void **state) {
    (void)state;
    need_model();
    moevk_gen_params gp = moevk_gen_default_params();
    gp.prompt = "hello";
    assert_int_equal(moevk_chat_turn(NULL, &gp), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_chat_start(g_model, NULL), MOEVK_ERR_INVALID_ARG);
    /* nothing to ask: no question and no image added (a pending image alone is a turn: test_several_images) */
    moevk_chat_params cp0 = moevk_chat_default_params();
    TU_OK(moevk_chat_start(g_model, &cp0));
    moevk_timings t;
    gp.prompt = "";
    assert_int_equal(moevk_chat_turn(g_model, &gp), MOEVK_ERR_INVALID_ARG);
    assert_non_null(strstr(moevk_last_error(), "empty"));
    gp.prompt = "  \n ";
    assert_int_equal(moevk_chat_turn(g_model, &gp), MOEVK_ERR_INVALID_ARG);
    start_image(g_model);
    gp.prompt = "what?";
    gp.image_path = g_img;
    assert_int_equal(moevk_chat_turn(g_model, &gp), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_chat_turns(g_model), 0);
    /* the conversation is still usable, the image still there */
    ask(g_model, "what?", 3, &t);
    assert_int_equal(t.n_image_tokens, 6);
    /* an unreadable image fails at the start and leaves no conversation */
    moevk_chat_params cp = moevk_chat_default_params();
    cp.image_path = "/nonexistent/cat.png";
    moevk_status s = moevk_chat_start(g_model, &cp);
    assert_true(s == MOEVK_ERR_IO || s == MOEVK_ERR_IMAGE);
    assert_non_null(strstr(moevk_last_error(), "/nonexistent/cat.png"));
    gp.image_path = NULL;
    assert_int_equal(moevk_chat_turn(g_model, &gp), MOEVK_ERR_INVALID_ARG);
    /* moevk_generate starts a conversation that a follow-up continues */
    moevk_gen_params g1 = moevk_gen_default_params();
    g1.image_path = g_img;
    g1.image_min_tokens = 1;
    g1.n_predict = 3;
    TU_OK(moevk_generate(g_model, &g1));
    assert_int_equal(moevk_chat_turns(g_model), 1);
    ask(g_model, "and?", 3, &t);
    assert_int_equal(t.turn, 1);
    assert_true(t.image_encode_ms == 0.0);
}

/* A 96x64 RGB picture (the golden image's size: 3 x 2 merged blocks) that is
 * not the golden image: a diagonal gradient, or its mirror. */
static uint8_t *synthetic_rgb(int mirror) {
    uint8_t *px = malloc(96 * 64 * 3);
    assert_non_null(px);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 96; x++) {
            int u = mirror ? 95 - x : x;
            uint8_t *p = px + (y * 96 + x) * 3;
            p[0] = (uint8_t)(u * 2 + y);
            p[1] = (uint8_t)(255 - y * 3);
            p[2] = (uint8_t)((u * y) & 255);
        }
    return px;
}

/* image tokens of routing records [from, to): count per image index; -1 for tokens that are not image tokens */
static void count_images(size_t from, size_t to, int *per_image, int max_images) {
    for (int i = 0; i < max_images; i++) per_image[i] = 0;
    for (size_t i = from; i < to; i++) {
        moevk_token_route r;
        TU_OK(moevk_routing_get(g_model, i, &r, NULL, NULL, 0));
        if (r.kind != MOEVK_TOKEN_IMAGE) {
            assert_int_equal(r.image, -1);
            continue;
        }
        assert_true(r.image >= 0 && r.image < max_images);
        per_image[r.image]++;
    }
}

static void test_several_images(void **state) {
    (void)state;
    need_model();
    uint8_t *b = synthetic_rgb(0), *b2 = synthetic_rgb(1);
    moevk_chat_image cb = {.image_rgb = b, .image_w = 96, .image_h = 64, .image_min_tokens = 1};
    moevk_chat_image cg = {.image_path = g_img, .image_min_tokens = 1};
    moevk_timings t;
    /* two images in the first turn: the golden one (chat_start), then the gradient */
    start_image(g_model);
    TU_OK(moevk_chat_add_image(g_model, &cb));
    assert_int_equal(moevk_chat_images(g_model), 0); /* added, not yet prefilled */
    ask(g_model, "Compare them.", 6, &t);
    assert_int_equal(t.n_images, 2);
    assert_int_equal(t.n_image_tokens, 12);
    assert_true(t.image_encode_ms > 0.0);
    assert_int_equal(moevk_chat_images(g_model), 2);
    int nx = 0, ny = 0;
    TU_OK(moevk_chat_image_grid(g_model, 1, &nx, &ny));
    assert_int_equal(nx, 3);
    assert_int_equal(ny, 2);
    assert_int_equal(moevk_chat_image_grid(g_model, 2, &nx, &ny), MOEVK_ERR_INVALID_ARG);
    int per[4];
    size_t c1 = moevk_routing_count(g_model);
    count_images(0, c1, per, 4);
    assert_int_equal(per[0], 6);
    assert_int_equal(per[1], 6);
    /* the prompt as the template renders it: both runs in order, then the question */
    {
        char text[1024];
        snprintf(text, sizeof text,
                 "<|im_start|>user\n<|vision_start|>%s<|vision_end|><|vision_start|>%s<|vision_end|>Compare them.<|im_end|>\n"
                 "<|im_start|>assistant\n", "<|image_pad|><|image_pad|><|image_pad|><|image_pad|><|image_pad|><|image_pad|>",
                 "<|image_pad|><|image_pad|><|image_pad|><|image_pad|><|image_pad|><|image_pad|>");
        int32_t want[256];
        size_t nw = 0;
        TU_OK(moevk_tokenize(g_model, text, 1, want, 256, &nw));
        assert_int_equal((int)nw, t.n_prompt_tokens);
        int seen_img = 0;
        for (size_t i = 0; i < nw; i++) {
            moevk_token_route r;
            TU_OK(moevk_routing_get(g_model, i, &r, NULL, NULL, 0));
            assert_int_equal(r.pos, (int)i);
            if (r.kind != MOEVK_TOKEN_IMAGE && r.token != want[i]) fail_msg("token %zu is %d, the template gives %d", i, r.token, want[i]);
            if (r.kind == MOEVK_TOKEN_IMAGE) assert_int_equal(r.image, seen_img++ < 6 ? 0 : 1);
        }
    }
    size_t n_ab = c1;
    int32_t *id_ab = calloc(n_ab * S, sizeof *id_ab);
    float *w_ab = calloc(n_ab * S, sizeof *w_ab);
    assert_true(id_ab && w_ab);
    for (size_t i = 0; i < n_ab; i++) TU_OK(moevk_routing_get(g_model, i, NULL, id_ab + i * S, w_ab + i * S, S));
    const size_t n_open = (size_t)n_tokens_of("<|im_start|>user\n");
    const size_t q0 = n_open + 1 + 6 + 2 + 6 + 1; /* the first token after the second image's run */

    /* a follow-up brings a third image: encoded by that turn alone, tagged image 2 */
    moevk_chat_image cb2 = cb;
    cb2.image_rgb = b2;
    TU_OK(moevk_chat_add_image(g_model, &cb2));
    ask(g_model, "And this one?", 4, &t);
    assert_int_equal(t.turn, 1);
    assert_int_equal(t.n_images, 1);
    assert_int_equal(t.n_image_tokens, 6);
    size_t c2 = moevk_routing_count(g_model);
    count_images(c1, c2, per, 4);
    assert_int_equal(per[0] + per[1], 0);
    assert_int_equal(per[2], 6);
    assert_int_equal(moevk_chat_images(g_model), 3);
    /* then a text-only follow-up encodes nothing */
    ask(g_model, "Thanks.", 2, &t);
    assert_int_equal(t.n_images, 0);
    assert_int_equal(t.image_encode_ms, 0.0);

    /* the second image's rows are its own: the same question after (golden, golden) routes differently */
    moevk_chat_params cp = moevk_chat_default_params();
    TU_OK(moevk_chat_start(g_model, &cp));
    TU_OK(moevk_chat_add_image(g_model, &cg));
    TU_OK(moevk_chat_add_image(g_model, &cg));
    ask(g_model, "Compare them.", 6, &t);
    assert_int_equal((size_t)t.n_prompt_tokens, (size_t)n_tokens_of("<|im_start|>user\n") + 16 + (size_t)n_tokens_of("Compare them.<|im_end|>\n<|im_start|>assistant\n"));
    double dq = 0;
    for (size_t i = q0; i < (size_t)t.n_prompt_tokens; i++) {
        int32_t ids[S];
        float w[S];
        TU_OK(moevk_routing_get(g_model, i, NULL, ids, w, S));
        for (int j = 0; j < S; j++) {
            if (ids[j] != id_ab[i * S + j]) dq = 1.0;
            else if (fabs(w[j] - w_ab[i * S + j]) > dq) dq = fabs(w[j] - w_ab[i * S + j]);
        }
    }
    if (dq < 1e-4) fail_msg("the question routes the same after (golden, gradient) and (golden, golden): max weight diff %g", dq);
    /* the first segment is what one image gives: the prefix up to the first run's end routes as with one image
     * (same experts, weights within float noise of a different batch shape) */
    TU_OK(moevk_chat_start(g_model, &cp));
    TU_OK(moevk_chat_add_image(g_model, &cg));
    ask(g_model, "Compare them.", 2, &t);
    for (size_t i = 0; i < n_open + 1 + 6 + 1; i++) {
        int32_t ids[S];
        float w[S];
        TU_OK(moevk_routing_get(g_model, i, NULL, ids, w, S));
        for (int j = 0; j < S; j++) {
            if (ids[j] != id_ab[i * S + j]) fail_msg("prefix token %zu: expert %d vs %d with two images", i, ids[j], id_ab[i * S + j]);
            if (fabs(w[j] - w_ab[i * S + j]) > 1e-3) fail_msg("prefix token %zu: weight %g vs %g", i, w[j], w_ab[i * S + j]);
        }
    }
    free(id_ab);
    free(w_ab);

    /* text added before an image stays before it; the question follows the image */
    TU_OK(moevk_chat_start(g_model, &cp));
    TU_OK(moevk_chat_add_text(g_model, "Look: "));
    TU_OK(moevk_chat_add_image(g_model, &cg));
    ask(g_model, "what?", 2, &t);
    {
        char text[512];
        snprintf(text, sizeof text, "<|im_start|>user\nLook: <|vision_start|>%s<|vision_end|>what?<|im_end|>\n<|im_start|>assistant\n",
                 "<|image_pad|><|image_pad|><|image_pad|><|image_pad|><|image_pad|><|image_pad|>");
        assert_int_equal(t.n_prompt_tokens, n_tokens_of(text));
    }
    /* a turn of parts alone (no question text) is allowed; nothing at all is not */
    TU_OK(moevk_chat_add_image(g_model, &cb));
    moevk_gen_params gp = moevk_gen_default_params();
    gp.prompt = NULL;
    gp.n_predict = 2;
    TU_OK(moevk_chat_turn(g_model, &gp));
    assert_int_equal(moevk_chat_turn(g_model, &gp), MOEVK_ERR_INVALID_ARG);

    /* refusals add nothing: an unreadable image, a bad size, no conversation */
    int turns = moevk_chat_turns(g_model);
    moevk_chat_image bad = {.image_path = "/nonexistent/dog.png"};
    moevk_status s = moevk_chat_add_image(g_model, &bad);
    assert_true(s == MOEVK_ERR_IO || s == MOEVK_ERR_IMAGE);
    assert_non_null(strstr(moevk_last_error(), "/nonexistent/dog.png"));
    moevk_chat_image badsz = {.image_rgb = b, .image_w = 0, .image_h = 64};
    assert_int_equal(moevk_chat_add_image(g_model, &badsz), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_chat_add_image(g_model, NULL), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_chat_add_text(g_model, NULL), MOEVK_ERR_INVALID_ARG);
    ask(g_model, "ok?", 2, &t);
    assert_int_equal(t.n_images, 0);
    assert_int_equal(moevk_chat_turns(g_model), turns + 1);
    free(b);
    free(b2);
}

/* An image that does not fit what is left of the context is CONTEXT_FULL and adds nothing. */
static void test_image_without_room(void **state) {
    (void)state;
    need_model();
    moevk_model_params mp = moevk_model_default_params();
    mp.model_path = g_text;
    mp.mmproj_path = g_mmproj;
    mp.n_ctx = 64;
    moevk_model *m = NULL;
    TU_OK(moevk_model_load(&mp, &m));
    moevk_chat_params cp = moevk_chat_default_params();
    cp.text_reserve = 40;
    TU_OK(moevk_chat_start(m, &cp));
    moevk_chat_image cg = {.image_path = g_img, .image_min_tokens = 1};
    TU_OK(moevk_chat_add_image(m, &cg)); /* 6 tokens: 64 - 40 leaves 24 */
    TU_OK(moevk_chat_add_image(m, &cg));
    TU_OK(moevk_chat_add_image(m, &cg));
    TU_OK(moevk_chat_add_image(m, &cg)); /* 24 used */
    assert_int_equal(moevk_chat_add_image(m, &cg), MOEVK_ERR_CONTEXT_FULL);
    assert_non_null(strstr(moevk_last_error(), "64"));
    moevk_timings t;
    moevk_gen_params gp = moevk_gen_default_params();
    gp.prompt = "hi";
    gp.n_predict = 2;
    TU_OK(moevk_chat_turn(m, &gp));
    TU_OK(moevk_get_timings(m, &t));
    assert_int_equal(t.n_images, 4);
    assert_int_equal(t.n_image_tokens, 24);
    moevk_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_followup_reuses_cache),
        cmocka_unit_test(test_routing_tags_per_turn),
        cmocka_unit_test(test_two_turns_equal_one_prefill),
        cmocka_unit_test(test_replayed_history_equals_one_prefill),
        cmocka_unit_test(test_context_full_keeps_conversation),
        cmocka_unit_test(test_bad_calls),
        cmocka_unit_test(test_several_images),
        cmocka_unit_test(test_image_without_room),
    };
    return tu_exit(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
