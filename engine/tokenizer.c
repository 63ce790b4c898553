/* tokenizer.c — byte-level BPE with the Qwen2 / Qwen3.5 pre-tokenizer, and Gemma 4's SentencePiece-style BPE
 * over raw UTF-8 (see tokenizer.h). */
#include "tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "mvk_status.h"
#include "unicode_flags.h"

struct mvk_tokenizer {
    int32_t n_vocab;
    char *text;               /* arena: token texts, then merge texts, then pieces */
    size_t *tok_off;          /* [n_vocab] offset of the token text in text */
    uint32_t *tok_len;        /* [n_vocab] */
    uint8_t *tok_type;        /* [n_vocab] MVK_TOKEN_* */
    size_t *piece_off;        /* [n_vocab] offset of the decoded piece in text */
    uint32_t *piece_len;      /* [n_vocab] */
    uint8_t *eog;             /* [n_vocab] end-of-generation flag */
    uint32_t *vocab_ht;       /* [vocab_mask+1] open addressing: id+1, 0 empty */
    uint32_t vocab_mask;

    int32_t n_merges;
    size_t *mrg_off;          /* [n_merges] offset of "left right" in text */
    uint32_t *mrg_len;        /* [n_merges] */
    uint32_t *mrg_split;      /* [n_merges] index of the separating space */
    uint32_t *merge_ht;       /* [merge_mask+1] rank+1, 0 empty */
    uint32_t merge_mask;

    int32_t n_special;
    int32_t *special;         /* [n_special] CONTROL/USER_DEFINED/UNKNOWN ids, longest text first */

    int32_t bos, eos, pad;
    int add_bos, add_eos;
    size_t max_piece;
    unsigned word_marks;      /* MVK_UC_MARK for the qwen35 pre-tokenizer (marks join letter runs), else 0 */
    int spm_bpe;              /* gemma4: U+2581 for spaces, newline-run split, raw UTF-8 symbols, <0xXX> fallback */

    uint16_t byte_cp[256];    /* GPT-2 bytes_to_unicode: byte -> code point (< 324) */
    int16_t cp_byte[324];     /* inverse, -1 if unmapped */
};

/* ------------------------------------------------------------ hashing */

static uint32_t hash_bytes(uint32_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u; /* FNV-1a */
    return h;
}
#define HASH_SEED 2166136261u

static uint32_t table_size(int32_t n) {
    uint32_t s = 16;
    while (s < (uint32_t)n * 2u + 16u) s <<= 1;
    return s;
}

static const char *tok_text(const mvk_tokenizer *t, int32_t id) { return t->text + t->tok_off[id]; }

int32_t mvk_tokenizer_find(const mvk_tokenizer *t, const char *s, size_t len) {
    if (!t || (!s && len)) return -1;
    uint32_t h = hash_bytes(HASH_SEED, s, len) & t->vocab_mask;
    for (;;) {
        uint32_t v = t->vocab_ht[h];
        if (!v) return -1;
        int32_t id = (int32_t)(v - 1);
        if (t->tok_len[id] == len && memcmp(tok_text(t, id), s, len) == 0) return id;
        h = (h + 1) & t->vocab_mask;
    }
}

/* Rank of merging symbol a with symbol b (texts are byte-level mapped), or -1. */
static int32_t merge_rank(const mvk_tokenizer *t, const char *a, size_t la, const char *b, size_t lb) {
    uint32_t h = hash_bytes(HASH_SEED, a, la);
    h = hash_bytes(h, " ", 1);
    h = hash_bytes(h, b, lb) & t->merge_mask;
    for (;;) {
        uint32_t v = t->merge_ht[h];
        if (!v) return -1;
        int32_t r = (int32_t)(v - 1);
        const char *m = t->text + t->mrg_off[r];
        if (t->mrg_len[r] == la + 1 + lb && t->mrg_split[r] == la && memcmp(m, a, la) == 0 &&
            memcmp(m + la + 1, b, lb) == 0)
            return r;
        h = (h + 1) & t->merge_mask;
    }
}

/* ------------------------------------------------------------ construction */

mvk_tokenizer_desc mvk_tokenizer_desc_default(void) {
    mvk_tokenizer_desc d;
    memset(&d, 0, sizeof d);
    d.bos_id = d.eos_id = d.pad_id = -1;
    return d;
}

static void init_byte_map(mvk_tokenizer *t) {
    /* bytes_to_unicode: printable Latin-1 bytes map to themselves, the other
     * 68 to 256, 257, ... in byte order. */
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        t->byte_cp[b] = (uint16_t)(keep ? b : 256 + n++);
    }
    for (int c = 0; c < 324; c++) t->cp_byte[c] = -1;
    for (int b = 0; b < 256; b++) t->cp_byte[t->byte_cp[b]] = (int16_t)b;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Writes the decoded piece of token id at dst (room for 4x the text), returns its length. */
