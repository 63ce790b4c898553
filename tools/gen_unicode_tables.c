/* gen_unicode_tables.c — build-time generator of the tokenizer's Unicode
 * property table (engine/unicode_flags.h).
 *
 *     gen_unicode_tables UnicodeData.txt PropList.txt DerivedAge.txt out.c
 *
 * Reads the Unicode Character Database files shipped by Debian's
 * `unicode-data` package (/usr/share/unicode/) and writes a C file holding
 * the sorted, non-overlapping code point ranges that carry at least one of
 * the flags the Qwen2 and Qwen3.5 pre-tokenizer regexes need:
 *   MVK_UC_LETTER     general category L* (\p{L})
 *   MVK_UC_NUMBER     general category N* (\p{N})
 *   MVK_UC_WHITESPACE PropList White_Space (\s)
 *   MVK_UC_MARK       general category M* (\p{M}, qwen35 only)
 * Ranges given in UnicodeData.txt as "<..., First>" / "<..., Last>" pairs
 * (CJK ideographs, Hangul syllables, ...) are expanded. Adjacent code points
 * with equal flags are coalesced into one range.
 *
 * Target version: the tables must say what llama.cpp's say, and llama.cpp
 * (as bundled in node-llama-cpp 3.22.1) uses Unicode 15.1. Debian 12 ships
 * 15.0, which lacks the one 15.1 change that matters here: CJK Unified
 * Ideographs Extension I, U+2EBF0..U+2EE5D (Lo), added below. A newer
 * UnicodeData.txt is capped at 15.1 with DerivedAge.txt (code points
 * assigned later get no flags). Host tool: it may exit(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/unicode_flags.h"

#define N_CP 0x110000

static uint8_t g_flags[N_CP];

static void die(const char *what, const char *path) {
    fprintf(stderr, "gen_unicode_tables: %s: %s\n", what, path);
    exit(1);
}

static uint8_t category_flags(const char *cat) {
    if (cat[0] == 'L') return MVK_UC_LETTER;
    if (cat[0] == 'N') return MVK_UC_NUMBER;
    if (cat[0] == 'M') return MVK_UC_MARK;
    return 0;
}

/* UnicodeData.txt: "XXXX;Name;Gc;..." one code point per line. */
static void read_unicode_data(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open", path);
    char line[1024];
    long range_first = -1;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *f0 = line, *f1 = strchr(f0, ';');
        if (!f1) continue;
        *f1++ = 0;
        char *f2 = strchr(f1, ';');
        if (!f2) continue;
        *f2++ = 0;
        char *f3 = strchr(f2, ';');
        if (!f3) continue;
        *f3 = 0;
        long cp = strtol(f0, NULL, 16);
        if (cp < 0 || cp >= N_CP) die("code point out of range", path);
        uint8_t fl = category_flags(f2);
        size_t nl = strlen(f1);
        if (nl > 6 && !strcmp(f1 + nl - 6, "First>")) {
            range_first = cp;
            continue;
        }
        if (nl > 5 && !strcmp(f1 + nl - 5, "Last>")) {
            if (range_first < 0) die("range Last without First", path);
            for (long c = range_first; c <= cp; c++) g_flags[c] |= fl;
            range_first = -1;
            n++;
            continue;
        }
        g_flags[cp] |= fl;
        n++;
    }
    fclose(f);
    if (n < 1000) die("too few entries (not UnicodeData.txt?)", path);
}

/* PropList.txt: "XXXX..YYYY    ; White_Space # ..." */
static void read_proplist(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open", path);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || !strstr(line, "; White_Space ")) continue;
        char *end = NULL;
        long a = strtol(line, &end, 16), b = a;
        if (end[0] == '.' && end[1] == '.') b = strtol(end + 2, NULL, 16);
        if (a < 0 || b >= N_CP || b < a) die("bad White_Space range", path);
        for (long c = a; c <= b; c++) g_flags[c] |= MVK_UC_WHITESPACE;
        n++;
    }
    fclose(f);
    if (n < 5) die("no White_Space entries (not PropList.txt?)", path);
}

#define TARGET_MAJOR 15
#define TARGET_MINOR 1

/* DerivedAge.txt: "XXXX..YYYY    ; 15.1 # ..." — clears code points assigned
 * after the target version. */
static void cap_at_target(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open", path);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *end = NULL;
        long a = strtol(line, &end, 16), b = a;
        if (end[0] == '.' && end[1] == '.') b = strtol(end + 2, &end, 16);
        char *semi = strchr(end, ';');
        if (!semi || a < 0 || b >= N_CP || b < a) die("bad DerivedAge line", path);
        int major = 0, minor = 0;
        if (sscanf(semi + 1, " %d.%d", &major, &minor) != 2) die("bad DerivedAge version", path);
        n++;
        if (major > TARGET_MAJOR || (major == TARGET_MAJOR && minor > TARGET_MINOR))
            for (long c = a; c <= b; c++) g_flags[c] = 0;
    }
    fclose(f);
    if (n < 100) die("too few entries (not DerivedAge.txt?)", path);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: gen_unicode_tables UnicodeData.txt PropList.txt DerivedAge.txt out.c\n");
        return 2;
    }
    read_unicode_data(argv[1]);
    read_proplist(argv[2]);
    /* Unicode 15.1: CJK Unified Ideographs Extension I (Lo) */
    for (long c = 0x2EBF0; c <= 0x2EE5D; c++) g_flags[c] |= MVK_UC_LETTER;
    cap_at_target(argv[3]);

    FILE *o = fopen(argv[4], "w");
    if (!o) die("cannot write", argv[4]);
    fprintf(o,
            "/* Generated by tools/gen_unicode_tables.c from %s, %s and %s\n"
            " * (Unicode %d.%d properties). Do not edit. */\n"
            "#include \"unicode_flags.h\"\n\n"
            "const mvk_unicode_range mvk_unicode_ranges[] = {\n",
            argv[1], argv[2], argv[3], TARGET_MAJOR, TARGET_MINOR);
    int n_ranges = 0;
    for (long c = 0; c < N_CP;) {
        long e = c;
        while (e + 1 < N_CP && g_flags[e + 1] == g_flags[c]) e++;
        if (g_flags[c]) {
            fprintf(o, "    {0x%05lX, 0x%05lX, %u},\n", c, e, (unsigned)g_flags[c]);
            n_ranges++;
        }
        c = e + 1;
    }
    fprintf(o, "};\n\nconst int mvk_unicode_n_ranges = %d;\n", n_ranges);
    if (fclose(o) != 0) die("write failed", argv[4]);
    return 0;
}
