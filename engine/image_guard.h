/* image_guard.h — refuses encoded images that Debian's stb_image 2.27 would
 * handle with undefined behaviour, before stb sees them. Each case was found
 * by tests/fuzz (fuzz_image, fuzz_camera) and has a regression test in
 * tests/test_image.c and tests/view/test_view_inputs.c:
 *
 *  1. JPEG: a DHT segment whose table declares more than 256 codes (the sum
 *     of its 16 counts): stbi__build_huffman then writes h->size[k++] and the
 *     table values past their 257- and 256-byte arrays (stb 2.28 checks this).
 *     The walk follows the marker structure as stb reads it: fill bytes
 *     before SOI and between segments, segments skipped by their length,
 *     entropy-coded data after SOS up to the next marker (FF followed by
 *     anything but 00 or RST0-7), every DHT table checked.
 *  2. PNM (P5/P6): a header number beyond INT_MAX: stbi__pnm_getinteger
 *     overflows a signed int (width, height or maxval).
 *  3. PNM with maxval > 255 (16-bit samples): stbi__pnm_load converts the
 *     channel count with the 8-bit stbi__convert_format on a 16-bit buffer,
 *     and stbi__convert_16_to_8 then reads past the smaller result.
 *
 * Header-only: engine/image.c and app/view/view_image.c (which has its own
 * stb copy) both include it. */
#ifndef MVK_IMAGE_GUARD_H
#define MVK_IMAGE_GUARD_H

#include <stddef.h>
#include <stdint.h>

static inline int mvk_jpeg_guard_ok(const uint8_t *d, size_t n, const char **why) {
    size_t i = 0;
    while (i < n && d[i] == 0xFF) i++;  // stb's marker reader skips fill bytes, even before SOI
    if (i == 0 || i >= n || d[i] != 0xD8) return 1;  // not a JPEG: nothing to check
    i++;
    while (i < n) {
        if (d[i] != 0xFF) {  // junk between segments (stb skips it after a scan)
            i++;
            continue;
        }
        while (i < n && d[i] == 0xFF) i++;  // fill bytes
        if (i >= n) break;
        uint8_t m = d[i++];
        if (m == 0xD8 || m == 0xD9 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) || m == 0x00) continue;  // no length
        if (i + 2 > n) break;
        size_t len = (size_t)d[i] << 8 | d[i + 1];
        size_t seg = i + 2, end = i + (len < 2 ? 2 : len);
        if (m == 0xC4) {  // DHT: tables of (class/id, 16 counts, values)
            size_t p = seg;
            while (p < end && p < n) {
                size_t codes = 0;
                for (size_t k = 0; k < 16; k++) codes += p + 1 + k < n ? d[p + 1 + k] : 0;
                if (codes > 256) {
                    if (why) *why = "corrupt JPEG: a Huffman table declares more than 256 codes";
                    return 0;
                }
                p += 17 + codes;
            }
        }
        i = end;
        if (m == 0xDA) {  // SOS: skip the entropy-coded data up to the next marker
            while (i + 1 < n && !(d[i] == 0xFF && d[i + 1] != 0x00 && !(d[i + 1] >= 0xD0 && d[i + 1] <= 0xD7))) i++;
        }
    }
    return 1;
}

static inline int mvk_pnm_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static inline int mvk_pnm_guard_ok(const uint8_t *d, size_t n, const char **why) {
    if (n < 2 || d[0] != 'P' || (d[1] != '5' && d[1] != '6')) return 1;
    size_t i = 2;
    for (int k = 0; k < 3; k++) {  // width, height, maxval, as stbi__pnm_info reads them
        for (;;) {
            while (i < n && mvk_pnm_space(d[i])) i++;
            if (i >= n || d[i] != '#') break;
            while (i < n && d[i] != '\n' && d[i] != '\r') i++;
        }
        int64_t v = 0;
        while (i < n && d[i] >= '0' && d[i] <= '9') {
            v = v * 10 + (d[i++] - '0');
            if (v > 0x7fffffff) {
                if (why) *why = "corrupt PNM: a header number does not fit 32 bits";
                return 0;
            }
        }
        if (k == 2 && v > 255) {  // 16-bit samples: stb 2.27 converts them with its 8-bit channel converter
            if (why) *why = "16-bit PNM (maxval above 255) is not supported";
            return 0;
        }
    }
    return 1;
}

/* 1 if d[0..n) may be given to stb_image (possibly to fail there cleanly);
 * 0 with a reason in *why if stb 2.27 would misbehave on it. */
static inline int mvk_image_guard_ok(const uint8_t *d, size_t n, const char **why) {
    return mvk_jpeg_guard_ok(d, n, why) && mvk_pnm_guard_ok(d, n, why);
}

#endif
