/* test_tokenizer.c — byte-level BPE + Qwen2 pre-tokenizer (engine/tokenizer.c)
 * on a small hand-made vocabulary, the streaming detokenizer, the GGUF entry
 * point, and the golden model's prompts.
 *
 * The hand-made vocabulary: ids 0..255 are the 256 byte tokens (id == byte
 * value, text = GPT-2 bytes_to_unicode(byte)), then merged tokens and
 * special tokens listed in k_extra. Every expected id list below was worked
 * out by hand from the regex and the merge ranks (comments show the
 * pre-tokens and merges); none was copied from the tokenizer's output. Many
 * merges exist only to make a wrong pre-token boundary visible: they would
 * fire if two pre-tokens were (wrongly) one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "test_util.h"
#include "tokenizer.h"
#include "unicode_flags.h"

/* ------------------------------------------------------------ vocabulary */

/* GPT-2 bytes_to_unicode, from its definition: bytes '!'..'~', 0xA1..0xAC,
 * 0xAE..0xFF map to themselves, the other 68 to U+0100, U+0101, ... in byte
 * order. */
static uint32_t b2u(int b) {
    int n = 0;
    for (int x = 0; x < 256; x++) {
        int keep = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
        if (x == b) return keep ? (uint32_t)x : 256u + (uint32_t)n;
        if (!keep) n++;
    }
    return 0;
}

static int put_utf8(char *o, uint32_t c) {
    if (c < 0x80) { o[0] = (char)c; return 1; }
    o[0] = (char)(0xC0 | (c >> 6));
    o[1] = (char)(0x80 | (c & 0x3F));
    return 2; /* all mapped code points are < 0x800 */
}

enum { ID_IM_START = 268, ID_IM_END = 269, ID_THINK = 270, ID_IM = 271, ID_PAD = 272 };

/* Merges in rank order (rank = index) and, for each, the id of its result
 * (-1: result deliberately absent from the vocabulary). Texts are in the
 * byte-level alphabet: Ġ = space, Ċ = \n, ĉ = \t, Ã© = é, Ù£ = ٣ (U+0663),
 * ãĢĢ = U+3000 (bytes E3 80 80). */
static const struct { const char *merge; int id; } k_merges[] = {
    {"h e", 256}, {"l l", 257}, {"he ll", 258}, {"hell o", 259},          /* r0-3 */
    {"Ġ w", 260}, {"o r", 261}, {"Ġw or", 262}, {"l d", 263},             /* r4-7 */
    {"Ġwor ld", 264}, {"b c", 265}, {"a b", 266}, {"a a", 267},           /* r8-11 */
    {"x y", -1},                                                           /* r12: "xy" not a token */
    {"t r", 273}, {"' t", 274}, {"T r", 275}, {"I '", 276}, {"' L", 277}, /* r13-17 */
    {"'L L", 278}, {"Ġ Ġ", 279}, {"Ġ b", 280}, {"ĉ a", 281},             /* r18-21 */
    {"Ġ !", 282}, {"! Ċ", 283}, {"Ù £", 284}, {"Ù£ Ù£", 285},             /* r22-25 */
    {"Ã ©", 286}, {"Ã© Ã©", 287}, {"x Ã©", 288}, {"ã Ģ", 289},            /* r26-29 */
    {"ãĢ Ģ", 290}, {"ãĢĢ ãĢĢ", 291}, {"1 2", 292}, {"Ċ Ġ", 293},          /* r30-33 */
};
#define N_MERGES ((int)(sizeof k_merges / sizeof k_merges[0]))
#define N_VOCAB 294

static char g_text[N_VOCAB][32];
static const char *g_tokens[N_VOCAB];
static int32_t g_types[N_VOCAB];
static const char *g_merge_text[N_MERGES];

static void set_tok(int id, const char *s, int type) {
    snprintf(g_text[id], sizeof g_text[id], "%s", s);
    g_types[id] = type;
}

/* Builds the vocabulary; merged tokens are the concatenation without the space. */
static mvk_tokenizer *make_tok(void) {
    for (int b = 0; b < 256; b++) {
        int n = put_utf8(g_text[b], b2u(b));
        g_text[b][n] = 0;
        g_types[b] = MVK_TOKEN_NORMAL;
    }
    for (int r = 0; r < N_MERGES; r++) {
        g_merge_text[r] = k_merges[r].merge;
        if (k_merges[r].id < 0) continue;
        char buf[32];
        const char *m = k_merges[r].merge;
        size_t o = 0;
        for (const char *p = m; *p; p++)
            if (*p != ' ') buf[o++] = *p;
        buf[o] = 0;
        set_tok(k_merges[r].id, buf, MVK_TOKEN_NORMAL);
    }
    set_tok(ID_IM_START, "<|im_start|>", MVK_TOKEN_CONTROL);
    set_tok(ID_IM_END, "<|im_end|>", MVK_TOKEN_CONTROL);
    set_tok(ID_THINK, "<think>", MVK_TOKEN_USER_DEFINED);
    set_tok(ID_IM, "<|im", MVK_TOKEN_CONTROL);
    set_tok(ID_PAD, "[PAD272]", MVK_TOKEN_UNUSED);
    for (int i = 0; i < N_VOCAB; i++) {
        assert_true(g_text[i][0] != 0); /* every id is defined */
        g_tokens[i] = g_text[i];
    }
    mvk_tokenizer_desc d = mvk_tokenizer_desc_default();
    d.n_tokens = N_VOCAB;
    d.tokens = g_tokens;
    d.token_types = g_types;
    d.n_merges = N_MERGES;
    d.merges = g_merge_text;
    d.eos_id = ID_IM_END;
    mvk_tokenizer *t = NULL;
    TU_OK(mvk_tokenizer_create(&d, &t));
    return t;
}