static size_t decode_token(const mvk_tokenizer *t, int32_t id, char *dst) {
    const char *s = tok_text(t, id);
    size_t n = t->tok_len[id], o = 0;
    switch (t->tok_type[id]) {
    case MVK_TOKEN_NORMAL: {
        if (t->spm_bpe) { /* llama_unescape_whitespace: U+2581 -> ' ', the rest as written */
            for (size_t i = 0; i < n;) {
                if (i + 3 <= n && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
                    dst[o++] = ' ';
                    i += 3;
                } else {
                    dst[o++] = s[i++];
                }
            }
            return o;
        }
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            int k = mvk_utf8_decode((const uint8_t *)s + i, n - i, &cp);
            if (cp < 324 && t->cp_byte[cp] >= 0) {
                dst[o++] = (char)t->cp_byte[cp];
            } else { /* not a byte-level character: keep it as written */
                memcpy(dst + o, s + i, (size_t)k);
                o += (size_t)k;
            }
            i += (size_t)k;
        }
        return o;
    }
    case MVK_TOKEN_BYTE: { /* "<0xAB>" */
        int hi = n == 6 ? hex_digit(s[3]) : -1, lo = n == 6 ? hex_digit(s[4]) : -1;
        if (hi >= 0 && lo >= 0 && memcmp(s, "<0x", 3) == 0 && s[5] == '>') {
            dst[0] = (char)(hi * 16 + lo);
            return 1;
        }
        memcpy(dst, s, n);
        return n;
    }
    case MVK_TOKEN_USER_DEFINED:
    case MVK_TOKEN_CONTROL:
    case MVK_TOKEN_UNKNOWN:
        memcpy(dst, s, n);
        return n;
    default:
        return 0;
    }
}

/* llama.cpp (llama-vocab.cpp, at load) recognises some tokens by their text,
 * whatever their stored type, and we do the same so that both tokenize,
 * render and stop alike:
 *  - end-of-generation texts: forced CONTROL and end-of-generation;
 *  - FIM pad / repo / file-separator texts: forced CONTROL and end-of-generation;
 *  - end-of-turn and other FIM texts: forced CONTROL;
 *  - gpt-oss channel markers: forced USER_DEFINED.
 * In the Qwen2/3 vocabulary this turns the NORMAL token "</s>" (128247) into
 * a CONTROL, end-of-generation token, and makes <|fim_pad|>, <|repo_name|>,
 * <|file_sep|> end generation besides <|im_end|> and <|endoftext|>.
 * (llama.cpp marks only the first FIM/end-of-turn token of each kind it meets
 * in hash order; we mark all, which is the same for every known vocabulary.) */
enum { TEXT_RULE_NONE, TEXT_RULE_CONTROL, TEXT_RULE_EOG, TEXT_RULE_USER };

static int text_rule(const char *s, size_t n) {
    static const char *const eog[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
        /* FIM pad, repo, file separator: end generation too */
        "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
        "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>"};
    static const char *const control[] = {
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
        "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
        "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
        "▁<MID>", "<|code_middle|>", "<|middle|>"};
    static const char *const user[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};
    if (n < 3 || n > 40 || (s[0] != '<' && s[0] != '_' && s[0] != '[' && s[0] != '\xE2')) return TEXT_RULE_NONE;
    for (size_t i = 0; i < sizeof eog / sizeof eog[0]; i++)
        if (strlen(eog[i]) == n && memcmp(eog[i], s, n) == 0) return TEXT_RULE_EOG;
    for (size_t i = 0; i < sizeof control / sizeof control[0]; i++)
        if (strlen(control[i]) == n && memcmp(control[i], s, n) == 0) return TEXT_RULE_CONTROL;
    for (size_t i = 0; i < sizeof user / sizeof user[0]; i++)
        if (strlen(user[i]) == n && memcmp(user[i], s, n) == 0) return TEXT_RULE_USER;
    return TEXT_RULE_NONE;
}

