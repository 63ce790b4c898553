/* test_positions.c — M-RoPE positions (engine/positions.c) against the
 * golden prompt_positions.i32 (made by llama.cpp's mtmd rules) and
 * hand-worked cases from the spec (§4.8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "test_util.h"

static void test_matches_golden(void **state) {
    (void)state;
    const char *g = tu_goldens_dir();
    if (!g) skip();
    char p[4200];
    size_t nt = 0, np = 0;
    snprintf(p, sizeof p, "%s/qwen3vlmoe-tiny-a/prompt_tokens.i32", g);
    int32_t *tok = tu_read_file(p, &nt);
    snprintf(p, sizeof p, "%s/qwen3vlmoe-tiny-a/prompt_positions.i32", g);
    int32_t *ref = tu_read_file(p, &np);
    assert_non_null(tok);
    assert_non_null(ref);
    int n = (int)(nt / 4);
    assert_int_equal(np, (size_t)n * 16);
    int start = -1, len = 0;
    for (int i = 0; i < n; i++)
        if (tok[i] == 301) { /* <|image_pad|> in the golden vocabulary */
            if (start < 0) start = i;
            len++;
        }
    assert_int_equal(len, 6); /* 64x96 image: 2 rows x 3 columns of merged tokens */
    int32_t *pos = calloc((size_t)n * 4, sizeof *pos);
    int next = mvk_prompt_positions(n, start, 3, 2, 0, pos);
    assert_memory_equal(pos, ref, (size_t)n * 16);
    /* the last text token is at n - len + max(3, 2) - 1: the image consumes 3 positions, not 6 */
    assert_int_equal(next, n - len + 3);
    free(pos);
    free(tok);
    free(ref);
}

/* Spec §4.8: after 4 text tokens, a 32x24 merged grid; vision_end at 4 + 32. */
static void test_spec_worked_example(void **state) {
    (void)state;
    int nx = 32, ny = 24, n = 4 + nx * ny + 3;
    int32_t *pos = calloc((size_t)n * 4, sizeof *pos);
    mvk_prompt_positions(n, 4, nx, ny, 0, pos);
    int j = 4 + 5 * nx + 7; /* row 5, col 7 */
    assert_int_equal(pos[j], 4);
    assert_int_equal(pos[n + j], 4 + 5);
    assert_int_equal(pos[2 * n + j], 4 + 7);
    assert_int_equal(pos[3 * n + j], 0);
    int ve = 4 + nx * ny;
    assert_int_equal(pos[ve], 36);
    assert_int_equal(pos[n + ve], 36);
    assert_int_equal(pos[ve + 1], 37);
    free(pos);
}

static void test_text_only(void **state) {
    (void)state;
    int32_t pos[4 * 5];
    assert_int_equal(mvk_prompt_positions(5, -1, 0, 0, 10, pos), 15);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pos[i], 10 + i);
        assert_int_equal(pos[5 + i], 10 + i);
        assert_int_equal(pos[10 + i], 10 + i);
        assert_int_equal(pos[15 + i], 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_golden),
        cmocka_unit_test(test_spec_worked_example),
        cmocka_unit_test(test_text_only),
    };
    return tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