static mvk_tokenizer *g_tok;

static int setup(void **state) {
    (void)state;
    g_tok = make_tok();
    return g_tok ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    mvk_tokenizer_free(g_tok);
    return 0;
}

/* Tokenizes s and compares with the expected ids (terminated by -1). */
static void expect_ids(const char *s, unsigned flags, const int *want) {
    int32_t ids[256];
    size_t n = 0;
    TU_OK(mvk_tokenize(g_tok, s, strlen(s), flags, ids, 256, &n));
    size_t nw = 0;
    while (want[nw] >= 0) nw++;
    int same = n == nw;
    for (size_t i = 0; same && i < n; i++) same = ids[i] == want[i];
    if (!same) {
        char got[1024] = "", exp[1024] = "";
        for (size_t i = 0; i < n; i++) snprintf(got + strlen(got), sizeof got - strlen(got), " %d", (int)ids[i]);
        for (size_t i = 0; i < nw; i++) snprintf(exp + strlen(exp), sizeof exp - strlen(exp), " %d", want[i]);
        fail_msg("tokenize(\"%s\", flags %u):\n  got     [%s ]\n  expected[%s ]", s, flags, got, exp);
    }
}
#define EXPECT(s, flags, ...)                         \
    do {                                              \
        static const int w_[] = {__VA_ARGS__, -1};    \
        expect_ids(s, flags, w_);                     \
    } while (0)
#define EXPECT_EMPTY(s, flags)                        \
    do {                                              \
        static const int w_[] = {-1};                 \
        expect_ids(s, flags, w_);                     \
    } while (0)

/* ------------------------------------------------------------ tests */

static void byte_map_matches_gpt2(void **state) {
    (void)state;
    /* hand-checked anchors of bytes_to_unicode: ' ' -> Ġ U+0120, '\n' -> Ċ
     * U+010A, 0x00 -> Ā U+0100, 0x7F -> ġ U+0121, 0xAD -> Ń U+0143, 'A' -> A */
    assert_int_equal(b2u(' '), 0x120);
    assert_int_equal(b2u('\n'), 0x10A);
    assert_int_equal(b2u(0), 0x100);
    assert_int_equal(b2u(0x7F), 0x121);
    assert_int_equal(b2u(0xAD), 0x143);
    assert_int_equal(b2u('A'), 'A');
    /* the tokenizer uses the same alphabet: every single byte is its byte token */
    for (int b = 1; b < 256; b++) {
        if (b >= 0x80) continue; /* lone high bytes are invalid UTF-8 (U+FFFD) */
        char s[2] = {(char)b, 0};
        int32_t id;
        size_t n;
        TU_OK(mvk_tokenize(g_tok, s, 1, 0, &id, 1, &n));
        assert_int_equal(n, 1);
        assert_int_equal(id, b);
    }
}

static void unicode_table(void **state) {
    (void)state;
    /* facts from the Unicode Character Database (15.1, llama.cpp's version) */
    assert_int_equal(mvk_unicode_flags('a'), MVK_UC_LETTER);
    assert_int_equal(mvk_unicode_flags('7'), MVK_UC_NUMBER);
    assert_int_equal(mvk_unicode_flags('\t'), MVK_UC_WHITESPACE);
    assert_int_equal(mvk_unicode_flags('_'), 0);
    assert_int_equal(mvk_unicode_flags(0x1C), 0);          /* FS: not White_Space */
    assert_int_equal(mvk_unicode_flags(0x85), MVK_UC_WHITESPACE);   /* NEL */
    assert_int_equal(mvk_unicode_flags(0xA0), MVK_UC_WHITESPACE);   /* NBSP */
    assert_int_equal(mvk_unicode_flags(0x3000), MVK_UC_WHITESPACE); /* ideographic space */
    assert_int_equal(mvk_unicode_flags(0x200B), 0);        /* ZERO WIDTH SPACE is Cf */
    assert_int_equal(mvk_unicode_flags(0xFEFF), 0);        /* BOM is Cf, not White_Space */
    assert_int_equal(mvk_unicode_flags(0xE9), MVK_UC_LETTER);       /* é Ll */
    assert_int_equal(mvk_unicode_flags(0x301), MVK_UC_MARK);        /* combining acute: Mn */
    assert_int_equal(mvk_unicode_flags(0x93E), MVK_UC_MARK);        /* Devanagari vowel sign AA: Mc */
    assert_int_equal(mvk_unicode_flags(0x20DD), MVK_UC_MARK);       /* combining enclosing circle: Me */
    assert_int_equal(mvk_unicode_flags(0x663), MVK_UC_NUMBER);      /* Arabic-Indic 3: Nd */
    assert_int_equal(mvk_unicode_flags(0x2164), MVK_UC_NUMBER);     /* Roman numeral five: Nl */
    assert_int_equal(mvk_unicode_flags(0xBD), MVK_UC_NUMBER);       /* ½: No */
    assert_int_equal(mvk_unicode_flags(0x4E00), MVK_UC_LETTER);     /* CJK, a First/Last range */
    assert_int_equal(mvk_unicode_flags(0x9FFF), MVK_UC_LETTER);
    assert_int_equal(mvk_unicode_flags(0xAC00), MVK_UC_LETTER);     /* Hangul syllables range */
    assert_int_equal(mvk_unicode_flags(0xD7A3), MVK_UC_LETTER);
    assert_int_equal(mvk_unicode_flags(0xD7A4), 0);
    assert_int_equal(mvk_unicode_flags(0x20000), MVK_UC_LETTER);    /* CJK Ext. B */
    assert_int_equal(mvk_unicode_flags(0x2EBF0), MVK_UC_LETTER);    /* CJK Ext. I (15.1) */
    assert_int_equal(mvk_unicode_flags(0x2EE5D), MVK_UC_LETTER);
    assert_int_equal(mvk_unicode_flags(0x2EE5E), 0);
    assert_int_equal(mvk_unicode_flags(0x1F600), 0);       /* emoji: So */
    assert_int_equal(mvk_unicode_flags(0xD800), 0);        /* surrogate */
    assert_int_equal(mvk_unicode_flags(0x10FFFF), 0);
    assert_int_equal(mvk_unicode_flags(0x110000), 0);
}