static int cmp_u64(const void *pa, const void *pb) {
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

void mvk_tokenizer_free(mvk_tokenizer *t) {
    if (!t) return;
    free(t->text);
    free(t->tok_off);
    free(t->tok_len);
    free(t->tok_type);
    free(t->piece_off);
    free(t->piece_len);
    free(t->eog);
    free(t->vocab_ht);
    free(t->mrg_off);
    free(t->mrg_len);
    free(t->mrg_split);
    free(t->merge_ht);
    free(t->special);
    free(t);
}

static size_t desc_len(const char *const *s, const size_t *lens, int32_t i) {
    return lens ? lens[i] : strlen(s[i]);
}

moevk_status mvk_tokenizer_create(const mvk_tokenizer_desc *d, mvk_tokenizer **out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenizer: out is NULL");
    *out = NULL;
    if (!d) return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenizer: desc is NULL");
    if (d->n_tokens < 1 || !d->tokens)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenizer: empty vocabulary (%d tokens)", (int)d->n_tokens);
    if (d->n_tokens > (1 << 26))
        return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer: vocabulary of %d tokens is too large", (int)d->n_tokens);
    if (d->n_merges < 0 || (d->n_merges > 0 && !d->merges))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenizer: bad merge list (%d merges)", (int)d->n_merges);
    if (d->n_merges > (1 << 26)) return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer: %d merges are too many", (int)d->n_merges);
    const int32_t nv = d->n_tokens;
    const int32_t ids[3] = {d->bos_id, d->eos_id, d->pad_id};
    static const char *const id_names[3] = {"bos", "eos", "padding"};
    for (int k = 0; k < 3; k++)
        if (ids[k] < -1 || ids[k] >= nv)
            return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer: %s token id %d outside the vocabulary (%d tokens)",
                            id_names[k], (int)ids[k], (int)nv);
    if (d->add_bos && d->bos_id < 0)
        return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer: add_bos_token is set but there is no bos token id");
    if (d->add_eos && d->eos_id < 0)
        return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer: add_eos_token is set but there is no eos token id");

    /* sizes */
    size_t text_bytes = 0;
    for (int32_t i = 0; i < nv; i++) {
        if (!d->tokens[i]) return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenizer: token %d is NULL", (int)i);
        size_t l = desc_len(d->tokens, d->token_lens, i);
        if (l > 0xFFFFFF) return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer: token %d is %zu bytes long", (int)i, l);
        if (d->token_types) {
            int32_t ty = d->token_types[i];
            if (ty < MVK_TOKEN_UNDEFINED || ty > MVK_TOKEN_BYTE)
                return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer: token %d has unknown token type %d", (int)i, (int)ty);
        }
        text_bytes += 2 * l; /* text + decoded piece (never longer than the text) */
    }
    for (int32_t i = 0; i < d->n_merges; i++) {
        if (!d->merges[i]) return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenizer: merge %d is NULL", (int)i);
        size_t l = desc_len(d->merges, d->merge_lens, i);
        if (l > 0xFFFFFF) return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer: merge %d is %zu bytes long", (int)i, l);
        text_bytes += l;
    }

    mvk_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "tokenizer: out of memory");
    t->n_vocab = nv;
    t->n_merges = d->n_merges;
    t->bos = d->bos_id;
    t->eos = d->eos_id;
    t->pad = d->pad_id;
    t->add_bos = d->add_bos != 0;
    t->add_eos = d->add_eos != 0;
    t->word_marks = d->pre_qwen35 && !d->spm_bpe ? MVK_UC_MARK : 0;
    t->spm_bpe = d->spm_bpe != 0;
    init_byte_map(t);
    uint32_t vsize = table_size(nv), msize = table_size(d->n_merges);
    t->vocab_mask = vsize - 1;
    t->merge_mask = msize - 1;
    size_t nm = d->n_merges ? (size_t)d->n_merges : 1;
    t->text = malloc(text_bytes + 1);
    t->tok_off = malloc((size_t)nv * sizeof *t->tok_off);
    t->tok_len = malloc((size_t)nv * sizeof *t->tok_len);
    t->tok_type = malloc((size_t)nv);
    t->piece_off = malloc((size_t)nv * sizeof *t->piece_off);
    t->piece_len = malloc((size_t)nv * sizeof *t->piece_len);
    t->eog = calloc((size_t)nv, 1);
    t->vocab_ht = calloc(vsize, sizeof *t->vocab_ht);
    t->mrg_off = malloc(nm * sizeof *t->mrg_off);
    t->mrg_len = malloc(nm * sizeof *t->mrg_len);
    t->mrg_split = calloc(nm, sizeof *t->mrg_split);
    t->merge_ht = calloc(msize, sizeof *t->merge_ht);
    t->special = malloc((size_t)nv * sizeof *t->special);
    if (!t->text || !t->tok_off || !t->tok_len || !t->tok_type || !t->piece_off || !t->piece_len || !t->eog ||
        !t->vocab_ht || !t->mrg_off || !t->mrg_len || !t->mrg_split || !t->merge_ht || !t->special) {
        mvk_tokenizer_free(t);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "tokenizer: out of memory for %d tokens", (int)nv);
    }

    size_t pos = 0;
    for (int32_t i = 0; i < nv; i++) {
        size_t l = desc_len(d->tokens, d->token_lens, i);
        memcpy(t->text + pos, d->tokens[i], l);
        t->tok_off[i] = pos;
        t->tok_len[i] = (uint32_t)l;
        t->tok_type[i] = (uint8_t)(d->token_types ? d->token_types[i] : MVK_TOKEN_NORMAL);
        switch (text_rule(d->tokens[i], l)) {
        case TEXT_RULE_EOG:
            t->eog[i] = 1;
            t->tok_type[i] = MVK_TOKEN_CONTROL;
            break;
        case TEXT_RULE_CONTROL: t->tok_type[i] = MVK_TOKEN_CONTROL; break;
        case TEXT_RULE_USER: t->tok_type[i] = MVK_TOKEN_USER_DEFINED; break;
        default: break;
        }
        pos += l;
        /* insert; a later duplicate text wins (as in llama.cpp's token_to_id) */
        uint32_t h = hash_bytes(HASH_SEED, t->text + t->tok_off[i], l) & t->vocab_mask;
        for (;;) {
            uint32_t v = t->vocab_ht[h];
            if (!v) {
                t->vocab_ht[h] = (uint32_t)i + 1;
                break;
            }
            int32_t o = (int32_t)(v - 1);
            if (t->tok_len[o] == l && memcmp(tok_text(t, o), tok_text(t, i), l) == 0) {
                t->vocab_ht[h] = (uint32_t)i + 1;
                break;
            }
            h = (h + 1) & t->vocab_mask;
        }
    }
    for (int32_t r = 0; r < d->n_merges; r++) {
        size_t l = desc_len(d->merges, d->merge_lens, r);
        const char *m = d->merges[r];
        memcpy(t->text + pos, m, l);
        t->mrg_off[r] = pos;
        t->mrg_len[r] = (uint32_t)l;
        pos += l;
        /* split at the first space after the first byte (llama.cpp: find(' ', 1)) */
        const char *sp = l > 1 ? memchr(m + 1, ' ', l - 1) : NULL;
        if (!sp) continue; /* unusable: can never match two non-empty symbols */
        size_t la = (size_t)(sp - m);
        t->mrg_split[r] = (uint32_t)la;
        if (la + 1 >= l) continue; /* empty right side */
        uint32_t h = hash_bytes(HASH_SEED, m, l) & t->merge_mask;
        for (;;) { /* the first (lowest-rank) duplicate wins */
            uint32_t v = t->merge_ht[h];
            if (!v) {
                t->merge_ht[h] = (uint32_t)r + 1;
                break;
            }
            int32_t o = (int32_t)(v - 1);
            if (t->mrg_len[o] == l && memcmp(t->text + t->mrg_off[o], m, l) == 0) break;
            h = (h + 1) & t->merge_mask;
        }
    }
    for (int32_t i = 0; i < nv; i++) {
        size_t l = decode_token(t, i, t->text + pos);
        t->piece_off[i] = pos;
        t->piece_len[i] = (uint32_t)l;
        pos += l;
        if (l > t->max_piece) t->max_piece = l;
        int ty = t->tok_type[i];
        if (ty == MVK_TOKEN_CONTROL || ty == MVK_TOKEN_USER_DEFINED || ty == MVK_TOKEN_UNKNOWN) {
            if (t->tok_len[i] > 0) t->special[t->n_special++] = i;
        }
    }
    if (t->eos >= 0) t->eog[t->eos] = 1;
    /* longest text first, then lower id (key: inverted length, id) */
    uint64_t *keys = malloc(((size_t)t->n_special + 1) * sizeof *keys);
    if (!keys) {
        mvk_tokenizer_free(t);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "tokenizer: out of memory");
    }
    for (int32_t k = 0; k < t->n_special; k++)
        keys[k] = ((uint64_t)(0xFFFFFFFFu - t->tok_len[t->special[k]]) << 32) | (uint32_t)t->special[k];
    qsort(keys, (size_t)t->n_special, sizeof *keys, cmp_u64);
    for (int32_t k = 0; k < t->n_special; k++) t->special[k] = (int32_t)(keys[k] & 0xFFFFFFFFu);
    free(keys);
    *out = t;
    return MOEVK_OK;
}

