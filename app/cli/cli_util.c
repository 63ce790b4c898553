/* cli_util.c — file I/O, option parsing and the load progress bar. */
#include "cli_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *cli_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "moevk: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0) {
        fclose(f);
        return NULL;
    }
    void *buf = malloc(n ? (size_t)n : 1);
    if (buf && n && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "moevk: cannot read '%s'\n", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) *size = (size_t)n;
    return buf;
}

int cli_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "moevk: cannot create '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || w != size) {
        fprintf(stderr, "moevk: cannot write '%s'\n", path);
        return -1;
    }
    return 0;
}

int cli_int(const char *flag, const char *v, long lo, long hi, long *out) {
    char *end;
    if (!v) {
        fprintf(stderr, "moevk: %s needs a value\n", flag);
        return -1;
    }
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "moevk: %s expects an integer in [%ld, %ld], got '%s'\n", flag, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_float(const char *flag, const char *v, float *out) {
    char *end;
    if (!v) {
        fprintf(stderr, "moevk: %s needs a value\n", flag);
        return -1;
    }
    float x = strtof(v, &end);
    if (*end || end == v) {
        fprintf(stderr, "moevk: %s expects a number, got '%s'\n", flag, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_progress(const char *stage, float frac, void *user) {
    (void)user;
    if (!isatty(2)) return 0;
    int w = 30, n = (int)(frac * (float)w + 0.5f);
    if (n < 0) n = 0;
    if (n > w) n = w;
    char bar[64];
    memset(bar, '#', (size_t)n);
    memset(bar + n, '-', (size_t)(w - n));
    bar[w] = '\0';
    fprintf(stderr, "\rloading [%s] %3d%% %-16s", bar, (int)(frac * 100.0f + 0.5f), stage);
    if (frac >= 1.0f) fprintf(stderr, "\n");
    fflush(stderr);
    return 0;
}

void cli_error(const char *cmd, moevk_status s) {
    fprintf(stderr, "moevk %s: %s: %s\n", cmd, moevk_status_str(s), moevk_last_error());
}

int cli_think_option(const char *cmd, int argc, char **argv, int *i, int *think, int *budget) {
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(a, "--think")) {
        *think = 1;
        return 1;
    }
    int is_rea = !strcmp(a, "-rea") || !strcmp(a, "--reasoning"), is_budget = !strcmp(a, "--reasoning-budget");
    if (!is_rea && !is_budget) return 0;
    if (!v) {
        fprintf(stderr, "moevk %s: %s needs a value\n", cmd, a);
        return -1;
    }
    (*i)++;
    if (is_budget) {
        long x;
        if (cli_int(a, v, -1, 1 << 24, &x)) return -1;
        *budget = (int)x;
        return 1;
    }
    if (!strcmp(v, "on")) *think = 1;
    else if (!strcmp(v, "off")) *think = 0;
    else {
        fprintf(stderr, "moevk %s: %s must be on or off, got '%s'\n", cmd, a, v);
        return -1;
    }
    return 1;
}

int cli_reasoning_piece(const char *piece, int32_t token, void *user) {
    (void)token;
    cli_reasoning *r = user;
    int tty = isatty(2);
    if (!r->shown) fputs(tty ? "\033[2mthinking: " : "thinking: ", stderr);
    else if (tty) fputs("\033[2m", stderr);
    fputs(piece, stderr);
    if (tty) fputs("\033[0m", stderr);
    fflush(stderr);
    r->shown = 1;
    return 0;
}

void cli_reasoning_end(cli_reasoning *r) {
    if (r && r->shown) {
        fputc('\n', stderr);
        fflush(stderr);
    }
    if (r) r->shown = 0;
}

int cli_answer_piece(const char *piece, int32_t token, void *user) {
    (void)token;
    cli_reasoning_end(user);
    fputs(piece, stdout);
    fflush(stdout);
    return 0;
}