static void merges_by_rank(void **state) {
    (void)state;
    EXPECT("hello", 0, 259);          /* h e -> he, l l -> ll, he ll -> hell, hell o */
    EXPECT("hello world", 0, 259, 264); /* "hello" | "Ġworld" */
    /* "abc": "b c" (rank 9) beats "a b" (rank 10) -> a + bc */
    EXPECT("abc", 0, 'a', 265);
    /* "aaa": one rank for both pairs, the leftmost merges first -> aa + a */
    EXPECT("aaa", 0, 267, 'a');
    EXPECT("aaaa", 0, 267, 267);
    /* "hellohello" is one pre-token; each half merges to hello */
    EXPECT("hellohello", 0, 259, 259);
}

static void byte_fallback(void **state) {
    (void)state;
    /* "x y" merges but "xy" is no token: one token per byte instead */
    EXPECT("xy", 0, 'x', 'y');
    /* é (C3 A9) and ٣ (D9 A3) without a full merge chain... é has one (Ã ©) */
    EXPECT("é", 0, 286);
    /* ü (C3 BC) has no merge: its two byte tokens */
    EXPECT("ü", 0, 0xC3, 0xBC);
    /* a 4-byte emoji with no merges: four byte tokens (F0 9F 98 80) */
    EXPECT("\xF0\x9F\x98\x80", 0, 0xF0, 0x9F, 0x98, 0x80);
    /* invalid UTF-8 byte 0xFF becomes U+FFFD (EF BF BD), as in llama.cpp */
    EXPECT("a\xFF", 0, 'a', 0xEF, 0xBF, 0xBD);
}

static void digits_split_singly(void **state) {
    (void)state;
    /* \p{N} takes one digit: "1 2" never merges across digits */
    EXPECT("12345", 0, '1', '2', '3', '4', '5');
    /* " 123": a space before a digit is its own \s+ pre-token */
    EXPECT(" 123", 0, ' ', '1', '2', '3');
    /* Arabic-Indic ٣ (U+0663, Nd) from the generated table: each digit alone,
     * so "Ù£ Ù£" (rank 25) never fires */
    EXPECT("x\xD9\xA3\xD9\xA3", 0, 'x', 284, 284);
    /* UNUSED token text is never special: [ | PAD | 2 | 7 | 2 | ] */
    EXPECT("[PAD272]", MVK_TOK_PARSE_SPECIAL, '[', 'P', 'A', 'D', '2', '7', '2', ']');
}

static void contractions(void **state) {
    (void)state;
    /* "x'tree": 'x' | "'t" | "ree". Had "'tree" been one pre-token, "t r"
     * (rank 13, before "' t") would give ' + tr + e e */
    EXPECT("x'tree", 0, 'x', 274, 'r', 'e', 'e');
    /* case-insensitive: "x'Tree" -> x | 'T | ree ("T r" must not fire) */
    EXPECT("x'Tree", 0, 'x', '\'', 'T', 'r', 'e', 'e');
    /* "I'LL" -> I | 'LL ("I '" must not fire; "' L", "'L L" do) */
    EXPECT("I'LL", 0, 'I', 278);
    /* "I'Lx" is no contraction: I | 'Lx via [^\r\n\p{L}\p{N}]?\p{L}+ */
    EXPECT("I'Lx", 0, 'I', 277, 'x');
    /* all seven forms; inside "'ll", "l l" (rank 1) merges */
    EXPECT("'s't're've'm'll'd", 0, '\'', 's', 274, '\'', 'r', 'e', '\'', 'v', 'e', '\'', 'm', '\'', 257, '\'', 'd');
}