/* ------------------------------------------------------------ accessors */

int32_t mvk_tokenizer_n_vocab(const mvk_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t mvk_tokenizer_bos(const mvk_tokenizer *t) { return t ? t->bos : -1; }
int32_t mvk_tokenizer_eos(const mvk_tokenizer *t) { return t ? t->eos : -1; }
int32_t mvk_tokenizer_pad(const mvk_tokenizer *t) { return t ? t->pad : -1; }
size_t mvk_tokenizer_max_piece(const mvk_tokenizer *t) { return t ? t->max_piece : 0; }

int mvk_tokenizer_is_eog(const mvk_tokenizer *t, int32_t id) {
    return t && id >= 0 && id < t->n_vocab && t->eog[id];
}

int mvk_tokenizer_token_type(const mvk_tokenizer *t, int32_t id) {
    return (t && id >= 0 && id < t->n_vocab) ? t->tok_type[id] : -1;
}

const char *mvk_tokenizer_token_text(const mvk_tokenizer *t, int32_t id, size_t *len) {
    if (!t || id < 0 || id >= t->n_vocab) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = t->tok_len[id];
    return tok_text(t, id);
}

const char *mvk_tokenizer_piece(const mvk_tokenizer *t, int32_t id, int special, size_t *len) {
    size_t dummy;
    if (!len) len = &dummy;
    *len = 0;
    if (!t || id < 0 || id >= t->n_vocab) return NULL;
    int ty = t->tok_type[id];
    if (!special && (ty == MVK_TOKEN_CONTROL || ty == MVK_TOKEN_UNKNOWN)) return t->text + t->piece_off[id];
    *len = t->piece_len[id];
    return t->text + t->piece_off[id];
}

/* ------------------------------------------------------------ encoding */

/* Growable scratch space of one mvk_tokenize call. */
typedef struct tk_ctx {
    const mvk_tokenizer *t;
    int32_t *out;
    size_t cap, n; /* n counts every id, also those beyond cap */
    uint32_t *cps; /* [n_cps_cap] code points of the current fragment */
    size_t cps_cap;
    char *enc;     /* [enc_cap] byte-level mapped word */
    size_t enc_cap;
    struct sym { uint32_t off, len; int32_t prev, next; } *sym; /* [sym_cap] */
    size_t sym_cap;
    struct bigram { int32_t rank, left; uint32_t size; } *heap; /* [heap_cap] */
    size_t heap_cap, heap_n;
    int oom;
} tk_ctx;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

static void emit(tk_ctx *c, int32_t id) {
    if (c->n < c->cap) c->out[c->n] = id;
    c->n++;
}

static int bigram_less(const struct bigram *a, const struct bigram *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->left < b->left;
}

static void heap_push(tk_ctx *c, struct bigram b) {
    if (!grow((void **)&c->heap, &c->heap_cap, c->heap_n + 1, sizeof *c->heap)) {
        c->oom = 1;
        return;
    }
    size_t i = c->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bigram_less(&b, &c->heap[p])) break;
        c->heap[i] = c->heap[p];
        i = p;
    }
    c->heap[i] = b;
}

static struct bigram heap_pop(tk_ctx *c) {
    struct bigram top = c->heap[0], last = c->heap[--c->heap_n];
    size_t i = 0, n = c->heap_n;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct bigram *best = &last;
        if (l < n && bigram_less(&c->heap[l], best)) { m = l; best = &c->heap[l]; }
        if (r < n && bigram_less(&c->heap[r], best)) { m = r; }
        if (m == i) break;
        c->heap[i] = c->heap[m];
        i = m;
    }
    if (n) c->heap[i] = last;
    return top;
}

static void try_pair(tk_ctx *c, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const struct sym *a = &c->sym[left], *b = &c->sym[right];
    int32_t r = merge_rank(c->t, c->enc + a->off, a->len, c->enc + b->off, b->len);
    if (r < 0) return;
    struct bigram g = {r, left, a->len + b->len};
    heap_push(c, g);
}

/* gemma4's initial symbols of word w[0..n): one per UTF-8 character, its bytes as they are (no byte
 * mapping); copied into c->enc. Returns the number of symbols. */
static size_t spm_symbols(tk_ctx *c, const uint8_t *w, size_t n) {
    size_t ns = 0;
    uint32_t o = 0;
    for (size_t i = 0; i < n; ns++) {
        size_t k = (size_t)mvk_utf8_seq_len(w[i]);
        if (k < 1 || k > n - i) k = 1;
        memcpy(c->enc + o, w + i, k);
        c->sym[ns].off = o;
        c->sym[ns].len = (uint32_t)k;
        c->sym[ns].prev = (int32_t)ns - 1;
        c->sym[ns].next = (int32_t)ns + 1;
        o += (uint32_t)k;
        i += k;
    }
    if (ns) c->sym[ns - 1].next = -1;
    return ns;
}

