/* tokenizer.h — byte-level BPE (GPT-2 style) with the Qwen2 pre-tokenizer (or Qwen3.5's, which differs in \p{M}),
 * as llama.cpp runs it for `tokenizer.ggml.model = "gpt2"`,
 * `tokenizer.ggml.pre = "qwen2"` (spec docs: qwen3vl-moe.md §1.3, §5.3-5.4).
 *
 *     mvk_tokenizer *tok = NULL;
 *     MVK_TRY(mvk_tokenizer_from_gguf(gguf, &tok));
 *     size_t cap = mvk_tokenize_bound(len), n = 0;
 *     int32_t *ids = malloc(cap * sizeof *ids);
 *     MVK_TRY(mvk_tokenize(tok, text, len, MVK_TOK_PARSE_SPECIAL, ids, cap, &n));
 *     ...
 *     mvk_detok d;  mvk_detok_init(&d, tok, 1);       // streaming decode
 *     char buf[...mvk_detok_bound(tok)];  size_t m;
 *     for each id: mvk_detok_push(&d, id, buf, sizeof buf, &m); emit(buf, m);
 *     mvk_detok_flush(&d, buf, sizeof buf, &m); emit(buf, m);
 *     mvk_tokenizer_free(tok);
 *
 * Tokenization, in llama.cpp's order:
 *  1. Special split: the texts of CONTROL (3), USER_DEFINED (4) and UNKNOWN
 *     (2) tokens are cut out of the text, longest token text first, each
 *     occurrence left to right, and emitted as their ids. CONTROL and UNKNOWN
 *     tokens are only recognised with MVK_TOK_PARSE_SPECIAL; USER_DEFINED
 *     ones (e.g. `<think>`) always are (llama.cpp does the same).
 *     As llama.cpp does at load, some tokens are typed by their text
 *     whatever the file says: end-of-generation and FIM texts (</s>,
 *     <|im_end|>, <|fim_pad|>, ...) become CONTROL (see text_rule() in
 *     tokenizer.c); in Qwen's vocabulary that makes "</s>" (128247) CONTROL.
 *  2. Each remaining piece is decoded to code points (invalid UTF-8 bytes
 *     become U+FFFD, as in llama.cpp) and split by the Qwen2 regex
 *       (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])
 *       |[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*
 *       |\s*[\r\n]+|\s+(?!\S)|\s+
 *     implemented by hand; \p{L}, \p{N} and \s (White_Space) come from
 *     tables generated at build time from the Unicode Character Database at
 *     llama.cpp's version, 15.1 (engine/unicode_flags.h).
 *  3. Each word's UTF-8 bytes are mapped through GPT-2's bytes_to_unicode.
 *  4. BPE: repeatedly merge the adjacent pair with the lowest merge rank
 *     (leftmost on ties); look each final symbol up in the vocabulary. A
 *     symbol that is not a token falls back to one token per byte (per
 *     mapped character); bytes without a token are dropped (llama.cpp drops
 *     them too; it only looks up single-byte strings, we look up the mapped
 *     character, which only differs for vocabularies lacking merge results).
 * No Unicode normalisation is applied (llama.cpp applies none; HF applies NFC
 * first, so the two agree on NFC input only).
 *
 * A mvk_tokenizer is immutable after creation; every function taking a const
 * tokenizer may be called from several threads at once. */
#ifndef MVK_TOKENIZER_H
#define MVK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "moevk.h"

typedef struct mvk_tokenizer mvk_tokenizer;
struct gguf_file;

/* llama.cpp / GGUF token types (tokenizer.ggml.token_type). */
enum {
    MVK_TOKEN_UNDEFINED = 0,
    MVK_TOKEN_NORMAL = 1,
    MVK_TOKEN_UNKNOWN = 2,
    MVK_TOKEN_CONTROL = 3,
    MVK_TOKEN_USER_DEFINED = 4,
    MVK_TOKEN_UNUSED = 5,
    MVK_TOKEN_BYTE = 6,
};

/* Everything a tokenizer is built from; all arrays are copied. */
typedef struct mvk_tokenizer_desc {
    int32_t n_tokens;                 /* vocabulary size, 1 .. 2^26 */
    const char *const *tokens;        /* [n_tokens] token texts (byte-level mapped for NORMAL tokens) */
    const size_t *token_lens;         /* [n_tokens] byte lengths; NULL: tokens are NUL-terminated */
    const int32_t *token_types;       /* [n_tokens] MVK_TOKEN_*; NULL: all NORMAL */
    int32_t n_merges;                 /* 0 .. 2^26 */
    const char *const *merges;        /* [n_merges] "left right", rank = index */
    const size_t *merge_lens;         /* [n_merges]; NULL: NUL-terminated */
    int32_t bos_id, eos_id, pad_id;   /* -1: none */
    int add_bos, add_eos;             /* prepend BOS / append EOS with MVK_TOK_ADD_SPECIAL */
    int pre_qwen35;                   /* 1: the qwen35 pre-tokenizer (combining marks \p{M} join letter runs); 0: qwen2 */
    int spm_bpe;                      /* 1: gemma4 (tokenizer.ggml.model = gemma4): spaces escaped to U+2581, the text
                                         split only into newline / non-newline runs, merges over raw UTF-8 characters,
                                         <0xXX> byte fallback; pieces unescape U+2581. Overrides pre_qwen35 */
} mvk_tokenizer_desc;

/* A desc with no arrays, ids -1, no BOS/EOS adding. */
mvk_tokenizer_desc mvk_tokenizer_desc_default(void);