static void whitespace_rules(void **state) {
    (void)state;
    /* \s+(?!\S): "a   b" -> a | "  " | " b" -> a, ĠĠ, Ġb */
    EXPECT("a   b", 0, 'a', 279, 280);
    /* a run at the end is taken whole by \s+: a | "   " -> ĠĠ, Ġ */
    EXPECT("a   ", 0, 'a', 279, ' ');
    /* \s*[\r\n]+ stops after the last newline: x | "\n" | " " | " y";
     * "Ċ Ġ" (rank 33) must not fire */
    EXPECT("x\n  y", 0, 'x', '\n', ' ', ' ', 'y');
    /* " \n\n" is one pre-token: a | " \n\n" | b */
    EXPECT("a \n\nb", 0, 'a', ' ', '\n', '\n', 'b');
    /* a tab prefixes letters: "\tax" is one pre-token -> ĉa, x */
    EXPECT("\tax", 0, 281, 'x');
    /* " ?[^\s\p{L}\p{N}]+[\r\n]*": " !!" is one pre-token -> Ġ!, ! */
    EXPECT(" !!", 0, 282, '!');
    /* "!!\n\n" keeps its newlines: a | "!!\n\n" | b -> !, !Ċ, Ċ */
    EXPECT("a!!\n\nb", 0, 'a', '!', 283, '\n', 'b');
    /* U+3000 is White_Space: a | U+3000 | U+3000 b  ("ãĢĢ ãĢĢ" must not fire) */
    EXPECT("a\xE3\x80\x80\xE3\x80\x80" "b", 0, 'a', 290, 290, 'b');
    /* é is a letter: "xé" is one pre-token -> "x Ã©" fires */
    EXPECT("x\xC3\xA9", 0, 288);
    EXPECT_EMPTY("", 0);
}

static void special_split(void **state) {
    (void)state;
    EXPECT("<|im_start|>hello<|im_end|>", MVK_TOK_PARSE_SPECIAL, ID_IM_START, 259, ID_IM_END);
    /* without parsing, CONTROL text is plain text: "<|" | "im" | "_start" | "|>" */
    EXPECT("<|im_start|>", 0, '<', '|', 'i', 'm', '_', 's', 't', 'a', 'r', 't', '|', '>');
    /* USER_DEFINED tokens are always recognised (llama.cpp does the same) */
    EXPECT("a<think>b", 0, 'a', ID_THINK, 'b');
    /* longest token first: "<|im_end|>" wins over its prefix "<|im" */
    EXPECT("<|im_end|>", MVK_TOK_PARSE_SPECIAL, ID_IM_END);
    EXPECT("<|im", MVK_TOK_PARSE_SPECIAL, ID_IM);
    EXPECT("<|im<|im_end|><|im", MVK_TOK_PARSE_SPECIAL, ID_IM, ID_IM_END, ID_IM);
    /* BPE runs on the pieces between specials, never across them */
    EXPECT("hel<|im_end|>lo", MVK_TOK_PARSE_SPECIAL, 256, 'l', ID_IM_END, 'l', 'o'); /* he l | l o */
    /* a word boundary at a special: " world" keeps its space */
    EXPECT("<|im_start|> world", MVK_TOK_PARSE_SPECIAL, ID_IM_START, 264);
}

