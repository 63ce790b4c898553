/* fuzz_tokenizer.c — libFuzzer harness: arbitrary bytes through the embedded
 * model's tokenizer (assets/models/moevk-tiny.gguf, or $MOEVK_FUZZ_VOCAB), with
 * special-token parsing on or off (first byte), then back through the whole
 * and the streaming detokenizer. Checks: every id is in the vocabulary; the
 * two decoders agree; without special parsing, text that is valid UTF-8
 * comes back byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer.h"

#ifndef MOEVK_FUZZ_DEFAULT_VOCAB
#define MOEVK_FUZZ_DEFAULT_VOCAB "assets/models/moevk-tiny.gguf"
#endif

static mvk_tokenizer *tok;
static gguf_file *vocab_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *path = getenv("MOEVK_FUZZ_VOCAB");
    if (!path || !path[0]) path = MOEVK_FUZZ_DEFAULT_VOCAB;
    if (gguf_open(path, &vocab_file) != MOEVK_OK || mvk_tokenizer_from_gguf(vocab_file, &tok) != MOEVK_OK) {
        fprintf(stderr, "fuzz_tokenizer: cannot read the vocabulary of %s: %s\n", path, moevk_last_error());
        exit(1);
    }
    return 0;
}

// 1 if s[0..n) is valid UTF-8 (shortest forms, no surrogates, <= U+10FFFF).
static int valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) k = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) k = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) k = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned flags = (data[0] & 1 ? MVK_TOK_PARSE_SPECIAL : 0) | (data[0] & 2 ? MVK_TOK_ADD_SPECIAL : 0);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    size_t cap = mvk_tokenize_bound(len), n = 0;
    int32_t *ids = malloc((cap ? cap : 1) * sizeof *ids);
    if (!ids) return 0;
    if (mvk_tokenize(tok, text, len, flags, ids, cap, &n) != MOEVK_OK || n > cap) __builtin_trap();
    int32_t nv = mvk_tokenizer_n_vocab(tok);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= nv) __builtin_trap();
    // a buffer one id short must be refused
    if (n > 0) {
        size_t n2 = 0;
        if (mvk_tokenize(tok, text, len, flags, ids, n - 1, &n2) != MOEVK_ERR_INVALID_ARG || n2 != n) __builtin_trap();
    }
    int special = (flags & MVK_TOK_PARSE_SPECIAL) != 0;
    size_t out_cap = n * mvk_tokenizer_max_piece(tok) * 3 + 16, out_n = 0;
    char *out = malloc(out_cap), *stream = malloc(out_cap);
    size_t bound = mvk_detok_bound(tok);
    char *piece = malloc(bound);
    if (out && stream && piece) {
        if (mvk_detokenize(tok, ids, n, special, out, out_cap, &out_n) != MOEVK_OK) __builtin_trap();
        mvk_detok d;
        mvk_detok_init(&d, tok, special);
        size_t sn = 0, m = 0;
        for (size_t i = 0; i < n; i++) {
            if (mvk_detok_push(&d, ids[i], piece, bound, &m) != MOEVK_OK || sn + m > out_cap) __builtin_trap();
            memcpy(stream + sn, piece, m), sn += m;
        }
        if (mvk_detok_flush(&d, piece, bound, &m) != MOEVK_OK || sn + m > out_cap) __builtin_trap();
        memcpy(stream + sn, piece, m), sn += m;
        if (sn != out_n || memcmp(stream, out, sn)) __builtin_trap();  // streaming == whole-sequence decode
        if (!special && !(flags & MVK_TOK_ADD_SPECIAL) && valid_utf8((const uint8_t *)text, len) && (out_n != len || memcmp(out, text, len)))
            __builtin_trap();  // round trip
    }
    free(out);
    free(stream);
    free(piece);
    free(ids);
    return 0;
}
