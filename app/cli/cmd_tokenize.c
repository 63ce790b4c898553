/* cmd_tokenize.c — `moevk tokenize -m TEXT.gguf [--file F | TEXT] [--special]`:
 * prints the token ids of a text as one line of space-separated integers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "gguf.h"
#include "moevk.h"
#include "tokenizer.h"

static void usage(FILE *o) {
    fprintf(o,
            "usage: moevk tokenize -m TEXT.gguf [options] [TEXT]\n\n"
            "Tokenizes TEXT (or a file) with the model's byte-level BPE tokenizer and prints\n"
            "the ids on one line, separated by spaces.\n\n"
            "options:\n"
            "  -m, --model FILE  text GGUF holding the tokenizer.ggml.* keys (required)\n"
            "  --file F          tokenize the bytes of file F instead of TEXT ('-': stdin)\n"
            "  --batch0 F        F holds texts separated by NUL bytes: print one line of ids\n"
            "                    per text (an empty text gives an empty line)\n"
            "  --special         parse special-token text such as <|im_start|> as the special\n"
            "                    token (default: it is plain text)\n"
            "  --add-special     add BOS/EOS if the model asks for it (tokenizer.ggml.add_bos_token)\n"
            "  --pieces          print one token per line: id, tab, the token's text (escaped)\n"
            "  --time            print the tokenization time to stderr\n"
            "  --dump-pieces     print the vocabulary instead: per token a line 'id type HEX0 HEX1'\n"
            "                    with the bytes it decodes to without / with special rendering\n"
            "                    ('-' for none); no TEXT needed\n"
            "  --check-roundtrip decode the ids again with the streaming detokenizer and\n"
            "                    check that every text comes back byte for byte (exit 1 if not)\n"
            "  -h, --help        this text\n\n"
            "exit code: 0 ok, 1 unreadable model or file, 2 usage error\n");
}

/* Reads a whole file ("-": stdin). Returns NULL (with a message printed) on failure. */
static char *read_all(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "moevk tokenize: cannot open '%s'\n", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    if (f != stdin) fclose(f);
    if (!buf || err) {
        fprintf(stderr, "moevk tokenize: cannot read '%s'\n", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void print_escaped(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') fputs("\\\\", stdout);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
}

/* Streams ids through the incremental detokenizer (special tokens rendered)
 * and compares the result with text. Returns 1 if they are equal. */
static int round_trips(const mvk_tokenizer *tok, const int32_t *ids, size_t n, const char *text, size_t len) {
    mvk_detok d;
    mvk_detok_init(&d, tok, 1);
    size_t bound = mvk_detok_bound(tok), o = 0, m = 0;
    char *buf = malloc(bound);
    int ok = buf != NULL;
    for (size_t i = 0; ok && i <= n; i++) {
        moevk_status st = i < n ? mvk_detok_push(&d, ids[i], buf, bound, &m) : mvk_detok_flush(&d, buf, bound, &m);
        ok = st == MOEVK_OK && o + m <= len && memcmp(text + o, buf, m) == 0;
        o += m;
    }
    free(buf);
    return ok && o == len;
}

static size_t g_roundtrip_bad; /* texts that did not come back */

/* Tokenizes one text and prints it. Returns 0 or 1. */
static int run_one(const mvk_tokenizer *tok, const char *text, size_t len, unsigned flags, int pieces,
                   int check, double *seconds) {
    size_t cap = mvk_tokenize_bound(len), n = 0;
    int32_t *ids = malloc((cap ? cap : 1) * sizeof *ids);
    if (!ids) {
        fprintf(stderr, "moevk tokenize: out of memory\n");
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    moevk_status st = mvk_tokenize(tok, text, len, flags, ids, cap, &n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *seconds += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (st != MOEVK_OK) {
        fprintf(stderr, "moevk tokenize: %s: %s\n", moevk_status_str(st), moevk_last_error());
        free(ids);
        return 1;
    }
    if (check && !round_trips(tok, ids, n, text, len)) {
        if (g_roundtrip_bad++ < 5) fprintf(stderr, "round trip failed for text of %zu bytes: \"%.*s\"\n", len, (int)(len > 200 ? 200 : len), text);
    }
    for (size_t i = 0; i < n; i++) {
        if (pieces) {
            size_t pl = 0;
            const char *p = mvk_tokenizer_piece(tok, ids[i], 1, &pl);
            printf("%d\t", (int)ids[i]);
            print_escaped(p, pl);
            putchar('\n');
        } else {
            printf(i ? " %d" : "%d", (int)ids[i]);
        }
    }
    if (!pieces) putchar('\n');
    free(ids);
    return 0;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *file = NULL, *batch = NULL, *text = NULL;
    unsigned flags = 0;
    int pieces = 0, timing = 0, check = 0, dump = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(a, "--file") && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(a, "--batch0") && i + 1 < argc) {
            batch = argv[++i];
        } else if (!strcmp(a, "--special")) {
            flags |= MVK_TOK_PARSE_SPECIAL;
        } else if (!strcmp(a, "--add-special")) {
            flags |= MVK_TOK_ADD_SPECIAL;
        } else if (!strcmp(a, "--pieces")) {
            pieces = 1;
        } else if (!strcmp(a, "--time")) {
            timing = 1;
        } else if (!strcmp(a, "--check-roundtrip")) {
            check = 1;
        } else if (!strcmp(a, "--dump-pieces")) {
            dump = 1;
        } else if (!strcmp(a, "--")) {
            if (i + 1 < argc && !text) text = argv[++i];
            if (i + 1 < argc) {
                fprintf(stderr, "moevk tokenize: more than one TEXT (quote it)\n");
                return 2;
            }
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "moevk tokenize: unknown option or missing value: '%s'\n\n", a);
            usage(stderr);
            return 2;
        } else if (!text) {
            text = a;
        } else {
            fprintf(stderr, "moevk tokenize: more than one TEXT (quote it)\n");
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "moevk tokenize: no model: give -m TEXT.gguf\n\n");
        usage(stderr);
        return 2;
    }
    if ((text != NULL) + (file != NULL) + (batch != NULL) != !dump) {
        fprintf(stderr, "moevk tokenize: give exactly one of TEXT, --file F, --batch0 F\n");
        return 2;
    }

    gguf_file *g = NULL;
    moevk_status st = gguf_open(model, &g);
    if (st != MOEVK_OK) {
        fprintf(stderr, "moevk tokenize: %s: %s: %s\n", model, moevk_status_str(st), moevk_last_error());
        return 1;
    }
    mvk_tokenizer *tok = NULL;
    st = mvk_tokenizer_from_gguf(g, &tok);
    gguf_close(g);
    if (st != MOEVK_OK) {
        fprintf(stderr, "moevk tokenize: %s: %s: %s\n", model, moevk_status_str(st), moevk_last_error());
        return 1;
    }

    int rc = 0;
    double secs = 0;
    size_t n_texts = 0;
    if (dump) {
        for (int32_t id = 0; id < mvk_tokenizer_n_vocab(tok); id++) {
            printf("%d %d", (int)id, mvk_tokenizer_token_type(tok, id));
            for (int sp = 0; sp < 2; sp++) {
                size_t pl = 0;
                const unsigned char *p = (const unsigned char *)mvk_tokenizer_piece(tok, id, sp, &pl);
                putchar(' ');
                if (!pl) putchar('-');
                for (size_t i = 0; i < pl; i++) printf("%02x", p[i]);
            }
            putchar('\n');
        }
    } else if (text) {
        rc = run_one(tok, text, strlen(text), flags, pieces, check, &secs);
        n_texts = 1;
    } else {
        size_t len = 0;
        char *buf = read_all(file ? file : batch, &len);
        if (!buf) {
            rc = 1;
        } else if (file) {
            rc = run_one(tok, buf, len, flags, pieces, check, &secs);
            n_texts = 1;
        } else {
            size_t a = 0;
            while (a < len && rc == 0) { /* a trailing NUL does not start another text */
                const char *z = memchr(buf + a, 0, len - a);
                size_t e = z ? (size_t)(z - buf) : len;
                rc = run_one(tok, buf + a, e - a, flags, pieces, check, &secs);
                n_texts++;
                a = e + 1;
            }
        }
        free(buf);
    }
    if (timing) fprintf(stderr, "tokenized %zu text(s) in %.3f ms\n", n_texts, secs * 1e3);
    if (check) {
        fprintf(stderr, "round trip (streaming detokenizer): %zu/%zu texts identical\n", n_texts - g_roundtrip_bad, n_texts);
        if (g_roundtrip_bad && rc == 0) rc = 1;
    }
    mvk_tokenizer_free(tok);
    if (fflush(stdout) != 0) rc = 1;
    return rc;
}