static void buffer_too_small(void **state) {
    (void)state;
    int32_t ids[2] = {-7, -7};
    size_t n = 0;
    assert_int_equal(mvk_tokenize(g_tok, "12345", 5, 0, ids, 2, &n), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(n, 5);
    assert_int_equal(ids[0], '1');
    assert_int_equal(ids[1], '2');
    assert_non_null(strstr(moevk_last_error(), "need 5"));
    assert_true(mvk_tokenize_bound(5) >= 5);
}

static void vocab_queries(void **state) {
    (void)state;
    assert_int_equal(mvk_tokenizer_n_vocab(g_tok), N_VOCAB);
    assert_int_equal(mvk_tokenizer_find(g_tok, "hello", 5), 259);
    assert_int_equal(mvk_tokenizer_find(g_tok, "<think>", 7), ID_THINK);
    assert_int_equal(mvk_tokenizer_find(g_tok, "nope", 4), -1);
    assert_int_equal(mvk_tokenizer_token_type(g_tok, ID_IM_START), MVK_TOKEN_CONTROL);
    assert_int_equal(mvk_tokenizer_token_type(g_tok, N_VOCAB), -1);
    assert_true(mvk_tokenizer_is_eog(g_tok, ID_IM_END)); /* eos and <|im_end|> */
    assert_false(mvk_tokenizer_is_eog(g_tok, ID_IM_START));
    size_t len;
    const char *p = mvk_tokenizer_piece(g_tok, 264, 0, &len); /* Ġworld -> " world" */
    assert_int_equal(len, 6);
    assert_memory_equal(p, " world", 6);
    p = mvk_tokenizer_piece(g_tok, ID_IM_START, 0, &len);
    assert_int_equal(len, 0);
    p = mvk_tokenizer_piece(g_tok, ID_IM_START, 1, &len);
    assert_int_equal(len, 12);
    assert_memory_equal(p, "<|im_start|>", 12);
    mvk_tokenizer_piece(g_tok, ID_PAD, 1, &len); /* UNUSED renders as nothing */
    assert_int_equal(len, 0);
}

/* Pushes ids, concatenating the output; returns the text (static buffer). */
static const char *stream(mvk_detok *d, const int32_t *ids, int n, int flush, size_t *out_len) {
    static char acc[512];
    char buf[512];
    size_t o = 0, m;
    assert_true(mvk_detok_bound(g_tok) <= sizeof buf);
    for (int i = 0; i < n; i++) {
        TU_OK(mvk_detok_push(d, ids[i], buf, sizeof buf, &m));
        memcpy(acc + o, buf, m);
        o += m;
    }
    if (flush) {
        TU_OK(mvk_detok_flush(d, buf, sizeof buf, &m));
        memcpy(acc + o, buf, m);
        o += m;
    }
    *out_len = o;
    acc[o] = 0;
    return acc;
}

static void detok_split_multibyte(void **state) {
    (void)state;
    mvk_detok d;
    char buf[512];
    size_t m;
    mvk_detok_init(&d, g_tok, 0);
    /* é as two byte tokens: nothing after the first, the whole char after the second */
    TU_OK(mvk_detok_push(&d, 0xC3, buf, sizeof buf, &m));
    assert_int_equal(m, 0);
    TU_OK(mvk_detok_push(&d, 0xA9, buf, sizeof buf, &m));
    assert_int_equal(m, 2);
    assert_memory_equal(buf, "\xC3\xA9", 2);
    /* 😀 as 1 + 1 + 1 + 1 bytes */
    static const int32_t emoji[] = {0xF0, 0x9F, 0x98, 0x80};
    for (int i = 0; i < 3; i++) {
        TU_OK(mvk_detok_push(&d, emoji[i], buf, sizeof buf, &m));
        assert_int_equal(m, 0);
    }
    TU_OK(mvk_detok_push(&d, emoji[3], buf, sizeof buf, &m));
    assert_int_equal(m, 4);
    assert_memory_equal(buf, "\xF0\x9F\x98\x80", 4);
    /* text around: "hello" + " world" */
    size_t n;
    static const int32_t hw[] = {259, 264};
    const char *s = stream(&d, hw, 2, 1, &n);
    assert_string_equal(s, "hello world");
}

static void detok_invalid_and_flush(void **state) {
    (void)state;
    mvk_detok d;
    size_t n;
    /* a stray continuation byte -> U+FFFD */
    mvk_detok_init(&d, g_tok, 0);
    static const int32_t a[] = {0xA9, 'a'};
    assert_string_equal(stream(&d, a, 2, 1, &n), "\xEF\xBF\xBD" "a");
    /* a lead byte cut short by ASCII -> U+FFFD then the ASCII */
    mvk_detok_init(&d, g_tok, 0);
    static const int32_t b[] = {0xC3, 'a'};
    assert_string_equal(stream(&d, b, 2, 1, &n), "\xEF\xBF\xBD" "a");
    /* an incomplete tail is held back until flush, which gives U+FFFD */
    mvk_detok_init(&d, g_tok, 0);
    static const int32_t c[] = {'x', 0xE3, 0x80};
    assert_string_equal(stream(&d, c, 3, 0, &n), "x");
    char buf[512];
    size_t m;
    TU_OK(mvk_detok_flush(&d, buf, sizeof buf, &m));
    assert_int_equal(m, 3);
    assert_memory_equal(buf, "\xEF\xBF\xBD", 3);
    /* an overlong form (C0 80) is not a valid character */
    mvk_detok_init(&d, g_tok, 0);
    static const int32_t e[] = {0xC0, 0x80};
    assert_string_equal(stream(&d, e, 2, 1, &n), "\xEF\xBF\xBD");
    /* out-of-range id */
    assert_int_equal(mvk_detok_push(&d, N_VOCAB, buf, sizeof buf, &m), MOEVK_ERR_INVALID_ARG);
}

static void detok_special(void **state) {
    (void)state;
    mvk_detok d;
    size_t n;
    static const int32_t ids[] = {ID_IM_START, 259, ID_THINK, ID_IM_END};
    mvk_detok_init(&d, g_tok, 1);
    assert_string_equal(stream(&d, ids, 4, 1, &n), "<|im_start|>hello<think><|im_end|>");
    mvk_detok_init(&d, g_tok, 0); /* CONTROL skipped, USER_DEFINED kept */
    assert_string_equal(stream(&d, ids, 4, 1, &n), "hello<think>");
    /* a skipped special does not break a pending character */
    static const int32_t split[] = {0xC3, ID_IM_END, 0xA9};
    mvk_detok_init(&d, g_tok, 0);
    assert_string_equal(stream(&d, split, 3, 1, &n), "\xC3\xA9");
}

static void detokenize_round_trip(void **state) {
    (void)state;
    static const char *texts[] = {"hello world", "x'tree  \n\tab!!", "caf\xC3\xA9 \xF0\x9F\x98\x80 12", "<|im_start|>a"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        const char *s = texts[k];
        int32_t ids[128];
        size_t n, m;
        TU_OK(mvk_tokenize(g_tok, s, strlen(s), MVK_TOK_PARSE_SPECIAL, ids, 128, &n));
        char out[256];
        TU_OK(mvk_detokenize(g_tok, ids, n, 1, out, sizeof out, &m));
        assert_int_equal(m, strlen(s));
        assert_memory_equal(out, s, m);
    }
}

static void create_rejects_bad_input(void **state) {
    (void)state;
    mvk_tokenizer *t = (mvk_tokenizer *)1;
    mvk_tokenizer_desc d = mvk_tokenizer_desc_default();
    assert_int_equal(mvk_tokenizer_create(&d, &t), MOEVK_ERR_INVALID_ARG); /* empty */
    assert_null(t);
    static const char *toks[] = {"a", "b"};
    int32_t types[] = {1, 9};
    d.n_tokens = 2;
    d.tokens = toks;
    d.token_types = types;
    assert_int_equal(mvk_tokenizer_create(&d, &t), MOEVK_ERR_FORMAT);
    assert_non_null(strstr(moevk_last_error(), "token type 9"));
    types[1] = 1;
    d.eos_id = 2;
    assert_int_equal(mvk_tokenizer_create(&d, &t), MOEVK_ERR_FORMAT);
    assert_non_null(strstr(moevk_last_error(), "eos"));
    d.eos_id = -1;
    d.add_bos = 1;
    assert_int_equal(mvk_tokenizer_create(&d, &t), MOEVK_ERR_FORMAT);
    d.add_bos = 0;
    TU_OK(mvk_tokenizer_create(&d, &t));
    mvk_tokenizer_free(t);
    mvk_tokenizer_free(NULL);
}

static void tokens_typed_by_text(void **state) {
    (void)state;
    /* llama.cpp forces some texts to CONTROL (and end-of-generation) whatever
     * the stored type: "</s>" and "<|fim_pad|>" here are stored NORMAL */
    static const char *toks[] = {"x", "</s>", "<|fim_pad|>", "<|fim_prefix|>", "<", "/", "s", ">"};
    mvk_tokenizer_desc d = mvk_tokenizer_desc_default();
    d.n_tokens = 8;
    d.tokens = toks;
    mvk_tokenizer *t = NULL;
    TU_OK(mvk_tokenizer_create(&d, &t));
    assert_int_equal(mvk_tokenizer_token_type(t, 0), MVK_TOKEN_NORMAL);
    assert_int_equal(mvk_tokenizer_token_type(t, 1), MVK_TOKEN_CONTROL);
    assert_int_equal(mvk_tokenizer_token_type(t, 2), MVK_TOKEN_CONTROL);
    assert_int_equal(mvk_tokenizer_token_type(t, 3), MVK_TOKEN_CONTROL);
    assert_true(mvk_tokenizer_is_eog(t, 1));
    assert_true(mvk_tokenizer_is_eog(t, 2));
    assert_false(mvk_tokenizer_is_eog(t, 3)); /* FIM prefix: control, not an end */
    assert_false(mvk_tokenizer_is_eog(t, 0));
    int32_t ids[8];
    size_t n;
    /* parsed as one token only with special parsing; else "</" | "s" | ">" */
    TU_OK(mvk_tokenize(t, "x</s>", 5, MVK_TOK_PARSE_SPECIAL, ids, 8, &n));
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 1);
    TU_OK(mvk_tokenize(t, "x</s>", 5, 0, ids, 8, &n));
    assert_int_equal(n, 5);
    assert_int_equal(ids[1], 4);
    assert_int_equal(ids[2], 5);
    assert_int_equal(ids[3], 6);
    assert_int_equal(ids[4], 7);
    mvk_tokenizer_free(t);
}

