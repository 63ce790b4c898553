/* test_util.h — shared helpers for the cmocka tests.
 *
 * Device tests:
 *     static const struct CMUnitTest tests[] = {
 *         cmocka_unit_test_setup_teardown(test_x, tu_test_setup, tu_test_teardown), ...};
 *     return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
 * tu_group_setup creates one vk_ctx with the Khronos validation layer on; a
 * missing device skips the tests unless MOEVK_REQUIRE_DEVICE=1, which makes
 * it a failure. tu_test_teardown fails the test if the validation layer
 * reported anything during it. */
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
/* Contiguous tensor of type t holding `data` (raw bytes of that type; NULL leaves it zeroed). */
tu_tensor tu_upload(mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, const void *data);
/* F32 data converted on the host into type t (F16, BF16, Q8_0 quantised rows, F32). */
tu_tensor tu_upload_as(mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, const float *data);
void tu_download(const tu_tensor *x, void *out, uint64_t bytes);
void tu_free(tu_tensor *x);
/* Host copy of f32 data rounded through type t (what the device sees). */
void tu_round_through(mvk_type t, const float *src, float *dst, int64_t n);

/* Records fn into a fresh stream, submits, waits, asserts success. */
vk_stream *tu_begin(void);
void tu_end_submit(vk_stream *s);

/* Environment: the goldens directory, or NULL (prints a SKIP message). */
const char *tu_goldens_dir(void);
/* Reads a whole file into a malloc'ed buffer; NULL if missing. */
void *tu_read_file(const char *path, size_t *size);

/* Awkward sizes every op test must include: 1, 7, 33, 127 (+ tile+1 per op). */
extern const int64_t tu_awkward[4];

#endif
