/* unicode_flags.h — the Unicode properties the tokenizer's pre-tokenizer
 * needs (\p{L}, \p{N}, \s, \p{M}), and UTF-8 helpers.
 *
 * The range table is generated at build time by tools/gen_unicode_tables.c
 * from Debian's unicode-data files (UnicodeData.txt general categories,
 * PropList.txt White_Space, DerivedAge.txt) into <build>/unicode_tables.c,
 * at Unicode 15.1, the version of llama.cpp's own tables: for every code
 * point the three flags equal llama.cpp's (checked against the llama.cpp
 * bundled in node-llama-cpp 3.22.1). */
#ifndef MVK_UNICODE_FLAGS_H
#define MVK_UNICODE_FLAGS_H

#include <stddef.h>
#include <stdint.h>

enum {
    MVK_UC_LETTER = 1,     /* general category L* : \p{L} */
    MVK_UC_NUMBER = 2,     /* general category N* : \p{N} */
    MVK_UC_WHITESPACE = 4, /* White_Space property : \s */
    MVK_UC_MARK = 8,       /* general category M* : \p{M} (the qwen35 pre-tokenizer) */
};

typedef struct mvk_unicode_range {
    uint32_t first, last; /* inclusive */
    uint32_t flags;       /* MVK_UC_* bits */
} mvk_unicode_range;

/* Generated: sorted, non-overlapping ranges with nonzero flags. */
extern const mvk_unicode_range mvk_unicode_ranges[]; /* [mvk_unicode_n_ranges] */
extern const int mvk_unicode_n_ranges;

/* MVK_UC_* flags of a code point (0 for anything else, incl. > 0x10FFFF). */
unsigned mvk_unicode_flags(uint32_t cp);

/* Decodes one code point from s[0..len) (len >= 1) the way llama.cpp does:
 * structurally (lead byte + continuation bytes; overlong forms are accepted),
 * and an invalid or truncated sequence yields U+FFFD consuming one byte.
 * Returns the number of bytes consumed (1..4). */
int mvk_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/* Encodes cp as UTF-8 into out (4 bytes room); cp > 0x10FFFF becomes U+FFFD.
 * Returns the byte count. */
int mvk_utf8_encode(uint32_t cp, uint8_t out[4]);

/* Length of the UTF-8 sequence announced by lead byte b (1..4), or 0 if b is
 * a continuation byte or not a valid lead (0xF8..0xFF). */
int mvk_utf8_seq_len(uint8_t b);

#endif