/* ------------------------------------------------------------ GGUF */

/* A tiny GGUF v3 writer for metadata-only files. */
typedef struct gbuf { uint8_t b[4096]; size_t n; } gbuf;
static void g_raw(gbuf *g, const void *p, size_t n) {
    assert_true(g->n + n <= sizeof g->b);
    memcpy(g->b + g->n, p, n);
    g->n += n;
}
static void g_u32(gbuf *g, uint32_t v) { g_raw(g, &v, 4); } /* little-endian host */
static void g_u64(gbuf *g, uint64_t v) { g_raw(g, &v, 8); }
static void g_str(gbuf *g, const char *s) { g_u64(g, strlen(s)); g_raw(g, s, strlen(s)); }
static void g_kv_str(gbuf *g, const char *k, const char *v) { g_str(g, k); g_u32(g, GGUF_STRING); g_str(g, v); }
static void g_kv_arr_str(gbuf *g, const char *k, const char *const *v, int n) {
    g_str(g, k);
    g_u32(g, GGUF_ARRAY);
    g_u32(g, GGUF_STRING);
    g_u64(g, (uint64_t)n);
    for (int i = 0; i < n; i++) g_str(g, v[i]);
}

static moevk_status tok_from_gguf_with(const char *model, const char *pre, mvk_tokenizer **t) {
    static const char *toks[] = {"a", "b", "ab", "<|im_end|>"};
    static const char *merges[] = {"a b"};
    gbuf g = {{0}, 0};
    g_raw(&g, "GGUF", 4);
    g_u32(&g, 3);
    g_u64(&g, 0);
    g_u64(&g, 4);
    g_kv_str(&g, "tokenizer.ggml.model", model);
    g_kv_str(&g, "tokenizer.ggml.pre", pre);
    g_kv_arr_str(&g, "tokenizer.ggml.tokens", toks, 4);
    g_kv_arr_str(&g, "tokenizer.ggml.merges", merges, 1);
    gguf_file *f = NULL;
    moevk_status st = gguf_open_memory(g.b, g.n, &f);
    if (st == MOEVK_OK) st = mvk_tokenizer_from_gguf(f, t);
    gguf_close(f);
    return st;
}