/* Builds a tokenizer. MOEVK_ERR_INVALID_ARG for a NULL/negative field,
 * MOEVK_ERR_FORMAT for a bad token type or a special id outside the
 * vocabulary. On failure *out is NULL. */
moevk_status mvk_tokenizer_create(const mvk_tokenizer_desc *d, mvk_tokenizer **out);

/* Reads the tokenizer.ggml.* keys of a GGUF (see qwen3vl-moe.md §1.3).
 * MOEVK_ERR_UNSUPPORTED if tokenizer.ggml.model is not "gpt2" or
 * tokenizer.ggml.pre is neither "qwen2" nor "qwen35" (the message names the value);
 * MOEVK_ERR_FORMAT for missing or malformed keys. */
moevk_status mvk_tokenizer_from_gguf(const struct gguf_file *f, mvk_tokenizer **out);

void mvk_tokenizer_free(mvk_tokenizer *t); /* accepts NULL */

/* ------------------------------------------------------------ encoding */

enum {
    MVK_TOK_PARSE_SPECIAL = 1, /* recognise CONTROL token texts like <|im_start|> */
    MVK_TOK_ADD_SPECIAL = 2,   /* add BOS/EOS if the model asks for it (add_bos/add_eos) */
};

/* An upper bound on the ids mvk_tokenize produces for len bytes of text. */
size_t mvk_tokenize_bound(size_t len);

/* Tokenizes text[0..len) (any bytes; need not be NUL-terminated). Writes at
 * most cap ids to out and the full count to *n_out; if that exceeds cap the
 * result is MOEVK_ERR_INVALID_ARG ("need N ids") and out holds the first cap. */
moevk_status mvk_tokenize(const mvk_tokenizer *t, const char *text, size_t len, unsigned flags,
                          int32_t *out, size_t cap, size_t *n_out);

/* ------------------------------------------------------------ vocabulary */

int32_t mvk_tokenizer_n_vocab(const mvk_tokenizer *t);
int32_t mvk_tokenizer_bos(const mvk_tokenizer *t); /* -1 if none */
int32_t mvk_tokenizer_eos(const mvk_tokenizer *t);
int32_t mvk_tokenizer_pad(const mvk_tokenizer *t);
/* 1 for end-of-generation tokens: the EOS id and, as in llama.cpp, tokens
 * recognised by their text (<|im_end|>, <|endoftext|>, </s>, <|eot_id|>,
 * <|end|>, <end_of_turn>, <|fim_pad|>, <|repo_name|>, <|file_sep|>, ...). */
int mvk_tokenizer_is_eog(const mvk_tokenizer *t, int32_t id);
/* Token type (MVK_TOKEN_*), -1 for an id out of range. */
int mvk_tokenizer_token_type(const mvk_tokenizer *t, int32_t id);
/* Raw vocabulary text of id (not NUL-terminated), NULL if out of range. */
const char *mvk_tokenizer_token_text(const mvk_tokenizer *t, int32_t id, size_t *len);
/* Id whose vocabulary text is exactly s[0..len), or -1. */
int32_t mvk_tokenizer_find(const mvk_tokenizer *t, const char *s, size_t len);

/* The bytes a token stands for (not NUL-terminated, may be a partial UTF-8
 * character): NORMAL tokens byte-decoded, USER_DEFINED tokens as is,
 * CONTROL/UNKNOWN tokens their text if special is nonzero else empty,
 * UNUSED/UNDEFINED empty. NULL (with *len 0) if id is out of range. */
const char *mvk_tokenizer_piece(const mvk_tokenizer *t, int32_t id, int special, size_t *len);

/* Longest piece in bytes (for sizing buffers). */
size_t mvk_tokenizer_max_piece(const mvk_tokenizer *t);

/* Whole-sequence decode into out (cap bytes); replaces invalid UTF-8 with
 * U+FFFD like the streaming decoder. *n_out gets the full length; if it
 * exceeds cap: MOEVK_ERR_INVALID_ARG and out holds a prefix. Not
 * NUL-terminated. */
moevk_status mvk_detokenize(const mvk_tokenizer *t, const int32_t *ids, size_t n, int special,
                            char *out, size_t cap, size_t *n_out);

/* ------------------------------------------------------------ streaming decode */

/* Incremental detokenizer: emits only whole, valid UTF-8 characters. Bytes of
 * a character split across tokens wait in the decoder until it completes;
 * malformed sequences (and an incomplete tail at flush) become U+FFFD. */
typedef struct mvk_detok {
    const mvk_tokenizer *tok;
    int special;         /* render CONTROL tokens as their text (else skip them) */
    uint8_t pend[4];     /* [n_pend] bytes of an incomplete character */
    int n_pend;
    int need;            /* length of the pending character */
} mvk_detok;

void mvk_detok_init(mvk_detok *d, const mvk_tokenizer *t, int special);
/* Bytes one push or flush can write at most. */
size_t mvk_detok_bound(const mvk_tokenizer *t);
/* Feeds one token; writes the completed text to out[0..*n_out). cap must be
 * at least mvk_detok_bound() (else MOEVK_ERR_INVALID_ARG, nothing consumed).
 * An id out of range gives MOEVK_ERR_INVALID_ARG. */
moevk_status mvk_detok_push(mvk_detok *d, int32_t id, char *out, size_t cap, size_t *n_out);
/* Ends the stream: an incomplete pending character becomes U+FFFD. */
moevk_status mvk_detok_flush(mvk_detok *d, char *out, size_t cap, size_t *n_out);

#endif
