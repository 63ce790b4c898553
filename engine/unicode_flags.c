/* unicode_flags.c — lookup in the generated Unicode range table, and the
 * UTF-8 decoding rules the tokenizer shares with llama.cpp. */
#include "unicode_flags.h"

/* ASCII is by far the most common input: answer it without a search. */
static unsigned ascii_flags(uint32_t c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return MVK_UC_LETTER;
    if (c >= '0' && c <= '9') return MVK_UC_NUMBER;
    if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return MVK_UC_WHITESPACE;
    return 0;
}

unsigned mvk_unicode_flags(uint32_t cp) {
    if (cp < 0x80) return ascii_flags(cp);
    int lo = 0, hi = mvk_unicode_n_ranges - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const mvk_unicode_range *r = &mvk_unicode_ranges[mid];
        if (cp < r->first)
            hi = mid - 1;
        else if (cp > r->last)
            lo = mid + 1;
        else
            return r->flags;
    }
    return 0;
}

int mvk_utf8_seq_len(uint8_t b) {
    if (b < 0x80) return 1;
    if (!(b & 0x40)) return 0; /* 10xxxxxx: continuation */
    if (!(b & 0x20)) return 2;
    if (!(b & 0x10)) return 3;
    if (!(b & 0x08)) return 4;
    return 0;
}

int mvk_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp) {
    int n = mvk_utf8_seq_len(s[0]);
    if (n == 1) {
        *cp = s[0];
        return 1;
    }
    if (n == 0 || (size_t)n > len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
    }
    static const uint8_t lead_mask[5] = {0, 0, 0x1F, 0x0F, 0x07};
    uint32_t c = s[0] & lead_mask[n];
    for (int i = 1; i < n; i++) c = (c << 6) | (s[i] & 0x3F);
    *cp = c;
    return n;
}

int mvk_utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}