static void gguf_checks_model_and_pre(void **state) {
    (void)state;
    mvk_tokenizer *t = NULL;
    TU_OK(tok_from_gguf_with("gpt2", "qwen2", &t));
    int32_t ids[4];
    size_t n;
    TU_OK(mvk_tokenize(t, "abba", 4, 0, ids, 4, &n)); /* one pre-token: ab, b, a */
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], 0);
    assert_int_equal(mvk_tokenizer_eos(t), -1);
    mvk_tokenizer_free(t);
    t = NULL;
    TU_OK(tok_from_gguf_with("gpt2", "qwen35", &t)); /* Qwen3.5's pre-tokenizer */
    mvk_tokenizer_free(t);
    t = NULL;
    TU_OK(tok_from_gguf_with("gemma4", "llama-bpe", &t)); /* Gemma 4's own model: tokenizer.ggml.pre is not read */
    mvk_tokenizer_free(t);
    t = NULL;
    assert_int_equal(tok_from_gguf_with("gpt2", "llama-bpe", &t), MOEVK_ERR_UNSUPPORTED);
    assert_null(t);
    assert_non_null(strstr(moevk_last_error(), "llama-bpe"));
    assert_int_equal(tok_from_gguf_with("llama", "qwen2", &t), MOEVK_ERR_UNSUPPORTED);
    assert_non_null(strstr(moevk_last_error(), "'llama'"));
}

/* The qwen35 pre-tokenizer: a combining mark (\p{M}) joins the letter run before it ([\p{L}\p{M}]+);
 * under qwen2 the run ends at it. Vocabulary: the 256 bytes and "x" + the first byte of U+0301
 * (CC 81), so the two splits give different ids. */
static void qwen35_marks_join_letter_runs(void **state) {
    (void)state;
    static char text[256][8];
    static const char *toks[257];
    for (int b = 0; b < 256; b++) {
        text[b][put_utf8(text[b], b2u(b))] = 0;
        toks[b] = text[b];
    }
    /* byte 0xCC is itself in GPT-2's byte alphabet: U+00CC, UTF-8 C3 8C */
    assert_string_equal(text[0xCC], "\xC3\x8C");
    toks[256] = "x\xC3\x8C";
    static const char merge[] = "x \xC3\x8C";
    const char *merges[1] = {merge};
    static const struct { const char *s; int pre_qwen35; int n; int32_t ids[6]; } cases[] = {
        {"x\xCC\x81", 0, 3, {'x', 0xCC, 0x81}},          /* qwen2: "x" | "\u0301" */
        {"x\xCC\x81", 1, 2, {256, 0x81}},                /* qwen35: "x\u0301", merged */
        {"ax\xCC\x81" "b", 1, 4, {'a', 256, 0x81, 'b'}}, /* one word: the merge happens inside it */
        {"ax\xCC\x81" "b", 0, 5, {'a', 'x', 0xCC, 0x81, 'b'}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mvk_tokenizer_desc d = mvk_tokenizer_desc_default();
        d.n_tokens = 257;
        d.tokens = toks;
        d.n_merges = 1;
        d.merges = merges;
        d.pre_qwen35 = cases[c].pre_qwen35;
        mvk_tokenizer *t = NULL;
        TU_OK(mvk_tokenizer_create(&d, &t));
        int32_t ids[16];
        size_t n = 0;
        TU_OK(mvk_tokenize(t, cases[c].s, strlen(cases[c].s), 0, ids, 16, &n));
        mvk_tokenizer_free(t);
        int same = (int)n == cases[c].n;
        for (size_t i = 0; same && i < n; i++) same = ids[i] == cases[c].ids[i];
        if (!same) fail_msg("case %zu (%s): %zu ids, first %d", c, cases[c].pre_qwen35 ? "qwen35" : "qwen2", n, n ? (int)ids[0] : -1);
    }
}

/* gemma4 (spm_bpe): spaces become U+2581, newline runs split the text (a run that is a token is taken
 * whole), merges run over raw UTF-8 characters, unknown characters fall back to <0xXX> tokens; pieces
 * turn U+2581 back into spaces. Expected ids worked out by hand from llama.cpp's rules
 * (llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_GEMMA4); tests/gemma4_tokenizer.sh checks llama.cpp itself. */
static void gemma4_spm_bpe(void **state) {
    (void)state;
    static const char *toks[] = {"a", "b", "\xE2\x96\x81", "\n", "\n\n", "\xE2\x96\x81" "b", "<0xC3>", "<0xA9>", "ab", "<bos>"};
    static const int32_t types[] = {MVK_TOKEN_NORMAL, MVK_TOKEN_NORMAL, MVK_TOKEN_NORMAL, MVK_TOKEN_NORMAL, MVK_TOKEN_NORMAL,
                                    MVK_TOKEN_NORMAL, MVK_TOKEN_BYTE,   MVK_TOKEN_BYTE,   MVK_TOKEN_NORMAL, MVK_TOKEN_CONTROL};
    static const char *merges[] = {"\xE2\x96\x81 b", "a b"};
    mvk_tokenizer_desc d = mvk_tokenizer_desc_default();
    d.n_tokens = 10;
    d.tokens = toks;
    d.token_types = types;
    d.n_merges = 2;
    d.merges = merges;
    d.spm_bpe = 1;
    d.bos_id = 9;
    d.add_bos = 1;
    mvk_tokenizer *t = NULL;
    TU_OK(mvk_tokenizer_create(&d, &t));
    static const struct { const char *s; int n; int32_t ids[6]; } cases[] = {
        {"a b", 2, {0, 5}},            /* "a▁b": ▁ merges with b */
        {"ab", 1, {8}},
        {"a\n\nb", 3, {0, 4, 1}},      /* the newline run is a token: whole */
        {"\n\n\n", 3, {3, 3, 3}},      /* a run that is not a token: BPE over its characters */
        {"\xC3\xA9", 2, {6, 7}},       /* é: no token, its bytes as <0xC3> <0xA9> */
        {" ", 1, {2}},
        {"b a", 3, {1, 2, 0}},         /* no "b ▁" or "▁ a" merge */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int32_t ids[16];
        size_t n = 0;
        TU_OK(mvk_tokenize(t, cases[c].s, strlen(cases[c].s), 0, ids, 16, &n));
        int same = (int)n == cases[c].n;
        for (size_t i = 0; same && i < n; i++) same = ids[i] == cases[c].ids[i];
        if (!same) fail_msg("gemma4 case %zu: %zu ids, first %d", c, n, n ? (int)ids[0] : -1);
    }
    int32_t ids[8];
    size_t n = 0;
    TU_OK(mvk_tokenize(t, "a b", 3, MVK_TOK_ADD_SPECIAL, ids, 8, &n));
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 9); /* <bos> */
    char out[32];
    size_t m = 0;
    const int32_t back[] = {0, 5, 4, 6, 7};
    TU_OK(mvk_detokenize(t, back, 5, 0, out, sizeof out, &m));
    assert_int_equal(m, 7);
    assert_memory_equal(out, "a b\n\n\xC3\xA9", 7);
    mvk_tokenizer_free(t);
}

