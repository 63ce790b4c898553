/* test_util.h — shared helpers for the cmocka tests.
 *
 * Device tests:
 *     static const struct CMUnitTest tests[] = {
 *         cmocka_unit_test_setup_teardown(test_x, tu_test_setup, tu_test_teardown), ...};
 *     return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
 * tu_group_setup creates one vk_ctx with the Khronos validation layer on; a
 * missing device ends the program with exit 77 (ctest: skipped) unless
 * MOEVK_REQUIRE_DEVICE=1, which makes it a failure. tu_test_teardown fails
 * the test if the validation layer reported anything during it.
 *
 * Skips: a skip is never a pass. Skip inside a test body (cmocka counts a
 * skip() in a setup function as a failure) with TU_SKIP_MISSING (an input the
 * repository does not carry, such as the goldens: a failure under CI=true) or
 * TU_SKIP_NA (the test does not apply to this device), and end main with
 *     return tu_exit(cmocka_run_group_tests(...));
 * which turns "passed, but something was skipped" into exit 77. */
#ifndef MOEVK_TEST_UTIL_H
#define MOEVK_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vk_backend.h"

extern vk_ctx *tu_vk; /* the shared context (NULL when skipping) */

int tu_group_setup(void **state);
int tu_group_teardown(void **state);
int tu_test_setup(void **state);    /* skips the test when there is no device */
int tu_test_teardown(void **state); /* fails on validation messages */

/* Asserts s == MOEVK_OK, printing moevk_last_error() otherwise. */
#define TU_OK(expr)                                                                                   \
    do {                                                                                              \
        moevk_status tu_s_ = (expr);                                                                  \
        if (tu_s_ != MOEVK_OK) fail_msg("%s -> %s: %s", #expr, moevk_status_str(tu_s_), moevk_last_error()); \
    } while (0)

/* Deterministic random numbers (xorshift), uniform in [lo, hi). */
void tu_seed(uint64_t seed);
float tu_randf(float lo, float hi);
void tu_fill(float *x, int64_t n, float lo, float hi);
void tu_fill_i32(int32_t *x, int64_t n, int32_t lo, int32_t hi_excl);

/* Normalised mean squared error Σ(a-b)²/Σa² (Σa² = 0 gives Σ(a-b)²). */
double tu_nmse(const float *ref, const float *got, int64_t n);
double tu_max_abs_diff(const float *a, const float *b, int64_t n);
/* Asserts nmse <= tol, printing the shape label and the first worst index. */
void tu_assert_nmse(const char *label, const float *ref, const float *got, int64_t n, double tol);

/* Device tensors from host data. Each tensor owns its buffer: free with tu_free. */
typedef struct tu_tensor {
    mvk_tensor t;
    vk_buffer *buf;
} tu_tensor;
/* Contiguous tensor of type t holding `data` (raw bytes of that type in the file layout,
 * repacked into the device layout for quantised types; NULL leaves it zeroed). */
tu_tensor tu_upload(mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, const void *data);
/* F32 data converted on the host into type t (F16, BF16, Q8_0 quantised rows, F32). */
tu_tensor tu_upload_as(mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, const float *data);
void tu_download(const tu_tensor *x, void *out, uint64_t bytes);
/* F32 tensor [ne0][ne1][ne2][ne3] whose rows are `pad` floats longer than ne0
 * (pad 0: contiguous), as a strided view; holds x (contiguous host data; NULL:
 * no data) and TU_PAD_SENTINEL in every padding float and, without x, in the
 * values too. */
#define TU_PAD_SENTINEL 12345.0f
tu_tensor tu_upload_padded(const float *x, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, int64_t pad);
/* Downloads such a view's ne0 x rows values into out (contiguous) and fails
 * the test if the padding lost its sentinel (an op wrote past a row). */
void tu_download_padded(const tu_tensor *t, float *out, int64_t ne0, int64_t rows, int64_t pad);
void tu_free(tu_tensor *x);
/* Host-visible I32 tensor [n], mapped at *map: parameters a recorded stream
 * reads at each replay (KV length, positions). Free with tu_free. */
tu_tensor tu_host_i32(int64_t n, int32_t **map);
/* Host copy of f32 data rounded through type t (what the device sees). */
void tu_round_through(mvk_type t, const float *src, float *dst, int64_t n);

/* Bad-input checks. tu_shape gives a zero-filled contiguous tensor that
 * tu_bad_end frees; TU_REFUSES asserts that a call returns `want` and, when
 * needle is not NULL, that moevk_last_error() mentions it (any call with a
 * status, not only ops). A refused call
 * records nothing: tu_bad_end asserts that the stream holds no dispatch,
 * then submits it and frees every tu_shape tensor.
 *     vk_stream *s = tu_begin();
 *     mvk_tensor *x = tu_shape(MVK_TYPE_F32, 65, 3, 1, 1), ...;
 *     TU_REFUSES(vk_op_matmul(s, y, x, w, NULL), MOEVK_ERR_SHAPE, "K=65");
 *     tu_bad_end(s); */
mvk_tensor *tu_shape(mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
void tu_bad_end(vk_stream *s);
#define TU_REFUSES(expr, want, needle) tu_refuses_((expr), (want), (needle), #expr)
void tu_refuses_(moevk_status got, moevk_status want, const char *needle, const char *expr);

/* Records fn into a fresh stream, submits, waits, asserts success. */
vk_stream *tu_begin(void);
void tu_end_submit(vk_stream *s);

/* Records a skip and prints "SKIP: <why>"; for inputs (tu_missing) CI=true
 * turns it into a failure. Use through the macros, inside a test body. */
void tu_note_skip(int missing_input, const char *fmt, ...);
#define TU_SKIP_MISSING(...)        \
    do {                            \
        tu_note_skip(1, __VA_ARGS__); \
        skip();                     \
    } while (0)
#define TU_SKIP_NA(...)             \
    do {                            \
        tu_note_skip(0, __VA_ARGS__); \
        skip();                     \
    } while (0)
/* main's exit code: cmocka's (failures) if nonzero, else 77 if any test was skipped, else 0. */
int tu_exit(int cmocka_rc);
int tu_in_ci(void); /* CI=true */

/* Environment: the goldens directory, or NULL after recording a skip (under
 * CI=true a missing goldens directory fails the calling test). Call it in a
 * test body and skip() when it returns NULL. */
const char *tu_goldens_dir(void);
/* The embedded model (assets/models/moevk-tiny{,-mmproj}.gguf under
 * MOEVK_SOURCE_DIR): writes both paths, returns 0 when either is missing. */
int tu_embedded_model(char *text, size_t text_cap, char *mmproj, size_t mmproj_cap);
/* Reads a whole file into a malloc'ed buffer (NUL-terminated, *size excludes the NUL); NULL if missing. */
void *tu_read_file(const char *path, size_t *size);

/* Awkward sizes every op test must include: 1, 7, 33, 127 (+ tile+1 per op). */
extern const int64_t tu_awkward[4];

#endif