/* BPE on one pre-tokenized word (UTF-8 bytes w[0..n), only read; not const: with a const parameter gcc 12
 * (-O2) takes emit_word's word buffer, filled through mvk_utf8_encode, for maybe uninitialized). */
static void bpe_word(tk_ctx *c, uint8_t *w, size_t n) {
    const mvk_tokenizer *t = c->t;
    if (!grow((void **)&c->enc, &c->enc_cap, 2 * n, 1) || !grow((void **)&c->sym, &c->sym_cap, n, sizeof *c->sym)) {
        c->oom = 1;
        return;
    }
    uint32_t o = 0;
    if (t->spm_bpe) { /* gemma4: one symbol per UTF-8 character, the bytes as they are */
        n = spm_symbols(c, w, n);
        if (!n) return;
    } else {
        for (size_t i = 0; i < n; i++) { /* one symbol per byte: its mapped character */
            uint8_t u[4];
            int k = mvk_utf8_encode(t->byte_cp[w[i]], u);
            memcpy(c->enc + o, u, (size_t)k);
            c->sym[i].off = o;
            c->sym[i].len = (uint32_t)k;
            c->sym[i].prev = (int32_t)i - 1;
            c->sym[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
            o += (uint32_t)k;
        }
    }
    /* no whole-word shortcut: llama.cpp's qwen2 (ignore_merges = false) always
     * merges, and a whole-word vocabulary lookup could give a different result */
    c->heap_n = 0;
    for (size_t i = 0; i + 1 < n; i++) try_pair(c, (int32_t)i, (int32_t)i + 1);
    while (c->heap_n && !c->oom) {
        struct bigram g = heap_pop(c);
        struct sym *a = &c->sym[g.left];
        if (a->len == 0 || a->next < 0) continue;
        struct sym *b = &c->sym[a->next];
        if (b->len == 0 || a->len + b->len != g.size) continue; /* outdated */
        a->len += b->len; /* symbols are contiguous in enc */
        b->len = 0;
        a->next = b->next;
        if (a->next >= 0) c->sym[a->next].prev = g.left;
        try_pair(c, a->prev, g.left);
        try_pair(c, g.left, a->next);
    }
    for (int32_t i = 0; i >= 0; i = c->sym[i].next) {
        const struct sym *s = &c->sym[i];
        int32_t id = mvk_tokenizer_find(t, c->enc + s->off, s->len);
        if (id >= 0) {
            emit(c, id);
            continue;
        }
        if (t->spm_bpe) { /* fallback: one <0xXX> token per byte (llama.cpp, non-byte-encoded BPE) */
            static const char hex[] = "0123456789ABCDEF";
            for (uint32_t p = 0; p < s->len; p++) {
                uint8_t ch = (uint8_t)c->enc[s->off + p];
                const char b[6] = {'<', '0', 'x', hex[ch >> 4], hex[ch & 15], '>'};
                int32_t bid = mvk_tokenizer_find(t, b, 6);
                if (bid >= 0) emit(c, bid);
            }
            continue;
        }
        for (uint32_t p = 0; p < s->len;) { /* fallback: one token per mapped byte */
            int k = mvk_utf8_seq_len((uint8_t)c->enc[s->off + p]);
            if (k < 1) k = 1;
            int32_t bid = mvk_tokenizer_find(t, c->enc + s->off + p, (size_t)k);
            if (bid >= 0) emit(c, bid);
            p += (uint32_t)k;
        }
    }
}

static unsigned fl(const tk_ctx *c, size_t i, size_t n) {
    return i < n ? mvk_unicode_flags(c->cps[i]) : 0;
}

static void emit_word(tk_ctx *c, size_t a, size_t b) {
    uint8_t buf[256];
    uint8_t *w = buf;
    size_t need = 4 * (b - a);
    if (need > sizeof buf && !(w = malloc(need))) {
        c->oom = 1;
        return;
    }
    size_t n = 0;
    for (size_t i = a; i < b; i++) n += (size_t)mvk_utf8_encode(c->cps[i], w + n);
    bpe_word(c, w, n);
    if (w != buf) free(w);
}

static uint32_t ascii_lower(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Splits cps[0..n) by the Qwen2 pre-tokenizer regex and runs BPE on every word.
 * Alternatives are tried in the regex's order at each position. The qwen35 regex differs in the
 * letter class only: [\p{L}\p{M}]+ for \p{L}+, and [^\s\p{L}\p{M}\p{N}] in the punctuation run
 * (LM below holds MVK_UC_MARK then). */
static void pretokenize(tk_ctx *c, size_t n) {
    const uint32_t *cp = c->cps;
    const unsigned LM = MVK_UC_LETTER | c->t->word_marks;
    size_t pos = 0;
    while (pos < n && !c->oom) {
        const uint32_t ch = cp[pos];
        const unsigned f = fl(c, pos, n);
        /* (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]) */
        if (ch == '\'' && pos + 1 < n) {
            uint32_t a = ascii_lower(cp[pos + 1]);
            if (a == 's' || a == 't' || a == 'm' || a == 'd') {
                emit_word(c, pos, pos + 2);
                pos += 2;
                continue;
            }
            if (pos + 2 < n) {
                uint32_t b = ascii_lower(cp[pos + 2]);
                if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
                    emit_word(c, pos, pos + 3);
                    pos += 3;
                    continue;
                }
            }
        }
        /* [^\r\n\p{L}\p{N}]?\p{L}+ (qwen35: [^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+) */
        if (ch != '\r' && ch != '\n' && !(f & MVK_UC_NUMBER) && ((f & LM) || (fl(c, pos + 1, n) & LM))) {
            size_t e = pos + 1;
            while (fl(c, e, n) & LM) e++;
            emit_word(c, pos, e);
            pos = e;
            continue;
        }
        /* \p{N} */
        if (f & MVK_UC_NUMBER) {
            emit_word(c, pos, pos + 1);
            pos++;
            continue;
        }
        /*  ?[^\s\p{L}\p{N}]+[\r\n]* (qwen35: [^\s\p{L}\p{M}\p{N}]) */
        {
            size_t s = (ch == ' ') ? pos + 1 : pos;
            const unsigned cls = MVK_UC_WHITESPACE | LM | MVK_UC_NUMBER;
            if (s < n && !(fl(c, s, n) & cls)) {
                size_t e = s + 1;
                while (e < n && !(fl(c, e, n) & cls)) e++;
                while (e < n && (cp[e] == '\r' || cp[e] == '\n')) e++;
                emit_word(c, pos, e);
                pos = e;
                continue;
            }
        }
        /* the remaining alternatives start with whitespace */
        size_t ws = 0, last_nl = 0;
        while (fl(c, pos + ws, n) & MVK_UC_WHITESPACE) {
            if (cp[pos + ws] == '\r' || cp[pos + ws] == '\n') last_nl = pos + ws + 1;
            ws++;
        }
        /* \s*[\r\n]+ : greedy \s*, backtracking to the last newline of the run */
        if (last_nl) {
            emit_word(c, pos, last_nl);
            pos = last_nl;
            continue;
        }
        /* \s+(?!\S) : a run followed by a non-space leaves its last space to the next word */
        if (ws > 1 && pos + ws < n) {
            emit_word(c, pos, pos + ws - 1);
            pos += ws - 1;
            continue;
        }
        /* \s+ */
        if (ws > 0) {
            emit_word(c, pos, pos + ws);
            pos += ws;
            continue;
        }
        /* unreachable for valid input (every code point matches some
         * alternative); keep going one code point at a time regardless */
        emit_word(c, pos, pos + 1);
        pos++;
    }
}

/* gemma4: spaces become U+2581 (llama_escape_whitespace), then runs of non-newlines and runs of newlines
 * ([^\n]+|[\n]+) each go through BPE; a newline run that is itself a token is taken whole. */
static void tokenize_spm(tk_ctx *c, const uint8_t *s, size_t len) {
    size_t spaces = 0;
    for (size_t i = 0; i < len; i++) spaces += s[i] == ' ';
    uint8_t buf[256];
    uint8_t *e = buf;
    size_t need = len + 2 * spaces;
    if (need > sizeof buf && !(e = malloc(need))) {
        c->oom = 1;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            memcpy(e + n, "\xE2\x96\x81", 3);
            n += 3;
        } else {
            e[n++] = s[i];
        }
    }
    for (size_t a = 0; a < n && !c->oom;) {
        int nl = e[a] == '\n';
        size_t b = a + 1;
        while (b < n && (e[b] == '\n') == nl) b++;
        int32_t id = nl ? mvk_tokenizer_find(c->t, (const char *)e + a, b - a) : -1;
        if (id >= 0) emit(c, id);
        else bpe_word(c, e + a, b - a);
        a = b;
    }
    if (e != buf) free(e);
}

