/* script_parse.c — splitting --script text into commands and words (see script_parse.h). */
#include "script_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// A copy of s[0..n) with every ${VAR} replaced by getenv(VAR) (or "").
static char *expand_env(const char *s, size_t n) {
    size_t cap = n + 1, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    const char *e = s + n;
    while (s < e) {
        if (s + 1 < e && s[0] == '$' && s[1] == '{') {
            const char *end = memchr(s + 2, '}', (size_t)(e - s - 2));
            if (end) {
                char name[128];
                size_t nl = (size_t)(end - s - 2) < sizeof name - 1 ? (size_t)(end - s - 2) : sizeof name - 1;
                memcpy(name, s + 2, nl);
                name[nl] = 0;
                const char *v = getenv(name);
                v = v ? v : "";
                size_t vl = strlen(v);
                char *o2 = realloc(out, cap + vl);
                if (!o2) {
                    free(out);
                    return NULL;
                }
                out = o2;
                cap += vl;
                memcpy(out + len, v, vl);
                len += vl;
                s = end + 1;
                continue;
            }
        }
        out[len++] = *s++;
    }
    out[len] = 0;
    return out;
}

int view_script_parse_text(const char *text, size_t len, const char *name, char **lines, int cap, int *n, char *err,
                           size_t err_cap) {
    *n = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        const char *h = memchr(p, '#', (size_t)(le - p));
        if (h) le = h;
        const char *z = memchr(p, 0, (size_t)(le - p));  // a NUL byte ends the line's text
        if (z) le = z;
        while (p < le && is_blank(*p)) p++;
        while (le > p && is_blank(le[-1])) le--;
        if (p < le) {
            if (*n == cap) {
                snprintf(err, err_cap, "script %s is too long (max %d commands)", name, cap);
                goto fail;
            }
            lines[*n] = expand_env(p, (size_t)(le - p));
            if (!lines[*n]) {
                snprintf(err, err_cap, "out of memory reading script %s", name);
                goto fail;
            }
            (*n)++;
        }
        p = next;
    }
    return 1;
fail:
    for (int i = 0; i < *n; i++) free(lines[i]);
    *n = 0;
    return 0;
}

// Copies the word at *s into buf (truncated to cap-1 bytes) and moves *s past it and the blanks after it.
static void take_word(const char **s, char *buf, size_t cap) {
    const char *p = *s;
    size_t k = 0;
    while (*p && !is_blank(*p)) {
        if (k + 1 < cap) buf[k++] = *p;
        p++;
    }
    buf[k] = 0;
    while (is_blank(*p)) p++;
    *s = p;
}

void view_script_split(const char *line, view_script_words *w) {
    const char *p = line;
    while (is_blank(*p)) p++;
    take_word(&p, w->cmd, sizeof w->cmd);
    w->rest = p;
    take_word(&p, w->a1, sizeof w->a1);
    w->tail = p;
    take_word(&p, w->a2, sizeof w->a2);
}
