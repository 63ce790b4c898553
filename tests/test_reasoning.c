/* test_reasoning.c — the reasoning / answer split of generated text (engine/reasoning.c), driven as
 * chat.c's decode loop drives it, over scripted tokens. Expected texts are worked by hand from the
 * rule llama.cpp's chat parser follows (reasoning_content and content trimmed at their edges; the
 * tags themselves in neither). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "reasoning.h"
#include "test_util.h"

enum { OPEN = 1, CLOSE = 2, TEXT = 10 };

typedef struct run_out {
    char reasoning[256], answer[256];
    unsigned flags[32]; /* per fed token */
    int32_t fed[32];
    int n_fed;
    int n_tokens;
} run_out;

static void add(char *dst, const char *s, size_t n) {
    size_t l = strlen(dst);
    assert_true(l + n < 256);
    memcpy(dst + l, s, n);
    dst[l + n] = '\0';
}

/* Feeds script[] (tokens >= TEXT carry text[tok - TEXT]) as the decode loop does: a forced close
 * replaces the next scripted token, which comes after it. */
static void run(const char *label, int inside, int budget, const int32_t *script, int n, const char *const *text,
                run_out *o) {
    memset(o, 0, sizeof *o);
    mvk_reasoning r;
    mvk_reasoning_init(&r, OPEN, CLOSE, label, inside, budget);
    int i = 0;
    while (i < n || mvk_reasoning_forced(&r) >= 0) {
        int32_t tok = mvk_reasoning_forced(&r);
        if (tok < 0) tok = script[i++];
        const char *held, *out;
        size_t hn, on;
        assert_int_equal(mvk_reasoning_is_tag(&r, tok), tok == OPEN || tok == CLOSE);
        unsigned f = mvk_reasoning_step(&r, tok, &held, &hn);
        if (hn) {
            assert_int_equal(held[hn], '\0');
            add(o->reasoning, held, hn);
        }
        if (!(f & MVK_RS_TAG)) {
            const char *t = text[tok - TEXT];
            assert_int_equal(mvk_reasoning_filter(&r, t, strlen(t), &out, &on), MOEVK_OK);
            if (on) assert_int_equal(out[on], '\0');
            add(r.in ? o->reasoning : o->answer, out, on);
        }
        assert_true(o->n_fed < 32);
        o->fed[o->n_fed] = tok;
        o->flags[o->n_fed++] = f;
    }
    o->n_tokens = r.n_tokens;
    mvk_reasoning_free(&r);
}

static void thinking_on_starts_inside(void **state) {
    (void)state;
    /* Qwen3.5 with thinking on: the prompt ends in "<think>\n" */
    static const char *const t[] = {"\n", "Let", " me", " think", ".\n", "\n", "\n\n", "The", " answer", " "};
    const int32_t s[] = {TEXT + 0, TEXT + 1, TEXT + 2, TEXT + 3, TEXT + 4, TEXT + 5, CLOSE, TEXT + 6, TEXT + 7, TEXT + 8, TEXT + 9};
    run_out o;
    run(NULL, 1, -1, s, 11, t, &o);
    assert_string_equal(o.reasoning, "Let me think.");
    assert_string_equal(o.answer, "The answer "); /* the answer's end is the caller's (llama.cpp trims it at the end) */
    for (int i = 0; i < o.n_fed; i++) assert_int_equal((o.flags[i] & MVK_RS_REASONING) != 0, i <= 6);
    assert_int_equal(o.flags[6], MVK_RS_REASONING | MVK_RS_TAG);
    assert_int_equal(o.n_tokens, 7);
}

static void thinking_off_passes_text_through(void **state) {
    (void)state;
    static const char *const t[] = {" Hello", " w\xc3\xb6rld", "\n"};
    const int32_t s[] = {TEXT + 0, TEXT + 1, TEXT + 2};
    run_out o;
    run(NULL, 0, -1, s, 3, t, &o);
    assert_string_equal(o.reasoning, "");
    assert_string_equal(o.answer, " Hello w\xc3\xb6rld\n"); /* unchanged: no block, no edge */
    for (int i = 0; i < 3; i++) assert_int_equal(o.flags[i], 0);
    assert_int_equal(o.n_tokens, 0);
}