static void tokenize_fragment(tk_ctx *c, const uint8_t *s, size_t len) {
    if (!len) return;
    if (c->t->spm_bpe) {
        tokenize_spm(c, s, len);
        return;
    }
    if (!grow((void **)&c->cps, &c->cps_cap, len, sizeof *c->cps)) {
        c->oom = 1;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += (size_t)mvk_utf8_decode(s + i, len - i, &cp);
        c->cps[n++] = cp;
    }
    pretokenize(c, n);
}

/* Special split: llama.cpp partitions the text token by token, longest token
 * text first, cutting every occurrence out of the still-raw fragments. We do
 * the same recursively: find the first (longest-first) special that occurs in
 * the fragment, split around all its occurrences, recurse on the gaps with
 * the remaining (shorter or later) specials. */
static void split_special(tk_ctx *c, const uint8_t *s, size_t len, int32_t first, unsigned flags) {
    const mvk_tokenizer *t = c->t;
    for (int32_t k = first; k < t->n_special && len; k++) {
        int32_t id = t->special[k];
        int ty = t->tok_type[id];
        if (!(flags & MVK_TOK_PARSE_SPECIAL) && (ty == MVK_TOKEN_CONTROL || ty == MVK_TOKEN_UNKNOWN)) continue;
        size_t tl = t->tok_len[id];
        if (tl > len) continue;
        const uint8_t *tt = (const uint8_t *)tok_text(t, id);
        const uint8_t *hit = memmem(s, len, tt, tl);
        if (!hit) continue;
        size_t at = 0;
        while (hit) {
            size_t h = (size_t)(hit - s);
            split_special(c, s + at, h - at, k + 1, flags);
            emit(c, id);
            at = h + tl;
            hit = at <= len ? memmem(s + at, len - at, tt, tl) : NULL;
        }
        split_special(c, s + at, len - at, k + 1, flags);
        return;
    }
    tokenize_fragment(c, s, len);
}

size_t mvk_tokenize_bound(size_t len) { return 3 * len + 2; }