/* ------------------------------------------------------------ goldens */

static void golden_prompts(void **state) {
    (void)state;
    const char *dir = tu_goldens_dir();
    if (!dir) {
        skip();
        return;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/qwen3vlmoe-tiny-a/text.gguf", dir);
    gguf_file *f = NULL;
    TU_OK(gguf_open(path, &f));
    mvk_tokenizer *t = NULL;
    TU_OK(mvk_tokenizer_from_gguf(f, &t));
    gguf_close(f);
    /* prompts from the golden set's README */
    static const char *text_prompt =
        "<|im_start|>user\nWhat is in the picture? Please answer the question in one short sentence."
        "<|im_end|>\n<|im_start|>assistant\n";
    static const char *mm_prompt =
        "<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|image_pad|><|image_pad|><|image_pad|>"
        "<|image_pad|><|vision_end|>Describe this image.<|im_end|>\n<|im_start|>assistant\n";
    const char *const prompts[2] = {text_prompt, mm_prompt};
    static const char *const files[2] = {"text_prompt_tokens.i32", "prompt_tokens.i32"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/qwen3vlmoe-tiny-a/%s", dir, files[k]);
        size_t bytes = 0;
        int32_t *want = tu_read_file(path, &bytes);
        assert_non_null(want);
        size_t nw = bytes / 4, n = 0;
        int32_t ids[256];
        TU_OK(mvk_tokenize(t, prompts[k], strlen(prompts[k]), MVK_TOK_PARSE_SPECIAL | MVK_TOK_ADD_SPECIAL, ids,
                           256, &n));
        assert_int_equal(n, nw);
        for (size_t i = 0; i < n; i++)
            if (ids[i] != want[i]) fail_msg("%s: id %zu is %d, golden %d", files[k], i, (int)ids[i], (int)want[i]);
        free(want);
    }
    mvk_tokenizer_free(t);
}

int main(void) {
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(byte_map_matches_gpt2),
        cmocka_unit_test(unicode_table),
        cmocka_unit_test(qwen35_marks_join_letter_runs),
        cmocka_unit_test(gemma4_spm_bpe),
        cmocka_unit_test(merges_by_rank),
        cmocka_unit_test(byte_fallback),
        cmocka_unit_test(digits_split_singly),
        cmocka_unit_test(contractions),
        cmocka_unit_test(whitespace_rules),
        cmocka_unit_test(special_split),
        cmocka_unit_test(buffer_too_small),
        cmocka_unit_test(vocab_queries),
        cmocka_unit_test(detok_split_multibyte),
        cmocka_unit_test(detok_invalid_and_flush),
        cmocka_unit_test(detok_special),
        cmocka_unit_test(detokenize_round_trip),
        cmocka_unit_test(create_rejects_bad_input),
        cmocka_unit_test(tokens_typed_by_text),
        cmocka_unit_test(gguf_checks_model_and_pre),
        cmocka_unit_test(golden_prompts),
    };
    return tu_exit(cmocka_run_group_tests(tests, setup, teardown));
}
