/* jpeg_guard.h — refuses JPEG streams that Debian's stb_image 2.27 would
 * decode out of bounds, before stb sees them (found by tests/fuzz/fuzz_image):
 *
 *   a DHT segment whose table declares more than 256 codes (the sum of its 16
 *   counts): stbi__build_huffman then writes h->size[k++] and the table
 *   values past their 257- and 256-byte arrays (stb 2.28 added the check).
 *
 * The walk follows the marker structure the way stb reads it: segments are
 * skipped by their length, entropy-coded data after SOS up to the next marker
 * (FF followed by anything but 00 or RST0-7), and every DHT segment stb would
 * process is checked table by table. Header-only: engine/image.c and
 * app/view/view_image.c (its own stb copy) both include it. */
#ifndef MVK_JPEG_GUARD_H
#define MVK_JPEG_GUARD_H

#include <stddef.h>
#include <stdint.h>

/* 1 if d[0..n) is not a JPEG or is one stb can be given; 0 (and a reason in
 * *why) if it holds a table stb 2.27 would overflow on. */
static inline int mvk_jpeg_guard_ok(const uint8_t *d, size_t n, const char **why) {
    if (n < 2 || d[0] != 0xFF || d[1] != 0xD8) return 1;  // not a JPEG: nothing to check
    size_t i = 2;
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

#endif