moevk_status mvk_tokenize(const mvk_tokenizer *t, const char *text, size_t len, unsigned flags,
                          int32_t *out, size_t cap, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!t || !n_out || (!text && len) || (!out && cap))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenize: NULL argument");
    tk_ctx c;
    memset(&c, 0, sizeof c);
    c.t = t;
    c.out = out;
    c.cap = cap;
    if ((flags & MVK_TOK_ADD_SPECIAL) && t->add_bos) emit(&c, t->bos);
    split_special(&c, (const uint8_t *)(text ? text : ""), len, 0, flags);
    if ((flags & MVK_TOK_ADD_SPECIAL) && t->add_eos) emit(&c, t->eos);
    free(c.cps);
    free(c.enc);
    free(c.sym);
    free(c.heap);
    if (c.oom) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "tokenize: out of memory (%zu bytes of text)", len);
    *n_out = c.n;
    if (c.n > cap) return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenize: need %zu ids, buffer holds %zu", c.n, cap);
    return MOEVK_OK;
}

/* ------------------------------------------------------------ decoding */

static const uint8_t k_fffd[3] = {0xEF, 0xBF, 0xBD};

void mvk_detok_init(mvk_detok *d, const mvk_tokenizer *t, int special) {
    memset(d, 0, sizeof *d);
    d->tok = t;
    d->special = special;
}

size_t mvk_detok_bound(const mvk_tokenizer *t) { return 3 * ((t ? t->max_piece : 0) + 4); }

static void put(char *out, size_t *o, const uint8_t *b, size_t n) {
    memcpy(out + *o, b, n);
    *o += n;
}

/* Checks a complete sequence: no overlong form, no surrogate, <= U+10FFFF. */
static int utf8_valid_seq(const uint8_t *s, int n) {
    uint32_t cp;
    if (mvk_utf8_decode(s, (size_t)n, &cp) != n) return 0;
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    return cp >= min_cp[n] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

/* Feeds bytes through the UTF-8 assembler, writing whole characters to out. */
static void detok_bytes(mvk_detok *d, const uint8_t *b, size_t n, char *out, size_t *o) {
    for (size_t i = 0; i < n; i++) {
        uint8_t x = b[i];
        if (d->n_pend) {
            if ((x & 0xC0) == 0x80) {
                d->pend[d->n_pend++] = x;
                if (d->n_pend == d->need) {
                    if (utf8_valid_seq(d->pend, d->need))
                        put(out, o, d->pend, (size_t)d->need);
                    else
                        put(out, o, k_fffd, 3);
                    d->n_pend = 0;
                }
                continue;
            }
            put(out, o, k_fffd, 3); /* the pending character was cut short */
            d->n_pend = 0;
        }
        int k = mvk_utf8_seq_len(x);
        if (k == 1) {
            put(out, o, &x, 1);
        } else if (k == 0) {
            put(out, o, k_fffd, 3);
        } else {
            d->pend[0] = x;
            d->n_pend = 1;
            d->need = k;
        }
    }
}

moevk_status mvk_detok_push(mvk_detok *d, int32_t id, char *out, size_t cap, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!d || !d->tok || !out || !n_out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "detokenize: NULL argument");
    if (id < 0 || id >= d->tok->n_vocab)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "detokenize: token id %d outside the vocabulary (%d tokens)", (int)id,
                        (int)d->tok->n_vocab);
    if (cap < mvk_detok_bound(d->tok))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "detokenize: buffer of %zu bytes, need %zu", cap,
                        mvk_detok_bound(d->tok));
    size_t len = 0, o = 0;
    const char *p = mvk_tokenizer_piece(d->tok, id, d->special, &len);
    detok_bytes(d, (const uint8_t *)p, len, out, &o);
    *n_out = o;
    return MOEVK_OK;
}

moevk_status mvk_detok_flush(mvk_detok *d, char *out, size_t cap, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!d || !out || !n_out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "detokenize: NULL argument");
    if (d->n_pend) {
        if (cap < 3) return mvk_fail(MOEVK_ERR_INVALID_ARG, "detokenize: buffer of %zu bytes, need 3", cap);
        memcpy(out, k_fffd, 3);
        *n_out = 3;
        d->n_pend = 0;
    }
    return MOEVK_OK;
}

moevk_status mvk_detokenize(const mvk_tokenizer *t, const int32_t *ids, size_t n, int special, char *out,
                            size_t cap, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!t || !n_out || (!ids && n) || (!out && cap))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "detokenize: NULL argument");
    mvk_detok d;
    mvk_detok_init(&d, t, special);
    size_t bound = mvk_detok_bound(t), total = 0;
    char *tmp = malloc(bound);
    if (!tmp) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "detokenize: out of memory");
    moevk_status st = MOEVK_OK;
    for (size_t i = 0; i <= n; i++) {
        size_t m = 0;
        st = i < n ? mvk_detok_push(&d, ids[i], tmp, bound, &m) : mvk_detok_flush(&d, tmp, bound, &m);
        if (st != MOEVK_OK) break;
        if (total < cap) memcpy(out + total, tmp, m < cap - total ? m : cap - total);
        total += m;
    }
    free(tmp);
    if (st != MOEVK_OK) return st;
    *n_out = total;
    if (total > cap) return mvk_fail(MOEVK_ERR_INVALID_ARG, "detokenize: need %zu bytes, buffer holds %zu", total, cap);
    return MOEVK_OK;
}

/* ------------------------------------------------------------ GGUF */

static moevk_status gguf_opt_id(const gguf_file *f, const char *key, int32_t *out) {
    *out = -1;
    if (gguf_find_key(f, key) < 0) return MOEVK_OK;
    uint32_t v;
    MVK_TRY(gguf_get_u32(f, key, &v));
    if (v > 0x7FFFFFFFu) return mvk_fail(MOEVK_ERR_FORMAT, "%s = %u is not a token id", key, v);
    *out = (int32_t)v;
    return MOEVK_OK;
}

