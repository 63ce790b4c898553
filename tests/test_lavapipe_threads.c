/* test_lavapipe_threads.c — the apps' lavapipe thread setting (app/common/lavapipe_threads.h): LP_NUM_THREADS=0
 * for model files up to MVK_APP_LP_INLINE_MAX_BYTES, unless the user set it; larger models, missing files and no
 * path leave the environment alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lavapipe_threads.h"

/* a file of `bytes` bytes (sparse: ftruncate) at a fresh temporary path written into path */
static void make_file(char *path, size_t cap, long long bytes) {
    snprintf(path, cap, "/tmp/moevk_lpt_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)bytes), 0);
    close(fd);
}

static void small_model_sets_zero(void **state) {
    (void)state;
    char a[64], b[64];
    make_file(a, sizeof a, 8 << 20);  /* the embedded model's size */
    make_file(b, sizeof b, 4 << 20);
    unsetenv("LP_NUM_THREADS");
    assert_int_equal(mvk_app_lavapipe_threads(a, b), 1);
    assert_non_null(getenv("LP_NUM_THREADS"));
    assert_string_equal(getenv("LP_NUM_THREADS"), "0");
    /* the limit itself is small: text + mmproj together */
    unsetenv("LP_NUM_THREADS");
    char c[64];
    make_file(c, sizeof c, MVK_APP_LP_INLINE_MAX_BYTES - (4 << 20));
    assert_int_equal(mvk_app_lavapipe_threads(c, b), 1);
    unlink(a);
    unlink(b);
    unlink(c);
    unsetenv("LP_NUM_THREADS");
}

static void large_model_keeps_threads(void **state) {
    (void)state;
    char a[64], b[64];
    make_file(a, sizeof a, MVK_APP_LP_INLINE_MAX_BYTES - (1 << 20));
    make_file(b, sizeof b, 2 << 20); /* together one MiB over the limit */
    unsetenv("LP_NUM_THREADS");
    assert_int_equal(mvk_app_lavapipe_threads(a, b), 0);
    assert_null(getenv("LP_NUM_THREADS"));
    unlink(a);
    unlink(b);
}

static void user_setting_and_bad_paths(void **state) {
    (void)state;
    char a[64];
    make_file(a, sizeof a, 1 << 20);
    setenv("LP_NUM_THREADS", "2", 1); /* the user's choice stands */
    assert_int_equal(mvk_app_lavapipe_threads(a, NULL), 0);
    assert_string_equal(getenv("LP_NUM_THREADS"), "2");
    unsetenv("LP_NUM_THREADS");
    assert_int_equal(mvk_app_lavapipe_threads(NULL, NULL), 0);
    assert_int_equal(mvk_app_lavapipe_threads("", NULL), 0);
    assert_int_equal(mvk_app_lavapipe_threads("/nonexistent/moevk/model.gguf", NULL), 0);
    assert_int_equal(mvk_app_lavapipe_threads("/tmp", NULL), 0); /* a directory is no model file */
    assert_null(getenv("LP_NUM_THREADS"));
    assert_int_equal(mvk_app_lavapipe_threads(a, "/nonexistent/mmproj.gguf"), 1); /* the text model alone counts */
    unsetenv("LP_NUM_THREADS");
    unlink(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_model_sets_zero),
        cmocka_unit_test(large_model_keeps_threads),
        cmocka_unit_test(user_setting_and_bad_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