static void model_opens_a_labelled_block(void **state) {
    (void)state;
    /* Gemma 4 style: the model writes "<|channel>thought\n...<channel|>" itself */
    static const char *const t[] = {"Sure", "thou", "ght", "\n", "Hmm", " ok", " \n", " Yes"};
    const int32_t s[] = {TEXT + 0, OPEN, TEXT + 1, TEXT + 2, TEXT + 3, TEXT + 4, TEXT + 5, TEXT + 6, CLOSE, TEXT + 7};
    run_out o;
    run("thought\n", 0, -1, s, 10, t, &o);
    assert_string_equal(o.reasoning, "Hmm ok");
    assert_string_equal(o.answer, "SureYes");
    const unsigned want[] = {0, 3, 1, 1, 1, 1, 1, 1, 3, 0};
    for (int i = 0; i < 10; i++) assert_int_equal(o.flags[i], want[i]);
}

static void label_that_does_not_match_is_text(void **state) {
    (void)state;
    static const char *const t[] = {"tho", "rough", " work"};
    const int32_t s1[] = {OPEN, TEXT + 0, TEXT + 1, CLOSE, TEXT + 2};
    run_out o;
    run("thought\n", 0, -1, s1, 5, t, &o);
    assert_string_equal(o.reasoning, "thorough");
    assert_string_equal(o.answer, "work");
    /* a block closed while its head still looked like the label: the head is the reasoning */
    const int32_t s2[] = {OPEN, TEXT + 0, CLOSE, TEXT + 2};
    run("thought\n", 0, -1, s2, 4, t, &o);
    assert_string_equal(o.reasoning, "tho");
    assert_string_equal(o.answer, "work");
}

static void inner_whitespace_kept_edges_dropped(void **state) {
    (void)state;
    static const char *const t[] = {"  ", "a", " ", "\n", "b", "\n\n", "  c"};
    const int32_t s[] = {TEXT + 0, TEXT + 1, TEXT + 2, TEXT + 3, TEXT + 4, TEXT + 5, CLOSE, TEXT + 6};
    run_out o;
    run(NULL, 1, -1, s, 8, t, &o);
    assert_string_equal(o.reasoning, "a \nb");
    assert_string_equal(o.answer, "c");
}

static void budget_forces_the_close(void **state) {
    (void)state;
    static const char *const t[] = {"a", "b", "c", "d"};
    const int32_t s[] = {TEXT + 0, TEXT + 1, TEXT + 2, TEXT + 3};
    run_out o;
    run(NULL, 1, 2, s, 4, t, &o); /* two tokens of reasoning, then </think> is forced */
    assert_string_equal(o.reasoning, "ab");
    assert_string_equal(o.answer, "cd");
    assert_int_equal(o.fed[2], CLOSE);
    assert_int_equal(o.n_fed, 5);
    assert_int_equal(o.n_tokens, 3);
    run(NULL, 1, 0, s, 4, t, &o); /* 0: the block ends at once */
    assert_int_equal(o.fed[0], CLOSE);
    assert_string_equal(o.reasoning, "");
    assert_string_equal(o.answer, "abcd");
    assert_int_equal(o.n_tokens, 1);
    run(NULL, 0, 0, s, 4, t, &o); /* outside a block the budget forces nothing */
    assert_int_equal(o.n_fed, 4);
    assert_string_equal(o.answer, "abcd");
}

static void prompt_state_is_the_last_tag(void **state) {
    (void)state;
    const int32_t a[] = {5, OPEN, 7}, b[] = {OPEN, 7, CLOSE, 8}, c[] = {9};
    assert_int_equal(mvk_reasoning_prompt_state(a, 3, OPEN, CLOSE), 1);
    assert_int_equal(mvk_reasoning_prompt_state(b, 4, OPEN, CLOSE), 0);
    assert_int_equal(mvk_reasoning_prompt_state(c, 1, OPEN, CLOSE), 0);
    assert_int_equal(mvk_reasoning_prompt_state(a, 0, OPEN, CLOSE), 0);
    assert_int_equal(mvk_reasoning_prompt_state(a, 3, -1, -1), 0); /* no thinking mode */
    /* no tags at all: a starting-inside request without a close tag stays outside */
    mvk_reasoning r;
    mvk_reasoning_init(&r, -1, -1, NULL, 1, 0);
    assert_int_equal(r.in, 0);
    assert_int_equal(mvk_reasoning_forced(&r), -1);
    assert_int_equal(mvk_reasoning_is_tag(&r, -1), 0);
    mvk_reasoning_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thinking_on_starts_inside),
        cmocka_unit_test(thinking_off_passes_text_through),
        cmocka_unit_test(model_opens_a_labelled_block),
        cmocka_unit_test(label_that_does_not_match_is_text),
        cmocka_unit_test(inner_whitespace_kept_edges_dropped),
        cmocka_unit_test(budget_forces_the_close),
        cmocka_unit_test(prompt_state_is_the_last_tag),
    };
    return tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
