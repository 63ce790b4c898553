/* test_view_inputs.c — moevk-view's input parsers that need no window or camera:
 * camera frame conversion (app/view/camera_convert.c) and --script text
 * (app/view/script_parse.c). Regression cases for what tests/fuzz found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "camera_convert.h"
#include "script_parse.h"

// Converts a YUYV frame held in a buffer of exactly `used` bytes (so a read
// past it is caught by ASan); returns view_camera_convert's result.
static int convert_yuyv(int w, int h, int stride, size_t used, char *err, size_t err_cap) {
    uint8_t *frame = malloc(used ? used : 1);
    assert_non_null(frame);
    for (size_t i = 0; i < used; i++) frame[i] = (uint8_t)(i % 2 ? 128 : 100);
    view_frame_desc d = {VIEW_PIXFMT_YUYV, w, h, stride};
    view_image out;
    int ok = view_camera_convert(&d, frame, used, &out, "test", err, err_cap);
    if (ok) {
        assert_int_equal(out.w, w);
        assert_int_equal(out.h, h);
        view_image_free(&out);
    }
    free(frame);
    return ok;
}

// fuzz_camera, crash 1: 199x2 frame, stride 4, 8 bytes. The size check only
// compared used with stride*h, so a stride shorter than a row let the
// converter read 400 bytes a row out of an 8-byte frame.
static void yuyv_stride_shorter_than_row(void **state) {
    (void)state;
    char err[256] = "";
    assert_int_equal(convert_yuyv(199, 2, 4, 8, err, sizeof err), 0);
    assert_non_null(strstr(err, "stride"));
}

// An odd width reads whole Y0 U Y1 V pairs: the last pixel's pair needs 4 bytes.
static void yuyv_odd_width_needs_whole_pairs(void **state) {
    (void)state;
    char err[256] = "";
    assert_int_equal(convert_yuyv(3, 1, 6, 6, err, sizeof err), 0);   // 6 bytes: half a pair short
    assert_int_equal(convert_yuyv(3, 2, 8, 16, err, sizeof err), 1);  // 2 whole pairs a row
    assert_int_equal(convert_yuyv(3, 2, 8, 15, err, sizeof err), 0);  // last row short
    assert_non_null(strstr(err, "short"));
    // the last row needs only its pixels, not the padding after them
    assert_int_equal(convert_yuyv(4, 2, 12, 12 + 8, err, sizeof err), 1);
}

static void yuyv_bad_sizes(void **state) {
    (void)state;
    char err[256] = "";
    assert_int_equal(convert_yuyv(0, 2, 8, 64, err, sizeof err), 0);
    assert_int_equal(convert_yuyv(2, 0, 8, 64, err, sizeof err), 0);
    assert_int_equal(convert_yuyv(-2, 2, 8, 64, err, sizeof err), 0);
    assert_int_equal(convert_yuyv(2, 2, -8, 64, err, sizeof err), 0);
    // larger than any frame moevk-view takes: refused before allocating
    assert_int_equal(convert_yuyv(65534, 65535, 65535 * 2, 64, err, sizeof err), 0);
    assert_true(err[0] != 0);
}

static void mjpeg_garbage_fails_with_message(void **state) {
    (void)state;
    static const uint8_t junk[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0};
    view_frame_desc d = {VIEW_PIXFMT_MJPEG, 640, 480, 0};
    view_image out;
    char err[256] = "";
    assert_int_equal(view_camera_convert(&d, junk, sizeof junk, &out, "test", err, sizeof err), 0);
    assert_true(err[0] != 0);
    assert_null(out.rgb);
}

// fuzz_camera / fuzz_image, crash 2: an MJPEG frame whose Huffman table
// declares more than 256 codes (stb_image 2.27 writes past its arrays); made
// from tests/data/flat_21x11.jpg, as in tests/test_image.c. Also decoded as a file.
static void mjpeg_oversized_huffman_table_refused(void **state) {
    (void)state;
    const char *dir = getenv("MOEVK_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/flat_21x11.jpg", dir ? dir : ".");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t dht = 0;
    for (size_t i = 2; i + 21 < n && !dht; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xC4) dht = i;
    assert_true(dht > 0);
    view_frame_desc d = {VIEW_PIXFMT_MJPEG, 21, 11, 0};
    view_image out;
    char err[256] = "";
    assert_int_equal(view_camera_convert(&d, buf, n, &out, "test", err, sizeof err), 1);  // the file as it is
    view_image_free(&out);
    uint8_t orig_counts[16];
    memcpy(orig_counts, buf + dht + 5, 16);
    for (int k = 0; k < 16; k++) buf[dht + 5 + k] = 20;
    assert_int_equal(view_camera_convert(&d, buf, n, &out, "test", err, sizeof err), 0);
    assert_non_null(strstr(err, "Huffman"));
    assert_null(out.rgb);
    // fuzz_camera, crash 3: the same frame behind fill bytes (stb skips FFs before SOI)
    uint8_t filled[8192 + 24];
    memset(filled, 0xFF, 24);
    memcpy(filled + 24, buf, n);
    assert_int_equal(view_camera_convert(&d, filled, n + 24, &out, "test", err, sizeof err), 0);
    assert_non_null(strstr(err, "Huffman"));
    // fuzz_camera, timeout 1: a frame whose header says 32784x32 took seconds
    // to decode and downscale; camera frames are limited to VIEW_FRAME_MAX_SIDE
    uint8_t wide[8192];
    memcpy(wide, filled + 24, n);
    for (size_t i = 0; i + 9 < n; i++)
        if (wide[i] == 0xFF && wide[i + 1] == 0xC0) {  // SOF0: length, precision, height, width
            wide[i + 5] = 0, wide[i + 6] = 32, wide[i + 7] = 0x80, wide[i + 8] = 0x10;
            break;
        }
    // (the Huffman table was broken above: restore it, so only the size is wrong)
    for (int k = 0; k < 16; k++) wide[dht + 5 + k] = orig_counts[k];
    assert_int_equal(view_camera_convert(&d, wide, n, &out, "test", err, sizeof err), 0);
    assert_non_null(strstr(err, "too large"));
    // fuzz_camera, timeout 2: an "MJPEG" frame that was a TGA header claiming
    // thousands of pixels a side (52 s of CPU under ASan for 181 bytes): a
    // camera's MJPEG frame must be a JPEG, and at most VIEW_FRAME_MAX_PIXELS
    static const uint8_t tga[] = {0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x3F, 0xFF, 0x3F, 24, 0, 0xFF, 1, 2, 3};
    assert_int_equal(view_camera_convert(&d, tga, sizeof tga, &out, "test", err, sizeof err), 0);
    assert_non_null(strstr(err, "not a JPEG"));
    for (size_t i = 0; i + 9 < n; i++)
        if (wide[i] == 0xFF && wide[i + 1] == 0xC0) {  // 8192x8192: within the side limit, over the pixel limit
            wide[i + 5] = 0x20, wide[i + 6] = 0, wide[i + 7] = 0x20, wide[i + 8] = 0;
            break;
        }
    assert_int_equal(view_camera_convert(&d, wide, n, &out, "test", err, sizeof err), 0);
    assert_non_null(strstr(err, "too large"));
    char tmp[] = "/tmp/moevk-test-view-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    close(fd);
    int dw = 0, dh = 0;
    assert_int_equal(view_image_load(tmp, &out, err, sizeof err, &dw, &dh), 0);
    unlink(tmp);
    assert_non_null(strstr(err, "Huffman"));
}

// script.c read the text of "wait banner TEXT" / "expect banner TEXT" at
// rest + strlen("banner") + 1: one byte past the end of "expect banner".
static void script_words_stay_inside_the_line(void **state) {
    (void)state;
    const char *line = "expect banner";
    view_script_words w;
    view_script_split(line, &w);
    assert_string_equal(w.cmd, "expect");
    assert_string_equal(w.a1, "banner");
    assert_string_equal(w.a2, "");
    assert_ptr_equal(w.tail, line + strlen(line));
    view_script_split("wait  banner \t camera test: stopped", &w);
    assert_string_equal(w.a1, "banner");
    assert_string_equal(w.tail, "camera test: stopped");
    assert_string_equal(w.rest, "banner \t camera test: stopped");
    // a word longer than its buffer is cut, not split into the next word
    char longw[200];
    memset(longw, 'x', sizeof longw - 1);
    longw[sizeof longw - 1] = 0;
    view_script_split(longw, &w);
    assert_int_equal(strlen(w.cmd), sizeof w.cmd - 1);
    assert_string_equal(w.a1, "");
}

static void script_text_lines(void **state) {
    (void)state;
    setenv("TVI_X", "a b", 1);
    unsetenv("TVI_UNSET");
    static const char text[] = "  # comment only\n\nload ${TVI_X}.png  # trailing\r\nwait model 5\t\n${TVI_UNSET}x\n${unclosed\nquit";
    char *lines[8];
    int n = 0;
    char err[256];
    assert_int_equal(view_script_parse_text(text, sizeof text - 1, "t", lines, 8, &n, err, sizeof err), 1);
    assert_int_equal(n, 5);
    assert_string_equal(lines[0], "load a b.png");
    assert_string_equal(lines[1], "wait model 5");
    assert_string_equal(lines[2], "x");
    assert_string_equal(lines[3], "${unclosed");
    assert_string_equal(lines[4], "quit");
    for (int i = 0; i < n; i++) free(lines[i]);
    // too many commands: refused, nothing left allocated
    assert_int_equal(view_script_parse_text("a\nb\nc\n", 6, "t", lines, 2, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, "too long"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yuyv_stride_shorter_than_row),
        cmocka_unit_test(yuyv_odd_width_needs_whole_pairs),
        cmocka_unit_test(yuyv_bad_sizes),
        cmocka_unit_test(mjpeg_garbage_fails_with_message),
        cmocka_unit_test(mjpeg_oversized_huffman_table_refused),
        cmocka_unit_test(script_words_stay_inside_the_line),
        cmocka_unit_test(script_text_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