moevk_status mvk_tokenizer_from_gguf(const gguf_file *f, mvk_tokenizer **out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenizer: out is NULL");
    *out = NULL;
    if (!f) return mvk_fail(MOEVK_ERR_INVALID_ARG, "tokenizer: gguf file is NULL");
    const char *s;
    size_t n;
    MVK_TRY(gguf_get_str(f, "tokenizer.ggml.model", &s, &n));
    /* gemma4: llama.cpp sets the pre-tokenizer itself (tokenizer.ggml.pre is not read) */
    int spm = n == 6 && memcmp(s, "gemma4", 6) == 0, qwen35 = 0;
    if (!spm && (n != 4 || memcmp(s, "gpt2", 4) != 0))
        return mvk_fail(MOEVK_ERR_UNSUPPORTED,
                        "tokenizer.ggml.model = '%.*s' is not supported (only 'gpt2', byte-level BPE, and 'gemma4')",
                        (int)(n > 64 ? 64 : n), s);
    if (!spm) {
        MVK_TRY(gguf_get_str(f, "tokenizer.ggml.pre", &s, &n));
        qwen35 = n == 6 && memcmp(s, "qwen35", 6) == 0;
        if (!qwen35 && (n != 5 || memcmp(s, "qwen2", 5) != 0))
            return mvk_fail(MOEVK_ERR_UNSUPPORTED,
                            "tokenizer.ggml.pre = '%.*s' is not supported (only the 'qwen2' and 'qwen35' pre-tokenizers)",
                            (int)(n > 64 ? 64 : n), s);
    }

    gguf_vtype et;
    uint64_t nt, nm = 0, ntt;
    MVK_TRY(gguf_get_arr_info(f, "tokenizer.ggml.tokens", &et, &nt));
    if (et != GGUF_STRING)
        return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer.ggml.tokens is an array of %s, expected string",
                        gguf_vtype_name(et));
    if (nt < 1 || nt > 0x3FFFFFFF)
        return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer.ggml.tokens has %llu entries", (unsigned long long)nt);
    MVK_TRY(gguf_get_arr_info(f, "tokenizer.ggml.merges", &et, &nm));
    if (et != GGUF_STRING)
        return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer.ggml.merges is an array of %s, expected string",
                        gguf_vtype_name(et));
    if (nm > 0x3FFFFFFF)
        return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer.ggml.merges has %llu entries", (unsigned long long)nm);
    int has_types = gguf_find_key(f, "tokenizer.ggml.token_type") >= 0;
    if (has_types) {
        MVK_TRY(gguf_get_arr_info(f, "tokenizer.ggml.token_type", &et, &ntt));
        if (ntt != nt)
            return mvk_fail(MOEVK_ERR_FORMAT, "tokenizer.ggml.token_type has %llu entries, tokens has %llu",
                            (unsigned long long)ntt, (unsigned long long)nt);
    }

    mvk_tokenizer_desc d = mvk_tokenizer_desc_default();
    d.n_tokens = (int32_t)nt;
    d.n_merges = (int32_t)nm;
    d.pre_qwen35 = qwen35;
    d.spm_bpe = spm;
    const char **tok = malloc(nt * sizeof *tok);
    size_t *tok_len = malloc(nt * sizeof *tok_len);
    int32_t *types = has_types ? malloc(nt * sizeof *types) : NULL;
    const char **mrg = malloc((nm ? nm : 1) * sizeof *mrg);
    size_t *mrg_len = malloc((nm ? nm : 1) * sizeof *mrg_len);
    moevk_status st = MOEVK_OK;
    if (!tok || !tok_len || (has_types && !types) || !mrg || !mrg_len) {
        st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "tokenizer: out of memory for %llu tokens",
                      (unsigned long long)nt);
        goto done;
    }
    for (uint64_t i = 0; i < nt && st == MOEVK_OK; i++)
        st = gguf_get_arr_str(f, "tokenizer.ggml.tokens", i, &tok[i], &tok_len[i]);
    for (uint64_t i = 0; i < nm && st == MOEVK_OK; i++)
        st = gguf_get_arr_str(f, "tokenizer.ggml.merges", i, &mrg[i], &mrg_len[i]);
    if (st == MOEVK_OK && has_types) {
        uint64_t got = 0;
        st = gguf_get_arr_i32(f, "tokenizer.ggml.token_type", types, nt, &got);
    }
    if (st == MOEVK_OK) st = gguf_opt_id(f, "tokenizer.ggml.bos_token_id", &d.bos_id);
    if (st == MOEVK_OK) st = gguf_opt_id(f, "tokenizer.ggml.eos_token_id", &d.eos_id);
    if (st == MOEVK_OK) st = gguf_opt_id(f, "tokenizer.ggml.padding_token_id", &d.pad_id);
    if (st == MOEVK_OK) st = gguf_get_bool_opt(f, "tokenizer.ggml.add_bos_token", 0, &d.add_bos);
    if (spm && d.bos_id >= 0) d.add_bos = 1; /* llama.cpp forces add_bos for gemma4 */
    if (st == MOEVK_OK) st = gguf_get_bool_opt(f, "tokenizer.ggml.add_eos_token", 0, &d.add_eos);
    if (st != MOEVK_OK) goto done;
    d.tokens = tok;
    d.token_lens = tok_len;
    d.token_types = types;
    d.merges = mrg;
    d.merge_lens = mrg_len;
    st = mvk_tokenizer_create(&d, out);
done:
    free(tok);
    free(tok_len);
    free(types);
    free(mrg);
    free(mrg_len);
    return st;
}
